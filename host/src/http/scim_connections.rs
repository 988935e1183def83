//! SCIM administration in the org API (owner/admin): connections (an identity provider's token,
//! shown once), their role mappings and provisioning status; and provisioned-user reads for
//! every reader, masked for those who are not admins.

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
    authz::{Action, Resource},
    domain::{Role, ScimToken, page, text, time},
    scim::{
        access::{self, AccessChange},
        redact::mask,
        roles::{self, Mapping, MatchOn},
    },
    store::{self, TenantTx, scim_connections::Connection},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(
            get_connection,
            update_connection,
            delete_connection
        ))
        .routes(routes!(rotate_connection))
        .routes(routes!(get_role_mappings, replace_role_mappings))
        .routes(routes!(list_provisioned_users))
}

const MAX_MAPPINGS: usize = 200;

#[derive(Serialize, ToSchema)]
pub struct ScimRequestErrorView {
    pub occurred_at: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub scim_type: Option<String>,
    pub detail: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvisioningStatus {
    pub last_request_at: Option<String>,
    pub requests: i64,
    pub failed_requests: i64,
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    /// The most recent failed requests (up to 20), newest first.
    pub recent_errors: Vec<ScimRequestErrorView>,
}

#[derive(Serialize, ToSchema)]
pub struct ScimConnectionView {
    pub id: String,
    pub name: String,
    /// `active` or `disabled` (a disabled connection's token gets 401).
    pub status: String,
    /// The token's first characters, to recognise it; the token itself is shown once.
    pub token_prefix: String,
    /// Where the identity provider sends SCIM requests, relative to this server's base URL.
    pub scim_base_path: String,
    pub created_at: String,
    pub created_by: Option<String>,
    pub rotated_at: Option<String>,
    pub disabled_at: Option<String>,
    pub provisioning: ProvisioningStatus,
}

#[derive(Serialize, ToSchema)]
pub struct ScimConnectionList {
    pub connections: Vec<ScimConnectionView>,
}

#[derive(Serialize, ToSchema)]
pub struct ScimConnectionWithToken {
    pub connection: ScimConnectionView,
    /// The bearer token for the identity provider. Shown only now; store it in the IdP.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScimConnection {
    /// A name for the identity provider (e.g. "Okta", "Entra ID"), unique in the org.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateScimConnection {
    /// `disabled` stops the token at once (memberships stay as they are); `active` lets it
    /// work again.
    pub status: ConnectionStatus,
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionStatus {
    Active,
    Disabled,
}

#[derive(Serialize, ToSchema)]
pub struct ScimConnectionDeleted {
    pub id: String,
    /// Memberships the connection managed, now suspended (their API keys revoked).
    pub access_changes: Vec<AccessChangeView>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessChangeView {
    pub user_id: String,
    pub email: String,
    /// `granted`, `role_changed`, `reactivated` or `suspended`.
    pub change: String,
    pub role: Option<Role>,
    pub keys_revoked: Option<u64>,
}

impl From<AccessChange> for AccessChangeView {
    fn from(c: AccessChange) -> Self {
        AccessChangeView {
            user_id: c.user_id,
            email: c.email,
            change: c.change.into(),
            role: c.role,
            keys_revoked: c.keys_revoked,
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MappedRole {
    Admin,
    Member,
    Auditor,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct RoleMappingView {
    /// Match the IdP group by `display_name` (without regard to case) or `external_id` (exact).
    pub match_on: MatchOn,
    #[schema(min_length = 1, max_length = 256)]
    pub value: String,
    /// Never `owner`: owners are made by hand.
    pub role: MappedRole,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRoleMappings {
    pub mappings: Vec<RoleMappingView>,
}

#[derive(Serialize, ToSchema)]
pub struct RoleMappings {
    pub mappings: Vec<RoleMappingView>,
    /// A user in several mapped groups gets the first of these their groups grant.
    pub precedence: Vec<Role>,
    /// Memberships that changed because the mappings did (only on a replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_changes: Option<Vec<AccessChangeView>>,
}

fn view(
    c: &Connection,
    counts: store::scim_connections::Counts,
    errors: Vec<store::scim_connections::RequestError>,
) -> ScimConnectionView {
    ScimConnectionView {
        id: c.id.clone(),
        name: c.name.clone(),
        status: c.status.clone(),
        token_prefix: c.token_prefix.clone(),
        scim_base_path: super::scim::BASE.into(),
        created_at: c.created_at.clone(),
        created_by: c.created_by.clone(),
        rotated_at: c.rotated_at.clone(),
        disabled_at: c.disabled_at.clone(),
        provisioning: ProvisioningStatus {
            last_request_at: c.last_request_at.clone(),
            requests: c.requests,
            failed_requests: c.failed_requests,
            users: counts.users,
            active_users: counts.active_users,
            groups: counts.groups,
            recent_errors: errors
                .into_iter()
                .map(|e| ScimRequestErrorView {
                    occurred_at: e.occurred_at,
                    method: e.method,
                    path: e.path,
                    status: e.status,
                    scim_type: e.scim_type,
                    detail: e.detail,
                })
                .collect(),
        },
    }
}

async fn load_view(tx: &mut TenantTx, c: &Connection) -> ApiResult<ScimConnectionView> {
    let counts = store::scim_connections::counts(tx, &c.id).await?;
    let errors = store::scim_connections::recent_errors(tx, &c.id).await?;
    Ok(view(c, counts, errors))
}

async fn found(tx: &mut TenantTx, id: &str) -> ApiResult<Connection> {
    store::scim_connections::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("SCIM connection"))
}

/// List the org's SCIM connections with their provisioning status (owner/admin).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/scim/connections", tag = "scim",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = ScimConnectionList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn list_connections(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<ScimConnectionList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionList,
        Resource::Org,
    )
    .await?;
    let mut connections = Vec::new();
    for c in store::scim_connections::list(&mut tx).await? {
        connections.push(load_view(&mut tx, &c).await?);
    }
    tx.commit().await?;
    Ok(axum::Json(ScimConnectionList { connections }))
}

/// Create a SCIM connection. The token is in this answer only; it is stored hashed.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/scim/connections", tag = "scim",
    params(("org_id" = Uuid, Path)), request_body = CreateScimConnection,
    responses((status = 201, body = ScimConnectionWithToken), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<CreateScimConnection>,
) -> ApiResult<(StatusCode, axum::Json<ScimConnectionWithToken>)> {
    let name = text::label(&body.name, 100).map_err(|e| ApiError::invalid_field(&["name"], e))?;
    let token = ScimToken::generate();
    let connection = Connection {
        id: Uuid::new_v4().to_string(),
        org_id: org_id.to_string(),
        name,
        token_prefix: token.display_prefix(),
        token_hash: token.hash(),
        status: "active".into(),
        created_by: Some(caller.email.clone()),
        created_at: time::now(),
        rotated_at: None,
        disabled_at: None,
        last_request_at: None,
        requests: 0,
        failed_requests: 0,
    };
    let c = &connection;
    let view = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let taken = store::scim_connections::list(tx)
                    .await?
                    .iter()
                    .any(|other| other.name.eq_ignore_ascii_case(&c.name));
                if taken {
                    return Err(ApiError::Conflict(format!(
                        "a SCIM connection named {:?} already exists",
                        c.name
                    )));
                }
                store::scim_connections::insert(tx, c).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_CONNECTION_CREATED",
                        target_type: "scim_connection",
                        target_id: &c.id,
                        metadata: json!({ "name": c.name, "token_prefix": c.token_prefix }),
                    },
                )
                .await?;
                load_view(tx, c).await
            })
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ScimConnectionWithToken {
            connection: view,
            token: token.expose().to_owned(),
        }),
    ))
}

