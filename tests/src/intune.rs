//! Harness for Intune posture sync (issue 19): a fake Microsoft identity platform + Graph
//! server that speaks the same protocol as the real ones (client-credentials token endpoint
//! with Entra's error codes, `managedDevices` paged through `@odata.nextLink`, a 429 with
//! `Retry-After`, Graph errors, a hang), a server configured to call it, and one helper per
//! Intune endpoint.

use crate::{Backend, Resp, TestApp};
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

pub const TENANT: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
pub const CLIENT_ID: &str = "6f1c2b9e-2d6f-4a55-8d0e-4e3b7c0a9f11";
pub const CLIENT_SECRET: &str = "s3cr3t~Value.0123456789_abcdefghij";

/// What the fake does; tests change it between calls.
pub struct FakeGraphState {
    pub base: String,
    pub secret: Mutex<String>,
    pub devices: Mutex<Vec<Value>>,
    pub page_size: usize,
    /// The next page request after the first answers 429 with `Retry-After: 1`, once.
    pub throttle_once: AtomicBool,
    /// Every managedDevices request answers this status and Graph error body.
    pub fail_with: Mutex<Option<(u16, Value)>>,
    /// managedDevices requests never answer (for timeouts).
    pub hang: AtomicBool,
    pub token_requests: AtomicUsize,
    pub page_requests: AtomicUsize,
    pub throttled: AtomicUsize,
    tokens: Mutex<Vec<String>>,
}

/// The fake server, running until dropped.
pub struct FakeGraph {
    pub url: String,
    pub state: Arc<FakeGraphState>,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// A managed device as Graph returns it (more properties than the client selects).
pub fn fake_device(i: usize) -> Value {
    json!({
        "id": device_id(i),
        "deviceName": format!("LAPTOP-{i:03}"),
        "operatingSystem": if i.is_multiple_of(2) { "Windows" } else { "iOS" },
        "osVersion": "10.0.22631.4460",
        "complianceState": if i.is_multiple_of(3) { "noncompliant" } else { "compliant" },
        "isEncrypted": !i.is_multiple_of(3),
        "jailBroken": "False",
        "managementAgent": "mdm",
        "lastSyncDateTime": "2026-12-01T10:00:00Z",
        "enrolledDateTime": "2026-01-15T08:30:00Z",
        "model": "Surface Laptop 5",
        "manufacturer": "Microsoft Corporation",
        "serialNumber": format!("SN{i:05}X7F3A"),
        "userPrincipalName": format!("user{i}@contoso.com"),
        "imei": "351756051523999",
        "phoneNumber": "+1 555 0100",
    })
}

/// The Intune id of [`fake_device`] `i`.
pub fn device_id(i: usize) -> String {
    format!("0d1e2f30-0000-4000-8000-{i:012}")
}

fn token_error(status: StatusCode, error: &str, description: &str, code: u64) -> Response {
    (
        status,
        axum::Json(json!({
            "error": error,
            "error_description": format!("{description} Trace ID: 0000 Correlation ID: 0000"),
            "error_codes": [code],
        })),
    )
        .into_response()
}

async fn token(
    State(s): State<Arc<FakeGraphState>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if tenant != TENANT {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
            90002,
        );
    }
    if field("grant_type") != "client_credentials"
        || field("scope") != "https://graph.microsoft.com/.default"
    {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
            900144,
        );
    }
    if field("client_id") != CLIENT_ID {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application with identifier was not found in the directory.",
            700016,
        );
    }
    let expected = s.secret.lock().expect("lock").clone();
    if field("client_secret") != expected {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the \
             request is the client secret value, not the client secret ID.",
            7000215,
        );
    }
    let token = format!("fake-token-{}", uuid::Uuid::new_v4());
    s.tokens.lock().expect("lock").push(token.clone());
    axum::Json(
        json!({ "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                       "access_token": token }),
    )
    .into_response()
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message,
            "innerError": { "date": "2026-12-06T00:00:00", "request-id": "0000" } } })),
    )
        .into_response()
}

async fn managed_devices(
    State(s): State<Arc<FakeGraphState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    s.page_requests.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if !s.tokens.lock().expect("lock").contains(&bearer) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        );
    }
    if s.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
    if let Some((status, body)) = s.fail_with.lock().expect("lock").clone() {
        let status = StatusCode::from_u16(status).expect("status");
        return (status, axum::Json(body)).into_response();
    }
    if !query
        .get("$select")
        .is_some_and(|s| s.contains("complianceState"))
    {
        return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "expected $select");
    }
    let offset: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    if offset > 0 && s.throttle_once.swap(false, Ordering::SeqCst) {
        s.throttled.fetch_add(1, Ordering::SeqCst);
        let mut resp = graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return resp;
    }
    let devices = s.devices.lock().expect("lock").clone();
    let page: Vec<Value> = devices
        .iter()
        .skip(offset)
        .take(s.page_size)
        .cloned()
        .collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices",
        "value": page,
    });
    let next = offset + s.page_size;
    if next < devices.len() {
        body["@odata.nextLink"] = json!(format!(
            "{}/v1.0/deviceManagement/managedDevices?$select={}&$skiptoken={next}",
            s.base,
            query.get("$select").cloned().unwrap_or_default()
        ));
    }
    axum::Json(body).into_response()
}

