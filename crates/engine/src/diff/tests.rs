use super::*;
use serde_json::json;

fn desired_deploy() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}]}]}}}
    })
}

/// Live as the API server returns it: defaults, status and server metadata added.
fn live_deploy() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web", "labels": {"app": "web"},
            "uid": "0b6f", "resourceVersion": "812", "generation": 1,
            "creationTimestamp": "2026-11-23T01:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "managedFields": [
                {"manager": "ferry", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:replicas": {}}}},
                {"manager": "hpa", "operation": "Update", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                     "k:{\"name\":\"web\"}": {"f:resources": {}}}}}}}}
            ]},
        "spec": {"replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                    "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                    "resources": {"limits": {"cpu": "1"}},
                    "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}},
        "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2}
    })
}

#[test]
fn desired_fields_ignore_server_defaults() {
    let r = diff_desired_fields(
        &desired_deploy(),
        &live_deploy(),
        &IgnoreDifferences::none(),
    );
    assert!(
        !r.modified,
        "{}",
        unified_yaml_diff(Some(&r.normalized_live), Some(&r.predicted_live), "x")
    );
    assert!(r.normalized_live.get("status").is_none());
    assert!(
        r.normalized_live
            .pointer("/metadata/managedFields")
            .is_none()
    );
    assert!(r.normalized_live.pointer("/metadata/uid").is_none());
}

#[test]
fn desired_fields_detect_a_change_and_render_it() {
    let mut d = desired_deploy();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let r = diff_desired_fields(&d, &live_deploy(), &IgnoreDifferences::none());
    assert!(r.modified);
    let text = unified_yaml_diff(
        Some(&r.normalized_live),
        Some(&r.predicted_live),
        "apps/Deployment web/web",
    );
    assert!(
        text.starts_with("--- live/apps/Deployment web/web\n+++ desired/apps/Deployment web/web\n"),
        "{text}"
    );
    assert!(
        text.contains("\n-      - image: nginx:1.27\n+      - image: nginx:1.28\n"),
        "{text}"
    );
    // context only around the change: replicas is far away
    assert!(!text.contains("replicas"), "{text}");
}

#[test]
fn server_side_diff_compares_dry_run_with_live() {
    // The dry run returns live with the desired change applied, new resourceVersion etc.
    let mut predicted = live_deploy();
    predicted["metadata"]["resourceVersion"] = json!("813");
    predicted["metadata"]["generation"] = json!(2);
    assert!(!diff_server_side(&predicted, &live_deploy(), &IgnoreDifferences::none()).modified);
    predicted["spec"]["replicas"] = json!(5);
    let r = diff_server_side(&predicted, &live_deploy(), &IgnoreDifferences::none());
    assert!(r.modified);
    assert_eq!(r.predicted_live["spec"]["replicas"], json!(5));
    // a field removed from the desired state is visible in a server-side diff
    let mut removed = live_deploy();
    removed["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("resources");
    assert!(diff_server_side(&removed, &live_deploy(), &IgnoreDifferences::none()).modified);
}

#[test]
fn ignore_differences_pointers_jq_and_managers() {
    let mut d = desired_deploy();
    d["spec"]["replicas"] = json!(7);
    let live = live_deploy();
    let rules = IgnoreDifferences::new(&[IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        json_pointers: vec!["/spec/replicas".into()],
        ..Default::default()
    }])
    .unwrap();
    assert!(!diff_desired_fields(&d, &live, &rules).modified);
    // a rule for another kind or name does not apply
    let other = IgnoreDifferences::new(&[IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        name: "api".into(),
        json_pointers: vec!["/spec/replicas".into()],
        ..Default::default()
    }])
    .unwrap();
    assert!(diff_desired_fields(&d, &live, &other).modified);
    // wildcard group/kind, jq with select
    let mut img = desired_deploy();
    img["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:9");
    let jq = IgnoreDifferences::new(&[IgnoreDifference {
        group: "*".into(),
        kind: "*".into(),
        jq_path_expressions: vec![
            ".spec.template.spec.containers[] | select(.name == \"web\") | .image".into(),
        ],
        ..Default::default()
    }])
    .unwrap();
    assert!(!diff_desired_fields(&img, &live, &jq).modified);
    // managedFieldsManagers: fields owned by "ferry" (spec.replicas) are ignored
    let mgr = IgnoreDifferences::new(&[IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        managed_fields_managers: vec!["ferry".into()],
        ..Default::default()
    }])
    .unwrap();
    assert!(!diff_desired_fields(&d, &live, &mgr).modified);
    let mut predicted = live.clone();
    predicted["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "2"}});
    let hpa = IgnoreDifferences::new(&[IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        managed_fields_managers: vec!["hpa".into()],
        ..Default::default()
    }])
    .unwrap();
    assert!(!diff_server_side(&predicted, &live, &hpa).modified);
    assert!(diff_server_side(&predicted, &live, &IgnoreDifferences::none()).modified);
}

