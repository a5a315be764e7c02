//! Live vs desired comparison (gitops-engine `pkg/diff` and Argo CD's diff normalizers).
//!
//! Two comparisons are offered:
//!
//! * [`diff_server_side`] — the preferred one, as Argo CD's server-side diff: the caller asks
//!   the API server for a server-side-apply **dry run** of the desired object; that result (the
//!   "predicted live") already contains defaults and admission changes, so it can be compared
//!   with live after removing server-populated fields.
//!   [`diff_server_side_without_mutations`] additionally reverts admission-webhook changes
//!   using the field manager's `managedFields`, as Argo CD does by default.
//! * [`diff_desired_fields`] — without a cluster round trip: the desired object is merged onto
//!   live (maps recursively, lists of objects by their merge key), so fields only the server
//!   sets (defaults, `status`, metadata) never show as differences. It cannot see a field that
//!   was removed from the desired object; the server-side diff can.
//!
//! Both apply [`IgnoreDifferences`] rules (jsonPointers, simple jqPathExpressions,
//! managedFieldsManagers) to both sides. [`unified_yaml_diff`] renders the result for people;
//! use [`hide_secret_data`] before showing Secrets.

use crate::object;
use crate::yaml::to_yaml;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// Errors in `ignoreDifferences` rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DiffError {
    /// A jsonPointer that is not an RFC 6901 pointer.
    #[error(
        "ignoreDifferences[{rule}].jsonPointers: invalid JSON pointer {pointer:?}: must be empty or start with '/'"
    )]
    InvalidPointer {
        /// Rule index.
        rule: usize,
        /// The pointer.
        pointer: String,
    },
    /// A jq expression outside the supported subset.
    #[error(
        "ignoreDifferences[{rule}].jqPathExpressions: unsupported expression {expr:?}: {reason}"
    )]
    UnsupportedJq {
        /// Rule index.
        rule: usize,
        /// The expression.
        expr: String,
        /// What is not supported.
        reason: String,
    },
}

/// One `spec.ignoreDifferences` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifference {
    /// API group (`""` core, `"*"` any).
    #[serde(default)]
    pub group: String,
    /// Kind (`"*"` any).
    #[serde(default)]
    pub kind: String,
    /// Name (empty = any).
    #[serde(default)]
    pub name: String,
    /// Namespace (empty = any).
    #[serde(default)]
    pub namespace: String,
    /// RFC 6901 pointers to ignore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// jq path expressions to ignore (subset, see [`IgnoreDifferences::new`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

impl IgnoreDifference {
    /// Whether the rule applies to `obj`.
    pub fn matches(&self, obj: &Value) -> bool {
        (self.group == "*" || self.group == object::group(obj))
            && (self.kind == "*" || self.kind == object::kind(obj))
            && (self.name.is_empty() || self.name == object::name(obj))
            && (self.namespace.is_empty() || self.namespace == object::namespace(obj))
    }
}

/// Validated `ignoreDifferences` rules.
#[derive(Debug, Clone, Default)]
pub struct IgnoreDifferences {
    rules: Vec<(IgnoreDifference, Vec<JqPath>)>,
}

