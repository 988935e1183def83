//! When to try a failed delivery again: exponential backoff with jitter.

use std::time::Duration;

/// The wait before attempt `next` (2 = the first retry): `base · 2^(next-2)`, capped at `max`,
/// scaled by `jitter` (a factor in 0.75..=1.25 the caller draws; tests pass 1.0).
pub fn delay(next: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exponent = next.saturating_sub(2).min(30);
    let raw = base.saturating_mul(1u32 << exponent).min(max);
    raw.mul_f64(jitter.clamp(0.75, 1.25))
}

/// A jitter factor in 0.75..=1.25.
pub fn jitter() -> f64 {
    rand::random_range(0.75..=1.25)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_stop_at_the_cap() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(60);
        let d = |n| delay(n, base, max, 1.0).as_secs();
        assert_eq!([d(2), d(3), d(4), d(5), d(40)], [10, 20, 40, 60, 60]);
        assert_eq!(delay(2, base, max, 0.75), Duration::from_millis(7500));
        assert_eq!(delay(2, base, max, 9.0), Duration::from_millis(12500));
    }
}
