//! How a written policy counts in scores (decision 0011, "Policies"): an approved policy whose
//! review is not overdue satisfies the evidence controls it maps to, exactly like fresh,
//! verified evidence linked to them; once its review interval has passed it fails them and says
//! when the review lapsed. Drafts, policies under review and retired policies do not count.

use crate::compliance::{catalog::Control, evidence::applies};
use chrono::{DateTime, Duration, Utc};

/// A policy's published (approved) version, as scoring sees it.
#[derive(Debug, Clone)]
pub struct PublishedPolicy {
    pub key: String,
    pub title: String,
    pub version: i64,
    /// `framework_key:control_id`.
    pub controls: Vec<String>,
    pub approved_at: DateTime<Utc>,
    /// The last approval or periodic review (never before `approved_at`).
    pub reviewed_at: DateTime<Utc>,
    pub review_interval_days: i64,
}

/// Where a published policy stands at a point in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Approved and reviewed within its interval; the next review is due on `due`.
    Current { due: DateTime<Utc> },
    /// The review was due on `due` and has not happened.
    Lapsed { due: DateTime<Utc> },
}

impl PublishedPolicy {
    /// The scoring view of a policy and its published version (as `store` returns them);
    /// `None` for a row whose dates or mapping do not parse (it then counts for nothing).
    pub fn from_store(
        p: &crate::store::compliance_policies::PolicyRow,
        v: &crate::store::compliance_policies::VersionRow,
    ) -> Option<Self> {
        let approved_at = crate::domain::time::parse(p.approved_at.as_deref()?)?;
        let reviewed_at = p
            .reviewed_at
            .as_deref()
            .and_then(crate::domain::time::parse)
            .unwrap_or(approved_at)
            .max(approved_at);
        Some(PublishedPolicy {
            key: p.key.clone(),
            title: v.title.clone(),
            version: v.version,
            controls: serde_json::from_str(&v.controls).ok()?,
            approved_at,
            reviewed_at,
            review_interval_days: v.review_interval_days,
        })
    }

    pub fn due(&self) -> DateTime<Utc> {
        self.reviewed_at + Duration::days(self.review_interval_days)
    }

    /// `None` when the policy was not yet approved at `at` (a trend point before approval).
    pub fn standing(&self, at: DateTime<Utc>) -> Option<Standing> {
        if self.approved_at > at {
            return None;
        }
        let due = self.due();
        Some(if at <= due {
            Standing::Current { due }
        } else {
            Standing::Lapsed { due }
        })
    }

    /// Whether the policy maps to `framework:control`, directly or through the control's
    /// cross-framework mappings (the same rule as linked evidence).
    pub fn covers(&self, framework: &str, control: &Control) -> bool {
        self.controls.iter().any(|mapped| {
            mapped
                .split_once(':')
                .is_some_and(|(fw, id)| applies(id, fw, framework, control))
        })
    }

    /// The sentence a score shows for this policy at `at`.
    pub fn reason(&self, standing: &Standing) -> String {
        match standing {
            Standing::Current { due } => format!(
                "Approved policy '{}' (v{}) is within its {}-day review interval (next review due {})",
                self.title,
                self.version,
                self.review_interval_days,
                due.format("%Y-%m-%d")
            ),
            Standing::Lapsed { due } => format!(
                "Policy '{}' (v{}) review lapsed on {} ({}-day interval): review or re-approve it",
                self.title,
                self.version,
                due.format("%Y-%m-%d"),
                self.review_interval_days
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(approved_days_ago: i64, interval: i64) -> (PublishedPolicy, DateTime<Utc>) {
        let now = Utc::now();
        let approved = now - Duration::days(approved_days_ago);
        (
            PublishedPolicy {
                key: "access-control".into(),
                title: "Access Control Policy".into(),
                version: 2,
                controls: vec!["soc2:CC6.1".into()],
                approved_at: approved,
                reviewed_at: approved,
                review_interval_days: interval,
            },
            now,
        )
    }

    #[test]
    fn a_policy_is_current_until_its_review_is_due_then_lapsed() {
        let (p, now) = policy(10, 365);
        assert!(matches!(p.standing(now), Some(Standing::Current { .. })));
        let (p, now) = policy(400, 365);
        let standing = p.standing(now).expect("approved");
        assert!(matches!(standing, Standing::Lapsed { .. }));
        assert!(p.reason(&standing).contains("review lapsed"));
        // Before its approval the policy does not exist for scoring.
        assert_eq!(p.standing(now - Duration::days(500)), None);
    }

    #[test]
    fn a_review_restarts_the_interval() {
        let (mut p, now) = policy(400, 365);
        p.reviewed_at = now - Duration::days(1);
        assert!(matches!(p.standing(now), Some(Standing::Current { .. })));
    }
}
