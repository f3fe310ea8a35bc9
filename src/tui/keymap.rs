//! The one table of key bindings. The hint bar, the help screen and key handling all read it,
//! so they cannot disagree. Each binding says on which screens it does something; a key maps
//! to one action whatever the screen (`action_for`), so no key is bound twice in the table.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::words::Tr;
use crate::i18n::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    NextStep,
    PrevText,
    NextText,
    FocusNext,
    FocusPrev,
    SelectUp,
    SelectDown,
    ScrollUp,
    ScrollDown,
    /// Hold the live panels still while the teacher explains; again: live.
    Freeze,
    /// Show the focused pane alone, full screen; again (or Esc): every pane.
    Zoom,
    Shell,
    Logs,
    Signal,
    /// Resize the selected container in place (opens the command line with `resize NAME `).
    Resize,
    Describe,
    Restart,
    Language,
    Theme,
    Help,
    CommandLine,
    Quit,
    QuitNow,
    /// In a lesson: show the next hint of the shown step.
    Hint,
    /// In the lesson list: open the free explorer.
    Explorer,
    /// In a lesson: edit the pod's manifest (the learner's own copy) and replace the pod.
    EditManifest,
    /// In a lesson: select the next `try:` line (in challenge mode: show the commands).
    TryLine,
    /// In a lesson: run the selected `try:` line in a shell.
    RunLine,
    /// In a lesson: copy the selected `try:` line to the clipboard (OSC 52).
    CopyLine,
    /// In a lesson: show or hide the teacher notes.
    Notes,
}

/// A key: a code, with or without Ctrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn key(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn ch(c: char) -> Key {
    key(KeyCode::Char(c))
}

/// A screen that reads keys. The explorer's and the lesson player's replays are the same
/// screens (the same `App` and `Player`), so they have the same keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Explorer,
    Player,
    /// The lesson list: no live panels, so no freeze, zoom, shell, logs….
    Lessons,
}

const EVERY: &[Screen] = &[Screen::Explorer, Screen::Player, Screen::Lessons];
/// The screens with live panels.
const LIVE: &[Screen] = &[Screen::Explorer, Screen::Player];

/// Esc leaves the zoom on the screens with live panels (an open popup takes it first). It is
/// kept out of the table so that it never zooms in; no binding may use it.
pub const ZOOM_BACK: Key = key(KeyCode::Esc);

pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    /// How the key is written in the hint bar and the help screen.
    pub label: &'static str,
    /// A word or two for the hint bar.
    pub short: Tr,
    /// A sentence for the help screen.
    pub long: Tr,
    /// Shown in the hint bar, with this rank (the help screen shows every binding). When the bar
    /// is too narrow the highest rank is left out first, so 0 stays longest.
    pub hint: Option<u8>,
    /// Where the key does something.
    pub screens: &'static [Screen],
}

pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[ch(' '), key(KeyCode::Enter)],
        action: Action::NextStep,
        label: "Space",
        short: Tr("next step", "下一步"),
        long: Tr(
            "Run the next step of the pod's creation",
            "执行创建 Pod 的下一步",
        ),
        hint: Some(1),
        screens: EVERY,
    },
    Binding {
        keys: &[key(KeyCode::Left)],
        action: Action::PrevText,
        label: "←",
        short: Tr("earlier", "上一段"),
        long: Tr("Read the text of an earlier step", "阅读前面步骤的说明"),
        hint: None,
        screens: LIVE,
    },
    Binding {
        keys: &[key(KeyCode::Right)],
        action: Action::NextText,
        label: "→",
        short: Tr("later", "下一段"),
        long: Tr("Read the text of a later step", "阅读后面步骤的说明"),
        hint: None,
        screens: LIVE,
    },
    Binding {
        keys: &[key(KeyCode::Tab)],
        action: Action::FocusNext,
        label: "Tab",
        short: Tr("panel", "切换面板"),
        long: Tr(
            "Move the focus to the next panel (on a small screen: the next tab)",
            "把焦点移到下一个面板（小屏幕上：下一个标签页）",
        ),
        hint: Some(4),
        screens: LIVE,
    },
    Binding {
        keys: &[key(KeyCode::BackTab)],
        action: Action::FocusPrev,
        label: "S-Tab",
        short: Tr("panel back", "上个面板"),
        long: Tr(
            "Move the focus to the previous panel",
            "把焦点移到上一个面板",
        ),
        hint: None,
        screens: LIVE,
    },
    Binding {
        keys: &[key(KeyCode::Up)],
        action: Action::SelectUp,
        label: "↑",
        short: Tr("container", "选容器"),
        long: Tr("Select the previous container", "选择上一个容器"),
        hint: None,
        screens: EVERY,
    },
    Binding {
        keys: &[key(KeyCode::Down)],
        action: Action::SelectDown,
        label: "↓",
        short: Tr("container", "选容器"),
        long: Tr("Select the next container", "选择下一个容器"),
        hint: None,
        screens: EVERY,
    },
    Binding {
        keys: &[key(KeyCode::PageUp)],
        action: Action::ScrollUp,
        label: "PgUp",
        short: Tr("scroll up", "上滚"),
        long: Tr("Scroll the focused panel up", "向上滚动当前面板"),
        hint: None,
        screens: LIVE,
    },
    Binding {
        keys: &[key(KeyCode::PageDown)],
        action: Action::ScrollDown,
        label: "PgDn",
        short: Tr("scroll down", "下滚"),
        long: Tr("Scroll the focused panel down", "向下滚动当前面板"),
        hint: None,
        screens: LIVE,
    },
    // Freeze and zoom are for a class: a teacher points at the panels while talking. `f` is
    // bottom's freeze key and `z` is tmux's zoom (prefix-z); neither is used on any screen,
    // both need no Shift on a projector's keyboard, and each word starts with its key.
    Binding {
        keys: &[ch('f')],
        action: Action::Freeze,
        label: "f",
        short: Tr("freeze", "冻结"),
        long: Tr(
            "Freeze the live panels while you explain (❄ in the title bar); again: the newest at \
             once. Steps and checks go on underneath; autoplay waits",
            "冻结实时面板，方便讲解（标题栏显示 ❄）；再按一次立即显示最新状态。\
             步骤和检查在后台照常进行；自动播放会等待",
        ),
        hint: Some(5),
        screens: LIVE,
    },
    Binding {
        keys: &[ch('z')],
        action: Action::Zoom,
        label: "z",
        short: Tr("zoom", "放大"),
        long: Tr(
            "Show the focused panel full screen (Tab: the next panel); z or Esc: every panel again",
            "把当前面板放大到全屏（Tab：下一个面板）；按 z 或 Esc 恢复全部面板",
        ),
        hint: Some(5),
        screens: LIVE,
    },
    Binding {
        keys: &[ch('s')],
        action: Action::Shell,
        label: "s",
        short: Tr("shell", "shell"),
        long: Tr(
            "Open a shell inside the selected container (exit returns here)",
            "在选中的容器里打开 shell（exit 返回这里）",
        ),
        hint: Some(6),
        screens: LIVE,
    },
    Binding {
        keys: &[ch('l')],
        action: Action::Logs,
        label: "l",
        short: Tr("logs", "日志"),
        long: Tr("Show the selected container's logs", "查看选中容器的日志"),
        hint: Some(7),
        screens: LIVE,
    },
    Binding {
        keys: &[ch('k')],
        action: Action::Signal,
        label: "k",
        short: Tr("signal", "发信号"),
        long: Tr(
            "Send a signal (TERM, KILL, INT, HUP) to the selected container's main process",
            "向选中容器的主进程发送信号（TERM、KILL、INT、HUP）",
        ),
        hint: Some(6),
        screens: LIVE,
    },
    Binding {
        keys: &[ch('R')],
        action: Action::Resize,
        label: "R",
        short: Tr("resize", "调整资源"),
        long: Tr(
            "Resize the selected container in place: type cpu=500m memory=96Mi (limits) or requests.cpu=… and watch its cgroup change under the same PID",
            "原地调整选中容器的资源：输入 cpu=500m memory=96Mi（limits）或 requests.cpu=…，看它的 cgroup 在同一个 PID 下变化",
        ),
        hint: None,
        screens: &[Screen::Explorer],
    },
    Binding {
        keys: &[ch('d')],
        action: Action::Describe,
        label: "d",
        short: Tr("describe", "描述"),
        long: Tr(
            "Show the pod as kubectl describe does",
            "像 kubectl describe 那样显示 Pod",
        ),
        hint: Some(7),
        screens: LIVE,
    },
    Binding {
        keys: &[ch('r')],
        action: Action::Restart,
        label: "r",
        short: Tr("rebuild", "重建"),
        long: Tr(
            "Delete the pod and build it again from step 1",
            "删除 Pod，并从第 1 步重新创建",
        ),
        hint: Some(8),
        screens: &[Screen::Explorer],
    },
    Binding {
        keys: &[ch('L')],
        action: Action::Language,
        label: "L",
        short: Tr("中文", "English"),
        long: Tr("Switch between English and Chinese", "在中文和英文之间切换"),
        hint: Some(3),
        screens: EVERY,
    },
    Binding {
        keys: &[ch('t')],
        action: Action::Theme,
        label: "t",
        short: Tr("theme", "主题"),
        long: Tr(
            "Next theme: default, high contrast (projectors), mono",
            "切换主题：默认、高对比度（投影仪）、单色",
        ),
        hint: None,
        screens: EVERY,
    },
    Binding {
        keys: &[ch('?')],
        action: Action::Help,
        label: "?",
        short: Tr("help", "帮助"),
        long: Tr("Show or hide this help", "显示或隐藏本帮助"),
        hint: Some(2),
        screens: LIVE,
    },
    Binding {
        keys: &[ch(':')],
        action: Action::CommandLine,
        label: ":",
        short: Tr("command", "命令"),
        long: Tr(
            "Command line: exec, kill, describe, logs, resize, step N",
            "命令行：exec、kill、describe、logs、resize、step N",
        ),
        hint: None,
        screens: &[Screen::Explorer],
    },
    Binding {
        keys: &[ch('q')],
        action: Action::Quit,
        label: "q",
        short: Tr("quit", "退出"),
        long: Tr(
            "Quit (asks first); the pod is deleted",
            "退出（会先确认）；Pod 会被删除",
        ),
        hint: Some(0),
        screens: EVERY,
    },
    Binding {
        keys: &[Key {
            code: KeyCode::Char('c'),
            ctrl: true,
        }],
        action: Action::QuitNow,
        label: "Ctrl-C",
        short: Tr("quit now", "立即退出"),
        long: Tr("Quit at once; the pod is deleted", "立即退出；Pod 会被删除"),
        hint: None,
        screens: EVERY,
    },
    // The lesson player's and the lesson list's own keys.
    Binding {
        keys: &[ch('h')],
        action: Action::Hint,
        label: "h",
        short: Tr("hint", "提示"),
        long: Tr(
            "In a lesson: show the next hint of the shown step",
            "课程中：显示当前步骤的下一条提示",
        ),
        hint: Some(3),
        screens: &[Screen::Player],
    },
    // `m` for manifest: `e` opens the explorer from the lesson list, and a key means one
    // action whatever the screen.
    Binding {
        keys: &[ch('m')],
        action: Action::EditManifest,
        label: "m",
        short: Tr("edit manifest", "改清单"),
        long: Tr(
            "In a lesson: edit the pod's manifest (your own copy) in $EDITOR; podlab checks it \
             (file:line:column) and re-creates the pod from it, as kubectl replace --force does",
            "课程中：用 $EDITOR 编辑 Pod 的清单（你自己的副本）；podlab 检查它（文件:行:列），\
             再像 kubectl replace --force 那样按它重建 Pod",
        ),
        // The last to fit in the hint bar: the task that needs it names it on screen.
        hint: Some(9),
        screens: &[Screen::Player],
    },
    Binding {
        keys: &[ch('c')],
        action: Action::TryLine,
        label: "c",
        short: Tr("commands", "命令"),
        long: Tr(
            "In a lesson: select the next command that works here (with --challenge: show the \
             commands first)",
            "课程中：选中下一条可在本机运行的命令（--challenge 时：先显示命令）",
        ),
        hint: Some(4),
        screens: &[Screen::Player],
    },
    Binding {
        keys: &[ch('x')],
        action: Action::RunLine,
        label: "x",
        short: Tr("run it", "运行"),
        long: Tr(
            "In a lesson: run the selected command in a shell here (Enter comes back)",
            "课程中：在 shell 中运行选中的命令（按回车返回）",
        ),
        hint: Some(5),
        screens: &[Screen::Player],
    },
    Binding {
        keys: &[ch('y')],
        action: Action::CopyLine,
        label: "y",
        short: Tr("copy", "复制"),
        long: Tr(
            "In a lesson: copy the selected command to the clipboard (through the terminal, \
             OSC 52)",
            "课程中：把选中的命令复制到剪贴板（经由终端的 OSC 52）",
        ),
        hint: Some(6),
        screens: &[Screen::Player],
    },
    Binding {
        keys: &[ch('n')],
        action: Action::Notes,
        label: "n",
        short: Tr("notes", "备注"),
        long: Tr(
            "In a lesson: show or hide the teacher notes (shown in presenter mode)",
            "课程中：显示或隐藏教师备注（演示模式下默认显示）",
        ),
        hint: Some(8),
        screens: &[Screen::Player],
    },
    Binding {
        keys: &[ch('e')],
        action: Action::Explorer,
        label: "e",
        short: Tr("explorer", "自由探索"),
        long: Tr(
            "In the lesson list: open the free explorer on the default pod",
            "课程列表中：用默认 Pod 打开自由探索模式",
        ),
        hint: Some(2),
        screens: &[Screen::Lessons],
    },
];

