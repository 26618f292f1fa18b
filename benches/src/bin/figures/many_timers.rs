//! The phases of many timers, one task each, on a two-worker runtime, which the `scale` and
//! `precision-scale` figures run; lateness goes into per-thread histograms.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Builder;
use tokio::time::Instant;

use crate::common::{
    fmt_opt, kadenz_timer, per_round_ratios, precision_drivers, ratio, served_by_os_timer,
    tokio_interval, Variant,
};
use crate::process_usage::{add_usage, per_sec, usage_since, Usage};

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
pub(crate) fn many_timers(
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
                add_usage(&mut cell.usage, usage);
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
