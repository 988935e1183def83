//! Opening the database: run migrations as the owner, then open the app pool.
//!
//! PostgreSQL: migrations run on the URL's own (owner) connection. The app pool connects with the
//! same URL and immediately `SET ROLE grc_app`, a role created by the migrations that owns no
//! table and lacks BYPASSRLS, so every app query is subject to row-level security. A deployment
//! may instead give the app a separate login (`GRC_DATABASE_APP_URL`), see docs/decisions.

use super::{Backend, Db};
use anyhow::Context;
use sqlx::{
    ConnectOptions, Connection, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    postgres::PgConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
};
use std::{str::FromStr, time::Duration};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Runs migrations and returns the app pool.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://… or postgres://…)");
    };
    match backend {
        Backend::Sqlite => {
            prepare_sqlite_dir(url)?;
            let mut conn = sqlite_options(url)?.connect().await?;
            SQLITE_MIGRATIONS
                .run(&mut conn)
                .await
                .context("running SQLite migrations")?;
            conn.close().await?;
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            POSTGRES_MIGRATIONS
                .run(&mut conn)
                .await
                .context("running PostgreSQL migrations")?;
            conn.close().await?;
        }
    }

    let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
    let pool = match backend {
        // One connection: SQLite allows a single writer, and a pool of one turns lock contention
        // into orderly queueing instead of SQLITE_BUSY errors mid-transaction.
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            }),
        Backend::Postgres => AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET ROLE grc_app").await?;
                    Ok(())
                })
            }),
    };
    let pool = pool
        .connect_with(options)
        .await
        .context("opening the app pool")?;
    Ok(Db::new(pool, backend))
}

fn sqlite_options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .disable_statement_logging())
}

fn prepare_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}
