use super::*;
use crate::sync::options::SyncOptions;
use serde_json::json;

fn obj(api: &str, kind: &str, ns: &str, name: &str, anns: Value) -> Value {
    let mut o =
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "annotations": anns}});
    if !ns.is_empty() {
        o["metadata"]["namespace"] = json!(ns);
    }
    o
}

fn scope(_g: &str, k: &str) -> Option<bool> {
    match k {
        "Namespace" | "ClusterRole" | "CustomResourceDefinition" => Some(false),
        "Widget" => None,
        _ => Some(true),
    }
}

fn tracked(mut o: Value, t: &Tracking) -> Value {
    t.mark(&mut o);
    o
}

fn names(plan: &SyncPlan) -> Vec<String> {
    plan.tasks
        .iter()
        .map(|t| {
            format!(
                "{}/{}/{}:{}",
                t.phase,
                t.wave,
                object::kind(t.obj()),
                object::name(t.obj())
            )
        })
        .collect()
}

fn opts<'a>(so: &'a SyncOptions, prune: bool) -> PlanOptions<'a> {
    PlanOptions {
        sync_options: so,
        prune,
        prune_confirmed: false,
        skip_hooks: false,
        resource_filter: None,
        revision: "3f2c1e9d8b7a",
        started_at_unix: 1_700_000_000,
        namespace: "web",
        is_namespaced: &scope,
        live_namespace: None,
        managed_namespace_metadata: None,
        ignore: None,
    }
}

#[test]
fn failed_render_cannot_prune() {
    let r: Result<Rendered, &str> = Rendered::from_render(Err("template: values.yaml:3: boom"));
    assert!(r.is_err());
    // A successful but empty render does produce prune candidates.
    let t = Tracking::annotation("web", "web");
    let live = vec![tracked(obj("v1", "ConfigMap", "web", "old", json!({})), &t)];
    let rendered = Rendered::from_render::<()>(Ok(vec![])).unwrap();
    let rec = reconcile(&rendered, &live, &t, &scope);
    assert_eq!(rec.prune_candidates().count(), 1);
}

#[test]
fn reconcile_pairs_and_finds_prune_candidates() {
    let t = Tracking::annotation("web", "web");
    let desired = vec![
        obj("apps/v1", "Deployment", "", "web", json!({})),
        obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "",
            "reader",
            json!({}),
        ),
        obj("example.com/v1", "Widget", "", "w", json!({})),
        obj(
            "batch/v1",
            "Job",
            "",
            "migrate",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
        ),
        obj("v1", "Pod", "", "test", json!({"helm.sh/hook": "test"})),
    ];
    let live = vec![
        // untracked but matching a desired object: adopted
        obj("apps/v1", "Deployment", "web", "web", json!({})),
        tracked(
            obj(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "",
                "reader",
                json!({}),
            ),
            &t,
        ),
        // unknown scope: found under the cluster key
        obj("example.com/v1", "Widget", "", "w", json!({})),
        tracked(obj("v1", "ConfigMap", "web", "stale", json!({})), &t),
        // a live hook is never pruned
        tracked(
            obj(
                "batch/v1",
                "Job",
                "web",
                "old-hook",
                json!({"argocd.argoproj.io/hook": "PostSync"}),
            ),
            &t,
        ),
        // other apps' and unmanaged objects are ignored
        tracked(
            obj("v1", "ConfigMap", "web", "theirs", json!({})),
            &Tracking::annotation("other", "web"),
        ),
        obj("v1", "ConfigMap", "web", "unmanaged", json!({})),
    ];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).unwrap(),
        &live,
        &t,
        &scope,
    );
    assert_eq!(rec.hooks.len(), 1);
    assert_eq!(rec.resources.len(), 5);
    assert!(
        rec.resources[..3]
            .iter()
            .all(|p| p.target.is_some() && p.live.is_some())
    );
    let prune: Vec<&str> = rec.prune_candidates().map(object::name).collect();
    assert_eq!(prune, vec!["stale"]);
}

