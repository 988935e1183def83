//! WebAssembly check plugins: the single wasmtime runtime (`runtime`), its sandbox and limits,
//! and [`PluginHost`], which resolves a `check_type` to a plugin (the tenant's own if it has one
//! registered, otherwise the built-in) and evaluates controls through it. Every control is
//! scored by a plugin; there is no native shortcut.

pub mod artifacts;
mod bindings;
pub mod compiler;
pub mod description;
mod engine;
pub mod guests;
pub mod limits;
pub mod model;
pub mod precheck;
pub mod runtime;
mod sandbox;
pub mod scan_table;
pub mod scheduler;
pub mod wire;

use crate::store::{self, TenantTx};
use description::{FieldSet, PluginDescription};
use model::{ControlOutcome, ControlSpec, PluginRef, ScanContext};
use runtime::{CompiledPlugin, LoadError, PluginRuntime, error_outcome};
use scan_table::ScanTable;
use scheduler::Busy;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

/// check_types that are not plugin-provided but reserved by the host.
pub const HOST_RESERVED_CHECK_TYPES: &[&str] = &["evidence"];

/// A check_type resolved to the plugin that evaluates it.
#[derive(Clone)]
pub struct Resolved {
    pub compiled: Arc<CompiledPlugin>,
    pub who: PluginRef,
    pub description: PluginDescription,
}

pub struct PluginHost {
    runtime: PluginRuntime,
    builtin: Resolved,
}

impl PluginHost {
    /// Loads the embedded built-in checks; refuses to start if they do not load and describe.
    pub async fn start(runtime: PluginRuntime) -> anyhow::Result<Self> {
        let bytes = Arc::new(guests::BUILTIN_CHECKS.to_vec());
        let compiled = runtime
            .load(bytes)
            .await
            .map_err(|e| anyhow::anyhow!("built-in checks do not load: {e}"))?;
        let description = runtime
            .describe("host", &compiled, "builtin")
            .await
            .map_err(|e| anyhow::anyhow!("built-in describe() failed: {e}"))?;
        let who = PluginRef {
            id: "builtin".into(),
            name: description.name.clone(),
            version: description.version.clone(),
        };
        Ok(PluginHost {
            runtime,
            builtin: Resolved {
                compiled,
                who,
                description,
            },
        })
    }

    pub fn runtime(&self) -> &PluginRuntime {
        &self.runtime
    }

    pub fn builtin(&self) -> &Resolved {
        &self.builtin
    }

    /// Built-in check_type names (and host-reserved ones) cannot be claimed by tenants.
    pub fn is_reserved(&self, check_type: &str) -> bool {
        HOST_RESERVED_CHECK_TYPES.contains(&check_type)
            || self.builtin.description.check_type(check_type).is_some()
    }

