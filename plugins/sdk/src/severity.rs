//! Severity ordering and parsing.
//!
//! The derived `Ord` of [`Severity`] follows the WIT declaration order, most severe first
//! (`Critical < High < … < Info`), which reads backwards. Use [`Severity::rank`],
//! [`Severity::at_least`] and [`Severity::above`] for "how bad" comparisons:
//! critical > high > medium > low > info.

use crate::Severity;
use core::fmt;

impl Severity {
    /// All severities, most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// How bad a severity is: critical 4, high 3, medium 2, low 1, info 0.
    pub const fn rank(self) -> u8 {
        match self {
            Severity::Critical => 4,
            Severity::High => 3,
            Severity::Medium => 2,
            Severity::Low => 1,
            Severity::Info => 0,
        }
    }

    /// True if `self` is as bad as `threshold` or worse (`High.at_least(Medium)` is true).
    pub const fn at_least(self, threshold: Severity) -> bool {
        self.rank() >= threshold.rank()
    }

    /// True if `self` is strictly worse than `threshold` (`High.above(High)` is false).
    pub const fn above(self, threshold: Severity) -> bool {
        self.rank() > threshold.rank()
    }

    /// Compares by badness: `Critical.cmp_badness(High)` is `Greater`.
    pub fn cmp_badness(self, other: Severity) -> core::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }

    /// The lower-case WIT name: `critical`, `high`, `medium`, `low` or `info`.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Parses a severity name, ignoring ASCII case and surrounding whitespace. Accepts the WIT
    /// names plus the common aliases `moderate` (medium) and `informational` (info).
    pub fn parse(name: &str) -> Option<Severity> {
        let name = name.trim();
        let is = |s: &str| name.eq_ignore_ascii_case(s);
        if is("critical") {
            Some(Severity::Critical)
        } else if is("high") {
            Some(Severity::High)
        } else if is("medium") || is("moderate") {
            Some(Severity::Medium)
        } else if is("low") {
            Some(Severity::Low)
        } else if is("info") || is("informational") {
            Some(Severity::Info)
        } else {
            None
        }
    }
}

/// The worst severity among `severities`, or `None` if there are none.
pub fn most_severe(severities: impl IntoIterator<Item = Severity>) -> Option<Severity> {
    severities.into_iter().max_by_key(|s| s.rank())
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_by_badness() {
        assert!(Severity::Critical.above(Severity::High));
        assert!(Severity::High.at_least(Severity::High));
        assert!(!Severity::Low.at_least(Severity::Medium));
        let worst = most_severe([Severity::Low, Severity::Critical, Severity::Info]);
        assert_eq!(worst, Some(Severity::Critical));
        assert_eq!(most_severe([]), None);
    }

    #[test]
    fn parsing() {
        assert_eq!(Severity::parse(" HIGH "), Some(Severity::High));
        assert_eq!(Severity::parse("moderate"), Some(Severity::Medium));
        assert_eq!(Severity::parse("severe"), None);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.name()), Some(s));
        }
    }
}
