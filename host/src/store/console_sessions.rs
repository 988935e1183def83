//! Web console sessions (issue 17): found by the hash of the cookie's token before the tenant is
//! known (PostgreSQL shows exactly that row once `app.session_hash` is set), written and revoked
//! in the org's transaction.

use super::{GlobalTx, StoreResult, TenantTx};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id_hash: String,
    pub org_id: String,
    pub user_id: String,
    /// `api_key` or `jwt`: what the session was opened with.
    pub credential: String,
    /// The hash of the API key the session was opened with (empty for a JWT session).
    pub key_hash: String,
    /// The scopes a JWT session's token granted (none for a key session: the key's own apply).
    pub scopes: Option<String>,
    pub csrf_token: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

pub async fn insert(tx: &mut TenantTx, s: &SessionRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, org_id, user_id, key_hash, csrf_token, \
         created_at, expires_at, revoked_at, credential, scopes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
    )
    .bind(&s.id_hash)
    .bind(tx.org_id().to_owned())
    .bind(&s.user_id)
    .bind(&s.key_hash)
    .bind(&s.csrf_token)
    .bind(&s.created_at)
    .bind(&s.expires_at)
    .bind(&s.credential)
    .bind(&s.scopes)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The session whose token hashes to `id_hash`, whatever its state.
pub async fn find(tx: &mut GlobalTx, id_hash: &str) -> StoreResult<Option<SessionRow>> {
    tx.unlock("app.session_hash", id_hash).await?;
    let row = sqlx::query(
        "SELECT id_hash, org_id, user_id, key_hash, csrf_token, created_at, expires_at, \
         revoked_at, credential, scopes FROM console_sessions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            id_hash: r.try_get("id_hash")?,
            org_id: r.try_get("org_id")?,
            user_id: r.try_get("user_id")?,
            credential: r.try_get("credential")?,
            key_hash: r.try_get("key_hash")?,
            scopes: r.try_get("scopes")?,
            csrf_token: r.try_get("csrf_token")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    })
    .transpose()
}

/// Ends a session; `false` when it was already ended.
pub async fn revoke(tx: &mut TenantTx, id_hash: &str, at: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE console_sessions SET revoked_at = $3 WHERE org_id = $1 AND id_hash = $2 \
         AND revoked_at IS NULL",
    )
    .bind(tx.org_id().to_owned())
    .bind(id_hash)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
