//! The reconciler: watches Applications, keeps a work queue (one reconcile per app at a time,
//! a global concurrency limit, periodic jittered refresh, immediate refresh on changes), and
//! for each app fetches git, renders, compares with the live objects, syncs (server-side apply
//! in sync-wave order, prune only after a successful render) and writes `status`.

use crate::application::{
    AppHealthStatus, Application, ApplicationCondition, ApplicationSummary, ComparedTo, Operation,
    OperationState, RevisionHistory, SyncStatus,
};
use crate::autosync::{AutoSync, AutoSyncInput};
use crate::compare::{Comparison, compare};
use crate::helmargs::ClusterInfo;
use crate::kube_io::{Kube, KubeSecrets, error_message};
use crate::source::{self, RepoFiles, SourceSnapshot};
use engine::diff::{DiffResult, IgnoreDifferences};
use engine::health::HealthOptions;
use engine::object::{self, ResourceKey};
use engine::sync::deletion::{self, DeletionStep};
use engine::sync::options::SyncOptions;
use engine::sync::plan::{
    ApplyMethod, PlanOptions, Reconciliation, Rendered, plan_sync, reconcile,
};
use engine::sync::progress::OperationPhase;
use engine::sync::run::SyncRun;
use engine::sync::status::SyncStatusCode;
use engine::sync::tracking::{Tracking, app_instance_name};
use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore, mpsc};

/// Annotation requesting an immediate refresh (`normal` / `hard`); removed after the refresh.
pub const ANNOTATION_REFRESH: &str = "argocd.argoproj.io/refresh";
/// Annotation stopping reconciliation.
pub const ANNOTATION_SKIP_RECONCILE: &str = "argocd.argoproj.io/skip-reconcile";
/// Condition type of manifest generation failures.
pub const CONDITION_COMPARISON_ERROR: &str = "ComparisonError";
/// Condition type of deletion failures.
pub const CONDITION_DELETION_ERROR: &str = "DeletionError";

/// Controller settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data directory (git mirrors under `repos/`).
    pub data_dir: PathBuf,
    /// The control-plane namespace (Applications live here).
    pub namespace: String,
    /// Period of the git comparison (default 60 s).
    pub refresh_interval: Duration,
    /// Random extra delay added to each period (default 10 s).
    pub refresh_jitter: Duration,
    /// How many apps are reconciled at the same time.
    pub workers: usize,
    /// Longest a sync operation may wait for waves to become healthy.
    pub sync_timeout: Duration,
}

impl Options {
    /// Defaults with a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Options {
            data_dir: data_dir.into(),
            namespace: "argocd".into(),
            refresh_interval: Duration::from_secs(60),
            refresh_jitter: Duration::from_secs(10),
            workers: 4,
            sync_timeout: Duration::from_secs(300),
        }
    }
}

/// Reconciler failures that stop the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API refused something essential.
    #[error("kubernetes: {0}")]
    Kube(String),
    /// The data directory is unusable.
    #[error("data directory: {0}")]
    Data(String),
}

type Key = (String, String);

/// A handle to ask the running controller for refreshes.
#[derive(Clone)]
pub struct Refresher {
    tx: mpsc::UnboundedSender<Key>,
}

impl Refresher {
    /// Queues a refresh of `namespace/name`.
    pub fn refresh(&self, namespace: &str, name: &str) {
        let _ = self.tx.send((namespace.to_string(), name.to_string()));
    }
}

struct Ctx {
    kube: Kube,
    opts: Options,
    mirrors: gitsource::mirror::MirrorStore,
    repo_cache: Mutex<HashMap<String, Arc<RepoFiles>>>,
    tx: mpsc::UnboundedSender<Key>,
    timers: std::sync::Mutex<HashMap<Key, u64>>,
    cluster: ClusterInfo,
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The `ApiResource` of Applications.
pub fn app_api_resource() -> ApiResource {
    app_resource()
}

fn app_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            crate::application::GROUP,
            crate::application::VERSION,
            crate::application::KIND,
        ),
        crate::application::PLURAL,
    )
}

