//! Request handling: routing, CRUD, list, watch, patch and delete semantics of the
//! Kubernetes REST API, on top of [`crate::store`].

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::registry::{Registry, ResourceType};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{EventType, Store, Txn};

/// Response body type.
pub type Body = BoxBody<Bytes, Infallible>;

const DISCOVERY_CT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const TABLE_CT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Shared server state.
pub struct State {
    /// Storage.
    pub store: Store,
    /// Served types.
    pub registry: Registry,
    token: String,
    /// PEM of the cluster CA (published as `kube-root-ca.crt` in every namespace).
    pub ca_pem: String,
    addr: SocketAddr,
    /// Configuration.
    pub config: crate::Config,
    openapi: Mutex<Option<(u64, Arc<OpenApi>)>>,
    pages: Mutex<Pages>,
}

/// The snapshots behind list `continue` tokens: every page of a paged list comes from the
/// state at the first page's resourceVersion, as from etcd upstream.
#[derive(Default)]
struct Pages {
    next: u64,
    snapshots: HashMap<u64, Snapshot>,
}

struct Snapshot {
    /// Resource, namespace and selectors of the list the token belongs to.
    scope: String,
    rv: u64,
    taken: std::time::Instant,
    items: Vec<Arc<Value>>,
}

/// At most this many paged lists are kept at once (the oldest is dropped first).
const MAX_SNAPSHOTS: usize = 256;

struct OpenApi {
    docs: BTreeMap<String, Value>,
    hashes: BTreeMap<String, String>,
    /// The Swagger 2.0 document (serialized) and its hash, built on first request.
    v2: std::sync::OnceLock<(String, String)>,
}

impl OpenApi {
    fn v2(&self) -> &(String, String) {
        self.v2.get_or_init(|| {
            let doc = crate::openapi::swagger_v2(&self.docs);
            let hash = crate::openapi::hash(&doc);
            (doc.to_string(), hash)
        })
    }
}

/// Options of one write.
#[derive(Debug, Clone)]
pub struct WriteOpts {
    /// Field manager (`fieldManager` query parameter).
    pub manager: String,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub validation: Validation,
    /// `force` (server-side apply).
    pub force: bool,
}

impl WriteOpts {
    /// Options for the server's own controllers.
    pub fn internal(manager: &str) -> WriteOpts {
        WriteOpts {
            manager: manager.to_string(),
            dry_run: false,
            validation: Validation::Ignore,
            force: true,
        }
    }
}

/// `fieldValidation` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Drop unknown fields silently.
    Ignore,
    /// Drop with a warning.
    Warn,
    /// Reject unknown fields.
    Strict,
}

/// Current time in Kubernetes' RFC 3339 form.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn status_ok(group: &str, plural: &str, name: &str, uid: &Value) -> Value {
    let mut d = json!({"name": name, "kind": plural, "uid": uid});
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

