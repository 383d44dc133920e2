//! The direct transport against scripted servers: what HTTP asks of a client, and what
//! the reqwest-based transport it replaced did.

use super::*;
use crate::http::Headers;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn config(version: HttpVersion, max_redirects: usize) -> Arc<Config> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Arc::new(Config {
        tls: Arc::new(tls),
        version,
        connect_timeout: Duration::from_secs(5),
        max_redirects,
        origin_bound: Vec::new(),
    })
}

fn get(uri: &str) -> Outgoing {
    Outgoing {
        method: Method::GET,
        uri: uri.parse().unwrap(),
        headers: Headers::default(),
        body: Bytes::new(),
    }
}

/// A raw HTTP/1.1 server: answers each request head with the next scripted answer (on
/// any connection), records the heads, closes a connection after an answer that says
/// `connection: close`.
async fn raw_server(
    answers: Vec<&'static [u8]>,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let h = Arc::clone(&heads);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let h = Arc::clone(&h);
            let answers = Arc::clone(&answers);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut seen = Vec::new();
                loop {
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    let head = String::from_utf8_lossy(&seen[..end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    while seen.len() < end + len {
                        let n = socket.read(&mut buf).await.unwrap();
                        seen.extend_from_slice(&buf[..n]);
                    }
                    seen.drain(..end + len);
                    h.lock().unwrap().push(head);
                    let answer = answers
                        .lock()
                        .unwrap()
                        .next()
                        .unwrap_or(b"HTTP/1.1 500 X\r\ncontent-length: 0\r\n\r\n");
                    socket.write_all(answer).await.unwrap();
                    if String::from_utf8_lossy(answer)
                        .to_ascii_lowercase()
                        .contains("connection: close")
                    {
                        let _ = socket.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    (addr, heads)
}

fn header_of(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// User and password in the URL are basic credentials, never part of `Host` (as reqwest
/// and browsers do).
#[tokio::test]
async fn host_header_carries_no_userinfo() {
    let (addr, heads) = raw_server(vec![OK]).await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let r = d
        .exchange(get(&format!("http://user:secret@{addr}/x")), 1024)
        .await;
    assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(200));
    let head = heads.lock().unwrap()[0].clone();
    assert_eq!(header_of(&head, "host"), Some(addr.to_string()), "{head}");
    // base64("user:secret")
    assert_eq!(
        header_of(&head, "authorization").as_deref(),
        Some("Basic dXNlcjpzZWNyZXQ="),
        "{head}"
    );
}

/// a HEAD answer carries the GET's headers, `Content-Encoding: gzip` included,
/// and no body: the empty body then fails to gunzip (reqwest passed empty bodies through).
#[tokio::test]
async fn head_answer_with_gzip_encoding_is_not_a_failure() {
    let (addr, _) = raw_server(vec![
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 120\r\n\r\n",
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let mut req = get(&format!("http://{addr}/x"));
    req.method = Method::HEAD;
    let r = d.exchange(req, 1024).await;
    assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(200));
}

/// Same for 304 Not Modified (and 204) answers that keep `Content-Encoding: gzip`.
#[tokio::test]
async fn not_modified_with_gzip_encoding_is_not_a_failure() {
    let (addr, _) = raw_server(vec![
        b"HTTP/1.1 304 Not Modified\r\ncontent-encoding: gzip\r\n\r\n",
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let r = d.exchange(get(&format!("http://{addr}/x")), 1024).await;
    assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(304));
}

/// a body cut short by the server is classified `connect` (hyper's text
/// "error reading a body from connection" contains "connect"); the old classify said
/// `body` (reqwest `is_body`, and Connect was mapped to Body for body errors).
#[tokio::test]
async fn short_body_is_a_body_failure() {
    let (addr, _) = raw_server(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\nshort",
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let r = d.exchange(get(&format!("http://{addr}/x")), 1024).await;
    let Failure { kind, message } = r.unwrap_err();
    assert_eq!(kind, FailureKind::Body, "{message}");
}

/// a same-origin relative redirect from a URL with an explicit default port
/// (`http://h:80/a`) is treated as cross-origin (url::Url drops `:80`, http::Uri keeps
/// it), so Authorization and Cookie are stripped. reqwest compared
/// `port_or_known_default()`.
#[test]
fn same_origin_redirect_keeps_authorization() {
    let d = Direct::new(config(HttpVersion::Auto, 10), false);
    let mut req = get("http://example.com:80/a");
    req.headers
        .extra
        .push((header::AUTHORIZATION, HeaderValue::from_static("Bearer t")));
    let mut h = HeaderMap::new();
    h.insert(header::LOCATION, HeaderValue::from_static("/b"));
    let next = d.redirect(302, &h, &req).unwrap().unwrap();
    assert!(
        next.headers.to_map().contains_key(header::AUTHORIZATION),
        "stripped on a same-origin redirect to {}",
        next.uri
    );
}

/// 303 after HEAD turns the request into a GET (RFC 9110 15.4.4 / fetch, and
/// tower-http's FollowRedirect that reqwest used, keep HEAD).
#[test]
fn a_303_keeps_head() {
    let d = Direct::new(config(HttpVersion::Auto, 10), false);
    let mut req = get("http://example.com/a");
    req.method = Method::HEAD;
    let mut h = HeaderMap::new();
    h.insert(header::LOCATION, HeaderValue::from_static("/b"));
    let next = d.redirect(303, &h, &req).unwrap().unwrap();
    assert_eq!(next.method, Method::HEAD);
}

/// a gzip body made of several members (concatenated streams, valid per RFC
/// 1952 and decoded whole by reqwest's decoder) keeps only the first member.
#[test]
fn multi_member_gzip_is_decoded_whole() {
    let gz = |data: &[u8]| {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let mut body = gz(b"{\"a\":");
    body.extend(gz(b"1}"));
    let (out, cut) = gunzip(&Bytes::from(body), 4096, false).unwrap();
    assert_eq!((&out[..], cut), (&b"{\"a\":1}"[..], false));
}

/// An HTTP/2 connection the server closed (GOAWAY) while the user was idle: the next
/// request should go on a new connection, as HTTP/1.1's do, not fail.
#[tokio::test]
async fn h2_connection_closed_while_idle_is_replaced() {
    use hyper::server::conn::http2 as server;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let closed_tx = closed_tx.clone();
            tokio::spawn(async move {
                let (served_tx, mut served) = tokio::sync::mpsc::unbounded_channel();
                let svc = hyper::service::service_fn(move |_req| {
                    let _ = served_tx.send(());
                    async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    }
                });
                let conn = server::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), svc);
                let mut conn = std::pin::pin!(conn);
                // Serve one request, then close gracefully (GOAWAY).
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = served.recv() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                        let _ = closed_tx.send(());
                    }
                }
            });
        }
    });
    let mut d = Direct::new(config(HttpVersion::Http2, 0), false);
    let first = d.exchange(get(&format!("http://{addr}/x")), 1024).await;
    assert_eq!(first.map(|r| r.status).map_err(|e| e.message), Ok(200));
    closed.recv().await.unwrap();
    // The user is idle until its connection task has seen the server go.
    tokio::time::timeout(Duration::from_secs(5), async {
        while !d.open.iter().all(|o| o.link.is_closed()) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    let second = d.exchange(get(&format!("http://{addr}/x")), 1024).await;
    assert_eq!(second.map(|r| r.status), Ok(200));
}

/// A response with `Connection: close` followed at once by the next request: handled.
#[tokio::test]
async fn connection_close_then_next_request() {
    let (addr, heads) = raw_server(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        OK,
        OK,
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    for _ in 0..3 {
        let r = d.exchange(get(&format!("http://{addr}/x")), 1024).await;
        assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(200));
    }
    assert_eq!(heads.lock().unwrap().len(), 3);
}

/// A timeout mid-body, then the same user's next request: must not read the stale
/// answer (abandon) nor hang.
#[tokio::test]
async fn timeout_mid_body_then_next_request() {
    let (addr, _) = raw_server(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial",
        OK,
    ])
    .await;
    let mut t =
        crate::http::Transport::Direct(Box::new(Direct::new(config(HttpVersion::Auto, 0), false)));
    let mut timer = Box::pin(tokio::time::sleep(Duration::from_secs(1)));
    let first = crate::http::send(
        &mut t,
        get(&format!("http://{addr}/x")),
        Duration::from_millis(200),
        1024,
        std::time::Instant::now(),
        timer.as_mut(),
    )
    .await;
    assert_eq!(first.unwrap_err().kind, FailureKind::Timeout);
    let second = crate::http::send(
        &mut t,
        get(&format!("http://{addr}/x")),
        Duration::from_secs(2),
        1024,
        std::time::Instant::now(),
        timer.as_mut(),
    )
    .await;
    assert_eq!(
        second.map(|a| (a.status, a.body)).map_err(|e| e.message),
        Ok((200, Bytes::from_static(b"ok")))
    );
}

/// Chunked body larger than the cap: all bytes counted, cap kept.
#[tokio::test]
async fn chunked_body_over_cap_is_counted() {
    let (addr, _) = raw_server(vec![
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let r = d
        .exchange(get(&format!("http://{addr}/x")), 4)
        .await
        .unwrap();
    assert_eq!(
        (&r.body[..], r.bytes_in, r.truncated),
        (&b"hell"[..], 11, true)
    );
}

/// Cookies set on a redirect answer are sent on the hop it points to.
#[tokio::test]
async fn cookie_set_on_redirect_is_sent_on_next_hop() {
    let (addr, heads) = raw_server(vec![
        b"HTTP/1.1 302 Found\r\nlocation: /b\r\nset-cookie: s=1; Path=/\r\ncontent-length: 0\r\n\r\n",
        OK,
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 5), true);
    let r = d.exchange(get(&format!("http://{addr}/a")), 1024).await;
    assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(200));
    let head = heads.lock().unwrap()[1].clone();
    assert_eq!(header_of(&head, "cookie").as_deref(), Some("s=1"), "{head}");
}

/// 307 keeps method and body; Content-Length right.
#[tokio::test]
async fn a_307_keeps_the_post_body() {
    let (addr, heads) = raw_server(vec![
        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /b\r\ncontent-length: 0\r\n\r\n",
        OK,
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 5), false);
    let mut req = get(&format!("http://{addr}/a"));
    req.method = Method::POST;
    req.body = Bytes::from_static(b"hello");
    let r = d.exchange(req, 1024).await;
    assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(200));
    let head = heads.lock().unwrap()[1].clone();
    assert!(head.starts_with("POST /b "), "{head}");
    assert_eq!(
        header_of(&head, "content-length").as_deref(),
        Some("5"),
        "{head}"
    );
}

/// HEAD and 304 answers with a Content-Length but no body, then a request on the same
/// connection: no hang, the next answer read right.
#[tokio::test]
async fn head_and_304_then_reuse() {
    let (addr, heads) = raw_server(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 120\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\ncontent-length: 50\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        OK,
    ])
    .await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let mut head = get(&format!("http://{addr}/x"));
    head.method = Method::HEAD;
    let r = tokio::time::timeout(Duration::from_secs(2), d.exchange(head, 1024))
        .await
        .unwrap();
    assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(200));
    for want in [304, 204, 200] {
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            d.exchange(get(&format!("http://{addr}/x")), 1024),
        )
        .await
        .unwrap();
        assert_eq!(r.map(|r| r.status).map_err(|e| e.message), Ok(want));
    }
    assert_eq!(heads.lock().unwrap().len(), 4);
}

