//! Storage: one SQL dialect over sqlx's `Any` driver, for SQLite (embedded default) and
//! PostgreSQL (production, with row-level security). Query code lives here, one module per
//! aggregate; HTTP types never appear in this module.
//!
//! Tenant-owned data is only reachable through a [`TenantTx`], a transaction that has already set
//! `app.tenant_id` (PostgreSQL RLS) and that hands its org id to every query as the application-
//! level filter. Forgetting the tenant is therefore a type error, not a data leak.

pub mod access_policies;
pub mod api_keys;
pub mod audit;
pub mod compliance;
pub mod connect;
pub mod custom_frameworks;
pub mod evidence;
pub mod instance;
pub mod memberships;
pub mod orgs;
pub mod plugins;
pub mod repositories;
pub mod scans;
pub mod users;

use sqlx::{Any, AnyPool, Transaction};

pub use connect::connect;

/// Which database a [`Db`] talks to; a handful of statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The application's connection pool. On PostgreSQL every connection runs as `grc_app`.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// A transaction scoped to one tenant.
pub struct TenantTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    org_id: String,
}

/// A transaction with no tenant: it can only see global tables (users, instance state), plus
/// whatever a narrow setting such as `app.key_hash` unlocks.
pub struct GlobalTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

pub type StoreResult<T> = Result<T, sqlx::Error>;

impl Db {
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        Db { pool, backend }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction for `org_id`, setting the RLS tenant on PostgreSQL.
    pub async fn tenant_tx(&self, org_id: &str) -> StoreResult<TenantTx> {
        let mut tx = self.pool.begin().await?;
        set_local(&mut tx, self.backend, "app.tenant_id", org_id).await?;
        Ok(TenantTx {
            tx,
            backend: self.backend,
            org_id: org_id.to_owned(),
        })
    }

    /// Begins a transaction with no tenant set.
    pub async fn global_tx(&self) -> StoreResult<GlobalTx> {
        Ok(GlobalTx {
            tx: self.pool.begin().await?,
            backend: self.backend,
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

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await
    }
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

/// True when the error is a unique-constraint violation (used to map to 409).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
