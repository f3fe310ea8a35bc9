//! The image store on a real filesystem: archives loaded in both formats, layers unpacked
//! with overlayfs's whiteouts and opaque directories, shared between images, checked against
//! their digests, hostile layers refused with nothing left behind, `rmi` and `gc`.

use std::collections::BTreeSet;
use std::path::Path;

use podlab::runtime::image_store::Store;

use crate::common::images::{
    is_whiteout, layer_dirs, sha256, temp_store as store, write_archive, Layer, TestImage,
};

fn opaque(dir: &Path) -> bool {
    let mut value = [0u8; 4];
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}

fn three_layers() -> Vec<Vec<u8>> {
    let base = Layer::busybox()
        .dir("etc/old")
        .file("etc/old/a", b"a")
        .file("etc/motd", b"hello\n")
        .finish();
    let whiteout = Layer::new()
        .dir("etc")
        .file("etc/.wh.motd", b"")
        .file("etc/added", b"added\n")
        .finish();
    let opaque = Layer::new()
        .dir("etc")
        .dir("etc/old")
        .file("etc/old/.wh..wh..opq", b"")
        .file("etc/old/b", b"b")
        .finish();
    vec![base, whiteout, opaque]
}

#[test]
fn an_oci_archive_loads_with_whiteouts_and_opaque_dirs() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let (_dir, store) = store();
    let mut image = TestImage::new(three_layers());
    image.gzip = true;
    image.entrypoint = vec!["/bin/sh", "-c"];
    image.cmd = vec!["echo hi"];
    image.working_dir = "/home/app";
    image.user = "app";
    let archive = write_archive(
        "oci-three.tar",
        &image.oci_archive("localhost/three:1", false),
    );
    let loaded = store.load(&archive).expect("load");
    std::fs::remove_file(&archive).ok();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].references, ["localhost/three:1"]);
    assert_eq!(loaded[0].layers_new, 3);
    assert_eq!(loaded[0].id, sha256(&image.config()));
    let stored = store.find("localhost/three:1").unwrap().expect("stored");
    assert_eq!(stored.config.entrypoint, ["/bin/sh", "-c"]);
    assert_eq!(stored.config.cmd, ["echo hi"]);
    assert_eq!(stored.config.working_dir, "/home/app");
    assert_eq!(stored.config.user, "app");
    let lowers = store.lowerdirs(&stored).expect("lowerdirs");
    assert_eq!(lowers.len(), 3);
    // Top first, as overlayfs lists lower directories.
    let (top, middle, bottom) = (&lowers[0], &lowers[1], &lowers[2]);
    assert!(bottom.join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(bottom.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert!(is_whiteout(&middle.join("etc/motd")), "motd whited out");
    assert_eq!(std::fs::read(middle.join("etc/added")).unwrap(), b"added\n");
    assert!(opaque(&top.join("etc/old")), "etc/old is opaque");
    assert!(!top.join("etc/old/.wh..wh..opq").exists());
    assert_eq!(std::fs::read(top.join("etc/old/b")).unwrap(), b"b");
    // The store's short name, the ID and a prefix find it too.
    assert!(store.find(&stored.id).unwrap().is_some());
    assert!(store.find(stored.short_id()).unwrap().is_some());
}

#[test]
fn a_docker_archive_loads_and_shares_layers_with_an_oci_one() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let (_dir, store) = store();
    let layers = three_layers();
    let first = TestImage::new(layers[..2].to_vec());
    let archive = write_archive("docker-two.tar", &first.docker_archive("shared:v1"));
    let loaded = store.load(&archive).expect("load docker archive");
    std::fs::remove_file(&archive).ok();
    assert_eq!(loaded[0].references, ["docker.io/library/shared:v1"]);
    assert_eq!(loaded[0].layers_new, 2);
    // The same two layers below a third: only the third is new.
    let second = TestImage::new(layers.clone());
    let archive = write_archive(
        "oci-shared.tar",
        &second.oci_archive("localhost/shared:v2", false),
    );
    let loaded = store.load(&archive).expect("load oci archive");
    std::fs::remove_file(&archive).ok();
    assert_eq!((loaded[0].layers_new, loaded[0].layers_reused), (1, 2));
    assert_eq!(layer_dirs(&store).len(), 3);
    // rmi of the first image leaves its layers to the second; gc removes none of them.
    let removed = store.remove("shared:v1").expect("rmi");
    assert!(
        removed.iter().any(|l| l.starts_with("Deleted: sha256:")),
        "{removed:?}"
    );
    assert!(store.find("shared:v1").unwrap().is_none());
    let gc = store.gc(&BTreeSet::new()).expect("gc");
    assert!(gc.layers_removed.is_empty(), "{:?}", gc.layers_removed);
    // Once the second goes, its layers go at gc, except one a container still stacks.
    let kept = store.layer_dir(&sha256(&layers[0]));
    store.remove("localhost/shared:v2").expect("rmi");
    let gc = store.gc(&BTreeSet::from([kept.clone()])).expect("gc");
    assert_eq!(gc.layers_removed.len(), 2);
    assert!(gc.bytes_freed > 0);
    assert!(kept.is_dir());
    assert_eq!(layer_dirs(&store).len(), 1);
    assert!(store.remove("localhost/shared:v2").is_err(), "already gone");
}

