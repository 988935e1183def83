//! What the gate reads about an org, cached per server: the org row, its effective policy set
//! (baseline + tenant policies, compiled) and the roles of members seen so far, all tagged with
//! the org's access revision (`store::access_revisions`). A snapshot serves a request only when
//! its revision is at least the fresh revision that request read, so a change committed through
//! any server reaches the next request everywhere (docs/decisions/0015).
//!
//! A Cedar decision is a pure function of the policy set and the request's inputs (no clock, no
//! address), so a snapshot also remembers the decisions it has made, keyed by every input.

use super::{Action, ContextExtras, Evaluation, Resource};
use crate::{
    bounded::BoundedMap,
    domain::ScopeSet,
    store::{memberships::Member, orgs::Org},
};
use cedar_policy::PolicySet;
use std::sync::Arc;

pub struct OrgSnapshot {
    /// The access revision the org row was read at; the policies and members are at least as new.
    pub revision: i64,
    pub org: Org,
    pub policies: Arc<PolicySet>,
    /// user id → membership (`None`: not a member), filled as callers are seen.
    members: BoundedMap<String, Option<Member>>,
    decisions: BoundedMap<DecisionKey, Evaluation>,
}

/// Everything a decision depends on besides the snapshot's org and policy set (what
/// `entities::build` puts into the Cedar request).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecisionKey {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub credential: &'static str,
    pub scopes: Arc<ScopeSet>,
    pub action: Action,
    pub resource: Resource,
    pub extras: ContextExtras,
}

/// Members, and decisions, remembered per snapshot before the map is cleared.
const MAX_MEMBERS: usize = 10_000;
const MAX_DECISIONS: usize = 10_000;
/// Orgs kept before the cache is cleared.
const MAX_ORGS: usize = 10_000;

impl OrgSnapshot {
    pub fn new(org: Org, policies: Arc<PolicySet>) -> Self {
        OrgSnapshot {
            revision: org.access_revision,
            org,
            policies,
            members: BoundedMap::new(MAX_MEMBERS),
            decisions: BoundedMap::new(MAX_DECISIONS),
        }
    }

    /// The decision this snapshot made for exactly these inputs, if any.
    pub fn decision(&self, key: &DecisionKey) -> Option<Evaluation> {
        self.decisions.get(key)
    }

    pub fn remember_decision(&self, key: DecisionKey, evaluation: Evaluation) {
        self.decisions.insert(key, evaluation);
    }

    /// The remembered membership of `user_id`: `Some(None)` for a known non-member, `None` when
    /// not looked up yet.
    pub fn member(&self, user_id: &str) -> Option<Option<Member>> {
        self.members.get(user_id)
    }

    pub fn remember_member(&self, user_id: &str, member: Option<Member>) {
        self.members.insert(user_id.to_owned(), member);
    }
}

pub struct Snapshots {
    orgs: BoundedMap<String, Arc<OrgSnapshot>>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots {
            orgs: BoundedMap::new(MAX_ORGS),
        }
    }
}

impl Snapshots {
    /// The org's snapshot if it is at least as new as `revision`.
    pub fn current(&self, org_id: &str, revision: i64) -> Option<Arc<OrgSnapshot>> {
        self.orgs.get(org_id).filter(|s| s.revision >= revision)
    }

    /// Keeps `snapshot` unless a newer one is already kept.
    pub fn keep(&self, snapshot: Arc<OrgSnapshot>) {
        let revision = snapshot.revision;
        self.orgs
            .insert_unless(snapshot.org.id.clone(), snapshot, |kept| {
                kept.revision > revision
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(revision: i64) -> Org {
        Org {
            id: "o1".into(),
            name: "acme".into(),
            plan: "free".into(),
            access_revision: revision,
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_snapshot_serves_only_revisions_it_has_seen() {
        let snapshots = Snapshots::default();
        snapshots.keep(Arc::new(OrgSnapshot::new(org(3), Arc::default())));
        assert!(snapshots.current("o1", 3).is_some());
        assert!(
            snapshots.current("o1", 2).is_some(),
            "newer data serves older reads"
        );
        assert!(
            snapshots.current("o1", 4).is_none(),
            "a newer revision needs a reload"
        );
        assert!(snapshots.current("o2", 0).is_none());
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let snapshots = Snapshots::default();
        snapshots.keep(Arc::new(OrgSnapshot::new(org(5), Arc::default())));
        snapshots.keep(Arc::new(OrgSnapshot::new(org(4), Arc::default())));
        assert_eq!(snapshots.current("o1", 0).map(|s| s.revision), Some(5));
    }
}
