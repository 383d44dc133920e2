//! End-to-end tests of the demo API over real loopback sockets on ephemeral ports. The client
//! is a few lines of raw HTTP/1.1 (`Connection: close`, read to EOF), so the tests need no
//! HTTP client crate and can see a dropped connection for what it is.

use std::io;
use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::auth::{DEMO_PASSWORD, DEMO_USERNAME};
use super::*;

mod api;
mod auth;
mod faults;

pub(super) struct Reply {
    pub(super) status: u16,
    head: String,
    pub(super) body: Vec<u8>,
}

impl Reply {
    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("{err}: {}", String::from_utf8_lossy(&self.body));
        })
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

pub(super) async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;

    let incomplete = || io::Error::new(io::ErrorKind::UnexpectedEof, "no complete response");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(incomplete)?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(incomplete)?;
    Ok(Reply {
        status,
        head,
        body: raw[end + 4..].to_vec(),
    })
}

pub(super) async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Reply {
    send(addr, "GET", path, token, None)
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

pub(super) async fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    send(addr, "POST", path, None, Some(body))
        .await
        .unwrap_or_else(|err| panic!("POST {path}: {err}"))
}

pub(super) async fn start(opts: DemoOptions) -> DemoServer {
    DemoServer::start(DemoOptions { port: 0, ..opts })
        .await
        .expect("demo server starts")
}

/// Waits until `done` answers true, checking every millisecond, for at most 5 s: tests wait
/// on the event they need, never for a fixed time.
pub(super) async fn until<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub(super) fn credentials(password: &str) -> String {
    json!({"username": DEMO_USERNAME, "password": password}).to_string()
}

/// Logs in and returns the whole token answer.
pub(super) async fn login(addr: SocketAddr) -> Value {
    let reply = post(addr, "/api/v1/auth/token/", &credentials(DEMO_PASSWORD)).await;
    assert_eq!(reply.status, 200);
    reply.json()
}

pub(super) async fn access_token(addr: SocketAddr) -> String {
    login(addr).await["access"]
        .as_str()
        .expect("access is a string")
        .to_owned()
}

pub(super) const PROTECTED: [&str; 8] = [
    "/api/v1/claims/",
    "/api/v1/claims/1/",
    "/api/v1/payers/summary/",
    "/api/v1/drift-events/",
    "/api/v1/drift-events/?severity=high",
    "/api/v1/dashboard/",
    "/api/v1/uploads/",
    "/api/v1/reports/",
];
