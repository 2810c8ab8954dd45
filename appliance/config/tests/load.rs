//! Loading real files: the shipped example, overrides, and the errors a
//! technician meets.

use std::path::{Path, PathBuf};

use callguard_config::{Config, ConfigError, LoadOptions, Origin, Override, load};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../provisioning/callguard.example.toml")
}

fn load_text(text: &str, overrides: &[&str]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callguard.toml");
    std::fs::write(&path, text).unwrap();
    let options = LoadOptions {
        path: Some(path),
        overrides: overrides.iter().map(|o| o.parse::<Override>().unwrap()).collect(),
        state_directory: None,
    };
    load(&options).map(|(config, _)| config)
}

fn problems(err: ConfigError) -> Vec<(String, String)> {
    match err {
        ConfigError::Invalid { problems, .. } => problems.into_iter().map(|p| (p.key, p.message)).collect(),
        other => panic!("expected an invalid-config error, got: {other}"),
    }
}

#[test]
fn the_shipped_example_is_the_defaults() {
    let options = LoadOptions { path: Some(example()), ..Default::default() };
    let (config, origin) = load(&options).expect("example loads");
    assert_eq!(origin, Origin::File(example()));
    let mut defaults = Config::default();
    defaults.appliance.state_dir = Some("var".into());
    assert_eq!(config, defaults);
}

#[test]
fn the_example_documents_every_key() {
    let text = std::fs::read_to_string(example()).unwrap();
    let shown = toml::to_string(&Config::default()).unwrap();
    let optional = [
        "state_dir",
        "socket",
        "certificate",
        "private_key",
        "client_ca",
        "client_names",
        "system_id",
        "password",
        "tls",
    ];
    let keys = shown.lines().filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim())).chain(optional);
    for key in keys {
        let documented = text.contains(&format!("{key} = ")) || text.contains(&format!(".{key}]]"));
        assert!(documented, "provisioning/callguard.example.toml does not document `{key}`");
    }
}

#[test]
fn an_absent_default_file_means_built_in_defaults_but_a_named_one_must_exist() {
    let err = load_text("", &[]).map(|_| ());
    assert!(err.is_ok());
    let missing = LoadOptions { path: Some("/nonexistent/callguard.toml".into()), ..Default::default() };
    let err = load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/callguard.toml"));
}

#[test]
fn state_dir_comes_from_systemd_when_unset() {
    let options =
        LoadOptions { path: Some(example()), state_directory: Some("/var/lib/callguard".into()), ..Default::default() };
    let (config, _) = load(&options).unwrap();
    assert_eq!(config.appliance.state_dir.as_deref(), Some(Path::new("/var/lib/callguard")));
}

#[test]
fn unknown_keys_are_named() {
    let found = problems(load_text("[sip]\nlisteners = []\nallowed_source = []\n", &[]).unwrap_err());
    assert_eq!(found.len(), 1);
    assert!(found[0].1.contains("unknown field `allowed_source`"), "{found:?}");
    assert_eq!(found[0].0, "sip.allowed_source", "{found:?}");
}

#[test]
fn a_bad_port_is_named_with_its_key() {
    let text = "[[sip.listeners]]\ntransport = \"udp\"\naddress = \"127.0.0.1:70000\"\n";
    let found = problems(load_text(text, &[]).unwrap_err());
    assert_eq!(found[0].0, "sip.listeners[0].address", "{found:?}");
}

#[test]
fn wrong_types_are_named_with_their_key() {
    let found = problems(load_text("[appliance]\nshutdown_grace_seconds = \"soon\"\n", &[]).unwrap_err());
    assert_eq!(found[0].0, "appliance.shutdown_grace_seconds", "{found:?}");
}

