use super::*;
use HealthStatusCode::*;
use serde_json::json;

fn check(name: &str, obj: Value, want: Option<(HealthStatusCode, &str)>) {
    let got = resource_health(&obj);
    let got = got.as_ref().map(|h| (h.status, h.message.as_str()));
    assert_eq!(got, want, "case {name}");
}

fn deploy(generation: i64, spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web", "generation": generation},
        "spec": spec, "status": status})
}

#[test]
fn deployments() {
    let healthy_status = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
        "readyReplicas": 3, "availableReplicas": 3, "conditions": [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ReplicaSet \"web-7c5b9d8f6d\" has successfully progressed."}]});
    let cases = vec![
        (
            "healthy",
            deploy(2, json!({"replicas": 3}), healthy_status.clone()),
            Some((Healthy, "")),
        ),
        (
            "paused",
            deploy(
                2,
                json!({"replicas": 3, "paused": true}),
                healthy_status.clone(),
            ),
            Some((Suspended, "Deployment is paused")),
        ),
        (
            "generation",
            deploy(3, json!({"replicas": 3}), healthy_status.clone()),
            Some((
                Progressing,
                "Waiting for rollout to finish: observed deployment generation less than desired generation",
            )),
        ),
        (
            "deadline",
            deploy(
                2,
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
            ),
            Some((
                Degraded,
                "Deployment \"web\" exceeded its progress deadline",
            )),
        ),
        (
            "updating",
            deploy(
                2,
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1}),
            ),
            Some((
                Progressing,
                "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
            )),
        ),
        (
            "old pods",
            deploy(
                2,
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 5, "updatedReplicas": 3}),
            ),
            Some((
                Progressing,
                "Waiting for rollout to finish: 2 old replicas are pending termination...",
            )),
        ),
        (
            "unavailable",
            deploy(
                2,
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}),
            ),
            Some((
                Progressing,
                "Waiting for rollout to finish: 1 of 3 updated replicas are available...",
            )),
        ),
        // no spec.replicas (not defaulted in an unstructured object): the first check is skipped
        (
            "no replicas",
            deploy(1, json!({}), json!({"observedGeneration": 1})),
            Some((Healthy, "")),
        ),
        (
            "no status",
            deploy(1, json!({"replicas": 1}), json!(null)),
            Some((
                Progressing,
                "Waiting for rollout to finish: observed deployment generation less than desired generation",
            )),
        ),
        (
            "bad type",
            deploy(
                1,
                json!({"replicas": "3"}),
                json!({"observedGeneration": 1}),
            ),
            Some((
                Unknown,
                "failed to convert unstructured Deployment to typed: field spec.replicas: expected integer, found string",
            )),
        ),
        (
            "old gvk",
            json!({"apiVersion": "apps/v1beta2", "kind": "Deployment", "metadata": {"name": "x"}}),
            Some((
                Unknown,
                "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment",
            )),
        ),
    ];
    for (n, o, w) in cases {
        check(n, o, w);
    }
}

#[test]
fn deletion_is_progressing_unless_hook_finalizer() {
    let mut d = deploy(
        1,
        json!({"replicas": 1}),
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}),
    );
    d["metadata"]["deletionTimestamp"] = json!("2026-11-23T02:00:00Z");
    check(
        "deleting",
        d.clone(),
        Some((Progressing, "Pending deletion")),
    );
    d["metadata"]["finalizers"] = json!([HOOK_FINALIZER]);
    check("deleting hook", d, Some((Healthy, "")));
}

fn sts(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
        "spec": spec, "status": status})
}