#[test]
fn orders_by_phase_wave_kind_name() {
    let t = Tracking::annotation("web", "web");
    let desired = vec![
        obj("apps/v1", "Deployment", "", "web", json!({})),
        obj("v1", "Service", "", "web", json!({})),
        obj("v1", "ConfigMap", "", "b", json!({})),
        obj("v1", "ConfigMap", "", "a", json!({})),
        obj("example.com/v1", "Widget", "", "w", json!({})),
        obj(
            "v1",
            "Secret",
            "",
            "late",
            json!({"argocd.argoproj.io/sync-wave": "5"}),
        ),
        obj(
            "v1",
            "ConfigMap",
            "",
            "early",
            json!({"argocd.argoproj.io/sync-wave": "-1"}),
        ),
        obj(
            "batch/v1",
            "Job",
            "",
            "migrate",
            json!({"helm.sh/hook": "pre-upgrade,pre-install", "helm.sh/hook-weight": "2"}),
        ),
        obj(
            "batch/v1",
            "Job",
            "",
            "smoke",
            json!({"argocd.argoproj.io/hook": "PostSync"}),
        ),
        obj(
            "batch/v1",
            "Job",
            "",
            "notify",
            json!({"argocd.argoproj.io/hook": "SyncFail"}),
        ),
        obj(
            "v1",
            "ConfigMap",
            "",
            "skipped",
            json!({"argocd.argoproj.io/hook": "Skip"}),
        ),
        obj("v1", "Namespace", "", "web", json!({})),
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "widgets.example.com",
            json!({}),
        ),
    ];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).unwrap(),
        &[],
        &t,
        &scope,
    );
    let so = SyncOptions::default();
    let plan = plan_sync(&rec, &opts(&so, false));
    assert_eq!(
        names(&plan),
        vec![
            // the destination namespace moves before the first object in it (a hook here)
            "PreSync/2/Namespace:web",
            "PreSync/2/Job:migrate",
            "Sync/-1/ConfigMap:early",
            "Sync/0/ConfigMap:a",
            "Sync/0/ConfigMap:b",
            "Sync/0/CustomResourceDefinition:widgets.example.com",
            "Sync/0/Service:web",
            "Sync/0/Deployment:web",
            "Sync/0/Widget:w",
            "Sync/5/Secret:late",
            "PostSync/0/Job:smoke",
            "SyncFail/0/Job:notify",
        ]
    );
    // namespace defaulted for namespaced and unknown-scope kinds, not cluster-scoped ones
    let ns_of = |name: &str| {
        plan.tasks
            .iter()
            .find(|t| object::name(t.obj()) == name)
            .map(|t| object::namespace(t.obj()).to_string())
    };
    assert_eq!(ns_of("a").as_deref(), Some("web"));
    assert_eq!(ns_of("w").as_deref(), Some("web"));
    assert_eq!(ns_of("widgets.example.com").as_deref(), Some(""));
    // hooks carry the hook finalizer and their type
    let hook = &plan.tasks[1];
    assert_eq!(hook.hook_type, Some(HookType::PreSync));
    assert!(object::finalizers(hook.obj()).contains(&HOOK_FINALIZER));
    assert_eq!(
        hook.delete_policies,
        vec![HookDeletePolicy::BeforeHookCreation]
    );
    let steps = plan.steps();
    assert_eq!(steps.len(), 5);
    assert_eq!(
        (steps[0].0, steps[0].1, steps[0].2.len()),
        (SyncPhase::PreSync, 2, 2)
    );
    assert_eq!(
        (steps[2].0, steps[2].1, steps[2].2.len()),
        (SyncPhase::Sync, 0, 6)
    );
    assert_eq!(plan.sync_fail_tasks().count(), 1);
    // selective sync skips hooks and filters resources
    let only_web = |k: &ResourceKey| k.name == "web";
    let mut o = opts(&so, false);
    o.skip_hooks = true;
    o.resource_filter = Some(&only_web);
    let sel = plan_sync(&rec, &o);
    assert_eq!(
        names(&sel),
        vec![
            "Sync/0/Namespace:web",
            "Sync/0/Service:web",
            "Sync/0/Deployment:web"
        ]
    );
}

