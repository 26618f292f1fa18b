//! A watchdog: a timeout timer that trips when a device stops sending data.
//!
//! A simulated device sends readings on a tokio `mpsc` channel at irregular intervals,
//! all shorter than the 300 ms watchdog, then goes quiet without hanging up. The main
//! loop is a `tokio::select!` over the channel and `Timer::timeout`: every reading resets
//! the watchdog, so it only trips once the device has been silent for a whole 300 ms. The
//! time since the last reset is `watchdog.interval() + tick.drift()`.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example timeout
//! ```

use std::time::Duration;

use kadenz::Timer;
use tokio::sync::mpsc;
use tokio::time::Instant;

const WATCHDOG: Duration = Duration::from_millis(300);

/// Pauses of the device before each reading: irregular, but all under the watchdog's
/// 300 ms, the longest one close to it.
const GAPS_MS: [u64; 7] = [40, 120, 15, 260, 80, 5, 190];

#[tokio::main]
async fn main() {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::channel::<f64>(8);

    tokio::spawn(async move {
        for (n, gap) in (0u8..).zip(GAPS_MS) {
            tokio::time::sleep(Duration::from_millis(gap)).await;
            let reading = 20.0 + f64::from(n) * 0.25;
            if tx.send(reading).await.is_err() {
                return;
            }
        }
        // A hung device keeps its connection open: the channel stays open, so only the
        // watchdog can notice that nothing arrives any more.
        std::future::pending::<()>().await;
    });

    let mut watchdog = Timer::timeout(WATCHDOG);
    // Silence before the first reading counts too: the watchdog runs from the start.
    let mut last_reading = start;
    println!(
        "watchdog: trips after {} ms without data",
        WATCHDOG.as_millis()
    );
    loop {
        tokio::select! {
            reading = rx.recv() => {
                let Some(reading) = reading else {
                    println!("the device hung up");
                    break;
                };
                let now = Instant::now();
                println!(
                    "{:>5} ms  reading {reading:.2} °C after {:>3} ms of silence: watchdog reset",
                    (now - start).as_millis(),
                    (now - last_reading).as_millis(),
                );
                last_reading = now;
                watchdog.reset();
            }
            Some(tick) = watchdog.tick() => {
                println!(
                    "{:>5} ms  WATCHDOG: no data for {:.1} ms, giving up",
                    (tick.fired_at() - start).as_millis(),
                    (watchdog.interval() + tick.drift()).as_secs_f64() * 1e3,
                );
                break;
            }
        }
    }
}
