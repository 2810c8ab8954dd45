//! The appliance: what `callguard run` starts, and how technicians reach it.
//!
//! [`App::build`] claims the state directory (one daemon per directory,
//! enforced with a lock file), opens the store and binds the control socket;
//! [`App::run`] serves until SIGTERM or SIGINT and then shuts down in order:
//! stop accepting, let in-flight work finish within the configured grace,
//! close the store, remove the socket.
//!
//! The control socket speaks newline-delimited JSON ([`control`]); the
//! `callguard` CLI uses [`control::request`] to ask a running daemon for its
//! status. Everything the daemon reports is counters and states, never call
//! content.

mod alerts;
pub mod control;
mod logging;
mod media;
mod metrics;
mod sip;
mod speech;
mod state_dir;
mod status;
mod stt_worker;
mod transcribe;
mod worker_process;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use callguard_config::{Config, Origin};
use callguard_store::Store;
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use logging::init_logging;
pub use speech::{CallSpeechStatus, SpeechStatus};
pub use state_dir::{Paths, StateDir, StateDirError};
pub use status::{CallSummary, Lifecycle, SipStatus, SmsStatus, Status, StreamSummary, SubscriberCounts};
pub use transcribe::{Utterance, model_override, transcribe_recording};

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The state directory could not be prepared or is in use.
    #[error(transparent)]
    StateDir(#[from] state_dir::StateDirError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] callguard_store::StoreError),
    /// The SIP listeners could not be started.
    #[error("{0}")]
    Sip(String),
    /// The media sockets or data plane could not be started.
    #[error("{0}")]
    Media(String),
    /// A socket or the async runtime could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What the daemon was doing.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// What the control server and the status report share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) origin: Origin,
    pub(crate) store: Mutex<Store>,
    pub(crate) started: Instant,
    pub(crate) started_at: time::OffsetDateTime,
    pub(crate) lifecycle: watch::Sender<Lifecycle>,
    /// Commands to the SIP task, once it runs.
    pub(crate) sip: OnceLock<tokio::sync::mpsc::Sender<sip::SipCommand>>,
    /// Media counters of live calls.
    pub(crate) media: OnceLock<Arc<media::MediaCounters>>,
    /// Speech-to-text, or why it is off.
    pub(crate) speech: OnceLock<Result<Arc<speech::SpeechReport>, String>>,
    /// Warnings decided and suppressed.
    pub(crate) alert_counters: alerts::AlertCounters,
}

/// A daemon ready to run: state directory claimed, store open.
pub struct App {
    shared: Arc<Shared>,
    state_dir: StateDir,
    socket_path: PathBuf,
}

impl App {
    /// Claims the state directory and opens the store.
    pub fn build(config: Config, origin: Origin) -> Result<App, DaemonError> {
        let paths = Paths::of(&config);
        let state_dir = StateDir::claim(&paths)?;
        callguard_numbers::warm_up();
        let store = Store::open(&paths.database)?;
        let socket_path = paths.control_socket;
        let (lifecycle, _) = watch::channel(Lifecycle::Starting);
        let shared = Arc::new(Shared {
            config,
            origin,
            store: Mutex::new(store),
            started: Instant::now(),
            started_at: time::OffsetDateTime::now_utc(),
            lifecycle,
            sip: OnceLock::new(),
            media: OnceLock::new(),
            speech: OnceLock::new(),
            alert_counters: alerts::AlertCounters::default(),
        });
        Ok(App { shared, state_dir, socket_path })
    }

