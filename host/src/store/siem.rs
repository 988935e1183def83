//! SIEM storage: registered log sources, ingested events (idempotent by source and
//! `metadata.uid`), links from events to alerts, and the reads that let search treat the audit
//! log and the agent trail as built-in sources (in place: their rows are never copied).
//!
//! Every search query has the same shape: the window (`from <= time < to`), the keyset bound
//! (`time < at OR (time = at AND id < tie)`, see `siem::search`), fixed-text optional filters
//! (`'' ` / `-1` / `0` meaning "none"), newest first, `limit` rows.

use super::{StoreResult, TenantTx};
use crate::siem::ocsf::NormalizedEvent;
use sqlx::{Row, any::AnyRow};

// Sources ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct SourceRow {
    pub id: String,
    pub name: String,
    pub product: String,
    pub vendor: String,
    pub description: String,
    pub expected_interval_secs: i64,
    /// `enabled` or `disabled`.
    pub status: String,
    pub event_count: i64,
    pub last_event_time: Option<String>,
    pub last_received_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const SOURCE_COLUMNS: &str = "id, name, product, vendor, description, expected_interval_secs, \
     status, event_count, last_event_time, last_received_at, created_by, created_at, updated_at";

fn source_from_row(r: &AnyRow) -> StoreResult<SourceRow> {
    Ok(SourceRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        product: r.try_get("product")?,
        vendor: r.try_get("vendor")?,
        description: r.try_get("description")?,
        expected_interval_secs: r.try_get("expected_interval_secs")?,
        status: r.try_get("status")?,
        event_count: r.try_get("event_count")?,
        last_event_time: r.try_get("last_event_time")?,
        last_received_at: r.try_get("last_received_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Registers a source; `false` when the org already has one with this name.
pub async fn insert_source(tx: &mut TenantTx, s: &SourceRow) -> StoreResult<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO siem_sources (org_id, {SOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (org_id, name) DO NOTHING"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&s.id)
    .bind(&s.name)
    .bind(&s.product)
    .bind(&s.vendor)
    .bind(&s.description)
    .bind(s.expected_interval_secs)
    .bind(&s.status)
    .bind(s.event_count)
    .bind(&s.last_event_time)
    .bind(&s.last_received_at)
    .bind(&s.created_by)
    .bind(&s.created_at)
    .bind(&s.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The org's sources, by name.
pub async fn list_sources(tx: &mut TenantTx) -> StoreResult<Vec<SourceRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {SOURCE_COLUMNS} FROM siem_sources WHERE org_id = $1 ORDER BY name"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(source_from_row).collect()
}

pub async fn find_source(tx: &mut TenantTx, id: &str) -> StoreResult<Option<SourceRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {SOURCE_COLUMNS} FROM siem_sources WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id.to_owned())
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(source_from_row)
    .transpose()
}

/// Saves what a PATCH may change: status, expected interval, description.
pub async fn update_source(tx: &mut TenantTx, s: &SourceRow) -> StoreResult<()> {
    sqlx::query(
        "UPDATE siem_sources SET status = $3, expected_interval_secs = $4, description = $5, \
         updated_at = $6 WHERE org_id = $1 AND id = $2",
    )
    .bind(tx.org_id().to_owned())
    .bind(&s.id)
    .bind(&s.status)
    .bind(s.expected_interval_secs)
    .bind(&s.description)
    .bind(&s.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Events per source whose time is at or after `since`: `(source_id, count)`.
pub async fn counts_since(tx: &mut TenantTx, since: &str) -> StoreResult<Vec<(String, i64)>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT source_id, COUNT(*) AS n FROM siem_events WHERE org_id = $1 AND time >= $2 \
         GROUP BY source_id",
    )
    .bind(org_id)
    .bind(since.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("source_id")?, r.try_get("n")?)))
        .collect()
}

// Ingest -------------------------------------------------------------------------------------

/// Rows per INSERT statement (19 parameters each; under SQLite's 999-parameter floor).
const INSERT_CHUNK: usize = 40;

/// Inserts `events` (each with its new row id) for `source_id`, skipping any whose
/// `(source, metadata.uid)` is already stored (also within the batch). Returns how many were
/// inserted.
pub async fn insert_events(
    tx: &mut TenantTx,
    source_id: &str,
    received_at: &str,
    events: &[(String, NormalizedEvent)],
) -> StoreResult<u64> {
    let org_id = tx.org_id().to_owned();
    let mut inserted = 0;
    for chunk in events.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 19;
                let params: Vec<String> = (1..=19).map(|k| format!("${}", b + k)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO siem_events (org_id, id, source_id, event_uid, time, received_at, \
             class_uid, category_uid, activity_id, type_uid, severity_id, message, product, \
             actor_user, src_ip, dst, device_hostname, status, raw) VALUES {} \
             ON CONFLICT (org_id, source_id, event_uid) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (id, e) in chunk {
            query = query
                .bind(org_id.clone())
                .bind(id.clone())
                .bind(source_id.to_owned())
                .bind(e.uid.clone())
                .bind(e.time.clone())
                .bind(received_at.to_owned())
                .bind(e.class_uid)
                .bind(e.category_uid)
                .bind(e.activity_id)
                .bind(e.type_uid)
                .bind(e.severity_id)
                .bind(e.message.clone())
                .bind(e.product.clone())
                .bind(e.actor_user.clone())
                .bind(e.src_ip.clone())
                .bind(e.dst.clone())
                .bind(e.device_hostname.clone())
                .bind(e.status.clone())
                .bind(e.raw.clone());
        }
        inserted += query.execute(tx.conn()).await?.rows_affected();
    }
    Ok(inserted)
}

/// Records a delivery on the source: `accepted` more events, the newest event time, and when.
pub async fn record_delivery(
    tx: &mut TenantTx,
    source_id: &str,
    accepted: i64,
    newest: Option<&str>,
    received_at: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE siem_sources SET event_count = event_count + $3, last_received_at = $5, \
         last_event_time = CASE WHEN $4 = '' THEN last_event_time \
           WHEN last_event_time IS NULL OR last_event_time < $4 THEN $4 \
           ELSE last_event_time END \
         WHERE org_id = $1 AND id = $2",
    )
    .bind(tx.org_id().to_owned())
    .bind(source_id.to_owned())
    .bind(accepted)
    .bind(newest.unwrap_or_default().to_owned())
    .bind(received_at.to_owned())
    .execute(tx.conn())
    .await?;
    Ok(())
}

