//! Server-side apply and `managedFields` bookkeeping (a practical subset of
//! structured-merge-diff): field sets in `FieldsV1` form, schema-driven merging (list types
//! `atomic`/`set`/`map`), ownership conflicts, `force`, and removal of fields a manager no
//! longer applies.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::registry::ResourceType;
use crate::schema::{SchemaNode, builtins};

type Set = Map<String, Value>;
type Path = Vec<String>;

/// The schema root for objects of `t` at `version`.
pub fn root_schema<'a>(t: &'a ResourceType, version: &str) -> Option<SchemaNode<'a>> {
    let b = builtins();
    if let Some(v) = t.crd_version(version) {
        return v.schema.as_ref().map(|s| SchemaNode::inline(&b.all, s));
    }
    let def = b.kinds.get(&(t.group.clone(), t.kind.clone()))?;
    SchemaNode::definition(&b.all, def)
}

/// The value of list-map key `k` in `item`, with the API default for `protocol`.
fn key_value(item: &Value, k: &str) -> Option<Value> {
    match item.get(k) {
        Some(v) => Some(v.clone()),
        None if k == "protocol" => Some(json!("TCP")),
        None => None,
    }
}

fn key_str(item: &Value, keys: &[String]) -> Option<String> {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = key_value(item, k) {
            m.insert(k.clone(), v);
        }
    }
    if m.is_empty() {
        return None;
    }
    Some(format!("k:{}", Value::Object(m)))
}

fn list_keys(schema: Option<SchemaNode>, _items: &[Value]) -> Option<Vec<String>> {
    let (lt, keys) = schema.map(|s| s.list_type()).unwrap_or_default();
    (lt == "map" && !keys.is_empty()).then_some(keys)
}

/// The field set of `v` (a value at a position with `schema`).
fn field_set(v: &Value, schema: Option<SchemaNode>) -> Set {
    let mut out = Set::new();
    if let Value::Object(m) = v {
        for (k, child) in m {
            let cs = schema.and_then(|s| s.field(k));
            out.insert(format!("f:{k}"), Value::Object(child_set(child, cs)));
        }
    }
    out
}

fn child_set(child: &Value, cs: Option<SchemaNode>) -> Set {
    match child {
        Value::Object(_) => {
            let atomic = cs
                .and_then(|s| s.ext("x-kubernetes-map-type"))
                .and_then(Value::as_str)
                == Some("atomic");
            if atomic {
                Set::new()
            } else {
                field_set(child, cs)
            }
        }
        Value::Array(items) => {
            let (lt, _) = cs.map(|s| s.list_type()).unwrap_or_default();
            let mut s = Set::new();
            if lt == "set" {
                for i in items {
                    s.insert(format!("v:{i}"), json!({}));
                }
            } else if let Some(keys) = list_keys(cs, items) {
                let is = cs.and_then(|c| c.items());
                for i in items {
                    if let Some(k) = key_str(i, &keys) {
                        let mut e = field_set(i, is);
                        e.insert(".".into(), json!({}));
                        s.insert(k, Value::Object(e));
                    }
                }
            }
            s
        }
        _ => Set::new(),
    }
}

/// Field set of a whole object, for the main resource or the `status` subresource.
fn object_set(obj: &Value, schema: Option<SchemaNode>, sub: Option<&str>) -> Set {
    let mut set = Set::new();
    let Some(m) = obj.as_object() else { return set };
    for (k, v) in m {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "status" if sub != Some("status") => {}
            "metadata" => {
                let mut ms = Set::new();
                let meta_schema = schema.and_then(|s| s.field("metadata"));
                for mk in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(mv) = v.get(mk) {
                        ms.insert(
                            format!("f:{mk}"),
                            Value::Object(child_set(mv, meta_schema.and_then(|s| s.field(mk)))),
                        );
                    }
                }
                if !ms.is_empty() {
                    set.insert("f:metadata".into(), Value::Object(ms));
                }
            }
            _ if sub == Some("status") => {}
            _ => {
                set.insert(
                    format!("f:{k}"),
                    Value::Object(child_set(v, schema.and_then(|s| s.field(k)))),
                );
            }
        }
        if sub == Some("status") && k == "status" {
            set.insert(
                "f:status".into(),
                Value::Object(child_set(v, schema.and_then(|s| s.field("status")))),
            );
        }
    }
    set
}

