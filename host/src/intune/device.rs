//! A managed device as Microsoft Graph describes it, normalized into the posture record this
//! server keeps: the fields a posture read needs, a content hash that makes a repeated sync a
//! no-op, the timeline entries a change records, and the masking of identifiers for readers who
//! are not owners or admins.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The `$select` of every managedDevices request: what we store, nothing more (data
/// minimization: no IMEI, phone number, e-mail or Wi-Fi MAC).
pub const SELECT: &str = "id,deviceName,operatingSystem,osVersion,complianceState,isEncrypted,\
jailBroken,managementAgent,lastSyncDateTime,enrolledDateTime,model,manufacturer,serialNumber,\
userPrincipalName";

/// One element of a managedDevices page. Graph sends many more properties; unknown ones are
/// ignored, missing ones are `None`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphDevice {
    pub id: String,
    pub device_name: Option<String>,
    pub operating_system: Option<String>,
    pub os_version: Option<String>,
    pub compliance_state: Option<String>,
    pub is_encrypted: Option<bool>,
    /// `"True"`, `"False"` or `"Unknown"` (a string in Graph).
    pub jail_broken: Option<String>,
    pub management_agent: Option<String>,
    pub last_sync_date_time: Option<String>,
    pub enrolled_date_time: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial_number: Option<String>,
    pub user_principal_name: Option<String>,
}

/// The posture record of one device, as stored (`intune_devices`) and compared between syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceRecord {
    pub device_id: String,
    pub device_name: Option<String>,
    pub operating_system: Option<String>,
    pub os_version: Option<String>,
    /// Graph's `complianceState` (`compliant`, `noncompliant`, `inGracePeriod`, `unknown`, …).
    pub compliance_state: String,
    pub is_encrypted: Option<bool>,
    /// `true`, `false` or `unknown`.
    pub jailbroken: String,
    pub management_agent: Option<String>,
    /// RFC 3339, normalized to this server's format.
    pub last_check_in: Option<String>,
    pub enrolled_at: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial_number: Option<String>,
    pub user_principal_name: Option<String>,
}

/// Longest kept text field; Graph's own limits are far below it.
const MAX_FIELD: usize = 256;

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(MAX_FIELD).collect())
}

/// Graph's "never" is `0001-01-01T00:00:00Z`; anything unparsable is unknown too.
fn instant(v: &Option<String>) -> Option<String> {
    let at = crate::domain::time::parse(v.as_deref()?.trim())?;
    (chrono::Datelike::year(&at) > 1900).then(|| crate::domain::time::format(at))
}

impl GraphDevice {
    /// `None` for an element without a usable id (it cannot be recognised again).
    pub fn normalize(&self) -> Option<DeviceRecord> {
        let id = self.id.trim();
        if id.is_empty() || id.len() > 128 {
            return None;
        }
        let jailbroken = match self.jail_broken.as_deref().map(str::trim) {
            Some(j) if j.eq_ignore_ascii_case("true") => "true",
            Some(j) if j.eq_ignore_ascii_case("false") => "false",
            _ => "unknown",
        };
        Some(DeviceRecord {
            device_id: id.to_owned(),
            device_name: text(&self.device_name),
            operating_system: text(&self.operating_system),
            os_version: text(&self.os_version),
            compliance_state: text(&self.compliance_state).unwrap_or_else(|| "unknown".into()),
            is_encrypted: self.is_encrypted,
            jailbroken: jailbroken.into(),
            management_agent: text(&self.management_agent),
            last_check_in: instant(&self.last_sync_date_time),
            enrolled_at: instant(&self.enrolled_date_time),
            model: text(&self.model),
            manufacturer: text(&self.manufacturer),
            serial_number: text(&self.serial_number),
            user_principal_name: text(&self.user_principal_name),
        })
    }
}

impl DeviceRecord {
    /// `sha256:<hex>` of the record's JSON (field order is the struct's, so it is stable).
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(canonical)))
    }

    /// The asset's `posture` object: what the inventory shows for an Intune device.
    pub fn posture(&self) -> Value {
        json!({
            "source": "intune",
            "compliance_state": self.compliance_state,
            "disk_encryption": self.is_encrypted,
            "jailbroken": self.jailbroken,
            "management_agent": self.management_agent,
            "last_check_in": self.last_check_in,
        })
    }
}

/// One timeline entry a change records: kind and details.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: &'static str,
    pub details: Value,
}

