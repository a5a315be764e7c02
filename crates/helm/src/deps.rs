//! Dependency processing as `helm template` runs it before rendering (Helm's
//! `chartutil.ProcessDependencies`): aliases, `tags`, `condition`, removal of disabled
//! subcharts, and `import-values`; plus the missing-dependency check of `helm template`.

use serde_json::{Map, Value};

use crate::chart::{Chart, Dependency};
use crate::values::{
    Values, coalesce_tables_owned, coalesce_values, merge_values, path_value, table,
};
use sprig::semver::is_compatible_range;

/// Helm's `CheckDependencies`: every declared dependency must be present in `charts/`.
pub fn check_dependencies(chart: &Chart) -> Result<(), String> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        ))
    }
}

/// Processes dependencies in place: enabled subcharts only, aliases applied, import-values
/// merged into each parent's values.
pub fn process_dependencies(chart: &mut Chart, user: &Values) {
    process_enabled(chart, user, "");
    process_import_values_rec(chart);
    chart.set_paths();
}

fn alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts
        .iter()
        .find(|c| c.name() == dep.name && is_compatible_range(&dep.version, &c.metadata.version))?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn process_enabled(c: &mut Chart, v: &Values, path: &str) {
    if !c.metadata.has_dependencies {
        return;
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut chart_deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata
                .dependencies
                .iter()
                .any(|r| e.name() == r.name && is_compatible_range(&r.version, &e.metadata.version))
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(d) = alias_dependency(&existing, req) {
            chart_deps.push(d);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for r in &mut c.metadata.dependencies {
        r.enabled = true;
    }
    let cvals = coalesce_values(c, v);
    process_tags(&mut c.metadata.dependencies, &cvals);
    process_conditions(&mut c.metadata.dependencies, &cvals, path);
    let rm: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !rm.contains(&d.metadata.name));
    c.metadata.dependencies.retain(|r| !rm.contains(&r.name));
    for t in &mut c.dependencies {
        let sub = format!("{path}{}.", t.metadata.name);
        process_enabled(t, &cvals, &sub);
    }
    // Go: `append(nil, empty...)` leaves a nil slice.
    if c.metadata.dependencies.is_empty() {
        c.metadata.has_dependencies = false;
    }
}

fn process_tags(reqs: &mut [Dependency], cvals: &Values) {
    let Some(vt) = table(cvals, "tags") else {
        return;
    };
    for r in reqs {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            match vt.get(k) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                Some(_) => tracing::debug!(tag = %k, chart = %r.name, "returned non-bool value"),
                None => {}
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_conditions(reqs: &mut [Dependency], cvals: &Values, cpath: &str) {
    for r in reqs {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            match path_value(cvals, &format!("{cpath}{c}")) {
                Some(Value::Bool(b)) => {
                    r.enabled = *b;
                    break;
                }
                Some(_) => tracing::debug!(path = %c, chart = %r.name, "returned non-bool value"),
                None => {}
            }
        }
    }
}

fn path_to_map(path: &str, data: Values) -> Values {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), Value::Object(cur));
        cur = m;
    }
    cur
}

fn go_sprint(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) if !n.is_f64() => i.to_string(),
            _ => crate::gofmt::format_float_g(n.as_f64().unwrap_or(0.0)),
        },
        Some(other) => other.to_string(),
    }
}

fn process_import_values_rec(c: &mut Chart) {
    for d in &mut c.dependencies {
        process_import_values_rec(d);
    }
    process_import_values(c);
}

fn process_import_values(c: &mut Chart) {
    if !c.metadata.has_dependencies {
        return;
    }
    let cvals = merge_values(c, &Values::new());
    let mut b = Values::new();
    for r in &mut c.metadata.dependencies {
        let mut out = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Object(iv) => {
                    let child = go_sprint(iv.get("child"));
                    let parent = go_sprint(iv.get("parent"));
                    let mut m = Map::new();
                    m.insert("child".into(), Value::String(child.clone()));
                    m.insert("parent".into(), Value::String(parent.clone()));
                    out.push(Value::Object(m));
                    match table(&cvals, &format!("{}.{child}", r.name)) {
                        Some(vv) => {
                            b = coalesce_tables_owned(b, path_to_map(&parent, vv.clone()), true)
                        }
                        None => {
                            tracing::debug!(chart = %r.name, "ImportValues missing table from chart")
                        }
                    }
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    let mut m = Map::new();
                    m.insert("child".into(), Value::String(child.clone()));
                    m.insert("parent".into(), Value::String(".".into()));
                    out.push(Value::Object(m));
                    match table(&cvals, &format!("{}.{child}", r.name)) {
                        Some(vm) => b = coalesce_tables_owned(b, vm.clone(), true),
                        None => tracing::debug!("ImportValues missing table"),
                    }
                }
                _ => {}
            }
        }
        r.import_values = out;
    }
    c.values = coalesce_tables_owned(cvals, b, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_to_map_nests() {
        let Value::Object(d) = json!({"x": 1}) else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(path_to_map("a.b", d.clone())),
            json!({"a":{"b":{"x":1}}})
        );
        assert_eq!(Value::Object(path_to_map(".", d)), json!({"x":1}));
    }
}
