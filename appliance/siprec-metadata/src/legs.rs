//! Which SDP stream is whose: the caller's leg or the protected subscriber's.
//!
//! The rules are documented on [`map_legs`].

use crate::aor::{aor_user, display_name, normalize_aor};
use crate::model::{CallDirection, DirectionHint, RecordingMetadata, StreamMode};

/// SDP direction of an m-line, as offered by the SRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MediaDirection {
    /// `a=sendonly`: what an SRC offers for recorded media (RFC 7866).
    #[default]
    SendOnly,
    /// `a=recvonly`: the SRC sends nothing on it.
    RecvOnly,
    /// `a=sendrecv` (or no direction attribute).
    SendRecv,
    /// `a=inactive`: recorded stream on hold; still attributed.
    Inactive,
}

impl MediaDirection {
    /// Parses an SDP direction attribute name (`sendonly`, `recvonly`,
    /// `sendrecv`, `inactive`); `None` for anything else.
    pub fn from_attribute(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "sendrecv" => Some(Self::SendRecv),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// One m-line of the SRC's SDP offer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdpStream {
    /// Position of the m-line in the offer, from 0.
    pub index: usize,
    /// `a=label` value, if any.
    pub label: Option<String>,
    /// Direction attribute.
    pub direction: MediaDirection,
}

impl SdpStream {
    /// An m-line description.
    pub fn new(index: usize, label: Option<&str>, direction: MediaDirection) -> Self {
        Self { index, label: label.map(str::to_owned), direction }
    }
}

/// Where the originator's (the calling party's) stream sits among two m-lines
/// when nothing else tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SdpOrder {
    /// First m-line is the originator's: the common convention.
    #[default]
    OriginatorFirst,
    /// Second m-line is the originator's.
    OriginatorSecond,
}

/// The SBC/SRC family, for its SDP order convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SrcVendor {
    /// Unknown SRC: originator first.
    #[default]
    Generic,
    /// Oracle/Acme Packet SBC (and Avaya SBCE, same engine): originator first.
    /// In the public samples the `apkt:callingParty` true participant sends
    /// the first m-line's stream (labels 16777227, 201835599...).
    OracleAcme,
    /// Ribbon/Sonus SBC: originator second. In the public Sonus sample the
    /// participant whose AOR is the copied `fromhdr` sends label 2, the second
    /// m-line. Ribbon always sends metadata, so this only matters when it is
    /// missing; confirm per deployment.
    RibbonSonus,
    /// Cisco CUBE: originator first (label 1). Not confirmed by a public
    /// sample that names the caller.
    CiscoCube,
    /// AudioCodes Mediant: originator first (label 1), unconfirmed likewise.
    AudioCodes,
    /// BroadWorks: one mixed m-line; order does not arise.
    BroadWorks,
    /// Metaswitch: one mixed m-line; order does not arise.
    Metaswitch,
}

impl SrcVendor {
    /// The SDP order convention assumed for this SRC.
    pub fn sdp_order(self) -> SdpOrder {
        match self {
            Self::RibbonSonus => SdpOrder::OriginatorSecond,
            _ => SdpOrder::OriginatorFirst,
        }
    }
}

/// What the mapper needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LegMapInput<'a> {
    /// The offer's m-lines, in order.
    pub streams: &'a [SdpStream],
    /// Parsed (and merged) metadata, if any has arrived.
    pub metadata: Option<&'a RecordingMetadata>,
    /// `From` of the original call as the SIP layer knows it (header value or
    /// AOR). Not the SRC's own From of the recording INVITE.
    pub invite_from: Option<&'a str>,
    /// `To` of the original call, likewise.
    pub invite_to: Option<&'a str>,
    /// Order convention for the SDP-order fallback.
    pub sdp_order: SdpOrder,
}

/// Whose audio a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegRole {
    /// The remote party: the one the subscriber is protected from.
    Caller,
    /// The protected subscriber.
    Subscriber,
    /// Both parties mixed in one stream.
    Mixed,
    /// Not known, or not decided because the parties are not.
    Unknown,
}

