//! What the panels show: the latest snapshot and pod state, and what changed recently.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::kube::pod_state::PodState;
use crate::observe::{NsKind, Snapshot};

/// How long a change stays highlighted.
pub const HIGHLIGHT_FOR: Duration = Duration::from_secs(4);
/// How long the rows proving a check that just passed stay marked.
pub const EVIDENCE_FOR: Duration = Duration::from_secs(6);
/// How long in presenter mode: a class looks up from the text later than a reader alone.
pub const PRESENTER_HIGHLIGHT_FOR: Duration = Duration::from_secs(12);

/// One observation tick: the snapshot from /proc and the shim's view of the pod. Serializable,
/// so that a trace can keep it and a replay show it again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Observation {
    pub snapshot: Option<Snapshot>,
    pub state: Option<PodState>,
    /// Why the snapshot or the state could not be read this tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Observation {
    /// Seconds since the Unix epoch when this was read (event ages are relative to it).
    pub fn wall_time(&self) -> Option<f64> {
        self.snapshot
            .as_ref()
            .map(|s| s.taken_at_ms as f64 / 1000.0)
    }
}

/// Something on screen that can be marked as just changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mark {
    Process(i32),
    Namespace(String, NsKind),
    Interface(String),
    Listener(u16),
    Cgroup(String),
    Event(usize),
    PodIp,
}

/// Each mark's value in one observation: a mark is highlighted when its value changes.
fn fingerprint(o: &Observation) -> HashMap<Mark, String> {
    let mut out = HashMap::new();
    if let Some(s) = &o.snapshot {
        for p in &s.processes {
            out.insert(
                Mark::Process(p.pid),
                format!("{}:{}:{}", p.start_time, p.comm, p.state.0),
            );
        }
        let by_pid: HashMap<i32, _> = s.processes.iter().map(|p| (p.pid, p)).collect();
        for sb in &s.sandboxes {
            for c in &sb.containers {
                let Some(p) = c.main_pid.and_then(|pid| by_pid.get(&pid)) else {
                    continue;
                };
                for (kind, id) in &p.namespaces {
                    out.insert(Mark::Namespace(c.name.clone(), *kind), id.inode.to_string());
                }
            }
            let mut cgroups: Vec<(String, &crate::observe::CgroupInfo)> = Vec::new();
            if let Some(cg) = &sb.cgroup {
                cgroups.push((String::new(), cg));
            }
            for c in &sb.containers {
                if let Some(cg) = &c.cgroup {
                    cgroups.push((c.name.clone(), cg));
                }
            }
            for (name, cg) in cgroups {
                let limits = format!(
                    "{:?}/{:?}/{:?}/{:?}",
                    cg.cpu_request_millis, cg.cpu_limit_millis, cg.memory_limit, cg.oom_kill
                );
                out.insert(Mark::Cgroup(name), limits);
            }
        }
        for n in &s.networks {
            for i in &n.interfaces {
                let mut addrs = i.ipv4.clone();
                addrs.extend(i.ipv6.iter().cloned());
                out.insert(Mark::Interface(i.name.clone()), addrs.join(","));
            }
            for l in &n.listeners {
                out.insert(
                    Mark::Listener(l.port),
                    format!("{:?}{}{:?}", l.proto, l.address, l.container),
                );
            }
        }
    }
    if let Some(state) = &o.state {
        for (i, e) in state.events.iter().enumerate() {
            out.insert(Mark::Event(i), format!("{}{}", e.reason, e.time));
        }
        let ip = state.sandbox.as_ref().and_then(|s| s.ip.clone());
        out.insert(Mark::PodIp, ip.unwrap_or_default());
    }
    out
}

/// The panels held still (`f`) while a teacher explains: the observation and the marks drawn
/// at that moment. Marks are read at `at`, so none expires while frozen and the picture
/// stays whole; newer observations still reach the app (steps and checks use them).
#[derive(Debug, Clone)]
pub struct Frozen {
    pub observed: Option<Observation>,
    pub highlights: Highlights,
    /// The rows proving a check, as they were when frozen.
    pub evidence: Highlights,
    pub at: Instant,
}

impl Frozen {
    pub fn is_marked(&self, mark: &Mark) -> bool {
        self.highlights.is_marked(mark, self.at)
    }
}

/// Marks of what changed, each until its own deadline.
#[derive(Debug, Clone)]
pub struct Highlights {
    until: HashMap<Mark, Instant>,
    /// How long a mark stays.
    hold: Duration,
}

impl Default for Highlights {
    fn default() -> Highlights {
        Highlights {
            until: HashMap::new(),
            hold: HIGHLIGHT_FOR,
        }
    }
}

impl Highlights {
    pub fn with_hold(hold: Duration) -> Highlights {
        Highlights {
            until: HashMap::new(),
            hold,
        }
    }

    /// Keep each new mark this long.
    pub fn set_hold(&mut self, hold: Duration) {
        self.hold = hold;
    }

    /// Mark what differs between `before` and `after` (nothing on the first observation).
    pub fn note_changes(
        &mut self,
        before: Option<&Observation>,
        after: &Observation,
        now: Instant,
    ) {
        let Some(before) = before else { return };
        let old = fingerprint(before);
        for (mark, value) in fingerprint(after) {
            if value.is_empty() {
                continue;
            }
            if old.get(&mark) != Some(&value) {
                self.until.insert(mark, now + self.hold);
            }
        }
    }

    pub fn is_marked(&self, mark: &Mark, now: Instant) -> bool {
        self.until.get(mark).is_some_and(|t| *t > now)
    }

    /// Drop expired marks; true if any was dropped (the screen must be redrawn).
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.until.len();
        self.until.retain(|_, t| *t > now);
        before != self.until.len()
    }

    /// When the next mark expires.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.until.values().min().copied()
    }

    pub fn clear(&mut self) {
        self.until.clear();
    }

    /// Mark these rows from now on, for the hold.
    pub fn mark(&mut self, marks: impl IntoIterator<Item = Mark>, now: Instant) {
        for mark in marks {
            self.until.insert(mark, now + self.hold);
        }
    }
}
