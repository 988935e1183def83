//! Who is calling: turns the request's credential into a [`Caller`].
//!
//! Accepted: `Authorization: Bearer sk-…` (seed 000), `X-API-Key: sk-…` (seed 002), and
//! `Authorization: Bearer <JWT>` when a JWT key is configured. Malformed API keys are rejected by
//! their checksum before any database lookup. Authentication says nothing about what the caller
//! may do; that is the Cedar gate's job (`crate::authz`).

use crate::{
    bounded::{BoundedMap, locked},
    domain::{
        AgentSecret, ApiKeySecret, EnrollmentSecret, ScimToken, ScopeSet, secret::hashes_match,
    },
    store::{self, Db, api_keys::ApiKeyRecord, users::User},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::sync::{Arc, Mutex};

/// Where the request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub credential: Credential,
    pub client: ClientMeta,
    /// The access revision of the key's org that authentication saw, read after the request
    /// arrived; authorization in that org reuses it instead of reading it again.
    pub(crate) seen_revision: Option<SeenRevision>,
}

#[derive(Debug, Clone)]
pub(crate) struct SeenRevision {
    pub org_id: String,
    pub revision: i64,
}

#[derive(Debug, Clone)]
pub enum Credential {
    /// An API key: bound to exactly one org, capped by its scopes.
    ApiKey {
        key_id: String,
        org_id: String,
        /// Shared with the cached key: a request does not copy the set.
        scopes: Arc<ScopeSet>,
    },
    /// A JWT: the org comes from its `org_id` claim or the `X-Org-Id` header.
    Jwt {
        org_id: Option<String>,
        scopes: Arc<ScopeSet>,
    },
}

impl Caller {
    /// The org a route without an org in its path (seed 002 style) acts on.
    pub fn home_org(&self) -> Option<&str> {
        match &self.credential {
            Credential::ApiKey { org_id, .. } => Some(org_id),
            Credential::Jwt { org_id, .. } => org_id.as_deref(),
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::ApiKey { key_id, .. } => Some(key_id),
            Credential::Jwt { .. } => None,
        }
    }

    pub fn scopes(&self) -> &ScopeSet {
        self.scope_set()
    }

    /// The scopes, shared (no copy).
    pub fn shared_scopes(&self) -> Arc<ScopeSet> {
        self.scope_set().clone()
    }

    fn scope_set(&self) -> &Arc<ScopeSet> {
        match &self.credential {
            Credential::ApiKey { scopes, .. } | Credential::Jwt { scopes, .. } => scopes,
        }
    }

    /// The fresh access revision authentication saw for `org_id`, if it read one.
    pub(crate) fn seen_revision(&self, org_id: &str) -> Option<i64> {
        self.seen_revision
            .as_ref()
            .filter(|seen| seen.org_id == org_id)
            .map(|seen| seen.revision)
    }

    pub fn credential_kind(&self) -> &'static str {
        match self.credential {
            Credential::ApiKey { .. } => "api_key",
            Credential::Jwt { .. } => "jwt",
        }
    }
}

/// Why authentication failed. Every variant is a 401.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    #[error("Not authenticated")]
    Missing,
    #[error("Invalid API key")]
    InvalidKey,
    #[error("API key revoked")]
    Revoked,
    #[error("API key expired")]
    Expired,
    #[error("Invalid token")]
    InvalidToken,
    #[error("Invalid agent credential")]
    InvalidAgentCredential,
    #[error("agent revoked")]
    AgentRevoked,
    #[error("the client certificate is not a current agent certificate of this server")]
    UnknownAgentCertificate,
    #[error("agent certificate expired; rotate the agent's identity")]
    AgentCertificateExpired,
    #[error("agent credential was replaced by a rotation; use the new credential")]
    CredentialRotated,
    #[error("Invalid enrollment token")]
    InvalidEnrollmentToken,
    #[error("enrollment token revoked")]
    EnrollmentTokenRevoked,
    #[error("enrollment token expired")]
    EnrollmentTokenExpired,
    #[error("enrollment token has no uses left")]
    EnrollmentTokenUsedUp,
    #[error("Invalid SCIM token")]
    InvalidScimToken,
    #[error("this SCIM connection is disabled; an org admin can enable it again")]
    ScimConnectionDisabled,
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// JWT verification settings, built once from config.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    /// Builds a verifier from an HS256 secret or a PEM public key (RS256 or ES256).
    pub fn new(
        secret: Option<&str>,
        public_key_pem: Option<&[u8]>,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<Option<Self>> {
        let (key, alg) = match (secret, public_key_pem) {
            (Some(_), Some(_)) => {
                anyhow::bail!(
                    "configure either GRC_JWT_SECRET or GRC_JWT_PUBLIC_KEY_FILE, not both"
                )
            }
            (Some(secret), None) => (
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ),
            (None, Some(pem)) => match DecodingKey::from_rsa_pem(pem) {
                Ok(key) => (key, Algorithm::RS256),
                Err(_) => (DecodingKey::from_ec_pem(pem)?, Algorithm::ES256),
            },
            (None, None) => return Ok(None),
        };
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 30;
        // A token is not valid before its `nbf`, when it has one.
        validation.validate_nbf = true;
        Ok(Some(JwtVerifier { key, validation }))
    }

    fn verify(&self, token: &str) -> Result<JwtClaims, AuthnError> {
        jsonwebtoken::decode::<JwtClaims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(error = %e, "JWT rejected");
                AuthnError::InvalidToken
            })
    }
}

