-- Evidence is content-addressed per org (decision 0013): verifying another object with bytes
-- already verified in the org resolves to the same evidence record and is recorded here as a new
-- collection (its own effective date and expiry), which refreshes freshness in scoring.
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

CREATE TRIGGER evidence_collections_no_update BEFORE UPDATE ON evidence_collections
BEGIN SELECT RAISE(ABORT, 'evidence_collections is append-only'); END;
CREATE TRIGGER evidence_collections_no_delete BEFORE DELETE ON evidence_collections
BEGIN SELECT RAISE(ABORT, 'evidence_collections is append-only'); END;
