//! Configures container starts and undoes their host routes when they stop.
//!
//! Order for a start: address, route and rule in the container's network namespace,
//! host-route in the host's, then `start.<name>`. A label that does not parse is rejected
//! whole and logged once. The segments of the labels that parse are applied one by one. A
//! kernel error on one is logged and does not stop the next, as the original bash service
//! behaved. Every step is written to the journal as it is carried out, so a start is applied
//! once even when dehandler is killed and restarted in the middle of it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tracing::Instrument;

use crate::iproute::{self, Object, Request, RouteVerb};
use crate::journal::{self, Entry, Journal, JournalError, StartRecord, Timeline};
use crate::labels::{self, LabelKind, LabelPlan, Limits};
use crate::netlink::{self, ApplyError, LinkCache, Netlink, Outcome};
use crate::netns::{self, Connecting, Namespace, NetnsError};
use crate::policy::{ContainerNetworks, HostRoutePolicy};
use crate::scripts::{ScriptContext, ScriptEvent, ScriptRunner, short_id};
use crate::status::{ChangeReport, ChangeResult, Status};

/// The journal step of the start script.
const SCRIPT_STEP: &str = "script:start";

/// A running container start to configure.
#[derive(Debug)]
pub struct Target {
    pub id: String,
    /// The name without Docker's leading `/`.
    pub name: String,
    /// The host PID of the container's first process.
    pub pid: i64,
    /// `State.StartedAt`, which distinguishes one start of the container from the next.
    pub started_at: String,
    /// The labels to apply: those inherited unchanged from the image are already removed
    /// unless image labels are trusted.
    pub labels: HashMap<String, String>,
    /// The container's network namespace, opened and confirmed to be this start's; `None`
    /// when the container has no labels for its own namespace.
    pub namespace: Option<Namespace>,
    /// The netlink connection to `namespace`, when it was started before the target was made.
    pub connecting: Option<Connecting>,
    pub networks: ContainerNetworks,
    /// The times at which dehandler learned of the start and had the container's inspect.
    pub timeline: Timeline,
}

/// The outcome of one container start, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// True when the journal shows this start was applied already, so nothing ran.
    pub already_applied: bool,
    /// Steps carried out earlier, by a dehandler process that stopped in the middle.
    pub resumed_steps: usize,
    /// Requests the kernel accepted, including `add` of what was there and `del` of what was not.
    pub applied: usize,
    /// Requests the kernel or the host route policy rejected.
    pub failed: usize,
    /// Labels rejected whole because a segment did not parse or a limit was exceeded.
    pub rejected_labels: usize,
    /// `Some(true)` when a start script ran and succeeded, `Some(false)` when it failed.
    pub script_succeeded: Option<bool>,
}

/// Applies labels, runs scripts and keeps the journal; shared by every container task.
#[derive(Debug, Clone)]
pub struct Configurator {
    label_prefix: String,
    limits: Limits,
    host_routes: HostRoutePolicy,
    scripts: ScriptRunner,
    journal: Journal,
    /// The store behind `dehandler status`, which receives every change and error that is
    /// logged.
    status: Status,
    /// The netlink connection to dehandler's own network namespace (for the plugin, the
    /// host's), opened on first use and kept: starts add host routes there and stops delete them.
    host: Arc<Mutex<Option<Netlink>>>,
}

impl Configurator {
    /// Creates a configurator.
    pub fn new(
        label_prefix: String,
        limits: Limits,
        host_routes: HostRoutePolicy,
        scripts: ScriptRunner,
        journal: Journal,
    ) -> Self {
        Configurator {
            label_prefix,
            limits,
            host_routes,
            scripts,
            journal,
            status: Status::default(),
            host: Arc::default(),
        }
    }

    /// Records every container start, change and error in a status store.
    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Returns the label key prefix.
    pub fn label_prefix(&self) -> &str {
        &self.label_prefix
    }

    /// Returns the journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Returns true when a container start has anything to do: a dehandler label or a script.
    pub fn wants(&self, name: &str, labels: &HashMap<String, String>) -> bool {
        labels::has_any(labels, &self.label_prefix)
            || self.scripts.find(ScriptEvent::Start, name).is_some()
    }