fn leaves(set: &Set, prefix: &mut Path, out: &mut Vec<Path>) {
    for (k, v) in set {
        if k == "." {
            continue;
        }
        prefix.push(k.clone());
        match v.as_object() {
            Some(c) if c.keys().any(|x| x != ".") => leaves(c, prefix, out),
            _ => out.push(prefix.clone()),
        }
        prefix.pop();
    }
}

fn contains(set: &Set, path: &[String]) -> bool {
    let mut cur = set;
    for (i, p) in path.iter().enumerate() {
        match cur.get(p) {
            Some(Value::Object(c)) => {
                if i == path.len() - 1 {
                    return true;
                }
                cur = c;
            }
            _ => return false,
        }
    }
    false
}

/// Whether `set` holds `path` or anything below it.
fn touches(set: &Set, path: &[String]) -> bool {
    contains(set, path)
}

fn remove_path(set: &mut Set, path: &[String]) {
    if path.is_empty() {
        return;
    }
    if path.len() == 1 {
        set.remove(&path[0]);
        return;
    }
    if let Some(Value::Object(c)) = set.get_mut(&path[0]) {
        remove_path(c, &path[1..]);
        if c.is_empty() || (c.len() == 1 && c.contains_key(".")) && !path[0].starts_with("k:") {
            set.remove(&path[0]);
        }
    }
}

fn insert_path(set: &mut Set, path: &[String]) {
    let mut cur = set;
    for p in path {
        let e = cur.entry(p.clone()).or_insert_with(|| json!({}));
        if !e.is_object() {
            *e = json!({});
        }
        let Some(m) = e.as_object_mut() else { return };
        if p.starts_with("k:") && !m.contains_key(".") {
            m.insert(".".into(), json!({}));
        }
        cur = m;
    }
}

fn item_matches(item: &Value, key: &str) -> bool {
    use std::cell::RefCell;
    thread_local! {
        // The last parsed `k:` key: lookups test one key against every item of a list.
        static LAST: RefCell<(String, Option<Map<String, Value>>)> =
            const { RefCell::new((String::new(), None)) };
    }
    let Some(json) = key.strip_prefix("k:") else {
        return false;
    };
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != json {
            last.1 = match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(k)) => Some(k),
                _ => None,
            };
            last.0.clear();
            last.0.push_str(json);
        }
        last.1.as_ref().is_some_and(|k| {
            k.iter().all(|(f, v)| match item.get(f) {
                Some(x) => x == v,
                // The API default (as in `key_value`).
                None => f == "protocol" && v == "TCP",
            })
        })
    })
}

fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for p in path {
        if let Some(f) = p.strip_prefix("f:") {
            cur = cur.get(f)?;
        } else if p.starts_with("k:") {
            cur = cur.as_array()?.iter().find(|i| item_matches(i, p))?;
        } else if let Some(v) = p.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).ok()?;
            cur = cur.as_array()?.iter().find(|i| **i == want)?;
        } else {
            return None;
        }
    }
    Some(cur)
}

fn delete_at(obj: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for p in parent {
        let next = if let Some(f) = p.strip_prefix("f:") {
            cur.get_mut(f)
        } else if p.starts_with("k:") {
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| item_matches(i, p)))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if last.starts_with("k:") {
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| !item_matches(i, last));
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let Ok(want) = serde_json::from_str::<Value>(v)
        && let Some(a) = cur.as_array_mut()
    {
        a.retain(|i| *i != want);
    }
}

