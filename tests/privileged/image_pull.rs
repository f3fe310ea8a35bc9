//! Pulling over the OCI distribution protocol, from Debian's docker-registry on loopback
//! (nothing leaves the machine): the tests build their images, push them with skopeo and pull
//! them with podlab: content with whiteouts, config, cache reuse, Docker schema-2 and OCI media
//! types, a Docker Hub reference through a mirror, an unknown tag, a corrupt blob, a registry
//! that is gone.

use podlab::kube::image::Reference;
use podlab::runtime::image_store::pull::{Progress, PullOptions, PullReport};
use podlab::runtime::image_store::Store;

use crate::common::images::{
    is_whiteout, layer_dirs, sha256, temp_store as store, write_archive, Layer, Registry, TestImage,
};

fn image() -> TestImage {
    let base = Layer::busybox().file("etc/motd", b"hello\n").finish();
    let top = Layer::new()
        .dir("etc")
        .file("etc/.wh.motd", b"")
        .file("etc/added", b"added\n")
        .finish();
    let mut image = TestImage::new(vec![base, top]);
    image.gzip = true;
    image.entrypoint = vec!["/bin/sh", "-c"];
    image.cmd = vec!["echo hi"];
    image.env = vec!["PATH=/bin", "FROM_IMAGE=1"];
    image.working_dir = "/tmp";
    image.user = "app";
    image
}

/// The tests' image with a layer of its own (so its layers can be checked gone after gc),
/// pushed as `repo`; its reference.
fn stamped_and_pushed(registry: &Registry, mut image: TestImage, repo: &str) -> String {
    image.layers.push(
        Layer::new()
            .file(
                "stamp",
                format!("{}", podlab::runtime::sys::now()).as_bytes(),
            )
            .finish(),
    );
    pushed(registry, &image, repo, false);
    format!("{}/{repo}", registry.host)
}

fn pushed(registry: &Registry, image: &TestImage, repo_tag: &str, docker_types: bool) {
    let archive = write_archive(
        &format!(
            "push-{}-{}.tar",
            std::process::id(),
            repo_tag.replace(['/', ':'], "-")
        ),
        &image.oci_archive("latest", false),
    );
    registry.push(&archive, repo_tag, docker_types);
    std::fs::remove_file(&archive).ok();
}

fn pull(
    store: &Store,
    reference: &str,
    options: &PullOptions,
) -> eyre::Result<(podlab::runtime::image_store::pull::Pulled, Vec<Progress>)> {
    let mut seen = Vec::new();
    let reference = Reference::parse(reference).expect("reference");
    store
        .pull(&reference, options, |p| seen.push(p.clone()))
        .map(|p| (p, seen))
}

#[test]
fn an_image_is_pulled_with_its_files_and_config_and_cached_by_layer() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let Some(registry) = Registry::start() else {
        return;
    };
    let (_dir, shared) = store();
    // zstd layers are the same layers, already in `shared`: a store of their own fetches them.
    let (_zstd_dir, zstd_store) = store();
    // OCI and Docker media types, and zstd layers (`…layer.v1.tar+zstd`, each in two frames
    // with a skippable frame between, as zstd:chunked writes them).
    for (repo, docker_types, zstd) in [
        ("test/oci:1", false, false),
        ("test/docker:1", true, false),
        ("test/zstd:1", false, true),
    ] {
        let store = if zstd { &zstd_store } else { &shared };
        let mut image = image();
        image.zstd = zstd;
        pushed(&registry, &image, repo, docker_types);
        if zstd {
            // The registry holds the blobs as they were made: skopeo did not recompress them.
            for layer in &image.layers {
                let blob = std::fs::read(registry.blob_file(&sha256(&image.blob(layer))));
                assert_eq!(blob.expect("the zstd blob")[..4], [0x28, 0xb5, 0x2f, 0xfd]);
            }
        }
        let reference = format!("{}/{repo}", registry.host);
        let (first, seen) = pull(store, &reference, &PullOptions::default()).expect("pull");
        assert_eq!(first.reference, reference);
        assert_eq!(first.id, sha256(&image.config()));
        assert!(
            matches!(seen.first(), Some(Progress::Manifest { layers: 2, .. })),
            "{seen:?}"
        );
        let stored = store.find(&reference).unwrap().expect("stored");
        assert_eq!(stored.config.entrypoint, ["/bin/sh", "-c"]);
        assert_eq!(stored.config.env, ["PATH=/bin", "FROM_IMAGE=1"]);
        assert_eq!(stored.config.user, "app");
        let lowers = store.lowerdirs(&stored).unwrap();
        assert!(is_whiteout(&lowers[0].join("etc/motd")));
        assert_eq!(
            std::fs::read(lowers[0].join("etc/added")).unwrap(),
            b"added\n"
        );
        assert!(lowers[1].join("bin/busybox").is_file());
        // Pulled again: nothing fetched, every layer found in the store.
        let (again, seen) = pull(store, &reference, &PullOptions::default()).expect("pull again");
        assert_eq!(
            (again.layers_new, again.layers_reused, again.bytes_fetched),
            (0, 2, 0)
        );
        assert!(seen.iter().all(|p| matches!(
            p,
            Progress::Manifest { .. } | Progress::Layer { cached: true, .. }
        )));
    }
    // Both media types unpack to the same layers, and so does zstd.
    assert_eq!(layer_dirs(&shared), layer_dirs(&zstd_store));
    assert_eq!(layer_dirs(&shared).len(), 2);
}

