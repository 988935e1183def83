//! SIEM events (issue 19, runtime-lite): log sources and their status, batch ingest of
//! normalized OCSF events, bounded search (ingested events merged with the org's audit log and
//! agent trail as built-in sources), event detail and alert links. Rules live in `crate::siem`,
//! SQL in `store::siem`; see docs/decisions/0025.

use super::{
    authorize,
    body::Cap,
    check,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, read_json},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::time,
    siem::{
        self, EventRecord, builtin,
        ocsf::{self, EventLimits, Refusal},
        search::{self, SearchCursor, Stream},
    },
    store::{self, TenantTx, siem::SourceRow},
};
use axum::{extract::State, http::StatusCode};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_siem_sources, register_siem_source))
        .routes(routes!(get_siem_source, update_siem_source))
        .routes(routes!(ingest_siem_events))
        .routes(routes!(search_siem_events))
        .routes(routes!(get_siem_event))
        .routes(routes!(link_siem_event_alert))
}

// Sources ------------------------------------------------------------------------------------

const MIN_INTERVAL_SECS: i64 = 60;
const MAX_INTERVAL_SECS: i64 = 7 * 24 * 3600;
const DEFAULT_INTERVAL_SECS: i64 = 3600;

/// Register a log source.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterSiemSource {
    /// Unique in the org; names starting with `grc.` are reserved for built-in sources.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// What emits the events (OCSF `metadata.product.name`), e.g. `Okta`.
    #[schema(min_length = 1, max_length = 100)]
    pub product: String,
    #[schema(min_length = 1, max_length = 100)]
    pub vendor: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// How often the source is expected to deliver (60 s – 7 days, default 3600); drives
    /// `health`.
    #[schema(minimum = 60, maximum = 604800)]
    pub expected_interval_secs: Option<i64>,
}

/// Change a source: enable or disable it (a disabled source refuses ingest), its expected
/// interval, its description.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSiemSource {
    pub enabled: Option<bool>,
    #[schema(minimum = 60, maximum = 604800)]
    pub expected_interval_secs: Option<i64>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

