//! SIP request methods.

use std::fmt;

use crate::error::ParseError;
use crate::lex::is_token;

macro_rules! methods {
    ($($variant:ident => $konst:ident, $name:literal;)*) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        enum Repr { $($variant,)* Other(Box<str>) }

        impl Method {
            $(
                #[doc = concat!("The `", $name, "` method.")]
                pub const $konst: Method = Method(Repr::$variant);
            )*

            /// Build a method from its name. Methods are case-sensitive
            /// tokens (RFC 3261 section 7.1); `invite` is not `INVITE`.
            pub fn new(name: &str) -> Result<Method, ParseError> {
                Ok(Method(match name {
                    $($name => Repr::$variant,)*
                    _ if is_token(name) => Repr::Other(name.into()),
                    _ => return Err(ParseError::InvalidMethod(name.to_owned())),
                }))
            }

            /// The method name.
            pub fn as_str(&self) -> &str {
                match &self.0 {
                    $(Repr::$variant => $name,)*
                    Repr::Other(s) => s,
                }
            }
        }
    };
}

/// A request method: one of the well-known ones or any other token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Method(Repr);

methods! {
    Invite => INVITE, "INVITE";
    Ack => ACK, "ACK";
    Bye => BYE, "BYE";
    Cancel => CANCEL, "CANCEL";
    Options => OPTIONS, "OPTIONS";
    Register => REGISTER, "REGISTER";
    Prack => PRACK, "PRACK";
    Subscribe => SUBSCRIBE, "SUBSCRIBE";
    Notify => NOTIFY, "NOTIFY";
    Publish => PUBLISH, "PUBLISH";
    Info => INFO, "INFO";
    Refer => REFER, "REFER";
    Message => MESSAGE, "MESSAGE";
    Update => UPDATE, "UPDATE";
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_extension_methods() {
        assert_eq!(Method::new("INVITE").unwrap(), Method::INVITE);
        assert_ne!(Method::new("invite").unwrap(), Method::INVITE);
        let odd = "!interesting-Method0123456789_*+`.%indeed'~";
        assert_eq!(Method::new(odd).unwrap().as_str(), odd);
        assert!(Method::new("IN VITE").is_err());
        assert!(Method::new("").is_err());
        assert_eq!(Method::BYE.to_string(), "BYE");
    }
}
