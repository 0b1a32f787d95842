-- Abuse: the account soft-lock's state on each user (failed password
-- attempts since the last success or lock, locks in a row, and until when
-- attempts are refused), changed only by `claim_login_attempt` and
-- `clear_login_failures`; and the audit log, one row per security event,
-- newest first by its UUIDv7 id, pruned by age. Users written before this
-- migration read back with no failures, no locks, not locked.
-- Widths are those `sql::width` checks.

ALTER TABLE users
    ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN lock_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN locked_until BIGINT NULL;

CREATE TABLE audit_events (
    id         VARCHAR(36)  NOT NULL PRIMARY KEY, -- UUIDv7: time-ordered, the listing's cursor
    tenant_id  VARCHAR(36)  NOT NULL,
    at         BIGINT       NOT NULL,
    kind       VARCHAR(64)  NOT NULL,
    actor      VARCHAR(255),
    subject    VARCHAR(255),
    ip         VARCHAR(64),
    user_agent VARCHAR(256),
    outcome    VARCHAR(16)  NOT NULL,
    reason     VARCHAR(128),
    -- A tenant's events newest first; and one subject's (a user's history).
    KEY audit_events_tenant (tenant_id, id),
    KEY audit_events_subject (tenant_id, subject, id),
    -- Pruning deletes the oldest, of every tenant.
    KEY audit_events_at (at),
    CONSTRAINT audit_events_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
