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
    for path in [
        "/console/",
        "/console/audit",
        "/console/policies",
        &format!("/console/repos/{repo}"),
    ] {
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
