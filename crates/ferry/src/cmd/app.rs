//! `ferry app`: list, inspect, diff, sync, roll back, refresh and delete Applications through a
//! kubeconfig, as `argocd app` does through the Argo CD API server. Every subcommand reads and
//! writes the `argoproj.io/v1alpha1` Application objects directly; the controller does the work.
//!
//! `diff` renders the target state locally (the controller crate's source/render API on a
//! fresh git mirror, helm-secrets keys read from the cluster), then compares each object with
//! its live counterpart through a server-side dry-run apply (field manager `ferry`), as
//! `argocd app diff` / `kubectl diff` do.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller::application::Application;
use controller::kube_io::{Kube, error_message};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

/// Success (and, after `--wait`, the app is Synced/Healthy as requested).
pub const EXIT_OK: u8 = 0;
/// `diff`: differences found; `sync|rollback --wait`: the app ended Degraded or not Synced.
pub const EXIT_DIFFERENT: u8 = 1;
/// Usage error (unknown flag, missing argument).
pub const EXIT_USAGE: u8 = 2;
/// The Application (or history entry) does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// `--wait` timed out.
pub const EXIT_TIMEOUT: u8 = 4;
/// The operation failed or was refused, the target could not be rendered, or the cluster
/// could not be reached.
pub const EXIT_FAILED: u8 = 20;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   success (with --wait: the operation succeeded and the app is Healthy)
  1   diff: differences found; sync/rollback --wait: the app ended Degraded or OutOfSync
  2   usage error
  3   application or history ID not found
  4   timed out waiting (--wait/--timeout)
  20  operation failed or refused, render error, or cluster unreachable";

/// An error with the exit code it maps to.
#[derive(Debug)]
struct Exit {
    code: u8,
    message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

fn exit(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code,
        message: message.into(),
    })
}

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
    /// Kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of the Applications (default: the control-plane namespace); `NAMESPACE/NAME`
    /// as the app name does the same for one app.
    #[arg(long, short = 'N', global = true)]
    pub app_namespace: Option<String>,
    /// The controller's namespace: AppProjects, repository Secrets, and the namespace that
    /// qualifies an app's tracking name.
    #[arg(long, default_value = "argocd", global = true)]
    pub control_plane_namespace: String,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "table", global = true)]
    pub output: Output,
}

