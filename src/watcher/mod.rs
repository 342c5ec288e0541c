//! Follows the Engine API: a sweep of the containers, then their events.
//!
//! The watcher records a `since` time before each sweep, so a container that starts during
//! the sweep is seen by the sweep, by the event stream, or by both. The journal makes sure a
//! start is applied once. When the stream ends or fails (a daemon restart, for one), the
//! watcher reconnects with backoff and sweeps again. The sweep also finishes what events were
//! missed while dehandler was down: host routes of containers that stopped are deleted and
//! the journals of removed containers dropped.

mod backoff;
mod inspect;
mod queue;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::StreamExt;
use thiserror::Error;

use crate::configure::Configurator;
use crate::scripts::short_id;

pub use backoff::Backoff;
pub use queue::ContainerQueue;

use inspect::Inspector;

/// How long an Engine API request may wait for its response headers, in seconds.
const API_TIMEOUT_SECS: u64 = 30;

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
        Watcher {
            endpoint,
            configurator: Arc::new(configurator),
            inspector: Arc::new(Inspector::new(trust_image_labels)),
            queue: ContainerQueue::default(),
        }
    }

    /// Runs forever: connect, sweep, follow events, and again after any failure.
    pub async fn run(self) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        loop {
            match connect(&self.endpoint).await {
                Ok(docker) => {
                    backoff.reset();
                    self.watch(&docker).await;
                }
                Err(error) => tracing::warn!("{error}"),
            }
            let delay = backoff.next_delay();
            tracing::info!(?delay, "reconnecting to the Engine API");
            tokio::time::sleep(delay).await;
        }
    }

    /// Sweeps, then follows events until the stream ends.
    async fn watch(&self, docker: &Docker) {
        let since = unix_time_now();
        if let Err(error) = self.sweep(docker).await {
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
        let mut events = docker.events(Some(options));
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => self.handle_event(docker, &event),
                Err(error) => {
                    tracing::warn!(%error, "Engine API event stream failed");
                    return;
                }
            }
        }
        tracing::warn!("Engine API event stream ended");
    }

    fn handle_event(&self, docker: &Docker, event: &EventMessage) {
        let Some(actor) = &event.actor else { return };
        let attributes = actor.attributes.clone().unwrap_or_default();
        match (event.typ, event.action.as_deref()) {
            (Some(EventMessageTypeEnum::CONTAINER), Some("start")) => {
                let Some(id) = actor.id.clone() else { return };
                self.dispatch_start(docker, start_notice(id, attributes));
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
                self.dispatch_connect(docker, id);
            }
            _ => {}
        }
    }

    async fn sweep(&self, docker: &Docker) -> Result<(), WatchError> {
        let options = ListContainersOptionsBuilder::new().all(false).build();
        let containers = docker
            .list_containers(Some(options))
            .await
            .map_err(WatchError::List)?;
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
            self.dispatch_start(docker, StartNotice { id, name, labels });
        }
        self.sweep_journal(docker, &running);
        Ok(())
    }

    /// Finishes the stop work of containers that stopped or were removed while no event
    /// stream was open.
    fn sweep_journal(&self, docker: &Docker, running: &HashSet<String>) {
        let ids = match self.configurator.journal().ids() {
            Ok(ids) => ids,
            Err(error) => {
                tracing::error!("journal not swept: {error}");
                return;
            }
        };
        for id in ids.into_iter().filter(|id| !running.contains(id)) {
            let docker = docker.clone();
            let configurator = Arc::clone(&self.configurator);
            let inspector = Arc::clone(&self.inspector);
            let key = id.clone();
            self.queue.push(&key, async move {
                match inspector.exit_code(&docker, &id).await {
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
    fn dispatch_start(&self, docker: &Docker, notice: StartNotice) {
        if !self.configurator.wants(&notice.name, &notice.labels) {
            tracing::trace!(container = %notice.name, "no dehandler labels or script");
            return;
        }
        let docker = docker.clone();
        let configurator = Arc::clone(&self.configurator);
        let inspector = Arc::clone(&self.inspector);
        let key = notice.id.clone();
        self.queue.push(&key, async move {
            let target = inspector
                .target(
                    &docker,
                    &configurator,
                    &notice.id,
                    &notice.name,
                    notice.labels,
                )
                .await;
            if let Some(target) = target {
                configurator.configure(&target).await;
            }
        });
    }

    /// Queues a retry of a container's pending segments after a network was connected.
    fn dispatch_connect(&self, docker: &Docker, id: String) {
        let docker = docker.clone();
        let configurator = Arc::clone(&self.configurator);
        let inspector = Arc::clone(&self.inspector);
        let key = id.clone();
        self.queue.push(&key, async move {
            match configurator.journal().load(&id) {
                Ok(Some(record)) if !record.pending.is_empty() => {}
                _ => return,
            }
            if let Some(target) = inspector.target_by_id(&docker, &configurator, &id).await {
                configurator.retry_pending(&target).await;
            }
        });
    }
}

/// Connects to the Engine API and negotiates the API version.
pub async fn connect(endpoint: &str) -> Result<Docker, WatchError> {
    let connect_error = |source| WatchError::Connect {
        endpoint: endpoint.to_string(),
        source,
    };
    let docker =
        Docker::connect_with_unix(endpoint, API_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(connect_error)?;
    // bollard requests its newest API version by default, which an older daemon rejects.
    let docker = docker.negotiate_version().await.map_err(connect_error)?;
    let version = docker.client_version();
    tracing::info!(
        endpoint,
        api_version = %format!("{}.{}", version.major_version, version.minor_version),
        "connected to the Engine API"
    );
    Ok(docker)
}

/// Returns the container start that a `start` event's attributes report.
fn start_notice(id: String, mut attributes: HashMap<String, String>) -> StartNotice {
    // The attributes are the container's labels plus `name` and `image`, which overwrite
    // labels of the same key.
    let name = attributes.remove("name").unwrap_or_default();
    attributes.remove("image");
    StartNotice {
        id,
        name,
        labels: attributes,
    }
}

/// Returns the current time as the Engine API's `since` takes it: `seconds.nanoseconds`.
fn unix_time_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}
