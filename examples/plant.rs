//! A small plant-floor program: three device readers kick one watchdog through handles, a
//! configuration task changes the polling period while it runs, and a heartbeat ticks on
//! every whole second of the wall clock. Runs for about three seconds.
//!
//! ```text
//! cargo run --example plant
//! ```

use std::time::Duration;

use kadenz::Timer;
use tokio::time::{sleep, Instant};

#[tokio::main]
async fn main() -> Result<(), kadenz::Error> {
    let start = Instant::now();
    let at = move || start.elapsed().as_secs_f64();

    // Polling: skip missed polls rather than hammering the device after a stall, and
    // let a configuration task change the period (the phase is kept).
    let mut poll = Timer::builder(Duration::from_millis(250))
        .skip_missed_ticks(true)
        .tick_at_start(true)
        .build()?;
    let config = poll.handle();
    tokio::spawn(async move {
        sleep(Duration::from_millis(1_100)).await;
        println!("{:6.3} s  config: polling period 250 ms -> 100 ms", at());
        config.set_interval(Duration::from_millis(100)).unwrap();
    });

    // The watchdog: tripped when none of the three readers reported for 300 ms. The
    // readers go quiet one after the other.
    let mut watchdog = Timer::timeout(Duration::from_millis(300));
    for reader in 0..3u64 {
        let kick = watchdog.handle();
        tokio::spawn(async move {
            let quiet_at = Duration::from_millis(800 + reader * 400);
            while start.elapsed() < quiet_at {
                sleep(Duration::from_millis(50 + reader * 20)).await;
                kick.reset();
            }
            println!("{:6.3} s  reader {reader} goes quiet", at());
        });
    }

    // The heartbeat: on every whole second of the wall clock.
    let mut heartbeat = Timer::builder(Duration::from_secs(1))
        .align_to_wall_clock(Duration::ZERO)
        .build()?;

    let end = sleep(Duration::from_secs(3));
    tokio::pin!(end);
    let mut polls = 0;
    loop {
        tokio::select! {
            biased;
            _ = &mut end => break,
            Some(tick) = watchdog.tick() => {
                println!(
                    "{:6.3} s  watchdog: no reading for {:?}",
                    at(),
                    watchdog.interval() + tick.drift()
                );
                watchdog.stop(); // report once; a reading would reset it
            }
            Some(_) = heartbeat.tick() => println!("{:6.3} s  heartbeat", at()),
            Some(tick) = poll.tick() => {
                polls += 1;
                if tick.skipped() > 0 {
                    println!("{:6.3} s  poll: {} polls skipped", at(), tick.skipped());
                }
            }
        }
    }

    let stats = poll.stats();
    println!(
        "polled {polls} times ({} delivered, {} skipped, largest drift {:?})",
        stats.delivered(),
        stats.skipped(),
        stats.max_drift()
    );
    Ok(())
}
