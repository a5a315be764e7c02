//! Decoding of Kubernetes protobuf request bodies (`k8s\0` + `runtime.Unknown` envelope) into
//! the JSON form of the object, for every built-in kind of the stable API groups.
//!
//! Typed clients (`kubectl create deployment|service|job|role|...`, `kubectl expose`,
//! `autoscale`, Helm's release Secrets and DeleteOptions) send protobuf. The field table
//! (`descriptors.txt`: message → tag → JSON name, cardinality and type) is generated from the
//! prost types of the `k8s-pb` crate by `generate.rs`, so every kind upstream defines in
//! `generated.proto` decodes the same way. Responses are always JSON.
//!
//! Go's marshaller writes non-pointer scalar fields even when they hold the zero value, while
//! its JSON form omits them (`omitempty`); the decoder therefore drops zero scalars unless
//! the schema marks the field required or the field is one of the pointer fields whose explicit
//! zero means something (`replicas: 0`, `runAsUser: 0`, `suspend: false`, ...).

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

#[cfg(test)]
mod generate;
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b, i: 0 }
    }
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.i).ok_or_else(|| bad("truncated varint"))?;
            self.i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint too long"))
    }
}

fn bad(msg: &str) -> ApiError {
    ApiError::bad_request(format!("protobuf: {msg}"))
}

/// Wire type of a field as read.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn read_wire<'a>(r: &mut Reader<'a>) -> Result<Option<(u64, Wire<'a>)>, ApiError> {
    if r.i >= r.b.len() {
        return Ok(None);
    }
    let tag = r.varint()?;
    let (num, wt) = (tag >> 3, tag & 7);
    let w = match wt {
        0 => Wire::Varint(r.varint()?),
        1 => {
            let end = r.i.checked_add(8).filter(|e| *e <= r.b.len());
            let end = end.ok_or_else(|| bad("truncated fixed64"))?;
            let mut a = [0u8; 8];
            a.copy_from_slice(&r.b[r.i..end]);
            r.i = end;
            Wire::Fixed64(u64::from_le_bytes(a))
        }
        2 => {
            let len = usize::try_from(r.varint()?).map_err(|_| bad("length overflow"))?;
            let end =
                r.i.checked_add(len)
                    .filter(|e| *e <= r.b.len())
                    .ok_or_else(|| bad("truncated field"))?;
            let s = &r.b[r.i..end];
            r.i = end;
            Wire::Bytes(s)
        }
        5 => {
            let end = r.i.checked_add(4).filter(|e| *e <= r.b.len());
            r.i = end.ok_or_else(|| bad("truncated fixed32"))?;
            Wire::Varint(0)
        }
        _ => return Err(bad("unsupported wire type")),
    };
    Ok(Some((num, w)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    Opt,
    Rep,
    Map,
    Inline,
}

#[derive(Clone, Copy)]
enum Ty {
    String,
    Bool,
    Int32,
    Int64,
    Double,
    Bytes,
    Message(&'static str),
}

struct FieldDesc {
    tag: u64,
    json: &'static str,
    card: Card,
    ty: Ty,
    required: bool,
}

#[derive(Default)]
struct MessageDesc {
    fields: Vec<FieldDesc>,
}

#[derive(Default)]
struct Table {
    messages: HashMap<&'static str, MessageDesc>,
    /// (apiVersion, kind) → message name, from the `Resource` impls of k8s-pb.
    kinds: HashMap<(&'static str, &'static str), &'static str>,
}

const DESCRIPTORS: &str = include_str!("descriptors.txt");

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse_table(DESCRIPTORS))
}

