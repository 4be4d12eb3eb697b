//! Counting the distinct dialogs of a replay for its summary.
//!
//! Every message with both tags names its dialog, and the set of dialogs grows with the capture (a
//! 100 MB capture holds some 30,000 calls), so looking each message's dialog up in it costs a cache
//! miss more often than not. Most messages of a dialog come close together (the provisional and final
//! responses, the ACK, the BYE and its answer), so a small table of the dialogs met lately, indexed by
//! their hash, answers most lookups from the cache first; only the others go to the set.

use rustc_hash::FxHashSet;

/// Slots in the table of recent dialogs (32 KiB).
const RECENT_BITS: u32 = 12;

/// The distinct dialogs seen, by the hash of their identifiers.
pub(crate) struct Dialogs {
    seen: FxHashSet<u64>,
    /// Hashes of dialogs met lately, each in the slot its hash picks; every one is in `seen`. Zero
    /// marks an empty slot, so a dialog whose hash is zero is always looked up in `seen`.
    recent: Box<[u64; 1 << RECENT_BITS]>,
}

impl Default for Dialogs {
    fn default() -> Self {
        Dialogs { seen: FxHashSet::default(), recent: Box::new([0; 1 << RECENT_BITS]) }
    }
}

impl Dialogs {
    /// Notes a message of the dialog with this hash.
    pub(crate) fn observe(&mut self, key: u64) {
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - RECENT_BITS)) as usize;
        if key != 0 && self.recent[slot] == key {
            return;
        }
        self.seen.insert(key);
        self.recent[slot] = key;
    }

    /// How many distinct dialogs were seen.
    pub(crate) fn count(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_dialog_once_whatever_the_table_holds() {
        let mut dialogs = Dialogs::default();
        // Many more dialogs than slots, each seen several times, near and far apart; zero included.
        let keys: Vec<u64> = (0..20_000u64).map(|i| i.wrapping_mul(0x2545_f491_4f6c_dd1d)).collect();
        for round in 0..3 {
            for (i, &k) in keys.iter().enumerate() {
                dialogs.observe(k);
                if i % 7 == round {
                    dialogs.observe(keys[i / 2]);
                }
            }
        }
        assert_eq!(dialogs.count(), keys.len());
    }
}
