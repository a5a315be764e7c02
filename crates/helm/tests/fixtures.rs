//! Renders the fixture charts of the differential suite (tests/difftest/charts) through the
//! library API and checks Helm's behaviour on them (the byte-for-byte comparison with Helm
//! itself is `tests/difftest/run.py`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use helm::{Chart, RenderOptions, StreamOptions, Values};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/difftest/charts")
        .join(name)
}

fn values_file(rel: &str) -> Values {
    let data = std::fs::read(fixture(rel)).expect("fixture values file");
    helm::yaml::load_values_file(&data).expect("valid values")
}

fn stream(chart: &str, vals: &Values, sopts: &StreamOptions) -> String {
    let c = Chart::load(&fixture(chart)).expect("fixture chart loads");
    helm::check_installable(&c).expect("installable");
    helm::render(&c, vals, &RenderOptions::default())
        .expect("renders")
        .stream(sopts)
}

#[test]
fn umbrella_defaults() {
    let out = stream("umbrella", &Values::new(), &StreamOptions::default());
    // Aliased subchart twice, library templates not rendered, tagged subchart disabled.
    assert!(out.contains("# Source: umbrella/charts/frontend/templates/service.yaml"));
    assert!(out.contains("# Source: umbrella/charts/backend/templates/service.yaml"));
    assert!(!out.contains("library-charts-do-not-render-this"));
    assert!(!out.contains("ServiceMonitor"));
    assert!(!out.contains("NOTES"));
    // The parent's define of lib.name wins over the library's.
    assert!(out.contains("app.kubernetes.io/name: umbrella-umbrella"));
    // .helmignore'd files are not visible.
    assert!(out.contains("ignored: \"\""));
    // Import-values: the parent's own value wins, the child's fill the rest.
    assert!(out.contains(
        r#"imported: "{\"keep\":\"parent\",\"nested\":{\"level\":2},\"url\":\"http://web\"}""#
    ));
    // Namespace sorts before ConfigMap, hooks come last with the unknown hook dropped.
    let ns = out.find("kind: Namespace").expect("namespace");
    let cm = out.find("kind: ConfigMap").expect("configmap");
    assert!(ns < cm);
    let job = out.find("kind: Job").expect("hook job");
    assert!(job > out.find("kind: Deployment").expect("deployment"));
    assert!(!out.contains("unknown-hook"));
    assert!(out.ends_with("\n"));
}

#[test]
fn umbrella_flags() {
    let vals = Values::new();
    let with_crds = stream(
        "umbrella",
        &vals,
        &StreamOptions {
            include_crds: true,
            ..Default::default()
        },
    );
    assert!(with_crds.starts_with("---\n# Source: umbrella/crds/widgets.yaml\n"));
    assert!(with_crds.contains("# Source: umbrella/charts/db/crds/backups.yaml"));
    let no_tests = stream(
        "umbrella",
        &vals,
        &StreamOptions {
            skip_tests: true,
            ..Default::default()
        },
    );
    assert!(!no_tests.contains("test-connection"));
    let no_hooks = stream(
        "umbrella",
        &vals,
        &StreamOptions {
            no_hooks: true,
            ..Default::default()
        },
    );
    assert!(!no_hooks.contains("kind: Job"));
}

#[test]
fn umbrella_values_files() {
    let vals = helm::values::merge_maps(
        values_file("umbrella/values/prod.yaml"),
        values_file("umbrella/values/override.yaml"),
    );
    let out = stream("umbrella", &vals, &StreamOptions::default());
    assert!(
        out.contains("ServiceMonitor"),
        "tags.monitoring=true enables metrics"
    );
    assert!(
        !out.contains("charts/frontend/"),
        "condition disables the frontend alias"
    );
    assert!(!out.contains("kind: StatefulSet"), "db.enabled=false");
    assert!(out.contains("replicas: 5"));
}

#[test]
fn schema_errors_name_chart_and_path() {
    let c = Chart::load(&fixture("umbrella")).unwrap();
    let err = helm::render(
        &c,
        &values_file("umbrella/values/bad-schema.yaml"),
        &RenderOptions::default(),
    )
    .unwrap_err();
    let msg = err.cli_message();
    assert!(msg.starts_with(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n"
    ));
    assert!(
        msg.contains("backend:\n- at '/port': maximum: got 70,000, want 65,535\n"),
        "{msg}"
    );
    assert!(!msg.contains("--debug"));
}

#[test]
fn template_errors_carry_helm_texts() {
    let c = Chart::load(&fixture("errors")).unwrap();
    let run = |mode: &str| {
        let mut v = Values::new();
        v.insert("mode".into(), serde_json::Value::String(mode.into()));
        helm::render(&c, &v, &RenderOptions::default())
            .unwrap_err()
            .cli_message()
    };
    assert_eq!(
        run("fail"),
        "execution error at (errors/templates/t.yaml:4:3): mode fail was selected\n\nUse --debug flag to render out invalid YAML"
    );
    assert!(
        run("required")
            .starts_with("execution error at (errors/templates/t.yaml:2:6): errors.need: value")
    );
    assert!(run("yaml").starts_with(
        "YAML parse error on errors/templates/t.yaml: error converting YAML to JSON: yaml:"
    ));
    let missing = Chart::load(&fixture("missing-dep")).unwrap();
    let e = helm::check_installable(&missing).unwrap_err().cli_message();
    assert!(
        e.ends_with("found in Chart.yaml, but missing in charts/ directory: absent"),
        "{e}"
    );
}

