//! What collectors report observing under a grant, and how it is redacted.
//!
//! On the way in: credentials are never stored. Attributes whose name says they hold one
//! (password, secret, community string, token, key, credential…) are dropped and counted, and
//! so is any value that looks like a bearer secret.
//! On the way out: people who do not administer the org (members, auditors) see MAC addresses
//! with only the vendor part (`00:1a:2b:**:**:**`) and serial numbers with only their last four
//! characters; addresses and hostnames stay, since they are what an asset is reviewed by.

use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, net::IpAddr};
use utoipa::ToSchema;

pub const MAX_OBSERVATIONS: usize = 500;
pub const MAX_ATTRIBUTES: usize = 32;
pub const MAX_VALUE_CHARS: usize = 256;
pub const MAX_PORTS: usize = 1024;

/// One device as a collector saw it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The collector's own id for this observation (1–100 characters); sending it again is a
    /// duplicate, not a second record.
    #[schema(min_length = 1, max_length = 100)]
    pub id: String,
    /// When it was seen (RFC 3339); inside the grant's validity.
    pub observed_at: String,
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    /// `aa:bb:cc:dd:ee:ff` (any common notation is accepted).
    pub mac: Option<String>,
    pub hostname: Option<String>,
    pub vendor: Option<String>,
    pub os: Option<String>,
    pub serial_number: Option<String>,
    #[serde(default)]
    pub open_ports: Vec<u16>,
    /// Other facts (e.g. `sysDescr`); credential-like names are dropped, never stored.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Attribute names that hold credentials.
const CREDENTIAL_WORDS: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "community",
    "token",
    "credential",
    "apikey",
    "api_key",
    "private",
];

fn names_a_credential(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|w| lower.contains(w)) || lower == "key" || lower.ends_with("_key")
}

/// Values shaped like bearer secrets (ours, and common cloud/API tokens).
fn looks_like_a_secret(value: &str) -> bool {
    let v = value.trim();
    [
        "sk-",
        "ak-",
        "et-",
        "st-",
        "AKIA",
        "ghp_",
        "xoxb-",
        "-----BEGIN",
    ]
    .iter()
    .any(|p| v.starts_with(p))
}

/// Drops credential attributes; returns how many were dropped.
pub fn strip_credentials(attributes: &mut BTreeMap<String, String>) -> usize {
    let before = attributes.len();
    attributes.retain(|k, v| !names_a_credential(k) && !looks_like_a_secret(v));
    before - attributes.len()
}

/// Why an observation's fields are refused, if they are: `(field, message)`.
pub fn problem(o: &Observation) -> Option<(&'static str, String)> {
    if o.id.trim().is_empty() || o.id.chars().count() > 100 {
        return Some(("id", "1 to 100 characters".into()));
    }
    if o.ip.is_none() && o.mac.is_none() {
        return Some(("ip", "an observation needs an ip or a mac".into()));
    }
    for (field, value) in [
        ("hostname", &o.hostname),
        ("vendor", &o.vendor),
        ("os", &o.os),
        ("serial_number", &o.serial_number),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.chars().count() > MAX_VALUE_CHARS)
        {
            return Some((
                field,
                format!("1 to {MAX_VALUE_CHARS} characters when present"),
            ));
        }
    }
    if o.open_ports.len() > MAX_PORTS {
        return Some(("open_ports", format!("at most {MAX_PORTS} ports")));
    }
    if o.attributes.len() > MAX_ATTRIBUTES
        || o.attributes.iter().any(|(k, v)| {
            k.trim().is_empty() || k.chars().count() > 100 || v.chars().count() > MAX_VALUE_CHARS
        })
    {
        return Some((
            "attributes",
            format!(
                "at most {MAX_ATTRIBUTES} attributes, names of 1–100 and values of at most {MAX_VALUE_CHARS} characters"
            ),
        ));
    }
    None
}

