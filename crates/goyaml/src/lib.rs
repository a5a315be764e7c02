//! YAML, JSON and TOML exactly as Helm v4 reads and writes them.
//!
//! Helm reads values files, `fromYaml` arguments and rendered manifests through
//! sigs.k8s.io/yaml: goyaml v2 (a libyaml port, YAML 1.1) decodes into `interface{}`, the
//! result is converted to JSON and decoded again. This crate reproduces that pipeline, its
//! value shapes (every number a float64, `yes`/`off`/`y` booleans, map keys turned into
//! strings) and its error texts (`yaml: line 3: did not find expected key`). It also writes
//! values back the way Helm does: `encoding/json` (`toJson`), the goyaml v2 emitter behind
//! `toYaml` (natural key order, 80-column folding, literal blocks), goyaml v3 for
//! `toYamlPretty`, and BurntSushi/toml for `toToml`. [`functions`] registers the template
//! functions (`toYaml`, `fromJson`, …) with Helm's and Sprig's semantics.
//!
//! It is not a general YAML library: there is no serde integration and no YAML 1.2 mode.
//!
//! Main entry points: [`load_values`] / [`read_values`] (values files), [`from_yaml_map`]
//! (`fromYaml`), [`from_yaml_map_json`] (a values document as JSON values),
//! [`from_yaml_typed`] (struct-like files such as `Chart.yaml`),
//! [`yaml_to_json_value`] (Kubernetes manifests), [`parse_head`] (Helm's manifest sorter),
//! [`to_yaml`], [`to_json`], [`to_toml`], [`from_toml`], and [`functions`].
//!
//! Reading is built for speed on large values files and CRDs: documents of the usual shape
//! take a one-pass path straight to the node tree (anything else, and every error, goes
//! through the full libyaml port) and are decoded without the alias, tag and depth
//! bookkeeping they cannot need (a merge key or a rejected key sends them to the general
//! decoder), scalars are borrowed from the input, and [`parse_head`] decodes the whole
//! document for its errors but builds only the fields it returns.
//!
//! One deliberate difference: collections nested deeper than 256 levels (aliases expanded)
//! are rejected with `yaml: exceeded max depth of 256`, where Go's growable stacks would
//! carry on; Rust threads have fixed stacks.
//!
//! ```
//! let v = goyaml::from_yaml_map("replicas: 3\nenabled: yes\n").unwrap();
//! assert_eq!(goyaml::to_json(&v).unwrap(), r#"{"enabled":true,"replicas":3}"#);
//! assert_eq!(goyaml::to_yaml(&v).unwrap(), "enabled: true\nreplicas: 3\n");
//! ```

mod decode;
mod emit;
mod fast;
mod funcs;
mod gofmt;
mod json;
mod parser;
mod scanner;
mod toml;
mod toml_parse;

use std::borrow::Cow;
use std::rc::Rc;

use gotmpl::{Map, Value};

use decode::{Build, Decoder, RootKind, Scalar};
pub use funcs::functions;
pub use gofmt::{format_float_g, format_float_json, go_quote};
pub use toml::{TomlDatetime, TomlZone, from_toml, to_toml};

/// An error with the exact text Helm would show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A goyaml error (`yaml: line 1: did not find expected ',' or ']'`).
    #[error("yaml: {0}")]
    Yaml(String),
    /// An encoding/json error (`json: unsupported value: NaN`, `invalid character …`).
    #[error("{0}")]
    Json(String),
    /// sigs.k8s.io/yaml's wrapper around a YAML-side failure.
    #[error("error converting YAML to JSON: {0}")]
    YamlToJson(Box<Error>),
    /// sigs.k8s.io/yaml's wrapper around a JSON decoding failure.
    #[error("error unmarshaling JSON: while decoding JSON: {0}")]
    Unmarshal(Box<Error>),
    /// sigs.k8s.io/yaml's wrapper around a `json.Marshal` failure in `yaml.Marshal`.
    #[error("error marshaling into JSON: {0}")]
    Marshal(Box<Error>),
    /// A BurntSushi/toml error.
    #[error("{0}")]
    Toml(String),
    /// Helm's values loader could not split the stream into documents.
    #[error("error reading yaml document: {0}")]
    ReadDocument(String),
    /// Helm's values loader could not decode one document.
    #[error("cannot unmarshal yaml document: {0}")]
    UnmarshalDocument(Box<Error>),
}

// ------------------------------------------------------------------ value builders

impl Build for Value {
    type Map = Map;
    fn scalar(s: Scalar<'_>) -> Self {
        match s {
            Scalar::Null => Value::Nil,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Float(i as f64),
            Scalar::Uint(u) => Value::Float(u as f64),
            Scalar::Float(f) => Value::Float(f),
            Scalar::Str(s) => Value::String(Rc::from(&*s)),
        }
    }
    fn seq(items: Vec<Self>) -> Self {
        Value::list(items)
    }
    fn map(m: Map) -> Self {
        Value::map(m)
    }
    fn insert(m: &mut Map, k: String, v: Self) {
        m.insert(k, v);
    }
}

