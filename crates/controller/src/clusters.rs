//! Destination clusters from Argo CD cluster Secrets.
//!
//! A Secret in the control-plane namespace labelled `argocd.argoproj.io/secret-type: cluster`
//! declares a cluster: `data.name`, `data.server` and `data.config`, a JSON document with
//! `bearerToken`, `username`/`password` and `tlsClientConfig {insecure, caData, certData,
//! keyData, serverName}` (the `*Data` fields base64 PEM, as Argo CD stores them).
//! `https://kubernetes.default.svc` and the name `in-cluster` are the cluster ferry runs in,
//! unless a Secret declares them. An unknown destination is an `InvalidSpecError` with Argo CD's
//! texts ([`Resolution::message`]).
//!
//! ```
//! use controller::clusters::{ClusterSecret, resolve, Resolution};
//! use controller::application::ApplicationDestination;
//!
//! let prod = ClusterSecret { secret: "prod".into(), name: "prod".into(),
//!     server: "https://prod.example.com:6443".into(), config: Default::default() };
//! let dest = ApplicationDestination { name: Some("prod".into()), ..Default::default() };
//! assert!(matches!(resolve(&dest, &[prod]), Resolution::Remote(c) if c.secret == "prod"));
//! let dest = ApplicationDestination { server: Some("https://nowhere".into()), ..Default::default() };
//! assert_eq!(resolve(&dest, &[]).message().as_deref(),
//!     Some("cluster 'https://nowhere' has not been configured"));
//! ```

use crate::application::{ApplicationDestination, IN_CLUSTER_NAME, IN_CLUSTER_SERVER};
use crate::kube_io::Kube;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Label of cluster Secrets.
pub const LABEL_SECRET_TYPE: &str = "argocd.argoproj.io/secret-type";

/// `tlsClientConfig` of a cluster Secret's `config`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsClientConfig {
    /// Skip server certificate verification.
    #[serde(default)]
    pub insecure: bool,
    /// Server name for SNI / verification.
    #[serde(default)]
    pub server_name: Option<String>,
    /// CA bundle (base64 PEM).
    #[serde(default)]
    pub ca_data: Option<String>,
    /// Client certificate (base64 PEM).
    #[serde(default)]
    pub cert_data: Option<String>,
    /// Client key (base64 PEM).
    #[serde(default)]
    pub key_data: Option<String>,
}

/// `config` of a cluster Secret.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Bearer token.
    #[serde(default)]
    pub bearer_token: Option<String>,
    /// Basic auth user.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth password.
    #[serde(default)]
    pub password: Option<String>,
    /// TLS settings.
    #[serde(default)]
    pub tls_client_config: TlsClientConfig,
}

/// One declared cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSecret {
    /// Name of the Secret.
    pub secret: String,
    /// `data.name` (defaults to the server URL, as in Argo CD).
    pub name: String,
    /// `data.server`.
    pub server: String,
    /// `data.config`.
    pub config: ClusterConfig,
}

/// Cluster-Secret errors (named after the Secret and field).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A field is missing or malformed.
    #[error("cluster secret {secret}: {field}: {message}")]
    Field {
        /// Secret name.
        secret: String,
        /// Field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The client could not be built.
    #[error("cluster {server}: {message}")]
    Client {
        /// Server URL.
        server: String,
        /// What failed.
        message: String,
    },
    /// Listing the Secrets failed.
    #[error("listing cluster secrets: {0}")]
    List(String),
}

impl ClusterSecret {
    /// Reads a cluster Secret's `data` (decoded bytes).
    pub fn from_data(
        secret: &str,
        data: &std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<ClusterSecret, ClusterError> {
        let field = |k: &str| -> Result<Option<String>, ClusterError> {
            data.get(k)
                .map(|b| {
                    String::from_utf8(b.clone()).map_err(|_| ClusterError::Field {
                        secret: secret.into(),
                        field: format!("data.{k}"),
                        message: "not UTF-8".into(),
                    })
                })
                .transpose()
        };
        let server =
            field("server")?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ClusterError::Field {
                    secret: secret.into(),
                    field: "data.server".into(),
                    message: "missing".into(),
                })?;
        let name = field("name")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| server.clone());
        let config = match field("config")? {
            Some(c) if !c.trim().is_empty() => {
                serde_json::from_str(&c).map_err(|e| ClusterError::Field {
                    secret: secret.into(),
                    field: "data.config".into(),
                    message: e.to_string(),
                })?
            }
            _ => ClusterConfig::default(),
        };
        Ok(ClusterSecret {
            secret: secret.into(),
            name,
            server,
            config,
        })
    }

    /// A client for this cluster.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        use kube::config::{
            AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
            NamedContext,
        };
        let tls = &self.config.tls_client_config;
        let kc = Kubeconfig {
            clusters: vec![NamedCluster {
                name: "c".into(),
                cluster: Some(Cluster {
                    server: Some(self.server.clone()),
                    insecure_skip_tls_verify: Some(tls.insecure),
                    certificate_authority_data: tls.ca_data.clone(),
                    tls_server_name: tls.server_name.clone(),
                    ..Default::default()
                }),
                other: Default::default(),
            }],
            auth_infos: vec![NamedAuthInfo {
                name: "u".into(),
                auth_info: Some(AuthInfo {
                    token: self.config.bearer_token.clone().map(Into::into),
                    username: self.config.username.clone(),
                    password: self.config.password.clone().map(Into::into),
                    client_certificate_data: tls.cert_data.clone(),
                    client_key_data: tls.key_data.clone().map(Into::into),
                    ..Default::default()
                }),
                other: Default::default(),
            }],
            contexts: vec![NamedContext {
                name: "ctx".into(),
                context: Some(Context {
                    cluster: "c".into(),
                    user: Some("u".into()),
                    ..Default::default()
                }),
                other: Default::default(),
            }],
            current_context: Some("ctx".into()),
            ..Default::default()
        };
        let err = |m: String| ClusterError::Client {
            server: self.server.clone(),
            message: m,
        };
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| err(e.to_string()))?;
        kube::Client::try_from(cfg).map_err(|e| err(e.to_string()))
    }
}

