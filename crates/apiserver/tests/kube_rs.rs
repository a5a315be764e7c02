//! kube-rs as a client: watchers/reflectors see every change, a controller reconciles, and
//! watches resume from a resourceVersion across a server restart.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};

fn cm(name: &str, v: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.into());
    c.data = Some([("v".to_string(), v.to_string())].into());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_sees_every_change() {
    let c = common::start().await;
    let client = common::kube_client(&c.kubeconfig).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let (reader, writer) = reflector::store::<ConfigMap>();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let seen2 = seen.clone();
    let stream = reflector(
        writer,
        watcher(api.clone(), watcher::Config::default().labels("set=r")),
    )
    .applied_objects()
    .for_each(move |o| {
        if let Ok(o) = o {
            let v = o
                .data
                .as_ref()
                .and_then(|d| d.get("v").cloned())
                .unwrap_or_default();
            seen2
                .lock()
                .unwrap()
                .push((o.metadata.name.clone().unwrap_or_default(), v));
        }
        futures_util::future::ready(())
    });
    let task = tokio::spawn(stream);
    reader.wait_until_ready().await.expect("reflector ready");
    for i in 0..20 {
        let mut o = cm(&format!("r{i}"), "0");
        o.metadata.labels = Some([("set".to_string(), "r".to_string())].into());
        api.create(&PostParams::default(), &o)
            .await
            .expect("create");
    }
    for i in 0..20 {
        let p = serde_json::json!({"data": {"v": "1"}});
        api.patch(&format!("r{i}"), &PatchParams::default(), &Patch::Merge(&p))
            .await
            .expect("patch");
    }
    for i in 0..5 {
        api.delete(&format!("r{i}"), &DeleteParams::default())
            .await
            .expect("delete");
    }
    // An object leaving the selector disappears from the store.
    let p = serde_json::json!({"metadata": {"labels": {"set": "other"}}});
    api.patch("r5", &PatchParams::default(), &Patch::Merge(&p))
        .await
        .expect("relabel");
    common::eventually(Duration::from_secs(10), || {
        let state = reader.state();
        (state.len() == 14
            && state
                .iter()
                .all(|o| o.data.as_ref().and_then(|d| d.get("v")).map(String::as_str) == Some("1")))
        .then_some(())
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    for i in 0..20 {
        assert!(
            seen.contains(&(format!("r{i}"), "0".into())),
            "missed creation of r{i}"
        );
        assert!(
            seen.contains(&(format!("r{i}"), "1".into())),
            "missed update of r{i}"
        );
    }
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_reconciles_and_server_side_apply_works() {
    let c = common::start().await;
    let client = common::kube_client(&c.kubeconfig).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // A controller that mirrors data.v into an annotation through server-side apply.
    let ctrl_api = api.clone();
    let ctrl = kube::runtime::Controller::new(api.clone(), watcher::Config::default())
        .run(
            move |obj: std::sync::Arc<ConfigMap>, _ctx: std::sync::Arc<()>| {
                let api = ctrl_api.clone();
                async move {
                    let v = obj.data.as_ref().and_then(|d| d.get("v").cloned()).unwrap_or_default();
                    let name = obj.metadata.name.clone().unwrap_or_default();
                    let patch = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "annotations": {"mirrored": v}}});
                    api.patch(&name, &PatchParams::apply("mirror").force(), &Patch::Apply(&patch)).await?;
                    Ok::<_, kube::Error>(kube::runtime::controller::Action::await_change())
                }
            },
            |_obj, _err: &kube::Error, _ctx| kube::runtime::controller::Action::requeue(Duration::from_millis(200)),
            std::sync::Arc::new(()),
        )
        .for_each(|_| futures_util::future::ready(()));
    let task = tokio::spawn(ctrl);
    api.create(&PostParams::default(), &cm("m1", "a"))
        .await
        .expect("create");
    let api2 = api.clone();
    let wait_for = |want: &'static str| {
        let api = api2.clone();
        async move {
            for _ in 0..100 {
                let o = api.get("m1").await.expect("get");
                if o.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("mirrored"))
                    .map(String::as_str)
                    == Some(want)
                {
                    return o;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("controller did not reconcile to {want}");
        }
    };
    let o = wait_for("a").await;
    let managers: Vec<String> = o
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"mirror".to_string()), "{managers:?}");
    api.patch(
        "m1",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"v": "b"}})),
    )
    .await
    .expect("patch");
    wait_for("b").await;
    task.abort();

    // Server-side apply of a Deployment through kube-rs, with a conflict for another manager.
    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    let d = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d1"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d1"}}, "template": {"metadata": {"labels": {"app": "d1"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
    let created = deploys
        .patch("d1", &PatchParams::apply("ferry-test"), &Patch::Apply(&d))
        .await
        .expect("apply");
    assert_eq!(created.metadata.generation, Some(1));
    let mut d2 = d.clone();
    d2["spec"]["replicas"] = serde_json::json!(3);
    let err = deploys
        .patch(
            "d1",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&d2),
        )
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => assert_eq!(s.code, 409, "{s:?}"),
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_from_resource_version_after_restart() {
    let mut c = common::start().await;
    let client = common::kube_client(&c.kubeconfig).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("before", "1"))
        .await
        .expect("create");
    let rv = api
        .list(&Default::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    api.create(&PostParams::default(), &cm("gap-1", "1"))
        .await
        .expect("create");
    api.patch(
        "before",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"v": "2"}})),
    )
    .await
    .expect("patch");
    let addr = c.handle().addr();
    c.handle.take().expect("handle").shutdown().await;

    // Restart on the same data directory and port.
    let mut cfg = apiserver::Config::new(c.dir.path().join("data"));
    cfg.listen = addr;
    let handle = apiserver::Server::start(cfg).await.expect("restart");
    handle.write_kubeconfig(&c.kubeconfig).expect("kubeconfig");
    let client = common::kube_client(&c.kubeconfig).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut got = Vec::new();
    while got.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("watch stalled")
            .expect("stream ended")
        {
            Ok(WatchEvent::Added(o)) => {
                got.push(format!("ADDED {}", o.metadata.name.unwrap_or_default()))
            }
            Ok(WatchEvent::Modified(o)) => {
                got.push(format!("MODIFIED {}", o.metadata.name.unwrap_or_default()))
            }
            Ok(WatchEvent::Bookmark(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        got,
        vec!["ADDED gap-1".to_string(), "MODIFIED before".to_string()]
    );
    // A resourceVersion older than the retained history yields 410 Gone.
    let mut small = apiserver::Config::new(c.dir.path().join("data2"));
    small.history = 5;
    let h2 = apiserver::Server::start(small).await.expect("start small");
    let kc2 = c.dir.path().join("kc2");
    h2.write_kubeconfig(&kc2).expect("kc2");
    let api2: Api<ConfigMap> = Api::namespaced(common::kube_client(&kc2).await, "default");
    for i in 0..10 {
        api2.create(&PostParams::default(), &cm(&format!("x{i}"), "1"))
            .await
            .expect("create");
    }
    let mut s2 = api2
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .expect("watch")
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), s2.next())
        .await
        .expect("stalled")
    {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410, "{e:?}"),
        Some(Err(kube::Error::Api(e))) => assert_eq!(e.code, 410, "{e:?}"),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    handle.shutdown().await;
    h2.shutdown().await;
}
