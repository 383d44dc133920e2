//! A virtual user's own HTTP connections, on hyper's connection API. An HTTP/1.1
//! connection is driven by the user's task itself while it waits for an answer: a request
//! costs no hand-off to a connection task and back, and no pool lock, since a user never
//! shares its connections (Locust and k6 keep them per user too). HTTP/2 connections run as
//! tasks of their own, as streams need one. Redirects, cookies and gzip, which a client
//! library would add as layers around every request, cost nothing here until an answer
//! asks for them.

use std::future::Future;
use std::io::Read as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::Uri;
use http::{Method, Request};
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::cookie::CookieStore as _;

use super::cookies::Jar;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{Answer, Failure, Outgoing, classify, cookie_values, read_capped};
use crate::metrics::FailureKind;
use crate::plan::model::HttpVersion;

/// What every user's connections share.
#[derive(Debug)]
pub struct Config {
    /// TLS, with ALPN set for the plan's HTTP version.
    pub tls: Arc<ClientConfig>,
    /// The plan's HTTP version.
    pub version: HttpVersion,
    /// Time allowed to connect (and finish a TLS handshake).
    pub connect_timeout: Duration,
    /// Redirects followed; 0 returns 3xx answers as they are.
    pub max_redirects: usize,
    /// Headers that carry credentials for the target's origin (besides `Authorization`
    /// and `Cookie`), dropped on a redirect to another origin.
    pub origin_bound: Vec<header::HeaderName>,
}

/// Connections a user keeps open; a redirect elsewhere opens one more, up to this many.
const MAX_OPEN: usize = 8;

/// One user's connections and cookies.
pub struct Direct {
    config: Arc<Config>,
    open: Vec<Open>,
    jar: Option<Jar>,
    // The jar is consulted (which parses the URL) only once an answer has set a cookie.
    cookies_seen: bool,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("open", &self.open.len())
            .finish_non_exhaustive()
    }
}

struct Open {
    origin: Origin,
    link: Link,
}

/// Where a connection goes: scheme, host (lower case, without brackets) and port (the
/// scheme's default when the URL has none), so `http://h` and `http://H:80` share one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(uri: &Uri) -> Result<Origin, Failure> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                // The URL itself may carry secrets in its query: only the scheme is named.
                return Err(Failure::new(
                    FailureKind::Template,
                    format!(
                        "`{}:` URLs cannot be sent (only http and https)",
                        other.unwrap_or("")
                    ),
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Failure::new(FailureKind::Template, "the URL names no host"))?;
        Ok(Origin {
            https,
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        })
    }

    /// The `Host` header: the host, and the port unless it is the scheme's default.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.https { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// `http://user:password@host/` asks for basic credentials, as browsers and reqwest read it.
fn userinfo_auth(uri: &Uri) -> Option<HeaderValue> {
    use base64::Engine as _;
    let (userinfo, _) = uri.authority()?.as_str().rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let token = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        decode(user),
        decode(password)
    ));
    let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

enum Link {
    H1 {
        sender: http1::SendRequest<Full<Bytes>>,
        // Dropped once it ends: that closes the sender's side too, which a waiting
        // `ready()` needs to learn the connection is gone.
        conn: Option<Pin<Box<H1Conn>>>,
    },
    H2(http2::SendRequest<Full<Bytes>>),
}

type H1Conn = http1::Connection<TokioIo<Stream>, Full<Bytes>>;

impl Link {
    fn is_closed(&self) -> bool {
        match self {
            Link::H1 { conn, sender } => conn.is_none() || sender.is_closed(),
            Link::H2(sender) => sender.is_closed(),
        }
    }
}

/// Why an exchange did not complete: a request the connection gave back unsent (it had
/// closed) may go on a new connection.
enum ExchangeError {
    Unsent(Box<Request<Full<Bytes>>>),
    Failed(Failure),
}

impl Direct {
    /// A user's empty set of connections; `cookies` keeps a cookie jar.
    pub fn new(config: Arc<Config>, cookies: bool) -> Self {
        Direct {
            config,
            open: Vec::new(),
            jar: cookies.then(Jar::default),
            cookies_seen: false,
        }
    }

    /// Opens a connection to `uri`'s origin, if it has none and one can be opened.
    pub async fn warm(&mut self, uri: &Uri) {
        if let Ok(origin) = Origin::of(uri) {
            let _ = self.link(&origin).await;
        }
    }

    /// Drops every connection: after a timeout an answer may still be on its way, and the
    /// next request must not read it.
    pub fn abandon(&mut self) {
        self.open.clear();
    }

