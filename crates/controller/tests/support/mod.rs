//! Test harness for end-to-end tests of the controller: the embedded cluster, the demo
//! repository (`examples/demo`) served by a real `git http-backend` on loopback, the controller
//! with its HTTP endpoint (`/api/webhook`), and helpers to commit, push, send push webhooks and
//! wait for Application states.
//!
//! Also `#[path]`-included by the `ferry` crate's `app*` tests.

#![allow(dead_code)]

pub use testkit::http_git;

use controller::kube_io::{Kube, client_from_kubeconfig};
use hmac::{Hmac, Mac};
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The GitHub webhook secret the endpoint is configured with.
pub const GITHUB_SECRET: &str = "gh-webhook-s3cret";
/// The GitLab webhook token the endpoint is configured with.
pub const GITLAB_TOKEN: &str = "gl-webhook-t0ken";

/// Runs git in `dir` and returns its stdout; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("running git (is it on PATH?)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

/// `examples/demo` of the workspace.
pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo")
}

/// The Application API in `argocd`.
pub fn app_api(client: &kube::Client) -> Api<DynamicObject> {
    app_api_in(client, "argocd")
}

/// The Applications of namespace `ns`.
pub fn app_api_in(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    );
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// Everything ferry's crates logged in this test process (see [`init_logs`]).
static CAPTURED_LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
/// At most this much is kept (later lines are dropped).
const CAPTURE_LIMIT: usize = 64 << 20;
/// What the capture records: ferry's own crates in detail (the embedded cluster and the
/// libraries below it only when they warn).
const CAPTURE_FILTER: &str =
    "warn,controller=debug,engine=debug,helm=debug,sops=debug,gitsource=debug,apiserver=info";

struct CaptureWriter;

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut c) = CAPTURED_LOGS.lock()
            && c.len() + buf.len() <= CAPTURE_LIMIT
        {
            c.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the test log subscriber: the test output shows `FERRY_LOG` (default `warn`), and
/// every log line of ferry's crates down to `debug` is captured in memory for
/// [`captured_logs`] (so that tests can check that no secret is ever logged).
pub fn init_logs() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let console = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        );
    let capture = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(|| CaptureWriter)
        .with_filter(tracing_subscriber::EnvFilter::new(CAPTURE_FILTER));
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(capture)
        .try_init();
}

/// The log lines captured so far in this test process (every test of the binary).
pub fn captured_logs() -> String {
    CAPTURED_LOGS
        .lock()
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .unwrap_or_default()
}

/// What to start.
pub struct DemoOptions {
    /// The controller's poll period (its git comparison period).
    pub poll: Duration,
    /// The environment to bootstrap (`dev`, `prod`).
    pub env: String,
    /// Apply the entrypoint Application at start.
    pub bootstrap: bool,
    /// Serve git only to this `(user, password)` (HTTP Basic); `None` serves anyone.
    pub git_auth: Option<(String, String)>,
    /// The controller's other Application namespaces (`--application-namespaces`).
    pub application_namespaces: Vec<String>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            poll: Duration::from_secs(600),
            env: "dev".into(),
            bootstrap: true,
            git_auth: None,
            application_namespaces: Vec::new(),
        }
    }
}

