//! Without privileges the loader says what is missing and what to do.
//!
//! NEEDS ROOT (to drop to an unprivileged user with `setpriv`, from
//! util-linux); fails without it.

mod common;

use std::process::Command;

use common::require_root;

#[test]
fn unprivileged_load_names_the_missing_capabilities() {
    require_root("unprivileged_load_names_the_missing_capabilities");
    let exe = common::example("load_unprivileged");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(&exe)
        .output()
        .expect("run setpriv (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let message = stdout
        .lines()
        .find_map(|l| l.find("LOAD ERROR: ").map(|at| l[at + "LOAD ERROR: ".len()..].to_owned()))
        .unwrap_or_else(|| panic!("the child printed no error: {stdout}"));
    assert!(message.contains("XDP needs CAP_NET_ADMIN and CAP_BPF"), "{message}");
    assert!(message.contains("lacks CAP_NET_ADMIN and CAP_BPF"), "{message}");
    assert!(message.contains("run as root or grant the capabilities"), "{message}");
    assert!(message.contains("media.source = \"socket\""), "{message}");
}
