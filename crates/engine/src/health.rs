//! Resource health assessment, ported from Argo CD's gitops-engine `pkg/health` (behaviour and
//! messages), plus the Lua health scripts Argo CD ships for `CronJob` and
//! `CustomResourceDefinition`, the documented `argoproj.io/Application` customization, and an
//! optional generic rule for custom resources with standard conditions.
//!
//! Entry points: [`resource_health`] for one object, [`app_health`] to aggregate an
//! application's resources.

use crate::object;
use crate::sync::hooks;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Annotation that excludes a resource from the application's aggregated health.
pub const ANNOTATION_IGNORE_HEALTHCHECK: &str = "argocd.argoproj.io/ignore-healthcheck";
/// Annotation that makes a Pod with `restartPolicy: Never/OnFailure` count as long-running.
pub const ANNOTATION_IGNORE_RESTART_POLICY: &str = "argocd.argoproj.io/ignore-restart-policy";
/// Finalizer put on hooks while a sync runs; a deleting hook with it is not "Pending deletion".
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// Health status codes, declared from most to least healthy (Argo CD's `healthOrder`), so the
/// derived ordering means "worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HealthStatusCode {
    /// Resource is 100% healthy.
    Healthy,
    /// Suspended or paused (paused Deployment, suspended Job or CronJob).
    Suspended,
    /// Not healthy yet but still expected to become healthy.
    Progressing,
    /// Absent from the cluster.
    Missing,
    /// Failed, or could not become healthy in time.
    Degraded,
    /// Assessment failed.
    Unknown,
}

impl HealthStatusCode {
    /// The Argo CD spelling (`"Healthy"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatusCode::Healthy => "Healthy",
            HealthStatusCode::Suspended => "Suspended",
            HealthStatusCode::Progressing => "Progressing",
            HealthStatusCode::Missing => "Missing",
            HealthStatusCode::Degraded => "Degraded",
            HealthStatusCode::Unknown => "Unknown",
        }
    }

    /// Parses the Argo CD spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Healthy" => HealthStatusCode::Healthy,
            "Suspended" => HealthStatusCode::Suspended,
            "Progressing" => HealthStatusCode::Progressing,
            "Missing" => HealthStatusCode::Missing,
            "Degraded" => HealthStatusCode::Degraded,
            "Unknown" => HealthStatusCode::Unknown,
            _ => return None,
        })
    }

    /// Argo CD's `IsWorse(current, new)`: whether `self` is a worse condition than `current`.
    pub fn is_worse_than(self, current: HealthStatusCode) -> bool {
        self > current
    }
}

impl fmt::Display for HealthStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A health assessment: status code and (possibly empty) message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// Status code.
    pub status: HealthStatusCode,
    /// Human readable message, `""` when Argo CD gives none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl HealthStatus {
    /// Builds a status.
    pub fn new(status: HealthStatusCode, message: impl Into<String>) -> Self {
        HealthStatus {
            status,
            message: message.into(),
        }
    }
}

/// Which optional health rules are active. `Default` enables all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    /// `argoproj.io/Application` health copied from its `status.health` (Argo CD's documented
    /// `resource.customizations.health.argoproj.io_Application`; needed for app-of-apps waves).
    pub application_from_status: bool,
    /// Health rules Argo CD ships as Lua scripts that ferry implements natively
    /// (`batch/CronJob`, `apiextensions.k8s.io/CustomResourceDefinition`).
    pub builtin_scripts: bool,
    /// ferry extension: kinds with no rule get a health from standard `status.conditions`
    /// (`Ready`, `Available`, `Stalled`, …); without such conditions they have no health.
    pub generic_conditions: bool,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            application_from_status: true,
            builtin_scripts: true,
            generic_conditions: true,
        }
    }
}

impl HealthOptions {
    /// Only gitops-engine's compiled-in rules, as plain Argo CD without Lua customizations.
    pub fn builtin_only() -> Self {
        HealthOptions {
            application_from_status: false,
            builtin_scripts: false,
            generic_conditions: false,
        }
    }
}

