//! The YAML writer checked against a real YAML 1.1 parser (PyYAML from the project venv,
//! `$FERRY_VENV`, default `$HOME/.cache/ferry/venv`): every generated document must load back
//! to exactly the JSON value it was written from. This catches strings that would silently
//! change type (`yes`, `1e3`, `12:30`, `2026-11-23`, `~`, …) or lose characters.

use engine::yaml::to_yaml_documents;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::process::Command;

fn python() -> PathBuf {
    let venv = std::env::var_os("FERRY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/ferry/venv")
        });
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} not found: create the venv with scripts/test.sh (pyyaml from scripts/requirements.txt) or set FERRY_VENV",
        py.display()
    );
    py
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

const TRICKY: &[&str] = &[
    "",
    " ",
    "a b",
    " lead",
    "trail ",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "1",
    "-1",
    "+1",
    "1.5",
    ".5",
    "1e3",
    "1E-2",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "12:30",
    "1:20:30.5",
    ".inf",
    "-.Inf",
    ".NaN",
    "2026-11-23",
    "2026-11-23T01:00:00Z",
    "2026-1-2 3:04:05",
    "-",
    "- x",
    "-x",
    "?",
    "? x",
    "?x",
    ":",
    ": x",
    ":x",
    "a: b",
    "a:b",
    "a #b",
    "a#b",
    "#x",
    "&x",
    "*x",
    "!x",
    "|",
    ">",
    "'q'",
    "\"d\"",
    "%x",
    "@x",
    "`x",
    "[x]",
    "{x}",
    "a,b",
    "multi\nline\n",
    "multi\nline",
    "trailing\n\n",
    "\ttab",
    "tab\t",
    "bell\u{7}",
    "ünïcödé",
    "emoji 🚀",
    "back\\slash",
    "line\r\nwin",
    "=",
    "<<",
    "v1.2.3",
    "10.0.0.1",
    "0.0.0.0/0",
    "*.example.com",
    "https://x.y/z?a=b#c",
    "sha256:abc",
    "ENC[AES256_GCM,data:x]",
    "\u{feff}bom",
    "x\n ",
    "  indented\nblock\n",
];

fn generate(r: &mut Rng, depth: u32) -> Value {
    match r.next() % if depth > 3 { 5 } else { 8 } {
        0 => Value::Null,
        1 => json!(!r.next().is_multiple_of(2)),
        2 => json!((r.next() % 2000) as i64 - 1000),
        3 => json!(((r.next() % 10000) as f64) / 8.0 + 0.125),
        4 => json!(TRICKY[(r.next() as usize) % TRICKY.len()]),
        5 | 6 => {
            let mut m = Map::new();
            for _ in 0..(r.next() % 4) {
                m.insert(
                    TRICKY[(r.next() as usize) % TRICKY.len()].to_string(),
                    generate(r, depth + 1),
                );
            }
            Value::Object(m)
        }
        _ => Value::Array(
            (0..(r.next() % 4))
                .map(|_| generate(r, depth + 1))
                .collect(),
        ),
    }
}

#[test]
fn yaml_round_trips_through_pyyaml() {
    let mut r = Rng(2026);
    let mut docs: Vec<Value> = (0..400)
        .map(|_| json!({"root": generate(&mut r, 0)}))
        .collect();
    // Every tricky string as a value, as a key and as a list item.
    for s in TRICKY {
        docs.push(json!({"value": s, "list": [s, [s]], "nested": {*s: s}}));
    }
    let text = to_yaml_documents(&docs);
    let dir = std::env::temp_dir().join(format!("ferry-yaml-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("docs.yaml");
    std::fs::write(&file, &text).expect("write");
    let out = Command::new(python())
        .arg("-c")
        .arg("import json, sys, yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')))))")
        .arg(&file)
        .output()
        .expect("run python");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "PyYAML failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json from python");
    assert_eq!(loaded.len(), docs.len());
    for (i, (a, b)) in docs.iter().zip(&loaded).enumerate() {
        assert_eq!(a, b, "document {i} changed:\n{}", engine::yaml::to_yaml(a));
    }
}
