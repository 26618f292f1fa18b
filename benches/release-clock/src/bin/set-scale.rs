//! set-scale: a million periodic timers (periods spread 100 ms – 10 s, phases spread over
//! the period) three ways, interleaved in one process on a current-thread runtime each:
//!
//! - `set`: one `kadenz::TimerSet<u32>` driven by one task (`SkipMissedAndResync`);
//! - `tasks`: one task per timer, each with a `tokio::time::Interval` (`Skip`);
//! - `delayqueue`: one `tokio_util::time::DelayQueue<u32>`, each delay inserted again
//!   one period after its deadline (skipping periods already past) as it fires.
//!
//! Per phase: bytes per timer (live heap bytes, counting allocator), set-up and tear-down
//! cost per timer, then after a warm-up CPU per delivered tick (the runtime thread's
//! schedstat ns) and lateness quantiles (µs). Phase order rotates by round; the first
//! phase of the process is run once more at the end and its first run discarded.
//!
//! cargo run --release --manifest-path benches/release-clock/Cargo.toml --bin set-scale -- [ENTRIES] [SECONDS] [ROUNDS]
//!
//! (defaults 1,000,000 entries, 5 s, 3 rounds; `SET_SCALE_ONLY=0|1|2` runs one phase alone,
//! for a profiler; `SET_SCALE_PERIODS_MS=10,100` spreads the periods over 10 – 100 ms
//! instead.) Built without tokio's `test-util`, whose clock takes a mutex.
//!
//! With `--features precise`, a fourth phase, `precise set`: the same `TimerSet` made
//! precise (`TimerSet::precise(true)`, entries `precise(true)`); every phase's runtime
//! then has tokio's IO driver (`enable_all()`), so that the precise set wakes in the
//! runtime's reactor.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use kadenz::policy::SkipMissedAndResync;
use kadenz::{Timer, TimerSet};
use tokio::time::{Instant, MissedTickBehavior};

use kadenz_counting_alloc::LIVE;

/// The range of the periods in ms: 100 – 10,000 unless `SET_SCALE_PERIODS_MS=LOW,HIGH`.
fn periods_ms() -> (u64, u64) {
    static RANGE: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    *RANGE.get_or_init(|| match std::env::var("SET_SCALE_PERIODS_MS") {
        Ok(range) => {
            let (low, high) = range.split_once(',').expect("LOW,HIGH");
            (low.parse().expect("ms"), high.parse().expect("ms"))
        }
        Err(_) => (100, 10_000),
    })
}

/// The period of timer `i`: spread evenly over the range of periods (100 ms to 10 s).
fn period(i: u32) -> Duration {
    let (low, high) = periods_ms();
    Duration::from_millis(low + u64::from(i.wrapping_mul(7919)) % (high - low + 1))
}

/// Where in its period timer `i` starts: spread over the period.
fn phase(i: u32) -> Duration {
    let mut x = u64::from(i) + 0x9e37_79b9_7f4a_7c15;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    let p = period(i).as_micros() as u64;
    Duration::from_micros(x % p)
}

/// On-CPU nanoseconds of the calling thread.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Lateness in µs, 1 µs buckets up to 1 s.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: vec![0; 1_000_001],
            count: 0,
        }
    }
    fn record(&mut self, us: u64) {
        self.buckets[us.min(1_000_000) as usize] += 1;
        self.count += 1;
    }
    fn quantile(&self, q: f64) -> u64 {
        let target = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target {
                return us as u64;
            }
        }
        1_000_000
    }
}

thread_local! {
    static HIST: RefCell<Option<Histogram>> = const { RefCell::new(None) };
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    static STOP: Cell<bool> = const { Cell::new(false) };
}

fn record(late: Duration) {
    if RECORDING.with(Cell::get) {
        HIST.with(|h| {
            if let Some(h) = h.borrow_mut().as_mut() {
                h.record(late.as_micros() as u64)
            }
        });
    }
}

struct Result {
    name: &'static str,
    bytes_per_timer: f64,
    setup_ns: f64,
    teardown_ns: f64,
    cpu_ns_per_tick: f64,
    ticks_per_s: f64,
    p50: u64,
    p99: u64,
    p999: u64,
}

fn runtime() -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    if cfg!(feature = "precise") {
        builder.enable_all();
    } else {
        builder.enable_time();
    }
    builder.build().unwrap()
}

fn measure_window<F: std::future::Future<Output = ()>>(
    warm: Duration,
    seconds: Duration,
    drive: impl FnOnce(Instant) -> F,
) -> (u64, u64, Histogram) {
    HIST.with(|h| *h.borrow_mut() = Some(Histogram::new()));
    let start = Instant::now();
    let measure_from = start + warm;
    let end = measure_from + seconds;
    let cpu = Cell::new(0u64);
    let rt = runtime();
    rt.block_on(async {
        let marker = async {
            tokio::time::sleep_until(measure_from).await;
            RECORDING.with(|r| r.set(true));
            cpu.set(thread_cpu_ns());
            tokio::time::sleep_until(end).await;
            RECORDING.with(|r| r.set(false));
            cpu.set(thread_cpu_ns() - cpu.get());
        };
        tokio::join!(marker, drive(end));
    });
    drop(rt);
    let hist = HIST.with(|h| h.borrow_mut().take()).unwrap();
    (cpu.get(), hist.count, hist)
}

