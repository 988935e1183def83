//! The single Cedar gate. Every route calls [`Authz::authorize`] with an action and a resource
//! inside the request's org; handlers never compare roles themselves.
//!
//! A decision is made from the embedded baseline (`policies/*.cedar`) plus the org's own
//! tenant-authored policies. Forbids always win, so tenants can narrow access but never lift a
//! baseline guardrail. Any evaluation error is a deny: Cedar skips a policy that errors, which
//! for a forbid would otherwise mean failing open.

mod actions;
mod entities;
pub mod policy_set;
mod snapshot;

pub use actions::{Action, ContextExtras, Resource};
pub use policy_set::PolicyDiagnostic;

use crate::{
    authn::{Caller, ClientMeta, Credential},
    domain::ScopeSet,
    store::{self, Db, TenantTx, memberships::Member, orgs::Org},
};
use cedar_policy::{Authorizer, Decision, PolicySet, Schema, Validator};
use snapshot::{DecisionKey, OrgSnapshot, Snapshots};
use std::sync::Arc;

/// Who did it, as recorded in the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user; `None` for an agent acting as itself.
    pub user_id: Option<String>,
    /// The user's email, or `agent:<agent id>`.
    pub email: String,
    /// The API key, or the agent, whose credential made the call.
    pub key_id: Option<String>,
}

/// Proof that a request was allowed. Mutating handlers pass it to `audit::record`.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub org: Org,
    pub actor: Actor,
    pub role: String,
    pub client: ClientMeta,
    /// The permit policies that determined the decision.
    pub policy_ids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    #[error("not a member of this organization")]
    NotMember,
    #[error("{message}")]
    Denied {
        message: String,
        policy_ids: Vec<String>,
    },
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// The outcome of one Cedar evaluation.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// `allow` or `deny`.
    pub decision: String,
    /// Policies that determined the decision: the permits for an allow, the forbids for a deny.
    pub policy_ids: Vec<String>,
    /// Evaluation errors; any error makes the decision a deny.
    pub errors: Vec<String>,
    /// The message a denied API call would return.
    pub message: Option<String>,
}

impl Evaluation {
    pub fn allowed(&self) -> bool {
        self.decision == "allow"
    }
}

/// Everything Cedar needs for one decision.
pub struct EvalInput<'a> {
    pub org: &'a Org,
    /// Who asks: a user (`user_id`, `email`, `role` are theirs) or an agent (`user_id` is the
    /// agent id, `email` is `agent:<id>`, `role` is `agent`).
    pub principal: PrincipalKind<'a>,
    pub user_id: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub credential: &'a str,
    pub scopes: &'a ScopeSet,
    pub action: Action,
    pub resource: &'a Resource,
    pub extras: &'a ContextExtras,
}

/// The Cedar entity type of a principal, with what only that type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind<'a> {
    User,
    Agent { kind: &'a str, name: &'a str },
    ScimConnection { name: &'a str },
}

/// An agent asking to act as itself (its credential or its enrollment token was checked).
#[derive(Debug, Clone)]
pub struct AgentPrincipal {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub client: ClientMeta,
}

impl AgentPrincipal {
    /// What the audit log records as the agent's email.
    pub fn email(&self) -> String {
        format!("agent:{}", self.id)
    }
}

/// A SCIM connection acting as itself: the service account an identity provider provisions
/// through. What it changes is audited with the connection as the actor.
#[derive(Debug, Clone)]
pub struct ScimPrincipal {
    pub id: String,
    pub name: String,
    pub client: ClientMeta,
}

impl ScimPrincipal {
    /// What the audit log records as the connection's email.
    pub fn email(&self) -> String {
        format!("scim:{}", self.id)
    }
}

/// A non-human principal that acts only on itself (an agent, a SCIM connection).
struct SelfPrincipal<'a> {
    id: &'a str,
    kind: PrincipalKind<'a>,
    email: String,
    role: &'static str,
    credential: &'static str,
    resource: Resource,
    client: &'a ClientMeta,
}

pub struct Authz {
    schema: Schema,
    validator: Validator,
    baseline: PolicySet,
    /// Per org: the org row, its compiled policy set, the members seen and the decisions made,
    /// by access revision.
    snapshots: Snapshots,
}

