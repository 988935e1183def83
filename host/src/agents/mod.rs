//! Agents (issue 11): non-human workload identities inside one org. An agent enrolls with a
//! one-time (or few-times) enrollment token and its own CSR, gets a client certificate from the
//! org's CA and a credential for HTTP calls, and then reports heartbeats that the inventory
//! projects into assets. See docs/decisions/0017.

pub mod ca;
pub mod heartbeat;
pub mod inventory;
pub mod rate;
pub mod seal;
pub mod settings;
pub mod status;
pub mod tls;

use serde::Deserialize;
use utoipa::ToSchema;

/// The kinds of agent: an endpoint agent reports its host, an automation agent calls
/// connectors (seed 001), a collector reports what it discovers on a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    Endpoint,
    Automation,
    Collector,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Endpoint => "endpoint",
            AgentKind::Automation => "automation",
            AgentKind::Collector => "collector",
        }
    }
}

/// An agent's status as a query filter (see [`status::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    Online,
    Stale,
    Offline,
    Revoked,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Stale => "stale",
            AgentStatus::Offline => "offline",
            AgentStatus::Revoked => "revoked",
        }
    }
}

/// Whether an asset is allowed on the org's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Authorization {
    Authorized,
    Unauthorized,
}

impl Authorization {
    pub fn as_str(self) -> &'static str {
        match self {
            Authorization::Authorized => "authorized",
            Authorization::Unauthorized => "unauthorized",
        }
    }
}

/// `host` (reported by its own agent) or `device` (observed by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    Host,
    Device,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Host => "host",
            AssetKind::Device => "device",
        }
    }
}

/// An empty query value (`?cursor=`) means the parameter is absent.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}
