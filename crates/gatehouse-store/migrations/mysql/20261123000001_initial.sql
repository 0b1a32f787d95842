-- Tenants, users, signing keys (with their lifecycle), sessions and refresh
-- tokens, for MySQL 8 / MariaDB 10.5+. Times are Unix seconds (BIGINT).
-- utf8mb4_bin: comparisons are exact; core lowercases the *_key columns.

CREATE TABLE tenants (
    id              VARCHAR(36)  NOT NULL PRIMARY KEY,
    name            VARCHAR(63)  NOT NULL,
    algorithm       VARCHAR(16)  NOT NULL,
    access_ttl_secs BIGINT       NOT NULL,
    audiences       TEXT         NOT NULL,
    created_at      BIGINT       NOT NULL,
    UNIQUE KEY tenants_name_key (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE users (
    id            VARCHAR(36)  NOT NULL PRIMARY KEY,
    tenant_id     VARCHAR(36)  NOT NULL,
    username      VARCHAR(255) NOT NULL,
    username_key  VARCHAR(255) NOT NULL,
    email         VARCHAR(320),
    email_key     VARCHAR(320),
    first_name    VARCHAR(512),
    last_name     VARCHAR(512),
    roles         TEXT         NOT NULL,
    password_hash TEXT         NOT NULL,
    created_at    BIGINT       NOT NULL,
    UNIQUE KEY users_username_key (tenant_id, username_key),
    UNIQUE KEY users_email_key (tenant_id, email_key),
    CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE signing_keys (
    kid              VARCHAR(64)  NOT NULL PRIMARY KEY,
    tenant_id        VARCHAR(36)  NOT NULL,
    algorithm        VARCHAR(16)  NOT NULL,
    state            VARCHAR(16)  NOT NULL,
    private_material TEXT         NOT NULL,
    created_at       BIGINT       NOT NULL,
    activated_at     BIGINT,
    retired_at       BIGINT,
    -- MySQL has no partial indexes: these columns hold the tenant only for
    -- the current / next key, and NULLs never collide in a unique key.
    current_of       VARCHAR(36) AS (IF(state = 'current', tenant_id, NULL)) STORED,
    next_of          VARCHAR(36) AS (IF(state = 'next', tenant_id, NULL)) STORED,
    UNIQUE KEY signing_keys_one_current (current_of),
    UNIQUE KEY signing_keys_one_next (next_of),
    KEY signing_keys_tenant (tenant_id),
    CONSTRAINT signing_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT signing_keys_state CHECK (state IN ('next', 'current', 'retired'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE sessions (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    tenant_id   VARCHAR(36)  NOT NULL,
    user_id     VARCHAR(36)  NOT NULL,
    client_id   VARCHAR(255) NOT NULL,
    scope       TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL,
    expires_at  BIGINT       NOT NULL,
    revoked_at  BIGINT,
    KEY sessions_user (user_id),
    CONSTRAINT sessions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE refresh_tokens (
    token_hash  CHAR(64)     NOT NULL PRIMARY KEY,
    tenant_id   VARCHAR(36)  NOT NULL,
    session_id  VARCHAR(36)  NOT NULL,
    created_at  BIGINT       NOT NULL,
    expires_at  BIGINT       NOT NULL,
    used_at     BIGINT,
    KEY refresh_tokens_session (session_id),
    CONSTRAINT refresh_tokens_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
