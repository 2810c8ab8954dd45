//! TLS server configuration from the listener's PEM files (rustls, ring).

use std::sync::Arc;

use callguard_config::SipListener;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::TlsAcceptor;

use crate::TransportError;

/// The TLS side of a listener: the acceptor, and the SBC names allowed.
#[derive(Clone)]
pub(crate) struct TlsServer {
    pub(crate) acceptor: TlsAcceptor,
    client_names: Vec<String>,
}

impl TlsServer {
    /// Whether the peer's certificate names one of the allowed SBCs (always
    /// true when no names are configured: the CA alone decides).
    pub(crate) fn peer_allowed(&self, peer_certificates: Option<&[CertificateDer<'_>]>) -> bool {
        if self.client_names.is_empty() {
            return true;
        }
        let Some(Ok(cert)) = peer_certificates.and_then(|c| c.first()).map(webpki::EndEntityCert::try_from) else {
            return false;
        };
        self.client_names.iter().any(|name| {
            ServerName::try_from(name.as_str()).is_ok_and(|name| cert.verify_is_valid_for_subject_name(&name).is_ok())
        })
    }
}

/// Builds the acceptor: the server's chain and key, and, when `client_ca`
/// is set, mandatory client certificates signed by that CA.
pub(crate) fn server(listener: &SipListener) -> Result<TlsServer, TransportError> {
    let fail = |reason: String| TransportError::Tls { address: listener.address, reason };
    let (Some(cert_path), Some(key_path)) = (&listener.certificate, &listener.private_key) else {
        return Err(fail("a TLS listener needs certificate and private_key".into()));
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect())
        .map_err(|e| fail(format!("certificate {}: {e}", cert_path.display())))?;
    if chain.is_empty() {
        return Err(fail(format!("certificate {} holds no PEM certificate", cert_path.display())));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| fail(format!("private key {}: {e}", key_path.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?;
    let builder = match &listener.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca_path)
                .map_err(|e| fail(format!("client_ca {}: {e}", ca_path.display())))?
            {
                let cert = cert.map_err(|e| fail(format!("client_ca {}: {e}", ca_path.display())))?;
                roots.add(cert).map_err(|e| fail(format!("client_ca {}: {e}", ca_path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| fail(format!("client_ca {}: {e}", ca_path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| fail(format!("certificate and key do not form a usable pair: {e}")))?;
    Ok(TlsServer { acceptor: TlsAcceptor::from(Arc::new(config)), client_names: listener.client_names.clone() })
}
