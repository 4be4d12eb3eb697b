//! `cargo xtask bench-capture`: builds large captures of realistic SIP traffic from the project's own
//! SIPp recordings, then times sipaccord on them against the cost of merely reading the file and
//! against tshark, and reports peak memory so it can be compared across file sizes.
//!
//! The captures are classic pcap (Ethernet, IPv4, microsecond timestamps). Every call is one of the
//! recorded INVITE/180/200/ACK/BYE/200 exchanges with its identifiers, numbers, addresses, ports and
//! SDP rewritten. A third of the calls run over long-lived TCP connections (handshake, sequence and
//! acknowledgement numbers, 180 and 200 sent in one segment, messages cut over segments, FIN at the
//! end); an eighth of the UDP calls carry a long SDP offer whose INVITE is split into IPv4 fragments.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use sipaccord_capture::CaptureReader;

const USAGE: &str = "usage: cargo xtask bench-capture [--size-mb N]... [--runs N] [--no-tshark]

Builds captures of N MB (default 100 and 300) in target/bench-capture/ (or $CARGO_TARGET_DIR/bench-capture/),
then times, on each, reading the records with pcap-file (the floor), `sipaccord messages --format jsonl`,
`sipaccord replay` with the telegent-acme agreement, and tshark's SIP dissection, N times each in rounds
(each command once per round, so a change in load weighs on all alike); prints medians, rates, peak
memory and ratios.";

/// tshark's SIP dissection as the issue measures it, after `-r FILE`.
const TSHARK_OPTIONS: [&str; 8] =
    ["-o", "tcp.reassemble_out_of_order:TRUE", "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"];

/// The agreement the replay runs with; its SBC addresses are the ones the calls use.
const AGREEMENT: &str = "fixtures/interop/telegent-acme.agreement";

pub fn run(root: &Path, target: &Path, args: &[String]) -> Result<()> {
    let mut sizes = Vec::new();
    let mut runs = 3usize;
    let mut tshark = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size-mb" => {
                let n: u64 = args.next().context("--size-mb needs a number")?.parse().context("--size-mb")?;
                ensure!(n > 0, "--size-mb must be positive");
                sizes.push(n);
            }
            "--runs" => {
                runs = args.next().context("--runs needs a number")?.parse().context("--runs")?;
                ensure!(runs > 0, "--runs must be positive");
            }
            "--no-tshark" => tshark = false,
            // Internal: the floor, run from a release build of xtask so it is optimised like sipaccord.
            "--floor" => return read_records(Path::new(args.next().context("--floor needs a file")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 300];
    }

    let status = Command::new("cargo")
        .args(["build", "--release", "-p", "sipaccord", "-p", "xtask"])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    ensure!(status.success(), "cargo build --release -p sipaccord -p xtask failed with {status}");
    let binary = target.join("release").join("sipaccord");
    let xtask = target.join("release").join("xtask");
    for b in [&binary, &xtask] {
        ensure!(b.is_file(), "{} is missing after the build", b.display());
    }

    let time = Path::new("/usr/bin/time");
    let time = time.is_file().then_some(time);
    if time.is_none() {
        println!("note: /usr/bin/time is missing (apt-get install -y time): no peak memory figures");
    }
    let tshark =
        tshark && Command::new("tshark").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !tshark {
        println!("note: tshark is skipped (missing, or --no-tshark)");
    }

    let templates = Templates::load(root)?;
    let dir = target.join("bench-capture");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let agreement = root.join(AGREEMENT);

    let mut results = Vec::new();
    for &mb in &sizes {
        let file = dir.join(format!("calls-{mb}mb.pcap"));
        let started = Instant::now();
        let stats = generate(&templates, &file, mb * 1_000_000)?;
        println!(
            "built {} ({:.1} MB, {} calls, {} packets, {} SIP messages) in {:.1} s",
            file.display(),
            stats.bytes as f64 / 1e6,
            stats.calls,
            stats.packets,
            stats.messages,
            started.elapsed().as_secs_f64()
        );
        let load = load_average();
        let f = file.display().to_string();
        let a = agreement.display().to_string();
        let b = binary.display().to_string();

        let counted = count_lines(&binary, &["messages", "--format", "jsonl", &f])?;
        let x = xtask.display().to_string();
        let tshark_args: Vec<&str> = ["-r", f.as_str()].into_iter().chain(TSHARK_OPTIONS).collect();
        let tshark_lines = if tshark { Some(count_lines(Path::new("tshark"), &tshark_args)?) } else { None };
        let floor_args = ["bench-capture", "--floor", f.as_str()];
        let messages_args = ["messages", "--format", "jsonl", f.as_str()];
        let replay_args = ["replay", "-a", a.as_str(), "--format", "json", f.as_str()];
        let mut commands: Vec<(&str, &[&str])> = vec![(&x, &floor_args), (&b, &messages_args), (&b, &replay_args)];
        if tshark {
            commands.push(("tshark", &tshark_args));
        }
        let mut measured = measure_rounds(time, &commands, runs)?.into_iter();
        let mut next = || measured.next().context("one measurement per command");
        let (floor, messages, replay) = (next()?, next()?, next()?);
        let tshark = match tshark_lines {
            Some(lines) => Some((next()?, lines)),
            None => None,
        };
        results.push(SizeResult { mb, stats, load, floor, counted, messages, replay, tshark });
    }
    print!("{}", report(&results, runs));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Templates

