//! Per-kind admission: API defaults, immutable fields, CRD schema validation / pruning /
//! defaulting, CRD registration, and server-owned status of Namespaces and CRDs.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::api::{State, Validation, WriteOpts};
use crate::error::ApiError;
use crate::registry::{CrdInfo, CrdVersion, Registry, ResourceType, ScalePaths};
use crate::store::Txn;

fn set_default(obj: &mut Value, key: &str, v: Value) {
    if let Some(m) = obj.as_object_mut()
        && !m.contains_key(key)
    {
        m.insert(key.to_string(), v);
    }
}

/// Pod spec defaults (as the upstream defaulting functions set them).
pub fn pod_spec_defaults(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs {
                let image = c
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let tag = image.rsplit('/').next().unwrap_or("");
                let latest = !tag.contains(':') && !image.contains('@') || tag.ends_with(":latest");
                set_default(
                    c,
                    "imagePullPolicy",
                    json!(if latest { "Always" } else { "IfNotPresent" }),
                );
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                set_default(c, "resources", json!({}));
                if let Some(Value::Array(ports)) = c.get_mut("ports") {
                    for p in ports {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

/// Removes `null` members (e.g. `creationTimestamp: null` that Go clients serialize into
/// pod templates) so equal templates compare and hash equal.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn template_defaults(obj: &mut Value) {
    if let Some(t) = obj.pointer_mut("/spec/template") {
        strip_nulls(t);
    }
    if let Some(spec) = obj.pointer_mut("/spec/template/spec") {
        pod_spec_defaults(spec);
    }
}

fn immutable(t: &ResourceType, name: &str, field: &str) -> ApiError {
    ApiError::invalid(
        &t.kind,
        &t.group,
        &t.plural,
        name,
        &[(
            field.to_string(),
            "FieldValueInvalid",
            "field is immutable".into(),
        )],
    )
}

/// Admission for one write: `old` is the stored object (None on create); `obj` is mutated in place.
pub fn prepare(
    txn: &Txn,
    t: &ResourceType,
    version: &str,
    old: Option<&Value>,
    obj: &mut Value,
    opts: &WriteOpts,
) -> Result<(), ApiError> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match (t.group.as_str(), t.kind.as_str()) {
        ("", "Namespace") => {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            if old.is_none() {
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
            } else if obj.pointer("/spec/finalizers").is_none()
                && let Some(f) = old.and_then(|o| o.pointer("/spec/finalizers"))
            {
                obj["spec"]["finalizers"] = f.clone();
            }
            let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else {
                "Active"
            };
            if obj.pointer("/status/phase").is_none() || phase == "Terminating" {
                obj["status"]["phase"] = json!(phase);
            }
        }
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec_defaults(spec);
                set_default(spec, "serviceAccountName", json!("default"));
            }
            if old.is_none() && obj.pointer("/status/phase").is_none() {
                obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
            }
        }
        ("", "Service") => service_defaults(txn, old, obj)?,
        ("", "ConfigMap") | ("", "Secret") => {
            if let Some(o) = old
                && o.get("immutable").and_then(Value::as_bool) == Some(true)
            {
                for f in ["data", "binaryData", "stringData"] {
                    if o.get(f) != obj.get(f) && !(f == "stringData" && obj.get(f).is_none()) {
                        return Err(immutable(t, &name, f));
                    }
                }
            }
            if t.kind == "Secret" {
                set_default(obj, "type", json!("Opaque"));
                if let Some(Value::Object(sd)) =
                    obj.as_object_mut().and_then(|m| m.remove("stringData"))
                {
                    use base64::Engine;
                    for (k, v) in sd {
                        let s = v.as_str().unwrap_or_default().to_string();
                        obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(s));
                    }
                }
            }
        }
        ("apps", "Deployment") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            set_default(spec, "strategy", json!({}));
            set_default(&mut spec["strategy"], "type", json!("RollingUpdate"));
            if spec.pointer("/strategy/type") == Some(&json!("RollingUpdate")) {
                set_default(
                    &mut spec["strategy"],
                    "rollingUpdate",
                    json!({"maxUnavailable": "25%", "maxSurge": "25%"}),
                );
            }
            template_defaults(obj);
            check_selector(t, &name, old, obj)?;
        }
        ("apps", "ReplicaSet") => {
            set_default(&mut obj["spec"], "replicas", json!(1));
            template_defaults(obj);
            check_selector(t, &name, old, obj)?;
        }
        ("apps", "StatefulSet") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(spec, "updateStrategy", json!({}));
            set_default(&mut spec["updateStrategy"], "type", json!("RollingUpdate"));
            if spec.pointer("/updateStrategy/type") == Some(&json!("RollingUpdate")) {
                set_default(&mut spec["updateStrategy"], "rollingUpdate", json!({}));
                set_default(
                    &mut spec["updateStrategy"]["rollingUpdate"],
                    "partition",
                    json!(0),
                );
            }
            set_default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            template_defaults(obj);
            check_selector(t, &name, old, obj)?;
        }
        ("apps", "DaemonSet") => {
            let spec = &mut obj["spec"];
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "updateStrategy", json!({}));
            set_default(&mut spec["updateStrategy"], "type", json!("RollingUpdate"));
            if spec.pointer("/updateStrategy/type") == Some(&json!("RollingUpdate")) {
                set_default(
                    &mut spec["updateStrategy"],
                    "rollingUpdate",
                    json!({"maxUnavailable": 1, "maxSurge": 0}),
                );
            }
            template_defaults(obj);
            check_selector(t, &name, old, obj)?;
        }
        ("batch", "Job") => {
            let uid = obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
            let spec = &mut obj["spec"];
            set_default(spec, "completions", json!(1));
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "backoffLimit", json!(6));
            set_default(spec, "completionMode", json!("NonIndexed"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
            if old.is_none()
                && spec.get("selector").is_none()
                && spec.get("manualSelector") != Some(&json!(true))
            {
                spec["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
                spec["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] =
                    uid.clone();
                spec["template"]["metadata"]["labels"]["controller-uid"] = uid.clone();
                spec["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] =
                    json!(name);
                spec["template"]["metadata"]["labels"]["job-name"] = json!(name);
            }
            template_defaults(obj);
            if let Some(o) = old
                && o.pointer("/spec/template") != obj.pointer("/spec/template")
            {
                return Err(immutable(t, &name, "spec.template"));
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            let spec = &mut obj["spec"];
            set_default(spec, "minReplicas", json!(1));
            if spec
                .get("metrics")
                .and_then(Value::as_array)
                .is_none_or(|m| m.is_empty())
            {
                spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}]);
            }
        }
        ("batch", "CronJob") => {
            let spec = &mut obj["spec"];
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(ps) = obj.pointer_mut("/spec/jobTemplate/spec/template/spec") {
                pod_spec_defaults(ps);
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd_admission(t, &name, old, obj)?,
        _ => {}
    }
    if t.crd.is_none()
        && let Some(root) = crate::ssa::root_schema(t, version)
    {
        let mut unknown = Vec::new();
        prune_builtin(obj, root, &mut String::new(), &mut unknown);
        if opts.validation == Validation::Strict && !unknown.is_empty() {
            let list = unknown
                .iter()
                .map(|u| format!("unknown field \"{u}\""))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::bad_request(format!(
                "strict decoding error: {list}"
            )));
        }
    }
    if let Some(v) = t.crd_version(version)
        && let Some(schema) = &v.schema
    {
        {
            let mut errors = Vec::new();
            let mut unknown = Vec::new();
            validate(obj, schema, "", &mut errors, &mut unknown, true);
            if opts.validation == Validation::Strict && !unknown.is_empty() {
                return Err(ApiError::bad_request(format!(
                    ".{}: field not declared in schema",
                    unknown.join(", .")
                )));
            }
            if !errors.is_empty() {
                return Err(ApiError::invalid(
                    &t.kind, &t.group, &t.plural, &name, &errors,
                ));
            }
        }
    }
    Ok(())
}

fn check_selector(
    t: &ResourceType,
    name: &str,
    old: Option<&Value>,
    obj: &Value,
) -> Result<(), ApiError> {
    if let Some(o) = old
        && o.pointer("/spec/selector") != obj.pointer("/spec/selector")
    {
        return Err(immutable(t, name, "spec.selector"));
    }
    let sel = obj.pointer("/spec/selector");
    if sel.is_none() {
        return Err(ApiError::invalid(
            &t.kind,
            &t.group,
            &t.plural,
            name,
            &[(
                "spec.selector".into(),
                "FieldValueRequired",
                "Required value".into(),
            )],
        ));
    }
    let labels = obj.pointer("/spec/template/metadata/labels");
    if let Some(sel) = sel
        && !crate::selector::LabelSelector::from_object(sel).matches(labels)
    {
        return Err(ApiError::invalid(
            &t.kind,
            &t.group,
            &t.plural,
            name,
            &[(
                "spec.template.metadata.labels".into(),
                "FieldValueInvalid",
                "Invalid value: `selector` does not match template `labels`".into(),
            )],
        ));
    }
    Ok(())
}

fn service_defaults(txn: &Txn, old: Option<&Value>, obj: &mut Value) -> Result<(), ApiError> {
    let spec = &mut obj["spec"];
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if ty != "ExternalName" {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        let old_ip = old.and_then(|o| o.pointer("/spec/clusterIP")).cloned();
        if spec
            .get("clusterIP")
            .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
        {
            let ip = old_ip
                .unwrap_or_else(|| json!(alloc_ip(txn, "10.96", "/services", "/spec/clusterIP")));
            spec["clusterIP"] = ip;
        }
        let ip = spec["clusterIP"].clone();
        spec["clusterIPs"] = json!([ip]);
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for (i, p) in ports.iter_mut().enumerate() {
            set_default(p, "protocol", json!("TCP"));
            let port = p.get("port").cloned().unwrap_or(Value::Null);
            set_default(p, "targetPort", port);
            if (ty == "NodePort" || ty == "LoadBalancer") && p.get("nodePort").is_none() {
                p["nodePort"] = json!(30000 + (rand::random::<u16>() % 2000) + i as u16);
            }
        }
    }
    if ty == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    Ok(())
}

/// Allocates an unused IPv4 address in `prefix.x.y` among objects of `resource` at `pointer`.
pub fn alloc_ip(txn: &Txn, prefix: &str, resource: &str, pointer: &str) -> String {
    let objects = txn.list(resource, None);
    let used: std::collections::HashSet<&str> = objects
        .iter()
        .filter_map(|o| o.pointer(pointer).and_then(Value::as_str))
        .collect();
    for _ in 0..1000 {
        let a = rand::random::<u8>();
        let b = rand::random::<u8>().max(2);
        let ip = format!("{prefix}.{a}.{b}");
        if !used.contains(ip.as_str()) {
            return ip;
        }
    }
    format!("{prefix}.255.254")
}

fn crd_admission(
    t: &ResourceType,
    name: &str,
    old: Option<&Value>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
    let plural = spec
        .pointer("/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut causes: Vec<(String, &str, String)> = Vec::new();
    if name != format!("{plural}.{group}") {
        causes.push((
            "metadata.name".into(),
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let kind = spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind.is_empty() {
        causes.push((
            "spec.names.kind".into(),
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage: Vec<&Value> = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .collect();
    if storage.len() != 1 {
        causes.push((
            "spec.versions".into(),
            "FieldValueInvalid",
            "Invalid value: must have exactly one version marked as storage version".into(),
        ));
    }
    if let Some(s) = spec.get("scope").and_then(Value::as_str)
        && s != "Namespaced"
        && s != "Cluster"
    {
        causes.push((
            "spec.scope".into(),
            "FieldValueNotSupported",
            format!("Unsupported value: \"{s}\""),
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
            let mut bad = Vec::new();
            bad_patterns(
                schema,
                &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                &mut bad,
            );
            causes.extend(bad);
        }
    }
    if let Some(o) = old {
        if o.pointer("/spec/group") != obj.pointer("/spec/group") {
            causes.push((
                "spec.group".into(),
                "FieldValueInvalid",
                "field is immutable".into(),
            ));
        }
        if o.pointer("/spec/scope") != obj.pointer("/spec/scope") {
            causes.push((
                "spec.scope".into(),
                "FieldValueInvalid",
                "field is immutable".into(),
            ));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            &t.kind, &t.group, &t.plural, name, &causes,
        ));
    }
    let mut names = spec.get("names").cloned().unwrap_or(json!({}));
    set_default(&mut names, "singular", json!(kind.to_lowercase()));
    set_default(&mut names, "listKind", json!(format!("{kind}List")));
    obj["spec"]["names"] = names.clone();
    set_default(&mut obj["spec"], "conversion", json!({"strategy": "None"}));
    let storage_name = storage
        .first()
        .and_then(|v| v.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut stored = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !stored.contains(&storage_name) {
        stored.push(storage_name.clone());
    }
    let now = crate::api::now();
    let mut conds = vec![
        json!({"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now}),
        json!({"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now}),
    ];
    let mut rules = Vec::new();
    for v in &versions {
        if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("");
            cel_rule_paths(schema, &format!("{name}:"), &mut rules);
        }
    }
    if !rules.is_empty() {
        conds.push(json!({"type": "ValidationRulesNotEvaluated", "status": "True", "reason": "CELUnsupported",
            "message": format!("ferry does not evaluate x-kubernetes-validations (CEL) rules; objects are admitted without them at {}", rules.join(", ")),
            "lastTransitionTime": now}));
    }
    if spec.pointer("/conversion/strategy").and_then(Value::as_str) == Some("Webhook") {
        let storage = storage_name.as_str().unwrap_or("");
        conds.push(json!({"type": "ConversionWebhookUnavailable", "status": "True", "reason": "WebhookConversionUnsupported",
            "message": format!("ferry cannot call conversion webhooks: objects are read and written at the storage version {storage} only; requests at any other version fail"),
            "lastTransitionTime": now}));
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        conds.push(json!({"type": "Terminating", "status": "True", "reason": "InstanceDeletionPending", "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon", "lastTransitionTime": now}));
    }
    if let Some(o) = old
        .and_then(|o| o.pointer("/status/conditions"))
        .and_then(Value::as_array)
    {
        for c in conds.iter_mut() {
            if let Some(prev) = o
                .iter()
                .find(|p| p["type"] == c["type"] && p["status"] == c["status"])
            {
                c["lastTransitionTime"] = prev["lastTransitionTime"].clone();
            }
        }
    }
    obj["status"] = json!({"acceptedNames": names, "storedVersions": stored, "conditions": conds});
    Ok(())
}

/// Paths (`v1:.spec.size`) of every schema node carrying `x-kubernetes-validations` rules.
pub fn cel_rule_paths(schema: &Value, path: &str, out: &mut Vec<String>) {
    if schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty())
    {
        out.push(if path.ends_with(':') {
            format!("{path}<root>")
        } else {
            path.to_string()
        });
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            cel_rule_paths(v, &format!("{path}.{k}"), out);
        }
    }
    if let Some(items) = schema.get("items") {
        cel_rule_paths(items, &format!("{path}[*]"), out);
    }
    if let Some(add) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        cel_rule_paths(add, &format!("{path}[*]"), out);
    }
}

/// The Warning header text for writes whose schema has CEL rules ferry cannot evaluate.
pub fn cel_warning(rules: &[String]) -> Option<String> {
    (!rules.is_empty()).then(|| {
        format!(
            "ferry: x-kubernetes-validations (CEL) rules are not evaluated ({})",
            rules.join(", ")
        )
    })
}

/// Compiled `pattern`s of CRD schemas (Go RE2 syntax; the `regex` crate implements the
/// same guarantees and, for the patterns schemas use, the same syntax).
fn pattern(p: &str) -> Option<Arc<regex::Regex>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = HashMap<String, Option<Arc<regex::Regex>>>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut c = match cache.lock() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    // Shared compiled regexes: a `Regex` clone would start with an empty match cache.
    if let Some(r) = c.get(p) {
        return r.clone();
    }
    if c.len() > 1024 {
        c.clear();
    }
    let r = regex::Regex::new(p).ok().map(Arc::new);
    c.insert(p.to_string(), r.clone());
    r
}

/// kube-openapi's string formats that kube-apiserver checks (unknown formats pass).
fn format_ok(format: &str, s: &str) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let re = |p: &str| pattern(p).is_some_and(|r| r.is_match(s));
    match format {
        "date-time" | "datetime" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "ipv4" => s.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "cidr" => s.split_once('/').is_some_and(|(ip, bits)| {
            let Ok(bits) = bits.parse::<u8>() else {
                return false;
            };
            (ip.parse::<Ipv4Addr>().is_ok() && bits <= 32)
                || (ip.parse::<Ipv6Addr>().is_ok() && bits <= 128)
        }),
        "uuid" => re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
        "uuid3" => re(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"),
        "uuid4" => re(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
        "uuid5" => re(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
        "hostname" => {
            s.len() <= 255
                && re(
                    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
                )
        }
        "email" => re(r"^[^@\s]+@[^@\s]+$"),
        "mac" => re(r"(?i)^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$"),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        "duration" => re(r"^-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h|d|w))+$"),
        "uri" => re(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*$"),
        "hexcolor" => re(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"),
        _ => true,
    }
}

/// Invalid `pattern`s in a CRD schema (kube-apiserver refuses such CRDs).
fn bad_patterns(schema: &Value, path: &str, out: &mut Vec<(String, &'static str, String)>) {
    if let Some(p) = schema.get("pattern").and_then(Value::as_str)
        && let Err(e) = regex::Regex::new(p)
    {
        out.push((
            format!("{path}.pattern"),
            "FieldValueInvalid",
            format!("Invalid value: \"{p}\": must be a valid regular expression, but isn't: {e}"),
        ));
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            bad_patterns(v, &format!("{path}.properties[{k}]"), out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(v) = schema.get(key).filter(|v| v.is_object()) {
            bad_patterns(v, &format!("{path}.{key}"), out);
        }
    }
}

fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major: u32 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (stage, n) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    (stage, major, n.parse().unwrap_or(0))
}

/// Registers (or re-registers) the types served by a stored CRD.
pub fn register_crd(registry: &Registry, crd: &Value) {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or("").to_string();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or("").to_string();
    if group.is_empty() || plural.is_empty() {
        return;
    }
    let mut versions: Vec<CrdVersion> = Vec::new();
    let mut storage_version = String::new();
    for v in spec["versions"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or("").to_string();
        if v["storage"].as_bool() == Some(true) {
            storage_version = name.clone();
        }
        if v["served"].as_bool() == Some(false) {
            continue;
        }
        let scale = v.pointer("/subresources/scale").map(|s| ScalePaths {
            spec_replicas: s["specReplicasPath"]
                .as_str()
                .unwrap_or(".spec.replicas")
                .to_string(),
            status_replicas: s["statusReplicasPath"]
                .as_str()
                .unwrap_or(".status.replicas")
                .to_string(),
            label_selector: s["labelSelectorPath"].as_str().map(String::from),
        });
        versions.push(CrdVersion {
            name,
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            printer_columns: v["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            status: v.pointer("/subresources/status").is_some(),
            scale,
        });
    }
    if versions.is_empty() {
        registry.remove_crd(&group, &plural);
        return;
    }
    versions.sort_by_key(|v| std::cmp::Reverse(version_priority(&v.name)));
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = names["kind"].as_str().unwrap_or("").to_string();
    registry.upsert_crd(ResourceType {
        group,
        versions: versions.iter().map(|v| v.name.clone()).collect(),
        singular: names["singular"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        kind,
        plural,
        namespaced: spec["scope"].as_str() != Some("Cluster"),
        short_names: strs(&names["shortNames"]),
        categories: strs(&names["categories"]),
        status: false,
        scale: None,
        crd: Some(Arc::new(CrdInfo {
            versions,
            storage_version,
            webhook_conversion: spec.pointer("/conversion/strategy").and_then(Value::as_str)
                == Some("Webhook"),
        })),
    });
}

/// Drops (and reports) fields a built-in schema does not declare. `path` is the position of
/// `v` (dotted), extended in place and only copied for reported fields.
fn prune_builtin(
    v: &mut Value,
    node: crate::schema::SchemaNode,
    path: &mut String,
    unknown: &mut Vec<String>,
) {
    if node.preserves_unknown() {
        return;
    }
    match v {
        Value::Object(m) => {
            let resolved = node.resolved();
            let has_props = resolved.get("properties").is_some_and(Value::is_object);
            let has_additional = resolved
                .get("additionalProperties")
                .is_some_and(Value::is_object);
            if !has_props && !has_additional {
                return;
            }
            m.retain(|k, cv| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let keep = match node.field(k) {
                    Some(child) => {
                        prune_builtin(cv, child, path, unknown);
                        true
                    }
                    None => {
                        unknown.push(path.clone());
                        false
                    }
                };
                path.truncate(len);
                keep
            });
        }
        Value::Array(items) => {
            if let Some(is) = node.items() {
                for (i, it) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                    prune_builtin(it, is, path, unknown);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// Hooks after a successful write.
pub fn after_write(state: &State, t: &ResourceType, obj: &Value) {
    if t.group == "apiextensions.k8s.io" && t.kind == "CustomResourceDefinition" {
        register_crd(&state.registry, obj);
    }
}

/// Validates, prunes and defaults `v` against a structural schema. `errors` collects
/// (field, reason, message); `unknown` collects pruned field paths.
pub fn validate(
    v: &mut Value,
    schema: &Value,
    path: &str,
    errors: &mut Vec<(String, &'static str, String)>,
    unknown: &mut Vec<String>,
    root: bool,
) {
    let mut path = path.to_string();
    validate_at(v, schema, &mut path, errors, unknown, root);
}

/// [`validate`] at `path`, which is extended in place for children (and copied only for
/// reported fields).
fn validate_at(
    v: &mut Value,
    schema: &Value,
    path: &mut String,
    errors: &mut Vec<(String, &'static str, String)>,
    unknown: &mut Vec<String>,
    root: bool,
) {
    let field = || {
        if path.is_empty() {
            "<root>".to_string()
        } else {
            path.clone()
        }
    };
    if v.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true) && !root {
            // upstream prunes nulls for non-nullable fields
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let type_ok = match ty {
        "" => true,
        _ if int_or_string => v.is_string() || v.is_i64() || v.is_u64(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    };
    if !type_ok {
        let got = match v {
            Value::Object(_) => "object",
            Value::Array(_) => "array",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
        };
        errors.push((
            field(),
            "FieldValueTypeInvalid",
            format!(
                "Invalid value: \"{got}\": {field_path} in body must be of type {ty}: \"{got}\"",
                field_path = path.trim_start_matches('.')
            ),
        ));
        return;
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(v)
    {
        let list = allowed
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        errors.push((
            field(),
            "FieldValueNotSupported",
            format!("Unsupported value: {v}: supported values: {list}"),
        ));
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push((
                field(),
                "FieldValueInvalid",
                format!("Invalid value: {v}: should be greater than or equal to {min}"),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errors.push((
                field(),
                "FieldValueInvalid",
                format!("Invalid value: {v}: should be less than or equal to {max}"),
            ));
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            errors.push((
                field(),
                "FieldValueInvalid",
                format!("Invalid value: \"{s}\": should be at least {min} chars long"),
            ));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            errors.push((
                field(),
                "FieldValueTooLong",
                format!("Too long: may not be more than {max} bytes"),
            ));
        }
        let at = path.trim_start_matches('.');
        if let Some(p) = schema.get("pattern").and_then(Value::as_str)
            && pattern(p).is_some_and(|r| !r.is_match(s))
        {
            errors.push((
                field(),
                "FieldValueInvalid",
                format!("Invalid value: \"{s}\": {at} in body should match '{p}'"),
            ));
        }
        if let Some(f) = schema.get("format").and_then(Value::as_str)
            && !int_or_string
            && !format_ok(f, s)
        {
            errors.push((
                field(),
                "FieldValueTypeInvalid",
                format!("Invalid value: \"{s}\": {at} in body must be of type {f}: \"{s}\""),
            ));
        }
    }
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let preserve = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if let Some(props) = props {
                for (k, ps) in props {
                    if !m.contains_key(k)
                        && let Some(d) = ps.get("default")
                    {
                        m.insert(k.clone(), d.clone());
                    }
                }
            }
            m.retain(|k, cv| {
                if root && (k == "metadata" || k == "apiVersion" || k == "kind") {
                    return true;
                }
                let len = path.len();
                path.push('.');
                path.push_str(k);
                let child_schema = props.and_then(|p| p.get(k)).or(additional);
                let keep = match child_schema {
                    Some(cs) => {
                        validate_at(cv, cs, path, errors, unknown, false);
                        true
                    }
                    None if preserve || (props.is_none() && schema.get("type").is_none()) => true,
                    None => {
                        unknown.push(path.trim_start_matches('.').to_string());
                        false
                    }
                };
                path.truncate(len);
                keep
            });
            if let Some(Value::Array(req)) = schema.get("required") {
                for r in req.iter().filter_map(Value::as_str) {
                    if !m.contains_key(r) {
                        errors.push((
                            format!("{}.{r}", path).trim_start_matches('.').to_string(),
                            "FieldValueRequired",
                            "Required value".into(),
                        ));
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                errors.push((
                    field(),
                    "FieldValueTooMany",
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                errors.push((
                    field(),
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {}: should have at least {min} items",
                        items.len()
                    ),
                ));
            }
            if let Some(is) = schema.get("items") {
                for (i, it) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                    validate_at(it, is, path, errors, unknown, false);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
    let _: Option<&Map<String, Value>> = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_schema_prunes_defaults_validates() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}});
        let mut obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"}, "spec": {"size": 2, "junk": 1, "free": {"any": {"thing": 1}}}});
        let (mut e, mut u) = (Vec::new(), Vec::new());
        validate(&mut obj, &schema, "", &mut e, &mut u, true);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(u, vec!["spec.junk".to_string()]);
        assert_eq!(obj["spec"]["color"], "red");
        assert_eq!(obj["spec"]["free"]["any"]["thing"], 1);
        let mut bad = json!({"spec": {"size": 0, "color": "green"}});
        let (mut e, mut u) = (Vec::new(), Vec::new());
        validate(&mut bad, &schema, "", &mut e, &mut u, true);
        assert_eq!(e.len(), 2, "{e:?}");
        let mut missing = json!({"spec": {}});
        let (mut e, mut u) = (Vec::new(), Vec::new());
        validate(&mut missing, &schema, "", &mut e, &mut u, true);
        assert_eq!(e[0].0, "spec.size");
    }

    #[test]
    fn version_ordering() {
        let mut v = vec!["v1beta1", "v2", "v1", "v1alpha1", "v2beta2"];
        v.sort_by_key(|x| std::cmp::Reverse(version_priority(x)));
        assert_eq!(v, vec!["v2", "v1", "v2beta2", "v1beta1", "v1alpha1"]);
    }
}
