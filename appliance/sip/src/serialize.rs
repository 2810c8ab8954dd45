//! Message to bytes: CRLF line ends, canonical header names, one header per
//! line, and a Content-Length computed from the body.

use std::fmt::{self, Write as _};

use crate::header::{HeaderName, Headers};
use crate::message::{Request, Response, SipMessage};

/// Lets `write!` append formatted text to a byte buffer.
struct ByteSink<'a>(&'a mut Vec<u8>);

impl fmt::Write for ByteSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn estimate(headers: &Headers, body: &[u8]) -> usize {
    64 + body.len() + headers.iter().map(|h| h.name().as_str().len() + h.value().len() + 4).sum::<usize>()
}

fn write_headers_and_body(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    for h in headers {
        if *h.name() == HeaderName::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(h.name().as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // Writing to a Vec cannot fail.
    let _ = write!(ByteSink(out), "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
}

impl Request {
    /// Append the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(estimate(self.headers(), self.body()));
        let _ = write!(ByteSink(out), "{} {} SIP/2.0\r\n", self.method(), self.uri());
        write_headers_and_body(out, self.headers(), self.body());
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl Response {
    /// Append the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(estimate(self.headers(), self.body()));
        let _ = write!(ByteSink(out), "SIP/2.0 {} {}\r\n", self.status(), self.reason());
        write_headers_and_body(out, self.headers(), self.body());
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

impl SipMessage {
    /// Append the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            SipMessage::Request(r) => r.write_to(out),
            SipMessage::Response(r) => r.write_to(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::header::HeaderName;
    use crate::message::{Request, SipMessage};
    use crate::method::Method;
    use crate::uri::Uri;

    #[test]
    fn canonical_output() {
        let input =
            b"INVITE  sip:a@b  SIP/2.0\nv: SIP/2.0/UDP h\ni: x\nSubject: folded\n  line\nl: 3\nX-Odd:v\n\nabcdef";
        let m = SipMessage::parse(input).unwrap();
        let out = m.to_bytes();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCall-ID: x\r\nSubject: folded line\r\nX-Odd: v\r\nContent-Length: 3\r\n\r\nabc"
        );
        assert_eq!(SipMessage::parse(&out).unwrap(), m);
    }

    #[test]
    fn built_request_gets_content_length() {
        let mut r = Request::new(Method::MESSAGE, Uri::parse("sip:x@y").unwrap());
        r.headers_mut().push(HeaderName::CONTENT_LENGTH, "99").unwrap();
        r.headers_mut().push(HeaderName::CONTENT_TYPE, "text/plain").unwrap();
        r.set_body(b"hi".to_vec());
        assert_eq!(r.to_bytes(), b"MESSAGE sip:x@y SIP/2.0\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
    }
}
