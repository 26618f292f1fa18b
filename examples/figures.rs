//! The measured figures of BENCHMARKS.md: kadenz against tokio's `Interval`, in one process.
//!
//! ```text
//! cargo run --release --example figures -- [bytes|lateness|scale|all|ratios] [flags]
//! ```
//!
//! - `bytes`: bytes per timer, `size_of` plus the heap bytes each of 100,000 live timers
//!   holds (counted by this program's global allocator), against tokio's `Interval`.
//! - `lateness`: tick lateness (time received minus time due) on the real clock at
//!   periods of 250 µs, 1 ms and 10 ms, and the CPU time per second of each side; kadenz
//!   and tokio run in alternating phases (K T, then T K, ...).
//! - `scale`: 100,000 periodic timers of 100 ms, one task each, on a two-worker
//!   multi-thread runtime: CPU time per second and lateness, alternating phases again.
//!   See BENCHMARKS.md for how each figure keeps the two sides comparable.
//! - `all`: the three above (about a minute on two cores with the default flags).
//! - `ratios`: reads criterion's results (`$CARGO_TARGET_DIR/criterion`, or
//!   `target/criterion`, or `--criterion-dir DIR`) and prints each group's medians and
//!   the ratio of its `kadenz` member to each other member.
//!
//! Flags: `--rounds N` (alternations of kadenz and tokio in the scale figure, default 2),
//! `--lateness-rounds N` (in the lateness figure, default 6), `--lateness-secs S` (each
//! phase of the lateness figure, default 0.5, at least 100 ticks), `--timers N` (default
//! 100000), `--scale-secs S` (each measured phase of the scale figure, default 5),
//! `--warm-up-secs S` (before each measured scale phase, default 2).
//!
//! Timed figures print the load average before and after: on a shared machine, other
//! processes are part of what was measured.
//!
//! CPU time is the sum of the on-CPU time of every thread of this process, read from
//! `/proc/self/task/*/schedstat` (nanoseconds; Linux only).
//!
//! No clock is paused in this process: all times are the real clock's.

#[path = "../benches/common/poll_once.rs"]
mod poll_once;

use std::alloc::{GlobalAlloc, Layout, System};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::Duration;

use kadenz::Timer;
use poll_once::{noop_waker, PollOnce};
use tokio::runtime::{Builder, Runtime};
use tokio::time::{interval_at, sleep, Instant, Interval, MissedTickBehavior, Sleep};

// --- a counting allocator -----------------------------------------------------------------

/// The system allocator, keeping count of the bytes it has handed out and not yet taken
/// back, and of the allocations it made (reallocations included).
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// contract of `GlobalAlloc` is `System`'s; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// --- flags --------------------------------------------------------------------------------

struct Flags {
    rounds: usize,
    lateness_rounds: usize,
    lateness_secs: f64,
    timers: usize,
    scale_secs: f64,
    warm_up_secs: f64,
    criterion_dir: Option<String>,
}

