//! Generator of `descriptors.txt`: the protobuf field table of the built-in kinds, read from
//! the prost types of the `k8s-pb` crate (which are generated from upstream's
//! `generated.proto` files) and joined with the JSON field names of k8s-openapi's schemas.
//!
//! `cargo test -p apiserver protobuf::generate` checks that the committed table is current;
//! `FERRY_REGEN_PB_TABLE=1 cargo test -p apiserver protobuf::generate` rewrites it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Module directories (under k8s-pb's `src/`) whose messages go into the table: the
/// stable API groups plus apimachinery's shared types.
const MODULES: &[&str] = &[
    "api/admissionregistration/v1",
    "api/apps/v1",
    "api/authentication/v1",
    "api/authorization/v1",
    "api/autoscaling/v1",
    "api/autoscaling/v2",
    "api/batch/v1",
    "api/certificates/v1",
    "api/coordination/v1",
    "api/core/v1",
    "api/discovery/v1",
    "api/events/v1",
    "api/flowcontrol/v1",
    "api/networking/v1",
    "api/node/v1",
    "api/policy/v1",
    "api/rbac/v1",
    "api/scheduling/v1",
    "api/storage/v1",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1",
    "apimachinery/pkg/api/resource",
    "apimachinery/pkg/apis/meta/v1",
    "apimachinery/pkg/runtime",
    "apimachinery/pkg/util/intstr",
];

/// Where cargo unpacked the `k8s-pb` dev-dependency.
fn k8s_pb_source() -> PathBuf {
    // Offline first; `cargo metadata` resolves the packages of every platform, and a fresh
    // machine's cargo cache holds only those the build downloaded (e.g. no Android-only
    // crates), so fall back to letting cargo fetch the rest from the registry.
    let metadata = |offline: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args(["metadata", "--format-version", "1"]);
        if offline {
            cmd.arg("--offline");
        }
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs")
    };
    let mut out = metadata(true);
    if !out.status.success() {
        out = metadata(false);
    }
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "k8s-pb")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("k8s-pb is a dev-dependency of apiserver");
    Path::new(manifest)
        .parent()
        .expect("manifest dir")
        .join("src")
}

/// Schema name (`io.k8s.api.apps.v1.Deployment`) of a Rust path inside k8s-pb.
fn schema_name(module: &[String], ty: &str) -> String {
    let mut parts: Vec<String> = module.iter().map(|m| m.replace('_', "-")).collect();
    parts.push(ty.to_string());
    format!("io.k8s.{}", parts.join("."))
}

/// Resolves a (possibly `super::`-relative) Rust type path used in `module`.
fn resolve_type(module: &[String], path: &str) -> String {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = module.to_vec();
    if segs.first() == Some(&"crate") {
        base.clear();
        segs.remove(0);
    } else {
        while segs.first() == Some(&"super") {
            base.pop();
            segs.remove(0);
        }
    }
    let name = segs.pop().unwrap_or_default();
    base.extend(segs.iter().map(|s| s.to_string()));
    schema_name(&base, name)
}

/// Strips `Option<…>`, `Vec<…>`, `Box<…>` and `BTreeMap<String, …>` wrappers.
fn inner_type(ty: &str) -> &str {
    let mut t = ty.trim().trim_end_matches(',');
    loop {
        let before = t;
        for w in [
            "::core::option::Option<",
            "::prost::alloc::vec::Vec<",
            "::prost::alloc::boxed::Box<",
        ] {
            if let Some(rest) = t.strip_prefix(w) {
                t = rest.strip_suffix('>').unwrap_or(rest);
            }
        }
        if let Some(rest) = t.strip_prefix("::prost::alloc::collections::BTreeMap<") {
            let rest = rest.strip_suffix('>').unwrap_or(rest);
            t = rest.split_once(',').map(|x| x.1).unwrap_or(rest);
        }
        t = t.trim().trim_end_matches(',');
        if t == before {
            return t;
        }
    }
}

struct RawField {
    tag: u32,
    rust_name: String,
    card: &'static str,
    ty: String,
}

struct RawMessage {
    name: String,
    fields: Vec<RawField>,
}

fn scalar(t: &str) -> Option<&'static str> {
    Some(match t {
        "string" => "string",
        "bool" => "bool",
        "int32" => "int32",
        "int64" => "int64",
        "double" => "double",
        "bytes = \"vec\"" | "bytes" => "bytes",
        "message" => "message",
        _ => return None,
    })
}

