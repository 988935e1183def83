//! Scans of a repository under `/api/v1/orgs/{org_id}/repos/{repo_id}/scans`: ingestion (our
//! JSON format or SARIF 2.1.0), listing, and explicit rescoring. Ingestion scores the scan once,
//! through the plugin runtime, and persists the outcomes (see `compliance::evaluate`).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Path, Query},
    repositories::{self, Page},
    write,
};
use crate::{
    alerting::{self, raise},
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Authorized, Resource},
    compliance::{
        evaluate::{self, Outcomes, Refresh},
        selection::OrgSelection,
    },
    domain::time,
    plugins::model::{OutcomeStatus, PrReviews, QualityGate},
    scans::{self, ParsedScan, ScanFormat, ScanSummary},
    store::{self, scans::ScanRecord},
};
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scans, ingest_scan))
        .routes(routes!(get_scan))
        .routes(routes!(rescore_scan))
}

#[derive(Deserialize)]
pub struct RepoPath {
    pub org_id: Uuid,
    pub repo_id: i64,
}

#[derive(Deserialize)]
pub struct ScanPath {
    pub org_id: Uuid,
    pub repo_id: i64,
    pub scan_id: Uuid,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormatParam {
    Grc,
    Sarif,
}

/// Scan metadata for uploads that cannot carry it (SARIF); it overrides the body's.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// `grc` or `sarif`; default: `application/sarif+json` or a top-level `runs` array → SARIF.
    #[param(inline)]
    pub format: Option<FormatParam>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// RFC 3339; default: the SARIF invocations' latest `endTimeUtc`, else the upload time.
    pub completed_at: Option<DateTime<Utc>>,
    /// passed | failed | unknown
    pub quality_gate: Option<QualityGate>,
    pub pr_total: Option<u32>,
    pub pr_reviewed: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ScanView {
    pub id: String,
    pub repo_id: i64,
    /// `grc` or `sarif`.
    pub format: String,
    /// SHA-256 of the uploaded bytes; re-uploading the same bytes returns this scan.
    pub content_sha256: String,
    pub tools: Vec<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub completed_at: String,
    pub received_at: String,
    pub finding_count: i64,
    pub summary: ScanSummary,
    pub pr_reviews: Option<PrReviews>,
    pub quality_gate: String,
    /// When the persisted outcomes were computed.
    pub evaluated_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IngestedScan {
    #[serde(flatten)]
    pub scan: ScanView,
    /// True when these exact bytes were ingested before (nothing new was stored).
    pub duplicate: bool,
    pub evaluation: EvaluationSummary,
}

/// What one evaluation produced, over every control the plan allows (selection ignored).
#[derive(Serialize, ToSchema, Default, Clone)]
pub struct EvaluationSummary {
    pub controls_evaluated: usize,
    pub pass: usize,
    pub partial: usize,
    pub fail: usize,
    pub not_applicable: usize,
    /// Controls whose plugin failed; they count as failing in scores.
    pub errors: usize,
    /// Controls whose kind of scanner did not run (or ran too long ago): not counted.
    pub not_assessed: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ScanList {
    pub scans: Vec<ScanView>,
}

#[derive(Serialize, ToSchema)]
pub struct Rescored {
    pub scan_id: String,
    pub evaluated_at: String,
    pub evaluation: EvaluationSummary,
}

impl From<ScanRecord> for ScanView {
    fn from(s: ScanRecord) -> Self {
        let pr_reviews = s.pr_reviews();
        ScanView {
            summary: serde_json::from_str(&s.summary).unwrap_or_default(),
            id: s.id,
            repo_id: s.repo_id,
            format: s.source,
            content_sha256: s.content_sha256,
            tools: s.tools,
            commit: s.commit,
            branch: s.branch,
            completed_at: s.completed_at,
            received_at: s.received_at,
            finding_count: s.finding_count,
            pr_reviews,
            quality_gate: s.quality_gate,
            evaluated_at: s.evaluated_at,
        }
    }
}

impl EvaluationSummary {
    fn of(outcomes: &Outcomes) -> Self {
        let mut summary = EvaluationSummary {
            controls_evaluated: outcomes.controls.len(),
            ..Default::default()
        };
        for o in outcomes.controls.values() {
            match o.status {
                OutcomeStatus::Pass => summary.pass += 1,
                OutcomeStatus::Partial => summary.partial += 1,
                OutcomeStatus::Fail => summary.fail += 1,
                OutcomeStatus::NotApplicable => summary.not_applicable += 1,
                OutcomeStatus::Error => summary.errors += 1,
                OutcomeStatus::NotAssessed => summary.not_assessed += 1,
            }
        }
        summary
    }
}

/// Ingest a scan: our JSON format or SARIF 2.1.0 (any number of runs). The scan is scored once,
/// through the plugins, and the outcomes persist for scores and trends.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/repos/{repo_id}/scans", tag = "scans",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path), IngestQuery),
    request_body(content(
        (scans::native::ScanUpload = "application/json"),
        (Object = "application/sarif+json"))),
    responses((status = 201, body = IngestedScan), (status = 200, description = "The same bytes were ingested before", body = IngestedScan),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ingest_scan(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<RepoPath>,
    Query(query): Query<IngestQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<IngestedScan>)> {
    // Decide (the transaction ends here), then read and parse with nothing held.
    let org_id = path.org_id.to_string();
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ScanCreate,
        Resource::Repository(path.repo_id),
    )
    .await?;
    let repo = repositories::find(&mut tx, path.repo_id).await?;
    drop(tx);
    let bytes = read_capped(
        &headers,
        body,
        state.config.max_scan_bytes,
        state.config.body_idle_timeout(),
    )
    .await?;
    let content_sha256 = hex::encode(Sha256::digest(&bytes));
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let explicit = query.format.map(|f| match f {
        FormatParam::Grc => ScanFormat::Grc,
        FormatParam::Sarif => ScanFormat::Sarif,
    });
    let format = scans::detect_format(explicit, content_type, &bytes);
    let parsed = scans::parse(format, &bytes)
        .map_err(|e| ApiError::unprocessable(json!(e.loc), e.msg, "value_error"))?;
    drop(bytes);
    let parsed = with_query_metadata(parsed, &query)?;

    // Read what scoring needs (bytes seen before end here), then run the plugins with no
    // transaction open.
    let mut tx = state.db.tenant_tx(&org_id).await?;
    if let Some(existing) = store::scans::find_by_content(&mut tx, repo.id, &content_sha256).await?
    {
        return Ok((StatusCode::OK, axum::Json(duplicate(existing))));
    }
    let record = scans::ingest::new_record(repo.id, format, content_sha256, &parsed, time::now())?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    let evaluable = evaluate::evaluable(&selection, &state.catalog);
    let earlier = earlier_scans(&mut tx, &record).await?;
    let evidence = super::scores::evidence_index(&mut tx).await?;
    // The previous assessment (the alert sources compare against it).
    let previous = match earlier.first() {
        Some(last) => store::scans::find(&mut tx, repo.id, &last.id)
            .await?
            .and_then(|s| s.outcomes)
            .and_then(|o| serde_json::from_str::<Outcomes>(&o).ok()),
        None => None,
    };
    let pending = evaluate::prepare(
        &mut tx,
        &state.plugins,
        (&repo, &record, &earlier),
        Some(parsed.findings.clone()),
        &evaluable,
        Refresh::All,
    )
    .await?;
    drop(tx);
    let evaluated = evaluate::run(&state.plugins, &org_id, pending).await?;
    let evaluation = &EvaluationSummary::of(&evaluated.outcomes);
    let record = &ScanRecord {
        outcomes: Some(evaluated.to_json()?),
        evaluated_at: Some(evaluated.outcomes.as_of.clone()),
        ..record
    };
    let findings_json = &serde_json::to_string(&parsed.findings).map_err(anyhow::Error::from)?;
    drop(parsed);
    // Alert sources: controls that start failing, a score that falls below the threshold.
    let webhook_settings = &state.config.webhooks;
    let mut drafts = alerting::sources::controls_failing(
        record.repo_id,
        &record.id,
        previous.as_ref(),
        &evaluated.outcomes,
    );
    let summary = |o: &Outcomes| {
        let s = super::scores::summary_of(&state, &selection, &evidence, o);
        (s.overall_score, s.posture != "Not assessed")
    };
    drafts.extend(alerting::sources::score_below_threshold(
        record.repo_id,
        &record.id,
        state.config.alerts.score_threshold,
        previous.as_ref().map(summary),
        summary(&evaluated.outcomes),
    ));
    let failing = &drafts;

    let (status, ingested) = write(
        &state,
        &caller,
        &org_id,
        Action::ScanCreate,
        Resource::Repository(path.repo_id),
        |w| {
            Box::pin(async move {
                let answer =
                    ingest_in(&mut w.tx, &w.auth, record, findings_json, evaluation).await?;
                if answer.0 == StatusCode::CREATED {
                    raise::raise_all(&mut w.tx, webhook_settings, failing.clone()).await?;
                }
                Ok(answer)
            })
        },
    )
    .await?;
    Ok((status, axum::Json(ingested)))
}

/// The answer to bytes that were ingested before.
/// The repository's scans an assessment of `scan` may draw on, newest first.
pub async fn earlier_scans(
    tx: &mut store::TenantTx,
    scan: &ScanRecord,
) -> ApiResult<Vec<ScanRecord>> {
    Ok(store::scans::received_until(
        tx,
        scan.repo_id,
        &scan.received_at,
        crate::compliance::assessment::LOOKBACK_SCANS,
    )
    .await?)
}

fn duplicate(existing: ScanRecord) -> IngestedScan {
    let evaluation = existing
        .outcomes
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .map(|o| EvaluationSummary::of(&o))
        .unwrap_or_default();
    IngestedScan {
        scan: existing.into(),
        duplicate: true,
        evaluation,
    }
}

/// The write of [`ingest_scan`]: the repository must still exist, and the same bytes ingested
/// meanwhile (a concurrent retry) answer the existing scan (`duplicate: true`); otherwise insert
/// the evaluated scan and audit.
async fn ingest_in(
    tx: &mut store::TenantTx,
    auth: &Authorized,
    record: &ScanRecord,
    findings_json: &str,
    evaluation: &EvaluationSummary,
) -> ApiResult<(StatusCode, IngestedScan)> {
    let repo = repositories::find(tx, record.repo_id).await?;
    if let Some(existing) =
        store::scans::find_by_content(tx, repo.id, &record.content_sha256).await?
    {
        return Ok((StatusCode::OK, duplicate(existing)));
    }
    store::scans::insert(tx, record, findings_json).await?;
    audit::record(
        tx,
        auth,
        AuditEvent {
            action: "SCAN_INGESTED",
            target_type: "scan",
            target_id: &record.id,
            metadata: json!({
                "repo_id": repo.id, "format": record.source, "tools": record.tools,
                "finding_count": record.finding_count, "commit": record.commit,
                "content_sha256": record.content_sha256,
            }),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        IngestedScan {
            scan: record.clone().into(),
            duplicate: false,
            evaluation: evaluation.clone(),
        },
    ))
}

/// Reads the body up to `max` bytes; a declared or actual larger body is a 413.
async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    idle: std::time::Duration,
) -> ApiResult<axum::body::Bytes> {
    let cap = super::body::Cap {
        what: "scan",
        max_bytes: max,
        setting: "GRC_MAX_SCAN_BYTES",
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ApiError::too_large(cap.what, max, cap.setting));
    }
    let bytes = super::body::read(body, &cap, idle).await?;
    if bytes.is_empty() {
        return Err(ApiError::unprocessable(
            json!(["body"]),
            "empty body: send a scan in our JSON format or SARIF 2.1.0",
            "missing",
        ));
    }
    Ok(bytes)
}

/// Query parameters override what the body said. The commit and branch end up in text columns,
/// so they follow the text rule (findings are stored as JSON and kept as sent).
fn with_query_metadata(mut scan: ParsedScan, q: &IngestQuery) -> ApiResult<ParsedScan> {
    for (field, value) in [("commit", &scan.commit), ("branch", &scan.branch)] {
        if let Some(c) = value
            .as_deref()
            .and_then(crate::domain::text::forbidden_control)
        {
            return Err(ApiError::unprocessable(
                json!(["body", field]),
                crate::domain::text::describe(c),
                "value_error",
            ));
        }
    }
    if let Some(commit) = &q.commit {
        scan.commit = Some(commit.clone());
    }
    if let Some(branch) = &q.branch {
        scan.branch = Some(branch.clone());
    }
    if let Some(at) = q.completed_at {
        scan.completed_at = Some(at);
    }
    if let Some(gate) = q.quality_gate {
        scan.quality_gate = gate;
    }
    match (q.pr_total, q.pr_reviewed) {
        (Some(total_prs), Some(reviewed_prs)) => {
            scan.pr_reviews = Some(PrReviews {
                total_prs,
                reviewed_prs,
            })
        }
        (None, None) => {}
        _ => {
            return Err(ApiError::unprocessable(
                json!(["query", "pr_total"]),
                "pr_total and pr_reviewed go together",
                "value_error",
            ));
        }
    }
    if let Some(pr) = scan.pr_reviews
        && pr.reviewed_prs > pr.total_prs
    {
        return Err(ApiError::unprocessable(
            json!(["body", "pr_reviews", "reviewed_prs"]),
            "reviewed_prs cannot exceed total_prs",
            "value_error",
        ));
    }
    Ok(scan)
}

/// A repository's scans, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/repos/{repo_id}/scans", tag = "scans",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path), Page),
    responses((status = 200, body = ScanList), (status = 404, body = ErrorBody)))]
