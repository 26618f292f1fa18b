//! The OS timer of precise timers on Linux: a timerfd. On a runtime with tokio's IO
//! driver, one per worker, in the runtime's own reactor (`reactor.rs`); on a runtime
//! without it, one for the whole process, read by one thread (`thread.rs`). Both keep
//! their timers in a `Shard` (`shard.rs`). [`OsTimer`] is all that `Precise` sees of
//! them; `../other.rs` has the same items for every other platform.

mod reactor;
mod shard;
mod thread;

use std::sync::Arc;
use std::task::Waker;

use tokio::time::Instant;

use crate::wait::Waiter;

/// This platform has an OS timer.
pub(super) const EXISTS: bool = true;

/// A timer's place with an OS timer: nothing until its first wait, then a slot in a shard
/// of the runtime of that wait.
#[derive(Debug)]
pub(super) struct OsTimer {
    state: State,
}

#[derive(Debug)]
enum State {
    /// No shard serves the timer: it has not waited yet, or left its shard (another
    /// poller, or the shard's runtime is gone).
    Unserved,
    /// The last look for an OS timer found none (no descriptor left); the next wait
    /// looks again.
    Failed,
    /// The shard serving the timer, for the poller it was found for.
    Serving(Serving),
}

#[derive(Debug)]
struct Serving {
    shard: Arc<shard::Shard>,
    index: usize,
    generation: u64,
    /// Who polled when the shard was found: the shard belongs to that poller's runtime.
    waiter: Waiter,
}

impl OsTimer {
    pub(super) fn new() -> Self {
        OsTimer {
            state: State::Unserved,
        }
    }

    /// Whether the shard serving the timer was found for the poller of now.
    pub(super) fn is_here(&self) -> bool {
        match &self.state {
            State::Serving(serving) => serving.waiter.is_current(),
            State::Unserved | State::Failed => true,
        }
    }

    /// Whether an OS timer serves the timer: unless its last look found none (no file
    /// descriptor left for a timerfd).
    pub(super) fn is_available(&self) -> bool {
        !matches!(self.state, State::Failed)
    }

    /// Asks the OS timer to wake `waker` at `due` on tokio's clock, whose current time is
    /// `now`; `false` if none serves the timer now.
    pub(super) fn wake_at(&mut self, due: Instant, now: Instant, waker: &Waker) -> bool {
        let Some(serving) = self.serving() else {
            return false;
        };
        // tokio's `Instant` is std's plus the offset of every pause and advance of its
        // clock: convert through the time left, not the instant.
        let std_now = std::time::Instant::now();
        let at = std_now + due.saturating_duration_since(now);
        if !serving
            .shard
            .wake_at(serving.index, serving.generation, at, std_now, waker)
        {
            // The shard's runtime is gone (shutting down): the wheel serves.
            self.leave();
            return false;
        }
        true
    }

    /// The OS timer need not wake the timer any more (the wheel woke it, or it was
    /// stopped).
    pub(super) fn cancel(&self) {
        if let State::Serving(serving) = &self.state {
            serving.shard.cancel(serving.index);
        }
    }

    /// The shard serving the timer for the poller of now: the one found before if it was
    /// found for this poller, else one of this runtime (`None`: no descriptor left).
    fn serving(&mut self) -> Option<&Serving> {
        if matches!(&self.state, State::Serving(serving) if !serving.waiter.is_current()) {
            self.leave();
        }
        if !matches!(self.state, State::Serving(_)) {
            let shard = match reactor::shard_for_current() {
                reactor::Found::Shard(shard) => Some(shard),
                reactor::Found::NoIo => thread::shard(),
                reactor::Found::Nothing => None,
            };
            self.state = shard.map_or(State::Failed, |shard| {
                let (index, generation) = shard.register();
                State::Serving(Serving {
                    shard,
                    index,
                    generation,
                    waiter: Waiter::current(),
                })
            });
        }
        match &self.state {
            State::Serving(serving) => Some(serving),
            State::Unserved | State::Failed => None,
        }
    }

    /// Leaves the shard serving the timer (another poller, or its runtime is gone).
    fn leave(&mut self) {
        if let State::Serving(serving) = &self.state {
            serving.shard.deregister(serving.index);
            self.state = State::Unserved;
        }
    }
}

impl Drop for OsTimer {
    fn drop(&mut self) {
        self.leave();
    }
}
