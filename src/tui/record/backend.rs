//! A terminal backend of a fixed size that can also feed a recording: what the TUI writes goes
//! to the real terminal and, frame by frame, into an asciicast file. The TUI lays itself out
//! for the fixed size whatever the real terminal's size, so a recording has one size.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

use super::cast::SharedCast;

/// Passes writes on and keeps a copy of them until the frame is flushed.
pub struct Tee<W: Write> {
    out: W,
    captured: Option<Captured>,
}

type Captured = Arc<Mutex<Vec<u8>>>;

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(c) = &self.captured {
            c.lock()
                .map_err(|_| io::Error::other("the frame buffer's lock was poisoned"))?
                .extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    /// Only the real terminal is flushed here; the recording takes whole frames (`Backend::flush`).
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// What clears a player's screen and hides its cursor before the first frame.
const CLEAN_START: &str = "\u{1b}[?25l\u{1b}[H\u{1b}[2J";

pub struct FixedBackend<W: Write> {
    inner: CrosstermBackend<Tee<W>>,
    size: Option<Size>,
    cast: Option<(SharedCast, Captured)>,
}

impl<W: Write> FixedBackend<W> {
    /// Draw on `out` at `size` (None: the real terminal's size, which may change), recording
    /// each frame into `cast` if given.
    pub fn new(
        out: W,
        size: Option<Size>,
        cast: Option<SharedCast>,
    ) -> io::Result<FixedBackend<W>> {
        let cast = cast.map(|c| (c, Captured::default()));
        let tee = Tee {
            out,
            captured: cast.as_ref().map(|(_, captured)| Arc::clone(captured)),
        };
        let mut backend = FixedBackend {
            inner: CrosstermBackend::new(tee),
            size,
            cast,
        };
        if backend.cast.is_some() {
            backend.inner.write_all(CLEAN_START.as_bytes())?;
            Backend::flush(&mut backend)?;
        }
        Ok(backend)
    }

    fn record_frame(&mut self) -> io::Result<()> {
        let Some((cast, captured)) = &self.cast else {
            return Ok(());
        };
        let bytes = std::mem::take(
            &mut *captured
                .lock()
                .map_err(|_| io::Error::other("the frame buffer's lock was poisoned"))?,
        );
        if bytes.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        cast.lock()
            .map_err(|_| io::Error::other("the recording's lock was poisoned"))?
            .output(&text)
            .map_err(|e| io::Error::other(format!("{e:#}")))
    }
}

impl<W: Write> Backend for FixedBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        match self.size {
            Some(size) => Ok(size),
            None => self.inner.size(),
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        match self.size {
            Some(size) => Ok(WindowSize {
                columns_rows: size,
                pixels: Size::new(0, 0),
            }),
            None => self.inner.window_size(),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)?;
        self.record_frame()
    }
}

/// `100x30` → 100 columns, 30 rows.
pub fn parse_size(text: &str) -> Result<Size, String> {
    let bad = || format!("{text:?} is not a size like 100x30 (columns x rows)");
    let (w, h) = text.split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let w: u16 = w.trim().parse().map_err(|_| bad())?;
    let h: u16 = h.trim().parse().map_err(|_| bad())?;
    if !(20..=1000).contains(&w) || !(8..=500).contains(&h) {
        return Err(format!(
            "{text:?}: the screen must be 20 to 1000 columns and 8 to 500 rows"
        ));
    }
    Ok(Size::new(w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("100x30"), Ok(Size::new(100, 30)));
        assert_eq!(parse_size("160×48"), Ok(Size::new(160, 48)));
        assert!(parse_size("100").is_err());
        assert!(parse_size("5x5").is_err());
        assert!(parse_size("ax30").is_err());
    }
}