/// A source's delivery status.
#[derive(Serialize, ToSchema)]
pub struct SiemSourceStatus {
    /// `healthy` (delivered within the expected interval), `stale` (within three intervals) or
    /// `silent` (longer, or never).
    pub health: String,
    /// Events stored from this source (replays not counted).
    pub event_count: i64,
    /// Events whose `time` is within the last 24 hours.
    pub events_last_24h: i64,
    /// The newest event `time` received (RFC 3339).
    pub last_event_at: Option<String>,
    /// When the source last delivered a batch.
    pub last_received_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SiemSourceView {
    pub id: String,
    pub name: String,
    pub product: String,
    pub vendor: String,
    pub description: String,
    pub expected_interval_secs: i64,
    pub enabled: bool,
    pub status: SiemSourceStatus,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A built-in source: this server's own records, searchable like ingested events.
#[derive(Serialize, ToSchema)]
pub struct SiemBuiltInSource {
    /// Use as `source_id` in searches.
    pub id: String,
    pub name: String,
    /// The OCSF classes its events read as.
    pub class_uids: Vec<i64>,
    /// What the caller needs to see its events (besides `siem.search`).
    pub requires: String,
}

#[derive(Serialize, ToSchema)]
pub struct SiemSourceList {
    pub sources: Vec<SiemSourceView>,
    pub built_in: Vec<SiemBuiltInSource>,
}

pub fn source_view(s: SourceRow, last_24h: i64) -> SiemSourceView {
    let health = siem::health(
        s.last_received_at.as_deref(),
        s.expected_interval_secs,
        Utc::now(),
    );
    SiemSourceView {
        enabled: s.status == "enabled",
        status: SiemSourceStatus {
            health: health.to_owned(),
            event_count: s.event_count,
            events_last_24h: last_24h,
            last_event_at: s.last_event_time,
            last_received_at: s.last_received_at,
        },
        id: s.id,
        name: s.name,
        product: s.product,
        vendor: s.vendor,
        description: s.description,
        expected_interval_secs: s.expected_interval_secs,
        created_by: s.created_by,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

fn day_ago() -> String {
    time::format(Utc::now() - Duration::hours(24))
}

pub async fn last_24h(tx: &mut TenantTx) -> ApiResult<HashMap<String, i64>> {
    Ok(store::siem::counts_since(tx, &day_ago())
        .await?
        .into_iter()
        .collect())
}

/// The org's log sources with their status, and the built-in sources.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/siem/sources", tag = "siem",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = SiemSourceList)))]
async fn list_siem_sources(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<SiemSourceList>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SiemSourceList,
        Resource::Org,
    )
    .await?;
    let rows = store::siem::list_sources(&mut tx).await?;
    let counts = last_24h(&mut tx).await?;
    drop(tx);
    Ok(axum::Json(SiemSourceList {
        sources: rows
            .into_iter()
            .map(|s| {
                let n = counts.get(&s.id).copied().unwrap_or(0);
                source_view(s, n)
            })
            .collect(),
        built_in: vec![
            SiemBuiltInSource {
                id: siem::AUDIT_SOURCE.into(),
                name: builtin::AUDIT_SOURCE_NAME.into(),
                class_uids: vec![builtin::AUDIT_CLASS],
                requires: "audit.read (read:audit)".into(),
            },
            SiemBuiltInSource {
                id: siem::TRAIL_SOURCE.into(),
                name: builtin::TRAIL_SOURCE_NAME.into(),
                class_uids: vec![builtin::TRAIL_CLASS, builtin::DRIFT_CLASS],
                requires: "agent.trail.read (read:agents)".into(),
            },
        ],
    }))
}

/// One log source with its status.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/siem/sources/{source_id}", tag = "siem",
    params(("org_id" = Uuid, Path), ("source_id" = Uuid, Path)),
    responses((status = 200, body = SiemSourceView), (status = 404, body = ErrorBody)))]
async fn get_siem_source(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, source_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SiemSourceView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SiemSourceRead,
        Resource::Org,
    )
    .await?;
    let row = store::siem::find_source(&mut tx, &source_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("source"))?;
    let n = last_24h(&mut tx).await?.get(&row.id).copied().unwrap_or(0);
    Ok(axum::Json(source_view(row, n)))
}

fn bounded_text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<String> {
    let value = value.trim();
    let n = value.chars().count();
    if n < min || n > max {
        let msg = if min == 0 {
            format!("at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        };
        return Err(ApiError::invalid_field(&[field], msg));
    }
    Ok(value.to_owned())
}

fn interval(value: Option<i64>) -> ApiResult<i64> {
    let v = value.unwrap_or(DEFAULT_INTERVAL_SECS);
    if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&v) {
        return Err(ApiError::invalid_field(
            &["expected_interval_secs"],
            format!("must be between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS} seconds"),
        ));
    }
    Ok(v)
}

/// Register a log source (owner/admin; audited `SIEM_SOURCE_REGISTERED`). A name already used
/// in the org is a 409.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/siem/sources", tag = "siem",
    params(("org_id" = Uuid, Path)), request_body = RegisterSiemSource,
    responses((status = 201, body = SiemSourceView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn register_siem_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<RegisterSiemSource>,
) -> ApiResult<(StatusCode, axum::Json<SiemSourceView>)> {
    let name = bounded_text("name", &body.name, 1, 100)?;
    if name.to_ascii_lowercase().starts_with("grc.") {
        return Err(ApiError::invalid_field(
            &["name"],
            "names starting with `grc.` are reserved for built-in sources",
        ));
    }
    let now = time::now();
    let row = SourceRow {
        id: Uuid::new_v4().to_string(),
        name,
        product: bounded_text("product", &body.product, 1, 100)?,
        vendor: bounded_text("vendor", &body.vendor, 1, 100)?,
        description: bounded_text("description", &body.description, 0, 1000)?,
        expected_interval_secs: interval(body.expected_interval_secs)?,
        status: "enabled".into(),
        event_count: 0,
        last_event_time: None,
        last_received_at: None,
        created_by: String::new(),
        created_at: now.clone(),
        updated_at: now,
    };
    let row = &row;
    let saved = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SiemSourceRegister,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let row = SourceRow {
                    created_by: w.auth.actor.email.clone(),
                    ..row.clone()
                };
                if !store::siem::insert_source(&mut w.tx, &row).await? {
                    return Err(ApiError::Conflict(format!(
                        "a source named '{}' already exists in this organization",
                        row.name
                    )));
                }
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "SIEM_SOURCE_REGISTERED",
                        target_type: "siem_source",
                        target_id: &row.id,
                        metadata: json!({
                            "name": row.name, "product": row.product, "vendor": row.vendor,
                            "expected_interval_secs": row.expected_interval_secs,
                        }),
                    },
                )
                .await?;
                Ok(row)
            })
        },
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(source_view(saved, 0))))
}

