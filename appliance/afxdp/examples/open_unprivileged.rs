//! Test helper, run by `tests/privileges.rs` as an unprivileged user:
//! tries to open an AF_XDP source on `lo` and prints the error a technician
//! would see. Exits 0 when the open failed, 1 when it succeeded.

use callguard_afxdp::{AfXdpConfig, AfXdpSource};

fn main() {
    match AfXdpSource::open(&AfXdpConfig::new("lo"), [20000]) {
        Err(err) => println!("OPEN ERROR: {err}"),
        Ok(source) => {
            println!("OPENED WITHOUT PRIVILEGES: {}", source.mode_report());
            std::process::exit(1);
        }
    }
}
