//! The one door to YAML for all of podlab (manifests, lessons).
//!
//! Text is read by `saphyr-parser` into a tree that keeps every node's line and column
//! (`tree`), then deserialized through `serde_json::Value` with `serde_path_to_error` (the
//! path of a type error) and `serde_ignored` (fields the Rust types do not model). One
//! parser serves both the values and the locations, so they can never disagree, and any
//! later check can point at `file:line:column` of any field path.
//!
//! Untrusted input is bounded: files over [`MAX_FILE_BYTES`], binary data, nesting deeper
//! than [`tree::MAX_DEPTH`], more than [`tree::MAX_NODES`] values after expanding aliases
//! (YAML bombs) and several documents in one file are refused with a located error.

// A located error carries its text; it is built once per failed parse, so size does not matter.
#![allow(clippy::result_large_err)]

mod emit;
mod path;
mod tree;

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::de::DeserializeOwned;

pub use emit::to_yaml;
pub use path::{FieldPath, Segment};
pub use tree::{MAX_DEPTH, MAX_NODES};

use tree::{Node, NodeKind, TreeErrorKind};

/// Larger files are refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A place in a source file; line and column count from 1 (columns in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// A deserialized value with what the types ignored and where every field was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    /// Fields present in the text that `T` does not model, in document order.
    pub unknown_fields: Vec<FieldPath>,
    pub source_map: SourceMap,
}

/// Finds where a field path was written.
#[derive(Debug, Clone)]
pub struct SourceMap {
    source: String,
    root: Node,
}

impl SourceMap {
    /// The name of the source (usually the file path) used in locations.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Where the value of `path` starts, if that field exists.
    pub fn locate(&self, path: &FieldPath) -> Option<Location> {
        self.find(path).map(|(node, _)| self.location(node.mark))
    }

    /// Where the key naming `path` is written (for a list item: where the item starts).
    pub fn locate_key(&self, path: &FieldPath) -> Option<Location> {
        self.find(path)
            .map(|(node, key_mark)| self.location(key_mark.unwrap_or(node.mark)))
    }

    /// Where the value of `path` starts or, when it is absent, its closest present parent.
    pub fn locate_nearest(&self, path: &FieldPath) -> Location {
        let mut node = &self.root;
        for segment in path.segments() {
            match child(node, segment) {
                Some((next, _)) => node = next,
                None => break,
            }
        }
        self.location(node.mark)
    }

    /// Where to point a reader at `path` (or its closest present parent): the value for a
    /// scalar, the key for a list or mapping (whose value starts on the next lines).
    pub fn locate_field(&self, path: &FieldPath) -> Location {
        let mut node = &self.root;
        let mut key_mark = None;
        for segment in path.segments() {
            match child(node, segment) {
                Some((next, mark)) => {
                    node = next;
                    key_mark = mark;
                }
                None => break,
            }
        }
        match (&node.kind, key_mark) {
            (NodeKind::Map(_) | NodeKind::Seq(_), Some(key)) => self.location(key),
            _ => self.location(node.mark),
        }
    }

    /// Whether the document's top level is a mapping (every Kubernetes object is one).
    pub fn root_is_mapping(&self) -> bool {
        matches!(self.root.kind, NodeKind::Map(_))
    }

    /// Like [`SourceMap::locate`] for a path written as text, e.g. `spec.containers[1].name`.
    pub fn locate_str(&self, path: &str) -> Option<Location> {
        FieldPath::parse(path).and_then(|p| self.locate(&p))
    }

    fn find(&self, path: &FieldPath) -> Option<(&Node, Option<tree::Mark>)> {
        let mut node = &self.root;
        let mut key_mark = None;
        for segment in path.segments() {
            let (next, mark) = child(node, segment)?;
            node = next;
            key_mark = mark;
        }
        Some((node, key_mark))
    }

    fn location(&self, mark: tree::Mark) -> Location {
        Location {
            source: self.source.clone(),
            line: mark.line,
            column: mark.column,
        }
    }
}

