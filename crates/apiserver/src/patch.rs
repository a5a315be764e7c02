//! JSON patch (RFC 6902), JSON merge patch (RFC 7396) and strategic merge patch.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::schema::{SchemaNode, builtins};

fn parse(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// Applies an RFC 6902 JSON patch.
pub fn json_patch(base: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let p: json_patch::Patch = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?;
    let mut doc = base.clone();
    json_patch::patch(&mut doc, &p).map_err(|e| {
        ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })?;
    Ok(doc)
}

/// Applies an RFC 7396 merge patch.
pub fn merge_patch(base: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let p = parse(body)?;
    if !p.is_object() {
        return Err(ApiError::bad_request("merge patch must be a JSON object"));
    }
    let mut doc = base.clone();
    json_patch::merge(&mut doc, &p);
    Ok(doc)
}

/// Applies a strategic merge patch to an object whose schema is the built-in definition `def`.
pub fn strategic_merge(base: &Value, body: &[u8], def: Option<&str>) -> Result<Value, ApiError> {
    let p = parse(body)?;
    if !p.is_object() {
        return Err(ApiError::bad_request(
            "strategic merge patch must be a JSON object",
        ));
    }
    let b = builtins();
    let node = def.and_then(|d| SchemaNode::definition(&b.all, d));
    Ok(smp_value(Some(base), &p, node).unwrap_or(Value::Null))
}

/// Merges `patch` into `orig`; `None` means "delete this value".
fn smp_value(orig: Option<&Value>, patch: &Value, schema: Option<SchemaNode>) -> Option<Value> {
    match patch {
        Value::Object(pm) => {
            match pm.get("$patch").and_then(Value::as_str) {
                Some("delete") => return None,
                Some("replace") => {
                    let mut m = pm.clone();
                    m.remove("$patch");
                    return Some(Value::Object(strip_directives(m)));
                }
                _ => {}
            }
            let mut out: Map<String, Value> = match orig {
                Some(Value::Object(o)) => o.clone(),
                _ => Map::new(),
            };
            for (k, v) in pm {
                if k.starts_with('$') {
                    continue;
                }
                let field = schema.and_then(|s| s.field(k));
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match v {
                    Value::Array(items) => Some(smp_list(out.get(k), items, field)),
                    Value::Object(_) => smp_value(out.get(k), v, field),
                    other => Some(other.clone()),
                };
                match merged {
                    Some(m) => {
                        out.insert(k.clone(), m);
                    }
                    None => {
                        out.remove(k);
                    }
                }
            }
            for (k, v) in pm {
                if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/")
                    && let (Some(Value::Array(cur)), Some(del)) = (out.get_mut(field), v.as_array())
                {
                    cur.retain(|x| !del.contains(x));
                }
            }
            for (k, v) in pm {
                if let Some(field) = k.strip_prefix("$setElementOrder/")
                    && let (Some(Value::Array(cur)), Some(order)) =
                        (out.get(field).cloned(), v.as_array())
                {
                    let key = schema
                        .and_then(|s| s.field(field))
                        .and_then(|f| f.patch_strategy().1);
                    out.insert(
                        field.to_string(),
                        Value::Array(reorder(cur, order, key.as_deref())),
                    );
                }
            }
            if let Some(Value::Array(keep)) = pm.get("$retainKeys") {
                let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
                out.retain(|k, _| keep.contains(&k.as_str()));
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    }
}

fn strip_directives(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter().filter(|(k, _)| !k.starts_with('$')).collect()
}

fn item_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key)
}

fn smp_list(orig: Option<&Value>, items: &[Value], field: Option<SchemaNode>) -> Value {
    let (strategy, merge_key) = field.map(|f| f.patch_strategy()).unwrap_or_default();
    let merge = strategy.split(',').any(|s| s == "merge");
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect(),
        );
    }
    if !merge {
        return Value::Array(
            items
                .iter()
                .map(|i| smp_value(None, i, field.and_then(|f| f.items())).unwrap_or(Value::Null))
                .collect(),
        );
    }
    let mut cur: Vec<Value> = orig.and_then(Value::as_array).cloned().unwrap_or_default();
    match merge_key {
        None => {
            for i in items {
                if !cur.contains(i) {
                    cur.push(i.clone());
                }
            }
        }
        Some(key) => {
            let item_schema = field.and_then(|f| f.items());
            for i in items {
                let Some(kv) = item_key(i, &key) else {
                    cur.push(i.clone());
                    continue;
                };
                let pos = cur.iter().position(|c| item_key(c, &key) == Some(kv));
                if i.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(p) = pos {
                        cur.remove(p);
                    }
                    continue;
                }
                match pos {
                    Some(p) => {
                        if let Some(v) = smp_value(Some(&cur[p]), i, item_schema) {
                            cur[p] = v;
                        }
                    }
                    None => {
                        if let Some(v) = smp_value(None, i, item_schema) {
                            cur.push(v);
                        }
                    }
                }
            }
        }
    }
    Value::Array(cur)
}

fn reorder(cur: Vec<Value>, order: &[Value], key: Option<&str>) -> Vec<Value> {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let mut ordered: Vec<Value> = Vec::with_capacity(cur.len());
    let mut rest = cur;
    for o in order {
        let want = id(o);
        if let Some(p) = rest.iter().position(|c| id(c) == want) {
            ordered.push(rest.remove(p));
        }
    }
    ordered.extend(rest);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": ["a"]},
               "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                        "template": {"spec": {"containers": [
                            {"name": "nginx", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}]},
                            {"name": "side", "image": "busybox"}]}}}})
    }

    #[test]
    fn smp_merges_containers_by_name() {
        let p = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"side"},{"name":"nginx"}],"containers":[{"image":"nginx:1.28","name":"nginx","env":[{"name":"B","value":"2"}]}]}}}}"#;
        let out = strategic_merge(&deploy(), p, Some("io.k8s.api.apps.v1.Deployment")).unwrap();
        let cs = out
            .pointer("/spec/template/spec/containers")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0]["name"], "side");
        assert_eq!(cs[1]["image"], "nginx:1.28");
        assert_eq!(cs[1]["env"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn smp_directives() {
        let p = br#"{"metadata":{"finalizers":["b"],"$deleteFromPrimitiveList/finalizers":["a"]},"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"},"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}"#;
        let out = strategic_merge(&deploy(), p, Some("io.k8s.api.apps.v1.Deployment")).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            out.pointer("/spec/template/spec/containers")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn merge_and_json_patch() {
        let out = merge_patch(&deploy(), br#"{"spec":{"replicas":3,"strategy":null}}"#).unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
        assert!(out["spec"].get("strategy").is_none());
        let out = json_patch(
            &deploy(),
            br#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 4);
        assert_eq!(
            json_patch(
                &deploy(),
                br#"[{"op":"test","path":"/spec/replicas","value":9}]"#
            )
            .unwrap_err()
            .code,
            422
        );
    }
}
