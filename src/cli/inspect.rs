//! `podlab inspect`: what a pod (or any process, or the whole host) looks like to the kernel.

use std::io::Write;
use std::time::Duration;

use eyre::{bail, WrapErr};

use crate::i18n::Lang;
use crate::observe::{text, Collector, Snapshot, Sources, Target};

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
    loop {
        let snap = collector.snapshot(&target)?;
        print_snapshot(&snap, args, lang, out)?;
        if !args.watch {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval));
    }
}

fn print_snapshot(
    snap: &Snapshot,
    args: &InspectArgs,
    lang: Lang,
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
        // Home the cursor and clear the screen so --watch refreshes in place.
        let clear = if args.watch { "\x1b[H\x1b[2J" } else { "" };
        write!(out, "{clear}{}", text::render(snap, lang))
            .wrap_err("failed to write the snapshot")?;
    }
    out.flush().wrap_err("failed to write the snapshot")?;
    Ok(())
}