fn parse_table(src: &'static str) -> Table {
    let mut t = Table::default();
    let mut current: Option<&'static str> = None;
    for (n, line) in src.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&'static str> = line.split(' ').collect();
        if parts[0] == "message" {
            let Some(name) = parts.get(1).copied() else {
                tracing::error!(line = n + 1, "descriptors.txt: message without a name");
                continue;
            };
            t.messages.entry(name).or_default();
            if let (Some(av), Some(kind)) = (parts.get(2), parts.get(3)) {
                t.kinds.insert((av, kind), name);
            }
            current = Some(name);
            continue;
        }
        let (Some(msg), [tag, json, card, ty, rest @ ..]) = (current, parts.as_slice()) else {
            tracing::error!(line = n + 1, "descriptors.txt: malformed field line");
            continue;
        };
        let (Ok(tag), Some(card)) = (
            tag.parse::<u64>(),
            match *card {
                "opt" => Some(Card::Opt),
                "rep" => Some(Card::Rep),
                "map" => Some(Card::Map),
                "inl" => Some(Card::Inline),
                _ => None,
            },
        ) else {
            tracing::error!(line = n + 1, "descriptors.txt: bad tag or cardinality");
            continue;
        };
        let ty = match *ty {
            "string" => Ty::String,
            "bool" => Ty::Bool,
            "int32" => Ty::Int32,
            "int64" => Ty::Int64,
            "double" => Ty::Double,
            "bytes" => Ty::Bytes,
            other => Ty::Message(other),
        };
        if let Some(m) = t.messages.get_mut(msg) {
            m.fields.push(FieldDesc {
                tag,
                json,
                card,
                ty,
                required: rest.contains(&"req"),
            });
        }
    }
    t
}

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Duration";
const FIELDS_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
const APIEXT: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.";

/// Pointer fields (`*int32`, `*bool`, ...) whose explicit zero value differs from "unset".
const KEEP_ZERO: &[&str] = &[
    "activeDeadlineSeconds",
    "allowPrivilegeEscalation",
    "automountServiceAccountToken",
    "averageUtilization",
    "backoffLimit",
    "backoffLimitPerIndex",
    "completions",
    "defaultMode",
    "enableServiceLinks",
    "expirationSeconds",
    "failedJobsHistoryLimit",
    "fsGroup",
    "gracePeriodSeconds",
    "hostUsers",
    "immutable",
    "maxFailedIndexes",
    "minReplicas",
    "mode",
    "optional",
    "orphanDependents",
    "parallelism",
    "privileged",
    "readOnlyRootFilesystem",
    "replicas",
    "revisionHistoryLimit",
    "runAsGroup",
    "runAsNonRoot",
    "runAsUser",
    "stabilizationWindowSeconds",
    "startingDeadlineSeconds",
    "successfulJobsHistoryLimit",
    "suspend",
    "targetCPUUtilizationPercentage",
    "terminationGracePeriodSeconds",
    "ttlSecondsAfterFinished",
];

const MAX_DEPTH: usize = 100;

fn utf8(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("string field is not UTF-8"))
}

fn raw_json(b: &[u8]) -> Result<Value, ApiError> {
    if b.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(b).map_err(|e| bad(&format!("embedded JSON: {e}")))
}

/// Field `tag`'s bytes / varint of a small well-known message.
fn fields_of(b: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ApiError> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while let Some(f) = read_wire(&mut r)? {
        out.push(f);
    }
    Ok(out)
}

fn timestamp(b: &[u8], micro: bool) -> Result<Value, ApiError> {
    let (mut secs, mut nanos) = (0i64, 0u32);
    for (n, w) in fields_of(b)? {
        match (n, w) {
            (1, Wire::Varint(v)) => secs = v as i64,
            (2, Wire::Varint(v)) => nanos = v as u32,
            _ => {}
        }
    }
    // Go's zero time marshals as an empty message (or as year 1).
    if b.is_empty() || secs == -62_135_596_800 {
        return Ok(Value::Null);
    }
    let t =
        chrono::DateTime::from_timestamp(secs, nanos).ok_or_else(|| bad("time out of range"))?;
    Ok(json!(if micro {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }))
}

/// Go's `time.Duration.String()`.
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let n = nanos.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if n < 1_000_000_000 {
        let (unit, div) = if n < 1_000 {
            ("ns", 1)
        } else if n < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", frac(n, div));
    }
    let (h, rem) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rem) = (rem / 60_000_000_000, rem % 60_000_000_000);
    let s = frac(rem, 1_000_000_000);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

