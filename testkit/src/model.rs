//! A reference model of the Timer's semantics, and a runner that checks a real `Timer`
//! against it on a sequence of operations. Shared by the proptest in `tests/model.rs` and
//! the fuzz target in `fuzz/`, so that both check the same thing.
//!
//! The model is a few lines of integer arithmetic on microseconds since the runtime
//! started, with the policy formulas written out again (not calling the library's). It
//! also states the two things the timer wheel adds, in milliseconds since the runtime
//! started:
//!
//! - when the runtime is idle and waits for a timer due at `d`, tokio's paused clock
//!   advances by whole milliseconds of its wheel, from the wheel tick `floor(now)` to the
//!   tick `ceil(d)`, so it lands on `now + (ceil(d) - floor(now)) ms`;
//! - the wheel fires a `Sleep` due at `d` once the clock reaches `ceil(d)`. A timer
//!   (precise or not: under the paused clock a precise timer asks no OS timer and waits
//!   on the wheel as a default one) whose wheel waits for a time `w` no later than its pending tick
//!   (a poll left it waiting for that tick, so `w` is the tick's due time; or the timer's
//!   own `reset`/`reset_after` restarted it while its `Sleep` waited for an earlier `w`
//!   that had not fired, and left the `Sleep` there; and the schedule has not changed
//!   otherwise since) takes the wheel's word and reads no clock until the wheel fires
//!   `w`. Otherwise a poll reads the clock and delivers a tick that is due at once, or
//!   leaves the timer waiting on the wheel for it.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use futures_core::Stream;
use kadenz::policy::{
    SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed, TriggerMissedUpTo,
};
use kadenz::{Tick, Timer, TimerBuilder, TimerHandle};

use crate::policies::StandStill;
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
    /// A custom policy that stands still: the next tick is due when the one just
    /// delivered was (a lone timer then ticks at once, for ever).
    StandStill,
    /// At most `max` missed ticks replayed, the latest ones.
    TriggerMissedUpTo {
        max: u64,
    },
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
            Policy::StandStill => scheduled,
            Policy::TriggerMissedUpTo { max } => {
                // Step the grid past every due time that has come but the last `max`.
                let mut next = scheduled + interval;
                while next <= now && (now - next) / interval >= max {
                    next += interval;
                }
                next
            }
        }
    }
}

/// How the timer is built: when its first tick is due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// `auto_start(false)`: started by the first poll or control operation.
    Later,
    /// Started at once, the first tick a start delay plus one interval after the start.
    Delay(u64),
    /// `tick_at_start(true)`: the first tick at the start plus this delay.
    TickAtStartAfter(u64),
    /// `first_tick_at(start + offset)`, the offset in µs (negative: in the past, down to
    /// the runtime's start).
    FirstTickAt(i64),
}

/// What changes a timer's schedule, by the timer's own method or by a handle's.
#[derive(Debug, Clone, Copy)]
pub enum Control {
    Reset,
    ResetAfter(u64),
    /// `reset_at(now + offset)`, the offset in µs (negative: in the past, down to the
    /// runtime's start).
    ResetAt(i64),
    ResetImmediately,
    /// A new interval, in µs (0 is refused, as by the library).
    SetInterval(u64),
    Stop,
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
    /// A method of the timer.
    Timer(Control),
    /// The same method of a `TimerHandle` (the first one makes the handle).
    Handle(Control),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    NotStarted,
    /// The next tick is due at `origin + next` (µs since the runtime started); `fixed`:
    /// put at an instant, so a new interval does not move it.
    Running {
        origin: u64,
        next: u64,
        fixed: bool,
    },
    Stopped,
}

/// A tick as the model sees it: scheduled (µs since the runtime started), drift, missed,
/// skipped.
pub type SeenTick = (u64, u64, u64, u64);

/// The counters of `Timer::stats`: delivered, skipped, largest drift.
type Stats = (u64, u64, u64);

#[derive(Debug, Clone)]
pub struct Model {
    pub interval: u64,
    policy: Policy,
    pub state: State,
    pub now: u64,
    stats: Stats,
    /// The timer has a wheel `Sleep` (made by its first wait).
    has_sleep: bool,
    /// The due time the `Sleep` waits for (the tick of the wait that last moved it).
    sleep_at: u64,
    /// The wheel waits for `sleep_at`, no later than the pending tick; every change of
    /// the schedule but the timer's own restart from now clears it.
    waited: bool,
    /// `TimerBuilder::jitter` and `jitter_seed`: (max µs, seed).
    pub jitter: Option<(u64, u64)>,
}

