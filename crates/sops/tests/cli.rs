//! `ferry secrets …` end to end, against the real sops. Needs the ferry binary: `$FERRY_BIN`
//! (scripts/test.sh builds it and sets it) or `<target>/debug/ferry` next to this test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{changed_lines, keys, sops_ok};

fn ferry_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FERRY_BIN") {
        return PathBuf::from(p);
    }
    // target/debug/deps/cli-<hash> → target/debug/ferry
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().and_then(Path::parent).map(|d| d.join("ferry"));
    match p {
        Some(p) if p.is_file() => p,
        _ => panic!(
            "the ferry binary is needed: set FERRY_BIN or run `cargo build -p ferry` first (scripts/test.sh does)"
        ),
    }
}

/// Runs ferry with a clean key environment: the test age key (if `age`) and no GnuPG.
fn ferry(cwd: &Path, args: &[&str], age: Option<&Path>, extra_env: &[(&str, &str)]) -> Output {
    let k = keys();
    let mut c = Command::new(ferry_bin());
    c.current_dir(cwd)
        .arg("secrets")
        .args(args)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_CONFIG")
        .env_remove("SOPS_AGE_RECIPIENTS")
        .env("XDG_CONFIG_HOME", k.dir.path().join("no-config"))
        .env("HOME", k.dir.path())
        .env("GNUPGHOME", k.dir.path().join("empty-gnupg"))
        .env("FERRY_LOG", "debug")
        .stdin(Stdio::null());
    if let Some(a) = age {
        c.env("SOPS_AGE_KEY_FILE", a);
    }
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().expect("run ferry")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const PLAIN: &str = "# settings\napp:\n  image:\n    tag: v1.2.3\n  password: hunter2\n  user_unencrypted: admin\nlist:\n  - s3cret\n";

fn sops_encrypted(dir: &Path, name: &str) -> String {
    std::fs::write(dir.join(name), PLAIN).unwrap();
    let enc = sops_ok(
        dir,
        &["encrypt", "--age", &keys().age_recipient, name],
        None,
        false,
    );
    std::fs::write(dir.join(name), &enc).unwrap();
    enc
}

const SECRETS: [&str; 3] = ["hunter2", "s3cret", "v1.2.3"];

#[test]
fn set_changes_only_value_lastmodified_and_mac() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let before = sops_encrypted(dir.path(), "s.yaml");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = ferry(
        dir.path(),
        &["set", "s.yaml", r#"["app"]["image"]["tag"]"#, r#""v2.0.0""#],
        Some(&k.age_key_file),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let after = std::fs::read_to_string(dir.path().join("s.yaml")).unwrap();
    let diff = changed_lines(&before, &after);
    assert_eq!(diff.len(), 3, "{diff:#?}");
    assert!(diff[0].0.trim_start().starts_with("tag: ENC["));
    assert!(diff[1].0.trim_start().starts_with("lastmodified:"));
    assert!(diff[2].0.trim_start().starts_with("mac: ENC["));
    let plain = sops_ok(
        dir.path(),
        &["decrypt", "s.yaml"],
        Some(&k.age_key_file),
        false,
    );
    assert!(
        plain.contains("tag: v2.0.0") && plain.contains("password: hunter2"),
        "{plain}"
    );
    // Debug logs never contain values.
    let log = stderr(&o);
    for s in SECRETS.iter().chain(["v2.0.0"].iter()) {
        assert!(!log.contains(s), "log leaks {s}: {log}");
    }
}

#[test]
fn failures_are_clear_and_write_nothing() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let enc = sops_encrypted(dir.path(), "f.yaml");
    let check = |content: &str, age: Option<&Path>, expect: &[&str]| {
        std::fs::write(dir.path().join("f.yaml"), content).unwrap();
        for args in [
            vec!["decrypt", "f.yaml"],
            vec!["set", "f.yaml", r#"["app"]["password"]"#, r#""new""#],
            vec!["rotate", "-i", "f.yaml"],
        ] {
            let o = ferry(dir.path(), &args, age, &[]);
            let err = stderr(&o);
            assert!(!o.status.success(), "{args:?} succeeded");
            assert!(o.stdout.is_empty(), "{args:?} printed output");
            assert!(
                err.contains("f.yaml"),
                "{args:?}: error does not name the file: {err}"
            );
            for e in expect {
                assert!(err.contains(e), "{args:?}: expected {e:?} in: {err}");
            }
            for s in SECRETS {
                assert!(!err.contains(s), "{args:?}: error leaks {s}: {err}");
            }
            assert_eq!(
                std::fs::read_to_string(dir.path().join("f.yaml")).unwrap(),
                content,
                "{args:?} wrote the file"
            );
        }
    };
    // Tampered value.
    let line = enc.lines().find(|l| l.contains("password: ENC[")).unwrap();
    let i = line.find("data:").unwrap() + 5;
    let mut bad = line.to_string();
    let c = bad.as_bytes()[i];
    bad.replace_range(i..i + 1, if c == b'A' { "B" } else { "A" });
    check(
        &enc.replace(line, &bad),
        Some(&k.age_key_file),
        &["app.password", "authentication failed"],
    );
    // Wrong key.
    check(
        &enc,
        Some(&k.age_key_file2),
        &["could not decrypt the data key", &k.age_recipient],
    );
    // Missing key.
    check(
        &enc,
        None,
        &[
            "could not decrypt the data key",
            "no age identity available",
        ],
    );
    // Bad MAC.
    check(
        &enc.replace("user_unencrypted: admin", "user_unencrypted: root"),
        Some(&k.age_key_file),
        &["MAC mismatch"],
    );
    // Not a sops file.
    check(PLAIN, Some(&k.age_key_file), &["not a sops-encrypted file"]);
}

#[test]
fn encrypt_with_creation_rules_from_parent_directory() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    encrypted_regex: ^(password|list)$\n    age: {}\n",
            k.age_recipient
        ),
    )
    .unwrap();
    let sub = dir.path().join("prod");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("v.yaml"), PLAIN).unwrap();
    let o = ferry(&sub, &["encrypt", "-i", "v.yaml"], None, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let enc = std::fs::read_to_string(sub.join("v.yaml")).unwrap();
    assert!(enc.contains("encrypted_regex: ^(password|list)$"), "{enc}");
    assert!(
        enc.contains("tag: v1.2.3"),
        "tag must stay plaintext: {enc}"
    );
    assert!(!enc.contains("hunter2"));
    let plain = sops_ok(&sub, &["decrypt", "v.yaml"], Some(&k.age_key_file), false);
    let own = ferry(&sub, &["decrypt", "v.yaml"], Some(&k.age_key_file), &[]);
    assert_eq!(String::from_utf8(own.stdout).unwrap(), plain);
    // Encrypting again is refused and leaves the file alone.
    let o = ferry(&sub, &["encrypt", "-i", "v.yaml"], None, &[]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(sub.join("v.yaml")).unwrap(), enc);
}

