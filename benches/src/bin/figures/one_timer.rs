//! The phases of one timer on the real clock, which the `lateness` and `precision` figures
//! run: each tick's lateness and what the phase cost the process.

use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::time::Instant;

use crate::common::{kadenz_timer, served_by_os_timer, tokio_interval, Variant};
#[cfg(all(feature = "precise", target_os = "linux"))]
use crate::floor;
use crate::process_usage::{add_usage, per_sec, usage_since, Usage};

/// Where the first tick of a phase is due: at least a period and a millisecond from now,
/// `offset` past a millisecond boundary of the wheel's grid (which starts at `grid`).
fn first_tick(grid: Instant, period: Duration, offset: Duration) -> Instant {
    let earliest = Instant::now() + period + Duration::from_millis(1);
    let whole_ms = (earliest - grid).as_millis() as u64 + 1;
    grid + Duration::from_millis(whole_ms) + offset
}

/// The value at quantile `q` of sorted `values`.
pub(crate) fn quantile(sorted: &[u64], q: f64) -> u64 {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
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
pub(crate) struct Totals {
    pub(crate) late_ns: Vec<u64>,
    /// Each phase's p99, in ns.
    pub(crate) phase_p99_ns: Vec<u64>,
    /// Each phase's CPU ms per second (schedstat).
    pub(crate) phase_cpu: Vec<Option<f64>>,
    pub(crate) usage: Option<Usage>,
    pub(crate) wall: Duration,
    pub(crate) unserved: usize,
}

impl Totals {
    pub(crate) fn new() -> Self {
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
        add_usage(&mut self.usage, usage);
        self.wall += wall;
    }
}

/// Runs one phase of the precision figure on `runtime` and adds it to `totals` (and the
/// floor thread's own lateness to `thread_totals`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn precision_phase(
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
pub(crate) fn discard_first_phases(runtime: &Runtime, grid: Instant, variants: &[Variant]) {
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
pub(crate) fn lateness_quantiles(late_ns: &mut [u64]) -> Option<[f64; 5]> {
    if late_ns.is_empty() {
        return None;
    }
    late_ns.sort_unstable();
    let us = |q: f64| quantile(late_ns, q) as f64 / 1e3;
    Some([us(0.5), us(0.9), us(0.99), us(0.999), us(1.0)])
}
