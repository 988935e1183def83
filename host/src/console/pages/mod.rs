//! One module per console page: its navigation entry (`NAV`) and its routes (`router`).

pub mod agents;
pub mod alerts;
pub mod audit;
pub mod evidence;
pub mod exports;
pub mod frameworks;
pub mod operations;
pub mod overview;
pub mod packages;
pub mod plugins;
pub mod policies;
pub mod policy_documents;
pub mod repository;
pub mod tickets;

use super::{layout::Who, session::ConsoleSession};
use crate::{
    app::AppState,
    authz::{Action, Authorized, Resource},
    http::{self, error::ApiResult},
    store::TenantTx,
};

/// Asks Cedar for `action` on the org, as the API route would, and opens the read transaction.
pub(super) async fn authorize(
    state: &AppState,
    session: &ConsoleSession,
    action: Action,
    resource: Resource,
) -> ApiResult<(TenantTx, Authorized)> {
    http::authorize(state, &session.caller, &session.org_id, action, resource).await
}

/// The shell's line about the caller.
pub(super) fn who<'a>(auth: &'a Authorized, session: &'a ConsoleSession) -> Who<'a> {
    Who {
        org_name: &auth.org.name,
        email: &session.caller.email,
        role: &auth.role,
    }
}
