//! Handle tables: how a C handle value is turned back into the object it names without
//! ever dereferencing it.
//!
//! Every handle librsm gives to C (controller, export segment, import segment, local
//! memory, barrier key) is a pointer-sized **value**, not an address:
//!
//! ```text
//!  63      56 55                    32 31                          0
//! +----------+-----------------------+-----------------------------+
//! |   tag    |  generation (24 bits) |        slot index           |
//! +----------+-----------------------+-----------------------------+
//! ```
//!
//! * `tag` names the kind of object (one [`Table`] per kind). Tags have the top bit set,
//!   so a handle value is never a user-space address of x86_64 or aarch64 Linux: a pointer
//!   to real memory passed as a handle ("foreign handle") never decodes.
//! * `generation` is bumped every time a slot is freed, so a handle of a destroyed,
//!   disconnected, released or freed object ("stale handle") no longer matches its slot,
//!   even after the slot was reused. (A slot has to be reused 2^24 times before an old value
//!   could match again.)
//!
//! A lookup takes the table's read lock, checks tag, index and generation, and clones the
//! entry's `Arc` — no allocation, no pointer chasing through caller-supplied values.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

const TAG_SHIFT: u32 = 56;
const GEN_SHIFT: u32 = 32;
const GEN_MASK: u32 = 0x00FF_FFFF;

/// Tag of controller handles (`rsmapi_controller_handle_t`).
pub const TAG_CONTROLLER: u8 = 0xC1;
/// Tag of export segment handles (`rsm_memseg_export_handle_t`).
pub const TAG_EXPORT: u8 = 0xE5;
/// Tag of import segment handles (`rsm_memseg_import_handle_t`).
pub const TAG_IMPORT: u8 = 0xA7;
/// Tag of local memory handles (`rsm_localmemory_handle_t`).
pub const TAG_LOCALMEM: u8 = 0xB3;
/// Tag of barrier keys (stored in `rsmapi_barrier_t::privdata`).
pub const TAG_BARRIER: u8 = 0x9D;

/// The parts of a handle value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Kind tag.
    pub tag: u8,
    /// Slot generation (24 bits).
    pub generation: u32,
    /// Slot index.
    pub index: u32,
}

/// Builds a handle value.
pub fn encode(tag: u8, generation: u32, index: u32) -> usize {
    ((tag as u64) << TAG_SHIFT | ((generation & GEN_MASK) as u64) << GEN_SHIFT | index as u64)
        as usize
}

/// Splits a handle value into its parts (any value decodes; the tables decide whether it
/// names something).
pub fn decode(value: usize) -> Decoded {
    let v = value as u64;
    Decoded {
        tag: (v >> TAG_SHIFT) as u8,
        generation: ((v >> GEN_SHIFT) as u32) & GEN_MASK,
        index: v as u32,
    }
}