impl IgnoreDifferences {
    /// Validates rules. Supported jq subset: paths made of `.field`, `."quoted"`, `["key"]`,
    /// `[N]`, `[]`, with `| select(.path == "string"|number|true|false|null)` filters and `|`
    /// continuations, e.g. `.spec.template.spec.containers[] | select(.name == "web") | .image`
    /// or `.metadata.annotations["example.com/x"]`.
    pub fn new(rules: &[IgnoreDifference]) -> Result<Self, DiffError> {
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for p in &r.json_pointers {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(DiffError::InvalidPointer {
                        rule: i,
                        pointer: p.clone(),
                    });
                }
            }
            let jq = r
                .jq_path_expressions
                .iter()
                .map(|e| {
                    JqPath::parse(e).map_err(|reason| DiffError::UnsupportedJq {
                        rule: i,
                        expr: e.clone(),
                        reason,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push((r.clone(), jq));
        }
        Ok(IgnoreDifferences { rules: out })
    }

    /// No rules.
    pub fn none() -> Self {
        IgnoreDifferences::default()
    }

    /// Removes ignored fields from `target` (an object of the resource `key_obj`, using the
    /// managed fields of `managed_from`).
    fn apply(&self, key_obj: &Value, managed_from: &Value, target: &mut Value) {
        for (rule, jq) in &self.rules {
            if !rule.matches(key_obj) {
                continue;
            }
            if !rule.managed_fields_managers.is_empty() {
                remove_managed_fields(managed_from, &rule.managed_fields_managers, target);
            }
            for p in &rule.json_pointers {
                remove_pointer(target, p);
            }
            for path in jq {
                path.delete(target);
            }
        }
    }
}

/// Result of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffResult {
    /// Whether live differs from the desired state (ignoring what is ignored).
    pub modified: bool,
    /// Normalised live object (`Value::Null` when absent).
    pub normalized_live: Value,
    /// Normalised predicted live object: what live should look like (`Value::Null` when the
    /// object is to be deleted).
    pub predicted_live: Value,
}

/// Metadata fields the API server populates; never part of a comparison.
pub const SERVER_METADATA_FIELDS: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations that are bookkeeping rather than desired state.
pub const IGNORED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// Removes server-populated fields (metadata of [`SERVER_METADATA_FIELDS`], `status`, the
/// last-applied annotation, empty annotation/label maps) and normalises Secrets (`stringData`
/// folded into base64 `data`, null values as `""`), in place.
pub fn normalize(obj: &mut Value) {
    let is_secret = object::group(obj).is_empty() && object::kind(obj) == "Secret";
    let Some(o) = obj.as_object_mut() else { return };
    // CRDs and most kinds: status is owned by controllers.
    o.remove("status");
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_METADATA_FIELDS {
            meta.remove(*f);
        }
        for key in ["annotations", "labels"] {
            if let Some(Value::Object(m)) = meta.get_mut(key) {
                for a in IGNORED_ANNOTATIONS {
                    m.remove(*a);
                }
            }
            let empty = match meta.get(key) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                meta.remove(key);
            }
        }
    }
    if is_secret {
        normalize_secret(o);
    }
}

fn normalize_secret(o: &mut Map<String, Value>) {
    if let Some(Value::Object(string_data)) = o.remove("stringData") {
        let data = o.entry("data").or_insert_with(|| Value::Object(Map::new()));
        if data.is_null() {
            *data = Value::Object(Map::new());
        }
        if let Some(d) = data.as_object_mut() {
            for (k, v) in string_data {
                let enc = match v {
                    Value::String(s) => Value::String(base64(s.as_bytes())),
                    other => other,
                };
                d.insert(k, enc);
            }
        }
    }
    if let Some(Value::Object(d)) = o.get_mut("data") {
        for v in d.values_mut() {
            if v.is_null() {
                *v = Value::String(String::new());
            }
        }
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Compares a server-side-apply dry-run result (`predicted_live`, what the API server returned
/// for `PATCH ?dryRun=All` with `application/apply-patch+yaml`) with `live`.
pub fn diff_server_side(
    predicted_live: &Value,
    live: &Value,
    ignore: &IgnoreDifferences,
) -> DiffResult {
    let mut p = predicted_live.clone();
    let mut l = live.clone();
    // Managed fields are read from live before normalisation removes them.
    ignore.apply(live, live, &mut p);
    ignore.apply(live, live, &mut l);
    normalize(&mut p);
    normalize(&mut l);
    finish(p, l)
}

/// Like [`diff_server_side`], but first reverts what admission webhooks changed (Argo CD's
/// default `removeWebhookMutation`): only the fields `manager` owns in the dry-run result (its
/// `Apply` entry in `metadata.managedFields`) are taken from `predicted_live`, everything else
/// keeps its live value; fields `manager` owned in live but no longer owns are removed (the
/// apply drops them). Without a managedFields entry for `manager` in `predicted_live`, this is
/// [`diff_server_side`].
pub fn diff_server_side_without_mutations(
    predicted_live: &Value,
    live: &Value,
    manager: &str,
    ignore: &IgnoreDifferences,
) -> DiffResult {
    let Some(owned_after) = applied_fieldset(predicted_live, manager) else {
        return diff_server_side(predicted_live, live, ignore);
    };
    let mut predicted = live.clone();
    overlay_owned(&mut predicted, predicted_live, owned_after);
    if let Some(owned_before) = applied_fieldset(live, manager) {
        remove_disowned(&mut predicted, owned_before, owned_after);
    }
    diff_server_side(&predicted, live, ignore)
}

/// The FieldsV1 set of `manager`'s `Apply` entry.
fn applied_fieldset<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(manager)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
                && e.get("subresource").is_none_or(|s| s.as_str() == Some(""))
        })?
        .get("fieldsV1")
}

