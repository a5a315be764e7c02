//! Test repositories built with the real git CLI.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `git ARGS` in `dir` (or with `--git-dir` for a bare repository) and returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .env_remove("GIT_DIR")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// Creates `root/<name>` as a bare repository whose `main` holds `files` (one commit), set up
/// like a hosting server: filters allowed, non-fast-forward pushes refused, every ref update
/// logged.
pub fn bare_repo(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let work = root.join(format!("{name}.work"));
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    for (path, content) in files {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "initial"]);
    let bare = root.join(name);
    git(
        root,
        &["clone", "-q", "--bare", work.to_str().expect("utf8"), name],
    );
    for (k, v) in [
        ("uploadpack.allowFilter", "true"),
        ("uploadpack.allowAnySHA1InWant", "true"),
        ("receive.denyNonFastForwards", "true"),
        ("receive.denyDeletes", "true"),
        ("core.logAllRefUpdates", "always"),
        ("http.receivepack", "true"),
    ] {
        git(&bare, &["config", k, v]);
    }
    std::fs::remove_dir_all(&work).expect("rm work");
    bare
}

/// Commits `files` on top of `main` of a bare repository.
pub fn commit_files(bare: &Path, files: &[(&str, &str)], message: &str) -> String {
    let work = bare.with_extension("wc");
    let _ = std::fs::remove_dir_all(&work);
    git(
        bare.parent().expect("parent"),
        &[
            "clone",
            "-q",
            bare.to_str().expect("utf8"),
            work.to_str().expect("utf8"),
        ],
    );
    for (path, content) in files {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", message]);
    git(&work, &["push", "-q", "origin", "HEAD:main"]);
    let head = git(&work, &["rev-parse", "HEAD"]);
    std::fs::remove_dir_all(&work).expect("rm");
    head
}

/// The content of `path` on `main`.
pub fn show(bare: &Path, path: &str) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(bare)
        .args(["show", &format!("main:{path}")])
        .output()
        .expect("git is installed");
    assert!(out.status.success(), "{path} not on main");
    String::from_utf8(out.stdout).expect("utf8")
}
