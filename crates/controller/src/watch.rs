//! Watches on the kinds the apps manage, so drift is noticed as it happens rather than at the
//! next periodic refresh.
//!
//! Every kind an app renders or tracks gets one cluster-wide watch ([`ResourceWatches::ensure`]).
//! An event on an object carrying `argocd.argoproj.io/tracking-id` is mapped back to its
//! Application ([`event_target`]) and, after a short debounce that coalesces bursts, queues a
//! *quick* comparison of that app (no git fetch, cached manifests). With `selfHeal` the
//! comparison finds the drift and auto-sync reverts it.
//!
//! ferry's own writes must not trigger comparisons in a loop: every object ferry applies is
//! recorded with the `resourceVersion` the API server returned ([`ResourceWatches::own_write`]),
//! and the event carrying exactly that version is dropped. One exception: an Application's own
//! status write that changes its health ([`ResourceWatches::own_app_write`]) queues the app that
//! manages it (an app of apps) at once, since that app's health aggregates its children's.
//!
//! Each watch also keeps the objects of its kind (a cache, as Argo CD's cluster cache): once its
//! initial list is complete, [`ResourceWatches::cached`] answers what a LIST would, without a
//! request. ferry's own writes enter the cache at once (the API server's answer), so a comparison
//! right after a sync sees them before their watch events arrive.
//!
//! ```
//! use controller::watch::event_target;
//! use serde_json::json;
//!
//! let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "web",
//!         "annotations": {"argocd.argoproj.io/tracking-id": "web:apps/Deployment:web/web"}}});
//! assert_eq!(event_target(&obj, "argocd"), Some(("argocd".to_string(), "web".to_string())));
//! ```

use engine::object;
use engine::sync::tracking::{ANNOTATION_TRACKING_ID, TrackingId};
use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::watcher;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `(namespace, name)` of an Application.
pub type AppKey = (String, String);

/// The Application an event on `obj` concerns: the app named by its tracking annotation when the
/// annotation refers to the object itself (a copied annotation is ignored, as in Argo CD). The
/// instance name `<namespace>_<name>` designates an app outside the control-plane namespace.
pub fn event_target(obj: &Value, control_plane_ns: &str) -> Option<AppKey> {
    let id = object::annotation(obj, ANNOTATION_TRACKING_ID).and_then(TrackingId::parse)?;
    if !id.refers_to(obj) || id.app.is_empty() {
        return None;
    }
    Some(match id.app.split_once('_') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
            (ns.to_string(), name.to_string())
        }
        _ => (control_plane_ns.to_string(), id.app),
    })
}

/// Whether `after` (a version of an object written over `before`) has another health than
/// `before`, as an app managing it assesses it: for an Application, its `status.health`
/// (status and message), which the managing app copies into its own resources and aggregates.
pub fn health_changed(before: &Value, after: &Value) -> bool {
    engine::health::resource_health(before) != engine::health::resource_health(after)
}

type ObjKey = (String, String, String, String);

fn obj_key(obj: &Value) -> ObjKey {
    (
        object::group(obj).to_string(),
        object::kind(obj).to_string(),
        object::namespace(obj).to_string(),
        object::name(obj).to_string(),
    )
}

fn resource_version(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
}

/// `resourceVersion`s compared as numbers when both are (the API servers ferry knows use
/// integers); `None` when either is opaque.
fn newer_or_same(a: &str, b: &str) -> Option<bool> {
    Some(a.parse::<u64>().ok()? >= b.parse::<u64>().ok()?)
}

/// One cached object, kept serialized: a parsed `serde_json::Value` takes several times the
/// memory of its JSON text, and at thousands of objects (every Deployment with its status and
/// managedFields) the parsed form dominated the controller's footprint. Readers get a fresh
/// `Value` anyway (they own and modify it), so parsing replaces the deep clone they paid before.
struct Entry {
    resource_version: Option<Box<str>>,
    json: Box<[u8]>,
}

