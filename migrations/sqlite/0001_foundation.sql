-- Foundation schema (SQLite, the embedded default).
-- Ids are UUID strings; timestamps are fixed-width RFC 3339 UTC strings so they sort as text.
-- Tenant isolation on SQLite is enforced by the application (every tenant query filters org_id);
-- PostgreSQL adds row-level security as a backstop (see migrations/postgres).

CREATE TABLE instance_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE orgs (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    plan            TEXT NOT NULL CHECK (plan IN ('free', 'team', 'enterprise')),
    policy_revision BIGINT NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'auditor')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT,
    created_by   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

CREATE TABLE access_policies (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    policy      TEXT NOT NULL,
    created_by  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    seq           BIGINT NOT NULL,
    occurred_at   TEXT NOT NULL,
    action        TEXT NOT NULL,
    actor_user_id TEXT,
    actor_email   TEXT,
    actor_key_id  TEXT,
    ip            TEXT,
    user_agent    TEXT,
    target_type   TEXT,
    target_id     TEXT,
    metadata      TEXT NOT NULL,
    policy_ids    TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_log_action ON audit_log (org_id, action, seq);

-- The audit log is append-only: no path through SQL may rewrite or remove history.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
