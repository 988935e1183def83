//! Tickets, their comments (append-only) and their links.

use super::{StoreResult, TenantTx};
use crate::domain::page::Cursor;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone)]
pub struct TicketRow {
    pub id: String,
    pub number: i64,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
    pub assignee_user_id: Option<String>,
    pub created_by: Option<String>,
    pub created_by_email: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, number, title, description, status, priority, assignee_user_id, \
    created_by, created_by_email, created_at, updated_at";

fn from_row(r: &AnyRow) -> StoreResult<TicketRow> {
    Ok(TicketRow {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        status: r.try_get("status")?,
        priority: r.try_get("priority")?,
        assignee_user_id: r.try_get("assignee_user_id")?,
        created_by: r.try_get("created_by")?,
        created_by_email: r.try_get("created_by_email")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The next ticket number of the org (the caller holds the org write lock).
pub async fn next_number(tx: &mut TenantTx) -> StoreResult<i64> {
    let org_id = tx.org_id().to_owned();
    let n: Option<i64> = sqlx::query("SELECT MAX(number) AS n FROM tickets WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
    Ok(n.unwrap_or(0) + 1)
}

pub async fn insert(tx: &mut TenantTx, t: &TicketRow) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO tickets (org_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12)"
    ))
    .bind(tx.org_id().to_owned())
    .bind(&t.id)
    .bind(t.number)
    .bind(&t.title)
    .bind(&t.description)
    .bind(&t.status)
    .bind(&t.priority)
    .bind(&t.assignee_user_id)
    .bind(&t.created_by)
    .bind(&t.created_by_email)
    .bind(&t.created_at)
    .bind(&t.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn find(tx: &mut TenantTx, id: &str) -> StoreResult<Option<TicketRow>> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn update(tx: &mut TenantTx, t: &TicketRow) -> StoreResult<()> {
    let org_id = tx.org_id().to_owned();
    sqlx::query(
        "UPDATE tickets SET title = $1, description = $2, status = $3, priority = $4, \
         assignee_user_id = $5, updated_at = $6 WHERE org_id = $7 AND id = $8",
    )
    .bind(&t.title)
    .bind(&t.description)
    .bind(&t.status)
    .bind(&t.priority)
    .bind(&t.assignee_user_id)
    .bind(&t.updated_at)
    .bind(org_id)
    .bind(&t.id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub priority: Option<String>,
}

/// Newest first by `(created_at, id)`, after the cursor.
pub async fn list(
    tx: &mut TenantTx,
    f: &TicketFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> StoreResult<Vec<TicketRow>> {
    let org_id = tx.org_id().to_owned();
    let (at, id) = after
        .map(|c| (c.at.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE org_id = $1 AND ($2 = '' OR status = $2) \
         AND ($3 = '' OR assignee_user_id = $3) AND ($4 = '' OR priority = $4) \
         AND ($5 = '' OR created_at < $5 OR (created_at = $5 AND id < $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(f.status.clone().unwrap_or_default())
    .bind(f.assignee.clone().unwrap_or_default())
    .bind(f.priority.clone().unwrap_or_default())
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

#[derive(Debug, Clone)]
pub struct CommentRow {
    pub id: String,
    pub ticket_id: String,
    pub author_id: Option<String>,
    pub author_email: String,
    pub body: String,
    pub created_at: String,
}

pub async fn insert_comment(tx: &mut TenantTx, c: &CommentRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ticket_comments (org_id, id, ticket_id, author_id, author_email, body, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.org_id().to_owned())
    .bind(&c.id)
    .bind(&c.ticket_id)
    .bind(&c.author_id)
    .bind(&c.author_email)
    .bind(&c.body)
    .bind(&c.created_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A ticket's comments, oldest first.
pub async fn comments(tx: &mut TenantTx, ticket_id: &str) -> StoreResult<Vec<CommentRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT id, ticket_id, author_id, author_email, body, created_at FROM ticket_comments \
         WHERE org_id = $1 AND ticket_id = $2 ORDER BY created_at, id",
    )
    .bind(org_id)
    .bind(ticket_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CommentRow {
                id: r.try_get("id")?,
                ticket_id: r.try_get("ticket_id")?,
                author_id: r.try_get("author_id")?,
                author_email: r.try_get("author_email")?,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct LinkRow {
    pub ticket_id: String,
    pub target_type: String,
    pub target_id: String,
    pub created_by: String,
    pub created_at: String,
}

/// Adds a link; false when it already existed (one statement: concurrent adds of the same
/// link cannot both insert).
pub async fn insert_link(tx: &mut TenantTx, l: &LinkRow) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "INSERT INTO ticket_links (org_id, ticket_id, target_type, target_id, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (ticket_id, target_type, target_id) DO NOTHING",
    )
    .bind(org_id)
    .bind(&l.ticket_id)
    .bind(&l.target_type)
    .bind(&l.target_id)
    .bind(&l.created_by)
    .bind(&l.created_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a link; false when there was none.
pub async fn delete_link(
    tx: &mut TenantTx,
    ticket_id: &str,
    target_type: &str,
    target_id: &str,
) -> StoreResult<bool> {
    let org_id = tx.org_id().to_owned();
    let done = sqlx::query(
        "DELETE FROM ticket_links WHERE org_id = $1 AND ticket_id = $2 AND target_type = $3 \
         AND target_id = $4",
    )
    .bind(org_id)
    .bind(ticket_id)
    .bind(target_type)
    .bind(target_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn links(tx: &mut TenantTx, ticket_id: &str) -> StoreResult<Vec<LinkRow>> {
    let org_id = tx.org_id().to_owned();
    let rows = sqlx::query(
        "SELECT ticket_id, target_type, target_id, created_by, created_at FROM ticket_links \
         WHERE org_id = $1 AND ticket_id = $2 ORDER BY created_at, target_type, target_id",
    )
    .bind(org_id)
    .bind(ticket_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LinkRow {
                ticket_id: r.try_get("ticket_id")?,
                target_type: r.try_get("target_type")?,
                target_id: r.try_get("target_id")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
