//! Sandbox limits. Every one is configurable (`[plugins]` in grc.toml or `GRC_PLUGINS__*`) and
//! defaults to a value that keeps a hostile plugin from hurting the host or other tenants.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// Evaluations (and `describe()` calls) the server runs at once, all tenants together; 0
    /// means the number of cores. Slots go to the waiting tenant with the least recent use.
    pub max_concurrent_evaluations: usize,
    /// How long an evaluation waits for a slot before it is refused as busy (retryable).
    pub queue_timeout_ms: u64,
    /// Instances the pooling allocator keeps slots for (all tenants).
    pub pool_instances: u32,
    /// Bytes at the start of each pooled linear memory that are zeroed in place and kept
    /// resident when an instance ends, instead of being returned to the kernel: the next
    /// evaluation in that slot does not page-fault its way through fresh memory. Resident memory
    /// can grow to this times the memory slots used (at most 2 × `pool_instances`).
    pub keep_resident_bytes: usize,
    /// Plugins one org may have, enabled or not. Upload above it → 409.
    pub max_plugins_per_org: usize,
    /// Disk used by compiled artifacts under `<data_dir>/plugin-cache`; the least recently
    /// written go first beyond it (recompiled when next needed).
    pub max_cache_bytes: u64,
    /// Compiling one tenant component: wall-clock bound, in milliseconds (the worker is killed
    /// beyond it; upload → 422).
    pub max_compile_ms: u64,
    /// Compiling one tenant component: the worker's address-space cap, in bytes.
    pub max_compile_memory_bytes: u64,
    /// Compilations running at once; up to `max_queued_compiles` more wait, beyond that a
    /// compile is refused as busy (503, retryable).
    pub max_concurrent_compiles: usize,
    pub max_queued_compiles: usize,
    /// Of those, how many one org may have running or queued (one org cannot fill the queue).
    pub max_compiles_per_org: usize,
    /// Structural limits checked before compiling, per function: code bytes, locals, control
    /// blocks (`block`, `loop`, `if`, `else`), and locals × blocks (what the register
    /// allocator's work grows with). Upload above one → 422 naming it.
    pub max_function_bytes: usize,
    pub max_function_locals: u64,
    pub max_function_blocks: u64,
    pub max_function_complexity: u64,
    /// The executable run as the compile worker (`<exe> plugin compile-worker`); default: this
    /// server's own executable.
    pub compiler_exe: Option<PathBuf>,
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
            max_concurrent_evaluations: 0,
            queue_timeout_ms: 5000,
            pool_instances: 64,
            keep_resident_bytes: 2 * 1024 * 1024,
            max_plugins_per_org: 50,
            max_cache_bytes: 2 << 30,
            max_compile_ms: 20_000,
            max_compile_memory_bytes: 1 << 30,
            max_concurrent_compiles: 2,
            max_queued_compiles: 8,
            max_compiles_per_org: 2,
            max_function_bytes: 1 << 20,
            max_function_locals: 10_000,
            max_function_blocks: 50_000,
            max_function_complexity: 5_000_000,
            compiler_exe: None,
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

    /// The server-wide evaluation slots: `max_concurrent_evaluations`, or the core count (at
    /// most `pool_instances`: every running evaluation holds a pooled instance).
    pub fn evaluation_slots(&self) -> usize {
        match self.max_concurrent_evaluations {
            0 => std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(self.pool_instances.max(1) as usize),
            n => n,
        }
    }

    /// The deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        self.deadline_ms.div_ceil(EPOCH_TICK_MS).max(1)
    }
}
