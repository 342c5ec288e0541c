//! The one-shot commands: `apply` applies labels now, `check` validates them.

pub mod apply;
pub mod check;

use tracing_subscriber::EnvFilter;

/// Sends log lines to standard error, filtered by LOG_LEVEL when it is set, else by
/// `default_filter`, so that a command's own output on standard output stays clean.
fn init_logging(default_filter: &str) {
    let filter = std::env::var("LOG_LEVEL")
        .ok()
        .and_then(|level| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
