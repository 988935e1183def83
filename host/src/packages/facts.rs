//! What a compliance package is made from: the facts read (in one read transaction) about an
//! agent, its configuration, its decisions and its trail. Counting happens in SQL; this is the
//! small result.

use crate::runtime::{connectors::ConnectorDef, declaration::Declaration};
use crate::store::trail::{CallCount, TypeCount, VerdictCount};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct AgentFacts {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub enrolled_at: String,
    pub cert_serial: String,
    pub cert_not_after: String,
    pub rotated_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ConfigFacts {
    pub version: i64,
    pub content_hash: String,
    pub declaration: Declaration,
    pub approved_by: String,
    pub approved_at: String,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub org_id: String,
    pub org_name: String,
    pub agent: AgentFacts,
    /// The approved configuration, if any, and how many versions there have been.
    pub config: Option<ConfigFacts>,
    pub config_versions: i64,
    pub event_types: Vec<TypeCount>,
    pub calls: Vec<CallCount>,
    pub drift: Vec<CallCount>,
    pub verdicts: Vec<VerdictCount>,
    /// The org's own runtime policies (ids).
    pub runtime_policies: Vec<String>,
    /// Definitions of every connector the agent used or declares, by key.
    pub connectors: BTreeMap<String, ConnectorDef>,
    /// The trail's head when the facts were read: `(seq, hash)`.
    pub trail_head: (i64, String),
}

impl Facts {
    /// Events the agent reported (not the server's drift records).
    pub fn agent_events(&self) -> impl Iterator<Item = &TypeCount> {
        self.event_types.iter().filter(|t| t.source == "agent")
    }

    pub fn reported_count(&self, event_type: &str) -> i64 {
        self.agent_events()
            .filter(|t| t.event_type == event_type)
            .map(|t| t.count)
            .sum()
    }

    pub fn verdict_count(&self, verdict: &str) -> i64 {
        self.verdicts
            .iter()
            .filter(|v| v.verdict == verdict)
            .map(|v| v.count)
            .sum()
    }

    pub fn status_count(&self, status: &str) -> i64 {
        self.verdicts
            .iter()
            .filter(|v| v.status == status)
            .map(|v| v.count)
            .sum()
    }

    pub fn drift_count(&self, kind: Option<&str>) -> i64 {
        self.drift
            .iter()
            .filter(|d| kind.is_none_or(|k| d.outcome == k))
            .map(|d| d.count)
            .sum()
    }

    /// Connectors the agent called, with their call counts, by key.
    pub fn used_connectors(&self) -> BTreeMap<String, i64> {
        let mut used = BTreeMap::new();
        for call in &self.calls {
            *used.entry(call.connector.clone()).or_insert(0) += call.count;
        }
        used
    }
}
