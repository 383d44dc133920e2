//! Distinct failure messages per row, bounded so a long run with ever-changing messages (ids,
//! timestamps in error bodies) cannot grow memory: past [`MAX_MESSAGES_PER_ROW`] distinct
//! messages, new ones are only counted, per kind, under [`OVERFLOW_MESSAGE`].

use super::sample::FailureKind;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// Distinct (kind, message) pairs kept per row; the rest are counted under
/// [`OVERFLOW_MESSAGE`].
pub(crate) const MAX_MESSAGES_PER_ROW: usize = 64;
/// Longest message kept, in bytes; longer ones are cut at a character boundary, so a message
/// that quotes a large response body costs no more than this.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256;
/// The message under which failures beyond [`MAX_MESSAGES_PER_ROW`] are counted.
pub(crate) const OVERFLOW_MESSAGE: &str = "other failures (message limit reached)";

/// How often one failure message was seen, and when (since the registry was created).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailureMessage {
    /// The message, at most [`MAX_MESSAGE_BYTES`] long, or [`OVERFLOW_MESSAGE`].
    pub message: String,
    /// The failure kind it was reported with.
    pub kind: FailureKind,
    /// How many failures carried it.
    pub count: u64,
    /// When it was first seen.
    pub first_seen: Duration,
    /// When it was last seen.
    pub last_seen: Duration,
}

/// Count and first/last time of one message; `count == 0` means "nothing since the reset".
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    count: u64,
    first: Duration,
    last: Duration,
}

impl Seen {
    fn add(&mut self, other: Seen) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other;
        } else {
            self.count += other.count;
            self.first = self.first.min(other.first);
            self.last = self.last.max(other.last);
        }
    }

    fn once(at: Duration) -> Seen {
        Seen {
            count: 1,
            first: at,
            last: at,
        }
    }
}

/// The bounded message table of one row (in a shard, or cumulative in the collector).
///
/// Keys stay in the table after [`MessageLog::drain_into`] with a zero count: a shard then
/// allocates only the first time a message appears, not once per interval.
#[derive(Debug, Default)]
pub(crate) struct MessageLog {
    /// Message → one entry per kind it came with (almost always exactly one).
    entries: HashMap<Box<str>, Vec<(FailureKind, Seen)>>,
    /// Number of (kind, message) pairs in `entries`, capped at [`MAX_MESSAGES_PER_ROW`].
    distinct: usize,
    /// Failures whose message did not fit, per kind.
    overflow: [Seen; FailureKind::COUNT],
}

impl MessageLog {
    /// Counts one failure of `kind` with `message` at `at`.
    pub(crate) fn record(&mut self, kind: FailureKind, message: &str, at: Duration) {
        self.add(kind, message, Seen::once(at));
    }

    fn add(&mut self, kind: FailureKind, message: &str, seen: Seen) {
        let message = truncate(message);
        let full = self.distinct >= MAX_MESSAGES_PER_ROW;
        // Lookup by `&str` first: the hot path allocates only for a new message.
        if let Some(kinds) = self.entries.get_mut(message) {
            if let Some((_, slot)) = kinds.iter_mut().find(|(k, _)| *k == kind) {
                slot.add(seen);
                return;
            }
            if !full {
                kinds.push((kind, seen));
                self.distinct += 1;
                return;
            }
        } else if !full {
            self.entries.insert(message.into(), vec![(kind, seen)]);
            self.distinct += 1;
            return;
        }
        self.overflow[kind.index()].add(seen);
    }

    /// Adds a message as a summary lists it (counts and times included); the overflow
    /// entry goes back to the overflow of its kind.
    pub(crate) fn add_message(&mut self, m: &FailureMessage) {
        let seen = Seen {
            count: m.count,
            first: m.first_seen,
            last: m.last_seen,
        };
        if m.message == OVERFLOW_MESSAGE {
            self.overflow[m.kind.index()].add(seen);
        } else {
            self.add(m.kind, &m.message, seen);
        }
    }

    /// Moves every count into `dst` and leaves this log with zero counts (keys kept).
    pub(crate) fn drain_into(&mut self, dst: &mut MessageLog) {
        for (message, kinds) in &mut self.entries {
            for (kind, seen) in kinds.iter_mut() {
                if seen.count > 0 {
                    dst.add(*kind, message, *seen);
                    *seen = Seen::default();
                }
            }
        }
        for (kind, seen) in FailureKind::ALL.iter().zip(&mut self.overflow) {
            // Overflow stays overflow: the destination is at least as full as this log.
            dst.overflow[kind.index()].add(*seen);
            *seen = Seen::default();
        }
    }

