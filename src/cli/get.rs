//! `podlab get pods` and `podlab get pod NAME -o yaml|json`, as kubectl prints them: the table,
//! or the Pod objects (one object, or a `List` of them) with their status.

use std::process::ExitCode;

use eyre::{eyre, Result};

use super::pods::print_pod_table;
use crate::i18n::{Lang, Text};
use crate::kube::pod_state::PodState;
use crate::present::pod_object::pod_object;
use crate::runtime::lookup;
use crate::spec::yaml::to_yaml;

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// What to list: pods (also pod, po; podlab has no other kind).
    pub kind: String,
    /// Pod names (default: every pod).
    pub names: Vec<String>,
    /// Print the Pod objects instead of the table.
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Yaml,
    Json,
}

pub fn get(args: &GetArgs, lang: Lang) -> Result<ExitCode> {
    if !matches!(args.kind.as_str(), "pods" | "pod" | "po") {
        let text = Text::new(
            format!(
                "podlab has no resource type {:?}: it only has pods (podlab get pods)",
                args.kind
            ),
            format!(
                "podlab 没有 {:?} 这种资源：它只有 Pod（podlab get pods）",
                args.kind
            ),
        );
        return Err(eyre!("{}", text.get(lang)));
    }
    let pods: Vec<PodState> = if args.names.is_empty() {
        lookup::all_pods()
            .into_iter()
            .filter(|p| p.shim_alive)
            .filter_map(|p| p.state)
            .collect()
    } else {
        args.names
            .iter()
            .map(|name| lookup::find_pod(name))
            .collect::<Result<_>>()?
    };
    let Some(output) = args.output else {
        if pods.is_empty() {
            println!("{}", Text::new("No pods found.", "没有 Pod。").get(lang));
        } else {
            print_pod_table(&pods);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let objects: Vec<serde_json::Value> = pods
        .iter()
        .map(|p| pod_object(p, host_ip(p).as_deref()))
        .collect();
    // One pod named: that object; otherwise a List, as kubectl prints several.
    let value = if args.names.len() == 1 {
        objects.into_iter().next().unwrap_or_default()
    } else {
        list(objects)
    };
    match output {
        Output::Yaml => print!("{}", to_yaml(&value)),
        Output::Json => println!("{}", serde_json::to_string_pretty(&value)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn list(items: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
        "metadata": { "resourceVersion": "" },
    })
}

/// The address of this machine on the pod's network (the bridge's, the pod's gateway): what
/// the pod reaches its host by. None without a pod network.
fn host_ip(pod: &PodState) -> Option<String> {
    let network = pod.sandbox.as_ref()?.network.as_ref()?;
    Some(network.gateway.to_string())
}
