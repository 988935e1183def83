//! Alerts: raised by the system, triaged by people. At most one unresolved alert per dedupe key
//! (a partial unique index backs the lookup-then-insert that runs under the org write lock).

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub title: String,
    /// JSON object.
    pub detail: String,
    pub subject_type: String,
    pub subject_id: String,
    pub dedupe_key: String,
    pub occurrences: i64,
    pub assignee_user_id: Option<String>,
    pub ticket_id: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub updated_at: String,
}

const COLUMNS: &str = "id, kind, severity, status, title, detail, subject_type, subject_id, \
    dedupe_key, occurrences, assignee_user_id, ticket_id, first_seen_at, last_seen_at, \
    acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution_note, updated_at";

fn from_row(r: &AnyRow) -> StoreResult<AlertRow> {
    Ok(AlertRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        severity: r.try_get("severity")?,
        status: r.try_get("status")?,
        title: r.try_get("title")?,
        detail: r.try_get("detail")?,
        subject_type: r.try_get("subject_type")?,
        subject_id: r.try_get("subject_id")?,
        dedupe_key: r.try_get("dedupe_key")?,
        occurrences: r.try_get("occurrences")?,
        assignee_user_id: r.try_get("assignee_user_id")?,
        ticket_id: r.try_get("ticket_id")?,
        first_seen_at: r.try_get("first_seen_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        acknowledged_at: r.try_get("acknowledged_at")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        resolved_at: r.try_get("resolved_at")?,
        resolved_by: r.try_get("resolved_by")?,
        resolution_note: r.try_get("resolution_note")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn insert(tx: &mut TenantTx, a: &AlertRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO alerts (org_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&a.id)
    .bind(&a.kind)
    .bind(&a.severity)
    .bind(&a.status)
    .bind(&a.title)
    .bind(&a.detail)
    .bind(&a.subject_type)
    .bind(&a.subject_id)
    .bind(&a.dedupe_key)
    .bind(a.occurrences)
    .bind(&a.assignee_user_id)
    .bind(&a.ticket_id)
    .bind(&a.first_seen_at)
    .bind(&a.last_seen_at)
    .bind(&a.acknowledged_at)
    .bind(&a.acknowledged_by)
    .bind(&a.resolved_at)
    .bind(&a.resolved_by)
    .bind(&a.resolution_note)
    .bind(&a.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<AlertRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The unresolved alert with this dedupe key, if any.
pub async fn find_live(tx: &mut TenantTx, dedupe_key: &str) -> StoreResult<Option<AlertRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE org_id = $1 AND dedupe_key = $2 \
         AND status <> 'resolved'"
    ))
    .bind(org_id)
    .bind(dedupe_key)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Writes back everything a raise or a triage step may change.
pub async fn update(tx: &mut TenantTx, a: &AlertRow) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE alerts SET severity = $1, status = $2, title = $3, detail = $4, \
         occurrences = $5, assignee_user_id = $6, ticket_id = $7, last_seen_at = $8, \
         acknowledged_at = $9, acknowledged_by = $10, resolved_at = $11, resolved_by = $12, \
         resolution_note = $13, updated_at = $14 WHERE org_id = $15 AND id = $16",
    )
    .bind(&a.severity)
    .bind(&a.status)
    .bind(&a.title)
    .bind(&a.detail)
    .bind(a.occurrences)
    .bind(&a.assignee_user_id)
    .bind(&a.ticket_id)
    .bind(&a.last_seen_at)
    .bind(&a.acknowledged_at)
    .bind(&a.acknowledged_by)
    .bind(&a.resolved_at)
    .bind(&a.resolved_by)
    .bind(&a.resolution_note)
    .bind(&a.updated_at)
    .bind(org_id)
    .bind(&a.id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// List filters; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub kind: Option<String>,
    pub assignee: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
}

/// Newest first by `(first_seen_at, id)`, after the cursor.
pub async fn list(
    tx: &mut TenantTx,
    f: &AlertFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<AlertRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE org_id = $1 \
         AND ($2 = '' OR status = $2) AND ($3 = '' OR severity = $3) AND ($4 = '' OR kind = $4) \
         AND ($5 = '' OR assignee_user_id = $5) AND ($6 = '' OR subject_type = $6) \
         AND ($7 = '' OR subject_id = $7) \
         AND ($8 = '' OR first_seen_at < $8 OR (first_seen_at = $8 AND id < $9)) \
         ORDER BY first_seen_at DESC, id DESC LIMIT $10"
    ))
    .bind(org_id)
    .bind(f.status.clone().unwrap_or_default())
    .bind(f.severity.clone().unwrap_or_default())
    .bind(f.kind.clone().unwrap_or_default())
    .bind(f.assignee.clone().unwrap_or_default())
    .bind(f.subject_type.clone().unwrap_or_default())
    .bind(f.subject_id.clone().unwrap_or_default())
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
