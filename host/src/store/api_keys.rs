//! API keys. Only the SHA-256 of a key is stored.

use super::{GlobalTx, StoreResult, TenantTx};
use crate::domain::time;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        key_hash: r.try_get("key_hash")?,
        scopes: r.try_get("scopes")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, org_id, user_id, name, prefix, key_hash, scopes, expires_at, \
     revoked_at, last_used_at, created_by, created_at";

/// A key found by its hash, with its org's access revision read in the same statement (so a
/// cached copy can be checked against later revisions; `access_revisions`).
pub struct FoundKey {
    pub record: ApiKeyRecord,
    pub access_revision: i64,
}

/// Looks a key up by hash before the tenant is known (`app.key_hash` unlocks exactly that row).
pub async fn find_by_hash(tx: &mut GlobalTx, key_hash: &str) -> StoreResult<Option<FoundKey>> {
    tx.unlock("app.key_hash", key_hash).await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, (SELECT r.revision FROM access_revisions r \
         WHERE r.org_id = api_keys.org_id) AS access_revision \
         FROM api_keys WHERE key_hash = $1"
    ))
    .bind(key_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref()
        .map(|r| {
            Ok(FoundKey {
                record: from_row(r)?,
                access_revision: r.try_get("access_revision")?,
            })
        })
        .transpose()
}

/// Records use, at most once a minute per key, to keep authentication mostly read-only.
pub async fn touch(tx: &mut TenantTx, key_id: &str) -> StoreResult<()> {
    let now = chrono::Utc::now();
    let stale_before = time::format(now - chrono::Duration::seconds(60));
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND org_id = $3 \
         AND (last_used_at IS NULL OR last_used_at < $4)",
    )
    .bind(time::format(now))
    .bind(key_id)
    .bind(org_id)
    .bind(stale_before)
    .execute(tx.conn())
    .await
    .map(|_| ())
}

pub async fn insert(tx: &mut TenantTx, key: &ApiKeyRecord) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&key.id)
    .bind(tx.org_id().to_owned())
    .bind(&key.user_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.key_hash)
    .bind(&key.scopes)
    .bind(&key.expires_at)
    .bind(&key.revoked_at)
    .bind(&key.last_used_at)
    .bind(&key.created_by)
    .bind(&key.created_at)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await
}

pub async fn list(tx: &mut TenantTx) -> StoreResult<Vec<ApiKeyRecord>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(tx: &mut TenantTx, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
    let org_id = tx.org_id().to_owned();
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(key_id)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Revokes one key; returns false when it was already revoked or does not exist.
pub async fn revoke(tx: &mut TenantTx, key_id: &str) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(time::now())
    .bind(org_id)
    .bind(key_id)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every live key a user holds in this org (used when a member is removed).
pub async fn revoke_all_for_user(tx: &mut TenantTx, user_id: &str) -> StoreResult<u64> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(time::now())
    .bind(org_id)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    super::access_revisions::bump(tx).await?;
    Ok(done.rows_affected())
}