fn parse_field(module: &[String], attr: &str, decl: &str) -> RawField {
    let parts: Vec<&str> = attr.split(", ").map(str::trim).collect();
    let tag = parts
        .iter()
        .find_map(|p| p.strip_prefix("tag = \""))
        .and_then(|t| t.trim_end_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no tag in {attr}"));
    let (name, ty) = decl
        .trim()
        .strip_prefix("pub ")
        .and_then(|d| d.split_once(':'))
        .unwrap_or_else(|| panic!("bad field declaration {decl}"));
    let rust_name = name.trim().trim_start_matches("r#").to_string();
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    let (card, ty) = if let Some(map) = attr.strip_prefix("btree_map = \"") {
        let value = map.split('"').next().unwrap_or("").split(", ").nth(1);
        let v = match value {
            Some("message") => resolve_type(module, inner_type(&ty)),
            Some(other) => scalar(other)
                .unwrap_or_else(|| panic!("map value {other}"))
                .to_string(),
            None => panic!("bad map attribute {attr}"),
        };
        ("map", v)
    } else {
        let kind = scalar(parts[0]).unwrap_or_else(|| panic!("field type {}", parts[0]));
        let card = if parts.contains(&"repeated") {
            "rep"
        } else {
            "opt"
        };
        let t = if kind == "message" {
            resolve_type(module, inner_type(&ty))
        } else {
            kind.to_string()
        };
        (card, t)
    };
    RawField {
        tag,
        rust_name,
        card,
        ty,
    }
}

/// Reads the prost structs (and the `Resource` GVKs) of one k8s-pb module file.
fn parse_module(
    module: &[String],
    src: &str,
    messages: &mut Vec<RawMessage>,
    gvks: &mut BTreeMap<String, String>,
) {
    let lines: Vec<&str> = src
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.starts_with("#[doc"))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix("pub struct ") {
            if let Some(empty) = rest.strip_suffix(" {}") {
                messages.push(RawMessage {
                    name: schema_name(module, empty.trim()),
                    fields: Vec::new(),
                });
                i += 1;
                continue;
            }
            let name = rest.trim_end_matches(" {").trim().to_string();
            let mut fields = Vec::new();
            i += 1;
            let mut body = String::new();
            while i < lines.len() && lines[i] != "}" {
                body.push_str(lines[i]);
                body.push(' ');
                i += 1;
            }
            for chunk in body.split("#[prost(").skip(1) {
                let (attr, decl) = chunk.split_once(")]").expect("closing attribute");
                fields.push(parse_field(module, attr, decl));
            }
            messages.push(RawMessage {
                name: schema_name(module, &name),
                fields,
            });
        } else if let Some(rest) = line.strip_prefix("impl crate::Resource for ") {
            let name = rest.trim_end_matches(" {").trim();
            let mut api_version = "";
            let mut kind = "";
            while i < lines.len() && lines[i] != "}" {
                let l = lines[i];
                if let Some(v) = l.strip_prefix("const API_VERSION: &'static str = \"") {
                    api_version = v.trim_end_matches("\";");
                }
                if let Some(v) = l.strip_prefix("const KIND: &'static str = \"") {
                    kind = v.trim_end_matches("\";");
                }
                i += 1;
            }
            gvks.insert(schema_name(module, name), format!("{api_version} {kind}"));
        }
        i += 1;
    }
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric() || *c == '.')
        .flat_map(char::to_lowercase)
        .collect()
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, w) in snake.split('_').enumerate() {
        if i == 0 {
            out.push_str(w);
        } else {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                out.extend(f.to_uppercase());
                out.push_str(c.as_str());
            }
        }
    }
    out
}

/// Property names and required lists of every schema k8s-openapi has for the table's kinds.
fn schemas() -> Map<String, Value> {
    let mut all = crate::schema::builtins().all.clone();
    let mut g = schemars::generate::SchemaSettings::openapi3().into_generator();
    macro_rules! more {
        ($($ty:ty),* $(,)?) => { $( g.subschema_for::<$ty>(); )* };
    }
    use k8s_openapi::api;
    more!(
        api::autoscaling::v1::HorizontalPodAutoscaler,
        api::events::v1::Event,
        api::core::v1::Binding,
        api::core::v1::ComponentStatus,
        api::authentication::v1::TokenReview,
        api::authentication::v1::SelfSubjectReview,
        api::authentication::v1::TokenRequest,
        api::authorization::v1::SelfSubjectAccessReview,
        api::authorization::v1::SubjectAccessReview,
        api::authorization::v1::LocalSubjectAccessReview,
        api::authorization::v1::SelfSubjectRulesReview,
        api::certificates::v1::CertificateSigningRequest,
        api::flowcontrol::v1::FlowSchema,
        api::flowcontrol::v1::PriorityLevelConfiguration,
        api::node::v1::RuntimeClass,
        api::policy::v1::Eviction,
        api::storage::v1::CSIDriver,
        api::storage::v1::CSINode,
        api::storage::v1::CSIStorageCapacity,
        api::storage::v1::VolumeAttachment,
        api::admissionregistration::v1::ValidatingAdmissionPolicy,
        api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
        api::networking::v1::IPAddress,
        api::networking::v1::ServiceCIDR,
        k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList,
        k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList,
    );
    for (k, v) in g.take_definitions(true) {
        all.entry(k).or_insert(v);
    }
    all
}

