//! Test helper, run by `tests/veth.rs` (`crash_leaves_no_program`) inside a
//! network namespace: attaches the program to the interface named by the
//! first argument, prints `ATTACHED <program id>`, and waits to be killed.

use std::io::Write;
use std::time::Duration;

use callguard_xdp::{XdpMode, XdpProgram};

fn main() {
    let interface = std::env::args().nth(1).expect("usage: attach_until_killed INTERFACE");
    let mut program = XdpProgram::load().expect("load the XDP program");
    program.attach(&interface, XdpMode::Native).expect("attach");
    let mut out = std::io::stdout();
    writeln!(out, "ATTACHED {}", program.program_id().expect("program id")).expect("write");
    out.flush().expect("flush");
    std::thread::sleep(Duration::from_secs(30));
    eprintln!("attach_until_killed: the parent should have killed this process");
    std::process::exit(1);
}