/// Health of one live object with [`HealthOptions::default`]; `None` when no rule applies
/// (Argo CD shows no health for such resources).
pub fn resource_health(obj: &Value) -> Option<HealthStatus> {
    resource_health_with(obj, &HealthOptions::default())
}

/// Health of one live object with the given options.
///
/// Order as gitops-engine's `GetResourceHealth`: an object being deleted (without the hook
/// finalizer) is `Progressing` "Pending deletion"; then the kind's rule. A rule that cannot read
/// the object (a field of the wrong type, an unsupported version) yields `Unknown` with the
/// error as message.
pub fn resource_health_with(obj: &Value, opts: &HealthOptions) -> Option<HealthStatus> {
    if object::is_deleting(obj) && !object::finalizers(obj).contains(&HOOK_FINALIZER) {
        return Some(HealthStatus::new(
            HealthStatusCode::Progressing,
            "Pending deletion",
        ));
    }
    let group = object::group(obj);
    let kind = object::kind(obj);
    let res = match (group, kind) {
        ("apps", "Deployment") => Some(deployment(obj)),
        ("apps", "StatefulSet") => Some(statefulset(obj)),
        ("apps", "ReplicaSet") => Some(replicaset(obj)),
        ("apps", "DaemonSet") => Some(daemonset(obj)),
        ("extensions" | "networking.k8s.io", "Ingress") => Some(Ok(ingress(obj))),
        ("argoproj.io", "Workflow") => Some(Ok(argo_workflow(obj))),
        ("apiregistration.k8s.io", "APIService") => Some(apiservice(obj)),
        ("", "Service") => Some(service(obj)),
        ("", "PersistentVolumeClaim") => Some(pvc(obj)),
        ("", "Pod") => Some(pod(obj)),
        ("batch", "Job") => Some(job(obj)),
        ("autoscaling", "HorizontalPodAutoscaler") => Some(hpa(obj)),
        ("batch", "CronJob") if opts.builtin_scripts => Some(Ok(cronjob(obj))),
        ("apiextensions.k8s.io", "CustomResourceDefinition") if opts.builtin_scripts => {
            Some(Ok(crd(obj)))
        }
        ("argoproj.io", "Application") if opts.application_from_status => {
            Some(Ok(application(obj)))
        }
        _ if opts.generic_conditions => generic_conditions(obj).map(Ok),
        _ => None,
    };
    res.map(|r| r.unwrap_or_else(|e| HealthStatus::new(HealthStatusCode::Unknown, e)))
}

type Rule = Result<HealthStatus, String>;

fn ok(status: HealthStatusCode, message: impl Into<String>) -> Rule {
    Ok(HealthStatus::new(status, message))
}

/// Typed reading of an unstructured object, failing like Kubernetes' unstructured converter
/// when a field has the wrong JSON type.
struct Typed<'a> {
    obj: &'a Value,
    kind: &'static str,
}

impl<'a> Typed<'a> {
    /// Checks the GVK (`versions` accepted) and returns the reader.
    fn new(obj: &'a Value, kind: &'static str, versions: &[&str]) -> Result<Self, String> {
        let v = object::version(obj);
        if !versions.contains(&v) {
            return Err(format!(
                "unsupported {kind} GVK: {}/{v}, Kind={}",
                object::group(obj),
                object::kind(obj)
            ));
        }
        Ok(Typed { obj, kind })
    }

