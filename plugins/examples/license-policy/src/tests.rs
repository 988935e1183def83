//! Native unit tests: `cargo test -p license-policy-plugin`.

use super::*;
use grc_plugin_sdk::evaluate_batch;

/// A dependency finding; its fingerprint is `label`, which tests cite it by.
fn dep(label: &str, license: Option<&str>) -> FindingData {
    FindingData {
        rule_id: "CVE-2024-0001".into(),
        tool: "osv-scanner".into(),
        file: Some("Cargo.lock".into()),
        message: "m".into(),
        fingerprint: Some(label.into()),
        properties: license
            .map(|l| vec![("license".into(), l.into())])
            .unwrap_or_default(),
        ..FindingData::new(Category::Sca, Severity::Low)
    }
}

fn ctx(findings: Vec<FindingData>) -> Context {
    Context::new(
        Repository {
            id: "r".into(),
            name: "r".into(),
            languages: vec![],
        },
        ScanInfo {
            tools: vec![],
            commit: None,
            branch: None,
            completed_at: Some(0),
            now: 0,
        },
        &findings,
    )
}

/// Labels of the cited findings.
fn cited(ctx: &Context, o: &Outcome) -> Vec<String> {
    o.findings
        .iter()
        .map(|&r| ctx.finding(r).unwrap().fingerprint().unwrap().to_string())
        .collect()
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

/// Evaluates on what the host sends this check_type (SCA findings, properties only); cited rows
/// are mapped back to rows of `ctx`.
fn eval(ctx: &Context, cond: &str, params: &[(&str, &str)]) -> Result<Outcome, CheckError> {
    let (sent, rows) = ctx.restricted(LICENSE_POLICY.categories, LICENSE_POLICY.fields);
    let mut o = LicensePolicy::evaluate(&sent, &control(cond, params))?;
    o.findings.iter_mut().for_each(|r| *r = rows[*r as usize]);
    Ok(o)
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
        (o.status, cited(&c, &o)),
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
        (o.status, o.score, cited(&c, &o)),
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
