//! The narration pane: where the learner is among the steps, what the shown step does, and
//! the commands and syscalls that would do the same by hand.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::Ctx;
use crate::tui::app::{Activity, Focus};
use crate::tui::words;
use crate::tui::wrap::{fit, wrap};

/// How a step stands, with the symbol that says it (never colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Done,
    Current,
    Running,
    Pending,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Done => "✓",
            Mark::Current => "▶",
            Mark::Running => "⟳",
            Mark::Pending => "·",
        }
    }
}

fn mark_of(ctx: &Ctx, index: usize) -> Mark {
    let app = ctx.app;
    if index < app.script_done {
        Mark::Done
    } else if index == app.script_done {
        if matches!(app.activity, Activity::Stepping { .. }) {
            Mark::Running
        } else {
            Mark::Current
        }
    } else {
        Mark::Pending
    }
}

fn mark_style(ctx: &Ctx, mark: Mark) -> Style {
    match mark {
        Mark::Done => ctx.theme.done,
        Mark::Current | Mark::Running => ctx.theme.current,
        Mark::Pending => ctx.theme.dim,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx, tall: bool) {
    let app = ctx.app;
    let lang = ctx.lang;
    let total = app.script.steps.len();
    let focused = app.focus == Focus::Narration;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            ctx.theme.border_focused
        } else {
            ctx.theme.border
        })
        .title(format!(
            " {} {}/{total} ",
            words::STEP.get(lang),
            (app.viewing + 1).min(total)
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;

    // The step list: one line per step when there is room, else one line of marks.
    let list: Vec<Line> = if tall {
        (0..total)
            .map(|i| {
                let mark = mark_of(ctx, i);
                let title = app.script.steps[i].title.get(lang);
                let text = fit(&format!("{} {:>2} {title}", mark.symbol(), i + 1), width);
                let style = if i == app.viewing {
                    ctx.theme.selected
                } else {
                    mark_style(ctx, mark)
                };
                Line::from(Span::styled(text, style))
            })
            .collect()
    } else {
        let mut spans = Vec::new();
        for i in 0..total {
            let mark = mark_of(ctx, i);
            let style = if i == app.viewing {
                ctx.theme.selected
            } else {
                mark_style(ctx, mark)
            };
            spans.push(Span::styled(format!("{}{}", mark.symbol(), i + 1), style));
            spans.push(Span::raw(" "));
        }
        if app.viewing >= total {
            spans.push(Span::styled("✓✓", ctx.theme.selected));
        }
        vec![Line::from(spans)]
    };

    // The shown step's title and text, wrapped by display width.
    let mut text: Vec<Line> = Vec::new();
    let mut commands: Vec<Line> = Vec::new();
    match app.script.steps.get(app.viewing) {
        Some(step) => {
            let mark = mark_of(ctx, app.viewing);
            let state = match mark {
                Mark::Done => words::DONE,
                Mark::Current => words::CURRENT,
                Mark::Running => words::RUNNING_STEP,
                Mark::Pending => words::PENDING,
            };
            let heading = format!(
                "{} {}. {} ({})",
                mark.symbol(),
                app.viewing + 1,
                step.title.get(lang),
                state.get(lang)
            );
            for l in wrap(&heading, width) {
                text.push(Line::from(Span::styled(l, ctx.theme.title)));
            }
            if app.presenter {
                text.push(Line::default());
            }
            for l in wrap(step.explain.get(lang), width) {
                text.push(Line::from(l));
            }
            let inner_width = width.saturating_sub(2);
            for c in &step.commands {
                for (i, l) in wrap(c, inner_width.saturating_sub(2))
                    .into_iter()
                    .enumerate()
                {
                    let prefix = if i == 0 { "$ " } else { "  " };
                    commands.push(Line::from(Span::styled(
                        format!("{prefix}{l}"),
                        ctx.theme.command,
                    )));
                }
            }
            if !step.syscalls.is_empty() {
                commands.push(Line::from(Span::styled(
                    format!("{}:", words::SYSCALLS.get(lang)),
                    ctx.theme.title,
                )));
                for s in &step.syscalls {
                    for l in wrap(s, inner_width.saturating_sub(2)) {
                        commands.push(Line::from(Span::styled(format!("  {l}"), ctx.theme.dim)));
                    }
                }
            }
        }
        None => {
            for l in wrap(words::ALL_DONE_TITLE.get(lang), width) {
                text.push(Line::from(Span::styled(l, ctx.theme.title)));
            }
            for l in wrap(words::ALL_DONE.get(lang), width) {
                text.push(Line::from(l));
            }
        }
    }

    if !tall && !commands.is_empty() {
        // Small screen: the commands follow the text in one scrollable pane.
        if app.presenter {
            text.push(Line::default());
        }
        text.push(Line::from(Span::styled(
            format!("── {} ──", words::BY_HAND.get(lang)),
            ctx.theme.title,
        )));
        text.append(&mut commands);
    }
    let (list_height, [list_area, text_area, commands_area]) =
        areas(inner, list.len(), commands.len(), tall, app.presenter);
    // Keep the shown step in view when the list is cut.
    let list_scroll =
        (app.viewing.min(total.saturating_sub(1)) as u16 + 1).saturating_sub(list_height);
    let list_scroll = if tall { list_scroll } else { 0 };
    frame.render_widget(Paragraph::new(list).scroll((list_scroll, 0)), list_area);
    let scroll = app.scroll[Focus::Narration.index()].min(text.len().saturating_sub(1) as u16);
    let hidden_below = text.len() as u16 > scroll + text_area.height;
    frame.render_widget(Paragraph::new(text).scroll((scroll, 0)), text_area);
    if hidden_below {
        super::more_below(frame, area, ctx);
    }
    if commands_area.height > 0 {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(ctx.theme.border)
            .title(format!(" {} ", words::BY_HAND.get(lang)));
        let inner = block.inner(commands_area);
        frame.render_widget(block, commands_area);
        frame.render_widget(Paragraph::new(commands), inner);
    }
}

/// The narration pane's rows: the step list (at most a third), a gap on a tall or presenter
/// screen, the text, and the commands box (at least half of what is left when it fits).
pub(super) fn areas(
    inner: Rect,
    list_len: usize,
    commands_len: usize,
    tall: bool,
    presenter: bool,
) -> (u16, [Rect; 3]) {
    let list_height = (list_len as u16).min(inner.height / 3).max(1);
    let gap = u16::from(tall) + u16::from(presenter);
    let rest = inner.height.saturating_sub(list_height + gap);
    let commands_height = if commands_len == 0 {
        0
    } else {
        (commands_len as u16 + 2).min(rest.saturating_sub(3).max(rest / 2))
    };
    let [list_area, _gap, text_area, commands_area] = Layout::vertical([
        Constraint::Length(list_height),
        Constraint::Length(gap),
        Constraint::Min(0),
        Constraint::Length(commands_height),
    ])
    .areas(inner);
    (list_height, [list_area, text_area, commands_area])
}
