//! What keys do: the keymap's actions, the popups' own keys, and `:` commands.

use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Activity, App, Focus, Popup, Session, SIGNALS};
use super::command::{parse_command, Command};
use super::event::{Effect, EngineCmd, Update};
use super::keymap::{action_for, Action, ZOOM_BACK};
use super::signal::Signal;
use super::words::{self, tr};
use crate::i18n::Lang;

const SCROLL_STEP: u16 = 5;

impl App {
    pub(super) fn key(&mut self, key: KeyEvent, now: Instant, up: &mut Update) {
        if self.activity == Activity::Deleting {
            // While the pod is being deleted, q (or Ctrl-C) skips the rest of the grace period.
            if matches!(action_for(&key), Some(Action::Quit | Action::QuitNow)) {
                if let Session::Pod { uid, .. } = &self.session {
                    up.effects.push(Effect::KillNow { uid: uid.clone() });
                }
            }
            return;
        }
        if self.popup.is_some() {
            self.popup_key(key, now, up);
            return;
        }
        if self.zoomed && key.code == ZOOM_BACK.code {
            self.zoomed = false;
            return;
        }
        match action_for(&key) {
            Some(action) => {
                self.status = None;
                self.action(action, now, up);
            }
            None => up.redraw = false,
        }
    }

    fn action(&mut self, action: Action, now: Instant, up: &mut Update) {
        let lang = self.lang;
        match action {
            Action::NextStep if self.autoplay.is_some() => self.toggle_autoplay(),
            Action::NextStep => self.run_to(self.script_done + 1, now, up),
            Action::PrevText | Action::NextText => {
                self.viewing = if action == Action::PrevText {
                    self.viewing.saturating_sub(1)
                } else {
                    (self.viewing + 1).min(self.script.steps.len())
                };
                // The viewer reads other text: give them the time for it.
                if let Some(a) = &mut self.autoplay {
                    a.restart_hold();
                }
            }
            Action::FocusNext | Action::FocusPrev => {
                let by = if action == Action::FocusNext { 1 } else { -1 };
                self.focus = self.focus.step_by(by);
                if self.focus != Focus::Narration {
                    self.tab = self.focus;
                }
            }
            Action::SelectUp | Action::SelectDown => self.move_selection(action),
            Action::Freeze => self.toggle_freeze(now),
            // The zoomed pane is the focused one, so Tab moves the zoom along.
            Action::Zoom => self.zoomed = !self.zoomed,
            Action::ScrollUp | Action::ScrollDown => {
                let s = &mut self.scroll[self.focus.index()];
                *s = if action == Action::ScrollUp {
                    s.saturating_sub(SCROLL_STEP)
                } else {
                    s.saturating_add(SCROLL_STEP)
                };
            }
            Action::Shell => self.exec(None, Vec::new(), up),
            Action::Logs => self.open_logs(None, up),
            Action::Signal => match self.running(None) {
                Ok((container, _)) => {
                    self.popup = Some(Popup::SignalMenu {
                        container,
                        choice: 0,
                    })
                }
                Err(e) => self.error(e),
            },
            Action::Resize => match self.running(None) {
                Ok((container, _)) => {
                    self.popup = Some(Popup::CommandLine {
                        input: format!("resize {container} "),
                    })
                }
                Err(e) => self.error(e),
            },
            Action::Describe => {
                if self.enabled(Action::Describe) {
                    self.popup = Some(Popup::Describe { scroll: 0 });
                } else {
                    self.error(tr(lang, "no pod to describe yet", "还没有可描述的 Pod").into());
                }
            }
            Action::Restart => {
                if !self.has_pod() {
                    self.error(self.no_live_pod().into());
                } else if self.activity != Activity::Restarting {
                    self.activity = Activity::Restarting;
                    self.run_until_clear();
                    up.effects.push(Effect::Engine(EngineCmd::Restart));
                }
            }
            Action::Language => {
                self.lang = match lang {
                    Lang::En => Lang::Zh,
                    Lang::Zh => Lang::En,
                }
            }
            Action::Theme => {
                if self.no_color {
                    self.info(
                        tr(
                            lang,
                            "NO_COLOR is set: the theme stays mono",
                            "设置了 NO_COLOR：主题保持单色",
                        )
                        .into(),
                    );
                } else {
                    self.theme = self.theme.next();
                    self.info(format!(
                        "{}: {}",
                        tr(lang, "theme", "主题"),
                        self.theme.name().get(lang)
                    ));
                }
            }
            Action::Help => self.popup = Some(Popup::Help { scroll: 0 }),
            Action::CommandLine => {
                self.popup = Some(Popup::CommandLine {
                    input: String::new(),
                })
            }
            Action::Quit => self.popup = Some(Popup::ConfirmQuit),
            Action::QuitNow => self.quit(up),
            // Keys of the lesson player and the lesson list.
            Action::Hint
            | Action::Explorer
            | Action::TryLine
            | Action::RunLine
            | Action::CopyLine
            | Action::Notes
            | Action::EditManifest => up.redraw = false,
        }
    }

