//! HTTP for the engine and health checks: one TLS configuration built once per run and
//! cloned into each client (building one per user costs memory and CPU seconds at 10,000
//! users), clients that never retry on their own (every attempt is counted) and never use
//! the environment's proxy, and a send that reads at most the body cap and classifies every
//! failure as data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::metrics::FailureKind;
use crate::plan::CompiledPlan;
use crate::plan::model::{ConnectionPool, HttpVersion};

/// What every client of a run shares: TLS, timeouts, proxy, redirect and body limits.
#[derive(Clone)]
pub struct HttpSettings {
    tls: ClientConfig,
    http_version: HttpVersion,
    proxy: Option<String>,
    connect_timeout: Duration,
    max_redirects: usize,
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

impl HttpSettings {
    /// Builds the run's TLS configuration and client settings from the plan.
    pub fn new(plan: &CompiledPlan, plan_dir: &std::path::Path) -> anyhow::Result<Self> {
        let target = &plan.plan.target;
        let tls = tls_config(&target.tls, target.http_version, plan_dir)?;
        let mut settings = HttpSettings {
            tls,
            http_version: target.http_version,
            proxy: target.proxy.clone(),
            connect_timeout: target
                .connect_timeout
                .as_ref()
                .map_or(plan.timeout, |d| d.get()),
            max_redirects: target.max_redirects.unwrap_or(10) as usize,
            max_body: plan.max_body,
            shared: None,
        };
        if target.connections == ConnectionPool::Shared {
            settings.shared = Some(settings.build_client(false)?);
        }
        Ok(settings)
    }

    /// A client for one virtual user: its own connections and cookies, unless the plan
    /// shares one pool.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        match &self.shared {
            Some(c) => Ok(c.clone()),
            None => self.build_client(true),
        }
    }

    /// A client without cookies, for health checks.
    pub fn plain_client(&self) -> anyhow::Result<reqwest::Client> {
        self.build_client(false)
    }

    fn build_client(&self, cookies: bool) -> anyhow::Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .tls_backend_preconfigured(self.tls.clone())
            .retry(reqwest::retry::never())
            .no_proxy()
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .cookie_store(cookies)
            .redirect(if self.max_redirects == 0 {
                reqwest::redirect::Policy::none()
            } else {
                reqwest::redirect::Policy::limited(self.max_redirects)
            });
        match self.http_version {
            HttpVersion::Http1 => b = b.http1_only(),
            HttpVersion::Http2 => b = b.http2_prior_knowledge(),
            HttpVersion::Auto => {}
        }
        if let Some(proxy) = &self.proxy {
            b = b.proxy(reqwest::Proxy::all(proxy)?);
        }
        Ok(b.build()?)
    }
}

