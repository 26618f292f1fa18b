//! Configuration: `HumanDuration` and `BuiltinPolicy` as text (exact forms, errors,
//! round trips), `TimerConfig` from TOML and JSON (serde feature), and a timer built from
//! a configuration ticking exactly as the same timer built by hand.

use kadenz_testkit as common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{ms, next_tick};
use kadenz::policy::{
    BuiltinPolicy, MissedTickPolicy, SkipMissedAndDrift, SkipMissedAndResync, TriggerAllMissed,
    TriggerMissedUpTo,
};
use kadenz::Tick;
use kadenz::{Error, HumanDuration, Timer, TimerBuilder, TimerConfig, TimerSet, WallClock};
use proptest::prelude::*;
use tokio::time::{advance, Instant};

// --- policies as text ----------------------------------------------------------------

#[test]
fn policies_print_as_their_names() {
    let cases: [(BuiltinPolicy, &str); 8] = [
        (BuiltinPolicy::TriggerAllMissed, "trigger-all-missed"),
        (TriggerMissedUpTo::new(3).into(), "trigger-missed-up-to:3"),
        (TriggerMissedUpTo::new(0).into(), "trigger-missed-up-to:0"),
        (
            TriggerMissedUpTo::new(u64::MAX).into(),
            "trigger-missed-up-to:18446744073709551615",
        ),
        (BuiltinPolicy::SkipMissedAndResync, "skip-missed-and-resync"),
        (
            SkipMissedAndDrift::default().into(),
            "skip-missed-and-drift",
        ),
        (
            SkipMissedAndDrift::new(ms(5)).into(),
            "skip-missed-and-drift:5ms",
        ),
        (
            SkipMissedAndDrift::new(Duration::from_micros(1_500)).into(),
            "skip-missed-and-drift:1500us",
        ),
    ];
    for (policy, text) in cases {
        assert_eq!(policy.to_string(), text);
        assert_eq!(text.parse::<BuiltinPolicy>(), Ok(policy), "{text}");
    }
    assert_eq!(TriggerAllMissed.to_string(), "trigger-all-missed");
    assert_eq!(SkipMissedAndResync.to_string(), "skip-missed-and-resync");
    assert_eq!(
        SkipMissedAndDrift::new(Duration::from_secs(60)).to_string(),
        "skip-missed-and-drift:1min"
    );
}

/// `{:>8}`, `{:*^30}`, `{:.4}` and the rest treat the text as a string's: the same output
/// as formatting the plain text with the same spec, for every policy and duration form.
#[test]
fn policies_and_durations_honour_width_fill_alignment_and_precision() {
    let policies: [BuiltinPolicy; 4] = [
        BuiltinPolicy::TriggerAllMissed,
        BuiltinPolicy::SkipMissedAndResync,
        SkipMissedAndDrift::default().into(),
        SkipMissedAndDrift::new(ms(5)).into(),
    ];
    let durations = [
        Duration::ZERO,
        ms(250),
        Duration::from_nanos(1_500),
        Duration::from_secs(90 * 60),
    ];
    macro_rules! same_as_text {
        ($value:expr) => {{
            let value = $value;
            let text = value.to_string();
            assert_eq!(format!("{value:>8}"), format!("{text:>8}"));
            assert_eq!(format!("{value:<40}|"), format!("{text:<40}|"));
            assert_eq!(format!("{value:*^30}"), format!("{text:*^30}"));
            assert_eq!(format!("{value:.4}"), format!("{text:.4}"));
            assert_eq!(format!("{value:>12.3}"), format!("{text:>12.3}"));
            assert_eq!(
                format!("{value:2}"),
                text,
                "narrower than the text: no change"
            );
        }};
    }
    for policy in policies {
        same_as_text!(policy);
    }
    same_as_text!(TriggerAllMissed);
    same_as_text!(SkipMissedAndResync);
    same_as_text!(SkipMissedAndDrift::new(ms(5)));
    for duration in durations {
        same_as_text!(HumanDuration(duration));
    }
    assert_eq!(format!("{:>8}", HumanDuration(ms(250))), "   250ms");
}

