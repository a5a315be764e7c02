//! Reporting a running sync in `status.operationState` from the engine's
//! [`engine::sync::run::SyncRun`], and the retry of failed operations
//! (`syncPolicy.retry` / `operation.retry`, [`after_attempt`], [`retry_wait`]) as Argo CD's
//! controller applies it.

use crate::application::{OperationState, ResourceResult, RetryStrategy, SyncOperationResult};
use chrono::{DateTime, Utc};
use engine::object;
use engine::sync::progress::OperationPhase;
use engine::sync::run::SyncRun;
use engine::sync::status::images;
use std::time::Duration;

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

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// After a sync attempt ended (`state.phase` final), applies the retry strategy as Argo CD's
/// `processRequestedAppOperation` does: a `Failed`/`Error` attempt with retries left goes back
/// to `Running` with `retryCount + 1`, `finishedAt = now` and the message
/// `"<message>. Retrying attempt #<n> at <3:04PM>."`, and the delay until that attempt is
/// returned (the caller keeps `operation` and looks again then); with no retries left the
/// message gains `" (retried <n> times)."`. Dry runs and successes are left alone.
pub fn after_attempt(
    state: &mut OperationState,
    retry: Option<&RetryStrategy>,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if !matches!(state.phase.as_str(), "Failed" | "Error") || dry_run {
        return None;
    }
    let retry = retry.filter(|r| r.limit != 0)?;
    let count = u32::try_from(state.retry_count.unwrap_or(0).max(0)).unwrap_or(u32::MAX);
    let message = state.message.clone().unwrap_or_default();
    if retry.may_retry(count) {
        state.finished_at = Some(rfc3339(now));
        match retry.delay(count) {
            Err(e) => {
                state.phase = "Error".into();
                state.message = Some(format!("{message} (failed to retry: {e})"));
                None
            }
            Ok(delay) => {
                let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                state.phase = "Running".into();
                state.retry_count = Some(i64::from(count) + 1);
                state.message = Some(format!(
                    "{message}. Retrying attempt #{} at {}.",
                    count + 1,
                    at.format("%-I:%M%p")
                ));
                Some(delay)
            }
        }
    } else {
        if count > 0 {
            state.message = Some(format!("{message} (retried {count} times)."));
        }
        None
    }
}

/// For an operation waiting to be retried (`Running` with `finishedAt` and `retryCount > 0`):
/// how long until the next attempt (`None` = attempt now).
pub fn retry_wait(
    state: &OperationState,
    retry: Option<&RetryStrategy>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if state.phase != "Running" {
        return None;
    }
    let count = state.retry_count.filter(|c| *c > 0)?;
    let finished = state.finished_at.as_deref().and_then(parse_time)?;
    let default = RetryStrategy::default();
    let delay = retry
        .unwrap_or(&default)
        .delay(u32::try_from(count - 1).unwrap_or(u32::MAX))
        .ok()?;
    let at = finished + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    (at - now).to_std().ok().filter(|d| !d.is_zero())
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

    fn failed(count: Option<i64>) -> OperationState {
        OperationState {
            phase: "Failed".into(),
            message: Some("one or more objects failed to apply".into()),
            retry_count: count,
            ..Default::default()
        }
    }

    #[test]
    fn retries_like_argo() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T15:04:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let retry = RetryStrategy {
            limit: 2,
            ..Default::default()
        };
        let mut s = failed(None);
        assert_eq!(
            after_attempt(&mut s, Some(&retry), false, now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(s.phase, "Running");
        assert_eq!(s.retry_count, Some(1));
        assert_eq!(
            s.message.as_deref(),
            Some("one or more objects failed to apply. Retrying attempt #1 at 3:04PM.")
        );
        assert_eq!(s.finished_at.as_deref(), Some("2026-01-02T15:04:00Z"));
        // waits 5 s from finishedAt for the first retry, then is due
        assert_eq!(
            retry_wait(&s, Some(&retry), now + chrono::Duration::seconds(2)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_wait(&s, Some(&retry), now + chrono::Duration::seconds(5)),
            None
        );
        // second failure: 10 s
        let mut s = failed(Some(1));
        assert_eq!(
            after_attempt(&mut s, Some(&retry), false, now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(s.retry_count, Some(2));
        assert_eq!(
            retry_wait(&s, Some(&retry), now),
            Some(Duration::from_secs(10))
        );
        // limit reached
        let mut s = failed(Some(2));
        assert_eq!(after_attempt(&mut s, Some(&retry), false, now), None);
        assert_eq!(s.phase, "Failed");
        assert_eq!(
            s.message.as_deref(),
            Some("one or more objects failed to apply (retried 2 times).")
        );
        // no strategy, limit 0, dry run, success: untouched
        for (r, dry) in [
            (None, false),
            (Some(RetryStrategy::default()), false),
            (Some(retry.clone()), true),
        ] {
            let mut s = failed(None);
            assert_eq!(after_attempt(&mut s, r.as_ref(), dry, now), None);
            assert_eq!(s, failed(None));
        }
        let mut ok = OperationState {
            phase: "Succeeded".into(),
            ..Default::default()
        };
        assert_eq!(after_attempt(&mut ok, Some(&retry), false, now), None);
        // unlimited, custom backoff capped
        let unlimited = RetryStrategy {
            limit: -1,
            backoff: Some(crate::application::Backoff {
                duration: Some("1s".into()),
                factor: Some(3),
                max_duration: Some("20s".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut s = failed(Some(10));
        assert_eq!(
            after_attempt(&mut s, Some(&unlimited), false, now),
            Some(Duration::from_secs(20))
        );
        // a bad duration turns the operation into an Error
        let bad = RetryStrategy {
            limit: 1,
            backoff: Some(crate::application::Backoff {
                duration: Some("soon".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut s = failed(None);
        assert_eq!(after_attempt(&mut s, Some(&bad), false, now), None);
        assert_eq!(s.phase, "Error");
        assert!(
            s.message.as_deref().is_some_and(
                |m| m.ends_with("(failed to retry: unable to parse soon as a duration)")
            )
        );
    }
}