/// A phase's costs per timer, noted from inside its drive: set-up, bytes and tear-down.
struct PerTimer {
    n: u32,
    since: Cell<std::time::Instant>,
    live: Cell<usize>,
    setup_ns: Cell<f64>,
    bytes: Cell<f64>,
    teardown_ns: Cell<f64>,
}

impl PerTimer {
    /// Starts the clock (of the set-up, or of the tear-down) and the count of live bytes.
    fn start(&self) {
        self.live.set(LIVE.load(Relaxed));
        self.since.set(std::time::Instant::now());
    }

    fn ns_since_start(&self) -> f64 {
        self.since.get().elapsed().as_nanos() as f64 / f64::from(self.n)
    }

    fn set_up_done(&self) {
        self.setup_ns.set(self.ns_since_start());
    }

    /// The bytes live now beyond those at the start of the set-up.
    fn count_bytes(&self) {
        let bytes = LIVE.load(Relaxed) - self.live.get();
        self.bytes.set(bytes as f64 / f64::from(self.n));
    }

    fn tear_down_done(&self) {
        self.teardown_ns.set(self.ns_since_start());
    }
}

/// Runs one phase of `n` timers, whose `drive` notes its costs per timer, and measures
/// its CPU and lateness (`measure_window`).
fn run_phase<F: Future<Output = ()>>(
    name: &'static str,
    n: u32,
    warm: Duration,
    seconds: Duration,
    drive: impl FnOnce(Instant, Rc<PerTimer>) -> F,
) -> Result {
    let costs = Rc::new(PerTimer {
        n,
        since: Cell::new(std::time::Instant::now()),
        live: Cell::new(0),
        setup_ns: Cell::new(0.0),
        bytes: Cell::new(0.0),
        teardown_ns: Cell::new(0.0),
    });
    let (cpu, ticks, hist) = measure_window(warm, seconds, |end| drive(end, costs.clone()));
    Result {
        name,
        bytes_per_timer: costs.bytes.get(),
        setup_ns: costs.setup_ns.get(),
        teardown_ns: costs.teardown_ns.get(),
        cpu_ns_per_tick: cpu as f64 / ticks.max(1) as f64,
        ticks_per_s: ticks as f64 / seconds.as_secs_f64(),
        p50: hist.quantile(0.5),
        p99: hist.quantile(0.99),
        p999: hist.quantile(0.999),
    }
}

fn set_phase(n: u32, warm: Duration, seconds: Duration) -> Result {
    any_set_phase(n, warm, seconds, false)
}

#[cfg(feature = "precise")]
fn precise_set_phase(n: u32, warm: Duration, seconds: Duration) -> Result {
    any_set_phase(n, warm, seconds, true)
}

fn any_set_phase(n: u32, warm: Duration, seconds: Duration, precise: bool) -> Result {
    let name = if precise { "precise set" } else { "set" };
    run_phase(name, n, warm, seconds, |end, costs| async move {
        costs.start();
        // As `DelayQueue::with_capacity` below: room for every timer up front.
        let set = TimerSet::with_capacity(n as usize);
        #[cfg(feature = "precise")]
        let set = set.precise(precise);
        let mut set = set;
        for i in 0..n {
            let timer = Timer::builder(period(i))
                .missed_tick_policy(SkipMissedAndResync)
                .start_delay(phase(i));
            #[cfg(feature = "precise")]
            let timer = timer.precise(precise);
            set.insert(i, timer).unwrap();
        }
        costs.set_up_done();
        costs.count_bytes();
        loop {
            let (_, tick) = set.next().await;
            record(tick.drift());
            if tick.fired_at() >= end {
                break;
            }
        }
        costs.start();
        for i in 0..n {
            set.remove(&i);
        }
        costs.tear_down_done();
    })
}

fn tasks_phase(n: u32, warm: Duration, seconds: Duration) -> Result {
    STOP.with(|s| s.set(false));
    run_phase("tasks", n, warm, seconds, |end, costs| async move {
        costs.start();
        let start = Instant::now();
        let handles: Vec<_> = (0..n)
            .map(|i| {
                tokio::spawn(async move {
                    let p = period(i);
                    let mut interval = tokio::time::interval_at(start + phase(i) + p, p);
                    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                    loop {
                        let due = interval.tick().await;
                        record(Instant::now() - due);
                        if STOP.with(Cell::get) {
                            break;
                        }
                    }
                })
            })
            .collect();
        costs.set_up_done();
        // Every task has polled once (made its `Sleep`) after the first yield.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        costs.count_bytes();
        tokio::time::sleep_until(end).await;
        STOP.with(|s| s.set(true));
        costs.start();
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            let _ = handle.await;
        }
        costs.tear_down_done();
    })
}

