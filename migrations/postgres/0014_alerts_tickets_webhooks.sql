-- Alerts, tickets and webhook deliveries (issue 14, seed 003).

-- Alerts: one row per condition worth a human's attention. A repeating condition bumps the one
-- unresolved alert with its dedupe key (occurrences, last_seen_at); after it is resolved, the
-- next occurrence opens a new alert (docs/decisions/0021).
CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    kind             TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    title            TEXT NOT NULL,
    detail           TEXT NOT NULL,
    subject_type     TEXT NOT NULL,
    subject_id       TEXT NOT NULL,
    dedupe_key       TEXT NOT NULL,
    occurrences      BIGINT NOT NULL,
    assignee_user_id TEXT,
    ticket_id        TEXT,
    first_seen_at    TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    acknowledged_at  TEXT,
    acknowledged_by  TEXT,
    resolved_at      TEXT,
    resolved_by      TEXT,
    resolution_note  TEXT,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_live_dedupe ON alerts (org_id, dedupe_key) WHERE status <> 'resolved';
CREATE INDEX alerts_org ON alerts (org_id, first_seen_at, id);
CREATE INDEX alerts_subject ON alerts (org_id, subject_type, subject_id);

-- Tickets: internal work items, created by hand or from an alert; numbered per org.
CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    number           BIGINT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    priority         TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    assignee_user_id TEXT,
    created_by       TEXT,
    created_by_email TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (org_id, number)
);
CREATE INDEX tickets_org ON tickets (org_id, created_at, id);

CREATE TABLE ticket_comments (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    ticket_id    TEXT NOT NULL REFERENCES tickets(id),
    author_id    TEXT,
    author_email TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (org_id, ticket_id, created_at, id);

CREATE TABLE ticket_links (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    ticket_id   TEXT NOT NULL REFERENCES tickets(id),
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (ticket_id, target_type, target_id)
);
CREATE INDEX ticket_links_target ON ticket_links (org_id, target_type, target_id);

-- Webhook subscriptions. The signing secret is sealed with the server secret (it must sign, so
-- it cannot be hashed) and is shown once, at creation or rotation.
CREATE TABLE webhook_subscriptions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    url           TEXT NOT NULL,
    description   TEXT NOT NULL,
    event_types   TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'deleted')),
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org_id, created_at, id);

-- One delivery per (event, subscription). Its id is the Standard Webhooks `webhook-id`, the
-- same on every attempt so receivers can deduplicate.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions(id),
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         BIGINT NOT NULL,
    attempt_budget   BIGINT NOT NULL,
    next_attempt_at  TEXT,
    last_attempt_at  TEXT,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    completed_at     TEXT
);
CREATE INDEX webhook_deliveries_org ON webhook_deliveries (org_id, created_at, id);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (org_id, subscription_id, created_at, id);

CREATE TABLE webhook_attempts (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
    number      BIGINT NOT NULL,
    started_at  TEXT NOT NULL,
    latency_ms  BIGINT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    PRIMARY KEY (delivery_id, number)
);

-- The dispatch queue: which delivery is due when, across orgs. It holds ids and times only (no
-- tenant data), so the dispatcher can find due work without a tenant; it then reads and writes
-- the delivery itself inside that delivery's org. A claim moves `due_at` forward by a lease, so
-- a dispatcher that dies mid-attempt leaves the delivery due again once the lease runs out.
CREATE TABLE webhook_queue (
    delivery_id TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    due_at      TEXT NOT NULL
);
CREATE INDEX webhook_queue_due ON webhook_queue (due_at);

-- Row-level security ---------------------------------------------------------------------------

ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY alerts_tenant ON alerts
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tickets_tenant ON tickets
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE ticket_comments ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_comments FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_comments_tenant ON ticket_comments
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE ticket_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_links FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_links_tenant ON ticket_links
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_subscriptions_tenant ON webhook_subscriptions
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_attempts_tenant ON webhook_attempts
    USING (org_id = current_setting('app.tenant_id', true))
    WITH CHECK (org_id = current_setting('app.tenant_id', true));

-- The queue has no tenant data and no RLS: the dispatcher reads it before it knows the org.
GRANT SELECT, INSERT, UPDATE ON alerts, tickets, webhook_subscriptions, webhook_deliveries TO grc_app;
GRANT SELECT, INSERT ON ticket_comments, webhook_attempts TO grc_app;
GRANT SELECT, INSERT, DELETE ON ticket_links TO grc_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_queue TO grc_app;

-- The alert sweep (stale agents, expiring evidence) visits every org: a transaction that sets
-- app.sweep_orgs may list org rows, and reads each org's data through that org's tenant.
CREATE POLICY orgs_sweep ON orgs FOR SELECT
    USING (current_setting('app.sweep_orgs', true) = 'on');
