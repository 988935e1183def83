-- Foundation schema (PostgreSQL, production).
-- Migrations run as the database owner. The server runs every query as `grc_app`, a role that
-- owns nothing and cannot bypass row-level security. Every tenant-owned table has ENABLE + FORCE
-- RLS with a policy on current_setting('app.tenant_id', true): with no tenant set, the setting is
-- NULL, the comparison is NULL, and no row is visible or writable (fail closed).
-- Ids are UUID strings and timestamps fixed-width RFC 3339 UTC text, identical to SQLite, so that
-- one query layer serves both backends (docs/decisions/0002-one-sql-dialect.md).

DO $$
BEGIN
    CREATE ROLE grc_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    -- The role is cluster-wide; another database on this cluster already created it.
    NULL;
END
$$;

-- Owner connections must be able to switch to grc_app (SET ROLE) for the app pool.
DO $$
BEGIN
    EXECUTE format('GRANT grc_app TO %I', current_user);
EXCEPTION WHEN others THEN NULL;
END
$$;

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

-- Users are global identities (one person may belong to several orgs); no RLS.
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

-- Row-level security ----------------------------------------------------------------------------

ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE orgs FORCE ROW LEVEL SECURITY;
-- An org is visible to its own tenant context, and (read-only) to a user listing their own orgs.
CREATE POLICY orgs_tenant ON orgs
    USING (id = current_setting('app.tenant_id', true)
           OR id IN (SELECT org_id FROM memberships
                     WHERE user_id = current_setting('app.user_id', true)))
    WITH CHECK (id = current_setting('app.tenant_id', true));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships
    USING (org_id = current_setting('app.tenant_id', true)
           OR user_id = current_setting('app.user_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
-- Authentication must find a key before it knows the tenant: it sets app.key_hash to the hash
-- of the presented key, which makes exactly that one row visible.
CREATE POLICY api_keys_tenant ON api_keys
    USING (org_id = current_setting('app.tenant_id', true)
           OR key_hash = current_setting('app.key_hash', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE access_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY access_policies_tenant ON access_policies
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant ON audit_log
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

-- The audit log is append-only, for every role including the owner.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Grants for the app role -----------------------------------------------------------------------
GRANT USAGE ON SCHEMA public TO grc_app;
GRANT SELECT, INSERT ON instance_state TO grc_app;
GRANT SELECT, INSERT, UPDATE ON orgs, users, memberships, api_keys TO grc_app;
GRANT DELETE ON memberships TO grc_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON access_policies TO grc_app;
GRANT SELECT, INSERT ON audit_log TO grc_app;
