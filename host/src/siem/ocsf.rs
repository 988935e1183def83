//! OCSF normalization: the classes this server accepts, and turning one submitted event (an OCSF
//! object, kept whole as `raw`) into the normalized fields that are stored and searched. Only
//! the fields search and detail need are interpreted; everything else rides along in `raw`.

use serde_json::{Map, Value, json};
use std::net::IpAddr;

/// One OCSF event class: `uid`, name, and its category (`uid / 1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcsfClass {
    pub uid: i64,
    pub name: &'static str,
}

impl OcsfClass {
    pub fn category_uid(&self) -> i64 {
        self.uid / 1000
    }
}

/// The OCSF 1.x classes accepted at ingest (a subset: the ones log sources commonly emit).
pub const CLASSES: &[OcsfClass] = &[
    OcsfClass {
        uid: 1001,
        name: "File System Activity",
    },
    OcsfClass {
        uid: 1002,
        name: "Kernel Extension Activity",
    },
    OcsfClass {
        uid: 1003,
        name: "Kernel Activity",
    },
    OcsfClass {
        uid: 1004,
        name: "Memory Activity",
    },
    OcsfClass {
        uid: 1005,
        name: "Module Activity",
    },
    OcsfClass {
        uid: 1006,
        name: "Scheduled Job Activity",
    },
    OcsfClass {
        uid: 1007,
        name: "Process Activity",
    },
    OcsfClass {
        uid: 2001,
        name: "Security Finding",
    },
    OcsfClass {
        uid: 2002,
        name: "Vulnerability Finding",
    },
    OcsfClass {
        uid: 2003,
        name: "Compliance Finding",
    },
    OcsfClass {
        uid: 2004,
        name: "Detection Finding",
    },
    OcsfClass {
        uid: 3001,
        name: "Account Change",
    },
    OcsfClass {
        uid: 3002,
        name: "Authentication",
    },
    OcsfClass {
        uid: 3003,
        name: "Authorize Session",
    },
    OcsfClass {
        uid: 3004,
        name: "Entity Management",
    },
    OcsfClass {
        uid: 3005,
        name: "User Access Management",
    },
    OcsfClass {
        uid: 3006,
        name: "Group Management",
    },
    OcsfClass {
        uid: 4001,
        name: "Network Activity",
    },
    OcsfClass {
        uid: 4002,
        name: "HTTP Activity",
    },
    OcsfClass {
        uid: 4003,
        name: "DNS Activity",
    },
    OcsfClass {
        uid: 4004,
        name: "DHCP Activity",
    },
    OcsfClass {
        uid: 4005,
        name: "RDP Activity",
    },
    OcsfClass {
        uid: 4006,
        name: "SMB Activity",
    },
    OcsfClass {
        uid: 4007,
        name: "SSH Activity",
    },
    OcsfClass {
        uid: 4008,
        name: "FTP Activity",
    },
    OcsfClass {
        uid: 4009,
        name: "Email Activity",
    },
    OcsfClass {
        uid: 5001,
        name: "Device Inventory Info",
    },
    OcsfClass {
        uid: 5002,
        name: "Device Config State",
    },
    OcsfClass {
        uid: 5003,
        name: "User Inventory Info",
    },
    OcsfClass {
        uid: 6001,
        name: "Web Resources Activity",
    },
    OcsfClass {
        uid: 6002,
        name: "Application Lifecycle",
    },
    OcsfClass {
        uid: 6003,
        name: "API Activity",
    },
    OcsfClass {
        uid: 6005,
        name: "Datastore Activity",
    },
    OcsfClass {
        uid: 6006,
        name: "File Hosting Activity",
    },
];

pub fn class(uid: i64) -> Option<&'static OcsfClass> {
    CLASSES.iter().find(|c| c.uid == uid)
}

pub fn class_name(uid: i64) -> &'static str {
    class(uid).map_or("Unknown", |c| c.name)
}

pub fn category_name(uid: i64) -> &'static str {
    match uid {
        1 => "System Activity",
        2 => "Findings",
        3 => "Identity & Access Management",
        4 => "Network Activity",
        5 => "Discovery",
        6 => "Application Activity",
        _ => "Unknown",
    }
}

/// OCSF `severity_id`: 0–6, and 99 (Other).
pub fn severity_name(id: i64) -> &'static str {
    match id {
        0 => "Unknown",
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        99 => "Other",
        _ => "Unknown",
    }
}

/// The highest ordered severity (99, Other, is not ordered).
pub const MAX_ORDERED_SEVERITY: i64 = 6;
/// Longest `metadata.uid`, subject field or product name.
pub const MAX_TEXT: usize = 256;

