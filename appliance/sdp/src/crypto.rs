//! SDES key exchange (`a=crypto`, RFC 4568) and the secret types that hold keys.
//!
//! Keys live only in [`SecretBytes`] and [`SrtpKeyMaterial`], which wipe
//! their memory on drop and never print their contents through `Debug`.
//! The SDP text itself necessarily carries keys in base64; wiping that text
//! is up to whoever owns it.

use std::fmt;

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use zeroize::{Zeroize, Zeroizing};

use crate::error::SdpError;
use crate::parse::{parse_digits, split_fields};

/// Some SBCs leave out base64 padding; accepting both forms costs nothing.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Key bytes of any length (the inline key of a suite this crate does not know).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of the bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// SRTP master key (16 bytes) followed by master salt (14 bytes), the 30
/// bytes an `AES_CM_128_HMAC_SHA1_*` inline key carries.
///
/// Equality is not constant-time; do not use it to authenticate anything.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeyMaterial([u8; SrtpKeyMaterial::LEN]);

impl SrtpKeyMaterial {
    /// Length of key plus salt.
    pub const LEN: usize = 30;
    /// Length of the master key.
    pub const KEY_LEN: usize = 16;

    /// Wraps 30 bytes (the caller should wipe its own copy).
    pub fn new(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// Copies exactly 30 bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; Self::LEN] = bytes.try_into().ok()?;
        Some(Self(array))
    }

    /// Key and salt, in wire order.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The 16-byte master key.
    pub fn master_key(&self) -> &[u8] {
        &self.0[..Self::KEY_LEN]
    }

    /// The 14-byte master salt.
    pub fn master_salt(&self) -> &[u8] {
        &self.0[Self::KEY_LEN..]
    }
}

impl Drop for SrtpKeyMaterial {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SrtpKeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SrtpKeyMaterial(redacted)")
    }
}

/// SRTP crypto suite of an `a=crypto` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80`
    AesCm128HmacSha1Tag80,
    /// `AES_CM_128_HMAC_SHA1_32`
    AesCm128HmacSha1Tag32,
    /// Any other suite, kept verbatim (AES_256, GCM, F8...).
    Unknown(String),
}

impl CryptoSuite {
    pub(crate) fn from_token(token: &str) -> Self {
        match token {
            "AES_CM_128_HMAC_SHA1_80" => Self::AesCm128HmacSha1Tag80,
            "AES_CM_128_HMAC_SHA1_32" => Self::AesCm128HmacSha1Tag32,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AesCm128HmacSha1Tag80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1Tag32 => "AES_CM_128_HMAC_SHA1_32",
            Self::Unknown(token) => token,
        }
    }

    /// Whether the suite's keys are [`SrtpKeyMaterial`]; only those suites
    /// can be validated and answered.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Master key lifetime in packets (`|2^31` or `|1048576`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLifetime {
    /// `2^n`
    PowerOfTwo(u8),
    /// A plain packet count.
    Packets(u64),
}

impl fmt::Display for KeyLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PowerOfTwo(exponent) => write!(f, "2^{exponent}"),
            Self::Packets(count) => write!(f, "{count}"),
        }
    }
}

/// Master Key Identifier (`|<value>:<length in bytes>`): the sender puts it
/// in every SRTP packet, so the receiver must know its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mki {
    /// MKI value.
    pub value: u64,
    /// Bytes the MKI takes in each packet (1 to 128).
    pub length: u8,
}

/// One `inline:` key-param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineKey {
    /// Concatenated master key and salt.
    pub key_salt: SecretBytes,
    /// Optional key lifetime.
    pub lifetime: Option<KeyLifetime>,
    /// Optional MKI.
    pub mki: Option<Mki>,
}

impl fmt::Display for InlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded = Zeroizing::new(STANDARD.encode(self.key_salt.as_bytes()));
        write!(f, "inline:{}", encoded.as_str())?;
        if let Some(lifetime) = self.lifetime {
            write!(f, "|{lifetime}")?;
        }
        if let Some(mki) = self.mki {
            write!(f, "|{}:{}", mki.value, mki.length)?;
        }
        Ok(())
    }
}

/// A key-param of an `a=crypto` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParam {
    /// `inline:` key, the only method RFC 4568 defines.
    Inline(InlineKey),
    /// Any other key method, kept verbatim.
    Other {
        /// Key method.
        method: String,
        /// Everything after the colon.
        info: String,
    },
}

impl fmt::Display for KeyParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(key) => write!(f, "{key}"),
            Self::Other { method, info } => write!(f, "{method}:{info}"),
        }
    }
}

/// An SRTP session parameter of an `a=crypto` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrtpSessionParam {
    /// `KDR=<n>`: key derivation rate 2^n (0 to 24).
    Kdr(u8),
    /// `UNENCRYPTED_SRTP`
    UnencryptedSrtp,
    /// `UNENCRYPTED_SRTCP`
    UnencryptedSrtcp,
    /// `UNAUTHENTICATED_SRTP`
    UnauthenticatedSrtp,
    /// `WSH=<n>`: replay window size hint.
    Wsh(u32),
    /// Anything else (`FEC_ORDER`, `FEC_KEY`, extensions), verbatim.
    Other(String),
}

