//! End to end on the embedded cluster with the demo repository (`examples/demo`) served by a
//! real git smart-HTTP server (`git http-backend`) on loopback: bootstrap through the
//! app-of-apps entrypoint, push webhooks (the poll period is 10 minutes, so only a webhook
//! explains a change reaching the cluster), pruning a disabled app, cascading deletion,
//! broken commits, a failing pod.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::{Demo, DemoOptions, GITHUB_SECRET, GITLAB_TOKEN, app, condition, health};

const DEV: &str = "deployment/kubernetes/.envs/dev.yaml";
/// A decrypted value of `dev-secrets.yaml`: must never appear in an Application.
const PLAINTEXT: &str = "dev-db-password-not-secret";

/// Bootstrap; everything Synced and Healthy; a values commit applied after a GitHub push
/// webhook; an app disabled in the env file pruned after a GitLab push webhook; deleting the
/// entrypoint cascades through every child Application and its resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bootstrap_webhook_prune_cascade() {
    let demo = Demo::start(DemoOptions::default()).await;

    // 1. Everything Synced and Healthy, the entrypoint is an app of apps.
    demo.wait_all_synced_healthy(120).await;
    let a = demo.apps().await;
    let entry = app(&a, "entrypoint-dev").expect("entrypoint");
    assert_eq!(entry["status"]["summary"]["isAppOfApps"], true);
    assert_eq!(
        entry["status"]["sync"]["revision"],
        json!(demo.head()),
        "synced to the pushed commit"
    );
    let web = demo.deployment("dev-web", "web").await.expect("web");
    assert_eq!(web["spec"]["replicas"], 1);
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .map(|i| i.ends_with(":1.4.2")),
        Some(true),
        "the tag of latest.yaml: {}",
        web["spec"]["template"]["spec"]["containers"][0]["image"]
    );
    // The decrypted secret reached the cluster (and only there).
    let secret = demo
        .get("v1", "Secret", "dev-api", "api")
        .await
        .expect("api secret applied");
    assert!(secret["data"]["DB_PASSWORD"].is_string(), "{secret}");
    assert!(!a.iter().any(|x| x.to_string().contains(PLAINTEXT)));
    // The Ingress is Healthy because the embedded cluster publishes a load-balancer address
    // itself (no stand-in ingress controller in this test).
    let ing = demo
        .get("networking.k8s.io/v1", "Ingress", "dev-web", "web")
        .await
        .expect("web ingress");
    assert!(
        ing["status"]["loadBalancer"]["ingress"][0]["ip"].is_string(),
        "{}",
        ing["status"]
    );

    // 2. A values commit, pushed: nothing happens until the webhook (poll = 10 min).
    demo.edit(DEV, |t| {
        t.replacen(
            "      replicas: 1\n      host:",
            "      replicas: 2\n      host:",
            1,
        )
    });
    let push = demo.commit_and_push("web: 2 replicas");
    assert!(push.files.contains(&DEV.to_string()), "{push:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let web = demo.deployment("dev-web", "web").await.expect("web");
    assert_eq!(web["spec"]["replicas"], 1, "applied without a webhook?");
    // A wrongly signed event is refused and changes nothing.
    let (code, body) = demo.github_webhook(&push, "not-the-secret").await;
    assert_eq!((code, body.as_str()), (400, "Webhook processing failed"));
    let (code, body) = demo.gitlab_webhook(&push, "not-the-token").await;
    assert_eq!((code, body.as_str()), (400, "Webhook processing failed"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let web = demo.deployment("dev-web", "web").await.expect("web");
    assert_eq!(
        web["spec"]["replicas"], 1,
        "applied after a refused webhook?"
    );
    // The signed GitHub push event.
    let sent = Instant::now();
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_deployment("dev-web", "web", "web scaled to 2", 30, |d| {
        d.is_some_and(|d| d["spec"]["replicas"] == 2)
    })
    .await;
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "webhook to applied: {took:?}"
    );
    eprintln!("webhook to applied: {took:?}");
    demo.wait_apps("web-dev Synced and Healthy at the pushed commit", 60, |a| {
        support::synced_healthy(a, "web-dev")
            && app(a, "web-dev")
                .is_some_and(|x| x["status"]["sync"]["revision"] == json!(push.after))
    })
    .await;

    // 3. Disabling an app in the env file prunes it and its resources (GitLab event).
    demo.edit(DEV, |t| {
        let start = t.find("  worker:\n").expect("worker block");
        t[..start].to_string()
    });
    let push = demo.commit_and_push("disable worker");
    let (code, body) = demo.gitlab_webhook(&push, GITLAB_TOKEN).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_apps("worker-dev pruned", 60, |a| app(a, "worker-dev").is_none())
        .await;
    demo.wait_deployment(
        "dev-worker",
        "worker",
        "worker deployment deleted",
        60,
        |d| d.is_none(),
    )
    .await;
    demo.wait_apps("the remaining apps Synced and Healthy", 60, |a| {
        ["entrypoint-dev", "web-dev", "api-dev"]
            .iter()
            .all(|n| support::synced_healthy(a, n))
    })
    .await;
    // The entrypoint's status follows the deletion it started (a watched managed resource).
    demo.wait_apps("entrypoint-dev no longer lists worker-dev", 30, |a| {
        app(a, "entrypoint-dev").is_some_and(|e| {
            !e["status"]["resources"].to_string().contains("worker-dev")
                && support::synced_healthy(a, "entrypoint-dev")
        })
    })
    .await;

    // 4. Deleting the entrypoint cascades: every child app and every resource is gone.
    let managed = demo.managed_snapshot().await;
    assert!(managed.keys().any(|k| k.starts_with("Deployment dev-api/")));
    support::app_api(&demo.client)
        .delete("entrypoint-dev", &Default::default())
        .await
        .expect("delete entrypoint");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = demo.managed_snapshot().await;
        let apps = demo.apps().await;
        // Namespaces created by CreateNamespace are not tracked; everything else must go.
        if left.is_empty() && apps.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left after deleting the entrypoint: {:?}\napps:\n{}",
            left.keys().collect::<Vec<_>>(),
            support::summary(&apps)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (ns, name) in [("dev-web", "web"), ("dev-api", "api")] {
        assert!(demo.deployment(ns, name).await.is_none(), "{ns}/{name}");
    }
    demo.shutdown().await;
}

/// A commit that breaks a template, and separately one that breaks the secrets file: no live
/// object changes, the error is reported in `status.conditions`; fixing it recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broken_commits_leave_live_objects_untouched() {
    let demo = Demo::start(DemoOptions::default()).await;
    demo.wait_all_synced_healthy(120).await;
    let before = demo.managed_snapshot().await;
    assert!(
        before.len() >= 10,
        "{:?}",
        before.keys().collect::<Vec<_>>()
    );

    // 1. A broken template in the api chart, together with a values change that would
    //    otherwise be applied.
    let tpl = "deployment/kubernetes/charts/api/templates/deployment.yaml";
    demo.edit(tpl, |t| {
        format!("{t}\n{{{{ .Values.broken | nosuchfunction }}}}\n")
    });
    demo.edit(DEV, |t| {
        t.replacen("LOG_LEVEL: debug", "LOG_LEVEL: info", 1)
    });
    let push = demo.commit_and_push("break api");
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_apps("api-dev ComparisonError", 60, |a| {
        condition(a, "api-dev", "ComparisonError").is_some_and(|c| {
            c["message"]
                .as_str()
                .unwrap_or("")
                .contains("nosuchfunction")
        })
    })
    .await;
    // The other apps did sync the new commit (their charts are fine).
    demo.wait_apps("web-dev at the new commit", 60, |a| {
        app(a, "web-dev").is_some_and(|x| x["status"]["sync"]["revision"] == json!(push.after))
    })
    .await;
    let a = demo.apps().await;
    let msg = condition(&a, "api-dev", "ComparisonError").expect("condition")["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(msg.contains("deployment.yaml"), "names the file: {msg}");
    assert!(!a.iter().any(|x| x.to_string().contains(PLAINTEXT)));
    assert_ne!(
        app(&a, "api-dev").expect("api-dev")["status"]["sync"]["status"],
        "Synced"
    );
    let after = demo.managed_snapshot().await;
    assert_eq!(
        before, after,
        "live objects changed after a broken template"
    );

    // 2. Fixed: the held-back values change goes through.
    demo.edit(tpl, |t| {
        t.replace("\n{{ .Values.broken | nosuchfunction }}\n", "")
    });
    let push = demo.commit_and_push("fix api");
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_deployment("dev-api", "api", "LOG_LEVEL=info applied", 60, |d| {
        d.is_some_and(|d| d.to_string().contains("\"value\":\"info\""))
    })
    .await;
    demo.wait_all_synced_healthy(60).await;
    demo.wait_apps("api-dev without ComparisonError", 30, |a| {
        condition(a, "api-dev", "ComparisonError").is_none()
    })
    .await;
    let before = demo.managed_snapshot().await;

    // 3. A corrupted secrets file (an encrypted value altered: the MAC no longer matches),
    //    together with a values change.
    let secrets = "deployment/kubernetes/.envs/dev-secrets.yaml";
    demo.edit(secrets, |t| {
        let i = t
            .find("DB_PASSWORD: ENC[AES256_GCM,data:")
            .expect("encrypted value")
            + "DB_PASSWORD: ENC[AES256_GCM,data:".len();
        let c = &t[i..i + 1];
        let swapped = if c == "A" { "B" } else { "A" };
        format!("{}{swapped}{}", &t[..i], &t[i + 1..])
    });
    demo.edit(DEV, |t| t.replacen("replicas: 1", "replicas: 3", 1));
    let push = demo.commit_and_push("corrupt secrets");
    let (code, body) = demo.gitlab_webhook(&push, GITLAB_TOKEN).await;
    assert_eq!(code, 200, "{body}");
    // Every app reads the secrets file: all report the error, none applies anything.
    let names = demo.app_names();
    let all_failed = |a: &[serde_json::Value]| {
        names
            .iter()
            .all(|n| condition(a, n, "ComparisonError").is_some())
    };
    let a = demo
        .wait_apps("ComparisonError on every app", 60, all_failed)
        .await;
    for n in &names {
        let msg = condition(&a, n, "ComparisonError").expect("condition")["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            msg.contains("dev-secrets.yaml"),
            "{n}: names the secrets file: {msg}"
        );
    }
    assert!(!a.iter().any(|x| x.to_string().contains(PLAINTEXT)));
    // And it stays so (no reconcile in between applies or clears anything).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = demo.apps().await;
    assert!(all_failed(&a), "{}", support::summary(&a));
    let after = demo.managed_snapshot().await;
    assert_eq!(
        before, after,
        "live objects changed after a broken secrets file"
    );
    demo.shutdown().await;
}

/// A commit that makes the api pods crash turns the app Degraded; a fixing commit makes it
/// Healthy again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_pod_degrades_and_recovers() {
    let demo = Demo::start(DemoOptions::default()).await;
    demo.wait_all_synced_healthy(120).await;

    // The embedded cluster's convention: an image containing `crashloop` never gets ready.
    // A short progress deadline makes the stuck rollout Degraded quickly.
    demo.edit(DEV, |t| {
        t.replacen(
            "  api:\n    server:\n      tag: latest\n",
            "  api:\n    server:\n      tag: 2.0.2-crashloop\n      progressDeadlineSeconds: 3\n",
            1,
        )
    });
    let push = demo.commit_and_push("api 2.0.2");
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_apps("api-dev Degraded", 90, |a| {
        health(a, "api-dev") == "Degraded"
    })
    .await;
    let a = demo.apps().await;
    let api = app(&a, "api-dev").expect("api-dev");
    let dep = api["status"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["kind"] == "Deployment"))
        .expect("deployment resource");
    assert_eq!(dep["health"]["status"], "Degraded", "{dep}");
    assert!(
        dep["health"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("progress"),
        "{dep}"
    );
    // The other apps are unaffected.
    assert_eq!(health(&a, "web-dev"), "Healthy");

    // Fixed by a commit.
    demo.edit(DEV, |t| {
        t.replacen("      tag: 2.0.2-crashloop\n", "      tag: latest\n", 1)
    });
    let push = demo.commit_and_push("api: back to latest");
    let (code, body) = demo.github_webhook(&push, GITHUB_SECRET).await;
    assert_eq!(code, 200, "{body}");
    demo.wait_apps("api-dev Healthy again", 90, |a| {
        support::synced_healthy(a, "api-dev")
    })
    .await;
    demo.wait_all_synced_healthy(30).await;
    demo.shutdown().await;
}