/// Installs the `applications.argoproj.io` CRD when absent and waits until it is served.
pub async fn ensure_crd(client: &kube::Client) -> Result<(), Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let present = crds
        .get_opt(crate::crd::CRD_NAME)
        .await
        .map_err(|e| Error::Kube(error_message(&e)))?;
    if present.is_none() {
        let crd: CustomResourceDefinition = serde_json::from_value(crate::crd::application_crd())
            .map_err(|e| Error::Kube(format!("CRD: {e}")))?;
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => tracing::info!("installed CRD {}", crate::crd::CRD_NAME),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(Error::Kube(error_message(&e))),
        }
    }
    let apps: Api<DynamicObject> = Api::all_with(client.clone(), &app_resource());
    for _ in 0..100 {
        if apps.list(&Default::default()).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Kube("Application CRD not served after 10 s".into()))
}

fn watch_fingerprint(v: &Value) -> String {
    json!([
        v.get("spec"),
        v.get("operation"),
        v.pointer("/metadata/annotations"),
        v.pointer("/metadata/deletionTimestamp"),
        v.pointer("/metadata/finalizers"),
    ])
    .to_string()
}

/// Runs the controller until the watch ends; returns a [`Refresher`] through `on_start`.
pub async fn run(
    client: kube::Client,
    opts: Options,
    on_start: impl FnOnce(Refresher),
) -> Result<(), Error> {
    ensure_crd(&client).await?;
    let mirrors = gitsource::mirror::MirrorStore::new(opts.data_dir.join("repos"))
        .map_err(|e| Error::Data(e.to_string()))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Key>();
    on_start(Refresher { tx: tx.clone() });
    let ctx = Arc::new(Ctx {
        kube: Kube::new(client.clone()),
        mirrors,
        repo_cache: Mutex::new(HashMap::new()),
        tx: tx.clone(),
        timers: std::sync::Mutex::new(HashMap::new()),
        cluster: ClusterInfo::default(),
        opts,
    });

    // Watch Applications in the control-plane namespace.
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ctx.opts.namespace, &app_resource());
    let wtx = tx.clone();
    let watch = tokio::spawn(async move {
        let mut seen: HashMap<Key, String> = HashMap::new();
        let mut stream = watcher(apps, watcher::Config::default()).boxed();
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => {
                    let v = serde_json::to_value(&o).unwrap_or(Value::Null);
                    let key = (
                        object::namespace(&v).to_string(),
                        object::name(&v).to_string(),
                    );
                    let fp = watch_fingerprint(&v);
                    if seen.get(&key) != Some(&fp) {
                        seen.insert(key.clone(), fp);
                        let _ = wtx.send(key);
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    let v = serde_json::to_value(&o).unwrap_or(Value::Null);
                    seen.remove(&(
                        object::namespace(&v).to_string(),
                        object::name(&v).to_string(),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "application watch error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });

    // The queue: one reconcile per key at a time, `workers` at once.
    let sem = Arc::new(Semaphore::new(ctx.opts.workers.max(1)));
    let running: Arc<std::sync::Mutex<HashSet<Key>>> = Default::default();
    let dirty: Arc<std::sync::Mutex<HashSet<Key>>> = Default::default();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Key>();
    loop {
        tokio::select! {
            key = rx.recv() => {
                let Some(key) = key else { break };
                let busy = running.lock().map(|r| r.contains(&key)).unwrap_or(false);
                if busy {
                    if let Ok(mut d) = dirty.lock() { d.insert(key); }
                    continue;
                }
                if let Ok(mut r) = running.lock() { r.insert(key.clone()); }
                let ctx = ctx.clone();
                let sem = sem.clone();
                let done = done_tx.clone();
                tokio::spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let started = Instant::now();
                    let requeue = match reconcile_app(&ctx, &key.0, &key.1).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(app = %key.1, error = %e, "reconcile failed");
                            Some(Duration::from_secs(5))
                        }
                    };
                    tracing::debug!(app = %key.1, took = ?started.elapsed(), "reconciled");
                    if let Some(after) = requeue {
                        schedule(&ctx, key.clone(), after);
                    }
                    let _ = done.send(key);
                });
            }
            key = done_rx.recv() => {
                let Some(key) = key else { break };
                if let Ok(mut r) = running.lock() { r.remove(&key); }
                let again = dirty.lock().map(|mut d| d.remove(&key)).unwrap_or(false);
                if again { let _ = tx.send(key); }
            }
        }
        if watch.is_finished() {
            break;
        }
    }
    Ok(())
}

/// Schedules a refresh of `key` after `after`, replacing any earlier scheduled one.
fn schedule(ctx: &Arc<Ctx>, key: Key, after: Duration) {
    let generation = {
        let Ok(mut t) = ctx.timers.lock() else { return };
        let g = t.entry(key.clone()).or_insert(0);
        *g += 1;
        *g
    };
    let ctx = ctx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let current = ctx.timers.lock().ok().and_then(|t| t.get(&key).copied());
        if current == Some(generation) {
            let _ = ctx.tx.send(key);
        }
    });
}

