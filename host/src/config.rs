//! Layered configuration: built-in defaults, then an optional `grc.toml`, then `GRC_*` environment
//! variables (highest precedence). Secrets are held in `secrecy` types so they never reach logs.

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address the HTTP server binds, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// Directory for the embedded database, bootstrap credentials and other local state.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`. Empty means `sqlite://<data_dir>/grc.db`. On PostgreSQL
    /// this is the owner login, used for migrations only.
    pub database_url: String,
    /// PostgreSQL login of the app pool (`GRC_DATABASE_APP_URL`), user `grc_app`. Default: the
    /// owner URL with user `grc_app` and no password.
    pub database_app_url: Option<String>,
    /// `tracing` filter directive, e.g. `info` or `grc=debug,tower_http=info`.
    pub log: String,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Max connections of the app pool (PostgreSQL). SQLite always uses one writer connection.
    pub database_max_connections: u32,
    #[serde(default)]
    pub jwt: JwtConfig,
    /// Trust `X-Forwarded-For` for the client IP recorded in the audit log.
    pub trust_forwarded_for: bool,
    /// Hold a lease on cached access state (`GRC_ACCESS_LEASES`, default true): requests then
    /// skip the per-request access-revision read, and changes wait for every live server's
    /// acknowledgement (docs/decisions/0029). `false` reads on every request and relies on no
    /// clock.
    pub access_leases: bool,
    /// Max JSON request body size in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted scan upload (JSON or SARIF), in bytes; above it → 413.
    pub max_scan_bytes: usize,
    /// A request body that sends no data for this many seconds is abandoned with a 408.
    pub body_idle_timeout_secs: u64,
    /// Evidence object storage: `embedded` (default: an in-process S3 endpoint over
    /// `<data_dir>/objects`), `s3` (any S3-compatible service; implied by `GRC_S3_ENDPOINT` or
    /// the R2 variables), or `none` (evidence uploads answer 503). `GRC_OBJECT_STORE`.
    pub object_store: String,
    /// S3 endpoint, e.g. `https://<account>.r2.cloudflarestorage.com` (`GRC_S3_ENDPOINT`).
    pub s3_endpoint: Option<String>,
    /// Bucket for evidence objects (`GRC_S3_BUCKET`; embedded: `evidence`).
    pub s3_bucket: Option<String>,
    /// Region (`GRC_S3_REGION`; default `us-east-1`, R2 uses `auto`).
    pub s3_region: Option<String>,
    /// Access key id (`GRC_S3_ACCESS_KEY_ID`).
    pub s3_access_key_id: Option<String>,
    /// Secret access key (`GRC_S3_SECRET_ACCESS_KEY`).
    #[serde(skip_serializing)]
    pub s3_secret_access_key: Option<SecretString>,
    /// Path-style addressing (`GRC_S3_FORCE_PATH_STYLE`; default true).
    pub s3_force_path_style: Option<bool>,
    /// Where the embedded S3 endpoint listens; presigned URLs point here.
    pub s3_embedded_listen: String,
    /// Lifetime of presigned upload URLs, in seconds (default 15 minutes).
    pub evidence_upload_ttl_secs: u64,
    /// Lifetime of presigned download URLs, in seconds.
    pub evidence_download_ttl_secs: u64,
    /// Largest evidence object, in bytes; larger uploads are refused or deleted at verify.
    pub evidence_max_size: u64,
    /// The server secret that seals each org's agent CA key (`GRC_SECRET_KEY`, 64 hex chars).
    /// Absent: `<data_dir>/server-secret.key`, created on first start. Never stored in the
    /// database; every server of a deployment needs the same one.
    #[serde(skip_serializing)]
    pub secret_key: Option<SecretString>,
    /// Agent settings (`GRC_AGENTS__STALE_AFTER_SECS=…` etc.).
    #[serde(default)]
    pub agents: crate::agents::settings::AgentSettings,
    /// Sandbox limits for WebAssembly plugins (`GRC_PLUGINS__DEADLINE_MS=…` etc.).
    #[serde(default)]
    pub plugins: crate::plugins::limits::PluginLimits,
    /// Webhook delivery (`GRC_WEBHOOKS__ALLOW_PRIVATE='["127.0.0.1/32"]'` etc.).
    #[serde(default)]
    pub webhooks: crate::webhooks::settings::WebhookSettings,
    /// Alert sources (`GRC_ALERTS__EVIDENCE_WARNING_DAYS=…` etc.).
    #[serde(default)]
    pub alerts: crate::alerting::settings::AlertSettings,
    /// Agent runtime governance (`GRC_RUNTIME__…`).
    #[serde(default)]
    pub runtime: crate::runtime::settings::RuntimeSettings,
    /// Intune posture sync (`GRC_INTUNE__LOGIN_URL`, `GRC_INTUNE__GRAPH_URL`,
    /// `GRC_INTUNE__ALLOW_PRIVATE='["127.0.0.1/32"]'` etc.).
    #[serde(default)]
    pub intune: crate::intune::settings::IntuneSettings,
    /// Just-in-time SSH sessions (`GRC_SSH__REQUEST_TTL_SECS=…` etc.).
    #[serde(default)]
    pub ssh: crate::ssh::settings::SshSettings,
    /// SIEM ingest and search limits (`GRC_SIEM__MAX_EVENTS_PER_BATCH=…` etc.).
    #[serde(default)]
    pub siem: crate::siem::settings::SiemSettings,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JwtConfig {
    /// HS256 shared secret (`GRC_JWT_SECRET`).
    #[serde(skip_serializing)]
    pub secret: Option<SecretString>,
    /// PEM public key for RS256 or ES256 (`GRC_JWT_PUBLIC_KEY_FILE`).
    pub public_key_file: Option<PathBuf>,
    /// Required `iss` claim.
    pub issuer: Option<String>,
    /// Required `aud` claim.
    pub audience: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            database_app_url: None,
            log: "info".into(),
            log_format: "text".into(),
            database_max_connections: 10,
            jwt: JwtConfig::default(),
            trust_forwarded_for: false,
            access_leases: true,
            max_body_bytes: 1024 * 1024,
            max_scan_bytes: 50 * 1024 * 1024,
            body_idle_timeout_secs: 30,
            object_store: String::new(),
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_force_path_style: None,
            s3_embedded_listen: "127.0.0.1:8081".into(),
            evidence_upload_ttl_secs: 15 * 60,
            evidence_download_ttl_secs: 5 * 60,
            evidence_max_size: 2 * 1024 * 1024 * 1024,
            secret_key: None,
            agents: Default::default(),
            plugins: Default::default(),
            webhooks: Default::default(),
            alerts: Default::default(),
            runtime: Default::default(),
            intune: Default::default(),
            ssh: Default::default(),
            siem: Default::default(),
        }
    }
}

