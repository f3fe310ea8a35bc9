//! What every kind of playing shares (the explorer, lessons, a replay of either): autoplay,
//! presenter mode, a fixed screen size, an asciicast recording and a trace. These belong to
//! the player, so whatever supplies the steps gets them.

use std::io::Stdout;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eyre::{eyre, Result, WrapErr};
use ratatui::layout::Size;
use ratatui::Terminal;

use super::app::App;
use super::autoplay::AutoplaySettings;
use super::event_loop::{RunOptions, Watch};
use super::lesson_player::Player;
use super::theme::ThemeKind;
use crate::tui::record::backend::{parse_size, FixedBackend};
use crate::tui::record::cast::{CastHeader, CastWriter, SharedCast, StepMarkers};
use crate::tui::record::trace::TraceRecorder;

#[derive(Debug, Clone, clap::Args)]
pub struct PlayerArgs {
    /// Take each step by itself once the previous one is done, holding each screen long
    /// enough to read it (Space pauses and resumes; ←/→ still read other steps).
    #[arg(long)]
    pub autoplay: bool,
    /// Autoplay faster (2) or slower (0.5): divides the reading time.
    #[arg(long, default_value_t = 1.0, requires = "autoplay")]
    pub speed: f64,
    /// Hold every screen this many seconds instead of a time from its text.
    #[arg(long, requires = "autoplay")]
    pub hold: Option<f64>,
    /// With --autoplay: quit after the last step has been held (the pod is deleted). In a
    /// lesson, a step that fails ends it too, with an error.
    #[arg(long, requires = "autoplay")]
    pub quit_at_end: bool,
    /// Classroom layout: high contrast, narration first, more space, a step counter, and
    /// what changed marked for longer.
    #[arg(long)]
    pub presenter: bool,
    /// Colours: default, high-contrast (projectors) or mono (`t` cycles them).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeKind>,
    /// Record the screen to an asciicast v2 file (plays with asciinema), with a marker at
    /// each step.
    #[arg(long, value_name = "FILE.cast")]
    pub record: Option<PathBuf>,
    /// Draw at this size whatever the terminal's size, e.g. 100x30 (a recording's size).
    #[arg(long, value_name = "COLSxROWS", value_parser = parse_size)]
    pub size: Option<Size>,
    /// Save what the panels showed at each step, for `podlab replay`.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

impl Default for PlayerArgs {
    /// The command line's defaults: a screen that starts a player without a command line
    /// (the lesson list) gets exactly what `podlab explore` with no options gets.
    fn default() -> PlayerArgs {
        command_line_defaults()
    }
}

/// What clap gives a set of options when none is typed: the one source of their defaults.
pub fn command_line_defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("podlab"));
    let matches = command
        .try_get_matches_from(["podlab"])
        .expect("every option has a default");
    T::from_arg_matches(&matches).expect("the defaults parse")
}

impl PlayerArgs {
    pub fn check(&self) -> Result<()> {
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= 100.0) {
            return Err(eyre!(
                "--speed must be more than 0 and at most 100, not {}",
                self.speed
            ));
        }
        if let Some(h) = self.hold {
            if !(h.is_finite() && (0.0..=3600.0).contains(&h)) {
                return Err(eyre!("--hold must be 0 to 3600 seconds, not {h}"));
            }
        }
        Ok(())
    }

    pub fn autoplay_settings(&self) -> Option<AutoplaySettings> {
        self.autoplay.then(|| AutoplaySettings {
            speed: self.speed,
            hold: self.hold.map(Duration::from_secs_f64),
            quit_at_end: self.quit_at_end,
        })
    }

    /// Presenter mode, theme and autoplay, on a freshly made app.
    pub fn apply(&self, app: &mut App, now: Instant) {
        self.apply_look(app);
        if let Some(settings) = self.autoplay_settings() {
            app.enable_autoplay(settings, now);
        }
    }

    /// Presenter mode, theme and autoplay, on a freshly made lesson player.
    pub fn apply_to_player(&self, player: &mut Player, now: Instant) {
        self.apply_look(&mut player.app);
        if self.presenter {
            player.show_notes();
        }
        if let Some(settings) = self.autoplay_settings() {
            player.enable_autoplay(settings, now);
        }
    }

    /// Presenter mode and theme.
    fn apply_look(&self, app: &mut App) {
        if self.presenter {
            app.set_presenter();
        }
        if let Some(theme) = self.theme {
            app.set_theme(theme);
        }
    }

    /// Whether the first frame should wait for the panels' first data.
    pub fn clean_start(&self) -> bool {
        self.presenter || self.record.is_some() || self.autoplay
    }
}

