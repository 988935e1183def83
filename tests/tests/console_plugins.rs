//! The console's plugins page and the access policies page's explain playground, over HTTP on
//! both backends (issue 17): upload a component through the form, see it listed, disable and
//! enable it, dry-run it and read each control's outcome; refused uploads and inputs come back
//! with the API's message; forms need the session's CSRF token; auditors see the list alone.
//! Explain shows the decision and the policies that made it, and refuses bad input with a 422.

use grc::domain::Role;
use grc_tests::{
    TestApp, both_backends, console::ConsoleClient, control, finding, guest_component, json,
    scan_context,
};
use reqwest::StatusCode;
use serde_json::Value;

both_backends!(
    an_engineer_uploads_toggles_and_dry_runs_a_plugin,
    auditors_see_the_plugins_but_no_form,
    explain_shows_the_decision_and_the_policies_behind_it,
    auditors_cannot_explain_and_explaining_changes_nothing,
);

async fn signed_in(app: &TestApp, key: &str) -> ConsoleClient {
    let mut console = app.console();
    let page = console.sign_in(key).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    console
}

/// The text of the first `<textarea>` after `id`, unescaped.
fn textarea_after(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).expect("textarea");
    let start = at + html[at..].find('>').expect("open tag end") + 1;
    let end = start + html[start..].find("</textarea>").expect("close tag");
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn plugin_list(app: &TestApp) -> Value {
    let list = app
        .get(&app.org_path(&app.org_id, "/plugins"), &app.owner_key)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    list.body["plugins"].clone()
}

