//! Tenant-authored Cedar policies under `/api/v1/orgs/{org_id}/access-policies`.
//!
//! A policy is validated strictly against the schema before it is stored; an invalid one gets a
//! 400 with the validator's diagnostics and is never saved. Each change bumps the org's policy
//! revision, so the very next request is evaluated with the new set.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, PolicyDiagnostic, Resource},
    domain::{text, time},
    store::{self, access_policies::AccessPolicy},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(validate_policy))
        .routes(routes!(get_policy, update_policy, delete_policy))
}

/// Largest policy text accepted, in bytes.
const MAX_POLICY_BYTES: usize = 16 * 1024;

#[derive(Serialize, ToSchema)]
pub struct AccessPolicyView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Cedar policy text (exactly one permit or forbid).
    pub policy: String,
    /// The id Cedar reports for this policy in decisions and the audit log.
    pub cedar_policy_id: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<AccessPolicy> for AccessPolicyView {
    fn from(p: AccessPolicy) -> Self {
        AccessPolicyView {
            cedar_policy_id: format!("tenant.{}", p.id),
            id: p.id,
            name: p.name,
            description: p.description,
            policy: p.policy,
            created_by: p.created_by,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccessPolicyList {
    pub policies: Vec<AccessPolicyView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WritePolicy {
    /// Unique within the org.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Cedar policy text.
    pub policy: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatePolicy {
    pub policy: String,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationReport {
    pub valid: bool,
    pub diagnostics: Vec<PolicyDiagnostic>,
}

/// List the org's own policies (the baseline lives in the server and always applies).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/access-policies", tag = "access-policies",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = AccessPolicyList), (status = 403, body = ErrorBody)))]
async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<AccessPolicyList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PolicyList,
        Resource::Org,
    )
    .await?;
    let policies = store::access_policies::list(&mut tx).await?;
    Ok(axum::Json(AccessPolicyList {
        policies: policies.into_iter().map(Into::into).collect(),
    }))
}

/// Validate a policy without storing it.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/access-policies/validate", tag = "access-policies",
    params(("org_id" = Uuid, Path)), request_body = ValidatePolicy,
    responses((status = 200, body = ValidationReport), (status = 403, body = ErrorBody)))]
async fn validate_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<ValidatePolicy>,
) -> ApiResult<axum::Json<ValidationReport>> {
    authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PolicyValidate,
        Resource::Org,
    )
    .await?;
    let diagnostics = policy_problems(&state, &body.policy);
    Ok(axum::Json(ValidationReport {
        valid: diagnostics.is_empty(),
        diagnostics,
    }))
}

/// Add a policy. Invalid → 400 with diagnostics, nothing stored.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/access-policies", tag = "access-policies",
    params(("org_id" = Uuid, Path)), request_body = WritePolicy,
    responses((status = 201, body = AccessPolicyView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<WritePolicy>,
) -> ApiResult<(StatusCode, axum::Json<AccessPolicyView>)> {
    let policy = create(&state, &caller, &org_id.to_string(), &body).await?;
    Ok((StatusCode::CREATED, axum::Json(policy.into())))
}

/// Adds a policy in `org_id` (the API route and the console's editor): 400 with diagnostics when
/// it does not validate, 409 when the name is taken; audited `ACCESS_POLICY_CREATED`.
pub(crate) async fn create(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    body: &WritePolicy,
) -> ApiResult<AccessPolicy> {
    write(
        state,
        caller,
        org_id,
        Action::PolicyCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                check_name(&body.name)?;
                check_policy_text(state, &body.policy)?;
                let now = time::now();
                let policy = AccessPolicy {
                    id: Uuid::new_v4().to_string(),
                    name: body.name.trim().to_owned(),
                    description: body.description.clone(),
                    policy: body.policy.clone(),
                    created_by: auth.actor.user_id.clone(),
                    created_at: now.clone(),
                    updated_at: now,
                };
                store::access_policies::insert(tx, &policy)
                    .await
                    .map_err(|e| conflict_on_name(e, &policy.name))?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "ACCESS_POLICY_CREATED",
                        target_type: "access_policy",
                        target_id: &policy.id,
                        metadata: json!({ "name": policy.name, "policy": policy.policy }),
                    },
                )
                .await?;
                Ok(policy)
            })
        },
    )
    .await
}

