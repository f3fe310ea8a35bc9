//! YAML out: a JSON value written as block YAML by saphyr's emitter, the same project as the
//! parser that reads podlab's YAML in. Mappings keep the value's key order (serde_json's maps
//! are sorted, as kubectl's output is); strings that would read back as something else
//! (`"true"`, `"1"`, `"~"`, `": x"`) are quoted by the emitter.

use std::borrow::Cow;

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::Value;

/// `value` as a YAML document, without the `---` line (as kubectl prints one object).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline(true);
    // Writing into a String cannot fail.
    let _ = emitter.dump(&node(value));
    let body = out.strip_prefix("---\n").unwrap_or(&out);
    let mut text = body.trim_end_matches('\n').to_string();
    text.push('\n');
    text
}

fn node(value: &Value) -> Yaml<'static> {
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Yaml::Value(Scalar::Integer(i)),
            (None, Some(f)) if n.is_f64() => Yaml::Value(Scalar::FloatingPoint(f.into())),
            // An unsigned number beyond i64: its digits, which read back as the same number.
            _ => Yaml::Representation(Cow::Owned(n.to_string()), saphyr::ScalarStyle::Plain, None),
        },
        Value::String(s) => Yaml::Value(Scalar::String(Cow::Owned(s.clone()))),
        Value::Array(items) => Yaml::Sequence(items.iter().map(node).collect()),
        Value::Object(map) => {
            let mut mapping = Mapping::new();
            for (k, v) in map {
                mapping.insert(Yaml::Value(Scalar::String(Cow::Owned(k.clone()))), node(v));
            }
            Yaml::Mapping(mapping)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::yaml::Document;

    /// What was written reads back through podlab's own YAML input as the same value.
    fn round_trip(value: Value) {
        let text = to_yaml(&value);
        let back = Document::parse(&text, "out.yaml")
            .and_then(|d| d.deserialize::<Value>())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back.value, value, "{text}");
    }

    #[test]
    fn scalars_that_look_like_other_types_stay_strings() {
        round_trip(serde_json::json!({
            "a": "true", "b": "1", "c": "~", "d": "null", "e": "", "f": "- x", "g": "a: b",
            "h": "#c", "i": " lead", "j": "0x1F", "k": "1e3", "l": "yes", "m": "*x", "n": "@",
            "o": "100m", "p": "2026-12-01T17:00:00Z", "q": "中文", "r": "{}", "s": "[1]",
        }));
    }

    #[test]
    fn numbers_booleans_nulls_and_nesting() {
        round_trip(serde_json::json!({
            "int": -7, "big": 9_007_199_254_740_993i64, "float": 0.5, "yes": true, "no": false,
            "nothing": null, "empty_list": [], "empty_map": {},
            "list": [{"name": "a", "ports": [{"containerPort": 80}]}, "x", [1, 2]],
        }));
    }

    #[test]
    fn multi_line_strings() {
        round_trip(serde_json::json!({
            "script": "echo one\necho two\n", "no_end": "a\nb", "blank_lines": "a\n\n\nb\n\n",
            "indented": "  a\n b\n", "tabs": "a\tb",
        }));
    }

    #[test]
    fn output_is_block_yaml_without_a_document_line() {
        let text = to_yaml(&serde_json::json!({"kind": "Pod", "metadata": {"name": "web"}}));
        assert_eq!(text, "kind: Pod\nmetadata:\n  name: web\n");
    }
}