    fn err(&self, path: &str, expected: &str, found: &Value) -> String {
        let found = match found {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        format!(
            "failed to convert unstructured {} to typed: field {}: expected {expected}, found {found}",
            self.kind,
            path.trim_start_matches('/').replace('/', ".")
        )
    }

    /// Optional integer (absent or null = `None`).
    fn int_opt(&self, ptr: &str) -> Result<Option<i64>, String> {
        match self.obj.pointer(ptr) {
            None | Some(Value::Null) => Ok(None),
            // Whole floats (`3.0`) are accepted as the unstructured converter does.
            Some(v) => match v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            {
                Some(i) => Ok(Some(i)),
                None => Err(self.err(ptr, "integer", v)),
            },
        }
    }

    /// Integer with Go's zero default.
    fn int(&self, ptr: &str) -> Result<i64, String> {
        Ok(self.int_opt(ptr)?.unwrap_or(0))
    }

    /// String with Go's zero default.
    fn string(&self, ptr: &str) -> Result<&'a str, String> {
        match self.obj.pointer(ptr) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(self.err(ptr, "string", v)),
        }
    }

    fn boolean(&self, ptr: &str) -> Result<bool, String> {
        match self.obj.pointer(ptr) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(ptr, "bool", v)),
        }
    }

    /// Array of objects (absent or null = empty).
    fn array(&self, ptr: &str) -> Result<&'a [Value], String> {
        match self.obj.pointer(ptr) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(v) => Err(self.err(ptr, "array", v)),
        }
    }

    /// Conditions as `(type, status, reason, message)`.
    fn conditions(&self, ptr: &str) -> Result<Vec<Condition<'a>>, String> {
        self.array(ptr)?
            .iter()
            .map(|c| {
                let s = |k: &str| -> Result<&'a str, String> {
                    match c.get(k) {
                        None | Some(Value::Null) => Ok(""),
                        Some(Value::String(s)) => Ok(s.as_str()),
                        Some(v) => Err(self.err(&format!("{ptr}/{k}"), "string", v)),
                    }
                };
                Ok(Condition {
                    type_: s("type")?,
                    status: s("status")?,
                    reason: s("reason")?,
                    message: s("message")?,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct Condition<'a> {
    type_: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn find<'a, 'b>(conds: &'b [Condition<'a>], type_: &str) -> Option<&'b Condition<'a>> {
    conds.iter().find(|c| c.type_ == type_)
}

fn deployment(obj: &Value) -> Rule {
    let t = Typed::new(obj, "Deployment", &["v1"])?;
    let name = object::name(obj);
    if t.boolean("/spec/paused")? {
        return ok(HealthStatusCode::Suspended, "Deployment is paused");
    }
    let generation = t.int("/metadata/generation")?;
    let observed = t.int("/status/observedGeneration")?;
    if generation > observed {
        return ok(
            HealthStatusCode::Progressing,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    let conds = t.conditions("/status/conditions")?;
    let spec_replicas = t.int_opt("/spec/replicas")?;
    let replicas = t.int("/status/replicas")?;
    let updated = t.int("/status/updatedReplicas")?;
    let available = t.int("/status/availableReplicas")?;
    if find(&conds, "Progressing").is_some_and(|c| c.reason == "ProgressDeadlineExceeded") {
        return ok(
            HealthStatusCode::Degraded,
            format!("Deployment {name:?} exceeded its progress deadline"),
        );
    }
    if let Some(spec) = spec_replicas
        && updated < spec
    {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "Waiting for rollout to finish: {updated} out of {spec} new replicas have been updated..."
            ),
        );
    }
    if replicas > updated {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        );
    }
    if available < updated {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    ok(HealthStatusCode::Healthy, "")
}

fn statefulset(obj: &Value) -> Rule {
    let t = Typed::new(obj, "StatefulSet", &["v1"])?;
    let generation = t.int("/metadata/generation")?;
    let observed = t.int("/status/observedGeneration")?;
    if observed == 0 || generation > observed {
        return ok(
            HealthStatusCode::Progressing,
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let spec_replicas = t.int_opt("/spec/replicas")?;
    let ready = t.int("/status/readyReplicas")?;
    let updated = t.int("/status/updatedReplicas")?;
    let current = t.int("/status/currentReplicas")?;
    let update_rev = t.string("/status/updateRevision")?;
    let current_rev = t.string("/status/currentRevision")?;
    if let Some(spec) = spec_replicas
        && ready < spec
    {
        return ok(
            HealthStatusCode::Progressing,
            format!("Waiting for {} pods to be ready...", spec - ready),
        );
    }
    let strategy = t.string("/spec/updateStrategy/type")?;
    let rolling = obj.pointer("/spec/updateStrategy/rollingUpdate");
    if strategy == "RollingUpdate" && rolling.is_some_and(|r| !r.is_null()) {
        let partition = t.int_opt("/spec/updateStrategy/rollingUpdate/partition")?;
        if let (Some(spec), Some(partition)) = (spec_replicas, partition)
            && updated < spec - partition
        {
            return ok(
                HealthStatusCode::Progressing,
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                    spec - partition
                ),
            );
        }
        return ok(
            HealthStatusCode::Healthy,
            format!("partitioned roll out complete: {updated} new pods have been updated..."),
        );
    }
    if strategy == "OnDelete" {
        return ok(
            HealthStatusCode::Healthy,
            format!("statefulset has {ready} ready pods"),
        );
    }
    if update_rev != current_rev {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}..."
            ),
        );
    }
    ok(
        HealthStatusCode::Healthy,
        format!("statefulset rolling update complete {current} pods at revision {current_rev}..."),
    )
}

