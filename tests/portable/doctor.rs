//! `podlab doctor` on machines described by fixture trees (a root directory with the files it
//! reads): this hybrid machine as root, a pure cgroup v2 machine with a subtree delegated to
//! the user, a machine without user namespaces, and Ubuntu 24.04's AppArmor restriction. The
//! facts are read from the tree; the trial's outcome is the one such a machine gives; the
//! verdicts and the report are computed from both, for the shipped lessons.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use podlab::doctor::facts::{Busybox, CgroupVersion, Setting};
use podlab::doctor::report::{render, LessonLine};
use podlab::doctor::trial::{Outcome, Trial, Use, NOBODY};
use podlab::doctor::verdict::{pod_mode, user_namespaces, Blocker, UserNs};
use podlab::doctor::{
    lesson_lines, lesson_verdict, needs_of, Build, Facts, Machine, Mode, Need, Root,
};
use podlab::i18n::Lang;
use podlab::lesson::{lesson_files, lessons_dir, load_lesson, Lesson};

const ALL_CAPS: &str = "000001ffffffffff";

/// This machine's cgroup mounts: v1 controllers on a tmpfs, and a cgroup2 mount without
/// controllers at /sys/fs/cgroup/unified.
const HYBRID_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,relatime shared:8 - tmpfs tmpfs rw,mode=755
27 26 0:25 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
28 26 0:26 / /sys/fs/cgroup/cpuacct rw,relatime shared:10 - cgroup cgroup rw,cpuacct
29 26 0:27 / /sys/fs/cgroup/memory rw,relatime shared:11 - cgroup cgroup rw,memory
30 26 0:28 / /sys/fs/cgroup/pids rw,relatime shared:12 - cgroup cgroup rw,pids
31 26 0:29 / /sys/fs/cgroup/systemd rw,relatime shared:13 - cgroup cgroup rw,name=systemd
32 26 0:30 / /sys/fs/cgroup/unified rw,relatime shared:14 - cgroup2 cgroup2 rw
";

const V2_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

/// A machine as a directory.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        f.write(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        );
        f.write("/proc/sys/user/max_user_namespaces", "96365\n");
        f
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.dir.path().join(absolute.trim_start_matches('/'))
    }

    fn write(&self, absolute: &str, text: &str) {
        let path = self.path(absolute);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }

    fn user(&self, uid: u32, cap_eff: &str) -> &Fixture {
        self.write(
            "/proc/self/status",
            &format!(
                "Name:\tpodlab\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\nCapEff:\t{cap_eff}\n"
            ),
        );
        self
    }

    /// A static busybox: an ELF header with no program headers (so no interpreter).
    fn static_busybox(&self) -> &Fixture {
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little endian
        elf[6] = 1;
        elf[16] = 2; // ET_EXEC
        elf[18] = 0x3e; // x86-64
        elf[20] = 1;
        elf[32] = 64; // e_phoff
        elf[52] = 64; // e_ehsize
        elf[54] = 56; // e_phentsize
        let path = self.path("/usr/bin/busybox");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, elf).expect("write busybox");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    fn cni(&self) -> &Fixture {
        for plugin in ["bridge", "host-local", "loopback"] {
            self.write(&format!("/usr/lib/cni/{plugin}"), "");
        }
        self
    }

    fn hybrid(&self) -> &Fixture {
        self.write("/proc/self/mountinfo", HYBRID_MOUNTINFO);
        self.write("/proc/self/cgroup", "4:memory:/\n1:cpu:/\n0::/\n");
        self
    }

    /// Pure v2, the process in `own`, the root offering every usual controller.
    fn v2(&self, own: &str) -> &Fixture {
        self.write("/proc/self/mountinfo", V2_MOUNTINFO);
        self.write("/proc/self/cgroup", &format!("0::{own}\n"));
        self.write(
            "/sys/fs/cgroup/cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        );
        self
    }

    /// The user's `user@UID.service`, handing down `controllers`, owned by `owner`.
    fn user_subtree(&self, uid: u32, controllers: &str, owner: u32) -> &Fixture {
        let dir = format!("/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service");
        self.write(&format!("{dir}/cgroup.controllers"), controllers);
        self.write(&format!("{dir}/cgroup.subtree_control"), controllers);
        self.write(&format!("{dir}/cgroup.procs"), "");
        for f in [
            "",
            "cgroup.controllers",
            "cgroup.subtree_control",
            "cgroup.procs",
        ] {
            let path = self.path(&dir).join(f);
            if nix::unistd::geteuid().is_root() {
                std::os::unix::fs::chown(&path, Some(owner), Some(owner)).expect("chown");
            }
        }
        self
    }

    fn facts(&self) -> Facts {
        Facts::read(&Root::new(self.dir.path()))
    }
}