async fn list_scans(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<RepoPath>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<ScanList>> {
    let (limit, offset) = page.bounds()?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::ScanList,
        Resource::Repository(path.repo_id),
    )
    .await?;
    let repo = repositories::find(&mut tx, path.repo_id).await?;
    let scans = store::scans::list(&mut tx, repo.id, limit, offset).await?;
    Ok(axum::Json(ScanList {
        scans: scans.into_iter().map(Into::into).collect(),
    }))
}

/// One scan's metadata and summary.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/repos/{repo_id}/scans/{scan_id}", tag = "scans",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path), ("scan_id" = Uuid, Path)),
    responses((status = 200, body = ScanView), (status = 404, body = ErrorBody)))]
async fn get_scan(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ScanPath>,
) -> ApiResult<axum::Json<ScanView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::ScanRead,
        Resource::Repository(path.repo_id),
    )
    .await?;
    let scan = find_scan(&mut tx, &path).await?;
    Ok(axum::Json(scan.into()))
}

async fn find_scan(tx: &mut store::TenantTx, path: &ScanPath) -> ApiResult<ScanRecord> {
    store::scans::find(tx, path.repo_id, &path.scan_id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound("Scan not found".into()))
}

/// Re-evaluate every control of a scan through the current plugins and catalog (after a
/// plugin upgrade, say). Selection changes never need this: they apply when scores are read.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/repos/{repo_id}/scans/{scan_id}/rescore", tag = "scans",
    params(("org_id" = Uuid, Path), ("repo_id" = i64, Path), ("scan_id" = Uuid, Path)),
    responses((status = 200, body = Rescored), (status = 404, body = ErrorBody)))]