#[test]
fn statefulsets() {
    let cases = vec![
        (
            "unobserved",
            sts(json!({"replicas": 1}), json!({})),
            Some((
                Progressing,
                "Waiting for statefulset spec update to be observed...",
            )),
        ),
        (
            "not ready",
            sts(
                json!({"replicas": 3}),
                json!({"observedGeneration": 1, "readyReplicas": 1}),
            ),
            Some((Progressing, "Waiting for 2 pods to be ready...")),
        ),
        (
            "partition progressing",
            sts(
                json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}),
            ),
            Some((
                Progressing,
                "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
            )),
        ),
        (
            "partition done",
            sts(
                json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 3}),
            ),
            Some((
                Healthy,
                "partitioned roll out complete: 3 new pods have been updated...",
            )),
        ),
        (
            "ondelete",
            sts(
                json!({"replicas": 2, "updateStrategy": {"type": "OnDelete"}}),
                json!({"observedGeneration": 1, "readyReplicas": 2}),
            ),
            Some((Healthy, "statefulset has 2 ready pods")),
        ),
        (
            "revision rolling",
            sts(
                json!({"replicas": 2, "updateStrategy": {"type": "RollingUpdate"}}),
                json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 1, "currentRevision": "db-1", "updateRevision": "db-2"}),
            ),
            Some((
                Progressing,
                "waiting for statefulset rolling update to complete 1 pods at revision db-2...",
            )),
        ),
        (
            "done",
            sts(
                json!({"replicas": 2, "updateStrategy": {"type": "RollingUpdate"}}),
                json!({"observedGeneration": 1, "readyReplicas": 2, "currentReplicas": 2, "updatedReplicas": 2, "currentRevision": "db-2", "updateRevision": "db-2"}),
            ),
            Some((
                Healthy,
                "statefulset rolling update complete 2 pods at revision db-2...",
            )),
        ),
    ];
    for (n, o, w) in cases {
        check(n, o, w);
    }
}

