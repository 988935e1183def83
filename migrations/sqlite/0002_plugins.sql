-- Tenant-uploaded WebAssembly check plugins. The component bytes are stored with their SHA-256;
-- `check_types` is a comma-separated copy of describe()'s check_type names for resolution.
CREATE TABLE plugins (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    component   BLOB NOT NULL,
    description TEXT NOT NULL,
    check_types TEXT NOT NULL,
    enabled     BIGINT NOT NULL DEFAULT 1,
    uploaded_by TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, sha256)
);
CREATE INDEX plugins_org ON plugins (org_id, created_at);
