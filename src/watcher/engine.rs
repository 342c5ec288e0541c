//! The Engine API client: bollard for most requests, and a container inspect that decodes
//! only the fields dehandler reads.
//!
//! A container start waits for its inspect, and bollard decodes the whole response, some
//! 5 KB of JSON, into its full model of a container. Decoding that took about 5 % of the
//! plugin's CPU time in a burst of starts, so the inspect goes through the same connection
//! pool with a smaller model.

use std::collections::HashMap;
use std::time::Duration;

use bollard::{BollardRequest, Docker};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use serde::Deserialize;
use thiserror::Error;

/// How long an Engine API request may take, in seconds.
pub(super) const API_TIMEOUT_SECS: u64 = 30;

/// Extracts the body type of a request type, which bollard does not export by name.
trait RequestBody {
    type Body;
}

impl<B> RequestBody for hyper::Request<B> {
    type Body = B;
}

type PooledClient = Client<UnixConnector, <BollardRequest as RequestBody>::Body>;

/// A connection pool to one Engine API socket, shared by bollard and the inspect.
#[derive(Clone, Debug)]
pub(super) struct Engine {
    pub(super) docker: Docker,
    client: PooledClient,
    /// The socket path, as hyperlocal encodes it in a URI's host.
    host: String,
}

/// A failed container inspect.
#[derive(Debug, Error)]
pub(super) enum InspectError {
    #[error("no such container")]
    NotFound,
    #[error("the Engine API returned status {status}: {message}")]
    Status { status: u16, message: String },
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] hyper::http::Error),
    #[error("request failed: {0}")]
    Request(#[from] hyper_util::client::legacy::Error),
    #[error("failed to read the response: {0}")]
    Body(#[from] hyper::Error),
    #[error("invalid response: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("no response within {API_TIMEOUT_SECS} s")]
    Timeout,
}

impl Engine {
    /// Returns a client for an Engine API unix socket that keeps idle connections open for
    /// the next request. No connection is opened yet.
    ///
    /// bollard's own unix client opens a connection for every request and closes it after
    /// the response, so each container start would also pay for a `socket`, a `connect` and
    /// dockerd's accept before its inspect.
    pub(super) fn new(endpoint: &str) -> Result<Engine, bollard::errors::Error> {
        let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
        let client: PooledClient = Client::builder(TokioExecutor::new()).build(UnixConnector);
        let transport_client = client.clone();
        let transport = move |request: BollardRequest| {
            let response = transport_client.request(request);
            async move { response.await.map_err(bollard::errors::Error::from) }
        };
        // hyperlocal's connector takes the socket path from the URI's host, hex-encoded.
        let uri: hyper::Uri = hyperlocal::Uri::new(path, "/").into();
        let host = uri.host().unwrap_or_default().to_string();
        let docker = Docker::connect_with_custom_transport(
            transport,
            Some(format!("unix://{host}")),
            API_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )?;
        Ok(Engine {
            docker,
            client,
            host,
        })
    }

    /// Negotiates the API version with the daemon, for bollard's requests and the inspect.
    pub(super) async fn negotiate_version(self) -> Result<Engine, bollard::errors::Error> {
        let docker = self.docker.negotiate_version().await?;
        Ok(Engine { docker, ..self })
    }

    /// Inspects a container (`GET /containers/{id}/json`).
    pub(super) async fn inspect_container(
        &self,
        id: &str,
    ) -> Result<ContainerInspect, InspectError> {
        let version = self.docker.client_version();
        let uri = format!(
            "unix://{}/v{}.{}/containers/{id}/json",
            self.host, version.major_version, version.minor_version
        );
        let request = hyper::Request::get(uri)
            .header(hyper::header::ACCEPT, "application/json")
            .body(bollard::body_full(Default::default()))?;
        let timeout = Duration::from_secs(API_TIMEOUT_SECS);
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, InspectError>((status, body))
        };
        let (status, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| InspectError::Timeout)??;
        match status.as_u16() {
            200 => Ok(serde_json::from_slice(&body)?),
            404 => Err(InspectError::NotFound),
            status => Err(InspectError::Status {
                status,
                message: error_message(&body),
            }),
        }
    }
}

