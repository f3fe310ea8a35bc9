//! The explorer on a real pod (root): the app on a TestBackend, driven by a real shim through
//! the engine and observer threads, steps through every step; the panels then show pause and
//! the containers sharing pause's net namespace; quitting deletes the pod.

use crate::common;

use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use podlab::i18n::Lang;
use podlab::kube::protocol::Request;
use podlab::observe::{NsKind, Target};
use podlab::runtime::client::ShimConnection;
use podlab::tui::app::{Activity, App, Session};
use podlab::tui::event::{Effect, Event};
use podlab::tui::script::Script;
use podlab::tui::ui;
use podlab::tui::workers::{Engine, Observer, PodRecipe};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: nginx:1.27
      ports: [{containerPort: 80}]
    - name: sidecar
      image: busybox:1.36
      command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']
";

/// Start the pod's shim from the podlab binary (`runtime::client::start_pod` re-executes
/// the running program, which here is the test) and hold the pod with our connection.
fn start_shim(pod: &podlab::spec::Pod, manifest: &str) -> (String, ShimConnection) {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let uid = uuid::Uuid::new_v4().to_string();
    let network = serde_json::to_string(&podlab::runtime::network::Config::default())
        .expect("network config as JSON");
    let mut child = Command::new(common::PODLAB)
        .arg0("podlab-shim")
        .args([
            "shim",
            "--uid",
            &uid,
            "--manifest",
            manifest,
            "--network",
            &network,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start podlab shim");
    let mut stdin = child.stdin.take().expect("shim stdin");
    stdin
        .write_all(&serde_json::to_vec(pod).expect("pod as JSON"))
        .expect("send the pod to the shim");
    drop(stdin);
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("shim stdout"))
        .read_line(&mut first)
        .expect("shim's first line");
    let _ = child.wait();
    assert!(
        first.starts_with("ready "),
        "the shim did not start: {first:?}"
    );
    let mut conn = ShimConnection::connect(&uid).expect("connect to the shim");
    conn.request(&Request::Hello { hold: true })
        .expect("hold the pod");
    (uid, conn)
}

/// Feed events to the app until `done` holds, carrying out engine effects.
fn pump(
    app: &mut App,
    rx: &Receiver<Event>,
    engine: &Engine,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(app) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        let Ok(event) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        for effect in app.handle(event, Instant::now()).effects {
            match effect {
                Effect::Engine(cmd) => engine.send(cmd),
                Effect::Exit => return,
                other => panic!("unexpected effect {other:?}"),
            }
        }
    }
}

fn press(app: &mut App, code: KeyCode, engine: &Engine) {
    let key = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    for effect in app.handle(key, Instant::now()).effects {
        if let Effect::Engine(cmd) = effect {
            engine.send(cmd);
        }
    }
}

#[test]
fn explorer_builds_a_real_pod_and_shows_it() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let name = common::unique_name("tui-real");
    let manifest = common::write_manifest(&name, &MANIFEST.replace("{name}", &name));
    let loaded = podlab::spec::load_pod_file(&manifest).expect("valid manifest");
    let recipe = PodRecipe {
        pod: loaded.pod,
        manifest_path: manifest.display().to_string(),
        time_scale: 1.0,
        network: Some(podlab::runtime::network::Config::default()),
    };
    let (uid, mut conn) = start_shim(&recipe.pod, &recipe.manifest_path);
    let (plan, next) = conn.plan().expect("plan");
    let (tx, rx) = mpsc::channel();
    let target = Arc::new(Mutex::new(Target::Pod(uid.clone())));
    // Dropping the engine (also when this test fails) deletes the pod.
    let engine = Engine::spawn(conn, recipe, Arc::clone(&target), tx.clone()).expect("engine");
    let _observer = Observer::spawn(Arc::clone(&target), 10.0, tx.clone()).expect("observer");
    let mut app = App::new(
        Session::Pod {
            uid: uid.clone(),
            name: name.clone(),
        },
        Script::from_plan(&plan),
        next,
        Lang::En,
    );
    let steps = plan.len();
    for step in 1..=steps {
        press(&mut app, KeyCode::Char(' '), &engine);
        pump(&mut app, &rx, &engine, &format!("step {step}"), |a| {
            a.script_done == step && a.activity == Activity::Idle
        });
        assert!(app.status.is_none(), "step {step}: {:?}", app.status);
    }
    // Wait until an observation shows both containers running with pause.
    pump(
        &mut app,
        &rx,
        &engine,
        "the containers in a snapshot",
        |a| {
            a.observed
                .as_ref()
                .and_then(|o| o.snapshot.as_ref())
                .and_then(|s| s.sandboxes.first())
                .is_some_and(|sb| {
                    sb.pause.is_some()
                        && sb.containers.iter().filter(|c| !c.is_pause).count() == 2
                        && sb.containers.iter().all(|c| {
                            c.main_pid.is_some()
                                && (c.is_pause || c.shared_with_pause.contains(&NsKind::Net))
                        })
                })
        },
    );
    let state = app
        .observed
        .as_ref()
        .and_then(|o| o.state.clone())
        .expect("pod state");
    let pause = state.sandbox.as_ref().expect("sandbox").pause.pid;
    let net = common::ns_inode(pause, "net");

    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    terminal
        .draw(|f| ui::draw(f, &app, Instant::now()))
        .expect("draw");
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("(pause)"), "{screen}");
    assert!(screen.contains("(container web)"), "{screen}");
    assert!(screen.contains("(container sidecar)"), "{screen}");
    assert!(
        screen.contains(&format!(" {net} ")),
        "pause's net inode: {screen}"
    );
    // Each container's row in the namespace matrix marks pause's net inode as shared.
    for c in ["web", "sidecar"] {
        assert!(
            screen
                .lines()
                .any(|l| l.contains(&format!("{c} ")) && l.contains(&format!("={net}"))),
            "{c} shares pause's net namespace ({net}): {screen}"
        );
    }
    assert!(
        screen.contains(&format!("Steps {steps}/{steps}")),
        "{screen}"
    );

    // q, y: the pod is deleted and the app exits.
    press(&mut app, KeyCode::Char('q'), &engine);
    press(&mut app, KeyCode::Char('y'), &engine);
    pump(&mut app, &rx, &engine, "the pod's deletion", |a| a.exiting);
    engine.finish();
    let _ = std::fs::remove_file(&manifest);
    common::assert_nothing_left(&state);
}
