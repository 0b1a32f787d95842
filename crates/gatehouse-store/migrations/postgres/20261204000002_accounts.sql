-- Accounts: a tenant's account policies (one JSON document, so a new
-- policy needs no migration), users' verified email and disabled flag,
-- where each session was opened from and when it was last refreshed (for
-- the user's session list), and single-use account links (email
-- verification, password reset, invitation), stored only as the SHA-256
-- of the mailed token. Rows written before this migration read back with
-- the defaults: settings `{}` (every policy at its default), not verified,
-- not disabled, no origin, never refreshed.

ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'; -- JSON object

ALTER TABLE users
    ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE sessions
    ADD COLUMN client_ip TEXT,
    ADD COLUMN user_agent TEXT,
    ADD COLUMN last_refreshed_at BIGINT;

CREATE TABLE account_tokens (
    token_hash TEXT   PRIMARY KEY, -- hex SHA-256; the token itself is never stored
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT   NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'invite')),
    email      TEXT,  -- the address a verification link confirms
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id);
-- Every insert prunes the expired links.
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);
