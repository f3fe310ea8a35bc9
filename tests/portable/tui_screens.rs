//! Whole screens of the explorer at key steps, in English and Chinese, at 80×24 and 160×48,
//! drawn on ratatui's TestBackend from the demo pod (fixed data, so the screens are stable;
//! filters still hide PIDs, inodes, IPs and ages should the demo data change).

use std::time::{Duration, Instant};

use podlab::i18n::Lang;
use podlab::tui::app::{App, Focus, Session};
use podlab::tui::demo;
use podlab::tui::event::Event;
use podlab::tui::script::Script;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::common;

use common::screen::{app_screen, without_bars};

fn check(name: &str, text: String) {
    insta::with_settings!({filters => vec![
        (r"\b4026\d{6}\b", "[INODE]"),
        (r"…\d{4}\b", "…[INO]"),
        (r"\b10\.88\.\d+\.\d+\b", "[IP]"),
    ]}, {
        insta::assert_snapshot!(name, text);
    });
}

fn key(app: &mut App, code: KeyCode, now: Instant) {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)), now);
}

#[test]
fn screens_at_key_steps() {
    let now = Instant::now();
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        for done in [0, 3, 4, 6] {
            let app = demo::app(demo::TWO_CONTAINERS, done, lang, now);
            for (w, h) in [(80u16, 24u16), (160, 48)] {
                check(
                    &format!("step{done}_{tag}_{w}x{h}"),
                    app_screen(&app, w, h, now),
                );
            }
        }
    }
}

#[test]
fn tabs_fold_panels_on_a_small_screen() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 6, Lang::En, now);
    for tab in ["namespaces", "network", "cgroups", "events"] {
        key(&mut app, KeyCode::Tab, now);
        // Tab from the narration goes to the processes first.
        if app.focus == podlab::tui::app::Focus::Processes {
            key(&mut app, KeyCode::Tab, now);
        }
        check(
            &format!("tab_{tab}_en_80x24"),
            app_screen(&app, 80, 24, now),
        );
    }
}

#[test]
fn popups() {
    let now = Instant::now();
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let mut app = demo::app(demo::TWO_CONTAINERS, 6, lang, now);
        key(&mut app, KeyCode::Char('?'), now);
        check(&format!("help_{tag}_80x24"), app_screen(&app, 80, 24, now));
        key(&mut app, KeyCode::Esc, now);
        key(&mut app, KeyCode::Char('k'), now);
        check(
            &format!("signal_{tag}_80x24"),
            app_screen(&app, 80, 24, now),
        );
        key(&mut app, KeyCode::Esc, now);
        key(&mut app, KeyCode::Char('q'), now);
        check(&format!("quit_{tag}_80x24"), app_screen(&app, 80, 24, now));
    }
}

#[test]
fn selection_moves_marks_across_panels() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 6, Lang::En, now);
    assert_eq!(app.selected.as_deref(), Some("nginx"));
    key(&mut app, KeyCode::Down, now);
    assert_eq!(app.selected.as_deref(), Some("sidecar"));
    let text = app_screen(&app, 160, 48, now);
    // Selection is a symbol, not only a colour.
    assert!(text.lines().any(|l| l.contains("▶sidecar")), "{text}");
    assert!(text.contains("▶ sidecar"), "{text}");
}

#[test]
fn read_only_view_says_what_is_missing() {
    let now = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut app = App::new(
        Session::ReadOnly,
        Script::from_plan(&demo::plan(&pod)),
        0,
        Lang::En,
    );
    let mut obs = demo::observation(&pod, 0);
    obs.state = None;
    if let Some(s) = obs.snapshot.as_mut() {
        s.sandboxes.clear();
        s.networks.clear();
    }
    app.handle(Event::Observed(Box::new(obs)), now);
    key(&mut app, KeyCode::Char(' '), now);
    let text = app_screen(&app, 80, 24, now);
    check("read_only_en_80x24", text.clone());
    assert!(text.contains("needs root"), "{text}");
}

