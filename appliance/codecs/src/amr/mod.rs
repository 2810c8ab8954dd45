//! AMR-NB and AMR-WB (RTP payload format RFC 4867) through Debian's
//! opencore-amr decoders. Built only with the `amr` feature.
//!
//! # Payload formats
//!
//! Both RFC 4867 formats are read, chosen per stream with
//! [`AmrPayloadFormat`] (SDP `a=fmtp:<pt> octet-align=1` selects
//! [`AmrPayloadFormat::OctetAligned`]; without it RFC 4867 §8.1 says the
//! stream is [`AmrPayloadFormat::BandwidthEfficient`], the default here):
//!
//! * bandwidth-efficient (§4.3): a 4-bit CMR, 6-bit table-of-contents
//!   entries `F FT Q`, then the frames' speech bits back to back, the
//!   payload padded to a whole octet;
//! * octet-aligned (§4.4): a CMR octet, one TOC octet `F FT Q P P` per
//!   frame, then each frame padded to a whole octet.
//!
//! Single channel only, and none of the octet-aligned options
//! (`interleaving`, `crc`, `robust-sorting`): [`AmrPayloadFormat::from_fmtp`]
//! rejects them. The CMR (the receiver's mode request) is read past and
//! ignored: a recorder sends no audio back.
//!
//! Every TOC entry is 20 ms of output (160 samples for AMR-NB at 8 kHz, 320
//! for AMR-WB at 16 kHz), whatever its type: speech frames (FT 0-7 / 0-8),
//! SID frames (FT 8 / 9, comfort noise), and NO_DATA (FT 15) and, for
//! AMR-WB, SPEECH_LOST (FT 14), which the decoder turns into comfort noise
//! during DTX or concealment during speech. A frame with Q = 0 (damaged) is
//! decoded through the bad-frame path: as NO_DATA for AMR-NB (opencore-amrnb
//! ignores Q and its `bfi` argument), with Q = 0 for AMR-WB (decoded as
//! `RX_SPEECH_BAD`). The reserved frame types (AMR-NB 9-14, AMR-WB 10-13)
//! make the whole payload invalid, as RFC 4867 §4.3.2 recommends, and so
//! does a payload whose length is not exactly what its TOC implies.
//!
//! # Loss concealment
//!
//! [`Decoder::conceal`] runs the decoder's own lost-frame path for each
//! missing 20 ms frame (AMR-NB: an FT 15 frame, which the 3GPP decoder
//! handles with `bfi = 1`; AMR-WB: `D_IF_decode` with `_lost_frame`).
//!
//! Each frame is rebuilt in the storage format opencore reads (RFC 4867
//! §5.3: header octet `(FT << 3) | (Q << 2)`, then the speech bits
//! octet-aligned); the unsafe calls are in the private `ffi` module.

mod ffi;

use ffi::{FRAME_BUF, NB_FRAME_SAMPLES, NbState, WB_FRAME_SAMPLES, WbFrameIndicator, WbState};

use crate::{Codec, DecodeError, Decoder, check_output};

/// Speech bits per frame type for AMR-NB (RFC 4867 Table 1 / 3GPP TS
/// 26.101): modes 0-7 (4.75 … 12.2 kbit/s) and SID (FT 8); `None` marks the
/// types a payload may not carry (9-14); FT 15 (NO_DATA) has no bits.
pub const AMR_NB_FRAME_BITS: [Option<u16>; 16] = [
    Some(95),
    Some(103),
    Some(118),
    Some(134),
    Some(148),
    Some(159),
    Some(204),
    Some(244),
    Some(39),
    None,
    None,
    None,
    None,
    None,
    None,
    Some(0),
];

