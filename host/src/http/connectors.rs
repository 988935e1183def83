//! The connectors catalog and agent configurations (issue 12): `GET/POST
//! /api/v1/orgs/{org_id}/connectors` (built-in entries and the org's own) and `GET/PUT
//! /api/v1/orgs/{org_id}/agents/{agent_id}/configuration` (the connectors and operations an
//! automation agent is declared to use; every change is a new, audited version).

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
    runtime::{
        connectors::{self, ConnectorDef, OperationDef},
        declaration::Declaration,
    },
    store::{
        self,
        runtime::{ConfigurationRow, ConnectorRow},
    },
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connectors, create_connector))
        .routes(routes!(get_configuration, set_configuration))
        .routes(routes!(list_configurations))
}

/// A connector as listed: its key, whether the org added it, and its definition.
#[derive(Serialize, ToSchema)]
pub struct ConnectorView {
    pub key: String,
    pub custom: bool,
    pub name: String,
    /// The vendor's legal name, as a sub-processor list names it.
    pub vendor: String,
    pub purpose: String,
    pub data_categories: Vec<String>,
    /// Where the vendor processes the data.
    pub locations: Vec<String>,
    pub website: Option<String>,
    /// By operation name (`noun.verb`).
    pub operations: BTreeMap<String, OperationDef>,
}

