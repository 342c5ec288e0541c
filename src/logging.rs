//! Standard error for the log, written once per turn of the tokio runtime.
//!
//! A container start logs a line for each change. Each `write` to standard error wakes the
//! process that reads it, which for the plugin is containerd's shim and then dockerd, and these
//! compete with dehandler for the CPU while it applies the next change. [`TurnWriter`] gathers
//! the lines logged while tasks run and writes them, in order, with one `write` from a task
//! queued behind those tasks.

use std::io::{self, Write};
use std::sync::Mutex;

use tracing_subscriber::fmt::MakeWriter;

/// Lines are written at once when the gathered text reaches this size.
const FLUSH_BYTES: usize = 64 * 1024;

/// The lines gathered since the last write to standard error.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A [`MakeWriter`] for the fmt subscriber. Inside a tokio runtime, the first line gathered
/// queues the task that writes them all. Outside a runtime, each line is written at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurnWriter;

impl<'a> MakeWriter<'a> for TurnWriter {
    type Writer = TurnWriter;

    fn make_writer(&'a self) -> TurnWriter {
        TurnWriter
    }
}

impl Write for TurnWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            flush();
            io::stderr().lock().write_all(bytes)?;
            return Ok(bytes.len());
        };
        let mut pending = lock();
        let first = pending.is_empty();
        pending.extend_from_slice(bytes);
        if pending.len() >= FLUSH_BYTES {
            write_out(&mut pending);
        } else if first {
            runtime.spawn(async { flush() });
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the gathered lines to standard error. A process that logged from a runtime calls
/// this before it exits, because the runtime drops the queued write task when it shuts down.
/// NOTE: a process that aborts loses the lines of its last turn, which were not written yet.
pub fn flush() {
    write_out(&mut lock());
}

fn lock() -> std::sync::MutexGuard<'static, Vec<u8>> {
    // A writer appends whole lines, so a poisoned lock still guards valid text.
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_out(pending: &mut Vec<u8>) {
    if pending.is_empty() {
        return;
    }
    // A failed write of the log cannot be logged, so it is dropped, as the fmt subscriber
    // drops it too.
    let _ = io::stderr().lock().write_all(pending);
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_turn_lines_written_together() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut writer = TurnWriter;
            writer.write_all(b"logging test: first line\n").unwrap();
            writer.write_all(b"logging test: second line\n").unwrap();
            assert_eq!(
                lock().as_slice(),
                b"logging test: first line\nlogging test: second line\n"
            );

            tokio::task::yield_now().await;
            assert!(lock().is_empty(), "lines still gathered after the turn");
        });
    }
}
