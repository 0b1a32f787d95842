-- OAuth clients and the authorization code flow: registered clients
-- (their secrets only as SHA-256), single-use authorization codes and the
-- hosted login page's browser sign-ins (both only as the SHA-256 of what
-- the browser holds). A session remembers the browser sign-in it came
-- from, so ending that sign-in (RP-initiated logout) revokes it; a tenant
-- gains the name its hosted pages show.
-- Keys, ids and hashes are VARCHARs of the widths `sql::width` checks;
-- URIs, scopes and JSON lists are TEXT (65,535 bytes), never indexed.

ALTER TABLE tenants ADD COLUMN display_name VARCHAR(255) NULL;

ALTER TABLE sessions
    ADD COLUMN browser_session_id VARCHAR(36) NULL,
    ADD KEY sessions_browser_session (tenant_id, browser_session_id),
    -- Deleting a client revokes its sessions.
    ADD KEY sessions_client (tenant_id, client_id);

CREATE TABLE clients (
    id                         VARCHAR(255) NOT NULL PRIMARY KEY,
    tenant_id                  VARCHAR(36)  NOT NULL,
    name                       VARCHAR(255) NOT NULL,
    client_type                VARCHAR(16)  NOT NULL,
    grants                     TEXT         NOT NULL, -- JSON array of grant type names
    scopes                     TEXT         NOT NULL, -- JSON array of strings
    redirect_uris              TEXT         NOT NULL, -- JSON array of strings
    post_logout_redirect_uris  TEXT         NOT NULL, -- JSON array of strings
    secret_hash                VARCHAR(64),          -- hex SHA-256; NULL for a public client
    previous_secret_hash       VARCHAR(64),          -- the secret before the last rotation...
    previous_secret_expires_at BIGINT,               -- ...valid until then
    created_at                 BIGINT       NOT NULL,
    KEY clients_tenant (tenant_id),
    CONSTRAINT clients_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT clients_type CHECK (client_type IN ('confidential', 'public'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE authorization_codes (
    code_hash          VARCHAR(64)  NOT NULL PRIMARY KEY, -- hex SHA-256; the code itself is never stored
    tenant_id          VARCHAR(36)  NOT NULL,
    client_id          VARCHAR(255) NOT NULL,
    user_id            VARCHAR(36)  NOT NULL,
    redirect_uri       TEXT,
    scope              TEXT         NOT NULL,
    code_challenge     VARCHAR(128),
    nonce              TEXT,
    auth_time          BIGINT       NOT NULL,
    browser_session_id VARCHAR(36)  NOT NULL,
    session_id         VARCHAR(36)  NOT NULL,
    created_at         BIGINT       NOT NULL,
    expires_at         BIGINT       NOT NULL,
    used_at            BIGINT,
    KEY authorization_codes_client (tenant_id, client_id),
    KEY authorization_codes_user (user_id),
    -- Every insert prunes the expired codes.
    KEY authorization_codes_expires (expires_at),
    CONSTRAINT authorization_codes_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT authorization_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE browser_sessions (
    id         VARCHAR(36) NOT NULL PRIMARY KEY,
    token_hash VARCHAR(64) NOT NULL, -- hex SHA-256 of the cookie; the cookie itself is never stored
    tenant_id  VARCHAR(36) NOT NULL,
    user_id    VARCHAR(36) NOT NULL,
    auth_time  BIGINT      NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    revoked_at BIGINT,
    UNIQUE KEY browser_sessions_token_hash_key (token_hash),
    KEY browser_sessions_user (user_id),
    CONSTRAINT browser_sessions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT browser_sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