fn child<'a>(node: &'a Node, segment: &Segment) -> Option<(&'a Node, Option<tree::Mark>)> {
    match (&node.kind, segment) {
        (NodeKind::Map(entries), Segment::Key(key)) => entries
            .iter()
            .find(|e| &e.key == key)
            .map(|e| (&e.value, Some(e.key_mark))),
        (NodeKind::Seq(items), Segment::Index(i)) => items.get(*i).map(|n| (n, None)),
        _ => None,
    }
}

/// What kind of problem a [`YamlError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The file could not be read.
    Io,
    TooLarge,
    /// Binary data or invalid UTF-8.
    NotText,
    Syntax,
    Empty,
    MultipleDocuments,
    TooDeep,
    /// Too many values after expanding aliases.
    TooManyNodes,
    DuplicateKey,
    ComplexKey,
    UnsupportedTag,
    /// A value does not fit the type expected at its path.
    Type,
}

/// A located problem with the YAML text or with the type of a value in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub location: Location,
    /// The field the problem is about, when there is one.
    pub path: Option<FieldPath>,
    pub message: String,
    pub expected: Option<String>,
    pub hint: Option<String>,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, "; expected {expected}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for YamlError {}

impl YamlError {
    fn at(
        kind: YamlErrorKind,
        source: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> YamlError {
        YamlError {
            kind,
            location: Location {
                source: source.to_string(),
                line,
                column,
            },
            path: None,
            message: message.into(),
            expected: None,
            hint: None,
        }
    }
}

/// Reads a text file for YAML parsing, refusing large or binary files with a clear error.
pub fn read_text_file(path: &Path) -> Result<String, YamlError> {
    let source = path.display().to_string();
    let io_error = |e: std::io::Error| {
        YamlError::at(
            YamlErrorKind::Io,
            &source,
            1,
            1,
            format!("failed to read {source}: {e}"),
        )
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    // Read one byte past the limit: enough to know the file is too large, without loading it.
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    check_text(&bytes, &source).map(str::to_string)
}

/// Checks that `bytes` is a plausible text file: small enough, UTF-8, no control characters.
pub fn check_text<'a>(bytes: &'a [u8], source: &str) -> Result<&'a str, YamlError> {
    if bytes.len() > MAX_FILE_BYTES {
        let mut err = YamlError::at(
            YamlErrorKind::TooLarge,
            source,
            1,
            1,
            format!("the file is larger than {} KiB", MAX_FILE_BYTES / 1024),
        );
        err.expected = Some("a manifest of at most 1 MiB".into());
        return Err(err);
    }
    let (text, bad_at) = match std::str::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            (valid, Some(valid.len()))
        }
    };
    let control = text
        .char_indices()
        .find(|&(_, c)| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{feff}')
        .filter(|&(i, c)| !(i == 0 && c == '\u{feff}'));
    let bad = match (control, bad_at) {
        (Some((i, c)), _) => Some((i, format!("control character U+{:04X}", u32::from(c)))),
        (None, Some(i)) => Some((i, "bytes that are not UTF-8".to_string())),
        (None, None) => None,
    };
    if let Some((offset, what)) = bad {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let mut err = YamlError::at(
            YamlErrorKind::NotText,
            source,
            line,
            column,
            format!("the file is not YAML text: it contains {what}"),
        );
        err.expected = Some("a UTF-8 text file".into());
        err.hint =
            Some("is this the right file? binary files and other encodings cannot be read".into());
        return Err(err);
    }
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Parses one YAML (or JSON) document into `T`, recording unknown fields and locations.
pub fn parse_located<T: DeserializeOwned>(
    text: &str,
    source: &str,
) -> Result<Located<T>, YamlError> {
    Document::parse(text, source)?.deserialize()
}

/// One parsed document, before it is given a type: lets a caller look at a few fields
/// (say `kind`) and their places before choosing how to deserialize.
#[derive(Debug, Clone)]
pub struct Document {
    source_map: SourceMap,
    value: serde_json::Value,
}

impl Document {
    pub fn parse(text: &str, source: &str) -> Result<Document, YamlError> {
        let text = check_text(text.as_bytes(), source)?;
        let root = tree::build(text).map_err(|e| tree_error(e, text, source))?;
        let value = root.to_value();
        Ok(Document {
            source_map: SourceMap {
                source: source.to_string(),
                root,
            },
            value,
        })
    }

    pub fn source_map(&self) -> &SourceMap {
        &self.source_map
    }

    /// The untyped value at `path`, if present.
    pub fn get(&self, path: &FieldPath) -> Option<&serde_json::Value> {
        path.segments()
            .iter()
            .try_fold(&self.value, |value, segment| match segment {
                Segment::Key(key) => value.get(key),
                Segment::Index(i) => value.get(i),
            })
    }

    pub fn deserialize<T: DeserializeOwned>(self) -> Result<Located<T>, YamlError> {
        let Document { source_map, value } = self;
        let mut track = serde_path_to_error::Track::new();
        let mut unknown_fields = Vec::new();
        let deserializer = serde_path_to_error::Deserializer::new(&value, &mut track);
        let result: Result<T, serde_json::Error> =
            serde_ignored::deserialize(deserializer, |path| {
                unknown_fields.push(ignored_path(&path))
            });
        match result {
            Ok(value) => {
                unknown_fields.sort_by_key(|p| {
                    source_map
                        .locate_key(p)
                        .map(|l| (l.line, l.column))
                        .unwrap_or_default()
                });
                Ok(Located {
                    value,
                    unknown_fields,
                    source_map,
                })
            }
            Err(e) => Err(type_error(
                &e.to_string(),
                &tracked_path(&track.path()),
                &source_map,
            )),
        }
    }
}

fn tree_error(e: tree::TreeError, text: &str, source: &str) -> YamlError {
    let kind = match e.kind {
        TreeErrorKind::Syntax => YamlErrorKind::Syntax,
        TreeErrorKind::Empty => YamlErrorKind::Empty,
        TreeErrorKind::MultipleDocuments => YamlErrorKind::MultipleDocuments,
        TreeErrorKind::TooDeep => YamlErrorKind::TooDeep,
        TreeErrorKind::TooManyNodes => YamlErrorKind::TooManyNodes,
        TreeErrorKind::DuplicateKey => YamlErrorKind::DuplicateKey,
        TreeErrorKind::ComplexKey => YamlErrorKind::ComplexKey,
        TreeErrorKind::UnsupportedTag => YamlErrorKind::UnsupportedTag,
    };
    let mut err = YamlError::at(kind, source, e.mark.line, e.mark.column, e.message);
    err.expected = e.expected;
    if kind == YamlErrorKind::Syntax {
        let line = text
            .lines()
            .nth(e.mark.line.saturating_sub(1))
            .unwrap_or("");
        if line.contains('\t') {
            err.hint = Some("YAML indentation must use spaces, not tabs".into());
        }
    }
    err
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> FieldPath {
    use serde_ignored::Path as P;
    match path {
        P::Root => FieldPath::root(),
        P::Seq { parent, index } => ignored_path(parent).index(*index),
        P::Map { parent, key } => ignored_path(parent).key(key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

fn tracked_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment as S;
    let mut out = FieldPath::root();
    for segment in path.iter() {
        match segment {
            S::Seq { index } => out.push(Segment::Index(*index)),
            S::Map { key } => out.push(Segment::Key(key.clone())),
            S::Enum { .. } | S::Unknown => {}
        }
    }
    out
}

/// Turns serde's message into "what is wrong; expected what" at the field's place.
fn type_error(message: &str, path: &FieldPath, source_map: &SourceMap) -> YamlError {
    let (mut what, mut expected) = match message.rfind(", expected ") {
        Some(i) => (
            message[..i].to_string(),
            Some(plain_expected(&message[i + 11..])),
        ),
        None => (message.to_string(), None),
    };
    let mut path = path.clone();
    let location;
    let missing = what
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'));
    if let Some(field) = missing.map(str::to_string) {
        location = source_map.locate_field(&path);
        path = path.key(&field);
        what = "this required field is missing".into();
        expected = Some(format!("`{field}` to be set"));
    } else {
        location = source_map.locate_field(&path);
    }
    if let Some(number) = what
        .strip_prefix("invalid type: floating point `")
        .and_then(|r| r.strip_suffix('`'))
    {
        if expected
            .as_deref()
            .is_some_and(|e| e.starts_with("a whole number"))
        {
            what = format!("{number} is a fraction or too large");
        }
    }
    if what.starts_with("data did not match any variant of untagged enum PortRef") {
        what = "this is neither a port number nor a port name".into();
        expected = Some("a port number (1-65535) or the name of a container port".into());
    }
    YamlError {
        kind: YamlErrorKind::Type,
        location,
        path: Some(path),
        message: what,
        expected,
        hint: None,
    }
}

/// Serde names Rust types ("u16", "struct Container"); say what a manifest author writes.
fn plain_expected(expected: &str) -> String {
    match expected {
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" => "a whole number from 0 to 4294967295".into(),
        "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a sequence" => "a list".into(),
        "a map" => "a mapping".into(),
        other => match other.strip_prefix("struct ") {
            Some(name) => format!("a mapping ({name})"),
            None => match other.strip_prefix("enum ") {
                Some(name) => format!("one of the names allowed for {name}"),
                None => other.to_string(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // only deserialized
    struct Doc {
        name: String,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // only deserialized
    struct Item {
        port: u16,
    }

    #[test]
    fn reports_unknown_fields_and_locates_paths() {
        let text = "name: a\nextra: 1\nitems:\n  - port: 80\n    color: red\n  - port: 81\n";
        let doc = parse_located::<Doc>(text, "doc.yaml").expect("valid document");
        assert_eq!(doc.value.name, "a");
        let unknown: Vec<String> = doc.unknown_fields.iter().map(ToString::to_string).collect();
        assert_eq!(unknown, ["extra", "items[0].color"]);
        let loc = doc.source_map.locate_str("items[1].port").expect("present");
        assert_eq!(loc.to_string(), "doc.yaml:6:11");
        let key = doc
            .source_map
            .locate_key(&FieldPath::parse("items[0].color").expect("path"));
        assert_eq!(key.map(|l| (l.line, l.column)), Some((5, 5)));
        let nearest = doc
            .source_map
            .locate_nearest(&FieldPath::parse("items[0].missing").expect("path"));
        assert_eq!((nearest.line, nearest.column), (4, 5));
    }

    #[test]
    fn type_errors_name_file_line_column_path_and_expectation() {
        let err = parse_located::<Doc>("name: a\nitems:\n  - port: 70000\n", "d.yaml")
            .expect_err("invalid");
        assert_eq!(err.kind, YamlErrorKind::Type);
        assert_eq!(
            err.to_string(),
            "d.yaml:3:11: items[0].port: invalid value: integer `70000`; expected a whole number from 0 to 65535"
        );
        let err = parse_located::<Doc>("items: []\n", "d.yaml").expect_err("missing name");
        assert_eq!(
            err.to_string(),
            "d.yaml:1:1: name: this required field is missing; expected `name` to be set"
        );
    }

    #[test]
    fn accepts_flow_json_and_leading_document_marker() {
        for text in [
            "{name: a, items: [{port: 1}]}",
            r#"{"name": "a", "items": [{"port": 1}]}"#,
            "---\nname: a\n",
        ] {
            let doc = parse_located::<Doc>(text, "d").expect("valid document");
            assert_eq!(doc.value.name, "a");
        }
    }

    #[test]
    fn refuses_binary_and_large_input() {
        let err = parse_located::<Doc>("name: a\nx: \u{0}\n", "d").expect_err("binary");
        assert_eq!(
            (err.kind, err.location.line, err.location.column),
            (YamlErrorKind::NotText, 2, 4)
        );
        let big = format!("name: a\nx: \"{}\"\n", "a".repeat(MAX_FILE_BYTES));
        assert_eq!(
            parse_located::<Doc>(&big, "d")
                .map(|_| ())
                .map_err(|e| e.kind),
            Err(YamlErrorKind::TooLarge)
        );
        let err = check_text(b"name: \xff\xfe", "d").expect_err("not utf-8");
        assert_eq!((err.location.line, err.location.column), (1, 7));
    }

    #[test]
    fn tabs_get_a_hint() {
        let err = parse_located::<Doc>("name: a\nitems:\n\t- port: 1\n", "d").expect_err("tab");
        assert_eq!(err.kind, YamlErrorKind::Syntax);
        assert!(err.to_string().contains("not tabs"), "{err}");
    }
}
