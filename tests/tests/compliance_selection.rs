//! Seed 002 framework/control selection and seed 003 catalog reads, with their exact shapes,
//! status codes and error bodies.

use grc::domain::{Plan, Role};
use grc_tests::{Auth, TestApp, both_backends, json};
use reqwest::{Method, StatusCode};

both_backends!(
    framework_selection_follows_the_seed,
    plan_lock_is_402_with_the_structured_body,
    non_admin_gets_org_admin_role_required,
    control_selection_follows_the_seed,
    org_scoped_twins_are_the_same_handlers,
    catalog_reads_carry_tenant_status_and_mappings,
);

async fn put_x(app: &TestApp, path: &str, key: &str, body: serde_json::Value) -> grc_tests::Resp {
    app.call(Method::PUT, path, Auth::XApiKey(key), Some(body))
        .await
}

async fn framework_selection_follows_the_seed(app: TestApp) {
    let key = &app.owner_key;
    let list = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(key),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let keys: Vec<&str> = list.body["available"]
        .as_array()
        .expect("available")
        .iter()
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["soc2", "iso27001", "nist_csf", "pcidss", "hipaa", "owasp"]
    );
    assert_eq!(list.body["enabled_keys"], serde_json::Value::Null);
    assert_eq!(list.body["default_all_enabled"], true);
    let iso = &list.body["available"][1];
    assert_eq!(iso["control_count"], 93);
    assert_eq!(
        (iso["custom"].clone(), iso["enabled"].clone()),
        (json!(false), json!(true))
    );
    let hipaa = &list.body["available"][4];
    assert_eq!(hipaa["requires_plan"], "enterprise");
    assert_eq!(
        hipaa["plan_locked"], false,
        "the bootstrap org is on enterprise"
    );

    let set = put_x(
        &app,
        "/api/compliance/frameworks/enabled",
        key,
        json!({ "keys": ["soc2", "owasp", "pcidss"] }),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(
        set.body,
        json!({ "message": "Enabled frameworks updated", "enabled_keys": ["soc2", "owasp", "pcidss"], "default_all_enabled": false })
    );
    let list = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(key),
            None,
        )
        .await;
    let enabled: Vec<&str> = list.body["available"]
        .as_array()
        .expect("available")
        .iter()
        .filter(|f| f["enabled"] == true)
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert_eq!(enabled, ["soc2", "pcidss", "owasp"]);
    assert_eq!(list.body["frameworks"].as_array().map(Vec::len), Some(3));

    let none = put_x(
        &app,
        "/api/compliance/frameworks/enabled",
        key,
        json!({ "keys": [] }),
    )
    .await;
    assert_eq!(none.body["enabled_keys"], json!([]));
    let list = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(key),
            None,
        )
        .await;
    assert!(
        list.body["available"]
            .as_array()
            .expect("available")
            .iter()
            .all(|f| f["enabled"] == false)
    );

    let reset = put_x(
        &app,
        "/api/compliance/frameworks/enabled",
        key,
        json!({ "keys": null }),
    )
    .await;
    assert_eq!(reset.body["default_all_enabled"], true);
    assert_eq!(reset.body["enabled_keys"], serde_json::Value::Null);

    let unknown = put_x(
        &app,
        "/api/compliance/frameworks/enabled",
        key,
        json!({ "keys": ["soc3"] }),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.detail()),
        (StatusCode::BAD_REQUEST, "Unknown framework: soc3")
    );
    let missing = put_x(&app, "/api/compliance/frameworks/enabled", key, json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);

    let log = app
        .get(
            &app.org_path(
                &app.org_id,
                "/audit-log?action=COMPLIANCE_FRAMEWORKS_UPDATED",
            ),
            key,
        )
        .await;
    let entries = log.body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[2]["metadata"],
        json!({ "from": null, "to": ["soc2", "owasp", "pcidss"] })
    );
    assert_eq!(entries[2]["actor_email"], "owner@localhost");
    assert_eq!(entries[2]["ip"], "127.0.0.1");
}

async fn plan_lock_is_402_with_the_structured_body(app: TestApp) {
    let team = app.create_org("team-co", Plan::Team).await;
    let admin = app
        .create_key(&team, "admin@team.co", Role::Admin, "read:*,write:*")
        .await;
    let list = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(&admin.key),
            None,
        )
        .await;
    let hipaa = list.body["available"]
        .as_array()
        .expect("available")
        .iter()
        .find(|f| f["key"] == "hipaa")
        .cloned()
        .expect("hipaa");
    assert_eq!(
        (hipaa["plan_locked"].clone(), hipaa["enabled"].clone()),
        (json!(true), json!(false))
    );

    let resp = put_x(
        &app,
        "/api/compliance/frameworks/enabled",
        &admin.key,
        json!({ "keys": ["soc2", "hipaa", "owasp"] }),
    )
    .await;
    assert_eq!(resp.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        resp.body,
        json!({ "detail": {
            "error": "plan_upgrade_required",
            "message": "Framework 'hipaa' requires the Enterprise plan",
            "framework_key": "hipaa",
            "current_plan": "team",
            "required_plan": "enterprise",
        }})
    );
    // Nothing changed.
    let list = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(&admin.key),
            None,
        )
        .await;
    assert_eq!(list.body["default_all_enabled"], true);
}

