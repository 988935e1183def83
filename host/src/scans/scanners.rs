//! The scanner table (`host/catalog/scanners.toml`): which kinds of problems each tool detects
//! when it runs (a scan's **coverage**), and the rule-level classification that decides a
//! finding's category and severity before tags, CWEs and the tool family do. Loaded once and
//! validated: a unit test and `grc serve`'s startup ([`Scanners::load`]) refuse an invalid
//! table, so [`Scanners::get`], which the mapping calls, never meets one in a running server.

use crate::domain::finding::{Category, Severity};
use regex::Regex;
use serde::Deserialize;
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::OnceLock,
};

const SOURCE: &str = include_str!("../../catalog/scanners.toml");

/// What the table knows about one tool.
#[derive(Debug, Clone, Default)]
pub struct Tool {
    pub detects: BTreeSet<Category>,
    pub rules_decide: bool,
    pub category: Option<Category>,
    pub default_severity: Option<Severity>,
    pub suggest_for: BTreeSet<Category>,
}

/// One classification rule; the first that matches a finding's rule decides what it sets.
#[derive(Debug)]
struct Rule {
    tool: Option<String>,
    id: Option<Regex>,
    name_contains: Vec<String>,
    category: Option<Category>,
    severity: Option<Severity>,
    severity_from: Option<String>,
    cwe: Vec<u32>,
}

/// What the rules say about one scanner rule (empty when none matches).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleClass {
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub cwe: Vec<u32>,
}

#[derive(Debug)]
pub struct Scanners {
    tools: BTreeMap<String, Tool>,
    rules: Vec<Rule>,
    severities: BTreeMap<String, BTreeMap<u32, Severity>>,
    needs: BTreeMap<String, BTreeSet<Category>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    needs: BTreeMap<String, BTreeSet<Category>>,
    #[serde(default)]
    tools: BTreeMap<String, RawTool>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    severities: BTreeMap<String, BTreeMap<String, Severity>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    detects: Vec<Category>,
    #[serde(default)]
    rules_decide: bool,
    category: Option<Category>,
    default_severity: Option<Severity>,
    #[serde(default)]
    suggest_for: Vec<Category>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    tool: Option<String>,
    id: Option<String>,
    #[serde(default)]
    name_contains: Vec<String>,
    category: Option<Category>,
    severity: Option<Severity>,
    severity_from: Option<String>,
    #[serde(default)]
    cwe: Vec<u32>,
}