fn periodic(opts: &Options) -> Duration {
    let jitter_ms = opts.refresh_jitter.as_millis() as u64;
    let extra = if jitter_ms == 0 {
        0
    } else {
        rand::random_range(0..jitter_ms)
    };
    opts.refresh_interval + Duration::from_millis(extra)
}

/// Fetches (or reuses) the repository of every source.
async fn fetch_sources(
    ctx: &Arc<Ctx>,
    app: &Application,
    hard: bool,
) -> Result<Vec<SourceSnapshot>, String> {
    let mut out = Vec::new();
    for src in app.sources() {
        let url = src.repo_url.clone();
        let rev = src.revision().to_string();
        let store = ctx.mirrors.clone();
        let commit = tokio::task::spawn_blocking(move || {
            let remote = gitsource::Remote::parse(&url).map_err(|e| e.to_string())?;
            let mirror = store.open(&remote).map_err(|e| e.to_string())?;
            let commit = mirror
                .fetch(&rev, &gitsource::mirror::FetchOptions::default())
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((mirror, commit))
        })
        .await
        .map_err(|e| e.to_string())?;
        let (mirror, commit) = commit?;
        let cache_key = format!("{}@{}", src.repo_url, commit.as_str());
        let cached = if hard {
            None
        } else {
            ctx.repo_cache.lock().await.get(&cache_key).cloned()
        };
        let files = match cached {
            Some(f) => f,
            None => {
                let c = commit.clone();
                let files = tokio::task::spawn_blocking(move || mirror.read_files(&c, ""))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                let files = Arc::new(files);
                let mut cache = ctx.repo_cache.lock().await;
                if cache.len() > 64 {
                    cache.clear();
                }
                cache.insert(cache_key, files.clone());
                files
            }
        };
        out.push(SourceSnapshot {
            revision: commit.as_str().to_string(),
            files,
        });
    }
    Ok(out)
}

/// Live objects relevant to the app: every object of the rendered kinds and of the kinds in
/// `status.resources` that is tracked by the app or has the key of a desired object.
async fn gather_live(
    ctx: &Ctx,
    desired: &[Value],
    app: &Application,
    tracking: &Tracking,
) -> (Vec<Value>, HashMap<(String, String), bool>) {
    let mut kinds: BTreeSet<(String, String)> = BTreeSet::new();
    for d in desired {
        kinds.insert((
            object::api_version(d).to_string(),
            object::kind(d).to_string(),
        ));
    }
    for r in &app.status.resources {
        let av = if r.group.is_empty() {
            r.version.clone()
        } else {
            format!("{}/{}", r.group, r.version)
        };
        kinds.insert((av, r.kind.clone()));
    }
    let desired_keys: HashSet<(String, String, String)> = desired
        .iter()
        .map(|d| {
            (
                object::kind(d).to_string(),
                object::group(d).to_string(),
                object::name(d).to_string(),
            )
        })
        .collect();
    let mut live = Vec::new();
    let mut scopes = HashMap::new();
    for (av, kind) in kinds {
        let Some(k) = ctx.kube.kind(&av, &kind).await else {
            continue;
        };
        scopes.insert(
            (object::split_api_version(&av).0.to_string(), kind.clone()),
            k.namespaced,
        );
        match ctx.kube.list(&k).await {
            Ok(items) => live.extend(items.into_iter().filter(|o| {
                tracking.is_managed(o)
                    || desired_keys.contains(&(
                        object::kind(o).to_string(),
                        object::group(o).to_string(),
                        object::name(o).to_string(),
                    ))
            })),
            Err(e) => tracing::warn!(kind = %kind, error = %e, "list failed"),
        }
    }
    // Namespace for CreateNamespace.
    if let Some(k) = ctx.kube.kind("v1", "Namespace").await {
        scopes.insert((String::new(), "Namespace".into()), k.namespaced);
    }
    (live, scopes)
}

