//! State that survives restarts: which container starts were applied, step by step, and which
//! host routes each container owns.
//!
//! Each container has one file, `<state dir>/containers/<id>.jsonl`, of JSON lines appended
//! as work is done. A new start of the container appends a `begin` line, and the record is
//! read from the last one. The file is emptied first only when it has grown past
//! [`COMPACT_BYTES`]: truncating a file on every start cost more than the rest of the start's
//! journal writes together.
//!
//! Lines are appended with one `write` each and without fsync: they survive the process being
//! killed, which is the failure the journal guards against, but not a host crash, after which
//! every container starts anew anyway. A torn last line is ignored when the file is read, and
//! completed with a newline before the next line is appended to the file.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A failure to read or write the journal.
#[derive(Debug, Error)]
pub enum JournalError {
    #[error("failed to create the state directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("failed to write the journal {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("failed to read the journal {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("invalid container id {id:?} for a journal file name")]
    InvalidId { id: String },
}

/// The size from which a new start empties its container's file instead of appending to it.
/// A start with 10 changes, its stop included, writes about 500 bytes, so about 30 starts fit.
pub const COMPACT_BYTES: u64 = 16 * 1024;

/// The start of a `begin` line, as [`write_entry`] writes it.
const BEGIN_LINE: &str = "{\"begin\":";

/// One line of a container's journal file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A start began to be applied, at `at` nanoseconds since the Unix epoch. Always the first
    /// line. `noticed_at` and `inspected_at` are the times of its [`Timeline`]. Files written
    /// by earlier versions of dehandler have none of the three times.
    Begin {
        started_at: String,
        name: String,
        pid: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        noticed_at: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inspected_at: Option<u64>,
    },
    /// A step was carried out, whatever its outcome: `address:2` is the second segment of the
    /// address label, `script:start` the start script.
    Step { step: String },
    /// A segment failed because its device did not exist; it is retried when the container
    /// is connected to a network.
    Pending { step: String },
    /// A pending segment succeeded on a retry.
    Resolved { step: String },
    /// dehandler added this host route, in `ip route` tail syntax; it is deleted when the
    /// container stops.
    HostRoute { route: String },
    /// An owned host route was deleted.
    HostRouteRemoved { route: String },
    /// Every step of the start was carried out, at `at` nanoseconds since the Unix epoch.
    Done { at: u64 },
    /// The container stopped and its stop work was done.
    Died { exit_code: Option<i64> },
}

/// The times of a container start before dehandler began to apply it, in nanoseconds since the
/// Unix epoch. With the `begin` and `done` times, it splits a start's latency into the
/// Engine API's part and dehandler's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The start event arrived, or a sweep listed the container as running.
    pub noticed_at: Option<u64>,
    /// The inspect of the container returned.
    pub inspected_at: Option<u64>,
}

/// The state of a container's latest start, folded from its journal file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartRecord {
    pub id: String,
    pub name: String,
    pub started_at: String,
    pub pid: i64,
    pub steps: BTreeSet<String>,
    pub pending: BTreeSet<String>,
    /// Host routes added for this start and not yet deleted, in the order they were added.
    pub host_routes: Vec<String>,
    pub timeline: Timeline,
    /// When the start began to be applied, in nanoseconds since the Unix epoch.
    pub begun_at: Option<u64>,
    pub done: bool,
    /// When the start was done, in nanoseconds since the Unix epoch.
    pub done_at: Option<u64>,
    pub died: bool,
}

impl StartRecord {
    fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Begin {
                started_at,
                name,
                pid,
                at,
                noticed_at,
                inspected_at,
            } => {
                let id = std::mem::take(&mut self.id);
                *self = StartRecord {
                    id,
                    name,
                    started_at,
                    pid,
                    timeline: Timeline {
                        noticed_at,
                        inspected_at,
                    },
                    begun_at: at,
                    ..StartRecord::default()
                };
            }
            Entry::Step { step } => {
                self.steps.insert(step);
            }
            Entry::Pending { step } => {
                self.pending.insert(step);
            }
            Entry::Resolved { step } => {
                self.pending.remove(&step);
            }
            Entry::HostRoute { route } => self.host_routes.push(route),
            Entry::HostRouteRemoved { route } => {
                if let Some(index) = self.host_routes.iter().position(|r| *r == route) {
                    self.host_routes.remove(index);
                }
            }
            Entry::Done { at } => {
                self.done = true;
                self.done_at = Some(at);
            }
            Entry::Died { .. } => self.died = true,
        }
    }
}

/// The journal directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
    /// Files of the starts being applied, kept open from `begin` to `done`, so that a start's
    /// steps do not each open and close the file. Shared by the clones of the journal.
    open_files: Arc<Mutex<HashMap<String, File>>>,
}