/// A pod built without root where nothing enforces limits: the cgroup panel says so, and why,
/// in the learner's language.
#[test]
fn the_cgroup_panel_says_when_limits_are_not_enforced() {
    use podlab::kube::pod_state::{ProcessRef, RootlessState};
    let now = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    for (lang, said) in [
        (Lang::En, "limits are not enforced: cgroup v1"),
        (Lang::Zh, "资源限制没有生效：cgroup v1"),
    ] {
        let mut app = demo::app(demo::TWO_CONTAINERS, 6, lang, now);
        assert!(!app_screen(&app, 160, 48, now).contains(said));
        let mut obs = demo::observation(&pod, 6);
        if let Some(state) = obs.state.as_mut() {
            state.rootless = Some(RootlessState {
                node: ProcessRef {
                    pid: 4000,
                    start_time: 1,
                },
                uid_map: "0 1000 1".into(),
                limits_not_enforced: Some(podlab::i18n::Text::new(
                    "limits are not enforced: cgroup v1",
                    "资源限制没有生效：cgroup v1",
                )),
            });
        }
        app.handle(Event::Observed(Box::new(obs)), now);
        let text = app_screen(&app, 160, 48, now);
        assert!(text.contains(&format!("⚠ {said}")), "{text}");
    }
}

/// Freeze (`f`): a newer observation reaches the app, but the panels keep the picture they
/// had (its "just changed" marks too, however long it stays frozen) under a mark that is
/// text, not colour; `f` again draws the newest at once, as if the panels had never stopped.
#[test]
fn frozen_panels_keep_their_picture_until_unfrozen() {
    let now = Instant::now();
    let later = now + Duration::from_secs(30);
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let newest = || Event::Observed(Box::new(demo::observation(&pod, 6)));
    for (lang, tag, mark) in [(Lang::En, "en", "❄ frozen"), (Lang::Zh, "zh", "❄ 已冻结")] {
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let mut app = demo::app(demo::TWO_CONTAINERS, 3, lang, now);
            let live = app_screen(&app, w, h, now);
            assert!(live.contains('+'), "step 3 marks what it changed:\n{live}");
            key(&mut app, KeyCode::Char('f'), now);
            let frozen = app_screen(&app, w, h, now);
            assert!(
                frozen.lines().next().unwrap_or("").contains(mark),
                "{frozen}"
            );
            assert_eq!(without_bars(&frozen), without_bars(&live));

            app.handle(newest(), later);
            app.handle(Event::Tick, later);
            let held = app_screen(&app, w, h, later);
            // All but the hint bar, which offers what can be done now (a shell in the
            // container that has started meanwhile).
            let above_hints = |s: &str| {
                s.lines()
                    .take(h as usize - 1)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(
                above_hints(&held),
                above_hints(&frozen),
                "the newest observation is not drawn while frozen"
            );
            check(&format!("frozen_{tag}_{w}x{h}"), held);

            key(&mut app, KeyCode::Char('f'), later);
            let thawed = app_screen(&app, w, h, later);
            assert!(!thawed.contains(mark), "{thawed}");
            let mut never_frozen = demo::app(demo::TWO_CONTAINERS, 3, lang, now);
            never_frozen.handle(newest(), later);
            assert_eq!(thawed, app_screen(&never_frozen, w, h, later));
        }
    }
}

