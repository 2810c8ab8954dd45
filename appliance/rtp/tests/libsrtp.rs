//! Cross-check with libsrtp: `tests/data/libsrtp_vectors.txt` holds packets
//! protected by libsrtp (see `tests/data/gen_srtp.py`). The receiver must
//! unprotect them to the original packets, and the sender must produce the
//! same bytes libsrtp did.

use callguard_rtp::{
    RtcpCompound, RtcpPacket, RtpPacket, SrtpConfig, SrtpMasterKey, SrtpProfile, SrtpReceiver, SrtpSender,
};

const VECTORS: &str = include_str!("data/libsrtp_vectors.txt");

struct Vector {
    rtcp: bool,
    profile: SrtpProfile,
    key: Vec<u8>,
    plain: Vec<u8>,
    protected: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 5, "malformed line: {line}");
            Vector {
                rtcp: match f[0] {
                    "rtp" => false,
                    "rtcp" => true,
                    other => panic!("unknown kind {other}"),
                },
                profile: match f[1] {
                    "80" => SrtpProfile::AesCm128HmacSha1Tag80,
                    "32" => SrtpProfile::AesCm128HmacSha1Tag32,
                    other => panic!("unknown profile {other}"),
                },
                key: hex(f[2]),
                plain: hex(f[3]),
                protected: hex(f[4]),
            }
        })
        .collect()
}

#[test]
fn libsrtp_packets_unprotect_to_the_originals() {
    let all = vectors();
    assert_eq!(all.len(), 14, "vector file changed?");
    for profile in [SrtpProfile::AesCm128HmacSha1Tag80, SrtpProfile::AesCm128HmacSha1Tag32] {
        let these: Vec<_> = all.iter().filter(|v| v.profile == profile).collect();
        let key = SrtpMasterKey::from_slice(&these[0].key).unwrap();
        let mut rx = SrtpReceiver::new(&key, SrtpConfig::new(profile)).unwrap();
        let mut rtp_count = 0;
        for v in these {
            let mut buf = v.protected.clone();
            if v.rtcp {
                let len = rx.unprotect_rtcp(&mut buf).unwrap_or_else(|e| panic!("{profile} SRTCP: {e}"));
                assert_eq!(buf[..len], v.plain[..], "{profile} SRTCP plaintext");
                let packets: Vec<_> = RtcpCompound::new(&buf[..len]).collect::<Result<_, _>>().unwrap();
                assert!(matches!(packets[0], RtcpPacket::SenderReport(sr) if sr.packet_count() == 5));
                assert_eq!(packets[1], RtcpPacket::SourceDescription { chunks: 1 });
            } else {
                assert_eq!(v.protected.len(), v.plain.len() + profile.rtp_tag_len());
                let len =
                    rx.unprotect_rtp(&mut buf).unwrap_or_else(|e| panic!("{profile} SRTP packet {rtp_count}: {e}"));
                assert_eq!(buf[..len], v.plain[..], "{profile} SRTP plaintext {rtp_count}");
                RtpPacket::parse(&buf[..len]).unwrap();
                rtp_count += 1;
            }
        }
        assert_eq!(rtp_count, 5);
        // The last packets were sent after 65535 -> 0.
        let first = all.iter().find(|v| v.profile == profile && !v.rtcp).unwrap();
        let ssrc = RtpPacket::parse(&first.plain).unwrap().ssrc();
        assert_eq!(rx.rollover_counter(ssrc), Some(1), "{profile}");
    }
}

#[test]
fn sender_reproduces_libsrtp_bytes() {
    let all = vectors();
    for profile in [SrtpProfile::AesCm128HmacSha1Tag80, SrtpProfile::AesCm128HmacSha1Tag32] {
        let these: Vec<_> = all.iter().filter(|v| v.profile == profile).collect();
        let key = SrtpMasterKey::from_slice(&these[0].key).unwrap();
        let mut tx = SrtpSender::new(&key, profile);
        for v in these {
            let mut buf = v.plain.clone();
            if v.rtcp {
                // libsrtp numbers SRTCP packets from 1: take the index it used.
                let at = v.protected.len() - profile.rtcp_tag_len() - 4;
                let word = u32::from_be_bytes(v.protected[at..at + 4].try_into().unwrap());
                assert!(word & 0x8000_0000 != 0, "libsrtp sets the E flag");
                let ssrc = u32::from_be_bytes(v.plain[4..8].try_into().unwrap());
                tx.set_rtcp_index(ssrc, word & 0x7FFF_FFFF);
                tx.protect_rtcp(&mut buf).unwrap();
            } else {
                tx.protect_rtp(&mut buf).unwrap();
            }
            assert_eq!(buf, v.protected, "{profile} rtcp={}", v.rtcp);
        }
    }
}