/// The jitter of the tick due `due` µs into a timer's time line: SplitMix64 of the seed
/// and the due time, scaled to `[0, max)`.
fn jitter_offset((max, seed): (u64, u64), due: u64) -> u64 {
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut z = seed
        .wrapping_add(due.wrapping_mul(GAMMA))
        .wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z as u128 * max as u128) >> 64) as u64
}

impl Model {
    /// A timer built at `now` as `start` says (precise or not: the same model).
    pub fn new(interval: u64, policy: Policy, start: Start, now: u64) -> Model {
        let mut model = Model {
            interval,
            policy,
            state: State::NotStarted,
            now,
            stats: (0, 0, 0),
            has_sleep: false,
            sleep_at: 0,
            waited: false,
            jitter: None,
        };
        match start {
            Start::Later => {}
            Start::Delay(delay) => model.start(delay),
            Start::TickAtStartAfter(delay) => model.run_from(now, delay, true),
            // The offset counts from the runtime's start, as `build` has it.
            Start::FirstTickAt(offset) => {
                model.run_from(0u64.saturating_add_signed(offset), 0, true)
            }
        }
        model
    }

    pub fn run_from(&mut self, origin: u64, next: u64, fixed: bool) {
        self.waited = false;
        self.state = State::Running {
            origin,
            next,
            fixed,
        };
    }

    pub fn start(&mut self, delay: u64) {
        self.run_from(self.now, delay + self.interval, false);
    }

    pub fn at(&self, offset: i64) -> u64 {
        self.now.saturating_add_signed(offset)
    }

    pub fn control(&mut self, control: Control) {
        match control {
            Control::Reset => self.start(0),
            Control::ResetAfter(delay) => self.start(delay),
            Control::ResetAt(offset) => self.run_from(self.at(offset), 0, true),
            Control::ResetImmediately => self.run_from(self.now, 0, true),
            Control::SetInterval(0) => {}
            // Shorter than the jitter: refused.
            Control::SetInterval(interval)
                if self.jitter.is_some_and(|(max, _)| interval < max) => {}
            Control::SetInterval(interval) => {
                if let State::Running {
                    next, fixed: false, ..
                } = &mut self.state
                {
                    // One new interval after the due time one old interval before it.
                    *next = next.saturating_sub(self.interval) + interval;
                    self.waited = false;
                }
                self.interval = interval;
            }
            Control::Stop => {
                self.state = State::Stopped;
                self.waited = false;
            }
        }
    }

    /// A restart by the timer's own `reset`/`reset_after` leaves its wheel `Sleep` where
    /// it is, and keeps waiting on it if it has not fired and waits no later than the new
    /// due time. A jittered timer waits for its due time plus the offset: it leaves that
    /// to the next poll.
    fn restarts_on_the_sleep(&mut self) {
        if let Some(due) = self.deadline() {
            if self.has_sleep
                && self.jitter.is_none()
                && !self.wheel_fired(self.sleep_at)
                && self.sleep_at <= due
            {
                self.waited = true;
            }
        }
    }

    /// Whether the wheel has fired a `Sleep` set to `due`.
    fn wheel_fired(&self, due: u64) -> bool {
        wheel_fired(self.now, due)
    }

    /// Whether a poll now delivers the tick due at `due`; a poll that does not leaves the
    /// timer waiting on the wheel for it.
    fn poll_delivers(&mut self, due: u64) -> bool {
        if self.waited && !self.wheel_fired(self.sleep_at) {
            return false;
        }
        if self.now >= due {
            return true;
        }
        self.has_sleep = true;
        self.sleep_at = due;
        self.waited = true;
        false
    }

    /// The tick a single poll delivers now, if one is due.
    fn fire_if_due(&mut self) -> Option<SeenTick> {
        if self.state == State::NotStarted {
            self.start(0);
        }
        let fires = self.deadline()?;
        if !self.poll_delivers(fires) {
            return None;
        }
        self.deliver()
    }

    /// Delivers the tick that is due (the clock is past it).
    pub fn deliver(&mut self) -> Option<SeenTick> {
        let State::Running { origin, next, .. } = self.state else {
            return None;
        };
        // With jitter, the policy sees the tick as fired `offset` earlier.
        let offset = self.offset(next);
        let (interval, now) = (self.interval, (self.now - origin - offset).max(next));
        let following = self.policy.next(interval, next, now);
        self.run_from(origin, following, false);
        let drift = now - next;
        // The due times `next + k·interval`, k >= 1, that had come by `now`, but not those
        // at or after the following tick.
        let skipped = if following > next {
            (drift / interval).min((following - next + interval - 1) / interval - 1)
        } else {
            0
        };
        self.stats = (
            self.stats.0 + 1,
            self.stats.1 + skipped,
            self.stats.2.max(drift),
        );
        Some((origin + next + offset, drift, drift / interval, skipped))
    }