#[derive(Debug, Deserialize)]
struct JwtClaims {
    sub: String,
    /// Expiry, seconds since the epoch (required by the validation).
    exp: i64,
    org_id: Option<String>,
    /// Optional space-separated scopes; absent means the role alone decides.
    scope: Option<String>,
}

/// The raw credential material found in the request headers.
pub struct PresentedCredential<'a> {
    pub authorization: Option<&'a str>,
    pub x_api_key: Option<&'a str>,
    pub x_org_id: Option<&'a str>,
}

/// Turns credentials into callers, remembering what it read.
///
/// A key's row and user are cached by key hash, tagged with the access revision of the key's
/// org read in the same statement. A cached key is used only while a fresh read of that
/// revision (begun after the request arrived, `Db::fresh_access_revision`) shows no change since:
/// revoking a key, changing a member or a policy through any server bumps the revision, and the
/// next request on every server reloads. Users never change once created, so they are cached
/// as found.
pub struct Authenticator {
    jwt: Option<JwtVerifier>,
    keys: BoundedMap<String, Arc<CachedKey>>,
    agents: BoundedMap<String, Arc<CachedAgent>>,
    users: BoundedMap<String, User>,
}

struct CachedKey {
    record: ApiKeyRecord,
    /// `record.scopes`, parsed once when the key is loaded.
    scopes: Arc<ScopeSet>,
    user: User,
    /// The org's access revision when `record` was read.
    revision: i64,
    /// When this server last recorded a use (`last_used_at`), in RFC 3339.
    last_used_at: Mutex<Option<String>>,
}

/// Entries kept before a cache is cleared.
const CACHE_MAX: usize = 10_000;

impl Authenticator {
    pub fn new(jwt: Option<JwtVerifier>) -> Self {
        Authenticator {
            jwt,
            keys: BoundedMap::new(CACHE_MAX),
            agents: BoundedMap::new(CACHE_MAX),
            users: BoundedMap::new(CACHE_MAX),
        }
    }

    /// Authenticates the presented credential.
    pub async fn authenticate(
        &self,
        db: &Db,
        presented: PresentedCredential<'_>,
        client: ClientMeta,
    ) -> Result<Caller, AuthnError> {
        let bearer = presented
            .authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        if let Some(raw) = presented
            .x_api_key
            .map(str::trim)
            .or(bearer.filter(|t| t.starts_with("sk-")))
        {
            return self.authenticate_key(db, raw, client).await;
        }
        let Some(token) = bearer else {
            return Err(AuthnError::Missing);
        };
        self.authenticate_jwt(db, token, presented.x_org_id, client)
            .await
            .map(|(caller, _)| caller)
    }

    /// Authenticates a JWT (the org from its `org_id` claim, else `x_org_id`) and says when it
    /// expires (seconds since the epoch): a console session opened with it ends no later.
    pub async fn authenticate_jwt(
        &self,
        db: &Db,
        token: &str,
        x_org_id: Option<&str>,
        client: ClientMeta,
    ) -> Result<(Caller, i64), AuthnError> {
        let verifier = self.jwt.as_ref().ok_or(AuthnError::InvalidToken)?;
        let claims = verifier.verify(token)?;
        let scopes = match claims.scope.as_deref() {
            Some(list) => ScopeSet::parse_list(list).map_err(|_| AuthnError::InvalidToken)?,
            None => ScopeSet::all(),
        };
        let org_id = claims.org_id.or(x_org_id.map(str::to_owned));
        let caller = self
            .jwt_caller(db, &claims.sub, org_id, scopes, client)
            .await?;
        Ok((caller, claims.exp))
    }