/// A load that fails leaves the store as it was: no layer, no private directory, no image.
fn assert_refused(store: &Store, archive: &[u8], name: &str, expected: &str) {
    let before = layer_dirs(store);
    let path = write_archive(name, archive);
    let err = store.load(&path).expect_err("the load is refused");
    std::fs::remove_file(&path).ok();
    let text = format!("{err:#}");
    assert!(text.contains(expected), "{text}");
    assert_eq!(layer_dirs(store), before, "nothing left after: {text}");
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn hostile_and_corrupt_layers_are_refused_with_nothing_left() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let (dir, store) = store();
    let good = Layer::new().file("ok", b"ok").finish();
    // A corrupt blob: its digest no longer matches.
    let image = TestImage::new(vec![good.clone(), Layer::new().file("b", b"b").finish()]);
    assert_refused(
        &store,
        &image.oci_archive("localhost/bad:1", true),
        "corrupt.tar",
        "is corrupt",
    );
    // A path that climbs out of the layer.
    let escape = Layer::new().raw_file("../../escaped", b"x").finish();
    let image = TestImage::new(vec![good.clone(), escape]);
    assert_refused(
        &store,
        &image.oci_archive("localhost/bad:2", false),
        "escape.tar",
        "climbs out of the layer",
    );
    assert!(!dir.path().join("escaped").exists());
    // An absolute symlink, then a file written through it onto the host.
    let target = dir.path().join("outside");
    std::fs::create_dir(&target).unwrap();
    let through = Layer::new()
        .symlink("link", target.to_str().unwrap())
        .file("link/planted", b"x")
        .finish();
    let image = TestImage::new(vec![good.clone(), through]);
    assert_refused(
        &store,
        &image.oci_archive("localhost/bad:3", false),
        "symlink.tar",
        "outside",
    );
    assert!(
        !target.join("planted").exists(),
        "nothing written through the link"
    );
    // A whiteout through the same link.
    let through = Layer::new()
        .symlink("link", target.to_str().unwrap())
        .file("link/.wh.x", b"")
        .finish();
    let image = TestImage::new(vec![through]);
    assert_refused(
        &store,
        &image.docker_archive("bad:4"),
        "whiteout-link.tar",
        "symlink",
    );
    // A config whose DiffIDs do not match the layers (a docker archive has no blob digests).
    let mut archive = TestImage::new(vec![good]).docker_archive("bad:5");
    let needle = b"ok";
    let at = archive
        .windows(needle.len())
        .rposition(|w| w == needle)
        .expect("layer content in the archive");
    archive[at] = b'K';
    assert_refused(&store, &archive, "diffid.tar", "does not match its digest");
    assert!(std::fs::read_dir(&target).unwrap().next().is_none());
    // An attribute that would change how overlayfs reads the layers (a forged opaque mark).
    let forged = Layer::new()
        .dir("etc")
        .file_with_xattrs("etc/x", b"x", &[("trusted.overlay.opaque", b"y")])
        .finish();
    assert_refused(
        &store,
        &TestImage::new(vec![forged]).oci_archive("localhost/bad:6", false),
        "overlay-xattr.tar",
        "would change how overlayfs reads the layers",
    );
}

/// Extended attributes from a layer's PAX headers, as containerd applies them: a file
/// capability (`security.capability`, what `setcap cap_net_raw+ep` writes on ping) and a
/// `user.*` attribute stay on the unpacked files, in gzip and in zstd layers alike (the zstd
/// one in two frames with a skippable frame between, as zstd:chunked writes them).
#[test]
fn layer_xattrs_and_zstd_layers_are_unpacked_as_containerd_does() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    use crate::common::images::{cap_net_raw_ep, xattr};
    let caps = cap_net_raw_ep();
    let top = Layer::new()
        .dir("bin")
        .file_with_xattrs(
            "bin/pinger",
            b"#!/bin/sh\n",
            &[("security.capability", &caps), ("user.podlab.note", b"hi")],
        )
        .finish();
    for zstd in [false, true] {
        let (_dir, store) = store();
        let mut image = TestImage::new(vec![three_layers().remove(0), top.clone()]);
        image.gzip = !zstd;
        image.zstd = zstd;
        let path = write_archive(
            &format!("xattrs-{zstd}.tar"),
            &image.oci_archive("localhost/xattrs:1", false),
        );
        let loaded = store.load(&path).expect("load");
        std::fs::remove_file(&path).ok();
        assert_eq!(
            loaded[0].not_kept,
            Default::default(),
            "as root everything is kept"
        );
        let stored = store.find("localhost/xattrs:1").unwrap().expect("stored");
        let lowers = store.lowerdirs(&stored).unwrap();
        let pinger = lowers[0].join("bin/pinger");
        assert_eq!(
            xattr(&pinger, "security.capability"),
            Some(caps.clone()),
            "zstd: {zstd}"
        );
        assert_eq!(
            xattr(&pinger, "user.podlab.note").as_deref(),
            Some(&b"hi"[..])
        );
        assert!(lowers[1].join("bin/busybox").is_file(), "zstd: {zstd}");
        let getcap = std::process::Command::new("getcap").arg(&pinger).output();
        if let Ok(out) = getcap {
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(said.contains("cap_net_raw=ep"), "getcap: {said}");
        }
    }
}

