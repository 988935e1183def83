//! Intune posture sync (issue 19) on both backends, against a fake Graph server that speaks the
//! real protocol: connection with the secret kept as a sealed reference, sync across pages with
//! throttling into the asset inventory, idempotent re-sync, bad credentials and Graph errors
//! writing nothing, masked identifiers for non-admins, tenant isolation, auditor read-only, and
//! the outbound guard.

use grc::domain::Role;
use grc_tests::{
    TestApp,
    intune::{CLIENT_ID, CLIENT_SECRET, FakeGraph, TENANT, connection_body, device_id},
    intune_both_backends, json,
};
use reqwest::StatusCode;
use std::sync::atomic::Ordering;

intune_both_backends!(
    the_connection_keeps_only_a_reference_to_the_secret,
    a_sync_pages_through_throttling_into_the_inventory,
    refusals_from_microsoft_are_clear_and_write_nothing,
    identifiers_are_masked_for_members_and_auditors,
    other_orgs_see_nothing_and_auditors_only_read,
    private_endpoints_are_refused_unless_allowed,
);

async fn connect(app: &TestApp) {
    let resp = app
        .set_intune_connection(&app.org_id, &app.owner_key, connection_body(CLIENT_SECRET))
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
}

async fn the_connection_keeps_only_a_reference_to_the_secret(app: TestApp, _graph: FakeGraph) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let resp = app.intune_connection(org, owner).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND, "{:?}", resp.body);
    // Creating needs a secret; ids are checked.
    let resp = app
        .set_intune_connection(
            org,
            owner,
            json!({ "tenant_id": TENANT, "client_id": CLIENT_ID }),
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        resp.body
    );
    for (body, field) in [
        (
            json!({ "tenant_id": "not a tenant", "client_id": CLIENT_ID, "client_secret": "x" }),
            "tenant_id",
        ),
        (
            json!({ "tenant_id": TENANT, "client_id": "my-app", "client_secret": "x" }),
            "client_id",
        ),
        (
            json!({ "tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": "a b" }),
            "client_secret",
        ),
    ] {
        let resp = app.set_intune_connection(org, owner, body).await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            resp.body
        );
        assert_eq!(
            resp.body["detail"][0]["loc"],
            json!(["body", field]),
            "{:?}",
            resp.body
        );
    }
    let resp = app
        .set_intune_connection(
            org,
            owner,
            json!({ "tenant_id": TENANT, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "extra": 1 }),
        )
        .await;
    assert_eq!(
        resp.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        resp.body
    );

    // Created: a reference, never the secret.
    let resp = app
        .set_intune_connection(org, owner, connection_body(CLIENT_SECRET))
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    let first_ref = resp.body["client_secret_ref"]
        .as_str()
        .expect("ref")
        .to_owned();
    assert!(first_ref.starts_with("secretref:local:"), "{first_ref}");
    assert!(resp.body.get("client_secret").is_none());
    assert!(!resp.body.to_string().contains(CLIENT_SECRET));
    assert_eq!(resp.body["tenant_id"], TENANT);
    assert_eq!(resp.body["client_id"], CLIENT_ID);
    assert!(resp.body["last_sync"].is_null());
    // The sealed value in the database is not the plaintext.
    let sealed = app.owner_count("SELECT COUNT(*) FROM sealed_secrets").await;
    assert_eq!(sealed, 1);
    let leaked = app
        .owner_count(&format!(
            "SELECT COUNT(*) FROM sealed_secrets WHERE sealed LIKE '%{CLIENT_SECRET}%'"
        ))
        .await;
    assert_eq!(leaked, 0);

    // Members and auditors read it, without the secret.
    for role in [Role::Member, Role::Auditor] {
        let key = app
            .create_key(
                org,
                &format!("{}@x.io", format!("{role:?}").to_lowercase()),
                role,
                "read:*,write:*",
            )
            .await;
        let resp = app.intune_connection(org, &key.key).await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        assert_eq!(resp.body["client_secret_ref"], first_ref.as_str());
        assert!(!resp.body.to_string().contains(CLIENT_SECRET));
        let resp = app
            .set_intune_connection(org, &key.key, connection_body("other"))
            .await;
        assert_eq!(
            resp.status,
            StatusCode::FORBIDDEN,
            "{role:?}: {:?}",
            resp.body
        );
        let resp = app.delete_intune_connection(org, &key.key).await;
        assert_eq!(
            resp.status,
            StatusCode::FORBIDDEN,
            "{role:?}: {:?}",
            resp.body
        );
    }

    // The same content again changes nothing and records nothing.
    let audited = app.audit_count(org, owner).await;
    let resp = app
        .set_intune_connection(org, owner, connection_body(CLIENT_SECRET))
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["client_secret_ref"], first_ref.as_str());
    let resp = app
        .set_intune_connection(
            org,
            owner,
            json!({ "tenant_id": TENANT, "client_id": CLIENT_ID }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(app.audit_count(org, owner).await, audited);

    // A new secret: a new reference, the old sealed value gone.
    let resp = app
        .set_intune_connection(org, owner, connection_body("n3w~Secret.Value"))
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let second_ref = resp.body["client_secret_ref"]
        .as_str()
        .expect("ref")
        .to_owned();
    assert_ne!(second_ref, first_ref);
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM sealed_secrets").await,
        1
    );
    // Only the ids: the reference stays.
    let resp = app
        .set_intune_connection(
            org,
            owner,
            json!({ "tenant_id": "Contoso.onmicrosoft.com",
            "client_id": CLIENT_ID }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["tenant_id"], "contoso.onmicrosoft.com");
    assert_eq!(resp.body["client_secret_ref"], second_ref.as_str());

    // Audited, with no secret anywhere in the log.
    let actions = app
        .audit_actions(org, "target_type=intune_connection")
        .await;
    assert_eq!(actions, ["INTUNE_CONNECTION_SET"; 3]);
    let log = app
        .get(&app.org_path(org, "/audit-log?limit=500"), owner)
        .await;
    let log = log.body.to_string();
    assert!(!log.contains(CLIENT_SECRET) && !log.contains("n3w~Secret.Value"));
    assert!(log.contains(&second_ref));

    // Deleted: the connection and its sealed secret.
    let resp = app.delete_intune_connection(org, owner).await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT, "{:?}", resp.body);
    assert_eq!(
        app.intune_connection(org, owner).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM sealed_secrets").await,
        0
    );
    assert_eq!(
        app.delete_intune_connection(org, owner).await.status,
        StatusCode::NOT_FOUND
    );
    let actions = app
        .audit_actions(org, "target_type=intune_connection")
        .await;
    assert_eq!(
        actions.first().map(String::as_str),
        Some("INTUNE_CONNECTION_DELETED")
    );
}

