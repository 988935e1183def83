-- Evidence (seed 000). `evidence_uploads`: one row per presigned upload URL issued (what the
-- uploader declared). `evidence`: verified objects (hash recomputed by the server). `evidence_lineage`:
-- links of an object to a control; '' means "no framework" / "no assessment" so that the
-- uniqueness that makes linking idempotent works on both databases.
CREATE TABLE evidence_uploads (
    object_key      TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    filename        TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    control_id      TEXT,
    declared_size   INTEGER,
    declared_sha256 TEXT,
    effective_date  TEXT,
    expires_at      TEXT,
    issued_by       TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    url_expires_at  TEXT NOT NULL
);
CREATE INDEX evidence_uploads_by_org ON evidence_uploads (org_id);

CREATE TABLE evidence (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    object_key     TEXT NOT NULL,
    filename       TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    etag           TEXT,
    verified_at    TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    expires_at     TEXT,
    UNIQUE (org_id, object_key)
);
CREATE INDEX evidence_by_hash ON evidence (org_id, sha256);

CREATE TABLE evidence_lineage (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    object_key    TEXT NOT NULL,
    evidence_ref  TEXT NOT NULL,
    control_id    TEXT NOT NULL,
    framework_id  TEXT NOT NULL,
    assessment_id TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    UNIQUE (org_id, object_key, control_id, framework_id, assessment_id)
);
CREATE INDEX evidence_lineage_by_control ON evidence_lineage (org_id, control_id);