/// A pod whose image comes from `podlab load`: the image's own files (whiteouts and opaque
/// directories applied by overlayfs), its Entrypoint and Cmd combined with the pod's command
/// and args by Kubernetes' rules, its Env under the pod's, its WorkingDir and User. Then
/// `podlab images`, `rmi`, and gc of the layers once the pod is gone.
#[test]
fn a_pod_runs_a_loaded_images_files_and_config() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    use crate::common::{podlab, stderr, stdout, TestPod};
    let stamp = format!("{}-{}", std::process::id(), podlab::runtime::sys::now());
    let reference = format!("localhost/podlab-test/config-{}:1", std::process::id());
    let mut layers = three_layers();
    layers.push(Layer::new().file("stamp", stamp.as_bytes()).finish());
    let mut image = TestImage::new(layers);
    image.entrypoint = vec!["/bin/sh", "-c"];
    image.cmd = vec!["echo started as $(id -u):$(id -g) in $(pwd) with $GREETING; sleep 3600"];
    image.env = vec!["PATH=/bin", "GREETING=hello"];
    image.working_dir = "/home/app";
    image.user = "app";
    let archive = write_archive(
        &format!("pod-image-{}.tar", std::process::id()),
        &image.oci_archive(&reference, false),
    );
    let out = podlab(&["load", "-i", archive.to_str().unwrap()]);
    std::fs::remove_file(&archive).ok();
    assert!(out.status.success(), "load: {}", stderr(&out));
    assert!(stdout(&out).contains(&reference), "{}", stdout(&out));
    let listed = stdout(&podlab(&["images"]));
    let id = sha256(&image.config());
    assert!(
        listed.contains(&id.trim_start_matches("sha256:")[..12]),
        "{listed}"
    );
    let yaml = format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {{name}}
spec:
  containers:
  - name: app
    image: {reference}
  - name: args
    image: {reference}
    args: [\"echo args $GREETING $EXTRA in $(pwd); sleep 3600\"]
    workingDir: /tmp
    env:
    - name: GREETING
      value: pod-wins
    - name: EXTRA
      value: pod
  - name: command
    image: {reference}
    command: [\"sleep\", \"3600\"]
"
    );
    let pod = TestPod::run("loaded", &yaml);
    pod.wait_for("all running", std::time::Duration::from_secs(20), |s| {
        s.containers.iter().all(|c| {
            matches!(
                c.state,
                podlab::kube::pod_state::ContainerState::Running { .. }
            )
        })
    });
    let logs = |c: &str| stdout(&podlab(&["logs", &pod.name, "-c", c]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (logs("app").is_empty() || logs("args").is_empty())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        logs("app").trim(),
        "started as 1000:1000 in /home/app with hello"
    );
    assert_eq!(logs("args").trim(), "args pod-wins pod in /tmp");
    // The image's files as overlayfs merges its layers.
    assert_eq!(pod.sh("command", "cat /stamp"), stamp);
    assert_eq!(pod.sh("command", "cat /etc/added"), "added\n");
    assert_eq!(pod.sh("command", "ls /etc/old"), "b\n");
    assert!(!pod.exec("command", &["cat", "/etc/motd"]).status.success());
    let events = pod.events().join("\n");
    assert!(
        events.contains(&format!(
            "Pulled Container image {reference:?} already present on machine"
        )),
        "{events}"
    );
    // The layers stay while the pod stacks them, even once the image is removed.
    let store = Store::default();
    let stored = store.find(&reference).unwrap().expect("stored image");
    let out = podlab(&["rmi", &reference]);
    assert!(out.status.success(), "rmi: {}", stderr(&out));
    store.gc_unused_by_pods().expect("gc");
    for l in &stored.layers {
        assert!(store.layer_dir(l).is_dir(), "layer {l} kept for the pod");
    }
    drop(pod);
    store.gc_unused_by_pods().expect("gc");
    let named: BTreeSet<String> = store
        .images()
        .unwrap()
        .into_iter()
        .flat_map(|i| i.layers)
        .collect();
    for l in &stored.layers {
        assert_eq!(store.layer_dir(l).is_dir(), named.contains(l), "layer {l}");
    }
    assert!(!store.layer_dir(stored.layers.last().unwrap()).exists());
}