/// A value that differs from call to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    CallId,
    FromTag,
    ToTag,
    /// The n-th distinct Via branch of the recorded call.
    Branch(u8),
    /// CSeq number: the call's first CSeq plus this.
    CSeq(u32),
    CallerUser,
    CalleeUser,
    CallerIp,
    CallerPort,
    CalleeIp,
    CalleePort,
    CallerMedia,
    CalleeMedia,
    CallerRtp,
    CalleeRtp,
    /// SDP origin session id and version of the caller (true) or the callee.
    SdpOrigin(bool),
    Icid,
    ContentLength,
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Var(Var),
}

/// One recorded message with the per-call values cut out.
#[derive(Debug)]
struct Template {
    from_caller: bool,
    invite: bool,
    head: Vec<Piece>,
    body: Vec<Piece>,
}

#[derive(Debug)]
struct Templates {
    udp: Vec<Template>,
    tcp: Vec<Template>,
}

impl Templates {
    fn load(root: &Path) -> Result<Templates> {
        let dir = root.join("captures/telegent-acme");
        Ok(Templates {
            udp: Self::load_call(&dir.join("conforming-udp.pcap"))?,
            tcp: Self::load_call(&dir.join("conforming-tcp.pcap"))?,
        })
    }

    /// Reads one recorded call (INVITE, 180, 200, ACK, BYE, 200) and turns it into templates.
    fn load_call(path: &Path) -> Result<Vec<Template>> {
        let reader = CaptureReader::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut messages = Vec::new();
        for m in reader {
            let m = m.with_context(|| format!("cannot read {}", path.display()))?;
            let text = String::from_utf8(m.bytes.to_vec()).context("a recorded message is not UTF-8")?;
            messages.push((m.src, m.dst, text));
        }
        let firsts: Vec<String> =
            messages.iter().map(|(_, _, t)| t.lines().next().unwrap_or_default().to_owned()).collect();
        let expected = ["INVITE ", "SIP/2.0 180", "SIP/2.0 200", "ACK ", "BYE ", "SIP/2.0 200"];
        ensure!(
            firsts.len() == expected.len() && firsts.iter().zip(expected).all(|(f, e)| f.starts_with(e)),
            "{}: expected one call (INVITE, 180, 200, ACK, BYE, 200), found {firsts:?}",
            path.display()
        );
        let (caller, callee) = match (messages[0].0, messages[0].1) {
            (SocketAddr::V4(a), SocketAddr::V4(b)) => (a, b),
            _ => bail!("{}: the recorded call is not IPv4", path.display()),
        };

        // The values to cut out, longest and most specific first.
        let mut rules: Vec<(String, Vec<Piece>)> = Vec::new();
        let var = |v| vec![Piece::Var(v)];
        let mut add = |needle: String, pieces: Vec<Piece>| {
            if !needle.is_empty() && !rules.iter().any(|(n, _)| *n == needle) {
                rules.push((needle, pieces));
            }
        };
        let (_, _, invite) = &messages[0];
        let (invite_head, invite_body) = split_message(invite);
        add(header(invite_head, "Call-ID").context("no Call-ID")?.to_owned(), var(Var::CallId));
        let base_cseq: u32 = header(invite_head, "CSeq")
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .context("no CSeq number")?;
        let mut branches: Vec<String> = Vec::new();
        for (src, _, text) in &messages {
            let from_caller = *src == SocketAddr::V4(caller);
            let (head, body) = split_message(text);
            if let Some(tag) = header(head, "From").and_then(|v| param(v, "tag")) {
                add(tag.to_owned(), var(Var::FromTag));
            }
            if let Some(tag) = header(head, "To").and_then(|v| param(v, "tag")) {
                add(tag.to_owned(), var(Var::ToTag));
            }
            if let Some(branch) = header(head, "Via").and_then(|v| param(v, "branch")) {
                if !branches.iter().any(|b| b == branch) {
                    branches.push(branch.to_owned());
                }
            }
            if let Some(icid) = header(head, "P-Charging-Vector").and_then(|v| param(v, "icid-value")) {
                add(icid.to_owned(), var(Var::Icid));
            }
            if let Some(cseq) = header(head, "CSeq") {
                if let Some((n, method)) = cseq.split_once(' ') {
                    let offset = n.parse::<u32>().context("bad CSeq")?.checked_sub(base_cseq).context("CSeq")?;
                    add(
                        format!("CSeq: {cseq}"),
                        vec![
                            Piece::Lit("CSeq: ".into()),
                            Piece::Var(Var::CSeq(offset)),
                            Piece::Lit(format!(" {method}")),
                        ],
                    );
                }
            }
            if let Some(len) = header(head, "Content-Length") {
                let line = head.lines().find(|l| l.starts_with("Content-Length:") && l.ends_with(len)).unwrap_or("");
                add(line.to_owned(), vec![Piece::Lit("Content-Length: ".into()), Piece::Var(Var::ContentLength)]);
            }
            for line in body.lines() {
                if let Some(o) = line.strip_prefix("o=") {
                    let f: Vec<&str> = o.split(' ').collect();
                    if f.len() >= 3 {
                        add(format!(" {} {} ", f[1], f[2]), {
                            let mut p = vec![Piece::Lit(" ".into()), Piece::Var(Var::SdpOrigin(from_caller))];
                            p.push(Piece::Lit(" ".into()));
                            p
                        });
                    }
                }
                if let Some(c) = line.strip_prefix("c=IN IP4 ") {
                    add(c.to_owned(), var(if from_caller { Var::CallerMedia } else { Var::CalleeMedia }));
                }
                if let Some(m) = line.strip_prefix("m=audio ") {
                    if let Some(port) = m.split(' ').next() {
                        add(
                            format!("m=audio {port} "),
                            vec![
                                Piece::Lit("m=audio ".into()),
                                Piece::Var(if from_caller { Var::CallerRtp } else { Var::CalleeRtp }),
                                Piece::Lit(" ".into()),
                            ],
                        );
                    }
                }
            }
        }
        for (i, b) in branches.iter().enumerate() {
            add(b.clone(), var(Var::Branch(u8::try_from(i).context("too many branches")?)));
        }
        let caller_user = uri_user(header(invite_head, "From").context("no From")?).context("no From user")?;
        let callee_user = uri_user(invite.lines().next().unwrap_or_default()).context("no Request-URI user")?;
        add(caller_user.to_owned(), var(Var::CallerUser));
        add(callee_user.to_owned(), var(Var::CalleeUser));
        add(caller.to_string(), vec![Piece::Var(Var::CallerIp), Piece::Lit(":".into()), Piece::Var(Var::CallerPort)]);
        add(callee.to_string(), vec![Piece::Var(Var::CalleeIp), Piece::Lit(":".into()), Piece::Var(Var::CalleePort)]);
        add(caller.ip().to_string(), var(Var::CallerIp));
        add(callee.ip().to_string(), var(Var::CalleeIp));
        ensure!(!invite_body.is_empty(), "{}: the INVITE has no SDP", path.display());

        let mut templates = Vec::new();
        for (i, (src, _, text)) in messages.iter().enumerate() {
            let (head, body) = split_message(text);
            templates.push(Template {
                from_caller: *src == SocketAddr::V4(caller),
                invite: i == 0,
                head: cut(head, &rules),
                body: cut(body, &rules),
            });
        }
        Ok(templates)
    }
}

