//! Follows the Engine API: a sweep of the containers, then their events.
//!
//! The watcher records a `since` time before each sweep, so a container that starts during
//! the sweep is seen by the sweep, by the event stream, or by both. The journal makes sure a
//! start is applied once. When the stream ends or fails (a daemon restart, for one), the
//! watcher reconnects with backoff and sweeps again. The sweep also finishes what events were
//! missed while dehandler was down: host routes of containers that stopped are deleted and
//! the journals of removed containers dropped.

mod backoff;
mod engine;
mod inspect;
mod queue;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::StreamExt;
use thiserror::Error;

use crate::configure::Configurator;
use crate::journal;
use crate::scripts::short_id;

pub use backoff::Backoff;
pub use queue::ContainerQueue;

use engine::Engine;
use inspect::Inspector;

/// A failure to talk to the Engine API.
#[derive(Debug, Error)]
pub enum WatchError {
    #[error("failed to connect to the Engine API at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: bollard::errors::Error,
    },
    #[error("failed to list containers: {0}")]
    List(bollard::errors::Error),
}

/// A container start as the sweep or an event reports it.
#[derive(Debug, Clone)]
struct StartNotice {
    id: String,
    name: String,
    labels: HashMap<String, String>,
    /// When the event arrived or the list returned, in nanoseconds since the Unix epoch.
    noticed_at: u64,
    /// True for a start event. A container that a sweep lists has mostly been configured
    /// already, so its namespace is not opened before the journal is read.
    from_event: bool,
}

/// Watches one Docker daemon and hands each container's events to the configurator, in order
/// per container.
pub struct Watcher {
    endpoint: String,
    configurator: Arc<Configurator>,
    inspector: Arc<Inspector>,
    queue: ContainerQueue,
}

impl Watcher {
    /// Creates a watcher for an Engine API unix socket path.
    pub fn new(endpoint: String, configurator: Configurator, trust_image_labels: bool) -> Self {
        let socket_path = endpoint.strip_prefix("unix://").unwrap_or(&endpoint);
        let inspector = Inspector::new(trust_image_labels, Path::new(socket_path));
        Watcher {
            endpoint,
            configurator: Arc::new(configurator),
            inspector: Arc::new(inspector),
            queue: ContainerQueue::default(),
        }
    }

