//! Requested operations: rollback to an earlier history entry (and its refusal while auto-sync
//! is on), and `retry` with backoff, `retryCount` and Argo CD's messages.

mod runtime_support;

use runtime_support::*;
use serde_json::{Value, json};

fn history(a: &Value) -> Vec<Value> {
    a["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_syncs_an_earlier_revision_and_is_refused_while_automated() {
    let env = Env::start().await;
    let first = env.commit("apps/web/all.yaml", &manifests("web", 1, "one"), "one");
    let (ctrl, _slot) = env.controller(env.options("data"));
    env.apply(&env.app(
        "web",
        "apps/web",
        "rb",
        json!({"syncOptions": ["CreateNamespace=true"]}),
    ))
    .await;
    let sync_op =
        json!({"operation": {"initiatedBy": {"username": "test"}, "sync": {"prune": true}}});
    env.patch_app("web", sync_op.clone()).await;
    env.wait_app("web", "first sync", 60, |a| {
        history(a).len() == 1 && a["operation"].is_null() && synced_healthy(a)
    })
    .await;
    let second = env.commit("apps/web/all.yaml", &manifests("web", 1, "two"), "two");
    env.patch_app(
        "web",
        json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
    )
    .await;
    env.wait_app("web", "OutOfSync at the second commit", 30, |a| {
        a["status"]["sync"]["revision"] == second.as_str()
    })
    .await;
    env.patch_app("web", sync_op).await;
    let a = env
        .wait_app("web", "second sync", 60, |a| {
            history(a).len() == 2 && a["operation"].is_null()
        })
        .await;
    assert_eq!(history(&a)[1]["revision"], second.as_str());
    env.wait_obj("v1", "ConfigMap", "rb", "web", 10, |c| {
        c.is_some_and(|c| c["data"]["greeting"] == "two")
    })
    .await;

    // Roll back to history id 0, as `argocd app rollback web 0` asks for it.
    let entry = history(&a)[0].clone();
    assert_eq!(entry["revision"], first.as_str());
    env.patch_app(
        "web",
        json!({"operation": {"initiatedBy": {"username": "test"}, "sync": {
            "revision": entry["revision"], "source": entry["source"],
            "prune": false, "syncStrategy": {"apply": {}}}}}),
    )
    .await;
    let a = env
        .wait_app("web", "rollback done", 60, |a| {
            history(a).len() == 3 && a["operation"].is_null()
        })
        .await;
    assert_eq!(
        a["status"]["operationState"]["phase"], "Succeeded",
        "{}",
        a["status"]
    );
    let h = history(&a);
    assert_eq!(h[2]["revision"], first.as_str());
    assert_eq!(h[2]["id"], 2);
    assert_eq!(h[2]["initiatedBy"]["username"], "test");
    assert_eq!(
        a["status"]["operationState"]["syncResult"]["revision"],
        first.as_str()
    );
    env.wait_obj("v1", "ConfigMap", "rb", "web", 10, |c| {
        c.is_some_and(|c| c["data"]["greeting"] == "one")
    })
    .await;
    // The target is still HEAD: the app shows OutOfSync, as in Argo CD.
    env.wait_app("web", "OutOfSync after the rollback", 20, |a| {
        a["status"]["sync"]["status"] == "OutOfSync"
            && a["status"]["sync"]["revision"] == second.as_str()
    })
    .await;

    // With auto-sync on, the app returns to HEAD and a rollback is refused.
    env.patch_app(
        "web",
        json!({"spec": {"syncPolicy": {"automated": {"prune": true}}}}),
    )
    .await;
    env.wait_obj("v1", "ConfigMap", "rb", "web", 30, |c| {
        c.is_some_and(|c| c["data"]["greeting"] == "two")
    })
    .await;
    env.wait_app("web", "Synced at HEAD", 30, synced_healthy)
        .await;
    env.patch_app(
        "web",
        json!({"operation": {"initiatedBy": {"username": "test"}, "sync": {
            "revision": entry["revision"], "source": entry["source"]}}}),
    )
    .await;
    let a = env
        .wait_app("web", "rollback refused", 30, |a| {
            a["status"]["operationState"]["phase"] == "Error" && a["operation"].is_null()
        })
        .await;
    assert_eq!(
        a["status"]["operationState"]["message"],
        "rollback cannot be initiated when auto-sync is enabled"
    );
    let cm = env.get("v1", "ConfigMap", "rb", "web").await.expect("cm");
    assert_eq!(cm["data"]["greeting"], "two");

    ctrl.abort();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_syncs_are_retried_with_backoff() {
    let env = Env::start().await;
    // A kind the cluster does not serve: every apply attempt fails.
    let mut text = manifests("web", 1, "x");
    text.push_str("---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n");
    env.commit("apps/web/all.yaml", &text, "widget");
    let (ctrl, _slot) = env.controller(env.options("data"));
    env.apply(&env.app(
        "web",
        "apps/web",
        "retry",
        json!({"syncOptions": ["CreateNamespace=true"]}),
    ))
    .await;
    env.patch_app(
        "web",
        json!({"operation": {"initiatedBy": {"username": "test"},
            // Long enough a wait that a poll every 200 ms on a loaded machine sees it.
            "retry": {"limit": 2, "backoff": {"duration": "3s", "factor": 2}},
            "sync": {}}}),
    )
    .await;
    let a = env
        .wait_app("web", "first retry scheduled", 60, |a| {
            // retryCount stays 1 while the retry runs ("one or more tasks are running"):
            // wait for the scheduled state itself.
            a["status"]["operationState"]["retryCount"] == 1
                && a["status"]["operationState"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Retrying attempt"))
        })
        .await;
    let msg = a["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains(". Retrying attempt #1 at "), "{msg}");
    assert_eq!(a["status"]["operationState"]["phase"], "Running");
    assert!(!a["operation"].is_null(), "operation kept while retrying");
    let a = env
        .wait_app("web", "retries exhausted", 60, |a| {
            a["operation"].is_null() && a["status"]["operationState"]["phase"] == "Failed"
        })
        .await;
    assert_eq!(a["status"]["operationState"]["retryCount"], 2);
    let msg = a["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(msg.ends_with("(retried 2 times)."), "{msg}");
    ctrl.abort();
    env.shutdown().await;
}