/// `ferry app` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// List Applications.
    List {
        /// Label selector (`key=value,…`).
        #[arg(long, short = 'l')]
        selector: Option<String>,
        /// Applications of every namespace (apps in other namespaces included).
        #[arg(long, short = 'A')]
        all_namespaces: bool,
    },
    /// Show one Application: source, sync and health, conditions, operation, resources.
    Get {
        /// Application name.
        name: String,
        /// Compare with git first (and wait for it).
        #[arg(long)]
        refresh: bool,
        /// Like --refresh, dropping cached manifests.
        #[arg(long)]
        hard_refresh: bool,
    },
    /// Unified diff of live vs target (git) objects, normalised (exit code 1 when any differ).
    Diff {
        /// Application name.
        name: String,
        /// Compare with this revision instead of the target revision (single source).
        #[arg(long)]
        revision: Option<String>,
        /// Exit with code 1 when differences are found.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        exit_code: bool,
    },
    /// Request a sync (`operation.sync`).
    Sync {
        /// Application name.
        name: String,
        /// Allow pruning.
        #[arg(long)]
        prune: bool,
        /// Revision to sync to (default: the target revision).
        #[arg(long)]
        revision: Option<String>,
        /// Dry run: plan and report, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Sync only these resources, `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME`
        /// (repeatable; empty group for core kinds).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// Wait for the operation to finish and the app to be Healthy.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Deployment history (`status.history`).
    History {
        /// Application name.
        name: String,
    },
    /// Roll back to a history entry (default: the previous one); refused while automated sync
    /// is enabled, as Argo CD does.
    Rollback {
        /// Application name.
        name: String,
        /// History ID (see `ferry app history`).
        id: Option<i64>,
        /// Allow pruning.
        #[arg(long)]
        prune: bool,
        /// Dry run.
        #[arg(long)]
        dry_run: bool,
        /// Wait for the operation to finish and the app to be Healthy.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Compare with git now (`argocd.argoproj.io/refresh`).
    Refresh {
        /// Application name.
        name: String,
        /// Drop cached manifests.
        #[arg(long)]
        hard: bool,
        /// Wait for the refresh to complete.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Delete an Application; with --cascade (default) its resources too.
    Delete {
        /// Application name.
        name: String,
        /// Delete the app's resources (through the resources finalizer); false keeps them.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        cascade: bool,
        /// Wait until it is gone.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

impl Command {
    /// The app name argument, if the subcommand has one.
    fn name_mut(&mut self) -> Option<&mut String> {
        match self {
            Command::List { .. } => None,
            Command::Get { name, .. }
            | Command::Diff { name, .. }
            | Command::Sync { name, .. }
            | Command::History { name, .. }
            | Command::Rollback { name, .. }
            | Command::Refresh { name, .. }
            | Command::Delete { name, .. } => Some(name),
        }
    }
}

/// `ferry app` arguments.
#[derive(clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// The Applications of `ns`, or of every namespace when `ns` is empty.
fn api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let ar = controller::reconciler::app_api_resource();
    if ns.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), ns, &ar)
    }
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn short(rev: &str) -> String {
    rev.chars().take(7).collect()
}

fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
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

fn api_error(what: &str, e: &kube::Error) -> anyhow::Error {
    exit(EXIT_FAILED, format!("{what}: {}", error_message(e)))
}

/// The Applications of `ns` (every namespace when empty), by namespace and name.
async fn list(
    client: &kube::Client,
    ns: &str,
    selector: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let mut lp = ListParams::default();
    if let Some(sel) = selector {
        lp = lp.labels(sel);
    }
    let l = api(client, ns)
        .list(&lp)
        .await
        .map_err(|e| api_error("listing Applications", &e))?;
    let mut apps: Vec<Value> = l
        .items
        .into_iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect();
    apps.sort_by(|a, b| {
        (s(a, "/metadata/namespace"), s(a, "/metadata/name"))
            .cmp(&(s(b, "/metadata/namespace"), s(b, "/metadata/name")))
    });
    Ok(apps)
}

fn sync_policy(a: &Value) -> String {
    match a.pointer("/spec/syncPolicy/automated") {
        Some(auto) if !auto.is_null() && auto.get("enabled") != Some(&json!(false)) => {
            let mut flags = Vec::new();
            if auto.get("prune") == Some(&json!(true)) {
                flags.push("Prune");
            }
            if auto.get("selfHeal") == Some(&json!(true)) {
                flags.push("SelfHeal");
            }
            if flags.is_empty() {
                "Automated".into()
            } else {
                format!("Automated ({})", flags.join(","))
            }
        }
        _ => "Manual".into(),
    }
}

fn first_source(a: &Value) -> &Value {
    match a.pointer("/spec/sources").and_then(Value::as_array) {
        Some(srcs) if !srcs.is_empty() => srcs
            .iter()
            .find(|s| s.get("ref").is_none() || s.get("path").is_some())
            .unwrap_or(&srcs[0]),
        _ => a.pointer("/spec/source").unwrap_or(&Value::Null),
    }
}

fn destination_cluster(a: &Value) -> String {
    let server = s(a, "/spec/destination/server");
    if server.is_empty() {
        s(a, "/spec/destination/name").to_string()
    } else {
        server.to_string()
    }
}

fn conditions_summary(a: &Value) -> String {
    let types: Vec<&str> = a
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("type").and_then(Value::as_str))
        .collect();
    if types.is_empty() {
        "<none>".into()
    } else {
        types.join(",")
    }
}

const LIST_HEADER: [&str; 11] = [
    "NAME",
    "CLUSTER",
    "NAMESPACE",
    "PROJECT",
    "STATUS",
    "HEALTH",
    "SYNCPOLICY",
    "CONDITIONS",
    "REPO",
    "PATH",
    "TARGET",
];

fn list_row(a: &Value) -> Vec<String> {
    let src = first_source(a);
    vec![
        format!("{}/{}", s(a, "/metadata/namespace"), s(a, "/metadata/name")),
        destination_cluster(a),
        s(a, "/spec/destination/namespace").to_string(),
        s(a, "/spec/project").to_string(),
        s(a, "/status/sync/status").to_string(),
        s(a, "/status/health/status").to_string(),
        sync_policy(a),
        conditions_summary(a),
        s(src, "/repoURL").to_string(),
        s(src, "/path").to_string(),
        s(src, "/targetRevision").to_string(),
    ]
}

/// The `ferry app list` table of a namespace (used by `ferry up` for progress).
pub async fn table(client: &kube::Client, ns: &str) -> anyhow::Result<String> {
    let rows: Vec<Vec<String>> = list(client, ns, None).await?.iter().map(list_row).collect();
    Ok(render_table(&LIST_HEADER, &rows))
}

async fn get(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<Value> {
    let o = api(client, ns)
        .get_opt(name)
        .await
        .map_err(|e| api_error(&format!("reading application {ns}/{name}"), &e))?
        .ok_or_else(|| exit(EXIT_NOT_FOUND, format!("application {ns}/{name} not found")))?;
    Ok(serde_json::to_value(o)?)
}

async fn merge(client: &kube::Client, ns: &str, name: &str, patch: &Value) -> anyhow::Result<()> {
    api(client, ns)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 404 => {
                exit(EXIT_NOT_FOUND, format!("application {ns}/{name} not found"))
            }
            _ => api_error(&format!("updating application {ns}/{name}"), &e),
        })?;
    Ok(())
}

