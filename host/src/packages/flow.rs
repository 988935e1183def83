//! The data-flow diagram (agent → connectors → vendors, as mermaid and as structured data the
//! PDF draws) and the sub-processor list (the vendors of the connectors the agent used).

use super::facts::Facts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// One connector in the diagram.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FlowConnector {
    pub key: String,
    pub name: String,
    pub vendor: String,
    pub data_categories: Vec<String>,
    pub locations: Vec<String>,
    /// Operations the agent called, or declares when it has not called any.
    pub operations: Vec<String>,
    /// Calls the trail records.
    pub calls: i64,
    /// Whether the approved configuration declares it.
    pub declared: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DataFlowDiagram {
    /// A mermaid `graph LR` of the same flows.
    pub mermaid: String,
    pub connectors: Vec<FlowConnector>,
}

/// A vendor that processes data on the org's behalf through a connector the agent used.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SubProcessor {
    /// The vendor's legal name.
    pub name: String,
    pub connectors: Vec<String>,
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub locations: Vec<String>,
    pub website: Option<String>,
    pub calls: i64,
}

/// Connectors the agent used or declares, with what it did through each.
pub fn flow_connectors(facts: &Facts) -> Vec<FlowConnector> {
    let used = facts.used_connectors();
    let declared: BTreeMap<&String, &BTreeSet<String>> = facts
        .config
        .as_ref()
        .map(|c| c.declaration.0.iter().collect())
        .unwrap_or_default();
    let keys: BTreeSet<&String> = used.keys().chain(declared.keys().copied()).collect();
    keys.into_iter()
        .map(|key| {
            let called: BTreeSet<String> = facts
                .calls
                .iter()
                .filter(|c| &c.connector == key)
                .map(|c| c.operation.clone())
                .collect();
            let operations = if called.is_empty() {
                declared
                    .get(key)
                    .map(|ops| ops.iter().cloned().collect())
                    .unwrap_or_default()
            } else {
                called.into_iter().collect()
            };
            let def = facts.connectors.get(key);
            FlowConnector {
                key: key.clone(),
                name: def.map_or_else(|| key.clone(), |d| d.name.clone()),
                vendor: def.map_or_else(|| "unknown vendor".into(), |d| d.vendor.clone()),
                data_categories: def.map(|d| d.data_categories.clone()).unwrap_or_default(),
                locations: def.map(|d| d.locations.clone()).unwrap_or_default(),
                operations,
                calls: used.get(key).copied().unwrap_or(0),
                declared: declared.contains_key(key),
            }
        })
        .collect()
}

pub fn diagram(facts: &Facts) -> DataFlowDiagram {
    let connectors = flow_connectors(facts);
    DataFlowDiagram {
        mermaid: mermaid(&facts.agent.name, &connectors),
        connectors,
    }
}

/// Quotes a label for mermaid (`"` becomes `#quot;`, line breaks `<br/>`).
fn label(text: &str) -> String {
    text.replace('"', "#quot;").replace('\n', "<br/>")
}

fn mermaid(agent_name: &str, connectors: &[FlowConnector]) -> String {
    let mut lines = vec![
        "graph LR".to_owned(),
        format!("  agent[\"{}\"]", label(agent_name)),
    ];
    let mut vendors: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in connectors.iter().enumerate() {
        let style = if c.declared { "" } else { " (undeclared)" };
        lines.push(format!("  c{i}[\"{}{style}\"]", label(&c.name)));
        lines.push(format!(
            "  agent -->|\"{}\"| c{i}",
            label(&c.operations.join(", "))
        ));
        let next = vendors.len();
        let v = *vendors.entry(c.vendor.as_str()).or_insert(next);
        lines.push(format!(
            "  c{i} -->|\"{}\"| v{v}[(\"{}<br/>{}\")]",
            label(&c.data_categories.join(", ")),
            label(&c.vendor),
            label(&c.locations.join(", "))
        ));
    }
    lines.join("\n")
}

/// Vendors of the connectors the agent called, merged by legal name.
pub fn sub_processors(facts: &Facts) -> Vec<SubProcessor> {
    let mut by_vendor: BTreeMap<String, SubProcessor> = BTreeMap::new();
    for (key, calls) in facts.used_connectors() {
        let Some(def) = facts.connectors.get(&key) else {
            continue;
        };
        let entry = by_vendor
            .entry(def.vendor.clone())
            .or_insert_with(|| SubProcessor {
                name: def.vendor.clone(),
                connectors: Vec::new(),
                purpose: String::new(),
                data_categories: Vec::new(),
                locations: Vec::new(),
                website: def.website.clone(),
                calls: 0,
            });
        entry.connectors.push(key.clone());
        entry.purpose = if entry.purpose.is_empty() {
            def.purpose.clone()
        } else {
            format!("{} {}", entry.purpose, def.purpose)
        };
        for category in &def.data_categories {
            if !entry.data_categories.contains(category) {
                entry.data_categories.push(category.clone());
            }
        }
        for location in &def.locations {
            if !entry.locations.contains(location) {
                entry.locations.push(location.clone());
            }
        }
        entry.calls += calls;
    }
    by_vendor.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::tests::known_facts;

    #[test]
    fn sub_processors_are_the_vendors_of_used_connectors() -> anyhow::Result<()> {
        let subs = sub_processors(&known_facts()?);
        let names: Vec<&str> = subs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "Atlassian Pty Ltd",
                "CrowdStrike, Inc.",
                "Slack Technologies, LLC"
            ]
        );
        assert_eq!(subs[0].calls, 5);
        Ok(())
    }

    #[test]
    fn the_diagram_marks_undeclared_connectors() -> anyhow::Result<()> {
        let flow = diagram(&known_facts()?);
        assert!(flow.mermaid.starts_with("graph LR"));
        assert!(
            flow.mermaid.contains("Slack (undeclared)"),
            "{}",
            flow.mermaid
        );
        assert!(
            flow.mermaid.contains("agent -->|\"issue.create\"|"),
            "{}",
            flow.mermaid
        );
        let slack = flow
            .connectors
            .iter()
            .find(|c| c.key == "slack")
            .ok_or_else(|| anyhow::anyhow!("slack"))?;
        assert!(!slack.declared);
        Ok(())
    }
}
