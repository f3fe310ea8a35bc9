//! Drawing the app: title bar, narration, live panels (side by side on a big screen, folded
//! into tabs on a small one, or the focused one alone when zoomed), status line, hint bar,
//! and popups on top.

mod bars;
mod learner;
mod lesson;
mod lesson_aids;
mod narration;
mod panels;
#[cfg(podlab_host)]
mod picker;
mod popups;

pub use lesson::draw_player;
#[cfg(podlab_host)]
pub use picker::draw_picker;

use std::time::Instant;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::app::{App, Focus};
use super::autoplay::Autoplay;
use super::keymap::Action;
use super::theme::Theme;
use super::words;
use crate::i18n::Lang;

/// Everything a drawing function needs.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub theme: Theme,
    pub lang: Lang,
    pub now: Instant,
}

/// Big enough to show every panel at once.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 140 && area.height >= 40
}

/// What a screen with live panels puts into the one layout; the explorer and the lesson player
/// differ only here. The rows, the panels, zoom, popups and the status line are `draw_screen`'s.
pub trait Parts {
    fn title(&self, frame: &mut Frame, area: Rect, ctx: &Ctx);
    /// The narration pane (`tall`: it has a column of its own).
    fn narration(&self, frame: &mut Frame, area: Rect, ctx: &Ctx, tall: bool);
    fn status_text(&self, ctx: &Ctx) -> (Style, String);
    /// Whether a key of the table does something now (the hint bar shows only those).
    fn enabled(&self, action: Action) -> bool;
    /// Steps taken by themselves: the next-step key pauses and resumes them.
    fn autoplay(&self) -> Option<&Autoplay>;
}

/// The explorer.
pub fn draw(frame: &mut Frame, app: &App, now: Instant) {
    draw_screen(frame, app, &ExplorerParts(app), now);
}

struct ExplorerParts<'a>(&'a App);

impl Parts for ExplorerParts<'_> {
    fn title(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        bars::title(frame, area, ctx);
    }

    fn narration(&self, frame: &mut Frame, area: Rect, ctx: &Ctx, tall: bool) {
        narration::draw(frame, area, ctx, tall);
    }

    fn status_text(&self, ctx: &Ctx) -> (Style, String) {
        bars::status_text(ctx)
    }

    fn enabled(&self, action: Action) -> bool {
        self.0.enabled(action)
    }

    fn autoplay(&self) -> Option<&Autoplay> {
        self.0.autoplay.as_ref()
    }
}

/// The one layout of a screen with live panels: title bar; the narration and the panels (side
/// by side on a big screen, the panels as tabs below it on a small one, or one pane zoomed);
/// the status line; the hint bar; popups over everything.
pub fn draw_screen(frame: &mut Frame, app: &App, parts: &dyn Parts, now: Instant) {
    let ctx = Ctx {
        app,
        theme: Theme::of(app.theme),
        lang: app.lang,
        now,
    };
    let area = frame.area();
    frame.render_widget(Block::default().style(ctx.theme.base), area);
    let (status_style, status_text) = parts.status_text(&ctx);
    let status_lines = super::wrap::wrap(&status_text, area.width.max(1) as usize);
    let [title, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(status_lines.len().clamp(1, 2) as u16),
        Constraint::Length(1),
    ])
    .areas(area);
    parts.title(frame, title, &ctx);
    if app.zoomed {
        let tall = is_wide(area);
        zoomed_body(frame, body, &ctx, |frame, pane| {
            parts.narration(frame, pane, &ctx, tall)
        });
    } else if is_wide(area) {
        // Presenter mode: the narration is what the class reads first, so it gets more room.
        let narration_width = if app.presenter {
            (body.width / 2).clamp(60, 96)
        } else {
            (body.width * 2 / 5).clamp(50, 72)
        };
        let [left, right] =
            Layout::horizontal([Constraint::Length(narration_width), Constraint::Min(0)])
                .areas(body);
        parts.narration(frame, left, &ctx, true);
        wide_panels(frame, right, &ctx);
    } else {
        let narration_share = if app.presenter { 5 } else { 4 };
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(narration_share), Constraint::Fill(3)]).areas(body);
        parts.narration(frame, top, &ctx, false);
        tabbed_panel(frame, bottom, &ctx);
    }
    bars::status(frame, status, status_style, status_lines);
    let mut hint_list = bars::live_hints(&ctx, |a| parts.enabled(a));
    if let Some(auto) = parts.autoplay() {
        // While autoplaying, the next-step key pauses and resumes.
        let word = if auto.paused {
            words::PLAY
        } else {
            words::PAUSE
        };
        for hint in hint_list
            .iter_mut()
            .filter(|h| h.action == Action::NextStep)
        {
            hint.words = word.get(ctx.lang);
        }
    }
    bars::hint_bar(frame, hints, &ctx.theme, hint_list);
    popups::draw(frame, area, &ctx);
}