/// A manual `kubectl edit` of a managed Deployment is reverted by self-heal well before the
/// poll period.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_heal_reverts_manual_edit() {
    let demo = Demo::start(DemoOptions::default()).await;
    demo.wait_all_synced_healthy(120).await;
    let history_before = demo.app("web-dev").await.expect("web-dev")["status"]["history"]
        .as_array()
        .map(Vec::len);
    // `kubectl edit` with an "editor" that changes the replicas.
    let editor = demo.tmp.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i -e 's/^  replicas: 1$/  replicas: 4/' \"$1\"\n",
    )
    .expect("editor script");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let edited = Instant::now();
    let (ok, out, err) = demo.kubectl(
        &["edit", "deployment", "web", "-n", "dev-web"],
        &[("KUBE_EDITOR", editor.to_str().expect("utf-8 path"))],
    );
    assert!(ok, "kubectl edit: {out}{err}");
    assert!(out.contains("deployment.apps/web edited"), "{out}{err}");
    let d = demo
        .wait_deployment("dev-web", "web", "the manual edit reverted", 30, |d| {
            d.is_some_and(|d| d["spec"]["replicas"] == 1)
        })
        .await
        .expect("web");
    eprintln!("edit to reverted: {:?}", edited.elapsed());
    assert_eq!(d["spec"]["replicas"], 1);
    // Reverted by an automated sync, recorded like any other.
    let a = demo
        .wait_apps("web-dev synced by self-heal", 60, |a| {
            support::synced_healthy(a, "web-dev")
                && app(a, "web-dev").is_some_and(|w| {
                    w["status"]["history"].as_array().map(Vec::len) > history_before
                })
        })
        .await;
    let web = app(&a, "web-dev").expect("web-dev");
    let ops = web["status"]["operationState"]["operation"]["initiatedBy"].clone();
    assert_eq!(ops["automated"], true, "{ops}");
    demo.shutdown().await;
}

