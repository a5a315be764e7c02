//! Reconciliation (pairing desired with live objects) and sync planning (tasks ordered by
//! phase, wave, kind and name; prune tasks in reverse wave order), as gitops-engine's
//! `sync.Reconcile` and `syncContext.getSyncTasks`.
//!
//! **Invariant: nothing is pruned when a render failed.** Pruning candidates only come out of a
//! [`Reconciliation`], which can only be built from [`Rendered`], which can only be built from a
//! successful render result ([`Rendered::from_render`]).

use crate::object::{self, ResourceKey};
use crate::sync::hooks::{self, HookDeletePolicy, HookType, SyncPhase};
use crate::sync::options::{RemovalPolicy, SyncOptions};
use crate::sync::tracking::Tracking;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Finalizer put on hooks so they are deleted only after their phase (gitops-engine).
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// The desired objects of one successful render. There is deliberately no way to build this
/// from a failed render: see the module invariant.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    objects: Vec<Value>,
}

impl Rendered {
    /// Wraps a render result: `Ok(objects)` becomes `Rendered`, an error is handed back
    /// untouched (and the caller then cannot prune anything).
    pub fn from_render<E>(result: Result<Vec<Value>, E>) -> Result<Rendered, E> {
        result.map(|objects| Rendered { objects })
    }

    /// The desired objects, as rendered.
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }
}

/// Answers whether a group/kind is namespaced; `None` when unknown (e.g. a CRD not yet
/// installed).
pub type ScopeLookup<'a> = &'a dyn Fn(&str, &str) -> Option<bool>;

/// A desired object paired with its live counterpart.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Desired object; `None` = live object that is no longer rendered (prune candidate).
    pub target: Option<Value>,
    /// Live object; `None` = not created yet.
    pub live: Option<Value>,
}

/// Result of [`reconcile`].
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciliation {
    /// Non-hook desired objects with their live objects, then tracked live objects that are no
    /// longer desired (`target: None`).
    pub resources: Vec<Pair>,
    /// Desired hooks (applied by their phases, never compared or pruned).
    pub hooks: Vec<Value>,
    /// Desired objects rendered more than once (the last one is used): key and count.
    pub duplicates: Vec<(ResourceKey, usize)>,
    /// Live objects paired with a desired object but tracked by another application: key of
    /// the live object and the other app's instance name.
    pub shared: Vec<(ResourceKey, String)>,
}

impl Reconciliation {
    /// Warning conditions as Argo CD words them: `(type, message)` with types
    /// `RepeatedResourceWarning` and `SharedResourceWarning` (`app` = this app's qualified name).
    pub fn warnings(&self, app: &str) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = self
            .duplicates
            .iter()
            .map(|(k, n)| {
                (
                    "RepeatedResourceWarning",
                    format!("Resource {k} appeared {n} times among application resources."),
                )
            })
            .collect();
        out.extend(self.shared.iter().map(|(k, other)| {
            (
                "SharedResourceWarning",
                format!(
                    "{}/{} is part of applications {app} and {other}",
                    k.kind, k.name
                ),
            )
        }));
        out
    }

    /// Live objects to prune: tracked, no longer rendered, not hooks. This is only the
    /// candidate set; [`plan_sync`] applies `prune` and `Prune=false|confirm`.
    pub fn prune_candidates(&self) -> impl Iterator<Item = &Value> {
        self.resources
            .iter()
            .filter_map(|p| match (&p.target, &p.live) {
                (None, Some(live)) if !hooks::is_hook(live) && !hooks::is_ignored(live) => {
                    Some(live)
                }
                _ => None,
            })
    }
}

