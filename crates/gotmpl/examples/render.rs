//! Renders template cases read as JSON from stdin, for comparison with Go's engine.
//!
//! Input: `[{"t": TEMPLATE, "v": VALUES_AS_JSON, "f": {PATH: TEXT}}]`; output:
//! `[{"ok": TEXT} | {"err": MESSAGE}]`. Files are parsed as in Helm: the chart `c`, each file
//! under `c/templates/...`, the data has `.Values`, `.Release`, `.Chart`, `.Template`.
//! A few Sprig-like functions are registered for testing the language: `include`, `tpl`,
//! `upper`, `list`, `dict`, `toString`, `typeOf`, `kindOf`, `fail`, `required`.

use std::io::Read;

use gotmpl::{FuncError, FuncMap, Function, Map, Set, Signature, Type, Value};

fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

fn funcs() -> FuncMap {
    let mut f = FuncMap::default();
    f.insert(
        "include".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.include(a[0].as_str().unwrap_or(""), &a[1])
                .map(Value::from)
        }),
    );
    f.insert(
        "tpl".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.tpl(a[0].as_str().unwrap_or(""), &a[1]).map(Value::from)
        }),
    );
    f.insert(
        "upper".into(),
        Function::plain(Signature::fixed(&[Type::String]), |a| {
            Ok(Value::from(a[0].as_str().unwrap_or("").to_uppercase()))
        }),
    );
    f.insert(
        "list".into(),
        Function::plain(Signature::variadic(&[], Type::Any), |a| {
            Ok(Value::list(a.to_vec()))
        }),
    );
    f.insert(
        "dict".into(),
        Function::plain(Signature::variadic(&[], Type::Any), |a| {
            let mut m = Map::new();
            for p in a.chunks(2) {
                let k = gotmpl::fmt::format_value(&p[0]);
                m.insert(k, p.get(1).cloned().unwrap_or(Value::Nil));
            }
            Ok(Value::map(m))
        }),
    );
    f.insert(
        "toString".into(),
        Function::plain(Signature::fixed(&[Type::Any]), |a| {
            Ok(Value::from(gotmpl::fmt::format_value(&a[0])))
        }),
    );
    f.insert(
        "typeOf".into(),
        Function::plain(Signature::fixed(&[Type::Any]), |a| {
            Ok(Value::from(a[0].type_name()))
        }),
    );
    f.insert(
        "kindOf".into(),
        Function::plain(Signature::fixed(&[Type::Any]), |a| {
            Ok(Value::from(a[0].kind_name().to_string()))
        }),
    );
    f.insert(
        "fail".into(),
        Function::plain(Signature::fixed(&[Type::String]), |a| {
            Err(FuncError::fail(a[0].as_str().unwrap_or("")))
        }),
    );
    f.insert(
        "required".into(),
        Function::plain(Signature::fixed(&[Type::String, Type::Any]), |a| {
            match &a[1] {
                Value::Nil => Err(FuncError::fail(a[0].as_str().unwrap_or(""))),
                Value::String(s) if s.is_empty() => {
                    Err(FuncError::fail(a[0].as_str().unwrap_or("")))
                }
                v => Ok(v.clone()),
            }
        }),
    );
    f
}

fn render(case: &serde_json::Value) -> serde_json::Value {
    let t = case["t"].as_str().unwrap_or("");
    let mut set = Set::new("gotpl", funcs());
    let mut files: Vec<(String, String)> = vec![("c/templates/t.yaml".into(), t.into())];
    if let Some(f) = case["f"].as_object() {
        for (k, v) in f {
            files.push((format!("c/{k}"), v.as_str().unwrap_or("").into()));
        }
    }
    // Helm: more path segments first, then reverse byte order.
    files.sort_by(|a, b| {
        let (sa, sb) = (a.0.matches('/').count(), b.0.matches('/').count());
        sb.cmp(&sa).then(b.0.cmp(&a.0))
    });
    for (name, text) in &files {
        if let Err(e) = set.parse(name, text) {
            return serde_json::json!({"err": e.to_string()});
        }
    }
    let values = from_json(&case["v"]);
    let mut top = Map::new();
    top.insert("Values".into(), values);
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::from("release-name"));
    rel.insert("Namespace".into(), Value::from("default"));
    top.insert("Release".into(), Value::map(rel));
    let mut tm = Map::new();
    tm.insert("Name".into(), Value::from("c/templates/t.yaml"));
    tm.insert("BasePath".into(), Value::from("c/templates"));
    top.insert("Template".into(), Value::map(tm));
    match set.execute("c/templates/t.yaml", &Value::map(top)) {
        Ok(s) => serde_json::json!({"ok": s.replace("<no value>", "")}),
        Err(e) => {
            serde_json::json!({"err": e.to_string(), "kind": format!("{:?}", e.kind), "func": e.func.is_some()})
        }
    }
}

fn main() {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("read stdin");
    let cases: Vec<serde_json::Value> = serde_json::from_str(&input).expect("JSON input");
    let out: Vec<serde_json::Value> = cases.iter().map(render).collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("JSON output")
    );
}
