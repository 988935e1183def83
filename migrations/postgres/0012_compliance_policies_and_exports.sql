-- Compliance policy documents (issue 13, seed 003): the written policies an org keeps for its
-- audits, forked from the baseline library or written from scratch. Every edit is a new,
-- immutable version; approving freezes one as the published version (docs/decisions/0018).

CREATE TABLE compliance_policies (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES orgs(id),
    key                  TEXT NOT NULL,
    baseline_key         TEXT,
    title                TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'approved', 'retired')),
    latest_version       BIGINT NOT NULL,
    published_version    BIGINT,
    review_interval_days BIGINT NOT NULL,
    controls             TEXT NOT NULL,
    approved_at          TEXT,
    approved_by          TEXT,
    reviewed_at          TEXT,
    retired_at           TEXT,
    created_by           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (org_id, key)
);
CREATE INDEX compliance_policies_org ON compliance_policies (org_id, created_at, id);

CREATE TABLE compliance_policy_versions (
    org_id               TEXT NOT NULL REFERENCES orgs(id),
    policy_id            TEXT NOT NULL REFERENCES compliance_policies(id),
    version              BIGINT NOT NULL,
    title                TEXT NOT NULL,
    body                 TEXT NOT NULL,
    controls             TEXT NOT NULL,
    review_interval_days BIGINT NOT NULL,
    sha256               TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'approved', 'superseded')),
    change_note          TEXT NOT NULL,
    created_by           TEXT,
    created_at           TEXT NOT NULL,
    approved_by          TEXT,
    approved_at          TEXT,
    PRIMARY KEY (policy_id, version)
);
CREATE INDEX compliance_policy_versions_org ON compliance_policy_versions (org_id, policy_id, version);

-- Lifecycle events: one row per state change of a governed record (a policy today), read by
-- its history and, later, by event timelines. Append-only.
CREATE TABLE lifecycle_events (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    subject_type  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    event         TEXT NOT NULL,
    version       BIGINT,
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    note          TEXT NOT NULL,
    actor_user_id TEXT,
    actor_email   TEXT,
    occurred_at   TEXT NOT NULL
);
CREATE INDEX lifecycle_events_subject ON lifecycle_events (org_id, subject_type, subject_id, occurred_at, id);

-- Auditor exports: generated synchronously, redacted and hashed before they are stored; the
-- artifact bytes live beside the metadata and never change.
CREATE TABLE auditor_exports (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    kind          TEXT NOT NULL CHECK (kind IN ('evidence_register', 'control_status', 'audit_log', 'policy_register')),
    format        TEXT NOT NULL CHECK (format IN ('csv', 'pdf')),
    status        TEXT NOT NULL CHECK (status IN ('ready')),
    parameters    TEXT NOT NULL,
    requested_by  TEXT,
    requested_by_email TEXT NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    row_count     BIGINT NOT NULL,
    redactions    BIGINT NOT NULL,
    generator     TEXT NOT NULL,
    inputs        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    completed_at  TEXT NOT NULL
);
CREATE INDEX auditor_exports_org ON auditor_exports (org_id, created_at, id);

CREATE TABLE auditor_export_artifacts (
    export_id TEXT PRIMARY KEY REFERENCES auditor_exports(id),
    org_id    TEXT NOT NULL REFERENCES orgs(id),
    content   BYTEA NOT NULL
);

-- Row-level security -----------------------------------------------------------------------------
ALTER TABLE compliance_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY compliance_policies_tenant ON compliance_policies
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE compliance_policy_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_policy_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY compliance_policy_versions_tenant ON compliance_policy_versions
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE lifecycle_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lifecycle_events FORCE ROW LEVEL SECURITY;
CREATE POLICY lifecycle_events_tenant ON lifecycle_events
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE auditor_exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE auditor_exports FORCE ROW LEVEL SECURITY;
CREATE POLICY auditor_exports_tenant ON auditor_exports
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE auditor_export_artifacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE auditor_export_artifacts FORCE ROW LEVEL SECURITY;
CREATE POLICY auditor_export_artifacts_tenant ON auditor_export_artifacts
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

-- Versions, events, exports and artifacts are append-only for the application.
GRANT SELECT, INSERT, UPDATE ON compliance_policies, compliance_policy_versions TO grc_app;
GRANT SELECT, INSERT ON lifecycle_events, auditor_exports, auditor_export_artifacts TO grc_app;
