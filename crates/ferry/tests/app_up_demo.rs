//! The README's first command, `ferry up --demo`, as a real process: the embedded cluster, the
//! controller and the HTTP endpoint come up, the demo deploys (all apps Synced and Healthy, as
//! `ferry app list` reports), `/healthz`, `/readyz` and `/api/webhook` answer, and a commit in
//! the demo repository is applied after `ferry app refresh`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Up {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .output()
        .expect("run ferry");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_for(what: &str, secs: u64, up: &Up, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; ferry up stderr:\n{}",
            up.stderr.lock().map(|s| s.clone()).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn up_demo_deploys_and_follows_commits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let kubeconfig = tmp.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["up", "--demo", "--data-dir"])
        .arg(&data)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--refresh-seconds",
            "600",
        ])
        .env("FERRY_WEBHOOK_GITLAB_SECRET", "t0ken")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry up");
    let stderr = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().expect("stderr");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    let up = Up { child, stderr };

    // The HTTP endpoint's address, from the startup line.
    let mut endpoint = String::new();
    wait_for("the HTTP endpoint", 60, &up, || {
        let s = up.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        if let Some(rest) = s.split("HTTP endpoint on http://").nth(1) {
            endpoint = rest.split_whitespace().next().unwrap_or("").to_string();
        }
        !endpoint.is_empty()
    });
    assert_eq!(http(&endpoint, "GET", "/healthz", &[], "").0, 200);
    wait_for("/readyz", 60, &up, || {
        http(&endpoint, "GET", "/readyz", &[], "").0 == 200
    });

    // The demo deploys.
    let kc = kubeconfig.to_str().expect("utf-8 path");
    let names = ["entrypoint-dev", "web-dev", "api-dev", "worker-dev"];
    wait_for("all demo apps Synced and Healthy", 120, &up, || {
        let (code, out, _) = ferry(&["app", "list", "--kubeconfig", kc]);
        code == 0
            && names.iter().all(|n| {
                out.lines().any(|l| {
                    l.starts_with(&format!("argocd/{n} "))
                        && l.contains(" Synced ")
                        && l.contains(" Healthy ")
                })
            })
    });

    // The webhook endpoint checks the GitLab token from the environment.
    let payload = serde_json::json!({
        "object_kind": "push", "ref": "refs/heads/main", "before": "", "after": "",
        "project": {"web_url": "https://git.example.org/other/repo", "default_branch": "main"},
        "commits": [],
    })
    .to_string();
    let hook = |token: &str| {
        http(
            &endpoint,
            "POST",
            "/api/webhook",
            &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", token)],
            &payload,
        )
    };
    assert_eq!(hook("wrong").0, 400);
    assert_eq!(hook("t0ken").0, 200);

    // A commit in the demo repository (a local `file://` repository, which no forge webhook
    // names), picked up by `ferry app refresh` long before the 10-minute poll.
    let repo = data.join("demo-repo");
    let dev = repo.join("deployment/kubernetes/.envs/dev.yaml");
    let text = std::fs::read_to_string(&dev).expect("dev.yaml");
    let changed = text.replacen("LOG_LEVEL: debug", "LOG_LEVEL: warn", 1);
    assert_ne!(text, changed);
    std::fs::write(&dev, changed).expect("write");
    git(&repo, &["commit", "-qam", "api: LOG_LEVEL warn"]);
    let after = git(&repo, &["rev-parse", "HEAD"]);
    let (code, out, err) = ferry(&["app", "refresh", "api-dev", "--wait", "--kubeconfig", kc]);
    assert_eq!(code, 0, "{out}{err}");
    wait_for("api-dev at the new commit", 60, &up, || {
        let (code, out, _) = ferry(&["app", "get", "api-dev", "-o", "json", "--kubeconfig", kc]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        code == 0
            && v["status"]["sync"]["revision"] == after
            && v["status"]["sync"]["status"] == "Synced"
    });
    let (code, out, err) = ferry(&["app", "diff", "api-dev", "--kubeconfig", kc]);
    assert_eq!(code, 0, "{out}{err}");
}
