//! SIPREC recording metadata for the callguard Session Recording Server.
//!
//! The appliance sits next to operators' SBCs as an SRS (RFC 7866). Each
//! protected call is forked to it: the recording INVITE carries an SDP offer
//! with one m-line per recorded stream and, usually, recording metadata
//! (`application/rs-metadata+xml`, RFC 7865) telling which participant sends
//! which stream. This crate answers one question for the SIP layer: for each
//! m-line, is it the remote caller's audio or the protected subscriber's?
//!
//! # Design
//!
//! - [`parse_metadata`] reads the XML into a flat [`RecordingMetadata`]
//!   (elements referring to each other by opaque ids). Elements are matched
//!   by local name whatever the prefix, namespace, case or `-`/`_` spelling,
//!   so RFC 7865, the pre-RFC draft shape of Oracle/Acme Packet and Avaya,
//!   Ribbon's `tns:` documents and BroadWorks' `recording_metadata` land in
//!   the same model. Vendor extension data is mined for copied SIP headers
//!   ([`OriginalCallHeaders`]), typed [`DirectionHint`]s and call ids
//!   ([`VendorField`]); all other unknown content is ignored.
//! - [`RecordingMetadata::apply_update`] folds a re-INVITE/UPDATE body into
//!   the known state (`partial` amends, `complete` replaces;
//!   `disassociate-time` ends associations).
//! - [`map_legs`] ties each m-line to a party through `a=label`, the stream
//!   and `participantstreamassoc`, asks the appliance's `is_protected`
//!   predicate about normalized AORs, and falls back on documented,
//!   explicitly marked conventions (metadata order, SDP order, From/To) when
//!   the SRC says less. When no party or several parties are protected it
//!   says so instead of guessing.
//!
//! # Vendor shapes recognized
//!
//! - RFC 7865 (`urn:ietf:params:xml:ns:recording:1`): Cisco CUBE, AudioCodes,
//!   Avaya SBCE, most SRCs.
//! - Ribbon/Sonus: `tns:` prefix, namespace without `:1`, `callData` with
//!   `fromhdr`/`tohdr`/`callid`/`gcid` and operator-mapped header tags.
//! - Oracle/Acme Packet pre-RFC draft: `id`/`session` attributes,
//!   `participant/send`, `apkt:` extension data (`callingParty`, `ucid`,
//!   `callerOrig`, `request-uri`, `in-realm`, `header label=...` with `value`s).
//! - BroadWorks: `recording_metadata` root (`urn:ietf:params:xml:ns:siprec`),
//!   `aor` and `<send><id>` inside `participant`, one `mixed` stream,
//!   `broadWorksRecordingMetadata` (`userID`, `origCall`/`termCall`,
//!   calling/called party numbers).
//! - Generic hints: `role` calling/called in a participant, `direction`
//!   elements or attributes, `recordedParty`, `header name=...`.
//!
//! # Example
//!
//! ```
//! use callguard_siprec_metadata::{
//!     LegMapInput, LegRole, MediaDirection, PartyVerdict, SdpStream, aor_user, map_legs,
//!     parse_metadata,
//! };
//!
//! let body = br#"<recording xmlns="urn:ietf:params:xml:ns:recording:1">
//!   <datamode>complete</datamode>
//!   <participant participant_id="cA=="><nameID aor="sip:+15550001111@carrier.example"/></participant>
//!   <participant participant_id="cQ=="><nameID aor="sip:+15551230001@ims.example"/></participant>
//!   <stream stream_id="czE=" session_id="c2U="><label>1</label></stream>
//!   <stream stream_id="czI=" session_id="c2U="><label>2</label></stream>
//!   <participantstreamassoc participant_id="cA=="><send>czE=</send></participantstreamassoc>
//!   <participantstreamassoc participant_id="cQ=="><send>czI=</send></participantstreamassoc>
//! </recording>"#;
//! let metadata = parse_metadata(body)?;
//! let m_lines = [
//!     SdpStream::new(0, Some("1"), MediaDirection::SendOnly),
//!     SdpStream::new(1, Some("2"), MediaDirection::SendOnly),
//! ];
//! let input = LegMapInput {
//!     streams: &m_lines,
//!     metadata: Some(&metadata),
//!     ..LegMapInput::default()
//! };
//! let legs = map_legs(&input, |aor| aor_user(aor) == Some("+15551230001"));
//! assert_eq!(legs.parties.verdict, PartyVerdict::Decided);
//! assert_eq!(legs.streams[0].role, LegRole::Caller);
//! assert_eq!(legs.streams[1].role, LegRole::Subscriber);
//! # Ok::<(), callguard_siprec_metadata::MetadataError>(())
//! ```
//!
//! # Limits
//!
//! - Pure computation: no I/O, no async, no clock (times stay as sent).
//! - Input must be UTF-8; DOCTYPEs are refused outright (no entity
//!   expansion); size, depth and node count are bounded ([`ParseLimits`]).
//!   Malformed input yields a [`MetadataError`]; nothing panics.
//! - The SDP itself and the multipart body are not parsed here: the SIP layer
//!   hands over the m-lines ([`SdpStream`]) and the metadata part's bytes.
//! - Vendor conventions for SDP order ([`SrcVendor`]) come from public
//!   samples and documentation, some unconfirmed; results resting on them are
//!   flagged ([`LegMap::is_inferred`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aor;
mod error;
mod legs;
mod model;
mod parse;
mod update;
mod vendor;
mod xml;

pub use aor::{aor_user, display_name, normalize_aor};
pub use error::MetadataError;
pub use legs::{
    CallParties, DirectionSource, LegMap, LegMapInput, LegRole, MediaDirection, Party, PartySource, PartyVerdict,
    SdpOrder, SdpStream, SrcVendor, StreamBasis, StreamLeg, map_legs,
};
pub use model::{
    CallDirection, CopiedHeader, DanglingReference, DataMode, Dialect, DirectionHint, Group, NameId,
    OriginalCallHeaders, Participant, ParticipantSessionAssoc, ParticipantStreamAssoc, RecordingMetadata, Session,
    SessionRecordingAssoc, Stream, StreamMode, VendorField,
};
pub use parse::{ParseLimits, parse_metadata, parse_metadata_with};