/// The asset timeline entries that moving from `before` to `after` records, in the kinds the
/// agent inventory uses (`posture_changed`, `os_changed`, `hostname_changed`). A check-in alone
/// is not a change worth a timeline entry; it only refreshes `last_seen`.
pub fn changes(before: &DeviceRecord, after: &DeviceRecord) -> Vec<Change> {
    let mut out = Vec::new();
    let (b, a) = (before.posture(), after.posture());
    let mut posture = Vec::new();
    if let (Some(b), Some(a)) = (b.as_object(), a.as_object()) {
        for (field, to) in a {
            let from = b.get(field).cloned().unwrap_or(Value::Null);
            if field != "last_check_in" && &from != to {
                posture.push(json!({ "field": field, "from": from, "to": to }));
            }
        }
    }
    if !posture.is_empty() {
        out.push(Change {
            kind: "posture_changed",
            details: json!({ "source": "intune", "changes": posture }),
        });
    }
    if (&before.operating_system, &before.os_version)
        != (&after.operating_system, &after.os_version)
    {
        out.push(Change {
            kind: "os_changed",
            details: json!({
                "source": "intune",
                "from": { "name": before.operating_system, "version": before.os_version },
                "to": { "name": after.operating_system, "version": after.os_version },
            }),
        });
    }
    if before.device_name != after.device_name {
        out.push(Change {
            kind: "hostname_changed",
            details: json!({ "source": "intune", "from": before.device_name, "to": after.device_name }),
        });
    }
    out
}

/// A serial number for readers who may not see it: its last four characters (`****7F3A`); a
/// value of four characters or fewer shows none of them.
pub fn mask_serial(serial: &str) -> String {
    let chars: Vec<char> = serial.chars().collect();
    if chars.len() <= 4 {
        return "****".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("****{tail}")
}

/// A user principal name for readers who may not see it: the first character of the local part
/// and the whole domain (`j***@contoso.com`): the organization's own domain is not a secret,
/// the person is.
pub fn mask_upn(upn: &str) -> String {
    match upn.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => format!("{}***", upn.chars().take(1).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(id: &str) -> GraphDevice {
        GraphDevice {
            id: id.into(),
            device_name: Some("LAPTOP-01".into()),
            operating_system: Some("Windows".into()),
            os_version: Some("10.0.22631.4460".into()),
            compliance_state: Some("compliant".into()),
            is_encrypted: Some(true),
            jail_broken: Some("False".into()),
            management_agent: Some("mdm".into()),
            last_sync_date_time: Some("2026-12-01T10:00:00Z".into()),
            enrolled_date_time: Some("0001-01-01T00:00:00Z".into()),
            serial_number: Some("PF2K7F3A".into()),
            user_principal_name: Some("jane.doe@contoso.com".into()),
            ..GraphDevice::default()
        }
    }

    #[test]
    fn graph_devices_are_normalized() {
        let d = graph(" a1 ").normalize().expect("valid");
        assert_eq!(d.device_id, "a1");
        assert_eq!(d.jailbroken, "false");
        assert_eq!(
            d.last_check_in.as_deref(),
            Some("2026-12-01T10:00:00.000000Z")
        );
        assert_eq!(d.enrolled_at, None, "Graph's year-1 'never' is unknown");
        assert!(graph("  ").normalize().is_none());
        let bare = GraphDevice {
            id: "x".into(),
            ..GraphDevice::default()
        };
        let d = bare.normalize().expect("valid");
        assert_eq!(
            (d.compliance_state.as_str(), d.jailbroken.as_str()),
            ("unknown", "unknown")
        );
    }

    #[test]
    fn the_hash_and_changes_follow_the_content() {
        let a = graph("a").normalize().expect("valid");
        assert_eq!(
            a.content_hash(),
            graph("a").normalize().expect("valid").content_hash()
        );
        assert!(changes(&a, &a).is_empty());
        let mut b = a.clone();
        b.compliance_state = "noncompliant".into();
        b.os_version = Some("10.0.26100".into());
        b.last_check_in = Some("2026-12-02T10:00:00.000000Z".into());
        assert_ne!(a.content_hash(), b.content_hash());
        let kinds: Vec<_> = changes(&a, &b).iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["posture_changed", "os_changed"]);
        let posture = &changes(&a, &b)[0].details["changes"];
        assert_eq!(posture.as_array().map(Vec::len), Some(1), "{posture}");
        assert_eq!(posture[0]["field"], "compliance_state");
    }

    #[test]
    fn identifiers_are_masked_to_a_hint() {
        assert_eq!(mask_serial("PF2K7F3A"), "****7F3A");
        assert_eq!(mask_serial("7F3A"), "****");
        assert_eq!(mask_serial(""), "****");
        assert_eq!(mask_upn("jane.doe@contoso.com"), "j***@contoso.com");
        assert_eq!(mask_upn("nodomain"), "n***");
        assert!(!mask_upn("jane.doe@contoso.com").contains("jane"));
        assert!(!mask_serial("PF2K7F3A").contains("PF2K"));
    }
}