fn daemonset(obj: &Value) -> Rule {
    let t = Typed::new(obj, "DaemonSet", &["v1"])?;
    let name = object::name(obj);
    let generation = t.int("/metadata/generation")?;
    let observed = t.int("/status/observedGeneration")?;
    let updated = t.int("/status/updatedNumberScheduled")?;
    let desired = t.int("/status/desiredNumberScheduled")?;
    let available = t.int("/status/numberAvailable")?;
    if generation > observed {
        return ok(
            HealthStatusCode::Progressing,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    if t.string("/spec/updateStrategy/type")? == "OnDelete" {
        return ok(
            HealthStatusCode::Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        );
    }
    if updated < desired {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
            ),
        );
    }
    if available < desired {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
            ),
        );
    }
    ok(HealthStatusCode::Healthy, "")
}

fn replicaset(obj: &Value) -> Rule {
    let t = Typed::new(obj, "ReplicaSet", &["v1"])?;
    let generation = t.int("/metadata/generation")?;
    let observed = t.int("/status/observedGeneration")?;
    if generation > observed {
        return ok(
            HealthStatusCode::Progressing,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    let conds = t.conditions("/status/conditions")?;
    let spec_replicas = t.int_opt("/spec/replicas")?;
    let available = t.int("/status/availableReplicas")?;
    if let Some(c) = find(&conds, "ReplicaFailure")
        && c.status == "True"
    {
        return ok(HealthStatusCode::Degraded, c.message);
    }
    if let Some(spec) = spec_replicas
        && available < spec
    {
        return ok(
            HealthStatusCode::Progressing,
            format!(
                "Waiting for rollout to finish: {available} out of {spec} new replicas are available..."
            ),
        );
    }
    ok(HealthStatusCode::Healthy, "")
}

fn ingress(obj: &Value) -> HealthStatus {
    let has = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if has {
        HealthStatus::new(HealthStatusCode::Healthy, "")
    } else {
        HealthStatus::new(HealthStatusCode::Progressing, "")
    }
}

fn argo_workflow(obj: &Value) -> HealthStatus {
    let phase = object::str_at(obj, "/status/phase").unwrap_or("");
    let message = object::str_at(obj, "/status/message").unwrap_or("");
    let code = match phase {
        "" | "Pending" | "Running" => HealthStatusCode::Progressing,
        "Succeeded" => HealthStatusCode::Healthy,
        "Failed" | "Error" => HealthStatusCode::Degraded,
        _ => HealthStatusCode::Unknown,
    };
    HealthStatus::new(code, message)
}

fn apiservice(obj: &Value) -> Rule {
    let t = Typed::new(obj, "APIService", &["v1", "v1beta1"])?;
    for c in t.conditions("/status/conditions")? {
        if c.type_ == "Available" {
            let msg = format!("{}: {}", c.reason, c.message);
            return if c.status == "True" {
                ok(HealthStatusCode::Healthy, msg)
            } else {
                ok(HealthStatusCode::Progressing, msg)
            };
        }
    }
    ok(HealthStatusCode::Progressing, "Waiting to be processed")
}

fn service(obj: &Value) -> Rule {
    let t = Typed::new(obj, "Service", &["v1"])?;
    if t.string("/spec/type")? == "LoadBalancer" {
        if t.array("/status/loadBalancer/ingress")?.is_empty() {
            return ok(HealthStatusCode::Progressing, "");
        }
        return ok(HealthStatusCode::Healthy, "");
    }
    ok(HealthStatusCode::Healthy, "")
}

fn pvc(obj: &Value) -> Rule {
    let t = Typed::new(obj, "PersistentVolumeClaim", &["v1"])?;
    let code = match t.string("/status/phase")? {
        "Lost" => HealthStatusCode::Degraded,
        "Pending" => HealthStatusCode::Progressing,
        "Bound" => HealthStatusCode::Healthy,
        _ => HealthStatusCode::Unknown,
    };
    ok(code, "")
}

fn pod(obj: &Value) -> Rule {
    let t = Typed::new(obj, "Pod", &["v1"])?;
    let mut restart_policy = t.string("/spec/restartPolicy")?;
    // Long-running treatment on request, but never for hooks (they must be able to finish).
    if object::annotation(obj, ANNOTATION_IGNORE_RESTART_POLICY) == Some("true")
        && !hooks::is_hook(obj)
    {
        restart_policy = "Always";
    }
    let message = t.string("/status/message")?;
    let phase = t.string("/status/phase")?;
    let containers = t.array("/status/containerStatuses")?;
    let init_containers = t.array("/status/initContainerStatuses")?;

    if restart_policy == "Always" {
        let mut messages = Vec::new();
        for c in containers {
            if let Some(w) = c.pointer("/state/waiting")
                && !w.is_null()
            {
                let reason = w.get("reason").and_then(Value::as_str).unwrap_or("");
                if reason.starts_with("Err")
                    || reason.ends_with("Error")
                    || reason.ends_with("BackOff")
                {
                    messages.push(w.get("message").and_then(Value::as_str).unwrap_or(""));
                }
            }
        }
        if !messages.is_empty() {
            return ok(HealthStatusCode::Degraded, messages.join(", "));
        }
    }

    let fail_message = |c: &Value| -> Option<String> {
        let term = c.pointer("/state/terminated").filter(|v| !v.is_null())?;
        let msg = term.get("message").and_then(Value::as_str).unwrap_or("");
        if !msg.is_empty() {
            return Some(msg.to_string());
        }
        if term.get("reason").and_then(Value::as_str) == Some("OOMKilled") {
            return Some("OOMKilled".to_string());
        }
        let code = term.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        if code != 0 {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            return Some(format!("container {name:?} failed with exit code {code}"));
        }
        None
    };

    match phase {
        "Pending" => ok(HealthStatusCode::Progressing, message),
        "Succeeded" => ok(HealthStatusCode::Healthy, message),
        "Failed" => {
            if !message.is_empty() {
                return ok(HealthStatusCode::Degraded, message);
            }
            for c in init_containers.iter().chain(containers) {
                if let Some(m) = fail_message(c) {
                    return ok(HealthStatusCode::Degraded, m);
                }
            }
            ok(HealthStatusCode::Degraded, "")
        }
        "Running" => match restart_policy {
            "Always" => {
                let ready = t
                    .conditions("/status/conditions")?
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                if ready {
                    return ok(HealthStatusCode::Healthy, message);
                }
                let terminated_before = containers.iter().any(|c| {
                    c.pointer("/lastState/terminated")
                        .is_some_and(|v| !v.is_null())
                });
                if terminated_before {
                    return ok(HealthStatusCode::Degraded, message);
                }
                ok(HealthStatusCode::Progressing, message)
            }
            "OnFailure" | "Never" => ok(HealthStatusCode::Progressing, message),
            _ => ok(HealthStatusCode::Unknown, message),
        },
        _ => ok(HealthStatusCode::Unknown, message),
    }
}

fn job(obj: &Value) -> Rule {
    let t = Typed::new(obj, "Job", &["v1"])?;
    let mut failed = false;
    let mut complete = false;
    let mut suspended = false;
    let mut fail_msg = "";
    let mut message = "";
    for c in t.conditions("/status/conditions")? {
        match c.type_ {
            "Failed" => {
                failed = true;
                complete = true;
                fail_msg = c.message;
            }
            "Complete" => {
                complete = true;
                message = c.message;
            }
            "Suspended" => {
                complete = true;
                message = c.message;
                if c.status == "True" {
                    suspended = true;
                }
            }
            _ => {}
        }
    }
    if !complete {
        ok(HealthStatusCode::Progressing, message)
    } else if failed {
        ok(HealthStatusCode::Degraded, fail_msg)
    } else if suspended {
        // Argo CD reports the (empty) failure message here, not the condition's message.
        ok(HealthStatusCode::Suspended, fail_msg)
    } else {
        ok(HealthStatusCode::Healthy, message)
    }
}

fn hpa(obj: &Value) -> Rule {
    let t = Typed::new(obj, "HPA", &["v1", "v2beta1", "v2beta2", "v2"])?;
    let waiting = || ok(HealthStatusCode::Progressing, "Waiting to Autoscale");
    let conds: Vec<(String, String, String, String)> = if object::version(obj) == "v1" {
        let Some(ann) = object::annotation(obj, "autoscaling.alpha.kubernetes.io/conditions")
        else {
            return waiting();
        };
        let parsed: Vec<Value> = serde_json::from_str(ann)
            .map_err(|e| format!("failed to convert conditions annotation to typed: {e}"))?;
        parsed
            .iter()
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (s("type"), s("status"), s("reason"), s("message"))
            })
            .collect()
    } else {
        t.conditions("/status/conditions")?
            .iter()
            .map(|c| {
                (
                    c.type_.to_string(),
                    c.status.to_string(),
                    c.reason.to_string(),
                    c.message.to_string(),
                )
            })
            .collect()
    };
    for (type_, status, reason, message) in &conds {
        let degraded = matches!(
            (type_.as_str(), reason.as_str()),
            ("AbleToScale", "FailedGetScale")
                | ("AbleToScale", "FailedUpdateScale")
                | ("ScalingActive", "FailedGetResourceMetric")
                | ("ScalingActive", "InvalidSelector")
        );
        if degraded {
            return ok(HealthStatusCode::Degraded, message.clone());
        }
        if matches!(type_.as_str(), "AbleToScale" | "ScalingLimited") && status == "True" {
            return ok(HealthStatusCode::Healthy, message.clone());
        }
    }
    waiting()
}

