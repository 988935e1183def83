-- Discovery authorization (issue 19, seed 003 "runtime-lite"): sites, Cedar decisions on
-- collectors' discovery requests, and what collectors observed under a grant. No scanner runs
-- here (docs/decisions/0023).

-- A site: where discovery may happen (CIDR ranges), how (techniques) and when (UTC windows).
CREATE TABLE discovery_sites (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    ranges      TEXT NOT NULL,
    techniques  TEXT NOT NULL,
    windows     TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Every decision, grant or deny, with the site as it was (a deleted site's decisions stay).
CREATE TABLE discovery_decisions (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    site_id      TEXT NOT NULL,
    site_name    TEXT NOT NULL,
    site_version BIGINT NOT NULL,
    agent_id     TEXT NOT NULL REFERENCES agents(id),
    technique    TEXT NOT NULL,
    targets      TEXT NOT NULL,
    verdict      TEXT NOT NULL CHECK (verdict IN ('grant', 'deny')),
    reasons      TEXT NOT NULL,
    policy_ids   TEXT NOT NULL,
    decided_at   TEXT NOT NULL,
    valid_until  TEXT
);
CREATE INDEX discovery_decisions_site ON discovery_decisions (org_id, site_id, decided_at, id);
CREATE INDEX discovery_decisions_org ON discovery_decisions (org_id, decided_at, id);

-- What a collector observed under a grant, redacted on the way in (credentials are never
-- stored); idempotent by the collector's own observation id.
CREATE TABLE discovery_observations (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    site_id       TEXT NOT NULL,
    agent_id      TEXT NOT NULL REFERENCES agents(id),
    decision_id   TEXT NOT NULL REFERENCES discovery_decisions(id),
    external_id   TEXT NOT NULL,
    technique     TEXT NOT NULL,
    observed_at   TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    ip            TEXT,
    mac           TEXT,
    hostname      TEXT,
    vendor        TEXT,
    os            TEXT,
    serial_number TEXT,
    open_ports    TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    asset_id      TEXT,
    UNIQUE (org_id, agent_id, external_id)
);
CREATE INDEX discovery_observations_site ON discovery_observations (org_id, site_id, received_at, id);

-- Decisions and observations are records: append-only.
CREATE TRIGGER discovery_decisions_no_update BEFORE UPDATE ON discovery_decisions
BEGIN SELECT RAISE(ABORT, 'discovery_decisions is append-only'); END;
CREATE TRIGGER discovery_decisions_no_delete BEFORE DELETE ON discovery_decisions
BEGIN SELECT RAISE(ABORT, 'discovery_decisions is append-only'); END;
CREATE TRIGGER discovery_observations_no_update BEFORE UPDATE ON discovery_observations
BEGIN SELECT RAISE(ABORT, 'discovery_observations is append-only'); END;
CREATE TRIGGER discovery_observations_no_delete BEFORE DELETE ON discovery_observations
BEGIN SELECT RAISE(ABORT, 'discovery_observations is append-only'); END;