// Search -------------------------------------------------------------------------------------

/// What every stream's search gets: window, keyset bound, and the stream-independent filters.
#[derive(Debug, Clone)]
pub struct SearchBounds {
    pub from: String,
    pub to: String,
    pub at: String,
    pub tie: String,
    /// Exact subject, `''` for none.
    pub subject: String,
    /// `LIKE` pattern over the lowercased message, `''` for none.
    pub like: String,
    pub limit: i64,
}

/// An ingested event row (with its source's name); `raw` only from [`find_event`].
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: String,
    pub source_id: String,
    pub source_name: String,
    pub time: String,
    pub received_at: String,
    pub class_uid: i64,
    pub activity_id: i64,
    pub severity_id: i64,
    pub message: String,
    pub event_uid: String,
    pub product: Option<String>,
    pub actor_user: Option<String>,
    pub src_ip: Option<String>,
    pub dst: Option<String>,
    pub device_hostname: Option<String>,
    pub status: Option<String>,
    pub raw: Option<String>,
}

const EVENT_COLUMNS: &str = "e.id, e.source_id, s.name AS source_name, e.time, e.received_at, \
     e.class_uid, e.activity_id, e.severity_id, e.message, e.event_uid, e.product, e.actor_user, \
     e.src_ip, e.dst, e.device_hostname, e.status";

fn event_from_row(r: &AnyRow, with_raw: bool) -> StoreResult<EventRow> {
    Ok(EventRow {
        id: r.try_get("id")?,
        source_id: r.try_get("source_id")?,
        source_name: r.try_get("source_name")?,
        time: r.try_get("time")?,
        received_at: r.try_get("received_at")?,
        class_uid: r.try_get("class_uid")?,
        activity_id: r.try_get("activity_id")?,
        severity_id: r.try_get("severity_id")?,
        message: r.try_get("message")?,
        event_uid: r.try_get("event_uid")?,
        product: r.try_get("product")?,
        actor_user: r.try_get("actor_user")?,
        src_ip: r.try_get("src_ip")?,
        dst: r.try_get("dst")?,
        device_hostname: r.try_get("device_hostname")?,
        status: r.try_get("status")?,
        raw: if with_raw {
            Some(r.try_get("raw")?)
        } else {
            None
        },
    })
}

