//! The console's frameworks and evidence pages over HTTP on both backends (issue 17): an admin
//! marks a failing control Not Applicable through the form (the same function as the API's PUT,
//! audited) and the repository's score rises; forms need the session's CSRF token; an auditor
//! reads both pages with no form but sign-out and Cedar refuses the post; evidence lists what
//! was verified, with freshness and linked controls, and its download link redirects to the
//! presigned URL the API would issue; another tenant's evidence is not found.

use grc::domain::Role;
use grc_tests::{TestApp, both_backends, console::ConsoleClient};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

both_backends!(
    an_admin_marks_a_failing_control_not_applicable_and_the_score_rises,
    the_console_forms_need_the_session_csrf_token,
    auditors_read_frameworks_and_evidence_without_any_form,
    evidence_lists_verified_uploads_and_downloads_them,
);

/// A finding in the scan JSON format.
fn finding(tool: &str, category: &str, severity: &str) -> Value {
    json!({ "tool": tool, "rule_id": format!("{tool}.{category}.{severity}"), "category": category,
            "severity": severity, "file": "app/main.py", "line": 3, "message": "found" })
}

/// A repository whose scan leaks a critical secret: SOC 2 CC6.1 and C1.1 fail.
async fn leaky_repo(app: &TestApp) -> i64 {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "payments-api", &["python"])
        .await;
    let pushed = app
        .push_json_scan(
            repo,
            json!({ "findings": [finding("gitleaks", "secret", "critical")] }),
        )
        .await;
    assert!(pushed.status.is_success(), "{:?}", pushed.body);
    repo
}

async fn score(app: &TestApp, repo: i64) -> Value {
    let resp = app
        .get(&format!("/api/compliance/score/{repo}"), &app.owner_key)
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    resp.body
}

