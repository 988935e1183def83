//! Scan ingestion (our JSON format, SARIF from real scanners), custom frameworks, scores, trends
//! and the seed's CI threshold script, through the HTTP API on both databases.

use grc::domain::{Plan, Role};
use grc_tests::{Auth, TestApp, both_backends, guest_component, json, sarif_fixture};
use reqwest::{Method, StatusCode};
use serde_json::Value;

both_backends!(
    real_scanner_sarif_is_ingested_and_mapped,
    bad_scans_get_clear_errors,
    scores_follow_the_seed_shape_and_rules,
    plugin_errors_count_as_failing_never_passing,
    custom_frameworks_follow_the_seed,
    custom_framework_with_an_uploaded_plugin_is_scored_by_it,
    trend_has_a_point_per_upload_in_receive_order,
    scan_signals_refine_recommendations,
    rescoring_is_explicit_and_audited,
    the_seed_ci_threshold_script_gates_on_the_score,
    scans_and_scores_are_tenant_isolated,
);

fn hours_ago(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339()
}

fn finding(tool: &str, category: &str, severity: &str) -> Value {
    json!({ "tool": tool, "rule_id": format!("{tool}.{category}.{severity}"), "category": category,
            "severity": severity, "file": "app/main.py", "line": 3, "message": "found" })
}

/// A custom framework whose controls have known outcomes against [`known_scan`].
fn known_framework() -> Value {
    json!({
        "name": "Known outcomes", "key": "known",
        "controls": [
            { "id": "K-SECRETS", "name": "No critical secrets", "category": "Credentials",
              "check_type": "secrets", "pass_condition": "no_critical_secrets" },
            { "id": "K-SAST", "name": "Few high SAST", "category": "Code",
              "check_type": "sast_security", "pass_condition": "max_high_findings" },
            { "id": "K-SCA", "name": "No vulnerable deps", "category": "Dependencies",
              "check_type": "sca_vulns", "pass_condition": "no_known_vulns_above" },
            { "id": "K-RECENT", "name": "Scanned this week", "category": "Operations",
              "check_type": "scan_recency", "pass_condition": "scanned_within_7_days" },
            { "id": "K-GATE", "name": "Quality gate", "category": "Operations",
              "check_type": "quality_gates", "pass_condition": "quality_gate_passed" },
            { "id": "K-EVIDENCE", "name": "Policy reviewed", "category": "Governance",
              "check_type": "evidence", "pass_condition": "evidence_linked" },
            { "id": "K-BROKEN", "name": "Broken parameter", "category": "Operations",
              "check_type": "scan_recency", "pass_condition": "scanned_within_x_days" },
        ]
    })
}

/// One critical secret, one medium SAST finding, completed an hour ago, gate unknown.
fn known_scan() -> Value {
    json!({
        "commit": "abc1234", "branch": "main", "completed_at": hours_ago(1),
        "findings": [finding("gitleaks", "secret", "critical"), finding("semgrep", "sast", "medium")],
    })
}