impl SrtpSessionParam {
    fn parse(line: usize, token: &str) -> Result<Self, SdpError> {
        Ok(match token {
            "UNENCRYPTED_SRTP" => Self::UnencryptedSrtp,
            "UNENCRYPTED_SRTCP" => Self::UnencryptedSrtcp,
            "UNAUTHENTICATED_SRTP" => Self::UnauthenticatedSrtp,
            _ => {
                if let Some(rate) = token.strip_prefix("KDR=") {
                    Self::Kdr(
                        parse_digits(rate)
                            .filter(|rate| *rate <= 24)
                            .ok_or_else(|| SdpError::invalid(line, "a=crypto", "KDR", rate))?,
                    )
                } else if let Some(size) = token.strip_prefix("WSH=") {
                    Self::Wsh(parse_digits(size).ok_or_else(|| SdpError::invalid(line, "a=crypto", "WSH", size))?)
                } else {
                    Self::Other(token.to_owned())
                }
            }
        })
    }
}

impl fmt::Display for SrtpSessionParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kdr(rate) => write!(f, "KDR={rate}"),
            Self::UnencryptedSrtp => f.write_str("UNENCRYPTED_SRTP"),
            Self::UnencryptedSrtcp => f.write_str("UNENCRYPTED_SRTCP"),
            Self::UnauthenticatedSrtp => f.write_str("UNAUTHENTICATED_SRTP"),
            Self::Wsh(size) => write!(f, "WSH={size}"),
            Self::Other(token) => f.write_str(token),
        }
    }
}

/// `a=crypto:<tag> <suite> <key-params> [<session-params>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    /// Tag the answer must echo (1 to 9 digits).
    pub tag: u32,
    /// Crypto suite.
    pub suite: CryptoSuite,
    /// One or more keys (several only with MKIs).
    pub key_params: Vec<KeyParam>,
    /// Session parameters.
    pub session_params: Vec<SrtpSessionParam>,
}

/// Largest tag: RFC 4568 allows at most nine digits.
const MAX_TAG: u32 = 999_999_999;

impl Crypto {
    pub(crate) fn parse(line: usize, value: &str) -> Result<Self, SdpError> {
        let fields = split_fields(value);
        let [tag, suite, key_params, session_params @ ..] = fields.as_slice() else {
            return Err(SdpError::field_count(line, "a=crypto", "at least 3 fields", fields.len()));
        };
        let tag = parse_digits(tag)
            .filter(|tag| *tag <= MAX_TAG)
            .ok_or_else(|| SdpError::invalid(line, "a=crypto", "tag", tag))?;
        let suite = CryptoSuite::from_token(suite);
        let key_params =
            key_params.split(';').map(|param| parse_key_param(line, param)).collect::<Result<Vec<_>, _>>()?;
        if suite.is_known() {
            for param in &key_params {
                match param {
                    KeyParam::Inline(key) if key.key_salt.len() == SrtpKeyMaterial::LEN => {}
                    KeyParam::Inline(_) => {
                        return Err(SdpError::InvalidKey {
                            line,
                            reason: "AES_CM_128 suites need 30 bytes of key and salt",
                        });
                    }
                    KeyParam::Other { .. } => {
                        return Err(SdpError::InvalidKey { line, reason: "SRTP defines only the inline key method" });
                    }
                }
            }
        }
        let session_params =
            session_params.iter().map(|token| SrtpSessionParam::parse(line, token)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { tag, suite, key_params, session_params })
    }
}

fn parse_key_param(line: usize, text: &str) -> Result<KeyParam, SdpError> {
    let Some((method, info)) = text.split_once(':') else {
        return Err(SdpError::InvalidKey { line, reason: "key-param is not `<method>:<info>`" });
    };
    if method != "inline" {
        if method.is_empty() {
            return Err(SdpError::invalid(line, "a=crypto", "key method", method));
        }
        return Ok(KeyParam::Other { method: method.to_owned(), info: info.to_owned() });
    }
    let mut parts = info.split('|');
    let encoded = parts.next().unwrap_or_default();
    let key_salt = LENIENT_BASE64
        .decode(encoded)
        .map_err(|_| SdpError::InvalidKey { line, reason: "inline key is not base64" })?;
    let key_salt = SecretBytes::new(key_salt);
    if key_salt.is_empty() {
        return Err(SdpError::InvalidKey { line, reason: "inline key is empty" });
    }
    let mut lifetime = None;
    let mut mki = None;
    for part in parts {
        if mki.is_some() {
            return Err(SdpError::invalid(line, "a=crypto", "key-info after MKI", part));
        }
        if let Some((value, length)) = part.split_once(':') {
            let value = parse_digits(value).ok_or_else(|| SdpError::invalid(line, "a=crypto", "MKI value", value))?;
            let length = parse_digits(length)
                .filter(|length| (1..=128).contains(length))
                .ok_or_else(|| SdpError::invalid(line, "a=crypto", "MKI length", length))?;
            mki = Some(Mki { value, length });
        } else if lifetime.is_none() {
            lifetime = Some(parse_lifetime(line, part)?);
        } else {
            return Err(SdpError::invalid(line, "a=crypto", "second lifetime", part));
        }
    }
    Ok(KeyParam::Inline(InlineKey { key_salt, lifetime, mki }))
}

