//! The contents of each export kind: read from the store in the caller's read transaction,
//! redacted cell by cell, and laid out as a [`Table`] (columns chosen for an auditor).

use super::redact::Redactor;
use crate::{
    compliance::score::FrameworkScore,
    render::{Column, Table},
    store::{self, TenantTx},
};
use std::collections::BTreeMap;

/// Most audit entries one export holds; a longer period must be split.
pub const MAX_AUDIT_ROWS: i64 = 250_000;

/// The audit log from `since` (inclusive) to `until` (exclusive), in chain order. `Ok(None)`
/// when the period holds more than [`MAX_AUDIT_ROWS`] entries.
pub async fn audit_log(
    tx: &mut TenantTx,
    since: Option<&str>,
    until: Option<&str>,
    r: &mut Redactor,
) -> Result<Option<Table>, sqlx::Error> {
    let rows = store::audit::in_period(tx, since, until, MAX_AUDIT_ROWS + 1).await?;
    if rows.len() as i64 > MAX_AUDIT_ROWS {
        return Ok(None);
    }
    let mut table = Table {
        title: "Audit log".into(),
        columns: vec![
            Column::new("seq", 8).keep(8),
            Column::new("occurred_at", 27).keep(27),
            Column::new("action", 36).keep(36),
            Column::new("actor", 28),
            Column::new("key_id", 36),
            Column::new("ip", 16).keep(16),
            Column::new("target", 36),
            Column::new("metadata", 60),
            Column::new("policy_ids", 24),
            Column::new("hash", 64),
        ],
        ..Table::default()
    };
    table.rows.reserve(rows.len());
    for e in rows {
        let metadata = serde_json::from_str(&e.metadata).unwrap_or(serde_json::Value::Null);
        let policy_ids: Vec<String> = serde_json::from_str(&e.policy_ids).unwrap_or_default();
        table.rows.push(vec![
            e.seq.to_string(),
            e.occurred_at,
            e.action,
            r.actor(e.actor_email.as_deref().unwrap_or("")),
            e.actor_key_id.unwrap_or_default(),
            r.ip(e.ip.as_deref().unwrap_or("")),
            r.text(&format!(
                "{}:{}",
                e.target_type.unwrap_or_default(),
                e.target_id.unwrap_or_default()
            )),
            r.json(&metadata).to_string(),
            policy_ids.join(" "),
            e.hash,
        ]);
    }
    Ok(Some(table))
}

/// Every verified evidence record, newest first, with the controls it is linked to.
pub async fn evidence_register(tx: &mut TenantTx, r: &mut Redactor) -> Result<Table, sqlx::Error> {
    let mut linked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (lineage, evidence) in store::evidence::all_links(tx).await? {
        if let Some(e) = evidence {
            let control = match lineage.framework_id.as_str() {
                "" => lineage.control_id,
                fw => format!("{fw}:{}", lineage.control_id),
            };
            let controls = linked.entry(e.id).or_default();
            if !controls.contains(&control) {
                controls.push(control);
            }
        }
    }
    let records = store::evidence::list(tx, None, i64::MAX, 0).await?;
    let mut table = Table {
        title: "Evidence register".into(),
        columns: vec![
            Column::new("evidence_id", 36),
            Column::new("filename", 40),
            Column::new("content_type", 24),
            Column::new("size_bytes", 12),
            Column::new("sha256", 64),
            Column::new("verified_at", 27).keep(27),
            Column::new("uploaded_by", 28),
            Column::new("effective_date", 27).keep(27),
            Column::new("expires_at", 27).keep(27),
            Column::new("linked_controls", 40),
        ],
        ..Table::default()
    };
    for e in records {
        let controls = linked.remove(&e.id).unwrap_or_default().join(" ");
        table.rows.push(vec![
            e.id,
            r.text(&e.filename),
            e.content_type,
            e.size.to_string(),
            e.sha256,
            e.verified_at,
            r.actor(&e.uploaded_by),
            e.effective_date,
            e.expires_at.unwrap_or_default(),
            controls,
        ]);
    }
    Ok(table)
}

/// Every compliance policy of the org, by key.
pub async fn policy_register(tx: &mut TenantTx, r: &mut Redactor) -> Result<Table, sqlx::Error> {
    let policies = store::compliance_policies::all(tx).await?;
    let mut table = Table {
        title: "Policy register".into(),
        columns: vec![
            Column::new("key", 32),
            Column::new("title", 40),
            Column::new("status", 10),
            Column::new("latest_version", 8),
            Column::new("published_version", 8),
            Column::new("approved_at", 27).keep(27),
            Column::new("approved_by", 28),
            Column::new("reviewed_at", 27).keep(27),
            Column::new("review_interval_days", 6),
            Column::new("controls", 60),
        ],
        ..Table::default()
    };
    for p in policies {
        let controls: Vec<String> = serde_json::from_str(&p.controls).unwrap_or_default();
        table.rows.push(vec![
            p.key,
            r.text(&p.title),
            p.status,
            p.latest_version.to_string(),
            p.published_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            p.approved_at.unwrap_or_default(),
            r.actor(p.approved_by.as_deref().unwrap_or("")),
            p.reviewed_at.unwrap_or_default(),
            p.review_interval_days.to_string(),
            controls.join(" "),
        ]);
    }
    Ok(table)
}

/// One framework's controls as scored for a repository.
pub fn control_status(framework: &FrameworkScore, r: &mut Redactor) -> Table {
    let mut table = Table {
        title: format!("Control status: {}", framework.name),
        columns: vec![
            Column::new("control_id", 14).keep(14),
            Column::new("name", 36),
            Column::new("category", 20),
            Column::new("check_type", 14),
            Column::new("status", 14).keep(14),
            Column::new("score", 5),
            Column::new("findings", 8),
            Column::new("reason", 70),
        ],
        ..Table::default()
    };
    for c in &framework.controls {
        let status = serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        table.rows.push(vec![
            c.id.clone(),
            c.name.clone(),
            c.category.clone(),
            c.check_type.clone(),
            status,
            c.score.to_string(),
            c.finding_count.to_string(),
            r.text(&c.reason),
        ]);
    }
    table
}
