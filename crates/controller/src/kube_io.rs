//! Kubernetes access for the reconciler: kind resolution (discovery, cached), listing,
//! server-side apply, deletion, and a [`SecretFetcher`] for helm-secrets keys.

use engine::object;
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, PropagationPolicy as KubePropagation,
};
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;
use sops::valuefile::SecretFetcher;
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// The field manager ferry applies with.
pub const FIELD_MANAGER: &str = "ferry";

/// A resolved kind.
#[derive(Debug, Clone)]
pub struct Kind {
    /// API resource (plural, version, …).
    pub resource: ApiResource,
    /// Whether it is namespaced.
    pub namespaced: bool,
}

/// Cluster access with a kind cache.
pub struct Kube {
    /// The client.
    pub client: Client,
    kinds: Mutex<HashMap<(String, String, String), Kind>>,
}

fn gvk_of(api_version: &str, kind: &str) -> GroupVersionKind {
    let (g, v) = object::split_api_version(api_version);
    GroupVersionKind::gvk(g, v, kind)
}

impl Kube {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Kube {
            client,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves `apiVersion` + `kind`; `None` when the cluster does not serve it (yet).
    pub async fn kind(&self, api_version: &str, kind: &str) -> Option<Kind> {
        let key = (api_version.to_string(), kind.to_string(), String::new());
        if let Ok(m) = self.kinds.lock()
            && let Some(k) = m.get(&key)
        {
            return Some(k.clone());
        }
        let gvk = gvk_of(api_version, kind);
        match pinned_kind(&self.client, &gvk).await {
            Ok((resource, caps)) => {
                let k = Kind {
                    resource,
                    namespaced: caps.scope == Scope::Namespaced,
                };
                if let Ok(mut m) = self.kinds.lock() {
                    m.insert(key, k.clone());
                }
                Some(k)
            }
            Err(e) => {
                tracing::debug!(%api_version, %kind, error = %e, "kind not served");
                None
            }
        }
    }

    fn api(&self, k: &Kind, namespace: &str) -> Api<DynamicObject> {
        if k.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &k.resource)
        } else {
            Api::all_with(self.client.clone(), &k.resource)
        }
    }

    /// Every object of a kind, in all namespaces.
    pub async fn list(&self, k: &Kind) -> Result<Vec<Value>, kube::Error> {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &k.resource);
        Self::list_with(&api, k).await
    }

    /// Every object of a namespaced kind in one namespace.
    pub async fn list_in(&self, k: &Kind, namespace: &str) -> Result<Vec<Value>, kube::Error> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &k.resource);
        Self::list_with(&api, k).await
    }

    async fn list_with(api: &Api<DynamicObject>, k: &Kind) -> Result<Vec<Value>, kube::Error> {
        let list = api.list(&ListParams::default()).await?;
        let mut out = Vec::with_capacity(list.items.len());
        for item in list.items {
            let mut v = serde_json::to_value(item).unwrap_or(Value::Null);
            // List items lack apiVersion/kind; restore them.
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    "apiVersion".into(),
                    Value::String(k.resource.api_version.clone()),
                );
                m.insert("kind".into(), Value::String(k.resource.kind.clone()));
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Gets one object (`None` when absent or its kind is not served).
    pub async fn get(&self, obj: &Value) -> Result<Option<Value>, kube::Error> {
        let Some(k) = self.kind(object::api_version(obj), object::kind(obj)).await else {
            return Ok(None);
        };
        let api = self.api(&k, object::namespace(obj));
        Ok(api
            .get_opt(object::name(obj))
            .await?
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }

    /// Server-side apply (conflicts forced) with field manager `ferry`.
    pub async fn apply(&self, obj: &Value) -> Result<Value, String> {
        let k = self
            .kind(object::api_version(obj), object::kind(obj))
            .await
            .ok_or_else(|| {
                format!(
                    "the server could not find the requested resource ({} {})",
                    object::api_version(obj),
                    object::kind(obj)
                )
            })?;
        let api = self.api(&k, object::namespace(obj));
        let mut body = obj.clone();
        if let Some(m) = body.pointer_mut("/metadata").and_then(Value::as_object_mut) {
            for f in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "managedFields",
                "generation",
            ] {
                m.remove(f);
            }
        }
        if let Some(m) = body.as_object_mut() {
            m.remove("status");
        }
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(object::name(obj), &pp, &Patch::Apply(&body))
            .await
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .map_err(|e| error_message(&e))
    }

    /// Creates an object.
    pub async fn create(&self, obj: &Value) -> Result<Value, String> {
        let k = self
            .kind(object::api_version(obj), object::kind(obj))
            .await
            .ok_or_else(|| format!("kind {} not served", object::kind(obj)))?;
        let api = self.api(&k, object::namespace(obj));
        let body: DynamicObject = serde_json::from_value(obj.clone()).map_err(|e| e.to_string())?;
        api.create(&PostParams::default(), &body)
            .await
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .map_err(|e| error_message(&e))
    }

    /// Replaces an object (PUT with the live resourceVersion).
    pub async fn replace(&self, obj: &Value, live: &Value) -> Result<Value, String> {
        let k = self
            .kind(object::api_version(obj), object::kind(obj))
            .await
            .ok_or_else(|| format!("kind {} not served", object::kind(obj)))?;
        let api = self.api(&k, object::namespace(obj));
        let mut body = obj.clone();
        if let (Some(rv), Some(m)) = (
            live.pointer("/metadata/resourceVersion").cloned(),
            body.pointer_mut("/metadata").and_then(Value::as_object_mut),
        ) {
            m.insert("resourceVersion".into(), rv);
        }
        let body: DynamicObject = serde_json::from_value(body).map_err(|e| e.to_string())?;
        api.replace(object::name(obj), &PostParams::default(), &body)
            .await
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
            .map_err(|e| error_message(&e))
    }

    /// Deletes an object (absent = success).
    pub async fn delete(
        &self,
        obj: &Value,
        policy: Option<engine::sync::options::PropagationPolicy>,
    ) -> Result<(), String> {
        let Some(k) = self.kind(object::api_version(obj), object::kind(obj)).await else {
            return Ok(());
        };
        let api = self.api(&k, object::namespace(obj));
        let dp = DeleteParams {
            propagation_policy: policy.map(|p| match p {
                engine::sync::options::PropagationPolicy::Foreground => KubePropagation::Foreground,
                engine::sync::options::PropagationPolicy::Background => KubePropagation::Background,
                engine::sync::options::PropagationPolicy::Orphan => KubePropagation::Orphan,
            }),
            ..Default::default()
        };
        match api.delete(object::name(obj), &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(error_message(&e)),
        }
    }

    /// Removes one finalizer from a live object (merge patch of the remaining list).
    pub async fn remove_finalizer(&self, live: &Value, finalizer: &str) -> Result<(), String> {
        let Some(k) = self
            .kind(object::api_version(live), object::kind(live))
            .await
        else {
            return Ok(());
        };
        let api = self.api(&k, object::namespace(live));
        let rest: Vec<&str> = object::finalizers(live)
            .into_iter()
            .filter(|f| *f != finalizer)
            .collect();
        let patch = serde_json::json!({"metadata": {"finalizers": rest}});
        match api
            .patch(
                object::name(live),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(error_message(&e)),
        }
    }
}

