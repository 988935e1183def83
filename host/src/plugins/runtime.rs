//! The plugin runtime: compile once per content hash (memory cache + authenticated on-disk
//! artifacts), one `InstancePre` per plugin, a fresh `Store` per call, and every limit enforced.
//! Failures never crash the host and never pass a control: they become `error` outcomes.

use super::{
    artifacts::ArtifactCache,
    bindings::{v1, v2},
    compiler::Compiler,
    description::{BatchReads, PluginDescription},
    engine,
    limits::PluginLimits,
    model::{ControlOutcome, ControlSpec, OutcomeStatus, PluginRef, ScanContext},
    precheck,
    sandbox::{self, Sandbox},
    scan_table::ScanTable,
    scheduler::{Busy, FairSlots},
    wire,
};
use sha2::{Digest, Sha256};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};
use wasmtime::{
    Engine, Store,
    component::{Component, Linker},
};

/// A compiled plugin, ready to instantiate.
pub struct CompiledPlugin {
    pub sha256: String,
    component: Component,
    pre: Pre,
}

/// The world revision a component implements, with its pre-linked instance.
enum Pre {
    /// `grc:plugin@0.1.0`: sent every finding with every field; cites findings by id.
    V1(v1::CheckPluginPre<Sandbox>),
    /// `grc:plugin@0.2.0`: sent what its check_types read, as columns; cites rows.
    V2(v2::CheckPluginPre<Sandbox>),
}

impl CompiledPlugin {
    /// The `grc:plugin` revision the component was built against.
    pub fn wit_version(&self) -> &'static str {
        match self.pre {
            Pre::V1(_) => "0.1.0",
            Pre::V2(_) => "0.2.0",
        }
    }
}

/// Why an upload was rejected.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("component is {size} bytes, over the {max} byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("component does not implement the grc:plugin/check-plugin world: {0}")]
    WrongWorld(String),
    #[error("describe() failed: {0}")]
    DescribeFailed(String),
    /// Over a structural or compilation limit; the message names the setting.
    #[error("component is too complex: {0}")]
    TooComplex(String),
    /// Refused for capacity (compile queue full, no evaluation slot): retryable.
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<Sandbox>,
    limits: PluginLimits,
    artifacts: Option<Arc<ArtifactCache>>,
    compiled: Mutex<HashMap<String, Arc<CompiledPlugin>>>,
    compiler: Compiler,
    slots: Arc<FairSlots>,
}

/// Why a `describe()` call gave no description.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error("{0}")]
    Failed(String),
}

const MAX_COMPILED_IN_MEMORY: usize = 256;

/// The cache key of compiled code: whose it is (an org's, or the host's built-ins) and its
/// content hash. Compiled code is never shared across orgs.
fn cache_key(owner: Option<&str>, sha256: &str) -> String {
    format!("{}-{sha256}", owner.unwrap_or("host"))
}

impl PluginRuntime {
    /// Builds the engine (pooling unless `pooling` is false) and starts the epoch ticker.
    pub fn new(
        limits: PluginLimits,
        artifacts: Option<ArtifactCache>,
        pooling: bool,
    ) -> anyhow::Result<Self> {
        let slots = limits.evaluation_slots();
        if pooling && slots > limits.pool_instances as usize {
            anyhow::bail!(
                "plugins.max_concurrent_evaluations ({slots}) exceeds plugins.pool_instances ({}): \
                 every running evaluation needs a pooled instance",
                limits.pool_instances
            );
        }
        let engine = engine::build(&limits, pooling)?;
        engine::start_epoch_ticker(&engine)?;
        let mut linker = Linker::new(&engine);
        // Both revisions' host imports: components of either world link against one linker.
        v1::CheckPlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
        v2::CheckPlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
        Ok(PluginRuntime {
            engine,
            linker,
            compiler: Compiler::new(&limits)?,
            slots: FairSlots::new(slots, limits.max_concurrent_per_tenant),
            limits,
            artifacts: artifacts.map(Arc::new),
            compiled: Mutex::new(HashMap::new()),
        })
    }

    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A component being uploaded: the size cap, then every check that needs no compiling
    /// ([`precheck`]), then compilation in the bounded worker ([`Compiler`]). Nothing is
    /// cached, in memory or on disk, and no cached code is reused: the upload may still be
    /// rejected, and compiled code is never shared across orgs (an upload's timing must not
    /// say whether another tenant sent the same bytes). [`Self::keep`] caches it once the
    /// upload is accepted.
    pub async fn load_upload(
        &self,
        org: &str,
        bytes: Arc<Vec<u8>>,
    ) -> Result<Arc<CompiledPlugin>, LoadError> {
        self.check_untrusted(&bytes).await?;
        let sha256 = hex::encode(Sha256::digest(bytes.as_slice()));
        let component = self.compile_untrusted(org, bytes).await?;
        self.link(sha256, component).map(Arc::new)
    }