/// Argo CD's `batch/CronJob` Lua health script.
fn cronjob(obj: &Value) -> HealthStatus {
    if obj.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
        return HealthStatus::new(HealthStatusCode::Suspended, "CronJob is Suspended");
    }
    let Some(status) = obj.get("status").filter(|s| !s.is_null()) else {
        return HealthStatus::new(HealthStatusCode::Progressing, "Waiting for CronJob");
    };
    let present = |k: &str| status.get(k).is_some_and(|v| !v.is_null());
    if present("lastScheduleTime") {
        if !present("lastSuccessfulTime") {
            return HealthStatus::new(
                HealthStatusCode::Healthy,
                "The Cronjob never completed succesfully. It may not be healthy",
            );
        }
        if status
            .get("active")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return HealthStatus::new(
                HealthStatusCode::Healthy,
                "The job is running. Its last execution may not have been successful",
            );
        }
        // RFC 3339 timestamps in UTC compare lexically, as the Lua script compares strings.
        let last_success = status.get("lastSuccessfulTime").and_then(Value::as_str);
        let last_schedule = status.get("lastScheduleTime").and_then(Value::as_str);
        if let (Some(a), Some(b)) = (last_success, last_schedule)
            && a < b
        {
            return HealthStatus::new(
                HealthStatusCode::Degraded,
                "CronJob has not completed its last execution successfully",
            );
        }
        return HealthStatus::new(
            HealthStatusCode::Healthy,
            "CronJob has completed its last execution successfully",
        );
    }
    HealthStatus::new(
        HealthStatusCode::Healthy,
        "CronJob has not been scheduled yet",
    )
}

