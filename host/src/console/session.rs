//! Console sessions: an API key (or a JWT) exchanged for a server-side session in an HttpOnly,
//! SameSite=Strict cookie. Every request finds the session by the SHA-256 of the cookie's token,
//! re-authenticates the key it was opened with (revoked or expired: the session is over; a JWT
//! session expires with its token and keeps the token's scopes) and
//! leaves authorization to Cedar, page by page, exactly as the API does (a removed member gets
//! "not a member"). Every state-changing form carries the session's CSRF token, and a POST whose
//! `Origin` is another site is refused before it is read (docs/decisions/0028).

use crate::{
    app::AppState,
    authn::Caller,
    domain::{ApiKeySecret, ScopeSet, time},
    http::extract::client_meta,
    store::{self, console_sessions::SessionRow},
};
use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie that carries the session token.
pub const COOKIE: &str = "grc_session";
/// How long a session lasts from sign-in.
pub const SESSION_TTL_SECS: i64 = 8 * 3600;

/// A signed-in console user: the API caller their key makes, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub caller: Caller,
    pub org_id: String,
    pub id_hash: String,
    pub csrf_token: String,
}

/// Why there is no usable session: every case sends the browser to sign in again.
#[derive(Debug)]
pub struct SignInAgain(pub &'static str);

impl IntoResponse for SignInAgain {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/console/sign-in?reason={}", self.0)).into_response()
    }
}

/// Hex SHA-256, as the session id is stored.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The session token in the request's cookies, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for a new session that lasts `max_age` seconds (`secure` when the console is
/// served over https).
pub fn set_cookie(token: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// What a session is opened with, and so what each of its requests re-checks.
pub enum OpenedWith<'a> {
    /// The key with this hash: revoked or expired, the session is over.
    ApiKey { key_hash: &'a str },
    /// A JWT expiring at `expires` (seconds since the epoch): the session ends no later, and
    /// keeps the token's scopes.
    Jwt { expires: i64 },
}

/// The session row for a fresh sign-in, and how many seconds it lasts.
pub fn new_row(
    token: &str,
    caller: &Caller,
    org_id: &str,
    opened: &OpenedWith<'_>,
) -> (SessionRow, i64) {
    let now = chrono::Utc::now();
    let ttl = match opened {
        OpenedWith::ApiKey { .. } => SESSION_TTL_SECS,
        OpenedWith::Jwt { expires } => (expires - now.timestamp()).clamp(0, SESSION_TTL_SECS),
    };
    let (credential, key_hash, scopes) = match opened {
        OpenedWith::ApiKey { key_hash } => ("api_key", (*key_hash).to_owned(), None),
        OpenedWith::Jwt { .. } => ("jwt", String::new(), Some(caller.scopes().to_stored())),
    };
    let row = SessionRow {
        id_hash: hash(token),
        org_id: org_id.to_owned(),
        user_id: caller.user_id.clone(),
        credential: credential.to_owned(),
        key_hash,
        scopes,
        csrf_token: new_token(),
        created_at: time::format(now),
        expires_at: time::format(now + chrono::Duration::seconds(ttl)),
        revoked_at: None,
    };
    (row, ttl)
}

/// Whether a presented credential looks like a JWT (three base64url parts) rather than a key.
pub fn looks_like_jwt(raw: &str) -> bool {
    let raw = raw.trim();
    raw.split('.').count() == 3
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'='))
}

/// The hash of a presented API key, if it is one.
pub fn key_hash(raw: &str) -> Option<String> {
    ApiKeySecret::parse(raw.trim()).map(|k| k.hash())
}

impl ConsoleSession {
    /// Whether `presented` is this session's CSRF token.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        bool::from(self.csrf_token.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Whether a state-changing request comes from this console: its `Origin` (or, without one,
/// its `Referer`) names the host it was sent to. Browsers send `Origin` on every POST.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match (host, from) {
        (Some(host), Some(from)) => url::Url::parse(from).ok().is_some_and(|u| {
            let authority = match u.port() {
                Some(port) => format!("{}:{port}", u.host_str().unwrap_or_default()),
                None => u.host_str().unwrap_or_default().to_owned(),
            };
            authority.eq_ignore_ascii_case(host)
        }),
        // Not a browser form post (no Origin, no Referer): the CSRF token still decides.
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

/// Who is asking (address, user agent), as the API records it.
pub struct Client(pub crate::authn::ClientMeta);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(client_meta(parts, state.config.trust_forwarded_for)))
    }
}

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = SignInAgain;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie_token(&parts.headers).ok_or(SignInAgain("signed-out"))?;
        let id_hash = hash(&token);
        let row = {
            let mut tx = state
                .db
                .global_tx()
                .await
                .map_err(|_| SignInAgain("unavailable"))?;
            let row = store::console_sessions::find(&mut tx, &id_hash)
                .await
                .map_err(|_| SignInAgain("unavailable"))?;
            tx.commit().await.map_err(|_| SignInAgain("unavailable"))?;
            row.ok_or(SignInAgain("signed-out"))?
        };
        if row.revoked_at.is_some() {
            return Err(SignInAgain("signed-out"));
        }
        if row.expires_at <= time::now() {
            return Err(SignInAgain("expired"));
        }
        let client = client_meta(parts, state.config.trust_forwarded_for);
        let caller = if row.credential == "jwt" {
            let scopes = ScopeSet::parse_list(row.scopes.as_deref().unwrap_or_default())
                .map_err(|_| SignInAgain("key-ended"))?;
            state
                .authn
                .jwt_caller(
                    &state.db,
                    &row.user_id,
                    Some(row.org_id.clone()),
                    scopes,
                    client,
                )
                .await
        } else {
            state
                .authn
                .authenticate_key_hash(&state.db, &row.key_hash, client)
                .await
        }
        .map_err(|_| SignInAgain("key-ended"))?;
        Ok(ConsoleSession {
            caller,
            org_id: row.org_id,
            id_hash,
            csrf_token: row.csrf_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_cookie_token_is_found_and_malformed_ones_are_ignored() {
        let token = new_token();
        let mut headers = HeaderMap::new();
        let cookie = format!("other=1; {COOKIE}={token}");
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).expect("header"),
        );
        assert_eq!(cookie_token(&headers), Some(token));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("grc_session=../etc"),
        );
        assert_eq!(cookie_token(&headers), None);
    }

    #[test]
    fn tokens_and_keys_are_told_apart() {
        assert!(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("sk-abc.def"));
        assert!(!looks_like_jwt("a.b.c d"));
    }

    #[test]
    fn posts_from_another_site_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers));
        let cookie = set_cookie("ab", 60, false);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }
}
