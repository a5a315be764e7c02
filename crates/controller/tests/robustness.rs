//! Robustness: value-file resolution and Application parsing never panic on odd input.

use controller::application::{Application, ApplicationSource};
use controller::valuefiles::{
    DEFAULT_ALLOWED_SCHEMES, ResolveContext, expand_globs, glob_match, resolve_value_file,
};
use serde_json::json;
use std::collections::BTreeMap;

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

#[test]
fn odd_value_files() {
    let pieces = [
        "$",
        "values",
        "/",
        "..",
        ".",
        "secrets",
        "://",
        "+age-import",
        "?",
        "!",
        "sops",
        "${",
        "}",
        "ü",
        "*",
        "[",
        "]",
        "https",
        "a.yaml",
        "$$",
        "#",
        "-kubernetes",
        "~",
    ];
    let chart = ApplicationSource {
        repo_url: "https://x".into(),
        path: Some("charts/ü".into()),
        ..Default::default()
    };
    let values = ApplicationSource {
        repo_url: "https://y".into(),
        ref_: Some("values".into()),
        ..Default::default()
    };
    let sources = [&chart, &values];
    let mut env = BTreeMap::new();
    env.insert("A".to_string(), "ü/..".to_string());
    let ctx = ResolveContext {
        sources: &sources,
        source_index: 0,
        allowed_schemes: DEFAULT_ALLOWED_SCHEMES,
        env: &env,
    };
    let mut r = Rng(7);
    let listing = |_: usize| vec!["charts/ü/a.yaml".to_string(), "x/[y].yaml".to_string()];
    for _ in 0..20000 {
        let s: String = (0..(r.next() % 7))
            .map(|_| pieces[(r.next() as usize) % pieces.len()])
            .collect();
        if let Ok(f) = resolve_value_file(&s, &ctx) {
            let _ = expand_globs(&[f], &listing, r.next().is_multiple_of(2));
        }
        let _ = glob_match(&s, "charts/ü/a.yaml");
    }
}

#[test]
fn odd_applications() {
    let cases = [
        json!(null),
        json!([]),
        json!({"spec": null}),
        json!({"spec": {"sources": null, "source": {"helm": {"valuesObject": [1, 2]}}}}),
        json!({"metadata": {"name": 3}}),
        json!({"spec": {"syncPolicy": {"automated": null, "retry": {"backoff": {"factor": 1e300}}}}}),
        json!({"status": {"history": [{"id": "x"}]}}),
    ];
    for c in cases {
        if let Ok(app) = Application::from_value(&c) {
            let _ = app.spec_conditions();
            let _ = app.to_value();
        }
    }
}