impl State {
    /// Creates the state: registers CRD-defined types from storage and bootstraps system namespaces.
    pub fn new(
        store: Store,
        token: String,
        ca_pem: String,
        addr: SocketAddr,
        config: crate::Config,
    ) -> Result<Arc<State>, crate::Error> {
        let state = Arc::new(State {
            store,
            registry: Registry::new(),
            token,
            ca_pem,
            addr,
            config,
            openapi: Mutex::new(None),
            pages: Mutex::new(Pages::default()),
        });
        let crds = state
            .store
            .txn()
            .list("apiextensions.k8s.io/customresourcedefinitions", None);
        for crd in crds {
            crate::defaults::register_crd(&state.registry, &crd);
        }
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let t = state.type_for("", "Namespace");
            let exists = state.store.txn().get("/namespaces", "", ns).is_some();
            if !exists && let Some(t) = t {
                let obj =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                state
                    .create(&t, "v1", None, obj, &WriteOpts::internal("ferry-apiserver"))
                    .map_err(|e| crate::Error::Io {
                        path: "bootstrap".into(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
            }
        }
        state.store.sync_blocking().map_err(|e| crate::Error::Io {
            path: "bootstrap".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(state)
    }

    /// The type of `group`/`kind`.
    pub fn type_for(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.registry.by_kind(group, kind)
    }

    fn openapi(&self) -> Arc<OpenApi> {
        let generation = self.registry.generation();
        let mut guard = match self.openapi.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some((g, o)) = guard.as_ref()
            && *g == generation
        {
            return o.clone();
        }
        let docs = crate::openapi::documents(&self.registry);
        let hashes = docs
            .iter()
            .map(|(k, d)| (k.clone(), crate::openapi::hash(d)))
            .collect();
        let o = Arc::new(OpenApi {
            docs,
            hashes,
            v2: std::sync::OnceLock::new(),
        });
        *guard = Some((generation, o.clone()));
        o
    }

    fn check_namespace(
        &self,
        txn: &Txn,
        t: &ResourceType,
        ns: &str,
        creating: bool,
    ) -> Result<(), ApiError> {
        if !t.namespaced {
            return Ok(());
        }
        match txn.get("/namespaces", "", ns) {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(n) if creating && n.pointer("/metadata/deletionTimestamp").is_some() => Err(ApiError::new(
                403,
                "Forbidden",
                format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    t.qualified(),
                    ""
                ),
            )
            .with_details(json!({"causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]}))),
            Some(_) => Ok(()),
        }
    }

    /// Creates an object. `ns` is the namespace from the URL (None for cluster-scoped).
    pub fn create(
        &self,
        t: &ResourceType,
        version: &str,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOpts,
    ) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        let ns = ns.unwrap_or("").to_string();
        normalize_meta(&mut obj);
        if t.namespaced {
            match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
                Some(b) if !b.is_empty() && b != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let mut txn = self.store.txn();
        self.check_namespace(&txn, t, &ns, true)?;
        let name = match obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(n) => n.to_string(),
            None => match obj
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                Some(prefix) => {
                    let mut prefix = prefix.to_string();
                    prefix.truncate(58);
                    let mut name = format!("{prefix}{}", random_suffix(5));
                    for _ in 0..8 {
                        if txn.get(&t.key(), &ns, &name).is_none() {
                            break;
                        }
                        name = format!("{prefix}{}", random_suffix(5));
                    }
                    name
                }
                None => {
                    return Err(ApiError::invalid(
                        &t.kind,
                        &t.group,
                        &t.plural,
                        "",
                        &[(
                            "metadata.name".into(),
                            "FieldValueRequired",
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            },
        };
        validate_name(t, &name)?;
        obj["metadata"]["name"] = json!(name);
        if txn.get(&t.key(), &ns, &name).is_some() {
            return Err(ApiError::already_exists(&t.group, &t.plural, &name));
        }
        self.finish_create(&mut txn, t, version, &ns, &name, obj, opts, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_create(
        &self,
        txn: &mut Txn,
        t: &ResourceType,
        version: &str,
        ns: &str,
        name: &str,
        mut obj: Value,
        opts: &WriteOpts,
        record_update: bool,
    ) -> Result<Arc<Value>, ApiError> {
        obj["apiVersion"] = json!(crate::registry::gv(&t.group, version));
        obj["kind"] = json!(t.kind);
        let (mut obj, version) = builtin_to_storage(t, version, obj);
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now()));
        meta.remove("resourceVersion");
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        if t.has_generation() {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        if record_update {
            meta.remove("managedFields");
        }
        crate::defaults::prepare(txn, t, version, None, &mut obj, opts)?;
        if record_update {
            crate::ssa::record_update(t, None, &mut obj, &opts.manager, "Update", None);
        }
        let stored = to_storage_version(t, obj);
        if opts.dry_run {
            return Ok(Arc::new(stored));
        }
        let out = txn.put(&t.key(), ns, name, stored)?;
        crate::defaults::after_write(self, t, &out);
        Ok(out)
    }

    /// Replaces an object (or its `status` subresource).
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        t: &ResourceType,
        version: &str,
        ns: Option<&str>,
        name: &str,
        sub: Option<&str>,
        obj: Value,
        opts: &WriteOpts,
    ) -> Result<Arc<Value>, ApiError> {
        let ns = ns.unwrap_or("");
        let mut txn = self.store.txn();
        let old = txn
            .get(&t.key(), ns, name)
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        self.update_locked(
            &mut txn, t, version, ns, name, sub, &old, obj, opts, "Update",
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn update_locked(
        &self,
        txn: &mut Txn,
        t: &ResourceType,
        version: &str,
        ns: &str,
        name: &str,
        sub: Option<&str>,
        old: &Arc<Value>,
        mut obj: Value,
        opts: &WriteOpts,
        operation: &str,
    ) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        normalize_meta(&mut obj);
        if crate::convert::needed(t, version) {
            obj["apiVersion"] = json!(crate::registry::gv(&t.group, version));
        }
        let (mut obj, version) = builtin_to_storage(t, version, obj);
        match obj.pointer("/metadata/name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => obj["metadata"]["name"] = json!(name),
        }
        if let Some(rv) = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            && Some(rv)
                != old
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
        {
            return Err(ApiError::conflict(&t.group, &t.plural, name));
        }
        let old_storage: &Value = old;
        let mut new = match sub {
            Some("status") => {
                // Only `status` comes from the body.
                let status = match obj {
                    Value::Object(mut m) => m.remove("status"),
                    _ => None,
                };
                if status.as_ref() == old_storage.get("status") {
                    // A no-op status write: nothing is stored (no new resourceVersion), as
                    // upstream.
                    return Ok(old.clone());
                }
                let mut n = old_storage.clone();
                match status {
                    Some(st) if !st.is_null() => n["status"] = st,
                    _ => {
                        n.as_object_mut().map(|o| o.remove("status"));
                    }
                }
                n
            }
            _ => {
                let mut n = obj;
                let keep = [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                ];
                for k in keep {
                    match old_storage["metadata"].get(k) {
                        Some(v) => n["metadata"][k] = v.clone(),
                        None => {
                            n["metadata"].as_object_mut().map(|m| m.remove(k));
                        }
                    }
                }
                if operation != "Apply"
                    && n.pointer("/metadata/managedFields").is_none()
                    && let Some(mf) = old_storage.pointer("/metadata/managedFields")
                {
                    n["metadata"]["managedFields"] = mf.clone();
                }
                if t.namespaced {
                    n["metadata"]["namespace"] = json!(ns);
                }
                let status_sub = t.status || t.crd_version(version).is_some_and(|v| v.status);
                if status_sub {
                    match old_storage.get("status") {
                        Some(s) => n["status"] = s.clone(),
                        None => {
                            n.as_object_mut().map(|o| o.remove("status"));
                        }
                    }
                }
                n
            }
        };
        new["apiVersion"] = json!(crate::registry::gv(&t.group, version));
        new["kind"] = json!(t.kind);
        if old_storage.pointer("/metadata/deletionTimestamp").is_some() {
            let old_f = finalizers(old_storage);
            if finalizers(&new).iter().any(|f| !old_f.contains(f)) {
                return Err(ApiError::invalid(
                    &t.kind,
                    &t.group,
                    &t.plural,
                    name,
                    &[(
                        "metadata.finalizers".into(),
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being deleted"
                            .into(),
                    )],
                ));
            }
        }
        crate::defaults::prepare(txn, t, version, Some(old_storage), &mut new, opts)?;
        if t.has_generation() && sub != Some("status") {
            let status_sub = t.status || t.crd_version(version).is_some_and(|v| v.status);
            if spec_changed(old_storage, &new, status_sub) {
                let g = old_storage
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                new["metadata"]["generation"] = json!(g + 1);
            }
        }
        if operation == "Update" {
            crate::ssa::record_update(t, Some(old_storage), &mut new, &opts.manager, "Update", sub);
        }
        let stored = to_storage_version(t, new);
        if same_but_rv(&stored, old_storage) {
            return Ok(old.clone());
        }
        if opts.dry_run {
            let mut s = stored;
            s["metadata"]["resourceVersion"] = old_storage["metadata"]["resourceVersion"].clone();
            return Ok(Arc::new(s));
        }
        if stored.pointer("/metadata/deletionTimestamp").is_some()
            && finalizers(&stored).is_empty()
            && !is_namespace_pending(t, &stored)
        {
            let out = match txn.delete(&t.key(), ns, name)? {
                Some(o) => o,
                None => Arc::new(stored),
            };
            return Ok(out);
        }
        let out = txn.put(&t.key(), ns, name, stored)?;
        crate::defaults::after_write(self, t, &out);
        Ok(out)
    }

    /// Applies a patch of `content_type` to an object (or subresource).
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        t: &ResourceType,
        version: &str,
        ns: Option<&str>,
        name: &str,
        sub: Option<&str>,
        content_type: &str,
        body: &[u8],
        opts: &WriteOpts,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        let ns_s = ns.unwrap_or("");
        let ct = content_type.split(';').next().unwrap_or("").trim();
        if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor" {
            let applied = parse_yaml_or_json(body)?;
            return self.server_side_apply(t, version, ns, name, sub, applied, opts);
        }
        let mut txn = self.store.txn();
        let old = txn
            .get(&t.key(), ns_s, name)
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        // The patches copy their base; a stored object served as is is not copied first.
        let (base, is_scale): (std::borrow::Cow<Value>, bool) = match sub {
            Some("scale") => (std::borrow::Cow::Owned(self.scale_of(t, &old)?), true),
            _ if stored_form_served(t, version, &old) => (std::borrow::Cow::Borrowed(&*old), false),
            _ => (
                std::borrow::Cow::Owned(with_version(t, version, (*old).clone())),
                false,
            ),
        };
        let patched = match ct {
            "application/json-patch+json" => crate::patch::json_patch(&base, body)?,
            "application/merge-patch+json" => crate::patch::merge_patch(&base, body)?,
            "application/strategic-merge-patch+json" => {
                if t.crd.is_some() {
                    return Err(ApiError::unsupported_media(ct));
                }
                let def = if is_scale {
                    Some("io.k8s.api.autoscaling.v1.Scale".to_string())
                } else {
                    crate::schema::builtins()
                        .kinds
                        .get(&(t.group.clone(), t.kind.clone()))
                        .cloned()
                };
                crate::patch::strategic_merge(&base, body, def.as_deref())?
            }
            other => return Err(ApiError::unsupported_media(other)),
        };
        let result = if is_scale {
            let mut n = (*old).clone();
            let replicas = patched
                .pointer("/spec/replicas")
                .cloned()
                .unwrap_or(json!(0));
            set_path(
                &mut n,
                &self.scale_paths(t, version).spec_replicas,
                replicas,
            );
            if let Some(rv) = patched.pointer("/metadata/resourceVersion") {
                n["metadata"]["resourceVersion"] = rv.clone();
            }
            let out = self.update_locked(
                &mut txn, t, version, ns_s, name, None, &old, n, opts, "Update",
            )?;
            return Ok((Arc::new(self.scale_of(t, &out)?), false));
        } else {
            self.update_locked(
                &mut txn, t, version, ns_s, name, sub, &old, patched, opts, "Update",
            )?
        };
        Ok((result, false))
    }

    /// Server-side apply. Returns the object and whether it was created.
    #[allow(clippy::too_many_arguments)]
    pub fn server_side_apply(
        &self,
        t: &ResourceType,
        version: &str,
        ns: Option<&str>,
        name: &str,
        sub: Option<&str>,
        applied: Value,
        opts: &WriteOpts,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        if opts.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PATCH requests with apply content type must have a fieldManager",
            ));
        }
        if !applied.is_object() {
            return Err(ApiError::bad_request("apply patch must be an object"));
        }
        let ns_s = ns.unwrap_or("");
        let mut txn = self.store.txn();
        let old = txn.get(&t.key(), ns_s, name);
        match old {
            None => {
                if sub.is_some() {
                    return Err(ApiError::not_found(&t.group, &t.plural, name));
                }
                self.check_namespace(&txn, t, ns_s, true)?;
                let mut obj =
                    crate::ssa::apply(t, version, None, &applied, &opts.manager, opts.force, sub)?;
                normalize_meta(&mut obj);
                obj["metadata"]["name"] = json!(name);
                if t.namespaced {
                    obj["metadata"]["namespace"] = json!(ns_s);
                }
                let out = self.finish_create(&mut txn, t, version, ns_s, name, obj, opts, false)?;
                Ok((out, true))
            }
            Some(old) => {
                let converted;
                let live: &Value = if stored_form_served(t, version, &old) {
                    &old
                } else {
                    converted = with_version(t, version, (*old).clone());
                    &converted
                };
                let mut merged = crate::ssa::apply(
                    t,
                    version,
                    Some(live),
                    &applied,
                    &opts.manager,
                    opts.force,
                    sub,
                )?;
                if let Some(rv) = applied.pointer("/metadata/resourceVersion") {
                    merged["metadata"]["resourceVersion"] = rv.clone();
                } else if let Some(m) = merged["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                let out = self.update_locked(
                    &mut txn, t, version, ns_s, name, sub, &old, merged, opts, "Apply",
                )?;
                Ok((out, false))
            }
        }
    }

    fn scale_paths(&self, t: &ResourceType, version: &str) -> crate::registry::ScalePaths {
        t.crd_version(version)
            .and_then(|v| v.scale.clone())
            .or_else(|| t.scale.clone())
            .unwrap_or(crate::registry::ScalePaths {
                spec_replicas: ".spec.replicas".into(),
                status_replicas: ".status.replicas".into(),
                label_selector: None,
            })
    }

    fn scale_of(&self, t: &ResourceType, obj: &Value) -> Result<Value, ApiError> {
        let version = obj["apiVersion"]
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("v1")
            .to_string();
        let paths = self.scale_paths(t, &version);
        let selector = paths
            .label_selector
            .as_ref()
            .and_then(|p| get_path(obj, p))
            .map(|s| match s {
                Value::String(s) => s.clone(),
                other => LabelSelector::from_object(other).render(),
            })
            .unwrap_or_default();
        let m = &obj["metadata"];
        Ok(json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"], "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
            "spec": {"replicas": get_path(obj, &paths.spec_replicas).cloned().unwrap_or(json!(0))},
            "status": {"replicas": get_path(obj, &paths.status_replicas).cloned().unwrap_or(json!(0)), "selector": selector},
        }))
    }

    /// Deletes an object honouring finalizers and the propagation policy. Returns the response
    /// body and whether the object is gone.
    pub fn delete(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        name: &str,
        options: &Value,
        dry_run: bool,
    ) -> Result<(Value, bool), ApiError> {
        let ns = ns.unwrap_or("");
        let mut txn = self.store.txn();
        let old = txn
            .get(&t.key(), ns, name)
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        if let Some(pre) = options.get("preconditions") {
            let uid_ok = pre
                .get("uid")
                .and_then(Value::as_str)
                .is_none_or(|u| Some(u) == old.pointer("/metadata/uid").and_then(Value::as_str));
            let rv_ok = pre
                .get("resourceVersion")
                .and_then(Value::as_str)
                .is_none_or(|r| {
                    Some(r)
                        == old
                            .pointer("/metadata/resourceVersion")
                            .and_then(Value::as_str)
                });
            if !uid_ok || !rv_ok {
                return Err(ApiError::conflict(&t.group, &t.plural, name));
            }
        }
        if t.key() == "/namespaces" && (name == "default" || name == "kube-system") {
            return Err(ApiError::new(
                403,
                "Forbidden",
                format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
            ));
        }
        let policy = options
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(
                || match options.get("orphanDependents").and_then(Value::as_bool) {
                    Some(true) => Some("Orphan".into()),
                    _ => None,
                },
            )
            .unwrap_or_else(|| "Background".into());
        let mut obj = (*old).clone();
        let mut fins = finalizers(&obj);
        let already = obj.pointer("/metadata/deletionTimestamp").is_some();
        match policy.as_str() {
            "Foreground" if !fins.iter().any(|f| f == "foregroundDeletion") && !already => {
                fins.push("foregroundDeletion".into())
            }
            "Orphan" if !fins.iter().any(|f| f == "orphan") && !already => {
                fins.push("orphan".into())
            }
            "Background" | "Foreground" | "Orphan" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported propagationPolicy {other:?}"
                )));
            }
        }
        let pending = !fins.is_empty() || t.key() == "/namespaces";
        if !pending {
            if dry_run {
                return Ok((
                    status_ok(&t.group, &t.plural, name, &obj["metadata"]["uid"]),
                    true,
                ));
            }
            let gone = txn.delete(&t.key(), ns, name)?;
            let uid = gone
                .as_ref()
                .map(|g| g["metadata"]["uid"].clone())
                .unwrap_or(Value::Null);
            if t.key() == "/pods" {
                return Ok((gone.map(|g| (*g).clone()).unwrap_or(Value::Null), true));
            }
            return Ok((status_ok(&t.group, &t.plural, name, &uid), true));
        }
        if already {
            return Ok((obj, false));
        }
        obj["metadata"]["finalizers"] = json!(fins);
        obj["metadata"]["deletionTimestamp"] = json!(now());
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if t.has_generation() {
            let g = obj
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            obj["metadata"]["generation"] = json!(g + 1);
        }
        if t.key() == "/namespaces" {
            obj["status"]["phase"] = json!("Terminating");
        }
        if dry_run {
            return Ok((obj, false));
        }
        let out = txn.put(&t.key(), ns, name, obj)?;
        Ok(((*out).clone(), false))
    }

