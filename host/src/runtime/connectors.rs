//! The connectors catalog (`host/catalog/connectors.toml`): the services automation agents call,
//! each with its vendor's legal name, purpose, data categories, processing locations and the
//! operations it offers. Built-in entries are embedded and validated at startup; tenants add
//! their own, validated by the same rules.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

const SOURCE: &str = include_str!("../../catalog/connectors.toml");

/// How much harm an operation can do; `destructive` ones escalate by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Read,
    Write,
    Destructive,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Read => "read",
            Risk::Write => "write",
            Risk::Destructive => "destructive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationDef {
    pub risk: Risk,
    pub description: String,
}

/// One connector: a catalog entry or a tenant's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorDef {
    /// The product, e.g. "CrowdStrike Falcon".
    pub name: String,
    /// The vendor's legal name, as a sub-processor list names it.
    pub vendor: String,
    pub purpose: String,
    pub data_categories: Vec<String>,
    /// Where the vendor processes the data.
    pub locations: Vec<String>,
    #[serde(default)]
    pub website: Option<String>,
    /// By operation name (`noun.verb`, e.g. `host.contain`).
    pub operations: BTreeMap<String, OperationDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    connectors: BTreeMap<String, ConnectorDef>,
}

/// A problem with a connector definition: the path of the field and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub loc: Vec<String>,
    pub msg: String,
}

fn invalid(loc: &[&str], msg: impl Into<String>) -> Invalid {
    Invalid {
        loc: loc.iter().map(|s| (*s).to_owned()).collect(),
        msg: msg.into(),
    }
}

