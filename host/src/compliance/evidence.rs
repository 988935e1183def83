//! How `evidence` controls are satisfied: by fresh, verified evidence linked to the control or
//! to a control it maps to (cross-framework mapping: one artifact satisfies every mapped
//! requirement). Evaluated by the host from the evidence lineage; no scan is involved.
//!
//! At a point in time `at`, a link counts when its object was verified, its `effective_date` is
//! not after `at`, it is at most `max_age_days` old (control param, default 365) and it has not
//! expired (`expires_at` after `at`). With such a link the control passes; with only stale,
//! expired or unverified links it fails (with the reason); with no link at all it is
//! `not_applicable`, so unautomated controls nobody has collected evidence for do not drag the
//! score to zero.
//!
//! Written policies count the same way (`governance::standing`): an approved policy within its
//! review interval that maps to the control passes it; a lapsed one fails it with the date the
//! review lapsed, unless fresh evidence passes it anyway.

use super::catalog::Control;
use crate::{
    domain::time,
    governance::standing::{PublishedPolicy, Standing},
    plugins::model::OutcomeStatus,
    store::evidence::{Evidence, Lineage},
};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// How long evidence counts when the control sets no `max_age_days`.
pub const DEFAULT_MAX_AGE_DAYS: i64 = 365;

struct Link {
    framework_id: String,
    verified: Option<Verified>,
}

struct Verified {
    filename: String,
    sha256: String,
    effective: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
}

/// Whether a link to `linked_control` (in `linked_framework`, `""` = any) applies to
/// `framework:control`: directly, by id without a framework, or through a mapping.
pub fn applies(
    linked_control: &str,
    linked_framework: &str,
    framework: &str,
    control: &Control,
) -> bool {
    let direct = std::iter::once((framework, control.id.as_str()));
    let mapped = control.maps_to.iter().filter_map(|m| m.split_once(':'));
    direct.chain(mapped).any(|(fw, id)| {
        id == linked_control && (linked_framework.is_empty() || linked_framework == fw)
    })
}

/// The org's evidence links, by control id.
#[derive(Default)]
pub struct EvidenceIndex {
    by_control: HashMap<String, Vec<Link>>,
    policies: Vec<PublishedPolicy>,
}

impl EvidenceIndex {
    pub fn new(links: Vec<(Lineage, Option<Evidence>)>) -> Self {
        let mut by_control: HashMap<String, Vec<Link>> = HashMap::new();
        for (lineage, evidence) in links {
            let verified = evidence.and_then(|e| {
                Some(Verified {
                    effective: time::parse(&e.effective_date)?,
                    expires: e.expires_at.as_deref().and_then(time::parse),
                    filename: e.filename,
                    sha256: e.sha256,
                })
            });
            by_control
                .entry(lineage.control_id)
                .or_default()
                .push(Link {
                    framework_id: lineage.framework_id,
                    verified,
                });
        }
        EvidenceIndex {
            by_control,
            policies: Vec::new(),
        }
    }

    /// The org's published policies count too.
    pub fn with_policies(mut self, policies: Vec<PublishedPolicy>) -> Self {
        self.policies = policies;
        self
    }

    /// The best standing among published policies covering the control at `at`: a current
    /// one if any, else the most recently lapsed.
    fn policy_outcome(
        &self,
        framework: &str,
        control: &Control,
        at: DateTime<Utc>,
    ) -> Option<(OutcomeStatus, String)> {
        let mut lapsed: Option<(DateTime<Utc>, String)> = None;
        for policy in self
            .policies
            .iter()
            .filter(|p| p.covers(framework, control))
        {
            match policy.standing(at) {
                Some(s @ Standing::Current { .. }) => {
                    return Some((OutcomeStatus::Pass, policy.reason(&s)));
                }
                Some(s @ Standing::Lapsed { due })
                    if lapsed.as_ref().is_none_or(|(d, _)| due > *d) =>
                {
                    lapsed = Some((due, policy.reason(&s)));
                }
                Some(Standing::Lapsed { .. }) | None => {}
            }
        }
        lapsed.map(|(_, reason)| (OutcomeStatus::Fail, reason))
    }

