//! Webhook subscriptions and deliveries (issue 14, seed 003) under
//! `/api/v1/orgs/{org_id}/webhooks/subscriptions` (owner/admin, `admin:org`).
//!
//! The signing secret (`whsec_…`, Standard Webhooks) is in the answer to create and rotate
//! only; it is stored sealed with the server secret, because it must sign. Delivery reads show
//! status, attempts (time, latency, status code or error) and the next retry time, never the
//! secret. Sending happens in the background (`crate::webhooks::dispatcher`).

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{CursorQuery, Json, Path, Query, paging},
    write,
};
use crate::{
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::{page, time},
    store::{
        self, TenantTx,
        webhooks::{AttemptRow, DeliveryRow, SubscriptionRow},
    },
    webhooks::{self, dispatcher::secret_aad, signature::SigningKey},
};
use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(
            get_subscription,
            update_subscription,
            delete_subscription
        ))
        .routes(routes!(rotate_secret))
        .routes(routes!(send_test))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
}

const MAX_EVENT_TYPES: usize = 32;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// Where events are POSTed: `https://…` (plain `http` only for operator-allowed networks).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Event types (`alert.raised`, …) or families (`alert.*`, `ticket.*`).
    #[schema(min_items = 1, max_items = 32)]
    pub event_types: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubscription {
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 32)]
    pub event_types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `disabled` stops sending (deliveries wait); `active` resumes.
    pub status: Option<SubscriptionStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Disabled,
}

/// A subscription (never its secret).
#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A subscription and its signing secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks). Not shown again.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionPage {
    pub subscriptions: Vec<SubscriptionView>,
    pub next_cursor: Option<String>,
}

/// One delivery of one event to one subscription.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also the `webhook-id` header, the same on every attempt.
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending` (queued or waiting to retry), `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// The delivery fails once `attempts` reaches this.
    pub max_attempts: i64,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
}

/// A delivery with its attempts and the exact body sent.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// The signed JSON body.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempt_log: Vec<AttemptView>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub number: i64,
    pub started_at: String,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `succeeded` or `failed`.
    #[param(inline)]
    pub status: Option<DeliveryStatus>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

