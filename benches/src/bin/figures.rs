//! The measured figures of BENCHMARKS.md: kadenz against tokio's `Interval`, in one process.
//!
//! ```text
//! cargo run --release -p kadenz-tools --bin figures -- [bytes|lateness|scale|all|ratios] [flags]
//! cargo run --release -p kadenz-tools --features precise --bin figures -- [precision|precision-scale] [flags]
//! ```
//!
//! - `bytes`: bytes per timer, `size_of` plus the heap bytes each of 100,000 live timers
//!   holds (counted by this program's global allocator), against tokio's `Interval`.
//! - `lateness`: tick lateness (time received minus time due) on the real clock at
//!   periods of 250 µs, 1 ms and 10 ms, and the CPU time and thread sleeps per second of
//!   each side; kadenz and tokio run in alternating phases (K T, then T K, ...) after one
//!   discarded phase of each, and the CPU ratio is given round by round too.
//! - `scale`: 100,000 periodic timers of 100 ms, one task each, on a two-worker
//!   multi-thread runtime: CPU time per second and lateness, alternating phases again
//!   after one discarded phase (the `precision-scale` figure's code), ratios per round.
//!   See BENCHMARKS.md for how each figure keeps the two sides comparable.
//! - `all`: the three above (about a minute on two cores with the default flags).
//! - `precision`: the lateness of one timer at 250 µs, 1 ms and 10 ms on a current-thread
//!   and a multi-thread runtime, three timers in rotated phases: kadenz precise
//!   (`TimerBuilder::precise(true)`, cargo feature `precise`), kadenz default, tokio's
//!   `Interval`; p50 to max, CPU time per second and thread sleeps per second of each
//!   (`--only precise,tokio`, `--runtimes multi_thread` and `--periods-us 1000` keep some
//!   of them, e.g. to profile one).
//!   With `--floor`, a fourth: a std thread blocked on a timerfd of its own sends every
//!   tick to the task (the OS timer's own lateness, and that of the hop to the task).
//!   About 18 × `--precision-rounds` × `--precision-secs` seconds (164 s by default; a
//!   third more with `--floor`). Built without the `precise` feature, the precise timer
//!   (and the floor) are left out.
//! - `precision-scale`: 1,000 timers at 1 ms, then 10,000 at 10 ms, one task each, on a
//!   two-worker multi-thread runtime, the same three timers in rotated phases after one
//!   discarded phase: CPU time per second and lateness (about 85 s by default).
//! - `ratios`: reads criterion's results (`$CARGO_TARGET_DIR/criterion`, or
//!   `target/criterion`, or `--criterion-dir DIR`) and prints each group's medians and
//!   the ratio of its `kadenz` member to each other member.
//!
//! Flags: `--rounds N` (alternations of kadenz and tokio in the scale figure, default 2),
//! `--lateness-rounds N` (in the lateness figure, default 6), `--lateness-secs S` (each
//! phase of the lateness figure, default 0.5, at least 100 ticks), `--timers N` (default
//! 100000), `--scale-secs S` (each measured phase of the scale figure, default 5),
//! `--warm-up-secs S` (before each measured scale phase, default 2).
//! Precision figures: `--precision-rounds N` (default 9), `--precision-secs S` (each
//! phase, default 1, at least 100 ticks), `--floor`, `--only NAMES`, `--no-io` (runtimes
//! without tokio's IO driver, so that precise timers fall back to kadenz's thread; by
//! default they have it, as under `#[tokio::main]`, and precise timers wake in the
//! runtime's reactor); `--precision-scale-rounds N` (default
//! 3), `--precision-scale-secs S` (each measured phase, default 3),
//! `--precision-scale-warm-up-secs S` (default 1).
//!
//! Timed figures print the load average before and after: on a shared machine, other
//! processes are part of what was measured.
//!
//! CPU time is the sum of the on-CPU time of every thread of this process, read from
//! `/proc/self/task/*/schedstat` (nanoseconds; Linux only); every CPU ratio uses it. The
//! precision, scale and precision-scale figures also show the process's user + system
//! time from `/proc/self/stat` (what `getrusage(RUSAGE_SELF)` returns, in clock ticks of
//! 10 ms, exited threads included).
//!
//! No clock is paused in this process: all times are the real clock's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::Duration;