    /// The jitter of the tick due at `next` on the time line (0 without jitter).
    fn offset(&self, next: u64) -> u64 {
        self.jitter.map_or(0, |jitter| jitter_offset(jitter, next))
    }

    /// Where an idle paused runtime's clock lands when waiting for `due`.
    fn wake_for(&self, due: u64) -> u64 {
        wake_for(self.now, due)
    }

    /// The tick an awaited `tick()` delivers, advancing the clock as the runtime does;
    /// `None` if the timer is stopped.
    fn tick(&mut self) -> Option<SeenTick> {
        if self.state == State::NotStarted {
            self.start(0);
        }
        let due = self.deadline()?;
        while !self.poll_delivers(due) {
            // Waiting on the wheel: the idle runtime moves the clock until it fires, and
            // polls again.
            self.now = self.wake_for(self.sleep_at);
        }
        self.deliver()
    }

    /// When the pending tick fires: its due time plus its jitter (`Timer::deadline`).
    pub fn deadline(&self) -> Option<u64> {
        match self.state {
            State::Running { origin, next, .. } => Some(origin + next + self.offset(next)),
            _ => None,
        }
    }
}

/// Whether the wheel has fired, at `now`, a `Sleep` set to `due` (µs since the runtime
/// started): once the clock reaches `ceil(due)` ms.
pub fn wheel_fired(now: u64, due: u64) -> bool {
    now >= (due + 999) / 1000 * 1000
}

/// Where an idle paused runtime's clock lands from `now` when waiting for `due`: it
/// advances whole milliseconds of its wheel, from the tick `floor(now)` to `ceil(due)`.
pub fn wake_for(now: u64, due: u64) -> u64 {
    let ceil_ms = (due + 999) / 1000;
    let floor_ms = now / 1000;
    now + (ceil_ms - floor_ms) * 1000
}

pub fn build(interval: u64, policy: Policy, start: Start, precise: bool, t0: Instant) -> Timer {
    if let (Policy::Timeout, false) = (policy, precise) {
        return Timer::timeout(Duration::from_micros(interval));
    }
    builder(interval, policy, start, precise, t0)
        .build()
        .unwrap()
}

/// The builder of a timer (or a set's entry) as the model describes it; `Timeout` is
/// `SkipMissedAndDrift` with zero tolerance.
pub fn builder(
    interval: u64,
    policy: Policy,
    start: Start,
    precise: bool,
    t0: Instant,
) -> TimerBuilder {
    let builder = Timer::builder(Duration::from_micros(interval));
    // The fuzz crate includes this file without the feature: its timers are never precise.
    #[cfg(feature = "precise")]
    let builder = builder.precise(precise);
    #[cfg(not(feature = "precise"))]
    let _ = precise;
    let builder = match policy {
        Policy::TriggerAllMissed => builder.missed_tick_policy(TriggerAllMissed),
        Policy::SkipMissedAndResync => builder.missed_tick_policy(SkipMissedAndResync),
        Policy::SkipMissedAndDrift { tolerance } => {
            builder.missed_tick_policy(SkipMissedAndDrift::new(Duration::from_micros(tolerance)))
        }
        Policy::Timeout => builder.missed_tick_policy(SkipMissedAndDrift::default()),
        Policy::StandStill => builder.missed_tick_policy(StandStill),
        Policy::TriggerMissedUpTo { max } => {
            builder.missed_tick_policy(TriggerMissedUpTo::new(max))
        }
    };
    match start {
        Start::Later => builder.auto_start(false),
        Start::Delay(delay) => builder.start_delay(Duration::from_micros(delay)),
        Start::TickAtStartAfter(delay) => builder
            .tick_at_start(true)
            .start_delay(Duration::from_micros(delay)),
        Start::FirstTickAt(offset) => {
            builder.first_tick_at(instant(t0, 0u64.saturating_add_signed(offset)))
        }
    }
}

pub fn instant(t0: Instant, us: u64) -> Instant {
    t0 + Duration::from_micros(us)
}

