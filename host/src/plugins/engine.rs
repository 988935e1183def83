//! The one wasmtime `Engine`: Cranelift, the component model, the pooling allocator and epoch
//! interruption. The epoch ticker is an OS thread, so a busy async runtime can never starve it
//! and a looping plugin is always interrupted on time.

use super::limits::{EPOCH_TICK_MS, PluginLimits};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Builds the engine. `pooling` is false only for the instantiation benchmark.
pub fn build(limits: &PluginLimits, pooling: bool) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Deep recursion must trap cleanly, long before the host thread's stack is at risk.
    config.max_wasm_stack(512 * 1024);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(limits.pool_instances);
        pool.total_core_instances(limits.pool_instances * 4);
        pool.total_memories(limits.pool_instances * 2);
        pool.total_tables(limits.pool_instances * 2);
        pool.max_memory_size(limits.max_memory_bytes);
        pool.max_memories_per_module(1);
        pool.max_tables_per_module(1);
        pool.table_elements(10_000);
        pool.max_core_instances_per_component(8);
        pool.max_memories_per_component(2);
        pool.max_tables_per_component(2);
        pool.linear_memory_keep_resident(limits.keep_resident_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Ok(Engine::new(&config)?)
}

/// Starts the ticker thread. It holds only a weak handle and exits when the engine is dropped.
/// Without a ticker a looping plugin would never be interrupted, so failure to start is fatal.
pub fn start_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("grc-epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(std::time::Duration::from_millis(EPOCH_TICK_MS));
            }
        })?;
    Ok(())
}
