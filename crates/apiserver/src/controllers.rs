//! Simulated controllers (in the spirit of kwok): Deployments → ReplicaSets → Pods,
//! StatefulSets, DaemonSets over fake Nodes, Jobs, Services (LoadBalancer ingress), PVC
//! binding, namespace finalization, CRD cleanup and garbage collection (background,
//! foreground, orphan).
//!
//! Failure conventions (to produce Degraded states on purpose): a Pod whose annotation
//! `sim.ferry.dev/fail` is `CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull` or `Failed`, or
//! one of whose images contains `crashloop` (CrashLoopBackOff) or `doesnotexist` / starts with
//! `invalid.ferry/` (ImagePullBackOff), never becomes ready. Pod-template annotations are copied
//! to Pods, so the annotation can be set on a Deployment's template.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::api::{State, WriteOpts, finalizers, now};
use crate::registry::ResourceType;
use crate::selector::LabelSelector;
use crate::store::EventType;

type Key = (String, String, String);

const MANAGER: &str = "ferry-controller";

/// Who reports an Event (`source.component`, `source.host`) and about which part.
#[derive(Clone, Copy)]
struct EventSource<'a> {
    component: &'a str,
    host: Option<&'a str>,
    field_path: Option<&'a str>,
}

const DEPLOYMENT_CONTROLLER: EventSource<'static> = EventSource {
    component: "deployment-controller",
    host: None,
    field_path: None,
};
const REPLICASET_CONTROLLER: EventSource<'static> = EventSource {
    component: "replicaset-controller",
    host: None,
    field_path: None,
};
const JOB_CONTROLLER: EventSource<'static> = EventSource {
    component: "job-controller",
    host: None,
    field_path: None,
};
const CRONJOB_CONTROLLER: EventSource<'static> = EventSource {
    component: "cronjob-controller",
    host: None,
    field_path: None,
};
const SCHEDULER: EventSource<'static> = EventSource {
    component: "default-scheduler",
    host: None,
    field_path: None,
};
/// The address the simulated ingress controller publishes on every Ingress.
const INGRESS_IP: &str = "172.18.254.1";

/// Starts the controllers.
pub fn spawn(state: Arc<State>, stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut c = Controllers {
            state,
            seen: HashMap::new(),
            last_event_sweep: Instant::now(),
        };
        c.run(stop).await;
    });
}

struct Controllers {
    state: Arc<State>,
    /// When a Pod (by uid) was first seen in its current phase; drives the simulated delays.
    seen: HashMap<String, Instant>,
    /// Last sweep of expired Events.
    last_event_sweep: Instant,
}

fn meta_str<'a>(o: &'a Value, f: &str) -> &'a str {
    o.get("metadata")
        .and_then(|m| m.get(f))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The uids of the object's owners, without copying them.
fn owner_uid_strs(o: &Value) -> impl Iterator<Item = &str> {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

fn controller_ref(owner: &Value) -> Value {
    json!({"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true})
}

fn template_hash(template: &Value) -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = std::collections::hash_map::DefaultHasher::new();
    template.to_string().hash(&mut h);
    let mut x = h.finish();
    (0..10)
        .map(|_| {
            let c = ALPHA[(x % ALPHA.len() as u64) as usize] as char;
            x /= ALPHA.len() as u64;
            c
        })
        .collect()
}

/// Ticks (of 2 s) between full resyncs.
const FULL_RESYNC_TICKS: u64 = 15;

/// Whether a Deployment's rollout is complete (or already past its deadline) for its current
/// generation: nothing time-driven is left to do until it changes.
fn rollout_settled(d: &Value) -> bool {
    let observed = d
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    if observed.is_none() || observed != d.pointer("/metadata/generation").and_then(Value::as_i64) {
        return false;
    }
    if d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return true;
    }
    d.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"))
        .is_some_and(|c| {
            matches!(
                c["reason"].as_str(),
                Some("NewReplicaSetAvailable") | Some("ProgressDeadlineExceeded")
            )
        })
}

fn i(o: &Value, p: &str) -> i64 {
    o.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

fn pod_failure(pod: &Value) -> Option<&'static str> {
    let ann = pod
        .pointer("/metadata/annotations/sim.ferry.dev~1fail")
        .and_then(Value::as_str);
    match ann {
        Some("CrashLoopBackOff") => return Some("CrashLoopBackOff"),
        Some("ImagePullBackOff") => return Some("ImagePullBackOff"),
        Some("ErrImagePull") => return Some("ErrImagePull"),
        Some("Failed") => return Some("Failed"),
        _ => {}
    }
    for c in pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let img = c.get("image").and_then(Value::as_str).unwrap_or("");
        if img.contains("crashloop") {
            return Some("CrashLoopBackOff");
        }
        if img.contains("doesnotexist") || img.starts_with("invalid.ferry/") {
            return Some("ImagePullBackOff");
        }
    }
    None
}

fn pod_ready(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        && p.pointer("/metadata/deletionTimestamp").is_none()
}

fn cond(ty: &str, status: &str, reason: &str, message: &str, prev: Option<&Value>) -> Value {
    let now = now();
    let mut c = json!({"type": ty, "status": status, "reason": reason, "message": message, "lastUpdateTime": now, "lastTransitionTime": now});
    if let Some(p) = prev
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
        && p["status"] == status
    {
        c["lastTransitionTime"] = p["lastTransitionTime"].clone();
        if p["reason"] == reason {
            c["lastUpdateTime"] = p["lastUpdateTime"].clone();
        }
    }
    c
}

impl Controllers {
    fn t(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.state.type_for(group, kind)
    }