/// Whether a FieldsV1 node is a leaf (owns the whole value).
fn fieldset_leaf(set: &Value) -> bool {
    set.as_object().is_none_or(|m| m.keys().all(|k| k == "."))
}

/// Finds the index of the list item a FieldsV1 `k:`/`v:`/`i:` key designates.
fn fieldset_item(arr: &[Value], key: &str) -> Option<usize> {
    if let Some(keyjson) = key.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keyjson) else {
            return None;
        };
        arr.iter()
            .position(|item| keys.iter().all(|(kk, kv)| item.get(kk) == Some(kv)))
    } else if let Some(vjson) = key.strip_prefix("v:") {
        let val = serde_json::from_str::<Value>(vjson).ok()?;
        arr.iter().position(|item| *item == val)
    } else if let Some(i) = key.strip_prefix("i:") {
        i.parse::<usize>().ok().filter(|i| *i < arr.len())
    } else {
        None
    }
}

/// Copies from `source` into `target` every field `set` owns.
fn overlay_owned(target: &mut Value, source: &Value, set: &Value) {
    let Some(set) = set.as_object() else { return };
    for (k, child) in set {
        if k == "." {
            continue;
        }
        if let Some(field) = k.strip_prefix("f:") {
            let Some(sv) = source.get(field) else {
                continue;
            };
            let Some(t) = target.as_object_mut() else {
                continue;
            };
            if fieldset_leaf(child) {
                t.insert(field.to_string(), sv.clone());
                continue;
            }
            let tv = t.entry(field.to_string()).or_insert_with(|| match sv {
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Object(_) => Value::Object(Map::new()),
                other => other.clone(),
            });
            if tv.is_null() || std::mem::discriminant(tv) != std::mem::discriminant(sv) {
                *tv = sv.clone();
            } else {
                overlay_owned(tv, sv, child);
            }
        } else if let (Some(sa), Some(ta)) = (source.as_array(), target.as_array_mut()) {
            let Some(si) = fieldset_item(sa, k) else {
                continue;
            };
            match fieldset_item(ta, k) {
                Some(ti) if !fieldset_leaf(child) => overlay_owned(&mut ta[ti], &sa[si], child),
                Some(ti) => ta[ti] = sa[si].clone(),
                None => {
                    // A new item: insert at the position it has in the source.
                    let at = si.min(ta.len());
                    ta.insert(at, sa[si].clone());
                }
            }
        }
    }
}

/// Removes from `target` what `before` owns and `after` does not.
fn remove_disowned(target: &mut Value, before: &Value, after: &Value) {
    let (Some(b), a) = (before.as_object(), after.as_object()) else {
        return;
    };
    for (k, bchild) in b {
        if k == "." {
            continue;
        }
        match a.and_then(|a| a.get(k)) {
            None => {
                if let Some(field) = k.strip_prefix("f:") {
                    if let Some(t) = target.as_object_mut() {
                        t.remove(field);
                    }
                } else if let Some(ta) = target.as_array_mut()
                    && let Some(i) = fieldset_item(ta, k)
                {
                    ta.remove(i);
                }
            }
            Some(achild) if !fieldset_leaf(bchild) => {
                let sub = if let Some(field) = k.strip_prefix("f:") {
                    target.get_mut(field)
                } else {
                    target
                        .as_array_mut()
                        .and_then(|ta| fieldset_item(ta, k).map(move |i| &mut ta[i]))
                };
                if let Some(sub) = sub {
                    remove_disowned(sub, bchild, achild);
                }
            }
            Some(_) => {}
        }
    }
}