fn subscription_view(s: SubscriptionRow) -> ApiResult<SubscriptionView> {
    Ok(SubscriptionView {
        event_types: store::decode_json(&s.event_types, "event_types")?,
        id: s.id,
        url: s.url,
        description: s.description,
        status: s.status,
        created_by: s.created_by,
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
}

fn delivery_view(d: DeliveryRow) -> DeliveryView {
    DeliveryView {
        id: d.id,
        subscription_id: d.subscription_id,
        event_id: d.event_id,
        event_type: d.event_type,
        status: d.status,
        attempts: d.attempts,
        max_attempts: d.attempt_budget,
        next_attempt_at: d.next_attempt_at,
        last_attempt_at: d.last_attempt_at,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        created_at: d.created_at,
        completed_at: d.completed_at,
    }
}

fn attempt_view(a: AttemptRow) -> AttemptView {
    AttemptView {
        number: a.number,
        started_at: a.started_at,
        latency_ms: a.latency_ms,
        status_code: a.status_code,
        error: a.error,
    }
}

async fn found(tx: &mut TenantTx, id: &str) -> ApiResult<SubscriptionRow> {
    store::webhooks::find_subscription(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook subscription"))
}

async fn found_delivery(
    tx: &mut TenantTx,
    subscription_id: &str,
    id: &str,
) -> ApiResult<DeliveryRow> {
    store::webhooks::find_delivery(tx, id)
        .await?
        .filter(|d| d.subscription_id == subscription_id)
        .ok_or_else(|| ApiError::not_found("delivery"))
}

fn check_url(state: &AppState, raw: &str) -> ApiResult<String> {
    state
        .webhook_guard
        .check_url(raw)
        .map(|u| u.to_string())
        .map_err(|e| ApiError::invalid_field(&["url"], e))
}

fn check_event_types(types: &[String]) -> ApiResult<Vec<String>> {
    if types.is_empty() || types.len() > MAX_EVENT_TYPES {
        return Err(ApiError::invalid_field(
            &["event_types"],
            format!("name 1–{MAX_EVENT_TYPES} event types or families (e.g. \"alert.*\")"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for t in types {
        let t = t.trim();
        webhooks::check_event_type(t).map_err(|e| ApiError::invalid_field(&["event_types"], e))?;
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

fn check_description(raw: &str) -> ApiResult<String> {
    if raw.chars().count() > 500 {
        return Err(ApiError::invalid_field(
            &["description"],
            "at most 500 characters",
        ));
    }
    Ok(raw.trim().to_owned())
}

fn seal(state: &AppState, org_id: &str, id: &str, key: &SigningKey) -> ApiResult<String> {
    Ok(state
        .secret
        .seal(key.reveal().as_bytes(), &secret_aad(org_id, id))?)
}

/// List the org's webhook subscriptions.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/webhooks/subscriptions", tag = "webhooks",
    params(("org_id" = Uuid, Path), CursorQuery),
    responses((status = 200, body = SubscriptionPage), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<CursorQuery>,
) -> ApiResult<axum::Json<SubscriptionPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookList,
        Resource::Org,
    )
    .await?;
    let rows = store::webhooks::list_subscriptions(&mut tx, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |s| page::Cursor {
        at: s.created_at.clone(),
        id: s.id.clone(),
    });
    let subscriptions = rows
        .into_iter()
        .map(subscription_view)
        .collect::<ApiResult<_>>()?;
    Ok(axum::Json(SubscriptionPage {
        subscriptions,
        next_cursor,
    }))
}

/// Subscribe a URL to event types. The answer carries the signing secret, once.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/webhooks/subscriptions", tag = "webhooks",
    params(("org_id" = Uuid, Path)), request_body = CreateSubscription,
    responses((status = 201, body = SubscriptionWithSecret), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Json(body): Json<CreateSubscription>,
) -> ApiResult<(StatusCode, axum::Json<SubscriptionWithSecret>)> {
    let org_id = org_id.to_string();
    let url = check_url(&state, &body.url)?;
    let event_types = check_event_types(&body.event_types)?;
    let description = check_description(&body.description)?;
    let id = Uuid::new_v4().to_string();
    let key = SigningKey::generate();
    let now = time::now();
    let row = &SubscriptionRow {
        secret_sealed: seal(&state, &org_id, &id, &key)?,
        id,
        url,
        description,
        event_types: json!(event_types).to_string(),
        status: "active".into(),
        created_by: caller.email.clone(),
        created_at: now.clone(),
        updated_at: now,
    };
    let view = write(
        &state,
        &caller,
        &org_id,
        Action::WebhookCreate,
        Resource::Org,
        |w| {
            Box::pin(async move {
                store::webhooks::insert_subscription(&mut w.tx, row).await?;
                audit::record(
                    &mut w.tx,
                    &w.auth,
                    AuditEvent {
                        action: "WEBHOOK_SUBSCRIPTION_CREATED",
                        target_type: "webhook_subscription",
                        target_id: &row.id,
                        metadata: json!({ "url": row.url, "event_types": row.event_types }),
                    },
                )
                .await?;
                subscription_view(row.clone())
            })
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SubscriptionWithSecret {
            subscription: view,
            secret: key.reveal(),
        }),
    ))
}

/// One subscription.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}",
    tag = "webhooks", params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses((status = 200, body = SubscriptionView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SubscriptionView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookRead,
        Resource::WebhookSubscription(id.to_string()),
    )
    .await?;
    let row = found(&mut tx, &id.to_string()).await?;
    drop(tx);
    Ok(axum::Json(subscription_view(row)?))
}

/// Change a subscription's URL, event types, description or status.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}",
    tag = "webhooks", params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    request_body = UpdateSubscription,
    responses((status = 200, body = SubscriptionView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateSubscription>,
) -> ApiResult<axum::Json<SubscriptionView>> {
    let url = body
        .url
        .as_deref()
        .map(|u| check_url(&state, u))
        .transpose()?;
    let event_types = body
        .event_types
        .as_deref()
        .map(check_event_types)
        .transpose()?;
    let description = body
        .description
        .as_deref()
        .map(check_description)
        .transpose()?;
    if url.is_none() && event_types.is_none() && description.is_none() && body.status.is_none() {
        return Err(ApiError::unprocessable(
            json!(["body"]),
            "nothing to change: send url, event_types, description or status",
            "value_error",
        ));
    }
    let (url, event_types, description, status, id) = (
        &url,
        &event_types,
        &description,
        body.status,
        &id.to_string(),
    );
    let view = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookUpdate,
        Resource::WebhookSubscription(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut s = found(tx, id).await?;
                if let Some(u) = url {
                    s.url = u.clone();
                }
                if let Some(t) = event_types {
                    s.event_types = json!(t).to_string();
                }
                if let Some(d) = description {
                    s.description = d.clone();
                }
                if let Some(st) = status {
                    s.status = match st {
                        SubscriptionStatus::Active => "active",
                        SubscriptionStatus::Disabled => "disabled",
                    }
                    .into();
                }
                s.updated_at = time::now();
                store::webhooks::update_subscription(tx, &s).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "WEBHOOK_SUBSCRIPTION_UPDATED",
                        target_type: "webhook_subscription",
                        target_id: id,
                        metadata: json!({ "url": s.url, "event_types": s.event_types,
                                          "status": s.status }),
                    },
                )
                .await?;
                subscription_view(s)
            })
        },
    )
    .await?;
    Ok(axum::Json(view))
}

/// Delete a subscription: nothing more is sent to it; its pending deliveries fail.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}",
    tag = "webhooks", params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_subscription(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let id = &id.to_string();
    write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookUpdate,
        Resource::WebhookSubscription(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut s = found(tx, id).await?;
                let now = time::now();
                let pending = store::webhooks::pending_of(tx, id).await?;
                for mut d in pending.iter().cloned() {
                    d.status = "failed".into();
                    d.next_attempt_at = None;
                    d.last_error = Some("subscription deleted".into());
                    d.completed_at = Some(now.clone());
                    store::webhooks::update_delivery(tx, &d).await?;
                    store::webhooks::unschedule(tx, &d.id).await?;
                }
                s.status = "deleted".into();
                s.updated_at = now;
                store::webhooks::update_subscription(tx, &s).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "WEBHOOK_SUBSCRIPTION_DELETED",
                        target_type: "webhook_subscription",
                        target_id: id,
                        metadata: json!({ "url": s.url, "pending_failed": pending.len() }),
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

/// Replace the signing secret; the old one stops signing at once. The new one is shown once.
#[utoipa::path(post,
    path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}/rotate-secret",
    tag = "webhooks", params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses((status = 200, body = SubscriptionWithSecret), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SubscriptionWithSecret>> {
    let key = SigningKey::generate();
    let sealed = &seal(&state, &org_id.to_string(), &id.to_string(), &key)?;
    let id = &id.to_string();
    let view = write(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookUpdate,
        Resource::WebhookSubscription(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                let mut s = found(tx, id).await?;
                s.secret_sealed = sealed.clone();
                s.updated_at = time::now();
                store::webhooks::update_subscription(tx, &s).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "WEBHOOK_SECRET_ROTATED",
                        target_type: "webhook_subscription",
                        target_id: id,
                        metadata: json!({}),
                    },
                )
                .await?;
                subscription_view(s)
            })
        },
    )
    .await?;
    Ok(axum::Json(SubscriptionWithSecret {
        subscription: view,
        secret: key.reveal(),
    }))
}

