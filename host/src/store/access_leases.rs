//! The statements behind leases on cached access state (docs/decisions/0029): the instance-wide
//! access epoch and each server's lease. The rules that use them live in
//! [`super::access_watch`].

use super::{Backend, StoreResult};
use sqlx::{AnyConnection, AnyPool};
use std::time::Duration;

/// The database's clock, in milliseconds since the Unix epoch. Every lease expiry is written and
/// compared on this one clock, so servers' own clocks never meet.
fn db_now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    }
}

/// Bumps the access epoch inside the transaction that changed some org's access state, and
/// returns the new value. The row is locked until that transaction ends, so it is taken last.
pub async fn bump_epoch(conn: &mut AnyConnection) -> StoreResult<i64> {
    sqlx::query_scalar("UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch")
        .fetch_one(conn)
        .await
}

/// The current access epoch (committed changes only).
pub async fn epoch(pool: &AnyPool) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT epoch FROM access_epoch WHERE id = 1")
        .fetch_one(pool)
        .await
}

/// Creates or extends this server's lease, `ttl` from now on the database's clock, recording
/// `acked_epoch` as the newest epoch it has invalidated its caches for.
pub async fn renew(
    pool: &AnyPool,
    backend: Backend,
    server_id: &str,
    acked_epoch: i64,
    ttl: Duration,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO server_leases (server_id, acked_epoch, expires_at_ms) \
         VALUES ($1, $2, {now} + $3) \
         ON CONFLICT (server_id) DO UPDATE \
         SET acked_epoch = excluded.acked_epoch, expires_at_ms = excluded.expires_at_ms",
        now = db_now_ms(backend)
    );
    sqlx::query(&sql)
        .bind(server_id)
        .bind(acked_epoch)
        .bind(millis(ttl))
        .execute(pool)
        .await
        .map(|_| ())
}

/// Records that this server has invalidated its caches for `epoch` (its lease is unchanged).
pub async fn ack(pool: &AnyPool, server_id: &str, epoch: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE server_leases SET acked_epoch = $2 WHERE server_id = $1 AND acked_epoch < $2",
    )
    .bind(server_id)
    .bind(epoch)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Gives the lease up (a server shutting down): changes stop waiting for it at once.
pub async fn release(pool: &AnyPool, server_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM server_leases WHERE server_id = $1")
        .bind(server_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Forgets leases that ran out more than `older_than` ago (servers that stopped without
/// releasing theirs).
pub async fn forget_expired(
    pool: &AnyPool,
    backend: Backend,
    older_than: Duration,
) -> StoreResult<u64> {
    let sql = format!(
        "DELETE FROM server_leases WHERE expires_at_ms < {now} - $1",
        now = db_now_ms(backend)
    );
    sqlx::query(&sql)
        .bind(millis(older_than))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
}

/// How many live leases, other than `server_id`'s, have not acknowledged `epoch` yet.
pub async fn unacknowledged(
    pool: &AnyPool,
    backend: Backend,
    server_id: &str,
    epoch: i64,
) -> StoreResult<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM server_leases \
         WHERE server_id <> $1 AND acked_epoch < $2 AND expires_at_ms > {now}",
        now = db_now_ms(backend)
    );
    sqlx::query_scalar(&sql)
        .bind(server_id)
        .bind(epoch)
        .fetch_one(pool)
        .await
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