#[test]
fn a_tolerance_may_be_written_in_any_unit_and_is_kept_in_microseconds() {
    let cases = [
        ("skip-missed-and-drift:0.1s", ms(100)),
        ("skip-missed-and-drift:0s", Duration::ZERO),
        ("skip-missed-and-drift:1500ns", Duration::from_micros(1)),
        ("skip-missed-and-drift:2\u{b5}s", Duration::from_micros(2)),
    ];
    for (text, tolerance) in cases {
        assert_eq!(
            text.parse::<BuiltinPolicy>(),
            Ok(BuiltinPolicy::SkipMissedAndDrift(SkipMissedAndDrift::new(
                tolerance
            ))),
            "{text}"
        );
    }
}

#[test]
fn a_bad_policy_is_an_error_naming_it_and_what_is_accepted() {
    let accepted = "expected \"trigger-all-missed\", \"skip-missed-and-resync\", \
                    \"skip-missed-and-drift\", \"skip-missed-and-drift:<delay tolerance>\" \
                    with a duration such as \"5ms\" or \"trigger-missed-up-to:<max>\" with a \
                    whole number such as 3";
    let not_a_bound = "it has a bound that is not a whole number from 0 to 18446744073709551615";
    let cases = [
        ("", "it is not the name of a built-in policy"),
        (
            "TriggerAllMissed",
            "it is not the name of a built-in policy",
        ),
        (
            " trigger-all-missed",
            "it is not the name of a built-in policy",
        ),
        (
            "skip-missed-and-drift:",
            "it has a delay tolerance that does not start with a number",
        ),
        (
            "skip-missed-and-drift:5",
            "it has a delay tolerance that has no unit",
        ),
        (
            "skip-missed-and-drift:-5ms",
            "it has a delay tolerance that is negative, and negative durations are not allowed",
        ),
        (
            "skip-missed-and-drift:5m",
            "it has a delay tolerance that has an unknown unit",
        ),
        (
            "skip-missed-and-drift5ms",
            "it is not the name of a built-in policy",
        ),
        (
            "skip-missed-and-resync:5ms",
            "it is not the name of a built-in policy",
        ),
        (
            "trigger-missed-up-to",
            "it has no bound: write the most missed ticks to replay after a colon",
        ),
        ("trigger-missed-up-to:", not_a_bound),
        ("trigger-missed-up-to:-1", not_a_bound),
        ("trigger-missed-up-to:+3", not_a_bound),
        ("trigger-missed-up-to: 3", not_a_bound),
        ("trigger-missed-up-to:3.5", not_a_bound),
        ("trigger-missed-up-to:18446744073709551616", not_a_bound),
        (
            "trigger-missed-up-to3",
            "it is not the name of a built-in policy",
        ),
    ];
    for (input, problem) in cases {
        let err = input.parse::<BuiltinPolicy>().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPolicy { input: named, .. } if named == input),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("invalid missed-tick policy {input:?}: {problem}; {accepted}")
        );
    }
}

#[test]
fn a_builtin_policy_computes_as_the_policy_it_stands_for() {
    let s = 1_000_000;
    let cases: [(BuiltinPolicy, &dyn MissedTickPolicy); 4] = [
        (BuiltinPolicy::TriggerAllMissed, &TriggerAllMissed),
        (TriggerMissedUpTo::new(1).into(), &TriggerMissedUpTo::new(1)),
        (BuiltinPolicy::SkipMissedAndResync, &SkipMissedAndResync),
        (
            SkipMissedAndDrift::new(ms(100)).into(),
            &SkipMissedAndDrift::new(ms(100)),
        ),
    ];
    for (builtin, policy) in cases {
        for (scheduled, now) in [(3 * s, 4_300_000), (2_200_000, 2_300_000), (s, s)] {
            assert_eq!(
                builtin.calculate_next_tick_time(s, scheduled, now),
                policy.calculate_next_tick_time(s, scheduled, now),
                "{builtin}"
            );
        }
    }
}

// --- durations as text ---------------------------------------------------------------

