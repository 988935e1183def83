-- Agent runtime governance and compliance packages (issue 12, seed 001).

-- Connectors a tenant adds to the built-in catalog (host/catalog/connectors.toml). The
-- definition is the validated JSON of one catalog entry.
CREATE TABLE connectors (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    key        TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, key)
);

-- An agent's declared connectors and operations, versioned; the newest version is the approved
-- one. Append-only: a change is a new version.
CREATE TABLE agent_configurations (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    agent_id     TEXT NOT NULL REFERENCES agents(id),
    version      BIGINT NOT NULL,
    declaration  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    note         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (agent_id, version)
);
CREATE INDEX agent_configurations_org ON agent_configurations (org_id, agent_id, version);

-- Tenant-authored runtime policies (Cedar, validated against policies/runtime.cedarschema).
CREATE TABLE runtime_policies (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    policy      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Every runtime decision. A PERMIT or DENY is final; an ESCALATE is `pending` until an
-- owner/admin approves or rejects it, or it expires (read as DENY).
CREATE TABLE agent_decisions (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    agent_id        TEXT NOT NULL REFERENCES agents(id),
    connector       TEXT NOT NULL,
    operation       TEXT NOT NULL,
    target          TEXT NOT NULL,
    context         TEXT NOT NULL,
    config_version  BIGINT,
    verdict         TEXT NOT NULL CHECK (verdict IN ('PERMIT', 'ESCALATE', 'DENY')),
    policy_ids      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('permitted', 'denied', 'pending', 'approved', 'rejected')),
    expires_at      TEXT,
    resolved_by     TEXT,
    resolved_at     TEXT,
    resolution_note TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX agent_decisions_agent ON agent_decisions (org_id, agent_id, created_at, id);
CREATE INDEX agent_decisions_pending ON agent_decisions (org_id, status, created_at, id);

-- The action trail: what agents report doing, and the drift the server detects, hash-chained
-- per org like the audit log (`hash = SHA-256(prev_hash ‖ canonical_json(event))`).
CREATE TABLE agent_events (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    agent_id       TEXT NOT NULL REFERENCES agents(id),
    event_id       TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('agent', 'server')),
    type           TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    connector      TEXT,
    operation      TEXT,
    decision_id    TEXT,
    outcome        TEXT,
    config_hash    TEXT,
    details        TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    UNIQUE (agent_id, event_id),
    UNIQUE (org_id, seq)
);
CREATE INDEX agent_events_agent_type ON agent_events (org_id, agent_id, type, occurred_at);
CREATE INDEX agent_events_agent_connector ON agent_events (org_id, agent_id, connector);

-- Compliance packages: immutable, numbered per agent, each with the SHA-256 of its canonical
-- JSON, the previous package's hash and the audit chain head when it was generated.
CREATE TABLE compliance_packages (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    agent_id        TEXT NOT NULL REFERENCES agents(id),
    number          BIGINT NOT NULL,
    generated_by    TEXT NOT NULL,
    generated_at    TEXT NOT NULL,
    body            TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    prev_sha256     TEXT,
    audit_head_seq  BIGINT NOT NULL,
    audit_head_hash TEXT NOT NULL,
    UNIQUE (agent_id, number)
);
CREATE INDEX compliance_packages_org ON compliance_packages (org_id, generated_at, id);

-- Each org's Ed25519 signing keys for package bundles; the private key sealed with the server
-- secret (bound to the org), the public key listed through the API. Append-only: the newest key
-- signs, older ones stay listed (retired) so earlier bundles can still be checked.
CREATE TABLE signing_keys (
    key_id         TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    algorithm      TEXT NOT NULL,
    public_key     TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX signing_keys_org ON signing_keys (org_id, created_at);

-- Row-level security ---------------------------------------------------------------------------

ALTER TABLE connectors ENABLE ROW LEVEL SECURITY;
ALTER TABLE connectors FORCE ROW LEVEL SECURITY;
CREATE POLICY connectors_tenant ON connectors
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE agent_configurations ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_configurations FORCE ROW LEVEL SECURITY;
CREATE POLICY agent_configurations_tenant ON agent_configurations
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE runtime_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE runtime_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY runtime_policies_tenant ON runtime_policies
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE agent_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_decisions FORCE ROW LEVEL SECURITY;
CREATE POLICY agent_decisions_tenant ON agent_decisions
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE agent_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_events FORCE ROW LEVEL SECURITY;
CREATE POLICY agent_events_tenant ON agent_events
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE compliance_packages ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_packages FORCE ROW LEVEL SECURITY;
CREATE POLICY compliance_packages_tenant ON compliance_packages
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE signing_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY signing_keys_tenant ON signing_keys
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

-- Configurations, the trail, packages and keys are append-only for the application; decisions
-- change state once (an escalation resolved); runtime policies and connectors may be deleted.
GRANT SELECT, INSERT ON agent_configurations, agent_events, compliance_packages, signing_keys TO grc_app;
GRANT SELECT, INSERT, UPDATE ON agent_decisions TO grc_app;
GRANT SELECT, INSERT, DELETE ON runtime_policies, connectors TO grc_app;