    /// Adds every count of `src` (left unchanged) into this log.
    pub(crate) fn absorb(&mut self, src: &MessageLog) {
        for (message, kinds) in &src.entries {
            for (kind, seen) in kinds {
                self.add(*kind, message, *seen);
            }
        }
        for (kind, seen) in FailureKind::ALL.iter().zip(&src.overflow) {
            self.overflow[kind.index()].add(*seen);
        }
    }

    /// The messages seen, most frequent first (ties: by kind, then message), with one
    /// [`OVERFLOW_MESSAGE`] entry per kind that overflowed.
    pub(crate) fn to_messages(&self) -> Vec<FailureMessage> {
        let entry = |message: &str, kind: FailureKind, seen: &Seen| FailureMessage {
            message: message.to_owned(),
            kind,
            count: seen.count,
            first_seen: seen.first,
            last_seen: seen.last,
        };
        let mut out: Vec<FailureMessage> = self
            .entries
            .iter()
            .flat_map(|(message, kinds)| {
                kinds.iter().map(move |(kind, seen)| (message, kind, seen))
            })
            .filter(|(_, _, seen)| seen.count > 0)
            .map(|(message, kind, seen)| entry(message, *kind, seen))
            .collect();
        out.sort_by(|a, b| (b.count, a.kind, &a.message).cmp(&(a.count, b.kind, &b.message)));
        out.extend(
            FailureKind::ALL
                .iter()
                .zip(&self.overflow)
                .filter(|(_, seen)| seen.count > 0)
                .map(|(kind, seen)| entry(OVERFLOW_MESSAGE, *kind, seen)),
        );
        out
    }
}

/// `message` cut to at most [`MAX_MESSAGE_BYTES`], at a character boundary.
fn truncate(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn counts_first_and_last_seen_per_kind_and_message() {
        let mut log = MessageLog::default();
        log.record(FailureKind::Status, "503", secs(3));
        log.record(FailureKind::Status, "503", secs(1));
        log.record(FailureKind::Status, "503", secs(7));
        log.record(FailureKind::Check, "503", secs(2));
        let messages = log.to_messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].kind, FailureKind::Status);
        assert_eq!(messages[0].count, 3);
        assert_eq!(
            (messages[0].first_seen, messages[0].last_seen),
            (secs(1), secs(7))
        );
        assert_eq!(
            (messages[1].kind, messages[1].count),
            (FailureKind::Check, 1)
        );
    }

    #[test]
    fn distinct_messages_are_capped_and_the_rest_counted_per_kind() {
        let mut log = MessageLog::default();
        for i in 0..MAX_MESSAGES_PER_ROW + 10 {
            log.record(FailureKind::Status, &format!("status {i}"), secs(1));
        }
        log.record(FailureKind::Timeout, "late", secs(2));
        // A message already kept still counts under its own name once the log is full.
        log.record(FailureKind::Status, "status 0", secs(3));
        let messages = log.to_messages();
        assert_eq!(messages.len(), MAX_MESSAGES_PER_ROW + 2);
        assert_eq!(messages[0].message, "status 0");
        assert_eq!(messages[0].count, 2);
        let overflow: Vec<_> = messages
            .iter()
            .filter(|m| m.message == OVERFLOW_MESSAGE)
            .collect();
        assert_eq!(overflow.len(), 2);
        assert_eq!(
            (overflow[0].kind, overflow[0].count),
            (FailureKind::Status, 10)
        );
        assert_eq!(
            (overflow[1].kind, overflow[1].count),
            (FailureKind::Timeout, 1)
        );
    }

    #[test]
    fn drain_moves_counts_and_keeps_keys() {
        let mut shard = MessageLog::default();
        let mut total = MessageLog::default();
        shard.record(FailureKind::Body, "bad json", secs(1));
        shard.drain_into(&mut total);
        assert!(shard.to_messages().is_empty());
        assert_eq!(shard.entries.len(), 1);
        shard.record(FailureKind::Body, "bad json", secs(4));
        shard.drain_into(&mut total);
        let messages = total.to_messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].count, 2);
        assert_eq!(
            (messages[0].first_seen, messages[0].last_seen),
            (secs(1), secs(4))
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let mut log = MessageLog::default();
        log.record(FailureKind::Body, &long, secs(0));
        log.record(FailureKind::Body, &format!("{long}tail"), secs(0));
        let messages = log.to_messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].count, 2);
        assert!(messages[0].message.len() <= MAX_MESSAGE_BYTES);
        assert!(long.starts_with(&messages[0].message));
    }
}
