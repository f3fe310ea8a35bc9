//! What the narration pane steps through. The explorer's script is the engine's own plan, one
//! script step per engine step; a lesson can supply its own steps instead (text-only steps,
//! steps that run several engine steps, checks on what the learner did) without the player
//! changing.

use std::sync::Arc;

use super::observed::Observation;
use crate::i18n::Text;
use crate::kube::steps::StepPlan;

/// A condition on the observed pod that must hold before a script step counts as done.
pub trait StepCheck: Send + Sync {
    /// What the learner should make true, shown while the check fails.
    fn describe(&self) -> Text;
    fn passed(&self, observed: &Observation) -> bool;
}

#[derive(Clone)]
pub struct ScriptStep {
    pub id: String,
    pub title: Text,
    pub explain: Text,
    /// Equivalent shell commands.
    pub commands: Vec<String>,
    pub syscalls: Vec<String>,
    /// How many engine steps must have run once this step is done (a text-only step repeats
    /// the previous step's count).
    pub engine_steps: usize,
    pub checks: Vec<Arc<dyn StepCheck>>,
}

impl std::fmt::Debug for ScriptStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptStep")
            .field("id", &self.id)
            .field("engine_steps", &self.engine_steps)
            .field("checks", &self.checks.len())
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Script {
    pub steps: Vec<ScriptStep>,
}

impl Script {
    /// One script step per engine step, with the engine's own text.
    pub fn from_plan(plan: &[StepPlan]) -> Script {
        Script {
            steps: plan
                .iter()
                .enumerate()
                .map(|(i, p)| ScriptStep {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    explain: p.explain.clone(),
                    commands: p.commands.clone(),
                    syscalls: p.syscalls.clone(),
                    engine_steps: i + 1,
                    checks: Vec::new(),
                })
                .collect(),
        }
    }

    /// How many script steps are done when `engine_done` engine steps have run, for a pod that
    /// was already (partly) built when the script started.
    pub fn done_for_engine(&self, engine_done: usize) -> usize {
        self.steps
            .iter()
            .take_while(|s| s.engine_steps <= engine_done && s.checks.is_empty())
            .count()
    }
}
