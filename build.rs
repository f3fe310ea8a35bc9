//! Build-time facts: whether this build can touch the machine, and about the machine the tests
//! will run on.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(podlab_cgroup_v2_host)");
    println!("cargo:rustc-check-cfg=cfg(podlab_host)");
    // Building pods and reading /proc need Linux and the "host" feature; any other build is
    // the portable one, which can only replay traces. One cfg says which, everywhere.
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux && std::env::var_os("CARGO_FEATURE_HOST").is_some() {
        println!("cargo:rustc-cfg=podlab_host");
    }
    // pause should be as small as Kubernetes' own (a few hundred KiB) in every build profile,
    // so what `ls -lL /proc/PID/exe` shows a learner is true of a debug build too: its symbols
    // and debug information are stripped when it is linked. podlab itself keeps them.
    if linux {
        println!("cargo:rustc-link-arg-bin=pause=-Wl,--strip-all");
        link_pause_statically();
    }
    // The real cgroup v2 tests need /sys/fs/cgroup to be a v2 tree offering cpu and memory;
    // elsewhere they are listed as ignored, with the reason, instead of passing silently.
    let controllers = Path::new("/sys/fs/cgroup/cgroup.controllers");
    if let Ok(text) = std::fs::read_to_string(controllers) {
        let offered: Vec<&str> = text.split_whitespace().collect();
        if offered.contains(&"cpu") && offered.contains(&"memory") {
            println!("cargo:rustc-cfg=podlab_cgroup_v2_host");
        }
    }
}

/// Link pause statically, as Kubernetes builds its own (`gcc -static`): no dynamic loader, no
/// shared library, nothing of the node's filesystem needed once it runs.
///
/// What `-C target-feature=+crt-static` does on the gnu target, for this one binary (rustc
/// flags apply to every crate, and a crt-static podlab would lose the host's NSS):
/// `-static-pie`, and the libraries rustc names (`-lc`, `-lgcc_s`, …) found as static
/// archives first, in a directory of links placed before the system's (ld takes the first
/// directory that has a library; `libgcc_s` is the static unwinder, `libgcc_eh.a`, as under
/// crt-static). Where the C library has no static archive (Fedora without glibc-static),
/// pause stays dynamic and the build says so.
fn link_pause_statically() {
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    let Some(out) = std::env::var_os("OUT_DIR") else {
        return;
    };
    if !gnu {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let find = |file: &str| {
        let out = std::process::Command::new(&cc)
            .arg(format!("-print-file-name={file}"))
            .output()
            .ok()?;
        let path = std::path::PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        path.is_absolute().then_some(path).filter(|p| p.exists())
    };
    let dir = Path::new(&out).join("pause-static");
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let archives = [
        ("libc.a", "libc.a"),
        ("libm.a", "libm.a"),
        ("librt.a", "librt.a"),
        ("libdl.a", "libdl.a"),
        ("libutil.a", "libutil.a"),
        ("libpthread.a", "libpthread.a"),
        ("libgcc_s.a", "libgcc_eh.a"),
    ];
    for (name, real) in archives {
        let Some(path) = find(real) else {
            println!(
                "cargo:warning=pause is linked dynamically: no static {real} (install the C library's static archives, e.g. glibc-static)"
            );
            return;
        };
        #[cfg(unix)]
        let linked = std::os::unix::fs::symlink(&path, dir.join(name));
        #[cfg(not(unix))]
        let linked = std::fs::copy(&path, dir.join(name)).map(|_| ());
        if linked.is_err() {
            return;
        }
    }
    println!("cargo:rustc-link-arg-bin=pause=-static-pie");
    println!("cargo:rustc-link-arg-bin=pause=-L{}", dir.display());
}
