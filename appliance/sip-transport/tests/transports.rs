//! The transports with real sockets: UDP and TCP framing, TLS with client
//! certificates signed by a CA made here, and the allowed SBC names.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use callguard_config::{SipListener, SipTransport};
use callguard_sip_transport::{Inbound, Transports};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

const OPTIONS: &str = "OPTIONS sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:sbc@127.0.0.1>;tag=1\r\nTo: <sip:srs@127.0.0.1>\r\nCall-ID: t1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

fn listener(transport: SipTransport) -> SipListener {
    SipListener {
        transport,
        address: "127.0.0.1:0".parse().unwrap(),
        certificate: None,
        private_key: None,
        client_ca: None,
        client_names: Vec::new(),
    }
}

async fn start(listeners: &[SipListener]) -> (Transports, mpsc::Receiver<Inbound>, Vec<SocketAddr>) {
    let (tx, rx) = mpsc::channel(16);
    let transports = Transports::start(listeners, tx).await.expect("listeners start");
    let addrs = transports.listening().iter().map(|(_, a)| *a).collect();
    (transports, rx, addrs)
}

async fn next(rx: &mut mpsc::Receiver<Inbound>) -> Inbound {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("a message arrives").unwrap()
}

#[tokio::test]
async fn udp_datagrams_arrive_and_answers_go_back() {
    let (transports, mut rx, addrs) = start(&[listener(SipTransport::Udp)]).await;
    let sbc = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sbc.send_to(b"\r\n\r\n", addrs[0]).await.unwrap();
    sbc.send_to(OPTIONS.as_bytes(), addrs[0]).await.unwrap();
    let inbound = next(&mut rx).await;
    assert_eq!(inbound.bytes, OPTIONS.as_bytes(), "keep-alives are not passed on");
    assert_eq!(inbound.peer.remote, sbc.local_addr().unwrap());
    transports.send(&inbound.peer, b"SIP/2.0 200 OK\r\n\r\n".to_vec()).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = sbc.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"SIP/2.0 200 OK\r\n\r\n");
}

#[tokio::test]
async fn tcp_streams_are_framed_and_pings_answered() {
    let (transports, mut rx, addrs) = start(&[listener(SipTransport::Tcp)]).await;
    let mut sbc = TcpStream::connect(addrs[0]).await.unwrap();
    // A ping, then two messages split at an awkward place.
    let two = format!("{OPTIONS}{OPTIONS}");
    sbc.write_all(b"\r\n\r\n").await.unwrap();
    sbc.write_all(&two.as_bytes()[..50]).await.unwrap();
    let mut pong = [0u8; 2];
    sbc.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n");
    sbc.write_all(&two.as_bytes()[50..]).await.unwrap();
    let first = next(&mut rx).await;
    let second = next(&mut rx).await;
    assert_eq!((first.bytes.len(), second.bytes.len()), (OPTIONS.len(), OPTIONS.len()));
    assert_eq!(first.peer.connection, second.peer.connection);
    transports.send(&first.peer, b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()).await.unwrap();
    let mut answer = vec![0u8; 37];
    sbc.read_exact(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"SIP/2.0 200 OK"));

    // Broken framing closes that connection only.
    sbc.write_all(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: nope\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), sbc.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "the connection is closed");
    assert_eq!(transports.stats().framing_errors.load(std::sync::atomic::Ordering::Relaxed), 1);
}

/// A CA, the SRS's certificate and two SBC certificates, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
}

fn write_pem(dir: &Path, name: &str, pem: &str) {
    std::fs::write(dir.join(name), pem).unwrap();
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        write_pem(dir.path(), "ca.pem", &ca_cert.pem());
        let issuer = Issuer::new(ca_params, ca_key);
        for name in ["srs.operator.example", "sbc1.operator.example", "rogue.example"] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec![name.to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
            write_pem(dir.path(), &format!("{name}.pem"), &cert.pem());
            write_pem(dir.path(), &format!("{name}.key"), &key.serialize_pem());
        }
        Pki { dir, ca: ca_cert.der().clone() }
    }

    fn listener(&self, client_names: &[&str]) -> SipListener {
        let path = |name: &str| Some(self.dir.path().join(name));
        SipListener {
            certificate: path("srs.operator.example.pem"),
            private_key: path("srs.operator.example.key"),
            client_ca: path("ca.pem"),
            client_names: client_names.iter().map(|n| (*n).to_owned()).collect(),
            ..listener(SipTransport::Tls)
        }
    }

    fn connector(&self, client: Option<&str>) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some(name) => {
                let cert_pem = std::fs::read(self.dir.path().join(format!("{name}.pem"))).unwrap();
                let key_pem = std::fs::read_to_string(self.dir.path().join(format!("{name}.key"))).unwrap();
                let chain =
                    rustls_pki_types::pem::PemObject::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().unwrap();
                let key = KeyPair::from_pem(&key_pem).unwrap();
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
                builder.with_client_auth_cert(chain, key).unwrap()
            }
        };
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// Connects, sends OPTIONS, and says whether the transport passed it on.
async fn tls_options(pki: &Pki, addr: SocketAddr, client: Option<&str>, rx: &mut mpsc::Receiver<Inbound>) -> bool {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let server = ServerName::try_from("srs.operator.example").unwrap();
    let Ok(mut tls) = pki.connector(client).connect(server, tcp).await else { return false };
    if tls.write_all(OPTIONS.as_bytes()).await.is_err() {
        return false;
    }
    let _ = tls.flush().await;
    matches!(tokio::time::timeout(Duration::from_secs(2), rx.recv()).await, Ok(Some(m)) if m.peer.transport == SipTransport::Tls)
}

#[tokio::test]
async fn tls_requires_a_certificate_from_the_ca_and_an_allowed_name() {
    let pki = Pki::new();
    let (transports, mut rx, addrs) = start(&[pki.listener(&["sbc1.operator.example"])]).await;
    assert!(
        tls_options(&pki, addrs[0], Some("sbc1.operator.example"), &mut rx).await,
        "the configured SBC gets through"
    );
    assert!(!tls_options(&pki, addrs[0], Some("rogue.example"), &mut rx).await, "a name not allowed is refused");
    assert!(!tls_options(&pki, addrs[0], None, &mut rx).await, "no certificate, no session");
    let stats = transports.stats();
    assert_eq!(stats.tls_name_rejections.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn tls_files_that_do_not_load_are_reported() {
    let pki = Pki::new();
    let mut broken = pki.listener(&[]);
    broken.private_key = Some(pki.dir.path().join("ca.pem"));
    let (tx, _rx) = mpsc::channel(1);
    let err = Transports::start(&[broken], tx).await.err().expect("a certificate without its key is refused");
    assert!(err.to_string().contains("private key"), "{err}");
}