fn parse_args() -> (String, Flags) {
    let mut command = String::from("all");
    let mut flags = Flags {
        rounds: 2,
        lateness_rounds: 6,
        lateness_secs: 0.5,
        timers: 100_000,
        scale_secs: 5.0,
        warm_up_secs: 2.0,
        criterion_dir: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "bytes" | "lateness" | "scale" | "all" | "ratios" => command = arg,
            "--rounds" => flags.rounds = parse(&value("--rounds")),
            "--lateness-rounds" => flags.lateness_rounds = parse(&value("--lateness-rounds")),
            "--lateness-secs" => flags.lateness_secs = parse(&value("--lateness-secs")),
            "--timers" => flags.timers = parse(&value("--timers")),
            "--scale-secs" => flags.scale_secs = parse(&value("--scale-secs")),
            "--warm-up-secs" => flags.warm_up_secs = parse(&value("--warm-up-secs")),
            "--criterion-dir" => flags.criterion_dir = Some(value("--criterion-dir")),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if flags.rounds == 0 || flags.lateness_rounds == 0 || flags.timers == 0 {
        usage("--rounds, --lateness-rounds and --timers must be at least 1");
    }
    (command, flags)
}

fn parse<T: std::str::FromStr>(text: &str) -> T {
    text.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {text:?}")))
}

fn usage(error: &str) -> ! {
    if !error.is_empty() {
        eprintln!("error: {error}");
    }
    eprintln!(
        "usage: figures [bytes|lateness|scale|all|ratios] [--rounds N] [--lateness-rounds N] \
         [--lateness-secs S] \
         [--timers N] [--scale-secs S] [--warm-up-secs S] [--criterion-dir DIR]"
    );
    std::process::exit(if error.is_empty() { 0 } else { 2 })
}

fn main() {
    let (command, flags) = parse_args();
    match command.as_str() {
        "ratios" => ratios(&flags),
        "bytes" => bytes(&flags),
        "lateness" => with_load(|| lateness(&flags)),
        "scale" => with_load(|| scale(&flags)),
        _ => {
            bytes(&flags);
            with_load(|| lateness(&flags));
            with_load(|| scale(&flags));
        }
    }
}

/// Runs a timed figure and prints the machine's load average before and after it: on a
/// shared machine, other processes' load is part of what was measured.
fn with_load(figure: impl FnOnce()) {
    let before = loadavg();
    figure();
    println!(
        "Load average (1 min) before: {before}, after: {}.",
        loadavg()
    );
    println!();
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".into())
}

// --- helpers ------------------------------------------------------------------------------

/// The on-CPU time of every thread of this process so far, in nanoseconds.
fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread may end between the listing and the read: it is skipped.
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

/// CPU milliseconds per wall-clock second, between two readings.
fn cpu_per_sec(cpu: Option<u64>, wall: Duration) -> Option<f64> {
    cpu.map(|ns| ns as f64 / 1e6 / wall.as_secs_f64())
}

fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.decimals$}"))
}

fn ratio(kadenz: Option<f64>, tokio: Option<f64>) -> String {
    match (kadenz, tokio) {
        (Some(k), Some(t)) if t > 0.0 => format!("{:.2}", k / t),
        _ => "n/a".into(),
    }
}

fn current_thread_runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Kadenz,
    Tokio,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Kadenz => "kadenz",
            Side::Tokio => "tokio",
        }
    }

    /// The order of the two sides in round `round`: K T, T K, K T, ...
    fn order(round: usize) -> [Side; 2] {
        if round % 2 == 0 {
            [Side::Kadenz, Side::Tokio]
        } else {
            [Side::Tokio, Side::Kadenz]
        }
    }
}

