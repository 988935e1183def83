//! The Microsoft Graph client: a [`GraphClient`] trait (what a sync needs: every managed device
//! of a tenant) and its real implementation over HTTP. The HTTP client gets an app-only token
//! with the OAuth2 client-credentials grant (`{login_url}/{tenant}/oauth2/v2.0/token`, scope
//! `https://graph.microsoft.com/.default`), then reads
//! `{graph_url}/v1.0/deviceManagement/managedDevices` page by page through `@odata.nextLink`.
//!
//! Bounds: every request has a timeout; 429 and 503 answers are retried after their
//! `Retry-After` (at most `max_throttle_retries` times per request, never waiting longer than
//! `max_retry_after_secs`); a sync stops after `max_pages` pages or `max_devices` devices; a
//! response body is read up to [`MAX_BODY_BYTES`]. Every address dialled passes the same guard
//! as webhook deliveries (`GRC_INTUNE__ALLOW_PRIVATE`), a `nextLink` must stay on the Graph
//! origin (the bearer token is never sent elsewhere), and redirects are not followed.

use super::{device::GraphDevice, settings::IntuneSettings};
use crate::webhooks::target::{GuardedResolver, TargetGuard};
use reqwest::{StatusCode, Url, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::{future::Future, sync::Arc, time::Duration};

/// The setting that allow-lists private networks for the Graph client.
pub const ALLOW_PRIVATE_SETTING: &str = "GRC_INTUNE__ALLOW_PRIVATE";
/// The largest response body read (one page of devices is far smaller).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The permission the app registration needs (application permission, admin-consented).
pub const PERMISSION: &str = "DeviceManagementManagedDevices.Read.All";

/// What the client authenticates with.
pub struct Credentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Every device a sync fetched, and what it took.
#[derive(Debug, Default)]
pub struct Fetched {
    pub devices: Vec<GraphDevice>,
    pub pages: u32,
    pub throttled_retries: u32,
    /// A bound (`max_pages`, `max_devices`) stopped the sync before the last page.
    pub truncated: bool,
}

/// Why a sync could not fetch the devices. Each says what the admin or operator can do.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The token endpoint refused the tenant, client id or secret.
    #[error("{0}")]
    Credentials(String),
    /// The token works but lacks the Graph permission.
    #[error(
        "Microsoft Graph refused to list managed devices (403): grant the app registration the \
         application permission {PERMISSION} and give admin consent"
    )]
    Permission,
    /// An operator setting stops the call (a private address that is not allow-listed).
    #[error("{0}")]
    Refused(String),
    /// Microsoft throttled longer than this server waits.
    #[error("{message}")]
    Throttled { message: String },
    /// A request timed out.
    #[error("{0}")]
    Timeout(String),
    /// Microsoft failed, answered something unexpected, or could not be reached.
    #[error("{0}")]
    Upstream(String),
}

/// What a sync needs from Microsoft Graph.
pub trait GraphClient {
    fn managed_devices(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<Fetched, GraphError>> + Send;
}

/// The real client, over HTTP.
pub struct HttpGraphClient {
    http: reqwest::Client,
    guard: TargetGuard,
    settings: IntuneSettings,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct DevicePage {
    #[serde(default)]
    value: Vec<GraphDevice>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize, Default)]
struct GraphErrorBody {
    #[serde(default)]
    error: GraphErrorDetail,
}

#[derive(Deserialize, Default)]
struct GraphErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// `Retry-After` in seconds: delta-seconds or an HTTP date.
pub fn retry_after(value: Option<&header::HeaderValue>) -> Option<u64> {
    let raw = value?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let secs = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    Some(u64::try_from(secs).unwrap_or(0))
}

/// The AADSTS code of a token error (`AADSTS7000215: Invalid client secret…` → `AADSTS7000215`).
fn aadsts(description: &str) -> Option<&str> {
    let code = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()?;
    (code.starts_with("AADSTS") && code.len() > 6).then_some(code)
}

/// The admin-facing explanation of a refused token request.
fn credential_problem(status: StatusCode, e: &TokenError) -> String {
    let code = aadsts(&e.error_description);
    let hint = match code {
        Some("AADSTS7000215") => {
            "the client secret is wrong: check the client secret (its \
             Value, not its Secret ID) and PUT the connection again"
        }
        Some("AADSTS7000222") => {
            "the client secret has expired: create a new one in Entra and \
             PUT the connection again"
        }
        Some("AADSTS700016") => {
            "no application with this client id exists in the tenant: check \
             the client id and tenant id"
        }
        Some("AADSTS90002") | Some("AADSTS900023") | Some("AADSTS90023") => {
            "the tenant was not found: check the tenant id (a GUID or a verified domain)"
        }
        _ if e.error == "invalid_client" => {
            "the client credentials were refused: check the \
             client secret and client id"
        }
        _ => "the token request was refused: check the tenant id, client id and client secret",
    };
    let code = code.map(|c| format!(", {c}")).unwrap_or_default();
    let error = if e.error.is_empty() {
        "error"
    } else {
        &e.error
    };
    format!(
        "Microsoft Entra refused the Intune connection's credentials ({} {error}{code}): {hint}",
        status.as_u16()
    )
}

enum Attempt {
    Done(reqwest::Response),
    Throttled(u64),
}

impl HttpGraphClient {
    /// A client for `settings`; `Err` for a malformed allow-list or TLS setup.
    pub fn new(settings: &IntuneSettings) -> anyhow::Result<Self> {
        let guard = TargetGuard::for_setting(&settings.allow_private, ALLOW_PRIVATE_SETTING)?;
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout())
            .pool_max_idle_per_host(2)
            .user_agent(concat!("grc-intune/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpGraphClient {
            http,
            guard,
            settings: settings.clone(),
        })
    }

