//! Dependency processing as `helm template` runs it before rendering (Helm's
//! `chartutil.ProcessDependencies`): aliases, `tags`, `condition`, removal of disabled
//! subcharts, and `import-values`; plus the missing-dependency check of `helm template`.

use serde_json::{Map, Value};

use crate::chart::{Chart, Dependency};
use crate::values::{
    Values, coalesce_tables_owned, coalesce_values, coalesce_values_keys, merge_values_taking,
    path_value, table,
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

fn matches(req: &Dependency, c: &Chart) -> bool {
    c.name() == req.name && is_compatible_range(&req.version, &c.metadata.version)
}

fn process_enabled(c: &mut Chart, v: &Values, path: &str) {
    if !c.metadata.has_dependencies {
        return;
    }
    let existing = std::mem::take(&mut c.dependencies);
    // Helm's `getAliasDependency`: each request takes (a copy of) the first chart it matches;
    // charts no request matches stay as they are.
    // Which request matches which chart, each pair checked once (a version range check
    // parses the range and the version).
    let matched: Vec<Vec<bool>> = c
        .metadata
        .dependencies
        .iter()
        .map(|req| existing.iter().map(|e| matches(req, e)).collect())
        .collect();
    let picks: Vec<Option<usize>> = matched
        .iter()
        .map(|row| row.iter().position(|m| *m))
        .collect();
    let undeclared: Vec<bool> = (0..existing.len())
        .map(|i| !matched.iter().any(|row| row[i]))
        .collect();
    let mut uses = vec![0usize; existing.len()];
    for i in picks.iter().flatten() {
        uses[*i] += 1;
    }
    let mut existing: Vec<Option<Chart>> = existing.into_iter().map(Some).collect();
    let mut chart_deps: Vec<Chart> = existing
        .iter_mut()
        .zip(&undeclared)
        .filter_map(|(e, u)| if *u { e.take() } else { None })
        .collect();
    for (req, pick) in c.metadata.dependencies.iter_mut().zip(picks) {
        if let Some(i) = pick {
            // The last request taking a chart moves it; earlier ones copy it.
            uses[i] -= 1;
            let d = if uses[i] == 0 {
                existing[i].take()
            } else {
                existing[i].clone()
            };
            if let Some(mut d) = d {
                if !req.alias.is_empty() {
                    d.metadata.name = req.alias.clone();
                }
                chart_deps.push(d);
            }
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for r in &mut c.metadata.dependencies {
        r.enabled = true;
    }
    // Only the entries the tags and conditions read are needed, unless a subchart processes
    // its own dependencies with these values.
    let cvals = if c.dependencies.iter().any(|d| d.metadata.has_dependencies) {
        coalesce_values(c, v)
    } else {
        let keys = looked_up_keys(&c.metadata.dependencies, path);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        coalesce_values_keys(c, v, &keys).unwrap_or_else(|| coalesce_values(c, v))
    };
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

/// The top-level keys [`process_tags`] and [`process_conditions`] read.
fn looked_up_keys(reqs: &[Dependency], cpath: &str) -> Vec<String> {
    let mut keys = Vec::new();
    if reqs.iter().any(|r| !r.tags.is_empty()) {
        keys.push("tags".to_string());
    }
    for r in reqs {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            let p = format!("{cpath}{c}");
            let first = p.trim_start_matches('.').split('.').next().unwrap_or("");
            if !keys.iter().any(|k| k == first) {
                keys.push(first.to_string());
            }
        }
    }
    keys
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
    let cvals = merge_values_taking(c);
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
    c.values = std::sync::Arc::new(coalesce_tables_owned(cvals, b, true));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(name: &str, version: &str) -> Chart {
        let mut c = Chart::default();
        c.metadata.name = name.into();
        c.metadata.version = version.into();
        c
    }

    #[test]
    fn aliases_copy_a_chart_per_request() {
        let mut root = chart("root", "1.0.0");
        root.metadata.has_dependencies = true;
        for alias in ["one", "two", ""] {
            root.metadata.dependencies.push(Dependency {
                name: "redis".into(),
                version: "1.x".into(),
                alias: alias.into(),
                ..Dependency::default()
            });
        }
        root.metadata.dependencies.push(Dependency {
            name: "absent".into(),
            version: "1.0.0".into(),
            ..Dependency::default()
        });
        root.dependencies = vec![chart("extra", "0.1.0"), chart("redis", "1.2.3")];
        process_dependencies(&mut root, &Values::new());
        let names: Vec<&str> = root.dependencies.iter().map(Chart::name).collect();
        assert_eq!(names, ["extra", "one", "two", "redis"]);
        let reqs: Vec<&str> = root
            .metadata
            .dependencies
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(reqs, ["one", "two", "redis", "absent"]);
        assert_eq!(root.dependencies[2].full_path, "root/charts/two");
    }

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