fn print(out: Output, v: &Value, table: impl FnOnce() -> String) -> anyhow::Result<()> {
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(v)?),
        Output::Yaml => print!("{}", engine::yaml::to_yaml(v)),
        Output::Table => {
            let t = table();
            if !t.is_empty() {
                println!("{t}");
            }
        }
    }
    Ok(())
}

fn describe(a: &Value) -> String {
    let src = first_source(a);
    let mut fields: Vec<(&str, String)> = vec![
        (
            "Name",
            format!("{}/{}", s(a, "/metadata/namespace"), s(a, "/metadata/name")),
        ),
        ("Project", s(a, "/spec/project").to_string()),
        ("Server", destination_cluster(a)),
        ("Namespace", s(a, "/spec/destination/namespace").to_string()),
        ("Repo", s(src, "/repoURL").to_string()),
        ("Target", s(src, "/targetRevision").to_string()),
        ("Path", s(src, "/path").to_string()),
    ];
    if let Some(files) = src.pointer("/helm/valueFiles").and_then(Value::as_array) {
        let files: Vec<&str> = files.iter().filter_map(Value::as_str).collect();
        fields.push(("Helm Values", files.join(",")));
    }
    fields.push(("Sync Policy", sync_policy(a)));
    let rev = s(a, "/status/sync/revision");
    let target = s(src, "/targetRevision");
    fields.push((
        "Sync Status",
        format!(
            "{} to {} ({})",
            s(a, "/status/sync/status"),
            if target.is_empty() { "HEAD" } else { target },
            short(rev)
        ),
    ));
    let health_msg = s(a, "/status/health/message");
    fields.push((
        "Health Status",
        if health_msg.is_empty() {
            s(a, "/status/health/status").to_string()
        } else {
            format!("{} ({health_msg})", s(a, "/status/health/status"))
        },
    ));
    let mut out = String::new();
    for (k, v) in fields {
        out.push_str(&format!("{:<20}{v}\n", format!("{k}:")));
    }
    let conditions: Vec<Vec<String>> = a
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            vec![
                s(c, "/type").to_string(),
                s(c, "/message").to_string(),
                s(c, "/lastTransitionTime").to_string(),
            ]
        })
        .collect();
    if !conditions.is_empty() {
        out.push('\n');
        out.push_str(&render_table(
            &["CONDITION", "MESSAGE", "LAST TRANSITION"],
            &conditions,
        ));
        out.push('\n');
    }
    if let Some(op) = a.pointer("/status/operationState").filter(|v| !v.is_null()) {
        out.push('\n');
        let kind = if op.pointer("/operation/sync").is_some() {
            "Sync"
        } else {
            "Unknown"
        };
        for (k, v) in [
            ("Operation", kind.to_string()),
            ("Sync Revision", s(op, "/syncResult/revision").to_string()),
            ("Phase", s(op, "/phase").to_string()),
            ("Start", s(op, "/startedAt").to_string()),
            ("Finished", s(op, "/finishedAt").to_string()),
            ("Message", s(op, "/message").to_string()),
            (
                "Retry Count",
                op.get("retryCount")
                    .and_then(Value::as_i64)
                    .filter(|n| *n > 0)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("{:<20}{v}\n", format!("{k}:")));
            }
        }
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
                s(r, "/health/message").to_string(),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&render_table(
        &[
            "GROUP",
            "KIND",
            "NAMESPACE",
            "NAME",
            "STATUS",
            "HEALTH",
            "MESSAGE",
        ],
        &rows,
    ));
    out
}

/// Runs `ferry app`; errors are printed here and mapped to the documented exit codes.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    match rt.block_on(app(args)) {
        Ok(code) => Ok(ExitCode::from(code)),
        Err(e) => {
            let code = e.downcast_ref::<Exit>().map_or(EXIT_FAILED, |x| x.code);
            eprintln!("Error: {e:#}");
            Ok(ExitCode::from(code))
        }
    }
}