async fn non_admin_gets_org_admin_role_required(app: TestApp) {
    let member = app
        .create_key(&app.org_id, "dev@x.io", Role::Member, "read:*,write:*")
        .await;
    for (path, body) in [
        (
            "/api/compliance/frameworks/enabled",
            json!({ "keys": ["soc2"] }),
        ),
        (
            "/api/compliance/frameworks/soc2/controls",
            json!({ "disabled": ["CC8.1"] }),
        ),
    ] {
        let resp = put_x(&app, path, &member.key, body).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(resp.body, json!({ "detail": "Org admin role required" }));
    }
    // Members still read.
    let list = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(&member.key),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let none = app
        .call(Method::GET, "/api/compliance/frameworks", Auth::None, None)
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

async fn control_selection_follows_the_seed(app: TestApp) {
    let key = &app.owner_key;
    let path = "/api/compliance/frameworks/soc2/controls";
    let list = app.call(Method::GET, path, Auth::XApiKey(key), None).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body["framework_key"], "soc2");
    assert_eq!(list.body["custom"], false);
    assert_eq!(list.body["disabled_count"], 0);
    let c = &list.body["controls"][0];
    for field in [
        "id",
        "name",
        "category",
        "description",
        "check_type",
        "recommendation",
        "recommendation_reason",
    ] {
        assert!(c[field].is_string(), "{field} in {c}");
    }
    assert!(
        ["required", "recommended", "optional"]
            .contains(&c["recommendation"].as_str().unwrap_or_default())
    );

    let set = put_x(&app, path, key, json!({ "disabled": ["CC8.1", "CC2.1"] })).await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(
        set.body,
        json!({ "message": "Control selection updated", "framework_key": "soc2", "disabled": ["CC8.1", "CC2.1"] })
    );
    let list = app.call(Method::GET, path, Auth::XApiKey(key), None).await;
    assert_eq!(list.body["disabled_count"], 2);

    let bad = put_x(&app, path, key, json!({ "disabled": ["CC99.9"] })).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body, json!({ "detail": "Unknown control: CC99.9" }));
    let again = app.call(Method::GET, path, Auth::XApiKey(key), None).await;
    assert_eq!(
        again.body["disabled_count"], 2,
        "a rejected update changes nothing"
    );

    let reset = put_x(&app, path, key, json!({ "disabled": [] })).await;
    assert_eq!(reset.body["disabled"], json!([]));
    let unknown_fw = app
        .call(
            Method::GET,
            "/api/compliance/frameworks/nope/controls",
            Auth::XApiKey(key),
            None,
        )
        .await;
    assert_eq!(unknown_fw.status, StatusCode::NOT_FOUND);

    let log = app
        .get(
            &app.org_path(&app.org_id, "/audit-log?action=COMPLIANCE_CONTROLS_UPDATED"),
            key,
        )
        .await;
    assert_eq!(log.body["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        log.body["entries"][1]["metadata"]["to"],
        json!(["CC8.1", "CC2.1"])
    );
}

async fn org_scoped_twins_are_the_same_handlers(app: TestApp) {
    let seed = app
        .call(
            Method::GET,
            "/api/compliance/frameworks",
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    let twin = app
        .get(
            &app.org_path(&app.org_id, "/compliance/frameworks"),
            &app.owner_key,
        )
        .await;
    assert_eq!(seed.body, twin.body);
    let set = put_x(
        &app,
        &app.org_path(&app.org_id, "/compliance/frameworks/soc2/controls"),
        &app.owner_key,
        json!({ "disabled": ["CC8.1"] }),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    let seen = app
        .call(
            Method::GET,
            "/api/compliance/frameworks/soc2/controls",
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(seen.body["disabled_count"], 1);
    // Another org's twin path: not a member.
    let other = app.create_org("other", Plan::Team).await;
    let resp = app
        .get(
            &app.org_path(&other, "/compliance/frameworks"),
            &app.owner_key,
        )
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::FORBIDDEN, "not a member of this organization")
    );
}

async fn catalog_reads_carry_tenant_status_and_mappings(app: TestApp) {
    let key = &app.owner_key;
    put_x(
        &app,
        "/api/compliance/frameworks/soc2/controls",
        key,
        json!({ "disabled": ["CC6.1"] }),
    )
    .await;
    let fws = app.get("/api/v1/compliance/frameworks", key).await;
    assert_eq!(fws.status, StatusCode::OK, "{:?}", fws.body);
    let soc2 = &fws.body["frameworks"][0];
    assert_eq!(
        soc2["tenant"],
        json!({ "enabled": true, "plan_locked": false, "disabled_count": 1 })
    );

    let iso = app
        .get(
            "/api/v1/compliance/controls?framework=iso27001&limit=1000",
            key,
        )
        .await;
    assert_eq!(iso.body["total"], 93);
    let secrets = app
        .get("/api/v1/compliance/controls?check_type=secrets", key)
        .await;
    assert!(
        secrets.body["controls"]
            .as_array()
            .expect("controls")
            .iter()
            .all(|c| c["check_type"] == "secrets")
    );
    assert!(secrets.body["total"].as_u64().unwrap_or(0) > 0);

    let detail = app.get("/api/v1/compliance/controls/soc2:CC6.1", key).await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    assert_eq!(detail.body["tenant"]["disabled"], true);
    assert!(
        detail.body["mappings"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{:?}",
        detail.body
    );
    assert_eq!(detail.body["evidence"], json!([]));
    let by_query = app
        .get("/api/v1/compliance/controls/CC6.1?framework=soc2", key)
        .await;
    assert_eq!(by_query.body["id"], "CC6.1");
    assert_eq!(
        app.get("/api/v1/compliance/controls/ZZ9.9", key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let bad = app.get("/api/v1/compliance/controls?limit=0", key).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
