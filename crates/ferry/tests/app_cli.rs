//! `ferry app` against the embedded cluster running the controller with the demo repository
//! (served by `git http-backend`): the real binary, its output formats and its exit codes.

#[path = "../../controller/tests/support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Demo, DemoOptions, GITHUB_SECRET, app};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn ferry(demo: &Demo, args: &[&str]) -> Out {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("app")
        .args(args)
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .env("USER", "tester")
        .output()
        .await
        .expect("run ferry");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

fn expect(o: &Out, code: i32, what: &str) {
    assert_eq!(
        o.code, code,
        "{what}: exit code\nstdout:\n{}\nstderr:\n{}",
        o.stdout, o.stderr
    );
}

fn json_of(o: &Out) -> Value {
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

const DEV: &str = "deployment/kubernetes/.envs/dev.yaml";

/// list / get / refresh / usage errors / not found, on the bootstrapped demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_get_refresh_and_exit_codes() {
    let demo = Demo::start(DemoOptions::default()).await;
    demo.wait_all_synced_healthy(120).await;

    let o = ferry(&demo, &["list"]).await;
    expect(&o, 0, "list");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{}", o.stdout);
    assert!(lines[0].contains("STATUS") && lines[0].contains("HEALTH"));
    for n in demo.app_names() {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("argocd/{n} ")))
            .unwrap_or_else(|| panic!("{n} missing:\n{}", o.stdout));
        assert!(
            line.contains("Synced") && line.contains("Healthy"),
            "{line}"
        );
        assert!(line.contains("Automated (Prune,SelfHeal)"), "{line}");
    }
    let o = ferry(&demo, &["list", "-o", "json"]).await;
    expect(&o, 0, "list -o json");
    let apps = json_of(&o);
    assert_eq!(apps.as_array().map(Vec::len), Some(4), "{apps}");
    let o = ferry(&demo, &["list", "-o", "yaml"]).await;
    expect(&o, 0, "list -o yaml");
    assert!(o.stdout.starts_with("- "), "a YAML sequence: {}", o.stdout);
    let o = ferry(&demo, &["get", "web-dev", "-o", "yaml"]).await;
    expect(&o, 0, "get -o yaml");
    let parsed = controller::source::parse_manifests("out.yaml", &o.stdout).expect("yaml");
    assert_eq!(parsed[0]["metadata"]["name"], "web-dev");

    let o = ferry(&demo, &["get", "web-dev"]).await;
    expect(&o, 0, "get");
    assert!(o.stdout.contains("Sync Status:"), "{}", o.stdout);
    assert!(o.stdout.contains("Healthy"), "{}", o.stdout);
    assert!(o.stdout.contains("Deployment"), "{}", o.stdout);
    let o = ferry(&demo, &["get", "web-dev", "-o", "json"]).await;
    expect(&o, 0, "get -o json");
    assert_eq!(json_of(&o)["metadata"]["name"], "web-dev");

    let o = ferry(&demo, &["get", "no-such-app"]).await;
    expect(&o, 3, "get of a missing app");
    assert!(o.stderr.contains("not found"), "{}", o.stderr);
    let o = ferry(&demo, &["sync", "no-such-app"]).await;
    expect(&o, 3, "sync of a missing app");
    let o = ferry(&demo, &["sync", "web-dev", "--no-such-flag"]).await;
    expect(&o, 2, "usage error");
    let o = ferry(&demo, &["sync", "web-dev", "--resource", "Deployment/web"]).await;
    expect(&o, 2, "bad --resource");
    let o = ferry(&demo, &["--help"]).await;
    assert!(o.stdout.contains("Exit codes:"), "{}", o.stdout);

    // In sync: no diff for any app (Secrets with decrypted values, child Applications).
    for n in demo.app_names() {
        let o = ferry(&demo, &["diff", &n]).await;
        expect(&o, 0, &format!("diff {n}"));
        assert_eq!(o.stdout, "", "{n}");
    }

    let o = ferry(&demo, &["refresh", "web-dev", "--wait"]).await;
    expect(&o, 0, "refresh --wait");
    assert!(o.stdout.contains("Synced"), "{}", o.stdout);

    // delete --cascade=false keeps the resources; the entrypoint (self-heal) recreates the
    // Application, which adopts them.
    let uid = demo
        .deployment("dev-worker", "worker")
        .await
        .expect("worker")["metadata"]["uid"]
        .clone();
    let o = ferry(
        &demo,
        &["delete", "worker-dev", "--cascade=false", "--wait"],
    )
    .await;
    expect(&o, 0, "delete --cascade=false");
    demo.wait_apps("worker-dev recreated by the entrypoint", 60, |a| {
        support::synced_healthy(a, "worker-dev")
    })
    .await;
    let worker = demo
        .deployment("dev-worker", "worker")
        .await
        .expect("worker kept");
    assert_eq!(worker["metadata"]["uid"], uid);

    // A broken template: the error shows in `get` (and `diff` cannot render).
    let tpl = "deployment/kubernetes/charts/api/templates/deployment.yaml";
    demo.edit(tpl, |t| {
        format!("{t}\n{{{{ .Values.broken | nosuchfunction }}}}\n")
    });
    let push = demo.commit_and_push("break api");
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_apps("api-dev ComparisonError", 60, |a| {
        support::condition(a, "api-dev", "ComparisonError").is_some()
    })
    .await;
    let o = ferry(&demo, &["get", "api-dev"]).await;
    expect(&o, 0, "get of a failing app");
    assert!(o.stdout.contains("ComparisonError"), "{}", o.stdout);
    assert!(o.stdout.contains("nosuchfunction"), "{}", o.stdout);
    let o = ferry(&demo, &["diff", "api-dev"]).await;
    expect(&o, 20, "diff of an app whose target cannot render");
    assert!(o.stderr.contains("nosuchfunction"), "{}", o.stderr);

    // A broken secrets file: the error shows in `get`, never a decrypted value.
    demo.edit(tpl, |t| {
        t.replace("\n{{ .Values.broken | nosuchfunction }}\n", "")
    });
    let secrets = "deployment/kubernetes/.envs/dev-secrets.yaml";
    demo.edit(secrets, |t| {
        let marker = "API_TOKEN: ENC[AES256_GCM,data:";
        let i = t.find(marker).expect("encrypted value") + marker.len();
        let swapped = if &t[i..i + 1] == "A" { "B" } else { "A" };
        format!("{}{swapped}{}", &t[..i], &t[i + 1..])
    });
    let push = demo.commit_and_push("corrupt secrets");
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_apps("web-dev ComparisonError", 60, |a| {
        support::condition(a, "web-dev", "ComparisonError").is_some()
    })
    .await;
    let o = ferry(&demo, &["get", "web-dev"]).await;
    expect(&o, 0, "get of an app with a broken secrets file");
    assert!(o.stdout.contains("ComparisonError"), "{}", o.stdout);
    assert!(o.stdout.contains("dev-secrets.yaml"), "{}", o.stdout);
    assert!(!o.stdout.contains("dev-token-0123456789"), "{}", o.stdout);
    let o = ferry(&demo, &["list"]).await;
    let line = o
        .stdout
        .lines()
        .find(|l| l.starts_with("argocd/web-dev "))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains("ComparisonError"), "{}", o.stdout);
    demo.shutdown().await;
}