impl Scanners {
    /// Parses and validates a table.
    pub fn parse(source: &str) -> anyhow::Result<Scanners> {
        let raw: RawTable = toml::from_str(source)?;
        let mut severities = BTreeMap::new();
        for (name, table) in raw.severities {
            let mut by_number = BTreeMap::new();
            for (number, severity) in table {
                let number: u32 = number.parse().map_err(|_| {
                    anyhow::anyhow!("severities.{name}: {number:?} is not a number")
                })?;
                by_number.insert(number, severity);
            }
            severities.insert(name, by_number);
        }
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let at = format!("rules[{i}]");
            if r.id.is_none() && r.name_contains.is_empty() {
                anyhow::bail!("{at}: needs `id` or `name_contains`");
            }
            if r.category.is_none() && r.severity.is_none() && r.severity_from.is_none() {
                anyhow::bail!(
                    "{at}: sets nothing (give `category`, `severity` or `severity_from`)"
                );
            }
            if let Some(table) = &r.severity_from
                && !severities.contains_key(table)
            {
                anyhow::bail!("{at}: severity_from names unknown table {table:?}");
            }
            if let Some(tool) = &r.tool
                && !raw.tools.contains_key(tool)
            {
                anyhow::bail!("{at}: unknown tool {tool:?}");
            }
            let id =
                r.id.as_deref()
                    .map(Regex::new)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("{at}: bad id regex: {e}"))?;
            rules.push(Rule {
                tool: r.tool,
                id,
                name_contains: r.name_contains.iter().map(|s| s.to_lowercase()).collect(),
                category: r.category,
                severity: r.severity,
                severity_from: r.severity_from,
                cwe: r.cwe,
            });
        }
        let tools = raw
            .tools
            .into_iter()
            .map(|(name, t)| {
                let tool = Tool {
                    detects: t.detects.into_iter().collect(),
                    rules_decide: t.rules_decide,
                    category: t.category,
                    default_severity: t.default_severity,
                    suggest_for: t.suggest_for.into_iter().collect(),
                };
                (name, tool)
            })
            .collect();
        Ok(Scanners {
            tools,
            rules,
            severities,
            needs: raw.needs,
        })
    }

    /// The embedded table, validated.
    pub fn load() -> anyhow::Result<&'static Scanners> {
        static TABLE: OnceLock<Result<Scanners, String>> = OnceLock::new();
        TABLE
            .get_or_init(|| Scanners::parse(SOURCE).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("host/catalog/scanners.toml: {e}"))
    }

    /// The embedded table. It is validated by a unit test and by `grc serve` at startup, so a
    /// broken table never ships; should it be broken anyway, an empty table is used.
    pub fn get() -> &'static Scanners {
        static EMPTY: OnceLock<Scanners> = OnceLock::new();
        Scanners::load().unwrap_or_else(|_| {
            EMPTY.get_or_init(|| Scanners {
                tools: BTreeMap::new(),
                rules: Vec::new(),
                severities: BTreeMap::new(),
                needs: BTreeMap::new(),
            })
        })
    }

    /// The kinds of scanner a check_type needs to have run (empty: none).
    pub fn needs(&self, check_type: &str) -> Option<&BTreeSet<Category>> {
        self.needs.get(check_type).filter(|n| !n.is_empty())
    }

    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.get(name)
    }

    /// Every known tool that detects `category` (or is suggested for it), in name order: what a
    /// reason tells the user to run ("add trivy, osv-scanner, …").
    pub fn tools_detecting(&self, category: Category) -> Vec<&str> {
        self.tools
            .iter()
            .filter(|(_, t)| t.detects.contains(&category) || t.suggest_for.contains(&category))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// What the first matching rule says about `rule_id` (with its name or short description
    /// `rule_name`) of `tool`.
    pub fn classify(&self, tool: &str, rule_id: &str, rule_name: &str) -> RuleClass {
        let name = rule_name.to_lowercase();
        let Some(rule) = self.rules.iter().find(|r| {
            r.tool.as_deref().is_none_or(|t| t == tool)
                && (r.id.as_ref().is_some_and(|re| re.is_match(rule_id))
                    || r.name_contains.iter().any(|n| name.contains(n.as_str())))
        }) else {
            return RuleClass::default();
        };
        let looked_up = rule.severity_from.as_ref().and_then(|table| {
            let digits: String = rule_id.chars().filter(char::is_ascii_digit).collect();
            self.severities
                .get(table)?
                .get(&digits.parse().ok()?)
                .copied()
        });
        RuleClass {
            category: rule.category,
            severity: looked_up.or(rule.severity),
            cwe: rule.cwe.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_is_valid() {
        let table = Scanners::load().expect("valid scanners.toml");
        assert!(table.tool("checkov").is_some_and(|t| {
            t.detects.contains(&Category::Iac) && t.detects.contains(&Category::Secret)
        }));
        assert_eq!(
            table.tools_detecting(Category::Sca),
            [
                "dependency-check",
                "grype",
                "npm-audit",
                "osv-scanner",
                "pip-audit",
                "snyk",
                "trivy"
            ]
        );
    }

    #[test]
    fn rules_decide_before_the_tool() {
        let t = Scanners::get();
        let secret = t.classify("checkov", "CKV_SECRET_2", "AWS Access Key");
        assert_eq!(secret.category, Some(Category::Secret));
        assert_eq!(secret.severity, Some(Severity::Critical));
        let ssh = t.classify(
            "checkov",
            "CKV_AWS_24",
            "Ensure no security groups allow ingress from 0.0.0.0:0 to port 22",
        );
        assert_eq!((ssh.category, ssh.severity), (None, Some(Severity::High)));
        let health = t.classify(
            "checkov",
            "CKV_DOCKER_2",
            "Ensure that HEALTHCHECK instructions have been added to container images",
        );
        assert_eq!(health.severity, Some(Severity::Low));
        // ruff: S608 is bandit's B608 (medium); E501 is quality, low; SIM is not S.
        let sql = t.classify("ruff", "S608", "");
        assert_eq!(
            (sql.category, sql.severity),
            (Some(Category::Sast), Some(Severity::Medium))
        );
        assert_eq!(
            t.classify("ruff", "S324", "").severity,
            Some(Severity::High)
        );
        let pw = t.classify("ruff", "S105", "");
        assert_eq!((pw.category, pw.cwe), (Some(Category::Secret), vec![259]));
        let style = t.classify("ruff", "E501", "line-too-long");
        assert_eq!(
            (style.category, style.severity),
            (Some(Category::Quality), Some(Severity::Low))
        );
        assert_eq!(
            t.classify("ruff", "SIM105", "").category,
            Some(Category::Quality)
        );
        // Rules are per tool: bandit's B105 is not ruff's S105.
        assert_eq!(t.classify("bandit", "B105", ""), RuleClass::default());
    }

    #[test]
    fn invalid_tables_are_refused() {
        for (bad, why) in [
            ("[tools.x]\ndetects = [\"nope\"]", "unknown variant"),
            ("[[rules]]\ncategory = \"sast\"", "needs `id`"),
            ("[[rules]]\nid = \"(\"\ncategory = \"sast\"", "bad id regex"),
            (
                "[[rules]]\nid = \"x\"\ntool = \"y\"\ncategory = \"sast\"",
                "unknown tool",
            ),
            ("[[rules]]\nid = \"x\"", "sets nothing"),
        ] {
            let err = Scanners::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