#[test]
fn edit_uses_memory_backed_plaintext_and_writes_only_on_success() {
    use std::os::unix::fs::PermissionsExt;
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let before = sops_encrypted(dir.path(), "e.yaml");
    let log = dir.path().join("editor.log");
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\necho \"$1\" > {log}\nstat -c %a \"$1\" >> {log}\nsed -i 's/hunter2/changed-pw/' \"$1\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ed = editor.display().to_string();
    let o = ferry(
        dir.path(),
        &["edit", "e.yaml"],
        Some(&k.age_key_file),
        &[("EDITOR", &ed)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let logged = std::fs::read_to_string(&log).unwrap();
    let mut lines = logged.lines();
    let tmp = lines.next().unwrap();
    assert!(
        tmp.starts_with("/dev/shm/"),
        "plaintext copy not on tmpfs: {tmp}"
    );
    assert_eq!(lines.next(), Some("600"));
    assert!(!Path::new(tmp).exists(), "plaintext copy left behind");
    let after = std::fs::read_to_string(dir.path().join("e.yaml")).unwrap();
    let plain = sops_ok(
        dir.path(),
        &["decrypt", "e.yaml"],
        Some(&k.age_key_file),
        false,
    );
    assert!(
        plain.contains("password: changed-pw") && plain.contains("tag: v1.2.3"),
        "{plain}"
    );
    // Untouched values keep their ciphertext.
    let tag = |t: &str| {
        t.lines()
            .find(|l| l.contains("tag: ENC["))
            .unwrap()
            .to_string()
    };
    assert_eq!(tag(&before), tag(&after));

    // A failing editor writes nothing.
    let failing = dir.path().join("fail.sh");
    std::fs::write(
        &failing,
        "#!/bin/sh\nsed -i 's/changed-pw/x/' \"$1\"\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    let f = failing.display().to_string();
    let o = ferry(
        dir.path(),
        &["edit", "e.yaml"],
        Some(&k.age_key_file),
        &[("EDITOR", &f)],
    );
    assert!(!o.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("e.yaml")).unwrap(),
        after
    );
    // Invalid YAML from the editor writes nothing.
    let broken = dir.path().join("broken.sh");
    std::fs::write(&broken, "#!/bin/sh\nprintf 'a: [\\n' > \"$1\"\n").unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let b = broken.display().to_string();
    let o = ferry(
        dir.path(),
        &["edit", "e.yaml"],
        Some(&k.age_key_file),
        &[("EDITOR", &b)],
    );
    assert!(!o.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("e.yaml")).unwrap(),
        after
    );
}

#[test]
fn rotate_and_updatekeys() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let before = sops_encrypted(dir.path(), "r.yaml");
    let plain = sops_ok(
        dir.path(),
        &["decrypt", "r.yaml"],
        Some(&k.age_key_file),
        false,
    );
    let o = ferry(
        dir.path(),
        &["rotate", "-i", "r.yaml"],
        Some(&k.age_key_file),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rotated = std::fs::read_to_string(dir.path().join("r.yaml")).unwrap();
    let tag = |t: &str| {
        t.lines()
            .find(|l| l.contains("tag: ENC["))
            .unwrap()
            .to_string()
    };
    assert_ne!(
        tag(&before),
        tag(&rotated),
        "rotate must re-encrypt with a new data key"
    );
    assert_eq!(
        sops_ok(
            dir.path(),
            &["decrypt", "r.yaml"],
            Some(&k.age_key_file),
            false
        ),
        plain
    );

    std::fs::write(
        dir.path().join(".sops.yaml"),
        format!(
            "creation_rules:\n  - age: {},{}\n",
            k.age_recipient, k.age_recipient2
        ),
    )
    .unwrap();
    let o = ferry(
        dir.path(),
        &["updatekeys", "-y", "r.yaml"],
        Some(&k.age_key_file),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let updated = std::fs::read_to_string(dir.path().join("r.yaml")).unwrap();
    assert!(updated.contains(&k.age_recipient2));
    assert_eq!(
        tag(&rotated),
        tag(&updated),
        "updatekeys keeps the data key and values"
    );
    // The new recipient alone can decrypt now, in sops.
    assert_eq!(
        sops_ok(
            dir.path(),
            &["decrypt", "r.yaml"],
            Some(&k.age_key_file2),
            false
        ),
        plain
    );
}
