//! One subject's history across sources, in one ordered, keyset-paged query: audit entries
//! about it, alerts about it (raised and resolved), lifecycle events, telemetry changes (asset
//! timeline entries) and comments (tickets).

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct TimelineRow {
    pub at: String,
    pub id: String,
    /// `audit`, `alert`, `lifecycle`, `telemetry` or `comment`.
    pub source: String,
    pub event: String,
    pub actor: Option<String>,
    /// A one-line summary or the entry's JSON details, as the source keeps them.
    pub summary: String,
}

/// Entries about `(subject_type, subject_id)` after the cursor, oldest first, at most
/// `limit + 1`. Audit entries are included only when `with_audit` (the caller may read the
/// audit log).
pub async fn entries(
    tx: &mut TenantTx,
    subject: (&str, &str),
    with_audit: bool,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<TimelineRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(
        "SELECT at, id, source, event, actor, summary FROM ( \
           SELECT occurred_at AS at, id, 'audit' AS source, action AS event, \
                  actor_email AS actor, metadata AS summary \
             FROM audit_log WHERE org_id = $1 AND target_type = $2 AND target_id = $3 AND $4 = 1 \
           UNION ALL \
           SELECT first_seen_at, id, 'alert', 'alert.raised', NULL, title \
             FROM alerts WHERE org_id = $1 AND subject_type = $2 AND subject_id = $3 \
           UNION ALL \
           SELECT resolved_at, id, 'alert', 'alert.resolved', resolved_by, title \
             FROM alerts WHERE org_id = $1 AND subject_type = $2 AND subject_id = $3 \
             AND resolved_at IS NOT NULL \
           UNION ALL \
           SELECT occurred_at, id, 'lifecycle', event, actor_email, note \
             FROM lifecycle_events WHERE org_id = $1 AND subject_type = $2 AND subject_id = $3 \
           UNION ALL \
           SELECT occurred_at, id, 'telemetry', kind, COALESCE(actor, agent_id), details \
             FROM asset_events WHERE org_id = $1 AND $2 = 'asset' AND asset_id = $3 \
           UNION ALL \
           SELECT created_at, id, 'comment', 'ticket.commented', author_email, body \
             FROM ticket_comments WHERE org_id = $1 AND $2 = 'ticket' AND ticket_id = $3 \
         ) t WHERE (at > $5 OR (at = $5 AND id > $6)) ORDER BY at, id LIMIT $7",
    )
    .bind(org_id)
    .bind(subject.0.to_owned())
    .bind(subject.1.to_owned())
    .bind(i64::from(with_audit))
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TimelineRow {
                at: r.try_get("at")?,
                id: r.try_get("id")?,
                source: r.try_get("source")?,
                event: r.try_get("event")?,
                actor: r.try_get("actor")?,
                summary: r.try_get("summary")?,
            })
        })
        .collect()
}