/// A tokio `Interval` whose first tick is due at `first`, firing every missed tick (the
/// default behaviour, which kadenz's `TriggerAllMissed` matches).
fn tokio_interval(first: Instant, period: Duration) -> Interval {
    let mut interval = interval_at(first, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    interval
}

// --- bytes --------------------------------------------------------------------------------

fn heap_per_timer<T: PollOnce>(count: usize, poll: bool, make: impl Fn() -> T) -> (f64, f64) {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut timers: Vec<T> = Vec::with_capacity(count);
    let bytes_before = LIVE_BYTES.load(Relaxed);
    let allocations_before = ALLOCATIONS.load(Relaxed);
    for _ in 0..count {
        timers.push(make());
        if poll {
            timers.last_mut().expect("just pushed").poll_once(&mut cx);
        }
    }
    let bytes = LIVE_BYTES.load(Relaxed) - bytes_before;
    let allocations = ALLOCATIONS.load(Relaxed) - allocations_before;
    drop(timers);
    (
        bytes as f64 / count as f64,
        allocations as f64 / count as f64,
    )
}

fn bytes(flags: &Flags) {
    let count = flags.timers;
    let period = Duration::from_secs(1);
    let runtime = current_thread_runtime();
    let _context = runtime.enter();

    println!("## Bytes per timer ({count} live timers, each polled once unless stated)");
    println!();
    println!("| timer | size_of | heap bytes | allocations | total bytes | total − Interval |");
    println!("|---|---:|---:|---:|---:|---:|");
    // The baseline of the last column, and the first row.
    let interval = heap_per_timer(count, true, || {
        tokio_interval(Instant::now() + period, period)
    });
    let interval_total = std::mem::size_of::<Interval>() as f64 + interval.0;
    let row = |name: &str, size: usize, (heap, allocations): (f64, f64)| {
        let total = size as f64 + heap;
        println!(
            "| {name} | {size} | {heap:.1} | {allocations:.2} | {total:.1} | {:+.1} |",
            total - interval_total
        );
    };
    row(
        "tokio `Interval` (`interval_at`)",
        std::mem::size_of::<Interval>(),
        interval,
    );
    row(
        "tokio `Pin<Box<Sleep>>`",
        std::mem::size_of::<Pin<Box<Sleep>>>(),
        heap_per_timer(count, true, || Box::pin(sleep(period))),
    );
    row(
        "kadenz `Timer::periodic`",
        std::mem::size_of::<Timer>(),
        heap_per_timer(count, true, || Timer::periodic(period)),
    );
    row(
        "kadenz `Timer::timeout`",
        std::mem::size_of::<Timer>(),
        heap_per_timer(count, true, || Timer::timeout(period)),
    );
    row(
        "kadenz `Timer::periodic`, never polled",
        std::mem::size_of::<Timer>(),
        heap_per_timer(count, false, || Timer::periodic(period)),
    );
    println!();
    println!(
        "size_of: `Timer` {} B, `Interval` {} B, `Sleep` {} B. Heap bytes are the sizes \
         requested from the allocator (malloc adds its own overhead on top, the same for both).",
        std::mem::size_of::<Timer>(),
        std::mem::size_of::<Interval>(),
        std::mem::size_of::<Sleep>(),
    );
    println!();
}

// --- lateness -----------------------------------------------------------------------------
//
// tokio's timer wheel has 1 ms slots counted from the moment the runtime was built: a
// deadline is rounded up to the next slot boundary, and the driver sleeps whole
// milliseconds. How late a tick fires therefore depends mostly on where its deadline falls
// within a millisecond of that grid. A timer whose period is a whole number of
// milliseconds keeps the same position all along, so two phases started at different
// moments would compare two random positions, not two timers. So every phase places its
// first tick at a chosen position in the millisecond (`offset`), the same for kadenz and
// tokio within a round; the rounds step the offset through the millisecond (stratified).

/// The lateness of every tick of one phase, in nanoseconds, and the CPU time it took.
struct Phase {
    late_ns: Vec<u64>,
    cpu_ns: Option<u64>,
    wall: Duration,
}

/// Where the first tick of a phase is due: at least a period and a millisecond from now,
/// `offset` past a millisecond boundary of the wheel's grid (which starts at `grid`).
fn first_tick(grid: Instant, period: Duration, offset: Duration) -> Instant {
    let earliest = Instant::now() + period + Duration::from_millis(1);
    let whole_ms = (earliest - grid).as_millis() as u64 + 1;
    grid + Duration::from_millis(whole_ms) + offset
}

fn lateness_phase(
    runtime: &Runtime,
    grid: Instant,
    side: Side,
    period: Duration,
    offset: Duration,
    length: Duration,
) -> Phase {
    // Whole periods, and at least 100 ticks.
    let ticks = ((length.as_nanos() / period.as_nanos()) as usize).max(100);
    let mut late_ns = Vec::with_capacity(ticks);
    runtime.block_on(async {
        let cpu_before = cpu_ns();
        let start = Instant::now();
        let first = first_tick(grid, period, offset);
        match side {
            Side::Kadenz => {
                // Due `delay + period` after now: at `first` (to the microsecond).
                let delay = (first - period).saturating_duration_since(Instant::now());
                let mut timer = Timer::builder(period)
                    .start_delay(delay)
                    .build()
                    .expect("a valid timer");
                for _ in 0..ticks {
                    let scheduled = timer.tick().await.expect("running").scheduled();
                    late_ns.push((Instant::now() - scheduled).as_nanos() as u64);
                }
            }
            Side::Tokio => {
                let mut interval = tokio_interval(first, period);
                for _ in 0..ticks {
                    let scheduled = interval.tick().await;
                    late_ns.push((Instant::now() - scheduled).as_nanos() as u64);
                }
            }
        }
        let wall = start.elapsed();
        let cpu_ns = cpu_ns()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        Phase {
            late_ns,
            cpu_ns,
            wall,
        }
    })
}

/// The value at quantile `q` of sorted `values`.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn lateness(flags: &Flags) {
    let runtime = current_thread_runtime();
    // The wheel's grid starts when the runtime's time driver is made, inside `build`: this
    // is a few microseconds after it, the same error for both sides.
    let grid = Instant::now();
    let rounds = flags.lateness_rounds;
    let length = Duration::from_secs_f64(flags.lateness_secs);
    println!(
        "## Tick lateness on the real clock ({rounds} rounds of K T / T K, {:.1} s per phase, \
         first tick at the same offset in the wheel's millisecond for both sides of a round)",
        flags.lateness_secs
    );
    println!();
    println!(
        "| period | timer | ticks | p50 µs | p90 µs | p99 µs | max µs | CPU ms/s | \
         ratio p50 | ratio p99 | ratio CPU |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for period in [
        Duration::from_micros(250),
        Duration::from_millis(1),
        Duration::from_millis(10),
    ] {
        let mut late: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
        let mut cpu: [Option<u64>; 2] = [Some(0), Some(0)];
        let mut wall = [Duration::ZERO; 2];
        for round in 0..rounds {
            let offset = Duration::from_millis(1).mul_f64((round as f64 + 0.5) / rounds as f64);
            for side in Side::order(round) {
                let phase = lateness_phase(&runtime, grid, side, period, offset, length);
                let at = side as usize;
                late[at].extend(phase.late_ns);
                cpu[at] = cpu[at].zip(phase.cpu_ns).map(|(a, b)| a + b);
                wall[at] += phase.wall;
            }
        }
        let mut stats = Vec::new();
        for side in [Side::Kadenz, Side::Tokio] {
            let at = side as usize;
            late[at].sort_unstable();
            let sorted = &late[at];
            let us = |q: f64| quantile(sorted, q) as f64 / 1e3;
            stats.push((
                side,
                sorted.len(),
                [us(0.5), us(0.9), us(0.99), us(1.0)],
                cpu_per_sec(cpu[at], wall[at]),
            ));
        }
        let (k, t) = (&stats[0], &stats[1]);
        for (side, ticks, q, cpu) in &stats {
            let ratios = if *side == Side::Kadenz {
                format!(
                    "{:.2} | {:.2} | {}",
                    k.2[0] / t.2[0],
                    k.2[2] / t.2[2],
                    ratio(k.3, t.3)
                )
            } else {
                " | | ".into()
            };
            println!(
                "| {period:?} | {} | {ticks} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {ratios} |",
                side.name(),
                q[0],
                q[1],
                q[2],
                q[3],
                fmt_opt(*cpu, 2),
            );
        }
    }
    println!();
}

