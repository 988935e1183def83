//! The web console in a real headless Chromium that can reach loopback only (issue 17): sign in,
//! see a repository's score and trend chart, write an invalid Cedar policy and see the
//! diagnostic at its line, verify the audit chain, sign out; an auditor's pages offer no control
//! that changes anything; no serious or critical accessibility violation (axe-core) on the main
//! pages. One backend: what the browser sees does not depend on it (tests/tests/console.rs runs
//! the same flows over HTTP on both).

use fantoccini::Locator;
use grc::domain::Role;
use grc_tests::{Backend, TestApp, browser::Browser, spawn_app};

async fn sign_in(browser: &Browser, app: &TestApp, key: &str) {
    browser.goto(&app.url("/console/sign-in")).await;
    let c = browser.client();
    c.find(Locator::Css("#api_key"))
        .await
        .expect("key field")
        .send_keys(key)
        .await
        .expect("typed");
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('nav') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
}

async fn assert_accessible(browser: &Browser, page: &str) {
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "{page}: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_lead_and_an_auditor_use_the_console() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start(true).await else {
        return;
    };
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "payments-api", &["python"])
        .await;
    let pushed = app
        .push_json_scan(repo, serde_json::json!({ "findings": [] }))
        .await;
    assert!(pushed.status.is_success(), "{:?}", pushed.body);

    sign_in(&browser, &app, &app.owner_key).await;
    assert_accessible(&browser, "overview").await;
    let c = browser.client();
    c.find(Locator::LinkText("payments-api"))
        .await
        .expect("repository link")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#trend-chart circle') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    let score = browser
        .eval("document.querySelector('#overall-score').textContent")
        .await;
    assert!(
        score.as_str().is_some_and(|s| s.parse::<u32>().is_ok()),
        "{score}"
    );
    assert_accessible(&browser, "repository").await;
    // `GRC_CONSOLE_SCREENSHOT=docs/console.png` refreshes the README's screenshot.
    if let Ok(path) = std::env::var("GRC_CONSOLE_SCREENSHOT") {
        std::fs::write(path, browser.screenshot_png().await).expect("screenshot written");
    }

    // An invalid policy: the diagnostic names its line, and the line is marked.
    browser.goto(&app.url("/console/policies")).await;
    let textarea = c.find(Locator::Css("#policy")).await.expect("editor");
    textarea
        .send_keys("permit (principal, action, resource)\nwhen { principal.nope };")
        .await
        .expect("typed");
    c.find(Locator::XPath("//button[text()='Validate']"))
        .await
        .expect("validate")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#validation') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    let diagnostic = browser
        .eval("document.querySelector('#validation').textContent")
        .await;
    assert!(
        diagnostic
            .as_str()
            .is_some_and(|d| d.contains("Line 2, column")),
        "{diagnostic}"
    );
    assert_eq!(
        browser
            .eval("document.querySelector('#line-2 mark') !== null")
            .await,
        true
    );
    assert_accessible(&browser, "policies").await;

    // Verify the audit chain.
    browser.goto(&app.url("/console/audit")).await;
    c.find(Locator::XPath("//button[text()='Verify chain']"))
        .await
        .expect("verify")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#chain-result') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    let result = browser
        .eval("document.querySelector('#chain-result').textContent")
        .await;
    assert!(
        result
            .as_str()
            .is_some_and(|r| r.contains("Chain verified")),
        "{result}"
    );
    assert_accessible(&browser, "audit log").await;
    assert!(browser.external_requests().await.is_empty());
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "CSP or script errors: {errors:?}");
    let png = browser.screenshot_png().await;
    assert!(png.starts_with(b"\x89PNG"));

    // Sign out: the console asks to sign in again.
    c.find(Locator::XPath("//button[text()='Sign out']"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#api_key') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    browser.goto(&app.url("/console/")).await;
    assert_eq!(
        browser
            .eval("document.querySelector('#api_key') !== null")
            .await,
        true
    );

    // An auditor finds no control that changes anything on any page.
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    sign_in(&browser, &app, &auditor.key).await;
    let mut pages: Vec<String> = serde_json::from_value(
        browser
            .eval("[...document.querySelectorAll('nav a[href^=\"/console/\"]')].map(a => a.getAttribute('href'))")
            .await,
    )
    .expect("navigation links");
    assert!(pages.len() >= 10, "{pages:?}");
    pages.push(format!("/console/repos/{repo}"));
    for path in &pages {
        browser.goto(&app.url(path)).await;
        let posting = browser
            .eval("[...document.querySelectorAll('form')].filter(f => f.method === 'post' && !f.action.endsWith('/console/sign-out')).length")
            .await;
        assert_eq!(posting, 0, "{path}");
        let textareas = browser
            .eval("document.querySelectorAll('textarea, input[type=file]').length")
            .await;
        assert_eq!(textareas, 0, "{path}");
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_engineer_runs_explain() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start(true).await else {
        return;
    };
    let members = app
        .get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    let owner_id = members.body["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "owner"))
        .and_then(|m| m["user_id"].as_str())
        .expect("an owner")
        .to_owned();

    sign_in(&browser, &app, &app.owner_key).await;
    browser.goto(&app.url("/console/policies")).await;
    let c = browser.client();
    c.find(Locator::Css("#explain-principal"))
        .await
        .expect("principal select")
        .select_by_value(&format!("User::\"{owner_id}\""))
        .await
        .expect("principal chosen");
    c.find(Locator::Css("#explain-action"))
        .await
        .expect("action select")
        .select_by_value("member.create")
        .await
        .expect("action chosen");
    c.find(Locator::XPath("//button[text()='Explain']"))
        .await
        .expect("explain button")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#explain-decision') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    let decision = browser
        .eval("document.querySelector('#explain-decision').textContent")
        .await;
    assert!(
        decision.as_str().is_some_and(|d| d.contains("allow")),
        "{decision}"
    );
    let policies = browser
        .eval("document.querySelector('#explain-policies').textContent")
        .await;
    assert!(
        policies
            .as_str()
            .is_some_and(|p| p.contains("role.owner_admin")),
        "{policies}"
    );
    assert_accessible(&browser, "policies with an explained decision").await;

    // The plugins page, with a plugin listed (its table, toggle and dry-run form).
    let uploaded = app
        .upload_plugin(
            &app.org_id,
            &app.owner_key,
            grc_tests::guest_component("license_policy_plugin"),
        )
        .await;
    assert!(uploaded.status.is_success(), "{:?}", uploaded.body);
    browser.goto(&app.url("/console/plugins")).await;
    assert_eq!(
        browser
            .eval("document.querySelector('#upload-form input[type=file]') !== null && document.querySelector('#plugins') !== null")
            .await,
        true
    );
    assert_accessible(&browser, "plugins").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "CSP or script errors: {errors:?}");
    browser.close().await;
}

/// Reads `#overall-score` on the repository page.
async fn overall_score_of(browser: &Browser, app: &TestApp, repo: i64) -> u32 {
    browser
        .goto(&app.url(&format!("/console/repos/{repo}")))
        .await;
    let score = browser
        .wait_until(
            "document.querySelector('#overall-score') && document.querySelector('#overall-score').textContent",
            grc_tests::browser::WAIT,
        )
        .await;
    score
        .as_str()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("a score: {score}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_disables_a_control_and_sees_the_score_change() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start(true).await else {
        return;
    };
    // A critical secret fails SOC 2 CC6.1.
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "payments-api", &["python"])
        .await;
    let scan = serde_json::json!({ "findings": [{ "tool": "gitleaks", "rule_id": "gitleaks.secret",
        "category": "secret", "severity": "critical", "file": "app/main.py", "line": 3, "message": "found" }] });
    let pushed = app.push_json_scan(repo, scan).await;
    assert!(pushed.status.is_success(), "{:?}", pushed.body);
    // One verified evidence, so the evidence page has a row to check.
    let bytes = b"access review, signed".to_vec();
    let issued = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &app.owner_key,
            serde_json::json!({ "filename": "access-review.csv", "content_type": "text/csv" }),
        )
        .await;
    assert!(issued.status.is_success(), "{:?}", issued.body);
    let put = app
        .client
        .put(issued.body["upload_url"].as_str().expect("upload url"))
        .body(bytes.clone())
        .send()
        .await
        .expect("PUT sent");
    assert!(put.status().is_success(), "PUT {}", put.status());
    let verified = app
        .post(
            &app.org_path(&app.org_id, "/evidence/verify"),
            &app.owner_key,
            serde_json::json!({ "object_key": issued.body["object_key"],
                "expected_hash": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)) }),
        )
        .await;
    assert!(verified.status.is_success(), "{:?}", verified.body);

    sign_in(&browser, &app, &app.owner_key).await;
    let before = overall_score_of(&browser, &app, repo).await;

    browser.goto(&app.url("/console/frameworks")).await;
    assert_accessible(&browser, "frameworks").await;
    let c = browser.client();
    c.find(Locator::Css("a[href='/console/frameworks/soc2']"))
        .await
        .expect("SOC 2 link")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#controls-form') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    assert_accessible(&browser, "framework controls").await;
    c.find(Locator::Css("input[name='disabled'][value='CC6.1']"))
        .await
        .expect("CC6.1 checkbox")
        .click()
        .await
        .expect("ticked");
    c.find(Locator::Css("#save-controls"))
        .await
        .expect("save button")
        .click()
        .await
        .expect("clicked");
    browser
        .wait_until(
            "document.querySelector('#saved') !== null",
            grc_tests::browser::WAIT,
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector(\"input[name='disabled'][value='CC6.1']\").checked")
            .await,
        true
    );

    let after = overall_score_of(&browser, &app, repo).await;
    assert!(after > before, "{before} → {after}");

    browser.goto(&app.url("/console/evidence")).await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#evidence-table a.download').length")
            .await,
        1
    );
    assert_accessible(&browser, "evidence").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "CSP or script errors: {errors:?}");
    browser.close().await;
}

