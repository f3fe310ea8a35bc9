//! Drawing the lesson list: one line per lesson (progress, id, title), the chosen lesson's
//! summary, and the key hints.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::bars;
use crate::doctor::report::lesson_mark;
use crate::i18n::Lang;
use crate::lesson::card::card_line;
use crate::tui::keymap::{self, Action, HintKey};
use crate::tui::picker::Picker;
use crate::tui::theme::Theme;
use crate::tui::words::{tr, Tr};
use crate::tui::wrap::{fit, wrap};

const CHOOSE: Tr = Tr("choose", "选择");
const OPEN: Tr = Tr("open", "打开");

pub fn draw_picker(frame: &mut Frame, picker: &Picker) {
    let theme = Theme::of(picker.theme);
    let lang = picker.lang;
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base), area);
    let [title, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let sep = || Span::styled(" · ", theme.dim);
    let done = picker
        .entries
        .iter()
        .filter(|e| e.total > 0 && e.done >= e.total)
        .count();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" podlab", theme.title),
            sep(),
            Span::styled(tr(lang, "Lessons", "课程"), theme.title),
            sep(),
            Span::raw(format!(
                "{done}/{} {}",
                picker.entries.len(),
                tr(lang, "complete", "已完成")
            )),
            sep(),
            Span::raw(match lang {
                Lang::En => "EN",
                Lang::Zh => "中文",
            }),
        ])),
        title,
    );
    let wide = body.width >= 120;
    let (list_area, detail_area) = if wide {
        let [l, r] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(body);
        (l, r)
    } else {
        let [l, r] = Layout::vertical([Constraint::Fill(3), Constraint::Length(7)]).areas(body);
        (l, r)
    };
    list(frame, list_area, picker, &theme);
    details(frame, detail_area, picker, &theme);
    if let Some(message) = &picker.status {
        bars::status(frame, status, theme.error, vec![format!(" ✗ {message}")]);
    }
    let mut keys = vec![HintKey {
        action: Action::SelectUp,
        key: "↑↓",
        words: CHOOSE.get(lang),
        rank: 1,
    }];
    if let Some(b) = keymap::binding(Action::NextStep) {
        // Enter reads better than Space for opening an item of a list.
        let open_key = if b.keys.len() > 1 { "Enter" } else { b.label };
        keys.push(HintKey {
            action: Action::NextStep,
            key: open_key,
            words: OPEN.get(lang),
            rank: 1,
        });
    }
    keys.extend(keymap::hints(lang, |a| picker.enabled(a)));
    bars::hint_bar(frame, hints, &theme, keys);
}

fn list(frame: &mut Frame, area: Rect, picker: &Picker, theme: &Theme) {
    let lang = picker.lang;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(format!(" {} ", tr(lang, "Lessons", "课程")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let id_width = picker.entries.iter().map(|e| e.id.len()).max().unwrap_or(0);
    let lines: Vec<Line> = picker
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let pointer = if i == picker.selected { "▶" } else { " " };
            // ● runs here, ↺ only its recording plays (with the reason after the title).
            let mark = e
                .here
                .as_ref()
                .map_or(String::new(), |v| format!("{} ", lesson_mark(v)));
            let why = match &e.here {
                Some(v) if !v.runs() => format!(" · {}", v.reason().get(lang)),
                _ => String::new(),
            };
            let text = fit(
                &format!(
                    "{pointer} {mark}{:<7} {:<id_width$}  {}{why}",
                    e.progress_text(),
                    e.id,
                    e.title.get(lang)
                ),
                width,
            );
            let style = if i == picker.selected {
                theme.selected
            } else if e.total > 0 && e.done >= e.total {
                theme.done
            } else {
                theme.base
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    let height = inner.height as usize;
    let scroll = (picker.selected + 1).saturating_sub(height) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

fn details(frame: &mut Frame, area: Rect, picker: &Picker, theme: &Theme) {
    let lang = picker.lang;
    let Some(entry) = picker.entries.get(picker.selected) else {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let text = tr(
            lang,
            "No lessons found. e opens the free explorer.",
            "没有找到课程。按 e 打开自由探索。",
        );
        frame.render_widget(Paragraph::new(text), inner);
        return;
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(format!(" {} ", entry.id));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    for l in wrap(entry.title.get(lang), width) {
        lines.push(Line::from(Span::styled(l, theme.title)));
    }
    let card = card_line(entry.minutes, entry.difficulty, lang);
    if !card.is_empty() {
        lines.push(Line::from(Span::styled(card, theme.current)));
    }
    let summary = super::lesson::flow_text(entry.summary.get(lang));
    for l in wrap(&summary, width) {
        lines.push(Line::from(l));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "{}: {}",
            tr(lang, "progress", "进度"),
            entry.progress_text()
        ),
        theme.dim,
    )));
    if let Some(here) = &entry.here {
        let text = if here.runs() {
            format!("{} {}", lesson_mark(here), here.reason().get(lang))
        } else {
            format!(
                "{} {}: {}",
                lesson_mark(here),
                here.reason().get(lang),
                if entry.trace.is_some() {
                    tr(
                        lang,
                        "Enter plays its recorded trace instead",
                        "按 Enter 改为回放录制的轨迹",
                    )
                } else {
                    tr(lang, "no recorded trace is shipped", "没有随附录制轨迹")
                }
            )
        };
        for l in wrap(&text, width) {
            lines.push(Line::from(Span::styled(l, theme.current)));
        }
    }
    if !entry.objectives.is_empty() {
        lines.push(Line::from(Span::styled(
            tr(lang, "You will see:", "你将看到：").to_string(),
            theme.title,
        )));
        for objective in &entry.objectives {
            let text = super::lesson::flow_text(objective.get(lang));
            for (i, l) in wrap(&text, width.saturating_sub(2)).into_iter().enumerate() {
                let p = if i == 0 { "• " } else { "  " };
                lines.push(Line::from(format!("{p}{l}")));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