#[test]
fn docker_hub_references_go_through_the_mirror() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let Some(registry) = Registry::start() else {
        return;
    };
    let (_dir, store) = store();
    pushed(&registry, &image(), "library/podlab-mirror-test:1", false);
    let options = PullOptions {
        mirror: Some(registry.host.clone()),
        docker_config: None,
    };
    let (pulled, _) = pull(&store, "podlab-mirror-test:1", &options).expect("pull via mirror");
    assert_eq!(pulled.reference, "docker.io/library/podlab-mirror-test:1");
    assert!(store.find("podlab-mirror-test:1").unwrap().is_some());
}

#[test]
fn failed_pulls_say_why_and_leave_nothing() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let Some(mut registry) = Registry::start() else {
        return;
    };
    let (_dir, store) = store();
    let image = image();
    pushed(&registry, &image, "test/img:1", false);
    // An unknown tag: the registry's own words.
    let err = pull(
        &store,
        &format!("{}/test/img:nope", registry.host),
        &PullOptions::default(),
    )
    .expect_err("unknown tag");
    let text = format!("{err:#}");
    assert!(text.to_lowercase().contains("manifest unknown"), "{text}");
    // A corrupt blob in the registry: refused, nothing unpacked is left.
    let top = &image.layers[1];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, top).unwrap();
    let blob = registry.blob_file(&sha256(&gz.finish().unwrap()));
    let mut bytes = std::fs::read(&blob).expect("the top layer's blob in the registry");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let err = pull(
        &store,
        &format!("{}/test/img:1", registry.host),
        &PullOptions::default(),
    )
    .expect_err("corrupt blob");
    let text = format!("{err:#}");
    assert!(
        text.contains("digest") || text.contains("corrupt"),
        "{text}"
    );
    assert!(layer_dirs(&store).is_empty(), "{:?}", layer_dirs(&store));
    assert!(store.images().unwrap().is_empty());
    // The registry gone.
    registry.stop();
    let err = pull(
        &store,
        &format!("{}/test/img:1", registry.host),
        &PullOptions::default(),
    )
    .expect_err("no registry");
    let text = format!("{err:#}");
    assert!(text.contains(&registry.host), "{text}");
    assert!(layer_dirs(&store).is_empty());
}

