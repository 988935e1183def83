//! Storage: one SQL dialect over sqlx's `Any` driver, for SQLite (embedded default) and
//! PostgreSQL (production, with row-level security). Query code lives here, one module per
//! aggregate; HTTP types never appear in this module.
//!
//! Tenant-owned data is only reachable through a [`TenantTx`], a transaction that has already set
//! `app.tenant_id` (PostgreSQL RLS) and that hands its org id to every query as the application-
//! level filter. Forgetting the tenant is therefore a type error, not a data leak.

pub mod access_leases;
pub mod access_policies;
pub mod access_revisions;
pub mod access_watch;
pub mod agents;
pub mod alerts;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auditor_exports;
pub mod compliance;
pub mod compliance_policies;
pub mod connect;
pub mod console_sessions;
pub mod custom_frameworks;
pub mod discovery;
pub mod evidence;
pub mod instance;
pub mod intune;
pub mod lifecycle_events;
pub mod memberships;
pub mod orgs;
pub mod packages;
pub mod plugins;
pub mod repositories;
pub mod runtime;
pub mod scans;
pub mod scim_connections;
pub mod scim_directory;
pub mod siem;
pub mod ssh_sessions;
pub mod tickets;
pub mod timeline;
pub mod trail;
pub mod users;
pub mod webhooks;

use sqlx::{Any, AnyPool, Transaction};
use std::sync::Arc;

pub use connect::{connect, open_existing};

/// Which database a [`Db`] talks to; a handful of statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The application's connection pools. On PostgreSQL both are the same pool, and every
/// connection runs as `grc_app`. On SQLite (WAL) writes go through one writer connection and
/// reads through a small pool of read-only connections, so a read never queues behind a write.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    readers: AnyPool,
    backend: Backend,
    revisions: Arc<access_revisions::FreshRevisions>,
    watch: Arc<access_watch::AccessWatch>,
}

/// A transaction scoped to one tenant.
pub struct TenantTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    org_id: String,
    watch: Arc<access_watch::AccessWatch>,
    /// Set by [`access_revisions`] when this transaction changes the org's access state: the
    /// commit then bumps the access epoch and waits for the servers' acknowledgements.
    access_changed: bool,
}

/// A transaction with no tenant: it can only see global tables (users, instance state), plus
/// whatever a narrow setting such as `app.key_hash` unlocks.
pub struct GlobalTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    watch: Arc<access_watch::AccessWatch>,
}

pub type StoreResult<T> = Result<T, sqlx::Error>;

