//! What a runtime's shutdown does to a thread waiting for a tick through
//! `Handle::block_on`: it panics with tokio's message, exactly as a tokio `sleep` does in
//! the same place (RELIABILITY.md, "Concurrency"). Timers that are merely alive, or
//! waiting inside tasks, panic nothing: `tests/concurrency.rs`.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use kadenz::Timer;

/// Runs `wait` with `Handle::block_on` on another thread, drops the runtime once that
/// thread is waiting, and returns the thread's panic message.
fn panic_of_a_waiter_at_shutdown<F>(wait: F) -> String
where
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = kadenz_testkit::multi_thread_runtime_with(1);
    let handle = runtime.handle().clone();
    let (waiting, is_waiting) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        handle.block_on(async move {
            waiting.send(()).unwrap();
            wait.await;
        })
    });
    is_waiting.recv().unwrap();
    // The waiter has entered `block_on`; give it time to park in its wait. (If it has
    // not yet, it meets the shut-down runtime on its first poll: the same panic.)
    std::thread::sleep(Duration::from_millis(50));
    drop(runtime);
    let panic = waiter.join().expect_err("the waiter panics");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn block_on_a_tick_panics_at_shutdown_as_block_on_a_sleep_does() {
    let timer_panic = panic_of_a_waiter_at_shutdown(async {
        let mut timer = Timer::periodic(Duration::from_secs(3_600));
        timer.tick().await;
    });
    let sleep_panic = panic_of_a_waiter_at_shutdown(async {
        tokio::time::sleep(Duration::from_secs(3_600)).await;
    });
    assert_eq!(timer_panic, sleep_panic);
    assert!(timer_panic.contains("shutdown"), "{timer_panic}");
}