impl Entry {
    fn new(obj: &Value) -> Self {
        Entry {
            resource_version: resource_version(obj).map(Into::into),
            json: serde_json::to_vec(obj)
                .unwrap_or_default()
                .into_boxed_slice(),
        }
    }

    fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// The objects of one watched kind: namespace → name → object.
#[derive(Default)]
struct KindCache {
    /// The initial list is complete.
    synced: bool,
    objects: HashMap<String, HashMap<String, Entry>>,
    /// Objects of a (re)list in progress, swapped in when it completes.
    listing: Option<HashMap<String, HashMap<String, Entry>>>,
}

impl KindCache {
    /// Stores `obj` unless the cached copy is newer.
    fn put(&mut self, obj: &Value) {
        let ns = object::namespace(obj).to_string();
        let name = object::name(obj).to_string();
        let by_name = self.objects.entry(ns).or_default();
        if let (Some(cur), Some(rv)) = (
            by_name
                .get(&name)
                .and_then(|c| c.resource_version.as_deref()),
            resource_version(obj),
        ) && newer_or_same(cur, rv) == Some(true)
            && cur != rv
        {
            return;
        }
        by_name.insert(name, Entry::new(obj));
    }

    /// Removes `obj` unless the cached copy is newer (recreated meanwhile).
    fn remove(&mut self, obj: &Value) {
        let ns = object::namespace(obj);
        let name = object::name(obj);
        let Some(by_name) = self.objects.get_mut(ns) else {
            return;
        };
        if let (Some(cur), Some(rv)) = (
            by_name
                .get(name)
                .and_then(|c| c.resource_version.as_deref()),
            resource_version(obj),
        ) && newer_or_same(cur, rv) == Some(true)
            && cur != rv
        {
            return;
        }
        by_name.remove(name);
        if by_name.is_empty() {
            self.objects.remove(ns);
        }
    }
}

/// `(apiVersion, kind)` of a watched kind.
type KindId = (String, String);

/// The set of watched kinds, the record of ferry's own writes and the debounce state.
pub struct ResourceWatches {
    client: kube::Client,
    control_plane_ns: String,
    debounce: Duration,
    watched: Mutex<HashSet<KindId>>,
    cache: Mutex<HashMap<KindId, KindCache>>,
    own: Mutex<HashMap<ObjKey, String>>,
    pending: Mutex<HashSet<AppKey>>,
    cancel: CancellationToken,
    notify: Box<dyn Fn(AppKey) + Send + Sync>,
}

impl ResourceWatches {
    /// Watches through `client`; `notify` is called (after `debounce`) with the app to compare.
    /// Every watch stops when `cancel` is cancelled.
    pub fn new(
        client: kube::Client,
        control_plane_ns: &str,
        debounce: Duration,
        cancel: CancellationToken,
        notify: impl Fn(AppKey) + Send + Sync + 'static,
    ) -> Self {
        ResourceWatches {
            client,
            control_plane_ns: control_plane_ns.to_string(),
            debounce,
            watched: Mutex::new(HashSet::new()),
            cache: Mutex::new(HashMap::new()),
            own: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashSet::new()),
            cancel,
            notify: Box::new(notify),
        }
    }