    /// Lists objects matching selectors; returns (items, list resourceVersion).
    pub fn list(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> (Vec<Arc<Value>>, u64) {
        let txn = self.store.txn();
        let rv = txn.revision();
        let items = txn
            .list(&t.key(), ns)
            .into_iter()
            .filter(|o| labels.matches_object(o) && fields.matches(o))
            .collect();
        (items, rv)
    }

    /// The authenticated user: the admin token's `ferry-admin`, or the service account a
    /// token from `…/serviceaccounts/<name>/token` was issued for.
    fn user(&self, req: &http::request::Parts) -> Option<String> {
        let h = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())?;
        let tok = h.strip_prefix("Bearer ")?.trim();
        if constant_time_eq(tok.as_bytes(), self.token.as_bytes()) {
            return Some("ferry-admin".into());
        }
        let claims = crate::tokens::verify(&self.token, tok, chrono::Utc::now().timestamp())?;
        // A token dies with its service account (bound tokens, as upstream).
        let sa = self
            .store
            .txn()
            .get("/serviceaccounts", &claims.namespace, &claims.name)?;
        (sa.pointer("/metadata/uid").and_then(Value::as_str) == Some(claims.uid.as_str()))
            .then(|| format!("system:serviceaccount:{}:{}", claims.namespace, claims.name))
    }

