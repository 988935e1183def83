//! SARIF 2.1.0 → normalized findings. Types come from `serde-sarif`; this module holds only
//! the mapping rules, which `docs/decisions/0009-sarif-mapping.md` documents:
//!
//! * every run counts (multi-run logs from several tools are one scan);
//! * results with `kind` other than `fail`, accepted suppressions, or `baselineState: absent`
//!   are not findings;
//! * category: tool family first, then rule id / tags / CWE, else `sast`;
//! * severity: `security-severity` (CVSS), then a textual severity property, then `level`.

use super::{
    Coverage, MAX_MESSAGE_BYTES, ParseError, ParsedScan, ScanFormat, finding_id,
    scanners::{RuleClass, Scanners},
    truncate,
};
use crate::domain::finding::{Category, Finding, QualityGate, Severity};
use chrono::{DateTime, Utc};
use serde_json::Value;
use serde_sarif::sarif::{
    self, PropertyBag, ReportingDescriptor, ResultKind, ResultLevel, Run, Sarif,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// CWEs that mean "a credential is in the code".
const SECRET_CWES: &[u32] = &[259, 321, 798];
const SCA_RULE_PREFIXES: &[&str] = &["CVE-", "GHSA-", "PYSEC-", "OSV-", "RUSTSEC-", "GO-"];
const SCA_TAGS: &[&str] = &["vulnerability", "dependency", "sca", "supply-chain"];
const SECRET_TAGS: &[&str] = &["secret", "secrets", "credentials"];
const IAC_TAGS: &[&str] = &[
    "iac",
    "misconfiguration",
    "terraform",
    "dockerfile",
    "kubernetes",
    "cloudformation",
];
const QUALITY_TAGS: &[&str] = &[
    "quality",
    "maintainability",
    "best-practice",
    "correctness",
    "style",
];
/// Property names that carry a textual severity (bandit: `issue_severity`).
const SEVERITY_PROPERTIES: &[&str] = &["severity", "issue_severity", "problem.severity"];
/// Extra string properties kept per finding, and their longest value.
const MAX_PROPERTIES: usize = 32;
const MAX_PROPERTY_BYTES: usize = 256;

pub fn parse(body: &[u8]) -> Result<ParsedScan, ParseError> {
    let log: Sarif = super::from_slice(body)?;
    if log.version.as_str() != Some("2.1.0") {
        return Err(ParseError::at(
            vec!["body".into(), "version".into()],
            format!(
                "unsupported SARIF version {}; expected \"2.1.0\"",
                log.version
            ),
        ));
    }
    let mut findings = Vec::new();
    let mut tools = BTreeSet::new();
    let mut coverage = Coverage::new();
    let mut commit = None;
    let mut branch = None;
    let mut completed_at: Option<DateTime<Utc>> = None;
    for (run_index, run) in log.runs.iter().enumerate() {
        let tool = tool_name(&run.tool.driver.name);
        tools.insert(tool.clone());
        if let Some(vcs) = run.version_control_provenance.iter().flatten().next() {
            commit = commit.or_else(|| vcs.revision_id.clone());
            branch = branch.or_else(|| vcs.branch.clone());
        }
        for (i, invocation) in run.invocations.iter().flatten().enumerate() {
            let Some(end) = &invocation.end_time_utc else {
                continue;
            };
            let end = DateTime::parse_from_rfc3339(end).map_err(|e| {
                ParseError::at(
                    loc(&[
                        "runs".into(),
                        run_index.into(),
                        "invocations".into(),
                        i.into(),
                        "endTimeUtc".into(),
                    ]),
                    format!("not an RFC 3339 time: {e}"),
                )
            })?;
            let end = end.with_timezone(&Utc);
            completed_at = Some(completed_at.map_or(end, |c| c.max(end)));
        }
        let rules = RuleIndex::new(run);
        let detects = coverage.entry(tool.clone()).or_default();
        detects.extend(declared_coverage(&tool, run));
        for result in run.results.iter().flatten() {
            if !is_finding(result) {
                continue;
            }
            let rule = rules.lookup(result);
            let id = finding_id(findings.len());
            let finding = to_finding(id, &tool, run, result, rule);
            detects.insert(finding.category);
            findings.push(finding);
        }
    }
    Ok(ParsedScan {
        format: ScanFormat::Sarif,
        tools: tools.into_iter().collect(),
        commit,
        branch,
        completed_at,
        pr_reviews: None,
        quality_gate: QualityGate::Unknown,
        findings,
        coverage,
    })
}

/// What a run's tool detects when it runs: the scanner table's `detects`, plus, for tools
/// whose rule set decides (semgrep, ruff) and for tools the table does not know, the
/// categories of every rule the run declares (a rule that found nothing still looked).
fn declared_coverage(tool: &str, run: &Run) -> BTreeSet<Category> {
    let known = Scanners::get().tool(tool);
    let mut detects: BTreeSet<Category> = known.map(|t| t.detects.clone()).unwrap_or_default();
    if known.is_none_or(|t| t.rules_decide) {
        let driver = run.tool.driver.rules.iter().flatten();
        let extensions = run.tool.extensions.iter().flatten();
        for rule in driver.chain(extensions.flat_map(|e| e.rules.iter().flatten())) {
            detects.insert(RuleFacts::of(tool, &rule.id, Some(rule), None).category());
        }
    }
    detects
}

fn loc(rest: &[Value]) -> Vec<Value> {
    std::iter::once(Value::from("body"))
        .chain(rest.iter().cloned())
        .collect()
}

/// `Semgrep OSS` → `semgrep`, `Bandit` → `bandit`, `Trivy` → `trivy`.
fn tool_name(driver: &str) -> String {
    driver
        .split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_lowercase()
}

/// `kind` defaults to `fail`; suppressed (unless the suppression was rejected) and fixed
/// (`baselineState: absent`) results are not open findings.
fn is_finding(result: &sarif::Result) -> bool {
    let failing = result
        .kind
        .as_ref()
        .is_none_or(|k| matches!(k, ResultKind::Fail));
    let suppressed = result.suppressions.iter().flatten().any(|s| {
        s.status
            .as_ref()
            .and_then(Value::as_str)
            .is_none_or(|status| status != "rejected")
    });
    let absent = result
        .baseline_state
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(|b| b == "absent");
    failing && !suppressed && !absent
}

/// The run's rules (driver and extensions), by index and by id.
struct RuleIndex<'r> {
    driver: &'r [ReportingDescriptor],
    by_id: HashMap<&'r str, &'r ReportingDescriptor>,
}

