//! SCIM 2.0 provisioning through HTTP, on both backends: request sequences shaped like Okta's and
//! Entra ID's (written from their public SCIM documentation), fail-closed deprovisioning, token
//! isolation, SCIM-shaped errors for malformed input, provisioning status and masked reads.

use grc_tests::{Auth, TestApp, both_backends, scim::ScimResp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    okta_sequence_grants_changes_and_removes_access,
    entra_sequence_with_its_patch_shapes,
    deprovisioned_key_is_refused_on_its_next_request,
    a_token_reaches_its_own_org_and_scim_only,
    malformed_scim_input_gets_scim_400s,
    status_mappings_and_masked_reads,
);

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn mappings() -> Value {
    json!([
        { "match_on": "display_name", "value": "GRC Admins", "role": "admin" },
        { "match_on": "display_name", "value": "Engineering", "role": "member" },
        { "match_on": "external_id", "value": "entra-grp-auditors", "role": "auditor" },
    ])
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": [PATCH], "Operations": ops })
}

/// The member's role in the org (owner view), or `None` when they have no active membership.
async fn role_of(app: &TestApp, email: &str) -> Option<String> {
    let members = app
        .get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await;
    assert_eq!(members.status, StatusCode::OK, "{:?}", members.body);
    members.body["members"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|m| m["email"] == json!(email) && m["status"] == json!("active"))
        })
        .map(|m| m["role"].as_str().unwrap_or_default().to_owned())
}

/// An API key for a provisioned member, made by the owner.
async fn key_for(app: &TestApp, user_id: &str) -> String {
    let made = app
        .post(
            &app.org_path(&app.org_id, "/api-keys"),
            &app.owner_key,
            json!({ "name": "laptop", "scopes": ["read:org"], "user_id": user_id }),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    made.body["key"].as_str().expect("present").to_owned()
}

async fn org_status(app: &TestApp, key: &str) -> StatusCode {
    app.get(&app.org_path(&app.org_id, ""), key).await.status
}

fn created(resp: &ScimResp) -> String {
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.body);
    resp.body["id"].as_str().expect("present").to_owned()
}