use kadenz::Timer;
use kadenz_tools::{noop_waker, PollOnce};
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
    precision_rounds: usize,
    precision_secs: f64,
    floor: bool,
    only: Option<String>,
    periods_us: Option<String>,
    runtimes: Option<String>,
    precision_scale_rounds: usize,
    precision_scale_secs: f64,
    precision_scale_warm_up_secs: f64,
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
        precision_rounds: 9,
        precision_secs: 1.0,
        floor: false,
        only: None,
        periods_us: None,
        runtimes: None,
        precision_scale_rounds: 3,
        precision_scale_secs: 3.0,
        precision_scale_warm_up_secs: 1.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "bytes" | "lateness" | "scale" | "all" | "ratios" | "precision" | "precision-scale" => {
                command = arg
            }
            "--rounds" => flags.rounds = parse(&value("--rounds")),
            "--lateness-rounds" => flags.lateness_rounds = parse(&value("--lateness-rounds")),
            "--lateness-secs" => flags.lateness_secs = parse(&value("--lateness-secs")),
            "--timers" => flags.timers = parse(&value("--timers")),
            "--scale-secs" => flags.scale_secs = parse(&value("--scale-secs")),
            "--warm-up-secs" => flags.warm_up_secs = parse(&value("--warm-up-secs")),
            "--criterion-dir" => flags.criterion_dir = Some(value("--criterion-dir")),
            "--precision-rounds" => flags.precision_rounds = parse(&value("--precision-rounds")),
            "--precision-secs" => flags.precision_secs = parse(&value("--precision-secs")),
            "--floor" => flags.floor = true,
            "--no-io" => NO_IO.store(true, Relaxed),
            "--only" => flags.only = Some(value("--only")),
            "--periods-us" => flags.periods_us = Some(value("--periods-us")),
            "--runtimes" => flags.runtimes = Some(value("--runtimes")),
            "--precision-scale-rounds" => {
                flags.precision_scale_rounds = parse(&value("--precision-scale-rounds"))
            }
            "--precision-scale-secs" => {
                flags.precision_scale_secs = parse(&value("--precision-scale-secs"))
            }
            "--precision-scale-warm-up-secs" => {
                flags.precision_scale_warm_up_secs = parse(&value("--precision-scale-warm-up-secs"))
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if flags.rounds == 0 || flags.lateness_rounds == 0 || flags.timers == 0 {
        usage("--rounds, --lateness-rounds and --timers must be at least 1");
    }
    if flags.precision_rounds == 0 || flags.precision_scale_rounds == 0 {
        usage("--precision-rounds and --precision-scale-rounds must be at least 1");
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
        "usage: figures [bytes|lateness|scale|all|ratios|precision|precision-scale] \
         [--rounds N] [--lateness-rounds N] [--lateness-secs S] \
         [--timers N] [--scale-secs S] [--warm-up-secs S] [--criterion-dir DIR] \
         [--precision-rounds N] [--precision-secs S] [--floor] [--only precise,default,tokio,floor] \
         [--runtimes current_thread,multi_thread] [--periods-us 250,1000,10000] \
         [--precision-scale-rounds N] \
         [--precision-scale-secs S] [--precision-scale-warm-up-secs S]"
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
        "precision" => with_load(|| precision(&flags)),
        "precision-scale" => with_load(|| precision_scale(&flags)),
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

/// With `--no-io`, the precision figures' runtimes are built without tokio's IO driver
/// (`enable_time()` alone): kadenz's precise timers then fall back to its thread.
static NO_IO: AtomicBool = AtomicBool::new(false);

/// The drivers of a precision figure's runtime: time, and IO as `#[tokio::main]` has it
/// (so that precise timers wake in the runtime's reactor), unless `--no-io`.
fn precision_drivers(builder: &mut Builder) -> &mut Builder {
    if NO_IO.load(Relaxed) {
        builder.enable_time()
    } else {
        builder.enable_all()
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

/// Where the first tick of a phase is due: at least a period and a millisecond from now,
/// `offset` past a millisecond boundary of the wheel's grid (which starts at `grid`).
fn first_tick(grid: Instant, period: Duration, offset: Duration) -> Instant {
    let earliest = Instant::now() + period + Duration::from_millis(1);
    let whole_ms = (earliest - grid).as_millis() as u64 + 1;
    grid + Duration::from_millis(whole_ms) + offset
}

/// The value at quantile `q` of sorted `values`.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn lateness(flags: &Flags) {
    let variants = [Variant::Default, Variant::Tokio];
    let runtime = current_thread_runtime();
    // The wheel's grid starts when the runtime's time driver is made, inside `build`: this
    // is a few microseconds after it, the same error for both sides.
    let grid = Instant::now();
    let rounds = flags.lateness_rounds;
    let length = Duration::from_secs_f64(flags.lateness_secs);
    println!(
        "## Tick lateness on the real clock ({rounds} rounds of K T / T K, {:.1} s per phase, \
         first tick at the same offset in the wheel's millisecond for both sides of a round, \
         one discarded phase of each first)",
        flags.lateness_secs
    );
    println!();
    println!(
        "| period | timer | ticks | p50 µs | p90 µs | p99 µs | max µs | CPU ms/s | sleeps/s | \
         ratio p50 | ratio p99 | ratio CPU | ratio CPU per round |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    discard_first_phases(&runtime, grid, &variants);
    for period in [
        Duration::from_micros(250),
        Duration::from_millis(1),
        Duration::from_millis(10),
    ] {
        let mut totals = [Totals::new(), Totals::new()];
        // The floor thread's own lateness: not in this figure.
        let mut no_floor = Totals::new();
        for round in 0..rounds {
            for v in Variant::order(variants.len(), round) {
                precision_phase(
                    &runtime,
                    grid,
                    variants[v],
                    period,
                    round_offset(round, rounds),
                    length,
                    &mut totals[v],
                    &mut no_floor,
                );
            }
        }
        let stats: Vec<_> = totals
            .iter_mut()
            .map(|totals| {
                let q = lateness_quantiles(&mut totals.late_ns).expect("ticks");
                (totals.late_ns.len(), q, per_sec(totals.usage, totals.wall))
            })
            .collect();
        let (k, t) = (&stats[0], &stats[1]);
        for (v, (ticks, q, usage)) in stats.iter().enumerate() {
            let ratios = if variants[v] == Variant::Tokio {
                " | | | ".into()
            } else {
                format!(
                    "{:.2} | {:.2} | {} | {}",
                    k.1[0] / t.1[0],
                    k.1[2] / t.1[2],
                    ratio(k.2[1], t.2[1]),
                    per_round_ratios(&totals[v].phase_cpu, &totals[1].phase_cpu)
                )
            };
            println!(
                "| {period:?} | {} | {ticks} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {ratios} |",
                variants[v].name(),
                q[0],
                q[1],
                q[2],
                q[4],
                fmt_opt(usage[1], 2),
                fmt_opt(usage[2], 0),
            );
        }
    }
    println!();
    println!(
        "CPU ms/s: the on-CPU time of every thread (`/proc/self/task/*/schedstat`, ns) per \
         second of the phases; sleeps/s: the threads' voluntary context switches. Ratio CPU \
         per round: kadenz's phase over tokio's phase of the same round, in round order."
    );
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

fn scale(flags: &Flags) {
    // As it was always measured: runtimes without the IO driver (no precise timer here).
    NO_IO.store(true, Relaxed);
    let variants = [Variant::Default, Variant::Tokio];
    let count = flags.timers;
    let period = Duration::from_millis(100);
    println!(
        "## Scale: {count} periodic timers of {period:?}, one task each, 2 worker threads \
         ({} rounds of K T / T K, {:.1} s measured per phase after {:.1} s of warm-up; one \
         discarded phase first)",
        flags.rounds, flags.scale_secs, flags.warm_up_secs
    );
    println!();
    many_timers(
        "scale",
        &[(count, period)],
        &variants,
        flags.rounds,
        Duration::from_secs_f64(flags.warm_up_secs),
        Duration::from_secs_f64(flags.scale_secs),
    );
}

// --- precision ----------------------------------------------------------------------------
//
// One timer's lateness, and what it costs the process, for kadenz's precise timers (cargo
// feature `precise`), kadenz's default ones and tokio's `Interval`. The timers run in
// phases of about a second, one after the other, their order rotated every round, so that
// whatever else the machine does at the time falls on all of them alike. Every phase of a
// round puts its first tick at the same offset in the wheel's millisecond (see the lateness
// figure), and the rounds step that offset through the millisecond. Both runtimes stay
// alive for the whole figure, and every round visits every runtime and period, so a change
// of the machine's load over the run spreads over every row.

/// The timers compared by the precision figures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// kadenz with `precise(true)`: the OS timer wakes it.
    Precise,
    /// kadenz with the defaults: tokio's wheel wakes it.
    Default,
    /// tokio's `Interval`, `MissedTickBehavior::Burst`.
    Tokio,
    /// With `--floor`: a std thread blocked on a timerfd of its own sends each tick to the
    /// task through a channel (the OS timer and the hop to the task, without kadenz).
    Floor,
    /// The floor thread's own lateness, when its timerfd woke it (a row, not a phase).
    FloorThread,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Precise => "kadenz precise",
            Variant::Default => "kadenz default",
            Variant::Tokio => "tokio `interval`",
            Variant::Floor => "timerfd thread → task",
            Variant::FloorThread => "timerfd thread alone",
        }
    }

    /// The name `--only` knows the timer by.
    fn flag(self) -> &'static str {
        match self {
            Variant::Precise => "precise",
            Variant::Default => "default",
            Variant::Tokio => "tokio",
            Variant::Floor | Variant::FloorThread => "floor",
        }
    }

    /// The timers this build compares, in the order of the first round. Without the
    /// `precise` feature there is no precise timer (and no timerfd for the floor); the
    /// floor only with `--floor` and where it may run; `--only` keeps the ones it names.
    fn compared(flags: &Flags, floor_allowed: bool) -> Vec<Variant> {
        let mut variants = Vec::new();
        if cfg!(feature = "precise") {
            variants.push(Variant::Precise);
        }
        variants.extend([Variant::Default, Variant::Tokio]);
        if floor_allowed && flags.floor && cfg!(all(feature = "precise", target_os = "linux")) {
            variants.push(Variant::Floor);
        }
        if let Some(only) = &flags.only {
            variants.retain(|variant| only.split(',').any(|name| name == variant.flag()));
        }
        if variants.is_empty() {
            usage("--only names none of the timers of this figure in this build");
        }
        variants
    }

    /// The order of the phases in round `round`, as indices into the `count` timers
    /// compared: the first round's (0, 1, ...), rotated by `round` (with two timers:
    /// A B, B A, A B, ...).
    fn order(count: usize, round: usize) -> impl Iterator<Item = usize> {
        (0..count).map(move |i| (i + round) % count)
    }
}

/// Where the first tick of a round's phases falls past a millisecond of the wheel: the
/// rounds step it through the millisecond (stratified; see the lateness figure).
fn round_offset(round: usize, rounds: usize) -> Duration {
    Duration::from_millis(1).mul_f64((round as f64 + 0.5) / rounds as f64)
}

/// kadenz's phase over tokio's phase of the same round, each round's in round order.
fn per_round_ratios(kadenz: &[Option<f64>], tokio: &[Option<f64>]) -> String {
    kadenz
        .iter()
        .zip(tokio)
        .map(|(k, t)| ratio(*k, *t))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A kadenz timer whose first tick is due at `first`, precise or not.
fn kadenz_timer(period: Duration, first: Instant, precise: bool) -> Timer {
    let builder = Timer::builder(period).first_tick_at(first);
    #[cfg(feature = "precise")]
    let builder = builder.precise(precise);
    #[cfg(not(feature = "precise"))]
    assert!(!precise, "built without the `precise` feature");
    builder.build().expect("a valid timer")
}

/// Whether an OS timer serves `timer` (never without the `precise` feature).
fn served_by_os_timer(timer: &Timer) -> bool {
    #[cfg(feature = "precise")]
    return timer.is_precise();
    #[cfg(not(feature = "precise"))]
    {
        let _ = timer;
        false
    }
}

/// What the process has used so far.
#[derive(Clone, Copy, Default)]
struct Usage {
    /// User + system time of the process from `/proc/self/stat` (`getrusage(RUSAGE_SELF)`),
    /// in clock ticks; threads that ended are included.
    stat_ticks: u64,
    /// On-CPU time of the live threads (`/proc/self/task/*/schedstat`), in nanoseconds.
    sched_ns: u64,
    /// Times a thread went to sleep (voluntary context switches), every live thread.
    sleeps: u64,
    /// Times a thread was preempted (involuntary context switches), every live thread.
    preemptions: u64,
    /// On-CPU time of the timer threads (kadenz's `kadenz-precise`, and `floor`), in ns.
    timer_thread_ns: u64,
    /// Times the timer threads went to sleep.
    timer_thread_sleeps: u64,
}

/// The names of the threads that wait on a timerfd: kadenz's driver, and the floor's.
const TIMER_THREADS: [&str; 2] = ["kadenz-precise", "floor"];

/// USER_HZ, the unit of `/proc/self/stat`'s times: 100 on every architecture Linux has.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

impl Usage {
    fn now() -> Option<Usage> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name, in parentheses, may hold spaces: count from its end. Fields 14
        // and 15 of proc(5) (utime, stime) are then the 12th and 13th.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        let mut usage = Usage {
            stat_ticks: utime + stime,
            ..Usage::default()
        };
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            // A thread may end between the listing and the reads: it is skipped.
            if let Some(thread) = Usage::thread(&task.ok()?.path()) {
                usage = usage.plus(thread);
            }
        }
        Some(usage)
    }

    /// One thread's on-CPU time and context switches.
    fn thread(dir: &std::path::Path) -> Option<Usage> {
        let schedstat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().parse().ok())
        };
        let sched_ns = schedstat.split_whitespace().next()?.parse().ok()?;
        let sleeps = field("voluntary_ctxt_switches:")?;
        let name = status.lines().find_map(|line| line.strip_prefix("Name:"))?;
        let timer_thread = TIMER_THREADS.contains(&name.trim());
        Some(Usage {
            stat_ticks: 0,
            sched_ns,
            sleeps,
            preemptions: field("nonvoluntary_ctxt_switches:")?,
            timer_thread_ns: if timer_thread { sched_ns } else { 0 },
            timer_thread_sleeps: if timer_thread { sleeps } else { 0 },
        })
    }

    fn since(self, before: Usage) -> Usage {
        Usage {
            stat_ticks: self.stat_ticks.saturating_sub(before.stat_ticks),
            sched_ns: self.sched_ns.saturating_sub(before.sched_ns),
            sleeps: self.sleeps.saturating_sub(before.sleeps),
            preemptions: self.preemptions.saturating_sub(before.preemptions),
            timer_thread_ns: self.timer_thread_ns.saturating_sub(before.timer_thread_ns),
            timer_thread_sleeps: self
                .timer_thread_sleeps
                .saturating_sub(before.timer_thread_sleeps),
        }
    }

    fn plus(self, other: Usage) -> Usage {
        Usage {
            stat_ticks: self.stat_ticks + other.stat_ticks,
            sched_ns: self.sched_ns + other.sched_ns,
            sleeps: self.sleeps + other.sleeps,
            preemptions: self.preemptions + other.preemptions,
            timer_thread_ns: self.timer_thread_ns + other.timer_thread_ns,
            timer_thread_sleeps: self.timer_thread_sleeps + other.timer_thread_sleeps,
        }
    }
}

