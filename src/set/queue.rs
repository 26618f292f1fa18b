//! The due times of a [`TimerSet`](crate::TimerSet), in the order they come due.
//!
//! A small set keeps them in one heap. A large one (more than 65,536 items) spreads
//! them: a near heap for the current bucket of about 17 ms, a ring of unsorted buckets for
//! the next 17 seconds, and a far heap for the rest.
//!
//! Why: a delivered entry's next due time lies a whole period ahead, behind almost every
//! other, so in one heap each tick sifts a new item from the top to the bottom: with a
//! million items ten levels, the lower ones cache misses, measured as the larger part of
//! a tick's cost. Spread, a tick takes its item from the near heap (thousands of items, in
//! cache) and appends the next due time to its bucket, a write next to the one before.
//! When the near heap runs dry the next bucket is poured into it, mostly a comparison or
//! two per item. Only due times beyond the ring's 17 s go to the far heap.
//!
//! Buckets are linked lists of fixed-size chunks in one arena, so a bucket wastes at most
//! one partly filled chunk, and after a warm-up nothing allocates.

use super::heap::{Heap, Item};

/// Items a set keeps in one heap before it spreads them: below this, one heap fits in
/// the caches, and a ring's partly filled chunks would cost more memory than they save
/// time.
const SPREAD: usize = 65_536;
/// A bucket spans 2^24 ns (16.8 ms) of due times.
const SHIFT: u32 = 24;
/// Buckets in the ring: 1,024 × 16.8 ms = 17.2 s ahead of the near heap.
const RING: u64 = 1024;
/// Items in a chunk: 32 × 12 bytes (a ring wastes at most one partly filled chunk a
/// bucket, 384 KiB at most).
const CHUNK: usize = 32;
/// No chunk.
const NONE: u32 = u32::MAX;

#[derive(Debug)]
pub(super) struct Queue {
    /// Every item, or once spread every item of a bucket up to the ring's cursor.
    near: Heap,
    ring: Option<Ring>,
    /// `SPREAD`; lower in tests, to check the ring with few items.
    spread_at: usize,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            near: Heap::default(),
            ring: None,
            spread_at: SPREAD,
        }
    }
}

#[derive(Debug)]
struct Ring {
    /// Spread: items go through the ring. Not after `clear`, until the set is large again.
    active: bool,
    /// The near heap holds every item of the buckets up to this one.
    cursor: u64,
    /// The first and last chunk of bucket `b`, for `cursor < b <= cursor + RING`, at
    /// `b % RING`.
    heads: Vec<u32>,
    tails: Vec<u32>,
    chunks: Vec<Chunk>,
    /// The first free chunk; free chunks are linked through `next`.
    free: u32,
    len: usize,
    /// Every item beyond the ring.
    far: Heap,
}

/// Up to `CHUNK` items, due times and slots apart (12 bytes an item).
#[derive(Debug)]
struct Chunk {
    dues: Vec<u64>,
    slots: Vec<u32>,
    next: u32,
}

impl Queue {
    pub(super) fn len(&self) -> usize {
        self.near.len()
            + self
                .ring
                .as_ref()
                .map_or(0, |ring| ring.len + ring.far.len())
    }

    pub(super) fn push(&mut self, item: Item) {
        match &mut self.ring {
            Some(ring) if ring.active => ring.push(item, &mut self.near),
            _ => {
                self.near.push(item);
                if self.near.len() > self.spread_at {
                    self.spread();
                }
            }
        }
    }

    /// Spreads the items of a set that grew large, from the earliest: the ring starts at
    /// its bucket. (A ring emptied by `clear` keeps its chunks, and starts again here.)
    fn spread(&mut self) {
        let Some(top) = self.near.peek() else {
            return;
        };
        let ring = self.ring.get_or_insert_with(|| Ring {
            active: false,
            cursor: 0,
            heads: vec![NONE; RING as usize],
            tails: vec![NONE; RING as usize],
            chunks: Vec::new(),
            free: NONE,
            len: 0,
            far: Heap::default(),
        });
        ring.active = true;
        ring.cursor = top.due >> SHIFT;
        let mut near = Heap::default();
        for item in self.near.drain() {
            ring.push(item, &mut near);
        }
        self.near = near;
    }

