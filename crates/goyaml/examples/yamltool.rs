//! Prints, for each file given, what Helm's `fromYaml | toJson`, `fromYaml | toYaml` and
//! `fromYamlArray | toJson` produce (separated by `<<<SEP>>>` lines): a tool to compare the
//! crate with the real engine on large corpora. With `--toml` first, prints
//! `fromYaml | toToml` and `fromToml | toJson` instead; with `--pretty`, `fromYaml | toYamlPretty`.

use gotmpl::{Body, Value};

fn call(f: &gotmpl::FuncMap, name: &str, arg: Value) -> Value {
    match f.get(name).map(|f| &f.body) {
        Some(Body::Plain(p)) => p(&[arg]).unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

fn main() {
    let f = goyaml::functions();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let toml = args.first().is_some_and(|a| a == "--toml");
    let pretty = args.first().is_some_and(|a| a == "--pretty");
    if toml || pretty {
        args.remove(0);
    }
    for path in args {
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        if toml {
            let t = call(
                &f,
                "toToml",
                call(&f, "fromYaml", Value::from(text.as_str())),
            );
            let j = call(
                &f,
                "toJson",
                call(&f, "fromToml", Value::from(text.as_str())),
            );
            for v in [t, j] {
                print!("{}\n<<<SEP>>>\n", v.as_str().unwrap_or(""));
            }
            continue;
        }
        let m = call(&f, "fromYaml", Value::from(text.as_str()));
        if pretty {
            let p = call(&f, "toYamlPretty", m);
            print!("{}\n<<<SEP>>>\n", p.as_str().unwrap_or(""));
            continue;
        }
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
