//! HTTP for the engine and health checks: one TLS configuration built once per run and
//! shared by every user (building one per user costs memory and CPU seconds at 10,000
//! users), transports that never retry on their own (every attempt is counted) and never
//! use the environment's proxy, and a send that reads at most the body cap and classifies
//! every failure as data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::Later as _;
use super::direct::{self, Direct};
use crate::metrics::FailureKind;
use crate::plan::CompiledPlan;
use crate::plan::model::{ConnectionPool, HttpVersion};

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
    /// Forgets open connections after a request was abandoned mid-way.
    fn abandon(&mut self) {
        if let Transport::Direct(d) = self {
            d.abandon();
        }
    }
}

impl HttpSettings {
    /// Builds the run's TLS configuration and transport settings from the plan.
    pub fn new(plan: &CompiledPlan, plan_dir: &std::path::Path) -> anyhow::Result<Self> {
        let target = &plan.plan.target;
        let tls = tls_config(&target.tls, target.http_version, plan_dir)?;
        let mut settings = HttpSettings {
            direct: Arc::new(direct::Config {
                tls: Arc::new(tls),
                version: target.http_version,
                connect_timeout: target
                    .connect_timeout
                    .as_ref()
                    .map_or(plan.timeout, |d| d.get()),
                max_redirects: target.max_redirects.unwrap_or(10) as usize,
                origin_bound: origin_bound(plan),
            }),
            proxy: target.proxy.clone(),
            max_body: plan.max_body,
            shared: None,
        };
        if target.connections == ConnectionPool::Shared {
            settings.shared = Some(settings.build_client(false)?);
        }
        Ok(settings)
    }

    /// A transport for one virtual user (`cookies` keeps a cookie jar): its own
    /// connections, unless the plan shares one pool or goes through a proxy.
    pub fn transport(&self, cookies: bool) -> anyhow::Result<Transport> {
        Ok(match (&self.shared, &self.proxy) {
            (Some(c), _) => Transport::Client(c.clone()),
            (None, Some(_)) => Transport::Client(self.build_client(cookies)?),
            (None, None) => {
                Transport::Direct(Box::new(Direct::new(Arc::clone(&self.direct), cookies)))
            }
        })
    }

    fn build_client(&self, cookies: bool) -> anyhow::Result<reqwest::Client> {
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
    let from_env = plan.headers.iter().filter(|(_, text)| {
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
    /// From sending to the last body byte (set by [`send`]; transports leave it zero).
    pub latency: Duration,
    /// The values of the cookies the answer set (`Set-Cookie`, on every hop of a redirect):
    /// a login's session cookie is a credential, to be masked like a token.
    pub cookies: Vec<String>,
}

/// The values of the `Set-Cookie` headers in `headers` (`SID` of `id=SID; Path=/`); no
/// allocation when there are none, as in most answers.
pub(crate) fn cookie_values(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            let pair = v.as_bytes().split(|&b| b == b';').next()?;
            let (_, value) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
            let value = value.get(1..)?;
            let value = String::from_utf8_lossy(value.trim_ascii());
            (!value.is_empty()).then(|| value.into_owned())
        })
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

/// A rendered request, as every transport takes it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Method.
    pub method: Method,
    /// Absolute URI.
    pub uri: Uri,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Bytes,
}

/// A request's headers: the request's static ones, shared by every send of it, and the
/// ones rendered for this send (which replace static ones of the same name). A transport
/// makes the one map it sends, so rendering copies no map.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    /// The request's static headers.
    pub base: Arc<HeaderMap>,
    /// This send's own.
    pub extra: Vec<(http::header::HeaderName, http::HeaderValue)>,
}

impl Headers {
    /// The headers as one map.
    pub fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::clone(&self.base);
        for (name, value) in &self.extra {
            map.insert(name.clone(), value.clone());
        }
        map
    }

    /// Removes a header (copying the shared part once).
    pub fn remove(&mut self, name: &http::header::HeaderName) {
        if self.base.contains_key(name) {
            Arc::make_mut(&mut self.base).remove(name);
        }
        self.extra.retain(|(n, _)| n != name);
    }
}

/// A failure class and its message.
pub type Failed = (FailureKind, String);