    /// An accepted plugin of `org`: from this org's memory cache, else its authenticated
    /// on-disk artifact, else checked and compiled again exactly like an upload (limits may
    /// have changed since), and cached for the org.
    pub async fn load_stored(
        &self,
        org: &str,
        bytes: Arc<Vec<u8>>,
    ) -> Result<Arc<CompiledPlugin>, LoadError> {
        self.load_cached(Some(org), bytes).await
    }

    /// The host's own components (the built-ins): trusted, so they compile in this process
    /// and the tenant limits do not apply.
    pub async fn load(&self, bytes: Arc<Vec<u8>>) -> Result<Arc<CompiledPlugin>, LoadError> {
        self.load_cached(None, bytes).await
    }

    async fn load_cached(
        &self,
        owner: Option<&str>,
        bytes: Arc<Vec<u8>>,
    ) -> Result<Arc<CompiledPlugin>, LoadError> {
        precheck::check_header(&bytes)?;
        let sha256 = hex::encode(Sha256::digest(bytes.as_slice()));
        let key = cache_key(owner, &sha256);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let stored = self
            .artifacts
            .as_ref()
            .and_then(|a| a.load(&self.engine, &key));
        let (component, compiled_now) = match (stored, owner) {
            (Some(component), _) => (component, false),
            (None, Some(org)) => {
                self.check_untrusted(&bytes).await?;
                (self.compile_untrusted(org, bytes).await?, true)
            }
            (None, None) => (self.compile_trusted(bytes).await?, true),
        };
        let compiled = Arc::new(self.link(sha256, component)?);
        self.remember(&key, &compiled, compiled_now).await;
        Ok(compiled)
    }

    /// Caches an accepted upload for its org (memory, and an artifact on disk).
    pub async fn keep(&self, org: &str, compiled: &Arc<CompiledPlugin>) {
        self.remember(&cache_key(Some(org), &compiled.sha256), compiled, true)
            .await;
    }

    /// Drops an org's cached code for a content hash (its plugin was deleted).
    pub fn forget(&self, org: &str, sha256: &str) {
        let key = cache_key(Some(org), sha256);
        if let Ok(mut cache) = self.compiled.lock() {
            cache.remove(&key);
        }
        if let Some(artifacts) = &self.artifacts {
            artifacts.remove(&key);
        }
    }

    /// The compiled plugin `org` has for a content hash, if this process has it.
    pub fn compiled(&self, org: &str, sha256: &str) -> Option<Arc<CompiledPlugin>> {
        self.cached(&cache_key(Some(org), sha256))
    }

    fn cached(&self, key: &str) -> Option<Arc<CompiledPlugin>> {
        self.compiled.lock().ok().and_then(|c| c.get(key).cloned())
    }

    /// Caches in memory and, when `write_artifact`, serializes the artifact to disk on a
    /// blocking thread (megabytes of native code: not on the async workers).
    async fn remember(&self, key: &str, compiled: &Arc<CompiledPlugin>, write_artifact: bool) {
        if let Ok(mut cache) = self.compiled.lock() {
            if cache.len() >= MAX_COMPILED_IN_MEMORY {
                cache.clear();
            }
            cache.insert(key.to_owned(), compiled.clone());
        }
        if write_artifact && let Some(artifacts) = &self.artifacts {
            let (artifacts, key, component) = (
                artifacts.clone(),
                key.to_owned(),
                compiled.component.clone(),
            );
            // A failed write only costs a recompile later; `store` logs it.
            let _ = tokio::task::spawn_blocking(move || artifacts.store(&key, &component)).await;
        }
    }

