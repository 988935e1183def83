//! Written compliance policies (seed 003, issue 13) under `/api/v1/orgs/{org_id}`:
//! the baseline library (`/compliance-policy-baselines`, fork), the org's policies
//! (`/compliance-policies`: list, create, detail, edit with optimistic concurrency, lifecycle
//! transitions) and their history (versions, diff, lifecycle events).
//!
//! Every edit adds an immutable version; the client names the version it edited (`version` in
//! the body or `If-Match`), and a stale one is a 409 carrying the current policy. Approval
//! freezes a version and publishes it (`governance::lifecycle`). Each change writes one audit
//! entry and, for transitions, one lifecycle event, in the same transaction.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Authorized, Resource},
    domain::{page, text, time},
    governance::{
        self, baseline, diff,
        lifecycle::{self, Change, Status},
    },
    store::{
        self, TenantTx,
        compliance_policies::{PolicyRow, VersionRow},
        lifecycle_events::LifecycleEvent,
    },
};
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_compliance_policies, create_compliance_policy))
        .routes(routes!(get_compliance_policy, edit_compliance_policy))
        .routes(routes!(transition_compliance_policy))
}

/// Longest policy text accepted, in bytes.
const MAX_BODY_BYTES: usize = 256 * 1024;
const MAX_TITLE_CHARS: usize = 200;
const MAX_NOTE_CHARS: usize = 1000;
const MAX_CONTROLS: usize = 200;

/// A policy: its lifecycle state, the latest version's text, and what is published.
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub key: String,
    /// The baseline it was forked from, if any.
    pub baseline_key: Option<String>,
    pub title: String,
    /// draft | in_review | approved | retired: the state of the latest version (or retired).
    pub status: Status,
    /// The version an edit must name (also the `ETag`).
    pub latest_version: i64,
    /// The approved version that counts (may be older than the latest); null until approved.
    pub published_version: Option<i64>,
    /// The published version's review interval (the latest's while none is published).
    pub review_interval_days: i64,
    /// The latest version's mapped controls (`framework_key:control_id`).
    pub controls: Vec<String>,
    pub approved_at: Option<String>,
    pub approved_by: Option<String>,
    /// The last approval or periodic review of the published version.
    pub reviewed_at: Option<String>,
    /// When the published version's next review is due.
    pub review_due_at: Option<String>,
    /// True when the published version's review is overdue (it then fails its controls).
    pub review_lapsed: bool,
    pub retired_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The latest version's Markdown text (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// SHA-256 of the latest version's content (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

pub(crate) fn policy_view(p: PolicyRow, latest: Option<&VersionRow>) -> ApiResult<PolicyView> {
    let due = review_due(&p);
    Ok(PolicyView {
        status: status_of(&p)?,
        controls: controls_of(&p.controls)?,
        review_lapsed: due.is_some_and(|d| d < chrono::Utc::now()),
        review_due_at: due.map(time::format),
        body: latest.map(|v| v.body.clone()),
        sha256: latest.map(|v| v.sha256.clone()),
        id: p.id,
        key: p.key,
        baseline_key: p.baseline_key,
        title: p.title,
        latest_version: p.latest_version,
        published_version: p.published_version,
        review_interval_days: p.review_interval_days,
        approved_at: p.approved_at,
        approved_by: p.approved_by,
        reviewed_at: p.reviewed_at,
        retired_at: p.retired_at,
        created_by: p.created_by,
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

/// When the published version's review is due (its own interval, from the last review).
fn review_due(p: &PolicyRow) -> Option<chrono::DateTime<chrono::Utc>> {
    if p.status == Status::Retired.as_str() {
        return None;
    }
    let reviewed = time::parse(p.reviewed_at.as_deref()?)?;
    Some(reviewed + chrono::Duration::days(p.review_interval_days))
}

fn status_of(p: &PolicyRow) -> ApiResult<Status> {
    Status::parse(&p.status).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "policy {} has unknown status {}",
            p.id,
            p.status
        ))
    })
}

pub(super) fn controls_of(raw: &str) -> ApiResult<Vec<String>> {
    serde_json::from_str(raw)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("corrupt policy controls: {e}")))
}