impl Authz {
    /// Loads and strictly validates the schema and baseline; refuses to build when invalid.
    pub fn load() -> anyhow::Result<Self> {
        let (schema, baseline) = policy_set::load_baseline()?;
        Ok(Authz {
            validator: Validator::new(schema.clone()),
            schema,
            baseline,
            snapshots: Snapshots::default(),
        })
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The gate inside a write transaction: is `caller` allowed to do `action` on `resource` in
    /// the transaction's org? The org and the membership are read in the transaction (it holds
    /// the org's write lock, so they cannot change before it commits).
    pub async fn authorize(
        &self,
        tx: &mut TenantTx,
        caller: &Caller,
        action: Action,
        resource: Resource,
        extras: ContextExtras,
    ) -> Result<Authorized, AuthzError> {
        refuse_foreign_key(caller, tx.org_id())?;
        let org = store::orgs::current(tx)
            .await?
            .ok_or(AuthzError::NotMember)?;
        let member = store::memberships::find(tx, &caller.user_id)
            .await?
            .ok_or(AuthzError::NotMember)?;
        let policies = self.policies_for(tx, &org).await?;
        let key = DecisionKey::new(caller, member.role, action, resource, extras);
        let eval = self.evaluate(&policies, &key.input(&org));
        conclude(eval, org, caller, key.role, action)
    }

    /// The gate for an agent acting as itself, inside a write transaction in the agent's org:
    /// the principal and the resource are both `Agent::"<id>"`. Tenant policies apply as to
    /// users (a forbid on `principal is Agent` narrows what agents may do).
    pub async fn authorize_agent(
        &self,
        tx: &mut TenantTx,
        agent: &AgentPrincipal,
        action: Action,
    ) -> Result<Authorized, AuthzError> {
        let principal = SelfPrincipal {
            id: &agent.id,
            kind: PrincipalKind::Agent {
                kind: &agent.kind,
                name: &agent.name,
            },
            email: agent.email(),
            role: AGENT_ROLE,
            credential: "agent",
            resource: Resource::Agent(agent.id.clone()),
            client: &agent.client,
        };
        self.authorize_self(tx, principal, action).await
    }

    /// The gate for a SCIM connection acting as itself, inside a transaction in its org: the
    /// principal and the resource are both `ScimConnection::"<id>"`.
    pub async fn authorize_scim(
        &self,
        tx: &mut TenantTx,
        scim: &ScimPrincipal,
        action: Action,
    ) -> Result<Authorized, AuthzError> {
        let principal = SelfPrincipal {
            id: &scim.id,
            kind: PrincipalKind::ScimConnection { name: &scim.name },
            email: scim.email(),
            role: SCIM_ROLE,
            credential: "scim",
            resource: Resource::ScimConnection(scim.id.clone()),
            client: &scim.client,
        };
        self.authorize_self(tx, principal, action).await
    }

    async fn authorize_self(
        &self,
        tx: &mut TenantTx,
        principal: SelfPrincipal<'_>,
        action: Action,
    ) -> Result<Authorized, AuthzError> {
        let org = store::orgs::current(tx)
            .await?
            .ok_or(AuthzError::NotMember)?;
        let policies = self.policies_for(tx, &org).await?;
        let eval = self.evaluate(
            &policies,
            &EvalInput {
                org: &org,
                principal: principal.kind,
                user_id: principal.id,
                email: &principal.email,
                role: principal.role,
                credential: principal.credential,
                scopes: &ScopeSet::default(),
                action,
                resource: &principal.resource,
                extras: &ContextExtras::default(),
            },
        );
        if !eval.allowed() {
            tracing::info!(action = action.cedar_id(), principal = %principal.email,
                policies = ?eval.policy_ids, errors = ?eval.errors, "authorization denied");
            return Err(AuthzError::Denied {
                message: eval.message.unwrap_or_else(|| "forbidden".into()),
                policy_ids: eval.policy_ids,
            });
        }
        Ok(Authorized {
            org,
            actor: Actor {
                user_id: None,
                email: principal.email,
                key_id: Some(principal.id.to_owned()),
            },
            role: principal.role.into(),
            client: principal.client.clone(),
            policy_ids: eval.policy_ids,
        })
    }

    /// The gate for a request that reads: is `caller` allowed to do `action` on `resource` in
    /// `org_id`, as of now? It opens no transaction when this server's snapshot of the org is
    /// current, which one shared read of the org's access revision shows (the read began after
    /// the request arrived; authentication usually made it already).
    pub async fn authorize_read(
        &self,
        db: &Db,
        caller: &Caller,
        org_id: &str,
        action: Action,
        resource: Resource,
        extras: ContextExtras,
    ) -> Result<Authorized, AuthzError> {
        refuse_foreign_key(caller, org_id)?;
        let revision = match caller.seen_revision(org_id) {
            Some(seen) => seen,
            None => db
                .fresh_access_revision(org_id)
                .await?
                .ok_or(AuthzError::NotMember)?,
        };
        let (snapshot, member) = match self.snapshots.current(org_id, revision) {
            Some(snapshot) => match snapshot.member(&caller.user_id) {
                Some(member) => (snapshot, member),
                None => {
                    let mut tx = db.tenant_tx(org_id).await?;
                    let member = store::memberships::find(&mut tx, &caller.user_id).await?;
                    tx.commit().await?;
                    snapshot.remember_member(&caller.user_id, member.clone());
                    (snapshot, member)
                }
            },
            None => self.load_snapshot(db, org_id, &caller.user_id).await?,
        };
        let member = member.ok_or(AuthzError::NotMember)?;
        let key = DecisionKey::new(caller, member.role, action, resource, extras);
        let eval = match snapshot.decision(&key) {
            Some(eval) => eval,
            None => {
                let eval = self.evaluate(&snapshot.policies, &key.input(&snapshot.org));
                snapshot.remember_decision(key.clone(), eval.clone());
                eval
            }
        };
        conclude(eval, snapshot.org.clone(), caller, key.role, action)
    }

    /// Reads the org, its tenant policies and one member in one transaction and keeps the
    /// result as the org's snapshot.
    async fn load_snapshot(
        &self,
        db: &Db,
        org_id: &str,
        user_id: &str,
    ) -> Result<(Arc<OrgSnapshot>, Option<Member>), AuthzError> {
        let mut tx = db.tenant_tx(org_id).await?;
        let org = store::orgs::current(&mut tx)
            .await?
            .ok_or(AuthzError::NotMember)?;
        let tenant = store::access_policies::list(&mut tx).await?;
        let member = store::memberships::find(&mut tx, user_id).await?;
        tx.commit().await?;
        let snapshot = Arc::new(OrgSnapshot::new(org, Arc::new(self.compile(&tenant))));
        snapshot.remember_member(user_id, member.clone());
        self.snapshots.keep(snapshot.clone());
        Ok((snapshot, member))
    }

    /// Evaluates one request against a policy set. Errors of any kind produce a deny.
    pub fn evaluate(&self, policies: &PolicySet, input: &EvalInput<'_>) -> Evaluation {
        let request = match entities::build(&self.schema, input) {
            Ok(r) => r,
            Err(e) => {
                return Evaluation {
                    decision: "deny".into(),
                    policy_ids: Vec::new(),
                    errors: vec![e.to_string()],
                    message: Some("authorization request could not be built".into()),
                };
            }
        };
        let response =
            Authorizer::new().is_authorized(&request.request, policies, &request.entities);
        let policy_ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        let allowed = response.decision() == Decision::Allow && errors.is_empty();
        let message = (!allowed).then(|| deny_message(&policy_ids, &errors));
        Evaluation {
            decision: if allowed { "allow" } else { "deny" }.into(),
            policy_ids,
            errors,
            message,
        }
    }

    /// The org's effective policy set as of `org` (read in `tx`): the snapshot's when it is at
    /// that revision, else compiled from the transaction's view and kept.
    pub async fn policies_for(
        &self,
        tx: &mut TenantTx,
        org: &Org,
    ) -> Result<Arc<PolicySet>, sqlx::Error> {
        if let Some(snapshot) = self.snapshots.current(&org.id, org.access_revision) {
            return Ok(snapshot.policies.clone());
        }
        let tenant = store::access_policies::list(tx).await?;
        let set = Arc::new(self.compile(&tenant));
        self.snapshots
            .keep(Arc::new(OrgSnapshot::new(org.clone(), set.clone())));
        Ok(set)
    }

    /// Baseline + tenant policies. A stored tenant policy that no longer validates (e.g. after
    /// a schema change) makes the whole org fail closed rather than silently dropping a forbid.
    fn compile(&self, tenant: &[store::access_policies::AccessPolicy]) -> PolicySet {
        let mut set = self.baseline.clone();
        for p in tenant {
            let id = format!("{}{}", policy_set::TENANT_POLICY_PREFIX, p.id);
            let added = policy_set::validate_tenant_policy(&self.validator, &p.policy, &id)
                .ok()
                .and_then(|policy| set.add(policy).ok());
            if added.is_none() {
                tracing::error!(policy_id = %p.id, "stored tenant policy is invalid; denying all requests for the org");
                return PolicySet::new();
            }
        }
        set
    }

    /// Strictly validates a tenant policy (used by upload and the validate endpoint).
    pub fn validate_tenant_policy(&self, src: &str) -> Result<(), Vec<PolicyDiagnostic>> {
        policy_set::validate_tenant_policy(&self.validator, src, "candidate").map(|_| ())
    }
}

impl DecisionKey {
    fn new(
        caller: &Caller,
        role: String,
        action: Action,
        resource: Resource,
        extras: ContextExtras,
    ) -> Self {
        DecisionKey {
            user_id: caller.user_id.clone(),
            email: caller.email.clone(),
            role,
            credential: caller.credential_kind(),
            scopes: caller.shared_scopes(),
            action,
            resource,
            extras,
        }
    }

