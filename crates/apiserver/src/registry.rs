//! The set of served resource types: built-in kinds plus those defined by CRDs.

use std::sync::{Arc, RwLock};

use serde_json::Value;

/// Where a resource keeps its replica count (scale subresource).
#[derive(Debug, Clone)]
pub struct ScalePaths {
    /// JSON path of the desired replicas, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// JSON path of the observed replicas.
    pub status_replicas: String,
    /// JSON path of the label selector (string or LabelSelector), if any.
    pub label_selector: Option<String>,
}

/// A CRD's per-resource data.
#[derive(Debug, Clone)]
pub struct CrdInfo {
    /// Served versions with their structural schema and printer columns, preferred first.
    pub versions: Vec<CrdVersion>,
    /// Name of the storage version.
    pub storage_version: String,
    /// `spec.conversion.strategy: Webhook`: ferry cannot call the webhook, so requests at
    /// any version other than the storage version fail as with an unreachable webhook.
    pub webhook_conversion: bool,
}

/// One served version of a CRD.
#[derive(Debug, Clone)]
pub struct CrdVersion {
    /// Version name.
    pub name: String,
    /// `openAPIV3Schema`, if given.
    pub schema: Option<Value>,
    /// `additionalPrinterColumns`.
    pub printer_columns: Vec<Value>,
    /// Status subresource enabled.
    pub status: bool,
    /// Scale subresource.
    pub scale: Option<ScalePaths>,
}

/// A served resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Singular resource name.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Has a status subresource (writes to the main resource ignore `.status`).
    pub status: bool,
    /// Scale subresource.
    pub scale: Option<ScalePaths>,
    /// Defined by a CRD.
    pub crd: Option<Arc<CrdInfo>>,
}

impl ResourceType {
    /// Storage key (`group/plural`).
    pub fn key(&self) -> String {
        if self.group == "events.k8s.io" {
            // events.k8s.io/v1 Events are another view of the core/v1 Events.
            return "/events".into();
        }
        format!("{}/{}", self.group, self.plural)
    }
    /// `group/version` (or `v1` for core) of the preferred version.
    pub fn api_version(&self) -> String {
        gv(&self.group, &self.versions[0])
    }
    /// `plural.group` or `plural`.
    pub fn qualified(&self) -> String {
        crate::error::qualified(&self.group, &self.plural)
    }
    /// Whether writes bump `metadata.generation`.
    pub fn has_generation(&self) -> bool {
        self.status || self.crd.is_some() || self.group == "apiextensions.k8s.io"
    }
    /// The CRD version entry for `version`.
    pub fn crd_version(&self, version: &str) -> Option<&CrdVersion> {
        self.crd
            .as_ref()?
            .versions
            .iter()
            .find(|v| v.name == version)
    }
}

/// `group/version`, or `version` for the core group.
pub fn gv(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn scale_default() -> Option<ScalePaths> {
    Some(ScalePaths {
        spec_replicas: ".spec.replicas".into(),
        status_replicas: ".status.replicas".into(),
        label_selector: Some(".spec.selector".into()),
    })
}

/// Built-in kinds: (group, version, kind, plural, namespaced, shortNames, categories, status, scale).
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
    bool,
    bool,
);

const BUILTINS: &[Builtin] = &[
    // group, version, kind, plural, namespaced, short names, in "all", status, scale
    (
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        &["ns"],
        false,
        true,
        false,
    ),
    ("", "v1", "Pod", "pods", true, &["po"], true, true, false),
    (
        "",
        "v1",
        "Service",
        "services",
        true,
        &["svc"],
        true,
        true,
        false,
    ),
    (
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        true,
        &["cm"],
        false,
        false,
        false,
    ),
    (
        "",
        "v1",
        "Secret",
        "secrets",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        false,
        false,
        false,
    ),
    (
        "",
        "v1",
        "Endpoints",
        "endpoints",
        true,
        &["ep"],
        false,
        false,
        false,
    ),
    (
        "",
        "v1",
        "Event",
        "events",
        true,
        &["ev"],
        false,
        false,
        false,
    ),
    (
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "Node",
        "nodes",
        false,
        &["no"],
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
        &["rc"],
        true,
        true,
        true,
    ),
    (
        "",
        "v1",
        "LimitRange",
        "limitranges",
        true,
        &["limits"],
        false,
        false,
        false,
    ),
    (
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "PodTemplate",
        "podtemplates",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["rs"],
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["ds"],
        true,
        true,
        false,
    ),
    (
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        &[],
        false,
        false,
        false,
    ),
    ("batch", "v1", "Job", "jobs", true, &[], true, true, false),
    (
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        true,
        &["cj"],
        true,
        true,
        false,
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
        true,
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
        false,
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        false,
        true,
        false,
    ),
    (
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        false,
        true,
        false,
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
        false,
        false,
        false,
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
        &["pc"],
        false,
        false,
        false,
    ),
    (
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        &[],
        false,
        false,
        false,
    ),
];