// --- scale --------------------------------------------------------------------------------

/// A histogram of lateness in microseconds: 1 µs buckets below 2,048 µs, then 64 buckets
/// per power of two (a relative error under 1.6 %).
struct Histogram {
    counts: Vec<AtomicU64>,
}

const LINEAR: u64 = 2_048;
const SUB_BUCKETS: u64 = 64;
const BUCKETS: usize = (LINEAR + (64 - 11) * SUB_BUCKETS) as usize;

fn bucket(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let power = 63 - u64::from(us.leading_zeros()); // >= 11
    let sub = (us >> (power - 6)) & (SUB_BUCKETS - 1);
    (LINEAR + (power - 11) * SUB_BUCKETS + sub) as usize
}

/// The smallest value of a bucket.
fn bucket_floor(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR {
        return index;
    }
    let power = (index - LINEAR) / SUB_BUCKETS + 11;
    let sub = (index - LINEAR) % SUB_BUCKETS;
    (1 << power) | (sub << (power - 6))
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Only the thread that owns the histogram records into it, so a load and a store
    /// are enough (no read-modify-write).
    fn record(&self, us: u64) {
        let count = &self.counts[bucket(us)];
        count.store(count.load(Relaxed) + 1, Relaxed);
    }
}

/// The histograms of every thread that recorded a tick.
static HISTOGRAMS: Mutex<Vec<Arc<Histogram>>> = Mutex::new(Vec::new());
/// Whether ticks are recorded (false during the warm-up).
static MEASURING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LOCAL_HISTOGRAM: Arc<Histogram> = {
        let histogram = Arc::new(Histogram::new());
        HISTOGRAMS.lock().expect("not poisoned").push(histogram.clone());
        histogram
    };
}

