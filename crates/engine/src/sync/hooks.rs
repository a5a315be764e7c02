//! Hooks, phases and waves (gitops-engine `pkg/sync/hook`, `hook/helm`, `syncwaves`, `ignore`).

use crate::object::{self, annotation_csv};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// `argocd.argoproj.io/hook`: comma-separated hook types.
pub const ANNOTATION_HOOK: &str = "argocd.argoproj.io/hook";
/// `argocd.argoproj.io/hook-delete-policy`: comma-separated delete policies.
pub const ANNOTATION_HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// `argocd.argoproj.io/sync-wave`: integer wave.
pub const ANNOTATION_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Helm's hook annotation.
pub const ANNOTATION_HELM_HOOK: &str = "helm.sh/hook";
/// Helm's hook weight (used as wave when `sync-wave` is absent).
pub const ANNOTATION_HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// Helm's hook delete policy.
pub const ANNOTATION_HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";

/// Hook types of `argocd.argoproj.io/hook` (and the Helm hooks mapped onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookType {
    /// Before the Sync phase.
    PreSync,
    /// With the normal resources.
    Sync,
    /// After a successful, healthy sync.
    PostSync,
    /// When the sync fails.
    SyncFail,
    /// Never applied.
    Skip,
    /// Before the Application is deleted.
    PreDelete,
    /// After the Application's resources are deleted.
    PostDelete,
}

impl HookType {
    /// Parses Argo CD's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PreSync" => HookType::PreSync,
            "Sync" => HookType::Sync,
            "PostSync" => HookType::PostSync,
            "SyncFail" => HookType::SyncFail,
            "Skip" => HookType::Skip,
            "PreDelete" => HookType::PreDelete,
            "PostDelete" => HookType::PostDelete,
            _ => return None,
        })
    }

    /// Argo CD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HookType::PreSync => "PreSync",
            HookType::Sync => "Sync",
            HookType::PostSync => "PostSync",
            HookType::SyncFail => "SyncFail",
            HookType::Skip => "Skip",
            HookType::PreDelete => "PreDelete",
            HookType::PostDelete => "PostDelete",
        }
    }

    /// Maps a Helm hook (`helm.sh/hook` item) as Argo CD does; `None` for Helm hooks Argo CD
    /// does not run (`test`, `pre-rollback`, …) and for `crd-install`.
    pub fn from_helm(s: &str) -> Option<Self> {
        Some(match s {
            "pre-install" | "pre-upgrade" => HookType::PreSync,
            "post-install" | "post-upgrade" => HookType::PostSync,
            "pre-delete" => HookType::PreDelete,
            "post-delete" => HookType::PostDelete,
            _ => return None,
        })
    }
}

impl fmt::Display for HookType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sync phases in execution order (`SyncFail` only runs when the sync fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SyncPhase {
    /// Hooks before the resources.
    PreSync,
    /// The resources (and `Sync` hooks).
    Sync,
    /// Hooks after everything is healthy.
    PostSync,
    /// Hooks run on failure.
    SyncFail,
}

impl SyncPhase {
    /// Argo CD's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncPhase::PreSync => "PreSync",
            SyncPhase::Sync => "Sync",
            SyncPhase::PostSync => "PostSync",
            SyncPhase::SyncFail => "SyncFail",
        }
    }
}

