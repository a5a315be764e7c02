//! Progress of a running sync: the phase of a hook from its live object and whether a wave's
//! resources are done (gitops-engine `getOperationPhase` and the running-task update in
//! `syncContext.Sync`).

use crate::health::{self, HealthOptions, HealthStatusCode};
use crate::object;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Operation and task phases (`status.operationState.phase`, `syncResult.resources[].hookPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperationPhase {
    /// In progress.
    Running,
    /// Being terminated.
    Terminating,
    /// Finished unsuccessfully (a resource or hook failed).
    Failed,
    /// Finished because of an error in the controller.
    Error,
    /// Finished successfully.
    Succeeded,
}

impl OperationPhase {
    /// Argo CD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationPhase::Running => "Running",
            OperationPhase::Terminating => "Terminating",
            OperationPhase::Failed => "Failed",
            OperationPhase::Error => "Error",
            OperationPhase::Succeeded => "Succeeded",
        }
    }

    /// Whether the phase is final.
    pub fn completed(self) -> bool {
        matches!(
            self,
            OperationPhase::Failed | OperationPhase::Error | OperationPhase::Succeeded
        )
    }
}

/// Phase and message of a hook from its live object: Healthy → Succeeded, Progressing or
/// Suspended → Running, Degraded or Unknown → Failed (health message as message); a kind
/// without health succeeds with `<name> created`.
pub fn hook_phase(live: &Value, opts: &HealthOptions) -> (OperationPhase, String) {
    match health::resource_health_with(live, opts) {
        None => (
            OperationPhase::Succeeded,
            format!("{} created", object::name(live)),
        ),
        Some(h) => {
            let phase = match h.status {
                HealthStatusCode::Unknown | HealthStatusCode::Degraded => OperationPhase::Failed,
                HealthStatusCode::Progressing | HealthStatusCode::Suspended => {
                    OperationPhase::Running
                }
                HealthStatusCode::Healthy => OperationPhase::Succeeded,
                // A hook always has a live object here; keep waiting.
                HealthStatusCode::Missing => OperationPhase::Running,
            };
            (phase, h.message)
        }
    }
}

/// Phase of an applied (non-hook) resource in a multi-step sync, from its live object: no
/// health → Succeeded, Healthy → Succeeded, Degraded → Failed (with the health message),
/// anything else → still Running (the next wave waits).
pub fn resource_phase(live: &Value, opts: &HealthOptions) -> (OperationPhase, String) {
    match health::resource_health_with(live, opts) {
        None => (OperationPhase::Succeeded, String::new()),
        Some(h) => match h.status {
            HealthStatusCode::Healthy => (OperationPhase::Succeeded, h.message),
            HealthStatusCode::Degraded => (OperationPhase::Failed, h.message),
            _ => (OperationPhase::Running, h.message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hooks_and_resources() {
        let opts = HealthOptions::default();
        let job = |conds: Value| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
            "status": {"conditions": conds}})
        };
        assert_eq!(
            hook_phase(&job(json!([])), &opts),
            (OperationPhase::Running, String::new())
        );
        assert_eq!(
            hook_phase(
                &job(
                    json!([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}])
                ),
                &opts
            ),
            (OperationPhase::Failed, "BackoffLimitExceeded".to_string())
        );
        assert_eq!(
            hook_phase(&job(json!([{"type": "Complete", "status": "True"}])), &opts).0,
            OperationPhase::Succeeded
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seed"}});
        assert_eq!(
            hook_phase(&cm, &opts),
            (OperationPhase::Succeeded, "seed created".to_string())
        );
        assert_eq!(resource_phase(&cm, &opts).0, OperationPhase::Succeeded);
        let pvc = |phase: &str| {
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"},
            "status": {"phase": phase}})
        };
        assert_eq!(
            resource_phase(&pvc("Pending"), &opts).0,
            OperationPhase::Running
        );
        assert_eq!(
            resource_phase(&pvc("Lost"), &opts).0,
            OperationPhase::Failed
        );
        assert_eq!(
            resource_phase(&pvc("Bound"), &opts).0,
            OperationPhase::Succeeded
        );
        assert!(OperationPhase::Error.completed() && !OperationPhase::Running.completed());
        assert_eq!(OperationPhase::Terminating.as_str(), "Terminating");
    }
}
