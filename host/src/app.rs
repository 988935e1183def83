//! Application state and server startup: config → database (migrations) → Cedar → bootstrap →
//! router → listener. `spawn` is what both `grc serve` and the integration tests call.

use crate::{
    authn::{Authenticator, JwtVerifier},
    authz::Authz,
    bootstrap,
    compliance::catalog::Catalog,
    config::Config,
    http,
    objects::ObjectStore,
    plugins::{PluginHost, artifacts::ArtifactCache, runtime::PluginRuntime},
    store::{self, Db},
};
use anyhow::Context;
use secrecy::ExposeSecret;
use std::{net::SocketAddr, ops::Deref, sync::Arc};
use tokio::net::TcpListener;

/// Shared, cheaply clonable state handed to every handler.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub authz: Authz,
    pub authn: Authenticator,
    pub metrics: http::metrics::Metrics,
    pub plugins: PluginHost,
    pub catalog: Catalog,
    /// The baseline compliance policies every org can fork.
    pub baselines: crate::governance::baseline::Library,
    /// Evidence object storage; `None` when turned off (`GRC_OBJECT_STORE=none`).
    pub objects: Option<ObjectStore>,
    /// Seals each org's agent CA key at rest.
    pub secret: crate::agents::seal::ServerSecret,
    /// Per-agent heartbeat rate limit.
    pub heartbeats: crate::agents::rate::HeartbeatLimiter,
    /// Which addresses webhook deliveries may reach.
    pub webhook_guard: crate::webhooks::target::TargetGuard,
    /// Cancelled to stop this server's background work (access lease, webhook dispatcher,
    /// alert sweep).
    pub background: tokio_util::sync::CancellationToken,
    /// The connectors catalog automation agents call through.
    pub connectors: crate::runtime::connectors::ConnectorCatalog,
    /// Cedar for agents' runtime decisions (its own schema and baseline).
    pub runtime: crate::runtime::RuntimeEngine,
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Connects, migrates and loads policies. Fails (and the server refuses to start) when the
    /// database is unreachable or any baseline policy is invalid.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = store::connect(
            &config.database_url,
            config.database_app_url.as_deref(),
            config.database_max_connections,
        )
        .await?;
        let authz = Authz::load().context("loading Cedar schema and baseline policies")?;
        let public_key = match &config.jwt.public_key_file {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("reading JWT public key {}", path.display()))?,
            ),
            None => None,
        };
        let jwt = JwtVerifier::new(
            config.jwt.secret.as_ref().map(|s| s.expose_secret()),
            public_key.as_deref(),
            config.jwt.issuer.as_deref().unwrap_or("grc"),
            config.jwt.audience.as_deref().unwrap_or("grc"),
        )?;
        let artifacts = ArtifactCache::new(
            config.data_dir.join("plugin-cache"),
            plugin_cache_key(&db).await?,
            config.plugins.max_cache_bytes,
        )?;
        let runtime = PluginRuntime::new(config.plugins.clone(), Some(artifacts), true)
            .context("starting the WebAssembly runtime")?;
        let plugins = PluginHost::start(runtime).await?;
        let catalog = Catalog::load(&plugins.builtin().description)?;
        let baselines = crate::governance::baseline::Library::load(&catalog)?;
        // The scanner table decides coverage and classification; a broken one must not start.
        crate::scans::scanners::Scanners::load()?;
        let objects = ObjectStore::from_config(&config)
            .await
            .context("starting evidence object storage")?;
        let secret = crate::agents::seal::ServerSecret::load_or_create(
            config.secret_key.as_ref().map(|s| s.expose_secret()),
            &config.data_dir,
        )
        .context("loading the server secret")?;
        let heartbeats =
            crate::agents::rate::HeartbeatLimiter::new(config.agents.heartbeats_per_minute);
        let webhook_guard =
            crate::webhooks::target::TargetGuard::new(&config.webhooks.allow_private)?;
        // A malformed Intune allow-list stops the server here, not at the first sync.
        crate::intune::graph::HttpGraphClient::new(&config.intune)
            .context("GRC_INTUNE__… settings")?;
        let connectors = crate::runtime::connectors::ConnectorCatalog::load()?;
        let runtime_engine = crate::runtime::RuntimeEngine::load()
            .context("loading the runtime Cedar schema and baseline")?;
        Ok(AppState(Arc::new(AppInner {
            connectors,
            runtime: runtime_engine,
            webhook_guard,
            background: tokio_util::sync::CancellationToken::new(),
            objects,
            secret,
            heartbeats,
            catalog,
            baselines,
            plugins,
            metrics: http::metrics::Metrics::new()?,
            config,
            db,
            authz,
            authn: Authenticator::new(jwt),
        })))
    }
}

