//! The requests the runner remembers, so that responses can be matched to them: for each request, when
//! it was seen, whether it was initial, and an extract of it that responses are evaluated against. The
//! runner remembers only requests of the methods whose responses some rule may select (for the example
//! agreement, INVITE alone), which keeps this store a third of the size it would be with every request.
//!
//! A capture with a high call rate keeps tens of thousands of transactions alive at once, and
//! responses look them up in no particular order, so what is kept per transaction is what decides how
//! much memory replay touches at random. Everything here is therefore laid out in the order requests
//! arrive, which is also the order in which they are forgotten: the records in a ring, the extracts in
//! one queue of bytes. Only the map from key to record is visited at random, and its entries are two
//! words. Responses mostly come soon after their request, so the records and extracts they read are
//! near the end of the queues, where the latest requests were just written.

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::time::Duration;

use rustc_hash::FxHashMap;

/// Key of a transaction: a hash of Call-ID, CSeq number and CSeq method (no text kept per request).
pub(crate) type TransactionKey = u64;

/// How long a request is kept to match responses and `must echo` (RFC 3261 Timer B is 32 s; twice that
/// covers retransmissions). It is counted from the latest copy of the request: every response that
/// comes within it is matched, a retransmitted final response included, so nothing is forgotten
/// earlier (at the final response, say) without changing which responses are matched.
pub(crate) const TRANSACTION_MEMORY: Duration = Duration::from_secs(64);

/// One request, in the order requests were seen (a retransmission is a record of its own).
struct Record {
    key: TransactionKey,
    /// When it was seen, as a `Duration` split in two so the record packs into 32 bytes.
    seconds: u64,
    nanoseconds: u32,
    /// Whether it was outside a dialog (its responses are then initial too).
    initial: bool,
    /// Where its extract ends in the extract queue (an absolute position, see
    /// [`Transactions::extracts_base`]). It starts where the previous record's ends, so a record that
    /// keeps no extract has an empty one.
    extract_end: u64,
    /// A later copy of the request was remembered while this one was the latest (or the key went
    /// with an earlier copy): when it is forgotten, whether its key stays known depends on the copies.
    /// A record that is not superseded is the latest of its key until it is forgotten.
    superseded: bool,
}

impl Record {
    fn timestamp(&self) -> Duration {
        Duration::new(self.seconds, self.nanoseconds)
    }
}

/// What a response learns from the request it answers.
#[derive(Clone, Copy)]
pub(crate) struct Answered<'t> {
    /// Whether the request was outside a dialog.
    pub initial: bool,
    /// The request's extract, when one was kept.
    pub extract: Option<&'t [u8]>,
}

/// The live transactions.
#[derive(Default)]
pub(crate) struct Transactions {
    /// The latest record of each key, by record number (`records[number - first_number]`). A number
    /// below `first_number` is a forgotten record whose entry waits in `forgotten` to be removed: the
    /// key is not known.
    latest: FxHashMap<TransactionKey, u64>,
    /// Records forgotten while still the latest of their key, whose entries in `latest` are removed
    /// together once there are [`FORGOTTEN_REMOVED_AT`]: an entry written a minute earlier is seldom
    /// in the processor's caches, and removing many at once lets those misses overlap instead of
    /// stalling the runner one message at a time.
    forgotten: Vec<(TransactionKey, u64)>,
    /// Every request of the last [`TRANSACTION_MEMORY`], oldest first.
    records: VecDeque<Record>,
    /// The number of `records[0]`: records are numbered in arrival order from 0.
    first_number: u64,
    /// The extracts of the records, one after the other in record order. Records are forgotten oldest
    /// first, so the bytes no record needs any more are always at the front; they are dropped once
    /// they are as many as the live ones, which moves each live byte about once.
    extracts: Vec<u8>,
    /// The absolute position of `extracts[0]`: how many bytes were ever dropped from the front.
    extracts_base: u64,
    /// The absolute position where the extract of `records[0]` starts (where the extract of the last
    /// forgotten record ended): every byte before it is no longer needed.
    extracts_needed_from: u64,
}

/// Forgotten records whose entries are removed from the key map together.
const FORGOTTEN_REMOVED_AT: usize = 1024;

/// Bytes no record needs that are left at the front of the extract queue before they are dropped.
const EXTRACTS_DROPPED_AT_LEAST: usize = 64 * 1024;

