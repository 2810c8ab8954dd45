//! TLS server configuration from the listener's PEM files (rustls, ring).

use std::sync::Arc;

use callguard_config::SipListener;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::TransportError;

/// Builds the acceptor: the server's chain and key, and, when `client_ca`
/// is set, mandatory client certificates signed by that CA.
pub(crate) fn acceptor(listener: &SipListener) -> Result<TlsAcceptor, TransportError> {
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
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| fail(format!("private key {}: {e}", key_path.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?;
    let builder = match &listener.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca_path).map_err(|e| fail(format!("client_ca {}: {e}", ca_path.display())))? {
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
    Ok(TlsAcceptor::from(Arc::new(config)))
}
