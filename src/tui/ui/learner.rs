//! What schema 2 adds to the lesson player's narration: the learner's tasks, marked as they
//! are done (✓ done, ▶ watched now, ✗ already so when the step began, · waiting for another
//! task), each with the key that helps; the question with the answer given and, once graded,
//! the right answer, its evidence and the explanation; problems with the learner's manifest;
//! and the question box asked before the step's action.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::lesson::flow_text;
use super::popups::{centered, frame_popup};
use super::Ctx;
use crate::i18n::Lang;
use crate::lesson::learner::{helping_key, TaskState};
use crate::tui::keymap::{self, Action};
use crate::tui::lesson_player::Player;
use crate::tui::words::tr;
use crate::tui::wrap::wrap;

/// Wrapped lines of `text`: the first starts at `first` columns (its mark, if any, is part
/// of the text), the rest at `rest`, so a task's or answer's text lines up under itself.
fn push(
    lines: &mut Vec<Line<'static>>,
    text: &str,
    width: usize,
    style: Style,
    (first, rest): (usize, usize),
) {
    let narrowest = width.saturating_sub(first.max(rest)).max(8);
    for (i, l) in wrap(text, narrowest).into_iter().enumerate() {
        let lead = " ".repeat(if i == 0 { first } else { rest });
        lines.push(Line::from(Span::styled(format!("{lead}{l}"), style)));
    }
}

/// A heading or a marked line, its continuation under its text.
const MARKED: (usize, usize) = (0, 2);
/// A task's line (`✓ 1. …`): its continuation under its text.
const TASK: (usize, usize) = (0, 5);
/// A note under a task.
const UNDER_TASK: (usize, usize) = (5, 5);
/// A line under the question.
const UNDER_QUESTION: (usize, usize) = (2, 2);

/// The key that helps, as the hint bar names it: `k: signal`.
fn key_words(key: char, lang: Lang) -> String {
    let action = match key {
        'k' => Some(Action::Signal),
        's' => Some(Action::Shell),
        'm' => Some(Action::EditManifest),
        _ => None,
    };
    let words = action
        .and_then(keymap::binding)
        .map(|b| b.short.get(lang))
        .unwrap_or_default();
    match lang {
        Lang::En => format!("{key}: {words}"),
        Lang::Zh => format!("{key}：{words}"),
    }
}

/// The lines step `index` adds for the learner (none for a schema 1 step).
pub(super) fn lines(player: &Player, index: usize, ctx: &Ctx, width: usize) -> Vec<Line<'static>> {
    let lang = ctx.lang;
    let theme = &ctx.theme;
    let mut out = Vec::new();
    let (Some(step), Some(view)) = (player.lesson.steps().get(index), player.steps.get(index))
    else {
        return out;
    };
    if !step.tasks.is_empty() {
        push(
            &mut out,
            &format!(
                "── {} ──",
                tr(lang, "Your turn: do this", "轮到你了：动手做")
            ),
            width,
            theme.title,
            MARKED,
        );
        for (n, task) in step.tasks.iter().enumerate() {
            let status = view.tasks.iter().find(|t| t.id == task.id);
            let state = status.map(|s| s.state);
            let (mark, style) = match state {
                Some(TaskState::Done) => ("✓", theme.done),
                Some(TaskState::Waiting) => ("▶", theme.current),
                Some(TaskState::AlreadyTrue) => ("✗", theme.warning),
                Some(TaskState::Blocked) | None => ("·", theme.dim),
            };
            let todo = flow_text(task.todo.get(lang));
            push(
                &mut out,
                &format!("{mark} {}. {todo}", n + 1),
                width,
                style,
                TASK,
            );
            let how = match helping_key(task.solution.as_ref()) {
                Some(key) => format!("{} {}", tr(lang, "key", "按键"), key_words(key, lang)),
                None => tr(lang, "in another terminal", "在另一个终端里做").to_string(),
            };
            let mut notes = vec![how];
            match state {
                Some(TaskState::Done) if view.solved.contains(&task.id) => {
                    notes.push(tr(lang, "done by autoplay", "由自动播放完成").into())
                }
                Some(TaskState::Blocked) if !task.needs.is_empty() => notes.push(format!(
                    "{} {}",
                    tr(lang, "after", "先完成"),
                    task.needs.join(", ")
                )),
                Some(TaskState::AlreadyTrue) => notes.push(
                    tr(
                        lang,
                        "already so when the step began: podlab waits to see it change",
                        "这一步开始时就已如此：podlab 要看到它发生变化",
                    )
                    .into(),
                ),
                Some(TaskState::Waiting) => {
                    notes.push(tr(lang, "podlab is watching", "podlab 正在观察").into())
                }
                _ => {}
            }
            push(&mut out, &notes.join(" · "), width, theme.dim, UNDER_TASK);
            if let Some(s) = status.filter(|s| s.done() && !s.message.get(lang).is_empty()) {
                push(&mut out, s.message.get(lang), width, theme.done, UNDER_TASK);
            }
        }
    }
    if let Some(question) = &step.question {
        push(
            &mut out,
            &format!("? {}", flow_text(question.ask.get(lang))),
            width,
            theme.title,
            MARKED,
        );
        let choices = question.offered_choices();
        let shown = |value: &str| {
            choices
                .iter()
                .find(|c| c.value == value)
                .map_or(value.to_string(), |c| c.text.get(lang).to_string())
        };
        match (&view.grade, &view.answer) {
            (Some(grade), _) => {
                let expected = shown(&grade.expected);
                let (line, style) = match &grade.given {
                    Some(given) if grade.right => (
                        format!("✓ {} {}", tr(lang, "right:", "答对了："), shown(given)),
                        theme.done,
                    ),
                    Some(given) => (
                        format!(
                            "✗ {} {} · {} {expected}",
                            tr(lang, "you answered", "你的答案"),
                            shown(given),
                            tr(lang, "the answer:", "正确答案：")
                        ),
                        theme.error,
                    ),
                    None => (
                        format!("{} {expected}", tr(lang, "the answer:", "答案：")),
                        theme.base,
                    ),
                };
                push(&mut out, &line, width, style, UNDER_QUESTION);
                push(
                    &mut out,
                    grade.evidence.get(lang),
                    width,
                    theme.dim,
                    UNDER_QUESTION,
                );
                push(
                    &mut out,
                    &flow_text(grade.explain.get(lang)),
                    width,
                    if grade.right { theme.dim } else { theme.base },
                    UNDER_QUESTION,
                );
            }
            (None, Some(given)) => push(
                &mut out,
                &format!(
                    "{} {} · {}",
                    tr(lang, "your answer:", "你的答案："),
                    shown(given),
                    tr(lang, "graded after the step", "这一步做完后评分")
                ),
                width,
                theme.current,
                UNDER_QUESTION,
            ),
            (None, None) => push(
                &mut out,
                tr(
                    lang,
                    "Space: answer first, then the step runs",
                    "空格：先回答，再执行这一步",
                ),
                width,
                theme.dim,
                UNDER_QUESTION,
            ),
        }
    }
    if let Some(problem) = &player.edit_problem {
        push(
            &mut out,
            &format!(
                "✗ {}",
                tr(
                    lang,
                    "your manifest (m edits it again):",
                    "你的清单有问题（按 m 再次编辑）："
                )
            ),
            width,
            theme.error,
            MARKED,
        );
        for l in problem.get(lang).lines() {
            push(&mut out, l, width, theme.error, UNDER_QUESTION);
        }
    }
    out
}