/// Pairs desired with live objects (gitops-engine `Reconcile`).
///
/// * Desired objects that are ignored (hooks with no phase, e.g. Helm `test`) are dropped;
///   hooks go to [`Reconciliation::hooks`].
/// * Desired objects (and hooks) get the app's tracking metadata ([`Tracking::mark`]), as
///   Argo CD's repo server sets it on every generated manifest, so diffs and applies agree.
/// * Desired objects get their namespace normalised (namespaced or unknown scope without one →
///   the destination namespace; cluster-scoped → none) and are deduplicated by key, the last
///   one winning ([`Reconciliation::duplicates`]); when the scope is unknown both the
///   namespaced and the cluster key are tried against live.
/// * A live object paired with a desired one but tracked by another app is reported in
///   [`Reconciliation::shared`].
/// * `live` may hold any objects of the relevant kinds: those matching a desired object are
///   paired (adopted even if untracked); of the rest only those tracked for this application
///   (`tracking.is_managed`) are kept, as prune candidates.
pub fn reconcile(
    rendered: &Rendered,
    live: &[Value],
    tracking: &Tracking,
    is_namespaced: ScopeLookup<'_>,
) -> Reconciliation {
    let mut hooks_out = Vec::new();
    // Non-hook targets with namespaces normalised, deduplicated by key (last one wins, at the
    // position of the first), as Argo CD's `DeduplicateTargetObjects`.
    let mut targets: Vec<Value> = Vec::new();
    let mut counts: Vec<(ResourceKey, usize)> = Vec::new();
    let mut index: HashMap<ResourceKey, usize> = HashMap::new();
    for (i, obj) in rendered.objects().iter().enumerate() {
        if obj.is_null() || hooks::is_ignored(obj) {
            continue;
        }
        if hooks::is_hook(obj) {
            let mut h = obj.clone();
            tracking.mark(&mut h);
            hooks_out.push(h);
            continue;
        }
        let mut t = obj.clone();
        let namespaced = is_namespaced(object::group(&t), object::kind(&t)) != Some(false);
        if !namespaced {
            if let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("namespace");
            }
        } else if object::namespace(&t).is_empty()
            && !tracking.destination_namespace.is_empty()
            && let Some(m) = t.get_mut("metadata").and_then(Value::as_object_mut)
        {
            m.insert(
                "namespace".into(),
                Value::String(tracking.destination_namespace.clone()),
            );
        }
        tracking.mark(&mut t);
        let mut key = ResourceKey::of(&t);
        if key.name.is_empty()
            && let Some(g) = object::str_at(&t, "/metadata/generateName")
        {
            key.name = format!("{g}{i}");
        }
        match index.get(&key) {
            Some(&at) => {
                counts[at].1 += 1;
                targets[at] = t;
            }
            None => {
                index.insert(key.clone(), counts.len());
                counts.push((key, 1));
                targets.push(t);
            }
        }
    }
    let duplicates: Vec<(ResourceKey, usize)> =
        counts.into_iter().filter(|(_, n)| *n > 1).collect();
    // Live objects by key (the first of duplicates wins), consumed as they are paired.
    let mut remaining: Vec<Option<&Value>> = live.iter().map(Some).collect();
    let mut live_index: HashMap<ResourceKey, usize> = HashMap::new();
    for (i, l) in live.iter().enumerate() {
        live_index.entry(ResourceKey::of(l)).or_insert(i);
    }
    let mut resources = Vec::new();
    let mut shared = Vec::new();
    for t in targets {
        let ns = match object::namespace(&t) {
            "" => tracking.destination_namespace.as_str(),
            ns => ns,
        };
        let scope = is_namespaced(object::group(&t), object::kind(&t));
        let mut keys = Vec::new();
        if scope != Some(false) {
            keys.push(ResourceKey::new(
                object::group(&t),
                object::kind(&t),
                ns,
                object::name(&t),
            ));
        }
        if scope != Some(true) {
            keys.push(ResourceKey::new(
                object::group(&t),
                object::kind(&t),
                "",
                object::name(&t),
            ));
        }
        let mut found = None;
        for key in &keys {
            if let Some(&i) = live_index.get(key)
                && let Some(l) = remaining[i].take()
            {
                found = Some(l.clone());
                live_index.remove(key);
                break;
            }
        }
        if let Some(l) = &found
            && let Some(other) = tracking.owner_app(l)
            && other != tracking.app
        {
            shared.push((ResourceKey::of(l), other));
        }
        resources.push(Pair {
            target: Some(t),
            live: found,
        });
    }
    for l in remaining.into_iter().flatten() {
        if tracking.is_managed(l) {
            resources.push(Pair {
                target: None,
                live: Some(l.clone()),
            });
        }
    }
    Reconciliation {
        resources,
        hooks: hooks_out,
        duplicates,
        shared,
    }
}

