//! Just-in-time SSH sessions (issue 19, seed 003, contract-only): the rules of a session
//! request, free of HTTP and SQL. A request names an asset, a reason and a duration; someone
//! other than the requester approves or rejects it (Cedar's `guard.ssh_no_self_approval`
//! enforces "someone else"); an approved session lasts `duration` from its approval. Nothing is
//! ever stored as `expired`: a pending request past its TTL, or an approved session past its
//! end, reads as expired, computed from timestamps on every read (docs/decisions/0026).

pub mod settings;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use settings::SshSettings;
use utoipa::ToSchema;

/// The 403 detail when someone tries to approve or reject their own request (Cedar's
/// `guard.ssh_no_self_approval`).
pub const SELF_APPROVAL_REFUSED: &str =
    "someone else must approve your request: nobody approves or rejects their own SSH session";

/// A session's state as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SshSessionStatus)]
pub enum Status {
    /// Waiting for someone else to approve or reject it.
    Pending,
    /// Approved and not yet past `expires_at`.
    Approved,
    Rejected,
    /// Withdrawn by the requester (or an owner/admin) before it ended.
    Cancelled,
    /// A request nobody answered in time, or an approved session past its end.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }
}

/// The state a session is in at `now`, from what is stored: the decided `stored` status, when a
/// pending request lapses and when an approved session ends (all canonical RFC 3339 text, which
/// compares correctly as strings).
pub fn effective_status(
    stored: &str,
    request_expires_at: &str,
    expires_at: Option<&str>,
    now: &str,
) -> Status {
    match stored {
        "pending" if request_expires_at <= now => Status::Expired,
        "pending" => Status::Pending,
        "approved" if expires_at.is_none_or(|end| end <= now) => Status::Expired,
        "approved" => Status::Approved,
        "rejected" => Status::Rejected,
        // Only `cancelled` is left; an unknown value is treated as over, never as usable.
        _ => Status::Cancelled,
    }
}

/// Something a person does to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Reject,
    Cancel,
    Connect,
}

impl Step {
    fn verb(self) -> &'static str {
        match self {
            Step::Approve => "approved",
            Step::Reject => "rejected",
            Step::Cancel => "cancelled",
            Step::Connect => "used to connect",
        }
    }

    /// The states the step applies to.
    fn applies_to(self) -> &'static [Status] {
        match self {
            Step::Approve | Step::Reject => &[Status::Pending],
            Step::Cancel => &[Status::Pending, Status::Approved],
            Step::Connect => &[Status::Approved],
        }
    }
}

/// A step refused because of the session's state (a 409 naming it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongState {
    pub status: Status,
    pub message: String,
}

/// Whether `step` may be taken on a session that is `current`.
pub fn check_step(step: Step, current: Status) -> Result<(), WrongState> {
    if step.applies_to().contains(&current) {
        return Ok(());
    }
    let allowed: Vec<&str> = step.applies_to().iter().map(|s| s.as_str()).collect();
    Err(WrongState {
        status: current,
        message: format!(
            "this session is {}; only a {} session can be {}",
            current.as_str(),
            allowed.join(" or "),
            step.verb()
        ),
    })
}

/// When an approved session ends: `duration_minutes` after its approval.
pub fn session_end(approved_at: DateTime<Utc>, duration_minutes: i64) -> DateTime<Utc> {
    approved_at + Duration::minutes(duration_minutes)
}

/// When a request made at `requested_at` lapses unanswered.
pub fn request_deadline(requested_at: DateTime<Utc>, settings: &SshSettings) -> DateTime<Utc> {
    let ttl = i64::try_from(settings.request_ttl_secs).unwrap_or(i64::MAX / 1000);
    requested_at + Duration::seconds(ttl.clamp(1, 366 * 24 * 3600))
}

/// A field that failed validation: its name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub msg: String,
}

fn invalid(field: &'static str, msg: impl Into<String>) -> Invalid {
    Invalid {
        field,
        msg: msg.into(),
    }
}

/// Longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
/// Shortest reason, in characters (after trimming): "fix" is not a justification.
pub const MIN_REASON_CHARS: usize = 3;
/// Longest decision or cancellation note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Longest unix login name (the common `LOGIN_NAME_MAX`-safe limit of useradd).
pub const MAX_LOGIN_CHARS: usize = 32;

/// A session request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    pub reason: String,
    pub duration_minutes: i64,
    pub login: Option<String>,
}

/// Checks a request's fields: a reason of 3–1000 characters with no control characters other
/// than tabs and line breaks, a duration within the configured bounds (the default when absent)
/// and an optional unix login name.
pub fn validate_request(
    reason: &str,
    duration_minutes: Option<i64>,
    login: Option<&str>,
    settings: &SshSettings,
) -> Result<ValidRequest, Invalid> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if chars < MIN_REASON_CHARS {
        return Err(invalid(
            "reason",
            format!("say why you need access (at least {MIN_REASON_CHARS} characters)"),
        ));
    }
    if chars > MAX_REASON_CHARS {
        return Err(invalid(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        ));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(invalid("reason", "control characters are not allowed"));
    }
    let min = settings.min_duration_minutes.max(1);
    let max = settings.max_duration_minutes.max(min);
    let duration = duration_minutes.unwrap_or(settings.default_duration_minutes.clamp(min, max));
    if !(min..=max).contains(&duration) {
        return Err(invalid(
            "requested_duration_minutes",
            format!("must be between {min} and {max} minutes"),
        ));
    }
    let login = login.map(validate_login).transpose()?;
    Ok(ValidRequest {
        reason: reason.to_owned(),
        duration_minutes: duration,
        login,
    })
}