impl Build for serde_json::Value {
    type Map = serde_json::Map<String, serde_json::Value>;
    fn scalar(s: Scalar<'_>) -> Self {
        use serde_json::Value as J;
        match s {
            Scalar::Null => J::Null,
            Scalar::Bool(b) => J::Bool(b),
            Scalar::Int(i) => J::from(i),
            Scalar::Uint(u) => J::from(u),
            Scalar::Float(f) => {
                // json.Marshal writes integral floats below 1e21 without a fraction, and
                // Kubernetes' decoder reads such numbers back as int64.
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    J::from(f as i64)
                } else {
                    serde_json::Number::from_f64(f)
                        .map(J::Number)
                        .unwrap_or(J::Null)
                }
            }
            Scalar::Str(s) => J::String(s.into_owned()),
        }
    }
    fn seq(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
    fn map(m: Self::Map) -> Self {
        serde_json::Value::Object(m)
    }
    fn insert(m: &mut Self::Map, k: String, v: Self) {
        m.insert(k, v);
    }
}

/// goyaml's view before the JSON round trip, for struct-like targets (manifest heads).
#[derive(Debug)]
enum Raw {
    Scalar(Scalar<'static>),
    Seq,
    Map(std::collections::BTreeMap<String, Raw>),
}

impl Build for Raw {
    type Map = std::collections::BTreeMap<String, Raw>;
    fn scalar(s: Scalar<'_>) -> Self {
        Raw::Scalar(s.into_static())
    }
    fn seq(_items: Vec<Self>) -> Self {
        Raw::Seq
    }
    fn map(m: <Raw as Build>::Map) -> Self {
        Raw::Map(m)
    }
    fn insert(m: &mut <Raw as Build>::Map, k: String, v: Self) {
        m.insert(k, v);
    }
}

/// A document as goyaml v2 decodes it into `interface{}` and sigs.k8s.io/yaml converts it,
/// before the JSON round trip: integers stay integers. For decoding into Go structs, whose
/// string fields take numbers and booleans as text (see [`TypedValue::as_go_string`]), e.g.
/// `Chart.yaml` (`appVersion: 1.10` is the string `1.1`).
#[derive(Clone, Debug, PartialEq)]
pub enum TypedValue {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    String(String),
    List(Vec<TypedValue>),
    Map(std::collections::BTreeMap<String, TypedValue>),
}

impl TypedValue {
    /// What a Go `string` struct field receives: strings as they are, numbers and booleans
    /// formatted by sigs.k8s.io/yaml (`FormatFloat(f, 'g', -1, 32)` for floats); `None` for
    /// null (field left empty) and for lists and maps (a type error in Go).
    pub fn as_go_string(&self) -> Option<String> {
        match self {
            TypedValue::String(s) => Some(s.clone()),
            TypedValue::Bool(b) => Some(b.to_string()),
            TypedValue::Int(i) => Some(i.to_string()),
            TypedValue::Uint(u) => Some(u.to_string()),
            TypedValue::Float(f) => Some(decode::format_float32_g(*f)),
            TypedValue::Null | TypedValue::List(_) | TypedValue::Map(_) => None,
        }
    }
}

impl Build for TypedValue {
    type Map = std::collections::BTreeMap<String, TypedValue>;
    fn scalar(s: Scalar<'_>) -> Self {
        match s {
            Scalar::Null => TypedValue::Null,
            Scalar::Bool(b) => TypedValue::Bool(b),
            Scalar::Int(i) => TypedValue::Int(i),
            Scalar::Uint(u) => TypedValue::Uint(u),
            Scalar::Float(f) => TypedValue::Float(f),
            Scalar::Str(s) => TypedValue::String(s.into_owned()),
        }
    }
    fn seq(items: Vec<Self>) -> Self {
        TypedValue::List(items)
    }
    fn map(m: <TypedValue as Build>::Map) -> Self {
        TypedValue::Map(m)
    }
    fn insert(m: &mut <TypedValue as Build>::Map, k: String, v: Self) {
        m.insert(k, v);
    }
}

/// The first document with goyaml v2 types kept ([`TypedValue`]); errors as
/// [`from_yaml`] reports them (an empty document is `Null`).
pub fn from_yaml_typed(text: &str) -> Result<TypedValue, Error> {
    let wrap = |e: Error| Error::YamlToJson(Box::new(e));
    let doc = decode::parse_first(text).map_err(wrap)?;
    let mut d = Decoder::new(&doc);
    let v: Option<TypedValue> = d.root().map_err(wrap)?;
    if let Some(msg) = d.take_conv_error() {
        return Err(wrap(Error::Json(msg)));
    }
    if let Some(f) = d.nonfinite {
        return Err(wrap(unsupported(f)));
    }
    Ok(v.unwrap_or(TypedValue::Null))
}

fn first_nonfinite(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) if !f.is_finite() => Some(*f),
        Value::List(l) => l.items.iter().find_map(first_nonfinite),
        Value::Map(m) => m.entries.borrow().values().find_map(first_nonfinite),
        _ => None,
    }
}

fn unsupported(f: f64) -> Error {
    Error::Json(format!("json: unsupported value: {}", format_float_g(f)))
}

