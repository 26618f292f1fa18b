//! The timelines of `docs/`: each built-in policy run through the same scripted stall
//! under tokio's paused clock, drawn as SVG from what the timer delivered.
//!
//! Shared by `examples/timeline/main.rs`, which writes the files, and `tests/timeline.rs`,
//! which checks that the committed files are what this code generates now. Everything
//! is integers and fixed text, so the output is the same byte for byte on every machine.

use std::fmt::Write as _;
use std::time::Duration;

use kadenz::policy::{BuiltinPolicy, SkipMissedAndDrift, TriggerMissedUpTo};
use kadenz::{Tick, Timer, TimerConfig};
use tokio::time::{advance, Instant};

/// The interval of every run.
const INTERVAL: Duration = Duration::from_secs(1);

/// When the receiver is ready for ticks, in milliseconds after the start: at 0, then
/// after being busy until each of these times; from the last one on it waits for each
/// tick. The receiver of the policy documentation and of frequenz-channels' diagrams.
const READY_MS: &[u64] = &[0, 1_200, 2_300, 4_300, 5_100];

/// The receiver of bounded catch-up: one long stall, from 1.2 s to 5.3 s, so that more
/// due times are missed than the policy replays.
const LONG_STALL_MS: &[u64] = &[0, 1_200, 5_300];

/// The end of the run and of the time axis, in milliseconds.
const END_MS: u64 = 7_000;

/// The reference file that gives rustdoc the pictures as `data:` URIs (included by `src/policy.rs`).
pub const REFERENCES: &str = "docs/timelines.md";

/// One file of `docs/`, by its path from the root of the repository.
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// A built-in policy and how its picture names it.
struct Scenario {
    /// The file and reference name: `docs/timeline-{slug}.svg`, `[timeline-{slug}]`.
    slug: &'static str,
    title: &'static str,
    policy: BuiltinPolicy,
    /// When the receiver is ready for ticks, as [`READY_MS`].
    ready_ms: &'static [u64],
}

fn scenarios() -> [Scenario; 4] {
    [
        Scenario {
            slug: "trigger-all-missed",
            title: "TriggerAllMissed",
            policy: BuiltinPolicy::TriggerAllMissed,
            ready_ms: READY_MS,
        },
        Scenario {
            slug: "skip-missed-and-resync",
            title: "SkipMissedAndResync",
            policy: BuiltinPolicy::SkipMissedAndResync,
            ready_ms: READY_MS,
        },
        Scenario {
            slug: "skip-missed-and-drift",
            title: "SkipMissedAndDrift, delay tolerance 0.1 s",
            policy: SkipMissedAndDrift::new(Duration::from_millis(100)).into(),
            ready_ms: READY_MS,
        },
        Scenario {
            slug: "trigger-missed-up-to",
            title: "TriggerMissedUpTo, max 2",
            policy: TriggerMissedUpTo::new(2).into(),
            ready_ms: LONG_STALL_MS,
        },
    ]
}

/// A delivered tick, in microseconds since the start.
struct Delivered {
    due: u64,
    fired: u64,
    /// The due times the policy dropped after this tick.
    skipped: Vec<u64>,
}

fn micros_since(start: Instant, at: Instant) -> u64 {
    u64::try_from((at - start).as_micros()).expect("a run lasts seconds")
}

fn delivered(start: Instant, tick: Tick) -> Delivered {
    let due = micros_since(start, tick.scheduled());
    let interval = u64::try_from(INTERVAL.as_micros()).expect("one second");
    Delivered {
        due,
        fired: micros_since(start, tick.fired_at()),
        skipped: (1..=tick.skipped()).map(|k| due + k * interval).collect(),
    }
}

/// Runs a timer with `policy` (first tick at the start, then every second) against the
/// scripted receiver. Needs a current-thread runtime whose clock is paused.
async fn run(policy: BuiltinPolicy, ready_ms: &[u64]) -> Vec<Delivered> {
    let mut config = TimerConfig::new(INTERVAL);
    config.policy = policy;
    config.tick_at_start = true;
    let start = Instant::now();
    let mut timer = config.build().expect("a valid configuration, in a runtime");
    let mut ticks = Vec::new();
    for &ready in ready_ms {
        let at = start + Duration::from_millis(ready);
        advance(at.saturating_duration_since(Instant::now())).await;
        // Busy until now: receive every tick that has come due meanwhile.
        while timer.deadline().is_some_and(|due| due <= at) {
            ticks.push(delivered(start, received(&mut timer).await));
        }
    }
    let end = start + Duration::from_millis(END_MS);
    while timer.deadline().is_some_and(|due| due <= end) {
        ticks.push(delivered(start, received(&mut timer).await));
    }
    ticks
}

