//! Builders for unit tests.

use grc_plugin_sdk::prelude::*;

/// The `scan.now` of [`context`].
pub const NOW: i64 = 1_700_000_000;

pub fn finding(id: &str, category: Category, severity: Severity) -> Finding {
    Finding {
        id: id.into(),
        rule_id: format!("rule.{id}"),
        tool: "semgrep".into(),
        category,
        severity,
        cwe_ids: vec![],
        file: Some("src/main.rs".into()),
        line: Some(1),
        message: "m".into(),
        fingerprint: None,
        tags: vec![],
        properties: vec![],
    }
}

/// A context whose scan completed an hour before [`NOW`].
pub fn context(findings: Vec<Finding>) -> Context {
    Context {
        repository: Repository {
            id: "r1".into(),
            name: "repo".into(),
            languages: vec!["rust".into()],
        },
        scan: ScanInfo {
            tools: vec!["semgrep".into()],
            commit: None,
            branch: Some("main".into()),
            completed_at: Some(NOW - 3600),
            now: NOW,
        },
        findings,
        pr_reviews: None,
        quality_gate: QualityGate::Unknown,
    }
}

pub fn control(check_type: &str, pass_condition: &str, params: &[(&str, &str)]) -> Control {
    Control {
        id: "ctl".into(),
        framework: "soc2".into(),
        check_type: check_type.into(),
        pass_condition: pass_condition.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Evaluates through the public entry point.
pub fn eval(
    ctx: &Context,
    check_type: &str,
    cond: &str,
    params: &[(&str, &str)],
) -> Result<Outcome, CheckError> {
    crate::evaluate_control(ctx, &control(check_type, cond, params))
}

/// Evaluates and unwraps, returning `(status, score, cited ids)`.
pub fn run(
    ctx: &Context,
    check_type: &str,
    cond: &str,
    params: &[(&str, &str)],
) -> (Status, u8, Vec<String>) {
    let o = eval(ctx, check_type, cond, params).unwrap();
    (o.status, o.score, o.finding_ids)
}

pub fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
