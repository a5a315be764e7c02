//! `ferry bump` end to end: real git servers (smart HTTP with Basic auth via `git
//! http-backend`, `file://`, a path, SSH through a stand-in ssh), concurrent processes,
//! byte-exact edits, and bad input that must change nothing.

#[path = "../../gitsource/tests/support/http_git.rs"]
mod http_git;

#[path = "../../gitsource/tests/support/fixture.rs"]
mod fixture;

use std::path::Path;
use std::process::{Command, Output};

use fixture::{bare_repo, commit_files, git, show};
use gitsource::yamledit::{KeyPath, get_value};
use http_git::GitHttpServer;

const TOKEN: &str = "glpat-s3cret-t0ken";

/// A latest.yaml with comments, odd indentation and every quoting style.
const LATEST: &str = r#"# Written by CI: newest image tag per app component.
# An environment whose tag is "latest" follows it.
latest:    # top

   web:
        server:
             tag: "1.0.0"     # pinned by CI
             digest: 'sha256:abc'   
   "api":
     server: {tag: 2.0.1, replicas: 3}   # flow style
   worker:
    # comment inside
    server:
      tag: '0.9.0'
      note: plain words # trailing
# end
"#;

fn ferry() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
    for v in [
        "FERRY_GIT_TOKEN",
        "GITLAB_TOKEN",
        "CI_JOB_TOKEN",
        "GITHUB_TOKEN",
        "FERRY_REPO",
    ] {
        c.env_remove(v);
    }
    c.env("FERRY_LOG", "warn");
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("ferry runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tip(bare: &Path) -> String {
    git(bare, &["rev-parse", "main"])
}

fn value(yaml: &str, path: &str) -> Option<String> {
    get_value(yaml, &KeyPath::parse(path).unwrap()).unwrap()
}

