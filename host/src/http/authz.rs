//! `POST /api/v1/orgs/{org_id}/authz/explain`: evaluate a hypothetical request against the org's
//! effective policy set (baseline + tenant policies) and say why it would be allowed or denied.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
};
use crate::{
    app::AppState,
    authn::Caller,
    authz::{Action, ContextExtras, EvalInput, Evaluation, PrincipalKind, Resource},
    domain::ScopeSet,
    store,
};
use axum::extract::State;
use cedar_policy::EntityUid;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(explain))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// `User::"<user id>"`, `ApiKey::"<key id>"` (then the key's user and scopes are used), or
    /// `Agent::"<agent id>"` (an enrolled agent acting as itself).
    pub principal: String,
    /// `Action::"member.create"` or just `member.create`.
    pub action: String,
    /// e.g. `Org::"<org id>"`, `Member::"<user id>"`, `ApiKey::"<key id>"`,
    /// `AccessPolicy::"<id>"`, `AuditLog::"<org id>"`.
    pub resource: String,
    /// Scopes to evaluate with for a `User` principal; default: every scope.
    pub scopes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExplainResponse {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The principal's role in this org, or null when not a member.
    pub role: Option<String>,
    /// The concrete scopes the evaluation used.
    pub scopes: Vec<String>,
}

/// Explain a decision: allow or deny, the determining policy ids, and any errors.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/authz/explain", tag = "authz",
    params(("org_id" = Uuid, Path)), request_body = ExplainRequest,
    responses((status = 200, body = ExplainResponse), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn explain(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<ExplainRequest>,
) -> ApiResult<axum::Json<ExplainResponse>> {
    explain_request(&state, &caller, &org_id.to_string(), &body)
        .await
        .map(axum::Json)
}

/// What `POST /authz/explain` does (the console's explain playground calls it too): Cedar must
/// let the caller do `authz.explain` on the org; nothing is changed.
pub async fn explain_request(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    body: &ExplainRequest,
) -> ApiResult<ExplainResponse> {
    let (mut tx, auth) =
        authorize(state, caller, org_id, Action::AuthzExplain, Resource::Org).await?;
    let action = parse_action(&body.action)?;
    let resource = parse_resource(&body.resource)?;
    let (ptype, pid) = parse_uid(&body.principal, "principal")?;
    if ptype == "Agent" {
        let agent = store::agents::find_agent(&mut tx, &pid)
            .await?
            .ok_or_else(|| ApiError::invalid_field(&["principal"], "no such agent in this org"))?;
        let policies = state.authz.policies_for(&mut tx, &auth.org).await?;
        let email = format!("agent:{}", agent.id);
        let evaluation = state.authz.evaluate(
            &policies,
            &EvalInput {
                org: &auth.org,
                principal: PrincipalKind::Agent {
                    kind: &agent.kind,
                    name: &agent.name,
                },
                user_id: &agent.id,
                email: &email,
                role: crate::authz::AGENT_ROLE,
                credential: "agent",
                scopes: &ScopeSet::default(),
                action,
                resource: &resource,
                extras: &ContextExtras::default(),
            },
        );
        return Ok(ExplainResponse {
            evaluation,
            role: Some(crate::authz::AGENT_ROLE.into()),
            scopes: Vec::new(),
        });
    }
    let (user_id, mut scopes) = match ptype.as_str() {
        "User" => (pid, None),
        "ApiKey" => {
            let key = store::api_keys::find(&mut tx, &pid).await?.ok_or_else(|| {
                ApiError::invalid_field(&["principal"], "no such API key in this org")
            })?;
            let scopes = ScopeSet::parse_list(&key.scopes)
                .map_err(|e| ApiError::invalid_field(&["principal"], e))?;
            (key.user_id, Some(scopes))
        }
        _ => {
            return Err(ApiError::invalid_field(
                &["principal"],
                "principal must be a User, an ApiKey or an Agent",
            ));
        }
    };
    if let Some(list) = &body.scopes {
        scopes = Some(
            ScopeSet::parse_list(&list.join(","))
                .map_err(|e| ApiError::invalid_field(&["scopes"], e))?,
        );
    }
    let scopes = scopes.unwrap_or_else(ScopeSet::all);
    let member = store::memberships::find(&mut tx, &user_id).await?;
    let policies = state.authz.policies_for(&mut tx, &auth.org).await?;
    let evaluation = match &member {
        None => Evaluation {
            decision: "deny".into(),
            policy_ids: Vec::new(),
            errors: Vec::new(),
            message: Some("not a member of this organization".into()),
        },
        Some(m) => state.authz.evaluate(
            &policies,
            &EvalInput {
                org: &auth.org,
                principal: PrincipalKind::User,
                user_id: &user_id,
                email: &m.email,
                role: &m.role,
                credential: "api_key",
                scopes: &scopes,
                action,
                resource: &resource,
                extras: &ContextExtras::default(),
            },
        ),
    };
    Ok(ExplainResponse {
        evaluation,
        role: member.map(|m| m.role),
        scopes: scopes.effective().into_iter().map(str::to_owned).collect(),
    })
}

fn parse_uid(raw: &str, field: &str) -> ApiResult<(String, String)> {
    let uid = EntityUid::from_str(raw.trim()).map_err(|_| {
        ApiError::invalid_field(
            &[field],
            format!("expected an entity like Type::\"id\", got {raw:?}"),
        )
    })?;
    Ok((uid.type_name().to_string(), uid.id().unescaped().to_owned()))
}

fn parse_action(raw: &str) -> ApiResult<Action> {
    let name = match parse_uid(raw, "action") {
        Ok((t, id)) if t == "Action" => id,
        _ => raw.trim().to_owned(),
    };
    Action::ALL
        .iter()
        .copied()
        .find(|a| a.cedar_id() == name)
        .ok_or_else(|| ApiError::invalid_field(&["action"], format!("unknown action {name:?}")))
}

fn parse_resource(raw: &str) -> ApiResult<Resource> {
    let (t, id) = parse_uid(raw, "resource")?;
    Ok(match t.as_str() {
        "Org" => Resource::Org,
        "Member" => Resource::Member(id),
        "ApiKey" => Resource::ApiKey(id),
        "AccessPolicy" => Resource::AccessPolicy(id),
        "AuditLog" => Resource::AuditLog,
        "Plugin" => Resource::Plugin(id),
        "Agent" => Resource::Agent(id),
        "EnrollmentToken" => Resource::EnrollmentToken(id),
        "Asset" => Resource::Asset(id),
        "CompliancePolicy" => Resource::CompliancePolicy(id),
        "AuditorExport" => Resource::AuditorExport(id),
        "Repository" => {
            Resource::Repository(id.parse().map_err(|_| {
                ApiError::invalid_field(&["resource"], "a Repository id is a number")
            })?)
        }
        other => {
            return Err(ApiError::invalid_field(
                &["resource"],
                format!("unknown resource type {other}"),
            ));
        }
    })
}
