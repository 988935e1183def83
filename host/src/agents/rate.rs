//! Per-agent heartbeat rate limit: a token bucket per agent and server (`heartbeats_per_minute`
//! tokens, refilled continuously). A refused heartbeat learns when the next one is allowed.

use crate::bounded::locked;
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets kept before idle ones are dropped (a dropped bucket starts full again).
const MAX_BUCKETS: usize = 100_000;

pub struct HeartbeatLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl HeartbeatLimiter {
    pub fn new(per_minute: u32) -> Self {
        HeartbeatLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes one heartbeat from `agent_id`'s bucket, or says how long until one is available.
    pub fn take(&self, agent_id: &str) -> Result<(), Duration> {
        self.take_at(agent_id, Instant::now())
    }

    fn take_at(&self, agent_id: &str, now: Instant) -> Result<(), Duration> {
        let rate = self.per_minute / 60.0;
        let mut buckets = locked(&self.buckets);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(agent_id) {
            let full = self.per_minute;
            buckets.retain(|_, b| b.tokens + rate * now.duration_since(b.at).as_secs_f64() < full);
        }
        let bucket = buckets.entry(agent_id.to_owned()).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
        });
        let refilled = bucket.tokens + rate * now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = refilled.min(self.per_minute);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let limiter = HeartbeatLimiter::new(6);
        let start = Instant::now();
        for _ in 0..6 {
            assert!(limiter.take_at("a", start).is_ok());
        }
        let wait = limiter.take_at("a", start).expect_err("over the rate");
        assert!(wait <= Duration::from_secs(10) && wait > Duration::from_secs(9));
        assert!(limiter.take_at("b", start).is_ok(), "buckets are per agent");
        assert!(
            limiter
                .take_at("a", start + Duration::from_secs(10))
                .is_ok()
        );
    }
}