#[test]
fn twenty_concurrent_bumps_over_authenticated_http() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(
        tmp.path(),
        "deploy.git",
        &[(".envs/latest.yaml", LATEST), ("README.md", "deploy\n")],
    );
    let server = GitHttpServer::start(tmp.path(), "ci", TOKEN);
    let url = server.url("deploy.git");
    let url_with_token = url.replacen("http://", &format!("http://ci:{TOKEN}@"), 1);
    let start_tip = tip(&bare);

    let mut children = Vec::new();
    for i in 0..20 {
        let mut c = ferry();
        c.args([
            "bump",
            "--branch",
            "main",
            "--author",
            "CI Job <ci@example.com>",
        ]);
        if i < 10 {
            // Different keys: a new component per app, token from the environment.
            c.arg(format!("app{i}/server"))
                .arg(format!("2.{i}.0"))
                .args(["--repo", &url])
                .env("FERRY_GIT_TOKEN", TOKEN)
                .env("FERRY_GIT_USER", "ci");
        } else {
            // The same key: token in the URL (GitLab convention).
            c.arg("web/server")
                .arg(format!("1.0.{i}"))
                .args(["--repo", &url_with_token]);
        }
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        children.push((i, c.spawn().expect("spawn ferry")));
    }
    let mut attempts = Vec::new();
    for (i, child) in children {
        let out = child.wait_with_output().unwrap();
        let t = text(&out);
        assert!(out.status.success(), "bump {i} failed: {t}");
        assert!(!t.contains(TOKEN), "token leaked in output: {t}");
        // "pushed <commit> to main (N attempts)"
        let n: u32 = t
            .split(" (")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no attempt count in {t}"));
        attempts.push(n);
    }
    attempts.sort();
    eprintln!("attempts per bump: {attempts:?}");
    assert!(
        attempts.iter().any(|&n| n > 1),
        "20 concurrent pushes should have met at least one rejection"
    );

    let file = show(&bare, ".envs/latest.yaml");
    for i in 0..10 {
        assert_eq!(
            value(&file, &format!(".latest.app{i}.server.tag")).as_deref(),
            Some(format!("2.{i}.0").as_str()),
            "{file}"
        );
    }
    // History: linear, 20 new commits, each a child of the previous tip.
    let commits: Vec<String> = git(&bare, &["rev-list", "main"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(commits.len(), 21);
    assert_eq!(git(&bare, &["rev-list", "--min-parents=2", "main"]), "");
    assert_eq!(commits.last(), Some(&start_tip));
    // The same key: the last writer's value stands, and every writer's commit exists.
    let subjects = git(&bare, &["log", "--format=%s", "main"]);
    let last_web = subjects
        .lines()
        .find(|s| s.starts_with("bump web/server"))
        .expect("a web commit");
    let last_value = last_web.rsplit(" -> ").next().unwrap();
    assert_eq!(
        value(&file, ".latest.web.server.tag").as_deref(),
        Some(last_value)
    );
    for i in 10..20 {
        let needle = format!("-> 1.0.{i}");
        assert_eq!(
            subjects.lines().filter(|s| s.ends_with(&needle)).count(),
            1,
            "{subjects}"
        );
    }
    // No force push: the server's reflog shows 20 updates, each a fast-forward by one commit.
    let reflog: Vec<String> = git(&bare, &["reflog", "show", "--format=%H", "refs/heads/main"])
        .lines()
        .map(String::from)
        .collect();
    let updates = &reflog[..reflog.len().min(20)];
    assert_eq!(updates.len(), 20);
    for w in reflog.windows(2).take(20) {
        assert_eq!(git(&bare, &["rev-parse", &format!("{}^", w[0])]), w[1]);
    }
    // Everything but the changed scalars and the appended apps is byte-identical.
    assert!(file.starts_with(&LATEST[..LATEST.find("\"1.0.0\"").unwrap()]));
    assert!(
        server
            .unauthorized
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    );
}

#[test]
fn only_the_changed_scalar_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", &[(".envs/latest.yaml", LATEST)]);
    let file_url = format!("file://{}", bare.display());
    let path = bare.display().to_string();
    let mut expected = LATEST.to_string();
    for (repo, args, old, new) in [
        (&path, vec!["web/server", "1.1.0"], "\"1.0.0\"", "\"1.1.0\""),
        (
            &file_url,
            vec!["api/server", "2.1.0"],
            "tag: 2.0.1",
            "tag: 2.1.0",
        ),
        (&path, vec!["worker/server", "1.10"], "'0.9.0'", "'1.10'"),
        (
            &file_url,
            vec![
                "--file",
                ".envs/latest.yaml",
                "--set",
                ".latest.worker.server.note=other words",
            ],
            "plain words",
            "other words",
        ),
        (
            &path,
            vec![
                "--file",
                ".envs/latest.yaml",
                "--set",
                "latest.web.server.digest=sha256:def",
            ],
            "'sha256:abc'",
            "'sha256:def'",
        ),
    ] {
        let out = run(ferry().arg("bump").args(&args).args(["--repo", repo]));
        assert!(out.status.success(), "{}", text(&out));
        expected = expected.replacen(old, new, 1);
        assert_eq!(show(&bare, ".envs/latest.yaml"), expected);
    }
    // The commit touches only that file; messages name app, old and new tag.
    let log = git(&bare, &["log", "--format=%s", "main"]);
    assert!(log.contains("bump web/server 1.0.0 -> 1.1.0"), "{log}");
    assert!(log.contains("bump worker/server 0.9.0 -> 1.10"), "{log}");
    // A float-looking tag written into a plain scalar gets quoted: it stays a string.
    let out = run(ferry().args(["bump", "api/server", "2.10", "--repo", &path]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(show(&bare, ".envs/latest.yaml").contains("{tag: \"2.10\", replicas: 3}"));
}

#[test]
fn dry_run_prints_the_diff_and_pushes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", &[(".envs/latest.yaml", LATEST)]);
    let before = tip(&bare);
    let out = run(ferry()
        .args(["bump", "web/server", "1.2.0", "--dry-run", "--repo"])
        .arg(&bare));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--- a/.envs/latest.yaml\n+++ b/.envs/latest.yaml\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-             tag: \"1.0.0\"     # pinned by CI\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+             tag: \"1.2.0\"     # pinned by CI\n"),
        "{stdout}"
    );
    assert_eq!(tip(&bare), before);
    // Setting the value it already holds commits nothing.
    let out = run(ferry()
        .args(["bump", "web/server", "1.0.0", "--repo"])
        .arg(&bare));
    assert!(out.status.success());
    assert!(text(&out).contains("nothing to commit"));
    assert_eq!(tip(&bare), before);
}

