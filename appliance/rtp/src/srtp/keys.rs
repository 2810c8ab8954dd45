//! Master keys, the AES-CM key derivation of RFC 3711 section 4.3 (key
//! derivation rate 0), and the session keys it yields.

use std::fmt;

use aes::Aes128;
use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use ctr::CtrCore;
use ctr::flavors::Ctr128BE;
use hmac::Hmac;
use sha1::Sha1;
use zeroize::Zeroizing;

use super::SrtpError;

pub(crate) type HmacSha1 = Hmac<Sha1>;
type Aes128Ctr = StreamCipherCoreWrapper<CtrCore<Aes128, Ctr128BE>>;

/// An SDES master key and master salt (RFC 4568 `inline:` key of the
/// `AES_CM_128_HMAC_SHA1_*` suites): 16 bytes of key, then 14 of salt.
///
/// The bytes are wiped when the value is dropped, and `Debug` never shows
/// them. Equality is not offered: nothing should compare keys.
#[derive(Clone)]
pub struct SrtpMasterKey(Zeroizing<[u8; SrtpMasterKey::LEN]>);

impl SrtpMasterKey {
    /// Length of key plus salt.
    pub const LEN: usize = 30;
    /// Length of the master key.
    pub const KEY_LEN: usize = 16;
    /// Length of the master salt.
    pub const SALT_LEN: usize = 14;

    /// Takes key and salt in wire order (the caller should wipe its copy).
    pub fn new(key_and_salt: [u8; Self::LEN]) -> Self {
        Self(Zeroizing::new(key_and_salt))
    }

    /// Copies key and salt in wire order; the slice must be 30 bytes.
    pub fn from_slice(key_and_salt: &[u8]) -> Result<Self, SrtpError> {
        let mut bytes = Zeroizing::new([0; Self::LEN]);
        if key_and_salt.len() != Self::LEN {
            return Err(SrtpError::KeyLength { len: key_and_salt.len() });
        }
        bytes.copy_from_slice(key_and_salt);
        Ok(Self(bytes))
    }

    /// Builds it from a separate key and salt.
    pub fn from_parts(key: &[u8; Self::KEY_LEN], salt: &[u8; Self::SALT_LEN]) -> Self {
        let mut bytes = Zeroizing::new([0; Self::LEN]);
        bytes[..Self::KEY_LEN].copy_from_slice(key);
        bytes[Self::KEY_LEN..].copy_from_slice(salt);
        Self(bytes)
    }

    /// The 16-byte master key.
    pub fn key(&self) -> &[u8; Self::KEY_LEN] {
        self.0[..Self::KEY_LEN].try_into().expect("16 bytes")
    }

    /// The 14-byte master salt.
    pub fn salt(&self) -> &[u8; Self::SALT_LEN] {
        self.0[Self::KEY_LEN..].try_into().expect("14 bytes")
    }
}

impl fmt::Debug for SrtpMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SrtpMasterKey(redacted)")
    }
}

/// Key derivation labels (RFC 3711 sections 4.3.1 and 4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0,
    RtpAuthentication = 1,
    RtpSalt = 2,
    RtcpEncryption = 3,
    RtcpAuthentication = 4,
    RtcpSalt = 5,
}

/// AES in counter mode from a 16-byte IV: the keystream generator of
/// AES-CM (RFC 3711 section 4.1.1). The counter is the whole 128-bit block;
/// SRTP's IVs end in 16 zero bits and no packet nears 2^16 blocks, so it is
/// the same as incrementing only the low 16 bits.
pub(crate) fn aes_cm(cipher: &Aes128, iv: &[u8; 16]) -> Aes128Ctr {
    Aes128Ctr::from_core(CtrCore::inner_iv_init(cipher.clone(), &(*iv).into()))
}

/// The PRF output for `label` (RFC 3711 section 4.3.1 with kdr 0): the
/// AES-CM keystream under the master key from IV = (salt XOR label << 48) * 2^16.
pub(crate) fn derive(master: &SrtpMasterKey, label: Label, out: &mut [u8]) {
    let mut iv = Zeroizing::new([0u8; 16]);
    iv[..SrtpMasterKey::SALT_LEN].copy_from_slice(master.salt());
    // key_id = label || (index DIV kdr): 7 bytes, right-aligned in the salt.
    iv[7] ^= label as u8;
    let cipher = Aes128::new(&(*master.key()).into());
    out.fill(0);
    aes_cm(&cipher, &iv).apply_keystream(out);
}

/// The three session keys of one direction and protocol (SRTP or SRTCP).
#[derive(Clone)]
pub(crate) struct SessionKeys {
    /// AES-128 keyed with the session encryption key (its key schedule is
    /// wiped on drop through the `zeroize` feature of `aes`).
    pub(crate) cipher: Aes128,
    /// HMAC-SHA1 keyed with the session authentication key, ready to clone
    /// per packet.
    pub(crate) auth: HmacSha1,
    /// The 14-byte session salt.
    pub(crate) salt: Zeroizing<[u8; 14]>,
}

