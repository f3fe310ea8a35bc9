//! A Pod manifest from anywhere: parsing, validation and rendering the error or the warnings
//! must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podlab::i18n::Lang;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match podlab::spec::parse_pod(text, "fuzz.yaml") {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                let _ = warning.render(Lang::En);
                let _ = warning.render(Lang::Zh);
            }
        }
        Err(error) => {
            let _ = error.render(Lang::En);
            let _ = error.render(Lang::Zh);
        }
    }
});
