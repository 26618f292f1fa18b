//! Jitter: each tick of a timer fires at its due time plus a pseudo-random offset in
//! `[0, max)`, the same for a seed on every run. The offsets come from SplitMix64 (Guy
//! Steele, Doug Lea and Christine Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014; the finaliser constants are Sebastiano Vigna's), a stateless
//! function of the seed and the tick's due time on the timer's time line, so a timer keeps
//! no generator state and a tick's offset does not depend on how often it was polled.

use std::hash::BuildHasher;
use std::time::Duration;

use crate::Error;

/// The golden-ratio increment of SplitMix64's state.
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A timer's jitter: offsets below `max_us`, drawn from `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Jitter {
    pub(crate) max_us: u64,
    pub(crate) seed: u64,
}

impl Jitter {
    /// A seed of its own for a timer given none: from std's per-instance random hash
    /// keys, so that timers in different processes (a fleet) do not jitter alike.
    pub(crate) fn random_seed() -> u64 {
        std::collections::hash_map::RandomState::new().hash_one(GOLDEN_GAMMA)
    }

    /// Refuses an interval shorter than the jitter: a tick would fire after the next one
    /// is due. The one rule of the builder, `set_interval` and the handles.
    pub(crate) fn check(max_us: u64, interval: Duration, interval_us: u64) -> Result<(), Error> {
        if max_us > interval_us {
            return Err(Error::JitterTooLong {
                jitter: Duration::from_micros(max_us),
                interval,
            });
        }
        Ok(())
    }

    /// The offset of the tick due `due_us` microseconds into the time line: in
    /// `[0, max)` µs. It depends on nothing else, so a pending tick's offset never changes.
    /// Hashing wraps by design.
    pub(crate) fn offset_us(&self, due_us: u64) -> u64 {
        let max = self.max_us;
        let random = splitmix64(self.seed.wrapping_add(due_us.wrapping_mul(GOLDEN_GAMMA)));
        // Lemire's multiply-shift: `random / 2^64 * max`, without a division.
        ((u128::from(random) * u128::from(max)) >> 64) as u64
    }
}

/// SplitMix64's output function.
fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_reference_values() {
        // The first outputs of SplitMix64 seeded with 0 (the reference implementation's
        // `next()`: the state advances by the gamma before mixing).
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn offsets_stay_below_the_bound() {
        let jitter = Jitter {
            max_us: 1_000,
            seed: 42,
        };
        for due in (0..100_000).step_by(997) {
            assert!(jitter.offset_us(due) < 1_000);
        }
    }
}