    fn run_until_clear(&mut self) {
        self.set_run_until(None);
    }

    /// Run steps until `count` script steps are done.
    pub(super) fn run_to(&mut self, count: usize, now: Instant, up: &mut Update) {
        let lang = self.lang;
        if !self.can_step() {
            self.error(self.no_live_pod().into());
        } else if self.activity != Activity::Idle {
            self.error(tr(lang, "a step is already running", "已有步骤正在执行").into());
        } else if self.script_done >= self.script.steps.len() {
            self.info(
                tr(
                    lang,
                    "every step has run; r builds the pod again",
                    "所有步骤都已执行；按 r 重新创建 Pod",
                )
                .into(),
            );
        } else {
            self.viewing = self.script_done;
            self.set_run_until(Some(count.min(self.script.steps.len())));
            self.step_forward(now, up);
        }
    }

    fn move_selection(&mut self, action: Action) {
        let names: Vec<String> = self.containers().iter().map(|c| c.name.clone()).collect();
        if names.is_empty() {
            return;
        }
        let at = self
            .selected
            .as_ref()
            .and_then(|s| names.iter().position(|n| n == s));
        let next = match (at, action) {
            (None, _) => 0,
            (Some(i), Action::SelectUp) => (i + names.len() - 1) % names.len(),
            (Some(i), _) => (i + 1) % names.len(),
        };
        self.selected = Some(names[next].clone());
    }