/// sync --wait, diff, history, rollback, delete on a manually synced app; rollback refused on
/// an automated one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_diff_history_rollback_delete() {
    let demo = Demo::start(DemoOptions::default()).await;
    demo.kube
        .apply(&support::web_manual_app(&demo.repo_url))
        .await
        .expect("create web-manual");
    demo.wait_apps("web-manual compared", 60, |a| {
        app(a, "web-manual").is_some_and(|x| x["status"]["sync"]["status"] == "OutOfSync")
    })
    .await;

    // Before the first sync everything is to be created.
    let o = ferry(&demo, &["diff", "web-manual"]).await;
    expect(&o, 1, "diff before the first sync");
    assert!(
        o.stdout
            .contains("===== apps/Deployment manual-web/web ======"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("+  replicas: 1"), "{}", o.stdout);

    let first = demo.head();
    let o = ferry(&demo, &["sync", "web-manual", "--wait", "--timeout", "120"]).await;
    expect(&o, 0, "sync --wait");
    assert!(o.stderr.contains("operation"), "progress: {}", o.stderr);
    assert!(o.stdout.contains("Succeeded"), "{}", o.stdout);
    assert!(demo.deployment("manual-web", "web").await.is_some());

    // In sync: no diff (normalised: server defaults and status do not count).
    let o = ferry(&demo, &["diff", "web-manual"]).await;
    expect(&o, 0, "diff after the sync");
    assert_eq!(o.stdout, "", "{}", o.stdout);

    // A manual edit shows up as a diff of that field only.
    demo.edit_live(
        "apps/v1",
        "Deployment",
        "manual-web",
        "web",
        "kubectl-edit",
        json!({"spec": {"replicas": 5}}),
    )
    .await;
    let o = ferry(&demo, &["diff", "web-manual"]).await;
    expect(&o, 1, "diff after a manual edit");
    assert!(o.stdout.contains("-  replicas: 5"), "{}", o.stdout);
    assert!(o.stdout.contains("+  replicas: 1"), "{}", o.stdout);
    assert!(!o.stdout.contains("Service"), "{}", o.stdout);
    let o = ferry(&demo, &["diff", "web-manual", "--exit-code", "false"]).await;
    expect(&o, 0, "diff --exit-code false");
    let o = ferry(&demo, &["diff", "web-manual", "-o", "json"]).await;
    let d = json_of(&o);
    assert_eq!(d[0]["kind"], "Deployment", "{d}");

    // A commit: synced by hand, two history entries.
    demo.edit(DEV, |t| {
        t.replacen(
            "      replicas: 1\n      host:",
            "      replicas: 3\n      host:",
            1,
        )
    });
    let push = demo.commit_and_push("web: 3 replicas");
    demo.github_webhook(&push, GITHUB_SECRET).await;
    let o = ferry(&demo, &["sync", "web-manual", "--wait", "--timeout", "120"]).await;
    expect(&o, 0, "second sync --wait");
    assert_eq!(
        demo.deployment("manual-web", "web").await.expect("web")["spec"]["replicas"],
        3
    );
    let o = ferry(&demo, &["history", "web-manual"]).await;
    expect(&o, 0, "history");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", o.stdout);
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("DATE") && lines[0].contains("REVISION"),
        "{}",
        o.stdout
    );
    assert!(lines[1].contains(&first), "{}", o.stdout);
    assert!(lines[2].contains(&push.after), "{}", o.stdout);
    assert!(lines[1].contains("deployment/kubernetes/charts/web@HEAD"));
    let o = ferry(&demo, &["history", "web-manual", "-o", "json"]).await;
    let history = json_of(&o);
    let id0 = history[0]["id"].to_string();

    // Rollback: to the first entry; unknown IDs and automated apps are refused.
    let o = ferry(&demo, &["rollback", "web-manual", "99"]).await;
    expect(&o, 3, "rollback to a missing ID");
    let o = ferry(&demo, &["rollback", "web-dev", "0"]).await;
    expect(&o, 20, "rollback of an automated app");
    assert!(
        o.stderr
            .contains("rollback cannot be initiated when auto-sync is enabled"),
        "{}",
        o.stderr
    );
    let o = ferry(
        &demo,
        &["rollback", "web-manual", &id0, "--wait", "--timeout", "120"],
    )
    .await;
    expect(&o, 0, "rollback --wait");
    assert_eq!(
        demo.deployment("manual-web", "web").await.expect("web")["spec"]["replicas"],
        1
    );
    let a = demo.app("web-manual").await.expect("app");
    assert_eq!(a["operation"], Value::Null);
    assert_eq!(a["status"]["history"][2]["revision"], json!(first));
    assert_eq!(
        a["status"]["history"][2]["initiatedBy"]["username"],
        "tester"
    );
    // Git says 3: the rollback leaves the app OutOfSync, and diff shows it.
    let o = ferry(&demo, &["diff", "web-manual"]).await;
    expect(&o, 1, "diff after the rollback");
    assert!(o.stdout.contains("+  replicas: 3"), "{}", o.stdout);

    // A sync whose pods crash: the operation completes, the app is Degraded: exit code 1.
    demo.merge_app(
        "web-manual",
        json!({"spec": {"source": {"helm": {"parameters": [
            {"name": "apps.web.server.tag", "value": "1.5.0-crashloop"},
            {"name": "apps.web.server.progressDeadlineSeconds", "value": "3"}
        ]}}}}),
    )
    .await;
    let o = ferry(&demo, &["sync", "web-manual", "--wait", "--timeout", "90"]).await;
    expect(&o, 1, "sync --wait of an app that ends Degraded");
    assert!(o.stderr.contains("Degraded"), "{}", o.stderr);
    assert!(o.stdout.contains("Degraded"), "{}", o.stdout);

    // A wait that cannot finish times out with its own exit code.
    demo.merge_app(
        "web-manual",
        json!({"metadata": {"annotations": {"argocd.argoproj.io/skip-reconcile": "true"}}}),
    )
    .await;
    let o = ferry(&demo, &["sync", "web-manual", "--wait", "--timeout", "2"]).await;
    expect(&o, 4, "sync --wait on an app the controller skips");
    demo.merge_app(
        "web-manual",
        json!({"operation": null, "metadata": {"annotations": {"argocd.argoproj.io/skip-reconcile": null}}}),
    )
    .await;

    // Delete with cascade: the app and its resources go.
    let o = ferry(
        &demo,
        &["delete", "web-manual", "--wait", "--timeout", "60"],
    )
    .await;
    expect(&o, 0, "delete --wait");
    assert!(demo.app("web-manual").await.is_none());
    for _ in 0..40 {
        if demo.deployment("manual-web", "web").await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(demo.deployment("manual-web", "web").await.is_none());
    let o = ferry(&demo, &["delete", "web-manual"]).await;
    expect(&o, 3, "delete of a missing app");
    demo.shutdown().await;
}

