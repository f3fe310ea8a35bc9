//! YAML text → a tree of nodes that remember where they were written.
//!
//! Built from saphyr-parser's events so that every node keeps its line and column, with the
//! guards an untrusted file needs: a depth limit, a node budget that aliases count against
//! (so "billion laughs" stops early instead of expanding), duplicate keys and extra
//! documents reported at their place.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::Value;

/// Nesting deeper than this is refused (Kubernetes objects need about ten levels).
pub const MAX_DEPTH: usize = 100;
/// Nodes allowed in one document, counting every expansion of an alias.
pub const MAX_NODES: usize = 200_000;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    fn of(span: &Span) -> Mark {
        Mark {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub mark: Mark,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar already resolved by the YAML 1.2 core schema (null, bool, int, float, string).
    Scalar(Value),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_mark: Mark,
    pub value: Node,
}

/// What went wrong while reading the YAML itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError {
    pub mark: Mark,
    pub kind: TreeErrorKind,
    pub message: String,
    pub expected: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeErrorKind {
    Syntax,
    Empty,
    MultipleDocuments,
    TooDeep,
    TooManyNodes,
    DuplicateKey,
    ComplexKey,
    UnsupportedTag,
}

impl TreeError {
    fn new(mark: Mark, kind: TreeErrorKind, message: impl Into<String>) -> TreeError {
        TreeError {
            mark,
            kind,
            message: message.into(),
            expected: None,
        }
    }

    fn expecting(mut self, expected: impl Into<String>) -> TreeError {
        self.expected = Some(expected.into());
        self
    }
}

impl Node {
    /// The number of nodes in this subtree.
    fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(_) => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            NodeKind::Map(entries) => 1 + entries.iter().map(|e| 1 + e.value.size()).sum::<usize>(),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::Null))
    }

    /// The plain JSON value of this subtree.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(value) => value.clone(),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_value()))
                    .collect(),
            ),
        }
    }
}

/// Reads exactly one YAML document.
pub fn build(text: &str) -> Result<Node, TreeError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
        last_mark: Mark { line: 1, column: 1 },
    };
    builder.document()
}

struct Builder<'input> {
    parser: Parser<'input, saphyr_parser::StrInput<'input>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    last_mark: Mark,
}

