//! Cases whose outputs and error texts were checked against Helm v4.2.3's Go engine
//! (`tests/data/go_cases.json`: template, optional extra chart files, and Go's output or
//! error). The chart data mirrors what Helm passes: `.Values` (from the recorded values),
//! `.Release`, `.Template`; a few Sprig-like helpers stand in for the function library.

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

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn funcs() -> FuncMap {
    let mut f = FuncMap::default();
    let sig = Signature::fixed;
    f.insert(
        "include".into(),
        Function::with_context(sig(&[Type::String, Type::Any]), |ctx, a| {
            ctx.include(s(&a[0]), &a[1]).map(Value::from)
        }),
    );
    f.insert(
        "tpl".into(),
        Function::with_context(sig(&[Type::String, Type::Any]), |ctx, a| {
            ctx.tpl(s(&a[0]), &a[1]).map(Value::from)
        }),
    );
    f.insert(
        "upper".into(),
        Function::plain(sig(&[Type::String]), |a| {
            Ok(Value::from(s(&a[0]).to_uppercase()))
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
                m.insert(
                    gotmpl::fmt::format_value(&p[0]),
                    p.get(1).cloned().unwrap_or_default(),
                );
            }
            Ok(Value::map(m))
        }),
    );
    f.insert(
        "toString".into(),
        Function::plain(sig(&[Type::Any]), |a| {
            Ok(Value::from(gotmpl::fmt::format_value(&a[0])))
        }),
    );
    f.insert(
        "typeOf".into(),
        Function::plain(sig(&[Type::Any]), |a| Ok(Value::from(a[0].type_name()))),
    );
    f.insert(
        "kindOf".into(),
        Function::plain(sig(&[Type::Any]), |a| {
            Ok(Value::from(a[0].kind_name().to_string()))
        }),
    );
    f.insert(
        "fail".into(),
        Function::plain(sig(&[Type::String]), |a| Err(FuncError::fail(s(&a[0])))),
    );
    f.insert(
        "required".into(),
        Function::plain(sig(&[Type::String, Type::Any]), |a| match &a[1] {
            Value::Nil => Err(FuncError::fail(s(&a[0]))),
            Value::String(x) if x.is_empty() => Err(FuncError::fail(s(&a[0]))),
            v => Ok(v.clone()),
        }),
    );
    f
}

fn render(
    values: &Value,
    t: &str,
    files: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<String, String> {
    let mut set = Set::new("gotpl", funcs());
    let mut all: Vec<(String, String)> = vec![("c/templates/t.yaml".into(), t.into())];
    for (k, v) in files.into_iter().flatten() {
        all.push((format!("c/{k}"), v.as_str().unwrap_or("").into()));
    }
    // Helm's parse order: more path segments first, then reverse byte order.
    all.sort_by(|a, b| {
        let (sa, sb) = (a.0.matches('/').count(), b.0.matches('/').count());
        sb.cmp(&sa).then(b.0.cmp(&a.0))
    });
    for (name, text) in &all {
        set.parse(name, text).map_err(|e| e.to_string())?;
    }
    let mut top = Map::new();
    top.insert("Values".into(), values.clone());
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::from("release-name"));
    rel.insert("Namespace".into(), Value::from("default"));
    top.insert("Release".into(), Value::map(rel));
    let mut tm = Map::new();
    tm.insert("Name".into(), Value::from("c/templates/t.yaml"));
    tm.insert("BasePath".into(), Value::from("c/templates"));
    top.insert("Template".into(), Value::map(tm));
    set.execute("c/templates/t.yaml", &Value::map(top))
        .map(|out| out.replace("<no value>", ""))
        .map_err(|e| e.to_string())
}

#[test]
fn go_engine_cases() {
    let data: serde_json::Value =
        serde_json::from_str(include_str!("data/go_cases.json")).expect("go_cases.json");
    // Helm reads values as float64: build them with the same shapes.
    let values = from_json(&data["values"]);
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() > 400);
    let mut failures = Vec::new();
    for c in cases {
        let t = c["t"].as_str().expect("t");
        let got = render(&values, t, c["f"].as_object());
        let ok = match (&got, c.get("ok"), c.get("err")) {
            (Ok(out), Some(want), _) => want.as_str() == Some(out.as_str()),
            (Err(e), _, Some(want)) => want.as_str() == Some(e.as_str()),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "template {t:?}\n  want {:?}\n  got  {got:?}",
                c.get("ok").or(c.get("err"))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