    /// Links that apply to `framework:control`: linked to it directly, or without a framework
    /// to its id, or to a control it maps to.
    fn links_for<'a>(
        &'a self,
        framework: &'a str,
        control: &'a Control,
    ) -> impl Iterator<Item = &'a Link> + 'a {
        // Each candidate id once (a mapped control may share the control's id), filtered by the
        // one rule in `applies`.
        let mapped = control
            .maps_to
            .iter()
            .filter_map(|m| m.split_once(':').map(|(_, id)| id));
        let ids: std::collections::BTreeSet<&str> =
            std::iter::once(control.id.as_str()).chain(mapped).collect();
        ids.into_iter().flat_map(move |id| {
            self.by_control
                .get(id)
                .into_iter()
                .flatten()
                .filter(move |l| applies(id, &l.framework_id, framework, control))
        })
    }

    /// The control's status, score and reason at `at`.
    pub fn outcome(
        &self,
        framework: &str,
        control: &Control,
        at: DateTime<Utc>,
    ) -> (OutcomeStatus, u8, String) {
        let max_age_days = control
            .params
            .get("max_age_days")
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(DEFAULT_MAX_AGE_DAYS);
        let policy = self.policy_outcome(framework, control, at);
        if let Some((OutcomeStatus::Pass, reason)) = &policy {
            return (OutcomeStatus::Pass, 100, reason.clone());
        }
        let (status, score, reason) = self.evidence_outcome(framework, control, at, max_age_days);
        match (status, policy) {
            (OutcomeStatus::Pass, _) | (_, None) => (status, score, reason),
            (OutcomeStatus::NotApplicable, Some((s, policy_reason))) => (s, 0, policy_reason),
            (_, Some((_, policy_reason))) => (status, score, format!("{policy_reason}; {reason}")),
        }
    }

    /// The control's standing from linked evidence alone.
    fn evidence_outcome(
        &self,
        framework: &str,
        control: &Control,
        at: DateTime<Utc>,
        max_age_days: i64,
    ) -> (OutcomeStatus, u8, String) {
        let links: Vec<&Link> = self.links_for(framework, control).collect();
        if links.is_empty() {
            return (
                OutcomeStatus::NotApplicable,
                0,
                "Evidence control: no evidence is linked yet; it passes when fresh, verified evidence is linked to it or an approved policy maps to it.".into(),
            );
        }
        let verified: Vec<&Verified> = links
            .iter()
            .filter_map(|l| l.verified.as_ref())
            .filter(|v| v.effective <= at)
            .collect();
        let fresh = verified.iter().find(|v| {
            at - v.effective <= Duration::days(max_age_days) && v.expires.is_none_or(|x| x > at)
        });
        if let Some(v) = fresh {
            return (
                OutcomeStatus::Pass,
                100,
                format!(
                    "Verified evidence {} (sha256 {}…) effective {} is within {max_age_days} days",
                    v.filename,
                    &v.sha256[..12.min(v.sha256.len())],
                    v.effective.format("%Y-%m-%d")
                ),
            );
        }
        let reason = match verified.iter().max_by_key(|v| v.effective) {
            Some(newest) if newest.expires.is_some_and(|x| x <= at) => format!(
                "Linked evidence expired (newest: {}, expired {})",
                newest.filename,
                newest
                    .expires
                    .map(|x| x.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            ),
            Some(newest) => format!(
                "Linked evidence is stale: the newest ({}) is effective {}, more than {max_age_days} days ago",
                newest.filename,
                newest.effective.format("%Y-%m-%d")
            ),
            None => "Evidence is linked but none of it was verified (SHA-256) yet".into(),
        };
        (OutcomeStatus::Fail, 0, reason)
    }
}
