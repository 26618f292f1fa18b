//! What the figures share: formatting, runtimes, the timers compared and how each is made.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use kadenz::Timer;
use tokio::runtime::Builder;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

use crate::{usage, Flags};

pub(crate) fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.decimals$}"))
}

pub(crate) fn ratio(kadenz: Option<f64>, tokio: Option<f64>) -> String {
    match (kadenz, tokio) {
        (Some(k), Some(t)) if t > 0.0 => format!("{:.2}", k / t),
        _ => "n/a".into(),
    }
}

pub(crate) use kadenz_testkit::current_thread_runtime;

/// With `--no-io`, the precision figures' runtimes are built without tokio's IO driver
/// (`enable_time()` alone): kadenz's precise timers then fall back to its thread.
pub(crate) static NO_IO: AtomicBool = AtomicBool::new(false);

/// The drivers of a precision figure's runtime: time, and IO as `#[tokio::main]` has it
/// (so that precise timers wake in the runtime's reactor), unless `--no-io`.
pub(crate) fn precision_drivers(builder: &mut Builder) -> &mut Builder {
    if NO_IO.load(Relaxed) {
        builder.enable_time()
    } else {
        builder.enable_all()
    }
}

/// A tokio `Interval` whose first tick is due at `first`, firing every missed tick (the
/// default behaviour, which kadenz's `TriggerAllMissed` matches).
pub(crate) fn tokio_interval(first: Instant, period: Duration) -> Interval {
    let mut interval = interval_at(first, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    interval
}

/// The timers compared by the precision figures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Variant {
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
    pub(crate) fn name(self) -> &'static str {
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
    pub(crate) fn compared(flags: &Flags, floor_allowed: bool) -> Vec<Variant> {
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

    /// The names of `variants`, in their order, for a figure's title.
    pub(crate) fn names(variants: &[Variant]) -> String {
        variants
            .iter()
            .map(|variant| variant.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The order of the phases in round `round`, as indices into the `count` timers
    /// compared: the first round's (0, 1, ...), rotated by `round` (with two timers:
    /// A B, B A, A B, ...).
    pub(crate) fn order(count: usize, round: usize) -> impl Iterator<Item = usize> {
        (0..count).map(move |i| (i + round) % count)
    }
}

/// Says, under a precision figure's title, that this build compares no precise timer.
pub(crate) fn note_without_precise() {
    if !cfg!(feature = "precise") {
        println!("Built without the `precise` feature: no precise timer in this run.");
        println!();
    }
}

/// Where the first tick of a round's phases falls past a millisecond of the wheel: the
/// rounds step it through the millisecond (stratified; see the lateness figure).
pub(crate) fn round_offset(round: usize, rounds: usize) -> Duration {
    Duration::from_millis(1).mul_f64((round as f64 + 0.5) / rounds as f64)
}

/// kadenz's phase over tokio's phase of the same round, each round's in round order.
pub(crate) fn per_round_ratios(kadenz: &[Option<f64>], tokio: &[Option<f64>]) -> String {
    kadenz
        .iter()
        .zip(tokio)
        .map(|(k, t)| ratio(*k, *t))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A kadenz timer whose first tick is due at `first`, precise or not.
pub(crate) fn kadenz_timer(period: Duration, first: Instant, precise: bool) -> Timer {
    let builder = Timer::builder(period).first_tick_at(first);
    #[cfg(feature = "precise")]
    let builder = builder.precise(precise);
    #[cfg(not(feature = "precise"))]
    assert!(!precise, "built without the `precise` feature");
    builder.build().expect("a valid timer")
}

/// Whether an OS timer serves `timer` (never without the `precise` feature).
pub(crate) fn served_by_os_timer(timer: &Timer) -> bool {
    #[cfg(feature = "precise")]
    return timer.is_precise();
    #[cfg(not(feature = "precise"))]
    {
        let _ = timer;
        false
    }
}
