//! An app of apps follows its child's health as it changes: the child Application's status is
//! written by ferry itself (an echo the managed-resource watch drops), yet the parent's
//! aggregated health must follow without waiting for its periodic refresh (an hour here).

mod runtime_support;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use runtime_support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A kind whose health the test sets through `status.conditions` (ferry's generic rule: a
/// `Degraded=True` condition is Degraded, `Ready=True` Healthy). No status subresource: a merge
/// patch of the object sets its status.
fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    })
}

fn health(a: &Value) -> &str {
    a["status"]["health"]["status"].as_str().unwrap_or("")
}

/// The health of the child Application as listed in the parent's `status.resources`.
fn child_health_in_parent(parent: &Value) -> String {
    parent["status"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["kind"] == "Application"))
        .map(|r| r["health"]["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// The child's Widget becomes Degraded, then Healthy again, by writes of another client (as
/// an operator would write its status). Each change is one comparison of the child and one
/// status write of it, whose echo is dropped: only the re-queue of the parent on a child's
/// health change (not a periodic refresh, not a poll while Progressing) makes the parent follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parent_health_follows_child_health_without_periodic_refresh() {
    let env = Env::start().await;
    env.apply(&widget_crd()).await;
    let widgets = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    env.wait_obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "",
        "widgets.example.com",
        30,
        |c| {
            c.is_some_and(|c| {
                c["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                })
            })
        },
    )
    .await;
    env.commit(
        "apps/kid/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 1\n",
        "kid",
    );
    let child = env.app(
        "kid",
        "apps/kid",
        "kid",
        json!({"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]}),
    );
    env.commit(
        "parent/kid.yaml",
        &serde_json::to_string(&child).expect("json"),
        "parent",
    );
    let mut opts = env.options("data");
    // Long enough that only an event can explain the parent following its child.
    opts.refresh_interval = Duration::from_secs(3600);
    let (ctrl, _slot) = env.controller(opts);
    env.apply(&env.app(
        "parent",
        "parent",
        "argocd",
        json!({"automated": {"prune": true}}),
    ))
    .await;
    env.wait_app("kid", "Synced", 60, |a| {
        a["status"]["sync"]["status"] == "Synced"
    })
    .await;
    let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), "kid", &widgets);
    let set_conditions = |conditions: Value| {
        let api = api.clone();
        async move {
            api.patch(
                "w",
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": {"conditions": conditions}})),
            )
            .await
            .expect("patch widget status");
        }
    };

    // Degraded: the child follows its Widget (a watch event), the parent its child.
    set_conditions(json!([{"type": "Degraded", "status": "True", "message": "broken"}])).await;
    env.wait_app("kid", "Degraded", 30, |a| health(a) == "Degraded")
        .await;
    env.wait_app("parent", "Synced and Degraded", 30, |a| {
        a["status"]["sync"]["status"] == "Synced" && health(a) == "Degraded"
    })
    .await;

    // Recovered: one status write of the child, and the parent must follow.
    set_conditions(json!([{"type": "Ready", "status": "True", "message": "ok"}])).await;
    let kid = env
        .wait_app("kid", "Synced and Healthy", 30, synced_healthy)
        .await;
    let recovered = Instant::now();
    let parent = env
        .wait_app("parent", "Healthy after its child", 15, |a| {
            health(a) == "Healthy"
        })
        .await;
    eprintln!("child Healthy to parent Healthy: {:?}", recovered.elapsed());
    assert_eq!(
        child_health_in_parent(&parent),
        "Healthy",
        "{}",
        parent["status"]
    );
    assert_eq!(
        kid["status"]["history"].as_array().map(Vec::len),
        Some(1),
        "the child recovered without a sync: {}",
        kid["status"]
    );

    ctrl.abort();
    env.shutdown().await;
}
