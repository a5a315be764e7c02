//! `ferry template --dependency-update`: `file://` dependencies missing from `charts/` are
//! packaged in memory as Helm's `helm dependency update` would, an outdated archive in
//! `charts/` is left out, and the chart directory is never written to.

use std::path::Path;
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(listing(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn file_dependencies_are_resolved_without_writing_the_chart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(
        &root.join("app/Chart.yaml"),
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: ^1.0.0\n  repository: file://../lib\n",
    );
    write(
        &root.join("app/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"lib.name\" . }}\n",
    );
    write(
        &root.join("lib/Chart.yaml"),
        "apiVersion: v2\nname: lib\nversion: 1.4.0\ntype: library\n",
    );
    write(
        &root.join("lib/templates/_name.tpl"),
        "{{- define \"lib.name\" -}}{{ .Release.Name }}-from-lib{{- end -}}",
    );
    let before = listing(root);
    let ferry = env!("CARGO_BIN_EXE_ferry");

    let out = Command::new(ferry)
        .args(["template", "rel"])
        .arg(root.join("app"))
        .output()
        .expect("run ferry");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing in charts/ directory: lib"),
        "stderr: {err}"
    );

    let out = Command::new(ferry)
        .args(["template", "rel", "--dependency-update"])
        .arg(root.join("app"))
        .output()
        .expect("run ferry");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Saving 1 charts\nDeleting outdated charts\n---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rel-from-lib\n"
    );
    assert_eq!(listing(root), before, "the chart directory was written to");

    write(
        &root.join("app/Chart.yaml"),
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: ^2.0.0\n  repository: file://../lib\n",
    );
    let out = Command::new(ferry)
        .args(["template", "rel", "--dependency-update"])
        .arg(root.join("app"))
        .output()
        .expect("run ferry");
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: can't get a valid version for 1 subchart(s): \"lib\" (repository \"file://../lib\", version \"^2.0.0\"). Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml\n"
    );
}
