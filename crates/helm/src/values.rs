//! Values as Helm composes them: `chartutil.CoalesceValues`/`MergeValues`, `-f` merging, and
//! path lookups (`Values.PathValue`, `Values.Table`).
//!
//! Values are `serde_json` trees (thread-safe, cheap to hash) where numbers keep Go's distinction:
//! a float number is Go `float64` (everything read from YAML or JSON), an integer is `int64`
//! (`--set` integers). They become template data only inside a render.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::chart::Chart;

/// A values map (`map[string]interface{}`).
pub type Values = Map<String, Value>;

/// Converts a JSON tree as `encoding/json` decodes into `interface{}`: every number float64.
pub fn go_json(v: Value) -> Value {
    match v {
        Value::Number(n) if !n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(go_json).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, go_json(v))).collect()),
        other => other,
    }
}

/// The Helm CLI's `mergeMaps` for `-f` files and `--set-json` objects: nested maps merge,
/// anything else replaces.
pub fn merge_maps(mut a: Values, b: Values) -> Values {
    if a.is_empty() {
        // Nothing to merge into (the first values document, the first `-f` file).
        return b;
    }
    for (k, v) in b {
        match (v, a.get_mut(&k)) {
            (Value::Object(bv), Some(Value::Object(av))) => {
                let merged = merge_maps(std::mem::take(av), bv);
                *av = merged;
            }
            (v, _) => {
                a.insert(k, v);
            }
        }
    }
    a
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// `chartutil.CoalesceValues(chart, vals)`: user values over chart defaults, recursively into
/// subcharts, globals flowing down; a user `null` deletes a default.
pub fn coalesce_values(chart: &Chart, vals: &Values) -> Values {
    coalesce(chart, vals.clone(), "", false)
}

/// [`coalesce_values`] that moves the values of `chart` (and of its subcharts) into the result
/// where `chart` holds them alone, instead of copying them: `chart` is left without the
/// values it held alone (for a chart whose values are spent, as a render's processed copy).
pub fn coalesce_values_taking(chart: &mut Chart, vals: &Values) -> Values {
    coalesce_taking(chart, vals.clone(), "")
}

fn coalesce_taking(chart: &mut Chart, mut dest: Values, prefix: &str) -> Values {
    match Arc::try_unwrap(std::mem::take(&mut chart.values)) {
        Ok(own) => coalesce_own_values(chart, own, &mut dest),
        Err(shared) => {
            chart.values = shared;
            coalesce_chart_values(chart, &mut dest, prefix, false, |_| true);
        }
    }
    let sub_prefix = concat_prefix(prefix, chart.name());
    for sub in &mut chart.dependencies {
        let name = sub.name().to_string();
        let Some(mut dv) = take_sub_table(&mut dest, &name) else {
            return dest;
        };
        coalesce_globals(&mut dv, &dest);
        let out = coalesce_taking(sub, dv, &sub_prefix);
        dest.insert(name, Value::Object(out));
    }
    dest
}

/// [`coalesce_chart_values`] (coalescing, not merging) of values the caller owns: they move
/// into `v`.
fn coalesce_own_values(chart: &Chart, mut own: Values, v: &mut Values) {
    if v.is_empty() {
        // Nothing to coalesce with (no user values): the chart's values without their nulls,
        // in place of a rebuilt map.
        clean_nil_values(&mut own);
        *v = own;
        return;
    }
    for (key, val) in own {
        match v.get_mut(&key) {
            Some(value) => {
                if value.is_null() {
                    v.remove(&key);
                } else if let Value::Object(dest) = value {
                    match val {
                        Value::Object(mut src) => {
                            let merge = chart.dependencies.iter().any(|d| d.name() == key);
                            if !merge {
                                clean_nil_values(&mut src);
                            }
                            coalesce_tables(dest, &mut src, merge);
                        }
                        Value::Null => {}
                        _ => tracing::debug!("skipped value for {key}: Not a table."),
                    }
                }
            }
            None => {
                let val = match val {
                    Value::Null => continue,
                    Value::Object(mut sub) => {
                        clean_nil_values(&mut sub);
                        Value::Object(sub)
                    }
                    other => other,
                };
                v.insert(key, val);
            }
        }
    }
}

/// `chartutil.MergeValues`: like [`coalesce_values`] but nulls are kept.
pub fn merge_values(chart: &Chart, vals: &Values) -> Values {
    coalesce(chart, vals.clone(), "", true)
}

/// [`merge_values`] with no user values, moving the values `chart` holds alone into the
/// result instead of copying them (`chart` is left without them): with no values to merge
/// into, the chart's own values are the result's top level as they are.
pub(crate) fn merge_values_taking(chart: &mut Chart) -> Values {
    match Arc::try_unwrap(std::mem::take(&mut chart.values)) {
        Ok(own) => coalesce_deps(chart, own, "", true),
        Err(shared) => {
            chart.values = shared;
            merge_values(chart, &Values::new())
        }
    }
}

fn coalesce(chart: &Chart, mut dest: Values, prefix: &str, merge: bool) -> Values {
    coalesce_chart_values(chart, &mut dest, prefix, merge, |_| true);
    coalesce_deps(chart, dest, prefix, merge)
}

/// [`coalesce_values`] restricted to the top-level `keys`: the result holds the entries the
/// full result has under those keys (and possibly `global`), nothing else. Each top-level
/// entry of the full result depends only on the same entry of `vals` and of the chart's
/// values, on `global` (for a subchart's entry) and on whether an earlier subchart's entry
/// stopped the coalescing (a type mismatch), which is decided here without building it.
/// `None` when a subchart is named `global` (its entry would replace the globals).
pub(crate) fn coalesce_values_keys(chart: &Chart, vals: &Values, keys: &[&str]) -> Option<Values> {
    if chart.dependencies.iter().any(|d| d.name() == "global") {
        return None;
    }
    let needs_global = chart.dependencies.iter().any(|d| keys.contains(&d.name()));
    let want = |k: &str| keys.contains(&k) || (needs_global && k == "global");
    let mut dest: Values = vals
        .iter()
        .filter(|(k, _)| want(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    coalesce_chart_values(chart, &mut dest, "", false, want);
    for sub in &chart.dependencies {
        let name = sub.name();
        if !want(name) {
            if entry_mismatch(chart, vals, name) {
                return Some(dest);
            }
            continue;
        }
        match dest.get(name) {
            None => {
                dest.insert(name.to_string(), Value::Object(Map::new()));
            }
            Some(Value::Object(_)) => {}
            Some(_) => return Some(dest),
        }
        let Some(Value::Object(mut dv)) = dest.remove(name) else {
            continue;
        };
        let sub_prefix = concat_prefix("", chart.name());
        coalesce_globals(&mut dv, &dest);
        let out = coalesce(sub, dv, &sub_prefix, false);
        dest.insert(name.to_string(), Value::Object(out));
    }
    Some(dest)
}

/// Whether the top-level entry `key` of `coalesce_values(chart, vals)`, after the chart's own
/// values are coalesced (before subcharts), is present and not a table: a subchart of that
/// name stops the coalescing of the remaining subcharts ("type mismatch").
fn entry_mismatch(chart: &Chart, vals: &Values, key: &str) -> bool {
    match (vals.get(key), chart.values.get(key)) {
        // A user null deletes the chart's entry.
        (Some(Value::Null), Some(_)) => false,
        (Some(Value::Object(_)), _) => false,
        (Some(_), _) => true,
        (None, None | Some(Value::Null) | Some(Value::Object(_))) => false,
        (None, Some(_)) => true,
    }
}

/// A subchart's table taken out of `dest` to be coalesced (an empty one when absent). `None` on
/// a type mismatch (the entry is not a table): Helm returns "type mismatch" there and renders
/// with what it has, so the caller stops coalescing dependencies.
fn take_sub_table(dest: &mut Values, name: &str) -> Option<Map<String, Value>> {
    if dest.get(name).is_some_and(|v| !v.is_object()) {
        tracing::debug!("type mismatch on {name}");
        return None;
    }
    match dest.remove(name) {
        Some(Value::Object(m)) => Some(m),
        _ => Some(Map::new()),
    }
}

fn coalesce_deps(chart: &Chart, mut dest: Values, prefix: &str, merge: bool) -> Values {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let Some(mut dv) = take_sub_table(&mut dest, &name) else {
            return dest;
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        coalesce_globals(&mut dv, &dest);
        let out = coalesce(sub, dv, &sub_prefix, merge);
        dest.insert(name, Value::Object(out));
    }
    dest
}

fn coalesce_globals(dest: &mut Values, src: &Values) {
    match dest.get("global") {
        None | Some(Value::Object(_)) => {}
        Some(_) => {
            tracing::debug!("skipping globals because destination global is not a table.");
            return;
        }
    }
    let empty = Map::new();
    let sg = match src.get("global") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            tracing::debug!("skipping globals because source global is not a table.");
            return;
        }
    };
    let mut dg = match dest.remove("global") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (key, val) in sg {
        let key = key.clone();
        if let Value::Object(vv) = val {
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Object(vv.clone()));
                }
                Some(Value::Object(destv)) => {
                    let mut vv = vv.clone();
                    coalesce_tables_from(&mut vv, destv, true, false);
                    dg.insert(key, Value::Object(vv));
                }
                Some(_) => {
                    tracing::debug!(
                        "Conflict: cannot merge map onto non-map for {key:?}. Skipping."
                    );
                }
            }
        } else if matches!(dg.get(&key), Some(Value::Object(_))) {
            tracing::debug!("key {key} is table. Skipping");
        } else {
            dg.insert(key, val.clone());
        }
    }
    dest.insert("global".into(), Value::Object(dg));
}

