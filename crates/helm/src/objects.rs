//! Built-in template objects: `.Capabilities`, `.Files`, `.Chart`, and the conversion of values
//! into template data.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, LazyLock};

use gotmpl::{FuncError, Map, MapType, MapValue, Object, Value};
use serde_json::Value as Json;

use crate::chart::{Chart, File, Metadata};

/// Converts a values tree into template data: float numbers are `float64`, integers `int64`.
pub fn to_template(v: &Json) -> Value {
    match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if n.is_f64() {
                Value::Float(n.as_f64().unwrap_or(0.0))
            } else if let Some(i) = n.as_i64() {
                Value::Int64(i)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => str_value(s),
        Json::Array(a) => Value::list(a.iter().map(to_template).collect()),
        Json::Object(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), to_template(v))).collect()),
    }
}

/// [`to_template`] of an owned tree: keys and lists move instead of being copied.
fn into_template(v: Json) -> Value {
    match v {
        Json::Array(a) => Value::list(a.into_iter().map(into_template).collect()),
        Json::Object(m) => Value::map(values_into_template(m)),
        other => to_template(&other),
    }
}

/// The entries of [`map_to_template`] of an owned values map.
pub fn values_into_template(m: serde_json::Map<String, Json>) -> Map {
    m.into_iter().map(|(k, v)| (k, into_template(v))).collect()
}

/// Converts a values map into a template map.
pub fn map_to_template(m: &serde_json::Map<String, Json>) -> Value {
    Value::map(m.iter().map(|(k, v)| (k.clone(), to_template(v))).collect())
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Map(Rc::new(MapValue {
        ty: MapType::String,
        entries: std::cell::RefCell::new(
            m.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect(),
        ),
    }))
}

fn str_list(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s)).collect())
}

/// A string value; the empty string is one shared allocation (most `.Chart` fields are
/// empty).
fn str_value(x: &str) -> Value {
    thread_local! {
        static EMPTY: Value = Value::str("");
    }
    if x.is_empty() {
        EMPTY.with(Value::clone)
    } else {
        Value::str(x)
    }
}

/// `.Chart`: Helm's `structToMap(Metadata)` plus `IsRoot`.
pub fn chart_map(md: &Metadata, is_root: bool) -> Value {
    let s = str_value;
    let maintainers = Value::list(
        md.maintainers
            .iter()
            .map(|mt| {
                Value::map(Map::from([
                    ("Email".into(), s(&mt.email)),
                    ("Name".into(), s(&mt.name)),
                    ("URL".into(), s(&mt.url)),
                ]))
            })
            .collect(),
    );
    let dependencies = Value::list(
        md.dependencies
            .iter()
            .map(|d| {
                let import_values = Value::list(
                    d.import_values
                        .iter()
                        .map(|iv| match iv {
                            Json::Object(o) => Value::Map(Rc::new(MapValue {
                                ty: MapType::String,
                                entries: std::cell::RefCell::new(
                                    o.iter().map(|(k, v)| (k.clone(), to_template(v))).collect(),
                                ),
                            })),
                            other => to_template(other),
                        })
                        .collect(),
                );
                Value::map(Map::from([
                    ("Alias".into(), s(&d.alias)),
                    ("Condition".into(), s(&d.condition)),
                    ("Enabled".into(), Value::Bool(d.enabled)),
                    ("ImportValues".into(), import_values),
                    ("Name".into(), s(&d.name)),
                    ("Repository".into(), s(&d.repository)),
                    ("Tags".into(), str_list(&d.tags)),
                    ("Version".into(), s(&d.version)),
                ]))
            })
            .collect(),
    );
    // Built in one go (sorted, then bulk-loaded) rather than key by key; listed in key order,
    // so the sort has nothing to move.
    Value::map(Map::from([
        ("APIVersion".into(), s(&md.api_version)),
        (
            "Annotations".into(),
            string_map(md.annotations.as_ref().unwrap_or(&BTreeMap::new())),
        ),
        ("AppVersion".into(), s(&md.app_version)),
        ("Condition".into(), s(&md.condition)),
        ("Dependencies".into(), dependencies),
        ("Deprecated".into(), Value::Bool(md.deprecated)),
        ("Description".into(), s(&md.description)),
        ("Home".into(), s(&md.home)),
        ("Icon".into(), s(&md.icon)),
        ("IsRoot".into(), Value::Bool(is_root)),
        ("Keywords".into(), str_list(&md.keywords)),
        ("KubeVersion".into(), s(&md.kube_version)),
        ("Maintainers".into(), maintainers),
        ("Name".into(), s(&md.name)),
        ("Sources".into(), str_list(&md.sources)),
        ("Tags".into(), s(&md.tags)),
        ("Type".into(), s(&md.chart_type)),
        ("Version".into(), s(&md.version)),
    ]))
}