/// Head (with its final CRLF CRLF) and body.
fn split_message(text: &str) -> (&str, &str) {
    match text.find("\r\n\r\n") {
        Some(at) => text.split_at(at + 4),
        None => (text, ""),
    }
}

/// The value of the first header called `name`.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The value of parameter `name` (`;name=value`) in a header value.
fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let at = value.find(&format!(";{name}="))? + name.len() + 2;
    let rest = &value[at..];
    Some(&rest[..rest.find([';', ',', '>', ' ']).unwrap_or(rest.len())])
}

/// The user part of the first `sip:` URI in `text`.
fn uri_user(text: &str) -> Option<&str> {
    let rest = &text[text.find("sip:")? + 4..];
    let end = rest.find('@')?;
    Some(&rest[..end])
}

/// Splits `text` into literal pieces and variables, applying the rules in order.
fn cut(text: &str, rules: &[(String, Vec<Piece>)]) -> Vec<Piece> {
    let mut pieces = vec![Piece::Lit(text.to_owned())];
    for (needle, replacement) in rules {
        let mut next = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Lit(s) => {
                    let mut rest = s.as_str();
                    while let Some(at) = rest.find(needle.as_str()) {
                        if at > 0 {
                            next.push(Piece::Lit(rest[..at].to_owned()));
                        }
                        next.extend(replacement.iter().cloned());
                        rest = &rest[at + needle.len()..];
                    }
                    if !rest.is_empty() {
                        next.push(Piece::Lit(rest.to_owned()));
                    }
                }
                var => next.push(var),
            }
        }
        pieces = next;
    }
    pieces
}

// ---------------------------------------------------------------------------------------------
// Calls

/// SplitMix64: a small, fast, deterministic generator; the same call number always gives the same call.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Udp,
    /// UDP with a long SDP offer: the INVITE is sent in IPv4 fragments.
    UdpFragmented,
    Tcp,
}

/// Everything that varies in call number `n`.
#[derive(Debug, Clone, Copy)]
struct Call {
    n: u64,
    r: u64,
    kind: Kind,
    caller: SocketAddrV4,
    callee: SocketAddrV4,
}