/// Group order for discovery (upstream lists core-adjacent groups first).
pub const GROUP_ORDER: &[&str] = &[
    "apps",
    "batch",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "policy",
    "coordination.k8s.io",
    "events.k8s.io",
    "apiextensions.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "discovery.k8s.io",
    "admissionregistration.k8s.io",
];

/// All served resource types. Built-ins are fixed; CRD-defined types come and go.
pub struct Registry {
    types: RwLock<Vec<Arc<ResourceType>>>,
    generation: std::sync::atomic::AtomicU64,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// The built-in types.
    pub fn new() -> Registry {
        let types = BUILTINS
            .iter()
            .map(
                |&(group, version, kind, plural, namespaced, short, all, status, scale)| {
                    Arc::new(ResourceType {
                        group: group.into(),
                        versions: match (group, kind) {
                            // Stored as v2; v1 is converted (`kubectl autoscale` posts v1).
                            ("autoscaling", "HorizontalPodAutoscaler") => {
                                vec![version.into(), "v1".into()]
                            }
                            _ => vec![version.into()],
                        },
                        kind: kind.into(),
                        plural: plural.into(),
                        singular: kind.to_lowercase(),
                        namespaced,
                        short_names: short.iter().map(|s| s.to_string()).collect(),
                        categories: if all { vec!["all".into()] } else { Vec::new() },
                        status,
                        scale: if scale { scale_default() } else { None },
                        crd: None,
                    })
                },
            )
            .collect();
        Registry {
            types: RwLock::new(types),
            generation: Default::default(),
        }
    }

    /// A counter that changes whenever the set of types changes (for OpenAPI/discovery hashes).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every type.
    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        match self.types.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The type served at `group/version/plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all().into_iter().find(|t| {
            t.group == group && t.plural == plural && t.versions.iter().any(|v| v == version)
        })
    }

    /// The type with `group` and `kind`.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .into_iter()
            .find(|t| t.group == group && t.kind == kind)
    }

    /// The type whose storage key is `key`.
    pub fn by_key(&self, key: &str) -> Option<Arc<ResourceType>> {
        self.all().into_iter().find(|t| t.key() == key)
    }

    /// Adds or replaces a CRD-defined type (keyed by group + plural).
    pub fn upsert_crd(&self, t: ResourceType) {
        let mut types = match self.types.write() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        types.retain(|x| !(x.crd.is_some() && x.group == t.group && x.plural == t.plural));
        types.push(Arc::new(t));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Removes a CRD-defined type.
    pub fn remove_crd(&self, group: &str, plural: &str) {
        let mut types = match self.types.write() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        types.retain(|x| !(x.crd.is_some() && x.group == group && x.plural == plural));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Groups with their versions, in discovery order (core excluded).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let all = self.all();
        let mut names: Vec<String> = GROUP_ORDER.iter().map(|s| s.to_string()).collect();
        for t in &all {
            if !t.group.is_empty() && !names.contains(&t.group) {
                names.push(t.group.clone());
            }
        }
        for g in names {
            let mut versions: Vec<String> = Vec::new();
            for t in all.iter().filter(|t| t.group == g) {
                for v in &t.versions {
                    if !versions.contains(v) {
                        versions.push(v.clone());
                    }
                }
            }
            if !versions.is_empty() {
                out.push((g, versions));
            }
        }
        out
    }
}
