//! Cross-tenant access and the PostgreSQL row-level-security backstop.

use grc::domain::{Plan, Role};
use grc_tests::{Backend, TestApp, both_backends, json, spawn_app};
use reqwest::StatusCode;
use sqlx::{Connection, Row};

both_backends!(other_tenants_resources_are_404_and_never_leak);

async fn other_tenants_resources_are_404_and_never_leak(app: TestApp) {
    let org_b = app.create_org("tenant-b", Plan::Team).await;
    let b_admin = app
        .create_key(
            &org_b,
            "admin@b.io",
            Role::Owner,
            "read:*,write:*,admin:org",
        )
        .await;
    let resp = app
        .post(
            &app.org_path(&org_b, "/access-policies"),
            &b_admin.key,
            json!({ "name": "b-only", "policy": "forbid(principal, action == Action::\"audit.read\", resource);" }),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
    let b_policy = resp.body["id"].as_str().expect("id").to_owned();

    // Org A's owner, on org A's routes, asking for org B's objects by id: 404, never the data.
    let a = &app.owner_key;
    for path in [
        format!("/access-policies/{b_policy}"),
        format!("/members/{}", b_admin.user_id),
    ] {
        let resp = app.get(&app.org_path(&app.org_id, &path), a).await;
        assert_eq!(
            resp.status,
            StatusCode::NOT_FOUND,
            "{path}: {:?}",
            resp.body
        );
        assert!(!resp.body.to_string().contains("admin@b.io"));
    }
    let resp = app
        .delete(
            &app.org_path(&app.org_id, &format!("/api-keys/{}", b_admin.key_id)),
            a,
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    // …and the B key still works: nothing was revoked across the boundary.
    assert_eq!(
        app.get(&app.org_path(&org_b, ""), &b_admin.key)
            .await
            .status,
        StatusCode::OK
    );
    // Org A's lists never include B's rows.
    let keys = app.get(&app.org_path(&app.org_id, "/api-keys"), a).await;
    assert!(!keys.body.to_string().contains(&b_admin.key_id));
    let policies = app
        .get(&app.org_path(&app.org_id, "/access-policies"), a)
        .await;
    assert!(!policies.body.to_string().contains(&b_policy));
    // B's forbid does not apply in A.
    assert_eq!(
        app.get(&app.org_path(&app.org_id, "/audit-log"), a)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&app.org_path(&org_b, "/audit-log"), &b_admin.key)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// As the app role, with the tenant set to org A, queries *without* a tenant filter see zero
/// rows of org B; with no tenant set they see nothing at all; writes into B are rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rls_backstop_hides_other_tenants_rows() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let org_b = app.create_org("tenant-b", Plan::Team).await;
    app.create_key(&org_b, "b@b.io", Role::Owner, "read:*")
        .await;

    let mut conn = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query("SET LOCAL ROLE grc_app")
        .execute(&mut conn)
        .await
        .expect("set role");
    for table in [
        "orgs",
        "memberships",
        "api_keys",
        "audit_log",
        "access_policies",
    ] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .expect("count")
            .get("n");
        assert_eq!(n, 0, "{table}: rows visible with no tenant set");
    }
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(&app.org_id)
        .execute(&mut conn)
        .await
        .expect("set tenant");
    for table in ["memberships", "api_keys", "audit_log"] {
        let (mine, theirs): (i64, i64) = {
            let row = sqlx::query(&format!(
                "SELECT COUNT(*) FILTER (WHERE org_id = $1) AS mine, \
                        COUNT(*) FILTER (WHERE org_id = $2) AS theirs FROM {table}"
            ))
            .bind(&app.org_id)
            .bind(&org_b)
            .fetch_one(&mut conn)
            .await
            .expect("count");
            (row.get("mine"), row.get("theirs"))
        };
        assert!(mine > 0, "{table}: own rows should be visible");
        assert_eq!(theirs, 0, "{table}: org B rows visible to org A");
    }
    let orgs: Vec<String> = sqlx::query("SELECT id FROM orgs")
        .fetch_all(&mut conn)
        .await
        .expect("orgs")
        .iter()
        .map(|r| r.get("id"))
        .collect();
    assert_eq!(orgs, vec![app.org_id.clone()]);
    // WITH CHECK: writing a row for org B while the tenant is A fails.
    sqlx::query("SAVEPOINT s")
        .execute(&mut conn)
        .await
        .expect("savepoint");
    let write = sqlx::query(
        "INSERT INTO access_policies (id, org_id, name, description, policy, created_at, updated_at) \
         VALUES ('x', $1, 'n', '', 'permit(principal, action, resource);', 'now', 'now')",
    )
    .bind(&org_b)
    .execute(&mut conn)
    .await;
    assert!(
        write.is_err(),
        "RLS WITH CHECK must reject a cross-tenant insert"
    );
    sqlx::query("ROLLBACK TO SAVEPOINT s")
        .execute(&mut conn)
        .await
        .expect("rollback to");
    // The app role can never rewrite history.
    let tamper = sqlx::query("UPDATE audit_log SET action = 'X'")
        .execute(&mut conn)
        .await;
    assert!(tamper.is_err(), "grc_app must not UPDATE audit_log");
    sqlx::query("ROLLBACK")
        .execute(&mut conn)
        .await
        .expect("rollback");
}

/// The app pool logs in as `grc_app` itself: there is no owner session to `RESET ROLE` back to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_app_pool_logs_in_as_the_app_role() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let mut conn = app.state.db.pool().acquire().await.expect("app connection");
    sqlx::query("RESET ROLE")
        .execute(&mut *conn)
        .await
        .expect("reset role");
    let (session, current): (String, String) =
        sqlx::query_as("SELECT session_user::text, current_user::text")
            .fetch_one(&mut *conn)
            .await
            .expect("whoami");
    assert_eq!((session.as_str(), current.as_str()), ("grc_app", "grc_app"));
    let tamper = sqlx::query("UPDATE audit_log SET action = 'X'")
        .execute(&mut *conn)
        .await;
    assert!(tamper.is_err(), "grc_app must not UPDATE audit_log");
}