fn tls_config(
    tls: &crate::plan::model::Tls,
    version: HttpVersion,
    dir: &std::path::Path,
) -> anyhow::Result<ClientConfig> {
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
        if let Some(ca) = &tls.ca_file {
            let path = dir.join(ca);
            for cert in CertificateDer::pem_file_iter(&path)
                .map_err(|e| anyhow::anyhow!("cannot read CA file `{}`: {e}", path.display()))?
            {
                roots.add(cert.map_err(|e| {
                    anyhow::anyhow!("bad certificate in `{}`: {e}", path.display())
                })?)?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match &tls.client_cert {
        Some(cc) => {
            let cert_path = dir.join(&cc.cert);
            let certs = CertificateDer::pem_file_iter(&cert_path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    anyhow::anyhow!("cannot read certificate `{}`: {e}", cert_path.display())
                })?;
            let key_path = dir.join(&cc.key);
            let key = PrivateKeyDer::from_pem_file(&key_path)
                .map_err(|e| anyhow::anyhow!("cannot read key `{}`: {e}", key_path.display()))?;
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

/// An answer, with at most `max_body` bytes of its body kept.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The kept part of the body.
    pub body: Bytes,
    /// All body bytes received, kept or not.
    pub bytes_in: u64,
    /// Whether the body was longer than the cap.
    pub truncated: bool,
    /// From sending to the last body byte.
    pub latency: Duration,
}

/// A request that got no complete answer.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// Failure class.
    pub kind: FailureKind,
    /// What happened, for reports.
    pub message: String,
    /// Time until the failure.
    pub latency: Duration,
}

/// Sends a request and reads its answer within `timeout`, measuring from `start`. `timer`
/// is reset to the deadline and reused: a user keeps one for all its requests, since
/// moving a registered timer costs less than registering a new one per request.
pub async fn send(
    client: &reqwest::Client,
    request: reqwest::Request,
    timeout: Duration,
    max_body: u64,
    start: Instant,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> Result<Answer, TransportError> {
    let exchange = async {
        let mut response = client.execute(request).await.map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let body_error = |e: reqwest::Error| {
            let (kind, message) = classify(&e);
            // The connection was fine: what broke was the body.
            (
                if kind == FailureKind::Connect {
                    FailureKind::Body
                } else {
                    kind
                },
                message,
            )
        };
        // Most answers arrive in one chunk: keep it as is, copying only when there are more.
        let mut kept = Bytes::new();
        let mut more: Option<Vec<u8>> = None;
        let mut bytes_in = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(body_error)? {
            bytes_in += chunk.len() as u64;
            let held = more.as_ref().map_or(kept.len(), Vec::len) as u64;
            let room = max_body.saturating_sub(held) as usize;
            if room == 0 {
                continue;
            }
            let part = chunk.slice(..chunk.len().min(room));
            match &mut more {
                Some(buf) => buf.extend_from_slice(&part),
                None if kept.is_empty() => kept = part,
                None => {
                    let mut buf = Vec::with_capacity(kept.len() + part.len());
                    buf.extend_from_slice(&kept);
                    buf.extend_from_slice(&part);
                    more = Some(buf);
                }
            }
        }
        let body = more.map_or(kept, Bytes::from);
        let truncated = bytes_in > body.len() as u64;
        Ok((status, body, bytes_in, truncated))
    };
    timer.as_mut().reset(tokio::time::Instant::now() + timeout);
    let outcome = tokio::select! {
        biased;
        r = exchange => Ok(r),
        () = timer => Err(()),
    };
    match outcome {
        Ok(Ok((status, body, bytes_in, truncated))) => Ok(Answer {
            status,
            body,
            bytes_in,
            truncated,
            latency: start.elapsed(),
        }),
        Ok(Err((kind, message))) => Err(TransportError {
            kind,
            message,
            latency: start.elapsed(),
        }),
        Err(_) => Err(TransportError {
            kind: FailureKind::Timeout,
            message: format!(
                "timed out after {}",
                crate::plan::units::format_duration(timeout)
            ),
            latency: start.elapsed(),
        }),
    }
}

/// Sorts a reqwest error into a failure class with a message free of URLs (they may carry
/// query secrets) and of request details.
fn classify(e: &reqwest::Error) -> (FailureKind, String) {
    let chain = error_chain(e);
    let lower = chain.to_lowercase();
    let kind = if e.is_timeout() {
        FailureKind::Timeout
    } else if lower.contains("reset")
        || lower.contains("broken pipe")
        || lower.contains("connection closed")
        || lower.contains("incomplete message")
        || lower.contains("unexpected eof")
    {
        FailureKind::Reset
    } else if e.is_connect() || lower.contains("dns") || lower.contains("resolve") {
        FailureKind::Connect
    } else if e.is_body() || e.is_decode() {
        FailureKind::Body
    } else {
        FailureKind::Connect
    };
    (kind, chain)
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        // The top-level message names the URL, which may carry secrets: describe instead.
        parts.push(if e.is_timeout() {
            "timed out".into()
        } else {
            "request failed".into()
        });
    }
    parts.join(": ")
}