async fn an_engineer_uploads_toggles_and_dry_runs_a_plugin(app: TestApp) {
    let console = signed_in(&app, &app.owner_key).await;
    let page = console.get("/console/plugins").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("No plugins uploaded yet"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("enctype=\"multipart/form-data\"")
            && page.html.contains("type=\"file\""),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("href=\"/console/plugins\""),
        "in the nav"
    );
    let csrf = page.csrf().expect("csrf");
    let bytes = guest_component("license_policy_plugin");

    // No CSRF token, or a wrong one: refused before anything is stored.
    let no_token = console
        .post_multipart(
            "/console/plugins",
            &[],
            ("component", "plugin.wasm", &bytes),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{}", no_token.html);
    let wrong = console
        .post_multipart(
            "/console/plugins",
            &[("csrf", "0000")],
            ("component", "plugin.wasm", &bytes),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(plugin_list(&app).await, json!([]));

    // Not a component: the API's 400 and its message, on the page.
    let invalid = console
        .post_multipart(
            "/console/plugins",
            &[("csrf", &csrf)],
            ("component", "notes.wasm", b"this is not wasm"),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.html);
    assert!(
        invalid.html.contains("role=\"alert\"")
            && invalid.html.contains("not a WebAssembly component"),
        "{}",
        invalid.html
    );
    let empty = console
        .post_multipart(
            "/console/plugins",
            &[("csrf", &csrf)],
            ("component", "empty.wasm", b""),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.html);
    assert!(empty.html.contains("choose a .wasm component"));

    // A real component: stored, listed.
    let uploaded = console
        .post_multipart(
            "/console/plugins",
            &[("csrf", &csrf)],
            ("component", "license_policy.wasm", &bytes),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.html);
    assert_eq!(uploaded.location(), Some("/console/plugins"));
    let plugins = plugin_list(&app).await;
    let id = plugins[0]["id"].as_str().expect("plugin id").to_owned();
    let sha = plugins[0]["sha256"].as_str().expect("sha").to_owned();
    assert_eq!(plugins[0]["enabled"], true);
    let listed = console.get("/console/plugins").await;
    assert!(
        listed.html.contains("acme.license_policy")
            && listed.html.contains("Enabled")
            && listed.html.contains(&sha[..16])
            && listed.html.contains(">Disable</button>"),
        "{}",
        listed.html
    );

    // The same bytes again: the API's conflict, shown on the page.
    let again = console
        .post_multipart(
            "/console/plugins",
            &[("csrf", &csrf)],
            ("component", "license_policy.wasm", &bytes),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(
        again.html.contains("already") && again.html.contains("id=\"upload-error\""),
        "{}",
        again.html
    );

    // Disable, then enable again.
    let toggle = format!("/console/plugins/{id}/enabled");
    let wrong = console
        .post(&toggle, &[("csrf", "0000"), ("enabled", "false")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let off = console
        .post(&toggle, &[("csrf", &csrf), ("enabled", "false")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.html);
    assert_eq!(plugin_list(&app).await[0]["enabled"], false);
    let listed = console.get("/console/plugins").await;
    assert!(
        listed.html.contains("Disabled") && listed.html.contains(">Enable</button>"),
        "{}",
        listed.html
    );
    let on = console
        .post(&toggle, &[("csrf", &csrf), ("enabled", "true")])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.html);
    assert_eq!(plugin_list(&app).await[0]["enabled"], true);

    // Dry run the prefilled example: it is a valid body and gives one outcome per control.
    let dry_run = format!("/console/plugins/{id}/dry-run");
    let example = textarea_after(&listed.html, &format!("dry-run-input-{id}"));
    let ran = console
        .post(&dry_run, &[("csrf", &csrf), ("input", &example)])
        .await;
    assert_eq!(ran.status, StatusCode::OK, "{example}\n{}", ran.html);
    assert!(ran.html.contains("id=\"dry-run-outcomes\""), "{}", ran.html);
    assert!(ran.html.contains("EX-1"), "{}", ran.html);

    // A GPL finding fails the license control, naming the finding.
    let mut gpl = finding("f1", "sca", "low");
    gpl["properties"] = json!({ "package": "pkg-f1", "license": "GPL-3.0" });
    let input = json!({
        "context": scan_context(json!([gpl])),
        "controls": [control("LIC-1", "acme.license_policy", "no_forbidden_licenses", json!({}))],
    })
    .to_string();
    let ran = console
        .post(&dry_run, &[("csrf", &csrf), ("input", &input)])
        .await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.html);
    assert!(
        ran.html.contains("outcome-fail")
            && ran.html.contains("LIC-1")
            && ran.html.contains("<code>f1</code>"),
        "{}",
        ran.html
    );

    // Input the API refuses: its message, on the page, with a 422.
    let not_json = console
        .post(&dry_run, &[("csrf", &csrf), ("input", "{ nope")])
        .await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        not_json.html.contains("id=\"dry-run-error\"")
            && not_json.html.contains("not a valid dry-run body"),
        "{}",
        not_json.html
    );
    let no_controls = json!({ "context": scan_context(json!([])), "controls": [] }).to_string();
    let refused = console
        .post(&dry_run, &[("csrf", &csrf), ("input", &no_controls)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.html.contains("role=\"alert\"") && refused.html.contains("give 1 to 1000 controls"),
        "{}",
        refused.html
    );
    let no_token = console
        .post(&dry_run, &[("csrf", ""), ("input", &input)])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    // Another org's (or no) plugin: not found, as the API answers.
    let unknown = console
        .post(
            &format!("/console/plugins/{}/dry-run", uuid::Uuid::new_v4()),
            &[("csrf", &csrf), ("input", &input)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let (other_org, other_key) = app.other_tenant("elsewhere").await;
    let foreign = app
        .upload_plugin(&other_org, &other_key, bytes.clone())
        .await;
    assert_eq!(foreign.status, StatusCode::CREATED, "{:?}", foreign.body);
    let foreign_id = foreign.body["id"].as_str().expect("id");
    let cross = console
        .post(
            &format!("/console/plugins/{foreign_id}/enabled"),
            &[("csrf", &csrf), ("enabled", "false")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND, "{}", cross.html);
}

async fn auditors_see_the_plugins_but_no_form(app: TestApp) {
    let uploaded = app
        .upload_plugin(
            &app.org_id,
            &app.owner_key,
            guest_component("license_policy_plugin"),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{:?}", uploaded.body);
    let id = uploaded.body["id"].as_str().expect("id").to_owned();
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let console = signed_in(&app, &auditor.key).await;
    let page = console.get("/console/plugins").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("acme.license_policy"), "{}", page.html);
    assert_eq!(
        page.html.matches("method=\"post\"").count(),
        1,
        "only sign-out posts: {}",
        page.html
    );
    assert!(
        !page.html.contains("type=\"file\"")
            && !page.html.contains("<textarea")
            && !page.html.contains(">Disable</button>"),
        "{}",
        page.html
    );
    // The forms would be refused anyway: Cedar decides, not the page.
    let csrf = page.csrf().expect("csrf");
    let upload = console
        .post_multipart(
            "/console/plugins",
            &[("csrf", &csrf)],
            (
                "component",
                "p.wasm",
                &guest_component("license_policy_plugin"),
            ),
        )
        .await;
    assert_eq!(upload.status, StatusCode::FORBIDDEN, "{}", upload.html);
    let toggle = console
        .post(
            &format!("/console/plugins/{id}/enabled"),
            &[("csrf", &csrf), ("enabled", "false")],
        )
        .await;
    assert_eq!(toggle.status, StatusCode::FORBIDDEN, "{}", toggle.html);
    assert_eq!(plugin_list(&app).await[0]["enabled"], true);
}

/// The user id of the org's owner.
async fn owner_user_id(app: &TestApp) -> String {
    let members = app
        .get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    members.body["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "owner"))
        .and_then(|m| m["user_id"].as_str())
        .expect("an owner")
        .to_owned()
}

fn explain_path(principal: &str, action: &str, resource: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("principal", principal)
        .append_pair("action", action)
        .append_pair("resource", resource)
        .finish();
    format!("/console/policies/explain?{q}")
}

/// The text of the element with `id` (up to its first closing tag of the same name, tags kept).
fn element(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} in {html}"));
    let open = html[..at].rfind('<').expect("open tag");
    let tag: String = html[open + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let end = at + html[at..].find(&format!("</{tag}>")).expect("close tag");
    html[open..end].to_owned()
}

async fn explain_shows_the_decision_and_the_policies_behind_it(app: TestApp) {
    let org = app.org_id.clone();
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    let member = app
        .create_key(&org, "mem@x.io", Role::Member, "read:* write:*")
        .await;
    let console = signed_in(&app, &app.owner_key).await;
    let page = console.get("/console/policies").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Explain a decision"), "{}", page.html);
    let auditor_uid = format!("User::\"{}\"", auditor.user_id);
    assert!(
        page.html
            .contains(&format!("value=\"User::&quot;{}&quot;\"", auditor.user_id))
            && page.html.contains("aud@x.io (auditor)"),
        "the members are offered: {}",
        page.html
    );
    assert!(
        page.html
            .contains(&format!("value=\"ApiKey::&quot;{}&quot;\"", member.key_id)),
        "the keys are offered"
    );
    assert!(page.html.contains("<option value=\"member.create\""));
    assert!(
        page.html
            .contains(&format!("value=\"Org::&quot;{org}&quot;\"")),
        "the resource defaults to the org"
    );
    let org_uid = format!("Org::\"{org}\"");

    // An auditor may not add members: denied, and the guardrails say why.
    let denied = console
        .get(&explain_path(&auditor_uid, "member.create", &org_uid))
        .await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.html);
    let decision = element(&denied.html, "explain-decision");
    assert!(decision.contains("deny"), "{decision}");
    let policies = element(&denied.html, "explain-policies");
    assert!(
        policies.contains("guard.auditor_read_only")
            && policies.contains("guard.manage_requires_admin")
            && policies.contains("Baseline policy"),
        "{policies}"
    );
    assert!(
        denied.html.contains(&format!(
            "value=\"User::&quot;{}&quot;\" selected",
            auditor.user_id
        )) && denied.html.contains("value=\"member.create\" selected"),
        "the choices are kept: {}",
        denied.html
    );

    // The owner may.
    let owner_uid = format!("User::\"{}\"", owner_user_id(&app).await);
    let allowed = console
        .get(&explain_path(
            &owner_uid,
            "Action::\"member.create\"",
            &org_uid,
        ))
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.html);
    assert!(element(&allowed.html, "explain-decision").contains("allow"));
    assert!(element(&allowed.html, "explain-policies").contains("role.owner_admin"));
    assert!(element(&allowed.html, "explain-context").contains("owner"));

    // An API key principal: its own scopes are used.
    let key_uid = format!("ApiKey::\"{}\"", member.key_id);
    let as_key = console
        .get(&explain_path(&key_uid, "org.read", &org_uid))
        .await;
    assert_eq!(as_key.status, StatusCode::OK, "{}", as_key.html);
    assert!(element(&as_key.html, "explain-decision").contains("allow"));
    assert!(element(&as_key.html, "explain-context").contains("member"));

    // A tenant policy that decides is named and linked to its text on the page.
    let created = app
        .post(
            &app.org_path(&org, "/access-policies"),
            &app.owner_key,
            json!({
                "name": "no-member-writes",
                "policy": "forbid (principal, action == Action::\"repo.create\", resource)\nwhen { principal.role == \"member\" };",
            }),
        )
        .await;
    assert!(created.status.is_success(), "{:?}", created.body);
    let policy_id = created.body["id"].as_str().expect("policy id");
    let member_uid = format!("User::\"{}\"", member.user_id);
    let tenant = console
        .get(&explain_path(&member_uid, "repo.create", &org_uid))
        .await;
    assert_eq!(tenant.status, StatusCode::OK, "{}", tenant.html);
    assert!(element(&tenant.html, "explain-decision").contains("deny"));
    let policies = element(&tenant.html, "explain-policies");
    assert!(
        policies.contains("Tenant policy")
            && policies.contains(&format!("href=\"#policy-{policy_id}\""))
            && policies.contains("no-member-writes"),
        "{policies}"
    );
    assert!(tenant.html.contains(&format!("id=\"policy-{policy_id}\"")));

    // Bad input: the API's message, a 422, never a 500.
    let malformed = console
        .get(&explain_path(&owner_uid, "member.create", "Org:nope"))
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        malformed.html
    );
    let alert = element(&malformed.html, "explain-error");
    assert!(
        alert.contains("role=\"alert\"") && alert.contains("expected an entity like Type::"),
        "{alert}"
    );
    let unknown = console
        .get(&explain_path(&owner_uid, "member.fly", &org_uid))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(element(&unknown.html, "explain-error").contains("unknown action"));
    let missing = console.get("/console/policies/explain").await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.html
    );
}

async fn auditors_cannot_explain_and_explaining_changes_nothing(app: TestApp) {
    let org = app.org_id.clone();
    let auditor = app
        .create_key(&org, "aud@x.io", Role::Auditor, "read:*")
        .await;
    // Cedar keeps authz.explain to owners and admins (it is a Manage action).
    let console = signed_in(&app, &auditor.key).await;
    let page = console.get("/console/policies").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(!page.html.contains("Explain a decision"), "{}", page.html);
    let org_uid = format!("Org::\"{org}\"");
    let uid = format!("User::\"{}\"", auditor.user_id);
    let refused = console.get(&explain_path(&uid, "org.read", &org_uid)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);

    // An owner's explain writes nothing: the audit trail and the policies are unchanged.
    let audit_path = app.org_path(&org, "/audit-log");
    let before = app.get(&audit_path, &app.owner_key).await;
    assert_eq!(before.status, StatusCode::OK, "{:?}", before.body);
    let owner = signed_in(&app, &app.owner_key).await;
    let before = app.get(&audit_path, &app.owner_key).await;
    let explained = owner
        .get(&explain_path(&uid, "member.delete", &org_uid))
        .await;
    assert_eq!(explained.status, StatusCode::OK, "{}", explained.html);
    let after = app.get(&audit_path, &app.owner_key).await;
    assert_eq!(
        before.body, after.body,
        "explaining is not audited as a change"
    );
    let policies = app
        .get(&app.org_path(&org, "/access-policies"), &app.owner_key)
        .await;
    assert_eq!(policies.body["policies"], json!([]));
}