#[test]
fn dependencies_move_before_their_users() {
    let t = Tracking::annotation("web", "web");
    let mut crd = obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "",
        "widgets.example.com",
        json!({"argocd.argoproj.io/sync-wave": "3"}),
    );
    crd["spec"] = json!({"group": "example.com", "names": {"kind": "Widget"}});
    let desired = vec![
        obj(
            "example.com/v1",
            "Widget",
            "",
            "w",
            json!({"argocd.argoproj.io/sync-wave": "1"}),
        ),
        crd,
        obj(
            "v1",
            "Namespace",
            "",
            "other",
            json!({"argocd.argoproj.io/sync-wave": "2"}),
        ),
        obj("v1", "ConfigMap", "other", "c", json!({})),
    ];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).unwrap(),
        &[],
        &t,
        &scope,
    );
    let so = SyncOptions::default();
    let plan = plan_sync(&rec, &opts(&so, false));
    assert_eq!(
        names(&plan),
        vec![
            "Sync/0/Namespace:other",
            "Sync/0/ConfigMap:c",
            "Sync/1/CustomResourceDefinition:widgets.example.com",
            "Sync/1/Widget:w",
        ]
    );
}

#[test]
fn pruning_reverse_waves_prune_last_and_policies() {
    let t = Tracking::annotation("web", "web");
    let live = vec![
        tracked(
            obj(
                "v1",
                "ConfigMap",
                "web",
                "w1",
                json!({"argocd.argoproj.io/sync-wave": "1"}),
            ),
            &t,
        ),
        tracked(
            obj(
                "v1",
                "ConfigMap",
                "web",
                "w5",
                json!({"argocd.argoproj.io/sync-wave": "5"}),
            ),
            &t,
        ),
        tracked(
            obj(
                "v1",
                "ConfigMap",
                "web",
                "keep",
                json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
            ),
            &t,
        ),
        tracked(
            obj(
                "v1",
                "ConfigMap",
                "web",
                "ask",
                json!({"argocd.argoproj.io/sync-options": "Prune=confirm"}),
            ),
            &t,
        ),
        tracked(
            obj(
                "v1",
                "ConfigMap",
                "web",
                "last",
                json!({"argocd.argoproj.io/sync-options": "PruneLast=true"}),
            ),
            &t,
        ),
    ];
    let desired = vec![obj(
        "apps/v1",
        "Deployment",
        "",
        "web",
        json!({"argocd.argoproj.io/sync-wave": "2"}),
    )];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).unwrap(),
        &live,
        &t,
        &scope,
    );
    let so = SyncOptions::default();
    let plan = plan_sync(&rec, &opts(&so, true));
    assert_eq!(
        names(&plan),
        vec![
            // prune waves {0,1,5} swapped symmetrically: 0<->5, 1 stays
            "Sync/0/ConfigMap:w5",
            "Sync/1/ConfigMap:w1",
            "Sync/2/Deployment:web",
            "Sync/5/ConfigMap:ask",
            "Sync/5/ConfigMap:keep",
            // PruneLast: one wave after the last Sync wave, prune waves included
            "Sync/6/ConfigMap:last",
        ]
    );
    let action = |name: &str| {
        plan.tasks
            .iter()
            .find(|t| object::name(t.obj()) == name)
            .map(|t| t.action.clone())
    };
    assert_eq!(action("w1"), Some(TaskAction::Prune));
    assert_eq!(
        action("keep"),
        Some(TaskAction::PruneSkipped("ignored (no prune)".into()))
    );
    assert_eq!(action("ask"), Some(TaskAction::PruneNeedsConfirmation));
    assert_eq!(action("web"), Some(TaskAction::Apply));
    let no_prune = plan_sync(&rec, &opts(&so, false));
    assert!(
        no_prune
            .prune_tasks()
            .all(|t| t.action == TaskAction::PruneSkipped("ignored (requires pruning)".into()))
    );
    // app-level PruneLast moves every prune after the last sync wave
    let pl = SyncOptions::parse(["PruneLast=true"]);
    let plan = plan_sync(&rec, &opts(&pl, true));
    assert!(plan.prune_tasks().all(|t| t.wave == 6));
}