impl Db {
    /// `pool` writes (and reads); `readers` only reads (it may be the same pool).
    pub fn new(pool: AnyPool, readers: AnyPool, backend: Backend) -> Self {
        let timing = access_watch::LeaseTiming::default();
        let watch = access_watch::AccessWatch::new(readers.clone(), backend, timing);
        Db {
            pool,
            readers,
            backend,
            revisions: Arc::default(),
            watch: Arc::new(watch),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The read-only pool (on SQLite, never the writer connection).
    pub fn readers(&self) -> &AnyPool {
        &self.readers
    }

    /// The org's access revision as of a read that began after this call (`None`: no such org).
    /// Concurrent callers share reads; see [`access_revisions::FreshRevisions`].
    /// While this server holds a live lease (docs/decisions/0029), a revision read earlier in
    /// the current generation is returned with no read at all.
    pub async fn fresh_access_revision(&self, org_id: &str) -> StoreResult<Option<i64>> {
        self.revisions
            .read(&self.readers, &self.watch, org_id)
            .await
    }

    /// Holds this server's lease on cached access state until `stop` is cancelled (run by
    /// `grc serve`; CLI commands hold none and always read).
    pub async fn keep_access_lease(&self, stop: tokio_util::sync::CancellationToken) {
        self.watch.keep_lease(self.pool.clone(), stop).await;
    }

    /// Begins a read transaction for `org_id`, setting the RLS tenant on PostgreSQL. On SQLite
    /// its connection is read-only: writing through it fails.
    pub async fn tenant_tx(&self, org_id: &str) -> StoreResult<TenantTx> {
        self.begin_tenant(&self.readers, org_id).await
    }

    /// Begins a write transaction for `org_id`, with the org's write lock taken before any
    /// statement that could take another lock (see [`TenantTx::lock_org`]).
    pub async fn write_tx(&self, org_id: &str) -> StoreResult<TenantTx> {
        let mut tx = self.begin_tenant(&self.pool, org_id).await?;
        tx.lock_org().await?;
        Ok(tx)
    }

    async fn begin_tenant(&self, pool: &AnyPool, org_id: &str) -> StoreResult<TenantTx> {
        let mut tx = pool.begin().await?;
        set_local(&mut tx, self.backend, "app.tenant_id", org_id).await?;
        Ok(TenantTx {
            tx,
            backend: self.backend,
            org_id: org_id.to_owned(),
            watch: self.watch.clone(),
            access_changed: false,
        })
    }

    /// Begins a read transaction with no tenant set (lookups before the tenant is known).
    pub async fn global_tx(&self) -> StoreResult<GlobalTx> {
        Ok(GlobalTx {
            tx: self.readers.begin().await?,
            backend: self.backend,
            watch: self.watch.clone(),
        })
    }

    /// Begins a write transaction with no tenant set (instance state, bootstrap).
    pub async fn global_write_tx(&self) -> StoreResult<GlobalTx> {
        Ok(GlobalTx {
            tx: self.pool.begin().await?,
            backend: self.backend,
            watch: self.watch.clone(),
        })
    }

    /// Readiness probe: a trivial round trip.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

impl TenantTx {
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Serializes this org's writers (the audit chain is one sequence per org) until the
    /// transaction ends. On PostgreSQL it is a transaction-scoped advisory lock, which conflicts
    /// with nothing but itself: not with the `FOR KEY SHARE` row locks that every foreign-key
    /// insert takes on `orgs`, so it cannot deadlock with them (docs/decisions/0012). Taking it
    /// again in the same transaction is free. SQLite needs nothing: one writer connection.
    pub async fn lock_org(&mut self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(org_lock_key(&self.org_id))
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Marks the transaction as changing the org's access state (see [`TenantTx::commit`]).
    pub(crate) fn access_changed(&mut self) {
        self.access_changed = true;
    }

    /// Commits. When the transaction changed access state, it first bumps the access epoch (its
    /// last statement: the epoch row stays locked until the commit) and, once committed, waits
    /// until every other live server has acknowledged it (docs/decisions/0029), holding no
    /// connection: the caller's next request, on any server, sees the change.
    pub async fn commit(mut self) -> StoreResult<()> {
        if !self.access_changed {
            return self.tx.commit().await;
        }
        let epoch = access_leases::bump_epoch(&mut self.tx).await?;
        self.tx.commit().await?;
        self.watch.committed(epoch).await;
        Ok(())
    }
}

/// The advisory-lock key of an org: the first 8 bytes of SHA-256("grc.org-writes:" ‖ org id).
/// A collision between two orgs only makes them share a queue; it never breaks correctness.
fn org_lock_key(org_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("grc.org-writes:{org_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

impl GlobalTx {
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Makes one extra, narrowly scoped set of rows visible under RLS for this transaction
    /// (`app.key_hash` for key lookup, `app.user_id` for a user's own memberships).
    pub async fn unlock(&mut self, setting: &'static str, value: &str) -> StoreResult<()> {
        set_local(&mut self.tx, self.backend, setting, value).await
    }

    /// Turns this transaction into a tenant transaction once the tenant is known.
    pub async fn into_tenant(mut self, org_id: &str) -> StoreResult<TenantTx> {
        set_local(&mut self.tx, self.backend, "app.tenant_id", org_id).await?;
        Ok(TenantTx {
            tx: self.tx,
            backend: self.backend,
            org_id: org_id.to_owned(),
            watch: self.watch,
            access_changed: false,
        })
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await
    }
}

/// `set_config(name, value, is_local => true)`: the setting dies with the transaction, so a
/// pooled connection never carries one request's tenant into the next.
async fn set_local(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    name: &str,
    value: &str,
) -> StoreResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT set_config($1, $2, true)")
            .bind(name)
            .bind(value)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Decodes a JSON column. A corrupt value is an error naming the column, never a silent default.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    raw: &str,
    column: &str,
) -> StoreResult<T> {
    serde_json::from_str(raw)
        .map_err(|e| sqlx::Error::Decode(format!("column {column} holds invalid JSON: {e}").into()))
}

/// True when PostgreSQL aborted the transaction because of concurrency alone (serialization
/// failure `40001`, deadlock `40P01`): running the whole transaction again can succeed.
pub fn is_retryable(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("40001") | Some("40P01")))
}

/// True when the database could not be reached or dropped the connection: the server went away
/// (a restart, an idle-connection killer), or no connection freed up in time. Nothing about the
/// request is wrong, so the client is told to retry (503) instead of getting a 500. Pools do not
/// ping before each acquire (store::connect), so a connection that died while idle surfaces here
/// once and is then replaced.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        // SQLSTATE class 08 (connection exception); 53300 (too many connections); 57P01-57P03
        // (admin or crash shutdown, the server not accepting connections yet).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(&*c, "53300" | "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// True when the error is a unique-constraint violation (used to map to 409).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
