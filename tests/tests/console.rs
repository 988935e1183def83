//! The web console over HTTP on both backends (issue 17): sign-in with an API key for an
//! HttpOnly, SameSite=Strict session; security headers; pages authorized by Cedar; CSRF on every
//! form; a revoked key ends its sessions; sign-out ends the session; an auditor's pages carry no
//! mutation control.

use grc::domain::Role;
use grc_tests::{TestApp, both_backends};
use reqwest::StatusCode;

both_backends!(
    sign_in_opens_a_session_that_ends_with_sign_out_or_the_key,
    forms_need_the_session_csrf_token,
    auditors_see_no_mutation_controls,
    a_repository_shows_its_score_controls_and_trend_chart,
    a_jwt_opens_a_session_that_ends_with_the_token,
);

async fn sign_in_opens_a_session_that_ends_with_sign_out_or_the_key(app: TestApp) {
    let org = app.org_id.clone();
    // Without a session every page sends the browser to sign in.
    let anonymous = app.console();
    let page = anonymous.get("/console/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/console/sign-in?reason=signed-out"));
    assert_eq!(app.console().get("/").await.location(), Some("/console/"));

    let mut console = app.console();
    let refused = console.sign_in("sk-not-a-key").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(console.cookie.is_none());

    let key = app
        .create_key(&org, "admin@x.io", Role::Admin, "read:* write:* admin:org")
        .await;
    let signed_in = console.sign_in(&key.key).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    let set_cookie = signed_in
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains(&key.key),
        "the key never goes into the cookie"
    );

    let overview = console.get("/console/").await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.html);
    assert!(overview.html.contains("admin@x.io"));
    assert!(
        overview.html.contains("href=\"/console/audit\""),
        "admins read the audit log"
    );
    let csp = overview
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(
        overview
            .headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert!(!overview.html.contains("https://"), "no external asset");

    // Verify the chain from the audit page; the sign-in is in the log.
    let audit = console.get("/console/audit?verify=1").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.html);
    assert!(audit.html.contains("Chain verified"), "{}", audit.html);
    assert!(audit.html.contains("CONSOLE_SIGNED_IN"));

    // Sign out: the cookie no longer opens anything.
    let csrf = overview.csrf().expect("csrf");
    let out = console.sign_out(&csrf).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(console.get("/console/").await.status, StatusCode::SEE_OTHER);

    // A revoked key ends the sessions it opened.
    let mut second = app.console();
    assert_eq!(second.sign_in(&key.key).await.status, StatusCode::SEE_OTHER);
    assert_eq!(second.get("/console/").await.status, StatusCode::OK);
    let revoked = app
        .delete(
            &app.org_path(&org, &format!("/api-keys/{}", key.key_id)),
            &app.owner_key,
        )
        .await;
    assert!(revoked.status.is_success(), "{:?}", revoked.body);
    let after = second.get("/console/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), Some("/console/sign-in?reason=key-ended"));
}

