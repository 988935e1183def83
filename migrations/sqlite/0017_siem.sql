-- SIEM events (issue 19, runtime-lite; docs/decisions/0025).

-- Registered log sources. Counters are kept by ingest (one UPDATE per batch) so status reads
-- never count the whole table; events in the last 24 h are counted through siem_events_source.
CREATE TABLE siem_sources (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES orgs(id),
    name                   TEXT NOT NULL,
    product                TEXT NOT NULL,
    vendor                 TEXT NOT NULL,
    description            TEXT NOT NULL,
    expected_interval_secs BIGINT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    event_count            BIGINT NOT NULL DEFAULT 0,
    last_event_time        TEXT,
    last_received_at       TEXT,
    created_by             TEXT NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- Ingested events: the normalized OCSF fields search filters on, and the submitted object
-- (`raw`). Idempotent by (source, metadata.uid). Append-only.
CREATE TABLE siem_events (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    source_id       TEXT NOT NULL REFERENCES siem_sources(id),
    event_uid       TEXT NOT NULL,
    time            TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    class_uid       BIGINT NOT NULL,
    category_uid    BIGINT NOT NULL,
    activity_id     BIGINT NOT NULL,
    type_uid        BIGINT NOT NULL,
    severity_id     BIGINT NOT NULL,
    message         TEXT NOT NULL,
    product         TEXT,
    actor_user      TEXT,
    src_ip          TEXT,
    dst             TEXT,
    device_hostname TEXT,
    status          TEXT,
    raw             TEXT NOT NULL,
    UNIQUE (org_id, source_id, event_uid)
);
CREATE INDEX siem_events_time ON siem_events (org_id, time, id);
CREATE INDEX siem_events_source ON siem_events (org_id, source_id, time, id);
CREATE INDEX siem_events_class ON siem_events (org_id, class_uid, time, id);

-- Links from an event (ingested, or a built-in `audit:`/`trail:` id) to an alert. Append-only.
CREATE TABLE siem_event_links (
    org_id    TEXT NOT NULL REFERENCES orgs(id),
    event_id  TEXT NOT NULL,
    alert_id  TEXT NOT NULL REFERENCES alerts(id),
    linked_by TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (org_id, event_id, alert_id)
);

-- The built-in sources read the audit log and the agent trail in place, newest first by time.
CREATE INDEX audit_log_time ON audit_log (org_id, occurred_at, id);
CREATE INDEX agent_events_time ON agent_events (org_id, occurred_at, id);

CREATE TRIGGER siem_events_no_update BEFORE UPDATE ON siem_events
BEGIN SELECT RAISE(ABORT, 'siem_events is append-only'); END;
CREATE TRIGGER siem_events_no_delete BEFORE DELETE ON siem_events
BEGIN SELECT RAISE(ABORT, 'siem_events is append-only'); END;
CREATE TRIGGER siem_event_links_no_update BEFORE UPDATE ON siem_event_links
BEGIN SELECT RAISE(ABORT, 'siem_event_links is append-only'); END;
CREATE TRIGGER siem_event_links_no_delete BEFORE DELETE ON siem_event_links
BEGIN SELECT RAISE(ABORT, 'siem_event_links is append-only'); END;
