//! `/scim/v2/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4). They
//! describe the server, not the tenant, but are served to authenticated connections only, like
//! the rest of `/scim/v2`.

use super::{BASE, ScimDocument, ScimErrorBody, ScimJson, ScimResult, authorize_read};
use crate::{
    app::AppState,
    authn::ScimCaller,
    authz::Action,
    scim::{ScimError, discovery, resource},
};
use axum::extract::{Path, State};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(service_provider_config))
        .routes(routes!(resource_types))
        .routes(routes!(resource_type))
        .routes(routes!(schemas))
        .routes(routes!(schema))
}

/// Checks the token and that the connection may read at all (Cedar, as for every request).
async fn allowed(state: &AppState, scim: &ScimCaller) -> ScimResult<()> {
    let (tx, _) = authorize_read(state, scim, Action::ScimUsersRead).await?;
    tx.commit()
        .await
        .map_err(crate::http::error::ApiError::from)?;
    Ok(())
}

fn list(resources: Vec<Value>) -> ScimJson {
    let total = i64::try_from(resources.len()).unwrap_or(i64::MAX);
    ScimJson::ok(resource::list_response(total, 1, resources))
}

/// What this SCIM server supports (PATCH, filters, ETags; no bulk, sort or passwords).
#[utoipa::path(get, path = "/scim/v2/ServiceProviderConfig", tag = "scim",
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "The service provider configuration", body = ScimDocument, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn service_provider_config(
    State(state): State<AppState>,
    scim: ScimCaller,
) -> ScimResult<ScimJson> {
    allowed(&state, &scim).await?;
    Ok(ScimJson::ok(discovery::service_provider_config(BASE)))
}

/// The resource types served: User (with the enterprise extension) and Group.
#[utoipa::path(get, path = "/scim/v2/ResourceTypes", tag = "scim",
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "A ListResponse of resource types", body = ScimDocument, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn resource_types(State(state): State<AppState>, scim: ScimCaller) -> ScimResult<ScimJson> {
    allowed(&state, &scim).await?;
    Ok(list(discovery::resource_types(BASE)))
}

/// One resource type (`User` or `Group`).
#[utoipa::path(get, path = "/scim/v2/ResourceTypes/{name}", tag = "scim",
    params(("name" = String, Path)), security(("scim_token" = [])),
    responses(
        (status = 200, description = "The resource type", body = ScimDocument, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn resource_type(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(name): Path<String>,
) -> ScimResult<ScimJson> {
    allowed(&state, &scim).await?;
    discovery::resource_types(BASE)
        .into_iter()
        .find(|r| {
            r["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&name))
        })
        .map(ScimJson::ok)
        .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")))
}

/// The schemas of the resources served (RFC 7643's User, enterprise User extension, Group).
#[utoipa::path(get, path = "/scim/v2/Schemas", tag = "scim",
    security(("scim_token" = [])),
    responses(
        (status = 200, description = "A ListResponse of schemas", body = ScimDocument, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn schemas(State(state): State<AppState>, scim: ScimCaller) -> ScimResult<ScimJson> {
    allowed(&state, &scim).await?;
    Ok(list(discovery::schemas(BASE)))
}

/// One schema, by its URN.
#[utoipa::path(get, path = "/scim/v2/Schemas/{urn}", tag = "scim",
    params(("urn" = String, Path)), security(("scim_token" = [])),
    responses(
        (status = 200, description = "The schema", body = ScimDocument, content_type = "application/scim+json"),
        (status = 401, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, body = ScimErrorBody, content_type = "application/scim+json")))]
async fn schema(
    State(state): State<AppState>,
    scim: ScimCaller,
    Path(urn): Path<String>,
) -> ScimResult<ScimJson> {
    allowed(&state, &scim).await?;
    discovery::schemas(BASE)
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&urn))
        })
        .map(ScimJson::ok)
        .ok_or_else(|| ScimError::not_found(format!("no schema {urn:?}")))
}
