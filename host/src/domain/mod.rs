//! Types that are valid by construction: once you hold a `Role`, `Scope` or `ApiKeySecret`, it has
//! already been parsed and checked, so the rest of the code never re-validates strings.

pub mod finding;
pub mod page;
pub mod role;
pub mod scope;
pub mod secret;
pub mod text;
pub mod time;

pub use role::{Plan, Role};
pub use scope::{Scope, ScopeSet};
pub use secret::{AgentSecret, ApiKeySecret, EnrollmentSecret, ScimToken};