    /// `POST …/serviceaccounts/<name>/token` (`kubectl create token`).
    fn token_request(&self, ns: &str, name: &str, body: Value) -> Result<Value, ApiError> {
        let sa = self
            .store
            .txn()
            .get("/serviceaccounts", ns, name)
            .ok_or_else(|| ApiError::not_found("", "serviceaccounts", name))?;
        let secs = body
            .pointer("/spec/expirationSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(3600);
        if secs < 600 {
            return Err(ApiError::invalid(
                "TokenRequest",
                "authentication.k8s.io",
                "serviceaccounts",
                name,
                &[(
                    "spec.expirationSeconds".into(),
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {secs}: may not specify a duration less than 10 minutes"
                    ),
                )],
            ));
        }
        let now = chrono::Utc::now();
        let exp = now.timestamp() + secs;
        let claims = crate::tokens::Claims {
            namespace: ns.to_string(),
            name: name.to_string(),
            uid: sa
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            exp,
        };
        let token = crate::tokens::issue(&self.token, &claims);
        let expires = chrono::DateTime::from_timestamp(exp, 0)
            .unwrap_or(now)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let audiences = body
            .pointer("/spec/audiences")
            .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
            .cloned()
            .unwrap_or(json!(["https://kubernetes.default.svc.cluster.local"]));
        Ok(
            json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": now.format("%Y-%m-%dT%H:%M:%SZ").to_string()},
            "spec": {"audiences": audiences, "expirationSeconds": secs, "boundObjectRef": body.pointer("/spec/boundObjectRef").cloned().unwrap_or(Value::Null)},
            "status": {"token": token, "expirationTimestamp": expires}}),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_namespace_pending(t: &ResourceType, obj: &Value) -> bool {
    t.key() == "/namespaces"
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

/// The object's `metadata.finalizers`.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether two versions of an object are equal but for `resourceVersion` and the times of
/// their `managedFields` entries (a no-op write), compared without copying either.
fn same_but_rv(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    if a.len() != b.len() {
        return false;
    }
    a.iter().all(|(k, av)| {
        let Some(bv) = b.get(k) else { return false };
        if k != "metadata" {
            return av == bv;
        }
        let (Some(am), Some(bm)) = (av.as_object(), bv.as_object()) else {
            return av == bv;
        };
        let skip = |k: &str| k == "resourceVersion";
        let count = |m: &serde_json::Map<String, Value>| m.keys().filter(|k| !skip(k)).count();
        count(am) == count(bm)
            && am.iter().filter(|(k, _)| !skip(k)).all(|(k, av)| {
                let Some(bv) = bm.get(k) else { return false };
                if k != "managedFields" {
                    return av == bv;
                }
                match (av.as_array(), bv.as_array()) {
                    (Some(x), Some(y)) => {
                        x.len() == y.len()
                            && x.iter().zip(y).all(|(e, f)| same_except(e, f, "time"))
                    }
                    _ => av == bv,
                }
            })
    })
}

/// Whether two objects are equal but for key `skip`.
fn same_except(a: &Value, b: &Value, skip: &str) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => {
            x.keys().filter(|k| *k != skip).count() == y.keys().filter(|k| *k != skip).count()
                && x.iter()
                    .filter(|(k, _)| *k != skip)
                    .all(|(k, v)| y.get(k) == Some(v))
        }
        _ => a == b,
    }
}

fn spec_changed(old: &Value, new: &Value, status_sub: bool) -> bool {
    let ignored =
        |k: &str| matches!(k, "metadata" | "apiVersion" | "kind") || (status_sub && k == "status");
    match (old.as_object(), new.as_object()) {
        (Some(o), Some(n)) => {
            o.keys().filter(|k| !ignored(k)).count() != n.keys().filter(|k| !ignored(k)).count()
                || o.iter()
                    .filter(|(k, _)| !ignored(k))
                    .any(|(k, v)| n.get(k) != Some(v))
        }
        _ => old != new,
    }
}

fn normalize_meta(obj: &mut Value) {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
}

fn validate_name(t: &ResourceType, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == ':'
        })
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &t.kind,
            &t.group,
            &t.plural,
            name,
            &[(
                "metadata.name".into(),
                "FieldValueInvalid",
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            )],
        ))
    }
}

/// Random suffix from the Kubernetes alphabet.
pub fn random_suffix(n: usize) -> String {
    use rand::Rng;
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = rand::rng();
    (0..n)
        .map(|_| ALPHA[r.random_range(0..ALPHA.len())] as char)
        .collect()
}

fn to_storage_version(t: &ResourceType, obj: Value) -> Value {
    match &t.crd {
        Some(crd) => crd_convert(t, &crd.storage_version, obj),
        None => obj,
    }
}

/// CRD conversion with `strategy: None`: the apiVersion is rewritten, then the object is
/// pruned and defaulted with the target version's schema (as kube-apiserver's
/// schema-coercing converter does); an object already at `version` is returned as is.
fn crd_convert(t: &ResourceType, version: &str, mut obj: Value) -> Value {
    let target = crate::registry::gv(&t.group, version);
    if obj.get("apiVersion").and_then(Value::as_str) == Some(target.as_str()) {
        return obj;
    }
    obj["apiVersion"] = json!(target);
    if let Some(schema) = t
        .crd
        .as_ref()
        .and_then(|c| c.versions.iter().find(|v| v.name == version))
        .and_then(|v| v.schema.as_ref())
    {
        // Stored objects were valid when written; the target schema only prunes/defaults.
        let (mut errors, mut unknown) = (Vec::new(), Vec::new());
        crate::defaults::validate(&mut obj, schema, "", &mut errors, &mut unknown, true);
    }
    obj
}

/// A request at `version` of a CRD converted by a webhook that ferry cannot call.
fn check_conversion(t: &ResourceType, version: &str) -> Result<(), ApiError> {
    match &t.crd {
        Some(crd) if crd.webhook_conversion && crd.storage_version != version => {
            Err(ApiError::internal(format!(
                "conversion webhook for {}, Kind={} failed: ferry cannot call conversion webhooks (spec.conversion.strategy: Webhook); use the storage version {}",
                crate::registry::gv(&t.group, version),
                t.kind,
                crate::registry::gv(&t.group, &crd.storage_version),
            )))
        }
        _ => Ok(()),
    }
}

/// Whether a stored object is served at `version` exactly as stored (no conversion).
fn stored_form_served(t: &ResourceType, version: &str, obj: &Value) -> bool {
    if t.crd.is_some() {
        obj.get("apiVersion").and_then(Value::as_str)
            == Some(crate::registry::gv(&t.group, version).as_str())
    } else {
        !crate::convert::needed(t, version)
    }
}

fn with_version(t: &ResourceType, version: &str, obj: Value) -> Value {
    if t.crd.is_some() {
        return crd_convert(t, version, obj);
    } else if crate::convert::needed(t, version) {
        return crate::convert::from_storage(t, version, obj);
    }
    obj
}

/// A built-in object written through a non-storage version, converted to storage first
/// (defaulting, pruning and SSA work on the storage schema).
fn builtin_to_storage<'a>(t: &'a ResourceType, version: &'a str, obj: Value) -> (Value, &'a str) {
    if crate::convert::needed(t, version) {
        let storage = t.versions.first().map_or(version, String::as_str);
        (crate::convert::to_storage(t, version, obj), storage)
    } else {
        (obj, version)
    }
}

/// Reads a `.a.b` path.
pub fn get_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    obj.pointer(&path.replace('.', "/"))
}

/// Writes a `.a.b` path, creating objects on the way.
pub fn set_path(obj: &mut Value, path: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        if i == parts.len() - 1 {
            cur[*p] = value;
            return;
        }
        cur = &mut cur[*p];
    }
}