async fn a_sync_pages_through_throttling_into_the_inventory(app: TestApp, graph: FakeGraph) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    connect(&app).await;
    graph.state.throttle_once.store(true, Ordering::SeqCst);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let run = &resp.body;
    assert_eq!(
        (
            &run["pages"],
            &run["fetched"],
            &run["created"],
            &run["updated"],
            &run["unchanged"]
        ),
        (&json!(3), &json!(25), &json!(25), &json!(0), &json!(0)),
        "{run}"
    );
    assert_eq!(run["throttled_retries"], 1, "{run}");
    assert_eq!(run["truncated"], false);
    assert_eq!(graph.state.throttled.load(Ordering::SeqCst), 1);
    assert_eq!(graph.state.token_requests.load(Ordering::SeqCst), 1);

    // Every device is an authorized asset with its Intune posture.
    let assets = app.assets(org, owner, "?kind=device&limit=500").await;
    assert_eq!(assets.status, StatusCode::OK, "{:?}", assets.body);
    let assets = assets.body["assets"].as_array().expect("assets").clone();
    assert_eq!(assets.len(), 25);
    let laptop = assets
        .iter()
        .find(|a| a["hostname"] == "LAPTOP-003")
        .expect("LAPTOP-003");
    assert_eq!(laptop["authorization"], "authorized");
    assert_eq!(laptop["posture"]["source"], "intune");
    assert_eq!(laptop["posture"]["compliance_state"], "noncompliant");
    assert_eq!(laptop["posture"]["disk_encryption"], false);
    assert_eq!(laptop["os"]["name"], "iOS");
    let asset_id = laptop["asset_id"].as_str().expect("asset id").to_owned();

    // The posture list pages.
    let page = app.intune_devices(org, owner, "?limit=10").await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    assert_eq!(page.body["devices"].as_array().map(Vec::len), Some(10));
    let cursor = page.body["next_cursor"].as_str().expect("more").to_owned();
    let rest = app
        .intune_devices(org, owner, &format!("?limit=100&cursor={cursor}"))
        .await;
    assert_eq!(rest.body["devices"].as_array().map(Vec::len), Some(15));
    assert!(rest.body["next_cursor"].is_null());
    let noncompliant = app
        .intune_devices(org, owner, "?compliance_state=noncompliant&limit=100")
        .await;
    assert_eq!(
        noncompliant.body["devices"].as_array().map(Vec::len),
        Some(9)
    );
    let bad = app
        .intune_devices(org, owner, "?compliance_state=a%20b")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let one = app.intune_device(org, owner, &device_id(3)).await;
    assert_eq!(one.status, StatusCode::OK, "{:?}", one.body);
    assert_eq!(one.body["asset_id"], asset_id.as_str());
    assert_eq!(one.body["jailbroken"], "false");
    assert_eq!(one.body["last_check_in"], "2026-12-01T10:00:00.000000Z");

    // The same data again changes nothing.
    let timeline = app.asset_timeline(org, owner, &asset_id, "").await;
    let entries = timeline.body["entries"].as_array().map_or(0, Vec::len);
    assert_eq!(entries, 1, "{:?}", timeline.body);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(
        (
            &resp.body["created"],
            &resp.body["updated"],
            &resp.body["unchanged"]
        ),
        (&json!(0), &json!(0), &json!(25)),
        "{:?}",
        resp.body
    );
    let timeline = app.asset_timeline(org, owner, &asset_id, "").await;
    assert_eq!(timeline.body["entries"].as_array().map_or(0, Vec::len), 1);

    // A change and a removal.
    let mut devices = grc_tests::intune::fake_devices(25);
    devices[3]["complianceState"] = json!("compliant");
    devices[3]["isEncrypted"] = json!(true);
    devices.remove(24);
    graph.set_devices(devices);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(
        (
            &resp.body["updated"],
            &resp.body["unchanged"],
            &resp.body["removed"]
        ),
        (&json!(1), &json!(23), &json!(1)),
        "{:?}",
        resp.body
    );
    let timeline = app.asset_timeline(org, owner, &asset_id, "").await;
    let kinds: Vec<&str> = timeline.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["first_seen", "posture_changed"],
        "{:?}",
        timeline.body
    );
    let asset = app
        .get(&app.org_path(org, &format!("/assets/{asset_id}")), owner)
        .await;
    assert_eq!(asset.body["posture"]["compliance_state"], "compliant");
    let listed = app.intune_devices(org, owner, "?limit=100").await;
    assert_eq!(listed.body["devices"].as_array().map(Vec::len), Some(24));
    let all = app
        .intune_devices(org, owner, "?limit=100&include_removed=true")
        .await;
    assert_eq!(all.body["devices"].as_array().map(Vec::len), Some(25));

    // Runs, newest first, and the connection's last sync; one audit entry per sync.
    let runs = app.intune_sync_runs(org, owner, "").await;
    assert_eq!(runs.status, StatusCode::OK, "{:?}", runs.body);
    let runs = runs.body["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["run_id"], resp.body["run_id"]);
    let connection = app.intune_connection(org, owner).await;
    assert_eq!(connection.body["last_sync"]["run_id"], resp.body["run_id"]);
    let actions = app.audit_actions(org, "target_type=intune_sync_run").await;
    assert_eq!(actions, ["INTUNE_SYNCED"; 3]);
}

