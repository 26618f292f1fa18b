//! The reference model of a `TimerSet`: one `Model` (of `model.rs`) per entry, for the
//! ticks, and the one rule the set adds, for when they are delivered:
//!
//! - the set waits on the wheel for the earliest due time `d` of its entries; once a poll
//!   left it waiting, it reads no clock until the wheel fires (`ceil(d)` ms), unless a
//!   change put an entry's tick before `d` (a reset from now moves the wait there, any
//!   other change makes the next poll read the clock);
//! - a poll that reads the clock delivers the earliest due tick if it is due; entries due
//!   at the same instant may come in any order;
//! - an entry whose policy answered a due time not after the tick it just delivered (it
//!   stands still or goes back) is held: the earliest due tick of the other entries comes
//!   first, and the held entries are let go (all of them) when no other entry has a tick
//!   due; any insert, removal or control of an entry lets it go;
//! - entries built with `auto_start(false)` start at the next poll.
//!
//! Two runners use it: `run_set` checks a set against the model, on any clock; and
//! `run_side_by_side` checks each entry against a lone `Timer` given the same operations,
//! on a clock that moves by whole milliseconds (see the set's docs, Exactness).

use std::collections::{BTreeMap, BTreeSet};
use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures_core::Stream;
use kadenz::{SetHandle, Tick, Timer, TimerSet};
use tokio::time::Instant;

use crate::{paused_runtime, poll_once};

use super::model::{
    builder, control, wake_for, wheel_fired, Control, Controlled, Model, Policy, SeenTick, Start,
    State,
};

/// An operation on a set (keys are small numbers).
#[derive(Debug, Clone, Copy)]
pub enum SetOp {
    Advance(u64),
    /// Await the next tick (skipped when the model says none will ever come).
    Next,
    /// Await the next item of the Stream (likewise).
    Stream,
    /// Poll once and drop the future.
    PollOnce,
    /// Insert (or replace) a timer: key, interval, policy, start.
    Insert(u8, u64, Policy, Start),
    /// The same, with `jitter(max µs)` and `jitter_seed(seed)`: (max, seed) last.
    InsertJittered(u8, u64, Policy, Start, (u64, u64)),
    Remove(u8),
    Control(u8, Control),
    /// The same control through a `SetHandle` (made at the first such op): the set
    /// applies it before its next poll or change, with the clock read at the call.
    HandleControl(u8, Control),
}

/// A key no run uses: removing it makes the set apply its handles' commands, and nothing
/// else.
const NO_KEY: u8 = u8::MAX;

/// How a change placed a tick, for the set's wait.
#[derive(Clone, Copy, PartialEq)]
enum Placed {
    FromNow,
    Anywhere,
}

#[derive(Debug, Default)]
struct SetModel {
    entries: BTreeMap<u8, Model>,
    now: u64,
    /// The due time the set's wheel `Sleep` waits for, while a poll left it waiting (a
    /// precise set too: under the paused clock it asks no OS timer).
    waited: Option<u64>,
    /// The entries held back after a tick that did not advance their schedule.
    held: BTreeSet<u8>,
    /// Controls given through a handle, with the clock at the call, not applied yet.
    queued: Vec<(u8, Control, u64)>,
    /// Queued controls that found no entry.
    ignored: u64,
}

/// What a poll of the set does.
#[derive(Debug, PartialEq)]
enum Polled {
    Pending,
    /// A tick of one of these keys (all due at the same earliest instant).
    Ready(Vec<u8>),
}

impl SetModel {
    fn entry(&mut self, key: u8) -> Option<&mut Model> {
        let now = self.now;
        self.entries.get_mut(&key).map(|model| {
            model.now = now;
            model
        })
    }

    /// The bookkeeping of the set after an entry's due time went from `before` to `after`.
    fn changed(&mut self, before: Option<u64>, after: Option<u64>, placed: Placed) {
        let (Some(due), Some(waited)) = (after, self.waited) else {
            return;
        };
        if after != before && due < waited {
            self.waited = match placed {
                Placed::FromNow => Some(due),
                Placed::Anywhere => None,
            };
        }
    }

    fn insert(&mut self, key: u8, interval: u64, policy: Policy, start: Start) {
        self.insert_jittered(key, interval, policy, start, None);
    }

