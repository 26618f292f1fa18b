//! Every row of the default timer's cost targets, kadenz's `Timer` against tokio's
//! `Interval`, interleaved, with tokio built without `test-util` (as in a user's release
//! build), both in a spawned task and outside one (`block_on`, as `#[tokio::main]`'s body).
//! Prints the median ns per operation and the ratios over the rounds, and the bytes of a
//! waiting timer.
//!
//! ```text
//! cargo run --release --manifest-path benches/release-clock/Cargo.toml -- [ROUNDS] [GROUP...]
//! cargo run --release --manifest-path benches/release-clock/Cargo.toml -- --instructions [GROUP...]
//! cargo run --release --manifest-path benches/release-clock/Cargo.toml --features precise
//! ```
//!
//! `--instructions` runs each member twice under valgrind's callgrind (which counts
//! instructions whatever the machine's load), with two operation counts, and prints the
//! difference divided by the difference of the counts: instructions per operation, with
//! the runtime's set-up cancelled out.
//!
//! The groups:
//!
//! - `poll_pending`: a poll of a timer that is still waiting (a `select!` loop woken by
//!   another branch);
//! - `reset_poll`: the watchdog's reset, then its poll;
//! - `create_poll_drop`: a timer made with its first tick one period away, polled once
//!   (it registers with the wheel), dropped; tokio's is `interval_at(now + period)`;
//! - `tick_overdue`: one tick of a burst of overdue ticks (`TriggerAllMissed`, `Burst`),
//!   cooperative budget off on both sides (`unconstrained`) so that the burst is not cut;
//! - `tick_due`: a tick received when it is due, the timer not waiting on the wheel (the
//!   thread sleeps past the 1 ms tick between polls, untimed; only the poll is timed);
//! - `tick_waited`: a tick awaited on the wheel (1 ms period): the timer registers, the
//!   runtime parks until the wheel fires, the task polls again; timed as the runtime
//!   thread's CPU time per tick (`/proc/thread-self/schedstat`), not wall time.
//!
//! - `poll_pending_handle`, `reset_poll_handle`, `tick_overdue_handle`: the same, of a
//!   timer that made a `TimerHandle` (the reset given through the handle); tokio's members
//!   are those of the groups without the suffix.
//!
//! - `set_tick_overdue`: one tick of a set of `SET_LEN` entries all overdue (1 µs
//!   intervals, first ticks long past), budget off as in `tick_overdue`; tokio's member
//!   is a `DelayQueue` of as many items all expired, one taken and inserted again (still
//!   expired, at the same past instant) per operation;
//! - `set_poll_pending`: a poll of a set of `SET_LEN` waiting entries (1 s away), again
//!   with the same waker; tokio's is `DelayQueue::poll_expired` on as many waiting items.
//!
//! With `--features precise`, `poll_pending_precise` polls a waiting precise timer.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant as StdInstant};

use tokio::time::{Instant, MissedTickBehavior};

use kadenz_counting_alloc::LIVE;

/// Far enough that nothing fires during a round.
const PERIOD: Duration = Duration::from_secs(1);
/// The period of the tick groups: the wheel's resolution.
const TICK: Duration = Duration::from_millis(1);

/// Times `ops` operations of one member, set-up untimed.
type Routine = fn(u64) -> Duration;

/// A group: its name, its kadenz and tokio members, and its operations per round.
struct Group {
    name: &'static str,
    kadenz: Routine,
    tokio: Routine,
    ops: u64,
}