async fn refusals_from_microsoft_are_clear_and_write_nothing(app: TestApp, graph: FakeGraph) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(
        resp.status,
        StatusCode::NOT_FOUND,
        "no connection yet: {:?}",
        resp.body
    );
    let resp = app
        .set_intune_connection(org, owner, connection_body("wrong~secret"))
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    let audited = app.audit_count(org, owner).await;

    // A wrong secret: Entra's invalid_client, explained.
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
    assert!(resp.detail().contains("AADSTS7000215"), "{}", resp.detail());
    assert!(
        resp.detail().contains("check the client secret"),
        "{}",
        resp.detail()
    );
    assert!(!resp.detail().contains("wrong~secret"));
    assert_eq!(graph.state.page_requests.load(Ordering::SeqCst), 0);
    nothing_written(&app).await;

    // A wrong tenant.
    let resp = app
        .set_intune_connection(
            org,
            owner,
            json!({ "tenant_id": "fabrikam.onmicrosoft.com",
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
    assert!(
        resp.detail().contains("tenant was not found"),
        "{}",
        resp.detail()
    );

    // The right credentials, without the Graph permission.
    let resp = app
        .set_intune_connection(
            org,
            owner,
            json!({ "tenant_id": TENANT, "client_id": CLIENT_ID }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    graph.fail_with(
        403,
        "Forbidden",
        "Application is not authorized to perform this operation.",
    );
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
    assert!(
        resp.detail()
            .contains("DeviceManagementManagedDevices.Read.All"),
        "{}",
        resp.detail()
    );
    // Graph failing.
    graph.fail_with(500, "InternalServerError", "Something went wrong.");
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::BAD_GATEWAY, "{:?}", resp.body);
    assert!(resp.detail().contains("500"), "{}", resp.detail());
    // Graph not answering within the timeout.
    *graph.state.fail_with.lock().expect("lock") = None;
    graph.state.hang.store(true, Ordering::SeqCst);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::GATEWAY_TIMEOUT, "{:?}", resp.body);
    assert!(
        resp.detail().contains("GRC_INTUNE__TIMEOUT_MS"),
        "{}",
        resp.detail()
    );
    nothing_written(&app).await;
    // Two connection changes were audited; no failed sync was.
    assert_eq!(app.audit_count(org, owner).await, audited + 2);

    // Working again.
    graph.state.hang.store(false, Ordering::SeqCst);
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["created"], 25);

    // The sealed secret is bound to its reference: moved under another one, it does not open.
    let moved = format!("secretref:local:{}", uuid::Uuid::new_v4());
    app.owner_sql(&format!("UPDATE sealed_secrets SET ref = '{moved}'"))
        .await;
    app.owner_sql(&format!(
        "UPDATE intune_connections SET client_secret_ref = '{moved}'"
    ))
    .await;
    let resp = app.intune_sync(org, owner).await;
    assert_eq!(resp.status, StatusCode::CONFLICT, "{:?}", resp.body);
    assert!(
        resp.detail().contains("PUT the connection again"),
        "{}",
        resp.detail()
    );
}

async fn nothing_written(app: &TestApp) {
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM intune_devices").await,
        0
    );
    assert_eq!(
        app.owner_count("SELECT COUNT(*) FROM intune_sync_runs")
            .await,
        0
    );
    assert_eq!(app.owner_count("SELECT COUNT(*) FROM assets").await, 0);
}

