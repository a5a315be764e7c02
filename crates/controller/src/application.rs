//! The `argoproj.io/v1alpha1` `Application` resource: serde types for `spec`, `operation` and
//! `status` with Argo CD's JSON field names, parsing that reports what ferry does not support,
//! and spec validation.
//!
//! Every struct keeps fields it does not know in an `extra` map (`#[serde(flatten)]`), so an
//! Application read and written back loses nothing, and [`Application::unsupported`] lists
//! them (never silently ignored).

use engine::sync::options::SyncOptions;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// API group.
pub const GROUP: &str = "argoproj.io";
/// API version.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` value.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";
/// Kind.
pub const KIND: &str = "Application";
/// Resource (plural) name.
pub const PLURAL: &str = "applications";
/// The in-cluster destination server.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
/// The in-cluster destination name.
pub const IN_CLUSTER_NAME: &str = "in-cluster";
/// Default `revisionHistoryLimit`.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i64 = 10;

/// Condition type for spec errors (the app is not reconciled while it has one).
pub const CONDITION_INVALID_SPEC: &str = "InvalidSpecError";
/// Condition type of errors Argo CD reports as `UnknownError` (e.g. a project the app's namespace
/// may not use).
pub const CONDITION_UNKNOWN_ERROR: &str = "UnknownError";
/// Condition type for fields ferry reads but does not honour, and unknown fields.
pub const CONDITION_UNSUPPORTED: &str = "UnsupportedFieldWarning";

/// Unknown fields, kept verbatim.
pub type Extra = Map<String, Value>;

fn is_false(b: &bool) -> bool {
    !*b
}

/// An Application that could not be read at all.
#[derive(Debug, Error)]
pub enum ApplicationError {
    /// A field has the wrong type or a required field is missing.
    #[error("invalid Application {name}: field {path}: {message}")]
    Invalid {
        /// `namespace/name` when readable, else `?`.
        name: String,
        /// Path of the offending field (`spec.syncPolicy.retry.limit`).
        path: String,
        /// What serde reported.
        message: String,
    },
}

/// Object metadata (the fields the controller uses; the rest is kept in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Resource version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Finalizers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Deletion timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    /// Other metadata (creationTimestamp, managedFields, ownerReferences, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `argoproj.io/v1alpha1` `Application`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `argoproj.io/v1alpha1`.
    #[serde(default)]
    pub api_version: String,
    /// `Application`.
    #[serde(default)]
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: ApplicationSpec,
    /// A requested operation (sync); top level, not under spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Observed state.
    #[serde(default)]
    pub status: ApplicationStatus,
    /// Unknown top-level fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// Single source (ignored when `sources` is non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Multiple sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Where to deploy.
    #[serde(default)]
    pub destination: ApplicationDestination,
    /// AppProject name (required).
    #[serde(default)]
    pub project: String,
    /// Automation and options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Differences not counted as OutOfSync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// UI information.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<Info>,
    /// History entries kept (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Source hydrator (not supported by ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hydrator: Option<Value>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.source` / `spec.sources[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// Git or Helm repository URL.
    #[serde(rename = "repoURL", default)]
    pub repo_url: String,
    /// Directory in the repository (`.` = root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Branch, tag, commit, `HEAD`, or chart version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Helm chart name (Helm repositories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Name other sources use as `$ref` in value files.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Helm options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ApplicationSourceHelm>,
    /// Directory options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Kustomize options (not supported by ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Value>,
    /// Config management plugin (not supported by ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<Value>,
    /// Tag prefix for semver revisions (not supported by ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix: Option<Value>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a source is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// Helm chart.
    Helm,
    /// Kustomize (not supported by ferry).
    Kustomize,
    /// Plain manifests.
    Directory,
    /// Config management plugin (not supported by ferry).
    Plugin,
}

impl ApplicationSource {
    /// Source type from explicit blocks (`helm`, `kustomize`, `directory`, `plugin`) or
    /// `chart`; `None` when it depends on the repository content (Chart.yaml → Helm, else
    /// Directory).
    pub fn explicit_type(&self) -> Option<SourceType> {
        if self.helm.is_some() || self.chart.is_some() {
            Some(SourceType::Helm)
        } else if self.kustomize.is_some() {
            Some(SourceType::Kustomize)
        } else if self.plugin.is_some() {
            Some(SourceType::Plugin)
        } else if self.directory.is_some() {
            Some(SourceType::Directory)
        } else {
            None
        }
    }

