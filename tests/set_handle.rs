//! `SetHandle`: a `TimerSet` steered from other tasks. Under the paused clock with exact
//! values: kicks, call order, wake-ups only when a command needs the set earlier,
//! missing keys, a dropped set; and a set that hands out no handle.

use kadenz_testkit as common;

use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{assert_send_sync_clone, ms, Wakes};
use kadenz::{Error, SetHandle, Timer, TimerSet};
use tokio::time::{advance, sleep, Instant};

#[test]
fn a_handle_is_send_sync_clone_and_debug() {
    assert_send_sync_clone::<SetHandle<String>>();
    assert_send_sync_clone::<SetHandle<u64>>();
}

/// (key, due in ms since `start`, drift in ms).
async fn next(set: &mut TimerSet<&'static str>, start: Instant) -> (&'static str, u64, u64) {
    let (key, tick) = tokio::time::timeout(common::PATIENCE, set.next())
        .await
        .expect("the set ticks");
    (
        key,
        tick.scheduled().duration_since(start).as_millis() as u64,
        tick.drift().as_millis() as u64,
    )
}

#[tokio::test(start_paused = true)]
async fn readers_kick_their_own_watchdogs_from_their_tasks() {
    let start = Instant::now();
    let mut watchdogs = TimerSet::new();
    let devices = ["plc-1", "plc-2", "plc-3"];
    for device in devices {
        watchdogs
            .insert(device, Timer::timeout_builder(ms(100)))
            .unwrap();
    }
    // Reader k answers every 40 + 20·k ms until 300 ms, then goes quiet.
    for (k, device) in devices.into_iter().enumerate() {
        let kick = watchdogs.handle();
        tokio::spawn(async move {
            let period = ms(40 + 20 * k as u64);
            while Instant::now() + period <= start + ms(300) {
                sleep(period).await;
                assert!(kick.reset(&device));
            }
        });
    }
    // Last answers: 280 (7 × 40), 300 (5 × 60), 240 (3 × 80): each trips 100 ms later,
    // and again every 100 ms.
    assert_eq!(next(&mut watchdogs, start).await, ("plc-3", 340, 0));
    assert_eq!(next(&mut watchdogs, start).await, ("plc-1", 380, 0));
    assert_eq!(next(&mut watchdogs, start).await, ("plc-2", 400, 0));
    assert_eq!(next(&mut watchdogs, start).await, ("plc-3", 440, 0));
    assert_eq!(watchdogs.stats().delivered(), 4);
}