#[test]
fn a_bad_duration_is_an_error_naming_it_and_what_is_accepted() {
    let cases = [
        ("250", "has no unit"),
        ("15m", "has an unknown unit"),
        ("1min30s", "has an unknown unit"),
        ("", "does not start with a number"),
        (
            "-5ms",
            "is negative, and negative durations are not allowed",
        ),
        (
            "-0.5s",
            "is negative, and negative durations are not allowed",
        ),
        ("-", "does not start with a number"),
        ("-ms", "does not start with a number"),
        ("1,5s", "has an unknown unit"),
        (
            ".5s",
            "has a malformed number (digits on both sides of one decimal point)",
        ),
        ("0.5ns", "is finer than a nanosecond"),
        (
            "18446744073709551616s",
            "is longer than the longest Duration (u64::MAX seconds)",
        ),
    ];
    for (input, problem) in cases {
        let err = input.parse::<HumanDuration>().unwrap_err();
        assert_eq!(
            err,
            Error::InvalidDuration {
                input: input.to_string(),
                problem
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "invalid duration {input:?}: it {problem}; expected a number and one unit out \
                 of ns, us or µs, ms, s, min, h, such as \"250ms\", \"1.5s\" or \"15min\""
            )
        );
    }
}

/// Any `Duration`.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (any::<u64>(), 0..1_000_000_000u32).prop_map(|(s, n)| Duration::new(s, n)),
        // Round values, which print in the larger units.
        (0..10_000u64, 0..6u32).prop_map(|(n, unit)| {
            let scale = [
                1,
                1_000,
                1_000_000,
                1_000_000_000,
                60_000_000_000,
                3_600_000_000_000,
            ];
            Duration::from_nanos(n * scale[unit as usize])
        }),
    ]
}

/// A duration as someone may write it: whole or decimal, in any unit and spelling.
fn duration_text() -> impl Strategy<Value = String> {
    let units = prop::sample::select(vec![
        "ns", "us", "\u{b5}s", "\u{3bc}s", "ms", "s", "min", "h",
    ]);
    (0..1_000_000u64, prop::option::of(0..1_000u32), units).prop_map(|(whole, fraction, unit)| {
        match fraction {
            Some(fraction) => format!("{whole}.{fraction:03}{unit}"),
            None => format!("{whole}{unit}"),
        }
    })
}

/// A tolerance of a whole number of microseconds, as a tolerance is kept.
fn builtin_policy() -> impl Strategy<Value = BuiltinPolicy> {
    prop_oneof![
        Just(BuiltinPolicy::TriggerAllMissed),
        Just(BuiltinPolicy::SkipMissedAndResync),
        any::<u64>().prop_map(|us| SkipMissedAndDrift::new(Duration::from_micros(us)).into()),
        (0..100_000u64).prop_map(|ms| SkipMissedAndDrift::new(Duration::from_millis(ms)).into()),
        any::<u64>().prop_map(|max| TriggerMissedUpTo::new(max).into()),
    ]
}

proptest! {
    #[test]
    fn a_printed_duration_parses_back(duration in duration()) {
        let text = HumanDuration(duration).to_string();
        prop_assert_eq!(text.parse::<HumanDuration>(), Ok(HumanDuration(duration)), "{}", text);
    }

    #[test]
    fn a_parsed_duration_prints_as_what_parses_to_it(text in duration_text()) {
        match text.parse::<HumanDuration>() {
            Ok(duration) => {
                let printed = duration.to_string();
                prop_assert_eq!(printed.parse::<HumanDuration>(), Ok(duration), "{} -> {}", text, printed);
            }
            // Only a nanosecond fraction can fail: "1.5ns".
            Err(err) => prop_assert!(text.ends_with("ns"), "{}: {}", text, err),
        }
    }

    #[test]
    fn a_printed_policy_parses_back(policy in builtin_policy()) {
        let text = policy.to_string();
        prop_assert_eq!(text.parse::<BuiltinPolicy>(), Ok(policy), "{}", text);
    }
}

// --- configuration to timer ----------------------------------------------------------

