//! Precise timers woken by their runtime's own reactor: each runtime with tokio's IO
//! driver gets one [`Shard`] per worker (one on a current-thread runtime), each a
//! non-blocking timerfd registered in the runtime's epoll and drained by a task of the
//! runtime ([`Drive`]). A timer joins a shard of the runtime it waits on; no thread, no
//! lock or queue shared by the timers of different shards.
//!
//! Registration: tokio's `AsyncFd` constructors are either deprecated as unsound
//! (tokio#8587) or `unsafe`; `tokio::net::unix::pipe::Receiver::from_owned_fd_unchecked`
//! registers any owned descriptor for reading, safely (it owns the descriptor, which
//! stays open as long as it lives), and is what this module uses: the timerfd is only
//! ever read by readiness, never as a pipe.
//!
//! How kadenz finds out whether a runtime has the IO driver: tokio offers no way to ask,
//! and registering on a runtime without it panics ("IO is disabled"). So the first
//! precise wait on a runtime (once per runtime) tries, inside `catch_unwind`: on a
//! runtime without IO the panic is caught (the process's panic hook still reports it
//! once, with tokio's message), the runtime is remembered as one without IO, and its
//! precise timers use the process's thread (`thread.rs`). Built with `panic = "abort"`,
//! nothing is tried: every runtime uses the thread.

use std::future::Future;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::net::unix::pipe::Receiver;
use tokio::runtime::{Handle, RuntimeFlavor};

use super::shard::{timerfd, Fd, Shard};

/// At most this many shards per runtime, whatever its number of workers.
const MAX_SHARDS: usize = 64;

/// Runtimes without the IO driver remembered, the latest; an older one forgotten is tried
/// again (one caught panic more).
const NO_IO_REMEMBERED: usize = 64;

#[derive(Debug)]
enum Served {
    /// The runtime's shards, and the next one to hand out.
    Reactor {
        shards: Vec<Arc<Shard>>,
        next: usize,
    },
    NoIo,
}

#[derive(Debug)]
struct Runtime {
    id: tokio::runtime::Id,
    served: Served,
}

static RUNTIMES: Mutex<Vec<Runtime>> = Mutex::new(Vec::new());

fn runtimes() -> MutexGuard<'static, Vec<Runtime>> {
    // Nothing panics under the lock (a registration's panic is caught inside): a poisoned
    // lock is used as it is.
    RUNTIMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What serves the precise timers of the runtime polling now.
#[derive(Debug)]
pub(crate) enum Found {
    /// A shard of the runtime's reactor.
    Shard(Arc<Shard>),
    /// The runtime has no IO driver.
    NoIo,
    /// No timerfd could be made (no descriptor left), or the runtime is shutting down.
    Nothing,
}

/// A shard of the current runtime for a new timer (round robin), its shards made on
/// first use.
pub(crate) fn shard_for_current() -> Found {
    let handle = Handle::current();
    let id = handle.id();
    let mut runtimes = runtimes();
    if let Some(runtime) = runtimes.iter_mut().find(|runtime| runtime.id == id) {
        return match &mut runtime.served {
            Served::NoIo => Found::NoIo,
            Served::Reactor { shards, next } => {
                let shard = shards[*next % shards.len()].clone();
                *next = next.wrapping_add(1);
                if shard.is_open() {
                    Found::Shard(shard)
                } else {
                    Found::Nothing
                }
            }
        };
    }
    // The runtimes that were dropped: their shards were closed by their drive tasks.
    runtimes.retain(|runtime| match &runtime.served {
        Served::Reactor { shards, .. } => shards.iter().any(|shard| shard.is_open()),
        Served::NoIo => true,
    });
    let workers = match handle.runtime_flavor() {
        RuntimeFlavor::MultiThread => handle.metrics().num_workers(),
        _ => 1,
    };
    let mut shards = Vec::new();
    for _ in 0..workers.clamp(1, MAX_SHARDS) {
        let Some(fd) = timerfd(true) else {
            return Found::Nothing;
        };
        match register(fd) {
            Registered::Yes(receiver) => {
                let shard = Arc::new(Shard::new(Fd::Reactor(Some(receiver))));
                handle.spawn(Drive {
                    shard: shard.clone(),
                    due_wakers: Vec::new(),
                });
                shards.push(shard);
            }
            Registered::Failed => return Found::Nothing,
            Registered::NoIo => {
                let no_io = runtimes
                    .iter()
                    .filter(|runtime| matches!(runtime.served, Served::NoIo))
                    .count();
                if no_io >= NO_IO_REMEMBERED {
                    if let Some(oldest) = runtimes
                        .iter()
                        .position(|runtime| matches!(runtime.served, Served::NoIo))
                    {
                        runtimes.remove(oldest);
                    }
                }
                runtimes.push(Runtime {
                    id,
                    served: Served::NoIo,
                });
                return Found::NoIo;
            }
        }
    }
    let shard = shards[0].clone();
    runtimes.push(Runtime {
        id,
        served: Served::Reactor { shards, next: 1 },
    });
    Found::Shard(shard)
}

enum Registered {
    Yes(Receiver),
    Failed,
    NoIo,
}

/// Registers `fd` for reading in the current runtime's reactor.
#[cfg(panic = "unwind")]
fn register(fd: OwnedFd) -> Registered {
    let registered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Receiver::from_owned_fd_unchecked(fd)
    }));
    match registered {
        Ok(Ok(receiver)) => Registered::Yes(receiver),
        Ok(Err(_)) => Registered::Failed,
        Err(_) => Registered::NoIo,
    }
}

/// Built with `panic = "abort"`, a runtime without the IO driver cannot be told apart
/// (registering would abort the process): every runtime counts as one without it, and
/// `fd` is closed.
#[cfg(not(panic = "unwind"))]
fn register(_fd: OwnedFd) -> Registered {
    Registered::NoIo
}

/// The task that drains a shard: it waits for its timerfd in the runtime's reactor, wakes
/// the timers that are due (in the runtime, no thread hop) and arms the timerfd for the
/// next. Dropped when its runtime shuts down, which closes the shard: the timerfd and its
/// registration (which holds the runtime's driver) go with it, whoever still holds the
/// shard.
#[derive(Debug)]
struct Drive {
    shard: Arc<Shard>,
    due_wakers: Vec<Waker>,
}

impl Future for Drive {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            {
                let queue = this.shard.lock();
                let Fd::Reactor(Some(receiver)) = &queue.fd else {
                    return Poll::Ready(());
                };
                match receiver.poll_read_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(())) => {
                        // Only tokio's readiness is cleared, the timerfd is not read:
                        // tokio registers it edge-triggered, and each expiry is a new
                        // edge whatever count of expirations the timerfd holds.
                        let _ = receiver.try_io(|| {
                            Err::<(), _>(std::io::Error::from(std::io::ErrorKind::WouldBlock))
                        });
                    }
                    Poll::Ready(Err(_)) => {
                        drop(queue);
                        drop(this.shard.close());
                        return Poll::Ready(());
                    }
                }
            }
            this.shard.expire(&mut this.due_wakers);
            for waker in this.due_wakers.drain(..) {
                waker.wake();
            }
        }
    }
}

impl Drop for Drive {
    fn drop(&mut self) {
        // Outside the shard's lock: dropping the registration talks to the reactor.
        drop(self.shard.close());
    }
}