    /// Returns true when the labels need the container's own network namespace.
    pub fn needs_namespace(&self, labels: &HashMap<String, String>) -> bool {
        [LabelKind::Address, LabelKind::Route, LabelKind::Rule]
            .iter()
            .any(|kind| labels.contains_key(&kind.key(&self.label_prefix)))
    }

    /// Returns true when the labels hold a host route.
    pub fn has_host_routes(&self, labels: &HashMap<String, String>) -> bool {
        labels.contains_key(&LabelKind::HostRoute.key(&self.label_prefix))
    }

    /// Configures one container start, once: a start the journal shows as applied is skipped,
    /// and one that was interrupted resumes after its last step.
    pub async fn configure(&self, mut target: Target) -> Summary {
        let connecting = target.connecting.take();
        let target = &target;
        let span = tracing::info_span!(
            "start",
            container = %target.name,
            container_id = %short_id(&target.id),
        );
        async {
            match self.configure_once(target, connecting).await {
                Ok(summary) => summary,
                Err(error) => {
                    tracing::error!("container not configured: {error}");
                    let container = Some((target.name.as_str(), target.id.as_str()));
                    self.status
                        .error(container, format!("container not configured: {error}"));
                    Summary::default()
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn configure_once(
        &self,
        target: &Target,
        connecting: Option<Connecting>,
    ) -> Result<Summary, JournalError> {
        let mut summary = Summary::default();
        let record = self.journal.load(&target.id)?;
        if record
            .as_ref()
            .is_some_and(|record| record.started_at == target.started_at && record.done)
        {
            tracing::debug!(started_at = %target.started_at, "start already applied");
            summary.already_applied = true;
            return Ok(summary);
        }
        // The namespace connection opens on a thread of its own while the journal, the status
        // and the labels are handled below, unless it was started earlier.
        let connecting = connecting.or_else(|| target.namespace.as_ref().map(Namespace::connect));

        let done_steps = match record {
            Some(record) if record.started_at == target.started_at => {
                tracing::warn!(
                    steps = record.steps.len(),
                    "this start was interrupted while it was applied; resuming after the steps already carried out"
                );
                summary.resumed_steps = record.steps.len();
                record.steps
            }
            earlier => {
                if let Some(record) = earlier {
                    self.remove_host_routes(&record).await;
                }
                self.journal.begin(
                    &target.id,
                    &target.started_at,
                    &target.name,
                    target.pid,
                    target.timeline,
                )?;
                BTreeSet::new()
            }
        };

        self.status
            .begin(&target.id, &target.name, &target.started_at);

        for key in labels::unknown_keys(&target.labels, &self.label_prefix) {
            tracing::warn!(
                label = key,
                "label ignored: not a dehandler label; the kinds are address, route, rule and host-route"
            );
        }
        let plans = self.valid_plans(target, &mut summary);
        let (host_plans, container_plans): (Vec<_>, Vec<_>) =
            plans.into_iter().partition(|plan| plan.kind.on_host());

        if !container_plans.is_empty() {
            match connecting {
                Some(connecting) => match connecting.await {
                    Ok(handle) => {
                        self.apply_plans(
                            &handle,
                            target,
                            &container_plans,
                            &done_steps,
                            &mut summary,
                        )
                        .await?
                    }
                    Err(error) => tracing::warn!("container labels not applied: {error}"),
                },
                None => tracing::warn!("container labels not applied: no network namespace"),
            }
        }
        if !host_plans.is_empty() {
            match self.host_netlink().await {
                Ok(handle) => {
                    self.apply_plans(&handle, target, &host_plans, &done_steps, &mut summary)
                        .await?
                }
                Err(error) => tracing::error!("host routes not applied: {error}"),
            }
        }

        if !done_steps.contains(SCRIPT_STEP) {
            summary.script_succeeded = self.run_start_script(target).await?;
        }
        let done = Entry::Done {
            at: journal::now_nanos(),
        };
        self.journal.append(&target.id, &done)?;
        self.status.finish(&target.id);
        Ok(summary)
    }

    /// Parses the labels and logs each rejected one once.
    fn valid_plans(&self, target: &Target, summary: &mut Summary) -> Vec<LabelPlan> {
        labels::plan(&target.labels, &self.label_prefix, self.limits)
            .into_iter()
            .filter(|plan| match &plan.segments {
                Ok(_) => true,
                Err(error) => {
                    tracing::error!(label = %plan.key, "label rejected: {error}");
                    summary.rejected_labels += 1;
                    let value = target.labels.get(&plan.key).cloned().unwrap_or_default();
                    self.record(
                        target,
                        plan,
                        None,
                        value,
                        ChangeResult::Rejected(error.to_string()),
                    );
                    false
                }
            })
            .collect()
    }

    async fn apply_plans(
        &self,
        handle: &Netlink,
        target: &Target,
        plans: &[LabelPlan],
        done_steps: &BTreeSet<String>,
        summary: &mut Summary,
    ) -> Result<(), JournalError> {
        let mut links = LinkCache::default();
        for plan in plans {
            let Ok(segments) = &plan.segments else {
                continue;
            };
            for segment in segments {
                let step = plan.step(segment.position);
                if done_steps.contains(&step) {
                    continue;
                }
                let ok = self
                    .apply_segment(
                        handle,
                        &mut links,
                        target,
                        plan,
                        segment.position,
                        &segment.request,
                    )
                    .await?;
                if ok {
                    summary.applied += 1;
                } else {
                    summary.failed += 1;
                }
                self.journal.append(&target.id, &Entry::Step { step })?;
            }
        }
        Ok(())
    }

    /// Applies one segment, logs its result and journals what must be undone or retried.
    /// Returns true when the change took effect.
    async fn apply_segment(
        &self,
        handle: &Netlink,
        links: &mut LinkCache,
        target: &Target,
        plan: &LabelPlan,
        position: usize,
        request: &Request,
    ) -> Result<bool, JournalError> {
        let label = plan.key.as_str();
        if plan.kind.on_host()
            && let Err(reason) = self.host_routes.check_request(request, &target.networks)
        {
            tracing::error!(
                label,
                segment = position,
                "{request}: not allowed: {reason}"
            );
            let result = ChangeResult::NotAllowed(reason.to_string());
            self.record(target, plan, Some(position), request.to_string(), result);
            return Ok(false);
        }

        match netlink::apply_cached(handle, links, request).await {
            Ok(outcome) => {
                let note = outcome.note();
                tracing::info!(label, segment = position, "{request}{note}");
                self.record(
                    target,
                    plan,
                    Some(position),
                    request.to_string(),
                    outcome.into(),
                );
                if plan.kind.on_host()
                    && outcome == Outcome::Applied
                    && let Request::Route(route) = request
                    && adds_route(route.verb)
                {
                    let entry = Entry::HostRoute {
                        route: route.to_string(),
                    };
                    self.journal.append(&target.id, &entry)?;
                }
                Ok(true)
            }
            Err(error) => {
                tracing::error!(label, segment = position, "{error}");
                if plan.kind.on_host() {
                    self.reset_host_netlink_after(&error);
                }
                let result = ChangeResult::Error(error.to_string());
                self.record(target, plan, Some(position), request.to_string(), result);
                if matches!(error, ApplyError::DeviceNotFound { .. }) {
                    let step = plan.step(position);
                    self.journal.append(&target.id, &Entry::Pending { step })?;
                }
                Ok(false)
            }
        }
    }

    async fn run_start_script(&self, target: &Target) -> Result<Option<bool>, JournalError> {
        let Some(script) = self.scripts.find(ScriptEvent::Start, &target.name) else {
            return Ok(None);
        };
        // The step is journaled before the script runs: a script is never run twice for one
        // start, even when dehandler is killed while it runs.
        let step = SCRIPT_STEP.to_string();
        self.journal.append(&target.id, &Entry::Step { step })?;
        let context = ScriptContext {
            container_id: target.id.clone(),
            container_name: target.name.clone(),
            pid: target.pid,
            exit_code: None,
        };
        Ok(Some(
            self.run_script(ScriptEvent::Start, &script, &context).await,
        ))
    }

    async fn run_script(
        &self,
        event: ScriptEvent,
        script: &std::path::Path,
        context: &ScriptContext,
    ) -> bool {
        tracing::info!(script = %script.display(), "running {} script", event.as_str());
        let result = match self.scripts.run(event, script, context).await {
            Ok(()) => {
                tracing::info!(script = %script.display(), "{} script succeeded", event.as_str());
                ChangeResult::Applied
            }
            Err(error) => {
                tracing::error!("{error}");
                ChangeResult::Error(error.to_string())
            }
        };
        let succeeded = !result.is_error();
        let change = ChangeReport {
            label: format!("{} script", event.script_prefix()),
            segment: None,
            change: script.display().to_string(),
            result,
        };
        self.status.record(&context.container_id, change);
        succeeded
    }

    /// Records a change of a label in the status store.
    fn record(
        &self,
        target: &Target,
        plan: &LabelPlan,
        segment: Option<usize>,
        change: String,
        result: ChangeResult,
    ) {
        let change = ChangeReport {
            label: plan.key.clone(),
            segment,
            change,
            result,
        };
        self.status.record(&target.id, change);
    }

    /// Retries the segments that failed because a device did not exist yet, after the
    /// container was connected to a network.
    pub async fn retry_pending(&self, target: &Target) {
        let span = tracing::info_span!(
            "connect",
            container = %target.name,
            container_id = %short_id(&target.id),
        );
        async {
            if let Err(error) = self.retry_pending_in_span(target).await {
                tracing::error!("pending segments not retried: {error}");
            }
        }
        .instrument(span)
        .await
    }

    async fn retry_pending_in_span(&self, target: &Target) -> Result<(), JournalError> {
        let Some(record) = self.journal.load(&target.id)? else {
            return Ok(());
        };
        if record.pending.is_empty() || record.started_at != target.started_at {
            return Ok(());
        }
        tracing::info!(
            count = record.pending.len(),
            "retrying segments whose device was missing"
        );
        let mut summary = Summary::default();
        for plan in self.valid_plans(target, &mut summary) {
            let Ok(segments) = &plan.segments else {
                continue;
            };
            let pending: Vec<_> = segments
                .iter()
                .filter(|segment| record.pending.contains(&plan.step(segment.position)))
                .collect();
            if pending.is_empty() {
                continue;
            }
            let handle = if plan.kind.on_host() {
                self.host_netlink().await
            } else {
                match &target.namespace {
                    Some(namespace) => namespace.connect().await,
                    None => continue,
                }
            };
            let handle = match handle {
                Ok(handle) => handle,
                Err(error) => {
                    tracing::warn!("pending segments not retried: {error}");
                    continue;
                }
            };
            let mut links = LinkCache::default();
            for segment in pending {
                let step = plan.step(segment.position);
                // Resolved first: a retry that fails on the device again journals a new
                // Pending entry after it.
                self.journal.append(&target.id, &Entry::Resolved { step })?;
                self.apply_segment(
                    &handle,
                    &mut links,
                    target,
                    &plan,
                    segment.position,
                    &segment.request,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Undoes a stopped container's start: deletes the host routes it added and runs its
    /// stop script, once per start.
    pub async fn stop(&self, id: &str, exit_code: Option<i64>) {
        let record = match self.journal.load(id) {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(container_id = %short_id(id), "container stop not handled: {error}");
                return;
            }
        };
        if record.died {
            self.remove_host_routes(&record).await;
            return;
        }
        let span = tracing::info_span!(
            "die",
            container = %record.name,
            container_id = %short_id(id),
        );
        async {
            self.remove_host_routes(&record).await;
            if let Err(error) = self.journal.append(id, &Entry::Died { exit_code }) {
                tracing::error!("{error}");
                return;
            }
            if let Some(script) = self.scripts.find(ScriptEvent::Die, &record.name) {
                let context = ScriptContext {
                    container_id: id.to_string(),
                    container_name: record.name.clone(),
                    pid: record.pid,
                    exit_code,
                };
                self.run_script(ScriptEvent::Die, &script, &context).await;
            }
        }
        .instrument(span)
        .await
    }

    /// Forgets a removed container: deletes any host route it still owns and its journal.
    pub async fn forget(&self, id: &str) {
        match self.journal.load(id) {
            Ok(Some(record)) => self.remove_host_routes(&record).await,
            Ok(None) => return,
            Err(error) => tracing::error!(container_id = %short_id(id), "{error}"),
        }
        if let Err(error) = self.journal.remove(id) {
            tracing::error!(container_id = %short_id(id), "{error}");
        }
    }

    /// Deletes the host routes a start added. A route that is gone already counts as deleted;
    /// one that fails to go stays in the journal for the next attempt.
    async fn remove_host_routes(&self, record: &StartRecord) {
        if record.host_routes.is_empty() {
            return;
        }
        let handle = match self.host_netlink().await {
            Ok(handle) => handle,
            Err(error) => {
                tracing::error!(container = %record.name, "host routes not removed: {error}");
                return;
            }
        };
        for route in &record.host_routes {
            let Some(request) = deletion_of(route) else {
                tracing::error!(container = %record.name, "invalid host route {route:?} in the journal; it is not deleted");
                continue;
            };
            match netlink::apply(&handle, &request).await {
                Ok(outcome) => {
                    let note = outcome.note();
                    tracing::info!(container = %record.name, container_id = %short_id(&record.id), "{request}{note}");
                    let entry = Entry::HostRouteRemoved {
                        route: route.clone(),
                    };
                    if let Err(error) = self.journal.append(&record.id, &entry) {
                        tracing::error!("{error}");
                    }
                }
                Err(error) => {
                    tracing::error!(container = %record.name, container_id = %short_id(&record.id), "{error}");
                    self.reset_host_netlink_after(&error);
                }
            }
        }
    }

    /// Returns the connection to dehandler's own network namespace, opening it the first
    /// time.
    async fn host_netlink(&self) -> Result<Netlink, NetnsError> {
        if let Some(netlink) = self.host.lock().expect("host connection poisoned").clone() {
            return Ok(netlink);
        }
        let netlink = netns::connect_current().await?;
        *self.host.lock().expect("host connection poisoned") = Some(netlink.clone());
        Ok(netlink)
    }

    /// Drops the kept host connection after its socket or connection failed, so that the next
    /// request opens a new one.
    fn reset_host_netlink_after(&self, error: &ApplyError) {
        if matches!(
            error,
            ApplyError::Socket { .. } | ApplyError::Connection { .. }
        ) {
            *self.host.lock().expect("host connection poisoned") = None;
        }
    }
}

/// Returns true for the verbs after which a route exists that dehandler put there.
fn adds_route(verb: RouteVerb) -> bool {
    matches!(
        verb,
        RouteVerb::Add | RouteVerb::Append | RouteVerb::Prepend | RouteVerb::Replace
    )
}

/// Returns the request that deletes a journaled host route: the same route with verb `del`.
fn deletion_of(route: &str) -> Option<Request> {
    match iproute::parse_segment(Object::Route, route) {
        Ok(Request::Route(mut route)) => {
            route.verb = RouteVerb::Delete;
            Some(Request::Route(route))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_keeps_route_fields() {
        let request = deletion_of("add 198.19.0.0/24 via 198.18.0.2 metric 5 table 100").unwrap();
        assert_eq!(
            request.to_string(),
            "ip route delete 198.19.0.0/24 via 198.18.0.2 table 100 metric 5"
        );
    }

    #[test]
    fn only_adding_verbs_own_routes() {
        assert!(adds_route(RouteVerb::Add));
        assert!(adds_route(RouteVerb::Replace));
        assert!(!adds_route(RouteVerb::Delete));
        assert!(!adds_route(RouteVerb::Change));
    }
}
