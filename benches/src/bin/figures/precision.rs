//! The `precision` figure: one precise timer's lateness and cost, against kadenz's default
//! timers and tokio's `Interval`.

use std::time::Duration;

use tokio::runtime::{Builder, Runtime};
use tokio::time::Instant;

use crate::common::{
    fmt_opt, note_without_precise, precision_drivers, ratio, round_offset, Variant,
};
use crate::one_timer::{
    discard_first_phases, lateness_quantiles, precision_phase, quantile, Totals,
};
use crate::process_usage::per_sec;
use crate::{parse, usage, Flags};

// One timer's lateness, and what it costs the process, for kadenz's precise timers (cargo
// feature `precise`), kadenz's default ones and tokio's `Interval`. The timers run in
// phases of about a second, one after the other, their order rotated every round, so that
// whatever else the machine does at the time falls on all of them alike. Every phase of a
// round puts its first tick at the same offset in the wheel's millisecond (see the lateness
// figure), and the rounds step that offset through the millisecond. Both runtimes stay
// alive for the whole figure, and every round visits every runtime and period, so a change
// of the machine's load over the run spreads over every row.

pub(crate) fn precision(flags: &Flags) {
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
        Variant::names(&variants)
    );
    println!();
    note_without_precise();

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