/// A decoded first document: the value, the JSON kind of its root, and whether any NaN or
/// infinity was decoded anywhere in it.
struct Decoded<B> {
    value: Option<B>,
    kind: RootKind,
    nonfinite: bool,
}

/// Decodes the first document with goyaml v2 and sigs.k8s.io/yaml's conversion; with
/// `keep`, only the root mapping's entries whose keys pass it are built.
fn decode_yaml<B: Build>(text: &str, keep: Option<decode::KeyFilter>) -> Result<Decoded<B>, Error> {
    decode_yaml_with(text, keep, true)
}

/// [`decode_yaml`]; `skim`: with `keep`, the parse may leave out what is not built.
fn decode_yaml_with<B: Build>(
    text: &str,
    keep: Option<decode::KeyFilter>,
    skim: bool,
) -> Result<Decoded<B>, Error> {
    let wrap = |e: Error| Error::YamlToJson(Box::new(e));
    let doc = match keep {
        Some(keep) if skim => decode::parse_first_filtered(text, keep),
        _ => decode::parse_first(text),
    }
    .map_err(wrap)?;
    let mut d = Decoder::new(&doc);
    let value = match keep {
        None => d.root::<B>(),
        Some(keep) => d.root_filtered::<B>(keep),
    }
    .map_err(wrap)?;
    if let Some(msg) = d.take_conv_error() {
        return Err(wrap(Error::Json(msg)));
    }
    Ok(Decoded {
        value,
        kind: d.root_is(),
        nonfinite: d.nonfinite.is_some(),
    })
}

/// `yaml.Unmarshal(text, &interface{})` through sigs.k8s.io/yaml: any JSON kind, numbers
/// float64, an empty document is nil.
pub fn from_yaml(text: &str) -> Result<Value, Error> {
    let d = decode_yaml::<Value>(text, None)?;
    let v = d.value.unwrap_or(Value::Nil);
    // json.Marshal reports the first NaN or infinity in its (key-sorted) order.
    if d.nonfinite
        && let Some(f) = first_nonfinite(&v)
    {
        return Err(Error::YamlToJson(Box::new(unsupported(f))));
    }
    Ok(v)
}

fn type_mismatch(kind: RootKind, target: &str) -> Error {
    Error::Unmarshal(Box::new(Error::Json(format!(
        "json: cannot unmarshal {} into Go value of type {target}",
        kind.json_name()
    ))))
}

/// `yaml.Unmarshal(text, &map[string]interface{})` as Helm reads values files and `fromYaml`:
/// the document must be a mapping (or empty/null, giving an empty map).
pub fn from_yaml_map(text: &str) -> Result<Value, Error> {
    let v = from_yaml(text)?;
    match v {
        Value::Map(_) => Ok(v),
        Value::Nil => Ok(Value::map(Map::new())),
        other => Err(type_mismatch(kind_of(&other), "map[string]interface {}")),
    }
}

/// Helm's `ReadValues` (`common.ReadValues`): one document into `common.Values`; errors name
/// that type (`json: cannot unmarshal array into Go value of type common.Values`).
pub fn read_values(text: &str) -> Result<Value, Error> {
    let v = from_yaml(text)?;
    match v {
        Value::Map(_) => Ok(v),
        Value::Nil => Ok(Value::map(Map::new())),
        other => Err(type_mismatch(kind_of(&other), "common.Values")),
    }
}

/// [`from_yaml_map`] as JSON values, the way Helm's values loader holds a values document:
/// the same result (every number a float, `3` is `3.0`; strings, booleans, null, lists and
/// maps as they are) and the same errors, built directly rather than through template values
/// (which is several times faster for large values files).
pub fn from_yaml_map_json(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let d = decode_yaml::<ValuesJson>(text, None)?;
    if d.nonfinite {
        // A NaN or infinity that survives in the map is an error, reported as from_yaml_map
        // does; one that was replaced (duplicate key) leaves nothing behind.
        from_yaml_map(text)?;
    }
    match d.value.map(|v| v.0) {
        Some(serde_json::Value::Object(m)) => Ok(m),
        None | Some(serde_json::Value::Null) => Ok(serde_json::Map::new()),
        Some(_) => match from_yaml_map(text) {
            Err(e) => Err(e),
            Ok(_) => Err(type_mismatch(d.kind, "map[string]interface {}")),
        },
    }
}

/// A JSON value with template-value numbers (float64), for [`from_yaml_map_json`].
struct ValuesJson(serde_json::Value);

impl Build for ValuesJson {
    type Map = serde_json::Map<String, serde_json::Value>;
    fn scalar(s: Scalar<'_>) -> Self {
        use serde_json::Value as J;
        let float = |f: f64| serde_json::Number::from_f64(f).map_or(J::Null, J::Number);
        ValuesJson(match s {
            Scalar::Null => J::Null,
            Scalar::Bool(b) => J::Bool(b),
            Scalar::Int(i) => float(i as f64),
            Scalar::Uint(u) => float(u as f64),
            Scalar::Float(f) => float(f),
            Scalar::Str(s) => J::String(s.into_owned()),
        })
    }
    fn seq(items: Vec<Self>) -> Self {
        ValuesJson(serde_json::Value::Array(
            items.into_iter().map(|i| i.0).collect(),
        ))
    }
    fn map(m: Self::Map) -> Self {
        ValuesJson(serde_json::Value::Object(m))
    }
    fn insert(m: &mut Self::Map, k: String, v: Self) {
        m.insert(k, v.0);
    }
}

