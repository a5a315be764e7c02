//! Prints, for each file given, what Helm's `fromYaml | toJson`, `fromYaml | toYaml` and
//! `fromYamlArray | toJson` produce (separated by `<<<SEP>>>` lines): a tool to compare the
//! crate with the real engine on large corpora.

use gotmpl::{Body, Value};

fn call(f: &gotmpl::FuncMap, name: &str, arg: Value) -> Value {
    match f.get(name).map(|f| &f.body) {
        Some(Body::Plain(p)) => p(&[arg]).unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

fn main() {
    let f = goyaml::functions();
    for path in std::env::args().skip(1) {
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let m = call(&f, "fromYaml", Value::from(text.as_str()));
        let j = call(&f, "toJson", m.clone());
        let y = call(&f, "toYaml", m);
        let a = call(
            &f,
            "toJson",
            call(&f, "fromYamlArray", Value::from(text.as_str())),
        );
        for v in [j, y, a] {
            print!("{}\n<<<SEP>>>\n", v.as_str().unwrap_or(""));
        }
    }
}