async fn rescore_scan(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<ScanPath>,
) -> ApiResult<axum::Json<Rescored>> {
    let org_id = path.org_id.to_string();
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id,
        Action::ScanRescore,
        Resource::Repository(path.repo_id),
    )
    .await?;
    let repo = repositories::find(&mut tx, path.repo_id).await?;
    let scan = find_scan(&mut tx, &path).await?;
    let selection = OrgSelection::for_org(&mut tx, &auth.org).await?;
    let evaluable = evaluate::evaluable(&selection, &state.catalog);
    let earlier = earlier_scans(&mut tx, &scan).await?;
    let pending = evaluate::prepare(
        &mut tx,
        &state.plugins,
        (&repo, &scan, &earlier),
        None,
        &evaluable,
        Refresh::All,
    )
    .await?;
    // Decided and read; the plugins run with no transaction open.
    drop(tx);
    let evaluated = &evaluate::run(&state.plugins, &org_id, pending).await?;
    let evaluation = EvaluationSummary::of(&evaluated.outcomes);
    let (path_ref, summary) = (&path, &evaluation);
    write(
        &state,
        &caller,
        &org_id,
        Action::ScanRescore,
        Resource::Repository(path.repo_id),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let scan = find_scan(tx, path_ref).await?;
                evaluated.save(tx).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCAN_RESCORED",
                        target_type: "scan",
                        target_id: &scan.id,
                        metadata: json!({ "repo_id": scan.repo_id, "controls_evaluated": summary.controls_evaluated, "errors": summary.errors }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    let (scan_id, outcomes) = (scan.id, evaluated.outcomes.clone());
    Ok(axum::Json(Rescored {
        scan_id,
        evaluated_at: outcomes.as_of,
        evaluation,
    }))
}
