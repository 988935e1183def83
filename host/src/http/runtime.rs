//! Runtime governance of automation agents (issue 12). An agent, with its own credential:
//! - `POST /api/v1/agents/{agent_id}/decisions`: may it call this connector operation now?
//!   Cedar answers PERMIT, ESCALATE or DENY (docs/decisions/0022);
//! - `GET /api/v1/agents/{agent_id}/decisions/{decision_id}`: the outcome of a decision (an
//!   escalation becomes PERMIT once approved, DENY once rejected or expired);
//! - `POST /api/v1/agents/{agent_id}/events`: what it did, in batches, idempotent by event id,
//!   hash-chained per org, checked for drift.
//!
//! What people do with decisions and trails is in `http::runtime_decisions`.

use super::{
    agents::own_agent,
    body::Cap,
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path, read_json},
    write_as_agent,
};
use crate::{
    alerting::{raise, sources},
    app::AppState,
    authn::AgentCaller,
    authz::Action,
    domain::time,
    runtime::{
        self, CallFacts, Verdict, connectors,
        declaration::Declaration,
        policy::Call,
        trail::{self, Approved, CitedDecision, EventDraft, EventInput},
    },
    store::{self, TenantTx, runtime::DecisionRow},
    webhooks,
};
use axum::{extract::State, http::StatusCode};
use chrono::Timelike;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agent_decide))
        .routes(routes!(agent_decision))
        .routes(routes!(report_events))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// A connector key from the catalog, e.g. `crowdstrike`.
    #[schema(min_length = 1, max_length = 40)]
    pub connector: String,
    /// One of its operations, e.g. `host.contain`.
    #[schema(min_length = 1, max_length = 81)]
    pub operation: String,
    /// What the call acts on (a host id, an issue key).
    #[schema(min_length = 1, max_length = 500)]
    pub resource: String,
    /// Facts about the call that policies may test.
    #[serde(default)]
    pub context: CallFacts,
}

/// A runtime decision and, for an escalation, where it stands.
#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    pub decision_id: String,
    pub agent_id: String,
    pub connector: String,
    pub operation: String,
    pub resource: String,
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
    /// What Cedar decided when asked.
    pub verdict: Verdict,
    /// What the agent may do now: PERMIT (permitted, or an approved escalation), ESCALATE (still
    /// waiting) or DENY (denied, rejected or expired).
    pub outcome: Verdict,
    /// `permitted`, `denied`, `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    /// The policies that determined the verdict.
    pub policy_ids: Vec<String>,
    pub reason: String,
    /// The approved configuration version the decision was made under (null: none).
    pub config_version: Option<i64>,
    /// When an escalation nobody answers becomes DENY.
    pub expires_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution_note: Option<String>,
    pub created_at: String,
}

pub(super) fn decision_view(d: DecisionRow, now: &str) -> DecisionView {
    let status = runtime::effective_status(&d.status, d.expires_at.as_deref(), now);
    let verdict = match d.verdict.as_str() {
        "PERMIT" => Verdict::Permit,
        "ESCALATE" => Verdict::Escalate,
        _ => Verdict::Deny,
    };
    DecisionView {
        decision_id: d.id,
        agent_id: d.agent_id,
        connector: d.connector,
        operation: d.operation,
        resource: d.target,
        context: serde_json::from_str(&d.context).unwrap_or_default(),
        verdict,
        outcome: runtime::outcome_verdict(status),
        status: status.to_owned(),
        policy_ids: serde_json::from_str(&d.policy_ids).unwrap_or_default(),
        reason: d.reason,
        config_version: d.config_version,
        expires_at: d.expires_at,
        resolved_by: d.resolved_by,
        resolved_at: d.resolved_at,
        resolution_note: d.resolution_note,
        created_at: d.created_at,
    }
}

/// A name-like field of the request (control characters were refused when the body was read).
fn check_text(loc: &[&str], value: &str, max: usize) -> ApiResult<()> {
    crate::domain::text::label(value, max)
        .map(drop)
        .map_err(|msg| ApiError::invalid_field(loc, msg))
}

fn check_facts(facts: &CallFacts) -> ApiResult<()> {
    for (field, value) in [
        ("environment", &facts.environment),
        ("severity", &facts.severity),
    ] {
        if let Some(v) = value {
            check_text(&["body", "context", field], v, 100)?;
        }
    }
    if facts.record_count.is_some_and(|n| n < 0) {
        return Err(ApiError::invalid_field(
            &["body", "context", "record_count"],
            "not negative",
        ));
    }
    if facts.labels.len() > 50
        || facts
            .labels
            .iter()
            .any(|l| l.trim().is_empty() || l.chars().count() > 100)
    {
        return Err(ApiError::invalid_field(
            &["body", "context", "labels"],
            "at most 50 labels of 1 to 100 characters",
        ));
    }
    Ok(())
}

