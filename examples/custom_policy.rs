//! Writing your own missed-tick policy.
//!
//! A policy answers one question: a tick that was due at `scheduled` is being delivered at
//! `now`; when is the next one due? All three inputs and the answer are integer
//! microseconds on the timer's own time line. This example runs three policies:
//!
//! 1. `WaitOneMoreSecond`, exactly as the frequenz-channels documentation defines it:
//!    `next = scheduled + interval + 1 s`. Its description talks about missed ticks, but
//!    its code adds the second after *every* tick, so the period becomes interval + 1 s
//!    (the first tick is still one plain interval after the start: the policy is only
//!    asked after a tick). A 50 ms interval keeps the run short.
//!
//! 2. `CappedBackoff`, for a Modbus poll loop: when a poll hangs (a device busy or
//!    rebooting), `TriggerAllMissed` would fire every missed poll at once, hammering the
//!    device just as it recovers. This policy instead backs off after a late tick, longer
//!    the later it was, up to a cap, and stays on the normal schedule otherwise. See its
//!    documentation below for the exact rule.
//!
//! 3. `BoundedCatchUp`, for a counter that should make up for a short stall but not flood
//!    its receiver after a long one: it replays at most `N` of the missed ticks (the
//!    latest), drops the older ones, and stays on the original grid. `N = 0` is
//!    `SkipMissedAndResync`, no bound is `TriggerAllMissed` (the guide's "Choosing a
//!    policy", `kadenz::guide::policies`, has it too, tested under the paused clock).
//!
//! Run it with:
//!
//! ```text
//! cargo run --example custom_policy
//! ```

use std::time::Duration;

use kadenz::policy::MissedTickPolicy;
use kadenz::Timer;

/// The custom policy of the frequenz-channels documentation, to the letter.
#[derive(Debug, Clone, Copy, Default)]
struct WaitOneMoreSecond;

impl MissedTickPolicy for WaitOneMoreSecond {
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, _now: u64) -> u64 {
        // Saturating, because a policy must not panic or wrap near the end of the time line.
        scheduled_tick_time
            .saturating_add(interval)
            .saturating_add(1_000_000)
    }
}

/// Backs off after a late tick, in doublings of the interval, up to a cap.
///
/// With `late = now - scheduled` and `missed = late / interval` (how many more ticks fell
/// due while this one waited):
///
/// | `missed` | next tick due at                          |
/// |----------|-------------------------------------------|
/// | 0        | `scheduled + interval` (normal schedule)  |
/// | 1        | `now + min(2 × interval, cap)`            |
/// | 2..=3    | `now + min(4 × interval, cap)`            |
/// | 4..=7    | `now + min(8 × interval, cap)`            |
/// | 2ᵏ⁻¹..2ᵏ | `now + min(2ᵏ × interval, cap)`           |
///
/// Missed ticks are never fired: a late tick is followed by a pause, not a burst.
///
/// A policy is called through `&self` and must be `Send + Sync`, so it has no memory of
/// its own. A rule that doubles the gap on each *consecutive* late tick would need one
/// (say an `AtomicU64` holding the current gap), and the timer never tells its policy
/// about a reset, so that memory could go stale. This rule needs none: the lateness of
/// the tick says how long the poll hung, and the pause doubles each time that doubles.
#[derive(Debug, Clone, Copy)]
struct CappedBackoff {
    cap_us: u64,
}

impl CappedBackoff {
    fn new(cap: Duration) -> Self {
        let cap_us = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX);
        Self { cap_us }
    }
}

impl MissedTickPolicy for CappedBackoff {
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        let missed = now.saturating_sub(scheduled_tick_time) / interval.max(1);
        if missed == 0 {
            return scheduled_tick_time.saturating_add(interval);
        }
        let doublings = u64::BITS - missed.leading_zeros();
        // A cap under the interval would poll faster after a stall than before it.
        let cap = self.cap_us.max(interval);
        let gap = interval
            .saturating_mul(2u64.saturating_pow(doublings))
            .min(cap);
        now.saturating_add(gap)
    }
}

/// Replays at most `max_replayed` of the due times missed in a stall (the latest ones),
/// drops the older ones, and stays on the original grid.
///
/// When a tick is received, `missed = (now - scheduled) / interval` due times have come
/// since it was due. The next tick is the first of the last `max_replayed` of them (or the
/// next due time, if there are no more than that): `scheduled + (dropped + 1) × interval`
/// with `dropped = missed - max_replayed` (0 if negative). A replayed tick then finds
/// fewer than `max_replayed` due times come since it and drops none, so a burst is at most
/// `max_replayed` ticks after the late one; no memory is needed.
#[derive(Debug, Clone, Copy)]
struct BoundedCatchUp {
    max_replayed: u64,
}

