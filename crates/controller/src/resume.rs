//! What lets a restarted controller trust an app's last comparison without rendering or
//! syncing it again: a **render key** (a hash of everything a render depends on: the app's
//! identity, its sources and destination, the resolved commits, ferry's version) and a **live
//! fingerprint** (a hash of the identity and `resourceVersion` of every live object the app
//! tracks). Both are kept in the Application annotation [`ANNOTATION_COMPARED`], written when a
//! comparison ends `Synced`. When, later, the render key computed from git and the live
//! fingerprint read from the cluster both equal the recorded ones, nothing that the comparison
//! depends on has changed, so the recorded `Synced` status still holds.
//!
//! The annotation (rather than a `status` field) survives Argo CD's structural CRD schema, which
//! prunes unknown `status` fields.
//!
//! ```
//! use controller::resume::{Compared, live_fingerprint};
//! use serde_json::json;
//!
//! let live = [json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a", "namespace": "x", "uid": "u1", "resourceVersion": "7"}})];
//! let c = Compared { render: "r1".into(), live: live_fingerprint(&live) };
//! assert_eq!(Compared::parse(&c.to_annotation()), Some(c));
//! ```

use crate::application::{Application, ApplicationSource};
use engine::object;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Annotation on the Application: `<render key>/<live fingerprint>` of its last `Synced`
/// comparison.
pub const ANNOTATION_COMPARED: &str = "ferry.dev/compared";

fn short_hash(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The render key of `app` rendered from `sources` at `revisions` (one per source).
pub fn render_key(
    app: &Application,
    sources: &[&ApplicationSource],
    revisions: &[String],
) -> String {
    let text = json!([
        env!("CARGO_PKG_VERSION"),
        app.metadata.name,
        app.metadata.namespace,
        app.spec.project,
        sources,
        revisions,
        app.spec.destination,
    ])
    .to_string();
    short_hash(text.as_bytes())
}

/// The fingerprint of the live objects an app tracks: their kind, namespace, name, uid and
/// `resourceVersion`, in a stable order. Any change to any of them (or an object appearing or
/// disappearing) changes it.
pub fn live_fingerprint(live: &[Value]) -> String {
    let mut ids: Vec<String> = live
        .iter()
        .map(|o| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                object::api_version(o),
                object::kind(o),
                object::namespace(o),
                object::name(o),
                o.pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                o.pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            )
        })
        .collect();
    ids.sort();
    short_hash(ids.join("\n").as_bytes())
}

/// The content of [`ANNOTATION_COMPARED`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    /// [`render_key`] of the comparison.
    pub render: String,
    /// [`live_fingerprint`] of the live objects after it.
    pub live: String,
}

impl Compared {
    /// Reads the annotation value (`None` when malformed).
    pub fn parse(s: &str) -> Option<Compared> {
        let (render, live) = s.split_once('/')?;
        if render.is_empty() || live.is_empty() || live.contains('/') {
            return None;
        }
        Some(Compared {
            render: render.to_string(),
            live: live.to_string(),
        })
    }

    /// The annotation value.
    pub fn to_annotation(&self) -> String {
        format!("{}/{}", self.render, self.live)
    }

    /// The recorded comparison of `app`, if any.
    pub fn of(app: &Application) -> Option<Compared> {
        app.metadata
            .annotations
            .get(ANNOTATION_COMPARED)
            .and_then(|s| Compared::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(path: &str) -> Application {
        Application::from_value(&json!({
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/web.git", "path": path},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}
        }))
        .expect("app")
    }

    #[test]
    fn render_key_changes_with_inputs() {
        let a = app("chart");
        let revs = vec!["a".repeat(40)];
        let k = render_key(&a, &a.sources(), &revs);
        assert_eq!(k, render_key(&a, &a.sources(), &revs));
        assert_eq!(k.len(), 24);
        let b = app("other");
        assert_ne!(k, render_key(&b, &b.sources(), &revs));
        assert_ne!(k, render_key(&a, &a.sources(), &["b".repeat(40)]));
        let mut c = app("chart");
        c.spec.destination.namespace = Some("elsewhere".into());
        assert_ne!(k, render_key(&c, &c.sources(), &revs));
    }

    #[test]
    fn fingerprint_sees_every_change() {
        let cm = |rv: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "x", "uid": "u", "resourceVersion": rv}})
        };
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "x", "uid": "d", "resourceVersion": "3"}});
        let base = live_fingerprint(&[cm("1"), dep.clone()]);
        assert_eq!(
            base,
            live_fingerprint(&[dep.clone(), cm("1")]),
            "order-free"
        );
        assert_ne!(base, live_fingerprint(&[cm("2"), dep.clone()]));
        assert_ne!(base, live_fingerprint(&[cm("1")]));
        assert_ne!(live_fingerprint(&[]), base);
    }

    #[test]
    fn annotation_round_trip() {
        assert_eq!(Compared::parse("x"), None);
        assert_eq!(Compared::parse("/y"), None);
        assert_eq!(Compared::parse("a/b/c"), None);
        let c = Compared::parse("a/b").expect("parse");
        assert_eq!(c.to_annotation(), "a/b");
        let mut a = app("chart");
        a.metadata
            .annotations
            .insert(ANNOTATION_COMPARED.into(), "k/l".into());
        assert_eq!(
            Compared::of(&a),
            Some(Compared {
                render: "k".into(),
                live: "l".into()
            })
        );
    }
}
