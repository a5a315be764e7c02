//! The real `kubectl` (v1.32) against the in-process cluster: every step asserts on what
//! kubectl printed.

mod common;

use std::time::Duration;

use common::*;

const APP: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team-a
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: team-a
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: team-a
data:
  a: "1"
"#;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        description: A widget for tests.
        properties:
          spec:
            type: object
            description: Desired widget.
            required: [size]
            properties:
              size: {type: integer, minimum: 1, description: Number of parts.}
              color: {type: string, default: red}
          status:
            type: object
            properties:
              ready: {type: boolean}
"#;

const CR: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: team-a
spec:
  size: 3
"#;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("kubectl printed invalid JSON ({e}):\n{s}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_end_to_end() {
    let c = start().await;

    // Namespace (typed create → protobuf body).
    let out = kubectl(&c, &["create", "namespace", "team-a"]);
    assert_eq!(out.trim(), "namespace/team-a created");
    let ns = json(&kubectl(&c, &["get", "namespace", "team-a", "-o", "json"]));
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );

    // Client-side apply of Deployment + Service + ConfigMap.
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(APP));
    assert!(out.contains("deployment.apps/web created"), "{out}");
    assert!(out.contains("service/web created"), "{out}");
    assert!(out.contains("configmap/cfg created"), "{out}");
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(APP));
    assert!(
        out.contains("deployment.apps/web unchanged") && out.contains("configmap/cfg unchanged"),
        "{out}"
    );

    // rollout status and wait.
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "wait",
            "--for=condition=Available",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    assert_eq!(out.trim(), "deployment.apps/web condition met");

    // get -o json / yaml / wide.
    let d = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "deployment", "web", "-o", "json"],
    ));
    assert_eq!(d["status"]["readyReplicas"], 2);
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert!(d["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    let y = kubectl(
        &c,
        &["-n", "team-a", "get", "configmap", "cfg", "-o", "yaml"],
    );
    assert!(
        y.contains("kind: ConfigMap") && y.contains("a: \"1\"") && y.contains("resourceVersion:"),
        "{y}"
    );
    let wide = kubectl(&c, &["-n", "team-a", "get", "deploy", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or_default();
    for col in [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ] {
        assert!(header.contains(col), "missing {col}: {wide}");
    }
    assert!(
        wide.contains("2/2") && wide.contains("nginx:1.27") && wide.contains("app=web"),
        "{wide}"
    );
    let pods = kubectl(&c, &["-n", "team-a", "get", "pods", "-l", "app=web"]);
    assert_eq!(
        pods.lines()
            .filter(|l| l.contains("Running") && l.contains("1/1"))
            .count(),
        2,
        "{pods}"
    );
    let svc = eventually(Duration::from_secs(10), || {
        let s = json(&kubectl(
            &c,
            &["-n", "team-a", "get", "svc", "web", "-o", "json"],
        ));
        s["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .map(|_| s.clone())
    })
    .await;
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "{svc}"
    );

    // Server-side apply, then a conflicting apply and --force-conflicts.
    let out = kubectl_in(&c, &["apply", "--server-side", "-f", "-"], Some(APP));
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let changed = APP.replace("replicas: 2", "replicas: 3");
    let raw = kubectl_raw(
        &c,
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(&changed),
    );
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success(),
        "a different manager changing .spec.replicas must conflict"
    );
    assert!(
        err.contains("conflict with \"kubectl\": .spec.replicas"),
        "{err}"
    );
    assert!(
        !err.contains("containerPort"),
        "same-valued fields are shared, not conflicting: {err}"
    );
    let out = kubectl_in(
        &c,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&changed),
    );
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let d = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "deploy", "web", "-o", "json"],
    ));
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
    let raw = kubectl_raw(&c, &["apply", "--server-side", "-f", "-"], Some(APP));
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success() && err.contains("conflict with \"other\": .spec.replicas"),
        "{err}"
    );
    let out = kubectl_in(
        &c,
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(APP),
    );
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let d = json(&kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "get",
            "deploy",
            "web",
            "-o",
            "json",
            "--show-managed-fields",
        ],
    ));
    assert_eq!(d["spec"]["replicas"], 2);
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");

    // diff shows a pending change and exits 1.
    let changed_img = APP.replace("nginx:1.27", "nginx:1.28");
    let raw = kubectl_raw(&c, &["diff", "-f", "-"], Some(&changed_img));
    let out = String::from_utf8_lossy(&raw.stdout);
    assert_eq!(
        raw.status.code(),
        Some(1),
        "{out} {}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert!(
        out.lines().any(
            |l| l.starts_with('-') && l.trim_start_matches('-').trim() == "- image: nginx:1.27"
        ),
        "{out}"
    );
    assert!(
        out.lines().any(
            |l| l.starts_with('+') && l.trim_start_matches('+').trim() == "- image: nginx:1.28"
        ),
        "{out}"
    );

    // Patches of every type.
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "patch",
            "configmap",
            "cfg",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/data/b","value":"2"}]"#,
        ],
    );
    assert_eq!(out.trim(), "configmap/cfg patched");
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "patch",
            "configmap",
            "cfg",
            "--type=merge",
            "-p",
            r#"{"data":{"a":null,"c":"3"}}"#,
        ],
    );
    assert_eq!(out.trim(), "configmap/cfg patched");
    let cm = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "cm", "cfg", "-o", "json"],
    ));
    assert_eq!(cm["data"], serde_json::json!({"b": "2", "c": "3"}));
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","value":"x"}]}]}}}}"#,
        ],
    );
    assert_eq!(out.trim(), "deployment.apps/web patched");
    let d = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "deploy", "web", "-o", "json"],
    ));
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(
        containers.len(),
        1,
        "strategic merge must merge by name: {containers:?}"
    );
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(containers[0]["env"][0]["name"], "MODE");
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("successfully rolled out"), "{out}");

    // Client-side apply of a changed image (strategic merge patch with $setElementOrder).
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(&changed_img));
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let rs = kubectl(
        &c,
        &["-n", "team-a", "get", "rs", "-l", "app=web", "-o", "json"],
    );
    let rs = json(&rs);
    let active: Vec<_> = rs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["spec"]["replicas"].as_i64() > Some(0))
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(
        active[0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );

    // scale through the scale subresource.
    let out = kubectl(
        &c,
        &["-n", "team-a", "scale", "deployment", "web", "--replicas=4"],
    );
    assert_eq!(out.trim(), "deployment.apps/web scaled");
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let wide = kubectl(&c, &["-n", "team-a", "get", "deploy", "web"]);
    assert!(wide.contains("4/4"), "{wide}");

    // get -w sees events.
    let kc = c.kubeconfig.clone();
    let home = c.dir.path().join("home");
    let watcher = std::process::Command::new(kubectl_path())
        .args([
            "-n",
            "team-a",
            "get",
            "configmaps",
            "-w",
            "--output-watch-events",
            "--request-timeout=6s",
        ])
        .env("KUBECONFIG", &kc)
        .env("HOME", &home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn watcher");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "create",
            "configmap",
            "watched",
            "--from-literal=k=v",
        ],
    );
    kubectl(
        &c,
        &["-n", "team-a", "label", "configmap", "watched", "seen=yes"],
    );
    kubectl(&c, &["-n", "team-a", "delete", "configmap", "watched"]);
    let out = watcher.wait_with_output().expect("watcher");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ADDED") && l.contains("watched")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("MODIFIED") && l.contains("watched")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("DELETED") && l.contains("watched")),
        "{text}"
    );

    // CRD + custom resource, client-side and server-side.
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(CRD));
    assert!(
        out.contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"),
        "{out}"
    );
    let out = kubectl(
        &c,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.com",
            "--timeout=10s",
        ],
    );
    assert!(out.contains("condition met"), "{out}");
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(CR));
    assert!(out.contains("widget.example.com/w1 created"), "{out}");
    let out = kubectl(&c, &["-n", "team-a", "get", "wd"]);
    assert!(
        out.contains("SIZE") && out.lines().any(|l| l.starts_with("w1") && l.contains('3')),
        "{out}"
    );
    let w = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "widget", "w1", "-o", "json"],
    ));
    assert_eq!(w["spec"]["color"], "red", "schema default applied");
    let out = kubectl_in(
        &c,
        &["apply", "--server-side", "-f", "-"],
        Some(&CR.replace("size: 3", "size: 5")),
    );
    assert!(
        out.contains("widget.example.com/w1 serverside-applied"),
        "{out}"
    );
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "patch",
            "widget",
            "w1",
            "--type=merge",
            "-p",
            r#"{"spec":{"color":"blue"}}"#,
        ],
    );
    assert_eq!(out.trim(), "widget.example.com/w1 patched");
    let w = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "widget", "w1", "-o", "json"],
    ));
    assert_eq!(
        (w["spec"]["size"].as_i64(), w["spec"]["color"].as_str()),
        (Some(5), Some("blue"))
    );
    let raw = kubectl_raw(
        &c,
        &["apply", "-f", "-"],
        Some(
            &CR.replace("name: w1", "name: bad")
                .replace("size: 3", "size: 0"),
        ),
    );
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success() && err.contains("Invalid") && err.contains("spec.size"),
        "{err}"
    );
    let out = kubectl(&c, &["explain", "widget.spec.size"]);
    assert!(out.contains("Number of parts."), "{out}");

    // api-resources and explain.
    let out = kubectl(&c, &["api-resources"]);
    for needle in [
        "deployments",
        "deploy",
        "apps/v1",
        "widgets",
        "example.com/v1",
        "customresourcedefinitions",
    ] {
        assert!(out.contains(needle), "api-resources lacks {needle}: {out}");
    }
    let out = kubectl(&c, &["explain", "deployment.spec"]);
    assert!(
        out.contains("KIND:       Deployment")
            && out.contains("replicas\t<integer>")
            && out.contains("template\t<PodTemplateSpec> -required-"),
        "{out}"
    );

    // delete with cascade: foreground removes dependents before the owner is gone.
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "delete",
            "deployment",
            "web",
            "--cascade=foreground",
            "--timeout=30s",
        ],
    );
    assert_eq!(out.trim(), "deployment.apps \"web\" deleted");
    eventually(Duration::from_secs(10), || {
        let out = kubectl(&c, &["-n", "team-a", "get", "rs,pods", "-o", "name"]);
        out.trim().is_empty().then_some(())
    })
    .await;
    // orphan keeps the ReplicaSet.
    kubectl_in(&c, &["apply", "-f", "-"], Some(APP));
    kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "delete",
            "deployment",
            "web",
            "--cascade=orphan",
        ],
    );
    assert_eq!(out.trim(), "deployment.apps \"web\" deleted");
    let rs = json(&kubectl(&c, &["-n", "team-a", "get", "rs", "-o", "json"]));
    assert_eq!(rs["items"].as_array().unwrap().len(), 1);
    assert!(
        rs["items"][0]["metadata"]
            .get("ownerReferences")
            .is_none_or(|o| o.as_array().is_some_and(Vec::is_empty))
    );

    // Namespace deletion removes everything in it.
    let out = kubectl(&c, &["delete", "namespace", "team-a", "--timeout=30s"]);
    assert_eq!(out.trim(), "namespace \"team-a\" deleted");
    let raw = kubectl_raw(&c, &["get", "namespace", "team-a"], None);
    assert!(String::from_utf8_lossy(&raw.stderr).contains("NotFound"));
    let left = c.handle().revision();
    assert!(left > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_requests_are_refused() {
    let c = start().await;
    let bad = std::fs::read_to_string(&c.kubeconfig)
        .unwrap()
        .replace(c.handle().token(), "wrong-token");
    std::fs::write(&c.kubeconfig, bad).unwrap();
    let raw = kubectl_raw(&c, &["get", "pods"], None);
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success() && err.contains("You must be logged in to the server"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_pods_and_namespace_defaults() {
    let c = start().await;
    kubectl(&c, &["create", "namespace", "fail"]);
    // Every namespace gets a default ServiceAccount and the kube-root-ca.crt ConfigMap.
    let sa = eventually(Duration::from_secs(10), || {
        let out = kubectl(
            &c,
            &[
                "-n",
                "fail",
                "get",
                "serviceaccounts,configmaps",
                "-o",
                "name",
            ],
        );
        (out.contains("serviceaccount/default") && out.contains("configmap/kube-root-ca.crt"))
            .then_some(out)
    })
    .await;
    assert!(sa.contains("serviceaccount/default"), "{sa}");

    // fieldValidation=Strict (kubectl's default) rejects fields the schema does not declare.
    let typo = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: fail}\ndata: {a: b}\ndatta: {x: y}\n";
    let raw = kubectl_raw(&c, &["apply", "-f", "-"], Some(typo));
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success() && err.contains("unknown field \"datta\""),
        "{err}"
    );
    let typo_deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo, namespace: fail}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x, imagePolicy: Always}]\n";
    let raw = kubectl_raw(&c, &["apply", "-f", "-"], Some(typo_deploy));
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success() && err.contains("spec.template.spec.containers[0].imagePolicy"),
        "{err}"
    );

    let bad = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: crashy, namespace: fail}