    async fn run(&mut self, mut stop: watch::Receiver<bool>) {
        let (qtx, mut qrx) = mpsc::unbounded_channel::<Key>();
        let mut rx = self.state.store.txn().subscribe();
        self.ensure_nodes();
        self.resync(&qtx, true);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        let mut ticks: u64 = 0;
        let mut flush = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                ev = rx.recv() => match ev {
                    Ok(ev) => self.on_event(&ev, &qtx),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.resync(&qtx, true),
                    Err(_) => return,
                },
                Some(key) = qrx.recv() => {
                    let mut batch: HashSet<Key> = HashSet::new();
                    batch.insert(key);
                    while let Ok(k) = qrx.try_recv() { batch.insert(k); }
                    for k in batch { self.reconcile(&k, &qtx); }
                    if let Err(e) = self.state.store.sync().await {
                        tracing::error!(error = %e, "committing controller writes");
                    }
                }
                _ = flush.tick() => {
                    let dirty = self.state.store.txn().dirty();
                    if dirty && let Err(e) = self.state.store.sync().await {
                        tracing::error!(error = %e, "committing");
                    }
                }
                _ = tick.tick() => {
                    ticks += 1;
                    self.resync(&qtx, ticks.is_multiple_of(FULL_RESYNC_TICKS));
                    self.expire_events();
                }
            }
        }
    }

    /// Queues objects for reconciliation: with `full`, every object of a simulated kind (a
    /// safety net; changes arrive as events); otherwise only what time alone moves on —
    /// CronJob schedules, unfinished Jobs and Deployment rollouts (progress deadlines) and
    /// pending deletions.
    fn resync(&self, q: &mpsc::UnboundedSender<Key>, full: bool) {
        let txn = self.state.store.txn();
        for res in txn.resources() {
            if !full {
                let timed = matches!(
                    res.as_str(),
                    "apps/deployments" | "batch/jobs" | "batch/cronjobs"
                );
                for o in txn.list(&res, None) {
                    let pending_delete = o.pointer("/metadata/deletionTimestamp").is_some();
                    let due = match res.as_str() {
                        "apps/deployments" => !rollout_settled(&o),
                        _ => timed,
                    };
                    if pending_delete || due {
                        let _ = q.send((
                            res.clone(),
                            meta_str(&o, "namespace").to_string(),
                            meta_str(&o, "name").to_string(),
                        ));
                    }
                }
                continue;
            }
            let interesting = matches!(
                res.as_str(),
                "apps/deployments"
                    | "apps/replicasets"
                    | "apps/statefulsets"
                    | "apps/daemonsets"
                    | "batch/jobs"
                    | "batch/cronjobs"
                    | "/pods"
                    | "/services"
                    | "networking.k8s.io/ingresses"
                    | "/persistentvolumeclaims"
                    | "/namespaces"
                    | "apiextensions.k8s.io/customresourcedefinitions"
            );
            for o in txn.list(&res, None) {
                let pending_delete = o.pointer("/metadata/deletionTimestamp").is_some();
                if interesting || pending_delete {
                    let _ = q.send((
                        res.clone(),
                        meta_str(&o, "namespace").to_string(),
                        meta_str(&o, "name").to_string(),
                    ));
                }
            }
        }
        let _ = q.send(("gc".into(), String::new(), String::new()));
    }

    fn on_event(&mut self, ev: &crate::store::Event, q: &mpsc::UnboundedSender<Key>) {
        let _ = q.send((ev.resource.clone(), ev.namespace.clone(), ev.name.clone()));
        for r in ev
            .object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
            let group = r
                .get("apiVersion")
                .and_then(Value::as_str)
                .and_then(|a| a.rsplit_once('/').map(|(g, _)| g))
                .unwrap_or("");
            if let Some(t) = self.t(group, kind) {
                let _ = q.send((
                    t.key(),
                    ev.namespace.clone(),
                    r.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                ));
            }
        }
        if ev.kind == EventType::Deleted {
            let uid = meta_str(&ev.object, "uid");
            for phase in ["Pending", "Running"] {
                self.seen.remove(&format!("{uid}/{phase}"));
            }
            let _ = q.send(("gc".into(), String::new(), String::new()));
            if ev.resource == "apiextensions.k8s.io/customresourcedefinitions" {
                let g = ev
                    .object
                    .pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let p = ev
                    .object
                    .pointer("/spec/names/plural")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                self.state.registry.remove_crd(g, p);
            }
            if !ev.namespace.is_empty() {
                let _ = q.send(("/namespaces".into(), String::new(), ev.namespace.clone()));
            }
        }
    }

    fn later(&self, key: &Key, q: &mpsc::UnboundedSender<Key>, after: Duration) {
        let q = q.clone();
        let key = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = q.send(key);
        });
    }

    fn reconcile(&mut self, key: &Key, q: &mpsc::UnboundedSender<Key>) {
        let (res, ns, name) = key;
        if res == "gc" {
            self.gc();
            return;
        }
        let Some(obj) = self.state.store.txn().get(res, ns, name) else {
            return;
        };
        // Work on the shared snapshot: the store hands out `Arc<Value>`, and every
        // controller only reads it, so no per-key deep copy is needed.
        let obj: &Value = &obj;
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            self.finalize(res, obj);
            return;
        }
        let r = match res.as_str() {
            "apps/deployments" => self.deployment(obj),
            "apps/replicasets" => self.replicaset(obj),
            "apps/statefulsets" => self.statefulset(obj),
            "apps/daemonsets" => self.daemonset(obj),
            "batch/jobs" => self.job(obj),
            "batch/cronjobs" => self.cronjob(obj),
            "/pods" => self.pod(obj, key, q),
            "/services" => self.service(obj),
            "networking.k8s.io/ingresses" => self.ingress(obj),
            "/persistentvolumeclaims" => self.pvc(obj),
            "/namespaces" => self.namespace(obj),
            _ => Ok(()),
        };
        if let Err(e) = r {
            if e.code != 409 && e.code != 404 {
                tracing::warn!(resource = %res, %ns, %name, error = %e, "controller");
            }
            self.later(key, q, Duration::from_millis(200));
        }
    }

    fn opts(&self) -> WriteOpts {
        WriteOpts::internal(MANAGER)
    }

    /// Records a core/v1 Event about `obj`, as the upstream controllers and kubelet do;
    /// a repeat (same object, reason, message) bumps `count` and `lastTimestamp`.
    fn event(&self, obj: &Value, ty: &str, reason: &str, message: &str, source: EventSource<'_>) {
        let Some(et) = self.t("", "Event") else {
            return;
        };
        let ns = match meta_str(obj, "namespace") {
            "" => "default",
            ns => ns,
        };
        let uid = meta_str(obj, "uid");
        let name = format!(
            "{}.{}",
            meta_str(obj, "name"),
            template_hash(&json!([uid, reason, message, source.field_path]))
        );
        let now = now();
        let existing = self.state.store.txn().get(&et.key(), ns, &name);
        let r = match existing {
            Some(old) => {
                let mut n = (*old).clone();
                n["count"] = json!(i(&old, "/count").max(1) + 1);
                n["lastTimestamp"] = json!(now);
                self.state
                    .update(&et, "v1", Some(ns), &name, None, n, &self.opts())
            }
            None => {
                let mut involved = json!({"kind": obj["kind"], "namespace": meta_str(obj, "namespace"),
                    "name": meta_str(obj, "name"), "uid": uid, "apiVersion": obj["apiVersion"],
                    "resourceVersion": meta_str(obj, "resourceVersion")});
                if let Some(fp) = source.field_path {
                    involved["fieldPath"] = json!(fp);
                }
                let mut src = json!({"component": source.component});
                if let Some(h) = source.host {
                    src["host"] = json!(h);
                }
                let ev = json!({"apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": name, "namespace": ns},
                    "involvedObject": involved, "reason": reason, "message": message,
                    "source": src, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                    "type": ty, "eventTime": null, "reportingComponent": source.component,
                    "reportingInstance": source.host.unwrap_or("")});
                self.state.create(&et, "v1", Some(ns), ev, &self.opts())
            }
        };
        if let Err(e) = r {
            tracing::debug!(%reason, error = %e, "recording event");
        }
    }

    /// The kubelet's Events for a Pod starting its containers (or failing to).
    fn kubelet_events(&self, pod: &Value, containers: &[Value], failure: Option<&str>) {
        let host = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        for c in containers {
            let name = c["name"].as_str().unwrap_or("");
            let image = c["image"].as_str().unwrap_or("");
            let fp = format!("spec.containers{{{name}}}");
            let src = EventSource {
                component: "kubelet",
                host: Some(host),
                field_path: Some(&fp),
            };
            let pod_src = EventSource {
                field_path: None,
                ..src
            };
            match failure {
                None | Some("CrashLoopBackOff") | Some("Failed") => {
                    self.event(
                        pod,
                        "Normal",
                        "Pulled",
                        &format!("Container image \"{image}\" already present on machine"),
                        src,
                    );
                    self.event(
                        pod,
                        "Normal",
                        "Created",
                        &format!("Created container: {name}"),
                        src,
                    );
                    self.event(
                        pod,
                        "Normal",
                        "Started",
                        &format!("Started container {name}"),
                        src,
                    );
                    if failure == Some("CrashLoopBackOff") {
                        self.event(
                            pod,
                            "Warning",
                            "BackOff",
                            &format!(
                                "Back-off restarting failed container {name} in pod {}_{}({})",
                                meta_str(pod, "name"),
                                meta_str(pod, "namespace"),
                                meta_str(pod, "uid")
                            ),
                            src,
                        );
                    }
                    if failure == Some("Failed") {
                        self.event(
                            pod,
                            "Warning",
                            "Failed",
                            &format!("Container {name} exited with code 1"),
                            pod_src,
                        );
                    }
                }
                Some(_) => {
                    self.event(
                        pod,
                        "Normal",
                        "Pulling",
                        &format!("Pulling image \"{image}\""),
                        src,
                    );
                    self.event(
                        pod,
                        "Warning",
                        "Failed",
                        &format!(
                            "Failed to pull image \"{image}\": simulated pull failure (ferry)"
                        ),
                        src,
                    );
                    self.event(pod, "Warning", "Failed", "Error: ErrImagePull", src);
                    self.event(
                        pod,
                        "Normal",
                        "BackOff",
                        &format!("Back-off pulling image \"{image}\""),
                        src,
                    );
                    self.event(pod, "Warning", "Failed", "Error: ImagePullBackOff", src);
                }
            }
        }
    }

    /// Deletes Events whose last occurrence is older than the configured TTL.
    fn expire_events(&mut self) {
        let every = self.state.config.event_ttl.min(Duration::from_secs(10));
        if self.last_event_sweep.elapsed() < every {
            return;
        }
        self.last_event_sweep = Instant::now();
        let Some(et) = self.t("", "Event") else {
            return;
        };
        let ttl = chrono::Duration::from_std(self.state.config.event_ttl)
            .unwrap_or(chrono::Duration::hours(1));
        let cutoff = chrono::Utc::now() - ttl;
        let expired: Vec<(String, String)> = self
            .state
            .store
            .txn()
            .list(&et.key(), None)
            .into_iter()
            .filter(|e| {
                [
                    "/lastTimestamp",
                    "/eventTime",
                    "/metadata/creationTimestamp",
                ]
                .iter()
                .find_map(|p| e.pointer(p).and_then(Value::as_str))
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t.with_timezone(&chrono::Utc) < cutoff)
            })
            .map(|e| {
                (
                    meta_str(&e, "namespace").to_string(),
                    meta_str(&e, "name").to_string(),
                )
            })
            .collect();
        for (ns, name) in expired {
            let _ = self.state.delete(&et, Some(&ns), &name, &json!({}), false);
        }
    }

    fn update_status(
        &self,
        t: &ResourceType,
        obj: &Value,
        status: Value,
    ) -> Result<(), crate::error::ApiError> {
        if obj.get("status") == Some(&status) {
            return Ok(());
        }
        // The status subresource only takes `status` from the body (plus name and
        // resourceVersion for the conflict check), so send just those instead of a
        // deep copy of the whole object.
        let ns = meta_str(obj, "namespace");
        let mut meta = serde_json::Map::new();
        for k in ["name", "namespace", "resourceVersion"] {
            if let Some(v) = obj.pointer(&format!("/metadata/{k}")) {
                meta.insert(k.to_string(), v.clone());
            }
        }
        let mut n = serde_json::Map::new();
        for k in ["apiVersion", "kind"] {
            if let Some(v) = obj.get(k) {
                n.insert(k.to_string(), v.clone());
            }
        }
        n.insert("metadata".into(), Value::Object(meta));
        n.insert("status".into(), status);
        let n = Value::Object(n);
        self.state.update(
            t,
            &t.versions[0],
            (!ns.is_empty()).then_some(ns),
            meta_str(obj, "name"),
            Some("status"),
            n,
            &self.opts(),
        )?;
        Ok(())
    }

    /// The objects of `res` in `ns` owned by `owner`, as shared snapshots (no deep copy).
    fn owned(&self, res: &str, ns: &str, owner: &Value) -> Vec<Arc<Value>> {
        let uid = meta_str(owner, "uid");
        self.state
            .store
            .txn()
            .list(res, Some(ns))
            .into_iter()
            .filter(|o| owner_uid_strs(o).any(|u| u == uid))
            .collect()
    }

    fn ensure_nodes(&self) {
        let Some(t) = self.t("", "Node") else { return };
        for n in 0..self.state.config.nodes.max(1) {
            let name = format!("ferry-node-{n}");
            if self.state.store.txn().get("/nodes", "", &name).is_some() {
                continue;
            }
            let now = now();
            let c = |ty: &str, st: &str, reason: &str| json!({"type": ty, "status": st, "reason": reason, "message": reason, "lastHeartbeatTime": now, "lastTransitionTime": now});
            let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "ferry-simulated"}},
                "spec": {"podCIDR": format!("10.244.{n}.0/24")},
                "status": {"capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}, "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                    "conditions": [c("MemoryPressure", "False", "KubeletHasSufficientMemory"), c("DiskPressure", "False", "KubeletHasNoDiskPressure"), c("PIDPressure", "False", "KubeletHasSufficientPID"), c("Ready", "True", "KubeletReady")],
                    "addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", n + 2)}, {"type": "Hostname", "address": name}],
                    "nodeInfo": {"kubeletVersion": crate::VERSION, "kubeProxyVersion": crate::VERSION, "operatingSystem": "linux", "architecture": "amd64", "containerRuntimeVersion": "ferry://simulated", "osImage": "ferry", "kernelVersion": "simulated", "machineID": "", "systemUUID": "", "bootID": ""}}});
            let created = self.state.create(&t, "v1", None, node, &self.opts());
            if let Ok(created) = created {
                let _ = self.update_status(&t, &created, created["status"].clone());
            }
        }
    }

    fn nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .state
            .store
            .txn()
            .list("/nodes", None)
            .iter()
            .map(|n| meta_str(n, "name").to_string())
            .collect();
        if v.is_empty() {
            v.push("ferry-node-0".into());
        }
        v
    }

    fn new_pod(
        &self,
        owner: &Value,
        template: &Value,
        name: Option<String>,
        extra_labels: Value,
        node: Option<String>,
    ) -> Value {
        let mut meta = template.get("metadata").cloned().unwrap_or(json!({}));
        match name {
            Some(n) => meta["name"] = json!(n),
            None => meta["generateName"] = json!(format!("{}-", meta_str(owner, "name"))),
        }
        if let Some(m) = extra_labels.as_object() {
            for (k, v) in m {
                meta["labels"][k] = v.clone();
            }
        }
        meta["ownerReferences"] = json!([controller_ref(owner)]);
        let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
        let nodes = self.nodes();
        spec["nodeName"] = json!(
            node.unwrap_or_else(|| nodes[rand::random::<u32>() as usize % nodes.len()].clone())
        );
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    }

    // ---------------------------------------------------------------- Pods (fake kubelet)

    fn pod(
        &mut self,
        pod: &Value,
        key: &Key,
        q: &mpsc::UnboundedSender<Key>,
    ) -> Result<(), crate::error::ApiError> {
        let Some(t) = self.t("", "Pod") else {
            return Ok(());
        };
        let uid = meta_str(pod, "uid").to_string();
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("Pending")
            .to_string();
        if pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let nodes = self.nodes();
            let mut n = pod.clone();
            n["spec"]["nodeName"] = json!(nodes[0]);
            self.state.update(
                &t,
                "v1",
                Some(meta_str(pod, "namespace")),
                meta_str(pod, "name"),
                None,
                n,
                &self.opts(),
            )?;
            return Ok(());
        }
        let restart = pod
            .pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always")
            .to_string();
        let failure = pod_failure(pod);
        // Only pending Pods and finite Running ones have anything left to simulate.
        let active =
            phase == "Pending" || (phase == "Running" && restart != "Always" && failure.is_none());
        if !active {
            return Ok(());
        }
        let delay = self.state.config.sim_delay;
        let seen_key = format!("{uid}/{phase}");
        let first = *self
            .seen
            .entry(seen_key.clone())
            .or_insert_with(Instant::now);
        let elapsed = first.elapsed();
        let now = now();
        let containers = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ip = format!(
            "10.244.0.{}",
            2 + (template_hash(&json!(uid)).len() as u64 * 7 + u64::from(rand::random::<u8>()))
                % 250
        );
        let host_ip = "172.18.0.2";
        let conds = |ready: bool, reason: Option<&str>| {
            let r = if ready { "True" } else { "False" };
            let mut v = vec![
                json!({"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}),
                json!({"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}),
                json!({"type": "Ready", "status": r, "lastProbeTime": null, "lastTransitionTime": now}),
                json!({"type": "ContainersReady", "status": r, "lastProbeTime": null, "lastTransitionTime": now}),
                json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}),
            ];
            if let Some(reason) = reason {
                v[2]["reason"] = json!("ContainersNotReady");
                v[3]["reason"] = json!("ContainersNotReady");
                v[2]["message"] = json!(format!("containers with unready status: [{reason}]"));
            }
            v
        };
        match phase.as_str() {
            "Pending" => {
                if elapsed < delay {
                    self.later(key, q, delay - elapsed + Duration::from_millis(5));
                    return Ok(());
                }
                let status = match failure {
                    Some("Failed") => {
                        json!({"phase": "Failed", "conditions": conds(false, Some("failed")), "hostIP": host_ip, "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
                        "containerStatuses": containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false, "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}}})).collect::<Vec<_>>()})
                    }
                    Some(reason) => {
                        json!({"phase": if reason == "CrashLoopBackOff" { "Running" } else { "Pending" }, "conditions": conds(false, Some(reason)), "hostIP": host_ip, "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
                        "containerStatuses": containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false, "restartCount": if reason == "CrashLoopBackOff" { 3 } else { 0 },
                            "state": {"waiting": {"reason": reason, "message": format!("simulated {reason}")}}})).collect::<Vec<_>>()})
                    }
                    None => {
                        json!({"phase": "Running", "conditions": conds(true, None), "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now, "qosClass": "BestEffort",
                        "containerStatuses": containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": format!("docker.io/library/{}@sha256:{}", c["image"].as_str().unwrap_or(""), "0".repeat(64)), "containerID": format!("containerd://{}", template_hash(&json!([uid, c["name"]]))), "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": now}}})).collect::<Vec<_>>()})
                    }
                };
                if status["phase"] == "Pending"
                    && pod.pointer("/status/containerStatuses").is_some()
                {
                    return Ok(());
                }
                self.update_status(&t, pod, status)?;
                self.event(
                    pod,
                    "Normal",
                    "Scheduled",
                    &format!(
                        "Successfully assigned {}/{} to {}",
                        meta_str(pod, "namespace"),
                        meta_str(pod, "name"),
                        pod.pointer("/spec/nodeName")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    ),
                    SCHEDULER,
                );
                self.kubelet_events(pod, &containers, failure);
            }
            "Running" if restart != "Always" && failure.is_none() => {
                if elapsed < delay {
                    self.later(key, q, delay - elapsed + Duration::from_millis(5));
                    return Ok(());
                }
                let mut st = pod["status"].clone();
                st["phase"] = json!("Succeeded");
                st["conditions"] = json!(conds(false, Some("completed")));
                st["containerStatuses"] = json!(containers.iter().map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}})).collect::<Vec<_>>());
                self.update_status(&t, pod, st)?;
            }
            _ => {}
        }
        Ok(())
    }

    // ---------------------------------------------------------------- Deployments

    fn deployment(&self, d: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(dt), Some(rst)) = (self.t("apps", "Deployment"), self.t("apps", "ReplicaSet"))
        else {
            return Ok(());
        };
        let ns = meta_str(d, "namespace").to_string();
        let name = meta_str(d, "name").to_string();
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let empty = json!({});
        let template = d.pointer("/spec/template").unwrap_or(&empty);
        let hash = template_hash(template);
        let rss = self.owned("apps/replicasets", &ns, d);
        let revision = |rs: &Value| -> i64 {
            rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        let max_rev = rss.iter().map(|rs| revision(rs)).max().unwrap_or(0);
        let new_rs = rss
            .iter()
            .find(|rs| {
                rs.pointer("/metadata/labels/pod-template-hash")
                    .and_then(Value::as_str)
                    == Some(hash.as_str())
            })
            .cloned();
        let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        let new_rs = match new_rs {
            Some(rs) => {
                let mut rev = revision(&rs);
                if rev < max_rev && !paused {
                    // Rolled back to an older template: it becomes the newest revision.
                    let mut n = (*rs).clone();
                    rev = max_rev + 1;
                    n["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                        json!(rev.to_string());
                    self.state.update(
                        &rst,
                        "v1",
                        Some(&ns),
                        meta_str(&rs, "name"),
                        None,
                        n,
                        &self.opts(),
                    )?;
                    return Ok(());
                }
                if !paused && i(&rs, "/spec/replicas") != replicas {
                    let from = i(&rs, "/spec/replicas");
                    let mut n = (*rs).clone();
                    n["spec"]["replicas"] = json!(replicas);
                    n["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                        json!(replicas.to_string());
                    self.state.update(
                        &rst,
                        "v1",
                        Some(&ns),
                        meta_str(&rs, "name"),
                        None,
                        n,
                        &self.opts(),
                    )?;
                    self.event(
                        d,
                        "Normal",
                        "ScalingReplicaSet",
                        &format!(
                            "Scaled {} replica set {} from {from} to {replicas}",
                            if replicas > from { "up" } else { "down" },
                            meta_str(&rs, "name")
                        ),
                        DEPLOYMENT_CONTROLLER,
                    );
                    return Ok(());
                }
                rs
            }
            None if paused => return Ok(()),
            None => {
                let mut labels = template
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(json!({}));
                labels["pod-template-hash"] = json!(hash);
                let mut sel = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                sel["matchLabels"]["pod-template-hash"] = json!(hash);
                let mut tpl = template.clone();
                tpl["metadata"]["labels"] = labels.clone();
                let rev = max_rev + 1;
                let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": format!("{name}-{hash}"), "namespace": ns, "labels": labels, "ownerReferences": [controller_ref(d)],
                        "annotations": {"deployment.kubernetes.io/revision": rev.to_string(), "deployment.kubernetes.io/desired-replicas": replicas.to_string(), "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string()}},
                    "spec": {"replicas": replicas, "selector": sel, "template": tpl}});
                let created = self.state.create(&rst, "v1", Some(&ns), rs, &self.opts())?;
                self.event(
                    d,
                    "Normal",
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled up replica set {} from 0 to {replicas}",
                        meta_str(&created, "name")
                    ),
                    DEPLOYMENT_CONTROLLER,
                );
                return Ok(());
            }
        };
        let rev = revision(&new_rs);
        if d.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(Value::as_str)
            != Some(rev.to_string().as_str())
        {
            let mut n = d.clone();
            n["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!(rev.to_string());
            self.state
                .update(&dt, "v1", Some(&ns), &name, None, n, &self.opts())?;
            return Ok(());
        }
        let new_avail = i(&new_rs, "/status/availableReplicas");
        let new_ready_all = new_avail >= replicas && i(&new_rs, "/status/replicas") == replicas;
        // Old ReplicaSets scale down once the new one is available.
        let old: Vec<&Value> = rss
            .iter()
            .filter(|rs| meta_str(rs, "uid") != meta_str(&new_rs, "uid"))
            .map(|rs| &**rs)
            .collect();
        if new_ready_all && !paused {
            for rs in &old {
                if i(rs, "/spec/replicas") != 0 {
                    let message = format!(
                        "Scaled down replica set {} from {} to 0",
                        meta_str(rs, "name"),
                        i(rs, "/spec/replicas")
                    );
                    let mut n = (*rs).clone();
                    n["spec"]["replicas"] = json!(0);
                    self.state.update(
                        &rst,
                        "v1",
                        Some(&ns),
                        meta_str(rs, "name"),
                        None,
                        n,
                        &self.opts(),
                    )?;
                    self.event(
                        d,
                        "Normal",
                        "ScalingReplicaSet",
                        &message,
                        DEPLOYMENT_CONTROLLER,
                    );
                }
            }
            let limit = d
                .pointer("/spec/revisionHistoryLimit")
                .and_then(Value::as_i64)
                .unwrap_or(10)
                .max(0) as usize;
            let mut idle: Vec<&&Value> = old
                .iter()
                .filter(|rs| i(rs, "/spec/replicas") == 0 && i(rs, "/status/replicas") == 0)
                .collect();
            idle.sort_by_key(|rs| revision(rs));
            if idle.len() > limit {
                for rs in &idle[..idle.len() - limit] {
                    let _ = self.state.delete(
                        &rst,
                        Some(&ns),
                        meta_str(rs, "name"),
                        &json!({"propagationPolicy": "Background"}),
                        false,
                    );
                }
            }
        }
        let all_rs: Vec<&Value> = rss.iter().map(|rs| &**rs).collect();
        let total = all_rs
            .iter()
            .map(|rs| i(rs, "/status/replicas"))
            .sum::<i64>();
        let ready = all_rs
            .iter()
            .map(|rs| i(rs, "/status/readyReplicas"))
            .sum::<i64>();
        let avail = all_rs
            .iter()
            .map(|rs| i(rs, "/status/availableReplicas"))
            .sum::<i64>();
        let updated = i(&new_rs, "/status/replicas");
        let prev = d.pointer("/status/conditions");
        let available = avail >= replicas;
        let complete = updated == replicas && total == replicas && new_avail >= replicas;
        // A rollout that cannot progress (pods failing) past progressDeadlineSeconds.
        let deadline = d
            .pointer("/spec/progressDeadlineSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(600);
        let progressing_since = prev
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"))
            .and_then(|c| c["lastUpdateTime"].as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        let rs_name = meta_str(&new_rs, "name");
        let prev_progressing = prev
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"));
        let already_stuck = prev_progressing.is_some_and(|c| {
            c["reason"] == "ProgressDeadlineExceeded"
                && c["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!("\"{rs_name}\"")))
        });
        let stuck = !complete
            && (already_stuck
                || progressing_since.is_some_and(|t| {
                    (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds() > deadline
                }));
        let progressing = if paused {
            cond(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                prev,
            )
        } else if complete {
            cond(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                prev,
            )
        } else if stuck {
            cond(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                prev,
            )
        } else {
            cond(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
                prev,
            )
        };
        let available_c = if available {
            cond(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                prev,
            )
        } else {
            cond(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                prev,
            )
        };
        let mut status = json!({"observedGeneration": i(d, "/metadata/generation"), "replicas": total, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": avail,
            "conditions": [available_c, progressing]});
        if total - avail > 0 {
            status["unavailableReplicas"] = json!(total - avail);
        }
        for k in [
            "readyReplicas",
            "availableReplicas",
            "updatedReplicas",
            "replicas",
        ] {
            if status[k] == json!(0) {
                status.as_object_mut().map(|m| m.remove(k));
            }
        }
        self.update_status(&dt, d, status)?;
        if !complete && !stuck && !paused {
            // Re-check later so the deadline can pass.
            let _ = deadline;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- ReplicaSets

    fn replicaset(&self, rs: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(rst), Some(pt)) = (self.t("apps", "ReplicaSet"), self.t("", "Pod")) else {
            return Ok(());
        };
        let ns = meta_str(rs, "namespace").to_string();
        let want = rs
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0) as usize;
        let mut pods: Vec<Arc<Value>> = self
            .owned("/pods", &ns, rs)
            .into_iter()
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        let empty = json!({});
        let template = rs.pointer("/spec/template").unwrap_or(&empty);
        if pods.len() < want {
            for _ in pods.len()..want {
                let pod = self.new_pod(rs, template, None, json!({}), None);
                let created = self.state.create(&pt, "v1", Some(&ns), pod, &self.opts())?;
                self.event(
                    rs,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {}", meta_str(&created, "name")),
                    REPLICASET_CONTROLLER,
                );
            }
            return Ok(());
        }
        if pods.len() > want {
            pods.sort_by_key(|p| (pod_ready(p), meta_str(p, "creationTimestamp").to_string()));
            for p in &pods[..pods.len() - want] {
                if self
                    .state
                    .delete(&pt, Some(&ns), meta_str(p, "name"), &json!({}), false)
                    .is_ok()
                {
                    self.event(
                        rs,
                        "Normal",
                        "SuccessfulDelete",
                        &format!("Deleted pod: {}", meta_str(p, "name")),
                        REPLICASET_CONTROLLER,
                    );
                }
            }
            return Ok(());
        }
        let ready = pods.iter().filter(|p| pod_ready(p)).count();
        let status = json!({"replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": i(rs, "/metadata/generation")});
        self.update_status(&rst, rs, status)
    }

    // ---------------------------------------------------------------- StatefulSets

    fn statefulset(&self, s: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(st), Some(pt)) = (self.t("apps", "StatefulSet"), self.t("", "Pod")) else {
            return Ok(());
        };
        let ns = meta_str(s, "namespace").to_string();
        let name = meta_str(s, "name").to_string();
        let want = s
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0) as usize;
        let template = s.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let rev = format!("{name}-{}", &template_hash(&template)[..10]);
        let pods: Vec<Arc<Value>> = self.owned("/pods", &ns, s);
        for ord in 0..want {
            let pname = format!("{name}-{ord}");
            match pods.iter().find(|p| meta_str(p, "name") == pname) {
                None => {
                    let labels = json!({"controller-revision-hash": rev, "statefulset.kubernetes.io/pod-name": pname, "apps.kubernetes.io/pod-index": ord.to_string()});
                    let mut pod = self.new_pod(s, &template, Some(pname.clone()), labels, None);
                    pod["spec"]["hostname"] = json!(pname);
                    if let Some(svc) = s.pointer("/spec/serviceName").and_then(Value::as_str) {
                        pod["spec"]["subdomain"] = json!(svc);
                    }
                    self.state.create(&pt, "v1", Some(&ns), pod, &self.opts())?;
                }
                Some(p)
                    if p.pointer("/metadata/labels/controller-revision-hash")
                        .and_then(Value::as_str)
                        != Some(rev.as_str())
                        && p.pointer("/metadata/deletionTimestamp").is_none() =>
                {
                    let _ = self.state.delete(&pt, Some(&ns), &pname, &json!({}), false);
                }
                _ => {}
            }
        }
        for p in &pods {
            let ord = meta_str(p, "name")
                .rsplit('-')
                .next()
                .and_then(|o| o.parse::<usize>().ok())
                .unwrap_or(0);
            if ord >= want {
                let _ = self
                    .state
                    .delete(&pt, Some(&ns), meta_str(p, "name"), &json!({}), false);
            }
        }
        let current: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                p.pointer("/metadata/labels/controller-revision-hash")
                    .and_then(Value::as_str)
                    == Some(rev.as_str())
            })
            .map(|p| &**p)
            .collect();
        let ready = current.iter().filter(|p| pod_ready(p)).count();
        let status = json!({"observedGeneration": i(s, "/metadata/generation"), "replicas": pods.len().min(want.max(pods.len())), "readyReplicas": ready, "currentReplicas": current.len(), "updatedReplicas": current.len(), "availableReplicas": ready, "currentRevision": rev, "updateRevision": rev, "collisionCount": 0});
        self.update_status(&st, s, status)
    }

    // ---------------------------------------------------------------- DaemonSets

    fn daemonset(&self, ds: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(dt), Some(pt)) = (self.t("apps", "DaemonSet"), self.t("", "Pod")) else {
            return Ok(());
        };
        let ns = meta_str(ds, "namespace").to_string();
        let template = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let nodes = self.nodes();
        let pods: Vec<Arc<Value>> = self.owned("/pods", &ns, ds);
        for node in &nodes {
            let on_node: Vec<&Value> = pods
                .iter()
                .filter(|p| {
                    p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node.as_str())
                })
                .map(|p| &**p)
                .collect();
            if on_node.is_empty() {
                let pod = self.new_pod(
                    ds,
                    &template,
                    None,
                    json!({"controller-revision-hash": hash}),
                    Some(node.clone()),
                );
                self.state.create(&pt, "v1", Some(&ns), pod, &self.opts())?;
            }
            for p in on_node {
                if p.pointer("/metadata/labels/controller-revision-hash")
                    .and_then(Value::as_str)
                    != Some(hash.as_str())
                {
                    let _ =
                        self.state
                            .delete(&pt, Some(&ns), meta_str(p, "name"), &json!({}), false);
                }
            }
        }
        let current: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                p.pointer("/metadata/labels/controller-revision-hash")
                    .and_then(Value::as_str)
                    == Some(hash.as_str())
            })
            .map(|p| &**p)
            .collect();
        let ready = current.iter().filter(|p| pod_ready(p)).count();
        let status = json!({"observedGeneration": i(ds, "/metadata/generation"), "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": pods.len(), "updatedNumberScheduled": current.len(), "numberAvailable": ready, "numberReady": ready, "numberMisscheduled": 0});
        self.update_status(&dt, ds, status)
    }

    // ---------------------------------------------------------------- Jobs

    fn job(&self, job: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(jt), Some(pt)) = (self.t("batch", "Job"), self.t("", "Pod")) else {
            return Ok(());
        };
        let ns = meta_str(job, "namespace").to_string();
        let done = job
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
                })
            });
        if done || job.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
            return Ok(());
        }
        let completions = job
            .pointer("/spec/completions")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let parallelism = job
            .pointer("/spec/parallelism")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let backoff = job
            .pointer("/spec/backoffLimit")
            .and_then(Value::as_i64)
            .unwrap_or(6);
        let pods = self.owned("/pods", &ns, job);
        let phase = |p: &Value| {
            p.pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("Pending")
                .to_string()
        };
        let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
        let failed = pods
            .iter()
            .filter(|p| phase(p) == "Failed" || pod_failure(p).is_some() && phase(p) != "Pending")
            .count() as i64;
        let active: Vec<&Value> = pods
            .iter()
            .filter(|p| phase(p) == "Pending" || phase(p) == "Running")
            .map(|p| &**p)
            .collect();
        let now = now();
        let mut status = job.get("status").cloned().unwrap_or(json!({}));
        if status.get("startTime").is_none() {
            status["startTime"] = json!(now);
        }
        let fail_now = failed > backoff;
        if succeeded >= completions {
            self.event(job, "Normal", "Completed", "Job completed", JOB_CONTROLLER);
            status["completionTime"] = json!(now);
            status["conditions"] = json!([
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now}]);
        } else if fail_now {
            self.event(
                job,
                "Warning",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                JOB_CONTROLLER,
            );
            status["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now}]);
        } else {
            let running = active.len() as i64;
            let want = (completions - succeeded).min(parallelism) - running;
            let template = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
            for _ in 0..want.max(0) {
                let pod = self.new_pod(job, &template, None, json!({}), None);
                let created = self.state.create(&pt, "v1", Some(&ns), pod, &self.opts())?;
                self.event(
                    job,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {}", meta_str(&created, "name")),
                    JOB_CONTROLLER,
                );
            }
        }
        status["active"] = json!(if succeeded >= completions || fail_now {
            0
        } else {
            active.len()
        });
        status["succeeded"] = json!(succeeded);
        if failed > 0 {
            status["failed"] = json!(failed);
        }
        status["ready"] = json!(active.iter().filter(|p| pod_ready(p)).count());
        status["terminating"] = json!(0);
        status["uncountedTerminatedPods"] = json!({});
        if status["active"] == json!(0) {
            status.as_object_mut().map(|m| m.remove("active"));
        }
        self.update_status(&jt, job, status)
    }

    // ---------------------------------------------------------------- CronJobs

    fn cronjob(&self, cj: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(ct), Some(jt)) = (self.t("batch", "CronJob"), self.t("batch", "Job")) else {
            return Ok(());
        };
        let ns = meta_str(cj, "namespace").to_string();
        let name = meta_str(cj, "name").to_string();
        let jobs = self.owned("batch/jobs", &ns, cj);
        let has_cond = |j: &Value, ty: &str| {
            j.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == ty && c["status"] == "True"))
        };
        let mut status = cj.get("status").cloned().unwrap_or(json!({}));
        let active: Vec<Value> = jobs
            .iter()
            .filter(|j| !has_cond(j, "Complete") && !has_cond(j, "Failed"))
            .map(|j| json!({"kind": "Job", "namespace": ns, "name": j["metadata"]["name"], "uid": j["metadata"]["uid"], "apiVersion": "batch/v1", "resourceVersion": j["metadata"]["resourceVersion"]}))
            .collect();
        if active.is_empty() {
            status.as_object_mut().map(|m| m.remove("active"));
        } else {
            status["active"] = json!(active);
        }
        let suspended = cj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
        let schedule = cj
            .pointer("/spec/schedule")
            .and_then(Value::as_str)
            .unwrap_or("");
        let since = status
            .get("lastScheduleTime")
            .or(cj.pointer("/metadata/creationTimestamp"))
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        if let (false, Some(since), Some(cron)) = (suspended, since, Cron::parse(schedule))
            && let Some(due) = cron.latest_between(since, chrono::Utc::now())
        {
            let forbid = cj
                .pointer("/spec/concurrencyPolicy")
                .and_then(Value::as_str)
                == Some("Forbid");
            if !forbid || active.is_empty() {
                let tpl = cj
                    .pointer("/spec/jobTemplate")
                    .cloned()
                    .unwrap_or(json!({}));
                let mut meta = tpl.get("metadata").cloned().unwrap_or(json!({}));
                meta["name"] = json!(format!("{name}-{}", due.timestamp() / 60));
                meta["ownerReferences"] = json!([controller_ref(cj)]);
                meta["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
                    json!(due.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": tpl.get("spec").cloned().unwrap_or(json!({}))});
                match self.state.create(&jt, "v1", Some(&ns), job, &self.opts()) {
                    Ok(created) => self.event(
                        cj,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created job {}", meta_str(&created, "name")),
                        CRONJOB_CONTROLLER,
                    ),
                    Err(e) if e.code == 409 => {}
                    Err(e) => return Err(e),
                }
            }
            status["lastScheduleTime"] = json!(due.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        // History limits.
        for (cond, ptr, default) in [
            ("Complete", "/spec/successfulJobsHistoryLimit", 3),
            ("Failed", "/spec/failedJobsHistoryLimit", 1),
        ] {
            let limit = cj
                .pointer(ptr)
                .and_then(Value::as_i64)
                .unwrap_or(default)
                .max(0) as usize;
            let mut done: Vec<&Value> = jobs
                .iter()
                .filter(|j| has_cond(j, cond))
                .map(|j| &**j)
                .collect();
            done.sort_by_key(|j| meta_str(j, "creationTimestamp").to_string());
            if cond == "Complete"
                && let Some(t) = done
                    .last()
                    .and_then(|j| j.pointer("/status/completionTime"))
            {
                status["lastSuccessfulTime"] = t.clone();
            }
            if done.len() > limit {
                for j in &done[..done.len() - limit] {
                    let _ = self.state.delete(
                        &jt,
                        Some(&ns),
                        meta_str(j, "name"),
                        &json!({"propagationPolicy": "Background"}),
                        false,
                    );
                }
            }
        }
        self.update_status(&ct, cj, status)
    }

    // ---------------------------------------------------------------- Services, Ingresses, PVCs

    fn service(&self, svc: &Value) -> Result<(), crate::error::ApiError> {
        let Some(t) = self.t("", "Service") else {
            return Ok(());
        };
        let lb = svc.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
        let has = svc
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if lb && !has {
            let ip = crate::defaults::alloc_ip(
                &self.state.store.txn(),
                "172.18.255",
                "/services",
                "/status/loadBalancer/ingress/0/ip",
            );
            let ip = ip
                .rsplitn(2, '.')
                .last()
                .map(|p| format!("{p}.{}", 1 + rand::random::<u8>() % 250))
                .unwrap_or(ip);
            self.update_status(
                &t,
                svc,
                json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}),
            )?;
        } else if !lb && has {
            self.update_status(&t, svc, json!({"loadBalancer": {}}))?;
        }
        Ok(())
    }

    /// The simulated ingress controller publishes one load-balancer address on every Ingress,
    /// as ingress-nginx publishes its Service's address, so Ingress health is meaningful.
    fn ingress(&self, ing: &Value) -> Result<(), crate::error::ApiError> {
        let Some(t) = self.t("networking.k8s.io", "Ingress") else {
            return Ok(());
        };
        let has = ing
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if has {
            return Ok(());
        }
        self.update_status(
            &t,
            ing,
            json!({"loadBalancer": {"ingress": [{"ip": INGRESS_IP}]}}),
        )
    }

    fn pvc(&self, pvc: &Value) -> Result<(), crate::error::ApiError> {
        let (Some(t), Some(pvt)) = (
            self.t("", "PersistentVolumeClaim"),
            self.t("", "PersistentVolume"),
        ) else {
            return Ok(());
        };
        if pvc.pointer("/status/phase").and_then(Value::as_str) == Some("Bound") {
            return Ok(());
        }
        let ns = meta_str(pvc, "namespace");
        let pv_name = format!("pvc-{}", meta_str(pvc, "uid"));
        let size = pvc
            .pointer("/spec/resources/requests/storage")
            .cloned()
            .unwrap_or(json!("1Gi"));
        let modes = pvc
            .pointer("/spec/accessModes")
            .cloned()
            .unwrap_or(json!(["ReadWriteOnce"]));
        if self
            .state
            .store
            .txn()
            .get("/persistentvolumes", "", &pv_name)
            .is_none()
        {
            let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": "ferry.dev/simulated"}},
                "spec": {"capacity": {"storage": size}, "accessModes": modes, "persistentVolumeReclaimPolicy": "Delete", "storageClassName": pvc.pointer("/spec/storageClassName").cloned().unwrap_or(json!("standard")),
                    "hostPath": {"path": format!("/var/lib/ferry/pv/{pv_name}")}, "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": pvc["metadata"]["name"], "uid": pvc["metadata"]["uid"]}}});
            let created = self.state.create(&pvt, "v1", None, pv, &self.opts())?;
            self.update_status(&pvt, &created, json!({"phase": "Bound"}))?;
        }
        if pvc.pointer("/spec/volumeName").is_none() {
            let mut n = pvc.clone();
            n["spec"]["volumeName"] = json!(pv_name);
            if n.pointer("/spec/storageClassName").is_none() {
                n["spec"]["storageClassName"] = json!("standard");
            }
            n["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
            self.state.update(
                &t,
                "v1",
                Some(ns),
                meta_str(pvc, "name"),
                None,
                n,
                &self.opts(),
            )?;
            return Ok(());
        }
        self.update_status(
            &t,
            pvc,
            json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}),
        )
    }

    /// Every namespace gets a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap.
    fn namespace(&self, ns_obj: &Value) -> Result<(), crate::error::ApiError> {
        let ns = meta_str(ns_obj, "name").to_string();
        let (Some(sa), Some(cm)) = (self.t("", "ServiceAccount"), self.t("", "ConfigMap")) else {
            return Ok(());
        };
        let (has_sa, has_cm) = {
            let txn = self.state.store.txn();
            (
                txn.get("/serviceaccounts", &ns, "default").is_some(),
                txn.get("/configmaps", &ns, "kube-root-ca.crt").is_some(),
            )
        };
        if !has_sa {
            let obj = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}});
            match self.state.create(&sa, "v1", Some(&ns), obj, &self.opts()) {
                Ok(_) => {}
                Err(e) if e.code == 409 || e.code == 403 => {}
                Err(e) => return Err(e),
            }
        }
        if !has_cm {
            let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": self.state.ca_pem}});
            match self.state.create(&cm, "v1", Some(&ns), obj, &self.opts()) {
                Ok(_) => {}
                Err(e) if e.code == 409 || e.code == 403 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- deletion, GC

    fn without_finalizer(&self, res: &str, obj: &Value, f: &str) {
        let Some(t) = self.state.registry.by_key(res) else {
            return;
        };
        let mut n = obj.clone();
        let fins: Vec<String> = finalizers(obj).into_iter().filter(|x| x != f).collect();
        n["metadata"]["finalizers"] = json!(fins);
        let ns = meta_str(obj, "namespace");
        let version = t.versions[0].clone();
        if let Err(e) = self.state.update(
            &t,
            &version,
            (!ns.is_empty()).then_some(ns),
            meta_str(obj, "name"),
            None,
            n,
            &self.opts(),
        ) {
            tracing::debug!(error = %e, "removing finalizer");
        }
    }

    fn dependents(&self, uid: &str) -> Vec<(String, Value)> {
        let txn = self.state.store.txn();
        let mut out = Vec::new();
        for res in txn.resources() {
            for o in txn.list(&res, None) {
                if owner_uid_strs(&o).any(|u| u == uid) {
                    out.push((res.clone(), (*o).clone()));
                }
            }
        }
        out
    }

    /// Work for objects with a deletionTimestamp.
    fn finalize(&self, res: &str, obj: &Value) {
        let fins = finalizers(obj);
        let uid = meta_str(obj, "uid").to_string();
        if fins.iter().any(|f| f == "foregroundDeletion") {
            let deps = self.dependents(&uid);
            let mut blocking = 0;
            for (dres, d) in &deps {
                if let Some(t) = self.state.registry.by_key(dres) {
                    let ns = meta_str(d, "namespace");
                    let _ = self.state.delete(
                        &t,
                        (!ns.is_empty()).then_some(ns),
                        meta_str(d, "name"),
                        &json!({"propagationPolicy": "Foreground"}),
                        false,
                    );
                }
                blocking += 1;
            }
            if blocking == 0 {
                self.without_finalizer(res, obj, "foregroundDeletion");
            }
            return;
        }
        if fins.iter().any(|f| f == "orphan") {
            for (dres, d) in self.dependents(&uid) {
                let Some(t) = self.state.registry.by_key(&dres) else {
                    continue;
                };
                let mut n = d.clone();
                if let Some(Value::Array(refs)) = n.pointer_mut("/metadata/ownerReferences") {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                }
                let ns = meta_str(&d, "namespace");
                let version = t.versions[0].clone();
                let _ = self.state.update(
                    &t,
                    &version,
                    (!ns.is_empty()).then_some(ns),
                    meta_str(&d, "name"),
                    None,
                    n,
                    &self.opts(),
                );
            }
            self.without_finalizer(res, obj, "orphan");
            return;
        }
        if res == "/namespaces" {
            self.finalize_namespace(obj);
            return;
        }
        if res == "apiextensions.k8s.io/customresourcedefinitions"
            && fins
                .iter()
                .any(|f| f == "customresourcecleanup.apiextensions.k8s.io")
        {
            let group = obj
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("");
            let plural = obj
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or("");
            let key = format!("{group}/{plural}");
            let items = self.state.store.txn().list(&key, None);
            if let Some(t) = self.state.registry.by_key(&key) {
                for it in &items {
                    let ns = meta_str(it, "namespace");
                    let _ = self.state.delete(
                        &t,
                        (!ns.is_empty()).then_some(ns),
                        meta_str(it, "name"),
                        &json!({}),
                        false,
                    );
                }
            }
            if self.state.store.txn().list(&key, None).is_empty() {
                self.without_finalizer(res, obj, "customresourcecleanup.apiextensions.k8s.io");
            }
        }
    }

    fn finalize_namespace(&self, ns_obj: &Value) {
        let ns = meta_str(ns_obj, "name").to_string();
        let mut remaining = 0;
        for t in self
            .state
            .registry
            .all()
            .into_iter()
            .filter(|t| t.namespaced)
        {
            let items = self.state.store.txn().list(&t.key(), Some(&ns));
            for it in items {
                remaining += 1;
                if it.pointer("/metadata/deletionTimestamp").is_none() {
                    let _ = self.state.delete(
                        &t,
                        Some(&ns),
                        meta_str(&it, "name"),
                        &json!({"propagationPolicy": "Background"}),
                        false,
                    );
                }
            }
        }
        let Some(t) = self.t("", "Namespace") else {
            return;
        };
        if remaining == 0 {
            let mut n = ns_obj.clone();
            n["spec"]["finalizers"] = json!([]);
            let _ = self
                .state
                .update(&t, "v1", None, &ns, None, n, &self.opts());
        } else {
            let now = now();
            let conds = json!([
                {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered", "message": "All resources successfully discovered", "lastTransitionTime": now},
                {"type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False", "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed", "lastTransitionTime": now},
                {"type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted", "message": "All content successfully deleted, may be waiting on finalization", "lastTransitionTime": now},
                {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain", "message": format!("Some resources are remaining: {remaining} objects"), "lastTransitionTime": now},
            ]);
            let status = json!({"phase": "Terminating", "conditions": conds});
            if ns_obj.pointer("/status/conditions/3/message")
                != status.pointer("/conditions/3/message")
            {
                let _ = self.update_status(&t, ns_obj, status);
            }
        }
    }

    /// Background garbage collection: deletes objects all of whose owners are gone.
    fn gc(&self) {
        // Shared snapshots of every object (no deep copies); uids borrowed from them.
        let lists: Vec<(String, Vec<Arc<Value>>)> = {
            let txn = self.state.store.txn();
            txn.resources()
                .into_iter()
                .map(|res| {
                    let items = txn.list(&res, None);
                    (res, items)
                })
                .collect()
        };
        let uids: HashSet<&str> = lists
            .iter()
            .flat_map(|(_, items)| items.iter().map(|o| meta_str(o, "uid")))
            .collect();
        for (res, items) in &lists {
            for o in items {
                let owned = o
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                if owned
                    && owner_uid_strs(o).all(|u| !uids.contains(u))
                    && o.pointer("/metadata/deletionTimestamp").is_none()
                    && let Some(t) = self.state.registry.by_key(res)
                {
                    let ns = meta_str(o, "namespace");
                    let _ = self.state.delete(
                        &t,
                        (!ns.is_empty()).then_some(ns),
                        meta_str(o, "name"),
                        &json!({"propagationPolicy": "Background"}),
                        false,
                    );
                }
            }
        }
    }
}

#[allow(dead_code)]
fn selector_matches(sel: &Value, labels: Option<&Value>) -> bool {
    LabelSelector::from_object(sel).matches(labels)
}

/// A five-field cron schedule (minute hour day-of-month month day-of-week), minute resolution.
struct Cron {
    fields: [Vec<u32>; 5],
}

impl Cron {
    fn parse(s: &str) -> Option<Cron> {
        let s = match s.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let parts: Vec<&str> = s.split_whitespace().collect();
        if parts.len() != 5 {
            return None;
        }
        let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
        let mut fields: [Vec<u32>; 5] = Default::default();
        for (i, (p, (lo, hi))) in parts.iter().zip(ranges).enumerate() {
            for item in p.split(',') {
                let (range, step) = match item.split_once('/') {
                    Some((r, st)) => (r, st.parse::<u32>().ok().filter(|s| *s > 0)?),
                    None => (item, 1),
                };
                let (a, b) = if range == "*" || range == "?" {
                    (lo, hi)
                } else if let Some((a, b)) = range.split_once('-') {
                    (a.parse().ok()?, b.parse().ok()?)
                } else {
                    let v: u32 = range.parse().ok()?;
                    (v, if step > 1 { hi } else { v })
                };
                let b = if i == 4 && b == 7 { 6 } else { b };
                if a < lo || b > hi || a > b {
                    return None;
                }
                fields[i].extend((a..=b).step_by(step as usize));
            }
        }
        Some(Cron { fields })
    }

    fn matches(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        use chrono::{Datelike, Timelike};
        let v = [
            t.minute(),
            t.hour(),
            t.day(),
            t.month(),
            t.weekday().num_days_from_sunday(),
        ];
        self.fields.iter().zip(v).all(|(f, x)| f.contains(&x))
    }

    /// The latest scheduled minute in (after, now], looking back at most a day.
    fn latest_between(
        &self,
        after: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::Timelike;
        let mut t = now.with_second(0)?.with_nanosecond(0)?;
        for _ in 0..1440 {
            if t <= after {
                return None;
            }
            if self.matches(t) {
                return Some(t);
            }
            t -= chrono::Duration::minutes(1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_schedules() {
        let c = Cron::parse("*/15 2-3 * * 1-5").unwrap();
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        assert!(c.matches(t("2026-11-23T02:30:00Z"))); // a Monday
        assert!(!c.matches(t("2026-11-23T02:31:00Z")));
        assert!(!c.matches(t("2026-11-22T02:30:00Z"))); // a Sunday
        let every = Cron::parse("* * * * *").unwrap();
        assert_eq!(
            every.latest_between(t("2026-11-23T02:30:10Z"), t("2026-11-23T02:32:05Z")),
            Some(t("2026-11-23T02:32:00Z"))
        );
        assert_eq!(
            every.latest_between(t("2026-11-23T02:32:01Z"), t("2026-11-23T02:32:05Z")),
            None
        );
        assert!(Cron::parse("@hourly").is_some());
        assert!(Cron::parse("61 * * * *").is_none());
        assert!(Cron::parse("* * *").is_none());
    }
}