/// One connection with its provisioning status: last request, counts, recent errors.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/scim/connections/{connection_id}", tag = "scim",
    params(("org_id" = Uuid, Path), ("connection_id" = Uuid, Path)),
    responses((status = 200, body = ScimConnectionView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ScimConnectionView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionRead,
        Resource::Org,
    )
    .await?;
    let c = found(&mut tx, &connection_id.to_string()).await?;
    let view = load_view(&mut tx, &c).await?;
    tx.commit().await?;
    Ok(axum::Json(view))
}

/// Disable a connection (its token stops at once; memberships stay) or enable it again.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/scim/connections/{connection_id}", tag = "scim",
    params(("org_id" = Uuid, Path), ("connection_id" = Uuid, Path)),
    request_body = UpdateScimConnection,
    responses((status = 200, body = ScimConnectionView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateScimConnection>,
) -> ApiResult<axum::Json<ScimConnectionView>> {
    let id = &connection_id.to_string();
    let status = match body.status {
        ConnectionStatus::Active => "active",
        ConnectionStatus::Disabled => "disabled",
    };
    let view = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionUpdate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                let changed = store::scim_connections::set_status(tx, id, status).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: if status == "active" {
                            "SCIM_CONNECTION_ENABLED"
                        } else {
                            "SCIM_CONNECTION_DISABLED"
                        },
                        target_type: "scim_connection",
                        target_id: id,
                        metadata: json!({ "status": status, "changed": changed }),
                    },
                )
                .await?;
                let c = found(tx, id).await?;
                load_view(tx, &c).await
            })
        },
    )
    .await?;
    Ok(axum::Json(view))
}

