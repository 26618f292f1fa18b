//! Per-tick cost of a kadenz `Timer` against tokio's `Interval`, on tokio's paused clock.
//!
//! Every clock in this process is paused, so every member pays the same price for
//! `tokio::time::Instant::now()`, which reads the paused clock through the runtime
//! context. Benches on the real clock live in `benches/ops.rs`: once a clock has been
//! paused anywhere in a process, `Instant::now()` takes that slower path everywhere in it.
//!
//! Both sides are driven the same way: a current-thread runtime with a paused clock,
//! `block_on` a loop of `n` ticks, timed inside with `std::time::Instant`. A kadenz timer
//! ticks one interval after its start, a tokio `Interval` at once: the routines take the
//! `Interval`'s immediate tick before timing, so both then deliver ticks on the same grid.
//!
//! ```text
//! cargo bench -p kadenz-tools --bench tick            # criterion
//! cargo bench -p kadenz-tools --bench tick -- --ab    # interleaved A/B ratios
//! ```

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant as StdInstant};

use common::Case;
use kadenz::Timer;
use kadenz_testkit::paused_runtime;
use tokio::time::{advance, interval, Interval, MissedTickBehavior};

/// The interval of every timer here: on the paused clock only the grid matters, and 1 ms
/// keeps the clock and the schedules on tokio's millisecond wheel slots.
const PERIOD: Duration = Duration::from_micros(PERIOD_US);
const PERIOD_US: u64 = 1_000;

/// `n` periods, saturating.
fn periods(n: u64) -> Duration {
    Duration::from_micros(PERIOD_US.saturating_mul(n))
}

/// An `Interval` whose immediate first tick is already taken: its next tick is due one
/// period after its start, like a kadenz timer's first.
async fn tokio_interval() -> Interval {
    let mut interval = interval(PERIOD);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    interval.tick().await;
    interval
}

// --- a burst of overdue ticks -----------------------------------------------------------
//
// The clock is advanced by `n` periods before timing, so all `n` ticks are overdue when
// they are received: kadenz's `TriggerAllMissed` and tokio's `Burst` both deliver every
// one of them, one per poll. (`Burst` only differs from the other behaviours after 5 ms
// of lateness; it delivers every tick either way.) Each tick takes a unit of tokio's
// cooperative budget on both sides, so both yield to the runtime after the same number of
// ticks.

fn overdue_kadenz(n: u64) -> Duration {
    overdue(n, || Timer::periodic(PERIOD))
}

/// `n` overdue ticks of the timer `make` makes.
fn overdue(n: u64, make: fn() -> Timer) -> Duration {
    paused_runtime().block_on(async {
        let mut timer = make();
        advance(periods(n)).await;
        let start = StdInstant::now();
        for _ in 0..n {
            black_box(timer.tick().await);
        }
        start.elapsed()
    })
}

fn overdue_tokio(n: u64) -> Duration {
    paused_runtime().block_on(async {
        let mut interval = tokio_interval().await;
        advance(periods(n)).await;
        let start = StdInstant::now();
        for _ in 0..n {
            black_box(interval.tick().await);
        }
        start.elapsed()
    })
}

// --- a tick that is due -----------------------------------------------------------------
//
// The clock is advanced by exactly one period, then the tick is received: it is due now,
// neither early nor late. The advance (the same call on both sides) is in the timing.

fn due_kadenz(n: u64) -> Duration {
    paused_runtime().block_on(async {
        let mut timer = Timer::periodic(PERIOD);
        let start = StdInstant::now();
        for _ in 0..n {
            advance(PERIOD).await;
            black_box(timer.tick().await);
        }
        start.elapsed()
    })
}

fn due_tokio(n: u64) -> Duration {
    paused_runtime().block_on(async {
        let mut interval = tokio_interval().await;
        let start = StdInstant::now();
        for _ in 0..n {
            advance(PERIOD).await;
            black_box(interval.tick().await);
        }
        start.elapsed()
    })
}

// --- a tick that is waited for ----------------------------------------------------------
//
// The tick is not due yet: the timer registers with the timer wheel and returns
// `Pending`; the idle runtime moves the paused clock to the deadline, fires the wheel
// entry and polls again. This is the path of a timer that is received on time, end to end
// (without the operating system's sleep).

fn wait_kadenz(n: u64) -> Duration {
    wait(n, || Timer::periodic(PERIOD))
}

