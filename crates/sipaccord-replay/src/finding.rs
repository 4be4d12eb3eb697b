//! Findings and the report that collects them.

use std::collections::BTreeMap;

use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A `should` that failed, or a setting at `warn`.
    Warning,
    /// A `must` that failed, a bad value, or a setting at `error`: the replay fails.
    Error,
}

/// What kind of breach a finding is; stable names for JSON and JUnit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `must have H` / `should have H` and H is absent.
    MissingHeader,
    /// `must have H == ...` and H's value does not satisfy the comparison.
    WrongValue,
    /// `must not have H` and H is present.
    ForbiddenHeader,
    /// A declared header's value does not match its grammar.
    BadValue,
    /// A declared header has more values than its `max`.
    TooManyValues,
    /// `must echo H` and the response's H differs from the request's.
    MissingEcho,
    /// `must satisfy EXPR` and the expression is false.
    Unsatisfied,
    /// A correlation found no partner leg within its window.
    NoPartnerLeg,
    /// SIP from an address that belongs to no peer.
    UnknownSource,
    /// A transport the sending peer may not use.
    TransportNotAllowed,
    /// An SDP address outside the sender's media ranges.
    MediaOutside,
    /// A non-standard header that is neither declared nor allowed by a matching `may have`.
    UndeclaredHeader,
    /// A message that could not be parsed, or whose headers break their grammar.
    Malformed,
}

/// Where a finding's rule comes from in the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    /// Agreement file as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The rule's source text.
    pub text: String,
}

/// The header line a finding points at, or where a missing header should have been.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderLine {
    /// 1-based line within the message (0 when the header is missing).
    pub line: u32,
    /// The header line as written (unfolded), or a note on where it was expected.
    pub text: String,
}

/// One breach of the agreement, with everything needed to find it in the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub level: Level,
    /// What kind of breach.
    pub kind: Kind,
    /// The rule it breaks; `None` for settings such as `unknown-source`.
    pub rule: Option<RuleRef>,
    /// A name for the check when there is no rule text (e.g. `settings unknown-source`).
    pub check: String,
    /// Capture file as given.
    pub capture: String,
    /// Frame numbers of the packets involved (the message, then partner legs).
    pub frames: Vec<u64>,
    /// Timestamp of the message, RFC 3339 UTC.
    pub time: String,
    /// Source `address:port`.
    pub src: String,
    /// Destination `address:port`.
    pub dst: String,
    /// Transport.
    pub transport: String,
    /// The message's first line.
    pub first_line: String,
    /// Call-ID, when present.
    pub call_id: Option<String>,
    /// CSeq as written, when present.
    pub cseq: Option<String>,
    /// The offending header line, or where the missing header belongs.
    pub header: Option<HeaderLine>,
    /// What the agreement expects.
    pub expected: String,
    /// What the traffic shows.
    pub seen: String,
}

/// Counts of what the replay saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// SIP messages read (malformed ones included).
    pub messages: u64,
    /// Messages per direction, keyed `peer -> peer` (`?` for an address of no peer).
    pub directions: BTreeMap<String, u64>,
    /// Distinct dialogs (Call-ID with both tags) seen.
    pub dialogs: u64,
    /// Rule applications: a rule whose selector matched a message.
    pub rules_evaluated: u64,
    /// Rule applications with no finding.
    pub rules_passed: u64,
    /// Messages from an address that belongs to no peer.
    pub from_no_peer: u64,
    /// Malformed messages.
    pub malformed: u64,
    /// Encrypted or otherwise uninspectable streams, as `src -> dst (reason)`.
    pub skipped_streams: Vec<String>,
    /// Packets that could not be used, by reason.
    pub unusable_packets: BTreeMap<String, u64>,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Version of the JSON schema (`docs/report-schema.md`).
    pub schema_version: u32,
    /// Agreement name, version and file.
    pub agreement: AgreementRef,
    /// Captures replayed, as given.
    pub captures: Vec<String>,
    /// What was seen.
    pub summary: Summary,
    /// Every finding, in the order the evidence produced them.
    pub findings: Vec<Finding>,
    /// The checks the replay ran (rules, header declarations, settings), for per-rule reports.
    pub checks: Vec<CheckRef>,
}

/// The agreement a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgreementRef {
    /// `agreement "NAME"`.
    pub name: String,
    /// `version N`.
    pub version: u32,
    /// The file as given.
    pub file: String,
}

/// A check the replay runs, named like the findings it produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRef {
    /// The check's name as used in [`Finding::check`].
    pub name: String,
    /// Where it comes from, when it is written in the agreement.
    pub rule: Option<RuleRef>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Error)
    }

    /// Number of findings at a level.
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}
