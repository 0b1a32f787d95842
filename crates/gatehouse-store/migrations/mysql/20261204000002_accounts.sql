-- Accounts: a tenant's account policies (one JSON document, so a new
-- policy needs no migration), users' verified email and disabled flag,
-- where each session was opened from and when it was last refreshed (for
-- the user's session list), and single-use account links (email
-- verification, password reset, invitation), stored only as the SHA-256
-- of the mailed token. Rows written before this migration read back with
-- the defaults: settings `{}` (every policy at its default), not verified,
-- not disabled, no origin, never refreshed.
-- Widths are those `sql::width` checks. A TEXT column's default must be
-- an expression in parentheses (MySQL 8.0.13+, MariaDB 10.2+).

ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT ('{}'); -- JSON object

ALTER TABLE users
    ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE sessions
    ADD COLUMN client_ip VARCHAR(64) NULL,
    ADD COLUMN user_agent VARCHAR(256) NULL,
    ADD COLUMN last_refreshed_at BIGINT NULL;

CREATE TABLE account_tokens (
    token_hash VARCHAR(64)  NOT NULL PRIMARY KEY, -- hex SHA-256; the token itself is never stored
    tenant_id  VARCHAR(36)  NOT NULL,
    user_id    VARCHAR(36)  NOT NULL,
    purpose    VARCHAR(16)  NOT NULL,
    email      VARCHAR(320),                      -- the address a verification link confirms
    created_at BIGINT       NOT NULL,
    expires_at BIGINT       NOT NULL,
    used_at    BIGINT,
    KEY account_tokens_user (user_id),
    -- Every insert prunes the expired links.
    KEY account_tokens_expires (expires_at),
    CONSTRAINT account_tokens_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT account_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT account_tokens_purpose CHECK (purpose IN ('verify_email', 'reset_password', 'invite'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