    /// The size cap and everything [`precheck`] can tell without compiling, on a blocking
    /// thread (validating megabytes takes tens of milliseconds: not on the async workers).
    async fn check_untrusted(&self, bytes: &Arc<Vec<u8>>) -> Result<(), LoadError> {
        if bytes.len() > self.limits.max_component_bytes {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                max: self.limits.max_component_bytes,
            });
        }
        let (bytes, limits) = (bytes.clone(), self.limits.clone());
        tokio::task::spawn_blocking(move || precheck::check(&bytes, &limits).map(drop))
            .await
            .map_err(|e| LoadError::Internal(e.into()))?
    }

    /// A tenant's component: compiled in the bounded worker process.
    async fn compile_untrusted(
        &self,
        org: &str,
        bytes: Arc<Vec<u8>>,
    ) -> Result<Component, LoadError> {
        let (component, cost) = self.compiler.compile(org, &self.engine, bytes).await?;
        tracing::debug!(elapsed_ms = cost.elapsed.as_millis() as u64, peak_rss_kib = ?cost.peak_rss_kib, "compiled a tenant plugin");
        Ok(component)
    }

    /// The host's own component: compiled here, on a blocking thread.
    async fn compile_trusted(&self, bytes: Arc<Vec<u8>>) -> Result<Component, LoadError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || Component::new(&engine, bytes.as_slice()))
            .await
            .map_err(|e| LoadError::Internal(e.into()))?
            .map_err(|e| LoadError::NotAComponent(format!("{e:#}")))
    }

    /// Checks the world and pre-links the component with the host's imports.
    fn link(&self, sha256: String, component: Component) -> Result<CompiledPlugin, LoadError> {
        check_world(&self.engine, &component)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let pre = match v2::CheckPluginPre::new(instance_pre.clone()) {
            Ok(pre) => Pre::V2(pre),
            Err(current) => match v1::CheckPluginPre::new(instance_pre) {
                Ok(pre) => Pre::V1(pre),
                Err(_) => return Err(LoadError::WrongWorld(format!("{current:#}"))),
            },
        };
        Ok(CompiledPlugin {
            sha256,
            component,
            pre,
        })
    }

    /// Calls `describe()` under the same limits as an evaluation, in one of `tenant`'s slots.
    pub async fn describe(
        &self,
        tenant: &str,
        plugin: &Arc<CompiledPlugin>,
        label: &str,
    ) -> Result<PluginDescription, CallError> {
        let _slot = self.slots.acquire(tenant, self.queue_timeout()).await?;
        let plugin = plugin.clone();
        let limits = self.limits.clone();
        let engine = self.engine.clone();
        let label = label.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut store = new_store(&engine, &label, &limits, limits.hostcall_bytes(0));
            let outcome = match &plugin.pre {
                Pre::V1(pre) => pre
                    .instantiate(&mut store)
                    .and_then(|b| b.call_describe(&mut store))
                    .map(PluginDescription::from),
                Pre::V2(pre) => pre
                    .instantiate(&mut store)
                    .and_then(|b| b.call_describe(&mut store))
                    .map(PluginDescription::from),
            };
            outcome.map_err(|e| CallError::Failed(sandbox::classify(&e, store.data(), &limits)))
        })
        .await
        .map_err(|e| CallError::Failed(format!("describe task failed: {e}")))?
    }

    fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.queue_timeout_ms)
    }

    /// Evaluates a batch of controls in one fresh instance, in one of `tenant`'s evaluation
    /// slots ([`FairSlots`]). `reads` is what the batch's check_types declare
    /// ([`PluginDescription::reads_for`]); a 0.1.0 plugin is sent everything. Returns one
    /// outcome per control; any failure of the plugin makes every control in the batch
    /// `error`, never `pass`. No slot in time is [`Busy`]: a refusal, not an outcome.
    pub async fn evaluate(
        &self,
        tenant: &str,
        plugin: &Arc<CompiledPlugin>,
        who: &PluginRef,
        context: &ScanContext,
        reads: &BatchReads,
        controls: &[ControlSpec],
    ) -> Result<Vec<ControlOutcome>, Busy> {
        self.evaluate_scan(tenant, plugin, who, context, None, reads, controls)
            .await
    }

    /// [`evaluate`](Self::evaluate) for one of several batches of a scan: `table` is the scan's
    /// interned findings ([`ScanTable`]), built once for all its batches. A 0.2.0 batch's input
    /// is copied out of it; without one (or one lacking a column) the batch interns its own.
    #[allow(clippy::too_many_arguments)] // one call's inputs; grouping them would only rename them
    pub async fn evaluate_scan(
        &self,
        tenant: &str,
        plugin: &Arc<CompiledPlugin>,
        who: &PluginRef,
        context: &ScanContext,
        table: Option<&ScanTable>,
        reads: &BatchReads,
        controls: &[ControlSpec],
    ) -> Result<Vec<ControlOutcome>, Busy> {
        let _slot = self.slots.acquire(tenant, self.queue_timeout()).await?;
        let call = match &plugin.pre {
            Pre::V1(_) => Call::V1 {
                context: Box::new(context.to_wit()),
                controls: controls.iter().map(ControlSpec::to_wit).collect(),
            },
            Pre::V2(_) => Call::V2 {
                input: Box::new(match table {
                    Some(table) => wire::input_from(context, table, reads),
                    None => wire::input(context, reads),
                }),
                controls: controls.iter().map(wire::control).collect(),
            },
        };
        let (plugin, limits, engine) = (plugin.clone(), self.limits.clone(), self.engine.clone());
        let label = format!("{}@{}", who.name, who.version);
        let hostcall_bytes = limits.hostcall_bytes(controls.len());
        let raw = tokio::task::spawn_blocking(move || {
            let mut store = new_store(&engine, &label, &limits, hostcall_bytes);
            let results = match (&plugin.pre, call) {
                (Pre::V1(pre), Call::V1 { context, controls }) => pre
                    .instantiate(&mut store)
                    .and_then(|b| b.call_evaluate(&mut store, &context, &controls))
                    .map(|r| r.into_iter().map(Raw::from).collect::<Vec<_>>()),
                (Pre::V2(pre), Call::V2 { input, controls }) => pre
                    .instantiate(&mut store)
                    .and_then(|b| b.call_evaluate(&mut store, &input.context, &controls))
                    .map(|r| {
                        r.into_iter()
                            .map(|r| Raw::cite_rows(r, &input.rows))
                            .collect()
                    }),
                _ => Err(wasmtime::Error::msg("world revision mismatch")),
            };
            results.map_err(|e| sandbox::classify(&e, store.data(), &limits))
        })
        .await
        .unwrap_or_else(|e| Err(format!("evaluation task failed: {e}")));
        Ok(match raw {
            Err(reason) => {
                tracing::warn!(plugin = %who.id, version = %who.version, %reason, "plugin evaluation failed");
                all_errors(controls, who, &reason)
            }
            Ok(results) if results.len() != controls.len() => all_errors(
                controls,
                who,
                &format!(
                    "malformed output: {} results for {} controls",
                    results.len(),
                    controls.len()
                ),
            ),
            Ok(results) => controls
                .iter()
                .zip(results)
                .map(|(control, result)| validate(control, result, who, &self.limits, context))
                .collect(),
        })
    }

    /// Creates a fresh store and instantiates the plugin without calling it (used by the
    /// instantiation benchmark; the same path every evaluation takes).
    pub fn instantiate_probe(&self, plugin: &CompiledPlugin) -> anyhow::Result<()> {
        let mut store = new_store(&self.engine, "probe", &self.limits, 0);
        match &plugin.pre {
            Pre::V1(pre) => pre.instantiate(&mut store).map(drop)?,
            Pre::V2(pre) => pre.instantiate(&mut store).map(drop)?,
        }
        Ok(())
    }
}

