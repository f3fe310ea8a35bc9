//! Progress per lesson, keyed by lesson id and step ids (not positions), in the XDG state
//! directory: `$XDG_STATE_HOME/podlab/progress/<id>.json`, else
//! `~/.local/state/podlab/progress/<id>.json`. Under sudo, the invoking user's home is used
//! (and the files are given to that user), so progress does not end up in root's home.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eyre::{eyre, Context, Result};

use super::load::Lesson;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub lesson: String,
    /// Ids of the steps whose check passed.
    pub done: BTreeSet<String>,
    /// Ids of the learner's tasks seen done (schema 2): a task done once stays done.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tasks_done: BTreeSet<String>,
}

impl Progress {
    pub fn is_done(&self, step: &str) -> bool {
        self.done.contains(step)
    }

    /// How many of the lesson's steps are done.
    pub fn steps_done(&self, lesson: &Lesson) -> usize {
        lesson
            .steps()
            .iter()
            .filter(|s| self.is_done(&s.id))
            .count()
    }

    /// Progress saved by an earlier version of `lesson`, in its terms: earlier step ids
    /// become the steps they map to; ids the lesson no longer has are dropped.
    fn followed(mut self, lesson: &Lesson) -> Progress {
        let formerly = &lesson.file.formerly;
        let has_step = |id: &str| lesson.steps().iter().any(|s| s.id == id);
        let has_task = |id: &str| {
            lesson
                .steps()
                .iter()
                .any(|s| s.tasks.iter().any(|t| t.id == id))
        };
        self.done = self
            .done
            .iter()
            .flat_map(|id| match formerly.steps.get(id) {
                Some(now) => now.clone(),
                None => vec![id.clone()],
            })
            .filter(|id| has_step(id))
            .collect();
        self.tasks_done.retain(|id| has_task(id));
        self.lesson = lesson.id().to_string();
        self
    }
}

/// Where progress files live, and who should own them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressStore {
    pub dir: PathBuf,
    /// Under sudo: the invoking user's uid and gid.
    owner: Option<(u32, u32)>,
}