/// Only `key` enabled.
async fn enable_only(app: &TestApp, key: &str) {
    let resp = app
        .put(
            "/api/compliance/frameworks/enabled",
            &app.owner_key,
            json!({ "keys": [key] }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
}

async fn save_framework(app: &TestApp, body: Value) -> grc_tests::Resp {
    app.call(
        Method::POST,
        "/api/compliance/custom-frameworks",
        Auth::XApiKey(&app.owner_key),
        Some(body),
    )
    .await
}

async fn score(app: &TestApp, repo: i64, query: &str) -> grc_tests::Resp {
    app.call(
        Method::GET,
        &format!("/api/compliance/score/{repo}{query}"),
        Auth::XApiKey(&app.owner_key),
        None,
    )
    .await
}

fn statuses(framework: &Value) -> Vec<(String, String)> {
    framework["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn real_scanner_sarif_is_ingested_and_mapped(app: TestApp) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "sample-project", &["python"])
        .await;
    // semgrep: declared by content type.
    let semgrep = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            repo,
            "?commit=9f2c1e0&branch=main",
            "application/sarif+json",
            sarif_fixture("semgrep.sarif"),
        )
        .await;
    assert_eq!(semgrep.status, StatusCode::CREATED, "{:?}", semgrep.body);
    let s = &semgrep.body;
    assert_eq!(s["format"], "sarif");
    assert_eq!(s["tools"], json!(["semgrep"]));
    assert_eq!(s["finding_count"], 7);
    assert_eq!(s["commit"], "9f2c1e0");
    assert_eq!(
        s["summary"]["by_category"],
        json!({ "sast": 6, "secret": 1 })
    );
    assert_eq!(s["duplicate"], false);
    assert!(s["evaluation"]["controls_evaluated"].as_u64().unwrap_or(0) > 50);
    assert_eq!(s["evaluation"]["errors"], 0, "{:?}", s["evaluation"]);

    // bandit: detected from the document (plain application/json).
    let bandit = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            repo,
            "",
            "application/json",
            sarif_fixture("bandit.sarif"),
        )
        .await;
    assert_eq!(bandit.status, StatusCode::CREATED, "{:?}", bandit.body);
    assert_eq!(bandit.body["tools"], json!(["bandit"]));
    assert_eq!(bandit.body["finding_count"], 11);
    let by_severity = &bandit.body["summary"]["by_severity"];
    assert!(
        by_severity["high"].as_u64().unwrap_or(0) >= 1,
        "{by_severity}"
    );

    // checkov: IaC findings on the Dockerfile and the Terraform file.
    let checkov = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            repo,
            "?format=sarif",
            "application/json",
            sarif_fixture("checkov.sarif"),
        )
        .await;
    assert_eq!(checkov.status, StatusCode::CREATED, "{:?}", checkov.body);
    assert_eq!(checkov.body["summary"]["by_category"], json!({ "iac": 17 }));
    assert_eq!(
        checkov.body["summary"]["iac_kinds"],
        json!(["dockerfile", "terraform"])
    );

    // Multi-run: semgrep and bandit runs in one log are one scan.
    let mut combined: Value =
        serde_json::from_slice(&sarif_fixture("semgrep.sarif")).expect("semgrep json");
    let bandit_log: Value =
        serde_json::from_slice(&sarif_fixture("bandit.sarif")).expect("bandit json");
    let runs = combined["runs"].as_array_mut().expect("runs");
    runs.extend(bandit_log["runs"].as_array().expect("runs").iter().cloned());
    let multi = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            repo,
            "",
            "application/sarif+json",
            serde_json::to_vec(&combined).expect("json"),
        )
        .await;
    assert_eq!(multi.status, StatusCode::CREATED, "{:?}", multi.body);
    assert_eq!(multi.body["tools"], json!(["bandit", "semgrep"]));
    assert_eq!(multi.body["finding_count"], 18);

    // The same bytes again: idempotent, nothing new stored.
    let again = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            repo,
            "",
            "application/sarif+json",
            sarif_fixture("bandit.sarif"),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["id"], bandit.body["id"]);

    let list = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{repo}/scans")),
            &app.owner_key,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["scans"].as_array().map(Vec::len), Some(4));
    let page = app
        .get(
            &app.org_path(
                &app.org_id,
                &format!("/repos/{repo}/scans?limit=3&offset=2"),
            ),
            &app.owner_key,
        )
        .await;
    assert_eq!(page.body["scans"].as_array().map(Vec::len), Some(2));
    assert_eq!(page.body["scans"][0]["id"], list.body["scans"][2]["id"]);
    let bad_page = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{repo}/scans?limit=0")),
            &app.owner_key,
        )
        .await;
    assert_eq!(bad_page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let one = app
        .get(
            &app.org_path(
                &app.org_id,
                &format!(
                    "/repos/{repo}/scans/{}",
                    semgrep.body["id"].as_str().unwrap_or("")
                ),
            ),
            &app.owner_key,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["finding_count"], 7);
    assert_eq!(
        app.audit_actions(&app.org_id, "action=SCAN_INGESTED")
            .await
            .len(),
        4
    );
}

