//! `limit`/`continue` paging: every page comes from the snapshot at the first page's
//! resourceVersion; an expired token answers `410 Expired`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};

async fn setup(c: &Cluster) -> Api<ConfigMap> {
    let client = kube_client(&c.kubeconfig).await;
    let ns: Api<Namespace> = Api::all(client.clone());
    let mut n = Namespace::default();
    n.metadata.name = Some("p".into());
    ns.create(&PostParams::default(), &n)
        .await
        .expect("namespace");
    let cms: Api<ConfigMap> = Api::namespaced(client, "p");
    for i in 0..5 {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(format!("cm-{i}"));
        cm.metadata.labels = Some(BTreeMap::from([("set".to_string(), "a".to_string())]));
        cm.data = Some(BTreeMap::from([("v".to_string(), "old".to_string())]));
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    cms
}

/// The test's ConfigMaps (each namespace also gets `kube-root-ca.crt`).
fn lp() -> ListParams {
    ListParams::default().labels("set=a")
}

fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_a_snapshot_of_the_first_page() {
    let c = start().await;
    let cms = setup(&c).await;
    let first = cms.list(&lp().limit(2)).await.expect("page 1");
    assert_eq!(names(&first), ["cm-0", "cm-1"]);
    assert_eq!(first.metadata.remaining_item_count, Some(3));
    let token = first.metadata.continue_.clone().expect("continue token");
    let rv = first.metadata.resource_version.clone();

    // Changes after the first page are not visible to the rest of this list.
    cms.delete("cm-3", &DeleteParams::default())
        .await
        .expect("delete");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("cm-9".into());
    cm.metadata.labels = Some(BTreeMap::from([("set".to_string(), "a".to_string())]));
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    cms.patch(
        "cm-4",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"v": "new"}})),
    )
    .await
    .expect("patch");

    let second = cms
        .list(&lp().limit(2).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(names(&second), ["cm-2", "cm-3"]);
    assert_eq!(second.metadata.resource_version, rv);
    let token = second.metadata.continue_.clone().expect("continue token");
    let third = cms
        .list(&lp().limit(2).continue_token(&token))
        .await
        .expect("page 3");
    assert_eq!(names(&third), ["cm-4"]);
    assert_eq!(
        third.items[0]
            .data
            .as_ref()
            .and_then(|d| d.get("v"))
            .map(String::as_str),
        Some("old")
    );
    assert!(third.metadata.continue_.as_deref().unwrap_or("").is_empty());

    // A fresh list sees the changes; a token used with other selectors is refused.
    let fresh = cms.list(&lp()).await.expect("list");
    assert_eq!(names(&fresh), ["cm-0", "cm-1", "cm-2", "cm-4", "cm-9"]);
    let first = cms.list(&lp().limit(1)).await.expect("page");
    let token = first.metadata.continue_.clone().expect("token");
    let err = cms
        .list(&lp().limit(1).labels("set=b").continue_token(&token))
        .await
        .expect_err("mismatched token");
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 400),
        "{err:?}"
    );

    // kubectl pages with --chunk-size and still prints every object.
    let out = kubectl(
        &c,
        &[
            "-n",
            "p",
            "get",
            "cm",
            "-l",
            "set=a",
            "--chunk-size=2",
            "-o",
            "name",
        ],
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("configmap/cm-"))
            .count(),
        5,
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_continue_tokens_get_410() {
    let c = start_with(|cfg| cfg.list_snapshot_ttl = Duration::from_millis(500)).await;
    let cms = setup(&c).await;
    let first = cms.list(&lp().limit(2)).await.expect("page 1");
    let token = first.metadata.continue_.clone().expect("continue token");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let err = cms
        .list(&lp().limit(2).continue_token(&token))
        .await
        .expect_err("expired");
    match err {
        kube::Error::Api(e) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
}
