//! One task polls 300 simulated field devices, each on its own period, and watches each
//! with a watchdog: two `TimerSet`s and one `select!`.
//!
//! - `polls`: a periodic entry per device (100 ms to 1 s), `SkipMissedAndResync`: after a
//!   stall a device is polled once, on its grid, not once per missed period (what a
//!   Modbus line wants: no burst of requests after a hiccup).
//! - `watchdogs`: a timeout entry per device (three periods), reset by each reply. When
//!   one trips, the device is marked offline and polled four times slower; its next reply
//!   brings the normal period back (`set_interval`, which keeps the polling phase).
//!
//! Devices answer after 2–30 ms; every 25th one goes silent after one second, and comes
//! back after two. The run lasts three seconds of real time and prints a summary.
//!
//! ```text
//! cargo run --example devices
//! ```

use std::collections::HashSet;
use std::time::Duration;

use kadenz::policy::{SkipMissedAndDrift, SkipMissedAndResync};
use kadenz::{Timer, TimerSet};
use tokio::sync::mpsc;
use tokio::time::Instant;

const DEVICES: u32 = 300;
const RUN_FOR: Duration = Duration::from_secs(3);
const BACK_OFF: u32 = 4;

/// A device's polling period: 100 ms to 1 s, spread over the devices.
fn period(device: u32) -> Duration {
    Duration::from_millis(100 + u64::from(device * 37 % 10) * 100)
}

/// Whether the device answers at `elapsed` since the start: every 25th device is silent
/// from 1 s to 2 s.
fn answers(device: u32, elapsed: Duration) -> bool {
    device % 25 != 0 || elapsed < Duration::from_secs(1) || elapsed >= Duration::from_secs(2)
}

/// A small deterministic generator for response times (no dependency needed).
fn latency(device: u32, poll: u64) -> Duration {
    let mut x = u64::from(device) << 32 | poll;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    Duration::from_millis(2 + x % 29)
}

#[tokio::main]
async fn main() -> Result<(), kadenz::Error> {
    let start = Instant::now();
    let mut polls = TimerSet::new();
    let mut watchdogs = TimerSet::new();
    for device in 0..DEVICES {
        let poll = Timer::builder(period(device)).missed_tick_policy(SkipMissedAndResync);
        polls.insert(device, poll)?;
        let watchdog =
            Timer::builder(period(device) * 3).missed_tick_policy(SkipMissedAndDrift::default());
        watchdogs.insert(device, watchdog)?;
    }

    let (reply_tx, mut replies) = mpsc::unbounded_channel::<u32>();
    let mut sent = 0u64;
    let mut answered = 0u64;
    let mut trips = 0u64;
    let mut offline: HashSet<u32> = HashSet::new();
    let mut ever_offline: HashSet<u32> = HashSet::new();
    let end = tokio::time::sleep(RUN_FOR);
    tokio::pin!(end);

    loop {
        tokio::select! {
            biased;
            () = &mut end => break,
            Some(device) = replies.recv() => {
                answered += 1;
                watchdogs.reset(&device);
                if offline.remove(&device) {
                    println!("{:>5} ms  device {device:>3} back online", start.elapsed().as_millis());
                    polls.set_interval(&device, period(device))?;
                }
            }
            (device, _tick) = watchdogs.next() => {
                trips += 1;
                if offline.insert(device) {
                    ever_offline.insert(device);
                    println!(
                        "{:>5} ms  device {device:>3} silent for {} ms: offline, polled {BACK_OFF}x slower",
                        start.elapsed().as_millis(),
                        (period(device) * 3).as_millis(),
                    );
                    polls.set_interval(&device, period(device) * BACK_OFF)?;
                }
            }
            (device, _tick) = polls.next() => {
                sent += 1;
                // The request: a device answers after its response time, or not at all.
                let reply = reply_tx.clone();
                let wait = latency(device, sent);
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    if answers(device, start.elapsed()) {
                        let _ = reply.send(device);
                    }
                });
            }
        }
    }

    let stats = polls.stats();
    println!();
    println!("summary after {:?}:", RUN_FOR);
    println!("  devices: {DEVICES}, periods 100 ms to 1 s");
    println!("  polls sent: {sent}, replies: {answered}");
    println!("  polls skipped (SkipMissedAndResync): {}", stats.skipped());
    println!("  largest poll lateness: {:?}", stats.max_drift());
    println!(
        "  watchdog trips: {trips}, devices that went offline: {}, still offline: {}",
        ever_offline.len(),
        offline.len()
    );
    println!(
        "  timer memory: {} bytes for {} entries in two sets",
        polls.memory() + watchdogs.memory(),
        polls.len() + watchdogs.len()
    );
    Ok(())
}
