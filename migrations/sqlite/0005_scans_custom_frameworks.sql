-- Scans: one ingested scanner run per row, with everything scoring needs. `findings` is the
-- normalized finding list (JSON; read only to evaluate), `outcomes` the persisted per-control
-- plugin outcomes (JSON map "framework:control" -> outcome; NULL until evaluated).
CREATE TABLE scans (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    repo_id        INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    source         TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    tools          TEXT NOT NULL,
    commit_sha     TEXT,
    branch         TEXT,
    completed_at   TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    finding_count  INTEGER NOT NULL,
    summary        TEXT NOT NULL,
    pr_total       INTEGER,
    pr_reviewed    INTEGER,
    quality_gate   TEXT NOT NULL,
    findings       TEXT NOT NULL,
    outcomes       TEXT,
    evaluated_at   TEXT,
    UNIQUE (org_id, repo_id, content_sha256)
);
CREATE INDEX scans_by_repo ON scans (org_id, repo_id, completed_at);

-- Org-defined frameworks (seed 002 "Custom Frameworks"). `controls` is a JSON array.
CREATE TABLE custom_frameworks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    controls    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, key)
);
