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
    /// The latest record of each live key, by record number (`records[number - first_number]`).
    latest: FxHashMap<TransactionKey, u64>,
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

/// Bytes no record needs that are left at the front of the extract queue before they are dropped.
const EXTRACTS_DROPPED_AT_LEAST: usize = 64 * 1024;

impl Transactions {
    /// Remembers a request seen at `timestamp` under `key`; `write_extract`, when given, appends the
    /// request's extract to the buffer it is lent. A request seen again replaces what was kept for it.
    pub(crate) fn remember(
        &mut self,
        key: TransactionKey,
        timestamp: Duration,
        initial: bool,
        write_extract: Option<impl FnOnce(&mut Vec<u8>)>,
    ) {
        if let Some(write) = write_extract {
            write(&mut self.extracts);
        }
        let number = self.first_number + self.records.len() as u64;
        self.records.push_back(Record {
            key,
            seconds: timestamp.as_secs(),
            nanoseconds: timestamp.subsec_nanos(),
            initial,
            extract_end: self.extracts_base + self.extracts.len() as u64,
        });
        self.latest.insert(key, number);
    }

    /// The request a response with this key answers, if it is remembered.
    pub(crate) fn answered(&self, key: TransactionKey) -> Option<Answered<'_>> {
        let index = (*self.latest.get(&key)? - self.first_number) as usize;
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
            if let Entry::Occupied(latest) = self.latest.entry(oldest.key) {
                let renewed = *latest.get() != number && {
                    let copy = &self.records[(*latest.get() - self.first_number) as usize];
                    copy.timestamp() > oldest.timestamp()
                };
                if !renewed {
                    latest.remove();
                }
            }
        }
        if forgot_any {
            self.drop_unneeded_extracts();
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

    fn extract(text: &'static str) -> Option<impl FnOnce(&mut Vec<u8>)> {
        Some(move |out: &mut Vec<u8>| out.extend_from_slice(text.as_bytes()))
    }

    const NONE: Option<fn(&mut Vec<u8>)> = None;

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
            let write = with_extract.then_some(|out: &mut Vec<u8>| out.extend_from_slice(body.as_bytes()));
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