/// Compares only the fields set in `desired` with `live` (see the module docs).
pub fn diff_desired_fields(
    desired: &Value,
    live: &Value,
    ignore: &IgnoreDifferences,
) -> DiffResult {
    let mut d = desired.clone();
    normalize(&mut d);
    let mut predicted = live.clone();
    merge_into(&mut predicted, &d);
    let mut l = live.clone();
    ignore.apply(live, live, &mut predicted);
    ignore.apply(live, live, &mut l);
    normalize(&mut predicted);
    normalize(&mut l);
    finish(predicted, l)
}

/// A resource to create (`live` absent) or delete (`desired` absent): always modified.
pub fn diff_create_or_delete(
    desired: Option<&Value>,
    live: Option<&Value>,
    ignore: &IgnoreDifferences,
) -> DiffResult {
    let prep = |v: Option<&Value>| {
        v.map(|v| {
            let mut c = v.clone();
            ignore.apply(v, v, &mut c);
            normalize(&mut c);
            c
        })
        .unwrap_or(Value::Null)
    };
    let p = prep(desired);
    let l = prep(live);
    DiffResult {
        modified: p != l,
        predicted_live: p,
        normalized_live: l,
    }
}

fn finish(predicted: Value, live: Value) -> DiffResult {
    DiffResult {
        modified: predicted != live,
        normalized_live: live,
        predicted_live: predicted,
    }
}

/// Keys that identify items of object lists (Kubernetes' usual merge keys), tried in order.
const MERGE_KEYS: &[&str] = &[
    "name",
    "containerPort",
    "port",
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
];

/// Merges `src` into `dst`: maps recursively, lists of objects by merge key (or position when
/// both lists have the same length and no key fits), everything else replaced. Like an apply,
/// `null` in `src` changes nothing, and an empty list or map in `src` for a field `dst` lacks
/// adds nothing (the API server drops empty lists and maps). A resource quantity (under
/// `limits`, `requests`, `hard`, … or `sizeLimit`) equal in value to `dst`'s (`1000m` vs `1`)
/// keeps `dst`'s canonical spelling.
pub fn merge_into(dst: &mut Value, src: &Value) {
    merge_at(dst, src, "");
}

/// Map keys whose values are resource quantity maps.
const QUANTITY_MAPS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
    "capacity",
    "allocatable",
    "overhead",
];

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn merge_at(dst: &mut Value, src: &Value, parent_key: &str) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            let quantities = QUANTITY_MAPS.contains(&parent_key);
            for (k, sv) in s {
                if sv.is_null() {
                    continue;
                }
                match d.get_mut(k) {
                    Some(dv) => {
                        if (quantities || k == "sizeLimit") && same_quantity(dv, sv) {
                            continue;
                        }
                        merge_at(dv, sv, k);
                    }
                    None if is_empty_container(sv) => {}
                    None => {
                        d.insert(k.clone(), strip_nulls(sv));
                    }
                }
            }
        }
        (Value::Array(d), Value::Array(s)) => {
            let all_obj = |a: &[Value]| a.iter().all(Value::is_object);
            if s.is_empty() || !all_obj(s) || !all_obj(d) {
                *d = s.iter().map(strip_nulls).collect();
                return;
            }
            let key = MERGE_KEYS.iter().find(|k| {
                let has = |a: &[Value]| a.iter().all(|v| v.get(**k).is_some_and(|x| !x.is_null()));
                let unique = |a: &[Value]| {
                    let ks: Vec<&Value> = a.iter().filter_map(|v| v.get(**k)).collect();
                    ks.iter().enumerate().all(|(i, x)| !ks[..i].contains(x))
                };
                has(s) && has(d) && unique(s) && unique(d)
            });
            match key {
                Some(k) => {
                    let mut out = Vec::with_capacity(s.len());
                    for sv in s {
                        let id = sv.get(*k);
                        match d.iter().find(|dv| dv.get(*k) == id) {
                            Some(dv) => {
                                let mut m = dv.clone();
                                merge_at(&mut m, sv, parent_key);
                                out.push(m);
                            }
                            None => out.push(strip_nulls(sv)),
                        }
                    }
                    *d = out;
                }
                None if d.len() == s.len() => {
                    for (dv, sv) in d.iter_mut().zip(s) {
                        merge_at(dv, sv, parent_key);
                    }
                }
                None => *d = s.iter().map(strip_nulls).collect(),
            }
        }
        (d, s) => *d = strip_nulls(s),
    }
}