/// A connection that cannot be opened within `connect_timeout` (here: a TLS handshake the
/// server never answers) is a `connect` failure: the request never reached the server.
#[tokio::test]
async fn a_connect_timeout_is_a_connect_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s); // never answers the ClientHello
        }
    });
    let c = config(HttpVersion::Auto, 0);
    let c = Arc::new(Config {
        tls: Arc::clone(&c.tls),
        version: c.version,
        connect_timeout: Duration::from_millis(200),
        max_redirects: 0,
        origin_bound: Vec::new(),
    });
    let mut d = Direct::new(c, false);
    let Failure { kind, message } = d
        .exchange(get(&format!("https://{addr}/x")), 1024)
        .await
        .unwrap_err();
    assert_eq!(kind, FailureKind::Connect, "{message}");
    assert!(message.contains("timed out"), "{message}");
}

fn gzip(data: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    Bytes::from(e.finish().unwrap())
}

/// A server that closes a kept-alive connection while the user is idle (Node closes
/// them after 5 s) must not cost a failed request: the next one goes on a new
/// connection.
#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced_without_a_failure() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
    let (close_tx, mut close) = tokio::sync::mpsc::unbounded_channel::<()>();
    let server = tokio::spawn(async move {
        let mut accepted = 0;
        // Each connection answers one request, keep-alive, then closes.
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().await.unwrap();
            accepted += 1;
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            // Close only once the client holds the connection as idle.
            close.recv().await;
            socket.shutdown().await.unwrap();
            let _ = closed_tx.send(());
            // Wait for the client's side to close too.
            while socket.read(&mut buf).await.unwrap_or(0) > 0 {}
        }
        accepted
    });
    let mut direct = Direct::new(config(HttpVersion::Auto, 0), false);
    let request = Outgoing {
        method: Method::GET,
        uri: format!("http://{addr}/x").parse().unwrap(),
        headers: Headers::default(),
        body: Bytes::new(),
    };
    let first = direct.exchange(request.clone(), 1024).await.unwrap();
    assert_eq!((first.status, &first.body[..]), (200, &b"ok"[..]));
    close_tx.send(()).unwrap();
    // The server has closed (on loopback its FIN is queued here once sent).
    closed.recv().await.unwrap();
    let second = direct.exchange(request, 1024).await;
    assert_eq!(second.map(|r| r.status).map_err(|e| e.message), Ok(200));
    drop(close_tx);
    drop(direct);
    assert_eq!(server.await.unwrap(), 2);
}