#[test]
fn bad_input_fails_clearly_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(
        tmp.path(),
        "r.git",
        &[
            (".envs/latest.yaml", LATEST),
            ("broken.yaml", "a: 1\nb: [1, 2\nc: 3\n"),
        ],
    );
    let server = GitHttpServer::start(tmp.path(), "ci", TOKEN);
    let url = server.url("r.git");
    let path = bare.display().to_string();
    let before = tip(&bare);
    type Case<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![
                "web/server".into(),
                "1.1.0".into(),
                "--file".into(),
                "nope/latest.yaml".into(),
            ],
            vec![],
            "nope/latest.yaml not found on branch \"main\"",
        ),
        (
            vec![
                "--file".into(),
                ".envs/latest.yaml".into(),
                "--set".into(),
                ".latest.web.server.tag.x=1".into(),
            ],
            vec![],
            "cannot set .latest.web.server.tag.x: .latest.web.server.tag is a scalar, not a mapping",
        ),
        (
            vec![
                "--file".into(),
                ".envs/latest.yaml".into(),
                "--set".into(),
                ".latest.web=1".into(),
            ],
            vec![],
            "cannot set .latest.web: it holds a mapping, not a scalar",
        ),
        (
            vec![
                "--file".into(),
                "broken.yaml".into(),
                "--set".into(),
                ".a=2".into(),
            ],
            vec![],
            "broken.yaml: invalid YAML at line 3, column 1: expected ',' or ']'",
        ),
        (
            vec!["web/server".into(), "latest".into(), "--semver".into()],
            vec![],
            "\"latest\" for .latest.web.server.tag is not a SemVer version",
        ),
        (
            vec!["web/server".into(), "0.9.9".into(), "--semver".into()],
            vec![],
            "0.9.9 for .latest.web.server.tag is lower than the current 1.0.0",
        ),
        (
            vec![
                "web/server".into(),
                "1.1.0".into(),
                "--branch".into(),
                "nope".into(),
            ],
            vec![],
            "branch \"nope\" not found",
        ),
        (
            vec![
                "web/server".into(),
                "1.1.0".into(),
                "--repo".into(),
                url.clone(),
            ],
            vec![("FERRY_GIT_TOKEN", "wrong-token-value")],
            "authentication to http://127.0.0.1:",
        ),
        (
            vec![
                "web/server".into(),
                "1.1.0".into(),
                "--repo".into(),
                url.replacen("http://", "http://oauth2:bad-url-token@", 1),
            ],
            vec![],
            "authentication to http://127.0.0.1:",
        ),
        (
            vec![
                "web/server".into(),
                "1.1.0".into(),
                "--repo".into(),
                url.clone(),
            ],
            vec![],
            "authentication to http://127.0.0.1:",
        ),
    ];
    for (args, env, expect) in cases {
        let mut c = ferry();
        c.arg("bump").args(&args);
        if !args.iter().any(|a| a == "--repo") {
            c.args(["--repo", &path]);
        }
        c.envs(env.iter().copied());
        let out = run(&mut c);
        let t = text(&out);
        assert!(!out.status.success(), "{args:?} succeeded: {t}");
        assert!(t.contains(expect), "{args:?}: expected {expect:?} in: {t}");
        assert!(t.starts_with("Error: "), "{t}");
        for secret in ["wrong-token-value", "bad-url-token", TOKEN] {
            assert!(!t.contains(secret), "secret in output: {t}");
        }
        assert_eq!(tip(&bare), before, "{args:?} changed the branch");
    }
}

