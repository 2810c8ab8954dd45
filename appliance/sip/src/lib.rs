//! SIP message codec for callguard, a SIPREC Session Recording Server
//! (RFC 7866) that sits next to operators' SBCs.
//!
//! # What it is for
//!
//! Bytes in, typed message out, and back: [`SipMessage::parse`] turns a
//! datagram or a stream frame into a [`Request`] or [`Response`];
//! [`SipMessage::to_bytes`] writes it back. Around that sit the pieces a
//! recording server needs: [`frame_stream`] to cut messages out of a TCP/TLS
//! stream, typed views of the headers it acts on ([`Via`], [`NameAddr`],
//! [`CSeq`], [`ContentType`], [`SessionExpires`]...), [`MultipartBody`] to
//! separate the SDP from the recording metadata, [`Request::validate`] for
//! the RFC 3261 rules, and [`ResponseBuilder`] plus
//! [`Request::stamp_top_via`] to answer.
//!
//! ```
//! use callguard_sip::{HeaderName, ResponseBuilder, SipMessage};
//!
//! let datagram = b"OPTIONS sip:srs@example.com SIP/2.0\r\n\
//!     v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport\r\n\
//!     f: <sip:src@example.com>;tag=1\r\nt: <sip:srs@example.com>\r\n\
//!     i: ping-1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
//! let mut message = SipMessage::parse(datagram)?;
//! let SipMessage::Request(request) = &mut message else { return Ok(()) };
//! request.validate()?;
//! request.stamp_top_via("192.0.2.1:5062".parse().unwrap())?;
//! let ok = ResponseBuilder::new(request, 200, "OK", Some("srs-1"))?
//!     .header(HeaderName::ALLOW, "INVITE, ACK, BYE, CANCEL, OPTIONS")?
//!     .build();
//! let wire = ok.to_bytes();
//! assert!(wire.starts_with(
//!     b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport=5062;received=192.0.2.1\r\n"
//! ));
//! # Ok::<(), callguard_sip::ParseError>(())
//! ```
//!
//! # Design
//!
//! * The parser works on bytes. It accepts CRLF or bare LF line ends,
//!   unfolds continuation lines, maps compact header names to canonical
//!   ones, and honours Content-Length exactly (a longer datagram is cut, a
//!   shorter one is an error).
//! * Headers are stored in order as (name, value) pairs with owned string
//!   values; typed views parse a value when asked, so unknown or unusual
//!   headers cost nothing and pass through untouched.
//! * Content-Length is framing: it is removed from the header list once the
//!   body is delimited, and serialisation recomputes it. Hence
//!   `parse(serialize(m)) == m` for every parsed `m`.
//! * Every error is a [`ParseError`] (or [`FramingError`]) value whose text
//!   names the defect, ready for a Warning header. Nothing panics on any
//!   input; nothing is `unsafe`.
//! * No I/O, clock, randomness or async runtime: tags and addresses come
//!   from the caller.
//!
//! # Limits
//!
//! * Header values must be UTF-8 (RFC 3261 `TEXT-UTF8`); bodies are opaque
//!   bytes.
//! * Only SIP/2.0. Authentication headers, Date, Warning and other headers
//!   without a typed view are carried as text.
//! * Tolerance is chosen per case (see `tests/torture.rs`): extra spaces in
//!   the request line and a non-GMT Date are accepted; `<>` around or
//!   spaces inside a Request-URI, unquoted display names with separators,
//!   unbracketed URIs with `?`, and out-of-range numbers are refused.
//! * The Call-ID is checked only for visible ASCII; URI comparison rules of
//!   RFC 3261 section 19.1.4 are not implemented (URIs compare as written).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accessors;
mod error;
mod fields;
mod framing;
mod header;
mod lex;
mod message;
mod method;
mod multipart;
mod name_addr;
mod params;
mod response;
mod serialize;
mod uri;
mod validate;
mod via;

pub use error::{FramingError, ParseError};
pub use fields::{
    CSeq, ContentDisposition, ContentType, MinSe, Refresher, SessionExpires, parse_content_length, parse_delta_seconds,
    parse_max_forwards, parse_option_tags,
};
pub use framing::{Frame, FramingLimits, frame_stream};
pub use header::{Header, HeaderName, Headers};
pub use message::{Request, Response, SipMessage};
pub use method::Method;
pub use multipart::{BodyPart, MultipartBody};
pub use name_addr::{Contact, NameAddr};
pub use params::{Param, Params};
pub use response::ResponseBuilder;
pub use uri::{Host, SipUri, TelUri, Uri};
pub use via::{Rport, Via};
