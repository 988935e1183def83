//! What a just-in-time SSH session looks like through the API: the decided state with the
//! expiry applied, the people involved, and the contract-only parts a broker will fill
//! (`recording`, `command_log`, `broker`), empty until one exists.

use crate::{
    ssh::{self, Status},
    store::ssh_sessions::SshSessionRow,
};
use serde::Serialize;
use utoipa::ToSchema;

/// A person as a session names them.
#[derive(Serialize, ToSchema)]
pub struct SshSessionPerson {
    pub user_id: String,
    pub email: String,
}

/// Where a session's recording stands. Only `unavailable` occurs until a broker exists.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum SshRecordingStatus {
    /// No broker records sessions on this server.
    Unavailable,
    /// A broker is recording the session now.
    Recording,
    /// The recording is stored at `uri` with digest `sha256`.
    Available,
}

/// The session's recording. Sessions must be recorded (`required`); the broker that would
/// record them does not exist yet, so `uri` and `sha256` stay null.
#[derive(Serialize, ToSchema)]
pub struct SshSessionRecording {
    pub required: bool,
    pub status: SshRecordingStatus,
    /// Where the recording is stored (a broker's recording store).
    pub uri: Option<String>,
    /// Hex SHA-256 of the recording.
    pub sha256: Option<String>,
}

/// One command run in the session, as a broker would log it.
#[derive(Serialize, ToSchema)]
pub struct SshCommandLogEntry {
    /// When the command was run (RFC 3339 UTC).
    pub at: String,
    pub command: String,
    /// Null while the command runs or when the broker could not tell.
    pub exit_code: Option<i32>,
}

/// The SSH broker behind `connect`.
#[derive(Serialize, ToSchema)]
pub struct SshBrokerState {
    /// False: this server has no SSH broker, and `connect` answers 501.
    pub configured: bool,
}

/// A just-in-time SSH session.
#[derive(Serialize, ToSchema)]
pub struct SshSessionView {
    pub id: String,
    /// The asset (host) the session is for.
    pub asset_id: String,
    /// The unix user to log in as, when the request named one.
    pub login: Option<String>,
    pub reason: String,
    pub requested_duration_minutes: i64,
    /// As of this answer: a request nobody answered in time, or an approved session past
    /// `expires_at`, is `expired`.
    pub status: Status,
    pub requester: SshSessionPerson,
    /// Who approved it (null unless it was approved).
    pub approver: Option<SshSessionPerson>,
    /// Who approved or rejected it.
    pub decided_by: Option<SshSessionPerson>,
    pub decision_note: Option<String>,
    pub requested_at: String,
    /// When a still-pending request lapses (`GRC_SSH__REQUEST_TTL_SECS` after the request).
    pub request_expires_at: String,
    pub decided_at: Option<String>,
    pub approved_at: Option<String>,
    /// When an approved session ends: `approved_at` + the requested duration.
    pub expires_at: Option<String>,
    /// Email of whoever cancelled it.
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<String>,
    pub recording: SshSessionRecording,
    /// Commands run in the session, oldest first; empty until a broker exists.
    pub command_log: Vec<SshCommandLogEntry>,
    pub broker: SshBrokerState,
}

pub fn session_view(row: SshSessionRow, now: &str) -> SshSessionView {
    let status = ssh::effective_status(
        &row.status,
        &row.request_expires_at,
        row.expires_at.as_deref(),
        now,
    );
    let decided_by = row
        .decided_by_user_id
        .zip(row.decided_by)
        .map(|(user_id, email)| SshSessionPerson { user_id, email });
    // Only an approval sets `expires_at`, so it tells an approval from a rejection even after
    // the session was cancelled or ended.
    let approved = row.expires_at.is_some();
    let approver = decided_by
        .as_ref()
        .filter(|_| approved)
        .map(|p| SshSessionPerson {
            user_id: p.user_id.clone(),
            email: p.email.clone(),
        });
    SshSessionView {
        id: row.id,
        asset_id: row.asset_id,
        login: row.login,
        reason: row.reason,
        requested_duration_minutes: row.duration_minutes,
        status,
        requester: SshSessionPerson {
            user_id: row.requested_by_user_id,
            email: row.requested_by,
        },
        approver,
        decided_by,
        decision_note: row.decision_note,
        requested_at: row.requested_at,
        request_expires_at: row.request_expires_at,
        approved_at: row.decided_at.clone().filter(|_| approved),
        decided_at: row.decided_at,
        expires_at: row.expires_at,
        cancelled_by: row.cancelled_by,
        cancelled_at: row.cancelled_at,
        recording: SshSessionRecording {
            required: true,
            status: SshRecordingStatus::Unavailable,
            uri: None,
            sha256: None,
        },
        command_log: Vec::new(),
        broker: SshBrokerState { configured: false },
    }
}
