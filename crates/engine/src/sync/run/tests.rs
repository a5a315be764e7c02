use super::*;
use crate::sync::options::SyncOptions;
use crate::sync::plan::{PlanOptions, Rendered, plan_sync, reconcile};
use crate::sync::tracking::Tracking;
use serde_json::json;

fn scope(_g: &str, _k: &str) -> Option<bool> {
    Some(true)
}

fn run_for(desired: Vec<Value>, live: Vec<Value>, prune: bool) -> SyncRun {
    let t = Tracking::annotation("web", "web");
    let live: Vec<Value> = live
        .into_iter()
        .map(|mut l| {
            t.mark(&mut l);
            l
        })
        .collect();
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).expect("ok"),
        &live,
        &t,
        &scope,
    );
    let so = SyncOptions::default();
    let plan = plan_sync(
        &rec,
        &PlanOptions {
            sync_options: &so,
            prune,
            prune_confirmed: false,
            skip_hooks: false,
            resource_filter: None,
            revision: "abc1234",
            started_at_unix: 1,
            namespace: "web",
            is_namespaced: &scope,
            live_namespace: None,
            managed_namespace_metadata: None,
            ignore: None,
        },
    );
    SyncRun::new(plan, HealthOptions::default())
}

fn cm(name: &str, anns: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "web", "annotations": anns}})
}

fn deploy(ready: bool) -> Value {
    let (updated, available) = if ready { (1, 1) } else { (0, 0) };
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web", "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": updated, "availableReplicas": available}})
}

fn job(name: &str, anns: Value, cond: Option<&str>) -> Value {
    let conds = match cond {
        Some(c) => json!([{"type": c, "status": "True", "message": format!("job {c}")}]),
        None => json!([]),
    };
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "web", "annotations": anns,
        "finalizers": [HOOK_FINALIZER]}, "status": {"conditions": conds}})
}

fn names(run: &SyncRun, idx: &[usize]) -> Vec<String> {
    idx.iter()
        .map(|&i| object::name(run.plan.tasks[i].obj()).to_string())
        .collect()
}

#[test]
fn single_step_sync_succeeds_after_apply() {
    let mut run = run_for(vec![cm("a", json!({})), cm("b", json!({}))], vec![], false);
    let d = run.step();
    assert_eq!(
        (d.phase, names(&run, &d.apply)),
        (
            OperationPhase::Running,
            vec!["a".to_string(), "b".to_string()]
        )
    );
    for i in d.apply {
        run.record_apply(i, Ok("configmap/x created".into()));
    }
    let d = run.step();
    assert_eq!(
        (d.phase, d.message.as_str()),
        (
            OperationPhase::Succeeded,
            "successfully synced (all tasks run)"
        )
    );
    assert_eq!(run.states[0].result, Some(ResultCode::Synced));
}

#[test]
fn waves_wait_for_health() {
    let mut run = run_for(
        vec![
            deploy(false),
            cm("late", json!({"argocd.argoproj.io/sync-wave": "1"})),
        ],
        vec![],
        false,
    );
    let d = run.step();
    assert_eq!(names(&run, &d.apply), vec!["web"]);
    run.record_apply(d.apply[0], Ok(String::new()));
    let d = run.step();
    assert_eq!(
        d.message,
        "waiting for healthy state of apps/Deployment/web"
    );
    assert_eq!(run.to_observe(), vec![0]);
    run.observe(0, Some(deploy(false)));
    assert_eq!(run.step().phase, OperationPhase::Running);
    run.observe(0, Some(deploy(true)));
    let d = run.step();
    assert_eq!(names(&run, &d.apply), vec!["late"]);
    run.record_apply(d.apply[0], Ok(String::new()));
    // a ConfigMap has no health: it succeeds when observed
    run.observe(1, Some(cm("late", json!({}))));
    assert_eq!(run.step().phase, OperationPhase::Succeeded);
}

#[test]
fn hooks_are_recreated_awaited_and_cleaned_up() {
    let hook_anns = json!({"argocd.argoproj.io/hook": "PreSync"});
    let post_anns = json!({"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"});
    let mut run = run_for(
        vec![
            job("migrate", hook_anns.clone(), None),
            cm("app", json!({})),
            job("smoke", post_anns.clone(), None),
        ],
        vec![job("migrate", hook_anns.clone(), Some("Complete"))],
        false,
    );
    // the old migrate job: finalizer removed, then deleted before re-creation
    let d = run.step();
    assert_eq!(names(&run, &d.remove_finalizer), vec!["migrate"]);
    assert_eq!(names(&run, &d.delete), vec!["migrate"]);
    assert!(d.apply.is_empty());
    run.record_deleted(d.delete[0], Ok(()));
    let d = run.step();
    assert_eq!(names(&run, &d.apply), vec!["migrate"]);
    run.record_apply(d.apply[0], Ok("job.batch/migrate created".into()));
    let d = run.step();
    assert_eq!(
        d.message,
        "waiting for completion of hook batch/Job/migrate"
    );
    run.observe(0, Some(job("migrate", hook_anns, None)));
    assert_eq!(run.step().phase, OperationPhase::Running);
    let done = job(
        "migrate",
        json!({"argocd.argoproj.io/hook": "PreSync"}),
        Some("Complete"),
    );
    run.observe(0, Some(done));
    let d = run.step();
    assert_eq!(names(&run, &d.remove_finalizer), vec!["migrate"]);
    assert_eq!(names(&run, &d.apply), vec!["app"]);
    run.record_apply(d.apply[0], Ok(String::new()));
    run.observe(1, Some(cm("app", json!({}))));
    let d = run.step();
    assert_eq!(names(&run, &d.apply), vec!["smoke"]);
    run.record_apply(d.apply[0], Ok(String::new()));
    run.observe(2, Some(job("smoke", post_anns, Some("Complete"))));
    let d = run.step();
    assert_eq!(d.phase, OperationPhase::Succeeded);
    assert_eq!(names(&run, &d.delete), vec!["smoke"], "HookSucceeded");
    assert_eq!(names(&run, &d.remove_finalizer), vec!["migrate", "smoke"]);
}

