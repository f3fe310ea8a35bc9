//! `podlab doctor`: what this machine lets podlab do (root, cgroups and delegation, user
//! namespaces, id mapping, busybox, CNI), with the fix to hand an admin for each problem, and
//! for each lesson whether it can run here or plays its recorded trace instead.

use std::io::Write;
use std::process::ExitCode;

use eyre::Result;

use crate::doctor;
use crate::i18n::Lang;
use crate::lesson::{lesson_files, lessons_dir, load_lesson};

pub fn doctor(lang: Lang) -> Result<ExitCode> {
    let machine = doctor::examine();
    let dir = lessons_dir();
    let mut lessons = Vec::new();
    match lesson_files(&dir) {
        Ok(files) => {
            for file in files {
                match load_lesson(&file) {
                    Ok(lesson) => lessons.push(lesson),
                    Err(e) => eprintln!("{e}"),
                }
            }
        }
        Err(e) => eprintln!("failed to list lessons in {}: {e}", dir.display()),
    }
    let lines = doctor::lesson_lines(&machine, &lessons);
    let text = doctor::report::render(&machine, &doctor::apparmor_profile(), &lines, lang);
    // A closed stdout (piped into head) is not an error worth a message.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
