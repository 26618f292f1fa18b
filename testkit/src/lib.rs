//! What kadenz's integration tests, fuzz targets and measurement tools share: the
//! reference models (`model`, `set_model`), the proptest strategies over them
//! (`strategies`, feature `proptest`), the decoding of a fuzzer's bytes into their
//! operations (`bytes`), the tests' own missed-tick policies (`policies`), polling by
//! hand (`poll_once`, `noop_waker`), and the tests' clock helpers.
#![forbid(unsafe_code)]

pub mod bytes;
pub mod model;
pub mod policies;
pub mod set_model;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use model::noop_waker;

use std::fmt::Display;
use std::future::poll_fn;
use std::hash::Hash;
use std::task::{Context, Poll};
use std::time::Duration;

use kadenz::{Tick, Timer, TimerSet};
use tokio::time::Instant;

/// What the tests poll by hand: a timer (`poll_tick`) or a set (`poll_next`).
pub trait PollOnce {
    /// What a ready poll gives.
    type Output;
    /// One poll with `cx`.
    fn poll_with(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output>;
}

impl PollOnce for Timer {
    type Output = Option<Tick>;
    fn poll_with(&mut self, cx: &mut Context<'_>) -> Poll<Option<Tick>> {
        self.poll_tick(cx)
    }
}

impl<K: Hash + Eq + Clone> PollOnce for TimerSet<K> {
    type Output = (K, Tick);
    fn poll_with(&mut self, cx: &mut Context<'_>) -> Poll<(K, Tick)> {
        self.poll_next(cx)
    }
}

/// Polls a timer or a set once, with a waker that does nothing (as a `select!` whose
/// other branch won, or a test that looks whether a tick is ready without waiting).
pub fn poll_once<P: PollOnce>(polled: &mut P) -> Poll<P::Output> {
    let waker = noop_waker();
    polled.poll_with(&mut Context::from_waker(&waker))
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// How long a test under the paused clock waits for one tick before it fails. Virtual time
/// passes at once while the runtime is idle, so this costs nothing; it is far beyond every
/// interval the tests wait for, so only a timer that never fires reaches it (without it,
/// the idle paused runtime would wait for ever).
pub const PATIENCE: Duration = Duration::from_secs(3600);

/// How long a test on the real clock waits for one tick before it fails: far beyond every
/// interval those tests use (at most 200 ms), however loaded the machine.
pub const REAL_PATIENCE: Duration = Duration::from_secs(10);

/// The next tick (`None` from a stopped timer), waited for at most [`PATIENCE`].
pub async fn next_tick(timer: &mut Timer) -> Option<Tick> {
    next_tick_within(timer, PATIENCE).await
}

/// The next tick (`None` from a stopped timer); fails the test if none comes within
/// `patience` (virtual time under the paused clock, real time otherwise).
pub async fn next_tick_within(timer: &mut Timer, patience: Duration) -> Option<Tick> {
    // A tick that is ready at once needs no guard: bursts of overdue ticks cost what they
    // cost without one. (A `Pending` poll here is one `tick()` would make too.)
    if let Poll::Ready(tick) = poll_fn(|cx| Poll::Ready(timer.poll_tick(cx))).await {
        return tick;
    }
    let due = timer.deadline();
    match tokio::time::timeout(patience, timer.tick()).await {
        Ok(tick) => tick,
        Err(_) => {
            let now = Instant::now();
            let deadline = match due {
                Some(due) if due <= now => format!("its next tick was due {:?} ago", now - due),
                Some(due) => format!("its next tick is due in {:?}", due - now),
                None => "it had no deadline".to_string(),
            };
            panic!("no tick within {patience:?}: the timer never fired ({deadline})")
        }
    }
}

/// Counts the ticks a loop receives until some time or count, and fails the test once
/// there are more than the loop can see: a timer whose schedule does not advance fires at
/// once for ever, and under the paused clock, time stands still while it does, so the
/// loop would never end.
pub struct TickCap<D: Display> {
    ticks: u64,
    limit: u64,
    until: D,
}

impl<D: Display> TickCap<D> {
    /// At most `limit` ticks `until` (say what the loop waits for: "due by 1s").
    pub fn new(limit: u64, until: D) -> Self {
        TickCap {
            ticks: 0,
            limit,
            until,
        }
    }

    /// Counts one tick; panics if it is one too many.
    pub fn count(&mut self) {
        self.ticks += 1;
        if self.ticks > self.limit {
            panic!(
                "timer delivered more than {} ticks {}: its schedule does not advance",
                self.limit, self.until
            );
        }
    }
}

/// Receives the next tick once the clock reads `at`: the receiver was busy until then.
///
/// The clock is advanced by hand, to the microsecond: `sleep_until` would land on the next
/// millisecond, the resolution of tokio's timer wheel.
pub async fn tick_at(timer: &mut Timer, at: Instant) -> Tick {
    let now = Instant::now();
    assert!(at >= now, "the clock cannot go back");
    tokio::time::advance(at - now).await;
    next_tick(timer).await.expect("the timer is running")
}

/// A tick, as (offset of `scheduled` from `origin`, drift), both in microseconds.
pub fn offsets(origin: Instant, tick: Tick) -> (u64, u64) {
    let scheduled = tick.scheduled().duration_since(origin).as_micros() as u64;
    (scheduled, tick.drift().as_micros() as u64)
}

/// The next `n` ticks of a running timer, each as its [`offsets`] from `origin` in whole
/// `unit`s (`us(1)`, `ms(1)`); each waited for as by [`next_tick`].
pub async fn next_ticks(
    timer: &mut Timer,
    origin: Instant,
    n: usize,
    unit: Duration,
) -> Vec<(u64, u64)> {
    let unit = unit.as_micros() as u64;
    let mut ticks = Vec::with_capacity(n);
    for _ in 0..n {
        let tick = next_tick(timer).await.expect("the timer is running");
        let (scheduled, drift) = offsets(origin, tick);
        ticks.push((scheduled / unit, drift / unit));
    }
    ticks
}

/// Compiles only if `T` may go to and be shared with other threads and tasks, cloned and
/// printed: what a handle promises.
pub fn assert_send_sync_clone<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}

/// A current-thread runtime with the time driver, on the real clock.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// A current-thread runtime with the time driver, its clock paused (as
/// `#[tokio::test(start_paused = true)]`), for tests that build their runtimes themselves.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

/// A multi-thread runtime with two workers and the time driver, on the real clock (a
/// multi-thread runtime's clock cannot be paused).
pub fn multi_thread_runtime() -> tokio::runtime::Runtime {
    multi_thread_runtime_with(2)
}

/// A multi-thread runtime with `workers` workers and the time driver, on the real clock.
pub fn multi_thread_runtime_with(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
        .unwrap()
}

/// The timerfds the process holds, for the tests of precise timers' descriptors (each in a
/// test binary of its own, as no other test may make one meanwhile).
#[cfg(target_os = "linux")]
pub fn timerfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("timerfd"))
        .count()
}

