//! Every malformed manifest under tests/manifests/bad fails at the place its first line
//! names (`# expect: LINE:COLUMN message fragment`), without panicking; every good one
//! loads with the values and warnings asserted here.

use crate::common;

use std::path::{Path, PathBuf};

use common::corpus::{corpus_files, expectation};
use podlab::i18n::Lang;
use podlab::spec::{
    load_pod_file, parse_pod, ContainerRestartPolicy, HostPathType, LoadedPod, PortRef, Protocol,
    RestartPolicy,
};

fn manifests(dir: &str) -> Vec<PathBuf> {
    corpus_files(&format!("tests/manifests/{dir}"))
}

#[test]
fn every_bad_manifest_fails_where_expected() {
    let files = manifests("bad");
    assert!(files.len() >= 40, "only {} bad manifests", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let expected = expectation(path);
        let outcome = std::panic::catch_unwind(|| load_pod_file(path));
        let name = path.display();
        match outcome {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(_)) => failures.push(format!("{name}: loaded without error")),
            Ok(Err(err)) => {
                let Some(first) = err.first() else {
                    failures.push(format!("{name}: error without problems"));
                    continue;
                };
                let rendered = first.render(Lang::En);
                let place = first.location.as_ref().map(|l| (l.line, l.column));
                if place != Some((expected.line, expected.column)) {
                    failures.push(format!(
                        "{name}: expected {}:{}, got {place:?}: {rendered}",
                        expected.line, expected.column
                    ));
                } else if !rendered.contains(&expected.fragment) {
                    failures.push(format!(
                        "{name}: expected {:?} in: {rendered}",
                        expected.fragment
                    ));
                } else if !rendered
                    .starts_with(&format!("{name}:{}:{}: ", expected.line, expected.column))
                {
                    failures.push(format!(
                        "{name}: does not start with file:line:column: {rendered}"
                    ));
                }
                let zh = err.render(Lang::Zh);
                if zh.is_empty() {
                    failures.push(format!("{name}: no Chinese rendering"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad manifests misbehaved:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn oversized_inputs_are_refused_without_reading_them_whole() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let big = dir.path().join("big.yaml");
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n");
    while text.len() <= 1024 * 1024 {
        text.push_str(&format!("    k{}: \"{}\"\n", text.len(), "x".repeat(100)));
    }
    std::fs::write(&big, text).expect("write big file");
    let err = load_pod_file(&big).expect_err("too large");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:1:1: ", big.display())),
        "{err}"
    );
    assert!(err.to_string().contains("larger than 1024 KiB"), "{err}");

    // A device that never ends is cut off at the limit too.
    let err = load_pod_file(Path::new("/dev/zero")).expect_err("endless input");
    assert!(err.to_string().contains("larger than"), "{err}");

    let err = load_pod_file(Path::new("/nonexistent/pod.yaml")).expect_err("missing file");
    assert!(
        err.to_string()
            .contains("failed to read /nonexistent/pod.yaml"),
        "{err}"
    );
}

fn load_good(name: &str) -> LoadedPod {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/manifests/good")
        .join(name);
    load_pod_file(&path).unwrap_or_else(|e| panic!("{name} should load:\n{e}"))
}

#[test]
fn block_manifest_values() {
    let loaded = load_good("block.yaml");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let pod = &loaded.pod;
    assert_eq!(pod.metadata.name, "web");
    assert_eq!(pod.metadata.namespace.as_deref(), Some("lab"));
    assert_eq!(
        pod.metadata
            .labels
            .get("app.kubernetes.io/name")
            .map(String::as_str),
        Some("web")
    );
    let spec = &pod.spec;
    assert_eq!(spec.hostname.as_deref(), Some("web-host"));
    assert!(spec.share_process_namespace);
    assert_eq!(spec.grace_period_seconds(), 5);
    assert_eq!(spec.restart_policy, RestartPolicy::OnFailure);
    let cache = spec.volumes[0].empty_dir.as_ref().expect("emptyDir");
    assert_eq!(cache.medium, "Memory");
    assert_eq!(
        cache.size_limit.as_ref().map(|q| q.value()),
        Some(64 * 1024 * 1024)
    );
    let logs = spec.volumes[1].host_path.as_ref().expect("hostPath");
    assert_eq!(
        (logs.path.as_str(), logs.kind),
        ("/var/log", HostPathType::Directory)
    );

    let sidecar = &spec.init_containers[0];
    assert_eq!(sidecar.restart_policy, Some(ContainerRestartPolicy::Always));
    assert_eq!(sidecar.command, ["sh", "-c", "tail -F /logs/app.log"]);

    let app = &spec.containers[0];
    assert_eq!(app.image, "busybox:1.36");
    assert_eq!(app.env[0].name, "GREETING");
    assert_eq!(app.env[0].value, "hello");
    assert_eq!(app.ports[0].container_port, 8080);
    assert_eq!(app.ports[0].name.as_deref(), Some("http"));
    assert_eq!(app.ports[1].protocol, Protocol::UDP);
    let milli = |q: &Option<podlab::spec::Quantity>| q.as_ref().map(|q| q.milli_value());
    assert_eq!(milli(&app.resources.requests.cpu), Some(250));
    assert_eq!(milli(&app.resources.limits.cpu), Some(500));
    assert_eq!(
        app.resources.requests.memory.as_ref().map(|q| q.value()),
        Some(67_108_864)
    );
    assert_eq!(
        app.resources.limits.memory.as_ref().map(|q| q.value()),
        Some(100_000_000)
    );
    assert!(app.volume_mounts[1].read_only);
    let liveness = app.liveness_probe.as_ref().expect("liveness probe");
    assert_eq!(
        liveness.http_get.as_ref().map(|h| &h.port),
        Some(&PortRef::Name("http".into()))
    );
    assert_eq!(liveness.period_seconds, Some(3));
    let readiness = app.readiness_probe.as_ref().expect("readiness probe");
    assert_eq!(
        readiness.tcp_socket.as_ref().map(|t| &t.port),
        Some(&PortRef::Number(8080))
    );
    assert!(app
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .is_some());
    assert!(!app.is_privileged());

    let name_at = loaded
        .source_map
        .locate_str("spec.containers[0].name")
        .expect("located");
    assert_eq!((name_at.line, name_at.column), (31, 13));
}

#[test]
fn flow_json_and_marked_manifests() {
    let flow = load_good("flow.yaml");
    assert!(flow.warnings.is_empty(), "{:?}", flow.warnings);
    assert_eq!(flow.pod.metadata.name, "flow");
    let names: Vec<&str> = flow
        .pod
        .spec
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        flow.pod.spec.containers[0]
            .resources
            .limits
            .cpu
            .as_ref()
            .map(|q| q.milli_value()),
        Some(1000)
    );
    assert_eq!(flow.pod.spec.containers[1].args, ["sleep", "10"]);

    let json = load_good("json.json");
    assert!(json.warnings.is_empty(), "{:?}", json.warnings);
    assert_eq!(json.pod.metadata.name, "from-json");
    assert_eq!(json.pod.spec.restart_policy, RestartPolicy::Never);
    let only = &json.pod.spec.containers[0];
    assert_eq!(
        only.resources
            .requests
            .cpu
            .as_ref()
            .map(|q| q.milli_value()),
        Some(100)
    );
    assert_eq!(only.command, ["true"]);
    let at = json
        .source_map
        .locate_str("spec.containers[0].image")
        .expect("located");
    assert_eq!((at.line, at.column), (8, 33));

    let marked = load_good("leading-document-marker.yaml");
    assert_eq!(marked.pod.metadata.name, "marked");
    assert_eq!(marked.pod.spec.grace_period_seconds(), 30);
}

#[test]
fn sleep_hooks_are_read_from_zero_up_to_the_grace_period() {
    let loaded = load_good("sleep-hooks.yaml");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let lifecycle = loaded.pod.spec.containers[0]
        .lifecycle
        .clone()
        .expect("lifecycle");
    let seconds =
        |h: Option<podlab::spec::LifecycleHandler>| h.and_then(|h| h.sleep).map(|s| s.seconds);
    assert_eq!(seconds(lifecycle.post_start), Some(0));
    assert_eq!(seconds(lifecycle.pre_stop), Some(5));
}

#[test]
fn env_values_from_the_pod_and_its_resources_are_read() {
    let loaded = load_good("env.yaml");
    let paths: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
    // The service account is only a name: no token is mounted.
    assert_eq!(paths, ["spec.serviceAccountName"]);
    let env = &loaded.pod.spec.containers[0].env;
    let from = env[2].value_from.as_ref().expect("valueFrom");
    let selector = from.resource_field_ref.as_ref().expect("resourceFieldRef");
    assert_eq!(selector.resource, "limits.memory");
    assert_eq!(selector.divisor.as_ref().map(|d| d.as_str()), Some("1Mi"));
    assert_eq!(env[3].value, "hello-$(POD_NAME)");
}

#[test]
fn dns_none_makes_the_whole_resolv_conf_from_dns_config() {
    let loaded = load_good("dns.yaml");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let node = podlab::kube::dns::parse_resolv_conf("nameserver 10.0.0.2\nsearch lan\n");
    let dns = podlab::kube::dns::pod_dns(&loaded.pod.spec, &node, "dns-demo_default(1)");
    assert!(dns.events.is_empty(), "{:?}", dns.events);
    assert_eq!(
        podlab::kube::dns::resolv_conf(&dns.config).as_deref(),
        Some(
            "search team-a.svc.cluster.local svc.cluster.local\nnameserver 203.0.113.10\noptions ndots:5 edns0\n"
        )
    );
}

#[test]
fn unknown_fields_become_warnings_that_name_each_field() {
    let loaded = load_good("unknown-fields.yaml");
    let paths: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "metadata.uid",
            "metadata.creationTimestamp",
            "spec.nodeSelector",
            "spec.affinity",
            "spec.tolerations",
            "spec.imagePullSecrets",
            "spec.volumes[0]",
            "spec.containers[0].resources.limits.ephemeral-storage",
            "status",
        ]
    );
    for warning in &loaded.warnings {
        assert!(
            warning.message.contains(&warning.path) || warning.path == "spec.volumes[0]",
            "{warning}"
        );
        assert!(warning.location.is_some(), "{warning}");
        assert!(
            warning.text.get(Lang::Zh) != warning.text.get(Lang::En),
            "{warning}"
        );
    }
    // imagePullPolicy is modelled: the shim pulls by it.
    assert_eq!(
        loaded.pod.spec.containers[0].image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );
    let affinity = &loaded.warnings[3];
    assert_eq!(
        affinity.location.as_ref().map(|l| (l.line, l.column)),
        Some((10, 3))
    );
    assert!(affinity.to_string().contains(
        "unknown-fields.yaml:10:3: warning: spec.affinity is ignored: there is no scheduler"
    ));
    // The API server replaces a uid and defaults a source-less volume to emptyDir; so does podlab.
    assert_eq!(loaded.pod.metadata.uid, None);
    assert!(loaded.pod.spec.volumes[0].empty_dir.is_some());
}

#[test]
fn shipped_example_pod_loads_without_warnings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pods/two-containers.yaml");
    let loaded = load_pod_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let spec = &loaded.pod.spec;
    assert_eq!(spec.containers.len(), 2);
    assert!(spec.volumes[0].empty_dir.is_some());
    for container in &spec.containers {
        assert_eq!(container.volume_mounts[0].name, "shared-data");
    }
}

