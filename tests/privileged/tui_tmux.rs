//! End to end (root): the real `podlab explore` in a detached tmux session of fixed size. Step
//! through every step, open a shell in a container with `s`, run `hostname`, exit, quit with
//! `q` + `y`, then check from outside that the pod is gone and the terminal is back to normal.

use crate::common;

use std::time::Duration;

use common::tmux::Tmux;

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

#[test]
fn explore_in_tmux_shell_and_quit_clean() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let name = common::unique_name("tui-e2e");
    let manifest = common::write_manifest(&name, &MANIFEST.replace("{name}", &name));
    let tmux = Tmux::start(&format!("podlab-{name}"), 100, 30);
    tmux.keys(&[
        &format!("{} explore {}", common::PODLAB, manifest.display()),
        "Enter",
    ]);
    let long = Duration::from_secs(30);
    tmux.wait_for("the explorer", long, |s| s.contains("Step 1/6"));
    let state = common::TestPod {
        name: name.clone(),
        manifest: manifest.clone(),
    };
    let pod = state.state();
    for step in 1..=6 {
        tmux.keys(&["Space"]);
        tmux.wait_for(&format!("step {step}"), long, |s| {
            s.contains(&format!("Steps {step}/6"))
        });
    }
    tmux.wait_for("the pod running", long, |s| s.contains("Running 2/2"));

    // A shell in the selected container (web): its hostname is the pod's name.
    tmux.keys(&["s"]);
    tmux.wait_for("the shell prompt", long, |s| {
        s.lines().any(|l| l.trim_end() == "/ #")
    });
    tmux.keys(&["hostname", "Enter"]);
    tmux.wait_for("hostname's output", long, |s| {
        s.lines().any(|l| l.trim() == name)
    });
    tmux.keys(&["exit", "Enter"]);
    tmux.wait_for("the explorer again", long, |s| {
        s.contains("Steps 6/6") && s.contains("exit status 0")
    });

    // Quit (asks first); the pod is deleted and the shell prompt comes back.
    tmux.keys(&["q"]);
    tmux.wait_for("the quit question", long, |s| s.contains("Quit?"));
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("the shell after quitting", long, |s| {
        s.contains(&format!("pod/{name} deleted")) && s.trim_end().ends_with("e2e-prompt$")
    });
    assert!(
        !screen.contains("Step 6/6"),
        "still on the explorer: {screen}"
    );
    let alternate =
        common::stdout(&tmux.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]));
    assert_eq!(
        alternate.trim(),
        "0",
        "the terminal is still on the alternate screen"
    );
    tmux.keys(&[
        "clear; stty -a | tr -s ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo",
        "Enter",
    ]);
    let modes = tmux.wait_for("stty's answer", long, |s| {
        s.lines()
            .any(|l| l.trim() == "icanon" || l.trim() == "-icanon")
    });
    assert!(
        modes.lines().any(|l| l.trim() == "icanon") && modes.lines().any(|l| l.trim() == "echo"),
        "the terminal is not back in cooked mode with echo: {modes}"
    );
    common::assert_nothing_left(&pod);
    assert!(
        podlab::runtime::lookup::live_pod_named(&name)
            .expect("list pods")
            .is_none(),
        "pod {name} is still listed"
    );
    drop(state);
}
