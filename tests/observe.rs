//! What a person reads about a timer in a log: its name (`TimerBuilder::name`) and the
//! `Debug` output of `Timer`, `TimerHandle` and `TimerSet`, exact under the paused clock.
//! (The `tracing` feature's events are tested in `tests/tracing.rs`.)

use kadenz_testkit as common;

use common::{ms, next_tick, us};
use kadenz::policy::SkipMissedAndResync;
use kadenz::{Timer, TimerSet};
use tokio::time::{advance, Instant};

#[tokio::test(start_paused = true)]
async fn a_name_is_kept_and_an_unnamed_timer_has_none() {
    let named = Timer::builder(ms(10)).name("pump").build().unwrap();
    assert_eq!(named.name(), Some("pump"));
    let device = 7;
    let owned = Timer::builder(ms(10))
        .name(format!("device {device}"))
        .build()
        .unwrap();
    assert_eq!(owned.name(), Some("device 7"));
    assert_eq!(Timer::periodic(ms(10)).name(), None);
    // The last name given wins, as with every option of the builder.
    let renamed = Timer::builder(ms(10))
        .name("old")
        .name("new")
        .build()
        .unwrap();
    assert_eq!(renamed.name(), Some("new"));
}

#[tokio::test(start_paused = true)]
async fn a_named_timer_ticks_as_an_unnamed_one() {
    let start = Instant::now();
    let mut named = Timer::builder(ms(10))
        .name("named")
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    let mut plain = Timer::builder(ms(10))
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    advance(ms(43)).await;
    for timer in [&mut named, &mut plain] {
        let tick = next_tick(timer).await.unwrap();
        assert_eq!(tick.scheduled(), start + ms(10));
        assert_eq!(
            (tick.drift(), tick.missed(), tick.skipped()),
            (ms(33), 3, 3)
        );
        assert_eq!(timer.deadline(), Some(start + ms(50)));
    }
    // A handle of a named timer keeps the name; the timer still works through it.
    let handle = named.handle();
    handle.reset();
    assert_eq!(named.deadline(), Some(Instant::now() + ms(10)));
    assert_eq!(named.name(), Some("named"));
}

#[tokio::test(start_paused = true)]
async fn debug_shows_the_next_tick_relative_to_now() {
    let mut timer = Timer::builder(ms(100)).name("pump").build().unwrap();
    let line = |timer: &Timer, state: &str, stats: &str| {
        assert_eq!(
            format!("{timer:?}"),
            format!(
                "Timer {{ name: \"pump\", interval: 100ms, policy: TriggerAllMissed, \
                 {state}, {stats} }}"
            )
        );
    };
    let no_stats = "delivered: 0, skipped: 0, max_drift: 0ns";
    line(&timer, "state: running, next_tick: in 100ms", no_stats);
    advance(us(30_250)).await;
    line(&timer, "state: running, next_tick: in 69.75ms", no_stats);
    advance(us(69_750)).await;
    line(&timer, "state: running, next_tick: now", no_stats);
    advance(ms(3)).await;
    line(
        &timer,
        "state: running, next_tick: overdue by 3ms",
        no_stats,
    );

    next_tick(&mut timer).await.unwrap();
    line(
        &timer,
        "state: running, next_tick: in 97ms",
        "delivered: 1, skipped: 0, max_drift: 3ms",
    );
    timer.stop();
    line(
        &timer,
        "state: stopped",
        "delivered: 1, skipped: 0, max_drift: 3ms",
    );

    // Past the end of its time line, a running timer never ticks again.
    let never = Timer::periodic(us(u64::MAX));
    assert_eq!(
        format!("{never:?}"),
        "Timer { interval: 18446744073709.551615s, policy: TriggerAllMissed, state: running, \
         next_tick: never, delivered: 0, skipped: 0, max_drift: 0ns }"
    );
}

#[tokio::test(start_paused = true)]
async fn debug_counts_what_handles_asked_for_and_pretty_prints() {
    let mut timer = Timer::builder(ms(100))
        .skip_missed_ticks(true)
        .build()
        .unwrap();
    let handle = timer.handle();
    handle.set_interval(ms(40)).unwrap();
    // Not applied yet (the timer was not polled), but shown as it will be.
    assert_eq!(
        format!("{timer:#?}"),
        "Timer {\n    interval: 40ms,\n    policy: SkipMissedAndResync,\n    state: running,\n    \
         next_tick: in 40ms,\n    delivered: 0,\n    skipped: 0,\n    max_drift: 0ns,\n}"
    );
    handle.stop();
    assert_eq!(
        format!("{handle:?}"),
        "TimerHandle { interval: 40ms, running: false }"
    );
    assert!(format!("{timer:?}").contains("state: stopped"));
}