/// Merges `applied` into `live` per schema.
fn merge(live: &Value, applied: &Value, schema: Option<SchemaNode>) -> Value {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            if schema
                .and_then(|s| s.ext("x-kubernetes-map-type"))
                .and_then(Value::as_str)
                == Some("atomic")
            {
                return applied.clone();
            }
            // One copy of each live field (a merged field is built from its live value
            // rather than copied and then replaced).
            let mut out = Map::new();
            for (k, lv) in l {
                let nv = match a.get(k) {
                    Some(av) => merge(lv, av, schema.and_then(|s| s.field(k))),
                    None => lv.clone(),
                };
                out.insert(k.clone(), nv);
            }
            for (k, av) in a {
                if !l.contains_key(k) {
                    out.insert(k.clone(), av.clone());
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(a)) => {
            let (lt, _) = schema.map(|s| s.list_type()).unwrap_or_default();
            if lt == "set" {
                let mut out = l.clone();
                for i in a {
                    if !out.contains(i) {
                        out.push(i.clone());
                    }
                }
                return Value::Array(out);
            }
            if let Some(keys) = list_keys(schema, a) {
                let is = schema.and_then(|s| s.items());
                let mut out = l.clone();
                for i in a {
                    let Some(k) = key_str(i, &keys) else {
                        out.push(i.clone());
                        continue;
                    };
                    match out.iter().position(|x| item_matches(x, &k)) {
                        Some(p) => out[p] = merge(&out[p], i, is),
                        None => out.push(i.clone()),
                    }
                }
                return Value::Array(out);
            }
            applied.clone()
        }
        _ => applied.clone(),
    }
}

