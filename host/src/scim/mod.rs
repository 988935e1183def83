//! SCIM 2.0 provisioning (RFC 7643/7644, issue 15, docs/decisions/0020): identity providers
//! create, update and deactivate users and groups through `/scim/v2`, authenticated by a
//! connection's token; role mappings turn IdP groups into org roles; losing access is
//! immediate and fails closed.
//!
//! This module holds the protocol's rules, free of HTTP and SQL: errors ([`error`]), the PATCH
//! normalizer ([`patch`]), documents ([`resource`]), list filters and paging ([`query`]), the
//! mapping precedence ([`roles`]), discovery documents ([`discovery`]) and redaction
//! ([`redact`]); [`access`] applies the mapping to memberships through `crate::store`.
//! `crate::store::scim_connections` and `scim_directory` keep the state; `crate::http::scim`
//! serves it.

pub mod access;
pub mod discovery;
pub mod error;
pub mod patch;
pub mod query;
pub mod redact;
pub mod resource;
pub mod roles;

pub use error::{ScimError, ScimResult, ScimType};