#[derive(Serialize, ToSchema)]
pub struct PolicyPage {
    pub policies: Vec<PolicyView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyQuery {
    #[param(inline)]
    pub status: Option<Status>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicy {
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9][a-z0-9-]*$")]
    pub key: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Markdown, at most 256 KiB.
    #[schema(min_length = 1, max_length = 65536)]
    pub body: String,
    /// `framework_key:control_id` of evidence controls this policy satisfies once approved.
    #[serde(default)]
    pub controls: Vec<String>,
    /// 30–1095 (default 365).
    #[schema(minimum = 30, maximum = 1095)]
    pub review_interval_days: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditPolicy {
    /// The version this edit was made from (`latest_version`); or send `If-Match`.
    pub version: Option<i64>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// Markdown, at most 256 KiB.
    #[schema(min_length = 1, max_length = 65536)]
    pub body: Option<String>,
    pub controls: Option<Vec<String>>,
    #[schema(minimum = 30, maximum = 1095)]
    pub review_interval_days: Option<i64>,
    /// What changed and why (kept with the version).
    #[schema(max_length = 1000)]
    pub change_note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// in_review (submit), draft (return for changes), approved (approve; again on an
    /// approved policy: record a periodic review), retired.
    pub to: Status,
    /// The version the decision is about (`latest_version`); or send `If-Match`.
    pub version: Option<i64>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Write a policy of the org's own (draft, version 1).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/compliance-policies", tag = "compliance-policies",
    params(("org_id" = Uuid, Path)), request_body = CreatePolicy,
    responses((status = 201, body = PolicyView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_compliance_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<CreatePolicy>,
) -> ApiResult<Response> {
    let draft = Draft {
        key: check_key(&body.key)?,
        title: check_title(&body.title)?,
        body: check_body(&body.body)?,
        controls: check_controls(&state, &body.controls)?,
        review_interval_days: check_interval(body.review_interval_days.unwrap_or(365))?,
        baseline_key: None,
    };
    create(&state, &caller, org_id, draft).await
}

/// A validated first version.
pub(super) struct Draft {
    pub(super) key: String,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) controls: Vec<String>,
    pub(super) review_interval_days: i64,
    pub(super) baseline_key: Option<String>,
}

pub(super) async fn create(
    state: &AppState,
    caller: &Caller,
    org_id: Uuid,
    d: Draft,
) -> ApiResult<Response> {
    let d = &d;
    let (policy, version) = write(
        state,
        caller,
        &org_id.to_string(),
        Action::CompliancePolicyCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let now = time::now();
                let controls = json!(d.controls).to_string();
                let policy = PolicyRow {
                    id: Uuid::new_v4().to_string(),
                    key: d.key.clone(),
                    baseline_key: d.baseline_key.clone(),
                    title: d.title.clone(),
                    status: Status::Draft.as_str().into(),
                    latest_version: 1,
                    published_version: None,
                    review_interval_days: d.review_interval_days,
                    controls: controls.clone(),
                    approved_at: None,
                    approved_by: None,
                    reviewed_at: None,
                    retired_at: None,
                    created_by: auth.actor.user_id.clone(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                };
                if !store::compliance_policies::insert(tx, &policy).await? {
                    let existing = store::compliance_policies::find_by_key(tx, &d.key).await?;
                    return Err(ApiError::Conflict(format!(
                        "a compliance policy with key '{}' already exists ({}); fork again with another \"key\"",
                        d.key,
                        existing.map(|p| p.id).unwrap_or_default()
                    )));
                }
                let version = new_version(&policy, d, 1, "created", auth, &now);
                store::compliance_policies::insert_version(tx, &version).await?;
                let action = if d.baseline_key.is_some() {
                    "COMPLIANCE_POLICY_FORKED"
                } else {
                    "COMPLIANCE_POLICY_CREATED"
                };
                lifecycle_event(tx, auth, &policy, action, None, Status::Draft, 1, "").await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action,
                        target_type: "compliance_policy",
                        target_id: &policy.id,
                        metadata: json!({
                            "key": policy.key, "baseline_key": policy.baseline_key,
                            "version": 1, "sha256": version.sha256,
                        }),
                    },
                )
                .await?;
                Ok((policy, version))
            })
        },
    )
    .await?;
    let view = policy_view(policy, Some(&version))?;
    Ok(with_etag(StatusCode::CREATED, view))
}

fn new_version(
    policy: &PolicyRow,
    d: &Draft,
    version: i64,
    note: &str,
    auth: &Authorized,
    now: &str,
) -> VersionRow {
    VersionRow {
        policy_id: policy.id.clone(),
        version,
        title: d.title.clone(),
        body: d.body.clone(),
        controls: json!(d.controls).to_string(),
        review_interval_days: d.review_interval_days,
        sha256: governance::content_hash(&d.title, &d.body, &d.controls, d.review_interval_days),
        status: Status::Draft.as_str().into(),
        change_note: note.to_owned(),
        created_by: auth.actor.user_id.clone(),
        created_at: now.to_owned(),
        approved_by: None,
        approved_at: None,
    }
}