impl FakeGraph {
    /// Starts the fake with `devices` served `page_size` at a time.
    pub async fn start(devices: Vec<Value>, page_size: usize) -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Graph");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(FakeGraphState {
            base: url.clone(),
            secret: Mutex::new(CLIENT_SECRET.into()),
            devices: Mutex::new(devices),
            page_size,
            throttle_once: AtomicBool::new(false),
            fail_with: Mutex::new(None),
            hang: AtomicBool::new(false),
            token_requests: AtomicUsize::new(0),
            page_requests: AtomicUsize::new(0),
            throttled: AtomicUsize::new(0),
            tokens: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route(
                "/v1.0/deviceManagement/managedDevices",
                get(managed_devices),
            )
            .with_state(state.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGraph { url, state, handle }
    }

    /// Replaces the devices the fake serves.
    pub fn set_devices(&self, devices: Vec<Value>) {
        *self.state.devices.lock().expect("lock") = devices;
    }

    /// Makes every managedDevices request fail with `status` and a Graph error.
    pub fn fail_with(&self, status: u16, code: &str, message: &str) {
        *self.state.fail_with.lock().expect("lock") = Some((
            status,
            json!({ "error": { "code": code, "message": message } }),
        ));
    }
}

/// `n` fake devices.
pub fn fake_devices(n: usize) -> Vec<Value> {
    (0..n).map(fake_device).collect()
}

/// A server whose Intune settings point at `graph` (loopback allowed, 2 s request timeout).
pub async fn spawn_app_with_graph(backend: Backend, graph: &FakeGraph) -> Option<TestApp> {
    let url = graph.url.clone();
    crate::spawn_app_with(backend, move |c| {
        c.intune.login_url = url.clone();
        c.intune.graph_url = url;
        c.intune.allow_private = vec!["127.0.0.1/32".into()];
        c.intune.timeout_ms = 2000;
    })
    .await
}

/// A connection body with the fake's tenant and client and `secret`.
pub fn connection_body(secret: &str) -> Value {
    json!({ "tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": secret })
}

/// Declares each `async fn name(app: TestApp, graph: FakeGraph)` as `sqlite::name` and
/// `postgres::name`: a fake Graph serving 25 devices 10 per page, and a server pointed at it.
#[macro_export]
macro_rules! intune_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let graph = $crate::intune::FakeGraph::start(
                        $crate::intune::fake_devices(25), 10).await;
                    if let Some(app) =
                        $crate::intune::spawn_app_with_graph($crate::Backend::Sqlite, &graph).await
                    {
                        super::$name(app, graph).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let graph = $crate::intune::FakeGraph::start(
                        $crate::intune::fake_devices(25), 10).await;
                    if let Some(app) =
                        $crate::intune::spawn_app_with_graph($crate::Backend::Postgres, &graph).await
                    {
                        super::$name(app, graph).await;
                    }
                }
            )*
        }
    };
}

impl TestApp {
    /// `PUT /api/v1/orgs/{org}/intune/connection`.
    pub async fn set_intune_connection(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.put(&self.org_path(org_id, "/intune/connection"), key, body)
            .await
    }

    /// `GET /api/v1/orgs/{org}/intune/connection`.
    pub async fn intune_connection(&self, org_id: &str, key: &str) -> Resp {
        self.get(&self.org_path(org_id, "/intune/connection"), key)
            .await
    }

    /// `DELETE /api/v1/orgs/{org}/intune/connection`.
    pub async fn delete_intune_connection(&self, org_id: &str, key: &str) -> Resp {
        self.delete(&self.org_path(org_id, "/intune/connection"), key)
            .await
    }

    /// `POST /api/v1/orgs/{org}/intune/sync`.
    pub async fn intune_sync(&self, org_id: &str, key: &str) -> Resp {
        self.call(
            reqwest::Method::POST,
            &self.org_path(org_id, "/intune/sync"),
            crate::Auth::Bearer(key),
            None,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/intune/devices` + `query`.
    pub async fn intune_devices(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/intune/devices{query}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/intune/devices/{device_id}`.
    pub async fn intune_device(&self, org_id: &str, key: &str, device_id: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/intune/devices/{device_id}")),
            key,
        )
        .await
    }

    /// `GET /api/v1/orgs/{org}/intune/sync-runs` + `query`.
    pub async fn intune_sync_runs(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(
            &self.org_path(org_id, &format!("/intune/sync-runs{query}")),
            key,
        )
        .await
    }
}