/// Queue a `webhook.test` event to this subscription alone (202; read the delivery for the
/// outcome).
#[utoipa::path(post,
    path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}/test",
    tag = "webhooks", params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn send_test(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<(StatusCode, axum::Json<DeliveryView>)> {
    let state = &state;
    let id = &id.to_string();
    let view = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::WebhookRedeliver,
        Resource::WebhookSubscription(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                let now = time::now();
                let event_id = Uuid::new_v4().to_string();
                let body = webhooks::payload(
                    &event_id,
                    "webhook.test",
                    &now,
                    &json!({ "subscription_id": id, "requested_by": auth.actor.email }),
                );
                let d = webhooks::queue_one(
                    tx,
                    &state.config.webhooks,
                    id,
                    &event_id,
                    "webhook.test",
                    &body,
                    &now,
                )
                .await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "WEBHOOK_TEST_SENT",
                        target_type: "webhook_subscription",
                        target_id: id,
                        metadata: json!({ "delivery_id": d.id }),
                    },
                )
                .await?;
                Ok(delivery_view(d))
            })
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(view)))
}

/// A subscription's deliveries, newest first.
#[utoipa::path(get,
    path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}/deliveries",
    tag = "webhooks",
    params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id)): Path<(Uuid, Uuid)>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<axum::Json<DeliveryPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookRead,
        Resource::WebhookSubscription(id.to_string()),
    )
    .await?;
    found(&mut tx, &id.to_string()).await?;
    let status = q.status.map(|s| match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Succeeded => "succeeded",
        DeliveryStatus::Failed => "failed",
    });
    let rows =
        store::webhooks::list_deliveries(&mut tx, &id.to_string(), status, cursor.as_ref(), limit)
            .await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |d| page::Cursor {
        at: d.created_at.clone(),
        id: d.id.clone(),
    });
    Ok(axum::Json(DeliveryPage {
        deliveries: rows.into_iter().map(delivery_view).collect(),
        next_cursor,
    }))
}