#[test]
fn in_memory_and_archive_loading() {
    let root = fixture("errors");
    let mut files = BTreeMap::new();
    for rel in [
        "Chart.yaml",
        "values.yaml",
        "templates/_helpers.tpl",
        "templates/t.yaml",
    ] {
        files.insert(rel.to_string(), std::fs::read(root.join(rel)).unwrap());
    }
    files.insert("values.yaml.bak".into(), b"ignored".to_vec());
    files.insert(".helmignore".into(), b"*.bak\n".to_vec());
    let from_mem = Chart::from_files(files).expect("in-memory chart");
    assert!(from_mem.files.iter().all(|f| f.name != "values.yaml.bak"));
    let from_dir = Chart::load(&root).unwrap();
    let opts = RenderOptions::default();
    let a = helm::render_files(&from_mem, &Values::new(), &opts).unwrap();
    let b = helm::render_files(&from_dir, &Values::new(), &opts).unwrap();
    assert_eq!(a, b);
    // apiVersion v1 with requirements.yaml; `appVersion: 1.0` is a float, printed `1`.
    let v1 = Chart::load(&fixture("v1chart")).unwrap();
    assert_eq!(v1.metadata.app_version, "1");
    assert_eq!(v1.metadata.dependencies[0].name, "child");
    assert!(v1.files.iter().any(|f| f.name == "requirements.yaml"));
    // The .tgz subchart of the umbrella loads like a directory one.
    let u = Chart::load(&fixture("umbrella")).unwrap();
    assert!(
        u.dependencies
            .iter()
            .any(|d| d.name() == "db" && !d.templates.is_empty())
    );
}

#[test]
fn objects_and_cache_key() {
    let c = Chart::load(&fixture("umbrella")).unwrap();
    let opts = RenderOptions::default();
    let r = helm::render(&c, &Values::new(), &opts).unwrap();
    let objs = r.objects(true).unwrap();
    assert_eq!(objs[0].object["kind"], "CustomResourceDefinition");
    let job = objs.iter().find(|o| o.object["kind"] == "Job").unwrap();
    assert_eq!(job.hook_events, vec!["pre-install", "pre-upgrade"]);
    assert_eq!(job.hook_weight, -5);
    let k1 = helm::cache_key(&c, &Values::new(), &opts);
    let mut v = Values::new();
    v.insert("replicaCount".into(), serde_json::json!(3.0));
    assert_ne!(k1, helm::cache_key(&c, &v, &opts));
    assert_eq!(k1, helm::cache_key(&c, &Values::new(), &opts));
}

/// Rendering a chart the caller gives up (its values moved, not copied) gives what rendering
/// a borrowed one does, for every fixture chart (dependencies, aliases, import-values,
/// library charts, schemas) and its values files.
#[test]
fn owned_render_matches_borrowed() {
    let root = fixture("");
    let mut dirs: Vec<PathBuf> = Vec::new();
    for e in std::fs::read_dir(&root).expect("fixtures") {
        let p = e.expect("entry").path();
        if p.join("Chart.yaml").is_file() {
            dirs.push(p);
        } else if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("fixture group") {
                dirs.push(e.expect("entry").path());
            }
        }
    }
    let mut rendered = 0;
    for dir in dirs {
        let Ok(c) = Chart::load(&dir) else { continue };
        let mut cases = vec![Values::new()];
        if let Ok(files) = std::fs::read_dir(dir.join("values")) {
            for f in files {
                let data = std::fs::read(f.expect("entry").path()).expect("values file");
                if let Ok(v) = helm::yaml::load_values_file(&data) {
                    cases.push(v);
                }
            }
        }
        let opts = RenderOptions::default();
        for vals in &cases {
            let borrowed = helm::render_files(&c, vals, &opts).map_err(|e| e.cli_message());
            let fresh = Chart::load(&dir).expect("loads again");
            let owned = helm::render_files_owned(fresh, vals, &opts).map_err(|e| e.cli_message());
            assert_eq!(owned, borrowed, "{}", dir.display());
            let fresh = Chart::load(&dir).expect("loads again");
            let a = helm::render(&c, vals, &opts).map(|r| r.stream(&StreamOptions::default()));
            let b =
                helm::render_owned(fresh, vals, &opts).map(|r| r.stream(&StreamOptions::default()));
            assert_eq!(
                a.map_err(|e| e.cli_message()),
                b.map_err(|e| e.cli_message()),
                "{}",
                dir.display()
            );
            rendered += 1;
        }
    }
    assert!(rendered >= 10, "only {rendered} fixture renders");
}
