//! The due times of a [`TimerSet`](crate::TimerSet): a 4-ary min-heap of (due, slot)
//! pairs, 16 bytes each.
//!
//! Four children to a node halve the depth of a binary heap, and the four sit side by
//! side in memory, so a sift costs about one cache line a level: with a million entries,
//! ten levels instead of twenty. Entries are never looked up in the heap: a change of an
//! entry's due time pushes a new item and leaves the old one behind, and the set drops
//! items that no longer match their entry when they come to the top (see `set/mod.rs`).

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
    items: Vec<Item>,
}

const ARITY: usize = 4;

impl Heap {
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn peek(&self) -> Option<Item> {
        self.items.first().copied()
    }

    pub(super) fn push(&mut self, item: Item) {
        self.items.push(item);
        self.sift_up(self.items.len() - 1);
    }

    pub(super) fn pop(&mut self) {
        let Some(last) = self.items.pop() else {
            return;
        };
        if !self.items.is_empty() {
            self.items[0] = last;
            self.sift_down(0);
        }
    }

    /// Replaces the top with `item`: a delivered entry's next due time, in one sift
    /// instead of a pop and a push.
    pub(super) fn replace_top(&mut self, item: Item) {
        match self.items.first_mut() {
            Some(top) => {
                *top = item;
                self.sift_down(0);
            }
            None => self.items.push(item),
        }
    }

    /// Starts over with exactly `items` (a heap of its own in O(n)): how the set sheds
    /// the items its entries left behind.
    pub(super) fn rebuild(&mut self, items: impl IntoIterator<Item = Item>) {
        self.items.clear();
        // Within the capacity it has: no allocation, and memory stays flat.
        self.items.extend(items);
        for parent in (0..self.items.len() / ARITY + 1).rev() {
            self.sift_down(parent);
        }
    }

    pub(super) fn clear(&mut self) {
        self.items.clear();
    }

    /// The bytes it holds, for the set's memory accounting.
    pub(super) fn capacity_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Item>()
    }

    fn sift_up(&mut self, mut at: usize) {
        let item = self.items[at];
        while at > 0 {
            let parent = (at - 1) / ARITY;
            if self.items[parent] <= item {
                break;
            }
            self.items[at] = self.items[parent];
            at = parent;
        }
        self.items[at] = item;
    }

    fn sift_down(&mut self, mut at: usize) {
        let len = self.items.len();
        if at >= len {
            return;
        }
        let item = self.items[at];
        loop {
            let first = at * ARITY + 1;
            if first >= len {
                break;
            }
            let last = (first + ARITY).min(len);
            let mut least = first;
            for child in first + 1..last {
                if self.items[child] < self.items[least] {
                    least = child;
                }
            }
            if item <= self.items[least] {
                break;
            }
            self.items[at] = self.items[least];
            at = least;
        }
        self.items[at] = item;
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
        for (slot, &due) in dues.iter().enumerate() {
            heap.push(item(due, slot as u32));
        }
        let mut want: Vec<Item> = (0..dues.len()).map(|s| item(dues[s], s as u32)).collect();
        want.sort();
        assert_eq!(drain(&mut heap), want);
    }

    #[test]
    fn replace_top_and_rebuild_keep_the_order() {
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

        heap.rebuild(want.iter().rev().copied());
        assert_eq!(drain(&mut heap), want);
        heap.replace_top(item(4, 4));
        assert_eq!(drain(&mut heap), vec![item(4, 4)]);
    }
}