/// What a [`Control`] acts on: a timer, a timer's handle, or (in `set_model`) the entry
/// under a key of a set or of a set's handle; each has methods of these names. `Done` is
/// what they answer (a set's: whether the key was there, or the command was queued).
pub trait Controlled {
    type Done: std::fmt::Debug;
    /// Whether `set_interval` refuses at the call an interval shorter than the jitter
    /// (`JitterTooLong`): a set's handle does not know its entries' jitter, and leaves
    /// that to the set.
    const REFUSES_JITTER: bool = true;
    fn reset(&mut self) -> Self::Done;
    fn reset_after(&mut self, delay: Duration) -> Self::Done;
    fn reset_at(&mut self, first_tick: Instant) -> Self::Done;
    fn reset_immediately(&mut self) -> Self::Done;
    fn set_interval(&mut self, interval: Duration) -> Result<Self::Done, kadenz::Error>;
    fn stop(&mut self) -> Self::Done;
    /// What stands for `Done` when `set_interval` refused the interval.
    fn refused(&mut self) -> Self::Done;
}

impl Controlled for Timer {
    type Done = ();
    fn reset(&mut self) {
        Timer::reset(self);
    }
    fn reset_after(&mut self, delay: Duration) {
        Timer::reset_after(self, delay);
    }
    fn reset_at(&mut self, first_tick: Instant) {
        Timer::reset_at(self, first_tick);
    }
    fn reset_immediately(&mut self) {
        Timer::reset_immediately(self);
    }
    fn set_interval(&mut self, interval: Duration) -> Result<(), kadenz::Error> {
        Timer::set_interval(self, interval)
    }
    fn stop(&mut self) {
        Timer::stop(self);
    }
    fn refused(&mut self) {}
}

impl Controlled for TimerHandle {
    type Done = ();
    fn reset(&mut self) {
        TimerHandle::reset(self);
    }
    fn reset_after(&mut self, delay: Duration) {
        TimerHandle::reset_after(self, delay);
    }
    fn reset_at(&mut self, first_tick: Instant) {
        TimerHandle::reset_at(self, first_tick);
    }
    fn reset_immediately(&mut self) {
        TimerHandle::reset_immediately(self);
    }
    fn set_interval(&mut self, interval: Duration) -> Result<(), kadenz::Error> {
        TimerHandle::set_interval(self, interval)
    }
    fn stop(&mut self) {
        TimerHandle::stop(self);
    }
    fn refused(&mut self) {}
}

/// Gives `control` to `target` (`now` is the model's clock, for `ResetAt`), and checks that
/// `set_interval` refused exactly what it must.
pub fn control<C: Controlled>(target: &mut C, control: Control, t0: Instant, now: u64) -> C::Done {
    match control {
        Control::Reset => target.reset(),
        Control::ResetAfter(us) => target.reset_after(Duration::from_micros(us)),
        Control::ResetAt(offset) => target.reset_at(instant(t0, now.saturating_add_signed(offset))),
        Control::ResetImmediately => target.reset_immediately(),
        Control::SetInterval(us) => {
            let result = target.set_interval(Duration::from_micros(us));
            // Refused: zero, or shorter than the timer's jitter (the model knows which).
            let jitter =
                C::REFUSES_JITTER && matches!(result, Err(kadenz::Error::JitterTooLong { .. }));
            assert_eq!(
                result.is_ok() || jitter,
                us > 0,
                "set_interval({us} µs): {result:?}"
            );
            result.unwrap_or_else(|_| target.refused())
        }
        Control::Stop => target.stop(),
    }
}

/// What an operation returned: `None` for operations that return nothing, else whether it
/// was ready and the tick.
type Observed = Option<Option<SeenTick>>;

/// How long (on the paused clock) an awaited tick may take before the runner calls the
/// timer stuck: far beyond any tick the operations can schedule, so it never cuts a right
/// one short, and reached at once by the paused clock when nothing else is due.
const STUCK: Duration = Duration::from_secs(1_000_000_000);

/// Runs `ops` on a real timer and on the model, on a fresh paused runtime; the first
/// difference is an `Err` saying at which step, and what differed.
pub fn run(interval: u64, policy: Policy, start: Start, ops: &[Op]) -> Result<(), String> {
    run_timer(interval, policy, start, false, ops)
}

/// As [`run`], with a precise timer if `precise` (and the crate's `precise` feature): under
/// the paused clock it must tick exactly as a default one.
pub fn run_timer(
    interval: u64,
    policy: Policy,
    start: Start,
    precise: bool,
    ops: &[Op],
) -> Result<(), String> {
    run_with(interval, policy, start, precise, None, ops)
}

/// As [`run`], with `TimerBuilder::jitter(max µs)` and `jitter_seed(seed)`.
pub fn run_jittered(
    interval: u64,
    policy: Policy,
    start: Start,
    (max, seed): (u64, u64),
    ops: &[Op],
) -> Result<(), String> {
    run_with(interval, policy, start, false, Some((max, seed)), ops)
}

