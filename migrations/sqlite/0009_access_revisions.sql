-- The access revision of an org: a counter bumped in the same transaction as every change to
-- what authentication and authorization read (API keys, memberships, the org row, access
-- policies). Servers cache those reads and keep using them only while a fresh read of this
-- counter, begun after the request arrived, still matches (docs/decisions/0015). It replaces
-- `orgs.policy_revision`, which only access-policy changes bumped.
CREATE TABLE access_revisions (
    org_id   TEXT PRIMARY KEY REFERENCES orgs(id),
    revision BIGINT NOT NULL DEFAULT 0
);
INSERT INTO access_revisions (org_id, revision) SELECT id, policy_revision FROM orgs;
ALTER TABLE orgs DROP COLUMN policy_revision;
