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
//! What the plugins see is the scan's **assessment** (`compliance::assessment`): the newest
//! results of each tool, merged across uploads. The outcomes record the assessment they were
//! computed from; when a scan's assessment changes (an earlier upload of another tool arrived
//! late), its stored outcomes are discarded and recomputed. A control whose kind of scanner is
//! not covered by a fresh tool is `not_assessed` (`assessment::gate`).
//!
//! `evidence` controls are not evaluated here: they depend on linked evidence, not on the scan.

use super::{
    assessment::{self, CoverageState, Part},
    catalog::{Control, EVIDENCE_CHECK_TYPE, Framework},
    selection::OrgSelection,
};
use crate::{
    compliance::catalog::Catalog,
    domain::time,
    plugins::{
        PluginHost, Providers,
        model::{
            ControlSpec, Finding, OutcomeStatus, PluginRef, QualityGate, RepositoryInfo,
            ScanContext, ScanInfo,
        },
        scheduler::Busy,
    },
    scans::scanners::Scanners,
    store::{self, TenantTx, repositories::Repository, scans::ScanRecord},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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
    /// The assessment the outcomes were computed from (each tool's newest scan).
    #[serde(default)]
    pub basis: Vec<Part>,
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

/// A scan's evaluation, read from the database and ready to run without it: the outcomes kept,
/// the controls still to evaluate, what the plugins will see, and the org's plugins.
pub struct Pending {
    scan_id: String,
    /// When the evaluation started (stored as the scan's `evaluated_at`).
    started: String,
    outcomes: Outcomes,
    /// Outcome key and spec of each control to evaluate.
    missing: Vec<(String, String, ControlSpec)>,
    context: Option<ScanContext>,
    providers: Providers,
}

/// Evaluated outcomes; [`Evaluated::save`] persists them when anything was evaluated.
pub struct Evaluated {
    scan_id: String,
    started: String,
    pub outcomes: Outcomes,
    changed: bool,
}

/// Reads what evaluating `wanted` on the scan needs: the stored outcomes (kept unless `refresh`
/// discards them or the scan's assessment changed), and, when some control is missing or stale,
/// the assessment's findings (the scan's own unless the caller has them, as at ingestion, plus
/// the other tools' from their scans) and the org's plugins for those controls. `earlier` is the
/// repository's scans, newest first ([`store::scans::received_until`]). Call it in a short
/// transaction, then [`run`] with none.
pub async fn prepare(
    tx: &mut TenantTx,
    plugins: &PluginHost,
    (repo, scan, earlier): (&Repository, &ScanRecord, &[ScanRecord]),
    findings: Option<Vec<Finding>>,
    wanted: &[(&Framework, &Control)],
    refresh: Refresh,
) -> anyhow::Result<Pending> {
    let basis = assessment::basis(scan, earlier);
    let stored: Option<Outcomes> = scan
        .outcomes
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| anyhow::anyhow!("scan {} has unreadable stored outcomes: {e}", scan.id))?;
    let now = Utc::now();
    let stored = stored.filter(|s| s.basis == basis);
    let outcomes = match (stored, refresh) {
        (Some(stored), Refresh::Missing) => stored,
        (Some(stored), Refresh::IfStale)
            if stored.as_of().is_some_and(|t| now - t <= LIVE_MAX_AGE) =>
        {
            stored
        }
        _ => Outcomes {
            as_of: time::format(now),
            basis,
            controls: BTreeMap::new(),
        },
    };
    let missing: Vec<(String, String, ControlSpec)> = wanted
        .iter()
        .filter(|(fw, c)| c.check_type != EVIDENCE_CHECK_TYPE && outcomes.get(&fw.key, c).is_none())
        .map(|(fw, c)| {
            (
                control_key(&fw.key, &c.id),
                spec_of(c),
                ControlSpec {
                    id: c.id.clone(),
                    framework: fw.key.clone(),
                    check_type: c.check_type.clone(),
                    pass_condition: c.pass_condition.clone(),
                    params: c.params.clone(),
                },
            )
        })
        .collect();
    let (context, providers) = if missing.is_empty() {
        (None, Providers::default())
    } else {
        let own = match findings {
            Some(findings) => findings,
            None => stored_findings(tx, &scan.id).await?,
        };
        let mut by_scan = HashMap::from([(scan.id.clone(), own)]);
        for id in assessment::other_scans(&outcomes.basis, &scan.id) {
            by_scan.insert(id.to_owned(), stored_findings(tx, id).await?);
        }
        let findings = assessment::merge_findings(&outcomes.basis, &scan.id, by_scan);
        let as_of = outcomes.as_of().unwrap_or(now);
        let specs: Vec<ControlSpec> = missing.iter().map(|(_, _, spec)| spec.clone()).collect();
        (
            Some(context(repo, scan, &outcomes.basis, findings, as_of)),
            plugins.providers(tx, &specs).await?,
        )
    };
    Ok(Pending {
        scan_id: scan.id.clone(),
        started: time::format(now),
        outcomes,
        missing,
        context,
        providers,
    })
}

/// Runs the plugins on what [`prepare`] read. Holds no transaction and no connection.
/// A capacity refusal is [`Busy`]: nothing was evaluated, nothing is to be stored.
pub async fn run(plugins: &PluginHost, org_id: &str, pending: Pending) -> Result<Evaluated, Busy> {
    let Pending {
        scan_id,
        started,
        mut outcomes,
        missing,
        context,
        providers,
    } = pending;
    let Some(context) = context.filter(|_| !missing.is_empty()) else {
        return Ok(Evaluated {
            scan_id,
            started,
            outcomes,
            changed: false,
        });
    };
    let specs: Vec<ControlSpec> = missing.iter().map(|(_, _, spec)| spec.clone()).collect();
    let results = plugins
        .evaluate_controls(org_id, &providers, &context, &specs)
        .await?;
    let coverage = CoverageState::of(&outcomes.basis, outcomes.as_of().unwrap_or_else(Utc::now));
    for ((key, spec, control), outcome) in missing.into_iter().zip(results) {
        let needs = Scanners::get().needs(&control.check_type);
        let (status, reason) = assessment::gate(needs, &coverage, outcome.status, outcome.reason);
        outcomes.controls.insert(
            key,
            StoredOutcome {
                spec,
                status,
                score: outcome.score,
                reason,
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
    Ok(Evaluated {
        scan_id,
        started,
        outcomes,
        changed: true,
    })
}

impl Evaluated {
    /// The stored form (JSON) of the outcomes.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&self.outcomes)?)
    }

    /// Persists the outcomes on the scan when anything was evaluated.
    pub async fn save(&self, tx: &mut TenantTx) -> anyhow::Result<()> {
        if self.changed {
            store::scans::save_outcomes(tx, &self.scan_id, &self.to_json()?, &self.started).await?;
        }
        Ok(())
    }

    pub fn changed(&self) -> bool {
        self.changed
    }
}

async fn stored_findings(tx: &mut TenantTx, scan_id: &str) -> anyhow::Result<Vec<Finding>> {
    let raw = store::scans::findings(tx, scan_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("scan {scan_id} has no findings row"))?;
    Ok(serde_json::from_str(&raw)?)
}

/// What the plugins see: the repository, the scan's metadata, the assessment's tools and
/// findings, and `now`.
fn context(
    repo: &Repository,
    scan: &ScanRecord,
    basis: &[Part],
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
            tools: basis.iter().map(|p| p.tool.clone()).collect(),
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