/// A running cluster + git server + controller with the demo repository.
pub struct Demo {
    /// Keeps the temporary directory alive.
    pub tmp: tempfile::TempDir,
    /// Cluster client.
    pub client: kube::Client,
    /// Cluster access helper.
    pub kube: Kube,
    /// Kubeconfig of the embedded cluster.
    pub kubeconfig: PathBuf,
    /// The git smart-HTTP server.
    pub git_server: http_git::GitHttpServer,
    /// The working repository (commits are made here and pushed to the served bare one).
    pub work: PathBuf,
    /// The served bare repository.
    pub bare: PathBuf,
    /// `http://127.0.0.1:PORT/demo.git`.
    pub repo_url: String,
    /// The controller's HTTP endpoint.
    pub endpoint: SocketAddr,
    /// The bootstrapped environment.
    pub env: String,
    cluster: Option<apiserver::ServerHandle>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Demo {
    /// Serves a bare copy of the demo repository as `name` (e.g. `team.git`) on the same git
    /// server (same credentials); returns its URL.
    pub fn serve_copy(&self, name: &str) -> String {
        let served = self.bare.parent().expect("served root");
        git(served, &["clone", "-q", "--bare", "demo.git", name]);
        self.git_server.url(name)
    }

    /// Starts everything; with `opts.bootstrap`, applies the entrypoint Application.
    pub async fn start(opts: DemoOptions) -> Demo {
        init_logs();
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut cfg = apiserver::Config::new(tmp.path().join("cluster"));
        cfg.sim_delay = Duration::from_millis(100);
        let handle = apiserver::Server::start(cfg).await.expect("start cluster");
        let kubeconfig = tmp.path().join("kubeconfig");
        handle.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let client = client_from_kubeconfig(Some(&kubeconfig))
            .await
            .expect("client");
        let kube = Kube::new(client.clone());

        // The demo repository: a working repository pushed to a bare one served over HTTP.
        let work = tmp.path().join("work");
        copy_dir(&demo_dir(), &work);
        git(&work, &["init", "-q", "-b", "main"]);
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "demo"]);
        let served = tmp.path().join("served");
        let bare = served.join("demo.git");
        std::fs::create_dir_all(&bare).expect("mkdir bare");
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        git(
            &work,
            &["push", "-q", bare.to_str().expect("utf-8 path"), "main"],
        );
        let git_server = match &opts.git_auth {
            Some((user, password)) => http_git::GitHttpServer::start(&served, user, password),
            None => http_git::GitHttpServer::open(&served),
        };
        let repo_url = git_server.url("demo.git");

        controller::bootstrap::ensure_namespace(&kube, "argocd")
            .await
            .expect("argocd namespace");
        // The Application and AppProject CRDs served before any test applies one (the
        // controller installs them too, but in its own task: a test's first apply raced it).
        controller::reconciler::ensure_crd(&client)
            .await
            .expect("Argo CD CRDs");
        let key = std::fs::read(demo_dir().join("age-test-key.txt")).expect("age key");
        controller::bootstrap::ensure_secret(&kube, "argocd", "sops-age", "key.txt", &key)
            .await
            .expect("sops-age secret");

