//! Runtime governance settings (`GRC_RUNTIME__…`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeSettings {
    /// How long an ESCALATE waits for an owner or admin before it reads as DENY.
    pub escalation_ttl_secs: u64,
    /// Most events one `POST …/events` may carry.
    pub max_events_per_batch: usize,
    /// Largest `details` object of one event, in bytes of JSON.
    pub max_event_detail_bytes: usize,
    /// Largest events request body, in bytes.
    pub max_batch_bytes: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            escalation_ttl_secs: 900,
            max_events_per_batch: 500,
            max_event_detail_bytes: 8 * 1024,
            max_batch_bytes: 2 * 1024 * 1024,
        }
    }
}
