-- SCIM 2.0 provisioning (issue 15, seed 003): connections (an identity provider's bearer token,
-- stored as SHA-256 only), the users and groups it provisions, the explicit group → role
-- mappings, and the recent errors shown in the connection's status (docs/decisions/0020).

-- A membership the IdP manages names its connection; a suspended membership grants nothing
-- (authorization reads only memberships with no `suspended_at`).
ALTER TABLE memberships ADD COLUMN suspended_at TEXT;
ALTER TABLE memberships ADD COLUMN managed_by TEXT;

CREATE TABLE scim_connections (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    name            TEXT NOT NULL,
    token_prefix    TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    rotated_at      TEXT,
    disabled_at     TEXT,
    last_request_at TEXT,
    requests        BIGINT NOT NULL DEFAULT 0,
    failed_requests BIGINT NOT NULL DEFAULT 0,
    UNIQUE (org_id, name)
);

CREATE TABLE scim_role_mappings (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    connection_id TEXT NOT NULL REFERENCES scim_connections(id),
    match_on      TEXT NOT NULL CHECK (match_on IN ('display_name', 'external_id')),
    value_key     TEXT NOT NULL,
    value         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member', 'auditor')),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, match_on, value_key)
);

CREATE TABLE scim_users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    connection_id TEXT NOT NULL REFERENCES scim_connections(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    user_name     TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id   TEXT,
    active        BIGINT NOT NULL,
    resource      TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (connection_id, user_name_key),
    UNIQUE (org_id, user_id)
);
CREATE INDEX scim_users_connection ON scim_users (connection_id, created_at, id);

CREATE TABLE scim_groups (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    connection_id    TEXT NOT NULL REFERENCES scim_connections(id),
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id      TEXT,
    resource         TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (connection_id, display_name_key)
);
CREATE INDEX scim_groups_connection ON scim_groups (connection_id, created_at, id);

CREATE TABLE scim_group_members (
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    group_id     TEXT NOT NULL REFERENCES scim_groups(id),
    scim_user_id TEXT NOT NULL REFERENCES scim_users(id),
    PRIMARY KEY (group_id, scim_user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members (scim_user_id);

-- The last few failed SCIM requests per connection, for its status (pruned on insert).
CREATE TABLE scim_request_errors (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    connection_id TEXT NOT NULL REFERENCES scim_connections(id),
    occurred_at   TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        BIGINT NOT NULL,
    scim_type     TEXT,
    detail        TEXT NOT NULL
);
CREATE INDEX scim_request_errors_connection ON scim_request_errors (connection_id, occurred_at);