const GROUPS: &[Group] = &[
    Group {
        name: "poll_pending",
        kadenz: poll_pending_kadenz,
        tokio: poll_pending_tokio,
        ops: 200_000,
    },
    Group {
        name: "reset_poll",
        kadenz: reset_poll_kadenz,
        tokio: reset_poll_tokio,
        ops: 200_000,
    },
    Group {
        name: "create_poll_drop",
        kadenz: create_poll_drop_kadenz,
        tokio: create_poll_drop_tokio,
        ops: 100_000,
    },
    Group {
        name: "tick_overdue",
        kadenz: overdue_kadenz,
        tokio: overdue_tokio,
        ops: 200_000,
    },
    Group {
        name: "tick_due",
        // Run by `due`: the runtime must drive tokio's.
        kadenz: |_| Duration::ZERO,
        tokio: |_| Duration::ZERO,
        ops: 300,
    },
    Group {
        name: "tick_waited",
        // Run by `waited`: the runtime must drive these.
        kadenz: |_| Duration::ZERO,
        tokio: |_| Duration::ZERO,
        ops: 300,
    },
    Group {
        name: "poll_pending_handle",
        kadenz: poll_pending_handle,
        tokio: poll_pending_tokio,
        ops: 200_000,
    },
    Group {
        name: "reset_poll_handle",
        kadenz: reset_poll_handle,
        tokio: reset_poll_tokio,
        ops: 200_000,
    },
    Group {
        name: "tick_overdue_handle",
        kadenz: overdue_handle,
        tokio: overdue_tokio,
        ops: 200_000,
    },
    Group {
        name: "set_tick_overdue",
        kadenz: set_overdue_kadenz,
        tokio: set_overdue_tokio,
        ops: 200_000,
    },
    Group {
        name: "set_poll_pending",
        kadenz: set_poll_pending_kadenz,
        tokio: set_poll_pending_tokio,
        ops: 200_000,
    },
    #[cfg(feature = "precise")]
    Group {
        name: "poll_pending_precise",
        kadenz: poll_pending_precise,
        tokio: poll_pending_tokio,
        ops: 200_000,
    },
];

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
}

/// Where a member runs: in a task spawned on a fresh current-thread runtime, or in that
/// runtime's `block_on` (outside any task).
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Task,
    BlockOn,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Task => "in a task",
            Place::BlockOn => "outside a task",
        }
    }

    fn run(self, routine: Routine, ops: u64) -> Duration {
        let runtime = runtime();
        match self {
            Place::Task => runtime.block_on(async move {
                tokio::spawn(async move { routine(ops) })
                    .await
                    .expect("the task")
            }),
            Place::BlockOn => runtime.block_on(async move { routine(ops) }),
        }
    }
}