fn frac(v: u64, div: u64) -> String {
    let (whole, rest) = (v / div, v % div);
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn scalar(ty: Ty, w: Wire<'_>) -> Result<Value, ApiError> {
    Ok(match (ty, w) {
        (Ty::String, Wire::Bytes(b)) => Value::String(utf8(b)?),
        (Ty::Bytes, Wire::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        (Ty::Int32, Wire::Varint(v)) => json!(v as i64 as i32),
        (Ty::Int64, Wire::Varint(v)) => json!(v as i64),
        (Ty::Double, Wire::Fixed64(v)) => {
            serde_json::Number::from_f64(f64::from_bits(v)).map_or(Value::Null, Value::Number)
        }
        _ => return Err(bad("field has an unexpected wire type")),
    })
}

fn value(t: &Table, ty: Ty, w: Wire<'_>, depth: usize) -> Result<Value, ApiError> {
    match (ty, w) {
        (Ty::Message(name), Wire::Bytes(b)) => message(t, name, b, depth + 1),
        (Ty::Message(_), _) => Err(bad("message field has an unexpected wire type")),
        (ty, w) => scalar(ty, w),
    }
}

fn map_entry(t: &Table, ty: Ty, b: &[u8], depth: usize) -> Result<(String, Value), ApiError> {
    let mut key = String::new();
    let mut val = None;
    for (n, w) in fields_of(b)? {
        match (n, w) {
            (1, Wire::Bytes(k)) => key = utf8(k)?,
            (2, w) => val = Some(value(t, ty, w, depth)?),
            _ => {}
        }
    }
    let val = match (val, ty) {
        (Some(v), _) => v,
        (None, Ty::Message(name)) => message(t, name, &[], depth + 1)?,
        (None, Ty::Bytes | Ty::String) => json!(""),
        (None, Ty::Bool) => json!(false),
        (None, _) => json!(0),
    };
    Ok((key, val))
}

/// Decodes one message into its JSON form.
fn message(t: &Table, name: &str, b: &[u8], depth: usize) -> Result<Value, ApiError> {
    if depth > MAX_DEPTH {
        return Err(bad("message nesting too deep"));
    }
    match name {
        TIME => return timestamp(b, false),
        MICRO_TIME => return timestamp(b, true),
        DURATION => {
            let mut d = 0i64;
            for (n, w) in fields_of(b)? {
                if let (1, Wire::Varint(v)) = (n, w) {
                    d = v as i64;
                }
            }
            return Ok(json!(go_duration(d)));
        }
        QUANTITY => {
            let mut q = String::new();
            for (n, w) in fields_of(b)? {
                if let (1, Wire::Bytes(v)) = (n, w) {
                    q = utf8(v)?;
                }
            }
            return Ok(json!(q));
        }
        INT_OR_STRING => {
            let (mut kind, mut int, mut string) = (0u64, 0i32, String::new());
            for (n, w) in fields_of(b)? {
                match (n, w) {
                    (1, Wire::Varint(v)) => kind = v,
                    (2, Wire::Varint(v)) => int = v as i64 as i32,
                    (3, Wire::Bytes(v)) => string = utf8(v)?,
                    _ => {}
                }
            }
            return Ok(if kind == 1 { json!(string) } else { json!(int) });
        }
        _ => {}
    }
    if name == RAW_EXTENSION || name == FIELDS_V1 || name == format!("{APIEXT}JSON") {
        let mut raw: &[u8] = &[];
        for (n, w) in fields_of(b)? {
            if let (1, Wire::Bytes(v)) = (n, w) {
                raw = v;
            }
        }
        return raw_json(raw);
    }
    if let Some(or) = name
        .strip_prefix(APIEXT)
        .and_then(|n| n.strip_prefix("JSONSchemaPropsOr"))
    {
        return schema_props_or(t, or, b, depth);
    }
    let desc = t
        .messages
        .get(name)
        .ok_or_else(|| bad(&format!("no descriptor for message {name}")))?;
    let mut out = Map::new();
    let mut inline: Vec<Value> = Vec::new();
    for (n, w) in fields_of(b)? {
        let Some(f) = desc.fields.iter().find(|f| f.tag == n) else {
            continue;
        };
        match f.card {
            Card::Opt => {
                out.insert(f.json.to_string(), value(t, f.ty, w, depth)?);
            }
            Card::Inline => inline.push(value(t, f.ty, w, depth)?),
            Card::Rep => {
                let items = out
                    .entry(f.json.to_string())
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                    .ok_or_else(|| bad("repeated field reused"))?;
                match (f.ty, w) {
                    // Packed encoding of a repeated number.
                    (Ty::Int32 | Ty::Int64 | Ty::Bool, Wire::Bytes(packed)) => {
                        let mut r = Reader::new(packed);
                        while r.i < packed.len() {
                            items.push(scalar(f.ty, Wire::Varint(r.varint()?))?);
                        }
                    }
                    (ty, w) => items.push(value(t, ty, w, depth)?),
                }
            }
            Card::Map => {
                let Wire::Bytes(entry) = w else {
                    return Err(bad("map entry has an unexpected wire type"));
                };
                let (k, v) = map_entry(t, f.ty, entry, depth)?;
                if let Some(m) = out
                    .entry(f.json.to_string())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                {
                    m.insert(k, v);
                }
            }
        }
    }
    // Status structs hold plain (non-pointer) counters.
    let keep = |f: &FieldDesc| !name.ends_with("Status") && KEEP_ZERO.contains(&f.json);
    for f in &desc.fields {
        if f.card != Card::Opt || f.required || keep(f) {
            continue;
        }
        let drop = match (out.get(f.json), f.ty) {
            (Some(Value::Null), _) => true,
            (Some(v), Ty::String | Ty::Bool | Ty::Int32 | Ty::Int64 | Ty::Double) => is_zero(v),
            // An unset IntOrString (type int, value 0) and an empty Quantity are Go zero values.
            (Some(v), Ty::Message(INT_OR_STRING | QUANTITY)) => is_zero(v),
            _ => false,
        };
        if drop {
            out.remove(f.json);
        }
    }
    for v in inline {
        if let Value::Object(m) = v {
            for (k, v) in m {
                out.entry(k).or_insert(v);
            }
        }
    }
    Ok(Value::Object(out))
}

/// `JSONSchemaPropsOrArray`, `...OrBool`, `...OrStringArray`: JSON unions.
fn schema_props_or(t: &Table, or: &str, b: &[u8], depth: usize) -> Result<Value, ApiError> {
    let props = format!("{APIEXT}JSONSchemaProps");
    let (mut schema, mut list, mut allows) = (None, Vec::new(), false);
    for (n, w) in fields_of(b)? {
        match (or, n, w) {
            ("Bool", 1, Wire::Varint(v)) => allows = v != 0,
            ("Bool", 2, Wire::Bytes(x)) | ("Array" | "StringArray", 1, Wire::Bytes(x)) => {
                schema = Some(message(t, &props, x, depth + 1)?)
            }
            ("Array", 2, Wire::Bytes(x)) => list.push(message(t, &props, x, depth + 1)?),
            ("StringArray", 2, Wire::Bytes(x)) => list.push(json!(utf8(x)?)),
            _ => {}
        }
    }
    Ok(match (or, schema) {
        ("Bool", Some(s)) | ("Array" | "StringArray", Some(s)) if list.is_empty() => s,
        ("Bool", None) => json!(allows),
        _ => Value::Array(list),
    })
}

/// The message of a kind: the `Resource` table first, else a message of that name in the
/// API group's module (or meta/v1, for `DeleteOptions` and friends sent under any version).
fn message_for(t: &Table, api_version: &str, kind: &str) -> Option<&'static str> {
    if let Some(m) = t.kinds.get(&(api_version, kind)) {
        return Some(m);
    }
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let module = match group {
        "" => "core",
        "apiextensions.k8s.io" => "apiextensions",
        g => g.split('.').next().unwrap_or(g),
    };
    let suffix = format!(".{module}.{version}.{kind}");
    let meta = format!("{META}{kind}");
    t.messages
        .keys()
        .find(|n| n.ends_with(&suffix))
        .or_else(|| t.messages.keys().find(|n| **n == meta))
        .copied()
}

/// Decodes a protobuf request body into the JSON form of the object.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| bad("missing k8s magic prefix"))?;
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    for (n, w) in fields_of(rest)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (tn, tw) in fields_of(tm)? {
                    match (tn, tw) {
                        (1, Wire::Bytes(v)) => api_version = utf8(v)?,
                        (2, Wire::Bytes(v)) => kind = utf8(v)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let t = table();
    let name = message_for(t, &api_version, &kind).ok_or_else(|| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("ferry: no protobuf descriptor for {api_version}, Kind={kind}; send JSON"),
        )
    })?;
    let mut obj = message(t, name, raw, 0)?;
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::api::apps::v1 as apps;
    use k8s_pb::api::core::v1 as core;
    use k8s_pb::apimachinery::pkg::api::resource::Quantity;
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
    use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
    use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
    use prost::Message;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let u = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut body = b"k8s\0".to_vec();
        body.extend(u.encode_to_vec());
        body
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    /// Like Go's marshaller: non-pointer fields are written even when empty.
    fn go_meta(name: &str) -> meta::ObjectMeta {
        meta::ObjectMeta {
            name: s(name),
            generate_name: s(""),
            namespace: s(""),
            resource_version: s(""),
            generation: Some(0),
            creation_timestamp: Some(meta::Time::default()),
            labels: [("app".to_string(), name.to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_a_deployment_like_kubectl_create_sends_it() {
        let container = core::Container {
            name: s("nginx"),
            image: s("nginx:1.27"),
            ports: vec![core::ContainerPort {
                container_port: Some(80),
                host_port: Some(0),
                protocol: s("TCP"),
                ..Default::default()
            }],
            resources: Some(core::ResourceRequirements {
                limits: [("cpu".to_string(), Quantity { string: s("500m") })].into(),
                ..Default::default()
            }),
            termination_message_path: s(""),
            ..Default::default()
        };
        let d = apps::Deployment {
            metadata: Some(go_meta("web")),
            spec: Some(apps::DeploymentSpec {
                replicas: Some(0),
                min_ready_seconds: Some(0),
                selector: Some(meta::LabelSelector {
                    match_labels: [("app".to_string(), "web".to_string())].into(),
                    ..Default::default()
                }),
                template: Some(core::PodTemplateSpec {
                    metadata: Some(go_meta("")),
                    spec: Some(core::PodSpec {
                        containers: vec![container],
                        host_network: Some(false),
                        ..Default::default()
                    }),
                }),
                strategy: Some(apps::DeploymentStrategy {
                    r#type: s("RollingUpdate"),
                    rolling_update: Some(apps::RollingUpdateDeployment {
                        max_surge: Some(IntOrString {
                            r#type: Some(1),
                            int_val: Some(0),
                            str_val: s("25%"),
                        }),
                        max_unavailable: Some(IntOrString {
                            r#type: Some(0),
                            int_val: Some(1),
                            str_val: s(""),
                        }),
                    }),
                }),
                ..Default::default()
            }),
            status: Some(apps::DeploymentStatus {
                replicas: Some(0),
                ..Default::default()
            }),
        };
        let v = decode(&envelope("apps/v1", "Deployment", d.encode_to_vec())).unwrap();
        assert_eq!(v["apiVersion"], "apps/v1");
        assert_eq!(v["kind"], "Deployment");
        assert_eq!(
            v["metadata"],
            json!({"name": "web", "labels": {"app": "web"}})
        );
        let spec = &v["spec"];
        assert_eq!(spec["replicas"], 0, "explicit replicas: 0 survives");
        assert!(spec.get("minReadySeconds").is_none());
        assert_eq!(spec["selector"], json!({"matchLabels": {"app": "web"}}));
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}})
        );
        assert_eq!(spec["template"]["metadata"], json!({"labels": {"app": ""}}));
        assert_eq!(
            spec["template"]["spec"],
            json!({"containers": [{"name": "nginx", "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {"limits": {"cpu": "500m"}}}]})
        );
        assert_eq!(v["status"], json!({}));
    }

    #[test]
    fn decodes_services_with_int_or_string_and_inlined_structs() {
        let svc = core::Service {
            metadata: Some(go_meta("web")),
            spec: Some(core::ServiceSpec {
                ports: vec![core::ServicePort {
                    name: s("80-8080"),
                    port: Some(80),
                    target_port: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(8080),
                        str_val: s(""),
                    }),
                    protocol: s("TCP"),
                    node_port: Some(0),
                    ..Default::default()
                }],
                cluster_ip: s(""),
                r#type: s("ClusterIP"),
                ..Default::default()
            }),
            status: None,
        };
        let v = decode(&envelope("v1", "Service", svc.encode_to_vec())).unwrap();
        assert_eq!(
            v["spec"],
            json!({"ports": [{"name": "80-8080", "port": 80, "targetPort": 8080, "protocol": "TCP"}], "type": "ClusterIP"})
        );
        // `VolumeSource` and `LocalObjectReference` are embedded (inline) Go structs.
        let vol = core::Volume {
            name: s("cfg"),
            volume_source: Some(core::VolumeSource {
                config_map: Some(core::ConfigMapVolumeSource {
                    local_object_reference: Some(core::LocalObjectReference { name: s("c") }),
                    default_mode: Some(0o644),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let pod = core::Pod {
            metadata: Some(go_meta("p")),
            spec: Some(core::PodSpec {
                volumes: vec![vol],
                ..Default::default()
            }),
            status: None,
        };
        let v = decode(&envelope("v1", "Pod", pod.encode_to_vec())).unwrap();
        assert_eq!(
            v["spec"]["volumes"],
            json!([{"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}])
        );
    }

    #[test]
    fn decodes_times_durations_and_delete_options() {
        let lease = k8s_pb::api::coordination::v1::Lease {
            metadata: Some(go_meta("l")),
            spec: Some(k8s_pb::api::coordination::v1::LeaseSpec {
                holder_identity: s("me"),
                renew_time: Some(meta::MicroTime {
                    seconds: Some(1_700_000_000),
                    nanos: Some(123_456_000),
                }),
                ..Default::default()
            }),
        };
        let v = decode(&envelope(
            "coordination.k8s.io/v1",
            "Lease",
            lease.encode_to_vec(),
        ))
        .unwrap();
        assert_eq!(v["spec"]["renewTime"], "2023-11-14T22:13:20.123456Z");
        let opts = meta::DeleteOptions {
            grace_period_seconds: Some(0),
            propagation_policy: s("Background"),
            ..Default::default()
        };
        let v = decode(&envelope("v1", "DeleteOptions", opts.encode_to_vec())).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "propagationPolicy": "Background"})
        );
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
    }

    #[test]
    fn decodes_secret() {
        let secret = core::Secret {
            metadata: Some(go_meta("rel")),
            data: [("release".to_string(), vec![1u8, 2])].into(),
            r#type: s("helm.sh/release.v1"),
            ..Default::default()
        };
        let v = decode(&envelope("v1", "Secret", secret.encode_to_vec())).unwrap();
        assert_eq!(v["kind"], "Secret");
        assert_eq!(v["metadata"]["name"], "rel");
        assert_eq!(v["data"]["release"], "AQI=");
        assert_eq!(v["type"], "helm.sh/release.v1");
    }

    #[test]
    fn every_kind_in_the_table_resolves() {
        let t = table();
        assert!(t.kinds.len() > 60, "{} kinds", t.kinds.len());
        for (gvk, msg) in &t.kinds {
            assert!(t.messages.contains_key(msg), "{gvk:?}");
            assert_eq!(message_for(t, gvk.0, gvk.1), Some(*msg));
        }
        for (av, kind) in [
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("batch/v1", "CronJob"),
            ("autoscaling/v1", "HorizontalPodAutoscaler"),
            ("policy/v1", "PodDisruptionBudget"),
            ("networking.k8s.io/v1", "Ingress"),
            ("scheduling.k8s.io/v1", "PriorityClass"),
            ("v1", "ResourceQuota"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            ("meta.k8s.io/v1", "DeleteOptions"),
        ] {
            assert!(message_for(t, av, kind).is_some(), "{av} {kind}");
        }
        let err = decode(&envelope("example.com/v1", "Widget", Vec::new())).unwrap_err();
        assert_eq!(err.code, 415);
    }
}
