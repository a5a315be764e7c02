//! Server-side apply on custom resources through the real kubectl: the CRD schema's
//! `x-kubernetes-list-type` (`map` with `x-kubernetes-list-map-keys`, `set`, `atomic`) and
//! `x-kubernetes-map-type: atomic` decide merging, ownership and conflicts; `Update`
//! managedFields entries are kept per apiVersion.

mod common;

use common::*;
use serde_json::Value;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: routers.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: routers, singular: router, kind: Router}
  versions:
  - name: v1
    served: true
    storage: true
    schema: &schema
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name, protocol]
                items:
                  type: object
                  required: [name, protocol]
                  properties:
                    name: {type: string}
                    protocol: {type: string}
                    port: {type: integer}
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
              args:
                type: array
                items: {type: string}
              selector:
                type: object
                x-kubernetes-map-type: atomic
                additionalProperties: {type: string}
              labels:
                type: object
                additionalProperties: {type: string}
  - name: v1beta1
    served: true
    storage: false
    schema: *schema
"#;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn router(spec: &str) -> String {
    format!(
        "apiVersion: example.com/v1\nkind: Router\nmetadata: {{name: r, namespace: default}}\nspec: {spec}\n"
    )
}

fn ssa(c: &Cluster, manager: &str, spec: &str, force: bool) -> std::process::Output {
    let fm = format!("--field-manager={manager}");
    let mut args = vec!["apply", "--server-side", fm.as_str(), "-f", "-"];
    if force {
        args.push("--force-conflicts");
    }
    kubectl_raw(c, &args, Some(&router(spec)))
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get(c: &Cluster) -> Value {
    json(&kubectl(
        c,
        &[
            "get",
            "routers.v1.example.com",
            "r",
            "-o",
            "json",
            "--show-managed-fields",
        ],
    ))
}

fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["manager"] == manager)
        .unwrap_or_else(|| panic!("no entry for {manager}: {obj}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssa_on_custom_resources_follows_list_and_map_types() {
    let c = start().await;
    kubectl_in(&c, &["apply", "-f", "-"], Some(CRD));
    kubectl(
        &c,
        &[
            "wait",
            "--for=condition=Established",
            "crd/routers.example.com",
        ],
    );

    ok(ssa(
        &c,
        "alice",
        "{ports: [{name: web, protocol: TCP, port: 80}], tags: [x], args: [a, b], selector: {app: web, tier: fe}, labels: {a: '1'}}",
        false,
    ));
    let obj = get(&c);
    let f = &entry(&obj, "alice")["fieldsV1"]["f:spec"];
    assert!(
        f["f:ports"]
            .get(r#"k:{"name":"web","protocol":"TCP"}"#)
            .is_some(),
        "list-map key of both key fields: {f}"
    );
    assert!(f["f:tags"].get(r#"v:"x""#).is_some(), "set member: {f}");
    assert_eq!(
        f["f:selector"],
        serde_json::json!({}),
        "atomic map is a leaf: {f}"
    );
    assert_eq!(
        f["f:args"],
        serde_json::json!({}),
        "atomic list is a leaf: {f}"
    );

    // bob adds another port, tag and label: merged, no conflict.
    ok(ssa(
        &c,
        "bob",
        "{ports: [{name: dns, protocol: UDP, port: 53}], tags: [green], labels: {b: '2'}}",
        false,
    ));
    let obj = get(&c);
    assert_eq!(
        obj["spec"]["ports"].as_array().map(Vec::len),
        Some(2),
        "{obj}"
    );
    assert_eq!(obj["spec"]["tags"], serde_json::json!(["x", "green"]));
    assert_eq!(
        obj["spec"]["labels"],
        serde_json::json!({"a": "1", "b": "2"})
    );

    // bob's selector (atomic, owned by alice) and args (atomic list) conflict…
    let out = ssa(&c, "bob", "{selector: {app: api}, args: [c]}", false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conflict with \"alice\""), "{err}");
    assert!(err.contains(".spec.selector"), "{err}");
    assert!(err.contains(".spec.args"), "{err}");
    // …until forced: the atomic values are replaced whole, not merged.
    ok(ssa(&c, "bob", "{selector: {app: api}, args: [c]}", true));
    let obj = get(&c);
    assert_eq!(obj["spec"]["selector"], serde_json::json!({"app": "api"}));
    assert_eq!(obj["spec"]["args"], serde_json::json!(["c"]));
    assert!(
        entry(&obj, "alice")["fieldsV1"]["f:spec"]
            .get("f:selector")
            .is_none(),
        "alice lost the selector: {obj}"
    );
    // bob's earlier port/tag/label are no longer in his apply: removed (he owned them alone).
    assert_eq!(
        obj["spec"]["ports"].as_array().map(Vec::len),
        Some(1),
        "{obj}"
    );
    assert_eq!(obj["spec"]["tags"], serde_json::json!(["x"]));
    assert_eq!(obj["spec"]["labels"], serde_json::json!({"a": "1"}));

    // Update entries are per apiVersion: kubectl label through v1 and through v1beta1.
    kubectl(
        &c,
        &[
            "label",
            "routers.v1.example.com",
            "r",
            "one=1",
            "--field-manager=labeler",
        ],
    );
    kubectl(
        &c,
        &[
            "label",
            "routers.v1beta1.example.com",
            "r",
            "two=2",
            "--field-manager=labeler",
        ],
    );
    let obj = get(&c);
    let mut versions: Vec<&str> = obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter(|e| e["manager"] == "labeler")
        .map(|e| {
            assert_eq!(e["operation"], "Update");
            e["apiVersion"].as_str().unwrap_or_default()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, ["example.com/v1", "example.com/v1beta1"], "{obj}");
    // An applier keeps one entry, whose apiVersion follows its last apply.
    let beta =
        router("{ports: [{name: web, protocol: TCP, port: 80}], tags: [x], labels: {a: '1'}}")
            .replace("example.com/v1\n", "example.com/v1beta1\n");
    ok(kubectl_raw(
        &c,
        &["apply", "--server-side", "--field-manager=alice", "-f", "-"],
        Some(&beta),
    ));
    let obj = get(&c);
    let alice: Vec<&Value> = obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter(|e| e["manager"] == "alice")
        .collect();
    assert_eq!(alice.len(), 1, "{obj}");
    assert_eq!(alice[0]["apiVersion"], "example.com/v1beta1");
}
