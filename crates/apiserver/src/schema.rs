//! Schemas of the built-in kinds, generated from `k8s-openapi`'s types, enriched with the
//! list/patch extensions of the Kubernetes API (`x-kubernetes-patch-merge-key`,
//! `x-kubernetes-list-type`, ...) that strategic merge patch and server-side apply need.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// (group, version, kind, schema name) of every built-in kind, plus the per-GV definitions.
pub struct Builtins {
    /// Definitions per `group/version` (core = `v1`), each holding what that GV's kinds reach.
    pub per_gv: BTreeMap<String, Map<String, Value>>,
    /// Union of all definitions.
    pub all: Map<String, Value>,
    /// (group, kind) → schema name.
    pub kinds: BTreeMap<(String, String), String>,
}

macro_rules! kinds {
    ($gen:ident, $out:ident, $group:expr, $version:expr, [$($kind:literal => $ty:ty),* $(,)?]) => {{
        $(
            $gen.subschema_for::<$ty>();
            $out.push(($group, $version, $kind, <$ty as JsonSchema>::schema_name().to_string()));
        )*
    }};
}

type KindList = Vec<(&'static str, &'static str, &'static str, String)>;

fn generate() -> Builtins {
    let mut per_gv = BTreeMap::new();
    let mut all = Map::new();
    let mut kinds = BTreeMap::new();
    type AddKinds = fn(&mut SchemaGenerator, &mut KindList);
    let gvs: Vec<(&str, &str, AddKinds)> = vec![
        ("", "v1", |g, o| {
            kinds!(g, o, "", "v1", [
                "Namespace" => api::core::v1::Namespace, "Pod" => api::core::v1::Pod,
                "Service" => api::core::v1::Service, "ConfigMap" => api::core::v1::ConfigMap,
                "Secret" => api::core::v1::Secret, "ServiceAccount" => api::core::v1::ServiceAccount,
                "Endpoints" => api::core::v1::Endpoints, "Event" => api::core::v1::Event,
                "PersistentVolumeClaim" => api::core::v1::PersistentVolumeClaim,
                "PersistentVolume" => api::core::v1::PersistentVolume, "Node" => api::core::v1::Node,
                "ReplicationController" => api::core::v1::ReplicationController,
                "LimitRange" => api::core::v1::LimitRange, "ResourceQuota" => api::core::v1::ResourceQuota,
                "PodTemplate" => api::core::v1::PodTemplate,
                "DeleteOptions" => k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions,
                "Status" => k8s_openapi::apimachinery::pkg::apis::meta::v1::Status,
            ])
        }),
        (
            "events.k8s.io",
            "v1",
            |g, o| kinds!(g, o, "events.k8s.io", "v1", ["Event" => api::events::v1::Event]),
        ),
        ("apps", "v1", |g, o| {
            kinds!(g, o, "apps", "v1", [
                "Deployment" => api::apps::v1::Deployment, "ReplicaSet" => api::apps::v1::ReplicaSet,
                "StatefulSet" => api::apps::v1::StatefulSet, "DaemonSet" => api::apps::v1::DaemonSet,
                "ControllerRevision" => api::apps::v1::ControllerRevision,
            ])
        }),
        (
            "batch",
            "v1",
            |g, o| kinds!(g, o, "batch", "v1", ["Job" => api::batch::v1::Job, "CronJob" => api::batch::v1::CronJob]),
        ),
        ("autoscaling", "v1", |g, o| {
            kinds!(g, o, "autoscaling", "v1", [
                "Scale" => api::autoscaling::v1::Scale,
                "HorizontalPodAutoscaler" => api::autoscaling::v1::HorizontalPodAutoscaler,
            ])
        }),
        (
            "autoscaling",
            "v2",
            |g, o| kinds!(g, o, "autoscaling", "v2", ["HorizontalPodAutoscaler" => api::autoscaling::v2::HorizontalPodAutoscaler]),
        ),
        ("networking.k8s.io", "v1", |g, o| {
            kinds!(g, o, "networking.k8s.io", "v1", [
                "Ingress" => api::networking::v1::Ingress, "IngressClass" => api::networking::v1::IngressClass,
                "NetworkPolicy" => api::networking::v1::NetworkPolicy,
            ])
        }),
        ("rbac.authorization.k8s.io", "v1", |g, o| {
            kinds!(g, o, "rbac.authorization.k8s.io", "v1", [
                "Role" => api::rbac::v1::Role, "RoleBinding" => api::rbac::v1::RoleBinding,
                "ClusterRole" => api::rbac::v1::ClusterRole, "ClusterRoleBinding" => api::rbac::v1::ClusterRoleBinding,
            ])
        }),
        (
            "policy",
            "v1",
            |g, o| kinds!(g, o, "policy", "v1", ["PodDisruptionBudget" => api::policy::v1::PodDisruptionBudget]),
        ),
        (
            "coordination.k8s.io",
            "v1",
            |g, o| kinds!(g, o, "coordination.k8s.io", "v1", ["Lease" => api::coordination::v1::Lease]),
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            |g, o| kinds!(g, o, "apiextensions.k8s.io", "v1", ["CustomResourceDefinition" => apiext::CustomResourceDefinition]),
        ),
        (
            "storage.k8s.io",
            "v1",
            |g, o| kinds!(g, o, "storage.k8s.io", "v1", ["StorageClass" => api::storage::v1::StorageClass]),
        ),
        (
            "scheduling.k8s.io",
            "v1",
            |g, o| kinds!(g, o, "scheduling.k8s.io", "v1", ["PriorityClass" => api::scheduling::v1::PriorityClass]),
        ),
        (
            "discovery.k8s.io",
            "v1",
            |g, o| kinds!(g, o, "discovery.k8s.io", "v1", ["EndpointSlice" => api::discovery::v1::EndpointSlice]),
        ),
        ("admissionregistration.k8s.io", "v1", |g, o| {
            kinds!(g, o, "admissionregistration.k8s.io", "v1", [
                "MutatingWebhookConfiguration" => api::admissionregistration::v1::MutatingWebhookConfiguration,
                "ValidatingWebhookConfiguration" => api::admissionregistration::v1::ValidatingWebhookConfiguration,
            ])
        }),
    ];
    for (group, version, f) in gvs {
        let mut generator = SchemaSettings::openapi3().into_generator();
        let mut list: KindList = Vec::new();
        f(&mut generator, &mut list);
        let mut defs = generator.take_definitions(true);
        for (g, v, kind, name) in &list {
            if let Some(Value::Object(def)) = defs.get_mut(name) {
                def.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!([{"group": g, "version": v, "kind": kind}]),
                );
            }
            kinds.insert((g.to_string(), kind.to_string()), name.clone());
        }
        enrich(&mut defs);
        for (k, v) in &defs {
            all.entry(k.clone()).or_insert_with(|| v.clone());
        }
        per_gv.insert(crate::registry::gv(group, version), defs);
    }
    Builtins { per_gv, all, kinds }
}

