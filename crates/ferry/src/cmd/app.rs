//! `ferry app`: list, inspect, sync, refresh and delete Applications through a kubeconfig.
//!
//! Exit codes: 0 success; 1 a failed operation, an app not Synced/Healthy after `--wait`, or
//! (for `diff`) differences found; 2 usage or connection errors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

/// Output formats.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Output {
    /// Human-readable table.
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Options shared by every `ferry app` subcommand.
#[derive(clap::Args)]
pub struct Common {
    /// Kubeconfig (default: KUBECONFIG, ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Control-plane namespace.
    #[arg(long, short = 'N', default_value = "argocd", global = true)]
    pub app_namespace: String,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "table", global = true)]
    pub output: Output,
}

/// `ferry app` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// List Applications.
    List,
    /// Show one Application.
    Get {
        /// Application name.
        name: String,
    },
    /// Show the resources that differ from git (exit code 1 when any).
    Diff {
        /// Application name.
        name: String,
    },
    /// Request a sync.
    Sync {
        /// Application name.
        name: String,
        /// Allow pruning.
        #[arg(long)]
        prune: bool,
        /// Revision to sync to (default: the target revision).
        #[arg(long)]
        revision: Option<String>,
        /// Wait for the operation to finish (and the app to be Healthy).
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Compare with git now.
    Refresh {
        /// Application name.
        name: String,
        /// Drop cached manifests.
        #[arg(long)]
        hard: bool,
        /// Wait for the refresh to complete.
        #[arg(long)]
        wait: bool,
    },
    /// Delete an Application (with its resources when it has the resources finalizer).
    Delete {
        /// Application name.
        name: String,
        /// Keep the resources (remove the finalizer first).
        #[arg(long)]
        no_cascade: bool,
        /// Wait until it is gone.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

/// `ferry app` arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

fn api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &controller::reconciler::app_api_resource(),
    )
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn row(a: &Value) -> [String; 5] {
    let rev = s(a, "/status/sync/revision");
    [
        s(a, "/metadata/name").to_string(),
        s(a, "/status/sync/status").to_string(),
        s(a, "/status/health/status").to_string(),
        rev.chars().take(8).collect(),
        s(a, "/status/operationState/phase").to_string(),
    ]
}

fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.len());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.to_vec())];
    for r in rows {
        out.push(line(r.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

async fn list(client: &kube::Client, ns: &str) -> anyhow::Result<Vec<Value>> {
    let l = api(client, ns)
        .list(&Default::default())
        .await
        .map_err(|e| {
            anyhow!(
                "listing Applications: {}",
                controller::kube_io::error_message(&e)
            )
        })?;
    Ok(l.items
        .into_iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect())
}

/// The `ferry app list` table of a namespace.
pub async fn table(client: &kube::Client, ns: &str) -> anyhow::Result<String> {
    let rows: Vec<Vec<String>> = list(client, ns)
        .await?
        .iter()
        .map(|a| row(a).to_vec())
        .collect();
    Ok(render_table(
        &["NAME", "SYNC", "HEALTH", "REVISION", "OPERATION"],
        &rows,
    ))
}

async fn get(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<Value> {
    let o = api(client, ns)
        .get_opt(name)
        .await
        .map_err(|e| anyhow!("{}", controller::kube_io::error_message(&e)))?
        .ok_or_else(|| anyhow!("application {ns}/{name} not found"))?;
    Ok(serde_json::to_value(o)?)
}

fn print(out: Output, v: &Value, table: impl FnOnce() -> String) -> anyhow::Result<()> {
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(v)?),
        Output::Yaml => print!("{}", engine::yaml::to_yaml(v)),
        Output::Table => println!("{}", table()),
    }
    Ok(())
}

fn describe(a: &Value) -> String {
    let mut out = format!(
        "Name:        {}\nProject:     {}\nRepo:        {}\nPath:        {}\nTarget:      {}\nDestination: {} {}\nSync:        {} ({})\nHealth:      {}\n",
        s(a, "/metadata/name"),
        s(a, "/spec/project"),
        s(a, "/spec/source/repoURL"),
        s(a, "/spec/source/path"),
        s(a, "/spec/source/targetRevision"),
        s(a, "/spec/destination/server"),
        s(a, "/spec/destination/namespace"),
        s(a, "/status/sync/status"),
        s(a, "/status/sync/revision"),
        s(a, "/status/health/status"),
    );
    if let Some(op) = a.pointer("/status/operationState") {
        out.push_str(&format!(
            "Operation:   {} {}\n",
            s(op, "/phase"),
            s(op, "/message")
        ));
    }
    for c in a
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str(&format!(
            "Condition:   {}: {}\n",
            s(c, "/type"),
            s(c, "/message")
        ));
    }
    let rows: Vec<Vec<String>> = a
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            vec![
                s(r, "/group").to_string(),
                s(r, "/kind").to_string(),
                s(r, "/namespace").to_string(),
                s(r, "/name").to_string(),
                s(r, "/status").to_string(),
                s(r, "/health/status").to_string(),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&render_table(
        &["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH"],
        &rows,
    ));
    out
}

/// Runs `ferry app`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(app(args))
}

