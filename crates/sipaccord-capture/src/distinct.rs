//! Counting distinct keys that recur close together: flows here, dialogs in the replay runner.
//!
//! The set of keys seen grows with the capture (a 100 MB capture of calls holds tens of thousands of
//! flows and dialogs), so looking every message's key up in it misses the processor's caches more
//! often than not. A key's messages mostly come close together (a call's requests and responses), so
//! a small table of the keys met lately, one per slot its hash picks, answers most lookups first;
//! only the others go to the set.

use std::hash::{BuildHasher, Hash};

use rustc_hash::{FxBuildHasher, FxHashSet};

/// Slots in the table of recent keys.
const RECENT_BITS: u32 = 12;

/// The distinct keys seen so far.
pub struct DistinctKeys<K> {
    seen: FxHashSet<K>,
    /// Keys met lately, each in the slot its hash picks; every one is in `seen`.
    recent: Box<[Option<K>]>,
}

impl<K: Copy + Eq + Hash> Default for DistinctKeys<K> {
    fn default() -> Self {
        DistinctKeys { seen: FxHashSet::default(), recent: vec![None; 1 << RECENT_BITS].into_boxed_slice() }
    }
}

impl<K: Copy + Eq + Hash> DistinctKeys<K> {
    /// Notes a key; whether it was new.
    pub fn insert(&mut self, key: K) -> bool {
        let slot = (FxBuildHasher.hash_one(key) >> (64 - RECENT_BITS)) as usize;
        if self.recent[slot] == Some(key) {
            return false;
        }
        self.recent[slot] = Some(key);
        self.seen.insert(key)
    }

    /// How many distinct keys were seen.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no key was seen.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