/// Argo CD's `apiextensions.k8s.io/CustomResourceDefinition` Lua health script.
fn crd(obj: &Value) -> HealthStatus {
    let conds = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if conds.is_empty() {
        return HealthStatus::new(HealthStatusCode::Progressing, "Status conditions not found");
    }
    let mut established = false;
    let mut terminating = false;
    let mut names_not_accepted = false;
    let mut violations = false;
    let mut msg = String::new();
    for c in &conds {
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        let st = c.get("status").and_then(Value::as_str).unwrap_or("");
        let m = c.get("message").and_then(Value::as_str).unwrap_or("");
        match (ty, st) {
            ("Terminating", "True") => {
                terminating = true;
                msg = m.to_string();
            }
            ("NamesAccepted", "False") => {
                names_not_accepted = true;
                msg = m.to_string();
            }
            ("Established", "True") => {
                established = true;
                msg = m.to_string();
            }
            ("NonStructuralSchema", "True") => {
                violations = true;
                msg = m.to_string();
            }
            _ => {}
        }
    }
    if terminating {
        HealthStatus::new(
            HealthStatusCode::Progressing,
            format!("CRD is terminating: {msg}"),
        )
    } else if names_not_accepted {
        HealthStatus::new(
            HealthStatusCode::Degraded,
            format!("CRD names have not been accepted: {msg}"),
        )
    } else if !established {
        HealthStatus::new(HealthStatusCode::Degraded, "CRD is not established")
    } else if violations {
        HealthStatus::new(
            HealthStatusCode::Degraded,
            format!("Schema violations found: {msg}"),
        )
    } else {
        HealthStatus::new(HealthStatusCode::Healthy, "CRD is healthy")
    }
}

