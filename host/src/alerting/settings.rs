//! Alert settings (`GRC_ALERTS__…`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// How often the sweep looks for stale agents and expiring evidence (0 turns it off).
    pub sweep_interval_secs: u64,
    /// Verified evidence raises `evidence_expiring` this many days before it expires.
    pub evidence_warning_days: i64,
    /// A scan whose overall score falls below this (from at or above it, or from no earlier
    /// assessment) raises `score_below_threshold`. Seed 002's CI gate uses 70.
    pub score_threshold: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            sweep_interval_secs: 60,
            evidence_warning_days: 30,
            score_threshold: 70,
        }
    }
}
