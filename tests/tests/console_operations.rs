//! The console's operations pages over HTTP on both backends (issue 17): agents (with the revoke
//! form), compliance packages (with their PDF and bundle downloads), policy documents and
//! auditor exports (with the artifact download). Data is seeded through the API; each page lists
//! it for the owner, an auditor reads every page with no form but sign-out, another tenant's
//! ids are 404, and revoking through the console needs the CSRF token, the confirmation and the
//! right Cedar gives.

use grc::domain::Role;
use grc_tests::{TestApp, TestKey, both_backends, heartbeat_body, json};
use reqwest::StatusCode;
use serde_json::Value;

both_backends!(
    the_owner_sees_agents_packages_policies_and_exports,
    auditors_read_every_page_with_no_form_but_sign_out,
    another_tenants_ids_are_not_found,
    revoking_an_agent_needs_csrf_confirmation_and_the_right,
);

/// What one org holds: an agent that has reported, a package of it, a policy and an export.
struct Seeded {
    agent_id: String,
    package_id: String,
    policy_id: String,
    export_id: String,
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().expect(field).to_owned()
}

async fn seed(app: &TestApp, org: &str, key: &str, agent_name: &str) -> Seeded {
    let agent = app.agent_in(org, key, agent_name).await;
    let beat = app
        .heartbeat(
            &agent.agent_id,
            &agent.credential,
            heartbeat_body(agent_name, &["10.0.0.7"]),
        )
        .await;
    assert_eq!(beat.status, StatusCode::ACCEPTED, "{:?}", beat.body);
    let package = app.generate_package(key, &agent.agent_id).await;
    assert_eq!(package.status, StatusCode::CREATED, "{:?}", package.body);
    let policy = app
        .create_policy(
            org,
            key,
            json!({
                "key": "acceptable-use",
                "title": "Acceptable use",
                "body": "# Acceptable use\n\nNo <script>alert(1)</script> in policies.\n",
            }),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{:?}", policy.body);
    let export = app
        .request_export(
            org,
            key,
            json!({ "kind": "policy_register", "format": "csv" }),
        )
        .await;
    assert_eq!(export.status, StatusCode::CREATED, "{:?}", export.body);
    Seeded {
        agent_id: agent.agent_id,
        package_id: id(&package.body, "id"),
        policy_id: id(&policy.body, "id"),
        export_id: id(&export.body, "id"),
    }
}

async fn signed_in(app: &TestApp, key: &str) -> grc_tests::console::ConsoleClient {
    let mut console = app.console();
    let page = console.sign_in(key).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    console
}

async fn auditor(app: &TestApp) -> TestKey {
    app.create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await
}

/// The pages, with what each must show of `s`.
fn pages(s: &Seeded) -> Vec<(String, String)> {
    vec![
        ("/console/agents".into(), s.agent_id.clone()),
        (format!("/console/agents/{}", s.agent_id), "runner-1".into()),
        ("/console/packages".into(), s.package_id.clone()),
        ("/console/policy-documents".into(), s.policy_id.clone()),
        (
            format!("/console/policy-documents/{}", s.policy_id),
            "Acceptable use".into(),
        ),
        ("/console/exports".into(), s.export_id.clone()),
    ]
}

async fn the_owner_sees_agents_packages_policies_and_exports(app: TestApp) {
    let (org, key) = (app.org_id.clone(), app.owner_key.clone());
    let s = seed(&app, &org, &key, "runner-1").await;
    let console = signed_in(&app, &key).await;

    for (path, shown) in pages(&s) {
        let page = console.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert!(
            page.html.contains(&shown),
            "{path} shows {shown}: {}",
            page.html
        );
    }
    let overview = console.get("/console/").await;
    for nav in [
        "/console/agents",
        "/console/packages",
        "/console/policy-documents",
        "/console/exports",
    ] {
        assert!(
            overview.html.contains(&format!("href=\"{nav}\"")),
            "{nav} in the navigation"
        );
    }

    let agents = console.get("/console/agents").await;
    assert!(agents.html.contains("runner-1") && agents.html.contains("online"));
    let agent = console
        .get(&format!("/console/agents/{}", s.agent_id))
        .await;
    assert!(agent.html.contains("id=\"revoke-form\""), "{}", agent.html);
    assert!(agent.html.contains("0.1.0"), "the reported version");
    assert!(agent.html.contains("No configuration approved yet."));
    assert!(
        !agent.html.contains("credential_hash") && !agent.html.contains("BEGIN CERTIFICATE"),
        "no secret or certificate body"
    );

    let packages = console.get("/console/packages").await;
    assert!(packages.html.contains("soc2"), "{}", packages.html);
    assert!(
        packages
            .html
            .contains(&format!("href=\"/console/packages/{}/pdf\"", s.package_id))
    );
    assert!(
        console
            .get(&format!("/console/packages?agent_id={}", s.agent_id))
            .await
            .html
            .contains(&s.package_id)
    );

    // The PDF and the bundle come through the console as the API sends them.
    let pdf = console
        .download(&format!("/console/packages/{}/pdf", s.package_id))
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF"), "a PDF");
    let bundle = console
        .download(&format!("/console/packages/{}/bundle", s.package_id))
        .await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.header("content-type"), "application/zip");
    assert!(bundle.bytes.starts_with(b"PK"), "a zip");
    let downloads = app
        .audit_actions(&org, "action=compliance.downloaded")
        .await;
    assert_eq!(downloads.len(), 2, "each download audited: {downloads:?}");

    // The policy text is escaped text, never HTML.
    let policy = console
        .get(&format!("/console/policy-documents/{}", s.policy_id))
        .await;
    assert!(
        policy
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(!policy.html.contains("<script>alert"));
    assert!(policy.html.contains("id=\"policy-text\""));
    assert!(policy.html.contains("COMPLIANCE_POLICY_CREATED"), "events");
    assert!(policy.html.contains("draft"));

    // The export's artifact: the API's bytes.
    let exports = console.get("/console/exports").await;
    assert!(exports.html.contains("Policy register"), "{}", exports.html);
    let link = format!("/console/exports/{}/artifact", s.export_id);
    assert!(exports.html.contains(&format!("href=\"{link}\"")));
    let artifact = console.download(&link).await;
    assert_eq!(artifact.status, StatusCode::OK);
    let api = app.export_artifact(&org, &key, &s.export_id).await;
    assert_eq!(artifact.bytes, api.bytes);
    assert_eq!(
        artifact.header("x-content-sha256"),
        api.header("x-content-sha256")
    );
}

async fn auditors_read_every_page_with_no_form_but_sign_out(app: TestApp) {
    let (org, key) = (app.org_id.clone(), app.owner_key.clone());
    let s = seed(&app, &org, &key, "runner-1").await;
    let auditor = auditor(&app).await;
    let console = signed_in(&app, &auditor.key).await;
    for (path, shown) in pages(&s) {
        let page = console.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert!(page.html.contains(&shown), "{path} shows {shown}");
        assert_eq!(
            page.html.matches("<form").count(),
            1,
            "{path}: only sign-out: {}",
            page.html
        );
        assert!(page.html.contains("action=\"/console/sign-out\""));
        assert!(!page.html.contains("revoke-form") && !page.html.contains("Revoke agent"));
    }
    // Reads the API lets auditors make: the PDF and the export's artifact.
    let pdf = console
        .download(&format!("/console/packages/{}/pdf", s.package_id))
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.bytes.starts_with(b"%PDF"));
    let artifact = console
        .download(&format!("/console/exports/{}/artifact", s.export_id))
        .await;
    assert_eq!(artifact.status, StatusCode::OK);
}

