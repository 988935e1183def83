//! Intune posture sync (issue 19, seed 003): the org's Entra app connection
//! (`GET/PUT/DELETE /api/v1/orgs/{org_id}/intune/connection`), a sync
//! (`POST …/intune/sync`) that reads every managed device from Microsoft Graph and projects its
//! posture into the asset inventory, and the posture reads (`GET …/intune/devices`,
//! `…/intune/devices/{device_id}`, `…/intune/sync-runs`) with serial numbers and user principal
//! names masked for readers who are not owners or admins.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    write,
};
use crate::{
    agents,
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::{page, time},
    intune::{
        self,
        device::{DeviceRecord, mask_serial, mask_upn},
        graph::{Credentials, GraphClient, GraphError, HttpGraphClient},
        secrets::{LocalSecretProvider, SecretError, SecretProvider},
    },
    store::{
        self,
        intune::{ConnectionRow, DeviceFilter, DeviceRow, SyncRunRow},
    },
};
use axum::{extract::State, http::StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            get_intune_connection,
            set_intune_connection,
            delete_intune_connection
        ))
        .routes(routes!(sync_intune))
        .routes(routes!(list_intune_devices))
        .routes(routes!(get_intune_device))
        .routes(routes!(list_intune_sync_runs))
}

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Store(e) => e.into(),
            SecretError::Missing(_) | SecretError::Sealing(_) => ApiError::Conflict(
                "the stored client secret cannot be opened (was the server secret changed?): PUT \
                 the connection again with client_secret"
                    .into(),
            ),
        }
    }
}

impl From<GraphError> for ApiError {
    fn from(e: GraphError) -> Self {
        let message = e.to_string();
        match e {
            GraphError::Credentials(_) | GraphError::Permission => ApiError::Conflict(message),
            GraphError::Throttled { .. } => ApiError::ServiceUnavailable(message),
            GraphError::Timeout(_) => ApiError::GatewayTimeout(message),
            GraphError::Refused(_) | GraphError::Upstream(_) => ApiError::BadGateway(message),
        }
    }
}

/// Whether the caller sees identifiers in full.
pub fn sees_identifiers(role: &str) -> bool {
    role == "owner" || role == "admin"
}

// Sync runs -----------------------------------------------------------------------------------

/// One sync: when, what it fetched and what it changed.
#[derive(Serialize, ToSchema)]
pub struct IntuneSyncRunView {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: i64,
    /// managedDevices pages read.
    pub pages: i64,
    /// Devices Microsoft Graph returned.
    pub fetched: i64,
    /// Devices seen for the first time (each a new inventory asset).
    pub created: i64,
    /// Devices whose posture or facts changed.
    pub updated: i64,
    /// Devices exactly as the previous sync left them (nothing written).
    pub unchanged: i64,
    /// Devices Intune no longer lists (marked removed; the asset keeps its history).
    pub removed: i64,
    /// Requests retried after a 429 or 503 from Microsoft.
    pub throttled_retries: i64,
    /// A bound (`GRC_INTUNE__MAX_DEVICES`, `…__MAX_PAGES`) stopped the fetch early; removals
    /// are not detected on a truncated sync.
    pub truncated: bool,
    pub triggered_by: String,
}

pub fn run_view(r: SyncRunRow) -> IntuneSyncRunView {
    IntuneSyncRunView {
        run_id: r.id,
        started_at: r.started_at,
        finished_at: r.finished_at,
        duration_ms: r.duration_ms,
        pages: r.pages,
        fetched: r.fetched,
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        removed: r.removed,
        throttled_retries: r.throttled_retries,
        truncated: r.truncated,
        triggered_by: r.triggered_by,
    }
}

// Connection ----------------------------------------------------------------------------------

/// The org's Entra app connection. The client secret is never returned: only a reference to
/// where it is kept.
#[derive(Serialize, ToSchema)]
pub struct IntuneConnectionView {
    /// Directory (tenant) ID or verified domain.
    pub tenant_id: String,
    /// Application (client) ID.
    pub client_id: String,
    /// Where the client secret is kept (`secretref:local:<uuid>`); a new one each time the
    /// secret is replaced.
    pub client_secret_ref: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: String,
    pub updated_at: String,
    /// The most recent successful sync.
    pub last_sync: Option<IntuneSyncRunView>,
}