async fn app(args: Args) -> anyhow::Result<ExitCode> {
    let c = &args.common;
    let client = controller::kube_io::client_from_kubeconfig(c.kubeconfig.as_deref())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let ns = c.app_namespace.as_str();
    match args.command {
        Command::List => {
            let apps = list(&client, ns).await?;
            let rows: Vec<Vec<String>> = apps.iter().map(|a| row(a).to_vec()).collect();
            print(c.output, &Value::Array(apps), || {
                render_table(&["NAME", "SYNC", "HEALTH", "REVISION", "OPERATION"], &rows)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Get { name } => {
            let a = get(&client, ns, &name).await?;
            print(c.output, &a, || describe(&a))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { name } => {
            let a = get(&client, ns, &name).await?;
            let diffs: Vec<Value> = a
                .pointer("/status/resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|r| s(r, "/status") != "Synced")
                .cloned()
                .collect();
            let rows: Vec<Vec<String>> = diffs
                .iter()
                .map(|r| {
                    vec![
                        s(r, "/kind").to_string(),
                        s(r, "/namespace").to_string(),
                        s(r, "/name").to_string(),
                        s(r, "/status").to_string(),
                        if r.get("requiresPruning").and_then(Value::as_bool) == Some(true) {
                            "requires pruning".into()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect();
            print(c.output, &Value::Array(diffs.clone()), || {
                render_table(&["KIND", "NAMESPACE", "NAME", "STATUS", ""], &rows)
            })?;
            Ok(
                if diffs.is_empty() && s(&a, "/status/sync/status") == "Synced" {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                },
            )
        }
        Command::Sync {
            name,
            prune,
            revision,
            wait,
            timeout,
        } => {
            let before = get(&client, ns, &name).await?;
            let started_before = s(&before, "/status/operationState/startedAt").to_string();
            let mut sync = json!({"prune": prune});
            if let Some(r) = revision {
                sync["revision"] = json!(r);
            }
            let patch = json!({"operation": {"sync": sync,
                "initiatedBy": {"username": "ferry-cli"}}});
            api(&client, ns)
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| anyhow!("{}", controller::kube_io::error_message(&e)))?;
            if !wait {
                eprintln!("sync requested for {name}");
                return Ok(ExitCode::SUCCESS);
            }
            let deadline = Instant::now() + Duration::from_secs(timeout);
            loop {
                let a = get(&client, ns, &name).await?;
                let done = a.get("operation").is_none_or(Value::is_null)
                    && s(&a, "/status/operationState/startedAt") != started_before
                    && !s(&a, "/status/operationState/phase").is_empty();
                if done {
                    print(c.output, &a, || describe(&a))?;
                    let ok = s(&a, "/status/operationState/phase") == "Succeeded";
                    return Ok(if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    });
                }
                if Instant::now() > deadline {
                    eprintln!("timed out waiting for the sync of {name}");
                    return Ok(ExitCode::from(1));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Command::Refresh { name, hard, wait } => {
            let before = get(&client, ns, &name).await?;
            let at = s(&before, "/status/reconciledAt").to_string();
            let patch = json!({"metadata": {"annotations": {
                controller::reconciler::ANNOTATION_REFRESH: if hard { "hard" } else { "normal" }}}});
            api(&client, ns)
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| anyhow!("{}", controller::kube_io::error_message(&e)))?;
            if wait {
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    let a = get(&client, ns, &name).await?;
                    let pending = a
                        .pointer("/metadata/annotations")
                        .and_then(|m| m.get(controller::reconciler::ANNOTATION_REFRESH))
                        .is_some();
                    if !pending && s(&a, "/status/reconciledAt") != at {
                        print(c.output, &a, || describe(&a))?;
                        break;
                    }
                    if Instant::now() > deadline {
                        eprintln!("timed out waiting for the refresh of {name}");
                        return Ok(ExitCode::from(1));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete {
            name,
            no_cascade,
            wait,
            timeout,
        } => {
            let a = get(&client, ns, &name).await?;
            if no_cascade {
                let keep: Vec<&str> = engine::object::finalizers(&a)
                    .into_iter()
                    .filter(|f| !f.starts_with(engine::sync::deletion::RESOURCES_FINALIZER))
                    .collect();
                let patch = json!({"metadata": {"finalizers": keep}});
                api(&client, ns)
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| anyhow!("{}", controller::kube_io::error_message(&e)))?;
            }
            api(&client, ns)
                .delete(&name, &DeleteParams::default())
                .await
                .map_err(|e| anyhow!("{}", controller::kube_io::error_message(&e)))?;
            if wait {
                let deadline = Instant::now() + Duration::from_secs(timeout);
                while api(&client, ns)
                    .get_opt(&name)
                    .await
                    .map_err(|e| anyhow!("{}", controller::kube_io::error_message(&e)))?
                    .is_some()
                {
                    if Instant::now() > deadline {
                        eprintln!("timed out waiting for {name} to be deleted");
                        return Ok(ExitCode::from(1));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            eprintln!("application {name} deleted");
            Ok(ExitCode::SUCCESS)
        }
    }
}
