//! Self-heal driven by watches: a `kubectl scale`-like change of a managed Deployment is
//! reverted within seconds (the periodic refresh is 5 minutes here), and ferry's own writes do
//! not make it compare and apply in a loop.

mod runtime_support;

use controller::Stats;
use kube::api::{Api, Patch, PatchParams};
use runtime_support::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_is_reverted_by_watch_driven_self_heal() {
    let env = Env::start().await;
    env.commit("apps/web/all.yaml", &manifests("web", 2, "hello"), "web");
    let (ctrl, slot) = env.controller(env.options("data"));
    env.apply(&env.app(
        "web",
        "apps/web",
        "heal",
        json!({"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}),
    ))
    .await;
    env.wait_app("web", "Synced and Healthy", 60, synced_healthy)
        .await;
    let stats = refresher(&slot).expect("controller started").stats();

    // ferry's own writes settle: no further applies once Synced and Healthy.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let applies = Stats::get(&stats.applies);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        Stats::get(&stats.applies),
        applies,
        "no apply loop after the sync"
    );

    // Drift: scale to 5 with another field manager, as `kubectl scale` does.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), "heal");
    let t0 = Instant::now();
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("scale");
    env.wait_obj("apps/v1", "Deployment", "heal", "web", 15, |d| {
        d.is_some_and(|d| d["spec"]["replicas"] == 2)
    })
    .await;
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "reverted after {took:?}");
    assert!(
        Stats::get(&stats.watch_events) > 0,
        "a watch event drove it"
    );

    // A second edit (a ConfigMap, `kubectl edit`) is reverted too, after the self-heal backoff.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(env.client.clone(), "heal");
    cms.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"greeting": "edited"}})),
    )
    .await
    .expect("edit");
    env.wait_obj("v1", "ConfigMap", "heal", "web", 20, |c| {
        c.is_some_and(|c| c["data"]["greeting"] == "hello")
    })
    .await;
    let a = env
        .wait_app("web", "Synced again", 20, synced_healthy)
        .await;
    let heals = a["status"]["operationState"]["operation"]["sync"]["selfHealAttemptsCount"]
        .as_i64()
        .unwrap_or(0);
    assert!(heals >= 1, "self-heal operations recorded: {}", a["status"]);

    ctrl.abort();
    env.shutdown().await;
}