async fn bad_scans_get_clear_errors(app: TestApp) {
    let repo = app.create_repo(&app.org_id, &app.owner_key, "r", &[]).await;
    let push = |query: &'static str, ct: &'static str, body: &'static [u8]| {
        let app = &app;
        async move {
            app.push_scan(&app.org_id, &app.owner_key, repo, query, ct, body.to_vec())
                .await
        }
    };
    // A typo in our format names the field path.
    let typo = push(
        "",
        "application/json",
        br#"{"findings":[{"tool":"x","rule_id":"r","category":"sast","sevrity":"high"}]}"#,
    )
    .await;
    assert_eq!(
        typo.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        typo.body
    );
    assert_eq!(
        typo.body["detail"][0]["loc"],
        json!(["body", "findings", 0, "sevrity"])
    );
    let bad_category = push(
        "",
        "application/json",
        br#"{"findings":[{"tool":"x","rule_id":"r","category":"nope","severity":"high"}]}"#,
    )
    .await;
    assert_eq!(
        bad_category.body["detail"][0]["loc"],
        json!(["body", "findings", 0, "category"])
    );
    // Malformed SARIF: the JSON path of the problem.
    let sarif = push(
        "",
        "application/sarif+json",
        br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"semgrep"}},"results":[{"ruleId":"a","message":{"text":"m"}},{"ruleId":5,"message":{"text":"m"}}]}]}"#,
    )
    .await;
    assert_eq!(sarif.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        sarif.body["detail"][0]["loc"],
        json!(["body", "runs", 0, "results", 1, "ruleId"])
    );
    let version = push(
        "?format=sarif",
        "application/json",
        br#"{"version":"2.0.0","runs":[]}"#,
    )
    .await;
    assert_eq!(version.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(version.body["detail"][0]["loc"], json!(["body", "version"]));
    let not_json = push("", "application/json", b"{not json").await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    let empty = push("", "application/json", b"").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_query = push("?format=xml", "application/json", b"{}").await;
    assert_eq!(bad_query.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reviews = push(
        "",
        "application/json",
        br#"{"pr_reviews":{"total_prs":1,"reviewed_prs":2}}"#,
    )
    .await;
    assert_eq!(reviews.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Unknown repository: 404.
    let missing = app
        .push_scan(
            &app.org_id,
            &app.owner_key,
            999_999,
            "",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Nothing was stored by any of it.
    let list = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{repo}/scans")),
            &app.owner_key,
        )
        .await;
    assert_eq!(list.body["scans"], json!([]));

    // Over the cap: 413 (a server with a small cap; the default is 50 MiB).
    let small = grc_tests::spawn_app_with(app.backend, |c| c.max_scan_bytes = 4096)
        .await
        .expect("second app");
    let repo = small
        .create_repo(&small.org_id, &small.owner_key, "r", &[])
        .await;
    let big = serde_json::to_vec(&json!({
        "findings": (0..200).map(|_| finding("semgrep", "sast", "low")).collect::<Vec<_>>()
    }))
    .expect("json");
    let resp = small
        .push_scan(
            &small.org_id,
            &small.owner_key,
            repo,
            "",
            "application/json",
            big,
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        resp.body
    );
    assert!(resp.detail().contains("4096"));
}

async fn scores_follow_the_seed_shape_and_rules(app: TestApp) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "checkout-service", &["python"])
        .await;
    // No scan yet: a number the CI script can compare, and an honest posture.
    let none = score(&app, repo, "").await;
    assert_eq!(none.status, StatusCode::OK, "{:?}", none.body);
    assert_eq!(none.body["executive_summary"]["overall_score"], 0);
    assert_eq!(none.body["executive_summary"]["posture"], "Not assessed");
    assert_eq!(none.body["last_scan"], Value::Null);

    assert_eq!(
        save_framework(&app, known_framework()).await.status,
        StatusCode::OK
    );
    let scan = app.push_json_scan(repo, known_scan()).await;
    assert_eq!(scan.status, StatusCode::CREATED, "{:?}", scan.body);
    enable_only(&app, "known").await;

    let resp = score(&app, repo, "").await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let body = &resp.body;
    for field in [
        "repo_id",
        "repo_name",
        "evaluated_at",
        "last_scan",
        "total_issues",
        "executive_summary",
        "frameworks",
    ] {
        assert!(body.get(field).is_some(), "missing {field}: {body}");
    }
    assert_eq!(body["repo_id"], repo);
    assert_eq!(body["repo_name"], "checkout-service");
    assert_eq!(body["total_issues"], 2);
    let fw = &body["frameworks"]["known"];
    assert_eq!(
        statuses(fw),
        [
            ("K-SECRETS", "fail"),
            ("K-SAST", "partial"),
            ("K-SCA", "not_assessed"),
            ("K-RECENT", "pass"),
            ("K-GATE", "not_applicable"),
            ("K-EVIDENCE", "not_applicable"),
            ("K-BROKEN", "error"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // No dependency scanner ran (gitleaks and semgrep did): SCA is not assessed, and says so.
    assert!(
        fw["controls"][2]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("no SCA scanner ran: add ")),
        "{fw}"
    );
    // One critical secret fails at round(49 × 100 / 140) = 35; one medium finding leaves a
    // partial 50 + round(49 × 100 / 105) = 97.
    assert_eq!(fw["controls"][0]["score"], 35);
    assert_eq!(fw["controls"][1]["score"], 97);
    assert_eq!(
        (
            fw["pass"].clone(),
            fw["partial"].clone(),
            fw["fail"].clone(),
            fw["total"].clone(),
            fw["not_assessed"].clone(),
        ),
        (json!(1), json!(1), json!(2), json!(4), json!(1))
    );
    assert_eq!(
        fw["coverage"],
        json!({"assessed": 4, "total": 5, "percent": 80})
    );
    // (35 + 97 + 100 + 0) / 4 = 58.
    assert_eq!(fw["score"], 58);
    let summary = &body["executive_summary"];
    assert_eq!(summary["overall_score"], 58);
    assert_eq!(summary["posture"], "Weak");
    assert_eq!(
        (
            summary["total_controls"].clone(),
            summary["passing"].clone(),
            summary["partial"].clone(),
            summary["failing"].clone(),
            summary["not_assessed"].clone(),
        ),
        (json!(4), json!(1), json!(1), json!(2), json!(1))
    );
    assert_eq!(
        summary["recommendation"],
        "Address failing controls in known"
    );
    let areas = summary["risk_areas"].as_array().expect("risk areas");
    assert_eq!(areas[0]["category"], "Credentials");
    assert_eq!(areas[0]["failing"], 1);
    let evidence = &fw["controls"][5];
    assert!(
        evidence["reason"]
            .as_str()
            .unwrap_or("")
            .contains("evidence")
    );

    // Disabled controls are excluded entirely: no plugin call needed.
    let disable = app
        .put(
            "/api/compliance/frameworks/known/controls",
            &app.owner_key,
            json!({ "disabled": ["K-SECRETS", "K-BROKEN"] }),
        )
        .await;
    assert_eq!(disable.status, StatusCode::OK, "{:?}", disable.body);
    let after = score(&app, repo, "").await;
    let fw = &after.body["frameworks"]["known"];
    assert!(
        !statuses(fw)
            .iter()
            .any(|(id, _)| id == "K-SECRETS" || id == "K-BROKEN"),
        "{fw}"
    );
    // K-SCA is not assessed: (97 + 100) / 2 = 98.5, rounded half up.
    assert_eq!(fw["score"], 99);
    assert_eq!(after.body["executive_summary"]["posture"], "Strong");
    assert_eq!(
        after.body["evaluated_at"], resp.body["evaluated_at"],
        "cached"
    );

    // All built-ins enabled: every framework scored, counts add up, evidence not counted.
    let all = app
        .put(
            "/api/compliance/frameworks/enabled",
            &app.owner_key,
            json!({ "keys": null }),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK);
    let full = score(&app, repo, "").await;
    let frameworks = full.body["frameworks"].as_object().expect("frameworks");
    assert_eq!(frameworks.len(), 7, "six built-ins and the custom one");
    for (key, f) in frameworks {
        let n = |k: &str| f[k].as_u64().unwrap_or(u64::MAX);
        assert_eq!(n("pass") + n("partial") + n("fail"), n("total"), "{key}");
        assert!(n("score") <= 100);
    }
    let one = score(&app, repo, "?framework=soc2").await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        one.body["frameworks"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["soc2".to_owned()])
    );
    enable_only(&app, "owasp").await;
    let disabled = score(&app, repo, "?framework=soc2").await;
    assert_eq!(disabled.status, StatusCode::BAD_REQUEST);
    let unknown = score(&app, repo, "?framework=nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let no_repo = score(&app, 987_654, "").await;
    assert_eq!(no_repo.status, StatusCode::NOT_FOUND);
    assert_eq!(no_repo.detail(), "Repository not found");
}

async fn plugin_errors_count_as_failing_never_passing(app: TestApp) {
    let repo = app.create_repo(&app.org_id, &app.owner_key, "r", &[]).await;
    let saved = save_framework(
        &app,
        json!({ "name": "Broken", "key": "broken", "controls": [
            { "id": "B1", "name": "bad days", "category": "Ops",
              "check_type": "scan_recency", "pass_condition": "scanned_within_0_days" }
        ]}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    app.push_json_scan(repo, json!({ "completed_at": hours_ago(1) }))
        .await;
    enable_only(&app, "broken").await;
    let resp = score(&app, repo, "").await;
    let control = &resp.body["frameworks"]["broken"]["controls"][0];
    assert_eq!(control["status"], "error", "{control}");
    assert_eq!(control["score"], 0);
    assert!(
        control["reason"].as_str().unwrap_or("").contains("days"),
        "{control}"
    );
    assert_eq!(resp.body["frameworks"]["broken"]["fail"], 1);
    assert_eq!(resp.body["executive_summary"]["overall_score"], 0);
    assert_eq!(resp.body["executive_summary"]["failing"], 1);
}

async fn custom_frameworks_follow_the_seed(app: TestApp) {
    let seed_body = json!({
        "name": "Internal Security Policy", "key": "internal_sec",
        "controls": [{ "id": "ISP-1", "name": "No hardcoded secrets", "category": "Credentials",
            "description": "All credentials live in the secret manager.",
            "check_type": "secrets", "pass_condition": "no_critical_secrets" }]
    });
    // An explicit selection exists: the new framework joins it.
    enable_only(&app, "soc2").await;
    let created = save_framework(&app, seed_body.clone()).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    assert_eq!(
        created.body,
        json!({ "message": "Framework saved", "key": "internal_sec", "name": "Internal Security Policy" })
    );
    let list = app
        .call(
            Method::GET,
            "/api/compliance/custom-frameworks",
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let fw = &list.body["frameworks"][0];
    assert_eq!(fw["key"], "internal_sec");
    assert!(fw["id"].is_i64() && fw["created_at"].is_string());
    assert_eq!(fw["controls"][0]["id"], "ISP-1");
    let picker = app.get("/api/compliance/frameworks", &app.owner_key).await;
    assert_eq!(picker.body["enabled_keys"], json!(["soc2", "internal_sec"]));
    let entry = picker.body["available"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["key"] == "internal_sec").cloned())
        .expect("custom framework listed");
    assert_eq!(
        (entry["custom"].clone(), entry["enabled"].clone()),
        (json!(true), json!(true))
    );
    let controls = app
        .get(
            "/api/compliance/frameworks/internal_sec/controls",
            &app.owner_key,
        )
        .await;
    assert_eq!(controls.status, StatusCode::OK);
    assert_eq!(controls.body["custom"], true);

    // The seed's Python sync sample: scan_recency with scanned_within_7_days; re-posting replaces.
    let synced = save_framework(
        &app,
        json!({ "name": "Acme GRC", "key": "acme_grc", "controls": [
            { "id": "AC-1", "name": "Fresh scans", "category": "Ops",
              "check_type": "scan_recency", "pass_condition": "scanned_within_7_days" }]}),
    )
    .await;
    assert_eq!(synced.status, StatusCode::OK, "{:?}", synced.body);
    let resynced = save_framework(
        &app,
        json!({ "name": "Acme GRC v2", "key": "acme_grc", "controls": [
            { "id": "AC-1", "name": "Fresh scans", "category": "Ops",
              "check_type": "scan_recency", "pass_condition": "scanned_within_30_days" }]}),
    )
    .await;
    assert_eq!(resynced.body["name"], "Acme GRC v2");

    // Validation names the bad value.
    let mut bad = seed_body.clone();
    bad["key"] = json!("bad_one");
    bad["controls"][0]["check_type"] = json!("secretz");
    let resp = save_framework(&app, bad.clone()).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        resp.body["detail"][0]["loc"],
        json!(["body", "controls", 0, "check_type"])
    );
    assert!(
        resp.body["detail"][0]["msg"]
            .as_str()
            .unwrap_or("")
            .contains("\"secretz\"")
    );
    bad["controls"][0]["check_type"] = json!("secrets");
    bad["controls"][0]["pass_condition"] = json!("no_secretz");
    let resp = save_framework(&app, bad.clone()).await;
    assert_eq!(
        resp.body["detail"][0]["loc"],
        json!(["body", "controls", 0, "pass_condition"])
    );
    assert!(
        resp.body["detail"][0]["msg"]
            .as_str()
            .unwrap_or("")
            .contains("no_critical_secrets")
    );
    bad["controls"][0]["pass_condition"] = json!("max_severity");
    bad["controls"][0]["params"] = json!({ "sevrity": "low" });
    let resp = save_framework(&app, bad.clone()).await;
    assert_eq!(
        resp.body["detail"][0]["loc"],
        json!(["body", "controls", 0, "params", "sevrity"])
    );
    bad["key"] = json!("soc2");
    let resp = save_framework(&app, bad.clone()).await;
    assert_eq!(resp.body["detail"][0]["loc"], json!(["body", "key"]));
    bad["key"] = json!("Not A Key");
    assert_eq!(
        save_framework(&app, bad).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Non-admins cannot define frameworks; they can read them.
    let member = app
        .create_key(&app.org_id, "m@x.io", Role::Member, "read:*,write:*")
        .await;
    let denied = app
        .call(
            Method::POST,
            "/api/compliance/custom-frameworks",
            Auth::XApiKey(&member.key),
            Some(seed_body),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/compliance/custom-frameworks", &member.key)
            .await
            .status,
        StatusCode::OK
    );

    // Delete: gone, and its key left the enabled list.
    let deleted = app
        .call(
            Method::DELETE,
            "/api/compliance/custom-frameworks/internal_sec",
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body, json!({ "message": "Framework deleted" }));
    let picker = app.get("/api/compliance/frameworks", &app.owner_key).await;
    assert_eq!(picker.body["enabled_keys"], json!(["soc2", "acme_grc"]));
    let again = app
        .delete(
            "/api/compliance/custom-frameworks/internal_sec",
            &app.owner_key,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.audit_actions(&app.org_id, "action=COMPLIANCE_CUSTOM_FRAMEWORK_CREATED")
            .await
            .len(),
        3
    );
    assert_eq!(
        app.audit_actions(&app.org_id, "action=COMPLIANCE_CUSTOM_FRAMEWORK_DELETED")
            .await
            .len(),
        1
    );
}

async fn custom_framework_with_an_uploaded_plugin_is_scored_by_it(app: TestApp) {
    let definition = json!({ "name": "Licenses", "key": "licenses", "controls": [
        { "id": "LIC-1", "name": "No copyleft", "category": "Legal",
          "check_type": "acme.license_policy", "pass_condition": "no_forbidden_licenses" }]});
    // Before the plugin is uploaded the check_type is unknown.
    let early = save_framework(&app, definition.clone()).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        early.body
    );

    let uploaded = app
        .upload_plugin(
            &app.org_id,
            &app.owner_key,
            guest_component("license_policy_plugin"),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{:?}", uploaded.body);
    let plugin_id = uploaded.body["id"].clone();
    let mut wrong = definition.clone();
    wrong["controls"][0]["pass_condition"] = json!("no_gpl");
    let resp = save_framework(&app, wrong).await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.body["detail"][0]["msg"]
            .as_str()
            .unwrap_or("")
            .contains("allowed_licenses_only")
    );
    assert_eq!(
        save_framework(&app, definition).await.status,
        StatusCode::OK
    );

    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "deps", &[])
        .await;
    let mut gpl = finding("osv-scanner", "sca", "low");
    gpl["properties"] = json!({ "package": "readline", "license": "GPL-3.0" });
    app.push_json_scan(repo, json!({ "findings": [gpl] })).await;
    enable_only(&app, "licenses").await;
    let resp = score(&app, repo, "").await;
    let control = &resp.body["frameworks"]["licenses"]["controls"][0];
    assert_eq!(control["status"], "fail", "{control}");
    assert_eq!(control["plugin"]["id"], plugin_id);
    assert_eq!(control["finding_ids"], json!(["f1"]));
}

async fn trend_has_a_point_per_upload_in_receive_order(app: TestApp) {
    let repo = app.create_repo(&app.org_id, &app.owner_key, "r", &[]).await;
    save_framework(&app, known_framework()).await;
    enable_only(&app, "known").await;
    // Three uploads, in this order. The trend orders by the server's receive time, not the
    // scanner's clock (the second scanner's clock says 40 days ago). Each point is the
    // assessment after that upload: the newest result of each tool.
    let mut first = known_scan();
    first["completed_at"] = json!(hours_ago(24 * 3));
    let second = json!({ "completed_at": hours_ago(24 * 40),
                         "findings": [finding("semgrep", "sast", "medium")] });
    // semgrep runs again and finds nothing; it says it looked for SAST problems.
    let third = json!({ "completed_at": hours_ago(2), "commit": "c3", "tools": ["semgrep"],
                        "coverage": { "semgrep": ["sast"] } });
    let mut ids = Vec::new();
    for scan in [first, second, third] {
        let resp = app.push_json_scan(repo, scan).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
        ids.push(resp.body["id"].clone());
    }
    let trend = |query: String| {
        let app = &app;
        async move {
            app.call(
                Method::GET,
                &format!("/api/compliance/trend/{repo}{query}"),
                Auth::XApiKey(&app.owner_key),
                None,
            )
            .await
        }
    };
    let resp = trend("?framework=known&days=90".into()).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let points = resp.body["points"].as_array().expect("points");
    let order: Vec<Value> = points.iter().map(|p| p["scan_id"].clone()).collect();
    assert_eq!(order, ids, "receive order");
    let scores: Vec<u64> = points.iter().filter_map(|p| p["score"].as_u64()).collect();
    // Counted: K-SECRETS, K-SAST, K-RECENT, K-BROKEN (error, 0); K-SCA is not assessed.
    // 1st: secret fail 35, SAST partial 97, recent 100 → 232 / 4 = 58.
    // 2nd: gitleaks' secret still stands (its newest result), semgrep's medium replaces
    //      semgrep's, and the scan completed 40 days ago fails recency → 132 / 4 = 33.
    // 3rd: semgrep found nothing → SAST passes; the secret stays → 235 / 4 = 59.
    assert_eq!(scores, vec![58, 33, 59], "{points:?}");
    assert!(
        points.iter().all(|p| p["not_assessed"] == 1),
        "K-SCA: {points:?}"
    );
    assert_eq!(points[2]["commit"], "c3");
    assert!(points[1]["completed_at"].as_str() < points[0]["completed_at"].as_str());
    // The window is by receive time: all three arrived just now.
    let recent = trend("?framework=known&days=7".into()).await;
    assert_eq!(recent.body["points"].as_array().map(Vec::len), Some(3));
    let overall = trend(String::new()).await;
    assert_eq!(overall.body["framework"], Value::Null);
    assert_eq!(overall.body["days"], 90);
    assert_eq!(overall.body["points"].as_array().map(Vec::len), Some(3));

    // A framework that is not enabled: 400 (seed); a bad window: 422.
    let disabled = trend("?framework=soc2".into()).await;
    assert_eq!(
        disabled.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        disabled.body
    );
    assert!(disabled.detail().contains("not enabled"));
    assert_eq!(
        trend("?framework=known&days=0".into()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn scan_signals_refine_recommendations(app: TestApp) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "infra", &[])
        .await;
    let before = app
        .get(
            &format!("/api/compliance/frameworks/owasp/controls?repo_id={repo}"),
            &app.owner_key,
        )
        .await;
    let badge = |body: &Value, id: &str| {
        body["controls"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == id).cloned())
            .unwrap_or_default()
    };
    let a05 = badge(&before.body, "A05");
    let baseline = a05["recommendation"].clone();
    // checkov SARIF: Dockerfile and Terraform findings promote IaC controls.
    app.push_scan(
        &app.org_id,
        &app.owner_key,
        repo,
        "",
        "application/sarif+json",
        sarif_fixture("checkov.sarif"),
    )
    .await;
    let after = app
        .get(
            &format!("/api/compliance/frameworks/owasp/controls?repo_id={repo}"),
            &app.owner_key,
        )
        .await;
    let a05 = badge(&after.body, "A05");
    assert_eq!(a05["check_type"], "iac_issues");
    assert_eq!(a05["recommendation"], "required", "{a05}");
    let reason = a05["recommendation_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("findings in the latest assessment")
            || reason.contains("dockerfile/terraform"),
        "{reason} (baseline was {baseline})"
    );
    // Real findings against a control: semgrep's crypto findings hit A02.
    app.push_scan(
        &app.org_id,
        &app.owner_key,
        repo,
        &format!("?completed_at={}", urlencode(&hours_ago(0))),
        "application/sarif+json",
        sarif_fixture("semgrep.sarif"),
    )
    .await;
    let crypto = app
        .get(
            &format!("/api/compliance/frameworks/owasp/controls?repo_id={repo}"),
            &app.owner_key,
        )
        .await;
    let a02 = badge(&crypto.body, "A02");
    assert_eq!(a02["recommendation"], "required", "{a02}");
    assert!(
        a02["recommendation_reason"]
            .as_str()
            .unwrap_or("")
            .contains("findings in the latest assessment of infra affect this control: "),
        "{a02}"
    );
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn rescoring_is_explicit_and_audited(app: TestApp) {
    let repo = app.create_repo(&app.org_id, &app.owner_key, "r", &[]).await;
    let scan = app.push_json_scan(repo, known_scan()).await;
    let id = scan.body["id"].as_str().expect("scan id").to_owned();
    let first_eval = scan.body["evaluated_at"].clone();
    let path = app.org_path(&app.org_id, &format!("/repos/{repo}/scans/{id}/rescore"));
    let resp = app
        .call(Method::POST, &path, Auth::Bearer(&app.owner_key), None)
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["scan_id"], id.as_str());
    assert!(
        resp.body["evaluation"]["controls_evaluated"]
            .as_u64()
            .unwrap_or(0)
            > 50
    );
    let after = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{repo}/scans/{id}")),
            &app.owner_key,
        )
        .await;
    assert_ne!(after.body["evaluated_at"], first_eval);
    assert_eq!(
        app.audit_actions(&app.org_id, "action=SCAN_RESCORED")
            .await
            .len(),
        1
    );
    // An auditor may read scans but not rescore.
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let denied = app
        .call(Method::POST, &path, Auth::Bearer(&auditor.key), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let missing = app
        .call(
            Method::POST,
            &app.org_path(
                &app.org_id,
                &format!("/repos/{repo}/scans/{}/rescore", uuid::Uuid::new_v4()),
            ),
            Auth::Bearer(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Deleting the repository deletes its scans.
    let gone = app
        .delete(
            &app.org_path(&app.org_id, &format!("/repos/{repo}")),
            &app.owner_key,
        )
        .await;
    assert!(gone.status.is_success(), "{:?}", gone.body);
    let scans = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{repo}/scans/{id}")),
            &app.owner_key,
        )
        .await;
    assert_eq!(scans.status, StatusCode::NOT_FOUND);
}

/// The seed's CI/CD sample, verbatim apart from the base URL.
const CI_SCRIPT: &str = r#"SCORE=$(curl -s -H "X-API-Key: $CODESTAX_API_KEY" \
  "$BASE_URL/api/compliance/score/$REPO_ID" \
  | jq '.executive_summary.overall_score')
if [ "$SCORE" -lt 70 ]; then
  echo "Compliance score $SCORE below threshold 70"
  exit 1
fi
"#;

fn run_ci_script(app: &TestApp, repo: i64) -> (i32, String) {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(CI_SCRIPT)
        .env("CODESTAX_API_KEY", &app.owner_key)
        .env("BASE_URL", &app.base)
        .env("REPO_ID", repo.to_string())
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn the_seed_ci_threshold_script_gates_on_the_score(app: TestApp) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "checkout-service", &[])
        .await;
    save_framework(&app, known_framework()).await;
    enable_only(&app, "known").await;
    app.push_json_scan(repo, known_scan()).await;
    let (code, out) = tokio::task::block_in_place(|| run_ci_script(&app, repo));
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.trim(), "Compliance score 58 below threshold 70");
    let fixed = app
        .put(
            "/api/compliance/frameworks/known/controls",
            &app.owner_key,
            json!({ "disabled": ["K-BROKEN"] }),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK);
    // The secret was removed: gitleaks runs again and finds nothing.
    app.push_json_scan(
        repo,
        json!({ "completed_at": hours_ago(0), "commit": "fixed", "tools": ["gitleaks"] }),
    )
    .await;
    let (code, out) = tokio::task::block_in_place(|| run_ci_script(&app, repo));
    assert_eq!(code, 0, "{out}");
}

