//! Standard Webhooks signing (<https://www.standardwebhooks.com>): the secret is
//! `whsec_<base64 key>`, and each request carries `webhook-id`, `webhook-timestamp` (Unix
//! seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
const KEY_BYTES: usize = 32;

/// A subscription's signing key (the bytes behind `whsec_…`).
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn generate() -> Self {
        let mut key = vec![0u8; KEY_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        SigningKey(key)
    }

    /// Reads a `whsec_…` secret.
    pub fn parse(secret: &str) -> Option<Self> {
        let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
        (!key.is_empty()).then_some(SigningKey(key))
    }

    /// The secret as shown to the subscriber (once).
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` header value for one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(msg_id, timestamp, body)))
    }

    /// True when any `v1,` signature in `header` (space-separated) matches, in constant time.
    pub fn verify(&self, msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        header.split(' ').any(|candidate| {
            let Some(sig) = candidate.strip_prefix("v1,") else {
                return false;
            };
            let Ok(sig) = STANDARD.decode(sig) else {
                return false;
            };
            let mut mac = self.keyed();
            mac.update(&signed_content(msg_id, timestamp, body));
            mac.verify_slice(&sig).is_ok()
        })
    }

    fn keyed(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = self.keyed();
        mac.update(&signed_content(msg_id, timestamp, body));
        mac.finalize().into_bytes().to_vec()
    }
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verify_accepts_its_own_signature_and_nothing_else() {
        let key = SigningKey::generate();
        let sig = key.sign("msg_1", 10, b"{}");
        assert!(key.verify("msg_1", 10, b"{}", &format!("v1,bogus {sig}")));
        assert!(!key.verify("msg_1", 11, b"{}", &sig));
        assert!(!key.verify("msg_2", 10, b"{}", &sig));
        assert!(!SigningKey::generate().verify("msg_1", 10, b"{}", &sig));
        assert!(SigningKey::parse(&key.reveal()).is_some());
        assert!(SigningKey::parse("nope").is_none());
    }
}
