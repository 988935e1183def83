//! The lifecycle of a compliance policy: draft → in review → approved → retired.
//!
//! The state is the state of the policy's latest version (or `retired` for the whole policy).
//! Approving freezes the latest version and publishes it. Editing never touches a frozen
//! version: it adds a new draft version, and the published one stays published until the new
//! one is approved. Approving an already published latest version again records a periodic
//! review, which restarts the review interval without a new version.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CompliancePolicyStatus)]
pub enum Status {
    Draft,
    InReview,
    Approved,
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in_review",
            Status::Approved => "approved",
            Status::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Draft,
            Status::InReview,
            Status::Approved,
            Status::Retired,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// What a requested transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// draft → in_review
    Submit,
    /// in_review → draft (changes requested, or the author withdraws it)
    ReturnToDraft,
    /// in_review → approved: the latest version is frozen and published.
    Approve,
    /// approved → approved: the published version was reviewed and stays.
    Review,
    /// any → retired: the policy stops counting and becomes read-only.
    Retire,
}

impl Change {
    /// The audit action and lifecycle event name.
    pub fn event(self) -> &'static str {
        match self {
            Change::Submit => "COMPLIANCE_POLICY_SUBMITTED",
            Change::ReturnToDraft => "COMPLIANCE_POLICY_RETURNED_TO_DRAFT",
            Change::Approve => "COMPLIANCE_POLICY_APPROVED",
            Change::Review => "COMPLIANCE_POLICY_REVIEWED",
            Change::Retire => "COMPLIANCE_POLICY_RETIRED",
        }
    }

    /// Approving and reviewing are decisions for owners and admins; the rest is authoring.
    pub fn is_approval(self) -> bool {
        matches!(self, Change::Approve | Change::Review | Change::Retire)
    }
}

/// The change that moves a policy in `current` to `to`, or why it cannot.
pub fn transition(current: Status, to: Status) -> Result<Change, String> {
    use Status::*;
    match (current, to) {
        (Retired, _) => Err("the policy is retired and read-only".into()),
        (Draft, InReview) => Ok(Change::Submit),
        (InReview, Draft) => Ok(Change::ReturnToDraft),
        (InReview, Approved) => Ok(Change::Approve),
        (Approved, Approved) => Ok(Change::Review),
        (_, Retired) => Ok(Change::Retire),
        (Draft, Approved) => Err(
            "a draft cannot be approved directly: submit it for review (to: in_review) first"
                .into(),
        ),
        (from, to) => Err(format!(
            "a policy cannot go from {} to {}",
            from.as_str(),
            to.as_str()
        )),
    }
}

/// Whether a policy in `current` may be edited (an edit adds a new draft version).
pub fn editable(current: Status) -> Result<(), String> {
    match current {
        Status::Retired => Err("the policy is retired and read-only".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Status::*, *};

    #[test]
    fn the_documented_path_is_allowed() {
        assert_eq!(transition(Draft, InReview), Ok(Change::Submit));
        assert_eq!(transition(InReview, Approved), Ok(Change::Approve));
        assert_eq!(transition(Approved, Approved), Ok(Change::Review));
        assert_eq!(transition(InReview, Draft), Ok(Change::ReturnToDraft));
        for from in [Draft, InReview, Approved] {
            assert_eq!(transition(from, Retired), Ok(Change::Retire));
        }
    }

    #[test]
    fn shortcuts_and_retired_policies_are_refused() {
        assert!(transition(Draft, Approved).is_err_and(|e| e.contains("submit")));
        assert!(transition(Draft, Draft).is_err());
        assert!(transition(Approved, InReview).is_err());
        for to in [Draft, InReview, Approved, Retired] {
            assert!(transition(Retired, to).is_err());
        }
        assert!(editable(Retired).is_err());
        assert!(editable(Approved).is_ok());
    }

    #[test]
    fn statuses_round_trip() {
        for s in [Draft, InReview, Approved, Retired] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("published"), None);
    }
}
