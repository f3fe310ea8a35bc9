//! The one door to YAML: any bytes through the text check, the located tree, the typed and
//! untyped deserialization and every way of pointing at a field must give a value or a located
//! error, never a panic. The first line of the input is a field path to look up.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use podlab::spec::yaml::{check_text, Document, FieldPath};

/// A small typed shape, so type errors and ignored fields are exercised too.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Shape {
    kind: Option<String>,
    count: Option<i64>,
    flag: Option<bool>,
    items: Option<Vec<Item>>,
    labels: Option<BTreeMap<String, String>>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Item {
    name: String,
    value: Option<serde_json::Value>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = check_text(data, "fuzz.yaml") else {
        return;
    };
    let (path_text, document) = text.split_once('\n').unwrap_or((text, ""));
    let parsed = match Document::parse(document, "fuzz.yaml") {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let map = parsed.source_map();
    let _ = map.root_is_mapping();
    let _ = map.locate_str(path_text);
    let path = FieldPath::parse(path_text).unwrap_or_else(FieldPath::root);
    let _ = map.locate(&path);
    let _ = map.locate_key(&path);
    let _ = map.locate_nearest(&path);
    let _ = map.locate_field(&path);
    let _ = map.locate_field(&path.parent());
    let _ = parsed.get(&path);
    let _ = parsed.clone().deserialize::<serde_json::Value>();
    match parsed.deserialize::<Shape>() {
        Ok(shape) => {
            for unknown in &shape.unknown_fields {
                let _ = shape.source_map.locate_key(unknown);
                let _ = unknown.to_string();
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
