//! OpenAPI v2 and v3 as kubectl and other clients read them: the Swagger 2.0 document at
//! `/openapi/v2` (JSON, 406 to protobuf-only clients), derived from the same schemas as the
//! per-group/version v3 documents, CRDs included; `kubectl explain` at non-storage versions.

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
              size: {type: integer, description: Number of parts.}
"#;

/// Calls `f` on every keyword of every schema in `v` (property names are not keywords).
fn walk(v: &Value, f: &mut impl FnMut(&str, &Value)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                f(k, x);
                match (k.as_str(), x) {
                    ("properties" | "definitions" | "paths", Value::Object(props)) => {
                        props.values().for_each(|p| walk(p, f))
                    }
                    _ => walk(x, f),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_v2_json_with_crds_and_protobuf_refused() {
    let c = start().await;
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(CRD));
    assert!(out.contains("gadgets.example.com created"), "{out}");
    kubectl(
        &c,
        &[
            "wait",
            "--for=condition=Established",
            "crd/gadgets.example.com",
        ],
    );

    let doc: Value = serde_json::from_str(&kubectl(&c, &["get", "--raw", "/openapi/v2"]))
        .expect("/openapi/v2 is JSON");
    assert_eq!(doc["swagger"], "2.0");
    let defs = doc["definitions"].as_object().expect("definitions");
    let dep = &defs["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        dep["x-kubernetes-group-version-kind"][0]["kind"],
        "Deployment"
    );
    let gadget = &defs["com.example.v1.Gadget"];
    assert_eq!(
        gadget["properties"]["spec"]["properties"]["size"]["type"],
        "integer"
    );
    assert!(defs.contains_key("io.k8s.api.events.v1.Event"));
    assert!(defs.contains_key("io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"));
    // Every reference resolves inside the document; no OpenAPI-3-only keyword is left.
    walk(&doc, &mut |k, v| {
        if k == "$ref" {
            let r = v.as_str().unwrap_or_default();
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("v3-style reference {r}"));
            assert!(defs.contains_key(name), "dangling reference {r}");
        }
        assert!(
            !matches!(k, "nullable" | "oneOf" | "anyOf" | "requestBody"),
            "v3 keyword {k} in the v2 document"
        );
    });
    let item = &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/gadgets/{name}"];
    assert_eq!(item["put"]["parameters"][0]["in"], "body");
    assert_eq!(
        item["put"]["parameters"][0]["schema"]["$ref"],
        "#/definitions/com.example.v1.Gadget"
    );
    let path_params: Vec<&str> = item["parameters"]
        .as_array()
        .expect("path parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(path_params, ["namespace", "name"]);
    let dry_run = item["patch"]["parameters"]
        .as_array()
        .expect("patch parameters")
        .iter()
        .find(|p| p["name"] == "dryRun")
        .expect("dryRun");
    assert_eq!(dry_run["in"], "query");
    assert_eq!(dry_run["type"], "string");
    assert!(
        doc["paths"]
            .as_object()
            .expect("paths")
            .contains_key("/apis/apps/v1/namespaces/{namespace}/deployments")
    );

    // What client-go's OpenAPISchema() asks for: protobuf only → 406, JSON → 200.
    let client = kube_client(&c.kubeconfig).await;
    for (accept, code) in [
        (
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            406,
        ),
        ("application/json", 200),
        (
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json;q=0.9",
            200,
        ),
    ] {
        let req = http::Request::get("/openapi/v2")
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .expect("request");
        let resp = client
            .send(req.map(kube::client::Body::from))
            .await
            .expect("send");
        assert_eq!(resp.status().as_u16(), code, "Accept: {accept}");
    }

    // kubectl apply still works (it asks for v2 as protobuf and falls back to v3).
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: default}\ndata: {a: '1'}\n";
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(cm));
    assert_eq!(out.trim(), "configmap/cfg created");
    let cm2 = cm.replace("'1'", "'2'");
    let out = kubectl_in(&c, &["apply", "-f", "-"], Some(&cm2));
    assert_eq!(out.trim(), "configmap/cfg configured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_at_non_storage_versions() {
    let c = start().await;
    let out = kubectl(&c, &["explain", "events", "--api-version=events.k8s.io/v1"]);
    assert!(out.contains("GROUP:      events.k8s.io"), "{out}");
    assert!(out.contains("VERSION:    v1"), "{out}");
    assert!(out.contains("reportingController"), "{out}");
    assert!(out.contains("regarding"), "{out}");

    let out = kubectl(&c, &["explain", "hpa.spec", "--api-version=autoscaling/v1"]);
    assert!(out.contains("VERSION:    v1"), "{out}");
    assert!(out.contains("targetCPUUtilizationPercentage"), "{out}");
    assert!(!out.contains("metrics"), "{out}");

    let out = kubectl(&c, &["explain", "hpa.spec"]);
    assert!(out.contains("VERSION:    v2"), "{out}");
    assert!(out.contains("metrics"), "{out}");
}
