//! Raising alerts inside the transaction of what caused them (a heartbeat, a scan) or of a
//! sweep: a new condition opens an alert and emits `alert.raised`; a repeat bumps the open one.

use super::{AlertDraft, view::AlertView};
use crate::{
    domain::time,
    store::{self, TenantTx, alerts::AlertRow},
    webhooks::{self, settings::WebhookSettings},
};

/// What raising a draft did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raised {
    Opened(String),
    Bumped(String),
}

/// Raises `draft` in `tx` (which must hold the org write lock, as every write transaction does,
/// so the lookup and the insert cannot race another raise of the same key).
pub async fn raise(
    tx: &mut TenantTx,
    webhooks_settings: &WebhookSettings,
    draft: AlertDraft,
) -> anyhow::Result<Raised> {
    let now = time::now();
    let detail = draft.detail.to_string();
    if let Some(mut live) = store::alerts::find_live(tx, &draft.dedupe_key).await? {
        live.occurrences += 1;
        live.last_seen_at = now.clone();
        live.updated_at = now;
        live.severity = draft.severity.as_str().into();
        live.title = draft.title;
        live.detail = detail;
        store::alerts::update(tx, &live).await?;
        return Ok(Raised::Bumped(live.id));
    }
    let row = AlertRow {
        id: uuid::Uuid::new_v4().to_string(),
        kind: draft.kind.into(),
        severity: draft.severity.as_str().into(),
        status: "open".into(),
        title: draft.title,
        detail,
        subject_type: draft.subject_type.as_str().into(),
        subject_id: draft.subject_id,
        dedupe_key: draft.dedupe_key,
        occurrences: 1,
        assignee_user_id: None,
        ticket_id: None,
        first_seen_at: now.clone(),
        last_seen_at: now.clone(),
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
        updated_at: now,
    };
    store::alerts::insert(tx, &row).await?;
    let id = row.id.clone();
    let view = AlertView::of(row).map_err(anyhow::Error::msg)?;
    webhooks::emit(
        tx,
        webhooks_settings,
        "alert.raised",
        &serde_json::to_value(view)?,
    )
    .await?;
    Ok(Raised::Opened(id))
}

/// Raises each draft in turn.
pub async fn raise_all(
    tx: &mut TenantTx,
    webhooks_settings: &WebhookSettings,
    drafts: Vec<AlertDraft>,
) -> anyhow::Result<Vec<Raised>> {
    let mut raised = Vec::with_capacity(drafts.len());
    for draft in drafts {
        raised.push(raise(tx, webhooks_settings, draft).await?);
    }
    Ok(raised)
}

/// Resolves the unresolved alert with `dedupe_key`, if any, because its cause went away (an
/// escalation was answered): `by` and `note` are recorded, `alert.resolved` is emitted. The
/// write that removed the cause is the audited one.
pub async fn settle(
    tx: &mut TenantTx,
    webhooks_settings: &WebhookSettings,
    dedupe_key: &str,
    by: &str,
    note: String,
) -> anyhow::Result<Option<String>> {
    let Some(mut live) = store::alerts::find_live(tx, dedupe_key).await? else {
        return Ok(None);
    };
    let now = time::now();
    live.status = "resolved".into();
    live.resolved_at = Some(now.clone());
    live.resolved_by = Some(by.to_owned());
    live.resolution_note = Some(note);
    live.updated_at = now;
    store::alerts::update(tx, &live).await?;
    let id = live.id.clone();
    let view = AlertView::of(live).map_err(anyhow::Error::msg)?;
    webhooks::emit(
        tx,
        webhooks_settings,
        "alert.resolved",
        &serde_json::to_value(view)?,
    )
    .await?;
    Ok(Some(id))
}
