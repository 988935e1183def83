//! `/scim/v2/Groups`: create, read, list with filters, replace, patch (member adds and removes
//! in every shape identity providers send), delete. A change to a group's members or name
//! re-syncs the org membership of every user it affects, in the same transaction.

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
        resource::{self, GROUP_URN, GroupInput, Meta},
    },
    store::{
        self, TenantTx,
        scim_directory::{Ref, ScimGroup},
    },
};
use axum::{
    extract::{Path, Request, State},
    http::{HeaderMap, StatusCode},
};
use serde_json::{Map, Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, replace_group, patch_group, delete_group))
}

fn location(id: &str) -> String {
    format!("{BASE}/Groups/{id}")
}

fn members_json(members: &[Ref]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                json!({ "value": m.id, "display": m.display, "$ref": format!("{BASE}/Users/{}", m.id) })
            })
            .collect(),
    )
}

fn render(group: &ScimGroup, members: &[Ref]) -> Value {
    resource::render(
        &group.id,
        &group.document,
        vec![("members", members_json(members))],
        Meta {
            resource_type: "Group",
            created: &group.created_at,
            last_modified: &group.updated_at,
            version: group.version,
            location: location(&group.id),
        },
    )
}

async fn render_one(tx: &mut TenantTx, group: &ScimGroup) -> Result<Value, ApiError> {
    let members = store::scim_directory::members_of_groups(tx, std::slice::from_ref(&group.id))
        .await?
        .remove(&group.id)
        .unwrap_or_default();
    Ok(render(group, &members))
}

fn answer(status: StatusCode, group: &ScimGroup, body: Value) -> ScimJson {
    ScimJson {
        status,
        body,
        etag: Some(resource::etag(group.version)),
        location: Some(location(&group.id)),
    }
}