/// Change a log source (owner/admin; audited `SIEM_SOURCE_UPDATED`). A PATCH that changes
/// nothing answers 200 and records nothing.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/siem/sources/{source_id}", tag = "siem",
    params(("org_id" = Uuid, Path), ("source_id" = Uuid, Path)), request_body = UpdateSiemSource,
    responses((status = 200, body = SiemSourceView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_siem_source(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, source_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateSiemSource>,
) -> ApiResult<axum::Json<SiemSourceView>> {
    let interval = body
        .expected_interval_secs
        .map(|v| interval(Some(v)))
        .transpose()?;
    let description = body
        .description
        .as_deref()
        .map(|d| bounded_text("description", d, 0, 1000))
        .transpose()?;
    let (id, enabled, description) = (&source_id.to_string(), body.enabled, &description);
    let (row, n) = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SiemSourceUpdate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let current = store::siem::find_source(&mut w.tx, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("source"))?;
                let mut next = current.clone();
                if let Some(e) = enabled {
                    next.status = if e { "enabled" } else { "disabled" }.into();
                }
                if let Some(i) = interval {
                    next.expected_interval_secs = i;
                }
                if let Some(d) = description {
                    next.description = d.clone();
                }
                let changed = next.status != current.status
                    || next.expected_interval_secs != current.expected_interval_secs
                    || next.description != current.description;
                if changed {
                    next.updated_at = time::now();
                    store::siem::update_source(&mut w.tx, &next).await?;
                    audit::record(
                        &mut w.tx,
                        &w.auth,
                        AuditEvent {
                            action: "SIEM_SOURCE_UPDATED",
                            target_type: "siem_source",
                            target_id: id,
                            metadata: json!({
                                "name": next.name,
                                "enabled": next.status == "enabled",
                                "expected_interval_secs": next.expected_interval_secs,
                            }),
                        },
                    )
                    .await?;
                }
                let n = last_24h(&mut w.tx).await?.get(id).copied().unwrap_or(0);
                Ok((next, n))
            })
        },
    )
    .await?;
    Ok(axum::Json(source_view(row, n)))
}

// Ingest -------------------------------------------------------------------------------------

/// An OCSF event as submitted (the fields this server reads; any other OCSF field is kept in
/// `raw` as sent).
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the request body; events are read as JSON values.
pub struct SiemOcsfEvent {
    /// One of the accepted OCSF classes (1001–1007, 2001–2004, 3001–3006, 4001–4009,
    /// 5001–5003, 6001–6003, 6005, 6006).
    pub class_uid: i64,
    /// Optional; must be `class_uid / 1000` when given.
    pub category_uid: Option<i64>,
    /// Default 0 (Unknown).
    #[schema(minimum = 0, maximum = 99)]
    pub activity_id: Option<i64>,
    /// Optional; must be `class_uid * 100 + activity_id` when given.
    pub type_uid: Option<i64>,
    /// 0–6, or 99 (Other).
    pub severity_id: i64,
    /// Epoch milliseconds; at most `GRC_SIEM__MAX_FUTURE_SECS` ahead of the server clock.
    #[schema(minimum = 1)]
    pub time: i64,
    pub message: Option<String>,
    /// `uid` (required) is the event's id at its source: a replay of the same `uid` from the
    /// same source is a duplicate. `product.name` is kept.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// `actor.user.name` is a searchable subject.
    #[schema(value_type = Option<Object>)]
    pub actor: Option<Value>,
    /// `src_endpoint.ip` is a searchable subject.
    #[schema(value_type = Option<Object>)]
    pub src_endpoint: Option<Value>,
    /// `dst_endpoint.ip` (or `hostname`) is a searchable subject.
    #[schema(value_type = Option<Object>)]
    pub dst_endpoint: Option<Value>,
    /// `device.hostname` is a searchable subject.
    #[schema(value_type = Option<Object>)]
    pub device: Option<Value>,
    pub status: Option<String>,
}