        // The controller and its HTTP endpoint.
        let mut copts = controller::Options::new(tmp.path().join("data"));
        copts.refresh_interval = opts.poll;
        copts.refresh_jitter = Duration::from_millis(100);
        copts.application_namespaces = opts.application_namespaces.clone();
        let state = controller::http::State::new(
            client.clone(),
            "argocd",
            controller::http::WebhookSecrets {
                github: Some(GITHUB_SECRET.into()),
                gitlab: Some(GITLAB_TOKEN.into()),
            },
        );
        state.set_application_namespaces(&opts.application_namespaces);
        let (atx, arx) = tokio::sync::oneshot::channel();
        let st = state.clone();
        let http = tokio::spawn(async move {
            let r = controller::http::serve("127.0.0.1:0".parse().expect("addr"), st, |a| {
                let _ = atx.send(a);
            })
            .await;
            if let Err(e) = r {
                panic!("HTTP endpoint: {e}");
            }
        });
        let endpoint = arx.await.expect("endpoint address");
        let c2 = client.clone();
        let st = state.clone();
        let ctrl = tokio::spawn(async move {
            let r = controller::run(c2, copts, move |r| {
                st.set_refresher(r);
                st.ready.store(true, std::sync::atomic::Ordering::Relaxed)
            })
            .await;
            if let Err(e) = r {
                panic!("controller stopped: {e}");
            }
        });
        let demo = Demo {
            tmp,
            client,
            kube,
            kubeconfig,
            git_server,
            work,
            bare,
            repo_url,
            endpoint,
            env: opts.env.clone(),
            cluster: Some(handle),
            tasks: vec![http, ctrl],
        };
        if opts.bootstrap {
            demo.bootstrap().await;
        }
        demo
    }

    /// The entrypoint file after `envsubst` (ENV, REPO_URL, TARGET_REVISION=HEAD).
    pub fn entrypoint_yaml(&self) -> String {
        let text = std::fs::read_to_string(self.work.join("deployment/kubernetes/entrypoint.yaml"))
            .expect("entrypoint.yaml");
        controller::bootstrap::envsubst(
            &text,
            &[
                ("ENV", &self.env),
                ("REPO_URL", &self.repo_url),
                ("TARGET_REVISION", "HEAD"),
            ],
        )
    }

    /// Applies the entrypoint Application (retrying until the controller installed the CRD).
    pub async fn bootstrap(&self) {
        let objs = controller::source::parse_manifests("entrypoint.yaml", &self.entrypoint_yaml())
            .expect("parse entrypoint");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match controller::bootstrap::apply_all(&self.kube, &objs).await {
                Ok(()) => break,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("bootstrap: {e}"),
            }
        }
    }

    /// App names of the environment: entrypoint first.
    pub fn app_names(&self) -> Vec<String> {
        ["entrypoint", "web", "api", "worker"]
            .iter()
            .map(|a| format!("{a}-{}", self.env))
            .collect()
    }

    /// Path of a file in the working repository.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }

    /// Rewrites a file of the working repository; panics when `f` changes nothing.
    pub fn edit(&self, rel: &str, f: impl FnOnce(&str) -> String) {
        let p = self.path(rel);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let new = f(&text);
        assert_ne!(text, new, "editing {rel} changed nothing; adjust the test");
        std::fs::write(&p, new).expect("write");
    }

    /// The current commit of the working repository.
    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Commits everything and pushes to the served repository; returns the push
    /// `(before, after, changed files)`.
    pub fn commit_and_push(&self, message: &str) -> Push {
        let before = self.head();
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", message]);
        let after = self.head();
        git(
            &self.work,
            &[
                "push",
                "-q",
                self.bare.to_str().expect("utf-8 path"),
                "main",
            ],
        );
        let files = git(&self.work, &["diff", "--name-only", &before, &after])
            .lines()
            .map(str::to_string)
            .collect();
        Push {
            before,
            after,
            files,
        }
    }

    /// The web URL of the served repository (what a forge puts in a push payload).
    pub fn web_url(&self) -> String {
        self.repo_url.trim_end_matches(".git").to_string()
    }

    /// Sends a GitHub push event for `push` signed with `secret`; returns `(status, body)`.
    pub async fn github_webhook(&self, push: &Push, secret: &str) -> (u16, String) {
        let body = json!({
            "ref": "refs/heads/main",
            "before": push.before,
            "after": push.after,
            "repository": {"html_url": self.web_url(), "default_branch": "main"},
            "commits": [{"id": push.after, "added": [], "modified": push.files, "removed": []}],
        })
        .to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
        mac.update(body.as_bytes());
        let sig: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        post(
            self.endpoint,
            "/api/webhook",
            &[
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", &format!("sha256={sig}")),
                ("Content-Type", "application/json"),
            ],
            &body,
        )
        .await
    }

    /// Sends a GitLab push event for `push` with `token`; returns `(status, body)`.
    pub async fn gitlab_webhook(&self, push: &Push, token: &str) -> (u16, String) {
        let body = json!({
            "object_kind": "push",
            "ref": "refs/heads/main",
            "before": push.before,
            "after": push.after,
            "project": {"web_url": self.web_url(), "default_branch": "main"},
            "commits": [{"id": push.after, "added": [], "modified": push.files, "removed": []}],
        })
        .to_string();
        post(
            self.endpoint,
            "/api/webhook",
            &[
                ("X-Gitlab-Event", "Push Hook"),
                ("X-Gitlab-Token", token),
                ("Content-Type", "application/json"),
            ],
            &body,
        )
        .await
    }

    /// Every Application of `argocd` as JSON.
    pub async fn apps(&self) -> Vec<Value> {
        apps(&self.client).await
    }

    /// One Application.
    pub async fn app(&self, name: &str) -> Option<Value> {
        app_api(&self.client)
            .get_opt(name)
            .await
            .expect("get application")
            .map(|o| serde_json::to_value(o).expect("json"))
    }

    /// Waits (up to `secs`) until `f` holds for the Applications.
    /// Returns the Applications that satisfied it.
    pub async fn wait_apps<F: Fn(&[Value]) -> bool>(
        &self,
        what: &str,
        secs: u64,
        f: F,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let a = self.apps().await;
            if f(&a) {
                return a;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; apps:\n{}", summary(&a));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until every app of the environment is Synced and Healthy.
    pub async fn wait_all_synced_healthy(&self, secs: u64) {
        let names = self.app_names();
        self.wait_apps("all apps Synced and Healthy", secs, |a| {
            names.iter().all(|n| synced_healthy(a, n))
        })
        .await;
    }

    /// A live object by apiVersion/kind/namespace/name.
    pub async fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let mut probe = json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name}});
        if !ns.is_empty() {
            probe["metadata"]["namespace"] = json!(ns);
        }
        self.kube.get(&probe).await.expect("get object")
    }

    /// A Deployment.
    pub async fn deployment(&self, ns: &str, name: &str) -> Option<Value> {
        self.get("apps/v1", "Deployment", ns, name).await
    }

    /// Waits (up to `secs`) until `f` holds for a Deployment (`None` = absent).
    pub async fn wait_deployment<F: Fn(Option<&Value>) -> bool>(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        secs: u64,
        f: F,
    ) -> Option<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let d = self.deployment(ns, name).await;
            if f(d.as_ref()) {
                return d;
            }
            if Instant::now() > deadline {
                let a = self.apps().await;
                panic!(
                    "timed out waiting for {what}; deployment {ns}/{name}: {}\napps:\n{}",
                    d.map(|d| d.to_string()).unwrap_or_else(|| "absent".into()),
                    summary(&a)
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every object managed by an Application (tracking annotation), keyed
    /// `Kind ns/name`, reduced to what a sync would change (uid, generation, labels,
    /// annotations, spec, data); Applications by uid and spec.
    pub async fn managed_snapshot(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (av, kind) in [
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("v1", "Secret"),
            ("v1", "ConfigMap"),
            ("v1", "ServiceAccount"),
            ("networking.k8s.io/v1", "Ingress"),
            ("v1", "Namespace"),
            ("argoproj.io/v1alpha1", "Application"),
        ] {
            let k = self.kube.kind(av, kind).await.expect("kind");
            for o in self.kube.list(&k).await.expect("list") {
                let tracked = o
                    .pointer("/metadata/annotations/argocd.argoproj.io~1tracking-id")
                    .is_some();
                if !tracked && kind != "Application" {
                    continue;
                }
                let key = format!(
                    "{kind} {}/{}",
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                );
                let v = if kind == "Application" {
                    json!({"uid": o["metadata"]["uid"], "spec": o["spec"]})
                } else {
                    json!({
                        "uid": o["metadata"]["uid"],
                        "generation": o["metadata"]["generation"],
                        "labels": o["metadata"]["labels"],
                        "annotations": o["metadata"]["annotations"],
                        "spec": o["spec"],
                        "data": o["data"],
                    })
                };
                out.insert(key, v);
            }
        }
        out
    }

    /// Runs the real `kubectl` against the cluster (fails clearly when it is not on PATH);
    /// returns `(success, stdout, stderr)`.
    pub fn kubectl(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| {
                panic!("kubectl (v1.32) is required by this test and could not be run: {e}")
            });
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Merge-patches a live object as another field manager would (`kubectl edit`).
    pub async fn edit_live(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
        manager: &str,
        patch: Value,
    ) {
        let k = self
            .kube
            .kind(api_version, kind)
            .await
            .expect("kind served");
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), ns, &k.resource);
        let pp = PatchParams {
            field_manager: Some(manager.to_string()),
            ..Default::default()
        };
        api.patch(name, &pp, &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("editing {kind} {ns}/{name}: {e}"));
    }

    /// Merge-patches an Application (e.g. to request an operation).
    pub async fn merge_app(&self, name: &str, patch: Value) {
        app_api(&self.client)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("patching {name}: {e}"));
    }

    /// Asks the controller to compare every app with git now (the refresh annotation).
    pub async fn refresh_all(&self) {
        let api = app_api(&self.client);
        for a in self.apps().await {
            let name = a["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let patch =
                json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
            let _ = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await;
        }
    }

    /// Creates an Argo CD repository Secret (`secret_type` `repository` or `repo-creds`) in
    /// `argocd`, as `argocd repo add` / `argocd repocreds add` store them.
    pub async fn repo_secret(
        &self,
        name: &str,
        secret_type: &str,
        url: &str,
        username: &str,
        password: &str,
    ) {
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "Secret"),
            "secrets",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), "argocd", &ar);
        let secret: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": secret_type}},
            "stringData": {"type": "git", "url": url, "username": username, "password": password},
        }))
        .expect("secret");
        api.create(&Default::default(), &secret)
            .await
            .unwrap_or_else(|e| panic!("creating secret {name}: {e}"));
    }

    /// Applies `obj` (e.g. an Application), retrying while the controller has not yet installed
    /// its CRD.
    pub async fn apply_retrying(&self, obj: &Value) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.kube.apply(obj).await {
                Ok(_) => return,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("applying {}: {e}", obj["metadata"]["name"]),
            }
        }
    }

    /// Stops the controller, the endpoint and the cluster.
    pub async fn shutdown(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(h) = self.cluster.take() {
            h.shutdown().await;
        }
    }
}