/// What the controller must do with a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskAction {
    /// Apply (create/update) the target object.
    Apply,
    /// Delete the live object.
    Prune,
    /// Leave the live object, reporting `PruneSkipped` with this message
    /// (`ignored (requires pruning)` / `ignored (no prune)`).
    PruneSkipped(String),
    /// `Prune=confirm` and the prune was not approved yet.
    PruneNeedsConfirmation,
}

/// One step of a sync: apply or prune one object in one phase and wave.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncTask {
    /// Phase.
    pub phase: SyncPhase,
    /// Effective wave (after prune reversal, `PruneLast` and dependency adjustment).
    pub wave: i64,
    /// Desired object (namespace defaulted, hook name generated, hook finalizer added).
    pub target: Option<Value>,
    /// Live object, if any.
    pub live: Option<Value>,
    /// Hook type when the object is a hook (= the phase), `None` for resources.
    pub hook_type: Option<HookType>,
    /// Hook delete policies (empty for resources).
    pub delete_policies: Vec<HookDeletePolicy>,
    /// Effective sync options (app options overlaid with the object's annotation).
    pub options: SyncOptions,
    /// What to do.
    pub action: TaskAction,
}

impl SyncTask {
    /// The object this task is about (target, else live).
    pub fn obj(&self) -> &Value {
        self.target
            .as_ref()
            .or(self.live.as_ref())
            .unwrap_or(&Value::Null)
    }

    /// Whether this task deletes (or would delete) a live object.
    pub fn is_prune(&self) -> bool {
        self.target.is_none()
    }

    /// Key of the object; the live object's namespace wins (cluster-scoped targets may carry
    /// a defaulted namespace).
    pub fn key(&self) -> ResourceKey {
        let mut k = ResourceKey::of(self.obj());
        if let Some(l) = &self.live {
            k.namespace = object::namespace(l).to_string();
        }
        k
    }

    /// Whether a finished hook must be deleted: `HookSucceeded` after success, `HookFailed`
    /// after failure (gitops-engine `deleteOnPhaseCompletion`).
    pub fn delete_on_completion(&self, succeeded: bool) -> bool {
        let wanted = if succeeded {
            HookDeletePolicy::HookSucceeded
        } else {
            HookDeletePolicy::HookFailed
        };
        self.hook_type.is_some() && self.delete_policies.contains(&wanted)
    }

    /// How to write the target (`dry_run`: a validation pass, never server-side apply).
    pub fn apply_method(&self, dry_run: bool) -> ApplyMethod {
        let o = &self.options;
        let force = o.force.unwrap_or(false);
        if o.replace() {
            let obj = self.obj();
            return match &self.live {
                None => ApplyMethod::Create,
                Some(_)
                    if (object::group(obj) == "apiextensions.k8s.io"
                        && object::kind(obj) == "CustomResourceDefinition")
                        || object::kind(obj) == "Namespace" =>
                {
                    ApplyMethod::Update
                }
                Some(_) => ApplyMethod::Replace { force },
            };
        }
        if o.server_side_apply() && !dry_run {
            return ApplyMethod::ServerSideApply;
        }
        ApplyMethod::ClientSideApply {
            force,
            validate: o.validate(),
        }
    }

    /// Whether a live hook must be deleted before the hook is created again.
    pub fn delete_before_creation(&self) -> bool {
        self.live.is_some()
            && self
                .delete_policies
                .contains(&HookDeletePolicy::BeforeHookCreation)
    }
}

/// How a task's target is written to the cluster (gitops-engine `applyObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMethod {
    /// Server-side apply with conflicts forced (`--server-side --force-conflicts`).
    ServerSideApply,
    /// Client-side apply (`kubectl apply`, three-way merge with the last-applied annotation);
    /// `force` = delete and re-create on conflict.
    ClientSideApply {
        /// `Force=true`.
        force: bool,
        /// Schema validation (`Validate=false` turns it off).
        validate: bool,
    },
    /// `Replace=true` on an existing object: PUT (or delete + create with `force`).
    Replace {
        /// `Force=true`.
        force: bool,
    },
    /// `Replace=true` on an existing CRD or Namespace: PUT with the live `resourceVersion`
    /// (never re-created, which would delete their contents).
    Update,
    /// `Replace=true` and the object does not exist: POST.
    Create,
}

