-- Agents (issue 11, seed 003): enrollment tokens, the per-org agent CA, enrolled agents with
-- their certificate and credential, and the asset inventory projected from heartbeats.
-- Secrets (tokens, credentials) are stored as SHA-256 only; the CA key is sealed with a server
-- secret that is not in the database (docs/decisions/0017).

CREATE TABLE agent_enrollment_tokens (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('endpoint', 'automation', 'collector')),
    labels       TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    max_uses     BIGINT,
    uses         BIGINT NOT NULL DEFAULT 0,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT,
    created_by   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX agent_enrollment_tokens_org ON agent_enrollment_tokens (org_id, created_at);

-- One certificate authority per org, created on first enrollment. `sealed_key` is
-- base64(nonce ‖ AES-256-GCM(PKCS#8 key)) with the org id as associated data.
CREATE TABLE agent_cas (
    org_id      TEXT PRIMARY KEY REFERENCES orgs(id),
    cert_pem    TEXT NOT NULL,
    sealed_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE agents (
    id                       TEXT PRIMARY KEY,
    org_id                   TEXT NOT NULL REFERENCES orgs(id),
    name                     TEXT NOT NULL,
    kind                     TEXT NOT NULL CHECK (kind IN ('endpoint', 'automation', 'collector')),
    labels                   TEXT NOT NULL,
    enrollment_token_id      TEXT NOT NULL,
    hostname                 TEXT,
    version                  TEXT,
    description              TEXT NOT NULL,
    credential_prefix        TEXT NOT NULL,
    credential_hash          TEXT NOT NULL UNIQUE,
    previous_credential_hash TEXT UNIQUE,
    previous_valid_until     TEXT,
    cert_serial              TEXT NOT NULL,
    cert_fingerprint         TEXT NOT NULL,
    cert_not_after           TEXT NOT NULL,
    cert_pem                 TEXT NOT NULL,
    last_heartbeat_at        TEXT,
    last_ip                  TEXT,
    heartbeats               BIGINT NOT NULL DEFAULT 0,
    asset_id                 TEXT,
    rotated_at               TEXT,
    revoked_at               TEXT,
    created_at               TEXT NOT NULL
);
CREATE INDEX agents_org ON agents (org_id, created_at, id);
CREATE INDEX agents_cert_fingerprint ON agents (cert_fingerprint);

CREATE TABLE assets (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    kind                TEXT NOT NULL CHECK (kind IN ('host', 'device')),
    hostname            TEXT,
    os_name             TEXT,
    os_version          TEXT,
    ips                 TEXT NOT NULL,
    macs                TEXT NOT NULL,
    posture             TEXT NOT NULL,
    agent_id            TEXT,
    authorization_state TEXT NOT NULL CHECK (authorization_state IN ('authorized', 'unauthorized')),
    authorization_note  TEXT,
    merged_into         TEXT,
    first_seen          TEXT NOT NULL,
    last_seen           TEXT NOT NULL,
    last_reported_by    TEXT,
    events              BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX assets_org ON assets (org_id, first_seen, id);

-- How an observed device is recognised again: by MAC, or by IP when it reported no MAC. A host
-- claims its own MACs, so a device seen before its agent enrolled is merged into the host.
CREATE TABLE asset_identifiers (
    org_id   TEXT NOT NULL REFERENCES orgs(id),
    kind     TEXT NOT NULL CHECK (kind IN ('mac', 'ip')),
    value    TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    PRIMARY KEY (org_id, kind, value)
);

-- The asset timeline: append-only, ordered per asset by `seq`.
CREATE TABLE asset_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    asset_id    TEXT NOT NULL REFERENCES assets(id),
    seq         BIGINT NOT NULL,
    occurred_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    agent_id    TEXT,
    actor       TEXT,
    details     TEXT NOT NULL,
    UNIQUE (asset_id, seq)
);
CREATE INDEX asset_events_org_kind ON asset_events (org_id, kind, occurred_at);

-- Command history (a read model: command execution is out of scope, so nothing writes it yet).
CREATE TABLE agent_commands (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    agent_id     TEXT NOT NULL REFERENCES agents(id),
    asset_id     TEXT,
    command      TEXT NOT NULL,
    status       TEXT NOT NULL,
    requested_by TEXT,
    requested_at TEXT NOT NULL,
    completed_at TEXT,
    exit_code    BIGINT
);
CREATE INDEX agent_commands_asset ON agent_commands (org_id, asset_id, requested_at);

-- The timeline is append-only.
CREATE TRIGGER asset_events_no_update BEFORE UPDATE ON asset_events
BEGIN SELECT RAISE(ABORT, 'asset_events is append-only'); END;
CREATE TRIGGER asset_events_no_delete BEFORE DELETE ON asset_events
BEGIN SELECT RAISE(ABORT, 'asset_events is append-only'); END;
