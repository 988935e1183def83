//! The background dispatcher: finds due deliveries on the queue, claims each with a lease,
//! sends it with no transaction or pooled connection held, and records the attempt in one
//! short write. Several servers may run one each; the claim (a compare-and-set on the due time)
//! makes sure only one sends a given attempt. A dispatcher that dies mid-attempt leaves the
//! delivery due again when its lease runs out, so every delivery is sent at least once.

use super::{backoff, signature::SigningKey, target::GuardedResolver};
use crate::{
    app::AppState,
    domain::time,
    store::{
        self,
        webhooks::{AttemptRow, DeliveryRow, Due},
    },
};
use anyhow::Context;
use chrono::Utc;
use futures_util::StreamExt;
use std::{sync::Arc, time::Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The AEAD associated data a subscription's secret is sealed under: it opens only for that
/// subscription of that org.
pub fn secret_aad(org_id: &str, subscription_id: &str) -> String {
    format!("grc.webhook-secret:{org_id}:{subscription_id}")
}

/// Builds the delivery client: the guarded resolver, no redirects, the configured timeout, and
/// TLS with the operating system's roots.
pub fn client(state: &AppState) -> anyhow::Result<reqwest::Client> {
    let settings = &state.config.webhooks;
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver(state.webhook_guard.clone())))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout())
        .connect_timeout(settings.timeout())
        .pool_max_idle_per_host(2)
        .user_agent(concat!("grc-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the webhook HTTP client")
}

/// Runs the dispatcher until `stop` is cancelled.
pub async fn run(state: AppState, stop: CancellationToken) {
    let client = match client(&state) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook dispatcher not started");
            return;
        }
    };
    let settings = state.config.webhooks.clone();
    let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    loop {
        // Wait for a free slot, then claim as many due deliveries as there are free slots. A
        // full batch means more may be due: claim again as soon as a slot frees; an empty one
        // means the queue is drained: look again after the poll interval.
        let first = tokio::select! {
            _ = stop.cancelled() => return,
            permit = slots.clone().acquire_owned() => permit,
        };
        let Ok(first) = first else { return };
        let room = slots.available_permits() + 1;
        let batch = match next_batch(&state, room).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "webhook queue unavailable");
                Vec::new()
            }
        };
        if batch.is_empty() {
            drop(first);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(settings.poll_interval()) => {}
            }
            continue;
        }
        let mut permit = Some(first);
        for due in batch {
            let held = match permit.take() {
                Some(p) => p,
                None => match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let (state, client) = (state.clone(), client.clone());
            tokio::spawn(async move {
                if let Err(e) = attempt(&state, &client, &due).await {
                    tracing::warn!(delivery = %due.delivery_id, error = %e,
                        "webhook attempt not recorded; it is retried after its lease");
                }
                drop(held);
            });
        }
        if stop.is_cancelled() {
            return;
        }
    }
}

/// Claims up to `room` due deliveries.
async fn next_batch(state: &AppState, room: usize) -> Result<Vec<Due>, sqlx::Error> {
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(state.config.webhooks.lease_secs.max(1) as i64);
    let lease = time::format(lease);
    let due = store::webhooks::due(&state.db, &time::format(now), room as i64).await?;
    let mut claimed = Vec::new();
    for d in due {
        if store::webhooks::claim(&state.db, &d, &lease).await? {
            claimed.push(d);
        }
    }
    Ok(claimed)
}

/// What one attempt needs, read before sending.
struct Prepared {
    delivery: DeliveryRow,
    url: String,
    key: Option<SigningKey>,
}

/// One attempt: read, send (nothing held), record.
async fn attempt(state: &AppState, client: &reqwest::Client, due: &Due) -> anyhow::Result<()> {
    let Some(prepared) = prepare(state, due).await? else {
        return Ok(());
    };
    let started_at = time::now();
    let clock = Instant::now();
    let result = match &prepared.key {
        Some(key) => send(state, client, &prepared, key).await,
        None => Err(
            "the subscription's secret does not open with this server secret \
                     (was GRC_SECRET_KEY changed?)"
                .to_owned(),
        ),
    };
    let latency_ms = clock.elapsed().as_millis().min(i64::MAX as u128) as i64;
    record(
        state,
        due,
        &prepared.delivery,
        started_at,
        latency_ms,
        result,
    )
    .await
}

