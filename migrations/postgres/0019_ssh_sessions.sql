-- Just-in-time SSH sessions (issue 19, seed 003: contract-only). A session is requested for one
-- asset of the org's inventory, approved or rejected by someone other than the requester, and
-- then usable until `expires_at`. No broker exists yet: nothing here records a connection, a
-- recording or commands (docs/decisions/0026).
--
-- `status` is what was decided; `expired` is never stored: a pending request past
-- `request_expires_at`, or an approved session past `expires_at`, reads as expired.
CREATE TABLE ssh_sessions (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id),
    asset_id              TEXT NOT NULL REFERENCES assets(id),
    login                 TEXT,
    reason                TEXT NOT NULL,
    duration_minutes      BIGINT NOT NULL CHECK (duration_minutes > 0),
    status                TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    requested_by_user_id  TEXT NOT NULL,
    requested_by          TEXT NOT NULL,
    requested_at          TEXT NOT NULL,
    request_expires_at    TEXT NOT NULL,
    decided_by_user_id    TEXT,
    decided_by            TEXT,
    decided_at            TEXT,
    decision_note         TEXT,
    expires_at            TEXT,
    cancelled_by          TEXT,
    cancelled_at          TEXT
);
CREATE INDEX ssh_sessions_org_time ON ssh_sessions (org_id, requested_at, id);
CREATE INDEX ssh_sessions_org_asset ON ssh_sessions (org_id, asset_id, requested_at);
CREATE INDEX ssh_sessions_org_requester ON ssh_sessions (org_id, requested_by_user_id, requested_at);

ALTER TABLE ssh_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE ssh_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY ssh_sessions_tenant ON ssh_sessions
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

-- A session changes state (decided, cancelled) but is never deleted: it is the record of who
-- was given access to what, and why.
GRANT SELECT, INSERT, UPDATE ON ssh_sessions TO grc_app;
