//! Compliance packages (seed 001): a point-in-time, immutable account of one automation agent,
//! made from its configuration, runtime decisions and action trail: execution graph, data-flow
//! diagram, vendor security questionnaire answers, sub-processors and SOC 2 control mappings.
//! Stored as canonical JSON with its SHA-256, the previous package's hash and the audit chain
//! head; rendered to PDF ([`document`]) and signed into an offline-verifiable bundle ([`bundle`]).
//! See docs/decisions/0022.

pub mod bundle;
pub mod controls;
pub mod document;
pub mod facts;
pub mod flow;
pub mod vsq;

use facts::Facts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The generator recorded in every package.
pub fn generator() -> String {
    format!("grc {} compliance-package/1", env!("CARGO_PKG_VERSION"))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicyVerdicts {
    #[serde(rename = "PERMIT")]
    pub permit: i64,
    #[serde(rename = "ESCALATE")]
    pub escalate: i64,
    #[serde(rename = "DENY")]
    pub deny: i64,
}

/// Calls of one connector operation, by outcome.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CallSummary {
    pub connector: String,
    pub operation: String,
    pub success: i64,
    pub failure: i64,
    pub skipped: i64,
}

/// How escalations were answered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EscalationSummary {
    pub approved: i64,
    pub rejected: i64,
    pub expired: i64,
    pub pending: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ExecutionGraph {
    /// Events the agent reported.
    pub total_actions: i64,
    pub connectors_used: Vec<String>,
    /// Reported events by type, e.g. `{"connector.called": 1100, "agent.deployed": 3}`.
    pub operations_performed: BTreeMap<String, i64>,
    pub policy_verdicts: PolicyVerdicts,
    pub first_action: Option<String>,
    pub last_action: Option<String>,
    pub calls: Vec<CallSummary>,
    pub escalations: EscalationSummary,
    /// Drift the server recorded, by kind.
    pub drift_events: BTreeMap<String, i64>,
}

/// The agent as it stood when the package was generated.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[schema(as = PackageAgent)]
pub struct AgentSummary {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    /// The approved configuration's version and content hash, when it has one.
    pub config_version: Option<i64>,
    pub config_hash: Option<String>,
}

/// What ties the package to the records it was made from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Provenance {
    /// Packages of this agent are numbered 1, 2, …
    pub number: i64,
    /// SHA-256 of the agent's previous package (`null` for the first).
    pub prev_sha256: Option<String>,
    /// The audit log's last entry when the package was generated.
    pub audit_head_seq: i64,
    pub audit_head_hash: String,
    /// The action trail's last event when the facts were read.
    pub trail_head_seq: i64,
    pub trail_head_hash: String,
    pub generator: String,
}

/// A compliance package as stored: its canonical JSON is what `sha256` is taken over.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PackageBody {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub agent_id: String,
    /// Who generated it (user id).
    pub generated_by: String,
    pub generated_at: String,
    pub agent: AgentSummary,
    pub execution_graph: ExecutionGraph,
    pub data_flow_diagram: flow::DataFlowDiagram,
    pub vsq_responses: vsq::VsqResponses,
    pub sub_processors: Vec<flow::SubProcessor>,
    pub control_mappings: controls::ControlMappings,
    pub provenance: Provenance,
}