    /// Kinds watched so far, as `(apiVersion, kind)`.
    pub fn kinds(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .watched
            .lock()
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The objects of a watched kind (`apiVersion` as the watch was started with), in
    /// `namespace` or everywhere (`None`): what a LIST would return, from the watch's cache.
    /// `None` when the kind is not watched or its initial list is not complete.
    pub fn cached(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Option<Vec<Value>> {
        let cache = self.cache.lock().ok()?;
        let c = cache.get(&(api_version.to_string(), kind.to_string()))?;
        if !c.synced {
            return None;
        }
        let copy = |m: &HashMap<String, Entry>| m.values().map(Entry::value).collect::<Vec<_>>();
        Some(match namespace {
            Some(ns) => c.objects.get(ns).map(copy).unwrap_or_default(),
            None => c.objects.values().flat_map(copy).collect(),
        })
    }

    /// One object of a watched kind from the cache: `Some(None)` when absent, `None` when the
    /// kind is not watched or its initial list is not complete.
    pub fn cached_object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Option<Value>> {
        let cache = self.cache.lock().ok()?;
        let c = cache.get(&(api_version.to_string(), kind.to_string()))?;
        if !c.synced {
            return None;
        }
        Some(
            c.objects
                .get(namespace)
                .and_then(|m| m.get(name))
                .map(Entry::value),
        )
    }

    /// Records an object ferry just wrote (the API server's answer): the event carrying this
    /// `resourceVersion` will be ignored, and the cache of its kind holds it at once.
    pub fn own_write(&self, written: &Value) {
        let Some(rv) = resource_version(written) else {
            return;
        };
        if let Ok(mut cache) = self.cache.lock()
            && let Some(c) = cache.get_mut(&(
                object::api_version(written).to_string(),
                object::kind(written).to_string(),
            ))
        {
            c.put(written);
        }
        if let Ok(mut own) = self.own.lock() {
            if own.len() > 100_000 {
                own.clear();
            }
            own.insert(obj_key(written), rv.to_string());
        }
    }

    /// Whether an event object is the echo of ferry's own write (consumes the record).
    fn is_own_echo(&self, obj: &Value) -> bool {
        let Some(rv) = resource_version(obj) else {
            return false;
        };
        let Ok(mut own) = self.own.lock() else {
            return false;
        };
        let key = obj_key(obj);
        match own.get(&key) {
            Some(r) if r == rv => {
                own.remove(&key);
                true
            }
            _ => false,
        }
    }

    /// Records an Application ferry just wrote (its own status write), as [`Self::own_write`];
    /// `replaced` is the version the write replaced (`None` when not known). Its watch event is
    /// still dropped, but when the write changed the health an app managing this Application
    /// reads from it ([`health_changed`]), that app is queued for a quick comparison as a
    /// foreign change would queue it: an app of apps aggregates its children's health, and must
    /// not wait for its periodic refresh to see a child recover or degrade. Returns that app.
    pub fn own_app_write(
        self: &std::sync::Arc<Self>,
        replaced: Option<&Value>,
        written: &Value,
    ) -> Option<AppKey> {
        self.own_write(written);
        if replaced.is_some_and(|r| !health_changed(r, written)) {
            return None;
        }
        let key = self.queue(written)?;
        tracing::debug!(parent = %key.1, child = %object::name(written),
            "child Application health written: comparing the app that manages it");
        Some(key)
    }

    /// Handles one watch event object: queues a debounced quick compare of its app unless it is
    /// an echo of ferry's own write. Returns the app, if one was (or already is) queued.
    pub fn on_event(self: &std::sync::Arc<Self>, obj: &Value, deleted: bool) -> Option<AppKey> {
        event_target(obj, &self.control_plane_ns)?;
        if !deleted && self.is_own_echo(obj) {
            return None;
        }
        self.queue(obj)
    }

    /// Queues a debounced quick compare of the app tracking `obj` (the cache of its kind must
    /// already hold the change: the comparison reads it there).
    fn queue(self: &std::sync::Arc<Self>, obj: &Value) -> Option<AppKey> {
        let key = event_target(obj, &self.control_plane_ns)?;
        let first = self
            .pending
            .lock()
            .map(|mut p| p.insert(key.clone()))
            .unwrap_or(false);
        if first {
            let this = self.clone();
            let k = key.clone();
            tokio::spawn(self.cancel.clone().run_until_cancelled_owned(async move {
                tokio::time::sleep(this.debounce).await;
                if let Ok(mut p) = this.pending.lock() {
                    p.remove(&k);
                }
                (this.notify)(k);
            }));
        }
        Some(key)
    }

    /// Starts a cluster-wide watch of `resource` unless one runs already.
    pub fn ensure(self: &std::sync::Arc<Self>, resource: &ApiResource) {
        let id = (resource.api_version.clone(), resource.kind.clone());
        let new = self
            .watched
            .lock()
            .map(|mut w| w.insert(id))
            .unwrap_or(false);
        if !new {
            return;
        }
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), resource);
        let this = self.clone();
        let av = resource.api_version.clone();
        let kind = resource.kind.clone();
        tracing::debug!(api_version = %av, %kind, "watching managed kind");
        let id = (av.clone(), kind.clone());
        if let Ok(mut cache) = self.cache.lock() {
            cache.entry(id.clone()).or_default();
        }
        let with_kind = move |o: DynamicObject| {
            let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
            if let Some(m) = v.as_object_mut() {
                m.insert("apiVersion".into(), Value::String(av.clone()));
                m.insert("kind".into(), Value::String(kind.clone()));
            }
            v
        };
        tokio::spawn(self.cancel.clone().run_until_cancelled_owned(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            while let Some(ev) = stream.next().await {
                let cached = |f: &mut dyn FnMut(&mut KindCache)| {
                    if let Ok(mut cache) = this.cache.lock() {
                        f(cache.entry(id.clone()).or_default());
                    }
                };
                let (v, deleted) = match ev {
                    // The initial listing is not drift: every app is compared at start anyway.
                    Ok(watcher::Event::Init) => {
                        cached(&mut |c| c.listing = Some(HashMap::new()));
                        continue;
                    }
                    Ok(watcher::Event::InitApply(o)) => {
                        let v = with_kind(o);
                        cached(&mut |c| {
                            let l = c.listing.get_or_insert_with(HashMap::new);
                            l.entry(object::namespace(&v).to_string())
                                .or_default()
                                .insert(object::name(&v).to_string(), Entry::new(&v));
                        });
                        continue;
                    }
                    Ok(watcher::Event::InitDone) => {
                        cached(&mut |c| {
                            c.objects = c.listing.take().unwrap_or_default();
                            c.synced = true;
                        });
                        continue;
                    }
                    Ok(watcher::Event::Apply(o)) => {
                        let v = with_kind(o);
                        cached(&mut |c| c.put(&v));
                        (v, false)
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        let v = with_kind(o);
                        cached(&mut |c| c.remove(&v));
                        (v, true)
                    }
                    Err(e) => {
                        tracing::debug!(kind = %id.1, error = %e, "managed kind watch error");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                this.on_event(&v, deleted);
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn obj(annotation: &str, ns: &str, rv: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "resourceVersion": rv,
                "annotations": {"argocd.argoproj.io/tracking-id": annotation}}})
    }

    #[test]
    fn maps_tracking_ids_to_apps() {
        assert_eq!(
            event_target(&obj("web:apps/Deployment:web/web", "web", "1"), "argocd"),
            Some(("argocd".into(), "web".into()))
        );
        assert_eq!(
            event_target(
                &obj("team_web:apps/Deployment:web/web", "web", "1"),
                "argocd"
            ),
            Some(("team".into(), "web".into()))
        );
        // copied annotation (refers to another object) and garbage are ignored
        assert_eq!(
            event_target(&obj("web:apps/Deployment:web/other", "web", "1"), "argocd"),
            None
        );
        assert_eq!(event_target(&obj("nonsense", "web", "1"), "argocd"), None);
        assert_eq!(
            event_target(&json!({"kind": "Pod", "metadata": {"name": "x"}}), "argocd"),
            None
        );
    }

    async fn client() -> kube::Client {
        // A client that is never used to connect (events are fed by hand).
        let cfg = kube::Config::new("http://127.0.0.1:9".parse().expect("uri"));
        kube::Client::try_from(cfg).expect("client")
    }

    fn child(health: &str, rv: &str) -> Value {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "child", "namespace": "argocd", "resourceVersion": rv,
                "annotations": {"argocd.argoproj.io/tracking-id":
                    "parent:argoproj.io/Application:argocd/child"}},
            "status": {"health": {"status": health}, "sync": {"status": "Synced"},
                "reconciledAt": format!("t{rv}")}})
    }

