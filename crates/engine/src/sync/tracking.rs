//! Resource tracking: which live objects belong to an application.
//!
//! Annotation method: `argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`;
//! label method: `app.kubernetes.io/instance: <app>` (63 characters at most).

use crate::object;
use serde_json::{Map, Value};
use std::fmt;

/// The tracking annotation.
pub const ANNOTATION_TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Default instance label key (`application.instanceLabelKey`).
pub const DEFAULT_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Longest label value Kubernetes accepts.
pub const MAX_LABEL_VALUE: usize = 63;

/// How resources are tracked (`application.resourceTrackingMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackingMethod {
    /// `argocd.argoproj.io/tracking-id` (Argo CD's default).
    #[default]
    Annotation,
    /// The instance label only.
    Label,
    /// Writes both, tracks by annotation.
    AnnotationAndLabel,
}

/// Tracking configuration for one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// Method.
    pub method: TrackingMethod,
    /// The app instance name (see [`app_instance_name`]).
    pub app: String,
    /// Label key for the label methods.
    pub label_key: String,
    /// The Application's `destination.namespace` (namespace part for cluster-scoped objects).
    pub destination_namespace: String,
}

impl Tracking {
    /// Annotation tracking with the default label key.
    pub fn annotation(app: &str, destination_namespace: &str) -> Self {
        Tracking {
            method: TrackingMethod::Annotation,
            app: app.to_string(),
            label_key: DEFAULT_INSTANCE_LABEL.to_string(),
            destination_namespace: destination_namespace.to_string(),
        }
    }

    /// Writes the tracking metadata onto a desired object (before apply).
    pub fn mark(&self, obj: &mut Value) {
        if matches!(
            self.method,
            TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel
        ) {
            let id = TrackingId::for_object(&self.app, obj, &self.destination_namespace);
            if let Some(a) = object::annotations_mut(obj) {
                a.insert(ANNOTATION_TRACKING_ID.into(), Value::String(id.to_string()));
            }
        }
        if matches!(
            self.method,
            TrackingMethod::Label | TrackingMethod::AnnotationAndLabel
        ) && let Some(meta) = obj.as_object_mut().and_then(|o| {
            o.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
        }) {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Map::new()));
            if labels.is_null() {
                *labels = Value::Object(Map::new());
            }
            if let Some(l) = labels.as_object_mut() {
                l.insert(
                    self.label_key.clone(),
                    Value::String(label_value(&self.app)),
                );
            }
        }
    }

    /// Whether a live object belongs to this application.
    ///
    /// Annotation methods: the tracking id must name this app and refer to the object it sits
    /// on (an annotation copied onto another object is ignored); an object with an empty
    /// namespace matches any namespace part. Label method: the label equals the (truncated)
    /// app name.
    pub fn is_managed(&self, live: &Value) -> bool {
        match self.method {
            TrackingMethod::Label => {
                object::label(live, &self.label_key) == Some(label_value(&self.app).as_str())
            }
            TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel => {
                match object::annotation(live, ANNOTATION_TRACKING_ID).and_then(TrackingId::parse) {
                    Some(id) => id.app == self.app && id.refers_to(live),
                    None => false,
                }
            }
        }
    }

    /// The app a live object is tracked by, if any (for shared-resource warnings).
    pub fn owner_app(&self, live: &Value) -> Option<String> {
        match self.method {
            TrackingMethod::Label => object::label(live, &self.label_key).map(str::to_string),
            _ => object::annotation(live, ANNOTATION_TRACKING_ID)
                .and_then(TrackingId::parse)
                .filter(|id| id.refers_to(live))
                .map(|id| id.app),
        }
    }
}

/// The instance name Argo CD writes: the app name, or `<appNamespace>_<name>` when the
/// Application lives outside the control-plane namespace.
pub fn app_instance_name(app_name: &str, app_namespace: &str, control_plane_ns: &str) -> String {
    if app_namespace.is_empty() || app_namespace == control_plane_ns {
        app_name.to_string()
    } else {
        format!("{app_namespace}_{app_name}")
    }
}

/// Label value for the label method (truncated to 63 characters).
pub fn label_value(app: &str) -> String {
    app.chars().take(MAX_LABEL_VALUE).collect()
}