/// The uid that owns what the tests write (as root they hand files to 1000), so that a
/// fixture user can own a delegated subtree.
fn owner_uid() -> u32 {
    if nix::unistd::geteuid().is_root() {
        1000
    } else {
        nix::unistd::getuid().as_raw()
    }
}

fn shipped_lessons() -> Vec<Lesson> {
    let files = lesson_files(&lessons_dir()).expect("lesson files");
    let lessons: Vec<Lesson> = files
        .iter()
        .map(|f| load_lesson(f).expect("shipped lesson"))
        .collect();
    assert!(lessons.len() >= 13, "the shipped lessons");
    lessons
}

fn lesson(lessons: &[Lesson], prefix: &str) -> Lesson {
    lessons
        .iter()
        .find(|l| l.id().starts_with(prefix))
        .unwrap_or_else(|| panic!("lesson {prefix}"))
        .clone()
}

fn machine(facts: Facts, trial: Outcome, uid: u32, rootless: bool) -> Machine {
    Machine {
        facts,
        trial: Some(Trial {
            uid,
            outcome: trial,
        }),
        build: Build { rootless },
    }
}

fn report(m: &Machine, lines: &[LessonLine], lang: Lang) -> String {
    render(m, Path::new("contrib/apparmor/podlab"), lines, lang)
}

#[test]
fn this_hybrid_machine_as_root_runs_every_lesson() {
    let f = Fixture::new();
    f.user(0, ALL_CAPS).hybrid().static_busybox().cni();
    let facts = f.facts();
    let user = facts.user.as_ref().expect("user");
    assert!(user.is_root() && user.cap_sys_admin);
    assert_eq!(user.name.as_deref(), Some("root"));
    let cgroups = facts.cgroups.as_ref().expect("cgroups");
    assert_eq!(cgroups.version, CgroupVersion::Hybrid);
    assert!(cgroups.has_controllers(&["cpu", "memory", "pids"]));
    assert_eq!(cgroups.user_subtree, None, "root needs no subtree");
    assert_eq!(facts.busybox, Busybox::Static("/usr/bin/busybox".into()));
    assert_eq!(facts.cni, Some(PathBuf::from("/usr/lib/cni")));
    assert_eq!(facts.userns.max_user_namespaces, Setting::Value(96365));
    assert_eq!(facts.userns.unprivileged_userns_clone, Setting::Absent);

    let m = machine(facts, Outcome::Works, NOBODY, false);
    assert_eq!(pod_mode(&m), Ok(Mode::Root));
    assert_eq!(user_namespaces(&m), UserNs::Usable);
    let lessons = shipped_lessons();
    let lines = lesson_lines(&m, &lessons);
    for line in &lines {
        assert!(line.verdict.runs(), "{}: {:?}", line.id, line.verdict);
        assert_eq!(line.verdict.mode, Some(Mode::Root));
    }
    let en = report(&m, &lines, Lang::En);
    assert!(en.contains("✓ root (uid 0)"), "{en}");
    assert!(en.contains("hybrid (cgroup v1 controllers"), "{en}");
    assert!(en.contains("tried as nobody (uid 65534)"), "{en}");
    assert!(
        en.contains(&format!("{n} of {n} lessons run here", n = lessons.len())),
        "{en}"
    );
    assert!(
        !en.contains('✗'),
        "no problem on this machine as root:\n{en}"
    );
    let zh = report(&m, &lines, Lang::Zh);
    assert!(zh.contains("混合模式"), "{zh}");
    assert!(zh.contains("可以在这里以 root 运行"), "{zh}");
}

