//! The hash-chained audit log: one entry per mutation, filters and paging, tamper detection.

use grc::domain::Role;
use grc_tests::{Backend, TestApp, both_backends, json};
use reqwest::StatusCode;

both_backends!(
    every_mutation_writes_exactly_one_entry_with_actor_and_policies,
    audit_log_filters_and_pages,
    tampering_with_an_entry_is_detected_at_the_first_broken_link,
    deleting_an_entry_is_detected,
);

async fn every_mutation_writes_exactly_one_entry_with_actor_and_policies(app: TestApp) {
    let count = || app.audit_count(&app.org_id, &app.owner_key);
    let n0 = count().await;
    let created = app
        .post(
            &app.org_path(&app.org_id, "/members"),
            &app.owner_key,
            json!({ "email": "Sam@X.io", "role": "member" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(count().await, n0 + 1);
    let user = created.body["user_id"].as_str().expect("user_id");
    app.call(
        reqwest::Method::PATCH,
        &app.org_path(&app.org_id, &format!("/members/{user}")),
        grc_tests::Auth::Bearer(&app.owner_key),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(count().await, n0 + 2);
    // Reads and failures write nothing.
    app.get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    app.post(
        &app.org_path(&app.org_id, "/members"),
        &app.owner_key,
        json!({ "email": "sam@x.io", "role": "member" }),
    )
    .await;
    assert_eq!(count().await, n0 + 2);

    let log = app
        .get(
            &app.org_path(&app.org_id, "/audit-log?limit=1"),
            &app.owner_key,
        )
        .await;
    let e = &log.body["entries"][0];
    assert_eq!(e["action"], "MEMBER_ROLE_CHANGED");
    assert_eq!(e["actor_email"], "owner@localhost");
    assert_eq!(e["ip"], "127.0.0.1");
    assert!(e["user_agent"].is_string() || e["user_agent"].is_null());
    assert_eq!(
        e["metadata"],
        json!({ "email": "sam@x.io", "from": "member", "to": "admin" })
    );
    assert_eq!(e["policy_ids"], json!(["role.owner_admin"]));
}

async fn audit_log_filters_and_pages(app: TestApp) {
    for i in 0..5 {
        app.post(
            &app.org_path(&app.org_id, "/members"),
            &app.owner_key,
            json!({ "email": format!("u{i}@x.io"), "role": "member" }),
        )
        .await;
    }
    let base = app.org_path(&app.org_id, "/audit-log");
    let page1 = app
        .get(
            &format!("{base}?action=MEMBER_ADDED&limit=3"),
            &app.owner_key,
        )
        .await;
    assert_eq!(page1.body["entries"].as_array().map(Vec::len), Some(3));
    let cursor = page1.body["next_before_seq"].as_i64().expect("cursor");
    let page2 = app
        .get(
            &format!("{base}?action=MEMBER_ADDED&limit=3&before_seq={cursor}"),
            &app.owner_key,
        )
        .await;
    assert_eq!(page2.body["entries"].as_array().map(Vec::len), Some(2));
    assert!(page2.body["next_before_seq"].is_null());
    let by_actor = app
        .get(
            &format!("{base}?actor=owner@localhost&action=MEMBER_ADDED"),
            &app.owner_key,
        )
        .await;
    assert_eq!(by_actor.body["entries"].as_array().map(Vec::len), Some(5));
    let bad = app.get(&format!("{base}?limit=0"), &app.owner_key).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .get(&format!("{base}?since=yesterday"), &app.owner_key)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let future = app
        .get(
            &format!("{base}?since=2999-01-01T00:00:00Z"),
            &app.owner_key,
        )
        .await;
    assert_eq!(future.body["entries"].as_array().map(Vec::len), Some(0));
}

/// Lifts the append-only protection (as the database owner would have to) to simulate an
/// attacker with direct database access.
async fn tamper(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            app.owner_sql(&format!(
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; {sql}"
            ))
            .await
        }
        Backend::Postgres => {
            app.owner_sql(&format!(
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; {sql}"
            ))
            .await
        }
    }
}

async fn tampering_with_an_entry_is_detected_at_the_first_broken_link(app: TestApp) {
    for i in 0..3 {
        app.post(
            &app.org_path(&app.org_id, "/members"),
            &app.owner_key,
            json!({ "email": format!("t{i}@x.io"), "role": "member" }),
        )
        .await;
    }
    let verify = app.org_path(&app.org_id, "/audit-log/verify");
    let ok = app.get(&verify, &app.owner_key).await;
    assert_eq!(ok.body["valid"], true, "{:?}", ok.body);
    let total = ok.body["entries_checked"].as_i64().expect("count");

    tamper(&app, &format!(
        "UPDATE audit_log SET metadata = '{{\"email\":\"evil@x.io\",\"role\":\"owner\"}}' WHERE org_id = '{}' AND seq = 3",
        app.org_id
    ))
    .await;
    let broken = app.get(&verify, &app.owner_key).await;
    assert_eq!(broken.status, StatusCode::OK);
    assert_eq!(broken.body["valid"], false);
    assert_eq!(broken.body["first_broken"]["seq"], 3);
    assert_eq!(broken.body["entries_checked"], 2);
    assert!(
        broken.body["first_broken"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("modified")
    );
    assert!(total > 3);
}

async fn deleting_an_entry_is_detected(app: TestApp) {
    let k = app
        .create_key(&app.org_id, "x@x.io", Role::Member, "read:org")
        .await;
    app.delete(
        &app.org_path(&app.org_id, &format!("/api-keys/{}", k.key_id)),
        &app.owner_key,
    )
    .await;
    tamper(
        &app,
        &format!(
            "DELETE FROM audit_log WHERE org_id = '{}' AND seq = 2",
            app.org_id
        ),
    )
    .await;
    let broken = app
        .get(
            &app.org_path(&app.org_id, "/audit-log/verify"),
            &app.owner_key,
        )
        .await;
    assert_eq!(broken.body["valid"], false);
    assert_eq!(broken.body["first_broken"]["seq"], 3);
}