    /// A configured base URL (login or Graph), checked against the guard.
    fn base(&self, raw: &str, setting: &str) -> Result<Url, GraphError> {
        self.guard
            .check_url(raw.trim_end_matches('/'))
            .map_err(|why| GraphError::Refused(format!("{setting} ({raw}) is refused: {why}")))
    }

    fn network(&self, what: &str, e: reqwest::Error) -> GraphError {
        if e.is_timeout() {
            return GraphError::Timeout(format!(
                "{what} did not answer within {} ms (GRC_INTUNE__TIMEOUT_MS)",
                self.settings.timeout_ms
            ));
        }
        let mut chain = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        if chain.contains("refused: ") && chain.contains(ALLOW_PRIVATE_SETTING) {
            return GraphError::Refused(format!("{what} is refused: {chain}"));
        }
        GraphError::Upstream(format!("{what} could not be reached: {chain}"))
    }

    /// Sends a request, retrying throttled answers within the budget.
    async fn send(
        &self,
        what: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
        throttled: &mut u32,
    ) -> Result<reqwest::Response, GraphError> {
        let mut retries = 0;
        loop {
            let attempt = match request().send().await {
                Ok(resp)
                    if resp.status() == StatusCode::TOO_MANY_REQUESTS
                        || resp.status() == StatusCode::SERVICE_UNAVAILABLE =>
                {
                    let wait = retry_after(resp.headers().get(header::RETRY_AFTER))
                        .unwrap_or(1u64 << retries.min(5));
                    Attempt::Throttled(wait)
                }
                Ok(resp) => Attempt::Done(resp),
                Err(e) => return Err(self.network(what, e)),
            };
            match attempt {
                Attempt::Done(resp) => return Ok(resp),
                Attempt::Throttled(wait) => {
                    if wait > self.settings.max_retry_after_secs {
                        return Err(GraphError::Throttled {
                            message: format!(
                                "{what} is throttled by Microsoft for {wait} s, longer than this \
                                 server waits (GRC_INTUNE__MAX_RETRY_AFTER_SECS = {}); retry \
                                 the sync later",
                                self.settings.max_retry_after_secs
                            ),
                        });
                    }
                    if retries >= self.settings.max_throttle_retries {
                        return Err(GraphError::Throttled {
                            message: format!(
                                "{what} was still throttled by Microsoft after {retries} \
                                 retries; retry the sync later"
                            ),
                        });
                    }
                    retries += 1;
                    *throttled += 1;
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
            }
        }
    }

    async fn body(&self, what: &str, mut resp: reqwest::Response) -> Result<Vec<u8>, GraphError> {
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.network(what, e))? {
            if out.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(GraphError::Upstream(format!(
                    "{what} answered more than {MAX_BODY_BYTES} bytes"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    async fn token(
        &self,
        credentials: &Credentials,
        throttled: &mut u32,
    ) -> Result<SecretString, GraphError> {
        let base = self.base(&self.settings.login_url, "GRC_INTUNE__LOGIN_URL")?;
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            base.as_str().trim_end_matches('/'),
            credentials.tenant_id
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose_secret()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let what = "the Microsoft Entra token endpoint";
        let resp = self
            .send(what, || self.http.post(&url).form(&form), throttled)
            .await?;
        let status = resp.status();
        let body = self.body(what, resp).await?;
        if status.is_success() {
            let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
                GraphError::Upstream(format!("{what} answered {status} without an access token"))
            })?;
            return Ok(SecretString::from(answer.access_token));
        }
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            let error: TokenError = serde_json::from_slice(&body).unwrap_or_default();
            return Err(GraphError::Credentials(credential_problem(status, &error)));
        }
        Err(GraphError::Upstream(format!(
            "{what} answered {}",
            status.as_u16()
        )))
    }

    /// A `nextLink` must stay on the Graph origin: the bearer token goes with it.
    fn next_url(&self, graph: &Url, link: &str) -> Result<String, GraphError> {
        let next = Url::parse(link).map_err(|_| {
            GraphError::Upstream(format!("Microsoft Graph sent a malformed nextLink: {link}"))
        })?;
        if next.origin() != graph.origin() {
            return Err(GraphError::Upstream(format!(
                "Microsoft Graph sent a nextLink outside {} ({}); refusing to follow it",
                graph.origin().ascii_serialization(),
                next.origin().ascii_serialization()
            )));
        }
        Ok(next.into())
    }
}

impl GraphClient for HttpGraphClient {
    async fn managed_devices(&self, credentials: &Credentials) -> Result<Fetched, GraphError> {
        let mut fetched = Fetched::default();
        let token = self
            .token(credentials, &mut fetched.throttled_retries)
            .await?;
        let graph = self.base(&self.settings.graph_url, "GRC_INTUNE__GRAPH_URL")?;
        let mut url = Some(format!(
            "{}/v1.0/deviceManagement/managedDevices?$select={}",
            graph.as_str().trim_end_matches('/'),
            super::device::SELECT
        ));
        let what = "Microsoft Graph (managedDevices)";
        while let Some(current) = url.take() {
            if fetched.pages as usize >= self.settings.max_pages
                || fetched.devices.len() >= self.settings.max_devices
            {
                fetched.truncated = true;
                break;
            }
            let resp = self
                .send(
                    what,
                    || {
                        self.http
                            .get(&current)
                            .bearer_auth(token.expose_secret())
                            .header(header::ACCEPT, "application/json")
                    },
                    &mut fetched.throttled_retries,
                )
                .await?;
            let status = resp.status();
            let body = self.body(what, resp).await?;
            match status {
                s if s.is_success() => {}
                StatusCode::FORBIDDEN => return Err(GraphError::Permission),
                StatusCode::UNAUTHORIZED => {
                    return Err(GraphError::Credentials(format!(
                        "{what} refused the access token (401): check that the app registration \
                         belongs to the tenant and has the {PERMISSION} permission"
                    )));
                }
                s => {
                    let e: GraphErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                    let message: String = e.error.message.chars().take(300).collect();
                    return Err(GraphError::Upstream(format!(
                        "{what} answered {} {}: {message}",
                        s.as_u16(),
                        e.error.code
                    )));
                }
            }
            let page: DevicePage = serde_json::from_slice(&body).map_err(|e| {
                GraphError::Upstream(format!("{what} answered a page that is not JSON: {e}"))
            })?;
            fetched.pages += 1;
            let room = self.settings.max_devices - fetched.devices.len();
            if page.value.len() > room {
                fetched.truncated = true;
            }
            fetched.devices.extend(page.value.into_iter().take(room));
            url = match page.next_link {
                Some(link) if !fetched.truncated => Some(self.next_url(&graph, &link)?),
                _ => None,
            };
        }
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let v = |s: &str| header::HeaderValue::from_str(s).expect("header");
        assert_eq!(retry_after(Some(&v("7"))), Some(7));
        assert_eq!(
            retry_after(Some(&v("Wed, 21 Oct 2015 07:28:00 GMT"))),
            Some(0)
        );
        assert_eq!(retry_after(Some(&v("soon"))), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn token_errors_tell_the_admin_what_to_fix() {
        let e = TokenError {
            error: "invalid_client".into(),
            error_description: "AADSTS7000215: Invalid client secret provided. Trace ID: x".into(),
        };
        let msg = credential_problem(StatusCode::UNAUTHORIZED, &e);
        assert!(
            msg.contains("AADSTS7000215") && msg.contains("check the client secret"),
            "{msg}"
        );
        let e = TokenError {
            error: "invalid_request".into(),
            error_description: "AADSTS90002: Tenant 'x' not found.".into(),
        };
        assert!(credential_problem(StatusCode::BAD_REQUEST, &e).contains("tenant was not found"));
    }

    #[test]
    fn next_links_stay_on_the_graph_origin() {
        let client = HttpGraphClient::new(&IntuneSettings::default()).expect("client");
        let graph = Url::parse("https://graph.microsoft.com").expect("url");
        assert!(
            client
                .next_url(&graph, "https://graph.microsoft.com/v1.0/x?$skiptoken=1")
                .is_ok()
        );
        assert!(
            client
                .next_url(&graph, "https://evil.example/v1.0/x")
                .is_err()
        );
        assert!(client.next_url(&graph, "not a url").is_err());
    }

    #[test]
    fn private_endpoints_are_refused_unless_allowed() {
        let strict = HttpGraphClient::new(&IntuneSettings::default()).expect("client");
        let err = strict
            .base("http://127.0.0.1:9/", "GRC_INTUNE__GRAPH_URL")
            .expect_err("refused");
        assert!(err.to_string().contains(ALLOW_PRIVATE_SETTING), "{err}");
        let open = HttpGraphClient::new(&IntuneSettings {
            allow_private: vec!["127.0.0.1/32".into()],
            ..IntuneSettings::default()
        })
        .expect("client");
        assert!(
            open.base("http://127.0.0.1:9/", "GRC_INTUNE__GRAPH_URL")
                .is_ok()
        );
    }
}
