//! Just-in-time SSH session requests (issue 19): one row per request, decided once (approved or
//! rejected) and perhaps cancelled; `expired` is computed from the timestamps, never stored.

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct SshSessionRow {
    pub id: String,
    pub asset_id: String,
    pub login: Option<String>,
    pub reason: String,
    pub duration_minutes: i64,
    /// `pending`, `approved`, `rejected` or `cancelled` (as decided).
    pub status: String,
    pub requested_by_user_id: String,
    pub requested_by: String,
    pub requested_at: String,
    pub request_expires_at: String,
    pub decided_by_user_id: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    pub expires_at: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<String>,
}

const COLUMNS: &str = "id, asset_id, login, reason, duration_minutes, status, \
     requested_by_user_id, requested_by, requested_at, request_expires_at, decided_by_user_id, \
     decided_by, decided_at, decision_note, expires_at, cancelled_by, cancelled_at";

/// The effective status in SQL, as `crate::ssh::effective_status` computes it (`$now` is the
/// placeholder of the current time).
fn effective_status_sql(now: &str) -> String {
    format!(
        "(CASE WHEN status = 'pending' AND request_expires_at <= {now} THEN 'expired' \
         WHEN status = 'approved' AND (expires_at IS NULL OR expires_at <= {now}) THEN 'expired' \
         ELSE status END)"
    )
}

fn from_row(r: &AnyRow) -> StoreResult<SshSessionRow> {
    Ok(SshSessionRow {
        id: r.try_get("id")?,
        asset_id: r.try_get("asset_id")?,
        login: r.try_get("login")?,
        reason: r.try_get("reason")?,
        duration_minutes: r.try_get("duration_minutes")?,
        status: r.try_get("status")?,
        requested_by_user_id: r.try_get("requested_by_user_id")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        request_expires_at: r.try_get("request_expires_at")?,
        decided_by_user_id: r.try_get("decided_by_user_id")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
        expires_at: r.try_get("expires_at")?,
        cancelled_by: r.try_get("cancelled_by")?,
        cancelled_at: r.try_get("cancelled_at")?,
    })
}

pub async fn insert(tx: &mut TenantTx, s: &SshSessionRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO ssh_sessions (org_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&s.id)
    .bind(&s.asset_id)
    .bind(&s.login)
    .bind(&s.reason)
    .bind(s.duration_minutes)
    .bind(&s.status)
    .bind(&s.requested_by_user_id)
    .bind(&s.requested_by)
    .bind(&s.requested_at)
    .bind(&s.request_expires_at)
    .bind(&s.decided_by_user_id)
    .bind(&s.decided_by)
    .bind(&s.decided_at)
    .bind(&s.decision_note)
    .bind(&s.expires_at)
    .bind(&s.cancelled_by)
    .bind(&s.cancelled_at)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<SshSessionRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM ssh_sessions WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// How a pending request was answered.
pub struct Decision<'a> {
    /// `approved` or `rejected`.
    pub status: &'a str,
    pub by_user_id: &'a str,
    pub by: &'a str,
    pub note: &'a str,
    pub at: &'a str,
    /// The session's end (approvals only).
    pub expires_at: Option<&'a str>,
}

/// Answers a request that is still pending and unexpired at `d.at`: `false` when it no longer
/// was (answered, cancelled or lapsed meanwhile).
pub async fn decide(tx: &mut TenantTx, id: &str, d: &Decision<'_>) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE ssh_sessions SET status = $1, decided_by_user_id = $2, decided_by = $3, \
         decision_note = $4, decided_at = $5, expires_at = $6 WHERE org_id = $7 AND id = $8 \
         AND status = 'pending' AND request_expires_at > $5",
    )
    .bind(d.status)
    .bind(d.by_user_id)
    .bind(d.by)
    .bind(d.note)
    .bind(d.at)
    .bind(d.expires_at.map(str::to_owned))
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels a session that is pending or approved and not over at `at`: `false` when it no
/// longer was.
pub async fn cancel(tx: &mut TenantTx, id: &str, by: &str, at: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE ssh_sessions SET status = 'cancelled', cancelled_by = $1, cancelled_at = $2 \
         WHERE org_id = $3 AND id = $4 AND ((status = 'pending' AND request_expires_at > $2) \
         OR (status = 'approved' AND expires_at > $2))",
    )
    .bind(by)
    .bind(at)
    .bind(org_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Default, Clone)]
pub struct SessionFilter {
    /// Effective status (`expired` included).
    pub status: Option<String>,
    pub asset_id: Option<String>,
    pub requested_by_user_id: Option<String>,
}

/// Newest first by `(requested_at, id)`, after the cursor.
pub async fn list(
    tx: &mut TenantTx,
    f: &SessionFilter,
    now: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<SshSessionRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let status = effective_status_sql("$8");
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM ssh_sessions WHERE org_id = $1 \
         AND ($2 = '' OR {status} = $2) AND ($3 = '' OR asset_id = $3) \
         AND ($4 = '' OR requested_by_user_id = $4) \
         AND ($5 = '' OR requested_at < $5 OR (requested_at = $5 AND id < $6)) \
         ORDER BY requested_at DESC, id DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(f.status.clone().unwrap_or_default())
    .bind(f.asset_id.clone().unwrap_or_default())
    .bind(f.requested_by_user_id.clone().unwrap_or_default())
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .bind(now.to_owned())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
