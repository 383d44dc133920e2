//! The embedded demo API: a loopback-only axum server that serves the reference scenario's
//! claims API, for `loadplan demo`, the example plans and the engine tests. Owns the server
//! lifecycle (`DemoServer`, `serve_foreground`); the routes, auth, dataset and knobs live in
//! the submodules. It never binds anything but 127.0.0.1.

mod auth;
mod data;
mod options;
mod protocol;
mod reply;
mod routes;
mod server;
mod stats;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use options::DemoOptions;
pub(crate) use stats::DemoStats;
pub use stats::Route;

/// How long `shutdown` lets in-flight requests (say, one under a long `--latency`) finish
/// before it abandons them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A demo server running in a background task. Dropping the handle also stops it
/// (gracefully, without waiting); call [`DemoServer::shutdown`] to wait for the stop.
#[derive(Debug)]
pub struct DemoServer {
    /// The bound address, always on 127.0.0.1.
    pub addr: SocketAddr,
    /// Live counters of what the server saw.
    pub stats: Arc<DemoStats>,
    stop: watch::Sender<bool>,
    task: JoinHandle<io::Result<()>>,
}

impl DemoServer {
    /// Binds 127.0.0.1:port (0 = ephemeral) and serves in a background tokio task.
    pub async fn start(opts: DemoOptions) -> io::Result<DemoServer> {
        // The OS's message ("Address already in use") does not say which address.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))
            .await
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot listen on 127.0.0.1:{}: {e}", opts.port),
                )
            })?;
        DemoServer::with_listener(listener, opts).await
    }

    /// Serves on a listener the caller bound (`opts.port` is ignored). The listener must be
    /// on a loopback address: the demo never answers other hosts.
    pub async fn with_listener(listener: TcpListener, opts: DemoOptions) -> io::Result<DemoServer> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the demo server only serves loopback, not `{addr}`"),
            ));
        }
        let (stop, stopped) = watch::channel(false);
        let app = server::App::new(&opts, stopped.clone())?;
        let stats = Arc::clone(&app.stats);
        let router = server::router(Arc::new(app));
        // Small JSON answers and latency measurements: Nagle's algorithm would only add delay.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let mut stopped = stopped;
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|&stop| stop).await;
                })
                .await
        });
        Ok(DemoServer {
            addr,
            stats,
            stop,
            task,
        })
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8000`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (stalled ones are dropped) and
    /// waits for the server task, at most 5 s (`SHUTDOWN_GRACE`).
    pub async fn shutdown(self) {
        let DemoServer { stop, mut task, .. } = self;
        // Fails only when nothing listens any more, i.e. the server already stopped.
        let _ = stop.send(true);
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Serves in the foreground until Ctrl-C/SIGTERM; prints `listening on http://127.0.0.1:PORT`
/// as the first stdout line (flush it).
pub(crate) async fn serve_foreground(opts: DemoOptions) -> io::Result<()> {
    let mut server = DemoServer::start(opts).await?;
    {
        // Scripts and tests wait for this line to learn the port, so flush it right away.
        let mut out = io::stdout().lock();
        writeln!(out, "listening on {}", server.base_url())?;
        out.flush()?;
    }
    let signal = tokio::select! {
        signal = shutdown_signal() => signal,
        // The server task ending on its own means it failed; report why.
        ended = &mut server.task => {
            return match ended {
                Ok(result) => result,
                Err(join) => Err(io::Error::other(join)),
            };
        }
    };
    server.shutdown().await;
    signal
}

/// Ctrl-C anywhere, and SIGTERM on Unix (what container runtimes and CI send).
async fn shutdown_signal() -> io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            ctrl_c = tokio::signal::ctrl_c() => ctrl_c,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