/// One push: commits before and after, files changed.
#[derive(Debug, Clone)]
pub struct Push {
    /// Commit before the push.
    pub before: String,
    /// Commit after the push.
    pub after: String,
    /// Changed files (repository-relative).
    pub files: Vec<String>,
}

/// Every Application of `argocd` as JSON.
pub async fn apps(client: &kube::Client) -> Vec<Value> {
    app_api(client)
        .list(&Default::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                .collect()
        })
        .unwrap_or_default()
}

/// One line per app: name, sync, health, operation phase, conditions.
pub fn summary(apps: &[Value]) -> String {
    apps.iter()
        .map(|a| {
            format!(
                "{} sync={} rev={} health={} ({}) op={} conditions={}",
                a["metadata"]["name"].as_str().unwrap_or("?"),
                a["status"]["sync"]["status"].as_str().unwrap_or("-"),
                a["status"]["sync"]["revision"].as_str().unwrap_or("-"),
                a["status"]["health"]["status"].as_str().unwrap_or("-"),
                a["status"]["health"]["message"].as_str().unwrap_or(""),
                a["status"]["operationState"]["phase"]
                    .as_str()
                    .unwrap_or("-"),
                a["status"]["conditions"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The app named `name`.
pub fn app<'a>(apps: &'a [Value], name: &str) -> Option<&'a Value> {
    apps.iter().find(|a| a["metadata"]["name"] == name)
}

/// Whether `name` is Synced and Healthy.
pub fn synced_healthy(apps: &[Value], name: &str) -> bool {
    app(apps, name).is_some_and(|a| {
        a["status"]["sync"]["status"] == "Synced" && a["status"]["health"]["status"] == "Healthy"
    })
}

/// The app's health status.
pub fn health<'a>(apps: &'a [Value], name: &str) -> &'a str {
    app(apps, name)
        .and_then(|a| a["status"]["health"]["status"].as_str())
        .unwrap_or("")
}

/// The condition of `type_` of app `name`, if any.
pub fn condition<'a>(apps: &'a [Value], name: &str, type_: &str) -> Option<&'a Value> {
    app(apps, name)?["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// A minimal HTTP/1.1 request (`Connection: close`); `(status, body)`, or `None` when the
/// connection fails.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.ok()?;
    let text = String::from_utf8_lossy(&resp);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A minimal HTTP/1.1 POST; returns `(status, body)` (panics when nothing answers).
pub async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    request(addr, "POST", path, headers, body)
        .await
        .unwrap_or_else(|| panic!("POST {path} to {addr}: no answer"))
}

/// `GET path` on `addr`; `(status, body)`, status 0 when nothing answers.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, &[], "")
        .await
        .unwrap_or((0, String::new()))
}

/// A manually synced Application `web-manual` of the demo's web chart (no
/// `syncPolicy.automated`), deploying into namespace `manual-web`.
pub fn web_manual_app(repo_url: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "web-manual", "namespace": "argocd",
                     "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": repo_url, "targetRevision": "HEAD",
                "path": "deployment/kubernetes/charts/web",
                "helm": {"releaseName": "web", "valueFiles": [
                    "/deployment/kubernetes/.envs/latest.yaml",
                    "/deployment/kubernetes/.envs/dev.yaml",
                    "secrets+age-import-kubernetes://argocd/sops-age#key.txt?/deployment/kubernetes/.envs/dev-secrets.yaml"
                ]}
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "manual-web"},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}
        }
    })
}
