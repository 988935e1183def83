//! Evaluation slots shared fairly across tenants.
//!
//! The server runs at most `total` plugin calls at once (near the core count, so CPU overload
//! cannot push innocent plugins past their wall-clock deadline), one tenant at most
//! `per_tenant`. When a slot frees up it goes to the waiting tenant that has used the least
//! slot time recently (usage decays with a half-life of [`HALF_LIFE`]), so a tenant running one
//! quick check is served ahead of tenants that keep slots busy with slow plugins, however many
//! of them there are. A caller that cannot get a slot within its wait is refused with [`Busy`]:
//! a capacity refusal, retryable, never an outcome of the plugin.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::sync::oneshot;

/// Recent usage halves every this long.
const HALF_LIFE: Duration = Duration::from_secs(10);

/// Refused for capacity, not for anything the plugin did: retry later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Busy(pub String);

pub struct FairSlots {
    total: usize,
    per_tenant: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    free: usize,
    tenants: HashMap<String, Tenant>,
    next_waiter: u64,
}

#[derive(Default)]
struct Tenant {
    running: usize,
    /// Waiters get their slot through the channel: a waiter whose request was dropped after
    /// the grant drops the slot with the channel, which gives it back.
    waiting: VecDeque<(u64, oneshot::Sender<Slot>)>,
    /// Slot-milliseconds used, as of `updated`, decaying.
    usage_ms: f64,
    updated: Option<Instant>,
}

impl Tenant {
    fn usage_at(&self, now: Instant) -> f64 {
        match self.updated {
            None => 0.0,
            Some(at) => {
                let halvings =
                    now.saturating_duration_since(at).as_secs_f64() / HALF_LIFE.as_secs_f64();
                self.usage_ms * 0.5f64.powf(halvings)
            }
        }
    }

    fn charge(&mut self, now: Instant, held: Duration) {
        self.usage_ms = self.usage_at(now) + held.as_secs_f64() * 1000.0;
        self.updated = Some(now);
    }

    fn is_idle(&self, now: Instant) -> bool {
        self.running == 0 && self.waiting.is_empty() && self.usage_at(now) < 1.0
    }
}

/// A held evaluation slot; dropping it hands the slot to the next tenant in line.
pub struct Slot {
    /// `None` only for a grant that never reached its waiter (nothing to give back).
    slots: Option<Arc<FairSlots>>,
    tenant: String,
    since: Instant,
}

impl FairSlots {
    pub fn new(total: usize, per_tenant: usize) -> Arc<Self> {
        let total = total.max(1);
        Arc::new(FairSlots {
            total,
            per_tenant: per_tenant.clamp(1, total),
            state: Mutex::new(State {
                free: total,
                ..State::default()
            }),
        })
    }

