//! Reporting a running sync in `status.operationState` from the engine's
//! [`engine::sync::run::SyncRun`].

use crate::application::{OperationState, ResourceResult, SyncOperationResult};
use engine::object;
use engine::sync::progress::OperationPhase;
use engine::sync::run::SyncRun;
use engine::sync::status::images;

/// `syncResult.resources`: one entry per task that ran (or was skipped), in plan order.
pub fn resource_results(run: &SyncRun) -> Vec<ResourceResult> {
    run.plan
        .tasks
        .iter()
        .zip(&run.states)
        .filter(|(_, s)| s.result.is_some() || s.phase.is_some())
        .map(|(t, s)| {
            let obj = t.obj();
            let key = t.key();
            ResourceResult {
                group: key.group,
                version: object::version(obj).to_string(),
                kind: key.kind,
                namespace: key.namespace,
                name: key.name,
                status: s.result.map(|r| r.as_str().to_string()),
                message: (!s.message.is_empty()).then(|| s.message.clone()),
                hook_type: t.hook_type.map(|h| h.as_str().to_string()),
                hook_phase: s.phase.map(|p| p.as_str().to_string()),
                sync_phase: Some(t.phase.as_str().to_string()),
                images: images(obj),
                ..Default::default()
            }
        })
        .collect()
}

/// Updates an operation state with a decision's phase and message and the run's results;
/// `finished_at` is set by the caller when the phase is final (it owns the clock).
pub fn update_state(
    state: &mut OperationState,
    run: &SyncRun,
    phase: OperationPhase,
    message: &str,
    revision: &str,
) {
    state.phase = phase.as_str().to_string();
    state.message = Some(message.to_string());
    let result = state
        .sync_result
        .get_or_insert_with(SyncOperationResult::default);
    result.revision = revision.to_string();
    result.resources = resource_results(run);
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::health::HealthOptions;
    use engine::sync::options::SyncOptions;
    use engine::sync::plan::{PlanOptions, Rendered, plan_sync, reconcile};
    use engine::sync::tracking::Tracking;
    use serde_json::json;

    #[test]
    fn results_like_argo() {
        let scope = |_: &str, _: &str| Some(true);
        let t = Tracking::annotation("web", "web");
        let desired = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate",
                "annotations": {"argocd.argoproj.io/hook": "PreSync"}}}),
        ];
        let rec = reconcile(
            &Rendered::from_render::<()>(Ok(desired)).expect("ok"),
            &[],
            &t,
            &scope,
        );
        let so = SyncOptions::default();
        let plan = plan_sync(
            &rec,
            &PlanOptions {
                sync_options: &so,
                prune: false,
                prune_confirmed: false,
                skip_hooks: false,
                resource_filter: None,
                revision: "abc",
                started_at_unix: 0,
                namespace: "web",
                is_namespaced: &scope,
                live_namespace: None,
                managed_namespace_metadata: None,
                ignore: None,
            },
        );
        let mut run = SyncRun::new(plan, HealthOptions::default());
        let d = run.step();
        run.record_apply(d.apply[0], Ok("job.batch/migrate created".into()));
        let mut state = OperationState::default();
        update_state(&mut state, &run, d.phase, &d.message, "abc");
        assert_eq!(state.phase, "Running");
        let r = &state.sync_result.as_ref().expect("result").resources;
        assert_eq!(r.len(), 1);
        assert_eq!(
            serde_json::to_value(&r[0]).expect("json"),
            json!({"group": "batch", "version": "v1", "kind": "Job", "namespace": "web", "name": "migrate",
                "status": "Synced", "message": "job.batch/migrate created", "hookType": "PreSync",
                "hookPhase": "Running", "syncPhase": "PreSync"})
        );
        assert!(!state.completed());
    }
}