#[test]
fn tokens_never_reach_a_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", &[(".envs/latest.yaml", LATEST)]);
    let server = GitHttpServer::start(tmp.path(), "gitlab-ci-token", TOKEN);
    let trace = tmp.path().join("trace.log");
    let out = run(ferry()
        .args([
            "bump",
            "web/server",
            "3.0.0",
            "--repo",
            &server.url("r.git"),
        ])
        .env("CI_JOB_TOKEN", TOKEN)
        .env("GIT_TRACE", &trace));
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(&trace).unwrap();
    assert!(log.contains("git push") || log.contains("'push'"), "{log}");
    assert!(!log.contains(TOKEN), "token on a command line: {log}");
    assert_eq!(
        value(&show(&bare, ".envs/latest.yaml"), ".latest.web.server.tag").as_deref(),
        Some("3.0.0")
    );
}

#[test]
fn ssh_remote_uses_the_given_key() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", &[(".envs/latest.yaml", LATEST)]);
    // A stand-in for ssh: records its arguments, then runs the remote command locally.
    let fake = tmp.path().join("fake-ssh");
    let args_log = tmp.path().join("ssh-args.log");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nfor last; do :; done\nexec sh -c \"$last\"\n",
            args_log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let key =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";
    let out = run(ferry()
        .args(["bump", "web/server", "4.0.0", "--branch", "main"])
        .arg("--repo")
        .arg(format!("ssh://git@deploy.example{}", bare.display()))
        .env("GIT_SSH_COMMAND", &fake)
        .env("FERRY_SSH_KEY", key));
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("not-a-real-key"));
    let args = std::fs::read_to_string(&args_log).unwrap();
    assert!(args.contains("-o IdentitiesOnly=yes"), "{args}");
    assert!(args.contains("-i /"), "{args}");
    assert!(args.contains("git@deploy.example"), "{args}");
    assert_eq!(
        value(&show(&bare, ".envs/latest.yaml"), ".latest.web.server.tag").as_deref(),
        Some("4.0.0")
    );
}

#[test]
fn new_file_paths_and_new_components() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(
        tmp.path(),
        "r.git",
        &[(
            "deployment/kubernetes/.envs/latest.yaml",
            "latest:\n  web:\n    server:\n      tag: \"1\"\n",
        )],
    );
    commit_files(&bare, &[("other.txt", "x\n")], "another commit");
    let out = run(ferry()
        .args([
            "bump",
            "cron/job",
            "v7",
            "--file",
            "deployment/kubernetes/.envs/latest.yaml",
            "--repo",
        ])
        .arg(&bare)
        .args([
            "--message",
            "deploy {app}/{component}: {old} => {new} [skip ci]",
        ]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        show(&bare, "deployment/kubernetes/.envs/latest.yaml"),
        "latest:\n  web:\n    server:\n      tag: \"1\"\n  cron:\n    job:\n      tag: v7\n"
    );
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s%n%an <%ae>", "main"]),
        "deploy cron/job: (none) => v7 [skip ci]\nferry <ferry@localhost>"
    );
    // Other files and the tree around the file are untouched.
    assert_eq!(show(&bare, "other.txt"), "x\n");
    assert_eq!(
        git(&bare, &["diff", "--name-only", "main~1", "main"]),
        "deployment/kubernetes/.envs/latest.yaml"
    );
}

/// The CI templates are valid YAML and call `ferry bump` only with flags it has.
#[test]
fn ci_templates_use_real_flags() {
    let help = run(ferry().args(["bump", "--help"]));
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ci");
    let mut checked = 0;
    for name in ["gitlab-ci.yml", "github-actions.yml"] {
        let src = std::fs::read_to_string(dir.join(name)).unwrap();
        gitsource::yamledit::validate(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lines: Vec<&str> = src.lines().collect();
        let indent = |l: &str| l.len() - l.trim_start().len();
        for (i, line) in lines.iter().enumerate() {
            let Some(pos) = line.find("ferry bump ") else {
                continue;
            };
            if line.trim_start().starts_with('#') {
                continue;
            }
            let mut region = line[pos..].to_string();
            for next in &lines[i + 1..] {
                if !next.trim().is_empty() && indent(next) < indent(line) {
                    break;
                }
                region.push(' ');
                region.push_str(next);
            }
            for token in region.split_whitespace().filter(|t| t.starts_with("--")) {
                let flag: String = token
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                assert!(
                    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                    "{name}: `ferry bump` has no flag {flag}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} flags found");
}
