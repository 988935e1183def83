//! A compliance policy's history (seed 003, issue 13): its versions (newest first, each one
//! readable with its text), a diff between two versions, and its lifecycle events.

use super::{
    compliance_policies::{PolicyPath, controls_of, read_policy},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{CursorQuery, Path, Query, paging},
};
use crate::{
    app::AppState,
    authn::Caller,
    authz::Action,
    domain::page,
    governance::diff,
    store::{self, compliance_policies::VersionRow},
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policy_versions))
        .routes(routes!(get_policy_version))
        .routes(routes!(diff_policy_versions))
        .routes(routes!(list_policy_events))
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: i64,
    pub title: String,
    /// draft | in_review | approved | superseded (a draft that a later edit replaced).
    pub status: String,
    pub sha256: String,
    pub controls: Vec<String>,
    pub review_interval_days: i64,
    pub change_note: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// True for the version that counts today.
    pub published: bool,
    /// The Markdown text (single-version reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

pub(crate) fn version_view(
    v: VersionRow,
    published: Option<i64>,
    with_body: bool,
) -> ApiResult<VersionView> {
    Ok(VersionView {
        controls: controls_of(&v.controls)?,
        published: published == Some(v.version),
        body: with_body.then_some(v.body),
        version: v.version,
        title: v.title,
        status: v.status,
        sha256: v.sha256,
        review_interval_days: v.review_interval_days,
        change_note: v.change_note,
        created_by: v.created_by,
        created_at: v.created_at,
        approved_by: v.approved_by,
        approved_at: v.approved_at,
    })
}

#[derive(Serialize, ToSchema)]
pub struct VersionPage {
    pub versions: Vec<VersionView>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Versions older than this one (from `next_before`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A policy's versions, newest first (text left out; read one version for it).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}/versions", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path), VersionQuery),
    responses((status = 200, body = VersionPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_policy_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<PolicyPath>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<axum::Json<VersionPage>> {
    let (_, limit) = paging(None, q.limit)?;
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::unprocessable(
            json!(["query", "before"]),
            "must be at least 1",
            "value_error",
        ));
    }
    let (mut tx, policy) =
        read_policy(&state, &caller, &path, Action::CompliancePolicyRead).await?;
    let rows =
        store::compliance_policies::versions(&mut tx, &policy.id, q.before, limit + 1).await?;
    drop(tx);
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let rows: Vec<VersionRow> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    let next_before = more.then(|| rows.last().map(|v| v.version)).flatten();
    Ok(axum::Json(VersionPage {
        versions: rows
            .into_iter()
            .map(|v| version_view(v, policy.published_version, false))
            .collect::<ApiResult<_>>()?,
        next_before,
    }))
}

#[derive(Deserialize)]
pub struct VersionPath {
    pub org_id: Uuid,
    pub policy_id: Uuid,
    pub version: i64,
}

/// One version with its text.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}/versions/{version}", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path), ("version" = i64, Path, minimum = 1)),
    responses((status = 200, body = VersionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_policy_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<VersionPath>,
) -> ApiResult<axum::Json<VersionView>> {
    let policy_path = PolicyPath {
        org_id: path.org_id,
        policy_id: path.policy_id,
    };
    let (mut tx, policy) =
        read_policy(&state, &caller, &policy_path, Action::CompliancePolicyRead).await?;
    let v = store::compliance_policies::version(&mut tx, &policy.id, path.version)
        .await?
        .ok_or_else(|| ApiError::not_found("policy version"))?;
    Ok(axum::Json(version_view(v, policy.published_version, true)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The older version (default: the published one, else the one before `to`).
    #[param(minimum = 1)]
    pub from: Option<i64>,
    /// The newer version (default: the latest).
    #[param(minimum = 1)]
    pub to: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionDiff {
    pub from: i64,
    pub to: i64,
    /// Unified diff of the Markdown text (empty when identical).
    pub unified: String,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub title_changed: bool,
    pub controls_added: Vec<String>,
    pub controls_removed: Vec<String>,
}

/// What changed between two versions: a unified diff of the text, plus title and mapping
/// changes.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}/diff", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path), DiffQuery),
    responses((status = 200, body = VersionDiff), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn diff_policy_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<PolicyPath>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<axum::Json<VersionDiff>> {
    for (name, v) in [("from", q.from), ("to", q.to)] {
        if v.is_some_and(|v| v < 1) {
            return Err(ApiError::unprocessable(
                json!(["query", name]),
                "must be at least 1",
                "value_error",
            ));
        }
    }
    let (mut tx, policy) =
        read_policy(&state, &caller, &path, Action::CompliancePolicyRead).await?;
    let to = q.to.unwrap_or(policy.latest_version);
    let from = q
        .from
        .or(policy.published_version.filter(|p| *p != to))
        .unwrap_or((to - 1).max(1));
    let mut read = async |v: i64| {
        store::compliance_policies::version(&mut tx, &policy.id, v)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("policy version {v} not found")))
    };
    let old = read(from).await?;
    let new = read(to).await?;
    drop(tx);
    let (old_controls, new_controls) = (controls_of(&old.controls)?, controls_of(&new.controls)?);
    let (lines_added, lines_removed) = diff::counts(&old.body, &new.body);
    Ok(axum::Json(VersionDiff {
        unified: diff::unified(&old.body, &new.body, &format!("v{from}"), &format!("v{to}")),
        lines_added,
        lines_removed,
        title_changed: old.title != new.title,
        controls_added: new_controls
            .iter()
            .filter(|c| !old_controls.contains(c))
            .cloned()
            .collect(),
        controls_removed: old_controls
            .iter()
            .filter(|c| !new_controls.contains(c))
            .cloned()
            .collect(),
        from,
        to,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct LifecycleEventView {
    pub id: String,
    /// e.g. COMPLIANCE_POLICY_APPROVED
    pub event: String,
    pub version: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: String,
    pub actor_user_id: Option<String>,
    pub actor_email: Option<String>,
    pub occurred_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct LifecycleEventPage {
    pub events: Vec<LifecycleEventView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A policy's lifecycle events, oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policies/{policy_id}/events", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path), CursorQuery),
    responses((status = 200, body = LifecycleEventPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_policy_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<PolicyPath>,
    Query(q): Query<CursorQuery>,
) -> ApiResult<axum::Json<LifecycleEventPage>> {
    let (after, limit) = paging(crate::agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let (mut tx, policy) =
        read_policy(&state, &caller, &path, Action::CompliancePolicyRead).await?;
    let rows = store::lifecycle_events::for_subject(
        &mut tx,
        "compliance_policy",
        &policy.id,
        after.as_ref().map(|c| (c.at.as_str(), c.id.as_str())),
        limit + 1,
    )
    .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |e| page::Cursor {
        at: e.occurred_at.clone(),
        id: e.id.clone(),
    });
    Ok(axum::Json(LifecycleEventPage {
        events: rows
            .into_iter()
            .map(|e| LifecycleEventView {
                id: e.id,
                event: e.event,
                version: e.version,
                from_status: e.from_status,
                to_status: e.to_status,
                note: e.note,
                actor_user_id: e.actor_user_id,
                actor_email: e.actor_email,
                occurred_at: e.occurred_at,
            })
            .collect(),
        next_cursor,
    }))
}
