//! Helm's and Sprig's YAML/JSON/TOML template functions.

use std::rc::Rc;

use gotmpl::{FuncError, FuncMap, Function, Map, Signature, Type, Value};

fn s(v: &[Value]) -> &str {
    v.first().and_then(Value::as_str).unwrap_or("")
}

fn arg(v: &[Value]) -> &Value {
    const NIL: &Value = &Value::Nil;
    v.first().unwrap_or(NIL)
}

fn trim_one_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

fn text(s: String) -> Value {
    Value::String(Rc::from(s))
}

fn map_with_error(msg: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(msg));
    Value::map(m)
}

/// The YAML/JSON/TOML functions Helm templates see, keyed by name.
pub fn functions() -> FuncMap {
    let any = || Signature::fixed(&[Type::Any]);
    let string = || Signature::fixed(&[Type::String]);
    let mut m = FuncMap::default();
    let mut add = |name: &str, f: Function| {
        m.insert(name.to_string(), f);
    };
    add(
        "toYaml",
        Function::plain(any(), |a| {
            Ok(text(
                crate::to_yaml(arg(a))
                    .map(trim_one_newline)
                    .unwrap_or_default(),
            ))
        }),
    );
    add(
        "mustToYaml",
        Function::plain(any(), |a| {
            crate::to_yaml(arg(a))
                .map(|s| text(trim_one_newline(s)))
                .map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    add(
        "toYamlPretty",
        Function::plain(any(), |a| {
            Ok(text(trim_one_newline(crate::to_yaml_pretty(arg(a)))))
        }),
    );
    add(
        "fromYaml",
        Function::plain(string(), |a| {
            Ok(crate::from_yaml_map(s(a)).unwrap_or_else(|e| map_with_error(e.to_string())))
        }),
    );
    add(
        "fromYamlArray",
        Function::plain(string(), |a| {
            Ok(crate::from_yaml_list(s(a))
                .unwrap_or_else(|e| Value::list(vec![Value::from(e.to_string())])))
        }),
    );
    add(
        "toToml",
        Function::plain(any(), |a| {
            Ok(text(
                crate::to_toml(arg(a)).unwrap_or_else(|e| e.to_string()),
            ))
        }),
    );
    add(
        "mustToToml",
        Function::plain(any(), |a| {
            crate::to_toml(arg(a))
                .map(text)
                .map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    add(
        "fromToml",
        Function::plain(string(), |a| {
            Ok(crate::from_toml(s(a)).unwrap_or_else(|e| map_with_error(e.to_string())))
        }),
    );
    add(
        "toJson",
        Function::plain(any(), |a| {
            Ok(text(crate::to_json(arg(a)).unwrap_or_default()))
        }),
    );
    add(
        "mustToJson",
        Function::plain(any(), |a| {
            crate::to_json(arg(a))
                .map(text)
                .map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    add(
        "fromJson",
        Function::plain(string(), |a| {
            let (v, err) = crate::from_json_map_partial(s(a));
            Ok(match err {
                None => v,
                Some(e) => {
                    let mut m = match &v {
                        Value::Map(m) => m.entries.borrow().clone(),
                        _ => Map::new(),
                    };
                    m.insert("Error".into(), Value::from(e.to_string()));
                    Value::map(m)
                }
            })
        }),
    );
    add(
        "fromJsonArray",
        Function::plain(string(), |a| {
            Ok(crate::from_json_list(s(a))
                .unwrap_or_else(|e| Value::list(vec![Value::from(e.to_string())])))
        }),
    );
    add(
        "mustFromJson",
        Function::plain(string(), |a| {
            crate::from_json(s(a)).map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    add(
        "toPrettyJson",
        Function::plain(any(), |a| {
            Ok(text(crate::to_pretty_json(arg(a)).unwrap_or_default()))
        }),
    );
    add(
        "mustToPrettyJson",
        Function::plain(any(), |a| {
            crate::to_pretty_json(arg(a))
                .map(text)
                .map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    // Sprig's toRawJson panics on a marshal error, so both variants fail the render.
    add(
        "toRawJson",
        Function::plain(any(), |a| {
            crate::to_raw_json(arg(a))
                .map(text)
                .map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    add(
        "mustToRawJson",
        Function::plain(any(), |a| {
            crate::to_raw_json(arg(a))
                .map(text)
                .map_err(|e| FuncError::new(e.to_string()))
        }),
    );
    m
}