async fn another_tenants_ids_are_not_found(app: TestApp) {
    let (org_b, key_b) = app.other_tenant("beta").await;
    let theirs = seed(&app, &org_b, &key_b, "their-runner").await;
    let console = signed_in(&app, &app.owner_key).await;
    for path in [
        format!("/console/agents/{}", theirs.agent_id),
        format!("/console/policy-documents/{}", theirs.policy_id),
    ] {
        let page = console.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.html);
    }
    for path in [
        format!("/console/packages/{}/pdf", theirs.package_id),
        format!("/console/packages/{}/bundle", theirs.package_id),
        format!("/console/exports/{}/artifact", theirs.export_id),
    ] {
        let got = console.download(&path).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Not listed either.
    for (path, id) in [
        ("/console/agents", &theirs.agent_id),
        ("/console/packages", &theirs.package_id),
        ("/console/policy-documents", &theirs.policy_id),
        ("/console/exports", &theirs.export_id),
    ] {
        let page = console.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.html.contains(id.as_str()), "{path}");
    }
    // Revoking their agent from this console is a 404 and changes nothing.
    let csrf = console.get("/console/agents").await.csrf().expect("csrf");
    let attempt = console
        .post(
            &format!("/console/agents/{}/revoke", theirs.agent_id),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(attempt.status, StatusCode::NOT_FOUND, "{}", attempt.html);
    let agent = app
        .get(
            &app.org_path(&org_b, &format!("/agents/{}", theirs.agent_id)),
            &key_b,
        )
        .await;
    assert_eq!(agent.body["revoked_at"], Value::Null, "{:?}", agent.body);
}