/// A copy without `null` map values and without empty lists/maps as map values.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null() && !is_empty_container(x))
                .map(|(k, x)| (k.clone(), strip_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Value of a Kubernetes resource quantity (`500m`, `1Gi`, `1e3`, `2`), as f64.
pub fn parse_quantity(v: &Value) -> Option<f64> {
    let s = match v {
        Value::Number(n) => return n.as_f64(),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let base: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    Some(base * mult)
}

fn same_quantity(a: &Value, b: &Value) -> bool {
    match (parse_quantity(a), parse_quantity(b)) {
        (Some(x), Some(y)) => {
            let scale = x.abs().max(y.abs()).max(1e-12);
            ((x - y) / scale).abs() < 1e-12
        }
        _ => false,
    }
}

/// Desired object prepared for apply with `RespectIgnoreDifferences=true`: ignored fields are
/// removed from `desired` and the live values of those fields are copied in, so applying it
/// leaves them as they are in the cluster (Argo CD's `normalizeTargetResources`).
pub fn respect_ignore_differences(
    desired: &Value,
    live: &Value,
    ignore: &IgnoreDifferences,
) -> Value {
    let mut target = desired.clone();
    ignore.apply(live, live, &mut target);
    let mut normalized_live = live.clone();
    ignore.apply(live, live, &mut normalized_live);
    copy_removed(&mut target, live, &normalized_live);
    target
}

/// Copies into `target` what `full` has and `reduced` lacks.
fn copy_removed(target: &mut Value, full: &Value, reduced: &Value) {
    match (full, reduced) {
        (Value::Object(f), Value::Object(r)) => {
            let Some(t) = target.as_object_mut() else {
                return;
            };
            for (k, fv) in f {
                match r.get(k) {
                    None => {
                        t.insert(k.clone(), fv.clone());
                    }
                    Some(rv) if rv != fv => match t.get_mut(k) {
                        Some(tv) => copy_removed(tv, fv, rv),
                        None => {
                            t.insert(k.clone(), fv.clone());
                        }
                    },
                    Some(_) => {}
                }
            }
        }
        (Value::Array(f), Value::Array(r)) if f.len() == r.len() => {
            if let Some(t) = target.as_array_mut()
                && t.len() == f.len()
            {
                for ((tv, fv), rv) in t.iter_mut().zip(f).zip(r) {
                    if fv != rv {
                        copy_removed(tv, fv, rv);
                    }
                }
            } else {
                *target = full.clone();
            }
        }
        _ => *target = full.clone(),
    }
}

/// Removes the value at an RFC 6901 pointer; no-op when absent. `""` clears the whole object.
pub fn remove_pointer(v: &mut Value, pointer: &str) {
    if pointer.is_empty() {
        *v = Value::Null;
        return;
    }
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    let target = if parent.is_empty() {
        Some(v)
    } else {
        v.pointer_mut(parent)
    };
    match target {
        Some(Value::Object(m)) => {
            m.remove(&last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// Removes from `target` the fields that `managers` own according to `live`'s
/// `metadata.managedFields` (FieldsV1): owned leaves are removed, owned list items (`k:`, `v:`,
/// `i:` with `.`) are removed whole, maps left empty by the removal are dropped.
pub fn remove_managed_fields(live: &Value, managers: &[String], target: &mut Value) {
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return;
    };
    for e in entries {
        let manager = e.get("manager").and_then(Value::as_str).unwrap_or("");
        if !managers.iter().any(|m| m == manager) {
            continue;
        }
        if let Some(fields) = e.get("fieldsV1") {
            remove_fieldset(target, fields);
        }
    }
}

fn remove_fieldset(target: &mut Value, set: &Value) {
    let Some(set) = set.as_object() else { return };
    for (k, child) in set {
        if k == "." {
            continue;
        }
        let child_empty = child.as_object().is_none_or(|m| m.is_empty());
        if let Some(field) = k.strip_prefix("f:") {
            let Some(obj) = target.as_object_mut() else {
                continue;
            };
            if child_empty {
                obj.remove(field);
            } else if let Some(sub) = obj.get_mut(field) {
                remove_fieldset(sub, child);
                if sub.as_object().is_some_and(|m| m.is_empty()) {
                    obj.remove(field);
                }
            }
        } else if let Some(arr) = target.as_array_mut() {
            let owned_whole = child_empty || child.get(".").is_some();
            let idx = if let Some(keyjson) = k.strip_prefix("k:") {
                let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keyjson) else {
                    continue;
                };
                arr.iter()
                    .position(|item| keys.iter().all(|(kk, kv)| item.get(kk) == Some(kv)))
            } else if let Some(vjson) = k.strip_prefix("v:") {
                let Ok(val) = serde_json::from_str::<Value>(vjson) else {
                    continue;
                };
                arr.iter().position(|item| *item == val)
            } else if let Some(i) = k.strip_prefix("i:") {
                i.parse::<usize>().ok().filter(|i| *i < arr.len())
            } else {
                None
            };
            if let Some(i) = idx {
                if owned_whole {
                    arr.remove(i);
                } else {
                    remove_fieldset(&mut arr[i], child);
                }
            }
        }
    }
}

/// A parsed jq path expression (the supported subset).
#[derive(Debug, Clone, PartialEq)]
struct JqPath {
    steps: Vec<JqStep>,
}

#[derive(Debug, Clone, PartialEq)]
enum JqStep {
    Field(String),
    Index(i64),
    Iterate,
    /// `select(<path> == <literal>)`
    Select(Vec<JqStep>, Value),
}

impl JqPath {
    fn parse(expr: &str) -> Result<JqPath, String> {
        let mut steps = Vec::new();
        for (i, segment) in split_pipes(expr)?.iter().enumerate() {
            let seg = segment.trim();
            if let Some(inner) = seg
                .strip_prefix("select(")
                .and_then(|s| s.strip_suffix(')'))
            {
                let (lhs, rhs) = inner
                    .split_once("==")
                    .ok_or_else(|| "select() needs `<path> == <value>`".to_string())?;
                let lhs = parse_path(lhs.trim())?;
                let rhs: Value = serde_json::from_str(rhs.trim()).map_err(|_| {
                    format!("select() value {:?} is not a JSON literal", rhs.trim())
                })?;
                steps.push(JqStep::Select(lhs, rhs));
            } else if seg.starts_with('.') {
                steps.extend(parse_path(seg)?);
            } else if i == 0 && seg.is_empty() {
                return Err("empty expression".into());
            } else {
                return Err(format!("segment {seg:?} is neither a path nor select()"));
            }
        }
        Ok(JqPath { steps })
    }

    /// Deletes every location the path designates (as jq's `del(path)`).
    fn delete(&self, v: &mut Value) {
        delete_steps(v, &self.steps);
    }
}

fn split_pipes(expr: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut escaped = false;
    let mut depth = 0i32;
    for c in expr.chars() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '(' | '[' => {
                depth += 1;
                cur.push(c);
            }
            ')' | ']' => {
                depth -= 1;
                cur.push(c);
            }
            '|' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if in_str || depth != 0 {
        return Err("unbalanced quotes or brackets".into());
    }
    out.push(cur);
    Ok(out)
}

fn parse_path(s: &str) -> Result<Vec<JqStep>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut steps = Vec::new();
    if s == "." {
        return Ok(steps);
    }
    while i < b.len() {
        match b[i] {
            '.' => {
                i += 1;
                if i < b.len() && b[i] == '"' {
                    let (st, n) = read_string(&b[i..])?;
                    steps.push(JqStep::Field(st));
                    i += n;
                } else if i < b.len() && b[i] == '[' {
                    // `.[...]` is the same as `[...]`
                } else {
                    let start = i;
                    while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                        i += 1;
                    }
                    if start == i {
                        return Err(format!(
                            "expected a field name at {:?}",
                            b[start..].iter().collect::<String>()
                        ));
                    }
                    steps.push(JqStep::Field(b[start..i].iter().collect()));
                }
            }
            '[' => {
                i += 1;
                if i < b.len() && b[i] == ']' {
                    steps.push(JqStep::Iterate);
                    i += 1;
                } else if i < b.len() && b[i] == '"' {
                    let (st, n) = read_string(&b[i..])?;
                    i += n;
                    if i >= b.len() || b[i] != ']' {
                        return Err("expected ']'".into());
                    }
                    i += 1;
                    steps.push(JqStep::Field(st));
                } else {
                    let start = i;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == '-') {
                        i += 1;
                    }
                    let n: i64 = b[start..i]
                        .iter()
                        .collect::<String>()
                        .parse()
                        .map_err(|_| "expected an index, a string or ']' after '['".to_string())?;
                    if i >= b.len() || b[i] != ']' {
                        return Err("expected ']'".into());
                    }
                    i += 1;
                    steps.push(JqStep::Index(n));
                }
            }
            c if c.is_whitespace() => i += 1,
            c => return Err(format!("unexpected character {c:?}")),
        }
    }
    Ok(steps)
}

/// Reads a JSON string literal at the start of `b`; returns it and the chars consumed.
fn read_string(b: &[char]) -> Result<(String, usize), String> {
    let mut i = 1;
    let mut escaped = false;
    while i < b.len() {
        if escaped {
            escaped = false;
        } else if b[i] == '\\' {
            escaped = true;
        } else if b[i] == '"' {
            let lit: String = b[..=i].iter().collect();
            let s: String = serde_json::from_str(&lit).map_err(|e| format!("bad string: {e}"))?;
            return Ok((s, i + 1));
        }
        i += 1;
    }
    Err("unterminated string".into())
}

fn get_steps<'a>(v: &'a Value, steps: &[JqStep]) -> Vec<&'a Value> {
    let Some((first, rest)) = steps.split_first() else {
        return vec![v];
    };
    match first {
        JqStep::Field(f) => v.get(f).map(|x| get_steps(x, rest)).unwrap_or_default(),
        JqStep::Index(i) => v
            .as_array()
            .and_then(|a| index(a.len(), *i).map(|i| &a[i]))
            .map(|x| get_steps(x, rest))
            .unwrap_or_default(),
        JqStep::Iterate => match v {
            Value::Array(a) => a.iter().flat_map(|x| get_steps(x, rest)).collect(),
            Value::Object(m) => m.values().flat_map(|x| get_steps(x, rest)).collect(),
            _ => Vec::new(),
        },
        JqStep::Select(path, lit) => {
            if get_steps(v, path).contains(&lit) {
                get_steps(v, rest)
            } else {
                Vec::new()
            }
        }
    }
}

