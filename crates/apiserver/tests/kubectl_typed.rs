//! kubectl's typed sub-commands (`create <kind>`, `expose`, `autoscale`, `run`, `set`,
//! `rollout`) send protobuf bodies: each step asserts on what kubectl printed and on the
//! object the server stored.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn get(c: &Cluster, args: &[&str]) -> Value {
    let mut a = vec!["-n", "t", "get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    let out = kubectl(c, &a);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{out}"))
}

fn run(c: &Cluster, args: &[&str]) -> String {
    let mut a = vec!["-n", "t"];
    a.extend_from_slice(args);
    kubectl(c, &a).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_create_commands() {
    let c = start().await;
    assert_eq!(
        kubectl(&c, &["create", "namespace", "t"]).trim(),
        "namespace/t created"
    );

    let out = run(
        &c,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=2",
            "--port=80",
        ],
    );
    assert_eq!(out, "deployment.apps/web created");
    let d = get(&c, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );
    assert_eq!(d["metadata"]["labels"], json!({"app": "web"}));
    let ctr = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(ctr["name"], "nginx");
    assert_eq!(ctr["image"], "nginx:1.27");
    assert_eq!(
        ctr["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert!(d["metadata"]["uid"].is_string());
    run(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );

    let out = run(
        &c,
        &[
            "create",
            "deployment",
            "idle",
            "--image=busybox",
            "--replicas=0",
        ],
    );
    assert_eq!(out, "deployment.apps/idle created");
    assert_eq!(get(&c, &["deployment", "idle"])["spec"]["replicas"], 0);

    let out = run(
        &c,
        &["create", "service", "clusterip", "api", "--tcp=80:8080"],
    );
    assert_eq!(out, "service/api created");
    let s = get(&c, &["service", "api"]);
    assert_eq!(
        s["spec"]["ports"],
        json!([{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}])
    );
    assert_eq!(s["spec"]["selector"], json!({"app": "api"}));
    assert!(
        s["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.contains('.'))
    );

    let out = run(
        &c,
        &[
            "expose",
            "deployment",
            "web",
            "--name=web-svc",
            "--port=8080",
            "--target-port=80",
        ],
    );
    assert_eq!(out, "service/web-svc exposed");
    let s = get(&c, &["service", "web-svc"]);
    assert_eq!(s["spec"]["selector"], json!({"app": "web"}));
    assert_eq!(s["spec"]["ports"][0]["port"], 8080);
    assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);

    let out = run(
        &c,
        &[
            "create",
            "job",
            "once",
            "--image=busybox",
            "--",
            "echo",
            "hi",
        ],
    );
    assert_eq!(out, "job.batch/once created");
    let j = get(&c, &["job", "once"]);
    assert_eq!(
        j["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["echo", "hi"])
    );
    assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
    run(
        &c,
        &[
            "wait",
            "--for=condition=complete",
            "job/once",
            "--timeout=30s",
        ],
    );

    let out = run(
        &c,
        &[
            "create",
            "cronjob",
            "tick",
            "--image=busybox",
            "--schedule=*/5 * * * *",
            "--",
            "date",
        ],
    );
    assert_eq!(out, "cronjob.batch/tick created");
    let cj = get(&c, &["cronjob", "tick"]);
    assert_eq!(cj["spec"]["schedule"], "*/5 * * * *");
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["date"])
    );
    let out = run(&c, &["create", "job", "manual", "--from=cronjob/tick"]);
    assert_eq!(out, "job.batch/manual created");
    let j = get(&c, &["job", "manual"]);
    assert_eq!(
        j["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(j["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(j["metadata"]["ownerReferences"][0]["name"], "tick");

    let out = run(
        &c,
        &[
            "create",
            "role",
            "pod-reader",
            "--verb=get,list,watch",
            "--resource=pods,deployments.apps",
        ],
    );
    assert_eq!(out, "role.rbac.authorization.k8s.io/pod-reader created");
    let r = get(&c, &["role", "pod-reader"]);
    assert_eq!(
        r["rules"],
        json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]}
        ])
    );
    let out = run(
        &c,
        &[
            "create",
            "rolebinding",
            "read-pods",
            "--role=pod-reader",
            "--user=alice",
            "--serviceaccount=t:default",
        ],
    );
    assert_eq!(
        out,
        "rolebinding.rbac.authorization.k8s.io/read-pods created"
    );
    let rb = get(&c, &["rolebinding", "read-pods"]);
    assert_eq!(
        rb["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"})
    );
    assert_eq!(
        rb["subjects"],
        json!([
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
            {"kind": "ServiceAccount", "name": "default", "namespace": "t"}
        ])
    );
    let out = kubectl(
        &c,
        &[
            "create",
            "clusterrole",
            "node-viewer",
            "--verb=get",
            "--resource=nodes",
        ],
    );
    assert_eq!(
        out.trim(),
        "clusterrole.rbac.authorization.k8s.io/node-viewer created"
    );
    let out = kubectl(
        &c,
        &[
            "create",
            "clusterrolebinding",
            "view-nodes",
            "--clusterrole=node-viewer",
            "--group=ops",
        ],
    );
    assert_eq!(
        out.trim(),
        "clusterrolebinding.rbac.authorization.k8s.io/view-nodes created"
    );

    let out = run(
        &c,
        &[
            "create",
            "pdb",
            "web",
            "--selector=app=web",
            "--min-available=50%",
        ],
    );
    assert_eq!(out, "poddisruptionbudget.policy/web created");
    let p = get(&c, &["pdb", "web"]);
    assert_eq!(p["spec"]["minAvailable"], "50%");
    assert_eq!(
        p["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );

    let out = run(
        &c,
        &[
            "create",
            "ingress",
            "site",
            "--class=nginx",
            "--rule=site.example.org/api*=api:8080",
        ],
    );
    assert_eq!(out, "ingress.networking.k8s.io/site created");
    let i = get(&c, &["ingress", "site"]);
    assert_eq!(i["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        i["spec"]["rules"][0],
        json!({"host": "site.example.org", "http": {"paths": [{"path": "/api", "pathType": "Prefix",
            "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}})
    );

    let out = kubectl(
        &c,
        &[
            "create",
            "priorityclass",
            "high",
            "--value=1000",
            "--description=important",
        ],
    );
    assert_eq!(out.trim(), "priorityclass.scheduling.k8s.io/high created");
    let pc: Value = serde_json::from_str(&kubectl(
        &c,
        &["get", "priorityclass", "high", "-o", "json"],
    ))
    .expect("json");
    assert_eq!(pc["value"], 1000);
    assert_eq!(pc["description"], "important");

    let out = run(&c, &["create", "quota", "small", "--hard=cpu=2,pods=5"]);
    assert_eq!(out, "resourcequota/small created");
    assert_eq!(
        get(&c, &["quota", "small"])["spec"]["hard"],
        json!({"cpu": "2", "pods": "5"})
    );

    let out = run(
        &c,
        &[
            "create",
            "service",
            "nodeport",
            "np",
            "--tcp=80:8080",
            "--node-port=30080",
        ],
    );
    assert_eq!(out, "service/np created");
    let s = get(&c, &["service", "np"]);
    assert_eq!(s["spec"]["type"], "NodePort");
    assert_eq!(s["spec"]["ports"][0]["nodePort"], 30080);
    let out = run(
        &c,
        &[
            "create",
            "service",
            "externalname",
            "ext",
            "--external-name=db.example.org",
        ],
    );
    assert_eq!(out, "service/ext created");
    let s = get(&c, &["service", "ext"]);
    assert_eq!(s["spec"]["type"], "ExternalName");
    assert_eq!(s["spec"]["externalName"], "db.example.org");
    let out = run(
        &c,
        &[
            "create",
            "secret",
            "docker-registry",
            "pull",
            "--docker-server=registry.example.org",
            "--docker-username=u",
            "--docker-password=p",
        ],
    );
    assert_eq!(out, "secret/pull created");
    let sec = get(&c, &["secret", "pull"]);
    assert_eq!(sec["type"], "kubernetes.io/dockerconfigjson");
    assert!(sec["data"][".dockerconfigjson"].is_string());

    let out = run(&c, &["create", "serviceaccount", "robot"]);
    assert_eq!(out, "serviceaccount/robot created");

    let out = run(
        &c,
        &[
            "autoscale",
            "deployment",
            "web",
            "--min=2",
            "--max=5",
            "--cpu-percent=80",
        ],
    );
    assert_eq!(out, "horizontalpodautoscaler.autoscaling/web autoscaled");
    let h = get(&c, &["hpa", "web"]);
    assert_eq!(h["spec"]["minReplicas"], 2);
    assert_eq!(h["spec"]["maxReplicas"], 5);
    assert_eq!(
        h["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
    );

    // Table columns as kube-apiserver prints them.
    let rows = |args: &[&str]| -> Vec<Vec<String>> {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        run(&c, &a)
            .lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .collect()
    };
    let t = rows(&["ingress"]);
    assert_eq!(t[0], ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]);
    assert_eq!(t[1][..3], ["site", "nginx", "site.example.org"]);
    assert_eq!(t[1][t[1].len() - 2], "80");
    let t = rows(&["hpa"]);
    assert_eq!(
        t[0],
        [
            "NAME",
            "REFERENCE",
            "TARGETS",
            "MINPODS",
            "MAXPODS",
            "REPLICAS",
            "AGE"
        ]
    );
    assert_eq!(
        t[1][..5],
        ["web", "Deployment/web", "cpu: <unknown>/80%", "2", "5"]
    );
    let t = rows(&["pdb"]);
    assert_eq!(
        t[0],
        [
            "NAME",
            "MIN AVAILABLE",
            "MAX UNAVAILABLE",
            "ALLOWED DISRUPTIONS",
            "AGE"
        ]
    );
    assert_eq!(t[1][..3], ["web", "50%", "N/A"]);
    let t = rows(&["rolebinding", "-o", "wide"]);
    assert_eq!(
        t[0],
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    );
    assert_eq!(t[1][..2], ["read-pods", "Role/pod-reader"]);
    assert_eq!(t[1][3..], ["alice", "t/default"]);
    let t = rows(&["role"]);
    assert_eq!(t[0], ["NAME", "CREATED AT"]);
    let t = rows(&["cronjob"]);
    assert_eq!(
        t[0],
        [
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE"
        ]
    );
    assert_eq!(t[1][..4], ["tick", "*/5 * * * *", "<none>", "False"]);
    let t = rows(&["priorityclass", "high"]);
    assert_eq!(
        t[0],
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    );
    assert_eq!(t[1][..3], ["high", "1000", "false"]);
    assert_eq!(t[1][4], "PreemptLowerPriority");
    let t = rows(&["quota"]);
    assert_eq!(t[0], ["NAME", "AGE", "REQUEST", "LIMIT"]);
    assert_eq!(t[1][2], "cpu: 0/2, pods: 0/5");

    let out = run(
        &c,
        &["run", "solo", "--image=nginx:1.27", "--labels=app=solo"],
    );
    assert_eq!(out, "pod/solo created");
    assert_eq!(
        get(&c, &["pod", "solo"])["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_and_rollout_on_a_typed_deployment() {
    let c = start().await;
    kubectl(&c, &["create", "namespace", "t"]);
    run(&c, &["create", "deployment", "web", "--image=nginx:1.27"]);
    run(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    let out = run(&c, &["set", "image", "deployment/web", "nginx=nginx:1.28"]);
    assert_eq!(out, "deployment.apps/web image updated");
    let out = run(&c, &["set", "env", "deployment/web", "MODE=prod"]);
    assert_eq!(out, "deployment.apps/web env updated");
    let out = run(
        &c,
        &[
            "set",
            "resources",
            "deployment/web",
            "--limits=cpu=200m,memory=64Mi",
        ],
    );
    assert_eq!(out, "deployment.apps/web resource requirements updated");
    let d = get(&c, &["deployment", "web"]);
    let ctr = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(ctr["image"], "nginx:1.28");
    assert_eq!(ctr["env"], json!([{"name": "MODE", "value": "prod"}]));
    assert_eq!(
        ctr["resources"]["limits"],
        json!({"cpu": "200m", "memory": "64Mi"})
    );
    let out = run(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let out = run(&c, &["rollout", "undo", "deployment/web"]);
    assert_eq!(out, "deployment.apps/web rolled back");
    run(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    let d = get(&c, &["deployment", "web"]);
    let ctr = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(ctr["env"], json!([{"name": "MODE", "value": "prod"}]));
    assert_eq!(
        ctr["resources"],
        json!({}),
        "undo restores the previous template: {d}"
    );
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    let out = run(&c, &["rollout", "restart", "deployment/web"]);
    assert_eq!(out, "deployment.apps/web restarted");
    let out = run(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    // Without --cpu-percent the server defaults the HPA to 80% CPU (autoscaling/v2 defaulting).
    let out = run(&c, &["autoscale", "deployment", "web", "--max=4"]);
    assert_eq!(out, "horizontalpodautoscaler.autoscaling/web autoscaled");
    let h = get(&c, &["hpa", "web"]);
    assert_eq!(h["apiVersion"], "autoscaling/v2");
    assert_eq!(h["spec"]["minReplicas"], 1);
    assert_eq!(
        h["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    );
    let v1: Value = serde_json::from_str(&kubectl(
        &c,
        &[
            "get",
            "--raw",
            "/apis/autoscaling/v1/namespaces/t/horizontalpodautoscalers/web",
        ],
    ))
    .expect("json");
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 80);
    // An autoscaling/v1 manifest applies (client-side and server-side) through the conversion.
    let hpa = "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: web1, namespace: t}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 3\n  targetCPUUtilizationPercentage: 60\n";
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(hpa));
    assert_eq!(
        out.trim(),
        "horizontalpodautoscaler.autoscaling/web1 created"
    );
    let out = kubectl_in(
        &c,
        &["apply", "--server-side", "-f", "-"],
        Some(&hpa.replace("60", "70")),
    );
    assert_eq!(
        out.trim(),
        "horizontalpodautoscaler.autoscaling/web1 serverside-applied"
    );
    let v2 = get(&c, &["hpa", "web1"]);
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    let out = run(&c, &["scale", "deployment/web", "--replicas=3"]);
    assert_eq!(out, "deployment.apps/web scaled");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(get(&c, &["deployment", "web"])["spec"]["replicas"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_record_events_for_describe_and_get_events() {
    let c = start().await;
    kubectl(&c, &["create", "namespace", "t"]);
    run(
        &c,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=2",
        ],
    );
    run(
        &c,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    let out = run(&c, &["describe", "deployment", "web"]);
    let events = out.split("Events:").nth(1).unwrap_or_default();
    assert!(
        events.contains("ScalingReplicaSet")
            && events.contains("deployment-controller")
            && events.contains("Scaled up replica set web-")
            && events.contains("from 0 to 2"),
        "{out}"
    );
    let pods = run(&c, &["get", "pods", "-o", "name"]);
    let pod = pods
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("pod/");
    let out = run(&c, &["describe", "pod", pod]);
    let events = out.split("Events:").nth(1).unwrap_or_default();
    for needle in [
        "Scheduled",
        "default-scheduler",
        "Successfully assigned t/",
        "Pulled",
        "Created container: nginx",
        "Started container nginx",
    ] {
        assert!(events.contains(needle), "{needle} missing:\n{out}");
    }
    let out = run(&c, &["get", "events"]);
    let header = out.lines().next().unwrap_or_default();
    for col in ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"] {
        assert!(header.contains(col), "{out}");
    }
    assert!(
        out.lines().any(|l| l.contains("SuccessfulCreate")
            && l.contains("replicaset/web-")
            && l.contains("Created pod: web-")),
        "{out}"
    );

    // The same Events through events.k8s.io/v1.
    let list = get(&c, &["events.v1.events.k8s.io"]);
    let items = list["items"].as_array().expect("items");
    let scaled = items
        .iter()
        .find(|e| e["reason"] == "ScalingReplicaSet")
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(scaled["apiVersion"], "events.k8s.io/v1");
    assert_eq!(scaled["regarding"]["kind"], "Deployment");
    assert_eq!(scaled["reportingController"], "deployment-controller");
    assert!(
        scaled["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("Scaled up"))
    );
    assert!(scaled.get("message").is_none());

    let out = run(&c, &["get", "events.v1.events.k8s.io"]);
    assert!(
        out.lines().next().unwrap_or_default().contains("REASON")
            && out.lines().any(|l| l.contains("ScalingReplicaSet")
                && l.contains("deployment/web")
                && l.contains("Scaled up replica set")),
        "{out}"
    );

    // A pod whose image cannot be pulled reports the kubelet's warnings.
    run(&c, &["run", "bad", "--image=invalid.ferry/nope:1"]);
    let out = eventually(Duration::from_secs(15), || {
        let out = run(
            &c,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=bad,type=Warning",
            ],
        );
        out.contains("Error: ImagePullBackOff").then_some(out)
    })
    .await;
    assert!(
        out.contains("Failed") && out.contains("pod/bad") && out.contains("Warning"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_expire_after_their_ttl() {
    let c = start_with(|cfg| cfg.event_ttl = Duration::from_secs(3)).await;
    kubectl(&c, &["create", "namespace", "t"]);
    run(&c, &["create", "deployment", "web", "--image=nginx:1.27"]);
    eventually(Duration::from_secs(10), || {
        run(&c, &["get", "events", "-o", "name"])
            .contains("event/web.")
            .then_some(())
    })
    .await;
    eventually(Duration::from_secs(20), || {
        let out = kubectl_raw(&c, &["-n", "t", "get", "events", "-o", "name"], None);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && !stdout.contains("event/web.")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_tokens() {
    let c = start().await;
    kubectl(&c, &["create", "namespace", "t"]);
    run(&c, &["create", "serviceaccount", "robot"]);
    let token = run(&c, &["create", "token", "robot", "--duration=2h"]);
    assert!(token.starts_with("ferry-sa."), "{token}");
    let as_robot = |args: &[&str]| {
        let tok = format!("--token={token}");
        let mut a = vec![tok.as_str(), "-n", "t"];
        a.extend_from_slice(args);
        kubectl_raw(&c, &a, None)
    };
    let out = as_robot(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "system:serviceaccount:t:robot"
    );
    let out = as_robot(&["get", "serviceaccount", "robot", "-o", "name"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "serviceaccount/robot"
    );
    // The token dies with its ServiceAccount.
    run(&c, &["delete", "serviceaccount", "robot"]);
    let out = as_robot(&["get", "configmaps"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthorized"),
        "{out:?}"
    );
    let out = kubectl_raw(&c, &["-n", "t", "create", "token", "ghost"], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("serviceaccounts \"ghost\" not found"),
        "{out:?}"
    );
}
