//! Vendor security questionnaire answers about one agent. The questions are ours, scoped to an
//! automation agent, and filed under the domains of the Cloud Security Alliance's Consensus
//! Assessments Initiative Questionnaire (CAIQ v4), the public questionnaire most vendor reviews
//! start from. Every answer is derived from facts the platform holds and cites them.

use super::{facts::Facts, flow::SubProcessor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct QuestionSet {
    pub name: String,
    pub source: String,
    pub version: String,
}

/// One fact an answer rests on: where it comes from and its value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Citation {
    pub source: String,
    pub fact: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VsqAnswer {
    /// e.g. `IAM-A1` (CAIQ domain + our number).
    pub id: String,
    pub domain: String,
    pub question: String,
    /// `Yes`, `No` or `Partial`.
    pub answer: String,
    pub detail: String,
    pub evidence: Vec<Citation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VsqResponses {
    pub question_set: QuestionSet,
    pub responses: Vec<VsqAnswer>,
}

fn cite(source: &str, fact: impl Into<String>) -> Citation {
    Citation {
        source: source.to_owned(),
        fact: fact.into(),
    }
}

fn yes_no(yes: bool) -> String {
    if yes { "Yes" } else { "No" }.to_owned()
}

pub fn answer(facts: &Facts, subs: &[SubProcessor]) -> VsqResponses {
    let decisions = facts.verdict_count("PERMIT")
        + facts.verdict_count("ESCALATE")
        + facts.verdict_count("DENY");
    let escalations = facts.verdict_count("ESCALATE");
    let answered = facts.status_count("approved") + facts.status_count("rejected");
    let calls = facts.reported_count("connector.called");
    let deployments = facts.reported_count("agent.deployed");
    let drift = facts.drift_count(None);
    let mut responses = Vec::new();

    let agent = &facts.agent;
    responses.push(VsqAnswer {
        id: "IAM-A1".into(),
        domain: "Identity & Access Management (IAM)".into(),
        question: "Does the agent authenticate with its own non-human identity, separate from any person's credentials?".into(),
        answer: yes_no(agent.revoked_at.is_none()),
        detail: match &agent.revoked_at {
            None => format!(
                "The agent is enrolled as its own identity (kind {}) with a client certificate from the organization's CA and a credential of its own.",
                agent.kind
            ),
            Some(at) => format!("The agent's identity was revoked at {at}; it can no longer authenticate."),
        },
        evidence: vec![
            cite("agent registry", format!("enrolled {}", agent.enrolled_at)),
            cite("agent registry", format!("certificate serial {}, valid until {}", agent.cert_serial, agent.cert_not_after)),
            cite("agent registry", format!("last rotated {}", agent.rotated_at.as_deref().unwrap_or("never"))),
        ],
    });

    responses.push(match &facts.config {
        Some(config) => {
            let operations: usize = config.declaration.0.values().map(|ops| ops.len()).sum();
            VsqAnswer {
                id: "IAM-A2".into(),
                domain: "Identity & Access Management (IAM)".into(),
                question: "Is the agent limited to the connectors and operations it needs (least privilege)?".into(),
                answer: "Yes".into(),
                detail: format!(
                    "The approved configuration (version {}) declares {} connector(s) and {operations} operation(s); any other call is denied by the baseline policy runtime.undeclared.",
                    config.version,
                    config.declaration.0.len()
                ),
                evidence: vec![
                    cite("agent configuration", format!("version {} {}", config.version, config.content_hash)),
                    cite("agent configuration", format!("approved by {} at {}", config.approved_by, config.approved_at)),
                    cite("runtime decisions", format!("{} call(s) denied", facts.verdict_count("DENY"))),
                ],
            }
        }
        None => VsqAnswer {
            id: "IAM-A2".into(),
            domain: "Identity & Access Management (IAM)".into(),
            question: "Is the agent limited to the connectors and operations it needs (least privilege)?".into(),
            answer: "No".into(),
            detail: "No configuration has been approved for this agent, so nothing declares what it needs; every call it asks about is denied.".into(),
            evidence: vec![cite("agent configuration", "no approved version")],
        },
    });

    responses.push(VsqAnswer {
        id: "GRC-A1".into(),
        domain: "Governance, Risk & Compliance (GRC)".into(),
        question: "Is every action the agent takes authorized by policy before it runs?".into(),
        answer: if decisions == 0 { "No".into() } else if facts.drift_count(Some("acted_without_permit")) > 0 { "Partial".into() } else { "Yes".into() },
        detail: format!(
            "{decisions} runtime decision(s) were made by Cedar policies (baseline plus {} organization policy(ies)); evaluation errors deny. {} action(s) were recorded without a valid permit.",
            facts.runtime_policies.len(),
            facts.drift_count(Some("acted_without_permit"))
        ),
        evidence: vec![
            cite("runtime decisions", format!("PERMIT {}, ESCALATE {escalations}, DENY {}", facts.verdict_count("PERMIT"), facts.verdict_count("DENY"))),
            cite("action trail", format!("{calls} connector call(s) reported")),
        ],
    });

    responses.push(VsqAnswer {
        id: "GRC-A2".into(),
        domain: "Governance, Risk & Compliance (GRC)".into(),
        question: "Do high-risk actions wait for a human's approval?".into(),
        answer: yes_no(true),
        detail: format!(
            "Destructive operations and any call an organization policy marks @escalate wait for an owner or admin; unanswered escalations expire as denials. {escalations} escalation(s): {} approved, {} rejected, {} expired, {} pending.",
            facts.status_count("approved"),
            facts.status_count("rejected"),
            facts.status_count("expired"),
            facts.status_count("pending")
        ),
        evidence: vec![
            cite("baseline policy", "runtime.escalate_destructive"),
            cite("runtime decisions", format!("{answered} escalation(s) answered by a person")),
        ],
    });

    responses.push(VsqAnswer {
        id: "LOG-A1".into(),
        domain: "Logging & Monitoring (LOG)".into(),
        question: "Are the agent's actions logged in a tamper-evident trail?".into(),
        answer: yes_no(true),
        detail: format!(
            "The agent reported {} event(s); each is hash-chained with the organization's trail (SHA-256 of the previous hash and the event), and the trail is append-only.",
            facts.agent_events().map(|t| t.count).sum::<i64>()
        ),
        evidence: vec![cite(
            "action trail",
            format!("head seq {} hash {}", facts.trail_head.0, facts.trail_head.1),
        )],
    });

    responses.push(VsqAnswer {
        id: "CCC-A1".into(),
        domain: "Change Control & Configuration Management (CCC)".into(),
        question: "Are changes to the agent's configuration approved and recorded?".into(),
        answer: yes_no(facts.config_versions > 0),
        detail: format!(
            "{} configuration version(s), each set by an owner or admin and audit-logged; {deployments} deployment(s) reported with their configuration hash.",
            facts.config_versions
        ),
        evidence: vec![
            cite("agent configuration", format!("{} version(s)", facts.config_versions)),
            cite("action trail", format!("{} deployment(s) with a configuration other than the approved one", facts.drift_count(Some("config_mismatch")))),
        ],
    });

    responses.push(VsqAnswer {
        id: "SEF-A1".into(),
        domain: "Security Incident Management, E-Discovery & Cloud Forensics (SEF)".into(),
        question: "Are deviations from the approved behaviour detected and raised?".into(),
        answer: yes_no(true),
        detail: format!(
            "Drift is detected on every reported event (configuration mismatch, undeclared call, action without a permit) and raises an alert; {drift} drift event(s) recorded."
        ),
        evidence: facts
            .drift
            .iter()
            .map(|d| cite("action trail", format!("{}: {} ({} {})", d.outcome, d.count, d.connector, d.operation)))
            .collect(),
    });

    responses.push(VsqAnswer {
        id: "STA-A1".into(),
        domain: "Supply Chain Management, Transparency & Accountability (STA)".into(),
        question: "Are the third parties the agent sends data to identified?".into(),
        answer: yes_no(true),
        detail: if subs.is_empty() {
            "The agent has called no third-party service.".into()
        } else {
            format!(
                "{} sub-processor(s) from the connectors the agent called: {}.",
                subs.len(),
                subs.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        evidence: subs
            .iter()
            .map(|s| {
                cite(
                    "connectors catalog",
                    format!(
                        "{} via {} ({} call(s))",
                        s.name,
                        s.connectors.join(", "),
                        s.calls
                    ),
                )
            })
            .collect(),
    });

    let mut categories: Vec<String> = subs
        .iter()
        .flat_map(|s| s.data_categories.clone())
        .collect();
    categories.sort();
    categories.dedup();
    let mut locations: Vec<String> = subs.iter().flat_map(|s| s.locations.clone()).collect();
    locations.sort();
    locations.dedup();
    responses.push(VsqAnswer {
        id: "DSP-A1".into(),
        domain: "Data Security & Privacy Lifecycle Management (DSP)".into(),
        question: "Which categories of data leave the organization through the agent, and where are they processed?".into(),
        answer: if categories.is_empty() { "Not applicable".into() } else { "Yes".into() },
        detail: if categories.is_empty() {
            "No data has left through the agent.".into()
        } else {
            format!("Data categories: {}. Processing locations: {}.", categories.join(", "), locations.join(", "))
        },
        evidence: vec![cite("connectors catalog", "data categories and locations of each connector called")],
    });

    VsqResponses {
        question_set: QuestionSet {
            name: "Automation agent security questionnaire".into(),
            source: "Questions filed under the domains of the Cloud Security Alliance Consensus Assessments Initiative Questionnaire (CAIQ) v4".into(),
            version: "1".into(),
        },
        responses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::{flow, tests::known_facts};

    #[test]
    fn answers_cite_the_known_trail() -> anyhow::Result<()> {
        let facts = known_facts()?;
        let vsq = answer(&facts, &flow::sub_processors(&facts));
        let by_id = |id: &str| vsq.responses.iter().find(|r| r.id == id).cloned();
        let grc = by_id("GRC-A1").ok_or_else(|| anyhow::anyhow!("GRC-A1"))?;
        assert!(
            grc.detail.starts_with("10 runtime decision(s)"),
            "{}",
            grc.detail
        );
        let sta = by_id("STA-A1").ok_or_else(|| anyhow::anyhow!("STA-A1"))?;
        assert!(sta.detail.contains("Atlassian Pty Ltd"), "{}", sta.detail);
        let sef = by_id("SEF-A1").ok_or_else(|| anyhow::anyhow!("SEF-A1"))?;
        assert!(sef.detail.contains("1 drift event(s)"), "{}", sef.detail);
        assert!(
            vsq.responses
                .iter()
                .all(|r| !r.evidence.is_empty() || r.id == "SEF-A1")
        );
        Ok(())
    }
}
