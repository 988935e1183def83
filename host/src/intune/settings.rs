//! Intune posture sync settings (`GRC_INTUNE__…`): where Microsoft's endpoints are, how long a
//! request may take, how much one sync may fetch, and which private networks outbound calls
//! may reach (a sovereign cloud, a proxy, or the tests' fake Graph server).

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntuneSettings {
    /// The Microsoft identity platform (`GRC_INTUNE__LOGIN_URL`); the token endpoint is
    /// `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub login_url: String,
    /// Microsoft Graph (`GRC_INTUNE__GRAPH_URL`); devices are read from
    /// `{graph_url}/v1.0/deviceManagement/managedDevices`.
    pub graph_url: String,
    /// Each request (token or page) must finish within this (connect, send, response).
    pub timeout_ms: u64,
    /// A sync stops fetching after this many devices (the run is marked `truncated`).
    pub max_devices: usize,
    /// A sync stops fetching after this many pages (the run is marked `truncated`).
    pub max_pages: usize,
    /// How many times one request is retried after a 429 or 503 from Microsoft.
    pub max_throttle_retries: u32,
    /// The longest `Retry-After` the server waits; a longer one fails the sync (503).
    pub max_retry_after_secs: u64,
    /// Networks (CIDR) the Graph and login URLs may resolve to even though they are private or
    /// loopback (`GRC_INTUNE__ALLOW_PRIVATE='["127.0.0.1/32"]'`). Empty: public addresses only.
    pub allow_private: Vec<String>,
}

impl Default for IntuneSettings {
    fn default() -> Self {
        IntuneSettings {
            login_url: "https://login.microsoftonline.com".into(),
            graph_url: "https://graph.microsoft.com".into(),
            timeout_ms: 30_000,
            max_devices: 50_000,
            max_pages: 1_000,
            max_throttle_retries: 3,
            max_retry_after_secs: 30,
            allow_private: Vec::new(),
        }
    }
}

impl IntuneSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(100))
    }
}