    /// Sends a request, following redirects, and reads at most `max_body` bytes of the
    /// final answer's body (decompressed when it came gzipped).
    pub async fn exchange(&mut self, request: Outgoing, max_body: u64) -> Result<Answer, Failure> {
        let mut request = request;
        let mut bytes_in = 0u64;
        let mut hops = 0;
        let mut cookies = Vec::new();
        loop {
            let (status, mut headers, body, n) = self.once(&request, max_body).await?;
            bytes_in = bytes_in.saturating_add(n);
            cookies.extend(cookie_values(&headers));
            if let Some(next) = self.redirect(status, &headers, &request)? {
                if hops == self.config.max_redirects {
                    return Err(Failure::new(
                        FailureKind::Status,
                        format!("HTTP {status}: stopped after {hops} redirects"),
                    ));
                }
                hops = hops.saturating_add(1);
                request = next;
                continue;
            }
            let wire_truncated = n > body.len() as u64;
            // HEAD, 204 and 304 answers carry a GET's headers without its body.
            let (body, truncated) = if !body.is_empty()
                && headers
                    .get(header::CONTENT_ENCODING)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
            {
                gunzip(&body, max_body, wire_truncated)?
            } else {
                (body, wire_truncated)
            };
            return Ok(Answer {
                status,
                latency: Duration::ZERO,
                body,
                bytes_in,
                truncated,
                cookies,
                content_type: headers.remove(header::CONTENT_TYPE),
            });
        }
    }

    /// One request and its answer: status, headers, kept body, body bytes received.
    async fn once(
        &mut self,
        request: &Outgoing,
        max_body: u64,
    ) -> Result<(u16, HeaderMap, Bytes, u64), Failure> {
        let origin = Origin::of(&request.uri)?;
        let (mut headers, cookie_url) = self.headers_for(request);
        let mut i = self.link(&origin).await?;
        // HTTP/2 takes the absolute URI; HTTP/1.1 the path, with the origin in `Host`.
        let uri = if matches!(self.open[i].link, Link::H2(_)) {
            request.uri.clone()
        } else {
            if !headers.contains_key(header::HOST)
                && let Ok(host) = HeaderValue::from_str(&origin.host_header())
            {
                headers.insert(header::HOST, host);
            }
            request
                .uri
                .path_and_query()
                .map_or_else(|| Uri::from_static("/"), |pq| Uri::from(pq.clone()))
        };
        let mut r = Request::new(Full::new(request.body.clone()));
        *r.method_mut() = request.method.clone();
        *r.uri_mut() = uri;
        *r.headers_mut() = headers;
        // A kept-alive connection the server closed while the user was idle gives the
        // request back unsent: it goes once more, on a new connection.
        let mut fresh = false;
        let answer = loop {
            let outcome = match &mut self.open[i].link {
                Link::H2(sender) => h2_exchange(sender, r, max_body).await,
                link => h1_exchange(link, r, max_body).await,
            };
            match outcome {
                Err(ExchangeError::Unsent(back)) if !fresh => {
                    self.open.remove(i);
                    i = self.link(&origin).await?;
                    fresh = true;
                    r = *back;
                }
                Err(ExchangeError::Unsent(_)) => {
                    break Err(Failure::new(
                        FailureKind::Reset,
                        "connection closed before the request was sent",
                    ));
                }
                Err(ExchangeError::Failed(f)) => break Err(f),
                Ok(answer) => break Ok(answer),
            }
        };
        if answer.is_err() || self.open[i].link.is_closed() {
            self.open.remove(i);
        }
        let (status, headers, body, n) = answer?;
        self.keep_cookies(&headers, request, cookie_url);
        Ok((status, headers, body, n))
    }

