//! The waiting poll and reset then poll of a timer in a spawned task, kadenz against
//! tokio's `Interval`, interleaved, with tokio built without `test-util` (as in a user's
//! release build). Prints the median ns per operation and the ratios over the rounds.
//!
//! ```text
//! cargo run --release --manifest-path benches/release-clock/Cargo.toml -- [ROUNDS]
//! cargo run --release --manifest-path benches/release-clock/Cargo.toml --features precise
//! ```
//!
//! With `--features precise`, a third group polls a waiting precise timer (which reads the
//! clock on every poll and keeps its OS timer's request current).

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant as StdInstant};

/// Far enough that nothing fires during a round.
const PERIOD: Duration = Duration::from_secs(1);
const OPS: u64 = 200_000;

/// Times `OPS` operations of one member, set-up untimed.
type Routine = fn() -> Duration;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Runs `body` in a task spawned on a fresh current-thread runtime, and returns what it
/// measured.
fn in_task(body: Routine) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async { tokio::spawn(async move { body() }).await.expect("the task") })
}

/// Makes a timer, polls it once (it waits on the wheel), then times `OPS` operations.
fn timed<T>(make: impl FnOnce() -> T, mut op: impl FnMut(&mut T, &mut Context<'_>)) -> Duration {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut timer = make();
    op(&mut timer, &mut cx);
    let start = StdInstant::now();
    for _ in 0..OPS {
        op(black_box(&mut timer), &mut cx);
    }
    start.elapsed()
}

fn tokio_interval() -> tokio::time::Interval {
    tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD)
}

fn poll_pending_kadenz() -> Duration {
    timed(
        || kadenz::Timer::periodic(PERIOD),
        |timer, cx| {
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn poll_pending_tokio() -> Duration {
    timed(tokio_interval, |interval, cx| {
        let _ = black_box(interval.poll_tick(cx));
    })
}

#[cfg(feature = "precise")]
fn poll_pending_precise() -> Duration {
    timed(
        || {
            kadenz::Timer::builder(PERIOD)
                .precise(true)
                .build()
                .expect("a precise timer")
        },
        |timer, cx| {
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn reset_poll_kadenz() -> Duration {
    timed(
        || kadenz::Timer::timeout(PERIOD),
        |timer, cx| {
            timer.reset();
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn reset_poll_tokio() -> Duration {
    timed(tokio_interval, |interval, cx| {
        interval.reset();
        let _ = black_box(interval.poll_tick(cx));
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(21);
    println!("in a task, tokio without test-util, {rounds} interleaved rounds of {OPS} operations");
    println!();
    println!("| group | kadenz ns/op | tokio ns/op | kadenz/tokio: median | min | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    #[cfg_attr(not(feature = "precise"), allow(unused_mut))]
    let mut groups: Vec<(&str, Routine, Routine)> = vec![
        ("poll_pending", poll_pending_kadenz, poll_pending_tokio),
        ("reset_poll", reset_poll_kadenz, reset_poll_tokio),
    ];
    #[cfg(feature = "precise")]
    groups.push((
        "poll_pending_precise",
        poll_pending_precise,
        poll_pending_tokio,
    ));
    for (group, kadenz, tokio) in groups {
        let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let ns = |routine: Routine| in_task(routine).as_nanos() as f64 / OPS as f64;
            // Alternate which side runs first.
            let (k, t) = if round % 2 == 0 {
                let k = ns(kadenz);
                (k, ns(tokio))
            } else {
                let t = ns(tokio);
                (ns(kadenz), t)
            };
            ours.push(k);
            theirs.push(t);
            ratios.push(k / t);
        }
        let (min, max) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        println!(
            "| {group} | {:.1} | {:.1} | {:.3} | {min:.3} | {max:.3} |",
            median(&mut ours),
            median(&mut theirs),
            median(&mut ratios),
        );
    }
}
