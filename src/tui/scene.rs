//! A screen, as the one loop sees it: the lesson list, the explorer and the lesson player each
//! take events and return an `Update`, say when they must wake up, and draw themselves.

use std::time::Instant;

use ratatui::Frame;

use super::app::App;
use super::event::{Event, Update};
use super::lesson_player::Player;
#[cfg(podlab_host)]
use super::picker::{Choice, Picker};
use super::ui;

pub trait Scene {
    /// The first requests, before any event (a lesson resumes the learner's progress).
    fn start(&mut self) -> Update {
        Update::default()
    }
    /// What an event changes, and what the loop must do outside the screen.
    fn handle(&mut self, event: Event, now: Instant) -> Update;
    /// When the loop must wake up even if nothing arrives (timers, polls, autoplay).
    fn next_deadline(&self, now: Instant) -> Option<Instant>;
    fn draw(&self, frame: &mut Frame, now: Instant);
    /// Whether a first frame for an audience or a recording can be drawn (the panels have
    /// something to show).
    fn settled(&self) -> bool {
        true
    }
    /// Steps done so far (the planned-panic fault hook counts them).
    fn steps_done(&self) -> usize {
        0
    }
}

impl Scene for App {
    fn handle(&mut self, event: Event, now: Instant) -> Update {
        App::handle(self, event, now)
    }

    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        App::next_deadline(self, now)
    }

    fn draw(&self, frame: &mut Frame, now: Instant) {
        ui::draw(frame, self, now);
    }

    fn settled(&self) -> bool {
        self.observed.is_some()
    }

    fn steps_done(&self) -> usize {
        self.engine_done
    }
}

impl Scene for Player {
    fn start(&mut self) -> Update {
        Player::start(self)
    }

    fn handle(&mut self, event: Event, now: Instant) -> Update {
        Player::handle(self, event, now)
    }

    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        Player::next_deadline(self, now)
    }

    fn draw(&self, frame: &mut Frame, now: Instant) {
        ui::draw_player(frame, self, now);
    }

    fn settled(&self) -> bool {
        Player::settled(self)
    }

    fn steps_done(&self) -> usize {
        self.done_count()
    }
}

/// The lesson list: keys until a choice is made; a signal or a closed terminal is a quit.
#[cfg(podlab_host)]
impl Scene for Picker {
    fn handle(&mut self, event: Event, _now: Instant) -> Update {
        let choice = match event {
            Event::Key(key) => self.key(&key),
            Event::Terminate => Some(Choice::Quit),
            _ => None,
        };
        let mut update = Update {
            redraw: true,
            effects: Vec::new(),
        };
        if let Some(choice) = choice {
            self.choice = Some(choice);
            update.effects.push(super::event::Effect::Exit);
        }
        update
    }

    fn next_deadline(&self, _now: Instant) -> Option<Instant> {
        None
    }

    fn draw(&self, frame: &mut Frame, _now: Instant) {
        ui::draw_picker(frame, self);
    }
}