    /// Whether this is a Helm repository (chart) source rather than a git source.
    pub fn is_helm_repo(&self) -> bool {
        self.chart.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// `targetRevision`, `HEAD` when empty.
    pub fn revision(&self) -> &str {
        match self.target_revision.as_deref() {
            None | Some("") => "HEAD",
            Some(r) => r,
        }
    }

    /// `path` normalised: `None`/empty/`/` → `.`; leading `./` and trailing `/` removed.
    pub fn source_path(&self) -> String {
        let p = self.path.as_deref().unwrap_or("").trim();
        let p = p.trim_start_matches("./").trim_matches('/');
        if p.is_empty() { ".".into() } else { p.into() }
    }

    /// Whether this source is only a `ref` provider (has `ref`, no `path`, no `chart`).
    pub fn is_ref_only(&self) -> bool {
        self.ref_.is_some()
            && self.path.as_deref().is_none_or(str::is_empty)
            && self.chart.is_none()
    }
}

/// `helm` block of a source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceHelm {
    /// Value files, in order (see [`crate::valuefiles`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// Inline values (YAML text); ignored when `valuesObject` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Inline values as an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_object: Option<Value>,
    /// `--set` / `--set-string` parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<HelmParameter>,
    /// `--set-file` parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_parameters: Vec<HelmFileParameter>,
    /// Release name (default: the app name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Skip missing value files instead of failing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_missing_value_files: bool,
    /// Do not include CRDs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_crds: bool,
    /// `--skip-tests`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_tests: bool,
    /// `--skip-schema-validation`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_schema_validation: bool,
    /// Release namespace (default: destination namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `--kube-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// `--api-versions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// Helm major version (`v3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Pass repository credentials to all domains.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pass_credentials: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApplicationSourceHelm {
    /// Effective inline values: `valuesObject` when set (then `values` is ignored entirely),
    /// else `values` parsed by the caller. Returns which one applies.
    pub fn inline_values(&self) -> InlineValues<'_> {
        match (&self.values_object, &self.values) {
            (Some(v), _) if !v.is_null() => InlineValues::Object(v),
            (_, Some(s)) if !s.trim().is_empty() => InlineValues::Yaml(s),
            _ => InlineValues::None,
        }
    }
}

