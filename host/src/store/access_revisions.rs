//! The access revision of each org: a counter bumped in the same transaction as every change to
//! what authentication and authorization read (API keys, memberships, the org row, tenant access
//! policies). The store functions that make those changes bump it themselves, so no route can
//! forget to.
//!
//! Servers cache those reads (`crate::access`) and use a cached value only while the revision it
//! was loaded at is still current, as shown by a read of the counter that *began after the
//! request arrived* ([`FreshRevisions`]), or, while the server holds a lease on cached access
//! state, by a read made earlier in the current generation (`super::access_watch`). A change
//! committed through any server is therefore seen by the next request on every server
//! (docs/decisions/0015, 0029).

use super::access_watch::AccessWatch;
use super::{StoreResult, TenantTx};
use crate::bounded::{BoundedMap, locked};
use sqlx::AnyPool;
use std::sync::{Arc, Mutex};

/// Gives a newly created org its counter.
pub async fn create(tx: &mut TenantTx) -> StoreResult<()> {
    tx.access_changed();
    let org_id = tx.org_id().to_owned();
    sqlx::query("INSERT INTO access_revisions (org_id, revision) VALUES ($1, 0)")
        .bind(org_id)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

/// Marks every cached read of this org's access state as outdated once the transaction commits.
pub async fn bump(tx: &mut TenantTx) -> StoreResult<()> {
    tx.access_changed();
    let org_id = tx.org_id().to_owned();
    sqlx::query("UPDATE access_revisions SET revision = revision + 1 WHERE org_id = $1")
        .bind(org_id)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

/// One statement, no transaction and no tenant: the counter is readable for any org (it is a
/// number and says nothing else), only writable in the org's own tenant context.
async fn read(pool: &AnyPool, org_id: &str) -> StoreResult<Option<i64>> {
    sqlx::query_scalar("SELECT revision FROM access_revisions WHERE org_id = $1")
        .bind(org_id)
        .fetch_optional(pool)
        .await
}

/// Reads of the current revision, shared between concurrent requests of one org.
///
/// A request needs a read that began after it arrived (a read already in flight may predate a
/// commit the client has seen). At most one read per org is in flight: requests that arrive
/// meanwhile wait for it to end, all woken at once, and the first of them to run begins the next
/// read for the rest. Under load one statement answers many requests; an idle server pays one
/// statement per request.
pub struct FreshRevisions {
    orgs: BoundedMap<String, Arc<OrgReads>>,
}

impl Default for FreshRevisions {
    fn default() -> Self {
        FreshRevisions {
            orgs: BoundedMap::new(MAX_ORGS),
        }
    }
}

#[derive(Default)]
struct OrgReads {
    state: Mutex<ReadState>,
    /// Woken (all at once) whenever a read ends.
    ended: tokio::sync::Notify,
}

#[derive(Default)]
struct ReadState {
    /// How many reads have begun.
    begun: u64,
    in_flight: bool,
    /// The newest completed read: (its number, the revision; `None` for an unknown org).
    latest: (u64, Option<i64>),
    /// The [`AccessWatch`] generation in which that read began.
    latest_generation: u64,
}

/// Ends the in-flight read when the reader finishes or is cancelled, so waiters never hang.
struct InFlight<'a>(&'a OrgReads);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        locked(&self.0.state).in_flight = false;
        self.0.ended.notify_waiters();
    }
}

/// Orgs tracked before the table is cleared (each entry is a few dozen bytes).
const MAX_ORGS: usize = 100_000;

