//! What an agent reports in a heartbeat, validated strictly, and how a report changes the
//! asset it describes (pure: the store applies the changes).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{collections::BTreeSet, net::IpAddr};
use utoipa::ToSchema;

/// Most addresses, MACs and observed devices one heartbeat may carry.
pub const MAX_ADDRESSES: usize = 64;
pub const MAX_OBSERVED: usize = 256;
const MAX_TEXT: usize = 255;

/// `POST /api/v1/agents/{agent_id}/telemetry/heartbeat`. Unknown fields are refused (422), so a
/// typo never silently drops a fact.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The host's name.
    #[schema(max_length = 253)]
    pub hostname: String,
    pub os: OsFacts,
    /// The reporting agent's version.
    #[schema(max_length = 64)]
    pub agent_version: String,
    /// Seconds since the host booted.
    pub uptime_seconds: Option<u64>,
    /// The host's IP addresses (v4 or v6).
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 64)]
    pub ips: Vec<IpAddr>,
    /// The host's MAC addresses (`aa:bb:cc:dd:ee:ff`; `-` separators and upper case are
    /// accepted and normalised).
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 64)]
    pub macs: Vec<Mac>,
    #[serde(default)]
    pub posture: Posture,
    /// Devices the agent saw on its network. Unknown ones become assets with authorization
    /// `unauthorized`.
    #[serde(default)]
    #[schema(max_items = 256)]
    pub observed_devices: Vec<ObservedDevice>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OsFacts {
    /// e.g. `Debian GNU/Linux`, `macOS`, `Windows`.
    pub name: String,
    /// e.g. `12`, `14.6.1`, `10.0.22631`.
    pub version: String,
}

/// Security posture facts; `null` (or absent) means the agent could not tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Posture {
    pub disk_encryption: Option<bool>,
    pub firewall: Option<bool>,
    pub screen_lock: Option<bool>,
    /// The OS patch level as the platform names it (kernel release, build, security update).
    pub os_patch_level: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservedDevice {
    #[schema(value_type = Option<String>)]
    pub mac: Option<Mac>,
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    pub hostname: Option<String>,
    /// How it was seen, e.g. `arp`, `mdns`, `dhcp`.
    pub technique: Option<String>,
}

/// A MAC address in canonical form: six lower-case hex pairs joined by `:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mac(String);

impl Mac {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Mac {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        let lower = raw.trim().to_ascii_lowercase().replace('-', ":");
        let parts: Vec<&str> = lower.split(':').collect();
        let ok = parts.len() == 6
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        if ok {
            Ok(Mac(lower))
        } else {
            Err(format!(
                "'{raw}' is not a MAC address (six hex pairs, e.g. aa:bb:cc:dd:ee:ff)"
            ))
        }
    }
}

impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.0
    }
}

/// A field error: where (`["body", …]`) and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub loc: Vec<Value>,
    pub msg: String,
}

fn invalid(loc: &[Value], msg: impl Into<String>) -> Invalid {
    let mut full = vec![json!("body")];
    full.extend_from_slice(loc);
    Invalid {
        loc: full,
        msg: msg.into(),
    }
}

fn text(value: &str, max: usize, loc: &[Value]) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(invalid(loc, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(invalid(loc, format!("at most {max} characters")));
    }
    Ok(())
}

impl Heartbeat {
    /// The checks serde cannot express: lengths, counts, a device with no identifier.
    pub fn validate(&self) -> Result<(), Invalid> {
        text(&self.hostname, 253, &[json!("hostname")])?;
        text(&self.os.name, MAX_TEXT, &[json!("os"), json!("name")])?;
        text(&self.os.version, MAX_TEXT, &[json!("os"), json!("version")])?;
        text(&self.agent_version, 64, &[json!("agent_version")])?;
        if let Some(level) = &self.posture.os_patch_level {
            text(
                level,
                MAX_TEXT,
                &[json!("posture"), json!("os_patch_level")],
            )?;
        }
        for (name, len) in [("ips", self.ips.len()), ("macs", self.macs.len())] {
            if len > MAX_ADDRESSES {
                return Err(invalid(
                    &[json!(name)],
                    format!("at most {MAX_ADDRESSES} entries"),
                ));
            }
        }
        if self.observed_devices.len() > MAX_OBSERVED {
            return Err(invalid(
                &[json!("observed_devices")],
                format!("at most {MAX_OBSERVED} devices per heartbeat"),
            ));
        }
        for (i, device) in self.observed_devices.iter().enumerate() {
            let at = |field: &str| [json!("observed_devices"), json!(i), json!(field)];
            if device.mac.is_none() && device.ip.is_none() {
                return Err(invalid(
                    &[json!("observed_devices"), json!(i)],
                    "a device needs a mac or an ip",
                ));
            }
            if let Some(name) = &device.hostname {
                text(name, 253, &at("hostname"))?;
            }
            if let Some(technique) = &device.technique {
                text(technique, 32, &at("technique"))?;
            }
        }
        Ok(())
    }

    /// The host as this heartbeat describes it.
    pub fn host_state(&self) -> AssetState {
        AssetState {
            hostname: Some(self.hostname.trim().to_owned()),
            os_name: Some(self.os.name.trim().to_owned()),
            os_version: Some(self.os.version.trim().to_owned()),
            ips: self.ips.iter().map(IpAddr::to_string).collect(),
            macs: self.macs.iter().map(|m| m.as_str().to_owned()).collect(),
            posture: self.posture.clone(),
        }
    }
}