/// Rollback to an earlier `status.history` entry, written as `argocd app rollback` writes
/// it, on an Application without automated sync; refused on an automated one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_to_earlier_history_entry() {
    let demo = Demo::start(DemoOptions::default()).await;
    // A manually synced Application of the web chart (no syncPolicy.automated).
    let manual = support::web_manual_app(&demo.repo_url);
    demo.kube.apply(&manual).await.expect("create web-manual");
    demo.wait_apps("web-manual OutOfSync (never synced)", 60, |a| {
        app(a, "web-manual").is_some_and(|x| x["status"]["sync"]["status"] == "OutOfSync")
    })
    .await;
    assert!(demo.deployment("manual-web", "web").await.is_none());

    let sync = |who: &str| json!({"operation": {"initiatedBy": {"username": who}, "sync": {"prune": true}}});
    let history_len = |a: &[serde_json::Value]| {
        app(a, "web-manual")
            .and_then(|x| x["status"]["history"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    // First sync: history entry 0 at the first commit.
    let first = demo.head();
    demo.merge_app("web-manual", sync("alice")).await;
    demo.wait_apps("web-manual synced once", 60, |a| {
        history_len(a) == 1 && support::synced_healthy(a, "web-manual")
    })
    .await;
    // A commit, then the second sync: entry 1.
    demo.edit(DEV, |t| {
        t.replacen(
            "      replicas: 1\n      host:",
            "      replicas: 3\n      host:",
            1,
        )
    });
    let push = demo.commit_and_push("web: 3 replicas");
    demo.github_webhook(&push, GITHUB_SECRET).await;
    demo.wait_apps("web-manual OutOfSync at the new commit", 60, |a| {
        app(a, "web-manual").is_some_and(|x| {
            x["status"]["sync"]["status"] == "OutOfSync"
                && x["status"]["sync"]["revision"] == json!(push.after)
        })
    })
    .await;
    demo.merge_app("web-manual", sync("bob")).await;
    demo.wait_apps("web-manual synced twice", 60, |a| {
        history_len(a) == 2 && support::synced_healthy(a, "web-manual")
    })
    .await;
    assert_eq!(
        demo.deployment("manual-web", "web").await.expect("web")["spec"]["replicas"],
        3
    );
    let a = demo.apps().await;
    let history = app(&a, "web-manual").expect("app")["status"]["history"].clone();
    assert_eq!(history[0]["revision"], json!(first), "{history}");
    assert_eq!(history[1]["revision"], json!(push.after), "{history}");
    assert_ne!(history[0]["id"], history[1]["id"], "{history}");

    // Rollback to entry 0, as `argocd app rollback web-manual <id>` writes it.
    let h0 = history[0].clone();
    demo.merge_app(
        "web-manual",
        json!({"operation": {
            "initiatedBy": {"username": "carol"},
            "sync": {"revision": h0["revision"], "source": h0["source"], "prune": false,
                     "dryRun": false, "syncStrategy": {"apply": {}}}
        }}),
    )
    .await;
    demo.wait_deployment("manual-web", "web", "rolled back to 1 replica", 60, |d| {
        d.is_some_and(|d| d["spec"]["replicas"] == 1)
    })
    .await;
    demo.wait_apps("rollback recorded in history", 60, |a| history_len(a) == 3)
        .await;
    let a = demo.apps().await;
    let x = app(&a, "web-manual").expect("app");
    assert_eq!(x["status"]["history"][2]["revision"], json!(first));
    assert_eq!(x["status"]["operationState"]["phase"], "Succeeded");
    assert_eq!(
        x["status"]["operationState"]["syncResult"]["revision"],
        json!(first)
    );
    // Git still says 3 replicas: the app is OutOfSync, as in Argo CD.
    assert_eq!(
        x["status"]["sync"]["status"], "OutOfSync",
        "{}",
        x["status"]["sync"]
    );

    // The same on an app with automated sync is refused; nothing changes.
    demo.wait_all_synced_healthy(120).await;
    let before = demo.deployment("dev-web", "web").await.expect("web");
    let a = demo.apps().await;
    let h = app(&a, "web-dev").expect("web-dev")["status"]["history"][0].clone();
    demo.merge_app(
        "web-dev",
        json!({"operation": {
            "initiatedBy": {"username": "carol"},
            "sync": {"revision": first, "source": h["source"], "syncStrategy": {"apply": {}}}
        }}),
    )
    .await;
    demo.wait_apps("rollback refused on web-dev", 60, |a| {
        app(a, "web-dev").is_some_and(|x| {
            x["status"]["operationState"]["phase"] == "Error" && x["operation"].is_null()
        })
    })
    .await;
    let after = demo.deployment("dev-web", "web").await.expect("web");
    assert_eq!(
        before["metadata"]["generation"],
        after["metadata"]["generation"]
    );
    demo.shutdown().await;
}
