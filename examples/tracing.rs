//! The events of the `tracing` feature, printed by tracing-subscriber's formatter, and
//! what a timer's `Debug` output says.
//!
//! Three named timers run for 600 ms in one task: a 50 ms control loop that warns about
//! ticks more than 5 ms late, a 20 ms poller that skips the ticks it missed, and a 100 ms
//! watchdog that another task kicks through a `TimerHandle` four times, then stops once
//! it tripped. At about 300 ms the task blocks its thread for 80 ms, standing in for a
//! slow step:
//!
//! - the control loop's next ticks are late: `WARN ... tick later than its threshold`;
//! - the poller drops the due times it missed: `INFO ... ticks skipped`;
//! - each kick and the stop: `DEBUG ... command from a handle`.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example tracing --features tracing
//! ```

use std::time::Duration;

use kadenz::policy::SkipMissedAndDrift;
use kadenz::{Error, Timer};
use tokio::time::{sleep, sleep_until, Instant};

const RUN_FOR: Duration = Duration::from_millis(600);
const BUSY_AT: Duration = Duration::from_millis(300);
const BUSY_FOR: Duration = Duration::from_millis(80);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Every event of kadenz (target `kadenz`) down to DEBUG, as plain text on stdout.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .init();

    let mut control = Timer::builder(Duration::from_millis(50))
        .name("control loop")
        .warn_if_late(Duration::from_millis(5))
        .build()?;
    let mut poll = Timer::builder(Duration::from_millis(20))
        .name("poll")
        .skip_missed_ticks(true)
        .build()?;
    let mut watchdog = Timer::builder(Duration::from_millis(100))
        .name("watchdog")
        .missed_tick_policy(SkipMissedAndDrift::default())
        .build()?;
    println!("{control:?}");
    println!("{poll:?}");

    let kick = watchdog.handle();
    println!("{kick:?}");
    let kicker = tokio::spawn(async move {
        for _ in 0..4 {
            sleep(Duration::from_millis(40)).await;
            kick.reset(); // a reading arrived
        }
        // The device goes quiet: the watchdog trips 100 ms after the last kick, and is
        // stopped 30 ms later.
        sleep(Duration::from_millis(130)).await;
        kick.stop();
    });

    let start = Instant::now();
    let end = sleep_until(start + RUN_FOR);
    tokio::pin!(end);
    let mut busy = false;
    loop {
        tokio::select! {
            Some(_) = control.tick() => {
                if !busy && start.elapsed() >= BUSY_AT {
                    busy = true;
                    println!("-- the control loop blocks its thread for {BUSY_FOR:?}");
                    std::thread::sleep(BUSY_FOR);
                }
            }
            Some(_) = poll.tick() => {}
            Some(tick) = watchdog.tick() => {
                println!("-- watchdog tripped, {:?} late", tick.drift());
            }
            () = &mut end => break,
        }
    }
    kicker.await.expect("the kicker task does not panic");

    println!("{control:#?}");
    println!("{watchdog:?}");
    Ok(())
}