    /// The caller a verified JWT (or a console session opened with one) makes: `subject` must
    /// still name a user; membership is Cedar's to check, request by request.
    pub async fn jwt_caller(
        &self,
        db: &Db,
        subject: &str,
        org_id: Option<String>,
        scopes: ScopeSet,
        client: ClientMeta,
    ) -> Result<Caller, AuthnError> {
        if crate::domain::text::forbidden_control(subject).is_some() {
            return Err(AuthnError::InvalidToken);
        }
        let user = self
            .user(db, subject)
            .await?
            .ok_or(AuthnError::InvalidToken)?;
        Ok(Caller {
            user_id: user.id,
            email: user.email,
            credential: Credential::Jwt {
                org_id,
                scopes: Arc::new(scopes),
            },
            client,
            seen_revision: None,
        })
    }

    /// A user by id or email; found users are cached (they never change).
    async fn user(&self, db: &Db, id_or_email: &str) -> Result<Option<User>, AuthnError> {
        if let Some(user) = self.users.get(id_or_email) {
            return Ok(Some(user));
        }
        let mut tx = db.global_tx().await?;
        let user = store::users::find(tx.conn(), id_or_email).await?;
        tx.commit().await?;
        if let Some(user) = &user {
            self.users.insert(id_or_email.to_owned(), user.clone());
        }
        Ok(user)
    }

    async fn authenticate_key(
        &self,
        db: &Db,
        raw: &str,
        client: ClientMeta,
    ) -> Result<Caller, AuthnError> {
        let secret = ApiKeySecret::parse(raw).ok_or(AuthnError::InvalidKey)?;
        self.authenticate_key_hash(db, &secret.hash(), client).await
    }

    /// Authenticates the API key whose hash is `hash` as of now (a console session holds the
    /// hash of the key it was opened with): revoked, expired or unknown keys fail as they do
    /// when the key itself is presented.
    pub async fn authenticate_key_hash(
        &self,
        db: &Db,
        hash: &str,
        client: ClientMeta,
    ) -> Result<Caller, AuthnError> {
        let (key, revision) = self.current_key(db, hash).await?;
        let record = &key.record;
        if record.revoked_at.is_some() {
            return Err(AuthnError::Revoked);
        }
        if record
            .expires_at
            .as_deref()
            .is_some_and(|exp| exp <= crate::domain::time::now().as_str())
        {
            return Err(AuthnError::Expired);
        }
        self.record_use(db, &key).await?;
        let scopes = key.scopes.clone();
        Ok(Caller {
            user_id: key.user.id.clone(),
            email: key.user.email.clone(),
            credential: Credential::ApiKey {
                key_id: record.id.clone(),
                org_id: record.org_id.clone(),
                scopes,
            },
            client,
            seen_revision: Some(SeenRevision {
                org_id: record.org_id.clone(),
                revision,
            }),
        })
    }

    /// The key with this hash as of now, and its org's access revision as of now: the cached
    /// copy when a fresh read of the revision shows no change since it was loaded, else a reload.
    async fn current_key(&self, db: &Db, hash: &str) -> Result<(Arc<CachedKey>, i64), AuthnError> {
        if let Some(key) = self.keys.get(hash) {
            match db.fresh_access_revision(&key.record.org_id).await? {
                Some(now) if now <= key.revision => return Ok((key.clone(), key.revision)),
                _ => {}
            }
        }
        let mut tx = db.global_tx().await?;
        let found = store::api_keys::find_by_hash(&mut tx, hash)
            .await?
            .filter(|k| hashes_match(&k.record.key_hash, hash))
            .ok_or(AuthnError::InvalidKey)?;
        let user = store::users::find(tx.conn(), &found.record.user_id)
            .await?
            .ok_or(AuthnError::InvalidKey)?;
        tx.commit().await?;
        let scopes = Arc::new(
            ScopeSet::parse_list(&found.record.scopes).map_err(|_| AuthnError::InvalidKey)?,
        );
        let key = Arc::new(CachedKey {
            last_used_at: Mutex::new(found.record.last_used_at.clone()),
            scopes,
            record: found.record,
            user,
            revision: found.access_revision,
        });
        self.keys.insert(hash.to_owned(), key.clone());
        Ok((key, found.access_revision))
    }

