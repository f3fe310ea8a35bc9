//! Reading a lesson file through the one YAML door and checking everything it refers to:
//! the manifests (through `spec::load_pod_file`), container names, engine step ids, earlier
//! step ids, and that its text fits the narration pane. Every problem is located
//! `file:line:column`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::i18n::Text;
use crate::kube::resources::POD_PIDS_LIMIT;
use crate::kube::static_pods;
use crate::kube::steps::{self, PlanContext};
use crate::spec::yaml::{self, FieldPath, Location, SourceMap};
use crate::spec::{self, Pod};

use super::refs::{Ref, Who};
use super::schema::{
    Action, Check, DeleteAction, EditPodAction, Fingerprint, LessonFile, StepSpec,
    LESSON_HOST_DIR_PREFIX, OLDEST_SCHEMA_VERSION, SCHEMA_VERSION,
};
use super::text_lint;

mod teaching;

/// The longest id: it names the lesson's progress file.
const MAX_ID_LEN: usize = 63;

/// The longest a lesson waits for a check or a deletion.
const MAX_WAIT_SECONDS: f64 = 600.0;
/// The smallest pids limit a lesson may give its pods: pause, a few containers and an exec.
const MIN_POD_PIDS: i64 = 16;

/// A lesson that passed every check of `podlab lessons check`.
#[derive(Debug, Clone)]
pub struct Lesson {
    pub path: PathBuf,
    pub file: LessonFile,
    /// The lesson's pods, the first being the main one.
    pub pods: Vec<LessonPod>,
}

#[derive(Debug, Clone)]
pub struct LessonPod {
    pub manifest: PathBuf,
    pub pod: Pod,
}

impl Lesson {
    pub fn id(&self) -> &str {
        &self.file.id
    }

    pub fn steps(&self) -> &[StepSpec] {
        &self.file.steps
    }

    /// The name of the lesson's main pod.
    pub fn main_pod(&self) -> &str {
        self.pods
            .first()
            .map(|p| p.pod.metadata.name.as_str())
            .unwrap_or_default()
    }

    /// The pod a step acts on.
    pub fn pod_of<'a>(&'a self, step: &'a StepSpec) -> &'a str {
        step.pod.as_deref().unwrap_or_else(|| self.main_pod())
    }

    pub fn pod_named(&self, name: &str) -> Option<&LessonPod> {
        self.pods.iter().find(|p| p.pod.metadata.name == name)
    }

    /// Whether the lesson's kubelet runs this pod: a step puts its manifest into the
    /// kubelet's directory.
    pub fn is_static(&self, pod: &str) -> bool {
        self.steps()
            .iter()
            .any(|s| matches!(s.action, Action::PutManifest(_)) && self.pod_of(s) == pod)
    }

    /// The name a pod of the lesson runs under: kubelet names a static pod NAME-<node>.
    pub fn live_name(&self, pod: &str) -> String {
        if self.is_static(pod) {
            static_pods::static_pod_name(pod, &static_pods::node_name())
        } else {
            pod.to_string()
        }
    }
}

/// One thing wrong with a lesson file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonProblem {
    pub location: Location,
    pub message: String,
}

/// Why a lesson cannot be used: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonError {
    pub problems: Vec<LessonProblem>,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for LessonError {}

/// Reads and checks a lesson file.
pub fn load_lesson(path: &Path) -> Result<Lesson, LessonError> {
    let text = yaml::read_text_file(path).map_err(file_error)?;
    parse_lesson(&text, path)
}

fn file_error(e: yaml::YamlError) -> LessonError {
    LessonError {
        problems: vec![LessonProblem {
            location: e.location.clone(),
            message: lesson_wording(e),
        }],
    }
}