fn index(len: usize, i: i64) -> Option<usize> {
    let idx = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&idx).then_some(idx as usize)
}

fn delete_steps(v: &mut Value, steps: &[JqStep]) {
    // The last path step is removed from its container; `select` as last step deletes the
    // selected element itself, which its container (an iteration) handles.
    let Some((first, rest)) = steps.split_first() else {
        return;
    };
    let last_is_select_only = rest.iter().all(|s| matches!(s, JqStep::Select(..)));
    match first {
        JqStep::Field(f) => {
            if rest.is_empty() {
                if let Some(m) = v.as_object_mut() {
                    m.remove(f);
                }
            } else if last_is_select_only {
                let remove = v.get(f).is_some_and(|x| selects(x, rest));
                if remove && let Some(m) = v.as_object_mut() {
                    m.remove(f);
                }
            } else if let Some(x) = v.get_mut(f) {
                delete_steps(x, rest);
            }
        }
        JqStep::Index(i) => {
            if let Some(a) = v.as_array_mut()
                && let Some(idx) = index(a.len(), *i)
            {
                if rest.is_empty() || (last_is_select_only && selects(&a[idx], rest)) {
                    a.remove(idx);
                } else if !last_is_select_only {
                    delete_steps(&mut a[idx], rest);
                }
            }
        }
        JqStep::Iterate => match v {
            Value::Array(a) => {
                if rest.is_empty() {
                    a.clear();
                } else if last_is_select_only {
                    a.retain(|x| !selects(x, rest));
                } else {
                    for x in a.iter_mut() {
                        delete_steps(x, rest);
                    }
                }
            }
            Value::Object(m) => {
                if rest.is_empty() {
                    m.clear();
                } else if last_is_select_only {
                    m.retain(|_, x| !selects(x, rest));
                } else {
                    for x in m.values_mut() {
                        delete_steps(x, rest);
                    }
                }
            }
            _ => {}
        },
        JqStep::Select(path, lit) => {
            if get_steps(v, path).contains(&lit) {
                delete_steps(v, rest);
            }
        }
    }
}