/// (definition, field, patch strategy, merge key / list-map keys, list type)
const LIST_RULES: &[(&str, &str, &str, &[&str], &str)] = &[
    (
        "io.k8s.api.core.v1.PodSpec",
        "containers",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "hostAliases",
        "merge",
        &["ip"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        "merge",
        &["topologyKey", "whenUnsatisfiable"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        "merge,retainKeys",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "schedulingGates",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "env",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        "merge",
        &["containerPort", "protocol"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        "merge",
        &["mountPath"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        "merge",
        &["devicePath"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "env",
        "merge",
        &["name"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        "merge",
        &["mountPath"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "ports",
        "merge",
        &["port", "protocol"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "podIPs",
        "merge",
        &["ip"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "addresses",
        "merge",
        &["type"],
        "map",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        "merge",
        &[],
        "set",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        "merge",
        &["uid"],
        "map",
    ),
    (
        "io.k8s.api.core.v1.NodeSpec",
        "podCIDRs",
        "merge",
        &[],
        "set",
    ),
];

/// Adds the list/patch extensions to the generated definitions.
fn enrich(defs: &mut Map<String, Value>) {
    for (def, field, strategy, keys, list_type) in LIST_RULES {
        if let Some(prop) = defs
            .get_mut(*def)
            .and_then(|d| d.pointer_mut(&format!("/properties/{field}")))
        {
            let Some(p) = prop.as_object_mut() else {
                continue;
            };
            p.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
            if let Some(k) = keys.first() {
                p.insert("x-kubernetes-patch-merge-key".into(), json!(k));
                p.insert("x-kubernetes-list-map-keys".into(), json!(keys));
            }
            p.insert("x-kubernetes-list-type".into(), json!(list_type));
        }
    }
    // Conditions of every status are maps keyed by `type`; `strategy` of Deployments and
    // `updateStrategy` of DaemonSets/StatefulSets use retainKeys.
    let names: Vec<String> = defs.keys().cloned().collect();
    for name in names {
        let Some(props) = defs
            .get_mut(&name)
            .and_then(|d| d.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if name.ends_with("Status")
            && let Some(Value::Object(c)) = props.get_mut("conditions")
            && c.get("type").and_then(Value::as_str) == Some("array")
        {
            c.insert("x-kubernetes-patch-strategy".into(), json!("merge"));
            c.insert("x-kubernetes-patch-merge-key".into(), json!("type"));
            c.insert("x-kubernetes-list-type".into(), json!("map"));
            c.insert("x-kubernetes-list-map-keys".into(), json!(["type"]));
        }
        if name == "io.k8s.api.apps.v1.DeploymentSpec"
            && let Some(Value::Object(s)) = props.get_mut("strategy")
        {
            s.insert("x-kubernetes-patch-strategy".into(), json!("retainKeys"));
        }
    }
}

/// The generated built-in schemas (computed once).
pub fn builtins() -> &'static Builtins {
    static B: OnceLock<Builtins> = OnceLock::new();
    B.get_or_init(generate)
}

/// Resolves `$ref` / single-element `allOf` wrappers against `defs`.
pub fn resolve<'a>(defs: &'a Map<String, Value>, mut node: &'a Value) -> &'a Value {
    for _ in 0..8 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r);
            match defs.get(name) {
                Some(d) => node = d,
                None => return node,
            }
        } else if let Some(Value::Array(all)) = node.get("allOf")
            && all.len() == 1
        {
            node = &all[0];
        } else {
            return node;
        }
    }
    node
}

/// A position in a schema, for walking objects alongside their schema.
#[derive(Clone, Copy)]
pub struct SchemaNode<'a> {
    defs: &'a Map<String, Value>,
    /// The raw property node (keeps the field-level extensions before resolving the `$ref`).
    raw: &'a Value,
}

impl<'a> SchemaNode<'a> {
    /// The node for definition `name`.
    pub fn definition(defs: &'a Map<String, Value>, name: &str) -> Option<SchemaNode<'a>> {
        defs.get(name).map(|raw| SchemaNode { defs, raw })
    }
    /// A node for an inline schema (CRDs) with refs resolved in `defs`.
    pub fn inline(defs: &'a Map<String, Value>, raw: &'a Value) -> SchemaNode<'a> {
        SchemaNode { defs, raw }
    }
    /// The resolved schema.
    pub fn resolved(&self) -> &'a Value {
        resolve(self.defs, self.raw)
    }
    /// An extension on the field itself (before or after resolving).
    pub fn ext(&self, name: &str) -> Option<&'a Value> {
        self.raw.get(name).or_else(|| self.resolved().get(name))
    }
    /// The schema of property `name`, or of the map values under `additionalProperties`.
    pub fn field(&self, name: &str) -> Option<SchemaNode<'a>> {
        let r = self.resolved();
        if let Some(p) = r.get("properties").and_then(|p| p.get(name)) {
            return Some(SchemaNode {
                defs: self.defs,
                raw: p,
            });
        }
        match r.get("additionalProperties") {
            Some(ap) if ap.is_object() => Some(SchemaNode {
                defs: self.defs,
                raw: ap,
            }),
            _ => None,
        }
    }
    /// The schema of list items.
    pub fn items(&self) -> Option<SchemaNode<'a>> {
        self.resolved().get("items").map(|raw| SchemaNode {
            defs: self.defs,
            raw,
        })
    }
    /// Does the schema declare properties (a struct) rather than a free map?
    pub fn has_properties(&self) -> bool {
        self.resolved().get("properties").is_some()
    }
    /// Whether unknown fields are preserved here.
    pub fn preserves_unknown(&self) -> bool {
        self.ext("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    /// List semantics: (`atomic`|`set`|`map`, keys).
    pub fn list_type(&self) -> (String, Vec<String>) {
        let t = self
            .ext("x-kubernetes-list-type")
            .and_then(Value::as_str)
            .unwrap_or("atomic")
            .to_string();
        let keys = self
            .ext("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        (t, keys)
    }
    /// Patch strategy and merge key for SMP.
    pub fn patch_strategy(&self) -> (String, Option<String>) {
        let s = self
            .ext("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let k = self
            .ext("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
            .map(String::from);
        (s, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_schema_walk() {
        let b = builtins();
        let name = &b.kinds[&("apps".to_string(), "Deployment".to_string())];
        assert_eq!(name, "io.k8s.api.apps.v1.Deployment");
        let d = SchemaNode::definition(&b.all, name).unwrap();
        let containers = d
            .field("spec")
            .unwrap()
            .field("template")
            .unwrap()
            .field("spec")
            .unwrap()
            .field("containers")
            .unwrap();
        assert_eq!(
            containers.patch_strategy(),
            ("merge".to_string(), Some("name".to_string()))
        );
        assert_eq!(containers.list_type().0, "map");
        let gvk = b.per_gv["apps/v1"][name.as_str()]["x-kubernetes-group-version-kind"].clone();
        assert_eq!(gvk[0]["kind"], "Deployment");
    }
}
