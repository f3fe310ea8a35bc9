//! Wrapping text by display width: Chinese characters are two columns wide and may break
//! anywhere; Latin words break at spaces (or anywhere when a word is wider than the line).

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Lines of at most `width` display columns. Existing newlines are kept.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        wrap_paragraph(paragraph, width, &mut lines);
    }
    lines
}

fn is_wide(ch: char) -> bool {
    ch.width().unwrap_or(0) > 1
}

/// Chinese punctuation that should not start a line.
fn no_line_start(ch: char) -> bool {
    matches!(
        ch,
        '，' | '。' | '、' | '；' | '：' | '！' | '？' | '）' | '」' | '』' | '”' | '’' | '…'
    )
}

/// Split into pieces that may not be broken: a Latin word with its trailing spaces, or one
/// wide character (with following closing punctuation glued to it).
fn pieces(paragraph: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for ch in paragraph.chars() {
        if is_wide(ch) {
            if no_line_start(ch) {
                if let Some(last) = out.last_mut().filter(|_| current.is_empty()) {
                    last.push(ch);
                } else {
                    current.push(ch);
                }
                continue;
            }
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            out.push(ch.to_string());
            in_space = false;
            continue;
        }
        if ch == ' ' {
            in_space = true;
            current.push(ch);
            continue;
        }
        if in_space && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        in_space = false;
        current.push(ch);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn wrap_paragraph(paragraph: &str, width: usize, lines: &mut Vec<String>) {
    let mut line = String::new();
    for piece in pieces(paragraph) {
        // The line's trailing space is printed before the piece: count it.
        let line_w = line.width();
        if line_w + piece.trim_end().width() <= width {
            line.push_str(&piece);
            continue;
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        if piece.trim_end().width() <= width {
            line.push_str(piece.trim_start_matches(' '));
            continue;
        }
        // A word wider than the line: break it by characters.
        for ch in piece.chars() {
            let w = ch.width().unwrap_or(0);
            if line.width() + w > width {
                lines.push(line.trim_end().to_string());
                line.clear();
            }
            line.push(ch);
        }
    }
    lines.push(line.trim_end().to_string());
}

/// Cut to `width` columns with "…", or pad with spaces to exactly `width` columns.
pub fn fit(text: &str, width: usize) -> String {
    let cut = crate::present::text::truncate(text, width);
    let pad = width.saturating_sub(cut.width());
    format!("{cut}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_breaks_at_spaces() {
        assert_eq!(
            wrap("the quick brown fox jumps", 10),
            vec!["the quick", "brown fox", "jumps"]
        );
    }

    #[test]
    fn chinese_breaks_by_width_and_keeps_punctuation_attached() {
        let lines = wrap("等待中的进程，exec 成 pause。", 8);
        for l in &lines {
            assert!(l.width() <= 8, "{l:?} is wider than 8");
            assert!(!l.starts_with('，') && !l.starts_with('。'), "{lines:?}");
        }
        assert_eq!(
            lines.concat().replace(' ', ""),
            "等待中的进程，exec成pause。"
        );
    }

    #[test]
    fn the_space_before_a_word_counts() {
        assert_eq!(wrap("ab cd", 4), vec!["ab", "cd"]);
        assert_eq!(wrap("ab cd", 5), vec!["ab cd"]);
    }

    #[test]
    fn long_words_are_cut() {
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn newlines_and_empty_text() {
        assert_eq!(wrap("a\n\nb", 5), vec!["a", "", "b"]);
        assert_eq!(wrap("", 5), vec![""]);
    }

    #[test]
    fn fit_pads_and_cuts_by_width() {
        assert_eq!(fit("网络", 6), "网络  ");
        assert_eq!(fit("网络命名空间", 5), "网络…");
    }
}