#[test]
fn syntax_errors_give_the_line() {
    let err = load_text("[sip\nlisteners = []\n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn all_semantic_problems_are_reported_at_once() {
    let text = r#"
[media]
rtp_ports = ["20000-20999", "20500-21000", "80-90", "30000-30000"]
[sms]
sender = "A sender that is far too long"
[[sip.listeners]]
transport = "tls"
address = "127.0.0.1:5061"
certificate = "/nonexistent/cert.pem"
[[sip.listeners]]
transport = "udp"
address = "127.0.0.1:5060"
private_key = "/nonexistent/key.pem"
"#;
    let found = problems(load_text(text, &[]).unwrap_err());
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "media.rtp_ports[1]",
        "media.rtp_ports[2]",
        "media.rtp_ports[3]",
        "sms.sender",
        "sip.listeners[0].certificate",
        "sip.listeners[0].private_key",
        "sip.listeners[1].private_key",
    ] {
        assert!(keys.contains(&expected), "missing {expected} in {found:#?}");
    }
    let overlap = found.iter().find(|(k, _)| k == "media.rtp_ports[1]").unwrap();
    assert!(overlap.1.contains("overlaps media.rtp_ports[0]"), "{overlap:?}");
}

#[test]
fn duplicate_listeners_are_refused_but_udp_and_tcp_may_share() {
    let shared = "[[sip.listeners]]\ntransport = \"udp\"\naddress = \"127.0.0.1:5060\"\n[[sip.listeners]]\ntransport = \"tcp\"\naddress = \"127.0.0.1:5060\"\n";
    assert!(load_text(shared, &[]).is_ok());
    let clash = "[[sip.listeners]]\ntransport = \"tcp\"\naddress = \"127.0.0.1:5060\"\n[[sip.listeners]]\ntransport = \"tls\"\naddress = \"127.0.0.1:5060\"\ncertificate = \"/dev/null\"\nprivate_key = \"/dev/null\"\n";
    let found = problems(load_text(clash, &[]).unwrap_err());
    assert!(found.iter().any(|(k, m)| k == "sip.listeners[1].address" && m.contains("already used")), "{found:?}");
}

#[test]
fn overrides_change_one_run_and_are_validated_the_same_way() {
    let config = load_text("", &["log.level=debug", "sip.listeners.0.address=127.0.0.1:5070"]).unwrap();
    assert_eq!(config.log.level, "debug");
    assert_eq!(config.sip.listeners[0].address.to_string(), "127.0.0.1:5070");

    let found = problems(load_text("", &["media.rtp_ports=[\"20000-20999\", \"20100-20200\"]"]).unwrap_err());
    assert!(found[0].1.contains("(set by --set media.rtp_ports)"), "{found:?}");
    let found = problems(load_text("", &["sip.bogus=1"]).unwrap_err());
    assert!(found[0].1.contains("unknown field `bogus`"), "{found:?}");
}

#[test]
fn secrets_are_masked_when_shown() {
    let text = "[[sms.smsc]]\nname = \"a\"\naddress = \"127.0.0.1:2775\"\nsystem_id = \"cg\"\npassword = \"hunter2\"\n";
    let config = load_text(text, &[]).unwrap();
    assert_eq!(config.sms.smsc[0].password.expose(), "hunter2");
    let shown = toml::to_string(&config).unwrap();
    assert!(!shown.contains("hunter2") && shown.contains("********"), "{shown}");
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn smpp_limits_are_checked() {
    let text = "[[sms.smsc]]\nname = \"a\"\naddress = \"smsc.example.net\"\nsystem_id = \"a-system-id-too-long\"\npassword = \"much-too-long\"\n";
    let found = problems(load_text(text, &[]).unwrap_err());
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["sms.smsc[0].address", "sms.smsc[0].system_id", "sms.smsc[0].password"]);
}

#[test]
fn kernel_bypass_sources_need_an_interface() {
    for source in ["af_xdp", "af_packet"] {
        let found = problems(load_text(&format!("[media]\nsource = \"{source}\"\n"), &[]).unwrap_err());
        assert_eq!(found[0].0, "media.interface", "{found:?}");
        assert!(load_text(&format!("[media]\nsource = \"{source}\"\ninterface = \"eth1\"\n"), &[]).is_ok());
    }
}
