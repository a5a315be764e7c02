//! The `applications.argoproj.io` CustomResourceDefinition ferry installs when absent.
//!
//! Same names, scope, version, short names and printer columns as Argo CD's, and like Argo
//! CD's no status subresource (the controller writes `status` through the main resource). The
//! schema types the fields ferry reads; blocks ferry does not interpret in detail (`kustomize`,
//! `plugin`, `sourceHydrator`, `directory.jsonnet`, `operation`, `status`) and the free-form
//! `helm.valuesObject` are objects with `x-kubernetes-preserve-unknown-fields`.

use crate::application::{GROUP, KIND, PLURAL, VERSION};
use serde_json::{Value, json};

/// The CRD name.
pub const CRD_NAME: &str = "applications.argoproj.io";

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn free_object() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

fn source_schema() -> Value {
    json!({
        "type": "object",
        "required": ["repoURL"],
        "properties": {
            "repoURL": string(),
            "path": string(),
            "targetRevision": string(),
            "chart": string(),
            "ref": string(),
            "name": string(),
            "tagPrefix": string(),
            "helm": {
                "type": "object",
                "properties": {
                    "valueFiles": strings(),
                    "values": string(),
                    "valuesObject": free_object(),
                    "parameters": {"type": "array", "items": {"type": "object", "properties": {
                        "name": string(), "value": string(), "forceString": boolean()}}},
                    "fileParameters": {"type": "array", "items": {"type": "object", "properties": {
                        "name": string(), "path": string()}}},
                    "releaseName": string(),
                    "ignoreMissingValueFiles": boolean(),
                    "skipCrds": boolean(),
                    "skipTests": boolean(),
                    "skipSchemaValidation": boolean(),
                    "namespace": string(),
                    "kubeVersion": string(),
                    "apiVersions": strings(),
                    "version": string(),
                    "passCredentials": boolean()
                }
            },
            "directory": {
                "type": "object",
                "properties": {
                    "recurse": boolean(),
                    "include": string(),
                    "exclude": string(),
                    "jsonnet": free_object(),
                    "disableExtensionFilter": boolean()
                }
            },
            "kustomize": free_object(),
            "plugin": free_object()
        }
    })
}

fn retry_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "limit": {"type": "integer", "format": "int64"},
            "refresh": boolean(),
            "backoff": {"type": "object", "properties": {
                "duration": string(),
                "factor": {"type": "integer", "format": "int64"},
                "maxDuration": string()
            }}
        }
    })
}

fn spec_schema() -> Value {
    json!({
        "type": "object",
        "required": ["destination", "project"],
        "properties": {
            "project": string(),
            "source": source_schema(),
            "sources": {"type": "array", "items": source_schema()},
            "destination": {"type": "object", "properties": {
                "server": string(), "name": string(), "namespace": string()}},
            "syncPolicy": {"type": "object", "properties": {
                "automated": {"type": "object", "properties": {
                    "enabled": boolean(), "prune": boolean(), "selfHeal": boolean(), "allowEmpty": boolean()}},
                "syncOptions": strings(),
                "retry": retry_schema(),
                "managedNamespaceMetadata": {"type": "object", "properties": {
                    "labels": string_map(), "annotations": string_map()}}
            }},
            "ignoreDifferences": {"type": "array", "items": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "group": string(), "kind": string(), "name": string(), "namespace": string(),
                    "jsonPointers": strings(), "jqPathExpressions": strings(),
                    "managedFieldsManagers": strings()
                }
            }},
            "info": {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                "properties": {"name": string(), "value": string()}}},
            "revisionHistoryLimit": {"type": "integer", "format": "int64"},
            "sourceHydrator": free_object()
        }
    })
}

/// The CRD as a JSON object (`apiextensions.k8s.io/v1`).
pub fn application_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            "labels": {
                "app.kubernetes.io/name": CRD_NAME,
                "app.kubernetes.io/part-of": "argocd"
            }
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": "ApplicationList",
                "plural": PLURAL,
                "singular": "application",
                "shortNames": ["app", "apps"]
            },
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "additionalPrinterColumns": [
                    {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
                    {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
                    {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
                    {"name": "Project", "type": "string", "jsonPath": ".spec.project", "priority": 10}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "Application is a definition of Application resource.",
                    "required": ["metadata", "spec"],
                    "properties": {
                        "apiVersion": string(),
                        "kind": string(),
                        "metadata": {"type": "object"},
                        "spec": spec_schema(),
                        "operation": free_object(),
                        "status": free_object()
                    }
                }}
            }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks a schema checking it is structural: every node has a type (or preserves unknown
    /// fields), `required` names declared properties.
    fn check(schema: &Value, path: &str) {
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
        assert!(schema.get("type").is_some() || preserve, "{path}: no type");
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req {
                let name = r.as_str().expect("string");
                assert!(
                    schema.pointer(&format!("/properties/{name}")).is_some(),
                    "{path}: required {name} not declared"
                );
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                check(v, &format!("{path}.{k}"));
            }
        }
        if let Some(items) = schema.get("items") {
            check(items, &format!("{path}[]"));
        }
    }

    #[test]
    fn crd_is_structural_and_named_like_argo() {
        let crd = application_crd();
        assert_eq!(crd["metadata"]["name"], json!("applications.argoproj.io"));
        assert_eq!(crd["spec"]["names"]["shortNames"], json!(["app", "apps"]));
        let v = &crd["spec"]["versions"][0];
        assert_eq!(v["name"], json!("v1alpha1"));
        assert!(v.get("subresources").is_none());
        let schema = &v["schema"]["openAPIV3Schema"];
        check(schema, "");
        assert_eq!(
            schema.pointer("/properties/spec/properties/source/properties/helm/properties/valuesObject/x-kubernetes-preserve-unknown-fields"),
            Some(&json!(true))
        );
        assert_eq!(
            schema.pointer("/properties/spec/properties/sources/items/properties/ref/type"),
            Some(&json!("string"))
        );
    }
}
