//! Which role an identity provider's groups grant (docs/decisions/0020).
//!
//! A mapping names an IdP group by `displayName` (compared without regard to case) or by
//! `externalId` (exact) and grants `admin`, `member` or `auditor`, never `owner`. A user in
//! several mapped groups gets the first of **admin, member, auditor** that one of their groups
//! grants: the order is fixed, so the answer never depends on the order groups or mappings were
//! created. A group with no mapping grants nothing; a user whose groups grant nothing, or who is
//! inactive, has no access.

use crate::domain::Role;

/// How a mapping names an IdP group.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MatchOn {
    DisplayName,
    ExternalId,
}

impl MatchOn {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOn::DisplayName => "display_name",
            MatchOn::ExternalId => "external_id",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "display_name" => Some(MatchOn::DisplayName),
            "external_id" => Some(MatchOn::ExternalId),
            _ => None,
        }
    }
}

/// One row of the mapping table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub match_on: MatchOn,
    pub value: String,
    pub role: Role,
}

/// A group a user is in, as the mapping sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub display_name: String,
    pub external_id: Option<String>,
}

/// The precedence, most privileged first.
pub const PRECEDENCE: [Role; 3] = [Role::Admin, Role::Member, Role::Auditor];

/// The key a mapping's value is stored and compared under.
pub fn value_key(match_on: MatchOn, value: &str) -> String {
    match match_on {
        MatchOn::DisplayName => value.trim().to_lowercase(),
        MatchOn::ExternalId => value.trim().to_owned(),
    }
}

fn grants(mapping: &Mapping, group: &GroupRef) -> bool {
    match mapping.match_on {
        MatchOn::DisplayName => {
            value_key(MatchOn::DisplayName, &group.display_name)
                == value_key(MatchOn::DisplayName, &mapping.value)
        }
        MatchOn::ExternalId => group
            .external_id
            .as_deref()
            .is_some_and(|id| id.trim() == mapping.value.trim()),
    }
}

/// The role `groups` grant under `mappings`, if any.
pub fn effective_role(groups: &[GroupRef], mappings: &[Mapping]) -> Option<Role> {
    PRECEDENCE.into_iter().find(|role| {
        mappings
            .iter()
            .filter(|m| m.role == *role)
            .any(|m| groups.iter().any(|g| grants(m, g)))
    })
}

/// What a provisioned user's membership should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desired {
    /// Active and granted a role by a mapped group.
    Grant(Role),
    /// Inactive, deleted, or in no mapped group: no access.
    NoAccess,
}

pub fn desired(active: bool, role: Option<Role>) -> Desired {
    match (active, role) {
        (true, Some(role)) => Desired::Grant(role),
        _ => Desired::NoAccess,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, ext: Option<&str>) -> GroupRef {
        GroupRef {
            display_name: name.into(),
            external_id: ext.map(Into::into),
        }
    }

    fn m(on: MatchOn, value: &str, role: Role) -> Mapping {
        Mapping {
            match_on: on,
            value: value.into(),
            role,
        }
    }

    #[test]
    fn precedence_is_fixed_whatever_the_order() {
        let mappings = vec![
            m(MatchOn::DisplayName, "auditors", Role::Auditor),
            m(MatchOn::ExternalId, "ext-admins", Role::Admin),
            m(MatchOn::DisplayName, "Engineering", Role::Member),
        ];
        let groups = vec![g("Auditors", None), g("engineering", None)];
        assert_eq!(effective_role(&groups, &mappings), Some(Role::Member));
        let mut reversed = groups.clone();
        reversed.reverse();
        let mut mappings_reversed = mappings.clone();
        mappings_reversed.reverse();
        assert_eq!(
            effective_role(&reversed, &mappings_reversed),
            Some(Role::Member)
        );
        let with_admin = vec![g("Auditors", None), g("Ops", Some("ext-admins"))];
        assert_eq!(effective_role(&with_admin, &mappings), Some(Role::Admin));
    }

    #[test]
    fn unmapped_groups_grant_nothing() {
        let mappings = vec![m(MatchOn::ExternalId, "ext-1", Role::Admin)];
        // Same display name as the external id: external-id mappings match external ids only.
        assert_eq!(effective_role(&[g("ext-1", None)], &mappings), None);
        assert_eq!(effective_role(&[], &mappings), None);
        assert_eq!(desired(true, None), Desired::NoAccess);
        assert_eq!(desired(false, Some(Role::Admin)), Desired::NoAccess);
        assert_eq!(
            desired(true, Some(Role::Auditor)),
            Desired::Grant(Role::Auditor)
        );
    }
}
