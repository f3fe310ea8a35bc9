//! asciicast v2 (the format of asciinema): a JSON header line, then one JSON array per
//! event: `[seconds, "o", text]` for output and `[seconds, "m", label]` for a marker, which
//! players can pause on.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use eyre::{eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::tui::app::App;
use crate::tui::event_loop::Watch;
use crate::tui::lesson_player::Player;

/// The first line of an asciicast v2 file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastHeader {
    pub version: u32,
    pub width: u16,
    pub height: u16,
    /// Seconds since the Unix epoch when the recording started.
    pub timestamp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// TERM and SHELL, as asciinema records them.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl CastHeader {
    /// A header for a recording of `width`×`height` starting now, with this environment's
    /// TERM and SHELL.
    pub fn new(width: u16, height: u16, title: &str) -> CastHeader {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut env = BTreeMap::new();
        for var in ["TERM", "SHELL"] {
            let value = std::env::var(var).unwrap_or_default();
            let value = match (var, value.is_empty()) {
                ("TERM", true) => "xterm-256color".to_string(),
                ("SHELL", true) => "/bin/sh".to_string(),
                _ => value,
            };
            env.insert(var.to_string(), value);
        }
        CastHeader {
            version: 2,
            width,
            height,
            timestamp,
            title: Some(title.to_string()),
            env,
        }
    }
}

/// Writes events as they happen; each line is flushed so an interrupted recording still plays.
pub struct CastWriter {
    out: Box<dyn Write + Send>,
    started: Instant,
    /// Where it goes, for error messages.
    name: String,
}

impl CastWriter {
    pub fn create(path: &Path, header: &CastHeader) -> Result<CastWriter> {
        let file = std::fs::File::create(path)
            .wrap_err_with(|| format!("failed to create recording {}", path.display()))?;
        CastWriter::new(
            Box::new(std::io::BufWriter::new(file)),
            header,
            &path.display().to_string(),
        )
    }

    pub fn new(out: Box<dyn Write + Send>, header: &CastHeader, name: &str) -> Result<CastWriter> {
        let mut w = CastWriter {
            out,
            started: Instant::now(),
            name: name.to_string(),
        };
        let line = serde_json::to_string(header)
            .map_err(|e| eyre!("failed to encode the header of recording {name}: {e}"))?;
        w.line(&line)?;
        Ok(w)
    }

    fn line(&mut self, line: &str) -> Result<()> {
        self.out
            .write_all(line.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
            .and_then(|_| self.out.flush())
            .wrap_err_with(|| format!("failed to write recording {}", self.name))
    }

    fn event(&mut self, kind: &str, data: &str) -> Result<()> {
        let seconds = self.started.elapsed().as_secs_f64();
        // Microseconds are what asciinema itself writes.
        let seconds = (seconds * 1e6).round() / 1e6;
        let line = serde_json::to_string(&(seconds, kind, data))
            .map_err(|e| eyre!("failed to encode an event of recording {}: {e}", self.name))?;
        self.line(&line)
    }

    /// Terminal output.
    pub fn output(&mut self, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.event("o", text)
    }

    /// A marker (a point a player can pause at).
    pub fn marker(&mut self, label: &str) -> Result<()> {
        self.event("m", label)
    }
}

/// A recording shared by the backend (frames) and the player (markers).
pub type SharedCast = Arc<Mutex<CastWriter>>;

/// Adds a marker each time another step is shown: "3 network: Pod network".
pub struct StepMarkers {
    cast: SharedCast,
    shown: Option<usize>,
}

impl StepMarkers {
    pub fn new(cast: SharedCast) -> StepMarkers {
        StepMarkers { cast, shown: None }
    }
}

/// The marker's label for the step an app shows.
pub fn step_label(app: &App) -> String {
    match app.script.steps.get(app.viewing) {
        Some(step) => format!(
            "{} {}: {}",
            app.viewing + 1,
            step.id,
            step.title.get(app.lang)
        ),
        None => format!("{} done", app.script.steps.len()),
    }
}

impl Watch<App> for StepMarkers {
    /// After the frame that shows it, so a player pausing there shows the step's screen.
    fn drawn(&mut self, app: &App) -> Result<()> {
        if self.shown == Some(app.viewing) {
            return Ok(());
        }
        self.shown = Some(app.viewing);
        let label = step_label(app);
        self.cast
            .lock()
            .map_err(|_| eyre!("the recording's lock was poisoned"))?
            .marker(&label)
    }
}

/// A lesson's markers: its steps are the player's script, so the same labels.
impl Watch<Player> for StepMarkers {
    fn drawn(&mut self, player: &Player) -> Result<()> {
        Watch::<App>::drawn(self, &player.app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn header_then_one_line_per_event() {
        let sink = Sink::default();
        let header = CastHeader::new(100, 30, "podlab");
        let mut w = CastWriter::new(Box::new(sink.clone()), &header, "test").expect("header");
        w.output("\u{1b}[1mhi\u{1b}[0m \"q\"").expect("output");
        w.output("").expect("nothing");
        w.marker("1 cgroup: Pod cgroup").expect("marker");
        let text = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let h: serde_json::Value = serde_json::from_str(lines[0]).expect("header json");
        assert_eq!(h["version"], 2);
        assert_eq!(
            (h["width"].as_u64(), h["height"].as_u64()),
            (Some(100), Some(30))
        );
        assert!(h["env"]["TERM"].is_string() && h["env"]["SHELL"].is_string());
        let o: (f64, String, String) = serde_json::from_str(lines[1]).expect("event");
        assert_eq!(
            (o.1.as_str(), o.2.as_str()),
            ("o", "\u{1b}[1mhi\u{1b}[0m \"q\"")
        );
        let m: (f64, String, String) = serde_json::from_str(lines[2]).expect("marker");
        assert_eq!(m.1, "m");
        assert!(m.0 >= o.0);
    }
}