/// One delivery with its attempts.
#[utoipa::path(get,
    path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}/deliveries/{delivery_id}",
    tag = "webhooks",
    params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 200, body = DeliveryDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id, delivery_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<DeliveryDetail>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::WebhookRead,
        Resource::WebhookSubscription(id.to_string()),
    )
    .await?;
    found(&mut tx, &id.to_string()).await?;
    let d = found_delivery(&mut tx, &id.to_string(), &delivery_id.to_string()).await?;
    let attempts = store::webhooks::attempts_of(&mut tx, &d.id).await?;
    drop(tx);
    let payload = serde_json::from_str(&d.payload).map_err(anyhow::Error::from)?;
    Ok(axum::Json(DeliveryDetail {
        delivery: delivery_view(d),
        payload,
        attempt_log: attempts.into_iter().map(attempt_view).collect(),
    }))
}

/// Send a delivery again now (same `webhook-id`), with a fresh budget of attempts. A pending
/// delivery is simply made due now.
#[utoipa::path(post,
    path = "/api/v1/orgs/{org_id}/webhooks/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    params(("org_id" = Uuid, Path), ("subscription_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, id, delivery_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<(StatusCode, axum::Json<DeliveryView>)> {
    let state = &state;
    let (id, delivery_id) = (&id.to_string(), &delivery_id.to_string());
    let view = write(
        state,
        &caller,
        &org_id.to_string(),
        Action::WebhookRedeliver,
        Resource::WebhookSubscription(id.clone()),
        |w| {
            Box::pin(async move {
                let (tx, auth) = (&mut w.tx, &w.auth);
                found(tx, id).await?;
                let mut d = found_delivery(tx, id, delivery_id).await?;
                let now = time::now();
                let previous = d.status.clone();
                if d.status != "pending" {
                    d.attempt_budget =
                        d.attempts + i64::from(state.config.webhooks.max_attempts.max(1));
                }
                d.status = "pending".into();
                d.next_attempt_at = Some(now.clone());
                d.completed_at = None;
                store::webhooks::update_delivery(tx, &d).await?;
                store::webhooks::schedule(tx, &d.id, &now).await?;
                audit::record(
                    tx,
                    auth,
                    AuditEvent {
                        action: "WEBHOOK_REDELIVERY_REQUESTED",
                        target_type: "webhook_subscription",
                        target_id: id,
                        metadata: json!({ "delivery_id": d.id, "previous_status": previous }),
                    },
                )
                .await?;
                Ok(delivery_view(d))
            })
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(view)))
}
