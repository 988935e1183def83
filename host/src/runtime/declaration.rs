//! An agent's declared configuration: which connectors it uses and which of their operations.
//! Versioned by the store; identified by the SHA-256 of its canonical JSON, which the agent
//! reports back so drift is visible (`agent.deployed` with another hash).

use super::connectors::{Available, Invalid};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Connector key → operation names. Sorted maps and sets, so the JSON is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Declaration(pub BTreeMap<String, BTreeSet<String>>);

impl Declaration {
    /// Every connector must exist for the org, every operation in its connector.
    pub fn validate(&self, available: &Available) -> Result<(), Invalid> {
        if self.0.len() > 100 {
            return Err(Invalid {
                loc: vec!["connectors".into()],
                msg: "declare at most 100 connectors".into(),
            });
        }
        for (key, operations) in &self.0 {
            let Some(def) = available.get(key) else {
                return Err(Invalid {
                    loc: vec!["connectors".into(), key.clone()],
                    msg: format!(
                        "unknown connector `{key}`: see GET /api/v1/orgs/{{org_id}}/connectors, or add it there"
                    ),
                });
            };
            if operations.is_empty() {
                return Err(Invalid {
                    loc: vec!["connectors".into(), key.clone()],
                    msg: "declare at least one operation".into(),
                });
            }
            if let Some(unknown) = operations
                .iter()
                .find(|op| !def.operations.contains_key(*op))
            {
                let offered: Vec<&str> = def.operations.keys().map(String::as_str).collect();
                return Err(Invalid {
                    loc: vec!["connectors".into(), key.clone()],
                    msg: format!(
                        "`{key}` has no operation `{unknown}`; it offers {}",
                        offered.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    pub fn declares(&self, connector: &str, operation: &str) -> bool {
        self.0
            .get(connector)
            .is_some_and(|operations| operations.contains(operation))
    }

    pub fn canonical_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    /// `sha256:<hex>` of the canonical JSON.
    pub fn content_hash(&self) -> String {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::connectors::ConnectorCatalog;

    fn declaration(pairs: &[(&str, &[&str])]) -> Declaration {
        Declaration(
            pairs
                .iter()
                .map(|(k, ops)| {
                    (
                        (*k).to_owned(),
                        ops.iter().map(|o| (*o).to_owned()).collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn the_hash_ignores_order_and_changes_with_content() {
        let a = declaration(&[
            ("jira", &["issue.create", "issue.read"]),
            ("slack", &["message.post"]),
        ]);
        let b = declaration(&[
            ("slack", &["message.post"]),
            ("jira", &["issue.read", "issue.create"]),
        ]);
        assert_eq!(a.content_hash(), b.content_hash());
        let c = declaration(&[("jira", &["issue.create"])]);
        assert_ne!(a.content_hash(), c.content_hash());
        assert!(a.content_hash().starts_with("sha256:"));
    }

    #[test]
    fn unknown_connectors_and_operations_are_named() -> anyhow::Result<()> {
        let available = Available::new(&ConnectorCatalog::load()?, Vec::new());
        assert!(
            declaration(&[("crowdstrike", &["host.contain"])])
                .validate(&available)
                .is_ok()
        );
        let err = declaration(&[("nope", &["x.y"])])
            .validate(&available)
            .err()
            .ok_or_else(|| anyhow::anyhow!("accepted"))?;
        assert!(err.msg.contains("unknown connector `nope`"), "{}", err.msg);
        let err = declaration(&[("jira", &["host.contain"])])
            .validate(&available)
            .err()
            .ok_or_else(|| anyhow::anyhow!("accepted"))?;
        assert!(
            err.msg.contains("no operation `host.contain`"),
            "{}",
            err.msg
        );
        Ok(())
    }
}
