//! The auto-sync decision (Argo CD's `ApplicationController.autoSync`), as a pure function:
//! given the app, its comparison result and the time since its last operation, either skip,
//! retry later, report a `SyncError` condition, or start a sync operation.

use crate::application::{
    Application, ApplicationCondition, Operation, OperationInitiator, ResourceStatus,
    RetryStrategy, SyncOperation, SyncOperationResource,
};
use engine::sync::retry::self_heal_delay;
use engine::sync::status::SyncStatusCode;
use std::time::Duration;

/// Condition type for sync errors.
pub const CONDITION_SYNC_ERROR: &str = "SyncError";

/// How long after the last operation the self-heal backoff starts again from zero (Argo CD's
/// `--self-heal-backoff-cooldown-seconds`, default 330 s).
pub const SELF_HEAL_COOLDOWN: Duration = Duration::from_secs(330);

/// What to do about auto-sync.
#[derive(Debug, Clone, PartialEq)]
pub enum AutoSync {
    /// Nothing to do (message for the log).
    Skip(String),
    /// Self-heal backoff: check again after `after`.
    RetryAfter {
        /// Log message.
        reason: String,
        /// Delay.
        after: Duration,
    },
    /// Do not sync; set this condition.
    Error(ApplicationCondition),
    /// Start this operation (set `operation`).
    Sync(Box<Operation>),
}

/// Inputs besides the app.
#[derive(Debug, Clone, Copy)]
pub struct AutoSyncInput<'a> {
    /// The comparison's application sync status.
    pub sync_status: SyncStatusCode,
    /// The comparison's resources (`status.resources` as just computed).
    pub resources: &'a [ResourceStatus],
    /// Resolved revisions of the sources (one per source).
    pub desired_revisions: &'a [String],
    /// Time since `status.operationState.finishedAt`, if known.
    pub since_last_operation: Option<Duration>,
}

fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Decides on auto-sync for `app`.
pub fn decide(app: &Application, input: &AutoSyncInput<'_>) -> AutoSync {
    let Some(automated) = app.auto_sync() else {
        return AutoSync::Skip("Skipping auto-sync: automated sync is not enabled".into());
    };
    if app.operation.is_some() {
        return AutoSync::Skip("Skipping auto-sync: another operation is in progress".into());
    }
    if app.metadata.deletion_timestamp.is_some() {
        return AutoSync::Skip("Skipping auto-sync: deletion in progress".into());
    }
    if input.sync_status != SyncStatusCode::OutOfSync {
        return AutoSync::Skip(format!(
            "Skipping auto-sync: application status is {}",
            input.sync_status.as_str()
        ));
    }
    if !automated.prune {
        let prune_only = input
            .resources
            .iter()
            .all(|r| r.status.as_deref() == Some("Synced") || r.requires_pruning);
        if prune_only {
            return AutoSync::Skip(
                "Skipping auto-sync: need to prune extra resources only but automated prune is disabled"
                    .into(),
            );
        }
    }
    let multi = app.is_multi_source();
    let sync_options = app
        .spec
        .sync_policy
        .as_ref()
        .map(|p| p.sync_options.clone())
        .unwrap_or_default();
    let mut op = Operation {
        sync: Some(SyncOperation {
            revision: if multi {
                None
            } else {
                input.desired_revisions.first().cloned()
            },
            revisions: if multi {
                input.desired_revisions.to_vec()
            } else {
                Vec::new()
            },
            prune: automated.prune,
            sync_options,
            ..Default::default()
        }),
        initiated_by: Some(OperationInitiator {
            automated: true,
            ..Default::default()
        }),
        retry: Some(
            app.spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.retry.clone())
                .unwrap_or(RetryStrategy {
                    limit: 5,
                    ..Default::default()
                }),
        ),
        ..Default::default()
    };

    if let Some(phase) = already_attempted(app, input.desired_revisions) {
        let revs = go_list(input.desired_revisions);
        if phase != "Succeeded" {
            let msg = app
                .status
                .operation_state
                .as_ref()
                .and_then(|s| s.message.clone())
                .unwrap_or_default();
            return AutoSync::Error(ApplicationCondition::new(
                CONDITION_SYNC_ERROR,
                format!("Failed last sync attempt to {revs}: {msg}"),
            ));
        }
        if !automated.self_heal {
            return AutoSync::Skip(format!(
                "Skipping auto-sync: most recent sync already to {revs}"
            ));
        }
        let cooled_down = input
            .since_last_operation
            .is_some_and(|d| d >= SELF_HEAL_COOLDOWN);
        let attempts = if cooled_down {
            0
        } else {
            app.status
                .operation_state
                .as_ref()
                .and_then(|s| s.operation.sync.as_ref())
                .and_then(|s| s.self_heal_attempts_count)
                .unwrap_or(0)
        };
        let delay = self_heal_delay(u32::try_from(attempts.max(0)).unwrap_or(u32::MAX));
        let remaining = delay.saturating_sub(input.since_last_operation.unwrap_or_default());
        if !remaining.is_zero() {
            return AutoSync::RetryAfter {
                reason: format!(
                    "Skipping auto-sync: already attempted sync to {revs} (retrying in {:?})",
                    remaining
                ),
                after: remaining,
            };
        }
        if let Some(sync) = op.sync.as_mut() {
            sync.self_heal_attempts_count = Some(attempts + 1);
            sync.resources = input
                .resources
                .iter()
                .filter(|r| r.status.as_deref() != Some("Synced"))
                .map(|r| SyncOperationResource {
                    group: r.group.clone(),
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                    ..Default::default()
                })
                .collect();
        }
    }

    if automated.prune
        && !automated.allow_empty
        && input.resources.iter().all(|r| r.requires_pruning)
    {
        return AutoSync::Error(ApplicationCondition::new(
            CONDITION_SYNC_ERROR,
            format!(
                "Skipping sync attempt to {}: auto-sync will wipe out all resources",
                go_list(input.desired_revisions)
            ),
        ));
    }
    AutoSync::Sync(Box::new(op))
}