/// Sends a request and reads its answer within `timeout`, measuring from `start`. `timer`
/// is reset to the deadline and reused: a user keeps one for all its requests, since
/// moving a registered timer costs less than registering a new one per request.
pub async fn send(
    transport: &mut Transport,
    request: Outgoing,
    timeout: Duration,
    max_body: u64,
    start: Instant,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> Result<Answer, TransportError> {
    timer
        .as_mut()
        .reset(tokio::time::Instant::now().later(timeout));
    let outcome = {
        let exchange = async {
            match &mut *transport {
                Transport::Direct(d) => d.exchange(request, max_body).await,
                Transport::Client(c) => via_client(c, request, max_body).await,
            }
        };
        tokio::select! {
            biased;
            r = exchange => Some(r),
            () = timer => None,
        }
    };
    match outcome {
        Some(Ok(answer)) => Ok(Answer {
            latency: start.elapsed(),
            ..answer
        }),
        Some(Err((kind, message))) => Err(TransportError {
            kind,
            message,
            latency: start.elapsed(),
        }),
        None => {
            transport.abandon();
            Err(TransportError {
                kind: FailureKind::Timeout,
                message: format!(
                    "timed out after {}",
                    crate::plan::units::format_duration(timeout)
                ),
                latency: start.elapsed(),
            })
        }
    }
}

async fn via_client(
    client: &reqwest::Client,
    request: Outgoing,
    max_body: u64,
) -> Result<Answer, Failed> {
    let mut r = http::Request::new(request.body);
    *r.method_mut() = request.method;
    *r.uri_mut() = request.uri;
    *r.headers_mut() = request.headers.to_map();
    let request = reqwest::Request::try_from(r).map_err(|e| {
        (
            FailureKind::Template,
            format!("cannot build the request: {}", error_chain(&e, false)),
        )
    })?;
    let response = client.execute(request).await.map_err(|e| {
        let default = if e.is_body() || e.is_decode() {
            FailureKind::Body
        } else {
            FailureKind::Connect
        };
        // The top-level message names the URL, which may carry secrets.
        classify(&e, false, default)
    })?;
    let status = response.status().as_u16();
    let cookies = cookie_values(response.headers()).collect();
    let (body, bytes_in) = read_capped(http::Response::from(response).into_body(), max_body)
        .await
        .map_err(|e| classify(&e, false, FailureKind::Body))?;
    Ok(Answer {
        status,
        latency: Duration::ZERO,
        truncated: bytes_in > body.len() as u64,
        body,
        bytes_in,
        cookies,
    })
}

/// Reads a body, keeping at most `max` bytes and counting them all. Most answers arrive in
/// one chunk, kept as is; only a second chunk makes a copy.
pub(crate) async fn read_capped<B>(body: B, max: u64) -> Result<(Bytes, u64), B::Error>
where
    B: http_body::Body<Data = Bytes>,
{
    use http_body_util::BodyExt as _;
    let mut body = std::pin::pin!(body);
    let mut kept = Bytes::new();
    let mut more: Option<Vec<u8>> = None;
    let mut bytes_in = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(chunk) = frame?.into_data() else {
            continue;
        };
        bytes_in = bytes_in.saturating_add(chunk.len() as u64);
        let held = more.as_ref().map_or(kept.len(), Vec::len) as u64;
        let room = max.saturating_sub(held) as usize;
        if room == 0 {
            continue;
        }
        let part = chunk.slice(..chunk.len().min(room));
        match &mut more {
            Some(buf) => buf.extend_from_slice(&part),
            None if kept.is_empty() => kept = part,
            None => {
                let mut buf = Vec::with_capacity(kept.len().saturating_add(part.len()));
                buf.extend_from_slice(&kept);
                buf.extend_from_slice(&part);
                more = Some(buf);
            }
        }
    }
    Ok((more.map_or(kept, Bytes::from), bytes_in))
}

/// Sorts an error into a failure class by what its chain says, `default` when it says
/// nothing more specific. `top` includes the error's own message (reqwest's names the
/// URL, which may carry query secrets, so it is left out there).
pub(crate) fn classify(
    e: &(dyn std::error::Error + 'static),
    top: bool,
    default: FailureKind,
) -> Failed {
    let chain = error_chain(e, top);
    let lower = chain.to_lowercase();
    let kind = if lower.contains("timed out") || lower.contains("timeout") {
        FailureKind::Timeout
    } else if lower.contains(" parsed") || lower.contains("message head is too large") {
        // hyper's words for an answer that is not valid HTTP.
        FailureKind::Body
    } else if lower.contains("reset")
        || lower.contains("broken pipe")
        || lower.contains("connection closed")
        || lower.contains("incomplete message")
        || lower.contains("unexpected eof")
        || lower.contains("canceled")
    {
        FailureKind::Reset
    } else if lower.contains("dns")
        || lower.contains("resolve")
        || lower.contains("connection refused")
        || lower.contains("error trying to connect")
    {
        // Not any "connect…": hyper's body and I/O errors speak of "connection" too.
        FailureKind::Connect
    } else {
        default
    };
    (kind, chain)
}

fn error_chain(e: &(dyn std::error::Error + 'static), top: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = if top { Some(e) } else { e.source() };
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push("request failed".into());
    }
    parts.join(": ")
}