impl<'input> Builder<'input> {
    fn next(&mut self) -> Result<(Event<'input>, Mark), TreeError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                let mark = Mark::of(&span);
                self.last_mark = mark;
                Ok((event, mark))
            }
            Some(Err(e)) => {
                let mark = Mark {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                };
                if e.info().contains("recursion limit") {
                    return Err(too_deep(mark));
                }
                Err(TreeError::new(
                    mark,
                    TreeErrorKind::Syntax,
                    format!("invalid YAML: {}", e.info()),
                )
                .expecting("well-formed YAML (or JSON)"))
            }
            None => Err(TreeError::new(
                self.last_mark,
                TreeErrorKind::Syntax,
                "invalid YAML: the text ends unexpectedly",
            )),
        }
    }

    fn document(&mut self) -> Result<Node, TreeError> {
        let empty = |mark| {
            TreeError::new(mark, TreeErrorKind::Empty, "the file has no YAML document")
                .expecting("a Pod manifest (apiVersion: v1, kind: Pod, …)")
        };
        let mut root: Option<Node> = None;
        loop {
            let (event, mark) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return root.ok_or_else(|| empty(mark)),
                Event::DocumentStart(_) => {
                    let (first, first_mark) = self.next()?;
                    let node = self.node(first, first_mark, 0)?;
                    match &root {
                        None => root = Some(node),
                        // Trailing empty documents (a final `---`) are harmless, as for kubectl.
                        Some(_) if node.is_null() => {}
                        Some(_) => {
                            return Err(TreeError::new(
                                mark,
                                TreeErrorKind::MultipleDocuments,
                                "the file holds more than one YAML document",
                            )
                            .expecting("exactly one document: put each manifest in its own file"));
                        }
                    }
                }
                _ => {
                    return Err(TreeError::new(
                        mark,
                        TreeErrorKind::Syntax,
                        "unexpected YAML event",
                    ));
                }
            }
            if root.as_ref().is_some_and(Node::is_null) {
                root = None;
            }
        }
    }

    fn count(&mut self, added: usize, mark: Mark) -> Result<(), TreeError> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > MAX_NODES {
            return Err(TreeError::new(
                mark,
                TreeErrorKind::TooManyNodes,
                format!(
                    "the document expands to more than {MAX_NODES} values \
                     (anchors and aliases repeated too often?)"
                ),
            )
            .expecting("a small manifest; aliases that multiply are refused"));
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'input>, mark: Mark, depth: usize) -> Result<Node, TreeError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(mark));
        }
        let (anchor, node) = match event {
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(TreeError::new(
                        mark,
                        TreeErrorKind::Syntax,
                        "alias to an unknown anchor",
                    ));
                };
                let size = target.size();
                let mut copy = target.clone();
                self.count(size, mark)?;
                copy.mark = mark;
                return Ok(copy);
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, mark)?;
                let value = resolve_scalar(&text, style, tag.as_deref(), mark)?;
                (
                    anchor,
                    Node {
                        mark,
                        kind: NodeKind::Scalar(value),
                    },
                )
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", mark)?;
                self.count(1, mark)?;
                let mut items = Vec::new();
                loop {
                    let (event, item_mark) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, item_mark, depth + 1)?);
                }
                (
                    anchor,
                    Node {
                        mark,
                        kind: NodeKind::Seq(items),
                    },
                )
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", mark)?;
                self.count(1, mark)?;
                let entries = self.mapping_entries(depth)?;
                (
                    anchor,
                    Node {
                        mark,
                        kind: NodeKind::Map(entries),
                    },
                )
            }
            _ => {
                return Err(TreeError::new(
                    mark,
                    TreeErrorKind::Syntax,
                    "unexpected YAML event",
                ))
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping_entries(&mut self, depth: usize) -> Result<Vec<Entry>, TreeError> {
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let (event, key_mark) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                return Ok(entries);
            }
            let key_node = self.node(event, key_mark, depth + 1)?;
            let key = match key_node.kind {
                NodeKind::Scalar(Value::String(s)) => s,
                NodeKind::Scalar(Value::Null) => String::new(),
                NodeKind::Scalar(other) => other.to_string(),
                NodeKind::Seq(_) | NodeKind::Map(_) => {
                    return Err(TreeError::new(
                        key_mark,
                        TreeErrorKind::ComplexKey,
                        "a mapping key is a list or a mapping",
                    )
                    .expecting("plain text keys such as `name:`"));
                }
            };
            if !seen.insert(key.clone()) {
                return Err(TreeError::new(
                    key_mark,
                    TreeErrorKind::DuplicateKey,
                    format!("the key `{key}` appears twice in the same mapping"),
                )
                .expecting("each key once"));
            }
            let (event, value_mark) = self.next()?;
            let value = self.node(event, value_mark, depth + 1)?;
            entries.push(Entry {
                key,
                key_mark,
                value,
            });
        }
    }
}

fn too_deep(mark: Mark) -> TreeError {
    TreeError::new(
        mark,
        TreeErrorKind::TooDeep,
        format!("values are nested more than {MAX_DEPTH} levels deep"),
    )
    .expecting("a manifest nested at most a few levels")
}

fn unsupported_tag(tag: &Tag, mark: Mark) -> TreeError {
    TreeError::new(
        mark,
        TreeErrorKind::UnsupportedTag,
        format!("the tag `{tag}` is not supported"),
    )
    .expecting("plain YAML without custom tags (or !!str, !!int, !!float, !!bool, !!null)")
}

fn core_tag(tag: &Tag) -> Option<&str> {
    (tag.is_yaml_core_schema() || tag.handle == "!!").then_some(tag.suffix.as_str())
}

fn check_collection_tag(tag: Option<&Tag>, allowed: &str, mark: Mark) -> Result<(), TreeError> {
    match tag {
        None => Ok(()),
        Some(tag) if core_tag(tag) == Some(allowed) => Ok(()),
        Some(tag) => Err(unsupported_tag(tag, mark)),
    }
}