#[test]
fn daemonsets_and_replicasets() {
    let ds = |generation: i64, strategy: &str, status: Value| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": generation}, "spec": {"updateStrategy": {"type": strategy}}, "status": status})
    };
    check(
        "ds gen",
        ds(2, "RollingUpdate", json!({"observedGeneration": 1})),
        Some((
            Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )),
    );
    check(
        "ds ondelete",
        ds(
            1,
            "OnDelete",
            json!({"observedGeneration": 1, "updatedNumberScheduled": 1, "desiredNumberScheduled": 3}),
        ),
        Some((Healthy, "daemon set 1 out of 3 new pods have been updated")),
    );
    check(
        "ds updating",
        ds(
            1,
            "RollingUpdate",
            json!({"observedGeneration": 1, "updatedNumberScheduled": 1, "desiredNumberScheduled": 3}),
        ),
        Some((
            Progressing,
            "Waiting for daemon set \"agent\" rollout to finish: 1 out of 3 new pods have been updated...",
        )),
    );
    check(
        "ds available",
        ds(
            1,
            "RollingUpdate",
            json!({"observedGeneration": 1, "updatedNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 2}),
        ),
        Some((
            Progressing,
            "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...",
        )),
    );
    check(
        "ds ok",
        ds(
            1,
            "RollingUpdate",
            json!({"observedGeneration": 1, "updatedNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3}),
        ),
        Some((Healthy, "")),
    );

    let rs = |status: Value| {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-1", "generation": 1}, "spec": {"replicas": 2}, "status": status})
    };
    check(
        "rs failure",
        rs(
            json!({"observedGeneration": 1, "conditions": [{"type": "ReplicaFailure", "status": "True", "message": "pods \"web\" is forbidden: exceeded quota"}]}),
        ),
        Some((Degraded, "pods \"web\" is forbidden: exceeded quota")),
    );
    check(
        "rs progressing",
        rs(json!({"observedGeneration": 1, "availableReplicas": 1})),
        Some((
            Progressing,
            "Waiting for rollout to finish: 1 out of 2 new replicas are available...",
        )),
    );
    check(
        "rs gen",
        rs(json!({})),
        Some((
            Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )),
    );
    check(
        "rs ok",
        rs(json!({"observedGeneration": 1, "availableReplicas": 2})),
        Some((Healthy, "")),
    );
}

fn pod(restart: &str, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
        "spec": {"restartPolicy": restart, "containers": [{"name": "web", "image": "nginx"}]}, "status": status})
}

#[test]
fn pods() {
    let running_ready = json!({"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
        {"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-23T01:00:00Z"}}}]});
    let crash = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "web", "ready": false, "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container=web pod=web-0_web(1)"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]});
    let pull = json!({"phase": "Pending", "containerStatuses": [
        {"name": "web", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:nope\""}}},
        {"name": "side", "state": {"waiting": {"reason": "ErrImagePull", "message": "rpc error: not found"}}}]});
    let cases = vec![
        (
            "ready",
            pod("Always", running_ready.clone()),
            Some((Healthy, "")),
        ),
        (
            "crashloop",
            pod("Always", crash.clone()),
            Some((
                Degraded,
                "back-off 1m20s restarting failed container=web pod=web-0_web(1)",
            )),
        ),
        (
            "image pull",
            pod("Always", pull.clone()),
            Some((
                Degraded,
                "Back-off pulling image \"nginx:nope\", rpc error: not found",
            )),
        ),
        // hooks (Never/OnFailure) are not failed early on image pull errors
        (
            "image pull never",
            pod("Never", pull.clone()),
            Some((Progressing, "")),
        ),
        (
            "crash onfailure running",
            pod("OnFailure", crash.clone()),
            Some((Progressing, "")),
        ),
        (
            "ignore restart policy",
            {
                let mut p = pod("Never", pull);
                p["metadata"]["annotations"] = json!({ANNOTATION_IGNORE_RESTART_POLICY: "true"});
                p
            },
            Some((
                Degraded,
                "Back-off pulling image \"nginx:nope\", rpc error: not found",
            )),
        ),
        (
            "ignore restart policy ready",
            {
                let mut p = pod("Never", running_ready.clone());
                p["metadata"]["annotations"] = json!({ANNOTATION_IGNORE_RESTART_POLICY: "true"});
                p
            },
            Some((Healthy, "")),
        ),
        (
            "ignore restart policy hook",
            {
                let mut p = pod("Never", running_ready.clone());
                p["metadata"]["annotations"] = json!({ANNOTATION_IGNORE_RESTART_POLICY: "true", "argocd.argoproj.io/hook": "PostSync"});
                p
            },
            Some((Progressing, "")),
        ),
        (
            "not ready restarted",
            pod(
                "Always",
                json!({"phase": "Running", "message": "m",
            "containerStatuses": [{"name": "web", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137}}}]}),
            ),
            Some((Degraded, "m")),
        ),
        (
            "not ready",
            pod(
                "Always",
                json!({"phase": "Running", "containerStatuses": [{"name": "web", "state": {"running": {}}}]}),
            ),
            Some((Progressing, "")),
        ),
        (
            "succeeded",
            pod("Never", json!({"phase": "Succeeded"})),
            Some((Healthy, "")),
        ),
        (
            "failed message",
            pod(
                "Never",
                json!({"phase": "Failed", "message": "Pod was evicted"}),
            ),
            Some((Degraded, "Pod was evicted")),
        ),
        (
            "failed exit",
            pod(
                "Never",
                json!({"phase": "Failed", "containerStatuses": [
            {"name": "job", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}),
            ),
            Some((Degraded, "container \"job\" failed with exit code 2")),
        ),
        (
            "failed oom init",
            pod(
                "Never",
                json!({"phase": "Failed",
            "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}],
            "containerStatuses": [{"name": "job", "state": {"terminated": {"exitCode": 2, "message": "boom"}}}]}),
            ),
            Some((Degraded, "OOMKilled")),
        ),
        (
            "failed bare",
            pod("Never", json!({"phase": "Failed"})),
            Some((Degraded, "")),
        ),
        (
            "pending",
            pod(
                "Always",
                json!({"phase": "Pending", "message": "0/1 nodes are available"}),
            ),
            Some((Progressing, "0/1 nodes are available")),
        ),
        (
            "unknown phase",
            pod("Always", json!({"phase": "Unknown"})),
            Some((Unknown, "")),
        ),
    ];
    for (n, o, w) in cases {
        check(n, o, w);
    }
}