/// `.Capabilities.KubeVersion`.
#[derive(Clone, Debug)]
pub struct KubeVersion {
    /// Full version, e.g. `v1.33.4-gke.1245000`.
    pub version: String,
    /// Normalized (`v1.33.4`), used for constraint checks and `String()`.
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

impl KubeVersion {
    /// Helm's `ParseKubeVersion` (k8s `ParseGeneric`): `v1.30`, `1.30.2`, `v1.29.3-gke.1`.
    pub fn parse(s: &str) -> Result<KubeVersion, String> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let bad = || format!("could not parse {s:?} as version");
        let core_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let core = &body[..core_end];
        let rest = &body[core_end..];
        if !rest.is_empty() && !rest.starts_with('-') && !rest.starts_with('+') {
            return Err(bad());
        }
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let nums: Vec<u64> = parts
            .iter()
            .map(|p| p.parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let patch = nums.get(2).copied().unwrap_or(0);
        let version = if s.starts_with('v') {
            s.to_string()
        } else {
            format!("v{s}")
        };
        let normalized = format!("v{}.{}.{}", nums[0], nums[1], patch);
        Ok(KubeVersion {
            version,
            normalized,
            major: nums[0].to_string(),
            minor: nums[1].to_string(),
        })
    }

    /// Helm v4.2.3's default (client-go v0.36 → Kubernetes v1.36.0).
    pub fn default_version() -> KubeVersion {
        KubeVersion {
            version: "v1.36.0".into(),
            normalized: "v1.36.0".into(),
            major: "1".into(),
            minor: "36".into(),
        }
    }

    fn raw_format(&self) -> String {
        format!(
            "{{{} {} {} {}}}",
            self.version, self.normalized, self.major, self.minor
        )
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str(&self.version)),
            "Major" => Some(Value::str(&self.major)),
            "Minor" => Some(Value::str(&self.minor)),
            _ => None,
        }
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        if !args.is_empty() {
            return None;
        }
        match name {
            "String" => Some(Ok(Value::str(&self.normalized))),
            "GitVersion" => Some(Ok(Value::str(&self.version))),
            _ => None,
        }
    }
    fn format(&self) -> String {
        self.normalized.clone()
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = Map::new();
        m.insert("Version".into(), Value::str(&self.version));
        m.insert("Major".into(), Value::str(&self.major));
        m.insert("Minor".into(), Value::str(&self.minor));
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Kubernetes API group/versions known to Helm v4.2.3 by default (client-go v0.36 scheme).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Capabilities.APIVersions` (`VersionSet`, a `[]string` with a `Has` method).
#[derive(Clone, Debug)]
pub struct VersionSet(pub Arc<[String]>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn kind(&self) -> &str {
        "slice"
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        if name != "Has" {
            return None;
        }
        match args {
            [Value::String(s)] => Some(Ok(Value::Bool(self.0.iter().any(|v| v.as_str() == &**s)))),
            [other] => Some(Err(FuncError::raw(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )))),
            _ => Some(Err(FuncError::raw(format!(
                "wrong number of args for Has: want 1 got {}",
                args.len()
            )))),
        }
    }
    fn format(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::string_list(self.0.iter()))
    }
    fn collection(&self) -> Option<Value> {
        self.to_data()
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.HelmVersion` (`version.BuildInfo`), as the Helm v4.2.3 library reports it.
#[derive(Clone, Debug)]
pub struct BuildInfo {
    pub version: String,
    pub git_commit: String,
    pub git_tree_state: String,
    pub go_version: String,
    pub kube_client_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            version: "v4.2".into(),
            git_commit: String::new(),
            git_tree_state: String::new(),
            go_version: "go1.26.6".into(),
            kube_client_version: "v1.36".into(),
        }
    }
}

