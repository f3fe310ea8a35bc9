//! A trace: per step, what the panels showed (the `/proc` snapshot and the pod's state and
//! events), as JSON lines. The first line is a header with the steps' text; each following
//! line is one step's observation, `{"done": N, "observation": …}`, taken when step N was the
//! last one done and the screen had settled (the last observation before the next step
//! started). A later line for the same N replaces an earlier one (the pod was rebuilt).
//!
//! `podlab replay` plays a trace with the same player, read-only: no root, no pods.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use eyre::{eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::tui::app::{Activity, App};
use crate::tui::observed::Observation;
use crate::tui::runner::Watch;
use crate::tui::script::{Script, ScriptStep};

pub const FORMAT: &str = "podlab-trace";
pub const VERSION: u32 = 1;

/// A step's text, as the narration showed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub id: String,
    pub title: Text,
    pub explain: Text,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    pub format: String,
    pub version: u32,
    /// What was played: a pod's name or a lesson's id.
    pub title: String,
    /// The pod the panels showed.
    pub pod: String,
    /// Seconds since the Unix epoch.
    pub recorded_at: u64,
    /// The podlab version that recorded it.
    pub podlab: String,
    pub steps: Vec<TraceStep>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TraceLine {
    done: usize,
    observation: Observation,
}

/// A trace read back.
#[derive(Debug, Clone)]
pub struct Trace {
    pub header: TraceHeader,
    /// By steps done (0 ..= steps): what the panels showed then, if it was recorded.
    observations: Vec<Option<Observation>>,
}

impl Trace {
    pub fn load(path: &Path) -> Result<Trace> {
        let file = std::fs::File::open(path)
            .wrap_err_with(|| format!("failed to open trace {}", path.display()))?;
        Trace::read(BufReader::new(file), &path.display().to_string())
    }

    /// Parse a trace; `name` says which one in error messages.
    pub fn read(input: impl BufRead, name: &str) -> Result<Trace> {
        let mut lines = input.lines().enumerate();
        let (_, first) = lines.next().ok_or_else(|| eyre!("trace {name} is empty"))?;
        let first = first.wrap_err_with(|| format!("failed to read trace {name}"))?;
        let header: TraceHeader = serde_json::from_str(&first)
            .map_err(|e| eyre!("{name}:1: not a podlab trace header: {e}"))?;
        if header.format != FORMAT {
            return Err(eyre!(
                "{name}:1: not a podlab trace (format {:?})",
                header.format
            ));
        }
        if header.version != VERSION {
            return Err(eyre!(
                "{name}:1: trace version {} is not supported (this podlab reads version {VERSION})",
                header.version
            ));
        }
        let mut observations = vec![None; header.steps.len() + 1];
        for (i, line) in lines {
            let line = line.wrap_err_with(|| format!("failed to read trace {name}"))?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: TraceLine = serde_json::from_str(&line)
                .map_err(|e| eyre!("{name}:{}: not a trace entry: {e}", i + 1))?;
            let slot = observations.get_mut(entry.done).ok_or_else(|| {
                eyre!(
                    "{name}:{}: step {} is past the trace's {} steps",
                    i + 1,
                    entry.done,
                    header.steps.len()
                )
            })?;
            *slot = Some(entry.observation);
        }
        if observations.iter().all(Option::is_none) {
            return Err(eyre!("trace {name} has no observations"));
        }
        Ok(Trace {
            header,
            observations,
        })
    }

    pub fn steps(&self) -> usize {
        self.header.steps.len()
    }

    /// The steps as the player's script: one engine step per script step, no checks (they
    /// passed when the trace was recorded).
    pub fn script(&self) -> Script {
        Script {
            steps: self
                .header
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| ScriptStep {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    explain: s.explain.clone(),
                    commands: s.commands.clone(),
                    syscalls: s.syscalls.clone(),
                    engine_steps: i + 1,
                    checks: Vec::new(),
                })
                .collect(),
        }
    }

    /// What the panels showed with `done` steps done: that step's observation, or the
    /// closest earlier one (a step that ran on without a pause has none of its own), or the
    /// first one.
    pub fn observation(&self, done: usize) -> Option<&Observation> {
        let done = done.min(self.observations.len().saturating_sub(1));
        self.observations[..=done]
            .iter()
            .rev()
            .flatten()
            .next()
            .or_else(|| self.observations.iter().flatten().next())
    }

    /// Whether step `done` has an observation of its own.
    pub fn has_own(&self, done: usize) -> bool {
        self.observations.get(done).is_some_and(Option::is_some)
    }
}

/// Writes a trace while the player runs (a `Watch` on it).
pub struct TraceRecorder {
    out: Box<dyn Write + Send>,
    name: String,
    /// Steps done when `pending` was taken.
    done: usize,
    pending: Option<Observation>,
    /// The next step started: what the screen showed for `done` is in `pending` already.
    frozen: bool,
}

impl TraceRecorder {
    pub fn create(path: &Path, app: &App, title: &str) -> Result<TraceRecorder> {
        let file = std::fs::File::create(path)
            .wrap_err_with(|| format!("failed to create trace {}", path.display()))?;
        TraceRecorder::new(
            Box::new(std::io::BufWriter::new(file)),
            app,
            title,
            &path.display().to_string(),
        )
    }

    pub fn new(
        out: Box<dyn Write + Send>,
        app: &App,
        title: &str,
        name: &str,
    ) -> Result<TraceRecorder> {
        let header = TraceHeader {
            format: FORMAT.into(),
            version: VERSION,
            title: title.into(),
            pod: pod_name(app),
            recorded_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            podlab: env!("CARGO_PKG_VERSION").into(),
            steps: app
                .script
                .steps
                .iter()
                .map(|s| TraceStep {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    explain: s.explain.clone(),
                    commands: s.commands.clone(),
                    syscalls: s.syscalls.clone(),
                })
                .collect(),
        };
        let mut recorder = TraceRecorder {
            out,
            name: name.into(),
            done: app.script_done,
            pending: None,
            frozen: false,
        };
        let line = serde_json::to_string(&header)
            .map_err(|e| eyre!("failed to encode the header of trace {name}: {e}"))?;
        recorder.line(&line)?;
        Ok(recorder)
    }

    fn line(&mut self, line: &str) -> Result<()> {
        self.out
            .write_all(line.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
            .and_then(|_| self.out.flush())
            .wrap_err_with(|| format!("failed to write trace {}", self.name))
    }

    fn write_pending(&mut self) -> Result<()> {
        let Some(observation) = self.pending.take() else {
            return Ok(());
        };
        let line = serde_json::to_string(&TraceLine {
            done: self.done,
            observation,
        })
        .map_err(|e| eyre!("failed to encode an entry of trace {}: {e}", self.name))?;
        self.line(&line)
    }
}

fn pod_name(app: &App) -> String {
    use crate::tui::app::Session;
    match &app.session {
        Session::Pod { name, .. } | Session::Replay { name, .. } => name.clone(),
        Session::ReadOnly => String::new(),
    }
}

impl Watch for TraceRecorder {
    fn handled(&mut self, app: &App) -> Result<()> {
        if app.script_done != self.done {
            self.write_pending()?;
            self.done = app.script_done;
            self.frozen = false;
        }
        if matches!(app.activity, Activity::Stepping { .. }) && self.pending.is_some() {
            self.frozen = true;
        }
        if !self.frozen {
            if let Some(o) = &app.observed {
                self.pending = Some(o.clone());
            }
        }
        Ok(())
    }

    fn finish(&mut self, _app: &App) -> Result<()> {
        self.write_pending()
    }
}
