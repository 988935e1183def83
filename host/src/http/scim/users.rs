//! `/scim/v2/Users`: create, read, list with filters, replace, patch, delete. Each write syncs
//! the user's org membership in the same transaction (`crate::scim::access`).

use super::{
    BASE, ListParams, ReadParams, ScimDocument, ScimErrorBody, ScimJson, ScimQuery, ScimResult,
    authorize_read, check_if_match, if_match, read_body, resource_id,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::ScimCaller,
    authz::Action,
    http::{error::ApiError, write_as_scim},
    scim::{
        ScimError, access,
        patch::{self, Target},
        query::Kind,
        resource::{self, ENTERPRISE_URN, Meta, USER_URN, UserInput},
        roles::Desired,
    },
    store::{
        self, TenantTx,
        scim_directory::{Ref, ScimUser},
    },
};
use axum::{
    extract::{Path, Request, State},
    http::{HeaderMap, StatusCode},
};
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, replace_user, patch_user, delete_user))
}

fn location(id: &str) -> String {
    format!("{BASE}/Users/{id}")
}

/// The SCIM document of a stored user, with its groups.
pub fn render(user: &ScimUser, groups: &[Ref]) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "value": g.id, "display": g.display, "$ref": format!("{BASE}/Groups/{}", g.id),
            })
        })
        .collect();
    resource::render(
        &user.id,
        &user.document,
        vec![("groups", Value::Array(groups))],
        Meta {
            resource_type: "User",
            created: &user.created_at,
            last_modified: &user.updated_at,
            version: user.version,
            location: location(&user.id),
        },
    )
}

async fn render_one(tx: &mut TenantTx, user: &ScimUser) -> ScimResult<Value> {
    let groups = store::scim_directory::groups_of_users(tx, std::slice::from_ref(&user.id))
        .await
        .map_err(ApiError::from)?
        .remove(&user.id)
        .unwrap_or_default();
    Ok(render(user, &groups))
}

fn answer(status: StatusCode, user: &ScimUser, body: Value) -> ScimJson {
    ScimJson {
        status,
        body,
        etag: Some(resource::etag(user.version)),
        location: Some(location(&user.id)),
    }
}

/// List users (`filter=userName eq "…"`, `startIndex`, `count`).
#[utoipa::path(get, path = "/scim/v2/Users", tag = "scim",
    params(ListParams), security(("scim_token" = [])),
    responses(
        (status = 200, description = "A SCIM ListResponse", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn list_users(
    State(state): State<AppState>,
    scim: ScimCaller,
    ScimQuery(params): ScimQuery<ListParams>,
) -> ScimResult<ScimJson> {
    let (terms, page) = params.query(Kind::User)?;
    let (mut tx, _) = authorize_read(&state, &scim, Action::ScimUsersRead).await?;
    let (total, users) = store::scim_directory::list_users(
        &mut tx,
        Some(&scim.connection.id),
        &terms,
        None,
        page.offset(),
        page.count,
    )
    .await
    .map_err(ApiError::from)?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut groups = store::scim_directory::groups_of_users(&mut tx, &ids)
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    let resources: Vec<Value> = users
        .iter()
        .map(|u| {
            resource::project(
                render(u, &groups.remove(&u.id).unwrap_or_default()),
                params.attributes.as_deref(),
                params.excluded_attributes.as_deref(),
            )
        })
        .collect();
    Ok(ScimJson::ok(resource::list_response(
        total,
        page.start_index,
        resources,
    )))
}

/// Provision a user. Their access follows their mapped groups; with none, they have none.
#[utoipa::path(post, path = "/scim/v2/Users", tag = "scim",
    request_body(content = ScimDocument, content_type = "application/scim+json"),
    security(("scim_token" = [])),
    responses(
        (status = 201, description = "The created user", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn create_user(
    State(state): State<AppState>,
    scim: ScimCaller,
    request: Request,
) -> ScimResult<ScimJson> {
    let input = resource::user(resource::object(read_body(request).await?)?)?;
    let id = uuid::Uuid::new_v4().to_string();
    let (conn, input, id) = (&scim.connection.id, &input, &id);
    let (user, body) = write_as_scim(
        &state,
        &scim.principal,
        &scim.connection.org_id,
        Action::ScimUsersWrite,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                ensure_unique_name(tx, conn, &input.user_name, None).await?;
                let account = store::users::find_or_create(tx.conn(), &input.email).await?;
                if let Some(other) =
                    store::scim_directory::find_user_by_account(tx, &account.id).await?
                {
                    return Err(ScimError::uniqueness(format!(
                        "{} is already provisioned{}",
                        input.email,
                        if other.connection_id == *conn {
                            format!(" as user {}", other.id)
                        } else {
                            " by another SCIM connection of this org".into()
                        }
                    ))
                    .into());
                }
                store::scim_directory::insert_user(tx, id, conn, &account.id, input).await?;
                let change = access::sync_user(tx, conn, id).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_USER_CREATED",
                        target_type: "scim_user",
                        target_id: id,
                        metadata: json!({
                            "user_name": input.user_name, "user_id": account.id,
                            "active": input.active, "access": change,
                        }),
                    },
                )
                .await?;
                let user = current(tx, conn, id).await?;
                let body = render_one(tx, &user).await?;
                Ok((user, body))
            })
        },
    )
    .await?;
    Ok(answer(StatusCode::CREATED, &user, body))
}

