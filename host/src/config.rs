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
    /// `sqlite://…` or `postgres://…`. Empty means `sqlite://<data_dir>/grc.db`.
    pub database_url: String,
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
    /// Max JSON request body size in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted scan upload (JSON or SARIF), in bytes; above it → 413.
    pub max_scan_bytes: usize,
    /// Sandbox limits for WebAssembly plugins (`GRC_PLUGINS__DEADLINE_MS=…` etc.).
    #[serde(default)]
    pub plugins: crate::plugins::limits::PluginLimits,
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
            log: "info".into(),
            log_format: "text".into(),
            database_max_connections: 10,
            jwt: JwtConfig::default(),
            trust_forwarded_for: false,
            max_body_bytes: 1024 * 1024,
            max_scan_bytes: 50 * 1024 * 1024,
            plugins: Default::default(),
        }
    }
}

impl Config {
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
        Ok(config.with_derived_defaults())
    }

    /// Fills values that depend on other values (the SQLite path depends on the data dir).
    pub fn with_derived_defaults(mut self) -> Self {
        if self.database_url.trim().is_empty() {
            self.database_url = format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("grc.db").display()
            );
        }
        self
    }
}
