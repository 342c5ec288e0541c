//! The status store behind `dehandler status`: the latest container starts with each change
//! and its result, and the latest errors, kept in memory by the running instance.
//!
//! The store is bounded: it keeps the last [`MAX_CONTAINERS`] container starts, the first
//! [`MAX_CHANGES`] changes of each, and the last [`MAX_ERRORS`] errors. It is lost when the
//! process exits; the journal, not this store, decides what was applied.

pub mod client;
mod print;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::netlink::Outcome;

pub use client::StatusArgs;

/// The number of container starts kept; the oldest is dropped first.
pub const MAX_CONTAINERS: usize = 100;

/// The number of changes kept per container start; later ones are counted, not kept.
pub const MAX_CHANGES: usize = 200;

/// The number of errors kept; the oldest is dropped first.
pub const MAX_ERRORS: usize = 100;

/// Whether the instance configures containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Another instance with the same label prefix holds the instance lock.
    Waiting,
    /// This instance holds the lock and configures containers.
    Active,
}

/// The result of one change, as `dehandler status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", content = "message", rename_all = "snake_case")]
pub enum ChangeResult {
    /// The kernel accepted the change, or the script succeeded.
    Applied,
    /// An `add` found the object already there.
    AlreadyPresent,
    /// A `delete` found nothing to delete.
    AlreadyAbsent,
    /// The kernel rejected the change or the script failed; the message gives the reason.
    Error(String),
    /// The host route policy (`HOST_ROUTES`) does not allow the change.
    NotAllowed(String),
    /// The whole label was rejected before anything was applied.
    Rejected(String),
}

impl ChangeResult {
    /// Returns true for the results that are errors.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            ChangeResult::Error(_) | ChangeResult::NotAllowed(_) | ChangeResult::Rejected(_)
        )
    }
}

impl From<Outcome> for ChangeResult {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Applied => ChangeResult::Applied,
            Outcome::AlreadyPresent => ChangeResult::AlreadyPresent,
            Outcome::AlreadyAbsent => ChangeResult::AlreadyAbsent,
        }
    }
}

/// One change of a container start: a label segment, a whole rejected label, or the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReport {
    /// The label key, such as `docker-events.route`, or `script`.
    pub label: String,
    /// The segment's position in the label, from 1; none for a rejected label or the script.
    pub segment: Option<usize>,
    /// The change in `ip` syntax, the rejected label's value, or the script's path.
    pub change: String,
    #[serde(flatten)]
    pub result: ChangeResult,
}

/// One container start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerReport {
    pub id: String,
    /// The name without Docker's leading `/`.
    pub name: String,
    /// Docker's `State.StartedAt` of this start.
    pub started_at: String,
    /// When dehandler began to configure the start, in RFC 3339 UTC.
    pub begun_at: String,
    /// When dehandler finished, in RFC 3339 UTC; none while it is still configuring.
    pub configured_at: Option<String>,
    pub changes: Vec<ChangeReport>,
    /// Changes not kept because the start had more than [`MAX_CHANGES`].
    pub changes_dropped: usize,
}

/// One error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// When it happened, in RFC 3339 UTC.
    pub at: String,
    pub container: Option<String>,
    pub container_id: Option<String>,
    pub message: String,
}

/// The reply of `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub version: String,
    /// The PID of the instance in its own PID namespace.
    pub pid: u32,
    pub label_prefix: String,
    pub state: InstanceState,
    /// When the instance started, in RFC 3339 UTC.
    pub started_at: String,
    /// The last container starts, oldest first.
    pub containers: Vec<ContainerReport>,
    /// The last errors, oldest first.
    pub errors: Vec<ErrorReport>,
    pub max_containers: usize,
    pub max_errors: usize,
}

/// The status store, shared by the configurator that feeds it and the server that reports it.
#[derive(Debug, Clone)]
pub struct Status {
    inner: Arc<Mutex<Store>>,
}

#[derive(Debug)]
struct Store {
    label_prefix: String,
    state: InstanceState,
    started_at: String,
    containers: VecDeque<ContainerReport>,
    errors: VecDeque<ErrorReport>,
}

