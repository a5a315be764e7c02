//! Shared fixtures of the `runtime_*` integration tests: an embedded cluster, a local git
//! repository with plain-YAML apps, a controller in the test's runtime, and polling helpers.

#![allow(dead_code)]

use controller::kube_io::{Kube, client_from_kubeconfig};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running controller: its task and, once it reconciles, its refresher.
pub type Running = (
    tokio::task::JoinHandle<Result<(), controller::reconciler::Error>>,
    Arc<Mutex<Option<controller::Refresher>>>,
);

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub handle: Option<apiserver::ServerHandle>,
    pub client: kube::Client,
    pub kube: Kube,
    pub repo: PathBuf,
    pub repo_url: String,
}

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Deployment and a ConfigMap for app `name`.
pub fn manifests(name: &str, replicas: u32, greeting: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  greeting: {greeting}\n"
    )
}

impl Env {
    pub async fn start() -> Env {
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
        controller::bootstrap::ensure_namespace(&kube, "argocd")
            .await
            .expect("argocd namespace");
        controller::reconciler::ensure_crd(&client)
            .await
            .expect("CRDs");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]);
        let repo_url = format!("file://{}", repo.display());
        Env {
            tmp,
            handle: Some(handle),
            client,
            kube,
            repo,
            repo_url,
        }
    }

    /// Writes `path` in the repository and commits; returns the commit.
    pub fn commit(&self, path: &str, text: &str, message: &str) -> String {
        let p = self.repo.join(path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        git(&self.repo, &["add", "."]);
        git(&self.repo, &["commit", "-qm", message]);
        git(&self.repo, &["rev-parse", "HEAD"])
    }

    pub fn options(&self, data: &str) -> controller::Options {
        let mut opts = controller::Options::new(self.tmp.path().join(data));
        opts.refresh_interval = Duration::from_secs(300);
        opts.refresh_jitter = Duration::from_millis(100);
        opts
    }

    /// Starts a controller; returns its task and (once it reconciles) its refresher.
    pub fn controller(&self, opts: controller::Options) -> Running {
        let slot: Arc<Mutex<Option<controller::Refresher>>> = Arc::default();
        let s2 = slot.clone();
        let c = self.client.clone();
        let task = tokio::spawn(async move {
            controller::run(c, opts, move |r| {
                *s2.lock().expect("lock") = Some(r);
            })
            .await
        });
        (task, slot)
    }

    /// An Application for path `path` of the test repository.
    pub fn app(&self, name: &str, path: &str, namespace: &str, sync_policy: Value) -> Value {
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": self.repo_url, "path": path, "targetRevision": "HEAD"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                "syncPolicy": sync_policy
            }
        })
    }

    pub async fn apply(&self, obj: &Value) {
        controller::bootstrap::apply_all(&self.kube, std::slice::from_ref(obj))
            .await
            .expect("apply");
    }

    pub fn apps_api(&self) -> Api<DynamicObject> {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
            "applications",
        );
        Api::namespaced_with(self.client.clone(), "argocd", &ar)
    }

    pub async fn get_app(&self, name: &str) -> Option<Value> {
        self.apps_api()
            .get_opt(name)
            .await
            .ok()
            .flatten()
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
    }

    /// Merge-patches the Application.
    pub async fn patch_app(&self, name: &str, patch: Value) {
        self.apps_api()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch app");
    }

    /// Polls the app until `f` holds (panics after `secs` with the app's status).
    pub async fn wait_app(
        &self,
        name: &str,
        what: &str,
        secs: u64,
        f: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let a = self.get_app(name).await.unwrap_or(Value::Null);
            if f(&a) {
                return a;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {name}: {what}; app: {}",
                    serde_json::to_string_pretty(
                        &json!({"status": a["status"], "operation": a["operation"]})
                    )
                    .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        self.kube
            .get(&json!({"apiVersion": api_version, "kind": kind,
                "metadata": {"name": name, "namespace": ns}}))
            .await
            .expect("get")
    }

    /// Polls an object until `f` holds.
    pub async fn wait_obj(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
        secs: u64,
        f: impl Fn(Option<&Value>) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let o = self.get(api_version, kind, ns, name).await;
            if f(o.as_ref()) {
                return o;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {kind} {ns}/{name}: {o:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

pub fn synced_healthy(a: &Value) -> bool {
    a["status"]["sync"]["status"] == "Synced" && a["status"]["health"]["status"] == "Healthy"
}

pub fn refresher(
    slot: &Arc<Mutex<Option<controller::Refresher>>>,
) -> Option<controller::Refresher> {
    slot.lock().expect("lock").clone()
}