/// Where an app's destination points.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The cluster ferry runs in.
    InCluster,
    /// A declared cluster.
    Remote(Box<ClusterSecret>),
    /// No cluster has this URL.
    UnknownServer(String),
    /// No cluster has this name.
    UnknownName(String),
    /// Several clusters have this name.
    AmbiguousName(String, usize),
}

impl Resolution {
    /// The `InvalidSpecError` message for an unresolvable destination (Argo CD's wording).
    pub fn message(&self) -> Option<String> {
        match self {
            Resolution::InCluster | Resolution::Remote(_) => None,
            Resolution::UnknownServer(s) => Some(format!("cluster '{s}' has not been configured")),
            Resolution::UnknownName(n) => Some(format!(
                "unable to find destination server: there are no clusters with this name: {n}"
            )),
            Resolution::AmbiguousName(n, count) => Some(format!(
                "unable to find destination server: there are {count} clusters with the same name: {n}"
            )),
        }
    }
}

/// Resolves a destination against the declared clusters.
pub fn resolve(dest: &ApplicationDestination, clusters: &[ClusterSecret]) -> Resolution {
    let norm = |s: &str| s.trim_end_matches('/').to_string();
    if let Some(server) = dest.server.as_deref().filter(|s| !s.is_empty()) {
        let server = norm(server);
        if let Some(c) = clusters.iter().find(|c| norm(&c.server) == server) {
            if server == IN_CLUSTER_SERVER {
                return Resolution::InCluster;
            }
            return Resolution::Remote(Box::new(c.clone()));
        }
        if server == IN_CLUSTER_SERVER {
            return Resolution::InCluster;
        }
        return Resolution::UnknownServer(server);
    }
    let name = dest.name.as_deref().unwrap_or("");
    let matching: Vec<&ClusterSecret> = clusters.iter().filter(|c| c.name == name).collect();
    match matching.as_slice() {
        [] if name == IN_CLUSTER_NAME => Resolution::InCluster,
        [] => Resolution::UnknownName(name.to_string()),
        [c] if norm(&c.server) == IN_CLUSTER_SERVER => Resolution::InCluster,
        [c] => Resolution::Remote(Box::new((*c).clone())),
        many => Resolution::AmbiguousName(name.to_string(), many.len()),
    }
}

/// Cluster Secrets read from the control-plane namespace, with a client cache per Secret
/// version.
pub struct Clusters {
    client: kube::Client,
    namespace: String,
    kubes: Mutex<HashMap<String, (String, Arc<Kube>)>>,
}

