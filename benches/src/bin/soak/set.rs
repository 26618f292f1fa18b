//! `soak --set`, the set-based soak: one `TimerSet` of a million entries (periods 100 ms to 10 s) driven
//! by one task on the real clock, half of them never touched, half reset at random
//! (100,000 resets a second). Checks every tick: on its entry's grid (of the last reset),
//! never twice for one due time; and at the end, that every entry delivered exactly the
//! ticks due since its last start (within one, for the tick due at the very end); and
//! that resident memory stayed flat after warm-up.

use std::time::Duration;

use kadenz::policy::TriggerAllMissed;
use kadenz::{Timer, TimerSet};
use tokio::time::Instant;

use super::{rss_kib, Rng};

/// Entries in the set.
pub const SET_ENTRIES: u32 = 1_000_000;
/// Resets a second, spread over the reset half.
const RESETS_PER_SEC: u32 = 100_000;
/// Resident memory may grow this much after warm-up: allocator caches and the set's
/// chunk arena settle.
pub const SET_RSS_SLACK_KIB: u64 = 8_192;

/// What the soak of a set found: failures (at most a few kept), memory samples.
pub struct SetSoak {
    pub failures: Vec<String>,
    pub failed_entries: u64,
    pub ticks: u64,
    pub resets: u64,
    pub warm_rss: Option<u64>,
    pub end_rss: u64,
    pub peak_rss: u64,
    pub memory_per_entry: usize,
}

fn period(key: u32) -> Duration {
    Duration::from_millis(100 + u64::from(key.wrapping_mul(7919) % 9_901))
}

pub fn soak_set(secs: u64, warm_second: u64) -> SetSoak {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let n = SET_ENTRIES as usize;
        let mut set = TimerSet::with_capacity(n);
        // Per entry: where its grid starts (the last start), and the ticks since then.
        let mut origin = Vec::with_capacity(n);
        let mut last_due: Vec<Option<Instant>> = vec![None; n];
        let mut count = vec![0u32; n];
        for key in 0..SET_ENTRIES {
            // Phases spread over the period, so that ticks come all the time.
            let delay = Duration::from_micros(u64::from(key.wrapping_mul(2_654_435_761)) % period(key).as_micros() as u64);
            let timer = Timer::builder(period(key))
                .missed_tick_policy(TriggerAllMissed)
                .start_delay(delay);
            set.insert(key, timer).unwrap();
            origin.push(set.deadline(&key).unwrap() - period(key));
        }
        let memory_per_entry = set.memory() / n;
        let start = Instant::now();
        let end = start + Duration::from_secs(secs);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut resets_tick = Timer::periodic(Duration::from_millis(1));
        let mut second = Timer::periodic(Duration::from_secs(1));
        let (mut warm_rss, mut peak_rss) = (None, 0);
        let end_rss;
        let mut failures = Vec::new();
        let mut failed = vec![false; n];
        let (mut ticks, mut resets) = (0u64, 0u64);
        let mut fail = |key: u32, what: String, failures: &mut Vec<String>| {
            if !std::mem::replace(&mut failed[key as usize], true) && failures.len() < 10 {
                failures.push(format!("entry {key}: {what}"));
            }
        };
        loop {
            tokio::select! {
                biased;
                Some(tick) = second.tick() => {
                    let rss = rss_kib();
                    peak_rss = peak_rss.max(rss);
                    let elapsed = (tick.scheduled() - start).as_secs();
                    if elapsed == warm_second {
                        warm_rss = Some(rss);
                    }
                    if tick.scheduled() >= end {
                        end_rss = rss;
                        break;
                    }
                }
                Some(_) = resets_tick.tick() => {
                    // The odd keys are the reset half.
                    for _ in 0..RESETS_PER_SEC / 1_000 {
                        let key = (rng.below(u64::from(SET_ENTRIES / 2)) * 2 + 1) as u32;
                        set.reset(&key);
                        origin[key as usize] = set.deadline(&key).unwrap() - period(key);
                        count[key as usize] = 0;
                        resets += 1;
                    }
                }
                (key, tick) = set.next() => {
                    if tick.scheduled() > end {
                        continue;
                    }
                    ticks += 1;
                    let k = key as usize;
                    count[k] += 1;
                    let want = origin[k] + period(key) * count[k];
                    if tick.scheduled() != want {
                        fail(key, format!("tick due at {:?}, its grid says {:?}", tick.scheduled() - start, want.checked_duration_since(start)), &mut failures);
                    }
                    if last_due[k].is_some_and(|last| tick.scheduled() <= last) {
                        fail(key, "a due time delivered twice".into(), &mut failures);
                    }
                    last_due[k] = Some(tick.scheduled());
                }
            }
        }
        // Every entry: the ticks due from its last start to the end, within one (the tick
        // due in the last moments may still be on its way).
        for key in 0..SET_ENTRIES {
            let k = key as usize;
            let due = (end - origin[k]).as_micros() / period(key).as_micros();
            if u128::from(count[k]).abs_diff(due) > 1 {
                fail(key, format!("{} ticks for {due} due", count[k]), &mut failures);
            }
        }
        SetSoak {
            failed_entries: failed.iter().filter(|&&f| f).count() as u64,
            failures,
            ticks,
            resets,
            warm_rss,
            end_rss,
            peak_rss,
            memory_per_entry,
        }
    })
}
