//! Sandbox limits. Every one is configurable (`[plugins]` in grc.toml or `GRC_PLUGINS__*`) and
//! defaults to a value that keeps a hostile plugin from hurting the host or other tenants.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginLimits {
    /// Largest accepted component, in bytes (bounds compile time). Upload above it → 413.
    pub max_component_bytes: usize,
    /// Linear-memory cap per instance, in bytes.
    pub max_memory_bytes: usize,
    /// Wall-clock deadline per call (`describe` or one `evaluate` batch), in milliseconds.
    pub deadline_ms: u64,
    /// Longest accepted `outcome.reason`, in bytes.
    pub max_reason_bytes: usize,
    /// Most finding ids one outcome may cite.
    pub max_finding_ids: usize,
    /// Most log lines a plugin may emit per call (further lines are dropped).
    pub max_log_lines: usize,
    /// Evaluations one tenant may run at once; more wait up to `queue_timeout_ms`.
    pub max_concurrent_per_tenant: usize,
    pub queue_timeout_ms: u64,
    /// Instances the pooling allocator keeps slots for (all tenants).
    pub pool_instances: u32,
    /// Plugins one org may have, enabled or not. Upload above it → 409.
    pub max_plugins_per_org: usize,
    /// Disk used by compiled artifacts under `<data_dir>/plugin-cache`; the least recently
    /// written go first beyond it (recompiled when next needed).
    pub max_cache_bytes: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            max_component_bytes: 4 * 1024 * 1024,
            max_memory_bytes: 64 * 1024 * 1024,
            deadline_ms: 100,
            max_reason_bytes: 2048,
            max_finding_ids: 1000,
            max_log_lines: 50,
            max_concurrent_per_tenant: 4,
            queue_timeout_ms: 5000,
            pool_instances: 64,
            max_plugins_per_org: 50,
            max_cache_bytes: 2 << 30,
        }
    }
}

/// How often the epoch ticker advances. Deadlines are enforced to within one tick.
pub const EPOCH_TICK_MS: u64 = 5;

/// What the host copies out of a plugin in one call, before any answer: `describe()`'s output
/// (stored up to 256 KiB), a log message, or an over-limit answer the host then rejects with a
/// clear reason.
pub const HOSTCALL_BASE_BYTES: usize = 4 << 20;

/// Per outcome, besides its reason and cited rows: the status, score and list headers.
const OUTCOME_OVERHEAD_BYTES: usize = 1024;

impl PluginLimits {
    /// The most data the host copies out of the guest in one call (wasmtime's hostcall fuel,
    /// default 128 MiB), for a batch of `controls`: what valid outcomes can hold plus
    /// [`HOSTCALL_BASE_BYTES`]. A plugin that returns or logs more makes the batch `error`
    /// before the host allocates it.
    pub fn hostcall_bytes(&self, controls: usize) -> usize {
        let per_outcome = self.max_reason_bytes + 4 * self.max_finding_ids + OUTCOME_OVERHEAD_BYTES;
        HOSTCALL_BASE_BYTES.saturating_add(controls.saturating_mul(per_outcome))
    }

    /// The deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        self.deadline_ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}
