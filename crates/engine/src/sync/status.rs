//! Sync status of resources and of the application (Argo CD's `CompareAppState`).

use crate::object::{self, has_annotation_option};
use crate::sync::hooks;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `argocd.argoproj.io/compare-options` annotation (`IgnoreExtraneous`, `ServerSideDiff=…`).
pub const ANNOTATION_COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";

/// Sync status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncStatusCode {
    /// Live equals desired.
    Synced,
    /// Live differs, is missing, or is extraneous.
    OutOfSync,
    /// Comparison failed.
    Unknown,
}

impl SyncStatusCode {
    /// Argo CD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatusCode::Synced => "Synced",
            SyncStatusCode::OutOfSync => "OutOfSync",
            SyncStatusCode::Unknown => "Unknown",
        }
    }
}

/// One compared resource: desired and live objects (either may be absent) and whether the diff
/// found a difference.
#[derive(Debug, Clone, Copy)]
pub struct Compared<'a> {
    /// Desired object.
    pub target: Option<&'a Value>,
    /// Live object.
    pub live: Option<&'a Value>,
    /// `DiffResult::modified` (ignored when one side is absent).
    pub modified: bool,
}

/// Status of one resource: `None` for hooks, ignored hooks and `Skip` resources (they have no
/// sync status and do not affect the app); else Synced or OutOfSync (modified, missing, or
/// extraneous).
pub fn resource_sync_status(c: &Compared<'_>) -> Option<SyncStatusCode> {
    let obj = c.live.or(c.target)?;
    if hooks::is_hook(obj) || hooks::is_ignored(obj) || c.target.is_some_and(hooks::is_skip) {
        return None;
    }
    if c.modified || c.target.is_none() || c.live.is_none() {
        Some(SyncStatusCode::OutOfSync)
    } else {
        Some(SyncStatusCode::Synced)
    }
}

/// Application sync status: OutOfSync when any resource is, except extraneous resources
/// annotated `argocd.argoproj.io/compare-options: IgnoreExtraneous`; Synced otherwise.
pub fn app_sync_status(resources: &[Compared<'_>]) -> SyncStatusCode {
    for c in resources {
        if resource_sync_status(c) != Some(SyncStatusCode::OutOfSync) {
            continue;
        }
        let extraneous = c.target.is_none() && c.live.is_some();
        let ignore = c.live.is_some_and(|l| {
            has_annotation_option(l, ANNOTATION_COMPARE_OPTIONS, "IgnoreExtraneous")
        });
        if !(extraneous && ignore) {
            return SyncStatusCode::OutOfSync;
        }
    }
    SyncStatusCode::Synced
}

/// Whether a live object still needs pruning (no desired object, not a hook).
pub fn requires_pruning(c: &Compared<'_>) -> bool {
    c.target.is_none() && c.live.is_some_and(|l| !hooks::is_hook(l))
}

/// Images of a workload's containers (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
/// CronJob, Pod), for `status.summary.images` and sync results.
pub fn images(obj: &Value) -> Vec<String> {
    let spec = match object::kind(obj) {
        "Pod" => obj.get("spec"),
        "CronJob" => obj.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => obj.pointer("/spec/template/spec"),
    };
    let mut out = Vec::new();
    if let Some(spec) = spec {
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            for c in spec
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(i) = c.get("image").and_then(Value::as_str)
                    && !out.iter().any(|o| o == i)
                {
                    out.push(i.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let hook = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "h",
            "annotations": {"argocd.argoproj.io/hook": "PreSync"}}});
        let extra = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x",
            "annotations": {"argocd.argoproj.io/compare-options": "IgnoreExtraneous"}}});
        fn c<'a>(t: Option<&'a Value>, l: Option<&'a Value>, m: bool) -> Compared<'a> {
            Compared {
                target: t,
                live: l,
                modified: m,
            }
        }
        assert_eq!(
            resource_sync_status(&c(Some(&cm), Some(&cm), false)),
            Some(SyncStatusCode::Synced)
        );
        assert_eq!(
            resource_sync_status(&c(Some(&cm), Some(&cm), true)),
            Some(SyncStatusCode::OutOfSync)
        );
        assert_eq!(
            resource_sync_status(&c(Some(&cm), None, false)),
            Some(SyncStatusCode::OutOfSync)
        );
        assert_eq!(
            resource_sync_status(&c(None, Some(&cm), false)),
            Some(SyncStatusCode::OutOfSync)
        );
        assert_eq!(resource_sync_status(&c(Some(&hook), None, false)), None);
        assert_eq!(
            app_sync_status(&[c(Some(&cm), Some(&cm), false), c(Some(&hook), None, false)]),
            SyncStatusCode::Synced
        );
        assert_eq!(
            app_sync_status(&[c(Some(&cm), Some(&cm), false), c(None, Some(&extra), false)]),
            SyncStatusCode::Synced
        );
        assert_eq!(
            app_sync_status(&[c(None, Some(&cm), false)]),
            SyncStatusCode::OutOfSync
        );
        assert!(requires_pruning(&c(None, Some(&cm), false)));
        assert!(!requires_pruning(&c(None, Some(&hook), false)));
        assert_eq!(SyncStatusCode::OutOfSync.as_str(), "OutOfSync");
    }

    #[test]
    fn workload_images() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "busybox:1.36"}],
            "containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "nginx:1.27"}]}}}});
        assert_eq!(images(&d), vec!["busybox:1.36", "nginx:1.27"]);
        let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "backup:2"}]}}}}}});
        assert_eq!(images(&cj), vec!["backup:2"]);
        assert!(images(&json!({"kind": "ConfigMap"})).is_empty());
    }
}