#[test]
fn a_v2_machine_with_a_delegated_subtree_runs_lessons_without_root() {
    let uid = owner_uid();
    let f = Fixture::new();
    let own = format!("/user.slice/user-{uid}.slice/user@{uid}.service/app.slice/term.scope");
    f.user(uid, "0000000000000000")
        .v2(&own)
        .user_subtree(uid, "cpu memory pids\n", uid)
        .static_busybox();
    let facts = f.facts();
    let cgroups = facts.cgroups.as_ref().expect("cgroups");
    assert_eq!(cgroups.version, CgroupVersion::V2);
    let subtree = cgroups
        .user_subtree
        .clone()
        .expect("a user subtree")
        .expect("readable");
    assert_eq!(
        subtree.path,
        format!("/user.slice/user-{uid}.slice/user@{uid}.service")
    );
    assert!(subtree.writable, "owned by the user: {subtree:?}");
    assert!(subtree.delegates(&["cpu", "memory"]));

    let lessons = shipped_lessons();
    // A build that builds pods without root: lessons run, those that need the host's
    // user namespace do not.
    let m = machine(facts.clone(), Outcome::Works, uid, true);
    assert_eq!(pod_mode(&m), Ok(Mode::Rootless));
    let resources = lesson(&lessons, "08");
    assert!(needs_of(&resources).contains(&Need::CgroupLimits { checked: true }));
    let v = lesson_verdict(&m, &needs_of(&resources));
    assert!(v.runs(), "limits are delegated: {v:?}");
    assert_eq!(v.mode, Some(Mode::Rootless));
    let pause = lesson_verdict(&m, &needs_of(&lesson(&lessons, "02")));
    assert!(pause.runs(), "{pause:?}");
    let hostnet = lesson_verdict(&m, &[Need::Pods, Need::HostNamespace("hostNetwork")]);
    assert!(!hostnet.runs());
    assert_eq!(hostnet.reason().en, "needs root: hostNetwork");
    // Lesson 24 compares the pod's user namespace with the host's, then has the learner ask
    // for one of the pod's own: both need root.
    let userns = lesson_verdict(&m, &needs_of(&lesson(&lessons, "24")));
    assert!(!userns.runs(), "{userns:?}");
    let said: Vec<&str> = userns.blockers.iter().map(|b| b.en.as_str()).collect();
    assert!(
        said.contains(&"needs root: hostUsers: false gives a pod 65536 of the host's ids"),
        "{said:?}"
    );
    let en = report(&m, &lesson_lines(&m, &lessons), Lang::En);
    assert!(en.contains("is delegated to you: cpu memory pids"), "{en}");
    assert!(en.contains("runs here without root"), "{en}");

    // This build (pods only as root): every lesson plays its recording, and says so.
    let m = machine(facts, Outcome::Works, uid, false);
    let lines = lesson_lines(&m, &lessons);
    for line in &lines {
        assert!(!line.verdict.runs(), "{}", line.id);
        assert_eq!(line.verdict.reason().en, "needs root (sudo)");
        let trace = line.trace.as_ref().expect("a shipped trace");
        assert!(trace.is_file(), "{}", trace.display());
    }
    let zh = report(&m, &lines, Lang::Zh);
    assert!(zh.contains("可以改为回放录制的轨迹：podlab replay"), "{zh}");
    assert!(zh.contains("需要 root（sudo）"), "{zh}");
}