    fn insert_jittered(
        &mut self,
        key: u8,
        interval: u64,
        policy: Policy,
        start: Start,
        jitter: Option<(u64, u64)>,
    ) {
        self.held.remove(&key);
        let before = self.entries.get(&key).and_then(Model::deadline);
        let mut model = Model::new(interval, policy, start, self.now);
        model.jitter = jitter.filter(|&(max, _)| max > 0);
        let after = model.deadline();
        self.entries.insert(key, model);
        let placed = match start {
            Start::Delay(_) => Placed::FromNow,
            _ => Placed::Anywhere,
        };
        self.changed(before, after, placed);
    }

    fn control(&mut self, key: u8, control: Control) -> bool {
        self.control_at(key, control, self.now)
    }

    /// Applies the handles' controls, in the order they were given: what the set does
    /// before its every poll and change.
    fn sync(&mut self) {
        for (key, control, now) in std::mem::take(&mut self.queued) {
            // A new interval shorter than the entry's jitter is ignored, as a missing key.
            let refused = self.refuses(key, control);
            if !self.control_at(key, control, now) || refused {
                self.ignored += 1;
            }
        }
    }

    /// A control given at `now` (the clock a handle read at its call).
    fn control_at(&mut self, key: u8, control: Control, now: u64) -> bool {
        // A control the set refuses changes nothing, and lets no held entry go.
        if !self.refuses(key, control) {
            self.held.remove(&key);
        }
        let Some(model) = self.entries.get_mut(&key) else {
            return false;
        };
        model.now = now;
        let before = model.deadline();
        model.control(control);
        let after = model.deadline();
        let placed = match control {
            Control::Reset | Control::ResetAfter(_) => Placed::FromNow,
            _ => Placed::Anywhere,
        };
        self.changed(before, after, placed);
        true
    }

    /// Whether the set refuses `control` of the entry under `key`: a zero interval, or
    /// one shorter than the entry's jitter.
    fn refuses(&self, key: u8, control: Control) -> bool {
        match (control, self.entries.get(&key)) {
            (Control::SetInterval(0), _) => true,
            (Control::SetInterval(us), Some(model)) => {
                model.jitter.is_some_and(|(max, _)| us < max)
            }
            _ => false,
        }
    }

    fn earliest(&self) -> Option<u64> {
        self.entries.values().filter_map(Model::deadline).min()
    }

    /// The earliest due time of the entries not held.
    fn earliest_not_held(&self) -> Option<u64> {
        self.entries
            .iter()
            .filter(|(key, _)| !self.held.contains(key))
            .filter_map(|(_, model)| model.deadline())
            .min()
    }

    /// Delivers the tick of `key`, holding the entry if its schedule did not advance.
    fn deliver(&mut self, key: u8) -> Option<SeenTick> {
        let model = self.entry(key)?;
        let tick = model.deliver()?;
        if model.deadline().is_some_and(|next| next <= tick.0) {
            self.held.insert(key);
        }
        Some(tick)
    }

    fn remove(&mut self, key: u8) -> bool {
        self.held.remove(&key);
        self.entries.remove(&key).is_some()
    }

    fn wheel_fired(&self, due: u64) -> bool {
        wheel_fired(self.now, due)
    }

    fn poll(&mut self) -> Polled {
        let now = self.now;
        let unstarted: Vec<u8> = self
            .entries
            .iter()
            .filter(|(_, m)| m.state == State::NotStarted)
            .map(|(k, _)| *k)
            .collect();
        for key in unstarted {
            let model = self.entry(key).unwrap();
            model.start(0);
            let after = model.deadline();
            self.changed(None, after, Placed::FromNow);
        }
        if let Some(waited) = self.waited {
            if !self.wheel_fired(waited) {
                return Polled::Pending;
            }
            self.waited = None;
        }
        let due = match self.earliest_not_held() {
            Some(due) if due <= now => due,
            _ if !self.held.is_empty() => {
                // Nothing else is due: the held entries go, and are due already.
                self.held.clear();
                self.earliest().expect("held entries have a due time")
            }
            None => return Polled::Pending,
            Some(due) => {
                self.waited = Some(due);
                return Polled::Pending;
            }
        };
        Polled::Ready(
            self.entries
                .iter()
                .filter(|(k, m)| m.deadline() == Some(due) && !self.held.contains(k))
                .map(|(k, _)| *k)
                .collect(),
        )
    }

    /// Where the idle paused runtime's clock lands when the set waits for `due`.
    fn wake_for(&self, due: u64) -> u64 {
        wake_for(self.now, due)
    }

    /// Whether an awaited `next()` returns: some entry has a due time.
    fn will_tick(&self) -> bool {
        self.earliest().is_some()
            || self
                .entries
                .values()
                .any(|m| m.state == State::NotStarted && m.interval > 0)
    }
}

