//! Helm v4 (the real Helm engine through helm-python-sdk) installs, upgrades, rolls back and
//! uninstalls a chart on the embedded cluster, waiting for readiness with its kstatus watcher.
//! Needs `$FERRY_VENV` (default `$HOME/.cache/ferry/venv`) with `helm-python-sdk`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, ListParams};

fn python() -> PathBuf {
    let venv = std::env::var("FERRY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/ferry/venv")
        });
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} not found: create the venv with scripts/test.sh (helm-python-sdk is required)",
        py.display()
    );
    py
}

fn helm(kubeconfig: &std::path::Path, action: &str, values: Option<&str>) -> serde_json::Value {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cmd = Command::new(python());
    cmd.arg(fixtures.join("helm_step.py"))
        .arg(kubeconfig)
        .arg(fixtures.join("webapp"))
        .arg(action)
        .arg("demo");
    if let Some(v) = values {
        cmd.arg(v);
    }
    let out = cmd.output().expect("run helm_step.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helm {action} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("helm {action} printed invalid JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_upgrade_rollback_uninstall() {
    let c = common::start().await;
    let kc = c.kubeconfig.clone();
    let client = common::kube_client(&kc).await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let svcs: Api<Service> = Api::namespaced(client, "default");

    // install waits (kstatus watcher) until the Deployment is ready.
    let rel = tokio::task::spawn_blocking({
        let kc = kc.clone();
        move || helm(&kc, "install", None)
    })
    .await
    .expect("join");
    assert_eq!(
        (rel["revision"].as_i64(), rel["status"].as_str()),
        (Some(1), Some("deployed")),
        "{rel}"
    );
    let d = serde_json::to_value(deploys.get("demo-web").await.expect("deployment installed"))
        .expect("json");
    assert_eq!(
        (
            d.pointer("/status/readyReplicas"),
            d.pointer("/status/availableReplicas")
        ),
        (Some(&2.into()), Some(&2.into())),
        "{d}"
    );
    assert_eq!(
        d.pointer("/metadata/labels/app.kubernetes.io~1managed-by")
            .and_then(|v| v.as_str()),
        Some("Helm")
    );
    assert_eq!(
        cms.get("demo-config")
            .await
            .expect("configmap")
            .data
            .expect("data")["MESSAGE"],
        "hello"
    );
    let svc = serde_json::to_value(svcs.get("demo-web").await.expect("service")).expect("json");
    assert!(
        svc.pointer("/spec/clusterIP")
            .and_then(|v| v.as_str())
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "{svc}"
    );
    let managers: Vec<String> = d["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str().map(String::from))
        .collect();
    assert!(
        managers.iter().any(|m| m == "python" || m == "helm"),
        "Helm applies server-side: {managers:?}"
    );

    // upgrade
    let rel = tokio::task::spawn_blocking({
        let kc = kc.clone();
        move || {
            helm(
                &kc,
                "upgrade",
                Some(r#"{"replicaCount":3,"image":{"tag":"1.28"},"message":"v2"}"#),
            )
        }
    })
    .await
    .expect("join");
    assert_eq!(
        (rel["revision"].as_i64(), rel["status"].as_str()),
        (Some(2), Some("deployed")),
        "{rel}"
    );
    let d = serde_json::to_value(deploys.get("demo-web").await.expect("deployment")).expect("json");
    assert_eq!(d.pointer("/spec/replicas"), Some(&3.into()));
    assert_eq!(
        d.pointer("/status/readyReplicas"),
        Some(&3.into()),
        "upgrade waited for readiness: {d}"
    );
    assert_eq!(
        d.pointer("/spec/template/spec/containers/0/image")
            .and_then(|v| v.as_str()),
        Some("nginx:1.28")
    );
    assert_eq!(
        cms.get("demo-config")
            .await
            .expect("configmap")
            .data
            .expect("data")["MESSAGE"],
        "v2"
    );
    let records = secrets
        .list(&ListParams::default().labels("owner=helm,name=demo"))
        .await
        .expect("release records");
    assert_eq!(records.items.len(), 2);

    // rollback to revision 1
    let rel = tokio::task::spawn_blocking({
        let kc = kc.clone();
        move || helm(&kc, "rollback", None)
    })
    .await
    .expect("join");
    assert_eq!(
        (rel["revision"].as_i64(), rel["status"].as_str()),
        (Some(3), Some("deployed")),
        "{rel}"
    );
    let d = serde_json::to_value(deploys.get("demo-web").await.expect("deployment")).expect("json");
    assert_eq!(d.pointer("/spec/replicas"), Some(&2.into()));
    assert_eq!(
        d.pointer("/spec/template/spec/containers/0/image")
            .and_then(|v| v.as_str()),
        Some("nginx:1.27")
    );
    assert_eq!(
        cms.get("demo-config")
            .await
            .expect("configmap")
            .data
            .expect("data")["MESSAGE"],
        "hello"
    );

    // uninstall removes everything, including the release records.
    let rel = tokio::task::spawn_blocking({
        let kc = kc.clone();
        move || helm(&kc, "uninstall", None)
    })
    .await
    .expect("join");
    assert_eq!(rel["release"]["status"], "uninstalled", "{rel}");
    assert!(deploys.get_opt("demo-web").await.expect("get").is_none());
    assert!(cms.get_opt("demo-config").await.expect("get").is_none());
    assert!(svcs.get_opt("demo-web").await.expect("get").is_none());
    let records = secrets
        .list(&ListParams::default().labels("owner=helm"))
        .await
        .expect("list");
    assert!(records.items.is_empty(), "release records remain");
    // The Deployment's ReplicaSets and Pods are garbage-collected.
    let c2 = c.kubeconfig.clone();
    let pods: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(common::kube_client(&c2).await, "default");
    for _ in 0..100 {
        if pods
            .list(&ListParams::default().labels("app.kubernetes.io/instance=demo"))
            .await
            .expect("pods")
            .items
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("pods of the uninstalled release were not garbage-collected");
}