impl ConnectorView {
    fn of(key: String, custom: bool, d: ConnectorDef) -> Self {
        ConnectorView {
            key,
            custom,
            name: d.name,
            vendor: d.vendor,
            purpose: d.purpose,
            data_categories: d.data_categories,
            locations: d.locations,
            website: d.website,
            operations: d.operations,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectorList {
    pub connectors: Vec<ConnectorView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// Lower case `[a-z][a-z0-9_]`, 2–40 characters; not a built-in key.
    #[schema(min_length = 2, max_length = 40)]
    pub key: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The vendor's legal name.
    #[schema(min_length = 1, max_length = 200)]
    pub vendor: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub locations: Vec<String>,
    /// An https URL.
    #[serde(default)]
    pub website: Option<String>,
    /// By operation name (`noun.verb`, e.g. `host.isolate`).
    pub operations: BTreeMap<String, OperationDef>,
}

impl NewConnector {
    fn definition(&self) -> ConnectorDef {
        ConnectorDef {
            name: self.name.clone(),
            vendor: self.vendor.clone(),
            purpose: self.purpose.clone(),
            data_categories: self.data_categories.clone(),
            locations: self.locations.clone(),
            website: self.website.clone(),
            operations: self.operations.clone(),
        }
    }
}

fn invalid(e: connectors::Invalid) -> ApiError {
    let mut loc = vec![json!("body")];
    loc.extend(e.loc.into_iter().map(serde_json::Value::String));
    ApiError::unprocessable(json!(loc), e.msg, "value_error")
}

/// Every connector the org's agents can declare: the built-in catalog and the org's own.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/connectors", tag = "runtime",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = ConnectorList), (status = 403, body = ErrorBody)))]
async fn list_connectors(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<ConnectorList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::ConnectorList,
        Resource::Org,
    )
    .await?;
    let available = connectors::available(&mut tx, &state.connectors).await?;
    drop(tx);
    Ok(axum::Json(ConnectorList {
        connectors: available
            .connectors
            .into_iter()
            .map(|(key, (definition, custom))| ConnectorView::of(key, custom, definition))
            .collect(),
    }))
}

/// Add a connector of the org's own (owner/admin). Its key must not be a built-in one or one the
/// org already has (409).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/connectors", tag = "runtime",
    params(("org_id" = Uuid, Path)), request_body = NewConnector,
    responses((status = 201, body = ConnectorView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_connector(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<NewConnector>,
) -> ApiResult<(StatusCode, axum::Json<ConnectorView>)> {
    let state = &state;
    if !connectors::valid_key(&body.key) {
        return Err(ApiError::invalid_field(
            &["body", "key"],
            "lower case [a-z][a-z0-9_], 2 to 40 characters",
        ));
    }
    if state.connectors.get(&body.key).is_some() {
        return Err(ApiError::Conflict(format!(
            "`{}` is a built-in connector; choose another key",
            body.key
        )));
    }
    let def = body.definition();
    def.validate().map_err(invalid)?;
    let definition = &serde_json::to_string(&def).map_err(anyhow::Error::from)?;
    let (body, def) = (&body, &def);
    write(state, &caller, &org_id.to_string(), Action::ConnectorCreate, Resource::Org, |w| {
        Box::pin(async move {
            let row = ConnectorRow {
                key: body.key.clone(),
                definition: definition.clone(),
                created_by: w.auth.actor.email.clone(),
                created_at: time::now(),
            };
            if !store::runtime::insert_connector(&mut w.tx, &row).await? {
                return Err(ApiError::Conflict(format!("the organization already has a connector `{}`", body.key)));
            }
            audit::record(&mut w.tx, &w.auth, AuditEvent {
                action: "CONNECTOR_CREATED",
                target_type: "connector",
                target_id: &body.key,
                metadata: json!({ "vendor": def.vendor, "operations": def.operations.keys().collect::<Vec<_>>() }),
            })
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ConnectorView::of(body.key.clone(), true, def.clone())),
    ))
}

/// One version of an agent's configuration.
#[derive(Serialize, ToSchema)]
pub struct ConfigurationView {
    pub agent_id: String,
    pub version: i64,
    /// Connector key → the operations the agent may call.
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub connectors: BTreeMap<String, BTreeSet<String>>,
    /// `sha256:<hex>` of the canonical JSON of `connectors`; the agent reports it in
    /// `agent.deployed` events.
    pub content_hash: String,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
}

fn configuration_view(row: ConfigurationRow) -> ApiResult<ConfigurationView> {
    let declaration: Declaration =
        serde_json::from_str(&row.declaration).map_err(anyhow::Error::from)?;
    Ok(ConfigurationView {
        agent_id: row.agent_id,
        version: row.version,
        connectors: declaration.0,
        content_hash: row.content_hash,
        note: row.note,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetConfiguration {
    /// Connector key → operations, e.g. `{"jira": ["issue.create"], "crowdstrike": ["host.contain"]}`.
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub connectors: BTreeMap<String, BTreeSet<String>>,
    /// Why it changed (kept with the version).
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigurationHistory {
    pub versions: Vec<ConfigurationView>,
}

async fn agent_exists(tx: &mut store::TenantTx, agent_id: &str) -> ApiResult<store::agents::Agent> {
    store::agents::find_agent(tx, agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))
}

/// The agent's approved configuration (its newest version); 404 when it has none.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents/{agent_id}/configuration", tag = "runtime",
    params(("org_id" = Uuid, Path), ("agent_id" = Uuid, Path)),
    responses((status = 200, body = ConfigurationView), (status = 404, body = ErrorBody)))]
async fn get_configuration(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, agent_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ConfigurationView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AgentConfigRead,
        Resource::Org,
    )
    .await?;
    let agent_id = agent_id.to_string();
    agent_exists(&mut tx, &agent_id).await?;
    let row = store::runtime::current_configuration(&mut tx, &agent_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(
                "this agent has no configuration yet: PUT one to declare its connectors".into(),
            )
        })?;
    Ok(axum::Json(configuration_view(row)?))
}

/// Every version of the agent's configuration, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents/{agent_id}/configuration/versions", tag = "runtime",
    params(("org_id" = Uuid, Path), ("agent_id" = Uuid, Path)),
    responses((status = 200, body = ConfigurationHistory), (status = 404, body = ErrorBody)))]
async fn list_configurations(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, agent_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ConfigurationHistory>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::AgentConfigRead,
        Resource::Org,
    )
    .await?;
    let agent_id = agent_id.to_string();
    agent_exists(&mut tx, &agent_id).await?;
    let rows = store::runtime::configurations(&mut tx, &agent_id).await?;
    drop(tx);
    Ok(axum::Json(ConfigurationHistory {
        versions: rows
            .into_iter()
            .map(configuration_view)
            .collect::<ApiResult<_>>()?,
    }))
}

/// Approve the agent's configuration (owner/admin): the connectors and operations it may call.
/// A change is a new version (201); the same content as the current version changes nothing
/// (200). Every change is audited (`AGENT_CONFIGURATION_APPROVED`).
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/agents/{agent_id}/configuration", tag = "runtime",
    params(("org_id" = Uuid, Path), ("agent_id" = Uuid, Path)), request_body = SetConfiguration,
    responses((status = 200, body = ConfigurationView), (status = 201, body = ConfigurationView),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_configuration(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, agent_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SetConfiguration>,
) -> ApiResult<(StatusCode, axum::Json<ConfigurationView>)> {
    let state = &state;
    if body.note.chars().count() > 1000 {
        return Err(ApiError::invalid_field(
            &["body", "note"],
            "at most 1000 characters",
        ));
    }
    let declaration = &Declaration(body.connectors);
    let (note, agent_id) = (&body.note, &agent_id.to_string());
    let (created, row) = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::AgentConfigUpdate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let agent = agent_exists(&mut w.tx, agent_id).await?;
                if agent.revoked_at.is_some() {
                    return Err(ApiError::Conflict(
                        "the agent is revoked; enroll a new one".into(),
                    ));
                }
                let available = connectors::available(&mut w.tx, &state.connectors).await?;
                declaration.validate(&available).map_err(invalid)?;
                let hash = declaration.content_hash();
                let current = store::runtime::current_configuration(&mut w.tx, agent_id).await?;
                if let Some(current) = current.as_ref().filter(|c| c.content_hash == hash) {
                    return Ok((false, current.clone()));
                }
                let row = ConfigurationRow {
                    id: Uuid::new_v4().to_string(),
                    agent_id: agent_id.clone(),
                    version: current.as_ref().map_or(1, |c| c.version + 1),
                    declaration: declaration.canonical_json(),
                    content_hash: hash,
                    note: note.clone(),
                    created_by: w.auth.actor.email.clone(),
                    created_at: time::now(),
                };
                store::runtime::insert_configuration(&mut w.tx, &row).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "AGENT_CONFIGURATION_APPROVED",
                        target_type: "agent",
                        target_id: agent_id,
                        metadata: json!({
                            "version": row.version, "content_hash": row.content_hash,
                            "previous_hash": current.map(|c| c.content_hash),
                            "connectors": declaration.0, "note": row.note,
                        }),
                    },
                )
                .await?;
                Ok((true, row))
            })
        },
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(configuration_view(row)?)))
}
