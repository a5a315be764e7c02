//! Basic kubectl round trips against the in-process cluster.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_smoke() {
    let c = start().await;
    let v = kubectl(&c, &["version", "-o", "json"]);
    assert!(v.contains("\"gitVersion\": \"v1.37.0+ferry\""), "{v}");
    let ns = kubectl(&c, &["get", "namespaces"]);
    assert!(
        ns.contains("default") && ns.contains("kube-system") && ns.contains("Active"),
        "{ns}"
    );
}