#[test]
fn gunzip_keeps_at_most_the_cap() {
    let body = gzip(&[b'a'; 1000]);
    let (all, cut) = gunzip(&body, 4096, false).unwrap();
    assert_eq!((all.len(), cut), (1000, false));
    let (some, cut) = gunzip(&body, 10, false).unwrap();
    assert_eq!((some.len(), cut), (10, true));
}

#[test]
fn gunzip_reports_a_broken_body_unless_it_was_cut() {
    let body = gzip(b"hello world");
    let half = body.slice(..body.len() / 2);
    assert!(gunzip(&half, 4096, false).is_err());
    assert!(gunzip(&half, 4096, true).unwrap().1);
}

/// An answer that is not HTTP at all is a `body` failure naming what was wrong, not a
/// reset or a connect failure.
#[tokio::test]
async fn an_answer_that_is_not_http_is_a_body_failure() {
    let (addr, _) = raw_server(vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]).await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let Failure { kind, message } = d
        .exchange(get(&format!("http://{addr}/x")), 1024)
        .await
        .unwrap_err();
    assert_eq!(kind, FailureKind::Body, "{message}");
    assert!(message.contains("invalid"), "{message}");
}

/// A server that reads a request head, writes `answer`, then resets the connection (RST,
/// not FIN) instead of sending the rest.
async fn resetting_server(answer: &'static [u8]) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(answer).await;
            s.set_zero_linger().unwrap();
        }
    });
    addr
}