/// `yaml.Unmarshal(text, &[]interface{})` as `fromYamlArray` does.
pub fn from_yaml_list(text: &str) -> Result<Value, Error> {
    let v = from_yaml(text)?;
    match v {
        Value::List(_) => Ok(v),
        Value::Nil => Ok(Value::list(Vec::new())),
        other => Err(type_mismatch(kind_of(&other), "[]interface {}")),
    }
}

fn kind_of(v: &Value) -> RootKind {
    match v {
        Value::Nil => RootKind::Null,
        Value::Bool(_) => RootKind::Bool,
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => RootKind::Number,
        Value::String(_) | Value::Bytes(_) => RootKind::String,
        Value::List(_) => RootKind::Array,
        _ => RootKind::Object,
    }
}

/// Splits a stream into documents the way Kubernetes' `YAMLReader` does (Helm's values
/// loader): lines are read with their line break normalised to `\n`; a line starting with
/// `---` ends a document and may only be followed by spaces or a comment; empty documents are
/// skipped.
pub fn split_yaml_documents(text: &str) -> Result<Vec<String>, Error> {
    let mut docs = Vec::new();
    let mut buf = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(after) = line.strip_prefix("---") {
            let trimmed = after.trim_matches(|c: char| c.is_whitespace());
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(Error::ReadDocument(format!(
                    "invalid Yaml document separator: {trimmed}"
                )));
            }
            if !buf.is_empty() {
                docs.push(std::mem::take(&mut buf));
            }
            continue;
        }
        buf.push_str(line);
        buf.push('\n');
    }
    if !buf.is_empty() {
        docs.push(buf);
    }
    Ok(docs)
}

/// Helm's `LoadValues`: every document of the stream is read as `map[string]interface{}`
/// ([`from_yaml_map`]) and the maps are merged in order (nested maps deeply, anything else
/// replaced). Used for `values.yaml` and `-f` files.
pub fn load_values(text: &str) -> Result<Value, Error> {
    if let Some(doc) = single_document(text) {
        // The common case: one document, which the splitter would copy (almost) unchanged.
        return match from_yaml_map(&doc).map_err(|e| Error::UnmarshalDocument(Box::new(e)))? {
            Value::Map(m) => Ok(Value::map(std::mem::take(&mut *m.entries.borrow_mut()))),
            _ => Ok(Value::map(Map::new())),
        };
    }
    let mut values = Map::new();
    for doc in split_yaml_documents(text)? {
        let current = from_yaml_map(&doc).map_err(|e| Error::UnmarshalDocument(Box::new(e)))?;
        if let Value::Map(m) = current {
            let entries = std::mem::take(&mut *m.entries.borrow_mut());
            merge_maps(&mut values, entries);
        }
    }
    Ok(Value::map(values))
}

/// The only document of `text` when [`split_yaml_documents`] would give exactly one: no
/// `---` line and no carriage return (the text itself, with a final line break added if
/// it lacks one).
fn single_document(text: &str) -> Option<Cow<'_, str>> {
    if text.is_empty() || text.starts_with("---") || text.contains("\n---") || text.contains('\r') {
        return None;
    }
    Some(if text.ends_with('\n') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text}\n"))
    })
}

/// Helm's `MergeMaps(a, b)` into `a`: `b` wins, maps merge recursively.
fn merge_maps(a: &mut Map, b: Map) {
    for (k, v) in b {
        if let Value::Map(bm) = &v
            && let Some(Value::Map(am)) = a.get(&k)
        {
            let mut merged = am.entries.borrow().clone();
            merge_maps(&mut merged, bm.entries.borrow().clone());
            a.insert(k, Value::map(merged));
            continue;
        }
        a.insert(k, v);
    }
}

/// sigs.k8s.io/yaml's `YAMLToJSON` as Kubernetes decodes manifests into unstructured
/// objects: integers stay integers (int64/uint64), other numbers are floats.
pub fn yaml_to_json_value(text: &str) -> Result<serde_json::Value, Error> {
    let wrap = |e: Error| Error::YamlToJson(Box::new(e));
    let doc = decode::parse_first(text).map_err(wrap)?;
    let mut d = Decoder::new(&doc);
    let v: Option<serde_json::Value> = d.root().map_err(wrap)?;
    if let Some(msg) = d.take_conv_error() {
        return Err(wrap(Error::Json(msg)));
    }
    // NaN/Inf cannot be represented; json.Marshal rejects them.
    if let Some(f) = d.nonfinite {
        return Err(wrap(unsupported(f)));
    }
    Ok(v.unwrap_or(serde_json::Value::Null))
}