    /// Runs forever: connect, sweep, follow events, and again after any failure.
    pub async fn run(self) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        loop {
            match connect(&self.endpoint).await {
                Ok(engine) => {
                    backoff.reset();
                    self.watch(&engine).await;
                }
                Err(error) => tracing::warn!("{error}"),
            }
            let delay = backoff.next_delay();
            tracing::info!(?delay, "reconnecting to the Engine API");
            tokio::time::sleep(delay).await;
        }
    }

    /// Sweeps, then follows events until the stream ends.
    async fn watch(&self, engine: &Engine) {
        let since = unix_time_now();
        if let Err(error) = self.sweep(engine).await {
            tracing::warn!("{error}");
            return;
        }

        let filters = HashMap::from([
            ("type", vec!["container", "network"]),
            ("event", vec!["start", "die", "destroy", "connect"]),
        ]);
        let options = EventsOptionsBuilder::new()
            .since(&since)
            .filters(&filters)
            .build();
        let mut events = engine.docker.events(Some(options));
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => self.handle_event(engine, &event),
                Err(error) => {
                    tracing::warn!(%error, "Engine API event stream failed");
                    return;
                }
            }
        }
        tracing::warn!("Engine API event stream ended");
    }

    fn handle_event(&self, engine: &Engine, event: &EventMessage) {
        let Some(actor) = &event.actor else { return };
        let attributes = actor.attributes.clone().unwrap_or_default();
        match (event.typ, event.action.as_deref()) {
            (Some(EventMessageTypeEnum::CONTAINER), Some("start")) => {
                let Some(id) = actor.id.clone() else { return };
                let notice = start_notice(id, attributes, journal::now_nanos());
                self.dispatch_start(engine, notice);
            }
            (Some(EventMessageTypeEnum::CONTAINER), Some("die")) => {
                let Some(id) = actor.id.clone() else { return };
                let exit_code = attributes.get("exitCode").and_then(|c| c.parse().ok());
                let configurator = Arc::clone(&self.configurator);
                let key = id.clone();
                self.queue.push(&key, async move {
                    configurator.stop(&id, exit_code).await;
                });
            }
            (Some(EventMessageTypeEnum::CONTAINER), Some("destroy")) => {
                let Some(id) = actor.id.clone() else { return };
                let configurator = Arc::clone(&self.configurator);
                let key = id.clone();
                self.queue.push(&key, async move {
                    configurator.forget(&id).await;
                });
            }
            (Some(EventMessageTypeEnum::NETWORK), Some("connect")) => {
                let Some(id) = attributes.get("container").cloned() else {
                    return;
                };
                self.dispatch_connect(engine, id);
            }
            _ => {}
        }
    }

    async fn sweep(&self, engine: &Engine) -> Result<(), WatchError> {
        let options = ListContainersOptionsBuilder::new().all(false).build();
        let containers = engine
            .docker
            .list_containers(Some(options))
            .await
            .map_err(WatchError::List)?;
        let noticed_at = journal::now_nanos();
        tracing::debug!(count = containers.len(), "sweeping running containers");
        let mut running = HashSet::new();
        for container in containers {
            let Some(id) = container.id else { continue };
            running.insert(id.clone());
            let name = container
                .names
                .as_ref()
                .and_then(|names| names.first())
                .map(|name| name.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let labels = container.labels.unwrap_or_default();
            let notice = StartNotice {
                id,
                name,
                labels,
                noticed_at,
                from_event: false,
            };
            self.dispatch_start(engine, notice);
        }
        self.sweep_journal(engine, &running);
        Ok(())
    }

    /// Finishes the stop work of containers that stopped or were removed while no event
    /// stream was open.
    fn sweep_journal(&self, engine: &Engine, running: &HashSet<String>) {
        let ids = match self.configurator.journal().ids() {
            Ok(ids) => ids,
            Err(error) => {
                tracing::error!("journal not swept: {error}");
                return;
            }
        };
        for id in ids.into_iter().filter(|id| !running.contains(id)) {
            let engine = engine.clone();
            let configurator = Arc::clone(&self.configurator);
            let inspector = Arc::clone(&self.inspector);
            let key = id.clone();
            self.queue.push(&key, async move {
                match inspector.exit_code(&engine, &id).await {
                    Ok(Some(exit_code)) => configurator.stop(&id, exit_code).await,
                    Ok(None) => configurator.forget(&id).await,
                    Err(error) => tracing::warn!(
                        container_id = %short_id(&id),
                        "stopped container not swept: {error}"
                    ),
                }
            });
        }
    }

    /// Queues a container start behind that container's earlier work.
    fn dispatch_start(&self, engine: &Engine, notice: StartNotice) {
        if !self.configurator.wants(&notice.name, &notice.labels) {
            tracing::trace!(container = %notice.name, "no dehandler labels or script");
            return;
        }
        let engine = engine.clone();
        let configurator = Arc::clone(&self.configurator);
        let inspector = Arc::clone(&self.inspector);
        let key = notice.id.clone();
        self.queue.push(&key, async move {
            let open_early = notice.from_event && configurator.needs_namespace(&notice.labels);
            let target = inspector
                .target(
                    &engine,
                    &configurator,
                    &notice.id,
                    &notice.name,
                    notice.labels,
                    notice.noticed_at,
                    open_early,
                )
                .await;
            if let Some(target) = target {
                configurator.configure(target).await;
            }
        });
    }

    /// Queues a retry of a container's pending segments after a network was connected.
    fn dispatch_connect(&self, engine: &Engine, id: String) {
        let engine = engine.clone();
        let configurator = Arc::clone(&self.configurator);
        let inspector = Arc::clone(&self.inspector);
        let key = id.clone();
        self.queue.push(&key, async move {
            match configurator.journal().load(&id) {
                Ok(Some(record)) if !record.pending.is_empty() => {}
                _ => return,
            }
            if let Some(target) = inspector.target_by_id(&engine, &configurator, &id).await {
                configurator.retry_pending(&target).await;
            }
        });
    }
}

