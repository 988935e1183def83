//! When a server may trust its cached access state without reading the org's access revision
//! per request (docs/decisions/0029, refining 0015).
//!
//! Every commit that bumps an org's access revision also bumps one instance-wide *access epoch*
//! in the same transaction. Each server holds a short lease in the database and polls the
//! epoch: when it changes, the server invalidates everything it knows about current revisions
//! (a new *generation*) and acknowledges the epoch in its lease row. The committing request
//! does not answer until every other live lease has acknowledged its epoch or run out.
//!
//! So a server may use a revision it read earlier, with no read, while
//! 1. its lease is surely still live: its last renewal began less than `ttl - margin` ago, and
//!    a poll of the epoch followed that renewal; and
//! 2. the revision was read in the current generation.
//!
//! Otherwise the request reads the revision, as every request did before (decision 0015). A
//! change acknowledged by this server was invalidated here before the acknowledgement, so the
//! client's next request here cannot be answered from the old state; a change whose writer
//! stopped waiting for this server did so because the lease had run out, and by then (1) has
//! failed here. The one assumption is that the database's clock and this server's monotonic
//! clock do not drift apart by more than `margin` over one `ttl`.

use super::{Backend, access_leases};
use sqlx::AnyPool;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long leases last and how often they are renewed and the epoch polled.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    /// A lease's length, on the database's clock.
    pub ttl: Duration,
    /// Subtracted from `ttl` before this server trusts its own lease.
    pub margin: Duration,
    /// How often the lease is renewed.
    pub renew_every: Duration,
    /// How often the epoch is polled (the longest a change waits for a healthy server).
    pub poll_every: Duration,
    /// How often a waiting change looks at the acknowledgements.
    pub ack_poll_every: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(3),
            margin: Duration::from_secs(1),
            renew_every: Duration::from_millis(500),
            poll_every: Duration::from_millis(20),
            ack_poll_every: Duration::from_millis(5),
        }
    }
}

/// Leases that ran out this long ago are deleted when a server starts.
const FORGET_EXPIRED_AFTER: Duration = Duration::from_secs(3600);

/// One process's view of the access epoch and of its own lease.
pub struct AccessWatch {
    server_id: String,
    readers: AnyPool,
    backend: Backend,
    timing: LeaseTiming,
    started: Instant,
    /// Bumped whenever a newer epoch is seen: revisions read in an older generation are not
    /// used without a read.
    generation: AtomicU64,
    /// The newest epoch seen (and invalidated for).
    known_epoch: AtomicI64,
    /// Nanoseconds after `started` until which cached revisions of the current generation may
    /// be used; 0 while this process holds no lease (a CLI command, a server starting up).
    trusted_until: AtomicU64,
}

impl AccessWatch {
    pub fn new(readers: AnyPool, backend: Backend, timing: LeaseTiming) -> Self {
        AccessWatch {
            server_id: uuid::Uuid::new_v4().to_string(),
            readers,
            backend,
            timing,
            started: Instant::now(),
            generation: AtomicU64::new(0),
            known_epoch: AtomicI64::new(0),
            trusted_until: AtomicU64::new(0),
        }
    }

    /// The generation a read begun now belongs to.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The current generation, when revisions read in it may be used without a read now.
    pub fn trusted_generation(&self) -> Option<u64> {
        let generation = self.generation.load(Ordering::SeqCst);
        let now = self.nanos(Instant::now());
        (now < self.trusted_until.load(Ordering::SeqCst)).then_some(generation)
    }

    /// Records that `epoch` has been committed: if it is new here, every revision read so far
    /// stops being trusted. True when it was new.
    pub fn observe(&self, epoch: i64) -> bool {
        let before = self.known_epoch.fetch_max(epoch, Ordering::SeqCst);
        if before < epoch {
            self.generation.fetch_add(1, Ordering::SeqCst);
            true
        } else {
            false
        }
    }