    /// Reads what loading `record` needs: nothing when it is compiled in this process already,
    /// else its component bytes. Compiling happens later, in [`Self::load_tenant`], with no
    /// transaction held.
    pub async fn fetch(
        &self,
        tx: &mut TenantTx,
        record: store::plugins::PluginRecord,
    ) -> Result<Fetched, sqlx::Error> {
        let org_id = tx.org_id().to_owned();
        let component = match self.runtime.compiled(&org_id, &record.sha256) {
            Some(hit) => Component::Compiled(hit),
            None => Component::Bytes(Arc::new(
                store::plugins::component(tx, &record.id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?,
            )),
        };
        Ok(Fetched {
            org_id,
            record,
            component,
        })
    }

    /// Loads (compiling once per content hash) a fetched tenant plugin. Needs no database.
    pub async fn load_tenant(&self, fetched: &Fetched) -> Result<Resolved, LoadError> {
        let record = &fetched.record;
        let compiled = match &fetched.component {
            Component::Compiled(hit) => hit.clone(),
            Component::Bytes(bytes) => {
                self.runtime
                    .load_stored(&fetched.org_id, bytes.clone())
                    .await?
            }
        };
        let description =
            serde_json::from_str(&record.description).map_err(|e| LoadError::Internal(e.into()))?;
        Ok(Resolved {
            compiled,
            who: PluginRef {
                id: record.id.clone(),
                name: record.name.clone(),
                version: record.version.clone(),
            },
            description,
        })
    }

    /// Reads the org's providers of every check_type in `controls` that the built-in does not
    /// provide: one statement lists the enabled plugins' check_types (no descriptions, no
    /// components), then one record and one component read per plugin actually used. Linear in
    /// controls + plugins.
    pub async fn providers(
        &self,
        tx: &mut TenantTx,
        controls: &[ControlSpec],
    ) -> Result<Providers, sqlx::Error> {
        let mut provider_of: HashMap<String, String> = HashMap::new();
        for (id, check_types) in store::plugins::enabled_check_types(tx).await? {
            for check_type in check_types {
                // Upload refuses a second enabled provider; the oldest wins if one slipped in.
                provider_of.entry(check_type).or_insert_with(|| id.clone());
            }
        }
        let mut providers = Providers::default();
        for control in controls {
            let check_type = &control.check_type;
            if self.builtin.description.check_type(check_type).is_some()
                || providers.by_check_type.contains_key(check_type)
            {
                continue;
            }
            let provider = provider_of.get(check_type).cloned();
            if let Some(id) = &provider
                && !providers.plugins.contains_key(id)
            {
                let record = store::plugins::find(tx, id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                let fetched = self.fetch(tx, record).await?;
                providers.plugins.insert(id.clone(), fetched);
            }
            providers.by_check_type.insert(check_type.clone(), provider);
        }
        Ok(providers)
    }

    /// Evaluates controls, one batch per resolved plugin, returning outcomes in input order.
    /// A check_type nobody provides, or a plugin that fails to load, yields `error` outcomes.
    /// A capacity refusal (no evaluation slot, compile queue full) is [`Busy`] for the whole
    /// call, never an outcome: the caller stores nothing and the client retries. Runs with no
    /// database access: `providers` was read beforehand.
    pub async fn evaluate_controls(
        &self,
        org_id: &str,
        providers: &Providers,
        context: &ScanContext,
        controls: &[ControlSpec],
    ) -> Result<Vec<ControlOutcome>, Busy> {
        let mut batches: BTreeMap<String, (Resolved, Vec<usize>)> = BTreeMap::new();
        let mut failures: BTreeMap<usize, ControlOutcome> = BTreeMap::new();
        for (i, control) in controls.iter().enumerate() {
            if let Some((_, idx)) = batches
                .values_mut()
                .find(|(r, _)| r.description.check_type(&control.check_type).is_some())
            {
                idx.push(i);
                continue;
            }
            match self.resolve(providers, &control.check_type).await {
                Ok(Some(resolved)) => {
                    batches.insert(resolved.who.id.clone(), (resolved, vec![i]));
                }
                Ok(None) => {
                    failures.insert(
                        i,
                        error_outcome(
                            control,
                            &self.builtin.who,
                            format!("unknown check_type {:?}", control.check_type),
                        ),
                    );
                }
                Err(LoadError::Busy(busy)) => return Err(busy),
                Err(e) => {
                    failures.insert(
                        i,
                        error_outcome(
                            control,
                            &self.builtin.who,
                            format!("plugin could not be loaded: {e}"),
                        ),
                    );
                }
            }
        }
        let mut outcomes: Vec<Option<ControlOutcome>> = vec![None; controls.len()];
        for (i, outcome) in failures {
            outcomes[i] = Some(outcome);
        }
        let batches: Vec<_> = batches
            .into_values()
            .map(|(resolved, indices)| {
                let batch: Vec<ControlSpec> =
                    indices.iter().map(|&i| controls[i].clone()).collect();
                let reads = resolved.description.reads_for(&batch);
                (resolved, indices, batch, reads)
            })
            .collect();
        // The scan's strings are interned once, for the columns any 0.2.0 batch reads (a 0.1.0
        // plugin is sent its own copy of everything).
        let columns = batches
            .iter()
            .filter(|(resolved, ..)| resolved.compiled.wit_version() != "0.1.0")
            .fold(FieldSet::default(), |all, (.., reads)| {
                all.union(reads.columns())
            });
        let table = ScanTable::build(context, columns);
        for (resolved, indices, batch, reads) in batches {
            let results = self
                .runtime
                .evaluate_scan(
                    org_id,
                    &resolved.compiled,
                    &resolved.who,
                    context,
                    Some(&table),
                    &reads,
                    &batch,
                )
                .await?;
            for (i, outcome) in indices.into_iter().zip(results) {
                outcomes[i] = Some(outcome);
            }
        }
        Ok(outcomes
            .into_iter()
            .zip(controls)
            .map(|(o, c)| {
                o.unwrap_or_else(|| error_outcome(c, &self.builtin.who, "not evaluated".into()))
            })
            .collect())
    }

    /// The tenant's own enabled plugin for `check_type`, else the built-in, else `None`.
    async fn resolve(
        &self,
        providers: &Providers,
        check_type: &str,
    ) -> Result<Option<Resolved>, LoadError> {
        if self.builtin.description.check_type(check_type).is_some() {
            return Ok(Some(self.builtin.clone()));
        }
        match providers.provider(check_type) {
            Some(fetched) => self.load_tenant(fetched).await.map(Some),
            None => Ok(None),
        }
    }
}

/// A stored tenant plugin, ready to load without the database.
pub struct Fetched {
    org_id: String,
    pub record: store::plugins::PluginRecord,
    component: Component,
}

enum Component {
    /// Already compiled in this process (held, so it cannot be evicted meanwhile).
    Compiled(Arc<CompiledPlugin>),
    /// The uploaded component, to compile.
    Bytes(Arc<Vec<u8>>),
}

/// The org's plugins for a set of check_types, read in one short transaction.
#[derive(Default)]
pub struct Providers {
    by_check_type: BTreeMap<String, Option<String>>,
    plugins: BTreeMap<String, Fetched>,
}

impl Providers {
    fn provider(&self, check_type: &str) -> Option<&Fetched> {
        let id = self.by_check_type.get(check_type)?.as_ref()?;
        self.plugins.get(id)
    }
}
