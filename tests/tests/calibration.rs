//! The calibration corpus (tests/fixtures/corpus): three projects written here and scanned with
//! real scanners (bandit, semgrep, ruff, checkov; see the corpus's generate.sh and VERSIONS).
//! These tests hold the properties a security lead expects of the scores, through the HTTP API
//! on both databases: the order of the projects, coverage, merging of per-tool uploads, and
//! monotonicity.

use grc_tests::{TestApp, both_backends, json};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;

both_backends!(
    the_clean_project_scores_clearly_above_both_insecure_ones,
    a_single_tool_scan_leaves_other_kinds_not_assessed,
    separate_per_tool_uploads_equal_one_multi_run_upload,
    adding_findings_never_raises_a_score,
    a_new_upload_of_a_tool_replaces_only_that_tools_results,
    stale_results_can_fail_a_control_but_never_pass_it,
);

/// Every built-in framework the default plan allows.
const FRAMEWORKS: &[&str] = &["soc2", "iso27001", "nist_csf", "pcidss", "owasp"];

fn corpus(project: &str, file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/corpus")
        .join(project)
        .join("scans")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The scanner output committed for a project (file names), as its CI would upload it.
fn tools_of(project: &str) -> &'static [&'static str] {
    match project {
        "insecure-iac" => &["checkov.sarif"],
        _ => &[
            "bandit.sarif",
            "semgrep.sarif",
            "ruff.sarif",
            "checkov.sarif",
        ],
    }
}

async fn enable_all(app: &TestApp) {
    let resp = app
        .put(
            "/api/compliance/frameworks/enabled",
            &app.owner_key,
            json!({ "keys": FRAMEWORKS }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
}

async fn upload(app: &TestApp, repo: i64, sarif: Vec<u8>) -> Value {
    // One completion time for every upload, so that recency checks do not depend on when the
    // corpus was generated or in which order the files are sent.
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resp = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            repo,
            &format!("?completed_at={at}"),
            "application/sarif+json",
            sarif,
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    resp.body
}

async fn scanned_repo(app: &TestApp, name: &str, project: &str) -> i64 {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, name, &["python"])
        .await;
    for file in tools_of(project) {
        upload(app, repo, corpus(project, file)).await;
    }
    repo
}

async fn score(app: &TestApp, repo: i64) -> Value {
    let resp = app
        .get(&format!("/api/compliance/score/{repo}"), &app.owner_key)
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    resp.body
}

fn overall(report: &Value) -> i64 {
    report["executive_summary"]["overall_score"]
        .as_i64()
        .expect("overall score")
}

/// (framework:control) → (status, score, check_type, reason) for every control of the report.
fn controls(report: &Value) -> BTreeMap<String, (String, i64, String, String)> {
    let mut out = BTreeMap::new();
    for (fw, f) in report["frameworks"].as_object().expect("frameworks") {
        for c in f["controls"].as_array().expect("controls") {
            out.insert(
                format!("{fw}:{}", c["id"].as_str().expect("id")),
                (
                    c["status"].as_str().expect("status").to_owned(),
                    c["score"].as_i64().expect("score"),
                    c["check_type"].as_str().expect("check_type").to_owned(),
                    c["reason"].as_str().unwrap_or("").to_owned(),
                ),
            );
        }
    }
    out
}

/// Statuses of the controls with `check_type`.
fn statuses(report: &Value, check_type: &str) -> Vec<String> {
    controls(report)
        .into_values()
        .filter(|(_, _, ct, _)| ct == check_type)
        .map(|(status, ..)| status)
        .collect()
}

async fn the_clean_project_scores_clearly_above_both_insecure_ones(app: TestApp) {
    enable_all(&app).await;
    let clean = scanned_repo(&app, "ledger", "clean-service").await;
    let webapp = scanned_repo(&app, "shop", "insecure-webapp").await;
    let iac = scanned_repo(&app, "infra", "insecure-iac").await;
    let (clean, webapp, iac) = (
        score(&app, clean).await,
        score(&app, webapp).await,
        score(&app, iac).await,
    );
    let (c, w, i) = (overall(&clean), overall(&webapp), overall(&iac));
    assert!(c >= 90, "clean project: {c}\n{clean:#}");
    assert!(c >= w + 20 && c >= i + 20, "clean {c}, webapp {w}, iac {i}");
    assert!(i < 70, "insecure IaC tree passes the seed's gate: {i}");
    assert!(w < 70, "insecure web app passes the seed's gate: {w}");

    // The insecure IaC tree fails its IaC and secret controls (checkov's CKV_SECRET_* results
    // are secrets, not misconfigurations).
    for check in ["iac_issues", "secrets"] {
        let s = statuses(&iac, check);
        assert!(
            !s.is_empty() && s.iter().all(|s| s == "fail"),
            "{check}: {s:?}"
        );
    }
    // The web app's hard-coded passwords are an authentication weakness too.
    let auth = statuses(&webapp, "sast_auth");
    assert!(
        !auth.is_empty() && auth.iter().all(|s| s == "fail" || s == "partial"),
        "{auth:?}"
    );
    // Nobody ran a dependency scanner: SCA is not assessed anywhere, and says what to run.
    for report in [&clean, &webapp, &iac] {
        for (key, (status, score, check, reason)) in controls(report) {
            if check == "sca_vulns" {
                assert_eq!((status.as_str(), score), ("not_assessed", 0), "{key}");
                assert!(reason.starts_with("no SCA scanner ran: add "), "{reason}");
            }
        }
        let summary = &report["executive_summary"];
        let coverage = &summary["coverage"];
        assert!(
            coverage["assessed"].as_i64() < coverage["total"].as_i64(),
            "{coverage}"
        );
        assert!(
            summary["not_assessed_reasons"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("scanner ran: add")),
            "{summary}"
        );
    }
    // The IaC-only repository's code controls are not assessed, not passing.
    assert!(
        statuses(&iac, "sast_security")
            .iter()
            .all(|s| s == "not_assessed")
    );
    // The merged assessment lists each tool once, with its scan.
    let tools: Vec<&str> = webapp["assessment"]
        .as_array()
        .expect("assessment")
        .iter()
        .map(|p| p["tool"].as_str().expect("tool"))
        .collect();
    assert_eq!(tools, ["bandit", "checkov", "ruff", "semgrep"]);
}

async fn a_single_tool_scan_leaves_other_kinds_not_assessed(app: TestApp) {
    enable_all(&app).await;
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "shop", &["python"])
        .await;
    let ingested = upload(&app, repo, corpus("insecure-webapp", "bandit.sarif")).await;
    assert!(
        ingested["evaluation"]["not_assessed"].as_i64() > Some(0),
        "{ingested}"
    );
    let report = score(&app, repo).await;
    for check in ["iac_issues", "sca_vulns", "code_quality"] {
        let s = statuses(&report, check);
        assert!(
            !s.is_empty() && s.iter().all(|s| s == "not_assessed"),
            "{check}: {s:?}"
        );
    }
    assert!(
        statuses(&report, "sast_security")
            .iter()
            .all(|s| s == "fail"),
    );
    let reasons: Vec<&str> = report["executive_summary"]["not_assessed_reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("no IaC scanner ran: add ") && r.contains("checkov")),
        "{reasons:?}"
    );
}