/// A party of the call as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// Metadata `participant_id`, when the party came from the metadata.
    pub participant_id: Option<String>,
    /// Normalized AOR.
    pub aor: Option<String>,
    /// Display name.
    pub name: Option<String>,
}

/// How a stream was tied to a party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamBasis {
    /// `a=label` matched a metadata stream whose sender an association names.
    LabelAssociation,
    /// No usable label: paired with a metadata stream by order, then association.
    StreamOrderAssociation,
    /// No association: n-th participant sends n-th metadata stream.
    ParticipantOrder,
    /// The other of two streams was attributed; this one is the other party's.
    Complement,
    /// A vendor hint named the originator; placed by the SDP order convention.
    DirectionHint,
    /// The original `From` named the originator; placed by the SDP order convention.
    SdpOrder,
    /// The stream carries both parties.
    Mixed,
    /// Offered `recvonly`: the SRC records nothing on it.
    NotRecorded,
    /// Nothing tied it to a party.
    Unresolved,
}

impl StreamBasis {
    /// Whether this attribution rests on a convention rather than on what the
    /// SRC stated.
    pub fn is_inferred(self) -> bool {
        matches!(
            self,
            Self::StreamOrderAssociation
                | Self::ParticipantOrder
                | Self::Complement
                | Self::DirectionHint
                | Self::SdpOrder
        )
    }
}

/// The mapping of one m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLeg {
    /// m-line position.
    pub index: usize,
    /// Its `a=label`.
    pub label: Option<String>,
    /// Whose audio it carries.
    pub role: LegRole,
    /// The sending party, when known (never set for a mixed stream).
    pub sender: Option<Party>,
    /// How it was decided.
    pub basis: StreamBasis,
}

/// Outcome of the protected-party test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyVerdict {
    /// Exactly one party is a protected subscriber.
    Decided,
    /// Two or more parties are known and none is protected.
    NoProtectedParty,
    /// Two or more parties are protected (subscriber to subscriber).
    SeveralProtected,
    /// Too little is known: no AOR at all, or one unprotected party.
    Undetermined,
}

/// Where the parties' identities came from, from most to least direct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartySource {
    /// Metadata participants.
    Metadata,
    /// `From`/`To` the SRC copied into the metadata.
    CopiedHeaders,
    /// `From`/`To` given by the SIP layer.
    InviteHeaders,
    /// No party at all.
    Unavailable,
}

/// What set the call direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectionSource {
    /// A participant hint (`callingParty`, `role`) or `callingPartyNumber`.
    CallerHint,
    /// The original `From` matched a party.
    FromHeader,
    /// A vendor call-direction hint, relative to the recorded party.
    RecordedPartyHint,
}

/// The call's parties as the appliance needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallParties {
    /// Whether a single protected subscriber was found.
    pub verdict: PartyVerdict,
    /// The protected subscriber (only with [`PartyVerdict::Decided`]).
    pub subscriber: Option<Party>,
    /// The remote party (only with [`PartyVerdict::Decided`], when known).
    pub caller: Option<Party>,
    /// Least direct source used for the parties.
    pub source: PartySource,
    /// Incoming: the subscriber was called. Outgoing: the subscriber called.
    pub direction: Option<CallDirection>,
    /// What set `direction`.
    pub direction_source: Option<DirectionSource>,
}

/// Result of [`map_legs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegMap {
    /// One entry per m-line, in offer order.
    pub streams: Vec<StreamLeg>,
    /// The parties.
    pub parties: CallParties,
}

impl LegMap {
    /// Whether any part of the result rests on a convention.
    pub fn is_inferred(&self) -> bool {
        self.parties.source != PartySource::Metadata || self.streams.iter().any(|s| s.basis.is_inferred())
    }

    /// First m-line with this role.
    pub fn stream_with_role(&self, role: LegRole) -> Option<&StreamLeg> {
        self.streams.iter().find(|s| s.role == role)
    }
}