impl Transactions {
    /// Remembers a request seen at `timestamp` under `key`; `write_extract` appends the request's
    /// extract to the buffer it is lent (writing nothing keeps none). A request seen again replaces
    /// what was kept for it.
    pub(crate) fn remember(
        &mut self,
        key: TransactionKey,
        timestamp: Duration,
        initial: bool,
        write_extract: impl FnOnce(&mut Vec<u8>),
    ) {
        write_extract(&mut self.extracts);
        let number = self.first_number + self.records.len() as u64;
        self.records.push_back(Record {
            key,
            seconds: timestamp.as_secs(),
            nanoseconds: timestamp.subsec_nanos(),
            initial,
            extract_end: self.extracts_base + self.extracts.len() as u64,
            superseded: false,
        });
        if let Some(previous) = self.latest.insert(key, number) {
            if let Some(record) = previous.checked_sub(self.first_number).and_then(|i| self.records.get_mut(i as usize))
            {
                record.superseded = true;
            }
        }
    }

    /// The request a response with this key answers, if it is remembered.
    pub(crate) fn answered(&self, key: TransactionKey) -> Option<Answered<'_>> {
        let index = self.latest.get(&key)?.checked_sub(self.first_number)? as usize;
        let record = &self.records[index];
        let start = match index {
            0 => self.extracts_needed_from,
            _ => self.records[index - 1].extract_end,
        };
        let extract = (record.extract_end > start).then(|| {
            &self.extracts[(start - self.extracts_base) as usize..(record.extract_end - self.extracts_base) as usize]
        });
        Some(Answered { initial: record.initial, extract })
    }

    /// Forgets the requests seen more than [`TRANSACTION_MEMORY`] before `now`, oldest first, stopping
    /// at the first that is not (so with timestamps out of order, a younger request at the front holds
    /// older ones back). A key stays known while a later copy of its request is younger than the
    /// forgotten one.
    pub(crate) fn expire(&mut self, now: Duration) {
        let mut forgot_any = false;
        while let Some(oldest) = self.records.front() {
            if oldest.timestamp() + TRANSACTION_MEMORY >= now {
                break;
            }
            let Some(oldest) = self.records.pop_front() else { break };
            let number = self.first_number;
            self.first_number += 1;
            self.extracts_needed_from = oldest.extract_end;
            forgot_any = true;
            if !oldest.superseded {
                // Still the latest of its key, unless the key went with an earlier copy: either way
                // it is no longer known, and its entry can wait.
                self.forgotten.push((oldest.key, number));
                continue;
            }
            if let Entry::Occupied(latest) = self.latest.entry(oldest.key) {
                // The entry is a later copy, live (its number is above this one's). One no younger
                // goes with this one; it stays queued without an entry, so it is marked superseded
                // like the earlier copies, and its own turn finds the key as the others do.
                let copy = &mut self.records[(*latest.get() - self.first_number) as usize];
                if copy.timestamp() <= oldest.timestamp() {
                    copy.superseded = true;
                    latest.remove();
                }
            }
        }
        if self.forgotten.len() >= FORGOTTEN_REMOVED_AT {
            self.remove_forgotten();
        }
        if forgot_any {
            self.drop_unneeded_extracts();
        }
    }

    /// Removes the entries of forgotten records that are still the latest of their keys.
    fn remove_forgotten(&mut self) {
        for (key, number) in self.forgotten.drain(..) {
            if let Entry::Occupied(latest) = self.latest.entry(key) {
                if *latest.get() == number {
                    latest.remove();
                }
            }
        }
    }

    fn drop_unneeded_extracts(&mut self) {
        let unneeded = (self.extracts_needed_from - self.extracts_base) as usize;
        if unneeded >= EXTRACTS_DROPPED_AT_LEAST && unneeded >= self.extracts.len() - unneeded {
            self.extracts.drain(..unneeded);
            self.extracts_base = self.extracts_needed_from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    fn extract(text: &'static str) -> impl FnOnce(&mut Vec<u8>) {
        move |out: &mut Vec<u8>| out.extend_from_slice(text.as_bytes())
    }

    /// Keeps no extract.
    const NONE: fn(&mut Vec<u8>) = |_| {};

    /// Whether a request seen at these times (in this order) is still known at `now`.
    fn known_after(copies: &[u64], now: u64) -> bool {
        let mut t = Transactions::default();
        copies.iter().for_each(|&seen| t.remember(7, at(seen), true, NONE));
        t.expire(at(now));
        t.answered(7).is_some()
    }

    #[test]
    fn a_request_is_answered_for_its_memory_and_then_forgotten() {
        let mut t = Transactions::default();
        t.remember(1, at(10), true, extract("INVITE a\r\n\r\n"));
        t.remember(2, at(11), false, NONE);
        t.expire(at(10) + TRANSACTION_MEMORY);
        let invite = t.answered(1).unwrap();
        assert!(invite.initial);
        assert_eq!(invite.extract, Some(&b"INVITE a\r\n\r\n"[..]));
        let bye = t.answered(2).unwrap();
        assert!(!bye.initial);
        assert_eq!(bye.extract, None);
        // One nanosecond past its memory, the first is forgotten; the second is still known.
        t.expire(at(10) + TRANSACTION_MEMORY + Duration::from_nanos(1));
        assert!(t.answered(1).is_none());
        assert!(t.answered(2).is_some());
        t.expire(at(100));
        assert!(t.answered(2).is_none());
    }

    #[test]
    fn a_retransmitted_request_renews_its_transaction_with_what_it_carries() {
        let mut t = Transactions::default();
        t.remember(1, at(10), true, extract("INVITE a\r\n\r\n"));
        t.remember(1, at(40), false, extract("INVITE b\r\n\r\n"));
        t.expire(at(80));
        let again = t.answered(1).unwrap();
        assert!(!again.initial);
        assert_eq!(again.extract, Some(&b"INVITE b\r\n\r\n"[..]));
        t.expire(at(105));
        assert!(t.answered(1).is_none());
        // A copy with the same time as the forgotten one does not keep it: they are forgotten together.
        assert!(known_after(&[200, 200], 264));
        assert!(!known_after(&[200, 200], 265));
    }

    #[test]
    fn out_of_order_times_expire_as_they_queue() {
        let mut t = Transactions::default();
        t.remember(1, at(100), true, NONE);
        t.remember(2, at(10), true, NONE);
        // The first request is still young, so the older one behind it is kept too.
        t.expire(at(120));
        assert!(t.answered(2).is_some());
        t.expire(at(165));
        assert!(t.answered(1).is_none() && t.answered(2).is_none());
        // A later copy seen with an older time than the first copy does not renew it.
        assert!(!known_after(&[300, 290], 365));
        assert!(known_after(&[290, 300], 364));
    }

    /// Forgotten keys are unknown at once though their entries are removed in batches, a key
    /// remembered again meanwhile is known again, and the map stays about as large as what is live.
    #[test]
    fn forgotten_keys_are_unknown_before_their_entries_go() {
        let mut t = Transactions::default();
        for n in 0..10_000u64 {
            let now = at(n);
            t.expire(now);
            t.remember(n, now, true, NONE);
            // Key 0 comes back now and then, and is known until 64 s after its latest copy.
            if n % 500 == 250 {
                t.remember(0, now, false, NONE);
            }
            assert_eq!(t.answered(0).is_some(), n < 65 || n % 500 >= 250 && n % 500 <= 250 + 64, "{n}");
            assert!(n < 65 || t.answered(n - 65).is_none(), "{n}");
            assert!(t.answered(n - n.min(64)).is_some(), "{n}");
            assert!(t.latest.len() <= 65 + 1 + FORGOTTEN_REMOVED_AT, "{n}: {}", t.latest.len());
        }
    }

    /// A copy left queued after its key went with an earlier copy still renews a later one.
    #[test]
    fn a_copy_queued_without_its_key_renews_like_any_other() {
        let mut t = Transactions::default();
        t.remember(1, at(300), true, NONE);
        t.remember(2, at(400), true, NONE);
        t.remember(1, at(290), true, NONE);
        t.expire(at(365));
        assert!(t.answered(1).is_none() && t.answered(2).is_some());
        t.remember(1, at(420), true, NONE);
        t.expire(at(465));
        assert!(t.answered(1).is_some() && t.answered(2).is_none());
        t.expire(at(485));
        assert!(t.answered(1).is_none());
    }

    /// Extracts stay intact while the queue drops the front bytes no record needs.
    #[test]
    fn extracts_survive_the_queue_dropping_its_front() {
        let mut t = Transactions::default();
        let text = |n: u64| format!("INVITE sip:{n}@example.com SIP/2.0\r\nX-N: {n}\r\n\r\n");
        for n in 0..20_000u64 {
            let now = Duration::from_millis(n * 10);
            t.expire(now);
            let body = text(n);
            let with_extract = n % 3 != 0;
            let write = |out: &mut Vec<u8>| {
                if with_extract {
                    out.extend_from_slice(body.as_bytes());
                }
            };
            t.remember(n, now, true, write);
            // Every transaction still in memory reads back its own extract.
            for back in [0, 1, 2, 50, 6_399] {
                let Some(m) = n.checked_sub(back) else { continue };
                let answered = t.answered(m).unwrap();
                assert_eq!(answered.extract, (m % 3 != 0).then(|| text(m)).as_deref().map(str::as_bytes));
            }
            assert!(n < 6_401 || t.answered(n - 6_401).is_none());
        }
        assert!(t.extracts_base > 0, "the front was dropped");
        assert!(t.extracts.len() < 2 * 6_401 * text(19_999).len());
    }
}
