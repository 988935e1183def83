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
    content   BLOB NOT NULL
);
