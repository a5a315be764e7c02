//! The cluster's certificate authority, serving certificate and bearer token, created on first
//! start and kept in the data directory.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Failures while creating or loading credentials.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a credential file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("generating certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A stored PEM file is invalid.
    #[error("{path}: invalid PEM: {message}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Credentials of a cluster.
#[derive(Clone)]
pub struct Credentials {
    /// PEM of the CA certificate (goes into kubeconfigs).
    pub ca_pem: String,
    /// PEM of the serving certificate.
    pub cert_pem: String,
    /// PEM of the serving key.
    pub key_pem: String,
    /// The bearer token clients must present.
    pub token: String,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Credentials {
    /// Loads the credentials from `dir`, generating (and saving) them when absent.
    pub fn load_or_create(dir: &Path) -> Result<Credentials, TlsError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let files = ["ca.crt", "server.crt", "server.key", "token"].map(|f| dir.join(f));
        if files.iter().all(|f| f.exists()) {
            let read = |p: &Path| std::fs::read_to_string(p).map_err(io_err(p));
            return Ok(Credentials {
                ca_pem: read(&files[0])?,
                cert_pem: read(&files[1])?,
                key_pem: read(&files[2])?,
                token: read(&files[3])?.trim().to_string(),
            });
        }
        let creds = Self::generate()?;
        let contents = [&creds.ca_pem, &creds.cert_pem, &creds.key_pem, &creds.token];
        for (path, content) in files.iter().zip(contents) {
            write_private(path, content)?;
        }
        Ok(creds)
    }

    /// Generates a fresh CA, serving certificate (for `127.0.0.1`, `::1` and `localhost`) and token.
    pub fn generate() -> Result<Credentials, TlsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferry-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, &ca_key);

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::IpAddr::V4(
                std::net::Ipv4Addr::LOCALHOST,
            )));
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::IpAddr::V6(
                std::net::Ipv6Addr::LOCALHOST,
            )));
        params
            .distinguished_name
            .push(DnType::CommonName, "ferry-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = params.signed_by(&key, &issuer)?;

        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        Ok(Credentials {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            token,
        })
    }

    /// A rustls server configuration offering `h2` and `http/1.1`.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError::Pem {
                    path: "server.crt".into(),
                    message: e.to_string(),
                })?;
        let key =
            PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| TlsError::Pem {
                path: "server.key".into(),
                message: e.to_string(),
            })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

fn write_private(path: &Path, content: &str) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(content.as_bytes()).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Renders a kubeconfig for `server` (`https://host:port`) with the CA and token.
pub fn kubeconfig(server: &str, creds: &Credentials, namespace: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(creds.ca_pem.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ferry\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: ferry\n  context:\n    cluster: ferry\n    user: ferry-admin\n    namespace: {namespace}\ncurrent-context: ferry\npreferences: {{}}\nusers:\n- name: ferry-admin\n  user:\n    token: {token}\n",
        token = creds.token
    )
}

/// Writes a kubeconfig file (mode 0600).
pub fn write_kubeconfig(path: &Path, server: &str, creds: &Credentials) -> Result<(), TlsError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    write_private(path, &kubeconfig(server, creds, "default"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reloads_same_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let a = Credentials::load_or_create(dir.path()).unwrap();
        let b = Credentials::load_or_create(dir.path()).unwrap();
        assert_eq!(a.token, b.token);
        assert_eq!(a.ca_pem, b.ca_pem);
        assert!(a.token.len() >= 40);
        a.server_config().unwrap();
        let kc = kubeconfig("https://127.0.0.1:1234", &a, "default");
        assert!(kc.contains("server: https://127.0.0.1:1234"));
        assert!(kc.contains(&a.token));
    }
}