/// Delete a connection with the users and groups it provisioned. Every membership it managed
/// is suspended and its API keys revoked: access the IdP granted ends with the IdP link.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/scim/connections/{connection_id}", tag = "scim",
    params(("org_id" = Uuid, Path), ("connection_id" = Uuid, Path)),
    responses((status = 200, body = ScimConnectionDeleted), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ScimConnectionDeleted>> {
    let id = &connection_id.to_string();
    let changes = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionDelete,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let c = found(tx, id).await?;
                let changes = access::suspend_all(tx, id).await?;
                store::scim_connections::delete(tx, id).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_CONNECTION_DELETED",
                        target_type: "scim_connection",
                        target_id: id,
                        metadata: json!({ "name": c.name, "access": changes }),
                    },
                )
                .await?;
                Ok(changes)
            })
        },
    )
    .await?;
    Ok(axum::Json(ScimConnectionDeleted {
        id: id.clone(),
        access_changes: changes.into_iter().map(Into::into).collect(),
    }))
}

/// Issue a new token; the old one stops at once. The new token is in this answer only.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/scim/connections/{connection_id}/rotate", tag = "scim",
    params(("org_id" = Uuid, Path), ("connection_id" = Uuid, Path)),
    responses((status = 200, body = ScimConnectionWithToken), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn rotate_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ScimConnectionWithToken>> {
    let id = &connection_id.to_string();
    let token = ScimToken::generate();
    let (prefix, hash) = (&token.display_prefix(), &token.hash());
    let view = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionRotate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                store::scim_connections::rotate(tx, id, prefix, hash).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_CONNECTION_ROTATED",
                        target_type: "scim_connection",
                        target_id: id,
                        metadata: json!({ "token_prefix": prefix }),
                    },
                )
                .await?;
                let c = found(tx, id).await?;
                load_view(tx, &c).await
            })
        },
    )
    .await?;
    Ok(axum::Json(ScimConnectionWithToken {
        connection: view,
        token: token.expose().to_owned(),
    }))
}

fn mapping_view(m: &Mapping) -> RoleMappingView {
    RoleMappingView {
        match_on: m.match_on,
        value: m.value.clone(),
        role: match m.role {
            Role::Admin => MappedRole::Admin,
            Role::Auditor => MappedRole::Auditor,
            // Only admin, member and auditor are ever stored (the table's CHECK).
            Role::Member | Role::Owner => MappedRole::Member,
        },
    }
}