async fn okta_sequence_grants_changes_and_removes_access(app: TestApp) {
    let conn = app
        .scim_connection(&app.org_id, &app.owner_key, "Okta", mappings())
        .await;
    let t = conn.token.as_str();

    // Okta looks the user up before creating them.
    let lookup = app
        .scim(
            Method::GET,
            "/Users?filter=userName%20eq%20%22ann%40example.com%22&startIndex=1&count=100",
            t,
            None,
            None,
        )
        .await;
    assert_eq!(lookup.status, StatusCode::OK, "{}", lookup.body);
    assert!(lookup.content_type.starts_with("application/scim+json"));
    assert_eq!(lookup.body["totalResults"], json!(0));
    assert_eq!(lookup.body["Resources"], json!([]));

    let ann = app
        .scim(
            Method::POST,
            "/Users",
            t,
            Some(json!({
                "schemas": [USER],
                "userName": "ann@example.com",
                "name": { "givenName": "Ann", "familyName": "Lee" },
                "emails": [{ "primary": true, "value": "ann@example.com", "type": "work" }],
                "displayName": "Ann Lee",
                "locale": "en-US",
                "externalId": "00u1ann",
                "groups": [],
                "password": "not-stored-1!",
                "active": true
            })),
            None,
        )
        .await;
    let ann_id = created(&ann);
    assert!(ann.body.get("password").is_none(), "{}", ann.body);
    assert_eq!(ann.body["meta"]["version"], json!("W/\"1\""));
    assert_eq!(ann.etag.as_deref(), Some("W/\"1\""));
    // No mapped group yet: no access.
    assert_eq!(role_of(&app, "ann@example.com").await, None);
    let dup = app
        .scim(
            Method::POST,
            "/Users",
            t,
            Some(json!({ "schemas": [USER], "userName": "ANN@example.com" })),
            None,
        )
        .await;
    dup.assert_error(409);
    assert_eq!(dup.scim_type(), "uniqueness");

    // Okta pushes a group, then its members.
    let group = app
        .scim(
            Method::POST,
            "/Groups",
            t,
            Some(json!({ "schemas": [GROUP], "displayName": "Engineering", "members": [] })),
            None,
        )
        .await;
    let group_id = created(&group);
    let added = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            t,
            Some(patch(json!([{
                "op": "add", "path": "members",
                "value": [{ "value": ann_id, "display": "ann@example.com" }]
            }]))),
            None,
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["members"][0]["value"], json!(ann_id));
    assert_eq!(
        role_of(&app, "ann@example.com").await.as_deref(),
        Some("member")
    );
    let ann_user_id = app
        .provisioned_users(&app.org_id, &app.owner_key, "")
        .await
        .body["users"][0]["user_id"]
        .as_str()
        .expect("present")
        .to_owned();
    let key = key_for(&app, &ann_user_id).await;
    assert_eq!(org_status(&app, &key).await, StatusCode::OK);

    // Okta renames the group (its pathless replace repeats the id): the admin mapping applies.
    let renamed = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            t,
            Some(patch(json!([{
                "op": "replace", "value": { "id": group_id, "displayName": "GRC Admins" }
            }]))),
            None,
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(
        role_of(&app, "ann@example.com").await.as_deref(),
        Some("admin")
    );

    // Okta removes a member with a filter path: access ends, the key with it.
    let removed = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            t,
            Some(patch(json!([{
                "op": "remove", "path": format!("members[value eq \"{ann_id}\"]")
            }]))),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(removed.body["members"], json!([]));
    assert_eq!(role_of(&app, "ann@example.com").await, None);
    assert_eq!(org_status(&app, &key).await, StatusCode::UNAUTHORIZED);
    let jwt = app.jwt("ann@example.com", json!({ "org_id": app.org_id }));
    assert_eq!(org_status(&app, &jwt).await, StatusCode::FORBIDDEN);

    // Back in the group: the membership and role return, the revoked key does not.
    let readded = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            t,
            Some(patch(
                json!([{ "op": "add", "path": "members", "value": [{ "value": ann_id }] }]),
            )),
            None,
        )
        .await;
    assert_eq!(readded.status, StatusCode::OK, "{}", readded.body);
    assert_eq!(
        role_of(&app, "ann@example.com").await.as_deref(),
        Some("admin")
    );
    assert_eq!(org_status(&app, &jwt).await, StatusCode::OK);
    assert_eq!(org_status(&app, &key).await, StatusCode::UNAUTHORIZED);

    // Okta deactivates with a pathless replace, then reactivates.
    for (active, expected) in [(false, None), (true, Some("admin"))] {
        let patched = app
            .scim(
                Method::PATCH,
                &format!("/Users/{ann_id}"),
                t,
                Some(patch(
                    json!([{ "op": "replace", "value": { "active": active } }]),
                )),
                None,
            )
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        assert_eq!(patched.body["active"], json!(active));
        assert_eq!(role_of(&app, "ann@example.com").await.as_deref(), expected);
    }

    let actions = app
        .audit_actions(&app.org_id, "target_type=scim_group")
        .await;
    assert!(
        actions.iter().any(|a| a == "SCIM_GROUP_PATCHED"),
        "{actions:?}"
    );
    let entries = app
        .get(
            &app.org_path(&app.org_id, "/audit-log?action=SCIM_USER_PATCHED"),
            &app.owner_key,
        )
        .await;
    assert_eq!(
        entries.body["entries"][0]["actor_email"],
        json!(format!("scim:{}", conn.id)),
        "{:?}",
        entries.body
    );
}