impl ProgressStore {
    /// The store for this process's user, as described in the module doc.
    pub fn for_user() -> Result<ProgressStore> {
        let sudo_user = std::env::var("SUDO_USER")
            .ok()
            .filter(|u| !u.is_empty() && u != "root");
        let invoker = match sudo_user {
            Some(name) if nix::unistd::geteuid().is_root() => {
                nix::unistd::User::from_name(&name).ok().flatten()
            }
            _ => None,
        };
        let owner = invoker.as_ref().map(|u| (u.uid.as_raw(), u.gid.as_raw()));
        let base = match (std::env::var_os("XDG_STATE_HOME"), &invoker) {
            (Some(dir), _) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
            (_, Some(user)) => user.dir.join(".local/state"),
            _ => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| eyre!("cannot tell where to save progress: HOME is not set"))?;
                PathBuf::from(home).join(".local/state")
            }
        };
        Ok(ProgressStore {
            dir: base.join("podlab").join("progress"),
            owner,
        })
    }

    /// A store in `dir` (tests).
    pub fn at(dir: PathBuf) -> ProgressStore {
        ProgressStore { dir, owner: None }
    }

    fn file(&self, lesson: &str) -> PathBuf {
        self.dir.join(format!("{lesson}.json"))
    }

    /// The saved progress of `lesson`, also when it was saved under one of the lesson's
    /// earlier ids or step ids (`formerly:`).
    pub fn load_lesson(&self, lesson: &Lesson) -> Progress {
        let saved = |id: &str| {
            Some(self.load(id)).filter(|p| !p.done.is_empty() || !p.tasks_done.is_empty())
        };
        std::iter::once(lesson.id())
            .chain(lesson.file.formerly.ids.iter().map(String::as_str))
            .find_map(saved)
            .map(|p| p.followed(lesson))
            .unwrap_or_else(|| Progress {
                lesson: lesson.id().to_string(),
                ..Progress::default()
            })
    }

    /// The saved progress, or none yet. A damaged file counts as no progress.
    pub fn load(&self, lesson: &str) -> Progress {
        std::fs::read(self.file(lesson))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Progress>(&bytes).ok())
            .filter(|p| p.lesson == lesson)
            .unwrap_or_else(|| Progress {
                lesson: lesson.to_string(),
                ..Progress::default()
            })
    }

    pub fn save(&self, progress: &Progress) -> Result<()> {
        self.create_dirs()?;
        let path = self.file(&progress.lesson);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(progress)?)
            .wrap_err_with(|| format!("failed to save progress to {}", tmp.display()))?;
        self.give_to_owner(&tmp);
        std::fs::rename(&tmp, &path)
            .wrap_err_with(|| format!("failed to save progress to {}", path.display()))
    }

    /// Forget a lesson's progress, under its id and its earlier ones. Returns false when
    /// there was none.
    pub fn reset_lesson(&self, lesson: &Lesson) -> Result<bool> {
        let mut any = false;
        for id in
            std::iter::once(lesson.id()).chain(lesson.file.formerly.ids.iter().map(String::as_str))
        {
            any |= self.reset(id)?;
        }
        Ok(any)
    }

    /// Forget a lesson's progress. Returns false when there was none.
    pub fn reset(&self, lesson: &str) -> Result<bool> {
        match std::fs::remove_file(self.file(lesson)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(eyre!(
                "failed to remove {}: {e}",
                self.file(lesson).display()
            )),
        }
    }

    /// The learner's own copies of a lesson's manifests (what the player's `m` key edits),
    /// beside the progress: `…/podlab/manifests/<lesson>/`, made (and, under sudo, given to
    /// the invoking user) here.
    pub fn manifests_dir(&self, lesson: &str) -> Result<PathBuf> {
        let base = self.dir.parent().unwrap_or(&self.dir);
        let dir = base.join("manifests").join(lesson);
        self.create(&dir)?;
        Ok(dir)
    }

    /// Make the progress directory, each missing level given to the invoking user under sudo.
    fn create_dirs(&self) -> Result<()> {
        self.create(&self.dir)
    }

    fn create(&self, wanted: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut dir = wanted;
        while !dir.exists() {
            missing.push(dir.to_path_buf());
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
        for dir in missing.iter().rev() {
            std::fs::create_dir(dir)
                .or_else(|e| if dir.is_dir() { Ok(()) } else { Err(e) })
                .wrap_err_with(|| format!("failed to create {}", dir.display()))?;
            self.give_to_owner(dir);
        }
        Ok(())
    }

    /// Under sudo, give a file podlab wrote for the learner to the invoking user.
    pub fn give_to_owner(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            let _ = std::os::unix::fs::chown(path, Some(uid), Some(gid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_resets_by_step_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ProgressStore::at(dir.path().join("a/b"));
        let mut p = store.load("01-process");
        assert!(p.done.is_empty());
        p.done.insert("start".into());
        store.save(&p).expect("save");
        assert!(store.load("01-process").is_done("start"));
        assert!(!store.load("02-pause").is_done("start"));
        assert!(store.reset("01-process").expect("reset"));
        assert!(!store.reset("01-process").expect("reset twice"));
        assert!(store.load("01-process").done.is_empty());
    }

    #[test]
    fn done_tasks_are_kept_and_older_files_still_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ProgressStore::at(dir.path().join("progress"));
        std::fs::create_dir_all(&store.dir).expect("dir");
        std::fs::write(
            store.dir.join("01-process.json"),
            br#"{"lesson":"01-process","done":["create"]}"#,
        )
        .expect("write");
        let mut p = store.load("01-process");
        assert!(p.is_done("create") && p.tasks_done.is_empty());
        p.tasks_done.insert("kill".into());
        store.save(&p).expect("save");
        assert!(store.load("01-process").tasks_done.contains("kill"));
        let copies = store.manifests_dir("01-process").expect("copies");
        assert_eq!(copies, dir.path().join("manifests/01-process"));
        assert!(copies.is_dir());
    }

    fn shipped(id: &str) -> Lesson {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
        let file = crate::lesson::lesson_files(&dir)
            .expect("lessons")
            .into_iter()
            .find(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(id))
            })
            .expect("shipped lesson");
        crate::lesson::load_lesson(&file).expect("lesson loads")
    }

    #[test]
    fn progress_follows_renamed_steps_and_a_renamed_lesson() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ProgressStore::at(dir.path().to_path_buf());
        // Saved by the lesson 10 that created the whole pod in one step.
        std::fs::write(
            dir.path().join("10-life.json"),
            br#"{"lesson":"10-life","done":["create","events","kill-pause","gone"],"tasks_done":["kill-pause","gone"]}"#,
        )
        .expect("write");
        let mut lesson = shipped("10-life");
        let p = store.load_lesson(&lesson);
        let done: Vec<&str> = p.done.iter().map(String::as_str).collect();
        assert_eq!(
            done,
            [
                "app-joins",
                "cgroup",
                "kill-pause",
                "namespaces",
                "network",
                "pause"
            ]
        );
        assert_eq!(p.steps_done(&lesson), 6);
        assert!(p.tasks_done.contains("kill-pause") && !p.tasks_done.contains("gone"));

        // Renumbered: found under its former id, saved and reset under the new one.
        lesson.file.id = "20-life".into();
        lesson.file.formerly.ids = vec!["10-life".into()];
        let p = store.load_lesson(&lesson);
        assert_eq!((p.lesson.as_str(), p.steps_done(&lesson)), ("20-life", 6));
        store.save(&p).expect("save");
        assert!(store.reset_lesson(&lesson).expect("reset"));
        assert_eq!(store.load_lesson(&lesson).steps_done(&lesson), 0);
    }

    #[test]
    fn a_damaged_file_is_no_progress() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ProgressStore::at(dir.path().to_path_buf());
        std::fs::write(dir.path().join("x.json"), b"{not json").expect("write");
        assert!(store.load("x").done.is_empty());
    }
}
