//! The optional TLS listener for agents (`GRC_AGENTS__TLS_LISTEN`): it requires a client
//! certificate and serves the heartbeat route, which then authenticates the agent by that
//! certificate alone (no bearer credential).
//!
//! The handshake proves the client holds the certificate's private key (rustls checks the
//! CertificateVerify signature). Which certificates count is decided per request, against the
//! database: the certificate must be exactly the one the org's CA issued to a live agent (its
//! SHA-256 fingerprint is the agent's current `cert_fingerprint`), within its validity, and
//! its signature must verify with the org's CA (`authn::authenticate_agent_certificate`). So a
//! revoked or rotated certificate stops working at once, as a credential does, and no set of
//! trust roots has to be reloaded as orgs create CAs.

use anyhow::Context;
use rustls::{
    DigitallySignedStruct, DistinguishedName, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, UnixTime, pem::PemObject},
    server::danger::{ClientCertVerified, ClientCertVerifier},
};
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, server::TlsStream};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting to be served.
const BACKLOG: usize = 256;

/// Who is on the other end of a TLS connection: its address and its certificate (DER).
#[derive(Debug, Clone)]
pub struct AgentPeer {
    pub addr: SocketAddr,
    pub certificate: Vec<u8>,
}

/// Accepts any client certificate at the handshake (after rustls has checked the client's
/// signature with it); the request decides whether it is an agent's (module docs).
#[derive(Debug)]
struct ProofOfPossession {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for ProofOfPossession {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The server's TLS configuration from its certificate chain and key (PEM files).
pub fn server_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .with_context(|| format!("reading {}", cert_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("reading {}", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(ProofOfPossession { provider }))
        .with_single_cert(certs, key)
        .context("the agent TLS certificate and key do not match")?;
    Ok(config)
}

/// A listener whose connections have finished the TLS handshake with a client certificate.
/// Handshakes run concurrently, each under [`HANDSHAKE_TIMEOUT`], so one slow client never
/// holds up the others.
pub struct AgentTlsListener {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(TlsStream<tokio::net::TcpStream>, AgentPeer)>,
}

impl AgentTlsListener {
    pub fn start(tcp: TcpListener, config: rustls::ServerConfig) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = tokio::sync::mpsc::channel(BACKLOG);
        tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "agent TLS accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    let tls = match handshake {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(%addr, error = %e, "agent TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%addr, "agent TLS handshake timed out");
                            return;
                        }
                    };
                    let certificate = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| c.to_vec());
                    if let Some(certificate) = certificate {
                        let _ = tx.send((tls, AgentPeer { addr, certificate })).await;
                    }
                });
            }
        });
        Ok(AgentTlsListener { local, ready })
    }
}

impl axum::serve::Listener for AgentTlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = AgentPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept task ended (it does not, short of a panic): serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(AgentPeer {
            addr: self.local,
            certificate: Vec::new(),
        })
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, AgentTlsListener>>
    for AgentPeer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, AgentTlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}