/// Splits a multi-document YAML stream and converts each document as
/// [`yaml_to_json_value`] does (goyaml v2 `Decoder` semantics; empty documents are `null`).
pub fn yaml_stream_to_json_values(text: &str) -> Result<Vec<serde_json::Value>, Error> {
    let docs =
        decode::parse_stream(text.as_bytes(), false).map_err(|e| Error::YamlToJson(Box::new(e)))?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in &docs {
        let mut d = Decoder::new(doc);
        let v: Option<serde_json::Value> = d.root().map_err(|e| Error::YamlToJson(Box::new(e)))?;
        if let Some(msg) = d.take_conv_error() {
            return Err(Error::YamlToJson(Box::new(Error::Json(msg))));
        }
        if let Some(f) = d.nonfinite {
            return Err(Error::YamlToJson(Box::new(unsupported(f))));
        }
        out.push(v.unwrap_or(serde_json::Value::Null));
    }
    Ok(out)
}

/// The head of a rendered manifest, as Helm's `SimpleHead` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// `apiVersion`
    pub api_version: String,
    /// `kind`
    pub kind: String,
    /// `metadata.name`, when `metadata` is present.
    pub name: Option<String>,
    /// `metadata.annotations` (string values).
    pub annotations: std::collections::BTreeMap<String, String>,
    /// Whether a `metadata` mapping was present.
    pub has_metadata: bool,
}

/// sigs.k8s.io/yaml coerces numbers and booleans into string-typed targets; encoding/json
/// then reports other kinds as type errors naming the struct field (`field`).
fn coerce_string(r: &Raw, field: &str, err: &mut Option<Error>) -> Option<String> {
    match r {
        Raw::Scalar(Scalar::Null) => None,
        Raw::Scalar(Scalar::Str(s)) => Some(s.to_string()),
        Raw::Scalar(Scalar::Bool(b)) => Some(b.to_string()),
        Raw::Scalar(Scalar::Int(i)) => Some(i.to_string()),
        Raw::Scalar(Scalar::Uint(u)) => Some(u.to_string()),
        Raw::Scalar(Scalar::Float(f)) => Some(decode::format_float32_g(*f)),
        other => {
            save_type_error(err, raw_kind(other), field, "string");
            None
        }
    }
}

fn raw_nonfinite(r: &Raw) -> Option<f64> {
    match r {
        Raw::Scalar(Scalar::Float(f)) if !f.is_finite() => Some(*f),
        Raw::Map(m) => m.values().find_map(raw_nonfinite),
        _ => None,
    }
}

fn raw_kind(r: &Raw) -> &'static str {
    match r {
        Raw::Scalar(s) => scalar_kind(s),
        Raw::Seq => "array",
        Raw::Map(_) => "object",
    }
}

fn save_type_error(err: &mut Option<Error>, what: &str, field: &str, ty: &str) {
    if err.is_none() {
        *err = Some(Error::Unmarshal(Box::new(Error::Json(format!(
            "json: cannot unmarshal {what} into Go struct field {field} of type {ty}"
        )))));
    }
}

/// Whether encoding/json would match a root key to a `SimpleHead` field.
fn is_head_key(key: &str) -> bool {
    field_is(key, "apiVersion") || field_is(key, "kind") || field_is(key, "metadata")
}

/// encoding/json's field matching: exact name or ASCII case-insensitive.
fn field_is(key: &str, name: &str) -> bool {
    key.eq_ignore_ascii_case(name)
}

const METADATA_TYPE: &str = "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }";

/// Parses the head of one rendered document (`apiVersion`, `kind`, `metadata.name`,
/// `metadata.annotations`) into Helm's `SimpleHead`, with Helm's error texts (without the
/// `YAML parse error on <path>: ` prefix, see [`head_error`]). Keys are visited in the order
/// of the intermediate JSON (byte order) and matched case-insensitively, like encoding/json.
pub fn parse_head(text: &str) -> Result<Head, Error> {
    parse_head_with(text, true)
}

fn parse_head_with(text: &str, skim: bool) -> Result<Head, Error> {
    // The whole document is parsed and decoded (every error is reported as for a full
    // decode), but only the root entries a `SimpleHead` reads are built.
    let mut d = decode_yaml_with::<Raw>(text, Some(is_head_key), skim)?;
    if d.nonfinite {
        // Where a NaN or infinity outside those entries would come in json.Marshal's order
        // needs the whole tree: decode it all (rare).
        d = decode_yaml::<Raw>(text, None)?;
    }
    let (raw, kind) = (d.value, d.kind);
    if let Some(f) = raw.as_ref().and_then(raw_nonfinite) {
        return Err(Error::YamlToJson(Box::new(unsupported(f))));
    }
    let mut head = Head::default();
    let Some(raw) = raw else { return Ok(head) };
    let m = match raw {
        Raw::Map(m) => m,
        Raw::Scalar(Scalar::Null) => return Ok(head),
        _ => return Err(type_mismatch(kind, "util.SimpleHead")),
    };
    let mut err = None;
    for (k, v) in &m {
        if field_is(k, "apiVersion") {
            if let Some(s) = coerce_string(v, "SimpleHead.apiVersion", &mut err) {
                head.api_version = s;
            }
        } else if field_is(k, "kind") {
            if let Some(s) = coerce_string(v, "SimpleHead.kind", &mut err) {
                head.kind = s;
            }
        } else if field_is(k, "metadata") {
            match v {
                Raw::Scalar(Scalar::Null) => {
                    head.has_metadata = false;
                    head.name = None;
                    head.annotations.clear();
                }
                Raw::Map(md) => {
                    head.has_metadata = true;
                    for (mk, mv) in md {
                        if field_is(mk, "name") {
                            if let Some(s) = coerce_string(mv, ".metadata.name", &mut err) {
                                head.name = Some(s);
                            }
                        } else if field_is(mk, "annotations") {
                            match mv {
                                Raw::Scalar(Scalar::Null) => head.annotations.clear(),
                                Raw::Map(a) => {
                                    for (ak, av) in a {
                                        if let Some(s) =
                                            coerce_string(av, ".metadata.annotations", &mut err)
                                        {
                                            head.annotations.insert(ak.clone(), s);
                                        }
                                    }
                                }
                                other => save_type_error(
                                    &mut err,
                                    raw_kind(other),
                                    ".metadata.annotations",
                                    "map[string]string",
                                ),
                            }
                        }
                    }
                }
                other => save_type_error(
                    &mut err,
                    raw_kind(other),
                    "SimpleHead.metadata",
                    METADATA_TYPE,
                ),
            }
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(head),
    }
}

fn scalar_kind(s: &Scalar) -> &'static str {
    match s {
        Scalar::Null => "null",
        Scalar::Bool(_) => "bool",
        Scalar::Str(_) => "string",
        _ => "number",
    }
}