impl fmt::Display for SyncPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `argocd.argoproj.io/hook-delete-policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookDeletePolicy {
    /// Delete the hook after it succeeded.
    HookSucceeded,
    /// Delete the hook after it failed.
    HookFailed,
    /// Delete the existing hook before creating it again (the default).
    BeforeHookCreation,
}

impl HookDeletePolicy {
    /// Parses Argo CD's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HookSucceeded" => HookDeletePolicy::HookSucceeded,
            "HookFailed" => HookDeletePolicy::HookFailed,
            "BeforeHookCreation" => HookDeletePolicy::BeforeHookCreation,
            _ => return None,
        })
    }

    /// Maps Helm's spelling.
    pub fn from_helm(s: &str) -> Option<Self> {
        Some(match s {
            "hook-succeeded" => HookDeletePolicy::HookSucceeded,
            "hook-failed" => HookDeletePolicy::HookFailed,
            "before-hook-creation" => HookDeletePolicy::BeforeHookCreation,
            _ => return None,
        })
    }
}

/// Hook types of an object: the valid items of `argocd.argoproj.io/hook`, or, only when there
/// are none, the mapped items of `helm.sh/hook`.
pub fn hook_types(obj: &Value) -> Vec<HookType> {
    let mut types: Vec<HookType> = annotation_csv(obj, ANNOTATION_HOOK)
        .iter()
        .filter_map(|s| HookType::parse(s))
        .collect();
    if types.is_empty() {
        for s in annotation_csv(obj, ANNOTATION_HELM_HOOK) {
            if let Some(t) = HookType::from_helm(&s)
                && !types.contains(&t)
            {
                types.push(t);
            }
        }
    }
    types
}

/// Whether the object is a hook: it has `argocd.argoproj.io/hook` (and is not only `Skip`), or
/// it has `helm.sh/hook` other than `crd-install`.
pub fn is_hook(obj: &Value) -> bool {
    if object::annotation(obj, ANNOTATION_HOOK).is_some() {
        return !is_skip(obj);
    }
    matches!(object::annotation(obj, ANNOTATION_HELM_HOOK), Some(v) if v != "crd-install")
}

/// Whether the object is `Skip` (its only hook type): never applied, excluded from health.
pub fn is_skip(obj: &Value) -> bool {
    let types = hook_types(obj);
    types.contains(&HookType::Skip) && types.len() == 1
}

/// gitops-engine's `ignore.Ignore`: a hook with no type ferry runs (a Helm `test` hook, an
/// unknown type); such objects are neither applied nor part of health and sync status.
pub fn is_ignored(obj: &Value) -> bool {
    is_hook(obj) && hook_types(obj).is_empty()
}

/// Delete policies of a hook: Argo CD's, then Helm's mapped ones; `[BeforeHookCreation]` when
/// neither is set.
pub fn delete_policies(obj: &Value) -> Vec<HookDeletePolicy> {
    let mut out: Vec<HookDeletePolicy> = annotation_csv(obj, ANNOTATION_HOOK_DELETE_POLICY)
        .iter()
        .filter_map(|s| HookDeletePolicy::parse(s))
        .collect();
    out.extend(
        annotation_csv(obj, ANNOTATION_HELM_HOOK_DELETE_POLICY)
            .iter()
            .filter_map(|s| HookDeletePolicy::from_helm(s)),
    );
    if out.is_empty() {
        out.push(HookDeletePolicy::BeforeHookCreation);
    }
    out
}

/// Go's `strconv.Atoi`: optional sign, ASCII digits, no spaces.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Sync wave: `argocd.argoproj.io/sync-wave` if it is an integer, else `helm.sh/hook-weight` if
/// it is an integer, else 0.
pub fn wave(obj: &Value) -> i64 {
    if let Some(w) = object::annotation(obj, ANNOTATION_SYNC_WAVE).and_then(atoi) {
        return w;
    }
    object::annotation(obj, ANNOTATION_HELM_HOOK_WEIGHT)
        .and_then(atoi)
        .unwrap_or(0)
}

/// Phases an object runs in: none for `Skip`; for a hook the phases among its types
/// (`PreDelete`/`PostDelete` are not sync phases); `[Sync]` for a normal resource.
pub fn sync_phases(obj: &Value) -> Vec<SyncPhase> {
    if is_skip(obj) {
        return Vec::new();
    }
    if is_hook(obj) {
        let mut phases: Vec<SyncPhase> = hook_types(obj)
            .into_iter()
            .filter_map(|t| match t {
                HookType::PreSync => Some(SyncPhase::PreSync),
                HookType::Sync => Some(SyncPhase::Sync),
                HookType::PostSync => Some(SyncPhase::PostSync),
                HookType::SyncFail => Some(SyncPhase::SyncFail),
                _ => None,
            })
            .collect();
        phases.sort();
        phases.dedup();
        return phases;
    }
    vec![SyncPhase::Sync]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(anns: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "annotations": anns}})
    }

    #[test]
    fn argo_hooks() {
        let o = with(json!({"argocd.argoproj.io/hook": "PreSync,PostSync"}));
        assert!(is_hook(&o));
        assert_eq!(
            sync_phases(&o),
            vec![SyncPhase::PreSync, SyncPhase::PostSync]
        );
        assert_eq!(
            delete_policies(&o),
            vec![HookDeletePolicy::BeforeHookCreation]
        );
        let skip = with(json!({"argocd.argoproj.io/hook": "Skip"}));
        assert!(is_skip(&skip) && !is_hook(&skip) && sync_phases(&skip).is_empty());
        let skip_and_sync = with(json!({"argocd.argoproj.io/hook": "Skip,Sync"}));
        assert!(!is_skip(&skip_and_sync) && is_hook(&skip_and_sync));
        let plain = with(json!({}));
        assert!(!is_hook(&plain));
        assert_eq!(sync_phases(&plain), vec![SyncPhase::Sync]);
    }

    #[test]
    fn helm_hooks_map_like_argo() {
        let o = with(
            json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-5",
            "helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation"}),
        );
        assert!(is_hook(&o));
        assert_eq!(hook_types(&o), vec![HookType::PreSync]);
        assert_eq!(sync_phases(&o), vec![SyncPhase::PreSync]);
        assert_eq!(wave(&o), -5);
        assert_eq!(
            delete_policies(&o),
            vec![
                HookDeletePolicy::HookSucceeded,
                HookDeletePolicy::BeforeHookCreation
            ]
        );
        let post = with(json!({"helm.sh/hook": "post-upgrade, post-install"}));
        assert_eq!(sync_phases(&post), vec![SyncPhase::PostSync]);
        // test hooks: a hook with no phase, ignored entirely
        let test = with(json!({"helm.sh/hook": "test"}));
        assert!(is_hook(&test) && is_ignored(&test) && sync_phases(&test).is_empty());
        // crd-install is a normal resource
        let crd = with(json!({"helm.sh/hook": "crd-install"}));
        assert!(!is_hook(&crd) && !is_ignored(&crd));
        // an Argo hook annotation wins over Helm's
        let both = with(json!({"helm.sh/hook": "pre-install", "argocd.argoproj.io/hook": "Sync"}));
        assert_eq!(sync_phases(&both), vec![SyncPhase::Sync]);
    }

    #[test]
    fn waves() {
        assert_eq!(wave(&with(json!({"argocd.argoproj.io/sync-wave": "3"}))), 3);
        assert_eq!(
            wave(&with(json!({"argocd.argoproj.io/sync-wave": "+2"}))),
            2
        );
        // invalid sync-wave falls back to the Helm weight
        assert_eq!(
            wave(&with(
                json!({"argocd.argoproj.io/sync-wave": " 1", "helm.sh/hook-weight": "7"})
            )),
            7
        );
        assert_eq!(wave(&with(json!({"argocd.argoproj.io/sync-wave": "x"}))), 0);
        assert_eq!(wave(&with(json!({}))), 0);
    }
}