fn new_store(
    engine: &Engine,
    label: &str,
    limits: &PluginLimits,
    hostcall_bytes: usize,
) -> Store<Sandbox> {
    let mut store = Store::new(engine, Sandbox::new(label, limits));
    store.limiter(|s| s);
    store.set_hostcall_fuel(hostcall_bytes);
    // A new store's deadline is 0: set it before the first instruction (TOOLCHAIN pitfall 4).
    store.set_epoch_deadline(limits.deadline_ticks());
    store.epoch_deadline_trap();
    store
}

/// The input of one call, in the revision the plugin implements.
enum Call {
    V1 {
        context: Box<v1::types::Context>,
        controls: Vec<v1::types::Control>,
    },
    V2 {
        input: Box<wire::Input>,
        controls: Vec<v2::types::Control>,
    },
}

/// One plugin result of either revision, before the output caps are checked.
enum Raw {
    Outcome {
        status: OutcomeStatus,
        score: u8,
        reason: String,
        cited: Cited,
    },
    Error(String),
}

/// The findings an outcome cites.
enum Cited {
    /// 0.1.0: by finding id, as the plugin wrote them.
    Ids(Vec<String>),
    /// 0.2.0: by row of the batch's input, mapped to the index of the finding in the scan
    /// context (`Err(row)`: not a row that was sent); and how many rows were cited.
    Rows(Vec<Result<u32, u32>>, usize),
}