fn coalesce_chart_values(
    chart: &Chart,
    v: &mut Values,
    _prefix: &str,
    merge: bool,
    want: impl Fn(&str) -> bool,
) {
    for (key, val) in chart.values.iter() {
        if !want(key) {
            continue;
        }
        match v.get_mut(key) {
            Some(value) => {
                if value.is_null() && !merge {
                    v.remove(key);
                } else if let Value::Object(dest) = value {
                    match val {
                        Value::Object(src) => {
                            let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                            coalesce_tables_from(dest, src, merge, !merge);
                        }
                        Value::Null => {}
                        _ => tracing::debug!("skipped value for {key}: Not a table."),
                    }
                }
            }
            None => {
                if !merge {
                    let val = match val {
                        Value::Null => continue,
                        Value::Object(sub) => Value::Object(clone_without_nils(sub)),
                        other => other.clone(),
                    };
                    v.insert(key.clone(), val);
                } else {
                    v.insert(key.clone(), val.clone());
                }
            }
        }
    }
}

/// `coalesceTablesFullKey(dst, src)`: fills `dst` from `src`; `dst` wins. `src` is left
/// partly emptied (its values move into `dst`).
fn coalesce_tables(dst: &mut Values, src: &mut Values, merge: bool) {
    // The keys `dst` sets to null, and whether `src` had a non-null value for each.
    let nulls: Vec<(String, bool)> = dst
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| (k.clone(), src.get(k).is_some_and(|v| !v.is_null())))
        .collect();
    for (k, _) in &nulls {
        src.insert(k.clone(), Value::Null);
    }
    let src_non_nil = |key: &str| nulls.iter().any(|(k, had)| *had && k == key);
    for (key, val) in src.iter_mut() {
        match dst.get_mut(key) {
            Some(dv) if !merge && dv.is_null() && src_non_nil(key) => {
                dst.remove(key);
            }
            None => {
                dst.insert(key.clone(), std::mem::take(val));
            }
            Some(dv) => {
                if let Value::Object(sv) = val {
                    if let Value::Object(dm) = dv {
                        coalesce_tables(dm, sv, merge);
                    } else {
                        tracing::debug!("cannot overwrite table with non table for {key}");
                    }
                } else if dv.is_object() && !val.is_null() {
                    tracing::debug!("destination for {key} is a table. Ignoring non-table value");
                }
            }
        }
    }
}

