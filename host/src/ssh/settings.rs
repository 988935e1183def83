//! Just-in-time SSH session settings (`GRC_SSH__…`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SshSettings {
    /// How long a request waits for an answer before it reads as `expired`
    /// (`GRC_SSH__REQUEST_TTL_SECS`).
    pub request_ttl_secs: u64,
    /// Shortest session a request may ask for, in minutes (`GRC_SSH__MIN_DURATION_MINUTES`).
    pub min_duration_minutes: i64,
    /// Longest session a request may ask for, in minutes (`GRC_SSH__MAX_DURATION_MINUTES`).
    pub max_duration_minutes: i64,
    /// The duration of a request that names none, in minutes.
    pub default_duration_minutes: i64,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            request_ttl_secs: 3600,
            min_duration_minutes: 5,
            max_duration_minutes: 480,
            default_duration_minutes: 60,
        }
    }
}
