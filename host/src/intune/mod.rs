//! Intune posture sync (seed 003, Phase 1): an org's Microsoft Entra app connection (tenant id,
//! client id, and a client secret kept through a [`secrets::SecretProvider`] as a reference), a
//! sync that reads every managed device through the [`graph::GraphClient`] and projects its
//! compliance posture into the asset inventory ([`project`]), and the device posture reads with
//! identifiers masked for readers who are not owners or admins ([`device`]).
//! docs/decisions/0024-intune-posture-sync.md.

pub mod device;
pub mod graph;
pub mod project;
pub mod secrets;
pub mod settings;

/// The purpose recorded with the stored client secret.
pub const SECRET_PURPOSE: &str = "intune.client_secret";

/// Longest accepted client secret (Entra's are about 40 characters).
pub const MAX_SECRET_CHARS: usize = 1024;

/// An Entra tenant: a GUID (normalized to lower case) or a verified domain such as
/// `contoso.onmicrosoft.com` or `contoso.com`.
pub fn tenant_id(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    if let Ok(id) = uuid::Uuid::parse_str(raw) {
        if raw.len() != 36 {
            return Err("a GUID in its 36-character form, or a verified domain");
        }
        return Ok(id.to_string());
    }
    let domain = raw.to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.chars().any(|c| c.is_ascii_alphabetic()));
    if domain.len() <= 253 && labels.len() >= 2 && labels.iter().all(|l| label_ok(l)) && tld_ok {
        Ok(domain)
    } else {
        Err(
            "a GUID (the Directory (tenant) ID) or a verified domain such as contoso.onmicrosoft.com",
        )
    }
}

/// The app registration's Application (client) ID: a GUID, normalized to lower case.
pub fn client_id(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    match uuid::Uuid::parse_str(raw) {
        Ok(id) if raw.len() == 36 => Ok(id.to_string()),
        _ => {
            Err("the Application (client) ID: a GUID such as 00000000-0000-0000-0000-000000000000")
        }
    }
}

/// A client secret as Entra shows it (its Value): printable ASCII without spaces, at most
/// [`MAX_SECRET_CHARS`] characters.
pub fn client_secret(raw: &str) -> Result<(), &'static str> {
    let n = raw.chars().count();
    if n == 0 || n > MAX_SECRET_CHARS {
        return Err("1 to 1024 characters (the secret's Value)");
    }
    if !raw.chars().all(|c| c.is_ascii_graphic()) {
        return Err("no spaces or control characters (paste the secret's Value)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_guids_or_domains() {
        assert_eq!(
            tenant_id(" 72F988BF-86F1-41AF-91AB-2D7CD011DB47 "),
            Ok("72f988bf-86f1-41af-91ab-2d7cd011db47".into())
        );
        assert_eq!(
            tenant_id("Contoso.onmicrosoft.com"),
            Ok("contoso.onmicrosoft.com".into())
        );
        for bad in [
            "", "contoso", "-x.com", "a..b", "x.123", "a b.com", "../etc", "x.com/y",
        ] {
            assert!(tenant_id(bad).is_err(), "{bad}");
        }
        assert!(
            tenant_id("72f988bf86f141af91ab2d7cd011db47").is_err(),
            "GUIDs with dashes only"
        );
    }

    #[test]
    fn client_ids_and_secrets_are_checked() {
        assert!(client_id("00000000-0000-0000-0000-000000000001").is_ok());
        assert!(client_id("my-app").is_err());
        assert!(client_secret("abc~DEF.123_xyz").is_ok());
        assert!(client_secret("").is_err());
        assert!(client_secret("has space").is_err());
        assert!(client_secret(&"x".repeat(1025)).is_err());
    }
}
