//! Benchmark: goyaml reading the YAML a chart render reads — the head of every rendered
//! document (Helm's kind sort, `parse_head`) and values files (`load_values`, and
//! `from_yaml_map_json` as Helm's values loader holds them).
//!
//! Run: `cargo bench -p goyaml --bench parse [FILE…]`. Each FILE is read as YAML after
//! dropping template-action lines (`{{ … }}` alone on a line), e.g. the CRDs of a chart;
//! without files, a generated 3,000-line document is used. Prints CPU µs per parse.

/// CPU time of this thread in microseconds (`/proc/thread-self/schedstat`, nanoseconds on
/// CPU), so that other processes on a shared machine do not skew the figures; wall-clock
/// time where that file is missing.
fn cpu_us() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map(|ns| ns / 1e3)
        .unwrap_or_else(|| start.elapsed().as_secs_f64() * 1e6)
}

/// A CRD-like document: nested maps, lists, long strings.
fn generated() -> String {
    let mut s = String::from(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n  annotations:\n    a: b\nspec:\n  versions:\n",
    );
    for v in 0..20 {
        s.push_str(&format!("  - name: v{v}\n    served: true\n    schema:\n      openAPIV3Schema:\n        properties:\n"));
        for p in 0..30 {
            s.push_str(&format!(
                "          field{p}:\n            description: The field number {p} of version {v}, with a longer text that wraps.\n            type: string\n            enum: [a, b, \"c\"]\n            x-kubernetes-int-or-string: true\n"
            ));
        }
    }
    s
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let docs: Vec<(String, String)> = if files.is_empty() {
        vec![("generated".into(), generated())]
    } else {
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("read file");
                let kept: Vec<&str> = text
                    .lines()
                    .filter(|l| !(l.trim_start().starts_with("{{") && l.trim_end().ends_with("}}")))
                    .collect();
                (f.clone(), kept.join("\n"))
            })
            .collect()
    };
    let (mut total_bytes, mut total_head, mut total_values, mut total_json) =
        (0usize, 0f64, 0f64, 0f64);
    for (name, text) in &docs {
        let iters = (4_000_000 / text.len().max(1)).clamp(5, 20_000);
        let t = cpu_us();
        for _ in 0..iters {
            std::hint::black_box(goyaml::parse_head(text).expect("parse_head"));
        }
        let head = (cpu_us() - t) / iters as f64;
        let t = cpu_us();
        for _ in 0..iters {
            std::hint::black_box(goyaml::load_values(text).expect("load_values"));
        }
        let values = (cpu_us() - t) / iters as f64;
        let t = cpu_us();
        for _ in 0..iters {
            std::hint::black_box(goyaml::from_yaml_map_json(text).expect("from_yaml_map_json"));
        }
        let json = (cpu_us() - t) / iters as f64;
        println!(
            "{name}: {} bytes, {} lines: parse_head {head:.0} µs, load_values {values:.0} µs, from_yaml_map_json {json:.0} µs",
            text.len(),
            text.lines().count()
        );
        total_bytes += text.len();
        total_head += head;
        total_values += values;
        total_json += json;
    }
    if docs.len() > 1 {
        println!(
            "total: {total_bytes} bytes: parse_head {total_head:.0} µs ({:.1} MB/s), load_values {total_values:.0} µs ({:.1} MB/s), from_yaml_map_json {total_json:.0} µs ({:.1} MB/s)",
            total_bytes as f64 / total_head,
            total_bytes as f64 / total_values,
            total_bytes as f64 / total_json
        );
    }
}
