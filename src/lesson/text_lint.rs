//! Lesson text must fit the narration pane (about 46 columns at 80×24) and Chinese text
//! follows the usual typography: full-width punctuation, a space between Chinese and Latin
//! words or numbers. Widths are display widths: a Chinese character takes two columns.

use unicode_width::UnicodeWidthStr;

/// The narration pane's width at 80×24.
pub const PANE_COLUMNS: usize = 46;

/// A line (a title or a command) wider than the pane.
pub fn too_wide_line(text: &str) -> Option<String> {
    text.lines()
        .map(|line| (line, line.width()))
        .find(|(_, w)| *w > PANE_COLUMNS)
        .map(|(line, w)| {
            format!("{line:?} is {w} columns wide; the narration pane has {PANE_COLUMNS}")
        })
}

/// A word that cannot be wrapped and is wider than the pane. Chinese text wraps between any
/// two characters, so only runs of non-CJK characters count as words.
pub fn too_wide_word(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || is_cjk(c))
        .map(|word| (word, word.width()))
        .find(|(_, w)| *w > PANE_COLUMNS)
        .map(|(word, w)| {
            format!(
                "{word:?} is {w} columns wide and cannot wrap in the {PANE_COLUMNS}-column pane"
            )
        })
}

/// Chinese typography: a Latin letter or digit right next to a Chinese character, or ASCII
/// punctuation right after one.
pub fn chinese_spacing(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for pair in chars.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if (is_han(a) && b.is_ascii_alphanumeric()) || (a.is_ascii_alphanumeric() && is_han(b)) {
            return Some(format!(
                "put a space between {a:?} and {b:?} (Chinese next to a Latin word or number)"
            ));
        }
        if is_han(a) && matches!(b, ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')') {
            return Some(format!(
                "use full-width punctuation after {a:?}: {b:?} → {}",
                full_width(b)
            ));
        }
    }
    None
}

/// Chinese text quotes with “” or 「」, never with ASCII quotes (they read as code on a
/// projector, and a Chinese font draws them half width).
pub fn ascii_quotes(text: &str) -> Option<String> {
    let has_han = text.chars().any(is_han);
    let quote = text.chars().find(|c| matches!(c, '"' | '\''))?;
    has_han.then(|| {
        format!(
            "Chinese text quotes with “” or 「」, not {quote:?}; a command in Chinese text is \
             written without quotes"
        )
    })
}

fn full_width(c: char) -> char {
    match c {
        ',' => '，',
        '.' => '。',
        ';' => '；',
        ':' => '：',
        '!' => '！',
        '?' => '？',
        '(' => '（',
        ')' => '）',
        other => other,
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Characters a line may break around: Han, and CJK punctuation and full-width forms.
fn is_cjk(c: char) -> bool {
    is_han(c) || matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_display_width() {
        assert!(too_wide_line("短标题").is_none());
        assert!(too_wide_line(&"宽".repeat(24)).is_some(), "48 columns");
        assert!(too_wide_line(&"a".repeat(46)).is_none());
    }

    #[test]
    fn long_chinese_wraps_but_long_words_do_not() {
        assert!(too_wide_word(&"中文可以在任意两个字之间换行".repeat(5)).is_none());
        assert!(too_wide_word(&format!("see {}", "x".repeat(47))).is_some());
    }

    #[test]
    fn chinese_typography() {
        assert!(chinese_spacing("pause 是第一个容器，它持有 net 命名空间。").is_none());
        assert!(chinese_spacing("pause是第一个").is_some());
        assert!(chinese_spacing("第1个").is_some());
        assert!(chinese_spacing("容器,进程").is_some());
        assert!(chinese_spacing("看 /dev/shm：两个容器").is_none());
    }

    #[test]
    fn chinese_quotes_are_full_width() {
        assert!(ascii_quotes("容器 \"nginx\"").is_some());
        assert!(ascii_quotes("容器 'nginx'").is_some());
        assert!(ascii_quotes("容器「nginx」和“web”").is_none());
        assert!(ascii_quotes("plain \"English\"").is_none());
    }
}