/// Helm's message for a manifest whose head cannot be parsed.
pub fn head_error(path: &str, err: &Error) -> String {
    format!("YAML parse error on {path}: {err}")
}

// ------------------------------------------------------------------ JSON

/// `json.Marshal(v)`: byte-sorted keys, HTML-escaped.
pub fn to_json(v: &Value) -> Result<String, Error> {
    let mut out = String::new();
    json::write_json(
        &mut out,
        v,
        json::JsonStyle {
            escape_html: true,
            indent: false,
        },
        0,
    )?;
    Ok(out)
}

/// A `json.Encoder` with `SetEscapeHTML(false)`, trailing newline removed (Sprig `toRawJson`).
pub fn to_raw_json(v: &Value) -> Result<String, Error> {
    let mut out = String::new();
    json::write_json(
        &mut out,
        v,
        json::JsonStyle {
            escape_html: false,
            indent: false,
        },
        0,
    )?;
    Ok(out)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn to_pretty_json(v: &Value) -> Result<String, Error> {
    let mut out = String::new();
    json::write_json(
        &mut out,
        v,
        json::JsonStyle {
            escape_html: true,
            indent: true,
        },
        0,
    )?;
    Ok(out)
}

/// `json.Unmarshal(text, &interface{})`: numbers float64.
pub fn from_json(text: &str) -> Result<Value, Error> {
    let mut err = None;
    let v = json::json_to_value(json::parse_json(text)?, &mut err);
    match err {
        Some(e) => Err(e),
        None => Ok(v),
    }
}

/// `json.Unmarshal(text, &m)` for a `map[string]interface{}` `m`: the map (nil for JSON
/// `null`), and the first error. As in Go, a type error inside an object leaves the other keys
/// decoded.
pub fn from_json_map_partial(text: &str) -> (Value, Option<Error>) {
    let j = match json::parse_json(text) {
        Ok(j) => j,
        Err(e) => return (Value::map(Map::new()), Some(e)),
    };
    match j {
        json::Json::Object(_) => {
            let mut err = None;
            let v = json::json_to_value(j, &mut err);
            (v, err)
        }
        json::Json::Null => (Value::nil_map(), None),
        other => (
            Value::map(Map::new()),
            Some(Error::Json(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                other.kind_name()
            ))),
        ),
    }
}

/// `json.Unmarshal(text, &map[string]interface{})`. JSON `null` gives Go's nil map
/// ([`Value::nil_map`]).
pub fn from_json_map(text: &str) -> Result<Value, Error> {
    match from_json_map_partial(text) {
        (v, None) => Ok(v),
        (_, Some(e)) => Err(e),
    }
}

/// `json.Unmarshal(text, &[]interface{})` (Helm's `fromJsonArray`). JSON `null` gives Go's nil
/// slice ([`Value::nil_list`]).
pub fn from_json_list(text: &str) -> Result<Value, Error> {
    let j = json::parse_json(text)?;
    match j {
        json::Json::Array(_) => {
            let mut err = None;
            let v = json::json_to_value(j, &mut err);
            match err {
                Some(e) => Err(e),
                None => Ok(v),
            }
        }
        json::Json::Null => Ok(Value::nil_list(gotmpl::ElemType::Interface)),
        other => Err(Error::Json(format!(
            "json: cannot unmarshal {} into Go value of type []interface {{}}",
            other.kind_name()
        ))),
    }
}

// ------------------------------------------------------------------ YAML writing

