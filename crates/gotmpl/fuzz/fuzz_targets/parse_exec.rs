//! Parses arbitrary text as a template (with a small function map and a `define`d helper)
//! and executes it against fixed data. Any panic is a bug; errors are fine.
#![no_main]

use gotmpl::{FuncMap, Function, Map, Set, Signature, Type, Value};
use libfuzzer_sys::fuzz_target;

fn funcs() -> FuncMap {
    let mut f = FuncMap::default();
    f.insert(
        "include".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.include(a[0].as_str().unwrap_or(""), &a[1]).map(Value::from)
        }),
    );
    f.insert(
        "tpl".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.tpl(a[0].as_str().unwrap_or(""), &a[1]).map(Value::from)
        }),
    );
    f.insert("list".into(), Function::plain(Signature::variadic(&[], Type::Any), |a| Ok(Value::list(a.to_vec()))));
    f.insert(
        "upper".into(),
        Function::plain(Signature::fixed(&[Type::String]), |a| Ok(Value::from(a[0].as_str().unwrap_or("").to_uppercase()))),
    );
    f.insert("add".into(), Function::plain(Signature::fixed(&[Type::Int64, Type::Float64]), |a| Ok(a[0].clone())));
    f
}

fn data() -> Value {
    let mut m = Map::new();
    m.insert("s".into(), Value::from("hello"));
    m.insert("f".into(), Value::Float(1.5));
    m.insert("n".into(), Value::Nil);
    m.insert("l".into(), Value::list(vec![Value::Float(1.0), Value::from("a"), Value::Nil]));
    let mut inner = Map::new();
    inner.insert("a".into(), Value::Float(1.0));
    m.insert("m".into(), Value::map(inner));
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(m));
    Value::map(top)
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let mut set = Set::new("gotpl", funcs());
    if set.parse("h.tpl", "{{ define \"h\" }}[{{ . }}]{{ end }}").is_err() {
        return;
    }
    if set.parse("t.yaml", text).is_err() {
        return;
    }
    let mut out = String::new();
    let _ = set.execute_with("t.yaml", &data(), &mut out, &mut gotmpl::RenderState::default());
    // Every error must render.
    if let Err(e) = set.execute("t.yaml", &data()) {
        let _ = e.to_string();
    }
});