/// The tag of a handle value.
pub fn tag_of(value: usize) -> u8 {
    decode(value).tag
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

#[derive(Debug)]
struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

/// A generation-tagged table of live objects of one kind.
#[derive(Debug)]
pub struct Table<T> {
    tag: u8,
    inner: RwLock<Slots<T>>,
}

/// The table is full (2^32 live objects of one kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl<T> Table<T> {
    /// An empty table whose handles carry `tag`.
    pub const fn new(tag: u8) -> Table<T> {
        Table {
            tag,
            inner: RwLock::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Slots<T>> {
        // A panic while the lock was held cannot leave the table inconsistent (every
        // mutation is a single assignment), so a poisoned lock is still usable.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Slots<T>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The tag of this table's handles.
    pub fn tag(&self) -> u8 {
        self.tag
    }

    /// Stores `value` and returns its handle value.
    pub fn insert(&self, value: Arc<T>) -> Result<usize, Full> {
        let mut s = self.write();
        if let Some(index) = s.free.pop() {
            let slot = &mut s.slots[index as usize];
            slot.value = Some(value);
            return Ok(encode(self.tag, slot.generation, index));
        }
        let index = u32::try_from(s.slots.len()).map_err(|_| Full)?;
        s.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Ok(encode(self.tag, 0, index))
    }

    fn index_of(&self, s: &Slots<T>, handle: usize) -> Option<usize> {
        let d = decode(handle);
        if d.tag != self.tag {
            return None;
        }
        let slot = s.slots.get(d.index as usize)?;
        (slot.generation == d.generation && slot.value.is_some()).then_some(d.index as usize)
    }

    /// The live object `handle` names, if any.
    #[inline]
    pub fn get(&self, handle: usize) -> Option<Arc<T>> {
        let s = self.read();
        let i = self.index_of(&s, handle)?;
        s.slots[i].value.clone()
    }

    /// Runs `f` on the live object `handle` names, under the table's read lock (no
    /// reference count is taken), or returns `None`. `f` must not block for long and must
    /// not touch this table: writers (insert, remove) wait until it returns.
    #[inline]
    pub fn with<R>(&self, handle: usize, f: impl FnOnce(&T) -> R) -> Option<R> {
        let s = self.read();
        let i = self.index_of(&s, handle)?;
        s.slots[i].value.as_deref().map(f)
    }

    /// Whether `handle` names a live object.
    pub fn contains(&self, handle: usize) -> bool {
        let s = self.read();
        self.index_of(&s, handle).is_some()
    }

    /// Removes the object `handle` names (its handle becomes stale) and returns it.
    pub fn remove(&self, handle: usize) -> Option<Arc<T>> {
        let mut s = self.write();
        let i = self.index_of(&s, handle)?;
        let slot = &mut s.slots[i];
        let value = slot.value.take();
        slot.generation = slot.generation.wrapping_add(1) & GEN_MASK;
        s.free.push(i as u32);
        value
    }

    /// Removes every object for which `pred` is true; returns them.
    pub fn remove_where(&self, mut pred: impl FnMut(&T) -> bool) -> Vec<Arc<T>> {
        let mut s = self.write();
        let mut out = Vec::new();
        let mut freed = Vec::new();
        for (i, slot) in s.slots.iter_mut().enumerate() {
            if slot.value.as_deref().is_some_and(&mut pred) {
                out.extend(slot.value.take());
                slot.generation = slot.generation.wrapping_add(1) & GEN_MASK;
                freed.push(i as u32);
            }
        }
        s.free.extend(freed);
        out
    }

    /// The handle of the first live object for which `pred` is true.
    pub fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<usize> {
        let s = self.read();
        s.slots.iter().enumerate().find_map(|(i, slot)| {
            slot.value
                .as_deref()
                .filter(|v| pred(v))
                .map(|_| encode(self.tag, slot.generation, i as u32))
        })
    }

    /// Every live object with its handle.
    pub fn snapshot(&self) -> Vec<(usize, Arc<T>)> {
        let s = self.read();
        s.slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| {
                slot.value
                    .clone()
                    .map(|v| (encode(self.tag, slot.generation, i as u32), v))
            })
            .collect()
    }

    /// Number of live objects.
    pub fn len(&self) -> usize {
        let s = self.read();
        s.slots.len() - s.free.len()
    }

    /// Whether no object is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let h = encode(TAG_IMPORT, 0x12_3456, 0x89AB_CDEF);
        assert_eq!(h, 0xA712_3456_89AB_CDEF);
        assert_eq!(
            decode(h),
            Decoded {
                tag: TAG_IMPORT,
                generation: 0x12_3456,
                index: 0x89AB_CDEF
            }
        );
        // Generations wrap within 24 bits.
        assert_eq!(decode(encode(TAG_EXPORT, 0x0100_0001, 3)).generation, 1);
    }

    #[test]
    fn handle_values_are_never_user_addresses() {
        for tag in [
            TAG_CONTROLLER,
            TAG_EXPORT,
            TAG_IMPORT,
            TAG_LOCALMEM,
            TAG_BARRIER,
        ] {
            assert!(tag & 0x80 != 0, "{tag:#x}");
            assert!(encode(tag, 0, 0) >= 0x8000_0000_0000_0000);
        }
    }

    #[test]
    fn insert_get_remove_and_stale_handles() {
        let t: Table<u32> = Table::new(TAG_EXPORT);
        let a = t.insert(Arc::new(1)).unwrap();
        let b = t.insert(Arc::new(2)).unwrap();
        assert_ne!(a, b);
        assert_eq!(t.get(a).as_deref(), Some(&1));
        assert_eq!(t.get(b).as_deref(), Some(&2));
        assert_eq!(t.len(), 2);

        assert_eq!(t.remove(a).as_deref(), Some(&1));
        assert_eq!(t.get(a), None, "stale after remove");
        assert_eq!(t.remove(a), None, "second remove finds nothing");

        // The slot is reused with a new generation: the old value stays stale.
        let c = t.insert(Arc::new(3)).unwrap();
        assert_eq!(decode(c).index, decode(a).index);
        assert_ne!(c, a);
        assert_eq!(t.get(a), None);
        assert_eq!(t.get(c).as_deref(), Some(&3));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn with_runs_on_live_objects_only() {
        let t: Table<u32> = Table::new(TAG_IMPORT);
        let h = t.insert(Arc::new(41)).unwrap();
        assert_eq!(t.with(h, |v| v + 1), Some(42));
        t.remove(h);
        assert_eq!(t.with(h, |v| v + 1), None);
        assert_eq!(t.with(0, |v| v + 1), None);
    }

    #[test]
    fn foreign_values_are_rejected() {
        let t: Table<u32> = Table::new(TAG_IMPORT);
        let h = t.insert(Arc::new(7)).unwrap();
        let other: Table<u32> = Table::new(TAG_EXPORT);
        assert_eq!(other.get(h), None, "another kind's handle");
        let stack = 5_u64;
        for v in [
            0usize,
            1,
            usize::MAX,
            &stack as *const u64 as usize,
            h + 1,
            encode(TAG_IMPORT, 0, 1000),
            encode(TAG_IMPORT, 1, decode(h).index),
        ] {
            assert_eq!(t.get(v), None, "{v:#x}");
            assert!(!t.contains(v));
        }
        assert!(t.contains(h));
    }

    #[test]
    fn remove_where_find_and_snapshot() {
        let t: Table<u32> = Table::new(TAG_BARRIER);
        let hs: Vec<usize> = (0..6).map(|i| t.insert(Arc::new(i)).unwrap()).collect();
        assert_eq!(t.find(|v| *v == 4), Some(hs[4]));
        let gone = t.remove_where(|v| v % 2 == 0);
        let mut values: Vec<u32> = gone.iter().map(|v| **v).collect();
        values.sort();
        assert_eq!(values, [0, 2, 4]);
        assert_eq!(t.get(hs[0]), None);
        assert_eq!(t.get(hs[1]).as_deref(), Some(&1));
        assert_eq!(t.find(|v| *v == 4), None);
        let mut live: Vec<u32> = t.snapshot().iter().map(|(_, v)| **v).collect();
        live.sort();
        assert_eq!(live, [1, 3, 5]);
        assert!(!t.is_empty());
    }
}