impl BuildInfo {
    fn raw_format(&self) -> String {
        format!(
            "{{{} {} {} {} {}}}",
            self.version,
            self.git_commit,
            self.git_tree_state,
            self.go_version,
            self.kube_client_version
        )
    }
}

impl Object for BuildInfo {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str(&self.version)),
            "GitCommit" => Some(Value::str(&self.git_commit)),
            "GitTreeState" => Some(Value::str(&self.git_tree_state)),
            "GoVersion" => Some(Value::str(&self.go_version)),
            "KubeClientVersion" => Some(Value::str(&self.kube_client_version)),
            _ => None,
        }
    }
    fn format(&self) -> String {
        self.raw_format()
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = Map::new();
        m.insert("version".into(), Value::str(&self.version));
        if !self.git_commit.is_empty() {
            m.insert("git_commit".into(), Value::str(&self.git_commit));
        }
        if !self.git_tree_state.is_empty() {
            m.insert("git_tree_state".into(), Value::str(&self.git_tree_state));
        }
        m.insert("go_version".into(), Value::str(&self.go_version));
        m.insert(
            "kube_client_version".into(),
            Value::str(&self.kube_client_version),
        );
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The default `.Capabilities.APIVersions`, built once and shared by every render.
static DEFAULT_API_VERSION_SET: LazyLock<Arc<[String]>> =
    LazyLock::new(|| DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect());

/// `.Capabilities`.
#[derive(Clone, Debug)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    /// The API versions (shared: cloning capabilities does not copy the list).
    pub api_versions: Arc<[String]>,
    pub helm_version: BuildInfo,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            kube_version: KubeVersion::default_version(),
            api_versions: DEFAULT_API_VERSION_SET.clone(),
            helm_version: BuildInfo::default(),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn kind(&self) -> &str {
        "ptr"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::object(self.kube_version.clone())),
            "APIVersions" => Some(Value::object(VersionSet(self.api_versions.clone()))),
            "HelmVersion" => Some(Value::object(self.helm_version.clone())),
            _ => None,
        }
    }
    fn format(&self) -> String {
        format!(
            "{{{} [{}] {}}}",
            self.kube_version.raw_format(),
            self.api_versions.join(" "),
            self.helm_version.raw_format()
        )
    }
    fn to_data(&self) -> Option<Value> {
        let mut m = Map::new();
        m.insert(
            "KubeVersion".into(),
            self.kube_version.to_data().unwrap_or_default(),
        );
        m.insert(
            "APIVersions".into(),
            Value::string_list(self.api_versions.iter()),
        );
        m.insert(
            "HelmVersion".into(),
            self.helm_version.to_data().unwrap_or_default(),
        );
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Files` (Helm's `engine.files`, a `map[string][]byte` with methods): the chart's file
/// list, shared with the chart (making it per render copies no names or bytes), and for a
/// `Glob` result the selected entries.
#[derive(Clone, Debug, Default)]
pub struct Files {
    all: Arc<Vec<File>>,
    /// Indices into `all` of the entries, in name order; `None`: every file.
    sel: Option<Rc<[usize]>>,
}

impl Files {
    /// The `.Files` of a chart: every file that is not a template, values, Chart.yaml, ...
    pub fn of_chart(c: &Chart) -> Files {
        Files {
            all: c.files.clone(),
            sel: None,
        }
    }

    /// The entries in name order, as Go ranges over the map: a name given twice keeps its last
    /// file (what building the map does).
    fn entries(&self) -> Vec<&File> {
        match &self.sel {
            Some(sel) => sel.iter().map(|&i| &self.all[i]).collect(),
            None => {
                let mut idx: Vec<usize> = (0..self.all.len()).collect();
                sorted_unique(&self.all, &mut idx);
                idx.into_iter().map(|i| &self.all[i]).collect()
            }
        }
    }

    fn get(&self, name: &str) -> Option<&File> {
        match &self.sel {
            Some(sel) => sel.iter().map(|&i| &self.all[i]).find(|f| f.name == name),
            None => self.all.iter().rev().find(|f| f.name == name),
        }
    }

    /// The bytes of `name` (none for a missing file); reading a deferred file may fail.
    fn get_bytes(&self, name: &str) -> Result<&[u8], FuncError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(f) => f.data().map(|d| &d[..]).map_err(|e| FuncError::raw(e.0)),
        }
    }

    fn is_empty(&self) -> bool {
        match &self.sel {
            Some(sel) => sel.is_empty(),
            None => self.all.is_empty(),
        }
    }

    fn to_yaml(m: Map) -> String {
        crate::yaml::to_yaml_string_map(&m)
    }
}

/// Sorts `idx` (indices into `files`) by name and keeps, of equal names, the last file.
fn sorted_unique(files: &[File], idx: &mut Vec<usize>) {
    idx.sort_by(|&a, &b| files[a].name.cmp(&files[b].name).then(b.cmp(&a)));
    idx.dedup_by(|a, b| files[*a].name == files[*b].name);
}

fn one_string<'a>(name: &str, args: &'a [Value]) -> Result<&'a str, FuncError> {
    match args {
        [Value::String(s)] => Ok(s),
        [other] => Err(FuncError::raw(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
        _ => Err(FuncError::raw(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        ))),
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind(&self) -> &str {
        "map"
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        let r = match name {
            "Get" => one_string(name, args)
                .and_then(|n| self.get_bytes(n))
                .map(|d| Value::str(&String::from_utf8_lossy(d))),
            "GetBytes" => one_string(name, args)
                .and_then(|n| self.get_bytes(n))
                .map(|d| Value::Bytes(Rc::from(d))),
            "Glob" => one_string(name, args).map(|p| {
                let glob = Glob::new(p);
                let mut idx: Vec<usize> = match &self.sel {
                    Some(sel) => sel.to_vec(),
                    None => (0..self.all.len()).collect(),
                };
                idx.retain(|&i| glob.matches(&self.all[i].name));
                if self.sel.is_none() {
                    sorted_unique(&self.all, &mut idx);
                }
                Value::object(Files {
                    all: self.all.clone(),
                    sel: Some(Rc::from(idx)),
                })
            }),
            "AsConfig" | "AsSecrets" if !args.is_empty() => Err(FuncError::raw(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            ))),
            "AsConfig" => self
                .entries()
                .into_iter()
                .map(|f| {
                    let d = f.data().map_err(|e| FuncError::raw(e.0))?;
                    Ok((
                        base(&f.name).to_string(),
                        Value::str(&String::from_utf8_lossy(d)),
                    ))
                })
                .collect::<Result<Map, FuncError>>()
                .map(|m| Value::str(&Files::to_yaml(m))),
            "AsSecrets" => self
                .entries()
                .into_iter()
                .map(|f| {
                    let d = f.data().map_err(|e| FuncError::raw(e.0))?;
                    Ok((base(&f.name).to_string(), Value::str(&base64(d))))
                })
                .collect::<Result<Map, FuncError>>()
                .map(|m| Value::str(&Files::to_yaml(m))),
            "Lines" => one_string(name, args).and_then(|p| match self.get(p) {
                None => Ok(Value::string_list(Vec::<String>::new())),
                Some(f) => {
                    let d = f.data().map_err(|e| FuncError::raw(e.0))?;
                    let s = String::from_utf8_lossy(d).into_owned();
                    let s = s.strip_suffix('\n').unwrap_or(&s);
                    Ok(Value::string_list(s.split('\n')))
                }
            }),
            _ => return None,
        };
        Some(r)
    }
    fn format(&self) -> String {
        let items: Vec<String> = self
            .entries()
            .into_iter()
            .map(|f| {
                // Printing `.Files` shows every file's bytes: deferred ones are read now (one
                // that cannot be read prints as empty; its error shows where it is used).
                let data = f.data().map_or(&[][..], |d| &d[..]);
                let bytes: Vec<String> = data.iter().map(|b| b.to_string()).collect();
                format!("{}:[{}]", f.name, bytes.join(" "))
            })
            .collect();
        format!("map[{}]", items.join(" "))
    }
    fn to_data(&self) -> Option<Value> {
        // `map[string][]byte`: JSON encodes the bytes as base64.
        Some(Value::map(
            self.entries()
                .into_iter()
                .map(|f| {
                    let data = f.data().map_or(&[][..], |d| &d[..]);
                    (f.name.clone(), Value::Bytes(Rc::from(data)))
                })
                .collect(),
        ))
    }
    fn collection(&self) -> Option<Value> {
        self.to_data()
    }
    fn truthy(&self) -> bool {
        !self.is_empty()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn base(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { "." } else { "/" };
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A `.Files.Glob` pattern: the two shapes charts nearly always use (a plain path, or one `*`
/// within a segment) are matched directly; every other pattern through [`glob_regex`]
/// (compiling a regex per call was most of the cost of a chart's `Glob`s).
enum Glob<'p> {
    /// No special character: the name is the pattern.
    Literal(&'p str),
    /// `prefix*suffix`: the part `*` covers holds no `/`.
    Star(&'p str, &'p str),
    Regex(regex::Regex),
}

impl<'p> Glob<'p> {
    fn new(p: &'p str) -> Glob<'p> {
        let special = |c: char| matches!(c, '*' | '?' | '[' | '{' | '\\');
        match p.find(special) {
            None => Glob::Literal(p),
            Some(i) if p.as_bytes()[i] == b'*' && !p[i + 1..].contains(special) => {
                Glob::Star(&p[..i], &p[i + 1..])
            }
            Some(_) => Glob::Regex(glob_regex(p)),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Glob::Literal(p) => name == *p,
            Glob::Star(prefix, suffix) => {
                name.len() >= prefix.len() + suffix.len()
                    && name.starts_with(prefix)
                    && name.ends_with(suffix)
                    && !name[prefix.len()..name.len() - suffix.len()].contains('/')
            }
            Glob::Regex(re) => re.is_match(name),
        }
    }
}

static ANY: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(".*").expect("static regex"));

/// gobwas/glob with `/` as separator, as a regex: `**` any, `*` within a segment, `?`,
/// `[abc]`/`[!abc]`, `{a,b}`. An invalid pattern matches everything (Helm falls back to `**`).
pub fn glob_regex(p: &str) -> regex::Regex {
    let mut rx = String::from("^");
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut depth = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                rx.push_str(".*");
                i += 1;
            }
            '*' => rx.push_str("[^/]*"),
            '?' => rx.push_str("[^/]"),
            '[' => {
                let Some(end) = chars[i + 1..].iter().position(|c| *c == ']') else {
                    return ANY.clone();
                };
                let body: String = chars[i + 1..i + 1 + end].iter().collect();
                let body = match body.strip_prefix('!') {
                    Some(b) => format!("^{}", b.replace('\\', "\\\\")),
                    None => body.replace('\\', "\\\\"),
                };
                rx.push_str(&format!("[{body}]"));
                i += end + 1;
            }
            '{' => {
                depth += 1;
                rx.push_str("(?:");
            }
            ',' if depth > 0 => rx.push('|'),
            '}' if depth > 0 => {
                depth -= 1;
                rx.push(')');
            }
            '\\' if i + 1 < chars.len() => {
                i += 1;
                rx.push_str(&regex::escape(&chars[i].to_string()));
            }
            c => rx.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    rx.push('$');
    regex::Regex::new(&rx).unwrap_or_else(|_| ANY.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_values_convert_as_borrowed_ones() {
        let v = serde_json::json!({
            "a": {"b": [1.5, "s", null, {"c": true}], "i": 3},
            "e": {}, "l": [], "n": null, "s": "x"
        });
        let serde_json::Value::Object(m) = v else {
            unreachable!()
        };
        let want = format!("{:?}", map_to_template(&m));
        let got = format!("{:?}", Value::map(values_into_template(m)));
        assert_eq!(got, want);
    }

    /// `.Chart` has every `Metadata` field (Go names) plus `IsRoot`, with their values.
    #[test]
    fn chart_map_fields() {
        let md = Metadata {
            name: "n".into(),
            version: "1.0.0".into(),
            ..Metadata::default()
        };
        let Value::Map(m) = chart_map(&md, true) else {
            panic!("not a map")
        };
        let m = m.entries.borrow();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "APIVersion",
                "Annotations",
                "AppVersion",
                "Condition",
                "Dependencies",
                "Deprecated",
                "Description",
                "Home",
                "Icon",
                "IsRoot",
                "Keywords",
                "KubeVersion",
                "Maintainers",
                "Name",
                "Sources",
                "Tags",
                "Type",
                "Version"
            ]
        );
        assert!(matches!(&m["Name"], Value::String(s) if &**s == "n"));
        assert!(matches!(&m["Version"], Value::String(s) if &**s == "1.0.0"));
        assert!(matches!(&m["Home"], Value::String(s) if s.is_empty()));
        assert!(matches!(m["IsRoot"], Value::Bool(true)));
    }

    /// The direct matches of plain and one-`*` patterns agree with the regex translation.
    #[test]
    fn glob_shapes_agree_with_regex() {
        let names = [
            "files/a.conf",
            "files/a.conf.bak",
            "files/x/a.conf",
            "files/.conf",
            "files/",
            "files",
            "a.conf",
            "files/é.conf",
            "xfiles/a.conf",
            "files/a*conf",
        ];
        for p in [
            "files/a.conf",
            "files/*.conf",
            "files/*",
            "*",
            "*.conf",
            "files/a*",
            "",
            "files/",
            "a,b}",
            "files/é*",
        ] {
            let g = Glob::new(p);
            assert!(!matches!(g, Glob::Regex(_)), "{p} should match directly");
            let re = glob_regex(p);
            for n in names {
                assert_eq!(g.matches(n), re.is_match(n), "pattern {p:?} name {n:?}");
            }
        }
        assert!(matches!(Glob::new("files/**"), Glob::Regex(_)));
        assert!(matches!(Glob::new("files/*/*.conf"), Glob::Regex(_)));
        assert!(matches!(Glob::new("files/?.conf"), Glob::Regex(_)));
    }

    #[test]
    fn globbing() {
        assert!(glob_regex("files/*").is_match("files/a.txt"));
        assert!(!glob_regex("files/*").is_match("files/x/a.txt"));
        assert!(glob_regex("files/**").is_match("files/x/a.txt"));
        assert!(glob_regex("*.{yaml,json}").is_match("a.json"));
        assert!(glob_regex("[!b]*").is_match("a"));
    }

    #[test]
    fn kube_version() {
        let k = KubeVersion::parse("1.29.3-gke.1").unwrap();
        assert_eq!(k.version, "v1.29.3-gke.1");
        assert_eq!(k.normalized, "v1.29.3");
        assert_eq!(k.minor, "29");
        assert!(KubeVersion::parse("abc").is_err());
        assert_eq!(KubeVersion::parse("v1.30").unwrap().normalized, "v1.30.0");
    }

    #[test]
    fn b64() {
        assert_eq!(base64(b"hello\nworld\n"), "aGVsbG8Kd29ybGQK");
        assert_eq!(base64(b"k: v\n"), "azogdgo=");
    }
}
