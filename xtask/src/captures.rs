//! `cargo xtask captures`: records the project's own captures with real SIPp calls on loopback
//! addresses, captured by tcpdump, for the example agreement `fixtures/interop/telegent-acme.agreement`.
//!
//! Telegent's SBC is 127.0.10.1, Acme's is 127.0.20.1; 127.0.30.1 belongs to no peer. Each case runs
//! SIPp user agents with scenarios written here, so every header a capture carries is visible in this
//! file. Needs `sipp` (Debian `sip-tester`) and `tcpdump`, and root for tcpdump.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, Context, Result};

const TELEGENT: &str = "127.0.10.1";
const ACME: &str = "127.0.20.1";
const STRANGER: &str = "127.0.30.1";

/// The headers Acme must put on an initial INVITE, per the agreement.
const ACME_REQUIRED: &[&str] = &[
    "X-Acme-Carrier: acme-mobile-01",
    "P-Asserted-Identity: <sip:+4915112345678@acme.example>",
    "P-Charging-Vector: icid-value=1234bc9876e;icid-generated-at=127.0.20.1;orig-ioi=acme",
];

/// One SIPp call: a UAC placing an INVITE towards a UAS.
struct Call {
    from: (&'static str, u16),
    to: (&'static str, u16),
    ruri_user: &'static str,
    headers: Vec<String>,
    sdp_ip: &'static str,
    /// Whether the UAS copies X-Hairpin from the INVITE into its 180 and 200.
    uas_echoes: bool,
}

impl Call {
    fn acme<S: AsRef<str>>(headers: &[S]) -> Call {
        Call {
            from: (ACME, 5061),
            to: (TELEGENT, 5060),
            ruri_user: "+4930123456",
            headers: headers.iter().map(|h| h.as_ref().to_owned()).collect(),
            sdp_ip: "127.0.20.5",
            uas_echoes: true,
        }
    }
}

/// What a capture holds.
enum Step {
    Call(Call),
    /// A raw datagram sent by a SIPp UAC that expects no answer (for malformed traffic).
    Raw {
        from: (&'static str, u16),
        to: (&'static str, u16),
        message: String,
    },
}

struct Case {
    name: &'static str,
    transport: &'static str,
    steps: Vec<Step>,
}

/// Acme's required headers plus `extra`.
fn with(extra: &[&str]) -> Vec<String> {
    ACME_REQUIRED.iter().chain(extra).map(|h| (*h).to_owned()).collect()
}

fn cases() -> Vec<Case> {
    let hairpin_inbound_with = |headers: &[&str]| {
        let mut c = Call::acme(&with(headers));
        c.ruri_user = "+4917612345678";
        c
    };
    let hairpin_inbound =
        || hairpin_inbound_with(&["X-Hairpin: fmc", "P-Served-User: <sip:+4915112345678@acme.example>;sescase=orig"]);
    let hairpin_outbound = |headers: &[&str]| Call {
        from: (TELEGENT, 5061),
        to: (ACME, 5060),
        ruri_user: "+4917612345678",
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        sdp_ip: "127.0.10.5",
        uas_echoes: true,
    };
    let case = |name, transport, steps| Case { name, transport, steps };
    vec![
        case("conforming-udp", "u1", vec![Step::Call(Call::acme(ACME_REQUIRED))]),
        case("conforming-tcp", "t1", vec![Step::Call(Call::acme(ACME_REQUIRED))]),
        case(
            "conforming-hairpin",
            "u1",
            vec![Step::Call(hairpin_inbound()), Step::Call(hairpin_outbound(&["X-Hairpin: fmc"]))],
        ),
        case("missing-required-header", "u1", vec![Step::Call(Call::acme(&[ACME_REQUIRED[1], ACME_REQUIRED[2]]))]),
        case("forbidden-header", "u1", vec![Step::Call(Call::acme(&with(&["X-Telegent-Route: trunk-7"])))]),
        case("bad-value", "u1", vec![Step::Call(Call::acme(&with(&["X-Hairpin: maybe"])))]),
        case("too-many-values", "u1", vec![Step::Call(Call::acme(&with(&["X-Hairpin: none", "X-Hairpin: none"])))]),
        case(
            "missing-echo",
            "u1",
            vec![Step::Call(Call { uas_echoes: false, ..Call::acme(&with(&["X-Hairpin: none"])) })],
        ),
        case(
            "failed-conditional-rule",
            "u1",
            vec![
                Step::Call(hairpin_inbound_with(&["X-Hairpin: fmc"])),
                Step::Call(hairpin_outbound(&["X-Hairpin: fmc"])),
            ],
        ),
        case("missing-hairpin-leg", "u1", vec![Step::Call(hairpin_inbound())]),
        case(
            "wrong-hairpin-leg",
            "u1",
            vec![Step::Call(hairpin_inbound()), Step::Call(hairpin_outbound(&["X-Hairpin: none"]))],
        ),
        case("unknown-source", "u1", vec![Step::Call(Call { from: (STRANGER, 5061), ..Call::acme(ACME_REQUIRED) })]),
        case("media-outside", "u1", vec![Step::Call(Call { sdp_ip: "127.0.99.1", ..Call::acme(ACME_REQUIRED) })]),
        case(
            "malformed-message",
            "u1",
            vec![Step::Raw {
                from: (ACME, 5061),
                to: (TELEGENT, 5060),
                message: "OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0\n\
                          Via: SIP/2.0/[transport] [local_ip]:[local_port];;branch=[branch]\n\
                          From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]\n\
                          To: <sip:[remote_ip]:[remote_port]>\n\
                          Call-ID: [call_id]\n\
                          CSeq: 1 INVITE\n\
                          Max-Forwards: 70\n\
                          Content-Length: 0\n"
                    .to_owned(),
            }],
        ),
    ]
}

fn uac_scenario(call: &Call) -> String {
    let headers = call.headers.join("\n      ");
    let user = call.ruri_user;
    let sdp_ip = call.sdp_ip;
    let dialog = |method: &str, cseq: u32, to_tag: &str| {
        format!(
            "{method} sip:{user}@[remote_ip]:[remote_port] SIP/2.0\n      \
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n      \
             From: <sip:+4915112345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n      \
             To: <sip:{user}@[remote_ip]:[remote_port]>{to_tag}\n      \
             Call-ID: [call_id]\n      \
             CSeq: {cseq} {method}\n      \
             Contact: <sip:+4915112345678@[local_ip]:[local_port];transport=[transport]>\n      \
             Max-Forwards: 70\n      \
             Content-Length: 0\n"
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="sipaccord uac">
  <send retrans="500">
    <![CDATA[
      INVITE sip:{user}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+4915112345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{user}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:+4915112345678@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      {headers}
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 53655765 2353687637 IN IP4 {sdp_ip}
      s=-
      c=IN IP4 {sdp_ip}
      t=0 0
      m=audio 6000 RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      {ack}
    ]]>
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[
      {bye}
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"#,
        ack = dialog("ACK", 1, "[peer_tag_param]"),
        bye = dialog("BYE", 2, "[peer_tag_param]"),
    )
}

fn uas_scenario(call: &Call, sdp_ip: &str) -> String {
    let echo = if call.uas_echoes { "[last_X-Hairpin:]\n      " } else { "" };
    let response = |status: &str, extra: &str| {
        format!(
            "SIP/2.0 {status}\n      \
             [last_Via:]\n      \
             [last_From:]\n      \
             [last_To:];tag=[pid]SIPpTag01[call_number]\n      \
             [last_Call-ID:]\n      \
             [last_CSeq:]\n      \
             {extra}Contact: <sip:[local_ip]:[local_port];transport=[transport]>\n      "
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="sipaccord uas">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      {ringing}Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      {ok}Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 53655766 2353687638 IN IP4 {sdp_ip}
      s=-
      c=IN IP4 {sdp_ip}
      t=0 0
      m=audio 6002 RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv request="ACK" optional="true" crlf="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="500"/>
</scenario>
"#,
        ringing = response("180 Ringing", echo),
        ok = response("200 OK", echo),
    )
}

fn raw_scenario(message: &str) -> String {
    let message = message.replace('\n', "\n      ");
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="sipaccord raw">
  <send>
    <![CDATA[
      {message}
    ]]>
  </send>
  <pause milliseconds="200"/>
</scenario>
"#
    )
}

fn need(program: &str) -> Result<()> {
    let found = Command::new("sh").args(["-c", &format!("command -v {program}")]).stdout(Stdio::null()).status()?;
    if !found.success() {
        bail!("`{program}` is not installed; on Debian: apt-get install sip-tester tcpdump");
    }
    Ok(())
}

fn sipp(scenario: &Path, local: (&str, u16), remote: Option<(&str, u16)>, transport: &str) -> Command {
    let mut cmd = Command::new("sipp");
    cmd.arg("-sf").arg(scenario);
    cmd.args(["-i", local.0, "-p", &local.1.to_string(), "-t", transport, "-m", "1", "-timeout", "15s"]);
    cmd.args(["-timeout_error", "-nostdin"]);
    if let Some((ip, port)) = remote {
        cmd.arg(format!("{ip}:{port}"));
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

fn run_sipp(mut cmd: Command, what: &str) -> Result<()> {
    let status = cmd.status().context("cannot run sipp")?;
    if !status.success() {
        bail!("sipp {what} failed: {status}");
    }
    Ok(())
}

fn record(case: &Case, dir: &Path, work: &Path) -> Result<()> {
    let out = dir.join(format!("{}.pcap", case.name));
    let mut tcpdump: Child = Command::new("tcpdump")
        .args(["-i", "lo", "--immediate-mode", "-U", "-s", "0", "-w"])
        .arg(&out)
        .arg("net 127.0.10.0/24 or net 127.0.20.0/24 or net 127.0.30.0/24")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start tcpdump")?;
    sleep(Duration::from_millis(800));
    let result = (|| -> Result<()> {
        for (i, step) in case.steps.iter().enumerate() {
            match step {
                Step::Call(call) => {
                    let uac = work.join(format!("{}-{i}-uac.xml", case.name));
                    let uas = work.join(format!("{}-{i}-uas.xml", case.name));
                    let uas_sdp = if call.to.0 == TELEGENT { "127.0.10.5" } else { "127.0.20.6" };
                    std::fs::write(&uac, uac_scenario(call))?;
                    std::fs::write(&uas, uas_scenario(call, uas_sdp))?;
                    let mut server = sipp(&uas, call.to, None, case.transport).spawn().context("cannot run sipp")?;
                    sleep(Duration::from_millis(300));
                    let client = run_sipp(sipp(&uac, call.from, Some(call.to), case.transport), "UAC");
                    // The UAC's success says the call completed; a SIPp UAS may still count the call as
                    // failed when the TCP peer closes first, so its status is not checked.
                    let _ = server.wait()?;
                    client?;
                }
                Step::Raw { from, to, message } => {
                    let raw = work.join(format!("{}-{i}-raw.xml", case.name));
                    std::fs::write(&raw, raw_scenario(message))?;
                    // Nobody answers a malformed probe; SIPp counts that call as failed, which is expected.
                    let _ = sipp(&raw, *from, Some(*to), case.transport).status().context("cannot run sipp")?;
                }
            }
        }
        Ok(())
    })();
    sleep(Duration::from_millis(1000));
    let _ = Command::new("kill").args(["-INT", &tcpdump.id().to_string()]).status();
    let _ = tcpdump.wait();
    result.with_context(|| format!("recording {}", case.name))
}

/// Records every case (or the named ones) into `captures/telegent-acme/`.
pub fn run(root: &Path, only: &[String]) -> Result<()> {
    need("sipp")?;
    need("tcpdump")?;
    let dir = root.join("captures/telegent-acme");
    std::fs::create_dir_all(&dir)?;
    let work: PathBuf = std::env::temp_dir().join("sipaccord-captures");
    std::fs::create_dir_all(&work)?;
    for case in cases().into_iter().filter(|c| only.is_empty() || only.iter().any(|o| o == c.name)) {
        println!("recording {}", case.name);
        record(&case, &dir, &work)?;
    }
    Ok(())
}
