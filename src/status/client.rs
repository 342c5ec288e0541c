//! `dehandler status`: finds the running instances' sockets, sends `GET /status` to each and
//! prints the replies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyperlocal::{UnixClientExt, UnixConnector, Uri};
use thiserror::Error;

use super::{InstanceState, Report, print};

/// The plugin socket of a service or an instance started by hand.
const DEFAULT_SOCKET: &str = "/run/docker/plugins/dehandler.sock";

/// The directory in which dockerd creates a directory per managed plugin, named after the
/// plugin's id, that contains the plugin's socket.
const PLUGINS_DIR: &str = "/run/docker/plugins";

/// The socket name of config.json.
const SOCKET_NAME: &str = "dehandler.sock";

/// How long one status request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `dehandler status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print JSON, one object per instance and line, instead of text
    #[arg(long)]
    pub json: bool,

    /// Plugin socket of the instance to ask; without it, /run/docker/plugins/dehandler.sock
    /// and every /run/docker/plugins/*/dehandler.sock are tried
    #[arg(long)]
    pub socket: Option<PathBuf>,
}

/// A failed status request.
#[derive(Debug, Error)]
pub enum StatusError {
    #[error("failed to send GET /status to {socket}: {message}")]
    Request { socket: PathBuf, message: String },
    #[error("GET /status to {socket} timed out after {REQUEST_TIMEOUT:?}")]
    TimedOut { socket: PathBuf },
    #[error("GET /status to {socket} returned {status}: {body}")]
    Status {
        socket: PathBuf,
        status: hyper::StatusCode,
        body: String,
    },
    #[error("GET /status to {socket} returned invalid JSON: {source}")]
    Json {
        socket: PathBuf,
        source: serde_json::Error,
    },
}

/// Runs `dehandler status` and returns the exit code: failure when no instance replied.
pub fn run(args: StatusArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dehandler status: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_async(args))
}

async fn run_async(args: StatusArgs) -> ExitCode {
    let sockets = match &args.socket {
        Some(socket) => vec![socket.clone()],
        None => candidate_sockets(Path::new(DEFAULT_SOCKET), Path::new(PLUGINS_DIR)),
    };
    if sockets.is_empty() {
        eprintln!(
            "dehandler status: no dehandler socket found at {DEFAULT_SOCKET} or {PLUGINS_DIR}/*/{SOCKET_NAME}; \
             pass --socket PATH, or for the container run `docker exec dehandler /dehandler status`"
        );
        return ExitCode::FAILURE;
    }

    let mut replies = Vec::new();
    let mut failures = Vec::new();
    for socket in sockets {
        match fetch(&socket).await {
            Ok(report) => replies.push((socket, report)),
            Err(error) => failures.push(error),
        }
    }
    if replies.is_empty() {
        for error in &failures {
            eprintln!("dehandler status: {error}");
        }
        eprintln!("dehandler status: no dehandler instance replied; is it running?");
        return ExitCode::FAILURE;
    }

    // The active instance first: the others wait for it.
    replies.sort_by_key(|(_, report)| report.state != InstanceState::Active);
    for (socket, report) in &replies {
        if args.json {
            let mut value = serde_json::to_value(report).unwrap_or_default();
            value["socket"] = serde_json::Value::from(socket.display().to_string());
            println!("{value}");
        } else {
            print!("{}", print::text(socket, report));
        }
    }
    ExitCode::SUCCESS
}

/// Lists the sockets that exist: the default socket, then the socket of every managed
/// plugin directory, sorted by path.
fn candidate_sockets(default: &Path, plugins_dir: &Path) -> Vec<PathBuf> {
    let mut sockets = Vec::new();
    if default.exists() {
        sockets.push(default.to_path_buf());
    }
    let mut plugin_sockets: Vec<PathBuf> = std::fs::read_dir(plugins_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join(SOCKET_NAME))
        .filter(|path| path.exists())
        .collect();
    plugin_sockets.sort();
    sockets.extend(plugin_sockets);
    sockets
}

/// Sends `GET /status` to one socket and parses the reply.
pub async fn fetch(socket: &Path) -> Result<Report, StatusError> {
    let client: Client<UnixConnector, Full<Bytes>> = Client::unix();
    let uri: hyper::Uri = Uri::new(socket, "/status").into();
    let request_error = |message: String| StatusError::Request {
        socket: socket.to_path_buf(),
        message,
    };

    let exchange = async {
        let response = client
            .get(uri)
            .await
            .map_err(|error| request_error(describe(&error)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| request_error(error.to_string()))?
            .to_bytes();
        Ok::<_, StatusError>((status, body))
    };
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| StatusError::TimedOut {
            socket: socket.to_path_buf(),
        })??;

    if !status.is_success() {
        return Err(StatusError::Status {
            socket: socket.to_path_buf(),
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    serde_json::from_slice(&body).map_err(|source| StatusError::Json {
        socket: socket.to_path_buf(),
        source,
    })
}

/// Returns an error with its causes, which hyper's client keeps out of its own message.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_default_then_plugins() {
        let dir = std::env::temp_dir().join(format!("dehandler-status-{}", std::process::id()));
        let plugins = dir.join("plugins");
        for id in ["bbb", "aaa", "ccc"] {
            std::fs::create_dir_all(plugins.join(id)).unwrap();
        }
        std::fs::write(plugins.join("aaa").join(SOCKET_NAME), "").unwrap();
        std::fs::write(plugins.join("bbb").join(SOCKET_NAME), "").unwrap();
        let default = plugins.join(SOCKET_NAME);
        std::fs::write(&default, "").unwrap();

        let found = candidate_sockets(&default, &plugins);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            found,
            [
                default.clone(),
                plugins.join("aaa").join(SOCKET_NAME),
                plugins.join("bbb").join(SOCKET_NAME),
            ]
        );
    }

    #[test]
    fn candidates_none_when_missing() {
        let missing = Path::new("/nonexistent/dehandler");
        assert!(candidate_sockets(&missing.join(SOCKET_NAME), missing).is_empty());
    }
}