    /// A request's own headers, with what the plan did not set added: `Accept-Encoding:
    /// gzip`, basic auth from the URL's userinfo, the jar's cookies. Also the URL parsed for
    /// the jar, when it was needed (the answer's cookies are kept under it).
    fn headers_for(&self, request: &Outgoing) -> (HeaderMap, Option<url::Url>) {
        let mut headers = request.headers.to_map();
        if !headers.contains_key(header::ACCEPT_ENCODING) {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        if let Some(basic) = userinfo_auth(&request.uri)
            && !headers.contains_key(header::AUTHORIZATION)
        {
            headers.insert(header::AUTHORIZATION, basic);
        }
        let cookie_url = match &self.jar {
            Some(_) if self.cookies_seen => url::Url::parse(&request.uri.to_string()).ok(),
            _ => None,
        };
        if let (Some(jar), Some(url)) = (&self.jar, &cookie_url)
            && !headers.contains_key(header::COOKIE)
            && let Some(cookies) = jar.cookies(url)
        {
            headers.insert(header::COOKIE, cookies);
        }
        (headers, cookie_url)
    }

    /// Keeps the cookies an answer sets, under `cookie_url` when the request had one.
    fn keep_cookies(
        &mut self,
        headers: &HeaderMap,
        request: &Outgoing,
        cookie_url: Option<url::Url>,
    ) {
        if let Some(jar) = &self.jar
            && headers.contains_key(header::SET_COOKIE)
        {
            let url = cookie_url.or_else(|| url::Url::parse(&request.uri.to_string()).ok());
            if let Some(url) = url {
                jar.set_cookies(&mut headers.get_all(header::SET_COOKIE).iter(), &url);
            }
            self.cookies_seen = true;
        }
    }

    /// The index of an open connection to the origin, opening one when there is none.
    async fn link(&mut self, origin: &Origin) -> Result<usize, Failure> {
        // An HTTP/2 connection the server ended (GOAWAY) while idle is gone for good.
        self.open.retain(|o| !o.link.is_closed());
        if let Some(i) = self.open.iter().position(|o| o.origin == *origin) {
            return Ok(i);
        }
        let link = connect(&self.config, origin).await?;
        if self.open.len() == MAX_OPEN {
            self.open.remove(0);
        }
        let i = self.open.len();
        self.open.push(Open {
            origin: origin.clone(),
            link,
        });
        Ok(i)
    }

    /// The request a redirect answer asks for, if it is one to follow.
    fn redirect(
        &self,
        status: u16,
        headers: &HeaderMap,
        request: &Outgoing,
    ) -> Result<Option<Outgoing>, Failure> {
        if self.config.max_redirects == 0 || !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok(None);
        }
        let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
            return Ok(None);
        };
        let invalid = |e: String| {
            Failure::new(
                FailureKind::Status,
                format!("HTTP {status}: redirect to {e}"),
            )
        };
        let next = url::Url::parse(&request.uri.to_string())
            .and_then(|base| base.join(location))
            .map_err(|e| invalid(format!("an invalid location: {e}")))?;
        let uri: Uri = next
            .as_str()
            .parse()
            .map_err(|e| invalid(format!("an invalid location: {e}")))?;
        let mut out = request.clone();
        // As browsers do: 303 (but for HEAD), and 301/302 after a POST, continue as a GET
        // without a body.
        if (status == 303 && request.method != Method::HEAD)
            || (matches!(status, 301 | 302) && request.method == Method::POST)
        {
            out.method = Method::GET;
            out.body = Bytes::new();
            for h in [
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
                header::CONTENT_ENCODING,
                header::TRANSFER_ENCODING,
            ] {
                out.headers.remove(&h);
            }
        }
        if Origin::of(&uri).ok() != Origin::of(&request.uri).ok() {
            // Credentials are for the origin they were meant for, and so is a set `Host`.
            for h in [
                header::AUTHORIZATION,
                header::COOKIE,
                header::PROXY_AUTHORIZATION,
                header::HOST,
            ]
            .iter()
            .chain(&self.config.origin_bound)
            {
                out.headers.remove(h);
            }
        }
        out.uri = uri;
        Ok(Some(out))
    }
}

/// Polls `work` and the connection that serves it in the same task until `work` is done.
/// Polling the connection a second time lets it act on what `work` just asked (send the
/// request, read the body it now wants) without waiting for another wake-up.
async fn drive<F: Future>(conn: &mut Option<Pin<Box<H1Conn>>>, work: F) -> F::Output {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        for _ in 0..2 {
            if conn
                .as_mut()
                .is_some_and(|c| c.as_mut().poll(cx).is_ready())
            {
                *conn = None;
            }
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
        }
        Poll::Pending
    })
    .await
}

type Exchanged = (u16, HeaderMap, Bytes, u64);

async fn h1_exchange(
    link: &mut Link,
    request: Request<Full<Bytes>>,
    max_body: u64,
) -> Result<Exchanged, ExchangeError> {
    let Link::H1 { sender, conn } = link else {
        return Err(ExchangeError::Unsent(Box::new(request)));
    };
    drive(conn, async move {
        if sender.ready().await.is_err() {
            return Err(ExchangeError::Unsent(Box::new(request)));
        }
        let response = sender.try_send_request(request).await.map_err(unsent)?;
        read_response(response, max_body).await
    })
    .await
}

