//! Opening the database: run migrations as the owner, then open the app pool.
//!
//! PostgreSQL: migrations run on the URL's own (owner) connection. The app pool logs in as
//! `grc_app`, a role created by the migrations that owns no table and lacks BYPASSRLS, so every
//! app query is subject to row-level security, and no statement can switch back to the owner
//! (there is no `SET ROLE` to `RESET`). `GRC_DATABASE_APP_URL` gives the app login explicitly
//! (with a password); by default it is the owner URL with `grc_app` as the user and no password.
//! See docs/decisions/0002.

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

/// Opens a database that must already exist (every CLI command except `serve`): a mistyped
/// path or a command run from another directory fails instead of creating an empty database.
pub async fn open_existing(
    url: &str,
    app_url: Option<&str>,
    max_connections: u32,
) -> anyhow::Result<Db> {
    if url.starts_with("sqlite:") {
        let path = sqlite_path(url);
        anyhow::ensure!(
            path == ":memory:" || std::path::Path::new(path).exists(),
            "no database at {path}: start `grc serve` once to create it, or point \
             GRC_DATABASE_URL at the existing one"
        );
    }
    connect(url, app_url, max_connections).await
}

/// The owner URL with its credentials replaced by the `grc_app` login.
fn app_login_url(owner_url: &str) -> String {
    let Some((scheme, rest)) = owner_url.split_once("://") else {
        return owner_url.to_owned();
    };
    let host_and_more = match rest.split_once('/') {
        Some((authority, path)) => match authority.rsplit_once('@') {
            Some((_, host)) => format!("{host}/{path}"),
            None => rest.to_owned(),
        },
        None => rest.rsplit_once('@').map_or(rest, |(_, h)| h).to_owned(),
    };
    format!("{scheme}://{APP_ROLE}@{host_and_more}")
}

/// The role every app query runs as.
const APP_ROLE: &str = "grc_app";

/// Fails closed when the app login could bypass row-level security.
async fn refuse_privileged_app_login(pool: &sqlx::AnyPool) -> anyhow::Result<()> {
    let (user, privileged): (String, bool) = sqlx::query_as(
        "SELECT current_user::text, (rolsuper OR rolbypassrls) FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await
    .context("checking the app login's privileges")?;
    anyhow::ensure!(
        !privileged,
        "the app pool logs in as {user}, which is a superuser or bypasses row-level security; \
         use the grc_app role (GRC_DATABASE_APP_URL)"
    );
    Ok(())
}

/// Runs migrations (as the URL's user, the owner) and returns the app pool, creating a SQLite
/// database if missing. On PostgreSQL the app pool logs in as `grc_app`: with `app_url` when
/// given (`GRC_DATABASE_APP_URL`), else with the owner URL's host, port and database and no
/// password (trust, peer or certificate authentication).
pub async fn connect(url: &str, app_url: Option<&str>, max_connections: u32) -> anyhow::Result<Db> {
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
    // No ping before each acquire (sqlx's default): it doubled the round trips of every
    // statement, the request path's one freshness read included (docs/benchmarks.md). A
    // connection that died while idle fails its next statement once and is then replaced;
    // connections are recycled well before servers drop idle ones (`idle_timeout`, 10 min).
    let pool = match backend {
        // One connection: SQLite allows a single writer, and a pool of one turns lock contention
        // into orderly queueing instead of SQLITE_BUSY errors mid-transaction.
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
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
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10)),
    };
    let options = match backend {
        Backend::Sqlite => options,
        Backend::Postgres => {
            let app_url = app_url.map_or_else(|| app_login_url(url), str::to_owned);
            AnyConnectOptions::from_str(&app_url)?.disable_statement_logging()
        }
    };
    let pool = pool.connect_with(options.clone()).await.context(
        "opening the app pool (on PostgreSQL it logs in as grc_app: see \
             docs/decisions/0002 for GRC_DATABASE_APP_URL)",
    )?;
    if backend == Backend::Postgres {
        refuse_privileged_app_login(&pool).await?;
    }
    let readers = match backend {
        Backend::Sqlite if sqlite_path(url) != ":memory:" => AnyPoolOptions::new()
            .max_connections(SQLITE_READERS)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("opening the SQLite read pool")?,
        _ => pool.clone(),
    };
    Ok(Db::new(pool, readers, backend))
}

/// Read-only SQLite connections (WAL lets them read while the one writer writes).
const SQLITE_READERS: u32 = 4;

fn sqlite_options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .disable_statement_logging())
}

/// The file path of a `sqlite://path?options` URL.
fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
}

fn prepare_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let path = sqlite_path(url);
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::app_login_url;

    #[test]
    fn the_app_login_replaces_the_owner_credentials() {
        assert_eq!(
            app_login_url("postgres://postgres@127.0.0.1:5432/grc?sslmode=disable"),
            "postgres://grc_app@127.0.0.1:5432/grc?sslmode=disable"
        );
        assert_eq!(
            app_login_url("postgresql://owner:s3cr%40t@db.internal/prod"),
            "postgresql://grc_app@db.internal/prod"
        );
        assert_eq!(
            app_login_url("postgres://localhost/grc"),
            "postgres://grc_app@localhost/grc"
        );
    }
}