async fn received(timer: &mut Timer) -> Tick {
    timer.tick().await.expect("a running timer ticks")
}

/// Every file of `docs/` that this generates: one SVG per policy and the references
/// for rustdoc. Needs a current-thread runtime whose clock is paused.
pub async fn generate() -> Vec<GeneratedFile> {
    let mut files = Vec::new();
    let mut references = String::from(
        "[//]: # \"Generated by `cargo run --example timeline`: the timelines as data URIs, \
         for rustdoc (src/policy.rs). Do not edit.\"\n",
    );
    for scenario in scenarios() {
        let ticks = run(scenario.policy, scenario.ready_ms).await;
        let svg = render(scenario.title, scenario.ready_ms, &ticks);
        let _ = writeln!(
            references,
            "[timeline-{}]: data:image/svg+xml;base64,{}",
            scenario.slug,
            base64(svg.as_bytes())
        );
        files.push(GeneratedFile {
            path: format!("docs/timeline-{}.svg", scenario.slug),
            contents: svg,
        });
    }
    files.push(GeneratedFile {
        path: REFERENCES.to_string(),
        contents: references,
    });
    files
}

// --- drawing -------------------------------------------------------------------------

const WIDTH: u64 = 900;
const HEIGHT: u64 = 262;
/// Where time 0 is, and pixels per second.
const AXIS_X: u64 = 110;
const PX_PER_S: u64 = 100;
const DUE_Y: u64 = 78;
const DELIVERED_Y: u64 = 128;
/// How far apart the ticks of one burst are stacked.
const STACK_Y: u64 = 22;
const RECEIVER_Y: u64 = 186;
const AXIS_Y: u64 = 214;
const DUE_COLOUR: &str = "#424242";
const DELIVERED_COLOUR: &str = "#1565c0";
const SKIPPED_COLOUR: &str = "#c62828";
const BUSY_COLOUR: &str = "#bdbdbd";

/// The x of a time in microseconds (the times drawn are whole multiples of 10 ms).
fn x(us: u64) -> u64 {
    AXIS_X + us * PX_PER_S / 1_000_000
}

