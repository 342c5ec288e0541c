//! Turns a container id into a [`Target`]: one inspect for its PID, start time, labels and
//! networks, the image-label check, and the network namespace opened and confirmed.
//!
//! For a start event, the namespace can be opened before the inspect returns. containerd keeps
//! the PID of the container's first process in the task's `init.pid`. The file is written when
//! the task is created, before dockerd starts the task and reports the start.
//! [`Inspector::open_early`] reads it, opens the namespace and starts its netlink connection,
//! and the target uses them only when the inspect reports the same PID.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use bollard::query_parameters::InspectNetworkOptions;

use crate::configure::{Configurator, Target};
use crate::journal::{self, Timeline};
use crate::labels;
use crate::netns::{Connecting, Namespace};
use crate::policy::{self, ContainerNetworks};
use crate::scripts::short_id;

use super::engine::{ContainerInspect, Engine, InspectError};

/// The directories, relative to the one that contains the Engine API socket, where containerd
/// keeps a directory per Docker task: that of the containerd that dockerd starts itself, then
/// that of a containerd of the system.
const TASK_DIRS: [&str; 2] = [
    "docker/containerd/daemon/io.containerd.runtime.v2.task/moby",
    "containerd/io.containerd.runtime.v2.task/moby",
];

/// A container's network namespace opened from the PID in its task's `init.pid`, and the
/// netlink connection being opened in it.
#[derive(Debug)]
struct EarlyNamespace {
    pid: i64,
    namespace: Namespace,
    connecting: Connecting,
}

/// Engine API lookups, with caches of what never changes: image labels and bridge names.
#[derive(Debug)]
pub(super) struct Inspector {
    trust_image_labels: bool,
    /// The directories to read a task's `init.pid` from: [`TASK_DIRS`] under the Engine API
    /// socket's directory.
    task_dirs: Vec<PathBuf>,
    /// The index in `task_dirs` of the directory where the last `init.pid` was found, tried
    /// first.
    task_dir_found: AtomicUsize,
    /// Labels per image id.
    image_labels: Mutex<HashMap<String, HashMap<String, String>>>,
    /// Host bridge device per network id, or `None` for networks without one.
    bridges: Mutex<HashMap<String, Option<String>>>,
}