/// One policy.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/access-policies/{policy_id}", tag = "access-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = AccessPolicyView), (status = 404, body = ErrorBody)))]
async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<AccessPolicyView>> {
    let policy_id = policy_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PolicyRead,
        Resource::AccessPolicy(policy_id.clone()),
    )
    .await?;
    let policy = store::access_policies::find(&mut tx, &policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("access policy"))?;
    Ok(axum::Json(policy.into()))
}

/// Replace a policy's name, description and text. Invalid → 400, nothing changed.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/access-policies/{policy_id}", tag = "access-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)), request_body = WritePolicy,
    responses((status = 200, body = AccessPolicyView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn update_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<WritePolicy>,
) -> ApiResult<axum::Json<AccessPolicyView>> {
    let policy_id = policy_id.to_string();
    let (state, body, policy_id) = (&state, &body, &policy_id);
    let policy = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::PolicyUpdate,
        Resource::AccessPolicy(policy_id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut policy = store::access_policies::find(tx, policy_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("access policy"))?;
                check_name(&body.name)?;
                check_policy_text(state, &body.policy)?;
                let previous = std::mem::replace(&mut policy.policy, body.policy.clone());
                policy.name = body.name.trim().to_owned();
                policy.description = body.description.clone();
                policy.updated_at = time::now();
                store::access_policies::update(tx, &policy)
                    .await
                    .map_err(|e| conflict_on_name(e, &policy.name))?;
                audit::record(tx, auth, AuditEvent {
                    action: "ACCESS_POLICY_UPDATED",
                    target_type: "access_policy",
                    target_id: &policy.id,
                    metadata: json!({ "name": policy.name, "policy": policy.policy, "previous_policy": previous }),
                })
                .await?;
                Ok(policy)
            })
        },
    )
    .await?;
    Ok(axum::Json(policy.into()))
}

/// Delete a policy; it stops applying immediately.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/access-policies/{policy_id}", tag = "access-policies",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let policy_id = policy_id.to_string();
    let policy_id = &policy_id;
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::PolicyDelete,
        Resource::AccessPolicy(policy_id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let policy = store::access_policies::find(tx, policy_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("access policy"))?;
                store::access_policies::delete(tx, policy_id).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "ACCESS_POLICY_DELETED",
                        target_type: "access_policy",
                        target_id: policy_id,
                        metadata: json!({ "name": policy.name, "policy": policy.policy }),
                    },
                )
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn check_name(name: &str) -> ApiResult<()> {
    text::label(name, MAX_NAME_CHARS)
        .map_err(|e| ApiError::invalid_field(&["name"], format!("name {e}")))?;
    Ok(())
}

/// Longest policy name, in characters.
const MAX_NAME_CHARS: usize = 100;

/// Everything wrong with a policy text; empty when it is exactly one valid policy.
pub(crate) fn policy_problems(state: &AppState, text: &str) -> Vec<PolicyDiagnostic> {
    if text.len() > MAX_POLICY_BYTES {
        return vec![PolicyDiagnostic::general(format!(
            "policy text exceeds {MAX_POLICY_BYTES} bytes"
        ))];
    }
    state
        .authz
        .validate_tenant_policy(text)
        .err()
        .unwrap_or_default()
}

/// 400 with the validator's diagnostics when the text is not exactly one valid policy.
fn check_policy_text(state: &AppState, text: &str) -> ApiResult<()> {
    let diagnostics = policy_problems(state, text);
    if diagnostics.is_empty() {
        return Ok(());
    }
    Err(ApiError::BadRequest(json!({
        "error": "invalid_policy",
        "message": "the policy does not validate against the schema",
        "diagnostics": diagnostics,
    })))
}

fn conflict_on_name(e: sqlx::Error, name: &str) -> ApiError {
    if store::is_unique_violation(&e) {
        ApiError::Conflict(format!("an access policy named '{name}' already exists"))
    } else {
        e.into()
    }
}
