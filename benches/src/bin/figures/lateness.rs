//! The `lateness` figure: one timer's tick lateness, kadenz against tokio, on the real clock.

use std::time::Duration;

use tokio::time::Instant;

use crate::common::{
    current_thread_runtime, fmt_opt, per_round_ratios, ratio, round_offset, Variant,
};
use crate::one_timer::{discard_first_phases, lateness_quantiles, precision_phase, Totals};
use crate::process_usage::per_sec;
use crate::Flags;

// tokio's timer wheel has 1 ms slots counted from the moment the runtime was built: a
// deadline is rounded up to the next slot boundary, and the driver sleeps whole
// milliseconds. How late a tick fires therefore depends mostly on where its deadline falls
// within a millisecond of that grid. A timer whose period is a whole number of
// milliseconds keeps the same position all along, so two phases started at different
// moments would compare two random positions, not two timers. So every phase places its
// first tick at a chosen position in the millisecond (`offset`), the same for kadenz and
// tokio within a round; the rounds step the offset through the millisecond (stratified).

pub(crate) fn lateness(flags: &Flags) {
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