impl MissedTickPolicy for BoundedCatchUp {
    fn calculate_next_tick_time(&self, interval: u64, scheduled_tick_time: u64, now: u64) -> u64 {
        let missed = now.saturating_sub(scheduled_tick_time) / interval.max(1);
        let dropped = missed.saturating_sub(self.max_replayed);
        let jump = interval.saturating_mul(dropped.saturating_add(1));
        scheduled_tick_time.saturating_add(jump)
    }
}

#[tokio::main]
async fn main() {
    wait_one_more_second().await;
    println!();
    capped_backoff().await;
    println!();
    bounded_catch_up().await;
}

async fn wait_one_more_second() {
    const INTERVAL: Duration = Duration::from_millis(50);

    println!(
        "== WaitOneMoreSecond, interval {} ms ==",
        INTERVAL.as_millis()
    );
    let mut timer = Timer::new(INTERVAL, WaitOneMoreSecond);
    let start = timer.deadline().expect("a new timer is running") - timer.interval();
    let mut previous_due = Duration::ZERO;
    println!("tick   due at   since previous     drift");
    for n in 1..=3 {
        let tick = timer.tick().await.expect("the timer is never stopped");
        let due = tick.scheduled() - start;
        println!(
            "{n:>4} {:>6} ms {:>11} ms {:>6} µs",
            due.as_millis(),
            (due - previous_due).as_millis(),
            tick.drift().as_micros(),
        );
        previous_due = due;
    }
}

async fn capped_backoff() {
    const INTERVAL: Duration = Duration::from_millis(50);
    const CAP: Duration = Duration::from_millis(300);
    // How long each poll takes to answer: mostly quick, once slow, once very slow.
    const POLL_MS: [u64; 10] = [5, 5, 130, 5, 5, 5, 400, 5, 5, 5];

    println!(
        "== CappedBackoff, interval {} ms, cap {} ms: a Modbus poll loop ==",
        INTERVAL.as_millis(),
        CAP.as_millis()
    );
    let mut timer = Timer::new(INTERVAL, CappedBackoff::new(CAP));
    let start = timer.deadline().expect("a new timer is running") - timer.interval();
    let mut most_missed = 0;
    println!("poll   due at      drift   poll took   next poll in");
    for (n, poll_ms) in (1..).zip(POLL_MS) {
        let tick = timer.tick().await.expect("the timer is never stopped");
        // The policy has already answered, so the deadline is the next tick.
        let next = timer.deadline().expect("the timer is never stopped") - tick.fired_at();
        let missed = tick.drift().as_micros() / INTERVAL.as_micros();
        let note = if missed > 0 {
            most_missed = most_missed.max(missed);
            format!("  <- {missed} missed: back off")
        } else {
            String::new()
        };
        println!(
            "{n:>4} {:>6} ms {:>7} µs {:>8} ms {:>11.1} ms{note}",
            (tick.scheduled() - start).as_millis(),
            tick.drift().as_micros(),
            poll_ms,
            next.as_secs_f64() * 1e3,
        );
        // The poll is awaited in the loop, as a real Modbus request would be, so a slow
        // answer makes the next tick late.
        tokio::time::sleep(Duration::from_millis(poll_ms)).await;
    }
    println!(
        "With TriggerAllMissed, the longest hang would have been followed by a burst of \
         {} polls.",
        most_missed + 1
    );
}

async fn bounded_catch_up() {
    const INTERVAL: Duration = Duration::from_millis(50);
    const MAX_REPLAYED: u64 = 2;
    // Mostly quick work, once a stall of 7 intervals and more.
    const WORK_MS: [u64; 8] = [5, 5, 370, 5, 5, 5, 5, 5];

    println!(
        "== BoundedCatchUp, interval {} ms, at most {MAX_REPLAYED} replayed ticks ==",
        INTERVAL.as_millis()
    );
    let mut timer = Timer::new(
        INTERVAL,
        BoundedCatchUp {
            max_replayed: MAX_REPLAYED,
        },
    );
    let start = timer.deadline().expect("a new timer is running") - timer.interval();
    println!("tick   due at   fired at      drift   skipped");
    for (n, work_ms) in (1..).zip(WORK_MS) {
        let tick = timer.tick().await.expect("the timer is never stopped");
        println!(
            "{n:>4} {:>6} ms {:>7} ms {:>7} µs {:>9}",
            (tick.scheduled() - start).as_millis(),
            (tick.fired_at() - start).as_millis(),
            tick.drift().as_micros(),
            tick.skipped(),
        );
        tokio::time::sleep(Duration::from_millis(work_ms)).await;
    }
    println!(
        "After the stall: the late tick, at most {MAX_REPLAYED} replayed at once, then the \
         grid; TriggerAllMissed would have replayed every missed one."
    );
}
