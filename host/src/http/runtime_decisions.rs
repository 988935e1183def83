//! What people do with agents' runtime decisions and trails (issue 12): list and read decisions
//! (`status=pending` is the escalation queue), approve or reject escalations (owner/admin,
//! audited; the escalation's alert is settled), read an agent's trail and verify the org's
//! trail chain. The agent's own calls are in `http::runtime`.

use super::{
    authorize,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, Query, paging},
    runtime::{DecisionView, decision_view},
    write,
};
use crate::{
    alerting::raise,
    app::AppState,
    audit::{self, AuditEvent},
    authn::Caller,
    authz::{Action, Resource},
    domain::{page, time},
    runtime::{self, Verdict, trail},
    store, webhooks,
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_decisions))
        .routes(routes!(get_decision))
        .routes(routes!(approve_escalation))
        .routes(routes!(reject_escalation))
        .routes(routes!(list_agent_events))
        .routes(routes!(verify_trail))
}

/// A decision's status as a filter (`expired`: a pending escalation past its expiry).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionStatus {
    Permitted,
    Denied,
    Pending,
    Approved,
    Rejected,
    Expired,
}

impl DecisionStatus {
    fn as_str(self) -> &'static str {
        match self {
            DecisionStatus::Permitted => "permitted",
            DecisionStatus::Denied => "denied",
            DecisionStatus::Pending => "pending",
            DecisionStatus::Approved => "approved",
            DecisionStatus::Rejected => "rejected",
            DecisionStatus::Expired => "expired",
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionQuery {
    pub agent_id: Option<Uuid>,
    #[param(inline)]
    pub verdict: Option<Verdict>,
    #[param(inline)]
    pub status: Option<DecisionStatus>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub decisions: Vec<DecisionView>,
    pub next_cursor: Option<String>,
}

/// Runtime decisions, newest first (`status=pending` lists escalations waiting for an answer).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/runtime-decisions", tag = "runtime",
    params(("org_id" = Uuid, Path), DecisionQuery),
    responses((status = 200, body = DecisionPage), (status = 422, body = ErrorBody)))]
async fn list_decisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
    Query(q): Query<DecisionQuery>,
) -> ApiResult<axum::Json<DecisionPage>> {
    let (cursor, limit) = paging(q.cursor.as_deref(), q.limit)?;
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DecisionList,
        Resource::Org,
    )
    .await?;
    let now = time::now();
    let filter = store::runtime::DecisionFilter {
        agent_id: q.agent_id.map(|a| a.to_string()),
        verdict: q.verdict.map(|v| v.as_str().to_owned()),
        status: q.status.map(|s| s.as_str().to_owned()),
    };
    let rows =
        store::runtime::list_decisions(&mut tx, &filter, &now, cursor.as_ref(), limit).await?;
    drop(tx);
    let (rows, next_cursor) = page::split(rows, limit, |d| page::Cursor {
        at: d.created_at.clone(),
        id: d.id.clone(),
    });
    Ok(axum::Json(DecisionPage {
        decisions: rows.into_iter().map(|d| decision_view(d, &now)).collect(),
        next_cursor,
    }))
}

/// One runtime decision.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/runtime-decisions/{decision_id}", tag = "runtime",
    params(("org_id" = Uuid, Path), ("decision_id" = Uuid, Path)),
    responses((status = 200, body = DecisionView), (status = 404, body = ErrorBody)))]
