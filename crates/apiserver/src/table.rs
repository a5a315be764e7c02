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

fn arr(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

fn or_unset(s: String) -> String {
    if s.is_empty() { "<unset>".into() } else { s }
}

/// Upstream's list formatting: at most three entries, then `+ N more...`.
fn list_more(items: &[String]) -> String {
    if items.len() > 3 {
        format!("{} + {} more...", items[..3].join(","), items.len() - 3)
    } else {
        items.join(",")
    }
}

fn load_balancer(ingress: Option<&Value>) -> String {
    let addrs: Vec<String> = arr(ingress)
        .iter()
        .filter_map(|i| {
            i.get("ip")
                .or(i.get("hostname"))
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect();
    addrs.join(",")
}

fn access_modes(v: Option<&Value>) -> String {
    arr(v)
        .iter()
        .map(|m| match m.as_str() {
            Some("ReadWriteOnce") => "RWO",
            Some("ReadOnlyMany") => "ROX",
            Some("ReadWriteMany") => "RWX",
            _ => "RWOP",
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// HPA TARGETS: `cpu: 42%/80%` (`<unknown>` before the first measurement).
fn hpa_targets(o: &Value) -> String {
    let current = arr(o.pointer("/status/currentMetrics"));
    let mut out = Vec::new();
    for m in arr(o.pointer("/spec/metrics")) {
        let ty = m["type"].as_str().unwrap_or("");
        let key = match ty {
            "Resource" => "resource",
            "ContainerResource" => "containerResource",
            "Pods" => "pods",
            "Object" => "object",
            "External" => "external",
            _ => continue,
        };
        let spec = &m[key];
        let target = &spec["target"];
        let name = spec
            .pointer("/name")
            .or(spec.pointer("/metric/name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let cur = current
            .iter()
            .find(|c| {
                c["type"] == ty
                    && c[key].pointer("/name").or(c[key].pointer("/metric/name"))
                        == Some(&json!(name))
            })
            .map(|c| &c[key]["current"]);
        let (cur, tgt) = match target["type"].as_str() {
            Some("Utilization") => (
                cur.and_then(|c| c.get("averageUtilization"))
                    .map(|v| format!("{v}%")),
                format!("{}%", s(target.get("averageUtilization"))),
            ),
            Some("AverageValue") => (
                cur.and_then(|c| c.get("averageValue")).map(|v| s(Some(v))),
                s(target.get("averageValue")),
            ),
            _ => (
                cur.and_then(|c| c.get("value")).map(|v| s(Some(v))),
                s(target.get("value")),
            ),
        };
        let cur = cur.unwrap_or_else(|| "<unknown>".into());
        if ty == "Resource" || ty == "ContainerResource" {
            out.push(format!("{name}: {cur}/{tgt}"));
        } else {
            out.push(format!("{cur}/{tgt}"));
        }
    }
    if out.is_empty() {
        "<none>".into()
    } else {
        list_more(&out)
    }
}

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
            c("Timezone", "string", 0),
            c("Suspend", "boolean", 0),
            c("Active", "integer", 0),
            c("Last Schedule", "string", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("networking.k8s.io", "Ingress") => vec![
            c("Class", "string", 0),
            c("Hosts", "string", 0),
            c("Address", "string", 0),
            c("Ports", "string", 0),
            c("Age", "string", 0),
        ],
        ("networking.k8s.io", "IngressClass") => vec![
            c("Controller", "string", 0),
            c("Parameters", "string", 0),
            c("Age", "string", 0),
        ],
        ("autoscaling", "HorizontalPodAutoscaler") => vec![
            c("Reference", "string", 0),
            c("Targets", "string", 0),
            c("MinPods", "string", 0),
            c("MaxPods", "integer", 0),
            c("Replicas", "integer", 0),
            c("Age", "string", 0),
        ],
        ("policy", "PodDisruptionBudget") => vec![
            c("Min Available", "string", 0),
            c("Max Unavailable", "string", 0),
            c("Allowed Disruptions", "integer", 0),
            c("Age", "string", 0),
        ],
        ("", "Endpoints") => vec![c("Endpoints", "string", 0), c("Age", "string", 0)],
        ("discovery.k8s.io", "EndpointSlice") => vec![
            c("AddressType", "string", 0),
            c("Ports", "string", 0),
            c("Endpoints", "string", 0),
            c("Age", "string", 0),
        ],
        ("coordination.k8s.io", "Lease") => vec![c("Holder", "string", 0), c("Age", "string", 0)],
        ("", "PersistentVolume") => vec![
            c("Capacity", "string", 0),
            c("Access Modes", "string", 0),
            c("Reclaim Policy", "string", 0),
            c("Status", "string", 0),
            c("Claim", "string", 0),
            c("StorageClass", "string", 0),
            c("VolumeAttributesClass", "string", 0),
            c("Reason", "string", 0),
            c("Age", "string", 0),
            c("VolumeMode", "string", 1),
        ],
        ("storage.k8s.io", "StorageClass") => vec![
            c("Provisioner", "string", 0),
            c("ReclaimPolicy", "string", 0),
            c("VolumeBindingMode", "string", 0),
            c("AllowVolumeExpansion", "string", 0),
            c("Age", "string", 0),
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            vec![c("Created At", "date", 0)]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            c("Role", "string", 0),
            c("Age", "string", 0),
            c("Users", "string", 1),
            c("Groups", "string", 1),
            c("ServiceAccounts", "string", 1),
        ],
        ("scheduling.k8s.io", "PriorityClass") => vec![
            c("Value", "integer", 0),
            c("Global-Default", "boolean", 0),
            c("Age", "string", 0),
            c("PreemptionPolicy", "string", 0),
        ],
        ("", "ResourceQuota") => vec![
            c("Age", "string", 0),
            c("Request", "string", 0),
            c("Limit", "string", 0),
        ],
        ("" | "events.k8s.io", "Event") => vec![
            c("Last Seen", "string", 0),
            c("Type", "string", 0),
            c("Reason", "string", 0),
            c("Object", "string", 0),
            c("Subobject", "string", 1),
            c("Source", "string", 1),
            c("Message", "string", 0),
            c("First Seen", "string", 1),
            c("Count", "string", 1),
            c("Name", "string", 1),
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
        ("batch", "CronJob") => {
            let (names, images) = containers(o, "/spec/jobTemplate/spec/template/spec/containers");
            let last = s(st("/status/lastScheduleTime"));
            vec![
                json!(s(st("/spec/schedule"))),
                json!(or_none(s(st("/spec/timeZone")))),
                json!(if st("/spec/suspend") == Some(&json!(true)) {
                    "True"
                } else {
                    "False"
                }),
                json!(
                    st("/status/active")
                        .and_then(Value::as_array)
                        .map(Vec::len)
                        .unwrap_or(0)
                ),
                json!(if last.is_empty() {
                    "<none>".to_string()
                } else {
                    human_age(&last)
                }),
                json!(age),
                json!(names),
                json!(images),
                json!(or_none(
                    st("/spec/jobTemplate/spec/selector")
                        .map(|sel| crate::selector::LabelSelector::from_object(sel).render())
                        .unwrap_or_default()
                )),
            ]
        }
        ("networking.k8s.io", "Ingress") => {
            let hosts: Vec<String> = arr(st("/spec/rules"))
                .iter()
                .filter_map(|r| r.get("host").and_then(Value::as_str).map(String::from))
                .collect();
            let ports = if arr(st("/spec/tls")).is_empty() {
                "80"
            } else {
                "80, 443"
            };
            vec![
                json!(or_none(s(st("/spec/ingressClassName")))),
                json!(if hosts.is_empty() {
                    "*".to_string()
                } else {
                    list_more(&hosts)
                }),
                json!(load_balancer(st("/status/loadBalancer/ingress"))),
                json!(ports),
                json!(age),
            ]
        }
        ("networking.k8s.io", "IngressClass") => {
            let params = st("/spec/parameters")
                .map(|p| {
                    let group = p.get("apiGroup").and_then(Value::as_str).unwrap_or("");
                    let kind = s(p.get("kind"));
                    let kind = if group.is_empty() {
                        kind
                    } else {
                        format!("{kind}.{group}")
                    };
                    format!("{kind}/{}", s(p.get("name")))
                })
                .unwrap_or_else(|| "<none>".into());
            vec![json!(s(st("/spec/controller"))), json!(params), json!(age)]
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let r = st("/spec/scaleTargetRef");
            let reference = format!(
                "{}/{}",
                s(r.and_then(|r| r.get("kind"))),
                s(r.and_then(|r| r.get("name")))
            );
            let min = st("/spec/minReplicas").map_or("<unset>".to_string(), |v| v.to_string());
            vec![
                json!(reference),
                json!(hpa_targets(o)),
                json!(min),
                json!(n(st("/spec/maxReplicas"))),
                json!(n(st("/status/currentReplicas"))),
                json!(age),
            ]
        }
        ("policy", "PodDisruptionBudget") => {
            let na = |p| st(p).map_or("N/A".to_string(), |v| s(Some(v)));
            vec![
                json!(na("/spec/minAvailable")),
                json!(na("/spec/maxUnavailable")),
                json!(n(st("/status/disruptionsAllowed"))),
                json!(age),
            ]
        }
        ("", "Endpoints") => {
            let mut eps = Vec::new();
            for subset in arr(st("/subsets")) {
                let ports = arr(subset.get("ports"));
                for a in arr(subset.get("addresses")) {
                    let ip = s(a.get("ip"));
                    if ports.is_empty() {
                        eps.push(ip.clone());
                    }
                    for p in &ports {
                        eps.push(format!("{ip}:{}", n(p.get("port"))));
                    }
                }
            }
            vec![json!(or_none(list_more(&eps))), json!(age)]
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = arr(st("/ports"))
                .iter()
                .map(|p| n(p.get("port")).to_string())
                .collect();
            let addrs: Vec<String> = arr(st("/endpoints"))
                .iter()
                .flat_map(|e| arr(e.get("addresses")))
                .map(|a| s(Some(&a)))
                .collect();
            vec![
                json!(s(st("/addressType"))),
                json!(if ports.is_empty() {
                    "<unset>".to_string()
                } else {
                    ports.join(",")
                }),
                json!(if addrs.is_empty() {
                    "<unset>".to_string()
                } else {
                    list_more(&addrs)
                }),
                json!(age),
            ]
        }
        ("coordination.k8s.io", "Lease") => {
            vec![json!(s(st("/spec/holderIdentity"))), json!(age)]
        }
        ("", "PersistentVolume") => {
            let claim = st("/spec/claimRef")
                .map(|c| format!("{}/{}", s(c.get("namespace")), s(c.get("name"))))
                .unwrap_or_default();
            vec![
                json!(s(st("/spec/capacity/storage"))),
                json!(access_modes(st("/spec/accessModes"))),
                json!(s(st("/spec/persistentVolumeReclaimPolicy"))),
                json!(s(st("/status/phase"))),
                json!(claim),
                json!(s(st("/spec/storageClassName"))),
                json!(or_unset(s(st("/spec/volumeAttributesClassName")))),
                json!(s(st("/status/reason"))),
                json!(age),
                json!(or_unset(s(st("/spec/volumeMode")))),
            ]
        }
        ("storage.k8s.io", "StorageClass") => vec![
            json!(s(st("/provisioner"))),
            json!(
                st("/reclaimPolicy")
                    .and_then(Value::as_str)
                    .unwrap_or("Delete")
            ),
            json!(
                st("/volumeBindingMode")
                    .and_then(Value::as_str)
                    .unwrap_or("Immediate")
            ),
            json!(
                st("/allowVolumeExpansion")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    .to_string()
            ),
            json!(age),
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            vec![json!(s(st("/metadata/creationTimestamp")))]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            let subjects = arr(st("/subjects"));
            let of = |kind: &str| {
                subjects
                    .iter()
                    .filter(|x| x["kind"] == kind)
                    .map(|x| {
                        if kind == "ServiceAccount" {
                            format!("{}/{}", s(x.get("namespace")), s(x.get("name")))
                        } else {
                            s(x.get("name"))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                json!(format!(
                    "{}/{}",
                    s(st("/roleRef/kind")),
                    s(st("/roleRef/name"))
                )),
                json!(age),
                json!(of("User")),
                json!(of("Group")),
                json!(of("ServiceAccount")),
            ]
        }
        ("scheduling.k8s.io", "PriorityClass") => vec![
            json!(n(st("/value"))),
            json!(
                st("/globalDefault")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            ),
            json!(age),
            json!(
                st("/preemptionPolicy")
                    .and_then(Value::as_str)
                    .unwrap_or("PreemptLowerPriority")
            ),
        ],
        ("", "ResourceQuota") => {
            let (mut req, mut lim) = (Vec::new(), Vec::new());
            if let Some(hard) = st("/status/hard")
                .or(st("/spec/hard"))
                .and_then(Value::as_object)
            {
                for (k, v) in hard {
                    let used = st(&format!("/status/used/{}", k.replace('/', "~1")))
                        .map_or("0".to_string(), |u| s(Some(u)));
                    let cell = format!("{k}: {used}/{}", s(Some(v)));
                    if k.starts_with("limits.") {
                        lim.push(cell);
                    } else {
                        req.push(cell);
                    }
                }
            }
            vec![json!(age), json!(req.join(", ")), json!(lim.join(", "))]
        }
        ("" | "events.k8s.io", "Event") => {
            // Stored core/v1 Events, or their events.k8s.io/v1 view.
            let any = |ps: &[&str]| {
                ps.iter()
                    .find_map(|p| st(p).filter(|v| !v.is_null() && *v != "").cloned())
            };
            let last = any(&[
                "/series/lastObservedTime",
                "/lastTimestamp",
                "/deprecatedLastTimestamp",
                "/eventTime",
                "/firstTimestamp",
                "/deprecatedFirstTimestamp",
                "/metadata/creationTimestamp",
            ]);
            let first = any(&["/firstTimestamp", "/deprecatedFirstTimestamp", "/eventTime"]);
            let io = any(&["/involvedObject", "/regarding"]);
            let io = io.as_ref();
            let object = format!(
                "{}/{}",
                s(io.and_then(|i| i.get("kind"))).to_lowercase(),
                s(io.and_then(|i| i.get("name")))
            );
            let source = s(any(&[
                "/source/component",
                "/deprecatedSource/component",
                "/reportingComponent",
                "/reportingController",
            ])
            .as_ref());
            let source = match any(&["/source/host", "/deprecatedSource/host"]) {
                Some(Value::String(h)) => format!("{source}, {h}"),
                _ => source,
            };
            vec![
                json!(human_age(&s(last.as_ref()))),
                json!(s(st("/type"))),
                json!(s(st("/reason"))),
                json!(object),
                json!(s(io.and_then(|i| i.get("fieldPath")))),
                json!(source),
                json!(s(any(&["/message", "/note"]).as_ref()).trim()),
                json!(human_age(&s(first.as_ref()))),
                json!(
                    n(any(&["/count", "/deprecatedCount"]).as_ref())
                        .max(1)
                        .to_string()
                ),
                json!(s(st("/metadata/name"))),
            ]
        }
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
                let mut name = s(o.pointer("/metadata/name"));
                let default_annotation = match (t.group.as_str(), t.kind.as_str()) {
                    ("storage.k8s.io", "StorageClass") => {
                        Some("storageclass.kubernetes.io~1is-default-class")
                    }
                    ("networking.k8s.io", "IngressClass") => {
                        Some("ingressclass.kubernetes.io~1is-default-class")
                    }
                    _ => None,
                };
                if let Some(a) = default_annotation
                    && o.pointer(&format!("/metadata/annotations/{a}")) == Some(&json!("true"))
                {
                    name.push_str(" (default)");
                }
                let mut c = vec![json!(name)];
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
