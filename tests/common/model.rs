//! A reference model of the Timer's semantics, and a runner that checks a real `Timer`
//! against it on a sequence of operations. Shared by the proptest in `tests/model.rs` and
//! the fuzz target in `fuzz/`, so that both check the same thing.
//!
//! The model is a few lines of integer arithmetic on microseconds since the runtime
//! started, with the policy formulas written out again (not calling the library's). It
//! also states the one thing the paused clock adds: when the runtime is idle and waits
//! for a timer due at `d`, tokio advances its clock by whole milliseconds of its timer
//! wheel, from the wheel tick `floor(now)` to the tick `ceil(d)` (both in milliseconds
//! since the runtime started), so the clock lands on `now + (ceil(d) - floor(now)) ms`.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_core::Stream;
use kadenz::policy::{SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed};
use kadenz::{Tick, Timer};
use tokio::time::Instant;

/// A waker that does nothing, for polling once by hand. (`Waker::noop` is newer than the
/// crate's minimum supported Rust version.)
pub fn noop_waker() -> Waker {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Noop))
}

#[derive(Debug, Clone, Copy)]
pub enum Policy {
    TriggerAllMissed,
    SkipMissedAndResync,
    SkipMissedAndDrift {
        tolerance: u64,
    },
    /// `Timer::timeout`: `SkipMissedAndDrift` with zero tolerance, started at once.
    Timeout,
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
            Policy::Timeout => {
                Policy::SkipMissedAndDrift { tolerance: 0 }.next(interval, scheduled, now)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Op {
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
pub enum State {
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

pub fn build(interval: u64, policy: Policy, start: Option<u64>) -> Timer {
    let builder = Timer::builder(Duration::from_micros(interval));
    let builder = match policy {
        Policy::TriggerAllMissed => builder.missed_tick_policy(TriggerAllMissed),
        Policy::SkipMissedAndResync => builder.missed_tick_policy(SkipMissedAndResync),
        Policy::SkipMissedAndDrift { tolerance } => {
            builder.missed_tick_policy(SkipMissedAndDrift::new(Duration::from_micros(tolerance)))
        }
        Policy::Timeout => return Timer::timeout(Duration::from_micros(interval)),
    };
    match start {
        Some(delay) => builder.start_delay(Duration::from_micros(delay)),
        None => builder.auto_start(false),
    }
    .build()
    .unwrap()
}

/// What an operation returned: `None` for operations that return nothing, else whether it
/// was ready and the (scheduled, drift) of the tick, in µs since the runtime started.
type Observed = Option<Option<(u64, u64)>>;

/// Runs `ops` on a real timer and on the model, on a fresh paused runtime; the first
/// difference is an `Err` saying at which step, and what differed.
pub fn run(interval: u64, policy: Policy, start: Option<u64>, ops: &[Op]) -> Result<(), String> {
    // `Timer::timeout` starts at once, whatever start the caller drew.
    let start = if let Policy::Timeout = policy {
        Some(0)
    } else {
        start
    };
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
        let differ = |step: usize,
                      op: Op,
                      what: &str,
                      got: &dyn std::fmt::Debug,
                      want: &dyn std::fmt::Debug| {
            Err(format!(
                "step {step} ({op:?}): {what}: timer {got:?}, model {want:?}"
            ))
        };

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
        for (step, &op) in ops.iter().enumerate() {
            let (got, want): (Observed, Observed) = match op {
                Op::Advance(us) => {
                    tokio::time::advance(Duration::from_micros(us)).await;
                    model.now += us;
                    (None, None)
                }
                Op::Tick => {
                    let want = model.tick();
                    (Some(seen(timer.tick().await)), Some(want))
                }
                Op::Next => {
                    let want = model.tick();
                    let got = poll_fn(|cx| Pin::new(&mut timer).poll_next(cx)).await;
                    (Some(seen(got)), Some(want))
                }
                Op::PollOnce => {
                    let stopped = model.state == State::Stopped;
                    let want = model.fire_if_due();
                    // Unconstrained: after 128 ready polls in a row, tokio's cooperative
                    // budget would make the next one `Pending` (to yield), which is right
                    // but not what this step compares. The budget has tests of its own.
                    let got = tokio::task::coop::unconstrained(async {
                        let waker = noop_waker();
                        let mut cx = Context::from_waker(&waker);
                        match timer.poll_tick(&mut cx) {
                            Poll::Ready(tick) => Some(seen(tick)),
                            Poll::Pending => None,
                        }
                    })
                    .await;
                    (got, if stopped { Some(None) } else { want.map(Some) })
                }
                Op::Reset => {
                    timer.reset();
                    model.start(0);
                    (None, None)
                }
                Op::ResetAfter(us) => {
                    timer.reset_after(Duration::from_micros(us));
                    model.start(us);
                    (None, None)
                }
                Op::Stop => {
                    timer.stop();
                    model.state = State::Stopped;
                    (None, None)
                }
            };
            if got != want {
                return differ(step, op, "tick", &got, &want);
            }
            if at(Instant::now()) != model.now {
                return differ(step, op, "clock", &at(Instant::now()), &model.now);
            }
            if timer.deadline().map(at) != model.deadline() {
                return differ(
                    step,
                    op,
                    "deadline",
                    &timer.deadline().map(at),
                    &model.deadline(),
                );
            }
            if timer.is_running() != model.deadline().is_some() {
                return differ(
                    step,
                    op,
                    "is_running",
                    &timer.is_running(),
                    &model.deadline().is_some(),
                );
            }
        }
        Ok(())
    })
}