#[test]
fn a_v2_subtree_that_is_not_the_users_enforces_no_limits() {
    let owner = owner_uid();
    let uid = owner + 1;
    let f = Fixture::new();
    f.user(uid, "0000000000000000")
        .v2(&format!("/user.slice/user-{uid}.slice/session-3.scope"))
        .user_subtree(uid, "cpu memory pids\n", owner)
        .static_busybox();
    let facts = f.facts();
    let subtree = facts
        .cgroups
        .as_ref()
        .expect("cgroups")
        .user_subtree
        .clone();
    let subtree = subtree
        .expect("found where systemd puts it")
        .expect("readable");
    assert!(!subtree.writable, "{subtree:?}");

    let m = machine(facts, Outcome::Works, uid, true);
    let lessons = shipped_lessons();
    let resources = lesson_verdict(&m, &needs_of(&lesson(&lessons, "08")));
    assert!(!resources.runs());
    assert_eq!(
        resources.reason().en,
        "cpu and memory are not delegated to you"
    );
    // Requests and limits in a manifest that no step checks: it runs, and says so.
    let unchecked = load_lesson(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lessons/requests-unchecked.yaml"),
    )
    .expect("fixture lesson");
    let sharing = lesson_verdict(&m, &needs_of(&unchecked));
    assert!(sharing.runs(), "{sharing:?}");
    assert!(
        sharing
            .notes
            .iter()
            .any(|n| n.en.starts_with("limits are not enforced")),
        "{sharing:?}"
    );
    let en = report(&m, &lesson_lines(&m, &lessons), Lang::En);
    assert!(en.contains("is not delegated to you (not yours)"), "{en}");
    assert!(en.contains("Delegate=cpu cpuset io memory pids"), "{en}");

    // No busybox: no images, unless podlab's set-up can install it with apt-get.
    std::fs::remove_file(f.path("/usr/bin/busybox")).expect("rm busybox");
    let m = machine(f.facts(), Outcome::Works, uid, true);
    assert_eq!(m.facts.busybox, Busybox::Missing);
    let v = lesson_verdict(&m, &needs_of(&unchecked));
    assert_eq!(v.reason().en, "no static busybox for the images");
    assert!(report(&m, &[], Lang::En).contains("✗ no busybox"));
    f.write("/usr/bin/apt-get", "");
    let m = machine(f.facts(), Outcome::Works, uid, true);
    let v = lesson_verdict(&m, &needs_of(&unchecked));
    assert!(v.runs(), "{v:?}");
    assert!(v.notes[0].en.contains("busybox-static"), "{v:?}");
}

#[test]
fn a_machine_without_user_namespaces_says_which_setting_and_its_fix() {
    let f = Fixture::new();
    f.user(1000, "0000000000000000")
        .v2("/user.slice/user-1000.slice/session-1.scope");
    f.write("/proc/sys/user/max_user_namespaces", "0\n");
    let facts = f.facts();
    assert_eq!(facts.userns.max_user_namespaces, Setting::Value(0));
    assert_eq!(
        facts.cgroups.as_ref().expect("cgroups").user_subtree,
        None,
        "no systemd user session"
    );
    let m = machine(
        facts.clone(),
        Outcome::CannotCreate {
            errno: libc::ENOSPC,
        },
        1000,
        true,
    );
    assert_eq!(user_namespaces(&m), UserNs::Blocked(Blocker::MaxZero));
    let lessons = shipped_lessons();
    for line in lesson_lines(&m, &lessons) {
        assert_eq!(
            line.verdict.reason().en,
            "user namespaces are off (max_user_namespaces 0)"
        );
    }
    for lang in [Lang::En, Lang::Zh] {
        let text = report(&m, &lesson_lines(&m, &lessons), lang);
        assert!(
            text.contains("sysctl -w user.max_user_namespaces=15000"),
            "{text}"
        );
        assert!(text.contains("user.max_user_namespaces = 0"), "{text}");
        assert!(text.contains("podlab replay"), "{text}");
    }
    // The setting alone says it when no trial was made.
    let untried = Machine { trial: None, ..m };
    assert_eq!(user_namespaces(&untried), UserNs::Blocked(Blocker::MaxZero));
    // Debian's switch.
    f.write("/proc/sys/user/max_user_namespaces", "15000\n");
    f.write("/proc/sys/kernel/unprivileged_userns_clone", "0\n");
    let debian = machine(
        f.facts(),
        Outcome::CannotCreate { errno: libc::EPERM },
        1000,
        true,
    );
    assert_eq!(
        user_namespaces(&debian),
        UserNs::Blocked(Blocker::CloneDisabled)
    );
    let text = report(&debian, &[], Lang::En);
    assert!(
        text.contains("sysctl -w kernel.unprivileged_userns_clone=1"),
        "{text}"
    );
}

