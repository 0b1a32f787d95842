-- Tenants, users, signing keys (with their lifecycle), sessions and refresh
-- tokens. Times are Unix seconds (BIGINT). Uniqueness of usernames and
-- emails is case-insensitive through the *_key columns, lowercased by core.

CREATE TABLE tenants (
    id              TEXT   PRIMARY KEY,
    name            TEXT   NOT NULL,
    algorithm       TEXT   NOT NULL,
    access_ttl_secs BIGINT NOT NULL,
    audiences       TEXT   NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (name);

CREATE TABLE users (
    id            TEXT   PRIMARY KEY,
    tenant_id     TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username      TEXT   NOT NULL,
    username_key  TEXT   NOT NULL,
    email         TEXT,
    email_key     TEXT,
    first_name    TEXT,
    last_name     TEXT,
    roles         TEXT   NOT NULL DEFAULT '[]',
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (tenant_id, username_key);
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_key);

CREATE TABLE signing_keys (
    kid              TEXT   PRIMARY KEY,
    tenant_id        TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    algorithm        TEXT   NOT NULL,
    state            TEXT   NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    private_material TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    activated_at     BIGINT,
    retired_at       BIGINT
);
CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id);
-- At most one current and one next key per tenant: concurrent nodes cannot both rotate.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (tenant_id) WHERE state = 'next';

CREATE TABLE sessions (
    id          TEXT   PRIMARY KEY,
    tenant_id   TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT   PRIMARY KEY, -- hex SHA-256; the token itself is never stored
    tenant_id   TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id  TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
