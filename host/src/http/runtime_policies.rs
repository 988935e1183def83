//! The org's runtime policies (issue 12): Cedar policies over agents' connector calls, validated
//! strictly against `policies/runtime.cedarschema`, under `/api/v1/orgs/{org_id}/runtime-policies`.
//! Owners and admins add and delete them; a policy is immutable (change = delete + add), so the
//! engine's compiled set is identified by the policies' ids. An invalid text is a 400 with the
//! validator's diagnostics at their line and column, and nothing is stored.

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
    authz::{Action, Resource},
    domain::time,
    runtime::policy::TENANT_PREFIX,
    store::{self, runtime::RuntimePolicyRow},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_runtime_policies, create_runtime_policy))
        .routes(routes!(get_runtime_policy, delete_runtime_policy))
}

const MAX_POLICY_BYTES: usize = 16 * 1024;
const MAX_POLICIES: usize = 200;

#[derive(Serialize, ToSchema)]
pub struct RuntimePolicyView {
    pub id: String,
    /// The id Cedar reports in a decision's `policy_ids` (`tenant.<id>`).
    pub cedar_id: String,
    pub name: String,
    pub description: String,
    pub policy: String,
    pub created_by: String,
    pub created_at: String,
}

impl From<RuntimePolicyRow> for RuntimePolicyView {
    fn from(p: RuntimePolicyRow) -> Self {
        RuntimePolicyView {
            cedar_id: format!("{TENANT_PREFIX}{}", p.id),
            id: p.id,
            name: p.name,
            description: p.description,
            policy: p.policy,
            created_by: p.created_by,
            created_at: p.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RuntimePolicyList {
    pub policies: Vec<RuntimePolicyView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRuntimePolicy {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// Exactly one Cedar policy, e.g. `@escalate("bulk changes need review") permit (principal,
    /// action == Action::"call", resource) when { context has record_count &&
    /// context.record_count > 100 };`
    #[schema(min_length = 1, max_length = 16384)]
    pub policy: String,
}

/// The org's runtime policies, oldest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/runtime-policies", tag = "runtime",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = RuntimePolicyList), (status = 403, body = ErrorBody)))]
async fn list_runtime_policies(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<RuntimePolicyList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RuntimePolicyList,
        Resource::Org,
    )
    .await?;
    let rows = store::runtime::policies(&mut tx).await?;
    Ok(axum::Json(RuntimePolicyList {
        policies: rows.into_iter().map(Into::into).collect(),
    }))
}

/// One runtime policy.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/runtime-policies/{policy_id}", tag = "runtime",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 200, body = RuntimePolicyView), (status = 404, body = ErrorBody)))]
async fn get_runtime_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<RuntimePolicyView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RuntimePolicyRead,
        Resource::Org,
    )
    .await?;
    let row = store::runtime::find_policy(&mut tx, &policy_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("runtime policy"))?;
    Ok(axum::Json(row.into()))
}

/// Add a runtime policy (owner/admin). 400 with diagnostics when it does not validate; 409 when
/// the name is taken.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/runtime-policies", tag = "runtime",
    params(("org_id" = Uuid, Path)), request_body = NewRuntimePolicy,
    responses((status = 201, body = RuntimePolicyView), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_runtime_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<NewRuntimePolicy>,
) -> ApiResult<(StatusCode, axum::Json<RuntimePolicyView>)> {
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            &["body", "name"],
            "1 to 100 characters",
        ));
    }
    if body.description.chars().count() > 1000 {
        return Err(ApiError::invalid_field(
            &["body", "description"],
            "at most 1000 characters",
        ));
    }
    let id = Uuid::new_v4().to_string();
    if body.policy.len() > MAX_POLICY_BYTES {
        return Err(ApiError::invalid_field(
            &["body", "policy"],
            format!("at most {MAX_POLICY_BYTES} bytes"),
        ));
    }
    if let Err(diagnostics) = state
        .runtime
        .validate(&body.policy, &format!("{TENANT_PREFIX}{id}"))
    {
        return Err(ApiError::BadRequest(json!({
            "error": "invalid_policy",
            "message": "the policy does not validate against the runtime schema (policies/runtime.cedarschema)",
            "diagnostics": diagnostics,
        })));
    }
    let row = &RuntimePolicyRow {
        id,
        name,
        description: body.description,
        policy: body.policy,
        created_by: String::new(),
        created_at: time::now(),
    };
    let stored = write(&state, &caller, &org_id.to_string(), Action::RuntimePolicyCreate, Resource::Org, |w| {
        Box::pin(async move {
            if store::runtime::policies(&mut w.tx).await?.len() >= MAX_POLICIES {
                return Err(ApiError::Conflict(format!("the organization already has {MAX_POLICIES} runtime policies; delete one first")));
            }
            let row = RuntimePolicyRow {
                created_by: w.auth.actor.email.clone(),
                ..row.clone()
            };
            if !store::runtime::insert_policy(&mut w.tx, &row).await? {
                return Err(ApiError::Conflict(format!("a runtime policy named '{}' already exists", row.name)));
            }
            audit::record(&mut w.tx, &w.auth, AuditEvent {
                action: "RUNTIME_POLICY_CREATED",
                target_type: "runtime_policy",
                target_id: &row.id,
                metadata: json!({ "name": row.name, "policy": row.policy }),
            })
            .await?;
            Ok(row)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(stored.into())))
}

/// Delete a runtime policy (owner/admin); decisions from then on no longer see it.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/runtime-policies/{policy_id}", tag = "runtime",
    params(("org_id" = Uuid, Path), ("policy_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_runtime_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, policy_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let id = &policy_id.to_string();
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::RuntimePolicyDelete,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let Some(existing) = store::runtime::find_policy(&mut w.tx, id).await? else {
                    return Err(ApiError::not_found("runtime policy"));
                };
                store::runtime::delete_policy(&mut w.tx, id).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "RUNTIME_POLICY_DELETED",
                        target_type: "runtime_policy",
                        target_id: id,
                        metadata: json!({ "name": existing.name, "policy": existing.policy }),
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