/// The status line while the learner's turn lasts.
pub(super) fn watching_status(player: &Player, ctx: &Ctx) -> Option<(Style, String)> {
    let lang = ctx.lang;
    let step = player.lesson.steps().get(player.current)?;
    let view = player.steps.get(player.current)?;
    let next = step.tasks.iter().find(|t| {
        view.tasks
            .iter()
            .any(|s| s.id == t.id && matches!(s.state, TaskState::Waiting | TaskState::AlreadyTrue))
    })?;
    let key = helping_key(next.solution.as_ref())
        .map(|k| format!(" · {}", key_words(k, lang)))
        .unwrap_or_default();
    Some((
        ctx.theme.current,
        format!(
            "▶ {} {}{key}",
            tr(lang, "your turn:", "轮到你了："),
            flow_text(next.todo.get(lang))
        ),
    ))
}

/// The question box, before the step's action.
pub(super) fn draw_asking(frame: &mut Frame, area: Rect, player: &Player, ctx: &Ctx) {
    let Some(asking) = &player.asking else {
        return;
    };
    let Some(question) = player
        .lesson
        .steps()
        .get(asking.index)
        .and_then(|s| s.question.as_ref())
    else {
        return;
    };
    let lang = ctx.lang;
    let width = area.width.saturating_sub(4).min(70);
    let inner_w = width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    push(
        &mut lines,
        &flow_text(question.ask.get(lang)),
        inner_w,
        ctx.theme.base,
        (0, 0),
    );
    lines.push(Line::default());
    let choices = question.offered_choices();
    if choices.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("> ", ctx.theme.key),
            Span::styled(format!("{}▏", asking.typed), ctx.theme.selected),
        ]));
    } else {
        for (i, choice) in choices.iter().enumerate() {
            let chosen = i == asking.choice;
            let text = format!(
                "{} {}) {}",
                if chosen { "▶" } else { " " },
                i + 1,
                choice.text.get(lang)
            );
            let style = if chosen {
                ctx.theme.selected
            } else {
                ctx.theme.base
            };
            push(&mut lines, &text, inner_w, style, (0, 5));
        }
    }
    let footer = if choices.is_empty() {
        tr(
            lang,
            "type · Enter: answer · Esc: later",
            "输入 · 回车：回答 · Esc：稍后",
        )
    } else {
        tr(
            lang,
            "↑/↓ or 1–9 · Enter: answer · Esc: later",
            "↑/↓ 或 1–9 · 回车：回答 · Esc：稍后",
        )
    };
    let rect = centered(area, width, lines.len() as u16 + 2);
    let inner = frame_popup(
        frame,
        rect,
        ctx,
        tr(lang, "Predict, then watch", "先预测，再观察").to_string(),
        footer,
    );
    frame.render_widget(Paragraph::new(lines), inner);
}