impl Default for Status {
    fn default() -> Self {
        Status::new("")
    }
}

impl Status {
    /// Creates an empty store for an instance in the waiting state.
    pub fn new(label_prefix: &str) -> Self {
        let store = Store {
            label_prefix: label_prefix.to_string(),
            state: InstanceState::Waiting,
            started_at: now_rfc3339(),
            containers: VecDeque::new(),
            errors: VecDeque::new(),
        };
        Status {
            inner: Arc::new(Mutex::new(store)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while the lock was held leaves a store that is still consistent: every
        // update is a single push or assignment.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the instance as the one that configures containers.
    pub fn set_active(&self) {
        self.lock().state = InstanceState::Active;
    }

    /// Starts the record of a container start, dropping the oldest record beyond the bound.
    pub fn begin(&self, id: &str, name: &str, started_at: &str) {
        let mut store = self.lock();
        store
            .containers
            .retain(|c| !(c.id == id && c.started_at == started_at));
        if store.containers.len() >= MAX_CONTAINERS {
            store.containers.pop_front();
        }
        store.containers.push_back(ContainerReport {
            id: id.to_string(),
            name: name.to_string(),
            started_at: started_at.to_string(),
            begun_at: now_rfc3339(),
            configured_at: None,
            changes: Vec::new(),
            changes_dropped: 0,
        });
    }

    /// Records a change of a container's latest start; an error result is also added to the
    /// errors.
    pub fn record(&self, id: &str, change: ChangeReport) {
        let mut store = self.lock();
        if let Some(message) = error_message(&change) {
            let name = store.container(id).map(|c| c.name.clone());
            store.push_error(name, Some(id.to_string()), message);
        }
        let Some(container) = store.container_mut(id) else {
            return;
        };
        if container.changes.contains(&change) && change.segment.is_none() {
            // A retry of pending segments parses the labels again and would repeat the
            // rejections of whole labels.
            return;
        }
        if container.changes.len() < MAX_CHANGES {
            container.changes.push(change);
        } else {
            container.changes_dropped += 1;
        }
    }

    /// Marks a container's latest start as configured now.
    pub fn finish(&self, id: &str) {
        if let Some(container) = self.lock().container_mut(id) {
            container.configured_at = Some(now_rfc3339());
        }
    }

    /// Records an error that is not the result of one change.
    pub fn error(&self, container: Option<(&str, &str)>, message: String) {
        let (name, id) = match container {
            Some((name, id)) => (Some(name.to_string()), Some(id.to_string())),
            None => (None, None),
        };
        self.lock().push_error(name, id, message);
    }

    /// Returns a copy of the store.
    pub fn report(&self) -> Report {
        let store = self.lock();
        Report {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            label_prefix: store.label_prefix.clone(),
            state: store.state,
            started_at: store.started_at.clone(),
            containers: store.containers.iter().cloned().collect(),
            errors: store.errors.iter().cloned().collect(),
            max_containers: MAX_CONTAINERS,
            max_errors: MAX_ERRORS,
        }
    }
}

impl Store {
    fn container(&self, id: &str) -> Option<&ContainerReport> {
        self.containers.iter().rev().find(|c| c.id == id)
    }

    fn container_mut(&mut self, id: &str) -> Option<&mut ContainerReport> {
        self.containers.iter_mut().rev().find(|c| c.id == id)
    }

    fn push_error(&mut self, container: Option<String>, id: Option<String>, message: String) {
        if self.errors.len() >= MAX_ERRORS {
            self.errors.pop_front();
        }
        self.errors.push_back(ErrorReport {
            at: now_rfc3339(),
            container,
            container_id: id,
            message,
        });
    }
}

/// Returns the error line of a change whose result is an error.
fn error_message(change: &ChangeReport) -> Option<String> {
    let position = change
        .segment
        .map(|segment| format!(" segment {segment}"))
        .unwrap_or_default();
    match &change.result {
        ChangeResult::Error(message) => Some(format!("{}{position}: {message}", change.label)),
        ChangeResult::NotAllowed(reason) => Some(format!(
            "{}{position}: {}: not allowed: {reason}",
            change.label, change.change
        )),
        ChangeResult::Rejected(message) => {
            Some(format!("{}: label rejected: {message}", change.label))
        }
        _ => None,
    }
}

/// Returns the current time in RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_rfc3339(seconds)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC, such as `2024-02-29T13:05:09Z`.
fn format_rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(label: &str, segment: Option<usize>, result: ChangeResult) -> ChangeReport {
        ChangeReport {
            label: label.to_string(),
            segment,
            change: "ip route add 198.18.0.0/24 via 198.18.1.1".to_string(),
            result,
        }
    }

    #[test]
    fn rfc3339_dates() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_709_211_909, "2024-02-29T13:05:09Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(format_rfc3339(seconds), expected, "{seconds}");
        }
    }