fn seen(t0: Instant, tick: Tick) -> SeenTick {
    (
        tick.scheduled().duration_since(t0).as_micros() as u64,
        tick.drift().as_micros() as u64,
        tick.missed(),
        tick.skipped(),
    )
}

/// How long an awaited tick may take before the runner calls the set stuck.
const STUCK: Duration = Duration::from_secs(1_000_000_000);

fn insert(
    set: &mut TimerSet<u8>,
    key: u8,
    interval: u64,
    policy: Policy,
    start: Start,
    t0: Instant,
) {
    set.insert(key, builder(interval, policy, start, false, t0))
        .unwrap();
}

/// The entry under a key of a set (`Keyed<&mut TimerSet<u8>>`) or of a set's handle
/// (`Keyed<&SetHandle<u8>>`): what a [`Control`] acts on there.
struct Keyed<T>(T, u8);

impl Controlled for Keyed<&mut TimerSet<u8>> {
    /// Whether the key was there.
    type Done = bool;
    fn reset(&mut self) -> bool {
        self.0.reset(&self.1)
    }
    fn reset_after(&mut self, delay: Duration) -> bool {
        self.0.reset_after(&self.1, delay)
    }
    fn reset_at(&mut self, first_tick: Instant) -> bool {
        self.0.reset_at(&self.1, first_tick)
    }
    fn reset_immediately(&mut self) -> bool {
        self.0.reset_immediately(&self.1)
    }
    fn set_interval(&mut self, interval: Duration) -> Result<bool, kadenz::Error> {
        self.0.set_interval(&self.1, interval)
    }
    fn stop(&mut self) -> bool {
        self.0.stop(&self.1)
    }
    fn refused(&mut self) -> bool {
        self.0.contains(&self.1)
    }
}

impl Controlled for Keyed<&SetHandle<u8>> {
    /// Whether the command was queued: `false` if the set refused it (it was dropped).
    type Done = bool;
    const REFUSES_JITTER: bool = false;
    fn reset(&mut self) -> bool {
        self.0.reset(&self.1)
    }
    fn reset_after(&mut self, delay: Duration) -> bool {
        self.0.reset_after(&self.1, delay)
    }
    fn reset_at(&mut self, first_tick: Instant) -> bool {
        self.0.reset_at(&self.1, first_tick)
    }
    fn reset_immediately(&mut self) -> bool {
        self.0.reset_immediately(&self.1)
    }
    fn set_interval(&mut self, interval: Duration) -> Result<bool, kadenz::Error> {
        self.0.set_interval(&self.1, interval)
    }
    fn stop(&mut self) -> bool {
        self.0.stop(&self.1)
    }
    fn refused(&mut self) -> bool {
        true
    }
}

/// Runs `ops` on a real set and on the model, on a fresh paused runtime; the first
/// difference is an `Err` saying at which step, and what differed.
pub fn run_set(ops: &[SetOp]) -> Result<(), String> {
    run_set_with(false, ops)
}

