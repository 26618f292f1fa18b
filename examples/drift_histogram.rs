//! A timer that keeps a histogram of its ticks' drifts (`TimerBuilder::record_drift`),
//! and what it shows: a 10 ms loop whose work sometimes takes longer than the interval.
//!
//! ```text
//! cargo run --example drift_histogram
//! ```
//!
//! It prints p50, p90, p99 and the largest drift, then the non-empty buckets, as a
//! metrics exporter would read them (`DriftHistogram::buckets`).

use std::time::Duration;

use kadenz::policy::SkipMissedAndResync;
use kadenz::Timer;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut timer = Timer::builder(Duration::from_millis(10))
        .missed_tick_policy(SkipMissedAndResync)
        .record_drift(true)
        .build()
        .expect("a valid timer");
    for n in 0u64..100 {
        timer.tick().await;
        // The work: usually 1 ms, every 10th tick 15 ms (the runtime's thread is busy).
        let work = if n % 10 == 9 { 15 } else { 1 };
        std::thread::sleep(Duration::from_millis(work));
    }
    let drifts = timer
        .drift_histogram()
        .expect("built with record_drift(true)");
    println!(
        "{} ticks: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        drifts.count(),
        drifts.p50(),
        drifts.quantile(0.9),
        drifts.p99(),
        drifts.max()
    );
    println!("skipped due times: {}", timer.stats().skipped());
    for (from, to, count) in drifts.buckets() {
        println!("{:>12?} .. {:>12?}  {count}", from, to);
    }
}
