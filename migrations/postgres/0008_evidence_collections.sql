-- Evidence is content-addressed per org (decision 0013): verifying another object with bytes
-- already verified in the org resolves to the same evidence record and is recorded here as a new
-- collection (its own effective date and expiry), which refreshes freshness in scoring.
-- Append-only for the app, like the other evidence tables.
CREATE TABLE evidence_collections (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    evidence_id    TEXT NOT NULL REFERENCES evidence(id),
    object_key     TEXT NOT NULL,
    collected_at   TEXT NOT NULL,
    collected_by   TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    expires_at     TEXT,
    UNIQUE (org_id, object_key)
);
CREATE INDEX evidence_collections_by_evidence ON evidence_collections (org_id, evidence_id);

ALTER TABLE evidence_collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence_collections FORCE ROW LEVEL SECURITY;
CREATE POLICY evidence_collections_tenant ON evidence_collections
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

GRANT SELECT, INSERT ON evidence_collections TO grc_app;