/// Speech bits per frame type for AMR-WB (RFC 4867 Table 2 / 3GPP TS
/// 26.201): modes 0-8 (6.60 … 23.85 kbit/s), SID (FT 9), SPEECH_LOST
/// (FT 14) and NO_DATA (FT 15); `None` marks the reserved types 10-13.
pub const AMR_WB_FRAME_BITS: [Option<u16>; 16] = [
    Some(132),
    Some(177),
    Some(253),
    Some(285),
    Some(317),
    Some(365),
    Some(397),
    Some(461),
    Some(477),
    Some(40),
    None,
    None,
    None,
    None,
    Some(0),
    Some(0),
];

/// Frame type of NO_DATA (both codecs).
pub const FT_NO_DATA: u8 = 15;

/// The RFC 4867 payload format of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AmrPayloadFormat {
    /// Bandwidth-efficient mode (§4.3), the default when the SDP has no
    /// `octet-align=1`.
    #[default]
    BandwidthEfficient,
    /// Octet-aligned mode (§4.4), `octet-align=1`.
    OctetAligned,
}

impl AmrPayloadFormat {
    /// The format an SDP `a=fmtp` parameter list (`octet-align=1;
    /// mode-set=…`, without the payload type) describes, or an error naming
    /// an option this decoder does not implement (`interleaving`, `crc=1`,
    /// `robust-sorting=1`, `channels` other than 1).
    pub fn from_fmtp(codec: Codec, fmtp: &str) -> Result<Self, DecodeError> {
        let mut format = Self::BandwidthEfficient;
        for param in fmtp.split(';') {
            let (name, value) = match param.split_once('=') {
                Some((n, v)) => (n.trim(), v.trim()),
                None => (param.trim(), ""),
            };
            let on = value == "1";
            if name.eq_ignore_ascii_case("octet-align") {
                format = if on { Self::OctetAligned } else { Self::BandwidthEfficient };
            } else if name.eq_ignore_ascii_case("interleaving") {
                return Err(DecodeError::Invalid { codec, reason: "interleaving is not supported" });
            } else if (name.eq_ignore_ascii_case("crc") || name.eq_ignore_ascii_case("robust-sorting")) && on {
                return Err(DecodeError::Invalid { codec, reason: "crc and robust-sorting are not supported" });
            } else if name.eq_ignore_ascii_case("channels") && value != "1" {
                return Err(DecodeError::Invalid { codec, reason: "only single-channel AMR is supported" });
            }
        }
        Ok(format)
    }
}

/// Reads `n` (≤ 8) bits at bit offset `pos`, most significant first.
/// The caller has checked that they lie inside `data`.
fn bits(data: &[u8], pos: usize, n: usize) -> u8 {
    let mut v = 0u8;
    for i in pos..pos + n {
        v = (v << 1) | ((data[i / 8] >> (7 - i % 8)) & 1);
    }
    v
}

/// One table-of-contents entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TocEntry {
    ft: u8,
    q: bool,
    /// Bit offset of the frame's speech bits in the payload.
    data_bit: usize,
}

/// The layout of a payload, checked against its length.
#[derive(Debug, Clone, Copy)]
struct Layout {
    frames: usize,
    toc_start: usize,
    toc_bits: usize,
    data_start: usize,
    align: usize,
}

fn parse(
    codec: Codec,
    table: &[Option<u16>; 16],
    format: AmrPayloadFormat,
    payload: &[u8],
) -> Result<Layout, DecodeError> {
    let invalid = |reason| DecodeError::Invalid { codec, reason };
    if payload.is_empty() {
        return Err(DecodeError::EmptyPayload { codec });
    }
    let (toc_start, toc_bits, align) = match format {
        AmrPayloadFormat::BandwidthEfficient => (4, 6, 1),
        AmrPayloadFormat::OctetAligned => (8, 8, 8),
    };
    let total_bits = payload.len() * 8;
    let mut pos = toc_start;
    let mut frames = 0;
    let mut data_bits = 0usize;
    loop {
        if pos + 6 > total_bits {
            return Err(invalid("table of contents runs past the end of the payload"));
        }
        let entry = bits(payload, pos, 6);
        let ft = (entry >> 1) & 0x0F;
        let Some(size) = table[usize::from(ft)] else {
            return Err(invalid("reserved frame type in the table of contents"));
        };
        data_bits += usize::from(size).next_multiple_of(align);
        frames += 1;
        pos += toc_bits;
        if entry & 0x20 == 0 {
            break;
        }
    }
    let end = pos + data_bits;
    if end.div_ceil(8) != payload.len() {
        return Err(invalid(if end > total_bits {
            "payload is shorter than its table of contents says (truncated frame)"
        } else {
            "payload is longer than its table of contents says"
        }));
    }
    Ok(Layout { frames, toc_start, toc_bits, data_start: pos, align })
}

