//! Corpora of malformed files (manifests, lessons): each file's first line says where its
//! error must be reported, `# expect: LINE:COLUMN message fragment`.

use std::path::{Path, PathBuf};

/// The files of a corpus directory (relative to the repository), sorted.
pub fn corpus_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("failed to list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

/// Where a file's error must be, and a fragment of its message.
pub struct Expectation {
    pub line: usize,
    pub column: usize,
    pub fragment: String,
}

impl Expectation {
    /// `path:LINE:COLUMN: ` followed (somewhere in that message) by the fragment.
    pub fn met_by(&self, path: &Path, text: &str) -> bool {
        let place = format!("{}:{}:{}: ", path.display(), self.line, self.column);
        text.find(&place)
            .is_some_and(|at| text[at..].contains(&self.fragment))
    }
}

/// Reads the `# expect:` first line of a corpus file.
pub fn expectation(path: &Path) -> Expectation {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = String::from_utf8_lossy(first_line);
    let spec = first_line.strip_prefix("# expect: ").unwrap_or_else(|| {
        panic!(
            "{}: first line must be `# expect: LINE:COLUMN fragment`",
            path.display()
        )
    });
    let (place, fragment) = spec.split_once(' ').unwrap_or((spec, ""));
    let (line, column) = place
        .split_once(':')
        .and_then(|(l, c)| Some((l.parse().ok()?, c.parse().ok()?)))
        .unwrap_or_else(|| panic!("{}: bad place {place:?}", path.display()));
    Expectation {
        line,
        column,
        fragment: fragment.to_string(),
    }
}
