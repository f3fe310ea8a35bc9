//! Drawing the lesson player: the lesson's narration (steps, text, what the action did, the
//! check, hints, commands) beside the explorer's live panels of the lesson's pod.

use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{bars, draw_screen, lesson_aids, narration, Ctx, Parts};
use crate::i18n::Lang;
use crate::tui::app::{Focus, StatusKind};
use crate::tui::autoplay::Autoplay;
use crate::tui::keymap::Action;
use crate::tui::lesson_player::{Phase, Player, StepState, OUTPUT_LINES};
use crate::tui::theme::Theme;
use crate::tui::words::{self, tr};
use crate::tui::wrap::{fit, wrap};

/// A lesson text as one paragraph: YAML's folded lines become spaces, which Chinese text
/// must not have after its punctuation or between two Chinese characters.
pub(super) fn flow_text(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for word in words {
        let joins = match (out.chars().last(), word.chars().next()) {
            (Some(a), Some(b)) => is_cjk_punct(a) || (!a.is_ascii() && !b.is_ascii()),
            _ => true,
        };
        if !joins {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn is_cjk_punct(c: char) -> bool {
    matches!(
        c,
        '。' | '，' | '、' | '：' | '；' | '！' | '？' | '（' | '）' | '“' | '”' | '…'
    )
}

/// The lesson player: the explorer's layout, with the lesson's title bar, step pane, status
/// line and keys.
pub fn draw_player(frame: &mut Frame, player: &Player, now: Instant) {
    draw_screen(frame, &player.app, &PlayerParts(player), now);
    if player.asking.is_some() {
        let app = &player.app;
        let ctx = Ctx {
            app,
            theme: crate::tui::theme::Theme::of(app.theme),
            lang: app.lang,
            now,
        };
        super::learner::draw_asking(frame, frame.area(), player, &ctx);
    }
}

struct PlayerParts<'a>(&'a Player);

impl Parts for PlayerParts<'_> {
    fn title(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        title_bar(frame, area, self.0, ctx);
    }

    fn narration(&self, frame: &mut Frame, area: Rect, ctx: &Ctx, tall: bool) {
        narration(frame, area, self.0, ctx, tall);
    }

    fn status_text(&self, ctx: &Ctx) -> (Style, String) {
        status_text(self.0, ctx)
    }

    fn enabled(&self, action: Action) -> bool {
        self.0.enabled(action)
    }

    fn autoplay(&self) -> Option<&Autoplay> {
        self.0.autoplay.as_ref()
    }
}

fn title_bar(frame: &mut Frame, area: Rect, player: &Player, ctx: &Ctx) {
    let lang = ctx.lang;
    let sep = || Span::styled(" · ", ctx.theme.dim);
    let total = player.steps.len();
    let mut spans = Vec::new();
    if ctx.app.presenter {
        // The step counter first and big enough to read from the back of the room.
        spans.push(Span::styled(
            format!(
                " {} {} / {total} ",
                words::STEP.get(lang),
                (player.viewing() + 1).min(total)
            ),
            ctx.theme.selected,
        ));
    }
    spans.push(Span::styled(" podlab", ctx.theme.title));
    spans.extend(bars::frozen_mark(ctx));
    if player.is_replay() {
        spans.push(sep());
        spans.push(Span::styled(words::REPLAY.get(lang), ctx.theme.current));
    }
    spans.extend([
        sep(),
        Span::styled(player.lesson.id().to_string(), ctx.theme.title),
    ]);
    // The lesson's title goes first when the bar is too narrow: the narration shows it too,
    // while the pod's state and the step count are only here.
    let title_at = spans.len();
    spans.extend([
        sep(),
        Span::raw(player.lesson.file.title.get(lang).to_string()),
    ]);
    if let Some(state) = ctx.app.shown().and_then(|o| o.state.as_ref()) {
        spans.push(sep());
        spans.push(Span::raw(format!(
            "pod/{} {} {}",
            state.name,
            state.status_text(),
            state.ready_text()
        )));
    }
    spans.push(sep());
    spans.push(Span::raw(format!(
        "{} {}/{}",
        words::STEPS.get(lang),
        player.done_count(),
        player.steps.len()
    )));
    if let Some(auto) = &player.autoplay {
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
    spans.push(sep());
    spans.push(Span::raw(match lang {
        Lang::En => "EN",
        Lang::Zh => "中文",
    }));
    let mut line = Line::from(spans);
    if line.width() > usize::from(area.width) {
        line.spans.drain(title_at..title_at + 2);
    }
    frame.render_widget(Paragraph::new(line), area);
}

fn status_text(player: &Player, ctx: &Ctx) -> (Style, String) {
    let lang = ctx.lang;
    let theme = &ctx.theme;
    let (style, text) = match (&ctx.app.status, player.phase) {
        (_, Phase::Finishing) => (
            theme.warning,
            tr(
                lang,
                "deleting the lesson's pods: SIGTERM, then SIGKILL after the grace period… q: kill now",
                "正在删除课程的 Pod：先发送 SIGTERM，宽限期过后发送 SIGKILL…… q：立即杀死",
            )
            .to_string(),
        ),
        (Some((StatusKind::Error, text)), _) => (theme.error, format!("✗ {text}")),
        (Some((StatusKind::Info, text)), _) => (theme.base, format!("› {text}")),
        (None, Phase::Resuming) => (
            theme.current,
            format!(
                "⟳ {}",
                tr(
                    lang,
                    "resuming: replaying the steps done before…",
                    "正在恢复：重放之前完成的步骤……"
                )
            ),
        ),
        (None, Phase::Ready) => match player.steps.get(player.current).map(|s| &s.state) {
            Some(StepState::Watching { .. }) => super::learner::watching_status(player, ctx)
                .unwrap_or((
                    theme.current,
                    format!("⟳ {}", tr(lang, "watching…", "观察中……")),
                )),
            Some(StepState::Performing { since }) => (
                theme.current,
                format!(
                    "⟳ {} {} ({}s)",
                    words::RUNNING_STEP.get(lang),
                    player.current + 1,
                    ctx.now.saturating_duration_since(*since).as_secs()
                ),
            ),
            Some(StepState::Checking { since, .. }) => (
                theme.current,
                format!(
                    "⟳ {} ({}s)",
                    tr(lang, "checking…", "检查中……"),
                    ctx.now.saturating_duration_since(*since).as_secs()
                ),
            ),
            _ if player.just_passed.is_some() && !player.all_done() => {
                let index = player.just_passed.unwrap_or_default();
                let message = match player.steps.get(index).map(|s| &s.state) {
                    Some(StepState::Passed(check)) => check.message.get(lang).to_string(),
                    _ => String::new(),
                };
                (
                    theme.done,
                    format!(
                        "✓ {} {}: {message} · {}",
                        words::STEP.get(lang),
                        index + 1,
                        tr(lang, "Space: the next step", "空格：下一步")
                    ),
                )
            }
            _ if player.all_done() => (
                theme.done,
                format!(
                    "✓ {}",
                    tr(
                        lang,
                        "lesson complete: q quits (the pods are deleted)",
                        "课程完成：按 q 退出（Pod 会被删除）"
                    )
                ),
            ),
            _ => (theme.dim, String::new()),
        },
    };
    (style, format!(" {text}"))
}

/// A step's symbol (never colour alone) and style.
fn mark(player: &Player, index: usize, theme: &Theme) -> (&'static str, Style) {
    match player.steps.get(index).map(|s| &s.state) {
        Some(StepState::Passed(_)) => ("✓", theme.done),
        Some(StepState::Failed(_)) => ("✗", theme.error),
        Some(StepState::Performing { .. } | StepState::Checking { .. }) => ("⟳", theme.current),
        Some(StepState::Watching { .. }) => ("▶", theme.current),
        _ if index == player.current => ("▶", theme.current),
        _ => ("·", theme.dim),
    }
}

fn narration(frame: &mut Frame, area: Rect, player: &Player, ctx: &Ctx, tall: bool) {
    let lang = ctx.lang;
    let theme = &ctx.theme;
    let total = player.steps.len();
    let viewing = player.viewing();
    let focused = ctx.app.focus == Focus::Narration;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(format!(
            " {} {}/{total} ",
            words::STEP.get(lang),
            (viewing + 1).min(total)
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let steps = player.lesson.steps();

    let list: Vec<Line> = if tall {
        (0..total)
            .map(|i| {
                let (symbol, style) = mark(player, i, theme);
                let text = fit(
                    &format!("{symbol} {:>2} {}", i + 1, steps[i].title.get(lang)),
                    width,
                );
                let style = if i == viewing { theme.selected } else { style };
                Line::from(Span::styled(text, style))
            })
            .collect()
    } else {
        let mut spans = Vec::new();
        for i in 0..total {
            let (symbol, style) = mark(player, i, theme);
            let style = if i == viewing { theme.selected } else { style };
            spans.push(Span::styled(format!("{symbol}{}", i + 1), style));
            spans.push(Span::raw(" "));
        }
        vec![Line::from(spans)]
    };

    let mut text: Vec<Line> = Vec::new();
    let mut commands: Vec<Line> = Vec::new();
    // Lines that work here, or (a schema-1 lesson) commands as written.
    let box_title = if steps.get(viewing).is_some_and(|s| !s.try_lines.is_empty()) {
        lesson_aids::TRY_HERE
    } else {
        words::BY_HAND
    };
    let push_wrapped = |text: &mut Vec<Line>, s: &str, style: Style| {
        for l in wrap(s, width) {
            text.push(Line::from(Span::styled(l, style)));
        }
    };
    match (steps.get(viewing), player.steps.get(viewing)) {
        (Some(step), Some(view)) => {
            let (symbol, _) = mark(player, viewing, theme);
            let heading = format!("{symbol} {}. {}", viewing + 1, step.title.get(lang));
            push_wrapped(&mut text, &heading, theme.title);
            if ctx.app.presenter {
                text.push(Line::default());
            }
            push_wrapped(&mut text, &flow_text(step.body.get(lang)), theme.base);
            if let Some(note) = &step.simplified {
                push_wrapped(
                    &mut text,
                    &format!(
                        "{} {}",
                        tr(lang, "In a cluster:", "在真实集群中："),
                        flow_text(note.get(lang))
                    ),
                    theme.dim,
                );
            }
            if let Some(action) = &view.action {
                let summary = action.summary.get(lang);
                if !summary.is_empty() {
                    push_wrapped(&mut text, &format!("→ {summary}"), theme.command);
                }
                for l in action.output.lines().take(OUTPUT_LINES) {
                    text.push(Line::from(Span::styled(
                        fit(&format!("  | {l}"), width),
                        theme.dim,
                    )));
                }
            }
            match &view.state {
                StepState::Passed(check) if !check.message.get(lang).is_empty() => {
                    push_wrapped(
                        &mut text,
                        &format!("✓ {}", check.message.get(lang)),
                        theme.done,
                    );
                }
                StepState::Checking { last, .. } => {
                    push_wrapped(
                        &mut text,
                        &format!("⟳ {}", tr(lang, "checking…", "检查中……")),
                        theme.current,
                    );
                    if let Some(last) = last {
                        push_wrapped(&mut text, last.message.get(lang), theme.dim);
                    }
                }
                StepState::Failed(message) => {
                    push_wrapped(&mut text, &format!("✗ {}", message.get(lang)), theme.error);
                    push_wrapped(
                        &mut text,
                        tr(lang, "Space tries again.", "按空格再试一次。"),
                        theme.dim,
                    );
                }
                _ => {}
            }
            text.extend(super::learner::lines(player, viewing, ctx, width));
            text.extend(lesson_aids::hint_lines(
                player, step, viewing, ctx, width, ctx.now,
            ));
            text.extend(lesson_aids::notes_lines(player, step, ctx, width));
            commands = lesson_aids::command_lines(player, step, viewing, ctx, width);
        }
        _ => {
            push_wrapped(
                &mut text,
                tr(lang, "Lesson complete", "课程完成"),
                theme.title,
            );
            push_wrapped(
                &mut text,
                tr(
                    lang,
                    "Every check passed. The panels are still live: look around (Tab, s, l, d), \
                     then q deletes the lesson's pods.",
                    "所有检查都通过了。面板仍是实时的：可以继续查看（Tab、s、l、d），\
                     然后按 q 删除课程的 Pod。",
                ),
                theme.base,
            );
            text.extend(lesson_aids::recap_lines(player, ctx, width));
        }
    }
    if !tall && !commands.is_empty() {
        if ctx.app.presenter {
            text.push(Line::default());
        }
        text.push(Line::from(Span::styled(
            format!("── {} ──", box_title.get(lang)),
            theme.title,
        )));
        text.append(&mut commands);
    }
    let (list_height, [list_area, text_area, commands_area]) =
        narration::areas(inner, list.len(), commands.len(), tall, ctx.app.presenter);
    let list_scroll = if tall {
        (viewing.min(total.saturating_sub(1)) as u16 + 1).saturating_sub(list_height)
    } else {
        0
    };
    frame.render_widget(Paragraph::new(list).scroll((list_scroll, 0)), list_area);
    let scroll = ctx.app.scroll[Focus::Narration.index()].min(text.len().saturating_sub(1) as u16);
    let hidden_below = text.len() as u16 > scroll + text_area.height;
    frame.render_widget(Paragraph::new(text).scroll((scroll, 0)), text_area);
    if hidden_below {
        super::more_below(frame, area, ctx);
    }
    if commands_area.height > 0 {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(format!(" {} ", box_title.get(lang)));
        let inner = block.inner(commands_area);
        frame.render_widget(block, commands_area);
        frame.render_widget(Paragraph::new(commands), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::flow_text;

    #[test]
    fn folded_lines_join_as_each_language_writes() {
        assert_eq!(flow_text("two\ncontainers  share "), "two containers share");
        assert_eq!(
            flow_text("的 cgroup。 两个容器都在\n pause 的 net、 ipc"),
            "的 cgroup。两个容器都在 pause 的 net、ipc"
        );
        assert_eq!(flow_text("共享\n存储卷"), "共享存储卷");
    }
}