#[test]
fn jobs_and_cronjobs() {
    let job = |conds: Value| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
        "status": {"conditions": conds}})
    };
    check("job running", job(json!([])), Some((Progressing, "")));
    check(
        "job complete",
        job(
            json!([{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True", "message": "Reached expected number of succeeded pods"}]),
        ),
        Some((Healthy, "Reached expected number of succeeded pods")),
    );
    check(
        "job failed",
        job(
            json!([{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]),
        ),
        Some((Degraded, "Job has reached the specified backoff limit")),
    );
    check(
        "job suspended",
        job(json!([{"type": "Suspended", "status": "True", "message": "Job suspended"}])),
        Some((Suspended, "")),
    );
    check(
        "job resumed",
        job(json!([{"type": "Suspended", "status": "False", "message": "Job resumed"}])),
        Some((Healthy, "Job resumed")),
    );

    let cj = |spec: Value, status: Value| {
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "backup"}, "spec": spec, "status": status})
    };
    check(
        "cj suspended",
        cj(json!({"suspend": true}), json!({})),
        Some((Suspended, "CronJob is Suspended")),
    );
    check(
        "cj no status",
        cj(json!({}), json!(null)),
        Some((Progressing, "Waiting for CronJob")),
    );
    check(
        "cj never scheduled",
        cj(json!({}), json!({})),
        Some((Healthy, "CronJob has not been scheduled yet")),
    );
    check(
        "cj never succeeded",
        cj(
            json!({}),
            json!({"lastScheduleTime": "2026-11-23T01:00:00Z"}),
        ),
        Some((
            Healthy,
            "The Cronjob never completed succesfully. It may not be healthy",
        )),
    );
    check(
        "cj active",
        cj(
            json!({}),
            json!({"lastScheduleTime": "2026-11-23T01:00:00Z", "lastSuccessfulTime": "2026-11-22T01:00:00Z", "active": [{"name": "backup-1"}]}),
        ),
        Some((
            Healthy,
            "The job is running. Its last execution may not have been successful",
        )),
    );
    check(
        "cj failed last",
        cj(
            json!({}),
            json!({"lastScheduleTime": "2026-11-23T01:00:00Z", "lastSuccessfulTime": "2026-11-22T01:00:05Z"}),
        ),
        Some((
            Degraded,
            "CronJob has not completed its last execution successfully",
        )),
    );
    check(
        "cj ok",
        cj(
            json!({}),
            json!({"lastScheduleTime": "2026-11-23T01:00:00Z", "lastSuccessfulTime": "2026-11-23T01:00:09Z"}),
        ),
        Some((
            Healthy,
            "CronJob has completed its last execution successfully",
        )),
    );
}

#[test]
fn network_storage_and_autoscaling() {
    let svc = |t: &str, status: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": t}, "status": status})
    };
    check(
        "svc clusterip",
        svc("ClusterIP", json!({})),
        Some((Healthy, "")),
    );
    check(
        "svc lb pending",
        svc("LoadBalancer", json!({"loadBalancer": {}})),
        Some((Progressing, "")),
    );
    check(
        "svc lb ready",
        svc(
            "LoadBalancer",
            json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}),
        ),
        Some((Healthy, "")),
    );
    let ing = |group: &str, status: Value| json!({"apiVersion": format!("{group}/v1"), "kind": "Ingress", "metadata": {"name": "web"}, "status": status});
    check(
        "ing pending",
        ing("networking.k8s.io", json!({"loadBalancer": {}})),
        Some((Progressing, "")),
    );
    check(
        "ing ready",
        ing(
            "networking.k8s.io",
            json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}),
        ),
        Some((Healthy, "")),
    );
    check(
        "ing extensions",
        ing("extensions", json!({})),
        Some((Progressing, "")),
    );
    let pvc = |phase: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "status": {"phase": phase}});
    check("pvc bound", pvc("Bound"), Some((Healthy, "")));
    check("pvc pending", pvc("Pending"), Some((Progressing, "")));
    check("pvc lost", pvc("Lost"), Some((Degraded, "")));
    check("pvc other", pvc(""), Some((Unknown, "")));

    let hpa = |conds: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"}, "status": {"conditions": conds}})
    };
    check(
        "hpa healthy",
        hpa(
            json!([{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches current size"}]),
        ),
        Some((Healthy, "recommended size matches current size")),
    );
    check(
        "hpa degraded",
        hpa(
            json!([{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "unable to get metrics"}]),
        ),
        Some((Degraded, "unable to get metrics")),
    );
    check(
        "hpa waiting",
        hpa(json!([])),
        Some((Progressing, "Waiting to Autoscale")),
    );
    check(
        "hpa v1 no annotation",
        json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"}}),
        Some((Progressing, "Waiting to Autoscale")),
    );
    check(
        "hpa v1 annotation",
        json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web",
        "annotations": {"autoscaling.alpha.kubernetes.io/conditions": "[{\"type\":\"AbleToScale\",\"status\":\"True\",\"reason\":\"SucceededGetScale\",\"message\":\"the HPA controller was able to get the target's current scale\"}]"}}}),
        Some((
            Healthy,
            "the HPA controller was able to get the target's current scale",
        )),
    );

    let api = |conds: Value| {
        json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"}, "status": {"conditions": conds}})
    };
    check(
        "apiservice ok",
        api(
            json!([{"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed"}]),
        ),
        Some((Healthy, "Passed: all checks passed")),
    );
    check(
        "apiservice down",
        api(
            json!([{"type": "Available", "status": "False", "reason": "MissingEndpoints", "message": "endpoints for service/metrics-server in \"kube-system\" have no addresses"}]),
        ),
        Some((
            Progressing,
            "MissingEndpoints: endpoints for service/metrics-server in \"kube-system\" have no addresses",
        )),
    );
    check(
        "apiservice new",
        api(json!([])),
        Some((Progressing, "Waiting to be processed")),
    );
}

