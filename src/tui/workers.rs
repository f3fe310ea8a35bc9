//! Background threads: the observer (a snapshot and the pod's state at a fixed rate, sent as
//! messages) and the engine (the shim connection that holds the pod; its requests can block
//! for as long as a step takes, e.g. an init container running to completion).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eyre::{eyre, Result};

use super::event::{EngineCmd, EngineReply, Event};
use super::observed::Observation;
use crate::kube::protocol::{Request, Response};
use crate::observe::{Collector, Sources, Target};
use crate::runtime::client::{start_pod, ShimConnection, StartOptions};
use crate::spec::Pod;

/// What the observer reads; the engine changes it when the pod is rebuilt.
pub type SharedTarget = Arc<Mutex<Target>>;

pub struct Observer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Observer {
    /// Observe `target` `rate` times a second, sending each observation to `tx`.
    pub fn spawn(target: SharedTarget, rate: f64, tx: Sender<Event>) -> Result<Observer> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let period = Duration::from_secs_f64(1.0 / rate);
        let thread = std::thread::Builder::new()
            .name("podlab-observe".into())
            .spawn(move || observe_loop(&target, period, &tx, &flag))
            .map_err(|e| eyre!("failed to start the observer thread: {e}"))?;
        Ok(Observer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn observe_loop(target: &SharedTarget, period: Duration, tx: &Sender<Event>, stop: &AtomicBool) {
    let mut collector = Collector::new(Sources::default());
    // A connection of our own for status requests (not holding: it never keeps the pod).
    let mut status: Option<(String, ShimConnection)> = None;
    let mut last_target: Option<Target> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let Ok(current) = target.lock().map(|t| t.clone()) else {
            return;
        };
        if last_target.as_ref() != Some(&current) {
            collector.forget();
            status = None;
            last_target = Some(current.clone());
        }
        let mut obs = Observation::default();
        match collector.snapshot(&current) {
            Ok(s) => obs.snapshot = Some(s),
            Err(e) => obs.error = Some(format!("{e:#}")),
        }
        if let Target::Pod(uid) = &current {
            if status.as_ref().is_none_or(|(u, _)| u != uid) {
                status = ShimConnection::connect(uid).ok().map(|c| (uid.clone(), c));
            }
            if let Some((_, conn)) = &mut status {
                match conn.status() {
                    Ok(state) => obs.state = Some(state),
                    Err(e) => {
                        obs.error.get_or_insert_with(|| format!("{e:#}"));
                        status = None;
                    }
                }
            }
        }
        if tx.send(Event::Observed(Box::new(obs))).is_err() {
            return;
        }
        // Sleep in short slices so that stopping is quick.
        let deadline = started + period;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
        }
    }
}

/// What the engine needs to build the pod again (`r`).
pub struct PodRecipe {
    pub pod: Pod,
    pub manifest_path: String,
    pub time_scale: f64,
    pub network: Option<crate::runtime::network::Config>,
}

impl PodRecipe {
    fn options(&self) -> StartOptions {
        StartOptions {
            manifest_path: self.manifest_path.clone(),
            detach: false,
            time_scale: self.time_scale,
            network: self.network.clone(),
            podlab_exe: None,
            pod_max_pids: None,
            offline: false,
        }
    }

    /// Start a shim for the pod; the pod lives while the returned connection is open.
    pub fn start(&self) -> Result<(String, ShimConnection)> {
        start_pod(&self.pod, &self.options())
    }
}

pub struct Engine {
    tx: Sender<EngineCmd>,
    thread: Option<JoinHandle<()>>,
}

/// Sent by `Engine::finish`: delete the pod if it still exists, then end the thread.
const FINISH_GRACE_SECONDS: i64 = 1;

impl Engine {
    pub fn spawn(
        conn: ShimConnection,
        recipe: PodRecipe,
        target: SharedTarget,
        events: Sender<Event>,
    ) -> Result<Engine> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("podlab-engine".into())
            .spawn(move || engine_loop(Some(conn), &recipe, &target, &rx, &events))
            .map_err(|e| eyre!("failed to start the engine thread: {e}"))?;
        Ok(Engine {
            tx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, cmd: EngineCmd) {
        let _ = self.tx.send(cmd);
    }

    /// Delete the pod if the app did not already, and wait until it is gone.
    pub fn finish(self) {
        let Engine { tx, thread } = self;
        let _ = tx.send(EngineCmd::Delete {
            grace_seconds: Some(FINISH_GRACE_SECONDS),
        });
        drop(tx);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

fn engine_loop(
    mut conn: Option<ShimConnection>,
    recipe: &PodRecipe,
    target: &SharedTarget,
    rx: &Receiver<EngineCmd>,
    events: &Sender<Event>,
) {
    let no_pod = || "there is no pod (it was deleted); r builds it again".to_string();
    while let Ok(cmd) = rx.recv() {
        let reply = match cmd {
            EngineCmd::Next => match conn.as_mut() {
                None => EngineReply::StepFailed(no_pod()),
                Some(c) => match c.request(&Request::Next) {
                    Ok(Response::StepDone { next, .. }) => EngineReply::StepDone { next },
                    Ok(other) => EngineReply::StepFailed(format!("unexpected answer: {other:?}")),
                    Err(e) => EngineReply::StepFailed(format!("{e:#}")),
                },
            },
            EngineCmd::Restart => {
                if let Some(mut c) = conn.take() {
                    let _ = c.delete(Some(0));
                }
                match restart(recipe, target) {
                    Ok((c, reply)) => {
                        conn = Some(c);
                        reply
                    }
                    Err(e) => EngineReply::RestartFailed(format!(
                        "failed to build pod {} again: {e:#}",
                        recipe.pod.metadata.name
                    )),
                }
            }
            EngineCmd::Delete { grace_seconds } => match conn.take() {
                None => EngineReply::Deleted,
                Some(mut c) => match c.delete(grace_seconds) {
                    Ok(()) => EngineReply::Deleted,
                    Err(e) => EngineReply::DeleteFailed(format!(
                        "failed to delete pod {}: {e:#}",
                        recipe.pod.metadata.name
                    )),
                },
            },
        };
        let _ = events.send(Event::Engine(reply));
    }
    // The app is gone: make sure the pod is too (dropping the connection would also do it,
    // but without waiting).
    if let Some(mut c) = conn.take() {
        let _ = c.delete(Some(FINISH_GRACE_SECONDS));
    }
}

fn restart(recipe: &PodRecipe, target: &SharedTarget) -> Result<(ShimConnection, EngineReply)> {
    let (uid, mut conn) = recipe.start()?;
    let (plan, next) = conn.plan()?;
    if let Ok(mut t) = target.lock() {
        *t = Target::Pod(uid.clone());
    }
    let reply = EngineReply::Restarted {
        uid,
        name: recipe.pod.metadata.name.clone(),
        plan,
        next,
    };
    Ok((conn, reply))
}