#[test]
fn jq_subset_parsing_and_errors() {
    let ok = [
        ".metadata.annotations[\"example.com/x\"]",
        ".spec.template.spec.containers[0].image",
        ".spec.rules[]?",
        ".data.\"a.b\"",
        ".spec.containers[-1]",
    ];
    assert!(JqPath::parse(ok[0]).is_ok());
    assert!(JqPath::parse(ok[1]).is_ok());
    assert!(JqPath::parse(ok[2]).is_err(), "`?` is not in the subset");
    assert!(JqPath::parse(ok[3]).is_ok());
    assert!(JqPath::parse(ok[4]).is_ok());
    let err = IgnoreDifferences::new(&[IgnoreDifference {
        kind: "ConfigMap".into(),
        jq_path_expressions: vec!["map(.x)".into()],
        ..Default::default()
    }])
    .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "ignoreDifferences[0].jqPathExpressions: unsupported expression \"map(.x)\""
        ),
        "{err}"
    );
    let err = IgnoreDifferences::new(&[IgnoreDifference {
        kind: "ConfigMap".into(),
        json_pointers: vec!["spec".into()],
        ..Default::default()
    }])
    .unwrap_err();
    assert!(matches!(err, DiffError::InvalidPointer { rule: 0, .. }));

    let mut v = json!({"metadata": {"annotations": {"example.com/x": "1", "keep": "2"}},
        "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
        "data": {"a.b": "1"}});
    JqPath::parse(ok[0]).unwrap().delete(&mut v);
    JqPath::parse(".spec.containers[] | select(.name == \"b\")")
        .unwrap()
        .delete(&mut v);
    JqPath::parse(".data.\"a.b\"").unwrap().delete(&mut v);
    JqPath::parse(".spec.containers[-1].image")
        .unwrap()
        .delete(&mut v);
    assert_eq!(
        v,
        json!({"metadata": {"annotations": {"keep": "2"}},
        "spec": {"containers": [{"name": "a"}]}, "data": {}})
    );
}

#[test]
fn secrets_are_normalized_and_hidden() {
    let desired = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"password": "hunter2", "same": "x"}});
    let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "uid": "1"},
        "type": "Opaque", "data": {"password": "aHVudGVyMg==", "same": "eA=="}});
    assert!(!diff_desired_fields(&desired, &live, &IgnoreDifferences::none()).modified);
    let changed = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"password": "hunter3", "same": "x"}});
    let r = diff_desired_fields(&changed, &live, &IgnoreDifferences::none());
    assert!(r.modified);
    let (d, l) = hide_secret_data(Some(&r.predicted_live), Some(&r.normalized_live));
    let text = unified_yaml_diff(l.as_ref(), d.as_ref(), "/Secret s");
    assert!(
        !text.contains("aHVudGVy") && !text.contains("hunter"),
        "{text}"
    );
    assert!(
        text.contains("-  password: +++++++++\n+  password: ++++++++\n"),
        "{text}"
    );
    assert!(text.contains("   same: ++++++++\n"), "{text}");
    assert_eq!(base64(b"hunter2"), "aHVudGVyMg==");
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"ab"), "YWI=");
}

#[test]
fn create_and_delete() {
    let r = diff_create_or_delete(Some(&desired_deploy()), None, &IgnoreDifferences::none());
    assert!(r.modified && r.normalized_live.is_null());
    let text = unified_yaml_diff(None, Some(&r.predicted_live), "apps/Deployment web/web");
    assert!(text.contains("+kind: Deployment\n"), "{text}");
    let r = diff_create_or_delete(None, Some(&live_deploy()), &IgnoreDifferences::none());
    assert!(r.modified && r.predicted_live.is_null());
    assert_eq!(
        unified_yaml_diff(Some(&json!({"a": 1})), Some(&json!({"a": 1})), "x"),
        ""
    );
    assert_eq!(
        resource_diff_header(&live_deploy()),
        "===== apps/Deployment web/web ======"
    );
}

#[test]
fn merge_lists_by_key_and_position() {
    let mut live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "args": ["a", "b"], "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]});
    merge_into(
        &mut live,
        &json!({"env": [{"name": "B", "value": "3"}], "args": ["c"],
        "tolerations": [{"operator": "Exists"}]}),
    );
    assert_eq!(
        live,
        json!({"env": [{"name": "B", "value": "3"}], "args": ["c"],
        "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]})
    );
}

#[test]
fn apply_like_merge_rules() {
    let live = json!({"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "x",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m"}}}],
        "affinity": {}}}}});
    let desired = json!({"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "x", "env": null,
            "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}, "requests": {"cpu": 0.1}}}],
        "nodeSelector": {}, "tolerations": [], "imagePullSecrets": null, "affinity": {}}}}});
    let r = diff_desired_fields(&desired, &live, &IgnoreDifferences::none());
    assert!(
        !r.modified,
        "{}",
        unified_yaml_diff(Some(&r.normalized_live), Some(&r.predicted_live), "x")
    );
    let mut more = desired.clone();
    more["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("2");
    assert!(diff_desired_fields(&more, &live, &IgnoreDifferences::none()).modified);
    // quantities are only compared by value in quantity maps
    let env_live = json!({"env": [{"name": "A", "value": "1000m"}]});
    let env_desired = json!({"env": [{"name": "A", "value": "1"}]});
    assert!(diff_desired_fields(&env_desired, &env_live, &IgnoreDifferences::none()).modified);
    assert_eq!(parse_quantity(&json!("1.5Gi")), Some(1.5 * 1024f64.powi(3)));
    assert_eq!(parse_quantity(&json!("2e3")), Some(2000.0));
    assert_eq!(parse_quantity(&json!("abc")), None);
}

