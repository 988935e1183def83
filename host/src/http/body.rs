//! Reading request bodies: capped in size, and abandoned when the client stops sending. A body is
//! always read before any transaction opens, so a slow client holds no database connection;
//! the idle timeout also frees the request itself.

use super::error::{ApiError, ApiResult};
use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use std::time::Duration;

/// The limits for JSON bodies, put on every request by the router.
#[derive(Clone, Copy)]
pub struct BodyLimit {
    pub max_bytes: usize,
    pub idle: Duration,
}

/// What an oversized body is called in the 413, and the setting that raises its limit.
pub struct Cap {
    pub what: &'static str,
    pub max_bytes: usize,
    pub setting: &'static str,
}

/// Reads the whole body. More than `cap.max_bytes` → 413 naming the limit; no data for `idle`
/// → 408; a broken stream → 400.
pub async fn read(body: Body, cap: &Cap, idle: Duration) -> ApiResult<Bytes> {
    let mut chunks = body.into_data_stream();
    let mut buf = Vec::new();
    loop {
        let data = match tokio::time::timeout(idle, chunks.next()).await {
            Err(_) => {
                return Err(ApiError::RequestTimeout(format!(
                    "no request body data for {} s; send the body without pauses",
                    idle.as_secs()
                )));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::BadRequest(serde_json::json!(format!(
                    "could not read the request body: {e}"
                ))));
            }
            Ok(Some(Ok(data))) => data,
        };
        if buf.len() + data.len() > cap.max_bytes {
            return Err(ApiError::too_large(cap.what, cap.max_bytes, cap.setting));
        }
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    const CAP: Cap = Cap {
        what: "test body",
        max_bytes: 8,
        setting: "GRC_TEST",
    };

    #[tokio::test]
    async fn reads_a_body_within_the_cap() {
        let bytes = read(Body::from("12345678"), &CAP, Duration::from_secs(5))
            .await
            .expect("read");
        assert_eq!(&bytes[..], b"12345678");
    }

    #[tokio::test]
    async fn a_byte_over_the_cap_is_a_413_naming_the_limit() {
        let err = read(Body::from("123456789"), &CAP, Duration::from_secs(5))
            .await
            .expect_err("too large");
        assert_eq!(err.into_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_stalled_body_is_a_408() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stream = tokio_stream_from(rx);
        tx.send(Ok(Bytes::from_static(b"1"))).await.expect("send");
        let err = read(Body::from_stream(stream), &CAP, Duration::from_millis(50))
            .await
            .expect_err("stalled");
        assert_eq!(err.into_response().status(), StatusCode::REQUEST_TIMEOUT);
        drop(tx);
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
