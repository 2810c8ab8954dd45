//! Phone numbers as the appliance stores and compares them: E.164.
//!
//! Subscribers are imported from operator CSV files, callers arrive as SIP
//! and `tel:` URIs in national or international form; everything is reduced
//! to one canonical E.164 string (`+` and digits) so that a register lookup
//! is an exact match. Parsing and validity checks use the `phonenumber`
//! crate (libphonenumber's numbering plans), so an unallocated or
//! impossible number is refused rather than stored.
//!
//! Limits: validity is as good as the plan metadata compiled into
//! `phonenumber`; numbers opened by a regulator after its release are
//! rejected until the crate is updated.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not an acceptable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// The text could not be read as a phone number at all.
    #[error("`{input}` is not a phone number: {reason}")]
    Unparsable {
        /// The text as given.
        input: String,
        /// What the parser objected to.
        reason: String,
    },
    /// The number parses but is not allocated in its country's numbering plan.
    #[error("`{input}` is not a valid number in its numbering plan")]
    Invalid {
        /// The text as given.
        input: String,
    },
    /// A national number was given without a home country to interpret it.
    #[error("`{input}` is in national format; write it as +<country code><number>")]
    NeedsCountry {
        /// The text as given.
        input: String,
    },
    /// A country code that is not an ISO 3166-1 alpha-2 region with a numbering plan.
    #[error("`{code}` is not a known ISO 3166-1 alpha-2 country code")]
    UnknownCountry {
        /// The code as given.
        code: String,
    },
}

/// A country whose numbering plan interprets national-format numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HomeCountry(country::Id);

impl FromStr for HomeCountry {
    type Err = NumberError;

    fn from_str(code: &str) -> Result<Self, NumberError> {
        code.to_ascii_uppercase()
            .parse::<country::Id>()
            .map(HomeCountry)
            .map_err(|_| NumberError::UnknownCountry { code: code.to_owned() })
    }
}

impl fmt::Display for HomeCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// A valid phone number in E.164 form, e.g. `+12015550123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// Parses `input` (international, or national when `home` is given) and
    /// checks it against the numbering plan.
    ///
    /// Visual separators (spaces, dashes, dots, parentheses) are accepted;
    /// `00` and other international prefixes are understood for `home`.
    pub fn parse(input: &str, home: Option<HomeCountry>) -> Result<Self, NumberError> {
        let trimmed = input.trim();
        if home.is_none() && !trimmed.starts_with('+') {
            return Err(NumberError::NeedsCountry { input: input.to_owned() });
        }
        let number = phonenumber::parse(home.map(|h| h.0), trimmed)
            .map_err(|e| NumberError::Unparsable { input: input.to_owned(), reason: e.to_string() })?;
        if !phonenumber::is_valid(&number) {
            return Err(NumberError::Invalid { input: input.to_owned() });
        }
        Ok(E164(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// The canonical text, `+` followed by digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Loads the numbering-plan metadata now rather than on the first call:
/// the first parse otherwise takes about a second (much longer than a SIP
/// retransmission interval).
pub fn warm_up() {
    let _ = E164::parse("+12015550123", None);
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for E164 {
    type Err = NumberError;

    /// Parses an international number (`+…`); national numbers need [`E164::parse`].
    fn from_str(s: &str) -> Result<Self, NumberError> {
        E164::parse(s, None)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for HomeCountry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_ref())
    }
}

impl<'de> Deserialize<'de> for HomeCountry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Option<HomeCountry> {
        Some("US".parse().unwrap())
    }

    #[test]
    fn international_forms_normalize_to_e164() {
        for input in ["+1 201-555-0123", "+1 (201) 555.0123", "+12015550123", " +12015550123 "] {
            assert_eq!(E164::parse(input, None).unwrap().as_str(), "+12015550123", "{input}");
        }
    }

    #[test]
    fn national_forms_need_and_use_the_home_country() {
        assert_eq!(E164::parse("(201) 555-0123", us()).unwrap().as_str(), "+12015550123");
        assert_eq!(E164::parse("011 44 20 7946 0018", us()).unwrap().as_str(), "+442079460018");
        let uk = Some("gb".parse().unwrap());
        assert_eq!(E164::parse("020 7946 0018", uk).unwrap().as_str(), "+442079460018");
        assert!(matches!(E164::parse("2015550123", None), Err(NumberError::NeedsCountry { .. })));
    }

    #[test]
    fn impossible_and_garbage_numbers_are_refused() {
        assert!(matches!(E164::parse("+1 000 555 0123", None), Err(NumberError::Invalid { .. })));
        assert!(matches!(
            E164::parse("+999123", None),
            Err(NumberError::Unparsable { .. } | NumberError::Invalid { .. })
        ));
        assert!(E164::parse("+", None).is_err());
        assert!(E164::parse("hello", us()).is_err());
        assert!(E164::parse("", us()).is_err());
    }

    #[test]
    fn unknown_country_codes_are_refused() {
        assert!(matches!("XX".parse::<HomeCountry>(), Err(NumberError::UnknownCountry { .. })));
        assert_eq!("us".parse::<HomeCountry>().unwrap().to_string(), "US");
    }
}