fn parse_yaml_or_json(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    serde_yaml_ng::from_slice::<Value>(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

// ------------------------------------------------------------------------------------------
// HTTP layer

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn respond(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    respond(code, "application/json", v.to_string())
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

fn decode_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(x) => {
                        out.push(x);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parsed request context.
struct Ctx {
    method: Method,
    query: HashMap<String, String>,
    accept: String,
    content_type: String,
    body: Bytes,
    user_agent: String,
    /// Authenticated user name.
    user: String,
}

impl Ctx {
    fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }
    fn wants_table(&self) -> bool {
        self.accept.contains("as=Table")
    }
    fn write_opts(&self, default_manager: &str) -> Result<WriteOpts, ApiError> {
        let dry_run = match self.q("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unsupported dryRun value {other:?}: only All is supported"
                )));
            }
        };
        let validation = match self.q("fieldValidation") {
            None | Some("") | Some("Warn") => Validation::Warn,
            Some("Strict") => Validation::Strict,
            Some("Ignore") => Validation::Ignore,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid fieldValidation {other:?}"
                )));
            }
        };
        let force = match self.q("force") {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid force value {other:?}"
                )));
            }
        };
        let manager = match self.q("fieldManager") {
            Some(m) if !m.is_empty() => {
                if m.len() > 128 {
                    return Err(ApiError::bad_request(
                        "fieldManager must not be longer than 128 characters",
                    ));
                }
                m.to_string()
            }
            _ => {
                if default_manager.is_empty() {
                    String::new()
                } else {
                    let ua = self.user_agent.split('/').next().unwrap_or("").to_string();
                    if ua.is_empty() {
                        default_manager.to_string()
                    } else {
                        ua
                    }
                }
            }
        };
        Ok(WriteOpts {
            manager,
            dry_run,
            validation,
            force,
        })
    }
    fn body_object(&self) -> Result<Value, ApiError> {
        if self
            .content_type
            .starts_with("application/vnd.kubernetes.protobuf")
        {
            return crate::protobuf::decode(&self.body);
        }
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        parse_yaml_or_json(&self.body)
    }
}

/// Handles one HTTP request.
pub async fn handle(state: Arc<State>, req: hyper::Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
        return respond(200, "text/plain; charset=utf-8", "ok");
    }
    let Some(user) = state.user(&parts) else {
        return error_response(&ApiError::new(401, "Unauthorized", "Unauthorized"));
    };
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let header = |h: http::header::HeaderName| {
        parts
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let ctx = Ctx {
        method: parts.method.clone(),
        query: decode_query(parts.uri.query().unwrap_or("")),
        accept: header(http::header::ACCEPT),
        content_type: header(http::header::CONTENT_TYPE),
        body,
        user_agent: header(http::header::USER_AGENT),
        user,
    };
    tracing::debug!(method = %ctx.method, %path, "request");
    let response = match route(&state, &path, &ctx).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    // Acknowledge writes only once they are durable (group commit).
    if ctx.method != Method::GET
        && let Err(e) = state.store.sync().await
    {
        return error_response(&ApiError::internal(format!("committing: {e}")));
    }
    response
}

async fn route(state: &Arc<State>, path: &str, ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let get = ctx.method == Method::GET;
    match segs.as_slice() {
        ["version"] if get => Ok(json_response(200, &version_doc())),
        ["api"] if get => Ok(discovery_response(state, ctx, true)),
        ["apis"] if get => Ok(discovery_response(state, ctx, false)),
        ["api", "v1"] if get => crate::discovery::resource_list(&state.registry, "", "v1")
            .map(|v| json_response(200, &v))
            .ok_or_else(not_found_path),
        ["apis", g] if get => crate::discovery::api_group(&state.registry, g)
            .map(|v| json_response(200, &v))
            .ok_or_else(not_found_path),
        ["apis", g, v] if get => crate::discovery::resource_list(&state.registry, g, v)
            .map(|v| json_response(200, &v))
            .ok_or_else(not_found_path),
        // JSON only: a client accepting only the protobuf encoding
        // (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, what client-go
        // asks for) gets 406 Not Acceptable and falls back to OpenAPI v3, as kubectl does.
        ["openapi", "v2"] if get => {
            negotiate(&ctx.accept)?;
            let o = state.openapi();
            let (body, h) = o.v2();
            let mut r = respond(200, "application/json", body.clone());
            if let Ok(v) = http::HeaderValue::from_str(&format!("\"{h}\"")) {
                r.headers_mut().insert(http::header::ETAG, v);
            }
            r.headers_mut()
                .insert(http::header::VARY, http::HeaderValue::from_static("Accept"));
            Ok(r)
        }
        ["openapi", "v3"] if get => {
            let o = state.openapi();
            let paths: serde_json::Map<String, Value> = o
                .hashes
                .iter()
                .map(|(k, h)| {
                    (
                        k.clone(),
                        json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={h}")}),
                    )
                })
                .collect();
            Ok(json_response(200, &json!({"paths": paths})))
        }
        ["openapi", "v3", rest @ ..] if get => {
            let key = rest.join("/");
            let o = state.openapi();
            let doc = o.docs.get(&key).ok_or_else(not_found_path)?;
            let mut r = json_response(200, doc);
            if let Some(h) = o.hashes.get(&key)
                && let Ok(v) = http::HeaderValue::from_str(&format!("\"{h}\""))
            {
                r.headers_mut().insert(http::header::ETAG, v);
            }
            Ok(r)
        }
        ["apis", "authorization.k8s.io", "v1", review]
            if ctx.method == Method::POST && review.ends_with("accessreviews") =>
        {
            let mut obj = ctx.body_object()?;
            obj["status"] = json!({"allowed": true, "reason": "ferry: single admin user"});
            Ok(json_response(201, &obj))
        }
        ["apis", "authentication.k8s.io", "v1", "selfsubjectreviews"]
            if ctx.method == Method::POST =>
        {
            let groups = match ctx.user.strip_prefix("system:serviceaccount:") {
                Some(sa) => {
                    let ns = sa.split(':').next().unwrap_or("");
                    json!([
                        "system:serviceaccounts",
                        format!("system:serviceaccounts:{ns}"),
                        "system:authenticated"
                    ])
                }
                None => json!(["system:masters", "system:authenticated"]),
            };
            Ok(json_response(
                201,
                &json!({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": null},
                    "status": {"userInfo": {"username": ctx.user, "groups": groups}}}),
            ))
        }
        ["api", "v1", rest @ ..] => resource(state, "", "v1", rest, ctx).await,
        ["apis", g, v, rest @ ..] => resource(state, g, v, rest, ctx).await,
        _ => Err(not_found_path()),
    }
}

/// Content negotiation: responses are JSON, so the `Accept` list must admit JSON. Clients
/// preferring protobuf (`application/vnd.kubernetes.protobuf,application/json`) get JSON;
/// a client accepting protobuf (or YAML) only gets 406, as from a server without that codec.
fn negotiate(accept: &str) -> Result<(), ApiError> {
    let ok = accept.trim().is_empty()
        || accept.split(',').any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q_zero = parts.any(|p| p.replace(' ', "") == "q=0");
            !q_zero && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: application/json, application/json;stream=watch (requested {accept:?})"
            ),
        ))
    }
}

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// The `/version` document.
pub fn version_doc() -> Value {
    let minor = crate::VERSION
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .unwrap_or("0")
        .to_string();
    json!({"major": "1", "minor": minor, "emulationMajor": "1", "emulationMinor": minor, "gitVersion": crate::VERSION, "gitCommit": "ferry", "gitTreeState": "clean",
           "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"})
}

fn discovery_response(state: &State, ctx: &Ctx, core: bool) -> Response<Body> {
    if ctx
        .accept
        .contains("g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    {
        let doc = crate::discovery::aggregated(&state.registry, core);
        return respond(200, DISCOVERY_CT, doc.to_string());
    }
    if core {
        json_response(
            200,
            &crate::discovery::api_versions(&state.addr.to_string()),
        )
    } else {
        json_response(200, &crate::discovery::api_group_list(&state.registry))
    }
}