/// Inputs of [`plan_sync`] besides the reconciliation.
pub struct PlanOptions<'a> {
    /// App-level sync options (`syncPolicy.syncOptions`, overlaid with
    /// `operation.sync.syncOptions`).
    pub sync_options: &'a SyncOptions,
    /// Pruning allowed (`operation.sync.prune` / `automated.prune`).
    pub prune: bool,
    /// `Prune=confirm` resources were approved.
    pub prune_confirmed: bool,
    /// Skip hooks (selective sync).
    pub skip_hooks: bool,
    /// Selective sync: only resources for which this returns true (all when `None`).
    pub resource_filter: Option<&'a dyn Fn(&ResourceKey) -> bool>,
    /// Revision being synced (hook names from `generateName`).
    pub revision: &'a str,
    /// Operation start, Unix seconds (hook names from `generateName`).
    pub started_at_unix: i64,
    /// Destination namespace.
    pub namespace: &'a str,
    /// Scope lookup; desired objects of cluster-scoped kinds do not get the namespace.
    pub is_namespaced: ScopeLookup<'a>,
    /// Live destination namespace (for `CreateNamespace=true`), if it exists.
    pub live_namespace: Option<&'a Value>,
    /// `syncPolicy.managedNamespaceMetadata` (`{labels, annotations}`), if any.
    pub managed_namespace_metadata: Option<&'a Value>,
    /// The app's `ignoreDifferences`; with `RespectIgnoreDifferences=true` the targets keep
    /// the live values of ignored fields.
    pub ignore: Option<&'a crate::diff::IgnoreDifferences>,
}

/// The ordered tasks of one sync operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncPlan {
    /// All tasks, in execution order (`SyncFail` tasks last).
    pub tasks: Vec<SyncTask>,
}

impl SyncPlan {
    /// Consecutive groups of tasks with the same (phase, wave), excluding `SyncFail`: each is
    /// applied, then waited on until healthy, before the next.
    pub fn steps(&self) -> Vec<(SyncPhase, i64, Vec<&SyncTask>)> {
        let mut out: Vec<(SyncPhase, i64, Vec<&SyncTask>)> = Vec::new();
        for t in self.tasks.iter().filter(|t| t.phase != SyncPhase::SyncFail) {
            match out.last_mut() {
                Some((p, w, v)) if *p == t.phase && *w == t.wave => v.push(t),
                _ => out.push((t.phase, t.wave, vec![t])),
            }
        }
        out
    }

    /// Hooks to run when the sync fails.
    pub fn sync_fail_tasks(&self) -> impl Iterator<Item = &SyncTask> {
        self.tasks.iter().filter(|t| t.phase == SyncPhase::SyncFail)
    }

    /// Prune tasks (whatever their action).
    pub fn prune_tasks(&self) -> impl Iterator<Item = &SyncTask> {
        self.tasks.iter().filter(|t| t.is_prune())
    }
}

/// Argo CD's kind order within a wave (Helm's install order); kinds not listed (custom
/// resources) come after all of these.
pub const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

fn kind_rank(kind: &str) -> i64 {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .map(|i| i as i64 - KIND_ORDER.len() as i64)
        .unwrap_or(0)
}