async fn app(args: Args) -> anyhow::Result<u8> {
    let c = &args.common;
    let client = controller::kube_io::client_from_kubeconfig(c.kubeconfig.as_deref())
        .await
        .map_err(|e| exit(EXIT_FAILED, format!("kubeconfig: {e}")))?;
    let control_ns = c.control_plane_namespace.as_str();
    let mut command = args.command;
    let mut app_ns = c.app_namespace.as_deref().unwrap_or(control_ns).to_string();
    // Argo CD's qualified app names: `NAMESPACE/NAME`.
    if let Some(name) = command.name_mut()
        && let Some((n, rest)) = name.split_once('/')
    {
        app_ns = n.to_string();
        *name = rest.to_string();
    }
    let ns = app_ns.as_str();
    let out = c.output;
    match command {
        Command::List {
            selector,
            all_namespaces,
        } => {
            let ns = if all_namespaces { "" } else { ns };
            let apps = list(&client, ns, selector.as_deref()).await?;
            let rows: Vec<Vec<String>> = apps.iter().map(list_row).collect();
            print(out, &Value::Array(apps), || {
                render_table(&LIST_HEADER, &rows)
            })?;
            Ok(EXIT_OK)
        }
        Command::Get {
            name,
            refresh,
            hard_refresh,
        } => {
            if refresh || hard_refresh {
                request_refresh(&client, ns, &name, hard_refresh).await?;
                wait_refreshed(&client, ns, &name, Duration::from_secs(120)).await?;
            }
            let a = get(&client, ns, &name).await?;
            print(out, &a, || describe(&a))?;
            Ok(EXIT_OK)
        }
        Command::Diff {
            name,
            revision,
            exit_code,
        } => {
            let a = get(&client, ns, &name).await?;
            let diffs = diff(&client, control_ns, &a, revision.as_deref()).await?;
            let text = engine::diff::render_app_diff(&diffs);
            let modified: Vec<Value> = diffs
                .iter()
                .filter(|d| d.modified)
                .map(|d| {
                    let obj = if d.predicted_live.is_null() {
                        &d.normalized_live
                    } else {
                        &d.predicted_live
                    };
                    json!({
                        "group": engine::object::group(obj),
                        "kind": engine::object::kind(obj),
                        "namespace": engine::object::namespace(obj),
                        "name": engine::object::name(obj),
                        "diff": engine::diff::render_app_diff(std::slice::from_ref(d)),
                    })
                })
                .collect();
            let any = !modified.is_empty();
            match out {
                Output::Table => print!("{text}"),
                _ => print(out, &Value::Array(modified), String::new)?,
            }
            Ok(if any && exit_code {
                EXIT_DIFFERENT
            } else {
                EXIT_OK
            })
        }
        Command::Sync {
            name,
            prune,
            revision,
            dry_run,
            resources,
            wait,
            timeout,
        } => {
            let before = get(&client, ns, &name).await?;
            let mut sync = json!({"prune": prune});
            if dry_run {
                sync["dryRun"] = json!(true);
            }
            if let Some(r) = &revision {
                sync["revision"] = json!(r);
            }
            if !resources.is_empty() {
                let parsed = resources
                    .iter()
                    .map(|r| parse_resource(r))
                    .collect::<Result<Vec<_>, _>>()?;
                sync["resources"] = Value::Array(parsed);
            }
            let op = json!({"sync": sync, "initiatedBy": {"username": username()}});
            merge(&client, ns, &name, &json!({"operation": op})).await?;
            eprintln!("{name}: sync requested");
            if !wait {
                return Ok(EXIT_OK);
            }
            let require_synced = revision.is_none() && resources.is_empty() && !dry_run;
            wait_operation(
                &client,
                ns,
                &name,
                &before,
                WaitFor {
                    healthy: !dry_run,
                    synced: require_synced,
                },
                Duration::from_secs(timeout),
                out,
            )
            .await
        }
        Command::History { name } => {
            let a = get(&client, ns, &name).await?;
            let history = a
                .pointer("/status/history")
                .cloned()
                .unwrap_or_else(|| json!([]));
            let rows: Vec<Vec<String>> = history
                .as_array()
                .into_iter()
                .flatten()
                .map(history_row)
                .collect();
            print(out, &history, || {
                render_table(&["ID", "DATE", "REVISION", "SOURCE"], &rows)
            })?;
            Ok(EXIT_OK)
        }
        Command::Rollback {
            name,
            id,
            prune,
            dry_run,
            wait,
            timeout,
        } => {
            let before = get(&client, ns, &name).await?;
            let app = Application::from_value(&before)
                .map_err(|e| exit(EXIT_FAILED, format!("application {ns}/{name}: {e}")))?;
            if app.auto_sync().is_some() && !dry_run {
                return Err(exit(
                    EXIT_FAILED,
                    "rollback cannot be initiated when auto-sync is enabled",
                ));
            }
            let history: Vec<Value> = before
                .pointer("/status/history")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let entry = match id {
                Some(id) => history
                    .iter()
                    .find(|h| h.get("id").and_then(Value::as_i64) == Some(id))
                    .ok_or_else(|| {
                        exit(
                            EXIT_NOT_FOUND,
                            format!("application {name} does not have history ID {id}"),
                        )
                    })?,
                None => history.iter().rev().nth(1).ok_or_else(|| {
                    exit(
                        EXIT_NOT_FOUND,
                        format!("application {name} has no previous history entry to roll back to"),
                    )
                })?,
            };
            let op = rollback_operation(entry, prune, dry_run, &username());
            merge(&client, ns, &name, &json!({"operation": op})).await?;
            eprintln!(
                "{name}: rollback to history ID {} ({}) requested",
                entry.get("id").unwrap_or(&Value::Null),
                short(s(entry, "/revision"))
            );
            if !wait {
                return Ok(EXIT_OK);
            }
            wait_operation(
                &client,
                ns,
                &name,
                &before,
                WaitFor {
                    healthy: !dry_run,
                    synced: false,
                },
                Duration::from_secs(timeout),
                out,
            )
            .await
        }
        Command::Refresh {
            name,
            hard,
            wait,
            timeout,
        } => {
            request_refresh(&client, ns, &name, hard).await?;
            if !wait {
                eprintln!("{name}: refresh requested");
                return Ok(EXIT_OK);
            }
            wait_refreshed(&client, ns, &name, Duration::from_secs(timeout)).await?;
            let a = get(&client, ns, &name).await?;
            print(out, &a, || describe(&a))?;
            Ok(EXIT_OK)
        }
        Command::Delete {
            name,
            cascade,
            wait,
            timeout,
        } => {
            let a = get(&client, ns, &name).await?;
            let finalizers = engine::object::finalizers(&a);
            let is_resources =
                |f: &&str| f.starts_with(engine::sync::deletion::RESOURCES_FINALIZER);
            if !cascade && finalizers.iter().any(is_resources) {
                let keep: Vec<&str> = finalizers
                    .iter()
                    .filter(|f| !is_resources(f))
                    .copied()
                    .collect();
                merge(
                    &client,
                    ns,
                    &name,
                    &json!({"metadata": {"finalizers": keep}}),
                )
                .await?;
            } else if cascade && !finalizers.iter().any(is_resources) {
                // As Argo CD's API server: a cascading delete adds the finalizer first.
                let mut with: Vec<&str> = finalizers.clone();
                with.push(engine::sync::deletion::RESOURCES_FINALIZER);
                merge(
                    &client,
                    ns,
                    &name,
                    &json!({"metadata": {"finalizers": with}}),
                )
                .await?;
            }
            api(&client, ns)
                .delete(&name, &DeleteParams::default())
                .await
                .map_err(|e| api_error(&format!("deleting application {ns}/{name}"), &e))?;
            eprintln!("{name}: deletion requested");
            if wait {
                let deadline = Instant::now() + Duration::from_secs(timeout);
                let mut last = String::new();
                loop {
                    let Some(o) = api(&client, ns)
                        .get_opt(&name)
                        .await
                        .map_err(|e| api_error("reading application", &e))?
                    else {
                        break;
                    };
                    let v = serde_json::to_value(o)?;
                    let left = v
                        .pointer("/status/resources")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    let line = format!("{name}: deleting, {left} resources tracked");
                    if line != last {
                        eprintln!("{line}");
                        last = line;
                    }
                    if Instant::now() > deadline {
                        return Err(exit(
                            EXIT_TIMEOUT,
                            format!("timed out waiting for {name} to be deleted"),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                eprintln!("{name}: deleted");
            }
            Ok(EXIT_OK)
        }
    }
}

fn username() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "ferry".into())
}

/// `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME` → a `SyncOperationResource`.
fn parse_resource(spec: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = spec.splitn(3, ':').collect();
    let [group, kind, rest] = parts[..] else {
        return Err(exit(
            EXIT_USAGE,
            format!("--resource {spec}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME"),
        ));
    };
    let (namespace, name) = rest.split_once('/').unwrap_or(("", rest));
    if kind.is_empty() || name.is_empty() {
        return Err(exit(
            EXIT_USAGE,
            format!("--resource {spec}: kind and name are required"),
        ));
    }
    Ok(json!({"group": group, "kind": kind, "namespace": namespace, "name": name}))
}

/// The operation `argocd app rollback` writes for a history entry.
pub fn rollback_operation(entry: &Value, prune: bool, dry_run: bool, user: &str) -> Value {
    let mut sync = json!({
        "prune": prune,
        "dryRun": dry_run,
        "syncStrategy": {"apply": {}},
    });
    let multi = entry
        .get("sources")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if multi {
        sync["revisions"] = entry.get("revisions").cloned().unwrap_or(json!([]));
        sync["sources"] = entry["sources"].clone();
    } else {
        sync["revision"] = entry.get("revision").cloned().unwrap_or(Value::Null);
        if let Some(src) = entry.get("source").filter(|v| !v.is_null()) {
            sync["source"] = src.clone();
        }
    }
    json!({"initiatedBy": {"username": user}, "sync": sync})
}

fn history_row(h: &Value) -> Vec<String> {
    let sources: Vec<&Value> = match h.get("sources").and_then(Value::as_array) {
        Some(s) if !s.is_empty() => s.iter().collect(),
        _ => h.get("source").into_iter().collect(),
    };
    let source = sources
        .iter()
        .map(|src| {
            let mut t = s(src, "/repoURL").to_string();
            for (prefix, p) in [(" ", "/path"), ("@", "/targetRevision"), (" ", "/chart")] {
                let v = s(src, p);
                if !v.is_empty() {
                    t.push_str(prefix);
                    t.push_str(v);
                }
            }
            t
        })
        .collect::<Vec<_>>()
        .join(", ");
    let revision = match h.get("revisions").and_then(Value::as_array) {
        Some(r) if !r.is_empty() => r
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => s(h, "/revision").to_string(),
    };
    vec![
        h.get("id").map(Value::to_string).unwrap_or_default(),
        s(h, "/deployedAt").to_string(),
        revision,
        source,
    ]
}

async fn request_refresh(
    client: &kube::Client,
    ns: &str,
    name: &str,
    hard: bool,
) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"annotations": {
        controller::reconciler::ANNOTATION_REFRESH: if hard { "hard" } else { "normal" }}}});
    merge(client, ns, name, &patch).await
}