impl<'r> RuleIndex<'r> {
    fn new(run: &'r Run) -> Self {
        let driver = run.tool.driver.rules.as_deref().unwrap_or(&[]);
        let extensions = run.tool.extensions.iter().flatten();
        let by_id = driver
            .iter()
            .chain(extensions.flat_map(|e| e.rules.iter().flatten()))
            .map(|r| (r.id.as_str(), r))
            .collect();
        RuleIndex { driver, by_id }
    }

    fn lookup(&self, result: &sarif::Result) -> Option<&'r ReportingDescriptor> {
        let by_index = result
            .rule_index
            .or_else(|| result.rule.as_ref().and_then(|r| r.index))
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.driver.get(i));
        by_index.or_else(|| {
            let id = result
                .rule_id
                .as_deref()
                .or_else(|| result.rule.as_ref().and_then(|r| r.id.as_deref()))?;
            self.by_id.get(id).copied()
        })
    }
}

fn to_finding(
    id: String,
    tool: &str,
    run: &Run,
    result: &sarif::Result,
    rule: Option<&ReportingDescriptor>,
) -> Finding {
    let rule_id = result
        .rule_id
        .clone()
        .or_else(|| rule.map(|r| r.id.clone()))
        .unwrap_or_else(|| "unknown".into());
    let result_props = result.properties.as_ref();
    let facts = RuleFacts::of(tool, &rule_id, rule, result_props);
    let severity = severity(result, rule, [result_props, facts.rule_props], &facts);
    let category = facts.category();
    let (file, line) = location(run, result);
    let message = result
        .message
        .text
        .clone()
        .or_else(|| result.message.markdown.clone())
        .or_else(|| rule.and_then(|r| r.short_description.as_ref().map(|d| d.text.clone())))
        .unwrap_or_else(|| rule_id.clone());
    Finding {
        id,
        category,
        severity,
        cwe_ids: facts.cwe_ids,
        tags: facts.tags,
        rule_id,
        tool: tool.to_owned(),
        file,
        line,
        message: truncate(message, MAX_MESSAGE_BYTES),
        fingerprint: fingerprint(result),
        properties: scalar_properties(result_props),
    }
}

