//! Configures one container start: its labels in order, then its start script.
//!
//! Order: address, route and rule in the container's network namespace, host-route in the
//! host's, then `start.<name>`. A label that does not parse is rejected whole and logged once;
//! the requests of the labels that parse are applied one by one, and a kernel error on one is
//! logged and does not stop the next, as the original bash service behaved.

use std::collections::HashMap;
use std::path::PathBuf;

use tracing::Instrument;

use crate::labels::{self, LabelPlan};
use crate::netlink::{self, Outcome};
use crate::netns::{self, Namespace};
use crate::scripts::{ScriptContext, ScriptEvent, ScriptRunner, short_id};

/// A running container to configure.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    /// The name without Docker's leading `/`.
    pub name: String,
    /// The host PID of the container's init process.
    pub pid: i64,
    pub labels: HashMap<String, String>,
}

/// What one container start came to, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Requests the kernel accepted, including `add` of what was there and `del` of what was not.
    pub applied: usize,
    /// Requests the kernel rejected.
    pub failed: usize,
    /// Labels rejected whole because a segment did not parse.
    pub rejected_labels: usize,
    /// True when the container's network namespace could not be opened or connected to.
    pub namespace_failed: bool,
    /// True when a start script ran and succeeded.
    pub script_succeeded: Option<bool>,
}

/// Applies labels and runs scripts; shared by every container task.
#[derive(Debug, Clone)]
pub struct Configurator {
    label_prefix: String,
    scripts: ScriptRunner,
}

impl Configurator {
    /// Creates a configurator for a label prefix and a script runner.
    pub fn new(label_prefix: String, scripts: ScriptRunner) -> Self {
        Configurator {
            label_prefix,
            scripts,
        }
    }

    /// Returns true when a container start has anything to do: a dehandler label or a script.
    pub fn wants(&self, name: &str, labels: &HashMap<String, String>) -> bool {
        labels::has_any(labels, &self.label_prefix)
            || self.scripts.find(ScriptEvent::Start, name).is_some()
    }

    /// Configures one container start.
    pub async fn configure(&self, target: &Target) -> Summary {
        let span = tracing::info_span!(
            "start",
            container = %target.name,
            container_id = %short_id(&target.id),
        );
        self.configure_in_span(target).instrument(span).await
    }

    async fn configure_in_span(&self, target: &Target) -> Summary {
        let mut summary = Summary::default();
        let plans = labels::plan(&target.labels, &self.label_prefix);
        let plans: Vec<LabelPlan> = plans
            .into_iter()
            .filter(|plan| match &plan.requests {
                Ok(_) => true,
                Err(error) => {
                    tracing::error!(label = %plan.key, "label rejected: {error}");
                    summary.rejected_labels += 1;
                    false
                }
            })
            .collect();

        let (host_plans, container_plans): (Vec<_>, Vec<_>) =
            plans.into_iter().partition(|plan| plan.kind.on_host());

        if !container_plans.is_empty() {
            let path = PathBuf::from(format!("/proc/{}/ns/net", target.pid));
            match connect(Some(&path)).await {
                Ok(handle) => apply_plans(&handle, &container_plans, &mut summary).await,
                Err(error) => {
                    tracing::warn!("container labels not applied: {error}");
                    summary.namespace_failed = true;
                }
            }
        }
        if !host_plans.is_empty() {
            match connect(None).await {
                Ok(handle) => apply_plans(&handle, &host_plans, &mut summary).await,
                Err(error) => {
                    tracing::error!("host routes not applied: {error}");
                    summary.namespace_failed = true;
                }
            }
        }

        self.run_start_script(target, &mut summary).await;
        summary
    }

    async fn run_start_script(&self, target: &Target, summary: &mut Summary) {
        let Some(script) = self.scripts.find(ScriptEvent::Start, &target.name) else {
            return;
        };
        let context = ScriptContext {
            container_id: target.id.clone(),
            container_name: target.name.clone(),
            pid: target.pid,
        };
        tracing::info!(script = %script.display(), "running start script");
        match self
            .scripts
            .run(ScriptEvent::Start, &script, &context)
            .await
        {
            Ok(()) => {
                tracing::info!(script = %script.display(), "start script succeeded");
                summary.script_succeeded = Some(true);
            }
            Err(error) => {
                tracing::error!("{error}");
                summary.script_succeeded = Some(false);
            }
        }
    }
}

/// Connects to a network namespace by path, or to dehandler's own (the host's) with `None`.
async fn connect(path: Option<&PathBuf>) -> Result<rtnetlink::Handle, netns::NetnsError> {
    match path {
        Some(path) => Namespace::open(path)?.connect().await,
        None => netns::connect_current().await,
    }
}

async fn apply_plans(handle: &rtnetlink::Handle, plans: &[LabelPlan], summary: &mut Summary) {
    for plan in plans {
        let Ok(requests) = &plan.requests else {
            continue;
        };
        for (index, request) in requests.iter().enumerate() {
            let segment = index + 1;
            match netlink::apply(handle, request).await {
                Ok(Outcome::Applied) => {
                    tracing::info!(label = %plan.key, segment, "{request}");
                    summary.applied += 1;
                }
                Ok(Outcome::AlreadyPresent) => {
                    tracing::info!(label = %plan.key, segment, "{request}: already present");
                    summary.applied += 1;
                }
                Ok(Outcome::AlreadyAbsent) => {
                    tracing::info!(label = %plan.key, segment, "{request}: already absent");
                    summary.applied += 1;
                }
                Err(error) => {
                    tracing::error!(label = %plan.key, segment, "{request}: {error}");
                    summary.failed += 1;
                }
            }
        }
    }
}
