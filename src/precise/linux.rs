//! The Linux waker of precise timers: one thread per process, blocked in `read` on one
//! timerfd, armed for the earliest deadline of every precise timer, rounded up to a grid
//! so that close deadlines share a wake-up. Safe syscalls through rustix; no `unsafe`.
//!
//! Why a thread and not tokio's reactor (`AsyncFd`): registering an fd panics on a
//! runtime without IO enabled and tokio offers no way to ask beforehand, and its safe
//! constructors are deprecated as unsound (tokio#8587). A thread needs neither, serves
//! every runtime of the process, and a timerfd is not subject to the timer slack that
//! makes a sleeping thread 50 µs late.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

/// While other deadlines are queued, the timerfd is armed on a multiple of this since the
/// driver started, so that timers due within the same 50 µs share one wake-up of the
/// thread (and of the runtimes it wakes): 1,000 timers at 1 ms with one wake-up per
/// deadline saturate a core. A lone deadline is armed as it is.
const GRID: Duration = Duration::from_micros(50);

/// One precise timer's place in the driver.
#[derive(Debug, Default)]
struct Slot {
    /// When the timer wants to be woken; `None`: it does not wait.
    due: Option<Instant>,
    waker: Option<Waker>,
    /// The earliest entry of this slot in the heap, if any: later entries of the same
    /// slot are stale and dropped when they come up.
    queued: Option<Instant>,
    /// Bumped when the slot is freed, so entries of a former owner are recognised.
    generation: u64,
}

#[derive(Debug, Default)]
struct Queue {
    heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// When the timerfd expires next; `None`: disarmed.
    armed: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Driver {
    fd: OwnedFd,
    queue: Mutex<Queue>,
    /// The zero of the grid.
    epoch: Instant,
}

impl Driver {
    /// The process's driver, started on first use; `None` if the timerfd or the thread
    /// cannot be created now (no descriptor left, no thread): that timer falls back to
    /// the wheel, and the next one to ask tries again.
    pub(crate) fn get() -> Option<Arc<Driver>> {
        static DRIVER: OnceLock<Arc<Driver>> = OnceLock::new();
        static STARTING: Mutex<()> = Mutex::new(());
        if let Some(driver) = DRIVER.get() {
            return Some(driver.clone());
        }
        // One start at a time, so that two first timers do not start two threads.
        let _starting = STARTING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(driver) = DRIVER.get() {
            return Some(driver.clone());
        }
        let driver = Driver::start()?;
        Some(DRIVER.get_or_init(|| driver).clone())
    }

    fn start() -> Option<Arc<Driver>> {
        let fd = timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC).ok()?;
        let driver = Arc::new(Driver {
            fd,
            queue: Mutex::new(Queue::default()),
            epoch: Instant::now(),
        });
        let run = driver.clone();
        std::thread::Builder::new()
            .name("kadenz-precise".into())
            .spawn(move || run.run())
            .ok()?;
        Some(driver)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics under the lock but a waker's `clone`; the queue is consistent
        // at every point, so a poisoned lock is used as it is.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new slot for a timer.
    pub(crate) fn register(&self) -> (usize, u64) {
        let mut queue = self.lock();
        let index = match queue.free.pop() {
            Some(index) => index,
            None => {
                queue.slots.push(Slot::default());
                queue.slots.len() - 1
            }
        };
        (index, queue.slots[index].generation)
    }

    pub(crate) fn deregister(&self, index: usize) {
        let mut queue = self.lock();
        let slot = &mut queue.slots[index];
        slot.generation = slot.generation.wrapping_add(1);
        slot.due = None;
        slot.waker = None;
        slot.queued = None;
        queue.free.push(index);
    }

    /// Wakes `waker` at `due` (rounded up to the grid), instead of any earlier request of
    /// the slot.
    pub(crate) fn wake_at(&self, index: usize, generation: u64, due: Instant, waker: &Waker) {
        let mut queue = self.lock();
        let queue = &mut *queue;
        let slot = &mut queue.slots[index];
        slot.due = Some(due);
        match &slot.waker {
            Some(registered) if registered.will_wake(waker) => {}
            _ => slot.waker = Some(waker.clone()),
        }
        // A later due time keeps the slot's heap entry: when it comes up, it is queued
        // again for the new time, so a timer reset often holds one entry, not many.
        if slot.queued.is_some_and(|queued| queued <= due) {
            return;
        }
        slot.queued = Some(due);
        queue.heap.push(Reverse((due, index, generation)));
        let at = self.arm_time(queue, due);
        if queue.armed.map_or(true, |armed| at < armed) {
            self.arm(queue, Some(at));
        }
    }

    /// The timer no longer needs waking (it was woken by the wheel, or stopped waiting).
    pub(crate) fn cancel(&self, index: usize) {
        self.lock().slots[index].due = None;
    }

    /// When to arm the timerfd for `due`: on the grid if other deadlines share the queue.
    fn arm_time(&self, queue: &Queue, due: Instant) -> Instant {
        if queue.heap.len() > 1 {
            self.on_grid(due)
        } else {
            due
        }
    }

    fn on_grid(&self, due: Instant) -> Instant {
        let since = due.saturating_duration_since(self.epoch).as_nanos();
        let grid = GRID.as_nanos();
        let rounded = (since + grid - 1) / grid * grid;
        self.epoch + Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX))
    }

    /// Sets the timerfd to expire at `at` (`None`: disarm). Relative, because a std
    /// `Instant` does not expose its clock value; the error is the few nanoseconds
    /// between reading the clock and the syscall.
    fn arm(&self, queue: &mut Queue, at: Option<Instant>) {
        queue.armed = at;
        let value = match at {
            // A zero value would disarm the timer: at least 1 ns.
            Some(at) => at
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1)),
            None => Duration::ZERO,
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: i64::try_from(value.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(value.subsec_nanos()),
            },
        };
        // Arming a valid timerfd cannot fail; should it, the timers still have the wheel
        // (current-thread runtimes) or are woken at the next arming.
        let _ = timerfd_settime(&self.fd, TimerfdTimerFlags::empty(), &spec);
    }

    /// The thread: wait for the timerfd, wake the timers that are due, arm for the next.
    fn run(&self) {
        let mut due_wakers: Vec<Waker> = Vec::new();
        let mut expirations = [0u8; 8];
        loop {
            // Blocks until the timerfd expires; an error (EINTR) just looks again.
            let _ = rustix::io::read(&self.fd, &mut expirations);
            let now = Instant::now();
            let mut guard = self.lock();
            let queue = &mut *guard;
            while let Some(&Reverse((due, index, generation))) = queue.heap.peek() {
                if due > now {
                    break;
                }
                queue.heap.pop();
                let slot = &mut queue.slots[index];
                if slot.generation != generation || slot.queued != Some(due) {
                    continue; // a former owner's, or a stale entry of this slot
                }
                slot.queued = None;
                match slot.due {
                    Some(wanted) if wanted > now => {
                        slot.queued = Some(wanted);
                        queue.heap.push(Reverse((wanted, index, generation)));
                    }
                    Some(_) => {
                        slot.due = None;
                        if let Some(waker) = slot.waker.take() {
                            due_wakers.push(waker);
                        }
                    }
                    None => {}
                }
            }
            let next = queue
                .heap
                .peek()
                .map(|&Reverse((due, ..))| self.arm_time(queue, due));
            self.arm(queue, next);
            drop(guard);
            // Woken outside the lock: a wake may run the task's runtime code.
            for waker in due_wakers.drain(..) {
                waker.wake();
            }
        }
    }
}
