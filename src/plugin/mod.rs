//! The plugin API server on a unix socket: `/Plugin.Activate`, the authorization hooks and
//! `/status`.
//!
//! dockerd decides that a managed plugin is up when its socket accepts a connection, about
//! 10 s after it starts the plugin, so the socket is bound before anything else happens.
//! dockerd sends the authorization hooks only when the plugin is listed in the daemon's
//! `authorization-plugins`; they allow every request, so listing it changes nothing.

mod authz;

use std::convert::Infallible;
use std::io;
use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use thiserror::Error;
use tokio::net::UnixListener;

use crate::status::Status;

/// The media type of plugin API replies.
const PLUGIN_CONTENT_TYPE: &str = "application/vnd.docker.plugins.v1+json";

/// The largest request body read; the Engine forwards API request bodies of up to 4 MiB to
/// authorization plugins.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A failure to set up the plugin socket.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("failed to create the socket directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("failed to remove the stale socket {path}: {source}")]
    RemoveStale { path: PathBuf, source: io::Error },
    #[error("failed to bind the plugin socket {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
}

/// Binds the plugin socket, replacing a socket file left by an earlier run.
pub fn bind(path: &Path) -> Result<UnixListener, ServerError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ServerError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(ServerError::RemoveStale {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    UnixListener::bind(path).map_err(|source| ServerError::Bind {
        path: path.to_path_buf(),
        source,
    })
}

/// Serves plugin API requests and `GET /status` until the task is dropped, one task per
/// connection.
pub async fn serve(listener: UnixListener, status: Status) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // EMFILE and similar are transient: back off a little instead of spinning.
                tracing::warn!(%error, "failed to accept a plugin API connection");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let status = status.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, status.clone()));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "plugin API connection ended with an error");
            }
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    status: Status,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    tracing::trace!(%method, %path, "plugin API request");

    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let message = format!("failed to read the request body: {error}");
            return Ok(reply(StatusCode::BAD_REQUEST, &authz::error_body(&message)));
        }
    };

    let response = match (method, path.as_str()) {
        (Method::POST, "/Plugin.Activate") => reply(
            StatusCode::OK,
            &serde_json::json!({ "Implements": ["authz"] }),
        ),
        (Method::GET, "/status") => match serde_json::to_value(status.report()) {
            Ok(report) => reply(StatusCode::OK, &report),
            Err(error) => {
                let message = format!("failed to encode the status report: {error}");
                reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &authz::error_body(&message),
                )
            }
        },
        (Method::POST, "/AuthZPlugin.AuthZReq" | "/AuthZPlugin.AuthZRes") => {
            let (status, body) = authz::decide(&path, &body);
            reply(status, &body)
        }
        (_, path) => {
            let message = format!("unknown plugin API endpoint {path}");
            reply(StatusCode::NOT_FOUND, &authz::error_body(&message))
        }
    };
    Ok(response)
}

fn reply(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(PLUGIN_CONTENT_TYPE),
    );
    response
}