impl Clusters {
    /// Reads cluster Secrets from `namespace` through `client`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Clusters {
            client,
            namespace: namespace.into(),
            kubes: Mutex::new(HashMap::new()),
        }
    }

    /// The declared clusters with the `resourceVersion` of their Secret (malformed Secrets are
    /// logged and skipped).
    pub async fn list(&self) -> Result<Vec<(ClusterSecret, String)>, ClusterError> {
        let list = crate::kube_io::list_secrets(
            &self.client,
            &self.namespace,
            &format!("{LABEL_SECRET_TYPE}=cluster"),
        )
        .await
        .map_err(ClusterError::List)?;
        let mut out = Vec::new();
        for s in list {
            match ClusterSecret::from_data(&s.name, &s.data) {
                Ok(c) => out.push((c, s.resource_version)),
                Err(e) => tracing::warn!(error = %e, "ignoring cluster secret"),
            }
        }
        Ok(out)
    }

    /// The cluster access for `dest`: `Ok(None)` for the own cluster, `Err(message)` with the
    /// `InvalidSpecError` text when the destination is unknown or its client cannot be built.
    pub async fn kube_for(
        &self,
        dest: &ApplicationDestination,
    ) -> Result<Option<Arc<Kube>>, String> {
        // The common case (the own cluster) needs no Secret lookup.
        let server = dest.server.as_deref().unwrap_or("").trim_end_matches('/');
        let name = dest.name.as_deref().unwrap_or("");
        if server == IN_CLUSTER_SERVER || (server.is_empty() && name == IN_CLUSTER_NAME) {
            return Ok(None);
        }
        let listed = self.list().await.map_err(|e| e.to_string())?;
        let secrets: Vec<ClusterSecret> = listed.iter().map(|(c, _)| c.clone()).collect();
        match resolve(dest, &secrets) {
            Resolution::InCluster => Ok(None),
            Resolution::Remote(c) => {
                let rv = listed
                    .iter()
                    .find(|(s, _)| s.secret == c.secret)
                    .map(|(_, rv)| rv.clone())
                    .unwrap_or_default();
                if let Ok(k) = self.kubes.lock()
                    && let Some((v, kube)) = k.get(&c.secret)
                    && *v == rv
                {
                    return Ok(Some(kube.clone()));
                }
                let client = c.client().await.map_err(|e| e.to_string())?;
                let kube = Arc::new(Kube::new(client));
                if let Ok(mut k) = self.kubes.lock() {
                    k.insert(c.secret.clone(), (rv, kube.clone()));
                }
                Ok(Some(kube))
            }
            other => Err(other.message().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_argo_cluster_secrets() {
        let c = ClusterSecret::from_data(
            "prod-secret",
            &data(&[
                ("name", "prod"),
                ("server", "https://prod:6443"),
                (
                    "config",
                    r#"{"bearerToken":"t0k","tlsClientConfig":{"insecure":false,"caData":"Q0E="}}"#,
                ),
            ]),
        )
        .expect("valid");
        assert_eq!(c.name, "prod");
        assert_eq!(c.config.bearer_token.as_deref(), Some("t0k"));
        assert_eq!(c.config.tls_client_config.ca_data.as_deref(), Some("Q0E="));
        let unnamed =
            ClusterSecret::from_data("s", &data(&[("server", "https://x")])).expect("valid");
        assert_eq!(unnamed.name, "https://x");
        let e = ClusterSecret::from_data("s", &data(&[("name", "x")])).unwrap_err();
        assert_eq!(e.to_string(), "cluster secret s: data.server: missing");
        let e = ClusterSecret::from_data("s", &data(&[("server", "https://x"), ("config", "{")]))
            .unwrap_err();
        assert!(
            e.to_string().starts_with("cluster secret s: data.config: "),
            "{e}"
        );
    }

    #[test]
    fn resolves_destinations_like_argo() {
        let prod = ClusterSecret {
            secret: "p".into(),
            name: "prod".into(),
            server: "https://prod:6443/".into(),
            config: Default::default(),
        };
        let dest = |server: Option<&str>, name: Option<&str>| ApplicationDestination {
            server: server.map(Into::into),
            name: name.map(Into::into),
            ..Default::default()
        };
        let all = [prod.clone()];
        assert_eq!(
            resolve(&dest(Some("https://kubernetes.default.svc/"), None), &all),
            Resolution::InCluster
        );
        assert_eq!(
            resolve(&dest(None, Some("in-cluster")), &all),
            Resolution::InCluster
        );
        assert_eq!(
            resolve(&dest(Some("https://prod:6443"), None), &all),
            Resolution::Remote(Box::new(prod.clone()))
        );
        assert_eq!(
            resolve(&dest(None, Some("prod")), &all),
            Resolution::Remote(Box::new(prod.clone()))
        );
        assert_eq!(
            resolve(&dest(None, Some("staging")), &all)
                .message()
                .as_deref(),
            Some(
                "unable to find destination server: there are no clusters with this name: staging"
            )
        );
        let twice = [
            prod.clone(),
            ClusterSecret {
                secret: "q".into(),
                ..prod.clone()
            },
        ];
        assert_eq!(
            resolve(&dest(None, Some("prod")), &twice)
                .message()
                .as_deref(),
            Some(
                "unable to find destination server: there are 2 clusters with the same name: prod"
            )
        );
    }

    #[tokio::test]
    async fn builds_clients() {
        let c = ClusterSecret {
            secret: "p".into(),
            name: "prod".into(),
            server: "https://127.0.0.1:6443".into(),
            config: ClusterConfig {
                bearer_token: Some("tok".into()),
                tls_client_config: TlsClientConfig {
                    insecure: true,
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        c.client().await.expect("client");
        let bad = ClusterSecret {
            server: "not a url".into(),
            ..c
        };
        assert!(bad.client().await.is_err());
    }
}
