//! The built-in framework catalog: one TOML file per framework under `host/catalog/`, embedded
//! in the binary and validated at startup against the built-in plugin's `describe()` output. An
//! invalid catalog stops the server from starting (a typo must never silently drop a control).

use crate::plugins::description::PluginDescription;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use utoipa::ToSchema;

/// The embedded catalog sources, in display order.
const SOURCES: &[(&str, &str)] = &[
    ("soc2.toml", include_str!("../../catalog/soc2.toml")),
    ("iso27001.toml", include_str!("../../catalog/iso27001.toml")),
    ("nist_csf.toml", include_str!("../../catalog/nist_csf.toml")),
    ("pcidss.toml", include_str!("../../catalog/pcidss.toml")),
    ("hipaa.toml", include_str!("../../catalog/hipaa.toml")),
    ("owasp.toml", include_str!("../../catalog/owasp.toml")),
];

/// Controls that cannot be automated: they pass on fresh, verified, linked evidence.
pub const EVIDENCE_CHECK_TYPE: &str = "evidence";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub key: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// Minimum plan (`enterprise` for HIPAA); none means every plan.
    #[serde(default)]
    pub requires_plan: Option<String>,
    /// Framework-level badge: required | recommended | optional.
    pub recommendation: String,
    pub controls: Vec<Control>,
    /// Org-defined (seed 002 "Custom Frameworks"); never set in the embedded catalog.
    #[serde(skip)]
    pub custom: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub check_type: String,
    pub pass_condition: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Baseline badge: required | recommended | optional.
    pub recommendation: String,
    pub recommendation_reason: String,
    /// Cross-framework mappings as `framework_key:control_id`.
    #[serde(default)]
    pub maps_to: Vec<String>,
}

/// The validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    frameworks: Vec<Framework>,
}

const BADGES: &[&str] = &["required", "recommended", "optional"];

impl Catalog {
    /// Parses and validates the embedded catalog.
    pub fn load(builtin: &PluginDescription) -> anyhow::Result<Self> {
        let mut frameworks = Vec::new();
        for (file, src) in SOURCES {
            let fw: Framework =
                toml::from_str(src).map_err(|e| anyhow::anyhow!("host/catalog/{file}: {e}"))?;
            frameworks.push(fw);
        }
        let catalog = Catalog { frameworks };
        let problems = catalog.problems(builtin);
        anyhow::ensure!(
            problems.is_empty(),
            "the framework catalog is invalid:\n  {}",
            problems.join("\n  ")
        );
        Ok(catalog)
    }

    /// Everything wrong with the catalog (empty when valid).
    fn problems(&self, builtin: &PluginDescription) -> Vec<String> {
        let mut problems = Vec::new();
        let mut keys = HashSet::new();
        for fw in &self.frameworks {
            if !keys.insert(fw.key.as_str()) {
                problems.push(format!("duplicate framework key {}", fw.key));
            }
            if !BADGES.contains(&fw.recommendation.as_str()) {
                problems.push(format!(
                    "{}: bad recommendation {}",
                    fw.key, fw.recommendation
                ));
            }
            if let Some(plan) = &fw.requires_plan
                && plan.parse::<crate::domain::Plan>().is_err()
            {
                problems.push(format!("{}: unknown plan {plan}", fw.key));
            }
            let mut ids = HashSet::new();
            for c in &fw.controls {
                let at = format!("{}:{}", fw.key, c.id);
                if !ids.insert(c.id.as_str()) {
                    problems.push(format!("{at}: duplicate control id"));
                }
                if !BADGES.contains(&c.recommendation.as_str()) {
                    problems.push(format!("{at}: bad recommendation {}", c.recommendation));
                }
                if c.check_type == EVIDENCE_CHECK_TYPE {
                    if c.pass_condition != "evidence_linked" {
                        problems.push(format!(
                            "{at}: evidence controls use pass_condition evidence_linked"
                        ));
                    }
                } else {
                    match builtin.check_type(&c.check_type) {
                        None => problems.push(format!("{at}: unknown check_type {}", c.check_type)),
                        Some(spec) if !spec.accepts(&c.pass_condition) => problems.push(format!(
                            "{at}: check_type {} does not accept pass_condition {}",
                            c.check_type, c.pass_condition
                        )),
                        Some(_) => {}
                    }
                }
                for target in &c.maps_to {
                    if self.resolve_ref(target).is_none() {
                        problems.push(format!("{at}: maps_to unknown control {target}"));
                    }
                }
            }
        }
        problems
    }

    fn resolve_ref(&self, reference: &str) -> Option<(&Framework, &Control)> {
        let (key, id) = reference.split_once(':')?;
        let fw = self.framework(key)?;
        Some((fw, fw.control(id)?))
    }

    pub fn frameworks(&self) -> &[Framework] {
        &self.frameworks
    }

    pub fn framework(&self, key: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.key == key)
    }

    /// Every control with this id across frameworks (ids like `A01` are unique per framework).
    pub fn controls_with_id<'a>(
        &'a self,
        id: &'a str,
    ) -> impl Iterator<Item = (&'a Framework, &'a Control)> {
        self.frameworks
            .iter()
            .filter_map(move |f| f.control(id).map(|c| (f, c)))
    }
}

impl Framework {
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}