/// The usage of a phase: `None` if one of the readings failed.
fn usage_since(before: Option<Usage>) -> Option<Usage> {
    Usage::now()
        .zip(before)
        .map(|(after, before)| after.since(before))
}

/// Per second of `wall`: CPU ms from `/proc/self/stat`, CPU ms from schedstat, sleeps,
/// preemptions, the timer threads' CPU ms and sleeps.
fn per_sec(usage: Option<Usage>, wall: Duration) -> [Option<f64>; 6] {
    let secs = wall.as_secs_f64();
    let Some(usage) = usage.filter(|_| secs > 0.0) else {
        return [None; 6];
    };
    [
        Some(usage.stat_ticks as f64 / CLOCK_TICKS_PER_SEC * 1e3 / secs),
        Some(usage.sched_ns as f64 / 1e6 / secs),
        Some(usage.sleeps as f64 / secs),
        Some(usage.preemptions as f64 / secs),
        Some(usage.timer_thread_ns as f64 / 1e6 / secs),
        Some(usage.timer_thread_sleeps as f64 / secs),
    ]
}

/// The floor: one std thread of this process, blocked on a timerfd of its own, armed for
/// each tick of a phase in turn (relative, as kadenz's driver arms its own); at each expiry
/// it sends its lateness to the phase's task through a tokio channel, which wakes the task
/// from outside the runtime as kadenz's driver thread does. The thread lives as long as
/// the process, as kadenz's does.
#[cfg(all(feature = "precise", target_os = "linux"))]
mod floor {
    use std::sync::{mpsc, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use rustix::time::{
        timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags,
        TimerfdTimerFlags, Timespec,
    };

    struct Job {
        first: Instant,
        period: Duration,
        ticks: usize,
        to_task: tokio::sync::mpsc::UnboundedSender<u64>,
    }

    fn jobs() -> &'static Mutex<mpsc::Sender<Job>> {
        static JOBS: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
        JOBS.get_or_init(|| {
            let (sender, receiver) = mpsc::channel();
            std::thread::Builder::new()
                .name("floor".into())
                .spawn(move || run(&receiver))
                .expect("the floor thread");
            Mutex::new(sender)
        })
    }

