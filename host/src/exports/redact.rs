//! Server-side redaction of auditor exports, applied to every cell before an artifact is
//! rendered, hashed and stored. The rules are fixed (docs/decisions/0019):
//!
//! 1. **Secrets never appear.** API keys (`sk-…`), agent credentials (`ak-…`), enrollment
//!    tokens (`et-…`), JWTs, PEM blocks, AWS access key ids and `Bearer` values become
//!    `[redacted]`; so does the value of any metadata field named like a secret (`secret`,
//!    `password`, `token`, `credential`, `private_key`, `api_key`, `access_key`, `authorization`,
//!    `signature`, `cookie`).
//! 2. **Presigned URLs never appear.** A URL keeps its scheme, host and path; its query string
//!    (where the signature lives) becomes `?[redacted]`.
//! 3. **Personal data is minimised.** Email addresses are masked (`d***@example.com`) except in
//!    the columns that name who acted (the actor, the approver, the uploader), which an auditor
//!    needs; IP addresses keep their network part only (`203.0.113.x`, `2001:db8:1::x`).

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

struct Patterns {
    secrets: Regex,
    url_query: Regex,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns {
    secrets: Regex::new(concat!(
        r"-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)",
        r"|\b(sk|ak|et)-[A-Za-z0-9_-]{8,}",
        r"|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
        r"|\b(AKIA|ASIA)[0-9A-Z]{16}\b",
        r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}",
    ))
    .unwrap_or_else(unreachable),
    url_query: Regex::new(r"(?i)\b(https?://[^\s?#]+)\?[^\s#]*").unwrap_or_else(unreachable),
    email: Regex::new(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
        .unwrap_or_else(unreachable),
    ipv4: Regex::new(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}\b").unwrap_or_else(unreachable),
    ipv6: Regex::new(
        r"\b([0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}):[0-9a-fA-F:]*[0-9a-fA-F]\b",
    )
    .unwrap_or_else(unreachable),
});

/// The patterns are constants checked by the unit tests; a typo is a bug, not an input error.
#[allow(clippy::panic)]
fn unreachable(e: regex::Error) -> Regex {
    panic!("built-in redaction pattern: {e}")
}

/// Field names whose values are secrets whatever they look like.
fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.ends_with("_id") || n.ends_with("_prefix") || n.ends_with("_key_id") {
        return false;
    }
    [
        "secret",
        "password",
        "passphrase",
        "token",
        "credential",
        "private_key",
        "api_key",
        "access_key",
        "authorization",
        "signature",
        "cookie",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Applies the rules, counting what it changed.
#[derive(Debug, Default)]
pub struct Redactor {
    pub redactions: u64,
}

impl Redactor {
    /// A free-text cell: secrets, URL queries, emails and IPs.
    pub fn text(&mut self, s: &str) -> String {
        let s = self.secrets(s);
        let s = self.replace(&s, |p| &p.email, "${1}***@${2}");
        self.ips(&s)
    }

    /// A cell naming who acted: secrets and URL queries only.
    pub fn actor(&mut self, s: &str) -> String {
        self.secrets(s)
    }

    /// A client IP: the network part only.
    pub fn ip(&mut self, s: &str) -> String {
        self.ips(s)
    }

    /// JSON metadata: secret-named fields dropped to [`REDACTED`], every string as [`Self::text`].
    pub fn json(&mut self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if is_secret_field(k) && !v.is_null() {
                            self.redactions += 1;
                            Value::String(REDACTED.into())
                        } else {
                            self.json(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn secrets(&mut self, s: &str) -> String {
        let s = self.replace(s, |p| &p.secrets, REDACTED);
        self.replace(&s, |p| &p.url_query, "${1}?[redacted]")
    }

    fn ips(&mut self, s: &str) -> String {
        let s = self.replace(s, |p| &p.ipv4, "${1}.x");
        self.replace(&s, |p| &p.ipv6, "${1}::x")
    }

    fn replace(&mut self, s: &str, pick: impl Fn(&Patterns) -> &Regex, with: &str) -> String {
        let re = pick(&PATTERNS);
        let found = re.find_iter(s).count() as u64;
        if found == 0 {
            return s.to_owned();
        }
        self.redactions += found;
        re.replace_all(s, with).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_never_survive() {
        let mut r = Redactor::default();
        for secret in [
            "sk-live_abcdefghijklmnop1234",
            "ak-0123456789abcdef",
            "et-abcdefgh12345678",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
            "AKIAIOSFODNN7EXAMPLE",
            "Bearer abcdefghijklmnopqrstuvwxyz",
            "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----",
        ] {
            let out = r.text(&format!("before {secret} after"));
            assert!(!out.contains(secret), "{out}");
            assert!(out.contains(REDACTED), "{out}");
            assert!(out.starts_with("before") && out.ends_with("after"), "{out}");
        }
    }

    #[test]
    fn presigned_urls_lose_their_query() {
        let mut r = Redactor::default();
        let url = "https://s3.example.com/bucket/obj.pdf?X-Amz-Signature=abc&X-Amz-Credential=def";
        let out = r.text(url);
        assert_eq!(out, "https://s3.example.com/bucket/obj.pdf?[redacted]");
        assert_eq!(
            r.text("https://example.com/path"),
            "https://example.com/path"
        );
    }

    #[test]
    fn personal_data_is_masked_but_actors_and_hashes_stay() {
        let mut r = Redactor::default();
        assert_eq!(r.text("added dev@example.com"), "added d***@example.com");
        assert_eq!(r.actor("owner@example.com"), "owner@example.com");
        assert_eq!(r.ip("203.0.113.45"), "203.0.113.x");
        assert_eq!(r.ip("2001:db8:1:2::45"), "2001:db8:1::x");
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(r.text(sha), sha);
        assert_eq!(
            r.text("2026-12-05T10:00:00.123456Z"),
            "2026-12-05T10:00:00.123456Z"
        );
    }

    #[test]
    fn secret_named_fields_are_dropped_and_counted() {
        let mut r = Redactor::default();
        let out = r.json(&json!({
            "name": "ci", "key_id": "k1", "key": "access-control", "token": "anything", "client_secret": "x",
            "nested": [{ "password": "p", "email": "a.b@example.org" }],
            "upload_url": "https://h/p?sig=1",
        }));
        assert_eq!(out["name"], "ci");
        assert_eq!(out["key_id"], "k1");
        assert_eq!(out["key"], "access-control");
        assert_eq!(out["token"], REDACTED);
        assert_eq!(out["client_secret"], REDACTED);
        assert_eq!(out["nested"][0]["password"], REDACTED);
        assert_eq!(out["nested"][0]["email"], "a***@example.org");
        assert_eq!(out["upload_url"], "https://h/p?[redacted]");
        assert!(r.redactions >= 5);
    }
}