fn tracking_for(ctx: &Ctx, app: &Application) -> Tracking {
    let instance = app_instance_name(
        &app.metadata.name,
        &app.metadata.namespace,
        &ctx.opts.namespace,
    );
    Tracking::annotation(&instance, app.spec.destination.namespace())
}

struct Compared {
    rec: Reconciliation,
    cmp: Comparison,
}

fn compare_state(
    app: &Application,
    rendered: &Rendered,
    live: &[Value],
    tracking: &Tracking,
    scopes: &HashMap<(String, String), bool>,
    revisions: &[String],
) -> Result<Compared, String> {
    let scope = |g: &str, k: &str| scopes.get(&(g.to_string(), k.to_string())).copied();
    let rec = reconcile(rendered, live, tracking, &scope);
    let rules: Vec<_> = app.ignore_differences();
    let ignore = IgnoreDifferences::new(&rules).map_err(|e| e.to_string())?;
    let diffs: Vec<DiffResult> = rec
        .resources
        .iter()
        .map(|p| match (&p.target, &p.live) {
            (Some(t), Some(l)) => engine::diff::diff_desired_fields(t, l, &ignore),
            (t, l) => engine::diff::diff_create_or_delete(t.as_ref(), l.as_ref(), &ignore),
        })
        .collect();
    let cmp = compare(
        app,
        &rec,
        &diffs,
        revisions,
        &HealthOptions::default(),
        &app.metadata.name,
    );
    Ok(Compared { rec, cmp })
}

