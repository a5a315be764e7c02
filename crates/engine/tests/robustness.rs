//! Robustness: every public entry point accepts arbitrary JSON without panicking. Objects are
//! generated deterministically from Kubernetes-like field names and mistyped values.

use engine::diff::{
    IgnoreDifference, IgnoreDifferences, diff_create_or_delete, diff_desired_fields,
    diff_server_side, diff_server_side_without_mutations, hide_secret_data,
    respect_ignore_differences, unified_yaml_diff,
};
use engine::health::{HealthOptions, ManagedResource, app_health, resource_health};
use engine::sync::options::SyncOptions;
use engine::sync::plan::{PlanOptions, Rendered, plan_sync, reconcile};
use engine::sync::progress::{hook_phase, resource_phase};
use engine::sync::tracking::{Tracking, TrackingId};
use engine::yaml::to_yaml;
use serde_json::{Map, Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() as usize) % xs.len()]
    }
}

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "annotations",
    "labels",
    "spec",
    "status",
    "replicas",
    "updatedReplicas",
    "availableReplicas",
    "readyReplicas",
    "observedGeneration",
    "generation",
    "conditions",
    "type",
    "reason",
    "message",
    "phase",
    "containerStatuses",
    "state",
    "waiting",
    "terminated",
    "lastState",
    "restartPolicy",
    "paused",
    "updateStrategy",
    "rollingUpdate",
    "partition",
    "loadBalancer",
    "ingress",
    "health",
    "managedFields",
    "fieldsV1",
    "f:spec",
    "k:{\"name\":\"a\"}",
    ".",
    "manager",
    "operation",
    "data",
    "stringData",
    "deletionTimestamp",
    "finalizers",
    "template",
    "containers",
    "image",
    "resources",
    "limits",
    "cpu",
    "argocd.argoproj.io/hook",
    "argocd.argoproj.io/sync-wave",
    "helm.sh/hook",
    "argocd.argoproj.io/sync-options",
    "argocd.argoproj.io/tracking-id",
    "lastScheduleTime",
    "active",
    "suspend",
    "ü\u{0}é",
];

const STRINGS: &[&str] = &[
    "",
    "v1",
    "apps/v1",
    "batch/v1",
    "Deployment",
    "Pod",
    "Job",
    "CronJob",
    "Service",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Ingress",
    "networking.k8s.io/v1",
    "True",
    "False",
    "Running",
    "Failed",
    "Succeeded",
    "Pending",
    "Always",
    "Never",
    "LoadBalancer",
    "CrashLoopBackOff",
    "PreSync,PostSync",
    "Skip",
    "pre-install",
    "test",
    "-3",
    "x",
    "Prune=false,PruneLast=true",
    "web:apps/Deployment:web/web",
    "1000m",
    "1Gi",
    "OnDelete",
    "RollingUpdate",
    "argoproj.io/v1alpha1",
    "Application",
    "HorizontalPodAutoscaler",
    "autoscaling/v2",
    "apiregistration.k8s.io/v1",
    "APIService",
    "PersistentVolumeClaim",
    "Bound",
    "ProgressDeadlineExceeded",
    "Apply",
    "ferry",
    "line1\nline2",
    "ünï\tcode",
];