#[test]
fn the_apparmor_restriction_is_found_and_the_shipped_profile_is_the_fix() {
    let f = Fixture::new();
    f.user(1000, "0000000000000000")
        .v2("/user.slice/user-1000.slice/session-1.scope");
    f.write(
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        "1\n",
    );
    let facts = f.facts();
    assert_eq!(facts.userns.apparmor_restrict, Setting::Value(1));
    // Created, then using it fails: what the restriction does.
    for outcome in [
        Outcome::CannotUse {
            what: Use::NetNamespace,
            errno: libc::EPERM,
        },
        Outcome::CannotMap { errno: libc::EPERM },
    ] {
        let m = machine(facts.clone(), outcome, 1000, true);
        assert_eq!(user_namespaces(&m), UserNs::Blocked(Blocker::AppArmor));
        let lessons = shipped_lessons();
        let lines = lesson_lines(&m, &lessons);
        assert!(lines
            .iter()
            .all(|l| l.verdict.reason().en == "AppArmor forbids user namespaces"));
        let en = report(&m, &lines, Lang::En);
        assert!(en.contains("Ubuntu's AppArmor restriction"), "{en}");
        assert!(
            en.contains("sudo install -m 644 contrib/apparmor/podlab /etc/apparmor.d/podlab && sudo apparmor_parser -r /etc/apparmor.d/podlab"),
            "{en}"
        );
        let zh = report(&m, &lines, Lang::Zh);
        assert!(zh.contains("AppArmor 限制"), "{zh}");
        assert!(zh.contains("apparmor_parser -r"), "{zh}");
    }
    // A creation that fails is not blamed on AppArmor.
    let m = machine(
        facts,
        Outcome::CannotCreate { errno: libc::EPERM },
        1000,
        true,
    );
    assert!(matches!(
        user_namespaces(&m),
        UserNs::Blocked(Blocker::Other { .. })
    ));
    // With podlab's profile loaded, the restriction is on and podlab may.
    f.write("/proc/self/attr/apparmor/current", "podlab (unconfined)\n");
    let m = machine(f.facts(), Outcome::Works, 1000, true);
    assert!(m.facts.userns.under_podlab_profile());
    assert_eq!(user_namespaces(&m), UserNs::Usable);
    let en = report(&m, &[], Lang::En);
    assert!(en.contains("podlab's profile allows them"), "{en}");
}

#[test]
fn the_shipped_profile_allows_user_namespaces_to_podlab() {
    let profile = podlab::doctor::apparmor_profile();
    let text = std::fs::read_to_string(&profile).expect("contrib/apparmor/podlab");
    let body: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        body.iter()
            .any(|l| l.starts_with("profile podlab ") && l.contains("flags=(unconfined)")),
        "{text}"
    );
    assert!(body.contains(&"userns,"), "{text}");
}

#[test]
fn facts_that_cannot_be_read_are_unknown_with_the_reason() {
    let f = Fixture::new();
    f.write("/proc/sys/user/max_user_namespaces", "lots\n");
    f.write("/proc/self/status", "Name:\tpodlab\n");
    let facts = f.facts();
    let user = facts.user.clone().expect_err("no Uid line");
    assert!(user.why.contains("Uid"), "{user}");
    let cgroups = facts.cgroups.clone().expect_err("no mountinfo");
    assert_eq!(cgroups.path, Path::new("/proc/self/mountinfo"));
    assert!(matches!(
        facts.userns.max_user_namespaces,
        Setting::Unreadable(_)
    ));
    let m = Machine {
        facts,
        trial: None,
        build: Build { rootless: true },
    };
    assert!(pod_mode(&m).is_err());
    for lang in [Lang::En, Lang::Zh] {
        let text = report(&m, &lesson_lines(&m, &shipped_lessons()), lang);
        assert!(text.contains("? "), "{text}");
        assert!(text.contains("/proc/self/mountinfo"), "{text}");
    }
}

#[test]
fn what_a_lesson_needs_comes_from_the_lesson() {
    let lessons = shipped_lessons();
    let needs = |p: &str| needs_of(&lesson(&lessons, p));
    // Lesson 01 compares the pod's user namespace with the node's: true as root and rootless.
    assert!(!needs("01").contains(&Need::HostUserNamespace));
    assert!(needs("06").contains(&Need::HostPath));
    assert!(needs("08").contains(&Need::CgroupLimits { checked: true }));
    assert!(!needs("08").contains(&Need::CgroupLimits { checked: false }));
    assert!(needs("13").contains(&Need::StaticPods));
    // hostUsers: false, written by a task's solution: root gives the pod its ids.
    assert!(needs("24").contains(&Need::OwnUserNamespace));
    assert!(needs("24").contains(&Need::HostUserNamespace));
    for l in &lessons {
        let n = needs_of(l);
        assert_eq!(n[..2], [Need::Pods, Need::Busybox], "{}", l.id());
    }
}