/// Reconciles one app; returns when to look again.
async fn reconcile_app(ctx: &Arc<Ctx>, ns: &str, name: &str) -> Result<Option<Duration>, String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.kube.client.clone(), ns, &app_resource());
    let Some(obj) = api.get_opt(name).await.map_err(|e| error_message(&e))? else {
        return Ok(None);
    };
    let raw = serde_json::to_value(&obj).map_err(|e| e.to_string())?;
    let mut app = match Application::from_value(&raw) {
        Ok(a) => a,
        Err(e) => {
            let mut raw2 = raw.clone();
            raw2["status"] = json!({"conditions": [{"type": crate::application::CONDITION_INVALID_SPEC,
                "message": e.to_string(), "lastTransitionTime": now()}]});
            write_app(ctx, &raw2, false).await?;
            return Ok(Some(periodic(&ctx.opts)));
        }
    };
    if app.metadata.deletion_timestamp.is_some() {
        return finalize_deletion(ctx, &app, &raw).await;
    }
    if app
        .metadata
        .annotations
        .get(ANNOTATION_SKIP_RECONCILE)
        .map(String::as_str)
        == Some("true")
    {
        return Ok(None);
    }
    let hard = app
        .metadata
        .annotations
        .get(ANNOTATION_REFRESH)
        .map(String::as_str)
        == Some("hard");
    let tracking = tracking_for(ctx, &app);
    let mut conditions: Vec<ApplicationCondition> = app.spec_conditions();

    // git + render
    let generated: Result<(Vec<SourceSnapshot>, Vec<Value>), String> = async {
        if conditions
            .iter()
            .any(|c| c.type_ == crate::application::CONDITION_INVALID_SPEC)
        {
            return Err("invalid spec".to_string());
        }
        let snaps = fetch_sources(ctx, &app, hard).await?;
        let app2 = app.clone();
        let snaps2 = snaps.clone();
        let cluster = ctx.cluster.clone();
        let fetcher = KubeSecrets {
            client: ctx.kube.client.clone(),
            default_namespace: ctx.opts.namespace.clone(),
            handle: tokio::runtime::Handle::current(),
        };
        let objs = tokio::task::spawn_blocking(move || {
            source::generate(&app2, &snaps2, &cluster, &fetcher)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.0)?;
        Ok((snaps, objs))
    }
    .await;

    let (snaps, desired) = match generated {
        Ok(x) => x,
        Err(msg) => {
            // Nothing is applied or pruned: keep the last known resources, report the error.
            if !conditions
                .iter()
                .any(|c| c.type_ == crate::application::CONDITION_INVALID_SPEC)
            {
                conditions.push(ApplicationCondition::new(
                    CONDITION_COMPARISON_ERROR,
                    format!("Failed to load target state: {msg}"),
                ));
            }
            let mut status = app.status.clone();
            status.sync = Some(SyncStatus {
                status: SyncStatusCode::Unknown.as_str().into(),
                compared_to: Some(compared_to(&app)),
                revision: status.sync.as_ref().and_then(|s| s.revision.clone()),
                ..Default::default()
            });
            status.conditions = stamp_conditions(&app.status.conditions, conditions);
            status.reconciled_at = Some(now());
            app.status = status;
            let mut out = raw.clone();
            out["status"] = serde_json::to_value(&app.status).unwrap_or(Value::Null);
            write_app(ctx, &out, false).await?;
            return Ok(Some(Duration::from_secs(10).min(periodic(&ctx.opts))));
        }
    };
    let revisions: Vec<String> = snaps.iter().map(|s| s.revision.clone()).collect();
    let rendered = Rendered::from_render::<()>(Ok(desired)).map_err(|_| "render".to_string())?;
    let (live, scopes) = gather_live(ctx, rendered.objects(), &app, &tracking).await;
    let mut state = compare_state(&app, &rendered, &live, &tracking, &scopes, &revisions)?;

    // Operation: explicit (spec.operation) or automated.
    let mut requeue = periodic(&ctx.opts);
    let mut completed_op = false;
    let op: Option<Operation> = match &app.operation {
        Some(op) => Some(op.clone()),
        None => {
            let since = app
                .status
                .operation_state
                .as_ref()
                .and_then(|s| s.finished_at.as_deref())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| {
                    (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                        .to_std()
                        .unwrap_or_default()
                });
            let sync_status = match state.cmp.sync.status.as_str() {
                "Synced" => SyncStatusCode::Synced,
                "OutOfSync" => SyncStatusCode::OutOfSync,
                _ => SyncStatusCode::Unknown,
            };
            match crate::autosync::decide(
                &app,
                &AutoSyncInput {
                    sync_status,
                    resources: &state.cmp.resources,
                    desired_revisions: &revisions,
                    since_last_operation: since,
                },
            ) {
                AutoSync::Sync(op) => Some(*op),
                AutoSync::RetryAfter { after, reason } => {
                    tracing::debug!(app = %name, %reason);
                    requeue = requeue.min(after + Duration::from_millis(200));
                    None
                }
                AutoSync::Error(c) => {
                    conditions.push(c);
                    None
                }
                AutoSync::Skip(reason) => {
                    tracing::trace!(app = %name, %reason);
                    None
                }
            }
        }
    };
    if let Some(op) = op {
        let started = now();
        let revision = op
            .sync
            .as_ref()
            .and_then(|s| s.revision.clone())
            .filter(|r| revisions.contains(r) || r.is_empty())
            .unwrap_or_else(|| revisions.first().cloned().unwrap_or_default());
        // Show the running operation while waves are applied and awaited.
        let mut running = raw.clone();
        let mut st = app.status.clone();
        st.operation_state = Some(OperationState {
            operation: op.clone(),
            phase: OperationPhase::Running.as_str().into(),
            message: Some("one or more tasks are running".into()),
            started_at: started.clone(),
            ..Default::default()
        });
        running["status"] = serde_json::to_value(&st).unwrap_or(Value::Null);
        if let Err(e) = write_app(ctx, &running, false).await {
            tracing::debug!(app = %name, error = %e, "writing running operation state");
        }
        let op_state = run_sync(ctx, &app, &op, &state.rec, &scopes, &revision, &started).await;
        let succeeded = op_state.phase == "Succeeded";
        if succeeded && !op.sync.as_ref().is_some_and(|s| s.dry_run) {
            let limit = app.revision_history_limit();
            app.status.push_history(
                RevisionHistory {
                    revision: Some(revision.clone()),
                    deployed_at: now(),
                    deploy_started_at: Some(started.clone()),
                    source: app.spec.source.clone(),
                    sources: app.spec.sources.clone(),
                    initiated_by: op.initiated_by.clone(),
                    ..Default::default()
                },
                limit,
            );
        }
        app.status.operation_state = Some(op_state);
        completed_op = true;
        // Compare again after the sync.
        let (live, scopes) = gather_live(ctx, rendered.objects(), &app, &tracking).await;
        state = compare_state(&app, &rendered, &live, &tracking, &scopes, &revisions)?;
        if state.cmp.sync.status != "Synced" || !succeeded {
            requeue = requeue.min(Duration::from_secs(3));
        }
    }
    if state.cmp.health.status == "Progressing" || state.cmp.health.status == "Missing" {
        requeue = requeue.min(Duration::from_secs(2));
    }

    // Status.
    conditions.extend(state.cmp.conditions.clone());
    let mut status = app.status.clone();
    let mut sync = state.cmp.sync.clone();
    sync.compared_to = Some(compared_to(&app));
    status.sync = Some(sync);
    let prev_health = app.status.health.clone();
    let mut health: AppHealthStatus = state.cmp.health.clone();
    health.last_transition_time = match prev_health {
        Some(p) if p.status == health.status => p.last_transition_time.or_else(|| Some(now())),
        _ => Some(now()),
    };
    status.health = Some(health);
    status.resources = state.cmp.resources.clone();
    status.conditions = stamp_conditions(&app.status.conditions, conditions);
    status.reconciled_at = Some(now());
    status.source_type = Some(
        match snaps
            .first()
            .map(|s| source::source_type(&app, 0, &s.files))
        {
            Some(crate::application::SourceType::Helm) => "Helm",
            _ => "Directory",
        }
        .to_string(),
    );
    status.controller_namespace = Some(ctx.opts.namespace.clone());
    status.summary = Some(ApplicationSummary {
        images: state.cmp.images.clone(),
        is_app_of_apps: state.cmp.is_app_of_apps,
        ..Default::default()
    });
    let mut out = raw.clone();
    out["status"] = serde_json::to_value(&status).unwrap_or(Value::Null);
    write_app(ctx, &out, completed_op).await?;
    Ok(Some(requeue))
}