/// The documented `argoproj.io_Application` health customization: copy `status.health`;
/// `Progressing` with an empty message while the child has no health yet.
fn application(obj: &Value) -> HealthStatus {
    let health = obj.pointer("/status/health").filter(|h| !h.is_null());
    let Some(h) = health else {
        return HealthStatus::new(HealthStatusCode::Progressing, "");
    };
    let message = h.get("message").and_then(Value::as_str).unwrap_or("");
    match h.get("status").and_then(Value::as_str) {
        Some(s) => match HealthStatusCode::parse(s) {
            Some(code) => HealthStatus::new(code, message),
            None => HealthStatus::new(HealthStatusCode::Unknown, message),
        },
        None => HealthStatus::new(HealthStatusCode::Progressing, message),
    }
}

/// ferry's generic rule for kinds without a built-in rule (see [`HealthOptions`]).
///
/// * `status.observedGeneration < metadata.generation` → Progressing;
/// * a condition `Stalled=True`, `Failed=True` or `Degraded=True` → Degraded;
/// * `Ready` (else `Available`) `True` → Healthy, `False`/`Unknown` → Progressing;
/// * `Reconciling=True` / `Progressing=True` alone → Progressing;
/// * otherwise no health.
fn generic_conditions(obj: &Value) -> Option<HealthStatus> {
    let conds = obj.pointer("/status/conditions")?.as_array()?;
    let get = |c: &'_ Value, k: &str| -> String {
        c.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    let find = |t: &str| conds.iter().find(|c| get(c, "type") == t);
    for bad in ["Stalled", "Failed", "Degraded"] {
        if let Some(c) = find(bad)
            && get(c, "status") == "True"
        {
            return Some(HealthStatus::new(
                HealthStatusCode::Degraded,
                get(c, "message"),
            ));
        }
    }
    let generation = object::int_at(obj, "/metadata/generation");
    let observed = object::int_at(obj, "/status/observedGeneration");
    if let (Some(g), Some(o)) = (generation, observed)
        && o < g
    {
        return Some(HealthStatus::new(
            HealthStatusCode::Progressing,
            "Waiting for the controller to observe the latest generation",
        ));
    }
    for good in ["Ready", "Available"] {
        if let Some(c) = find(good) {
            let code = if get(c, "status") == "True" {
                HealthStatusCode::Healthy
            } else {
                HealthStatusCode::Progressing
            };
            return Some(HealthStatus::new(code, get(c, "message")));
        }
    }
    for busy in ["Reconciling", "Progressing"] {
        if let Some(c) = find(busy)
            && get(c, "status") == "True"
        {
            return Some(HealthStatus::new(
                HealthStatusCode::Progressing,
                get(c, "message"),
            ));
        }
    }
    None
}

