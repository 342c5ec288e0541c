//! The dehandler command line.

mod commands;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

use dehandler::config::Settings;
use dehandler::configure::Configurator;
use dehandler::instance;
use dehandler::journal::Journal;
use dehandler::logging::{self, TurnWriter};
use dehandler::plugin;
use dehandler::scripts::ScriptRunner;
use dehandler::service;
use dehandler::status::{self, Status};
use dehandler::watcher::Watcher;

/// How long a fatal start-up error waits before the process exits. dockerd restarts a
/// plugin that exits at once, with no backoff, so this keeps a failing plugin from spinning.
const FATAL_EXIT_DELAY: Duration = Duration::from_secs(5);

/// How often an instance that waits for another one to go away tries the lock again.
const LOCK_RETRY: Duration = Duration::from_secs(3);

/// Configures container networking from labels, from outside the container.
#[derive(Debug, Parser)]
#[command(name = "dehandler", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the plugin socket and configure every labelled container that starts
    Serve(Settings),
    /// Print what the running instance did: each container start with its changes, and the
    /// latest errors
    Status(status::StatusArgs),
    /// Install dehandler as a systemd service that starts and stops with docker.service
    InstallService(service::InstallArgs),
    /// Disable and remove the systemd service and its binary, keeping /etc/default/dehandler
    UninstallService(service::UninstallArgs),
    /// Apply one label value to a network namespace now, or a running container's labels again
    Apply(commands::apply::ApplyArgs),
    /// Check the dehandler labels of compose files and --label arguments, changing nothing
    Check(commands::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(settings) => serve(settings),
        Command::Status(args) => status::client::run(args),
        Command::InstallService(args) => service::run_install(args),
        Command::UninstallService(args) => service::run_uninstall(args),
        Command::Apply(args) => commands::apply::run(args),
        Command::Check(args) => commands::check::run(args),
    }
}

fn init_logging(level: &str) {
    // A bare level applies to dehandler; the libraries it uses log warnings and errors only,
    // so that `debug` does not print every Engine API reply. Directives apply as written.
    let filter = match level {
        "error" | "warn" | "info" | "debug" | "trace" => format!("warn,dehandler={level}"),
        directives => directives.to_string(),
    };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|error| {
        eprintln!("invalid LOG_LEVEL {filter:?} ({error}); using info");
        EnvFilter::new("info")
    });
    // dockerd stores plugin output in its own log with its own timestamps: plain text, no
    // colours.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(TurnWriter)
        .with_ansi(false)
        .init();
}

/// Runs the server, then writes the log lines that its runtime had not written yet.
fn serve(settings: Settings) -> ExitCode {
    let code = serve_on_runtime(settings);
    logging::flush();
    code
}

// One thread runs every task: a container start is mostly waiting on the Engine API and
// netlink. With worker threads, replies woke other threads, and in a burst of starts that
// took about a quarter of the plugin's CPU time.
#[tokio::main(flavor = "current_thread")]
async fn serve_on_runtime(settings: Settings) -> ExitCode {
    init_logging(&settings.log_level);

    // The socket comes first: dockerd disables a plugin whose socket does not accept a
    // connection within about 10 s.
    let listener = match plugin::bind(&settings.socket) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!("{error}; exiting in {FATAL_EXIT_DELAY:?}");
            tokio::time::sleep(FATAL_EXIT_DELAY).await;
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(socket = %settings.socket.display(), version = env!("CARGO_PKG_VERSION"), "dehandler serving");
    let status = Status::new(&settings.label_prefix);
    tokio::spawn(plugin::serve(listener, status.clone()));

    // The lock is taken before the journal is opened: a service and a container may share
    // one state directory, and only the instance that holds the lock may write to it.
    let lock = tokio::select! {
        result = instance::acquire_waiting(&settings.label_prefix, LOCK_RETRY) => match result {
            Ok(lock) => lock,
            Err(error) => {
                tracing::error!("{error}; exiting in {FATAL_EXIT_DELAY:?}");
                tokio::time::sleep(FATAL_EXIT_DELAY).await;
                return ExitCode::FAILURE;
            }
        },
        () = wait_for_shutdown() => {
            let _ = std::fs::remove_file(&settings.socket);
            tracing::info!("dehandler stopped");
            return ExitCode::SUCCESS;
        }
    };
    tracing::info!(
        lock = lock.name(),
        "instance lock taken; configuring containers"
    );
    status.set_active();

    let journal = match Journal::open(&settings.state_dir) {
        Ok(journal) => journal,
        Err(error) => {
            tracing::error!("{error}; exiting in {FATAL_EXIT_DELAY:?}");
            tokio::time::sleep(FATAL_EXIT_DELAY).await;
            return ExitCode::FAILURE;
        }
    };
    let scripts = ScriptRunner::new(settings.scripts_dir.clone(), settings.script_timeout);
    let configurator = Configurator::new(
        settings.label_prefix.clone(),
        settings.limits(),
        settings.host_routes,
        scripts,
        journal,
    )
    .with_status(status);
    let watcher = Watcher::new(
        settings.docker_socket_path().to_string(),
        configurator,
        settings.trust_image_labels,
    );
    tokio::spawn(watcher.run());

    wait_for_shutdown().await;
    drop(lock);
    let _ = std::fs::remove_file(&settings.socket);
    tracing::info!("dehandler stopped");
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    let mut terminate = signal(SignalKind::terminate()).expect("failed to install SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("failed to install SIGINT handler");
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
        _ = interrupt.recv() => tracing::info!("SIGINT received"),
    }
}
