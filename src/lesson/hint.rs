//! A step's hints. A plain hint (`{en: …, zh: …}`) is shown when the learner asks (h) or
//! when the step fails; a hint may also carry a condition on the live system (`when:`, any
//! check) and is then shown as soon as that condition holds, or a delay (`after_seconds:`)
//! and is then shown after that long without progress on the step. Both: once both hold.

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Text};

use super::schema::Check;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub en: String,
    pub zh: String,
    /// Shown once this check passes on the live system (like iximiuz Labs' hintcheck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Check>,
    /// Shown after this many seconds without progress on the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seconds: Option<f64>,
}

impl Hint {
    pub fn text(&self) -> Text {
        Text::new(self.en.clone(), self.zh.clone())
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh if !self.zh.is_empty() => &self.zh,
            _ => &self.en,
        }
    }

    /// A hint that comes by itself (on a condition or after a delay), not only when asked.
    pub fn is_automatic(&self) -> bool {
        self.when.is_some() || self.after_seconds.is_some()
    }
}

impl From<Text> for Hint {
    fn from(text: Text) -> Hint {
        Hint {
            en: text.en,
            zh: text.zh,
            when: None,
            after_seconds: None,
        }
    }
}
