//! Colours and emphasis. Every meaning also has a symbol or a modifier (bold, reverse,
//! underline), so the mono theme — and `NO_COLOR` — lose no information.

use ratatui::style::{Color, Modifier, Style};

use super::words::Tr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ThemeKind {
    #[default]
    Default,
    /// Bright, bold, black background: readable on a projector.
    HighContrast,
    /// No colour at all.
    Mono,
}

impl ThemeKind {
    pub fn next(self) -> ThemeKind {
        match self {
            ThemeKind::Default => ThemeKind::HighContrast,
            ThemeKind::HighContrast => ThemeKind::Mono,
            ThemeKind::Mono => ThemeKind::Default,
        }
    }

    pub fn name(self) -> Tr {
        match self {
            ThemeKind::Default => Tr("default", "默认"),
            ThemeKind::HighContrast => Tr("high contrast", "高对比度"),
            ThemeKind::Mono => Tr("mono", "单色"),
        }
    }
}

/// `NO_COLOR` set to anything non-empty means no colour (no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub base: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub dim: Style,
    pub done: Style,
    pub current: Style,
    pub selected: Style,
    pub shared: Style,
    pub own: Style,
    pub changed: Style,
    pub warning: Style,
    pub error: Style,
    pub command: Style,
    pub key: Style,
    pub bar_full: Style,
    pub bar_empty: Style,
}

impl Theme {
    pub fn of(kind: ThemeKind) -> Theme {
        let bold = Modifier::BOLD;
        match kind {
            ThemeKind::Default => Theme {
                base: Style::default(),
                title: Style::default().add_modifier(bold),
                border: Style::default().fg(Color::DarkGray),
                border_focused: Style::default().fg(Color::Cyan).add_modifier(bold),
                dim: Style::default().fg(Color::DarkGray),
                done: Style::default().fg(Color::Green),
                current: Style::default().fg(Color::Yellow).add_modifier(bold),
                selected: Style::default().add_modifier(Modifier::REVERSED),
                shared: Style::default().fg(Color::Green),
                own: Style::default().fg(Color::Magenta),
                changed: Style::default().fg(Color::Yellow).add_modifier(bold),
                warning: Style::default().fg(Color::Red).add_modifier(bold),
                error: Style::default().fg(Color::Red).add_modifier(bold),
                command: Style::default().fg(Color::Cyan),
                key: Style::default().fg(Color::Cyan).add_modifier(bold),
                bar_full: Style::default().fg(Color::Green),
                bar_empty: Style::default().fg(Color::DarkGray),
            },
            ThemeKind::HighContrast => {
                let base = Style::default().fg(Color::White).bg(Color::Black);
                Theme {
                    base,
                    title: base.fg(Color::LightYellow).add_modifier(bold),
                    border: base.fg(Color::White),
                    border_focused: base.fg(Color::LightYellow).add_modifier(bold),
                    dim: base.fg(Color::Gray),
                    done: base.fg(Color::LightGreen).add_modifier(bold),
                    current: base.fg(Color::LightYellow).add_modifier(bold),
                    selected: base.add_modifier(Modifier::REVERSED | bold),
                    shared: base.fg(Color::LightGreen).add_modifier(bold),
                    own: base.fg(Color::LightMagenta).add_modifier(bold),
                    changed: base
                        .fg(Color::Black)
                        .bg(Color::LightYellow)
                        .add_modifier(bold),
                    warning: base.fg(Color::LightRed).add_modifier(bold),
                    error: base.fg(Color::LightRed).add_modifier(bold),
                    command: base.fg(Color::LightCyan).add_modifier(bold),
                    key: base.fg(Color::LightCyan).add_modifier(bold),
                    bar_full: base.fg(Color::LightGreen),
                    bar_empty: base.fg(Color::Gray),
                }
            }
            ThemeKind::Mono => {
                let plain = Style::default();
                Theme {
                    base: plain,
                    title: plain.add_modifier(bold),
                    border: plain,
                    border_focused: plain.add_modifier(bold),
                    dim: plain.add_modifier(Modifier::DIM),
                    done: plain,
                    current: plain.add_modifier(bold),
                    selected: plain.add_modifier(Modifier::REVERSED),
                    shared: plain,
                    own: plain,
                    changed: plain.add_modifier(bold | Modifier::UNDERLINED),
                    warning: plain.add_modifier(bold),
                    error: plain.add_modifier(bold),
                    command: plain,
                    key: plain.add_modifier(bold),
                    bar_full: plain,
                    bar_empty: plain.add_modifier(Modifier::DIM),
                }
            }
        }
    }
}