    /// The named (or selected) container, if it is running, with its main process.
    fn running(
        &self,
        name: Option<&str>,
    ) -> Result<(String, crate::kube::pod_state::ProcessRef), String> {
        let lang = self.lang;
        if !self.has_pod() {
            return Err(self.no_live_pod().into());
        }
        let name = match name.or(self.selected.as_deref()) {
            Some(n) => n,
            None => return Err(words::NO_CONTAINER.get(lang).into()),
        };
        let c = self
            .containers()
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("{}: {name}", tr(lang, "no such container", "没有这个容器")))?;
        match (&c.state, c.process) {
            (crate::kube::pod_state::ContainerState::Running { .. }, Some(p)) => {
                Ok((c.name.clone(), p))
            }
            _ => Err(format!("{name}: {}", tr(lang, "not running", "没有在运行"))),
        }
    }

    fn exec(&mut self, container: Option<&str>, command: Vec<String>, up: &mut Update) {
        match (self.running(container), &self.session) {
            (Ok((container, _)), Session::Pod { uid, .. }) => {
                let command = if command.is_empty() {
                    vec!["sh".to_string()]
                } else {
                    command
                };
                up.effects.push(Effect::Shell {
                    uid: uid.clone(),
                    container,
                    command,
                });
            }
            (Err(e), _) => self.error(e),
            (Ok(_), _) => {}
        }
    }

    fn open_logs(&mut self, container: Option<&str>, up: &mut Update) {
        let Session::Pod { uid, .. } = &self.session else {
            self.error(self.no_live_pod().into());
            return;
        };
        let Some(container) = container.map(String::from).or(self.selected.clone()) else {
            self.error(words::NO_CONTAINER.get(self.lang).into());
            return;
        };
        up.effects.push(Effect::ReadLogs {
            uid: uid.clone(),
            container: container.clone(),
        });
        self.popup = Some(Popup::Logs {
            container,
            text: String::new(),
            scroll: None,
        });
    }

    fn signal(&mut self, container: Option<&str>, signal: Signal, up: &mut Update) {
        match self.running(container) {
            Ok((container, process)) => up.effects.push(Effect::Signal {
                container,
                process,
                signal,
            }),
            Err(e) => self.error(e),
        }
    }

    pub(super) fn quit(&mut self, up: &mut Update) {
        self.popup = None;
        if self.has_pod() {
            self.activity = Activity::Deleting;
            self.set_run_until(None);
            up.effects.push(Effect::Engine(EngineCmd::Delete {
                grace_seconds: None,
            }));
        } else {
            self.exiting = true;
            up.effects.push(Effect::Exit);
        }
    }

    fn popup_key(&mut self, key: KeyEvent, now: Instant, up: &mut Update) {
        let Some(popup) = self.popup.take() else {
            return;
        };
        let code = key.code;
        let ctrl_c = code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            self.quit(up);
            return;
        }
        let scroll = |s: u16| match code {
            KeyCode::Up => Some(s.saturating_sub(1)),
            KeyCode::Down => Some(s.saturating_add(1)),
            KeyCode::PageUp => Some(s.saturating_sub(SCROLL_STEP * 2)),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(s.saturating_add(SCROLL_STEP * 2)),
            _ => None,
        };
        let closes = matches!(code, KeyCode::Esc | KeyCode::Char('q'));
        self.popup = match popup {
            Popup::Help { scroll: s } => {
                if closes || code == KeyCode::Char('?') {
                    None
                } else {
                    Some(Popup::Help {
                        scroll: scroll(s).unwrap_or(s),
                    })
                }
            }
            Popup::ConfirmQuit => match code {
                KeyCode::Char('y' | 'Y' | 'q') | KeyCode::Enter => {
                    self.quit(up);
                    None
                }
                _ => None,
            },
            Popup::Describe { scroll: s } => {
                if closes || code == KeyCode::Char('d') {
                    None
                } else {
                    Some(Popup::Describe {
                        scroll: scroll(s).unwrap_or(s),
                    })
                }
            }
            Popup::Logs {
                container,
                text,
                scroll: s,
            } => {
                if closes || code == KeyCode::Char('l') {
                    None
                } else {
                    // None follows the end of the log; scrolling stops following.
                    let bottom = text.lines().count() as u16;
                    let at = s.unwrap_or(bottom);
                    Some(Popup::Logs {
                        container,
                        text,
                        scroll: scroll(at).or(s),
                    })
                }
            }
            Popup::SignalMenu { container, choice } => {
                let pick = |i: usize| Some(i.min(SIGNALS.len() - 1));
                let chosen = match code {
                    KeyCode::Enter => Some(choice),
                    KeyCode::Char(c @ '1'..='4') => pick(c as usize - '1' as usize),
                    KeyCode::Char('t' | 'T') => pick(0),
                    KeyCode::Char('k' | 'K') => pick(1),
                    KeyCode::Char('i' | 'I') => pick(2),
                    KeyCode::Char('h' | 'H') => pick(3),
                    _ => None,
                };
                if let Some(i) = chosen {
                    self.signal(Some(&container), SIGNALS[i], up);
                    None
                } else if closes {
                    None
                } else {
                    let choice = match code {
                        KeyCode::Up => (choice + SIGNALS.len() - 1) % SIGNALS.len(),
                        KeyCode::Down => (choice + 1) % SIGNALS.len(),
                        _ => choice,
                    };
                    Some(Popup::SignalMenu { container, choice })
                }
            }
            Popup::CommandLine { mut input } => match code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    self.command(&input, now, up);
                    // A command may open a popup of its own.
                    self.popup.take()
                }
                KeyCode::Backspace => {
                    if input.pop().is_none() {
                        None
                    } else {
                        Some(Popup::CommandLine { input })
                    }
                }
                KeyCode::Char(c) => {
                    input.push(c);
                    Some(Popup::CommandLine { input })
                }
                _ => Some(Popup::CommandLine { input }),
            },
        };
    }

    fn command(&mut self, line: &str, now: Instant, up: &mut Update) {
        let names: Vec<String> = self.containers().iter().map(|c| c.name.clone()).collect();
        match parse_command(line, &names) {
            Err(e) => self.error(e),
            Ok(Command::Exec { container, command }) => {
                self.exec(container.as_deref(), command, up)
            }
            Ok(Command::Kill { signal, container }) => {
                self.signal(container.as_deref(), signal, up)
            }
            Ok(Command::Describe) => self.action(Action::Describe, now, up),
            Ok(Command::Resize {
                container,
                requests,
                limits,
            }) => match (self.running(container.as_deref()), self.uid()) {
                (Ok((container, _)), Some(uid)) => up.effects.push(Effect::Resize {
                    uid: uid.to_string(),
                    patch: super::command::resize_patch(&container, &requests, &limits),
                    container,
                }),
                (Err(e), _) => self.error(e),
                (_, None) => self.error(self.no_live_pod().into()),
            },
            Ok(Command::Logs { container }) => self.open_logs(container.as_deref(), up),
            Ok(Command::Help) => self.popup = Some(Popup::Help { scroll: 0 }),
            Ok(Command::Quit) => self.popup = Some(Popup::ConfirmQuit),
            Ok(Command::Step(n)) => {
                let len = self.script.steps.len();
                if n > len {
                    self.error(format!(
                        "{} {len} {}",
                        tr(self.lang, "there are only", "一共只有"),
                        tr(self.lang, "steps", "个步骤")
                    ));
                } else if n - 1 <= self.script_done {
                    self.viewing = n - 1;
                } else {
                    // Run what comes before step N, so that N is the one to read and run next.
                    self.run_to(n - 1, now, up);
                }
            }
        }
    }
}
