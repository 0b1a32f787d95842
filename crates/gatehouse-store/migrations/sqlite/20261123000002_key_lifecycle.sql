-- Key lifecycle (next → current → retired): when a key started and stopped
-- signing, and at most one `current` and one `next` key per tenant, enforced
-- by the database so that concurrent nodes cannot both rotate.
ALTER TABLE signing_keys ADD COLUMN activated_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
UPDATE signing_keys SET activated_at = created_at WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (tenant_id) WHERE state = 'next';
