//! Argo CD compatibility: the Application YAML Argo CD accepts for the demo layout, rendered
//! with the real `envsubst` and applied with the real `kubectl apply -f -`, is accepted
//! unchanged (the stored spec is the input spec, no unsupported-field condition) and deploys.
//! The git repository is served by `git http-backend` on loopback.

mod support;

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Demo, DemoOptions, app};

fn tool(name: &str) -> String {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .any(|d| d.join(name).is_file());
    assert!(
        found,
        "`{name}` is required by this test and is not on PATH (Debian: {})",
        if name == "envsubst" {
            "gettext-base"
        } else {
            "kubectl v1.32"
        }
    );
    name.to_string()
}

/// Runs `program args` with `stdin`; returns (success, stdout, stderr).
fn run(program: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `kubectl apply -f -` of `yaml`, retried while the Application CRD is not yet served (the
/// controller installs it at start).
fn kubectl_apply(kubeconfig: &Path, yaml: &str) -> String {
    let kubectl = tool("kubectl");
    let kc = kubeconfig.to_str().expect("utf-8 path");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, out, err) = run(
            &kubectl,
            &["--kubeconfig", kc, "apply", "-f", "-"],
            &[],
            yaml,
        );
        if ok {
            return out;
        }
        assert!(
            Instant::now() < deadline
                && (err.contains("no matches for kind") || err.contains("ensure CRDs")),
            "kubectl apply failed: {err}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn kubectl_get_json(kubeconfig: &Path, args: &[&str]) -> Value {
    let kubectl = tool("kubectl");
    let mut all = vec![
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8 path"),
        "get",
    ];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let (ok, out, err) = run(&kubectl, &all, &[], "");
    assert!(ok, "kubectl get {args:?}: {err}");
    serde_json::from_str(&out).expect("kubectl json")
}

fn parse_one(yaml: &str) -> Value {
    let mut objs = controller::source::parse_manifests("input.yaml", yaml).expect("parse yaml");
    assert_eq!(objs.len(), 1, "{yaml}");
    objs.remove(0)
}

/// No condition besides none at all: in particular no `InvalidSpecError` and no
/// "not supported by ferry" warning.
fn assert_no_conditions(a: &Value) {
    let c = &a["status"]["conditions"];
    assert!(
        c.is_null() || c.as_array().is_some_and(Vec::is_empty),
        "{}: {c}",
        a["metadata"]["name"]
    );
}

/// The bootstrap of DEVELOPERS.md: `envsubst < entrypoint.yaml | kubectl apply -f -`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entrypoint_via_envsubst_and_kubectl_apply() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let text = std::fs::read_to_string(demo.path("deployment/kubernetes/entrypoint.yaml"))
        .expect("entrypoint.yaml");
    // The helm-secrets URL form Argo CD (with the helm-secrets plugin) accepts.
    assert!(
        text.contains("secrets+age-import-kubernetes://argocd/sops-age#key.txt?"),
        "{text}"
    );
    let envsubst = tool("envsubst");
    let (ok, yaml, err) = run(
        &envsubst,
        &[],
        &[
            ("ENV", "dev"),
            ("REPO_URL", &demo.repo_url),
            ("TARGET_REVISION", "HEAD"),
        ],
        &text,
    );
    assert!(ok, "envsubst: {err}");
    let input = parse_one(&yaml);
    let out = kubectl_apply(&demo.kubeconfig, &yaml);
    assert!(
        out.contains("application.argoproj.io/entrypoint-dev created"),
        "{out}"
    );

    // Stored unchanged.
    let stored = kubectl_get_json(
        &demo.kubeconfig,
        &["applications.argoproj.io", "-n", "argocd", "entrypoint-dev"],
    );
    assert_eq!(stored["spec"], input["spec"]);
    assert_eq!(
        stored["metadata"]["finalizers"],
        input["metadata"]["finalizers"]
    );

    // Deploys: every app Synced and Healthy, no condition anywhere.
    demo.wait_all_synced_healthy(120).await;
    let apps = demo.apps().await;
    for a in &apps {
        assert_no_conditions(a);
    }
    let entry = app(&apps, "entrypoint-dev").expect("entrypoint");
    assert_eq!(entry["status"]["sourceType"], "Helm");
    assert!(demo.deployment("dev-api", "api").await.is_some());
    // `kubectl get applications` shows Argo CD's printer columns.
    let (ok, table, err) = demo.kubectl(&["get", "applications", "-n", "argocd"], &[]);
    assert!(ok, "{err}");
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.contains("SYNC STATUS") && header.contains("HEALTH STATUS"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("entrypoint-dev "))
        .unwrap_or_default();
    assert!(row.contains("Synced") && row.contains("Healthy"), "{table}");
    // A second apply of the same input is a no-op for kubectl, as with Argo CD.
    let out = kubectl_apply(&demo.kubeconfig, &yaml);
    assert!(out.contains("entrypoint-dev unchanged"), "{out}");

    // The prod environment beside it, pinned to the commit: its own apps, no worker.
    let (ok, yaml, err) = run(
        &envsubst,
        &[],
        &[
            ("ENV", "prod"),
            ("REPO_URL", &demo.repo_url),
            ("TARGET_REVISION", &demo.head()),
        ],
        &text,
    );
    assert!(ok, "envsubst: {err}");
    let out = kubectl_apply(&demo.kubeconfig, &yaml);
    assert!(out.contains("entrypoint-prod created"), "{out}");
    let apps = demo
        .wait_apps("prod apps Synced and Healthy", 120, |a| {
            ["entrypoint-prod", "web-prod", "api-prod"]
                .iter()
                .all(|n| support::synced_healthy(a, n))
        })
        .await;
    assert!(app(&apps, "worker-prod").is_none());
    for a in &apps {
        assert_no_conditions(a);
    }
    let web = demo.deployment("prod-web", "web").await.expect("prod web");
    assert_eq!(web["spec"]["replicas"], 3);
    assert!(
        web["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .is_some_and(|i| i.ends_with(":1.4.0")),
        "{}",
        web["spec"]["template"]
    );
    demo.shutdown().await;
}

/// An Application using the other fields teams write for this layout (multiple sources with a
/// `$values` ref, `valuesObject`, `parameters`, `ignoreDifferences`, `retry`, sync options,
/// `revisionHistoryLimit`, `info`), applied with `kubectl apply -f -`: accepted unchanged and
/// deployed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_source_application_via_kubectl_apply() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let yaml = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web-prod
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
  annotations:
    argocd.argoproj.io/manifest-generate-paths: .;/deployment/kubernetes/.envs
spec:
  project: default
  info:
    - name: owner
      value: team-web
  sources:
    - repoURL: {repo}
      targetRevision: HEAD
      path: deployment/kubernetes/charts/web
      helm:
        releaseName: web
        valueFiles:
          - $values/deployment/kubernetes/.envs/latest.yaml
          - $values/deployment/kubernetes/.envs/prod.yaml
          - secrets+age-import-kubernetes://argocd/sops-age#key.txt?$values/deployment/kubernetes/.envs/prod-secrets.yaml
        valuesObject:
          resources:
            requests:
              cpu: 75m
        parameters:
          - name: apps.web.server.replicas
            value: "2"
        ignoreMissingValueFiles: false
    - repoURL: {repo}
      targetRevision: HEAD
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: prod-web
  revisionHistoryLimit: 5
  ignoreDifferences:
    - group: apps
      kind: Deployment
      jsonPointers:
        - /spec/replicas
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
      - ServerSideApply=true
      - PruneLast=true
    retry:
      limit: 3
      backoff:
        duration: 5s
        factor: 2
        maxDuration: 1m
"#,
        repo = demo.repo_url
    );
    let input = parse_one(&yaml);
    let out = kubectl_apply(&demo.kubeconfig, &yaml);
    assert!(
        out.contains("application.argoproj.io/web-prod created"),
        "{out}"
    );
    let stored = kubectl_get_json(
        &demo.kubeconfig,
        &["applications.argoproj.io", "-n", "argocd", "web-prod"],
    );
    assert_eq!(stored["spec"], input["spec"]);
    demo.wait_apps("web-prod Synced and Healthy", 120, |a| {
        support::synced_healthy(a, "web-prod")
    })
    .await;
    let a = demo.app("web-prod").await.expect("web-prod");
    assert_no_conditions(&a);
    let d = demo.deployment("prod-web", "web").await.expect("web");
    // parameters win over the value files; valuesObject is merged over them.
    assert_eq!(d["spec"]["replicas"], 2, "{}", d["spec"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "75m", "memory": "64Mi"})
    );
    // The `ref` source only provides files: one history entry with both revisions.
    let h = &a["status"]["history"][0];
    assert_eq!(
        h["revisions"].as_array().map(Vec::len),
        Some(2),
        "{}",
        a["status"]["history"]
    );
    demo.shutdown().await;
}