/// A batch of OCSF events (1 to `GRC_SIEM__MAX_EVENTS_PER_BATCH`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiemEventBatch {
    #[schema(value_type = Vec<SiemOcsfEvent>, min_items = 1)]
    pub events: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct SiemIngestResult {
    pub source_id: String,
    /// Events newly stored.
    pub accepted: usize,
    /// Events whose `metadata.uid` this source had already delivered (or repeated in the batch).
    pub duplicates: usize,
    pub received_at: String,
}

/// Ingest a batch of normalized OCSF events into a source (member and up with `write:siem`;
/// not audited: events are their own records). Idempotent by `metadata.uid` per source.
/// Bounded: `GRC_SIEM__MAX_BATCH_BYTES` (413), `GRC_SIEM__MAX_EVENT_BYTES` per event (413),
/// `GRC_SIEM__MAX_EVENTS_PER_BATCH` (422). A disabled source refuses with 409.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/siem/sources/{source_id}/events", tag = "siem",
    params(("org_id" = Uuid, Path), ("source_id" = Uuid, Path)), request_body = SiemEventBatch,
    responses((status = 200, body = SiemIngestResult), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn ingest_siem_events(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, source_id)): Path<(Uuid, Uuid)>,
    request: axum::extract::Request,
) -> ApiResult<axum::Json<SiemIngestResult>> {
    let settings = &state.config.siem;
    let cap = Cap {
        what: "SIEM events batch",
        max_bytes: settings.max_batch_bytes,
        setting: "GRC_SIEM__MAX_BATCH_BYTES",
    };
    let batch: SiemEventBatch = read_json(request, &cap).await?;
    if batch.events.is_empty() || batch.events.len() > settings.max_events_per_batch {
        return Err(ApiError::invalid_field(
            &["events"],
            format!(
                "send 1 to {} events per batch (GRC_SIEM__MAX_EVENTS_PER_BATCH); this batch has {}",
                settings.max_events_per_batch,
                batch.events.len()
            ),
        ));
    }
    let limits = EventLimits {
        max_event_bytes: settings.max_event_bytes,
        max_future_ms: settings.max_future_secs.saturating_mul(1000),
    };
    let now_ms = Utc::now().timestamp_millis();
    let mut events = Vec::with_capacity(batch.events.len());
    for (i, value) in batch.events.iter().enumerate() {
        match ocsf::normalize(value, now_ms, limits) {
            Ok(e) => events.push((Uuid::new_v4().to_string(), e)),
            Err(Refusal::TooLarge { bytes }) => {
                return Err(ApiError::too_large(
                    format!("event {i} of the batch ({bytes} bytes)"),
                    settings.max_event_bytes,
                    "GRC_SIEM__MAX_EVENT_BYTES",
                ));
            }
            Err(Refusal::Invalid { loc, msg }) => {
                let mut full = vec![json!("body"), json!("events"), json!(i)];
                full.extend(loc);
                return Err(ApiError::unprocessable(json!(full), msg, "value_error"));
            }
        }
    }
    drop(batch);
    let newest = events.iter().map(|(_, e)| e.time.clone()).max();
    let (events, newest, source) = (&events, &newest, &source_id.to_string());
    let result = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::SiemIngest,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let found = store::siem::find_source(&mut w.tx, source)
                    .await?
                    .ok_or_else(|| ApiError::not_found("source"))?;
                if found.status != "enabled" {
                    return Err(ApiError::Conflict(format!(
                        "source '{}' is disabled; enable it to ingest",
                        found.name
                    )));
                }
                let received_at = time::now();
                let accepted =
                    store::siem::insert_events(&mut w.tx, source, &received_at, events).await?;
                let accepted = usize::try_from(accepted).unwrap_or(events.len());
                store::siem::record_delivery(
                    &mut w.tx,
                    source,
                    accepted as i64,
                    newest.as_deref(),
                    &received_at,
                )
                .await?;
                Ok(SiemIngestResult {
                    source_id: source.clone(),
                    accepted,
                    duplicates: events.len().saturating_sub(accepted),
                    received_at,
                })
            })
        },
    )
    .await?;
    Ok(axum::Json(result))
}