/// A unix login name as `useradd` accepts by default (`NAME_REGEX`): a lower-case letter or
/// underscore, then lower-case letters, digits, underscores and dashes, at most 32 characters.
pub fn validate_login(login: &str) -> Result<String, Invalid> {
    let mut chars = login.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !first_ok || !rest_ok || login.len() > MAX_LOGIN_CHARS {
        return Err(invalid(
            "login",
            format!("a unix user name: [a-z_][a-z0-9_-]*, at most {MAX_LOGIN_CHARS} characters"),
        ));
    }
    Ok(login.to_owned())
}

/// Checks an approval, rejection or cancellation note (optional, bounded).
pub fn validate_note(note: &str) -> Result<String, Invalid> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(invalid(
            "note",
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(note.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    const NOW: &str = "2026-12-06T10:00:00.000000Z";
    const EARLIER: &str = "2026-12-06T09:00:00.000000Z";
    const LATER: &str = "2026-12-06T11:00:00.000000Z";

    #[test]
    fn pending_requests_lapse_after_their_ttl() {
        assert_eq!(
            effective_status("pending", LATER, None, NOW),
            Status::Pending
        );
        assert_eq!(
            effective_status("pending", EARLIER, None, NOW),
            Status::Expired
        );
        assert_eq!(effective_status("pending", NOW, None, NOW), Status::Expired);
    }

    #[test]
    fn approved_sessions_end_at_their_expiry() {
        assert_eq!(
            effective_status("approved", EARLIER, Some(LATER), NOW),
            Status::Approved
        );
        assert_eq!(
            effective_status("approved", EARLIER, Some(EARLIER), NOW),
            Status::Expired
        );
        // An approval without an end is never usable.
        assert_eq!(
            effective_status("approved", LATER, None, NOW),
            Status::Expired
        );
        assert_eq!(
            effective_status("rejected", LATER, None, NOW),
            Status::Rejected
        );
        assert_eq!(
            effective_status("cancelled", LATER, Some(LATER), NOW),
            Status::Cancelled
        );
    }

    #[test]
    fn steps_apply_only_to_their_states() {
        assert!(check_step(Step::Approve, Status::Pending).is_ok());
        assert!(check_step(Step::Reject, Status::Pending).is_ok());
        let refused = check_step(Step::Approve, Status::Approved).expect_err("decided");
        assert_eq!(refused.status, Status::Approved);
        assert!(
            refused.message.contains("is approved"),
            "{}",
            refused.message
        );
        assert!(check_step(Step::Reject, Status::Expired).is_err());
        assert!(check_step(Step::Cancel, Status::Pending).is_ok());
        assert!(check_step(Step::Cancel, Status::Approved).is_ok());
        assert!(check_step(Step::Cancel, Status::Rejected).is_err());
        assert!(check_step(Step::Cancel, Status::Expired).is_err());
        assert!(check_step(Step::Connect, Status::Approved).is_ok());
        for s in [
            Status::Pending,
            Status::Rejected,
            Status::Cancelled,
            Status::Expired,
        ] {
            assert!(check_step(Step::Connect, s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn sessions_end_their_duration_after_approval() {
        let approved = time::parse(NOW).expect("time");
        assert_eq!(time::format(session_end(approved, 60)), LATER);
        let settings = SshSettings {
            request_ttl_secs: 3600,
            ..SshSettings::default()
        };
        assert_eq!(time::format(request_deadline(approved, &settings)), LATER);
    }

    #[test]
    fn requests_are_validated_and_defaulted() {
        let s = SshSettings::default();
        let ok =
            validate_request("  rotate the TLS cert  ", None, Some("deploy"), &s).expect("valid");
        assert_eq!(ok.reason, "rotate the TLS cert");
        assert_eq!(ok.duration_minutes, 60);
        assert_eq!(ok.login.as_deref(), Some("deploy"));
        assert_eq!(
            validate_request("ok!", Some(4), None, &s).map_err(|e| e.field),
            Err("requested_duration_minutes")
        );
        assert_eq!(
            validate_request("ok!", Some(481), None, &s).map_err(|e| e.field),
            Err("requested_duration_minutes")
        );
        assert!(validate_request("ok!", Some(480), None, &s).is_ok());
        assert_eq!(
            validate_request("  ", None, None, &s).map_err(|e| e.field),
            Err("reason")
        );
        assert_eq!(
            validate_request(&"x".repeat(1001), None, None, &s).map_err(|e| e.field),
            Err("reason")
        );
        assert_eq!(
            validate_request("bad\u{7}bell", None, None, &s).map_err(|e| e.field),
            Err("reason")
        );
    }

    #[test]
    fn logins_are_unix_user_names() {
        for good in ["root", "_svc", "deploy-bot", "a1_b2"] {
            assert!(validate_login(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Root",
            "1abc",
            "-x",
            "a b",
            "a;rm -rf",
            "ä",
            &"a".repeat(33),
        ] {
            assert!(validate_login(bad).is_err(), "{bad}");
        }
        assert!(validate_note(&"n".repeat(2001)).is_err());
        assert_eq!(validate_note(" ok ").as_deref(), Ok("ok"));
    }
}