/// When a tick was due and when it fired, in milliseconds since `start`.
fn due_and_fired(start: Instant, tick: &Tick) -> (u64, u64) {
    let since = |at: Instant| u64::try_from((at - start).as_millis()).unwrap();
    (since(tick.scheduled()), since(tick.fired_at()))
}

/// A receiver that is ready for ticks at 0 s, then busy until 1.2 s, 2.3 s, 4.3 s and
/// 5.1 s, and then on time until 8 s (the scenario of the policy documentation): every
/// tick as (due, fired, missed, skipped), due and fired in milliseconds since `start`.
async fn stalled_run(mut timer: Timer, start: Instant) -> Vec<(u64, u64, u64, u64)> {
    let mut ticks = Vec::new();
    let mut receive = |tick: Tick| {
        let (due, fired) = due_and_fired(start, &tick);
        ticks.push((due, fired, tick.missed(), tick.skipped()));
    };
    for busy_until in [0, 1_200, 2_300, 4_300, 5_100] {
        let until = start + ms(busy_until);
        advance(until.saturating_duration_since(Instant::now())).await;
        while timer.deadline().is_some_and(|due| due <= until) {
            receive(next_tick(&mut timer).await.expect("running"));
        }
    }
    while timer.deadline().is_some_and(|due| due <= start + ms(8_000)) {
        receive(next_tick(&mut timer).await.expect("running"));
    }
    ticks
}

/// What the configuration builds, and what `by_hand` builds, deliver the same ticks.
async fn same_ticks(config: TimerConfig, by_hand: TimerBuilder) -> Vec<(u64, u64, u64, u64)> {
    let start = Instant::now();
    let from_config = config.build().expect("a valid configuration");
    let from_config_policy = format!("{:?}", from_config.missed_tick_policy());
    let configured = stalled_run(from_config, start).await;

    // The second timer starts at the same instant: time went on, so go back by
    // building it first and running both from their own start. Under the paused clock
    // the run takes 8 s of virtual time; the comparison is of offsets.
    let start = Instant::now();
    let by_hand = by_hand.build().expect("a valid builder");
    assert_eq!(
        format!("{:?}", by_hand.missed_tick_policy()),
        from_config_policy
    );
    let handmade = stalled_run(by_hand, start).await;

    assert_eq!(configured, handmade, "{config:?}");
    configured
}

