//! `meta.k8s.io/v1` Table rendering for kubectl, with upstream-like columns.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::registry::ResourceType;

/// Upstream's human-readable duration (`5s`, `3m2s`, `4h`, `2d3h`).
pub fn human_age(created: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(created) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        if secs % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", secs % 60)
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        if h % 24 == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{}h", h % 24)
        }
    } else if d < 365 * 2 {
        format!("{d}d")
    } else {
        format!("{}y", d / 365)
    }
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn n(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn containers(o: &Value, ptr: &str) -> (String, String) {
    let cs = o
        .pointer(ptr)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names = cs
        .iter()
        .map(|c| s(c.get("name")))
        .collect::<Vec<_>>()
        .join(",");
    let images = cs
        .iter()
        .map(|c| s(c.get("image")))
        .collect::<Vec<_>>()
        .join(",");
    (names, images)
}

fn selector_str(o: &Value) -> String {
    o.pointer("/spec/selector")
        .map(|sel| crate::selector::LabelSelector::from_object(sel).render())
        .unwrap_or_default()
}

/// Upstream-like Pod STATUS column.
pub fn pod_status(o: &Value) -> String {
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    for cs in o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = cs.pointer("/state/waiting/reason").and_then(Value::as_str) {
            return r.to_string();
        }
        if let Some(r) = cs
            .pointer("/state/terminated/reason")
            .and_then(Value::as_str)
        {
            return r.to_string();
        }
    }
    s(o.pointer("/status/phase"))
}

type Col = (&'static str, &'static str, i64);