#[test]
fn hooks_get_generated_names_and_live_objects() {
    let t = Tracking::annotation("web", "web");
    let mut gen_hook = obj(
        "batch/v1",
        "Job",
        "",
        "",
        json!({"argocd.argoproj.io/hook": "PreSync"}),
    );
    gen_hook["metadata"]["generateName"] = json!("migrate-");
    let named = obj(
        "batch/v1",
        "Job",
        "",
        "smoke",
        json!({"argocd.argoproj.io/hook": "PostSync",
        "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
    );
    let live = vec![tracked(
        obj(
            "batch/v1",
            "Job",
            "web",
            "smoke",
            json!({"argocd.argoproj.io/hook": "PostSync"}),
        ),
        &t,
    )];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(vec![gen_hook, named])).unwrap(),
        &live,
        &t,
        &scope,
    );
    let so = SyncOptions::default();
    let plan = plan_sync(&rec, &opts(&so, true));
    assert_eq!(
        object::name(plan.tasks[0].obj()),
        "migrate-3f2c1e9-presync-1700000000"
    );
    let smoke = &plan.tasks[1];
    assert!(smoke.live.is_some());
    assert!(!smoke.delete_before_creation());
    assert_eq!(smoke.delete_policies, vec![HookDeletePolicy::HookSucceeded]);
    assert!(smoke.delete_on_completion(true) && !smoke.delete_on_completion(false));
    assert!(
        !plan.tasks[0].delete_on_completion(true),
        "default policy is BeforeHookCreation"
    );
    assert_eq!(plan.prune_tasks().count(), 0);
}

#[test]
fn create_namespace_task() {
    let t = Tracking::annotation("web", "web");
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(vec![obj("v1", "ConfigMap", "", "c", json!({}))])).unwrap(),
        &[],
        &t,
        &scope,
    );
    let so = SyncOptions::parse(["CreateNamespace=true"]);
    let plan = plan_sync(&rec, &opts(&so, false));
    assert_eq!(
        names(&plan),
        vec!["PreSync/0/Namespace:web", "Sync/0/ConfigMap:c"]
    );
    assert_eq!(object::namespace(plan.tasks[0].obj()), "");
    // exists already: no task, unless the managed metadata is missing
    let live_ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}});
    let mut o = opts(&so, false);
    o.live_namespace = Some(&live_ns);
    assert_eq!(plan_sync(&rec, &o).tasks.len(), 1);
    let meta = json!({"labels": {"team": "a"}});
    o.managed_namespace_metadata = Some(&meta);
    let p = plan_sync(&rec, &o);
    assert_eq!(p.tasks.len(), 2);
    assert_eq!(p.tasks[0].obj()["metadata"]["labels"]["team"], json!("a"));
    assert!(p.tasks[0].live.is_some());
}

#[test]
fn duplicates_shared_and_namespaces() {
    let t = Tracking::annotation("web", "web");
    let desired = vec![
        obj("v1", "ConfigMap", "", "c", json!({"v": "1"})),
        obj("v1", "ConfigMap", "web", "c", json!({"v": "2"})),
        obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "web",
            "r",
            json!({}),
        ),
        obj("v1", "Service", "", "s", json!({})),
    ];
    let live = vec![tracked(
        obj("v1", "Service", "web", "s", json!({})),
        &Tracking::annotation("other", "web"),
    )];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).unwrap(),
        &live,
        &t,
        &scope,
    );
    assert_eq!(rec.resources.len(), 3);
    let first = rec.resources[0].target.as_ref().unwrap();
    assert_eq!(object::namespace(first), "web");
    assert_eq!(
        object::annotation(first, "v"),
        Some("2"),
        "the last duplicate wins"
    );
    assert_eq!(
        object::namespace(rec.resources[1].target.as_ref().unwrap()),
        "",
        "cluster-scoped"
    );
    assert_eq!(
        rec.duplicates,
        vec![(ResourceKey::new("", "ConfigMap", "web", "c"), 2)]
    );
    assert_eq!(
        rec.shared,
        vec![(
            ResourceKey::new("", "Service", "web", "s"),
            "other".to_string()
        )]
    );
    assert_eq!(
        rec.warnings("web"),
        vec![
            (
                "RepeatedResourceWarning",
                "Resource /ConfigMap/web/c appeared 2 times among application resources."
                    .to_string()
            ),
            (
                "SharedResourceWarning",
                "Service/s is part of applications web and other".to_string()
            ),
        ]
    );
}

