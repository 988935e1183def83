//! Runtime governance of automation agents (issue 12, seed 001): the connectors catalog, each
//! agent's declared configuration, Cedar decisions on every connector call (PERMIT, ESCALATE,
//! DENY), escalations that wait for a human, and the hash-chained action trail with drift.
//! Compliance packages (`crate::packages`) are made from what this module records. See
//! docs/decisions/0022.

pub mod connectors;
pub mod declaration;
pub mod policy;
pub mod settings;
pub mod trail;

pub use policy::{CallFacts, RuntimeEngine, Verdict};

/// A decision's state: a PERMIT is `permitted`, a DENY `denied`; an ESCALATE is `pending` until
/// someone `approved` or `rejected` it. A pending decision past its expiry reads as `expired`
/// (final verdict DENY).
pub fn effective_status(status: &str, expires_at: Option<&str>, now: &str) -> &'static str {
    match status {
        "permitted" => "permitted",
        "approved" => "approved",
        "rejected" => "rejected",
        "pending" if expires_at.is_some_and(|at| at <= now) => "expired",
        "pending" => "pending",
        _ => "denied",
    }
}

/// What the agent may do now under a decision in `status` (from [`effective_status`]).
pub fn outcome_verdict(status: &str) -> Verdict {
    match status {
        "permitted" | "approved" => Verdict::Permit,
        "pending" => Verdict::Escalate,
        _ => Verdict::Deny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_escalation_expires_as_deny() {
        let now = "2026-04-10T17:00:00.000000Z";
        assert_eq!(
            effective_status("pending", Some("2026-04-10T17:05:00.000000Z"), now),
            "pending"
        );
        assert_eq!(
            effective_status("pending", Some("2026-04-10T16:55:00.000000Z"), now),
            "expired"
        );
        assert_eq!(outcome_verdict("expired"), Verdict::Deny);
        assert_eq!(outcome_verdict("approved"), Verdict::Permit);
        assert_eq!(outcome_verdict("pending"), Verdict::Escalate);
        assert_eq!(outcome_verdict("rejected"), Verdict::Deny);
    }
}
