//! A lesson's card and close: what it teaches (objectives), how long it takes, how hard it
//! is (shown on the lesson list), and the recap shown when every step is done. Every field
//! is optional in the file; `podlab lessons check` asks the shipped lessons for all of them.

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Text};

/// How hard a lesson is, as the lesson list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Beginner,
    Intermediate,
    Advanced,
}

impl Difficulty {
    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Difficulty::Beginner => lang.pick("beginner", "入门"),
            Difficulty::Intermediate => lang.pick("intermediate", "进阶"),
            Difficulty::Advanced => lang.pick("advanced", "高级"),
        }
    }
}

/// The lesson's close: what the learner saw, and what to try next on their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recap {
    #[serde(default)]
    pub seen: Vec<Text>,
    #[serde(default)]
    pub next: Vec<Text>,
}

/// The card of a lesson as the list shows it: `≈ 10 min · beginner`.
pub fn card_line(minutes: Option<u32>, difficulty: Option<Difficulty>, lang: Lang) -> String {
    let mut parts = Vec::new();
    if let Some(m) = minutes {
        parts.push(match lang {
            Lang::En => format!("≈ {m} min"),
            Lang::Zh => format!("约 {m} 分钟"),
        });
    }
    if let Some(d) = difficulty {
        parts.push(d.name(lang).to_string());
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_line_reads_in_both_languages() {
        assert_eq!(
            card_line(Some(10), Some(Difficulty::Beginner), Lang::En),
            "≈ 10 min · beginner"
        );
        assert_eq!(
            card_line(Some(10), Some(Difficulty::Beginner), Lang::Zh),
            "约 10 分钟 · 入门"
        );
        assert_eq!(card_line(None, None, Lang::En), "");
    }
}