/// `[a-z][a-z0-9_]{1,39}`: connector keys.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (2..=40).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `noun.verb` in lower case (`host.contain`, `pull_request.create`).
pub fn valid_operation(name: &str) -> bool {
    let Some((noun, verb)) = name.split_once('.') else {
        return false;
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 40
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    part(noun) && part(verb)
}

impl ConnectorDef {
    /// Checks one definition: non-empty text within bounds, at least one operation, valid
    /// operation names.
    pub fn validate(&self) -> Result<(), Invalid> {
        let text = |loc: &str, value: &str, max: usize| {
            if value.trim().is_empty() || value.len() > max {
                Err(invalid(&[loc], format!("must be 1 to {max} characters")))
            } else {
                Ok(())
            }
        };
        text("name", &self.name, 200)?;
        text("vendor", &self.vendor, 200)?;
        text("purpose", &self.purpose, 1000)?;
        for (field, list) in [
            ("data_categories", &self.data_categories),
            ("locations", &self.locations),
        ] {
            if list.is_empty() || list.len() > 50 {
                return Err(invalid(&[field], "list 1 to 50 entries"));
            }
            for item in list {
                text(field, item, 200)?;
            }
        }
        if let Some(site) = &self.website {
            let parsed = url::Url::parse(site).map_err(|e| invalid(&["website"], e.to_string()))?;
            if parsed.scheme() != "https" {
                return Err(invalid(&["website"], "must be an https URL"));
            }
        }
        if self.operations.is_empty() || self.operations.len() > 200 {
            return Err(invalid(&["operations"], "declare 1 to 200 operations"));
        }
        for (name, op) in &self.operations {
            if !valid_operation(name) {
                return Err(invalid(
                    &["operations", name],
                    "operation names are `noun.verb` in lower case, e.g. `host.contain`",
                ));
            }
            text("description", &op.description, 500)?;
        }
        Ok(())
    }
}

/// The built-in connectors, by key.
#[derive(Debug, Clone)]
pub struct ConnectorCatalog {
    builtin: BTreeMap<String, ConnectorDef>,
}

impl ConnectorCatalog {
    /// Parses and validates the embedded catalog; the server refuses to start when it is wrong.
    pub fn load() -> anyhow::Result<Self> {
        let file: CatalogFile = toml::from_str(SOURCE)
            .map_err(|e| anyhow::anyhow!("host/catalog/connectors.toml: {e}"))?;
        for (key, def) in &file.connectors {
            if !valid_key(key) {
                anyhow::bail!("host/catalog/connectors.toml: `{key}` is not a valid key");
            }
            def.validate().map_err(|e| {
                anyhow::anyhow!(
                    "host/catalog/connectors.toml: connectors.{key}.{}: {}",
                    e.loc.join("."),
                    e.msg
                )
            })?;
        }
        Ok(ConnectorCatalog {
            builtin: file.connectors,
        })
    }

    pub fn builtin(&self) -> &BTreeMap<String, ConnectorDef> {
        &self.builtin
    }

    pub fn get(&self, key: &str) -> Option<&ConnectorDef> {
        self.builtin.get(key)
    }
}

/// The connectors an org can use: the built-in catalog and its own.
#[derive(Debug, Clone, Default)]
pub struct Available {
    pub connectors: BTreeMap<String, (ConnectorDef, bool)>,
}

impl Available {
    /// `custom` are the org's own (key, definition) pairs; a key already built in is ignored
    /// (creation refuses it, so this only guards against a catalog that gained the key later).
    pub fn new(catalog: &ConnectorCatalog, custom: Vec<(String, ConnectorDef)>) -> Self {
        let mut connectors: BTreeMap<String, (ConnectorDef, bool)> = catalog
            .builtin
            .iter()
            .map(|(k, d)| (k.clone(), (d.clone(), false)))
            .collect();
        for (key, def) in custom {
            connectors.entry(key).or_insert((def, true));
        }
        Available { connectors }
    }

    pub fn get(&self, key: &str) -> Option<&ConnectorDef> {
        self.connectors.get(key).map(|(d, _)| d)
    }

    pub fn is_custom(&self, key: &str) -> bool {
        self.connectors.get(key).is_some_and(|(_, custom)| *custom)
    }
}

/// The org's catalog as read in `tx`: built-in connectors and its own.
pub async fn available(
    tx: &mut crate::store::TenantTx,
    catalog: &ConnectorCatalog,
) -> Result<Available, sqlx::Error> {
    let custom = crate::store::runtime::connectors(tx)
        .await?
        .into_iter()
        .filter_map(|row| {
            serde_json::from_str::<ConnectorDef>(&row.definition)
                .ok()
                .map(|def| (row.key, def))
        })
        .collect();
    Ok(Available::new(catalog, custom))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_valid_and_names_the_issue_connectors() -> anyhow::Result<()> {
        let catalog = ConnectorCatalog::load()?;
        for key in [
            "crowdstrike",
            "jira",
            "slack",
            "github",
            "okta",
            "servicenow",
            "pagerduty",
            "splunk",
            "aws",
            "azure",
            "gcp",
        ] {
            assert!(catalog.get(key).is_some(), "{key} missing");
        }
        let falcon = catalog
            .get("crowdstrike")
            .ok_or_else(|| anyhow::anyhow!("crowdstrike"))?;
        assert_eq!(falcon.vendor, "CrowdStrike, Inc.");
        assert_eq!(
            falcon.operations.get("host.contain").map(|o| o.risk),
            Some(Risk::Destructive)
        );
        Ok(())
    }

    #[test]
    fn keys_and_operation_names_are_checked() {
        assert!(valid_key("crowdstrike") && valid_key("my_edr2"));
        assert!(!valid_key("CrowdStrike") && !valid_key("x") && !valid_key("a-b"));
        assert!(valid_operation("host.contain") && valid_operation("pull_request.create"));
        assert!(!valid_operation("contain") && !valid_operation("Host.contain"));
        assert!(!valid_operation("a.b.c") && !valid_operation(".x"));
    }

    #[test]
    fn a_definition_without_operations_is_refused() -> anyhow::Result<()> {
        let catalog = ConnectorCatalog::load()?;
        let mut def = catalog
            .get("jira")
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("jira"))?;
        def.operations.clear();
        assert_eq!(
            def.validate().map_err(|e| e.loc),
            Err(vec!["operations".to_owned()])
        );
        Ok(())
    }
}