/// Checks the text of the lesson file at `path` (its manifests are read relative to it).
pub fn parse_lesson(text: &str, path: &Path) -> Result<Lesson, LessonError> {
    let source = path.display().to_string();
    let document = yaml::Document::parse(text, &source).map_err(file_error)?;
    if !document.source_map().root_is_mapping() {
        return Err(LessonError {
            problems: vec![LessonProblem {
                location: document.source_map().locate_field(&FieldPath::root()),
                message: "a lesson is a mapping of fields (schema: 1, id, title, summary, \
                          manifest, steps), not a list or a single value"
                    .into(),
            }],
        });
    }
    let located = document.deserialize::<LessonFile>().map_err(file_error)?;
    let mut checker = Checker {
        map: &located.source_map,
        source: text,
        problems: Vec::new(),
        schema: 0,
        tasks: HashMap::new(),
        pod_texts: HashMap::new(),
        kubelet: None,
        static_pods: HashSet::new(),
        files: HashMap::new(),
        network: located.value.options.network,
        owns: located.value.owns.is_some(),
        try_lines: 0,
    };
    let file = located.value;
    let base = path.parent().unwrap_or(Path::new("."));
    let pods = checker.pods(&file, base);
    checker.lesson(&file, &pods);
    if checker.problems.is_empty() {
        Ok(Lesson {
            path: path.to_path_buf(),
            file,
            pods,
        })
    } else {
        checker
            .problems
            .sort_by_key(|p| (p.location.line, p.location.column));
        Err(LessonError {
            problems: checker.problems,
        })
    }
}

/// The YAML door speaks of manifests; say what a lesson author needs instead.
fn lesson_wording(e: yaml::YamlError) -> String {
    use yaml::YamlErrorKind as Kind;
    let expected = match e.kind {
        Kind::Empty => Some("a lesson (schema: 1, id, title, summary, manifest, steps)".into()),
        Kind::TooLarge => Some("a lesson file of at most 1 MiB".into()),
        Kind::MultipleDocuments => {
            Some("exactly one document: put each lesson in its own file".into())
        }
        Kind::TooDeep => Some("a lesson nested at most a few levels".into()),
        Kind::TooManyNodes => Some("a small lesson; aliases that multiply are refused".into()),
        Kind::Type if e.expected.as_deref() == Some("a mapping (Text)") => {
            Some("a text in both languages, e.g. {en: Create the pod, zh: 创建 Pod}".into())
        }
        _ => e.expected,
    };
    let mut message = match &e.path {
        Some(path) if !path.is_root() => format!("{path}: {}", e.message),
        _ => e.message,
    };
    if let Some(expected) = expected {
        message.push_str(&format!("; expected {expected}"));
    }
    if let Some(hint) = e.hint {
        message.push_str(&format!("\n  hint: {hint}"));
    }
    message
}

mod learner;

struct Checker<'a> {
    map: &'a SourceMap,
    /// The lesson's text, to point at a placeholder inside a line.
    source: &'a str,
    problems: Vec<LessonProblem>,
    /// The lesson's schema version.
    schema: u32,
    /// Task ids of the steps so far, each with its step's index.
    tasks: HashMap<String, usize>,
    /// The step pods' manifests as `replace_pod` actions so far leave them: name → text.
    pod_texts: HashMap<String, String>,
    /// The step id whose action starts the lesson's kubelet, once it is seen.
    kubelet: Option<String>,
    /// Pods whose manifest a step puts into the kubelet's directory.
    static_pods: HashSet<String>,
    /// The kubelet directory's files as the steps so far leave them: name → (pod, text).
    files: HashMap<String, (String, String)>,
    /// The lesson's pods have a pod network (`options.network`): `{ip}` names something.
    network: bool,
    /// The lesson owns a prefix (`owns:`): `{owned:…}`, `owned` checks and `try_line`
    /// solutions name something.
    owns: bool,
    /// How many `try:` lines the step being checked has.
    try_lines: usize,
}

