//! Shared helpers for the integration tests: an in-process cluster and a kubectl runner.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub handle: Option<apiserver::ServerHandle>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

pub async fn start() -> Cluster {
    start_with(|_| {}).await
}

pub async fn start_with(f: impl FnOnce(&mut apiserver::Config)) -> Cluster {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = apiserver::Config::new(dir.path().join("data"));
    cfg.sim_delay = Duration::from_millis(200);
    f(&mut cfg);
    let handle = apiserver::Server::start(cfg).await.expect("start server");
    let kubeconfig = dir.path().join("kubeconfig");
    handle.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    Cluster {
        handle: Some(handle),
        dir,
        kubeconfig,
    }
}

impl Cluster {
    pub fn handle(&self) -> &apiserver::ServerHandle {
        self.handle.as_ref().expect("running")
    }
}

pub fn kubectl_path() -> PathBuf {
    for p in ["/usr/bin/kubectl", "/usr/local/bin/kubectl"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    if let Ok(path) = std::env::var("PATH") {
        for d in path.split(':') {
            let p = Path::new(d).join("kubectl");
            if p.exists() {
                return p;
            }
        }
    }
    panic!("kubectl not found: install kubectl v1.32 (/usr/bin/kubectl) to run these tests");
}

/// Runs kubectl with the cluster's kubeconfig and an isolated cache dir.
pub fn kubectl_raw(c: &Cluster, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let home = c.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut cmd = Command::new(kubectl_path());
    cmd.args(args)
        .env("KUBECONFIG", &c.kubeconfig)
        .env("HOME", &home)
        .env("KUBECACHEDIR", c.dir.path().join("kcache"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kubectl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("kubectl output")
}

/// Runs kubectl and asserts success; returns stdout.
pub fn kubectl(c: &Cluster, args: &[&str]) -> String {
    kubectl_in(c, args, None)
}

pub fn kubectl_in(c: &Cluster, args: &[&str], stdin: Option<&str>) -> String {
    let out = kubectl_raw(c, args, stdin);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// Polls `f` until it returns Some or the timeout passes.
pub async fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A kube-rs client for the cluster.
pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("kube config");
    kube::Client::try_from(cfg).expect("kube client")
}