/// The secret that authenticates compiled-plugin artifacts on disk. It lives in the database,
/// not in the data dir next to the artifacts, so a file dropped into the cache is never loaded.
async fn plugin_cache_key(db: &Db) -> anyhow::Result<Vec<u8>> {
    const KEY: &str = "plugin_cache_hmac_key";
    let mut tx = db.global_write_tx().await?;
    if let Some(existing) = store::instance::get(&mut tx, KEY).await? {
        return Ok(hex::decode(existing)?);
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    if store::instance::insert(&mut tx, KEY, &hex::encode(key))
        .await
        .is_err()
    {
        // Another instance won the race; use its key.
        let mut tx = db.global_tx().await?;
        let existing = store::instance::get(&mut tx, KEY)
            .await?
            .unwrap_or_default();
        return Ok(hex::decode(existing)?);
    }
    tx.commit().await?;
    Ok(key.to_vec())
}

/// A server bound to a port and running in the background.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Where the agent TLS listener is bound, when it is on.
    pub agent_tls_addr: Option<SocketAddr>,
    pub state: AppState,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The task holding the access lease: it ends, lease given back, once `state.background`
    /// is cancelled.
    pub lease: tokio::task::JoinHandle<()>,
}

/// Builds the state, runs first-start bootstrap, binds and serves in a background task.
pub async fn spawn(config: Config) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let state = AppState::build(config).await?;
    if let Some(created) = bootstrap::first_start(&state).await? {
        created.announce(&state.config.data_dir)?;
    }
    let addr = listener.local_addr()?;
    let agent_tls_addr = start_agent_tls(&state).await?;
    let lease = start_background(&state);
    let router = http::router(state.clone());
    let handle = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    });
    tracing::info!(%addr, "grc listening");
    Ok(RunningServer {
        addr,
        agent_tls_addr,
        state,
        handle,
        lease,
    })
}

/// Starts the work that runs beside the API: the lease on cached access state, webhook
/// deliveries and the alert sweep. All stop when `state.background` is cancelled (a test stops
/// them to simulate a crash).
fn start_background(state: &AppState) -> tokio::task::JoinHandle<()> {
    let (db, stop) = (state.db.clone(), state.background.clone());
    let leases = state.config.access_leases;
    let lease = tokio::spawn(async move {
        if leases {
            db.keep_access_lease(stop).await;
        }
    });
    tokio::spawn(crate::webhooks::dispatcher::run(
        state.clone(),
        state.background.clone(),
    ));
    tokio::spawn(crate::alerting::sweep::run(
        state.clone(),
        state.background.clone(),
    ));
    lease
}

/// Starts the optional agent TLS listener (`GRC_AGENTS__TLS_LISTEN`): the same API, on TLS that
/// requires a client certificate; a heartbeat there authenticates with the certificate alone.
async fn start_agent_tls(state: &AppState) -> anyhow::Result<Option<SocketAddr>> {
    let settings = &state.config.agents;
    let Some(listen) = &settings.tls_listen else {
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (&settings.tls_cert_file, &settings.tls_key_file) else {
        anyhow::bail!(
            "GRC_AGENTS__TLS_LISTEN needs GRC_AGENTS__TLS_CERT_FILE and GRC_AGENTS__TLS_KEY_FILE"
        );
    };
    let config = crate::agents::tls::server_config(cert, key)?;
    let tcp = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the agent TLS listener on {listen}"))?;
    let listener = crate::agents::tls::AgentTlsListener::start(tcp, config)?;
    let addr = axum::serve::Listener::local_addr(&listener)?.addr;
    let router = http::router(state.clone());
    tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<crate::agents::tls::AgentPeer>(),
        )
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "agent TLS listener stopped");
        }
    });
    tracing::info!(%addr, "agent TLS listener (client certificates required)");
    Ok(Some(addr))
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send): the server stops accepting, finishes
/// what it is serving, and gives its access lease back.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
