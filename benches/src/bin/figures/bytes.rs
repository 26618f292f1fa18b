//! The `bytes` figure: bytes per timer, counted by this program's global allocator
//! (`kadenz-counting-alloc`).

use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Context;
use std::time::Duration;

use kadenz::Timer;
use kadenz_counting_alloc::{ALLOCATIONS, LIVE};
use kadenz_tools::{noop_waker, PollOnce};
use tokio::time::{sleep, Instant, Interval, Sleep};

use crate::common::{current_thread_runtime, tokio_interval};
use crate::Flags;

// --- bytes --------------------------------------------------------------------------------

fn heap_per_timer<T: PollOnce>(count: usize, poll: bool, make: impl Fn() -> T) -> (f64, f64) {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut timers: Vec<T> = Vec::with_capacity(count);
    let bytes_before = LIVE.load(Relaxed);
    let allocations_before = ALLOCATIONS.load(Relaxed);
    for _ in 0..count {
        timers.push(make());
        if poll {
            timers.last_mut().expect("just pushed").poll_once(&mut cx);
        }
    }
    let bytes = LIVE.load(Relaxed) - bytes_before;
    let allocations = ALLOCATIONS.load(Relaxed) - allocations_before;
    drop(timers);
    (
        bytes as f64 / count as f64,
        allocations as f64 / count as f64,
    )
}

pub(crate) fn bytes(flags: &Flags) {
    let count = flags.timers;
    let period = Duration::from_secs(1);
    let runtime = current_thread_runtime();
    let _context = runtime.enter();

    println!("## Bytes per timer ({count} live timers, each polled once unless stated)");
    println!();
    println!("| timer | size_of | heap bytes | allocations | total bytes | total − Interval |");
    println!("|---|---:|---:|---:|---:|---:|");
    // The baseline of the last column, and the first row.
    let interval = heap_per_timer(count, true, || {
        tokio_interval(Instant::now() + period, period)
    });
    let interval_total = std::mem::size_of::<Interval>() as f64 + interval.0;
    let row = |name: &str, size: usize, (heap, allocations): (f64, f64)| {
        let total = size as f64 + heap;
        println!(
            "| {name} | {size} | {heap:.1} | {allocations:.2} | {total:.1} | {:+.1} |",
            total - interval_total
        );
    };
    row(
        "tokio `Interval` (`interval_at`)",
        std::mem::size_of::<Interval>(),
        interval,
    );
    row(
        "tokio `Pin<Box<Sleep>>`",
        std::mem::size_of::<Pin<Box<Sleep>>>(),
        heap_per_timer(count, true, || Box::pin(sleep(period))),
    );
    row(
        "kadenz `Timer::periodic`",
        std::mem::size_of::<Timer>(),
        heap_per_timer(count, true, || Timer::periodic(period)),
    );
    row(
        "kadenz `Timer::timeout`",
        std::mem::size_of::<Timer>(),
        heap_per_timer(count, true, || Timer::timeout(period)),
    );
    row(
        "kadenz `Timer::periodic`, never polled",
        std::mem::size_of::<Timer>(),
        heap_per_timer(count, false, || Timer::periodic(period)),
    );
    println!();
    println!(
        "size_of: `Timer` {} B, `Interval` {} B, `Sleep` {} B. Heap bytes are the sizes \
         requested from the allocator (malloc adds its own overhead on top, the same for both).",
        std::mem::size_of::<Timer>(),
        std::mem::size_of::<Interval>(),
        std::mem::size_of::<Sleep>(),
    );
    println!();
}
