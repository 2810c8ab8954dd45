//! Building the SDP answer: the policy from the configuration, ports and
//! keys for the offer, and the streams the rest of the appliance sees.

use std::net::SocketAddr;

use callguard_sdp::{Answer, AnswerPolicy, MediaAllocator, SrtpKeyMaterial};
use callguard_siprec_metadata::{LegRole, StreamLeg};

use crate::{Entropy, MediaStream, PortPool, SrsConfig};

pub(crate) fn policy_for(config: &SrsConfig, session_id: u64) -> AnswerPolicy {
    let mut policy = AnswerPolicy::new("callguard", session_id, config.media_address);
    policy.codecs = config.codecs.clone();
    policy
}

/// Ports from the pool and SRTP keys from the entropy source, for the answer.
pub(crate) struct Allocator<'a> {
    pub(crate) ports: &'a mut PortPool,
    pub(crate) entropy: &'a mut dyn Entropy,
    pub(crate) allocated: Vec<u16>,
}

impl MediaAllocator for Allocator<'_> {
    fn allocate_port(&mut self, _index: usize, _rtcp_mux: bool) -> Option<u16> {
        let port = self.ports.allocate()?;
        self.allocated.push(port);
        Some(port)
    }

    fn srtp_key(&mut self, _index: usize) -> Option<SrtpKeyMaterial> {
        let mut bytes = [0u8; SrtpKeyMaterial::LEN];
        self.entropy.fill(&mut bytes);
        Some(SrtpKeyMaterial::new(bytes))
    }
}

pub(crate) fn media_streams(answer: &Answer, legs: &[StreamLeg]) -> Vec<MediaStream> {
    answer
        .streams
        .iter()
        .map(|s| MediaStream {
            index: s.index,
            role: legs.iter().find(|l| l.index == s.index).map_or(LegRole::Unknown, |l| l.role),
            label: s.label.clone(),
            local_port: s.local_port,
            rtcp_mux: s.rtcp_mux,
            remote: s.remote_rtp.address.ip().map(|ip| SocketAddr::new(ip, s.remote_rtp.port)),
            codec: s.codec.name.clone(),
            payload_type: s.codec.payload_type,
            clock_rate: s.codec.clock_rate,
            dtmf_payload_type: s.telephone_event,
            active: s.direction.receives(),
            srtp: s.srtp.clone(),
        })
        .collect()
}

pub(crate) fn same_streams(a: &[MediaStream], b: &[MediaStream]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.index, x.role, x.local_port, &x.codec, x.payload_type, x.active, x.remote)
                == (y.index, y.role, y.local_port, &y.codec, y.payload_type, y.active, y.remote)
        })
}
