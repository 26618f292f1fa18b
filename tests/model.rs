//! The Timer against a reference model of its semantics, on random operation sequences.
//!
//! The model is a few lines of integer arithmetic on microseconds since the runtime
//! started, with the policy formulas written out again (not calling the library's). It
//! also states the one thing the paused clock adds: when the runtime is idle and waits
//! for a timer due at `d`, tokio advances its clock by whole milliseconds of its timer
//! wheel, from the wheel tick `floor(now)` to the tick `ceil(d)` (both in milliseconds
//! since the runtime started), so the clock lands on `now + (ceil(d) - floor(now)) ms`.

mod common;

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use kadenz::policy::{SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::{Tick, Timer};
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Policy {
    TriggerAllMissed,
    SkipMissedAndResync,
    SkipMissedAndDrift { tolerance: u64 },
}

impl Policy {
    fn next(self, interval: u64, scheduled: u64, now: u64) -> u64 {
        match self {
            Policy::TriggerAllMissed => scheduled + interval,
            Policy::SkipMissedAndResync => now + (interval - (now - scheduled) % interval),
            Policy::SkipMissedAndDrift { tolerance } if now - scheduled > tolerance => {
                now + interval
            }
            Policy::SkipMissedAndDrift { .. } => scheduled + interval,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Advance the paused clock by this many microseconds.
    Advance(u64),
    /// Await the next tick.
    Tick,
    /// Await the next item of the Stream.
    Next,
    /// Poll `tick()` once and drop the future: a cancelled `select!` branch.
    PollOnce,
    Reset,
    ResetAfter(u64),
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    NotStarted,
    /// The next tick is due at `origin + next` (µs since the runtime started).
    Running {
        origin: u64,
        next: u64,
    },
    Stopped,
}

#[derive(Debug)]
struct Model {
    interval: u64,
    policy: Policy,
    state: State,
    now: u64,
}

impl Model {
    fn start(&mut self, delay: u64) {
        self.state = State::Running {
            origin: self.now,
            next: delay + self.interval,
        };
    }

    /// The tick the timer delivers now, if one is due, as (scheduled, drift).
    fn fire_if_due(&mut self) -> Option<(u64, u64)> {
        if self.state == State::NotStarted {
            self.start(0);
        }
        let State::Running { origin, next } = self.state else {
            return None;
        };
        let now = self.now - origin;
        if now < next {
            return None;
        }
        self.state = State::Running {
            origin,
            next: self.policy.next(self.interval, next, now),
        };
        Some((origin + next, now - next))
    }

    /// Where an idle paused runtime's clock lands when waiting for `due`.
    fn wake_for(&self, due: u64) -> u64 {
        let ceil_ms = (due + 999) / 1000;
        let floor_ms = self.now / 1000;
        self.now + (ceil_ms - floor_ms) * 1000
    }

    /// The tick an awaited `tick()` delivers, advancing the clock as the runtime does;
    /// `None` if the timer is stopped.
    fn tick(&mut self) -> Option<(u64, u64)> {
        if self.state == State::NotStarted {
            self.start(0);
        }
        let State::Running { origin, next } = self.state else {
            return None;
        };
        if self.now < origin + next {
            self.now = self.wake_for(origin + next);
        }
        self.fire_if_due()
    }

    fn deadline(&self) -> Option<u64> {
        match self.state {
            State::Running { origin, next } => Some(origin + next),
            _ => None,
        }
    }
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::TriggerAllMissed),
        Just(Policy::SkipMissedAndResync),
        (0..20_000u64).prop_map(|tolerance| Policy::SkipMissedAndDrift { tolerance }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3_000u64).prop_map(Op::Advance),
        2 => (0..100u64).prop_map(|ms| Op::Advance(ms * 1000)),
        6 => Just(Op::Tick),
        2 => Just(Op::Next),
        3 => Just(Op::PollOnce),
        1 => Just(Op::Reset),
        1 => (0..20_000u64).prop_map(Op::ResetAfter),
        1 => Just(Op::Stop),
    ]
}

/// Interval and start delay, in µs: mostly sub-millisecond and millisecond scales,
/// where the wheel's rounding matters most.
fn interval() -> impl Strategy<Value = u64> {
    prop_oneof![1..2_000u64, 1..50u64, (1..20u64).prop_map(|ms| ms * 1000)]
}

fn build(interval: u64, policy: Policy, start: Option<u64>) -> Timer {
    let builder = Timer::builder(Duration::from_micros(interval));
    let builder = match policy {
        Policy::TriggerAllMissed => builder.missed_tick_policy(TriggerAllMissed),
        Policy::SkipMissedAndResync => builder.missed_tick_policy(SkipMissedAndResync),
        Policy::SkipMissedAndDrift { tolerance } => {
            builder.missed_tick_policy(SkipMissedAndDrift::new(Duration::from_micros(tolerance)))
        }
    };
    match start {
        Some(delay) => builder.start_delay(Duration::from_micros(delay)),
        None => builder.auto_start(false),
    }
    .build()
    .unwrap()
}

fn check(
    interval: u64,
    policy: Policy,
    start: Option<u64>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let t0 = Instant::now();
        let at = |instant: Instant| instant.duration_since(t0).as_micros() as u64;
        let seen =
            |tick: Option<Tick>| tick.map(|t| (at(t.scheduled()), t.drift().as_micros() as u64));

        let mut timer = build(interval, policy, start);
        let mut model = Model {
            interval,
            policy,
            state: State::NotStarted,
            now: 0,
        };
        if let Some(delay) = start {
            model.start(delay);
        }
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Advance(us) => {
                    tokio::time::advance(Duration::from_micros(us)).await;
                    model.now += us;
                }
                Op::Tick => {
                    let expected = model.tick();
                    prop_assert_eq!(
                        seen(timer.tick().await),
                        expected,
                        "step {}: {:?}",
                        step,
                        op
                    );
                }
                Op::Next => {
                    let expected = model.tick();
                    let got = poll_fn(|cx| Pin::new(&mut timer).poll_next(cx)).await;
                    prop_assert_eq!(seen(got), expected, "step {}: {:?}", step, op);
                }
                Op::PollOnce => {
                    let stopped = model.state == State::Stopped;
                    let expected = model.fire_if_due();
                    let waker = common::noop_waker();
                    let mut cx = Context::from_waker(&waker);
                    let got = match timer.poll_tick(&mut cx) {
                        Poll::Ready(tick) => Some(seen(tick)),
                        Poll::Pending => None,
                    };
                    let expected = if stopped {
                        Some(None)
                    } else {
                        expected.map(Some)
                    };
                    prop_assert_eq!(got, expected, "step {}: {:?}", step, op);
                }
                Op::Reset => {
                    timer.reset();
                    model.start(0);
                }
                Op::ResetAfter(us) => {
                    timer.reset_after(Duration::from_micros(us));
                    model.start(us);
                }
                Op::Stop => {
                    timer.stop();
                    model.state = State::Stopped;
                }
            }
            prop_assert_eq!(
                at(Instant::now()),
                model.now,
                "clock after step {}: {:?}",
                step,
                op
            );
            prop_assert_eq!(
                timer.deadline().map(at),
                model.deadline(),
                "step {}: {:?}",
                step,
                op
            );
            prop_assert_eq!(timer.is_running(), model.deadline().is_some());
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn timer_matches_the_model(
        interval in interval(),
        policy in policy(),
        start in prop_oneof![Just(None), (0..5_000u64).prop_map(Some)],
        ops in prop::collection::vec(op(), 1..80),
    ) {
        check(interval, policy, start, ops)?;
    }
}
