//! Native unit tests: `cargo test -p license-policy-plugin`.

use super::*;
use grc_plugin_sdk::evaluate_batch;

fn dep(id: &str, license: Option<&str>) -> Finding {
    Finding {
        id: id.into(),
        rule_id: "CVE-2024-0001".into(),
        tool: "osv-scanner".into(),
        category: Category::Sca,
        severity: Severity::Low,
        cwe_ids: vec![],
        file: Some("Cargo.lock".into()),
        line: None,
        message: "m".into(),
        fingerprint: None,
        tags: vec![],
        properties: license
            .map(|l| vec![("license".into(), l.into())])
            .unwrap_or_default(),
    }
}

fn ctx(findings: Vec<Finding>) -> Context {
    Context {
        repository: Repository {
            id: "r".into(),
            name: "r".into(),
            languages: vec![],
        },
        scan: ScanInfo {
            tools: vec![],
            commit: None,
            branch: None,
            completed_at: Some(0),
            now: 0,
        },
        findings,
        pr_reviews: None,
        quality_gate: QualityGate::Unknown,
    }
}

fn control(cond: &str, params: &[(&str, &str)]) -> Control {
    Control {
        id: "LIC-1".into(),
        framework: "acme".into(),
        check_type: "acme.license_policy".into(),
        pass_condition: cond.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn eval(ctx: &Context, cond: &str, params: &[(&str, &str)]) -> Result<Outcome, CheckError> {
    LicensePolicy::evaluate(ctx, &control(cond, params))
}

#[test]
fn definitions_are_consistent() {
    assert!(PLUGIN.problems().is_empty());
    assert_eq!(
        LicensePolicy::describe().check_types[0].name,
        "acme.license_policy"
    );
}

#[test]
fn forbidden_licenses() {
    let c = ctx(vec![
        dep("a", Some("MIT")),
        dep("b", Some("GPL-3.0-or-later")),
        dep("c", None),
    ]);
    let o = eval(&c, "", &[]).unwrap();
    assert_eq!(
        (o.status, o.finding_ids),
        (Status::Fail, vec!["b".to_string()])
    );
    assert_eq!(
        eval(&c, "no_forbidden_licenses", &[("forbidden", "AGPL-3.0")])
            .unwrap()
            .status,
        Status::Pass
    );
    let dual = ctx(vec![dep("d", Some("(MIT OR agpl-3.0-only)"))]);
    assert_eq!(eval(&dual, "", &[]).unwrap().status, Status::Fail);
    assert_eq!(
        eval(&ctx(vec![dep("c", None)]), "", &[]).unwrap().status,
        Status::NotApplicable
    );
}

#[test]
fn allowed_licenses_only() {
    let allowed = [("allowed", "MIT, Apache-2.0, GPL-2.0")];
    let c = ctx(vec![
        dep("a", Some("MIT")),
        dep("b", Some("GPL-2.0-only WITH Classpath-exception-2.0")),
    ]);
    assert_eq!(
        eval(&c, "allowed_licenses_only", &allowed).unwrap().status,
        Status::Pass
    );
    let c = ctx(vec![dep("a", Some("MIT")), dep("u", None)]);
    let o = eval(&c, "allowed_licenses_only", &allowed).unwrap();
    assert_eq!(
        (o.status, o.score, o.finding_ids),
        (Status::Partial, 50, vec!["u".to_string()])
    );
    let c = ctx(vec![dep("x", Some("MIT AND BSD-3-Clause"))]);
    assert_eq!(
        eval(&c, "allowed_licenses_only", &allowed).unwrap().status,
        Status::Fail
    );
}

#[test]
fn errors_and_batch() {
    let c = ctx(vec![]);
    let controls = [
        control("allowed_licenses_only", &[]),
        control("allowed_licenses_only", &[("allowed", " , ")]),
        control("no_such_condition", &[]),
        control("", &[("forbiden", "MIT")]),
    ];
    let results = evaluate_batch::<LicensePolicy>(&c, &controls);
    let errors: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap_err().to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "invalid param: allowed: required parameter is missing",
            "invalid param: allowed: list at least one SPDX id",
            "unknown pass_condition: no_such_condition",
            "invalid param: forbiden: unknown parameter (known: forbidden)",
        ]
    );
}