/// Zoom (`z`): the focused panel takes everything between the title bar and the status line;
/// Tab moves the zoom to the next panel, Esc or `z` goes back.
#[test]
fn zoom_shows_the_focused_panel_full_screen() {
    let now = Instant::now();
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let mut app = demo::app(demo::TWO_CONTAINERS, 6, lang, now);
        let normal = app_screen(&app, 80, 24, now);
        key(&mut app, KeyCode::Tab, now);
        assert_eq!(app.focus, Focus::Processes);
        key(&mut app, KeyCode::Char('z'), now);
        assert!(app.zoomed);
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let text = app_screen(&app, w, h, now);
            let lines: Vec<&str> = text.lines().collect();
            // The panel's top border right under the title bar, its bottom border right over
            // the status line and the hints, and nothing beside it.
            assert!(
                lines[1].starts_with("┌ [") && lines[1].ends_with('┐'),
                "{text}"
            );
            assert!(lines[h as usize - 3].starts_with('└'), "{text}");
            assert_eq!(
                text.matches('┌').count(),
                1,
                "one pane on the screen:\n{text}"
            );
            check(&format!("zoom_processes_{tag}_{w}x{h}"), text);
        }
        key(&mut app, KeyCode::Tab, now);
        assert_eq!(app.focus, Focus::Namespaces);
        let text = app_screen(&app, 80, 24, now);
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.contains(&format!("[{}]", Focus::Namespaces.title().get(lang)))),
            "{text}"
        );
        key(&mut app, KeyCode::Esc, now);
        assert!(!app.zoomed);
        key(&mut app, KeyCode::Char('z'), now);
        key(&mut app, KeyCode::Char('z'), now);
        assert!(!app.zoomed);
        // Back where it was: the narration focused, every pane shown.
        key(&mut app, KeyCode::BackTab, now);
        key(&mut app, KeyCode::BackTab, now);
        assert_eq!(app.focus, Focus::Narration);
        assert_eq!(app_screen(&app, 80, 24, now), normal);
        // The narration zooms too.
        key(&mut app, KeyCode::Char('z'), now);
        let text = app_screen(&app, 80, 24, now);
        assert!(
            text.lines().nth(1).is_some_and(|l| l.starts_with("┌ ")),
            "{text}"
        );
        assert!(!text.contains(Focus::Processes.title().get(lang)), "{text}");
    }
}

/// The namespace matrix ends with the host's own namespaces, so each column shows which of
/// the pod's namespaces are the host's: `=` in the host row where pause is in the host's
/// namespace (a hostNetwork pod's net and uts), nothing where the pod has its own.
#[test]
fn the_namespace_matrix_has_a_host_row() {
    use podlab::observe::NsKind;
    let now = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let host_row = |text: &str, name: &str| {
        text.lines()
            .find(|l| {
                l.trim_start_matches('│').trim_start().starts_with(name) && l.contains("4026531836")
            })
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no host row {name:?} in\n{text}"))
    };
    for (lang, tag, name) in [(Lang::En, "en", "host"), (Lang::Zh, "zh", "宿主机")] {
        let mut app = demo::app(demo::TWO_CONTAINERS, 6, lang, now);
        app.focus = Focus::Namespaces;
        key(&mut app, KeyCode::Char('z'), now);
        let text = app_screen(&app, 160, 48, now);
        let row = host_row(&text, name);
        // Every pod of the demo has its own net namespace: no cell of the host row is marked.
        assert!(!row.contains("=4026531840"), "{row}");
        assert!(row.contains(" 4026531840"), "{row}");
        check(&format!("namespaces_host_row_{tag}_160x48"), text);

        // The same pod on the host's network: pause's net and uts are the host's.
        let mut obs = demo::observation(&pod, 6);
        let snapshot = obs.snapshot.as_mut().expect("a snapshot");
        let host = snapshot.host.namespaces.clone();
        let pause = snapshot.sandboxes[0]
            .containers
            .iter()
            .find(|c| c.is_pause)
            .and_then(|c| c.main_pid)
            .expect("pause runs");
        for p in snapshot.processes.iter_mut().filter(|p| p.pid == pause) {
            for kind in [NsKind::Net, NsKind::Uts] {
                p.namespaces.insert(kind, host[&kind]);
            }
        }
        app.handle(Event::Observed(Box::new(obs)), now);
        let text = app_screen(&app, 160, 48, now);
        let row = host_row(&text, name);
        assert!(row.contains("=4026531840"), "{row}");
        assert!(row.contains("=4026531838"), "{row}");
        assert!(!row.contains("=4026531836"), "{row}");
    }
}