fn columns(t: &ResourceType) -> Vec<Col> {
    let c = |n, ty, p| (n, ty, p);
    match (t.group.as_str(), t.kind.as_str()) {
        ("apps", "Deployment") => vec![
            c("Ready", "string", 0),
            c("Up-to-date", "string", 0),
            c("Available", "string", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("apps", "ReplicaSet") => vec![
            c("Desired", "integer", 0),
            c("Current", "integer", 0),
            c("Ready", "integer", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("apps", "StatefulSet") => vec![
            c("Ready", "string", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
        ],
        ("apps", "DaemonSet") => vec![
            c("Desired", "integer", 0),
            c("Current", "integer", 0),
            c("Ready", "integer", 0),
            c("Up-to-date", "integer", 0),
            c("Available", "integer", 0),
            c("Node Selector", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "Pod") => vec![
            c("Ready", "string", 0),
            c("Status", "string", 0),
            c("Restarts", "string", 0),
            c("Age", "string", 0),
            c("IP", "string", 1),
            c("Node", "string", 1),
            c("Nominated Node", "string", 1),
            c("Readiness Gates", "string", 1),
        ],
        ("", "Service") => vec![
            c("Type", "string", 0),
            c("Cluster-IP", "string", 0),
            c("External-IP", "string", 0),
            c("Port(s)", "string", 0),
            c("Age", "string", 0),
            c("Selector", "string", 1),
        ],
        ("", "ConfigMap") => vec![c("Data", "integer", 0), c("Age", "string", 0)],
        ("", "Secret") => vec![
            c("Type", "string", 0),
            c("Data", "integer", 0),
            c("Age", "string", 0),
        ],
        ("", "Namespace") => vec![c("Status", "string", 0), c("Age", "string", 0)],
        ("", "Node") => vec![
            c("Status", "string", 0),
            c("Roles", "string", 0),
            c("Age", "string", 0),
            c("Version", "string", 0),
            c("Internal-IP", "string", 1),
        ],
        ("", "PersistentVolumeClaim") => vec![
            c("Status", "string", 0),
            c("Volume", "string", 0),
            c("Capacity", "string", 0),
            c("Access Modes", "string", 0),
            c("StorageClass", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "ServiceAccount") => vec![c("Secrets", "integer", 0), c("Age", "string", 0)],
        ("batch", "Job") => vec![
            c("Status", "string", 0),
            c("Completions", "string", 0),
            c("Duration", "string", 0),
            c("Age", "string", 0),
        ],
        ("batch", "CronJob") => vec![
            c("Schedule", "string", 0),
            c("Suspend", "boolean", 0),
            c("Active", "integer", 0),
            c("Last Schedule", "string", 0),
            c("Age", "string", 0),
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => vec![c("Created At", "date", 0)],
        _ => vec![c("Age", "string", 0)],
    }
}

fn cells(t: &ResourceType, o: &Value) -> Vec<Value> {
    let age = human_age(&s(o.pointer("/metadata/creationTimestamp")));
    let st = |p: &str| o.pointer(p);
    match (t.group.as_str(), t.kind.as_str()) {
        ("apps", "Deployment") => {
            let (cn, im) = containers(o, "/spec/template/spec/containers");
            vec![
                json!(format!(
                    "{}/{}",
                    n(st("/status/readyReplicas")),
                    n(st("/spec/replicas"))
                )),
                json!(n(st("/status/updatedReplicas"))),
                json!(n(st("/status/availableReplicas"))),
                json!(age),
                json!(cn),
                json!(im),
                json!(selector_str(o)),
            ]
        }
        ("apps", "ReplicaSet") => {
            let (cn, im) = containers(o, "/spec/template/spec/containers");
            vec![
                json!(n(st("/spec/replicas"))),
                json!(n(st("/status/replicas"))),
                json!(n(st("/status/readyReplicas"))),
                json!(age),
                json!(cn),
                json!(im),
                json!(selector_str(o)),
            ]
        }
        ("apps", "StatefulSet") => {
            let (cn, im) = containers(o, "/spec/template/spec/containers");
            vec![
                json!(format!(
                    "{}/{}",
                    n(st("/status/readyReplicas")),
                    n(st("/spec/replicas"))
                )),
                json!(age),
                json!(cn),
                json!(im),
            ]
        }
        ("apps", "DaemonSet") => vec![
            json!(n(st("/status/desiredNumberScheduled"))),
            json!(n(st("/status/currentNumberScheduled"))),
            json!(n(st("/status/numberReady"))),
            json!(n(st("/status/updatedNumberScheduled"))),
            json!(n(st("/status/numberAvailable"))),
            json!(or_none(
                st("/spec/template/spec/nodeSelector")
                    .and_then(Value::as_object)
                    .map(|m| m
                        .iter()
                        .map(|(k, v)| format!("{k}={}", s(Some(v))))
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default()
            )),
            json!(age),
        ],
        ("", "Pod") => {
            let statuses = st("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = st("/spec/containers")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            let ready = statuses
                .iter()
                .filter(|c| c.get("ready") == Some(&json!(true)))
                .count();
            let restarts: i64 = statuses.iter().map(|c| n(c.get("restartCount"))).sum();
            vec![
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts.to_string()),
                json!(age),
                json!(or_none(s(st("/status/podIP")))),
                json!(or_none(s(st("/spec/nodeName")))),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        ("", "Service") => {
            let ports = st("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| match p.get("nodePort") {
                            Some(np) => format!(
                                "{}:{}/{}",
                                s(p.get("port")),
                                s(Some(np)),
                                s(p.get("protocol"))
                            ),
                            None => format!("{}/{}", s(p.get("port")), s(p.get("protocol"))),
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let ext = st("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|i| s(i.get("ip").or(i.get("hostname"))))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|x| !x.is_empty())
                .unwrap_or_else(|| {
                    if s(st("/spec/type")) == "LoadBalancer" {
                        "<pending>".into()
                    } else {
                        "<none>".into()
                    }
                });
            let sel = st("/spec/selector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", s(Some(v))))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                json!(s(st("/spec/type"))),
                json!(or_none(s(st("/spec/clusterIP")))),
                json!(ext),
                json!(or_none(ports)),
                json!(age),
                json!(or_none(sel)),
            ]
        }
        ("", "ConfigMap") => {
            let count = st("/data")
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(0)
                + st("/binaryData")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0);
            vec![json!(count), json!(age)]
        }
        ("", "Secret") => vec![
            json!(s(st("/type"))),
            json!(
                st("/data")
                    .and_then(Value::as_object)
                    .map(|m| m.len())
                    .unwrap_or(0)
            ),
            json!(age),
        ],
        ("", "Namespace") => vec![json!(s(st("/status/phase"))), json!(age)],
        ("", "Node") => {
            let ready = st("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .map(|c| c["status"] == "True")
                .unwrap_or(false);
            let ip = st("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
                .map(|x| s(x.get("address")))
                .unwrap_or_default();
            vec![
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
                json!(age),
                json!(s(st("/status/nodeInfo/kubeletVersion"))),
                json!(ip),
            ]
        }
        ("", "PersistentVolumeClaim") => vec![
            json!(s(st("/status/phase"))),
            json!(s(st("/spec/volumeName"))),
            json!(s(st("/status/capacity/storage"))),
            json!(
                st("/status/accessModes")
                    .and_then(Value::as_array)
                    .map(|a| a
                        .iter()
                        .map(|m| match m.as_str() {
                            Some("ReadWriteOnce") => "RWO",
                            Some("ReadOnlyMany") => "ROX",
                            Some("ReadWriteMany") => "RWX",
                            _ => "RWOP",
                        })
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default()
            ),
            json!(or_none(s(st("/spec/storageClassName")))),
            json!(age),
        ],
        ("", "ServiceAccount") => vec![
            json!(
                st("/secrets")
                    .and_then(Value::as_array)
                    .map(Vec::len)
                    .unwrap_or(0)
            ),
            json!(age),
        ],
        ("batch", "Job") => {
            let conds = st("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let has = |ty: &str| {
                conds
                    .iter()
                    .any(|c| c["type"] == ty && c["status"] == "True")
            };
            let status = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else {
                "Running"
            };
            vec![
                json!(status),
                json!(format!(
                    "{}/{}",
                    n(st("/status/succeeded")),
                    n(st("/spec/completions"))
                )),
                json!(""),
                json!(age),
            ]
        }
        ("batch", "CronJob") => vec![
            json!(s(st("/spec/schedule"))),
            json!(st("/spec/suspend").cloned().unwrap_or(json!(false))),
            json!(
                st("/status/active")
                    .and_then(Value::as_array)
                    .map(Vec::len)
                    .unwrap_or(0)
            ),
            json!(or_none(s(st("/status/lastScheduleTime")))),
            json!(age),
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![json!(s(st("/metadata/creationTimestamp")))]
        }
        _ => vec![json!(age)],
    }
}

/// Renders objects as a Table.
pub fn table(t: &ResourceType, version: &str, objs: &[Arc<Value>], rv: &str) -> Value {
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    let rows: Vec<Value>;
    if let Some(cv) = t.crd_version(version) {
        for c in &cv.printer_columns {
            defs.push(json!({"name": c["name"], "type": c.get("type").cloned().unwrap_or(json!("string")), "format": c.get("format").cloned().unwrap_or(json!("")), "description": c.get("description").cloned().unwrap_or(json!("")), "priority": c.get("priority").cloned().unwrap_or(json!(0))}));
        }
        let has_age = cv
            .printer_columns
            .iter()
            .any(|c| c["jsonPath"] == ".metadata.creationTimestamp");
        if !has_age {
            defs.push(json!({"name": "Age", "type": "date", "format": "", "description": "", "priority": 0}));
        }
        rows = objs
            .iter()
            .map(|o| {
                let mut cells = vec![json!(s(o.pointer("/metadata/name")))];
                for c in &cv.printer_columns {
                    let path = c["jsonPath"].as_str().unwrap_or("");
                    let v = crate::api::get_path(o, path)
                        .cloned()
                        .unwrap_or(Value::Null);
                    let v = if c["type"] == "date" {
                        json!(human_age(&s(Some(&v))))
                    } else {
                        v
                    };
                    cells.push(v);
                }
                if !has_age {
                    cells.push(json!(human_age(&s(
                        o.pointer("/metadata/creationTimestamp")
                    ))));
                }
                row(o, cells)
            })
            .collect();
    } else {
        for (name, ty, prio) in columns(t) {
            defs.push(json!({"name": name, "type": ty, "format": "", "description": "", "priority": prio}));
        }
        rows = objs
            .iter()
            .map(|o| {
                let mut c = vec![json!(s(o.pointer("/metadata/name")))];
                c.extend(cells(t, o));
                row(o, c)
            })
            .collect();
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": defs, "rows": rows})
}

fn row(o: &Value, cells: Vec<Value>) -> Value {
    let m = &o["metadata"];
    let mut meta = json!({"name": m["name"], "uid": m["uid"], "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]});
    for k in [
        "namespace",
        "labels",
        "annotations",
        "deletionTimestamp",
        "ownerReferences",
        "generation",
    ] {
        if let Some(v) = m.get(k) {
            meta[k] = v.clone();
        }
    }
    json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
}