fn record(late: Duration) {
    if MEASURING.load(Relaxed) {
        LOCAL_HISTOGRAM.with(|histogram| histogram.record(late.as_micros() as u64));
    }
}

/// Sums every thread's histogram into `into`, and clears them.
fn collect_histograms(into: &mut [u64]) {
    for histogram in HISTOGRAMS.lock().expect("not poisoned").iter() {
        for (total, count) in into.iter_mut().zip(&histogram.counts) {
            *total += count.swap(0, Relaxed);
        }
    }
}

/// The value at quantile `q` of a histogram, and the largest value.
fn histogram_quantile(counts: &[u64], q: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    let rank = ((total as f64 * q).ceil() as u64).clamp(1, total.max(1));
    let mut seen = 0;
    for (index, &count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return bucket_floor(index);
        }
    }
    0
}

/// One side's measured phase of the scale figure: `count` tasks with a periodic timer each.
///
/// Every task is spawned first and waits for the start; then the first ticks are spread
/// evenly over one period: task `i` first ticks at `first + i * period / count`. Ticks are
/// recorded only after the warm-up, once the start-up has settled.
fn scale_phase(
    side: Side,
    count: usize,
    period: Duration,
    flags: &Flags,
) -> (Option<u64>, Duration) {
    let runtime = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a multi-thread runtime");
    let warm_up = Duration::from_secs_f64(flags.warm_up_secs);
    let measured = Duration::from_secs_f64(flags.scale_secs);
    let result = runtime.block_on(async {
        let (start_tx, start_rx) = tokio::sync::watch::channel(None::<Instant>);
        let mut ready = Vec::with_capacity(count);
        for i in 0..count {
            let mut start_rx = start_rx.clone();
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
            ready.push(ready_rx);
            let offset = period.mul_f64(i as f64 / count as f64);
            tokio::spawn(async move {
                let _ = ready_tx.send(());
                let first = start_rx
                    .wait_for(Option::is_some)
                    .await
                    .expect("the phase is running")
                    .expect("set");
                let first_tick = first + offset;
                match side {
                    Side::Kadenz => {
                        // Due `delay + period` after now: at `first_tick`.
                        let delay = (first_tick - period).saturating_duration_since(Instant::now());
                        let mut timer = Timer::builder(period)
                            .start_delay(delay)
                            .build()
                            .expect("a valid timer");
                        loop {
                            let scheduled = timer.tick().await.expect("running").scheduled();
                            record(Instant::now() - scheduled);
                        }
                    }
                    Side::Tokio => {
                        let mut interval = tokio_interval(first_tick, period);
                        loop {
                            let scheduled = interval.tick().await;
                            record(Instant::now() - scheduled);
                        }
                    }
                }
            });
        }
        for ready_rx in ready {
            ready_rx.await.expect("the task started");
        }
        // Every task is waiting: start them, with time for each to make its timer.
        let first = Instant::now() + Duration::from_millis(300) + period;
        start_tx.send_replace(Some(first));
        tokio::time::sleep_until(first + warm_up).await;
        MEASURING.store(true, Relaxed);
        let cpu_before = cpu_ns();
        let start = Instant::now();
        tokio::time::sleep(measured).await;
        let wall = start.elapsed();
        let cpu = cpu_ns()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        MEASURING.store(false, Relaxed);
        (cpu, wall)
    });
    drop(runtime);
    result
}