    /// Records the key's use at most once a minute per key and server: authentication stays
    /// read-only otherwise.
    async fn record_use(&self, db: &Db, key: &CachedKey) -> Result<(), AuthnError> {
        {
            let mut last_used_at = locked(&key.last_used_at);
            if !needs_touch(last_used_at.as_deref()) {
                return Ok(());
            }
            *last_used_at = Some(crate::domain::time::now());
        }
        let mut tx = db.write_tx(&key.record.org_id).await?;
        store::api_keys::touch(&mut tx, &key.record.id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// An agent authenticated by its credential (`Authorization: Bearer ak-…`).
#[derive(Debug, Clone)]
pub struct AgentCaller {
    pub agent: store::agents::Agent,
    pub principal: crate::authz::AgentPrincipal,
    /// False when the call used the previous credential, inside a rotation's overlap.
    pub current_credential: bool,
}

impl AgentCaller {
    fn new(agent: store::agents::Agent, client: ClientMeta, current_credential: bool) -> Self {
        let principal = crate::authz::AgentPrincipal {
            id: agent.id.clone(),
            kind: agent.kind.clone(),
            name: agent.name.clone(),
            client,
        };
        AgentCaller {
            agent,
            principal,
            current_credential,
        }
    }
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// A credential's agent as read, with the org's access revision of that read.
struct CachedAgent {
    agent: store::agents::Agent,
    revision: i64,
}

impl Authenticator {
    /// Authenticates an agent credential. Its shape and checksum are checked before the
    /// database. The agent is cached by credential hash, tagged with its org's access revision,
    /// and used only while a fresh read of that revision shows no change, as for API keys:
    /// revoking or rotating an agent bumps the revision, so the next request on every server
    /// reads the agent again. The previous credential of a rotation works until its overlap
    /// ends.
    pub async fn authenticate_agent(
        &self,
        db: &Db,
        authorization: Option<&str>,
        client: ClientMeta,
    ) -> Result<AgentCaller, AuthnError> {
        let raw = bearer(authorization).ok_or(AuthnError::Missing)?;
        let secret = AgentSecret::parse(raw).ok_or(AuthnError::InvalidAgentCredential)?;
        let hash = secret.hash();
        let agent = self.current_agent(db, &hash).await?;
        let agent = &agent.agent;
        let current_credential = hashes_match(&agent.credential_hash, &hash);
        if !current_credential {
            let previous_ok = agent
                .previous_credential_hash
                .as_deref()
                .is_some_and(|p| hashes_match(p, &hash))
                && agent
                    .previous_valid_until
                    .as_deref()
                    .is_some_and(|until| crate::domain::time::now().as_str() < until);
            if !previous_ok {
                return Err(AuthnError::CredentialRotated);
            }
        }
        if agent.revoked_at.is_some() {
            return Err(AuthnError::AgentRevoked);
        }
        Ok(AgentCaller::new(agent.clone(), client, current_credential))
    }

    /// The agent holding this credential hash as of now: the cached copy while its org's
    /// access revision is unchanged, else a reload.
    async fn current_agent(&self, db: &Db, hash: &str) -> Result<Arc<CachedAgent>, AuthnError> {
        if let Some(cached) = self.agents.get(hash) {
            match db.fresh_access_revision(&cached.agent.org_id).await? {
                Some(now) if now <= cached.revision => return Ok(cached),
                _ => {}
            }
        }
        let mut tx = db.global_tx().await?;
        let found = store::agents::find_agent_by_credential(&mut tx, hash)
            .await?
            .ok_or(AuthnError::InvalidAgentCredential)?;
        tx.commit().await?;
        let cached = Arc::new(CachedAgent {
            agent: found.agent,
            revision: found.access_revision,
        });
        self.agents.insert(hash.to_owned(), cached.clone());
        Ok(cached)
    }
}

/// Authenticates an agent by the client certificate it presented on the agent TLS listener
/// (`agents::tls`): exactly the agent's current certificate (by SHA-256 fingerprint), within its
/// validity, signed by the org's CA, of an agent that is not revoked. Read on every call
/// (certificates are not cached).
pub async fn authenticate_agent_certificate(
    db: &Db,
    certificate: &[u8],
    client: ClientMeta,
) -> Result<AgentCaller, AuthnError> {
    let fingerprint = crate::agents::ca::fingerprint(certificate);
    let mut tx = db.global_tx().await?;
    let agent = store::agents::find_agent_by_certificate(&mut tx, &fingerprint)
        .await?
        .filter(|a| hashes_match(&a.cert_fingerprint, &fingerprint))
        .ok_or(AuthnError::UnknownAgentCertificate)?;
    tx.commit().await?;
    if agent.revoked_at.is_some() {
        return Err(AuthnError::AgentRevoked);
    }
    if agent.cert_not_after.as_str() <= crate::domain::time::now().as_str() {
        return Err(AuthnError::AgentCertificateExpired);
    }
    let mut tx = db.tenant_tx(&agent.org_id).await?;
    let ca = store::agents::find_ca(&mut tx).await?;
    tx.commit().await?;
    let signed_by_ca = ca.is_some_and(|ca| crate::agents::ca::signed_by(certificate, &ca.cert_pem));
    if !signed_by_ca {
        return Err(AuthnError::UnknownAgentCertificate);
    }
    Ok(AgentCaller::new(agent, client, true))
}

/// Authenticates an enrollment token (`Authorization: Bearer et-…`): shape and checksum first,
/// then the stored token, which must be live. Using it up happens in the enrollment's own
/// transaction, which checks again.
pub async fn authenticate_enrollment(
    db: &Db,
    authorization: Option<&str>,
) -> Result<store::agents::EnrollmentToken, AuthnError> {
    let raw = bearer(authorization).ok_or(AuthnError::Missing)?;
    let secret = EnrollmentSecret::parse(raw).ok_or(AuthnError::InvalidEnrollmentToken)?;
    let hash = secret.hash();
    let mut tx = db.global_tx().await?;
    let token = store::agents::find_token_by_hash(&mut tx, &hash)
        .await?
        .filter(|t| hashes_match(&t.token_hash, &hash))
        .ok_or(AuthnError::InvalidEnrollmentToken)?;
    tx.commit().await?;
    if token.revoked_at.is_some() {
        return Err(AuthnError::EnrollmentTokenRevoked);
    }
    if token.expires_at.as_str() <= crate::domain::time::now().as_str() {
        return Err(AuthnError::EnrollmentTokenExpired);
    }
    if token.max_uses.is_some_and(|max| token.uses >= max) {
        return Err(AuthnError::EnrollmentTokenUsedUp);
    }
    Ok(token)
}

/// Whether a key's `last_used_at` is old enough (a minute) to record this use.
fn needs_touch(last_used_at: Option<&str>) -> bool {
    let stale_before = chrono::Utc::now() - chrono::Duration::seconds(60);
    last_used_at
        .and_then(crate::domain::time::parse)
        .is_none_or(|t| t < stale_before)
}

/// An identity provider calling `/scim/v2` with its connection's token.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub connection: store::scim_connections::Connection,
    pub principal: crate::authz::ScimPrincipal,
}

/// Authenticates a SCIM connection token (`Authorization: Bearer st-…`): shape and checksum
/// first, then the stored connection, which must be active. Read on every call (identity
/// providers call rarely, and a rotated or disabled token must stop at once).
pub async fn authenticate_scim(
    db: &Db,
    authorization: Option<&str>,
    client: ClientMeta,
) -> Result<ScimCaller, AuthnError> {
    let raw = bearer(authorization).ok_or(AuthnError::Missing)?;
    let token = ScimToken::parse(raw).ok_or(AuthnError::InvalidScimToken)?;
    let hash = token.hash();
    let mut tx = db.global_tx().await?;
    let connection = store::scim_connections::find_by_token(&mut tx, &hash)
        .await?
        .filter(|c| hashes_match(&c.token_hash, &hash))
        .ok_or(AuthnError::InvalidScimToken)?;
    tx.commit().await?;
    if !connection.is_active() {
        return Err(AuthnError::ScimConnectionDisabled);
    }
    let principal = crate::authz::ScimPrincipal {
        id: connection.id.clone(),
        name: connection.name.clone(),
        client,
    };
    Ok(ScimCaller {
        connection,
        principal,
    })
}