pub fn connection_view(c: ConnectionRow, last: Option<SyncRunRow>) -> IntuneConnectionView {
    IntuneConnectionView {
        tenant_id: c.tenant_id,
        client_id: c.client_id,
        client_secret_ref: c.client_secret_ref,
        created_by: c.created_by,
        created_at: c.created_at,
        updated_by: c.updated_by,
        updated_at: c.updated_at,
        last_sync: last.map(run_view),
    }
}

pub async fn last_run(tx: &mut store::TenantTx) -> ApiResult<Option<SyncRunRow>> {
    Ok(store::intune::runs(tx, None, 1).await?.into_iter().next())
}

fn no_connection() -> ApiError {
    ApiError::NotFound(
        "this organization has no Intune connection: PUT /intune/connection first".into(),
    )
}

/// The org's Intune connection (everyone who reads the inventory; never the secret).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/intune/connection", tag = "intune",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = IntuneConnectionView), (status = 404, body = ErrorBody)))]
async fn get_intune_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<IntuneConnectionView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::IntuneConnectionRead,
        Resource::Org,
    )
    .await?;
    let connection = store::intune::connection(&mut tx)
        .await?
        .ok_or_else(no_connection)?;
    let last = last_run(&mut tx).await?;
    Ok(axum::Json(connection_view(connection, last)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetIntuneConnection {
    /// The Directory (tenant) ID (a GUID) or a verified domain (`contoso.onmicrosoft.com`).
    #[schema(
        min_length = 1,
        max_length = 253,
        pattern = "^(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$"
    )]
    pub tenant_id: String,
    /// The app registration's Application (client) ID (a GUID).
    #[schema(
        min_length = 36,
        max_length = 36,
        pattern = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    )]
    pub client_id: String,
    /// The client secret's Value. Write-only: never returned. Required to create the
    /// connection; optional afterwards (omit it to change only the ids).
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 1024,
        pattern = "^[!-~]+$", write_only)]
    pub client_secret: Option<SecretString>,
}

/// Create or change the org's connection (owner/admin, `INTUNE_CONNECTION_SET`): 201 when
/// created, 200 when changed or when nothing changed (no audit entry then). A new secret gets a
/// new reference and the old sealed value is deleted.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/intune/connection", tag = "intune",
    params(("org_id" = Uuid, Path)), request_body = SetIntuneConnection,
    responses((status = 200, body = IntuneConnectionView),
        (status = 201, body = IntuneConnectionView), (status = 422, body = ErrorBody)))]