    /// Serves until SIGTERM or SIGINT, then shuts down cleanly.
    pub fn run(self) -> Result<(), DaemonError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("callguard")
            .build()
            .map_err(|source| DaemonError::Io { what: "cannot start the async runtime".into(), source })?;
        runtime.block_on(self.serve())
    }

    async fn serve(self) -> Result<(), DaemonError> {
        let App { shared, state_dir, socket_path } = self;
        // The lock is ours, so a socket file left here is from a dead daemon.
        let _ = std::fs::remove_file(&socket_path);
        let listener = UnixListener::bind(&socket_path).map_err(|source| DaemonError::Io {
            what: format!("cannot bind the control socket {}", socket_path.display()),
            source,
        })?;
        let mut tasks = JoinSet::new();
        tasks.spawn(control::serve(listener, shared.clone()));

        // The SIP task needs the media side's event sink, the media side
        // needs the SIP task's command channel: create the channel first.
        let (sip_tx, sip_rx) = tokio::sync::mpsc::channel(64);
        let (decisions, decided) = std::sync::mpsc::channel();
        let alerts_thread = alerts::start(shared.clone(), decided)
            .map_err(|source| DaemonError::Io { what: "cannot start the alerts thread".into(), source })?;
        let speech = start_speech(&shared.config, decisions);
        let _ = shared.speech.set(speech.as_ref().map(|s| s.report.clone()).map_err(Clone::clone));
        let speech_commands = speech.as_ref().ok().map(|s| s.commands.clone());
        let media = media::start(&shared.config.media, sip_tx.clone(), speech_commands)?;
        let sip_task = sip::start(shared.clone(), vec![media.events], sip_rx).await?;
        let _ = shared.sip.set(sip_tx.clone());
        let _ = shared.media.set(media.counters);
        let media_thread = media.thread;
        shared.lifecycle.send_replace(Lifecycle::Running);
        announce(&shared, &socket_path);

        let signal = wait_for_signal().await?;
        tracing::info!(signal, "shutting down: ending recording sessions, no new sessions accepted");
        shared.lifecycle.send_replace(Lifecycle::Stopping);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        if sip_tx.send(sip::SipCommand::Shutdown(done_tx)).await.is_ok() {
            let _ = done.await;
        }
        let _ = sip_task.await;
        // The SIP task held the only event sender: the media thread now ends
        // and drops the data plane, closing the media sockets.
        let _ = tokio::task::spawn_blocking(move || media_thread.join()).await;
        // With the media thread gone, the speech thread finishes its calls.
        if let Ok(speech) = speech {
            let _ = tokio::task::spawn_blocking(move || speech.stop()).await;
        }
        // The speech thread held the only sender of decisions.
        let _ = tokio::task::spawn_blocking(move || alerts_thread.join()).await;

        let grace = Duration::from_secs(shared.config.appliance.shutdown_grace_seconds);
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight work did not finish within the grace period");
            tasks.shutdown().await;
        }
        let _ = std::fs::remove_file(&socket_path);
        match Arc::try_unwrap(shared) {
            Ok(shared) => shared.store.into_inner().unwrap_or_else(|p| p.into_inner()).close()?,
            Err(_) => tracing::warn!("the store is still in use; it will be closed at exit"),
        }
        drop(state_dir);
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// The scam detector as configured: the embedded model, the operator's
/// warn threshold if one is set.
pub fn detector_config(config: &Config) -> callguard_detect::DetectorConfig {
    let mut detection = callguard_detect::DetectorConfig::default();
    if let Some(threshold) = config.detection.warn_threshold {
        detection.warn_threshold = threshold as f32;
    }
    detection
}

/// Starts speech-to-text, or says why it is off (the daemon runs without it).
fn start_speech(
    config: &Config,
    decisions: std::sync::mpsc::Sender<alerts::Decided>,
) -> Result<speech::SpeechService, String> {
    let started = if config.speech.enabled {
        let detection = detector_config(config);
        speech::worker_settings(config, None)
            .and_then(|worker| speech::SpeechService::start(&config.speech, worker, detection, decisions))
    } else {
        Err("speech.enabled = false".into())
    };
    if let Err(reason) = &started {
        tracing::warn!(%reason, "speech-to-text is off: calls are judged on signaling alone");
    }
    started
}

fn announce(shared: &Shared, socket: &std::path::Path) {
    let config = &shared.config;
    let (subscribers, opted_in) = match shared.store.lock().map(|s| s.subscriber_counts()) {
        Ok(Ok(counts)) => counts,
        _ => (0, 0),
    };
    tracing::info!(
        name = %config.appliance.name,
        config = %shared.origin,
        state_dir = %Paths::of(config).state_dir.display(),
        control_socket = %socket.display(),
        subscribers,
        opted_in,
        "callguard running"
    );
    if config.sms.smsc.is_empty() {
        tracing::warn!("no SMSC configured: alerts are kept in the durable SMS outbox only");
    }
}

async fn wait_for_signal() -> Result<&'static str, DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind| {
        signal(kind).map_err(|source| DaemonError::Io { what: "cannot install a signal handler".into(), source })
    };
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