#[test]
fn podlab_pull_fills_the_store_that_images_lists() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let Some(registry) = Registry::start() else {
        return;
    };
    use crate::common::{podlab, stderr, stdout};
    let repo = format!("test/cli-{}:1", std::process::id());
    let reference = stamped_and_pushed(&registry, image(), &repo);
    // What a pod's shim reads: JSON lines of progress, then the result or the error.
    let missing = format!("{}/test/cli-missing:1", registry.host);
    let out = crate::common::podlab_online(&["pull", "--progress-json", &missing]);
    assert!(!out.status.success());
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with(r#"{"error":{"message":"#), "{last}");
    let out = crate::common::podlab_online(&["pull", "--progress-json", &reference]);
    assert!(out.status.success(), "pull: {}", stderr(&out));
    let lines: Vec<PullReport> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        matches!(
            lines[0],
            PullReport::Progress(Progress::Manifest { layers: 3, .. })
        ),
        "{lines:?}"
    );
    let layers = lines
        .iter()
        .filter(|l| matches!(l, PullReport::Progress(Progress::Layer { .. })))
        .count();
    assert_eq!(layers, 3, "{lines:?}");
    assert!(
        matches!(lines.last(), Some(PullReport::Pulled { size, .. }) if *size > 0),
        "{lines:?}"
    );
    let out = podlab(&["pull", &reference]);
    assert!(out.status.success(), "pull: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Pulled {reference}")),
        "{}",
        stdout(&out)
    );
    let listed = stdout(&podlab(&["images"]));
    assert!(
        listed.contains(reference.rsplit_once(':').unwrap().0),
        "{listed}"
    );
    let store = Store::default();
    let stored = store.find(&reference).unwrap().expect("stored");
    let out = podlab(&["rmi", &reference]);
    assert!(out.status.success(), "rmi: {}", stderr(&out));
    store.gc_unused_by_pods().expect("gc");
    assert!(!store.layer_dir(stored.layers.last().unwrap()).exists());
}

/// kubelet's image step in a pod: the shim pulls through `podlab pull` (IfNotPresent for a
/// tagged image), with Pulling and Pulled events, and runs the image's config; an unknown tag
/// leaves its container waiting (ErrImagePull, then ImagePullBackOff) with Failed and BackOff
/// events, and no restart counted.
#[test]
fn a_pod_pulls_its_image_as_kubelet_does() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let Some(registry) = Registry::start() else {
        return;
    };
    use crate::common::TestPod;
    use podlab::kube::pod_state::ContainerState;
    let repo = format!("test/in-pod-{}:1", std::process::id());
    let mut image = image();
    image.cmd = vec!["echo $FROM_IMAGE as $(id -u) in $(pwd); sleep 3600"];
    let reference = stamped_and_pushed(&registry, image, &repo);
    let missing = format!("{}/test/in-pod-missing:1", registry.host);
    let yaml = format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {{name}}
spec:
  containers:
  - name: app
    image: {reference}
  - name: missing
    image: {missing}
"
    );
    let pod = TestPod::run_online("pulled", &yaml, &["--time-scale", "0.1"]);
    let state = pod.wait_for("app running, missing in back-off", std::time::Duration::from_secs(30), |s| {
        let app = s.container("app").is_some_and(|c| matches!(c.state, ContainerState::Running { .. }));
        let missing = s.container("missing").is_some_and(
            |c| matches!(&c.state, ContainerState::Waiting { reason } if reason == "ImagePullBackOff"),
        );
        app && missing
    });
    assert_eq!(state.container("missing").unwrap().restart_count, 0);
    // Each pull is a creation step right before its container's, done once the pull ended.
    let ids: Vec<&str> = state.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids[ids.len() - 4..],
        [
            "pull:app",
            "container:app",
            "pull:missing",
            "container:missing"
        ],
        "{ids:?}"
    );
    assert!(state.steps.iter().all(|s| s.done), "{:?}", state.steps);
    assert!(state.container("app").unwrap().pull.is_none());
    let events = pod.events().join("\n");
    for expected in [
        format!("Pulling Pulling image {reference:?}"),
        format!("Pulled Successfully pulled image {reference:?} in "),
        format!("Failed Failed to pull image {missing:?}: "),
        "Failed Error: ErrImagePull".to_string(),
        format!("BackOff Back-off pulling image {missing:?}"),
    ] {
        assert!(events.contains(&expected), "{expected}\nin\n{events}");
    }
    assert!(!events.contains("already present on machine"), "{events}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let logs = || crate::common::stdout(&crate::common::podlab(&["logs", &pod.name, "-c", "app"]));
    while logs().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(logs().trim(), "1 as 1000 in /tmp");
    drop(pod);
    let store = Store::default();
    let stored = store
        .find(&reference)
        .unwrap()
        .expect("pulled into the store");
    store.remove(&reference).expect("rmi");
    store.gc_unused_by_pods().expect("gc");
    assert!(!store.layer_dir(stored.layers.last().unwrap()).exists());
}