/// One event's normalized fields. `time` is the canonical stored form of `time_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedEvent {
    pub uid: String,
    pub time_ms: i64,
    pub time: String,
    pub class_uid: i64,
    pub category_uid: i64,
    pub activity_id: i64,
    pub type_uid: i64,
    pub severity_id: i64,
    pub message: String,
    pub product: Option<String>,
    pub actor_user: Option<String>,
    pub src_ip: Option<String>,
    pub dst: Option<String>,
    pub device_hostname: Option<String>,
    pub status: Option<String>,
    /// The event as submitted, compact JSON.
    pub raw: String,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The event's JSON is `bytes` long, over the limit.
    TooLarge { bytes: usize },
    /// A field is missing or wrong; `loc` is relative to the event.
    Invalid { loc: Vec<Value>, msg: String },
}

/// Limits applied to each event.
#[derive(Debug, Clone, Copy)]
pub struct EventLimits {
    pub max_event_bytes: usize,
    pub max_future_ms: i64,
}

fn invalid(loc: &[&str], msg: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        loc: loc.iter().map(|s| json!(s)).collect(),
        msg: msg.into(),
    }
}

/// A value at `path` (objects only); `None` when absent or null.
fn at<'v>(event: &'v Map<String, Value>, path: &[&str]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let mut value = event.get(*first)?;
    for key in rest {
        value = value.as_object()?.get(*key)?;
    }
    (!value.is_null()).then_some(value)
}

fn integer(event: &Map<String, Value>, path: &[&str]) -> Result<Option<i64>, Refusal> {
    match at(event, path) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| invalid(path, "must be an integer")),
    }
}

fn text(event: &Map<String, Value>, path: &[&str], max: usize) -> Result<Option<String>, Refusal> {
    match at(event, path) {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(invalid(path, format!("at most {max} characters")))
        }
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(path, "must be a string")),
    }
}

fn ip(event: &Map<String, Value>, path: &[&str]) -> Result<Option<String>, Refusal> {
    match text(event, path, MAX_TEXT)? {
        None => Ok(None),
        Some(s) => s
            .parse::<IpAddr>()
            .map(|a| Some(a.to_string()))
            .map_err(|_| invalid(path, "must be an IPv4 or IPv6 address")),
    }
}