/// The org's policies, oldest first, with a status filter and paging.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policies", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), PolicyQuery),
    responses((status = 200, body = PolicyPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_compliance_policies(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<PolicyQuery>,
) -> ApiResult<axum::Json<PolicyPage>> {
    let (after, limit) = paging(crate::agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::CompliancePolicyList,
        Resource::Org,
    )
    .await?;
    let rows = store::compliance_policies::list(
        &mut tx,
        q.status.map(Status::as_str),
        after.as_ref().map(|c| (c.at.as_str(), c.id.as_str())),
        limit + 1,
    )
    .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |p| page::Cursor {
        at: p.created_at.clone(),
        id: p.id.clone(),
    });
    Ok(axum::Json(PolicyPage {
        policies: rows
            .into_iter()
            .map(|p| policy_view(p, None))
            .collect::<ApiResult<_>>()?,
        next_cursor,
    }))
}

#[derive(Deserialize)]
pub struct PolicyPath {
    pub org_id: Uuid,
    pub policy_id: Uuid,
}

/// Reads a policy and its latest version, authorized as `action`.
pub(super) async fn read_policy(
    state: &AppState,
    caller: &Caller,
    path: &PolicyPath,
    action: Action,
) -> ApiResult<(TenantTx, PolicyRow)> {
    let id = path.policy_id.to_string();
    let (mut tx, _) = authorize(
        state,
        caller,
        &path.org_id.to_string(),
        action,
        Resource::CompliancePolicy(id.clone()),
    )
    .await?;
    let policy = store::compliance_policies::find(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("compliance policy"))?;
    Ok((tx, policy))
}

/// One policy with its latest text; the `ETag` is the latest version.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = PolicyView, headers(("ETag" = String, description = "The latest version, quoted"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_compliance_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<PolicyPath>,
) -> ApiResult<Response> {
    let (mut tx, policy) =
        read_policy(&state, &caller, &path, Action::CompliancePolicyRead).await?;
    let latest = latest_version(&mut tx, &policy).await?;
    drop(tx);
    Ok(with_etag(
        StatusCode::OK,
        policy_view(policy, Some(&latest))?,
    ))
}

pub(crate) async fn latest_version(tx: &mut TenantTx, p: &PolicyRow) -> ApiResult<VersionRow> {
    store::compliance_policies::version(tx, &p.id, p.latest_version)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "policy {} has no version {}",
                p.id,
                p.latest_version
            ))
        })
}

fn with_etag(status: StatusCode, view: PolicyView) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.latest_version)).ok();
    let mut response = (status, axum::Json(view)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The version the client says it worked from: `version` in the body, else `If-Match`.
fn expected_version(headers: &HeaderMap, body_version: Option<i64>) -> ApiResult<i64> {
    if let Some(v) = body_version {
        return Ok(v);
    }
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::unprocessable(
            json!(["body", "version"]),
            "name the version you edited: \"version\" in the body (the policy's latest_version) or an If-Match header with its ETag",
            "missing",
        ));
    };
    raw.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            ApiError::unprocessable(
                json!(["header", "If-Match"]),
                "If-Match must be the policy's ETag (its latest version, quoted)",
                "value_error",
            )
        })
}

/// The policy, read in the write transaction (under the org's write lock), provided `sent` is
/// still its latest version: 404 when it does not exist, the stale-version 409 otherwise.
async fn head_at(tx: &mut TenantTx, id: &str, sent: i64) -> ApiResult<PolicyRow> {
    let policy = store::compliance_policies::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("compliance policy"))?;
    if policy.latest_version != sent {
        return Err(stale(policy, sent)?);
    }
    Ok(policy)
}

/// Stores the head moved on from `sent`; the update is conditional on `sent`, so even a writer
/// outside the lock could never be overwritten (it would be a 409).
async fn save_head(tx: &mut TenantTx, policy: &PolicyRow, sent: i64) -> ApiResult<()> {
    if store::compliance_policies::update_head(tx, policy, sent).await? {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            "the policy changed meanwhile; retry".into(),
        ))
    }
}

/// The 409 for an edit or decision made on an older version: nothing was written.
fn stale(current: PolicyRow, sent: i64) -> ApiResult<ApiError> {
    let latest = current.latest_version;
    let view = policy_view(current, None)?;
    Ok(ApiError::ConflictDetail(json!({
        "error": "version_conflict",
        "message": format!(
            "version {sent} is not the latest version ({latest}); reload the policy, reapply your change and send \"version\": {latest}"
        ),
        "current_version": latest,
        "current": view,
    })))
}

