//! HTTPS: the server's certificate chain and private key
//! ([`TlsConfig`](crate::config::TlsConfig)) loaded into a rustls acceptor,
//! with the ring provider and HTTP/1.1 offered through ALPN.
//!
//! The handshake runs on the connection's own task, after the connection
//! took its place under the cap, and must finish within the header read
//! timeout (see `connections`): a client that opens a socket and says
//! nothing is closed as one that never finishes its request head.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::TlsConfig;

/// The acceptor for `config`'s certificate and key; `Err` with a message for
/// people when a file cannot be read or parsed, or the key does not fit.
pub(crate) fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, String> {
    let chain = certificates(&config.cert)?;
    let key = PrivateKeyDer::from_pem_file(&config.key)
        .map_err(|e| format!("TLS key {}: no private key read: {e}", config.key.display()))?;
    let mut server = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e: rustls::Error| {
            format!("TLS: the key {} does not fit the certificate {}: {e}", config.key.display(), config.cert.display())
        })?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// The PEM certificates of `path`, the server's own first; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |e: rustls::pki_types::pem::Error| format!("TLS certificate {}: {e}", path.display());
    let chain = CertificateDer::pem_file_iter(path).map_err(unreadable)?.collect::<Result<Vec<_>, _>>();
    let chain = chain.map_err(unreadable)?;
    if chain.is_empty() {
        return Err(format!("TLS certificate {}: no PEM certificate in the file", path.display()));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(cert: &str, key: &str) -> (tempfile::TempDir, TlsConfig) {
        let dir = tempfile::tempdir().unwrap();
        let config = TlsConfig { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem") };
        std::fs::write(&config.cert, cert).unwrap();
        std::fs::write(&config.key, key).unwrap();
        (dir, config)
    }

    fn refusal(config: &TlsConfig) -> String {
        acceptor(config).err().expect("refused")
    }

    #[test]
    fn a_generated_pair_loads_and_bad_files_are_named() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
        let (_dir, good) = files(&cert, &key);
        assert!(acceptor(&good).is_ok());

        let (_dir, swapped) = files(&key, &cert);
        assert!(refusal(&swapped).contains("no PEM certificate"));
        let (_dir, no_key) = files(&cert, &cert);
        assert!(refusal(&no_key).contains("no private key"));
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (_dir, mismatched) = files(&cert, &other.signing_key.serialize_pem());
        assert!(refusal(&mismatched).contains("does not fit"));
        let (dir, mut missing) = files(&cert, &key);
        missing.cert = dir.path().join("missing.pem");
        assert!(refusal(&missing).contains("missing.pem"));
    }
}
