//! Agent settings (`GRC_AGENTS__…`): status thresholds, certificate lifetime, rotation overlap,
//! heartbeat rate and size.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentSettings {
    /// An agent whose last heartbeat is older than this is `stale`.
    pub stale_after_secs: u64,
    /// …and older than this, `offline`.
    pub offline_after_secs: u64,
    /// Lifetime of an agent's client certificate; agents rotate before it ends.
    pub cert_validity_hours: u64,
    /// After a rotation, the previous credential keeps working this long.
    pub rotation_overlap_secs: u64,
    /// Heartbeats one agent may send per minute (per server) before getting 429.
    pub heartbeats_per_minute: u32,
    /// Largest heartbeat body, in bytes; above it → 413.
    pub max_heartbeat_bytes: usize,
    /// The interval agents are told to heartbeat at.
    pub heartbeat_interval_secs: u64,
    /// Enrollment tokens expire after this many hours unless the request says otherwise.
    pub token_default_ttl_hours: u64,
    /// Where the optional agent TLS listener binds (e.g. `0.0.0.0:8443`). On it, a heartbeat
    /// authenticates with the agent's client certificate alone. Off when absent.
    pub tls_listen: Option<String>,
    /// The listener's own certificate chain (PEM), which agents verify.
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// Its private key (PEM).
    pub tls_key_file: Option<std::path::PathBuf>,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            stale_after_secs: 120,
            offline_after_secs: 900,
            cert_validity_hours: 7 * 24,
            rotation_overlap_secs: 300,
            heartbeats_per_minute: 12,
            max_heartbeat_bytes: 256 * 1024,
            heartbeat_interval_secs: 30,
            token_default_ttl_hours: 24,
            tls_listen: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

impl AgentSettings {
    pub fn cert_validity(&self) -> Duration {
        Duration::from_secs(self.cert_validity_hours.max(1) * 3600)
    }
}
