//! The appliance's configuration: one TOML file, typed, validated once.
//!
//! [`load`] reads the file (or the built-in defaults when the default path
//! does not exist), applies `--set KEY=VALUE` overrides by dotted path,
//! deserializes into [`Config`] refusing unknown keys, and then checks what
//! types alone cannot (overlapping port ranges, missing TLS files, …). Every
//! problem is reported with the source, the key path and what is wrong, so a
//! technician can fix it without reading code.
//!
//! The defaults run on one machine with nothing else: SIPREC on
//! 127.0.0.1:5060 (UDP and TCP), media over plain UDP sockets, state in
//! `$STATE_DIRECTORY` or `./var`, and SMS kept in the durable outbox when no
//! SMSC is configured. Every field is documented, with its default, in
//! `provisioning/callguard.example.toml`; a test keeps the two in step.

mod load;
mod model;
mod overrides;
mod secret;
mod validate;

pub use load::{ConfigError, DEFAULT_PATH, LoadOptions, Origin, Problem, load};
pub use model::{
    ApplianceConfig, Config, ControlConfig, DetectionConfig, KNOWN_CODECS, LogConfig, LogFormat, MediaConfig,
    MediaSource, PortRange, SdpOrder, SipConfig, SipListener, SipTransport, SmsConfig, SmscConfig, SpeechConfig,
};
pub use overrides::Override;
pub use secret::Secret;
