//! Black-box test harness: `spawn_app` starts the real server (the same `grc::app::spawn` that
//! `grc serve` runs) on a random port with a fresh database, on SQLite or PostgreSQL, and returns
//! a [`TestApp`] with typed request helpers.
//!
//! PostgreSQL tests need the server at `GRC_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it is unreachable they are skipped with a
//! message, except when `CI` is set: then they fail loudly.

use grc::{
    config::Config,
    domain::{Plan, Role, ScopeSet},
    provision,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::{Connection, Executor};
use std::path::PathBuf;

pub use serde_json::json;

pub mod alerting;
pub mod browser;
pub mod console;
pub mod discovery;
mod governance;
pub mod intune;
pub mod runtime;
pub mod scim;
pub mod siem;
pub mod ssh;
pub use governance::{RawResp, pdf_pages};

pub const JWT_SECRET: &str = "test-jwt-secret-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    /// Owner-level URL of this test's database (bypasses RLS on PostgreSQL: superuser).
    pub database_url: String,
    pub data_dir: PathBuf,
    /// The bootstrap org and its owner key.
    pub org_id: String,
    pub owner_key: String,
    /// The agent TLS listener, when the configuration turned it on.
    pub agent_tls_addr: Option<std::net::SocketAddr>,
    pub state: grc::app::AppState,
    _data: std::sync::Arc<tempdir::Dir>,
    /// False for [`TestApp::another_server`]: the first server's drop cleans up.
    owns_database: bool,
}

/// A fresh temporary directory, removed on drop.
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("grc-test-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&path).expect("create temp dir");
            Dir(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("GRC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates a fresh PostgreSQL database; `None` (skip) when unreachable outside CI.
pub async fn fresh_postgres_database() -> Option<String> {
    let admin = postgres_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but PostgreSQL at {admin} is unreachable: {e}")
        }
        Err(e) => {
            eprintln!(
                "SKIPPED: PostgreSQL at {admin} unreachable ({e}); set CI=1 to make this fatal"
            );
            return None;
        }
    };
    let name = format!("grc_test_{}", uuid::Uuid::new_v4().simple());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// This package's `grc-compile-worker` binary, which cargo builds next to the test and bench
/// executables (`target/<profile>/`, their parent `deps/` directory's parent). The in-process
/// test server cannot run itself as the worker: its executable is the test binary.
pub fn compile_worker() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let worker = dir.join("grc-compile-worker");
    assert!(
        worker.exists(),
        "{} is missing: run the tests through cargo (cargo test -p grc-tests builds it)",
        worker.display()
    );
    worker
}

/// Starts the server on a random port with a fresh database. `None` means "skip this test".
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with a hook to adjust the configuration.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let data = tempdir::Dir::new();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", data.0.join("grc.db").display()),
        Backend::Postgres => fresh_postgres_database().await?,
    };
    Some(
        start(
            backend,
            database_url,
            std::sync::Arc::new(data),
            true,
            tweak,
        )
        .await,
    )
}

/// Starts a server on `database_url` and `data`'s directory (the test configuration, then
/// `tweak`).
async fn start(
    backend: Backend,
    database_url: String,
    data: std::sync::Arc<tempdir::Dir>,
    owns_database: bool,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data.0.clone(),
        database_url: database_url.clone(),
        log: "warn".into(),
        database_max_connections: 4,
        s3_embedded_listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    config.jwt.secret = Some(JWT_SECRET.to_owned().into());
    config.plugins.compiler_exe = Some(compile_worker());
    tweak(&mut config);
    let server = grc::app::spawn(config).await.expect("server starts");
    let bootstrap: Value = serde_json::from_slice(
        &std::fs::read(data.0.join("bootstrap.json")).expect("bootstrap.json written"),
    )
    .expect("bootstrap.json is JSON");
    TestApp {
        base: format!("http://{}", server.addr),
        client: reqwest::Client::new(),
        backend,
        database_url,
        data_dir: data.0.clone(),
        org_id: bootstrap["org_id"].as_str().expect("org_id").to_owned(),
        owner_key: bootstrap["api_key"].as_str().expect("api_key").to_owned(),
        agent_tls_addr: server.agent_tls_addr,
        state: server.state,
        _data: data,
        owns_database,
    }
}