#[test]
fn all_problems_are_reported_in_file_order() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n    - name: a\n      image: \"\"\n    - name: a\n      image: busybox\n";
    let err = parse_pod(text, "pod.yaml").expect_err("invalid");
    let places: Vec<(usize, usize)> = err
        .problems()
        .iter()
        .filter_map(|p| p.location.as_ref())
        .map(|l| (l.line, l.column))
        .collect();
    assert_eq!(places, [(4, 9), (8, 14), (9, 13)]);
    let rendered = err.to_string();
    assert!(rendered.contains("pod.yaml:4:9: metadata.name: \"Bad_Name\" is not a valid pod name; expected a DNS label"), "{rendered}");
    assert!(rendered.contains("hint: try \"bad-name\""), "{rendered}");
    assert!(
        err.render(Lang::Zh).contains("不是合法的Pod 名称"),
        "{}",
        err.render(Lang::Zh)
    );
}

#[test]
fn truncated_and_mangled_manifests_never_panic() {
    let mut texts = Vec::new();
    for name in [
        "block.yaml",
        "flow.yaml",
        "json.json",
        "unknown-fields.yaml",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/manifests/good")
            .join(name);
        texts.push(
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("failed to read {name}: {e}")),
        );
    }
    let junk = [
        "\t", "&a ", "*a", "[", "]", "{", "}", ":", "- ", "'", "\"", "!!int ", "? ", "\n---\n",
        "1e999", "-",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for text in &texts {
        for cut in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = parse_pod(&text[..cut], "cut.yaml");
        }
        for _ in 0..500 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut at = (seed % text.len() as u64) as usize;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let piece = junk[(seed >> 32) as usize % junk.len()];
            let mangled = format!("{}{piece}{}", &text[..at], &text[at..]);
            let _ = parse_pod(&mangled, "mangled.yaml");
        }
    }
}

#[test]
fn container_restart_rules_are_read() {
    let loaded = load_good("container-restart-rules.yaml");
    let app = &loaded.pod.spec.containers[0];
    assert_eq!(app.restart_policy_rules.len(), 1);
    assert!(app.restart_policy_rules[0].matches(42));
    assert!(!app.restart_policy_rules[0].matches(1));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}