/// What is known about a rule (and, for a result, the result's own properties): the input of
/// the category and severity rules.
struct RuleFacts<'a> {
    tool: &'a str,
    rule_id: &'a str,
    rule_props: Option<&'a PropertyBag>,
    tags: Vec<String>,
    cwe_ids: Vec<u32>,
    class: RuleClass,
}

impl<'a> RuleFacts<'a> {
    fn of(
        tool: &'a str,
        rule_id: &'a str,
        rule: Option<&'a ReportingDescriptor>,
        result_props: Option<&'a PropertyBag>,
    ) -> Self {
        let rule_props = rule.and_then(|r| r.properties.as_ref());
        let tags: Vec<String> = [rule_props, result_props]
            .into_iter()
            .flatten()
            .flat_map(|p| p.tags.iter().flatten().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let name = rule
            .map(|r| {
                let short = r.short_description.as_ref().map(|d| d.text.as_str());
                format!(
                    "{} {}",
                    r.name.as_deref().unwrap_or(""),
                    short.unwrap_or("")
                )
            })
            .unwrap_or_default();
        let class = Scanners::get().classify(tool, rule_id, &name);
        let mut cwe_ids = cwes(&tags, [rule_props, result_props], rule);
        for cwe in &class.cwe {
            if !cwe_ids.contains(cwe) {
                cwe_ids.push(*cwe);
            }
        }
        RuleFacts {
            tool,
            rule_id,
            rule_props,
            tags,
            cwe_ids,
            class,
        }
    }

    /// First match wins: the scanner table's rules (rule-id namespaces such as checkov's
    /// `CKV_SECRET_*` or ruff's `S` rules); a secret or dependency scanner's own category; SCA
    /// rule ids and tags; secret tags and CWEs; IaC tags; quality tags without `security`; the
    /// tool's category; else `sast`.
    fn category(&self) -> Category {
        if let Some(category) = self.class.category {
            return category;
        }
        let has_tag = |set: &[&str]| {
            self.tags
                .iter()
                .any(|t| set.iter().any(|s| t.eq_ignore_ascii_case(s)))
        };
        let tool = Scanners::get().tool(self.tool);
        if let Some(fixed @ (Category::Secret | Category::Sca)) = tool.and_then(|t| t.category) {
            return fixed;
        }
        if SCA_RULE_PREFIXES
            .iter()
            .any(|p| self.rule_id.starts_with(p))
            || has_tag(SCA_TAGS)
        {
            return Category::Sca;
        }
        if has_tag(SECRET_TAGS) || self.cwe_ids.iter().any(|c| SECRET_CWES.contains(c)) {
            return Category::Secret;
        }
        if has_tag(IAC_TAGS) {
            return Category::Iac;
        }
        if has_tag(QUALITY_TAGS) && !has_tag(&["security"]) {
            return Category::Quality;
        }
        tool.and_then(|t| t.category).unwrap_or(Category::Sast)
    }
}

/// `security-severity` (CVSS: ≥9 critical, ≥7 high, ≥4 medium, >0 low, 0 info), then the
/// scanner table's rule, then a textual severity property, then the tool's calibrated default
/// (for tools that mark every result alike), then the result's `level` or the rule's default
/// level (SARIF's default is `warning`): error → high, warning → medium, note → low, none → info.
fn severity(
    result: &sarif::Result,
    rule: Option<&ReportingDescriptor>,
    props: [Option<&PropertyBag>; 2],
    facts: &RuleFacts,
) -> Severity {
    let cvss = props.iter().flatten().find_map(|p| {
        let v = p.additional_properties.get("security-severity")?;
        v.as_f64().or_else(|| v.as_str()?.trim().parse().ok())
    });
    if let Some(score) = cvss {
        return match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        };
    }
    if let Some(severity) = facts.class.severity {
        return severity;
    }
    let textual = props.iter().flatten().find_map(|p| {
        SEVERITY_PROPERTIES
            .iter()
            .find_map(|k| p.additional_properties.get(*k)?.as_str())
            .and_then(textual_severity)
    });
    if let Some(severity) = textual {
        return severity;
    }
    if let Some(calibrated) = Scanners::get()
        .tool(facts.tool)
        .and_then(|t| t.default_severity)
    {
        return calibrated;
    }
    let level = result.level.or_else(|| {
        let level = rule?.default_configuration.as_ref()?.level.as_ref()?;
        serde_json::from_value(level.clone()).ok()
    });
    match level.unwrap_or(ResultLevel::Warning) {
        ResultLevel::Error => Severity::High,
        ResultLevel::Warning => Severity::Medium,
        ResultLevel::Note => Severity::Low,
        ResultLevel::None => Severity::Info,
    }
}