/// A template value after `json.Marshal` and goyaml v2's re-reading of that JSON. `lines`
/// counts the line breaks (raw NEL characters) of the JSON text read so far, for the line
/// numbers of goyaml's errors.
fn to_json_node(v: &Value, lines: &mut usize) -> Result<emit::Node<'static>, Error> {
    use emit::Node;
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(*i),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(unsupported(*f));
            }
            json_number(*f)
        }
        Value::String(s) => Node::Str(Cow::Owned(reread_json_string(s, lines)?.into_owned())),
        v if v.is_typed_nil() => Node::Null,
        Value::Bytes(b) => {
            use base64::Engine;
            Node::Str(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(b),
            ))
        }
        Value::List(l) => Node::Seq(
            l.items
                .iter()
                .map(|i| to_json_node(i, lines))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let entries = m.entries.borrow();
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries.iter() {
                if k.contains('\u{85}') {
                    // A line break inside a flow mapping key: the key is no longer a simple
                    // key and goyaml fails at the `:` that follows it.
                    *lines += k.matches('\u{85}').count();
                    return Err(Error::Yaml(format!(
                        "line {lines}: did not find expected ',' or '}}'"
                    )));
                }
                // goyaml gives up on a simple key longer than 1024 characters: a JSON key
                // that long (escapes and quotes included) makes the re-read fail.
                if json_key_len(k) + 2 > 1024 {
                    let at = if *lines > 0 {
                        format!("line {lines}: ")
                    } else {
                        String::new()
                    };
                    return Err(Error::Yaml(format!(
                        "{at}did not find expected ',' or '}}'"
                    )));
                }
                out.push((Cow::Owned(k.clone()), to_json_node(v, lines)?));
            }
            Node::Map(sort_entries(out, false))
        }
        Value::Object(o) => match o.to_data() {
            Some(d) => to_json_node(&d, lines)?,
            None => Node::Map(Vec::new()),
        },
    })
}

/// A finite float64 as goyaml reads back json.Marshal's text of it: an integer when the text
/// has no fraction or exponent (and fits), a float otherwise.
fn json_number(f: f64) -> emit::Node<'static> {
    use emit::Node;
    // Integral values below 2^53 are written as plain digits, which resolve to that integer
    // (negative zero is written `-0`: the general path).
    if f.fract() == 0.0 && f.abs() < 9.0e15 && !(f == 0.0 && f.is_sign_negative()) {
        return Node::Int(f as i64);
    }
    json_number_text(f)
}

/// [`json_number`] through the text: json.Marshal's formatting, goyaml's resolution.
fn json_number_text(f: f64) -> emit::Node<'static> {
    use emit::Node;
    match decode::resolve("", &format_float_json(f)) {
        Ok((_, Scalar::Int(i))) => Node::Int(i),
        Ok((_, Scalar::Uint(u))) => Node::Uint(u),
        Ok((_, Scalar::Float(f))) => Node::Float(f),
        _ => Node::Float(f),
    }
}

/// The length in characters of `k` as json.Marshal writes it inside quotes (HTML-escaped).
fn json_key_len(k: &str) -> usize {
    if k.len() + 2 <= 1024 / 6 {
        return k.len(); // cannot reach the limit even if every byte were escaped
    }
    k.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            c if (c as u32) < 0x20 => 6,
            _ => 1,
        })
        .sum()
}

/// The first string (or key) goyaml's reader would reject, in JSON order.
fn first_reader_error(v: &Value) -> Option<Error> {
    match v {
        Value::String(s) => check_reader(s).err(),
        Value::List(l) => l.items.iter().find_map(first_reader_error),
        Value::Map(m) => m
            .entries
            .borrow()
            .iter()
            .find_map(|(k, v)| check_reader(k).err().or_else(|| first_reader_error(v))),
        Value::Object(o) => o.to_data().as_ref().and_then(first_reader_error),
        _ => None,
    }
}

/// goyaml's reader rejects characters encoding/json leaves raw (DEL, C1 controls, U+FFFE/F).
fn check_reader(s: &str) -> Result<(), Error> {
    for c in s.chars() {
        let v = c as u32;
        if v == 0x7F || (0x80..=0x9F).contains(&v) && v != 0x85 || v == 0xFFFE || v == 0xFFFF {
            return Err(Error::Yaml("control characters are not allowed".into()));
        }
    }
    Ok(())
}

/// A string as goyaml reads it back from the JSON text json.Marshal wrote: the reader's
/// character checks, and line folding at raw NEL (U+0085) characters, which encoding/json
/// leaves unescaped but YAML treats as line breaks inside double-quoted scalars.
fn reread_json_string<'a>(s: &'a str, lines: &mut usize) -> Result<Cow<'a, str>, Error> {
    if !s.contains('\u{85}') {
        return Ok(Cow::Borrowed(s));
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut column0 = false;
    loop {
        if column0 {
            let ind: String = chars[i..].iter().take(3).collect();
            let after = chars.get(i + 3);
            if (ind == "---" || ind == "...") && matches!(after, Some(' ') | Some('\u{85}')) {
                return Err(Error::Yaml(format!(
                    "line {}: found unexpected document indicator",
                    *lines + 1
                )));
            }
        }
        while i < chars.len() && chars[i] != ' ' && chars[i] != '\u{85}' {
            out.push(chars[i]);
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut whitespaces = String::new();
        let mut trailing_breaks = String::new();
        let mut leading_blanks = false;
        column0 = false;
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{85}') {
            if chars[i] == ' ' {
                if !leading_blanks {
                    whitespaces.push(' ');
                }
                column0 = false;
            } else {
                *lines += 1;
                column0 = true;
                if !leading_blanks {
                    whitespaces.clear();
                    leading_blanks = true;
                } else {
                    trailing_breaks.push('\n');
                }
            }
            i += 1;
        }
        if leading_blanks {
            if trailing_breaks.is_empty() {
                out.push(' ');
            } else {
                out.push_str(&trailing_breaks);
            }
        } else {
            out.push_str(&whitespaces);
        }
    }
    Ok(Cow::Owned(out))
}

