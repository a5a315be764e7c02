//! End-to-end use of the engine as the controller will use it: a rendered Helm release
//! upgrade compared with a live cluster state, planned, and assessed.

use engine::diff::{
    IgnoreDifference, IgnoreDifferences, diff_create_or_delete, diff_desired_fields,
    unified_yaml_diff,
};
use engine::health::{HealthOptions, HealthStatusCode, ManagedResource, app_health};
use engine::object;
use engine::sync::hooks::SyncPhase;
use engine::sync::options::SyncOptions;
use engine::sync::plan::{PlanOptions, Rendered, TaskAction, plan_sync, reconcile};
use engine::sync::status::{Compared, SyncStatusCode, app_sync_status, resource_sync_status};
use engine::sync::tracking::Tracking;
use serde_json::{Value, json};

fn scope(_group: &str, kind: &str) -> Option<bool> {
    Some(!matches!(
        kind,
        "Namespace" | "ClusterRole" | "ClusterRoleBinding"
    ))
}

/// What `ferry template` would output for the new chart version.
fn rendered() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "podinfo",
            "labels": {"app.kubernetes.io/name": "podinfo"}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "podinfo"},
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "podinfo"},
                "ports": [{"name": "http", "port": 9898, "targetPort": "http", "protocol": "TCP"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "podinfo",
            "labels": {"app.kubernetes.io/name": "podinfo"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "podinfo"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": "podinfo"}},
                    "spec": {"serviceAccountName": "podinfo", "nodeSelector": {}, "tolerations": [],
                        "containers": [{"name": "podinfo", "image": "ghcr.io/stefanprodan/podinfo:6.7.1",
                            "ports": [{"name": "http", "containerPort": 9898, "protocol": "TCP"}],
                            "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "1m", "memory": "16Mi"}}}]}}}}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "podinfo"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "minReplicas": 2, "maxReplicas": 4}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "podinfo-migrate",
            "annotations": {"helm.sh/hook": "pre-upgrade,pre-install", "helm.sh/hook-delete-policy": "hook-succeeded"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}}}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "podinfo-grpc-test",
            "annotations": {"helm.sh/hook": "test"}}, "spec": {"containers": [{"name": "t", "image": "curl"}]}}),
    ]
}

/// The cluster after the previous sync: server defaults, status, and one object the new chart
/// no longer renders.
fn live(t: &Tracking) -> Vec<Value> {
    let mut objs = vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "podinfo", "namespace": "demo",
            "uid": "1", "resourceVersion": "10", "creationTimestamp": "2026-11-20T10:00:00Z",
            "labels": {"app.kubernetes.io/name": "podinfo"}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "podinfo", "namespace": "demo", "uid": "2"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.17", "clusterIPs": ["10.96.0.17"],
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                "internalTrafficPolicy": "Cluster",
                "selector": {"app.kubernetes.io/name": "podinfo"},
                "ports": [{"name": "http", "port": 9898, "targetPort": "http", "protocol": "TCP"}]},
            "status": {"loadBalancer": {}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "podinfo", "namespace": "demo",
            "uid": "3", "generation": 4, "labels": {"app.kubernetes.io/name": "podinfo"},
            "annotations": {"deployment.kubernetes.io/revision": "3"}},
            "spec": {"replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "podinfo"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": "podinfo"}},
                    "spec": {"serviceAccountName": "podinfo", "serviceAccount": "podinfo", "restartPolicy": "Always",
                        "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "securityContext": {},
                        "terminationGracePeriodSeconds": 30,
                        "containers": [{"name": "podinfo", "image": "ghcr.io/stefanprodan/podinfo:6.7.0",
                            "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "ports": [{"name": "http", "containerPort": 9898, "protocol": "TCP"}],
                            "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "1m", "memory": "16Mi"}}}]}}},
            "status": {"observedGeneration": 4, "replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2,
                "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]}}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "podinfo", "namespace": "demo"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "minReplicas": 2, "maxReplicas": 4,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
            "status": {"conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                "message": "recommended size matches current size"}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "podinfo-redis", "namespace": "demo",
            "annotations": {"argocd.argoproj.io/sync-wave": "-1"}}, "data": {"redis.conf": "maxmemory 64mb"}}),
    ];
    for o in objs.iter_mut() {
        t.mark(o);
    }
    objs
}

