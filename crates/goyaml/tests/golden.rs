//! Compares the crate against outputs recorded from the real Helm v4.2.3 engine
//! (`tests/golden/gen.py` regenerates `tests/golden/golden.json`).

use gotmpl::{Body, FuncMap, Value};

fn call(f: &FuncMap, name: &str, arg: Value) -> Value {
    let func = f
        .get(name)
        .unwrap_or_else(|| panic!("{name} not registered"));
    match &func.body {
        Body::Plain(p) => p(&[arg]).unwrap_or_else(|e| panic!("{name} failed: {e}")),
        Body::WithContext(_) => panic!("{name} needs a context"),
    }
}

fn text(v: Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("not a string: {v:?}"))
}

fn golden() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/golden.json");
    let data = std::fs::read_to_string(path).expect("golden.json");
    serde_json::from_str(&data).expect("golden.json is JSON")
}

#[test]
fn yaml_cases_match_helm() {
    let f = goyaml::functions();
    let g = golden();
    let mut failures = Vec::new();
    for case in g["yaml"].as_array().expect("yaml cases") {
        let input = case["input"].as_str().unwrap_or_default();
        let m = call(&f, "fromYaml", Value::from(input));
        let checks = [
            ("json", text(call(&f, "toJson", m.clone()))),
            ("yaml", text(call(&f, "toYaml", m.clone()))),
            ("pretty_json", text(call(&f, "toPrettyJson", m.clone()))),
            ("yaml_pretty", text(call(&f, "toYamlPretty", m.clone()))),
            (
                "array_json",
                text(call(
                    &f,
                    "toJson",
                    call(&f, "fromYamlArray", Value::from(input)),
                )),
            ),
        ];
        for (key, got) in checks {
            let want = case[key].as_str().unwrap_or_default();
            if got != want {
                failures.push(format!(
                    "input {input:?}\n  {key}: want {want:?}\n  {key}:  got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn json_cases_match_helm() {
    let f = goyaml::functions();
    let g = golden();
    let mut failures = Vec::new();
    for case in g["json"].as_array().expect("json cases") {
        let input = case["input"].as_str().unwrap_or_default();
        let checks = [
            (
                "map_json",
                text(call(&f, "toJson", call(&f, "fromJson", Value::from(input)))),
            ),
            (
                "array_json",
                text(call(
                    &f,
                    "toJson",
                    call(&f, "fromJsonArray", Value::from(input)),
                )),
            ),
            (
                "raw_json",
                text(call(
                    &f,
                    "toRawJson",
                    call(&f, "fromJson", Value::from(input)),
                )),
            ),
        ];
        for (key, got) in checks {
            let want = case[key].as_str().unwrap_or_default();
            if got != want {
                failures.push(format!(
                    "input {input:?}\n  {key}: want {want:?}\n  {key}:  got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Drops nil map entries, as Helm's value coalescing does before templates see `.Values`.
fn drop_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(drop_nulls).collect())
        }
        other => other,
    }
}

#[test]
fn values_files_match_helm_loader() {
    let g = golden();
    let mut failures = Vec::new();
    for case in g["values_files"].as_array().expect("values_files cases") {
        let input = case["input"].as_str().unwrap_or_default();
        let got = goyaml::load_values(input);
        match (case.get("json"), got) {
            (Some(want), Ok(v)) => {
                let want: serde_json::Value =
                    serde_json::from_str(want.as_str().unwrap_or("null")).expect("json");
                let got: serde_json::Value =
                    serde_json::from_str(&goyaml::to_json(&v).expect("to_json")).expect("json");
                if drop_nulls(got.clone()) != want {
                    failures.push(format!("{input:?}: want {want} got {got}"));
                }
            }
            (None, Err(e)) => {
                let want = case["error"].as_str().unwrap_or_default();
                let got = format!("cannot load values.yaml: {e}");
                if got != want {
                    failures.push(format!("{input:?}: want error {want:?} got {got:?}"));
                }
            }
            (want, got) => failures.push(format!("{input:?}: want {want:?} got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn read_values_matches_helm() {
    let g = golden();
    let mut failures = Vec::new();
    for case in g["values"].as_array().expect("values cases") {
        let input = case["input"].as_str().unwrap_or_default();
        match (case.get("values"), goyaml::read_values(input)) {
            (Some(want), Ok(v)) => {
                let want: serde_json::Value =
                    serde_json::from_str(want.as_str().unwrap_or("null")).expect("json");
                let got: serde_json::Value =
                    serde_json::from_str(&goyaml::to_json(&v).expect("to_json")).expect("json");
                // Python's json turns integral floats into ints; compare numerically.
                if !same_json(&got, &want) {
                    failures.push(format!("{input:?}: want {want} got {got}"));
                }
            }
            (None, Err(e)) => {
                let want = case["error"].as_str().unwrap_or_default();
                if e.to_string() != want {
                    failures.push(format!("{input:?}: want error {want:?} got {e:?}"));
                }
            }
            (want, got) => failures.push(format!("{input:?}: want {want:?} got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn manifest_heads_match_helm() {
    let g = golden();
    let mut failures = Vec::new();
    for case in g["heads"].as_array().expect("heads cases") {
        let input = case["input"].as_str().unwrap_or_default();
        // Helm splits the file into documents before parsing heads (plain `---` lines here).
        let got = input
            .split("\n---\n")
            .map(goyaml::parse_head)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| goyaml::head_error("c/templates/t.yaml", &e));
        // A hook-only chart makes the binding's install result lack a manifest.
        let want = case
            .get("error")
            .and_then(|e| e.as_str())
            .filter(|e| *e != "'manifest'");
        match (want, got) {
            (None, Ok(_)) => {}
            (Some(want), Err(got)) if want == got => {}
            (want, got) => failures.push(format!("{input:?}: want {want:?} got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn toml_matches_helm() {
    let f = goyaml::functions();
    let g = golden();
    let mut failures = Vec::new();
    for case in g["yaml"].as_array().expect("yaml cases") {
        let input = case["input"].as_str().unwrap_or_default();
        let m = call(&f, "fromYaml", Value::from(input));
        let got = text(call(&f, "toToml", m));
        let want = case["toml"].as_str().unwrap_or_default();
        if got != want {
            failures.push(format!(
                "toToml of {input:?}\n  want {want:?}\n   got {got:?}"
            ));
        }
    }
    for case in g["toml"].as_array().expect("toml cases") {
        let input = case["input"].as_str().unwrap_or_default();
        let m = call(&f, "fromToml", Value::from(input));
        for (key, got) in [
            ("json", text(call(&f, "toJson", m.clone()))),
            ("toml", text(call(&f, "toToml", m))),
        ] {
            let want = case[key].as_str().unwrap_or_default();
            if got != want {
                failures.push(format!(
                    "fromToml {input:?} | {key}\n  want {want:?}\n   got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