impl Inspector {
    /// Creates an inspector for the Engine API socket at `socket_path`.
    pub(super) fn new(trust_image_labels: bool, socket_path: &Path) -> Self {
        let run_dir = socket_path.parent().unwrap_or(Path::new("/"));
        Inspector {
            trust_image_labels,
            task_dirs: TASK_DIRS.iter().map(|dir| run_dir.join(dir)).collect(),
            task_dir_found: AtomicUsize::new(0),
            image_labels: Mutex::new(HashMap::new()),
            bridges: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the target of a container's current start, or `None`, after a log line, when
    /// it cannot or need not be configured.
    ///
    /// `name` and `labels` come from the event or the container list, which arrived at
    /// `noticed_at`; the inspect supplies the rest. With `open_early`, the namespace is
    /// opened from `init.pid` while the inspect is under way, and used when the inspect
    /// reports the same PID.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn target(
        &self,
        engine: &Engine,
        configurator: &Configurator,
        id: &str,
        name: &str,
        mut labels: HashMap<String, String>,
        noticed_at: u64,
        open_early: bool,
    ) -> Option<Target> {
        let mut early = None;
        let inspect = if open_early {
            let mut inspecting = pin!(engine.inspect_container(id));
            // The first poll hands the request to the connection's task, and the yield lets
            // that task write it, so the daemon works on it while the namespace opens.
            let polled = poll_fn(|context| Poll::Ready(inspecting.as_mut().poll(context))).await;
            tokio::task::yield_now().await;
            early = self.open_early(id);
            match polled {
                Poll::Ready(result) => result,
                Poll::Pending => inspecting.await,
            }
        } else {
            engine.inspect_container(id).await
        };
        // NOTE: with `open_early`, the time is taken after the namespace work too, so work that
        // outlasts the inspect counts as part of the inspect.
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
        // NOTE: no test covers an early PID that differs from the inspect's. That case opens
        // the namespace after the inspect, the path that sweeps take.
        let (namespace, connecting) = if !configurator.needs_namespace(&labels) {
            (None, None)
        } else if let Some(early) = early.filter(|early| early.pid == pid) {
            (Some(early.namespace), Some(early.connecting))
        } else {
            let namespace = self
                .open_namespace(engine, id, name, pid, &started_at)
                .await?;
            (Some(namespace), None)
        };
        Some(Target {
            id: id.to_string(),
            name: name.to_string(),
            pid,
            started_at,
            labels,
            namespace,
            connecting,
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
        self.target(engine, configurator, id, &name, labels, noticed_at, false)
            .await
    }

    /// Opens a starting container's network namespace from the PID in its task's `init.pid`,
    /// confirms that the process is the container's, and starts the namespace's netlink
    /// connection. Returns `None` when any step fails: the target then opens the namespace
    /// after the inspect.
    fn open_early(&self, id: &str) -> Option<EarlyNamespace> {
        let pid = self.init_pid(id)?;
        let namespace = Namespace::open(format!("/proc/{pid}/ns/net")).ok()?;
        if !process_in_container_cgroup(pid, id) {
            return None;
        }
        let connecting = namespace.connect();
        Some(EarlyNamespace {
            pid,
            namespace,
            connecting,
        })
    }

    /// Reads the PID in a task's `init.pid`, trying first the directory where the last one
    /// was found.
    fn init_pid(&self, id: &str) -> Option<i64> {
        // The id becomes part of a path.
        if id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let first = self.task_dir_found.load(Ordering::Relaxed);
        let count = self.task_dirs.len();
        for index in (first..count).chain(0..first) {
            let path = self.task_dirs[index].join(id).join("init.pid");
            if let Ok(text) = std::fs::read_to_string(path) {
                self.task_dir_found.store(index, Ordering::Relaxed);
                return text.trim().parse().ok().filter(|pid| *pid > 0);
            }
        }
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    /// Returns an inspector whose Engine API socket is in a new directory, and that directory.
    fn inspector(case: &str) -> (Inspector, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("dehandler-init-pid-{case}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (Inspector::new(false, &dir.join("docker.sock")), dir)
    }

    fn write_init_pid(dir: &Path, task_dir: &str, id: &str, text: &str) {
        let task = dir.join(task_dir).join(id);
        std::fs::create_dir_all(&task).unwrap();
        std::fs::write(task.join("init.pid"), text).unwrap();
    }

    #[test]
    fn init_pid_found_in_either_task_dir() {
        let (inspector, dir) = inspector("found");
        write_init_pid(&dir, TASK_DIRS[1], ID, "4242");
        assert_eq!(inspector.init_pid(ID), Some(4242));
        assert_eq!(inspector.task_dir_found.load(Ordering::Relaxed), 1);

        let other = &ID.replace('0', "a");
        write_init_pid(&dir, TASK_DIRS[0], other, "4243\n");
        assert_eq!(inspector.init_pid(other), Some(4243));
        assert_eq!(inspector.task_dir_found.load(Ordering::Relaxed), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn init_pid_missing_or_invalid_is_none() {
        let (inspector, dir) = inspector("invalid");
        assert_eq!(inspector.init_pid(ID), None);
        write_init_pid(&dir, TASK_DIRS[0], ID, "not a pid");
        assert_eq!(inspector.init_pid(ID), None);
        write_init_pid(&dir, TASK_DIRS[0], ID, "0");
        assert_eq!(inspector.init_pid(ID), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn init_pid_rejects_id_that_is_not_hex() {
        let (inspector, dir) = inspector("path");
        // Without the check, "../.." would read the init.pid two directories up.
        std::fs::create_dir_all(dir.join(TASK_DIRS[0])).unwrap();
        write_init_pid(&dir, TASK_DIRS[0], "../..", "4242");
        assert_eq!(inspector.init_pid("../.."), None);
        assert_eq!(inspector.init_pid(""), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
