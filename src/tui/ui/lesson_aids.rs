//! Drawing the lesson player's teaching aids in the narration: the `try:` lines filled from
//! the live pod (the selected one marked), the `cluster:` lines labelled as such, the hints
//! and whether more exist, the teacher notes, and the lesson's recap at the end.

use std::time::Instant;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::lesson::flow_text;
use super::Ctx;
use crate::i18n::Lang;
use crate::lesson::StepSpec;
use crate::tui::lesson_player::Player;
use crate::tui::words::{tr, Tr};
use crate::tui::wrap::wrap;

pub const TRY_HERE: Tr = Tr("Try it here", "在本机试试");
pub const ON_A_CLUSTER: Tr = Tr("on a cluster", "在集群中");
const NOTES: Tr = Tr("Teacher notes", "教师备注");

fn push_wrapped(lines: &mut Vec<Line<'static>>, text: &str, width: usize, style: Style) {
    for l in wrap(text, width) {
        lines.push(Line::from(Span::styled(l, style)));
    }
}

/// The commands box: `try:` lines (`▶` on the selected one), then the `cluster:` lines, then
/// a schema-1 lesson's plain commands. In challenge mode, only how to show them.
pub fn command_lines(
    player: &Player,
    step: &StepSpec,
    index: usize,
    ctx: &Ctx,
    width: usize,
) -> Vec<Line<'static>> {
    let lang = ctx.lang;
    let theme = &ctx.theme;
    let mut lines = Vec::new();
    let has_any =
        !step.try_lines.is_empty() || !step.cluster.is_empty() || !step.commands.is_empty();
    if !has_any {
        return lines;
    }
    if !player.teach.commands_shown(index) {
        lines.push(Line::from(Span::styled(
            tr(
                lang,
                "challenge: c shows the commands",
                "挑战模式：按 c 显示命令",
            )
            .to_string(),
            theme.dim,
        )));
        return lines;
    }
    let filled = player
        .teach
        .steps
        .get(index)
        .and_then(|s| s.filled.as_ref());
    let selected = player
        .teach
        .selected
        .min(step.try_lines.len().saturating_sub(1));
    for (i, template) in step.try_lines.iter().enumerate() {
        let line = filled.and_then(|f| f.get(i));
        let shown = line.map_or(template.as_str(), |l| l.shown());
        let ready = line.is_some_and(|l| l.line.is_some());
        let is_selected = i == selected;
        let prefix = if is_selected { "▶ $ " } else { "  $ " };
        let style = match (is_selected, ready) {
            (true, true) => theme.command.add_modifier(Modifier::BOLD),
            (true, false) => theme.dim.add_modifier(Modifier::BOLD),
            (false, true) => theme.command,
            (false, false) => theme.dim,
        };
        for (j, l) in wrap(shown, width.saturating_sub(4)).into_iter().enumerate() {
            let p = if j == 0 { prefix } else { "    " };
            lines.push(Line::from(Span::styled(format!("{p}{l}"), style)));
        }
        if let Some(missing) = line.and_then(|l| l.missing.as_ref()) {
            if is_selected {
                push_wrapped(
                    &mut lines,
                    &format!(
                        "    ({} {})",
                        tr(lang, "not yet:", "暂时不行："),
                        missing.get(lang)
                    ),
                    width,
                    theme.dim,
                );
            }
        }
    }
    let mut continued = false;
    for c in &step.commands {
        let prefix = if continued { "  " } else { "$ " };
        continued = c.trim_end().ends_with('\\');
        for (i, l) in wrap(c, width.saturating_sub(4)).into_iter().enumerate() {
            let p = if i == 0 { prefix } else { "  " };
            lines.push(Line::from(Span::styled(format!("{p}{l}"), theme.command)));
        }
    }
    if !step.cluster.is_empty() {
        let colon = lang.pick(":", "：");
        lines.push(Line::from(Span::styled(
            format!("{}{colon}", ON_A_CLUSTER.get(lang)),
            theme.title,
        )));
        for c in &step.cluster {
            for (i, l) in wrap(c, width.saturating_sub(4)).into_iter().enumerate() {
                let p = if i == 0 { "  $ " } else { "    " };
                lines.push(Line::from(Span::styled(format!("{p}{l}"), theme.dim)));
            }
        }
    }
    lines
}

/// The shown hints (`Hint 2/3: …`), then whether more exist and how to get them.
pub fn hint_lines(
    player: &Player,
    step: &StepSpec,
    index: usize,
    ctx: &Ctx,
    width: usize,
    now: Instant,
) -> Vec<Line<'static>> {
    let lang = ctx.lang;
    let theme = &ctx.theme;
    let mut lines = Vec::new();
    let total = step.hints.len();
    let shown = player.teach.shown_hints(index);
    for h in &shown {
        push_wrapped(
            &mut lines,
            &format!(
                "{} {}/{total}: {}",
                tr(lang, "Hint", "提示"),
                h + 1,
                flow_text(step.hints[*h].get(lang))
            ),
            width,
            theme.warning,
        );
    }
    let hidden = total - shown.len();
    if hidden == 0 {
        return lines;
    }
    let ready = player.teach.next_hint(step, index, now).is_some();
    let text = match (ready, shown.is_empty(), lang) {
        (true, true, Lang::En) => format!("h: a hint ({hidden} in all)"),
        (true, true, Lang::Zh) => format!("h：看提示（共 {hidden} 条）"),
        (true, false, Lang::En) => format!("h: another hint ({hidden} more)"),
        (true, false, Lang::Zh) => format!("h：下一条提示（还有 {hidden} 条）"),
        (false, _, Lang::En) => {
            format!("{hidden} more hint(s) come when the pod shows what they are about")
        }
        (false, _, Lang::Zh) => format!("还有 {hidden} 条提示，会在 Pod 出现相应状态时出现"),
    };
    push_wrapped(&mut lines, &text, width, theme.dim);
    lines
}

/// The step's teacher notes, when they are shown (presenter mode, or n).
pub fn notes_lines(
    player: &Player,
    step: &StepSpec,
    ctx: &Ctx,
    width: usize,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let Some(notes) = step.teacher_notes.as_ref().filter(|_| player.teach.notes) else {
        return lines;
    };
    let style = ctx.theme.current;
    lines.push(Line::from(Span::styled(
        format!("── {} ──", NOTES.get(ctx.lang)),
        style.add_modifier(Modifier::BOLD),
    )));
    push_wrapped(&mut lines, &flow_text(notes.get(ctx.lang)), width, style);
    lines
}

/// The close of a lesson: what was seen, what to try next.
pub fn recap_lines(player: &Player, ctx: &Ctx, width: usize) -> Vec<Line<'static>> {
    let lang = ctx.lang;
    let theme = &ctx.theme;
    let mut lines = Vec::new();
    let Some(recap) = &player.lesson.file.recap else {
        return lines;
    };
    for (title, items) in [
        (tr(lang, "What you saw", "你看到了"), &recap.seen),
        (tr(lang, "Try next", "接下来试试"), &recap.next),
    ] {
        if items.is_empty() {
            continue;
        }
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(title.to_string(), theme.title)));
        for item in items {
            let text = flow_text(item.get(lang));
            for (i, l) in wrap(&text, width.saturating_sub(2)).into_iter().enumerate() {
                let p = if i == 0 { "• " } else { "  " };
                lines.push(Line::from(Span::styled(format!("{p}{l}"), theme.base)));
            }
        }
    }
    lines
}