/// One resource of an application for health aggregation: its desired object (if rendered)
/// and its live object (if it exists), as Argo CD's `managedResource`.
#[derive(Debug, Clone, Copy)]
pub struct ManagedResource<'a> {
    /// The rendered (desired) object, `None` for a live object that is no longer rendered.
    pub target: Option<&'a Value>,
    /// The live object, `None` when not created yet.
    pub live: Option<&'a Value>,
}

/// Result of [`app_health`]: the application's health and each resource's own health (same
/// order as the input; `None` for skipped resources and those without a health rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHealth {
    /// Aggregated application status.
    pub status: HealthStatusCode,
    /// Per resource health, index-aligned with the input.
    pub resources: Vec<Option<HealthStatus>>,
}

/// Aggregates resource health into the application health as Argo CD's controller
/// (`setApplicationHealth`): start Healthy, worst wins in the order Healthy < Suspended <
/// Progressing < Missing < Degraded < Unknown, skipping `Skip` resources, hooks, resources
/// annotated `argocd.argoproj.io/ignore-healthcheck: "true"`, missing resources, child
/// Applications whose health is Missing or Unknown, and the application itself
/// (`self_ref`: group-less key of the Application object, for self-managing apps). If there are
/// resources but none exists live, the app is Missing.
pub fn app_health(
    resources: &[ManagedResource<'_>],
    opts: &HealthOptions,
    self_ref: Option<&crate::object::ResourceKey>,
) -> AppHealth {
    let mut status = HealthStatusCode::Healthy;
    let mut per = vec![None; resources.len()];
    let mut contains = false;
    let mut contains_live = false;
    for (i, res) in resources.iter().enumerate() {
        if res.target.is_some_and(hooks::is_skip) {
            continue;
        }
        if let Some(live) = res.live
            && (hooks::is_hook(live) || hooks::is_ignored(live))
        {
            continue;
        }
        contains = true;
        let Some(live) = res.live else {
            // Missing: recorded for the resource, does not degrade the app.
            per[i] = Some(HealthStatus::new(HealthStatusCode::Missing, ""));
            continue;
        };
        contains_live = true;
        if object::annotation(live, ANNOTATION_IGNORE_HEALTHCHECK) == Some("true") {
            continue;
        }
        if let Some(me) = self_ref
            && crate::object::ResourceKey::of(live) == *me
        {
            continue;
        }
        let Some(h) = resource_health_with(live, opts) else {
            continue;
        };
        let code = h.status;
        per[i] = Some(h);
        if object::group(live) == "argoproj.io"
            && object::kind(live) == "Application"
            && matches!(code, HealthStatusCode::Missing | HealthStatusCode::Unknown)
        {
            continue;
        }
        if code.is_worse_than(status) {
            status = code;
        }
    }
    if contains && !contains_live && HealthStatusCode::Missing.is_worse_than(status) {
        status = HealthStatusCode::Missing;
    }
    AppHealth {
        status,
        resources: per,
    }
}

#[cfg(test)]
mod tests;
