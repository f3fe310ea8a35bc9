//! What needs root and a real kernel: pods, cgroups, networks, lessons played for real, faults,
//! and podlab in a terminal (tmux). Each test starts with `common::privileged()`: without root
//! it is skipped and says so, except under CI (or PODLAB_REQUIRE_PRIVILEGED), where it fails.

#[path = "../common/mod.rs"]
mod common;

mod capstone;
mod cgroup_views;
mod cgroups_v1;
mod cleanup;
mod doctor;
mod engine;
mod exhaustion;
mod faults;
mod image_pull;
mod images;
mod lesson_try;
mod lessons;
mod lifecycle;
mod network;
mod observe_real;
mod pod_files;
mod pod_level;
mod readme_walk;
mod resize;
mod resources;
mod rootless;
mod seccomp;
mod security;
mod static_pods;
mod tui_faults;
mod tui_hangup;
mod tui_lesson_demo;
mod tui_lesson_real;
mod tui_real;
mod tui_tmux;
mod user_namespace;
