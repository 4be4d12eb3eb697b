//! Runs a live session: the monitor on its own thread, the listeners on a tokio runtime, until the
//! duration ends, Ctrl-C or SIGTERM.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use sipaccord_agreement::Contract;
use sipaccord_replay::{Finding, Report};
use tokio::sync::watch;

use crate::compose::Composer;
use crate::monitor::{Event, Monitor};
use crate::recorder::{RecordError, Recorder};
use crate::server::{Bound, Counters, Listeners};
use crate::uas::Uas;

/// What `sipaccord live` was asked to do.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The agreement file, as given (reports name it).
    pub agreement_file: String,
    /// The peer we act as.
    pub me: String,
    /// The peer we answer (the other side).
    pub them: String,
    /// Sockets and limits.
    pub listeners: Listeners,
    /// Record the session to this pcapng file.
    pub record: Option<PathBuf>,
    /// End after this long (otherwise at Ctrl-C or SIGTERM).
    pub duration: Option<Duration>,
}

/// A live session could not run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A peer name is not in the agreement.
    #[error("{0}")]
    Peer(String),
    /// The recording cannot be created.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A socket cannot be bound, or the runtime cannot start.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What a session did.
#[derive(Debug)]
pub struct LiveResult {
    /// The report: every finding, the summary.
    pub report: Report,
    /// What the listeners counted.
    pub counters: Arc<Counters>,
    /// The first error writing the recording, if any (the session went on without it).
    pub record_error: Option<RecordError>,
}

/// The peers of a session by name: ours and the other side's.
pub fn peers<'c>(
    contract: &'c Contract,
    me: &str,
    them: Option<&str>,
) -> Result<(&'c sipaccord_agreement::Peer, &'c sipaccord_agreement::Peer), String> {
    let names = || contract.peers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
    let mine =
        contract.peer(me).ok_or_else(|| format!("no peer `{me}` in {}; its peers are {}", contract.file, names()))?;
    let theirs = match them {
        Some(t) => {
            contract.peer(t).ok_or_else(|| format!("no peer `{t}` in {}; its peers are {}", contract.file, names()))?
        }
        None => {
            let others: Vec<_> = contract.peers.iter().filter(|p| p.name != me).collect();
            match others.as_slice() {
                [one] => *one,
                [] => return Err(format!("{} has no peer besides `{me}`", contract.file)),
                _ => {
                    return Err(format!("{} has several other peers ({}); say which with --to", contract.file, names()))
                }
            }
        }
    };
    if mine.name == theirs.name {
        return Err(format!("`{me}` cannot talk to itself; name the other side"));
    }
    Ok((mine, theirs))
}

/// Runs `drive` on a tokio runtime while a monitor, on its own thread, records and evaluates every
/// event it sends; `on_finding` gets each finding as it is made. Returns what `drive` returned, the
/// report and the first recording error. `record`: the pcapng file to write.
pub fn evaluate<T, F, Fut>(
    contract: &'static Contract,
    agreement_file: &str,
    record: Option<&Path>,
    on_finding: impl FnMut(&Finding) + Send,
    drive: F,
) -> Result<(T, Report, Option<RecordError>), LiveError>
where
    F: FnOnce(mpsc::Sender<Event>) -> Fut,
    Fut: Future<Output = std::io::Result<T>>,
{
    let recorder = record.map(Recorder::create).transpose()?;
    let source = record.map_or_else(|| PathBuf::from("live"), Path::to_path_buf);
    let monitor = Monitor::new(contract, &source, recorder);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (events, received) = mpsc::channel();
    std::thread::scope(|scope| {
        let monitor_thread = scope.spawn(move || crate::monitor::run(monitor, &received, agreement_file, on_finding));
        // `drive` owns the only sender; tasks it spawned may hold clones, so the runtime is shut down
        // (dropping them) before the monitor is waited for: then it sees the end of the session.
        let driven = runtime.block_on(drive(events));
        runtime.shutdown_timeout(Duration::from_secs(1));
        let (report, record_error) = monitor_thread.join().expect("the monitor thread does not panic");
        Ok((driven?, report, record_error))
    })
}

/// Runs `sipaccord live`. `on_ready` is called with a line naming the listeners once they are
/// bound; `on_finding` with each finding as it is made.
pub fn run(
    contract: &'static Contract,
    options: &LiveOptions,
    on_ready: impl FnOnce(&str),
    on_finding: impl FnMut(&Finding) + Send,
) -> Result<LiveResult, LiveError> {
    let (me, them) = peers(contract, &options.me, Some(&options.them)).map_err(LiveError::Peer)?;
    let counters = Arc::new(Counters::default());
    let uas = Uas::new(Composer::new(contract, me, them));
    let (stop_tx, stop_rx) = watch::channel(false);
    let driver_counters = counters.clone();
    let ((), report, record_error) =
        evaluate(contract, &options.agreement_file, options.record.as_deref(), on_finding, |events| async move {
            let bound = Bound::bind(options.listeners.clone()).await?;
            on_ready(&bound.describe());
            let server = bound.run(contract, uas, &them.name, events, driver_counters, stop_rx);
            tokio::pin!(server);
            tokio::select! {
                () = &mut server => {}
                () = until_end(options.duration) => {
                    let _ = stop_tx.send(true);
                    server.await;
                }
            }
            Ok(())
        })?;
    Ok(LiveResult { report, counters, record_error })
}

/// Resolves when the session should end: after the duration, at Ctrl-C, or at SIGTERM.
async fn until_end(duration: Option<Duration>) {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = timer => {}
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// A line for the end of a session: what the listeners did.
pub fn counters_line(c: &Counters) -> String {
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    format!(
        "listeners: {} datagrams ({} not SIP), {} HEP packets, {} TCP connections ({} refused at the cap, {} closed by us), {} requests from no peer left unanswered, {} messages sent",
        n(&c.datagrams),
        n(&c.not_sip),
        n(&c.hep_packets),
        n(&c.connections),
        n(&c.connections_refused),
        n(&c.connections_closed),
        n(&c.unanswered),
        n(&c.sent)
    )
}