/// The connection's group → role mappings and the precedence among them.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/scim/connections/{connection_id}/role-mappings", tag = "scim",
    params(("org_id" = Uuid, Path), ("connection_id" = Uuid, Path)),
    responses((status = 200, body = RoleMappings), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_role_mappings(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<RoleMappings>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimConnectionRead,
        Resource::Org,
    )
    .await?;
    let id = connection_id.to_string();
    found(&mut tx, &id).await?;
    let mappings = store::scim_connections::mappings(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(axum::Json(RoleMappings {
        mappings: mappings.iter().map(mapping_view).collect(),
        precedence: roles::PRECEDENCE.to_vec(),
        access_changes: None,
    }))
}

/// Replace the whole mapping table; every provisioned user's membership is re-derived at once.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/scim/connections/{connection_id}/role-mappings", tag = "scim",
    params(("org_id" = Uuid, Path), ("connection_id" = Uuid, Path)),
    request_body = ReplaceRoleMappings,
    responses((status = 200, body = RoleMappings), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_role_mappings(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, connection_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ReplaceRoleMappings>,
) -> ApiResult<axum::Json<RoleMappings>> {
    if body.mappings.len() > MAX_MAPPINGS {
        return Err(ApiError::invalid_field(
            &["mappings"],
            format!("at most {MAX_MAPPINGS} mappings"),
        ));
    }
    let mut mappings: Vec<Mapping> = Vec::with_capacity(body.mappings.len());
    for (i, m) in body.mappings.iter().enumerate() {
        let value = text::label(&m.value, 256)
            .map_err(|e| ApiError::invalid_field(&["mappings", &i.to_string(), "value"], e))?;
        let match_on = m.match_on;
        let duplicate = mappings.iter().any(|other| {
            other.match_on == match_on
                && roles::value_key(match_on, &other.value) == roles::value_key(match_on, &value)
        });
        if duplicate {
            return Err(ApiError::invalid_field(
                &["mappings", &i.to_string(), "value"],
                "maps a group that an earlier mapping already maps",
            ));
        }
        let role = match m.role {
            MappedRole::Admin => Role::Admin,
            MappedRole::Member => Role::Member,
            MappedRole::Auditor => Role::Auditor,
        };
        mappings.push(Mapping {
            match_on,
            value,
            role,
        });
    }
    let (id, mappings) = (&connection_id.to_string(), &mappings);
    let changes = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimMappingUpdate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                store::scim_connections::replace_mappings(tx, id, mappings).await?;
                let users = store::scim_directory::user_ids(tx, id).await?;
                let changes = access::sync_users(tx, id, &users).await?;
                let listed: Vec<RoleMappingView> = mappings.iter().map(mapping_view).collect();
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_ROLE_MAPPINGS_REPLACED",
                        target_type: "scim_connection",
                        target_id: id,
                        metadata: json!({ "mappings": listed, "access": changes }),
                    },
                )
                .await?;
                Ok(changes)
            })
        },
    )
    .await?;
    Ok(axum::Json(RoleMappings {
        mappings: mappings.iter().map(mapping_view).collect(),
        precedence: roles::PRECEDENCE.to_vec(),
        access_changes: Some(changes.into_iter().map(Into::into).collect()),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProvisionedQuery {
    /// Only users of this connection.
    pub connection_id: Option<Uuid>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ProvisionedUserView {
    /// The SCIM user id.
    pub id: String,
    pub connection_id: String,
    /// The account it is linked to.
    pub user_id: String,
    /// Masked (`a***@e***.com`) unless the reader is an owner or admin.
    pub user_name: String,
    pub email: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The IdP groups the user is in (display names).
    pub groups: Vec<String>,
    /// The org membership: `active`, `suspended`, `none`, or `owner_unmanaged` (owners are
    /// never managed by SCIM).
    pub membership: String,
    pub role: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvisionedUserList {
    pub users: Vec<ProvisionedUserView>,
    pub next_cursor: Option<String>,
}

/// The users SCIM connections provisioned, with their membership. Emails, user names and
/// external ids are masked for readers who are not owners or admins.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/scim/users", tag = "scim",
    params(("org_id" = Uuid, Path), ProvisionedQuery),
    responses((status = 200, body = ProvisionedUserList), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_provisioned_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(query): Query<ProvisionedQuery>,
) -> ApiResult<axum::Json<ProvisionedUserList>> {
    let (cursor, limit) = paging(query.cursor.as_deref(), query.limit)?;
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ScimProvisionedList,
        Resource::Org,
    )
    .await?;
    let connection = query.connection_id.map(|c| c.to_string());
    let (_, users) = store::scim_directory::list_users(
        &mut tx,
        connection.as_deref(),
        &[],
        cursor.as_ref(),
        0,
        limit + 1,
    )
    .await?;
    let (users, next_cursor) = page::split(users, limit, |u| page::Cursor {
        at: u.created_at.clone(),
        id: u.id.clone(),
    });
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut groups = store::scim_directory::groups_of_users(&mut tx, &ids).await?;
    let members: HashMap<String, store::memberships::Member> = store::memberships::list(&mut tx)
        .await?
        .into_iter()
        .map(|m| (m.user_id.clone(), m))
        .collect();
    tx.commit().await?;
    let full = auth.role == "owner" || auth.role == "admin";
    let shown = |v: &str| if full { v.to_owned() } else { mask(v) };
    let users = users
        .into_iter()
        .map(|u| {
            let member = members.get(&u.user_id);
            let membership = match member {
                None => "none",
                Some(m) if m.role == "owner" && m.managed_by.is_none() => "owner_unmanaged",
                Some(m) if m.is_active() => "active",
                Some(_) => "suspended",
            };
            ProvisionedUserView {
                groups: groups
                    .remove(&u.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| g.display)
                    .collect(),
                user_name: shown(&u.user_name),
                email: shown(&u.email),
                external_id: u.external_id.as_deref().map(shown),
                membership: membership.into(),
                role: member.filter(|m| m.is_active()).map(|m| m.role.clone()),
                id: u.id,
                connection_id: u.connection_id,
                user_id: u.user_id,
                active: u.active,
                created_at: u.created_at,
                updated_at: u.updated_at,
            }
        })
        .collect();
    Ok(axum::Json(ProvisionedUserList { users, next_cursor }))
}
