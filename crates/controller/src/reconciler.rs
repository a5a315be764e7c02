//! The reconciler: watches Applications and the kinds they manage, keeps a work queue (one
//! reconcile per app at a time, a global concurrency limit, periodic jittered refresh, immediate
//! refresh on changes, quick comparisons on managed-resource events), and for each app resolves
//! git, renders (cached by [`crate::resume::render_key`]), compares with the live objects, syncs
//! (server-side apply in sync-wave order, prune only after a successful render, retries with
//! backoff) and writes `status`.
//!
//! With [`Options::leader_election`] only the replica holding the `ferry-controller` Lease
//! reconciles; [`run`] returns [`Error::Leadership`] when the Lease is lost.

use crate::application::{
    AppHealthStatus, Application, ApplicationCondition, ApplicationSummary, ComparedTo, Operation,
    OperationState, RevisionHistory, SyncStatus,
};
use crate::autosync::{AutoSync, AutoSyncInput};
use crate::clusters::Clusters;
use crate::compare::{Comparison, compare};
use crate::helmargs::ClusterInfo;
use crate::kube_io::{Kube, KubeSecrets, error_message};
use crate::leader::{Elector, LeaderElection};
use crate::project::AppProject;
use crate::resume::{
    ANNOTATION_COMPARED, Compared as RecordedCompare, live_fingerprint, render_key,
};
use crate::source::{self, RepoFiles, SourceSnapshot};
use crate::watch::ResourceWatches;
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Annotation requesting an immediate refresh (`normal` / `hard`); removed after the refresh.
pub const ANNOTATION_REFRESH: &str = "argocd.argoproj.io/refresh";
/// Annotation stopping reconciliation.
pub const ANNOTATION_SKIP_RECONCILE: &str = "argocd.argoproj.io/skip-reconcile";
/// Condition type of manifest generation failures.
pub const CONDITION_COMPARISON_ERROR: &str = "ComparisonError";
/// Condition type of deletion failures.
pub const CONDITION_DELETION_ERROR: &str = "DeletionError";
/// `operationState.message` of a rollback while auto-sync is on (Argo CD's text).
pub const ROLLBACK_REFUSED: &str = "rollback cannot be initiated when auto-sync is enabled";

/// Controller settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data directory (git mirrors under `repos/`).
    pub data_dir: PathBuf,
    /// The control-plane namespace (Applications and AppProjects live here).
    pub namespace: String,
    /// Other namespaces whose Applications are reconciled too (Argo CD's
    /// `--application-namespaces` / `application.namespaces`: names, globs, `/regexp/`).
    /// Empty (the default): only the control-plane namespace is watched. Such an app must use
    /// a project whose `sourceNamespaces` matches its namespace.
    pub application_namespaces: Vec<String>,
    /// Period of the git comparison (default 60 s).
    pub refresh_interval: Duration,
    /// Random extra delay added to each period (default 10 s).
    pub refresh_jitter: Duration,
    /// How many apps are reconciled at the same time (default 40; reconciles mostly wait on
    /// the API server and git).
    pub workers: usize,
    /// Longest a sync operation may wait for waves to become healthy.
    pub sync_timeout: Duration,
    /// Watch the kinds the apps manage and compare an app as soon as one of its objects
    /// changes (default on).
    pub watch_resources: bool,
    /// Delay coalescing bursts of managed-resource events into one comparison (default 250 ms).
    pub watch_debounce: Duration,
    /// Leader election; `None` (the default) = this process always reconciles.
    pub leader_election: Option<LeaderElection>,
    /// Cancelling this token stops [`run`] cleanly: it returns `Ok(())` after releasing the
    /// Lease (so a standby replica takes over at once).
    pub shutdown: CancellationToken,
}

impl Options {
    /// Defaults with a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Options {
            data_dir: data_dir.into(),
            namespace: "argocd".into(),
            application_namespaces: Vec::new(),
            refresh_interval: Duration::from_secs(60),
            refresh_jitter: Duration::from_secs(10),
            workers: 40,
            sync_timeout: Duration::from_secs(300),
            watch_resources: true,
            watch_debounce: Duration::from_millis(250),
            leader_election: None,
            shutdown: CancellationToken::new(),
        }
    }
}

impl Options {
    /// Whether Applications in `namespace` are reconciled (Argo CD's `isAppNamespaceAllowed`).
    pub fn is_app_namespace_allowed(&self, namespace: &str) -> bool {
        namespace == self.namespace
            || crate::project::match_in_list(&self.application_namespaces, namespace)
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
    /// Leadership was lost: another replica reconciles now; this one must stop.
    #[error("leader election: {0}")]
    Leadership(String),
}

/// Counters of what the controller did (for tests, benchmarks and logs).
#[derive(Debug, Default)]
pub struct Stats {
    /// Reconciles started.
    pub reconciles: AtomicU64,
    /// Manifest generations (renders) performed.
    pub renders: AtomicU64,
    /// Objects applied, created or replaced in a cluster.
    pub applies: AtomicU64,
    /// Objects deleted (prune, hooks, cascade).
    pub deletes: AtomicU64,
    /// Sync operations run.
    pub syncs: AtomicU64,
    /// Comparisons queued by managed-resource events.
    pub watch_events: AtomicU64,
    /// Reconciles that trusted the recorded comparison ([`crate::resume`]) instead of rendering.
    pub resumed: AtomicU64,
}

impl Stats {
    fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads one counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

type Key = (String, String);
/// Per app: render key, digest of the render inputs ([`source::input_digest`]), manifests,
/// source type.
type RenderCache = HashMap<Key, (String, Option<String>, Arc<Vec<Value>>, String)>;
/// Per project name: when read, and the project or the condition text.
type ProjectCache = HashMap<String, (Instant, Result<AppProject, String>)>;
/// Per remote cluster client (by address): the client, kept alive, and its watches.
type RemoteWatches = HashMap<usize, (Arc<Kube>, Arc<ResourceWatches>)>;
/// Kind scopes: `(group, kind)` → namespaced.
type Scopes = HashMap<(String, String), bool>;
/// What an operation deploys: reconciliation, scopes, revisions, the app as rendered.
type Prepared = (Reconciliation, Scopes, Vec<String>, Application);

/// How much a queued reconcile must redo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// Compare with the last resolved revisions and cached manifests (a managed object changed).
    Quick,
    /// Resolve git again, accepting a fetch of the same revision made within the last few
    /// seconds ([`fetch_window`]): the periodic refresh (N apps on one repository cost one
    /// fetch per window, not N).
    Periodic,
    /// Resolve git again, with a fetch started after the request (spec change, refresh request).
    Normal,
    /// As [`Level::Normal`], in the priority lane (a webhook push): not queued behind periodic
    /// refreshes.
    Urgent,
}

/// The Applications the controller watches, as last seen (invalid specs left out).
#[derive(Default)]
struct AppView {
    /// Set once the initial list of the watch is complete.
    synced: std::sync::atomic::AtomicBool,
    apps: std::sync::RwLock<HashMap<Key, Application>>,
    /// Every watched Application as the API server last returned it (watch events and the
    /// controller's own writes, the newest `resourceVersion` winning): a reconcile reads its app
    /// here instead of from the API server.
    raw: std::sync::RwLock<HashMap<Key, Arc<Value>>>,
}

impl AppView {
    /// Stores `v` unless the stored copy has a higher `resourceVersion`.
    fn put_raw(&self, key: Key, v: Value) {
        let rv = |o: &Value| {
            o.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<u64>().ok())
        };
        if let Ok(mut m) = self.raw.write() {
            if let (Some(cur), Some(new)) = (m.get(&key).and_then(|c| rv(c)), rv(&v))
                && cur > new
            {
                return;
            }
            m.insert(key, Arc::new(v));
        }
    }

    /// The app as last seen, when the initial list is complete and the app is known.
    fn get_raw(&self, key: &Key) -> Option<Value> {
        if !self.synced.load(Ordering::Acquire) {
            return None;
        }
        self.raw.read().ok()?.get(key).map(|v| (**v).clone())
    }
}

/// A handle to ask the running controller for refreshes.
#[derive(Clone)]
pub struct Refresher {
    tx: mpsc::UnboundedSender<(Key, Level)>,
    stats: Arc<Stats>,
    view: Arc<AppView>,
}

