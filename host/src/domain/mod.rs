//! Types that are valid by construction: once you hold a `Role`, `Scope` or `ApiKeySecret`, it has
//! already been parsed and checked, so the rest of the code never re-validates strings.

pub mod api_key;
pub mod finding;
pub mod role;
pub mod scope;
pub mod text;
pub mod time;

pub use api_key::ApiKeySecret;
pub use role::{Plan, Role};
pub use scope::{Scope, ScopeSet};