fn compared_to(app: &Application) -> ComparedTo {
    ComparedTo {
        source: app.spec.source.clone(),
        sources: app.spec.sources.clone(),
        destination: app.spec.destination.clone(),
        ignore_differences: app.spec.ignore_differences.clone(),
        ..Default::default()
    }
}

/// Keeps `lastTransitionTime` of conditions that did not change; stamps new ones.
fn stamp_conditions(
    old: &[ApplicationCondition],
    new: Vec<ApplicationCondition>,
) -> Vec<ApplicationCondition> {
    new.into_iter()
        .map(|mut c| {
            c.last_transition_time = old
                .iter()
                .find(|o| o.type_ == c.type_ && o.message == c.message)
                .and_then(|o| o.last_transition_time.clone())
                .or_else(|| Some(now()));
            c
        })
        .collect()
}

/// Writes the Application back (PUT with the resourceVersion it was read at): the status, the
/// refresh annotation removed, and `operation` cleared when it completed.
async fn write_app(ctx: &Ctx, raw: &Value, clear_operation: bool) -> Result<(), String> {
    let mut out = raw.clone();
    if let Some(a) = out
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(ANNOTATION_REFRESH);
    }
    if clear_operation && let Some(m) = out.as_object_mut() {
        m.remove("operation");
    }
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.kube.client.clone(),
        object::namespace(raw),
        &app_resource(),
    );
    let body: DynamicObject = serde_json::from_value(out.clone()).map_err(|e| e.to_string())?;
    match api
        .replace(object::name(raw), &PostParams::default(), &body)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // Changed meanwhile (spec edit, refresh request): write the status onto the fresh
            // object, clearing `operation` only if it is still the one that ran; the change
            // itself comes back through the watch.
            let Some(fresh) = api
                .get_opt(object::name(raw))
                .await
                .map_err(|e| error_message(&e))?
            else {
                return Ok(());
            };
            let mut fresh = serde_json::to_value(fresh).map_err(|e| e.to_string())?;
            fresh["status"] = out["status"].clone();
            if clear_operation
                && fresh.get("operation") == raw.get("operation")
                && let Some(m) = fresh.as_object_mut()
            {
                m.remove("operation");
            }
            let body: DynamicObject = serde_json::from_value(fresh).map_err(|e| e.to_string())?;
            match api
                .replace(object::name(raw), &PostParams::default(), &body)
                .await
            {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let _ = ctx
                        .tx
                        .send((object::namespace(raw).into(), object::name(raw).into()));
                    Ok(())
                }
                Err(e) => Err(error_message(&e)),
            }
        }
        Err(e) => Err(error_message(&e)),
    }
}

