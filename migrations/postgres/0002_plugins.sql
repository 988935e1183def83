-- Tenant-uploaded WebAssembly check plugins (see the SQLite migration for the shape).
CREATE TABLE plugins (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    component   BYTEA NOT NULL,
    description TEXT NOT NULL,
    check_types TEXT NOT NULL,
    enabled     BIGINT NOT NULL DEFAULT 1,
    uploaded_by TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, sha256)
);
CREATE INDEX plugins_org ON plugins (org_id, created_at);

ALTER TABLE plugins ENABLE ROW LEVEL SECURITY;
ALTER TABLE plugins FORCE ROW LEVEL SECURITY;
CREATE POLICY plugins_tenant ON plugins
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON plugins TO grc_app;