/// Plans a sync (gitops-engine `getSyncTasks` + `syncTasks.Sort`).
pub fn plan_sync(rec: &Reconciliation, opts: &PlanOptions<'_>) -> SyncPlan {
    let mut tasks: Vec<SyncTask> = Vec::new();
    let new_task = |phase: SyncPhase, target: Option<Value>, live: Option<Value>| {
        let obj = target
            .as_ref()
            .or(live.as_ref())
            .cloned()
            .unwrap_or(Value::Null);
        let is_hook = hooks::is_hook(&obj);
        SyncTask {
            phase,
            wave: hooks::wave(&obj),
            hook_type: if is_hook {
                Some(match phase {
                    SyncPhase::PreSync => HookType::PreSync,
                    SyncPhase::Sync => HookType::Sync,
                    SyncPhase::PostSync => HookType::PostSync,
                    SyncPhase::SyncFail => HookType::SyncFail,
                })
            } else {
                None
            },
            delete_policies: if is_hook {
                hooks::delete_policies(&obj)
            } else {
                Vec::new()
            },
            options: opts.sync_options.for_resource(&obj),
            action: TaskAction::Apply,
            target,
            live,
        }
    };

    for pair in &rec.resources {
        let Some(obj) = pair.target.as_ref().or(pair.live.as_ref()) else {
            continue;
        };
        if let Some(filter) = opts.resource_filter
            && !filter(&ResourceKey::of(obj))
        {
            continue;
        }
        if hooks::is_hook(obj) {
            continue;
        }
        for phase in hooks::sync_phases(obj) {
            tasks.push(new_task(phase, pair.target.clone(), pair.live.clone()));
        }
    }

    if !opts.skip_hooks {
        for hook in &rec.hooks {
            for phase in hooks::sync_phases(hook) {
                let mut target = hook.clone();
                if object::name(&target).is_empty() {
                    let rev: String = if opts.revision.len() >= 8 {
                        opts.revision.chars().take(7).collect()
                    } else {
                        opts.revision.to_string()
                    };
                    let generate = object::str_at(&target, "/metadata/generateName").unwrap_or("");
                    let name = format!(
                        "{generate}{}",
                        format!("{rev}-{phase}-{}", opts.started_at_unix).to_lowercase()
                    );
                    set_meta(&mut target, "name", Value::String(name));
                }
                if !object::finalizers(&target).contains(&HOOK_FINALIZER) {
                    let mut f: Vec<Value> = object::finalizers(&target)
                        .into_iter()
                        .map(|s| Value::String(s.to_string()))
                        .collect();
                    f.push(Value::String(HOOK_FINALIZER.into()));
                    set_meta(&mut target, "finalizers", Value::Array(f));
                }
                tasks.push(new_task(phase, Some(target), None));
            }
        }
    }

    // Default the namespace of desired objects (not of kinds known to be cluster scoped).
    for t in tasks.iter_mut() {
        if let Some(target) = t.target.as_mut()
            && object::namespace(target).is_empty()
            && !opts.namespace.is_empty()
            && (opts.is_namespaced)(object::group(target), object::kind(target)) != Some(false)
        {
            set_meta(
                target,
                "namespace",
                Value::String(opts.namespace.to_string()),
            );
        }
    }

    if opts.sync_options.create_namespace()
        && !opts.namespace.is_empty()
        && let Some(t) = namespace_task(rec, opts)
    {
        tasks.push(new_task(
            SyncPhase::PreSync,
            Some(t),
            opts.live_namespace.cloned(),
        ));
    }

    // Find live objects of tasks created from desired objects only (hooks).
    // (Resources were paired by `reconcile`; only hooks and the namespace need a lookup.)
    for t in tasks.iter_mut() {
        if t.live.is_some() || (t.hook_type.is_none() && t.phase != SyncPhase::PreSync) {
            continue;
        }
        let Some(target) = &t.target else { continue };
        t.live = rec
            .resources
            .iter()
            .filter_map(|p| p.live.as_ref())
            .find(|l| {
                object::group(l) == object::group(target)
                    && object::kind(l) == object::kind(target)
                    && (object::namespace(l).is_empty()
                        || object::namespace(l) == object::namespace(target))
                    && object::name(l) == object::name(target)
            })
            .cloned();
    }

    if opts.sync_options.respect_ignore_differences == Some(true)
        && let Some(ignore) = opts.ignore
    {
        for t in tasks.iter_mut() {
            if let (Some(target), Some(live)) = (t.target.as_mut(), t.live.as_ref()) {
                *target = crate::diff::respect_ignore_differences(target, live, ignore);
            }
        }
    }

    // Prune in reverse wave order: symmetric swap of the distinct prune waves.
    let mut prune_waves: Vec<i64> = tasks
        .iter()
        .filter(|t| t.is_prune())
        .map(|t| t.wave)
        .collect();
    prune_waves.sort();
    prune_waves.dedup();
    let n = prune_waves.len();
    for t in tasks.iter_mut().filter(|t| t.is_prune()) {
        if let Some(i) = prune_waves.iter().position(|w| *w == t.wave) {
            t.wave = prune_waves[n - 1 - i];
        }
    }
    // PruneLast: after the last Sync wave.
    let last_sync_wave = tasks
        .iter()
        .filter(|t| t.phase == SyncPhase::Sync)
        .map(|t| t.wave)
        .fold(0, i64::max)
        + 1;
    for t in tasks.iter_mut() {
        if t.is_prune() && t.options.prune_last() {
            t.wave = last_sync_wave;
        }
    }

    sort_tasks(&mut tasks);

    for t in tasks.iter_mut().filter(|t| t.is_prune()) {
        let live = t.live.as_ref().unwrap_or(&Value::Null);
        t.action = if !opts.prune {
            TaskAction::PruneSkipped("ignored (requires pruning)".into())
        } else {
            match crate::sync::options::prune_policy(live) {
                RemovalPolicy::Never => TaskAction::PruneSkipped("ignored (no prune)".into()),
                RemovalPolicy::Confirm if !opts.prune_confirmed => {
                    TaskAction::PruneNeedsConfirmation
                }
                _ => TaskAction::Prune,
            }
        };
    }
    SyncPlan { tasks }
}