fn textual_severity(s: &str) -> Option<Severity> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "critical" | "blocker" => Severity::Critical,
        "high" | "error" | "major" => Severity::High,
        "medium" | "moderate" | "warning" => Severity::Medium,
        "low" | "note" | "minor" => Severity::Low,
        "info" | "informational" | "none" => Severity::Info,
        _ => return None,
    })
}

/// CWE ids from tags (`CWE-327: …`, `external/cwe/cwe-330`), `cwe`/`cwes` properties and rule
/// relationships to a CWE taxonomy.
fn cwes(
    tags: &[String],
    props: [Option<&PropertyBag>; 2],
    rule: Option<&ReportingDescriptor>,
) -> Vec<u32> {
    let mut texts: Vec<String> = tags.to_vec();
    for p in props.into_iter().flatten() {
        for key in ["cwe", "cwes", "cwe_ids"] {
            match p.additional_properties.get(key) {
                Some(Value::String(s)) => texts.push(s.clone()),
                Some(Value::Array(items)) => texts.extend(items.iter().map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => format!("CWE-{other}"),
                })),
                Some(Value::Number(n)) => texts.push(format!("CWE-{n}")),
                _ => {}
            }
        }
    }
    if let Some(rule) = rule {
        texts.extend(
            rule.relationships
                .iter()
                .flatten()
                .filter_map(|r| r.target.id.clone()),
        );
    }
    let ids: BTreeSet<u32> = texts.iter().flat_map(|t| cwe_numbers(t)).collect();
    ids.into_iter().collect()
}

