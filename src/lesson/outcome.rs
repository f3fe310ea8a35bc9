//! What playing a step produced, as values: the player shows them and a trace keeps them, so
//! they build without the machine-touching half of the lesson engine.

use crate::i18n::Text;

/// The result of evaluating a check once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub passed: bool,
    pub message: Text,
}

impl CheckResult {
    pub fn pass(en: impl Into<String>, zh: impl Into<String>) -> CheckResult {
        CheckResult {
            passed: true,
            message: Text::new(en, zh),
        }
    }

    pub fn fail(en: impl Into<String>, zh: impl Into<String>) -> CheckResult {
        CheckResult {
            passed: false,
            message: Text::new(en, zh),
        }
    }
}

/// What an action did, for the narration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOutcome {
    pub summary: Text,
    /// What a command printed, if the action ran one.
    pub output: String,
}

/// One step played: its action, then its check polled until it passed or timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub step: String,
    pub action: ActionOutcome,
    /// None when the step has no check.
    pub check: Option<CheckResult>,
}

impl StepOutcome {
    pub fn passed(&self) -> bool {
        self.check.as_ref().is_none_or(|c| c.passed)
    }
}