/// Edit a policy: a new draft version from the one named. An approved version stays
/// published until the new one is approved. Stale version → 409 with the current policy.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version edited (instead of `version`)")),
    request_body = EditPolicy,
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_compliance_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<PolicyPath>,
    headers: HeaderMap,
    Json(body): Json<EditPolicy>,
) -> ApiResult<Response> {
    let sent = expected_version(&headers, body.version)?;
    let title = body.title.as_deref().map(check_title).transpose()?;
    let text = body.body.as_deref().map(check_body).transpose()?;
    let controls = body
        .controls
        .as_deref()
        .map(|c| check_controls(&state, c))
        .transpose()?;
    let interval = body.review_interval_days.map(check_interval).transpose()?;
    let note = check_note(body.change_note.as_deref())?;
    let id = path.policy_id.to_string();
    let (id, title, text, controls, note) = (&id, &title, &text, &controls, &note);
    let (policy, version) = write(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::CompliancePolicyUpdate,
        Resource::CompliancePolicy(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut policy = head_at(tx, id, sent).await?;
                lifecycle::editable(status_of(&policy)?).map_err(ApiError::Conflict)?;
                let latest = latest_version(tx, &policy).await?;
                let draft = Draft {
                    key: policy.key.clone(),
                    title: title.clone().unwrap_or_else(|| latest.title.clone()),
                    body: text.clone().unwrap_or_else(|| latest.body.clone()),
                    controls: match controls {
                        Some(c) => c.clone(),
                        None => controls_of(&latest.controls)?,
                    },
                    review_interval_days: interval.unwrap_or(latest.review_interval_days),
                    baseline_key: None,
                };
                let now = time::now();
                let next = policy.latest_version + 1;
                let version = new_version(&policy, &draft, next, note, auth, &now);
                if version.sha256 == latest.sha256 {
                    // Nothing changed: no new version, nothing to audit.
                    return Ok((policy, latest));
                }
                if latest.status != Status::Approved.as_str() {
                    store::compliance_policies::set_version_status(
                        tx,
                        id,
                        latest.version,
                        "superseded",
                        None,
                    )
                    .await?;
                }
                store::compliance_policies::insert_version(tx, &version).await?;
                let from = status_of(&policy)?;
                policy.title = draft.title.clone();
                policy.controls = version.controls.clone();
                // The review schedule is the published version's until a new one is approved.
                if policy.published_version.is_none() {
                    policy.review_interval_days = draft.review_interval_days;
                }
                policy.latest_version = next;
                policy.status = Status::Draft.as_str().into();
                policy.updated_at = now;
                save_head(tx, &policy, sent).await?;
                if from != Status::Draft {
                    lifecycle_event(tx, auth, &policy, "COMPLIANCE_POLICY_EDITED", Some(from), Status::Draft, next, note)
                        .await?;
                }
                let (added, removed) = diff::counts(&latest.body, &version.body);
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "COMPLIANCE_POLICY_UPDATED",
                        target_type: "compliance_policy",
                        target_id: id,
                        metadata: json!({
                            "key": policy.key, "version": next, "previous_version": sent,
                            "sha256": version.sha256, "lines_added": added, "lines_removed": removed,
                            "change_note": note,
                        }),
                    },
                )
                .await?;
                Ok((policy, version))
            })
        },
    )
    .await?;
    Ok(with_etag(
        StatusCode::OK,
        policy_view(policy, Some(&version))?,
    ))
}