fn delayqueue_phase(n: u32, warm: Duration, seconds: Duration) -> Result {
    use tokio_util::time::DelayQueue;
    run_phase("delayqueue", n, warm, seconds, |end, costs| async move {
        costs.start();
        let start = Instant::now();
        let mut queue = DelayQueue::with_capacity(n as usize);
        let mut keys = Vec::with_capacity(n as usize);
        for i in 0..n {
            keys.push(queue.insert_at(i, start + phase(i) + period(i)));
        }
        costs.set_up_done();
        costs.count_bytes();
        while let Some(expired) = poll_fn(|cx| queue.poll_expired(cx)).await {
            let now = Instant::now();
            record(now - expired.deadline());
            let i = expired.into_inner();
            // The next due time on its grid, skipping the periods already past, as the
            // others do.
            keys[i as usize] = queue.insert_at(i, next_after(now, i, start));
            if now >= end {
                break;
            }
        }
        costs.start();
        for key in &keys {
            queue.try_remove(key);
        }
        costs.tear_down_done();
    })
}

/// The first due time of timer `i` after `now`, on its grid.
fn next_after(now: Instant, i: u32, start: Instant) -> Instant {
    let p = period(i).as_micros();
    let first = start + phase(i) + period(i);
    let since = now.saturating_duration_since(first).as_micros();
    first + Duration::from_micros(((since / p + 1) * p) as u64)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let n = *args.first().unwrap_or(&1_000_000) as u32;
    let seconds = Duration::from_secs(*args.get(1).unwrap_or(&5));
    let rounds = *args.get(2).unwrap_or(&3) as usize;
    let warm = Duration::from_secs(2);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (low, high) = periods_ms();
    println!("set-scale: {n} timers, periods {low} - {high} ms, {seconds:?} measured after {warm:?}, {rounds} rounds; load average {}", load.trim());
    #[allow(unused_mut)]
    let mut phases: Vec<fn(u32, Duration, Duration) -> Result> =
        vec![set_phase, tasks_phase, delayqueue_phase];
    #[cfg(feature = "precise")]
    phases.push(precise_set_phase);
    if let Ok(only) = std::env::var("SET_SCALE_ONLY") {
        let r = phases[only.parse::<usize>().expect("a phase index")](n, warm, seconds);
        println!(
            "{}: {:.1} B/timer, set-up {:.0} and tear-down {:.0} ns/timer, {:.0} ns/tick, p99 {} µs",
            r.name, r.bytes_per_timer, r.setup_ns, r.teardown_ns, r.cpu_ns_per_tick, r.p99
        );
        return;
    }
    // The process's first phase runs cold (page faults of a fresh heap): run one, discard it.
    let _ = phases[0](n / 10, Duration::from_millis(500), Duration::from_secs(1));
    println!("| round | phase | bytes/timer | set-up ns/timer | tear-down ns/timer | ticks/s | CPU ns/tick | p50 µs | p99 µs | p99.9 µs |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let mut results: Vec<Result> = Vec::new();
        for k in 0..phases.len() {
            let phase = phases[(round + k) % phases.len()];
            let r = phase(n, warm, seconds);
            println!(
                "| {round} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {} |",
                r.name,
                r.bytes_per_timer,
                r.setup_ns,
                r.teardown_ns,
                r.ticks_per_s,
                r.cpu_ns_per_tick,
                r.p50,
                r.p99,
                r.p999
            );
            results.push(r);
        }
        let get = |name| results.iter().find(|r| r.name == name).unwrap();
        let (s, t, d) = (get("set"), get("tasks"), get("delayqueue"));
        if let Some(p) = results.iter().find(|r| r.name == "precise set") {
            println!(
                "| {round} | precise set / set, / tasks | CPU per tick {:.2}, {:.2} | p99 {:.2}, {:.2} |",
                p.cpu_ns_per_tick / s.cpu_ns_per_tick,
                p.cpu_ns_per_tick / t.cpu_ns_per_tick,
                p.p99 as f64 / s.p99.max(1) as f64,
                p.p99 as f64 / t.p99.max(1) as f64,
            );
        }
        ratios.push([
            s.cpu_ns_per_tick / t.cpu_ns_per_tick,
            s.bytes_per_timer / t.bytes_per_timer,
            s.setup_ns / t.setup_ns,
            s.teardown_ns / t.teardown_ns,
            s.p99 as f64 / t.p99.max(1) as f64,
            s.cpu_ns_per_tick / d.cpu_ns_per_tick,
            s.bytes_per_timer / d.bytes_per_timer,
            s.setup_ns / d.setup_ns,
            s.teardown_ns / d.teardown_ns,
            s.p99 as f64 / d.p99.max(1) as f64,
        ]);
    }
    println!();
    println!("set / tasks, then set / delayqueue:");
    println!("| round | CPU per tick | bytes | set-up | tear-down | p99 | CPU per tick | bytes | set-up | tear-down | p99 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (round, r) in ratios.iter().enumerate() {
        let cells: Vec<String> = r.iter().map(|x| format!("{x:.2}")).collect();
        println!("| {round} | {} |", cells.join(" | "));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
}