impl Refresher {
    /// Queues a refresh of `namespace/name`.
    pub fn refresh(&self, namespace: &str, name: &str) {
        let _ = self
            .tx
            .send(((namespace.to_string(), name.to_string()), Level::Normal));
    }

    /// Queues a refresh of `namespace/name` in the priority lane (ahead of periodic refreshes);
    /// used by webhook pushes.
    pub fn refresh_urgent(&self, namespace: &str, name: &str) {
        let _ = self
            .tx
            .send(((namespace.to_string(), name.to_string()), Level::Urgent));
    }

    /// Whether the controller that gave this handle still runs (it stops when leadership is lost).
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// The watched Applications (those with a valid spec), or `None` while the initial list of
    /// the watch is incomplete or the controller stopped.
    pub fn applications(&self) -> Option<Vec<Application>> {
        if !self.is_running() || !self.view.synced.load(Ordering::Acquire) {
            return None;
        }
        let apps = self.view.apps.read().ok()?;
        let mut out: Vec<Application> = apps.values().cloned().collect();
        out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        Some(out)
    }

    /// The controller's counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }
}

struct Ctx {
    kube: Arc<Kube>,
    opts: Options,
    mirrors: gitsource::mirror::MirrorStore,
    /// Per `(repository, revision)`: when the last fetch resolving it started, and its commit.
    fetched: std::sync::Mutex<HashMap<(String, String), (Instant, String)>>,
    /// Repository files per `url@commit`; concurrent readers of one commit share one read.
    repo_cache: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Arc<RepoFiles>>>>>,
    renders: std::sync::Mutex<RenderCache>,
    projects: std::sync::Mutex<ProjectCache>,
    tx: mpsc::UnboundedSender<(Key, Level)>,
    timers: std::sync::Mutex<HashMap<Key, u64>>,
    cluster: ClusterInfo,
    clusters: Clusters,
    /// Argo CD repository Secrets (credentials for git).
    repo_creds: crate::repocreds::RepoCreds,
    watches: Arc<ResourceWatches>,
    remote_watches: std::sync::Mutex<RemoteWatches>,
    stats: Arc<Stats>,
    /// The Applications as watched.
    view: Arc<AppView>,
    cancel: CancellationToken,
}

impl Ctx {
    fn spawn(&self, f: impl std::future::Future<Output = ()> + Send + 'static) {
        tokio::spawn(self.cancel.clone().run_until_cancelled_owned(f));
    }
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

fn project_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            crate::application::GROUP,
            crate::application::VERSION,
            crate::project::KIND,
        ),
        crate::project::PLURAL,
    )
}

async fn install_crd(
    client: &kube::Client,
    name: &str,
    crd: Value,
    resource: &ApiResource,
) -> Result<(), Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let present = crds
        .get_opt(name)
        .await
        .map_err(|e| Error::Kube(error_message(&e)))?;
    if present.is_none() {
        let crd: CustomResourceDefinition =
            serde_json::from_value(crd).map_err(|e| Error::Kube(format!("CRD {name}: {e}")))?;
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => tracing::info!("installed CRD {name}"),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(Error::Kube(error_message(&e))),
        }
    }
    let api: Api<DynamicObject> = Api::all_with(client.clone(), resource);
    for _ in 0..100 {
        if api.list(&Default::default()).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Kube(format!("{name} CRD not served after 10 s")))
}

/// Installs the `applications.argoproj.io` and `appprojects.argoproj.io` CRDs when absent and
/// waits until they are served.
pub async fn ensure_crd(client: &kube::Client) -> Result<(), Error> {
    install_crd(
        client,
        crate::crd::CRD_NAME,
        crate::crd::application_crd(),
        &app_resource(),
    )
    .await?;
    install_crd(
        client,
        crate::project::CRD_NAME,
        crate::project::appproject_crd(),
        &project_resource(),
    )
    .await
}

fn watch_fingerprint(v: &Value) -> String {
    let mut annotations = v
        .pointer("/metadata/annotations")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(m) = annotations.as_object_mut() {
        m.remove(ANNOTATION_COMPARED);
    }
    json!([
        v.get("spec"),
        v.get("operation"),
        annotations,
        v.pointer("/metadata/deletionTimestamp"),
        v.pointer("/metadata/finalizers"),
    ])
    .to_string()
}

/// Runs the controller until the Application watch ends or, with leader election, until the
/// Lease is lost ([`Error::Leadership`]); returns a [`Refresher`] through `on_start` once this
/// replica reconciles. Dropping the future stops every task the controller started.
pub async fn run(
    client: kube::Client,
    opts: Options,
    on_start: impl FnOnce(Refresher),
) -> Result<(), Error> {
    ensure_crd(&client).await?;
    let shutdown = opts.shutdown.clone();
    let Some(le) = opts.leader_election.clone() else {
        return shutdown
            .run_until_cancelled(run_leading(client, opts, on_start))
            .await
            .unwrap_or(Ok(()));
    };
    let mut elector = Elector::new(client.clone(), le);
    if shutdown
        .run_until_cancelled(elector.acquire())
        .await
        .is_none()
    {
        return Ok(());
    }
    let result = {
        let leading = run_leading(client, opts, on_start);
        tokio::pin!(leading);
        tokio::select! {
            r = &mut leading => r,
            lost = elector.hold() => Err(Error::Leadership(lost.to_string())),
            _ = shutdown.cancelled() => Ok(()),
        }
    };
    if result.is_ok() {
        elector.release().await;
    }
    result
}

