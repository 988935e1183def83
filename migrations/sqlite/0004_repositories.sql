-- Repositories: the unit scans and scores attach to. The numeric id is the seed-002 `repo_id`.
CREATE TABLE repositories (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    name           TEXT NOT NULL,
    url            TEXT,
    default_branch TEXT NOT NULL,
    languages      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (org_id, name)
);
