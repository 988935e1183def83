//! WebAssembly check plugins: the single wasmtime runtime (`runtime`), its sandbox and limits,
//! and [`PluginHost`], which resolves a `check_type` to a plugin (the tenant's own if it has one
//! registered, otherwise the built-in) and evaluates controls through it. Every control is
//! scored by a plugin; there is no native shortcut.

pub mod artifacts;
mod bindings;
pub mod description;
mod engine;
pub mod guests;
pub mod limits;
pub mod model;
pub mod runtime;
mod sandbox;

use crate::store::{self, TenantTx};
use description::PluginDescription;
use model::{ControlOutcome, ControlSpec, PluginRef, ScanContext};
use runtime::{CompiledPlugin, LoadError, PluginRuntime, error_outcome};
use std::{collections::BTreeMap, sync::Arc};

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
            .describe(&compiled, "builtin")
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

    /// Loads a stored tenant plugin by id (compiled once per content hash).
    pub async fn load_tenant(
        &self,
        tx: &mut TenantTx,
        record: &store::plugins::PluginRecord,
    ) -> Result<Resolved, LoadError> {
        // Already compiled in this process: skip reading the component bytes from the database.
        let compiled = match self.runtime.compiled(&record.sha256) {
            Some(hit) => hit,
            None => {
                let bytes = store::plugins::component(tx, &record.id)
                    .await
                    .map_err(|e| LoadError::Internal(e.into()))?
                    .ok_or_else(|| LoadError::Internal(anyhow::anyhow!("plugin bytes missing")))?;
                self.runtime.load_untrusted(Arc::new(bytes)).await?
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

    /// The tenant's own enabled plugin for `check_type`, else the built-in, else `None`.
    pub async fn resolve(
        &self,
        tx: &mut TenantTx,
        check_type: &str,
    ) -> Result<Option<Resolved>, LoadError> {
        if self.builtin.description.check_type(check_type).is_some() {
            return Ok(Some(self.builtin.clone()));
        }
        let record = store::plugins::enabled_for_check_type(tx, check_type)
            .await
            .map_err(|e| LoadError::Internal(e.into()))?;
        match record {
            Some(record) => self.load_tenant(tx, &record).await.map(Some),
            None => Ok(None),
        }
    }

    /// Evaluates controls, one batch per resolved plugin, returning outcomes in input order.
    /// A check_type nobody provides, or a plugin that fails to load, yields `error` outcomes.
    pub async fn evaluate_controls(
        &self,
        tx: &mut TenantTx,
        context: &ScanContext,
        controls: &[ControlSpec],
    ) -> Vec<ControlOutcome> {
        let mut batches: BTreeMap<String, (Option<Resolved>, Vec<usize>)> = BTreeMap::new();
        let mut failures: BTreeMap<usize, ControlOutcome> = BTreeMap::new();
        for (i, control) in controls.iter().enumerate() {
            if let Some((_, idx)) = batches.values_mut().find(|(r, _)| {
                r.as_ref()
                    .is_some_and(|r| r.description.check_type(&control.check_type).is_some())
            }) {
                idx.push(i);
                continue;
            }
            match self.resolve(tx, &control.check_type).await {
                Ok(Some(resolved)) => {
                    batches.insert(resolved.who.id.clone(), (Some(resolved), vec![i]));
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
        for (_, (resolved, indices)) in batches {
            let Some(resolved) = resolved else { continue };
            let batch: Vec<ControlSpec> = indices.iter().map(|&i| controls[i].clone()).collect();
            let results = self
                .runtime
                .evaluate(
                    tx.org_id(),
                    &resolved.compiled,
                    &resolved.who,
                    context,
                    &batch,
                )
                .await;
            for (i, outcome) in indices.into_iter().zip(results) {
                outcomes[i] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .zip(controls)
            .map(|(o, c)| {
                o.unwrap_or_else(|| error_outcome(c, &self.builtin.who, "not evaluated".into()))
            })
            .collect()
    }
}