    /// The earliest item; pours the next buckets into the near heap as needed.
    pub(super) fn peek(&mut self) -> Option<Item> {
        loop {
            if let Some(top) = self.near.peek() {
                return Some(top);
            }
            let ring = self.ring.as_mut().filter(|ring| ring.active)?;
            ring.advance(&mut self.near)?;
        }
    }

    /// The earliest item if it is in the near heap, without pouring a bucket (for
    /// `&self`); `None` if the near heap is empty.
    pub(super) fn first(&self) -> Option<Item> {
        self.near.peek()
    }

    /// Removes the item [`peek`](Self::peek) returned.
    pub(super) fn pop(&mut self) {
        self.near.pop();
    }

    /// Removes the item [`peek`](Self::peek) returned and adds `item`.
    pub(super) fn replace_top(&mut self, item: Item) {
        match &self.ring {
            Some(ring) if ring.active && item.due >> SHIFT > ring.cursor => {
                self.near.pop();
                self.push(item);
            }
            _ => self.near.replace_top(item),
        }
    }

    /// Starts over with exactly `items`, spread as before.
    pub(super) fn rebuild(&mut self, items: impl IntoIterator<Item = Item>) {
        self.clear();
        for item in items {
            self.push(item);
        }
    }

    /// Empties the queue. A ring keeps its chunks, but is left until the set is large
    /// again, and then starts at the earliest due time of that day: a ring left where an
    /// old set ended would send every earlier due time to the near heap.
    pub(super) fn clear(&mut self) {
        self.near.clear();
        if let Some(ring) = &mut self.ring {
            ring.clear();
            ring.active = false;
        }
    }

    /// The bytes it holds, for the set's memory accounting.
    pub(super) fn capacity_bytes(&self) -> usize {
        self.near.capacity_bytes()
            + self.ring.as_ref().map_or(0, |ring| {
                ring.far.capacity_bytes()
                    + (ring.heads.capacity() + ring.tails.capacity()) * 4
                    + ring.chunks.capacity() * std::mem::size_of::<Chunk>()
                    + ring.chunks.len() * CHUNK * 12
            })
    }
}

impl Ring {
    fn push(&mut self, item: Item, near: &mut Heap) {
        let bucket = item.due >> SHIFT;
        if bucket <= self.cursor {
            near.push(item);
        } else if bucket - self.cursor <= RING {
            self.push_to_bucket(bucket, item);
        } else {
            self.far.push(item);
        }
    }

    fn push_to_bucket(&mut self, bucket: u64, item: Item) {
        let at = (bucket % RING) as usize;
        let tail = self.tails[at];
        let chunk = if tail != NONE && self.chunks[tail as usize].dues.len() < CHUNK {
            tail
        } else {
            let fresh = self.new_chunk();
            if tail == NONE {
                self.heads[at] = fresh;
            } else {
                self.chunks[tail as usize].next = fresh;
            }
            self.tails[at] = fresh;
            fresh
        };
        let chunk = &mut self.chunks[chunk as usize];
        chunk.dues.push(item.due);
        chunk.slots.push(item.slot);
        self.len += 1;
    }

    fn new_chunk(&mut self) -> u32 {
        if self.free != NONE {
            let chunk = self.free;
            self.free = self.chunks[chunk as usize].next;
            self.chunks[chunk as usize].next = NONE;
            return chunk;
        }
        // At most one chunk per item: fewer than `u32::MAX`, as the set's slots.
        self.chunks.push(Chunk {
            dues: Vec::with_capacity(CHUNK),
            slots: Vec::with_capacity(CHUNK),
            next: NONE,
        });
        (self.chunks.len() - 1) as u32
    }

