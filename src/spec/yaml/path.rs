//! Field paths such as `spec.containers[1].name`, the way kubectl names fields.

use std::fmt;

/// One step into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path from the document root to one field. The root itself is the empty path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath::default()
    }

    /// This path followed by a mapping key.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut path = self.clone();
        path.segments.push(Segment::Key(key.to_string()));
        path
    }

    /// This path followed by a sequence index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut path = self.clone();
        path.segments.push(Segment::Index(index));
        path
    }

    pub fn push(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path without its last segment (the root stays the root).
    pub fn parent(&self) -> FieldPath {
        let mut path = self.clone();
        path.segments.pop();
        path
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.segments.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// Reads a path written like `spec.containers[1].name` or `metadata.labels["app.kubernetes.io/name"]`.
    pub fn parse(text: &str) -> Option<FieldPath> {
        let mut path = FieldPath::root();
        let mut rest = text;
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]")?;
                path.push(Segment::Key(after[..end].to_string()));
                rest = &after[end + 2..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']')?;
                path.push(Segment::Index(after[..end].parse().ok()?));
                rest = &after[end + 1..];
            } else {
                let after = if expect_key {
                    rest
                } else {
                    rest.strip_prefix('.')?
                };
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return None;
                }
                path.push(Segment::Key(after[..end].to_string()));
                rest = &after[end..];
            }
            expect_key = false;
        }
        Some(path)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if needs_brackets(key) => write!(f, "[\"{key}\"]")?,
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
            }
        }
        Ok(())
    }
}

fn needs_brackets(key: &str) -> bool {
    key.is_empty() || key.contains(['.', '[', ']', '"'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_kubectl_and_parses_back() {
        let path = FieldPath::root()
            .key("spec")
            .key("containers")
            .index(1)
            .key("name");
        assert_eq!(path.to_string(), "spec.containers[1].name");
        assert_eq!(FieldPath::parse("spec.containers[1].name"), Some(path));

        let label = FieldPath::root()
            .key("metadata")
            .key("labels")
            .key("app.kubernetes.io/name");
        assert_eq!(
            label.to_string(),
            "metadata.labels[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(FieldPath::parse(&label.to_string()), Some(label));

        assert_eq!(FieldPath::root().to_string(), "(document)");
        assert_eq!(FieldPath::parse(""), Some(FieldPath::root()));
        assert_eq!(FieldPath::parse("a..b"), None);
        assert_eq!(FieldPath::parse("a[x]"), None);
        assert_eq!(FieldPath::parse("a[1"), None);
    }
}