#[test]
fn failures_run_sync_fail_hooks() {
    let fail_anns = json!({"argocd.argoproj.io/hook": "SyncFail"});
    let mut run = run_for(
        vec![cm("bad", json!({})), job("notify", fail_anns.clone(), None)],
        vec![],
        false,
    );
    let d = run.step();
    assert_eq!(names(&run, &d.apply), vec!["bad"]);
    run.record_apply(
        d.apply[0],
        Err("ConfigMap \"bad\" is invalid: data: Invalid value".into()),
    );
    let d = run.step();
    assert_eq!(d.phase, OperationPhase::Running);
    assert_eq!(names(&run, &d.apply), vec!["notify"]);
    run.record_apply(d.apply[0], Ok(String::new()));
    run.observe(1, Some(job("notify", fail_anns.clone(), None)));
    assert_eq!(run.step().phase, OperationPhase::Running);
    run.observe(1, Some(job("notify", fail_anns, Some("Failed"))));
    let d = run.step();
    assert_eq!(d.phase, OperationPhase::Failed);
    assert_eq!(
        d.message,
        "one or more objects failed to apply, reason: ConfigMap \"bad\" is invalid: data: Invalid value\none or more SyncFail hooks failed, reason: job Failed"
    );
}

#[test]
fn degraded_resource_fails_multi_step_sync() {
    let mut run = run_for(
        vec![
            deploy(false),
            cm("late", json!({"argocd.argoproj.io/sync-wave": "1"})),
        ],
        vec![],
        false,
    );
    let d = run.step();
    run.record_apply(d.apply[0], Ok(String::new()));
    let mut bad = deploy(false);
    bad["status"]["conditions"] =
        json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
    run.observe(0, Some(bad));
    let d = run.step();
    assert_eq!(
        (d.phase, d.message.as_str()),
        (
            OperationPhase::Failed,
            "one or more synchronization tasks completed unsuccessfully"
        )
    );
}

#[test]
fn pruning_skips_confirms_and_waits_for_deletion() {
    let mut run = run_for(
        vec![cm("keep", json!({}))],
        vec![
            cm("old", json!({})),
            cm(
                "ask",
                json!({"argocd.argoproj.io/sync-options": "Prune=confirm", "argocd.argoproj.io/sync-wave": "3"}),
            ),
        ],
        true,
    );
    let d = run.step();
    assert_eq!(
        d.message,
        "Waiting for pruning confirmation of v1/ConfigMap/ask"
    );
    // without pruning enabled: skipped, the sync goes on
    let mut run = run_for(
        vec![cm("keep", json!({}))],
        vec![cm("old", json!({}))],
        false,
    );
    let d = run.step();
    assert_eq!(names(&run, &d.apply), vec!["keep"]);
    assert!(d.prune.is_empty());
    let old = run
        .plan
        .tasks
        .iter()
        .position(|t| t.is_prune())
        .expect("prune task");
    assert_eq!(run.states[old].result, Some(ResultCode::PruneSkipped));
    assert_eq!(run.states[old].message, "ignored (requires pruning)");
    // with pruning: deleted, then waited for
    let mut run = run_for(
        vec![cm("keep", json!({}))],
        vec![cm("old", json!({}))],
        true,
    );
    let d = run.step();
    assert_eq!(names(&run, &d.prune), vec!["old"]);
    let p = d.prune[0];
    run.record_prune(p, Ok(()));
    for i in d.apply {
        run.record_apply(i, Ok(String::new()));
    }
    let mut gone = cm("old", json!({}));
    gone["metadata"]["deletionTimestamp"] = json!("2026-11-23T02:00:00Z");
    run.observe(p, Some(gone));
    assert_eq!(run.step().message, "waiting for deletion of /ConfigMap/old");
    run.observe(p, None);
    let d = run.step();
    assert_eq!(d.phase, OperationPhase::Succeeded);
    assert_eq!(run.states[p].message, "pruned");
}

#[test]
fn empty_plan_succeeds() {
    let mut run = run_for(vec![], vec![], true);
    assert_eq!(run.step().message, "successfully synced (no more tasks)");
}