async fn h2_exchange(
    sender: &mut http2::SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
    max_body: u64,
) -> Result<Exchanged, ExchangeError> {
    if sender.ready().await.is_err() {
        return Err(ExchangeError::Unsent(Box::new(request)));
    }
    let response = sender.try_send_request(request).await.map_err(unsent)?;
    read_response(response, max_body).await
}

/// A request the connection gave back, or the failure of one it had sent.
fn unsent(mut e: hyper::client::conn::TrySendError<Request<Full<Bytes>>>) -> ExchangeError {
    match e.take_message() {
        Some(back) => ExchangeError::Unsent(Box::new(back)),
        None => ExchangeError::Failed(classify(e.error(), true, FailureKind::Reset)),
    }
}

async fn read_response(
    response: http::Response<hyper::body::Incoming>,
    max_body: u64,
) -> Result<Exchanged, ExchangeError> {
    let (parts, body) = response.into_parts();
    let (body, n) = read_capped(body, max_body)
        .await
        .map_err(|e| ExchangeError::Failed(classify(&e, true, FailureKind::Body)))?;
    Ok((parts.status.as_u16(), parts.headers, body, n))
}

/// Opens a connection: TCP, TLS for https (HTTP/2 when the server picks it), then the
/// HTTP handshake.
async fn connect(config: &Config, origin: &Origin) -> Result<Link, Failure> {
    let (https, bare, port) = (origin.https, origin.host.as_str(), origin.port);
    let work = async {
        let tcp = tcp_connect(bare, port).await?;
        let (stream, h2) = if https {
            let name = rustls::pki_types::ServerName::try_from(bare.to_owned()).map_err(|_| {
                Failure::new(
                    FailureKind::Connect,
                    format!("`{bare}` is not a valid TLS server name"),
                )
            })?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&config.tls))
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    Failure::new(FailureKind::Connect, format!("TLS handshake failed: {e}"))
                })?;
            // `http2` offers only `h2`; a server that picks nothing by ALPN still gets
            // HTTP/2 then, as without TLS, rather than a silent fall back to HTTP/1.1.
            let h2 = match tls.get_ref().1.alpn_protocol() {
                Some(protocol) => protocol == b"h2",
                None => config.version == HttpVersion::Http2,
            };
            (Stream::Tls(Box::new(tls)), h2)
        } else {
            (Stream::Plain(tcp), config.version == HttpVersion::Http2)
        };
        let io = TokioIo::new(stream);
        let handshake = |e: hyper::Error| classify(&e, true, FailureKind::Connect);
        if h2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(handshake)?;
            // Ends when the last sender is dropped.
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Link::H2(sender))
        } else {
            let (sender, conn) = http1::handshake(io).await.map_err(handshake)?;
            Ok(Link::H1 {
                sender,
                conn: Some(Box::pin(conn)),
            })
        }
    };
    tokio::time::timeout(config.connect_timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::new(
                FailureKind::Connect,
                format!(
                    "connect timed out after {}",
                    crate::plan::units::format_duration(config.connect_timeout)
                ),
            ))
        })
}

async fn tcp_connect(host: &str, port: u16) -> Result<TcpStream, Failure> {
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| {
        Failure::new(
            FailureKind::Connect,
            format!("cannot resolve `{host}`: {e}"),
        )
    })?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                // Requests are written whole: waiting to coalesce them only adds latency.
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::new(
        FailureKind::Connect,
        match last {
            Some(e) => format!("cannot connect to {host}:{port}: {e}"),
            None => format!("`{host}` has no address"),
        },
    ))
}

/// Decompresses a gzipped body, keeping at most `max` bytes. A body cut at the cap ends
/// early, which is no error.
fn gunzip(body: &Bytes, max: u64, cut: bool) -> Result<(Bytes, bool), Failure> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(&body[..]).take(max.saturating_add(1));
    if let Err(e) = decoder.read_to_end(&mut out)
        && !cut
    {
        return Err(Failure::new(
            FailureKind::Body,
            format!("cannot decompress the gzip body: {e}"),
        ));
    }
    let truncated = cut || out.len() as u64 > max;
    out.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    Ok((Bytes::from(out), truncated))
}

/// A connection's byte stream: plain TCP or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

// Test arithmetic on literals cannot overflow, and a panic there fails only the test.
#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
#[path = "direct_tests.rs"]
mod scripted;
