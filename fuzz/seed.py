#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the lessons, test manifests and /proc fixtures.

Run from fuzz/: `python3 seed.py`, then minimize with `cargo fuzz cmin <target>` (see
BENCHMARKS.md, "Fuzzing"). The seeds are the starting point; the committed corpus is minimized.
"""
import hashlib
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
FIXTURES = ROOT / "tests/fixtures/proc"


def write(target, data):
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


manifests = sorted((ROOT / "tests/manifests").rglob("*.yaml")) + sorted((ROOT / "assets/pods").glob("*.yaml"))
for path in manifests:
    data = path.read_bytes()
    write("manifest", data)
    write("yaml", b"spec.containers[0].name\n" + data)

lessons = sorted((ROOT / "lessons").glob("*.yaml")) + sorted((ROOT / "tests/lessons_corpus/bad").glob("*.yaml"))
for path in lessons:
    data = path.read_bytes()
    if path.parent.name == "bad":
        # The corpus lessons name their pod from tests/lessons_corpus/bad; the fuzzer reads
        # manifests beside lessons/.
        data = data.replace(b"../../../assets/", b"../assets/")
    write("lesson", data)

proc_selector = {"stat": 0, "status": 1, "cmdline": 2, "cgroup": 3}
for path in sorted(FIXTURES.rglob("proc/*/*")):
    if path.is_file() and path.name in proc_selector:
        write("proc_files", bytes([proc_selector[path.name]]) + path.read_bytes())
for net in sorted(FIXTURES.rglob("net")):
    for table in ["tcp", "tcp6", "udp", "udp6"]:
        if (net / table).is_file():
            write("proc_files", b"\x05" + (net / table).read_bytes())
    files = [net / name for name in ["fib_trie", "route", "dev", "if_inet6"]]
    write("proc_files", b"\x06" + b"\0".join(f.read_bytes() if f.is_file() else b"" for f in files))
write("proc_files", b"\x04net:[4026531840]")
write("proc_files", b"\x04socket:[12345]")

cgroup_files = [
    "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares", "cpu.stat",
    "memory.limit_in_bytes", "memory.usage_in_bytes", "memory.failcnt", "memory.oom_control",
    "cpu.max", "cpu.weight", "memory.max", "memory.current", "memory.events",
    "pids.max", "pids.current",
]
for version, tree in [(0, FIXTURES / "pod/cgroup"), (1, FIXTURES / "zombie-pause/cgroup")]:
    leaves = {p.parent for p in tree.rglob("*") if p.is_file()}
    for name in sorted({leaf.name for leaf in leaves}):
        texts = []
        for file in cgroup_files:
            found = [leaf / file for leaf in leaves if leaf.name == name and (leaf / file).is_file()]
            texts.append(found[0].read_bytes() if found else b"")
        write("cgroup_files", bytes([version]) + b"\0".join(texts))
