//! Autoplay: the player takes each step by itself, for demos and recordings. A step is taken
//! only once the previous one is done (its engine work finished and its checks passed), and
//! the screen is then held long enough to read what is shown; never a fixed sleep in place of
//! waiting for a step.

use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthStr;

use super::app::{Activity, App};
use super::event::Update;
use super::words;

/// How autoplay paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoplaySettings {
    /// Divides the reading time (2.0: twice as fast).
    pub speed: f64,
    /// Hold every screen this long instead of a time from its text (not scaled by speed).
    pub hold: Option<Duration>,
    /// After the last step and its hold, quit (deleting the pod).
    pub quit_at_end: bool,
}

impl Default for AutoplaySettings {
    fn default() -> AutoplaySettings {
        AutoplaySettings {
            speed: 1.0,
            hold: None,
            quit_at_end: false,
        }
    }
}

/// Reading speed in display columns per second: about 180 English words a minute, and
/// about 400 Chinese characters a minute (each two columns wide).
const COLUMNS_PER_SECOND: f64 = 15.0;
/// Time to find the text and look at what changed before reading.
const LOOK_FIRST: Duration = Duration::from_millis(2500);
const SHORTEST: Duration = Duration::from_secs(3);
const LONGEST: Duration = Duration::from_secs(45);

/// How long a viewer needs to read `text` at speed 1.
pub fn reading_time(text: &str) -> Duration {
    let columns = text.width() as f64;
    (LOOK_FIRST + Duration::from_secs_f64(columns / COLUMNS_PER_SECOND)).clamp(SHORTEST, LONGEST)
}

/// What autoplay asks for once a screen has been held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Take the next step.
    Next,
    /// The last step was held: quit.
    Quit,
}

#[derive(Debug, Clone)]
pub struct Autoplay {
    pub settings: AutoplaySettings,
    pub paused: bool,
    /// The shown screen is held until then; the next step starts after it.
    hold_until: Option<Instant>,
}

impl Autoplay {
    pub fn new(settings: AutoplaySettings) -> Autoplay {
        Autoplay {
            settings,
            paused: false,
            hold_until: None,
        }
    }

    /// When the loop must wake up to take the next step.
    pub fn deadline(&self) -> Option<Instant> {
        if self.paused {
            None
        } else {
            self.hold_until
        }
    }

    pub fn pause(&mut self) {
        self.paused = true;
        self.hold_until = None;
    }

    /// Hold the screen again from now (the viewer moved to other text).
    pub fn restart_hold(&mut self) {
        self.hold_until = None;
    }

    /// Resume after a pause: a full hold from the next pass.
    pub fn resume(&mut self) {
        self.paused = false;
        self.hold_until = None;
    }

    /// One pass after an event. `busy`: a step is running or waiting for its check (or
    /// something covers the screen); `at_end`: every step is done; `text`: what the viewer
    /// reads now. Holds the screen once nothing is busy, then says what to do.
    pub fn pass(&mut self, now: Instant, busy: bool, at_end: bool, text: &str) -> Option<Move> {
        if self.paused || busy || (at_end && !self.settings.quit_at_end) {
            self.hold_until = None;
            return None;
        }
        match self.hold_until {
            None => {
                self.hold_until = Some(now + self.hold_for(text));
                None
            }
            Some(until) if now >= until => {
                self.hold_until = None;
                Some(if at_end { Move::Quit } else { Move::Next })
            }
            Some(_) => None,
        }
    }

    fn hold_for(&self, text: &str) -> Duration {
        match self.settings.hold {
            Some(fixed) => fixed,
            None => {
                let speed = if self.settings.speed.is_finite() && self.settings.speed > 0.0 {
                    self.settings.speed
                } else {
                    1.0
                };
                reading_time(text).div_f64(speed)
            }
        }
    }
}

impl App {
    /// Play the steps by themselves from now on.
    pub fn enable_autoplay(&mut self, settings: AutoplaySettings, now: Instant) {
        self.autoplay = Some(Autoplay::new(settings));
        let mut up = Update::default();
        self.autoplay_pass(now, &mut up);
    }

    /// Space (or Enter) while autoplaying.
    pub(super) fn toggle_autoplay(&mut self) {
        let lang = self.lang;
        if let Some(a) = &mut self.autoplay {
            if a.paused {
                a.resume();
                self.info(words::AUTOPLAY.get(lang).to_string());
            } else {
                a.pause();
                self.info(words::PAUSED.get(lang).to_string());
            }
        }
    }

    /// What the viewer reads while a screen is held: the shown step's title and text.
    fn text_to_read(&self) -> String {
        match self.script.steps.get(self.viewing) {
            Some(step) => format!(
                "{} {}",
                step.title.get(self.lang),
                step.explain.get(self.lang)
            ),
            None => format!(
                "{} {}",
                words::ALL_DONE_TITLE.get(self.lang),
                words::ALL_DONE.get(self.lang)
            ),
        }
    }

    /// After every event: hold the screen once the last step is done, then take the next one
    /// (or quit after the last, if asked).
    pub(super) fn autoplay_pass(&mut self, now: Instant, up: &mut Update) {
        // Frozen panels would not show the next step: wait until the teacher unfreezes them.
        let busy = self.exiting
            || self.activity != Activity::Idle
            || self.step_pending()
            || self.popup.is_some()
            || self.is_frozen();
        let at_end = self.script_done >= self.script.steps.len();
        let text = self.text_to_read();
        let Some(auto) = self.autoplay.as_mut() else {
            return;
        };
        match auto.pass(now, busy, at_end, &text) {
            Some(Move::Quit) => self.quit(up),
            Some(Move::Next) => self.run_to(self.script_done + 1, now, up),
            None => {}
        }
    }
}