fn gen_value(r: &mut Rng, depth: u32) -> Value {
    match r.next() % if depth > 4 { 4 } else { 7 } {
        0 => Value::Null,
        1 => json!(r.next().is_multiple_of(2)),
        2 => json!((r.next() % 7) as i64 - 2),
        3 => json!(r.pick(STRINGS)),
        4 | 5 => {
            let mut m = Map::new();
            for _ in 0..(r.next() % 5) {
                m.insert(r.pick(KEYS).to_string(), gen_value(r, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Array(
            (0..(r.next() % 3))
                .map(|_| gen_value(r, depth + 1))
                .collect(),
        ),
    }
}

fn gen_object(r: &mut Rng) -> Value {
    let mut v = gen_value(r, 0);
    if !r.next().is_multiple_of(3)
        && let Some(m) = v.as_object_mut()
    {
        m.insert("apiVersion".into(), json!(r.pick(STRINGS)));
        m.insert("kind".into(), json!(r.pick(STRINGS)));
    }
    v
}

#[test]
fn arbitrary_objects_never_panic() {
    let mut r = Rng(0x5eed);
    let opts = HealthOptions::default();
    let rules = IgnoreDifferences::new(&[IgnoreDifference {
        group: "*".into(),
        kind: "*".into(),
        json_pointers: vec!["/spec/replicas".into(), "/metadata/annotations/x~1y".into()],
        jq_path_expressions: vec![
            ".spec.template.spec.containers[] | select(.name == \"a\") | .image".into(),
            ".metadata.labels[\"x\"]".into(),
        ],
        managed_fields_managers: vec!["ferry".into()],
        ..Default::default()
    }])
    .expect("valid rules");
    let tracking = Tracking::annotation("web", "web");
    let scope = |_: &str, k: &str| match k {
        "Namespace" => Some(false),
        "Pod" => None,
        _ => Some(true),
    };
    for _ in 0..1000 {
        let a = gen_object(&mut r);
        let b = gen_object(&mut r);
        let _ = resource_health(&a);
        let _ = hook_phase(&a, &opts);
        let _ = resource_phase(&b, &opts);
        let _ = diff_desired_fields(&a, &b, &rules);
        let _ = diff_server_side(&a, &b, &rules);
        let _ = diff_server_side_without_mutations(&a, &b, "ferry", &rules);
        let _ = diff_create_or_delete(Some(&a), None, &rules);
        let _ = respect_ignore_differences(&a, &b, &rules);
        let _ = hide_secret_data(Some(&a), Some(&b));
        let _ = unified_yaml_diff(Some(&a), Some(&b), "x");
        let _ = to_yaml(&a);
        let _ = TrackingId::parse(a.as_str().unwrap_or("a:b/c:d/e"));
        let _ = tracking.is_managed(&a);
        let _ = SyncOptions::from_annotation(&a);
        let _ = app_health(
            &[ManagedResource {
                target: Some(&a),
                live: Some(&b),
            }],
            &opts,
            None,
        );
        let rendered = Rendered::from_render::<()>(Ok(vec![a.clone(), b.clone()])).expect("ok");
        let rec = reconcile(&rendered, std::slice::from_ref(&b), &tracking, &scope);
        let so = SyncOptions::parse(["CreateNamespace=true", "PruneLast=true"]);
        let _ = plan_sync(
            &rec,
            &PlanOptions {
                sync_options: &so,
                prune: true,
                prune_confirmed: false,
                skip_hooks: false,
                resource_filter: None,
                revision: "ü",
                started_at_unix: 0,
                namespace: "web",
                is_namespaced: &scope,
                live_namespace: None,
                managed_namespace_metadata: Some(&a),
                ignore: None,
            },
        );
    }
}

#[test]
fn arbitrary_jq_and_durations_never_panic() {
    let mut r = Rng(42);
    let pieces = [
        ".", "a", "[", "]", "\"", "|", "select(", ")", "==", "0", "-1", "ü", " ", "\\", "[]", ".b",
    ];
    for _ in 0..2000 {
        let expr: String = (0..(r.next() % 8)).map(|_| *r.pick(&pieces)).collect();
        let rules = IgnoreDifferences::new(&[IgnoreDifference {
            kind: "*".into(),
            group: "*".into(),
            jq_path_expressions: vec![expr.clone()],
            ..Default::default()
        }]);
        if let Ok(rules) = rules {
            let v = gen_object(&mut r);
            let _ = diff_desired_fields(&v, &v, &rules);
        }
        let _ = engine::sync::retry::parse_duration(&expr);
    }
}

#[test]
fn large_apps_plan_quickly() {
    // 4000 desired objects, 4000 live ones (half matching): reconcile and plan must stay
    // near-linear (this would take minutes if quadratic with allocations).
    let tracking = Tracking::annotation("big", "big");
    let desired: Vec<Value> = (0..4000)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}"),
            "annotations": {"argocd.argoproj.io/sync-wave": format!("{}", i % 7)}}})
        })
        .collect();
    let live: Vec<Value> = (2000..6000)
        .map(|i| {
            let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}"), "namespace": "big"}});
            tracking.mark(&mut o);
            o
        })
        .collect();
    let scope = |_: &str, _: &str| Some(true);
    let start = std::time::Instant::now();
    let rec = reconcile(
        &Rendered::from_render::<()>(Ok(desired)).expect("ok"),
        &live,
        &tracking,
        &scope,
    );
    assert_eq!(rec.prune_candidates().count(), 2000);
    let so = SyncOptions::default();
    let plan = plan_sync(
        &rec,
        &PlanOptions {
            sync_options: &so,
            prune: true,
            prune_confirmed: false,
            skip_hooks: false,
            resource_filter: None,
            revision: "abc",
            started_at_unix: 0,
            namespace: "big",
            is_namespaced: &scope,
            live_namespace: None,
            managed_namespace_metadata: None,
            ignore: None,
        },
    );
    assert_eq!(plan.tasks.len(), 6000);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}