    fn run(jobs: &mpsc::Receiver<Job>) {
        let fd =
            timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC).expect("a timerfd");
        let mut expirations = [0u8; 8];
        for job in jobs {
            for k in 0..job.ticks {
                let due = job.first + job.period * k as u32;
                // A zero value would disarm the timer: at least 1 ns.
                let left = due
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1));
                let spec = Itimerspec {
                    it_interval: Timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    },
                    it_value: Timespec {
                        tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                        tv_nsec: i64::from(left.subsec_nanos()),
                    },
                };
                timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec).expect("armed");
                // Blocks until the timerfd expires; an error (EINTR) reads again.
                while rustix::io::read(&fd, &mut expirations).is_err() {}
                let late = Instant::now().saturating_duration_since(due);
                if job.to_task.send(late.as_nanos() as u64).is_err() {
                    break;
                }
            }
        }
    }

    /// Receives `ticks` ticks from the floor thread: the task's lateness into `late`, the
    /// thread's into `thread_late` (nanoseconds).
    pub(super) async fn ticks(
        first: tokio::time::Instant,
        period: Duration,
        ticks: usize,
        late: &mut Vec<u64>,
        thread_late: &mut Vec<u64>,
    ) {
        let (to_task, mut from_thread) = tokio::sync::mpsc::unbounded_channel();
        let job = Job {
            first: first.into_std(),
            period,
            ticks,
            to_task,
        };
        jobs()
            .lock()
            .expect("not poisoned")
            .send(job)
            .expect("the floor thread runs");
        for k in 0..ticks {
            let thread = from_thread.recv().await.expect("one message per tick");
            let due = first + period * k as u32;
            late.push((tokio::time::Instant::now() - due).as_nanos() as u64);
            thread_late.push(thread);
        }
    }
}

