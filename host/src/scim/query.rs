//! List queries (RFC 7644 §3.4.2): the filters identity providers send to find a resource before
//! creating it, and paging by `startIndex` / `count`.
//!
//! Supported: `eq` on the attributes identity providers look resources up by, alone or joined
//! by `and` (`userName`, `externalId`, `id`, `emails.value` for users; `displayName`,
//! `externalId`, `id`, `members.value` for groups). Anything else is a 400 `invalidFilter` that
//! says what is supported; a filter is never silently ignored (that would answer "found" for a
//! lookup the server did not run).

use super::error::{ScimError, ScimResult};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter};

/// The default and the largest page (`ServiceProviderConfig.filter.maxResults`).
pub const DEFAULT_COUNT: i64 = 100;
pub const MAX_COUNT: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

/// One `attribute eq "value"` term, resolved to what the store can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Id(String),
    ExternalId(String),
    /// `userName` (users) or `displayName` (groups); compared without regard to case.
    Name(String),
    /// `emails.value` (users), without regard to case.
    Email(String),
    /// `members.value` (groups): groups that have this member.
    Member(String),
}

/// Parses a `filter` parameter into terms that must all hold.
pub fn parse(raw: &str, kind: Kind) -> ScimResult<Vec<Term>> {
    let supported = match kind {
        Kind::User => "userName, externalId, id or emails.value",
        Kind::Group => "displayName, externalId, id or members.value",
    };
    let unsupported = || {
        ScimError::invalid_filter(format!(
            "supported filters: `eq` on {supported}, optionally joined by `and`"
        ))
    };
    let filter: Filter = raw
        .parse()
        .map_err(|e| ScimError::invalid_filter(format!("the filter does not parse: {e}")))?;
    let comparisons: Vec<&Filter> = match &filter {
        Filter::And(items) => items.as_slice().iter().collect(),
        single => vec![single],
    };
    comparisons
        .into_iter()
        .map(|f| {
            let Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value))) = f
            else {
                return Err(unsupported());
            };
            let name = path.name.to_ascii_lowercase();
            let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
            let value = value.clone();
            match (kind, name.as_str(), sub.as_deref()) {
                (_, "id", None) => Ok(Term::Id(value.to_ascii_lowercase())),
                (_, "externalid", None) => Ok(Term::ExternalId(value)),
                (Kind::User, "username", None) | (Kind::Group, "displayname", None) => {
                    Ok(Term::Name(value))
                }
                (Kind::User, "emails", Some("value")) => Ok(Term::Email(value)),
                (Kind::Group, "members", Some("value")) => {
                    Ok(Term::Member(value.to_ascii_lowercase()))
                }
                _ => Err(unsupported()),
            }
        })
        .collect()
}

/// A page as requested: `startIndex` is 1-based (values below 1 mean 1), `count` is capped at
/// [`MAX_COUNT`] (negative means 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: i64,
    pub count: i64,
}

impl Page {
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Self {
        Page {
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT),
        }
    }

    pub fn offset(&self) -> i64 {
        self.start_index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookups_identity_providers_send() {
        assert_eq!(
            parse(r#"userName eq "ann@example.com""#, Kind::User).expect("present"),
            vec![Term::Name("ann@example.com".into())]
        );
        assert_eq!(
            parse(r#"displayName eq "Eng""#, Kind::Group).expect("present"),
            vec![Term::Name("Eng".into())]
        );
        assert_eq!(
            parse(r#"id eq "ABC" and members.value eq "U1""#, Kind::Group).expect("present"),
            vec![Term::Id("abc".into()), Term::Member("u1".into())]
        );
        assert_eq!(
            parse(r#"externalId EQ "x-1""#, Kind::User).expect("present"),
            vec![Term::ExternalId("x-1".into())]
        );
    }

    #[test]
    fn anything_else_is_an_invalid_filter() {
        for (raw, kind) in [
            (r#"userName co "a""#, Kind::User),
            (r#"userName eq "a" or userName eq "b""#, Kind::User),
            (r#"displayName eq "g""#, Kind::User),
            (r#"userName eq "a""#, Kind::Group),
            ("userName eq", Kind::User),
            ("active eq true", Kind::User),
        ] {
            let err = parse(raw, kind).expect_err("refused");
            assert_eq!(err.status, 400, "{raw}");
            assert_eq!(
                err.scim_type,
                Some(super::super::error::ScimType::InvalidFilter)
            );
        }
    }

    #[test]
    fn paging_is_one_based_and_capped() {
        assert_eq!(
            Page::new(None, None),
            Page {
                start_index: 1,
                count: 100
            }
        );
        assert_eq!(
            Page::new(Some(0), Some(-4)),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(Page::new(Some(11), Some(5000)).count, MAX_COUNT);
        assert_eq!(Page::new(Some(11), None).offset(), 10);
    }
}