// Search and detail --------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiemEventQuery {
    /// Window start (RFC 3339, inclusive); default 24 h before `to`.
    pub from: Option<String>,
    /// Window end (RFC 3339, exclusive); default now. The window is capped at
    /// `GRC_SIEM__MAX_SEARCH_WINDOW_DAYS` (31 days by default).
    pub to: Option<String>,
    /// Only this OCSF class.
    pub class_uid: Option<i64>,
    /// At least this severity (1–6; 99, Other, is unordered and only matched without this filter).
    #[param(minimum = 0, maximum = 6)]
    pub severity_id: Option<i64>,
    /// A source id, or a built-in source: `grc.audit`, `grc.agent_trail`.
    pub source_id: Option<String>,
    /// Exact match on a subject field: `actor.user.name`, `src_endpoint.ip`, `dst_endpoint`
    /// (ip or hostname), `device.hostname` (audit: actor email, client IP, target id; trail:
    /// `agent:<id>` or the connector).
    #[param(max_length = 256)]
    pub subject: Option<String>,
    /// Case-insensitive (ASCII) substring of the message; no wildcards.
    #[param(max_length = 256)]
    pub q: Option<String>,
    /// From `next_cursor`; pass the same filters and window.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The normalized subject fields.
#[derive(Serialize, ToSchema)]
pub struct SiemSubject {
    pub actor_user_name: Option<String>,
    pub src_ip: Option<String>,
    pub dst: Option<String>,
    pub device_hostname: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SiemEventMetadata {
    /// The event's id at its source (`metadata.uid`).
    pub uid: String,
    pub product: Option<String>,
}

/// One normalized event.
#[derive(Serialize, ToSchema)]
pub struct SiemEventSummary {
    /// A UUID for ingested events; `audit:<id>` and `trail:<id>` for built-in sources.
    pub id: String,
    pub source_id: String,
    pub source_name: String,
    pub built_in: bool,
    /// Epoch milliseconds (OCSF `time`).
    pub time: i64,
    /// `time` as RFC 3339.
    pub time_dt: String,
    pub received_at: String,
    pub class_uid: i64,
    pub class_name: String,
    pub category_uid: i64,
    pub category_name: String,
    pub activity_id: i64,
    pub type_uid: i64,
    pub severity_id: i64,
    pub severity: String,
    pub message: String,
    pub status: Option<String>,
    pub metadata: SiemEventMetadata,
    pub subject: SiemSubject,
}

fn summary(e: &EventRecord) -> SiemEventSummary {
    SiemEventSummary {
        id: e.id.clone(),
        source_id: e.source_id.clone(),
        source_name: e.source_name.clone(),
        built_in: e.stream != Stream::Ingested,
        time: e.time_ms(),
        time_dt: e.time.clone(),
        received_at: e.received_at.clone(),
        class_uid: e.class_uid,
        class_name: ocsf::class_name(e.class_uid).into(),
        category_uid: e.category_uid(),
        category_name: ocsf::category_name(e.category_uid()).into(),
        activity_id: e.activity_id,
        type_uid: e.type_uid(),
        severity_id: e.severity_id,
        severity: ocsf::severity_name(e.severity_id).into(),
        message: e.message.clone(),
        status: e.status.clone(),
        metadata: SiemEventMetadata {
            uid: e.event_uid.clone(),
            product: e.product.clone(),
        },
        subject: SiemSubject {
            actor_user_name: e.actor_user.clone(),
            src_ip: e.src_ip.clone(),
            dst: e.dst.clone(),
            device_hostname: e.device_hostname.clone(),
        },
    }
}

#[derive(Serialize, ToSchema)]
pub struct SiemWindow {
    pub from: String,
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct SiemEventPage {
    pub events: Vec<SiemEventSummary>,
    pub next_cursor: Option<String>,
    /// The window searched.
    pub window: SiemWindow,
    /// The sources searched: `ingested`, and the built-ins the filters and the caller's
    /// permissions allow (`grc.audit`, `grc.agent_trail`).
    pub searched: Vec<String>,
}

fn bad_query(e: search::BadParam) -> ApiError {
    ApiError::unprocessable(json!(["query", e.param]), e.msg, "value_error")
}

/// Whether the caller may also do `action` (a built-in source's own read permission).
async fn may(
    state: &AppState,
    caller: &Caller,
    org: &str,
    action: Action,
    resource: Resource,
) -> ApiResult<bool> {
    match check(state, caller, org, action, resource).await {
        Ok(_) => Ok(true),
        Err(ApiError::Forbidden(_) | ApiError::MissingScope(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Search normalized events, newest first: ingested events and, as built-in sources, the org's
/// audit log (`grc.audit`, for callers who may read it) and agent trail (`grc.agent_trail`,
/// for callers who may read agents), merged into one keyset-paged list. The window is capped
/// (`GRC_SIEM__MAX_SEARCH_WINDOW_DAYS`): a wider one is a 422 naming the cap.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/siem/events", tag = "siem",
    params(("org_id" = Uuid, Path), SiemEventQuery),
    responses((status = 200, body = SiemEventPage), (status = 422, body = ErrorBody)))]
async fn search_siem_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<SiemEventQuery>,
) -> ApiResult<axum::Json<SiemEventPage>> {
    Ok(axum::Json(
        search_events(&state, &caller, &org_id.to_string(), &q).await?,
    ))
}

/// The search behind `GET /siem/events` (the API and the console): validates the query, asks
/// Cedar for `siem.search` and each built-in source's own read, and merges the pages.
pub async fn search_events(
    state: &AppState,
    caller: &Caller,
    org: &str,
    q: &SiemEventQuery,
) -> ApiResult<SiemEventPage> {
    let window = search::window(
        q.from.as_deref(),
        q.to.as_deref(),
        Utc::now(),
        state.config.siem.max_search_window_days,
    )
    .map_err(bad_query)?;
    let limit = search::limit(q.limit).map_err(bad_query)?;
    let cursor = q
        .cursor
        .as_deref()
        .map(SearchCursor::decode)
        .transpose()
        .map_err(bad_query)?;
    let source = search::source_filter(q.source_id.as_deref()).map_err(bad_query)?;
    if let Some(c) = q.class_uid
        && ocsf::class(c).is_none()
    {
        return Err(bad_query(search::BadParam {
            param: "class_uid",
            msg: format!("{c} is not an OCSF class this server knows"),
        }));
    }
    if let Some(s) = q.severity_id
        && !(0..=ocsf::MAX_ORDERED_SEVERITY).contains(&s)
    {
        return Err(bad_query(search::BadParam {
            param: "severity_id",
            msg: "must be between 0 and 6".into(),
        }));
    }
    for (param, value) in [("subject", &q.subject), ("q", &q.q)] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > search::MAX_TERM)
        {
            return Err(bad_query(search::BadParam {
                param,
                msg: format!("at most {} characters", search::MAX_TERM),
            }));
        }
    }
    let plan = search::plan(&source, q.class_uid, q.severity_id);
    let audit =
        plan.audit && may(state, caller, org, Action::AuditRead, Resource::AuditLog).await?;
    let trail = match plan.trail {
        Some(kinds) if may(state, caller, org, Action::TrailRead, Resource::Org).await? => {
            Some(kinds)
        }
        _ => None,
    };
    let (mut tx, _) = authorize(state, caller, org, Action::SiemSearch, Resource::Org).await?;
    let bounds = |stream: Stream| {
        let b = search::bound(stream, cursor.as_ref(), &window);
        store::siem::SearchBounds {
            from: window.from.clone(),
            to: window.to.clone(),
            at: b.at,
            tie: b.tie,
            subject: q
                .subject
                .as_deref()
                .map(str::trim)
                .unwrap_or_default()
                .to_owned(),
            like: search::like_pattern(q.q.as_deref()),
            limit: limit + 1,
        }
    };
    let mut pages = Vec::new();
    let mut searched = Vec::new();
    if plan.ingested {
        let source_id = match &source {
            search::SourceFilter::Registered(id) => id.clone(),
            _ => String::new(),
        };
        let rows = store::siem::search_events(
            &mut tx,
            &bounds(Stream::Ingested),
            &source_id,
            q.class_uid.unwrap_or(-1),
            q.severity_id.unwrap_or(0),
        )
        .await?;
        pages.push(rows.into_iter().map(ingested_record).collect());
        searched.push("ingested".to_owned());
    }
    if audit {
        let rows = store::siem::search_audit(&mut tx, &bounds(Stream::Audit)).await?;
        pages.push(
            rows.into_iter()
                .map(|r| builtin::audit_event(r, false))
                .collect(),
        );
        searched.push(siem::AUDIT_SOURCE.to_owned());
    }
    if let Some(kinds) = trail {
        let kinds = match kinds {
            search::TrailKinds::All => "all",
            search::TrailKinds::DriftOnly => "drift",
            search::TrailKinds::NotDrift => "other",
        };
        let rows = store::siem::search_trail(&mut tx, &bounds(Stream::Trail), kinds).await?;
        pages.push(
            rows.into_iter()
                .map(|r| builtin::trail_event(r, false))
                .collect(),
        );
        searched.push(siem::TRAIL_SOURCE.to_owned());
    }
    drop(tx);
    let (events, next_cursor) = search::merge(pages, limit);
    Ok(SiemEventPage {
        events: events.iter().map(summary).collect(),
        next_cursor,
        window: SiemWindow {
            from: window.from,
            to: window.to,
        },
        searched,
    })
}

fn ingested_record(r: store::siem::EventRow) -> EventRecord {
    EventRecord {
        id: r.id,
        stream: Stream::Ingested,
        source_id: r.source_id,
        source_name: r.source_name,
        time: r.time,
        received_at: r.received_at,
        class_uid: r.class_uid,
        activity_id: r.activity_id,
        severity_id: r.severity_id,
        message: r.message,
        event_uid: r.event_uid,
        product: r.product,
        actor_user: r.actor_user,
        src_ip: r.src_ip,
        dst: r.dst,
        device_hostname: r.device_hostname,
        status: r.status,
        raw: r
            .raw
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or(Value::Null),
    }
}

/// An alert an event is linked to.
#[derive(Serialize, ToSchema)]
pub struct SiemAlertLink {
    pub alert_id: String,
    pub title: String,
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub linked_by: String,
    pub linked_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SiemEventDetail {
    pub event: SiemEventSummary,
    /// The OCSF object: as submitted for ingested events, built from the record for built-ins.
    #[schema(value_type = Object)]
    pub raw: Value,
    pub alerts: Vec<SiemAlertLink>,
}

/// The stream and row of an event id, after checking the caller may read that stream
/// (a malformed id is a 404, like an unknown one).
async fn event_ref(
    state: &AppState,
    caller: &Caller,
    org: &str,
    event_id: &str,
) -> ApiResult<(Stream, String)> {
    let (stream, row) = Stream::parse_id(event_id).ok_or_else(|| ApiError::not_found("event"))?;
    match stream {
        Stream::Audit => {
            drop(check(state, caller, org, Action::AuditRead, Resource::AuditLog).await?)
        }
        Stream::Trail => drop(check(state, caller, org, Action::TrailRead, Resource::Org).await?),
        Stream::Ingested => {}
    }
    Ok((stream, row))
}

async fn find_record(tx: &mut TenantTx, stream: Stream, row: &str) -> ApiResult<EventRecord> {
    let found = match stream {
        Stream::Ingested => store::siem::find_event(tx, row).await?.map(ingested_record),
        Stream::Audit => store::siem::find_audit(tx, row)
            .await?
            .map(|r| builtin::audit_event(r, true)),
        Stream::Trail => store::siem::find_trail(tx, row)
            .await?
            .map(|r| builtin::trail_event(r, true)),
    };
    found.ok_or_else(|| ApiError::not_found("event"))
}

/// One event: its normalized fields, its OCSF object and the alerts it is linked to. Built-in
/// events (`audit:…`, `trail:…`) need the built-in source's read permission too.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/siem/events/{event_id}", tag = "siem",
    params(("org_id" = Uuid, Path), ("event_id" = String, Path, description = "A UUID, `audit:<id>` or `trail:<id>`")),
    responses((status = 200, body = SiemEventDetail), (status = 404, body = ErrorBody)))]