/// Maps each m-line to a leg and decides the parties.
///
/// # Rules, in order
///
/// 1. **Parties.** The candidates are the metadata participants still in the
///    call (no `disassociate-time` ending all their sessions). When the
///    metadata names fewer than two AORs, the original `From`/`To` copied into
///    the metadata, then the `From`/`To` given by the SIP layer, complete the
///    list. Every AOR is normalized ([`normalize_aor`]) before it reaches
///    `is_protected`. Exactly one protected candidate: it is the subscriber
///    ([`PartyVerdict::Decided`]). None, or several: the verdict says so and
///    no role is guessed; the appliance declines such sessions.
/// 2. **Streams with metadata.** SDP `a=label` is matched against metadata
///    `stream/label` as text (so `1`/`2`, `0`/`1`, `10`/`20`, `16777227`,
///    `a_leg`/`b_leg` all work; case-insensitive). SDP streams left without a
///    match (no label, or labels the metadata does not know) are paired with
///    the unmatched metadata streams in document order when both counts agree.
///    The metadata stream's sender is read from `participantstreamassoc/send`
///    (pre-RFC `participant/send` is normalized into it).
/// 3. **Mixed.** A stream is [`LegRole::Mixed`] when the metadata says `mode`
///    mixed, when two participants send it, when its sender also receives it,
///    or when the offer has a single recorded m-line and the metadata does
///    not name exactly one sender for it (Metaswitch/BroadWorks single mixed
///    stream, Cisco single-stream forks, calls with no metadata).
/// 4. **Fallbacks, each marked inferred.**
///    - metadata without any send association (seen from some SRCs): the
///      n-th active participant sends the n-th metadata stream
///      ([`StreamBasis::ParticipantOrder`]), unless a hint names the caller;
///    - of exactly two streams, one attributed: the other belongs to the other
///      party ([`StreamBasis::Complement`]);
///    - no stream attributed: the originator is found (participant hint
///      `callingParty`/`role`, `callingPartyNumber`, else the original `From`)
///      and placed by the SDP order convention ([`SdpOrder`]):
///      [`StreamBasis::DirectionHint`] or [`StreamBasis::SdpOrder`].
/// 5. **Direction.** From the subscriber's side: the originator found above,
///    else a vendor call-direction hint read relative to the recorded party
///    (assumed to be the subscriber when the SRC does not name it).
///
/// Streams the SRC offers `recvonly` carry no recorded media and are left
/// [`LegRole::Unknown`] ([`StreamBasis::NotRecorded`]).
///
/// `is_protected` is asked about normalized AORs (`sip:user@host`,
/// `tel:+number`); [`crate::aor_user`] extracts the number if the register is
/// keyed by number.
pub fn map_legs(input: &LegMapInput<'_>, is_protected: impl Fn(&str) -> bool) -> LegMap {
    let meta = input.metadata;
    let mut cands = candidates(input);
    for c in &mut cands {
        c.protected = c.aors.iter().any(|a| is_protected(a));
    }
    let protected: Vec<usize> = (0..cands.len()).filter(|&i| cands[i].protected).collect();
    let with_aor = cands.iter().filter(|c| !c.aors.is_empty()).count();
    let verdict = match protected.len() {
        1 => PartyVerdict::Decided,
        0 if with_aor >= 2 => PartyVerdict::NoProtectedParty,
        0 => PartyVerdict::Undetermined,
        _ => PartyVerdict::SeveralProtected,
    };
    let subscriber = (verdict == PartyVerdict::Decided).then(|| protected[0]);
    let originator = originator(input, &cands);
    let ctx = Ctx { cands: &cands, subscriber, originator };

    let mut atts = attribute_streams(input, &ctx);
    fallback_streams(input, &ctx, &mut atts);

    let streams = input
        .streams
        .iter()
        .zip(&atts)
        .map(|(s, a)| {
            let role = match (a.basis, a.cand) {
                (StreamBasis::Mixed, _) => LegRole::Mixed,
                (_, Some(c)) if Some(c) == subscriber => LegRole::Subscriber,
                (_, Some(_)) if subscriber.is_some() => LegRole::Caller,
                _ => LegRole::Unknown,
            };
            StreamLeg {
                index: s.index,
                label: s.label.clone(),
                role,
                sender: a.cand.map(|c| cands[c].party()),
                basis: a.basis,
            }
        })
        .collect();

    let remote = subscriber.and_then(|sub| {
        atts.iter()
            .filter(|a| a.basis != StreamBasis::Mixed)
            .filter_map(|a| a.cand)
            .find(|&c| c != sub)
            .or_else(|| ctx.remote_guess(sub))
    });
    let source = match subscriber {
        Some(sub) => remote.map_or(cands[sub].source, |r| cands[sub].source.max(cands[r].source)),
        None => cands.iter().map(|c| c.source).max().unwrap_or(PartySource::Unavailable),
    };
    let (direction, direction_source) =
        subscriber.and_then(|sub| direction(meta, &ctx, sub)).map_or((None, None), |(d, s)| (Some(d), Some(s)));

    LegMap {
        streams,
        parties: CallParties {
            verdict,
            subscriber: subscriber.map(|s| cands[s].party()),
            caller: remote.map(|r| cands[r].party()),
            source,
            direction,
            direction_source,
        },
    }
}