impl Layout {
    fn entries<'a>(self, table: &'a [Option<u16>; 16], payload: &'a [u8]) -> impl Iterator<Item = TocEntry> + 'a {
        let mut data_bit = self.data_start;
        (0..self.frames).map(move |i| {
            let entry = bits(payload, self.toc_start + i * self.toc_bits, 6);
            let ft = (entry >> 1) & 0x0F;
            let size = usize::from(table[usize::from(ft)].unwrap_or(0));
            let e = TocEntry { ft, q: entry & 1 == 1, data_bit };
            data_bit += size.next_multiple_of(self.align);
            e
        })
    }
}

/// Builds the storage-format frame: header octet, then `n_bits` speech bits
/// copied from bit `from` of `payload`, zero-padded.
fn storage_frame(ft: u8, q: bool, payload: &[u8], from: usize, n_bits: usize) -> [u8; FRAME_BUF] {
    let mut frame = [0u8; FRAME_BUF];
    frame[0] = (ft << 3) | (u8::from(q) << 2);
    if from.is_multiple_of(8) {
        let n = n_bits.div_ceil(8);
        frame[1..=n].copy_from_slice(&payload[from / 8..from / 8 + n]);
        if !n_bits.is_multiple_of(8) {
            frame[n] &= 0xFF << (8 - n_bits % 8);
        }
    } else {
        for i in 0..n_bits {
            let p = from + i;
            let bit = (payload[p / 8] >> (7 - p % 8)) & 1;
            frame[1 + i / 8] |= bit << (7 - i % 8);
        }
    }
    frame
}

enum State {
    Nb(NbState),
    Wb(WbState),
}

/// AMR-NB (8 kHz) or AMR-WB (16 kHz) decoder for one RTP stream.
pub struct AmrDecoder {
    codec: Codec,
    format: AmrPayloadFormat,
    state: State,
}

impl std::fmt::Debug for AmrDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmrDecoder").field("codec", &self.codec).field("format", &self.format).finish_non_exhaustive()
    }
}

fn new_state(codec: Codec) -> Result<State, DecodeError> {
    let failed = DecodeError::Amr { context: "creating the opencore decoder" };
    match codec {
        Codec::AmrNb => NbState::new().map(State::Nb).ok_or(failed),
        Codec::AmrWb => WbState::new().map(State::Wb).ok_or(failed),
        _ => Err(DecodeError::Invalid { codec, reason: "not an AMR codec" }),
    }
}

impl AmrDecoder {
    /// A decoder for `codec` ([`Codec::AmrNb`] or [`Codec::AmrWb`]) reading
    /// payloads in `format`.
    pub fn new(codec: Codec, format: AmrPayloadFormat) -> Result<Self, DecodeError> {
        Ok(Self { codec, format, state: new_state(codec)? })
    }

    /// An AMR-NB decoder.
    pub fn nb(format: AmrPayloadFormat) -> Result<Self, DecodeError> {
        Self::new(Codec::AmrNb, format)
    }

    /// An AMR-WB decoder.
    pub fn wb(format: AmrPayloadFormat) -> Result<Self, DecodeError> {
        Self::new(Codec::AmrWb, format)
    }