impl Cited {
    fn len(&self) -> usize {
        match self {
            Cited::Ids(ids) => ids.len(),
            Cited::Rows(_, n) => *n,
        }
    }
}

impl Raw {
    /// A 0.1.0 result: findings cited by id (resolved against the context in [`validate`]).
    fn from(result: Result<v1::types::Outcome, v1::types::CheckError>) -> Raw {
        match result {
            Err(e) => Raw::Error(check_error_reason(e.into())),
            Ok(o) => Raw::Outcome {
                status: o.status.into(),
                score: o.score,
                reason: o.reason,
                cited: Cited::Ids(o.finding_ids),
            },
        }
    }

    /// A 0.2.0 result: findings cited by row of the batch's input, mapped to context indexes.
    fn cite_rows(result: Result<v2::types::Outcome, v2::types::CheckError>, rows: &[u32]) -> Raw {
        match result {
            Err(e) => Raw::Error(check_error_reason(e.into())),
            Ok(o) => Raw::Outcome {
                status: o.status.into(),
                score: o.score,
                reason: o.reason,
                cited: Cited::Rows(
                    o.findings
                        .iter()
                        .take(MAX_CITED_RESOLVED)
                        .map(|&row| rows.get(row as usize).copied().ok_or(row))
                        .collect(),
                    o.findings.len(),
                ),
            },
        }
    }
}

/// `status` and `check-error` have the same shape in both revisions: one mapping for each.
macro_rules! map_revision_types {
    ($($rev:ident),+) => {$(
        impl From<$rev::types::Status> for OutcomeStatus {
            fn from(status: $rev::types::Status) -> Self {
                use $rev::types::Status as S;
                match status {
                    S::Pass => OutcomeStatus::Pass,
                    S::Partial => OutcomeStatus::Partial,
                    S::Fail => OutcomeStatus::Fail,
                    S::NotApplicable => OutcomeStatus::NotApplicable,
                }
            }
        }

        impl From<$rev::types::CheckError> for CheckError {
            fn from(error: $rev::types::CheckError) -> Self {
                use $rev::types::CheckError as E;
                match error {
                    E::UnknownCheckType(s) => CheckError::UnknownCheckType(s),
                    E::UnknownPassCondition(s) => CheckError::UnknownPassCondition(s),
                    E::InvalidParam(s) => CheckError::InvalidParam(s),
                    E::Internal(s) => CheckError::Internal(s),
                }
            }
        }
    )+};
}
map_revision_types!(v1, v2);

