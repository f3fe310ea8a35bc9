//! Learner-visible text in English and Chinese.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The string for this language.
    pub const fn pick(self, en: &'static str, zh: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// Ask a yes/no question on the terminal (stderr, then a line of stdin); an empty answer
    /// is `default`, and the end of input (a closed terminal) is no answer, never a yes.
    pub fn ask(question: &str, default: bool) -> std::io::Result<bool> {
        use std::io::Write;
        eprint!("{question} ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer)? == 0 {
            return Ok(false);
        }
        Ok(Lang::is_yes(&answer, default))
    }

    /// Whether a typed answer to a yes/no question is yes; an empty answer is `default`.
    pub fn is_yes(answer: &str, default: bool) -> bool {
        match answer.trim() {
            "" => default,
            a => matches!(
                a.to_lowercase().as_str(),
                "y" | "yes" | "是" | "好" | "是的" | "要"
            ),
        }
    }

    /// The language from `LANG`/`LC_ALL`/`LC_MESSAGES`: Chinese when it starts with `zh`.
    pub fn from_env() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var) {
                if !v.is_empty() {
                    return if v.starts_with("zh") {
                        Lang::Zh
                    } else {
                        Lang::En
                    };
                }
            }
        }
        Lang::En
    }
}

/// A text in both languages (and only those: a third key is a mistake to point at, not to drop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// This text, then `more` (each language its own).
    pub fn followed_by(mut self, more: Text) -> Text {
        self.en.push_str(&more.en);
        self.zh.push_str(&more.zh);
        self
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh if self.zh.is_empty() => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    /// Asked in Chinese, a yes in Chinese counts; an empty answer takes the default.
    #[test]
    fn yes_answers_in_both_languages() {
        assert!(Lang::is_yes("是\n", false));
        assert!(Lang::is_yes("Y", false));
        assert!(Lang::is_yes("", true));
        assert!(!Lang::is_yes("", false));
        assert!(!Lang::is_yes("n", true));
        assert!(!Lang::is_yes("不", true));
    }
}