    /// After this process committed `epoch`: invalidates here, then waits until every other
    /// live lease has acknowledged it or run out. A failing read only makes the wait longer: it
    /// then lasts until any lease that could have been live at the commit has surely run out.
    pub async fn committed(&self, epoch: i64) {
        self.observe(epoch);
        let deadline = Instant::now() + self.timing.ttl + self.timing.margin;
        let mut warned = false;
        loop {
            match access_leases::unacknowledged(&self.readers, self.backend, &self.server_id, epoch)
                .await
            {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if !warned => {
                    tracing::warn!(
                        error = %e,
                        "could not read server leases; waiting for them to run out"
                    );
                    warned = true;
                }
                Err(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            tokio::time::sleep(self.timing.ack_poll_every.min(deadline - now)).await;
        }
    }

    /// Holds this server's lease until `stop` is cancelled: renews it, polls the epoch,
    /// invalidates and acknowledges new epochs, and extends the trust in cached revisions only
    /// after a renewal followed by a poll. On the way out the trust ends and the lease is given
    /// back, so changes stop waiting for this server.
    pub async fn keep_lease(&self, writer: AnyPool, stop: CancellationToken) {
        if let Err(e) =
            access_leases::forget_expired(&writer, self.backend, FORGET_EXPIRED_AFTER).await
        {
            tracing::warn!(error = %e, "could not delete expired server leases");
        }
        let mut last_renewal: Option<Instant> = None;
        let mut acked = 0;
        let mut failing = false;
        loop {
            let renewing = last_renewal.is_none_or(|at| at.elapsed() >= self.timing.renew_every);
            let began = Instant::now();
            let polled = self.poll(&writer, renewing, &mut acked).await;
            match polled {
                Ok(()) => {
                    if renewing {
                        last_renewal = Some(began);
                        let until = began + self.timing.ttl.saturating_sub(self.timing.margin);
                        self.trusted_until
                            .store(self.nanos(until), Ordering::SeqCst);
                    }
                    if failing {
                        tracing::info!("server lease renewed again");
                        failing = false;
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(
                            error = %e,
                            "server lease not renewed: every request reads access revisions until it is"
                        );
                        failing = true;
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.timing.poll_every) => {}
            }
        }
        self.trusted_until.store(0, Ordering::SeqCst);
        if let Err(e) = access_leases::release(&writer, &self.server_id).await {
            tracing::warn!(error = %e, "could not release the server lease");
        }
    }

    /// One round: renew (when due), then read the epoch, invalidate, acknowledge.
    async fn poll(&self, writer: &AnyPool, renewing: bool, acked: &mut i64) -> sqlx::Result<()> {
        if renewing {
            let known = self.known_epoch.load(Ordering::SeqCst);
            access_leases::renew(
                writer,
                self.backend,
                &self.server_id,
                known,
                self.timing.ttl,
            )
            .await?;
            *acked = known;
        }
        let epoch = access_leases::epoch(&self.readers).await?;
        self.observe(epoch);
        let known = self.known_epoch.load(Ordering::SeqCst);
        if known > *acked {
            access_leases::ack(writer, &self.server_id, known).await?;
            *acked = known;
        }
        Ok(())
    }

    /// Trusts the current generation for `duration` from now, as a renewal would (tests).
    #[cfg(test)]
    pub(crate) fn trust_for(&self, duration: Duration) {
        let until = self.nanos(Instant::now() + duration);
        self.trusted_until.store(until, Ordering::SeqCst);
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// One in-memory SQLite database (one connection) with the two tables.
    async fn database() -> AnyPool {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        for sql in [
            "CREATE TABLE access_epoch (id INTEGER PRIMARY KEY, epoch BIGINT NOT NULL)",
            "INSERT INTO access_epoch VALUES (1, 0)",
            "CREATE TABLE server_leases (server_id TEXT PRIMARY KEY, acked_epoch BIGINT NOT NULL, \
             expires_at_ms BIGINT NOT NULL)",
        ] {
            sqlx::query(sql).execute(&pool).await.expect(sql);
        }
        pool
    }

    fn quick() -> LeaseTiming {
        LeaseTiming {
            ttl: Duration::from_millis(600),
            margin: Duration::from_millis(200),
            renew_every: Duration::from_millis(20),
            poll_every: Duration::from_millis(5),
            ack_poll_every: Duration::from_millis(2),
        }
    }

    async fn exec(pool: &AnyPool, sql: &str) {
        sqlx::query(sql).execute(pool).await.expect(sql);
    }

    async fn lease_of(pool: &AnyPool, server_id: &str) -> Option<i64> {
        sqlx::query_scalar("SELECT acked_epoch FROM server_leases WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(pool)
            .await
            .expect("lease")
    }

    /// Waits (up to 5 s) for `done`.
    async fn eventually(mut done: impl AsyncFnMut() -> bool) {
        let mut reached = false;
        for _ in 0..1000 {
            if done().await {
                reached = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(reached, "condition not reached in 5 s");
    }

    #[tokio::test]
    async fn nothing_is_trusted_without_a_lease() {
        let watch = AccessWatch::new(database().await, Backend::Sqlite, quick());
        assert_eq!(watch.trusted_generation(), None);
    }

    #[tokio::test]
    async fn a_new_epoch_starts_a_new_generation_once() {
        let watch = AccessWatch::new(database().await, Backend::Sqlite, quick());
        let first = watch.generation();
        assert!(watch.observe(3));
        assert_eq!(watch.generation(), first + 1);
        assert!(!watch.observe(3), "the same epoch again");
        assert!(!watch.observe(2), "an older epoch");
        assert_eq!(watch.generation(), first + 1);
    }

    #[tokio::test]
    async fn trust_ends_when_its_deadline_passes() {
        let watch = AccessWatch::new(database().await, Backend::Sqlite, quick());
        watch.trust_for(Duration::from_millis(30));
        assert_eq!(watch.trusted_generation(), Some(watch.generation()));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(watch.trusted_generation(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lease_is_kept_acknowledges_new_epochs_and_is_given_back() {
        let pool = database().await;
        let watch = Arc::new(AccessWatch::new(pool.clone(), Backend::Sqlite, quick()));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (watch, pool, stop) = (watch.clone(), pool.clone(), stop.clone());
            async move { watch.keep_lease(pool, stop).await }
        });
        eventually(async || watch.trusted_generation().is_some()).await;
        assert_eq!(lease_of(&pool, &watch.server_id).await, Some(0));
        let before = watch.generation();
        exec(&pool, "UPDATE access_epoch SET epoch = 4").await;
        eventually(async || lease_of(&pool, &watch.server_id).await == Some(4)).await;
        assert_eq!(
            watch.generation(),
            before + 1,
            "invalidated before acknowledging"
        );
        stop.cancel();
        task.await.expect("lease task");
        assert_eq!(watch.trusted_generation(), None);
        assert_eq!(lease_of(&pool, &watch.server_id).await, None, "given back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_waits_for_live_leases_only() {
        let pool = database().await;
        let watch = Arc::new(AccessWatch::new(pool.clone(), Backend::Sqlite, quick()));
        // Another server's live lease, behind; and a dead server's, long expired.
        exec(
            &pool,
            "INSERT INTO server_leases VALUES ('live', 0, 99999999999999)",
        )
        .await;
        exec(&pool, "INSERT INTO server_leases VALUES ('dead', 0, 0)").await;
        let change = tokio::spawn({
            let watch = watch.clone();
            async move { watch.committed(1).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !change.is_finished(),
            "answered before the live server acknowledged"
        );
        assert_eq!(
            watch.known_epoch.load(Ordering::SeqCst),
            1,
            "invalidated here first"
        );
        exec(
            &pool,
            "UPDATE server_leases SET acked_epoch = 1 WHERE server_id = 'live'",
        )
        .await;
        tokio::time::timeout(Duration::from_secs(5), change)
            .await
            .expect("answered once acknowledged")
            .expect("task");
    }

    #[tokio::test]
    async fn a_change_that_cannot_read_the_leases_waits_them_out() {
        let pool = database().await;
        exec(&pool, "DROP TABLE server_leases").await;
        let watch = AccessWatch::new(pool, Backend::Sqlite, quick());
        let began = Instant::now();
        watch.committed(1).await;
        let timing = quick();
        assert!(began.elapsed() >= timing.ttl + timing.margin);
    }
}
