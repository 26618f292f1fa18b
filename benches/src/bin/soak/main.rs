//! Soak: 10,000 timers on the real clock for a minute (or as long as you say), half of
//! them periodic and never touched, half of them reset at random, on a multi-thread
//! runtime. At the end it checks that no periodic timer lost or invented a tick, that
//! every tick of a reset timer was on its new schedule, and that resident memory stayed
//! flat after warm-up; it exits with an error if not.
//!
//! ```text
//! cargo run --release -p kadenz-tools --bin soak              # 60 s
//! cargo run --release -p kadenz-tools --bin soak -- 600       # 10 minutes
//! ```
//!
//! With `--set`, one `TimerSet` of a million entries instead, driven by one task
//! (`soak/set.rs`):
//!
//! ```text
//! cargo run --release -p kadenz-tools --bin soak -- --set 600
//! ```
//!
//! The seconds must be a positive whole number; anything else is an error
//! (exit status 2). Memory is sampled once a second; the warm-up sample is taken after a
//! tenth of the run (at least 5 s, at most half the run). A 1 s run has no warm-up, and
//! its memory growth is not checked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kadenz::Timer;
use tokio::time::Instant;

const TIMERS: u64 = 10_000;
/// Resident memory may grow this much from warm-up to the end before it counts as a leak:
/// allocator caches and the timer wheel's slots settle in the first seconds.
const RSS_SLACK_KIB: u64 = 2_048;
const DEFAULT_SECS: u64 = 60;
const USAGE: &str = "usage: soak [--set] [SECONDS]    SECONDS: a positive whole number, 60 if not given;\n       --set: one TimerSet of a million entries instead of 10,000 timers";

mod set;

/// Whether to soak a set (`--set`), and the run's length in seconds: 60 if not given.
fn args() -> Result<(bool, u64), String> {
    let mut args = std::env::args_os().skip(1).peekable();
    let set = args.next_if(|arg| arg == "--set").is_some();
    let Some(arg) = args.next() else {
        return Ok((set, DEFAULT_SECS));
    };
    let secs = match arg.to_str().map(str::parse::<u64>) {
        Some(Ok(secs)) if secs > 0 => secs,
        _ => return Err(format!("{arg:?} is not a positive whole number of seconds")),
    };
    if let Some(extra) = args.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    if std::time::Instant::now()
        .checked_add(Duration::from_secs(secs))
        .is_none()
    {
        return Err(format!(
            "{secs} s is longer than this machine's clock can count"
        ));
    }
    Ok((set, secs))
}

/// The second after which the warm-up sample is taken: a tenth of the run, at least 5 s,
/// but at most half the run, so that a short run has one too. `0` for a 1 s run: no
/// warm-up, memory growth is not checked.
fn warm_up_second(secs: u64) -> u64 {
    (secs / 10).max(5).min(secs / 2)
}

/// A small deterministic generator (xorshift64*), so that runs are repeatable without a
/// dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

pub(crate) fn rss_kib() -> u64 {
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
    let (soak_a_set, secs) = match args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("soak: {error}");
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let warm_second = warm_up_second(secs);
    if soak_a_set {
        soak_set(secs, warm_second);
    }
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
                let mut warm = None;
                let mut tick = Timer::periodic(Duration::from_secs(1));
                for second in 1.. {
                    tick.tick().await;
                    let rss = rss_kib();
                    peak.fetch_max(rss, Ordering::Relaxed);
                    if second == warm_second {
                        warm = Some(rss);
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
    match warm_rss {
        Some(warm_rss) => println!(
            "  resident memory: {warm_rss} KiB after warm-up, {end_rss} KiB at the end, peak {peak_rss} KiB"
        ),
        None => {
            println!("  resident memory: {end_rss} KiB at the end, peak {peak_rss} KiB");
            if warm_second == 0 {
                println!("  a {secs} s run is too short for a warm-up: memory growth is not checked");
            } else {
                println!(
                    "  the run ended before the warm-up sample at {warm_second} s: memory growth is not checked"
                );
            }
        }
    }
    println!("  timers with a wrong tick or count: {}", failures.len());
    for failure in failures.iter().take(10) {
        println!("    {failure}");
    }
    let leaked = warm_rss.filter(|&warm_rss| end_rss > warm_rss + RSS_SLACK_KIB);
    if let Some(warm_rss) = leaked {
        println!(
            "  resident memory grew by {} KiB after warm-up",
            end_rss - warm_rss
        );
    }
    if !failures.is_empty() || leaked.is_some() {
        std::process::exit(1);
    }
    println!("  OK");
}

/// `--set`: runs the set soak, prints what it found, and exits (1 on a failure).
fn soak_set(secs: u64, warm_second: u64) -> ! {
    let started = std::time::Instant::now();
    let found = set::soak_set(secs, warm_second);
    println!(
        "soak --set: {} entries for {secs} s (ran {:.1} s): {} ticks, {} resets; the set holds {} bytes an entry",
        set::SET_ENTRIES,
        started.elapsed().as_secs_f64(),
        found.ticks,
        found.resets,
        found.memory_per_entry,
    );
    match found.warm_rss {
        Some(warm) => println!(
            "  resident memory: {warm} KiB after warm-up, {} KiB at the end, peak {} KiB",
            found.end_rss, found.peak_rss
        ),
        None => println!(
            "  resident memory: {} KiB at the end, peak {} KiB; no warm-up sample: growth not checked",
            found.end_rss, found.peak_rss
        ),
    }
    println!(
        "  entries with a wrong tick or count: {}",
        found.failed_entries
    );
    for failure in &found.failures {
        println!("    {failure}");
    }
    let leaked = found
        .warm_rss
        .filter(|&warm| found.end_rss > warm + set::SET_RSS_SLACK_KIB);
    if let Some(warm) = leaked {
        println!(
            "  resident memory grew by {} KiB after warm-up",
            found.end_rss - warm
        );
    }
    if found.failed_entries > 0 || leaked.is_some() {
        std::process::exit(1);
    }
    println!("  OK");
    std::process::exit(0);
}
