//! Rough timings of the hot paths on the files given: values parsing, `toYaml`, `toJson`.
//! `cargo run --release -p goyaml --example bench -- FILE...`

use std::time::Instant;

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let bytes: usize = files.iter().map(String::len).sum();
    let values: Vec<gotmpl::Value> = files
        .iter()
        .filter_map(|t| goyaml::from_yaml_map(t).ok())
        .collect();
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        for f in &files {
            std::hint::black_box(goyaml::from_yaml_map(f).ok());
        }
    }
    let parse = t.elapsed().as_secs_f64() / rounds as f64;
    let t = Instant::now();
    for _ in 0..rounds {
        for v in &values {
            std::hint::black_box(goyaml::to_yaml(v).ok());
        }
    }
    let to_yaml = t.elapsed().as_secs_f64() / rounds as f64;
    let t = Instant::now();
    for _ in 0..rounds {
        for v in &values {
            std::hint::black_box(goyaml::to_json(v).ok());
        }
    }
    let to_json = t.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "{} files, {:.1} MB: parse {:.1} ms ({:.1} MB/s), toYaml {:.1} ms, toJson {:.1} ms",
        files.len(),
        bytes as f64 / 1e6,
        parse * 1e3,
        bytes as f64 / 1e6 / parse,
        to_yaml * 1e3,
        to_json * 1e3
    );
}