    pub fn total(&self) -> usize {
        self.total
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits up to `wait` for a slot for `tenant`.
    pub async fn acquire(self: &Arc<Self>, tenant: &str, wait: Duration) -> Result<Slot, Busy> {
        let started = Instant::now();
        let (id, mut granted) = {
            let mut state = self.lock();
            let per_tenant = self.per_tenant;
            let free = state.free;
            let entry = state.tenants.entry(tenant.to_owned()).or_default();
            // Straight in only when nobody of this tenant queues ahead and a slot is free. Other
            // tenants may be waiting only because they are at their own cap.
            if free > 0 && entry.running < per_tenant && entry.waiting.is_empty() {
                entry.running += 1;
                state.free -= 1;
                return Ok(Slot::new(self, tenant));
            }
            let (tx, rx) = oneshot::channel();
            let id = state.next_waiter;
            state.next_waiter += 1;
            state
                .tenants
                .get_mut(tenant)
                .expect("entry made above")
                .waiting
                .push_back((id, tx));
            (id, rx)
        };
        if let Ok(Ok(slot)) = tokio::time::timeout(wait, &mut granted).await {
            return Ok(slot);
        }
        // Timed out. Under the lock the grant either happened (use it) or cannot happen anymore.
        let mut state = self.lock();
        if let Ok(slot) = granted.try_recv() {
            drop(state);
            return Ok(slot);
        }
        if let Some(entry) = state.tenants.get_mut(tenant) {
            entry.waiting.retain(|(w, _)| *w != id);
        }
        Err(Busy(format!(
            "all {} plugin evaluation slots stayed busy for {} ms (plugins.queue_timeout_ms); \
             retry shortly",
            self.total,
            started.elapsed().as_millis()
        )))
    }

    fn release(self: &Arc<Self>, tenant: &str, held: Duration) {
        let now = Instant::now();
        let mut state = self.lock();
        state.free += 1;
        if let Some(entry) = state.tenants.get_mut(tenant) {
            entry.running = entry.running.saturating_sub(1);
            entry.charge(now, held);
        }
        self.dispatch(&mut state, now);
        state.tenants.retain(|_, t| !t.is_idle(now));
    }

    /// Hands free slots to waiting tenants, least recent usage first.
    fn dispatch(self: &Arc<Self>, state: &mut State, now: Instant) {
        while state.free > 0 {
            let next = state
                .tenants
                .iter()
                .filter(|(_, t)| !t.waiting.is_empty() && t.running < self.per_tenant)
                .min_by(|(_, a), (_, b)| a.usage_at(now).total_cmp(&b.usage_at(now)))
                .map(|(name, _)| name.clone());
            let Some(name) = next else { return };
            let entry = state.tenants.get_mut(&name).expect("just found");
            let Some((_, waiter)) = entry.waiting.pop_front() else {
                continue;
            };
            // A waiter that gave up (its receiver dropped) takes nothing: its grant comes back
            // and is disarmed (releasing it here would take the lock we hold).
            match waiter.send(Slot::new(self, &name)) {
                Ok(()) => {
                    entry.running += 1;
                    state.free -= 1;
                }
                Err(mut unsent) => unsent.slots = None,
            }
        }
    }
}

impl Slot {
    fn new(slots: &Arc<FairSlots>, tenant: &str) -> Self {
        Slot {
            slots: Some(slots.clone()),
            tenant: tenant.to_owned(),
            since: Instant::now(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            slots.release(&self.tenant, self.since.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_tenant_never_holds_more_than_its_share() {
        let slots = FairSlots::new(4, 2);
        let _a1 = slots.acquire("a", LONG).await.expect("ok");
        let _a2 = slots.acquire("a", LONG).await.expect("ok");
        let refused = slots.acquire("a", Duration::from_millis(20)).await;
        assert!(refused.is_err(), "a third slot for one tenant");
        let _b = slots.acquire("b", Duration::from_millis(20)).await;
        assert!(_b.is_ok(), "another tenant still gets a free slot");
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_tenant_with_the_least_recent_use() {
        let slots = FairSlots::new(1, 1);
        // "busy" has used its slot for a while; "quiet" has not used any.
        let held = slots.acquire("busy", LONG).await.expect("ok");
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(held);
        let held = slots.acquire("busy", LONG).await.expect("ok");
        let busy_again = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire("busy", LONG).await.map(|_| Instant::now()) }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let quiet = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire("quiet", LONG).await.map(|_| Instant::now()) }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        let quiet_at = quiet.await.expect("ok").expect("ok");
        let busy_at = busy_again.await.expect("ok").expect("ok");
        assert!(
            quiet_at <= busy_at,
            "the quiet tenant, queued later, is served first"
        );
    }

    #[tokio::test]
    async fn a_waiter_dropped_after_its_grant_gives_the_slot_back() {
        let slots = FairSlots::new(1, 1);
        let held = slots.acquire("a", LONG).await.expect("ok");
        let mut waiter = Box::pin(slots.acquire("b", LONG));
        // Poll once so that it queues, then grant it and drop it before it sees the grant.
        assert!(futures_util::poll!(waiter.as_mut()).is_pending());
        drop(held);
        drop(waiter);
        assert_eq!(slots.lock().free, 1, "the granted slot came back");
        assert!(slots.acquire("c", Duration::from_millis(10)).await.is_ok());
    }

    #[tokio::test]
    async fn a_waiter_that_times_out_takes_no_slot() {
        let slots = FairSlots::new(1, 1);
        let held = slots.acquire("a", LONG).await.expect("ok");
        let refused = slots.acquire("b", Duration::from_millis(10)).await;
        assert!(refused.is_err());
        drop(held);
        // The slot came back, not to the departed waiter.
        let again = slots.acquire("c", Duration::from_millis(10)).await;
        assert!(again.is_ok());
        assert_eq!(slots.lock().free, 0);
        drop(again);
        assert_eq!(slots.lock().free, 1);
    }
}