/// Runs one sync operation to completion (or timeout) and returns its final state.
async fn run_sync(
    ctx: &Ctx,
    app: &Application,
    op: &Operation,
    rec: &Reconciliation,
    scopes: &HashMap<(String, String), bool>,
    revision: &str,
    started: &str,
) -> OperationState {
    let sync = op.sync.clone().unwrap_or_default();
    let app_opts = app.sync_options();
    let op_opts = SyncOptions::parse(sync.sync_options.iter().map(String::as_str));
    let sync_options = app_opts.overlay(&op_opts);
    let dest_ns = app.spec.destination.namespace().to_string();
    let live_ns = if dest_ns.is_empty() {
        None
    } else {
        ctx.kube
            .get(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": dest_ns}}))
            .await
            .ok()
            .flatten()
    };
    let managed_ns = app
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.managed_namespace_metadata.as_ref())
        .map(|m| serde_json::to_value(m).unwrap_or(Value::Null));
    let selected: Vec<crate::application::SyncOperationResource> = sync.resources.clone();
    let filter = move |k: &ResourceKey| {
        selected.iter().any(|r| {
            r.group == k.group
                && r.kind == k.kind
                && r.name == k.name
                && (r.namespace.is_empty() || r.namespace == k.namespace)
        })
    };
    let scope = |g: &str, k: &str| scopes.get(&(g.to_string(), k.to_string())).copied();
    let rules = app.ignore_differences();
    let ignore = IgnoreDifferences::new(&rules).ok();
    let started_unix = chrono::Utc::now().timestamp();
    let plan = plan_sync(
        rec,
        &PlanOptions {
            sync_options: &sync_options,
            prune: sync.prune,
            prune_confirmed: false,
            skip_hooks: !sync.resources.is_empty(),
            resource_filter: if sync.resources.is_empty() {
                None
            } else {
                Some(&filter)
            },
            revision,
            started_at_unix: started_unix,
            namespace: &dest_ns,
            is_namespaced: &scope,
            live_namespace: live_ns.as_ref(),
            managed_namespace_metadata: managed_ns.as_ref(),
            ignore: ignore.as_ref(),
        },
    );
    let mut run = SyncRun::new(plan, HealthOptions::default());
    let mut state = OperationState {
        operation: op.clone(),
        phase: OperationPhase::Running.as_str().into(),
        started_at: started.to_string(),
        ..Default::default()
    };
    let deadline = Instant::now() + ctx.opts.sync_timeout;
    let dry_run = sync.dry_run;
    loop {
        let d = run.step();
        for &i in &d.remove_finalizer {
            if let Some(live) = run.states[i].live.clone()
                && let Err(e) = ctx
                    .kube
                    .remove_finalizer(&live, engine::sync::plan::HOOK_FINALIZER)
                    .await
            {
                tracing::warn!(error = %e, "removing hook finalizer");
            }
        }
        for &i in &d.delete {
            let obj = run.plan.tasks[i]
                .live
                .clone()
                .unwrap_or_else(|| run.plan.tasks[i].obj().clone());
            let r = if dry_run {
                Ok(())
            } else {
                ctx.kube.delete(&obj, None).await
            };
            run.record_deleted(i, r);
        }
        for &i in &d.prune {
            let task = &run.plan.tasks[i];
            let obj = task.live.clone().unwrap_or_else(|| task.obj().clone());
            let policy = task
                .options
                .prune_propagation_policy
                .or(Some(engine::sync::options::PropagationPolicy::Foreground));
            let r = if dry_run {
                Ok(())
            } else {
                ctx.kube.delete(&obj, policy).await
            };
            run.record_prune(i, r);
        }
        for &i in &d.apply {
            let task = run.plan.tasks[i].clone();
            let Some(target) = task.target.clone() else {
                run.record_apply(i, Err("no target".into()));
                continue;
            };
            let verb;
            let r = if dry_run {
                verb = "configured (dry run)";
                Ok(Value::Null)
            } else {
                match task.apply_method(false) {
                    ApplyMethod::ServerSideApply | ApplyMethod::ClientSideApply { .. } => {
                        verb = "serverside-applied";
                        ctx.kube.apply(&target).await
                    }
                    ApplyMethod::Create => {
                        verb = "created";
                        ctx.kube.create(&target).await
                    }
                    ApplyMethod::Replace { .. } | ApplyMethod::Update => {
                        verb = "replaced";
                        match &task.live {
                            Some(l) => ctx.kube.replace(&target, l).await,
                            None => ctx.kube.create(&target).await,
                        }
                    }
                }
            };
            let msg = r.map(|_| {
                let g = object::group(&target);
                let kind = object::kind(&target).to_lowercase();
                let kg = if g.is_empty() {
                    kind
                } else {
                    format!("{kind}.{g}")
                };
                format!("{kg}/{} {verb}", object::name(&target))
            });
            run.record_apply(i, msg);
        }
        if d.phase.completed() {
            crate::operation::update_state(&mut state, &run, d.phase, &d.message, revision);
            break;
        }
        if Instant::now() > deadline {
            crate::operation::update_state(
                &mut state,
                &run,
                OperationPhase::Failed,
                "one or more synchronization tasks did not complete in time",
                revision,
            );
            break;
        }
        let acted = !(d.apply.is_empty() && d.prune.is_empty() && d.delete.is_empty());
        tokio::time::sleep(Duration::from_millis(if acted { 200 } else { 1000 })).await;
        for i in run.to_observe() {
            let t = &run.plan.tasks[i];
            let probe = t
                .target
                .clone()
                .or_else(|| t.live.clone())
                .unwrap_or(Value::Null);
            let live = ctx.kube.get(&probe).await.ok().flatten();
            run.observe(i, live);
        }
    }
    state.finished_at = Some(now());
    state
}

