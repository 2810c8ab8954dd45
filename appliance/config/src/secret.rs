//! A configuration value that must never be shown.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A password or key: readable by the code that uses it, masked everywhere
/// else (`Debug`, `Display` and serialization, hence `config show`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// What `config show` prints instead of the value.
    pub const MASK: &'static str = "********";

    /// The value itself, for the code that authenticates with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Self::MASK)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}