/// [`coalesce_tables`] from a borrowed `src` (seen without its nulls, recursively, when
/// `clean`): copies only what moves into `dst`.
fn coalesce_tables_from(dst: &mut Values, src: &Values, merge: bool, clean: bool) {
    for (key, val) in src {
        if clean && val.is_null() {
            continue;
        }
        match dst.get_mut(key) {
            // A null in `dst` stays, or (coalescing) deletes the key when `src` has a value;
            // `src`'s value never comes in.
            Some(Value::Null) => {
                if !merge && !val.is_null() {
                    dst.remove(key);
                }
            }
            None => {
                let v = match val {
                    Value::Object(sub) if clean => Value::Object(clone_without_nils(sub)),
                    other => other.clone(),
                };
                dst.insert(key.clone(), v);
            }
            Some(Value::Object(dm)) => {
                if let Value::Object(sv) = val {
                    coalesce_tables_from(dm, sv, merge, clean);
                } else if !val.is_null() {
                    tracing::debug!("destination for {key} is a table. Ignoring non-table value");
                }
            }
            Some(_) => {
                if val.is_object() {
                    tracing::debug!("cannot overwrite table with non table for {key}");
                }
            }
        }
    }
}

/// `CoalesceTables(dst, src)` on owned maps (used by import-values): `dst` wins.
pub fn coalesce_tables_owned(mut dst: Values, mut src: Values, merge: bool) -> Values {
    coalesce_tables(&mut dst, &mut src, merge);
    dst
}

