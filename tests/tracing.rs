//! The events of the `tracing` feature: which ticks and commands report, at which level,
//! with which fields, exactly, under the paused clock.
//!
//! A small subscriber written here collects every event of the test's thread (the test
//! runs on a current-thread runtime, so its spawned tasks run on that thread too).
#![cfg(feature = "tracing")]

use kadenz_testkit as common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ms, next_tick, us};
use kadenz::policy::SkipMissedAndResync;
use kadenz::{Error, Timer, TimerSet};
use tokio::time::{advance, Instant};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as the collector saw it: level, target, and every field (the message too)
/// as text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

/// Collects every event; ignores spans. While `panics` is above zero, an event counts it
/// down and panics after it is collected (a subscriber that fails).
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Seen>>>, Arc<AtomicU32>);

impl Collector {
    /// The events collected since the last call.
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(Seen {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields: fields.0,
        });
        let fail = self
            .1
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            });
        if fail.is_ok() {
            panic!("the subscriber fails");
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A collector that gets this thread's events until the guard is dropped.
fn collect() -> (Collector, DefaultGuard) {
    let collector = Collector::default();
    let guard = tracing::subscriber::set_default(collector.clone());
    (collector, guard)
}

/// The event the crate should emit: target `kadenz`, the message, and `fields`.
fn event(level: Level, message: &str, fields: &[(&str, &str)]) -> Seen {
    let mut all: BTreeMap<String, String> = fields
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    all.insert("message".to_string(), message.to_string());
    Seen {
        level,
        target: "kadenz".to_string(),
        fields: all,
    }
}

fn late(timer: &str, drift_us: &str, threshold_us: &str, missed: &str, skipped: &str) -> Seen {
    event(
        Level::WARN,
        "tick later than its threshold",
        &[
            ("timer", timer),
            ("drift_us", drift_us),
            ("threshold_us", threshold_us),
            ("missed", missed),
            ("skipped", skipped),
            ("interval_us", "10000"),
        ],
    )
}

fn command(timer: &str, command: &str, interval_us: &str) -> Seen {
    event(
        Level::DEBUG,
        "command from a handle",
        &[
            ("timer", timer),
            ("command", command),
            ("interval_us", interval_us),
        ],
    )
}

#[tokio::test(start_paused = true)]
async fn a_tick_later_than_the_threshold_warns() {
    let (events, _guard) = collect();
    let mut timer = Timer::builder(ms(10))
        .name("control")
        .warn_if_late(ms(2))
        .build()
        .unwrap();

    advance(ms(15)).await;
    next_tick(&mut timer).await.unwrap();
    assert_eq!(events.take(), [late("control", "5000", "2000", "0", "0")]);

    // Exactly at the threshold is not later than it; a microsecond more is.
    advance(ms(7)).await; // the tick due at 20 ms, at 22 ms
    assert_eq!(next_tick(&mut timer).await.unwrap().drift(), ms(2));
    assert_eq!(events.take(), []);
    advance(us(10_001)).await; // the tick due at 30 ms, at 32.001 ms
    next_tick(&mut timer).await.unwrap();
    assert_eq!(events.take(), [late("control", "2001", "2000", "0", "0")]);

    // A burst (TriggerAllMissed): every tick of it that is late enough, one event each.
    advance(us(35_999)).await; // at 68 ms: the ticks due at 40, 50 and 60 ms
    for _ in 0..3 {
        next_tick(&mut timer).await.unwrap();
    }
    assert_eq!(
        events.take(),
        [
            late("control", "28000", "2000", "2", "0"),
            late("control", "18000", "2000", "1", "0"),
            late("control", "8000", "2000", "0", "0"),
        ]
    );
    // On time: nothing.
    next_tick(&mut timer).await.unwrap();
    assert_eq!(events.take(), []);
}

/// A subscriber that panics on the WARN of a late tick: the tick is not consumed (not
/// counted, not lost); the next poll delivers it, and reports it again. The handles see
/// the timer as before the tick throughout.
#[tokio::test(start_paused = true)]
async fn a_panicking_subscriber_leaves_the_tick_it_reports_undelivered() {
    let (events, _guard) = collect();
    let start = Instant::now();
    let mut timer = Timer::builder(ms(10))
        .name("control")
        .warn_if_late(ms(2))
        .build()
        .unwrap();
    let handle = timer.handle();
    advance(ms(15)).await;
    events.1.store(1, Ordering::Relaxed);
    let polled = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || timer.poll_tick(cx),
        )))
    })
    .await;
    assert!(polled.is_err(), "the subscriber's panic propagates");
    assert_eq!(events.take(), [late("control", "5000", "2000", "0", "0")]);
    assert_eq!(timer.stats().delivered(), 0);
    assert_eq!(timer.deadline(), Some(start + ms(10)));
    assert!(timer.is_running() && handle.is_running());
    assert_eq!(handle.deadline(), Some(start + ms(10)));

    let tick = next_tick(&mut timer).await.unwrap();
    assert_eq!((tick.scheduled(), tick.drift()), (start + ms(10), ms(5)));
    assert_eq!(events.take(), [late("control", "5000", "2000", "0", "0")]);
    assert_eq!(timer.stats().delivered(), 1);
    assert_eq!(handle.deadline(), Some(start + ms(20)));
    let tick = next_tick(&mut timer).await.unwrap();
    assert_eq!((tick.scheduled(), tick.drift()), (start + ms(20), ms(0)));
}