/// The registry stops after the first layer came: the pull fails, and the layer it had
/// already unpacked is removed with everything else it made.
#[test]
fn a_registry_that_goes_away_mid_pull_leaves_nothing() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let Some(mut registry) = Registry::start() else {
        return;
    };
    let (_dir, store) = store();
    pushed(&registry, &image(), "test/midway:1", false);
    let reference = Reference::parse(&format!("{}/test/midway:1", registry.host)).unwrap();
    let mut layers_seen = 0;
    let err = store
        .pull(&reference, &PullOptions::default(), |p| {
            if let Progress::Layer { .. } = p {
                layers_seen += 1;
                registry.stop();
            }
        })
        .expect_err("the registry went away");
    assert_eq!(layers_seen, 1, "{err:#}");
    assert!(
        format!("{err:#}").contains("failed to fetch layer"),
        "{err:#}"
    );
    assert!(layer_dirs(&store).is_empty(), "{:?}", layer_dirs(&store));
    assert!(store.images().unwrap().is_empty());
}

/// A registry behind a token issuer, as Docker Hub is behind auth.docker.io: the registry
/// answers 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, the pull asks the
/// issuer for a token for that scope, with the credentials of a Docker `config.json`, and shows
/// the token to the registry. Without credentials the issuer says no and the pull fails with
/// that, leaving nothing in the store.
#[test]
fn a_registry_behind_a_token_issuer_is_pulled_from_with_a_bearer_token() {
    use crate::common::token_issuer::{TokenIssuer, SERVICE};
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let issuer = TokenIssuer::start(dir.path(), "ann", "secret");
    let Some(mut registry) = Registry::start_with(&issuer.registry_auth()) else {
        return;
    };
    registry.push_creds = Some("ann:secret".into());
    pushed(&registry, &image(), "test/token:1", false);
    let reference = format!("{}/test/token:1", registry.host);
    let (_store_dir, store) = store();

    // No credentials: the issuer refuses, and so does the pull.
    let anonymous = PullOptions {
        docker_config: Some(dir.path().join("no-config.json")),
        ..PullOptions::default()
    };
    let err = pull(&store, &reference, &anonymous).expect_err("no token without credentials");
    assert!(format!("{err:#}").contains("failed to pull"), "{err:#}");
    assert!(store.images().unwrap().is_empty());
    assert!(layer_dirs(&store).is_empty(), "{:?}", layer_dirs(&store));

    // With the credentials of a Docker config.json (base64 of "ann:secret").
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "YW5uOnNlY3JldA=="}}}}}}"#,
            registry.host
        ),
    )
    .unwrap();
    let with_credentials = PullOptions {
        docker_config: Some(config),
        ..PullOptions::default()
    };
    let (pulled, _) = pull(&store, &reference, &with_credentials).expect("pull with a token");
    assert_eq!(pulled.layers_new, 2);
    assert!(store.find(&reference).unwrap().is_some());
    let requests = issuer.requests.lock().unwrap().clone();
    let asked = |authorized: bool| {
        requests.iter().any(|r| {
            r.authorized == authorized
                && r.query.contains(&format!("service={SERVICE}"))
                && (r.query.contains("test%2Ftoken%3Apull") || r.query.contains("test/token:pull"))
        })
    };
    assert!(
        asked(false),
        "the anonymous pull asked for a token: {requests:?}"
    );
    assert!(
        asked(true),
        "the pull with credentials got a token: {requests:?}"
    );
}

