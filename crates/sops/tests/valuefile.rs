//! helm-secrets value-file references resolved and decrypted in memory, with files encrypted
//! by the real sops; debug logs carry no plaintext.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{keys, sops_ok};
use sops::Keyring;
use sops::valuefile::{
    NoKubernetes, ResolveOptions, SecretFetcher, ValueFileError, ValueFileRef, decrypt_value_file,
};
use zeroize::Zeroizing;

const VALUES: &str = "image:\n  tag: v1.2.3\ndb:\n  password: hunter2-very-secret\n";

struct FakeCluster(HashMap<(String, String, String), Vec<u8>>);

impl SecretFetcher for FakeCluster {
    fn fetch(&self, ns: Option<&str>, name: &str, key: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        let ns = ns.unwrap_or("default").to_string();
        self.0
            .get(&(ns.clone(), name.to_string(), key.to_string()))
            .map(|v| Zeroizing::new(v.clone()))
            .ok_or_else(|| format!("secrets \"{name}\" not found in namespace {ns}"))
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn env_keyring_empty() -> Keyring {
    let mut k = Keyring::new();
    k.disable_gnupg();
    k
}

#[test]
fn resolves_and_decrypts_every_form_without_logging_plaintext() {
    let k = keys();
    let repo = tempfile::tempdir().unwrap();
    let chart = repo.path().join("charts/app");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::create_dir_all(repo.path().join("common")).unwrap();
    // The age identity next to the chart, and a file encrypted by the real sops.
    std::fs::copy(&k.age_key_file, chart.join("key.txt")).unwrap();
    std::fs::write(chart.join("secrets.yaml"), VALUES).unwrap();
    let enc = sops_ok(
        &chart,
        &["encrypt", "--age", &k.age_recipient, "secrets.yaml"],
        None,
        false,
    );
    std::fs::write(chart.join("secrets.yaml"), &enc).unwrap();
    std::fs::write(repo.path().join("common/shared.yaml"), &enc).unwrap();
    std::fs::write(chart.join("plain.yaml"), "replicas: 2\n").unwrap();
    std::fs::write(chart.join("pgp.yaml"), VALUES).unwrap();
    let penc = sops_ok(
        &chart,
        &["encrypt", "--pgp", &k.pgp_fp, "pgp.yaml"],
        None,
        true,
    );
    std::fs::write(chart.join("pgp.yaml"), &penc).unwrap();
    std::fs::copy(&k.pgp_secret_file, chart.join("key.asc")).unwrap();
    let expected = sops_ok(
        &chart,
        &["decrypt", "secrets.yaml"],
        Some(&k.age_key_file),
        false,
    );
    assert!(expected.contains("hunter2-very-secret"));

    let logs = Buf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let opts = ResolveOptions::new(&chart);
    let none = env_keyring_empty();
    let run = |url: &str, env: &Keyring, kube: &dyn SecretFetcher| {
        let r = ValueFileRef::parse(url)
            .unwrap()
            .expect("a secrets reference");
        decrypt_value_file(&r, &opts, env, kube)
    };
    let text = |b: Zeroizing<Vec<u8>>| String::from_utf8(b.to_vec()).unwrap();

    // secrets+age-import://KEYPATH?PATH, both relative to the chart directory.
    assert_eq!(
        text(
            run(
                "secrets+age-import://key.txt?secrets.yaml",
                &none,
                &NoKubernetes
            )
            .unwrap()
        ),
        expected
    );
    // Absolute key path (a mounted volume) and a sibling directory via `..`.
    let abs = format!(
        "secrets+age-import://{}?../../common/shared.yaml",
        k.age_key_file.display()
    );
    assert_eq!(text(run(&abs, &none, &NoKubernetes).unwrap()), expected);
    // secrets://PATH with keys from the environment keyring.
    let mut env = env_keyring_empty();
    env.add_age_key_file(&k.age_key_file).unwrap();
    assert_eq!(
        text(run("secrets://secrets.yaml", &env, &NoKubernetes).unwrap()),
        expected
    );
    // ...and without them: a clear error naming the file.
    let e = run("secrets://secrets.yaml", &none, &NoKubernetes)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("secrets.yaml: could not decrypt the data key"),
        "{e}"
    );
    // Kubernetes Secret holding the age key.
    let mut cluster = HashMap::new();
    cluster.insert(
        (
            "argocd".to_string(),
            "sops-age".to_string(),
            "keys.txt".to_string(),
        ),
        std::fs::read(&k.age_key_file).unwrap(),
    );
    cluster.insert(
        (
            "default".to_string(),
            "gpg".to_string(),
            "key.asc".to_string(),
        ),
        std::fs::read(&k.pgp_secret_file).unwrap(),
    );
    let kube = FakeCluster(cluster);
    assert_eq!(
        text(
            run(
                "secrets+age-import-kubernetes://argocd/sops-age#keys.txt?secrets.yaml",
                &none,
                &kube
            )
            .unwrap()
        ),
        expected
    );
    let e = run(
        "secrets+age-import-kubernetes://argocd/other#keys.txt?secrets.yaml",
        &none,
        &kube,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("Secret argocd/other#keys.txt") && e.contains("not found"),
        "{e}"
    );
    // OpenPGP: key file and Kubernetes Secret (default namespace).
    let pexpected = sops_ok(&chart, &["decrypt", "pgp.yaml"], None, true);
    assert_eq!(
        text(
            run(
                "secrets+gpg-import://key.asc?pgp.yaml",
                &none,
                &NoKubernetes
            )
            .unwrap()
        ),
        pexpected
    );
    assert_eq!(
        text(
            run(
                "secrets+gpg-import-kubernetes://gpg#key.asc?pgp.yaml",
                &none,
                &kube
            )
            .unwrap()
        ),
        pexpected
    );
    // Not encrypted: passed through; `?PATH` tolerates a missing file.
    assert_eq!(
        text(run("secrets://plain.yaml", &none, &NoKubernetes).unwrap()),
        "replicas: 2\n"
    );
    assert!(
        run("secrets://?missing.yaml", &none, &NoKubernetes)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        run("secrets://missing.yaml", &none, &NoKubernetes),
        Err(ValueFileError::Io { .. })
    ));
    // Controller-style strict resolution confines paths to the repository.
    let strict = ResolveOptions::strict(&chart, repo.path());
    let r = ValueFileRef::parse("secrets+age-import://key.txt?../../common/shared.yaml")
        .unwrap()
        .unwrap();
    assert!(matches!(
        decrypt_value_file(&r, &strict, &none, &NoKubernetes),
        Err(ValueFileError::Forbidden { .. })
    ));
    let r = ValueFileRef::parse("secrets+age-import://key.txt?secrets.yaml")
        .unwrap()
        .unwrap();
    assert_eq!(
        text(decrypt_value_file(&r, &strict, &none, &NoKubernetes).unwrap()),
        expected
    );

    drop(_guard);
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("decrypted sops file"),
        "debug logging is active: {log}"
    );
    for secret in ["hunter2-very-secret", "v1.2.3", "AGE-SECRET-KEY"] {
        assert!(!log.contains(secret), "debug log leaks {secret}:\n{log}");
    }
}