fn run_with(
    interval: u64,
    policy: Policy,
    start: Start,
    precise: bool,
    jitter: Option<(u64, u64)>,
    ops: &[Op],
) -> Result<(), String> {
    // `Timer::timeout` starts at once, whatever start the caller drew.
    let start = if let Policy::Timeout = policy {
        Start::Delay(0)
    } else {
        start
    };
    crate::paused_runtime().block_on(async move {
        let t0 = Instant::now();
        let at = |instant: Instant| instant.duration_since(t0).as_micros() as u64;
        let seen = |tick: Option<Tick>| {
            tick.map(|t| {
                (
                    at(t.scheduled()),
                    t.drift().as_micros() as u64,
                    t.missed(),
                    t.skipped(),
                )
            })
        };
        let differ = |step: usize,
                      op: Op,
                      what: &str,
                      got: &dyn std::fmt::Debug,
                      want: &dyn std::fmt::Debug| {
            Err(format!(
                "step {step} ({op:?}): {what}: timer {got:?}, model {want:?}"
            ))
        };

        let mut timer = match jitter {
            None => build(interval, policy, start, precise, t0),
            Some((max, seed)) => builder(interval, policy, start, precise, t0)
                .jitter(Duration::from_micros(max))
                .jitter_seed(seed)
                .build()
                .unwrap(),
        };
        let mut handle: Option<TimerHandle> = None;
        let mut model = Model::new(interval, policy, start, 0);
        model.jitter = jitter.filter(|&(max, _)| max > 0);
        for (step, &op) in ops.iter().enumerate() {
            let (got, want): (Observed, Observed) = match op {
                Op::Advance(us) => {
                    tokio::time::advance(Duration::from_micros(us)).await;
                    model.now += us;
                    (None, None)
                }
                Op::Tick | Op::Next => {
                    let want = model.tick();
                    let got = tokio::time::timeout(STUCK, async {
                        match op {
                            Op::Tick => timer.tick().await,
                            _ => poll_fn(|cx| Pin::new(&mut timer).poll_next(cx)).await,
                        }
                    })
                    .await;
                    match got {
                        Ok(got) => (Some(seen(got)), Some(want)),
                        Err(_) => {
                            return differ(step, op, "stuck: no tick", &"none", &want);
                        }
                    }
                }
                Op::PollOnce => {
                    let stopped = model.state == State::Stopped;
                    let want = model.fire_if_due();
                    // Unconstrained: after 128 ready polls in a row, tokio's cooperative
                    // budget would make the next one `Pending` (to yield), which is right
                    // but not what this step compares. The budget has tests of its own.
                    let got = tokio::task::coop::unconstrained(async {
                        match crate::poll_once(&mut timer) {
                            Poll::Ready(tick) => Some(seen(tick)),
                            Poll::Pending => None,
                        }
                    })
                    .await;
                    (got, if stopped { Some(None) } else { want.map(Some) })
                }
                Op::Timer(c) => {
                    control(&mut timer, c, t0, model.now);
                    model.control(c);
                    if let Control::Reset | Control::ResetAfter(_) = c {
                        model.restarts_on_the_sleep();
                    }
                    (None, None)
                }
                Op::Handle(c) => {
                    let handle = handle.get_or_insert_with(|| timer.handle());
                    control(handle, c, t0, model.now);
                    model.control(c);
                    (None, None)
                }
            };
            if got != want {
                return differ(step, op, "tick", &got, &want);
            }
            if at(Instant::now()) != model.now {
                return differ(step, op, "clock", &at(Instant::now()), &model.now);
            }
            let deadline = timer.deadline().map(at);
            if deadline != model.deadline() {
                return differ(step, op, "deadline", &deadline, &model.deadline());
            }
            let running = model.deadline().is_some();
            if timer.is_running() != running {
                return differ(step, op, "is_running", &timer.is_running(), &running);
            }
            let interval = timer.interval().as_micros() as u64;
            if interval != model.interval {
                return differ(step, op, "interval", &interval, &model.interval);
            }
            let stats = timer.stats();
            let stats = (
                stats.delivered(),
                stats.skipped(),
                stats.max_drift().as_micros() as u64,
            );
            if stats != model.stats {
                return differ(step, op, "stats", &stats, &model.stats);
            }
            if let Some(handle) = &handle {
                // `NotStarted` counts as not running, for the handle as for the timer.
                if handle.is_running() != running {
                    return differ(
                        step,
                        op,
                        "handle is_running",
                        &handle.is_running(),
                        &running,
                    );
                }
                let interval = handle.interval().as_micros() as u64;
                if interval != model.interval {
                    return differ(step, op, "handle interval", &interval, &model.interval);
                }
            }
        }
        Ok(())
    })
}
