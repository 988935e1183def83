//! Repositories CRUD, tenant isolation of numeric ids, and `?repo_id=` recommendation refinement.

use grc::domain::{Plan, Role};
use grc_tests::{Auth, TestApp, both_backends, json};
use reqwest::{Method, StatusCode};

both_backends!(
    repository_crud_is_audited,
    other_tenants_repo_ids_are_404,
    repo_languages_refine_control_recommendations,
);

async fn repository_crud_is_audited(app: TestApp) {
    let repos = app.org_path(&app.org_id, "/repos");
    let created = app
        .post(
            &repos,
            &app.owner_key,
            json!({ "name": "checkout-service", "languages": ["Python", "python", "Go"] }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().expect("numeric repo_id");
    assert_eq!(created.body["languages"], json!(["go", "python"]));
    assert_eq!(created.body["default_branch"], "main");
    let dup = app
        .post(
            &repos,
            &app.owner_key,
            json!({ "name": "checkout-service" }),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = app
        .post(&repos, &app.owner_key, json!({ "name": "  " }))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Members register repositories; auditors cannot.
    let member = app
        .create_key(&app.org_id, "dev@x.io", Role::Member, "read:*,write:*")
        .await;
    let second = app
        .post(&repos, &member.key, json!({ "name": "web" }))
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    let auditor = app
        .create_key(&app.org_id, "aud@x.io", Role::Auditor, "read:*,write:*")
        .await;
    assert_eq!(
        app.post(&repos, &auditor.key, json!({ "name": "nope" }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let list = app.get(&format!("{repos}?limit=1"), &app.owner_key).await;
    assert_eq!(list.body["repositories"].as_array().map(Vec::len), Some(1));
    let item = format!("{repos}/{id}");
    let patched = app
        .call(
            Method::PATCH,
            &item,
            Auth::Bearer(&app.owner_key),
            Some(json!({ "name": "checkout", "languages": ["java"] })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(
        app.get(&item, &app.owner_key).await.body["name"],
        "checkout"
    );
    assert_eq!(
        app.delete(&item, &app.owner_key).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&item, &app.owner_key).await.status,
        StatusCode::NOT_FOUND
    );

    let actions = app
        .audit_actions(&app.org_id, "target_type=repository")
        .await;
    assert_eq!(
        actions,
        [
            "REPOSITORY_DELETED",
            "REPOSITORY_UPDATED",
            "REPOSITORY_CREATED",
            "REPOSITORY_CREATED"
        ]
    );
}

async fn other_tenants_repo_ids_are_404(app: TestApp) {
    let org_b = app.create_org("b", Plan::Team).await;
    let b = app
        .create_key(&org_b, "b@b.io", Role::Owner, "read:*,write:*")
        .await;
    let theirs = app
        .post(
            &app.org_path(&org_b, "/repos"),
            &b.key,
            json!({ "name": "secret-project" }),
        )
        .await;
    let id = theirs.body["id"].as_i64().expect("id");
    let resp = app
        .get(
            &app.org_path(&app.org_id, &format!("/repos/{id}")),
            &app.owner_key,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert!(!resp.body.to_string().contains("secret-project"));
    let seed = app
        .call(
            Method::GET,
            &format!("/api/compliance/frameworks/soc2/controls?repo_id={id}"),
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(seed.status, StatusCode::NOT_FOUND);
    let list = app
        .get(&app.org_path(&app.org_id, "/repos"), &app.owner_key)
        .await;
    assert_eq!(list.body["repositories"], json!([]));
}

async fn repo_languages_refine_control_recommendations(app: TestApp) {
    let created = app
        .post(
            &app.org_path(&app.org_id, "/repos"),
            &app.owner_key,
            json!({ "name": "ml", "languages": ["python"] }),
        )
        .await;
    let id = created.body["id"].as_i64().expect("id");
    let crypto_controls = |body: &serde_json::Value| -> Vec<(String, String, String)> {
        body["controls"]
            .as_array()
            .expect("controls")
            .iter()
            .filter(|c| c["check_type"] == "sast_crypto")
            .map(|c| {
                (
                    c["id"].as_str().unwrap_or_default().to_owned(),
                    c["recommendation"].as_str().unwrap_or_default().to_owned(),
                    c["recommendation_reason"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    };
    let base = app
        .call(
            Method::GET,
            "/api/compliance/frameworks/iso27001/controls",
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    let refined = app
        .call(
            Method::GET,
            &format!("/api/compliance/frameworks/iso27001/controls?repo_id={id}"),
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(refined.status, StatusCode::OK, "{:?}", refined.body);
    let (before, after) = (crypto_controls(&base.body), crypto_controls(&refined.body));
    assert!(!after.is_empty(), "iso27001 has crypto controls");
    for ((id_b, badge_b, _), (id_a, badge_a, reason_a)) in before.iter().zip(&after) {
        assert_eq!(id_b, id_a);
        let rank = |b: &str| {
            ["optional", "recommended", "required"]
                .iter()
                .position(|x| *x == b)
        };
        assert!(
            rank(badge_a) >= rank(badge_b),
            "{id_a}: {badge_b} → {badge_a}"
        );
        assert!(badge_a != "optional");
        assert!(reason_a.contains("python"), "{reason_a}");
    }
    // Controls outside the language's domain keep their baseline badge.
    let pick = |body: &serde_json::Value| {
        body["controls"]
            .as_array()
            .expect("c")
            .iter()
            .find(|c| c["check_type"] == "evidence")
            .cloned()
    };
    assert_eq!(pick(&base.body), pick(&refined.body));
    let missing = app
        .call(
            Method::GET,
            "/api/compliance/frameworks/soc2/controls?repo_id=999999",
            Auth::XApiKey(&app.owner_key),
            None,
        )
        .await;
    assert_eq!(
        (missing.status, missing.detail()),
        (StatusCode::NOT_FOUND, "Repository not found")
    );
}
