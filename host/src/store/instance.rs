//! Instance-wide state (not tenant-owned): e.g. whether first-start bootstrap has run.

use super::{GlobalTx, StoreResult};
use sqlx::Row;

pub async fn get(tx: &mut GlobalTx, key: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT value FROM instance_state WHERE key = $1")
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
    row.map(|r| r.try_get("value")).transpose()
}

pub async fn insert(tx: &mut GlobalTx, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO instance_state (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(value)
        .execute(tx.conn())
        .await
        .map(|_| ())
}