    /// The payload format read.
    pub fn format(&self) -> AmrPayloadFormat {
        self.format
    }

    fn table(&self) -> &'static [Option<u16>; 16] {
        match self.state {
            State::Nb(_) => &AMR_NB_FRAME_BITS,
            State::Wb(_) => &AMR_WB_FRAME_BITS,
        }
    }

    fn frame_samples(&self) -> usize {
        match self.state {
            State::Nb(_) => NB_FRAME_SAMPLES,
            State::Wb(_) => WB_FRAME_SAMPLES,
        }
    }

    /// Decodes one frame (or, with `entry == None`, a lost one) into `out`,
    /// which is exactly one frame long.
    fn decode_frame(&mut self, entry: Option<(TocEntry, &[u8])>, out: &mut [i16]) {
        let table = self.table();
        match &mut self.state {
            State::Nb(st) => {
                let Ok(out) = <&mut [i16; NB_FRAME_SAMPLES]>::try_from(out) else { return };
                let frame = match entry {
                    // Q = 0 is a damaged frame; opencore-amrnb ignores Q, so
                    // it goes in as NO_DATA, which the decoder conceals.
                    Some((e, payload)) if e.q => {
                        let n = usize::from(table[usize::from(e.ft)].unwrap_or(0));
                        storage_frame(e.ft, true, payload, e.data_bit, n)
                    }
                    _ => storage_frame(FT_NO_DATA, true, &[], 0, 0),
                };
                st.decode(&frame, out);
            }
            State::Wb(st) => {
                let Ok(out) = <&mut [i16; WB_FRAME_SAMPLES]>::try_from(out) else { return };
                match entry {
                    Some((e, payload)) => {
                        let n = usize::from(table[usize::from(e.ft)].unwrap_or(0));
                        let mut frame = storage_frame(e.ft, e.q, payload, e.data_bit, n);
                        st.decode(&mut frame, out, WbFrameIndicator::Good);
                    }
                    None => {
                        let mut frame = storage_frame(FT_NO_DATA, true, &[], 0, 0);
                        st.decode(&mut frame, out, WbFrameIndicator::Lost);
                    }
                }
            }
        }
    }
}