/// Connects to the Engine API and negotiates the API version.
async fn connect(endpoint: &str) -> Result<Engine, WatchError> {
    let connect_error = |source| WatchError::Connect {
        endpoint: endpoint.to_string(),
        source,
    };
    let engine = Engine::new(endpoint).map_err(connect_error)?;
    // bollard requests its newest API version by default, which an older daemon rejects.
    let engine = engine.negotiate_version().await.map_err(connect_error)?;
    let version = engine.docker.client_version();
    tracing::info!(
        endpoint,
        api_version = %format!("{}.{}", version.major_version, version.minor_version),
        "connected to the Engine API"
    );
    Ok(engine)
}

/// Returns the container start that a `start` event's attributes report.
fn start_notice(
    id: String,
    mut attributes: HashMap<String, String>,
    noticed_at: u64,
) -> StartNotice {
    // The attributes are the container's labels plus `name` and `image`, which overwrite
    // labels of the same key.
    let name = attributes.remove("name").unwrap_or_default();
    attributes.remove("image");
    StartNotice {
        id,
        name,
        labels: attributes,
        noticed_at,
        from_event: true,
    }
}

/// Returns the current time as the Engine API's `since` takes it: `seconds.nanoseconds`.
fn unix_time_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bollard::query_parameters::InspectContainerOptions;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixListener;

    use super::*;

    /// Serves HTTP/1.1 with keep-alive on a unix socket: `/version` returns API 1.41, an
    /// inspect of container `c0ffee` PID 4241 with the version in the path and 4242 without
    /// it, and every other path 404. Returns the number of connections accepted so far.
    fn serve_engine_api(listener: UnixListener) -> Arc<AtomicUsize> {
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    loop {
                        let Ok(read) = stream.read(&mut buffer).await else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..read]);
                        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&request[..end]).to_string();
                        request.drain(..end + 4);
                        let (status, body) = if head.contains(" /version ") {
                            ("200 OK", r#"{"ApiVersion":"1.41","Version":"20.10.24"}"#)
                        } else if head.contains(" /v1.41/containers/c0ffee/json ") {
                            ("200 OK", r#"{"State":{"Running":true,"Pid":4241}}"#)
                        } else if head.contains(" /containers/c0ffee/json ") {
                            ("200 OK", r#"{"State":{"Running":true,"Pid":4242}}"#)
                        } else {
                            (
                                "404 Not Found",
                                r#"{"message":"No such container: removed"}"#,
                            )
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        accepted
    }

    #[tokio::test]
    async fn requests_share_one_engine_api_connection() {
        let dir = std::env::temp_dir().join(format!("dehandler-pool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("docker.sock");
        let _ = std::fs::remove_file(&socket);
        let accepted = serve_engine_api(UnixListener::bind(&socket).unwrap());

        let endpoint = format!("unix://{}", socket.display());
        let engine = connect(&endpoint).await.unwrap();
        assert_eq!(engine.docker.client_version().minor_version, 41);
        for _ in 0..3 {
            let inspect = engine
                .docker
                .inspect_container("c0ffee", None::<InspectContainerOptions>)
                .await
                .unwrap();
            assert_eq!(inspect.state.and_then(|state| state.pid), Some(4242));
            let inspect = engine.inspect_container("c0ffee").await.unwrap();
            assert_eq!(inspect.state.map(|state| state.pid), Some(4241));
        }
        let missing = engine.inspect_container("removed").await.unwrap_err();
        assert!(
            matches!(missing, engine::InspectError::NotFound),
            "{missing:?}"
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn missing_socket_error_names_endpoint() {
        let endpoint = format!(
            "unix://{}/dehandler-no-such-dir-{}/docker.sock",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let error = connect(&endpoint).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&endpoint), "{message}");
    }
}
