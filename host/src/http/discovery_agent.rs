//! Discovery authorization, the collector's side (issue 19). A collector agent, with its own
//! credential:
//! - `POST /api/v1/agents/{agent_id}/discovery/decisions`: may it run this technique against
//!   these targets at this site now? Cedar answers grant or deny with reasons and the
//!   determining policies; every decision is recorded (docs/decisions/0023);
//! - `POST /api/v1/agents/{agent_id}/discovery/observations`: what it observed under a grant,
//!   redacted on the way in (credentials are never stored), idempotent by observation id, fed
//!   into the asset inventory.

use super::{
    agents::own_agent,
    discovery::{DiscoveryDecisionView, decision_view, spec_of, to_json},
    error::{ApiError, ApiResult, ErrorBody},
    extract::{Json, Path},
    write_as_agent,
};
use crate::{
    agents::{heartbeat::ObservedDevice, inventory},
    alerting::{raise, sources},
    app::AppState,
    authn::AgentCaller,
    authz::Action,
    discovery::{
        self, CLOCK_SKEW_SECS, GRANT_TTL_SECS,
        decide::{Ask, Collector},
        observation::{self, Observation},
        site,
    },
    domain::time,
    store::{
        self,
        discovery::{DecisionRow, ObservationRow},
    },
};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_discovery))
        .routes(routes!(report_observations))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryRequest {
    pub site_id: Uuid,
    /// One of the site techniques, e.g. `arp`.
    #[schema(min_length = 1, max_length = 40)]
    pub technique: String,
    /// Addresses or CIDR blocks, e.g. `["10.20.1.0/24"]`; 1–256.
    pub targets: Vec<String>,
}

