//! Tenant-authored Cedar policies: strict validation on upload, immediate effect, explain.

use grc::domain::Role;
use grc_tests::{TestApp, both_backends, json};
use reqwest::StatusCode;

both_backends!(
    invalid_policy_is_400_with_diagnostics_and_not_stored,
    valid_forbid_takes_effect_immediately_and_delete_lifts_it,
    tenant_permit_cannot_override_baseline_guardrails,
    explain_reports_decision_and_determining_policies,
    policy_crud_and_name_conflict,
);

async fn invalid_policy_is_400_with_diagnostics_and_not_stored(app: TestApp) {
    let path = app.org_path(&app.org_id, "/access-policies");
    for bad in [
        "permit(principal, action == Action::\"no.such\", resource);",
        "permit(principal, action, resource) when { principal.salary > 3 };",
        "permit(principal, action",
        "permit(principal, action, resource); forbid(principal, action, resource);",
    ] {
        let resp = app
            .post(
                &path,
                &app.owner_key,
                json!({ "name": "bad", "policy": bad }),
            )
            .await;
        assert_eq!(
            resp.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {:?}",
            resp.body
        );
        assert_eq!(resp.body["detail"]["error"], "invalid_policy");
        let diags = resp.body["detail"]["diagnostics"]
            .as_array()
            .expect("diagnostics");
        assert!(!diags.is_empty() && diags[0]["message"].is_string());
    }
    let first = app
        .post(&path, &app.owner_key, json!({ "name": "bad", "policy": "permit(principal, action == Action::\"no.such\", resource);" }))
        .await;
    assert_eq!(first.body["detail"]["diagnostics"][0]["line"], 1);
    assert!(
        first.body["detail"]["diagnostics"][0]["column"]
            .as_u64()
            .is_some()
    );
    let list = app.get(&path, &app.owner_key).await;
    assert_eq!(list.body["policies"].as_array().map(Vec::len), Some(0));

    let check = app
        .post(
            &format!("{path}/validate"),
            &app.owner_key,
            json!({ "policy": "permit(principal, action" }),
        )
        .await;
    assert_eq!(check.status, StatusCode::OK);
    assert_eq!(check.body["valid"], false);
    let check = app
        .post(&format!("{path}/validate"), &app.owner_key, json!({ "policy": "forbid(principal, action, resource) when { principal.role == \"member\" };" }))
        .await;
    assert_eq!(check.body["valid"], true, "{:?}", check.body);
}

async fn valid_forbid_takes_effect_immediately_and_delete_lifts_it(app: TestApp) {
    let member = app
        .create_key(&app.org_id, "dev@x.io", Role::Member, "read:*,write:*")
        .await;
    let members = app.org_path(&app.org_id, "/members");
    assert_eq!(app.get(&members, &member.key).await.status, StatusCode::OK);

    let created = app
        .post(
            &app.org_path(&app.org_id, "/access-policies"),
            &app.owner_key,
            json!({
                "name": "members-cannot-list-members",
                "description": "need-to-know",
                "policy": "@id(\"no-member-listing\")\nforbid(principal, action == Action::\"member.list\", resource)\nwhen { principal.role == \"member\" };",
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();

    let denied = app.get(&members, &member.key).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.detail(), format!("forbidden by access policy {id}"));
    // The owner is unaffected.
    assert_eq!(
        app.get(&members, &app.owner_key).await.status,
        StatusCode::OK
    );

    let gone = app
        .delete(
            &app.org_path(&app.org_id, &format!("/access-policies/{id}")),
            &app.owner_key,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&members, &member.key).await.status, StatusCode::OK);

    // Both policy changes are in the verifiable audit log.
    let actions = app.audit_actions(&app.org_id, "").await;
    assert!(
        actions[..2] == ["ACCESS_POLICY_DELETED", "ACCESS_POLICY_CREATED"],
        "{actions:?}"
    );
    let verify = app
        .get(
            &app.org_path(&app.org_id, "/audit-log/verify"),
            &app.owner_key,
        )
        .await;
    assert_eq!(verify.body["valid"], true);
}

async fn tenant_permit_cannot_override_baseline_guardrails(app: TestApp) {
    let created = app
        .post(
            &app.org_path(&app.org_id, "/access-policies"),
            &app.owner_key,
            json!({ "name": "allow-everything", "policy": "permit(principal, action, resource);" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let auditor = app
        .create_key(
            &app.org_id,
            "aud@x.io",
            Role::Auditor,
            "read:*,write:*,admin:org",
        )
        .await;
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/members"),
            &auditor.key,
            json!({ "email": "x@y.io", "role": "member" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    let member = app
        .create_key(
            &app.org_id,
            "mem@x.io",
            Role::Member,
            "read:*,write:*,admin:org",
        )
        .await;
    let resp = app
        .post(
            &app.org_path(&app.org_id, "/api-keys"),
            &member.key,
            json!({ "name": "k", "scopes": ["read:org"] }),
        )
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::FORBIDDEN, "Org admin role required")
    );
}

async fn explain_reports_decision_and_determining_policies(app: TestApp) {
    let member = app
        .create_key(&app.org_id, "m@x.io", Role::Member, "read:org")
        .await;
    let explain = app.org_path(&app.org_id, "/authz/explain");
    let resp = app
        .post(
            &explain,
            &app.owner_key,
            json!({
                "principal": format!("User::\"{}\"", member.user_id),
                "action": "Action::\"member.list\"",
                "resource": format!("Org::\"{}\"", app.org_id),
            }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    assert_eq!(resp.body["decision"], "allow");
    assert_eq!(resp.body["policy_ids"], json!(["role.member"]));
    assert_eq!(resp.body["role"], "member");

    // The same member, through their narrow key, may not manage keys: two guardrails say so.
    let resp = app
        .post(
            &explain,
            &app.owner_key,
            json!({
                "principal": format!("ApiKey::\"{}\"", member.key_id),
                "action": "apikey.create",
                "resource": format!("Org::\"{}\"", app.org_id),
            }),
        )
        .await;
    assert_eq!(resp.body["decision"], "deny");
    let ids: Vec<&str> = resp.body["policy_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        ids.contains(&"guard.manage_requires_admin") && ids.contains(&"guard.scope.admin_org"),
        "{ids:?}"
    );
    assert_eq!(resp.body["message"], "missing required scope");

    let resp = app
        .post(
            &explain,
            &app.owner_key,
            json!({ "principal": "nonsense", "action": "org.read", "resource": "Org::\"x\"" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.body["detail"][0]["loc"], json!(["body", "principal"]));
}

async fn policy_crud_and_name_conflict(app: TestApp) {
    let path = app.org_path(&app.org_id, "/access-policies");
    let body = json!({ "name": "one", "policy": "forbid(principal, action == Action::\"audit.verify\", resource) when { principal.role == \"auditor\" };" });
    let created = app.post(&path, &app.owner_key, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        app.post(&path, &app.owner_key, body).await.status,
        StatusCode::CONFLICT
    );
    let id = created.body["id"].as_str().expect("id");
    let item = format!("{path}/{id}");
    let updated = app
        .put(&item, &app.owner_key, json!({ "name": "one", "description": "v2", "policy": "forbid(principal, action == Action::\"audit.read\", resource) when { principal.role == \"auditor\" };" }))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["description"], "v2");
    let bad = app
        .put(
            &item,
            &app.owner_key,
            json!({ "name": "one", "policy": "nope" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let fetched = app.get(&item, &app.owner_key).await;
    assert_eq!(
        fetched.body["description"], "v2",
        "a rejected update changes nothing"
    );
}