async fn set_intune_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<SetIntuneConnection>,
) -> ApiResult<(StatusCode, axum::Json<IntuneConnectionView>)> {
    let state = &state;
    let tenant_id = &intune::tenant_id(&body.tenant_id)
        .map_err(|m| ApiError::invalid_field(&["tenant_id"], m))?;
    let client_id = &intune::client_id(&body.client_id)
        .map_err(|m| ApiError::invalid_field(&["client_id"], m))?;
    if let Some(secret) = &body.client_secret {
        intune::client_secret(secret.expose_secret())
            .map_err(|m| ApiError::invalid_field(&["client_secret"], m))?;
    }
    let secret = &body.client_secret;
    let (status, view) = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::IntuneConnectionManage,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let provider = LocalSecretProvider { key: &state.secret };
                let current = store::intune::connection(&mut w.tx).await?;
                let same_ids = current
                    .as_ref()
                    .is_some_and(|c| &c.tenant_id == tenant_id && &c.client_id == client_id);
                let same_secret = match (&current, secret) {
                    (Some(_), None) => true,
                    (Some(c), Some(new)) => provider
                        .open(&mut w.tx, &c.client_secret_ref)
                        .await
                        .is_ok_and(|old| old.expose_secret() == new.expose_secret()),
                    (None, _) => false,
                };
                if let Some(c) = current.as_ref().filter(|_| same_ids && same_secret) {
                    let last = last_run(&mut w.tx).await?;
                    return Ok((StatusCode::OK, connection_view(c.clone(), last)));
                }
                let secret_ref = match (secret, &current) {
                    (Some(new), _) if !same_secret => {
                        let reference =
                            provider.put(&mut w.tx, intune::SECRET_PURPOSE, new).await?;
                        if let Some(c) = &current {
                            provider.delete(&mut w.tx, &c.client_secret_ref).await?;
                        }
                        reference
                    }
                    (_, Some(c)) => c.client_secret_ref.clone(),
                    (_, None) => {
                        return Err(ApiError::invalid_field(
                            &["client_secret"],
                            "required to create the connection",
                        ));
                    }
                };
                let now = time::now();
                let actor = w.auth.actor.email.clone();
                let row = ConnectionRow {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret_ref: secret_ref,
                    created_by: current
                        .as_ref()
                        .map_or_else(|| actor.clone(), |c| c.created_by.clone()),
                    created_at: current
                        .as_ref()
                        .map_or_else(|| now.clone(), |c| c.created_at.clone()),
                    updated_by: actor,
                    updated_at: now,
                };
                store::intune::upsert_connection(&mut w.tx, &row).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "INTUNE_CONNECTION_SET",
                        target_type: "intune_connection",
                        target_id: &row.tenant_id,
                        metadata: json!({
                            "tenant_id": row.tenant_id, "client_id": row.client_id,
                            "client_secret_ref": row.client_secret_ref,
                            "secret_replaced": !same_secret,
                            "created": current.is_none(),
                        }),
                    },
                )
                .await?;
                let last = last_run(&mut w.tx).await?;
                let status = if current.is_none() {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                Ok((status, connection_view(row, last)))
            })
        },
    )
    .await?;
    Ok((status, axum::Json(view)))
}

