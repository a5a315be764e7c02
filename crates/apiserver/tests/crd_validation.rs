//! CRD schema checks kube-apiserver performs (`pattern`, `format`) and the reporting of
//! `x-kubernetes-validations` (CEL) rules, which ferry does not evaluate.

mod common;

use common::*;

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
            x-kubernetes-validations:
            - rule: "self.replicas <= self.maxReplicas"
              message: replicas must not exceed maxReplicas
            properties:
              code: {type: string, pattern: '^[a-z]{2}-[0-9]+$'}
              since: {type: string, format: date-time}
              owner: {type: string, format: email}
              addr: {type: string, format: ipv4}
              replicas: {type: integer}
              maxReplicas: {type: integer}
"#;

fn gadget(spec: &str) -> String {
    format!(
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {{name: g, namespace: default}}\nspec: {spec}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_formats_and_cel_reporting() {
    let c = start().await;
    let out = kubectl_raw(&c, &["apply", "-f", "-"], Some(CRD));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "Warning: ferry: x-kubernetes-validations (CEL) rules are not evaluated (v1:.spec)"
        ),
        "{stderr}"
    );
    let crd: serde_json::Value = serde_json::from_str(&kubectl(
        &c,
        &["get", "crd", "gadgets.example.com", "-o", "json"],
    ))
    .expect("json");
    let cond = crd["status"]["conditions"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["type"] == "ValidationRulesNotEvaluated")
        })
        .unwrap_or_else(|| panic!("{crd}"));
    assert_eq!(cond["status"], "True");
    assert!(
        cond["message"]
            .as_str()
            .is_some_and(|m| m.contains("v1:.spec"))
    );
    kubectl(
        &c,
        &[
            "wait",
            "--for=condition=Established",
            "crd/gadgets.example.com",
            "--timeout=20s",
        ],
    );

    let ok = gadget(
        "{code: ab-12, since: '2025-01-02T03:04:05Z', owner: a@b.org, addr: 10.0.0.1, replicas: 5, maxReplicas: 1}",
    );
    let out = kubectl_raw(&c, &["apply", "-f", "-"], Some(&ok));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("not evaluated"),
        "custom resources warn too: {stderr}"
    );

    for (spec, expect) in [
        (
            "{code: AB-12}",
            "spec.code in body should match '^[a-z]{2}-[0-9]+$'",
        ),
        (
            "{since: yesterday}",
            "spec.since in body must be of type date-time: \"yesterday\"",
        ),
        (
            "{owner: nobody}",
            "spec.owner in body must be of type email",
        ),
        (
            "{addr: 300.1.1.1}",
            "spec.addr in body must be of type ipv4",
        ),
    ] {
        let out = kubectl_raw(&c, &["apply", "-f", "-"], Some(&gadget(spec)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{spec} was accepted");
        assert!(
            stderr.contains("is invalid") && stderr.contains(expect),
            "{spec}: {stderr}"
        );
    }

    let bad = CRD
        .replace("gadgets", "widgets")
        .replace("gadget", "widget")
        .replace("Gadget", "Widget")
        .replace("'^[a-z]{2}-[0-9]+$'", "'^[a-z(+$'");
    let out = kubectl_raw(&c, &["apply", "-f", "-"], Some(&bad));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "CRD with an invalid pattern was accepted"
    );
    assert!(
        stderr.contains("must be a valid regular expression"),
        "{stderr}"
    );
}