#[test]
fn argo_kinds_crds_and_generic() {
    let app = |health: Value| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "child"}, "status": {"health": health}})
    };
    check(
        "app healthy",
        app(json!({"status": "Healthy"})),
        Some((Healthy, "")),
    );
    check(
        "app degraded",
        app(json!({"status": "Degraded", "message": "x"})),
        Some((Degraded, "x")),
    );
    check(
        "app none",
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "c"}}),
        Some((Progressing, "")),
    );
    assert_eq!(
        resource_health_with(
            &app(json!({"status": "Healthy"})),
            &HealthOptions::builtin_only()
        ),
        None
    );

    let wf = |phase: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
        "status": {"phase": phase, "message": "m"}})
    };
    check("wf running", wf("Running"), Some((Progressing, "m")));
    check("wf ok", wf("Succeeded"), Some((Healthy, "m")));
    check("wf err", wf("Error"), Some((Degraded, "m")));
    check("wf odd", wf("Odd"), Some((Unknown, "m")));

    let crd = |conds: Value| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"}, "status": {"conditions": conds}})
    };
    check(
        "crd ok",
        crd(
            json!([{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]),
        ),
        Some((Healthy, "CRD is healthy")),
    );
    check(
        "crd new",
        crd(json!([])),
        Some((Progressing, "Status conditions not found")),
    );
    check(
        "crd names",
        crd(
            json!([{"type": "NamesAccepted", "status": "False", "message": "\"widgets\" is already in use"}]),
        ),
        Some((
            Degraded,
            "CRD names have not been accepted: \"widgets\" is already in use",
        )),
    );
    check(
        "crd not established",
        crd(json!([{"type": "NamesAccepted", "status": "True"}])),
        Some((Degraded, "CRD is not established")),
    );

    let cr = |generation: i64, status: Value| {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "tls", "generation": generation}, "status": status})
    };
    check(
        "cr ready",
        cr(
            1,
            json!({"conditions": [{"type": "Ready", "status": "True", "message": "Certificate is up to date and has not expired"}]}),
        ),
        Some((Healthy, "Certificate is up to date and has not expired")),
    );
    check(
        "cr not ready",
        cr(
            1,
            json!({"conditions": [{"type": "Ready", "status": "False", "message": "Issuing certificate as Secret does not exist"}]}),
        ),
        Some((Progressing, "Issuing certificate as Secret does not exist")),
    );
    check(
        "cr stalled",
        cr(
            1,
            json!({"conditions": [{"type": "Ready", "status": "False"}, {"type": "Stalled", "status": "True", "message": "bad issuer"}]}),
        ),
        Some((Degraded, "bad issuer")),
    );
    check(
        "cr stale",
        cr(
            2,
            json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]}),
        ),
        Some((
            Progressing,
            "Waiting for the controller to observe the latest generation",
        )),
    );
    check("cr no conditions", cr(1, json!({})), None);
    check(
        "configmap",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
        None,
    );
    assert_eq!(
        resource_health_with(
            &cr(
                1,
                json!({"conditions": [{"type": "Ready", "status": "True"}]})
            ),
            &HealthOptions::builtin_only()
        ),
        None
    );
}