async fn scans_and_scores_are_tenant_isolated(app: TestApp) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "mine", &[])
        .await;
    let scan = app.push_json_scan(repo, known_scan()).await;
    let scan_id = scan.body["id"].as_str().expect("id").to_owned();
    let other = app.create_org("other", Plan::Enterprise).await;
    let theirs = app
        .create_key(&other, "o@x.io", Role::Owner, "read:*,write:*,admin:org")
        .await;
    // Their key on our repository id: 404, never our data.
    let their_score = app
        .call(
            Method::GET,
            &format!("/api/compliance/score/{repo}"),
            Auth::XApiKey(&theirs.key),
            None,
        )
        .await;
    assert_eq!(their_score.status, StatusCode::NOT_FOUND);
    let their_push = app
        .push_scan(
            &other,
            &theirs.key,
            repo,
            "",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(their_push.status, StatusCode::NOT_FOUND);
    let their_read = app
        .get(
            &app.org_path(&other, &format!("/repos/{repo}/scans/{scan_id}")),
            &theirs.key,
        )
        .await;
    assert_eq!(their_read.status, StatusCode::NOT_FOUND);
    // Our org's path with their key: not a member.
    let cross = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{repo}/scans")),
            &theirs.key,
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert_eq!(cross.detail(), "not a member of this organization");
    // Custom frameworks are per org.
    save_framework(&app, known_framework()).await;
    let theirs_list = app
        .get("/api/compliance/custom-frameworks", &theirs.key)
        .await;
    assert_eq!(theirs_list.body["frameworks"], json!([]));
}