/// A possible party of the call.
struct Cand {
    participant_id: Option<String>,
    aors: Vec<String>,
    name: Option<String>,
    protected: bool,
    source: PartySource,
}

impl Cand {
    fn party(&self) -> Party {
        Party { participant_id: self.participant_id.clone(), aor: self.aors.first().cloned(), name: self.name.clone() }
    }

    fn matches(&self, aor: &str) -> bool {
        self.aors.iter().any(|a| same_party(a, aor))
    }
}

/// Same AOR, or same user part when one side has no host (BroadWorks
/// `sip:02077705371` against `userID` `02077705371@example.com`, or a
/// `tel:` number against a `sip:` AOR).
fn same_party(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (aor_user(a), aor_user(b)) {
        (Some(x), Some(y)) if x == y => !a.contains('@') || !b.contains('@'),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OriginBasis {
    Hint,
    FromHeader,
}

struct Ctx<'a> {
    cands: &'a [Cand],
    subscriber: Option<usize>,
    originator: Option<(usize, OriginBasis)>,
}

impl Ctx<'_> {
    fn by_participant(&self, pid: &str) -> Option<usize> {
        self.cands.iter().position(|c| c.participant_id.as_deref() == Some(pid))
    }

    /// The other party of `x`, when it can be told.
    fn other(&self, x: usize) -> Option<usize> {
        if self.cands.len() == 2 {
            return Some(1 - x);
        }
        let sub = self.subscriber?;
        if x == sub { self.remote_guess(sub) } else { Some(sub) }
    }

    /// Remote party when no stream names one: the originator if it is not
    /// the subscriber, else the first other party with an AOR.
    fn remote_guess(&self, sub: usize) -> Option<usize> {
        self.originator
            .map(|(o, _)| o)
            .filter(|&o| o != sub)
            .or_else(|| (0..self.cands.len()).find(|&i| i != sub && !self.cands[i].aors.is_empty()))
            .or_else(|| (0..self.cands.len()).find(|&i| i != sub))
    }
}