/// The ticks of one phase: each one's lateness in nanoseconds; for the floor, also its
/// thread's; and whether an OS timer served the precise timer (`true` for the others).
async fn precision_ticks(
    variant: Variant,
    first: Instant,
    period: Duration,
    ticks: usize,
) -> (Vec<u64>, Vec<u64>, bool) {
    let mut late = Vec::with_capacity(ticks);
    #[cfg_attr(not(all(feature = "precise", target_os = "linux")), allow(unused_mut))]
    let mut thread_late = Vec::new();
    let mut served = true;
    match variant {
        Variant::Precise | Variant::Default => {
            let precise = variant == Variant::Precise;
            let mut timer = kadenz_timer(period, first, precise);
            served = !precise || served_by_os_timer(&timer);
            for _ in 0..ticks {
                let scheduled = timer.tick().await.expect("running").scheduled();
                late.push((Instant::now() - scheduled).as_nanos() as u64);
            }
        }
        Variant::Tokio => {
            let mut interval = tokio_interval(first, period);
            for _ in 0..ticks {
                let scheduled = interval.tick().await;
                late.push((Instant::now() - scheduled).as_nanos() as u64);
            }
        }
        #[cfg(all(feature = "precise", target_os = "linux"))]
        Variant::Floor => floor::ticks(first, period, ticks, &mut late, &mut thread_late).await,
        _ => unreachable!("{variant:?} is not run in this build"),
    }
    (late, thread_late, served)
}

/// The accumulated phases of one timer in one cell (runtime, period) of the figure.
struct Totals {
    late_ns: Vec<u64>,
    /// Each phase's p99, in ns.
    phase_p99_ns: Vec<u64>,
    /// Each phase's CPU ms per second (schedstat).
    phase_cpu: Vec<Option<f64>>,
    usage: Option<Usage>,
    wall: Duration,
    unserved: usize,
}

impl Totals {
    fn new() -> Self {
        Totals {
            late_ns: Vec::new(),
            phase_p99_ns: Vec::new(),
            phase_cpu: Vec::new(),
            usage: Some(Usage::default()),
            wall: Duration::ZERO,
            unserved: 0,
        }
    }

    fn add(&mut self, usage: Option<Usage>, wall: Duration) {
        self.usage = self.usage.zip(usage).map(|(a, b)| a.plus(b));
        self.wall += wall;
    }
}

/// Runs one phase of the precision figure on `runtime` and adds it to `totals` (and the
/// floor thread's own lateness to `thread_totals`).
#[allow(clippy::too_many_arguments)]
fn precision_phase(
    runtime: &Runtime,
    grid: Instant,
    variant: Variant,
    period: Duration,
    offset: Duration,
    length: Duration,
    totals: &mut Totals,
    thread_totals: &mut Totals,
) {
    // Whole periods, and at least 100 ticks.
    let ticks = ((length.as_nanos() / period.as_nanos()) as usize).max(100);
    let first = first_tick(grid, period, offset);
    let before = Usage::now();
    let start = std::time::Instant::now();
    // In a task of its own: on a multi-thread runtime a worker runs it, not this thread.
    let (late, thread_late, served) = runtime.block_on(async move {
        tokio::spawn(precision_ticks(variant, first, period, ticks))
            .await
            .expect("the phase's task")
    });
    let wall = start.elapsed();
    let usage = usage_since(before);
    totals.add(usage, wall);
    totals.phase_cpu.push(per_sec(usage, wall)[1]);
    let p99 = |late: &[u64]| {
        let mut sorted = late.to_vec();
        sorted.sort_unstable();
        quantile(&sorted, 0.99)
    };
    totals.phase_p99_ns.push(p99(&late));
    totals.late_ns.extend(late);
    totals.unserved += usize::from(!served);
    if !thread_late.is_empty() {
        thread_totals.phase_p99_ns.push(p99(&thread_late));
        thread_totals.late_ns.extend(thread_late);
    }
}

/// One discarded 0.2 s phase at 1 ms of every timer of `variants` on `runtime`: the first
/// phases in a process run on a fresh heap (and the first precise timer starts kadenz's
/// driver thread, `--floor` its own).
fn discard_first_phases(runtime: &Runtime, grid: Instant, variants: &[Variant]) {
    let mut discarded = (Totals::new(), Totals::new());
    for &variant in variants {
        precision_phase(
            runtime,
            grid,
            variant,
            Duration::from_millis(1),
            Duration::ZERO,
            Duration::from_millis(200),
            &mut discarded.0,
            &mut discarded.1,
        );
    }
}

