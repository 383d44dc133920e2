//! Ctrl-C and SIGTERM for the commands that send requests (`run`, `health`): the handlers,
//! and the ways a command waits for a signal and turns it into a stop reason.

use tokio::sync::watch;

use crate::engine::{Signal, StopReason};

/// Waits for the first signal.
pub(super) async fn next_signal(rx: &mut watch::Receiver<Signal>) -> Signal {
    loop {
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
        let s = *rx.borrow();
        if s != Signal::Run {
            return s;
        }
    }
}

/// The stop reason a signal stands for.
pub(super) fn stop_for(signal: Signal) -> StopReason {
    signal.stop().unwrap_or(StopReason::Interrupted)
}

/// Ctrl-C and SIGTERM stop the run gracefully; a second signal of either kind stops
/// waiting for requests in flight (the reports are still written); a third quits at once.
/// The handlers are installed before this returns, so a signal that comes before the
/// listening task first runs is heard, not the default (which kills the process with no
/// reports). The sender is never dropped, so the engine never sees a closed channel.
pub(super) fn listen_for_signals(tx: watch::Sender<Signal>) {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    tokio::spawn(async move {
        let mut heard = 0;
        loop {
            #[cfg(unix)]
            let signal = tokio::select! {
                () = next(&mut interrupt) => Signal::Interrupt,
                () = next(&mut terminate) => Signal::Terminate,
            };
            #[cfg(not(unix))]
            let signal = match tokio::signal::ctrl_c().await {
                Ok(()) => Signal::Interrupt,
                // No Ctrl-C handler here: keep the channel open rather than return.
                Err(_) => std::future::pending().await,
            };
            heard += 1;
            // Sent every time, even unchanged (the engine counts the second as "stop
            // waiting"), and before the note: whoever reads the note can rely on the state.
            tx.send_replace(signal);
            match heard {
                1 => crate::console::note(format_args!(
                    "stopping: waiting for requests in flight; signal again to stop waiting"
                )),
                2 => crate::console::note(format_args!(
                    "stopping now: requests in flight are abandoned; the reports are still written (signal again to quit at once)"
                )),
                _ => {
                    crate::console::note(format_args!("signalled again: quitting at once"));
                    std::process::exit(if signal == Signal::Interrupt {
                        130
                    } else {
                        143
                    });
                }
            }
        }
    });
}

/// The next delivery of a signal; never, when its handler could not be installed.
#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(s) = signal
        && s.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await;
}
