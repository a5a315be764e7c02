//! Benchmark: executing a typical chart template (a Deployment with helpers, `include`,
//! `range`, `with`, `printf`) with ferry's `gotmpl` and with Helm v4.2.3's engine, in one run,
//! and printing the ratio.
//!
//! Run: `cargo bench -p gotmpl --bench exec [COPIES]` (prints CPU ns per execution and per
//! document, Helm's CPU ns per document, and the ratio; `GOTMPL_BENCH_OUT=file` writes
//! ferry's output). Needs `$FERRY_VENV` (default `$HOME/.cache/ferry/venv`) with
//! helm-python-sdk; `GOTMPL_BENCH_NO_HELM=1` measures ferry alone.
//!
//! Method (CPU time of the process, as the machine is shared): ferry executes the parsed
//! template (`COPIES` documents at a time) in 6 batches of 50 executions and takes the best
//! batch. For Helm, the same three files under
//! `benches/data` are put in a chart `c` (`values.json` as `values.yaml`, with `copies` a list
//! of N numbers) and rendered with helm-python-sdk's `Chart.render` (Helm v4.2.3's engine, Go
//! `text/template` + Sprig) in a Python child process, which measures its own CPU time for
//! N = 100 and N = 1000 (best of several runs): (t1000 − t100) / 900 is Helm's cost per
//! document, without its per-render parsing and setup. Helm's output for N = `COPIES` must
//! equal ferry's byte for byte.

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

/// CPU time of this process (the machine is shared; wall time is noisy), from the same clock
/// as Python's `time.process_time_ns` on the Helm side.
fn cpu_time_ns() -> u128 {
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: clock_gettime writes into the struct we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn main() {
    let mut funcs = FuncMap::default();
    funcs.insert(
        "include".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.include_value(a[0].as_str().unwrap_or(""), &a[1])
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
    // Parsing again and again (Helm parses every file at each render).
    let (dep, helpers) = (read("deployment.yaml"), read("_helpers.tpl"));
    let cpu0 = cpu_time_ns();
    let parses = 300;
    for _ in 0..parses {
        let mut s = Set::with_funcs("gotpl", set.funcs().clone());
        s.parse("c/templates/deployment.yaml", &dep).expect("parse");
        s.parse("c/templates/_helpers.tpl", &helpers)
            .expect("parse");
        std::hint::black_box(&s);
    }
    let parse_cpu = (cpu_time_ns() - cpu0) / parses;

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
    // Best of several batches, as the Helm side takes its best run.
    let (batches, iters) = (6u128, 50u128);
    let mut cpu = u128::MAX;
    let t = Instant::now();
    let mut total = 0usize;
    for _ in 0..batches {
        let cpu0 = cpu_time_ns();
        for _ in 0..iters {
            // Same work as Helm: execute the file; `include` runs the helpers.
            total += set
                .execute("c/templates/deployment.yaml", &data)
                .expect("execute")
                .len();
        }
        cpu = cpu.min((cpu_time_ns() - cpu0) / iters);
    }
    let ns = t.elapsed().as_nanos() / (batches * iters);
    println!("parse (2 files): first {parse_ns} ns, then cpu {parse_cpu} ns");
    println!(
        "execute ({copies} documents, {} bytes): wall {ns} ns/exec; cpu {cpu} ns/exec, {} ns/document",
        first.len(),
        cpu / copies as u128
    );
    assert_eq!(total, first.len() * (batches * iters) as usize);
    let ferry_doc = cpu as f64 / copies as f64;

    if std::env::var_os("GOTMPL_BENCH_NO_HELM").is_some() {
        return;
    }
    let helm = helm_per_document(dir, copies, &first);
    println!("helm v4.2.3 engine (helm-python-sdk): cpu {helm:.0} ns/document");
    println!(
        "ratio: ferry is {:.1}x faster than Helm's engine per document",
        helm / ferry_doc
    );
}

/// The Python side: renders the chart with Helm's engine and prints
/// `<ns per document>` then the output of the `COPIES` render.
const HELM_SCRIPT: &str = r#"
import json, os, sys, tempfile, time
import helm_python as helm
data, copies = sys.argv[1], int(sys.argv[2])
values = json.load(open(os.path.join(data, "values.json")))
def chart(n):
    d = tempfile.mkdtemp(prefix="gotmpl-bench-")
    os.makedirs(os.path.join(d, "templates"))
    open(os.path.join(d, "Chart.yaml"), "w").write("apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: 1.0.0\n")
    for f in ("deployment.yaml", "_helpers.tpl"):
        open(os.path.join(d, "templates", f), "w").write(open(os.path.join(data, f)).read())
    v = dict(values, copies=list(range(n)))
    open(os.path.join(d, "values.yaml"), "w").write(json.dumps(v))
    return helm.Chart.load(d)
def best(ch, runs):
    t = None
    for _ in range(runs):
        c0 = time.process_time_ns()
        ch.render({}, name="release-name")
        c = time.process_time_ns() - c0
        t = c if t is None else min(t, c)
    return t
small, large = chart(100), chart(1000)
best(small, 2); best(large, 1)
per_doc = (best(large, 7) - best(small, 15)) / 900
out = chart(copies).render({}, name="release-name")["c/templates/deployment.yaml"]
sys.stdout.write(f"{per_doc}\n{out}")
"#;

/// Helm's CPU ns per document, measured by `HELM_SCRIPT`; panics with a clear message when
/// the venv is missing or the outputs differ.
fn helm_per_document(dir: &str, copies: i64, ferry_out: &str) -> f64 {
    let venv = std::env::var("FERRY_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ferry/venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let python = format!("{venv}/bin/python");
    let out = std::process::Command::new(&python)
        .args(["-c", HELM_SCRIPT, dir, &copies.to_string()])
        .output()
        .unwrap_or_else(|e| {
            panic!("{python}: {e} (create the venv with scripts/test.sh, set FERRY_VENV, or GOTMPL_BENCH_NO_HELM=1)")
        });
    assert!(
        out.status.success(),
        "helm side failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("helm output is UTF-8");
    let (ns, rendered) = text.split_once('\n').expect("helm side: per-document line");
    assert!(
        rendered == ferry_out,
        "outputs differ: helm {} bytes, ferry {} bytes",
        rendered.len(),
        ferry_out.len()
    );
    ns.trim().parse().expect("helm side: ns per document")
}