/// Remove the connection and its stored secret (owner/admin, `INTUNE_CONNECTION_DELETED`). The
/// devices already synced stay in the inventory.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/intune/connection", tag = "intune",
    params(("org_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_intune_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let state = &state;
    write(
        state,
        &caller,
        &org_id.to_string(),
        Action::IntuneConnectionManage,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let current = store::intune::connection(&mut w.tx)
                    .await?
                    .ok_or_else(no_connection)?;
                store::intune::delete_connection(&mut w.tx).await?;
                LocalSecretProvider { key: &state.secret }
                    .delete(&mut w.tx, &current.client_secret_ref)
                    .await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "INTUNE_CONNECTION_DELETED",
                        target_type: "intune_connection",
                        target_id: &current.tenant_id,
                        metadata: json!({
                            "tenant_id": current.tenant_id, "client_id": current.client_id,
                            "client_secret_ref": current.client_secret_ref,
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

// Sync ----------------------------------------------------------------------------------------

/// Read every managed device from Microsoft Graph and project its posture into the asset
/// inventory (owner/admin, `INTUNE_SYNCED`). Each device is one asset (kind `device`,
/// authorized), recognised by its Intune id; unchanged devices are not written. Microsoft's
/// refusals answer 409 (credentials or permission: the detail says what to fix), 502 (Graph
/// failed or an address is refused), 503 (throttled past the wait budget) or 504 (timeout),
/// and write nothing.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/intune/sync", tag = "intune",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = IntuneSyncRunView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn sync_intune(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<IntuneSyncRunView>> {
    let state = &state;
    let org = org_id.to_string();
    let started_at = time::now();
    let clock = std::time::Instant::now();
    // A short read: the connection and its secret. Nothing is held while Graph answers.
    let credentials = {
        let (mut tx, _) =
            authorize(state, &caller, &org, Action::IntuneSync, Resource::Org).await?;
        let connection = store::intune::connection(&mut tx)
            .await?
            .ok_or_else(no_connection)?;
        let client_secret = LocalSecretProvider { key: &state.secret }
            .open(&mut tx, &connection.client_secret_ref)
            .await?;
        drop(tx);
        Credentials {
            tenant_id: connection.tenant_id,
            client_id: connection.client_id,
            client_secret,
        }
    };
    let client = HttpGraphClient::new(&state.config.intune)?;
    let fetched = client.managed_devices(&credentials).await?;
    drop(credentials);
    let devices: &BTreeMap<String, DeviceRecord> = &fetched
        .devices
        .iter()
        .filter_map(|d| d.normalize())
        .map(|d| (d.device_id.clone(), d))
        .collect();
    let fetched = &fetched;
    let (started_at, clock) = (&started_at, &clock);
    let run = write(
        state,
        &caller,
        &org,
        Action::IntuneSync,
        Resource::Org,
        |w| {
            Box::pin(async move {
                if store::intune::connection(&mut w.tx).await?.is_none() {
                    return Err(no_connection());
                }
                let at = time::now();
                let actor = w.auth.actor.email.clone();
                let counts =
                    intune::project::project(&mut w.tx, devices, &at, &actor, !fetched.truncated)
                        .await?;
                let run = SyncRunRow {
                    id: Uuid::new_v4().to_string(),
                    started_at: started_at.clone(),
                    finished_at: at,
                    duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
                    pages: i64::from(fetched.pages),
                    fetched: i64::try_from(fetched.devices.len()).unwrap_or(i64::MAX),
                    created: counts.created,
                    updated: counts.updated,
                    unchanged: counts.unchanged,
                    removed: counts.removed,
                    throttled_retries: i64::from(fetched.throttled_retries),
                    truncated: fetched.truncated,
                    triggered_by: actor,
                };
                store::intune::insert_run(&mut w.tx, &run).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "INTUNE_SYNCED",
                        target_type: "intune_sync_run",
                        target_id: &run.id,
                        metadata: json!({
                            "pages": run.pages, "fetched": run.fetched, "created": run.created,
                            "updated": run.updated, "unchanged": run.unchanged,
                            "removed": run.removed, "throttled_retries": run.throttled_retries,
                            "truncated": run.truncated,
                        }),
                    },
                )
                .await?;
                Ok(run)
            })
        },
    )
    .await?;
    Ok(axum::Json(run_view(run)))
}

// Devices -------------------------------------------------------------------------------------

/// A device's posture as the last sync saw it.
#[derive(Serialize, ToSchema)]
pub struct IntuneDeviceView {
    /// Intune's managed device id.
    pub device_id: String,
    /// The inventory asset this device is.
    pub asset_id: String,
    pub device_name: Option<String>,
    pub operating_system: Option<String>,
    pub os_version: Option<String>,
    /// Intune's compliance state: `compliant`, `noncompliant`, `inGracePeriod`, `conflict`,
    /// `error`, `configManager` or `unknown`.
    pub compliance_state: String,
    /// Storage encryption (`null`: unknown).
    pub is_encrypted: Option<bool>,
    /// `true`, `false` or `unknown`.
    pub jailbroken: String,
    /// How the device is managed (`mdm`, `easMdm`, `configurationManagerClientMdm`, …).
    pub management_agent: Option<String>,
    /// The device's last check-in with Intune.
    pub last_check_in: Option<String>,
    pub enrolled_at: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    /// Masked (`****7F3A`) unless the caller is an owner or admin.
    pub serial_number: Option<String>,
    /// Masked (`j***@contoso.com`) unless the caller is an owner or admin.
    pub user_principal_name: Option<String>,
    /// Whether `serial_number` and `user_principal_name` are masked for this caller.
    pub identifiers_masked: bool,
    pub first_synced_at: String,
    /// When a sync last changed this record.
    pub changed_at: String,
    /// When a complete sync no longer found the device in Intune.
    pub removed_at: Option<String>,
}

pub fn device_view(d: DeviceRow, full: bool) -> IntuneDeviceView {
    let serial = |v: String| if full { v } else { mask_serial(&v) };
    let upn = |v: String| if full { v } else { mask_upn(&v) };
    IntuneDeviceView {
        device_id: d.device_id,
        asset_id: d.asset_id,
        device_name: d.device_name,
        operating_system: d.operating_system,
        os_version: d.os_version,
        compliance_state: d.compliance_state,
        is_encrypted: d.is_encrypted,
        jailbroken: d.jailbroken,
        management_agent: d.management_agent,
        last_check_in: d.last_check_in,
        enrolled_at: d.enrolled_at,
        model: d.model,
        manufacturer: d.manufacturer,
        serial_number: d.serial_number.map(serial),
        user_principal_name: d.user_principal_name.map(upn),
        identifiers_masked: !full,
        first_synced_at: d.first_synced_at,
        changed_at: d.changed_at,
        removed_at: d.removed_at,
    }
}

#[derive(Serialize, ToSchema)]
pub struct IntuneDevicePage {
    pub devices: Vec<IntuneDeviceView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntuneDeviceQuery {
    /// Only devices in this compliance state (e.g. `noncompliant`).
    #[param(max_length = 40, pattern = "^[A-Za-z0-9]*$")]
    pub compliance_state: Option<String>,
    /// Also list devices Intune no longer lists (default false).
    pub include_removed: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Synced devices in first-synced order, with paging. Serial numbers and user principal names
/// are masked unless the caller is an owner or admin.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/intune/devices", tag = "intune",
    params(("org_id" = Uuid, Path), IntuneDeviceQuery),
    responses((status = 200, body = IntuneDevicePage), (status = 422, body = ErrorBody)))]
async fn list_intune_devices(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<IntuneDeviceQuery>,
) -> ApiResult<axum::Json<IntuneDevicePage>> {
    let compliance_state = agents::non_empty(q.compliance_state);
    if compliance_state
        .as_ref()
        .is_some_and(|s| s.chars().count() > 40 || !s.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(ApiError::unprocessable(
            json!(["query", "compliance_state"]),
            "letters and digits, at most 40 (e.g. noncompliant)",
            "value_error",
        ));
    }
    let (after, limit) = paging(agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let filter = DeviceFilter {
        compliance_state,
        include_removed: q.include_removed.unwrap_or(false),
        after,
        limit: limit + 1,
    };
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::IntuneDeviceList,
        Resource::Org,
    )
    .await?;
    let rows = store::intune::devices(&mut tx, &filter).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |d| page::Cursor {
        at: d.first_synced_at.clone(),
        id: d.asset_id.clone(),
    });
    let full = sees_identifiers(&auth.role);
    Ok(axum::Json(IntuneDevicePage {
        devices: rows.into_iter().map(|d| device_view(d, full)).collect(),
        next_cursor,
    }))
}

/// One synced device by its Intune id.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/intune/devices/{device_id}", tag = "intune",
    params(("org_id" = Uuid, Path), ("device_id" = String, Path, max_length = 128)),
    responses((status = 200, body = IntuneDeviceView), (status = 404, body = ErrorBody)))]
