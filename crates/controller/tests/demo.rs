//! End to end on the embedded cluster: the demo repository bootstrapped through its
//! app-of-apps entrypoint, then git changes (values, disabling an app, a broken template).

use controller::kube_io::{Kube, client_from_kubeconfig};
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn git(dir: &Path, args: &[&str]) {
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
}

fn copy_dir(from: &Path, to: &Path) {
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

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo")
}

fn app_api(client: &kube::Client) -> Api<DynamicObject> {
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    );
    Api::namespaced_with(client.clone(), "argocd", &ar)
}

async fn apps(client: &kube::Client) -> Vec<Value> {
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

fn summary(apps: &[Value]) -> String {
    apps.iter()
        .map(|a| {
            format!(
                "{} sync={} health={} conditions={}",
                a["metadata"]["name"].as_str().unwrap_or("?"),
                a["status"]["sync"]["status"].as_str().unwrap_or("-"),
                a["status"]["health"]["status"].as_str().unwrap_or("-"),
                a["status"]["conditions"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn wait_for<F: Fn(&[Value]) -> bool>(client: &kube::Client, what: &str, f: F) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let a = apps(client).await;
        if f(&a) {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; apps:\n{}", summary(&a));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn app<'a>(apps: &'a [Value], name: &str) -> Option<&'a Value> {
    apps.iter().find(|a| a["metadata"]["name"] == name)
}

fn synced_healthy(apps: &[Value], name: &str) -> bool {
    app(apps, name).is_some_and(|a| {
        a["status"]["sync"]["status"] == "Synced" && a["status"]["health"]["status"] == "Healthy"
    })
}

async fn refresh_all(client: &kube::Client) {
    let api = app_api(client);
    for a in apps(client).await {
        let name = a["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
        let _ = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
    }
}

async fn deployment(kube: &Kube, ns: &str, name: &str) -> Option<Value> {
    kube.get(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns}}))
        .await
        .expect("get deployment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn demo_end_to_end() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cfg = apiserver::Config::new(tmp.path().join("cluster"));
    cfg.sim_delay = Duration::from_millis(100);
    let handle = apiserver::Server::start(cfg).await.expect("start cluster");
    let kubeconfig = tmp.path().join("kubeconfig");
    handle.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let client = client_from_kubeconfig(Some(&kubeconfig))
        .await
        .expect("client");

    // The demo repository as a local git repo.
    let repo = tmp.path().join("repo");
    copy_dir(&demo_dir(), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "demo"]);
    let repo_url = format!("file://{}", repo.display());

    let kube = Kube::new(client.clone());
    controller::bootstrap::ensure_namespace(&kube, "argocd")
        .await
        .expect("ns");
    let key = std::fs::read(demo_dir().join("age-test-key.txt")).expect("key");
    controller::bootstrap::ensure_secret(&kube, "argocd", "sops-age", "key.txt", &key)
        .await
        .expect("secret");

    let mut opts = controller::Options::new(tmp.path().join("data"));
    opts.refresh_interval = Duration::from_secs(3);
    opts.refresh_jitter = Duration::from_millis(500);
    // The embedded cluster has no ingress controller: play one (publish a load balancer
    // address on every Ingress), as a real cluster's ingress controller would.
    let c3 = client.clone();
    let ingress_ctrl = tokio::spawn(async move {
        let api: Api<k8s_openapi::api::networking::v1::Ingress> = Api::all(c3.clone());
        loop {
            if let Ok(list) = api.list(&Default::default()).await {
                for ing in list.items {
                    let has = ing
                        .status
                        .as_ref()
                        .and_then(|s| s.load_balancer.as_ref())
                        .and_then(|l| l.ingress.as_ref())
                        .is_some_and(|i| !i.is_empty());
                    if has {
                        continue;
                    }
                    let (Some(ns), Some(name)) = (ing.metadata.namespace, ing.metadata.name) else {
                        continue;
                    };
                    let nsapi: Api<k8s_openapi::api::networking::v1::Ingress> =
                        Api::namespaced(c3.clone(), &ns);
                    let patch =
                        json!({"status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.10"}]}}});
                    let _ = nsapi
                        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let c2 = client.clone();
    let ctrl = tokio::spawn(async move { controller::run(c2, opts, |_| {}).await });
    // The CRD is installed by the controller.
    let deadline = Instant::now() + Duration::from_secs(30);
    let entry = std::fs::read_to_string(repo.join("deployment/kubernetes/entrypoint.yaml"))
        .expect("entrypoint");
    let objs = controller::bootstrap::entrypoint_application(&entry, "dev", &repo_url, "HEAD")
        .expect("parse entrypoint");
    loop {
        match controller::bootstrap::apply_all(&kube, &objs).await {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("bootstrap: {e}"),
        }
    }

    // 1. Everything Synced and Healthy.
    let names = ["entrypoint-dev", "web-dev", "api-dev", "worker-dev"];
    wait_for(&client, "all apps Synced and Healthy", |a| {
        names.iter().all(|n| synced_healthy(a, n))
    })
    .await;
    let web = deployment(&kube, "dev-web", "web")
        .await
        .expect("web deployment");
    assert_eq!(web["spec"]["replicas"], 1);
    let a = apps(&client).await;
    assert_eq!(
        app(&a, "entrypoint-dev").expect("entry")["status"]["summary"]["isAppOfApps"],
        true
    );
    // the decrypted secret reached the cluster, not the status
    let secret = kube
        .get(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api", "namespace": "dev-api"}}))
        .await
        .expect("get secret");
    assert!(secret.is_some(), "api secret applied");

    // 2. A values change is applied after a refresh.
    let dev = repo.join("deployment/kubernetes/.envs/dev.yaml");
    let text = std::fs::read_to_string(&dev).expect("dev.yaml");
    let changed = text.replacen(
        "      replicas: 1\n      host:",
        "      replicas: 2\n      host:",
        1,
    );
    assert_ne!(text, changed, "dev.yaml layout changed; adjust the test");
    std::fs::write(&dev, &changed).expect("write");
    git(&repo, &["commit", "-qam", "web: 2 replicas"]);
    refresh_all(&client).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let web = deployment(&kube, "dev-web", "web")
            .await
            .expect("web deployment");
        if web["spec"]["replicas"] == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "web never scaled to 2: {}",
            web["spec"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // 3. Disabling an app in the env file prunes it (and its resources, via the finalizer).
    let text = std::fs::read_to_string(&dev).expect("dev.yaml");
    let start = text.find("  worker:\n").expect("worker block");
    let without = format!("{}{}", &text[..start], "");
    std::fs::write(&dev, &without).expect("write");
    git(&repo, &["commit", "-qam", "disable worker"]);
    refresh_all(&client).await;
    wait_for(&client, "worker-dev pruned", |a| {
        app(a, "worker-dev").is_none()
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while deployment(&kube, "dev-worker", "worker").await.is_some() {
        assert!(Instant::now() < deadline, "worker deployment not deleted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // 4. A broken template leaves live objects untouched and reports the error.
    let before = deployment(&kube, "dev-api", "api")
        .await
        .expect("api deployment");
    let tpl = repo.join("deployment/kubernetes/charts/api/templates/deployment.yaml");
    let mut t = std::fs::read_to_string(&tpl).expect("template");
    t.push_str("\n{{ .Values.broken | nosuchfunction }}\n");
    std::fs::write(&tpl, t).expect("write");
    git(&repo, &["commit", "-qam", "break api"]);
    refresh_all(&client).await;
    wait_for(&client, "api-dev ComparisonError", |a| {
        app(a, "api-dev").is_some_and(|x| {
            x["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "ComparisonError"))
        })
    })
    .await;
    let a = apps(&client).await;
    let api_app = app(&a, "api-dev").expect("api-dev");
    let msg = api_app["status"]["conditions"].to_string();
    assert!(msg.contains("nosuchfunction"), "{msg}");
    assert!(!msg.contains("DB_PASSWORD"), "{msg}");
    let after = deployment(&kube, "dev-api", "api")
        .await
        .expect("api deployment still there");
    assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
    assert_eq!(before["spec"], after["spec"]);

    ctrl.abort();
    ingress_ctrl.abort();
    handle.shutdown().await;
}