/// As [`run_set`], with a precise set if `precise` (and the crate's `precise` feature):
/// under the paused clock it ticks as the model says, never asking the OS timer.
pub fn run_set_with(precise: bool, ops: &[SetOp]) -> Result<(), String> {
    paused_runtime().block_on(async move {
        let t0 = Instant::now();
        let at = |instant: Instant| instant.duration_since(t0).as_micros() as u64;
        let set: TimerSet<u8> = TimerSet::new();
        #[cfg(feature = "precise")]
        let set = set.precise(precise);
        // Without the feature, a precise set cannot be asked for: the same set.
        #[cfg(not(feature = "precise"))]
        let _ = precise;
        let mut set = set;
        let mut model = SetModel::default();
        let mut handle = None;
        for (step, &op) in ops.iter().enumerate() {
            let fail = |what: String| Err(format!("step {step} ({op:?}): {what}"));
            // Every op but an advance or a handle's command polls or changes the set,
            // which first applies what its handles queued.
            if !matches!(op, SetOp::Advance(_) | SetOp::HandleControl(..)) {
                model.sync();
            }
            match op {
                SetOp::Advance(us) => {
                    tokio::time::advance(Duration::from_micros(us)).await;
                    model.now += us;
                }
                SetOp::Insert(key, interval, policy, start) => {
                    insert(&mut set, key, interval, policy, start, t0);
                    model.insert(key, interval, policy, start);
                }
                SetOp::InsertJittered(key, interval, policy, start, (max, seed)) => {
                    let entry = builder(interval, policy, start, false, t0)
                        .jitter(Duration::from_micros(max))
                        .jitter_seed(seed);
                    set.insert(key, entry).unwrap();
                    model.insert_jittered(key, interval, policy, start, Some((max, seed)));
                }
                SetOp::Remove(key) => {
                    let want = model.remove(key);
                    let got = set.remove(&key);
                    if got != want {
                        return fail(format!("remove: set {got}, model {want}"));
                    }
                }
                SetOp::Control(key, c) => {
                    let got = control(&mut Keyed(&mut set, key), c, t0, model.now);
                    let want = model.control(key, c);
                    if got != want {
                        return fail(format!("found: set {got}, model {want}"));
                    }
                }
                SetOp::HandleControl(key, c) => {
                    let handle = handle.get_or_insert_with(|| set.handle());
                    if !control(&mut Keyed(&*handle, key), c, t0, model.now) {
                        return fail("the set refused a command".into());
                    }
                    if !matches!(c, Control::SetInterval(0)) {
                        model.queued.push((key, c, model.now));
                    }
                }
                SetOp::PollOnce => {
                    let want = model.poll();
                    let got = tokio::task::coop::unconstrained(async { poll_once(&mut set) }).await;
                    match (got, want) {
                        (Poll::Pending, Polled::Pending) => {}
                        (Poll::Ready((key, tick)), Polled::Ready(keys)) if keys.contains(&key) => {
                            let want = model.deliver(key);
                            if Some(seen(t0, tick)) != want {
                                return fail(format!(
                                    "tick of {key}: set {:?}, model {want:?}",
                                    seen(t0, tick)
                                ));
                            }
                        }
                        (got, want) => {
                            let got = got.map(|(k, t)| (k, seen(t0, t)));
                            return fail(format!("poll: set {got:?}, model {want:?}"));
                        }
                    }
                }
                SetOp::Next | SetOp::Stream => {
                    if !model.will_tick() {
                        set.remove(&NO_KEY);
                        continue;
                    }
                    let keys = loop {
                        match model.poll() {
                            Polled::Ready(keys) => break keys,
                            Polled::Pending => {
                                let due = model.waited.or(model.earliest());
                                model.now =
                                    model.wake_for(due.expect("a set with a due time waits"));
                            }
                        }
                    };
                    let got = tokio::time::timeout(STUCK, async {
                        match op {
                            SetOp::Next => set.next().await,
                            _ => poll_fn(|cx| Pin::new(&mut set).poll_next(cx))
                                .await
                                .unwrap(),
                        }
                    })
                    .await;
                    let Ok((key, tick)) = got else {
                        return fail(format!("stuck: model expects one of {keys:?}"));
                    };
                    if !keys.contains(&key) {
                        return fail(format!("key: set {key}, model one of {keys:?}"));
                    }
                    let want = model.deliver(key);
                    if Some(seen(t0, tick)) != want {
                        return fail(format!(
                            "tick of {key}: set {:?}, model {want:?}",
                            seen(t0, tick)
                        ));
                    }
                }
            }
            if at(Instant::now()) != model.now {
                return fail(format!(
                    "clock: set {}, model {}",
                    at(Instant::now()),
                    model.now
                ));
            }
            if set.len() != model.entries.len() {
                return fail(format!(
                    "len: set {}, model {}",
                    set.len(),
                    model.entries.len()
                ));
            }
            if let Some(handle) = &handle {
                if handle.ignored() != model.ignored {
                    return fail(format!(
                        "ignored commands: set {}, model {}",
                        handle.ignored(),
                        model.ignored
                    ));
                }
            }
            for (&key, entry) in &model.entries {
                let deadline = set.deadline(&key).map(at);
                if deadline != entry.deadline() {
                    return fail(format!(
                        "deadline of {key}: set {deadline:?}, model {:?}",
                        entry.deadline()
                    ));
                }
                let running = matches!(entry.state, State::Running { .. });
                if set.is_running(&key) != running {
                    return fail(format!(
                        "is_running of {key}: set {}, model {running}",
                        set.is_running(&key)
                    ));
                }
                if set.interval(&key) != Some(Duration::from_micros(entry.interval)) {
                    return fail(format!(
                        "interval of {key}: set {:?}, model {}",
                        set.interval(&key),
                        entry.interval
                    ));
                }
            }
        }
        Ok(())
    })
}