async fn identifiers_are_masked_for_members_and_auditors(app: TestApp, _graph: FakeGraph) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    connect(&app).await;
    assert_eq!(app.intune_sync(org, owner).await.status, StatusCode::OK);
    let admin = app
        .create_key(org, "admin@x.io", Role::Admin, "read:*,write:*")
        .await;
    let member = app
        .create_key(org, "member@x.io", Role::Member, "read:*,write:*")
        .await;
    let auditor = app
        .create_key(org, "auditor@x.io", Role::Auditor, "read:*")
        .await;
    let id = device_id(1);
    for key in [owner.as_str(), admin.key.as_str()] {
        let resp = app.intune_device(org, key, &id).await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        assert_eq!(resp.body["serial_number"], "SN00001X7F3A");
        assert_eq!(resp.body["user_principal_name"], "user1@contoso.com");
        assert_eq!(resp.body["identifiers_masked"], false);
    }
    for key in [member.key.as_str(), auditor.key.as_str()] {
        let resp = app.intune_device(org, key, &id).await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        assert_eq!(resp.body["serial_number"], "****7F3A");
        assert_eq!(resp.body["user_principal_name"], "u***@contoso.com");
        assert_eq!(resp.body["identifiers_masked"], true);
        let list = app.intune_devices(org, key, "?limit=500").await;
        assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
        let text = list.body.to_string();
        assert!(
            !text.contains("SN0000") && !text.contains("user1@"),
            "{text}"
        );
        // Members and auditors cannot sync.
        let resp = app.intune_sync(org, key).await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    }
    // Nothing Graph sent beyond the selected fields is stored (no IMEI, no phone number).
    let resp = app.intune_device(org, owner, &id).await;
    assert!(!resp.body.to_string().contains("351756051523999"));
    assert!(resp.body.get("imei").is_none());
}