/// A copy of `m` with [`clean_nil_values`] applied, built in one pass.
fn clone_without_nils(m: &Values) -> Values {
    m.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                Value::Object(sub) => Value::Object(clone_without_nils(sub)),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn clean_nil_values(m: &mut Values) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        if let Value::Object(sub) = v {
            clean_nil_values(sub);
        }
    }
}

/// Removes nil values recursively (`trimNilValues`).
pub fn trim_nil_values(m: &mut Values) {
    clean_nil_values(m)
}

/// `Values.Table("a.b.c")`: the map at a dotted path.
pub fn table<'a>(v: &'a Values, path: &str) -> Option<&'a Values> {
    let mut cur = v;
    for part in path.split('.') {
        match cur.get(part) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

/// `Values.PathValue("a.b.c")`: a non-table value at a dotted path (tables are not returned).
pub fn path_value<'a>(v: &'a Values, path: &str) -> Option<&'a Value> {
    let path = path.trim_start_matches('.');
    let (head, last) = match path.rsplit_once('.') {
        Some((h, l)) => (Some(h), l),
        None => (None, path),
    };
    let t = match head {
        Some(h) => table(v, h)?,
        None => v,
    };
    match t.get(last) {
        Some(Value::Object(_)) | None => None,
        Some(x) => Some(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Values {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn merge_maps_deep() {
        let a = obj(json!({"a":{"x":1,"y":2},"l":[1]}));
        let b = obj(json!({"a":{"y":3},"l":[2,3]}));
        assert_eq!(
            Value::Object(merge_maps(a, b)),
            json!({"a":{"x":1,"y":3},"l":[2,3]})
        );
    }

    #[test]
    fn coalesce_tables_dst_wins_and_null_deletes() {
        let mut dst = obj(json!({"a":1,"n":null,"t":{"x":1}}));
        let mut src = obj(json!({"a":2,"b":3,"n":5,"t":{"x":2,"y":3}}));
        coalesce_tables(&mut dst, &mut src, false);
        assert_eq!(Value::Object(dst), json!({"a":1,"b":3,"t":{"x":1,"y":3}}));
    }

    /// A random small values tree over a few keys (including subchart names and `global`).
    fn random_tree(below: &mut impl FnMut(usize) -> usize, depth: usize) -> Values {
        const KEYS: &[&str] = &["a", "b", "sub", "other", "global", "tags", "x"];
        let mut m = Map::new();
        for _ in 0..below(5) {
            let v = match below(if depth == 0 { 5 } else { 6 }) {
                0 => Value::Null,
                1 => json!(true),
                2 => json!(1.5),
                3 => json!("s"),
                4 => json!([1, null]),
                _ => Value::Object(random_tree(below, depth - 1)),
            };
            m.insert(KEYS[below(KEYS.len())].to_string(), v);
        }
        m
    }

    #[test]
    fn restricted_coalesce_matches_the_full_one() {
        let mut below = testkit::rand::below_fn(0x5EED_C0A1_E5CE_0001);
        const SUBS: &[&str] = &["sub", "other", "x"];
        for _ in 0..5_000 {
            let mut chart = Chart::default();
            chart.metadata.name = "root".into();
            chart.values = std::sync::Arc::new(random_tree(&mut below, 2));
            for _ in 0..below(3) {
                let mut sub = Chart::default();
                sub.metadata.name = SUBS[below(SUBS.len())].into();
                sub.values = std::sync::Arc::new(random_tree(&mut below, 2));
                chart.dependencies.push(sub);
            }
            let user = random_tree(&mut below, 2);
            let full = coalesce_values(&chart, &user);
            const ASK: &[&str] = &["a", "sub", "other", "x", "tags", "global", "none"];
            let keys: Vec<&str> = (0..below(4)).map(|_| ASK[below(ASK.len())]).collect();
            let Some(part) = coalesce_values_keys(&chart, &user, &keys) else {
                panic!("no subchart is named global")
            };
            for k in &keys {
                assert_eq!(part.get(*k), full.get(*k), "{k}: {chart:?} {user:?}");
            }
        }
    }

    #[test]
    fn coalesce_from_a_borrowed_table_matches_the_owned_one() {
        let mut below = testkit::rand::below_fn(0x5EED_C0A1_E5CE_0002);
        for _ in 0..20_000 {
            let dst = random_tree(&mut below, 3);
            let src = random_tree(&mut below, 3);
            let (merge, clean) = (below(2) == 0, below(2) == 0);
            let mut want = dst.clone();
            let mut owned = src.clone();
            if clean {
                clean_nil_values(&mut owned);
            }
            coalesce_tables(&mut want, &mut owned, merge);
            let mut got = dst.clone();
            coalesce_tables_from(&mut got, &src, merge, clean);
            assert_eq!(got, want, "{dst:?} {src:?} merge={merge} clean={clean}");
        }
    }

    #[test]
    fn coalesce_taking_values_matches_copying_them() {
        let mut below = testkit::rand::below_fn(0x5EED_C0A1_E5CE_0003);
        const NAMES: &[&str] = &["sub", "other", "x", "global"];
        fn build(below: &mut impl FnMut(usize) -> usize, name: &str, depth: usize) -> Chart {
            let mut c = Chart::default();
            c.metadata.name = name.into();
            c.values = Arc::new(random_tree(below, 3));
            if depth > 0 {
                for _ in 0..below(3) {
                    let n = NAMES[below(NAMES.len())];
                    c.dependencies.push(build(below, n, depth - 1));
                }
            }
            c
        }
        fn share(below: &mut impl FnMut(usize) -> usize, c: &Chart, keep: &mut Vec<Arc<Values>>) {
            if below(2) == 0 {
                keep.push(c.values.clone());
            }
            for d in &c.dependencies {
                share(below, d, keep);
            }
        }
        for _ in 0..5_000 {
            let chart = build(&mut below, "root", 2);
            let user = random_tree(&mut below, 3);
            let want = coalesce_values(&chart, &user);
            let mut taken = chart.clone();
            drop(chart);
            let mut keep = Vec::new();
            share(&mut below, &taken, &mut keep);
            assert_eq!(coalesce_values_taking(&mut taken, &user), want);
            // Merging (nulls kept, no user values), as import-values processing does.
            let chart = build(&mut below, "root", 2);
            let want = merge_values(&chart, &Values::new());
            let mut taken = chart.clone();
            drop(chart);
            let mut keep = Vec::new();
            share(&mut below, &taken, &mut keep);
            let shared = keep.first().is_some_and(|k| Arc::ptr_eq(k, &taken.values));
            let own = (*taken.values).clone();
            assert_eq!(merge_values_taking(&mut taken), want);
            // The values the chart held alone are gone (moved), shared ones stay.
            if shared {
                assert_eq!(*taken.values, own);
            } else {
                assert!(taken.values.is_empty());
            }
        }
    }

    #[test]
    fn path_lookups() {
        let v = obj(json!({"a":{"b":{"c":true}}}));
        assert_eq!(path_value(&v, "a.b.c"), Some(&json!(true)));
        assert_eq!(path_value(&v, "a.b"), None);
        assert!(table(&v, "a.b").is_some());
    }
}