/// Validates one submitted event and extracts its normalized fields. `now_ms` is the server's
/// clock in epoch milliseconds.
pub fn normalize(
    value: &Value,
    now_ms: i64,
    limits: EventLimits,
) -> Result<NormalizedEvent, Refusal> {
    let raw = value.to_string();
    if raw.len() > limits.max_event_bytes {
        return Err(Refusal::TooLarge { bytes: raw.len() });
    }
    let Some(event) = value.as_object() else {
        return Err(invalid(&[], "each event must be an OCSF event object"));
    };
    let class_uid =
        integer(event, &["class_uid"])?.ok_or_else(|| invalid(&["class_uid"], "is required"))?;
    let Some(class) = class(class_uid) else {
        let known: Vec<String> = CLASSES.iter().map(|c| c.uid.to_string()).collect();
        return Err(invalid(
            &["class_uid"],
            format!(
                "{class_uid} is not an OCSF class this server accepts (known: {})",
                known.join(", ")
            ),
        ));
    };
    let category_uid = class.category_uid();
    if let Some(given) = integer(event, &["category_uid"])?
        && given != category_uid
    {
        return Err(invalid(
            &["category_uid"],
            format!(
                "class {class_uid} ({}) is in category {category_uid}, not {given}",
                class.name
            ),
        ));
    }
    let activity_id = integer(event, &["activity_id"])?.unwrap_or(0);
    if !(0..=99).contains(&activity_id) {
        return Err(invalid(&["activity_id"], "must be between 0 and 99"));
    }
    let type_uid = class_uid * 100 + activity_id;
    if let Some(given) = integer(event, &["type_uid"])?
        && given != type_uid
    {
        return Err(invalid(
            &["type_uid"],
            format!("must be class_uid * 100 + activity_id = {type_uid}"),
        ));
    }
    let severity_id = integer(event, &["severity_id"])?
        .ok_or_else(|| invalid(&["severity_id"], "is required"))?;
    if !((0..=MAX_ORDERED_SEVERITY).contains(&severity_id) || severity_id == 99) {
        return Err(invalid(
            &["severity_id"],
            "must be 0–6 or 99 (OCSF severity_id)",
        ));
    }
    let time_ms = integer(event, &["time"])?
        .ok_or_else(|| invalid(&["time"], "is required (epoch milliseconds)"))?;
    if time_ms <= 0 {
        return Err(invalid(
            &["time"],
            "must be a positive epoch time in milliseconds",
        ));
    }
    if time_ms > now_ms.saturating_add(limits.max_future_ms) {
        return Err(invalid(
            &["time"],
            format!(
                "is more than {} s in the future (GRC_SIEM__MAX_FUTURE_SECS)",
                limits.max_future_ms / 1000
            ),
        ));
    }
    let at_time = chrono::DateTime::from_timestamp_millis(time_ms)
        .ok_or_else(|| invalid(&["time"], "is out of range"))?;
    if at(event, &["metadata"]).is_none_or(|m| !m.is_object()) {
        return Err(invalid(
            &["metadata"],
            "is required: an object with at least `uid`",
        ));
    }
    let uid = text(event, &["metadata", "uid"], MAX_TEXT)?.ok_or_else(|| {
        invalid(
            &["metadata", "uid"],
            "is required: the event's unique id at its source",
        )
    })?;
    let product = match at(event, &["metadata", "product"]) {
        None => None,
        Some(Value::Object(_)) => text(event, &["metadata", "product", "name"], MAX_TEXT)?,
        Some(Value::String(_)) => text(event, &["metadata", "product"], MAX_TEXT)?,
        Some(_) => {
            return Err(invalid(
                &["metadata", "product"],
                "must be an object (OCSF product)",
            ));
        }
    };
    let message = match at(event, &["message"]) {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid(&["message"], "must be a string")),
    };
    let dst = match ip(event, &["dst_endpoint", "ip"])? {
        Some(a) => Some(a),
        None => text(event, &["dst_endpoint", "hostname"], MAX_TEXT)?,
    };
    Ok(NormalizedEvent {
        uid,
        time_ms,
        time: crate::domain::time::format(at_time),
        class_uid,
        category_uid,
        activity_id,
        type_uid,
        severity_id,
        message,
        product,
        actor_user: text(event, &["actor", "user", "name"], MAX_TEXT)?,
        src_ip: ip(event, &["src_endpoint", "ip"])?,
        dst,
        device_hostname: text(event, &["device", "hostname"], MAX_TEXT)?,
        status: text(event, &["status"], MAX_TEXT)?,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: EventLimits = EventLimits {
        max_event_bytes: 2048,
        max_future_ms: 300_000,
    };
    const NOW: i64 = 1_800_000_000_000;

    fn login() -> Value {
        json!({
            "class_uid": 3002, "category_uid": 3, "activity_id": 1, "type_uid": 300201,
            "severity_id": 2, "time": NOW - 1000, "message": "User alice logged in",
            "metadata": { "uid": "evt-1", "product": { "name": "Okta", "vendor_name": "Okta" } },
            "actor": { "user": { "name": "alice" } },
            "src_endpoint": { "ip": "10.0.0.5" },
            "dst_endpoint": { "hostname": "vpn.example.com" },
            "device": { "hostname": "laptop-7" },
            "status": "Success",
            "unmapped": { "x": 1 }
        })
    }

    #[test]
    fn a_complete_event_normalizes() {
        let e = normalize(&login(), NOW, LIMITS).expect("valid");
        assert_eq!(e.uid, "evt-1");
        assert_eq!((e.class_uid, e.category_uid, e.type_uid), (3002, 3, 300201));
        assert_eq!(e.product.as_deref(), Some("Okta"));
        assert_eq!(e.actor_user.as_deref(), Some("alice"));
        assert_eq!(e.src_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(e.dst.as_deref(), Some("vpn.example.com"));
        assert_eq!(e.device_hostname.as_deref(), Some("laptop-7"));
        assert!(e.time.ends_with('Z'));
        assert!(e.raw.contains("unmapped"));
    }

    #[test]
    fn derived_fields_default_and_must_agree() {
        let mut v = login();
        v.as_object_mut().expect("object").remove("type_uid");
        v.as_object_mut().expect("object").remove("category_uid");
        assert_eq!(normalize(&v, NOW, LIMITS).expect("valid").type_uid, 300201);
        v["type_uid"] = json!(300299);
        assert!(matches!(
            normalize(&v, NOW, LIMITS),
            Err(Refusal::Invalid { .. })
        ));
        let mut v = login();
        v["category_uid"] = json!(4);
        assert!(matches!(
            normalize(&v, NOW, LIMITS),
            Err(Refusal::Invalid { .. })
        ));
    }

    fn refused_at(v: &Value) -> Vec<Value> {
        match normalize(v, NOW, LIMITS) {
            Err(Refusal::Invalid { loc, .. }) => loc,
            other => vec![json!(format!("expected a refusal, got {other:?}"))],
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let mut v = login();
        v["class_uid"] = json!(9999);
        assert_eq!(refused_at(&v), [json!("class_uid")]);
        let mut v = login();
        v["severity_id"] = json!(7);
        assert_eq!(refused_at(&v), [json!("severity_id")]);
        let mut v = login();
        v["metadata"] = json!({ "product": { "name": "x" } });
        assert_eq!(refused_at(&v), [json!("metadata"), json!("uid")]);
        let mut v = login();
        v["time"] = json!(NOW + 3_600_000);
        assert_eq!(refused_at(&v), [json!("time")]);
        let mut v = login();
        v["src_endpoint"]["ip"] = json!("not-an-ip");
        assert_eq!(refused_at(&v), [json!("src_endpoint"), json!("ip")]);
        assert_eq!(refused_at(&json!([1])), Vec::<Value>::new());
    }

    #[test]
    fn an_oversized_event_is_too_large() {
        let mut v = login();
        v["message"] = json!("x".repeat(4096));
        assert!(matches!(
            normalize(&v, NOW, LIMITS),
            Err(Refusal::TooLarge { .. })
        ));
    }
}