/// Returns the `message` of an Engine API error body, or the body itself.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => error.message,
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    }
}

/// The fields of a container inspect that dehandler reads. serde skips the others.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ContainerInspect {
    /// The name with Docker's leading `/`.
    #[serde(deserialize_with = "null_as_default")]
    pub(super) name: String,
    /// The image id, `sha256:…`.
    #[serde(deserialize_with = "null_as_default")]
    pub(super) image: String,
    pub(super) state: Option<ContainerState>,
    pub(super) host_config: Option<HostConfig>,
    pub(super) config: Option<ContainerConfig>,
    pub(super) network_settings: Option<NetworkSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ContainerState {
    #[serde(deserialize_with = "null_as_default")]
    pub(super) running: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub(super) pid: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub(super) started_at: String,
    pub(super) exit_code: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct HostConfig {
    pub(super) network_mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct ContainerConfig {
    pub(super) labels: Option<HashMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(super) struct NetworkSettings {
    pub(super) networks: Option<HashMap<String, Endpoint>>,
}

/// A container's endpoint on one network.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Endpoint {
    #[serde(rename = "NetworkID")]
    pub(super) network_id: Option<String>,
    #[serde(rename = "IPAddress")]
    pub(super) ip_address: Option<String>,
    #[serde(rename = "GlobalIPv6Address")]
    pub(super) global_ipv6_address: Option<String>,
}

/// Reads `null` as the type's default, as a missing field reads.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fields_of_a_real_inspect() {
        // Shaped like a Docker 20.10 inspect of a running container, with most fields left out.
        let body = r#"{
            "Id": "8e6f0cbb2c2d",
            "Created": "2026-12-05T00:46:58.1Z",
            "State": {"Status": "running", "Running": true, "Paused": false, "Pid": 16878,
                      "ExitCode": 0, "StartedAt": "2026-12-05T00:46:58.886Z"},
            "Image": "sha256:5b0f",
            "Name": "/web",
            "HostConfig": {"NetworkMode": "dhnet", "Dns": [], "Ulimits": null},
            "Config": {"Labels": {"docker-events.route": "add 192.0.2.0/24 via 10.0.0.1"},
                       "Env": null},
            "NetworkSettings": {"Networks": {"dhnet": {"NetworkID": "0a1b", "IPAddress":
                "198.18.9.10", "GlobalIPv6Address": "", "Aliases": null}}}
        }"#;

        let inspect: ContainerInspect = serde_json::from_str(body).unwrap();

        let state = inspect.state.unwrap();
        assert!(state.running);
        assert_eq!(state.pid, 16878);
        assert_eq!(state.started_at, "2026-12-05T00:46:58.886Z");
        assert_eq!(state.exit_code, Some(0));
        assert_eq!(inspect.name, "/web");
        assert_eq!(inspect.image, "sha256:5b0f");
        let mode = inspect.host_config.unwrap().network_mode;
        assert_eq!(mode.as_deref(), Some("dhnet"));
        let labels = inspect.config.unwrap().labels.unwrap();
        assert_eq!(
            labels["docker-events.route"],
            "add 192.0.2.0/24 via 10.0.0.1"
        );
        let networks = inspect.network_settings.unwrap().networks.unwrap();
        assert_eq!(networks["dhnet"].network_id.as_deref(), Some("0a1b"));
        assert_eq!(networks["dhnet"].ip_address.as_deref(), Some("198.18.9.10"));
    }

    #[test]
    fn decodes_nulls_as_missing() {
        let body = r#"{"Name": null, "State": {"Pid": null, "StartedAt": null},
            "Config": {"Labels": null}, "HostConfig": {}}"#;

        let inspect: ContainerInspect = serde_json::from_str(body).unwrap();

        assert_eq!(inspect.name, "");
        let state = inspect.state.unwrap();
        assert_eq!(state.pid, 0);
        assert_eq!(state.started_at, "");
        assert!(!state.running);
        assert!(inspect.config.unwrap().labels.is_none());
        assert!(inspect.host_config.unwrap().network_mode.is_none());
    }
}
