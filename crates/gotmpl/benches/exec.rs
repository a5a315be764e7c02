//! Benchmark: executing a typical chart template (a Deployment with helpers, `include`,
//! `range`, `with`, `printf`) against a value tree, without re-parsing.
//!
//! Run: `cargo bench -p gotmpl --bench exec [COPIES]` (prints ns per execution and per
//! document; `GOTMPL_BENCH_OUT=file` writes the output).
//!
//! Comparison with Go: the same three files under `benches/data`, put in a chart `c`
//! (`values.json` as `values.yaml` with `copies` a list of N numbers) and rendered with
//! helm-python-sdk's `Chart.render` (Helm v4.2.3), measuring process CPU time for N = 100 and
//! N = 1000: (t1000 − t100) / 900 is Go's cost per document. The outputs are identical.

use std::time::Instant;

use gotmpl::{FuncMap, Function, Map, Set, Signature, Type, Value};

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

/// CPU time of this process (the machine is shared; wall time is noisy).
fn cpu_time_ns() -> u128 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u128 * 1_000_000_000 + t.tv_usec as u128 * 1000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn main() {
    let mut funcs = FuncMap::new();
    funcs.insert(
        "include".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.include(a[0].as_str().unwrap_or(""), &a[1])
                .map(Value::from)
        }),
    );
    let mut set = Set::new("gotpl", funcs);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).expect("bench data");
    let t0 = Instant::now();
    set.parse("c/templates/deployment.yaml", &read("deployment.yaml"))
        .expect("parse");
    set.parse("c/templates/_helpers.tpl", &read("_helpers.tpl"))
        .expect("parse");
    let parse_ns = t0.elapsed().as_nanos();

    let copies: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let values_json: serde_json::Value =
        serde_json::from_str(&read("values.json")).expect("values");
    let values = from_json(&values_json);
    if let Value::Map(m) = &values {
        let list = (0..copies).map(|i| Value::Float(i as f64)).collect();
        m.entries
            .borrow_mut()
            .insert("copies".into(), Value::list(list));
    }
    let mut chart = Map::new();
    chart.insert("Name".into(), Value::from("c"));
    chart.insert("AppVersion".into(), Value::from("1.0.0"));
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::from("release-name"));
    let mut top = Map::new();
    top.insert("Values".into(), values);
    top.insert("Chart".into(), Value::map(chart));
    top.insert("Release".into(), Value::map(rel));
    let data = Value::map(top);

    let first = set
        .execute("c/templates/deployment.yaml", &data)
        .expect("execute");
    if let Ok(path) = std::env::var("GOTMPL_BENCH_OUT") {
        std::fs::write(path, &first).expect("write output");
    }
    let iters = 200;
    let cpu0 = cpu_time_ns();
    let t = Instant::now();
    let mut total = 0usize;
    for _ in 0..iters {
        // Same work as Helm: execute the file; `include` runs the helpers.
        total += set
            .execute("c/templates/deployment.yaml", &data)
            .expect("execute")
            .len();
    }
    let ns = t.elapsed().as_nanos() / iters;
    let cpu = (cpu_time_ns() - cpu0) / iters;
    println!("parse (2 files): {parse_ns} ns");
    println!(
        "execute ({copies} documents, {} bytes): wall {ns} ns/exec; cpu {cpu} ns/exec, {} ns/document",
        first.len(),
        cpu / copies as u128
    );
    assert_eq!(total, first.len() * iters as usize);
}
