//! Decoding of the Kubernetes protobuf envelope (`k8s\0` + `runtime.Unknown`) for the kinds
//! typed clients send that way: `kubectl create namespace|configmap|secret|serviceaccount`
//! and Helm's release Secrets and DeleteOptions. Responses are always JSON.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
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
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ApiError> {
        if self.i >= self.b.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let (num, wt) = (tag >> 3, tag & 7);
        let f = match wt {
            0 => Field::Varint(self.varint()?),
            2 => {
                let len = self.varint()? as usize;
                let end = self
                    .i
                    .checked_add(len)
                    .filter(|e| *e <= self.b.len())
                    .ok_or_else(|| bad("truncated field"))?;
                let s = &self.b[self.i..end];
                self.i = end;
                Field::Bytes(s)
            }
            1 => {
                self.i += 8;
                Field::Varint(0)
            }
            5 => {
                self.i += 4;
                Field::Varint(0)
            }
            _ => return Err(bad("unsupported wire type")),
        };
        Ok(Some((num, f)))
    }
}

fn bad(msg: &str) -> ApiError {
    ApiError::bad_request(format!("protobuf: {msg}"))
}

fn s(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), ApiError> {
    let mut r = Reader::new(b);
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while let Some((n, f)) = r.next()? {
        if let Field::Bytes(x) = f {
            match n {
                1 => k = String::from_utf8_lossy(x).into_owned(),
                2 => {
                    v = if bytes_value {
                        Value::String(base64::engine::general_purpose::STANDARD.encode(x))
                    } else {
                        s(x)
                    }
                }
                _ => {}
            }
        }
    }
    Ok((k, v))
}

fn insert_map(obj: &mut Map<String, Value>, key: &str, entry: (String, Value)) {
    let m = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    if let Some(m) = m.as_object_mut() {
        m.insert(entry.0, entry.1);
    }
}

fn push(obj: &mut Map<String, Value>, key: &str, v: Value) {
    let a = obj.entry(key.to_string()).or_insert_with(|| json!([]));
    if let Some(a) = a.as_array_mut() {
        a.push(v);
    }
}

fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    let mut r = Reader::new(b);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(x)) => {
                m.insert("name".into(), s(x));
            }
            (2, Field::Bytes(x)) => {
                m.insert("generateName".into(), s(x));
            }
            (3, Field::Bytes(x)) => {
                m.insert("namespace".into(), s(x));
            }
            (5, Field::Bytes(x)) => {
                m.insert("uid".into(), s(x));
            }
            (6, Field::Bytes(x)) => {
                m.insert("resourceVersion".into(), s(x));
            }
            (11, Field::Bytes(x)) => insert_map(&mut m, "labels", map_entry(x, false)?),
            (12, Field::Bytes(x)) => insert_map(&mut m, "annotations", map_entry(x, false)?),
            (13, Field::Bytes(x)) => push(&mut m, "ownerReferences", owner_ref(x)?),
            (14, Field::Bytes(x)) => push(&mut m, "finalizers", s(x)),
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn owner_ref(b: &[u8]) -> Result<Value, ApiError> {
    let mut m = Map::new();
    let mut r = Reader::new(b);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (5, Field::Bytes(x)) => {
                m.insert("apiVersion".into(), s(x));
            }
            (1, Field::Bytes(x)) => {
                m.insert("kind".into(), s(x));
            }
            (3, Field::Bytes(x)) => {
                m.insert("name".into(), s(x));
            }
            (4, Field::Bytes(x)) => {
                m.insert("uid".into(), s(x));
            }
            (6, Field::Varint(v)) => {
                m.insert("controller".into(), json!(v != 0));
            }
            (7, Field::Varint(v)) => {
                m.insert("blockOwnerDeletion".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn decode_kind(kind: &str, raw: &[u8]) -> Result<Value, ApiError> {
    let mut obj = Map::new();
    let mut r = Reader::new(raw);
    while let Some((n, f)) = r.next()? {
        match (kind, n, f) {
            (_, 1, Field::Bytes(x)) if kind != "DeleteOptions" => {
                obj.insert("metadata".into(), object_meta(x)?);
            }
            ("Secret", 2, Field::Bytes(x)) => insert_map(&mut obj, "data", map_entry(x, true)?),
            ("Secret", 3, Field::Bytes(x)) => {
                obj.insert("type".into(), s(x));
            }
            ("Secret", 4, Field::Bytes(x)) => {
                insert_map(&mut obj, "stringData", map_entry(x, false)?)
            }
            ("Secret", 5, Field::Varint(v)) => {
                obj.insert("immutable".into(), json!(v != 0));
            }
            ("ConfigMap", 2, Field::Bytes(x)) => insert_map(&mut obj, "data", map_entry(x, false)?),
            ("ConfigMap", 3, Field::Bytes(x)) => {
                insert_map(&mut obj, "binaryData", map_entry(x, true)?)
            }
            ("ConfigMap", 4, Field::Varint(v)) => {
                obj.insert("immutable".into(), json!(v != 0));
            }
            ("Namespace", 2, Field::Bytes(x)) => {
                let mut spec = Map::new();
                let mut rr = Reader::new(x);
                while let Some((sn, sf)) = rr.next()? {
                    if let (1, Field::Bytes(v)) = (sn, sf) {
                        push(&mut spec, "finalizers", s(v));
                    }
                }
                obj.insert("spec".into(), Value::Object(spec));
            }
            ("ServiceAccount", 4, Field::Varint(v)) => {
                obj.insert("automountServiceAccountToken".into(), json!(v != 0));
            }
            ("DeleteOptions", 1, Field::Varint(v)) => {
                obj.insert("gracePeriodSeconds".into(), json!(v as i64));
            }
            ("DeleteOptions", 2, Field::Bytes(x)) => {
                let mut pre = Map::new();
                let mut rr = Reader::new(x);
                while let Some((pn, pf)) = rr.next()? {
                    match (pn, pf) {
                        (1, Field::Bytes(v)) => {
                            pre.insert("uid".into(), s(v));
                        }
                        (2, Field::Bytes(v)) => {
                            pre.insert("resourceVersion".into(), s(v));
                        }
                        _ => {}
                    }
                }
                obj.insert("preconditions".into(), Value::Object(pre));
            }
            ("DeleteOptions", 3, Field::Varint(v)) => {
                obj.insert("orphanDependents".into(), json!(v != 0));
            }
            ("DeleteOptions", 4, Field::Bytes(x)) => {
                obj.insert("propagationPolicy".into(), s(x));
            }
            ("DeleteOptions", 5, Field::Bytes(x)) => push(&mut obj, "dryRun", s(x)),
            _ => {}
        }
    }
    Ok(Value::Object(obj))
}

/// Decodes a protobuf request body into the JSON form of the object.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| bad("missing k8s magic prefix"))?;
    let mut r = Reader::new(rest);
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    while let Some((n, f)) = r.next()? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                let mut t = Reader::new(tm);
                while let Some((tn, tf)) = t.next()? {
                    match (tn, tf) {
                        (1, Field::Bytes(v)) => {
                            api_version = String::from_utf8_lossy(v).into_owned()
                        }
                        (2, Field::Bytes(v)) => kind = String::from_utf8_lossy(v).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    match kind.as_str() {
        "Secret" | "ConfigMap" | "Namespace" | "ServiceAccount" | "DeleteOptions" => {
            let mut obj = decode_kind(&kind, raw)?;
            obj["apiVersion"] = json!(api_version);
            obj["kind"] = json!(kind);
            Ok(obj)
        }
        other => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "ferry: protobuf bodies are supported for Secret, ConfigMap, Namespace, ServiceAccount and DeleteOptions only (got {other:?}); send JSON"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_secret() {
        let mut meta = field(1, b"rel");
        meta.extend(field(11, &[field(1, b"owner"), field(2, b"helm")].concat()));
        let mut secret = field(1, &meta);
        secret.extend(field(
            2,
            &[field(1, b"release"), field(2, b"\x01\x02")].concat(),
        ));
        secret.extend(field(3, b"helm.sh/release.v1"));
        let tm = [field(1, b"v1"), field(2, b"Secret")].concat();
        let mut body = b"k8s\0".to_vec();
        body.extend(field(1, &tm));
        body.extend(field(2, &secret));
        let v = decode(&body).unwrap();
        assert_eq!(v["kind"], "Secret");
        assert_eq!(v["metadata"]["name"], "rel");
        assert_eq!(v["metadata"]["labels"]["owner"], "helm");
        assert_eq!(v["data"]["release"], "AQI=");
        assert_eq!(v["type"], "helm.sh/release.v1");
    }
}
