-- OAuth clients and the authorization code flow: registered clients
-- (their secrets only as SHA-256), single-use authorization codes and the
-- hosted login page's browser sign-ins (both only as the SHA-256 of what
-- the browser holds). A session remembers the browser sign-in it came
-- from, so ending that sign-in (RP-initiated logout) revokes it; a tenant
-- gains the name its hosted pages show.

ALTER TABLE tenants ADD COLUMN display_name TEXT;

ALTER TABLE sessions ADD COLUMN browser_session_id TEXT;
CREATE INDEX sessions_browser_session ON sessions (tenant_id, browser_session_id);
-- Deleting a client revokes its sessions.
CREATE INDEX sessions_client ON sessions (tenant_id, client_id);

CREATE TABLE clients (
    id                         TEXT    PRIMARY KEY,
    tenant_id                  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                       TEXT    NOT NULL,
    client_type                TEXT    NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grants                     TEXT    NOT NULL DEFAULT '[]', -- JSON array of grant type names
    scopes                     TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    redirect_uris              TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    post_logout_redirect_uris  TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    secret_hash                TEXT,   -- hex SHA-256; NULL for a public client
    previous_secret_hash       TEXT,   -- the secret before the last rotation...
    previous_secret_expires_at INTEGER, -- ...valid until then
    created_at                 INTEGER NOT NULL
);
CREATE INDEX clients_tenant ON clients (tenant_id);

CREATE TABLE authorization_codes (
    code_hash          TEXT    PRIMARY KEY, -- hex SHA-256; the code itself is never stored
    tenant_id          TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id          TEXT    NOT NULL,
    user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri       TEXT,
    scope              TEXT    NOT NULL,
    code_challenge     TEXT,
    nonce              TEXT,
    auth_time          INTEGER NOT NULL,
    browser_session_id TEXT    NOT NULL,
    session_id         TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    used_at            INTEGER
);
CREATE INDEX authorization_codes_client ON authorization_codes (tenant_id, client_id);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
-- Every insert prunes the expired codes.
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE browser_sessions (
    id         TEXT    PRIMARY KEY,
    token_hash TEXT    NOT NULL, -- hex SHA-256 of the cookie; the cookie itself is never stored
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX browser_sessions_token_hash_key ON browser_sessions (token_hash);
CREATE INDEX browser_sessions_user ON browser_sessions (user_id);