/// Renders the table.
pub(super) fn generate() -> (String, Vec<String>) {
    let root = k8s_pb_source();
    let mut messages = Vec::new();
    let mut gvks = BTreeMap::new();
    for m in MODULES {
        let module: Vec<String> = m.split('/').map(str::to_string).collect();
        let path = root.join(m).join("mod.rs");
        let src =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse_module(&module, &src, &mut messages, &mut gvks);
    }
    let schemas = schemas();
    // prost renames acronyms (`JSONSchemaProps` → `JsonSchemaProps`, `HTTPGetAction` →
    // `HttpGetAction`): use the schema's spelling of each message name.
    let canonical: BTreeMap<String, String> =
        schemas.keys().map(|k| (normalize(k), k.clone())).collect();
    let canon = |n: &str| {
        canonical
            .get(&normalize(n))
            .cloned()
            .unwrap_or_else(|| n.to_string())
    };
    for m in &mut messages {
        m.name = canon(&m.name);
        for f in &mut m.fields {
            if f.ty.starts_with("io.k8s.") {
                f.ty = canon(&f.ty);
            }
        }
    }
    let gvks: BTreeMap<String, String> = gvks.into_iter().map(|(k, v)| (canon(&k), v)).collect();
    let field_names: BTreeMap<String, Vec<String>> = messages
        .iter()
        .map(|m| {
            let names = m.fields.iter().map(|f| normalize(&f.rust_name)).collect();
            (m.name.clone(), names)
        })
        .collect();
    let mut unnamed = Vec::new();
    let mut out = String::from(
        "# Generated by crates/apiserver/src/protobuf/generate.rs from the k8s-pb crate; do not edit.\n\
         # message <schema name> [<apiVersion> <kind>]\n\
         # <tag> <json name> <opt|rep|map|inl> <string|bool|int32|int64|double|bytes|message name> [req]\n",
    );
    messages.sort_by(|a, b| a.name.cmp(&b.name));
    for m in &messages {
        let schema = schemas.get(&m.name);
        let props: Vec<String> = schema
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let required: Vec<&str> = schema
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match gvks.get(&m.name) {
            Some(gvk) => out.push_str(&format!("message {} {gvk}\n", m.name)),
            None => out.push_str(&format!("message {}\n", m.name)),
        }
        for f in &m.fields {
            let found = props
                .iter()
                .find(|p| normalize(p) == normalize(&f.rust_name))
                .cloned();
            let json = found.clone().unwrap_or_else(|| camel(&f.rust_name));
            // A message-typed field the JSON schema does not name is an embedded Go struct
            // (`json:",inline"`): its fields belong to the parent object in JSON.
            let nested = field_names.get(&f.ty).cloned().unwrap_or_default();
            let matching = nested
                .iter()
                .filter(|n| props.iter().any(|p| normalize(p) == **n))
                .count();
            let card = if found.is_none() && !nested.is_empty() && matching * 5 >= nested.len() * 4
            {
                "inl"
            } else {
                if found.is_none() && schema.is_some() {
                    unnamed.push(format!("{}.{json}", m.name));
                }
                f.card
            };
            let req = if required.contains(&json.as_str()) {
                " req"
            } else {
                ""
            };
            out.push_str(&format!("{} {json} {card} {}{req}\n", f.tag, f.ty));
        }
    }
    (out, unnamed)
}

#[test]
fn descriptors_are_current() {
    let (table, unnamed) = generate();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protobuf/descriptors.txt");
    if std::env::var_os("FERRY_REGEN_PB_TABLE").is_some() {
        std::fs::write(&path, &table).expect("write descriptors.txt");
        eprintln!("fields named by fallback camelCase: {unnamed:?}");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == table,
        "{} is stale: run FERRY_REGEN_PB_TABLE=1 cargo test -p apiserver protobuf::generate",
        path.display()
    );
}
