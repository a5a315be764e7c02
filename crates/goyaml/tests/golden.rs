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