/// Seed 003's pod with real nginx: an image built from Debian's nginx package, served by the
/// loopback registry and pulled by the pod; `nginx-proxy` listens on 80 and passes every
/// request to `nginx` on 127.0.0.1:8000, which serves /tmp/index.html: the two containers
/// reach each other on localhost because they share pause's net namespace.
#[test]
fn the_seeds_two_nginx_pod_runs_real_nginx() {
    let Some(_machine) = crate::common::privileged() else {
        return;
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let Some(nginx) = Layer::nginx_from_debian(dir.path()) else {
        return;
    };
    let Some(registry) = Registry::start() else {
        return;
    };
    use crate::common::TestPod;
    use podlab::kube::pod_state::ContainerState;
    let mut image = TestImage::new(vec![Layer::busybox().finish(), nginx.finish()]);
    image.gzip = true;
    image.cmd = vec!["nginx", "-g", "daemon off;"];
    image.env = vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
    let repo = format!("test/nginx-{}:1.22", std::process::id());
    let reference = stamped_and_pushed(&registry, image, &repo);
    // The seed's two configurations and page, as files on the host (docker run -v).
    let proxy_conf = dir.path().join("nginx.conf");
    std::fs::write(
        &proxy_conf,
        "error_log stderr;\nevents { worker_connections 1024; }\nhttp {\n    access_log /dev/stdout combined;\n    server {\n        listen      80;\n        server_name localhost;\n        location / {\n            proxy_pass http://127.0.0.1:8000;\n        }\n    }\n}\n",
    )
    .unwrap();
    let web_conf = dir.path().join("nginx2.conf");
    std::fs::write(
        &web_conf,
        "error_log stderr;\nevents { worker_connections 1024; }\nhttp {\n    access_log /dev/stdout combined;\n    server {\n        listen      8000;\n        server_name localhost;\n        root        /tmp;\n        location / {\n        }\n    }\n}\n",
    )
    .unwrap();
    let index = dir.path().join("index.html");
    std::fs::write(&index, "pause test\n").unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let yaml = format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {{name}}
spec:
  volumes:
  - {{name: proxy-conf, hostPath: {{path: {}, type: File}}}}
  - {{name: web-conf, hostPath: {{path: {}, type: File}}}}
  - {{name: index, hostPath: {{path: {}, type: File}}}}
  containers:
  - name: nginx-proxy
    image: {reference}
    volumeMounts: [{{name: proxy-conf, mountPath: /etc/nginx/nginx.conf}}]
  - name: nginx
    image: {reference}
    volumeMounts:
    - {{name: web-conf, mountPath: /etc/nginx/nginx.conf}}
    - {{name: index, mountPath: /tmp/index.html}}
",
        proxy_conf.display(),
        web_conf.display(),
        index.display()
    );
    let started = std::time::Instant::now();
    let pod = TestPod::run_online("seed-nginx", &yaml, &[]);
    pod.wait_for(
        "both nginx running",
        std::time::Duration::from_secs(60),
        |s| {
            ["nginx-proxy", "nginx"].iter().all(|n| {
                s.container(n)
                    .is_some_and(|c| matches!(c.state, ContainerState::Running { .. }))
            })
        },
    );
    // Through the proxy on 80 to the server on 8000, in the pod's one net namespace.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let out = pod.exec("nginx-proxy", &["wget", "-qO-", "http://127.0.0.1:80/"]);
        let page = crate::common::stdout(&out);
        if out.status.success() || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(page, "pause test\n", "events:\n{}", pod.events().join("\n"));
    // Real nginx: its master and worker processes, and the access logs of both.
    let comm = std::fs::read_to_string(format!("/proc/{}/cmdline", pod.pid_of("nginx")))
        .unwrap_or_default();
    assert!(comm.starts_with("nginx: master process"), "{comm:?}");
    let logs = crate::common::stdout(&crate::common::podlab(&["logs", &pod.name, "-c", "nginx"]));
    assert!(logs.contains("\"GET / HTTP/1.0\" 200"), "{logs}");
    eprintln!(
        "the seed's nginx pod served its page {:.1}s after it was asked for",
        started.elapsed().as_secs_f64()
    );
    drop(pod);
    let store = Store::default();
    store.remove(&reference).expect("rmi");
    store.gc_unused_by_pods().expect("gc");
}
