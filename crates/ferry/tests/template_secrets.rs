//! `ferry template -f secrets+age-import://KEY?FILE`: helm-secrets value-file URLs are decrypted
//! in memory and rendered; the plaintext never reaches the logs, even at debug level.

use std::path::{Path, PathBuf};
use std::process::Command;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo")
}

fn chart(dir: &Path) -> PathBuf {
    let c = dir.join("chart");
    std::fs::create_dir_all(c.join("templates")).expect("create chart dir");
    std::fs::write(
        c.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .expect("write Chart.yaml");
    std::fs::write(
        c.join("templates/secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: {{ .Values.secrets.api.DB_PASSWORD | quote }}\n",
    )
    .expect("write template");
    c
}

#[test]
fn age_import_url_renders_decrypted_values_without_logging_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = chart(tmp.path());
    let key = demo().join("age-test-key.txt");
    let secrets = demo().join("deployment/kubernetes/.envs/dev-secrets.yaml");
    let url = format!(
        "secrets+age-import://{}?{}",
        key.display(),
        secrets.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["template", "rel"])
        .arg(&chart)
        .args(["-f", &url])
        .env("FERRY_LOG", "debug")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .output()
        .expect("run ferry");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ferry failed: {stderr}");
    assert!(
        stdout.contains("password: \"dev-db-password-not-secret\""),
        "{stdout}"
    );
    assert!(
        stderr.contains("DEBUG"),
        "debug logging was not on, the check below would prove nothing: {stderr}"
    );
    assert!(!stderr.contains("dev-db-password-not-secret"), "{stderr}");
    assert!(!stderr.contains("dev-token-0123456789"), "{stderr}");
}

#[test]
fn wrong_key_fails_naming_the_file_and_prints_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = chart(tmp.path());
    let other = tmp.path().join("other-key.txt");
    let keygen = Command::new("age-keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .expect("age-keygen (Debian package age) must be installed");
    assert!(keygen.status.success());
    let secrets = demo().join("deployment/kubernetes/.envs/dev-secrets.yaml");
    let url = format!(
        "secrets+age-import://{}?{}",
        other.display(),
        secrets.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["template", "rel"])
        .arg(&chart)
        .args(["-f", &url])
        .env("FERRY_LOG", "debug")
        .output()
        .expect("run ferry");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("dev-secrets.yaml"), "{stderr}");
    assert!(!stderr.contains("dev-db-password-not-secret"), "{stderr}");
}
