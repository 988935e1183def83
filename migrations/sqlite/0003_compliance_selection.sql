-- Per-org framework selection (seed 002): enabled_keys is a JSON array, or NULL for "default:
-- every framework on". Per-framework disabled controls are a JSON array per (org, framework).
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