async fn other_orgs_see_nothing_and_auditors_only_read(app: TestApp, _graph: FakeGraph) {
    let (org, owner) = (&app.org_id, &app.owner_key);
    connect(&app).await;
    assert_eq!(app.intune_sync(org, owner).await.status, StatusCode::OK);
    let (other, other_key) = app.other_tenant("fabrikam").await;
    let id = device_id(1);
    assert_eq!(
        app.intune_device(&other, &other_key, &id).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.intune_connection(&other, &other_key).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.intune_sync(&other, &other_key).await.status,
        StatusCode::NOT_FOUND
    );
    let list = app.intune_devices(&other, &other_key, "").await;
    assert_eq!(list.body["devices"], json!([]));
    let runs = app.intune_sync_runs(&other, &other_key, "").await;
    assert_eq!(runs.body["runs"], json!([]));
    // The other org's key on this org is not a member.
    let resp = app.intune_device(org, &other_key, &id).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    // Auditors read everything, change nothing.
    let auditor = app
        .create_key(
            org,
            "auditor@x.io",
            Role::Auditor,
            "read:*,write:*,admin:org",
        )
        .await;
    let before = app.audit_count(org, owner).await;
    assert_eq!(
        app.intune_sync(org, &auditor.key).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.set_intune_connection(org, &auditor.key, connection_body("x"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete_intune_connection(org, &auditor.key).await.status,
        StatusCode::FORBIDDEN
    );
    for resp in [
        app.intune_connection(org, &auditor.key).await,
        app.intune_devices(org, &auditor.key, "").await,
        app.intune_device(org, &auditor.key, &id).await,
        app.intune_sync_runs(org, &auditor.key, "").await,
    ] {
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    }
    assert_eq!(app.audit_count(org, owner).await, before);
    // A key without write:assets may read but not sync.
    let reader = app
        .create_key(org, "reader@x.io", Role::Owner, "read:assets")
        .await;
    assert_eq!(
        app.intune_devices(org, &reader.key, "").await.status,
        StatusCode::OK
    );
    let resp = app.intune_sync(org, &reader.key).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN, "{:?}", resp.body);
    assert_eq!(resp.body["required_scopes"], json!(["write:assets"]));
}

async fn private_endpoints_are_refused_unless_allowed(app: TestApp, graph: FakeGraph) {
    // The same fake, but an operator who did not allow loopback.
    let url = graph.url.clone();
    let strict = app
        .another_server(move |c| {
            c.listen = "127.0.0.1:0".into();
            c.intune.login_url = url.clone();
            c.intune.graph_url = url;
        })
        .await;
    connect(&strict).await;
    let resp = strict.intune_sync(&strict.org_id, &strict.owner_key).await;
    assert_eq!(resp.status, StatusCode::BAD_GATEWAY, "{:?}", resp.body);
    assert!(
        resp.detail().contains("GRC_INTUNE__ALLOW_PRIVATE"),
        "{}",
        resp.detail()
    );
    assert!(resp.detail().contains("loopback"), "{}", resp.detail());
    assert_eq!(graph.state.token_requests.load(Ordering::SeqCst), 0);
    // The server that allows it syncs.
    let resp = app.intune_sync(&app.org_id, &app.owner_key).await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
}
