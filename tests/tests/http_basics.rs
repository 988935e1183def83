//! Error shapes for bad input, operational endpoints, and the OpenAPI contract.

use grc_tests::{Auth, Backend, TestApp, both_backends, spawn_app};
use reqwest::{Method, StatusCode};

both_backends!(
    bad_input_gets_json_4xx_never_plain_text,
    control_characters_are_422_everywhere,
    limits_are_named_in_413s,
    health_readiness_and_metrics
);

/// NUL and other control characters in a body, a path id, a query filter or a JWT `sub` are
/// refused with a 4xx naming where they were; nothing reaches the database (PostgreSQL would
/// answer 500 on a NUL in TEXT).
async fn control_characters_are_422_everywhere(app: TestApp) {
    let key = app.owner_key.clone();
    let repos = app.org_path(&app.org_id, "/repos");
    for name in ["nul\\u0000inside", "bell\\u0007", "escape\\u001b[31m"] {
        let resp = app
            .client
            .post(app.url(&repos))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(format!("{{\"name\": \"{name}\"}}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let body: serde_json::Value = resp.json().await.expect("JSON body");
        assert_eq!(
            body["detail"][0]["loc"],
            grc_tests::json!(["body", "name"]),
            "{body}"
        );
    }
    // Newlines and tabs are text, not control characters to refuse.
    let ok = app
        .post(
            &repos,
            &key,
            grc_tests::json!({ "name": "multi\tword", "url": null }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    for path in [
        app.org_path(&app.org_id, "/audit-log?action=%00"),
        app.org_path(&app.org_id, "/audit-log?actor=a%07b"),
        app.org_path(&app.org_id, "/evidence/abc%00def"),
        "/api/v1/compliance/controls/soc2:CC6.1%00".to_owned(),
    ] {
        let resp = app.get(&path, &key).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {:?}",
            resp.body
        );
    }
    let jwt = app.jwt("owner@localhost\u{0}", grc_tests::json!({}));
    let resp = app.get("/api/v1/orgs", &jwt).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{:?}", resp.body);
    let valid = app.jwt("owner@localhost", grc_tests::json!({}));
    assert_eq!(app.get("/api/v1/orgs", &valid).await.status, StatusCode::OK);
    // A token that is not valid yet (`nbf` an hour ahead) is refused.
    let early = app.jwt(
        "owner@localhost",
        grc_tests::json!({ "nbf": chrono::Utc::now().timestamp() + 3600 }),
    );
    let resp = app.get("/api/v1/orgs", &early).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{:?}", resp.body);
}

/// A 413 names the limit and the setting that raises it.
async fn limits_are_named_in_413s(app: TestApp) {
    let members = app.url(&app.org_path(&app.org_id, "/members"));
    let resp = app
        .client
        .post(&members)
        .bearer_auth(&app.owner_key)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = resp.json().await.expect("JSON body");
    assert_eq!(body["limit_bytes"], 1024 * 1024, "{body}");
    assert_eq!(body["setting"], "GRC_MAX_BODY_BYTES", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("GRC_MAX_BODY_BYTES")),
        "{body}"
    );
}

async fn bad_input_gets_json_4xx_never_plain_text(app: TestApp) {
    let members = app.url(&app.org_path(&app.org_id, "/members"));
    let send = |body: &'static str, ctype: Option<&'static str>| {
        let mut req = app
            .client
            .post(&members)
            .bearer_auth(&app.owner_key)
            .body(body);
        if let Some(ct) = ctype {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let cases = [
        (
            "{not json",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "{\"email\": \"a@b.c\"}",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "{\"email\": \"a@b.c\", \"role\": \"member\", \"x\": 1}",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "[]",
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "email=a",
            Some("application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("{}", None, StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ];
    for (body, ctype, status) in cases {
        let resp = send(body, ctype).await.expect("send");
        assert_eq!(resp.status(), status, "{body}");
        let json: serde_json::Value = resp.json().await.expect("JSON error body");
        assert!(json.get("detail").is_some(), "{body}: {json}");
    }
    let resp = send("{\"email\": \"a@b.c\"}", Some("application/json"))
        .await
        .expect("send");
    let json: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(json["detail"][0]["loc"], serde_json::json!(["body"]));
    assert!(
        json["detail"][0]["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("role")
    );

    // Oversized body → 413 JSON.
    let huge = format!(
        "{{\"email\": \"{}\", \"role\": \"member\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let resp = app
        .client
        .post(&members)
        .bearer_auth(&app.owner_key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(resp.json::<serde_json::Value>().await.is_ok());

    // Malformed path parameter, unknown route, wrong method: JSON too.
    let resp = app
        .call(
            Method::GET,
            "/api/v1/orgs/not-a-uuid/members",
            Auth::Bearer(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    let resp = app
        .call(Method::GET, "/api/v1/nothing-here", Auth::None, None)
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::NOT_FOUND, "Not Found")
    );
    let resp = app
        .call(Method::PUT, "/api/v1/orgs", Auth::None, None)
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    );
}

async fn health_readiness_and_metrics(app: TestApp) {
    let health = app.call(Method::GET, "/healthz", Auth::None, None).await;
    assert_eq!(
        (health.status, &health.body["status"]),
        (StatusCode::OK, &serde_json::json!("ok"))
    );
    let ready = app.call(Method::GET, "/readyz", Auth::None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    app.get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("grc_http_requests_total{method=\"GET\",route=\"/api/v1/orgs/{org_id}/members\",status=\"200\"}"), "{metrics}");
    // Readiness fails when the database goes away.
    app.state.db.pool().close().await;
    let ready = app.call(Method::GET, "/readyz", Auth::None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// `specs/openapi.yaml` must equal what the code generates. Regenerate with
/// `cargo run -q -- openapi > specs/openapi.yaml`.
#[test]
fn committed_openapi_matches_the_code() {
    let generated = grc::http::docs::to_yaml(&grc::http::openapi());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/openapi.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "specs/openapi.yaml is stale: run `cargo run -q -- openapi > specs/openapi.yaml`"
    );
}

#[test]
fn openapi_covers_every_route_with_security() {
    let spec = grc::http::openapi();
    let paths = &spec.paths.paths;
    for p in [
        "/api/v1/orgs",
        "/api/v1/orgs/{org_id}",
        "/api/v1/orgs/{org_id}/members",
        "/api/v1/orgs/{org_id}/members/{user_id}",
        "/api/v1/orgs/{org_id}/api-keys",
        "/api/v1/orgs/{org_id}/api-keys/{key_id}",
        "/api/v1/orgs/{org_id}/access-policies",
        "/api/v1/orgs/{org_id}/access-policies/validate",
        "/api/v1/orgs/{org_id}/access-policies/{policy_id}",
        "/api/v1/orgs/{org_id}/authz/explain",
        "/api/v1/orgs/{org_id}/audit-log",
        "/api/v1/orgs/{org_id}/audit-log/verify",
        "/api/compliance/frameworks",
        "/api/v1/orgs/{org_id}/compliance/frameworks",
        "/api/compliance/frameworks/{framework_key}/controls",
        "/api/v1/orgs/{org_id}/compliance/frameworks/{framework_key}/controls",
        "/api/v1/compliance/controls/{control_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    let schemes = &spec
        .components
        .as_ref()
        .expect("components")
        .security_schemes;
    assert!(schemes.contains_key("bearer") && schemes.contains_key("api_key"));
}

#[tokio::test]
async fn serves_openapi_yaml_and_docs_page() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let yaml = app
        .client
        .get(app.url("/openapi.yaml"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert_eq!(yaml, grc::http::docs::to_yaml(&grc::http::openapi()));
    let docs = app.client.get(app.url("/docs")).send().await.expect("send");
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.expect("text").contains("<html"));
}

/// Pools do not ping before each acquire (store::connect): when PostgreSQL drops the server's
/// connections, each request answers 200 or a 503 that says to retry, never a 500, and the
/// server is back to 200 once the dead connections have been replaced.
#[tokio::test]
async fn dropped_database_connections_are_503_and_then_replaced() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let org = app.org_path(&app.org_id, "");
    assert_eq!(app.get(&org, &app.owner_key).await.status, StatusCode::OK);
    assert!(app.drop_database_connections().await > 0);
    let mut unavailable = 0;
    let mut ok_in_a_row = 0;
    // The pool holds at most 4 connections (spawn_app): each dead one fails one statement.
    for _ in 0..20 {
        let r = app.get(&org, &app.owner_key).await;
        match r.status {
            StatusCode::OK => ok_in_a_row += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(r.detail().contains("retry"), "{:?}", r.body);
                unavailable += 1;
                ok_in_a_row = 0;
            }
            other => panic!("{other}: {:?}", r.body),
        }
    }
    assert!(unavailable <= 4, "{unavailable} requests failed");
    assert!(
        ok_in_a_row >= 10,
        "not recovered: {ok_in_a_row} OK at the end"
    );
}
