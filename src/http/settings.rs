//! What every transport of a command shares (TLS, timeouts, proxy, redirect and body
//! limits), built once from the plan, and the transport each user or health try gets from it.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::direct::{self, Direct};
use crate::plan::CompiledPlan;
use crate::plan::compile::CompiledTls;
use crate::plan::model::{ConnectionPool, HttpVersion};

/// Why a command's HTTP settings cannot be built. Every case comes from the plan's
/// `target` (a certificate, a key, TLS settings that do not go together), so it is an
/// invalid plan, found before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A PEM file the plan names cannot be read or holds no valid item.
    #[error("cannot read {what} `{}`: {source}", path.display())]
    Pem {
        /// `CA file`, `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// A CA file with no PEM certificate in it.
    #[error("CA file `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)", .0.display())]
    NoCertificate(PathBuf),
    /// rustls refused the configuration (a certificate it cannot use, a key that does not
    /// match the certificate).
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// reqwest could not build a client with these settings (e.g. an unusable proxy URL).
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What every transport of a run shares: TLS, timeouts, proxy, redirect and body limits.
#[derive(Clone)]
pub struct HttpSettings {
    direct: Arc<direct::Config>,
    proxy: Option<String>,
    /// Body bytes kept per response.
    pub max_body: u64,
    shared: Option<reqwest::Client>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

/// How one virtual user (or one health try) sends requests.
#[derive(Debug)]
pub enum Transport {
    /// The user's own connections (the usual case).
    Direct(Box<Direct>),
    /// A reqwest client: through a proxy, or the plan's one shared pool.
    Client(reqwest::Client),
}

impl Transport {
    /// Opens a connection to `uri`'s origin ahead of the first request (reqwest's pool
    /// opens its own); a failure leaves the next request to connect, and to report it.
    pub(crate) async fn warm(&mut self, uri: &http::Uri) {
        if let Transport::Direct(d) = self {
            d.warm(uri).await;
        }
    }

    /// Forgets open connections after a request was abandoned mid-way.
    pub(super) fn abandon(&mut self) {
        if let Transport::Direct(d) = self {
            d.abandon();
        }
    }
}

impl HttpSettings {
    /// Builds the TLS configuration (loading the system's root certificates) and transport
    /// settings from the plan: once per command, since the load, its health checks and
    /// probes all share them.
    pub fn new(plan: &CompiledPlan) -> Result<Self, SettingsError> {
        let target = &plan.target;
        let tls = tls_config(&target.tls, target.http_version)?;
        let mut settings = HttpSettings {
            direct: Arc::new(direct::Config {
                tls: Arc::new(tls),
                version: target.http_version,
                connect_timeout: target.connect_timeout,
                max_redirects: target.max_redirects,
                origin_bound: origin_bound(plan),
            }),
            proxy: target.proxy.clone(),
            max_body: target.max_body,
            shared: None,
        };
        if target.connections == ConnectionPool::Shared {
            settings.shared = Some(settings.build_client(false)?);
        }
        Ok(settings)
    }

    /// A transport for one virtual user (`cookies` keeps a cookie jar): its own
    /// connections, unless the plan shares one pool or goes through a proxy.
    pub fn transport(&self, cookies: bool) -> Result<Transport, SettingsError> {
        Ok(match (&self.shared, &self.proxy) {
            (Some(c), _) => Transport::Client(c.clone()),
            (None, Some(_)) => Transport::Client(self.build_client(cookies)?),
            (None, None) => {
                Transport::Direct(Box::new(Direct::new(Arc::clone(&self.direct), cookies)))
            }
        })
    }

    fn build_client(&self, cookies: bool) -> Result<reqwest::Client, SettingsError> {
        let d = &self.direct;
        let mut b = reqwest::Client::builder()
            .tls_backend_preconfigured(ClientConfig::clone(&d.tls))
            .retry(reqwest::retry::never())
            .no_proxy()
            .connect_timeout(d.connect_timeout)
            .tcp_nodelay(true)
            .redirect(if d.max_redirects == 0 {
                reqwest::redirect::Policy::none()
            } else if d.origin_bound.is_empty() {
                reqwest::redirect::Policy::limited(d.max_redirects)
            } else {
                // reqwest drops only `Authorization` and `Cookie` on a redirect elsewhere and
                // cannot be told to drop more: such a redirect is not followed, so the other
                // credentials never leave their origin (the 3xx answer is the result).
                let max = d.max_redirects;
                reqwest::redirect::Policy::custom(move |a| {
                    let first = a.previous().first();
                    let elsewhere = first.is_some_and(|f| {
                        (f.scheme(), f.host_str(), f.port_or_known_default())
                            != (
                                a.url().scheme(),
                                a.url().host_str(),
                                a.url().port_or_known_default(),
                            )
                    });
                    if elsewhere {
                        a.stop()
                    } else if a.previous().len() > max {
                        a.error(format!("stopped after {max} redirects"))
                    } else {
                        a.follow()
                    }
                })
            });
        match d.version {
            HttpVersion::Http1 => b = b.http1_only(),
            HttpVersion::Http2 => b = b.http2_prior_knowledge(),
            HttpVersion::Auto => {}
        }
        if let Some(proxy) = &self.proxy {
            b = b.proxy(reqwest::Proxy::all(proxy)?);
        }
        if cookies {
            b = b.cookie_provider(Arc::new(super::cookies::Jar::default()));
        }
        Ok(b.build()?)
    }
}

/// Headers that carry credentials for the target's origin beyond `Authorization` and
/// `Cookie`: every header `auth.apply` sets, and every `target.headers` value read from the
/// environment (`{{ env.API_KEY }}`).
fn origin_bound(plan: &CompiledPlan) -> Vec<http::HeaderName> {
    let from_env = plan.target.headers.iter().filter(|(_, text)| {
        plan.templates
            .variables(text)
            .iter()
            .any(|(root, _)| root == "env")
    });
    let applied = plan.auth.iter().flat_map(|a| &a.apply_headers);
    from_env
        .chain(applied)
        .filter_map(|(name, _)| http::HeaderName::from_bytes(name.as_bytes()).ok())
        .collect()
}

fn tls_config(tls: &CompiledTls, version: HttpVersion) -> Result<ClientConfig, SettingsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates are not fatal: a plan with its own CA still works.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &tls.ca_file {
            let unreadable = |source| SettingsError::Pem {
                what: "CA file",
                path: path.clone(),
                source,
            };
            let mut found = 0usize;
            for cert in CertificateDer::pem_file_iter(path).map_err(unreadable)? {
                roots.add(cert.map_err(unreadable)?)?;
                found = found.saturating_add(1);
            }
            // Without this, a CA file that is not PEM would quietly trust only the system's
            // roots, and the run would fail later as an unexplained handshake error.
            if found == 0 {
                return Err(SettingsError::NoCertificate(path.clone()));
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match &tls.client_cert {
        Some((cert_path, key_path)) => {
            let certs = CertificateDer::pem_file_iter(cert_path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|source| SettingsError::Pem {
                    what: "certificate",
                    path: cert_path.clone(),
                    source,
                })?;
            let key =
                PrivateKeyDer::from_pem_file(key_path).map_err(|source| SettingsError::Pem {
                    what: "key",
                    path: key_path.clone(),
                    source,
                })?;
            builder.with_client_auth_cert(certs, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match version {
        HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
        HttpVersion::Http2 => vec![b"h2".to_vec()],
        HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    Ok(config)
}

/// `tls.insecure: true`: accept any certificate, still checking handshake signatures.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