async fn get_siem_event(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, event_id)): Path<(Uuid, String)>,
) -> ApiResult<axum::Json<SiemEventDetail>> {
    let org = org_id.to_string();
    let (mut tx, _) =
        authorize(&state, &caller, &org, Action::SiemEventRead, Resource::Org).await?;
    drop(tx);
    let (stream, row) = event_ref(&state, &caller, &org, &event_id).await?;
    tx = state.db.tenant_tx(&org).await?;
    let mut record = find_record(&mut tx, stream, &row).await?;
    let links = store::siem::links_of(&mut tx, &record.id).await?;
    drop(tx);
    let raw = std::mem::take(&mut record.raw);
    Ok(axum::Json(SiemEventDetail {
        event: summary(&record),
        raw,
        alerts: links.into_iter().map(link_view).collect(),
    }))
}

fn link_view(l: store::siem::LinkRow) -> SiemAlertLink {
    SiemAlertLink {
        alert_id: l.alert_id,
        title: l.title,
        kind: l.kind,
        severity: l.severity,
        status: l.status,
        linked_by: l.linked_by,
        linked_at: l.linked_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSiemEventAlert {
    pub alert_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct SiemEventAlertLinked {
    pub event_id: String,
    /// False when the event was already linked to this alert (nothing changed).
    pub created: bool,
    pub alerts: Vec<SiemAlertLink>,
}

/// Link an event to an alert of the org (member and up with `write:siem`; audited
/// `SIEM_EVENT_LINKED`). Idempotent: linking again answers 200 with `created: false`.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/siem/events/{event_id}/alerts", tag = "siem",
    params(("org_id" = Uuid, Path), ("event_id" = String, Path, description = "A UUID, `audit:<id>` or `trail:<id>`")),
    request_body = LinkSiemEventAlert,
    responses((status = 201, body = SiemEventAlertLinked), (status = 200, body = SiemEventAlertLinked),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn link_siem_event_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, event_id)): Path<(Uuid, String)>,
    Json(body): Json<LinkSiemEventAlert>,
) -> ApiResult<(StatusCode, axum::Json<SiemEventAlertLinked>)> {
    let org = org_id.to_string();
    // Authorize the link first, so a caller without it learns nothing about the event.
    let (tx, _) = authorize(&state, &caller, &org, Action::SiemLink, Resource::Org).await?;
    drop(tx);
    let (stream, row) = event_ref(&state, &caller, &org, &event_id).await?;
    let (row, alert_id) = (&row, &body.alert_id.to_string());
    let (created, record_id, links) = write(
        &state,
        &caller,
        &org,
        Action::SiemLink,
        Resource::Org,
        |w| {
            Box::pin(async move {
                let record = find_record(&mut w.tx, stream, row).await?;
                store::alerts::find(&mut w.tx, alert_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("alert"))?;
                let created = store::siem::insert_link(
                    &mut w.tx,
                    &record.id,
                    alert_id,
                    &w.auth.actor.email,
                    &time::now(),
                )
                .await?;
                if created {
                    audit::record(&mut w.tx, &w.auth, AuditEvent {
                    action: "SIEM_EVENT_LINKED",
                    target_type: "siem_event",
                    target_id: &record.id,
                    metadata: json!({ "alert_id": alert_id, "source_id": record.source_id }),
                })
                .await?;
                }
                let links = store::siem::links_of(&mut w.tx, &record.id).await?;
                Ok((created, record.id, links))
            })
        },
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(SiemEventAlertLinked {
            event_id: record_id,
            created,
            alerts: links.into_iter().map(link_view).collect(),
        }),
    ))
}
