-- The first schema: tenants, their users, signing keys, sessions and
-- refresh tokens. Uniqueness of usernames and emails is case-insensitive
-- through the *_key columns (lowercased by core), not through a collation,
-- so the rule is the same in every backend.

CREATE TABLE tenants (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    algorithm       TEXT    NOT NULL,
    access_ttl_secs INTEGER NOT NULL,
    audiences       TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (name);

CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL,
    email         TEXT,
    email_key     TEXT,
    first_name    TEXT,
    last_name     TEXT,
    roles         TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (tenant_id, username_key);
-- NULL emails do not collide: SQLite treats NULLs in a unique index as distinct.
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_key);

CREATE TABLE signing_keys (
    kid              TEXT    PRIMARY KEY,
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    algorithm        TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    private_material TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id);

CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT    PRIMARY KEY, -- hex SHA-256; the token itself is never stored
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
