//! The baseline compliance policy library (seed 003, issue 13) under
//! `/api/v1/orgs/{org_id}/compliance-policy-baselines`: list, read, and fork a baseline into a
//! draft policy of the org (`compliance_policies::create` writes it).

use super::{
    compliance_policies::{self, Draft, PolicyView, check_key, check_title},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
};
use crate::{
    app::AppState,
    authn::Caller,
    authz::{Action, Resource},
    governance::baseline::Baseline,
};
use axum::{extract::State, response::Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policy_baselines))
        .routes(routes!(get_policy_baseline))
        .routes(routes!(fork_policy_baseline))
}

#[derive(Serialize, ToSchema)]
pub struct BaselineView {
    pub key: String,
    pub title: String,
    pub summary: String,
    pub review_interval_days: i64,
    /// `framework_key:control_id` of the controls this policy addresses.
    pub controls: Vec<String>,
    /// The Markdown text (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BaselineList {
    pub baselines: Vec<BaselineView>,
}

fn baseline_view(b: &Baseline, with_body: bool) -> BaselineView {
    BaselineView {
        key: b.key.clone(),
        title: b.title.clone(),
        summary: b.summary.clone(),
        review_interval_days: b.review_interval_days,
        controls: b.controls.clone(),
        body: with_body.then(|| b.body.clone()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkBaseline {
    /// The new policy's key (default: the baseline's key). Lowercase a-z, 0-9 and '-'.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9][a-z0-9-]*$")]
    pub key: Option<String>,
    /// The new policy's title (default: the baseline's).
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
}

/// List the baseline policies every org can fork.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policy-baselines", tag = "compliance-policies",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = BaselineList), (status = 403, body = ErrorBody)))]
async fn list_policy_baselines(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<BaselineList>> {
    super::check(
        &state,
        &caller,
        &org_id.to_string(),
        Action::CompliancePolicyList,
        Resource::Org,
    )
    .await?;
    Ok(axum::Json(BaselineList {
        baselines: state
            .baselines
            .all()
            .iter()
            .map(|b| baseline_view(b, false))
            .collect(),
    }))
}

#[derive(Deserialize)]
pub struct BaselinePath {
    pub org_id: Uuid,
    pub baseline_key: String,
}

/// One baseline policy with its Markdown text.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/compliance-policy-baselines/{baseline_key}", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("baseline_key" = String, Path)),
    responses((status = 200, body = BaselineView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_policy_baseline(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<BaselinePath>,
) -> ApiResult<axum::Json<BaselineView>> {
    super::check(
        &state,
        &caller,
        &path.org_id.to_string(),
        Action::CompliancePolicyList,
        Resource::Org,
    )
    .await?;
    let b = state
        .baselines
        .get(&path.baseline_key)
        .ok_or_else(|| ApiError::not_found("baseline policy"))?;
    Ok(axum::Json(baseline_view(b, true)))
}

/// Fork a baseline into a draft policy of the org (version 1). A key already in use is a 409.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/compliance-policy-baselines/{baseline_key}/fork", tag = "compliance-policies",
    params(("org_id" = Uuid, Path), ("baseline_key" = String, Path)), request_body = ForkBaseline,
    responses((status = 201, body = PolicyView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn fork_policy_baseline(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<BaselinePath>,
    Json(body): Json<ForkBaseline>,
) -> ApiResult<Response> {
    let b = state
        .baselines
        .get(&path.baseline_key)
        .ok_or_else(|| ApiError::not_found("baseline policy"))?;
    let draft = Draft {
        key: check_key(body.key.as_deref().unwrap_or(&b.key))?,
        title: check_title(body.title.as_deref().unwrap_or(&b.title))?,
        body: b.body.clone(),
        controls: b.controls.clone(),
        review_interval_days: b.review_interval_days,
        baseline_key: Some(b.key.clone()),
    };
    compliance_policies::create(&state, &caller, path.org_id, draft).await
}