async fn resource(
    state: &Arc<State>,
    group: &str,
    version: &str,
    rest: &[&str],
    ctx: &Ctx,
) -> Result<Response<Body>, ApiError> {
    let (ns, tail): (Option<&str>, &[&str]) = match rest {
        ["namespaces", ns, r, ..] if *r != "status" && *r != "finalize" => (Some(ns), &rest[2..]),
        _ => (None, rest),
    };
    let (plural, name, sub) = match tail {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return Err(not_found_path()),
    };
    if sub != Some("log") {
        negotiate(&ctx.accept)?;
    }
    let t = state
        .registry
        .lookup(group, version, plural)
        .ok_or_else(not_found_path)?;
    if !t.namespaced && ns.is_some() {
        return Err(not_found_path());
    }
    if t.namespaced && ns.is_none() && name.is_some() {
        return Err(not_found_path());
    }
    check_conversion(&t, version)?;
    if let Some(s) = sub {
        let allowed = match s {
            "status" => t.status || t.crd_version(version).is_some_and(|v| v.status),
            "scale" => {
                t.scale.is_some() || t.crd_version(version).is_some_and(|v| v.scale.is_some())
            }
            "finalize" => t.key() == "/namespaces",
            "log" => t.key() == "/pods",
            "token" => t.key() == "/serviceaccounts" && ctx.method == Method::POST,
            _ => false,
        };
        if !allowed {
            return Err(not_found_path());
        }
    }
    let m = &ctx.method;
    if let (Some(name), Some("token")) = (name, sub) {
        let out = state.token_request(ns.unwrap_or(""), name, ctx.body_object()?)?;
        return Ok(json_response(201, &out));
    }
    match (name, m) {
        (None, &Method::GET) => {
            if matches!(ctx.q("watch"), Some("true") | Some("1")) {
                watch(state.clone(), t, version, ns, ctx)
            } else {
                list_response(state, &t, version, ns, ctx)
            }
        }
        (None, &Method::POST) => {
            let ns = if t.namespaced {
                Some(ns.ok_or_else(not_found_path)?)
            } else {
                None
            };
            let opts = ctx.write_opts("kubectl")?;
            let obj = ctx.body_object()?;
            let out = state.create(&t, version, ns, obj, &opts)?;
            Ok(object_response(201, &t, version, out, ctx))
        }
        (None, &Method::DELETE) => {
            let labels = LabelSelector::parse(ctx.q("labelSelector").unwrap_or(""))?;
            let fields = FieldSelector::parse(ctx.q("fieldSelector").unwrap_or(""), &t.key())?;
            let opts = delete_options(ctx)?;
            let dry = ctx.write_opts("")?.dry_run;
            let (items, _) = state.list(&t, ns, &labels, &fields);
            let mut out = Vec::new();
            for it in items {
                let n = it["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let ins = it["metadata"]["namespace"].as_str().map(String::from);
                match state.delete(&t, ins.as_deref(), &n, &opts, dry) {
                    Ok((_, _)) => out.push((*it).clone()),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let list = json!({"kind": format!("{}List", t.kind), "apiVersion": crate::registry::gv(&t.group, version), "metadata": {"resourceVersion": state.store.revision().to_string()}, "items": out});
            Ok(json_response(200, &list))
        }
        (Some(name), &Method::GET) => {
            let txn = state.store.txn();
            let obj = txn
                .get(&t.key(), ns.unwrap_or(""), name)
                .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
            drop(txn);
            if sub == Some("scale") {
                return Ok(json_response(200, &state.scale_of(&t, &obj)?));
            }
            if sub == Some("log") {
                return Ok(respond(
                    200,
                    "text/plain",
                    simulated_log(&obj, ctx.q("container")),
                ));
            }
            Ok(object_response(200, &t, version, obj, ctx))
        }
        (Some(name), &Method::PUT) => {
            let opts = ctx.write_opts("kubectl")?;
            let obj = ctx.body_object()?;
            let out = match sub {
                Some("scale") => {
                    let replicas = obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
                    let mut txn = state.store.txn();
                    let old = txn
                        .get(&t.key(), ns.unwrap_or(""), name)
                        .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
                    let mut n = (*old).clone();
                    set_path(
                        &mut n,
                        &state.scale_paths(&t, version).spec_replicas,
                        replicas,
                    );
                    if let Some(rv) = obj.pointer("/metadata/resourceVersion") {
                        n["metadata"]["resourceVersion"] = rv.clone();
                    }
                    let out = state.update_locked(
                        &mut txn,
                        &t,
                        version,
                        ns.unwrap_or(""),
                        name,
                        None,
                        &old,
                        n,
                        &opts,
                        "Update",
                    )?;
                    return Ok(json_response(200, &state.scale_of(&t, &out)?));
                }
                Some("finalize") => {
                    let mut txn = state.store.txn();
                    let old = txn
                        .get(&t.key(), "", name)
                        .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
                    let mut n = (*old).clone();
                    n["spec"]["finalizers"] = obj
                        .pointer("/spec/finalizers")
                        .cloned()
                        .unwrap_or(json!([]));
                    state.update_locked(
                        &mut txn, &t, version, "", name, None, &old, n, &opts, "Update",
                    )?
                }
                _ => state.update(&t, version, ns, name, sub, obj, &opts)?,
            };
            Ok(object_response(200, &t, version, out, ctx))
        }
        (Some(name), &Method::PATCH) => {
            let is_apply = ctx.content_type.starts_with("application/apply-patch");
            let opts = ctx.write_opts(if is_apply { "" } else { "kubectl" })?;
            if ctx.q("force").is_some() && !is_apply {
                return Err(ApiError::bad_request(
                    "force is only allowed for apply patches",
                ));
            }
            let (out, created) = state.patch(
                &t,
                version,
                ns,
                name,
                sub,
                &ctx.content_type,
                &ctx.body,
                &opts,
            )?;
            if out.get("kind").and_then(Value::as_str) == Some("Scale") {
                return Ok(json_response(200, &out));
            }
            Ok(object_response(
                if created { 201 } else { 200 },
                &t,
                version,
                out,
                ctx,
            ))
        }
        (Some(name), &Method::DELETE) => {
            let opts = delete_options(ctx)?;
            let dry = ctx.write_opts("")?.dry_run
                || opts
                    .get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v == "All"));
            let (out, _gone) = state.delete(&t, ns, name, &opts, dry)?;
            if out.get("kind").and_then(Value::as_str) == Some("Status") {
                return Ok(json_response(200, &out));
            }
            Ok(object_response(200, &t, version, Arc::new(out), ctx))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The log of a simulated container: what the fake kubelet did.
fn simulated_log(pod: &Value, container: Option<&str>) -> String {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = String::new();
    for c in containers
        .iter()
        .filter(|c| container.is_none_or(|n| c["name"] == n))
    {
        let name = c["name"].as_str().unwrap_or_default();
        let image = c["image"].as_str().unwrap_or_default();
        out.push_str(&format!(
            "ferry: simulated container {name} (image {image})\n"
        ));
        if let Some(st) = statuses.iter().find(|s| s["name"] == name) {
            if let Some(w) = st.pointer("/state/waiting/reason").and_then(Value::as_str) {
                out.push_str(&format!("ferry: container is waiting: {w}\n"));
            } else if let Some(t) = st
                .pointer("/state/running/startedAt")
                .and_then(Value::as_str)
            {
                out.push_str(&format!("ferry: container running since {t}\n"));
            } else if let Some(r) = st
                .pointer("/state/terminated/reason")
                .and_then(Value::as_str)
            {
                out.push_str(&format!("ferry: container terminated: {r}\n"));
            }
        }
    }
    out
}

fn delete_options(ctx: &Ctx) -> Result<Value, ApiError> {
    let mut opts = if ctx.body.is_empty() {
        json!({})
    } else {
        ctx.body_object()?
    };
    if let Some(p) = ctx.q("propagationPolicy") {
        opts["propagationPolicy"] = json!(p);
    }
    if let Some(o) = ctx.q("orphanDependents") {
        opts["orphanDependents"] = json!(o == "true");
    }
    Ok(opts)
}

fn object_response(
    code: u16,
    t: &ResourceType,
    version: &str,
    obj: Arc<Value>,
    ctx: &Ctx,
) -> Response<Body> {
    let obj = if stored_form_served(t, version, &obj) {
        obj
    } else {
        Arc::new(with_version(t, version, Arc::unwrap_or_clone(obj)))
    };
    let warning = if ctx.method == Method::GET {
        None
    } else {
        cel_warning_for(t, version, &obj)
    };
    let mut resp = object_response_inner(code, t, version, obj, ctx);
    if let Some(w) = warning
        && let Ok(v) = http::HeaderValue::from_str(&format!("299 - {:?}", w))
    {
        resp.headers_mut().append(http::header::WARNING, v);
    }
    resp
}

/// The Warning for writes of CRDs (and their custom resources) with CEL rules.
fn cel_warning_for(t: &ResourceType, version: &str, obj: &Value) -> Option<String> {
    let mut rules = Vec::new();
    if t.key() == "apiextensions.k8s.io/customresourcedefinitions" {
        for v in obj
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
                let name = v.get("name").and_then(Value::as_str).unwrap_or("");
                crate::defaults::cel_rule_paths(schema, &format!("{name}:"), &mut rules);
            }
        }
    } else if let Some(schema) = t.crd_version(version).and_then(|v| v.schema.as_ref()) {
        crate::defaults::cel_rule_paths(schema, &format!("{version}:"), &mut rules);
    }
    crate::defaults::cel_warning(&rules)
}

fn object_response_inner(
    code: u16,
    t: &ResourceType,
    version: &str,
    obj: Arc<Value>,
    ctx: &Ctx,
) -> Response<Body> {
    if ctx.wants_table() {
        let rv = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let table = crate::table::table(t, version, &[obj], &rv);
        return respond(code, TABLE_CT, table.to_string());
    }
    json_response(code, &obj)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    start: String,
    /// The snapshot this list is paged from.
    #[serde(default)]
    id: u64,
}

fn list_response(
    state: &State,
    t: &ResourceType,
    version: &str,
    ns: Option<&str>,
    ctx: &Ctx,
) -> Result<Response<Body>, ApiError> {
    use base64::Engine;
    let labels = LabelSelector::parse(ctx.q("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.q("fieldSelector").unwrap_or(""), &t.key())?;
    if ctx.q("resourceVersionMatch") == Some("Exact") {
        let want = ctx.q("resourceVersion").and_then(|r| r.parse::<u64>().ok());
        if want != Some(state.store.revision()) {
            return Err(ApiError::gone(format!(
                "too old resource version: {}",
                ctx.q("resourceVersion").unwrap_or("")
            )));
        }
    }
    let scope = format!(
        "{}|{}|{}|{}",
        t.key(),
        ns.unwrap_or(""),
        ctx.q("labelSelector").unwrap_or(""),
        ctx.q("fieldSelector").unwrap_or("")
    );
    let ttl = state.config.list_snapshot_ttl;
    let (mut items, rv, snapshot_id) = match ctx.q("continue").filter(|c| !c.is_empty()) {
        Some(c) => {
            let tok: ContinueToken = base64::engine::general_purpose::STANDARD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            let pages = lock_pages(&state.pages);
            let snap = pages
                .snapshots
                .get(&tok.id)
                .filter(|s| s.taken.elapsed() <= ttl && s.rv == tok.rv)
                .ok_or_else(|| {
                    ApiError::gone(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    )
                })?;
            if snap.scope != scope {
                return Err(ApiError::bad_request(
                    "continue token does not match the list request (resource, namespace or selectors differ)",
                ));
            }
            let items: Vec<Arc<Value>> = snap
                .items
                .iter()
                .filter(|o| item_key(o) > tok.start)
                .cloned()
                .collect();
            (items, tok.rv, Some(tok.id))
        }
        None => {
            let (items, rv) = state.list(t, ns, &labels, &fields);
            (items, rv, None)
        }
    };
    let mut cont = String::new();
    let mut remaining: Option<usize> = None;
    if let Some(limit) = ctx
        .q("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        && items.len() > limit
    {
        let id = match snapshot_id {
            Some(id) => id,
            None => {
                let mut pages = lock_pages(&state.pages);
                pages.snapshots.retain(|_, s| s.taken.elapsed() <= ttl);
                while pages.snapshots.len() >= MAX_SNAPSHOTS {
                    let oldest = pages
                        .snapshots
                        .iter()
                        .min_by_key(|(_, s)| s.taken)
                        .map(|(id, _)| *id);
                    match oldest {
                        Some(id) => pages.snapshots.remove(&id),
                        None => break,
                    };
                }
                pages.next += 1;
                let id = pages.next;
                pages.snapshots.insert(
                    id,
                    Snapshot {
                        scope: scope.clone(),
                        rv,
                        taken: std::time::Instant::now(),
                        items: items[limit..].to_vec(),
                    },
                );
                id
            }
        };
        let rest = items.len() - limit;
        items.truncate(limit);
        let last = items.last().map(|o| item_key(o)).unwrap_or_default();
        let tok = serde_json::to_vec(&ContinueToken {
            rv,
            start: last,
            id,
        })
        .unwrap_or_default();
        cont = base64::engine::general_purpose::STANDARD.encode(tok);
        remaining = Some(rest);
    } else if let Some(id) = snapshot_id {
        // Last page: the snapshot is no longer needed.
        lock_pages(&state.pages).snapshots.remove(&id);
    }
    let rv_s = rv.to_string();
    if ctx.wants_table() {
        let mut table = crate::table::table(t, version, &items, &rv_s);
        if !cont.is_empty() {
            table["metadata"]["continue"] = json!(cont);
        }
        return Ok(respond(200, TABLE_CT, table.to_string()));
    }
    // Items are serialized from the shared snapshots (copied only when converted).
    let converted: Vec<Value>;
    let refs: Vec<&Value> = if items.iter().all(|o| stored_form_served(t, version, o)) {
        items.iter().map(|o| &**o).collect()
    } else {
        converted = items
            .iter()
            .map(|o| with_version(t, version, (**o).clone()))
            .collect();
        converted.iter().collect()
    };
    let mut meta = json!({"resourceVersion": rv_s});
    if !cont.is_empty() {
        meta["continue"] = json!(cont);
        meta["remainingItemCount"] = json!(remaining);
    }
    #[derive(serde::Serialize)]
    struct List<'a> {
        #[serde(rename = "apiVersion")]
        api_version: String,
        items: Vec<&'a Value>,
        kind: String,
        metadata: Value,
    }
    let list = List {
        api_version: crate::registry::gv(&t.group, version),
        items: refs,
        kind: format!("{}List", t.kind),
        metadata: meta,
    };
    match serde_json::to_vec(&list) {
        Ok(body) => Ok(respond(200, "application/json", body)),
        Err(e) => Err(ApiError::internal(format!("encoding the list: {e}"))),
    }
}

fn lock_pages(p: &Mutex<Pages>) -> std::sync::MutexGuard<'_, Pages> {
    match p.lock() {
        Ok(g) => g,
        Err(e) => e.into_inner(),
    }
}

fn item_key(o: &Value) -> String {
    format!(
        "{}/{}",
        o.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        o.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}

fn watch(
    state: Arc<State>,
    t: Arc<ResourceType>,
    version: &str,
    ns: Option<&str>,
    ctx: &Ctx,
) -> Result<Response<Body>, ApiError> {
    let labels = LabelSelector::parse(ctx.q("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.q("fieldSelector").unwrap_or(""), &t.key())?;
    let send_initial = ctx.q("sendInitialEvents") == Some("true");
    let bookmarks = ctx.q("allowWatchBookmarks") == Some("true");
    if send_initial && (ctx.q("resourceVersionMatch") != Some("NotOlderThan") || !bookmarks) {
        return Err(ApiError::new(
            422,
            "Invalid",
            "sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true",
        ));
    }
    let rv_param = ctx.q("resourceVersion").filter(|s| !s.is_empty());
    let timeout = ctx
        .q("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let table = ctx.wants_table();
    let ns = ns.map(String::from);
    let version = version.to_string();
    let key = t.key();
    let matches = {
        let labels = labels.clone();
        let fields = fields.clone();
        let ns = ns.clone();
        move |o: &Value| {
            labels.matches_object(o)
                && fields.matches(o)
                && ns.as_deref().is_none_or(|n| {
                    o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n)
                })
        }
    };
    // Under the store lock: take the initial state or the replay, and subscribe with no gap.
    let (initial, replay, mut rx, start_rv, err) = {
        let txn = state.store.txn();
        let rx = txn.subscribe();
        let cur = txn.revision();
        let initial_mode = send_initial || matches!(rv_param, None | Some("0"));
        if initial_mode {
            let objs: Vec<Arc<Value>> = txn
                .list(&key, ns.as_deref())
                .into_iter()
                .filter(|o| matches(o))
                .collect();
            (objs, Vec::new(), rx, cur, None)
        } else {
            let n: u64 = rv_param
                .and_then(|r| r.parse().ok())
                .ok_or_else(|| ApiError::bad_request("invalid resourceVersion"))?;
            match txn.events_since(n) {
                Ok(evs) => (Vec::new(), evs, rx, cur, None),
                Err(too_old) => (
                    Vec::new(),
                    Vec::new(),
                    rx,
                    cur,
                    Some(ApiError::gone(format!(
                        "too old resource version: {n} ({})",
                        too_old.oldest.saturating_sub(1)
                    ))),
                ),
            }
        }
    };
    let (tx, out_rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let gv = crate::registry::gv(&t.group, &version);
    let kind = t.kind.clone();
    tokio::spawn(async move {
        // An event's stored JSON is sent as is when no conversion applies: encoded once
        // (by the store) for every watcher instead of a deep copy and an encoding per watch.
        let enc_event = |ty: &str, ev: &crate::store::Event| -> Option<Bytes> {
            if table || !stored_form_served(&t, &version, &ev.object) {
                return None;
            }
            let mut line = String::with_capacity(ev.data.len() + 32);
            line.push_str("{\"type\":\"");
            line.push_str(ty);
            line.push_str("\",\"object\":");
            line.push_str(&ev.data);
            line.push_str("}\n");
            Some(Bytes::from(line))
        };
        let enc = |ty: &str, obj: &Value| -> Bytes {
            #[derive(serde::Serialize)]
            struct Line<'a> {
                object: &'a Value,
                #[serde(rename = "type")]
                ty: &'a str,
            }
            if !table
                && stored_form_served(&t, &version, obj)
                && let Ok(mut line) = serde_json::to_vec(&Line { object: obj, ty })
            {
                line.push(b'\n');
                return Bytes::from(line);
            }
            let o = if table && ty != "BOOKMARK" && ty != "ERROR" {
                crate::table::table(
                    &t,
                    &version,
                    &[Arc::new(obj.clone())],
                    obj.pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                )
            } else {
                with_version(&t, &version, obj.clone())
            };
            let mut line = json!({"type": ty, "object": o}).to_string();
            line.push('\n');
            Bytes::from(line)
        };
        if let Some(e) = err {
            let _ = tx.send(enc("ERROR", &e.to_status())).await;
            return;
        }
        for o in &initial {
            if tx.send(enc("ADDED", o)).await.is_err() {
                return;
            }
        }
        let bookmark = |rv: u64, end: bool| {
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if end {
                meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            json!({"kind": kind, "apiVersion": gv, "metadata": meta})
        };
        if send_initial
            && tx
                .send(enc("BOOKMARK", &bookmark(start_rv, true)))
                .await
                .is_err()
        {
            return;
        }
        let mut last = start_rv;
        let emit = |ev: &crate::store::Event| -> Option<Bytes> {
            if ev.resource != key {
                return None;
            }
            let now_m = matches(&ev.object);
            let was_m = ev.prev.as_ref().map(|p| matches(p));
            let ty = match ev.kind {
                EventType::Added => now_m.then_some("ADDED"),
                EventType::Deleted => (now_m || was_m == Some(true)).then_some("DELETED"),
                EventType::Modified => match (was_m, now_m) {
                    (Some(false), true) => Some("ADDED"),
                    (Some(true), false) => Some("DELETED"),
                    (_, true) => Some("MODIFIED"),
                    _ => None,
                },
            }?;
            Some(enc_event(ty, ev).unwrap_or_else(|| enc(ty, &ev.object)))
        };
        for ev in &replay {
            last = last.max(ev.rv);
            if let Some(line) = emit(ev)
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                _ = tick.tick(), if bookmarks => {
                    if tx.send(enc("BOOKMARK", &bookmark(last, false))).await.is_err() { return; }
                }
                ev = rx.recv() => {
                    match ev {
                        Ok(ev) => {
                            if ev.rv <= last { continue; }
                            last = ev.rv;
                            if let Some(line) = emit(&ev)
                                && tx.send(line).await.is_err() { return; }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(_) => return,
                    }
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(out_rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let body = StreamBody::new(stream).boxed();
    let mut r = Response::new(body);
    let ct = if table { TABLE_CT } else { "application/json" };
    if let Ok(v) = http::HeaderValue::from_str(ct) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    Ok(r)
}

#[cfg(test)]
mod negotiation_tests {
    use super::negotiate;

    #[test]
    fn json_is_negotiated_for_protobuf_preferring_clients() {
        assert!(negotiate("application/vnd.kubernetes.protobuf,application/json").is_ok());
        assert!(negotiate("application/json;as=Table;v=v1;g=meta.k8s.io,application/json").is_ok());
        assert!(negotiate("application/json, */*").is_ok());
        assert!(negotiate("").is_ok());
        let e = negotiate("application/vnd.kubernetes.protobuf").unwrap_err();
        assert_eq!((e.code, e.reason), (406, "NotAcceptable"));
        assert!(negotiate("application/json;q=0").is_err());
    }
}

#[cfg(test)]
mod compare_tests {
    use super::{same_but_rv, spec_changed};
    use serde_json::json;

    #[test]
    fn no_op_writes_ignore_resource_version_and_managed_field_times() {
        let a = json!({"metadata": {"name": "a", "resourceVersion": "1",
            "managedFields": [{"manager": "m", "time": "2026-01-01T00:00:00Z", "fieldsV1": {"f:data": {}}}]},
            "data": {"x": "1"}});
        let mut b = a.clone();
        b["metadata"]["resourceVersion"] = json!("2");
        b["metadata"]["managedFields"][0]["time"] = json!("2026-01-02T00:00:00Z");
        assert!(same_but_rv(&a, &b));
        let mut c = b.clone();
        c["metadata"]["managedFields"][0]["manager"] = json!("other");
        assert!(!same_but_rv(&a, &c));
        let mut d = b.clone();
        d["data"]["x"] = json!("2");
        assert!(!same_but_rv(&a, &d));
        let mut e = b.clone();
        e["metadata"]["labels"] = json!({"l": "v"});
        assert!(!same_but_rv(&a, &e));
        let mut f = a.clone();
        f["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        assert!(same_but_rv(&a, &f));
    }

    #[test]
    fn spec_changes_ignore_metadata_and_status_subresource() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
            "spec": {"replicas": 1}, "status": {"replicas": 0}});
        let mut b = a.clone();
        b["metadata"]["labels"] = json!({"x": "y"});
        b["status"]["replicas"] = json!(1);
        assert!(!spec_changed(&a, &b, true));
        assert!(spec_changed(&a, &b, false));
        b["spec"]["replicas"] = json!(2);
        assert!(spec_changed(&a, &b, true));
        let mut c = a.clone();
        c.as_object_mut().unwrap().remove("spec");
        assert!(spec_changed(&a, &c, true));
    }
}