/// Every panel at once, as on a big screen (the explorer and the lesson player).
fn wide_panels(frame: &mut Frame, right: Rect, ctx: &Ctx) {
    let containers = ctx
        .app
        .shown()
        .and_then(|o| o.snapshot.as_ref())
        .map(|s| {
            s.sandboxes
                .iter()
                .map(|sb| sb.containers.len() + 1)
                .sum::<usize>()
        })
        .unwrap_or(1) as u16;
    let [tree, namespaces, cgroups, bottom] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Length((containers + 4).clamp(6, 12)),
        Constraint::Length((containers + 4).clamp(6, 10)),
        Constraint::Fill(4),
    ])
    .areas(right);
    let [network, events] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(bottom);
    for (focus, area) in [
        (Focus::Processes, tree),
        (Focus::Namespaces, namespaces),
        (Focus::Cgroups, cgroups),
        (Focus::Network, network),
        (Focus::Events, events),
    ] {
        let title = Line::from(format!(" {} ", focus.title().get(ctx.lang)));
        panel(frame, area, ctx, focus, title);
    }
}

/// One panel at a time, its title the row of tabs (Tab moves between them).
pub(super) fn tabbed_panel(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let shown = if ctx.app.focus == Focus::Narration {
        ctx.app.tab
    } else {
        ctx.app.focus
    };
    panel(frame, area, ctx, shown, tab_row(ctx, shown));
}

/// The focused pane alone in all of `body` (`z`): the narration, drawn by `narration`, or a
/// panel under the row of tabs, which Tab moves the zoom along.
pub(super) fn zoomed_body(
    frame: &mut Frame,
    body: Rect,
    ctx: &Ctx,
    narration: impl FnOnce(&mut Frame, Rect),
) {
    match ctx.app.focus {
        Focus::Narration => narration(frame, body),
        focus => panel(frame, body, ctx, focus, tab_row(ctx, focus)),
    }
}

/// The panels' names as tabs: the shown one in brackets and reversed.
fn tab_row(ctx: &Ctx, shown: Focus) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for f in &Focus::ALL[1..] {
        let name = f.title().get(ctx.lang);
        if *f == shown {
            spans.push(Span::styled(format!("[{name}]"), ctx.theme.selected));
        } else {
            spans.push(Span::styled(format!(" {name} "), ctx.theme.dim));
        }
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn panel(frame: &mut Frame, area: Rect, ctx: &Ctx, focus: Focus, title: Line) {
    let focused = ctx.app.focus == focus;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            ctx.theme.border_focused
        } else {
            ctx.theme.border
        })
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match focus {
        Focus::Processes => panels::processes(ctx, inner.width),
        Focus::Namespaces => panels::namespaces(ctx, inner.width),
        Focus::Network => panels::network(ctx, inner.width),
        Focus::Cgroups => panels::cgroups(ctx, inner.width),
        Focus::Events => panels::events(ctx, inner.width, inner.height),
        Focus::Narration => Vec::new(),
    };
    // Events scroll back from the newest themselves.
    let scroll = if focus == Focus::Events {
        0
    } else {
        ctx.app.scroll[focus.index()].min(lines.len().saturating_sub(1) as u16)
    };
    let hidden_below = lines.len() as u16 > scroll + inner.height;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    if hidden_below {
        more_below(frame, area, ctx);
    }
}

/// A mark on the bottom border of a pane whose text goes on below (PgDn shows it).
pub(crate) fn more_below(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let text = format!(
        " ↓ PgDn {} ",
        crate::tui::words::tr(ctx.lang, "more", "更多")
    );
    let width = unicode_width::UnicodeWidthStr::width(text.as_str()) as u16;
    if area.width < width + 4 || area.height < 2 {
        return;
    }
    let at = Rect::new(
        area.x + area.width - width - 2,
        area.y + area.height - 1,
        width,
        1,
    );
    frame.render_widget(Paragraph::new(Span::styled(text, ctx.theme.dim)), at);
}
