//! The secret-provider abstraction: a connection keeps a reference (`secretref:<provider>:…`),
//! never the secret. The local provider seals the value with the server secret (AES-256-GCM,
//! `host/src/agents/seal.rs`), bound to the org and the reference as associated data, so a
//! sealed value copied to another org or another reference does not open. An external vault
//! provider (Azure Key Vault, HashiCorp Vault) would implement the same trait.
//!
//! Secrets go in and out as [`SecretString`]; they are never logged, returned by the API or put
//! in audit metadata.

use crate::{agents::seal::ServerSecret, domain::time, store::TenantTx};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;

/// The prefix of references the local provider hands out.
pub const LOCAL_PREFIX: &str = "secretref:local:";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// The reference names no stored secret of this org.
    #[error("secret reference {0} not found")]
    Missing(String),
    /// The value does not open (another server secret, or tampering).
    #[error("the stored secret does not open with this server secret: {0}")]
    Sealing(anyhow::Error),
}

/// Where secrets live. Every call runs in the caller's tenant transaction, so storing a new
/// secret and pointing a connection at it commit (or roll back) together.
pub trait SecretProvider {
    /// Stores `secret` (what it is for: `purpose`) and returns a new reference to it.
    fn put(
        &self,
        tx: &mut TenantTx,
        purpose: &str,
        secret: &SecretString,
    ) -> impl Future<Output = Result<String, SecretError>> + Send;

    /// The secret `reference` names.
    fn open(
        &self,
        tx: &mut TenantTx,
        reference: &str,
    ) -> impl Future<Output = Result<SecretString, SecretError>> + Send;

    /// Forgets the secret; `false` when there was none.
    fn delete(
        &self,
        tx: &mut TenantTx,
        reference: &str,
    ) -> impl Future<Output = Result<bool, SecretError>> + Send;
}

/// Secrets sealed with the server secret in the `sealed_secrets` table.
pub struct LocalSecretProvider<'a> {
    pub key: &'a ServerSecret,
}

/// The associated data binding a sealed value to its org and reference.
fn aad(org_id: &str, reference: &str) -> String {
    format!("{org_id}|{reference}")
}

impl SecretProvider for LocalSecretProvider<'_> {
    async fn put(
        &self,
        tx: &mut TenantTx,
        purpose: &str,
        secret: &SecretString,
    ) -> Result<String, SecretError> {
        let reference = format!("{LOCAL_PREFIX}{}", uuid::Uuid::new_v4());
        let sealed = self
            .key
            .seal(
                secret.expose_secret().as_bytes(),
                &aad(tx.org_id(), &reference),
            )
            .map_err(SecretError::Sealing)?;
        crate::store::intune::insert_sealed_secret(tx, &reference, purpose, &sealed, &time::now())
            .await?;
        Ok(reference)
    }

    async fn open(&self, tx: &mut TenantTx, reference: &str) -> Result<SecretString, SecretError> {
        let sealed = crate::store::intune::sealed_secret(tx, reference)
            .await?
            .ok_or_else(|| SecretError::Missing(reference.to_owned()))?;
        let plain = self
            .key
            .open(&sealed, &aad(tx.org_id(), reference))
            .map_err(SecretError::Sealing)?;
        let text = String::from_utf8(plain)
            .map_err(|_| SecretError::Sealing(anyhow::anyhow!("not UTF-8")))?;
        Ok(SecretString::from(text))
    }

    async fn delete(&self, tx: &mut TenantTx, reference: &str) -> Result<bool, SecretError> {
        Ok(crate::store::intune::delete_sealed_secret(tx, reference).await?)
    }
}