impl Call {
    fn new(n: u64) -> Call {
        let r = mix(n);
        let kind = match n % 24 {
            2 | 5 | 8 | 11 | 14 | 17 | 20 | 23 => Kind::Tcp,
            1 | 13 => Kind::UdpFragmented,
            _ => Kind::Udp,
        };
        // Acme's SBC is 127.0.20.1; one call in 500 comes from another address of its network, which
        // the agreement does not know (so the replay reports an unknown source).
        let caller_ip = if r % 500 == 7 && kind != Kind::Tcp {
            Ipv4Addr::new(127, 0, 20, 100 + (r >> 20) as u8 % 4)
        } else {
            [127, 0, 20, 1].into()
        };
        // Telegent's SBC answers on 127.0.10.1 (any port) and 127.0.10.2:5060.
        // TCP calls all go to 127.0.10.1:5060 over the connections Acme's SBC keeps open.
        let callee = match (r >> 8) % 4 {
            _ if kind == Kind::Tcp => SocketAddrV4::new([127, 0, 10, 1].into(), 5060),
            0 => SocketAddrV4::new([127, 0, 10, 2].into(), 5060),
            1 => SocketAddrV4::new([127, 0, 10, 1].into(), 5080),
            _ => SocketAddrV4::new([127, 0, 10, 1].into(), 5060),
        };
        let caller_port = if kind == Kind::Tcp { 5061 } else { 5061 + ((r >> 12) % 40) as u16 };
        Call { n, r, kind, caller: SocketAddrV4::new(caller_ip, caller_port), callee }
    }

    fn write_var(&self, var: Var, content_length: usize, out: &mut Vec<u8>) {
        let r = self.r;
        // Writing to a Vec cannot fail.
        let _ = match var {
            Var::CallId => write!(out, "{:x}-{}@{}", r >> 16, self.n, self.caller.ip()),
            Var::FromTag => write!(out, "{:08x}-{}", (r >> 24) as u32, self.n % 9973),
            Var::ToTag => write!(out, "as{:010x}", (r >> 3) & 0xff_ffff_ffff),
            Var::Branch(i) => write!(out, "z9hG4bK-{:x}-{}-{i}", (r >> 40) as u16, self.n),
            Var::CSeq(offset) => write!(out, "{}", 1 + (r >> 33) % 5000 + u64::from(offset)),
            Var::CallerUser => write!(out, "+49151{:08}", r % 100_000_000),
            Var::CalleeUser => write!(out, "+49301{:05}", (r >> 27) % 100_000),
            Var::CallerIp => write!(out, "{}", self.caller.ip()),
            Var::CallerPort => write!(out, "{}", self.caller.port()),
            Var::CalleeIp => write!(out, "{}", self.callee.ip()),
            Var::CalleePort => write!(out, "{}", self.callee.port()),
            // Acme's media range is 127.0.20.0/27, Telegent's 127.0.10.0/28.
            Var::CallerMedia => write!(out, "127.0.20.{}", 2 + (r >> 5) % 29),
            Var::CalleeMedia => write!(out, "127.0.10.{}", 3 + (r >> 7) % 12),
            Var::CallerRtp => write!(out, "{}", 10_000 + 2 * ((r >> 9) % 10_000)),
            Var::CalleeRtp => write!(out, "{}", 30_000 + 2 * ((r >> 11) % 10_000)),
            Var::SdpOrigin(caller) => {
                let id = (r >> 2) % 1_000_000_000 + u64::from(!caller);
                write!(out, "{id} {}", id + 1_000_000)
            }
            Var::Icid => write!(out, "{:012x}", r & 0xffff_ffff_ffff),
            Var::ContentLength => write!(out, "{content_length}"),
        };
    }

    /// Writes one message of the call into `out` (cleared first); `scratch` holds the body.
    fn render(&self, t: &Template, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
        scratch.clear();
        self.render_pieces(&t.body, 0, scratch);
        if t.invite && self.kind == Kind::UdpFragmented {
            self.long_offer(scratch);
        }
        out.clear();
        self.render_pieces(&t.head, scratch.len(), out);
        out.extend_from_slice(scratch);
    }

    fn render_pieces(&self, pieces: &[Piece], content_length: usize, out: &mut Vec<u8>) {
        for p in pieces {
            match p {
                Piece::Lit(s) => out.extend_from_slice(s.as_bytes()),
                Piece::Var(v) => self.write_var(*v, content_length, out),
            }
        }
    }