    /// Moves the cursor to the next bucket and pours it into `near`; `None` if nothing is
    /// left beyond the near heap.
    fn advance(&mut self, near: &mut Heap) -> Option<()> {
        if self.len == 0 {
            // An empty ring: jump to the far heap's first bucket.
            let top = self.far.peek()?;
            self.cursor = self.cursor.max((top.due >> SHIFT).saturating_sub(1));
        } else {
            self.cursor += 1;
            self.empty_bucket((self.cursor % RING) as usize, |item| near.push(item));
        }
        // The far items the ring now reaches.
        while let Some(top) = self.far.peek() {
            let bucket = top.due >> SHIFT;
            if bucket > self.cursor + RING {
                break;
            }
            self.far.pop();
            self.push(top, near);
        }
        Some(())
    }

    /// Empties the bucket at `at`, handing each of its items to `each`; its chunks go
    /// back to the free list.
    fn empty_bucket(&mut self, at: usize, mut each: impl FnMut(Item)) {
        let mut chunk = std::mem::replace(&mut self.heads[at], NONE);
        self.tails[at] = NONE;
        while chunk != NONE {
            let Chunk { dues, slots, next } = &mut self.chunks[chunk as usize];
            self.len -= dues.len();
            for (&due, &slot) in dues.iter().zip(slots.iter()) {
                each(Item { due, slot });
            }
            dues.clear();
            slots.clear();
            let following = std::mem::replace(next, self.free);
            self.free = chunk;
            chunk = following;
        }
    }

    fn clear(&mut self) {
        for at in 0..RING as usize {
            self.empty_bucket(at, |_| {});
        }
        self.far.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut Queue) -> Vec<Item> {
        let mut out = Vec::new();
        while let Some(top) = queue.peek() {
            out.push(top);
            queue.pop();
        }
        out
    }

    /// The encoding of a due time `ns` from the epoch.
    fn due(ns: i64) -> u64 {
        (ns as u64) ^ (1 << 63)
    }

    /// A queue spread from the start, with `SPREAD` filler items due far in the future.
    fn spread_queue() -> Queue {
        let mut queue = Queue::default();
        for slot in 0..=SPREAD as u32 {
            queue.push(Item {
                due: due(1 << 60),
                slot: 100_000 + slot,
            });
        }
        assert!(queue.ring.is_some());
        queue
    }

    #[test]
    fn items_come_out_in_order_wherever_they_were_kept() {
        let bucket = 1i64 << SHIFT;
        let ring = bucket * RING as i64;
        let dues = [
            -5,
            0,
            3,
            bucket - 1,
            bucket,
            bucket + 7,
            5 * bucket,
            ring - 1,
            ring,
            ring + bucket,
            3 * ring,
            1 << 50,
            -bucket * 3,
            bucket,
        ];
        for mut queue in [Queue::default(), spread_queue()] {
            let filler = queue.len();
            for (slot, &ns) in dues.iter().enumerate() {
                queue.push(Item {
                    due: due(ns),
                    slot: slot as u32,
                });
            }
            assert_eq!(queue.len(), filler + dues.len());
            let mut want: Vec<Item> = dues
                .iter()
                .enumerate()
                .map(|(slot, &ns)| Item {
                    due: due(ns),
                    slot: slot as u32,
                })
                .collect();
            want.sort();
            let got = drain(&mut queue);
            assert_eq!(&got[..dues.len()], &want[..]);
            assert_eq!(queue.len(), 0);
        }
    }

    use proptest::prelude::*;

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Push(i64),
        Pop,
        /// Replace the first item with one this much later.
        Replace(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let bucket = 1i64 << SHIFT;
        // Offsets within a bucket, across buckets, across the ring, and beyond it.
        let offset = prop_oneof![
            0..1_000i64,
            0..4 * bucket,
            0..bucket * RING as i64 * 2,
            (0..1i64 << 45),
        ];
        prop_oneof![
            3 => (offset.clone(), any::<bool>()).prop_map(|(ns, past)| Op::Push(if past { -ns } else { ns })),
            2 => Just(Op::Pop),
            3 => offset.prop_map(Op::Replace),
        ]
    }