impl TestApp {
    /// A second server on this one's database and data directory, as after a restart (or
    /// another replica), configured with `tweak`.
    pub async fn another_server(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        start(
            self.backend,
            self.database_url.clone(),
            self._data.clone(),
            false,
            tweak,
        )
        .await
    }
}

impl Drop for TestApp {
    /// Drops this test's PostgreSQL database so repeated runs do not pile them up.
    fn drop(&mut self) {
        if self.backend != Backend::Postgres || !self.owns_database {
            return;
        }
        let Some(name) = self.database_url.rsplit('/').next().map(str::to_owned) else {
            return;
        };
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

/// A credential to send with a request.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    XApiKey(&'a str),
}

/// A response: status and parsed JSON body (`Value::Null` if not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
}

impl Resp {
    /// The `detail` string of an error body.
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

/// A key minted for tests.
#[derive(Debug, Clone)]
pub struct TestKey {
    pub key: String,
    pub key_id: String,
    pub user_id: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `body` is sent as JSON when present.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        req = match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::XApiKey(k) => req.header("X-API-Key", k),
        };
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        Resp {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Resp {
        self.call(Method::GET, path, Auth::Bearer(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Auth::Bearer(key), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Auth::Bearer(key), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, key: &str) -> Resp {
        self.call(Method::DELETE, path, Auth::Bearer(key), None)
            .await
    }

    /// `/api/v1/orgs/{org_id}` + `rest`.
    pub fn org_path(&self, org_id: &str, rest: &str) -> String {
        format!("/api/v1/orgs/{org_id}{rest}")
    }

    /// Creates another org, as `grc admin create-org` does.
    pub async fn create_org(&self, name: &str, plan: Plan) -> String {
        provision::create_org(&self.state.db, name, plan, "test")
            .await
            .expect("create org")
            .id
    }

    /// Another org with an owner key that may read, write and administer it.
    pub async fn other_tenant(&self, name: &str) -> (String, String) {
        let org = self.create_org(name, Plan::Team).await;
        let key = self
            .create_key(
                &org,
                &format!("owner@{name}.test"),
                Role::Owner,
                "read:*,write:*,admin:org",
            )
            .await;
        (org, key.key)
    }

    /// Creates a member (if missing) and a key, as `grc admin create-key` does.
    pub async fn create_key(&self, org_id: &str, email: &str, role: Role, scopes: &str) -> TestKey {
        let scopes = ScopeSet::parse_list(scopes).expect("valid scopes");
        let issued = provision::create_member_key(
            &self.state.db,
            provision::KeyRequest {
                org_id,
                email,
                role,
                scopes: &scopes,
                expires_in_days: None,
                name: "test key",
                actor: "test",
            },
        )
        .await
        .expect("create key");
        TestKey {
            key: issued.secret.expose().to_owned(),
            key_id: issued.record.id,
            user_id: issued.record.user_id,
        }
    }

    /// Runs raw SQL as the database owner (bypassing the app role), for tests that tamper.
    pub async fn owner_sql(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .expect("owner connection");
                conn.execute(sql).await.expect("owner SQL");
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .expect("owner connection");
                conn.execute(sql).await.expect("owner SQL");
            }
        }
    }

    /// Terminates every PostgreSQL connection to this test's database, as a server restart or
    /// an idle-connection killer would. Returns how many were terminated.
    pub async fn drop_database_connections(&self) -> i64 {
        assert_eq!(self.backend, Backend::Postgres, "PostgreSQL only");
        let name = self.database_url.rsplit('/').next().expect("database name");
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .expect("admin connection");
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()) AS terminated",
        )
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .expect("terminate backends")
    }

    /// The compiled-plugin artifacts this server keeps on disk for `org_id` (file names).
    pub fn plugin_artifacts(&self, org_id: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.data_dir.join("plugin-cache")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(org_id))
            .collect();
        names.sort();
        names
    }

    /// A single number from an owner-level query (e.g. `SELECT COUNT(*) …`).
    pub async fn owner_count(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .expect("owner connection");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("owner SQL")
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .expect("owner connection");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("owner SQL")
            }
        }
    }

    /// A signed HS256 JWT for `sub` with optional extra claims.
    pub fn jwt(&self, sub: &str, extra: Value) -> String {
        let mut claims = json!({
            "sub": sub,
            "iss": "grc",
            "aud": "grc",
            "exp": chrono::Utc::now().timestamp() + 600,
        });
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .expect("sign JWT")
    }

    /// Action codes of the org's audit entries matching `query` (e.g. `target_type=plugin`),
    /// newest first, read with the owner key.
    pub async fn audit_actions(&self, org_id: &str, query: &str) -> Vec<String> {
        let resp = self
            .get(
                &self.org_path(org_id, &format!("/audit-log?{query}")),
                &self.owner_key,
            )
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        resp.body["entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|e| e["action"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of audit entries in an org (read with the owner key).
    pub async fn audit_count(&self, org_id: &str, key: &str) -> usize {
        let resp = self
            .get(&self.org_path(org_id, "/audit-log?limit=500"), key)
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{:?}", resp.body);
        resp.body["entries"].as_array().map_or(0, Vec::len)
    }
}

/// Declares each listed `async fn name(app: TestApp)` as two tests: `sqlite::name` and
/// `postgres::name`, each on a fresh server and database.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::spawn_app($crate::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::spawn_app($crate::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Guest components built from `plugins/` (examples and hostile fixtures).
pub fn guest_component(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(grc::plugins::guests::COMPONENT_DIR)
        .join(format!("{name}.component.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A component built against `grc:plugin@0.1.0` before the 0.2.0 revision, committed as it was
/// built (tests/fixtures/plugins-0.1.0, see its README).
pub fn legacy_component(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plugins-0.1.0")
        .join(format!("{name}.component.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl TestApp {
    /// Uploads a component as `application/wasm`.
    pub async fn upload_plugin(&self, org_id: &str, key: &str, bytes: Vec<u8>) -> Resp {
        let resp = self
            .client
            .post(self.url(&self.org_path(org_id, "/plugins")))
            .bearer_auth(key)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .expect("upload sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        Resp {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// Dry-runs `controls` against `context` with a plugin (`builtin` or an id).
    pub async fn dry_run(&self, plugin: &str, context: Value, controls: Value) -> Resp {
        self.dry_run_in(&self.org_id, &self.owner_key, plugin, context, controls)
            .await
    }

    /// A dry-run of the hostile fixture's `infinite_loop` mode: one evaluation that spins
    /// until its deadline.
    pub async fn dry_run_looping(&self, org_id: &str, key: &str, plugin: &str) -> Resp {
        self.dry_run_in(
            org_id,
            key,
            plugin,
            scan_context(json!([])),
            json!([control(
                "H-1",
                "hostile.misbehave",
                "infinite_loop",
                json!({})
            )]),
        )
        .await
    }

    /// [`Self::dry_run`] in another org, with that org's key.
    pub async fn dry_run_in(
        &self,
        org_id: &str,
        key: &str,
        plugin: &str,
        context: Value,
        controls: Value,
    ) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/plugins/{plugin}/dry-run")),
            key,
            json!({ "context": context, "controls": controls }),
        )
        .await
    }
}

/// A scan context with the given findings, completed an hour ago.
pub fn scan_context(findings: Value) -> Value {
    let completed = chrono::Utc::now() - chrono::Duration::hours(1);
    json!({
        "repository": { "id": "7", "name": "checkout-service", "languages": ["python"] },
        "scan": { "tools": ["semgrep"], "commit": "abc123", "completed_at": completed.to_rfc3339() },
        "findings": findings,
    })
}

/// A finding with the given id, category and severity.
pub fn finding(id: &str, category: &str, severity: &str) -> Value {
    json!({
        "id": id, "rule_id": format!("rule.{id}"), "tool": "semgrep",
        "category": category, "severity": severity, "message": "test finding",
    })
}

/// One control of `check_type` with `pass_condition` and params.
pub fn control(id: &str, check_type: &str, pass_condition: &str, params: Value) -> Value {
    json!({
        "id": id, "framework": "test", "check_type": check_type,
        "pass_condition": pass_condition, "params": params,
    })
}

/// A committed SARIF file produced by a real scanner (tests/fixtures/sarif/NAME).
pub fn sarif_fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sarif")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl TestApp {
    /// Registers a repository and returns its numeric id.
    pub async fn create_repo(
        &self,
        org_id: &str,
        key: &str,
        name: &str,
        languages: &[&str],
    ) -> i64 {
        let resp = self
            .post(
                &self.org_path(org_id, "/repos"),
                key,
                json!({ "name": name, "languages": languages }),
            )
            .await;
        assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
        resp.body["id"].as_i64().expect("numeric repo id")
    }

    /// Posts raw scan bytes with a content type; `query` is appended as is (`?format=sarif`).
    pub async fn push_scan(
        &self,
        org_id: &str,
        key: &str,
        repo_id: i64,
        query: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let path = self.org_path(org_id, &format!("/repos/{repo_id}/scans{query}"));
        let resp = self
            .client
            .post(self.url(&path))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("scan sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        Resp {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// Posts a scan in our JSON format.
    pub async fn push_json_scan(&self, repo_id: i64, scan: Value) -> Resp {
        self.push_scan(
            &self.org_id,
            &self.owner_key,
            repo_id,
            "",
            "application/json",
            serde_json::to_vec(&scan).expect("json"),
        )
        .await
    }
}

/// A component shaped to make an optimizing compiler slow and hungry: one function with
/// `locals` i64 locals, all live across `blocks` `if` blocks that each update one of them. It
/// exports `describe` and `evaluate` (with the wrong types), so every check that needs no
/// compiling passes and only compilation can stop it. Generated here, never committed.
pub fn compile_bomb(locals: usize, blocks: usize) -> Vec<u8> {
    let mut body = String::with_capacity(blocks * 80);
    for i in 0..blocks {
        let l = i % locals + 1;
        body.push_str(&format!(
            "(if (local.get 0) (then (local.set {l} (i64.add (local.get {l}) (i64.const {i})))))\n"
        ));
    }
    let sum: String = (1..=locals)
        .map(|l| format!("(local.get {l}) i64.add\n"))
        .collect();
    let wat = format!(
        r#"(component
            (core module $m
              (func $bomb (export "bomb") (param i32) (result i32)
                (local {decls})
                {body}
                i64.const 0
                {sum}
                i32.wrap_i64))
            (core instance $i (instantiate $m))
            (func (export "describe") (param "x" u32) (result u32) (canon lift (core func $i "bomb")))
            (func (export "evaluate") (param "x" u32) (result u32) (canon lift (core func $i "bomb"))))"#,
        decls = "i64 ".repeat(locals),
    );
    wat::parse_str(wat).expect("bomb WAT")
}

/// This process's resident memory, from /proc.
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// An enrolled agent: its id, its credential and its private key (PEM).
#[derive(Debug, Clone)]
pub struct TestAgent {
    pub agent_id: String,
    pub credential: String,
    pub key_pem: String,
    pub enrolled: Value,
}

/// A fresh key pair and CSR, as an agent makes them: `(key_pem, csr_pem)`.
pub fn agent_csr(name: &str) -> (String, String) {
    grc::agents::ca::new_key_and_csr(name).expect("key and CSR")
}

/// A heartbeat body for `hostname` with the given IPs; other facts fixed.
pub fn heartbeat_body(hostname: &str, ips: &[&str]) -> Value {
    json!({
        "hostname": hostname,
        "os": { "name": "Debian GNU/Linux", "version": "12" },
        "agent_version": "0.1.0",
        "uptime_seconds": 3600,
        "ips": ips,
        "macs": ["02:00:00:00:00:01"],
        "posture": { "disk_encryption": true, "firewall": true, "screen_lock": null,
                     "os_patch_level": "6.1.0-28" },
    })
}

impl TestApp {
    /// `POST /api/v1/orgs/{org}/agents/enrollment-tokens`; the response (with `token`).
    pub async fn create_enrollment_token(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(
            &self.org_path(org_id, "/agents/enrollment-tokens"),
            key,
            body,
        )
        .await
    }

    /// A token that enrolls any number of agents in `org_id`.
    pub async fn enrollment_token(&self, org_id: &str, key: &str) -> String {
        let resp = self.create_enrollment_token(org_id, key, json!({})).await;
        assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
        resp.body["token"].as_str().expect("token").to_owned()
    }

    /// `POST /api/v1/agents/enroll` with `token` and `body`.
    pub async fn enroll(&self, token: &str, body: Value) -> Resp {
        self.post("/api/v1/agents/enroll", token, body).await
    }

    /// Enrolls an agent named `name` with `token`.
    pub async fn enrolled_agent(&self, token: &str, name: &str) -> TestAgent {
        let (key_pem, csr) = agent_csr(name);
        let resp = self
            .enroll(token, json!({ "csr": csr, "name": name, "hostname": name }))
            .await;
        assert_eq!(resp.status, StatusCode::CREATED, "{:?}", resp.body);
        TestAgent {
            agent_id: resp.body["agent_id"].as_str().expect("agent_id").to_owned(),
            credential: resp.body["credential"]
                .as_str()
                .expect("credential")
                .to_owned(),
            key_pem,
            enrolled: resp.body,
        }
    }

    /// An agent enrolled in `org_id` through a fresh token.
    pub async fn agent_in(&self, org_id: &str, key: &str, name: &str) -> TestAgent {
        let token = self.enrollment_token(org_id, key).await;
        self.enrolled_agent(&token, name).await
    }

    /// `POST /api/v1/agents/{agent_id}/telemetry/heartbeat` with `credential`.
    pub async fn heartbeat(&self, agent_id: &str, credential: &str, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/agents/{agent_id}/telemetry/heartbeat"),
            credential,
            body,
        )
        .await
    }

    /// `POST /api/v1/agents/{agent_id}/rotate` with `credential` and a fresh CSR.
    pub async fn rotate_agent(&self, agent_id: &str, credential: &str) -> Resp {
        let (_key, csr) = agent_csr("rotated");
        self.post(
            &format!("/api/v1/agents/{agent_id}/rotate"),
            credential,
            json!({ "csr": csr }),
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/assets` + `query`.
    pub async fn assets(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/assets{query}")), key)
            .await
    }

    /// `GET /api/v1/orgs/{org}/assets/{asset}/timeline` + `query`.
    pub async fn asset_timeline(&self, org_id: &str, key: &str, asset: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/assets/{asset}/timeline{query}")),
            key,
        )
        .await
    }
}

/// A self-signed server certificate for `localhost` / 127.0.0.1: `(cert_pem, key_pem)`.
pub fn server_tls_identity() -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("params");
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), key.serialize_pem())
}

/// One HTTP/1.1 POST over TLS to `addr`, trusting `server_cert_pem`, presenting the client
/// certificate and key when given. `Err` when TLS or the connection fails.
pub async fn tls_post(
    addr: std::net::SocketAddr,
    server_cert_pem: &str,
    client: Option<(&str, &str)>,
    path: &str,
    body: &Value,
) -> Result<Resp, String> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(server_cert_pem.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match client {
        Some((cert_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let key =
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| e.to_string())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?
        }
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let payload = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    tls.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok(Resp {
        status: StatusCode::from_u16(status).map_err(|e| e.to_string())?,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    })
}
