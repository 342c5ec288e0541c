//! Turns a container id into a [`Target`]: one inspect for its PID, start time, labels and
//! networks, the image-label check, and the network namespace opened and confirmed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use bollard::query_parameters::InspectNetworkOptions;

use crate::configure::{Configurator, Target};
use crate::journal::{self, Timeline};
use crate::labels;
use crate::netns::Namespace;
use crate::policy::{self, ContainerNetworks};
use crate::scripts::short_id;

use super::engine::{ContainerInspect, Engine, InspectError};

/// Engine API lookups, with caches of what never changes: image labels and bridge names.
#[derive(Debug)]
pub(super) struct Inspector {
    trust_image_labels: bool,
    /// Labels per image id.
    image_labels: Mutex<HashMap<String, HashMap<String, String>>>,
    /// Host bridge device per network id, or `None` for networks without one.
    bridges: Mutex<HashMap<String, Option<String>>>,
}

impl Inspector {
    pub(super) fn new(trust_image_labels: bool) -> Self {
        Inspector {
            trust_image_labels,
            image_labels: Mutex::new(HashMap::new()),
            bridges: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the target of a container's current start, or `None`, after a log line, when
    /// it cannot or need not be configured.
    ///
    /// `name` and `labels` come from the event or the container list, which arrived at
    /// `noticed_at`; the inspect supplies the rest.
    pub(super) async fn target(
        &self,
        engine: &Engine,
        configurator: &Configurator,
        id: &str,
        name: &str,
        mut labels: HashMap<String, String>,
        noticed_at: u64,
    ) -> Option<Target> {
        let inspect = engine.inspect_container(id).await;
        let timeline = Timeline {
            noticed_at: Some(noticed_at),
            inspected_at: Some(journal::now_nanos()),
        };
        let inspect = match inspect {
            Ok(inspect) => inspect,
            Err(error) => {
                tracing::warn!(container = name, container_id = %short_id(id), "container not configured: inspect failed: {error}");
                return None;
            }
        };
        let (pid, started_at) = running_start(&inspect).or_else(|| {
            tracing::warn!(container = name, container_id = %short_id(id), "container not configured: it is no longer running");
            None
        })?;

        let network_mode = inspect
            .host_config
            .as_ref()
            .and_then(|config| config.network_mode.clone())
            .unwrap_or_default();
        if network_mode == "host"
            || network_mode == "none"
            || network_mode.starts_with("container:")
        {
            tracing::debug!(container = name, %network_mode, "container skipped: it has no network namespace of its own");
            return None;
        }

        if !self.trust_image_labels && labels::has_any(&labels, configurator.label_prefix()) {
            self.drop_image_labels(
                engine,
                &inspect,
                name,
                &mut labels,
                configurator.label_prefix(),
            )
            .await;
        }
        if !configurator.wants(name, &labels) {
            return None;
        }

        let networks = self
            .networks(engine, &inspect, configurator.has_host_routes(&labels))
            .await;
        let namespace = if configurator.needs_namespace(&labels) {
            Some(
                self.open_namespace(engine, id, name, pid, &started_at)
                    .await?,
            )
        } else {
            None
        };
        Some(Target {
            id: id.to_string(),
            name: name.to_string(),
            pid,
            started_at,
            labels,
            namespace,
            networks,
            timeline,
        })
    }

    /// Returns the target of a running container known by id alone.
    pub(super) async fn target_by_id(
        &self,
        engine: &Engine,
        configurator: &Configurator,
        id: &str,
    ) -> Option<Target> {
        let noticed_at = journal::now_nanos();
        let inspect = engine.inspect_container(id).await.ok()?;
        let name = inspect.name.trim_start_matches('/').to_string();
        let labels = inspect
            .config
            .and_then(|config| config.labels)
            .unwrap_or_default();
        self.target(engine, configurator, id, &name, labels, noticed_at)
            .await
    }

    /// Returns `Some(exit code)` for a container that exists, `None` for one that was removed.
    pub(super) async fn exit_code(
        &self,
        engine: &Engine,
        id: &str,
    ) -> Result<Option<Option<i64>>, InspectError> {
        match engine.inspect_container(id).await {
            Ok(inspect) => Ok(Some(inspect.state.and_then(|state| state.exit_code))),
            Err(InspectError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Opens the container's network namespace, then confirms that the PID still belongs to
    /// the container: between the inspect and the open, the container may have exited and its
    /// PID gone to another process.
    ///
    /// The confirmation reads `/proc/<pid>/cgroup`, which names the container id under
    /// Docker's cgroupfs and systemd cgroup drivers. Only when it does not is the container
    /// inspected a second time, which costs an Engine API round trip. A restart of the same
    /// container that got the very same PID would pass the cgroup check. The kernel hands
    /// out PIDs in increasing order, so that needs a wrap of the PID space between the
    /// inspect and the open.
    async fn open_namespace(
        &self,
        engine: &Engine,
        id: &str,
        name: &str,
        pid: i64,
        started_at: &str,
    ) -> Option<Namespace> {
        let namespace = match Namespace::open(format!("/proc/{pid}/ns/net")) {
            Ok(namespace) => namespace,
            Err(error) => {
                tracing::warn!(container = name, container_id = %short_id(id), "container not configured: it exited before its labels were applied ({error})");
                return None;
            }
        };
        if process_in_container_cgroup(pid, id) {
            return Some(namespace);
        }
        let confirmed = engine
            .inspect_container(id)
            .await
            .ok()
            .and_then(|inspect| running_start(&inspect));
        if confirmed.as_ref().map(|(p, s)| (*p, s.as_str())) != Some((pid, started_at)) {
            tracing::warn!(container = name, container_id = %short_id(id), "container not configured: it exited or restarted before its labels were applied");
            return None;
        }
        Some(namespace)
    }

    async fn drop_image_labels(
        &self,
        engine: &Engine,
        inspect: &ContainerInspect,
        name: &str,
        labels: &mut HashMap<String, String>,
        prefix: &str,
    ) {
        if inspect.image.is_empty() {
            return;
        }
        let image = inspect.image.clone();
        let cached = self
            .image_labels
            .lock()
            .expect("image cache poisoned")
            .get(&image)
            .cloned();
        let image_labels = match cached {
            Some(image_labels) => image_labels,
            None => match engine.docker.inspect_image(&image).await {
                Ok(found) => {
                    let image_labels = found
                        .config
                        .and_then(|config| config.labels)
                        .unwrap_or_default();
                    self.image_labels
                        .lock()
                        .expect("image cache poisoned")
                        .insert(image.clone(), image_labels.clone());
                    image_labels
                }
                Err(error) => {
                    // Without the image's labels none can be trusted, so none are applied.
                    tracing::warn!(container = name, %image, "labels not applied: image inspect failed: {error}");
                    labels.retain(|key, _| !key.starts_with(&format!("{prefix}.")));
                    return;
                }
            },
        };
        for key in policy::drop_image_labels(labels, &image_labels, prefix) {
            tracing::warn!(
                container = name,
                label = %key,
                %image,
                "label ignored: the container inherited it unchanged from its image; set TRUST_IMAGE_LABELS=true to apply such labels"
            );
        }
    }

    /// Returns the container's addresses and, when `with_bridges`, its networks' host bridges.
    async fn networks(
        &self,
        engine: &Engine,
        inspect: &ContainerInspect,
        with_bridges: bool,
    ) -> ContainerNetworks {
        let mut networks = ContainerNetworks::default();
        let endpoints = inspect
            .network_settings
            .as_ref()
            .and_then(|settings| settings.networks.as_ref());
        for endpoint in endpoints
            .into_iter()
            .flat_map(|endpoints| endpoints.values())
        {
            for address in [&endpoint.ip_address, &endpoint.global_ipv6_address] {
                if let Some(address) = address.as_deref().and_then(|a| a.parse::<IpAddr>().ok()) {
                    networks.addresses.push(address);
                }
            }
            if with_bridges
                && let Some(network_id) = &endpoint.network_id
                && let Some(bridge) = self.bridge(engine, network_id).await
            {
                networks.bridges.push(bridge);
            }
        }
        networks
    }

    /// Returns the host bridge device of a bridge network: its `bridge.name` option, or
    /// `br-` and the first 12 digits of its id, which is how Docker names them.
    async fn bridge(&self, engine: &Engine, network_id: &str) -> Option<String> {
        if let Some(bridge) = self
            .bridges
            .lock()
            .expect("bridge cache poisoned")
            .get(network_id)
        {
            return bridge.clone();
        }
        let network = match engine
            .docker
            .inspect_network(network_id, None::<InspectNetworkOptions>)
            .await
        {
            Ok(network) => network,
            Err(error) => {
                tracing::debug!(%network_id, "network inspect failed: {error}");
                return None;
            }
        };
        let bridge = (network.driver.as_deref() == Some("bridge")).then(|| {
            network
                .options
                .as_ref()
                .and_then(|options| options.get("com.docker.network.bridge.name").cloned())
                .unwrap_or_else(|| format!("br-{}", short_id(network_id)))
        });
        self.bridges
            .lock()
            .expect("bridge cache poisoned")
            .insert(network_id.to_string(), bridge.clone());
        bridge
    }
}

/// Returns true when the process's cgroup path names the container id.
fn process_in_container_cgroup(pid: i64, id: &str) -> bool {
    if id.len() != 64 {
        return false;
    }
    // /proc reports a size of 0, so `read_to_string` would start with a 32-byte read and
    // double it. Under cgroup v1 that makes 7 reads for about 1 KB.
    let mut cgroup = Vec::with_capacity(4096);
    let read = std::fs::File::open(format!("/proc/{pid}/cgroup"))
        .and_then(|mut file| std::io::Read::read_to_end(&mut file, &mut cgroup));
    read.is_ok()
        && cgroup
            .windows(id.len())
            .any(|window| window == id.as_bytes())
}

/// Returns the PID and start time of a running container.
fn running_start(inspect: &ContainerInspect) -> Option<(i64, String)> {
    let state = inspect.state.as_ref()?;
    if !state.running || state.pid <= 0 {
        return None;
    }
    Some((state.pid, state.started_at.clone()))
}