fn candidates(input: &LegMapInput<'_>) -> Vec<Cand> {
    let mut cands = Vec::new();
    if let Some(m) = input.metadata {
        for p in m.active_participants() {
            cands.push(Cand {
                participant_id: (!p.id.is_empty()).then(|| p.id.clone()),
                aors: p.aors(),
                name: p.display_name().map(str::to_owned),
                protected: false,
                source: PartySource::Metadata,
            });
        }
    }
    let copied = input.metadata.map(|m| (m.original_call.from(), m.original_call.to())).unwrap_or_default();
    let extra = [
        (copied.0, PartySource::CopiedHeaders),
        (copied.1, PartySource::CopiedHeaders),
        (input.invite_from, PartySource::InviteHeaders),
        (input.invite_to, PartySource::InviteHeaders),
    ];
    for (value, source) in extra {
        if cands.iter().filter(|c| !c.aors.is_empty()).count() >= 2 {
            break;
        }
        let Some(value) = value else { continue };
        let Some(aor) = normalize_aor(value) else {
            continue;
        };
        if cands.iter().any(|c| c.matches(&aor)) {
            continue;
        }
        cands.push(Cand { participant_id: None, aors: vec![aor], name: display_name(value), protected: false, source });
    }
    cands
}

/// Who placed the call, when something says so.
fn originator(input: &LegMapInput<'_>, cands: &[Cand]) -> Option<(usize, OriginBasis)> {
    let other = |i: usize| (cands.len() == 2).then(|| 1 - i);
    let by_pid = |pid: &str| cands.iter().position(|c| c.participant_id.as_deref() == Some(pid));
    let by_aor = |raw: &str| {
        let aor = normalize_aor(raw)?;
        cands.iter().position(|c| c.matches(&aor))
    };
    if let Some(m) = input.metadata {
        let found = m.direction_hints.iter().find_map(|h| match h {
            DirectionHint::ParticipantIsCaller { participant_id } => by_pid(participant_id),
            DirectionHint::ParticipantIsCallee { participant_id } => by_pid(participant_id).and_then(other),
            DirectionHint::CallerAddress(a) => by_aor(a),
            DirectionHint::CalleeAddress(a) => by_aor(a).and_then(other),
            _ => None,
        });
        if let Some(i) = found {
            return Some((i, OriginBasis::Hint));
        }
    }
    let from = input.metadata.and_then(|m| m.original_call.from()).or(input.invite_from)?;
    by_aor(from).map(|i| (i, OriginBasis::FromHeader))
}

#[derive(Clone, Copy)]
struct Att {
    cand: Option<usize>,
    basis: StreamBasis,
}

const UNRESOLVED: Att = Att { cand: None, basis: StreamBasis::Unresolved };

const MIXED: Att = Att { cand: None, basis: StreamBasis::Mixed };

/// Steps 2 and 3: label/order matching, associations, mixed detection.
fn attribute_streams(input: &LegMapInput<'_>, ctx: &Ctx<'_>) -> Vec<Att> {
    let recorded: Vec<usize> =
        (0..input.streams.len()).filter(|&i| input.streams[i].direction != MediaDirection::RecvOnly).collect();
    let mut atts: Vec<Att> = input
        .streams
        .iter()
        .map(|s| match s.direction {
            MediaDirection::RecvOnly => Att { cand: None, basis: StreamBasis::NotRecorded },
            _ => UNRESOLVED,
        })
        .collect();
    let single = recorded.len() == 1;
    let Some(m) = input.metadata else {
        if single {
            atts[recorded[0]] = MIXED;
        }
        return atts;
    };

    let matched = match_metadata_streams(input, m, &recorded);
    let no_assoc = !m.has_send_associations() && !matches!(ctx.originator, Some((_, OriginBasis::Hint)));
    let active: Vec<&str> = m.active_participants().map(|p| p.id.as_str()).collect();
    for &(sdp, ms, by_order) in &matched {
        let stream = &m.streams[ms];
        let senders = m.senders_of(&stream.id);
        let loops_back = senders.len() == 1
            && m.participant_stream_assocs
                .iter()
                .any(|a| a.is_active() && a.participant_id == senders[0] && a.recv.contains(&stream.id));
        if stream.mode == Some(StreamMode::Mixed) || senders.len() >= 2 || loops_back {
            atts[sdp] = MIXED;
        } else if let [sender] = senders[..] {
            atts[sdp] = Att {
                cand: ctx.by_participant(sender),
                basis: if by_order { StreamBasis::StreamOrderAssociation } else { StreamBasis::LabelAssociation },
            };
        } else if no_assoc && active.len() == m.streams.len() && active.len() >= 2 {
            atts[sdp] = Att { cand: ctx.by_participant(active[ms]), basis: StreamBasis::ParticipantOrder };
        }
        if atts[sdp].basis != StreamBasis::Mixed && atts[sdp].cand.is_none() {
            atts[sdp] = UNRESOLVED;
        }
    }
    if single && atts[recorded[0]].cand.is_none() {
        atts[recorded[0]] = MIXED;
    }
    atts
}

