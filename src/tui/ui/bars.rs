//! The one-line bars: title (pod, status, step, language, theme, the frozen mark), status
//! line and key hints.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::Ctx;
use crate::tui::app::{Activity, Session, StatusKind};
use crate::tui::keymap::{self, Action, HintKey};
use crate::tui::words::{self, tr};

pub fn title(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let app = ctx.app;
    let lang = ctx.lang;
    let total = app.script.steps.len();
    let mut spans = Vec::new();
    if app.presenter {
        // The step counter first and big enough to read from the back of the room.
        spans.push(Span::styled(
            format!(
                " {} {} / {total} ",
                words::STEP.get(lang),
                (app.viewing + 1).min(total)
            ),
            ctx.theme.selected,
        ));
    }
    spans.push(Span::styled(" podlab", ctx.theme.title));
    spans.extend(frozen_mark(ctx));
    let mut qos = None;
    let sep = || Span::styled(" · ", ctx.theme.dim);
    if let Session::Replay { .. } = &app.session {
        spans.push(sep());
        spans.push(Span::styled(words::REPLAY.get(lang), ctx.theme.current));
    }
    match &app.session {
        Session::Pod { name, .. } | Session::Replay { name, .. } => {
            spans.push(sep());
            spans.push(Span::styled(format!("pod/{name}"), ctx.theme.title));
            if let Some(state) = app.shown().and_then(|o| o.state.as_ref()) {
                spans.push(sep());
                spans.push(Span::raw(format!(
                    "{} {}",
                    state.status_text(),
                    state.ready_text()
                )));
                if !state.qos_class.is_empty() {
                    qos = Some(state.qos_class.clone());
                }
            }
        }
        Session::ReadOnly => {
            spans.push(sep());
            spans.push(Span::styled(
                tr(lang, "your processes (read-only)", "你的进程（只读）"),
                ctx.theme.warning,
            ));
        }
    }
    if !app.presenter {
        // (Presenter mode shows the step counter first instead.)
        spans.push(sep());
        spans.push(Span::raw(format!(
            "{} {}/{total}",
            words::STEPS.get(lang),
            app.script_done
        )));
    }
    if let Some(auto) = &app.autoplay {
        spans.push(sep());
        spans.push(if auto.paused {
            Span::styled(format!("⏸ {}", words::PAUSED.get(lang)), ctx.theme.warning)
        } else {
            Span::styled(
                format!("⏵ {} {}×", words::AUTOPLAY.get(lang), auto.settings.speed),
                ctx.theme.current,
            )
        });
    }
    if let Some(sel) = &app.selected {
        spans.push(sep());
        spans.push(Span::raw(format!("▶ {sel}")));
    }
    spans.push(sep());
    spans.push(Span::raw(match lang {
        crate::i18n::Lang::En => "EN",
        crate::i18n::Lang::Zh => "中文",
    }));
    if let Some(qos) = qos {
        spans.push(sep());
        spans.push(Span::raw(format!("QoS {qos}")));
    }

    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The status line's style and text: what is going on, the last message, or what is missing.
pub fn status_text(ctx: &Ctx) -> (Style, String) {
    let app = ctx.app;
    let lang = ctx.lang;
    let (style, text) = match (&app.status, app.activity) {
        (_, Activity::Deleting) => (ctx.theme.warning, words::DELETING.get(lang).to_string()),
        (_, Activity::Restarting) => (ctx.theme.current, words::RESTARTING.get(lang).to_string()),
        (_, Activity::Stepping { since }) => {
            let step = app
                .script
                .steps
                .get(app.script_done)
                .map(|s| s.title.get(lang).to_string())
                .unwrap_or_default();
            let secs = ctx.now.saturating_duration_since(since).as_secs();
            let pulls = pulls_underway(ctx);
            let pulls = if pulls.is_empty() {
                String::new()
            } else {
                format!(" · {pulls}")
            };
            (
                ctx.theme.current,
                format!(
                    "⟳ {} {}: {step} ({secs}s){pulls}",
                    words::RUNNING_STEP.get(lang),
                    app.script_done + 1
                ),
            )
        }
        (Some((StatusKind::Error, text)), _) => (ctx.theme.error, format!("✗ {text}")),
        (Some((StatusKind::Info, text)), _) => (ctx.theme.base, format!("› {text}")),
        (None, _) if app.session == Session::ReadOnly => {
            (ctx.theme.warning, words::NEEDS_ROOT.get(lang).to_string())
        }
        (None, _) => match app.shown().and_then(|o| o.error.clone()) {
            Some(e) => (ctx.theme.error, format!("✗ {e}")),
            None => match pulls_underway(ctx) {
                pulls if pulls.is_empty() => (ctx.theme.dim, String::new()),
                pulls => (ctx.theme.current, format!("⟳ {pulls}")),
            },
        },
    };
    (style, format!(" {text}"))
}

/// The pulls running now, as the pod's state says: "pulling nginx:1.29: 2/5 layers, 1.5Mi of
/// 4Mi".
fn pulls_underway(ctx: &Ctx) -> String {
    let Some(state) = ctx.app.shown().and_then(|o| o.state.as_ref()) else {
        return String::new();
    };
    state
        .containers
        .iter()
        .filter_map(|c| {
            let progress = c.pull.as_ref()?;
            Some(format!(
                "{} {}: {}",
                words::PULLING_IMAGE.get(ctx.lang),
                c.image,
                crate::present::text::pull_progress(progress, ctx.lang)
            ))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn status(frame: &mut Frame, area: Rect, style: Style, lines: Vec<String>) {
    let mut lines = lines;
    lines.truncate(area.height as usize);
    if let Some(last) = lines.last_mut() {
        *last = crate::present::text::truncate(last, area.width as usize);
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// "❄ frozen" right after the program's name while the panels are frozen: reversed and bold,
/// so it reads without colour and from the back of a room.
pub fn frozen_mark(ctx: &Ctx) -> Vec<Span<'static>> {
    if !ctx.app.is_frozen() {
        return Vec::new();
    }
    vec![
        Span::raw(" "),
        Span::styled(
            format!(" {} ", words::FROZEN.get(ctx.lang)),
            ctx.theme.selected.add_modifier(Modifier::BOLD),
        ),
    ]
}

/// The table's hints for a screen with live panels: while frozen or zoomed, the freeze and
/// zoom keys say what pressing them does then.
pub fn live_hints(ctx: &Ctx, enabled: impl Fn(Action) -> bool) -> Vec<HintKey> {
    let mut hints = keymap::hints(ctx.lang, enabled);
    for hint in &mut hints {
        match hint.action {
            Action::Freeze if ctx.app.is_frozen() => hint.words = words::UNFREEZE.get(ctx.lang),
            Action::Zoom if ctx.app.zoomed => hint.words = words::UNZOOM.get(ctx.lang),
            _ => {}
        }
    }
    hints
}

/// Hint keys as the hint bar draws them, in the order given, quit last. When they do not all
/// fit, the highest rank goes first (of equal ranks, the later one).
pub fn hint_bar(
    frame: &mut Frame,
    area: Rect,
    theme: &crate::tui::theme::Theme,
    hints: Vec<HintKey>,
) {
    let mut hints = hints;
    if let Some(at) = hints.iter().position(|h| h.action == Action::Quit) {
        let quit = hints.remove(at);
        hints.push(quit);
    }
    let width = |hs: &[HintKey]| -> usize {
        1 + hs
            .iter()
            .map(|h| h.key.width() + 1 + h.words.width() + 2)
            .sum::<usize>()
    };
    while hints.len() > 1 && width(&hints) > area.width as usize {
        let Some((at, _)) = hints.iter().enumerate().max_by_key(|(i, h)| (h.rank, *i)) else {
            break;
        };
        hints.remove(at);
    }
    let mut spans = vec![Span::raw(" ")];
    for h in hints {
        spans.push(Span::styled(h.key, theme.key));
        spans.push(Span::styled(format!(" {}  ", h.words), theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