async fn get_decision(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, decision_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<DecisionView>> {
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::DecisionList,
        Resource::Org,
    )
    .await?;
    let row = store::runtime::find_decision(&mut tx, &decision_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("decision"))?;
    Ok(axum::Json(decision_view(row, &time::now())))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EscalationAnswer {
    /// Why (kept with the decision and in the audit log).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Approve an escalation (owner/admin): the agent's outcome becomes PERMIT. Only a pending
/// escalation can be answered: an answered or expired one is a 409 naming its status.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/runtime-decisions/{decision_id}/approve", tag = "runtime",
    params(("org_id" = Uuid, Path), ("decision_id" = Uuid, Path)), request_body = EscalationAnswer,
    responses((status = 200, body = DecisionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn approve_escalation(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, decision_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<EscalationAnswer>,
) -> ApiResult<axum::Json<DecisionView>> {
    answer(&state, &caller, org_id, decision_id, "approved", &body.note).await
}

/// Reject an escalation (owner/admin): the agent's outcome becomes DENY.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/runtime-decisions/{decision_id}/reject", tag = "runtime",
    params(("org_id" = Uuid, Path), ("decision_id" = Uuid, Path)), request_body = EscalationAnswer,
    responses((status = 200, body = DecisionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn reject_escalation(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, decision_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<EscalationAnswer>,
) -> ApiResult<axum::Json<DecisionView>> {
    answer(&state, &caller, org_id, decision_id, "rejected", &body.note).await
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    org_id: Uuid,
    decision_id: Uuid,
    status: &'static str,
    note: &str,
) -> ApiResult<axum::Json<DecisionView>> {
    if note.chars().count() > 2000 {
        return Err(ApiError::invalid_field(
            &["body", "note"],
            "at most 2000 characters",
        ));
    }
    let id = &decision_id.to_string();
    let row = write(state, caller, &org_id.to_string(), Action::EscalationResolve, Resource::Org, |w| {
        Box::pin(async move {
            let now = time::now();
            let found = store::runtime::find_decision(&mut w.tx, id).await?.ok_or_else(|| ApiError::not_found("decision"))?;
            let current = runtime::effective_status(&found.status, found.expires_at.as_deref(), &now);
            if current != "pending" {
                return Err(ApiError::ConflictDetail(json!({
                    "message": format!("this decision is {current}; only a pending escalation can be {status}"),
                    "status": current,
                })));
            }
            if !store::runtime::resolve_escalation(&mut w.tx, id, status, &w.auth.actor.email, note, &now).await? {
                return Err(ApiError::Conflict("the escalation was answered or expired meanwhile".into()));
            }
            audit::record(&mut w.tx, &w.auth, AuditEvent {
                action: if status == "approved" { "AGENT_ESCALATION_APPROVED" } else { "AGENT_ESCALATION_REJECTED" },
                target_type: "agent_decision",
                target_id: id,
                metadata: json!({
                    "agent_id": found.agent_id, "connector": found.connector, "operation": found.operation,
                    "resource": found.target, "note": note,
                }),
            })
            .await?;
            let who = &w.auth.actor.email;
            let settled = format!("escalation {status} by {who}{}", if note.is_empty() { String::new() } else { format!(": {note}") });
            raise::settle(&mut w.tx, &state.config.webhooks, &format!("agent_escalation:{id}"), who, settled).await?;
            let updated = store::runtime::find_decision(&mut w.tx, id).await?.ok_or_else(|| ApiError::not_found("decision"))?;

            webhooks::emit(&mut w.tx, &state.config.webhooks, "agent.escalation.resolved", &serde_json::to_value(decision_view(updated.clone(), &now)).map_err(anyhow::Error::from)?).await?;
            Ok(updated)
        })
    })
    .await?;
    Ok(axum::Json(decision_view(row, &time::now())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// Only events of this type (e.g. `connector.called`, `drift.detected`).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// From `next_before`: events with a smaller sequence number.
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One event of the trail.
#[derive(Serialize, ToSchema)]
pub struct TrailEventView {
    pub seq: i64,
    pub event_id: String,
    /// `agent` (reported) or `server` (drift the server detected).
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: String,
    pub received_at: String,
    pub connector: Option<String>,
    pub operation: Option<String>,
    pub decision_id: Option<String>,
    pub outcome: Option<String>,
    pub config_hash: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct TrailPage {
    pub events: Vec<TrailEventView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

/// An agent's trail, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agents/{agent_id}/events", tag = "runtime",
    params(("org_id" = Uuid, Path), ("agent_id" = Uuid, Path), TrailQuery),
    responses((status = 200, body = TrailPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_agent_events(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, agent_id)): Path<(Uuid, Uuid)>,
    Query(q): Query<TrailQuery>,
) -> ApiResult<axum::Json<TrailPage>> {
    let limit = page::limit(q.limit)
        .map_err(|e| ApiError::unprocessable(json!(["query", "limit"]), e, "value_error"))?;
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::unprocessable(
            json!(["query", "before"]),
            "must be at least 1",
            "value_error",
        ));
    }
    let (mut tx, _) = authorize(
        &state,
        &caller,
        &org_id.to_string(),
        Action::TrailRead,
        Resource::Org,
    )
    .await?;
    let agent_id = agent_id.to_string();
    store::agents::find_agent(&mut tx, &agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let mut rows = store::trail::list(
        &mut tx,
        &agent_id,
        q.event_type.as_deref(),
        q.before.unwrap_or(0),
        limit,
    )
    .await?;
    drop(tx);
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_before = more.then(|| rows.last().map(|e| e.seq)).flatten();
    Ok(axum::Json(TrailPage {
        events: rows
            .into_iter()
            .map(|e| TrailEventView {
                seq: e.seq,
                event_id: e.draft.event_id,
                source: e.draft.source.to_owned(),
                event_type: e.draft.event_type,
                occurred_at: e.draft.occurred_at,
                received_at: e.received_at,
                connector: e.draft.connector,
                operation: e.draft.operation,
                decision_id: e.draft.decision_id,
                outcome: e.draft.outcome,
                config_hash: e.draft.config_hash,
                details: e.draft.details,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
        next_before,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TrailVerification {
    /// True when every event links to the one before it and its hash matches its content.
    pub valid: bool,
    pub events_checked: i64,
    /// The first event whose link or hash is wrong.
    pub first_broken_seq: Option<i64>,
    pub head_seq: i64,
    pub head_hash: String,
}

/// Recompute the org's action-trail hash chain.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/agent-trail/verify", tag = "runtime",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = TrailVerification), (status = 403, body = ErrorBody)))]
async fn verify_trail(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<Uuid>,
) -> ApiResult<axum::Json<TrailVerification>> {
    const PAGE: i64 = 5_000;
    let org = org_id.to_string();
    let (tx, _) = authorize(&state, &caller, &org, Action::TrailRead, Resource::Org).await?;
    drop(tx);
    let (mut after, mut prev, mut checked) = (0_i64, trail::GENESIS_HASH.to_owned(), 0_i64);
    loop {
        // One short read per page: a long trail never pins a connection for the whole walk.
        let mut tx = state.db.tenant_tx(&org).await?;
        let events = store::trail::page_in_order(&mut tx, after, PAGE).await?;
        drop(tx);
        if let Some(broken) = trail::first_broken(&org, &events, prev.clone()) {
            return Ok(axum::Json(TrailVerification {
                valid: false,
                events_checked: checked
                    + events.iter().take_while(|e| e.seq < broken).count() as i64
                    + 1,
                first_broken_seq: Some(broken),
                head_seq: after,
                head_hash: prev,
            }));
        }
        let Some(last) = events.last() else { break };
        checked += events.len() as i64;
        after = last.seq;
        prev = last.hash.clone();
    }
    Ok(axum::Json(TrailVerification {
        valid: true,
        events_checked: checked,
        first_broken_seq: None,
        head_seq: after,
        head_hash: prev,
    }))
}
