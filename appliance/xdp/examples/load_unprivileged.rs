//! Test helper, run by `tests/privileges.rs` as an unprivileged user: tries
//! to load the program and prints the error a technician would see. Exits 0
//! when the load failed for missing capabilities, 1 otherwise.

use callguard_xdp::{XdpError, XdpProgram};

fn main() {
    match XdpProgram::load() {
        Err(err @ XdpError::MissingCapabilities { .. }) => println!("LOAD ERROR: {err}"),
        Err(other) => {
            println!("UNEXPECTED ERROR: {other:?}");
            std::process::exit(1);
        }
        Ok(_) => {
            println!("LOADED WITHOUT PRIVILEGES");
            std::process::exit(1);
        }
    }
}