/// Ingested events in the window under the bound. `source_id` `''`, `class_uid` -1 and
/// `min_severity` 0 mean no filter; a minimum severity matches 1–6 (99, Other, is unordered).
pub async fn search_events(
    tx: &mut TenantTx,
    b: &SearchBounds,
    source_id: &str,
    class_uid: i64,
    min_severity: i64,
) -> StoreResult<Vec<EventRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM siem_events e \
         JOIN siem_sources s ON s.org_id = e.org_id AND s.id = e.source_id \
         WHERE e.org_id = $1 AND e.time >= $2 AND e.time < $3 \
         AND (e.time < $4 OR (e.time = $4 AND e.id < $5)) \
         AND ($6 = '' OR e.actor_user = $6 OR e.src_ip = $6 OR e.dst = $6 \
              OR e.device_hostname = $6) \
         AND ($7 = '' OR LOWER(e.message) LIKE $7 ESCAPE '\\') \
         AND ($8 = '' OR e.source_id = $8) \
         AND ($9 = -1 OR e.class_uid = $9) \
         AND ($10 = 0 OR (e.severity_id >= $10 AND e.severity_id <= 6)) \
         ORDER BY e.time DESC, e.id DESC LIMIT $11"
    ))
    .bind(org_id)
    .bind(b.from.clone())
    .bind(b.to.clone())
    .bind(b.at.clone())
    .bind(b.tie.clone())
    .bind(b.subject.clone())
    .bind(b.like.clone())
    .bind(source_id.to_owned())
    .bind(class_uid)
    .bind(min_severity)
    .bind(b.limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(|r| event_from_row(r, false)).collect()
}

/// One ingested event, with its submitted OCSF object.
pub async fn find_event(tx: &mut TenantTx, id: &str) -> StoreResult<Option<EventRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS}, e.raw FROM siem_events e \
         JOIN siem_sources s ON s.org_id = e.org_id AND s.id = e.source_id \
         WHERE e.org_id = $1 AND e.id = $2"
    ))
    .bind(org_id)
    .bind(id.to_owned())
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(|r| event_from_row(r, true))
    .transpose()
}

// Built-in sources ---------------------------------------------------------------------------

/// An audit entry with the message search matches (`ACTION type/id by actor`).
#[derive(Debug, Clone)]
pub struct AuditEventRow {
    pub id: String,
    pub seq: i64,
    pub occurred_at: String,
    pub action: String,
    pub actor_user_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_key_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub metadata: String,
    pub policy_ids: String,
    pub prev_hash: String,
    pub hash: String,
    pub message: String,
}

const AUDIT_MESSAGE: &str = "(action || ' ' || COALESCE(target_type, '-') || '/' || \
     COALESCE(target_id, '-') || ' by ' || COALESCE(actor_email, actor_key_id, 'system'))";

fn audit_select() -> String {
    format!(
        "SELECT id, seq, occurred_at, action, actor_user_id, actor_email, actor_key_id, ip, \
         user_agent, target_type, target_id, metadata, policy_ids, prev_hash, hash, \
         {AUDIT_MESSAGE} AS message FROM audit_log"
    )
}

fn audit_from_row(r: &AnyRow) -> StoreResult<AuditEventRow> {
    Ok(AuditEventRow {
        id: r.try_get("id")?,
        seq: r.try_get("seq")?,
        occurred_at: r.try_get("occurred_at")?,
        action: r.try_get("action")?,
        actor_user_id: r.try_get("actor_user_id")?,
        actor_email: r.try_get("actor_email")?,
        actor_key_id: r.try_get("actor_key_id")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        target_type: r.try_get("target_type")?,
        target_id: r.try_get("target_id")?,
        metadata: r.try_get("metadata")?,
        policy_ids: r.try_get("policy_ids")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        message: r.try_get("message")?,
    })
}

/// Audit entries in the window under the bound; the subject matches the actor's email, the
/// client IP or the target id.
pub async fn search_audit(tx: &mut TenantTx, b: &SearchBounds) -> StoreResult<Vec<AuditEventRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "{} WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
         AND (occurred_at < $4 OR (occurred_at = $4 AND id < $5)) \
         AND ($6 = '' OR actor_email = $6 OR ip = $6 OR target_id = $6) \
         AND ($7 = '' OR LOWER({AUDIT_MESSAGE}) LIKE $7 ESCAPE '\\') \
         ORDER BY occurred_at DESC, id DESC LIMIT $8",
        audit_select()
    ))
    .bind(org_id)
    .bind(b.from.clone())
    .bind(b.to.clone())
    .bind(b.at.clone())
    .bind(b.tie.clone())
    .bind(b.subject.clone())
    .bind(b.like.clone())
    .bind(b.limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(audit_from_row).collect()
}

pub async fn find_audit(tx: &mut TenantTx, id: &str) -> StoreResult<Option<AuditEventRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!("{} WHERE org_id = $1 AND id = $2", audit_select()))
        .bind(org_id)
        .bind(id.to_owned())
        .fetch_optional(tx.conn())
        .await?
        .as_ref()
        .map(audit_from_row)
        .transpose()
}

/// A trail event with the message search matches (`type connector.operation outcome`).
#[derive(Debug, Clone)]
pub struct TrailEventRow {
    pub id: String,
    pub agent_id: String,
    pub event_id: String,
    pub source: String,
    pub event_type: String,
    pub occurred_at: String,
    pub received_at: String,
    pub connector: Option<String>,
    pub operation: Option<String>,
    pub decision_id: Option<String>,
    pub outcome: Option<String>,
    pub config_hash: Option<String>,
    pub details: String,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub message: String,
}

