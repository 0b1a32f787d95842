-- Guarding functions: each tenant's route policy (one JSON document),
-- its named webhook secrets (sealed by the master key), and API keys
-- (only the SHA-256 of their secret part is kept).

CREATE TABLE tenant_policies (
    tenant_id  TEXT    PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    document   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE tenant_secrets (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    sealed_value TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL,
    scopes       TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    user_id      TEXT    REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, user_id);
