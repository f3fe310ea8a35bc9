//! `podlab inspect` through its clap arguments, on the fixture pod.

use std::path::PathBuf;

use clap::Parser;
use podlab::cli::inspect::{run_with, InspectArgs};
use podlab::observe::{Snapshot, Sources};

#[derive(Parser)]
struct Cli {
    #[arg(long)]
    lang: Option<podlab::i18n::Lang>,
    #[command(flatten)]
    inspect: InspectArgs,
}

fn sources() -> Sources {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc/pod");
    Sources {
        proc_root: root.join("proc"),
        cgroup_root: root.join("cgroup"),
        pods_dir: root.join("pods"),
    }
}

fn run(args: &[&str]) -> eyre::Result<String> {
    let mut cli = Cli::try_parse_from(std::iter::once("inspect").chain(args.iter().copied()))?;
    cli.inspect.lang = cli.lang;
    let mut out = Vec::new();
    run_with(&cli.inspect, sources(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn text_and_json() {
    let text = run(&["web-pod", "--lang", "zh"]).expect("text");
    assert!(text.contains("进程树"), "{text}");
    let json = run(&["web-pod", "--json"]).expect("json");
    let snap: Snapshot = serde_json::from_str(&json).expect("a snapshot");
    assert_eq!(snap.sandboxes[0].name, "web-pod");
    let host = run(&["--host", "--lang", "en"]).expect("host");
    assert!(host.contains("web-pod"), "{host}");
}

#[test]
fn bad_arguments_are_errors() {
    assert!(run(&[]).is_err());
    assert!(run(&["web-pod", "--lang", "fr"]).is_err());
    assert!(run(&["web-pod", "--interval", "0", "--watch"]).is_err());
    let err = run(&["missing"]).expect_err("no such pod");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn watch_redraws_in_place() {
    let out = run(&[
        "web-pod",
        "--watch",
        "--interval",
        "0.01",
        "--count",
        "3",
        "--lang",
        "en",
    ])
    .expect("watch");
    // The screen is cleared once; each refresh starts at the top left and ends by erasing
    // what the previous one left below.
    assert_eq!(out.matches("\x1b[2J").count(), 1, "{out:?}");
    assert!(out.starts_with("\x1b[2J\x1b[H"), "{out:?}");
    assert_eq!(out.matches("\x1b[H").count(), 3);
    assert_eq!(out.matches("\x1b[J").count(), 3);
    assert_eq!(out.matches("PROCESS TREE").count(), 3);
    // Every line erases the rest of the old line it overwrites.
    for line in out
        .split('\n')
        .filter(|l| !l.is_empty() && !l.ends_with("\x1b[J"))
    {
        assert!(line.ends_with("\x1b[K"), "{line:?}");
    }
    let json = run(&[
        "web-pod",
        "--watch",
        "--interval",
        "0.01",
        "--count",
        "2",
        "--json",
    ])
    .expect("json watch");
    assert_eq!(json.lines().count(), 2);
    for line in json.lines() {
        let _: Snapshot = serde_json::from_str(line).expect("one snapshot per line");
    }
    assert!(
        run(&["web-pod", "--count", "2"]).is_err(),
        "--count needs --watch"
    );
}