impl Journal {
    /// Opens the journal under a state directory, creating it when missing.
    pub fn open(state_dir: &Path) -> Result<Journal, JournalError> {
        let dir = state_dir.join("containers");
        std::fs::create_dir_all(&dir).map_err(|source| JournalError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(Journal {
            dir,
            open_files: Arc::default(),
        })
    }

    fn path(&self, id: &str) -> Result<PathBuf, JournalError> {
        // Container ids are 64 hexadecimal digits; anything else must not become a path.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(JournalError::InvalidId { id: id.to_string() });
        }
        Ok(self.dir.join(format!("{id}.jsonl")))
    }

    /// Reads a container's latest start, or `None` when it has no journal file.
    pub fn load(&self, id: &str) -> Result<Option<StartRecord>, JournalError> {
        let path = self.path(id)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(JournalError::Read { path, source }),
        };
        let mut record = StartRecord {
            id: id.to_string(),
            ..StartRecord::default()
        };
        // Lines before the last `begin` belong to earlier starts, which it replaces.
        let latest = match text.rfind(&format!("\n{BEGIN_LINE}")) {
            Some(newline) => &text[newline + 1..],
            None => &text,
        };
        for line in latest.lines() {
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) => record.apply(entry),
                // A line torn by a kill mid-write can only be the last; skip it.
                Err(error) => {
                    tracing::debug!(path = %path.display(), %error, "skipped a journal line")
                }
            }
        }
        Ok(Some(record))
    }

    /// Returns the ids of every container with a journal file.
    pub fn ids(&self) -> Result<Vec<String>, JournalError> {
        let read_error = |source| JournalError::Read {
            path: self.dir.clone(),
            source,
        };
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".jsonl")) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Starts a new record for a container start, which replaces the record of its earlier
    /// start. The `begin` line records the current time and the start's timeline.
    pub fn begin(
        &self,
        id: &str,
        started_at: &str,
        name: &str,
        pid: i64,
        timeline: Timeline,
    ) -> Result<(), JournalError> {
        let path = self.path(id)?;
        let entry = Entry::Begin {
            started_at: started_at.to_string(),
            name: name.to_string(),
            pid,
            at: Some(now_nanos()),
            noticed_at: timeline.noticed_at,
            inspected_at: timeline.inspected_at,
        };
        let mut file = open_for_append(&path, true)?;
        write_entry(&mut file, &path, &entry)?;
        self.open_files
            .lock()
            .expect("journal files poisoned")
            .insert(id.to_string(), file);
        Ok(())
    }

    /// Appends an entry to a container's record. `Done` and `Died` close the file that
    /// `begin` left open.
    pub fn append(&self, id: &str, entry: &Entry) -> Result<(), JournalError> {
        let path = self.path(id)?;
        let mut open_files = self.open_files.lock().expect("journal files poisoned");
        let closes = matches!(entry, Entry::Done { .. } | Entry::Died { .. });
        let result = match open_files.get_mut(id) {
            Some(file) => write_entry(file, &path, entry),
            None => {
                let mut file = open_for_append(&path, false)?;
                write_entry(&mut file, &path, entry)
            }
        };
        if closes {
            open_files.remove(id);
        }
        result
    }

    /// Deletes a container's record, once the container is removed.
    pub fn remove(&self, id: &str) -> Result<(), JournalError> {
        let path = self.path(id)?;
        self.open_files
            .lock()
            .expect("journal files poisoned")
            .remove(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(JournalError::Write { path, source }),
        }
    }
}

/// Returns the current time in nanoseconds since the Unix epoch.
pub fn now_nanos() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(now.as_nanos()).unwrap_or(u64::MAX)
}

/// Opens a journal file to append lines to it, creating it when `create` is set. A file past
/// [`COMPACT_BYTES`] is emptied when `create` is set, and a torn last line, left by a kill
/// in the middle of a write, is ended with a newline so that it does not swallow the next.
fn open_for_append(path: &Path, create: bool) -> Result<File, JournalError> {
    let write_error = |source| JournalError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .open(path)
        .map_err(write_error)?;
    let len = file.metadata().map_err(write_error)?.len();
    if create && len > COMPACT_BYTES {
        file.set_len(0).map_err(write_error)?;
    } else if len > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, len - 1)
            .map_err(write_error)?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(write_error)?;
        }
    }
    Ok(file)
}

