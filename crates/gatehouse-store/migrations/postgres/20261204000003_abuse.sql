-- Abuse: the account soft-lock's state on each user (failed password
-- attempts since the last success or lock, locks in a row, and until when
-- attempts are refused), changed only by `claim_login_attempt` and
-- `clear_login_failures`; and the audit log, one row per security event,
-- newest first by its UUIDv7 id, pruned by age. Users written before this
-- migration read back with no failures, no locks, not locked.

ALTER TABLE users
    ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN lock_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN locked_until BIGINT;

CREATE TABLE audit_events (
    id         TEXT   PRIMARY KEY, -- UUIDv7: time-ordered, the listing's cursor
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    actor      TEXT,
    subject    TEXT,
    ip         TEXT,
    user_agent TEXT,
    outcome    TEXT   NOT NULL,
    reason     TEXT
);
-- A tenant's events newest first; and one subject's (a user's history).
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_subject ON audit_events (tenant_id, subject, id);
-- Pruning deletes the oldest, of every tenant.
CREATE INDEX audit_events_at ON audit_events (at);
