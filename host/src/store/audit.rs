//! The append-only audit log table. Hash-chain logic lives in `crate::audit`; this module only
//! reads and inserts rows.

use super::{StoreResult, TenantTx};
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct AuditRow {
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
    /// JSON text.
    pub metadata: String,
    /// JSON array text.
    pub policy_ids: String,
    pub prev_hash: String,
    pub hash: String,
}

fn from_row(r: &AnyRow) -> StoreResult<AuditRow> {
    Ok(AuditRow {
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
    })
}

const COLUMNS: &str = "id, seq, occurred_at, action, actor_user_id, actor_email, actor_key_id, \
     ip, user_agent, target_type, target_id, metadata, policy_ids, prev_hash, hash";

/// The chain head (last entry's seq and hash), if any.
pub async fn head(tx: &mut TenantTx) -> StoreResult<Option<(i64, String)>> {
    let org_id = tx.org_id().to_owned();
    let row =
        sqlx::query("SELECT seq, hash FROM audit_log WHERE org_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(org_id)
            .fetch_optional(tx.conn())
            .await?;
    row.map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?)))
        .transpose()
}

pub async fn insert(tx: &mut TenantTx, e: &AuditRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO audit_log (org_id, {COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&e.id)
    .bind(e.seq)
    .bind(&e.occurred_at)
    .bind(&e.action)
    .bind(&e.actor_user_id)
    .bind(&e.actor_email)
    .bind(&e.actor_key_id)
    .bind(&e.ip)
    .bind(&e.user_agent)
    .bind(&e.target_type)
    .bind(&e.target_id)
    .bind(&e.metadata)
    .bind(&e.policy_ids)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

/// Filters for listing; all optional. Results are newest first, paged by `before_seq`.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

pub async fn list(tx: &mut TenantTx, f: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
    // Optional filters are written as `($n IS NULL OR col = $n)` so the statement text is fixed.
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 \
         AND ($2 IS NULL OR action = $2) \
         AND ($3 IS NULL OR actor_email = $3 OR actor_user_id = $3 OR actor_key_id = $3) \
         AND ($4 IS NULL OR target_type = $4) \
         AND ($5 IS NULL OR target_id = $5) \
         AND ($6 IS NULL OR occurred_at >= $6) \
         AND ($7 IS NULL OR occurred_at < $7) \
         AND ($8 IS NULL OR seq < $8) \
         ORDER BY seq DESC LIMIT $9"
    ))
    .bind(org_id)
    .bind(&f.action)
    .bind(&f.actor)
    .bind(&f.target_type)
    .bind(&f.target_id)
    .bind(&f.since)
    .bind(&f.until)
    .bind(f.before_seq)
    .bind(f.limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Entries in chain order, `limit` at a time after `after_seq` (for verification).
pub async fn page_in_order(
    tx: &mut TenantTx,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<AuditRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .bind(org_id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Entries with `since <= occurred_at < until` (either bound optional), in chain order, at most
/// `limit` (auditor exports).
pub async fn in_period(
    tx: &mut TenantTx,
    since: Option<&str>,
    until: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<AuditRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 \
         AND ($2 = '' OR occurred_at >= $2) AND ($3 = '' OR occurred_at < $3) \
         ORDER BY seq LIMIT $4"
    ))
    .bind(org_id)
    .bind(since.unwrap_or(""))
    .bind(until.unwrap_or(""))
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