/// Which inline values a Helm source uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InlineValues<'a> {
    /// None.
    None,
    /// `values` (YAML text).
    Yaml(&'a str),
    /// `valuesObject`.
    Object(&'a Value),
}

/// `helm.parameters[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// Key (`a.b[0].c`).
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
    /// `--set-string` instead of `--set`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_string: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `helm.fileParameters[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmFileParameter {
    /// Key.
    #[serde(default)]
    pub name: String,
    /// File path (same resolution as value files).
    #[serde(default)]
    pub path: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `directory` block of a source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceDirectory {
    /// Recurse into subdirectories.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recurse: bool,
    /// Glob of files to include (`{a,b}` for several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Glob of files to exclude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// Jsonnet options (not supported by ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<Value>,
    /// Consider all files, not only `.yaml .yml .json`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_extension_filter: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.destination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// API server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace for namespaced resources without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApplicationDestination {
    /// The destination namespace (`""` when unset).
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    /// Whether this is the cluster ferry runs in.
    pub fn is_in_cluster(&self) -> bool {
        match (self.server.as_deref(), self.name.as_deref()) {
            (Some(s), _) if !s.is_empty() => s.trim_end_matches('/') == IN_CLUSTER_SERVER,
            (_, Some(n)) if !n.is_empty() => n == IN_CLUSTER_NAME,
            _ => false,
        }
    }
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Auto-sync settings; present = on (unless `enabled: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// App-level sync options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Retry on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels/annotations for a namespace created by `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `syncPolicy.automated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// `null` counts as true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Allow deleting resources.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prune: bool,
    /// Re-sync when only the live state drifted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub self_heal: bool,
    /// Allow a sync that prunes everything.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_empty: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `retry` (in syncPolicy and operation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Retries after failure (`< 0` unlimited, 0 none).
    #[serde(default)]
    pub limit: i64,
    /// Backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Retry with the latest revision.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refresh: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RetryStrategy {
    /// Delay before retry `retry_count` (0-based), Argo CD's formula.
    pub fn delay(
        &self,
        retry_count: u32,
    ) -> Result<std::time::Duration, engine::sync::retry::DurationError> {
        let b = self.backoff.as_ref();
        engine::sync::retry::retry_delay(
            &engine::sync::retry::Backoff {
                duration: b.and_then(|b| b.duration.as_deref()),
                factor: b.and_then(|b| b.factor),
                max_duration: b.and_then(|b| b.max_duration.as_deref()),
            },
            retry_count,
        )
    }

    /// Whether another retry is allowed after `retry_count` retries.
    pub fn may_retry(&self, retry_count: u32) -> bool {
        engine::sync::retry::may_retry(self.limit, retry_count)
    }
}

/// `retry.backoff`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// Base duration (`5s`, or seconds as a number string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Multiplier per retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `syncPolicy.managedNamespaceMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedNamespaceMetadata {
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.ignoreDifferences[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// Group (`*` any).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Kind (required, `*` any).
    #[serde(default)]
    pub kind: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// JSON pointers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// jq path expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    /// Field managers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResourceIgnoreDifferences {
    /// The engine's rule.
    pub fn to_engine(&self) -> engine::diff::IgnoreDifference {
        engine::diff::IgnoreDifference {
            group: self.group.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            json_pointers: self.json_pointers.clone(),
            jq_path_expressions: self.jq_path_expressions.clone(),
            managed_fields_managers: self.managed_fields_managers.clone(),
        }
    }
}

/// `{name, value}` pairs (`spec.info`, `operation.info`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// `operation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The sync to perform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Extra information.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<Info>,
    /// Retry for this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `operation.initiatedBy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationInitiator {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Started by auto-sync.
    #[serde(default, skip_serializing_if = "is_false")]
    pub automated: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `operation.sync`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Revision (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions (multi-source).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Prune allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prune: bool,
    /// Dry run.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Apply or hook strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_strategy: Option<SyncStrategy>,
    /// Selective sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<SyncOperationResource>,
    /// Options for this sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Source override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Local manifests (not supported by ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Value>,
    /// Self-heal attempts so far (auto-sync bookkeeping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal_attempts_count: Option<i64>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `operation.sync.syncStrategy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategy {
    /// Apply only (no hooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<SyncStrategyForce>,
    /// Apply with hooks (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<SyncStrategyForce>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{force}` of a sync strategy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStrategyForce {
    /// Force apply.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `operation.sync.resources[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncOperationResource {
    /// Group.
    #[serde(default)]
    pub group: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SyncOperationResource {
    /// Whether a resource key is selected (empty namespace matches any).
    pub fn matches(&self, key: &engine::ResourceKey) -> bool {
        self.group == key.group
            && self.kind == key.kind
            && self.name == key.name
            && (self.namespace.is_empty() || self.namespace == key.namespace)
    }
}

/// `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Managed resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// Sync status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
    /// Health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<AppHealthStatus>,
    /// Deployment history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RevisionHistory>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApplicationCondition>,
    /// Last comparison with git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<String>,
    /// Current/last operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// `Helm`, `Directory`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Per source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_types: Vec<String>,
    /// Summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ApplicationSummary>,
    /// `appTree` or `inline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_health_source: Option<String>,
    /// Namespace of the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_namespace: Option<String>,
    /// Unknown fields (kept; not reported: status is written by controllers).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApplicationStatus {
    /// Appends a history entry (id = last id + 1, from 0) and keeps the newest `limit`
    /// entries (`limit <= 0` keeps none), as Argo CD does after a successful sync.
    pub fn push_history(&mut self, mut entry: RevisionHistory, limit: i64) {
        entry.id = self.history.last().map_or(0, |h| h.id + 1);
        self.history.push(entry);
        let keep = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
        if self.history.len() > keep {
            let drop = self.history.len() - keep;
            self.history.drain(..drop);
        }
    }
}

/// `status.sync`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `Synced`, `OutOfSync` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// What the comparison used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
    /// Resolved revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Resolved revisions (multi-source).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.sync.comparedTo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    /// Source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Destination.
    #[serde(default)]
    pub destination: ApplicationDestination,
    /// Ignore rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppHealthStatus {
    /// Health status code.
    #[serde(default)]
    pub status: String,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// Resource health (`status.resources[].health`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceHealth {
    /// Health status code.
    #[serde(default)]
    pub status: String,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<&engine::health::HealthStatus> for ResourceHealth {
    fn from(h: &engine::health::HealthStatus) -> Self {
        ResourceHealth {
            status: h.status.as_str().into(),
            message: (!h.message.is_empty()).then(|| h.message.clone()),
        }
    }
}

/// `status.resources[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// Group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `Synced` / `OutOfSync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<ResourceHealth>,
    /// Is a hook.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hook: bool,
    /// Live but no longer desired.
    #[serde(default, skip_serializing_if = "is_false")]
    pub requires_pruning: bool,
    /// Sync wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
    /// Deletion waits for approval.
    #[serde(default, skip_serializing_if = "is_false")]
    pub requires_deletion_confirmation: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.history[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    /// Sequence number.
    #[serde(default)]
    pub id: i64,
    /// Revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Finished at.
    #[serde(default)]
    pub deployed_at: String,
    /// Started at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<String>,
    /// Source used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Who started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.conditions[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    /// Type (`InvalidSpecError`, `ComparisonError`, …).
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// When it appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

impl ApplicationCondition {
    /// A condition without a timestamp (the controller stamps it).
    pub fn new(type_: &str, message: impl Into<String>) -> Self {
        ApplicationCondition {
            type_: type_.into(),
            message: message.into(),
            last_transition_time: None,
        }
    }

    /// Whether the type is an error (ends with `Error`) rather than a warning.
    pub fn is_error(&self) -> bool {
        self.type_.ends_with("Error")
    }
}

/// `status.operationState`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// Copy of the operation.
    #[serde(default)]
    pub operation: Operation,
    /// `Running`, `Terminating`, `Failed`, `Error`, `Succeeded`.
    #[serde(default)]
    pub phase: String,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// Start.
    #[serde(default)]
    pub started_at: String,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Retries so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OperationState {
    /// Whether the phase is final (`Succeeded`, `Failed`, `Error`).
    pub fn completed(&self) -> bool {
        matches!(self.phase.as_str(), "Succeeded" | "Failed" | "Error")
    }
}

/// `operationState.syncResult`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    /// Per resource results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
    /// Revision.
    #[serde(default)]
    pub revision: String,
    /// Revisions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `syncResult.resources[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// Group.
    #[serde(default)]
    pub group: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `Synced`, `SyncFailed`, `Pruned`, `PruneSkipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Hook type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<String>,
    /// Hook phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<String>,
    /// Sync phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<String>,
    /// Images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSummary {
    /// External URLs.
    #[serde(
        rename = "externalURLs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub external_urls: Vec<String>,
    /// Images of child resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Whether the app manages Applications.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_app_of_apps: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Paths of unknown and unsupported fields.
struct Report {
    unknown: Vec<String>,
    unsupported: Vec<String>,
}

impl Report {
    fn extra(&mut self, path: &str, extra: &Extra) {
        for k in extra.keys() {
            self.unknown.push(format!("{path}.{k}"));
        }
    }
    fn unsupported_if(&mut self, path: &str, present: bool) {
        if present {
            self.unsupported.push(path.to_string());
        }
    }
}

fn report_source(r: &mut Report, path: &str, s: &ApplicationSource) {
    r.extra(path, &s.extra);
    r.unsupported_if(&format!("{path}.kustomize"), s.kustomize.is_some());
    r.unsupported_if(&format!("{path}.plugin"), s.plugin.is_some());
    r.unsupported_if(&format!("{path}.tagPrefix"), s.tag_prefix.is_some());
    if let Some(h) = &s.helm {
        r.extra(&format!("{path}.helm"), &h.extra);
        for (i, p) in h.parameters.iter().enumerate() {
            r.extra(&format!("{path}.helm.parameters[{i}]"), &p.extra);
        }
        for (i, p) in h.file_parameters.iter().enumerate() {
            r.extra(&format!("{path}.helm.fileParameters[{i}]"), &p.extra);
        }
        r.unsupported_if(
            &format!("{path}.helm.version"),
            h.version
                .as_deref()
                .is_some_and(|v| !v.is_empty() && v != "v3"),
        );
    }
    if let Some(d) = &s.directory {
        r.extra(&format!("{path}.directory"), &d.extra);
        r.unsupported_if(
            &format!("{path}.directory.jsonnet"),
            d.jsonnet
                .as_ref()
                .is_some_and(|j| j.as_object().is_none_or(|m| !m.is_empty())),
        );
    }
}

fn report_retry(r: &mut Report, path: &str, retry: &RetryStrategy) {
    r.extra(path, &retry.extra);
    if let Some(b) = &retry.backoff {
        r.extra(&format!("{path}.backoff"), &b.extra);
    }
}

impl Application {
    /// Reads an Application from a JSON value. Fails only when a known field has the wrong
    /// type (the error names the field path); unknown fields are kept and listed by
    /// [`Application::unsupported`].
    pub fn from_value(value: &Value) -> Result<Application, ApplicationError> {
        let name = {
            let ns = value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let n = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            if ns.is_empty() {
                n.to_string()
            } else {
                format!("{ns}/{n}")
            }
        };
        serde_path_to_error::deserialize(value).map_err(|e| ApplicationError::Invalid {
            name,
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// The Application as JSON (round-trips unknown fields).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }

    /// The sources to render: `spec.sources` when non-empty, else `spec.source`.
    pub fn sources(&self) -> Vec<&ApplicationSource> {
        if !self.spec.sources.is_empty() {
            self.spec.sources.iter().collect()
        } else {
            self.spec.source.iter().collect()
        }
    }

    /// Whether the app uses `spec.sources`.
    pub fn is_multi_source(&self) -> bool {
        !self.spec.sources.is_empty()
    }

    /// Auto-sync on (`automated` present and `enabled` not false).
    pub fn auto_sync(&self) -> Option<&SyncPolicyAutomated> {
        self.spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
            .filter(|a| a.enabled != Some(false))
    }

    /// App-level sync options (`syncPolicy.syncOptions`).
    pub fn sync_options(&self) -> SyncOptions {
        let items = self
            .spec
            .sync_policy
            .as_ref()
            .map(|p| p.sync_options.as_slice())
            .unwrap_or_default();
        SyncOptions::parse(items.iter().map(String::as_str))
    }

    /// `revisionHistoryLimit` (default 10).
    pub fn revision_history_limit(&self) -> i64 {
        self.spec
            .revision_history_limit
            .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT)
    }

    /// The engine's `ignoreDifferences` rules.
    pub fn ignore_differences(&self) -> Vec<engine::diff::IgnoreDifference> {
        self.spec
            .ignore_differences
            .iter()
            .map(ResourceIgnoreDifferences::to_engine)
            .collect()
    }

    /// Fields in `spec` and `operation` ferry does not know or does not honour, as paths
    /// (`spec.source.kustomize`, `spec.syncPolicy.automated.prun`) — and unknown sync options.
    pub fn unsupported(&self) -> Vec<String> {
        let mut r = Report {
            unknown: Vec::new(),
            unsupported: Vec::new(),
        };
        r.extra("", &self.extra);
        let spec = &self.spec;
        r.extra("spec", &spec.extra);
        r.unsupported_if("spec.sourceHydrator", spec.source_hydrator.is_some());
        if let Some(s) = &spec.source {
            report_source(&mut r, "spec.source", s);
        }
        for (i, s) in spec.sources.iter().enumerate() {
            report_source(&mut r, &format!("spec.sources[{i}]"), s);
        }
        r.extra("spec.destination", &spec.destination.extra);
        if let Some(p) = &spec.sync_policy {
            r.extra("spec.syncPolicy", &p.extra);
            if let Some(a) = &p.automated {
                r.extra("spec.syncPolicy.automated", &a.extra);
            }
            if let Some(retry) = &p.retry {
                report_retry(&mut r, "spec.syncPolicy.retry", retry);
            }
            if let Some(m) = &p.managed_namespace_metadata {
                r.extra("spec.syncPolicy.managedNamespaceMetadata", &m.extra);
            }
            for item in SyncOptions::parse(p.sync_options.iter().map(String::as_str)).unknown {
                r.unsupported
                    .push(format!("spec.syncPolicy.syncOptions: {item}"));
            }
        }
        for (i, d) in spec.ignore_differences.iter().enumerate() {
            r.extra(&format!("spec.ignoreDifferences[{i}]"), &d.extra);
        }
        if let Some(op) = &self.operation {
            r.extra("operation", &op.extra);
            if let Some(i) = &op.initiated_by {
                r.extra("operation.initiatedBy", &i.extra);
            }
            if let Some(retry) = &op.retry {
                report_retry(&mut r, "operation.retry", retry);
            }
            if let Some(s) = &op.sync {
                r.extra("operation.sync", &s.extra);
                r.unsupported_if("operation.sync.manifests", s.manifests.is_some());
                if let Some(st) = &s.sync_strategy {
                    r.extra("operation.sync.syncStrategy", &st.extra);
                }
                for (i, res) in s.resources.iter().enumerate() {
                    r.extra(&format!("operation.sync.resources[{i}]"), &res.extra);
                }
                if let Some(src) = &s.source {
                    report_source(&mut r, "operation.sync.source", src);
                }
                for (i, src) in s.sources.iter().enumerate() {
                    report_source(&mut r, &format!("operation.sync.sources[{i}]"), src);
                }
                for item in SyncOptions::parse(s.sync_options.iter().map(String::as_str)).unknown {
                    r.unsupported
                        .push(format!("operation.sync.syncOptions: {item}"));
                }
            }
        }
        let mut out: Vec<String> = r
            .unknown
            .into_iter()
            .map(|p| format!("{}: unknown field, ignored", p.trim_start_matches('.')))
            .collect();
        out.extend(
            r.unsupported
                .into_iter()
                .map(|p| format!("{p}: not supported by ferry, ignored")),
        );
        out
    }

    /// Spec errors, as Argo CD reports them with `InvalidSpecError`.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let spec = &self.spec;
        if spec.project.is_empty() {
            errs.push("spec.project is required".to_string());
        }
        let sources = self.sources();
        if sources.is_empty() {
            errs.push("spec.source or spec.sources is required".to_string());
        }
        let d = &spec.destination;
        let has_server = d.server.as_deref().is_some_and(|s| !s.is_empty());
        let has_name = d.name.as_deref().is_some_and(|s| !s.is_empty());
        match (has_server, has_name) {
            (true, true) => errs.push(
                "application destination can't have both name and server defined".to_string(),
            ),
            (false, false) => errs.push("Destination server missing from app spec".to_string()),
            _ => {}
        }
        let base = if self.is_multi_source() {
            "spec.sources"
        } else {
            "spec.source"
        };
        let mut refs: Vec<&str> = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            let at = if self.is_multi_source() {
                format!("{base}[{i}]")
            } else {
                base.to_string()
            };
            if s.repo_url.is_empty() {
                errs.push(format!("{at}.repoURL is required"));
            }
            if let Some(r) = s.ref_.as_deref() {
                if s.chart.is_some() {
                    errs.push(format!("{at}: source with ref cannot have a chart"));
                }
                if refs.contains(&r) {
                    errs.push(format!("{at}.ref: duplicate ref {r:?}"));
                }
                refs.push(r);
            }
            let types = [
                s.helm.is_some(),
                s.kustomize.is_some(),
                s.directory.is_some(),
                s.plugin.is_some(),
            ];
            if types.iter().filter(|t| **t).count() > 1 {
                errs.push(format!(
                    "{at}: multiple application sources defined (helm, kustomize, directory, plugin)"
                ));
            }
        }
        for (i, d) in spec.ignore_differences.iter().enumerate() {
            if d.kind.is_empty() {
                errs.push(format!("spec.ignoreDifferences[{i}].kind is required"));
            }
        }
        if let Err(e) = engine::diff::IgnoreDifferences::new(&self.ignore_differences()) {
            errs.push(e.to_string());
        }
        if let Some(retry) = spec.sync_policy.as_ref().and_then(|p| p.retry.as_ref())
            && let Err(e) = retry.delay(0)
        {
            errs.push(format!("spec.syncPolicy.retry.backoff: {e}"));
        }
        errs
    }

    /// All conditions from reading the spec: `InvalidSpecError` for [`Application::validate`]
    /// errors, [`CONDITION_UNSUPPORTED`] for [`Application::unsupported`] fields.
    pub fn spec_conditions(&self) -> Vec<ApplicationCondition> {
        let mut out: Vec<ApplicationCondition> = self
            .validate()
            .into_iter()
            .map(|m| ApplicationCondition::new(CONDITION_INVALID_SPEC, m))
            .collect();
        out.extend(
            self.unsupported()
                .into_iter()
                .map(|m| ApplicationCondition::new(CONDITION_UNSUPPORTED, m)),
        );
        out
    }
}

#[cfg(test)]
mod tests;
