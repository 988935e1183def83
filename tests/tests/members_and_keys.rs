//! Members CRUD, API key lifecycle, JWT authentication.

use grc::domain::Role;
use grc_tests::{Auth, TestApp, both_backends, json};
use reqwest::{Method, StatusCode};

both_backends!(
    members_crud_with_owner_protection,
    api_key_lifecycle_secret_shown_once,
    keys_cannot_escalate_scopes_or_roles,
    jwt_authenticates_with_org_claim_or_header,
    jwt_with_wrong_audience_or_expired_is_401,
    removing_a_member_revokes_their_keys,
    servers_with_and_without_a_lease_see_each_others_changes,
);

async fn members_crud_with_owner_protection(app: TestApp) {
    let members = app.org_path(&app.org_id, "/members");
    let added = app
        .post(
            &members,
            &app.owner_key,
            json!({ "email": "Ann@Example.com", "role": "admin" }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    assert_eq!(added.body["email"], "ann@example.com");
    let ann = added.body["user_id"].as_str().expect("id").to_owned();
    let dup = app
        .post(
            &members,
            &app.owner_key,
            json!({ "email": "ann@example.com", "role": "member" }),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = app
        .post(
            &members,
            &app.owner_key,
            json!({ "email": "nope", "role": "member" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .post(
            &members,
            &app.owner_key,
            json!({ "email": "a@b.c", "role": "emperor" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["body", "role"]));

    let one = app.get(&format!("{members}/{ann}"), &app.owner_key).await;
    assert_eq!(one.body["role"], "admin");
    let list = app.get(&members, &app.owner_key).await;
    assert_eq!(list.body["members"].as_array().map(Vec::len), Some(2));

    // The only owner can be neither demoted nor removed.
    let owner_id = list.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["role"] == "owner")
        .and_then(|m| m["user_id"].as_str())
        .expect("owner")
        .to_owned();
    let demote = app
        .call(
            Method::PATCH,
            &format!("{members}/{owner_id}"),
            Auth::Bearer(&app.owner_key),
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    assert_eq!(
        app.delete(&format!("{members}/{owner_id}"), &app.owner_key)
            .await
            .status,
        StatusCode::CONFLICT
    );

    let gone = app
        .delete(&format!("{members}/{ann}"), &app.owner_key)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("{members}/{ann}"), &app.owner_key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn api_key_lifecycle_secret_shown_once(app: TestApp) {
    let keys = app.org_path(&app.org_id, "/api-keys");
    let created = app
        .post(
            &keys,
            &app.owner_key,
            json!({ "name": "ci", "scopes": ["read:org", "read:audit"], "expires_in_days": 30 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let secret = created.body["key"].as_str().expect("key").to_owned();
    assert!(secret.starts_with("sk-"));
    assert!(created.body["expires_at"].is_string());
    let key_id = created.body["key_id"].as_str().expect("key_id").to_owned();

    // It works, and is capped by its scopes.
    assert_eq!(
        app.get(&app.org_path(&app.org_id, "/audit-log"), &secret)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(app.get(&keys, &secret).await.status, StatusCode::FORBIDDEN);

    // Listed without the secret or its hash; last_used_at is recorded.
    let list = app.get(&keys, &app.owner_key).await;
    let text = list.body.to_string();
    assert!(!text.contains(&secret) && !text.contains(&secret[12..]));
    assert!(!text.contains("key_hash"));
    let listed = list.body["api_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["key_id"] == key_id.as_str())
        .expect("listed")
        .clone();
    assert!(listed["last_used_at"].is_string());
    assert_eq!(listed["prefix"], &secret[..11]);

    // Only a hash is stored.
    let stored = app
        .get(&app.org_path(&app.org_id, "/audit-log"), &app.owner_key)
        .await;
    assert!(!stored.body.to_string().contains(&secret));

    let revoked = app
        .delete(&format!("{keys}/{key_id}"), &app.owner_key)
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let after = app
        .get(&app.org_path(&app.org_id, "/audit-log"), &secret)
        .await;
    assert_eq!(
        (after.status, after.detail()),
        (StatusCode::UNAUTHORIZED, "API key revoked")
    );
    assert_eq!(
        app.delete(&format!("{keys}/{key_id}"), &app.owner_key)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("{keys}/{}", uuid::Uuid::new_v4()), &app.owner_key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let bad = app
        .post(
            &keys,
            &app.owner_key,
            json!({ "name": "x", "scopes": ["root"] }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["body", "scopes"]));
}

async fn keys_cannot_escalate_scopes_or_roles(app: TestApp) {
    let admin = app
        .create_key(&app.org_id, "adm@x.io", Role::Admin, "read:org,admin:org")
        .await;
    let keys = app.org_path(&app.org_id, "/api-keys");
    let wider = app
        .post(
            &keys,
            &admin.key,
            json!({ "name": "w", "scopes": ["read:*"] }),
        )
        .await;
    assert_eq!(
        (wider.status, wider.detail()),
        (
            StatusCode::FORBIDDEN,
            "cannot create a key with scopes beyond your own"
        )
    );
    let same = app
        .post(
            &keys,
            &admin.key,
            json!({ "name": "s", "scopes": ["read:org"] }),
        )
        .await;
    assert_eq!(same.status, StatusCode::CREATED);
    let promote = app
        .post(
            &app.org_path(&app.org_id, "/members"),
            &admin.key,
            json!({ "email": "boss@x.io", "role": "owner" }),
        )
        .await;
    assert_eq!(
        (promote.status, promote.detail()),
        (
            StatusCode::FORBIDDEN,
            "only an owner can grant the owner role"
        )
    );
    let ok = app
        .post(
            &app.org_path(&app.org_id, "/members"),
            &app.owner_key,
            json!({ "email": "boss@x.io", "role": "owner" }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

async fn jwt_authenticates_with_org_claim_or_header(app: TestApp) {
    let with_claim = app.jwt("owner@localhost", json!({ "org_id": app.org_id }));
    let resp = app
        .get(&app.org_path(&app.org_id, "/members"), &with_claim)
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
    let orgs = app.get("/api/v1/orgs", &with_claim).await;
    assert_eq!(orgs.body["orgs"][0]["id"], app.org_id.as_str());

    // sub may be the user id; the org may come from X-Org-Id.
    let members = app
        .get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    let uid = members.body["members"][0]["user_id"]
        .as_str()
        .expect("uid")
        .to_owned();
    let by_id = app.jwt(&uid, json!({}));
    let resp = app
        .client
        .get(app.url(&app.org_path(&app.org_id, "")))
        .bearer_auth(&by_id)
        .header("X-Org-Id", &app.org_id)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);

    // A scope claim caps the token like a key's scopes.
    let narrow = app.jwt("owner@localhost", json!({ "scope": "read:evidence" }));
    let resp = app
        .get(&app.org_path(&app.org_id, "/members"), &narrow)
        .await;
    assert_eq!(
        (resp.status, resp.detail()),
        (StatusCode::FORBIDDEN, "missing required scope")
    );
    // Unknown user → 401.
    let stranger = app.jwt("nobody@x.io", json!({}));
    assert_eq!(
        app.get("/api/v1/orgs", &stranger).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn jwt_with_wrong_audience_or_expired_is_401(app: TestApp) {
    for extra in [
        json!({ "aud": "someone-else" }),
        json!({ "iss": "evil" }),
        json!({ "exp": chrono::Utc::now().timestamp() - 3600 }),
    ] {
        let token = app.jwt("owner@localhost", extra.clone());
        let resp = app
            .get(&app.org_path(&app.org_id, "/members"), &token)
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{extra}");
    }
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": "owner@localhost", "iss": "grc", "aud": "grc", "exp": chrono::Utc::now().timestamp() + 60 }),
        &jsonwebtoken::EncodingKey::from_secret(b"wrong-secret"),
    )
    .expect("sign");
    assert_eq!(
        app.get("/api/v1/orgs", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn removing_a_member_revokes_their_keys(app: TestApp) {
    let dev = app
        .create_key(&app.org_id, "dev@x.io", Role::Member, "read:org")
        .await;
    assert_eq!(
        app.get(&app.org_path(&app.org_id, ""), &dev.key)
            .await
            .status,
        StatusCode::OK
    );
    let gone = app
        .delete(
            &app.org_path(&app.org_id, &format!("/members/{}", dev.user_id)),
            &app.owner_key,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&app.org_path(&app.org_id, ""), &dev.key)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// Two servers on one database (decision 0029): `app` holds a lease and answers from what it
/// cached; `plain` runs with `GRC_ACCESS_LEASES=false` and reads on every request. A key
/// created or revoked through either is honoured by the other's next request.
async fn servers_with_and_without_a_lease_see_each_others_changes(app: TestApp) {
    let plain = app.another_server(|c| c.access_leases = false).await;
    let mut leases = 0;
    for _ in 0..400 {
        leases = app.owner_count("SELECT COUNT(*) FROM server_leases").await;
        if leases == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(leases, 1, "only the server with leases on holds one");
    let org = app.org_path(&app.org_id, "");
    let keys = app.org_path(&app.org_id, "/api-keys");
    for (creator, revoker, cached_on) in [(&app, &plain, &app), (&plain, &app, &plain)] {
        let created = creator
            .post(
                &keys,
                &app.owner_key,
                json!({ "name": "shared", "scopes": ["read:org"] }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let secret = created.body["key"].as_str().expect("key").to_owned();
        for server in [&app, &plain] {
            assert_eq!(server.get(&org, &secret).await.status, StatusCode::OK);
        }
        let key_id = created.body["key_id"].as_str().expect("key_id");
        let revoked = revoker
            .delete(&format!("{keys}/{key_id}"), &app.owner_key)
            .await;
        assert!(revoked.status.is_success(), "{:?}", revoked.body);
        for server in [cached_on, revoker] {
            assert_eq!(
                server.get(&org, &secret).await.status,
                StatusCode::UNAUTHORIZED,
                "a revoked key still worked on {}",
                server.base
            );
        }
    }
}
