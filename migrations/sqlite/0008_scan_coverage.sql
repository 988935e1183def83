-- Coverage: what each tool of a scan can detect when it runs (JSON map tool -> categories), so a
-- control whose kind of scanner did not run is `not_assessed` instead of passing. NULL for scans
-- ingested before coverage was recorded (derived from their tools then). Assessments merge the
-- newest scan of each tool by receive time, hence the receive-time index.
--
-- SQLite stores a row's columns in order, and reading a column that comes after the
-- multi-megabyte `findings` (or the outcome cache) walks its overflow pages. Assessments read
-- the coverage of many scans, so the table is rebuilt with the small columns first, then the
-- outcome cache, then the findings. (PostgreSQL keeps large values out of line: it only adds the
-- column.)
CREATE TABLE scans_rebuilt (
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
    coverage       TEXT,
    evaluated_at   TEXT,
    outcomes       TEXT,
    findings       TEXT NOT NULL,
    UNIQUE (org_id, repo_id, content_sha256)
);
INSERT INTO scans_rebuilt (id, org_id, repo_id, source, content_sha256, tools, commit_sha, branch,
    completed_at, received_at, finding_count, summary, pr_total, pr_reviewed, quality_gate,
    coverage, evaluated_at, outcomes, findings)
SELECT id, org_id, repo_id, source, content_sha256, tools, commit_sha, branch, completed_at,
    received_at, finding_count, summary, pr_total, pr_reviewed, quality_gate, NULL, evaluated_at,
    outcomes, findings
FROM scans;
DROP TABLE scans;
ALTER TABLE scans_rebuilt RENAME TO scans;
CREATE INDEX scans_by_repo ON scans (org_id, repo_id, completed_at);
CREATE INDEX scans_by_repo_received ON scans (org_id, repo_id, received_at);
