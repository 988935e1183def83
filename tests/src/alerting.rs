//! Harness helpers for alerts, tickets, timelines and webhooks (one per endpoint), and a local
//! webhook receiver that answers as scripted and records what it got.

use crate::{Auth, Resp, TestApp};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::Value;
use sha2::Sha256;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

impl TestApp {
    /// `GET /alerts?{query}`.
    pub async fn alerts(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/alerts?{query}")), key)
            .await
    }

    /// `GET /alerts/{id}`.
    pub async fn alert(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/alerts/{id}")), key)
            .await
    }

    /// `POST /alerts/{id}/{step}` (acknowledge, assign, resolve, reopen) with `body`.
    pub async fn triage_alert(
        &self,
        org_id: &str,
        key: &str,
        id: &str,
        step: &str,
        body: Value,
    ) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/alerts/{id}/{step}")),
            key,
            body,
        )
        .await
    }

    /// `POST /alerts/{id}/ticket`.
    pub async fn ticket_from_alert(&self, org_id: &str, key: &str, id: &str, body: Value) -> Resp {
        self.post(
            &self.org_path(org_id, &format!("/alerts/{id}/ticket")),
            key,
            body,
        )
        .await
    }

    /// `POST /tickets`.
    pub async fn create_ticket(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/tickets"), key, body)
            .await
    }

    /// `GET /tickets?{query}`.
    pub async fn tickets(&self, org_id: &str, key: &str, query: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/tickets?{query}")), key)
            .await
    }

    /// `GET /tickets/{id}`.
    pub async fn ticket(&self, org_id: &str, key: &str, id: &str) -> Resp {
        self.get(&self.org_path(org_id, &format!("/tickets/{id}")), key)
            .await
    }

    /// `PATCH /tickets/{id}`.
    pub async fn update_ticket(&self, org_id: &str, key: &str, id: &str, body: Value) -> Resp {
        let path = self.org_path(org_id, &format!("/tickets/{id}"));
        self.call(Method::PATCH, &path, Auth::Bearer(key), Some(body))
            .await
    }

    /// `POST /tickets/{id}/comments`.
    pub async fn comment_ticket(&self, org_id: &str, key: &str, id: &str, text: &str) -> Resp {
        let path = self.org_path(org_id, &format!("/tickets/{id}/comments"));
        self.post(&path, key, serde_json::json!({ "body": text }))
            .await
    }

    /// `POST /tickets/{id}/links`.
    pub async fn link_ticket(&self, org_id: &str, key: &str, id: &str, body: Value) -> Resp {
        let path = self.org_path(org_id, &format!("/tickets/{id}/links"));
        self.post(&path, key, body).await
    }

    /// `DELETE /tickets/{id}/links/{type}/{target}`.
    pub async fn unlink_ticket(
        &self,
        org_id: &str,
        key: &str,
        id: &str,
        kind: &str,
        target: &str,
    ) -> Resp {
        let path = self.org_path(org_id, &format!("/tickets/{id}/links/{kind}/{target}"));
        self.delete(&path, key).await
    }

    /// `GET /timeline?subject_type=…&subject_id=…{extra}`.
    pub async fn timeline(
        &self,
        org_id: &str,
        key: &str,
        kind: &str,
        id: &str,
        extra: &str,
    ) -> Resp {
        let path = self.org_path(
            org_id,
            &format!("/timeline?subject_type={kind}&subject_id={id}{extra}"),
        );
        self.get(&path, key).await
    }

    /// `POST /webhooks/subscriptions`.
    pub async fn subscribe(&self, org_id: &str, key: &str, body: Value) -> Resp {
        self.post(&self.org_path(org_id, "/webhooks/subscriptions"), key, body)
            .await
    }

    /// `GET /webhooks/subscriptions/{id}`.
    pub async fn subscription(&self, org_id: &str, key: &str, id: &str) -> Resp {
        let path = self.org_path(org_id, &format!("/webhooks/subscriptions/{id}"));
        self.get(&path, key).await
    }

    /// `POST /webhooks/subscriptions/{id}/test`.
    pub async fn test_webhook(&self, org_id: &str, key: &str, id: &str) -> Resp {
        let path = self.org_path(org_id, &format!("/webhooks/subscriptions/{id}/test"));
        self.post(&path, key, serde_json::json!({})).await
    }

    /// `GET /webhooks/subscriptions/{id}/deliveries?{query}`.
    pub async fn deliveries(&self, org_id: &str, key: &str, id: &str, query: &str) -> Resp {
        let path = self.org_path(
            org_id,
            &format!("/webhooks/subscriptions/{id}/deliveries?{query}"),
        );
        self.get(&path, key).await
    }

    /// `GET /webhooks/subscriptions/{id}/deliveries/{delivery}`.
    pub async fn delivery(&self, org_id: &str, key: &str, id: &str, delivery: &str) -> Resp {
        let path = self.org_path(
            org_id,
            &format!("/webhooks/subscriptions/{id}/deliveries/{delivery}"),
        );
        self.get(&path, key).await
    }

    /// `POST /webhooks/subscriptions/{id}/deliveries/{delivery}/redeliver`.
    pub async fn redeliver(&self, org_id: &str, key: &str, id: &str, delivery: &str) -> Resp {
        let path = self.org_path(
            org_id,
            &format!("/webhooks/subscriptions/{id}/deliveries/{delivery}/redeliver"),
        );
        self.post(&path, key, serde_json::json!({})).await
    }

    /// Polls the delivery until `done` holds for it (at most `within`).
    pub async fn wait_for_delivery(
        &self,
        org_id: &str,
        subscription: &str,
        delivery: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + within;
        loop {
            let d = self
                .delivery(org_id, &self.owner_key, subscription, delivery)
                .await;
            assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
            if done(&d.body) {
                return d.body;
            }
            assert!(
                Instant::now() < until,
                "delivery never got there: {:?}",
                d.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Sends nothing for this long, then 200.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Hit {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Checks `webhook-signature` with the `whsec_…` secret, independently of the server's code.
    pub fn signed_with(&self, secret: &str) -> bool {
        let Some(key) = secret
            .strip_prefix("whsec_")
            .and_then(|k| STANDARD.decode(k).ok())
        else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(self.header("webhook-id").as_bytes());
        mac.update(b".");
        mac.update(self.header("webhook-timestamp").as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Answer>>,
    hits: Mutex<Vec<Hit>>,
    in_flight: std::sync::atomic::AtomicUsize,
}

/// A local webhook receiver on 127.0.0.1: answers scripted statuses, then 200.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
}

impl Receiver {
    pub async fn start(script: Vec<Answer>) -> Receiver {
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            ..Default::default()
        });
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            shared,
        }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().expect("hits").clone()
    }

    /// Requests being answered right now (a hanging one counts).
    pub fn in_flight(&self) -> usize {
        self.shared
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for_hits(&self, n: usize, within: Duration) -> Vec<Hit> {
        let until = Instant::now() + within;
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                Instant::now() < until,
                "only {} of {n} requests arrived",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    use std::sync::atomic::Ordering::SeqCst;
    let answer = shared.script.lock().expect("script").pop_front();
    // Counted before the hit is visible, so a test that saw the hit sees the hang too.
    if let Some(Answer::Hang(_)) = answer {
        shared.in_flight.fetch_add(1, SeqCst);
    }
    shared.hits.lock().expect("hits").push(Hit {
        at: Instant::now(),
        headers,
        body: body.to_vec(),
    });
    match answer {
        Some(Answer::Status(code)) => StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        Some(Answer::Hang(d)) => {
            tokio::time::sleep(d).await;
            shared.in_flight.fetch_sub(1, SeqCst);
            StatusCode::OK
        }
        None => StatusCode::OK,
    }
}