/// List groups (`filter=displayName eq "…"`, `excludedAttributes=members`, paging).
#[utoipa::path(get, path = "/scim/v2/Groups", tag = "scim",
    params(ListParams), security(("scim_token" = [])),
    responses(
        (status = 200, description = "A SCIM ListResponse", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn list_groups(
    State(state): State<AppState>,
    scim: ScimCaller,
    ScimQuery(params): ScimQuery<ListParams>,
) -> ScimResult<ScimJson> {
    let (terms, page) = params.query(Kind::Group)?;
    let (mut tx, _) = authorize_read(&state, &scim, Action::ScimGroupsRead).await?;
    let (total, groups) = store::scim_directory::list_groups(
        &mut tx,
        &scim.connection.id,
        &terms,
        page.offset(),
        page.count,
    )
    .await
    .map_err(ApiError::from)?;
    let without_members = params.excluded_attributes.as_deref().is_some_and(|e| {
        e.split(',')
            .any(|a| a.trim().eq_ignore_ascii_case("members"))
    });
    let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let mut members = if without_members {
        Default::default()
    } else {
        store::scim_directory::members_of_groups(&mut tx, &ids)
            .await
            .map_err(ApiError::from)?
    };
    tx.commit().await.map_err(ApiError::from)?;
    let resources: Vec<Value> = groups
        .iter()
        .map(|g| {
            resource::project(
                render(g, &members.remove(&g.id).unwrap_or_default()),
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

/// Create a group (with members, if given).
#[utoipa::path(post, path = "/scim/v2/Groups", tag = "scim",
    request_body(content = ScimDocument, content_type = "application/scim+json"),
    security(("scim_token" = [])),
    responses(
        (status = 201, description = "The created group", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn create_group(
    State(state): State<AppState>,
    scim: ScimCaller,
    request: Request,
) -> ScimResult<ScimJson> {
    let input = resource::group(resource::object(read_body(request).await?)?)?;
    let id = uuid::Uuid::new_v4().to_string();
    let (conn, input, id) = (&scim.connection.id, &input, &id);
    let (group, body) = write_as_scim(
        &state,
        &scim.principal,
        &scim.connection.org_id,
        Action::ScimGroupsWrite,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                ensure_unique_name(tx, conn, &input.display_name, None).await?;
                ensure_members_exist(tx, conn, &input.members).await?;
                store::scim_directory::insert_group(tx, id, conn, input).await?;
                store::scim_directory::set_members(tx, id, &input.members).await?;
                let changes = access::sync_users(tx, conn, &input.members).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_GROUP_CREATED",
                        target_type: "scim_group",
                        target_id: id,
                        metadata: json!({
                            "display_name": input.display_name, "members": input.members.len(),
                            "access": changes,
                        }),
                    },
                )
                .await?;
                let group = current(tx, conn, id).await?;
                let body = render_one(tx, &group).await?;
                Ok((group, body))
            })
        },
    )
    .await?;
    Ok(answer(StatusCode::CREATED, &group, body))
}

/// Read one group.
#[utoipa::path(get, path = "/scim/v2/Groups/{id}", tag = "scim",
    params(("id" = String, Path), ReadParams), security(("scim_token" = [])),
    responses(
        (status = 200, description = "The group", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn get_group(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    ScimQuery(params): ScimQuery<ReadParams>,
) -> ScimResult<ScimJson> {
    let id = resource_id(&id)?;
    let (mut tx, _) = authorize_read(&state, &scim, Action::ScimGroupsRead).await?;
    let group = current(&mut tx, &scim.connection.id, &id).await?;
    let body = render_one(&mut tx, &group).await?;
    tx.commit().await.map_err(ApiError::from)?;
    let body = resource::project(
        body,
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    );
    Ok(answer(StatusCode::OK, &group, body))
}

/// Replace a group, members included (`If-Match` is honoured).
#[utoipa::path(put, path = "/scim/v2/Groups/{id}", tag = "scim",
    params(("id" = String, Path)),
    request_body(content = ScimDocument, content_type = "application/scim+json"),
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "The group as replaced", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn replace_group(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ScimResult<ScimJson> {
    let id = resource_id(&id)?;
    let input = resource::group(resource::object(read_body(request).await?)?)?;
    update(
        &state,
        &scim,
        &id,
        if_match(&headers).as_deref(),
        &Edit::Replace(input),
    )
    .await
}

/// Patch a group: member adds and removes (by filter path or by value array), renames.
#[utoipa::path(patch, path = "/scim/v2/Groups/{id}", tag = "scim",
    params(("id" = String, Path)),
    request_body(content = ScimDocument, content_type = "application/scim+json"),
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "The group as patched", body = ScimDocument, content_type = "application/scim+json"),
        (status = 400, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn patch_group(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ScimResult<ScimJson> {
    let id = resource_id(&id)?;
    let ops = patch::parse(&read_body(request).await?)?;
    update(
        &state,
        &scim,
        &id,
        if_match(&headers).as_deref(),
        &Edit::Patch(ops),
    )
    .await
}

enum Edit {
    Replace(GroupInput),
    Patch(Vec<patch::Operation>),
}

impl Edit {
    fn apply(&self, group: &ScimGroup, members: &[String]) -> ScimResult<GroupInput> {
        match self {
            Edit::Replace(input) => Ok(input.clone()),
            Edit::Patch(ops) => {
                let mut doc: Map<String, Value> = group.document.clone();
                let listed: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
                doc.insert("members".into(), Value::Array(listed));
                patch::apply(
                    &mut doc,
                    ops,
                    &Target {
                        core_urn: GROUP_URN,
                        extension_urns: &[],
                        id: &group.id,
                        read_only: &[],
                    },
                )?;
                resource::group(doc)
            }
        }
    }

    fn audit_action(&self) -> &'static str {
        match self {
            Edit::Replace(_) => "SCIM_GROUP_REPLACED",
            Edit::Patch(_) => "SCIM_GROUP_PATCHED",
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
    let (group, body) = write_as_scim(
        state,
        &scim.principal,
        &scim.connection.org_id,
        Action::ScimGroupsWrite,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let before = current(tx, conn, id).await?;
                check_if_match(if_match, before.version)?;
                let before_members = store::scim_directory::member_ids(tx, id).await?;
                let input = edit.apply(&before, &before_members)?;
                let document_changed = input.document != before.document;
                if document_changed {
                    ensure_unique_name(tx, conn, &input.display_name, Some(id)).await?;
                    store::scim_directory::update_group(tx, id, before.version, &input).await?;
                }
                ensure_members_exist(tx, conn, &input.members).await?;
                let (added, removed) =
                    store::scim_directory::set_members(tx, id, &input.members).await?;
                if !document_changed && added.is_empty() && removed.is_empty() {
                    let body = render_one(tx, &before).await?;
                    return Ok((before, body));
                }
                // A renamed group may match other mappings: every member's role is re-derived.
                let affected: Vec<String> = if document_changed {
                    let mut all = before_members.clone();
                    all.extend(
                        added
                            .iter()
                            .filter(|a| !before_members.contains(a))
                            .cloned(),
                    );
                    all
                } else {
                    added.iter().chain(&removed).cloned().collect()
                };
                if !document_changed {
                    store::scim_directory::touch_group(tx, id).await?;
                }
                let changes = access::sync_users(tx, conn, &affected).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: edit.audit_action(),
                        target_type: "scim_group",
                        target_id: id,
                        metadata: json!({
                            "display_name": input.display_name, "members_added": added.len(),
                            "members_removed": removed.len(), "access": changes,
                        }),
                    },
                )
                .await?;
                let group = current(tx, conn, id).await?;
                let body = render_one(tx, &group).await?;
                Ok((group, body))
            })
        },
    )
    .await?;
    Ok(answer(StatusCode::OK, &group, body))
}

/// Delete a group; its members lose what it granted, at once.
#[utoipa::path(delete, path = "/scim/v2/Groups/{id}", tag = "scim",
    params(("id" = String, Path)), security(("scim_token" = [])),
    responses(
        (status = 204, description = "Deleted; members' access re-derived"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn delete_group(
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
        Action::ScimGroupsWrite,
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let group = current(tx, conn, id).await?;
                check_if_match(if_match, group.version)?;
                let members = store::scim_directory::member_ids(tx, id).await?;
                store::scim_directory::delete_group(tx, id).await?;
                let changes = access::sync_users(tx, conn, &members).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "SCIM_GROUP_DELETED",
                        target_type: "scim_group",
                        target_id: id,
                        metadata: json!({
                            "display_name": group.display_name, "members": members.len(),
                            "access": changes,
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

async fn current(tx: &mut TenantTx, conn: &str, id: &str) -> Result<ScimGroup, ApiError> {
    store::scim_directory::find_group(tx, conn, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("no group {id}")).into())
}

/// `displayName` is unique per connection, without regard to case: role mappings name groups
/// by it, so two groups with one name would make a mapping ambiguous.
async fn ensure_unique_name(
    tx: &mut TenantTx,
    conn: &str,
    display_name: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    match store::scim_directory::find_group_by_name(tx, conn, display_name).await? {
        Some(other) if Some(other.id.as_str()) != except => Err(ScimError::uniqueness(format!(
            "displayName {display_name:?} is already taken by group {}",
            other.id
        ))
        .into()),
        _ => Ok(()),
    }
}

/// Every member must be a user of this connection (400 `invalidValue` naming the first that
/// is not).
async fn ensure_members_exist(
    tx: &mut TenantTx,
    conn: &str,
    members: &[String],
) -> Result<(), ApiError> {
    let found: std::collections::HashSet<String> =
        store::scim_directory::existing_users(tx, conn, members)
            .await?
            .into_iter()
            .collect();
    match members.iter().find(|m| !found.contains(*m)) {
        Some(missing) => Err(ScimError::invalid_value(format!(
            "member {missing:?} is not a user provisioned by this connection"
        ))
        .into()),
        None => Ok(()),
    }
}