/// Waits until the controller removed the refresh annotation (it does so when it writes the
/// status of the requested comparison).
async fn wait_refreshed(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let a = get(client, ns, name).await?;
        let pending = a
            .pointer("/metadata/annotations")
            .and_then(|m| m.get(controller::reconciler::ANNOTATION_REFRESH))
            .is_some();
        if !pending {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(exit(
                EXIT_TIMEOUT,
                format!("timed out waiting for the refresh of {name}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

struct WaitFor {
    healthy: bool,
    synced: bool,
}

/// Waits for the requested operation to complete (the controller clears `operation` and writes
/// a new `operationState`), then for health (and sync); progress lines go to stderr.
async fn wait_operation(
    client: &kube::Client,
    ns: &str,
    name: &str,
    before: &Value,
    what: WaitFor,
    timeout: Duration,
    out: Output,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let deadline = started + timeout;
    let old_state = before
        .pointer("/status/operationState")
        .cloned()
        .unwrap_or(Value::Null);
    let mut last = String::new();
    let mut op_done = false;
    loop {
        let a = get(client, ns, name).await?;
        let state = a
            .pointer("/status/operationState")
            .cloned()
            .unwrap_or(Value::Null);
        let phase = s(&state, "/phase");
        let pending = a.get("operation").is_some_and(|o| !o.is_null());
        if !op_done
            && !pending
            && state != old_state
            && matches!(phase, "Succeeded" | "Failed" | "Error")
        {
            op_done = true;
        }
        let line = format!(
            "{name}: operation {}{}; sync {}; health {}",
            if pending && state == old_state {
                "Pending"
            } else {
                phase
            },
            match s(&state, "/message") {
                "" => String::new(),
                m if state != old_state => format!(" ({m})"),
                _ => String::new(),
            },
            s(&a, "/status/sync/status"),
            s(&a, "/status/health/status"),
        );
        if line != last {
            eprintln!("[{:>5.1}s] {line}", started.elapsed().as_secs_f64());
            last = line;
        }
        if op_done {
            if phase != "Succeeded" {
                print(out, &a, || describe(&a))?;
                return Err(exit(
                    EXIT_FAILED,
                    format!("{name}: operation {phase}: {}", s(&state, "/message")),
                ));
            }
            let health = s(&a, "/status/health/status");
            let sync = s(&a, "/status/sync/status");
            let healthy = !what.healthy || health == "Healthy";
            let synced = !what.synced || sync == "Synced";
            if healthy && synced {
                print(out, &a, || describe(&a))?;
                return Ok(EXIT_OK);
            }
            if what.healthy && matches!(health, "Degraded" | "Suspended") {
                print(out, &a, || describe(&a))?;
                eprintln!("{name}: the operation succeeded but the app is {health}");
                return Ok(EXIT_DIFFERENT);
            }
        }
        if Instant::now() > deadline {
            return Err(exit(
                EXIT_TIMEOUT,
                format!(
                    "timed out after {}s waiting for {name} ({})",
                    timeout.as_secs(),
                    if op_done {
                        "health/sync"
                    } else {
                        "the operation"
                    }
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The target state of `app` rendered locally, paired with the live objects and compared by
/// server-side dry-run apply.
async fn diff(
    client: &kube::Client,
    control_ns: &str,
    raw: &Value,
    revision: Option<&str>,
) -> anyhow::Result<Vec<engine::diff::DiffResult>> {
    let mut app =
        Application::from_value(raw).map_err(|e| exit(EXIT_FAILED, format!("application: {e}")))?;
    if let Some(r) = revision {
        if app.spec.sources.len() > 1 {
            return Err(exit(
                EXIT_USAGE,
                "--revision applies to single-source applications only",
            ));
        }
        if let Some(src) = app.spec.source.as_mut() {
            src.target_revision = Some(r.to_string());
        } else if let Some(src) = app.spec.sources.first_mut() {
            src.target_revision = Some(r.to_string());
        }
    }
    let snaps = fetch_sources(client, control_ns, &app).await?;
    let fetcher = controller::kube_io::KubeSecrets {
        client: client.clone(),
        default_namespace: control_ns.to_string(),
        handle: tokio::runtime::Handle::current(),
    };
    let app2 = app.clone();
    let desired = tokio::task::spawn_blocking(move || {
        controller::source::generate(
            &app2,
            &snaps,
            &controller::helmargs::ClusterInfo::default(),
            &fetcher,
        )
    })
    .await?
    .map_err(|e| exit(EXIT_FAILED, format!("rendering the target state: {e}")))?;

    let kube = Kube::new(client.clone());
    let instance = engine::sync::tracking::app_instance_name(
        &app.metadata.name,
        &app.metadata.namespace,
        control_ns,
    );
    let tracking =
        engine::sync::tracking::Tracking::annotation(&instance, app.spec.destination.namespace());
    // Live objects of every rendered kind and of every kind the app tracks.
    let mut kinds: BTreeSet<(String, String)> = desired
        .iter()
        .map(|d| {
            (
                engine::object::api_version(d).to_string(),
                engine::object::kind(d).to_string(),
            )
        })
        .collect();
    for r in raw
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (g, v) = (s(r, "/group"), s(r, "/version"));
        let av = if g.is_empty() {
            v.to_string()
        } else {
            format!("{g}/{v}")
        };
        kinds.insert((av, s(r, "/kind").to_string()));
    }
    let mut live = Vec::new();
    let mut scopes = std::collections::HashMap::new();
    for (av, kind) in &kinds {
        let Some(k) = kube.kind(av, kind).await else {
            continue;
        };
        scopes.insert(
            (
                engine::object::split_api_version(av).0.to_string(),
                kind.clone(),
            ),
            k.namespaced,
        );
        let items = kube
            .list(&k)
            .await
            .map_err(|e| api_error(&format!("listing {kind}"), &e))?;
        live.extend(items);
    }
    let scope = |g: &str, k: &str| scopes.get(&(g.to_string(), k.to_string())).copied();
    let rendered = engine::sync::plan::Rendered::from_render::<()>(Ok(desired))
        .map_err(|()| exit(EXIT_FAILED, "render"))?;
    let rec = engine::sync::plan::reconcile(&rendered, &live, &tracking, &scope);
    let rules = app.ignore_differences();
    let ignore = engine::diff::IgnoreDifferences::new(&rules)
        .map_err(|e| exit(EXIT_FAILED, format!("ignoreDifferences: {e}")))?;
    let mut out = Vec::new();
    for pair in &rec.resources {
        let r = match (&pair.target, &pair.live) {
            (Some(t), Some(l)) => match dry_run_apply(&kube, t).await {
                Ok(predicted) => engine::diff::diff_server_side_without_mutations(
                    &predicted,
                    l,
                    controller::kube_io::FIELD_MANAGER,
                    &ignore,
                ),
                Err(e) => {
                    tracing::debug!(error = %e, "dry-run apply failed; comparing desired fields");
                    engine::diff::diff_desired_fields(t, l, &ignore)
                }
            },
            (t, l) => engine::diff::diff_create_or_delete(t.as_ref(), l.as_ref(), &ignore),
        };
        out.push(r);
    }
    Ok(out)
}

/// Fetches every source of `app` (a multi-source app's `ref` sources too: they provide the
/// `$ref/...` value files) into a temporary mirror store, with the controller's credentials:
/// the ones in the URL, else the Argo CD repository Secrets of `control_ns` (`repository`
/// for the exact URL, else the `repo-creds` template with the longest prefix).
async fn fetch_sources(
    client: &kube::Client,
    control_ns: &str,
    app: &Application,
) -> anyhow::Result<Vec<controller::source::SourceSnapshot>> {
    let dir = tempfile::tempdir()?;
    let store = gitsource::mirror::MirrorStore::new(dir.path().join("repos"))
        .map_err(|e| exit(EXIT_FAILED, format!("git mirror: {e}")))?;
    let creds =
        controller::repocreds::RepoCreds::new(client.clone(), control_ns, dir.path().join("keys"));
    let mut out = Vec::new();
    for src in app.sources() {
        // Messages name the repository without the credentials a URL may carry.
        let url = gitsource::redact_url_userinfo(&src.repo_url);
        let rev = src.revision().to_string();
        let store = store.clone();
        let remote = creds.remote(&src.repo_url).await.map_err(|e| {
            exit(
                EXIT_FAILED,
                format!("repository credentials for {url}: {e}"),
            )
        })?;
        let (commit, files) = tokio::task::spawn_blocking(move || {
            let mirror = store.open(&remote).map_err(|e| format!("{url}: {e}"))?;
            let commit = mirror
                .fetch(&rev, &gitsource::mirror::FetchOptions::default())
                .map_err(|e| format!("{url} at {rev}: {e}"))?;
            let files = mirror
                .read_files(&commit, "")
                .map_err(|e| format!("{url} at {rev}: {e}"))?;
            Ok::<_, String>((commit, files))
        })
        .await?
        .map_err(|e| exit(EXIT_FAILED, e))?;
        out.push(controller::source::SourceSnapshot {
            revision: commit.as_str().to_string(),
            files: Arc::new(files),
        });
    }
    drop(dir);
    Ok(out)
}

/// Server-side apply with `dryRun=All`: what live would look like after a sync.
async fn dry_run_apply(kube: &Kube, obj: &Value) -> Result<Value, String> {
    let k = kube
        .kind(engine::object::api_version(obj), engine::object::kind(obj))
        .await
        .ok_or_else(|| "kind not served".to_string())?;
    let ns = engine::object::namespace(obj);
    let api: Api<DynamicObject> = if k.namespaced && !ns.is_empty() {
        Api::namespaced_with(kube.client.clone(), ns, &k.resource)
    } else {
        Api::all_with(kube.client.clone(), &k.resource)
    };
    let mut pp = PatchParams::apply(controller::kube_io::FIELD_MANAGER).force();
    pp.dry_run = true;
    api.patch(engine::object::name(obj), &pp, &Patch::Apply(obj))
        .await
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .map_err(|e| error_message(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse_like_argocd() {
        assert_eq!(
            parse_resource("apps:Deployment:web").expect("ok"),
            json!({"group": "apps", "kind": "Deployment", "namespace": "", "name": "web"})
        );
        assert_eq!(
            parse_resource(":Service:dev-web/web").expect("ok"),
            json!({"group": "", "kind": "Service", "namespace": "dev-web", "name": "web"})
        );
        assert!(parse_resource("Deployment/web").is_err());
        assert!(parse_resource("apps::web").is_err());
    }

    #[test]
    fn rollback_operation_shape() {
        let entry = json!({"id": 3, "revision": "abc", "deployedAt": "2026-01-01T00:00:00Z",
            "source": {"repoURL": "https://x/r.git", "path": "p", "targetRevision": "HEAD"}});
        assert_eq!(
            rollback_operation(&entry, true, false, "alice"),
            json!({"initiatedBy": {"username": "alice"}, "sync": {
                "revision": "abc", "source": entry["source"], "prune": true, "dryRun": false,
                "syncStrategy": {"apply": {}}}})
        );
        let multi = json!({"id": 1, "revisions": ["a", "b"],
            "sources": [{"repoURL": "u1"}, {"repoURL": "u2", "ref": "values"}]});
        let op = rollback_operation(&multi, false, true, "bob");
        assert_eq!(op["sync"]["revisions"], json!(["a", "b"]));
        assert_eq!(op["sync"]["sources"], multi["sources"]);
        assert!(op["sync"].get("revision").is_none());
    }

    #[test]
    fn history_rows() {
        let h = json!({"id": 2, "revision": "0123456789", "deployedAt": "2026-01-01T00:00:00Z",
            "source": {"repoURL": "https://x/r.git", "path": "charts/web", "targetRevision": "HEAD"}});
        assert_eq!(
            history_row(&h),
            vec![
                "2".to_string(),
                "2026-01-01T00:00:00Z".into(),
                "0123456789".into(),
                "https://x/r.git charts/web@HEAD".into()
            ]
        );
    }

    #[test]
    fn sync_policy_text() {
        assert_eq!(sync_policy(&json!({"spec": {}})), "Manual");
        assert_eq!(
            sync_policy(
                &json!({"spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}})
            ),
            "Automated (Prune,SelfHeal)"
        );
        assert_eq!(
            sync_policy(&json!({"spec": {"syncPolicy": {"automated": {"enabled": false}}}})),
            "Manual"
        );
    }
}
