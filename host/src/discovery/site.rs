//! A discovery site as an owner or admin defines it, validated: its network ranges (CIDR), the
//! techniques it allows, and its time windows; and the check of a request's targets against
//! the ranges.

use super::window::Window;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeSet, net::IpAddr};
use utoipa::ToSchema;

/// The techniques a site may allow. Nothing here runs them: a collector asks before it does.
pub const TECHNIQUES: [&str; 9] = [
    "ping",
    "arp",
    "snmp",
    "wmi",
    "port_scan",
    "mdns",
    "netbios",
    "reverse_dns",
    "ssh_banner",
];

/// Bounds on what one site holds.
pub const MAX_RANGES: usize = 64;
pub const MAX_WINDOWS: usize = 16;
/// Bounds on one decision request.
pub const MAX_TARGETS: usize = 256;

/// A site's definition as sent and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// Network ranges in CIDR notation (IPv4 or IPv6), e.g. `10.20.0.0/16`; 1–64.
    pub ranges: Vec<String>,
    /// The techniques collectors may use here: `ping`, `arp`, `snmp`, `wmi`, `port_scan`,
    /// `mdns`, `netbios`, `reverse_dns`, `ssh_banner`.
    pub techniques: Vec<String>,
    /// Weekly UTC windows when discovery may run; none means any time.
    #[serde(default)]
    pub windows: Vec<Window>,
}

/// Why a definition was refused: the field and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub loc: Vec<String>,
    pub msg: String,
}

fn invalid(loc: &[&str], msg: impl Into<String>) -> Invalid {
    Invalid {
        loc: loc.iter().map(|s| (*s).to_owned()).collect(),
        msg: msg.into(),
    }
}

impl SiteSpec {
    /// Checks and normalizes the definition: the name trimmed, ranges in canonical network
    /// form (`10.0.0.7/8` is refused: say `10.0.0.0/8`), techniques de-duplicated and sorted.
    pub fn normalized(mut self) -> Result<Self, Invalid> {
        self.name =
            crate::domain::text::label(&self.name, 100).map_err(|m| invalid(&["name"], m))?;
        if self.description.chars().count() > 1000 {
            return Err(invalid(&["description"], "at most 1000 characters"));
        }
        if self.ranges.is_empty() || self.ranges.len() > MAX_RANGES {
            return Err(invalid(
                &["ranges"],
                format!("1 to {MAX_RANGES} CIDR ranges"),
            ));
        }
        let mut ranges = BTreeSet::new();
        for (i, raw) in self.ranges.iter().enumerate() {
            let net: IpNet = raw.trim().parse().map_err(|_| {
                invalid(
                    &["ranges", &i.to_string()],
                    format!("`{raw}` is not a CIDR range such as 10.20.0.0/16"),
                )
            })?;
            if net.trunc() != net {
                return Err(invalid(
                    &["ranges", &i.to_string()],
                    format!("`{raw}` has host bits set: did you mean {}?", net.trunc()),
                ));
            }
            ranges.insert(net.to_string());
        }
        self.ranges = ranges.into_iter().collect();
        if self.techniques.is_empty() {
            return Err(invalid(
                &["techniques"],
                format!("name at least one of {}", TECHNIQUES.join(", ")),
            ));
        }
        let mut techniques = BTreeSet::new();
        for (i, t) in self.techniques.iter().enumerate() {
            if !TECHNIQUES.contains(&t.as_str()) {
                return Err(invalid(
                    &["techniques", &i.to_string()],
                    format!(
                        "`{t}` is not a technique; use one of {}",
                        TECHNIQUES.join(", ")
                    ),
                ));
            }
            techniques.insert(t.clone());
        }
        self.techniques = techniques.into_iter().collect();
        if self.windows.len() > MAX_WINDOWS {
            return Err(invalid(
                &["windows"],
                format!("at most {MAX_WINDOWS} windows"),
            ));
        }
        for (i, w) in self.windows.iter_mut().enumerate() {
            if let Some(problem) = w.problem() {
                return Err(invalid(&["windows", &i.to_string()], problem));
            }
            let days: BTreeSet<usize> = w
                .days
                .iter()
                .filter_map(|d| super::window::DAYS.iter().position(|x| x == d))
                .collect();
            w.days = days
                .into_iter()
                .map(|d| super::window::DAYS[d].to_owned())
                .collect();
        }
        Ok(self)
    }

