//! CRD version conversion through the real kubectl: `strategy: None` serves every stored
//! object at every served version (apiVersion rewritten, the version's schema pruning and
//! defaulting applied); `strategy: Webhook` is reported, not silently ignored.

mod common;

use common::*;
use serde_json::Value;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string, default: red}
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              mode: {type: string, default: fast}
              legacy: {type: string}
"#;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_strategy_serves_every_version() {
    let c = start().await;
    kubectl_in(&c, &["apply", "-f", "-"], Some(CRD));
    kubectl(
        &c,
        &[
            "wait",
            "--for=condition=Established",
            "crd/gadgets.example.com",
        ],
    );
    let crd = json(&kubectl(
        &c,
        &["get", "crd", "gadgets.example.com", "-o", "json"],
    ));
    assert_eq!(crd["spec"]["conversion"]["strategy"], "None");

    // Written at v1beta1: stored at v1 (legacy and mode are not in v1's schema).
    let old = "apiVersion: example.com/v1beta1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\nspec: {size: 3, legacy: x}\n";
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(old));
    assert_eq!(out.trim(), "gadget.example.com/g1 created");

    let v1 = json(&kubectl(
        &c,
        &["get", "gadgets.v1.example.com", "g1", "-o", "json"],
    ));
    assert_eq!(v1["apiVersion"], "example.com/v1");
    assert_eq!(v1["spec"]["size"], 3);
    assert_eq!(v1["spec"]["color"], "red", "v1 default applied: {v1}");
    assert!(v1["spec"].get("legacy").is_none(), "pruned at v1: {v1}");
    assert!(v1["spec"].get("mode").is_none(), "not a v1 field: {v1}");

    // Read back at v1beta1: v1beta1's default appears, v1-only color is pruned.
    let beta = json(&kubectl(
        &c,
        &["get", "gadgets.v1beta1.example.com", "g1", "-o", "json"],
    ));
    assert_eq!(beta["apiVersion"], "example.com/v1beta1");
    assert_eq!(beta["spec"]["size"], 3);
    assert_eq!(beta["spec"]["mode"], "fast", "v1beta1 default: {beta}");
    assert!(
        beta["spec"].get("color").is_none(),
        "pruned at v1beta1: {beta}"
    );
    assert_eq!(
        beta["metadata"]["resourceVersion"],
        v1["metadata"]["resourceVersion"]
    );

    // Lists at each version, and an update through v1.
    let list = json(&kubectl(
        &c,
        &["get", "gadgets.v1beta1.example.com", "-o", "json"],
    ));
    assert_eq!(list["items"][0]["apiVersion"], "example.com/v1beta1");
    let new = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\nspec: {size: 5, color: blue}\n";
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(new));
    assert_eq!(out.trim(), "gadget.example.com/g1 configured");
    let beta = json(&kubectl(
        &c,
        &["get", "gadgets.v1beta1.example.com", "g1", "-o", "json"],
    ));
    assert_eq!(beta["spec"]["size"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_strategy_is_reported() {
    let c = start().await;
    let crd = CRD.replacen(
        "  scope: Namespaced\n",
        "  scope: Namespaced\n  conversion:\n    strategy: Webhook\n    webhook:\n      conversionReviewVersions: [v1]\n      clientConfig:\n        service: {name: conv, namespace: default, path: /convert}\n",
        1,
    );
    kubectl_in(&c, &["apply", "-f", "-"], Some(&crd));
    kubectl(
        &c,
        &[
            "wait",
            "--for=condition=Established",
            "crd/gadgets.example.com",
        ],
    );
    let crd = json(&kubectl(
        &c,
        &["get", "crd", "gadgets.example.com", "-o", "json"],
    ));
    let cond = crd["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "ConversionWebhookUnavailable")
        .unwrap_or_else(|| panic!("no conversion condition: {crd}"))
        .clone();
    assert_eq!(cond["status"], "True");
    assert!(
        cond["message"].as_str().unwrap_or_default().contains("v1"),
        "{cond}"
    );

    // The storage version needs no conversion.
    let v1 = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\nspec: {size: 3}\n";
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(v1));
    assert_eq!(out.trim(), "gadget.example.com/g1 created");
    let got = json(&kubectl(
        &c,
        &["get", "gadgets.v1.example.com", "g1", "-o", "json"],
    ));
    assert_eq!(got["spec"]["size"], 3);

    // Any other version would need the webhook: reads and writes fail with a clear error.
    let out = kubectl_raw(
        &c,
        &["get", "gadgets.v1beta1.example.com", "g1", "-o", "json"],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conversion webhook"), "{err}");
    let beta = "apiVersion: example.com/v1beta1\nkind: Gadget\nmetadata: {name: g2, namespace: default}\nspec: {size: 1}\n";
    let out = kubectl_raw(&c, &["create", "-f", "-"], Some(beta));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot call conversion webhooks"), "{err}");
}