    #[test]
    fn health_changes_as_the_managing_app_reads_them() {
        assert!(!health_changed(
            &child("Healthy", "1"),
            &child("Healthy", "2")
        ));
        assert!(health_changed(
            &child("Degraded", "1"),
            &child("Healthy", "2")
        ));
        let mut msg = child("Degraded", "3");
        msg["status"]["health"]["message"] = json!("progress deadline exceeded");
        assert!(health_changed(&child("Degraded", "2"), &msg));
        // no health yet (Progressing) → Healthy
        let mut none = child("Healthy", "1");
        none["status"] = json!({});
        assert!(health_changed(&none, &child("Healthy", "2")));
    }

    /// Watches (50 ms debounce) that record the apps they queue.
    async fn recording_watches() -> (Arc<ResourceWatches>, Arc<Mutex<Vec<AppKey>>>) {
        let seen: Arc<Mutex<Vec<AppKey>>> = Arc::default();
        let s2 = seen.clone();
        let w = Arc::new(ResourceWatches::new(
            client().await,
            "argocd",
            Duration::from_millis(50),
            CancellationToken::new(),
            move |k| s2.lock().expect("lock").push(k),
        ));
        (w, seen)
    }

    #[tokio::test]
    async fn own_app_write_changing_health_queues_the_managing_app() {
        let (w, seen) = recording_watches().await;
        let parent = ("argocd".to_string(), "parent".to_string());
        // A status write that keeps the health (reconciledAt, say): nothing queued, echo dropped.
        assert_eq!(
            w.own_app_write(Some(&child("Degraded", "1")), &child("Degraded", "2")),
            None
        );
        assert_eq!(w.on_event(&child("Degraded", "2"), false), None);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(seen.lock().expect("lock").is_empty());
        // The child recovers: its parent is queued although the echo is still dropped.
        assert_eq!(
            w.own_app_write(Some(&child("Degraded", "2")), &child("Healthy", "3")),
            Some(parent.clone())
        );
        assert_eq!(w.on_event(&child("Healthy", "3"), false), None);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(*seen.lock().expect("lock"), vec![parent.clone()]);
        // The replaced version unknown: queued (a compare too many, never one too few).
        assert_eq!(
            w.own_app_write(None, &child("Healthy", "4")),
            Some(parent.clone())
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(seen.lock().expect("lock").len(), 2);
        // An Application no app manages queues nothing.
        let mut lone = child("Degraded", "5");
        lone["metadata"]["annotations"] = json!({});
        assert_eq!(w.own_app_write(Some(&child("Healthy", "4")), &lone), None);
    }

    #[tokio::test]
    async fn debounces_and_ignores_own_writes() {
        let (w, seen) = recording_watches().await;
        let id = "web:apps/Deployment:web/web";
        // ferry wrote rv 5: its echo is dropped
        w.own_write(&obj(id, "web", "5"));
        assert_eq!(w.on_event(&obj(id, "web", "5"), false), None);
        // a burst of foreign changes is one compare
        for rv in ["6", "7", "8"] {
            assert!(w.on_event(&obj(id, "web", rv), false).is_some());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            *seen.lock().expect("lock"),
            vec![("argocd".to_string(), "web".to_string())]
        );
        // after the debounce window a new change queues again; the own-write record was consumed
        assert!(w.on_event(&obj(id, "web", "5"), false).is_some());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(seen.lock().expect("lock").len(), 2);
    }
}