fn scale(flags: &Flags) {
    let count = flags.timers;
    let period = Duration::from_millis(100);
    println!(
        "## Scale: {count} periodic timers of {period:?}, one task each, 2 worker threads \
         ({} rounds of K T / T K, {:.1} s measured per phase after {:.1} s of warm-up)",
        flags.rounds, flags.scale_secs, flags.warm_up_secs
    );
    println!();
    println!(
        "| timer | ticks/s | expected ticks/s | CPU ms/s | p50 µs | p90 µs | p99 µs | max µs | \
         ratio CPU | ratio p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut histograms = [vec![0_u64; BUCKETS], vec![0_u64; BUCKETS]];
    let mut cpu: [Option<u64>; 2] = [Some(0), Some(0)];
    let mut wall = [Duration::ZERO; 2];
    collect_histograms(&mut vec![0; BUCKETS]); // start from zero
    for round in 0..flags.rounds {
        for side in Side::order(round) {
            let at = side as usize;
            let (phase_cpu, phase_wall) = scale_phase(side, count, period, flags);
            collect_histograms(&mut histograms[at]);
            cpu[at] = cpu[at].zip(phase_cpu).map(|(a, b)| a + b);
            wall[at] += phase_wall;
            eprintln!(
                "scale: round {round} {} done: {} ms CPU per s",
                side.name(),
                fmt_opt(cpu_per_sec(phase_cpu, phase_wall), 0)
            );
        }
    }
    let expected = count as f64 / period.as_secs_f64();
    let mut stats = Vec::new();
    for side in [Side::Kadenz, Side::Tokio] {
        let at = side as usize;
        let ticks: u64 = histograms[at].iter().sum();
        let q = |q: f64| histogram_quantile(&histograms[at], q);
        stats.push((
            side,
            ticks as f64 / wall[at].as_secs_f64(),
            cpu_per_sec(cpu[at], wall[at]),
            [q(0.5), q(0.9), q(0.99), q(1.0)],
        ));
    }
    let (k, t) = (&stats[0], &stats[1]);
    for (side, rate, cpu, q) in &stats {
        let ratios = if *side == Side::Kadenz {
            format!(
                "{} | {:.2}",
                ratio(k.2, t.2),
                k.3[2] as f64 / t.3[2].max(1) as f64
            )
        } else {
            " | ".into()
        };
        println!(
            "| {} | {rate:.0} | {expected:.0} | {} | {} | {} | {} | {} | {ratios} |",
            side.name(),
            fmt_opt(*cpu, 0),
            q[0],
            q[1],
            q[2],
            q[3],
        );
    }
    println!();
    println!(
        "Lateness is bucketed: exact to the µs below 2,048 µs, within 1.6 % above. \
         CPU ms/s is the CPU time of all threads per wall-clock second (2 cores: at most 2000)."
    );
    println!();
}

// --- ratios -------------------------------------------------------------------------------

/// The median point estimate in a criterion `estimates.json`, in nanoseconds.
fn median_estimate(json: &str) -> Option<f64> {
    let after_median = &json[json.find("\"median\"")?..];
    let after_key = &after_median[after_median.find("\"point_estimate\"")? + 16..];
    let number = after_key.trim_start_matches([':', ' ']);
    let end = number
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(number.len());
    number[..end].parse().ok()
}

fn ratios(flags: &Flags) {
    let dir = flags.criterion_dir.clone().map_or_else(
        || {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| "target".into(), std::path::PathBuf::from)
                .join("criterion")
        },
        std::path::PathBuf::from,
    );
    let Ok(groups) = std::fs::read_dir(&dir) else {
        eprintln!(
            "no criterion results in {}: run `cargo bench` first",
            dir.display()
        );
        std::process::exit(1);
    };
    let mut groups: Vec<_> = groups.filter_map(Result::ok).map(|e| e.path()).collect();
    groups.sort();
    println!("## Criterion medians ({})", dir.display());
    println!();
    println!("| group | member | median ns/op | ratio kadenz/member |");
    println!("|---|---|---:|---:|");
    for group in groups {
        let Ok(members) = std::fs::read_dir(&group) else {
            continue;
        };
        let mut medians: Vec<(String, f64)> = members
            .filter_map(Result::ok)
            .filter_map(|member| {
                let json =
                    std::fs::read_to_string(member.path().join("new/estimates.json")).ok()?;
                Some((
                    member.file_name().to_string_lossy().into_owned(),
                    median_estimate(&json)?,
                ))
            })
            .collect();
        // kadenz first, then the others by name.
        medians.sort_by(|a, b| (a.0 != "kadenz", &a.0).cmp(&(b.0 != "kadenz", &b.0)));
        let kadenz = medians
            .iter()
            .find(|(name, _)| name == "kadenz")
            .map(|m| m.1);
        let group_name = group
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (member, ns) in &medians {
            let ratio = match kadenz {
                Some(k) if member != "kadenz" => format!("{:.3}", k / ns),
                _ => String::new(),
            };
            println!("| {group_name} | {member} | {ns:.1} | {ratio} |");
        }
    }
}