fn selects(v: &Value, selects: &[JqStep]) -> bool {
    selects.iter().all(|s| match s {
        JqStep::Select(path, lit) => get_steps(v, path).contains(&lit),
        _ => false,
    })
}

/// Replaces Secret `data` values by `+` strings so a diff shows which keys changed without
/// showing values (as Argo CD's `HideSecretData`): equal values get the same mask, differing
/// values different masks. Non-Secrets are returned unchanged.
pub fn hide_secret_data(
    desired: Option<&Value>,
    live: Option<&Value>,
) -> (Option<Value>, Option<Value>) {
    let is_secret = |v: &Value| object::group(v).is_empty() && object::kind(v) == "Secret";
    if !desired.into_iter().chain(live).any(is_secret) {
        return (desired.cloned(), live.cloned());
    }
    let mut d = desired.cloned();
    let mut l = live.cloned();
    for v in d.iter_mut().chain(l.iter_mut()) {
        normalize_secret_in(v);
    }
    let data = |v: &Option<Value>| -> Map<String, Value> {
        v.as_ref()
            .and_then(|v| v.get("data"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let dd = data(&d);
    let ld = data(&l);
    let mut keys: Vec<&String> = dd.keys().chain(ld.keys()).collect();
    keys.sort();
    keys.dedup();
    let mask = |n: usize| Value::String("+".repeat(n));
    for k in keys {
        let (dm, lm) = match (dd.get(k), ld.get(k)) {
            (Some(a), Some(b)) if a == b => (Some(mask(8)), Some(mask(8))),
            (a, b) => (a.map(|_| mask(8)), b.map(|_| mask(9))),
        };
        if let (Some(m), Some(Value::Object(map))) =
            (dm, d.as_mut().and_then(|v| v.get_mut("data")))
        {
            map.insert(k.clone(), m);
        }
        if let (Some(m), Some(Value::Object(map))) =
            (lm, l.as_mut().and_then(|v| v.get_mut("data")))
        {
            map.insert(k.clone(), m);
        }
    }
    for v in d.iter_mut().chain(l.iter_mut()) {
        if let Some(a) = object::annotations_mut(v) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    (d, l)
}

fn normalize_secret_in(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        normalize_secret(o);
    }
}

/// The whole `ferry app diff` text for compared resources (`DiffResult`s, e.g. from
/// [`diff_server_side`]): for each modified one, the `=====` header and a unified YAML diff of
/// normalised live vs predicted live, Secret values masked. Empty when nothing differs.
pub fn render_app_diff(results: &[DiffResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| r.modified) {
        let live = Some(&r.normalized_live).filter(|v| !v.is_null());
        let predicted = Some(&r.predicted_live).filter(|v| !v.is_null());
        let Some(obj) = predicted.or(live) else {
            continue;
        };
        let (predicted, live) = hide_secret_data(predicted, live);
        let label = format!(
            "{}/{} {}/{}",
            object::group(obj),
            object::kind(obj),
            object::namespace(obj),
            object::name(obj)
        );
        out.push_str(&resource_diff_header(obj));
        out.push('\n');
        out.push_str(&unified_yaml_diff(
            live.as_ref(),
            predicted.as_ref(),
            &label,
        ));
    }
    out
}

/// The header line `argocd app diff` prints before each resource:
/// `===== group/Kind namespace/name ======`.
pub fn resource_diff_header(obj: &Value) -> String {
    format!(
        "===== {}/{} {}/{} ======",
        object::group(obj),
        object::kind(obj),
        object::namespace(obj),
        object::name(obj)
    )
}

/// A unified diff (3 lines of context) of two objects rendered as YAML, `live` → `desired`,
/// with `---`/`+++` headers naming `label` (e.g. `apps/Deployment web/web`). Empty when equal;
/// an absent side counts as an empty document.
pub fn unified_yaml_diff(live: Option<&Value>, desired: Option<&Value>, label: &str) -> String {
    let a = live
        .filter(|v| !v.is_null())
        .map(to_yaml)
        .unwrap_or_default();
    let b = desired
        .filter(|v| !v.is_null())
        .map(to_yaml)
        .unwrap_or_default();
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{label}"), &format!("desired/{label}"))
        .to_string()
}

#[cfg(test)]
mod tests;
