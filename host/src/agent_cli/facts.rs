//! Host facts the reference agent reads from the local machine (Linux): hostname,
//! `/etc/os-release`, interfaces (addresses and MACs), uptime, and the posture facts it can
//! determine honestly (anything it cannot tell is `null`, never a guess).

use serde_json::{Value, json};
use std::{collections::BTreeSet, path::Path};

/// The heartbeat body for this machine.
pub fn heartbeat(agent_version: &str) -> Value {
    let (os_name, os_version) = os_release(Path::new("/etc/os-release"));
    let (ips, macs) = addresses();
    json!({
        "hostname": hostname(),
        "os": { "name": os_name, "version": os_version },
        "agent_version": agent_version,
        "uptime_seconds": uptime(),
        "ips": ips,
        "macs": macs,
        "posture": {
            "disk_encryption": disk_encryption(),
            "firewall": firewall(),
            "screen_lock": Value::Null,
            "os_patch_level": kernel_release(),
        },
    })
}

pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| read_trimmed("/etc/hostname"))
        .unwrap_or_else(|| "unknown-host".into())
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `NAME` and `VERSION_ID` (or `VERSION`, then `BUILD_ID`) from os-release.
pub fn os_release(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    parse_os_release(&text)
}

fn parse_os_release(text: &str) -> (String, String) {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    let name = field("NAME").unwrap_or_else(|| std::env::consts::OS.to_owned());
    let version = field("VERSION_ID")
        .or_else(|| field("VERSION"))
        .or_else(|| field("BUILD_ID"))
        .unwrap_or_else(|| "unknown".into());
    (name, version)
}

fn uptime() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(secs as u64)
}

/// Non-loopback addresses and MACs of the machine's interfaces.
fn addresses() -> (Vec<String>, Vec<String>) {
    let ips: BTreeSet<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .map(|i| i.ip().to_string())
        .take(64)
        .collect();
    let mut macs = BTreeSet::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for entry in dir.flatten() {
            if entry.file_name() == "lo" {
                continue;
            }
            if let Some(mac) = read_trimmed(&format!("{}/address", entry.path().display()))
                && mac != "00:00:00:00:00:00"
                && mac.split(':').count() == 6
            {
                macs.insert(mac);
            }
        }
    }
    (
        ips.into_iter().collect(),
        macs.into_iter().take(64).collect(),
    )
}

/// True when a block device is a dm-crypt mapping (LUKS); false when there are block devices
/// and none is; null when it cannot tell.
fn disk_encryption() -> Option<bool> {
    let dir = std::fs::read_dir("/sys/block").ok()?;
    let mut any = false;
    for entry in dir.flatten() {
        any = true;
        let uuid = read_trimmed(&format!("{}/dm/uuid", entry.path().display()));
        if uuid.is_some_and(|u| u.starts_with("CRYPT-")) {
            return Some(true);
        }
    }
    any.then_some(false)
}

/// True when netfilter has tables loaded (iptables or nftables); null when it cannot tell.
fn firewall() -> Option<bool> {
    let iptables = std::fs::read_to_string("/proc/net/ip_tables_names").ok();
    match iptables {
        Some(names) if !names.trim().is_empty() => Some(true),
        _ => None,
    }
}

fn kernel_release() -> Option<String> {
    read_trimmed("/proc/sys/kernel/osrelease")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_fields_are_read() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n";
        assert_eq!(
            parse_os_release(text),
            ("Debian GNU/Linux".into(), "12".into())
        );
        let (_, version) = parse_os_release("NAME=Arch Linux\nBUILD_ID=rolling\n");
        assert_eq!(version, "rolling");
    }

    #[test]
    fn this_machine_yields_a_valid_heartbeat() {
        let body = heartbeat("0.1.0");
        let hb: crate::agents::heartbeat::Heartbeat =
            serde_json::from_value(body).expect("the server's own schema accepts it");
        hb.validate().expect("valid");
    }
}
