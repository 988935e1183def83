-- Per-org framework selection (see the SQLite migration for the shape).
CREATE TABLE compliance_settings (
    org_id       TEXT PRIMARY KEY REFERENCES orgs(id),
    enabled_keys TEXT,
    updated_at   TEXT NOT NULL
);

CREATE TABLE control_selections (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    framework_key TEXT NOT NULL,
    disabled      TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (org_id, framework_key)
);

ALTER TABLE compliance_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY compliance_settings_tenant ON compliance_settings
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE control_selections ENABLE ROW LEVEL SECURITY;
ALTER TABLE control_selections FORCE ROW LEVEL SECURITY;
CREATE POLICY control_selections_tenant ON control_selections
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

GRANT SELECT, INSERT, UPDATE ON compliance_settings, control_selections TO grc_app;