/// Cascading deletion: deletes the tracked resources wave by wave, then removes the finalizer.
async fn finalize_deletion(
    ctx: &Arc<Ctx>,
    app: &Application,
    raw: &Value,
) -> Result<Option<Duration>, String> {
    let Some(policy) = deletion::cascade_policy(&app.metadata.finalizers) else {
        return Ok(None);
    };
    let tracking = tracking_for(ctx, app);
    let (live, _) = gather_live(ctx, &[], app, &tracking).await;
    let live: Vec<Value> = live
        .into_iter()
        .filter(|o| tracking.is_managed(o))
        .collect();
    let self_key = ResourceKey::new(
        crate::application::GROUP,
        crate::application::KIND,
        &app.metadata.namespace,
        &app.metadata.name,
    );
    match deletion::next_step(&live, Some(&self_key), false) {
        DeletionStep::Wait(_) => Ok(Some(Duration::from_secs(1))),
        DeletionStep::AwaitConfirmation(keys) => {
            tracing::info!(app = %app.metadata.name, waiting = keys.len(), "deletion awaits confirmation");
            Ok(Some(Duration::from_secs(10)))
        }
        DeletionStep::Delete(objs) => {
            let mut errors = Vec::new();
            for o in objs {
                if let Err(e) = ctx.kube.delete(o, Some(policy)).await {
                    errors.push(format!("{}: {e}", ResourceKey::of(o)));
                }
            }
            if !errors.is_empty() {
                let mut out = raw.clone();
                let mut status = app.status.clone();
                status.conditions = stamp_conditions(
                    &app.status.conditions,
                    vec![ApplicationCondition::new(
                        CONDITION_DELETION_ERROR,
                        errors.join("; "),
                    )],
                );
                out["status"] = serde_json::to_value(&status).unwrap_or(Value::Null);
                write_app(ctx, &out, false).await?;
            }
            Ok(Some(Duration::from_millis(500)))
        }
        DeletionStep::Done => {
            let finalizers: Vec<String> = app
                .metadata
                .finalizers
                .iter()
                .filter(|f| {
                    !matches!(
                        f.as_str(),
                        deletion::RESOURCES_FINALIZER
                            | deletion::RESOURCES_FINALIZER_FOREGROUND
                            | deletion::RESOURCES_FINALIZER_BACKGROUND
                    )
                })
                .cloned()
                .collect();
            let api: Api<DynamicObject> = Api::namespaced_with(
                ctx.kube.client.clone(),
                &app.metadata.namespace,
                &app_resource(),
            );
            let patch = json!({"metadata": {"finalizers": finalizers}});
            match api
                .patch(
                    &app.metadata.name,
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) | Err(kube::Error::Api(_)) => Ok(None),
                Err(e) => Err(error_message(&e)),
            }
        }
    }
}