fn control_status(score: &Value, framework: &str, id: &str) -> String {
    score["frameworks"][framework]["controls"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("absent")
        .to_owned()
}

/// The number in `<strong id="overall-score">`.
fn overall_score(html: &str) -> u32 {
    let marker = "id=\"overall-score\">";
    let at = html.find(marker).expect("overall score") + marker.len();
    html[at..]
        .split('<')
        .next()
        .and_then(|s| s.trim().parse().ok())
        .expect("a number")
}

async fn signed_in(app: &TestApp, key: &str) -> ConsoleClient {
    let mut console = app.console();
    let page = console.sign_in(key).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    console
}

async fn api_controls(app: &TestApp, framework: &str) -> Value {
    let resp = app
        .get(
            &app.org_path(
                &app.org_id,
                &format!("/compliance/frameworks/{framework}/controls"),
            ),
            &app.owner_key,
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    resp.body
}

fn disabled_ids(controls: &Value) -> Vec<String> {
    controls["controls"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["disabled"] == true)
                .filter_map(|c| c["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn an_admin_marks_a_failing_control_not_applicable_and_the_score_rises(app: TestApp) {
    let repo = leaky_repo(&app).await;
    let before = score(&app, repo).await;
    assert_eq!(control_status(&before, "soc2", "CC6.1"), "fail", "{before}");
    let console = signed_in(&app, &app.owner_key).await;
    let repo_page = console.get(&format!("/console/repos/{repo}")).await;
    let score_before = overall_score(&repo_page.html);
    assert_eq!(
        u64::from(score_before),
        before["executive_summary"]["overall_score"]
            .as_u64()
            .expect("score"),
    );

    // The list: every available framework with its control count and plan lock, as the API.
    let list = console.get("/console/frameworks").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(
        list.html.contains("href=\"/console/frameworks\""),
        "nav entry"
    );
    let api = app
        .get(
            &app.org_path(&app.org_id, "/compliance/frameworks"),
            &app.owner_key,
        )
        .await;
    for f in api.body["available"].as_array().expect("available") {
        let key = f["key"].as_str().expect("key");
        assert!(
            list.html
                .contains(&format!("href=\"/console/frameworks/{key}\"")),
            "{key}: {}",
            list.html
        );
        if f["plan_locked"] == true {
            assert!(list.html.contains("locked: requires the"), "{}", list.html);
        }
    }
    assert!(list.html.contains("id=\"frameworks-form\""));

    // The framework: one checkbox per control, recommendation badges with their reason.
    let page = console.get("/console/frameworks/soc2").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("id=\"controls-form\""), "{}", page.html);
    assert!(page.html.contains("name=\"disabled\" value=\"CC6.1\""));
    assert!(page.html.contains("badge-required"));
    assert!(
        page.html
            .contains("Credential leakage is a baseline control for any codebase."),
        "{}",
        page.html
    );
    let controls = api_controls(&app, "soc2").await;
    assert_eq!(
        page.html.matches("name=\"disabled\"").count(),
        controls["controls"].as_array().map_or(0, Vec::len)
    );
    let refined = console
        .get(&format!("/console/frameworks/soc2?repo_id={repo}"))
        .await;
    assert_eq!(refined.status, StatusCode::OK, "{}", refined.html);
    assert!(
        refined
            .html
            .contains(&format!("<option value=\"{repo}\" selected>")),
        "{}",
        refined.html
    );

    // Tick both failing secrets controls and save.
    let csrf = page.csrf().expect("csrf");
    let saved = console
        .post(
            "/console/frameworks/soc2",
            &[("csrf", &csrf), ("disabled", "CC6.1"), ("disabled", "C1.1")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), Some("/console/frameworks/soc2?saved=1"));
    let after_page = console.get("/console/frameworks/soc2?saved=1").await;
    assert!(
        after_page.html.contains("id=\"saved\""),
        "{}",
        after_page.html
    );
    assert!(
        after_page
            .html
            .contains("<span id=\"disabled-count\">2</span>")
    );
    let mut disabled = disabled_ids(&api_controls(&app, "soc2").await);
    disabled.sort();
    assert_eq!(disabled, ["C1.1", "CC6.1"]);
    let audited = app
        .audit_actions(&app.org_id, "target_type=compliance_framework")
        .await;
    assert!(
        audited.iter().any(|a| a == "COMPLIANCE_CONTROLS_UPDATED"),
        "{audited:?}"
    );

    // The score leaves the controls out and rises, in the API and on the repository page.
    let after = score(&app, repo).await;
    assert_eq!(control_status(&after, "soc2", "CC6.1"), "absent", "{after}");
    let score_after = overall_score(&console.get(&format!("/console/repos/{repo}")).await.html);
    assert!(score_after > score_before, "{score_before} → {score_after}");

    // Unknown controls are refused with the reason and nothing changes; unknown frameworks 404.
    let bad = console
        .post(
            "/console/frameworks/soc2",
            &[("csrf", &csrf), ("disabled", "NOPE-1")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert!(bad.html.contains("role=\"alert\""));
    assert!(bad.html.contains("Unknown control: NOPE-1"), "{}", bad.html);
    assert_eq!(disabled_ids(&api_controls(&app, "soc2").await).len(), 2);
    assert_eq!(
        console.get("/console/frameworks/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        console
            .post("/console/frameworks/nope", &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Saving with nothing ticked re-enables everything.
    let cleared = console
        .post("/console/frameworks/soc2", &[("csrf", &csrf)])
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.html);
    assert!(disabled_ids(&api_controls(&app, "soc2").await).is_empty());

    // The enabled frameworks: an explicit selection, a plan-locked one refused, then the default.
    let selection = || {
        let app = &app;
        async move {
            app.get(
                &app.org_path(&app.org_id, "/compliance/frameworks"),
                &app.owner_key,
            )
            .await
            .body
        }
    };
    let only = console
        .post(
            "/console/frameworks",
            &[
                ("csrf", &csrf),
                ("enabled", "soc2"),
                ("enabled", "iso27001"),
            ],
        )
        .await;
    assert_eq!(only.status, StatusCode::SEE_OTHER, "{}", only.html);
    assert_eq!(
        selection().await["enabled_keys"],
        json!(["soc2", "iso27001"])
    );
    let locked = api.body["available"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["plan_locked"] == true))
        .and_then(|f| f["key"].as_str())
        .map(str::to_owned);
    if let Some(locked) = locked {
        let refused = console
            .post(
                "/console/frameworks",
                &[("csrf", &csrf), ("enabled", &locked)],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::PAYMENT_REQUIRED,
            "{}",
            refused.html
        );
        assert!(refused.html.contains("role=\"alert\""), "{}", refused.html);
        assert_eq!(
            selection().await["enabled_keys"],
            json!(["soc2", "iso27001"])
        );
    }
    let reset = console
        .post("/console/frameworks", &[("csrf", &csrf), ("reset", "1")])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.html);
    assert_eq!(selection().await["default_all_enabled"], true);
    let audited = app
        .audit_actions(&app.org_id, "target_type=compliance_frameworks")
        .await;
    assert_eq!(
        audited
            .iter()
            .filter(|a| *a == "COMPLIANCE_FRAMEWORKS_UPDATED")
            .count(),
        2,
        "{audited:?}"
    );
}

async fn the_console_forms_need_the_session_csrf_token(app: TestApp) {
    let console = signed_in(&app, &app.owner_key).await;
    let page = console.get("/console/frameworks/soc2").await;
    let csrf = page.csrf().expect("csrf");
    for path in ["/console/frameworks/soc2", "/console/frameworks"] {
        let missing = console
            .post(path, &[("disabled", "CC6.1"), ("enabled", "soc2")])
            .await;
        assert_eq!(
            missing.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            missing.html
        );
        let wrong = console
            .post(
                path,
                &[("csrf", "0000"), ("disabled", "CC6.1"), ("enabled", "soc2")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Cross-site, even with the token.
    let cross = reqwest::Client::new()
        .post(app.url("/console/frameworks/soc2"))
        .header("origin", "https://evil.example")
        .header("cookie", console.cookie.clone().unwrap_or_default())
        .form(&[("csrf", csrf.as_str()), ("disabled", "CC6.1")])
        .send()
        .await
        .expect("sent");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(disabled_ids(&api_controls(&app, "soc2").await).is_empty());
    let selection = app
        .get(
            &app.org_path(&app.org_id, "/compliance/frameworks"),
            &app.owner_key,
        )
        .await;
    assert_eq!(selection.body["default_all_enabled"], true);
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// upload-url, PUT, verify (with optional dates) as the owner; returns (evidence id, object key).
async fn verified_evidence(
    app: &TestApp,
    filename: &str,
    bytes: &[u8],
    dates: Value,
) -> (String, String) {
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &app.owner_key,
            json!({ "filename": filename, "content_type": "text/plain" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let object_key = resp.body["object_key"].as_str().expect("key").to_owned();
    let put = app
        .client
        .put(resp.body["upload_url"].as_str().expect("url"))
        .header("content-type", "text/plain")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("PUT sent");
    assert!(put.status().is_success(), "PUT {}", put.status());
    let mut body = json!({ "object_key": object_key, "expected_hash": sha256_hex(bytes) });
    if let (Some(body), Some(dates)) = (body.as_object_mut(), dates.as_object()) {
        body.extend(dates.clone());
    }
    let verified = app
        .post(
            &app.org_path(&app.org_id, "/evidence/verify"),
            &app.owner_key,
            body,
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    (
        verified.body["id"].as_str().expect("id").to_owned(),
        object_key,
    )
}

async fn auditors_read_frameworks_and_evidence_without_any_form(app: TestApp) {
    leaky_repo(&app).await;
    verified_evidence(&app, "policy.txt", b"the policy", json!({})).await;
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let console = signed_in(&app, &auditor.key).await;
    for path in [
        "/console/frameworks",
        "/console/frameworks/soc2",
        "/console/evidence",
    ] {
        let page = console.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert_eq!(
            page.html.matches("method=\"post\"").count(),
            1,
            "{path}: only sign-out posts: {}",
            page.html
        );
        assert!(page.html.contains("action=\"/console/sign-out\""));
        assert!(!page.html.contains("type=\"checkbox\""), "{path}");
        assert!(!page.html.contains("Save "), "{path}");
        assert!(
            page.html.contains("href=\"/console/frameworks\"")
                && page.html.contains("href=\"/console/evidence\""),
            "{path}: nav entries"
        );
    }
    let frameworks = console.get("/console/frameworks/soc2").await;
    assert!(frameworks.html.contains("in scope"), "{}", frameworks.html);
    assert!(
        console
            .get("/console/evidence")
            .await
            .html
            .contains("policy.txt")
    );
    // Cedar refuses the posts anyway.
    let csrf = frameworks.csrf().expect("csrf");
    let refused = console
        .post(
            "/console/frameworks/soc2",
            &[("csrf", &csrf), ("disabled", "CC6.1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    let refused = console
        .post(
            "/console/frameworks",
            &[("csrf", &csrf), ("enabled", "soc2")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(disabled_ids(&api_controls(&app, "soc2").await).is_empty());
}

async fn evidence_lists_verified_uploads_and_downloads_them(app: TestApp) {
    let bytes = b"access review, Q4, signed".as_slice();
    let hash = sha256_hex(bytes);
    let (id, object_key) = verified_evidence(&app, "access-review.csv", bytes, json!({})).await;
    let link = app
        .post(
            &app.org_path(&app.org_id, &format!("/evidence/{id}/link-to-control")),
            &app.owner_key,
            json!({ "control_id": "CC6.1", "framework_id": "soc2", "object_key": object_key }),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{:?}", link.body);
    let soon = (chrono::Utc::now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let (expiring, _) = verified_evidence(
        &app,
        "pentest.pdf",
        b"pentest report",
        json!({ "expires_at": soon }),
    )
    .await;
    let (stale, _) = verified_evidence(
        &app,
        "old-policy.txt",
        b"last year's policy",
        json!({ "effective_date": "2024-01-01" }),
    )
    .await;

    let console = signed_in(&app, &app.owner_key).await;
    let page = console.get("/console/evidence").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let row = |id: &str| {
        let at = page
            .html
            .find(&format!("id=\"evidence-{id}\""))
            .unwrap_or_else(|| panic!("row {id}: {}", page.html));
        let rest = &page.html[at..];
        rest[..rest.find("</tr>").expect("row end")].to_owned()
    };
    let fresh = row(&id);
    assert!(fresh.contains("access-review.csv"), "{fresh}");
    assert!(fresh.contains(&hash), "{fresh}");
    assert!(fresh.contains(&format!("{} B", bytes.len())), "{fresh}");
    assert!(fresh.contains("verified"), "{fresh}");
    assert!(fresh.contains(">fresh"), "{fresh}");
    assert!(fresh.contains("soc2:CC6.1"), "{fresh}");
    let download = format!("href=\"/console/evidence/{id}/download\"");
    assert!(fresh.contains(&download), "{fresh}");
    assert!(row(&expiring).contains("expires in "), "{}", row(&expiring));
    assert!(
        row(&stale).contains("stale since 2024-12-31"),
        "{}",
        row(&stale)
    );

    // The link answers 303 to the presigned URL; the URL returns the bytes.
    let redirect = console
        .get(&format!("/console/evidence/{id}/download"))
        .await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.html);
    let url = redirect.location().expect("presigned url").to_owned();
    let got = app.client.get(&url).send().await.expect("download");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), bytes);
    let audited = app.audit_actions(&app.org_id, "target_type=evidence").await;
    assert!(
        audited.iter().any(|a| a == "EVIDENCE_DOWNLOAD_URL_ISSUED"),
        "{audited:?}"
    );
    // Auditors download too, as the API lets them.
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let as_auditor = signed_in(&app, &auditor.key).await;
    assert!(
        as_auditor
            .get("/console/evidence")
            .await
            .html
            .contains(&download)
    );
    assert_eq!(
        as_auditor
            .get(&format!("/console/evidence/{id}/download"))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        console
            .get("/console/evidence/00000000-0000-0000-0000-000000000000/download")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Another tenant: our evidence is not found, and its list shows none of ours.
    let (_, other_key) = app.other_tenant("other").await;
    let outsider = signed_in(&app, &other_key).await;
    assert_eq!(
        outsider
            .get(&format!("/console/evidence/{id}/download"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        outsider
            .get(&format!("/console/evidence/{hash}/download"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let theirs = outsider.get("/console/evidence").await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.html);
    assert!(!theirs.html.contains("access-review.csv"));
    assert!(theirs.html.contains("No verified evidence yet"));
}
