//! Resume after a restart: apps whose git revision and live objects did not change are neither
//! re-rendered nor re-synced (no apply calls); an app whose live state drifted while the
//! controller was down is compared and healed.

mod runtime_support;

use controller::Stats;
use kube::api::{Api, Patch, PatchParams};
use runtime_support::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_does_not_rerender_or_resync_unchanged_apps() {
    let env = Env::start().await;
    let names = ["a", "b", "c"];
    for n in names {
        env.commit(&format!("apps/{n}/all.yaml"), &manifests(n, 1, n), n);
    }
    let (first, slot) = env.controller(env.options("data"));
    for n in names {
        env.apply(&env.app(
            n,
            &format!("apps/{n}"),
            &format!("resume-{n}"),
            json!({"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}),
        ))
        .await;
    }
    for n in names {
        env.wait_app(n, "Synced, Healthy and recorded", 60, |a| {
            synced_healthy(a) && a["metadata"]["annotations"]["ferry.dev/compared"].is_string()
        })
        .await;
    }
    let stats1 = refresher(&slot).expect("started").stats();
    assert!(Stats::get(&stats1.applies) >= 6);
    // Let the last status writes settle, then stop the controller.
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.abort();
    let _ = first.await;

    // While it is down, app c drifts.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(env.client.clone(), "resume-c");
    cms.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"greeting": "drifted"}})),
    )
    .await
    .expect("drift");
    let before: Vec<String> = {
        let mut v = Vec::new();
        for n in names {
            let a = env.get_app(n).await.expect("app");
            v.push(
                a["status"]["reconciledAt"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        v
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A new controller (same data dir: git mirrors stay).
    let (second, slot) = env.controller(env.options("data"));
    for (i, n) in names.iter().enumerate() {
        let old = before[i].clone();
        env.wait_app(n, "reconciled by the new controller", 60, move |a| {
            a["status"]["reconciledAt"]
                .as_str()
                .is_some_and(|t| t > old.as_str())
        })
        .await;
    }
    env.wait_obj("v1", "ConfigMap", "resume-c", "c", 30, |c| {
        c.is_some_and(|c| c["data"]["greeting"] == "c")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = refresher(&slot).expect("started").stats();
    // a and b: trusted, never rendered nor synced; c: rendered once and healed by one
    // self-heal sync of its out-of-sync ConfigMap (and, at most, the namespace that
    // CreateNamespace=true ensures); its Deployment is not applied again.
    assert_eq!(Stats::get(&stats.resumed), 2, "{stats:?}");
    assert_eq!(Stats::get(&stats.renders), 1, "{stats:?}");
    assert_eq!(Stats::get(&stats.syncs), 1, "{stats:?}");
    let applies = Stats::get(&stats.applies);
    assert!((1..=2).contains(&applies), "{stats:?}");
    for n in names {
        env.wait_app(n, "Synced", 20, synced_healthy).await;
    }
    second.abort();
    env.shutdown().await;
}
