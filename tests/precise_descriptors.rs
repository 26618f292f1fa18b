//! Precise timers when the process has no file descriptor left: a timer built then waits
//! on the wheel alone, and once descriptors are free again the next precise timer gets its
//! OS timer (the failure is not remembered). A test binary of its own: it exhausts the
//! process's descriptors and counts its timerfds.
#![cfg(all(feature = "precise", target_os = "linux"))]

use kadenz_testkit as common;

use std::fs::File;
use std::task::{Context, Poll};
use std::time::Duration;

use common::timerfds;
use kadenz::Timer;

/// Opens files until the process has no descriptor left (bounded, in case the limit is
/// huge).
fn exhaust() -> Vec<File> {
    let mut files = Vec::new();
    while files.len() < 2_000_000 {
        match File::open("/dev/null") {
            Ok(file) => files.push(file),
            Err(_) => return files,
        }
    }
    panic!("no descriptor limit within 2,000,000 files");
}

/// Polls a new precise timer once on `runtime` (it waits an hour).
fn wait_once(runtime: &tokio::runtime::Runtime) -> Timer {
    runtime.block_on(async {
        let mut timer = Timer::builder(Duration::from_secs(3_600))
            .precise(true)
            .build()
            .unwrap();
        let waker = common::noop_waker();
        assert!(matches!(
            timer.poll_tick(&mut Context::from_waker(&waker)),
            Poll::Pending
        ));
        timer
    })
}

#[test]
fn a_timerfd_failure_is_retried_once_descriptors_are_free() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(timerfds(), 0);
    let files = exhaust();
    let starved = wait_once(&runtime);
    drop(files);
    assert_eq!(timerfds(), 0, "no timerfd while no descriptor is left");
    let served = wait_once(&runtime);
    assert!(
        timerfds() >= 1,
        "a precise timer after descriptors were freed has no OS timer"
    );
    drop((starved, served));
}
