//! Conversion between the served versions of built-in kinds stored in another version:
//! `autoscaling/v1` HorizontalPodAutoscalers (what `kubectl autoscale` creates) are stored as
//! `autoscaling/v2`, and `events.k8s.io/v1` Events are views of the stored core/v1 Events,
//! like upstream does.

use serde_json::{Map, Value, json};

use crate::registry::ResourceType;

/// True when objects of `t` served as `version` need converting to/from storage.
pub fn needed(t: &ResourceType, version: &str) -> bool {
    t.crd.is_none()
        && (t.versions.first().is_some_and(|v| v != version) || t.group == "events.k8s.io")
}

/// Converts a request object of `version` to the storage version of `t`.
pub fn to_storage(t: &ResourceType, version: &str, obj: Value) -> Value {
    match (t.group.as_str(), t.kind.as_str(), version) {
        ("autoscaling", "HorizontalPodAutoscaler", "v1") => hpa_v1_to_v2(obj),
        ("events.k8s.io", "Event", _) => rename_event(obj, "v1", true),
        _ => obj,
    }
}

/// Converts a stored object of `t` to `version`.
pub fn from_storage(t: &ResourceType, version: &str, obj: Value) -> Value {
    match (t.group.as_str(), t.kind.as_str(), version) {
        ("autoscaling", "HorizontalPodAutoscaler", "v1") => hpa_v2_to_v1(obj),
        ("events.k8s.io", "Event", v) => rename_event(obj, &format!("events.k8s.io/{v}"), false),
        _ => obj,
    }
}

/// core/v1 Event field ↔ events.k8s.io/v1 Event field (the two are one stored object).
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename_event(mut obj: Value, api_version: &str, to_core: bool) -> Value {
    if let Some(m) = obj.as_object_mut() {
        for (core, events) in EVENT_FIELDS {
            let (from, to) = if to_core {
                (events, core)
            } else {
                (core, events)
            };
            match m.remove(*from) {
                Some(v) => {
                    m.insert((*to).to_string(), v);
                }
                None => {
                    m.remove(*to);
                }
            }
        }
        m.insert("apiVersion".into(), json!(api_version));
    }
    obj
}

fn copy(from: &Value, to: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        if let Some(v) = from.get(*k) {
            to.insert((*k).to_string(), v.clone());
        }
    }
}

fn hpa_v1_to_v2(mut obj: Value) -> Value {
    obj["apiVersion"] = json!("autoscaling/v2");
    let mut spec = Map::new();
    copy(
        &obj["spec"],
        &mut spec,
        &["scaleTargetRef", "minReplicas", "maxReplicas"],
    );
    if let Some(cpu) = obj.pointer("/spec/targetCPUUtilizationPercentage") {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}]),
        );
    }
    if obj.get("spec").is_some() {
        obj["spec"] = Value::Object(spec);
    }
    if let Some(status) = obj.get("status").filter(|s| s.is_object()).cloned() {
        let mut s = Map::new();
        copy(
            &status,
            &mut s,
            &[
                "observedGeneration",
                "lastScaleTime",
                "currentReplicas",
                "desiredReplicas",
            ],
        );
        if let Some(cpu) = status.get("currentCPUUtilizationPercentage") {
            s.insert(
                "currentMetrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}]),
            );
        }
        obj["status"] = Value::Object(s);
    }
    obj
}

fn cpu_utilization<'a>(metrics: Option<&'a Value>, field: &str) -> Option<&'a Value> {
    metrics?.as_array()?.iter().find_map(|m| {
        (m["type"] == "Resource" && m.pointer("/resource/name") == Some(&json!("cpu")))
            .then(|| m.pointer(&format!("/resource/{field}/averageUtilization")))
            .flatten()
    })
}

fn hpa_v2_to_v1(mut obj: Value) -> Value {
    obj["apiVersion"] = json!("autoscaling/v1");
    let mut spec = Map::new();
    copy(
        &obj["spec"],
        &mut spec,
        &["scaleTargetRef", "minReplicas", "maxReplicas"],
    );
    if let Some(cpu) = cpu_utilization(obj.pointer("/spec/metrics"), "target") {
        spec.insert("targetCPUUtilizationPercentage".into(), cpu.clone());
    }
    if obj.get("spec").is_some() {
        obj["spec"] = Value::Object(spec);
    }
    if let Some(status) = obj.get("status").filter(|s| s.is_object()).cloned() {
        let mut s = Map::new();
        copy(
            &status,
            &mut s,
            &[
                "observedGeneration",
                "lastScaleTime",
                "currentReplicas",
                "desiredReplicas",
            ],
        );
        if let Some(cpu) = cpu_utilization(status.get("currentMetrics"), "current") {
            s.insert("currentCPUUtilizationPercentage".into(), cpu.clone());
        }
        s.entry("currentReplicas").or_insert(json!(0));
        s.entry("desiredReplicas").or_insert(json!(0));
        obj["status"] = Value::Object(s);
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_round_trips_between_v1_and_v2() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}});
        let v2 = hpa_v1_to_v2(v1.clone());
        assert_eq!(v2["apiVersion"], "autoscaling/v2");
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 80})
        );
        assert_eq!(hpa_v2_to_v1(v2), v1);
    }

    #[test]
    fn events_k8s_io_is_a_view_of_core_events() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hi", "reason": "Started",
            "count": 2, "source": {"component": "kubelet"}});
        let ev = rename_event(core.clone(), "events.k8s.io/v1", false);
        assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
        assert_eq!(ev["regarding"]["name"], "p");
        assert_eq!(ev["note"], "hi");
        assert_eq!(ev["deprecatedCount"], 2);
        assert!(ev.get("message").is_none());
        assert_eq!(rename_event(ev, "v1", true), core);
    }
}
