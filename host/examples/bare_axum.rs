//! The peer of `scripts/bench_authz_overhead.sh`: a bare axum handler that answers
//! `GET /api/v1/orgs/{org_id}` with fixed bytes, with no authentication, authorization,
//! database or middleware. Same runtime as `grc serve` (`#[tokio::main]`, multi-threaded) and
//! the same allocator (mimalloc), so the ratio measures what `grc` does per request.
//!
//! ```text
//! cargo build --example bare_axum
//! bare_axum PORT BODY_FILE     # BODY_FILE: the JSON the real server returns for that route
//! ```

use axum::{Router, body::Bytes, http::header, response::IntoResponse, routing::get};
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(body_file)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_axum PORT BODY_FILE");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("bare_axum: bad port {port:?}");
        return ExitCode::from(2);
    };
    let body = match std::fs::read(&body_file) {
        Ok(bytes) => Bytes::from(bytes),
        Err(e) => {
            eprintln!("bare_axum: reading {body_file}: {e}");
            return ExitCode::from(2);
        }
    };
    let app = Router::new().route(
        "/api/v1/orgs/{org_id}",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
        }),
    );
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bare_axum: binding 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("bare_axum listening on 127.0.0.1:{port}");
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_axum: {e}");
            ExitCode::FAILURE
        }
    }
}
