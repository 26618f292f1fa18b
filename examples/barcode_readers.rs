//! Five barcode readers scanning at once, one service giving each scan a unique id.
//!
//! The setting comes from a plant-floor forum thread: five barcode readers can be
//! triggered within milliseconds of each other, each scan must get its own id, and the
//! author guarded the id assignment with a mutex. Most of the thread was about where that
//! mutex has to live so that every handler finds the *same* one: a script-level variable
//! happened to work, then a global, and a reply warned that redeploying the scripts would
//! create a fresh lock while old handlers still held the previous one. Two locks mean two
//! handlers assigning at once, so duplicate ids, silently.
//!
//! Here nothing is shared. One service task owns the counter; readers send their scans
//! into an `mpsc` channel, each scan carrying a `oneshot` sender for its id. The service
//! takes scans one at a time, so assignments are serialized by construction: there is no
//! lock to find, to forget or to replace, and the counter cannot be reached any other way.
//!
//! The same service loop also watches the readers, in one `tokio::select!`:
//!
//! - a periodic heartbeat (`Timer::periodic`, 250 ms);
//! - an idle watchdog per reader, reset by each of its scans, that reports a reader which
//!   stopped scanning, and again every 300 ms while it stays quiet. The watchdogs are the
//!   entries of one `TimerSet` keyed by reader: one `select!` branch for all of them,
//!   their trips in the order they were due (a loop over a `Vec` of timers would always
//!   favour the lowest index). Reader 4 runs out of labels for five rounds and trips its
//!   watchdog twice; reader 1 skips a single round, which is not long enough to trip it.
//!
//! After a fixed number of rounds the readers hang up, the loop ends and a summary is
//! printed; the ids are checked to be unique and contiguous.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example barcode_readers
//! ```

use std::time::Duration;

use kadenz::policy::SkipMissedAndDrift;
use kadenz::{Timer, TimerSet};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

const READERS: usize = 5;
const ROUNDS: u32 = 8;
const ROUND_PERIOD: Duration = Duration::from_millis(120);
const FIRST_ROUND_AFTER: Duration = Duration::from_millis(50);
const HEARTBEAT: Duration = Duration::from_millis(250);
const IDLE_AFTER: Duration = Duration::from_millis(300);

/// A barcode read by one reader, with the way back for its id.
struct Scan {
    reader: usize,
    barcode: String,
    reply: oneshot::Sender<u64>,
}

/// Whether `reader` has a label to scan in `round`.
fn has_label(reader: usize, round: u32) -> bool {
    match reader {
        // Out of labels for five rounds: 720 ms without a scan, so the idle timer trips
        // twice, as a timeout timer rearms itself after it fires.
        4 => !(2..=6).contains(&round),
        // One round missed: 240 ms without a scan, under the idle limit.
        1 => round != 3,
        _ => true,
    }
}

/// Scans once per round, a few milliseconds apart from the other readers; returns the ids
/// it was given.
async fn reader(id: usize, start: Instant, scans: mpsc::Sender<Scan>) -> Vec<u64> {
    let mut ids = Vec::new();
    for round in 0..ROUNDS {
        // A jitter of 0 to 4 ms that changes from round to round, so the readers do not
        // always arrive in the same order.
        let jitter = Duration::from_millis((id as u64 * 7 + u64::from(round) * 3) % 5);
        tokio::time::sleep_until(start + FIRST_ROUND_AFTER + ROUND_PERIOD * round + jitter).await;
        if !has_label(id, round) {
            continue;
        }
        let (reply, id_rx) = oneshot::channel();
        let scan = Scan {
            reader: id,
            barcode: format!("PKG-{round:02}-{id}"),
            reply,
        };
        if scans.send(scan).await.is_err() {
            break;
        }
        match id_rx.await {
            Ok(assigned) => ids.push(assigned),
            Err(_) => break,
        }
    }
    ids
}

#[tokio::main]
async fn main() {
    let start = Instant::now();
    let (scan_tx, mut scan_rx) = mpsc::channel::<Scan>(READERS);
    let readers: Vec<_> = (0..READERS)
        .map(|id| tokio::spawn(reader(id, start, scan_tx.clone())))
        .collect();
    // Only the readers may hold a sender: the channel closes, and the loop ends, when the
    // last of them is done.
    drop(scan_tx);

    let mut next_id: u64 = 1;
    let mut assigned: Vec<u64> = Vec::new();
    let mut scans_per_reader = [0u32; READERS];
    let mut idle_trips = [0u32; READERS];
    let mut last_scan = [start; READERS];
    let mut heartbeats = 0u32;
    let mut heartbeat = Timer::periodic(HEARTBEAT);
    // A watchdog per reader: what `Timer::timeout` is, as an entry of the set.
    let mut idle: TimerSet<usize> = TimerSet::new();
    for reader in 0..READERS {
        let watchdog = Timer::builder(IDLE_AFTER).missed_tick_policy(SkipMissedAndDrift::default());
        idle.insert(reader, watchdog).expect("a valid interval");
    }
    let ms = |at: Instant| (at - start).as_millis();

    loop {
        tokio::select! {
            scan = scan_rx.recv() => {
                let Some(scan) = scan else { break };
                let id = next_id;
                next_id += 1;
                // A reader that gave up waiting loses its id; the id stays used, so the
                // sequence has no duplicates either way.
                let _ = scan.reply.send(id);
                assigned.push(id);
                scans_per_reader[scan.reader] += 1;
                let now = Instant::now();
                last_scan[scan.reader] = now;
                idle.reset(&scan.reader);
                println!(
                    "{:>5} ms  reader {}  {}  -> id {id:>2}",
                    ms(now),
                    scan.reader,
                    scan.barcode,
                );
            }
            Some(tick) = heartbeat.tick() => {
                heartbeats += 1;
                println!(
                    "{:>5} ms  heartbeat {heartbeats}: {} scans so far",
                    ms(tick.fired_at()),
                    assigned.len(),
                );
            }
            (reader, tick) = idle.next() => {
                idle_trips[reader] += 1;
                println!(
                    "{:>5} ms  reader {reader} idle: no scan for {} ms",
                    ms(tick.fired_at()),
                    (tick.fired_at() - last_scan[reader]).as_millis(),
                );
            }
        }
    }

    let mut received: Vec<u64> = Vec::new();
    for handle in readers {
        received.extend(handle.await.expect("a reader panicked"));
    }

    println!();
    println!("summary after {ROUNDS} rounds:");
    for (reader, (scans, trips)) in scans_per_reader.iter().zip(idle_trips).enumerate() {
        println!("  reader {reader}: scans {scans}, idle trips {trips}");
    }
    println!("  heartbeats: {heartbeats}");

    // The service's own record and what the readers were told must both be exactly
    // 1..=n: no id given twice, none skipped.
    let expected: Vec<u64> = (1..next_id).collect();
    assigned.sort_unstable();
    received.sort_unstable();
    assert_eq!(
        assigned, expected,
        "the service assigned a duplicate or skipped an id"
    );
    assert_eq!(
        received, expected,
        "the readers did not get exactly the assigned ids"
    );
    println!(
        "  ids: {} assigned, 1..={}, unique and contiguous",
        assigned.len(),
        next_id - 1
    );
}