#[test]
fn upgrade_flow() {
    let tracking = Tracking::annotation("podinfo", "demo");
    let live = live(&tracking);
    // `reconcile` puts the tracking id on the desired objects itself.
    let desired = rendered();
    let rendered = Rendered::from_render::<std::convert::Infallible>(Ok(desired)).expect("ok");
    let rec = reconcile(&rendered, &live, &tracking, &scope);
    assert_eq!(
        rec.hooks.len(),
        1,
        "the test pod is ignored, the migration job is a hook"
    );
    assert_eq!(rec.resources.len(), 5);

    // Compare.
    let ignore = IgnoreDifferences::new(&[IgnoreDifference {
        group: "apps".into(),
        kind: "Deployment".into(),
        json_pointers: vec!["/spec/replicas".into()],
        ..Default::default()
    }])
    .expect("valid rules");
    let mut compared = Vec::new();
    let mut text = String::new();
    for p in &rec.resources {
        let r = match (&p.target, &p.live) {
            (Some(t), Some(l)) => diff_desired_fields(t, l, &ignore),
            (t, l) => diff_create_or_delete(t.as_ref(), l.as_ref(), &ignore),
        };
        if r.modified {
            let o = p.target.as_ref().or(p.live.as_ref()).expect("one side");
            let label = format!(
                "{}/{} {}",
                object::group(o),
                object::kind(o),
                object::name(o)
            );
            text.push_str(&unified_yaml_diff(
                Some(&r.normalized_live).filter(|v| !v.is_null()),
                Some(&r.predicted_live).filter(|v| !v.is_null()),
                &label,
            ));
        }
        compared.push((p, r.modified));
    }
    let statuses: Vec<Option<SyncStatusCode>> = compared
        .iter()
        .map(|(p, m)| {
            resource_sync_status(&Compared {
                target: p.target.as_ref(),
                live: p.live.as_ref(),
                modified: *m,
            })
        })
        .collect();
    // ServiceAccount, Service and HPA are in sync despite server defaults; the Deployment's
    // image changed; the ConfigMap is extraneous.
    assert_eq!(
        statuses,
        vec![
            Some(SyncStatusCode::Synced),
            Some(SyncStatusCode::Synced),
            Some(SyncStatusCode::OutOfSync),
            Some(SyncStatusCode::Synced),
            Some(SyncStatusCode::OutOfSync),
        ]
    );
    let all: Vec<Compared> = compared
        .iter()
        .map(|(p, m)| Compared {
            target: p.target.as_ref(),
            live: p.live.as_ref(),
            modified: *m,
        })
        .collect();
    assert_eq!(app_sync_status(&all), SyncStatusCode::OutOfSync);
    assert!(text.contains("-      - image: ghcr.io/stefanprodan/podinfo:6.7.0\n+      - image: ghcr.io/stefanprodan/podinfo:6.7.1\n"), "{text}");
    assert!(
        text.contains("--- live//ConfigMap podinfo-redis\n+++ desired//ConfigMap podinfo-redis\n"),
        "{text}"
    );
    assert!(text.contains("-  redis.conf: maxmemory 64mb\n"), "{text}");

    // Plan.
    let so = SyncOptions::parse(["ServerSideApply=true"]);
    let plan = plan_sync(
        &rec,
        &PlanOptions {
            sync_options: &so,
            prune: true,
            prune_confirmed: false,
            skip_hooks: false,
            resource_filter: None,
            revision: "9f1c2d3e4b5a69788",
            started_at_unix: 1_763_860_000,
            namespace: "demo",
            is_namespaced: &scope,
            live_namespace: None,
            managed_namespace_metadata: None,
            ignore: None,
        },
    );
    let steps: Vec<(SyncPhase, i64, Vec<String>)> = plan
        .steps()
        .into_iter()
        .map(|(p, w, ts)| {
            (
                p,
                w,
                ts.iter()
                    .map(|t| format!("{}:{}", object::kind(t.obj()), object::name(t.obj())))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (
                SyncPhase::PreSync,
                0,
                vec!["Job:podinfo-migrate".to_string()]
            ),
            (
                SyncPhase::Sync,
                -1,
                vec!["ConfigMap:podinfo-redis".to_string()]
            ),
            (
                SyncPhase::Sync,
                0,
                vec![
                    "ServiceAccount:podinfo".to_string(),
                    "Service:podinfo".to_string(),
                    "Deployment:podinfo".to_string(),
                    "HorizontalPodAutoscaler:podinfo".to_string(),
                ]
            ),
        ]
    );
    let prune: Vec<&TaskAction> = plan.prune_tasks().map(|t| &t.action).collect();
    assert_eq!(prune, vec![&TaskAction::Prune]);
    assert!(plan.tasks.iter().all(|t| t.options.server_side_apply()));
    assert_eq!(object::namespace(plan.tasks[0].obj()), "demo");

    // Health while the rollout runs: the Deployment is Progressing, so is the app.
    let managed: Vec<ManagedResource> = rec
        .resources
        .iter()
        .map(|p| ManagedResource {
            target: p.target.as_ref(),
            live: p.live.as_ref(),
        })
        .collect();
    let h = app_health(&managed, &HealthOptions::default(), None);
    assert_eq!(h.status, HealthStatusCode::Progressing);
    assert_eq!(
        h.resources[2].as_ref().map(|s| s.message.as_str()),
        Some("Waiting for rollout to finish: 1 out of 2 new replicas have been updated...")
    );
    assert_eq!(
        h.resources[3].as_ref().map(|s| s.status),
        Some(HealthStatusCode::Healthy)
    );
}

#[test]
fn render_failure_leaves_nothing_to_prune() {
    // The controller holds a render error: it cannot build `Rendered`, hence no
    // reconciliation and no prune candidates exist. Only a successful render can prune.
    let failed: Result<Vec<Value>, String> =
        Err("Error: values.yaml: line 3: mapping values are not allowed".into());
    let rendered = Rendered::from_render(failed);
    assert!(rendered.is_err());
}
