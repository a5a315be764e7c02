//! Destinations and projects: a cluster declared by an Argo CD cluster Secret (here the same
//! embedded cluster reached through its URL, token and CA), an unknown destination, and
//! AppProject restrictions with Argo CD's condition texts.

mod runtime_support;

use k8s_openapi::ByteString;
use runtime_support::*;
use serde_json::{Value, json};

fn conditions(a: &Value) -> String {
    a["status"]["conditions"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_secrets_and_app_projects() {
    let env = Env::start().await;
    env.commit("apps/web/all.yaml", &manifests("web", 1, "remote"), "web");
    env.commit(
        "apps/ns/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-extra\n",
        "ns",
    );
    let (url, token, ca) = {
        let h = env.handle.as_ref().expect("cluster");
        (h.url(), h.token().to_string(), h.ca_pem().to_string())
    };
    let ca_b64 = serde_json::to_value(ByteString(ca.into_bytes())).expect("base64");
    let config =
        json!({"bearerToken": token, "tlsClientConfig": {"insecure": false, "caData": ca_b64}});
    env.apply(&json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cluster-remote", "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": "remote", "server": url, "config": config.to_string()}
    }))
    .await;
    let (ctrl, _slot) = env.controller(env.options("data"));

    // 1. A destination by cluster name, reached through the Secret's credentials.
    let mut app = env.app(
        "remote",
        "apps/web",
        "remote-ns",
        json!({"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}),
    );
    app["spec"]["destination"] = json!({"name": "remote", "namespace": "remote-ns"});
    env.apply(&app).await;
    env.wait_app(
        "remote",
        "Synced through the cluster secret",
        60,
        synced_healthy,
    )
    .await;
    assert!(
        env.get("v1", "ConfigMap", "remote-ns", "web")
            .await
            .is_some()
    );

    // 2. Unknown destinations.
    let mut unknown = env.app("nowhere", "apps/web", "x", json!({}));
    unknown["spec"]["destination"] = json!({"name": "nowhere", "namespace": "x"});
    env.apply(&unknown).await;
    let a = env
        .wait_app("nowhere", "InvalidSpecError", 30, |a| {
            conditions(a).contains("InvalidSpecError")
        })
        .await;
    assert!(
        conditions(&a).contains(
            "unable to find destination server: there are no clusters with this name: nowhere"
        ),
        "{}",
        conditions(&a)
    );
    let mut unknown = env.app("far", "apps/web", "x", json!({}));
    unknown["spec"]["destination"] = json!({"server": "https://far.example.com", "namespace": "x"});
    env.apply(&unknown).await;
    let a = env
        .wait_app("far", "InvalidSpecError", 30, |a| {
            conditions(a).contains("InvalidSpecError")
        })
        .await;
    assert!(
        conditions(&a).contains("cluster 'https://far.example.com' has not been configured"),
        "{}",
        conditions(&a)
    );

    // 3. Projects.
    env.apply(&json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "team", "namespace": "argocd"},
        "spec": {"sourceRepos": ["*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}]}
    }))
    .await;
    let mut app = env.app("outside", "apps/web", "other", json!({}));
    app["spec"]["project"] = json!("team");
    env.apply(&app).await;
    let a = env
        .wait_app("outside", "destination not permitted", 30, |a| {
            conditions(a).contains("InvalidSpecError")
        })
        .await;
    assert!(
        conditions(&a).contains("application destination server 'https://kubernetes.default.svc' and namespace 'other' do not match any of the allowed destinations in project 'team'"),
        "{}",
        conditions(&a)
    );
    let mut app = env.app("ghost", "apps/web", "team-a", json!({}));
    app["spec"]["project"] = json!("missing");
    env.apply(&app).await;
    let a = env
        .wait_app("ghost", "missing project", 30, |a| {
            conditions(a).contains("InvalidSpecError")
        })
        .await;
    assert!(
        conditions(&a).contains("Application referencing project missing which does not exist"),
        "{}",
        conditions(&a)
    );
    // A cluster-scoped kind without clusterResourceWhitelist: the sync is refused.
    let mut app = env.app("nsapp", "apps/ns", "team-a", json!({}));
    app["spec"]["project"] = json!("team");
    env.apply(&app).await;
    env.patch_app(
        "nsapp",
        json!({"operation": {"initiatedBy": {"username": "test"}, "sync": {}}}),
    )
    .await;
    let a = env
        .wait_app("nsapp", "sync refused by the project", 30, |a| {
            a["status"]["operationState"]["phase"] == "Failed"
        })
        .await;
    let st = &a["status"]["operationState"];
    assert_eq!(
        st["message"],
        "one or more synchronization tasks are not valid"
    );
    assert_eq!(
        st["syncResult"]["resources"][0]["message"],
        "resource :Namespace is not permitted in project team"
    );
    assert!(env.get("v1", "Namespace", "", "team-extra").await.is_none());

    ctrl.abort();
    env.shutdown().await;
}