/// `00:1a:2b:3c:4d:5e` → `00:1a:2b:**:**:**` (the vendor part stays).
pub fn mask_mac(mac: &str) -> String {
    let parts: Vec<&str> = mac.split(':').collect();
    if parts.len() == 6 {
        format!("{}:{}:{}:**:**:**", parts[0], parts[1], parts[2])
    } else {
        "**".into()
    }
}

/// `C02XK1ABJGH5` → `********JGH5`.
pub fn mask_serial(serial: &str) -> String {
    let chars: Vec<char> = serial.chars().collect();
    if chars.len() <= 4 {
        return "****".into();
    }
    let hidden = chars.len() - 4;
    let shown: String = chars[hidden..].iter().collect();
    format!("{}{shown}", "*".repeat(hidden))
}

/// A stored observation as a reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObservationView {
    pub id: String,
    /// The collector's id for it.
    pub observation_id: String,
    pub site_id: String,
    pub agent_id: String,
    pub decision_id: String,
    pub technique: String,
    pub observed_at: String,
    pub received_at: String,
    pub ip: Option<String>,
    /// Masked (`00:1a:2b:**:**:**`) unless the reader is an owner or admin.
    pub mac: Option<String>,
    pub hostname: Option<String>,
    pub vendor: Option<String>,
    pub os: Option<String>,
    /// Masked to its last four characters unless the reader is an owner or admin.
    pub serial_number: Option<String>,
    pub open_ports: Vec<u16>,
    pub attributes: BTreeMap<String, String>,
    /// The inventory asset it fed.
    pub asset_id: Option<String>,
    /// Whether identifiers were masked for this reader.
    pub redacted: bool,
}

impl ObservationView {
    /// Masks identifiers for a reader who does not administer the org.
    pub fn redacted_for(mut self, admin: bool) -> Self {
        if !admin {
            self.mac = self.mac.as_deref().map(mask_mac);
            self.serial_number = self.serial_number.as_deref().map(mask_serial);
            self.redacted = true;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_dropped_by_name_and_by_shape() {
        let mut attrs: BTreeMap<String, String> = [
            ("sysDescr", "Cisco IOS 15.2"),
            ("snmp_community", "public"),
            ("Password", "hunter2"),
            ("ssh_host_key", "AAAAB3Nza"),
            ("note", "sk-0123456789abcdef"),
            ("location", "rack 4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(strip_credentials(&mut attrs), 4);
        assert_eq!(
            attrs.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["location", "sysDescr"]
        );
    }

    #[test]
    fn identifiers_are_masked_for_readers_who_do_not_administer() {
        assert_eq!(mask_mac("00:1a:2b:3c:4d:5e"), "00:1a:2b:**:**:**");
        assert_eq!(mask_serial("C02XK1ABJGH5"), "********JGH5");
        assert_eq!(mask_serial("AB1"), "****");
        let view = ObservationView {
            id: "1".into(),
            observation_id: "o".into(),
            site_id: "s".into(),
            agent_id: "a".into(),
            decision_id: "d".into(),
            technique: "arp".into(),
            observed_at: String::new(),
            received_at: String::new(),
            ip: Some("10.0.0.1".into()),
            mac: Some("00:1a:2b:3c:4d:5e".into()),
            hostname: Some("printer".into()),
            vendor: None,
            os: None,
            serial_number: Some("C02XK1ABJGH5".into()),
            open_ports: vec![],
            attributes: BTreeMap::new(),
            asset_id: None,
            redacted: false,
        };
        let admin = view.clone().redacted_for(true);
        assert_eq!(admin.mac.as_deref(), Some("00:1a:2b:3c:4d:5e"));
        assert!(!admin.redacted);
        let auditor = view.redacted_for(false);
        assert_eq!(auditor.mac.as_deref(), Some("00:1a:2b:**:**:**"));
        assert_eq!(auditor.serial_number.as_deref(), Some("********JGH5"));
        assert_eq!(auditor.ip.as_deref(), Some("10.0.0.1"));
    }
}