/// Move a policy through its lifecycle: submit for review, return to draft, approve (owners
/// and admins; approving an approved policy again records a periodic review), retire.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}/transitions", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version decided on (instead of `version`)")),
    request_body = TransitionRequest,
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transition_compliance_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<PolicyPath>,
    headers: HeaderMap,
    Json(body): Json<TransitionRequest>,
) -> ApiResult<Response> {
    let sent = expected_version(&headers, body.version)?;
    let note = check_note(body.note.as_deref())?;
    let action = match body.to {
        Status::Draft | Status::InReview => Action::CompliancePolicySubmit,
        Status::Approved | Status::Retired => Action::CompliancePolicyApprove,
    };
    let id = path.policy_id.to_string();
    let (id, note, to) = (&id, &note, body.to);
    let policy = write(
        &state,
        &caller,
        &path.org_id.to_string(),
        action,
        Resource::CompliancePolicy(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut policy = head_at(tx, id, sent).await?;
                let from = status_of(&policy)?;
                let change = lifecycle::transition(from, to).map_err(ApiError::Conflict)?;
                let now = time::now();
                let version = policy.latest_version;
                match change {
                    Change::Submit | Change::ReturnToDraft => {
                        store::compliance_policies::set_version_status(
                            tx,
                            id,
                            version,
                            to.as_str(),
                            None,
                        )
                        .await?;
                    }
                    Change::Approve => {
                        let approver = auth.actor.email.as_str();
                        store::compliance_policies::set_version_status(
                            tx,
                            id,
                            version,
                            "approved",
                            Some((approver, &now)),
                        )
                        .await?;
                        let latest = latest_version(tx, &policy).await?;
                        policy.published_version = Some(version);
                        policy.approved_at = Some(now.clone());
                        policy.approved_by = Some(approver.to_owned());
                        policy.reviewed_at = Some(now.clone());
                        policy.review_interval_days = latest.review_interval_days;
                    }
                    Change::Review => policy.reviewed_at = Some(now.clone()),
                    Change::Retire => policy.retired_at = Some(now.clone()),
                }
                policy.status = to.as_str().into();
                policy.updated_at = now;
                save_head(tx, &policy, sent).await?;
                lifecycle_event(
                    tx,
                    auth,
                    &policy,
                    change.event(),
                    Some(from),
                    to,
                    version,
                    note,
                )
                .await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: change.event(),
                        target_type: "compliance_policy",
                        target_id: id,
                        metadata: json!({
                            "key": policy.key, "version": version, "from": from.as_str(),
                            "to": to.as_str(), "note": note,
                        }),
                    },
                )
                .await?;
                Ok(policy)
            })
        },
    )
    .await?;
    Ok(with_etag(StatusCode::OK, policy_view(policy, None)?))
}

#[allow(clippy::too_many_arguments)]
async fn lifecycle_event(
    tx: &mut TenantTx,
    auth: &Authorized,
    policy: &PolicyRow,
    event: &str,
    from: Option<Status>,
    to: Status,
    version: i64,
    note: &str,
) -> ApiResult<()> {
    store::lifecycle_events::insert(
        tx,
        &LifecycleEvent {
            id: Uuid::new_v4().to_string(),
            subject_type: "compliance_policy".into(),
            subject_id: policy.id.clone(),
            event: event.to_owned(),
            version: Some(version),
            from_status: from.map(|s| s.as_str().to_owned()),
            to_status: to.as_str().to_owned(),
            note: note.to_owned(),
            actor_user_id: auth.actor.user_id.clone(),
            actor_email: Some(auth.actor.email.clone()),
            occurred_at: time::now(),
        },
    )
    .await?;
    Ok(())
}

pub(super) fn check_key(key: &str) -> ApiResult<String> {
    if baseline::is_key(key) {
        Ok(key.to_owned())
    } else {
        Err(ApiError::invalid_field(
            &["key"],
            "key must be 1–64 characters of lowercase a-z, 0-9 and '-', not starting with '-'",
        ))
    }
}

pub(super) fn check_title(title: &str) -> ApiResult<String> {
    text::label(title, MAX_TITLE_CHARS)
        .map_err(|e| ApiError::invalid_field(&["title"], format!("title {e}")))
}

fn check_body(body: &str) -> ApiResult<String> {
    if body.trim().is_empty() {
        return Err(ApiError::invalid_field(&["body"], "body must not be empty"));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid_field(
            &["body"],
            format!(
                "body is over {MAX_BODY_BYTES} bytes; split the policy or link supporting documents as evidence"
            ),
        ));
    }
    Ok(body.to_owned())
}

fn check_controls(state: &AppState, controls: &[String]) -> ApiResult<Vec<String>> {
    if controls.len() > MAX_CONTROLS {
        return Err(ApiError::invalid_field(
            &["controls"],
            format!("at most {MAX_CONTROLS} controls"),
        ));
    }
    baseline::check_controls(&state.catalog, controls)
        .map_err(|e| ApiError::invalid_field(&["controls"], e))?;
    Ok(controls.to_vec())
}

fn check_interval(days: i64) -> ApiResult<i64> {
    if baseline::REVIEW_INTERVAL_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(ApiError::invalid_field(
            &["review_interval_days"],
            "review_interval_days must be 30–1095",
        ))
    }
}

fn check_note(note: Option<&str>) -> ApiResult<String> {
    let note = note.unwrap_or("").trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid_field(
            &["note"],
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(note.to_owned())
}