fn managed(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn entry_set(e: &Value) -> Set {
    e.get("fieldsV1")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Whether `e` is the entry of (manager, operation, subresource); `Update` entries are also
/// per apiVersion (as upstream's manager identifier), `Apply` entries are not: an applier
/// keeps one entry whose apiVersion is that of its last apply.
fn same_entry(e: &Value, manager: &str, op: &str, api_version: &str, sub: Option<&str>) -> bool {
    e.get("manager").and_then(Value::as_str) == Some(manager)
        && e.get("operation").and_then(Value::as_str) == Some(op)
        && e.get("subresource").and_then(Value::as_str) == sub
        && (op == "Apply" || e.get("apiVersion").and_then(Value::as_str) == Some(api_version))
}

fn make_entry(manager: &str, op: &str, api_version: &str, sub: Option<&str>, set: Set) -> Value {
    let mut e = json!({"manager": manager, "operation": op, "apiVersion": api_version, "time": crate::api::now(), "fieldsType": "FieldsV1", "fieldsV1": set});
    if let Some(s) = sub {
        e["subresource"] = json!(s);
    }
    e
}

fn path_str(p: &[String]) -> String {
    p.iter()
        .map(|s| {
            if let Some(f) = s.strip_prefix("f:") {
                format!(".{f}")
            } else if let Some(k) = s.strip_prefix("k:") {
                format!("[{k}]")
            } else if let Some(v) = s.strip_prefix("v:") {
                format!("[={v}]")
            } else {
                s.clone()
            }
        })
        .collect()
}

/// Server-side apply of `applied` by `manager` over `live` (None: create). Returns the merged
/// object with updated `managedFields`, or a 409 conflict.
pub fn apply(
    t: &ResourceType,
    version: &str,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    sub: Option<&str>,
) -> Result<Value, ApiError> {
    let schema = root_schema(t, version);
    let api_version = crate::registry::gv(&t.group, version);
    if let Some(av) = applied.get("apiVersion").and_then(Value::as_str)
        && av != api_version
    {
        return Err(ApiError::bad_request(format!(
            "apiVersion {av:?} in the body does not match the URL ({api_version})"
        )));
    }
    if let Some(k) = applied.get("kind").and_then(Value::as_str)
        && k != t.kind
    {
        return Err(ApiError::bad_request(format!(
            "kind {k:?} in the body does not match the URL ({})",
            t.kind
        )));
    }
    let new_set = object_set(applied, schema, sub);
    let mut new_leaves = Vec::new();
    leaves(&new_set, &mut Vec::new(), &mut new_leaves);
    // Empty granular maps are containers, not values anybody conflicts on (a non-empty map
    // is a leaf only when atomic, and then it is a value like any other).
    new_leaves.retain(|p| {
        !value_at(applied, p).is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
    });
    let Some(live) = live else {
        let mut obj = applied.clone();
        if sub.is_none()
            && t.status
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        obj["metadata"]["managedFields"] =
            json!([make_entry(manager, "Apply", &api_version, sub, new_set)]);
        return Ok(obj);
    };
    let mut entries = managed(live);
    // Upgrade path from client-side apply (as upstream's last-applied manager): fields the
    // client-side applier set through its last-applied configuration are not conflicts.
    let last_applied: Option<Value> = live
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok());
    // Conflicts with other managers.
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for e in &entries {
        if same_entry(e, manager, "Apply", "", sub) {
            continue;
        }
        let other = e
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let set = entry_set(e);
        for p in &new_leaves {
            if contains(&set, p) && value_at(live, p) != value_at(applied, p) {
                let from_csa = other == "kubectl-client-side-apply"
                    && last_applied
                        .as_ref()
                        .is_some_and(|la| value_at(la, p).is_some());
                if !from_csa {
                    conflicts.push((other.clone(), path_str(p)));
                }
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, f)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": f}))
            .collect();
        let list = conflicts
            .iter()
            .map(|(m, f)| format!("conflict with \"{m}\": {f}"))
            .collect::<Vec<_>>()
            .join("\n- ");
        let msg = if conflicts.len() == 1 {
            format!("Apply failed with 1 conflict: {list}")
        } else {
            format!("Apply failed with {} conflicts: {list}", conflicts.len())
        };
        return Err(ApiError::new(409, "Conflict", msg).with_details(json!({"causes": causes})));
    }
    // Force (or same values): drop the applied leaves from other managers.
    for e in entries.iter_mut() {
        if same_entry(e, manager, "Apply", "", sub) {
            continue;
        }
        let mut set = entry_set(e);
        for p in &new_leaves {
            let differs = value_at(live, p) != value_at(applied, p);
            if contains(&set, p) && differs {
                remove_path(&mut set, p);
            }
        }
        e["fieldsV1"] = Value::Object(set);
    }
    let old_set = entries
        .iter()
        .find(|e| same_entry(e, manager, "Apply", "", sub))
        .map(entry_set)
        .unwrap_or_default();
    let mut applied_body = applied.clone();
    if sub.is_none()
        && (t.status || t.crd_version(version).is_some_and(|v| v.status))
        && let Some(o) = applied_body.as_object_mut()
    {
        o.remove("status");
    }
    if let Some(m) = applied_body
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    let mut merged = merge(live, &applied_body, schema);
    // Remove fields this manager applied before, no longer applies, and nobody else owns.
    let mut old_leaves = Vec::new();
    leaves(&old_set, &mut Vec::new(), &mut old_leaves);
    let others: Vec<Set> = entries
        .iter()
        .filter(|e| !same_entry(e, manager, "Apply", "", sub))
        .map(entry_set)
        .collect();
    for p in old_leaves {
        if contains(&new_set, &p) {
            continue;
        }
        // The shortest prefix neither in the new set nor touched by another manager is
        // removed (a list-map item or map key of this manager's, beside others' items).
        let cut = (1..=p.len())
            .map(|i| &p[..i])
            .find(|pre| !contains(&new_set, pre) && !others.iter().any(|s| touches(s, pre)));
        if let Some(cut) = cut {
            delete_at(&mut merged, cut);
        }
    }
    entries.retain(|e| !same_entry(e, manager, "Apply", "", sub));
    entries.retain(|e| !entry_set(e).is_empty());
    entries.push(make_entry(manager, "Apply", &api_version, sub, new_set));
    merged["metadata"]["managedFields"] = Value::Array(entries);
    Ok(merged)
}

/// Records a non-apply write by `manager`: it takes ownership of every field whose value it
/// changed (or, on create, of every field it set).
pub fn record_update(
    t: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    op: &str,
    sub: Option<&str>,
) {
    if manager.is_empty() {
        return;
    }
    let version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("v1")
        .to_string();
    let schema = root_schema(t, &version);
    let api_version = crate::registry::gv(&t.group, &version);
    let new_set = object_set(new, schema, sub);
    let mut new_leaves = Vec::new();
    leaves(&new_set, &mut Vec::new(), &mut new_leaves);
    let changed: Vec<Path> = match old {
        None => new_leaves.clone(),
        Some(o) => new_leaves
            .iter()
            .filter(|p| value_at(o, p) != value_at(new, p))
            .cloned()
            .collect(),
    };
    let mut entries = managed(new);
    // Fields that disappeared are no longer owned by anybody.
    let mut removed = Vec::new();
    if let Some(o) = old {
        let old_set = object_set(o, schema, sub);
        leaves(&old_set, &mut Vec::new(), &mut removed);
        removed.retain(|p| value_at(new, p).is_none());
    }
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        let mut set = entry_set(e);
        for p in changed.iter().chain(removed.iter()) {
            if !same_entry(e, manager, op, &api_version, sub) {
                remove_path(&mut set, p);
            }
        }
        for p in &removed {
            remove_path(&mut set, p);
        }
        e["fieldsV1"] = Value::Object(set);
    }
    let mut mine = entries
        .iter()
        .find(|e| same_entry(e, manager, op, &api_version, sub))
        .map(entry_set)
        .unwrap_or_default();
    for p in &changed {
        insert_path(&mut mine, p);
    }
    entries.retain(|e| !same_entry(e, manager, op, &api_version, sub));
    entries.retain(|e| !entry_set(e).is_empty());
    if !mine.is_empty() {
        entries.push(make_entry(manager, op, &api_version, sub, mine));
    }
    new["metadata"]["managedFields"] = Value::Array(entries);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn cm_type() -> std::sync::Arc<ResourceType> {
        Registry::new().by_kind("", "ConfigMap").unwrap()
    }

    #[test]
    fn apply_conflict_force_and_prune() {
        let t = cm_type();
        let a1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"x": "1"}}, "data": {"a": "1", "b": "2"}});
        let live = apply(&t, "v1", None, &a1, "alice", false, None).unwrap();
        assert_eq!(
            live["metadata"]["managedFields"][0]["fieldsV1"]["f:data"]["f:a"],
            json!({})
        );
        // bob changes a → conflict.
        let b1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "9"}});
        let err = apply(&t, "v1", Some(&live), &b1, "bob", false, None).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message.contains("conflict with \"alice\""),
            "{}",
            err.message
        );
        // same value → shared, no conflict
        let b2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let live2 = apply(&t, "v1", Some(&live), &b2, "bob", false, None).unwrap();
        // alice drops a and b: b is removed, a stays (bob owns it).
        let a2 =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
        let live3 = apply(&t, "v1", Some(&live2), &a2, "alice", false, None).unwrap();
        assert_eq!(live3["data"], json!({"a": "1"}));
        assert!(
            live3["metadata"]
                .get("labels")
                .is_none_or(|l| l.get("x").is_none())
        );
        // force takes ownership
        let live4 = apply(&t, "v1", Some(&live3), &b1, "bob", true, None).unwrap();
        assert_eq!(live4["data"]["a"], "9");
    }

    #[test]
    fn update_steals_ownership() {
        let t = cm_type();
        let a1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let live = apply(&t, "v1", None, &a1, "alice", false, None).unwrap();
        let mut updated = live.clone();
        updated["data"]["a"] = json!("2");
        record_update(
            &t,
            Some(&live),
            &mut updated,
            "kubectl-edit",
            "Update",
            None,
        );
        let mf = updated["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1, "{mf:?}");
        assert_eq!(mf[0]["manager"], "kubectl-edit");
        // alice re-applies a=1 without conflict? No: kubectl-edit owns it with a different value.
        assert_eq!(
            apply(&t, "v1", Some(&updated), &a1, "alice", false, None)
                .unwrap_err()
                .code,
            409
        );
    }

    #[test]
    fn list_map_merge_keeps_other_items() {
        let t = Registry::new().by_kind("apps", "Deployment").unwrap();
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let live = apply(&t, "v1", None, &a, "m1", false, None).unwrap();
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}}});
        let merged = apply(&t, "v1", Some(&live), &b, "m2", false, None).unwrap();
        assert_eq!(
            merged
                .pointer("/spec/template/spec/containers")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