async fn separate_per_tool_uploads_equal_one_multi_run_upload(app: TestApp) {
    enable_all(&app).await;
    let separate = scanned_repo(&app, "separate", "insecure-webapp").await;
    let mut runs = Vec::new();
    for file in tools_of("insecure-webapp") {
        let log: Value = serde_json::from_slice(&corpus("insecure-webapp", file)).expect("sarif");
        runs.extend(log["runs"].as_array().expect("runs").iter().cloned());
    }
    let combined = json!({ "version": "2.1.0", "runs": runs });
    let together = app
        .create_repo(&app.org_id, &app.owner_key, "together", &["python"])
        .await;
    upload(&app, together, serde_json::to_vec(&combined).expect("json")).await;
    let (a, b) = (score(&app, separate).await, score(&app, together).await);
    let strip =
        |m: BTreeMap<String, (String, i64, String, String)>| -> BTreeMap<String, (String, i64)> {
            m.into_iter().map(|(k, (s, n, ..))| (k, (s, n))).collect()
        };
    assert_eq!(strip(controls(&a)), strip(controls(&b)));
    assert_eq!(overall(&a), overall(&b));
    assert_eq!(a["total_issues"], b["total_issues"]);
}

async fn adding_findings_never_raises_a_score(app: TestApp) {
    enable_all(&app).await;
    for project in ["clean-service", "insecure-webapp"] {
        let repo = scanned_repo(&app, project, project).await;
        let before = score(&app, repo).await;
        // The same bandit run with every result reported twice more (other lines), uploaded as
        // bandit's next scan.
        let mut log: Value =
            serde_json::from_slice(&corpus(project, "bandit.sarif")).expect("sarif");
        let results = log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .clone();
        let mut more = results.clone();
        for (copy, line) in [(1, 1000), (2, 2000)] {
            for r in &results {
                let mut r = r.clone();
                r["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(line + copy);
                more.push(r);
            }
        }
        // And one new high finding, so that even a clean run gets worse.
        more.push(json!({
            "ruleId": "B602", "level": "error",
            "message": { "text": "subprocess call with shell=True identified" },
            "locations": [{ "physicalLocation": {
                "artifactLocation": { "uri": "added.py" }, "region": { "startLine": 3 } } }],
            "properties": { "issue_severity": "HIGH", "issue_confidence": "HIGH" },
        }));
        log["runs"][0]["results"] = Value::Array(more);
        upload(&app, repo, serde_json::to_vec(&log).expect("json")).await;
        let after = score(&app, repo).await;
        assert!(
            overall(&after) <= overall(&before),
            "{project}: {} > {}",
            overall(&after),
            overall(&before)
        );
        let (was, now) = (controls(&before), controls(&after));
        for (key, (status, score, ..)) in &now {
            let (old_status, old_score, ..) = &was[key];
            assert!(
                score <= old_score,
                "{project} {key}: {old_status} {old_score} → {status} {score}"
            );
        }
        assert!(
            overall(&after) < overall(&before),
            "{project}: a new high finding did not lower the score"
        );
    }
}

async fn a_new_upload_of_a_tool_replaces_only_that_tools_results(app: TestApp) {
    enable_all(&app).await;
    let repo = scanned_repo(&app, "shop", "insecure-webapp").await;
    let before = score(&app, repo).await;
    // bandit runs again and finds nothing: bandit's findings go, semgrep's and ruff's stay.
    let mut log: Value =
        serde_json::from_slice(&corpus("insecure-webapp", "bandit.sarif")).expect("sarif");
    let bandit_findings = log["runs"][0]["results"].as_array().map_or(0, Vec::len);
    let bandit_findings = i64::try_from(bandit_findings).expect("count");
    assert!(bandit_findings > 0);
    log["runs"][0]["results"] = json!([]);
    upload(&app, repo, serde_json::to_vec(&log).expect("json")).await;
    let after = score(&app, repo).await;
    assert_eq!(
        after["total_issues"].as_i64(),
        before["total_issues"].as_i64().map(|n| n - bandit_findings),
        "{}",
        after["assessment"]
    );
    // semgrep still reports the eval injection and shell=True, so SAST still fails.
    assert!(
        statuses(&after, "sast_security")
            .iter()
            .all(|s| s == "fail")
    );
    let bandit = after["assessment"]
        .as_array()
        .expect("assessment")
        .iter()
        .find(|p| p["tool"] == "bandit")
        .expect("bandit part");
    assert_eq!(bandit["scan_id"], after["scan_id"]);
}

async fn stale_results_can_fail_a_control_but_never_pass_it(app: TestApp) {
    enable_all(&app).await;
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "ledger", &["python"])
        .await;
    // checkov ran 45 days ago (it found IaC hygiene issues and no secrets) …
    let checkov = upload(&app, repo, corpus("clean-service", "checkov.sarif")).await;
    let long_ago = (chrono::Utc::now() - chrono::Duration::days(45))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    app.owner_sql(&format!(
        "UPDATE scans SET received_at = '{long_ago}' WHERE id = '{}'",
        checkov["id"].as_str().expect("scan id")
    ))
    .await;
    // … bandit runs today.
    upload(&app, repo, corpus("clean-service", "bandit.sarif")).await;
    let report = score(&app, repo).await;
    for (key, (status, _, check, reason)) in controls(&report) {
        match check.as_str() {
            // No secret found by a 45-day-old run is not a pass.
            "secrets" => {
                assert_eq!(status, "not_assessed", "{key}");
                assert!(
                    reason.starts_with("the last secret results are stale (checkov, 45 days ago"),
                    "{key}: {reason}"
                );
            }
            // The IaC issues it found still count, and say the assessment is incomplete.
            "iac_issues" => {
                assert!(status == "partial" || status == "fail", "{key}: {status}");
                assert!(
                    reason.contains("(assessment incomplete: the last IaC results are stale"),
                    "{key}: {reason}"
                );
            }
            "sast_security" => assert_eq!(status, "partial", "{key}: {reason}"),
            _ => {}
        }
    }
    let stale = report["assessment"]
        .as_array()
        .expect("assessment")
        .iter()
        .find(|p| p["tool"] == "checkov")
        .expect("checkov part");
    assert_eq!(stale["received_at"], long_ago.as_str());
}
