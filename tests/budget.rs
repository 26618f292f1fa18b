//! Every `Ready` a timer returns takes tokio's cooperative budget, so no loop that polls a
//! timer can keep its runtime thread forever: a stopped timer (`Ready(None)`), an overdue
//! tick, a policy that always answers "now", the `Stream`. A timer past the end of its time
//! line is `Pending`, so it cannot spin either.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures_core::Stream;
use kadenz::Timer;
use kadenz_testkit::policies::Always;
use tokio::time::sleep;

/// tokio's cooperative budget: the units one task poll may take before its resources
/// return `Pending` (tokio 1.x: 128).
const BUDGET: usize = 128;

/// How many `Ready`s `poll` returns in one task poll before the first `Pending`, up to
/// 10,000.
async fn readies_in_one_task_poll(timer: &mut Timer, by_stream: bool) -> usize {
    // A fresh task poll, with a full budget.
    tokio::task::yield_now().await;
    poll_fn(|cx| {
        for readies in 0..10_000 {
            let poll = if by_stream {
                Pin::new(&mut *timer).poll_next(cx)
            } else {
                timer.poll_tick(cx)
            };
            if poll.is_pending() {
                return Poll::Ready(readies);
            }
        }
        Poll::Ready(10_000)
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn every_ready_takes_a_unit_of_budget() {
    let mut stopped = Timer::periodic(Duration::from_millis(1));
    stopped.stop();
    assert_eq!(readies_in_one_task_poll(&mut stopped, false).await, BUDGET);
    assert_eq!(readies_in_one_task_poll(&mut stopped, true).await, BUDGET);

    let mut overdue = Timer::periodic(Duration::from_micros(1));
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(readies_in_one_task_poll(&mut overdue, false).await, BUDGET);

    let mut zero = Timer::new(Duration::from_millis(1), Always(0));
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(readies_in_one_task_poll(&mut zero, true).await, BUDGET);

    let mut never = Timer::periodic(Duration::from_millis(1));
    never.reset_after(Duration::MAX);
    assert_eq!(readies_in_one_task_poll(&mut never, false).await, 0);
}

/// The bug this file was written for: `_ = timer.tick() => {}` on a stopped timer in a
/// `select!` loop spun forever, and the 20 ms sleep in the same loop never won. On the
/// real clock (the paused clock only moves when no task is ready, and this one always
/// is); the loop must end, which it does after about 20 ms, and the guard of 10 s of
/// spinning turns a regression into a failure instead of a hang.
fn a_stopped_timer_lets_a_sleep_win(runtime: tokio::runtime::Runtime) {
    // In a spawned task: on a multi-thread runtime, `block_on` itself runs off the
    // workers, which would drive the sleep for it.
    let task = runtime.spawn(async {
        let mut timer = Timer::periodic(Duration::from_millis(1));
        timer.stop();
        let guard = std::time::Instant::now() + Duration::from_secs(10);
        let stop = sleep(Duration::from_millis(20));
        tokio::pin!(stop);
        let mut turns: u64 = 0;
        loop {
            tokio::select! {
                _ = timer.tick() => {
                    turns += 1;
                    if turns % 1024 == 0 {
                        assert!(
                            std::time::Instant::now() < guard,
                            "10 s of a stopped timer's branch: it never yields to the runtime"
                        );
                    }
                }
                _ = &mut stop => break,
            }
        }
        assert!(turns > 0, "a stopped timer is ready (with None) at once");
    });
    runtime.block_on(task).unwrap();
}

#[test]
fn a_stopped_timer_in_a_select_loop_lets_a_sleep_win_on_the_current_thread_runtime() {
    a_stopped_timer_lets_a_sleep_win(kadenz_testkit::current_thread_runtime());
}

#[test]
fn a_stopped_timer_in_a_select_loop_lets_a_sleep_win_on_the_multi_thread_runtime() {
    let runtime = kadenz_testkit::multi_thread_runtime_with(1);
    a_stopped_timer_lets_a_sleep_win(runtime);
}

/// A wait whose `Sleep` poll is refused for lack of budget registers no waker with the
/// wheel; the timer must not take the wheel's word for it afterwards (the poll after the
/// budget's yield comes with the same waker), or the tick would never wake the task.
#[tokio::test(start_paused = true)]
async fn a_wait_refused_for_lack_of_budget_is_woken_at_its_tick() {
    let start = tokio::time::Instant::now();
    let mut timer = Timer::periodic(Duration::from_millis(10));
    timer.tick().await; // its `Sleep` fired: the next wait moves it again
    tokio::task::yield_now().await; // a fresh task poll, with a full budget
    let first = poll_fn(|cx| {
        // Spend the whole budget, then wait: tokio's `Sleep` returns `Pending` without
        // registering, and has the task polled again.
        while let Poll::Ready(unit) = tokio::task::coop::poll_proceed(cx) {
            unit.made_progress();
        }
        Poll::Ready(timer.poll_tick(cx))
    })
    .await;
    assert!(first.is_pending());
    let tick = tokio::time::timeout(Duration::from_secs(3600), timer.tick())
        .await
        .expect("the wheel wakes the task at the tick")
        .unwrap();
    assert_eq!(tick.scheduled(), start + Duration::from_millis(20));
    assert_eq!(tick.drift(), Duration::ZERO);
}
