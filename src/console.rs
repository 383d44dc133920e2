//! Standard output and error as the commands write them: a write that fails (the reader
//! closed the pipe, as in `loadplan run … | head -1`) ends printing on that stream, never
//! the command, so a run still writes its files and keeps its exit code.

use std::io::{self, Write};

/// A stream that stops printing at its first failed write and reports success regardless.
#[derive(Debug)]
pub struct Console<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> Console<W> {
    /// Wraps a stream.
    pub fn new(inner: W) -> Self {
        Console {
            inner,
            closed: false,
        }
    }
}

impl<W: Write> Write for Console<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.closed && self.inner.write_all(buf).is_err() {
            self.closed = true;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.closed && self.inner.flush().is_err() {
            self.closed = true;
        }
        Ok(())
    }
}

/// Writes a line to standard error, ignoring failure: for the few messages sent from outside
/// a command's writers (signal handling, the progress line, `-v`).
pub(crate) fn note(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_stream_swallows_writes() {
        let mut c = Console::new(Closed);
        assert!(writeln!(c, "lost").is_ok());
        assert!(c.flush().is_ok());
        assert!(c.closed);
    }
}
