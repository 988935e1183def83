//! Seed 002 scores and trends: `GET /api/compliance/score/{repo_id}[?framework=]` and
//! `GET /api/compliance/trend/{repo_id}?framework=&days=`, plus their org-scoped twins.
//! Both read persisted outcomes and apply the org's current selection (enabled frameworks,
//! disabled controls) at read time.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{OrgScope, Path, Query},
    repositories,
};
use crate::{
    app::AppState,
    authn::Caller,
    authz::{Action, Authorized, Resource},
    compliance::{
        assessment,
        catalog::{Control, Framework},
        evaluate::{self, Outcomes, Refresh},
        evidence::EvidenceIndex,
        score::{self, ExecutiveSummary, FrameworkScore, Inputs},
        selection::OrgSelection,
    },
    domain::time,
    store::{self, TenantTx},
};
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Most points one trend returns: the newest scans of the window.
const MAX_TREND_POINTS: i64 = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_score))
        .routes(routes!(get_trend))
}

#[derive(Deserialize)]
pub struct RepoIdPath {
    pub repo_id: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScoreQuery {
    /// Limit the response to one enabled framework.
    pub framework: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// One enabled framework; without it, the overall score.
    pub framework: Option<String>,
    /// Window in days, 1–365 (default 90).
    #[param(minimum = 1, maximum = 365)]
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ScoreReport {
    pub repo_id: i64,
    pub repo_name: String,
    /// When the outcomes were evaluated (the `now` the plugins saw); null without a scan.
    pub evaluated_at: Option<String>,
    /// When the latest scan completed (the scanner's clock); null without a scan.
    pub last_scan: Option<String>,
    /// The latest upload, whose assessment this is.
    pub scan_id: Option<String>,
    /// Findings in the assessment (each tool's newest results).
    pub total_issues: i64,
    /// The assessment: each tool's newest scan, by receive time.
    pub assessment: Vec<assessment::Part>,
    pub executive_summary: ExecutiveSummary,
    pub frameworks: BTreeMap<String, FrameworkScore>,
}

#[derive(Serialize, ToSchema)]
pub struct TrendPoint {
    pub scan_id: String,
    /// When the server received the scan (points are ordered by this).
    pub received_at: String,
    /// The scanner's own completion time.
    pub completed_at: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub score: u32,
    pub pass: usize,
    pub partial: usize,
    pub fail: usize,
    pub total: usize,
    /// Controls whose kind of scanner had not run (or had gone stale) at this point.
    pub not_assessed: usize,
    pub posture: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Trend {
    pub repo_id: i64,
    /// The framework, or null for the overall score.
    pub framework: Option<String>,
    pub days: i64,
    /// One point per scan received in the window (the assessment after it), oldest first.
    pub points: Vec<TrendPoint>,
}

/// The frameworks a read covers: one (which must be enabled) or every enabled one.
fn frameworks_for<'a>(
    state: &'a AppState,
    selection: &'a OrgSelection,
    only: Option<&str>,
) -> ApiResult<Vec<&'a Framework>> {
    match only {
        Some(key) => {
            let fw = selection
                .framework(&state.catalog, key)
                .ok_or_else(|| ApiError::NotFound(format!("Framework not found: {key}")))?;
            if !selection.is_enabled(fw) {
                return Err(ApiError::BadRequest(json!(format!(
                    "Framework {key} is not enabled for this organization"
                ))));
            }
            Ok(vec![fw])
        }
        None => Ok(selection.enabled(&state.catalog).collect()),
    }
}

/// The controls the read needs outcomes for: enabled, not disabled.
fn wanted<'a>(
    selection: &'a OrgSelection,
    frameworks: &[&'a Framework],
) -> Vec<(&'a Framework, &'a Control)> {
    frameworks
        .iter()
        .flat_map(|fw| {
            let disabled = selection.disabled_in(&fw.key);
            fw.controls
                .iter()
                .filter(move |c| !disabled.contains(&c.id))
                .map(move |c| (*fw, c))
        })
        .collect()
}

fn score_frameworks(
    selection: &OrgSelection,
    frameworks: &[&Framework],
    inputs: &Inputs,
) -> BTreeMap<String, FrameworkScore> {
    frameworks
        .iter()
        .map(|fw| {
            (
                fw.key.clone(),
                score::framework_score(fw, selection.disabled_in(&fw.key), inputs),
            )
        })
        .collect()
}

/// The executive summary of `outcomes` over every enabled framework: what a score read would
/// say about them (the alert sources compare two of these).
pub(crate) fn summary_of(
    state: &AppState,
    selection: &OrgSelection,
    evidence: &EvidenceIndex,
    outcomes: &Outcomes,
) -> ExecutiveSummary {
    let frameworks: Vec<&Framework> = selection.enabled(&state.catalog).collect();
    let inputs = Inputs {
        outcomes,
        evidence,
        at: Utc::now(),
    };
    score::summarize(&score_frameworks(selection, &frameworks, &inputs))
}

/// What evidence controls are scored from: linked evidence and published policies.
pub(crate) async fn evidence_index(tx: &mut TenantTx) -> ApiResult<EvidenceIndex> {
    let links = store::evidence::all_links(tx).await?;
    let policies = store::compliance_policies::published(tx)
        .await?
        .iter()
        .filter_map(|(p, v)| crate::governance::standing::PublishedPolicy::from_store(p, v))
        .collect();
    Ok(EvidenceIndex::new(links).with_policies(policies))
}

/// Evaluates what [`evaluate::prepare`] read (no transaction open), then stores whatever was
/// evaluated in one short write, so the next read finds it. Storing is a cache fill, not a change
/// anyone made: it is not audited.
async fn run_and_store(
    state: &AppState,
    org_id: &str,
    pending: Vec<evaluate::Pending>,
) -> ApiResult<Vec<Outcomes>> {
    let mut evaluated = Vec::with_capacity(pending.len());
    for p in pending {
        evaluated.push(evaluate::run(&state.plugins, org_id, p).await?);
    }
    if evaluated.iter().any(evaluate::Evaluated::changed) {
        let mut tx = state.db.write_tx(org_id).await?;
        for e in &evaluated {
            e.save(&mut tx).await?;
        }
        tx.commit().await?;
    }
    Ok(evaluated.into_iter().map(|e| e.outcomes).collect())
}

/// Scores for every enabled framework (or one), from the repository's latest scan. Disabled
/// controls are excluded. Without any scan the score is 0 and the posture "Not assessed".
#[utoipa::path(get, path = "/score/{repo_id}", tag = "compliance",
    params(("repo_id" = i64, Path), ScoreQuery),
    responses((status = 200, body = ScoreReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_score(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<RepoIdPath>,
    Query(query): Query<ScoreQuery>,
) -> ApiResult<axum::Json<ScoreReport>> {
    let org_id = scope.resolve(&caller)?;
    let (tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ComplianceRead,
        Resource::Org,
    )
    .await?;
    let report = score_report(&state, tx, &auth, path.repo_id, query.framework.as_deref()).await?;
    Ok(axum::Json(report))
}

/// A repository's score report (what `GET /score/{repo_id}` answers), read through `tx`, which
/// is released before any plugin runs.
pub(crate) async fn score_report(
    state: &AppState,
    mut tx: TenantTx,
    auth: &Authorized,
    repo_id: i64,
    framework: Option<&str>,
) -> ApiResult<ScoreReport> {
    let org_id = auth.org.id.clone();
    let repo = repositories::find(&mut tx, repo_id).await?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    let frameworks = frameworks_for(state, &selection, framework)?;
    let evidence = evidence_index(&mut tx).await?;
    let Some(scan) = store::scans::latest(&mut tx, repo.id).await? else {
        let inputs = Inputs {
            outcomes: &Outcomes::default(),
            evidence: &evidence,
            at: Utc::now(),
        };
        let scored = score_frameworks(&selection, &[], &inputs);
        return Ok(ScoreReport {
            repo_id: repo.id,
            repo_name: repo.name,
            evaluated_at: None,
            last_scan: None,
            scan_id: None,
            total_issues: 0,
            assessment: Vec::new(),
            executive_summary: score::summarize(&scored),
            frameworks: scored,
        });
    };
    let wanted = wanted(&selection, &frameworks);
    let earlier = super::scans::earlier_scans(&mut tx, &scan).await?;
    let pending = evaluate::prepare(
        &mut tx,
        &state.plugins,
        (&repo, &scan, &earlier),
        None,
        &wanted,
        Refresh::IfStale,
    )
    .await?;
    drop(tx);
    let outcomes = run_and_store(state, &org_id, vec![pending])
        .await?
        .pop()
        .unwrap_or_default();
    let scans: Vec<&store::scans::ScanRecord> = std::iter::once(&scan).chain(&earlier).collect();
    let total_issues = assessment::finding_total(&outcomes.basis, &scans);
    let inputs = Inputs {
        outcomes: &outcomes,
        evidence: &evidence,
        at: Utc::now(),
    };
    let scored = score_frameworks(&selection, &frameworks, &inputs);
    Ok(ScoreReport {
        repo_id: repo.id,
        repo_name: repo.name,
        evaluated_at: Some(outcomes.as_of),
        last_scan: Some(scan.completed_at),
        scan_id: Some(scan.id),
        total_issues,
        assessment: outcomes.basis,
        executive_summary: score::summarize(&scored),
        frameworks: scored,
    })
}

/// The score at each completed scan in the window, oldest first. A framework that is not
/// enabled is a 400.
#[utoipa::path(get, path = "/trend/{repo_id}", tag = "compliance",
    params(("repo_id" = i64, Path), TrendQuery),
    responses((status = 200, body = Trend), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_trend(
    State(state): State<AppState>,
    caller: Caller,
    scope: OrgScope,
    Path(path): Path<RepoIdPath>,
    Query(query): Query<TrendQuery>,
) -> ApiResult<axum::Json<Trend>> {
    let days = query.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::unprocessable(
            json!(["query", "days"]),
            "days must be 1–365",
            "value_error",
        ));
    }
    let org_id = scope.resolve(&caller)?;
    let (tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ComplianceRead,
        Resource::Org,
    )
    .await?;
    let trend = trend_report(&state, tx, &auth, path.repo_id, query.framework, days).await?;
    Ok(axum::Json(trend))
}

/// The score at each scan received in the last `days` (what `GET /trend/{repo_id}` answers),
/// read through `tx`, which is released before any plugin runs.
pub(crate) async fn trend_report(
    state: &AppState,
    mut tx: TenantTx,
    auth: &Authorized,
    repo_id: i64,
    framework: Option<String>,
    days: i64,
) -> ApiResult<Trend> {
    let org_id = auth.org.id.clone();
    let repo = repositories::find(&mut tx, repo_id).await?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    let frameworks = frameworks_for(state, &selection, framework.as_deref())?;
    let wanted = wanted(&selection, &frameworks);
    let since = time::format(Utc::now() - chrono::Duration::days(days));
    let scans = store::scans::received_since(&mut tx, repo.id, &since, MAX_TREND_POINTS).await?;
    let earlier = match scans.last() {
        Some(newest) => {
            store::scans::received_until(
                &mut tx,
                repo.id,
                &newest.received_at,
                MAX_TREND_POINTS + assessment::LOOKBACK_SCANS,
            )
            .await?
        }
        None => Vec::new(),
    };
    let evidence = evidence_index(&mut tx).await?;
    let mut pending = Vec::with_capacity(scans.len());
    for scan in &scans {
        pending.push(
            evaluate::prepare(
                &mut tx,
                &state.plugins,
                (&repo, scan, &earlier),
                None,
                &wanted,
                Refresh::Missing,
            )
            .await?,
        );
    }
    drop(tx);
    let all_outcomes = run_and_store(state, &org_id, pending).await?;
    let mut points = Vec::with_capacity(scans.len());
    for (scan, outcomes) in scans.into_iter().zip(all_outcomes) {
        // Each point counts the evidence that was in force when its scan was received.
        let at = time::parse(&scan.received_at).unwrap_or_else(Utc::now);
        let inputs = Inputs {
            outcomes: &outcomes,
            evidence: &evidence,
            at,
        };
        let scored = score_frameworks(&selection, &frameworks, &inputs);
        let summary = score::summarize(&scored);
        let (score, pass, partial, fail, total, not_assessed) = match framework.as_deref() {
            Some(key) => scored
                .get(key)
                .map(|f| (f.score, f.pass, f.partial, f.fail, f.total, f.not_assessed))
                .unwrap_or_default(),
            None => (
                summary.overall_score,
                summary.passing,
                summary.partial,
                summary.failing,
                summary.total_controls,
                summary.not_assessed,
            ),
        };
        points.push(TrendPoint {
            scan_id: scan.id,
            received_at: scan.received_at,
            completed_at: scan.completed_at,
            commit: scan.commit,
            branch: scan.branch,
            score,
            pass,
            partial,
            fail,
            total,
            not_assessed,
            posture: score::posture(score, total),
        });
    }
    Ok(Trend {
        repo_id: repo.id,
        framework,
        days,
        points,
    })
}
