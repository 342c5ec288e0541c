//! Follows the Engine API: a sweep of the running containers, then their `start` events.
//!
//! The watcher records a `since` time before each sweep, so a container that starts during
//! the sweep is seen either by the sweep or by the event stream, and a start seen twice is
//! configured once. When the stream ends or fails (a daemon restart, for one), the watcher
//! reconnects with backoff and sweeps again.

mod backoff;
mod queue;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::EventMessage;
use bollard::query_parameters::{
    EventsOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
};
use futures_util::StreamExt;
use thiserror::Error;

use crate::configure::{Configurator, Target};
use crate::scripts::short_id;

pub use backoff::Backoff;
pub use queue::ContainerQueue;

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
    #[error("failed to list running containers: {0}")]
    List(bollard::errors::Error),
}

/// A container start as the sweep or an event reports it.
#[derive(Debug, Clone)]
struct StartNotice {
    id: String,
    name: String,
    labels: HashMap<String, String>,
}

/// Watches one Docker daemon and hands each container start to the configurator.
pub struct Watcher {
    endpoint: String,
    configurator: Arc<Configurator>,
    queue: ContainerQueue,
    /// The `State.StartedAt` of the last start handled, per container id. An entry is removed
    /// when its container dies, so the map holds only containers that run.
    handled: Arc<Mutex<HashMap<String, String>>>,
}

impl Watcher {
    /// Creates a watcher for an Engine API unix socket path.
    pub fn new(endpoint: String, configurator: Configurator) -> Self {
        Watcher {
            endpoint,
            configurator: Arc::new(configurator),
            queue: ContainerQueue::default(),
            handled: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Runs forever: connect, sweep, follow events, and again after any failure.
    pub async fn run(self) {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        loop {
            match self.connect().await {
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

    async fn connect(&self) -> Result<Docker, WatchError> {
        let connect_error = |source| WatchError::Connect {
            endpoint: self.endpoint.clone(),
            source,
        };
        let docker = Docker::connect_with_unix(
            &self.endpoint,
            API_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(connect_error)?;
        // bollard asks for its newest API version by default; an older daemon rejects it.
        let docker = docker.negotiate_version().await.map_err(connect_error)?;
        let version = docker.client_version();
        tracing::info!(
            endpoint = %self.endpoint,
            api_version = %format!("{}.{}", version.major_version, version.minor_version),
            "connected to the Engine API"
        );
        Ok(docker)
    }

    /// Sweeps, then follows start events until the stream ends.
    async fn watch(&self, docker: &Docker) {
        let since = unix_time_now();
        if let Err(error) = self.sweep(docker).await {
            tracing::warn!("{error}");
            return;
        }

        let filters = HashMap::from([("type", vec!["container"]), ("event", vec!["start", "die"])]);
        let options = EventsOptionsBuilder::new()
            .since(&since)
            .filters(&filters)
            .build();
        let mut events = docker.events(Some(options));
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => match event.action.as_deref() {
                    Some("start") => {
                        if let Some(notice) = start_notice(&event) {
                            self.dispatch(docker, notice);
                        }
                    }
                    Some("die") => self.forget(&event),
                    _ => {}
                },
                Err(error) => {
                    tracing::warn!(%error, "Engine API event stream failed");
                    return;
                }
            }
        }
        tracing::warn!("Engine API event stream ended");
    }

    async fn sweep(&self, docker: &Docker) -> Result<(), WatchError> {
        let options = ListContainersOptionsBuilder::new().all(false).build();
        let containers = docker
            .list_containers(Some(options))
            .await
            .map_err(WatchError::List)?;
        tracing::debug!(count = containers.len(), "sweeping running containers");
        for container in containers {
            let Some(id) = container.id else { continue };
            let name = container
                .names
                .as_ref()
                .and_then(|names| names.first())
                .map(|name| name.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let labels = container.labels.unwrap_or_default();
            self.dispatch(docker, StartNotice { id, name, labels });
        }
        Ok(())
    }

    /// Drops the record of a dead container's start, in order with its queued work.
    fn forget(&self, event: &EventMessage) {
        let Some(id) = event.actor.as_ref().and_then(|actor| actor.id.clone()) else {
            return;
        };
        let handled = Arc::clone(&self.handled);
        let key = id.clone();
        self.queue.push(&id, async move {
            handled.lock().expect("handled map poisoned").remove(&key);
        });
    }

    /// Queues a container start behind that container's earlier work.
    fn dispatch(&self, docker: &Docker, notice: StartNotice) {
        if !self.configurator.wants(&notice.name, &notice.labels) {
            tracing::trace!(container = %notice.name, "no dehandler labels or script");
            return;
        }
        let docker = docker.clone();
        let configurator = Arc::clone(&self.configurator);
        let handled = Arc::clone(&self.handled);
        let id = notice.id.clone();
        self.queue.push(&id, async move {
            handle_start(&docker, &configurator, &handled, notice).await;
        });
    }
}

/// Inspects a started container and configures it, once per start.
async fn handle_start(
    docker: &Docker,
    configurator: &Configurator,
    handled: &Mutex<HashMap<String, String>>,
    notice: StartNotice,
) {
    let inspect = match docker
        .inspect_container(&notice.id, None::<InspectContainerOptions>)
        .await
    {
        Ok(inspect) => inspect,
        Err(error) => {
            tracing::warn!(
                container = %notice.name,
                container_id = %short_id(&notice.id),
                %error,
                "container not configured: inspect failed (removed already?)"
            );
            return;
        }
    };

    let state = inspect.state.unwrap_or_default();
    let pid = state.pid.unwrap_or(0);
    let started_at = state.started_at.unwrap_or_default();
    if pid <= 0 || state.running != Some(true) {
        tracing::warn!(
            container = %notice.name,
            container_id = %short_id(&notice.id),
            "container not configured: it is no longer running"
        );
        return;
    }

    let network_mode = inspect
        .host_config
        .and_then(|config| config.network_mode)
        .unwrap_or_default();
    if network_mode == "host" || network_mode == "none" || network_mode.starts_with("container:") {
        tracing::debug!(
            container = %notice.name,
            container_id = %short_id(&notice.id),
            %network_mode,
            "container skipped: it has no network namespace of its own"
        );
        return;
    }

    let previous = handled
        .lock()
        .expect("handled map poisoned")
        .insert(notice.id.clone(), started_at.clone());
    if previous.as_ref() == Some(&started_at) {
        tracing::debug!(container = %notice.name, %started_at, "start already configured");
        return;
    }

    let target = Target {
        id: notice.id,
        name: notice.name,
        pid,
        labels: notice.labels,
    };
    configurator.configure(&target).await;
}

/// Returns the container start that a `start` event reports.
fn start_notice(event: &EventMessage) -> Option<StartNotice> {
    let actor = event.actor.as_ref()?;
    let id = actor.id.clone()?;
    let mut labels = actor.attributes.clone().unwrap_or_default();
    // The attributes are the container's labels plus `name` and `image`, which overwrite
    // labels of the same key.
    let name = labels.remove("name").unwrap_or_default();
    labels.remove("image");
    Some(StartNotice { id, name, labels })
}

/// Returns the current time as the Engine API's `since` takes it: `seconds.nanoseconds`.
fn unix_time_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}