    /// The ranges as networks (stored ranges are already valid).
    pub fn networks(&self) -> Vec<IpNet> {
        self.ranges.iter().filter_map(|r| r.parse().ok()).collect()
    }
}

/// Parses a request's targets: addresses (`10.20.1.5`) or CIDR blocks (`10.20.1.0/24`).
pub fn parse_targets(raw: &[String]) -> Result<Vec<IpNet>, Invalid> {
    if raw.is_empty() || raw.len() > MAX_TARGETS {
        return Err(invalid(
            &["targets"],
            format!("1 to {MAX_TARGETS} addresses or CIDR blocks"),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, t)| {
            let t = t.trim();
            t.parse::<IpAddr>()
                .map(IpNet::from)
                .or_else(|_| t.parse::<IpNet>().map(|n| n.trunc()))
                .map_err(|_| {
                    invalid(
                        &["targets", &i.to_string()],
                        format!("`{t}` is not an IP address or CIDR block"),
                    )
                })
        })
        .collect()
}

/// Whether every target lies inside one of `ranges`.
pub fn all_inside(targets: &[IpNet], ranges: &[IpNet]) -> bool {
    targets.iter().all(|t| ranges.iter().any(|r| r.contains(t)))
}

/// Whether `ip` lies inside one of `targets`.
pub fn covers(targets: &[IpNet], ip: IpAddr) -> bool {
    targets.iter().any(|t| t.contains(&ip))
}

/// How many addresses the targets span (saturating; an IPv6 /64 is a lot).
pub fn address_count(targets: &[IpNet]) -> i64 {
    targets.iter().fold(0i64, |sum, t| {
        let host_bits = u32::from(t.max_prefix_len() - t.prefix_len());
        let n = if host_bits >= 62 {
            i64::MAX / 4
        } else {
            1i64 << host_bits
        };
        sum.saturating_add(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ranges: &[&str], techniques: &[&str]) -> SiteSpec {
        SiteSpec {
            name: " HQ ".into(),
            description: String::new(),
            ranges: ranges.iter().map(|r| (*r).to_owned()).collect(),
            techniques: techniques.iter().map(|t| (*t).to_owned()).collect(),
            windows: Vec::new(),
        }
    }

    #[test]
    fn ranges_and_techniques_are_checked_and_normalized() {
        let s = spec(
            &["10.20.0.0/16", "fd00::/8", "10.20.0.0/16"],
            &["arp", "ping", "arp"],
        )
        .normalized()
        .expect("valid");
        assert_eq!(s.name, "HQ");
        assert_eq!(s.ranges, vec!["10.20.0.0/16", "fd00::/8"]);
        assert_eq!(s.techniques, vec!["arp", "ping"]);
        let host_bits = spec(&["10.20.1.7/16"], &["arp"]).normalized();
        assert!(
            host_bits.is_err_and(|e| e.msg.contains("10.20.0.0/16") && e.loc == ["ranges", "0"])
        );
        assert!(spec(&["10.20.0.0/33"], &["arp"]).normalized().is_err());
        assert!(spec(&[], &["arp"]).normalized().is_err());
        let unknown = spec(&["10.0.0.0/8"], &["nmap"]).normalized();
        assert!(unknown.is_err_and(|e| e.msg.contains("`nmap`")));
    }

    #[test]
    fn targets_must_lie_inside_the_ranges() -> Result<(), Invalid> {
        let ranges = spec(&["10.20.0.0/16"], &["arp"]).normalized()?.networks();
        let inside = parse_targets(&["10.20.1.5".into(), "10.20.2.0/24".into()])?;
        assert!(all_inside(&inside, &ranges));
        assert_eq!(address_count(&inside), 257);
        let straddles = parse_targets(&["10.20.0.0/15".into()])?;
        assert!(!all_inside(&straddles, &ranges));
        let outside = parse_targets(&["192.168.1.1".into()])?;
        assert!(!all_inside(&outside, &ranges));
        assert!(covers(
            &inside,
            "10.20.2.9".parse().map_err(|_| invalid(&[], ""))?
        ));
        assert!(parse_targets(&["host.example".into()]).is_err());
        assert!(parse_targets(&[]).is_err());
        Ok(())
    }
}