#[tokio::test(start_paused = true)]
async fn skipped_ticks_are_reported_with_their_counts() {
    let (events, _guard) = collect();
    let mut timer = Timer::builder(ms(10))
        .name("poll")
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    advance(ms(43)).await; // due at 10 ms; 20, 30 and 40 ms are skipped
    let tick = next_tick(&mut timer).await.unwrap();
    assert_eq!((tick.missed(), tick.skipped()), (3, 3));
    assert_eq!(
        events.take(),
        [event(
            Level::INFO,
            "ticks skipped",
            &[
                ("timer", "poll"),
                ("drift_us", "33000"),
                ("missed", "3"),
                ("skipped", "3"),
                ("interval_us", "10000"),
            ],
        )]
    );
    // Late but nothing skipped, and no threshold: nothing.
    advance(ms(12)).await; // due at 50 ms, at 55 ms
    assert_eq!(next_tick(&mut timer).await.unwrap().skipped(), 0);
    assert_eq!(events.take(), []);
}

#[tokio::test(start_paused = true)]
async fn a_late_tick_that_skipped_is_one_warning() {
    let (events, _guard) = collect();
    let mut timer = Timer::builder(ms(10))
        .name("poll")
        .warn_if_late(ms(1))
        .missed_tick_policy(SkipMissedAndResync)
        .build()
        .unwrap();
    advance(ms(43)).await;
    next_tick(&mut timer).await.unwrap();
    assert_eq!(events.take(), [late("poll", "33000", "1000", "3", "3")]);
}

#[tokio::test(start_paused = true)]
async fn a_threshold_without_a_name_reports_without_one() {
    let (events, _guard) = collect();
    let mut timer = Timer::builder(ms(10))
        .warn_if_late(Duration::ZERO)
        .build()
        .unwrap();
    advance(ms(11)).await;
    next_tick(&mut timer).await.unwrap();
    let mut want = late("", "1000", "0", "0", "0");
    want.fields.remove("timer");
    assert_eq!(events.take(), [want]);
}

#[tokio::test(start_paused = true)]
async fn a_timer_without_name_or_threshold_reports_nothing() {
    let (events, _guard) = collect();
    let mut timer = Timer::builder(ms(10))
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    let handle = timer.handle();
    advance(ms(43)).await;
    assert_eq!(next_tick(&mut timer).await.unwrap().skipped(), 3);
    handle.reset();
    handle.set_interval(ms(20)).unwrap();
    handle.stop();
    assert_eq!(next_tick(&mut timer).await, None);
    assert_eq!(events.take(), []);
}

#[tokio::test(start_paused = true)]
async fn handle_commands_are_reported_from_the_task_that_gives_them() {
    let (events, _guard) = collect();
    let mut timer = Timer::builder(ms(10)).name("watchdog").build().unwrap();
    let handle = timer.handle();
    handle.reset();
    handle.reset_after(ms(5));
    handle.reset_at(Instant::now() + ms(3));
    handle.reset_immediately();
    handle.set_interval(ms(40)).unwrap();
    // A bad interval changes nothing, and is not reported.
    assert_eq!(
        handle.set_interval(Duration::ZERO),
        Err(Error::IntervalTooShort(Duration::ZERO))
    );
    // From another task, with the interval the timer will have (40 ms, not applied yet).
    let other = timer.handle();
    tokio::spawn(async move { other.stop() }).await.unwrap();
    assert_eq!(
        events.take(),
        [
            command("watchdog", "reset", "10000"),
            command("watchdog", "reset_after", "10000"),
            command("watchdog", "reset_at", "10000"),
            command("watchdog", "reset_immediately", "10000"),
            command("watchdog", "set_interval", "40000"),
            command("watchdog", "stop", "40000"),
        ]
    );
    // The timer's own calls are not reported: its code can say so itself.
    timer.reset();
    timer.set_interval(ms(20)).unwrap();
    timer.stop();
    assert_eq!(next_tick(&mut timer).await, None);
    assert_eq!(events.take(), []);
}

#[tokio::test(start_paused = true)]
async fn debug_shows_the_threshold() {
    let timer = Timer::builder(ms(10))
        .name("control")
        .warn_if_late(us(2_500))
        .build()
        .unwrap();
    assert_eq!(
        format!("{timer:?}"),
        "Timer { name: \"control\", interval: 10ms, policy: TriggerAllMissed, state: running, \
         next_tick: in 10ms, warn_if_late: 2.5ms, delivered: 0, skipped: 0, max_drift: 0ns }"
    );
}

#[tokio::test(start_paused = true)]
async fn a_set_entry_takes_no_threshold() {
    let mut set = TimerSet::new();
    assert_eq!(
        set.insert(1, Timer::builder(ms(10)).warn_if_late(ms(1))),
        Err(Error::ConflictingOptions {
            option: "warn_if_late",
            conflicts_with: "a TimerSet entry (entries report no events)",
        })
    );
    assert!(set.is_empty());
    // A name is no threshold: the entry is added, and reports nothing.
    let (events, _guard) = collect();
    set.insert(
        2,
        Timer::builder(ms(10)).name("entry").skip_missed_ticks(true),
    )
    .unwrap();
    advance(ms(43)).await;
    assert_eq!(set.next().await.1.skipped(), 3);
    assert_eq!(events.take(), []);
}