#[test]
fn respect_ignore_differences_keeps_live_values() {
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:live"}]}}}});
    let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:git"}]}}}});
    let rules = IgnoreDifferences::new(&[IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        json_pointers: vec!["/spec/replicas".into()],
        ..Default::default()
    }])
    .unwrap();
    let t = respect_ignore_differences(&desired, &live, &rules);
    assert_eq!(t["spec"]["replicas"], json!(5));
    assert_eq!(
        t["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("nginx:git")
    );
    // a field ignored but absent live is dropped from the target
    let mut no_replicas = live.clone();
    no_replicas["spec"]
        .as_object_mut()
        .unwrap()
        .remove("replicas");
    let t = respect_ignore_differences(&desired, &no_replicas, &rules);
    assert!(t["spec"].get("replicas").is_none());
}

#[test]
fn webhook_mutations_are_reverted() {
    // live: ferry applied image + replicas; a webhook injected a sidecar and an annotation.
    let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"injected": "yes"}, "managedFields": [
            {"manager": "ferry", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {
                "f:spec": {"f:replicas": {}, "f:paused": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}}}]},
        "spec": {"replicas": 2, "paused": false, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27"}, {"name": "proxy", "image": "envoy:1"}]}}}});
    // the dry run of the new desired state: webhook mutated again (newer sidecar), image changed,
    // `paused` no longer in the desired state.
    let predicted = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"injected": "again"}, "managedFields": [
            {"manager": "ferry", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}}}]},
        "spec": {"replicas": 2, "paused": false, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.28"}, {"name": "proxy", "image": "envoy:2"}]}}}});
    let r =
        diff_server_side_without_mutations(&predicted, &live, "ferry", &IgnoreDifferences::none());
    assert!(r.modified);
    assert_eq!(
        r.predicted_live["spec"]["template"]["spec"]["containers"],
        json!([
        {"name": "web", "image": "nginx:1.28"}, {"name": "proxy", "image": "envoy:1"}])
    );
    assert_eq!(
        r.predicted_live["metadata"]["annotations"]["injected"],
        json!("yes")
    );
    assert!(
        r.predicted_live["spec"].get("paused").is_none(),
        "disowned field removed"
    );
    // the plain server-side diff sees the webhook changes too
    let plain = diff_server_side(&predicted, &live, &IgnoreDifferences::none());
    assert_eq!(
        plain.predicted_live["metadata"]["annotations"]["injected"],
        json!("again")
    );
    // nothing but webhook noise: in sync
    let mut same = predicted.clone();
    same["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    same["spec"]["paused"] = json!(false);
    same["metadata"]["managedFields"] = live["metadata"]["managedFields"].clone();
    assert!(
        !diff_server_side_without_mutations(&same, &live, "ferry", &IgnoreDifferences::none())
            .modified
    );
    // no entry for the manager: plain server-side diff
    assert_eq!(
        diff_server_side_without_mutations(
            &predicted,
            &live,
            "someone-else",
            &IgnoreDifferences::none()
        ),
        plain
    );
}

#[test]
fn whole_app_diff_text() {
    let mut d = desired_deploy();
    d["spec"]["replicas"] = json!(3);
    let changed = diff_desired_fields(&d, &live_deploy(), &IgnoreDifferences::none());
    let same = diff_desired_fields(
        &desired_deploy(),
        &live_deploy(),
        &IgnoreDifferences::none(),
    );
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "web"},
        "stringData": {"token": "t0p-s3cret"}});
    let created = diff_create_or_delete(Some(&secret), None, &IgnoreDifferences::none());
    let text = render_app_diff(&[changed, same, created]);
    assert!(
        text.starts_with(
            "===== apps/Deployment web/web ======\n--- live/apps/Deployment web/web\n"
        ),
        "{text}"
    );
    assert!(text.contains("-  replicas: 2\n+  replicas: 3\n"), "{text}");
    assert!(text.contains("===== /Secret web/s ======\n"), "{text}");
    assert!(text.contains("+  token: ++++++++\n"), "{text}");
    assert!(
        !text.contains("dDBwLXMzY3JldA") && !text.contains("t0p"),
        "{text}"
    );
    assert_eq!(render_app_diff(&[]), "");
}
