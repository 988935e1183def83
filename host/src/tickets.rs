//! Internal tickets: work items created by hand or from an alert, with comments and links to
//! what they are about. Statuses move freely between `open`, `in_progress`, `resolved` and
//! `closed` (a closed ticket is reopened by setting it back to `open`).

use crate::alerting::{Severity, SubjectType};
use crate::store::tickets::{CommentRow, LinkRow, TicketRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            TicketStatus::Open,
            TicketStatus::InProgress,
            TicketStatus::Resolved,
            TicketStatus::Closed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// What a ticket may link to (a ticket links to other tickets too).
pub const LINKABLE: [SubjectType; 7] = SubjectType::ALL;

/// A ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketView {
    pub id: String,
    /// Per-org sequence number (`#12`).
    pub number: i64,
    pub title: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Severity,
    /// The member (user id) working on it.
    pub assignee: Option<String>,
    pub created_by: Option<String>,
    pub created_by_email: String,
    pub created_at: String,
    pub updated_at: String,
}

impl TicketView {
    pub fn of(t: TicketRow) -> Result<Self, String> {
        let corrupt = |what: &str| format!("ticket {} has a corrupt {what}", t.id);
        Ok(TicketView {
            status: TicketStatus::parse(&t.status).ok_or_else(|| corrupt("status"))?,
            priority: Severity::parse(&t.priority).ok_or_else(|| corrupt("priority"))?,
            id: t.id,
            number: t.number,
            title: t.title,
            description: t.description,
            assignee: t.assignee_user_id,
            created_by: t.created_by,
            created_by_email: t.created_by_email,
            created_at: t.created_at,
            updated_at: t.updated_at,
        })
    }
}

/// A comment on a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub author_id: Option<String>,
    pub author_email: String,
    pub body: String,
    pub created_at: String,
}

impl From<CommentRow> for CommentView {
    fn from(c: CommentRow) -> Self {
        CommentView {
            id: c.id,
            author_id: c.author_id,
            author_email: c.author_email,
            body: c.body,
            created_at: c.created_at,
        }
    }
}

/// A link from a ticket to what it is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TicketLink)]
pub struct LinkView {
    pub target_type: SubjectType,
    pub target_id: String,
    pub created_by: String,
    pub created_at: String,
}

impl LinkView {
    pub fn of(l: LinkRow) -> Result<Self, String> {
        Ok(LinkView {
            target_type: SubjectType::parse(&l.target_type).ok_or_else(|| {
                format!("ticket link has a corrupt target_type {}", l.target_type)
            })?,
            target_id: l.target_id,
            created_by: l.created_by,
            created_at: l.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in ["open", "in_progress", "resolved", "closed"] {
            assert_eq!(TicketStatus::parse(s).map(|v| v.as_str()), Some(s));
        }
        assert_eq!(TicketStatus::parse("done"), None);
    }
}
