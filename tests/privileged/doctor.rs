//! `podlab doctor` on this machine, as root and as `nobody` (su): its user-namespace trial must
//! agree with what util-linux `unshare` finds for the same user, and every lesson's verdict with
//! who runs it. The shipped AppArmor profile is checked with the real `apparmor_parser -Q`.

use std::process::Command;

use crate::common::{self, PODLAB};

fn doctor_as(user: Option<&str>) -> String {
    let out = match user {
        None => Command::new(PODLAB)
            .args(["doctor", "--lang", "en"])
            .output(),
        Some(user) => Command::new("su")
            .args([user, "-s", "/bin/sh", "-c"])
            .arg(format!("{PODLAB} doctor --lang en"))
            .output(),
    }
    .expect("run podlab doctor");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "podlab doctor as {user:?}: {}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Whether `nobody` can make and use a user namespace, as util-linux sees it.
fn unshare_works_for_nobody() -> bool {
    Command::new("su")
        .args(["nobody", "-s", "/bin/sh", "-c"])
        .arg("unshare --user --map-root-user --net --mount sh -c 'mount -t tmpfs none /tmp'")
        .status()
        .expect("run unshare as nobody")
        .success()
}

fn lesson_count() -> usize {
    podlab::lesson::lesson_files(&podlab::lesson::lessons_dir())
        .expect("lessons")
        .len()
}

#[test]
fn doctor_as_root_and_as_nobody_agrees_with_the_machine() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let works = unshare_works_for_nobody();
    let trial_line = "a user namespace, a net namespace and a tmpfs mount inside it work";
    let n = lesson_count();

    let root = doctor_as(None);
    assert!(root.contains("✓ root (uid 0)"), "{root}");
    // As root the trial is made as nobody, so it says what a learner gets.
    let tried = format!("tried as nobody (uid 65534): {trial_line}");
    assert_eq!(
        root.contains(&tried),
        works,
        "unshare works: {works}\n{root}"
    );
    assert!(
        root.contains(&format!("{n} of {n} lessons run here")),
        "{root}"
    );

    let nobody = doctor_as(Some("nobody"));
    assert!(nobody.contains("nobody (uid 65534), not root"), "{nobody}");
    assert_eq!(
        nobody.contains(&tried),
        works,
        "unshare works: {works}\n{nobody}"
    );
    if podlab::doctor::builds_pods_rootless() {
        assert!(nobody.contains("runs here without root"), "{nobody}");
    } else {
        assert!(
            nobody.contains(&format!("0 of {n} lessons run here")),
            "{nobody}"
        );
        assert_eq!(
            nobody
                .matches("instead, its recorded trace: podlab replay")
                .count(),
            n,
            "{nobody}"
        );
    }
}

/// `apparmor_parser` 4.0 and later (Ubuntu 24.04, where the restriction is) parse the whole
/// profile. Older ones (Debian 12 ships 3.0) do not know the `userns` rule, which came with
/// AppArmor 4.0: they parse the rest of it (abi 3.0, without that one line), and the test says so.
#[test]
fn the_shipped_apparmor_profile_parses() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let profile = podlab::doctor::apparmor_profile();
    let version = Command::new("apparmor_parser")
        .arg("--version")
        .output()
        .expect("apparmor_parser (Debian package apparmor; scripts/test installs it)");
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let major: u32 = version
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no version in {version:?}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let checked = if major >= 4 {
        profile.clone()
    } else {
        let text = std::fs::read_to_string(&profile).expect("profile");
        assert!(text.lines().any(|l| l.trim() == "userns,"), "{text}");
        assert!(text.contains("abi <abi/4.0>,"), "{text}");
        let older: String = text
            .lines()
            .filter(|l| l.trim() != "userns,")
            .map(|l| l.replace("abi <abi/4.0>,", "abi <abi/3.0>,") + "\n")
            .collect();
        let copy = dir.path().join("podlab");
        std::fs::write(&copy, older).expect("write");
        common::skipped(&format!(
            "apparmor_parser {major}.x does not know the userns rule (AppArmor 4.0): the rest of the profile is checked"
        ));
        copy
    };
    let out = Command::new("apparmor_parser")
        .args(["-Q", "-K"])
        .arg(&checked)
        .output()
        .expect("run apparmor_parser");
    assert!(
        out.status.success(),
        "apparmor_parser -Q {}: {}",
        checked.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
