//! Leader election: of two controllers only the Lease holder reconciles; when it stops, the
//! other takes the Lease over and reconciles.

mod runtime_support;

use controller::Stats;
use controller::leader::LeaderElection;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use runtime_support::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn election(identity: &str) -> LeaderElection {
    let mut le = LeaderElection::new("argocd", identity);
    // Shorter than client-go's 15/10/2 s to keep the test quick; same logic.
    le.lease_duration = Duration::from_secs(4);
    le.renew_deadline = Duration::from_secs(3);
    le.retry_period = Duration::from_millis(500);
    le
}

async fn holder(env: &Env) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "argocd");
    leases
        .get_opt("ferry-controller")
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_leader_reconciles_and_the_other_takes_over() {
    let env = Env::start().await;
    env.commit("apps/web/all.yaml", &manifests("web", 1, "one"), "one");
    let mut a_opts = env.options("data-a");
    a_opts.leader_election = Some(election("replica-a"));
    let (a, a_slot) = env.controller(a_opts);
    let deadline = Instant::now() + Duration::from_secs(20);
    while holder(&env).await.as_deref() != Some("replica-a") {
        assert!(Instant::now() < deadline, "replica-a never became leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut b_opts = env.options("data-b");
    b_opts.leader_election = Some(election("replica-b"));
    let b_shutdown = b_opts.shutdown.clone();
    let (b, b_slot) = env.controller(b_opts);

    env.apply(&env.app(
        "web",
        "apps/web",
        "leader",
        json!({"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}),
    ))
    .await;
    env.wait_app("web", "Synced by the leader", 60, synced_healthy)
        .await;
    let a_stats = refresher(&a_slot).expect("a leads").stats();
    assert!(Stats::get(&a_stats.reconciles) > 0);
    // The standby has not started reconciling.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(refresher(&b_slot).is_none(), "replica-b must not reconcile");
    assert_eq!(holder(&env).await.as_deref(), Some("replica-a"));

    // The leader stops (killed: it cannot release the Lease); b takes over after expiry.
    a.abort();
    let _ = a.await;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(20);
    while holder(&env).await.as_deref() != Some("replica-b") {
        assert!(Instant::now() < deadline, "replica-b never took over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "took over before the lease expired"
    );
    // b reconciles: a new commit is deployed.
    env.commit("apps/web/all.yaml", &manifests("web", 1, "two"), "two");
    env.patch_app(
        "web",
        json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
    )
    .await;
    env.wait_obj("v1", "ConfigMap", "leader", "web", 60, |c| {
        c.is_some_and(|c| c["data"]["greeting"] == "two")
    })
    .await;
    let b_stats = refresher(&b_slot).expect("b leads").stats();
    assert!(Stats::get(&b_stats.applies) > 0);

    // A clean stop releases the Lease: a third replica takes over without waiting for expiry.
    let mut c_opts = env.options("data-c");
    c_opts.leader_election = Some(election("replica-c"));
    let (c, c_slot) = env.controller(c_opts);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(refresher(&c_slot).is_none(), "replica-c must wait");
    b_shutdown.cancel();
    let r = tokio::time::timeout(Duration::from_secs(5), b)
        .await
        .expect("b stops")
        .expect("b task");
    assert!(r.is_ok(), "clean stop: {r:?}");
    let t0 = Instant::now();
    while holder(&env).await.as_deref() != Some("replica-c") {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "replica-c did not take over the released lease quickly"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.abort();
    env.shutdown().await;
}
