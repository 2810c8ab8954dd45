//! Without privileges the source says what is missing and what to use
//! instead.
//!
//! NEEDS ROOT (to drop to an unprivileged user with `setpriv`, from
//! util-linux); fails without it.

mod common;

use std::process::Command;

use common::require_root;

#[test]
fn unprivileged_open_names_the_capabilities_and_the_fallbacks() {
    require_root("unprivileged_open_names_the_capabilities_and_the_fallbacks");
    let exe = common::example("open_unprivileged");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(&exe)
        .output()
        .expect("run setpriv (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let message = stdout
        .lines()
        .find_map(|l| l.strip_prefix("OPEN ERROR: ").map(str::to_owned))
        .unwrap_or_else(|| panic!("the child printed no error: {stdout}"));
    assert!(
        message.starts_with("cannot steer media into AF_XDP on lo: XDP needs CAP_NET_ADMIN and CAP_BPF"),
        "{message}"
    );
    assert!(message.contains("lacks CAP_NET_ADMIN and CAP_BPF"), "{message}");
    assert!(
        message.ends_with("AF_XDP is not available here: use media.source = \"socket\" or \"af_packet\" instead"),
        "{message}"
    );
}