#[tokio::test(start_paused = true)]
async fn a_configured_timer_ticks_as_the_timer_built_by_hand() {
    let s = Duration::from_secs(1);
    let mut config = TimerConfig::new(s);
    config.tick_at_start = true;
    let ticks = same_ticks(config.clone(), Timer::builder(s).tick_at_start(true)).await;
    assert_eq!(
        ticks,
        [
            (0, 0, 0, 0),
            (1_000, 1_200, 0, 0),
            (2_000, 2_300, 0, 0),
            (3_000, 4_300, 1, 0),
            (4_000, 4_300, 0, 0),
            (5_000, 5_100, 0, 0),
            (6_000, 6_000, 0, 0),
            (7_000, 7_000, 0, 0),
            (8_000, 8_000, 0, 0),
        ]
    );

    config.policy = BuiltinPolicy::SkipMissedAndResync;
    let ticks = same_ticks(
        config.clone(),
        Timer::builder(s)
            .missed_tick_policy(SkipMissedAndResync)
            .tick_at_start(true),
    )
    .await;
    assert_eq!(ticks[3..5], [(3_000, 4_300, 1, 1), (5_000, 5_100, 0, 0)]);

    config.policy = "trigger-missed-up-to:0".parse().unwrap();
    let ticks = same_ticks(
        config.clone(),
        Timer::builder(s)
            .missed_tick_policy(TriggerMissedUpTo::new(0))
            .tick_at_start(true),
    )
    .await;
    assert_eq!(ticks[3..5], [(3_000, 4_300, 1, 1), (5_000, 5_100, 0, 0)]);

    config.policy = "skip-missed-and-drift:100ms".parse().unwrap();
    config.start_delay = ms(250);
    let ticks = same_ticks(
        config.clone(),
        Timer::builder(s)
            .missed_tick_policy(SkipMissedAndDrift::new(ms(100)))
            .start_delay(ms(250))
            .tick_at_start(true),
    )
    .await;
    assert_eq!(
        ticks[..3],
        [
            (250, 1_200, 0, 0),
            (2_200, 2_300, 0, 0),
            (3_200, 4_300, 1, 1)
        ]
    );

    config.tick_at_start = false;
    same_ticks(
        config,
        Timer::builder(s)
            .missed_tick_policy(SkipMissedAndDrift::new(ms(100)))
            .start_delay(ms(250)),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn the_default_configuration_is_a_periodic_timer() {
    let start = Instant::now();
    let mut timer = TimerConfig::new(ms(100)).build().unwrap();
    assert_eq!(
        format!("{:?}", timer.missed_tick_policy()),
        "TriggerAllMissed"
    );
    advance(ms(250)).await;
    let ticks: Vec<_> = [
        next_tick(&mut timer).await,
        next_tick(&mut timer).await,
        next_tick(&mut timer).await,
    ]
    .into_iter()
    .map(|tick| due_and_fired(start, &tick.unwrap()))
    .collect();
    assert_eq!(ticks, [(100, 250), (200, 250), (300, 300)]);
}

#[tokio::test(start_paused = true)]
async fn a_configured_builder_is_a_timer_set_entry() {
    let start = Instant::now();
    let mut config = TimerConfig::new(Duration::from_secs(1));
    config.policy = BuiltinPolicy::SkipMissedAndResync;
    config.tick_at_start = true;
    let mut set = TimerSet::new();
    set.insert("poll", config.builder().unwrap()).unwrap();
    advance(ms(2_500)).await;
    let mut ticks = Vec::new();
    for _ in 0..2 {
        let (key, tick) = tokio::time::timeout(ms(60_000), set.next()).await.unwrap();
        assert_eq!(key, "poll");
        let (due, fired) = due_and_fired(start, &tick);
        ticks.push((due, fired, tick.skipped()));
    }
    // Due at 0, received at 2.5 s: the due times 1 and 2 s are skipped, 3 s is next.
    assert_eq!(ticks, [(0, 2_500, 2), (3_000, 3_000, 0)]);
}

#[derive(Debug)]
struct At1400msAfterTheEpoch;

impl WallClock for At1400msAfterTheEpoch {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + ms(1_400)
    }
}

#[tokio::test(start_paused = true)]
async fn a_configured_alignment_is_the_builders() {
    let mut config = TimerConfig::new(Duration::from_secs(1));
    config.align_to_wall_clock = Some(ms(100));
    let timer = config
        .builder()
        .unwrap()
        .wall_clock(At1400msAfterTheEpoch)
        .build()
        .unwrap();
    // From 1.4 s to 2.1 s on the wall clock.
    assert_eq!(timer.deadline(), Some(Instant::now() + ms(700)));
}

#[test]
fn a_configured_builder_is_a_builder() {
    // Outside a runtime: the builder still takes auto_start(false).
    let config = TimerConfig::new(ms(10));
    let timer = TimerBuilder::try_from(config.clone())
        .unwrap()
        .auto_start(false)
        .build()
        .unwrap();
    assert_eq!(timer.interval(), ms(10));
    assert_eq!(config.build().unwrap_err(), Error::NoRuntime);
    assert_eq!(
        TimerConfig::new(Duration::from_nanos(10))
            .builder()
            .unwrap()
            .auto_start(false)
            .build()
            .unwrap_err(),
        Error::IntervalTooShort(Duration::from_nanos(10))
    );
}

/// Jitter, its seed and the drift histogram reach the timer; a jitter longer than the
/// interval is refused by `builder()`.
#[tokio::test(start_paused = true)]
async fn jitter_and_record_drift_reach_the_timer() {
    let start = Instant::now();
    let mut config = TimerConfig::new(ms(1_000));
    config.jitter = Some(ms(100));
    config.jitter_seed = Some(7);
    config.record_drift = true;
    let timer = config.build().unwrap();
    // Seed 7's first offset (tests/jitter.rs): 63,437 µs.
    assert_eq!(
        timer.deadline(),
        Some(start + ms(1_000) + Duration::from_micros(63_437))
    );
    assert!(timer.drift_histogram().is_some());
    config.jitter = Some(ms(1_001));
    assert_eq!(
        config.builder().unwrap_err(),
        Error::JitterTooLong {
            jitter: ms(1_001),
            interval: ms(1_000)
        }
    );
}

/// The name reaches the timer; a lateness threshold needs the `tracing` feature.
#[tokio::test(start_paused = true)]
async fn name_and_warn_if_late_reach_the_timer() {
    let mut config = TimerConfig::new(ms(100));
    config.name = Some("pump".to_owned());
    assert_eq!(config.build().unwrap().name(), Some("pump"));
    config.warn_if_late = Some(ms(5));
    #[cfg(feature = "tracing")]
    assert!(format!("{:?}", config.build().unwrap()).contains("warn_if_late: 5ms"));
    #[cfg(not(feature = "tracing"))]
    assert_eq!(
        config.build().unwrap_err(),
        Error::FeatureNotEnabled {
            option: "warn_if_late",
            feature: "tracing"
        }
    );
}

#[cfg(not(feature = "precise"))]
#[test]
fn precise_without_the_feature_is_an_error() {
    let mut config = TimerConfig::new(ms(1));
    config.precise = true;
    let err = config.builder().unwrap_err();
    assert_eq!(
        err,
        Error::FeatureNotEnabled {
            option: "precise = true",
            feature: "precise"
        }
    );
    assert_eq!(config.build().unwrap_err(), err);
}

#[cfg(feature = "precise")]
#[tokio::test(start_paused = true)]
async fn precise_with_the_feature_builds_a_precise_timer() {
    let mut config = TimerConfig::new(ms(1));
    config.precise = true;
    let timer = config.build().unwrap();
    // Precise where the OS timer could be made (Linux); a default timer elsewhere.
    assert_eq!(timer.is_precise(), cfg!(target_os = "linux"));
    config.precise = false;
    assert!(!config.build().unwrap().is_precise());
}

// --- TOML and JSON (serde feature) ---------------------------------------------------

#[cfg(feature = "serde")]
mod serde_formats {
    use super::*;

    fn from_toml(text: &str) -> Result<TimerConfig, String> {
        toml::from_str(text).map_err(|err| err.message().to_string())
    }

    fn from_json(text: &str) -> Result<TimerConfig, String> {
        serde_json::from_str(text).map_err(|err| err.to_string())
    }

    #[test]
    fn every_field_from_toml() {
        let config = from_toml(
            r#"
            interval = "15min"
            policy = "skip-missed-and-drift:5ms"
            start_delay = "1.5s"
            tick_at_start = true
            align_to_wall_clock = "0s"
            precise = true
            "#,
        );
        // `precise = true` needs the feature: the next test shows the error without it.
        if !cfg!(feature = "precise") {
            return;
        }
        let config = config.unwrap();
        let mut expected = TimerConfig::new(Duration::from_secs(900));
        expected.policy = SkipMissedAndDrift::new(ms(5)).into();
        expected.start_delay = ms(1_500);
        expected.tick_at_start = true;
        expected.align_to_wall_clock = Some(Duration::ZERO);
        expected.precise = true;
        assert_eq!(config, expected);
    }

    #[test]
    fn every_field_from_json() {
        let config = from_json(
            r#"{
                "interval": "250ms",
                "policy": "skip-missed-and-resync",
                "start_delay": "0s",
                "tick_at_start": false,
                "align_to_wall_clock": "100ms",
                "precise": false
            }"#,
        )
        .unwrap();
        let mut expected = TimerConfig::new(ms(250));
        expected.policy = BuiltinPolicy::SkipMissedAndResync;
        expected.align_to_wall_clock = Some(ms(100));
        assert_eq!(config, expected);
    }

    #[test]
    fn only_the_interval_is_required() {
        assert_eq!(
            from_toml(r#"interval = "1s""#),
            Ok(TimerConfig::new(Duration::from_secs(1)))
        );
        assert_eq!(
            from_json(r#"{ "interval": "1s", "align_to_wall_clock": null }"#),
            Ok(TimerConfig::new(Duration::from_secs(1)))
        );
        assert_eq!(
            from_toml(r#"policy = "trigger-all-missed""#),
            Err("missing field `interval`".to_string())
        );
    }

    #[test]
    fn an_unknown_field_is_an_error() {
        let err = from_toml("interval = \"1s\"\nstart_dealy = \"1s\"").unwrap_err();
        assert!(
            err.starts_with("unknown field `start_dealy`, expected one of `interval`, "),
            "{err}"
        );
        let err = from_json(r#"{ "interval": "1s", "skip_missed_ticks": true }"#).unwrap_err();
        assert!(
            err.starts_with("unknown field `skip_missed_ticks`"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_value_is_an_error_naming_it_and_what_is_accepted() {
        let err = from_toml(r#"interval = "15m""#).unwrap_err();
        assert_eq!(err, "15m".parse::<HumanDuration>().unwrap_err().to_string());

        let err = from_json(r#"{ "interval": "1s", "policy": "skip-all" }"#).unwrap_err();
        let expected = "skip-all".parse::<BuiltinPolicy>().unwrap_err().to_string();
        assert!(err.starts_with(&expected), "{err}");

        // A number is not a duration: which unit would it be in?
        let err = from_json(r#"{ "interval": 250 }"#).unwrap_err();
        assert!(
            err.starts_with(
                r#"invalid type: integer `250`, expected a duration such as "250ms", "1.5s" or "15min""#
            ),
            "{err}"
        );
        let err = from_toml(
            r#"interval = "1s"
policy = 5"#,
        )
        .unwrap_err();
        assert!(
            err.contains("expected a missed-tick policy such as"),
            "{err}"
        );
    }

    /// Every value no timer can take is an error while deserializing, where it is written
    /// (TOML's line and column, JSON's line and column) and quoted as written.
    #[test]
    fn a_value_no_timer_can_take_is_an_error_at_its_line() {
        let toml_error = |text: &str| toml::from_str::<TimerConfig>(text).unwrap_err().to_string();
        let cases = [
            (
                "interval",
                r#""0ms""#,
                r#"interval "0ms" is shorter than the 1µs resolution of the timer"#,
            ),
            (
                "interval",
                r#""999ns""#,
                r#"interval "999ns" is shorter than the 1µs resolution of the timer"#,
            ),
            (
                "interval",
                r#""18446744073709551616us""#,
                r#"interval "18446744073709551616us" is longer than the longest supported interval of u64::MAX µs"#,
            ),
            (
                "start_delay",
                r#""18446744073709551616us""#,
                r#"start_delay "18446744073709551616us" is longer than the longest supported delay of u64::MAX µs"#,
            ),
            (
                "start_delay",
                r#""-5ms""#,
                r#"invalid duration "-5ms": it is negative, and negative durations are not allowed; expected a number and one unit out of ns, us or µs, ms, s, min, h, such as "250ms", "1.5s" or "15min""#,
            ),
        ];
        for (field, value, message) in cases {
            // The bad value on line 3, after a name and (but for itself) the interval.
            let interval = if field == "interval" {
                ""
            } else {
                "interval = \"1s\""
            };
            let toml = format!("name = \"pump-1\"\n{interval}\n{field} = {value}\n");
            let err = toml_error(&toml);
            let column = field.len() + 4;
            assert!(
                err.starts_with(&format!("TOML parse error at line 3, column {column}\n")),
                "{err}"
            );
            assert!(err.ends_with(&format!("{message}\n")), "{err}");

            let interval = if field == "interval" {
                ""
            } else {
                "\"interval\": \"1s\","
            };
            let json = format!("{{ \"name\": \"pump-1\",\n{interval}\n\"{field}\": {value} }}");
            let err = serde_json::from_str::<TimerConfig>(&json).unwrap_err();
            assert_eq!(err.line(), 3, "{json}");
            assert!(err.to_string().starts_with(message), "{err}");
        }

        // What this build's features cannot honour is an error at its line too.
        let cases = [
            (
                "warn_if_late = \"5ms\"",
                "tracing",
                cfg!(feature = "tracing"),
                16,
                "warn_if_late",
            ),
            (
                "precise = true",
                "precise",
                cfg!(feature = "precise"),
                11,
                "precise = true",
            ),
        ];
        for (line, feature, enabled, column, option) in cases {
            let toml = format!("interval = \"1s\"\n{line}\n");
            let parsed = toml::from_str::<TimerConfig>(&toml);
            if enabled {
                assert!(parsed.is_ok(), "{parsed:?}");
                continue;
            }
            let err = parsed.unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("TOML parse error at line 2, column {column}\n")),
                "{err}"
            );
            let message = format!(
                "{option} needs kadenz's cargo feature \"{feature}\", which this build does not enable\n"
            );
            assert!(err.ends_with(&message), "{err}");
        }
    }

    #[test]
    fn serialized_as_the_same_text() {
        let mut config = TimerConfig::new(ms(1_500));
        config.policy = SkipMissedAndDrift::new(ms(5)).into();
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            r#"{"interval":"1500ms","policy":"skip-missed-and-drift:5ms","start_delay":"0s","tick_at_start":false,"precise":false,"record_drift":false}"#
        );
        config.align_to_wall_clock = Some(Duration::from_secs(60));
        assert_eq!(
            toml::to_string(&config).unwrap(),
            "interval = \"1500ms\"\npolicy = \"skip-missed-and-drift:5ms\"\nstart_delay = \"0s\"\n\
             tick_at_start = false\nalign_to_wall_clock = \"1min\"\nprecise = false\n\
             record_drift = false\n"
        );
    }

    /// A configuration that deserializes: a valid interval and start delay, and only the
    /// options this build's features honour.
    fn timer_config() -> impl Strategy<Value = TimerConfig> {
        let micros = |d: &Duration| u64::try_from(d.as_micros()).is_ok();
        (
            duration().prop_filter("a valid interval", move |d| d.as_micros() > 0 && micros(d)),
            builtin_policy(),
            duration().prop_filter("a valid start delay", micros),
            any::<bool>(),
            prop::option::of(duration()),
            any::<bool>().prop_map(|precise| precise && cfg!(feature = "precise")),
            prop::option::of("[a-z0-9 _\\-\"']{0,12}"),
            prop::option::of(duration())
                .prop_map(|late| late.filter(|_| cfg!(feature = "tracing"))),
            (
                prop::option::of(duration()),
                prop::option::of(any::<u64>()),
                any::<bool>(),
            ),
        )
            .prop_map(
                |(interval, policy, delay, tick_at_start, align, precise, name, late, jitter)| {
                    let mut config = TimerConfig::new(interval);
                    (config.jitter, config.jitter_seed, config.record_drift) = jitter;
                    config.policy = policy;
                    config.start_delay = delay;
                    config.tick_at_start = tick_at_start;
                    config.align_to_wall_clock = align;
                    config.precise = precise;
                    config.name = name;
                    config.warn_if_late = late;
                    config
                },
            )
    }

    proptest! {
        #[test]
        fn a_serialized_config_deserializes_back(config in timer_config()) {
            let json = serde_json::to_string(&config).unwrap();
            prop_assert_eq!(from_json(&json), Ok(config.clone()), "{}", json);
            let toml = toml::to_string(&config).unwrap();
            prop_assert_eq!(from_toml(&toml), Ok(config.clone()), "{}", toml);
        }

        #[test]
        fn a_duration_and_a_policy_serialize_as_their_text(
            duration in duration(),
            policy in builtin_policy(),
        ) {
            let duration = HumanDuration(duration);
            prop_assert_eq!(serde_json::to_string(&duration).unwrap(), format!("\"{duration}\""));
            prop_assert_eq!(serde_json::from_str::<HumanDuration>(&format!("\"{duration}\"")).unwrap(), duration);
            prop_assert_eq!(serde_json::to_string(&policy).unwrap(), format!("\"{policy}\""));
            prop_assert_eq!(serde_json::from_str::<BuiltinPolicy>(&format!("\"{policy}\"")).unwrap(), policy);
        }
    }
}