/// A precise set on the real clock: three entries (700 µs, 1.1 ms, 2.3 ms), `ticks` ticks,
/// every entry's on its own grid, in due order across entries, none early, none lost.
#[cfg(feature = "precise")]
pub async fn precise_set_keeps_every_schedule(ticks: u32) {
    let mut set = kadenz::TimerSet::new().precise(true);
    assert_eq!(set.is_precise(), cfg!(target_os = "linux"));
    let periods = [us(700), us(1_100), us(2_300)];
    for (key, period) in periods.iter().enumerate() {
        set.insert(key, Timer::builder(*period).precise(true))
            .unwrap();
    }
    let origins: Vec<Instant> = (0..3)
        .map(|key| set.deadline(&key).unwrap() - periods[key])
        .collect();
    let mut counts = [0u32; 3];
    let mut last = origins[0];
    for _ in 0..ticks {
        let (key, tick) = tokio::time::timeout(Duration::from_secs(60), set.next())
            .await
            .expect("the set ticks");
        counts[key] += 1;
        assert_eq!(tick.scheduled(), origins[key] + periods[key] * counts[key]);
        assert!(tick.fired_at() <= Instant::now());
        assert!(tick.scheduled() >= last, "out of due order");
        last = tick.scheduled();
    }
    assert_eq!(set.stats().delivered(), u64::from(ticks));
}

/// `n` precise timers in tasks on the real clock, each with its own period (500 µs to
/// 2.1 ms), `ticks` ticks each, every one on its grid and none early.
#[cfg(feature = "precise")]
pub async fn precise_timers_keep_their_schedules(n: u64, ticks: u32) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                let interval = us(500 + (i % 17) * 100);
                let mut timer = Timer::builder(interval).precise(true).build().unwrap();
                let origin = timer.deadline().unwrap() - interval;
                for k in 1..=ticks {
                    let tick = timer.tick().await.unwrap();
                    assert_eq!(tick.scheduled(), origin + interval * k);
                    assert!(tick.fired_at() <= Instant::now());
                }
                assert_eq!(timer.is_precise(), cfg!(target_os = "linux"));
            })
        })
        .collect();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("every timer ticks")
            .unwrap();
    }
}

/// A runtime from `builder` whose scheduler handle is watched: its park callback owns a
/// clone of `token`, so the token's count says whether anything still holds the runtime
/// (a wheel `Sleep` holds its runtime's handle; a precise timer's OS timer on a runtime
/// with the IO driver holds its registration, and so the runtime's handle).
pub fn runtime_with_token(
    builder: &mut tokio::runtime::Builder,
    token: &std::sync::Arc<()>,
) -> tokio::runtime::Runtime {
    let held = token.clone();
    builder
        .on_thread_park(move || {
            let _ = &held;
        })
        .build()
        .unwrap()
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct Wakes(pub std::sync::atomic::AtomicU64);

impl Wakes {
    pub fn count(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::task::Wake for Wakes {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}