/// The org's runtime policies, as the engine takes them.
async fn runtime_policies(tx: &mut TenantTx) -> ApiResult<Vec<(String, String)>> {
    Ok(store::runtime::policies(tx)
        .await?
        .into_iter()
        .map(|p| (p.id, p.policy))
        .collect())
}

/// Ask whether the agent may make a connector call (agent credential). Cedar decides from the
/// agent's approved configuration and the org's runtime policies: PERMIT, ESCALATE (an owner or
/// admin must approve it before `GRC_RUNTIME__ESCALATION_TTL_SECS` runs out; poll the decision)
/// or DENY. An undeclared connector or operation is a DENY and a drift event.
#[utoipa::path(post, path = "/api/v1/agents/{agent_id}/decisions", tag = "runtime",
    params(("agent_id" = Uuid, Path)), request_body = DecisionRequest,
    security(("agent_credential" = [])),
    responses((status = 200, body = DecisionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn agent_decide(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path(agent_id): Path<Uuid>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<axum::Json<DecisionView>> {
    own_agent(&agent, agent_id)?;
    let state = &state;
    check_text(&["body", "connector"], &body.connector, 40)?;
    check_text(&["body", "operation"], &body.operation, 81)?;
    check_text(&["body", "resource"], &body.resource, 500)?;
    check_facts(&body.context)?;
    let (body, who) = (&body, &agent.agent);
    let settings = &state.config.runtime;
    let row = write_as_agent(state, &agent.principal, &who.org_id, Action::AgentDecide, |w| {
        Box::pin(async move {
            let now = chrono::Utc::now();
            let config = store::runtime::current_configuration(&mut w.tx, &who.id).await?;
            let declaration: Declaration = match &config {
                Some(c) => serde_json::from_str(&c.declaration).map_err(anyhow::Error::from)?,
                None => Declaration::default(),
            };
            let available = connectors::available(&mut w.tx, &state.connectors).await?;
            let policies = state.runtime.policies_for(&who.org_id, &runtime_policies(&mut w.tx).await?);
            let declared = declaration.declares(&body.connector, &body.operation);
            let ruling = state.runtime.decide(&policies, &Call {
                org_id: &who.org_id,
                agent_id: &who.id,
                agent_name: &who.name,
                agent_kind: &who.kind,
                connector: &body.connector,
                definition: available.get(&body.connector),
                custom: available.is_custom(&body.connector),
                operation: &body.operation,
                target: &body.resource,
                declared,
                config_version: config.as_ref().map_or(0, |c| c.version),
                hour_utc: i64::from(now.hour()),
                facts: &body.context,
            });
            let at = time::format(now);
            let escalates = ruling.verdict == Verdict::Escalate;
            let row = DecisionRow {
                id: Uuid::new_v4().to_string(),
                agent_id: who.id.clone(),
                connector: body.connector.clone(),
                operation: body.operation.clone(),
                target: body.resource.clone(),
                context: serde_json::to_string(&body.context).map_err(anyhow::Error::from)?,
                config_version: config.as_ref().map(|c| c.version),
                verdict: ruling.verdict.as_str().into(),
                policy_ids: serde_json::to_string(&ruling.policy_ids).map_err(anyhow::Error::from)?,
                reason: ruling.reason.clone(),
                status: match ruling.verdict {
                    Verdict::Permit => "permitted",
                    Verdict::Escalate => "pending",
                    Verdict::Deny => "denied",
                }
                .into(),
                expires_at: escalates.then(|| {
                    time::format(now + chrono::Duration::seconds(i64::try_from(settings.escalation_ttl_secs).unwrap_or(i64::MAX / 2)))
                }),
                resolved_by: None,
                resolved_at: None,
                resolution_note: None,
                created_at: at.clone(),
            };
            store::runtime::insert_decision(&mut w.tx, &row).await?;
            let call = format!("{} {}", body.connector, body.operation);
            let webhook_settings = &state.config.webhooks;
            if !declared {
                let drift = trail::drift(
                    "undeclared_request",
                    format!("asked to call {call}, which the approved configuration does not declare"),
                    at.clone(),
                    &row.id,
                    Some(body.connector.clone()),
                    Some(body.operation.clone()),
                );
                record_drift(&mut w.tx, state, who, vec![drift]).await?;
            } else if escalates {
                let draft = sources::agent_escalation(&who.id, &who.name, &row.id, &call, &row.reason, row.expires_at.as_deref().unwrap_or_default());
                raise::raise(&mut w.tx, webhook_settings, draft).await?;
                webhooks::emit(&mut w.tx, webhook_settings, "agent.decision.escalated", &serde_json::to_value(decision_view(row.clone(), &at)).map_err(anyhow::Error::from)?).await?;
            } else if ruling.verdict == Verdict::Deny {
                let draft = sources::agent_denied(&who.id, &who.name, &call, &row.reason, &ruling.policy_ids);
                raise::raise(&mut w.tx, webhook_settings, draft).await?;
                webhooks::emit(&mut w.tx, webhook_settings, "agent.decision.denied", &serde_json::to_value(decision_view(row.clone(), &at)).map_err(anyhow::Error::from)?).await?;
            }
            Ok(row)
        })
    })
    .await?;
    Ok(axum::Json(decision_view(row, &time::now())))
}

/// Chains drift events into the org's trail, raises one alert per kind and emits
/// `agent.drift.detected` for each.
async fn record_drift(
    tx: &mut TenantTx,
    state: &AppState,
    agent: &store::agents::Agent,
    drifts: Vec<EventDraft>,
) -> ApiResult<Vec<trail::TrailEvent>> {
    if drifts.is_empty() {
        return Ok(Vec::new());
    }
    let head = store::trail::head(tx)
        .await?
        .unwrap_or((0, trail::GENESIS_HASH.to_owned()));
    let org_id = tx.org_id().to_owned();
    let events = trail::chain(&org_id, &agent.id, head, drifts, &time::now());
    for e in &events {
        store::trail::insert(tx, e).await?;
    }
    raise_drift(tx, state, agent, &events).await?;
    Ok(events)
}

async fn raise_drift(
    tx: &mut TenantTx,
    state: &AppState,
    agent: &store::agents::Agent,
    events: &[trail::TrailEvent],
) -> ApiResult<()> {
    let mut kinds = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.draft.event_type == trail::DRIFT_TYPE)
    {
        let kind = e.draft.details["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let reason = e.draft.details["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let about = e.draft.details["about"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        webhooks::emit(
            tx,
            &state.config.webhooks,
            "agent.drift.detected",
            &json!({
                "agent_id": agent.id, "kind": kind, "reason": reason, "about": about,
                "seq": e.seq, "occurred_at": e.draft.occurred_at,
            }),
        )
        .await?;
        kinds.insert(kind, (reason, about));
    }
    let drafts = kinds
        .into_iter()
        .map(|(kind, (reason, about))| {
            sources::agent_drift(&agent.id, &agent.name, &kind, &reason, &about)
        })
        .collect();
    raise::raise_all(tx, &state.config.webhooks, drafts).await?;
    Ok(())
}

/// The outcome of one of the agent's decisions (agent credential): poll an ESCALATE until its
/// `outcome` is PERMIT (approved) or DENY (rejected or expired).
#[utoipa::path(get, path = "/api/v1/agents/{agent_id}/decisions/{decision_id}", tag = "runtime",
    params(("agent_id" = Uuid, Path), ("decision_id" = Uuid, Path)),
    security(("agent_credential" = [])),
    responses((status = 200, body = DecisionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn agent_decision(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path((agent_id, decision_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<DecisionView>> {
    own_agent(&agent, agent_id)?;
    let mut tx = state.db.tenant_tx(&agent.agent.org_id).await?;
    state
        .authz
        .authorize_agent(&mut tx, &agent.principal, Action::AgentDecisionRead)
        .await?;
    let row = store::runtime::find_decision(&mut tx, &decision_id.to_string())
        .await?
        .filter(|d| d.agent_id == agent.agent.id)
        .ok_or_else(|| ApiError::not_found("decision"))?;
    drop(tx);
    Ok(axum::Json(decision_view(row, &time::now())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// At most `GRC_RUNTIME__MAX_EVENTS_PER_BATCH` (500) events.
    pub events: Vec<EventInput>,
}

/// A drift finding in an accepted batch.
#[derive(Serialize, ToSchema)]
pub struct DriftFinding {
    pub event_id: String,
    pub kind: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventsAccepted {
    /// Events newly recorded.
    pub accepted: usize,
    /// Events already recorded (same `event_id`), skipped.
    pub duplicates: usize,
    /// Drift found in the new events.
    pub drift: Vec<DriftFinding>,
    /// The org's trail after the batch.
    pub trail_head_seq: i64,
    pub trail_head_hash: String,
}

/// Report what the agent did (agent credential): a batch of events, idempotent by `event_id`
/// (a replay is accepted once), bounded (`GRC_RUNTIME__MAX_EVENTS_PER_BATCH`,
/// `GRC_RUNTIME__MAX_BATCH_BYTES`, `GRC_RUNTIME__MAX_EVENT_DETAIL_BYTES`), chained into the org's
/// trail, and checked for drift.
#[utoipa::path(post, path = "/api/v1/agents/{agent_id}/events", tag = "runtime",
    params(("agent_id" = Uuid, Path)), request_body = EventBatch,
    security(("agent_credential" = [])),
    responses((status = 202, body = EventsAccepted), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn report_events(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path(agent_id): Path<Uuid>,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, axum::Json<EventsAccepted>)> {
    own_agent(&agent, agent_id)?;
    let state = &state;
    let settings = &state.config.runtime;
    let cap = Cap {
        what: "events batch",
        max_bytes: settings.max_batch_bytes,
        setting: "GRC_RUNTIME__MAX_BATCH_BYTES",
    };
    let batch: EventBatch = read_json(request, &cap).await?;
    if batch.events.is_empty() || batch.events.len() > settings.max_events_per_batch {
        return Err(ApiError::invalid_field(
            &["body", "events"],
            format!(
                "send 1 to {} events per batch (GRC_RUNTIME__MAX_EVENTS_PER_BATCH)",
                settings.max_events_per_batch
            ),
        ));
    }
    let mut seen = HashSet::new();
    let mut drafts = Vec::with_capacity(batch.events.len());
    for (i, event) in batch.events.into_iter().enumerate() {
        if !seen.insert(event.event_id.clone()) {
            return Err(ApiError::unprocessable(
                json!(["body", "events", i, "event_id"]),
                "repeats an earlier event of this batch",
                "value_error",
            ));
        }
        let draft = event
            .validate(i, settings.max_event_detail_bytes)
            .map_err(|b| ApiError::unprocessable(json!(b.loc), b.msg, "value_error"))?;
        drafts.push(draft);
    }
    let (drafts, who) = (&drafts, &agent.agent);
    let accepted = write_as_agent(
        state,
        &agent.principal,
        &who.org_id,
        Action::AgentReport,
        |w| {
            Box::pin(async move {
                let ids: Vec<String> = drafts.iter().map(|d| d.event_id.clone()).collect();
                let known: HashSet<String> =
                    store::trail::known_event_ids(&mut w.tx, &who.id, &ids)
                        .await?
                        .into_iter()
                        .collect();
                let fresh: Vec<&EventDraft> = drafts
                    .iter()
                    .filter(|d| !known.contains(&d.event_id))
                    .collect();
                let config = store::runtime::current_configuration(&mut w.tx, &who.id).await?;
                let declaration: Option<Declaration> = match &config {
                    Some(c) => {
                        Some(serde_json::from_str(&c.declaration).map_err(anyhow::Error::from)?)
                    }
                    None => None,
                };
                let approved = match (&config, &declaration) {
                    (Some(c), Some(d)) => Some(Approved {
                        version: c.version,
                        declaration: d,
                        hash: &c.content_hash,
                    }),
                    _ => None,
                };
                let cited_ids: Vec<String> = fresh
                    .iter()
                    .filter_map(|d| d.decision_id.clone())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let now = time::now();
                let cited: BTreeMap<String, CitedDecision> =
                    store::runtime::decisions_by_id(&mut w.tx, &cited_ids)
                        .await?
                        .into_iter()
                        .map(|d| {
                            let cited = CitedDecision {
                                expired: d.status == "pending"
                                    && d.expires_at.as_deref().is_some_and(|at| at <= now.as_str()),
                                agent_id: d.agent_id,
                                connector: d.connector,
                                operation: d.operation,
                                status: d.status,
                            };
                            (d.id, cited)
                        })
                        .collect();
                let mut chainable = Vec::with_capacity(fresh.len() * 2);
                let mut drift = Vec::new();
                for event in &fresh {
                    chainable.push((*event).clone());
                    let cited = event.decision_id.as_ref().and_then(|id| cited.get(id));
                    if let Some(found) = trail::drift_of(event, &who.id, approved.as_ref(), cited) {
                        drift.push(DriftFinding {
                            event_id: event.event_id.clone(),
                            kind: found.details["kind"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            reason: found.details["reason"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        });
                        chainable.push(found);
                    }
                }
                let head = store::trail::head(&mut w.tx)
                    .await?
                    .unwrap_or((0, trail::GENESIS_HASH.to_owned()));
                let org_id = w.tx.org_id().to_owned();
                let events = trail::chain(&org_id, &who.id, head.clone(), chainable, &now);
                for e in &events {
                    store::trail::insert(&mut w.tx, e).await?;
                }
                raise_drift(&mut w.tx, state, who, &events).await?;
                let (seq, hash) = events.last().map_or(head, |e| (e.seq, e.hash.clone()));
                Ok(EventsAccepted {
                    accepted: fresh.len(),
                    duplicates: known.len(),
                    drift,
                    trail_head_seq: seq,
                    trail_head_hash: hash,
                })
            })
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}