/// Runs `ops` on a set and on one lone `Timer` per key side by side: every tick the set
/// yields must be the tick its key's lone timer yields when polled at that instant, and
/// a poll of the set that finds nothing due must find no lone timer due either. Advances
/// are whole milliseconds (see the module docs).
pub fn run_side_by_side(ops: &[SetOp]) -> Result<(), String> {
    paused_runtime().block_on(async move {
        let t0 = Instant::now();
        let mut set: TimerSet<u8> = TimerSet::new();
        let mut lone: BTreeMap<u8, Timer> = BTreeMap::new();
        let mut handle = None;
        for (step, &op) in ops.iter().enumerate() {
            let fail = |what: String| Err(format!("step {step} ({op:?}): {what}"));
            let now = Instant::now().duration_since(t0).as_micros() as u64;
            match op {
                SetOp::Advance(us) => {
                    let ms = ((us + 999) / 1000).max(1);
                    tokio::time::advance(Duration::from_millis(ms)).await;
                }
                SetOp::Insert(key, interval, policy, start) => {
                    insert(&mut set, key, interval, policy, start, t0);
                    let timer = builder(interval, policy, start, false, t0).build().unwrap();
                    lone.insert(key, timer);
                }
                SetOp::InsertJittered(key, interval, policy, start, (max, seed)) => {
                    let jittered = || {
                        builder(interval, policy, start, false, t0)
                            .jitter(Duration::from_micros(max))
                            .jitter_seed(seed)
                    };
                    set.insert(key, jittered()).unwrap();
                    lone.insert(key, jittered().build().unwrap());
                }
                SetOp::Remove(key) => {
                    if set.remove(&key) != lone.remove(&key).is_some() {
                        return fail("remove differs".into());
                    }
                }
                SetOp::Control(key, c) => {
                    let found = control(&mut Keyed(&mut set, key), c, t0, now);
                    if let Some(timer) = lone.get_mut(&key) {
                        control(timer, c, t0, now);
                    }
                    if found != lone.contains_key(&key) {
                        return fail("found differs".into());
                    }
                }
                SetOp::HandleControl(key, c) => {
                    let handle = handle.get_or_insert_with(|| set.handle());
                    control(&mut Keyed(&*handle, key), c, t0, now);
                    if let Some(timer) = lone.get_mut(&key) {
                        control(timer, c, t0, now);
                    }
                    // Applied now, so that the deadlines compare below.
                    set.remove(&NO_KEY);
                }
                SetOp::PollOnce | SetOp::Next | SetOp::Stream => {
                    // The set starts its `auto_start(false)` entries at its poll; a lone
                    // timer at its own first poll.
                    for timer in lone.values_mut() {
                        if not_started(timer) {
                            let _ = poll_once(timer);
                        }
                    }
                    let got = if let SetOp::PollOnce = op {
                        tokio::task::coop::unconstrained(async { poll_once(&mut set) }).await
                    } else {
                        // Await only if a lone timer would ever tick.
                        if lone
                            .values()
                            .all(|t| t.deadline().is_none() && !not_started(t))
                        {
                            continue;
                        }
                        match tokio::time::timeout(STUCK, set.next()).await {
                            Ok(item) => Poll::Ready(item),
                            Err(_) => return fail("stuck".into()),
                        }
                    };
                    match got {
                        Poll::Ready((key, tick)) => {
                            let Some(timer) = lone.get_mut(&key) else {
                                return fail(format!("tick of removed key {key}"));
                            };
                            let mine =
                                tokio::task::coop::unconstrained(async { poll_once(timer) }).await;
                            if mine != Poll::Ready(Some(tick)) {
                                return fail(format!(
                                    "tick of {key}: set {:?}, lone timer {:?}",
                                    seen(t0, tick),
                                    mine.map(|t| t.map(|t| seen(t0, t)))
                                ));
                            }
                        }
                        Poll::Pending => {
                            for (key, timer) in &mut lone {
                                let mine =
                                    tokio::task::coop::unconstrained(async { poll_once(timer) })
                                        .await;
                                if let Poll::Ready(Some(tick)) = mine {
                                    return fail(format!(
                                        "set pending, lone timer {key} ticked {:?}",
                                        seen(t0, tick)
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            for (key, timer) in &lone {
                if set.deadline(key) != timer.deadline() {
                    return fail(format!(
                        "deadline of {key}: set {:?}, lone {:?}",
                        set.deadline(key),
                        timer.deadline()
                    ));
                }
            }
        }
        Ok(())
    })
}

fn not_started(timer: &Timer) -> bool {
    // Neither running nor stopped by the runner: a timer built with auto_start(false)
    // starts at its first poll, as the set's entry does.
    !timer.is_running()
        && timer.deadline().is_none()
        && format!("{timer:?}").contains("state: not started")
}
