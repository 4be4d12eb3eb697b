//! IPv4 and IPv6 fragment reassembly, bounded by [`Limits`]: at most `max_fragment_sets` sets of at
//! most `max_fragment_bytes` each; sets older than `fragment_timeout` (capture time) are dropped.

use std::net::IpAddr;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::{Limits, UnusableReason};

/// Identifies the fragments of one datagram (RFC 791 / RFC 8200). `proto` is 0 for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

#[derive(Debug)]
struct Set {
    first_seen: Duration,
    /// (offset, bytes), in arrival order; overlaps are resolved at completion (first arrival wins).
    parts: Vec<(usize, Vec<u8>)>,
    /// Total payload length, known once the last fragment arrived.
    total: Option<usize>,
    bytes: usize,
    /// Fragments held (each counted as a packet if the set is dropped).
    count: u64,
}

pub(crate) enum Reassembly {
    Pending,
    Complete(Vec<u8>),
    Dropped(UnusableReason),
}

#[derive(Debug, Default)]
pub(crate) struct Fragments {
    sets: FxHashMap<FragKey, Set>,
    /// Fragments dropped to make room for new sets, not yet counted by the decoder.
    pub evicted: u64,
}

impl Fragments {
    /// Adds one fragment; returns the whole payload when this completes the datagram.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        now: Duration,
        limits: &Limits,
    ) -> Reassembly {
        if !self.sets.contains_key(&key) && self.sets.len() >= limits.max_fragment_sets {
            // Make room by dropping the oldest set.
            if let Some(oldest) = self.sets.iter().min_by_key(|(_, s)| s.first_seen).map(|(k, _)| *k) {
                if let Some(set) = self.sets.remove(&oldest) {
                    self.evicted += set.count;
                }
            }
        }
        self.add_inner(key, offset, more, data, now, limits)
    }

    fn add_inner(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        now: Duration,
        limits: &Limits,
    ) -> Reassembly {
        let set = self.sets.entry(key).or_insert_with(|| Set {
            first_seen: now,
            parts: Vec::new(),
            total: None,
            bytes: 0,
            count: 0,
        });
        let end = offset + data.len();
        if end > limits.max_fragment_bytes || set.bytes + data.len() > limits.max_fragment_bytes {
            self.drop_set(&key);
            return Reassembly::Dropped(UnusableReason::FragmentLimit);
        }
        if !more {
            match set.total {
                Some(t) if t != end => {
                    self.drop_set(&key);
                    return Reassembly::Dropped(UnusableReason::FragmentLimit);
                }
                _ => set.total = Some(end),
            }
        }
        set.parts.push((offset, data.to_vec()));
        set.bytes += data.len();
        set.count += 1;
        let Some(total) = set.total else {
            return Reassembly::Pending;
        };
        // Complete when the parts cover [0, total) without holes.
        let mut order: Vec<usize> = (0..set.parts.len()).collect();
        order.sort_by_key(|&i| set.parts[i].0);
        let mut covered = 0;
        let mut overlap = false;
        for &i in &order {
            let (o, ref d) = set.parts[i];
            if o > covered {
                return Reassembly::Pending;
            }
            overlap |= o < covered;
            covered = covered.max(o + d.len());
        }
        if covered < total {
            return Reassembly::Pending;
        }
        let Some(set) = self.sets.remove(&key) else {
            return Reassembly::Pending;
        };
        if !overlap {
            // The usual case: each byte comes from exactly one fragment, so the parts in offset
            // order follow one another from 0 (no zeroed buffer to fill).
            let mut whole = Vec::with_capacity(covered);
            for &i in &order {
                whole.extend_from_slice(&set.parts[i].1);
            }
            whole.truncate(total);
            return Reassembly::Complete(whole);
        }
        let mut whole = vec![0u8; total];
        let mut filled = vec![false; total];
        for (o, d) in &set.parts {
            for (i, &b) in d.iter().enumerate() {
                let at = o + i;
                if at < total && !filled[at] {
                    whole[at] = b;
                    filled[at] = true;
                }
            }
        }
        Reassembly::Complete(whole)
    }

    fn drop_set(&mut self, key: &FragKey) {
        if let Some(set) = self.sets.remove(key) {
            self.evicted += set.count;
        }
    }

    /// Drops sets older than the timeout; returns one reason per fragment dropped.
    pub fn expire(&mut self, now: Duration, limits: &Limits) -> Vec<UnusableReason> {
        let mut dropped = Vec::new();
        if self.sets.is_empty() {
            return dropped;
        }
        self.sets.retain(|_, s| {
            let keep = now.saturating_sub(s.first_seen) <= limits.fragment_timeout;
            if !keep {
                dropped.extend(std::iter::repeat_n(UnusableReason::FragmentTimeout, s.count as usize));
            }
            keep
        });
        dropped
    }

    /// Drops every pending set at the end of the capture; returns the number of fragments held.
    pub fn clear(&mut self) -> u64 {
        let n = self.sets.values().map(|s| s.count).sum();
        self.sets.clear();
        n
    }
}