    /// Turns the recorded one-codec offer into a long audio and video offer (about 2.5 kB).
    fn long_offer(&self, body: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(body).into_owned();
        let mut out = String::with_capacity(3000);
        for line in text.split_inclusive("\r\n") {
            if line.starts_with("m=audio ") {
                out.push_str(line.trim_end().trim_end_matches(" 8"));
                out.push_str(" 8 0 9 18 96 97 98 101\r\n");
                continue;
            }
            out.push_str(line);
        }
        let video_port = 20_000 + 2 * ((self.r >> 17) % 5000);
        let mut extra = String::new();
        for (pt, codec) in [(9, "G722/8000"), (18, "G729/8000"), (96, "AMR-WB/16000"), (97, "AMR/8000")] {
            let _ = write!(extra, "a=rtpmap:{pt} {codec}\r\n");
        }
        extra.push_str("a=fmtp:18 annexb=no\r\na=fmtp:96 mode-change-capability=2;max-red=0\r\n");
        extra.push_str("a=rtpmap:98 telephone-event/16000\r\na=fmtp:98 0-15\r\n");
        extra.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n");
        extra.push_str("a=ptime:20\r\na=maxptime:40\r\na=sendrecv\r\na=rtcp-mux\r\n");
        let _ = write!(extra, "a=rtcp:{}\r\n", 10_001 + 2 * ((self.r >> 9) % 10_000));
        for i in 1..=4 {
            let _ = write!(
                extra,
                "a=crypto:{i} AES_CM_128_HMAC_SHA1_80 inline:{:016x}{:016x}{:08x}|2^31|{i}:1\r\n",
                mix(self.r ^ i),
                mix(self.r + i),
                self.n
            );
        }
        let _ = write!(extra, "m=video {video_port} RTP/AVP 100 101 102 103 104\r\n");
        for (pt, level) in [(100, "42e01f"), (101, "42e01e"), (102, "42c01f"), (103, "640c1f"), (104, "4d001f")] {
            let _ = write!(
                extra,
                "a=rtpmap:{pt} H264/90000\r\na=fmtp:{pt} profile-level-id={level};packetization-mode=1;\
                 max-mbps=245760;max-fs=8160;max-br=5000\r\na=rtcp-fb:{pt} nack\r\na=rtcp-fb:{pt} nack pli\r\n\
                 a=rtcp-fb:{pt} ccm fir\r\na=rtcp-fb:{pt} ccm tmmbr\r\n"
            );
        }
        extra.push_str("a=content:main\r\na=label:11\r\na=sendrecv\r\n");
        out.push_str(&extra);
        body.clear();
        body.extend_from_slice(out.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Writing the capture

const MTU: usize = 1500;
const TCP_CONNECTIONS: u64 = 4;
const CALLS_PER_CONNECTION: u64 = 250;
/// New calls per second.
const CALL_RATE: u64 = 400;

#[derive(Debug, Default)]
struct Stats {
    bytes: u64,
    packets: u64,
    calls: u64,
    messages: u64,
}

/// One TCP connection from Acme's SBC (ephemeral port) to Telegent's SBC (127.0.10.1:5060).
#[derive(Debug)]
struct Connection {
    client: SocketAddrV4,
    server: SocketAddrV4,
    /// Next sequence numbers, client to server and server to client.
    seq: [u32; 2],
    open: bool,
    /// Sends queued and not yet written.
    pending: u64,
    /// All its calls have been started.
    full: bool,
}

struct Writer {
    out: BufWriter<File>,
    stats: Stats,
    last_us: u64,
    ip_id: u16,
    frame: Vec<u8>,
}

impl Writer {
    fn create(path: &Path) -> Result<Writer> {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        // Classic pcap, little-endian, microseconds, version 2.4, snaplen 65535, Ethernet.
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&65_535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(Writer { out, stats: Stats { bytes: 24, ..Stats::default() }, last_us: 0, ip_id: 1, frame: Vec::new() })
    }

    /// Writes the frame in `self.frame` at `us` (or just after the previous one).
    fn record(&mut self, us: u64) -> Result<()> {
        let us = us.max(self.last_us + 1);
        self.last_us = us;
        let len = u32::try_from(self.frame.len())?;
        self.out.write_all(&u32::try_from(us / 1_000_000)?.to_le_bytes())?;
        self.out.write_all(&((us % 1_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.frame)?;
        self.stats.bytes += 16 + u64::from(len);
        self.stats.packets += 1;
        Ok(())
    }

    /// Starts `self.frame` with Ethernet and IPv4 headers; `payload_len` is the IP payload length.
    fn ip_header(&mut self, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload_len: usize, id: u16, frag: u16) {
        let f = &mut self.frame;
        f.clear();
        f.extend_from_slice(&[0x02, 0, 0, 0, 0x0a, 1, 0x02, 0, 0, 0, 0x14, 1, 0x08, 0x00]);
        let total = (20 + payload_len) as u16;
        let start = f.len();
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        let mut sum: u32 = f[start..start + 20].chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        f[start + 10..start + 12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    }

    fn next_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// A UDP datagram, in IPv4 fragments when it does not fit the MTU. Checksum zero (none).
    fn udp(&mut self, us: u64, src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Result<()> {
        let mut datagram = Vec::with_capacity(8 + payload.len());
        datagram.extend_from_slice(&src.port().to_be_bytes());
        datagram.extend_from_slice(&dst.port().to_be_bytes());
        datagram.extend_from_slice(&u16::try_from(8 + payload.len())?.to_be_bytes());
        datagram.extend_from_slice(&[0, 0]);
        datagram.extend_from_slice(payload);
        let id = self.next_id();
        let max = (MTU - 20) / 8 * 8;
        let mut offset = 0;
        while offset < datagram.len() {
            let end = (offset + max).min(datagram.len());
            let more = if end < datagram.len() { 0x2000 } else { 0 };
            let flags = if offset == 0 && end == datagram.len() { 0x4000 } else { more | (offset / 8) as u16 };
            self.ip_header(*src.ip(), *dst.ip(), 17, end - offset, id, flags);
            self.frame.extend_from_slice(&datagram[offset..end]);
            self.record(us)?;
            offset = end;
        }
        Ok(())
    }

    fn tcp(&mut self, us: u64, c: &Connection, from_client: bool, flags: u8, payload: &[u8]) -> Result<()> {
        let (src, dst, dir) = if from_client { (c.client, c.server, 0) } else { (c.server, c.client, 1) };
        let id = self.next_id();
        self.ip_header(*src.ip(), *dst.ip(), 6, 20 + payload.len(), id, 0x4000);
        let f = &mut self.frame;
        f.extend_from_slice(&src.port().to_be_bytes());
        f.extend_from_slice(&dst.port().to_be_bytes());
        f.extend_from_slice(&c.seq[dir].to_be_bytes());
        let ack = if flags & 0x10 != 0 { c.seq[1 - dir] } else { 0 };
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        self.record(us)
    }
}

const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const PSH_ACK: u8 = 0x18;
const ACK: u8 = 0x10;

fn open(w: &mut Writer, us: u64, c: &mut Connection) -> Result<()> {
    w.tcp(us, c, true, SYN, &[])?;
    c.seq[0] = c.seq[0].wrapping_add(1);
    w.tcp(us + 40, c, false, SYN | ACK, &[])?;
    c.seq[1] = c.seq[1].wrapping_add(1);
    w.tcp(us + 80, c, true, ACK, &[])?;
    c.open = true;
    Ok(())
}

fn close(w: &mut Writer, us: u64, c: &mut Connection) -> Result<()> {
    w.tcp(us, c, true, FIN | ACK, &[])?;
    c.seq[0] = c.seq[0].wrapping_add(1);
    w.tcp(us + 50, c, false, FIN | ACK, &[])?;
    c.seq[1] = c.seq[1].wrapping_add(1);
    w.tcp(us + 100, c, true, ACK, &[])?;
    c.open = false;
    Ok(())
}

/// Writes `data` from one side in segments cut at `cuts` (offsets), then the other side's ACK.
fn send(w: &mut Writer, us: u64, c: &mut Connection, from_client: bool, data: &[u8], cuts: &[usize]) -> Result<()> {
    let dir = usize::from(!from_client);
    let mut start = 0;
    for (i, &end) in cuts.iter().chain([data.len()].iter()).enumerate() {
        if end <= start || end > data.len() {
            continue;
        }
        w.tcp(us + 20 * i as u64, c, from_client, PSH_ACK, &data[start..end])?;
        c.seq[dir] = c.seq[dir].wrapping_add((end - start) as u32);
        start = end;
    }
    w.tcp(us + 200, c, !from_client, ACK, &[])
}

/// A message (or, for TCP, messages sent together) due at a time.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    us: u64,
    order: u64,
    call: u64,
    /// Bit i set: message i of the call.
    messages: u8,
}

/// Writes calls until the file reaches `target_bytes`, then lets the calls in progress finish.
fn generate(templates: &Templates, path: &Path, target_bytes: u64) -> Result<Stats> {
    let mut w = Writer::create(path)?;
    let mut queue: BinaryHeap<Reverse<Event>> = BinaryHeap::new();
    let mut connections: HashMap<u64, Connection> = HashMap::new();
    let mut order = 0u64;
    let mut message = Vec::new();
    let mut scratch = Vec::new();
    let mut data = Vec::new();
    let start_us: u64 = 1_764_000_000 * 1_000_000;
    let mut n = 0u64;
    loop {
        let starting = w.stats.bytes < target_bytes;
        let next_start = start_us + n * 1_000_000 / CALL_RATE;
        // Write everything due before the next call starts (everything, once no more calls start).
        while let Some(Reverse(e)) = queue.peek() {
            if starting && e.us >= next_start {
                break;
            }
            let Some(Reverse(e)) = queue.pop() else { break };
            let call = Call::new(e.call);
            let (templates, is_tcp) =
                if call.kind == Kind::Tcp { (&templates.tcp, true) } else { (&templates.udp, false) };
            let indices: Vec<usize> = (0..8).filter(|i| e.messages & (1 << i) != 0).collect();
            let from_caller = templates[indices[0]].from_caller;
            if is_tcp {
                data.clear();
                let mut bounds = Vec::new();
                for &i in &indices {
                    call.render(&templates[i], &mut message, &mut scratch);
                    data.extend_from_slice(&message);
                    bounds.push(data.len());
                    w.stats.messages += 1;
                }
                // Cut some sends: mid-message, and (for 180 with 200) through the second message.
                let t = call.n / 3;
                let cuts: Vec<usize> = match (indices[0], t % 4) {
                    (0, 1) => vec![data.len() / 2],
                    (0, 3) => vec![300, 600],
                    (1, 2) if indices.len() > 1 => vec![bounds[0] + (bounds[1] - bounds[0]) / 3],
                    (4, 0) => vec![100, 200, 300],
                    _ => vec![],
                };
                let key = connection_key(&call);
                let c = connections.get_mut(&key).context("connection missing")?;
                if !c.open {
                    open(&mut w, e.us.saturating_sub(300), c)?;
                }
                send(&mut w, e.us, c, from_caller, &data, &cuts)?;
                c.pending -= 1;
                if c.pending == 0 && c.full {
                    close(&mut w, e.us + 1000, c)?;
                    connections.remove(&key);
                }
            } else {
                for &i in &indices {
                    call.render(&templates[i], &mut message, &mut scratch);
                    let (src, dst) = if from_caller { (call.caller, call.callee) } else { (call.callee, call.caller) };
                    w.udp(e.us, src, dst, &message)?;
                    w.stats.messages += 1;
                }
            }
        }
        if !starting {
            break;
        }
        // Start call n: ringing, answer, talk, hang up.
        let call = Call::new(n);
        let r = mix(call.r);
        let ring = 150 + r % 300;
        let answer = ring + 200_000 + (r >> 10) % 2_800_000;
        let talk = 2_000_000 + (r >> 30) % 28_000_000;
        let offsets: [u64; 6] = [0, ring, answer, answer + 400, answer + talk, answer + talk + 120];
        let mut groups: Vec<(u64, u8)> = offsets.iter().enumerate().map(|(i, &o)| (o, 1u8 << i)).collect();
        if call.kind == Kind::Tcp {
            let t = n / 3;
            // One TCP call in three answers at once: 180 and 200 leave in one send.
            if t.is_multiple_of(3) {
                groups = vec![(0, 1), (ring, 0b110), (ring + 400, 1 << 3), (talk, 1 << 4), (talk + 120, 1 << 5)];
            }
            let key = connection_key(&call);
            let c = connections.entry(key).or_insert_with(|| {
                let lane = key % TCP_CONNECTIONS;
                let generation = key / TCP_CONNECTIONS;
                Connection {
                    client: SocketAddrV4::new(
                        [127, 0, 20, 1].into(),
                        40_000 + ((generation * 7 + lane * 1000) % 20_000) as u16,
                    ),
                    server: SocketAddrV4::new([127, 0, 10, 1].into(), 5060),
                    seq: [mix(key) as u32, mix(key + 1) as u32],
                    open: false,
                    pending: 0,
                    full: false,
                }
            });
            c.pending += groups.len() as u64;
            c.full = (t / TCP_CONNECTIONS) % CALLS_PER_CONNECTION == CALLS_PER_CONNECTION - 1;
        }
        for (offset, messages) in groups {
            queue.push(Reverse(Event { us: next_start + offset, order, call: n, messages }));
            order += 1;
        }
        w.stats.calls += 1;
        n += 1;
    }
    let end = w.last_us + 1000;
    let keys: Vec<u64> = connections.keys().copied().collect();
    for key in keys {
        if let Some(c) = connections.get_mut(&key) {
            if c.open {
                close(&mut w, end, c)?;
            }
        }
    }
    w.out.flush()?;
    // On disk before it is timed, so the kernel's write-back of the new file does not run during the
    // first measurements (the file stays in the page cache).
    w.out.get_ref().sync_all()?;
    Ok(w.stats)
}

/// TCP calls share connections: lane (t mod 4), then generation (a new connection every 250 calls).
fn connection_key(call: &Call) -> u64 {
    let t = call.n / 3;
    let lane = t % TCP_CONNECTIONS;
    let generation = t / TCP_CONNECTIONS / CALLS_PER_CONNECTION;
    generation * TCP_CONNECTIONS + lane
}

// ---------------------------------------------------------------------------------------------
// Measuring

#[derive(Debug, Clone, Copy)]
struct Run {
    secs: f64,
    /// Peak resident set in kB, when /usr/bin/time is there.
    max_rss_kb: Option<u64>,
}

#[derive(Debug)]
struct Measured {
    median_secs: f64,
    max_rss_kb: Option<u64>,
    runs: Vec<f64>,
}

fn median(mut runs: Vec<Run>) -> Measured {
    let max_rss_kb = runs.iter().filter_map(|r| r.max_rss_kb).max();
    let mut secs: Vec<f64> = runs.drain(..).map(|r| r.secs).collect();
    secs.sort_by(f64::total_cmp);
    let median_secs = if secs.len() % 2 == 1 {
        secs[secs.len() / 2]
    } else {
        (secs[secs.len() / 2 - 1] + secs[secs.len() / 2]) / 2.0
    };
    Measured { median_secs, max_rss_kb, runs: secs }
}

/// The floor: reads every record with pcap-file and touches its bytes.
fn read_records(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = pcap_file::pcap::PcapReader::new(BufReader::with_capacity(64 * 1024, file))?;
    let (mut packets, mut bytes) = (0u64, 0u64);
    while let Some(packet) = reader.next_packet() {
        let packet = packet?;
        packets += 1;
        bytes += packet.data.len() as u64 + u64::from(packet.data.last().copied().unwrap_or(0) & 1);
    }
    println!("{packets} records, {bytes} bytes");
    Ok(())
}

/// Times each command `runs` times, in rounds (each command once per round, in the order given), so
/// that a change in the machine's load during the benchmark weighs on every command alike and the
/// ratios of one round compare runs made minutes apart at most.
fn measure_rounds(time: Option<&Path>, commands: &[(&str, &[&str])], runs: usize) -> Result<Vec<Measured>> {
    let mut results: Vec<Vec<Run>> = commands.iter().map(|_| Vec::new()).collect();
    let rss_file = std::env::temp_dir().join(format!("bench-capture-rss-{}", std::process::id()));
    for _ in 0..runs {
        for ((program, args), runs) in commands.iter().zip(&mut results) {
            runs.push(run_once(time, &rss_file, program, args)?);
        }
    }
    let _ = std::fs::remove_file(&rss_file);
    Ok(results.into_iter().map(median).collect())
}

fn run_once(time: Option<&Path>, rss_file: &Path, program: &str, args: &[&str]) -> Result<Run> {
    let mut cmd = match time {
        Some(time) => {
            let mut c = Command::new(time);
            c.arg("-f").arg("%M").arg("-o").arg(rss_file).arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let status = cmd.status().with_context(|| format!("cannot run {program}"))?;
    let secs = started.elapsed().as_secs_f64();
    // sipaccord replay exits 1 when it finds errors; anything else is a failure.
    ensure!(matches!(status.code(), Some(0 | 1)), "{program} {} failed with {status}", args.join(" "));
    let max_rss_kb = time
        .and_then(|_| std::fs::read_to_string(rss_file).ok())
        .and_then(|s| s.lines().filter_map(|l| l.trim().parse().ok()).next_back());
    Ok(Run { secs, max_rss_kb })
}

/// Runs a command and counts the lines it prints.
fn count_lines(program: &Path, args: &[&str]) -> Result<u64> {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let mut lines = 0u64;
    let mut out = BufReader::with_capacity(1 << 20, child.stdout.take().context("no stdout")?);
    loop {
        let buf = out.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        out.consume(n);
    }
    let status = child.wait()?;
    ensure!(matches!(status.code(), Some(0 | 1)), "{} failed with {status}", program.display());
    Ok(lines)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

struct SizeResult {
    mb: u64,
    stats: Stats,
    load: String,
    floor: Measured,
    counted: u64,
    messages: Measured,
    replay: Measured,
    tshark: Option<(Measured, u64)>,
}

fn report(results: &[SizeResult], runs: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nbench-capture: wall clock, median of {runs} runs taken in rounds; peak RSS is the largest run's"
    );
    for r in results {
        let mb = r.stats.bytes as f64 / 1e6;
        let _ = writeln!(
            s,
            "\n{} MB capture: {mb:.1} MB, {} packets, {} calls; sipaccord messages: {} messages \
             (generator wrote {}); load average before: {}",
            r.mb, r.stats.packets, r.stats.calls, r.counted, r.stats.messages, r.load
        );
        let _ = writeln!(
            s,
            "  {:<10} {:>9} {:>9} {:>12} {:>10}  runs (s)",
            "", "median s", "MB/s", "messages/s", "peak RSS"
        );
        let mut row = |name: &str, m: &Measured| {
            let rss = m.max_rss_kb.map_or_else(|| "-".to_owned(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
            let runs: Vec<String> = m.runs.iter().map(|t| format!("{t:.2}")).collect();
            let _ = writeln!(
                s,
                "  {name:<10} {:>9.3} {:>9.0} {:>12.0} {rss:>10}  {}",
                m.median_secs,
                mb / m.median_secs,
                r.counted as f64 / m.median_secs,
                runs.join(" ")
            );
        };
        row("floor", &r.floor);
        row("messages", &r.messages);
        row("replay", &r.replay);
        if let Some((t, _)) = &r.tshark {
            row("tshark", t);
        }
        let m = r.messages.median_secs;
        let _ = writeln!(s, "  messages vs floor:  {:>6.2}x the time   (target: within 3x)", m / r.floor.median_secs);
        if let Some((t, lines)) = &r.tshark {
            let _ = writeln!(
                s,
                "  messages vs tshark: {:>6.1}x faster     (target: at least 50x; tshark printed {lines} lines)",
                t.median_secs / m
            );
        }
        let _ =
            writeln!(s, "  replay vs messages: {:>6.2}x the time   (target: within 1.5x)", r.replay.median_secs / m);
        if let Some((t, _)) = &r.tshark {
            let _ = writeln!(s, "  replay vs tshark:   {:>6.1}x faster", t.median_secs / r.replay.median_secs);
        }
    }
    if results.len() > 1 {
        let rss = |m: &Measured| m.max_rss_kb.map_or_else(|| "-".to_owned(), |kb| format!("{:.1}", kb as f64 / 1024.0));
        let _ = writeln!(s, "\npeak RSS in MB by capture size (target: flat):");
        for r in results {
            let _ = writeln!(
                s,
                "  {:>5} MB: messages {:>7}  replay {:>7}{}",
                r.mb,
                rss(&r.messages),
                rss(&r.replay),
                r.tshark.as_ref().map(|(t, _)| format!("  tshark {:>7}", rss(t))).unwrap_or_default()
            );
        }
    }
    s
}