/// The API server's message for an error (what kubectl would print after `Error from server`).
pub fn error_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// A Secret as the controller's Secret-declared settings (clusters, repository credentials)
/// read it.
pub struct LabelledSecret {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// `metadata.labels`.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `data` decoded, with `stringData` over it (as the API server merges them).
    pub data: std::collections::BTreeMap<String, Vec<u8>>,
}

/// The Secrets of `namespace` matching the label `selector`; the error is the API server's
/// message.
pub async fn list_secrets(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<LabelledSecret>, String> {
    use k8s_openapi::api::core::v1::Secret;
    let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), namespace);
    let lp = kube::api::ListParams::default().labels(selector);
    let list = api.list(&lp).await.map_err(|e| error_message(&e))?;
    Ok(list
        .items
        .into_iter()
        .map(|s| {
            let mut data: std::collections::BTreeMap<String, Vec<u8>> = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            for (k, v) in s.string_data.unwrap_or_default() {
                data.insert(k, v.into_bytes());
            }
            LabelledSecret {
                name: s.metadata.name.unwrap_or_default(),
                resource_version: s.metadata.resource_version.unwrap_or_default(),
                labels: s.metadata.labels.unwrap_or_default(),
                data,
            }
        })
        .collect())
}

/// A [`SecretFetcher`] reading Secrets through the controller's client. It blocks on the
/// runtime, so it must be called from a blocking thread (`spawn_blocking`).
pub struct KubeSecrets {
    /// The client.
    pub client: Client,
    /// Namespace when a reference has none.
    pub default_namespace: String,
    /// Runtime handle.
    pub handle: tokio::runtime::Handle,
}

impl SecretFetcher for KubeSecrets {
    fn fetch(
        &self,
        namespace: Option<&str>,
        name: &str,
        key: &str,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let ns = namespace.unwrap_or(&self.default_namespace);
        let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = self
            .handle
            .block_on(api.get_opt(name))
            .map_err(|e| format!("reading Secret {ns}/{name}: {}", error_message(&e)))?
            .ok_or_else(|| format!("Secret {ns}/{name} not found"))?;
        let data = secret
            .data
            .and_then(|mut d| d.remove(key))
            .map(|b| b.0)
            .or_else(|| {
                secret
                    .string_data
                    .and_then(|mut d| d.remove(key))
                    .map(String::into_bytes)
            })
            .ok_or_else(|| format!("Secret {ns}/{name} has no key {key}"))?;
        Ok(Zeroizing::new(data))
    }
}

/// A client from a kubeconfig file, or the default resolution (`KUBECONFIG`, `~/.kube/config`,
/// in-cluster) when `path` is `None`.
pub async fn client_from_kubeconfig(path: Option<&std::path::Path>) -> Result<Client, String> {
    match path {
        Some(p) => {
            let kc = kube::config::Kubeconfig::read_from(p)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            let cfg = kube::Config::from_custom_kubeconfig(
                kc,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .map_err(|e| format!("{}: {e}", p.display()))?;
            Client::try_from(cfg).map_err(|e| e.to_string())
        }
        None => Client::try_default().await.map_err(|e| e.to_string()),
    }
}
