//! Discovery documents: aggregated (`apidiscovery.k8s.io/v2`) and legacy.

use serde_json::{Value, json};

use crate::registry::{Registry, ResourceType, gv};

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn subresources(t: &ResourceType, version: &str) -> Vec<(&'static str, String, String, String)> {
    let mut out = Vec::new();
    let status = t.status || t.crd_version(version).is_some_and(|v| v.status);
    if status {
        out.push((
            "status",
            t.group.clone(),
            version.to_string(),
            t.kind.clone(),
        ));
    }
    let scale = t.scale.is_some() || t.crd_version(version).is_some_and(|v| v.scale.is_some());
    if scale {
        out.push(("scale", "autoscaling".into(), "v1".into(), "Scale".into()));
    }
    out
}

fn aggregated_resource(t: &ResourceType, version: &str) -> Value {
    let mut r = json!({
        "resource": t.plural, "singularResource": t.singular,
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "responseKind": {"group": t.group, "version": version, "kind": t.kind},
        "verbs": VERBS,
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    let subs: Vec<Value> = subresources(t, version)
        .into_iter()
        .map(|(s, g, v, k)| json!({"subresource": s, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": ["get", "patch", "update"]}))
        .collect();
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// `APIGroupDiscoveryList` for `/api` (core) or `/apis` (named groups).
pub fn aggregated(registry: &Registry, core: bool) -> Value {
    let all = registry.all();
    let groups: Vec<(String, Vec<String>)> = if core {
        vec![(String::new(), vec!["v1".to_string()])]
    } else {
        registry.groups()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|(g, versions)| {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = all
                        .iter()
                        .filter(|t| &t.group == g && t.versions.contains(v))
                        .map(|t| aggregated_resource(t, v))
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut item = json!({"metadata": {"creationTimestamp": null}, "versions": vs});
            if !g.is_empty() {
                item["metadata"]["name"] = json!(g);
            }
            item
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// Legacy `/api`.
pub fn api_versions(addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
}

fn group_entry(g: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": gv(g, v), "version": v}))
        .collect();
    json!({"name": g, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

/// Legacy `/apis`.
pub fn api_group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .iter()
        .map(|(g, vs)| group_entry(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Legacy `/apis/<group>`.
pub fn api_group(registry: &Registry, group: &str) -> Option<Value> {
    registry
        .groups()
        .into_iter()
        .find(|(g, _)| g == group)
        .map(|(g, vs)| {
            let mut e = group_entry(&g, &vs);
            e["kind"] = json!("APIGroup");
            e["apiVersion"] = json!("v1");
            e
        })
}

/// Legacy `/api/v1` or `/apis/<group>/<version>`.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types: Vec<_> = registry
        .all()
        .into_iter()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        let mut r = json!({"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind, "verbs": VERBS});
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        for (s, g, v, k) in subresources(t, version) {
            let mut sr = json!({"name": format!("{}/{s}", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": k, "verbs": ["get", "patch", "update"]});
            if g != t.group {
                sr["group"] = json!(g);
                sr["version"] = json!(v);
            }
            resources.push(sr);
        }
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv(group, version), "resources": resources}),
    )
}