async fn forms_need_the_session_csrf_token(app: TestApp) {
    let mut console = app.console();
    assert_eq!(
        console.sign_in(&app.owner_key).await.status,
        StatusCode::SEE_OTHER
    );
    let page = console.get("/console/policies").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let csrf = page.csrf().expect("csrf");
    let policy = "permit (principal, action, resource)\nwhen { principal.nope };";

    let no_token = console
        .post("/console/policies", &[("name", "x"), ("policy", policy)])
        .await;
    assert_eq!(
        no_token.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a form without csrf does not even parse"
    );
    let wrong = console
        .post(
            "/console/policies",
            &[("csrf", "0000"), ("name", "x"), ("policy", policy)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.html);

    // The editor validates on the server and points at the line.
    let checked = console
        .post(
            "/console/policies/validate",
            &[("csrf", &csrf), ("name", "x"), ("policy", policy)],
        )
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.html);
    assert!(checked.html.contains("Line 2, column"), "{}", checked.html);
    assert!(checked.html.contains("id=\"line-2\""), "{}", checked.html);
    let saved_bad = console
        .post(
            "/console/policies",
            &[("csrf", &csrf), ("name", "x"), ("policy", policy)],
        )
        .await;
    assert_eq!(saved_bad.status, StatusCode::BAD_REQUEST);

    let good = "forbid (principal, action, resource)\nwhen { context.scopes.contains(\"read:audit\") && principal.role == \"member\" };";
    let saved = console
        .post(
            "/console/policies",
            &[
                ("csrf", &csrf),
                ("name", "members-no-audit"),
                ("policy", good),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let listed = app
        .get(
            &app.org_path(&app.org_id, "/access-policies"),
            &app.owner_key,
        )
        .await;
    assert_eq!(
        listed.body["policies"][0]["name"], "members-no-audit",
        "{:?}",
        listed.body
    );

    // A cross-site post is refused even with the token.
    let cross = reqwest::Client::new()
        .post(app.url("/console/sign-out"))
        .header("origin", "https://evil.example")
        .header("cookie", console.cookie.clone().unwrap_or_default())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
}

async fn auditors_see_no_mutation_controls(app: TestApp) {
    let org = app.org_id.clone();
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let mut console = app.console();
    assert_eq!(
        console.sign_in(&auditor.key).await.status,
        StatusCode::SEE_OTHER
    );
    // Every page the auditor's navigation offers (each page module adds itself there).
    let overview = console.get("/console/").await;
    let pages = nav_links(&overview.html);
    assert!(
        pages.len() >= 3 && pages.iter().any(|p| p == "/console/audit"),
        "{pages:?}"
    );
    for path in pages.iter().map(String::as_str) {
        let page = console.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        // The only form that posts is sign-out; no button or link changes anything.
        let posts = page.html.matches("method=\"post\"").count();
        assert_eq!(posts, 1, "{path}: {}", page.html);
        assert!(page.html.contains("action=\"/console/sign-out\""));
        assert!(
            !page.html.contains("Save policy") && !page.html.contains("Validate"),
            "{path}"
        );
    }
    // And the forms would be refused anyway: Cedar decides, not the page.
    let csrf = console.get("/console/").await.csrf().expect("csrf");
    let attempt = console
        .post(
            "/console/policies",
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("policy", "permit (principal, action, resource);"),
            ],
        )
        .await;
    assert_eq!(attempt.status, StatusCode::FORBIDDEN, "{}", attempt.html);
    // Members do not read the audit trail by default: the page is refused, not hidden alone.
    let member = app
        .create_key(&org, "mem@x.io", Role::Member, "read:* write:*")
        .await;
    let mut as_member = app.console();
    assert_eq!(
        as_member.sign_in(&member.key).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        as_member.get("/console/audit").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !as_member
            .get("/console/")
            .await
            .html
            .contains("href=\"/console/audit\"")
    );
}

async fn a_repository_shows_its_score_controls_and_trend_chart(app: TestApp) {
    let repo = app
        .create_repo(&app.org_id, &app.owner_key, "payments-api", &["python"])
        .await;
    for _ in 0..2 {
        let pushed = app
            .push_json_scan(repo, serde_json::json!({ "findings": [] }))
            .await;
        assert!(pushed.status.is_success(), "{:?}", pushed.body);
    }
    let mut console = app.console();
    assert_eq!(
        console.sign_in(&app.owner_key).await.status,
        StatusCode::SEE_OTHER
    );
    let idle = app
        .create_repo(&app.org_id, &app.owner_key, "never-scanned", &["go"])
        .await;
    let overview = console.get("/console/").await;
    assert!(
        overview
            .html
            .contains(&format!("href=\"/console/repos/{repo}\"")),
        "{}",
        overview.html
    );
    // Each repository with its score, posture and coverage, as the score API reports them.
    let score = app
        .get(
            &app.org_path(&app.org_id, &format!("/compliance/score/{repo}")),
            &app.owner_key,
        )
        .await;
    let summary = &score.body["executive_summary"];
    let row = overview
        .html
        .split("id=\"repositories-table\"")
        .nth(1)
        .and_then(|table| {
            table
                .split(&format!("href=\"/console/repos/{repo}\""))
                .nth(1)
        })
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        row.contains(&format!(">{}</td>", summary["overall_score"]))
            && row.contains(summary["posture"].as_str().unwrap_or("?")),
        "{row}"
    );
    // What needs attention: the repository that was never scanned.
    let attention = overview
        .html
        .split("id=\"attention-list\"")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_default();
    assert!(
        attention.contains(&format!("/console/repos/{idle}"))
            && attention.contains("never scanned"),
        "{}",
        overview.html
    );
    let page = console.get(&format!("/console/repos/{repo}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("id=\"overall-score\""));
    assert!(page.html.contains("id=\"trend-chart\""), "{}", page.html);
    let trend = app
        .get(
            &app.org_path(&app.org_id, &format!("/compliance/trend/{repo}")),
            &app.owner_key,
        )
        .await;
    let points = trend.body["points"].as_array().map_or(0, Vec::len);
    assert!(points >= 1, "{:?}", trend.body);
    assert_eq!(
        page.html.matches("<circle").count(),
        points,
        "one point per trend point"
    );
    assert!(
        page.html.contains("<td>pass</td>")
            || page.html.contains("<td>fail</td>")
            || page.html.contains("not assessed")
    );
    // Another org's repository is not found.
    let (other, other_key) = app.other_tenant("other").await;
    let _ = other;
    let mut outsider = app.console();
    assert_eq!(
        outsider.sign_in(&other_key).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        outsider.get(&format!("/console/repos/{repo}")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The console pages a page's navigation links to.
fn nav_links(html: &str) -> Vec<String> {
    let nav = html
        .split("<nav")
        .nth(1)
        .and_then(|rest| rest.split("</nav>").next())
        .unwrap_or_default();
    nav.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with("/console/"))
        .map(str::to_owned)
        .collect()
}

async fn a_jwt_opens_a_session_that_ends_with_the_token(app: TestApp) {
    let org = app.org_id.clone();
    // The org from the token's claim; the session lasts no longer than the token (10 minutes).
    let mut console = app.console();
    let token = app.jwt("owner@localhost", serde_json::json!({ "org_id": org }));
    let signed_in = console.sign_in(&token).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    let cookie = signed_in
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|v| v.parse().ok())
        .expect("max-age");
    assert!((1..=600).contains(&max_age), "{cookie}");
    let overview = console.get("/console/").await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.html);
    assert!(overview.html.contains("owner@localhost"));
    let entries = app.audit_actions(&org, "action=CONSOLE_SIGNED_IN").await;
    assert_eq!(entries.len(), 1, "{entries:?}");

    // A token naming no org needs the org id; an expired or foreign token is refused.
    let no_org = app.jwt("owner@localhost", serde_json::json!({}));
    let mut without = app.console();
    let refused = without.sign_in(&no_org).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.html.contains("names no organization"),
        "{}",
        refused.html
    );
    let with_org = without
        .post(
            "/console/sign-in",
            &[("api_key", &no_org), ("org_id", &org)],
        )
        .await;
    assert_eq!(with_org.status, StatusCode::SEE_OTHER, "{}", with_org.html);
    let expired = app.jwt(
        "owner@localhost",
        serde_json::json!({ "org_id": org, "exp": chrono::Utc::now().timestamp() - 3600 }),
    );
    assert_eq!(
        app.console().sign_in(&expired).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The token's scopes hold in the session: read-only scopes cannot save a policy.
    let read_only = app.jwt(
        "owner@localhost",
        serde_json::json!({ "org_id": org, "scope": "read:*" }),
    );
    let mut reader = app.console();
    assert_eq!(
        reader.sign_in(&read_only).await.status,
        StatusCode::SEE_OTHER
    );
    let page = reader.get("/console/policies").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(!page.html.contains("Save policy"));
    let csrf = page.csrf().expect("csrf");
    let attempt = reader
        .post(
            "/console/policies",
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("policy", "permit (principal, action, resource);"),
            ],
        )
        .await;
    assert_eq!(attempt.status, StatusCode::FORBIDDEN, "{}", attempt.html);
}