/// Pairs recorded SDP streams with metadata streams: by label, then the
/// leftovers by order when the counts agree. Returns (sdp, metadata, by_order).
fn match_metadata_streams(
    input: &LegMapInput<'_>,
    m: &RecordingMetadata,
    recorded: &[usize],
) -> Vec<(usize, usize, bool)> {
    let mut pairs = Vec::new();
    let mut used = vec![false; m.streams.len()];
    let mut unmatched = Vec::new();
    for &i in recorded {
        let label = input.streams[i].label.as_deref().map(str::trim);
        let hit = label.filter(|l| !l.is_empty()).and_then(|l| {
            let same: Vec<usize> = (0..m.streams.len())
                .filter(|&j| !used[j])
                .filter(|&j| m.streams[j].label.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(l)))
                .collect();
            same.iter().copied().find(|&j| !m.senders_of(&m.streams[j].id).is_empty()).or_else(|| same.first().copied())
        });
        match hit {
            Some(j) => {
                used[j] = true;
                pairs.push((i, j, false));
            }
            None => unmatched.push(i),
        }
    }
    let free: Vec<usize> = (0..m.streams.len()).filter(|&j| !used[j]).collect();
    if !unmatched.is_empty() && unmatched.len() == free.len() {
        pairs.extend(unmatched.into_iter().zip(free).map(|(i, j)| (i, j, true)));
    }
    pairs
}

/// Step 4: complement and SDP-order fallbacks for exactly two recorded,
/// non-mixed streams.
fn fallback_streams(input: &LegMapInput<'_>, ctx: &Ctx<'_>, atts: &mut [Att]) {
    let open: Vec<usize> =
        (0..atts.len()).filter(|&i| !matches!(atts[i].basis, StreamBasis::Mixed | StreamBasis::NotRecorded)).collect();
    let [a, b] = open[..] else { return };
    match (atts[a].cand, atts[b].cand) {
        (Some(x), None) => complement(ctx, atts, x, b),
        (None, Some(x)) => complement(ctx, atts, x, a),
        (None, None) => {
            let Some((o, basis)) = ctx.originator else {
                return;
            };
            let Some(t) = ctx.other(o) else { return };
            let (first, second) = match input.sdp_order {
                SdpOrder::OriginatorFirst => (o, t),
                SdpOrder::OriginatorSecond => (t, o),
            };
            let basis = match basis {
                OriginBasis::Hint => StreamBasis::DirectionHint,
                OriginBasis::FromHeader => StreamBasis::SdpOrder,
            };
            atts[a] = Att { cand: Some(first), basis };
            atts[b] = Att { cand: Some(second), basis };
        }
        (Some(_), Some(_)) => {}
    }
}

fn complement(ctx: &Ctx<'_>, atts: &mut [Att], known: usize, open: usize) {
    if let Some(o) = ctx.other(known).filter(|&o| o != known) {
        atts[open] = Att { cand: Some(o), basis: StreamBasis::Complement };
    }
}

