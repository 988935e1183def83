//! SOC 2 control mappings: each Trust Services Criterion the agent's records give evidence for,
//! with that evidence. A criterion is covered only when the trail holds something behind it;
//! the others are listed as not covered with what is missing.

use super::facts::Facts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ControlMapping {
    pub control: String,
    pub name: String,
    /// `covered` or `not_covered`.
    pub status: String,
    /// What the platform holds for it (covered), or what is missing (not covered).
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ControlMappings {
    pub framework: String,
    pub controls_covered: Vec<String>,
    pub controls_not_covered: Vec<String>,
    pub mappings: Vec<ControlMapping>,
}

/// (id, fallback name, covered?, evidence or what is missing)
type Rule = (&'static str, &'static str, bool, Vec<String>);

fn rules(facts: &Facts) -> Vec<Rule> {
    let decisions = facts.verdict_count("PERMIT")
        + facts.verdict_count("ESCALATE")
        + facts.verdict_count("DENY");
    let deployments = facts.reported_count("agent.deployed");
    let answered = facts.status_count("approved") + facts.status_count("rejected");
    let used = facts.used_connectors();
    let drift = facts.drift_count(None);
    vec![
        (
            "CC6.1",
            "Logical & Physical Access Controls",
            decisions > 0,
            if decisions > 0 {
                vec![
                    format!(
                        "agent identity: certificate {} valid until {}",
                        facts.agent.cert_serial, facts.agent.cert_not_after
                    ),
                    format!("{decisions} runtime decision(s) made by Cedar before the agent acted"),
                ]
            } else {
                vec!["no runtime decisions recorded for this agent".into()]
            },
        ),
        (
            "CC6.3",
            "Role-Based Access",
            facts.config.is_some(),
            match &facts.config {
                Some(c) => vec![
                    format!(
                        "approved configuration version {} ({})",
                        c.version, c.content_hash
                    ),
                    format!("{} call(s) outside it denied", facts.verdict_count("DENY")),
                ],
                None => vec!["no approved configuration declares what the agent may call".into()],
            },
        ),
        (
            "CC7.1",
            "Vulnerability & Configuration Monitoring",
            deployments > 0,
            if deployments > 0 {
                vec![
                    format!(
                        "{deployments} deployment(s) checked against the approved configuration hash"
                    ),
                    format!(
                        "{} configuration mismatch(es) detected",
                        facts.drift_count(Some("config_mismatch"))
                    ),
                ]
            } else {
                vec!["no deployments reported, so no configuration was checked".into()]
            },
        ),
        (
            "CC7.2",
            "Security Monitoring",
            decisions > 0 || facts.reported_count("connector.called") > 0,
            vec![format!(
                "{} connector call(s) checked for drift; {drift} drift event(s) recorded and alerted",
                facts.reported_count("connector.called")
            )],
        ),
        (
            "CC7.3",
            "Security Event Evaluation",
            answered > 0,
            if answered > 0 {
                vec![format!(
                    "{} escalation(s) approved and {} rejected by an owner or admin; {} expired as denials",
                    facts.status_count("approved"),
                    facts.status_count("rejected"),
                    facts.status_count("expired")
                )]
            } else {
                vec!["no escalation was answered by a person".into()]
            },
        ),
        (
            "CC8.1",
            "Change Management",
            facts.config_versions > 0,
            match &facts.config {
                Some(c) => vec![format!(
                    "{} configuration version(s), each audit-logged; the latest approved by {} at {}",
                    facts.config_versions, c.approved_by, c.approved_at
                )],
                None => vec!["no configuration change recorded".into()],
            },
        ),
        (
            "CC9.2",
            "Vendor & Business Partner Risk",
            !used.is_empty(),
            if used.is_empty() {
                vec!["no third-party service called".into()]
            } else {
                vec![format!(
                    "sub-processors identified from the catalog for {} connector(s): {}",
                    used.len(),
                    used.keys().cloned().collect::<Vec<_>>().join(", ")
                )]
            },
        ),
    ]
}

/// `names`: SOC 2 control names from the framework catalog (fallbacks are used when absent).
pub fn map(facts: &Facts, names: &BTreeMap<String, String>) -> ControlMappings {
    let mappings: Vec<ControlMapping> = rules(facts)
        .into_iter()
        .map(|(id, fallback, covered, evidence)| ControlMapping {
            control: id.to_owned(),
            name: names
                .get(id)
                .cloned()
                .unwrap_or_else(|| fallback.to_owned()),
            status: if covered { "covered" } else { "not_covered" }.to_owned(),
            evidence,
        })
        .collect();
    ControlMappings {
        framework: "soc2".into(),
        controls_covered: mappings
            .iter()
            .filter(|m| m.status == "covered")
            .map(|m| m.control.clone())
            .collect(),
        controls_not_covered: mappings
            .iter()
            .filter(|m| m.status != "covered")
            .map(|m| m.control.clone())
            .collect(),
        mappings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::tests::known_facts;

    #[test]
    fn coverage_follows_the_trail() -> anyhow::Result<()> {
        let facts = known_facts()?;
        let mapped = map(&facts, &BTreeMap::new());
        assert_eq!(
            mapped.controls_covered,
            vec![
                "CC6.1", "CC6.3", "CC7.1", "CC7.2", "CC7.3", "CC8.1", "CC9.2"
            ]
        );
        let empty = Facts {
            agent: facts.agent.clone(),
            ..Facts::default()
        };
        let mapped = map(&empty, &BTreeMap::new());
        assert!(
            mapped.controls_covered.is_empty(),
            "{:?}",
            mapped.controls_covered
        );
        assert_eq!(mapped.controls_not_covered.len(), 7);
        Ok(())
    }
}
