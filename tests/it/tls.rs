//! HTTPS end to end: the real binary against a small TLS server started in the test on an
//! ephemeral loopback port, with a CA and a server certificate generated for the test. The
//! server answers `{"ok":true,"version":"HTTP/2.0"}` with the HTTP version it saw, so a
//! plan's JSON check fails every request sent with the wrong version.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::{run_plan, stderr};

/// A CA, and a server certificate it signed for `localhost` and `127.0.0.1`.
struct Certs {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

fn certs() -> Certs {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "loadplan test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca).unwrap();
    Certs {
        ca_pem: ca.pem(),
        server_chain: vec![cert.der().clone(), ca.der().clone()],
        server_key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

/// Requests the server answered, by the HTTP version they came with.
#[derive(Default)]
struct Seen {
    http1: AtomicU64,
    http2: AtomicU64,
    handshakes: AtomicU64,
}

/// An HTTPS server on an ephemeral loopback port, stopped with its runtime on drop.
struct TlsServer {
    port: u16,
    seen: Arc<Seen>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsServer {
    /// Serves HTTP/1.1 and HTTP/2, whichever ALPN picked.
    fn start(certs: &Certs) -> TlsServer {
        TlsServer::with_alpn(certs, true)
    }

    /// Serves HTTP/1.1 and HTTP/2, whichever ALPN picked, or, with `alpn` false (a server
    /// that takes no part in ALPN), whichever the client's first bytes speak.
    fn with_alpn(certs: &Certs, alpn: bool) -> TlsServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs.server_chain.clone(), certs.server_key.clone_key())
            .unwrap();
        if alpn {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let accepting = Arc::clone(&seen);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let seen = Arc::clone(&accepting);
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: no request.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    seen.handshakes.fetch_add(1, Ordering::Relaxed);
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let builder = match tls.get_ref().1.alpn_protocol() {
                        Some(b"h2") => builder.http2_only(),
                        Some(_) => builder.http1_only(),
                        None => builder,
                    };
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = Arc::clone(&seen);
                        async move {
                            let version = req.version();
                            match version {
                                http::Version::HTTP_2 => &seen.http2,
                                _ => &seen.http1,
                            }
                            .fetch_add(1, Ordering::Relaxed);
                            let body = format!(r#"{{"ok":true,"version":"{version:?}"}}"#);
                            let response = http::Response::builder()
                                .header(http::header::CONTENT_TYPE, "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        TlsServer {
            port,
            seen,
            _runtime: runtime,
        }
    }

    fn http1(&self) -> u64 {
        self.seen.http1.load(Ordering::Relaxed)
    }

    fn http2(&self) -> u64 {
        self.seen.http2.load(Ordering::Relaxed)
    }
}

/// Writes the CA as `certs/ca.pem` and a plan using `tls` and `http_version` into `dir`;
/// its one endpoint requires the answer to name `expect` as the HTTP version.
fn write_plan(dir: &Path, certs: &Certs, http_version: &str, tls: &str, expect: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::write(dir.join("certs/ca.pem"), &certs.ca_pem).unwrap();
    let plan = dir.join("tls.yaml");
    std::fs::write(
        &plan,
        format!(
            "version: 1\n\
             name: tls\n\
             target:\n\
             \x20 base_url: https://127.0.0.1:9\n\
             \x20 timeout: 5s\n\
             \x20 http_version: {http_version}\n\
             \x20 tls: {tls}\n\
             load:\n\
             \x20 users: 2\n\
             \x20 iterations: 20\n\
             \x20 duration: 30s\n\
             endpoints:\n\
             \x20 - name: version\n\
             \x20   request: {{ path: /version }}\n\
             \x20   check:\n\
             \x20     status: [200]\n\
             \x20     json:\n\
             \x20       - {{ path: $.ok, equals: true }}\n\
             \x20       - {{ path: $.version, equals: \"{expect}\" }}\n"
        ),
    )
    .unwrap();
    plan
}

/// One HTTPS case: a server (taking part in ALPN or not), a plan with `http_version` and
/// `tls` that expects `expect` as the answered version, run with `args` against `host`.
/// Checks the run succeeded with every one of its 20 requests answered as expected, and
/// returns the server, to ask what it saw.
struct Case<'a> {
    alpn: bool,
    http_version: &'a str,
    tls: &'a str,
    expect: &'a str,
    host: &'a str,
    args: &'a [&'a str],
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            alpn: true,
            http_version: "auto",
            tls: "{ ca_file: certs/ca.pem }",
            expect: "HTTP/2.0",
            host: "127.0.0.1",
            args: &[],
        }
    }
}

impl Case<'_> {
    fn run_ok(&self) -> TlsServer {
        let certs = certs();
        let server = TlsServer::with_alpn(&certs, self.alpn);
        let dir = tempfile::tempdir().unwrap();
        let plan = write_plan(dir.path(), &certs, self.http_version, self.tls, self.expect);
        let plan = plan.to_str().unwrap();
        let valid = crate::support::loadplan(&["validate", plan]);
        assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
        let args: Vec<&str> = ["-q"].iter().chain(self.args).copied().collect();
        let url = format!("https://{}:{}", self.host, server.port);
        let r = run_plan(plan, &url, &args, &[]);
        assert_eq!(r.code(), Some(0), "{}", stderr(&r.output));
        let row = r.row("version");
        assert_eq!(row["requests"], 20, "{row}");
        assert_eq!(row["failures"], 0, "{row}");
        server
    }
}

