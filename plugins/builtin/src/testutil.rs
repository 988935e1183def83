//! Builders for unit tests. Evaluations go through [`Context::restricted`] to the check_type's
//! declared reads, exactly as the host sends them, so a check that reads an undeclared field
//! fails its tests. Each finding's fingerprint is its label, so tests cite findings by name.

use grc_plugin_sdk::prelude::*;

/// The `scan.now` of [`context`].
pub const NOW: i64 = 1_700_000_000;

pub fn finding(label: &str, category: Category, severity: Severity) -> FindingData {
    FindingData {
        rule_id: format!("rule.{label}"),
        tool: "semgrep".into(),
        file: Some("src/main.rs".into()),
        line: Some(1),
        message: "m".into(),
        fingerprint: Some(label.into()),
        ..FindingData::new(category, severity)
    }
}

/// A context whose scan completed an hour before [`NOW`].
pub fn context(findings: Vec<FindingData>) -> Context {
    Context::new(
        Repository {
            id: "r1".into(),
            name: "repo".into(),
            languages: vec!["rust".into()],
        },
        ScanInfo {
            tools: vec!["semgrep".into()],
            commit: None,
            branch: Some("main".into()),
            completed_at: Some(NOW - 3600),
            now: NOW,
        },
        &findings,
    )
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

/// Evaluates through the public entry point, on what the host would send this check_type;
/// cited rows are mapped back to rows of `ctx`.
pub fn eval(
    ctx: &Context,
    check_type: &str,
    cond: &str,
    params: &[(&str, &str)],
) -> Result<Outcome, CheckError> {
    let control = control(check_type, cond, params);
    let Ok(check) = crate::PLUGIN.check_type(check_type) else {
        return crate::evaluate_control(ctx, &control);
    };
    let (sent, rows) = ctx.restricted(check.categories, check.fields);
    let mut outcome = crate::evaluate_control(&sent, &control)?;
    for row in &mut outcome.findings {
        *row = rows[*row as usize];
    }
    Ok(outcome)
}

/// Evaluates and unwraps, returning `(status, score, labels of the cited findings)`.
pub fn run(
    ctx: &Context,
    check_type: &str,
    cond: &str,
    params: &[(&str, &str)],
) -> (Status, u8, Vec<String>) {
    let o = eval(ctx, check_type, cond, params).unwrap();
    let labels = o
        .findings
        .iter()
        .map(|&row| {
            let f = ctx.finding(row).unwrap();
            f.fingerprint().unwrap().to_string()
        })
        .collect();
    (o.status, o.score, labels)
}

pub fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
