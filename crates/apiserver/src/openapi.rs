//! OpenAPI v3 documents: a root index and one document per group/version, built from the
//! generated built-in schemas and the schemas of CRDs; and the single OpenAPI v2 (Swagger 2.0)
//! document derived from those same v3 documents.

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

/// Declares the `{namespace}` / `{name}` path parameters on every path item of `paths`
/// (as kube-apiserver's documents do, once per path rather than per operation).
fn declare_path_params(paths: &mut Map<String, Value>) {
    for (path, item) in paths.iter_mut() {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "description": format!("{name} of the resource"),
                       "schema": {"type": "string", "uniqueItems": true}})
            })
            .collect();
        if let (false, Some(o)) = (params.is_empty(), item.as_object_mut()) {
            o.insert("parameters".into(), Value::Array(params));
        }
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
        .map(|(k, (mut paths, schemas))| {
            declare_path_params(&mut paths);
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

const V3_REF: &str = "#/components/schemas/";

/// One Swagger 2.0 document holding every path and definition of the per-GV v3 `docs`,
/// as kube-apiserver serves at `/openapi/v2`.
pub fn swagger_v2(docs: &BTreeMap<String, Value>) -> Value {
    let mut definitions = Map::new();
    for doc in docs.values() {
        if let Some(Value::Object(schemas)) = doc.pointer("/components/schemas") {
            for (name, schema) in schemas {
                definitions
                    .entry(name.clone())
                    .or_insert_with(|| schema_v2(schema));
            }
        }
    }
    definitions
        .entry("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".to_string())
        .or_insert_with(|| json!({"type": "object", "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}));
    // (group, version, kind) → definition name, for request and response bodies.
    let mut by_gvk: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for (name, def) in &definitions {
        if let Some(Value::Array(gvks)) = def.get("x-kubernetes-group-version-kind") {
            for g in gvks {
                let f = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                by_gvk.insert((f("group"), f("version"), f("kind")), name.clone());
            }
        }
    }
    let mut paths = Map::new();
    for doc in docs.values() {
        let Some(Value::Object(ps)) = doc.get("paths") else {
            continue;
        };
        for (path, item) in ps {
            paths.insert(path.clone(), path_item_v2(item, &by_gvk, &definitions));
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header", "description": "Bearer Token authentication"}},
        "security": [{"BearerToken": []}],
    })
}

fn path_item_v2(
    item: &Value,
    by_gvk: &BTreeMap<(String, String, String), String>,
    definitions: &Map<String, Value>,
) -> Value {
    let mut out = Map::new();
    let Some(ops) = item.as_object() else {
        return Value::Object(out);
    };
    for (method, op) in ops {
        let Some(op) = op.as_object() else {
            continue;
        };
        let mut o = Map::new();
        for (k, v) in op {
            match k.as_str() {
                "parameters" => {}
                "responses" => {
                    o.insert(k.clone(), responses_v2(v));
                }
                "requestBody" => {}
                _ => {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        let mut parameters: Vec<Value> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(parameter_v2)
            .collect();
        let gvk = op.get("x-kubernetes-group-version-kind");
        let f = |k: &str| {
            gvk.and_then(|g| g.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let def = by_gvk.get(&(f("group"), f("version"), f("kind")));
        let action = op
            .get("x-kubernetes-action")
            .and_then(Value::as_str)
            .unwrap_or("");
        let body_ref = match action {
            "patch" => Some("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".to_string()),
            "post" | "put" => def.cloned(),
            _ => None,
        };
        if let Some(r) = body_ref {
            parameters.insert(
                0,
                json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": format!("#/definitions/{r}")}}),
            );
        }
        o.insert("parameters".into(), Value::Array(parameters));
        o.insert(
            "consumes".into(),
            if action == "patch" {
                json!([
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/strategic-merge-patch+json",
                    "application/apply-patch+yaml"
                ])
            } else {
                json!(["*/*"])
            },
        );
        o.insert("produces".into(), json!(["application/json"]));
        o.insert("schemes".into(), json!(["https"]));
        // The object (or list) as the 200 response schema.
        if let (Some(d), Some(Value::Object(r))) = (def, o.get_mut("responses"))
            && let Some(Value::Object(ok)) = r.get_mut("200")
            && !ok.contains_key("schema")
        {
            let target = if action == "list" {
                format!("{d}List")
            } else {
                d.clone()
            };
            if matches!(action, "list" | "get" | "put" | "patch" | "post")
                && definitions.contains_key(&target)
            {
                ok.insert(
                    "schema".into(),
                    json!({"$ref": format!("#/definitions/{target}")}),
                );
            }
        }
        out.insert(method.clone(), Value::Object(o));
    }
    // Path parameters, declared once for the path (see `declare_path_params`).
    if let Some(Value::Array(ps)) = item.get("parameters") {
        out.insert(
            "parameters".into(),
            Value::Array(ps.iter().map(parameter_v2).collect()),
        );
    }
    Value::Object(out)
}

fn parameter_v2(p: &Value) -> Value {
    let Some(obj) = p.as_object() else {
        return p.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        if k == "schema" {
            if let Some(s) = v.as_object() {
                for (sk, sv) in s {
                    out.insert(sk.clone(), sv.clone());
                }
            }
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn responses_v2(r: &Value) -> Value {
    let Some(obj) = r.as_object() else {
        return r.clone();
    };
    let mut out = Map::new();
    for (code, resp) in obj {
        let mut o = Map::new();
        o.insert(
            "description".into(),
            resp.get("description").cloned().unwrap_or(json!(code)),
        );
        if let Some(s) = resp
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"))
        {
            o.insert("schema".into(), schema_v2(s));
        }
        out.insert(code.clone(), Value::Object(o));
    }
    Value::Object(out)
}

/// An OpenAPI v3 schema as a Swagger 2.0 schema: references point at `#/definitions/`, and
/// the v3-only keywords (`nullable`, `oneOf`, `anyOf`, `not`, `writeOnly`, `deprecated`) are
/// dropped as kube-openapi does when it down-converts; `const` becomes a one-value `enum`.
pub fn schema_v2(s: &Value) -> Value {
    match s {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                match k.as_str() {
                    "$ref" => {
                        let r = v.as_str().unwrap_or("");
                        let r = match r.strip_prefix(V3_REF) {
                            Some(name) => format!("#/definitions/{name}"),
                            None => r.to_string(),
                        };
                        out.insert(k.clone(), Value::String(r));
                    }
                    "nullable" | "oneOf" | "anyOf" | "not" | "writeOnly" | "deprecated" => {}
                    "const" => {
                        out.insert("enum".into(), json!([v]));
                    }
                    // Maps of schemas: convert each value, keep the keys.
                    "properties" | "patternProperties" | "definitions" => {
                        let m = v
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(pk, pv)| (pk.clone(), schema_v2(pv)))
                                    .collect::<Map<String, Value>>()
                            })
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Object(m));
                    }
                    "items" | "additionalProperties" | "allOf" => {
                        out.insert(k.clone(), schema_v2(v));
                    }
                    // Extensions, defaults and examples are data, not schemas.
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(schema_v2).collect()),
        other => other.clone(),
    }
}

/// A stable hash of a document (for `?hash=` URLs).
pub fn hash(doc: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_schema_to_v2() {
        let v3 = json!({
            "type": "object",
            "nullable": true,
            "properties": {
                "nullable": {"type": "boolean"},
                "meta": {"allOf": [{"$ref": "#/components/schemas/io.k8s.M"}], "description": "d"},
                "mode": {"const": "fast", "x-kubernetes-list-type": "atomic"},
                "list": {"type": "array", "items": {"$ref": "#/components/schemas/io.k8s.I", "anyOf": [{}]}},
            },
            "additionalProperties": {"oneOf": [{"type": "string"}], "type": "string"},
        });
        let v2 = schema_v2(&v3);
        assert!(v2.get("nullable").is_none());
        // A property called `nullable` is a name, not the keyword.
        assert_eq!(v2["properties"]["nullable"]["type"], "boolean");
        assert_eq!(
            v2["properties"]["meta"]["allOf"][0]["$ref"],
            "#/definitions/io.k8s.M"
        );
        assert_eq!(v2["properties"]["mode"]["enum"], json!(["fast"]));
        assert_eq!(v2["properties"]["mode"]["x-kubernetes-list-type"], "atomic");
        assert_eq!(
            v2["properties"]["list"]["items"],
            json!({"$ref": "#/definitions/io.k8s.I"})
        );
        assert_eq!(v2["additionalProperties"], json!({"type": "string"}));
    }

    #[test]
    fn swagger_document_from_registry() {
        let registry = Registry::new();
        let docs = documents(&registry);
        let v3_item = &docs["apis/apps/v1"]["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        assert_eq!(v3_item["parameters"][0]["name"], "namespace");
        assert_eq!(v3_item["parameters"][0]["schema"]["type"], "string");
        let v2 = swagger_v2(&docs);
        let item = &v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        assert_eq!(
            item["get"]["responses"]["200"]["schema"]["$ref"],
            "#/definitions/io.k8s.api.apps.v1.Deployment"
        );
        assert_eq!(
            item["patch"]["parameters"][0]["schema"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
        );
        assert_eq!(item["parameters"][1]["name"], "name");
        assert_eq!(item["parameters"][1]["in"], "path");
        assert_eq!(item["parameters"][1]["type"], "string");
        assert!(item["parameters"][1].get("schema").is_none());
        let hpa = &v2["definitions"]["io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"];
        assert_eq!(hpa["x-kubernetes-group-version-kind"][0]["version"], "v1");
        assert!(
            hpa["properties"]["spec"].is_object(),
            "autoscaling/v1 HPA schema: {hpa}"
        );
    }
}
