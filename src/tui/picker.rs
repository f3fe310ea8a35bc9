//! The lesson list `podlab` opens with no arguments: the lessons in order with the learner's
//! progress and whether this machine can run them; Enter plays one (or, where it cannot run,
//! its recorded trace), `e` opens the free explorer. Pure state; `ui::picker` draws it.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

use super::keymap::{action_for, Action};
use super::theme::{no_color_requested, ThemeKind};
use super::words::tr;
use crate::doctor::{self, LessonVerdict, Machine};
use crate::i18n::{Lang, Text};
use crate::lesson::card::Difficulty;
use crate::lesson::{lesson_files, load_lesson, Lesson, ProgressStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerEntry {
    pub id: String,
    pub path: PathBuf,
    pub title: Text,
    pub summary: Text,
    pub done: usize,
    pub total: usize,
    /// The lesson's card: what it teaches, about how long, how hard.
    pub objectives: Vec<Text>,
    pub minutes: Option<u32>,
    pub difficulty: Option<Difficulty>,
    /// Whether this machine can run it (`podlab doctor`'s verdict); None: not examined.
    pub here: Option<LessonVerdict>,
    /// Its recorded trace, played instead when it cannot run here.
    pub trace: Option<PathBuf>,
}

impl PickerEntry {
    /// The entry of `lesson`, with the learner's progress and this machine's verdict.
    pub fn of(
        lesson: &Lesson,
        store: Option<&ProgressStore>,
        machine: Option<&Machine>,
    ) -> PickerEntry {
        let done = store.map_or(0, |store| store.load_lesson(lesson).steps_done(lesson));
        PickerEntry {
            id: lesson.id().to_string(),
            path: lesson.path.clone(),
            title: lesson.file.title.clone(),
            summary: lesson.file.summary.clone(),
            done,
            total: lesson.steps().len(),
            objectives: lesson.file.objectives.clone(),
            minutes: lesson.file.minutes,
            difficulty: lesson.file.difficulty,
            here: machine.map(|m| doctor::lesson_verdict(m, &doctor::needs_of(lesson))),
            trace: doctor::shipped_trace(&lesson.path),
        }
    }

    /// Whether it can run here (unknown counts as yes: its own checks will say).
    pub fn runs_here(&self) -> bool {
        self.here.as_ref().is_none_or(LessonVerdict::runs)
    }

    /// "3/7" or "7/7 ✓".
    pub fn progress_text(&self) -> String {
        if self.total > 0 && self.done >= self.total {
            format!("{}/{} ✓", self.done, self.total)
        } else {
            format!("{}/{}", self.done, self.total)
        }
    }
}

/// The lessons of `dir` in order, with progress from `store` and verdicts for `machine`;
/// lessons that do not load are reported as problems (`podlab lessons check` says more).
pub fn load_entries(
    dir: &std::path::Path,
    store: Option<&ProgressStore>,
    machine: Option<&Machine>,
) -> (Vec<PickerEntry>, Vec<String>) {
    let files = match lesson_files(dir) {
        Ok(files) => files,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("failed to list lessons in {}: {e}", dir.display())],
            )
        }
    };
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match load_lesson(&file) {
            Ok(lesson) => entries.push(PickerEntry::of(&lesson, store, machine)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    (entries, problems)
}

/// What the learner chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Lesson(PathBuf),
    /// A lesson this machine cannot run: its recorded trace, and why.
    Replay {
        trace: PathBuf,
        why: Text,
    },
    Explorer,
    Quit,
}

pub struct Picker {
    pub entries: Vec<PickerEntry>,
    pub selected: usize,
    pub lang: Lang,
    pub theme: ThemeKind,
    pub no_color: bool,
    /// An error to show (a lesson that could not be loaded or opened).
    pub status: Option<String>,
    /// What the learner chose; the list's screen ends once there is a choice.
    pub choice: Option<Choice>,
}

impl Picker {
    pub fn new(entries: Vec<PickerEntry>, lang: Lang) -> Picker {
        let no_color = no_color_requested();
        // Start at the first lesson not finished.
        let selected = entries.iter().position(|e| e.done < e.total).unwrap_or(0);
        Picker {
            entries,
            selected,
            lang,
            theme: if no_color {
                ThemeKind::Mono
            } else {
                ThemeKind::Default
            },
            no_color,
            status: None,
            choice: None,
        }
    }

    pub fn set_theme(&mut self, theme: ThemeKind) {
        if !self.no_color {
            self.theme = theme;
        }
    }

    /// Whether a key of the table does something here (the hint bar shows only those).
    pub fn enabled(&self, action: Action) -> bool {
        matches!(
            action,
            Action::Explorer | Action::Language | Action::Theme | Action::Quit
        )
    }

    /// A key press: a choice, or None when the list stays.
    pub fn key(&mut self, key: &KeyEvent) -> Option<Choice> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let n = self.entries.len();
        match action_for(key)? {
            Action::SelectUp if n > 0 => self.selected = (self.selected + n - 1) % n,
            Action::SelectDown if n > 0 => self.selected = (self.selected + 1) % n,
            Action::NextStep => match self.entries.get(self.selected) {
                Some(entry) if entry.runs_here() => {
                    return Some(Choice::Lesson(entry.path.clone()))
                }
                Some(entry) => {
                    let why = entry.here.as_ref().map(LessonVerdict::reason);
                    let why = why.unwrap_or_else(|| Text::new("", ""));
                    match &entry.trace {
                        Some(trace) => {
                            return Some(Choice::Replay {
                                trace: trace.clone(),
                                why,
                            })
                        }
                        None => {
                            self.status = Some(format!(
                                "{} ({}): {}",
                                tr(self.lang, "cannot run here", "不能在这里运行"),
                                why.get(self.lang),
                                tr(
                                    self.lang,
                                    "no recorded trace is shipped for it",
                                    "没有随附它的录制轨迹"
                                )
                            ))
                        }
                    }
                }
                None => {
                    self.status = Some(
                        tr(
                            self.lang,
                            "no lessons found: e opens the explorer",
                            "没有找到课程：按 e 打开自由探索",
                        )
                        .to_string(),
                    )
                }
            },
            Action::Explorer => return Some(Choice::Explorer),
            Action::Language => {
                self.lang = match self.lang {
                    Lang::En => Lang::Zh,
                    Lang::Zh => Lang::En,
                }
            }
            Action::Theme if !self.no_color => self.theme = self.theme.next(),
            Action::Quit | Action::QuitNow => return Some(Choice::Quit),
            _ => {}
        }
        None
    }
}
