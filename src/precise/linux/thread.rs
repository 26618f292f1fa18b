//! The fallback waker of precise timers on runtimes without tokio's IO driver: one
//! [`Shard`] for the whole process, whose timerfd one thread reads, blocking. Each wake
//! of a timer then hops from that thread to the timer's runtime. Safe syscalls through
//! rustix; no `unsafe`.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Waker;

use super::shard::{timerfd, Fd, Shard};

/// The process's thread-served shard, started on first use; `None` if the timerfd or
/// the thread cannot be created now (no descriptor left, no thread): that wait falls back
/// to the wheel, and the next one tries again.
pub(crate) fn shard() -> Option<Arc<Shard>> {
    static SHARD: OnceLock<Arc<Shard>> = OnceLock::new();
    static STARTING: Mutex<()> = Mutex::new(());
    if let Some(shard) = SHARD.get() {
        return Some(shard.clone());
    }
    // One start at a time, so that two first timers do not start two threads.
    let _starting = STARTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(shard) = SHARD.get() {
        return Some(shard.clone());
    }
    let shard = start()?;
    Some(SHARD.get_or_init(|| shard).clone())
}

fn start() -> Option<Arc<Shard>> {
    let fd = Arc::new(timerfd(false)?);
    let shard = Arc::new(Shard::new(Fd::Thread(fd.clone())));
    let run = shard.clone();
    std::thread::Builder::new()
        .name("kadenz-precise".into())
        .spawn(move || serve(&run, &fd))
        .ok()?;
    Some(shard)
}

/// The thread: wait for the timerfd, wake the timers that are due, arm for the next.
fn serve(shard: &Shard, fd: &OwnedFd) {
    let mut due_wakers: Vec<Waker> = Vec::new();
    let mut expirations = [0u8; 8];
    loop {
        // Blocks until the timerfd expires; an error (EINTR) just looks again.
        let _ = rustix::io::read(fd, &mut expirations);
        shard.expire(&mut due_wakers);
        for waker in due_wakers.drain(..) {
            waker.wake();
        }
    }
}
