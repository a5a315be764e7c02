//! Development harness: render templates with `gotmpl` + these functions.
//!
//! Reads JSON lines `{"t": TEMPLATE, "v": VALUES}` on stdin and writes JSON lines
//! `{"ok": bool, "out": TEXT}`; used to compare outputs with the real Helm engine. `<no value>`
//! is removed from successful output as Helm does.

use std::io::{BufRead, Write};

use gotmpl::{Map, Set, Value};

fn to_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(to_value).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
        }
    }
}

fn main() {
    let funcs = sprig::functions();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(req) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let t = req["t"].as_str().unwrap_or("");
        let mut set = Set::new("gotpl", funcs.clone());
        let name = "c/templates/t.yaml";
        let mut data = Map::new();
        data.insert("Values".into(), to_value(&req["v"]));
        let mut rel = Map::new();
        rel.insert("Name".into(), Value::from("release-name"));
        rel.insert("Namespace".into(), Value::from("default"));
        data.insert("Release".into(), Value::map(rel));
        let res = set
            .parse(name, t)
            .and_then(|_| set.execute(name, &Value::map(data)))
            .map(|s| s.replace("<no value>", ""));
        let (ok, out) = match res {
            Ok(s) => (true, s),
            Err(e) => (false, e.to_string()),
        };
        let _ = writeln!(stdout, "{}", serde_json::json!({"ok": ok, "out": out}));
    }
}
