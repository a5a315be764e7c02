//! Sync options: `spec.syncPolicy.syncOptions` of the app and the per resource annotation
//! `argocd.argoproj.io/sync-options` (comma-separated `Key=Value` items).

use crate::object::{self, annotation_csv};
use serde_json::Value;

/// Per resource sync options annotation.
pub const ANNOTATION_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Helm's resource policy annotation (`keep` = never delete).
pub const ANNOTATION_HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Whether a resource may be pruned / deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemovalPolicy {
    /// Removed normally.
    #[default]
    Allow,
    /// Never removed (`Prune=false` / `Delete=false`).
    Never,
    /// Removed only after approval (`Prune=confirm` / `Delete=confirm`).
    Confirm,
}

/// Deletion propagation for pruning (`PrunePropagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PropagationPolicy {
    /// `foreground` (Argo CD's default).
    #[default]
    Foreground,
    /// `background`.
    Background,
    /// `orphan`.
    Orphan,
}

impl PropagationPolicy {
    /// The Kubernetes `DeleteOptions.propagationPolicy` spelling.
    pub fn as_k8s(self) -> &'static str {
        match self {
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Orphan => "Orphan",
        }
    }
}

/// Parsed sync options. `None` means "not set here" so resource options can override app ones
/// (see [`SyncOptions::overlay`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncOptions {
    /// `Validate=false` disables schema validation.
    pub validate: Option<bool>,
    /// `CreateNamespace=true`.
    pub create_namespace: Option<bool>,
    /// `PrunePropagationPolicy=…`.
    pub prune_propagation_policy: Option<PropagationPolicy>,
    /// `PruneLast=true`.
    pub prune_last: Option<bool>,
    /// `ApplyOutOfSyncOnly=true`.
    pub apply_out_of_sync_only: Option<bool>,
    /// `RespectIgnoreDifferences=true`.
    pub respect_ignore_differences: Option<bool>,
    /// `ServerSideApply=true|false`.
    pub server_side_apply: Option<bool>,
    /// `Replace=true|false`.
    pub replace: Option<bool>,
    /// `Force=true`.
    pub force: Option<bool>,
    /// `SkipDryRunOnMissingResource=true`.
    pub skip_dry_run_on_missing_resource: Option<bool>,
    /// `FailOnSharedResource=true`.
    pub fail_on_shared_resource: Option<bool>,
    /// `ClientSideApplyMigration=true|false`.
    pub client_side_apply_migration: Option<bool>,
    /// `Prune=false|confirm|true` (resource level).
    pub prune: Option<RemovalPolicy>,
    /// `Delete=false|confirm|true` (resource level).
    pub delete: Option<RemovalPolicy>,
    /// Items ferry does not understand, verbatim (to be reported, never silently dropped).
    pub unknown: Vec<String>,
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_removal(v: &str) -> Option<RemovalPolicy> {
    match v {
        "true" => Some(RemovalPolicy::Allow),
        "false" => Some(RemovalPolicy::Never),
        "confirm" => Some(RemovalPolicy::Confirm),
        _ => None,
    }
}

