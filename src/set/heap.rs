//! Due times of a [`TimerSet`](crate::TimerSet): a 4-ary min-heap of (due, slot)
//! pairs, kept as two arrays.
//!
//! Four children to a node halve the depth of a binary heap, and a sift compares only the
//! due times, which sit side by side in their own array: four children are 32 bytes, one
//! cache line at most, so a sift costs about one line a level (with a million entries,
//! ten levels instead of twenty), and an item 12 bytes instead of a padded 16. The set's
//! queue (`queue.rs`) keeps two: the near due times and the far ones.

/// One due time: `due` orders the heap (nanoseconds, in the set's own order-preserving
/// encoding), `slot` names the entry. Equal due times come out lowest slot first, so the
/// order is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Item {
    pub(super) due: u64,
    pub(super) slot: u32,
}

#[derive(Debug, Default)]
pub(super) struct Heap {
    dues: Vec<u64>,
    slots: Vec<u32>,
}

const ARITY: usize = 4;

impl Heap {
    pub(super) fn len(&self) -> usize {
        self.dues.len()
    }

    pub(super) fn peek(&self) -> Option<Item> {
        Some(self.item(0)).filter(|_| !self.dues.is_empty())
    }

    fn item(&self, at: usize) -> Item {
        Item {
            due: self.dues.get(at).copied().unwrap_or(u64::MAX),
            slot: self.slots.get(at).copied().unwrap_or(u32::MAX),
        }
    }

    fn set(&mut self, at: usize, item: Item) {
        self.dues[at] = item.due;
        self.slots[at] = item.slot;
    }

    pub(super) fn push(&mut self, item: Item) {
        self.dues.push(item.due);
        self.slots.push(item.slot);
        self.sift_up(self.dues.len() - 1, item);
    }

    pub(super) fn pop(&mut self) {
        let (Some(due), Some(slot)) = (self.dues.pop(), self.slots.pop()) else {
            return;
        };
        if !self.dues.is_empty() {
            self.sift_down(0, Item { due, slot });
        }
    }

    /// Replaces the top with `item`: a delivered entry's next due time, in one sift
    /// instead of a pop and a push.
    pub(super) fn replace_top(&mut self, item: Item) {
        if self.dues.is_empty() {
            self.push(item);
        } else {
            self.sift_down(0, item);
        }
    }

    /// Takes every item out, in no particular order.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = Item> + '_ {
        self.dues
            .drain(..)
            .zip(self.slots.drain(..))
            .map(|(due, slot)| Item { due, slot })
    }

    pub(super) fn clear(&mut self) {
        self.dues.clear();
        self.slots.clear();
    }

    /// The bytes it holds, for the set's memory accounting.
    pub(super) fn capacity_bytes(&self) -> usize {
        self.dues.capacity() * std::mem::size_of::<u64>()
            + self.slots.capacity() * std::mem::size_of::<u32>()
    }

    /// Puts `item` at `at` or above it.
    fn sift_up(&mut self, mut at: usize, item: Item) {
        while at > 0 {
            let parent = (at - 1) / ARITY;
            let above = self.item(parent);
            if above <= item {
                break;
            }
            self.set(at, above);
            at = parent;
        }
        self.set(at, item);
    }

    /// Puts `item` at `at` or below it.
    fn sift_down(&mut self, mut at: usize, item: Item) {
        let len = self.dues.len();
        loop {
            let first = at * ARITY + 1;
            if first >= len {
                break;
            }
            let last = (first + ARITY).min(len);
            // The least child by due time alone (the common case: no tie), the slot only
            // to break a tie.
            let mut least = first;
            let mut least_due = self.dues[first];
            for child in first + 1..last {
                let due = self.dues[child];
                if due < least_due || (due == least_due && self.slots[child] < self.slots[least]) {
                    least = child;
                    least_due = due;
                }
            }
            let below = self.item(least);
            if item <= below {
                break;
            }
            self.set(at, below);
            at = least;
        }
        self.set(at, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(heap: &mut Heap) -> Vec<Item> {
        let mut out = Vec::new();
        while let Some(top) = heap.peek() {
            out.push(top);
            heap.pop();
        }
        out
    }

    fn item(due: u64, slot: u32) -> Item {
        Item { due, slot }
    }

    #[test]
    fn yields_in_order_of_due_then_slot() {
        let mut heap = Heap::default();
        // A fixed permutation with ties, enough for three levels.
        let dues = [
            7u64, 3, 9, 3, 1, 8, 2, 2, 6, 5, 4, 0, 9, 1, 7, 3, 5, 5, 0, 2, 8,
        ];
        for (slot, &due) in dues.iter().enumerate().rev() {
            heap.push(item(due, slot as u32));
        }
        let mut want: Vec<Item> = (0..dues.len()).map(|s| item(dues[s], s as u32)).collect();
        want.sort();
        assert_eq!(drain(&mut heap), want);
    }

    #[test]
    fn replace_top_keeps_the_order() {
        let mut heap = Heap::default();
        for slot in 0..30u32 {
            heap.push(item(u64::from(slot % 7), slot));
        }
        // Deliver the first ten, each coming back 10 later.
        for _ in 0..10 {
            let top = heap.peek().unwrap();
            heap.replace_top(item(top.due + 10, top.slot));
        }
        let mut want = drain(&mut heap);
        let check = want.clone();
        want.sort();
        assert_eq!(check, want);

        heap.replace_top(item(4, 4));
        assert_eq!(drain(&mut heap), vec![item(4, 4)]);
    }
}