/// Microseconds as seconds, with as many decimals as needed: "1.3", "0", "4.25".
fn seconds(us: u64) -> String {
    let whole = us / 1_000_000;
    let fraction = us % 1_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

fn render(title: &str, ready_ms: &[u64], ticks: &[Delivered]) -> String {
    let mut svg = String::new();
    let mut line = |text: String| {
        svg.push_str(&text);
        svg.push('\n');
    };
    let ready: Vec<String> = ready_ms[1..]
        .iter()
        .map(|&ms| seconds(ms * 1_000))
        .collect();
    let (busy, last) = ready.split_at(ready.len() - 1);
    let script = format!(
        "interval 1 s; first tick due at 0 s; the receiver is busy until {} and {} s, then waits for each tick",
        busy.join(", "),
        last[0]
    );
    line(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    ));
    line(format!("<title>{title}: {script}</title>"));
    line(format!(
        "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>"
    ));
    line(format!(
        "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{title}</text>"
    ));
    line(format!(
        "<text x=\"20\" y=\"42\" fill=\"#555555\">{script}</text>"
    ));
    for (label, y) in [
        ("due", DUE_Y),
        ("delivered", DELIVERED_Y),
        ("receiver", RECEIVER_Y),
    ] {
        line(format!(
            "<text x=\"20\" y=\"{}\" font-weight=\"bold\">{label}</text>",
            y + 4
        ));
    }

    // The time axis, with a faint line up through the rows at every second.
    let end = x(END_MS * 1_000);
    line(format!(
        "<line x1=\"{AXIS_X}\" y1=\"{AXIS_Y}\" x2=\"{end}\" y2=\"{AXIS_Y}\" stroke=\"{DUE_COLOUR}\"/>"
    ));
    for second in 0..=END_MS / 1_000 {
        let at = x(second * 1_000_000);
        line(format!(
            "<line x1=\"{at}\" y1=\"60\" x2=\"{at}\" y2=\"{AXIS_Y}\" stroke=\"#e0e0e0\"/>"
        ));
        line(format!(
            "<line x1=\"{at}\" y1=\"{AXIS_Y}\" x2=\"{at}\" y2=\"{}\" stroke=\"{DUE_COLOUR}\"/>",
            AXIS_Y + 5
        ));
        line(format!(
            "<text x=\"{at}\" y=\"{}\" text-anchor=\"middle\">{second} s</text>",
            AXIS_Y + 19
        ));
    }

    // The receiver: busy from each time it was ready to the next.
    for pair in ready_ms.windows(2) {
        let (from, to) = (x(pair[0] * 1_000) + 2, x(pair[1] * 1_000) - 2);
        line(format!(
            "<rect x=\"{from}\" y=\"{}\" width=\"{}\" height=\"12\" fill=\"{BUSY_COLOUR}\"/>",
            RECEIVER_Y - 6,
            to - from
        ));
    }

    // Due times, the lateness of each delivered tick, and the delivered ticks, stacked
    // where a burst delivers several at the same instant.
    // Ticks are numbered by their due times, skipped ones included: T4 skipped, T5 next.
    let mut n = 0;
    let mut previous_fired = None;
    let mut stacked = 0;
    for tick in ticks {
        stacked = if previous_fired == Some(tick.fired) {
            stacked + 1
        } else {
            0
        };
        previous_fired = Some(tick.fired);
        let (due, fired) = (x(tick.due), x(tick.fired));
        let y = DELIVERED_Y + stacked * STACK_Y;
        line(format!(
            "<line x1=\"{due}\" y1=\"{}\" x2=\"{fired}\" y2=\"{}\" stroke=\"{DELIVERED_COLOUR}\" \
             stroke-dasharray=\"3 3\"/>",
            DUE_Y + 5,
            y - 5
        ));
        line(format!(
            "<circle cx=\"{due}\" cy=\"{DUE_Y}\" r=\"5\" fill=\"#ffffff\" stroke=\"{DUE_COLOUR}\" \
             stroke-width=\"1.5\"/>"
        ));
        line(format!(
            "<text x=\"{due}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">T{n}</text>",
            DUE_Y - 10
        ));
        line(format!(
            "<circle cx=\"{fired}\" cy=\"{y}\" r=\"5\" fill=\"{DELIVERED_COLOUR}\"/>"
        ));
        line(format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{DELIVERED_COLOUR}\">T{n} +{} s</text>",
            fired + 9,
            y + 4,
            seconds(tick.fired - tick.due)
        ));
        for &skipped in &tick.skipped {
            n += 1;
            let at = x(skipped);
            line(format!(
                "<path d=\"M{} {} l10 10 m0 -10 l-10 10\" stroke=\"{SKIPPED_COLOUR}\" \
                 stroke-width=\"2\"/>",
                at - 5,
                DUE_Y - 5
            ));
            line(format!(
                "<text x=\"{at}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" \
                 fill=\"{SKIPPED_COLOUR}\">T{n}</text>",
                DUE_Y - 10
            ));
        }
        n += 1;
    }

    // The legend.
    let y = HEIGHT - 12;
    line(format!(
        "<circle cx=\"26\" cy=\"{}\" r=\"5\" fill=\"#ffffff\" stroke=\"{DUE_COLOUR}\" \
         stroke-width=\"1.5\"/>",
        y - 4
    ));
    line(format!("<text x=\"36\" y=\"{y}\">due</text>"));
    line(format!(
        "<circle cx=\"86\" cy=\"{}\" r=\"5\" fill=\"{DELIVERED_COLOUR}\"/>",
        y - 4
    ));
    line(format!(
        "<text x=\"96\" y=\"{y}\">delivered, with its drift (dashed: from its due time)</text>"
    ));
    line(format!(
        "<path d=\"M441 {} l10 10 m0 -10 l-10 10\" stroke=\"{SKIPPED_COLOUR}\" stroke-width=\"2\"/>",
        y - 9
    ));
    line(format!("<text x=\"458\" y=\"{y}\">skipped due time</text>"));
    line(format!(
        "<rect x=\"590\" y=\"{}\" width=\"24\" height=\"12\" fill=\"{BUSY_COLOUR}\"/>",
        y - 10
    ));
    line(format!(
        "<text x=\"620\" y=\"{y}\">receiver busy (not asking for ticks)</text>"
    ));
    line("</svg>".to_string());
    svg
}

/// Standard base64 with padding (RFC 4648), for the `data:` URIs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity((bytes.len() + 2) / 3 * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let group = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (group >> (18 - 6 * i)) & 0x3f;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (text, encoded) in cases {
            assert_eq!(base64(text.as_bytes()), encoded);
        }
    }

    #[test]
    fn seconds_have_the_decimals_they_need() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1_300_000), "1.3");
        assert_eq!(seconds(4_250_000), "4.25");
        assert_eq!(seconds(6_000_000), "6");
    }
}