/// A parsed `argocd.argoproj.io/tracking-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingId {
    /// App instance name.
    pub app: String,
    /// API group (`""` = core).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace part.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl TrackingId {
    /// The id for a desired object: its namespace, or the destination namespace when empty.
    pub fn for_object(app: &str, obj: &Value, destination_namespace: &str) -> Self {
        let ns = object::namespace(obj);
        TrackingId {
            app: app.to_string(),
            group: object::group(obj).to_string(),
            kind: object::kind(obj).to_string(),
            namespace: if ns.is_empty() {
                destination_namespace.to_string()
            } else {
                ns.to_string()
            },
            name: object::name(obj).to_string(),
        }
    }

    /// Parses `<app>:<group>/<kind>:<namespace>/<name>`: split on the first two `:`, then each
    /// part on `/` into exactly two pieces. `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, ':');
        let app = parts.next()?;
        let gk = parts.next()?;
        let nn = parts.next()?;
        let (group, kind) = two(gk)?;
        let (namespace, name) = two(nn)?;
        Some(TrackingId {
            app: app.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    /// Whether this id describes `obj` (group, kind, name equal; namespace equal unless the
    /// object has none).
    pub fn refers_to(&self, obj: &Value) -> bool {
        let ns = object::namespace(obj);
        self.group == object::group(obj)
            && self.kind == object::kind(obj)
            && self.name == object::name(obj)
            && (ns.is_empty() || ns == self.namespace)
    }
}

fn two(s: &str) -> Option<(&str, &str)> {
    let mut it = s.split('/');
    let a = it.next()?;
    let b = it.next()?;
    if it.next().is_some() {
        return None;
    }
    Some((a, b))
}

impl fmt::Display for TrackingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{}:{}/{}",
            self.app, self.group, self.kind, self.namespace, self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_and_parses_ids() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web"}});
        let id = TrackingId::for_object("web", &d, "other");
        assert_eq!(id.to_string(), "web:apps/Deployment:web/web");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}});
        assert_eq!(
            TrackingId::for_object("web", &cm, "web").to_string(),
            "web:/ConfigMap:web/cfg"
        );
        assert_eq!(TrackingId::parse("web:apps/Deployment:web/web"), Some(id));
        assert!(TrackingId::parse("web:apps/Deployment").is_none());
        assert!(TrackingId::parse("web:a/b/c:ns/n").is_none());
        assert!(TrackingId::parse("web:/ConfigMap:ns").is_none());
    }

    #[test]
    fn marks_and_recognises_managed_objects() {
        let t = Tracking::annotation("web", "web");
        let mut cr = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}});
        t.mark(&mut cr);
        assert_eq!(
            object::annotation(&cr, ANNOTATION_TRACKING_ID),
            Some("web:rbac.authorization.k8s.io/ClusterRole:web/r")
        );
        // cluster-scoped live object (no namespace) matches any namespace part
        assert!(t.is_managed(&cr));
        assert!(!Tracking::annotation("other", "web").is_managed(&cr));
        // copied annotation on a different object is ignored
        let mut copied = cr.clone();
        copied["metadata"]["name"] = json!("copy");
        assert!(!t.is_managed(&copied));
        assert_eq!(t.owner_app(&copied), None);
        // namespaced object in another namespace than the id says
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web"}});
        t.mark(&mut d);
        d["metadata"]["namespace"] = json!("elsewhere");
        assert!(!t.is_managed(&d));
    }

    #[test]
    fn label_tracking_truncates() {
        let long = "a".repeat(70);
        let t = Tracking {
            method: TrackingMethod::AnnotationAndLabel,
            app: long.clone(),
            label_key: DEFAULT_INSTANCE_LABEL.into(),
            destination_namespace: "ns".into(),
        };
        let mut o = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ns", "labels": null}});
        t.mark(&mut o);
        assert_eq!(
            object::label(&o, DEFAULT_INSTANCE_LABEL).map(str::len),
            Some(63)
        );
        assert!(t.is_managed(&o));
        let lt = Tracking {
            method: TrackingMethod::Label,
            ..t
        };
        assert!(lt.is_managed(&o));
        assert_eq!(app_instance_name("web", "team-a", "argocd"), "team-a_web");
        assert_eq!(app_instance_name("web", "argocd", "argocd"), "web");
    }
}