/// A server that writes `answer` as soon as a connection opens, then holds it.
async fn eager_server(answer: &'static [u8]) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(answer).await;
            held.push(s);
        }
    });
    addr
}

/// A port that refuses connections: bound, never listening, so no other test can take it.
fn refusing_port() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// A connection reset in the middle of a body is a `reset`, decided by the I/O error's kind
/// (a body read that fails otherwise is a `body` failure).
#[tokio::test]
async fn a_reset_connection_is_a_reset_failure() {
    let addr = resetting_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial").await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let f = d
        .exchange(get(&format!("http://{addr}/x")), 1024)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Reset, "{}", f.message);
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_failure() {
    let (_held, addr) = refusing_port();
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let f = d
        .exchange(get(&format!("http://{addr}/x")), 1024)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Connect, "{}", f.message);
}

/// A TLS handshake that fails (the server answers in plain HTTP) is a `connect` failure.
#[tokio::test]
async fn a_failed_tls_handshake_is_a_connect_failure() {
    let addr = eager_server(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    let mut d = Direct::new(config(HttpVersion::Auto, 0), false);
    let f = d
        .exchange(get(&format!("https://{addr}/x")), 1024)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Connect, "{}", f.message);
    assert!(
        f.message.starts_with("TLS handshake failed"),
        "{}",
        f.message
    );
}

/// The same failures through the reqwest transport (a proxy or a shared pool), where every
/// class comes from `classify`.
#[tokio::test]
async fn the_client_transport_classifies_the_same() {
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(ClientConfig::clone(&config(HttpVersion::Auto, 0).tls))
        .no_proxy()
        .retry(reqwest::retry::never())
        .build()
        .unwrap();
    let send = |url: String| {
        let client = client.clone();
        async move {
            super::super::client::exchange(&client, get(&url), 1024)
                .await
                .unwrap_err()
        }
    };
    let addr = resetting_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial").await;
    let f = send(format!("http://{addr}/x")).await;
    assert_eq!(f.kind, FailureKind::Reset, "{}", f.message);
    let (_held, addr) = refusing_port();
    let f = send(format!("http://{addr}/x")).await;
    assert_eq!(f.kind, FailureKind::Connect, "{}", f.message);
    let addr = eager_server(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    let f = send(format!("https://{addr}/x")).await;
    assert_eq!(f.kind, FailureKind::Connect, "{}", f.message);
}
