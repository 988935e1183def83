//! Alert settings (`GRC_ALERTS__…`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// How often the sweep looks for stale agents and expiring evidence (0 turns it off).
    pub sweep_interval_secs: u64,
    /// Verified evidence raises `evidence_expiring` this many days before it expires.
    pub evidence_warning_days: i64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            sweep_interval_secs: 60,
            evidence_warning_days: 30,
        }
    }
}
