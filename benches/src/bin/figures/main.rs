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
//!   See docs/benchmarks-history.md, "Method", for how each figure keeps the two sides
//!   comparable.
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

mod bytes;
mod common;
#[cfg(all(feature = "precise", target_os = "linux"))]
mod floor;
mod lateness;
mod many_timers;
mod one_timer;
mod precision;
mod precision_scale;
mod process_usage;
mod ratios;
mod scale;

use std::sync::atomic::Ordering::Relaxed;

use bytes::bytes;
use common::NO_IO;
use lateness::lateness;
use precision::precision;
use precision_scale::precision_scale;
use ratios::ratios;
use scale::scale;

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
