//! OpenAPI v3 documents: a root index and one document per group/version, built from the
//! generated built-in schemas and the schemas of CRDs.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value, json};

use crate::registry::{Registry, ResourceType, gv};
use crate::schema::builtins;

fn params(names: &[(&str, &str)]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|(n, t)| json!({"name": n, "in": "query", "uniqueItems": true, "schema": {"type": t}}))
            .collect(),
    )
}

fn operation(
    action: &str,
    t: &ResourceType,
    version: &str,
    op_id: String,
    extra: &[(&str, &str)],
) -> Value {
    let mut p: Vec<(&str, &str)> = vec![("pretty", "string")];
    p.extend_from_slice(extra);
    json!({
        "operationId": op_id,
        "tags": [format!("{}_{version}", if t.group.is_empty() { "core" } else { &t.group })],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": t.group, "version": version, "kind": t.kind},
        "parameters": params(&p),
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
    })
}

fn paths_for(t: &ResourceType, version: &str, paths: &mut Map<String, Value>) {
    let base = if t.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{version}", t.group)
    };
    let coll = if t.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", t.plural)
    } else {
        format!("{base}/{}", t.plural)
    };
    let id = format!(
        "{}{}",
        capitalize(&t.group.replace(['.', '-'], "")),
        capitalize(version)
    );
    let scope = if t.namespaced { "Namespaced" } else { "" };
    let write = [
        ("dryRun", "string"),
        ("fieldManager", "string"),
        ("fieldValidation", "string"),
    ];
    let mut patch_params = write.to_vec();
    patch_params.push(("force", "boolean"));
    paths.insert(
        coll.clone(),
        json!({
            "get": operation("list", t, version, format!("list{id}{scope}{}", t.kind), &[("labelSelector", "string"), ("fieldSelector", "string"), ("limit", "integer"), ("continue", "string"), ("resourceVersion", "string"), ("watch", "boolean")]),
            "post": operation("post", t, version, format!("create{id}{scope}{}", t.kind), &write),
            "delete": operation("deletecollection", t, version, format!("deleteCollection{id}{scope}{}", t.kind), &[("labelSelector", "string"), ("dryRun", "string")]),
        }),
    );
    paths.insert(
        format!("{coll}/{{name}}"),
        json!({
            "get": operation("get", t, version, format!("read{id}{scope}{}", t.kind), &[]),
            "put": operation("put", t, version, format!("replace{id}{scope}{}", t.kind), &write),
            "patch": operation("patch", t, version, format!("patch{id}{scope}{}", t.kind), &patch_params),
            "delete": operation("delete", t, version, format!("delete{id}{scope}{}", t.kind), &[("dryRun", "string"), ("propagationPolicy", "string"), ("gracePeriodSeconds", "integer")]),
        }),
    );
    if t.status || t.crd_version(version).is_some_and(|v| v.status) {
        paths.insert(
            format!("{coll}/{{name}}/status"),
            json!({
                "get": operation("get", t, version, format!("read{id}{scope}{}Status", t.kind), &[]),
                "put": operation("put", t, version, format!("replace{id}{scope}{}Status", t.kind), &write),
                "patch": operation("patch", t, version, format!("patch{id}{scope}{}Status", t.kind), &patch_params),
            }),
        );
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The per-GV documents keyed by `api/v1` / `apis/<g>/<v>`.
pub fn documents(registry: &Registry) -> BTreeMap<String, Value> {
    let b = builtins();
    type PathsAndSchemas = (Map<String, Value>, Map<String, Value>);
    let mut docs: BTreeMap<String, PathsAndSchemas> = BTreeMap::new();
    for t in registry.all() {
        for version in &t.versions {
            let key = if t.group.is_empty() {
                "api/v1".to_string()
            } else {
                format!("apis/{}/{version}", t.group)
            };
            let entry = docs.entry(key).or_insert_with(|| {
                let schemas = b
                    .per_gv
                    .get(&gv(&t.group, version))
                    .cloned()
                    .unwrap_or_default();
                (Map::new(), schemas)
            });
            paths_for(&t, version, &mut entry.0);
            if let Some(crd) = &t.crd {
                let v = crd.versions.iter().find(|v| &v.name == version);
                let mut schema = v.and_then(|v| v.schema.clone()).unwrap_or_else(
                    || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
                );
                if let Some(o) = schema.as_object_mut() {
                    let props = o.entry("properties").or_insert_with(|| json!({}));
                    if let Some(p) = props.as_object_mut() {
                        p.insert("metadata".into(), json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}));
                        p.entry("apiVersion").or_insert_with(|| json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
                        p.entry("kind").or_insert_with(|| json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
                    }
                    o.insert(
                        "x-kubernetes-group-version-kind".into(),
                        json!([{"group": t.group, "version": version, "kind": t.kind}]),
                    );
                }
                let rev_group: String = t.group.split('.').rev().collect::<Vec<_>>().join(".");
                entry
                    .1
                    .insert(format!("{rev_group}.{version}.{}", t.kind), schema);
                for (k, v) in &b.all {
                    if k.starts_with("io.k8s.apimachinery.pkg.apis.meta.v1.") {
                        entry.1.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
    docs.into_iter()
        .map(|(k, (paths, schemas))| {
            let doc = json!({
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": crate::VERSION},
                "paths": paths,
                "components": {"schemas": schemas},
            });
            (k, doc)
        })
        .collect()
}

/// A stable hash of a document (for `?hash=` URLs).
pub fn hash(doc: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}
