//! Evaluating a scan's controls through the plugin runtime, and persisting the outcomes.
//!
//! A scan is evaluated once, at ingestion, for **every** control the org's plan allows — enabled
//! or not, disabled or not — so that changing the selection never needs a plugin call: the
//! selection is applied when a score is read. The outcomes are stored on the scan, keyed by
//! `framework:control` together with the control's evaluation spec (check_type, pass condition,
//! params). A control whose spec changed (an edited custom framework) or that is new (a new
//! custom framework) is evaluated on first read and stored. Everything is re-evaluated on an
//! explicit rescore, and the latest scan also when its stored evaluation is older than
//! [`LIVE_MAX_AGE`] (clock-dependent checks such as `scan_recency` then see the current time).
//!
//! `evidence` controls are not evaluated here: they depend on linked evidence, not on the scan.

use super::{
    catalog::{Control, EVIDENCE_CHECK_TYPE, Framework},
    selection::OrgSelection,
};
use crate::{
    compliance::catalog::Catalog,
    domain::time,
    plugins::{
        PluginHost,
        model::{
            ControlSpec, Finding, OutcomeStatus, PluginRef, QualityGate, RepositoryInfo,
            ScanContext, ScanInfo,
        },
    },
    store::{self, TenantTx, repositories::Repository, scans::ScanRecord},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How old the latest scan's evaluation may get before a score read re-evaluates it.
pub const LIVE_MAX_AGE: chrono::Duration = chrono::Duration::hours(1);
/// Finding ids kept per outcome (the full count is kept too).
pub const KEPT_FINDING_IDS: usize = 20;

/// One control's persisted outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredOutcome {
    /// The evaluation spec it was computed for (see [`spec_of`]).
    pub spec: String,
    pub status: OutcomeStatus,
    pub score: u8,
    pub reason: String,
    pub finding_count: usize,
    pub finding_ids: Vec<String>,
    pub plugin: PluginRef,
}

/// A scan's persisted outcomes, all evaluated as of the same instant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcomes {
    /// The `now` the plugins saw (RFC 3339).
    pub as_of: String,
    pub controls: BTreeMap<String, StoredOutcome>,
}

impl Outcomes {
    pub fn get(&self, framework: &str, control: &Control) -> Option<&StoredOutcome> {
        self.controls
            .get(&control_key(framework, &control.id))
            .filter(|o| o.spec == spec_of(control))
    }

    fn as_of(&self) -> Option<DateTime<Utc>> {
        time::parse(&self.as_of)
    }
}

/// When to discard stored outcomes before evaluating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Keep what is stored; evaluate only missing or changed controls.
    Missing,
    /// Re-evaluate everything if the stored evaluation is older than [`LIVE_MAX_AGE`].
    IfStale,
    /// Re-evaluate everything.
    All,
}

pub fn control_key(framework: &str, control_id: &str) -> String {
    format!("{framework}:{control_id}")
}

/// What an outcome depends on besides the scan: check_type, pass condition and params.
pub fn spec_of(control: &Control) -> String {
    let params = serde_json::to_string(&control.params).unwrap_or_default();
    format!(
        "{}\u{1f}{}\u{1f}{params}",
        control.check_type, control.pass_condition
    )
}

/// Every plugin-evaluated control of every framework the org's plan allows.
pub fn evaluable<'a>(
    selection: &'a OrgSelection,
    catalog: &'a Catalog,
) -> Vec<(&'a Framework, &'a Control)> {
    selection
        .frameworks(catalog)
        .filter(|fw| !selection.plan_locked(fw))
        .flat_map(|fw| fw.controls.iter().map(move |c| (fw, c)))
        .filter(|(_, c)| c.check_type != EVIDENCE_CHECK_TYPE)
        .collect()
}

/// The scan's outcomes for `wanted`, evaluating (and persisting) what is missing or stale.
/// `findings` saves reading them back when the caller has them (at ingestion).
pub async fn outcomes_for(
    tx: &mut TenantTx,
    plugins: &PluginHost,
    (repo, scan): (&Repository, &ScanRecord),
    findings: Option<Vec<Finding>>,
    wanted: &[(&Framework, &Control)],
    refresh: Refresh,
) -> anyhow::Result<Outcomes> {
    let stored: Option<Outcomes> = scan
        .outcomes
        .as_deref()
        .and_then(|raw| serde_json::from_str(raw).ok());
    let now = Utc::now();
    let mut outcomes = match (stored, refresh) {
        (Some(stored), Refresh::Missing) => stored,
        (Some(stored), Refresh::IfStale)
            if stored.as_of().is_some_and(|t| now - t <= LIVE_MAX_AGE) =>
        {
            stored
        }
        _ => Outcomes {
            as_of: time::format(now),
            controls: BTreeMap::new(),
        },
    };
    let missing: Vec<(&Framework, &Control)> = wanted
        .iter()
        .filter(|(fw, c)| c.check_type != EVIDENCE_CHECK_TYPE && outcomes.get(&fw.key, c).is_none())
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(outcomes);
    }
    let as_of = outcomes.as_of().unwrap_or(now);
    let findings = match findings {
        Some(findings) => findings,
        None => stored_findings(tx, scan).await?,
    };
    let context = context(repo, scan, findings, as_of);
    let specs: Vec<ControlSpec> = missing
        .iter()
        .map(|(fw, c)| ControlSpec {
            id: c.id.clone(),
            framework: fw.key.clone(),
            check_type: c.check_type.clone(),
            pass_condition: c.pass_condition.clone(),
            params: c.params.clone(),
        })
        .collect();
    let results = plugins.evaluate_controls(tx, &context, &specs).await;
    for ((fw, control), outcome) in missing.iter().zip(results) {
        outcomes.controls.insert(
            control_key(&fw.key, &control.id),
            StoredOutcome {
                spec: spec_of(control),
                status: outcome.status,
                score: outcome.score,
                reason: outcome.reason,
                finding_count: outcome.finding_ids.len(),
                finding_ids: outcome
                    .finding_ids
                    .into_iter()
                    .take(KEPT_FINDING_IDS)
                    .collect(),
                plugin: outcome.plugin,
            },
        );
    }
    store::scans::save_outcomes(
        tx,
        &scan.id,
        &serde_json::to_string(&outcomes)?,
        &time::format(now),
    )
    .await?;
    Ok(outcomes)
}

async fn stored_findings(tx: &mut TenantTx, scan: &ScanRecord) -> anyhow::Result<Vec<Finding>> {
    let raw = store::scans::findings(tx, &scan.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("scan {} has no findings row", scan.id))?;
    Ok(serde_json::from_str(&raw)?)
}

/// What the plugins see: the repository, the scan's metadata and findings, and `now`.
fn context(
    repo: &Repository,
    scan: &ScanRecord,
    findings: Vec<Finding>,
    now: DateTime<Utc>,
) -> ScanContext {
    ScanContext {
        repository: RepositoryInfo {
            id: repo.id.to_string(),
            name: repo.name.clone(),
            languages: repo.languages.clone(),
        },
        scan: ScanInfo {
            tools: scan.tools.clone(),
            commit: scan.commit.clone(),
            branch: scan.branch.clone(),
            completed_at: time::parse(&scan.completed_at),
            now: Some(now),
        },
        findings,
        pr_reviews: scan.pr_reviews(),
        quality_gate: serde_json::from_value(serde_json::Value::String(scan.quality_gate.clone()))
            .unwrap_or(QualityGate::Unknown),
    }
}
