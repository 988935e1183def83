//! The embedded S3 endpoint: `s3s` + `s3s-fs` over `<data_dir>/objects/`, with SigV4
//! authentication, served on its own local listener so presigned URLs work on a fresh machine
//! with no setup. Its credentials are generated at first start and kept in
//! `<data_dir>/s3-credentials.json` (mode 0600).

use super::EMBEDDED_BUCKET;
use anyhow::Context;
use axum::{
    Router,
    error_handling::HandleError,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tokio::net::TcpListener;

pub struct Started {
    /// `http://host:port` of the endpoint.
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Serialize, Deserialize)]
struct StoredCredentials {
    access_key_id: String,
    secret_access_key: String,
}

/// Starts the endpoint in a background task and returns where it listens.
pub async fn start(data_dir: &Path, listen: &str, max_size: u64) -> anyhow::Result<Started> {
    let root = data_dir.join("objects");
    std::fs::create_dir_all(root.join(EMBEDDED_BUCKET))
        .with_context(|| format!("creating {}", root.display()))?;
    let credentials = credentials(data_dir)?;
    let fs = s3s_fs::FileSystem::new(&root)
        .map_err(|e| anyhow::anyhow!("opening the embedded object store: {e:?}"))?;
    let service = {
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
        ));
        builder.build()
    };
    let router = Router::new()
        .fallback_service(HandleError::new(service, |e: s3s::HttpError| async move {
            tracing::warn!(error = ?e, "embedded S3 request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }))
        .layer(axum::middleware::from_fn_with_state(
            max_size,
            refuse_oversized,
        ));
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the embedded S3 endpoint on {listen}"))?;
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "embedded S3 endpoint stopped");
        }
    });
    tracing::info!(%addr, "embedded S3 endpoint listening");
    Ok(Started {
        endpoint: format!("http://{addr}"),
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
    })
}

/// A declared body above the evidence size cap is refused before a byte is stored. (A body
/// without a length is caught at verify, which deletes oversized objects.)
async fn refuse_oversized(State(max): State<u64>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/xml")],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>EntityTooLarge</Code>\
                 <Message>Your proposed upload exceeds the maximum allowed size ({max} bytes)</Message></Error>"
            ),
        )
            .into_response();
    }
    next.run(req).await
}

/// Loads the endpoint's credentials, generating them at first start.
fn credentials(data_dir: &Path) -> anyhow::Result<StoredCredentials> {
    let path = data_dir.join("s3-credentials.json");
    if let Ok(raw) = std::fs::read(&path) {
        return serde_json::from_slice(&raw).with_context(|| format!("reading {}", path.display()));
    }
    let mut bytes = [0u8; 30];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let creds = StoredCredentials {
        access_key_id: format!("GRC{}", hex::encode_upper(&bytes[..8])),
        secret_access_key: hex::encode(&bytes[8..]),
    };
    crate::bootstrap::write_private(&path, &serde_json::to_vec_pretty(&creds)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(creds)
}