impl Decoder for AmrDecoder {
    fn codec(&self) -> Codec {
        self.codec
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, DecodeError> {
        let layout = parse(self.codec, self.table(), self.format, payload)?;
        Ok(layout.frames * self.frame_samples())
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DecodeError> {
        let table = self.table();
        let layout = parse(self.codec, table, self.format, payload)?;
        let per_frame = self.frame_samples();
        let needed = layout.frames * per_frame;
        check_output(self.codec, needed, out.len())?;
        for (entry, chunk) in layout.entries(table, payload).zip(out[..needed].chunks_exact_mut(per_frame)) {
            self.decode_frame(Some((entry, payload)), chunk);
        }
        Ok(needed)
    }

    fn has_plc(&self) -> bool {
        true
    }

    /// Runs the decoder's lost-frame path for each whole 20 ms frame in
    /// `samples` (160 samples for AMR-NB, 320 for AMR-WB).
    fn conceal(&mut self, samples: usize, out: &mut [i16]) -> Result<usize, DecodeError> {
        let per_frame = self.frame_samples();
        let n = samples.min(out.len()) / per_frame * per_frame;
        for chunk in out[..n].chunks_exact_mut(per_frame) {
            self.decode_frame(None, chunk);
        }
        Ok(n)
    }

    fn reset(&mut self) {
        // opencore has no reset call: replace the state (the old one is
        // freed on drop); keep it if a new one cannot be allocated.
        if let Ok(fresh) = new_state(self.codec) {
            self.state = fresh;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_match_the_storage_format() {
        // Octets per storage-format frame, header included (RFC 4867 §5.3,
        // opencore's packed sizes): 13 14 16 18 20 21 27 32 6 for AMR-NB,
        // 18 24 33 37 41 47 51 59 61 6 for AMR-WB.
        let nb: Vec<usize> = AMR_NB_FRAME_BITS[..9].iter().map(|b| 1 + usize::from(b.unwrap()).div_ceil(8)).collect();
        assert_eq!(nb, [13, 14, 16, 18, 20, 21, 27, 32, 6]);
        let wb: Vec<usize> = AMR_WB_FRAME_BITS[..10].iter().map(|b| 1 + usize::from(b.unwrap()).div_ceil(8)).collect();
        assert_eq!(wb, [18, 24, 33, 37, 41, 47, 51, 59, 61, 6]);
        assert!(wb.iter().chain(&nb).all(|&n| n <= FRAME_BUF));
    }

    #[test]
    fn fmtp() {
        let c = Codec::AmrNb;
        assert_eq!(AmrPayloadFormat::from_fmtp(c, "").unwrap(), AmrPayloadFormat::BandwidthEfficient);
        assert_eq!(
            AmrPayloadFormat::from_fmtp(c, "mode-set=7; octet-align=1").unwrap(),
            AmrPayloadFormat::OctetAligned
        );
        assert_eq!(AmrPayloadFormat::from_fmtp(c, "octet-align=0").unwrap(), AmrPayloadFormat::BandwidthEfficient);
        assert!(AmrPayloadFormat::from_fmtp(c, "octet-align=1;crc=1").is_err());
        assert!(AmrPayloadFormat::from_fmtp(c, "octet-align=1;interleaving=4").is_err());
    }

    #[test]
    fn no_data_only_payloads() {
        // CMR 15, one NO_DATA entry: BE = 1111 0 1111 1 + pad = 0xF7 0xC0;
        // OA = 0xF0, 0x7C.
        let mut be = AmrDecoder::nb(AmrPayloadFormat::BandwidthEfficient).unwrap();
        let mut out = [1i16; 160];
        assert_eq!(be.decode(&[0xF7, 0xC0], &mut out).unwrap(), 160);
        let mut oa = AmrDecoder::wb(AmrPayloadFormat::OctetAligned).unwrap();
        let mut out = [1i16; 320];
        assert_eq!(oa.decode(&[0xF0, 0x7C], &mut out).unwrap(), 320);
    }

    #[test]
    fn malformed_payloads_are_errors() {
        for format in [AmrPayloadFormat::BandwidthEfficient, AmrPayloadFormat::OctetAligned] {
            for codec in [Codec::AmrNb, Codec::AmrWb] {
                let mut d = AmrDecoder::new(codec, format).unwrap();
                let mut out = vec![0i16; 320 * 8];
                let oa = format == AmrPayloadFormat::OctetAligned;
                // F = 1 on every entry: the TOC never ends.
                assert!(d.decode(&[0xFF; 3], &mut out).is_err());
                // Reserved FT 12.
                let reserved = if oa { vec![0xF0, 12 << 3 | 4] } else { vec![0xF6, 0x40] };
                assert!(d.decode(&reserved, &mut out).is_err());
                // Mode 0 announced, no speech bits.
                let truncated = if oa { vec![0xF0, 0x04] } else { vec![0xF0, 0x40] };
                assert!(d.decode(&truncated, &mut out).is_err());
                // Every byte string up to 3 bytes: error or exact length.
                for len in 0..=3usize {
                    for v in 0..(1u32 << (8 * len)).min(1 << 16) {
                        let p: Vec<u8> = (0..len).map(|i| (v >> (8 * i)) as u8).collect();
                        if let Ok(n) = d.samples_in(&p) {
                            assert_eq!(d.decode(&p, &mut out).unwrap(), n);
                        }
                    }
                }
                let mut small = [0i16; 10];
                assert!(matches!(
                    d.decode(&if oa { [0xF0, 0x7C] } else { [0xF7, 0xC0] }, &mut small),
                    Err(DecodeError::OutputTooSmall { .. })
                ));
            }
        }
    }
}
