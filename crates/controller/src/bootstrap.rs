//! Bootstrapping a repository laid out like `examples/demo`: the bootstrap Application from
//! `deployment/kubernetes/entrypoint.yaml` (envsubst of `ENV`, `REPO_URL`,
//! `TARGET_REVISION`), the control-plane namespace and the `sops-age` key Secret.

use crate::kube_io::{Kube, error_message};
use serde_json::{Value, json};

/// Substitutes `${NAME}` / `$NAME` from `vars` (unknown names become empty, as envsubst).
pub fn envsubst(text: &str, vars: &[(&str, &str)]) -> String {
    let env: std::collections::BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    crate::valuefiles::substitute_env(text, &env)
}

/// Parses the bootstrap Application of an entrypoint file after substitution.
pub fn entrypoint_application(
    text: &str,
    env: &str,
    repo_url: &str,
    target_revision: &str,
) -> Result<Vec<Value>, String> {
    let text = envsubst(
        text,
        &[
            ("ENV", env),
            ("REPO_URL", repo_url),
            ("TARGET_REVISION", target_revision),
        ],
    );
    crate::source::parse_manifests("entrypoint.yaml", &text).map_err(|e| e.0)
}

/// Creates or updates objects by server-side apply.
pub async fn apply_all(kube: &Kube, objs: &[Value]) -> Result<(), String> {
    for o in objs {
        kube.apply(o)
            .await
            .map_err(|e| format!("applying {}: {e}", engine::object::ResourceKey::of(o)))?;
    }
    Ok(())
}

/// Ensures a namespace exists.
pub async fn ensure_namespace(kube: &Kube, name: &str) -> Result<(), String> {
    apply_all(
        kube,
        &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})],
    )
    .await
}

/// Creates or updates an Opaque Secret with one key (bytes are base64-encoded here).
pub async fn ensure_secret(
    kube: &Kube,
    namespace: &str,
    name: &str,
    key: &str,
    data: &[u8],
) -> Result<(), String> {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    let api: kube::Api<Secret> = kube::Api::namespaced(kube.client.clone(), namespace);
    let mut s = Secret::default();
    s.metadata.name = Some(name.to_string());
    s.metadata.namespace = Some(namespace.to_string());
    s.data = Some(
        [(key.to_string(), ByteString(data.to_vec()))]
            .into_iter()
            .collect(),
    );
    let pp = kube::api::PatchParams::apply(crate::kube_io::FIELD_MANAGER).force();
    let mut v = serde_json::to_value(&s).map_err(|e| e.to_string())?;
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Secret");
    api.patch(name, &pp, &kube::api::Patch::Apply(&v))
        .await
        .map(|_| ())
        .map_err(|e| format!("Secret {namespace}/{name}: {}", error_message(&e)))
}