#[tokio::test(start_paused = true)]
async fn handle_debug_names_the_timer() {
    let mut timer = Timer::builder(ms(250))
        .name(String::from("meter"))
        .build()
        .unwrap();
    let handle = timer.handle();
    assert_eq!(
        format!("{handle:?}"),
        r#"TimerHandle { name: "meter", interval: 250ms, running: true }"#
    );
    // Every handle of the timer shows it, the ones made later too.
    assert_eq!(format!("{:?}", timer.handle()), format!("{handle:?}"));
}

#[tokio::test(start_paused = true)]
async fn set_debug_shows_the_earliest_due_time() {
    let mut set = TimerSet::new();
    assert_eq!(
        format!("{set:?}"),
        "TimerSet { len: 0, running: 0, policies: 0, delivered: 0, skipped: 0, max_drift: 0ns }"
    );
    set.insert("a", Timer::builder(ms(100))).unwrap();
    set.insert(
        "b",
        Timer::builder(ms(150)).missed_tick_policy(SkipMissedAndResync),
    )
    .unwrap();
    let line = |set: &TimerSet<&str>, next: &str| {
        assert_eq!(
            format!("{set:?}"),
            format!(
                "TimerSet {{ len: 2, running: 2, next_tick: {next}, policies: 2, delivered: 0, \
                 skipped: 0, max_drift: 0ns }}"
            )
        );
    };
    line(&set, "in 100ms");
    // "a" moves from 100 to 160 ms: its old due time stays on top of the heap, left
    // behind, and the earliest is "b"'s.
    advance(ms(60)).await;
    set.reset(&"a");
    line(&set, "in 90ms");
    advance(ms(95)).await;
    line(&set, "overdue by 5ms");

    set.stop(&"a");
    set.stop(&"b");
    assert_eq!(
        format!("{set:?}"),
        "TimerSet { len: 2, running: 0, policies: 2, delivered: 0, skipped: 0, max_drift: 0ns }"
    );
}

#[tokio::test(start_paused = true)]
async fn a_set_entry_may_have_a_name_and_keeps_none() {
    let mut set = TimerSet::new();
    set.insert(1, Timer::builder(ms(10)).name("ignored"))
        .unwrap();
    let start = Instant::now();
    let (key, tick) = set.next().await;
    assert_eq!((key, tick.scheduled()), (1, start + ms(10)));
}

#[test]
fn a_name_does_not_make_a_timer_bigger() {
    // The name lives in the box of what only some timers use: a timer is as big without
    // a name as with one, with or without the features (128 bytes on a 64-bit target: 112
    // before its wheel kept the waker it holds, for the waiting poll).
    #[cfg(target_pointer_width = "64")]
    assert_eq!(std::mem::size_of::<Timer>(), 128);
}

/// `missed_tick_policy()` shows the policy as it was given: a built-in policy type as
/// itself, a `BuiltinPolicy` value as that value, a custom policy as itself.
#[tokio::test(start_paused = true)]
async fn a_timer_shows_its_policy_as_given() {
    use kadenz::policy::{BuiltinPolicy, MissedTickPolicy, TriggerMissedUpTo};

    #[derive(Debug)]
    struct EveryOther;
    impl MissedTickPolicy for EveryOther {
        fn calculate_next_tick_time(&self, interval: u64, scheduled: u64, _now: u64) -> u64 {
            scheduled.saturating_add(interval.saturating_mul(2))
        }
    }

    let up_to = TriggerMissedUpTo::new(3);
    let cases = [
        (Timer::periodic(ms(10)), "TriggerAllMissed"),
        (
            Timer::timeout(ms(10)),
            "SkipMissedAndDrift { delay_tolerance: 0ns }",
        ),
        (Timer::new(ms(10), up_to), "TriggerMissedUpTo { max: 3 }"),
        (
            Timer::new(ms(10), BuiltinPolicy::from(up_to)),
            "TriggerMissedUpTo(TriggerMissedUpTo { max: 3 })",
        ),
        (Timer::new(ms(10), EveryOther), "EveryOther"),
        (
            Timer::timeout_builder(ms(10)).build().unwrap(),
            "SkipMissedAndDrift { delay_tolerance: 0ns }",
        ),
    ];
    for (timer, shown) in cases {
        assert_eq!(format!("{:?}", timer.missed_tick_policy()), shown);
    }
}
