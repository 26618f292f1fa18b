//! The part of the handle protocol (stated in the module doc of `src/handle.rs`) that a
//! timer's handles and a set's (`src/set/handle.rs`) share: the slot under the mutex, the
//! `pending` flag its owner reads without the lock, the owner's taking of the commands,
//! its registration of its waker and of the instant its wheel wakes it anyway (with the
//! copy that skips the lock when nothing changed), a handle's leaving of a command, and
//! the rule for when a start needs the owner before that instant. What the commands are,
//! and how the owner applies them, stay with each owner. Both loom checks
//! (`src/handle/loom_check.rs`, `src/set/handle/loom_check.rs`) run their models through
//! this module.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::task::Waker;

use tokio::time::Instant;

use crate::schedule::{Schedule, Start};
use crate::sync::{Arc, AtomicBool, Mutex, MutexGuard};

/// What an owner and its handles share: `C`, the owner's commands, in the slot; `B`,
/// what the owner registers with its waker besides the instant (the set: a lower bound
/// of its entries' intervals; a timer: nothing); `F`, what the handles read without the
/// lock and nobody changes (a timer's name and jitter).
#[derive(Debug)]
pub(crate) struct Shared<C, B, F> {
    slot: Mutex<Slot<C, B>>,
    /// A command waits in the slot. Read by the owner without the lock.
    pending: AtomicBool,
    pub(crate) fixed: F,
}

/// The slot: the owner's commands (which it derefs to, so that each owner's code reads
/// its own fields as the slot's) and the owner's wake-up.
#[derive(Debug)]
pub(crate) struct Slot<C, B> {
    commands: C,
    /// The waker of the owner's last `Pending` poll, and the instant its wheel wakes it
    /// anyway (`None`: nothing but a command wakes it).
    waker: Option<Waker>,
    armed: Option<Instant>,
    bound: B,
}

impl<C, B> Deref for Slot<C, B> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.commands
    }
}

impl<C, B> DerefMut for Slot<C, B> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.commands
    }
}

impl<C, B: Copy> Slot<C, B> {
    /// What the owner registered besides its waker and instant.
    pub(crate) fn bound(&self) -> B {
        self.bound
    }

    /// Whether a start whose first tick is counted with `interval_us` needs the owner
    /// before the instant its wheel wakes it (or the owner waits for nothing). A start
    /// that puts the first tick at or after that instant needs no wake: then, the owner
    /// applies it and waits again.
    pub(crate) fn start_needs_owner(&self, start: Start, interval_us: u64) -> bool {
        match self.armed {
            Some(armed) => first_due(start, interval_us).is_some_and(|due| due < armed),
            None => true,
        }
    }

    /// Lets go of the owner's waker: the owner is gone, and no command wakes its task.
    pub(crate) fn forget_waker(&mut self) {
        self.waker = None;
    }
}

/// When a start puts the first tick (`None`: never), for the wake-up decision: asked of
/// the schedule itself, which owns that rule.
fn first_due(start: Start, interval_us: u64) -> Option<Instant> {
    let mut probe = Schedule::new(interval_us);
    probe.start(start);
    probe.due().at()
}

impl<C, B, F> Shared<C, B, F> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Slot<C, B>> {
        // Nothing panics while the lock is held but a waker's `clone` and a set's key's
        // `drop`; the slot is consistent at every point, so a poisoned lock is used as
        // it is.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the command a handle put in `slot` (this slot, locked) pending and, if
    /// `wake`, wakes the owner's task (outside the lock).
    pub(crate) fn leave(&self, mut slot: MutexGuard<'_, Slot<C, B>>, wake: bool) {
        self.pending.store(true, Ordering::Release);
        let waker = if wake { slot.waker.take() } else { None };
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The owner's side of the shared slot.
#[derive(Debug)]
pub(crate) struct Owner<C, B, F> {
    shared: Arc<Shared<C, B, F>>,
    /// What the owner last put in the slot (waker, armed, bound), to skip the lock when a
    /// poll would register the same again.
    registered: Option<(Waker, Option<Instant>, B)>,
}

impl<C, B: Copy + PartialEq, F> Owner<C, B, F> {
    pub(crate) fn new(commands: C, bound: B, fixed: F) -> Self {
        Owner {
            shared: Arc::new(Shared {
                slot: Mutex::new(Slot {
                    commands,
                    waker: None,
                    armed: None,
                    bound,
                }),
                pending: AtomicBool::new(false),
                fixed,
            }),
            registered: None,
        }
    }

    /// The shared part, for a new handle.
    pub(crate) fn share(&self) -> Arc<Shared<C, B, F>> {
        self.shared.clone()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Slot<C, B>> {
        self.shared.lock()
    }

    /// Whether a command waits in the slot (read without the lock).
    pub(crate) fn pending(&self) -> bool {
        self.shared.pending.load(Ordering::Acquire)
    }

    /// The slot, locked, if a command waits in it (else `None`, without the lock), for
    /// the owner to take the commands: they are no longer pending. Inlined, as each
    /// owner's taking was before it came here: every poll of an owner with handles runs
    /// its first line.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<MutexGuard<'_, Slot<C, B>>> {
        if !self.shared.pending.load(Ordering::Acquire) {
            return None;
        }
        let slot = self.shared.lock();
        self.shared.pending.store(false, Ordering::Relaxed);
        // A handle may have taken the waker: register again on the next `Pending`.
        self.registered = None;
        Some(slot)
    }

    /// Makes sure `waker` is woken by a command that may need the owner before `armed`
    /// (judged with `bound`). `false` if a command arrived in the meantime: apply it and
    /// poll again.
    pub(crate) fn register(&mut self, waker: &Waker, armed: Option<Instant>, bound: B) -> bool {
        if let Some((registered, at, registered_bound)) = &self.registered {
            if *at == armed && *registered_bound == bound && registered.will_wake(waker) {
                return true;
            }
        }
        let mut slot = self.shared.lock();
        if self.shared.pending.load(Ordering::Relaxed) {
            return false;
        }
        slot.waker = Some(waker.clone());
        slot.armed = armed;
        slot.bound = bound;
        drop(slot);
        self.registered = Some((waker.clone(), armed, bound));
        true
    }
}
