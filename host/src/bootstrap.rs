//! First start on an empty database: create the "default" org and an owner key with every
//! scope, print them once, and write them to `<data_dir>/bootstrap.json` (mode 0600).

use crate::{
    app::AppState,
    domain::{Plan, Role, ScopeSet},
    provision::{self, KeyRequest},
    store,
};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;

const MARKER: &str = "bootstrapped_at";
pub const BOOTSTRAP_EMAIL: &str = "owner@localhost";

#[derive(Serialize)]
pub struct Bootstrap {
    pub org_id: String,
    pub org_name: String,
    pub email: String,
    pub key_id: String,
    pub api_key: String,
    pub scopes: Vec<String>,
}

/// Runs once per database. Returns the credentials it created, if it ran.
pub async fn first_start(state: &AppState) -> anyhow::Result<Option<Bootstrap>> {
    let mut tx = state.db.global_write_tx().await?;
    if store::instance::get(&mut tx, MARKER).await?.is_some() {
        return Ok(None);
    }
    // Claim the bootstrap first: with two servers starting at once, one insert wins.
    store::instance::insert(&mut tx, MARKER, &crate::domain::time::now()).await?;
    tx.commit().await?;

    let org =
        provision::create_org(&state.db, "default", Plan::Enterprise, "system:bootstrap").await?;
    let scopes = ScopeSet::all();
    let issued = provision::create_member_key(
        &state.db,
        KeyRequest {
            org_id: &org.id,
            email: BOOTSTRAP_EMAIL,
            role: Role::Owner,
            scopes: &scopes,
            expires_in_days: None,
            name: "bootstrap owner key",
            actor: "system:bootstrap",
        },
    )
    .await?;
    Ok(Some(Bootstrap {
        org_id: org.id,
        org_name: org.name,
        email: BOOTSTRAP_EMAIL.into(),
        key_id: issued.record.id,
        api_key: issued.secret.expose().to_owned(),
        scopes: scopes.to_vec(),
    }))
}

impl Bootstrap {
    /// Prints the credentials once (stdout, never the log) and writes them owner-only.
    pub fn announce(&self, data_dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("bootstrap.json");
        write_private(&path, &serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "First start: created org \"{}\" ({}) and an owner API key.\n  API key: {}\n  Saved to {} (mode 0600). It is shown only once.",
            self.org_name,
            self.org_id,
            self.api_key,
            path.display()
        );
        Ok(())
    }
}

#[cfg(unix)]
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