    proptest! {
        /// The queue, spread from its first item or never, against a sorted list.
        #[test]
        fn the_queue_is_a_priority_queue(ops in prop::collection::vec(op(), 1..400), spread in any::<bool>()) {
            let mut queue = Queue { spread_at: if spread { 0 } else { SPREAD }, ..Queue::default() };
            let mut model: Vec<Item> = Vec::new();
            let mut clock = 0i64;
            for (n, op) in ops.into_iter().enumerate() {
                let slot = n as u32;
                match op {
                    Op::Push(ns) => {
                        let item = Item { due: due(clock + ns), slot };
                        queue.push(item);
                        model.push(item);
                    }
                    Op::Pop => {
                        let first = model.iter().min().copied();
                        prop_assert_eq!(queue.peek(), first);
                        if let Some(first) = first {
                            queue.pop();
                            model.retain(|&item| item != first);
                        }
                    }
                    Op::Replace(ns) => {
                        let first = model.iter().min().copied();
                        prop_assert_eq!(queue.peek(), first);
                        if let Some(first) = first {
                            // As a set does: the next due time is later than the one
                            // delivered, and time has come to the delivered one.
                            clock = (first.due ^ (1 << 63)) as i64;
                            let item = Item { due: first.due + ns as u64, slot };
                            queue.replace_top(item);
                            model.retain(|&i| i != first);
                            model.push(item);
                        }
                    }
                }
                prop_assert_eq!(queue.len(), model.len());
            }
            model.sort();
            prop_assert_eq!(drain(&mut queue), model);
        }
    }

    /// A queue emptied by `clear` spreads again from the earliest due time of its new
    /// items, not from where its old ones ended: the near heap stays one bucket.
    #[test]
    fn a_cleared_queue_spreads_from_its_new_items() {
        let bucket = 1i64 << SHIFT;
        let mut queue = Queue {
            spread_at: 100,
            ..Queue::default()
        };
        for slot in 0..200u32 {
            queue.push(Item {
                due: due(3_600 * bucket + i64::from(slot)),
                slot,
            });
        }
        assert!(queue.peek().is_some());
        queue.clear();
        assert_eq!(queue.len(), 0);
        for slot in 0..1_000u32 {
            queue.push(Item {
                due: due(i64::from(slot) * bucket / 4),
                slot,
            });
        }
        assert!(queue.near.len() <= 101, "{} items near", queue.near.len());
        let mut want: Vec<Item> = (0..1_000u32)
            .map(|slot| Item {
                due: due(i64::from(slot) * bucket / 4),
                slot,
            })
            .collect();
        want.sort();
        assert_eq!(drain(&mut queue), want);
    }

    #[test]
    fn delivered_items_come_back_in_order_and_reuse_their_chunks() {
        // Every item comes back one "period" later, as a set's entries do, many times
        // around the ring: the order is always by due time, then slot.
        let mut queue = Queue::default();
        let periods: Vec<i64> = (1..=SPREAD as i64 + 1_000).map(|k| k * 270_001).collect();
        for (slot, &period) in periods.iter().enumerate() {
            queue.push(Item {
                due: due(period),
                slot: slot as u32,
            });
        }
        assert!(queue.ring.is_some());
        let mut last = Item { due: 0, slot: 0 };
        for _ in 0..300_000 {
            let top = queue.peek().unwrap();
            assert!(top >= last, "{top:?} after {last:?}");
            last = top;
            let period = periods[top.slot as usize] as u64;
            queue.replace_top(Item {
                due: top.due + period,
                slot: top.slot,
            });
        }
        assert_eq!(queue.len(), periods.len());
        // At most one partly filled chunk a bucket.
        let chunks = queue.ring.as_ref().unwrap().chunks.len();
        let most = periods.len() / CHUNK + RING as usize + 1;
        assert!(
            chunks <= most,
            "{chunks} chunks for {} items",
            periods.len()
        );
    }
}