spec:
  progressDeadlineSeconds: 2
  selector: {matchLabels: {app: crashy}}
  template:
    metadata: {labels: {app: crashy}}
    spec:
      containers: [{name: app, image: "example.org/crashloop:1"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: nopull, namespace: fail}
spec:
  selector: {matchLabels: {app: nopull}}
  template:
    metadata:
      labels: {app: nopull}
      annotations: {sim.ferry.dev/fail: ImagePullBackOff}
    spec:
      containers: [{name: app, image: "nginx:1.27"}]
"#;
    kubectl_in(&c, &["apply", "-f", "-"], Some(bad));
    let pods = eventually(Duration::from_secs(10), || {
        let out = kubectl(&c, &["-n", "fail", "get", "pods"]);
        (out.contains("CrashLoopBackOff") && out.contains("ImagePullBackOff")).then_some(out)
    })
    .await;
    assert!(
        pods.lines()
            .filter(|l| l.starts_with("crashy"))
            .all(|l| l.contains("0/1")),
        "{pods}"
    );
    // rollout status fails once the progress deadline passes.
    let raw = kubectl_raw(
        &c,
        &[
            "-n",
            "fail",
            "rollout",
            "status",
            "deployment/crashy",
            "--timeout=30s",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&raw.stderr);
    assert!(
        !raw.status.success() && err.contains("exceeded its progress deadline"),
        "{err}"
    );
    let d = json(&kubectl(
        &c,
        &["-n", "fail", "get", "deploy", "crashy", "-o", "json"],
    ));
    let conds = d["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "False"),
        "{conds:?}"
    );
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"),
        "{conds:?}"
    );
    // Simulated logs.
    let pod = kubectl(
        &c,
        &[
            "-n",
            "fail",
            "get",
            "pods",
            "-l",
            "app=nopull",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ],
    );
    let logs = kubectl(&c, &["-n", "fail", "logs", pod.trim()]);
    assert!(
        logs.contains("simulated container app") && logs.contains("ImagePullBackOff"),
        "{logs}"
    );

    // Jobs complete; kubectl wait sees it.
    let job = r#"apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: fail}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#;
    kubectl_in(&c, &["apply", "-f", "-"], Some(job));
    let out = kubectl(
        &c,
        &[
            "-n",
            "fail",
            "wait",
            "--for=condition=complete",
            "job/once",
            "--timeout=30s",
        ],
    );
    assert_eq!(out.trim(), "job.batch/once condition met");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulsets_daemonsets_pvcs_and_gc() {
    let c = start_with(|cfg| cfg.nodes = 2).await;
    let manifests = r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:17"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "fluent-bit:3"}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
"#;
    kubectl_in(&c, &["apply", "-f", "-"], Some(manifests));
    let out = kubectl(
        &c,
        &["rollout", "status", "statefulset/db", "--timeout=30s"],
    );
    assert!(
        out.contains("partitioned roll out complete") || out.contains("roll out complete"),
        "{out}"
    );
    let pods = kubectl(&c, &["get", "pods", "-l", "app=db", "-o", "name"]);
    assert_eq!(
        pods.lines().collect::<Vec<_>>(),
        vec!["pod/db-0", "pod/db-1", "pod/db-2"]
    );
    let out = kubectl(
        &c,
        &["rollout", "status", "daemonset/agent", "--timeout=30s"],
    );
    assert!(
        out.contains("daemon set \"agent\" successfully rolled out"),
        "{out}"
    );
    let ds = json(&kubectl(&c, &["get", "ds", "agent", "-o", "json"]));
    assert_eq!(
        ds["status"]["desiredNumberScheduled"], 2,
        "one pod per simulated node: {ds}"
    );
    let out = kubectl(
        &c,
        &[
            "wait",
            "--for=jsonpath={.status.phase}=Bound",
            "pvc/data",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("condition met"), "{out}");
    let pvs = kubectl(&c, &["get", "pv", "-o", "name"]);
    assert_eq!(pvs.lines().count(), 1, "{pvs}");
    // Scale the StatefulSet down through the scale subresource; the highest ordinal goes.
    kubectl(&c, &["scale", "statefulset", "db", "--replicas=1"]);
    eventually(Duration::from_secs(10), || {
        let out = kubectl(&c, &["get", "pods", "-l", "app=db", "-o", "name"]);
        (out.trim() == "pod/db-0").then_some(())
    })
    .await;
    // Background cascade: deleting the DaemonSet garbage-collects its pods.
    kubectl(&c, &["delete", "daemonset", "agent"]);
    eventually(Duration::from_secs(10), || {
        let out = kubectl(&c, &["get", "pods", "-l", "app=agent", "-o", "name"]);
        out.trim().is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_history_undo_and_restart() {
    let c = start().await;
    kubectl(&c, &["create", "namespace", "team-a"]);
    kubectl_in(&c, &["apply", "-f", "-"], Some(APP));
    kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "set",
            "image",
            "deployment/web",
            "nginx=nginx:1.29",
        ],
    );
    assert_eq!(out.trim(), "deployment.apps/web image updated");
    kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    let out = kubectl(&c, &["-n", "team-a", "rollout", "undo", "deployment/web"]);
    assert_eq!(out.trim(), "deployment.apps/web rolled back");
    kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    let image = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "nginx:1.27");
    // The original ReplicaSet is reused (revision 3), no third one is created.
    let rs = json(&kubectl(&c, &["-n", "team-a", "get", "rs", "-o", "json"]));
    let items = rs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{rs}");
    let history = kubectl(
        &c,
        &["-n", "team-a", "rollout", "history", "deployment/web"],
    );
    assert!(
        history.contains('2')
            && history.contains('3')
            && !history.lines().any(|l| l.starts_with("1 ")),
        "{history}"
    );
    let out = kubectl(
        &c,
        &["-n", "team-a", "rollout", "restart", "deployment/web"],
    );
    assert_eq!(out.trim(), "deployment.apps/web restarted");
    let out = kubectl(
        &c,
        &[
            "-n",
            "team-a",
            "rollout",
            "status",
            "deployment/web",
            "--timeout=30s",
        ],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let d = json(&kubectl(
        &c,
        &["-n", "team-a", "get", "deploy", "web", "-o", "json"],
    ));
    assert!(
        d.pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
            .is_some(),
        "{d}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingresses_get_a_load_balancer_address() {
    let c = start().await;
    kubectl(&c, &["create", "namespace", "web"]);
    let ing = r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
  namespace: web
spec:
  rules:
  - host: site.example.org
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: site
            port: {number: 80}
"#;
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(ing));
    assert_eq!(out.trim(), "ingress.networking.k8s.io/site created");
    let ip = eventually(Duration::from_secs(10), || {
        let s = json(&kubectl(
            &c,
            &["-n", "web", "get", "ingress", "site", "-o", "json"],
        ));
        s["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    assert_eq!(ip, "172.18.254.1");
}