impl SessionKeys {
    pub(crate) fn derive(master: &SrtpMasterKey, rtcp: bool) -> Self {
        let (enc, auth, salt) = if rtcp {
            (Label::RtcpEncryption, Label::RtcpAuthentication, Label::RtcpSalt)
        } else {
            (Label::RtpEncryption, Label::RtpAuthentication, Label::RtpSalt)
        };
        let mut k_e = Zeroizing::new([0u8; 16]);
        let mut k_a = Zeroizing::new([0u8; 20]);
        let mut k_s = Zeroizing::new([0u8; 14]);
        derive(master, enc, &mut *k_e);
        derive(master, auth, &mut *k_a);
        derive(master, salt, &mut *k_s);
        Self {
            cipher: Aes128::new(&(*k_e).into()),
            auth: <HmacSha1 as KeyInit>::new_from_slice(&*k_a).expect("HMAC takes any key length"),
            salt: k_s,
        }
    }

    /// IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16) (RFC 3711
    /// section 4.1.1), for an SRTP index (48 bits) or SRTCP index (31 bits).
    pub(crate) fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&*self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, i) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= i;
        }
        iv
    }

    /// Encrypts or decrypts `data` in place for (`ssrc`, `index`).
    pub(crate) fn crypt(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        if data.is_empty() {
            return;
        }
        let iv = Zeroizing::new(self.iv(ssrc, index));
        aes_cm(&self.cipher, &iv).apply_keystream(data);
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(redacted)")
    }
}

#[cfg(test)]
mod tests {
    //! RFC 3711 Appendix B.2 and B.3.

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    fn rfc_master() -> SrtpMasterKey {
        SrtpMasterKey::from_slice(&hex("E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6")).unwrap()
    }

    /// RFC 3711 B.3: cipher key, cipher salt, and the 94-byte auth key
    /// listing (SRTP uses its first 20 bytes with HMAC-SHA1).
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master = rfc_master();
        let mut key = [0u8; 16];
        derive(&master, Label::RtpEncryption, &mut key);
        assert_eq!(key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt = [0u8; 14];
        derive(&master, Label::RtpSalt, &mut salt);
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth = [0u8; 94];
        derive(&master, Label::RtpAuthentication, &mut auth);
        assert_eq!(
            auth.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
                 E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
                 6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2")
        );
        // The session keys the contexts use are those.
        let keys = SessionKeys::derive(&master, false);
        assert_eq!(keys.salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    }

    /// RFC 3711 B.2: the AES-CM keystream for session key
    /// 2B7E151628AED2A6ABF7158809CF4F3C, salt F0F1...FCFD, SSRC 0, index 0:
    /// the first three blocks and the last three of the 1 044 512-byte
    /// segment (counters FEFF, FF00, FF01).
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let keys = SessionKeys {
            cipher: Aes128::new(&hex("2B7E151628AED2A6ABF7158809CF4F3C")[..].try_into().unwrap()),
            auth: <HmacSha1 as KeyInit>::new_from_slice(&[0; 20]).unwrap(),
            salt: Zeroizing::new(hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap()),
        };
        assert_eq!(keys.iv(0, 0).to_vec(), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
        let mut stream = vec![0u8; 1_044_512];
        keys.crypt(0, 0, &mut stream);
        assert_eq!(
            stream[..48].to_vec(),
            hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB
                 41E95B3BB0A2E8DD477901E4FCA894C0")
        );
        assert_eq!(
            stream[stream.len() - 48..].to_vec(),
            hex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE
                 6A2CC3787889374FBEB4C81B17BA6C44")
        );
    }

    /// IV layout of RFC 3711 4.1.1: SSRC into bytes 4-7, index into 8-13.
    #[test]
    fn iv_places_ssrc_and_index() {
        let keys = SessionKeys::derive(&rfc_master(), false);
        let zero = keys.iv(0, 0);
        let iv = keys.iv(0x1122_3344, 0x5566_7788_99AA);
        let xor: Vec<u8> = iv.iter().zip(zero).map(|(a, b)| a ^ b).collect();
        assert_eq!(xor, hex("00000000 11223344 5566778899AA 0000"));
    }

    #[test]
    fn master_key_debug_is_redacted_and_length_checked() {
        let k = rfc_master();
        assert_eq!(format!("{k:?}"), "SrtpMasterKey(redacted)");
        assert_eq!(k.key().to_vec(), hex("E1F97A0D3E018BE0D64FA32C06DE4139"));
        assert_eq!(k.salt().to_vec(), hex("0EC675AD498AFEEBB6960B3AABE6"));
        let again = SrtpMasterKey::from_parts(k.key(), k.salt());
        assert_eq!(again.key(), k.key());
        assert!(matches!(SrtpMasterKey::from_slice(&[0; 29]), Err(SrtpError::KeyLength { len: 29 })));
        assert_eq!(format!("{:?}", SessionKeys::derive(&k, true)), "SessionKeys(redacted)");
    }
}