impl SyncOptions {
    /// Parses `Key=Value` items (whitespace around items is trimmed; empty items skipped).
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        let mut o = SyncOptions::default();
        for raw in items {
            let item = raw.trim();
            if item.is_empty() {
                continue;
            }
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            let ok = match k {
                "Validate" => parse_bool(v).map(|b| o.validate = Some(b)),
                "CreateNamespace" => parse_bool(v).map(|b| o.create_namespace = Some(b)),
                "PruneLast" => parse_bool(v).map(|b| o.prune_last = Some(b)),
                "ApplyOutOfSyncOnly" => parse_bool(v).map(|b| o.apply_out_of_sync_only = Some(b)),
                "RespectIgnoreDifferences" => {
                    parse_bool(v).map(|b| o.respect_ignore_differences = Some(b))
                }
                "ServerSideApply" => parse_bool(v).map(|b| o.server_side_apply = Some(b)),
                "Replace" => parse_bool(v).map(|b| o.replace = Some(b)),
                "Force" => parse_bool(v).map(|b| o.force = Some(b)),
                "SkipDryRunOnMissingResource" => {
                    parse_bool(v).map(|b| o.skip_dry_run_on_missing_resource = Some(b))
                }
                "FailOnSharedResource" => {
                    parse_bool(v).map(|b| o.fail_on_shared_resource = Some(b))
                }
                "ClientSideApplyMigration" => {
                    parse_bool(v).map(|b| o.client_side_apply_migration = Some(b))
                }
                "Prune" => parse_removal(v).map(|p| o.prune = Some(p)),
                "Delete" => parse_removal(v).map(|p| o.delete = Some(p)),
                "PrunePropagationPolicy" => match v {
                    "foreground" => Some(PropagationPolicy::Foreground),
                    "background" => Some(PropagationPolicy::Background),
                    "orphan" => Some(PropagationPolicy::Orphan),
                    _ => None,
                }
                .map(|p| o.prune_propagation_policy = Some(p)),
                _ => None,
            };
            if ok.is_none() {
                o.unknown.push(item.to_string());
            }
        }
        o
    }

    /// Options from an object's `argocd.argoproj.io/sync-options` annotation.
    pub fn from_annotation(obj: &Value) -> Self {
        let items = annotation_csv(obj, ANNOTATION_SYNC_OPTIONS);
        SyncOptions::parse(items.iter().map(String::as_str))
    }

    /// `self` with every option set in `over` replaced by `over`'s value (resource over app).
    pub fn overlay(&self, over: &SyncOptions) -> SyncOptions {
        fn pick<T: Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
            b.or(a)
        }
        let mut unknown = self.unknown.clone();
        unknown.extend(over.unknown.iter().cloned());
        SyncOptions {
            validate: pick(self.validate, over.validate),
            create_namespace: pick(self.create_namespace, over.create_namespace),
            prune_propagation_policy: pick(
                self.prune_propagation_policy,
                over.prune_propagation_policy,
            ),
            prune_last: pick(self.prune_last, over.prune_last),
            apply_out_of_sync_only: pick(self.apply_out_of_sync_only, over.apply_out_of_sync_only),
            respect_ignore_differences: pick(
                self.respect_ignore_differences,
                over.respect_ignore_differences,
            ),
            server_side_apply: pick(self.server_side_apply, over.server_side_apply),
            replace: pick(self.replace, over.replace),
            force: pick(self.force, over.force),
            skip_dry_run_on_missing_resource: pick(
                self.skip_dry_run_on_missing_resource,
                over.skip_dry_run_on_missing_resource,
            ),
            fail_on_shared_resource: pick(
                self.fail_on_shared_resource,
                over.fail_on_shared_resource,
            ),
            client_side_apply_migration: pick(
                self.client_side_apply_migration,
                over.client_side_apply_migration,
            ),
            prune: pick(self.prune, over.prune),
            delete: pick(self.delete, over.delete),
            unknown,
        }
    }

    /// Effective options for one resource: the app options overlaid with the object's
    /// annotation (resource wins).
    pub fn for_resource(&self, obj: &Value) -> SyncOptions {
        self.overlay(&SyncOptions::from_annotation(obj))
    }

    /// Schema validation on (default true).
    pub fn validate(&self) -> bool {
        self.validate.unwrap_or(true)
    }
    /// Server-side apply on (default false).
    pub fn server_side_apply(&self) -> bool {
        self.server_side_apply.unwrap_or(false)
    }
    /// Replace instead of apply (default false).
    pub fn replace(&self) -> bool {
        self.replace.unwrap_or(false)
    }
    /// Prune after the last wave (default false).
    pub fn prune_last(&self) -> bool {
        self.prune_last.unwrap_or(false)
    }
    /// Create the destination namespace (default false).
    pub fn create_namespace(&self) -> bool {
        self.create_namespace.unwrap_or(false)
    }
    /// Client-side-apply → SSA manager migration (default true).
    pub fn client_side_apply_migration(&self) -> bool {
        self.client_side_apply_migration.unwrap_or(true)
    }
}

/// Whether a resource may be pruned (`Prune=` option on the live object).
pub fn prune_policy(live: &Value) -> RemovalPolicy {
    SyncOptions::from_annotation(live)
        .prune
        .unwrap_or(RemovalPolicy::Allow)
}

/// Whether a resource may be deleted when its Application is deleted: `Delete=false` or
/// `helm.sh/resource-policy: keep` → never; `Delete=confirm` → after approval.
pub fn deletion_policy(live: &Value) -> RemovalPolicy {
    if let Some(p) = SyncOptions::from_annotation(live).delete {
        return p;
    }
    if object::annotation(live, ANNOTATION_HELM_RESOURCE_POLICY).map(str::trim) == Some("keep") {
        return RemovalPolicy::Never;
    }
    RemovalPolicy::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_app_options_and_reports_unknown() {
        let o = SyncOptions::parse([
            "CreateNamespace=true",
            "ServerSideApply=true",
            "PrunePropagationPolicy=background",
            "Validate=false",
            "Bogus=1",
            "PruneLast=maybe",
        ]);
        assert!(o.create_namespace() && o.server_side_apply() && !o.validate());
        assert_eq!(
            o.prune_propagation_policy,
            Some(PropagationPolicy::Background)
        );
        assert_eq!(o.unknown, vec!["Bogus=1", "PruneLast=maybe"]);
        assert!(!o.prune_last());
    }

    #[test]
    fn resource_annotation_overrides_app() {
        let app = SyncOptions::parse(["ServerSideApply=true", "PruneLast=true"]);
        let obj = json!({"metadata": {"annotations": {
            "argocd.argoproj.io/sync-options": "ServerSideApply=false,Replace=true,Prune=false"}}});
        let eff = app.for_resource(&obj);
        assert!(!eff.server_side_apply());
        assert!(eff.replace());
        assert!(eff.prune_last());
        assert_eq!(eff.prune, Some(RemovalPolicy::Never));
        assert_eq!(prune_policy(&obj), RemovalPolicy::Never);
    }

    #[test]
    fn deletion_policies() {
        let keep = json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}});
        assert_eq!(deletion_policy(&keep), RemovalPolicy::Never);
        let confirm = json!({"metadata": {"annotations": {
            "argocd.argoproj.io/sync-options": "Delete=confirm"}}});
        assert_eq!(deletion_policy(&confirm), RemovalPolicy::Confirm);
        assert_eq!(deletion_policy(&json!({})), RemovalPolicy::Allow);
        assert_eq!(prune_policy(&json!({})), RemovalPolicy::Allow);
    }
}