    fn input<'a>(&'a self, org: &'a Org) -> EvalInput<'a> {
        EvalInput {
            org,
            principal: PrincipalKind::User,
            user_id: &self.user_id,
            email: &self.email,
            role: &self.role,
            credential: self.credential,
            scopes: &self.scopes,
            action: self.action,
            resource: &self.resource,
            extras: &self.extras,
        }
    }
}

/// The `role` attribute of every agent principal, so policies that test `principal.role` keep
/// validating (and never match an agent by accident).
pub const AGENT_ROLE: &str = "agent";

/// The `role` attribute of every SCIM connection principal (same reason as [`AGENT_ROLE`]).
pub const SCIM_ROLE: &str = "scim";

/// Turns an evaluation into proof that the request was allowed, or a denial.
fn conclude(
    eval: Evaluation,
    org: Org,
    caller: &Caller,
    role: String,
    action: Action,
) -> Result<Authorized, AuthzError> {
    if !eval.allowed() {
        tracing::info!(
            action = action.cedar_id(),
            user_id = %caller.user_id,
            policies = ?eval.policy_ids,
            errors = ?eval.errors,
            "authorization denied"
        );
        return Err(AuthzError::Denied {
            message: eval.message.unwrap_or_else(|| "forbidden".into()),
            policy_ids: eval.policy_ids,
        });
    }
    Ok(Authorized {
        org,
        actor: Actor {
            user_id: Some(caller.user_id.clone()),
            email: caller.email.clone(),
            key_id: caller.key_id().map(str::to_owned),
        },
        role,
        client: caller.client.clone(),
        policy_ids: eval.policy_ids,
    })
}

/// An API key acts in its own org only.
fn refuse_foreign_key(caller: &Caller, org_id: &str) -> Result<(), AuthzError> {
    match &caller.credential {
        Credential::ApiKey { org_id: own, .. } if own != org_id => Err(AuthzError::NotMember),
        _ => Ok(()),
    }
}

/// Maps the forbids behind a deny to the message the API returns. Scope problems are reported
/// first because they are fixed on the key, not on the user.
fn deny_message(policy_ids: &[String], errors: &[String]) -> String {
    let has = |p: &str| policy_ids.iter().any(|id| id.starts_with(p));
    if !errors.is_empty() {
        "authorization failed (policy evaluation error)".into()
    } else if has("guard.scope.") {
        crate::http::error::MISSING_SCOPE.into()
    } else if has("guard.tenant_boundary") {
        "not a member of this organization".into()
    } else if has("guard.manage_requires_admin") {
        "Org admin role required".into()
    } else if has("guard.auditor_read_only") {
        "auditors have read-only access".into()
    } else if has("guard.owner_grants_owner") {
        "only an owner can grant the owner role".into()
    } else if has("guard.agent_acts_as_itself") {
        "an agent may act only as itself".into()
    } else if has("guard.scim_acts_as_itself") {
        "a SCIM connection may act only as itself".into()
    } else if has("guard.no_scope_escalation") {
        "cannot create a key with scopes beyond your own".into()
    } else if has("guard.ssh_no_self_approval") {
        crate::ssh::SELF_APPROVAL_REFUSED.into()
    } else if has("guard.ssh_cancel_own") {
        "only the requester or an owner/admin can cancel this SSH session".into()
    } else if has("guard.ssh_connect_own") {
        "only the requester can connect through this SSH session".into()
    } else if let Some(tenant) = policy_ids
        .iter()
        .find(|id| id.starts_with(policy_set::TENANT_POLICY_PREFIX))
    {
        format!(
            "forbidden by access policy {}",
            &tenant[policy_set::TENANT_POLICY_PREFIX.len()..]
        )
    } else {
        "not permitted by any access policy".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_action_exists_in_the_schema() {
        let authz = Authz::load().expect("baseline loads");
        let names: Vec<String> = authz
            .schema
            .actions()
            .map(|a| a.id().unescaped().to_string())
            .collect();
        for action in Action::ALL {
            assert!(
                names.iter().any(|n| n == action.cedar_id()),
                "{} missing from schema",
                action.cedar_id()
            );
        }
    }
}