fn parse_lifetime(line: usize, text: &str) -> Result<KeyLifetime, SdpError> {
    let invalid = || SdpError::invalid(line, "a=crypto", "key lifetime", text);
    match text.strip_prefix("2^") {
        Some(exponent) => {
            parse_digits(exponent).filter(|exponent| *exponent <= 64).map(KeyLifetime::PowerOfTwo).ok_or_else(invalid)
        }
        None => parse_digits(text).map(KeyLifetime::Packets).ok_or_else(invalid),
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.tag, self.suite)?;
        for (position, param) in self.key_params.iter().enumerate() {
            if position > 0 {
                f.write_str(";")?;
            }
            write!(f, "{param}")?;
        }
        for param in &self.session_params {
            write!(f, " {param}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ";

    #[test]
    fn parses_full_line() {
        let value = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:4 KDR=1 UNENCRYPTED_SRTCP");
        let crypto = Crypto::parse(3, &value).unwrap();
        assert_eq!(crypto.tag, 1);
        assert_eq!(crypto.suite, CryptoSuite::AesCm128HmacSha1Tag80);
        let KeyParam::Inline(key) = &crypto.key_params[0] else { panic!("not inline") };
        assert_eq!(key.key_salt.len(), 30);
        assert_eq!(key.lifetime, Some(KeyLifetime::PowerOfTwo(20)));
        assert_eq!(key.mki, Some(Mki { value: 1, length: 4 }));
        assert_eq!(crypto.session_params, vec![SrtpSessionParam::Kdr(1), SrtpSessionParam::UnencryptedSrtcp]);
        assert_eq!(crypto.to_string(), value);
    }

    #[test]
    fn mki_without_lifetime_and_plain_lifetime() {
        let crypto = Crypto::parse(1, &format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|7:1")).unwrap();
        let KeyParam::Inline(key) = &crypto.key_params[0] else { panic!("not inline") };
        assert_eq!((key.lifetime, key.mki), (None, Some(Mki { value: 7, length: 1 })));
        let crypto = Crypto::parse(1, &format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|1048576")).unwrap();
        let KeyParam::Inline(key) = &crypto.key_params[0] else { panic!("not inline") };
        assert_eq!(key.lifetime, Some(KeyLifetime::Packets(1_048_576)));
    }

    #[test]
    fn unknown_suite_keeps_any_key_length() {
        let value = "1 AES_256_CM_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ==";
        let crypto = Crypto::parse(1, value).unwrap();
        assert_eq!(crypto.suite, CryptoSuite::Unknown("AES_256_CM_HMAC_SHA1_80".into()));
        assert_eq!(crypto.to_string(), value);
    }

    #[test]
    fn wrong_key_length_is_refused_without_quoting_it() {
        let error = Crypto::parse(9, "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("line 9: a=crypto has an invalid key"), "{text}");
        assert!(!text.contains("AAAA"));
    }

    #[test]
    fn malformed_lines() {
        for value in [
            "",
            "1 AES_CM_128_HMAC_SHA1_80",
            "x AES_CM_128_HMAC_SHA1_80 inline:AAAA",
            "1000000000 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!",
            "1 AES_CM_128_HMAC_SHA1_80 nocolon",
            "1 FOO inline:",
            "1 FOO inline:AAAA|1:0",
            "1 FOO inline:AAAA|1:2|2^20",
            "1 FOO inline:AAAA|2^20|2^20",
            "1 FOO inline:AAAA|2^65",
            "1 FOO inline:AAAA KDR=25",
            "1 FOO inline:AAAA WSH=x",
            "1 FOO :x",
        ] {
            assert!(Crypto::parse(1, value).is_err(), "{value}");
        }
    }

    #[test]
    fn debug_never_prints_keys() {
        let material = SrtpKeyMaterial::new([0xAB; 30]);
        assert_eq!(format!("{material:?}"), "SrtpKeyMaterial(redacted)");
        let crypto = Crypto::parse(1, &format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")).unwrap();
        let debug = format!("{crypto:?}");
        assert!(!debug.contains("WnD7"), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn key_material_splits_key_and_salt() {
        let mut bytes = [0u8; 30];
        bytes[15] = 1;
        bytes[16] = 2;
        let material = SrtpKeyMaterial::new(bytes);
        assert_eq!(material.master_key().len(), 16);
        assert_eq!(material.master_key()[15], 1);
        assert_eq!(material.master_salt().len(), 14);
        assert_eq!(material.master_salt()[0], 2);
        assert!(SrtpKeyMaterial::from_slice(&[0; 29]).is_none());
        assert!(SrtpKeyMaterial::from_slice(&bytes).is_some());
    }
}