/// Every number following `cwe-` (any case) in `text`.
fn cwe_numbers(text: &str) -> Vec<u32> {
    let lower = text.to_ascii_lowercase();
    lower
        .match_indices("cwe-")
        .filter_map(|(at, _)| {
            let digits: String = lower[at + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

fn location(run: &Run, result: &sarif::Result) -> (Option<String>, Option<u32>) {
    let Some(physical) = result
        .locations
        .iter()
        .flatten()
        .find_map(|l| l.physical_location.as_ref())
    else {
        return (None, None);
    };
    let file = physical.artifact_location.as_ref().and_then(|a| {
        a.uri.clone().or_else(|| {
            let index = usize::try_from(a.index?).ok()?;
            run.artifacts
                .as_ref()?
                .get(index)?
                .location
                .as_ref()?
                .uri
                .clone()
        })
    });
    let file = file.map(|f| f.strip_prefix("file://").map(str::to_owned).unwrap_or(f));
    let line = physical
        .region
        .as_ref()
        .and_then(|r| r.start_line)
        .and_then(|l| u32::try_from(l).ok());
    (file, line)
}

/// A stable fingerprint when the tool supplied a real one (`partialFingerprints` first).
fn fingerprint(result: &sarif::Result) -> Option<String> {
    [&result.partial_fingerprints, &result.fingerprints]
        .into_iter()
        .flatten()
        .flat_map(|m| m.values())
        .find(|v| !v.trim().is_empty() && v.as_str() != "requires login")
        .cloned()
}

/// The result's scalar properties as strings (bounded), e.g. bandit's `issue_confidence`.
fn scalar_properties(props: Option<&PropertyBag>) -> BTreeMap<String, String> {
    props
        .map(|p| {
            p.additional_properties
                .iter()
                .filter_map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), truncate(text, MAX_PROPERTY_BYTES)))
                })
                .take(MAX_PROPERTIES)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> ParsedScan {
        parse(s.as_bytes()).expect("valid SARIF")
    }

    #[test]
    fn multi_run_trivy_and_gitleaks_map_by_tool_rule_and_cvss() {
        let scan = parse_str(
            r#"{"version":"2.1.0","runs":[
              {"tool":{"driver":{"name":"Trivy","rules":[
                 {"id":"CVE-2023-1234","properties":{"security-severity":"9.8","tags":["vulnerability","CRITICAL"]}},
                 {"id":"DS002","properties":{"security-severity":"7.5","tags":["misconfiguration","dockerfile"]}}]}},
               "results":[
                 {"ruleId":"CVE-2023-1234","ruleIndex":0,"message":{"text":"lodash vulnerable"},
                  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"package-lock.json"}}}]},
                 {"ruleId":"DS002","ruleIndex":1,"level":"error","message":{"text":"root user"},
                  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"Dockerfile"},"region":{"startLine":1}}}]}]},
              {"tool":{"driver":{"name":"gitleaks"}},
               "versionControlProvenance":[{"repositoryUri":"https://example.com/r.git","revisionId":"abc123","branch":"main"}],
               "invocations":[{"executionSuccessful":true,"endTimeUtc":"2026-04-26T10:00:00Z"}],
               "results":[{"ruleId":"aws-access-token","message":{"text":"AWS key"},"partialFingerprints":{"commitSha":"abc"}},
                          {"ruleId":"generic","kind":"pass","message":{"text":"not a finding"}},
                          {"ruleId":"old","message":{"text":"suppressed"},"suppressions":[{"kind":"inSource"}]}]}]}"#,
        );
        assert_eq!(scan.tools, vec!["gitleaks", "trivy"]);
        assert_eq!(scan.commit.as_deref(), Some("abc123"));
        assert_eq!(scan.branch.as_deref(), Some("main"));
        assert_eq!(
            scan.completed_at.map(|t| t.to_rfc3339()),
            Some("2026-04-26T10:00:00+00:00".into())
        );
        let summary: Vec<_> = scan
            .findings
            .iter()
            .map(|f| (f.id.as_str(), f.category, f.severity, f.file.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "f1",
                    Category::Sca,
                    Severity::Critical,
                    Some("package-lock.json")
                ),
                ("f2", Category::Iac, Severity::High, Some("Dockerfile")),
                ("f3", Category::Secret, Severity::Medium, None),
            ]
        );
        assert_eq!(scan.findings[2].fingerprint.as_deref(), Some("abc"));
    }

    #[test]
    fn textual_severity_cwe_tags_and_levels() {
        let scan = parse_str(
            r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Bandit","rules":[
                {"id":"B303","properties":{"tags":["security","external/cwe/cwe-327"]}},
                {"id":"B105","properties":{"tags":["security","external/cwe/cwe-259"]}},
                {"id":"Q1","defaultConfiguration":{"level":"note"},"properties":{"tags":["maintainability"]}}]}},
              "results":[
                {"ruleId":"B303","ruleIndex":0,"level":"error","message":{"text":"md5"},"properties":{"issue_severity":"MEDIUM","issue_confidence":"HIGH"}},
                {"ruleId":"B105","ruleIndex":1,"message":{"text":"password"}},
                {"ruleId":"Q1","message":{"text":"long function"}}]}]}"#,
        );
        let f = &scan.findings;
        assert_eq!(
            (f[0].category, f[0].severity),
            (Category::Sast, Severity::Medium)
        );
        assert_eq!(f[0].cwe_ids, vec![327]);
        assert_eq!(f[0].properties["issue_confidence"], "HIGH");
        assert_eq!(
            (f[1].category, f[1].severity),
            (Category::Secret, Severity::Medium)
        );
        assert_eq!(
            (f[2].category, f[2].severity),
            (Category::Quality, Severity::Low)
        );
    }

    #[test]
    fn cwe_numbers_are_found_in_any_notation() {
        assert_eq!(cwe_numbers("CWE-327: Broken crypto"), vec![327]);
        assert_eq!(cwe_numbers("external/cwe/cwe-78"), vec![78]);
        assert_eq!(cwe_numbers("no cwe here"), Vec::<u32>::new());
    }

    #[test]
    fn wrong_version_and_bad_shape_name_the_path() {
        let err = parse(br#"{"version":"2.0.0","runs":[]}"#).expect_err("wrong version");
        assert_eq!(err.loc, vec![Value::from("body"), "version".into()]);
        let err =
            parse(br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":1}]}]}"#)
                .expect_err("ruleId is a string");
        assert_eq!(
            err.loc,
            vec![
                Value::from("body"),
                "runs".into(),
                0.into(),
                "results".into(),
                0.into(),
                "ruleId".into()
            ]
        );
    }

    #[test]
    fn rules_decide_category_and_severity_before_the_tool() {
        let scan = parse_str(
            r#"{"version": "2.1.0", "runs": [
              {"tool": {"driver": {"name": "Checkov", "rules": [
                  {"id": "CKV_SECRET_2", "shortDescription": {"text": "AWS Access Key"}},
                  {"id": "CKV_DOCKER_2", "shortDescription": {"text": "Ensure that HEALTHCHECK instructions have been added"}},
                  {"id": "CKV_AWS_24", "shortDescription": {"text": "Ensure no security groups allow ingress from 0.0.0.0:0 to port 22"}},
                  {"id": "CKV_AWS_293", "shortDescription": {"text": "Ensure that AWS database instances have deletion protection enabled"}},
                  {"id": "CKV_AWS_999", "shortDescription": {"text": "Something new"}}]}},
               "results": [
                  {"ruleId": "CKV_SECRET_2", "level": "error", "message": {"text": "key"}},
                  {"ruleId": "CKV_DOCKER_2", "level": "error", "message": {"text": "hc"}},
                  {"ruleId": "CKV_AWS_24", "level": "error", "message": {"text": "ssh"}},
                  {"ruleId": "CKV_AWS_999", "level": "error", "message": {"text": "new"}}]},
              {"tool": {"driver": {"name": "ruff", "rules": [
                  {"id": "E501", "name": "line-too-long"}, {"id": "S608"}]}},
               "results": [
                  {"ruleId": "E501", "level": "error", "message": {"text": "long"}},
                  {"ruleId": "S608", "level": "error", "message": {"text": "sql"}}]},
              {"tool": {"driver": {"name": "Semgrep OSS", "rules": [
                  {"id": "python.crypto.md5", "properties": {"tags": ["CWE-327: Broken Crypto"]}},
                  {"id": "generic.secrets.stripe", "properties": {"tags": ["CWE-798: Hard-coded Credentials"]}}]}},
               "results": []}
            ]}"#,
        );
        let got: Vec<(&str, Category, Severity)> = scan
            .findings
            .iter()
            .map(|f| (f.rule_id.as_str(), f.category, f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("CKV_SECRET_2", Category::Secret, Severity::Critical),
                ("CKV_DOCKER_2", Category::Iac, Severity::Low),
                ("CKV_AWS_24", Category::Iac, Severity::High),
                // checkov marks everything `error`: an unknown rule is medium, not high.
                ("CKV_AWS_999", Category::Iac, Severity::Medium),
                ("E501", Category::Quality, Severity::Low),
                ("S608", Category::Sast, Severity::Medium),
            ]
        );
        assert!(scan.findings[0].cwe_ids.contains(&798));
        // Coverage: checkov's table entry; ruff's table entry plus its rules' categories;
        // semgrep found nothing, but its rules say it looked for crypto and secret problems.
        let cov = |tool: &str| scan.coverage[tool].iter().copied().collect::<Vec<_>>();
        assert_eq!(cov("checkov"), [Category::Secret, Category::Iac]);
        assert_eq!(cov("ruff"), [Category::Sast, Category::Quality]);
        assert_eq!(cov("semgrep"), [Category::Secret, Category::Sast]);
    }
}
