//! A periodic timer, and what it does when the program falls behind.
//!
//! Runs the same loop twice with a 200 ms timer and prints every tick: when it was due
//! (as an offset from the timer's start), when it actually fired, and its drift (how late
//! it fired, in microseconds). After the third tick the loop blocks its thread for 2.5
//! intervals, standing in for a program that is busy, so that two ticks are missed:
//!
//! - `Timer::periodic` uses `TriggerAllMissed`: the missed ticks fire at once, in a burst
//!   with a shrinking drift, and the timer is back on its original schedule;
//! - `Timer::builder(..).skip_missed_ticks(true)` uses `SkipMissedAndResync`: one late tick
//!   fires, the missed ones are dropped, and the next tick is on the original grid.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example periodic
//! ```

use std::time::Duration;

use kadenz::Timer;

const INTERVAL: Duration = Duration::from_millis(200);
const TICKS: u32 = 8;
const BUSY_AFTER_TICK: u32 = 3;
const BUSY_FOR: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() {
    println!("== Timer::periodic: every missed tick fires (TriggerAllMissed) ==");
    show_ticks(Timer::periodic(INTERVAL)).await;

    println!();
    println!("== skip_missed_ticks(true): missed ticks are dropped (SkipMissedAndResync) ==");
    let timer = Timer::builder(INTERVAL)
        .skip_missed_ticks(true)
        .build()
        .expect("a 200 ms interval is valid and we are inside a runtime");
    show_ticks(timer).await;

    println!();
    println!("Even on-time ticks show a drift of about 1 ms: tokio's timer has a resolution");
    println!("of 1 ms, and the operating system wakes the thread up a little late.");
}

async fn show_ticks(mut timer: Timer) {
    // The timer's first tick is due one interval after its start, so this is its start
    // to the microsecond, which an `Instant::now()` taken before building would not be.
    let start = timer.deadline().expect("a freshly built timer is running") - timer.interval();
    let mut previous: Option<(Duration, Duration)> = None;

    println!("tick    due at    fired at      drift");
    for n in 1..=TICKS {
        let tick = timer.tick().await.expect("the timer is never stopped");
        let due = tick.scheduled() - start;
        let fired = tick.fired_at() - start;

        let mut note = "";
        if let Some((previous_due, previous_fired)) = previous {
            let mut skipped = previous_due + INTERVAL;
            while skipped < due {
                println!("     {:>6} ms  skipped", skipped.as_millis());
                skipped += INTERVAL;
            }
            if fired - previous_fired < Duration::from_millis(5) {
                note = "  <- at once: catch-up burst";
            } else if tick.drift() > INTERVAL / 10 {
                note = "  <- late: the task was busy";
            }
        }
        previous = Some((due, fired));

        println!(
            "{n:>4} {:>6} ms {:>8.1} ms {:>7} µs{note}",
            due.as_millis(),
            fired.as_secs_f64() * 1e3,
            tick.drift().as_micros(),
        );

        if n == BUSY_AFTER_TICK {
            println!(
                "        (busy for {} ms: blocking the thread so the timer misses ticks)",
                BUSY_FOR.as_millis()
            );
            // Deliberately blocking, never do this in real async code: it stands in for a
            // long computation that keeps this task from receiving its ticks on time.
            std::thread::sleep(BUSY_FOR);
        }
    }
}