fn path_of(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

impl Checker<'_> {
    fn problem(&mut self, at: &str, message: impl Into<String>) {
        self.problems.push(LessonProblem {
            location: self.map.locate_field(&path_of(at)),
            message: message.into(),
        });
    }

    fn pods(&mut self, file: &LessonFile, base: &Path) -> Vec<LessonPod> {
        let mut pods = Vec::new();
        let manifests = std::iter::once(("manifest".to_string(), &file.manifest)).chain(
            file.extra_manifests
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("extra_manifests[{i}]"), m)),
        );
        for (at, manifest) in manifests {
            let full = base.join(manifest);
            match spec::load_pod_file(&full) {
                Ok(loaded) => {
                    if pods
                        .iter()
                        .any(|p: &LessonPod| p.pod.metadata.name == loaded.pod.metadata.name)
                    {
                        self.problem(&at, "two manifests of this lesson name the same pod");
                    }
                    pods.push(LessonPod {
                        manifest: full,
                        pod: loaded.pod,
                    });
                }
                Err(e) => self.problem(
                    &at,
                    format!(
                        "the manifest {} is not a valid pod:\n  {}",
                        full.display(),
                        e.render(crate::i18n::Lang::En).replace('\n', "\n  ")
                    ),
                ),
            }
        }
        pods
    }

    fn lesson(&mut self, file: &LessonFile, pods: &[LessonPod]) {
        if !(OLDEST_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&file.schema) {
            self.problem(
                "schema",
                format!(
                    "schema {} is not supported; this podlab reads schemas \
                     {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}",
                    file.schema
                ),
            );
        }
        if file.id.is_empty()
            || !file
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.problem("id", "a lesson id uses only a-z, 0-9 and '-'");
        } else if file.id.len() > MAX_ID_LEN {
            // Progress is saved in a file named after the id.
            self.problem(
                "id",
                format!("a lesson id has at most {MAX_ID_LEN} characters; shorten it"),
            );
        }
        self.text("title", &file.title, true);
        self.text("summary", &file.summary, false);
        if let Some(problem) = file.owns.as_ref().and_then(|o| o.problem()) {
            self.problem("owns.prefix", problem);
        }
        if !(file.options.time_scale > 0.0 && file.options.time_scale <= 1.0) {
            self.problem("options.time_scale", "time_scale must be in (0, 1]");
        }
        self.timeout(
            "options.check_timeout_seconds",
            Some(file.options.check_timeout_seconds),
        );
        if let Some(pids) = file.options.pod_pids_limit {
            // A pod needs room for pause, its containers and an exec; above podlab's own
            // limit a lesson would lift what every other pod has.
            if !(MIN_POD_PIDS..=POD_PIDS_LIMIT).contains(&pids) {
                self.problem(
                    "options.pod_pids_limit",
                    format!(
                        "{pids} is not a pids limit for a lesson's pods; give \
                         {MIN_POD_PIDS} to {POD_PIDS_LIMIT}"
                    ),
                );
            }
        }
        if file.steps.is_empty() {
            self.problem("steps", "a lesson needs at least one step");
        }
        self.schema = file.schema;
        let Some(main) = pods.first() else { return };
        let main_name = main.pod.metadata.name.clone();
        self.static_pods = file
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::PutManifest(_)))
            .map(|s| s.pod.clone().unwrap_or_else(|| main_name.clone()))
            .collect();
        for (old, now) in &file.formerly.steps {
            if file.steps.iter().any(|s| &s.id == old) {
                self.problem(
                    &format!("formerly.steps.{old}"),
                    format!("{old:?} is a step of the lesson now, not a former one"),
                );
            }
            for id in now
                .iter()
                .filter(|id| !file.steps.iter().any(|s| &s.id == *id))
            {
                self.problem(
                    &format!("formerly.steps.{old}"),
                    format!("the lesson has no step {id:?}: name the steps that replaced {old:?}"),
                );
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, step) in file.steps.iter().enumerate() {
            let at = format!("steps[{i}]");
            if step.id.is_empty() || step.id.contains(char::is_whitespace) {
                self.problem(&format!("{at}.id"), "a step id is one word");
            }
            if !seen.insert(&step.id) {
                self.problem(
                    &format!("{at}.id"),
                    format!(
                        "step id {:?} is used twice; give each step its own id",
                        step.id
                    ),
                );
            }
            self.text(&format!("{at}.title"), &step.title, true);
            self.text(&format!("{at}.body"), &step.body, false);
            if let Some(simplified) = &step.simplified {
                self.text(&format!("{at}.simplified"), simplified, false);
            }
            self.timeout(&format!("{at}.timeout_seconds"), step.timeout_seconds);
            for (c, command) in step.commands.iter().enumerate() {
                if let Some(msg) = text_lint::too_wide_line(command) {
                    self.problem(&format!("{at}.commands[{c}]"), msg);
                }
            }
            self.try_lines = step.try_lines.len();
            let pod_name = step.pod.clone().unwrap_or_else(|| main_name.clone());
            let Some(pod) = pods.iter().find(|p| p.pod.metadata.name == pod_name) else {
                self.problem(
                    &format!("{at}.pod"),
                    format!("no pod of this lesson is named {pod_name:?}"),
                );
                continue;
            };
            self.action(
                &format!("{at}.action"),
                &step.action,
                pod,
                pods,
                file.options.network,
            );
            self.static_action(&at, step, pod);
            if let Some(check) = &step.check {
                self.check(&format!("{at}.check"), check, &pod_name, pods, &seen);
            }
            self.learner(i, step, pod, pods, &seen);
            self.teaching_step(&at, step, &pod_name, pods, &seen, file.options.network);
        }
        self.card(file);
    }

    /// A check is polled at most this long: a lesson never waits for more than minutes.
    fn timeout(&mut self, at: &str, seconds: Option<f64>) {
        if let Some(seconds) = seconds {
            if !(seconds > 0.0 && seconds <= MAX_WAIT_SECONDS) {
                self.problem(
                    at,
                    format!(
                        "{seconds:?} is not a timeout podlab can wait; give seconds above 0, \
                         at most {MAX_WAIT_SECONDS}"
                    ),
                );
            }
        }
    }

    fn text(&mut self, at: &str, text: &Text, one_line: bool) {
        for (lang, value) in [("en", &text.en), ("zh", &text.zh)] {
            let field = format!("{at}.{lang}");
            if value.trim().is_empty() {
                self.problem(&field, "this text is empty; write it in both en and zh");
                continue;
            }
            if one_line {
                if let Some(msg) = text_lint::too_wide_line(value) {
                    self.problem(&field, msg);
                }
            } else if let Some(msg) = text_lint::too_wide_word(value) {
                self.problem(&field, msg);
            }
            if lang == "zh" {
                if let Some(msg) =
                    text_lint::chinese_spacing(value).or_else(|| text_lint::ascii_quotes(value))
                {
                    self.problem(&field, msg);
                }
            }
        }
    }

    fn action(
        &mut self,
        field: &str,
        action: &Action,
        pod: &LessonPod,
        pods: &[LessonPod],
        network: bool,
    ) {
        let name = pod.pod.metadata.name.as_str();
        match action {
            Action::RunTo(step) => {
                let ctx = PlanContext {
                    cgroup_v2: false,
                    pod_network: network,
                    rootless: None,
                    pod_max_pids: None,
                };
                let ids: Vec<String> = steps::plan(&pod.pod, ctx)
                    .into_iter()
                    .map(|s| s.id)
                    .collect();
                if step.starts_with("pull:") {
                    // Lessons run offline on the stand-ins: nothing is pulled.
                    self.problem(
                        &format!("{field}.run_to"),
                        format!(
                            "pod {name} has no creation step {step:?}: lessons run offline on podlab's stand-ins, so no image is pulled; its steps: {}",
                            ids.join(", ")
                        ),
                    );
                } else if !ids.contains(step) {
                    self.problem(
                        &format!("{field}.run_to"),
                        format!(
                            "pod {name} has no creation step {step:?}; its steps: {}",
                            ids.join(", ")
                        ),
                    );
                }
            }
            Action::Exec(exec) => {
                self.container(
                    &format!("{field}.exec.container"),
                    &exec.container,
                    name,
                    pods,
                    false,
                );
                if exec.command.is_empty() {
                    self.problem(&format!("{field}.exec.command"), "the command is empty");
                }
                for (i, arg) in exec.command.iter().enumerate() {
                    self.placeholders(&format!("{field}.exec.command[{i}]"), arg, name, pods);
                }
            }
            Action::Signal(signal) => {
                self.container(
                    &format!("{field}.signal.container"),
                    &signal.container,
                    name,
                    pods,
                    true,
                );
                // Lessons are checked only where they can be played; a replay build has no
                // signals to send.
                #[cfg(podlab_host)]
                if super::runner::parse_signal(&signal.signal).is_none() {
                    self.problem(
                        &format!("{field}.signal.signal"),
                        format!(
                            "{:?} is not a signal name (TERM, KILL, INT, …)",
                            signal.signal
                        ),
                    );
                }
            }
            Action::Delete(DeleteAction {
                grace_seconds: Some(grace),
            }) if !(0..=MAX_WAIT_SECONDS as i64).contains(grace) => {
                self.problem(
                    &format!("{field}.delete.grace_seconds"),
                    format!(
                        "a grace period of {grace} seconds; give 0 to {MAX_WAIT_SECONDS} \
                         seconds (or leave it out for the pod's own)"
                    ),
                );
            }
            Action::Sleep(seconds) if !(0.0..=60.0).contains(seconds) => {
                self.problem(&format!("{field}.sleep"), "sleep between 0 and 60 seconds");
            }
            Action::Read
            | Action::RunAll
            | Action::Delete(_)
            | Action::Recreate
            | Action::Sleep(_)
            | Action::Kubelet(_)
            | Action::PutManifest(_)
            | Action::EditManifest(_)
            | Action::RemoveManifest(_) => {}
            Action::ReplacePod(edit) => {
                self.replace_pod(&format!("{field}.replace_pod"), edit, pod)
            }
            Action::TryLine(line) => {
                if !self.owns {
                    self.problem(
                        &format!("{field}.try_line"),
                        "a try line runs on the host only in a lesson that owns what it makes \
                         (owns: {prefix: podlab-…})",
                    );
                } else if *line >= self.try_lines {
                    self.problem(
                        &format!("{field}.try_line"),
                        format!(
                            "the step has {} try line(s): try_line {line} names none",
                            self.try_lines
                        ),
                    );
                }
            }
        }
    }

    /// The actions about the lesson's kubelet and its directory: a kubelet starts once, in
    /// a lesson-owned directory, before any file is put into it; files are plain manifest
    /// names; an edit finds its text and leaves a valid manifest of the same pod.
    fn static_action(&mut self, at: &str, step: &StepSpec, pod: &LessonPod) {
        let name = pod.pod.metadata.name.clone();
        match &step.action {
            Action::Kubelet(kubelet) => {
                let field = format!("{at}.action.kubelet.manifests");
                let dir = Path::new(&kubelet.manifests);
                let owned = kubelet.manifests.starts_with(LESSON_HOST_DIR_PREFIX)
                    && dir.is_absolute()
                    && !dir
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir));
                if !owned {
                    self.problem(
                        &field,
                        format!(
                            "the kubelet's directory must be below {LESSON_HOST_DIR_PREFIX} \
                             (the lesson removes it at the end)"
                        ),
                    );
                }
                if let Some(first) = &self.kubelet {
                    self.problem(
                        &format!("{at}.action.kubelet"),
                        format!("the lesson's kubelet already starts at step {first:?}"),
                    );
                } else {
                    self.kubelet = Some(step.id.clone());
                }
            }
            Action::PutManifest(put) => {
                let field = format!("{at}.action.put_manifest");
                if self.needs_kubelet(&field) && self.file_name(&format!("{field}.file"), &put.file)
                {
                    match yaml::read_text_file(&pod.manifest) {
                        Ok(text) => {
                            self.files.insert(put.file.clone(), (name, text));
                        }
                        Err(e) => self.problem(&field, format!("cannot read the manifest: {e}")),
                    }
                }
            }
            Action::EditManifest(edit) => {
                let field = format!("{at}.action.edit_manifest");
                if !self.needs_kubelet(&field)
                    || !self.file_name(&format!("{field}.file"), &edit.file)
                {
                    return;
                }
                let Some((owner, text)) = self.files.get(&edit.file).cloned() else {
                    self.problem(
                        &format!("{field}.file"),
                        format!(
                            "no earlier step puts {:?} into the kubelet's directory",
                            edit.file
                        ),
                    );
                    return;
                };
                let edit_spec = EditPodAction {
                    replace: edit.replace.clone(),
                    with: edit.with.clone(),
                };
                if let Some(edited) =
                    self.edited_text(&field, &edit.file, &edit.file, &owner, &text, &edit_spec)
                {
                    self.files.insert(edit.file.clone(), (owner, edited));
                }
            }
            Action::RemoveManifest(remove) => {
                let field = format!("{at}.action.remove_manifest");
                if self.needs_kubelet(&field)
                    && self.file_name(&format!("{field}.file"), &remove.file)
                    && self.files.remove(&remove.file).is_none()
                {
                    self.problem(
                        &format!("{field}.file"),
                        format!(
                            "{:?} is not in the kubelet's directory at this step",
                            remove.file
                        ),
                    );
                }
            }
            Action::RunTo(_) | Action::RunAll | Action::Recreate | Action::ReplacePod(_)
                if self.static_pods.contains(&name) =>
            {
                self.problem(
                    &format!("{at}.action"),
                    format!(
                        "pod {name} is a static pod: the lesson's kubelet runs it from its file \
                         (put_manifest), not run_to, run_all, recreate or replace_pod"
                    ),
                );
            }
            _ => {}
        }
    }

    /// `text` (of pod `owner`, called `what` in messages, `source` in a manifest's errors)
    /// after `edit`: it must contain the text to replace and stay a valid manifest of the
    /// same pod.
    fn edited_text(
        &mut self,
        field: &str,
        what: &str,
        source: &str,
        owner: &str,
        text: &str,
        edit: &EditPodAction,
    ) -> Option<String> {
        if edit.replace.is_empty() || !text.contains(&edit.replace) {
            self.problem(
                &format!("{field}.replace"),
                format!("{what} does not contain {:?}", edit.replace),
            );
            return None;
        }
        let edited = text.replace(&edit.replace, &edit.with);
        match spec::parse_pod(&edited, source) {
            Ok(loaded) if loaded.pod.metadata.name == owner => return Some(edited),
            Ok(loaded) => self.problem(
                &format!("{field}.with"),
                format!(
                    "the edit renames pod {owner} to {}: its steps would lose it",
                    loaded.pod.metadata.name
                ),
            ),
            Err(e) => self.problem(
                &format!("{field}.with"),
                format!(
                    "after this edit {what} is not a valid pod:\n  {}",
                    e.render(crate::i18n::Lang::En).replace('\n', "\n  ")
                ),
            ),
        }
        None
    }

    /// A kubelet started at an earlier step (or this one).
    fn needs_kubelet(&mut self, at: &str) -> bool {
        if self.kubelet.is_some() {
            return true;
        }
        self.problem(
            at,
            "no kubelet runs yet: start one at an earlier step with \
             `action: {kubelet: {manifests: DIR}}`",
        );
        false
    }

    /// A manifest file name the kubelet reads.
    fn file_name(&mut self, at: &str, file: &str) -> bool {
        if file.contains('/') || !static_pods::is_manifest_name(file) {
            self.problem(
                at,
                format!(
                    "{file:?} is not a file the kubelet reads: a plain name ending in .yaml, \
                     .yml or .json, not starting with '.'"
                ),
            );
            return false;
        }
        true
    }

    /// A reference to a container (or `pause` when `pause_ok`).
    fn container(
        &mut self,
        at: &str,
        text: &str,
        default_pod: &str,
        pods: &[LessonPod],
        pause_ok: bool,
    ) {
        let r = Ref::parse(text, default_pod);
        let allowed = |who: &Who| match who {
            Who::Pause => pause_ok,
            Who::Container(_) => true,
            _ => false,
        };
        if !allowed(&r.who) {
            self.problem(at, format!("{text:?} is not a container here"));
            return;
        }
        self.subject(at, &r, pods);
    }

    /// `r` names a pod of the lesson and, for a container, one of its containers.
    fn subject(&mut self, at: &str, r: &Ref, pods: &[LessonPod]) {
        let Some(pod) = pods.iter().find(|p| p.pod.metadata.name == r.pod) else {
            self.problem(at, format!("no pod of this lesson is named {:?}", r.pod));
            return;
        };
        if let Who::Container(name) = &r.who {
            let spec = &pod.pod.spec;
            let names = spec.container_names();
            if !names.contains(&name.as_str()) {
                self.problem(
                    at,
                    format!(
                        "pod {} has no container {name:?}; its containers: {}",
                        r.pod,
                        names.join(", ")
                    ),
                );
            }
        }
    }

    fn any_ref(&mut self, at: &str, text: &str, pod: &str, pods: &[LessonPod]) {
        let r = Ref::parse(text, pod);
        self.subject(at, &r, pods);
    }

    fn check(
        &mut self,
        at: &str,
        check: &Check,
        pod: &str,
        pods: &[LessonPod],
        earlier: &HashSet<&str>,
    ) {
        match check {
            Check::All(checks) => {
                for (i, c) in checks.iter().enumerate() {
                    self.check(&format!("{at}.all[{i}]"), c, pod, pods, earlier);
                }
            }
            Check::Owned(c) => {
                if !self.owns {
                    self.problem(
                        &format!("{at}.owned"),
                        "an owned check needs the lesson to own a prefix (owns: {prefix: podlab-…})",
                    );
                }
                let any = c.cgroup
                    || c.pids_max.is_some()
                    || c.holder
                    || c.in_cgroup
                    || c.interface.is_some()
                    || c.joined.is_some()
                    || c.recognized;
                if !any {
                    self.problem(
                        &format!("{at}.owned"),
                        "say what to check (cgroup, holder, …)",
                    );
                }
                if c.ipv4 && c.interface.is_none() {
                    self.problem(
                        &format!("{at}.owned.ipv4"),
                        "ipv4 is about an interface: name it",
                    );
                }
            }
            Check::Namespace(c) => {
                self.any_ref(&format!("{at}.namespace.a"), &c.a, pod, pods);
                self.any_ref(&format!("{at}.namespace.b"), &c.b, pod, pods);
                if c.kinds.is_empty() {
                    self.problem(&format!("{at}.namespace.kinds"), "name at least one kind");
                }
            }
            Check::Ip(c) => {
                self.any_ref(&format!("{at}.ip.a"), &c.a, pod, pods);
                self.any_ref(&format!("{at}.ip.b"), &c.b, pod, pods);
            }
            Check::Interface(c) => {
                self.any_ref(&format!("{at}.interface.target"), &c.target, pod, pods)
            }
            Check::File(c) => {
                self.container(
                    &format!("{at}.file.container"),
                    &c.container,
                    pod,
                    pods,
                    false,
                );
                for (field, text) in [("contains", &c.contains), ("equals", &c.equals)] {
                    if let Some(text) = text {
                        self.placeholders(&format!("{at}.file.{field}"), text, pod, pods);
                    }
                }
            }
            Check::HostFile(c) => {
                self.placeholders(&format!("{at}.host_file.path"), &c.path, pod, pods);
                if let Some(text) = &c.contains {
                    self.placeholders(&format!("{at}.host_file.contains"), text, pod, pods);
                }
            }
            Check::Http(c) => {
                self.container(&format!("{at}.http.from"), &c.from, pod, pods, false);
                self.placeholders(&format!("{at}.http.url"), &c.url, pod, pods);
            }
            Check::Exec(c) => {
                self.container(
                    &format!("{at}.exec.container"),
                    &c.container,
                    pod,
                    pods,
                    false,
                );
                for (i, arg) in c.command.iter().enumerate() {
                    self.placeholders(&format!("{at}.exec.command[{i}]"), arg, pod, pods);
                }
            }
            Check::Cgroup(c) => {
                self.any_ref(&format!("{at}.cgroup.target"), &c.target, pod, pods);
                for (field, value) in [
                    ("cpu_request", &c.cpu_request),
                    ("cpu_limit", &c.cpu_limit),
                    ("memory_limit", &c.memory_limit),
                ] {
                    if let Some(v) = value {
                        if v != "none" && spec::Quantity::parse(v).is_err() {
                            self.problem(
                                &format!("{at}.cgroup.{field}"),
                                format!("{v:?} is not a Kubernetes quantity (100m, 128Mi, none)"),
                            );
                        }
                    }
                }
            }
            Check::Container(c) => {
                self.container(&format!("{at}.container.name"), &c.name, pod, pods, false)
            }
            Check::Processes(c) => {
                self.any_ref(&format!("{at}.processes.target"), &c.target, pod, pods)
            }
            Check::Process(c) => {
                self.any_ref(&format!("{at}.process.target"), &c.target, pod, pods);
                if let Some(other) = &c.started_before {
                    self.any_ref(&format!("{at}.process.started_before"), other, pod, pods);
                }
            }
            Check::Listener(c) => self.container(
                &format!("{at}.listener.container"),
                &c.container,
                pod,
                pods,
                false,
            ),
            Check::Logs(c) => {
                self.container(
                    &format!("{at}.logs.container"),
                    &c.container,
                    pod,
                    pods,
                    false,
                );
                self.placeholders(&format!("{at}.logs.contains"), &c.contains, pod, pods);
            }
            Check::RanInOrder(names) => {
                for (i, n) in names.iter().enumerate() {
                    self.container(&format!("{at}.ran_in_order[{i}]"), n, pod, pods, false);
                }
            }
            Check::Changed(c) => {
                if !earlier.contains(c.since.as_str()) {
                    self.problem(
                        &format!("{at}.changed.since"),
                        format!("{:?} is not the id of this step or an earlier one", c.since),
                    );
                }
                if let Fingerprint::Container(name) = &c.what {
                    self.container(&format!("{at}.changed.what"), name, pod, pods, false);
                }
            }
            Check::Kubelet(_) => {
                self.needs_kubelet(&format!("{at}.kubelet"));
            }
            Check::StaticPod(c) => {
                if !self.static_pods.contains(pod) {
                    self.problem(
                        &format!("{at}.static_pod"),
                        format!(
                            "pod {pod} is not a static pod: no step puts its manifest into \
                             the kubelet's directory"
                        ),
                    );
                }
                if let Some(file) = &c.file {
                    self.file_name(&format!("{at}.static_pod.file"), file);
                }
            }
            Check::Event(_) | Check::Pod(_) | Check::Deleted(_) => {}
        }
    }
}

