//! The set's slab: values in a `Vec` of slots named by `u32` index, the vacant slots
//! chained in a free list so that an index is reused once its value is removed. Why the
//! set keeps its own rather than a crate's: ARCHITECTURE.md ("The set keeps its own
//! slab").

/// Values by `u32` index: an index stays its value's until it is removed.
#[derive(Debug)]
pub(super) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// The first vacant slot, or `NONE`; each vacant slot names the next.
    free: u32,
    /// The occupied slots.
    len: usize,
}

#[derive(Debug)]
enum Slot<T> {
    Occupied(T),
    Vacant { next_free: u32 },
}

/// No slot: the end of the free list, and the one index never given.
const NONE: u32 = u32::MAX;

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: NONE,
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Room for `additional` more slots, exactly, before the slab allocates again.
    pub(super) fn reserve_exact(&mut self, additional: usize) {
        self.slots.reserve_exact(additional);
    }

    /// The values held.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The slots, occupied or vacant: every index given is below it. Slots are only ever
    /// added at the end, one at a time.
    #[inline]
    pub(super) fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Whether every index a `u32` can name (but `NONE`) is taken: `insert` must not be
    /// called then.
    pub(super) fn is_full(&self) -> bool {
        self.slots.len() >= NONE as usize - 1 && self.free == NONE
    }

    /// The bytes of the slots allocated, vacant and spare included.
    pub(super) fn memory(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<T>>()
    }

    /// The value at `index`, if one is there.
    #[inline]
    pub(super) fn get(&self, index: u32) -> Option<&T> {
        match self.slots.get(index as usize) {
            Some(Slot::Occupied(value)) => Some(value),
            _ => None,
        }
    }

    /// The value at `index`, if one is there.
    #[inline]
    pub(super) fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        match self.slots.get_mut(index as usize) {
            Some(Slot::Occupied(value)) => Some(value),
            _ => None,
        }
    }

    /// Stores `value` in the first vacant slot, or a new one at the end, and gives its
    /// index. The slab must not be full ([`is_full`](Self::is_full)).
    pub(super) fn insert(&mut self, value: T) -> u32 {
        let index = if self.free == NONE {
            self.slots.push(Slot::Vacant { next_free: NONE });
            // Below `NONE`: the slab is not full.
            (self.slots.len() - 1) as u32
        } else {
            self.free
        };
        if let Slot::Vacant { next_free } = self.slots[index as usize] {
            self.free = next_free;
        }
        self.slots[index as usize] = Slot::Occupied(value);
        self.len += 1;
        index
    }

    /// Takes the value at `index` out, its slot first for the next insert; `None` if
    /// the slot holds none.
    pub(super) fn remove(&mut self, index: u32) -> Option<T> {
        let slot = self.slots.get_mut(index as usize)?;
        if let Slot::Vacant { .. } = slot {
            return None;
        }
        let vacant = Slot::Vacant {
            next_free: self.free,
        };
        let Slot::Occupied(value) = std::mem::replace(slot, vacant) else {
            unreachable!("the slot is occupied");
        };
        self.free = index;
        self.len -= 1;
        Some(value)
    }

    /// Removes every value; the allocation stays. The counts first: a value whose `Drop`
    /// panics leaves an empty slab (the `Vec` drops the rest as it unwinds).
    pub(super) fn clear(&mut self) {
        self.free = NONE;
        self.len = 0;
        self.slots.clear();
    }

    /// The values with their indices, in index order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match slot {
                // Indices are below `NONE`, a `u32`.
                Slot::Occupied(value) => Some((index as u32, value)),
                Slot::Vacant { .. } => None,
            })
    }

    /// The values, in index order.
    pub(super) fn values(&self) -> impl Iterator<Item = &T> + '_ {
        self.iter().map(|(_, value)| value)
    }

    /// For each slot in index order, `of` its value, or `vacant` if it holds none: a
    /// list the slots' indices can look up.
    pub(super) fn map_slots<U>(&self, vacant: U, of: impl Fn(&T) -> U) -> Vec<U>
    where
        U: Copy,
    {
        self.slots
            .iter()
            .map(|slot| match slot {
                Slot::Occupied(value) => of(value),
                Slot::Vacant { .. } => vacant,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn indices_are_reused_last_freed_first() {
        let mut slab = Slab::default();
        assert_eq!(
            (slab.insert('a'), slab.insert('b'), slab.insert('c')),
            (0, 1, 2)
        );
        assert_eq!(slab.remove(0), Some('a'));
        assert_eq!(slab.remove(2), Some('c'));
        assert_eq!(slab.remove(2), None);
        assert_eq!(slab.remove(7), None);
        assert_eq!((slab.len(), slab.slots()), (1, 3));
        assert_eq!(
            (slab.insert('d'), slab.insert('e'), slab.insert('f')),
            (2, 0, 3)
        );
        assert_eq!(slab.get(1), Some(&'b'));
        *slab.get_mut(2).expect("occupied") = 'g';
        assert_eq!(
            slab.iter().collect::<Vec<_>>(),
            [(0, &'e'), (1, &'b'), (2, &'g'), (3, &'f')]
        );
        slab.clear();
        assert_eq!((slab.len(), slab.slots(), slab.get(0)), (0, 0, None));
        assert_eq!(slab.insert('h'), 0);
    }
}