const TRAIL_MESSAGE: &str = "(type || COALESCE(' ' || connector, '') || \
     COALESCE('.' || operation, '') || COALESCE(' ' || outcome, ''))";

fn trail_select() -> String {
    format!(
        "SELECT id, agent_id, event_id, source, type, occurred_at, received_at, connector, \
         operation, decision_id, outcome, config_hash, details, seq, prev_hash, hash, \
         {TRAIL_MESSAGE} AS message FROM agent_events"
    )
}

fn trail_from_row(r: &AnyRow) -> StoreResult<TrailEventRow> {
    Ok(TrailEventRow {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        event_id: r.try_get("event_id")?,
        source: r.try_get("source")?,
        event_type: r.try_get("type")?,
        occurred_at: r.try_get("occurred_at")?,
        received_at: r.try_get("received_at")?,
        connector: r.try_get("connector")?,
        operation: r.try_get("operation")?,
        decision_id: r.try_get("decision_id")?,
        outcome: r.try_get("outcome")?,
        config_hash: r.try_get("config_hash")?,
        details: r.try_get("details")?,
        seq: r.try_get("seq")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        message: r.try_get("message")?,
    })
}

/// Trail events in the window under the bound. `kinds` is `all`, `drift` (only
/// `drift.detected`) or `other`; the subject matches the agent (`agent:<id>` or the bare id)
/// or the connector.
pub async fn search_trail(
    tx: &mut TenantTx,
    b: &SearchBounds,
    kinds: &str,
) -> StoreResult<Vec<TrailEventRow>> {
    let org_id = tx.org_id().to_owned();
    let agent = b
        .subject
        .strip_prefix("agent:")
        .unwrap_or(&b.subject)
        .to_owned();
    let rows = sqlx::query(&format!(
        "{} WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
         AND (occurred_at < $4 OR (occurred_at = $4 AND id < $5)) \
         AND ($6 = '' OR agent_id = $9 OR connector = $6) \
         AND ($7 = '' OR LOWER({TRAIL_MESSAGE}) LIKE $7 ESCAPE '\\') \
         AND ($10 = 'all' OR ($10 = 'drift' AND type = 'drift.detected') \
              OR ($10 = 'other' AND type <> 'drift.detected')) \
         ORDER BY occurred_at DESC, id DESC LIMIT $8",
        trail_select()
    ))
    .bind(org_id)
    .bind(b.from.clone())
    .bind(b.to.clone())
    .bind(b.at.clone())
    .bind(b.tie.clone())
    .bind(b.subject.clone())
    .bind(b.like.clone())
    .bind(b.limit)
    .bind(agent)
    .bind(kinds.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(trail_from_row).collect()
}

pub async fn find_trail(tx: &mut TenantTx, id: &str) -> StoreResult<Option<TrailEventRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!("{} WHERE org_id = $1 AND id = $2", trail_select()))
        .bind(org_id)
        .bind(id.to_owned())
        .fetch_optional(tx.conn())
        .await?
        .as_ref()
        .map(trail_from_row)
        .transpose()
}

// Alert links --------------------------------------------------------------------------------

/// A link from an event to an alert, with the alert's headline.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub alert_id: String,
    pub title: String,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub linked_by: String,
    pub linked_at: String,
}

/// Links `event_id` (a public id) to `alert_id`; `false` when the link exists.
pub async fn insert_link(
    tx: &mut TenantTx,
    event_id: &str,
    alert_id: &str,
    linked_by: &str,
    linked_at: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO siem_event_links (org_id, event_id, alert_id, linked_by, linked_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, event_id, alert_id) DO NOTHING",
    )
    .bind(tx.org_id().to_owned())
    .bind(event_id.to_owned())
    .bind(alert_id.to_owned())
    .bind(linked_by.to_owned())
    .bind(linked_at.to_owned())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The alerts an event is linked to, oldest link first.
pub async fn links_of(tx: &mut TenantTx, event_id: &str) -> StoreResult<Vec<LinkRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT l.alert_id, a.title, a.kind, a.severity, a.status, l.linked_by, l.linked_at \
         FROM siem_event_links l JOIN alerts a ON a.org_id = l.org_id AND a.id = l.alert_id \
         WHERE l.org_id = $1 AND l.event_id = $2 ORDER BY l.linked_at, l.alert_id",
    )
    .bind(org_id)
    .bind(event_id.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LinkRow {
                alert_id: r.try_get("alert_id")?,
                title: r.try_get("title")?,
                kind: r.try_get("kind")?,
                severity: r.try_get("severity")?,
                status: r.try_get("status")?,
                linked_by: r.try_get("linked_by")?,
                linked_at: r.try_get("linked_at")?,
            })
        })
        .collect()
}
