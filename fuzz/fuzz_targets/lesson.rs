//! A lesson file from anywhere: parsing, checking every reference (its manifests are the
//! shipped ones, read beside `lessons/`), and rendering the problems must never panic,
//! whatever the bytes.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A path in the shipped lessons' directory, so `manifest: ../assets/pods/…` resolves.
fn lesson_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../lessons/fuzz.yaml")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match podlab::lesson::parse_lesson(text, lesson_path()) {
        Ok(lesson) => {
            for step in lesson.steps() {
                let _ = lesson.pod_of(step);
            }
            let _ = lesson.main_pod();
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
