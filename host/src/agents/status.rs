//! An agent's status, derived when read: `revoked` once revoked; otherwise from the age of its
//! last heartbeat against the configured thresholds (`online`, `stale`, `offline`; an agent
//! that never sent one is `offline`).

use super::settings::AgentSettings;
use chrono::{DateTime, Utc};

pub fn status(
    revoked: bool,
    last_heartbeat: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &AgentSettings,
) -> &'static str {
    if revoked {
        return "revoked";
    }
    let Some(last) = last_heartbeat else {
        return "offline";
    };
    let age = (now - last).num_seconds().max(0).unsigned_abs();
    if age <= settings.stale_after_secs {
        "online"
    } else if age <= settings.offline_after_secs {
        "stale"
    } else {
        "offline"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_decide_the_status() {
        let s = AgentSettings::default();
        let now = Utc::now();
        let ago = |secs| Some(now - chrono::Duration::seconds(secs));
        assert_eq!(status(false, ago(5), now, &s), "online");
        assert_eq!(status(false, ago(300), now, &s), "stale");
        assert_eq!(status(false, ago(3600), now, &s), "offline");
        assert_eq!(status(false, None, now, &s), "offline");
        assert_eq!(status(true, ago(5), now, &s), "revoked");
    }
}