/// The directory of the shipped lessons: beside the source tree, or `./lessons`.
pub fn lessons_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PODLAB_LESSONS_DIR") {
        return PathBuf::from(dir);
    }
    let beside_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    if beside_source.is_dir() {
        beside_source
    } else {
        PathBuf::from("lessons")
    }
}

/// The lesson files of `dir`, sorted by name.
pub fn lesson_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A lesson by id (in the lessons directory) or by path.
pub fn find_lesson(id_or_path: &str) -> eyre::Result<Lesson> {
    let as_path = Path::new(id_or_path);
    if as_path.is_file() {
        return load_lesson(as_path).map_err(|e| eyre::eyre!("{e}"));
    }
    let dir = lessons_dir();
    let files = lesson_files(&dir)
        .map_err(|e| eyre::eyre!("failed to list lessons in {}: {e}", dir.display()))?;
    let mut ids = Vec::new();
    for file in files {
        match load_lesson(&file) {
            Ok(lesson)
                if lesson.id() == id_or_path
                    || lesson.file.formerly.ids.iter().any(|id| id == id_or_path) =>
            {
                return Ok(lesson)
            }
            // A number alone picks the lesson whose id starts with it ("1" or "01").
            Ok(lesson)
                if id_or_path.parse::<u32>().is_ok()
                    && lesson
                        .id()
                        .split('-')
                        .next()
                        .and_then(|n| n.parse::<u32>().ok())
                        == id_or_path.parse::<u32>().ok() =>
            {
                return Ok(lesson)
            }
            Ok(lesson) => ids.push(lesson.id().to_string()),
            Err(_) => {}
        }
    }
    Err(eyre::eyre!(
        "no lesson {id_or_path:?} in {}; lessons: {}",
        dir.display(),
        ids.join(", ")
    ))
}
