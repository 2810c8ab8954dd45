//! Warnings decided on live calls: the subscriber's register entry is read
//! (a trusted caller is never warned about, the reason is written in the
//! subscriber's language), the alert is recorded once per call with its
//! score and tactic codes, and the decision is logged. No words of the call
//! come here: the assessment arrives with its evidence spans emptied.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use callguard_detect::Assessment;
use callguard_numbers::E164;
use callguard_store::NewAlert;

use crate::Shared;

/// The parties of a call, from its SIPREC session.
#[derive(Debug, Clone)]
pub(crate) struct CallParties {
    pub(crate) subscriber: E164,
    pub(crate) caller: Option<E164>,
}

/// A call the detector decided to warn about.
pub(crate) struct Decided {
    pub(crate) call_id: String,
    pub(crate) parties: CallParties,
    /// The assessment at the decision, evidence spans emptied.
    pub(crate) assessment: Assessment,
}

/// Counted for metrics.
#[derive(Default)]
pub(crate) struct AlertCounters {
    pub(crate) decided: AtomicU64,
    pub(crate) suppressed: AtomicU64,
}

/// Starts the thread that records the decisions arriving on `decisions`.
pub(crate) fn start(shared: Arc<Shared>, decisions: Receiver<Decided>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("callguard-alerts".into()).spawn(move || {
        for decided in decisions {
            record(&shared, &decided);
        }
    })
}

fn record(shared: &Shared, decided: &Decided) {
    let counters = &shared.alert_counters;
    let Decided { call_id, parties, assessment } = decided;
    let tactics: Vec<String> = assessment.tactics.iter().take(5).map(|t| t.code.to_owned()).collect();
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let subscriber = match store.subscriber(&parties.subscriber) {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(%call_id, error = %e, "cannot read the subscriber for a warning; warning in English");
            None
        }
    };
    let trusted = subscriber
        .as_ref()
        .zip(parties.caller.as_ref())
        .is_some_and(|(s, caller)| s.trusted_numbers.iter().any(|n| n == caller));
    if trusted {
        counters.suppressed.fetch_add(1, Ordering::Relaxed);
        tracing::info!(%call_id, risk = assessment.risk, "scam risk crossed the threshold, caller trusted by the subscriber: no warning");
        return;
    }
    let language = subscriber.as_ref().map_or_else(|| "en".to_owned(), |s| s.language.to_string());
    let reason = callguard_detect::reason(assessment, &language);
    let alert = NewAlert {
        call_id: call_id.clone(),
        caller: parties.caller.clone(),
        subscriber: parties.subscriber.clone(),
        score: f64::from(assessment.risk).clamp(0.0, 1.0),
        tactics: tactics.clone(),
    };
    match store.record_alert(&alert) {
        Ok(true) => {
            counters.decided.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%call_id, risk = assessment.risk, tactics = %tactics.join(" "), %language, %reason, "scam warning decided");
        }
        Ok(false) => tracing::debug!(%call_id, "the call already has its warning"),
        Err(e) => tracing::error!(%call_id, error = %e, "cannot record the warning"),
    }
}