#[test]
fn ordering_matches_argo() {
    let order = [Healthy, Suspended, Progressing, Missing, Degraded, Unknown];
    for w in order.windows(2) {
        assert!(w[1].is_worse_than(w[0]) && !w[0].is_worse_than(w[1]));
    }
    for c in order {
        assert_eq!(HealthStatusCode::parse(c.as_str()), Some(c));
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
    }
}

#[test]
fn app_aggregation() {
    let ok_cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let progressing = deploy(2, json!({"replicas": 1}), json!({"observedGeneration": 1}));
    let degraded = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"}, "status": {"phase": "Lost"}});
    let suspended = deploy(1, json!({"paused": true}), json!({}));
    let failing_hook = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "h",
        "annotations": {"argocd.argoproj.io/hook": "PreSync"}}, "status": {"conditions": [{"type": "Failed", "status": "True"}]}});
    let ignored = {
        let mut d = degraded.clone();
        d["metadata"]["annotations"] = json!({ANNOTATION_IGNORE_HEALTHCHECK: "true"});
        d
    };
    let child_unknown = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "c"},
        "status": {"health": {"status": "Unknown"}}});
    let opts = HealthOptions::default();
    let r = |v: &[(Option<&Value>, Option<&Value>)]| {
        let res: Vec<ManagedResource> = v
            .iter()
            .map(|(t, l)| ManagedResource {
                target: *t,
                live: *l,
            })
            .collect();
        app_health(&res, &opts, None)
    };
    assert_eq!(r(&[(Some(&ok_cm), Some(&ok_cm))]).status, Healthy);
    assert_eq!(
        r(&[
            (Some(&ok_cm), Some(&ok_cm)),
            (Some(&suspended), Some(&suspended))
        ])
        .status,
        Suspended
    );
    assert_eq!(
        r(&[
            (Some(&suspended), Some(&suspended)),
            (Some(&progressing), Some(&progressing))
        ])
        .status,
        Progressing
    );
    let worst = r(&[
        (Some(&progressing), Some(&progressing)),
        (Some(&degraded), Some(&degraded)),
    ]);
    assert_eq!(worst.status, Degraded);
    assert_eq!(
        worst.resources[0].as_ref().map(|h| h.status),
        Some(Progressing)
    );
    // hooks, ignore-healthcheck and child apps with Unknown health do not count
    assert_eq!(
        r(&[
            (Some(&ok_cm), Some(&ok_cm)),
            (None, Some(&failing_hook)),
            (Some(&ignored), Some(&ignored)),
            (Some(&child_unknown), Some(&child_unknown))
        ])
        .status,
        Healthy
    );
    // a missing resource does not degrade the app when others exist...
    let m = r(&[(Some(&ok_cm), Some(&ok_cm)), (Some(&degraded), None)]);
    assert_eq!(m.status, Healthy);
    assert_eq!(m.resources[1].as_ref().map(|h| h.status), Some(Missing));
    // ...but an app with resources and none live is Missing
    assert_eq!(
        r(&[(Some(&ok_cm), None), (Some(&degraded), None)]).status,
        Missing
    );
    // Skip resources are ignored entirely
    let skip = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s",
        "annotations": {"argocd.argoproj.io/hook": "Skip"}}});
    assert_eq!(r(&[(Some(&skip), None)]).status, Healthy);
    assert_eq!(r(&[]).status, Healthy);
    // a self-managing app ignores itself
    let me = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "root", "namespace": "argocd"},
        "status": {"health": {"status": "Degraded"}}});
    let key = crate::object::ResourceKey::of(&me);
    let res = [ManagedResource {
        target: Some(&me),
        live: Some(&me),
    }];
    assert_eq!(app_health(&res, &opts, Some(&key)).status, Healthy);
    assert_eq!(app_health(&res, &opts, None).status, Degraded);
}