/// The terminal to draw on and, when recording, the recording.
pub struct Screen {
    pub terminal: Terminal<FixedBackend<Stdout>>,
    pub cast: Option<SharedCast>,
}

impl Screen {
    /// On stdout (already in raw mode and the alternate screen), at `--size` or the
    /// terminal's size; a recording is `--size` or the terminal's size at the start.
    pub fn open(args: &PlayerArgs, title: &str) -> Result<Screen> {
        let mut size = args.size;
        let mut cast = None;
        if let Some(path) = &args.record {
            let fixed = match size {
                Some(s) => s,
                None => {
                    let (w, h) = ratatui::crossterm::terminal::size()
                        .wrap_err("failed to read the terminal's size for the recording")?;
                    Size::new(w, h)
                }
            };
            size = Some(fixed);
            let header = CastHeader::new(fixed.width, fixed.height, title);
            cast = Some(Arc::new(Mutex::new(CastWriter::create(path, &header)?)));
        }
        let backend = FixedBackend::new(std::io::stdout(), size, cast.clone())
            .wrap_err("failed to set up the terminal")?;
        let terminal = Terminal::new(backend).wrap_err("failed to set up the terminal")?;
        Ok(Screen { terminal, cast })
    }
}

/// The recording's step markers and the trace, as the loop's watches of a screen `S`.
pub struct Watches<S> {
    list: Vec<Box<dyn Watch<S>>>,
}

impl<S> Watches<S> {
    /// Nothing follows the screen.
    pub fn none() -> Watches<S> {
        Watches { list: Vec::new() }
    }

    /// The loop's options: these watches, and whether to wait for a settled first frame.
    pub fn options(&mut self, clean_start: bool) -> RunOptions<'_, S> {
        RunOptions {
            watches: self
                .list
                .iter_mut()
                .map(|w| w.as_mut() as &mut dyn Watch<S>)
                .collect(),
            clean_start,
        }
    }
}

/// A screen a recording's step markers and a trace can follow: the explorer and the lesson
/// player (each writes its own kind of trace).
pub trait Recorded: Sized + 'static
where
    StepMarkers: Watch<Self>,
    TraceRecorder: Watch<Self>,
{
    fn trace_recorder(path: &Path, scene: &Self, title: &str) -> Result<TraceRecorder>;
}

impl Recorded for App {
    fn trace_recorder(path: &Path, app: &App, title: &str) -> Result<TraceRecorder> {
        TraceRecorder::create(path, app, title)
    }
}

impl Recorded for Player {
    fn trace_recorder(path: &Path, player: &Player, title: &str) -> Result<TraceRecorder> {
        TraceRecorder::create_lesson(path, player, title)
    }
}

impl<S: Recorded> Watches<S>
where
    StepMarkers: Watch<S>,
    TraceRecorder: Watch<S>,
{
    /// Step markers when recording, and the trace when tracing.
    pub fn new(
        args: &PlayerArgs,
        cast: Option<&SharedCast>,
        scene: &S,
        title: &str,
    ) -> Result<Watches<S>> {
        let mut list: Vec<Box<dyn Watch<S>>> = Vec::new();
        if let Some(c) = cast {
            list.push(Box::new(StepMarkers::new(Arc::clone(c))));
        }
        if let Some(path) = &args.trace {
            list.push(Box::new(S::trace_recorder(path, scene, title)?));
        }
        Ok(Watches { list })
    }
}

/// How a played screen opens on the terminal (`on_terminal::run_on_terminal`'s `open`): at
/// `--size`, recorded with `--record`, traced with `--trace`.
pub fn open_screen<'a, S: Recorded>(
    args: &'a PlayerArgs,
    title: &'a str,
) -> impl FnOnce(&S) -> Result<(Screen, Watches<S>)> + 'a
where
    StepMarkers: Watch<S>,
    TraceRecorder: Watch<S>,
{
    move |scene| {
        let screen = Screen::open(args, title)?;
        let watches = Watches::new(args, screen.cast.as_ref(), scene, title)?;
        Ok((screen, watches))
    }
}