#[test]
fn https_with_the_plans_ca_negotiates_http2_by_default() {
    // By name: the certificate's DNS name is checked, not only its IP address.
    let server = Case {
        host: "localhost",
        ..Case::default()
    }
    .run_ok();
    assert_eq!((server.http1(), server.http2()), (0, 20));
    assert!(
        server.seen.handshakes.load(Ordering::Relaxed) <= 2,
        "each user keeps its one connection"
    );
}

#[test]
fn https_http1_only_offers_no_http2() {
    let server = Case {
        http_version: "http1",
        expect: "HTTP/1.1",
        ..Case::default()
    }
    .run_ok();
    assert_eq!((server.http1(), server.http2()), (20, 0));
}

#[test]
fn https_http2_uses_http2() {
    let server = Case {
        http_version: "http2",
        ..Case::default()
    }
    .run_ok();
    assert_eq!((server.http1(), server.http2()), (0, 20));
}

#[test]
fn insecure_tls_accepts_an_unknown_certificate() {
    let server = Case {
        tls: "{ insecure: true }",
        ..Case::default()
    }
    .run_ok();
    assert_eq!(server.http2(), 20);
}

#[test]
fn an_untrusted_certificate_fails_every_request_at_connect() {
    let certs = certs();
    let server = TlsServer::start(&certs);
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), &certs, "auto", "{}", "HTTP/2.0");
    let r = run_plan(
        plan.to_str().unwrap(),
        &format!("https://127.0.0.1:{}", server.port),
        &["-q"],
        &[],
    );
    // No SLA in the plan: the default gate fails a run whose every request failed.
    assert_eq!(r.code(), Some(1), "{}", stderr(&r.output));
    let row = r.row("version");
    assert_eq!(row["requests"], 20, "{row}");
    assert_eq!(row["failures"], 20, "{row}");
    assert_eq!(row["failures_by_kind"]["connect"], 20, "{row}");
    let failures = r.summary.as_ref().unwrap()["failures"].as_array().unwrap();
    assert!(!failures.is_empty());
    for f in failures {
        assert_eq!(f["name"], "version", "{f}");
        assert_eq!(f["kind"], "connect", "{f}");
        let message = f["message"].as_str().unwrap();
        assert!(message.contains("certificate"), "{message}");
    }
    assert_eq!((server.http1(), server.http2()), (0, 0));
    assert_eq!(server.seen.handshakes.load(Ordering::Relaxed), 0);
}

/// `http2` means HTTP/2 only: with a server that picks no protocol by ALPN, HTTP/2 all the
/// same (as without TLS), not a silent fallback to HTTP/1.1.
#[test]
fn https_http2_speaks_http2_when_the_server_takes_no_part_in_alpn() {
    let server = Case {
        alpn: false,
        http_version: "http2",
        ..Case::default()
    }
    .run_ok();
    assert_eq!((server.http1(), server.http2()), (0, 20));
}

/// `auto` falls back to HTTP/1.1 when the server offers nothing by ALPN.
#[test]
fn https_auto_falls_back_to_http1_without_alpn() {
    let server = Case {
        alpn: false,
        expect: "HTTP/1.1",
        ..Case::default()
    }
    .run_ok();
    assert_eq!((server.http1(), server.http2()), (20, 0));
}

/// One pool for all users (`connections: shared`, a reqwest client) gets the same TLS
/// configuration: the plan's CA, and HTTP/2 by ALPN.
#[test]
fn shared_connections_use_the_plans_ca_and_http2() {
    let server = Case {
        host: "localhost",
        args: &["--set", "target.connections=shared"],
        ..Case::default()
    }
    .run_ok();
    assert_eq!((server.http1(), server.http2()), (0, 20));
}

/// A certificate or key the plan names that cannot be used is an invalid plan (exit 2), said
/// before anything is sent, by `run` and `health` alike; a CA file with no certificate in it
/// is refused rather than quietly trusting only the system's roots.
#[test]
fn an_unusable_certificate_or_key_is_an_invalid_plan() {
    let certs = certs();
    let server = TlsServer::start(&certs);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a certificate\n").unwrap();
    let url = format!("https://127.0.0.1:{}", server.port);
    let cases = [
        (
            "{ ca_file: junk.pem }",
            "CA file",
            "holds no PEM certificate",
        ),
        (
            "{ ca_file: certs/ca.pem, client_cert: { cert: certs/ca.pem, key: junk.pem } }",
            "key",
            "cannot read key",
        ),
    ];
    for (tls, what, message) in cases {
        let plan = write_plan(dir.path(), &certs, "auto", tls, "HTTP/2.0");
        let plan = plan.to_str().unwrap();
        let r = run_plan(plan, &url, &["-q"], &[]);
        let text = stderr(&r.output);
        assert_eq!(r.code(), Some(2), "{what}: {text}");
        assert!(
            text.contains(message) && text.contains("junk.pem"),
            "{what}: {text}"
        );
        let health = crate::support::loadplan(&["health", plan, "--base-url", &url]);
        assert_eq!(health.status.code(), Some(2), "{what}: {}", stderr(&health));
    }
    assert_eq!(server.seen.handshakes.load(Ordering::Relaxed), 0);
}
