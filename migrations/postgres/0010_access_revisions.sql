-- The access revision of an org: a counter bumped in the same transaction as every change to
-- what authentication and authorization read (API keys, memberships, the org row, access
-- policies). Servers cache those reads and keep using them only while a fresh read of this
-- counter, begun after the request arrived, still matches (docs/decisions/0015). It replaces
-- `orgs.policy_revision`, which only access-policy changes bumped.
--
-- It is its own table so the freshness read is one statement with no tenant set: every server
-- may read any org's counter (a number, nothing else), but only a transaction in the org's own
-- tenant context may change it.
CREATE TABLE access_revisions (
    org_id   TEXT PRIMARY KEY REFERENCES orgs(id),
    revision BIGINT NOT NULL DEFAULT 0
);
-- The owner is subject to the RLS it forces on `orgs`; lift that for the copy alone (the whole
-- migration is one transaction).
ALTER TABLE orgs NO FORCE ROW LEVEL SECURITY;
INSERT INTO access_revisions (org_id, revision) SELECT id, policy_revision FROM orgs;
ALTER TABLE orgs FORCE ROW LEVEL SECURITY;
ALTER TABLE orgs DROP COLUMN policy_revision;

ALTER TABLE access_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY access_revisions_read ON access_revisions FOR SELECT USING (true);
CREATE POLICY access_revisions_insert ON access_revisions FOR INSERT
    WITH CHECK (org_id = current_setting('app.tenant_id', true));
CREATE POLICY access_revisions_update ON access_revisions FOR UPDATE
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE ON access_revisions TO grc_app;
