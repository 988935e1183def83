//! Lifecycle events: the append-only record of each state change of a governed record (a
//! compliance policy today), for its history and for event timelines.

use super::{StoreResult, TenantTx};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct LifecycleEvent {
    pub id: String,
    pub subject_type: String,
    pub subject_id: String,
    pub event: String,
    pub version: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: String,
    pub actor_user_id: Option<String>,
    pub actor_email: Option<String>,
    pub occurred_at: String,
}

pub async fn insert(tx: &mut TenantTx, e: &LifecycleEvent) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO lifecycle_events (org_id, id, subject_type, subject_id, event, version, \
         from_status, to_status, note, actor_user_id, actor_email, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.org_id().to_owned())
    .bind(&e.id)
    .bind(&e.subject_type)
    .bind(&e.subject_id)
    .bind(&e.event)
    .bind(e.version)
    .bind(&e.from_status)
    .bind(&e.to_status)
    .bind(&e.note)
    .bind(&e.actor_user_id)
    .bind(&e.actor_email)
    .bind(&e.occurred_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A subject's events, oldest first, after the `(occurred_at, id)` cursor.
pub async fn for_subject(
    tx: &mut TenantTx,
    subject_type: &str,
    subject_id: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> StoreResult<Vec<LifecycleEvent>> {
    let org_id = tx.org_id().to_owned();
    let (after_at, after_id) = after.unwrap_or(("", ""));
    let rows = sqlx::query(
        "SELECT id, subject_type, subject_id, event, version, from_status, to_status, note, \
         actor_user_id, actor_email, occurred_at FROM lifecycle_events \
         WHERE org_id = $1 AND subject_type = $2 AND subject_id = $3 \
         AND (occurred_at > $4 OR (occurred_at = $4 AND id > $5)) \
         ORDER BY occurred_at, id LIMIT $6",
    )
    .bind(org_id)
    .bind(subject_type)
    .bind(subject_id)
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LifecycleEvent {
                id: r.try_get("id")?,
                subject_type: r.try_get("subject_type")?,
                subject_id: r.try_get("subject_id")?,
                event: r.try_get("event")?,
                version: r.try_get("version")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                note: r.try_get("note")?,
                actor_user_id: r.try_get("actor_user_id")?,
                actor_email: r.try_get("actor_email")?,
                occurred_at: r.try_get("occurred_at")?,
            })
        })
        .collect()
}
