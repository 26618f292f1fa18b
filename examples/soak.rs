//! Soak: 10,000 timers on the real clock for a minute (or as long as you say), half of
//! them periodic and never touched, half of them reset at random, on a multi-thread
//! runtime. At the end it checks that no periodic timer lost or invented a tick, that
//! every tick of a reset timer was on its new schedule, and that resident memory stayed
//! flat after warm-up; it exits with an error if not.
//!
//! ```text
//! cargo run --release --example soak              # 60 s
//! cargo run --release --example soak -- 600       # 10 minutes
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kadenz::Timer;
use tokio::time::Instant;

const TIMERS: u64 = 10_000;
/// Resident memory may grow this much from warm-up to the end before it counts as a leak:
/// allocator caches and the timer wheel's slots settle in the first seconds.
const RSS_SLACK_KIB: u64 = 2_048;

/// A small deterministic generator (xorshift64*), so that runs are repeatable without a
/// dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A periodic timer nobody touches: ticks due by `end`, checked one by one.
async fn steady(interval: Duration, end: Instant) -> Result<(), String> {
    let mut timer = Timer::periodic(interval);
    let origin = timer.deadline().unwrap() - interval;
    let mut count: u32 = 0;
    while let Some(tick) = timer.tick().await {
        if tick.scheduled() > end {
            break;
        }
        count += 1;
        if tick.scheduled() != origin + interval * count {
            return Err(format!(
                "tick {count} due at {:?}, not on the grid",
                tick.scheduled()
            ));
        }
    }
    let due = end.duration_since(origin).as_micros() / interval.as_micros();
    if u128::from(count).abs_diff(due) > 1 {
        return Err(format!("{count} ticks for {due} intervals"));
    }
    Ok(())
}

/// A periodic timer reset at random moments: every tick must be on the grid of its last
/// reset.
async fn reset_at_random(interval: Duration, end: Instant, seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed | 1);
    let mut timer = Timer::periodic(interval);
    let mut origin = timer.deadline().unwrap() - interval;
    let mut next_reset = Instant::now() + interval * (1 + rng.below(20) as u32);
    loop {
        tokio::select! {
            tick = timer.tick() => {
                let tick = tick.expect("never stopped");
                if tick.scheduled() > end {
                    return Ok(());
                }
                let offset = tick.scheduled().duration_since(origin);
                if offset.as_micros() % interval.as_micros() != 0 {
                    return Err(format!("tick off the grid of its last reset by {offset:?}"));
                }
            }
            _ = tokio::time::sleep_until(next_reset) => {
                timer.reset();
                origin = timer.deadline().unwrap() - interval;
                next_reset = Instant::now() + interval * (1 + rng.below(20) as u32);
            }
        }
    }
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let (failures, warm_rss, end_rss, peak_rss) = runtime.block_on(async move {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for i in 0..TIMERS {
            // Intervals from 10 to 250 ms, spread so that wheel slots are busy all the time.
            let interval = Duration::from_millis(10 + (i * 7919) % 241);
            tasks.push(if i % 2 == 0 {
                tokio::spawn(steady(interval, end))
            } else {
                tokio::spawn(reset_at_random(interval, end, i))
            });
        }
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = tokio::spawn({
            let peak = peak.clone();
            async move {
                let mut warm = 0;
                let mut tick = Timer::periodic(Duration::from_secs(1));
                for second in 1.. {
                    tick.tick().await;
                    let rss = rss_kib();
                    peak.fetch_max(rss, Ordering::Relaxed);
                    if second == (secs / 10).max(5) {
                        warm = rss;
                    }
                    if Instant::now() >= end {
                        return (warm, rss);
                    }
                }
                unreachable!()
            }
        });
        let mut failures = Vec::new();
        for task in tasks {
            if let Err(failure) = task.await.unwrap() {
                failures.push(failure);
            }
        }
        let (warm, last) = sampler.await.unwrap();
        (failures, warm, last, peak.load(Ordering::Relaxed))
    });

    println!(
        "soak: {TIMERS} timers for {secs} s (ran {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("  resident memory: {warm_rss} KiB after warm-up, {end_rss} KiB at the end, peak {peak_rss} KiB");
    println!("  timers with a wrong tick or count: {}", failures.len());
    for failure in failures.iter().take(10) {
        println!("    {failure}");
    }
    let leaked = end_rss > warm_rss + RSS_SLACK_KIB;
    if leaked {
        println!(
            "  resident memory grew by {} KiB after warm-up",
            end_rss - warm_rss
        );
    }
    if !failures.is_empty() || leaked {
        std::process::exit(1);
    }
    println!("  OK");
}
