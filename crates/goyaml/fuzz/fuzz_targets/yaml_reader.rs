//! Fuzzes the YAML reader and the writers fed by it: any input must either parse or fail with
//! an error (never panic), and whatever parses must survive `toYaml`/`toJson`, with `toYaml`
//! output reading back to the same JSON.
#![no_main]

use gotmpl::Value;
use libfuzzer_sys::fuzz_target;

/// Structural equality with numeric float comparison (`-0` reads back as `0`, as in Go).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.items.len() == y.items.len() && x.items.iter().zip(&y.items).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.entries.borrow(), y.entries.borrow());
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = goyaml::parse_head(text);
    let _ = goyaml::yaml_stream_to_json_values(text);
    let _ = goyaml::load_values(text);
    if let Ok(v) = goyaml::from_yaml(text) {
        let json = goyaml::to_json(&v).expect("parsed values are JSON-encodable");
        // NEL (U+0085) is a line break to YAML: goyaml folds it on the way back, as Go does.
        if let Ok(y) = goyaml::to_yaml(&v).as_ref().map(String::as_str)
            && !json.contains('\u{85}')
        {
            let y = y.to_string();
            let back = goyaml::from_yaml(&y).expect("toYaml output reads back");
            assert!(same(&back, &v), "round trip of {text:?} via {y:?}");
        }
        let _ = goyaml::to_yaml_pretty(&v);
        let _ = goyaml::to_toml(&v);
    }
    let _ = goyaml::from_json(text);
    if let Ok(t) = goyaml::from_toml(text) {
        let _ = goyaml::to_toml(&t);
        let _ = goyaml::to_json(&t);
    }
});