/// What the inventory knows about an asset, in comparable form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetState {
    pub hostname: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub ips: BTreeSet<String>,
    pub macs: BTreeSet<String>,
    pub posture: Posture,
}

/// One timeline entry a report causes: its kind and details.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: &'static str,
    pub details: Value,
}

/// The timeline entries that moving an asset from `before` to `after` records: posture fields
/// that changed (each with from/to), address changes (added/removed), OS and hostname changes.
pub fn changes(before: &AssetState, after: &AssetState) -> Vec<Change> {
    let mut out = Vec::new();
    let posture = posture_changes(&before.posture, &after.posture);
    if !posture.is_empty() {
        out.push(Change {
            kind: "posture_changed",
            details: json!({ "changes": posture }),
        });
    }
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> (Vec<String>, Vec<String>) {
        (
            b.difference(a).cloned().collect(),
            a.difference(b).cloned().collect(),
        )
    };
    let (ips_added, ips_removed) = diff(&before.ips, &after.ips);
    let (macs_added, macs_removed) = diff(&before.macs, &after.macs);
    if !(ips_added.is_empty()
        && ips_removed.is_empty()
        && macs_added.is_empty()
        && macs_removed.is_empty())
    {
        out.push(Change {
            kind: "address_changed",
            details: json!({
                "ips_added": ips_added, "ips_removed": ips_removed,
                "macs_added": macs_added, "macs_removed": macs_removed,
            }),
        });
    }
    if (&before.os_name, &before.os_version) != (&after.os_name, &after.os_version) {
        out.push(Change {
            kind: "os_changed",
            details: json!({
                "from": { "name": before.os_name, "version": before.os_version },
                "to": { "name": after.os_name, "version": after.os_version },
            }),
        });
    }
    if before.hostname != after.hostname {
        out.push(Change {
            kind: "hostname_changed",
            details: json!({ "from": before.hostname, "to": after.hostname }),
        });
    }
    out
}

fn posture_changes(before: &Posture, after: &Posture) -> Vec<Value> {
    let (b, a) = (json!(before), json!(after));
    let mut out = Vec::new();
    if let (Some(b), Some(a)) = (b.as_object(), a.as_object()) {
        for (field, to) in a {
            let from = b.get(field).cloned().unwrap_or(Value::Null);
            if &from != to {
                out.push(json!({ "field": field, "from": from, "to": to }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(body: Value) -> Result<Heartbeat, String> {
        serde_json::from_value::<Heartbeat>(body).map_err(|e| e.to_string())
    }

    fn minimal() -> Value {
        json!({ "hostname": "h1", "os": { "name": "Debian", "version": "12" },
                "agent_version": "0.1.0" })
    }

    #[test]
    fn macs_are_normalised_and_bad_ones_refused() {
        let mut body = minimal();
        body["macs"] = json!(["AA-BB-CC-DD-EE-FF"]);
        let hb = beat(body).expect("valid");
        assert_eq!(hb.macs[0].as_str(), "aa:bb:cc:dd:ee:ff");
        let mut body = minimal();
        body["macs"] = json!(["aa:bb:cc"]);
        assert!(
            beat(body)
                .expect_err("refused")
                .contains("not a MAC address")
        );
    }

    #[test]
    fn unknown_fields_and_bad_addresses_are_refused() {
        let mut body = minimal();
        body["posture"] = json!({ "disk_encrypton": true });
        assert!(beat(body).expect_err("typo").contains("unknown field"));
        let mut body = minimal();
        body["ips"] = json!(["10.0.0.300"]);
        assert!(beat(body).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut body = minimal();
        body["observed_devices"] = json!([{ "hostname": "printer" }]);
        let err = beat(body).expect("parses").validate().expect_err("no id");
        assert_eq!(
            err.loc,
            vec![json!("body"), json!("observed_devices"), json!(0)]
        );
        let mut body = minimal();
        body["hostname"] = json!(" ");
        let err = beat(body).expect("parses").validate().expect_err("empty");
        assert_eq!(err.loc, vec![json!("body"), json!("hostname")]);
    }

    #[test]
    fn changes_name_what_moved() {
        let before = AssetState {
            hostname: Some("h1".into()),
            os_name: Some("Debian".into()),
            os_version: Some("12".into()),
            ips: ["10.0.0.5".to_owned()].into(),
            macs: ["aa:bb:cc:dd:ee:ff".to_owned()].into(),
            posture: Posture {
                disk_encryption: Some(true),
                firewall: Some(true),
                ..Posture::default()
            },
        };
        assert!(changes(&before, &before).is_empty());
        let mut after = before.clone();
        after.posture.firewall = Some(false);
        after.ips = ["10.0.0.6".to_owned()].into();
        let found = changes(&before, &after);
        let kinds: Vec<_> = found.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["posture_changed", "address_changed"]);
        assert_eq!(
            found[0].details["changes"],
            json!([{ "field": "firewall", "from": true, "to": false }])
        );
        assert_eq!(found[1].details["ips_added"], json!(["10.0.0.6"]));
        assert_eq!(found[1].details["ips_removed"], json!(["10.0.0.5"]));
    }
}
