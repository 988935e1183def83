//! Where a webhook may be sent. Subscriptions name a URL; every attempt resolves its host again
//! and connects only to addresses this guard allows: public unicast addresses, plus the networks
//! an operator allow-lists (`GRC_WEBHOOKS__ALLOW_PRIVATE`). Loopback, private (RFC 1918, ULA),
//! link-local (cloud metadata lives there), CGNAT, multicast, unspecified, documentation and
//! other special-purpose ranges are refused. The check runs inside the HTTP client's resolver,
//! so the address that is checked is the address that is dialled (no DNS rebinding window), and
//! redirects are never followed.

use ipnet::IpNet;
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Longest accepted URL.
pub const MAX_URL_LEN: usize = 2048;

/// Which addresses deliveries may reach. Other outbound clients (the Intune Graph client) use
/// the same guard with their own allow-list setting, named in refusals.
#[derive(Debug, Clone)]
pub struct TargetGuard {
    allowed: Arc<Vec<IpNet>>,
    setting: &'static str,
}

const WEBHOOKS_SETTING: &str = "GRC_WEBHOOKS__ALLOW_PRIVATE";

impl Default for TargetGuard {
    fn default() -> Self {
        TargetGuard {
            allowed: Arc::default(),
            setting: WEBHOOKS_SETTING,
        }
    }
}

impl TargetGuard {
    /// Parses the operator allow-list; a malformed entry stops the server from starting.
    pub fn new(allow_private: &[String]) -> anyhow::Result<Self> {
        Self::for_setting(allow_private, WEBHOOKS_SETTING)
    }

    /// [`Self::new`] for another client whose allow-list is the setting `setting`.
    pub fn for_setting(allow_private: &[String], setting: &'static str) -> anyhow::Result<Self> {
        let allowed = allow_private
            .iter()
            .map(|raw| {
                raw.trim().parse::<IpNet>().or_else(|_| {
                    raw.trim().parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                        anyhow::anyhow!("{setting}: '{raw}' is not a CIDR such as 10.0.0.0/8")
                    })
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(TargetGuard {
            allowed: Arc::new(allowed),
            setting,
        })
    }

    fn allow_listed(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// `Err` names why `ip` may not be dialled.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let ip = canonical(ip);
        if self.allow_listed(ip) {
            return Ok(());
        }
        match special_purpose(ip) {
            None => Ok(()),
            Some(kind) => Err(format!(
                "{ip} is a {kind} address; outbound calls go to public addresses unless an \
                 operator allows the network ({})",
                self.setting
            )),
        }
    }

    /// Checks a subscription URL when it is saved: http(s) only, no credentials in it, a host,
    /// and (for a literal IP or `localhost`) an allowed address. Hostnames are checked again at
    /// every attempt, after resolution. Plain `http` is accepted only for allow-listed targets,
    /// so signed events never cross a public network unencrypted.
    pub fn check_url(&self, raw: &str) -> Result<Url, String> {
        if raw.len() > MAX_URL_LEN {
            return Err(format!("longer than {MAX_URL_LEN} characters"));
        }
        let url = Url::parse(raw.trim()).map_err(|e| format!("not an absolute URL: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err("must be an https:// URL".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry credentials; receivers verify the webhook-signature header".into(),
            );
        }
        if url.fragment().is_some() {
            return Err("must not have a #fragment".into());
        }
        let literal = match url.host() {
            None => return Err("needs a host".into()),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = literal {
            self.check_ip(ip)?;
        }
        if url.scheme() == "http" && !literal.is_some_and(|ip| self.allow_listed(canonical(ip))) {
            return Err(format!(
                "must be https:// (plain http is accepted only for networks an operator \
                 allow-lists with {})",
                self.setting
            ));
        }
        Ok(url)
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The kind of special-purpose range `ip` is in, or `None` for a public unicast address.
fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("multicast or reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (CGNAT)")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("documentation or benchmarking")
    } else if a == 192 && b == 0 && c == 0 {
        Some("IETF protocol assignment")
    } else {
        None
    }
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("private (unique local)")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if first == 0x64 && ip.segments()[1] == 0xff9b {
        Some("NAT64")
    } else {
        None
    }
}

/// The HTTP client's resolver: the system resolver, then the guard. A name whose addresses are
/// all refused fails the attempt with the guard's reason.
pub struct GuardedResolver(pub TargetGuard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(resolve_guarded(self.0.clone(), name.as_str().to_owned()))
    }
}

async fn resolve_guarded(
    guard: TargetGuard,
    host: String,
) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    let mut refused = None;
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|addr| match guard.check_ip(addr.ip()) {
            Ok(()) => true,
            Err(why) => {
                refused.get_or_insert(why);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        let why = refused.unwrap_or_else(|| format!("{host} has no address"));
        return Err(format!("refused: {host}: {why}").into());
    }
    Ok(Box::new(allowed.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn special_purpose_addresses_are_refused_by_default() {
        let guard = TargetGuard::default();
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(guard.check_ip(ip(bad)).is_err(), "{bad} must be refused");
        }
        for good in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(guard.check_ip(ip(good)).is_ok(), "{good} must be allowed");
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_its_networks() {
        let guard =
            TargetGuard::new(&["127.0.0.1/32".into(), "10.0.0.0/8".into()]).expect("allow-list");
        assert!(guard.check_ip(ip("127.0.0.1")).is_ok());
        assert!(guard.check_ip(ip("10.9.9.9")).is_ok());
        assert!(guard.check_ip(ip("127.0.0.2")).is_err());
        assert!(guard.check_ip(ip("192.168.0.1")).is_err());
        assert!(TargetGuard::new(&["not a cidr".into()]).is_err());
    }

    #[test]
    fn urls_are_checked_when_saved() {
        let strict = TargetGuard::default();
        assert!(strict.check_url("https://hooks.example.com/grc").is_ok());
        for bad in [
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest",
            "http://hooks.example.com/",
            "not a url",
        ] {
            assert!(strict.check_url(bad).is_err(), "{bad} must be refused");
        }
        let local = TargetGuard::new(&["127.0.0.1/32".into()]).expect("allow-list");
        assert!(local.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(local.check_url("http://hooks.example.com/").is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_private_addresses() {
        use reqwest::dns::Resolve;
        let name = |s: &str| s.parse::<reqwest::dns::Name>().expect("name");
        let strict = GuardedResolver(TargetGuard::default());
        let refused = strict
            .resolve(name("localhost"))
            .await
            .err()
            .expect("refused");
        assert!(refused.to_string().contains("loopback"), "{refused}");
        let open = GuardedResolver(
            TargetGuard::new(&["127.0.0.0/8".into(), "::1/128".into()]).expect("allow-list"),
        );
        let addrs: Vec<SocketAddr> = open
            .resolve(name("localhost"))
            .await
            .expect("allowed")
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
