//! Shared by the integration tests: fixtures, m-line lists, the register.

use callguard_siprec_metadata::{MediaDirection, SdpStream, aor_user};

/// Raw bytes of `tests/data/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `a=sendonly` m-lines with these labels, in order.
pub fn sdp(labels: &[Option<&str>]) -> Vec<SdpStream> {
    labels.iter().enumerate().map(|(i, l)| SdpStream::new(i, *l, MediaDirection::SendOnly)).collect()
}

/// The appliance's subscriber register, keyed by number.
pub fn is_subscriber(aor: &str) -> bool {
    const REGISTER: [&str; 10] = [
        "+15551230001",
        "+15551230002",
        "+15551230003",
        "+15551230004",
        "+15551230005",
        "+15551230006",
        "+15551230007",
        "+15551230008",
        "4058327108",
        "2025550143",
    ];
    aor_user(aor).is_some_and(|user| REGISTER.contains(&user))
}