impl Config {
    /// How long a request body may send nothing before it is abandoned (at least a second).
    pub fn body_idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_idle_timeout_secs.max(1))
    }

    /// Loads defaults → `grc.toml` (or `GRC_CONFIG`) → `GRC_*` env vars.
    ///
    /// Flat env names map to nested keys: `GRC_JWT_SECRET` → `jwt.secret`,
    /// `GRC_JWT_PUBLIC_KEY_FILE` → `jwt.public_key_file`.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var("GRC_CONFIG").unwrap_or_else(|_| "grc.toml".into());
        let jwt_keys = [
            "jwt_secret",
            "jwt_public_key_file",
            "jwt_issuer",
            "jwt_audience",
        ];
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("GRC_").map(move |key| {
                let lower = key.as_str().to_ascii_lowercase().replace("__", ".");
                if jwt_keys.contains(&lower.as_str()) {
                    lower.replacen("jwt_", "jwt.", 1).into()
                } else {
                    lower.into()
                }
            }))
            .extract()?;
        Ok(config.with_r2_env().with_derived_defaults())
    }

    /// The seed's Cloudflare R2 variables (`R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY`,
    /// `R2_BUCKET`, `CF_ACCOUNT_ID`) fill any S3 setting not given explicitly.
    fn with_r2_env(mut self) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(account) = var("CF_ACCOUNT_ID") {
            self.s3_endpoint
                .get_or_insert_with(|| format!("https://{account}.r2.cloudflarestorage.com"));
            self.s3_region.get_or_insert_with(|| "auto".into());
        }
        if let Some(bucket) = var("R2_BUCKET") {
            self.s3_bucket.get_or_insert(bucket);
        }
        if let Some(key) = var("R2_ACCESS_KEY_ID") {
            self.s3_access_key_id.get_or_insert(key);
        }
        if let Some(secret) = var("R2_SECRET_ACCESS_KEY") {
            self.s3_secret_access_key.get_or_insert(secret.into());
        }
        self
    }

    /// Fills values that depend on other values (the SQLite path depends on the data dir).
    pub fn with_derived_defaults(mut self) -> Self {
        if self.database_url.trim().is_empty() {
            self.database_url = format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("grc.db").display()
            );
        }
        if self.object_store.trim().is_empty() {
            self.object_store = if self.s3_endpoint.is_some() {
                "s3"
            } else {
                "embedded"
            }
            .into();
        }
        self
    }
}
