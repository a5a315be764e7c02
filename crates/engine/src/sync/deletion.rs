//! Cascading deletion of an Application's resources (Argo CD's `finalizeApplicationDeletion`):
//! which finalizer asks for it, which live objects are deleted (never CRDs, the Application
//! itself, `Delete=false` or `helm.sh/resource-policy: keep`), in reverse sync-wave order one
//! wave at a time, waiting for objects already being deleted.

use crate::object::{self, ResourceKey};
use crate::sync::hooks;
use crate::sync::options::{PropagationPolicy, RemovalPolicy, deletion_policy};
use serde_json::Value;

/// Finalizer for cascading deletion with foreground propagation.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Same, spelled explicitly.
pub const RESOURCES_FINALIZER_FOREGROUND: &str =
    "resources-finalizer.argocd.argoproj.io/foreground";
/// Cascading deletion with background propagation.
pub const RESOURCES_FINALIZER_BACKGROUND: &str =
    "resources-finalizer.argocd.argoproj.io/background";

/// The cascade requested by an Application's finalizers; `None` = deleting the Application
/// leaves its resources in place.
pub fn cascade_policy(finalizers: &[String]) -> Option<PropagationPolicy> {
    if finalizers
        .iter()
        .any(|f| f == RESOURCES_FINALIZER_BACKGROUND)
    {
        Some(PropagationPolicy::Background)
    } else if finalizers
        .iter()
        .any(|f| f == RESOURCES_FINALIZER || f == RESOURCES_FINALIZER_FOREGROUND)
    {
        Some(PropagationPolicy::Foreground)
    } else {
        None
    }
}

/// The next step of deleting an application's resources.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletionStep<'a> {
    /// Objects are still being deleted; check again later.
    Wait(usize),
    /// Objects with `Delete=confirm` wait for approval; nothing is deleted until then.
    AwaitConfirmation(Vec<ResourceKey>),
    /// Delete these objects now (the highest remaining sync wave).
    Delete(Vec<&'a Value>),
    /// Nothing left to delete: remove the finalizer.
    Done,
}

/// Whether a live object is deleted with its Application (`self_key` = the Application).
pub fn should_be_deleted(obj: &Value, self_key: Option<&ResourceKey>) -> bool {
    let is_crd = object::group(obj) == "apiextensions.k8s.io"
        && object::kind(obj) == "CustomResourceDefinition";
    !is_crd
        && self_key.is_none_or(|k| ResourceKey::of(obj) != *k)
        && deletion_policy(obj) != RemovalPolicy::Never
}

/// Decides the next deletion step for the app's managed live objects.
pub fn next_step<'a>(
    live: &'a [Value],
    self_key: Option<&ResourceKey>,
    confirmed: bool,
) -> DeletionStep<'a> {
    let candidates: Vec<&Value> = live
        .iter()
        .filter(|o| should_be_deleted(o, self_key))
        .collect();
    let pending = candidates.iter().filter(|o| object::is_deleting(o)).count();
    if pending > 0 {
        return DeletionStep::Wait(pending);
    }
    if !confirmed {
        let needs: Vec<ResourceKey> = candidates
            .iter()
            .filter(|o| deletion_policy(o) == RemovalPolicy::Confirm)
            .map(|o| ResourceKey::of(o))
            .collect();
        if !needs.is_empty() {
            return DeletionStep::AwaitConfirmation(needs);
        }
    }
    let Some(top) = candidates.iter().map(|o| hooks::wave(o)).max() else {
        return DeletionStep::Done;
    };
    DeletionStep::Delete(
        candidates
            .into_iter()
            .filter(|o| hooks::wave(o) == top)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: &str, name: &str, anns: Value) -> Value {
        json!({"apiVersion": if kind == "CustomResourceDefinition" { "apiextensions.k8s.io/v1" } else { "v1" },
            "kind": kind, "metadata": {"name": name, "namespace": "web", "annotations": anns}})
    }

    #[test]
    fn finalizers() {
        assert_eq!(
            cascade_policy(&[RESOURCES_FINALIZER.into()]),
            Some(PropagationPolicy::Foreground)
        );
        assert_eq!(
            cascade_policy(&[RESOURCES_FINALIZER_BACKGROUND.into()]),
            Some(PropagationPolicy::Background)
        );
        assert_eq!(cascade_policy(&["other".into()]), None);
    }

    #[test]
    fn waves_keep_and_confirmation() {
        let live = vec![
            obj("ConfigMap", "w0", json!({})),
            obj("Secret", "w2", json!({"argocd.argoproj.io/sync-wave": "2"})),
            obj(
                "ConfigMap",
                "kept",
                json!({"argocd.argoproj.io/sync-options": "Delete=false", "argocd.argoproj.io/sync-wave": "9"}),
            ),
            obj(
                "ConfigMap",
                "helm",
                json!({"helm.sh/resource-policy": "keep", "argocd.argoproj.io/sync-wave": "9"}),
            ),
            obj(
                "CustomResourceDefinition",
                "widgets.example.com",
                json!({"argocd.argoproj.io/sync-wave": "9"}),
            ),
        ];
        let DeletionStep::Delete(batch) = next_step(&live, None, false) else {
            panic!("expected delete")
        };
        assert_eq!(
            batch.iter().map(|o| object::name(o)).collect::<Vec<_>>(),
            vec!["w2"]
        );
        // the wave is being deleted: wait
        let mut deleting = live.clone();
        deleting[1]["metadata"]["deletionTimestamp"] = json!("2026-11-23T02:00:00Z");
        assert_eq!(next_step(&deleting, None, false), DeletionStep::Wait(1));
        // then the next wave
        let rest: Vec<Value> = live
            .iter()
            .filter(|o| object::name(o) != "w2")
            .cloned()
            .collect();
        let DeletionStep::Delete(batch) = next_step(&rest, None, false) else {
            panic!("expected delete")
        };
        assert_eq!(
            batch.iter().map(|o| object::name(o)).collect::<Vec<_>>(),
            vec!["w0"]
        );
        // only kept objects remain
        let kept: Vec<Value> = live[2..].to_vec();
        assert_eq!(next_step(&kept, None, false), DeletionStep::Done);
        // confirmation
        let ask = vec![obj(
            "ConfigMap",
            "ask",
            json!({"argocd.argoproj.io/sync-options": "Delete=confirm"}),
        )];
        assert_eq!(
            next_step(&ask, None, false),
            DeletionStep::AwaitConfirmation(vec![ResourceKey::new("", "ConfigMap", "web", "ask")])
        );
        assert!(matches!(
            next_step(&ask, None, true),
            DeletionStep::Delete(_)
        ));
        // the app itself is never deleted by its own cascade
        let me = ResourceKey::new("", "ConfigMap", "web", "ask");
        assert_eq!(next_step(&ask, Some(&me), true), DeletionStep::Done);
    }
}
