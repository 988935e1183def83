//! Members CRUD under `/api/v1/orgs/{org_id}/members`.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
    write, write_with,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, ContextExtras, Resource},
    domain::Role,
    store::{self, TenantTx, memberships::Member},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(get_member, update_member, remove_member))
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
    /// `active`, or `suspended` (deprovisioned by SCIM: the membership grants nothing).
    pub status: String,
    /// The SCIM connection that manages this membership; its role then follows the identity
    /// provider's groups and cannot be changed here.
    pub managed_by: Option<String>,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            status: if m.is_active() { "active" } else { "suspended" }.into(),
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            created_at: m.created_at,
            managed_by: m.managed_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The user's email; the user is created if this is their first org.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    pub role: Role,
}

/// List the org's members.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/members", tag = "members",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = MemberList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<MemberList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::MemberList,
        Resource::Org,
    )
    .await?;
    let members = store::memberships::list(&mut tx).await?;
    Ok(axum::Json(MemberList {
        members: members.into_iter().map(Into::into).collect(),
    }))
}

/// Add a member (creating the user if needed). Owner/admin only; only owners grant `owner`.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/members", tag = "members",
    params(("org_id" = Uuid, Path)), request_body = AddMember,
    responses((status = 201, body = MemberView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<AddMember>,
) -> ApiResult<(StatusCode, axum::Json<MemberView>)> {
    let email = body.email.trim().to_ascii_lowercase();
    if !is_plausible_email(&email) {
        return Err(ApiError::invalid_field(
            &["email"],
            "not a valid email address",
        ));
    }
    let extras = ContextExtras {
        grants_role: Some(body.role.as_str().into()),
        ..Default::default()
    };
    let (email, role) = (&email, body.role);
    let (user, created_at) = write_with(
        &state,
        &caller,
        &org_id.to_string(),
        Action::MemberCreate,
        Resource::Org,
        extras,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let user = store::users::find_or_create(tx.conn(), email).await?;
                if let Some(existing) = store::memberships::find_any(tx, &user.id).await? {
                    return Err(ApiError::Conflict(if existing.is_active() {
                        format!("{email} is already a member")
                    } else {
                        format!(
                            "{email} is a suspended member; change their role to reactivate \
                             them, or their groups in the identity provider if SCIM manages them"
                        )
                    }));
                }
                let created_at = store::memberships::insert(tx, &user.id, role.as_str()).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "MEMBER_ADDED",
                        target_type: "member",
                        target_id: &user.id,
                        metadata: json!({ "email": email, "role": role }),
                    },
                )
                .await?;
                Ok((user, created_at))
            })
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(MemberView {
            user_id: user.id,
            email: user.email,
            role: body.role.as_str().into(),
            created_at,
            status: "active".into(),
            managed_by: None,
        }),
    ))
}

/// One member.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, body = MemberView), (status = 404, body = ErrorBody)))]
async fn get_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<MemberView>> {
    let user_id = user_id.to_string();
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::MemberRead,
        Resource::Member(user_id.clone()),
    )
    .await?;
    let member = find_member(&mut tx, &user_id).await?;
    Ok(axum::Json(member.into()))
}

/// Change a member's role (a suspended member becomes active again). The last owner cannot be
/// demoted; a membership SCIM manages follows the identity provider (409).
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = UpdateMember,
    responses((status = 200, body = MemberView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateMember>,
) -> ApiResult<axum::Json<MemberView>> {
    let user_id = user_id.to_string();
    let extras = ContextExtras {
        grants_role: Some(body.role.as_str().into()),
        ..Default::default()
    };
    let (user_id, role) = (&user_id, body.role);
    let mut member = write_with(
        &state,
        &caller,
        &org_id.to_string(),
        Action::MemberUpdate,
        Resource::Member(user_id.clone()),
        extras,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let member = find_member(tx, user_id).await?;
                if let Some(connection) = &member.managed_by {
                    return Err(ApiError::Conflict(format!(
                        "SCIM connection {connection} manages this membership; change the \
                         user's groups in the identity provider (or the connection's role \
                         mappings)"
                    )));
                }
                if member.role == "owner" && role != Role::Owner {
                    ensure_not_last_owner(tx).await?;
                }
                store::memberships::update_role(tx, user_id, role.as_str()).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "MEMBER_ROLE_CHANGED",
                        target_type: "member",
                        target_id: user_id,
                        metadata: json!({ "email": member.email, "from": member.role, "to": role }),
                    },
                )
                .await?;
                Ok(member)
            })
        },
    )
    .await?;
    member.role = body.role.as_str().into();
    member.suspended_at = None;
    Ok(axum::Json(member.into()))
}

/// Remove a member and revoke every key they hold in this org. The last owner cannot leave.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/members/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let user_id = user_id.to_string();
    let user_id = &user_id;
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::MemberDelete,
        Resource::Member(user_id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let member = find_member(tx, user_id).await?;
                if member.role == "owner" {
                    ensure_not_last_owner(tx).await?;
                }
                let revoked = store::api_keys::revoke_all_for_user(tx, user_id).await?;
                store::memberships::delete(tx, user_id).await?;
                audit::record(tx, auth, AuditEvent {
                    action: "MEMBER_REMOVED",
                    target_type: "member",
                    target_id: user_id,
                    metadata: json!({ "email": member.email, "role": member.role, "keys_revoked": revoked }),
                })
                .await?;
                Ok(())
            })
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The membership, active or suspended.
async fn find_member(tx: &mut TenantTx, user_id: &str) -> ApiResult<Member> {
    store::memberships::find_any(tx, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("member"))
}

async fn ensure_not_last_owner(tx: &mut TenantTx) -> ApiResult<()> {
    if store::memberships::count_owners(tx).await? <= 1 {
        return Err(ApiError::Conflict(
            "an organization must keep at least one owner".into(),
        ));
    }
    Ok(())
}

/// An RFC 5322 address (validated by the `email_address` crate), at most 254 characters.
fn is_plausible_email(email: &str) -> bool {
    email.chars().count() <= 254 && email_address::EmailAddress::is_valid(email)
}