/// The phase of the last sync if it targeted the same revisions and the same sources.
fn already_attempted(app: &Application, desired: &[String]) -> Option<String> {
    let state = app.status.operation_state.as_ref()?;
    state.operation.sync.as_ref()?;
    let result = state.sync_result.as_ref()?;
    if app.is_multi_source() {
        if result.revisions != desired {
            return None;
        }
        if result.sources != app.spec.sources {
            return None;
        }
    } else {
        if Some(result.revision.as_str()) != desired.first().map(String::as_str) {
            return None;
        }
        if result.source.as_ref() != app.spec.source.as_ref() {
            return None;
        }
    }
    Some(state.phase.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{ApplicationSource, OperationState, SyncOperationResult};
    use serde_json::json;

    fn app(automated: serde_json::Value) -> Application {
        Application::from_value(&json!({
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/web.git", "path": "chart"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
                "syncPolicy": {"automated": automated, "syncOptions": ["ServerSideApply=true"]}}
        }))
        .expect("valid app")
    }

    fn res(name: &str, status: &str, prune: bool) -> ResourceStatus {
        ResourceStatus {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: "web".into(),
            name: name.into(),
            status: Some(status.into()),
            requires_pruning: prune,
            ..Default::default()
        }
    }

    fn attempted(a: &mut Application, rev: &str, phase: &str, heal: Option<i64>) {
        a.status.operation_state = Some(OperationState {
            operation: Operation {
                sync: Some(SyncOperation {
                    self_heal_attempts_count: heal,
                    ..Default::default()
                }),
                ..Default::default()
            },
            phase: phase.into(),
            message: Some("one or more objects failed to apply".into()),
            sync_result: Some(SyncOperationResult {
                revision: rev.into(),
                source: a.spec.source.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    #[test]
    fn starts_a_sync_when_out_of_sync() {
        let a = app(json!({"prune": true}));
        let resources = [res("web", "OutOfSync", false)];
        let revs = ["abc123".to_string()];
        let input = AutoSyncInput {
            sync_status: SyncStatusCode::OutOfSync,
            resources: &resources,
            desired_revisions: &revs,
            since_last_operation: None,
        };
        let AutoSync::Sync(op) = decide(&a, &input) else {
            panic!("expected a sync")
        };
        let sync = op.sync.as_ref().expect("sync");
        assert_eq!(sync.revision.as_deref(), Some("abc123"));
        assert!(sync.prune);
        assert_eq!(sync.sync_options, vec!["ServerSideApply=true"]);
        assert_eq!(op.retry.as_ref().map(|r| r.limit), Some(5));
        assert!(op.initiated_by.as_ref().is_some_and(|i| i.automated));
        // synced: nothing to do
        let synced = AutoSyncInput {
            sync_status: SyncStatusCode::Synced,
            ..input
        };
        assert_eq!(
            decide(&a, &synced),
            AutoSync::Skip("Skipping auto-sync: application status is Synced".into())
        );
    }

    #[test]
    fn guards() {
        let revs = ["abc123".to_string()];
        let prune_only = [res("web", "Synced", false), res("old", "OutOfSync", true)];
        let input = AutoSyncInput {
            sync_status: SyncStatusCode::OutOfSync,
            resources: &prune_only,
            desired_revisions: &revs,
            since_last_operation: None,
        };
        assert_eq!(
            decide(&app(json!({})), &input),
            AutoSync::Skip("Skipping auto-sync: need to prune extra resources only but automated prune is disabled".into())
        );
        let all_prune = [res("old", "OutOfSync", true)];
        let wipe = AutoSyncInput {
            resources: &all_prune,
            ..input
        };
        assert_eq!(
            decide(&app(json!({"prune": true})), &wipe),
            AutoSync::Error(ApplicationCondition::new(
                CONDITION_SYNC_ERROR,
                "Skipping sync attempt to [abc123]: auto-sync will wipe out all resources"
            ))
        );
        assert!(matches!(
            decide(&app(json!({"prune": true, "allowEmpty": true})), &wipe),
            AutoSync::Sync(_)
        ));
        assert!(matches!(
            decide(&app(json!({"enabled": false})), &input),
            AutoSync::Skip(_)
        ));
        let mut busy = app(json!({"prune": true}));
        busy.operation = Some(Operation::default());
        assert_eq!(
            decide(&busy, &wipe),
            AutoSync::Skip("Skipping auto-sync: another operation is in progress".into())
        );
    }

    #[test]
    fn one_attempt_per_revision_and_self_heal_backoff() {
        let revs = ["abc123".to_string()];
        let resources = [res("web", "OutOfSync", false), res("db", "Synced", false)];
        let input = AutoSyncInput {
            sync_status: SyncStatusCode::OutOfSync,
            resources: &resources,
            desired_revisions: &revs,
            since_last_operation: Some(Duration::from_secs(1)),
        };
        let mut failed = app(json!({"prune": true}));
        attempted(&mut failed, "abc123", "Failed", None);
        assert_eq!(
            decide(&failed, &input),
            AutoSync::Error(ApplicationCondition::new(
                CONDITION_SYNC_ERROR,
                "Failed last sync attempt to [abc123]: one or more objects failed to apply"
            ))
        );
        let mut done = app(json!({"prune": true}));
        attempted(&mut done, "abc123", "Succeeded", None);
        assert_eq!(
            decide(&done, &input),
            AutoSync::Skip("Skipping auto-sync: most recent sync already to [abc123]".into())
        );
        // a new revision syncs again
        let newer = ["def456".to_string()];
        assert!(matches!(
            decide(
                &done,
                &AutoSyncInput {
                    desired_revisions: &newer,
                    ..input
                }
            ),
            AutoSync::Sync(_)
        ));
        // changed source (same revision) syncs again
        let mut changed = done.clone();
        changed.spec.source = Some(ApplicationSource {
            path: Some("other".into()),
            ..changed.spec.source.clone().unwrap_or_default()
        });
        assert!(matches!(decide(&changed, &input), AutoSync::Sync(_)));
        // self-heal: first heal immediately, only the out-of-sync resources
        let mut heal = app(json!({"prune": true, "selfHeal": true}));
        attempted(&mut heal, "abc123", "Succeeded", None);
        let AutoSync::Sync(op) = decide(&heal, &input) else {
            panic!("expected a sync")
        };
        let sync = op.sync.as_ref().expect("sync");
        assert_eq!(sync.self_heal_attempts_count, Some(1));
        assert_eq!(sync.resources.len(), 1);
        assert_eq!(sync.resources[0].name, "web");
        // third heal waits 6 s after the last operation finished
        attempted(&mut heal, "abc123", "Succeeded", Some(2));
        assert_eq!(
            decide(&heal, &input),
            AutoSync::RetryAfter {
                reason: "Skipping auto-sync: already attempted sync to [abc123] (retrying in 5s)"
                    .into(),
                after: Duration::from_secs(5)
            }
        );
        let later = AutoSyncInput {
            since_last_operation: Some(Duration::from_secs(60)),
            ..input
        };
        assert!(matches!(decide(&heal, &later), AutoSync::Sync(_)));
        // after the cooldown the backoff starts again from zero
        attempted(&mut heal, "abc123", "Succeeded", Some(6));
        let AutoSync::Sync(op) = decide(
            &heal,
            &AutoSyncInput {
                since_last_operation: Some(SELF_HEAL_COOLDOWN),
                ..input
            },
        ) else {
            panic!("expected a sync")
        };
        assert_eq!(
            op.sync.as_ref().and_then(|s| s.self_heal_attempts_count),
            Some(1)
        );
    }

    #[test]
    fn history_is_trimmed() {
        let mut a = app(json!({}));
        for rev in ["a", "b", "c"] {
            a.status.push_history(
                crate::application::RevisionHistory {
                    revision: Some(rev.into()),
                    ..Default::default()
                },
                2,
            );
        }
        let ids: Vec<(i64, Option<&str>)> = a
            .status
            .history
            .iter()
            .map(|h| (h.id, h.revision.as_deref()))
            .collect();
        assert_eq!(ids, vec![(1, Some("b")), (2, Some("c"))]);
        a.status.push_history(Default::default(), 0);
        assert!(a.status.history.is_empty());
    }
}