/// The action bound to a key press, if any. Key releases and repeats of other kinds are ignored.
pub fn action_for(event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    KEYMAP
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|k| k.code == event.code && k.ctrl == ctrl)
        })
        .map(|b| b.action)
}

pub fn binding(action: Action) -> Option<&'static Binding> {
    KEYMAP.iter().find(|b| b.action == action)
}

/// One key in the hint bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintKey {
    pub action: Action,
    pub key: &'static str,
    pub words: &'static str,
    /// The binding's rank: the highest is left out first when the bar is too narrow.
    pub rank: u8,
}

/// The hint bar's keys, in table order; `enabled` leaves out what cannot be done right now.
pub fn hints(lang: Lang, enabled: impl Fn(Action) -> bool) -> Vec<HintKey> {
    KEYMAP
        .iter()
        .filter(|b| enabled(b.action))
        .filter_map(|b| {
            b.hint.map(|rank| HintKey {
                action: b.action,
                key: b.label,
                words: b.short.get(lang),
                rank,
            })
        })
        .collect()
}

/// (keys, sentence) rows for the help screen: every binding.
pub fn help_rows(lang: Lang) -> Vec<(String, &'static str)> {
    KEYMAP
        .iter()
        .map(|b| {
            let extra: Vec<&str> = b
                .keys
                .iter()
                .skip(1)
                .map(|k| match k.code {
                    KeyCode::Enter => "Enter",
                    _ => "",
                })
                .filter(|s| !s.is_empty())
                .collect();
            let mut label = b.label.to_string();
            for e in extra {
                label.push_str(" / ");
                label.push_str(e);
            }
            (label, b.long.get(lang))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_binding_and_no_key_is_bound_twice() {
        let mut seen: Vec<(KeyCode, bool)> = Vec::new();
        for b in KEYMAP {
            assert_eq!(
                KEYMAP.iter().filter(|o| o.action == b.action).count(),
                1,
                "{:?}",
                b.action
            );
            for k in b.keys {
                assert!(!seen.contains(&(k.code, k.ctrl)), "{k:?} bound twice");
                seen.push((k.code, k.ctrl));
            }
            assert!(!b.screens.is_empty(), "{:?} is on no screen", b.action);
            assert!(!b.short.0.is_empty() && !b.short.1.is_empty());
            assert!(!b.long.0.is_empty() && !b.long.1.is_empty());
        }
    }

    #[test]
    fn keys_map_to_actions() {
        let press = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(action_for(&press(KeyCode::Enter)), Some(Action::NextStep));
        assert_eq!(
            action_for(&press(KeyCode::Char(' '))),
            Some(Action::NextStep)
        );
        assert_eq!(
            action_for(&press(KeyCode::Char('L'))),
            Some(Action::Language)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::QuitNow)
        );
        // c without Ctrl is not a quit: it selects a lesson's next command.
        assert_eq!(
            action_for(&press(KeyCode::Char('c'))),
            Some(Action::TryLine)
        );
    }

    /// The keys a screen reads itself, outside the table.
    fn own_keys(screen: Screen) -> &'static [Key] {
        match screen {
            Screen::Explorer | Screen::Player => &[ZOOM_BACK],
            Screen::Lessons => &[],
        }
    }

    #[test]
    fn no_two_actions_of_one_screen_share_a_key() {
        for screen in [Screen::Explorer, Screen::Player, Screen::Lessons] {
            let mut seen: Vec<(Key, Option<Action>)> =
                own_keys(screen).iter().map(|k| (*k, None)).collect();
            for b in KEYMAP.iter().filter(|b| b.screens.contains(&screen)) {
                for k in b.keys {
                    if let Some((_, other)) = seen.iter().find(|(s, _)| s == k) {
                        panic!("{screen:?}: {k:?} is bound to {:?} and {other:?}", b.action);
                    }
                    seen.push((*k, Some(b.action)));
                }
            }
        }
    }

    #[test]
    fn freeze_and_zoom_are_on_the_live_screens_only() {
        for action in [Action::Freeze, Action::Zoom] {
            let b = binding(action).expect("bound");
            assert_eq!(b.screens, LIVE, "{action:?}");
            assert!(b.hint.is_some(), "{action:?} is in the hint bar");
        }
        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(action_for(&press('f')), Some(Action::Freeze));
        assert_eq!(action_for(&press('z')), Some(Action::Zoom));
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn the_manifest_key_is_the_players_own_and_in_the_hint_bar() {
        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(action_for(&press('m')), Some(Action::EditManifest));
        let b = binding(Action::EditManifest).expect("bound");
        assert_eq!(b.screens, &[Screen::Player]);
        assert!(b.hint.is_some());
        assert!(hints(Lang::Zh, |_| true)
            .iter()
            .any(|h| h.key == "m" && h.words == "改清单"));
    }

    #[test]
    fn hint_bar_and_help_come_from_the_table() {
        let hints = hints(Lang::Zh, |a| a != Action::Shell);
        assert!(hints
            .iter()
            .any(|h| h.key == "q" && h.words == "退出" && h.rank == 0));
        assert!(!hints.iter().any(|h| h.key == "s"));
        assert_eq!(help_rows(Lang::En).len(), KEYMAP.len());
        assert_eq!(help_rows(Lang::En)[0].0, "Space / Enter");
    }
}
