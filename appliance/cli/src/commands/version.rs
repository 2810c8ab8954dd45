//! `callguard version`.

use serde::Serialize;

use crate::failure::Failure;
use crate::output::print_json;

#[derive(Serialize)]
struct Version {
    name: &'static str,
    version: &'static str,
    commit: &'static str,
    target: String,
    profile: &'static str,
}

/// Prints what this binary is.
pub fn version(json: bool) -> Result<(), Failure> {
    let v = Version {
        name: "callguard",
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("CALLGUARD_COMMIT"),
        target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        profile: if cfg!(debug_assertions) { "debug" } else { "release" },
    };
    if json {
        print_json(&v)?;
    } else {
        println!("{} {} (commit {}, {}, {})", v.name, v.version, v.commit, v.target, v.profile);
    }
    Ok(())
}
