//! The controller's HTTP endpoint: `/healthz`, `/readyz` and `/api/webhook` (GitHub and GitLab
//! push events refresh the affected Applications).
//!
//! With an in-process controller attached ([`State::set_refresher`]), a push picks the
//! Applications from the controller's watch (no API list) and queues their refreshes directly in
//! its priority lane, ahead of periodic refreshes. Otherwise (no controller attached, its initial
//! list still incomplete, or it lost leadership), the Applications are listed from the API server
//! and `argocd.argoproj.io/refresh` is set on each affected one.
//!
//! Secrets: given explicitly ([`WebhookSecrets`]) or read live from the `argocd-secret` Secret
//! (`webhook.github.secret`, `webhook.gitlab.secret`) of the control-plane namespace. Without a
//! secret, unauthenticated events are accepted (as Argo CD).

use crate::application::Application;
use crate::kube_io::error_message;
use crate::webhook::{self, Provider};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest accepted payload (Argo CD's default `webhook.maxPayloadSizeMB`: 50).
pub const MAX_PAYLOAD: usize = 50 * 1024 * 1024;

/// Webhook secrets; `None` fields are looked up in `argocd-secret`.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    /// GitHub HMAC secret.
    pub github: Option<String>,
    /// GitLab token.
    pub gitlab: Option<String>,
}

/// Shared state of the endpoint.
pub struct State {
    /// Cluster client.
    pub client: kube::Client,
    /// Control-plane namespace.
    pub namespace: String,
    /// Explicit secrets.
    pub secrets: WebhookSecrets,
    /// Set when the controller is running (for `/readyz`).
    pub ready: AtomicBool,
    /// The controller's other Application namespaces (see
    /// [`crate::Options::application_namespaces`]), for refreshes through the API server.
    application_namespaces: std::sync::RwLock<Vec<String>>,
    /// The in-process controller, when attached.
    refresher: std::sync::RwLock<Option<crate::reconciler::Refresher>>,
}

impl State {
    /// New state (not ready).
    pub fn new(client: kube::Client, namespace: &str, secrets: WebhookSecrets) -> Arc<State> {
        Arc::new(State {
            client,
            namespace: namespace.to_string(),
            secrets,
            ready: AtomicBool::new(false),
            application_namespaces: std::sync::RwLock::new(Vec::new()),
            refresher: std::sync::RwLock::new(None),
        })
    }

    /// The controller's other Application namespaces: a push refreshed through the API server
    /// (no controller attached, or a standby replica) then also concerns their Applications.
    pub fn set_application_namespaces(&self, namespaces: &[String]) {
        if let Ok(mut n) = self.application_namespaces.write() {
            *n = namespaces.to_vec();
        }
    }

    /// Attaches the in-process controller (the handle [`crate::run`] gives on start): webhook
    /// pushes then refresh through it, without API round trips.
    pub fn set_refresher(&self, refresher: crate::reconciler::Refresher) {
        if let Ok(mut r) = self.refresher.write() {
            *r = Some(refresher);
        }
    }