async fn get_intune_device(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, device_id)): Path<(Uuid, String)>,
) -> ApiResult<axum::Json<IntuneDeviceView>> {
    let (mut tx, auth) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::IntuneDeviceRead,
        Resource::Org,
    )
    .await?;
    let device = store::intune::find_device(&mut tx, device_id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("Intune device"))?;
    drop(tx);
    Ok(axum::Json(device_view(
        device,
        sees_identifiers(&auth.role),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct IntuneSyncRunPage {
    pub runs: Vec<IntuneSyncRunView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IntuneSyncRunQuery {
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Successful syncs, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/intune/sync-runs", tag = "intune",
    params(("org_id" = Uuid, Path), IntuneSyncRunQuery),
    responses((status = 200, body = IntuneSyncRunPage), (status = 422, body = ErrorBody)))]
async fn list_intune_sync_runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<IntuneSyncRunQuery>,
) -> ApiResult<axum::Json<IntuneSyncRunPage>> {
    let (before, limit) = paging(agents::non_empty(q.cursor).as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::IntuneSyncRunList,
        Resource::Org,
    )
    .await?;
    let rows = store::intune::runs(&mut tx, before.as_ref(), limit + 1).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |r| page::Cursor {
        at: r.started_at.clone(),
        id: r.id.clone(),
    });
    Ok(axum::Json(IntuneSyncRunPage {
        runs: rows.into_iter().map(run_view).collect(),
        next_cursor,
    }))
}