/// Rows resolved per outcome; more than this is rejected by the `max_finding_ids` cap anyway.
const MAX_CITED_RESOLVED: usize = 100_000;

/// Why a control could not be evaluated, in either revision.
enum CheckError {
    UnknownCheckType(String),
    UnknownPassCondition(String),
    InvalidParam(String),
    Internal(String),
}

/// Checks one plugin result against the output caps; anything off is an `error` outcome.
fn validate(
    control: &ControlSpec,
    result: Raw,
    who: &PluginRef,
    limits: &PluginLimits,
    context: &ScanContext,
) -> ControlOutcome {
    let error = |reason: String| error_outcome(control, who, reason);
    let (status, score, reason, cited) = match result {
        Raw::Error(reason) => return error(reason),
        Raw::Outcome {
            status,
            score,
            reason,
            cited,
        } => (status, score, reason, cited),
    };
    if score > 100 {
        return error(format!("malformed output: score {score} is above 100"));
    }
    if reason.len() > limits.max_reason_bytes {
        return error(format!(
            "malformed output: reason exceeds {} bytes",
            limits.max_reason_bytes
        ));
    }
    if cited.len() > limits.max_finding_ids {
        return error(format!(
            "malformed output: cites more than {} findings",
            limits.max_finding_ids
        ));
    }
    let finding_ids = match cited {
        Cited::Ids(ids) => {
            let known: HashSet<&str> = context.findings.iter().map(|f| f.id.as_str()).collect();
            if let Some(unknown) = ids.iter().find(|id| !known.contains(id.as_str())) {
                return error(format!(
                    "malformed output: cites unknown finding id {unknown:?}"
                ));
            }
            ids
        }
        Cited::Rows(rows, _) => {
            let mut ids = Vec::with_capacity(rows.len());
            for row in rows {
                match row.map(|i| context.findings.get(i as usize)) {
                    Ok(Some(f)) => ids.push(f.id.clone()),
                    Ok(None) | Err(_) => {
                        let row = row.unwrap_or_else(|raw| raw);
                        return error(format!(
                            "malformed output: cites unknown finding row {row} (not a row sent)"
                        ));
                    }
                }
            }
            ids
        }
    };
    ControlOutcome {
        control_id: control.id.clone(),
        status,
        score,
        reason,
        finding_ids,
        plugin: who.clone(),
    }
}

fn check_error_reason(e: CheckError) -> String {
    match e {
        CheckError::UnknownCheckType(s) => format!("unknown check_type: {s}"),
        CheckError::UnknownPassCondition(s) => format!("unknown pass_condition: {s}"),
        CheckError::InvalidParam(s) => format!("invalid parameter: {s}"),
        CheckError::Internal(s) => format!("plugin error: {s}"),
    }
    .chars()
    .take(2048)
    .collect()
}

pub fn error_outcome(control: &ControlSpec, who: &PluginRef, reason: String) -> ControlOutcome {
    ControlOutcome {
        control_id: control.id.clone(),
        status: OutcomeStatus::Error,
        score: 0,
        reason,
        finding_ids: Vec::new(),
        plugin: who.clone(),
    }
}

fn all_errors(controls: &[ControlSpec], who: &PluginRef, reason: &str) -> Vec<ControlOutcome> {
    controls
        .iter()
        .map(|c| error_outcome(c, who, reason.to_owned()))
        .collect()
}

/// Names the first missing export or unexpected import, for a 422 that says what is wrong.
fn check_world(engine: &Engine, component: &Component) -> Result<(), LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    for required in ["describe", "evaluate"] {
        if !exports.iter().any(|e| e == required) {
            return Err(LoadError::WrongWorld(format!(
                "missing export `{required}`"
            )));
        }
    }
    for (name, _) in ty.imports(engine) {
        if !name.starts_with("grc:plugin/") {
            return Err(LoadError::WrongWorld(format!(
                "imports `{name}`, but plugins may only import grc:plugin/host (no WASI, clock, filesystem or network)"
            )));
        }
    }
    Ok(())
}
