//! Small accessors for Kubernetes objects held as `serde_json::Value`.
//!
//! Every function here is total: a missing or mistyped field reads as "absent" rather than
//! panicking, because live objects come from a cluster and desired objects from a renderer
//! and neither is trusted to be well formed.

use serde_json::{Map, Value};
use std::fmt;

/// Splits an `apiVersion` into `(group, version)`; the core group is `""`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// `apiVersion` of an object (empty when absent).
pub fn api_version(obj: &Value) -> &str {
    obj.get("apiVersion").and_then(Value::as_str).unwrap_or("")
}

/// API group of an object (`""` for the core group).
pub fn group(obj: &Value) -> &str {
    split_api_version(api_version(obj)).0
}

/// API version (without group) of an object.
pub fn version(obj: &Value) -> &str {
    split_api_version(api_version(obj)).1
}

/// `kind` of an object (empty when absent).
pub fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// `metadata.name` (empty when absent).
pub fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.namespace` (empty when absent).
pub fn namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// One annotation value.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// One label value.
pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// Values of a comma-separated annotation, trimmed, empty items dropped, duplicates removed
/// (first occurrence kept), as gitops-engine's `GetAnnotationCSVs`.
pub fn annotation_csv(obj: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(v) = annotation(obj, key) {
        for item in v.split(',') {
            let item = item.trim();
            if !item.is_empty() && !out.iter().any(|o| o == item) {
                out.push(item.to_string());
            }
        }
    }
    out
}

/// Whether the comma-separated annotation `key` contains `value` exactly.
pub fn has_annotation_option(obj: &Value, key: &str, value: &str) -> bool {
    annotation_csv(obj, key).iter().any(|v| v == value)
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    matches!(obj.pointer("/metadata/deletionTimestamp"), Some(v) if !v.is_null())
}

/// Integer field at a JSON pointer; `None` when absent or not an integer.
pub fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// String field at a JSON pointer.
pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// Mutable access to `metadata.annotations`, creating the maps as needed. Returns `None` only
/// when `obj` or its `metadata` is not an object.
pub fn annotations_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = obj
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let anns = meta
        .as_object_mut()?
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if anns.is_null() {
        *anns = Value::Object(Map::new());
    }
    anns.as_object_mut()
}

/// Identity of a resource in a cluster: group, kind, namespace, name (Argo CD's `ResourceKey`).
///
/// The namespace is empty for cluster-scoped objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// API group (`""` = core).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`""` = cluster scoped or not yet defaulted).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceKey {
    /// Builds a key from its parts.
    pub fn new(group: &str, kind: &str, namespace: &str, name: &str) -> Self {
        ResourceKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The key of an object.
    pub fn of(obj: &Value) -> Self {
        ResourceKey::new(group(obj), kind(obj), namespace(obj), name(obj))
    }
}

impl fmt::Display for ResourceKey {
    /// `group/Kind/namespace/name`, as Argo CD prints keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_api_versions() {
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        let o = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "prod"}});
        assert_eq!(group(&o), "networking.k8s.io");
        assert_eq!(version(&o), "v1");
        assert_eq!(
            ResourceKey::of(&o).to_string(),
            "networking.k8s.io/Ingress/prod/web"
        );
    }

    #[test]
    fn csv_annotations_dedupe_and_trim() {
        let o =
            json!({"metadata": {"annotations": {"a": " Prune=false, ,Replace=true,Prune=false"}}});
        assert_eq!(annotation_csv(&o, "a"), vec!["Prune=false", "Replace=true"]);
        assert!(has_annotation_option(&o, "a", "Replace=true"));
        assert!(!has_annotation_option(&o, "a", "Replace"));
        assert!(annotation_csv(&o, "missing").is_empty());
    }

    #[test]
    fn annotations_mut_creates_maps() {
        let mut o = json!({"kind": "ConfigMap"});
        annotations_mut(&mut o)
            .expect("object")
            .insert("k".into(), json!("v"));
        assert_eq!(annotation(&o, "k"), Some("v"));
        let mut null_anns = json!({"metadata": {"annotations": null}});
        assert!(annotations_mut(&mut null_anns).is_some());
    }
}