#[tokio::test(start_paused = true)]
async fn commands_apply_in_call_order_with_the_owners_own_calls() {
    let start = Instant::now();
    let mut set = TimerSet::new();
    set.insert("a", Timer::builder(ms(100))).unwrap();
    let (h1, h2) = (set.handle(), set.handle());
    h1.stop(&"a");
    h2.reset_at(&"a", start + ms(7));
    assert_eq!(next(&mut set, start).await, ("a", 7, 0));
    h2.reset_at(&"a", start + ms(70));
    h1.stop(&"a");
    // The set's views show it as of its last change: the commands wait.
    assert_eq!(set.deadline("a"), Some(start + ms(107)));
    // The owner's call comes after the handles': the handles' are applied first.
    h1.reset_at(&"a", start + ms(80));
    set.reset_at("a", start + ms(90));
    assert_eq!(set.deadline("a"), Some(start + ms(90)));
    assert_eq!(next(&mut set, start).await, ("a", 90, 0));
    // A stop then a reset, and a reset then a stop.
    h1.stop(&"a");
    h1.reset_after(&"a", ms(5)); // at 90: due at 195
    assert_eq!(next(&mut set, start).await, ("a", 195, 0));
    h2.reset_immediately(&"a");
    h2.stop(&"a");
    set.insert("b", Timer::builder(ms(50))).unwrap();
    assert!(!set.is_running("a"));
    assert_eq!(next(&mut set, start).await, ("b", 245, 0));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_set_sees_an_earlier_command_at_once() {
    let start = Instant::now();
    let mut set = TimerSet::new();
    set.insert("slow", Timer::builder(ms(1_000))).unwrap();
    set.insert("idle", Timer::builder(ms(500))).unwrap();
    set.stop("idle");
    let handle = set.handle();
    tokio::spawn(async move {
        sleep(ms(20)).await;
        handle.reset_at(&"slow", start + ms(50));
        sleep(ms(40)).await; // at 60
        handle.reset_immediately(&"idle");
        sleep(ms(10)).await; // at 70
        handle.set_interval(&"idle", ms(100)).unwrap(); // idle: 60 -> next at 160 -> 100 ms rhythm
        sleep(ms(10)).await; // at 80
        handle.reset(&"slow"); // 1 s from 80: no sooner than the wait, no wake
    });
    assert_eq!(next(&mut set, start).await, ("slow", 50, 0));
    assert_eq!(Instant::now(), start + ms(50), "woken by the command");
    assert_eq!(next(&mut set, start).await, ("idle", 60, 0));
    assert_eq!(next(&mut set, start).await, ("idle", 160, 0));
    assert_eq!(next(&mut set, start).await, ("idle", 260, 0));
    assert_eq!(set.deadline("slow"), Some(start + ms(1_080)));
}

#[tokio::test(start_paused = true)]
async fn a_command_wakes_the_set_only_if_it_needs_the_set_earlier() {
    let start = Instant::now();
    let mut set = TimerSet::new();
    set.insert("a", Timer::timeout_builder(ms(100))).unwrap();
    set.insert("b", Timer::timeout_builder(ms(100))).unwrap();
    let handle = set.handle();
    let counter = Arc::new(Wakes::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(set.poll_next(&mut cx).is_pending()); // waits for 100 ms
    advance(ms(30)).await;
    let wakes = || counter.count();

    // Kicks: each entry's next tick moves later than the wait (130 ms > 100 ms).
    handle.reset(&"a");
    handle.reset_after(&"b", ms(10));
    handle.stop(&"a");
    handle.reset_at(&"a", start + ms(100)); // at the wait itself
    assert_eq!(wakes(), 0);
    // The set applies them in order at its next poll.
    assert!(set.poll_next(&mut cx).is_pending());
    assert_eq!(set.deadline("a"), Some(start + ms(100)));
    assert_eq!(set.deadline("b"), Some(start + ms(140)));

    // Earlier than the wait: wakes, once.
    handle.reset_at(&"b", start + ms(60));
    assert_eq!(wakes(), 1);
    handle.reset_at(&"b", start + ms(50));
    assert_eq!(wakes(), 1, "the waker was taken: the set is polled anyway");
    assert!(set.poll_next(&mut cx).is_pending());
    assert_eq!(set.deadline("b"), Some(start + ms(50)));
    // A new interval may move a tick earlier: wakes.
    handle.set_interval(&"a", ms(500)).unwrap();
    assert_eq!(wakes(), 2);
    assert!(set.poll_next(&mut cx).is_pending());
    assert_eq!(set.interval("a"), Some(ms(500)));
    assert_eq!(
        set.deadline("a"),
        Some(start + ms(100)),
        "a tick put at an instant stays"
    );
    // A missing key is queued, then ignored and counted.
    assert!(handle.reset_immediately(&"zz"));
    assert_eq!(wakes(), 3);
    assert_eq!(handle.ignored(), 0);
    advance(ms(20)).await; // at 50
    match set.poll_next(&mut cx) {
        Poll::Ready((key, tick)) => {
            assert_eq!((key, tick.scheduled()), ("b", start + ms(50)));
        }
        Poll::Pending => panic!("b is due"),
    }
    assert_eq!(handle.ignored(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_handle_starts_an_entry_of_an_idle_set() {
    let start = Instant::now();
    let mut set = TimerSet::new();
    set.insert(1u32, Timer::builder(ms(10))).unwrap();
    set.stop(&1);
    let handle = set.handle();
    tokio::spawn(async move {
        sleep(ms(5)).await;
        handle.reset(&1);
    });
    let (key, tick) = set.next().await;
    assert_eq!((key, tick.scheduled()), (1, start + ms(15)));
}

#[tokio::test(start_paused = true)]
async fn string_keys_are_given_as_str() {
    let start = Instant::now();
    let mut set: TimerSet<String> = TimerSet::new();
    set.insert("pump-3".into(), Timer::builder(ms(100)))
        .unwrap();
    let handle = set.handle();
    assert!(handle.reset_at("pump-3", start + ms(5)));
    assert_eq!(set.next().await.1.scheduled(), start + ms(5));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_set_refuses_commands() {
    let mut set: TimerSet<u8> = TimerSet::new();
    set.insert(1, Timer::builder(ms(10))).unwrap();
    let handle = set.handle();
    handle.reset(&1);
    assert_eq!(
        format!("{handle:?}"),
        "SetHandle { waiting: 1, ignored: 0, open: true }"
    );
    drop(set);
    assert!(!handle.is_open());
    assert!(!handle.reset(&1));
    assert!(!handle.stop(&1));
    assert_eq!(handle.set_interval(&1, ms(5)), Ok(false));
    assert_eq!(
        format!("{handle:?}"),
        "SetHandle { waiting: 0, ignored: 0, open: false }"
    );
}

#[tokio::test(start_paused = true)]
async fn clear_drops_the_commands_given_before_it() {
    let start = Instant::now();
    let mut set = TimerSet::new();
    set.insert("a", Timer::builder(ms(100))).unwrap();
    let handle = set.handle();
    handle.reset_at(&"a", start + ms(1));
    set.clear();
    set.insert("a", Timer::builder(ms(10))).unwrap();
    assert_eq!(next(&mut set, start).await, ("a", 10, 0));
    assert_eq!(handle.ignored(), 0);
}

/// A call that changes the set applies the handles' commands first, in the order they were
/// given, even one the set refuses (found by the set model's proptest: a handle's command
/// for a missing key, then `set_interval` with a zero interval).
#[tokio::test(start_paused = true)]
async fn a_refused_set_interval_applies_the_handles_commands_first() {
    let mut set = TimerSet::new();
    set.insert("a", Timer::builder(ms(100))).unwrap();
    let handle = set.handle();
    assert!(handle.reset(&"missing"));
    assert!(matches!(
        set.set_interval("a", Duration::ZERO),
        Err(Error::IntervalTooShort(_))
    ));
    assert_eq!(handle.ignored(), 1);
}