fn set_meta(obj: &mut Value, key: &str, value: Value) {
    if let Some(o) = obj.as_object_mut() {
        let meta = o
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            m.insert(key.to_string(), value);
        }
    }
}

/// The Namespace to create for `CreateNamespace=true`, if it is not rendered and is missing
/// or lacks the managed metadata.
fn namespace_task(rec: &Reconciliation, opts: &PlanOptions<'_>) -> Option<Value> {
    let rendered = rec
        .resources
        .iter()
        .filter_map(|p| p.target.as_ref())
        .any(|t| {
            object::group(t).is_empty()
                && object::kind(t) == "Namespace"
                && object::name(t) == opts.namespace
        });
    if rendered {
        return None;
    }
    let mut ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": opts.namespace}});
    let mut needs_update = false;
    if let Some(meta) = opts.managed_namespace_metadata {
        for field in ["labels", "annotations"] {
            if let Some(m) = meta.get(field).and_then(Value::as_object)
                && !m.is_empty()
            {
                ns["metadata"][field] = Value::Object(m.clone());
                let live_has_all = opts.live_namespace.is_some_and(|l| {
                    m.iter().all(|(k, v)| {
                        l.pointer(&format!("/metadata/{field}"))
                            .and_then(|x| x.get(k))
                            == Some(v)
                    })
                });
                needs_update |= !live_has_all;
            }
        }
    }
    (opts.live_namespace.is_none() || needs_update).then_some(ns)
}

fn sort_tasks(tasks: &mut [SyncTask]) {
    tasks.sort_by_cached_key(|t| {
        let o = t.obj();
        (
            t.phase,
            t.wave,
            kind_rank(object::kind(o)),
            object::name(o).to_string(),
            object::namespace(o).to_string(),
        )
    });
    // Namespaces before the resources in them.
    adjust_deps(
        tasks,
        |o| {
            (object::kind(o) == "Namespace" && object::group(o).is_empty())
                .then(|| object::name(o).to_string())
        },
        |o| Some(object::namespace(o).to_string()).filter(|s| !s.is_empty()),
    );
    // CRDs before their custom resources.
    adjust_deps(
        tasks,
        |o| {
            if object::group(o) == "apiextensions.k8s.io"
                && object::kind(o) == "CustomResourceDefinition"
            {
                let g = object::str_at(o, "/spec/group")?;
                let k = object::str_at(o, "/spec/names/kind")?;
                Some(format!("{g}/{k}"))
            } else {
                None
            }
        },
        |o| Some(format!("{}/{}", object::group(o), object::kind(o))),
    );
}

/// Moves a dependency before the first task referencing it, taking that task's phase and wave
/// (gitops-engine `adjustDeps`).
fn adjust_deps(
    tasks: &mut [SyncTask],
    is_dep: impl Fn(&Value) -> Option<String>,
    refs_dep: impl Fn(&Value) -> Option<String>,
) {
    let mut first: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for i in 0..tasks.len() {
        let Some(target) = tasks[i].target.as_ref() else {
            continue;
        };
        if let Some(dep) = is_dep(target) {
            if let Some(&index) = first.get(&dep) {
                let (phase, wave) = (tasks[index].phase, tasks[index].wave);
                tasks[i].phase = phase;
                tasks[i].wave = wave;
                tasks[index..=i].rotate_right(1);
                for v in first.values_mut() {
                    if *v >= index {
                        *v += 1;
                    }
                }
            }
        } else if let Some(r) = refs_dep(target) {
            first.entry(r).or_insert(i);
        }
    }
}

#[cfg(test)]
mod tests;