/// Reads the delivery and its subscription. `None`: nothing to send (the delivery is no longer
/// pending, or its subscription is gone, which fails it).
async fn prepare(state: &AppState, due: &Due) -> anyhow::Result<Option<Prepared>> {
    let mut tx = state.db.tenant_tx(&due.org_id).await?;
    let delivery = store::webhooks::find_delivery(&mut tx, &due.delivery_id).await?;
    let subscription = match &delivery {
        Some(d) => store::webhooks::find_subscription(&mut tx, &d.subscription_id).await?,
        None => None,
    };
    drop(tx);
    let Some(delivery) = delivery.filter(|d| d.status == "pending") else {
        settle_orphan(state, due).await?;
        return Ok(None);
    };
    let Some(subscription) = subscription.filter(|s| s.status == "active") else {
        // Disabled or deleted: nothing is sent; a disabled subscription's deliveries wait.
        postpone(state, due, &delivery).await?;
        return Ok(None);
    };
    let key = state
        .secret
        .open(
            &subscription.secret_sealed,
            &secret_aad(&due.org_id, &subscription.id),
        )
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| SigningKey::parse(&s));
    Ok(Some(Prepared {
        delivery,
        url: subscription.url,
        key,
    }))
}

/// Sends one signed request. `Ok(status)` for any HTTP answer, `Err` for no answer.
async fn send(
    state: &AppState,
    client: &reqwest::Client,
    p: &Prepared,
    key: &SigningKey,
) -> Result<u16, String> {
    // A literal IP never reaches the resolver, so the guard checks the URL itself too.
    let url = state.webhook_guard.check_url(&p.url)?;
    let timestamp = Utc::now().timestamp();
    let body = p.delivery.payload.clone().into_bytes();
    let signature = key.sign(&p.delivery.id, timestamp, &body);
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &p.delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(describe)?;
    let status = response.status().as_u16();
    // Read (and discard) at most the cap, so a receiver cannot stream forever at us.
    let cap = state.config.webhooks.max_response_bytes;
    let mut read = 0usize;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        read += chunk.map_err(describe)?.len();
        if read >= cap {
            break;
        }
    }
    Ok(status)
}

/// An error chain as one line (reqwest hides the resolver's refusal in its sources).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(500).collect()
}

/// Records an attempt and decides what comes next, in one short write.
async fn record(
    state: &AppState,
    due: &Due,
    sent: &DeliveryRow,
    started_at: String,
    latency_ms: i64,
    result: Result<u16, String>,
) -> anyhow::Result<()> {
    let settings = &state.config.webhooks;
    let mut tx = state.db.write_tx(&due.org_id).await?;
    let Some(mut d) = store::webhooks::find_delivery(&mut tx, &sent.id).await? else {
        return Ok(());
    };
    if d.status != "pending" || d.attempts != sent.attempts {
        // Someone else recorded this attempt (a redelivery or another dispatcher).
        return Ok(());
    }
    let number = d.attempts + 1;
    let (status_code, error) = match &result {
        Ok(code) if (200..300).contains(code) => (Some(i64::from(*code)), None),
        Ok(code) => (
            Some(i64::from(*code)),
            Some(format!("receiver answered HTTP {code}")),
        ),
        Err(e) => (None, Some(e.clone())),
    };
    store::webhooks::insert_attempt(
        &mut tx,
        &AttemptRow {
            delivery_id: d.id.clone(),
            number,
            started_at: started_at.clone(),
            latency_ms,
            status_code,
            error: error.clone(),
        },
    )
    .await?;
    let now = time::now();
    d.attempts = number;
    d.last_attempt_at = Some(started_at);
    d.last_status_code = status_code;
    d.last_error = error.clone();
    if error.is_none() {
        d.status = "succeeded".into();
        d.next_attempt_at = None;
        d.completed_at = Some(now);
        store::webhooks::unschedule(&mut tx, &d.id).await?;
    } else if number >= d.attempt_budget {
        d.status = "failed".into();
        d.next_attempt_at = None;
        d.completed_at = Some(now);
        store::webhooks::unschedule(&mut tx, &d.id).await?;
    } else {
        let wait = backoff::delay(
            u32::try_from(number + 1).unwrap_or(u32::MAX),
            std::time::Duration::from_millis(settings.retry_base_ms),
            std::time::Duration::from_millis(settings.retry_max_ms),
            backoff::jitter(),
        );
        let next = time::format(Utc::now() + chrono::Duration::from_std(wait)?);
        d.next_attempt_at = Some(next.clone());
        store::webhooks::schedule(&mut tx, &d.id, &next).await?;
    }
    store::webhooks::update_delivery(&mut tx, &d).await?;
    tx.commit().await?;
    Ok(())
}

/// A queued id whose delivery is gone or settled: drop it from the queue.
async fn settle_orphan(state: &AppState, due: &Due) -> anyhow::Result<()> {
    let mut tx = state.db.write_tx(&due.org_id).await?;
    store::webhooks::unschedule(&mut tx, &due.delivery_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The subscription is disabled: keep the delivery pending and look again after a retry base.
async fn postpone(state: &AppState, due: &Due, d: &DeliveryRow) -> anyhow::Result<()> {
    let wait = chrono::Duration::milliseconds(state.config.webhooks.retry_base_ms as i64);
    let next = time::format(Utc::now() + wait);
    let mut tx = state.db.write_tx(&due.org_id).await?;
    store::webhooks::schedule(&mut tx, &d.id, &next).await?;
    tx.commit().await?;
    Ok(())
}