/// Writes one entry as one line with a single `write`, so a kill leaves no half line behind
/// a complete one.
fn write_entry(file: &mut File, path: &Path, entry: &Entry) -> Result<(), JournalError> {
    let mut line = serde_json::to_vec(entry).expect("journal entries always serialize");
    line.push(b'\n');
    file.write_all(&line).map_err(|source| JournalError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> (Journal, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "dehandler-journal-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        (Journal::open(&dir).unwrap(), dir)
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn folds_entries_into_record() {
        let (journal, dir) = journal();
        let timeline = Timeline {
            noticed_at: Some(3),
            inspected_at: Some(5),
        };
        let before = now_nanos();
        journal.begin("abc", "t1", "web", 42, timeline).unwrap();
        let after = now_nanos();
        for entry in [
            Entry::Step {
                step: "route:1".into(),
            },
            Entry::HostRoute {
                route: "add 198.19.0.0/24 via 10.0.0.2".into(),
            },
            Entry::HostRoute {
                route: "add 198.19.1.0/24 via 10.0.0.2".into(),
            },
            Entry::HostRouteRemoved {
                route: "add 198.19.0.0/24 via 10.0.0.2".into(),
            },
            Entry::Pending {
                step: "address:1".into(),
            },
            Entry::Done { at: 7 },
        ] {
            journal.append("abc", &entry).unwrap();
        }
        let record = journal.load("abc").unwrap().unwrap();
        assert_eq!(record.name, "web");
        assert_eq!(record.started_at, "t1");
        assert_eq!(record.pid, 42);
        assert_eq!(record.timeline, timeline);
        let begun_at = record.begun_at.expect("no begin time");
        assert!(
            (before..=after).contains(&begun_at),
            "{begun_at} not in {before}..={after}"
        );
        assert!(record.done);
        assert_eq!(record.done_at, Some(7));
        assert!(!record.died);
        assert!(record.steps.contains("route:1"));
        assert!(record.pending.contains("address:1"));
        assert_eq!(record.host_routes, vec!["add 198.19.1.0/24 via 10.0.0.2"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn begin_line_without_time_loads() {
        let (journal, dir) = journal();
        let line = r#"{"begin":{"started_at":"t1","name":"web","pid":42}}"#;
        std::fs::write(journal.path("abc").unwrap(), format!("{line}\n")).unwrap();
        let record = journal.load("abc").unwrap().unwrap();
        assert_eq!(record.started_at, "t1");
        assert_eq!(record.begun_at, None);
        assert_eq!(record.timeline, Timeline::default());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn begin_replaces_earlier_start() {
        let (journal, dir) = journal();
        journal
            .begin("abc", "t1", "web", 42, Timeline::default())
            .unwrap();
        journal.append("abc", &Entry::Done { at: 7 }).unwrap();
        journal
            .begin("abc", "t2", "web", 43, Timeline::default())
            .unwrap();
        let record = journal.load("abc").unwrap().unwrap();
        assert_eq!(record.started_at, "t2");
        assert_eq!(record.pid, 43);
        assert!(!record.done);
        assert_eq!(record.done_at, None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn torn_last_line_is_skipped() {
        let (journal, dir) = journal();
        journal
            .begin("abc", "t1", "web", 42, Timeline::default())
            .unwrap();
        journal
            .append(
                "abc",
                &Entry::Step {
                    step: "rule:1".into(),
                },
            )
            .unwrap();
        let path = journal.path("abc").unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"step\":{\"st").unwrap();
        let record = journal.load("abc").unwrap().unwrap();
        assert!(record.steps.contains("rule:1"));
        assert_eq!(record.steps.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn line_after_torn_line_is_kept() {
        let (journal, dir) = journal();
        journal
            .begin("abc", "t1", "web", 42, Timeline::default())
            .unwrap();
        let path = journal.path("abc").unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"step\":{\"st").unwrap();
        // A new process has no open file and opens it again, as after a kill.
        let restarted = Journal::open(dir.as_path()).unwrap();
        let step = Entry::Step {
            step: "rule:1".into(),
        };
        restarted.append("abc", &step).unwrap();
        let record = restarted.load("abc").unwrap().unwrap();
        assert_eq!(record.steps, BTreeSet::from(["rule:1".to_string()]));

        file.write_all(b"{\"step\":{\"st").unwrap();
        restarted
            .begin("abc", "t2", "web", 43, Timeline::default())
            .unwrap();
        let record = restarted.load("abc").unwrap().unwrap();
        assert_eq!((record.started_at.as_str(), record.pid), ("t2", 43));
        assert!(record.steps.is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn begin_empties_a_file_past_the_compaction_size() {
        let (journal, dir) = journal();
        let path = journal.path("abc").unwrap();
        let mut starts = 0;
        while std::fs::metadata(&path).map_or(0, |m| m.len()) <= COMPACT_BYTES {
            starts += 1;
            journal
                .begin(
                    "abc",
                    &format!("t{starts}"),
                    "web",
                    starts,
                    Timeline::default(),
                )
                .unwrap();
            for n in 1..=10 {
                let step = format!("route:{n}");
                journal.append("abc", &Entry::Step { step }).unwrap();
            }
            journal.append("abc", &Entry::Done { at: 7 }).unwrap();
        }
        assert!(starts > 1, "one start filled the file");
        journal
            .begin("abc", "last", "web", 0, Timeline::default())
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_eq!(journal.load("abc").unwrap().unwrap().started_at, "last");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rejects_ids_that_are_not_names() {
        let (journal, dir) = journal();
        for id in ["", "../x", "a/b", "a.b"] {
            assert!(
                journal.begin(id, "t", "n", 1, Timeline::default()).is_err(),
                "{id:?} accepted"
            );
        }
        assert!(journal.load("missing").unwrap().is_none());
        assert_eq!(journal.ids().unwrap(), Vec::<String>::new());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