    fn refresher(&self) -> Option<crate::reconciler::Refresher> {
        self.refresher.read().ok().and_then(|r| r.clone())
    }
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256 of `body`.
pub fn verify_github_signature(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    use hmac::{Hmac, Mac};
    let Some(hex) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Some(sig) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn live_secret(state: &State, key: &str) -> Option<String> {
    let api: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(state.client.clone(), &state.namespace);
    let s = api.get_opt("argocd-secret").await.ok().flatten()?;
    let v = s.data?.remove(key)?;
    let text = String::from_utf8(v.0).ok()?;
    (!text.is_empty()).then_some(text)
}

/// Handles one webhook request: `(status, message)`.
pub async fn handle_webhook(
    state: &State,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
) -> (u16, String) {
    let Some(provider) = webhook::provider(header) else {
        return (400, "Unknown webhook event".into());
    };
    let failed = || (400, "Webhook processing failed".to_string());
    match provider {
        Provider::GitHub => {
            let secret = match &state.secrets.github {
                Some(s) => Some(s.clone()),
                None => live_secret(state, "webhook.github.secret").await,
            };
            if let Some(secret) = secret
                && !verify_github_signature(&secret, body, header("X-Hub-Signature-256").as_deref())
            {
                tracing::warn!("GitHub webhook: signature mismatch");
                return failed();
            }
        }
        Provider::GitLab => {
            let secret = match &state.secrets.gitlab {
                Some(s) => Some(s.clone()),
                None => live_secret(state, "webhook.gitlab.secret").await,
            };
            if let Some(secret) = secret {
                let token = header("X-Gitlab-Token").unwrap_or_default();
                if !constant_time_eq(token.as_bytes(), secret.as_bytes()) {
                    tracing::warn!("GitLab webhook: token mismatch");
                    return failed();
                }
            }
        }
    }
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return failed();
    };
    let event = match provider {
        Provider::GitHub => header("X-GitHub-Event"),
        Provider::GitLab => header("X-Gitlab-Event"),
    }
    .unwrap_or_default();
    let push = match webhook::parse_push(provider, &event, &payload) {
        Ok(Some(p)) => p,
        Ok(None) => return (200, String::new()),
        Err(e) => {
            tracing::warn!(error = %e, "webhook payload");
            return failed();
        }
    };
    match refresh_for_push(state, &push).await {
        Ok(n) => {
            tracing::info!(repo = %push.web_url, revision = %push.revision, apps = n, "webhook refresh");
            (200, String::new())
        }
        Err(e) => (503, e),
    }
}

/// Refreshes every Application the push concerns; returns how many. Through the attached
/// controller when it runs and has listed the Applications; otherwise by setting the refresh
/// annotation through the API server.
pub async fn refresh_for_push(state: &State, push: &webhook::PushEvent) -> Result<usize, String> {
    if let Some(r) = state.refresher()
        && let Some(apps) = r.applications()
    {
        let idx = webhook::apps_to_refresh(&apps, push);
        for &i in &idx {
            let m = &apps[i].metadata;
            let ns = if m.namespace.is_empty() {
                &state.namespace
            } else {
                &m.namespace
            };
            r.refresh_urgent(ns, &m.name);
        }
        if r.is_running() {
            return Ok(idx.len());
        }
    }
    refresh_through_api(state, push).await
}

/// Sets the refresh annotation on every Application the push concerns; returns how many.
async fn refresh_through_api(state: &State, push: &webhook::PushEvent) -> Result<usize, String> {
    let others = state
        .application_namespaces
        .read()
        .map(|n| n.clone())
        .unwrap_or_default();
    let resource = crate::reconciler::app_api_resource();
    let api: Api<DynamicObject> = if others.is_empty() {
        Api::namespaced_with(state.client.clone(), &state.namespace, &resource)
    } else {
        Api::all_with(state.client.clone(), &resource)
    };
    let list = api
        .list(&Default::default())
        .await
        .map_err(|e| error_message(&e))?;
    let apps: Vec<Application> = list
        .items
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .filter_map(|v| Application::from_value(&v).ok())
        .filter(|a| {
            a.metadata.namespace == state.namespace
                || crate::project::match_in_list(&others, &a.metadata.namespace)
        })
        .collect();
    let idx = webhook::apps_to_refresh(&apps, push);
    let patch =
        json!({"metadata": {"annotations": {crate::reconciler::ANNOTATION_REFRESH: "normal"}}});
    for &i in &idx {
        let m = &apps[i].metadata;
        let api: Api<DynamicObject> =
            Api::namespaced_with(state.client.clone(), &m.namespace, &resource);
        api.patch(&m.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| error_message(&e))?;
    }
    Ok(idx.len())
}

async fn route(state: Arc<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |code: u16, msg: String| {
        let mut r = Response::new(Full::new(Bytes::from(msg)));
        *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        r
    };
    match req.uri().path() {
        "/healthz" => reply(200, "ok".into()),
        "/readyz" => {
            if state.ready.load(Ordering::Relaxed) {
                reply(200, "ok".into())
            } else {
                reply(503, "not ready".into())
            }
        }
        "/api/webhook" => {
            if req.method() != Method::POST {
                return reply(405, "Webhook processing failed".into());
            }
            let headers = req.headers().clone();
            let body = match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return reply(400, "Webhook processing failed".into()),
            };
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (code, msg) = handle_webhook(&state, &header, &body).await;
            reply(code, msg)
        }
        _ => reply(404, "not found".into()),
    }
}

/// Serves the endpoint on `addr` until the task is dropped. Returns the bound address through
/// `bound` (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    state: Arc<State>,
    bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    bound(listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let state = state.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(route(state, req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await
            {
                tracing::debug!(error = %e, "http connection");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signature() {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").expect("mac");
        mac.update(b"{}");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let h = format!("sha256={hex}");
        assert!(verify_github_signature("s3cret", b"{}", Some(&h)));
        assert!(!verify_github_signature("other", b"{}", Some(&h)));
        assert!(!verify_github_signature("s3cret", b"{ }", Some(&h)));
        assert!(!verify_github_signature("s3cret", b"{}", None));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
    }
}
