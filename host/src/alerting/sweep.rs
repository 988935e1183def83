//! The periodic sweep for the time-based alert sources: agents that stopped reporting and
//! evidence that is about to expire. Each org is read in a short read transaction, and only
//! when something is found is one short write opened to raise (or bump) its alerts.

use super::{AlertDraft, raise, sources};
use crate::{agents::status, app::AppState, domain::time, store};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

/// Runs the sweep every `alerts.sweep_interval_secs` until `stop` is cancelled.
pub async fn run(state: AppState, stop: CancellationToken) {
    let every = state.config.alerts.sweep_interval_secs;
    if every == 0 {
        return;
    }
    loop {
        if let Err(e) = sweep_once(&state).await {
            tracing::warn!(error = %e, "alert sweep failed; retrying at the next interval");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(every)) => {}
        }
    }
}

/// One pass over every org; returns how many drafts were raised or bumped.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<usize> {
    let mut tx = state.db.global_tx().await?;
    let orgs = store::orgs::all_ids(&mut tx).await?;
    drop(tx);
    let mut raised = 0;
    for org_id in orgs {
        let drafts = observe(state, &org_id).await?;
        if drafts.is_empty() {
            continue;
        }
        raised += drafts.len();
        let mut tx = state.db.write_tx(&org_id).await?;
        raise::raise_all(&mut tx, &state.config.webhooks, drafts).await?;
        tx.commit().await?;
    }
    Ok(raised)
}

/// What one org's records say right now.
async fn observe(state: &AppState, org_id: &str) -> anyhow::Result<Vec<AlertDraft>> {
    let now = Utc::now();
    let settings = &state.config.agents;
    let stale_since =
        time::format(now - chrono::Duration::seconds(settings.stale_after_secs as i64));
    let horizon =
        time::format(now + chrono::Duration::days(state.config.alerts.evidence_warning_days));
    let mut tx = state.db.tenant_tx(org_id).await?;
    let quiet = store::agents::quiet_since(&mut tx, &stale_since).await?;
    let expiring = store::evidence::expiring_by(&mut tx, &horizon).await?;
    drop(tx);
    let mut drafts = Vec::new();
    for agent in &quiet {
        let last = agent.last_heartbeat_at.as_deref().and_then(time::parse);
        let status = status::status(false, last, now, settings);
        drafts.extend(sources::agent_stale(agent, status));
    }
    for (id, filename, expires_at) in &expiring {
        drafts.extend(sources::evidence_expiring(
            id,
            filename,
            expires_at,
            now,
            state.config.alerts.evidence_warning_days,
        ));
    }
    Ok(drafts)
}
