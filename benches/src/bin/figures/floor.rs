//! The floor: one std thread of this process, blocked on a timerfd of its own, armed for
//! each tick of a phase in turn (relative, as kadenz's driver arms its own); at each expiry
//! it sends its lateness to the phase's task through a tokio channel, which wakes the task
//! from outside the runtime as kadenz's driver thread does. The thread lives as long as
//! the process, as kadenz's does.

use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

struct Job {
    first: Instant,
    period: Duration,
    ticks: usize,
    to_task: tokio::sync::mpsc::UnboundedSender<u64>,
}

fn jobs() -> &'static Mutex<mpsc::Sender<Job>> {
    static JOBS: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("floor".into())
            .spawn(move || run(&receiver))
            .expect("the floor thread");
        Mutex::new(sender)
    })
}

fn run(jobs: &mpsc::Receiver<Job>) {
    let fd = timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC).expect("a timerfd");
    let mut expirations = [0u8; 8];
    for job in jobs {
        for k in 0..job.ticks {
            let due = job.first + job.period * k as u32;
            // A zero value would disarm the timer: at least 1 ns.
            let left = due
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1));
            let spec = Itimerspec {
                it_interval: Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: Timespec {
                    tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: i64::from(left.subsec_nanos()),
                },
            };
            timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec).expect("armed");
            // Blocks until the timerfd expires; an error (EINTR) reads again.
            while rustix::io::read(&fd, &mut expirations).is_err() {}
            let late = Instant::now().saturating_duration_since(due);
            if job.to_task.send(late.as_nanos() as u64).is_err() {
                break;
            }
        }
    }
}

/// Receives `ticks` ticks from the floor thread: the task's lateness into `late`, the
/// thread's into `thread_late` (nanoseconds).
pub(super) async fn ticks(
    first: tokio::time::Instant,
    period: Duration,
    ticks: usize,
    late: &mut Vec<u64>,
    thread_late: &mut Vec<u64>,
) {
    let (to_task, mut from_thread) = tokio::sync::mpsc::unbounded_channel();
    let job = Job {
        first: first.into_std(),
        period,
        ticks,
        to_task,
    };
    jobs()
        .lock()
        .expect("not poisoned")
        .send(job)
        .expect("the floor thread runs");
    for k in 0..ticks {
        let thread = from_thread.recv().await.expect("one message per tick");
        let due = first + period * k as u32;
        late.push((tokio::time::Instant::now() - due).as_nanos() as u64);
        thread_late.push(thread);
    }
}