/// Ask whether this collector may run `technique` against `targets` at a site now (agent
/// credential). Cedar decides with the runtime schema's `discover` action: the baseline grants
/// targets inside the site's ranges, an allowed technique and an open window, and only to
/// collector agents; the org's runtime policies may forbid more. The answer is recorded either
/// way; a grant holds until `valid_until`.
#[utoipa::path(post, path = "/api/v1/agents/{agent_id}/discovery/decisions", tag = "discovery",
    params(("agent_id" = Uuid, Path)), request_body = DiscoveryRequest,
    security(("agent_credential" = [])),
    responses((status = 200, body = DiscoveryDecisionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn request_discovery(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path(agent_id): Path<Uuid>,
    Json(body): Json<DiscoveryRequest>,
) -> ApiResult<axum::Json<DiscoveryDecisionView>> {
    own_agent(&agent, agent_id)?;
    let state = &state;
    let technique = &crate::domain::text::label(&body.technique, 40)
        .map_err(|m| ApiError::invalid_field(&["technique"], m))?;
    let targets = &site::parse_targets(&body.targets).map_err(|e| {
        let mut loc = vec![json!("body")];
        loc.extend(e.loc.into_iter().map(serde_json::Value::String));
        ApiError::unprocessable(json!(loc), e.msg, "value_error")
    })?;
    let (site_id, who) = (&body.site_id.to_string(), &agent.agent);
    let row = write_as_agent(
        state,
        &agent.principal,
        &who.org_id,
        Action::DiscoveryDecide,
        |w| {
            Box::pin(async move {
                let site_row = store::discovery::find_site(&mut w.tx, site_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("discovery site"))?;
                let spec = spec_of(&site_row)?;
                let tenant: Vec<(String, String)> = store::runtime::policies(&mut w.tx)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p.policy))
                    .collect();
                let policies = state.runtime.policies_for(&who.org_id, &tenant);
                let now = chrono::Utc::now();
                let grant = discovery::decide::decide(
                    &state.runtime,
                    &policies,
                    &Ask {
                        org_id: &who.org_id,
                        collector: Collector {
                            id: &who.id,
                            name: &who.name,
                            kind: &who.kind,
                        },
                        site_id,
                        site: &spec,
                        technique,
                        targets,
                        now,
                    },
                    chrono::Duration::seconds(GRANT_TTL_SECS),
                );
                let row = DecisionRow {
                    id: Uuid::new_v4().to_string(),
                    site_id: site_id.clone(),
                    site_name: site_row.name.clone(),
                    site_version: site_row.version,
                    agent_id: who.id.clone(),
                    technique: technique.clone(),
                    targets: to_json(&targets.iter().map(ToString::to_string).collect::<Vec<_>>())?,
                    verdict: if grant.granted { "grant" } else { "deny" }.into(),
                    reasons: to_json(&grant.reasons)?,
                    policy_ids: to_json(&grant.policy_ids)?,
                    decided_at: time::format(now),
                    valid_until: grant.valid_until.map(time::format),
                };
                store::discovery::insert_decision(&mut w.tx, &row).await?;
                Ok(row)
            })
        },
    )
    .await?;
    Ok(axum::Json(decision_view(row)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationReport {
    /// The grant the observations were made under (this agent's, for this site).
    pub decision_id: Uuid,
    /// 1–500 observations.
    pub observations: Vec<Observation>,
}

#[derive(Serialize, ToSchema)]
pub struct ObservationReceipt {
    /// Observations stored now.
    pub accepted: u32,
    /// Observation ids this agent had reported before (nothing stored again).
    pub duplicates: u32,
    /// Credential-like attributes dropped before storing.
    pub redacted_attributes: u32,
    /// Devices the inventory had not seen before (they start `unauthorized`).
    pub new_devices: u32,
    /// The inventory asset of each observation, in the order sent (null: not stored now).
    pub asset_ids: Vec<Option<String>>,
}

fn unprocessable_at(index: usize, field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::unprocessable(
        json!(["body", "observations", index, field]),
        msg,
        "value_error",
    )
}

/// Check one observation against its grant; the parsed MAC and time.
fn check(
    i: usize,
    o: &Observation,
    targets: &[ipnet::IpNet],
    window: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> ApiResult<(Option<crate::agents::heartbeat::Mac>, String)> {
    if let Some((field, msg)) = observation::problem(o) {
        return Err(unprocessable_at(i, field, msg));
    }
    let mac = o
        .mac
        .clone()
        .map(crate::agents::heartbeat::Mac::try_from)
        .transpose()
        .map_err(|m| unprocessable_at(i, "mac", m))?;
    let at = time::parse(&o.observed_at)
        .ok_or_else(|| unprocessable_at(i, "observed_at", "an RFC 3339 time"))?;
    let skew = chrono::Duration::seconds(CLOCK_SKEW_SECS);
    if at < window.0 - skew || at > window.1 + skew {
        return Err(unprocessable_at(
            i,
            "observed_at",
            format!(
                "outside the grant ({} to {}): ask for a new decision before discovering again",
                time::format(window.0),
                time::format(window.1)
            ),
        ));
    }
    if let Some(ip) = o.ip
        && !site::covers(targets, ip)
    {
        return Err(unprocessable_at(
            i,
            "ip",
            format!("{ip} is not among the granted targets"),
        ));
    }
    Ok((mac, time::format(at)))
}

/// Report what the collector observed under a grant (agent credential). Each observation must
/// fall inside the grant (its time, its targets); credential-like attributes are dropped and
/// counted; an observation id already reported is a duplicate. New devices join the asset
/// inventory as `unauthorized` (and raise the unauthorized-device alert).
#[utoipa::path(post, path = "/api/v1/agents/{agent_id}/discovery/observations", tag = "discovery",
    params(("agent_id" = Uuid, Path)), request_body = ObservationReport,
    security(("agent_credential" = [])),
    responses((status = 200, body = ObservationReceipt), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report_observations(
    State(state): State<AppState>,
    agent: AgentCaller,
    Path(agent_id): Path<Uuid>,
    Json(body): Json<ObservationReport>,
) -> ApiResult<axum::Json<ObservationReceipt>> {
    own_agent(&agent, agent_id)?;
    let state = &state;
    if body.observations.is_empty() || body.observations.len() > observation::MAX_OBSERVATIONS {
        return Err(ApiError::invalid_field(
            &["observations"],
            format!("1 to {} observations", observation::MAX_OBSERVATIONS),
        ));
    }
    let mut seen = HashSet::new();
    if let Some(i) = body
        .observations
        .iter()
        .position(|o| !seen.insert(o.id.as_str()))
    {
        return Err(unprocessable_at(i, "id", "appears twice in this report"));
    }
    let (body, who) = (&body, &agent.agent);
    let decision_id = &body.decision_id.to_string();
    let webhook_settings = &state.config.webhooks;
    let receipt = write_as_agent(
        state,
        &agent.principal,
        &who.org_id,
        Action::DiscoveryReport,
        |w| {
            Box::pin(async move {
                let decision = store::discovery::find_decision(&mut w.tx, decision_id)
                    .await?
                    .filter(|d| d.agent_id == who.id)
                    .ok_or_else(|| ApiError::not_found("discovery decision of this agent"))?;
                if decision.verdict != "grant" {
                    return Err(ApiError::Conflict(
                        "this decision denied discovery: nothing may be reported under it".into(),
                    ));
                }
                if store::discovery::find_site(&mut w.tx, &decision.site_id)
                    .await?
                    .is_none()
                {
                    return Err(ApiError::Conflict(
                        "the site was deleted after the grant: nothing more is accepted for it"
                            .into(),
                    ));
                }
                let targets: Vec<String> =
                    store::decode_json(&decision.targets, "discovery_decisions.targets")?;
                let targets = site::parse_targets(&targets).map_err(|e| anyhow::anyhow!(e.msg))?;
                let granted = (
                    time::parse(&decision.decided_at)
                        .ok_or_else(|| anyhow::anyhow!("bad decided_at"))?,
                    decision
                        .valid_until
                        .as_deref()
                        .and_then(time::parse)
                        .ok_or_else(|| anyhow::anyhow!("a grant without valid_until"))?,
                );
                let checked: Vec<_> = body
                    .observations
                    .iter()
                    .enumerate()
                    .map(|(i, o)| check(i, o, &targets, granted))
                    .collect::<ApiResult<_>>()?;
                let ids: Vec<String> = body.observations.iter().map(|o| o.id.clone()).collect();
                let known: HashSet<String> =
                    store::discovery::reported_ids(&mut w.tx, &who.id, &ids)
                        .await?
                        .into_iter()
                        .collect();
                let fresh: Vec<usize> = (0..body.observations.len())
                    .filter(|i| !known.contains(&body.observations[*i].id))
                    .collect();
                let devices: Vec<ObservedDevice> = fresh
                    .iter()
                    .map(|&i| {
                        let o = &body.observations[i];
                        ObservedDevice {
                            mac: checked[i].0.clone(),
                            ip: o.ip,
                            hostname: o.hostname.clone(),
                            technique: Some(decision.technique.clone()),
                        }
                    })
                    .collect();
                let now = time::now();
                let projected =
                    inventory::project_discovered(&mut w.tx, who, &devices, &now).await?;
                let mut receipt = ObservationReceipt {
                    accepted: 0,
                    duplicates: u32::try_from(known.len()).unwrap_or(u32::MAX),
                    redacted_attributes: 0,
                    new_devices: projected.new_devices,
                    asset_ids: vec![None; body.observations.len()],
                };
                for (n, &i) in fresh.iter().enumerate() {
                    let o = &body.observations[i];
                    let mut attributes = o.attributes.clone();
                    receipt.redacted_attributes +=
                        u32::try_from(observation::strip_credentials(&mut attributes))
                            .unwrap_or(u32::MAX);
                    let asset_id = projected.asset_ids.get(n).cloned().flatten();
                    let row = ObservationRow {
                        id: Uuid::new_v4().to_string(),
                        site_id: decision.site_id.clone(),
                        agent_id: who.id.clone(),
                        decision_id: decision.id.clone(),
                        external_id: o.id.clone(),
                        technique: decision.technique.clone(),
                        observed_at: checked[i].1.clone(),
                        received_at: now.clone(),
                        ip: o.ip.map(|ip| ip.to_string()),
                        mac: checked[i].0.as_ref().map(|m| m.as_str().to_owned()),
                        hostname: o.hostname.clone(),
                        vendor: o.vendor.clone(),
                        os: o.os.clone(),
                        serial_number: o.serial_number.clone(),
                        open_ports: serde_json::to_string(&o.open_ports)
                            .map_err(anyhow::Error::from)?,
                        attributes: serde_json::to_string(&attributes)
                            .map_err(anyhow::Error::from)?,
                        asset_id: asset_id.clone(),
                    };
                    if store::discovery::insert_observation(&mut w.tx, &row).await? {
                        receipt.accepted += 1;
                        receipt.asset_ids[i] = asset_id;
                    } else {
                        receipt.duplicates += 1;
                    }
                }
                let drafts = projected
                    .unauthorized
                    .iter()
                    .map(|device| sources::unauthorized_device(device, &who.id))
                    .collect();
                raise::raise_all(&mut w.tx, webhook_settings, drafts).await?;
                Ok(receipt)
            })
        },
    )
    .await?;
    Ok(axum::Json(receipt))
}