/// Every page the owner's navigation offers, and every console page those pages link to (one
/// level, downloads aside): axe-core finds no serious or critical violation, the browser logs no
/// error (a CSP refusal would be one), and nothing is fetched from outside. A page module added
/// later is checked without touching this test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_passes_axe() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start(true).await else {
        return;
    };
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "payments-api", &["python"])
        .await;
    let pushed = app
        .push_json_scan(repo, serde_json::json!({ "findings": [] }))
        .await;
    assert!(pushed.status.is_success(), "{:?}", pushed.body);
    sign_in(&browser, &app, &app.owner_key).await;

    let links = |scope: &'static str| {
        format!(
            "Array.from(document.querySelectorAll('{scope} a[href^=\"/console/\"]'))\
             .map(a => a.getAttribute('href'))\
             .filter(h => !/download|pdf|bundle|artifact|sign-out|[?#]/.test(h))"
        )
    };
    let nav: Vec<String> =
        serde_json::from_value(browser.eval(&links("nav")).await).expect("navigation links");
    assert!(nav.len() >= 10, "{nav:?}");
    let mut queue = nav.clone();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) || seen.len() > 40 {
            continue;
        }
        browser.goto(&app.url(&path)).await;
        browser
            .wait_until(
                "document.querySelector('main h1') !== null",
                grc_tests::browser::WAIT,
            )
            .await;
        assert_accessible(&browser, &path).await;
        let errors = browser.console_errors().await;
        assert!(errors.is_empty(), "{path}: {errors:?}");
        let external = browser.external_requests().await;
        assert!(external.is_empty(), "{path}: {external:?}");
        if nav.contains(&path) {
            let found: Vec<String> =
                serde_json::from_value(browser.eval(&links("main")).await).expect("page links");
            queue.extend(found);
        }
    }
    assert!(
        seen.len() > nav.len(),
        "detail pages were visited too: {seen:?}"
    );
    browser.close().await;
}