/// Makes a timer, polls it once (it waits on the wheel), then times `ops` operations.
fn timed<T>(
    ops: u64,
    make: impl FnOnce() -> T,
    mut op: impl FnMut(&mut T, &mut Context<'_>),
) -> Duration {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut timer = make();
    op(&mut timer, &mut cx);
    let start = StdInstant::now();
    for _ in 0..ops {
        op(black_box(&mut timer), &mut cx);
    }
    start.elapsed()
}

fn tokio_interval() -> tokio::time::Interval {
    tokio::time::interval_at(Instant::now() + PERIOD, PERIOD)
}

fn poll_pending_kadenz(ops: u64) -> Duration {
    timed(
        ops,
        || kadenz::Timer::periodic(PERIOD),
        |timer, cx| {
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn poll_pending_tokio(ops: u64) -> Duration {
    timed(ops, tokio_interval, |interval, cx| {
        let _ = black_box(interval.poll_tick(cx));
    })
}

#[cfg(feature = "precise")]
fn poll_pending_precise(ops: u64) -> Duration {
    timed(
        ops,
        || {
            kadenz::Timer::builder(PERIOD)
                .precise(true)
                .build()
                .expect("a precise timer")
        },
        |timer, cx| {
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn reset_poll_kadenz(ops: u64) -> Duration {
    timed(
        ops,
        || kadenz::Timer::timeout(PERIOD),
        |timer, cx| {
            timer.reset();
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

/// A timer and the handle it made (kept alive: a timer whose handles are all dropped
/// still has the slot).
fn with_handle(mut timer: kadenz::Timer) -> (kadenz::Timer, kadenz::TimerHandle) {
    let handle = timer.handle();
    (timer, handle)
}

fn poll_pending_handle(ops: u64) -> Duration {
    timed(
        ops,
        || with_handle(kadenz::Timer::periodic(PERIOD)),
        |(timer, _), cx| {
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn reset_poll_handle(ops: u64) -> Duration {
    timed(
        ops,
        || with_handle(kadenz::Timer::timeout(PERIOD)),
        |(timer, handle), cx| {
            handle.reset();
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn reset_poll_tokio(ops: u64) -> Duration {
    timed(ops, tokio_interval, |interval, cx| {
        interval.reset();
        let _ = black_box(interval.poll_tick(cx));
    })
}

fn create_poll_drop_kadenz(ops: u64) -> Duration {
    timed(
        ops,
        || (),
        |(), cx| {
            let mut timer = kadenz::Timer::periodic(black_box(PERIOD));
            let _ = black_box(timer.poll_tick(cx));
        },
    )
}

fn create_poll_drop_tokio(ops: u64) -> Duration {
    timed(
        ops,
        || (),
        |(), cx| {
            let mut interval = tokio::time::interval_at(Instant::now() + PERIOD, black_box(PERIOD));
            let _ = black_box(interval.poll_tick(cx));
        },
    )
}

/// Runs `body` to completion with the cooperative budget off: a burst of overdue ticks
/// is then one poll each, on both sides.
fn unconstrained_now<F: Future>(body: F) -> F::Output {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut body = std::pin::pin!(tokio::task::coop::unconstrained(body));
    loop {
        if let std::task::Poll::Ready(out) = body.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// When the program started: before any runtime of its, so that a deadline before it is
/// one the wheel fires at once, as soon as it is polled.
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Where a burst of `ops` overdue ticks starts: all of them before any runtime started.
fn burst_start(ops: u64) -> Instant {
    let span = TICK / 100 * u32::try_from(ops + 10).expect("a burst's length");
    STARTED
        .get()
        .expect("set first")
        .checked_sub(span)
        .expect("a clock that started long enough ago")
}

fn overdue_kadenz(ops: u64) -> Duration {
    overdue(ops, false)
}

fn overdue_handle(ops: u64) -> Duration {
    overdue(ops, true)
}

/// A burst of `ops` overdue ticks of a kadenz timer, with a handle or without.
fn overdue(ops: u64, handle: bool) -> Duration {
    let mut timer = kadenz::Timer::builder(TICK / 100)
        .first_tick_at(burst_start(ops))
        .build()
        .expect("a timer");
    let _handle = handle.then(|| timer.handle());
    unconstrained_now(async {
        let start = StdInstant::now();
        for _ in 0..ops {
            black_box(timer.tick().await);
        }
        start.elapsed()
    })
}

fn overdue_tokio(ops: u64) -> Duration {
    let mut interval = tokio::time::interval_at(burst_start(ops), TICK / 100);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    unconstrained_now(async {
        let start = StdInstant::now();
        for _ in 0..ops {
            black_box(interval.tick().await);
        }
        start.elapsed()
    })
}

/// The entries of the set groups.
const SET_LEN: u32 = 1_000;

/// `set_tick_overdue`: a set of `SET_LEN` entries, 1 µs apart each, their first ticks
/// a whole number of seconds before the set was made: every poll delivers an overdue
/// tick. Whole seconds: the set's instants are reckoned from the instant it was made,
/// and `Instant` arithmetic takes one more branch when the nanoseconds borrow, which
/// they then do for every tick of every run (from an arbitrary start, for all or none
/// of a run's ticks, by chance: 6 instructions a tick apart).
fn set_overdue_kadenz(ops: u64) -> Duration {
    let mut set = kadenz::TimerSet::with_capacity(SET_LEN as usize);
    let start = Instant::now()
        .checked_sub(Duration::from_secs(2 + ops / 1_000_000))
        .expect("a clock that started long enough ago");
    for key in 0..SET_LEN {
        let entry = kadenz::Timer::builder(Duration::from_micros(1)).first_tick_at(start);
        set.insert(key, entry).expect("an entry");
    }
    unconstrained_now(async {
        let timed = StdInstant::now();
        for _ in 0..ops {
            black_box(set.next().await);
        }
        timed.elapsed()
    })
}

/// `set_tick_overdue`'s tokio member: each expired item inserted again at the start of
/// the burst, long past (the queue's resolution is 1 ms: a deadline within a millisecond
/// of now would wait for its wheel, and the polls here never let the runtime turn).
fn set_overdue_tokio(ops: u64) -> Duration {
    let start = burst_start(ops);
    let mut queue = tokio_util::time::DelayQueue::with_capacity(SET_LEN as usize);
    for key in 0..SET_LEN {
        queue.insert_at(key, start);
    }
    unconstrained_now(async {
        let timed = StdInstant::now();
        for _ in 0..ops {
            let expired = std::future::poll_fn(|cx| queue.poll_expired(cx))
                .await
                .expect("an item");
            queue.insert_at(black_box(expired.into_inner()), start);
        }
        timed.elapsed()
    })
}

fn set_poll_pending_kadenz(ops: u64) -> Duration {
    timed(
        ops,
        || {
            let mut set = kadenz::TimerSet::with_capacity(SET_LEN as usize);
            for key in 0..SET_LEN {
                set.insert(key, kadenz::Timer::builder(PERIOD))
                    .expect("an entry");
            }
            set
        },
        |set, cx| {
            let _ = black_box(set.poll_next(cx));
        },
    )
}

fn set_poll_pending_tokio(ops: u64) -> Duration {
    timed(
        ops,
        || {
            let mut queue = tokio_util::time::DelayQueue::with_capacity(SET_LEN as usize);
            let due = Instant::now() + PERIOD;
            for key in 0..SET_LEN {
                queue.insert_at(key, due);
            }
            queue
        },
        |queue, cx| {
            let _ = black_box(queue.poll_expired(cx));
        },
    )
}

/// The CPU time the calling thread has used.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = stat
        .split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Sleeps the thread (blocking, as a busy task would) until `due` has passed.
fn sleep_past(due: Instant) {
    while Instant::now() < due {
        std::thread::sleep(due - Instant::now());
    }
}

/// `tick_due`: each tick (2 ms period) awaited once it is due, the `.await` alone timed.
/// Before it, untimed, the thread sleeps 1 ms past the due time and the task yields once,
/// so that the runtime's turn brings the wheel up to date: tokio's `Interval` then
/// registers an entry that fires at once (without both it would wait for the wheel's next
/// millisecond, and the time measured would be the wheel's resolution). kadenz compares the clock with
/// its schedule. `kadenz: None` sleeps and yields the same without a timer: the baseline
/// of `--instructions`.
fn due(kadenz: Option<bool>, place: Place, ops: u64) -> Duration {
    let runtime = runtime();
    let body = async move {
        let period = 2 * TICK;
        let mut timer = kadenz::Timer::periodic(period);
        let mut interval = tokio::time::interval_at(Instant::now() + period, period);
        let mut due = Instant::now() + period;
        let mut timed = Duration::ZERO;
        for _ in 0..ops {
            sleep_past(due + TICK);
            tokio::task::yield_now().await;
            let start = StdInstant::now();
            match kadenz {
                Some(true) => {
                    black_box(timer.tick().await);
                    due = timer.deadline().expect("running");
                }
                Some(false) => {
                    black_box(interval.tick().await);
                    // Less than 5 ms late: the next tick is one period after this one.
                    due += period;
                }
                None => due += period,
            }
            timed += start.elapsed();
        }
        timed
    };
    match place {
        Place::Task => runtime.block_on(async { tokio::spawn(body).await.expect("the task") }),
        Place::BlockOn => runtime.block_on(body),
    }
}

/// `tick_waited`: a runtime per member, its ticks awaited in a task or in `block_on`.
fn waited(kadenz: bool, place: Place, ops: u64) -> Duration {
    let runtime = runtime();
    let body = async move {
        let start = thread_cpu();
        if kadenz {
            let mut timer = kadenz::Timer::periodic(TICK);
            for _ in 0..ops {
                black_box(timer.tick().await);
            }
        } else {
            let mut interval = tokio::time::interval_at(Instant::now() + TICK, TICK);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            for _ in 0..ops {
                black_box(interval.tick().await);
            }
        }
        thread_cpu() - start
    };
    match place {
        Place::Task => runtime.block_on(async { tokio::spawn(body).await.expect("the task") }),
        Place::BlockOn => runtime.block_on(body),
    }
}

/// One member's time for `ops` operations at `place`, in ns per operation.
fn measure(group: &Group, kadenz: bool, place: Place, ops: u64) -> f64 {
    let elapsed = if group.name == "tick_waited" {
        waited(kadenz, place, ops)
    } else if group.name == "tick_due" {
        due(Some(kadenz), place, ops)
    } else {
        place.run(if kadenz { group.kadenz } else { group.tokio }, ops)
    };
    elapsed.as_nanos() as f64 / ops as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The live heap bytes `make` leaves behind, and the value it made.
fn heap_of<T>(make: impl FnOnce() -> T) -> (usize, T) {
    let before = LIVE.load(Relaxed);
    let made = make();
    (LIVE.load(Relaxed).wrapping_sub(before), made)
}

/// The bytes of a timer that waits on the wheel: inline, plus what its making and first
/// poll left on the heap.
fn bytes() {
    let runtime = runtime();
    let _guard = runtime.enter();
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let (kadenz, timer) = heap_of(|| {
        let mut timer = kadenz::Timer::periodic(PERIOD);
        assert!(timer.poll_tick(&mut cx).is_pending());
        timer
    });
    let (tokio, interval) = heap_of(|| {
        let mut interval = tokio_interval();
        assert!(interval.poll_tick(&mut cx).is_pending());
        interval
    });
    let kadenz_inline = std::mem::size_of_val(&timer);
    let tokio_inline = std::mem::size_of_val(&interval);
    println!(
        "bytes of a waiting timer: kadenz {kadenz_inline} inline + {kadenz} heap = {}, \
         tokio {tokio_inline} + {tokio} = {}",
        kadenz_inline + kadenz,
        tokio_inline + tokio,
    );
}

/// `--count GROUP kadenz|tokio task|block_on OPS`: one member once (for callgrind).
fn count(args: &[String]) {
    let group = GROUPS
        .iter()
        .find(|group| group.name == args[0])
        .expect("a group");
    let kadenz = args[1] == "kadenz";
    let place = if args[2] == "task" {
        Place::Task
    } else {
        Place::BlockOn
    };
    let ops = args[3].parse().expect("a count");
    if args[1] == "none" {
        black_box(due(None, place, ops));
    } else {
        black_box(measure(group, kadenz, place, ops));
    }
}

/// Instructions of one member at `place` for `ops` operations, from callgrind's summary.
fn instructions(group: &str, member: &str, place: &str, ops: u64) -> u64 {
    let exe = std::env::current_exe().expect("this program");
    let out = std::process::Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["--count", group, member, place, &ops.to_string()])
        .output()
        .expect("valgrind runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in callgrind's output: {stderr}"))
}

fn main() {
    STARTED.get_or_init(Instant::now);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--count") {
        return count(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("--instructions") {
        let only = &args[1..];
        println!("| group | place | kadenz instructions/op | tokio | kadenz/tokio |");
        println!("|---|---|---:|---:|---:|");
        for group in GROUPS {
            if !only.is_empty() && !only.iter().any(|name| name == group.name) {
                continue;
            }
            // Two counts, a tenth and the whole: the difference cancels the set-up.
            let (small, large) = (group.ops / 10, group.ops);
            for place in ["task", "block_on"] {
                let per_op = |member| {
                    let a = instructions(group.name, member, place, small);
                    let b = instructions(group.name, member, place, large);
                    b.saturating_sub(a) as f64 / (large - small) as f64
                };
                // The due ticks' sleeps are the same on both sides: not counted.
                let base = if group.name == "tick_due" {
                    per_op("none")
                } else {
                    0.0
                };
                let (k, t) = (per_op("kadenz") - base, per_op("tokio") - base);
                println!(
                    "| {} | {place} | {k:.1} | {t:.1} | {:.3} |",
                    group.name,
                    k / t
                );
            }
        }
        return;
    }
    let rounds: usize = args
        .first()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(21);
    let only: Vec<&String> = args.iter().skip(1).collect();
    println!("tokio without test-util, {rounds} interleaved rounds");
    bytes();
    println!();
    println!("| group | place | kadenz ns/op | tokio ns/op | kadenz/tokio: median | min | max |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for group in GROUPS {
        if !only.is_empty() && !only.iter().any(|name| *name == group.name) {
            continue;
        }
        for place in [Place::Task, Place::BlockOn] {
            let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds {
                let ns = |kadenz| measure(group, kadenz, place, group.ops);
                // Alternate which side runs first.
                let (k, t) = if round % 2 == 0 {
                    let k = ns(true);
                    (k, ns(false))
                } else {
                    let t = ns(false);
                    (ns(true), t)
                };
                ours.push(k);
                theirs.push(t);
                ratios.push(k / t);
            }
            let (min, max) = ratios
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.3} | {min:.3} | {max:.3} |",
                group.name,
                place.name(),
                median(&mut ours),
                median(&mut theirs),
                median(&mut ratios),
            );
        }
    }
}
