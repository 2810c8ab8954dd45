//! Metrics in the Prometheus text exposition format, for `callguard
//! metrics` and collectors. Counters and gauges only: no call id, number or
//! content ever becomes a label.

use std::fmt::Write as _;

use callguard_dataplane::ThreadCounters;

use crate::Shared;
use crate::media::MediaTotals;
use crate::status::SipStatus;

/// Renders every metric the daemon keeps.
pub(crate) fn render(shared: &Shared, sip: Option<&SipStatus>) -> Result<String, callguard_store::StoreError> {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ =
            writeln!(out, "# HELP callguard_{name} {help}\n# TYPE callguard_{name} {kind}\ncallguard_{name} {value}");
    };
    metric("up", "gauge", "1 while the daemon runs.", 1.0);
    metric("uptime_seconds", "gauge", "Seconds since the daemon started.", shared.started.elapsed().as_secs_f64());
    let (total, opted_in) = {
        let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        store.subscriber_counts()?
    };
    metric("subscribers", "gauge", "Subscribers in the register.", total as f64);
    metric("subscribers_opted_in", "gauge", "Subscribers opted in to protection.", opted_in as f64);
    if let Some(sip) = sip {
        metric("sip_sessions", "gauge", "Live SIPREC recording sessions.", sip.sessions as f64);
        metric("sip_sessions_started_total", "counter", "SIPREC sessions accepted.", sip.sessions_started as f64);
        metric(
            "sip_sessions_declined_total",
            "counter",
            "Sessions declined: no protected subscriber.",
            sip.declined as f64,
        );
        metric(
            "sip_forbidden_sources_total",
            "counter",
            "Requests from sources that are not configured SBCs.",
            sip.forbidden_sources as f64,
        );
        metric("sip_rate_limited_total", "counter", "New sessions refused for an SBC's rate.", sip.rate_limited as f64);
        metric("sip_malformed_total", "counter", "Malformed SIP messages.", sip.malformed as f64);
        metric("rtp_ports_in_use", "gauge", "RTP ports allocated to sessions.", sip.rtp_ports_in_use as f64);
        metric("rtp_ports", "gauge", "RTP ports configured.", sip.rtp_ports_total as f64);
    }
    let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed) as f64;
    metric(
        "alerts_decided_total",
        "counter",
        "Scam warnings decided on live calls.",
        load(&shared.alert_counters.decided),
    );
    metric(
        "alerts_suppressed_total",
        "counter",
        "Warnings not given: the caller is trusted by the subscriber.",
        load(&shared.alert_counters.suppressed),
    );
    if let Some(Ok(speech)) = shared.speech.get() {
        let (up, restarts) = speech.worker_up_and_restarts();
        let c = &speech.counters;
        metric("speech_worker_up", "gauge", "1 while the speech-to-text worker serves.", f64::from(u8::from(up)));
        metric(
            "speech_worker_restarts_total",
            "counter",
            "Speech-to-text worker restarts after a crash or hang.",
            restarts as f64,
        );
        metric("speech_chunks_total", "counter", "Utterance chunks sent to speech-to-text.", load(&c.chunks));
        metric(
            "speech_chunks_lost_total",
            "counter",
            "Chunks not transcribed: worker down, failed or behind.",
            load(&c.chunks_lost),
        );
        metric("speech_utterances_total", "counter", "Utterances transcribed.", load(&c.utterances));
        metric(
            "speech_latency_seconds_sum",
            "counter",
            "Time from the end of a chunk to its text, summed.",
            load(&c.latency_us) / 1e6,
        );
        metric("speech_latency_seconds_count", "counter", "Chunks whose text came back.", load(&c.latency_count));
    }
    if let Some(media) = shared.media.get() {
        let (live, t): (usize, MediaTotals) = media.totals();
        metric("media_streams", "gauge", "Media streams being received.", live as f64);
        metric("media_streams_total", "counter", "Media streams received since start.", t.streams as f64);
        metric("media_packets_total", "counter", "RTP packets received.", t.packets as f64);
        metric("media_malformed_total", "counter", "Packets on media ports that are not RTP.", t.malformed as f64);
        metric(
            "media_srtp_rejected_total",
            "counter",
            "SRTP packets failing authentication or replayed.",
            t.srtp_rejected as f64,
        );
        metric("media_lost_total", "counter", "RTP packets lost.", t.lost as f64);
        metric("media_late_total", "counter", "RTP packets too late to be played.", t.late as f64);
        metric("media_concealed_seconds_total", "counter", "Audio concealed for loss.", t.concealed_ms as f64 / 1000.0);
        metric("media_frames_total", "counter", "16 kHz 20 ms frames produced.", t.frames as f64);
        metric(
            "media_frames_dropped_total",
            "counter",
            "Frames dropped because their consumer was behind.",
            t.frames_dropped as f64,
        );
        let threads = media.threads.lock().unwrap_or_else(|p| p.into_inner()).clone();
        metric("dataplane_threads", "gauge", "Data-plane threads: one per receive queue.", threads.len() as f64);
        let mut per_thread = |name: &str, help: &str, value: fn(&ThreadCounters) -> u64| {
            let _ = writeln!(out, "# HELP callguard_{name} {help}\n# TYPE callguard_{name} counter");
            for (index, thread) in threads.iter().enumerate() {
                let _ = writeln!(out, "callguard_{name}{{thread=\"{index}\"}} {}", value(thread));
            }
        };
        per_thread("dataplane_packets_total", "Packets received, per data-plane thread.", |t| t.counters.packets);
        per_thread("dataplane_unknown_port_total", "Packets to a port no stream owns, per data-plane thread.", |t| {
            t.counters.unknown_port
        });
    }
    Ok(out)
}
