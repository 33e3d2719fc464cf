//! How long a transiently failed job waits before its next attempt.

use std::time::Duration;

/// Exponential backoff, capped, with jitter: the wait before retry `n`
/// (1-based) is `base * 2^(n-1)`, at most `max`, scaled by a random factor
/// in `[1 - jitter, 1]` so retries of many jobs spread out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// How much of the wait may be shaved off at random, 0.0 to 1.0.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// No wait at all (tests, or jobs that should retry at once).
    pub const NONE: Backoff = Backoff {
        base: Duration::ZERO,
        max: Duration::ZERO,
        jitter: 0.0,
    };

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let uncapped = self.base.saturating_mul(1u32 << exponent);
        let capped = uncapped.min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        capped.mul_f64(1.0 - jitter * fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_without_jitter() {
        let b = Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(10),
            jitter: 0.0,
        };
        let delays: Vec<u64> = (1..=5).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 10, 10]);
        assert_eq!(b.delay(u32::MAX).as_secs(), 10);
    }

    #[test]
    fn jitter_stays_within_its_band() {
        let b = Backoff {
            base: Duration::from_secs(8),
            max: Duration::from_secs(60),
            jitter: 0.5,
        };
        for _ in 0..1000 {
            let d = b.delay(1);
            assert!(
                d >= Duration::from_secs(4) && d <= Duration::from_secs(8),
                "{d:?}"
            );
        }
    }
}
