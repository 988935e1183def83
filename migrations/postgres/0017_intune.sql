-- Intune posture sync (issue 19, seed 003): the local secret provider's sealed values, each
-- org's Entra app connection, the devices a sync projected, and the sync runs.

-- Secrets stored through the local secret provider: AES-256-GCM sealed with the server secret,
-- bound to the org and the reference (`secretref:local:<uuid>`). Replacing a secret inserts a
-- new reference and deletes the old row; the plaintext is never stored.
CREATE TABLE sealed_secrets (
    ref        TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    purpose    TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX sealed_secrets_org ON sealed_secrets (org_id);

-- One Microsoft Entra app registration per org (client credentials for Microsoft Graph).
-- Booleans are BIGINT 0/1 (NULL: unknown), as elsewhere in the schema.
CREATE TABLE intune_connections (
    org_id            TEXT PRIMARY KEY REFERENCES orgs(id),
    tenant_id         TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    client_secret_ref TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_by        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- Each managed device a sync saw, keyed by Intune's device id, with the asset it projects to.
-- `content_hash` covers every stored field, so an unchanged device is not written again.
CREATE TABLE intune_devices (
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    device_id           TEXT NOT NULL,
    asset_id            TEXT NOT NULL REFERENCES assets(id),
    device_name         TEXT,
    operating_system    TEXT,
    os_version          TEXT,
    compliance_state    TEXT NOT NULL,
    is_encrypted        BIGINT,
    jailbroken          TEXT NOT NULL,
    management_agent    TEXT,
    last_check_in       TEXT,
    enrolled_at         TEXT,
    model               TEXT,
    manufacturer        TEXT,
    serial_number       TEXT,
    user_principal_name TEXT,
    content_hash        TEXT NOT NULL,
    first_synced_at     TEXT NOT NULL,
    changed_at          TEXT NOT NULL,
    removed_at          TEXT,
    PRIMARY KEY (org_id, device_id)
);
CREATE INDEX intune_devices_list ON intune_devices (org_id, first_synced_at, device_id);

-- Every successful sync, with its counts. Append-only.
CREATE TABLE intune_sync_runs (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs(id),
    started_at        TEXT NOT NULL,
    finished_at       TEXT NOT NULL,
    duration_ms       BIGINT NOT NULL,
    pages             BIGINT NOT NULL,
    fetched           BIGINT NOT NULL,
    created           BIGINT NOT NULL,
    updated           BIGINT NOT NULL,
    unchanged         BIGINT NOT NULL,
    removed           BIGINT NOT NULL,
    throttled_retries BIGINT NOT NULL,
    truncated         BIGINT NOT NULL,
    triggered_by      TEXT NOT NULL
);
CREATE INDEX intune_sync_runs_org ON intune_sync_runs (org_id, started_at, id);

-- Row-level security ---------------------------------------------------------------------------

ALTER TABLE sealed_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE sealed_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY sealed_secrets_tenant ON sealed_secrets
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE intune_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE intune_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY intune_connections_tenant ON intune_connections
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE intune_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE intune_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY intune_devices_tenant ON intune_devices
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE intune_sync_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE intune_sync_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY intune_sync_runs_tenant ON intune_sync_runs
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

-- Sealed secrets are replaced (insert + delete), never edited; sync runs are append-only.
GRANT SELECT, INSERT, DELETE ON sealed_secrets TO grc_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON intune_connections, intune_devices TO grc_app;
GRANT SELECT, INSERT ON intune_sync_runs TO grc_app;