/// `n` waited-for ticks of the timer `make` makes.
fn wait(n: u64, make: fn() -> Timer) -> Duration {
    paused_runtime().block_on(async {
        let mut timer = make();
        // The first wait boxes the timer's `Sleep`; tokio's is boxed before timing too.
        timer.tick().await;
        let start = StdInstant::now();
        for _ in 0..n {
            black_box(timer.tick().await);
        }
        start.elapsed()
    })
}

fn wait_tokio(n: u64) -> Duration {
    paused_runtime().block_on(async {
        let mut interval = tokio_interval().await;
        let start = StdInstant::now();
        for _ in 0..n {
            black_box(interval.tick().await);
        }
        start.elapsed()
    })
}

// --- a timer that keeps a drift histogram, and one with jitter ---------------------------
//
// `TimerBuilder::record_drift(true)`: every tick goes through the other monomorphisation
// of the poll and records its drift; `jitter` (up to one period, seeded) also moves each
// wait. The ratio is against the plain timer of the same binary
// (`cargo bench -p kadenz-tools --bench tick -- --ab 21 recording jittered`).

fn recording() -> Timer {
    Timer::builder(PERIOD)
        .record_drift(true)
        .build()
        .expect("a valid timer")
}

fn overdue_recording(n: u64) -> Duration {
    overdue(n, recording)
}

fn wait_recording(n: u64) -> Duration {
    wait(n, recording)
}

fn jittered() -> Timer {
    Timer::builder(PERIOD)
        .jitter(PERIOD)
        .jitter_seed(1)
        .build()
        .expect("a valid timer")
}

fn overdue_jittered(n: u64) -> Duration {
    overdue(n, jittered)
}

// --- a timer that reports events (feature `tracing`) -----------------------------------
//
// A named timer with a lateness threshold it never crosses (an hour): every tick goes
// through the reporting checks and none emits an event. The ratio is against the plain
// timer of the same build (`cargo bench -p kadenz-tools --features tracing --bench tick
// -- --ab 41 reporting`). (Without the feature, the plain timer's tick is the very code
// it was before the feature existed: docs/benchmarks-history.md, "2026-11-24:
// Observability".)

#[cfg(feature = "tracing")]
fn reporting() -> Timer {
    Timer::builder(PERIOD)
        .name("bench")
        .warn_if_late(Duration::from_secs(3600))
        .build()
        .expect("a valid timer")
}

#[cfg(feature = "tracing")]
fn overdue_reporting(n: u64) -> Duration {
    overdue(n, reporting)
}

#[cfg(feature = "tracing")]
fn wait_reporting(n: u64) -> Duration {
    wait(n, reporting)
}

#[cfg(feature = "tracing")]
const REPORTING: &[Case] = &[
    Case {
        group: "reporting_overdue",
        members: &[("reporting", overdue_reporting), ("plain", overdue_kadenz)],
        ab_ops: 200_000,
    },
    Case {
        group: "reporting_wait",
        members: &[("reporting", wait_reporting), ("plain", wait_kadenz)],
        ab_ops: 30_000,
    },
];

const CASES: &[Case] = &[
    Case {
        group: "tick_overdue",
        members: &[("kadenz", overdue_kadenz), ("tokio", overdue_tokio)],
        ab_ops: 200_000,
    },
    Case {
        group: "tick_due",
        members: &[("kadenz", due_kadenz), ("tokio", due_tokio)],
        ab_ops: 50_000,
    },
    Case {
        group: "tick_wait",
        members: &[("kadenz", wait_kadenz), ("tokio", wait_tokio)],
        ab_ops: 30_000,
    },
    Case {
        group: "recording_overdue",
        members: &[("recording", overdue_recording), ("plain", overdue_kadenz)],
        ab_ops: 200_000,
    },
    Case {
        group: "recording_wait",
        members: &[("recording", wait_recording), ("plain", wait_kadenz)],
        ab_ops: 30_000,
    },
    Case {
        group: "jittered_overdue",
        members: &[("jittered", overdue_jittered), ("plain", overdue_kadenz)],
        ab_ops: 200_000,
    },
];

fn main() {
    #[cfg(not(feature = "tracing"))]
    common::main(CASES);
    #[cfg(feature = "tracing")]
    common::main(
        &CASES
            .iter()
            .chain(REPORTING)
            .map(|case| Case { ..*case })
            .collect::<Vec<_>>(),
    );
}
