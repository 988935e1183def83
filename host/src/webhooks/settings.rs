//! Webhook delivery settings (`GRC_WEBHOOKS__…`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// How often the dispatcher looks for due deliveries.
    pub poll_interval_ms: u64,
    /// The first retry waits about this long; each later one twice the previous (±25 % jitter).
    pub retry_base_ms: u64,
    /// No retry waits longer than this.
    pub retry_max_ms: u64,
    /// Attempts per delivery before it is `failed` (a manual redelivery grants as many again).
    pub max_attempts: u32,
    /// The whole request (connect, send, response head and capped body) must finish in this.
    pub timeout_ms: u64,
    /// At most this many bytes of a receiver's response are read (and a short excerpt kept).
    pub max_response_bytes: usize,
    /// Deliveries in flight at once, per server.
    pub concurrency: usize,
    /// A claimed delivery becomes due again after this long if its dispatcher disappears.
    pub lease_secs: u64,
    /// Networks (CIDR, e.g. `10.0.0.0/8`, `127.0.0.1/32`) that subscriptions may target even
    /// though they are private, loopback or link-local. Empty: only public addresses.
    pub allow_private: Vec<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            poll_interval_ms: 1000,
            retry_base_ms: 10_000,
            retry_max_ms: 3_600_000,
            max_attempts: 8,
            timeout_ms: 10_000,
            max_response_bytes: 64 * 1024,
            concurrency: 8,
            lease_secs: 60,
            allow_private: Vec::new(),
        }
    }
}

impl WebhookSettings {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(100))
    }
}