    #[test]
    fn containers_are_bounded() {
        let status = Status::new("p");
        for n in 0..MAX_CONTAINERS + 5 {
            status.begin(&format!("id{n}"), &format!("c{n}"), "t");
        }
        let report = status.report();
        assert_eq!(report.containers.len(), MAX_CONTAINERS);
        assert_eq!(report.containers[0].id, "id5");
    }

    #[test]
    fn errors_are_bounded() {
        let status = Status::new("p");
        for n in 0..MAX_ERRORS + 3 {
            status.error(None, format!("e{n}"));
        }
        let report = status.report();
        assert_eq!(report.errors.len(), MAX_ERRORS);
        assert_eq!(report.errors[0].message, "e3");
    }

    #[test]
    fn changes_are_bounded() {
        let status = Status::new("p");
        status.begin("id", "c", "t");
        for n in 0..MAX_CHANGES + 2 {
            status.record("id", change("p.route", Some(n + 1), ChangeResult::Applied));
        }
        let container = &status.report().containers[0];
        assert_eq!(container.changes.len(), MAX_CHANGES);
        assert_eq!(container.changes_dropped, 2);
    }

    #[test]
    fn error_result_is_an_error_too() {
        let status = Status::new("p");
        status.begin("id", "web", "t");
        status.record(
            "id",
            change(
                "p.route",
                Some(2),
                ChangeResult::Error("ip route add …: Network is unreachable".into()),
            ),
        );
        status.record("id", change("p.route", Some(1), ChangeResult::Applied));
        let report = status.report();
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].container.as_deref(), Some("web"));
        assert_eq!(
            report.errors[0].message,
            "p.route segment 2: ip route add …: Network is unreachable"
        );
    }

    #[test]
    fn repeated_rejection_is_kept_once() {
        let status = Status::new("p");
        status.begin("id", "c", "t");
        let rejected = change("p.rule", None, ChangeResult::Rejected("bad".into()));
        status.record("id", rejected.clone());
        status.record("id", rejected);
        assert_eq!(status.report().containers[0].changes.len(), 1);
    }

    #[test]
    fn new_start_replaces_nothing_of_others() {
        let status = Status::new("p");
        status.begin("a", "a", "t1");
        status.begin("b", "b", "t1");
        status.begin("a", "a", "t1");
        let ids: Vec<_> = status
            .report()
            .containers
            .iter()
            .map(|c| c.id.clone())
            .collect();
        assert_eq!(ids, ["b", "a"]);
    }

    #[test]
    fn report_json_names_results() {
        let status = Status::new("p");
        status.begin("id", "c", "t");
        status.record(
            "id",
            change("p.route", Some(1), ChangeResult::AlreadyPresent),
        );
        status.record(
            "id",
            change("p.route", Some(2), ChangeResult::Error("failed".into())),
        );
        let json = serde_json::to_value(status.report()).unwrap();
        let changes = &json["containers"][0]["changes"];
        assert_eq!(changes[0]["result"], "already_present");
        assert_eq!(changes[1]["result"], "error");
        assert_eq!(changes[1]["message"], "failed");
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, status.report());
    }
}
