//! The agent action trail (append-only, hash-chained per org) and the aggregates compliance
//! packages are made from. Aggregation happens in SQL: a package over a million events reads a
//! few dozen rows.

use super::{StoreResult, TenantTx};
use crate::runtime::trail::{EventDraft, TrailEvent};
use sqlx::{Row, any::AnyRow};

const COLUMNS: &str = "id, agent_id, event_id, source, type, occurred_at, received_at, \
     connector, operation, decision_id, outcome, config_hash, details, seq, prev_hash, hash";

fn from_row(r: &AnyRow) -> StoreResult<TrailEvent> {
    let source: String = r.try_get("source")?;
    let details: String = r.try_get("details")?;
    Ok(TrailEvent {
        id: r.try_get("id")?,
        agent_id: r.try_get("agent_id")?,
        draft: EventDraft {
            event_id: r.try_get("event_id")?,
            source: if source == "server" {
                "server"
            } else {
                "agent"
            },
            event_type: r.try_get("type")?,
            occurred_at: r.try_get("occurred_at")?,
            connector: r.try_get("connector")?,
            operation: r.try_get("operation")?,
            decision_id: r.try_get("decision_id")?,
            outcome: r.try_get("outcome")?,
            config_hash: r.try_get("config_hash")?,
            details: serde_json::from_str(&details).unwrap_or_default(),
        },
        received_at: r.try_get("received_at")?,
        seq: r.try_get("seq")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// The org's last chained event: `(seq, hash)`.
pub async fn head(tx: &mut TenantTx) -> StoreResult<Option<(i64, String)>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(
        "SELECT seq, hash FROM agent_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?)))
        .transpose()
}

/// Which of `event_ids` the agent's trail already holds (the caller holds the org write lock,
/// so nothing is inserted between this and its insert).
pub async fn known_event_ids(
    tx: &mut TenantTx,
    agent_id: &str,
    event_ids: &[String],
) -> StoreResult<Vec<String>> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let org_id = tx.org_id().to_owned();
    let placeholders: Vec<String> = (0..event_ids.len())
        .map(|i| format!("${}", i + 3))
        .collect();
    let sql = format!(
        "SELECT event_id FROM agent_events WHERE org_id = $1 AND agent_id = $2 AND event_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(org_id).bind(agent_id.to_owned());
    for id in event_ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter().map(|r| r.try_get("event_id")).collect()
}

pub async fn insert(tx: &mut TenantTx, e: &TrailEvent) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO agent_events (org_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&e.id)
    .bind(&e.agent_id)
    .bind(&e.draft.event_id)
    .bind(e.draft.source)
    .bind(&e.draft.event_type)
    .bind(&e.draft.occurred_at)
    .bind(&e.received_at)
    .bind(&e.draft.connector)
    .bind(&e.draft.operation)
    .bind(&e.draft.decision_id)
    .bind(&e.draft.outcome)
    .bind(&e.draft.config_hash)
    .bind(e.draft.details.to_string())
    .bind(e.seq)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// One agent's events, newest first by `seq`, before `before_seq` (0: from the newest).
pub async fn list(
    tx: &mut TenantTx,
    agent_id: &str,
    event_type: Option<&str>,
    before_seq: i64,
    limit: i64,
) -> StoreResult<Vec<TrailEvent>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM agent_events WHERE org_id = $1 AND agent_id = $2 \
         AND ($3 = '' OR type = $3) AND ($4 = 0 OR seq < $4) ORDER BY seq DESC LIMIT $5"
    ))
    .bind(org_id)
    .bind(agent_id.to_owned())
    .bind(event_type.unwrap_or_default().to_owned())
    .bind(before_seq)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The org's events in chain order after `after_seq`, for verification.
pub async fn page_in_order(
    tx: &mut TenantTx,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<TrailEvent>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM agent_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .bind(org_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

// Aggregates ---------------------------------------------------------------------------------

/// Events of one type (source `agent` or `server`), with the first and last time.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeCount {
    pub source: String,
    pub event_type: String,
    pub count: i64,
    pub first: Option<String>,
    pub last: Option<String>,
}

pub async fn counts_by_type(tx: &mut TenantTx, agent_id: &str) -> StoreResult<Vec<TypeCount>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT source, type, COUNT(*) AS n, MIN(occurred_at) AS first, MAX(occurred_at) AS last \
         FROM agent_events WHERE org_id = $1 AND agent_id = $2 GROUP BY source, type \
         ORDER BY source, type",
    )
    .bind(org_id)
    .bind(agent_id.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TypeCount {
                source: r.try_get("source")?,
                event_type: r.try_get("type")?,
                count: r.try_get("n")?,
                first: r.try_get("first")?,
                last: r.try_get("last")?,
            })
        })
        .collect()
}

/// Calls of one connector operation with one outcome (`connector.called`), or drift of one kind
/// (`drift.detected`, the kind in `outcome`).
#[derive(Debug, Clone, PartialEq)]
pub struct CallCount {
    pub connector: String,
    pub operation: String,
    pub outcome: String,
    pub count: i64,
}

pub async fn counts_by_call(
    tx: &mut TenantTx,
    agent_id: &str,
    event_type: &str,
) -> StoreResult<Vec<CallCount>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT COALESCE(connector, '') AS connector, COALESCE(operation, '') AS operation, \
         COALESCE(outcome, '') AS outcome, COUNT(*) AS n FROM agent_events \
         WHERE org_id = $1 AND agent_id = $2 AND type = $3 \
         GROUP BY connector, operation, outcome ORDER BY connector, operation, outcome",
    )
    .bind(org_id)
    .bind(agent_id.to_owned())
    .bind(event_type.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CallCount {
                connector: r.try_get("connector")?,
                operation: r.try_get("operation")?,
                outcome: r.try_get("outcome")?,
                count: r.try_get("n")?,
            })
        })
        .collect()
}

/// Decisions by verdict and effective status (`expired` for a pending one past its expiry).
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictCount {
    pub verdict: String,
    pub status: String,
    pub count: i64,
}

pub async fn verdict_counts(
    tx: &mut TenantTx,
    agent_id: &str,
    now: &str,
) -> StoreResult<Vec<VerdictCount>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT verdict, CASE WHEN status = 'pending' AND expires_at <= $3 THEN 'expired' \
         ELSE status END AS effective, COUNT(*) AS n FROM agent_decisions \
         WHERE org_id = $1 AND agent_id = $2 GROUP BY verdict, effective ORDER BY verdict, effective",
    )
    .bind(org_id)
    .bind(agent_id.to_owned())
    .bind(now.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VerdictCount {
                verdict: r.try_get("verdict")?,
                status: r.try_get("effective")?,
                count: r.try_get("n")?,
            })
        })
        .collect()
}