impl PackageBody {
    /// The canonical bytes: serde's field order, no whitespace.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Who and when, known only at write time.
pub struct Stamp {
    pub id: String,
    pub generated_by: String,
    pub generated_at: String,
    pub number: i64,
    pub prev_sha256: Option<String>,
    pub audit_head: (i64, String),
    /// Names of SOC 2 controls, by id (from the framework catalog).
    pub control_names: BTreeMap<String, String>,
}

/// Builds the package from the facts. Pure: the same facts and stamp give the same package.
pub fn build(facts: &Facts, stamp: Stamp) -> PackageBody {
    let execution_graph = execution_graph(facts);
    let sub_processors = flow::sub_processors(facts);
    PackageBody {
        id: stamp.id,
        org_id: facts.org_id.clone(),
        org_name: facts.org_name.clone(),
        agent_id: facts.agent.id.clone(),
        generated_by: stamp.generated_by,
        generated_at: stamp.generated_at,
        agent: AgentSummary {
            id: facts.agent.id.clone(),
            name: facts.agent.name.clone(),
            kind: facts.agent.kind.clone(),
            enrolled_at: facts.agent.enrolled_at.clone(),
            revoked_at: facts.agent.revoked_at.clone(),
            config_version: facts.config.as_ref().map(|c| c.version),
            config_hash: facts.config.as_ref().map(|c| c.content_hash.clone()),
        },
        data_flow_diagram: flow::diagram(facts),
        vsq_responses: vsq::answer(facts, &sub_processors),
        control_mappings: controls::map(facts, &stamp.control_names),
        sub_processors,
        execution_graph,
        provenance: Provenance {
            number: stamp.number,
            prev_sha256: stamp.prev_sha256,
            audit_head_seq: stamp.audit_head.0,
            audit_head_hash: stamp.audit_head.1,
            trail_head_seq: facts.trail_head.0,
            trail_head_hash: facts.trail_head.1.clone(),
            generator: generator(),
        },
    }
}

fn execution_graph(facts: &Facts) -> ExecutionGraph {
    let operations_performed: BTreeMap<String, i64> = facts
        .agent_events()
        .map(|t| (t.event_type.clone(), t.count))
        .collect();
    let mut calls: BTreeMap<(String, String), CallSummary> = BTreeMap::new();
    for c in &facts.calls {
        let entry = calls
            .entry((c.connector.clone(), c.operation.clone()))
            .or_insert_with(|| CallSummary {
                connector: c.connector.clone(),
                operation: c.operation.clone(),
                success: 0,
                failure: 0,
                skipped: 0,
            });
        match c.outcome.as_str() {
            "success" => entry.success += c.count,
            "failure" => entry.failure += c.count,
            _ => entry.skipped += c.count,
        }
    }
    let mut drift_events = BTreeMap::new();
    for d in &facts.drift {
        *drift_events.entry(d.outcome.clone()).or_insert(0) += d.count;
    }
    ExecutionGraph {
        total_actions: operations_performed.values().sum(),
        connectors_used: facts.used_connectors().into_keys().collect(),
        operations_performed,
        policy_verdicts: PolicyVerdicts {
            permit: facts.verdict_count("PERMIT"),
            escalate: facts.verdict_count("ESCALATE"),
            deny: facts.verdict_count("DENY"),
        },
        first_action: facts.agent_events().filter_map(|t| t.first.clone()).min(),
        last_action: facts.agent_events().filter_map(|t| t.last.clone()).max(),
        calls: calls.into_values().collect(),
        escalations: EscalationSummary {
            approved: facts.status_count("approved"),
            rejected: facts.status_count("rejected"),
            expired: facts.status_count("expired"),
            pending: facts.status_count("pending"),
        },
        drift_events,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runtime::{connectors::ConnectorCatalog, declaration::Declaration};
    use crate::store::trail::{CallCount, TypeCount, VerdictCount};
    use std::collections::BTreeSet;

    /// A known trail: 3 deployments, 5 Jira creates (4 ok, 1 failed), 2 host containments, one
    /// undeclared Slack post (drift), decisions 7 PERMIT / 2 ESCALATE (1 approved, 1 expired) /
    /// 1 DENY.
    pub fn known_facts() -> anyhow::Result<Facts> {
        let catalog = ConnectorCatalog::load()?;
        let declaration = Declaration(
            [
                (
                    "jira".to_owned(),
                    BTreeSet::from(["issue.create".to_owned()]),
                ),
                (
                    "crowdstrike".to_owned(),
                    BTreeSet::from(["host.contain".to_owned()]),
                ),
            ]
            .into(),
        );
        let count = |t: &str, n: i64, first: &str, last: &str| TypeCount {
            source: "agent".into(),
            event_type: t.into(),
            count: n,
            first: Some(first.into()),
            last: Some(last.into()),
        };
        let call = |c: &str, o: &str, outcome: &str, n: i64| CallCount {
            connector: c.into(),
            operation: o.into(),
            outcome: outcome.into(),
            count: n,
        };
        let verdict = |v: &str, s: &str, n: i64| VerdictCount {
            verdict: v.into(),
            status: s.into(),
            count: n,
        };
        let mut connectors = BTreeMap::new();
        for key in ["jira", "crowdstrike", "slack"] {
            let def = catalog
                .get(key)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{key}"))?;
            connectors.insert(key.to_owned(), def);
        }
        Ok(Facts {
            org_id: "org-1".into(),
            org_name: "Acme".into(),
            agent: facts::AgentFacts {
                id: "agent-1".into(),
                name: "triage-agent".into(),
                kind: "automation".into(),
                enrolled_at: "2026-03-01T00:00:00.000000Z".into(),
                cert_serial: "01ab".into(),
                cert_not_after: "2026-06-01T00:00:00.000000Z".into(),
                rotated_at: None,
                revoked_at: None,
            },
            config: Some(facts::ConfigFacts {
                version: 2,
                content_hash: declaration.content_hash(),
                declaration,
                approved_by: "admin@acme.test".into(),
                approved_at: "2026-03-02T00:00:00.000000Z".into(),
            }),
            config_versions: 2,
            event_types: vec![
                count(
                    "agent.deployed",
                    3,
                    "2026-03-15T10:00:00.000000Z",
                    "2026-04-01T00:00:00.000000Z",
                ),
                count(
                    "connector.called",
                    8,
                    "2026-03-15T10:05:00.000000Z",
                    "2026-04-10T16:30:00.000000Z",
                ),
                TypeCount {
                    source: "server".into(),
                    event_type: "drift.detected".into(),
                    count: 1,
                    first: Some("2026-04-02T00:00:00.000000Z".into()),
                    last: Some("2026-04-02T00:00:00.000000Z".into()),
                },
            ],
            calls: vec![
                call("crowdstrike", "host.contain", "success", 2),
                call("jira", "issue.create", "failure", 1),
                call("jira", "issue.create", "success", 4),
                call("slack", "message.post", "success", 1),
            ],
            drift: vec![call("slack", "message.post", "undeclared_call", 1)],
            verdicts: vec![
                verdict("DENY", "denied", 1),
                verdict("ESCALATE", "approved", 1),
                verdict("ESCALATE", "expired", 1),
                verdict("PERMIT", "permitted", 7),
            ],
            runtime_policies: vec!["p-1".into()],
            connectors,
            trail_head: (12, "ab".repeat(32)),
        })
    }

    pub fn stamp() -> Stamp {
        Stamp {
            id: "pkg-1".into(),
            generated_by: "user-1".into(),
            generated_at: "2026-04-10T17:00:00.000000Z".into(),
            number: 1,
            prev_sha256: None,
            audit_head: (40, "cd".repeat(32)),
            control_names: BTreeMap::new(),
        }
    }

    #[test]
    fn the_execution_graph_counts_the_known_trail() -> anyhow::Result<()> {
        let package = build(&known_facts()?, stamp());
        let graph = &package.execution_graph;
        assert_eq!(graph.total_actions, 11);
        assert_eq!(graph.connectors_used, vec!["crowdstrike", "jira", "slack"]);
        assert_eq!(graph.operations_performed.get("connector.called"), Some(&8));
        assert_eq!(graph.operations_performed.get("drift.detected"), None);
        assert_eq!(
            graph.policy_verdicts,
            PolicyVerdicts {
                permit: 7,
                escalate: 2,
                deny: 1
            }
        );
        assert_eq!(
            graph.first_action.as_deref(),
            Some("2026-03-15T10:00:00.000000Z")
        );
        assert_eq!(
            graph.last_action.as_deref(),
            Some("2026-04-10T16:30:00.000000Z")
        );
        assert_eq!(graph.escalations.approved, 1);
        assert_eq!(graph.escalations.expired, 1);
        assert_eq!(graph.drift_events.get("undeclared_call"), Some(&1));
        let jira = graph
            .calls
            .iter()
            .find(|c| c.connector == "jira")
            .ok_or_else(|| anyhow::anyhow!("jira"))?;
        assert_eq!((jira.success, jira.failure), (4, 1));
        Ok(())
    }

    #[test]
    fn the_canonical_json_is_stable() -> anyhow::Result<()> {
        let a = build(&known_facts()?, stamp());
        let b = build(&known_facts()?, stamp());
        assert_eq!(a.canonical_json(), b.canonical_json());
        let parsed: PackageBody = serde_json::from_str(&a.canonical_json())?;
        assert_eq!(parsed.canonical_json(), a.canonical_json());
        Ok(())
    }
}
