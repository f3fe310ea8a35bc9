//! Screens drawn on ratatui's `TestBackend`, as text that tests compare and snapshot.

use std::time::Instant;

use podlab::tui::app::App;
use podlab::tui::lesson_player::Player;
use podlab::tui::ui;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use unicode_width::UnicodeWidthStr;

/// One line per row, a wide character once (its second cell skipped), trailing spaces removed.
pub fn text_of(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(cell.symbol());
            skip = cell.symbol().width().saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The explorer's screen.
pub fn app_screen(app: &App, width: u16, height: u16, now: Instant) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| ui::draw(f, app, now))
        .expect("draw on the test backend");
    text_of(terminal.backend().buffer())
}

/// The lesson player's screen.
pub fn player_screen(player: &Player, width: u16, height: u16, now: Instant) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| ui::draw_player(f, player, now))
        .expect("draw on the test backend");
    text_of(terminal.backend().buffer())
}

/// Without the title bar (a replay says so) and the key hints (a replay offers fewer keys).
pub fn without_bars(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[1..lines.len().saturating_sub(1)].join("\n")
}
