//! The test SBC: an SRS driven message by message with the clock in the
//! test's hands, and builders for the requests an SBC sends.

#![allow(dead_code)] // shared by several test crates, each using a part

use std::collections::HashSet;
use std::time::{Duration, Instant};

use callguard_numbers::E164;
use callguard_sdp::AcceptedCodec;
use callguard_sip::{HeaderName, Response, SipMessage};
use callguard_srs::{
    CallEvent, Entropy, Output, PortPool, Protection, Register, SdpOrder, Source, SourcePolicy, Srs, SrsConfig,
};

pub const SUBSCRIBER: &str = "+12015550123";
pub const CALLER: &str = "+12015550111";

pub struct Registered(pub HashSet<String>);

impl Register for Registered {
    fn protection(&self, number: &E164) -> Protection {
        if self.0.contains(number.as_str()) { Protection::OptedIn } else { Protection::Unknown }
    }
}

pub struct Counter(pub u8);

impl Entropy for Counter {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
}

pub struct Harness {
    pub srs: Srs<u32>,
    pub register: Registered,
    pub entropy: Counter,
    pub now: Instant,
}

pub fn sbc(reliable: bool) -> Source<u32> {
    Source {
        peer: 7,
        remote: "198.18.0.10:5060".parse().unwrap(),
        reliable,
        transport: if reliable { "TCP" } else { "UDP" },
        local: "198.18.0.1:5060".parse().unwrap(),
    }
}

impl Harness {
    pub fn new() -> Harness {
        Self::with_rate(100)
    }

    pub fn with_rate(per_second: u32) -> Harness {
        let config = SrsConfig {
            host: "198.18.0.1".into(),
            media_address: "198.18.0.1".parse().unwrap(),
            codecs: vec![AcceptedCodec::pcmu(), AcceptedCodec::pcma(), AcceptedCodec::g722(), AcceptedCodec::opus()],
            home_country: "US".parse().unwrap(),
            decline_status: 403,
            min_session_expires: 90,
            sdp_order: SdpOrder::OriginatorFirst,
        };
        let policy = SourcePolicy::new(vec!["198.18.0.0/24".parse().unwrap()], per_second, per_second);
        Harness {
            srs: Srs::new(config, policy, PortPool::new(&[(20000, 20099)])),
            register: Registered([SUBSCRIBER.to_owned()].into()),
            entropy: Counter(0),
            now: Instant::now(),
        }
    }

    pub fn send_from(&mut self, text: &str, source: Source<u32>) -> Vec<Output<u32>> {
        let mut out = Vec::new();
        self.srs.handle(text.as_bytes(), source, self.now, &self.register, &mut self.entropy, &mut out);
        out
    }

    pub fn send(&mut self, text: &str) -> Vec<Output<u32>> {
        self.send_from(text, sbc(false))
    }

    pub fn advance(&mut self, by: Duration) -> Vec<Output<u32>> {
        self.now += by;
        let mut out = Vec::new();
        self.srs.poll(self.now, &mut self.entropy, &mut out);
        out
    }
}

pub fn responses(out: &[Output<u32>]) -> Vec<Response> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { bytes, .. } => match SipMessage::parse(bytes).expect("the SRS sends valid SIP") {
                SipMessage::Response(r) => Some(r),
                SipMessage::Request(_) => None,
            },
            Output::Event(_) => None,
        })
        .collect()
}

pub fn statuses(out: &[Output<u32>]) -> Vec<u16> {
    responses(out).iter().map(Response::status).collect()
}

pub fn requests(out: &[Output<u32>]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { bytes, .. } => match SipMessage::parse(bytes).ok()? {
                SipMessage::Request(r) => Some(r.method().to_string()),
                SipMessage::Response(_) => None,
            },
            Output::Event(_) => None,
        })
        .collect()
}

pub fn events(out: &[Output<u32>]) -> Vec<&CallEvent> {
    out.iter().filter_map(|o| if let Output::Event(e) = o { Some(e) } else { None }).collect()
}

pub fn warning(response: &Response) -> String {
    response.headers().get(&HeaderName::WARNING).unwrap_or_default().to_owned()
}

pub fn sdp(streams: &[(&str, &str)]) -> String {
    let mut text = String::from("v=0\r\no=SBC 1 1 IN IP4 198.18.0.10\r\ns=-\r\nc=IN IP4 198.18.0.10\r\nt=0 0\r\n");
    for (i, (label, direction)) in streams.iter().enumerate() {
        text.push_str(&format!(
            "m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=label:{label}\r\na={direction}\r\n",
            40000 + 2 * i
        ));
    }
    text
}

pub fn metadata() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <group group_id="g1"><associate-time>2026-11-24T05:00:00Z</associate-time></group>
  <session session_id="s1"><group-ref>g1</group-ref></session>
  <participant participant_id="p1"><nameID aor="sip:{CALLER}@carrier.example"/></participant>
  <participant participant_id="p2"><nameID aor="sip:{SUBSCRIBER}@carrier.example"/></participant>
  <stream stream_id="st1" session_id="s1"><label>1</label></stream>
  <stream stream_id="st2" session_id="s1"><label>2</label></stream>
  <participantstreamassoc participant_id="p1"><send>st1</send><recv>st2</recv></participantstreamassoc>
  <participantstreamassoc participant_id="p2"><send>st2</send><recv>st1</recv></participantstreamassoc>
</recording>
"#
    )
}

pub fn multipart(sdp: &str, metadata: &str) -> (String, String) {
    let body = format!(
        "--b1\r\nContent-Type: application/sdp\r\n\r\n{sdp}--b1\r\nContent-Type: application/rs-metadata+xml\r\nContent-Disposition: recording-session\r\n\r\n{metadata}--b1--\r\n"
    );
    ("multipart/mixed;boundary=b1".into(), body)
}

pub struct Req<'a> {
    pub method: &'a str,
    pub call_id: &'a str,
    pub branch: &'a str,
    pub cseq: u32,
    pub to_tag: Option<&'a str>,
    pub extra: &'a str,
    pub body: Option<(String, String)>,
}

impl<'a> Req<'a> {
    pub fn new(method: &'a str, call_id: &'a str, branch: &'a str) -> Req<'a> {
        Req { method, call_id, branch, cseq: 1, to_tag: None, extra: "", body: None }
    }

    pub fn text(&self) -> String {
        let to_tag = self.to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        let (content_type, body) = match &self.body {
            Some((ct, body)) => (format!("Content-Type: {ct}\r\n"), body.clone()),
            None => (String::new(), String::new()),
        };
        format!(
            "{m} sip:srs@198.18.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK{b};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{CALLER}@carrier.example>;tag=src1\r\nTo: <sip:{SUBSCRIBER}@carrier.example>{to_tag}\r\nCall-ID: {c}\r\nCSeq: {n} {m}\r\nContact: <sip:sbc@198.18.0.10:5060>;+sip.src\r\n{extra}{content_type}Content-Length: {len}\r\n\r\n{body}",
            m = self.method,
            b = self.branch,
            c = self.call_id,
            n = self.cseq,
            extra = self.extra,
            len = body.len(),
        )
    }
}

pub fn siprec_invite<'a>(call_id: &'a str, branch: &'a str) -> Req<'a> {
    let mut req = Req::new("INVITE", call_id, branch);
    req.extra = "Require: siprec\r\n";
    req.body = Some(multipart(&sdp(&[("1", "sendonly"), ("2", "sendonly")]), &metadata()));
    req
}

pub fn to_tag(response: &Response) -> String {
    response.headers().to().unwrap().tag().unwrap().to_owned()
}
