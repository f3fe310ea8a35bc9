//! `podlab inspect`: what a pod (or any process, or the whole host) looks like to the kernel.

use std::io::Write;
use std::time::Duration;

use eyre::{bail, WrapErr};

use crate::i18n::Lang;
use crate::observe::{Collector, Snapshot, Sources, Target};
use crate::present::text;

#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// The podlab pod to inspect (name or UID).
    #[arg(value_name = "POD")]
    pub pod: Option<String>,
    /// Inspect this process and its descendants instead (repeatable).
    #[arg(long = "pid", value_name = "N")]
    pub pids: Vec<i32>,
    /// Every process on this host, grouped into pods and containers.
    #[arg(long, conflicts_with_all = ["pod", "pids"])]
    pub host: bool,
    /// Print the snapshot as JSON (one object; one per line with --watch).
    #[arg(long)]
    pub json: bool,
    /// Refresh until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
    /// With --watch: stop after this many refreshes.
    #[arg(long, value_name = "N", requires = "watch")]
    pub count: Option<u64>,
    /// Language of the text view: en or zh (default: from LANG).
    /// Set from podlab's global `--lang`.
    #[arg(skip)]
    pub lang: Option<Lang>,
}

impl InspectArgs {
    pub fn target(&self) -> eyre::Result<Target> {
        match (&self.pod, self.pids.is_empty(), self.host) {
            (_, _, true) => Ok(Target::Host),
            (Some(pod), true, false) => Ok(Target::Pod(pod.clone())),
            (None, false, false) => Ok(Target::Pids(self.pids.clone())),
            (Some(_), false, false) => bail!("give either a pod name or --pid, not both"),
            (None, true, false) => bail!("nothing to inspect: give a pod name, --pid N or --host"),
        }
    }
}

pub fn run(args: &InspectArgs) -> eyre::Result<()> {
    run_with(args, Sources::default(), &mut std::io::stdout())
}

/// `run` with the sources and output given, for tests.
pub fn run_with(args: &InspectArgs, sources: Sources, out: &mut dyn Write) -> eyre::Result<()> {
    let target = args.target()?;
    if !(args.interval.is_finite() && args.interval > 0.0) {
        bail!(
            "--interval must be a positive number of seconds, not {}",
            args.interval
        );
    }
    let lang = args.lang.unwrap_or_else(Lang::from_env);
    let mut collector = Collector::new(sources);
    let mut shown = 0u64;
    loop {
        let snap = collector.snapshot(&target)?;
        print_snapshot(&snap, args, lang, shown == 0, out)?;
        shown += 1;
        if !args.watch || args.count.is_some_and(|n| shown >= n) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval));
    }
}

/// Cursor home; erase to the end of the line; erase to the end of the screen; whole screen.
const HOME: &str = "\x1b[H";
const ERASE_LINE_END: &str = "\x1b[K";
const ERASE_BELOW: &str = "\x1b[J";
const ERASE_SCREEN: &str = "\x1b[2J";

/// The text view redrawn over the previous one: each line overwrites the old line and erases
/// what is left of it, then whatever the old view had below is erased. Nothing is cleared
/// first, so the screen does not flash between refreshes.
pub fn in_place(text: &str, first: bool) -> String {
    let mut out = String::with_capacity(text.len() + 512);
    if first {
        out.push_str(ERASE_SCREEN);
    }
    out.push_str(HOME);
    for line in text.lines() {
        out.push_str(line);
        out.push_str(ERASE_LINE_END);
        out.push('\n');
    }
    out.push_str(ERASE_BELOW);
    out
}

fn print_snapshot(
    snap: &Snapshot,
    args: &InspectArgs,
    lang: Lang,
    first: bool,
    out: &mut dyn Write,
) -> eyre::Result<()> {
    if args.json {
        let line = if args.watch {
            serde_json::to_string(snap)
        } else {
            serde_json::to_string_pretty(snap)
        }
        .wrap_err("failed to encode the snapshot as JSON")?;
        writeln!(out, "{line}").wrap_err("failed to write the snapshot")?;
    } else {
        let view = text::render(snap, lang);
        let view = if args.watch {
            in_place(&view, first)
        } else {
            view
        };
        out.write_all(view.as_bytes())
            .wrap_err("failed to write the snapshot")?;
    }
    out.flush().wrap_err("failed to write the snapshot")?;
    Ok(())
}
