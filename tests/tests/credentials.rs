//! The credential matrix on every route: no credential, malformed, unknown, revoked, expired,
//! wrong scope, wrong org, and an auditor attempting writes.

use grc::domain::{ApiKeySecret, Plan, Role};
use grc_tests::{Auth, TestApp, both_backends, json};
use reqwest::{Method, StatusCode};
use serde_json::Value;

both_backends!(
    unauthenticated_requests_get_401_everywhere,
    revoked_and_expired_keys_get_401_everywhere,
    key_without_scope_gets_missing_required_scope,
    key_of_another_org_is_not_a_member,
    auditor_cannot_write_and_nothing_is_written,
    x_api_key_header_and_bearer_are_equivalent,
);

struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    mutating: bool,
}

/// Every org-scoped route with a valid body, so only the credential decides the outcome.
fn routes(org: &str, some_user: &str, some_key: &str, some_policy: &str) -> Vec<Route> {
    let p = |rest: &str| format!("/api/v1/orgs/{org}{rest}");
    let policy = json!({ "name": "p", "policy": "permit(principal, action, resource);" });
    let r = |method: Method, path: String, body: Option<Value>, mutating: bool| Route {
        method,
        path,
        body,
        mutating,
    };
    vec![
        r(Method::GET, p(""), None, false),
        r(Method::GET, p("/members"), None, false),
        r(
            Method::POST,
            p("/members"),
            Some(json!({ "email": "new@x.io", "role": "member" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/members/{some_user}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/members/{some_user}")),
            Some(json!({ "role": "member" })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/members/{some_user}")),
            None,
            true,
        ),
        r(Method::GET, p("/api-keys"), None, false),
        r(
            Method::POST,
            p("/api-keys"),
            Some(json!({ "name": "k", "scopes": ["read:org"] })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/api-keys/{some_key}")),
            None,
            true,
        ),
        r(Method::GET, p("/access-policies"), None, false),
        r(
            Method::POST,
            p("/access-policies"),
            Some(policy.clone()),
            true,
        ),
        r(
            Method::POST,
            p("/access-policies/validate"),
            Some(json!({ "policy": "permit(principal, action, resource);" })),
            false,
        ),
        r(
            Method::GET,
            p(&format!("/access-policies/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PUT,
            p(&format!("/access-policies/{some_policy}")),
            Some(policy),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/access-policies/{some_policy}")),
            None,
            true,
        ),
        r(
            Method::POST,
            p("/authz/explain"),
            Some(
                json!({ "principal": format!("User::\"{some_user}\""), "action": "org.read", "resource": format!("Org::\"{org}\"") }),
            ),
            false,
        ),
        r(Method::GET, p("/audit-log"), None, false),
        r(Method::GET, p("/audit-log/verify"), None, false),
        r(Method::GET, p("/compliance/frameworks"), None, false),
        r(
            Method::PUT,
            p("/compliance/frameworks/enabled"),
            Some(json!({ "keys": ["soc2"] })),
            true,
        ),
        r(
            Method::GET,
            p("/compliance/frameworks/soc2/controls"),
            None,
            false,
        ),
        r(
            Method::PUT,
            p("/compliance/frameworks/soc2/controls"),
            Some(json!({ "disabled": ["CC8.1"] })),
            true,
        ),
        r(Method::GET, p("/repos"), None, false),
        r(
            Method::POST,
            p("/repos"),
            Some(json!({ "name": "r" })),
            true,
        ),
        r(Method::GET, p("/repos/1"), None, false),
        r(
            Method::PATCH,
            p("/repos/1"),
            Some(json!({ "name": "r2" })),
            true,
        ),
        r(Method::DELETE, p("/repos/1"), None, true),
        r(
            Method::POST,
            p("/evidence/upload-url"),
            Some(json!({ "filename": "a.csv", "content_type": "text/csv" })),
            true,
        ),
        r(
            Method::POST,
            p("/evidence/verify"),
            Some(json!({ "object_key": "k", "expected_hash": "h" })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/evidence/{some_policy}/link-to-control")),
            Some(json!({ "control_id": "CC6.1" })),
            true,
        ),
        r(Method::GET, p("/evidence"), None, false),
        r(
            Method::GET,
            p(&format!("/evidence/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/evidence/{some_policy}/download-url")),
            None,
            false,
        ),
        r(Method::GET, p("/repos/1/scans"), None, false),
        r(
            Method::POST,
            p("/repos/1/scans"),
            Some(json!({ "findings": [] })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/repos/1/scans/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/repos/1/scans/{some_policy}/rescore")),
            None,
            true,
        ),
        r(Method::GET, p("/compliance-policy-baselines"), None, false),
        r(
            Method::GET,
            p("/compliance-policy-baselines/access-control"),
            None,
            false,
        ),
        r(
            Method::POST,
            p("/compliance-policy-baselines/access-control/fork"),
            Some(json!({ "key": "matrix-fork" })),
            true,
        ),
        r(Method::GET, p("/compliance-policies"), None, false),
        r(
            Method::POST,
            p("/compliance-policies"),
            Some(json!({ "key": "matrix", "title": "t", "body": "# t\n" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-policies/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/compliance-policies/{some_policy}")),
            Some(json!({ "version": 1, "title": "t2" })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/compliance-policies/{some_policy}/transitions")),
            Some(json!({ "version": 1, "to": "in_review" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-policies/{some_policy}/versions")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-policies/{some_policy}/versions/1")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-policies/{some_policy}/diff")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-policies/{some_policy}/events")),
            None,
            false,
        ),
        r(Method::GET, p("/auditor-exports"), None, false),
        r(
            Method::POST,
            p("/auditor-exports"),
            Some(json!({ "kind": "policy_register", "format": "csv" })),
            // An export is a read for auditors (audited, but it changes no org data).
            false,
        ),
        r(
            Method::GET,
            p(&format!("/auditor-exports/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/auditor-exports/{some_policy}/artifact")),
            None,
            false,
        ),
        r(Method::GET, p("/compliance/score/1"), None, false),
        r(Method::GET, p("/compliance/trend/1"), None, false),
        r(Method::GET, p("/compliance/custom-frameworks"), None, false),
        r(
            Method::POST,
            p("/compliance/custom-frameworks"),
            Some(json!({ "name": "X", "key": "x_fw", "controls": [] })),
            true,
        ),
        r(
            Method::DELETE,
            p("/compliance/custom-frameworks/x_fw"),
            None,
            true,
        ),
        r(Method::GET, p("/agents/enrollment-tokens"), None, false),
        r(
            Method::POST,
            p("/agents/enrollment-tokens"),
            Some(json!({ "name": "t" })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/agents/enrollment-tokens/{some_policy}")),
            None,
            true,
        ),
        r(Method::GET, p("/agents"), None, false),
        r(Method::GET, p("/agents/ca"), None, false),
        r(
            Method::GET,
            p(&format!("/agents/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/agents/{some_policy}/revoke")),
            None,
            true,
        ),
        r(Method::GET, p("/collectors"), None, false),
        r(Method::GET, p("/assets"), None, false),
        r(
            Method::GET,
            p(&format!("/assets/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/assets/{some_policy}/timeline")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/assets/{some_policy}/commands")),
            None,
            false,
        ),
        r(
            Method::PUT,
            p(&format!("/assets/{some_policy}/authorization")),
            Some(json!({ "authorization": "authorized" })),
            true,
        ),
        r(Method::GET, p("/scim/connections"), None, false),
        r(
            Method::POST,
            p("/scim/connections"),
            Some(json!({ "name": "idp" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/scim/connections/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/scim/connections/{some_policy}")),
            Some(json!({ "status": "disabled" })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/scim/connections/{some_policy}")),
            None,
            true,
        ),
        r(
            Method::POST,
            p(&format!("/scim/connections/{some_policy}/rotate")),
            None,
            true,
        ),
        r(
            Method::GET,
            p(&format!("/scim/connections/{some_policy}/role-mappings")),
            None,
            false,
        ),
        r(
            Method::PUT,
            p(&format!("/scim/connections/{some_policy}/role-mappings")),
            Some(json!({ "mappings": [] })),
            true,
        ),
        r(Method::GET, p("/scim/users"), None, false),
        r(Method::GET, p("/alerts"), None, false),
        r(
            Method::GET,
            p(&format!("/alerts/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/alerts/{some_policy}/acknowledge")),
            Some(json!({})),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/alerts/{some_policy}/assign")),
            Some(json!({ "assignee": null })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/alerts/{some_policy}/resolve")),
            Some(json!({ "note": "done" })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/alerts/{some_policy}/reopen")),
            Some(json!({})),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/alerts/{some_policy}/ticket")),
            Some(json!({})),
            true,
        ),
        r(Method::GET, p("/tickets"), None, false),
        r(
            Method::POST,
            p("/tickets"),
            Some(json!({ "title": "t" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/tickets/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/tickets/{some_policy}")),
            Some(json!({ "status": "closed" })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/tickets/{some_policy}/comments")),
            Some(json!({ "body": "c" })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/tickets/{some_policy}/links")),
            Some(json!({ "target_type": "control", "target_id": "soc2:CC6.1" })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/tickets/{some_policy}/links/control/soc2:CC6.1")),
            None,
            true,
        ),
        r(
            Method::GET,
            p("/timeline?subject_type=asset&subject_id=a"),
            None,
            false,
        ),
        r(Method::GET, p("/webhooks/subscriptions"), None, false),
        r(
            Method::POST,
            p("/webhooks/subscriptions"),
            Some(json!({ "url": "https://receiver.invalid/hook", "event_types": ["alert.*"] })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/webhooks/subscriptions/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/webhooks/subscriptions/{some_policy}")),
            Some(json!({ "status": "disabled" })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/webhooks/subscriptions/{some_policy}")),
            None,
            true,
        ),
        r(
            Method::POST,
            p(&format!(
                "/webhooks/subscriptions/{some_policy}/rotate-secret"
            )),
            None,
            true,
        ),
        r(
            Method::POST,
            p(&format!("/webhooks/subscriptions/{some_policy}/test")),
            None,
            true,
        ),
        r(
            Method::GET,
            p(&format!("/webhooks/subscriptions/{some_policy}/deliveries")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!(
                "/webhooks/subscriptions/{some_policy}/deliveries/{some_policy}"
            )),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!(
                "/webhooks/subscriptions/{some_policy}/deliveries/{some_policy}/redeliver"
            )),
            None,
            true,
        ),
        r(Method::GET, p("/connectors"), None, false),
        r(
            Method::POST,
            p("/connectors"),
            Some(json!({
                "key": "acme_edr", "name": "Acme EDR", "vendor": "Acme", "purpose": "p",
                "data_categories": ["x"], "locations": ["x"],
                "operations": { "host.isolate": { "risk": "destructive", "description": "d" } },
            })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/agents/{some_policy}/configuration")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/agents/{some_policy}/configuration/versions")),
            None,
            false,
        ),
        r(
            Method::PUT,
            p(&format!("/agents/{some_policy}/configuration")),
            Some(json!({ "connectors": { "jira": ["issue.create"] } })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/agents/{some_policy}/events")),
            None,
            false,
        ),
        r(Method::GET, p("/agent-trail/verify"), None, false),
        r(Method::GET, p("/runtime-policies"), None, false),
        r(
            Method::POST,
            p("/runtime-policies"),
            Some(
                json!({ "name": "r", "policy": "forbid (principal, action, resource) when { context.hour_utc > 24 };" }),
            ),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/runtime-policies/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::DELETE,
            p(&format!("/runtime-policies/{some_policy}")),
            None,
            true,
        ),
        r(Method::GET, p("/runtime-decisions"), None, false),
        r(
            Method::GET,
            p(&format!("/runtime-decisions/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/runtime-decisions/{some_policy}/approve")),
            Some(json!({})),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/runtime-decisions/{some_policy}/reject")),
            Some(json!({})),
            true,
        ),
        r(Method::GET, p("/compliance-packages"), None, false),
        // Auditors may generate packages (seed 001); an unknown agent writes nothing.
        r(
            Method::POST,
            p("/compliance-packages"),
            Some(json!({ "agent_id": some_policy })),
            false,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-packages/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-packages/{some_policy}/pdf")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/compliance-packages/{some_policy}/bundle")),
            None,
            false,
        ),
        // Intune posture sync (issue 19).
        r(Method::GET, p("/intune/connection"), None, false),
        r(
            Method::PUT,
            p("/intune/connection"),
            Some(grc_tests::intune::connection_body("s3cret")),
            true,
        ),
        r(Method::DELETE, p("/intune/connection"), None, true),
        r(Method::POST, p("/intune/sync"), None, true),
        r(Method::GET, p("/intune/devices"), None, false),
        r(
            Method::GET,
            p(&format!("/intune/devices/{some_policy}")),
            None,
            false,
        ),
        r(Method::GET, p("/intune/sync-runs"), None, false),
        r(Method::GET, p("/signing-keys"), None, false),
        r(Method::POST, p("/signing-keys/rotate"), None, true),
        r(Method::GET, p("/siem/sources"), None, false),
        r(
            Method::POST,
            p("/siem/sources"),
            Some(json!({ "name": "s", "product": "p", "vendor": "v" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/siem/sources/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/siem/sources/{some_policy}")),
            Some(json!({ "enabled": false })),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/siem/sources/{some_policy}/events")),
            Some(json!({ "events": [grc_tests::siem::ocsf_event(
                "e1",
                chrono::Utc::now().timestamp_millis(),
                1,
                "m",
                "u",
                "10.0.0.1",
            )] })),
            true,
        ),
        r(Method::GET, p("/siem/events"), None, false),
        r(
            Method::GET,
            p(&format!("/siem/events/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/siem/events/{some_policy}/alerts")),
            Some(json!({ "alert_id": some_policy })),
            true,
        ),
        r(Method::GET, p("/ssh/sessions"), None, false),
        r(
            Method::POST,
            p("/ssh/sessions"),
            Some(json!({ "asset_id": some_policy, "reason": "maintenance window" })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/ssh/sessions/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::POST,
            p(&format!("/ssh/sessions/{some_policy}/approve")),
            Some(json!({})),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/ssh/sessions/{some_policy}/reject")),
            Some(json!({})),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/ssh/sessions/{some_policy}/cancel")),
            Some(json!({})),
            true,
        ),
        r(
            Method::POST,
            p(&format!("/ssh/sessions/{some_policy}/connect")),
            None,
            true,
        ),
        r(Method::GET, p("/discovery/sites"), None, false),
        r(
            Method::POST,
            p("/discovery/sites"),
            Some(json!({ "name": "s", "ranges": ["10.0.0.0/8"], "techniques": ["arp"] })),
            true,
        ),
        r(
            Method::GET,
            p(&format!("/discovery/sites/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PUT,
            p(&format!("/discovery/sites/{some_policy}")),
            Some(json!({ "name": "s", "ranges": ["10.0.0.0/8"], "techniques": ["arp"] })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/discovery/sites/{some_policy}")),
            None,
            true,
        ),
        r(
            Method::GET,
            p(&format!("/discovery/sites/{some_policy}/status")),
            None,
            false,
        ),
        r(
            Method::GET,
            p(&format!("/discovery/sites/{some_policy}/observations")),
            None,
            false,
        ),
        r(Method::GET, p("/discovery/decisions"), None, false),
        r(
            Method::GET,
            p(&format!("/discovery/decisions/{some_policy}")),
            None,
            false,
        ),
        r(Method::GET, p("/plugins"), None, false),
        r(Method::POST, p("/plugins"), Some(json!({})), true),
        r(
            Method::GET,
            p(&format!("/plugins/{some_policy}")),
            None,
            false,
        ),
        r(
            Method::PATCH,
            p(&format!("/plugins/{some_policy}")),
            Some(json!({ "enabled": false })),
            true,
        ),
        r(
            Method::DELETE,
            p(&format!("/plugins/{some_policy}")),
            None,
            true,
        ),
        r(
            Method::POST,
            p(&format!("/plugins/{some_policy}/dry-run")),
            Some(json!({
                "context": { "repository": { "id": "1", "name": "r" }, "scan": {} },
                "controls": [{ "id": "C", "check_type": "secrets", "pass_condition": "no_secrets" }],
            })),
            false,
        ),
    ]
}

fn all_routes(app: &TestApp) -> Vec<Route> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut all = routes(&app.org_id, &id, &id, &id);
    for path in [
        "/api/v1/orgs",
        "/api/compliance/frameworks",
        "/api/compliance/frameworks/soc2/controls",
        "/api/v1/compliance/frameworks",
        "/api/v1/compliance/controls",
        "/api/v1/compliance/controls/soc2:CC6.1",
        "/api/compliance/score/1",
        "/api/compliance/trend/1",
        "/api/compliance/custom-frameworks",
        "/v1/compliance",
    ] {
        all.push(Route {
            method: Method::GET,
            path: path.into(),
            body: None,
            mutating: false,
        });
    }
    all
}

/// Calls each route with `key`, returning every route with its response.
async fn call_each(app: &TestApp, routes: Vec<Route>, key: &str) -> Vec<(Route, grc_tests::Resp)> {
    let mut out = Vec::new();
    for route in routes {
        let resp = app
            .call(
                route.method.clone(),
                &route.path,
                Auth::Bearer(key),
                route.body.clone(),
            )
            .await;
        out.push((route, resp));
    }
    out
}

/// Asserts every response is `status` with `detail`.
fn assert_all(results: &[(Route, grc_tests::Resp)], status: StatusCode, detail: &str) {
    for (route, resp) in results {
        assert_eq!(
            resp.status, status,
            "{} {}: {:?}",
            route.method, route.path, resp.body
        );
        assert_eq!(resp.detail(), detail, "{} {}", route.method, route.path);
    }
}

async fn expect_everywhere(app: &TestApp, auth: Auth<'_>, status: StatusCode, detail: &str) {
    for route in all_routes(app) {
        let resp = app
            .call(route.method.clone(), &route.path, auth, route.body.clone())
            .await;
        assert_eq!(
            resp.status, status,
            "{} {} → {:?}",
            route.method, route.path, resp.body
        );
        assert_eq!(resp.detail(), detail, "{} {}", route.method, route.path);
    }
}

async fn unauthenticated_requests_get_401_everywhere(app: TestApp) {
    expect_everywhere(
        &app,
        Auth::None,
        StatusCode::UNAUTHORIZED,
        "Not authenticated",
    )
    .await;
    expect_everywhere(
        &app,
        Auth::Bearer("sk-not-a-real-key"),
        StatusCode::UNAUTHORIZED,
        "Invalid API key",
    )
    .await;
    expect_everywhere(
        &app,
        Auth::XApiKey("garbage"),
        StatusCode::UNAUTHORIZED,
        "Invalid API key",
    )
    .await;
    // Well-formed (valid checksum) but never issued.
    let unknown = ApiKeySecret::generate();
    expect_everywhere(
        &app,
        Auth::Bearer(unknown.expose()),
        StatusCode::UNAUTHORIZED,
        "Invalid API key",
    )
    .await;
    // A bearer token that is neither a key nor a valid JWT.
    expect_everywhere(
        &app,
        Auth::Bearer("eyJhbGciOiJIUzI1NiJ9.e30.x"),
        StatusCode::UNAUTHORIZED,
        "Invalid token",
    )
    .await;
}

async fn revoked_and_expired_keys_get_401_everywhere(app: TestApp) {
    let revoked = app
        .create_key(
            &app.org_id,
            "rev@x.io",
            Role::Admin,
            "read:*,write:*,admin:org",
        )
        .await;
    let resp = app
        .delete(
            &app.org_path(&app.org_id, &format!("/api-keys/{}", revoked.key_id)),
            &app.owner_key,
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert!(resp.body["revoked_at"].is_string());
    expect_everywhere(
        &app,
        Auth::Bearer(&revoked.key),
        StatusCode::UNAUTHORIZED,
        "API key revoked",
    )
    .await;

    let expired = app
        .create_key(
            &app.org_id,
            "exp@x.io",
            Role::Admin,
            "read:*,write:*,admin:org",
        )
        .await;
    assert_eq!(
        app.get(&app.org_path(&app.org_id, ""), &expired.key)
            .await
            .status,
        StatusCode::OK
    );
    app.owner_sql(&format!(
        "UPDATE api_keys SET expires_at = '2001-01-01T00:00:00.000000Z' WHERE id = '{}'",
        expired.key_id
    ))
    .await;
    // Hand-written SQL must bump the org's access revision, as the store does, or servers keep
    // using their cached copy of the key (decision 0015).
    app.owner_sql(&format!(
        "UPDATE access_revisions SET revision = revision + 1 WHERE org_id = '{}'",
        app.org_id
    ))
    .await;
    expect_everywhere(
        &app,
        Auth::Bearer(&expired.key),
        StatusCode::UNAUTHORIZED,
        "API key expired",
    )
    .await;
}

async fn key_without_scope_gets_missing_required_scope(app: TestApp) {
    // An owner whose key only carries an evidence scope: the key caps the role.
    let narrow = app
        .create_key(&app.org_id, "narrow@x.io", Role::Owner, "read:evidence")
        .await;
    let (evidence_reads, others): (Vec<Route>, Vec<Route>) = routes(
        &app.org_id,
        &narrow.user_id,
        &narrow.key_id,
        &uuid::Uuid::new_v4().to_string(),
    )
    .into_iter()
    .partition(|r| r.path.contains("/evidence") && !r.mutating);
    let results = call_each(&app, others, &narrow.key).await;
    assert_all(&results, StatusCode::FORBIDDEN, "missing required scope");
    // The evidence reads are exactly what read:evidence grants.
    for (route, resp) in call_each(&app, evidence_reads, &narrow.key).await {
        assert_ne!(
            resp.status,
            StatusCode::FORBIDDEN,
            "{} {}",
            route.method,
            route.path
        );
    }
    // With read:* but not admin:org, reads work and key management does not.
    let reader = app
        .create_key(&app.org_id, "reader@x.io", Role::Owner, "read:*,write:*")
        .await;
    assert_eq!(
        app.get(&app.org_path(&app.org_id, "/members"), &reader.key)
            .await
            .status,
        StatusCode::OK
    );
    let resp = app
        .get(&app.org_path(&app.org_id, "/api-keys"), &reader.key)
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::FORBIDDEN, "missing required scope")
    );
    // The 403 says which scope would allow the request.
    assert_eq!(
        resp.body["required_scopes"],
        json!(["admin:org"]),
        "{:?}",
        resp.body
    );
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/evidence/upload-url"),
            &narrow.key,
            json!({ "filename": "a.txt", "content_type": "text/plain" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    assert_eq!(
        resp.body["required_scopes"],
        json!(["write:evidence"]),
        "{:?}",
        resp.body
    );
}

async fn key_of_another_org_is_not_a_member(app: TestApp) {
    let other_org = app.create_org("other", Plan::Team).await;
    let outsider = app
        .create_key(
            &other_org,
            "boss@other.io",
            Role::Owner,
            "read:*,write:*,admin:org",
        )
        .await;
    let results = call_each(
        &app,
        routes(
            &app.org_id,
            &outsider.user_id,
            &outsider.key_id,
            &uuid::Uuid::new_v4().to_string(),
        ),
        &outsider.key,
    )
    .await;
    assert_all(
        &results,
        StatusCode::FORBIDDEN,
        "not a member of this organization",
    );
    // A non-existent org answers exactly the same: no existence oracle.
    let ghost = uuid::Uuid::new_v4().to_string();
    let resp = app
        .get(&app.org_path(&ghost, "/members"), &outsider.key)
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::FORBIDDEN, "not a member of this organization")
    );
    // Listing orgs shows only the key's own org.
    let resp = app.get("/api/v1/orgs", &outsider.key).await;
    let orgs = resp.body["orgs"].as_array().expect("orgs");
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["id"], other_org.as_str());
}

async fn auditor_cannot_write_and_nothing_is_written(app: TestApp) {
    let auditor = app
        .create_key(
            &app.org_id,
            "audit@x.io",
            Role::Auditor,
            "read:*,write:*,admin:org",
        )
        .await;
    let before = app.audit_count(&app.org_id, &app.owner_key).await;
    let mut exports = 0;
    for (route, resp) in call_each(
        &app,
        routes(
            &app.org_id,
            &auditor.user_id,
            &auditor.key_id,
            &uuid::Uuid::new_v4().to_string(),
        ),
        &auditor.key,
    )
    .await
    {
        if route.mutating {
            assert_eq!(
                resp.status,
                StatusCode::FORBIDDEN,
                "{} {}",
                route.method,
                route.path
            );
        }
        if route.method == Method::POST && route.path.ends_with("/auditor-exports") {
            assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
            exports += 1;
        }
    }
    // The only entries are the auditor's own export requests (audited reads).
    assert_eq!(
        app.audit_count(&app.org_id, &app.owner_key).await,
        before + exports
    );
    // Auditors do read: org, members, audit log.
    for path in [
        "",
        "/members",
        "/audit-log",
        "/audit-log/verify",
        "/access-policies",
    ] {
        let resp = app
            .get(&app.org_path(&app.org_id, path), &auditor.key)
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{path}: {:?}", resp.body);
    }
}

async fn x_api_key_header_and_bearer_are_equivalent(app: TestApp) {
    let path = app.org_path(&app.org_id, "/members");
    let a = app
        .call(Method::GET, &path, Auth::XApiKey(&app.owner_key), None)
        .await;
    let b = app
        .call(Method::GET, &path, Auth::Bearer(&app.owner_key), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, b.body);
}