#[test]
fn apply_methods() {
    let t = Tracking::annotation("web", "web");
    let desired = vec![
        obj("v1", "ConfigMap", "", "plain", json!({})),
        obj(
            "v1",
            "ConfigMap",
            "",
            "ssa-off",
            json!({"argocd.argoproj.io/sync-options": "ServerSideApply=false,Validate=false"}),
        ),
        obj(
            "v1",
            "ConfigMap",
            "",
            "replace",
            json!({"argocd.argoproj.io/sync-options": "Replace=true,Force=true"}),
        ),
        obj(
            "v1",
            "Namespace",
            "",
            "ns",
            json!({"argocd.argoproj.io/sync-options": "Replace=true"}),
        ),
        obj(
            "v1",
            "ConfigMap",
            "",
            "new",
            json!({"argocd.argoproj.io/sync-options": "Replace=true"}),
        ),
    ];
    let live = vec![
        obj("v1", "ConfigMap", "web", "replace", json!({})),
        obj("v1", "Namespace", "", "ns", json!({})),
    ];
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).unwrap(),
        &live,
        &t,
        &scope,
    );
    let so = SyncOptions::parse(["ServerSideApply=true"]);
    let plan = plan_sync(&rec, &opts(&so, false));
    let method = |name: &str, dry: bool| {
        plan.tasks
            .iter()
            .find(|t| object::name(t.obj()) == name)
            .map(|t| t.apply_method(dry))
    };
    assert_eq!(method("plain", false), Some(ApplyMethod::ServerSideApply));
    assert_eq!(
        method("plain", true),
        Some(ApplyMethod::ClientSideApply {
            force: false,
            validate: true
        })
    );
    assert_eq!(
        method("ssa-off", false),
        Some(ApplyMethod::ClientSideApply {
            force: false,
            validate: false
        })
    );
    assert_eq!(
        method("replace", false),
        Some(ApplyMethod::Replace { force: true })
    );
    assert_eq!(method("ns", false), Some(ApplyMethod::Update));
    assert_eq!(method("new", false), Some(ApplyMethod::Create));
}

#[test]
fn respect_ignore_differences_adjusts_targets() {
    let t = Tracking::annotation("web", "web");
    let mut desired = obj("apps/v1", "Deployment", "", "web", json!({}));
    desired["spec"] = json!({"replicas": 2});
    let mut live = obj("apps/v1", "Deployment", "web", "web", json!({}));
    live["spec"] = json!({"replicas": 7});
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(vec![desired])).unwrap(),
        &[live],
        &t,
        &scope,
    );
    let ignore = crate::diff::IgnoreDifferences::new(&[crate::diff::IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        json_pointers: vec!["/spec/replicas".into()],
        ..Default::default()
    }])
    .unwrap();
    let so = SyncOptions::parse(["RespectIgnoreDifferences=true"]);
    let mut o = opts(&so, false);
    o.ignore = Some(&ignore);
    assert_eq!(
        plan_sync(&rec, &o).tasks[0].obj()["spec"]["replicas"],
        json!(7)
    );
    let plain = SyncOptions::default();
    let mut o = opts(&plain, false);
    o.ignore = Some(&ignore);
    assert_eq!(
        plan_sync(&rec, &o).tasks[0].obj()["spec"]["replicas"],
        json!(2)
    );
}