async fn entra_sequence_with_its_patch_shapes(app: TestApp) {
    let conn = app
        .scim_connection(&app.org_id, &app.owner_key, "Entra ID", mappings())
        .await;
    let t = conn.token.as_str();
    let mut ids = Vec::new();
    for name in ["bob", "carol"] {
        let user = app
            .scim(
                Method::POST,
                "/Users",
                t,
                Some(json!({
                    "schemas": [USER, ENTERPRISE],
                    "externalId": name,
                    "userName": format!("{name}@contoso.com"),
                    "active": true,
                    "displayName": name,
                    "emails": [{ "primary": true, "type": "work", "value": format!("{name}@contoso.com") }],
                    "meta": { "resourceType": "User" },
                    "name": { "formatted": name, "familyName": "C", "givenName": name },
                    "roles": [],
                    ENTERPRISE: { "department": "Security" }
                })),
                None,
            )
            .await;
        ids.push(created(&user));
    }
    let (bob, carol) = (ids[0].clone(), ids[1].clone());

    // Entra checks the group by name without members, then creates it.
    let lookup = app
        .scim(
            Method::GET,
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Security%20Auditors%22",
            t,
            None,
            None,
        )
        .await;
    assert_eq!(lookup.body["totalResults"], json!(0), "{}", lookup.body);
    let group = app
        .scim(
            Method::POST,
            "/Groups",
            t,
            Some(json!({
                "schemas": [GROUP], "externalId": "entra-grp-auditors",
                "displayName": "Security Auditors", "members": []
            })),
            None,
        )
        .await;
    let group_id = created(&group);
    let added = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            t,
            Some(patch(json!([{
                "op": "Add", "path": "members", "value": [{ "value": bob }, { "value": carol }]
            }]))),
            None,
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(
        role_of(&app, "bob@contoso.com").await.as_deref(),
        Some("auditor")
    );
    assert_eq!(
        role_of(&app, "carol@contoso.com").await.as_deref(),
        Some("auditor")
    );

    // Entra's membership check.
    let check = app
        .scim(
            Method::GET,
            &format!(
                "/Groups?filter=id%20eq%20%22{group_id}%22%20and%20members.value%20eq%20%22{bob}%22&excludedAttributes=members"
            ),
            t,
            None,
            None,
        )
        .await;
    assert_eq!(check.body["totalResults"], json!(1), "{}", check.body);
    assert!(check.body["Resources"][0].get("members").is_none());

    // Entra's user PATCH: capitalised ops, an email filter path, the enterprise extension.
    let before = app
        .scim(Method::GET, &format!("/Users/{bob}"), t, None, None)
        .await;
    let etag = before.etag.clone().expect("an ETag");
    let patched = app
        .scim(
            Method::PATCH,
            &format!("/Users/{bob}"),
            t,
            Some(patch(json!([
                { "op": "Replace", "path": "displayName", "value": "Bobby" },
                { "op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Audit" },
                { "op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": { "value": carol } },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bob@contoso.com" },
                { "op": "Replace", "path": "name.givenName", "value": "Bobby" }
            ]))),
            Some(&etag),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["displayName"], json!("Bobby"));
    assert_eq!(patched.body[ENTERPRISE]["department"], json!("Audit"));
    assert_eq!(patched.body[ENTERPRISE]["manager"]["value"], json!(carol));
    assert_eq!(patched.body["name"]["givenName"], json!("Bobby"));
    assert_eq!(patched.body["groups"][0]["value"], json!(group_id));
    // The ETag moved: a write naming the old one is refused and changes nothing.
    let stale = app
        .scim(
            Method::PATCH,
            &format!("/Users/{bob}"),
            t,
            Some(patch(
                json!([{ "op": "Replace", "path": "displayName", "value": "X" }]),
            )),
            Some(&etag),
        )
        .await;
    stale.assert_error(412);

    // Entra removes a member with a value array: only that member goes.
    let removed = app
        .scim(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            t,
            Some(patch(
                json!([{ "op": "Remove", "path": "members", "value": [{ "value": bob }] }]),
            )),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let left: Vec<&Value> = removed.body["members"]
        .as_array()
        .expect("present")
        .iter()
        .collect();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["value"], json!(carol));
    assert_eq!(role_of(&app, "bob@contoso.com").await, None);
    assert_eq!(
        role_of(&app, "carol@contoso.com").await.as_deref(),
        Some("auditor")
    );

    // Deactivation with the string "False".
    let deactivated = app
        .scim(
            Method::PATCH,
            &format!("/Users/{carol}"),
            t,
            Some(patch(
                json!([{ "op": "Replace", "path": "active", "value": "False" }]),
            )),
            None,
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.body);
    assert_eq!(deactivated.body["active"], json!(false));
    assert_eq!(role_of(&app, "carol@contoso.com").await, None);

    // Delete: gone from SCIM, no access.
    let deleted = app
        .scim(Method::DELETE, &format!("/Users/{carol}"), t, None, None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.scim(Method::GET, &format!("/Users/{carol}"), t, None, None)
        .await
        .assert_error(404);
    let group = app
        .scim(Method::GET, &format!("/Groups/{group_id}"), t, None, None)
        .await;
    assert_eq!(group.body["members"], json!([]), "{}", group.body);
}

async fn deprovisioned_key_is_refused_on_its_next_request(app: TestApp) {
    let conn = app
        .scim_connection(&app.org_id, &app.owner_key, "Okta", mappings())
        .await;
    let t = conn.token.as_str();
    let user = app
        .scim(
            Method::POST,
            "/Users",
            t,
            Some(json!({ "schemas": [USER], "userName": "dee@example.com" })),
            None,
        )
        .await;
    let id = created(&user);
    app.scim(
        Method::POST,
        "/Groups",
        t,
        Some(json!({ "displayName": "Engineering", "members": [{ "value": id }] })),
        None,
    )
    .await;
    let users = app.provisioned_users(&app.org_id, &app.owner_key, "").await;
    let user_id = users.body["users"][0]["user_id"]
        .as_str()
        .expect("present")
        .to_owned();
    let key = key_for(&app, &user_id).await;
    // Warm every cache with successful requests first.
    for _ in 0..3 {
        assert_eq!(org_status(&app, &key).await, StatusCode::OK);
    }
    let deleted = app
        .scim(Method::DELETE, &format!("/Users/{id}"), t, None, None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(org_status(&app, &key).await, StatusCode::UNAUTHORIZED);
    let keys = app
        .get(&app.org_path(&app.org_id, "/api-keys"), &app.owner_key)
        .await;
    let revoked = keys.body["api_keys"]
        .as_array()
        .expect("present")
        .iter()
        .find(|k| k["user_id"] == json!(user_id))
        .expect("the key is listed");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let suspended = app
        .get(
            &app.org_path(&app.org_id, "/audit-log?action=SCIM_USER_DELETED"),
            &app.owner_key,
        )
        .await;
    let access = &suspended.body["entries"][0]["metadata"]["access"];
    assert_eq!(access["change"], json!("suspended"), "{:?}", suspended.body);
    assert_eq!(access["keys_revoked"], json!(1));
    // The operator's break-glass key (`grc admin create-key`) makes the membership active again.
    let glass = app
        .create_key(
            &app.org_id,
            "dee@example.com",
            grc::domain::Role::Member,
            "read:org",
        )
        .await;
    assert_eq!(org_status(&app, &glass.key).await, StatusCode::OK);
    assert_eq!(org_status(&app, &key).await, StatusCode::UNAUTHORIZED);
}

async fn a_token_reaches_its_own_org_and_scim_only(app: TestApp) {
    let ours = app
        .scim_connection(&app.org_id, &app.owner_key, "Okta", mappings())
        .await;
    let (other_org, other_key) = app.other_tenant("scimother").await;
    let theirs = app
        .scim_connection(&other_org, &other_key, "Okta", json!([]))
        .await;
    let user = app
        .scim(
            Method::POST,
            "/Users",
            &theirs.token,
            Some(json!({ "userName": "eve@other.test" })),
            None,
        )
        .await;
    let their_user = created(&user);
    // Another org's resources do not exist for this token.
    app.scim(
        Method::GET,
        &format!("/Users/{their_user}"),
        &ours.token,
        None,
        None,
    )
    .await
    .assert_error(404);
    let listed = app
        .scim(Method::GET, "/Users", &ours.token, None, None)
        .await;
    assert_eq!(listed.body["totalResults"], json!(0), "{}", listed.body);
    let patched = app
        .scim(
            Method::PATCH,
            &format!("/Users/{their_user}"),
            &ours.token,
            Some(patch(
                json!([{ "op": "replace", "path": "active", "value": false }]),
            )),
            None,
        )
        .await;
    patched.assert_error(404);
    // A SCIM token is not an API credential, and an API key is not a SCIM credential.
    for path in [
        app.org_path(&app.org_id, ""),
        app.org_path(&other_org, ""),
        app.org_path(&app.org_id, "/members"),
        app.org_path(&app.org_id, "/scim/connections"),
    ] {
        let resp = app
            .call(Method::GET, &path, Auth::Bearer(&ours.token), None)
            .await;
        assert_eq!(
            resp.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {:?}",
            resp.body
        );
    }
    app.scim(Method::GET, "/Users", &app.owner_key, None, None)
        .await
        .assert_error(401);
    app.scim(Method::GET, "/Users", "st-garbage", None, None)
        .await
        .assert_error(401);
    // Rotation ends the old token at once; disabling ends the new one until enabled.
    let rotated = app
        .rotate_scim_connection(&app.org_id, &app.owner_key, &ours.id)
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    let new_token = rotated.body["token"].as_str().expect("present").to_owned();
    app.scim(Method::GET, "/Users", &ours.token, None, None)
        .await
        .assert_error(401);
    assert_eq!(
        app.scim(
            Method::GET,
            "/ServiceProviderConfig",
            &new_token,
            None,
            None
        )
        .await
        .body["patch"]["supported"],
        json!(true)
    );
    let disabled = app
        .set_scim_connection_status(&app.org_id, &app.owner_key, &ours.id, "disabled")
        .await;
    assert_eq!(
        disabled.body["status"],
        json!("disabled"),
        "{:?}",
        disabled.body
    );
    app.scim(Method::GET, "/Users", &new_token, None, None)
        .await
        .assert_error(401);
    app.set_scim_connection_status(&app.org_id, &app.owner_key, &ours.id, "active")
        .await;
    assert_eq!(
        app.scim(Method::GET, "/Users", &new_token, None, None)
            .await
            .status,
        StatusCode::OK
    );
    // Connections are the org's admins' business, and another org's connection is not found.
    let member = app
        .create_key(
            &app.org_id,
            "mem@example.com",
            grc::domain::Role::Member,
            "read:*,write:*,admin:org",
        )
        .await;
    assert_eq!(
        app.create_scim_connection(&app.org_id, &member.key, "x")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_scim_connection(&app.org_id, &app.owner_key, &theirs.id)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_scim_connection(&other_org, &app.owner_key, &theirs.id)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn malformed_scim_input_gets_scim_400s(app: TestApp) {
    let conn = app
        .scim_connection(&app.org_id, &app.owner_key, "Okta", mappings())
        .await;
    let t = conn.token.as_str();
    let user = app
        .scim(
            Method::POST,
            "/Users",
            t,
            Some(json!({ "userName": "fay@example.com" })),
            None,
        )
        .await;
    let id = created(&user);
    let users = |b: Value| (Method::POST, "/Users".to_owned(), b);
    let patch_user = |b: Value| (Method::PATCH, format!("/Users/{id}"), b);
    let cases = [
        users(json!([])),
        users(json!({ "name": "x" })),
        users(json!({ "userName": "" })),
        users(json!({ "userName": "no-email-here" })),
        users(json!({ "userName": "g@example.com", "active": "sometimes" })),
        users(json!({ "userName": "g@example.com", "emails": "g@example.com" })),
        users(json!({ "userName": "g@example.com", "schemas": ["urn:wrong"] })),
        (
            Method::POST,
            "/Groups".into(),
            json!({ "displayName": "G", "members": [{ "value": "nope" }] }),
        ),
        (Method::POST, "/Groups".into(), json!({ "members": [] })),
        patch_user(json!({ "Operations": [] })),
        patch_user(
            json!({ "schemas": ["urn:wrong"], "Operations": [{ "op": "add", "path": "a", "value": 1 }] }),
        ),
        patch_user(patch(
            json!([{ "op": "move", "path": "active", "value": false }]),
        )),
        patch_user(patch(json!([{ "op": "remove" }]))),
        patch_user(patch(
            json!([{ "op": "replace", "path": "emails[type eq", "value": 1 }]),
        )),
        patch_user(patch(
            json!([{ "op": "replace", "path": "id", "value": "x" }]),
        )),
        patch_user(patch(
            json!([{ "op": "add", "path": "groups", "value": [] }]),
        )),
        patch_user(patch(
            json!([{ "op": "replace", "path": "active", "value": "yes" }]),
        )),
        patch_user(patch(
            json!([{ "op": "replace", "path": "urn:unknown:schema:attr", "value": 1 }]),
        )),
    ];
    for (method, path, body) in cases {
        let resp = app
            .scim(method.clone(), &path, t, Some(body.clone()), None)
            .await;
        resp.assert_error(400);
        assert!(!resp.body["detail"].as_str().unwrap_or_default().is_empty());
        let _ = (method, body);
    }
    for (path, scim_type) in [
        ("/Users?filter=userName%20co%20%22a%22", "invalidFilter"),
        ("/Users?filter=userName%20eq", "invalidFilter"),
        ("/Groups?filter=userName%20eq%20%22a%22", "invalidFilter"),
    ] {
        let resp = app.scim(Method::GET, path, t, None, None).await;
        resp.assert_error(400);
        assert_eq!(resp.scim_type(), scim_type);
    }
    let not_json = app
        .scim_raw(
            Method::POST,
            "/Users",
            t,
            "application/scim+json",
            "{not json",
        )
        .await;
    not_json.assert_error(400);
    assert_eq!(not_json.scim_type(), "invalidSyntax");
    let wrong_type = app
        .scim_raw(Method::POST, "/Users", t, "text/plain", "{}")
        .await;
    wrong_type.assert_error(415);
    let nul = app
        .scim_raw(
            Method::POST,
            "/Users",
            t,
            "application/json",
            r#"{"userName":"a\u0000@x.io"}"#,
        )
        .await;
    nul.assert_error(400);
    app.scim(Method::GET, "/Users/not-a-uuid", t, None, None)
        .await
        .assert_error(404);
    app.scim(
        Method::POST,
        &format!("/Users/{id}"),
        t,
        Some(json!({})),
        None,
    )
    .await
    .assert_error(405);
    for path in ["/Bulk", "/Me"] {
        app.scim(Method::POST, path, t, Some(json!({})), None)
            .await
            .assert_error(404);
    }
    // Nothing was half-written: still exactly the one user.
    let listed = app.scim(Method::GET, "/Users", t, None, None).await;
    assert_eq!(listed.body["totalResults"], json!(1), "{}", listed.body);
}

async fn status_mappings_and_masked_reads(app: TestApp) {
    // An owner who is also in the IdP stays an owner, whatever SCIM says.
    let owner_email = app
        .get(&app.org_path(&app.org_id, "/members"), &app.owner_key)
        .await
        .body["members"][0]["email"]
        .as_str()
        .expect("present")
        .to_owned();
    let conn = app
        .scim_connection(&app.org_id, &app.owner_key, "Okta", mappings())
        .await;
    let t = conn.token.as_str();
    let owner = app
        .scim(
            Method::POST,
            "/Users",
            t,
            Some(json!({ "userName": owner_email, "active": false })),
            None,
        )
        .await;
    created(&owner);
    assert_eq!(role_of(&app, &owner_email).await.as_deref(), Some("owner"));
    let gus = app
        .scim(
            Method::POST,
            "/Users",
            t,
            Some(json!({ "userName": "gus@example.com", "externalId": "00ugus" })),
            None,
        )
        .await;
    let gus = created(&gus);
    app.scim(
        Method::POST,
        "/Groups",
        t,
        Some(json!({ "displayName": "Interns", "externalId": "grp-interns", "members": [{ "value": gus }] })),
        None,
    )
    .await;
    // No mapping for "Interns": nothing granted. A mapping added later applies at once.
    assert_eq!(role_of(&app, "gus@example.com").await, None);
    let mut with_interns = mappings().as_array().expect("present").clone();
    with_interns
        .push(json!({ "match_on": "external_id", "value": "grp-interns", "role": "member" }));
    let replaced = app
        .put_role_mappings(
            &app.org_id,
            &app.owner_key,
            &conn.id,
            Value::Array(with_interns),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
    assert_eq!(
        replaced.body["precedence"],
        json!(["admin", "member", "auditor"])
    );
    assert_eq!(
        replaced.body["access_changes"][0]["change"],
        json!("granted")
    );
    assert_eq!(
        role_of(&app, "gus@example.com").await.as_deref(),
        Some("member")
    );
    let owner_mapping = app
        .put_role_mappings(
            &app.org_id,
            &app.owner_key,
            &conn.id,
            json!([{ "match_on": "display_name", "value": "Owners", "role": "owner" }]),
        )
        .await;
    assert_eq!(owner_mapping.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A failed request shows in the connection's status.
    app.scim(
        Method::POST,
        "/Users",
        t,
        Some(json!({ "userName": "" })),
        None,
    )
    .await
    .assert_error(400);
    let status = app
        .get_scim_connection(&app.org_id, &app.owner_key, &conn.id)
        .await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.body);
    let p = &status.body["provisioning"];
    assert!(p["last_request_at"].is_string(), "{p}");
    assert_eq!(p["users"], json!(2));
    assert_eq!(p["groups"], json!(1));
    assert!(p["requests"].as_i64().expect("present") >= 4, "{p}");
    assert_eq!(p["failed_requests"], json!(1));
    assert_eq!(p["recent_errors"][0]["status"], json!(400));
    assert_eq!(p["recent_errors"][0]["method"], json!("POST"));
    assert!(status.body.get("token").is_none() && !status.body.to_string().contains(t));

    // Provisioned users: full for admins, masked for an auditor.
    let full = app.provisioned_users(&app.org_id, &app.owner_key, "").await;
    let gus_row = full.body["users"]
        .as_array()
        .expect("present")
        .iter()
        .find(|u| u["id"] == json!(gus))
        .cloned()
        .expect("present");
    assert_eq!(gus_row["email"], json!("gus@example.com"));
    assert_eq!(gus_row["external_id"], json!("00ugus"));
    assert_eq!(gus_row["membership"], json!("active"));
    assert_eq!(gus_row["groups"], json!(["Interns"]));
    let auditor = app
        .create_key(
            &app.org_id,
            "aud@example.com",
            grc::domain::Role::Auditor,
            "read:*",
        )
        .await;
    let masked = app.provisioned_users(&app.org_id, &auditor.key, "").await;
    assert_eq!(masked.status, StatusCode::OK, "{:?}", masked.body);
    let text = masked.body.to_string();
    assert!(
        !text.contains("gus@example.com") && !text.contains("00ugus"),
        "{text}"
    );
    assert!(text.contains("g***@e***.com"), "{text}");
    let owner_row = full.body["users"]
        .as_array()
        .expect("present")
        .iter()
        .find(|u| u["email"] == json!(owner_email))
        .cloned()
        .expect("present");
    assert_eq!(owner_row["membership"], json!("owner_unmanaged"));

    // Deleting the connection suspends what it granted.
    let deleted = app
        .delete_scim_connection(&app.org_id, &app.owner_key, &conn.id)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
    assert_eq!(
        deleted.body["access_changes"][0]["change"],
        json!("suspended")
    );
    assert_eq!(role_of(&app, "gus@example.com").await, None);
    assert_eq!(role_of(&app, &owner_email).await.as_deref(), Some("owner"));
    app.scim(Method::GET, "/Users", t, None, None)
        .await
        .assert_error(401);
}