/// Step 5.
fn direction(meta: Option<&RecordingMetadata>, ctx: &Ctx<'_>, sub: usize) -> Option<(CallDirection, DirectionSource)> {
    if let Some((o, basis)) = ctx.originator {
        let d = if o == sub { CallDirection::Outgoing } else { CallDirection::Incoming };
        let s = match basis {
            OriginBasis::Hint => DirectionSource::CallerHint,
            OriginBasis::FromHeader => DirectionSource::FromHeader,
        };
        return Some((d, s));
    }
    let m = meta?;
    let d = m.direction_hints.iter().find_map(|h| match h {
        DirectionHint::Direction(d) => Some(*d),
        _ => None,
    })?;
    let recorded = m.direction_hints.iter().find_map(|h| match h {
        DirectionHint::RecordedParty(a) => normalize_aor(a),
        _ => None,
    });
    let recorded_is_other =
        recorded.is_some_and(|r| !ctx.cands[sub].matches(&r) && ctx.cands.iter().any(|c| c.matches(&r)));
    let d = match (d, recorded_is_other) {
        (d, false) => d,
        (CallDirection::Incoming, true) => CallDirection::Outgoing,
        (CallDirection::Outgoing, true) => CallDirection::Incoming,
    };
    Some((d, DirectionSource::RecordedPartyHint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two(labels: [Option<&str>; 2]) -> Vec<SdpStream> {
        labels.iter().enumerate().map(|(i, l)| SdpStream::new(i, *l, MediaDirection::SendOnly)).collect()
    }

    #[test]
    fn no_metadata_uses_sdp_order_and_from_to() {
        let streams = two([Some("1"), Some("2")]);
        let input = LegMapInput {
            streams: &streams,
            invite_from: Some("\"Fraudster\" <sip:+15550009999@carrier.example>;tag=a"),
            invite_to: Some("<sip:+15551230001@ims.example>"),
            ..LegMapInput::default()
        };
        let map = map_legs(&input, |aor| aor.contains("1230001"));
        assert_eq!(map.streams[0].role, LegRole::Caller);
        assert_eq!(map.streams[0].basis, StreamBasis::SdpOrder);
        assert_eq!(map.streams[1].role, LegRole::Subscriber);
        assert_eq!(map.parties.verdict, PartyVerdict::Decided);
        assert_eq!(map.parties.source, PartySource::InviteHeaders);
        assert_eq!(map.parties.direction, Some(CallDirection::Incoming));
        assert_eq!(map.parties.caller.as_ref().and_then(|p| p.name.as_deref()), Some("Fraudster"));
        assert!(map.is_inferred());

        let input = LegMapInput { sdp_order: SdpOrder::OriginatorSecond, ..input };
        let map = map_legs(&input, |aor| aor.contains("1230001"));
        assert_eq!(map.streams[0].role, LegRole::Subscriber);
        assert_eq!(map.streams[1].role, LegRole::Caller);
    }

    #[test]
    fn no_metadata_and_no_parties_leaves_everything_unknown() {
        let streams = two([None, None]);
        let map = map_legs(&LegMapInput { streams: &streams, ..LegMapInput::default() }, |_| true);
        assert!(map.streams.iter().all(|s| s.role == LegRole::Unknown));
        assert_eq!(map.parties.verdict, PartyVerdict::Undetermined);
        assert_eq!(map.parties.source, PartySource::Unavailable);
    }

    #[test]
    fn single_stream_without_metadata_is_mixed() {
        let streams = [SdpStream::new(0, Some("1"), MediaDirection::SendOnly)];
        let map = map_legs(
            &LegMapInput {
                streams: &streams,
                invite_from: Some("sip:a@x"),
                invite_to: Some("sip:b@x"),
                ..LegMapInput::default()
            },
            |aor| aor == "sip:b@x",
        );
        assert_eq!(map.streams[0].role, LegRole::Mixed);
        assert_eq!(map.parties.verdict, PartyVerdict::Decided);
        assert_eq!(map.parties.subscriber.and_then(|p| p.aor).as_deref(), Some("sip:b@x"));
    }

    #[test]
    fn recvonly_streams_are_not_recorded() {
        let streams = [
            SdpStream::new(0, Some("1"), MediaDirection::SendOnly),
            SdpStream::new(1, Some("2"), MediaDirection::RecvOnly),
            SdpStream::new(2, Some("3"), MediaDirection::Inactive),
        ];
        let map = map_legs(
            &LegMapInput {
                streams: &streams,
                invite_from: Some("sip:a@x"),
                invite_to: Some("sip:b@x"),
                ..LegMapInput::default()
            },
            |aor| aor == "sip:b@x",
        );
        assert_eq!(map.streams[1].basis, StreamBasis::NotRecorded);
        assert_eq!(map.streams[1].role, LegRole::Unknown);
        assert_eq!(map.streams[0].role, LegRole::Caller);
        assert_eq!(map.streams[2].role, LegRole::Subscriber);
    }

    #[test]
    fn both_or_neither_protected_is_explicit() {
        let streams = two([Some("1"), Some("2")]);
        let input = LegMapInput {
            streams: &streams,
            invite_from: Some("sip:a@x"),
            invite_to: Some("sip:b@x"),
            ..LegMapInput::default()
        };
        let both = map_legs(&input, |_| true);
        assert_eq!(both.parties.verdict, PartyVerdict::SeveralProtected);
        assert!(both.parties.subscriber.is_none() && both.parties.caller.is_none());
        assert!(both.streams.iter().all(|s| s.role == LegRole::Unknown));
        assert!(both.streams.iter().all(|s| s.sender.is_some()));
        let neither = map_legs(&input, |_| false);
        assert_eq!(neither.parties.verdict, PartyVerdict::NoProtectedParty);
        assert!(neither.streams.iter().all(|s| s.role == LegRole::Unknown));
    }

    #[test]
    fn direction_hint_is_read_relative_to_the_recorded_party() {
        let streams = [SdpStream::new(0, Some("1"), MediaDirection::SendOnly)];
        let mut meta = RecordingMetadata::default();
        for (id, aor) in [("a", "sip:+1555000@x"), ("b", "sip:+1555123@y")] {
            meta.participants.push(crate::model::Participant {
                id: id.into(),
                name_ids: vec![crate::model::NameId { aor: aor.into(), ..crate::model::NameId::default() }],
            });
        }
        meta.direction_hints = vec![DirectionHint::Direction(CallDirection::Outgoing)];
        let run = |meta: &RecordingMetadata| {
            map_legs(&LegMapInput { streams: &streams, metadata: Some(meta), ..LegMapInput::default() }, |aor| {
                aor.contains("123")
            })
            .parties
        };
        // The recorded party is taken to be the subscriber when not named.
        let parties = run(&meta);
        assert_eq!(parties.direction, Some(CallDirection::Outgoing));
        assert_eq!(parties.direction_source, Some(DirectionSource::RecordedPartyHint));
        // Named as the other party: the subscriber's direction is the opposite.
        meta.direction_hints.push(DirectionHint::RecordedParty("+1555000@x".into()));
        assert_eq!(run(&meta).direction, Some(CallDirection::Incoming));
    }

    #[test]
    fn same_party_compares_users_when_a_host_is_missing() {
        assert!(same_party("sip:02077705371", "sip:02077705371@example.com"));
        assert!(same_party("tel:+1555", "sip:+1555@h"));
        assert!(!same_party("sip:1@a", "sip:1@b"));
        assert!(!same_party("sip:1@a", "sip:2"));
    }

    #[test]
    fn media_direction_attribute_names() {
        assert_eq!(MediaDirection::from_attribute("SENDONLY"), Some(MediaDirection::SendOnly));
        assert_eq!(MediaDirection::from_attribute("inactive"), Some(MediaDirection::Inactive));
        assert_eq!(MediaDirection::from_attribute("label"), None);
        assert_eq!(SrcVendor::RibbonSonus.sdp_order(), SdpOrder::OriginatorSecond);
        assert_eq!(SrcVendor::OracleAcme.sdp_order(), SdpOrder::OriginatorFirst);
    }
}
