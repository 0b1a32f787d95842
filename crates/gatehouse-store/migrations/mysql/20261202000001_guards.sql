-- Guarding functions: each tenant's route policy (one JSON document),
-- its named webhook secrets (sealed by the master key), and API keys
-- (only the SHA-256 of their secret part is kept).

CREATE TABLE tenant_policies (
    tenant_id  VARCHAR(36) NOT NULL PRIMARY KEY,
    document   MEDIUMTEXT  NOT NULL,
    updated_at BIGINT      NOT NULL,
    CONSTRAINT tenant_policies_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE tenant_secrets (
    tenant_id    VARCHAR(36) NOT NULL,
    name         VARCHAR(64) NOT NULL,
    sealed_value TEXT        NOT NULL,
    created_at   BIGINT      NOT NULL,
    PRIMARY KEY (tenant_id, name),
    CONSTRAINT tenant_secrets_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE api_keys (
    id           VARCHAR(36)  NOT NULL PRIMARY KEY,
    tenant_id    VARCHAR(36)  NOT NULL,
    name         VARCHAR(255) NOT NULL,
    secret_hash  VARCHAR(64)  NOT NULL,
    scopes       TEXT         NOT NULL,
    user_id      VARCHAR(36),
    created_at   BIGINT       NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    KEY api_keys_tenant (tenant_id, user_id),
    CONSTRAINT api_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