async fn run_leading(
    client: kube::Client,
    opts: Options,
    on_start: impl FnOnce(Refresher),
) -> Result<(), Error> {
    let mirrors = gitsource::mirror::MirrorStore::new(opts.data_dir.join("repos"))
        .map_err(|e| Error::Data(e.to_string()))?;
    let cancel = CancellationToken::new();
    let _stop_all = cancel.clone().drop_guard();
    let (tx, mut rx) = mpsc::unbounded_channel::<(Key, Level)>();
    let stats = Arc::new(Stats::default());
    let view = Arc::new(AppView::default());
    on_start(Refresher {
        tx: tx.clone(),
        stats: stats.clone(),
        view: view.clone(),
    });
    let wtx = tx.clone();
    let wstats = stats.clone();
    let watches = Arc::new(ResourceWatches::new(
        client.clone(),
        &opts.namespace,
        opts.watch_debounce,
        cancel.clone(),
        move |k| {
            Stats::inc(&wstats.watch_events);
            let _ = wtx.send((k, Level::Quick));
        },
    ));
    let ctx = Arc::new(Ctx {
        kube: Arc::new(Kube::new(client.clone())),
        mirrors,
        fetched: std::sync::Mutex::new(HashMap::new()),
        repo_cache: Mutex::new(HashMap::new()),
        renders: std::sync::Mutex::new(HashMap::new()),
        projects: std::sync::Mutex::new(HashMap::new()),
        tx: tx.clone(),
        timers: std::sync::Mutex::new(HashMap::new()),
        cluster: ClusterInfo::default(),
        clusters: Clusters::new(client.clone(), &opts.namespace),
        repo_creds: crate::repocreds::RepoCreds::new(
            client.clone(),
            &opts.namespace,
            opts.data_dir.join("ssh-keys"),
        ),
        watches,
        remote_watches: std::sync::Mutex::new(HashMap::new()),
        stats,
        view: view.clone(),
        cancel: cancel.clone(),
        opts,
    });

    // Watch Applications in the control-plane namespace, or everywhere when other namespaces
    // may hold them (events of the others are dropped here).
    let apps: Api<DynamicObject> = if ctx.opts.application_namespaces.is_empty() {
        Api::namespaced_with(client.clone(), &ctx.opts.namespace, &app_resource())
    } else {
        Api::all_with(client.clone(), &app_resource())
    };
    let wtx = tx.clone();
    let wctx = ctx.clone();
    let watch = tokio::spawn(cancel.clone().run_until_cancelled_owned(async move {
        let mut seen: HashMap<Key, String> = HashMap::new();
        let mut stream = watcher(apps, watcher::Config::default()).boxed();
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => {
                    if !wctx
                        .opts
                        .is_app_namespace_allowed(o.metadata.namespace.as_deref().unwrap_or(""))
                    {
                        continue;
                    }
                    let v = serde_json::to_value(&o).unwrap_or(Value::Null);
                    let key = (
                        object::namespace(&v).to_string(),
                        object::name(&v).to_string(),
                    );
                    if let Ok(mut m) = view.apps.write() {
                        match Application::from_value(&v) {
                            Ok(a) => m.insert(key.clone(), a),
                            Err(_) => m.remove(&key),
                        };
                    }
                    let mut full = v.clone();
                    full["apiVersion"] = json!(crate::application::API_VERSION);
                    full["kind"] = json!(crate::application::KIND);
                    view.put_raw(key.clone(), full);
                    let fp = watch_fingerprint(&v);
                    if seen.get(&key) != Some(&fp) {
                        seen.insert(key.clone(), fp);
                        let _ = wtx.send((key, Level::Normal));
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    if !wctx
                        .opts
                        .is_app_namespace_allowed(o.metadata.namespace.as_deref().unwrap_or(""))
                    {
                        continue;
                    }
                    let v = serde_json::to_value(&o).unwrap_or(Value::Null);
                    let key = (
                        object::namespace(&v).to_string(),
                        object::name(&v).to_string(),
                    );
                    seen.remove(&key);
                    if let Ok(mut m) = view.apps.write() {
                        m.remove(&key);
                    }
                    if let Ok(mut m) = view.raw.write() {
                        m.remove(&key);
                    }
                    if let Ok(mut r) = wctx.renders.lock() {
                        r.remove(&key);
                    }
                }
                Ok(watcher::Event::Init) => {
                    view.synced.store(false, Ordering::Release);
                    if let Ok(mut m) = view.apps.write() {
                        m.clear();
                    }
                    if let Ok(mut m) = view.raw.write() {
                        m.clear();
                    }
                }
                Ok(watcher::Event::InitDone) => view.synced.store(true, Ordering::Release),
                Err(e) => {
                    tracing::warn!(error = %e, "application watch error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }));

    // The queue: one reconcile per key at a time, `workers` at once; webhook pushes take the
    // priority lane (their own permits), so they never wait behind periodic refreshes.
    let sem = Arc::new(Semaphore::new(ctx.opts.workers.max(1)));
    let urgent_sem = Arc::new(Semaphore::new(ctx.opts.workers.max(1)));
    let running: Arc<std::sync::Mutex<HashSet<Key>>> = Default::default();
    let dirty: Arc<std::sync::Mutex<HashMap<Key, Level>>> = Default::default();
    // Queued reconciles still waiting for a permit of the normal lane: a webhook push for one of
    // them moves it to the priority lane (rather than waiting behind the whole queue).
    type Upgrade = Arc<(tokio::sync::Notify, std::sync::atomic::AtomicBool)>;
    let waiting: Arc<std::sync::Mutex<HashMap<Key, Upgrade>>> = Default::default();
    let urgent_now = Arc::new(tokio::sync::watch::channel(0usize).0);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Key>();
    loop {
        tokio::select! {
            item = rx.recv() => {
                let Some((key, level)) = item else { break };
                let busy = running.lock().map(|r| r.contains(&key)).unwrap_or(false);
                if busy {
                    if level == Level::Urgent
                        && let Ok(w) = waiting.lock()
                        && let Some(n) = w.get(&key)
                    {
                        // Under the lock: the task sees either the flag or the notification.
                        n.1.store(true, Ordering::Release);
                        n.0.notify_one();
                        continue;
                    }
                    if let Ok(mut d) = dirty.lock() {
                        let e = d.entry(key).or_insert(level);
                        *e = (*e).max(level);
                    }
                    continue;
                }
                if let Ok(mut r) = running.lock() { r.insert(key.clone()); }
                let ctx2 = ctx.clone();
                let (sem, urgent_sem) = (sem.clone(), urgent_sem.clone());
                let upgrade: Upgrade = Default::default();
                if level != Level::Urgent && let Ok(mut w) = waiting.lock() {
                    w.insert(key.clone(), upgrade.clone());
                }
                let waiting = waiting.clone();
                let urgent_now = urgent_now.clone();
                let done = done_tx.clone();
                ctx.spawn(async move {
                    let ctx = ctx2;
                    let (_permit, mut priority) = if level == Level::Urgent {
                        (urgent_sem.acquire_owned().await, true)
                    } else {
                        tokio::select! {
                            p = sem.acquire_owned() => (p, false),
                            _ = upgrade.0.notified() => (urgent_sem.acquire_owned().await, true),
                        }
                    };
                    if let Ok(mut w) = waiting.lock() {
                        w.remove(&key);
                        priority |= upgrade.1.load(Ordering::Acquire);
                    }
                    let level = if priority { Level::Normal } else { level };
                    // Normal reconciles do not start while a priority one runs (for up to
                    // PRIORITY_HOLD: a priority sync waiting for health must not stall them).
                    let _priority = if priority {
                        Some(PriorityGuard::new(&urgent_now))
                    } else {
                        let mut rx = urgent_now.subscribe();
                        let _ = tokio::time::timeout(PRIORITY_HOLD, rx.wait_for(|n| *n == 0)).await;
                        None
                    };
                    let started = Instant::now();
                    let requeue = match reconcile_app(&ctx, &key.0, &key.1, level).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(app = %key.1, error = %e, "reconcile failed");
                            Some(Duration::from_secs(5))
                        }
                    };
                    tracing::debug!(app = %key.1, took = ?started.elapsed(), ?level, "reconciled");
                    if let Some(after) = requeue {
                        schedule(&ctx, key.clone(), after);
                    }
                    let _ = done.send(key);
                });
            }
            key = done_rx.recv() => {
                let Some(key) = key else { break };
                if let Ok(mut r) = running.lock() { r.remove(&key); }
                let again = dirty.lock().ok().and_then(|mut d| d.remove(&key));
                if let Some(level) = again { let _ = tx.send((key, level)); }
            }
        }
        if watch.is_finished() {
            break;
        }
    }
    Ok(())
}

/// Longest a normal reconcile waits for running priority reconciles before starting anyway.
const PRIORITY_HOLD: Duration = Duration::from_secs(2);

/// Counts a running priority reconcile (in the watch channel normal reconciles wait on) while
/// alive.
struct PriorityGuard(Arc<tokio::sync::watch::Sender<usize>>);

impl PriorityGuard {
    fn new(count: &Arc<tokio::sync::watch::Sender<usize>>) -> Self {
        count.send_modify(|n| *n += 1);
        PriorityGuard(count.clone())
    }
}

impl Drop for PriorityGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Schedules a refresh of `key` after `after`, replacing any earlier scheduled one.
fn schedule(ctx: &Arc<Ctx>, key: Key, after: Duration) {
    let generation = {
        let Ok(mut t) = ctx.timers.lock() else { return };
        let g = t.entry(key.clone()).or_insert(0);
        *g += 1;
        *g
    };
    let ctx2 = ctx.clone();
    ctx.spawn(async move {
        tokio::time::sleep(after).await;
        let current = ctx2.timers.lock().ok().and_then(|t| t.get(&key).copied());
        if current == Some(generation) {
            let _ = ctx2.tx.send((key, Level::Periodic));
        }
    });
}

/// How old a fetch a [`Level::Periodic`] refresh accepts: half the refresh period, at most 10 s.
fn fetch_window(opts: &Options) -> Duration {
    (opts.refresh_interval / 2).min(Duration::from_secs(10))
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

fn is_oid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commits of every source of `app`: with [`Level::Quick`] and an unchanged spec, the ones
/// of the last comparison (no git at all); else resolved in the mirrors (a commit id already
/// present needs no fetch; anything else is fetched).
async fn resolve_revisions(
    ctx: &Arc<Ctx>,
    app: &Application,
    level: Level,
) -> Result<Vec<String>, String> {
    let sources = app.sources();
    if level == Level::Quick
        && let Some(sync) = &app.status.sync
        && sync.compared_to.as_ref() == Some(&compared_to(app))
    {
        let recorded: Vec<String> = if app.is_multi_source() {
            sync.revisions.clone()
        } else {
            sync.revision.iter().cloned().collect()
        };
        if recorded.len() == sources.len() && recorded.iter().all(|r| is_oid(r)) {
            return Ok(recorded);
        }
    }
    let mut out = Vec::new();
    for src in sources {
        let url = src.repo_url.clone();
        let rev = src.revision().to_string();
        let fetch_key = (url.clone(), rev.clone());
        if level <= Level::Periodic
            && let Ok(f) = ctx.fetched.lock()
            && let Some((at, commit)) = f.get(&fetch_key)
            && at.elapsed() < fetch_window(&ctx.opts)
        {
            out.push(commit.clone());
            continue;
        }
        let store = ctx.mirrors.clone();
        let remote = ctx.repo_creds.remote(&url).await?;
        let started = Instant::now();
        let commit = tokio::task::spawn_blocking(move || {
            let mirror = store.open(&remote).map_err(|e| e.to_string())?;
            if is_oid(&rev)
                && let Ok(c) = mirror.resolve(&rev)
            {
                return Ok::<_, String>(c);
            }
            mirror
                .fetch(&rev, &gitsource::mirror::FetchOptions::default())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        if let Ok(mut f) = ctx.fetched.lock() {
            if f.len() > 10_000 {
                f.clear();
            }
            let newer = f.get(&fetch_key).is_none_or(|(at, _)| *at <= started);
            if newer {
                f.insert(fetch_key, (started, commit.as_str().to_string()));
            }
        }
        out.push(commit.as_str().to_string());
    }
    Ok(out)
}

/// Reads the repository of every source at its resolved commit (cached per commit).
async fn read_sources(
    ctx: &Arc<Ctx>,
    app: &Application,
    revisions: &[String],
    hard: bool,
) -> Result<Vec<SourceSnapshot>, String> {
    let mut out = Vec::new();
    for (src, rev) in app.sources().into_iter().zip(revisions) {
        let cache_key = format!("{}@{rev}", src.repo_url);
        let cell = {
            let mut cache = ctx.repo_cache.lock().await;
            if hard {
                cache.remove(&cache_key);
            }
            if cache.len() > 64 && !cache.contains_key(&cache_key) {
                cache.clear();
            }
            cache.entry(cache_key).or_default().clone()
        };
        let files = cell
            .get_or_try_init(|| async {
                let url = src.repo_url.clone();
                let store = ctx.mirrors.clone();
                let rev2 = rev.clone();
                let remote = ctx.repo_creds.remote(&url).await?;
                let files = tokio::task::spawn_blocking(move || {
                    let mirror = store.open(&remote).map_err(|e| e.to_string())?;
                    let commit = match mirror.resolve(&rev2) {
                        Ok(c) => c,
                        Err(_) => mirror
                            .fetch(&rev2, &gitsource::mirror::FetchOptions::default())
                            .map_err(|e| e.to_string())?,
                    };
                    mirror.read_files(&commit, "").map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())??;
                Ok::<_, String>(Arc::new(files))
            })
            .await?
            .clone();
        out.push(SourceSnapshot {
            revision: rev.clone(),
            files,
        });
    }
    Ok(out)
}

/// Manifests of `app` at `revisions`, from the render cache when `cache` names the app and
/// its render key is unchanged or the digest of its render inputs is; returns the objects and
/// the source type.
async fn render(
    ctx: &Arc<Ctx>,
    app: &Application,
    revisions: &[String],
    cache: Option<(&Key, &str)>,
    hard: bool,
) -> Result<(Arc<Vec<Value>>, String), String> {
    if let Some((key, rkey)) = cache
        && !hard
        && let Ok(r) = ctx.renders.lock()
        && let Some((k, _, objs, st)) = r.get(key)
        && k == rkey
    {
        return Ok((objs.clone(), st.clone()));
    }
    let snaps = read_sources(ctx, app, revisions, hard).await?;
    // Another commit that changed none of the render's inputs: the same manifests.
    let digest = cache.and_then(|_| source::input_digest(app, &snaps, &ctx.cluster));
    if let Some((key, rkey)) = cache
        && !hard
        && digest.is_some()
        && let Ok(mut r) = ctx.renders.lock()
        && let Some(entry) = r.get_mut(key)
        && entry.1 == digest
    {
        entry.0 = rkey.to_string();
        return Ok((entry.2.clone(), entry.3.clone()));
    }
    let source_type = match snaps.first().map(|s| source::source_type(app, 0, &s.files)) {
        Some(crate::application::SourceType::Helm) => "Helm",
        _ => "Directory",
    }
    .to_string();
    let app2 = app.clone();
    let cluster = ctx.cluster.clone();
    let fetcher = KubeSecrets {
        client: ctx.kube.client.clone(),
        default_namespace: ctx.opts.namespace.clone(),
        handle: tokio::runtime::Handle::current(),
    };
    Stats::inc(&ctx.stats.renders);
    let objs =
        tokio::task::spawn_blocking(move || source::generate(&app2, &snaps, &cluster, &fetcher))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.0)?;
    let objs = Arc::new(objs);
    if let Some((key, rkey)) = cache
        && let Ok(mut r) = ctx.renders.lock()
    {
        r.insert(
            key.clone(),
            (rkey.to_string(), digest, objs.clone(), source_type.clone()),
        );
    }
    Ok((objs, source_type))
}

/// Live objects relevant to the app: the objects of the rendered kinds and of the kinds in
/// `status.resources`, in the namespaces concerned (those of the desired objects and of
/// `status.resources`, and the destination namespace), that are tracked by the app or have the
/// key of a desired object. Also returns the scope of every kind and the resolved kinds.
async fn gather_live(
    kube: &Kube,
    cache: Option<&ResourceWatches>,
    desired: &[Value],
    app: &Application,
    tracking: &Tracking,
) -> (
    Vec<Value>,
    HashMap<(String, String), bool>,
    Vec<crate::kube_io::Kind>,
) {
    let mut kinds: BTreeSet<(String, String)> = BTreeSet::new();
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    let dest_ns = app.spec.destination.namespace();
    if !dest_ns.is_empty() {
        namespaces.insert(dest_ns.to_string());
    }
    for d in desired {
        kinds.insert((
            object::api_version(d).to_string(),
            object::kind(d).to_string(),
        ));
        if !object::namespace(d).is_empty() {
            namespaces.insert(object::namespace(d).to_string());
        }
    }
    for r in &app.status.resources {
        let av = if r.group.is_empty() {
            r.version.clone()
        } else {
            format!("{}/{}", r.group, r.version)
        };
        kinds.insert((av, r.kind.clone()));
        if !r.namespace.is_empty() {
            namespaces.insert(r.namespace.clone());
        }
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
    let mut resolved = Vec::new();
    for (av, kind) in kinds {
        let Some(k) = kube.kind(&av, &kind).await else {
            continue;
        };
        scopes.insert(
            (object::split_api_version(&av).0.to_string(), kind.clone()),
            k.namespaced,
        );
        // A desired object without a namespace lands in the destination namespace; with no
        // destination namespace either, look everywhere.
        let everywhere = !k.namespaced || dest_ns.is_empty();
        let from_cache = |ns: Option<&str>| {
            cache.and_then(|c| c.cached(&k.resource.api_version, &k.resource.kind, ns))
        };
        let lists = if everywhere {
            vec![match from_cache(None) {
                Some(objs) => Ok(objs),
                None => kube.list(&k).await,
            }]
        } else {
            let mut v = Vec::new();
            for ns in &namespaces {
                v.push(match from_cache(Some(ns)) {
                    Some(objs) => Ok(objs),
                    None => kube.list_in(&k, ns).await,
                });
            }
            v
        };
        for l in lists {
            match l {
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
        resolved.push(k);
    }
    // Namespace for CreateNamespace (watched too: a sync reads the destination namespace).
    if let Some(k) = kube.kind("v1", "Namespace").await {
        scopes.insert((String::new(), "Namespace".into()), k.namespaced);
        if !dest_ns.is_empty()
            && !resolved.iter().any(|r: &crate::kube_io::Kind| {
                r.resource.kind == "Namespace" && r.resource.group.is_empty()
            })
        {
            resolved.push(k);
        }
    }
    (live, scopes, resolved)
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

/// The AppProject named `name` (cached for a few seconds); the implicit `default` project
/// when none named `default` exists; `Err` with Argo CD's condition text when it is missing.
async fn load_project(ctx: &Ctx, name: &str) -> Result<AppProject, String> {
    if let Ok(p) = ctx.projects.lock()
        && let Some((at, r)) = p.get(name)
        && at.elapsed() < Duration::from_secs(3)
    {
        return r.clone();
    }
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.kube.client.clone(),
        &ctx.opts.namespace,
        &project_resource(),
    );
    let r = match api.get_opt(name).await {
        Ok(Some(o)) => {
            let v = serde_json::to_value(o).unwrap_or(Value::Null);
            AppProject::from_value(&v).map_err(|e| e.to_string())
        }
        Ok(None) if name == crate::project::DEFAULT_PROJECT => Ok(AppProject::default_project()),
        Ok(None) => Err(format!(
            "Application referencing project {name} which does not exist"
        )),
        // The AppProject kind not being served must not stop the default project.
        Err(_) if name == crate::project::DEFAULT_PROJECT => Ok(AppProject::default_project()),
        Err(e) => Err(format!("getting project {name}: {}", error_message(&e))),
    };
    if let Ok(mut p) = ctx.projects.lock() {
        p.insert(name.to_string(), (Instant::now(), r.clone()));
    }
    r
}

/// Why a requested (non-automated) operation is refused while auto-sync is on, as Argo CD's
/// API server refuses it: a rollback (a `source`/`sources` override), or a sync to another
/// revision than the target. `None` = allowed.
pub fn refused_operation(app: &Application, op: &Operation) -> Option<String> {
    let sync = op.sync.as_ref()?;
    if op.initiated_by.as_ref().is_some_and(|i| i.automated) || sync.dry_run {
        return None;
    }
    app.auto_sync()?;
    if sync.source.is_some() || !sync.sources.is_empty() {
        return Some(ROLLBACK_REFUSED.to_string());
    }
    if app.is_multi_source() {
        return None;
    }
    let rev = sync.revision.as_deref().filter(|r| !r.is_empty())?;
    let target = app
        .spec
        .source
        .as_ref()
        .and_then(|s| s.target_revision.clone())
        .unwrap_or_default();
    let current = app.status.sync.as_ref().and_then(|s| s.revision.as_deref());
    if rev == target || Some(rev) == current || (target.is_empty() && rev == "HEAD") {
        return None;
    }
    let shown = if target.is_empty() { "HEAD" } else { &target };
    Some(format!(
        "Cannot sync to {rev}: auto-sync currently set to {shown}"
    ))
}

/// The app as the operation wants it rendered, when the operation asks for something else than
/// the spec's sources at their `resolved` commits: a rollback's `source`/`sources`, or a
/// `revision`/`revisions` other than the targets; `None` = the spec's target as resolved.
pub fn operation_target(
    app: &Application,
    op: &Operation,
    resolved: &[String],
) -> Option<Application> {
    let sync = op.sync.as_ref()?;
    let multi = app.is_multi_source();
    let sources_overridden = (!sync.sources.is_empty() && sync.sources != app.spec.sources)
        || sync
            .source
            .as_ref()
            .is_some_and(|src| Some(src) != app.spec.source.as_ref());
    let requested: Vec<&str> = if multi {
        sync.revisions.iter().map(String::as_str).collect()
    } else {
        sync.revision.as_deref().into_iter().collect()
    };
    let sources = app.sources();
    let revisions_current = requested.iter().enumerate().all(|(i, r)| {
        r.is_empty()
            || resolved.get(i).is_some_and(|x| x == r)
            || sources
                .get(i)
                .is_some_and(|s| s.target_revision.as_deref() == Some(*r))
    });
    if !sources_overridden && revisions_current {
        return None;
    }
    let mut out = app.clone();
    if !sync.sources.is_empty() {
        out.spec.sources = sync.sources.clone();
        out.spec.source = None;
    } else if let Some(src) = &sync.source {
        if multi {
            out.spec.sources = vec![src.clone()];
        } else {
            out.spec.source = Some(src.clone());
        }
    }
    if out.is_multi_source() {
        for (s, r) in out.spec.sources.iter_mut().zip(&sync.revisions) {
            if !r.is_empty() {
                s.target_revision = Some(r.clone());
            }
        }
    } else if let Some(r) = sync.revision.as_deref().filter(|r| !r.is_empty())
        && let Some(s) = out.spec.source.as_mut()
    {
        s.target_revision = Some(r.to_string());
    }
    Some(out)
}

/// Whether the conditions stop a comparison (an invalid spec, or a project the app may not
/// use).
fn invalid(conditions: &[ApplicationCondition]) -> bool {
    conditions.iter().any(|c| {
        c.type_ == crate::application::CONDITION_INVALID_SPEC
            || c.type_ == crate::application::CONDITION_UNKNOWN_ERROR
    })
}

/// Writes the status of an app whose target state could not be generated: nothing is applied
/// or pruned; the last known resources stay, the error is a condition.
async fn report_generation_error(
    ctx: &Arc<Ctx>,
    raw: &Value,
    app: &Application,
    mut conditions: Vec<ApplicationCondition>,
    msg: &str,
) -> Result<Option<Duration>, String> {
    if !invalid(&conditions) {
        conditions.push(ApplicationCondition::new(
            CONDITION_COMPARISON_ERROR,
            format!("Failed to load target state: {msg}"),
        ));
    }
    let mut status = app.status.clone();
    status.sync = Some(SyncStatus {
        status: SyncStatusCode::Unknown.as_str().into(),
        compared_to: Some(compared_to(app)),
        revision: status.sync.as_ref().and_then(|s| s.revision.clone()),
        ..Default::default()
    });
    status.conditions = stamp_conditions(&app.status.conditions, conditions);
    status.reconciled_at = Some(now());
    let mut out = raw.clone();
    out["status"] = serde_json::to_value(&status).unwrap_or(Value::Null);
    set_compared(&mut out, None);
    write_app(ctx, &out, false).await?;
    Ok(Some(Duration::from_secs(10).min(periodic(&ctx.opts))))
}

fn set_compared(out: &mut Value, compared: Option<&RecordedCompare>) {
    match compared {
        Some(c) => {
            if !out["metadata"]["annotations"].is_object() {
                out["metadata"]["annotations"] = json!({});
            }
            out["metadata"]["annotations"][ANNOTATION_COMPARED] = json!(c.to_annotation());
        }
        None => {
            if let Some(a) = out
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
            {
                a.remove(ANNOTATION_COMPARED);
            }
        }
    }
}

fn start_watches(watches: &Arc<ResourceWatches>, ctx: &Ctx, kinds: &[crate::kube_io::Kind]) {
    if !ctx.opts.watch_resources {
        return;
    }
    for k in kinds {
        watches.ensure(&k.resource);
    }
}

/// The managed-resource watches of a destination cluster: the own cluster's, or one set per
/// remote cluster client (created on first use, stopped with the controller).
fn watches_for(ctx: &Arc<Ctx>, kube: &Arc<Kube>, in_cluster: bool) -> Arc<ResourceWatches> {
    if in_cluster {
        return ctx.watches.clone();
    }
    let id = Arc::as_ptr(kube) as usize;
    let Ok(mut remote) = ctx.remote_watches.lock() else {
        return ctx.watches.clone();
    };
    // The map keeps the client alive, so its address is not reused by another one.
    remote
        .entry(id)
        .or_insert_with(|| {
            let tx = ctx.tx.clone();
            let stats = ctx.stats.clone();
            let w = Arc::new(ResourceWatches::new(
                kube.client.clone(),
                &ctx.opts.namespace,
                ctx.opts.watch_debounce,
                ctx.cancel.child_token(),
                move |k| {
                    Stats::inc(&stats.watch_events);
                    let _ = tx.send((k, Level::Quick));
                },
            ));
            (kube.clone(), w)
        })
        .1
        .clone()
}

/// Reconciles one app; returns when to look again.
async fn reconcile_app(
    ctx: &Arc<Ctx>,
    ns: &str,
    name: &str,
    level: Level,
) -> Result<Option<Duration>, String> {
    Stats::inc(&ctx.stats.reconciles);
    let key: Key = (ns.to_string(), name.to_string());
    let raw = match ctx.view.get_raw(&key) {
        Some(raw) => raw,
        None => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.kube.client.clone(), ns, &app_resource());
            let Some(obj) = api.get_opt(name).await.map_err(|e| error_message(&e))? else {
                return Ok(None);
            };
            serde_json::to_value(&obj).map_err(|e| e.to_string())?
        }
    };
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
    let refresh = app.metadata.annotations.get(ANNOTATION_REFRESH).cloned();
    let hard = refresh.as_deref() == Some("hard");
    // A quick comparison reuses the last resolved revisions and manifests: only valid while the
    // last comparison succeeded (a ComparisonError stays until a full one succeeds).
    let last_failed = app
        .status
        .sync
        .as_ref()
        .is_none_or(|s| s.status == "Unknown")
        || app.status.conditions.iter().any(|c| c.is_error());
    let level = if refresh.is_some() || app.operation.is_some() {
        Level::Normal
    } else if last_failed {
        level.max(Level::Periodic)
    } else {
        level
    };
    let mut conditions: Vec<ApplicationCondition> = app.spec_conditions();

    // Destination cluster and project.
    let mut dest_kube = ctx.kube.clone();
    let mut in_cluster = true;
    if !invalid(&conditions) {
        match ctx.clusters.kube_for(&app.spec.destination).await {
            Ok(Some(k)) => {
                dest_kube = k;
                in_cluster = false;
            }
            Ok(None) => {}
            Err(msg) => conditions.push(ApplicationCondition::new(
                crate::application::CONDITION_INVALID_SPEC,
                msg,
            )),
        }
    }
    let watches = watches_for(ctx, &dest_kube, in_cluster);
    if app.metadata.deletion_timestamp.is_some() {
        return finalize_deletion(ctx, &dest_kube, &app, &raw, &conditions).await;
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
    let project = if app.spec.project.is_empty() {
        None
    } else {
        match load_project(ctx, &app.spec.project).await {
            Ok(p) => {
                // Argo CD's projectErrorToCondition: an UnknownError, and the app is neither
                // compared nor synced.
                if let Some(m) = p.app_namespace_violation(&app, &ctx.opts.namespace) {
                    conditions.push(ApplicationCondition::new(
                        crate::application::CONDITION_UNKNOWN_ERROR,
                        m,
                    ));
                }
                conditions.extend(p.spec_violations(&app).into_iter().map(|m| {
                    ApplicationCondition::new(crate::application::CONDITION_INVALID_SPEC, m)
                }));
                Some(p)
            }
            Err(m) => {
                conditions.push(ApplicationCondition::new(
                    crate::application::CONDITION_INVALID_SPEC,
                    m,
                ));
                None
            }
        }
    };
    let tracking = tracking_for(ctx, &app);

    // A requested operation waiting for its retry, or refused.
    if let Some(op) = &app.operation {
        if let Some(state) = &app.status.operation_state
            && let Some(wait) =
                crate::operation::retry_wait(state, op.retry.as_ref(), chrono::Utc::now())
        {
            return Ok(Some(wait + Duration::from_millis(100)));
        }
        if let Some(msg) = refused_operation(&app, op) {
            let mut out = raw.clone();
            let mut st = app.status.clone();
            let t = now();
            st.operation_state = Some(OperationState {
                operation: op.clone(),
                phase: OperationPhase::Error.as_str().into(),
                message: Some(msg),
                started_at: t.clone(),
                finished_at: Some(t),
                ..Default::default()
            });
            out["status"] = serde_json::to_value(&st).unwrap_or(Value::Null);
            write_app(ctx, &out, true).await?;
            return Ok(Some(periodic(&ctx.opts)));
        }
    }

    if invalid(&conditions) {
        return report_generation_error(ctx, &raw, &app, conditions, "invalid spec").await;
    }

    // git
    let revisions = match resolve_revisions(ctx, &app, level).await {
        Ok(r) => r,
        Err(msg) => return report_generation_error(ctx, &raw, &app, conditions, &msg).await,
    };
    let rkey = render_key(&app, &app.sources(), &revisions);

    // Resume: the recorded Synced comparison still holds when neither the render inputs nor
    // any tracked live object changed since.
    let cached = ctx
        .renders
        .lock()
        .map(|r| r.get(&key).is_some_and(|(k, _, _, _)| *k == rkey))
        .unwrap_or(false);
    if app.operation.is_none()
        && !hard
        && !cached
        && conditions.is_empty()
        && app.status.conditions.iter().all(|c| !c.is_error())
        && app.status.sync.as_ref().is_some_and(|s| {
            s.status == "Synced" && s.compared_to.as_ref() == Some(&compared_to(&app))
        })
        && let Some(recorded) = RecordedCompare::of(&app)
        && recorded.render == rkey
    {
        let (live, _, kinds) =
            gather_live(&dest_kube, Some(watches.as_ref()), &[], &app, &tracking).await;
        let tracked: Vec<Value> = live
            .into_iter()
            .filter(|o| tracking.is_managed(o))
            .collect();
        if live_fingerprint(&tracked) == recorded.live {
            Stats::inc(&ctx.stats.resumed);
            start_watches(&watches, ctx, &kinds);
            if level >= Level::Periodic {
                let mut out = raw.clone();
                let mut status = app.status.clone();
                status.reconciled_at = Some(now());
                out["status"] = serde_json::to_value(&status).unwrap_or(Value::Null);
                write_app(ctx, &out, false).await?;
            }
            return Ok(Some(periodic(&ctx.opts)));
        }
    }

    // render
    let (desired, source_type) =
        match render(ctx, &app, &revisions, Some((&key, &rkey)), hard).await {
            Ok(x) => x,
            Err(msg) => return report_generation_error(ctx, &raw, &app, conditions, &msg).await,
        };
    let rendered =
        Rendered::from_render::<()>(Ok((*desired).clone())).map_err(|_| "render".to_string())?;
    let (live, scopes, kinds) = gather_live(
        &dest_kube,
        Some(watches.as_ref()),
        rendered.objects(),
        &app,
        &tracking,
    )
    .await;
    start_watches(&watches, ctx, &kinds);
    let mut state = compare_state(&app, &rendered, &live, &tracking, &scopes, &revisions)?;
    if let Some(p) = &project {
        state.cmp.mark_unpermitted(p, &|g, k| {
            scopes.get(&(g.to_string(), k.to_string())).copied()
        });
    }
    let mut last_live = live;

    // Operation: explicit (`operation`) or automated.
    let mut requeue = periodic(&ctx.opts);
    let mut completed_op = false;
    let mut keep_operation: Option<Operation> = None;
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
        Stats::inc(&ctx.stats.syncs);
        let started = now();
        let retry_count = app
            .status
            .operation_state
            .as_ref()
            .filter(|s| app.operation.is_some() && s.operation == op)
            .and_then(|s| s.retry_count);
        // Show the running operation while waves are applied and awaited.
        let mut running = raw.clone();
        let mut st = app.status.clone();
        st.operation_state = Some(OperationState {
            operation: op.clone(),
            phase: OperationPhase::Running.as_str().into(),
            message: Some("one or more tasks are running".into()),
            started_at: started.clone(),
            retry_count,
            ..Default::default()
        });
        running["status"] = serde_json::to_value(&st).unwrap_or(Value::Null);
        if let Err(e) = write_app(ctx, &running, false).await {
            tracing::debug!(app = %name, error = %e, "writing running operation state");
        }
        let mut deleted = false;
        // What the operation deploys: the spec's target, or a rollback / other revision.
        let target_app = operation_target(&app, &op, &revisions);
        let prepared: Result<Prepared, String> = match &target_app {
            None => Ok((
                state.rec.clone(),
                scopes.clone(),
                revisions.clone(),
                app.clone(),
            )),
            Some(t) => {
                async {
                    let revs = resolve_revisions(ctx, t, Level::Normal).await?;
                    let (objs, _) = render(ctx, t, &revs, None, true).await?;
                    let r = Rendered::from_render::<()>(Ok((*objs).clone()))
                        .map_err(|_| "render".to_string())?;
                    let (live, scopes, _) = gather_live(
                        &dest_kube,
                        Some(watches.as_ref()),
                        r.objects(),
                        &app,
                        &tracking,
                    )
                    .await;
                    let c = compare_state(t, &r, &live, &tracking, &scopes, &revs)?;
                    Ok((c.rec, scopes, revs, t.clone()))
                }
                .await
            }
        };
        let mut op_state = match prepared {
            Err(msg) => OperationState {
                operation: op.clone(),
                phase: OperationPhase::Error.as_str().into(),
                message: Some(format!(
                    "{CONDITION_COMPARISON_ERROR}: Failed to load target state: {msg}"
                )),
                started_at: started.clone(),
                finished_at: Some(now()),
                ..Default::default()
            },
            Ok((rec, op_scopes, op_revs, target)) => {
                let revision = op_revs.first().cloned().unwrap_or_default();
                let mut s = match project
                    .as_ref()
                    .map(|p| permission_failures(p, &rec, &op_scopes, &app))
                    .filter(|f| !f.is_empty())
                {
                    Some(failures) => OperationState {
                        operation: op.clone(),
                        phase: OperationPhase::Failed.as_str().into(),
                        message: Some("one or more synchronization tasks are not valid".into()),
                        sync_result: Some(crate::application::SyncOperationResult {
                            revision: revision.clone(),
                            resources: failures,
                            ..Default::default()
                        }),
                        started_at: started.clone(),
                        finished_at: Some(now()),
                        ..Default::default()
                    },
                    None => {
                        let (s, del) = run_sync(
                            ctx,
                            &dest_kube,
                            Some(watches.as_ref()),
                            &app,
                            &op,
                            &rec,
                            &op_scopes,
                            &revision,
                            &started,
                        )
                        .await;
                        deleted = del;
                        s
                    }
                };
                let result = s
                    .sync_result
                    .get_or_insert_with(crate::application::SyncOperationResult::default);
                if target.is_multi_source() {
                    result.revisions = op_revs.clone();
                    result.sources = target.spec.sources.clone();
                    result.revision = String::new();
                } else {
                    result.source = target.spec.source.clone();
                }
                s.retry_count = retry_count;
                let succeeded = s.phase == "Succeeded";
                if succeeded && !op.sync.as_ref().is_some_and(|s| s.dry_run) {
                    let limit = app.revision_history_limit();
                    let multi = target.is_multi_source();
                    app.status.push_history(
                        RevisionHistory {
                            revision: (!multi).then(|| revision.clone()),
                            revisions: if multi { op_revs.clone() } else { Vec::new() },
                            deployed_at: now(),
                            deploy_started_at: Some(started.clone()),
                            source: target.spec.source.clone(),
                            sources: target.spec.sources.clone(),
                            initiated_by: op.initiated_by.clone(),
                            ..Default::default()
                        },
                        limit,
                    );
                }
                s
            }
        };
        let dry_run = op.sync.as_ref().is_some_and(|s| s.dry_run);
        if let Some(delay) = crate::operation::after_attempt(
            &mut op_state,
            op.retry.as_ref(),
            dry_run,
            chrono::Utc::now(),
        ) {
            let mut kept = op.clone();
            // `retry.refresh`: the next attempt syncs the latest revision.
            if kept.retry.as_ref().is_some_and(|r| r.refresh)
                && let Some(s) = kept.sync.as_mut()
            {
                s.revision = None;
                s.revisions.clear();
                op_state.operation = kept.clone();
            }
            keep_operation = Some(kept);
            requeue = requeue.min(delay + Duration::from_millis(100));
        } else {
            completed_op = true;
        }
        let succeeded = op_state.phase == "Succeeded";
        app.status.operation_state = Some(op_state);
        // Compare again after the sync.
        // Compare again after the sync: from the watch caches (which hold what was just
        // applied), or listed when something was deleted (its deletion may still be under way).
        let cache = (!deleted).then_some(watches.as_ref());
        let (live, scopes, _) =
            gather_live(&dest_kube, cache, rendered.objects(), &app, &tracking).await;
        state = compare_state(&app, &rendered, &live, &tracking, &scopes, &revisions)?;
        if let Some(p) = &project {
            state.cmp.mark_unpermitted(p, &|g, k| {
                scopes.get(&(g.to_string(), k.to_string())).copied()
            });
        }
        last_live = live;
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
    status.conditions = stamp_conditions(&app.status.conditions, conditions.clone());
    if level >= Level::Periodic || completed_op {
        status.reconciled_at = Some(now());
    }
    status.source_type = Some(source_type);
    status.controller_namespace = Some(ctx.opts.namespace.clone());
    status.summary = Some(ApplicationSummary {
        images: state.cmp.images.clone(),
        is_app_of_apps: state.cmp.is_app_of_apps,
        ..Default::default()
    });
    let mut out = raw.clone();
    out["status"] = serde_json::to_value(&status).unwrap_or(Value::Null);
    let settled = state.cmp.sync.status == "Synced"
        && keep_operation.is_none()
        && conditions.iter().all(|c| !c.is_error());
    let record = settled.then(|| {
        let tracked: Vec<Value> = last_live
            .into_iter()
            .filter(|o| tracking.is_managed(o))
            .collect();
        RecordedCompare {
            render: rkey.clone(),
            live: live_fingerprint(&tracked),
        }
    });
    set_compared(&mut out, record.as_ref());
    if let Some(op) = &keep_operation {
        out["operation"] = serde_json::to_value(op).unwrap_or(Value::Null);
    }
    // A quick comparison that changed nothing needs no write.
    let unchanged = level == Level::Quick
        && !completed_op
        && keep_operation.is_none()
        && out.get("status") == raw.get("status")
        && out.pointer("/metadata/annotations") == raw.pointer("/metadata/annotations");
    if !unchanged {
        write_app(ctx, &out, completed_op).await?;
    }
    Ok(Some(requeue))
}

/// Argo CD's sync permission validator: resources the project does not permit, as failed
/// `syncResult.resources` (the sync then runs no task).
fn permission_failures(
    project: &AppProject,
    rec: &Reconciliation,
    scopes: &HashMap<(String, String), bool>,
    app: &Application,
) -> Vec<crate::application::ResourceResult> {
    let mut out = Vec::new();
    let targets = rec
        .resources
        .iter()
        .filter_map(|p| p.target.as_ref())
        .chain(rec.hooks.iter());
    for t in targets {
        let namespaced = scopes
            .get(&(object::group(t).to_string(), object::kind(t).to_string()))
            .copied()
            .unwrap_or(!object::namespace(t).is_empty());
        if let Some(msg) = project.resource_violation(t, namespaced, &app.spec.destination) {
            let ns = object::namespace(t);
            out.push(crate::application::ResourceResult {
                group: object::group(t).to_string(),
                version: object::version(t).to_string(),
                kind: object::kind(t).to_string(),
                namespace: if ns.is_empty() && namespaced {
                    app.spec.destination.namespace().to_string()
                } else {
                    ns.to_string()
                },
                name: object::name(t).to_string(),
                status: Some("SyncFailed".into()),
                message: Some(msg),
                sync_phase: Some("Sync".into()),
                ..Default::default()
            });
        }
    }
    out
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

/// Records an Application ferry just wrote over `replaced` (the version the write replaced, when
/// known): its watch event is ignored (our own status write must not make a parent app that
/// tracks this Application compare again) unless the write changed the Application's health, in
/// which case the parent app is queued for a quick comparison
/// ([`ResourceWatches::own_app_write`]); the reconciler's view holds the written version at once.
fn remember_own_write(ctx: &Ctx, replaced: Option<&Value>, written: &DynamicObject) {
    let mut v = serde_json::to_value(written).unwrap_or(Value::Null);
    v["apiVersion"] = json!(crate::application::API_VERSION);
    v["kind"] = json!(crate::application::KIND);
    ctx.watches.own_app_write(replaced, &v);
    ctx.view.put_raw(
        (
            object::namespace(&v).to_string(),
            object::name(&v).to_string(),
        ),
        v,
    );
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
    // The version this write replaces (it carries its `resourceVersion`): the view's copy when
    // that is the same version. Taken before the write, since the write's own watch event may
    // reach the view before its answer reaches us.
    let rv = |o: &Value| {
        o.pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let replaced = ctx
        .view
        .raw
        .read()
        .ok()
        .and_then(|m| {
            m.get(&(object::namespace(raw).into(), object::name(raw).into()))
                .cloned()
        })
        .filter(|v| rv(v).is_some() && rv(v) == rv(&out));
    let body: DynamicObject = serde_json::from_value(out.clone()).map_err(|e| e.to_string())?;
    match api
        .replace(object::name(raw), &PostParams::default(), &body)
        .await
    {
        Ok(written) => {
            remember_own_write(ctx, replaced.as_deref(), &written);
            Ok(())
        }
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
            let mut replaced = fresh.clone();
            replaced["apiVersion"] = json!(crate::application::API_VERSION);
            replaced["kind"] = json!(crate::application::KIND);
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
                Ok(written) => {
                    remember_own_write(ctx, Some(&replaced), &written);
                    Ok(())
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let _ = ctx.tx.send((
                        (object::namespace(raw).into(), object::name(raw).into()),
                        Level::Normal,
                    ));
                    Ok(())
                }
                Err(e) => Err(error_message(&e)),
            }
        }
        Err(e) => Err(error_message(&e)),
    }
}

/// Runs one sync operation to completion (or timeout); returns its final state and whether it
/// deleted anything (pruned, hook or replaced objects).
#[allow(clippy::too_many_arguments)]
async fn run_sync(
    ctx: &Ctx,
    kube: &Kube,
    watches: Option<&ResourceWatches>,
    app: &Application,
    op: &Operation,
    rec: &Reconciliation,
    scopes: &HashMap<(String, String), bool>,
    revision: &str,
    started: &str,
) -> (OperationState, bool) {
    let sync = op.sync.clone().unwrap_or_default();
    let app_opts = app.sync_options();
    let op_opts = SyncOptions::parse(sync.sync_options.iter().map(String::as_str));
    let sync_options = app_opts.overlay(&op_opts);
    let dest_ns = app.spec.destination.namespace().to_string();
    let live_ns = if dest_ns.is_empty() {
        None
    } else if let Some(cached) =
        watches.and_then(|w| w.cached_object("v1", "Namespace", "", &dest_ns))
    {
        cached
    } else {
        kube.get(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": dest_ns}}))
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
    let mut deleted = false;
    loop {
        let d = run.step();
        deleted |= !dry_run
            && (!d.delete.is_empty() || !d.prune.is_empty() || !d.remove_finalizer.is_empty());
        for &i in &d.remove_finalizer {
            if let Some(live) = run.states[i].live.clone()
                && let Err(e) = kube
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
                Stats::inc(&ctx.stats.deletes);
                kube.delete(&obj, None).await
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
                Stats::inc(&ctx.stats.deletes);
                kube.delete(&obj, policy).await
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
                Stats::inc(&ctx.stats.applies);
                match task.apply_method(false) {
                    ApplyMethod::ServerSideApply | ApplyMethod::ClientSideApply { .. } => {
                        verb = "serverside-applied";
                        kube.apply(&target).await
                    }
                    ApplyMethod::Create => {
                        verb = "created";
                        kube.create(&target).await
                    }
                    ApplyMethod::Replace { .. } | ApplyMethod::Update => {
                        verb = "replaced";
                        match &task.live {
                            Some(l) => kube.replace(&target, l).await,
                            None => kube.create(&target).await,
                        }
                    }
                }
            };
            if let (Ok(written), Some(w)) = (&r, watches) {
                w.own_write(written);
            }
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
        if acted {
            // Decide again at once: a single-wave sync completes right after its apply; the
            // engine says when it must wait for health.
            continue;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for i in run.to_observe() {
            let t = &run.plan.tasks[i];
            let probe = t
                .target
                .clone()
                .or_else(|| t.live.clone())
                .unwrap_or(Value::Null);
            let live = kube.get(&probe).await.ok().flatten();
            run.observe(i, live);
        }
    }
    state.finished_at = Some(now());
    (state, deleted)
}

/// Cascading deletion: deletes the tracked resources wave by wave, then removes the finalizer.
async fn finalize_deletion(
    ctx: &Arc<Ctx>,
    kube: &Kube,
    app: &Application,
    raw: &Value,
    conditions: &[ApplicationCondition],
) -> Result<Option<Duration>, String> {
    let Some(policy) = deletion::cascade_policy(&app.metadata.finalizers) else {
        return Ok(None);
    };
    if let Some(c) = conditions
        .iter()
        .find(|c| c.type_ == crate::application::CONDITION_INVALID_SPEC)
    {
        // The destination is unknown: nothing can be deleted there.
        let mut out = raw.clone();
        let mut status = app.status.clone();
        status.conditions = stamp_conditions(
            &app.status.conditions,
            vec![ApplicationCondition::new(
                CONDITION_DELETION_ERROR,
                c.message.clone(),
            )],
        );
        out["status"] = serde_json::to_value(&status).unwrap_or(Value::Null);
        write_app(ctx, &out, false).await?;
        return Ok(Some(Duration::from_secs(10)));
    }
    let tracking = tracking_for(ctx, app);
    let (live, _, _) = gather_live(kube, None, &[], app, &tracking).await;
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
                Stats::inc(&ctx.stats.deletes);
                if let Err(e) = kube.delete(o, Some(policy)).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationSource, SyncOperation};

    fn app(automated: bool) -> Application {
        let mut v = json!({
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/web.git", "path": "chart", "targetRevision": "main"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}},
            "status": {"sync": {"status": "Synced", "revision": "a".repeat(40)}}
        });
        if automated {
            v["spec"]["syncPolicy"] = json!({"automated": {}});
        }
        Application::from_value(&v).expect("app")
    }

    fn op(revision: Option<&str>, source: Option<ApplicationSource>, automated: bool) -> Operation {
        Operation {
            sync: Some(SyncOperation {
                revision: revision.map(Into::into),
                source,
                ..Default::default()
            }),
            initiated_by: Some(crate::application::OperationInitiator {
                automated,
                username: if automated {
                    String::new()
                } else {
                    "alice".into()
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn operation_targets() {
        let a = app(false);
        let resolved = vec!["b".repeat(40)];
        // auto-sync to the freshly resolved commit, or a plain sync: the spec's target
        assert_eq!(
            operation_target(&a, &op(Some(&resolved[0]), None, true), &resolved),
            None
        );
        assert_eq!(
            operation_target(&a, &op(None, None, false), &resolved),
            None
        );
        assert_eq!(
            operation_target(&a, &op(Some("main"), None, false), &resolved),
            None
        );
        // a rollback: the history's source at the old commit
        let old = "c".repeat(40);
        let t = operation_target(&a, &op(Some(&old), a.spec.source.clone(), false), &resolved)
            .expect("override");
        assert_eq!(
            t.spec
                .source
                .as_ref()
                .and_then(|s| s.target_revision.as_deref()),
            Some(old.as_str())
        );
        // a different source (other path) at the same revision
        let mut src = a.spec.source.clone().expect("source");
        src.path = Some("other".into());
        let t = operation_target(&a, &op(None, Some(src), false), &resolved).expect("override");
        assert_eq!(t.spec.source.and_then(|s| s.path).as_deref(), Some("other"));
    }

    #[test]
    fn refusals_like_argo_server() {
        let auto = app(true);
        let manual = app(false);
        let src = auto.spec.source.clone();
        assert_eq!(
            refused_operation(&auto, &op(Some(&"c".repeat(40)), src.clone(), false)).as_deref(),
            Some(ROLLBACK_REFUSED)
        );
        assert_eq!(
            refused_operation(&manual, &op(Some(&"c".repeat(40)), src, false)),
            None
        );
        assert_eq!(
            refused_operation(&auto, &op(Some("v2"), None, false)).as_deref(),
            Some("Cannot sync to v2: auto-sync currently set to main")
        );
        assert_eq!(
            refused_operation(&auto, &op(Some("main"), None, false)),
            None
        );
        assert_eq!(
            refused_operation(&auto, &op(Some(&"a".repeat(40)), None, false)),
            None
        );
        assert_eq!(refused_operation(&auto, &op(Some("v2"), None, true)), None);
        assert_eq!(refused_operation(&auto, &op(None, None, false)), None);
    }
}