async fn revoking_an_agent_needs_csrf_confirmation_and_the_right(app: TestApp) {
    let (org, key) = (app.org_id.clone(), app.owner_key.clone());
    let agent = app.agent_in(&org, &key, "to-revoke").await;
    let kept = app.agent_in(&org, &key, "kept").await;
    let api_status = async |id: &str| {
        let resp = app
            .get(&app.org_path(&org, &format!("/agents/{id}")), &key)
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        resp.body["status"].as_str().expect("status").to_owned()
    };
    let revoke = format!("/console/agents/{}/revoke", agent.agent_id);

    // An auditor sees no form, and posting one anyway is refused by Cedar.
    let auditor = auditor(&app).await;
    let as_auditor = signed_in(&app, &auditor.key).await;
    let page = as_auditor
        .get(&format!("/console/agents/{}", kept.agent_id))
        .await;
    assert!(!page.html.contains("revoke-form"));
    let csrf = page.csrf().expect("csrf");
    let refused = as_auditor
        .post(
            &format!("/console/agents/{}/revoke", kept.agent_id),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    // Cedar answers before the form is looked at: unconfirmed is a 403 too, not a 400.
    let unconfirmed = as_auditor
        .post(
            &format!("/console/agents/{}/revoke", kept.agent_id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::FORBIDDEN,
        "{}",
        unconfirmed.html
    );
    assert_ne!(api_status(&kept.agent_id).await, "revoked");

    let console = signed_in(&app, &key).await;
    let page = console
        .get(&format!("/console/agents/{}", agent.agent_id))
        .await;
    assert!(page.html.contains("id=\"revoke-form\""), "{}", page.html);
    let csrf = page.csrf().expect("csrf");

    // No token, a wrong token: 403, nothing revoked.
    let missing = console.post(&revoke, &[("confirm", "yes")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.html);
    let wrong = console
        .post(&revoke, &[("csrf", "0000"), ("confirm", "yes")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // The token of another session does not do either.
    let other_session = as_auditor
        .get("/console/agents")
        .await
        .csrf()
        .expect("csrf");
    let crossed = console
        .post(&revoke, &[("csrf", &other_session), ("confirm", "yes")])
        .await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
    // Unconfirmed: the page again with an alert, 400.
    let unconfirmed = console.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(
        unconfirmed.html.contains("role=\"alert\""),
        "{}",
        unconfirmed.html
    );
    assert_ne!(api_status(&agent.agent_id).await, "revoked");

    // Confirmed with the token: revoked, Post/Redirect/Get back to the agent.
    let done = console
        .post(&revoke, &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let back = format!("/console/agents/{}", agent.agent_id);
    assert_eq!(done.location(), Some(back.as_str()));
    assert_eq!(api_status(&agent.agent_id).await, "revoked");
    assert_eq!(
        app.audit_actions(&org, "action=AGENT_REVOKED").await.len(),
        1,
        "audited once"
    );
    let after = console.get(&back).await;
    assert!(after.html.contains("revoked"));
    assert!(
        !after.html.contains("revoke-form"),
        "a revoked agent offers no revoke"
    );
    // Its credential is refused from now on.
    let beat = app
        .heartbeat(
            &agent.agent_id,
            &agent.credential,
            heartbeat_body("to-revoke", &[]),
        )
        .await;
    assert_eq!(beat.status, StatusCode::UNAUTHORIZED);
    assert_ne!(api_status(&kept.agent_id).await, "revoked");
}