fn natural_cmp<C: Copy + Into<char>>(a: &[C], b: &[C], v3: bool) -> std::cmp::Ordering {
    if emit::natural_less(a, b, v3) {
        std::cmp::Ordering::Less
    } else if emit::natural_less(b, a, v3) {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// A map entry with its key decoded to characters (for sorting).
type KeyedEntry<K, T> = (Vec<char>, (K, T));

/// Sorts map entries in goyaml's key order; each key is decoded to characters once.
fn sort_entries<K: std::ops::Deref<Target = str>, T>(
    entries: Vec<(K, T)>,
    v3: bool,
) -> Vec<(K, T)> {
    if entries.len() < 2 {
        return entries;
    }
    if entries.iter().all(|e| e.0.is_ascii()) {
        // ASCII keys compare as bytes, without decoding; input in that order already (a
        // map's usual byte order often is) stays as it is.
        let cmp = |a: &str, b: &str| natural_cmp(a.as_bytes(), b.as_bytes(), v3);
        // `natural_cmp(a, b) != Greater`, with one comparison when `a` is less (the usual
        // case here).
        let in_order = |a: &str, b: &str| {
            emit::natural_less(a.as_bytes(), b.as_bytes(), v3)
                || !emit::natural_less(b.as_bytes(), a.as_bytes(), v3)
        };
        if entries.windows(2).all(|w| in_order(&w[0].0, &w[1].0)) {
            return entries;
        }
        let mut entries = entries;
        entries.sort_by(|a, b| cmp(&a.0, &b.0));
        return entries;
    }
    let mut keyed: Vec<KeyedEntry<K, T>> = entries
        .into_iter()
        .map(|e| (e.0.chars().collect(), e))
        .collect();
    keyed.sort_by(|a, b| natural_cmp(&a.0, &b.0, v3));
    keyed.into_iter().map(|(_, e)| e).collect()
}

/// sigs.k8s.io/yaml `Marshal(v)`: JSON, then goyaml v2's emitter. The text ends in a newline
/// (Helm's `toYaml` trims one).
pub fn to_yaml(v: &Value) -> Result<String, Error> {
    if let Ok(text) = emit::Emitter::new(emit::Flavor::V2).value_document(v) {
        return Ok(text);
    }
    to_yaml_tree(v)
}

/// [`to_yaml`] through the node tree of the re-read JSON: every value, every error.
fn to_yaml_tree(v: &Value) -> Result<String, Error> {
    // json.Marshal fails first, then goyaml's reader, then its scanner and parser.
    if let Some(f) = first_nonfinite_data(v) {
        return Err(Error::Marshal(Box::new(unsupported(f))));
    }
    if let Some(e) = first_reader_error(v) {
        return Err(e);
    }
    let node = to_json_node(v, &mut 0)?;
    Ok(emit::Emitter::new(emit::Flavor::V2).document(&node))
}

/// Like [`first_nonfinite`], looking into objects as json.Marshal does.
fn first_nonfinite_data(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) if !f.is_finite() => Some(*f),
        Value::List(l) => l.items.iter().find_map(first_nonfinite_data),
        Value::Map(m) => m.entries.borrow().values().find_map(first_nonfinite_data),
        Value::Object(o) => o.to_data().as_ref().and_then(first_nonfinite_data),
        _ => None,
    }
}

/// The Go value as goyaml v3 marshals it directly (no JSON round trip).
fn to_v3_node(v: &Value) -> emit::Node<'static> {
    use emit::Node;
    match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(*i),
        Value::Float(f) => Node::Float(*f),
        Value::String(s) => Node::Str(Cow::Owned(s.to_string())),
        Value::Bytes(b) => Node::Str(Cow::Owned(String::from_utf8_lossy(b).into_owned())),
        Value::List(l) => Node::Seq(l.items.iter().map(to_v3_node).collect()),
        Value::Map(m) => {
            let entries = m.entries.borrow();
            let out: Vec<_> = entries
                .iter()
                .map(|(k, v)| (Cow::Owned(k.clone()), to_v3_node(v)))
                .collect();
            Node::Map(sort_entries(out, true))
        }
        Value::Object(o) => match o.to_data() {
            Some(d) => to_v3_node(&d),
            None => Node::Map(Vec::new()),
        },
    }
}

/// goyaml v3 `Encoder` with `SetIndent(2)` (Helm's `toYamlPretty`), newline-terminated.
pub fn to_yaml_pretty(v: &Value) -> String {
    emit::Emitter::new(emit::Flavor::V3).document(&to_v3_node(v))
}

#[cfg(test)]
mod tests;