impl FreshRevisions {
    /// The org's access revision as of a read begun after this call, or, while `watch` trusts
    /// its generation, as of a read begun in that generation; `None` when no such org.
    pub async fn read(
        &self,
        pool: &AnyPool,
        watch: &AccessWatch,
        org_id: &str,
    ) -> StoreResult<Option<i64>> {
        let reads = self.orgs.get_or_insert_with(org_id, Arc::default);
        let arrived_after = {
            let state = locked(&reads.state);
            let read_once = state.latest.0 > 0;
            if read_once && watch.trusted_generation() == Some(state.latest_generation) {
                return Ok(state.latest.1);
            }
            state.begun
        };
        loop {
            let ended = reads.ended.notified();
            tokio::pin!(ended);
            let number = {
                let mut state = locked(&reads.state);
                if state.latest.0 > arrived_after {
                    // Read number `latest.0` began after this request arrived.
                    return Ok(state.latest.1);
                }
                if state.in_flight {
                    // Register before unlocking, so the end of that read cannot be missed.
                    ended.as_mut().enable();
                    None
                } else {
                    state.in_flight = true;
                    state.begun += 1;
                    Some(state.begun)
                }
            };
            let Some(number) = number else {
                ended.await;
                continue;
            };
            let _in_flight = InFlight(&reads);
            let generation = watch.generation();
            let revision = read(pool, org_id).await?;
            {
                let mut state = locked(&reads.state);
                state.latest = (number, revision);
                state.latest_generation = generation;
            }
            return Ok(revision);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Backend;
    use crate::store::access_watch::LeaseTiming;
    use sqlx::any::AnyPoolOptions;
    use std::time::Duration;

    async fn pool() -> AnyPool {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        sqlx::query("CREATE TABLE access_revisions (org_id TEXT PRIMARY KEY, revision BIGINT)")
            .execute(&pool)
            .await
            .expect("table");
        sqlx::query("INSERT INTO access_revisions VALUES ('o1', 0)")
            .execute(&pool)
            .await
            .expect("row");
        pool
    }

    fn watch(pool: &AnyPool) -> AccessWatch {
        AccessWatch::new(pool.clone(), Backend::Sqlite, LeaseTiming::default())
    }

    async fn set_revision(pool: &AnyPool, revision: i64) {
        sqlx::query("UPDATE access_revisions SET revision = $1")
            .bind(revision)
            .execute(pool)
            .await
            .expect("bump");
    }

    #[tokio::test]
    async fn a_trusted_generation_answers_without_a_read_until_it_ends() {
        let pool = pool().await;
        let reads = FreshRevisions::default();
        let watch = watch(&pool);
        watch.trust_for(Duration::from_secs(60));
        assert_eq!(
            reads.read(&pool, &watch, "o1").await.expect("read"),
            Some(0)
        );
        set_revision(&pool, 5).await;
        // No new epoch seen yet: the revision read in this generation stands.
        assert_eq!(
            reads.read(&pool, &watch, "o1").await.expect("read"),
            Some(0)
        );
        watch.observe(1);
        assert_eq!(
            reads.read(&pool, &watch, "o1").await.expect("read"),
            Some(5)
        );
        set_revision(&pool, 6).await;
        watch.trust_for(Duration::ZERO);
        assert_eq!(
            reads.read(&pool, &watch, "o1").await.expect("read"),
            Some(6),
            "without a live lease every request reads"
        );
    }

    #[tokio::test]
    async fn a_read_after_a_commit_sees_it() {
        let pool = pool().await;
        let reads = FreshRevisions::default();
        assert_eq!(
            reads.read(&pool, &watch(&pool), "o1").await.expect("read"),
            Some(0)
        );
        sqlx::query("UPDATE access_revisions SET revision = 7")
            .execute(&pool)
            .await
            .expect("bump");
        assert_eq!(
            reads.read(&pool, &watch(&pool), "o1").await.expect("read"),
            Some(7)
        );
        assert_eq!(
            reads
                .read(&pool, &watch(&pool), "nope")
                .await
                .expect("read"),
            None
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_readers_all_see_the_commit() {
        let pool = pool().await;
        let reads = Arc::new(FreshRevisions::default());
        sqlx::query("UPDATE access_revisions SET revision = 3")
            .execute(&pool)
            .await
            .expect("bump");
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (reads, pool) = (reads.clone(), pool.clone());
                tokio::spawn(async move { reads.read(&pool, &watch(&pool), "o1").await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("task").expect("read"), Some(3));
        }
    }
}