/// p50, p90, p99, p99.9 and max of `late_ns` (sorted here), in µs.
fn lateness_quantiles(late_ns: &mut [u64]) -> Option<[f64; 5]> {
    if late_ns.is_empty() {
        return None;
    }
    late_ns.sort_unstable();
    let us = |q: f64| quantile(late_ns, q) as f64 / 1e3;
    Some([us(0.5), us(0.9), us(0.99), us(0.999), us(1.0)])
}

fn precision(flags: &Flags) {
    let variants = Variant::compared(flags, true);
    let periods: Vec<Duration> = match &flags.periods_us {
        None => vec![
            Duration::from_micros(250),
            Duration::from_millis(1),
            Duration::from_millis(10),
        ],
        Some(list) => list
            .split(',')
            .map(|us| Duration::from_micros(parse(us)))
            .collect(),
    };
    if periods.iter().any(Duration::is_zero) {
        usage("--periods-us: every period must be at least 1 µs");
    }
    let wanted = |name: &str| {
        flags
            .runtimes
            .as_deref()
            .map_or(true, |list| list.split(',').any(|x| x == name))
    };
    // The wheel's grid starts when a runtime's time driver is made, inside `build`.
    let mut runtimes: Vec<(&str, Runtime, Instant)> = Vec::new();
    if wanted("current_thread") {
        let runtime = precision_drivers(&mut Builder::new_current_thread())
            .build()
            .expect("a current-thread runtime");
        runtimes.push(("current_thread", runtime, Instant::now()));
    }
    if wanted("multi_thread") {
        let runtime = precision_drivers(Builder::new_multi_thread().worker_threads(2))
            .build()
            .expect("a multi-thread runtime");
        runtimes.push(("multi_thread", runtime, Instant::now()));
    }
    if runtimes.is_empty() {
        usage("--runtimes names neither current_thread nor multi_thread");
    }
    let rounds = flags.precision_rounds;
    let length = Duration::from_secs_f64(flags.precision_secs);
    println!(
        "## Precision: one timer's lateness ({rounds} rounds; each round, on each runtime and \
         period, one phase of {:.1} s (at least 100 ticks) per timer, in the order {}, rotated \
         by one every round)",
        flags.precision_secs,
        variants
            .iter()
            .map(|variant| variant.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    if !cfg!(feature = "precise") {
        println!("Built without the `precise` feature: no precise timer in this run.");
        println!();
    }

    for (_, runtime, grid) in &runtimes {
        discard_first_phases(runtime, *grid, &variants);
    }

    // totals[runtime][period][variant]; the floor thread's own lateness is one more column.
    let columns = variants.len() + 1;
    let mut totals: Vec<Vec<Vec<Totals>>> = (0..runtimes.len())
        .map(|_| {
            (0..periods.len())
                .map(|_| (0..columns).map(|_| Totals::new()).collect())
                .collect()
        })
        .collect();
    for round in 0..rounds {
        let offset = round_offset(round, rounds);
        for (r, (_, runtime, grid)) in runtimes.iter().enumerate() {
            for (p, &period) in periods.iter().enumerate() {
                for v in Variant::order(variants.len(), round) {
                    let (cell, thread) = totals[r][p].split_at_mut(columns - 1);
                    precision_phase(
                        runtime,
                        *grid,
                        variants[v],
                        period,
                        offset,
                        length,
                        &mut cell[v],
                        &mut thread[0],
                    );
                }
            }
        }
        eprintln!("precision: round {} of {rounds} done", round + 1);
    }

    println!(
        "| runtime | period | timer | ticks | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | \
         phases' median p99 µs | \
         CPU ms/s | CPU ms/s (schedstat) | sleeps/s | preempted/s | timer thread CPU ms/s | \
         timer thread sleeps/s | ÷ tokio p50 | p90 | p99 | CPU | CPU (schedstat) |"
    );
    println!(
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\
         ---:|---:|---:|"
    );
    let mut verdicts = Vec::new();
    for (r, (runtime_name, ..)) in runtimes.iter().enumerate() {
        for (p, period) in periods.iter().enumerate() {
            let cell = &mut totals[r][p];
            // Timer, ticks, lateness quantiles (µs) and the median of the phases' p99,
            // usage per second, phases not served.
            type Row = (Variant, usize, [f64; 6], [Option<f64>; 6], usize);
            let mut rows: Vec<Row> = Vec::new();
            for (v, totals) in cell.iter_mut().enumerate() {
                let variant = variants.get(v).copied().unwrap_or(Variant::FloorThread);
                if totals.late_ns.is_empty() {
                    continue; // the floor thread's column, without `--floor`
                }
                let usage = if variant == Variant::FloorThread {
                    None
                } else {
                    totals.usage
                };
                let q = lateness_quantiles(&mut totals.late_ns).expect("ticks");
                totals.phase_p99_ns.sort_unstable();
                let median_p99 = quantile(&totals.phase_p99_ns, 0.5) as f64 / 1e3;
                rows.push((
                    variant,
                    totals.late_ns.len(),
                    [q[0], q[1], q[2], q[3], q[4], median_p99],
                    per_sec(usage, totals.wall),
                    totals.unserved,
                ));
            }
            let tokio = rows
                .iter()
                .find(|row| row.0 == Variant::Tokio)
                .map(|row| (row.2, row.3));
            for (variant, ticks, q, usage, unserved) in &rows {
                let ratios = match tokio {
                    Some((t, tokio_cpu)) if *variant != Variant::Tokio => format!(
                        "{:.3} | {:.3} | {:.3} | {} | {}",
                        q[0] / t[0],
                        q[1] / t[1],
                        q[2] / t[2],
                        ratio(usage[0], tokio_cpu[0]),
                        ratio(usage[1], tokio_cpu[1]),
                    ),
                    _ => " | | | | ".into(),
                };
                let note = if *unserved > 0 {
                    format!(" ({unserved} phases not served by an OS timer)")
                } else {
                    String::new()
                };
                println!(
                    "| {runtime_name} | {period:?} | {}{note} | {ticks} | {:.0} | {:.0} | {:.0} | \
                     {:.0} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {ratios} |",
                    variant.name(),
                    q[0],
                    q[1],
                    q[2],
                    q[3],
                    q[4],
                    q[5],
                    fmt_opt(usage[0], 1),
                    fmt_opt(usage[1], 1),
                    fmt_opt(usage[2], 0),
                    fmt_opt(usage[3], 0),
                    fmt_opt(usage[4], 1),
                    fmt_opt(usage[5], 0),
                );
                if *variant == Variant::Precise && *period == Duration::from_millis(1) {
                    if let Some((t, tokio_cpu)) = tokio {
                        verdicts.push(format!(
                            "{runtime_name}: p50 {:.0} µs (target ≤ 60); p90 {:.1}× better than \
                             tokio (target ≥ 10); p99 {:.1}× better (target ≥ 5, unloaded; \
                             phases' median p99: {:.1}×); CPU {} × tokio's (schedstat; {} from \
                             /proc/self/stat; target ≤ 1.2)",
                            q[0],
                            t[1] / q[1],
                            t[2] / q[2],
                            t[5] / q[5],
                            ratio(usage[1], tokio_cpu[1]),
                            ratio(usage[0], tokio_cpu[0]),
                        ));
                    }
                }
            }
        }
    }
    println!();
    for verdict in verdicts {
        println!("- 1 ms, {verdict}");
    }
    println!();
    println!(
        "Lateness: the real clock when the task has the tick, minus the time the tick was due \
         (for tokio, the instant `tick()` returned). CPU ms/s: the process's user + system \
         time (`/proc/self/stat`, 10 ms units) per second of the phases; schedstat: the same \
         from every thread's nanosecond counter. sleeps/s: voluntary context switches of every \
         thread (a thread blocking to wait for a wake-up), preempted/s: involuntary ones; \
         timer thread: kadenz's `kadenz-precise` thread (and the floor's). Phases' median \
         p99: the p99 of each phase, median over the phases (a phase that met other \
         processes' load counts once)."
    );
    println!();
}

// --- many timers: precision-scale, and the runner `scale` shares ------------------------

/// Precise timers that an OS timer did not serve, in the precision-scale figure.
static UNSERVED: AtomicUsize = AtomicUsize::new(0);

/// One phase of a figure of many timers: `count` tasks with a timer each, their first
/// ticks spread evenly over one period (task `i` at `first + i * period / count`); ticks
/// are recorded only after the warm-up. Returns the measured part's usage and duration.
fn many_timers_phase(
    variant: Variant,
    count: usize,
    period: Duration,
    warm_up: Duration,
    measured: Duration,
) -> (Option<Usage>, Duration) {
    let runtime = precision_drivers(Builder::new_multi_thread().worker_threads(2))
        .build()
        .expect("a multi-thread runtime");
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
                match variant {
                    Variant::Precise | Variant::Default => {
                        let precise = variant == Variant::Precise;
                        let mut timer = kadenz_timer(period, first_tick, precise);
                        if precise && !served_by_os_timer(&timer) {
                            UNSERVED.fetch_add(1, Relaxed);
                        }
                        loop {
                            let scheduled = timer.tick().await.expect("running").scheduled();
                            record(Instant::now() - scheduled);
                        }
                    }
                    Variant::Tokio => {
                        let mut interval = tokio_interval(first_tick, period);
                        loop {
                            let scheduled = interval.tick().await;
                            record(Instant::now() - scheduled);
                        }
                    }
                    Variant::Floor | Variant::FloorThread => unreachable!("not in this figure"),
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
        let before = Usage::now();
        let start = Instant::now();
        tokio::time::sleep(measured).await;
        let wall = start.elapsed();
        let usage = usage_since(before);
        MEASURING.store(false, Relaxed);
        (usage, wall)
    });
    drop(runtime);
    result
}

fn precision_scale(flags: &Flags) {
    let variants = Variant::compared(flags, false);
    println!(
        "## Precision at scale: one task per timer, 2 worker threads ({} rounds; each \
         round, for each set of timers, one phase per timer kind in the order {}, rotated by \
         one every round; {:.1} s measured per phase after {:.1} s of warm-up; one discarded \
         phase first)",
        flags.precision_scale_rounds,
        variants
            .iter()
            .map(|variant| variant.name())
            .collect::<Vec<_>>()
            .join(", "),
        flags.precision_scale_secs,
        flags.precision_scale_warm_up_secs
    );
    println!();
    if !cfg!(feature = "precise") {
        println!("Built without the `precise` feature: no precise timer in this run.");
        println!();
    }
    many_timers(
        "precision-scale",
        &[
            (1_000, Duration::from_millis(1)),
            (10_000, Duration::from_millis(10)),
        ],
        &variants,
        flags.precision_scale_rounds,
        Duration::from_secs_f64(flags.precision_scale_warm_up_secs),
        Duration::from_secs_f64(flags.precision_scale_secs),
    );
}

/// The measured phases of one timer kind and one set of timers in a figure of many timers.
struct ManyTimersCell {
    histogram: Vec<u64>,
    usage: Option<Usage>,
    wall: Duration,
    /// Each phase's CPU ms per second (schedstat), in round order.
    phase_cpu: Vec<Option<f64>>,
    /// Each phase's p99 lateness in µs, in round order.
    phase_p99: Vec<Option<f64>>,
}

/// Runs and prints a figure of many timers (`scale`, `precision-scale`): for each set of
/// `(count, period)` in `configs`, every round, one phase per timer of `variants`, their
/// order rotated every round (`Variant::order`). The first phase in a process runs
/// cheaper than the later ones, so one whole phase (the first set, the first timer) runs
/// first and is not counted. `label` prefixes the progress lines on stderr.
fn many_timers(
    label: &str,
    configs: &[(usize, Duration)],
    variants: &[Variant],
    rounds: usize,
    warm_up: Duration,
    measured: Duration,
) {
    collect_histograms(&mut vec![0; BUCKETS]); // start from zero
    UNSERVED.store(0, Relaxed);

    let (count, period) = configs[0];
    let (usage, wall) = many_timers_phase(variants[0], count, period, warm_up, measured);
    collect_histograms(&mut vec![0; BUCKETS]);
    let discarded_cpu = per_sec(usage, wall)[1];

    // [config][variant]
    let mut cells: Vec<Vec<ManyTimersCell>> = configs
        .iter()
        .map(|_| {
            variants
                .iter()
                .map(|_| ManyTimersCell {
                    histogram: vec![0; BUCKETS],
                    usage: Some(Usage::default()),
                    wall: Duration::ZERO,
                    phase_cpu: vec![],
                    phase_p99: vec![],
                })
                .collect()
        })
        .collect();
    for round in 0..rounds {
        for (c, &(count, period)) in configs.iter().enumerate() {
            for v in Variant::order(variants.len(), round) {
                let (usage, wall) =
                    many_timers_phase(variants[v], count, period, warm_up, measured);
                let mut histogram = vec![0; BUCKETS];
                collect_histograms(&mut histogram);
                let cell = &mut cells[c][v];
                for (total, count) in cell.histogram.iter_mut().zip(&histogram) {
                    *total += count;
                }
                cell.usage = cell.usage.zip(usage).map(|(a, b)| a.plus(b));
                cell.wall += wall;
                let cpu = per_sec(usage, wall)[1];
                cell.phase_cpu.push(cpu);
                let ticks: u64 = histogram.iter().sum();
                cell.phase_p99
                    .push((ticks > 0).then(|| histogram_quantile(&histogram, 0.99) as f64));
                eprintln!(
                    "{label}: round {} {count} × {period:?} {}: {} ms CPU per s",
                    round + 1,
                    variants[v].name(),
                    fmt_opt(cpu, 0)
                );
            }
        }
    }

    println!(
        "| timers | timer | ticks/s | expected | CPU ms/s | CPU ms/s (schedstat) | sleeps/s | \
         preempted/s | timer thread CPU ms/s | timer thread sleeps/s | p50 µs | p90 µs | \
         p99 µs | max µs | ÷ tokio CPU | p99 | ÷ tokio CPU per round | ÷ tokio p99 per round | \
         CPU ms/s per phase |"
    );
    println!(
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\
         ---|---|"
    );
    let tokio = variants.iter().position(|&v| v == Variant::Tokio);
    for (c, &(count, period)) in configs.iter().enumerate() {
        let quantiles = |cell: &ManyTimersCell| {
            let q = |q: f64| histogram_quantile(&cell.histogram, q);
            [q(0.5), q(0.9), q(0.99), q(1.0)]
        };
        for (v, cell) in cells[c].iter().enumerate() {
            let usage = per_sec(cell.usage, cell.wall);
            let q = quantiles(cell);
            let ratios = match tokio {
                Some(t) if t != v => {
                    let tokio = &cells[c][t];
                    format!(
                        "{} | {:.2} | {} | {}",
                        ratio(usage[1], per_sec(tokio.usage, tokio.wall)[1]),
                        q[2] as f64 / quantiles(tokio)[2].max(1) as f64,
                        per_round_ratios(&cell.phase_cpu, &tokio.phase_cpu),
                        per_round_ratios(&cell.phase_p99, &tokio.phase_p99),
                    )
                }
                _ => " | | | ".into(),
            };
            let phases = cell
                .phase_cpu
                .iter()
                .map(|cpu| fmt_opt(*cpu, 0))
                .collect::<Vec<_>>()
                .join(", ");
            let ticks: u64 = cell.histogram.iter().sum();
            println!(
                "| {count} × {period:?} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} \
                 | {} | {} | {} | {ratios} | {phases} |",
                variants[v].name(),
                ticks as f64 / cell.wall.as_secs_f64(),
                count as f64 / period.as_secs_f64(),
                fmt_opt(usage[0], 0),
                fmt_opt(usage[1], 0),
                fmt_opt(usage[2], 0),
                fmt_opt(usage[3], 0),
                fmt_opt(usage[4], 0),
                fmt_opt(usage[5], 0),
                q[0],
                q[1],
                q[2],
                q[3],
            );
        }
    }
    println!();
    println!(
        "Discarded first phase ({} × {:?}, {}): {} CPU ms/s. Precise timers not served by an \
         OS timer: {}.",
        configs[0].0,
        configs[0].1,
        variants[0].name(),
        fmt_opt(discarded_cpu, 0),
        UNSERVED.load(Relaxed)
    );
    println!(
        "Lateness is bucketed: exact to the µs below 2,048 µs, within 1.6 % above. CPU ms/s: \
         the process's user + system time (`/proc/self/stat`, 10 ms units) per second of the \
         measured parts (2 cores: at most 2000); schedstat: the same from every thread's \
         nanosecond counter, which the ratios and the per-phase figures use. Per round: the \
         phase over tokio's phase of the same round, in round order."
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
            "no criterion results in {}: run `cargo bench -p kadenz-tools` first",
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