/// Read one user.
#[utoipa::path(get, path = "/scim/v2/Users/{id}", tag = "scim",
    params(("id" = String, Path), ReadParams), security(("scim_token" = [])),
    responses(
        (status = 200, description = "The user", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn get_user(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    ScimQuery(params): ScimQuery<ReadParams>,
) -> ScimResult<ScimJson> {
    let id = resource_id(&id)?;
    let (mut tx, _) = authorize_read(&state, &scim, Action::ScimUsersRead).await?;
    let user = current(&mut tx, &scim.connection.id, &id).await?;
    let body = render_one(&mut tx, &user).await?;
    tx.commit().await.map_err(ApiError::from)?;
    let body = resource::project(
        body,
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    );
    Ok(answer(StatusCode::OK, &user, body))
}

/// Replace a user (`If-Match` is honoured).
#[utoipa::path(put, path = "/scim/v2/Users/{id}", tag = "scim",
    params(("id" = String, Path)),
    request_body(content = ScimDocument, content_type = "application/scim+json"),
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "The user as replaced", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn replace_user(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ScimResult<ScimJson> {
    let id = resource_id(&id)?;
    let input = resource::user(resource::object(read_body(request).await?)?)?;
    let edit = Edit::Replace(input);
    update(&state, &scim, &id, if_match(&headers).as_deref(), &edit).await
}

/// Patch a user (RFC 7644 §3.5.2; the shapes Okta and Entra ID send).
#[utoipa::path(patch, path = "/scim/v2/Users/{id}", tag = "scim",
    params(("id" = String, Path)),
    request_body(content = ScimDocument, content_type = "application/scim+json"),
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "The user as patched", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn patch_user(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ScimResult<ScimJson> {
    let id = resource_id(&id)?;
    let ops = patch::parse(&read_body(request).await?)?;
    let edit = Edit::Patch(ops);
    update(&state, &scim, &id, if_match(&headers).as_deref(), &edit).await
}

/// A replace or a patch of a stored user.
enum Edit {
    Replace(UserInput),
    Patch(Vec<patch::Operation>),
}

impl Edit {
    fn apply(&self, user: &ScimUser) -> ScimResult<UserInput> {
        match self {
            Edit::Replace(input) => Ok(input.clone()),
            Edit::Patch(ops) => {
                let mut doc = user.document.clone();
                patch::apply(
                    &mut doc,
                    ops,
                    &Target {
                        core_urn: USER_URN,
                        extension_urns: &[ENTERPRISE_URN],
                        id: &user.id,
                        read_only: &["groups"],
                    },
                )?;
                resource::user(doc)
            }
        }
    }

    fn audit_action(&self) -> &'static str {
        match self {
            Edit::Replace(_) => "SCIM_USER_REPLACED",
            Edit::Patch(_) => "SCIM_USER_PATCHED",
        }
    }
}

async fn update(
    state: &AppState,
    scim: &ScimCaller,
    id: &str,
    if_match: Option<&str>,
    edit: &Edit,
) -> ScimResult<ScimJson> {
    let conn = &scim.connection.id;
    let (user, body) = write_as_scim(
        state,
        &scim.principal,
        &scim.connection.org_id,
        Action::ScimUsersWrite,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let before = current(tx, conn, id).await?;
                check_if_match(if_match, before.version)?;
                let input = edit.apply(&before)?;
                let unchanged = input.document == before.document;
                if !unchanged {
                    ensure_unique_name(tx, conn, &input.user_name, Some(id)).await?;
                    store::scim_directory::update_user(tx, id, before.version, &input).await?;
                    let change = access::sync_user(tx, conn, id).await?;
                    audit::record(
                        tx,
                        auth,
                        AuditEvent {
                            action: edit.audit_action(),
                            target_type: "scim_user",
                            target_id: id,
                            metadata: json!({
                                "user_name": input.user_name, "user_id": before.user_id,
                                "active": input.active, "was_active": before.active,
                                "access": change,
                            }),
                        },
                    )
                    .await?;
                }
                let user = current(tx, conn, id).await?;
                let body = render_one(tx, &user).await?;
                Ok((user, body))
            })
        },
    )
    .await?;
    Ok(answer(StatusCode::OK, &user, body))
}

/// Deprovision a user: their org access ends at once (membership suspended, API keys revoked).
#[utoipa::path(delete, path = "/scim/v2/Users/{id}", tag = "scim",
    params(("id" = String, Path)), security(("scim_token" = [])),
    responses(
        (status = 204, description = "Deleted; the user's access ended"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn delete_user(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<StatusCode> {
    let id = resource_id(&id)?;
    let (conn, id, if_match) = (&scim.connection.id, &id, if_match(&headers));
    let if_match = if_match.as_deref();
    write_as_scim(
        &state,
        &scim.principal,
        &scim.connection.org_id,
        Action::ScimUsersWrite,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let user = current(tx, conn, id).await?;
                check_if_match(if_match, user.version)?;
                store::scim_directory::delete_user(tx, id).await?;
                let change =
                    access::apply(tx, conn, &user.user_id, &user.email, Desired::NoAccess).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_USER_DELETED",
                        target_type: "scim_user",
                        target_id: id,
                        metadata: json!({
                            "user_name": user.user_name, "user_id": user.user_id, "access": change,
                        }),
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

/// The user, or a SCIM 404.
async fn current(tx: &mut TenantTx, conn: &str, id: &str) -> Result<ScimUser, ApiError> {
    store::scim_directory::find_user(tx, conn, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no user {id}")).into())
}

/// `userName` is unique per connection, without regard to case (409 `uniqueness`).
async fn ensure_unique_name(
    tx: &mut TenantTx,
    conn: &str,
    user_name: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    match store::scim_directory::find_user_by_name(tx, conn, user_name).await? {
        Some(other) if Some(other.id.as_str()) != except => Err(ScimError::uniqueness(format!(
            "userName {user_name:?} is already taken by user {}",
            other.id
        ))
        .into()),
        _ => Ok(()),
    }
}
