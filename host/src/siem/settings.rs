//! SIEM ingest and search limits (`GRC_SIEM__…`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SiemSettings {
    /// Most events one ingest request may carry (`GRC_SIEM__MAX_EVENTS_PER_BATCH`).
    pub max_events_per_batch: usize,
    /// Largest ingest request body, in bytes (`GRC_SIEM__MAX_BATCH_BYTES`).
    pub max_batch_bytes: usize,
    /// Largest single event, in bytes of JSON (`GRC_SIEM__MAX_EVENT_BYTES`).
    pub max_event_bytes: usize,
    /// How far in the future an event's `time` may be, in seconds (clock skew allowance;
    /// `GRC_SIEM__MAX_FUTURE_SECS`).
    pub max_future_secs: i64,
    /// The widest `from`–`to` window one search may scan, in days
    /// (`GRC_SIEM__MAX_SEARCH_WINDOW_DAYS`).
    pub max_search_window_days: i64,
}

impl Default for SiemSettings {
    fn default() -> Self {
        SiemSettings {
            max_events_per_batch: 1000,
            max_batch_bytes: 4 * 1024 * 1024,
            max_event_bytes: 16 * 1024,
            max_future_secs: 300,
            max_search_window_days: 31,
        }
    }
}
