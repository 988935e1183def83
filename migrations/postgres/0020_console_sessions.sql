-- Web console sessions (issue 17): an API key exchanged for a server-side session. The cookie
-- holds a random token; only its SHA-256 is stored. A session carries the hash of the key it was
-- opened with, so every request re-checks that key (revoked or expired: the session ends) and
-- Cedar re-checks the membership. Sessions expire, and signing out revokes them.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    key_hash     TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX console_sessions_org ON console_sessions (org_id, created_at);

-- A request finds its session before it knows the tenant: it sets app.session_hash to the hash
-- of the presented cookie, which makes exactly that one row visible.
ALTER TABLE console_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE console_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY console_sessions_tenant ON console_sessions
    USING (org_id = current_setting('app.tenant_id', true)
           OR id_hash = current_setting('app.session_hash', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

GRANT SELECT, INSERT, UPDATE ON console_sessions TO grc_app;
