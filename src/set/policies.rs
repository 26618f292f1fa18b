//! The missed-tick policies of a [`TimerSet`](crate::TimerSet)'s entries, indexed by a
//! `u32` in each entry. A built-in policy is kept once, however many entries use it
//! (a million entries with `SkipMissedAndResync` share one); a custom policy has a slot of
//! its own. Slots count their users and are reused once free.

use std::collections::HashMap;

use super::slab::Slab;
use crate::jitter::Jitter;
use crate::policy::{BuiltinPolicy, Policy};

#[derive(Debug, Default)]
pub(super) struct Policies {
    slots: Slab<Slot>,
    builtins: HashMap<BuiltinPolicy, u32>,
    /// The built-in policy added last, and its index: a set filled with one policy
    /// finds it without hashing.
    last: Option<(BuiltinPolicy, u32)>,
}

#[derive(Debug)]
struct Slot {
    policy: Policy,
    users: usize,
    /// The jitter of the entry that uses this slot: a jittered entry's slot is its own.
    jitter: Option<Jitter>,
}

impl Policies {
    /// The index of `policy`, taking a use of it.
    pub(super) fn add(&mut self, policy: Policy, jitter: Option<Jitter>) -> u32 {
        // A jittered entry keeps its policy (and jitter) in a slot of its own.
        let builtin = policy.builtin().filter(|_| jitter.is_none());
        let last = match (self.last, builtin) {
            (Some((last, index)), Some(builtin)) if last == builtin => Some(index),
            _ => None,
        };
        let found = last.or_else(|| builtin.as_ref().and_then(|b| self.builtins.get(b).copied()));
        if let Some(index) = found {
            if let Some(slot) = self.slots.get_mut(index) {
                slot.users += 1;
                self.last = builtin.map(|builtin| (builtin, index));
                return index;
            }
        }
        // The set holds fewer entries than `u32::MAX`, and no more policies than entries.
        let index = self.slots.insert(Slot {
            // A built-in policy given as a `BuiltinPolicy` value is kept as the policy it
            // stands for: the slot is shared, and a set never shows its policies.
            policy: builtin.map_or(policy, Policy::from),
            users: 1,
            jitter,
        });
        if let Some(builtin) = builtin {
            self.builtins.insert(builtin, index);
            self.last = Some((builtin, index));
        }
        index
    }

    /// Gives back a use of the policy at `index`.
    pub(super) fn release(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        slot.users -= 1;
        if slot.users == 0 {
            if let Some(builtin) = slot.policy.builtin().filter(|_| slot.jitter.is_none()) {
                self.builtins.remove(&builtin);
                if self.last.is_some_and(|(last, _)| last == builtin) {
                    self.last = None;
                }
            }
            self.slots.remove(index);
        }
    }

    pub(super) fn get(&self, index: u32) -> &Policy {
        match self.slots.get(index) {
            Some(slot) => &slot.policy,
            None => unreachable!("an entry's policy lives as long as the entry"),
        }
    }

    /// The jitter of the entries using the slot at `index`, if any.
    pub(super) fn jitter(&self, index: u32) -> Option<Jitter> {
        self.slots.get(index).and_then(|slot| slot.jitter)
    }

    pub(super) fn clear(&mut self) {
        *self = Policies::default();
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{MissedTickPolicy, SkipMissedAndDrift, TriggerAllMissed};
    use std::time::Duration;

    #[derive(Debug)]
    struct Custom;
    impl MissedTickPolicy for Custom {
        fn calculate_next_tick_time(&self, interval: u64, scheduled: u64, _now: u64) -> u64 {
            scheduled + 2 * interval
        }
    }

    #[test]
    fn builtins_are_shared_and_customs_are_not() {
        let mut policies = Policies::default();
        let drift = SkipMissedAndDrift::new(Duration::from_millis(5));
        let a = policies.add(Policy::new(TriggerAllMissed), None);
        let b = policies.add(Policy::new(TriggerAllMissed), None);
        let c = policies.add(Policy::new(drift), None);
        let d = policies.add(Policy::new(Custom), None);
        let e = policies.add(Policy::new(Custom), None);
        assert_eq!(a, b);
        assert_ne!(d, e);
        assert_eq!(policies.len(), 4);
        assert_eq!(policies.get(c).next_tick_time(10, 0, 6_000), 6_010);

        policies.release(a);
        assert_eq!(policies.len(), 4, "one user of TriggerAllMissed is left");
        policies.release(b);
        policies.release(d);
        assert_eq!(policies.len(), 2);
        // Freed slots are reused, and a built-in comes back as a new slot.
        let f = policies.add(Policy::new(TriggerAllMissed), None);
        assert!(f == a || f == d);
        assert_eq!(policies.len(), 3);
    }

    #[test]
    fn a_builtin_policy_value_shares_the_slot_of_the_policy_it_stands_for() {
        let mut policies = Policies::default();
        let drift = SkipMissedAndDrift::new(Duration::from_millis(5));
        let as_value = BuiltinPolicy::from(drift);
        let a = policies.add(Policy::new(drift), None);
        let b = policies.add(Policy::new(as_value), None);
        assert_eq!(a, b);
        assert_eq!(policies.len(), 1);
        // Kept as the policy it stands for, whichever came first.
        let c = policies.add(Policy::new(BuiltinPolicy::TriggerAllMissed), None);
        assert!(matches!(policies.get(c), Policy::TriggerAllMissed));
        assert_eq!(policies.add(Policy::new(TriggerAllMissed), None), c);
    }

    #[test]
    fn a_jittered_builtin_has_a_slot_of_its_own_and_leaves_the_shared_one() {
        let mut policies = Policies::default();
        let jitter = Some(Jitter {
            max_us: 10,
            seed: 1,
        });
        let shared = policies.add(Policy::new(TriggerAllMissed), None);
        let own = policies.add(Policy::new(TriggerAllMissed), jitter);
        assert_ne!(shared, own);
        policies.release(own);
        assert_eq!(policies.add(Policy::new(TriggerAllMissed), None), shared);
        assert_eq!(policies.len(), 1);
    }

    #[test]
    fn bounded_catch_up_is_shared_per_bound() {
        let mut policies = Policies::default();
        let mut add = |max| {
            let policy = crate::policy::TriggerMissedUpTo::new(max);
            policies.add(Policy::new(policy), None)
        };
        let (a, b, c) = (add(3), add(3), add(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(policies.len(), 2);
    }
}