/// The HTTP Basic credentials of the authenticated git server (GitLab CI's job-token user).
const GIT_USER: &str = "gitlab-ci-token";
const GIT_TOKEN: &str = "glcbt-64_CliT0kenS3cret";

/// A manually synced multi-source Application: the web chart from `chart_repo`, its value files
/// (prod: 3 replicas) through the `$values` ref of `values_repo`.
fn multi_source_app(name: &str, chart_repo: &str, values_repo: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "sources": [
                {
                    "repoURL": chart_repo, "targetRevision": "HEAD",
                    "path": "deployment/kubernetes/charts/web",
                    "helm": {"releaseName": "web", "valueFiles": [
                        "$values/deployment/kubernetes/.envs/latest.yaml",
                        "$values/deployment/kubernetes/.envs/prod.yaml",
                        "secrets+age-import-kubernetes://argocd/sops-age#key.txt?$values/deployment/kubernetes/.envs/prod-secrets.yaml"
                    ]}
                },
                {"repoURL": values_repo, "targetRevision": "HEAD", "ref": "values"}
            ],
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}
        }
    })
}

/// `ferry app diff` fetches with the controller's credentials: Argo CD repository Secrets
/// (`repository` for the chart repository, a `repo-creds` template for the values repository
/// of a multi-source app, whose `$values` files it reads) and credentials in the URL. Without
/// credentials it fails clearly; no secret value is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn diff_with_repository_credentials_and_multi_source() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        git_auth: Some((GIT_USER.into(), GIT_TOKEN.into())),
        ..Default::default()
    })
    .await;
    let values_url = demo.serve_copy("team-values.git");
    demo.apply_retrying(&multi_source_app("multi-web", &demo.repo_url, &values_url))
        .await;

    // No credentials: a render failure naming the authentication problem.
    let o = ferry(&demo, &["diff", "multi-web"]).await;
    expect(&o, 20, "diff without credentials");
    assert!(o.stderr.contains("authentication"), "{}", o.stderr);

    // A `repository` Secret for the chart repository is not enough: the values repository
    // needs its own credentials.
    demo.repo_secret(
        "repo-chart",
        "repository",
        &demo.repo_url,
        GIT_USER,
        GIT_TOKEN,
    )
    .await;
    let o = ferry(&demo, &["diff", "multi-web"]).await;
    expect(&o, 20, "diff without credentials for the values repository");
    assert!(
        o.stderr.contains("authentication") && o.stderr.contains("team-values.git"),
        "{}",
        o.stderr
    );
    demo.repo_secret(
        "creds-team",
        "repo-creds",
        &demo.git_server.url("team-"),
        GIT_USER,
        GIT_TOKEN,
    )
    .await;
    let o = ferry(&demo, &["diff", "multi-web"]).await;
    expect(&o, 1, "diff before the first sync");
    assert!(
        o.stdout
            .contains("===== apps/Deployment multi-web/web ======"),
        "{}",
        o.stdout
    );
    // prod.yaml read through the `$values` ref.
    assert!(o.stdout.contains("+  replicas: 3"), "{}", o.stdout);

    let o = ferry(&demo, &["sync", "multi-web", "--wait", "--timeout", "120"]).await;
    expect(&o, 0, "sync --wait");
    let o = ferry(&demo, &["diff", "multi-web"]).await;
    expect(&o, 0, "diff after the sync");
    assert_eq!(o.stdout, "", "{}", o.stdout);

    // Credentials in the URL (GitLab CI) are used as they are and never printed.
    let ci_url = demo
        .git_server
        .url_with_credentials("demo.git", GIT_USER, GIT_TOKEN);
    let mut url_app = support::web_manual_app(&ci_url);
    url_app["metadata"]["name"] = json!("web-url");
    url_app["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("finalizers");
    url_app["spec"]["destination"]["namespace"] = json!("url-web");
    demo.apply_retrying(&url_app).await;
    let o = ferry(&demo, &["diff", "web-url"]).await;
    expect(&o, 1, "diff of the app with URL credentials");
    assert!(
        o.stdout
            .contains("===== apps/Deployment url-web/web ======"),
        "{}",
        o.stdout
    );
    for o in [&o, &ferry(&demo, &["get", "multi-web"]).await] {
        assert!(!o.stdout.contains(GIT_TOKEN) && !o.stderr.contains(GIT_TOKEN));
    }
    // A wrong token in the URL is not replaced by the Secrets: a clear failure, redacted.
    let bad_url = demo
        .git_server
        .url_with_credentials("demo.git", GIT_USER, "not-the-token");
    url_app["spec"]["source"]["repoURL"] = json!(bad_url);
    demo.apply_retrying(&url_app).await;
    let o = ferry(&demo, &["diff", "web-url"]).await;
    expect(&o, 20, "diff with a wrong token in the URL");
    assert!(o.stderr.contains("authentication"), "{}", o.stderr);
    assert!(!o.stderr.contains("not-the-token"), "{}", o.stderr);
    demo.shutdown().await;
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// One `ferry controller` replica with leader election; killed when dropped.
struct Replica {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

fn replica(demo: &Demo, identity: &str) -> Replica {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let log =
        std::fs::File::create(demo.tmp.path().join(format!("{identity}.log"))).expect("log file");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .arg("--data-dir")
        .arg(demo.tmp.path().join(format!("data-{identity}")))
        .args(["--http-listen", &addr.to_string()])
        .args(["--leader-identity", identity])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start ferry controller");
    Replica { child, addr }
}

async fn lease_holder(demo: &Demo) -> Option<String> {
    demo.get(
        "coordination.k8s.io/v1",
        "Lease",
        "argocd",
        "ferry-controller",
    )
    .await
    .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
}

/// Two `ferry controller` replicas with leader election: one holds the Lease, the other stands
/// by — live (`/healthz`) and ready (`/readyz`), as kube controllers' standbys are — and takes
/// over when the leader dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standby_replica_is_live_and_ready() {
    let demo = Demo::start(DemoOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let mut a = replica(&demo, "replica-a");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while lease_holder(&demo).await.as_deref() != Some("replica-a") {
        assert!(
            std::time::Instant::now() < deadline,
            "replica-a never became leader"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let b = replica(&demo, "replica-b");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (code, _) = support::get(b.addr, "/readyz").await;
        if code == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the standby never became ready (last /readyz: {code})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // b is a standby: a still holds the Lease; both are live and ready.
    assert_eq!(lease_holder(&demo).await.as_deref(), Some("replica-a"));
    for r in [&a, &b] {
        assert_eq!(support::get(r.addr, "/healthz").await.0, 200);
        assert_eq!(support::get(r.addr, "/readyz").await.0, 200);
    }

    // The leader dies without releasing the Lease: the standby takes over after it expires.
    a.child.kill().await.expect("kill replica-a");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while lease_holder(&demo).await.as_deref() != Some("replica-b") {
        assert!(
            std::time::Instant::now() < deadline,
            "replica-b never took over"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(support::get(b.addr, "/readyz").await.0, 200);
    drop(b);
    demo.shutdown().await;
}

/// Applications in another namespace (the controller's `--application-namespaces`): `list -A`
/// shows them as `NAMESPACE/NAME`, `get` finds them by `NAMESPACE/NAME` or `-N`, and `diff`
/// pairs their live objects by the namespace-qualified tracking name (no difference when in
/// sync; it would report the tracking annotation otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apps_in_other_namespaces() {
    let demo = Demo::start(DemoOptions {
        application_namespaces: vec!["team-*".into()],
        ..Default::default()
    })
    .await;
    for obj in [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "team", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "sourceNamespaces": ["team-a"],
                     "destinations": [{"server": "*", "namespace": "*"}],
                     "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}
        }),
    ] {
        demo.kube.apply(&obj).await.expect("apply");
    }
    let mut team_app = support::web_manual_app(&demo.repo_url);
    team_app["metadata"]["name"] = json!("web");
    team_app["metadata"]["namespace"] = json!("team-a");
    team_app["spec"]["project"] = json!("team");
    team_app["spec"]["destination"]["namespace"] = json!("tenant-a");
    team_app["spec"]["syncPolicy"]["automated"] = json!({"prune": true, "selfHeal": true});
    demo.kube.apply(&team_app).await.expect("create team-a/web");
    demo.wait_all_synced_healthy(120).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let o = ferry(&demo, &["get", "team-a/web", "-o", "json"]).await;
        expect(&o, 0, "get team-a/web");
        let a = json_of(&o);
        if a["status"]["sync"]["status"] == "Synced" && a["status"]["health"]["status"] == "Healthy"
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "team-a/web not Synced+Healthy: {}",
            a["status"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let o = ferry(&demo, &["list"]).await;
    expect(&o, 0, "list");
    assert!(!o.stdout.contains("team-a/web"), "{}", o.stdout);
    let o = ferry(&demo, &["list", "-A"]).await;
    expect(&o, 0, "list -A");
    let line = o
        .stdout
        .lines()
        .find(|l| l.starts_with("team-a/web "))
        .unwrap_or_else(|| panic!("team-a/web missing:\n{}", o.stdout));
    assert!(
        line.contains("Synced") && line.contains("Healthy"),
        "{line}"
    );
    assert!(o.stdout.contains("argocd/web-dev "), "{}", o.stdout);
    let o = ferry(&demo, &["get", "web", "-N", "team-a", "-o", "json"]).await;
    expect(&o, 0, "get -N team-a web");
    assert_eq!(json_of(&o)["metadata"]["namespace"], "team-a");
    let o = ferry(&demo, &["get", "web"]).await;
    expect(&o, 3, "web is not in argocd");
    let o = ferry(&demo, &["diff", "team-a/web"]).await;
    expect(&o, 0, "diff team-a/web");
    assert_eq!(o.stdout, "");
    demo.shutdown().await;
}