/// Resolves a scalar by the YAML 1.2 core schema (what JSON and most tools agree on).
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    mark: Mark,
) -> Result<Value, TreeError> {
    if let Some(tag) = tag {
        let wrong = |what: &str| {
            TreeError::new(
                mark,
                TreeErrorKind::UnsupportedTag,
                format!("`{text}` is not {what}"),
            )
            .expecting(format!("{what} after the tag `{tag}`"))
        };
        return match core_tag(tag) {
            Some("str") => Ok(Value::String(text.to_string())),
            Some("null") => null(text).ok_or_else(|| wrong("null")),
            Some("bool") => boolean(text).ok_or_else(|| wrong("a boolean")),
            Some("int") => integer(text).ok_or_else(|| wrong("an integer")),
            Some("float") => integer(text)
                .or_else(|| float(text))
                .ok_or_else(|| wrong("a number")),
            _ => Err(unsupported_tag(tag, mark)),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(null(text)
        .or_else(|| boolean(text))
        .or_else(|| integer(text))
        .or_else(|| float(text))
        .unwrap_or_else(|| Value::String(text.to_string())))
}

fn null(text: &str) -> Option<Value> {
    matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null)
}

fn boolean(text: &str) -> Option<Value> {
    match text {
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

fn integer(text: &str) -> Option<Value> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = text.strip_prefix("0o") {
        (8, octal)
    } else {
        (10, unsigned)
    };
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_digit(radix))
        || (radix != 10 && unsigned.len() != text.len())
    {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok();
    let value = match (negative, magnitude) {
        (false, Some(m)) => u64::try_from(m).ok().map(Value::from),
        (true, Some(m)) => i64::try_from(m)
            .ok()
            .and_then(|m| m.checked_neg())
            .map(Value::from),
        (_, None) => None,
    };
    // Too big for 64 bits: keep it as a float so the error names the field, not the parser.
    value.or_else(|| {
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
    })
}

fn float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        // JSON has no infinities: pass the text on, so the field that gets it reports it.
        return Some(Value::String(text.to_string()));
    }
    let bytes = body.as_bytes();
    let mantissa_end = bytes
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .unwrap_or(bytes.len());
    let (mantissa, exponent) = body.split_at(mantissa_end);
    let mantissa_ok = {
        let mut parts = mantissa.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        int.bytes().all(|b| b.is_ascii_digit())
            && frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()))
            && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
    };
    let exponent_ok = exponent.is_empty() || {
        let digits = exponent[1..]
            .strip_prefix(['-', '+'])
            .unwrap_or(&exponent[1..]);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    let value = text.parse::<f64>().ok()?;
    Some(
        serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(text.to_string()), Value::Number),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        build(text)
            .map(|n| n.to_value())
            .unwrap_or_else(|e| Value::String(format!("error: {e:?}")))
    }

    #[test]
    fn resolves_scalars_by_the_core_schema() {
        let v = value("a: 1\nb: -2\nc: 0x1F\nd: 1.5\ne: 1e3\nf: true\ng: ~\nh: '1'\ni: yes\nj: 99999999999999999999\nk: .inf\nl: 0o17\n");
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], -2);
        assert_eq!(v["c"], 31);
        assert_eq!(v["d"], 1.5);
        assert_eq!(v["e"], 1000.0);
        assert_eq!(v["f"], true);
        assert_eq!(v["g"], Value::Null);
        assert_eq!(v["h"], "1");
        assert_eq!(v["i"], "yes");
        assert_eq!(v["j"], 1e20);
        assert_eq!(v["k"], ".inf");
        assert_eq!(v["l"], 15);
    }

    #[test]
    fn keeps_marks() {
        let node = build("a:\n  - x\n  - {b: 2}\n").expect("valid yaml");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].key_mark, Mark { line: 1, column: 1 });
        let NodeKind::Seq(items) = &entries[0].value.kind else {
            panic!("not a seq")
        };
        assert_eq!(items[1].mark, Mark { line: 3, column: 5 });
    }

    #[test]
    fn refuses_bombs_depth_and_extra_documents() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        assert_eq!(
            build(&bomb).map(|_| ()).map_err(|e| e.kind),
            Err(TreeErrorKind::TooManyNodes)
        );
        let deep = "[".repeat(100_000);
        assert_eq!(
            build(&deep).map(|_| ()).map_err(|e| e.kind),
            Err(TreeErrorKind::TooDeep)
        );
        let block: String = (0..150)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert_eq!(
            build(&block).map(|_| ()).map_err(|e| e.kind),
            Err(TreeErrorKind::TooDeep)
        );
        let flow = format!("{}{}", "[".repeat(120), "]".repeat(120));
        assert_eq!(
            build(&flow).map(|_| ()).map_err(|e| e.kind),
            Err(TreeErrorKind::TooDeep)
        );
        let err = build("a: 1\n---\nb: 2\n")
            .map(|_| ())
            .map_err(|e| (e.kind, e.mark.line));
        assert_eq!(err, Err((TreeErrorKind::MultipleDocuments, 2)));
        assert!(build("---\na: 1\n---\n").is_ok());
        assert_eq!(
            build("# nothing\n").map(|_| ()).map_err(|e| e.kind),
            Err(TreeErrorKind::Empty)
        );
        assert_eq!(
            build("a: 1\na: 2\n").map(|_| ()).map_err(|e| e.kind),
            Err(TreeErrorKind::DuplicateKey)
        );
    }
}
