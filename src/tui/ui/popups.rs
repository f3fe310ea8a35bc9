//! Popups drawn over the screen: help (from the keymap), quit confirmation, describe, logs,
//! the signal menu and the command line.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::Ctx;
use crate::tui::app::{Popup, SIGNALS};
use crate::tui::keymap;
use crate::tui::words::{self, tr};
use crate::tui::wrap::{fit, wrap};

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

pub(super) fn frame_popup(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    title: String,
    footer: &str,
) -> Rect {
    frame.render_widget(Clear, area);
    // A double-width character just left of the popup would spill into its border.
    if area.x > 0 {
        let buf = frame.buffer_mut();
        for y in area.y..area.y + area.height {
            let cell = &mut buf[(area.x - 1, y)];
            if unicode_width::UnicodeWidthStr::width(cell.symbol()) > 1 {
                cell.set_symbol(" ");
            }
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(ctx.theme.border_focused)
        .style(ctx.theme.base)
        .title(Span::styled(format!(" {title} "), ctx.theme.title))
        .title_bottom(Span::styled(format!(" {footer} "), ctx.theme.dim));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let Some(popup) = &ctx.app.popup else { return };
    let lang = ctx.lang;
    let big = centered(
        area,
        area.width.saturating_sub(4).max(20),
        area.height.saturating_sub(4).max(8),
    );
    match popup {
        Popup::Help { scroll } => {
            let rows = keymap::help_rows(lang);
            let key_w = rows.iter().map(|(k, _)| k.width()).max().unwrap_or(4);
            let width = big.width.min(90);
            let text_w = (width as usize).saturating_sub(key_w + 5);
            let mut lines = Vec::new();
            for (key, what) in rows {
                for (i, l) in wrap(what, text_w).into_iter().enumerate() {
                    let k = if i == 0 { key.as_str() } else { "" };
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {} ", fit(k, key_w)), ctx.theme.key),
                        Span::raw(l),
                    ]));
                }
            }
            let height = (lines.len() as u16 + 2).min(big.height);
            let rect = centered(area, width, height);
            let inner = frame_popup(
                frame,
                rect,
                ctx,
                words::HELP.get(lang).to_string(),
                tr(lang, "? or Esc: close · PgDn", "? 或 Esc：关闭 · PgDn"),
            );
            let scroll = (*scroll).min((lines.len() as u16).saturating_sub(inner.height));
            frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
        }
        Popup::ConfirmQuit => {
            let text = if ctx.app.has_pod() {
                words::CONFIRM_QUIT
            } else {
                words::CONFIRM_QUIT_NO_POD
            };
            let width = area.width.saturating_sub(4).min(60);
            let lines: Vec<Line> = wrap(text.get(lang), width.saturating_sub(2) as usize)
                .into_iter()
                .map(Line::from)
                .collect();
            let rect = centered(area, width, lines.len() as u16 + 2);
            let inner = frame_popup(frame, rect, ctx, tr(lang, "Quit", "退出").into(), "");
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Popup::Describe { scroll } => {
            let state = ctx.app.shown().and_then(|o| o.state.as_ref());
            let wall = ctx.app.shown().and_then(|o| o.wall_time()).unwrap_or(0.0);
            let text = state
                .map(|s| crate::present::describe::render(s, wall))
                .unwrap_or_default();
            let inner = frame_popup(
                frame,
                big,
                ctx,
                format!("kubectl {}", words::DESCRIBE.get(lang)),
                words::CLOSE.get(lang),
            );
            let lines: Vec<Line> = text.lines().map(|l| Line::from(l.to_string())).collect();
            let scroll = (*scroll).min(lines.len().saturating_sub(1) as u16);
            frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
        }
        Popup::Logs {
            container,
            text,
            scroll,
        } => {
            let inner = frame_popup(
                frame,
                big,
                ctx,
                format!("{} {container}", words::LOGS.get(lang)),
                words::CLOSE.get(lang),
            );
            let mut lines: Vec<Line> = Vec::new();
            for l in text.lines() {
                for w in wrap(l, inner.width as usize) {
                    lines.push(Line::from(w));
                }
            }
            if lines.is_empty() {
                lines.push(Line::from(Span::styled(
                    tr(lang, "(no output yet)", "（还没有输出）"),
                    ctx.theme.dim,
                )));
            }
            // Follow the end unless scrolled.
            let bottom = (lines.len() as u16).saturating_sub(inner.height);
            let at = scroll.map_or(bottom, |s| s.min(bottom));
            frame.render_widget(Paragraph::new(lines).scroll((at, 0)), inner);
        }
        Popup::SignalMenu { container, choice } => {
            let mut lines = Vec::new();
            for (i, s) in SIGNALS.iter().enumerate() {
                let name = s.as_str().trim_start_matches("SIG");
                let what = match s {
                    crate::tui::signal::Signal::SIGTERM => tr(lang, "ask to stop", "请求停止"),
                    crate::tui::signal::Signal::SIGKILL => {
                        tr(lang, "kill, cannot be caught", "强制杀死，无法捕获")
                    }
                    crate::tui::signal::Signal::SIGINT => {
                        tr(lang, "interrupt (Ctrl-C)", "中断（Ctrl-C）")
                    }
                    _ => tr(lang, "hang up (often: reload)", "挂断（常用于重新加载）"),
                };
                let marker = if i == *choice { "▶" } else { " " };
                let text = format!("{marker} {} {name:<5} {what}", i + 1);
                let style = if i == *choice {
                    ctx.theme.selected
                } else {
                    ctx.theme.base
                };
                lines.push(Line::from(Span::styled(text, style)));
            }
            lines.push(Line::from(Span::styled(
                tr(
                    lang,
                    "to its main process (host PID); PID 1 ignores signals it has no handler for",
                    "发给它的主进程（主机 PID）；PID 1 会忽略没有处理函数的信号",
                ),
                ctx.theme.dim,
            )));
            let width = area.width.saturating_sub(4).min(84);
            let rect = centered(area, width, lines.len() as u16 + 2);
            let inner = frame_popup(
                frame,
                rect,
                ctx,
                format!("{} {container}", words::SIGNAL_MENU.get(lang)),
                tr(lang, "↑↓ Enter · 1-4 · Esc", "↑↓ 回车 · 1-4 · Esc"),
            );
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Popup::CommandLine { input } => {
            let width = area.width.saturating_sub(4).min(100);
            let hint = words::COMMAND_HELP.get(lang);
            let hint_lines = wrap(hint, width.saturating_sub(2) as usize);
            let rect = centered(area, width, hint_lines.len() as u16 + 3);
            let inner = frame_popup(frame, rect, ctx, ":".into(), "Enter · Esc");
            let mut lines = vec![Line::from(vec![
                Span::styled(":", ctx.theme.key),
                Span::raw(input.clone()),
                Span::styled("█", ctx.theme.key),
            ])];
            lines.extend(
                hint_lines
                    .into_iter()
                    .map(|l| Line::from(Span::styled(l, ctx.theme.dim))),
            );
            frame.render_widget(Paragraph::new(lines), inner);
        }
    }
}
