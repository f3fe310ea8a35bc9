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
