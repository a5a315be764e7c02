//! Assembling an Application's comparison status (Argo CD's `CompareAppState` result) from the
//! engine's reconciliation, diffs and health: `status.resources`, `status.sync`,
//! `status.health`, summary images and warning conditions.

use crate::application::{
    AppHealthStatus, Application, ApplicationCondition, ComparedTo, ResourceHealth, ResourceStatus,
    SyncStatus,
};
use engine::diff::DiffResult;
use engine::health::{self, HealthOptions, ManagedResource};
use engine::object::{self, ResourceKey};
use engine::sync::hooks;
use engine::sync::options::{RemovalPolicy, SyncOptions};
use engine::sync::plan::Reconciliation;
use engine::sync::status::{self, Compared};

/// The comparison of an application with its live state.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// `status.resources`, sorted by group, kind, namespace, name.
    pub resources: Vec<ResourceStatus>,
    /// `status.sync`.
    pub sync: SyncStatus,
    /// `status.health` (without `lastTransitionTime`; the controller stamps it).
    pub health: AppHealthStatus,
    /// `status.summary.images`: images of live workloads, sorted, deduplicated.
    pub images: Vec<String>,
    /// Whether the app manages `argoproj.io` Applications (`summary.isAppOfApps`).
    pub is_app_of_apps: bool,
    /// Warning conditions (`RepeatedResourceWarning`, `SharedResourceWarning`).
    pub conditions: Vec<ApplicationCondition>,
}

impl Comparison {
    /// Marks the resources whose group/kind `project` does not permit (its cluster- and
    /// namespace-resource white- and blacklists) with sync status `Unknown`, as Argo CD's
    /// `CompareAppState` does; the app's own sync status is left as compared (a sync then fails
    /// on the permission check). `namespaced(group, kind)` is the kind's scope (`None` when
    /// unknown: judged as cluster-scoped, as Argo CD does when discovery fails). Returns how many
    /// were marked.
    pub fn mark_unpermitted(
        &mut self,
        project: &crate::project::AppProject,
        namespaced: &dyn Fn(&str, &str) -> Option<bool>,
    ) -> usize {
        let mut n = 0;
        for r in &mut self.resources {
            let scoped = namespaced(&r.group, &r.kind) == Some(true);
            if !project.is_group_kind_permitted(&r.group, &r.kind, scoped) {
                r.status = Some(status::SyncStatusCode::Unknown.as_str().to_string());
                n += 1;
            }
        }
        n
    }
}

/// Builds the comparison. `diffs[i]` is the diff of `rec.resources[i]` (entries of hooks are
/// ignored); `revisions` are the resolved revisions of the sources; `qualified_name` is the
/// app's name as Argo CD shows it in messages (`name`, or `namespace/name` outside the
/// control-plane namespace).
pub fn compare(
    app: &Application,
    rec: &Reconciliation,
    diffs: &[DiffResult],
    revisions: &[String],
    health_opts: &HealthOptions,
    qualified_name: &str,
) -> Comparison {
    let compared: Vec<Compared> = rec
        .resources
        .iter()
        .enumerate()
        .map(|(i, p)| Compared {
            target: p.target.as_ref(),
            live: p.live.as_ref(),
            modified: diffs.get(i).is_some_and(|d| d.modified),
        })
        .collect();
    let self_key = ResourceKey::new(
        crate::application::GROUP,
        crate::application::KIND,
        &app.metadata.namespace,
        &app.metadata.name,
    );
    let managed: Vec<ManagedResource> = compared
        .iter()
        .map(|c| ManagedResource {
            target: c.target,
            live: c.live,
        })
        .collect();
    let app_health = health::app_health(&managed, health_opts, Some(&self_key));

    let mut resources = Vec::new();
    let mut images: Vec<String> = Vec::new();
    let mut is_app_of_apps = false;
    for (i, c) in compared.iter().enumerate() {
        let Some(obj) = c.target.or(c.live) else {
            continue;
        };
        if c.target.is_some_and(hooks::is_skip) {
            continue;
        }
        let is_hook = hooks::is_hook(obj);
        if object::group(obj) == crate::application::GROUP
            && object::kind(obj) == crate::application::KIND
        {
            is_app_of_apps = true;
        }
        if let Some(live) = c.live {
            for img in status::images(live) {
                if !images.contains(&img) {
                    images.push(img);
                }
            }
        }
        let opts = SyncOptions::from_annotation(obj);
        let confirm = opts.prune == Some(RemovalPolicy::Confirm)
            || opts.delete == Some(RemovalPolicy::Confirm);
        let health = app_health.resources[i].as_ref().map(ResourceHealth::from);
        resources.push(ResourceStatus {
            group: object::group(obj).to_string(),
            version: object::version(obj).to_string(),
            kind: object::kind(obj).to_string(),
            namespace: c
                .live
                .map(object::namespace)
                .unwrap_or_else(|| object::namespace(obj))
                .to_string(),
            name: object::name(obj).to_string(),
            status: status::resource_sync_status(c).map(|s| s.as_str().to_string()),
            health,
            hook: is_hook,
            requires_pruning: status::requires_pruning(c),
            sync_wave: Some(hooks::wave(obj)),
            requires_deletion_confirmation: confirm && status::requires_pruning(c),
            ..Default::default()
        });
    }
    resources.sort_by(|a, b| {
        (&a.group, &a.kind, &a.namespace, &a.name).cmp(&(&b.group, &b.kind, &b.namespace, &b.name))
    });
    images.sort();

    let multi = app.is_multi_source();
    let sync = SyncStatus {
        status: status::app_sync_status(&compared).as_str().to_string(),
        compared_to: Some(ComparedTo {
            source: if multi { None } else { app.spec.source.clone() },
            sources: if multi {
                app.spec.sources.clone()
            } else {
                Vec::new()
            },
            destination: app.spec.destination.clone(),
            ignore_differences: app.spec.ignore_differences.clone(),
            ..Default::default()
        }),
        revision: if multi {
            None
        } else {
            revisions.first().cloned()
        },
        revisions: if multi {
            revisions.to_vec()
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let conditions = rec
        .warnings(qualified_name)
        .into_iter()
        .map(|(t, m)| ApplicationCondition::new(t, m))
        .collect();
    Comparison {
        resources,
        sync,
        health: AppHealthStatus {
            status: app_health.status.as_str().to_string(),
            message: None,
            last_transition_time: None,
        },
        images,
        is_app_of_apps,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::diff::{IgnoreDifferences, diff_create_or_delete, diff_desired_fields};
    use engine::sync::plan::{Rendered, reconcile};
    use engine::sync::tracking::Tracking;
    use serde_json::{Value, json};

    fn scope(_g: &str, _k: &str) -> Option<bool> {
        Some(true)
    }

    /// kind/name, sync status, health, hook, requiresPruning, requiresDeletionConfirmation
    type Row<'a> = (String, Option<&'a str>, Option<&'a str>, bool, bool, bool);

    #[test]
    fn builds_status_like_argo() {
        let app = Application::from_value(&json!({
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/web.git", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}
        }))
        .expect("app");
        let t = Tracking::annotation("web", "web");
        let mut old = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "web",
            "annotations": {"argocd.argoproj.io/sync-options": "Prune=confirm"}}});
        t.mark(&mut old);
        let mut hook = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "web",
            "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        t.mark(&mut hook);
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web", "generation": 1},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}});
        let child = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "child", "namespace": "argocd"},
            "spec": {}, "status": {"health": {"status": "Degraded"}}});
        let desired = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
            child.clone(),
        ];
        let mut live = vec![deploy, old, hook, child];
        for l in live.iter_mut() {
            t.mark(l);
        }
        let rec = reconcile(
            &Rendered::from_render::<()>(Ok(desired)).expect("ok"),
            &live,
            &t,
            &scope,
        );
        let diffs: Vec<DiffResult> = rec
            .resources
            .iter()
            .map(|p| match (&p.target, &p.live) {
                (Some(d), Some(l)) => diff_desired_fields(d, l, &IgnoreDifferences::none()),
                (d, l) => diff_create_or_delete(d.as_ref(), l.as_ref(), &IgnoreDifferences::none()),
            })
            .collect();
        let c = compare(
            &app,
            &rec,
            &diffs,
            &["abc123".into()],
            &HealthOptions::default(),
            "web",
        );
        let rows: Vec<Row> = c
            .resources
            .iter()
            .map(|r| {
                (
                    format!("{}/{}", r.kind, r.name),
                    r.status.as_deref(),
                    r.health.as_ref().map(|h| h.status.as_str()),
                    r.hook,
                    r.requires_pruning,
                    r.requires_deletion_confirmation,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "ConfigMap/old".to_string(),
                    Some("OutOfSync"),
                    None,
                    false,
                    true,
                    true
                ),
                (
                    "Service/web".to_string(),
                    Some("OutOfSync"),
                    Some("Missing"),
                    false,
                    false,
                    false
                ),
                (
                    "Deployment/web".to_string(),
                    Some("Synced"),
                    Some("Healthy"),
                    false,
                    false,
                    false
                ),
                (
                    "Application/child".to_string(),
                    Some("Synced"),
                    Some("Degraded"),
                    false,
                    false,
                    false
                ),
                ("Job/migrate".to_string(), None, None, true, false, false),
            ]
        );
        assert_eq!(c.sync.status, "OutOfSync");
        assert_eq!(c.sync.revision.as_deref(), Some("abc123"));
        assert_eq!(c.health.status, "Degraded", "the child app is Degraded");
        assert!(c.is_app_of_apps);
        assert_eq!(c.images, vec!["nginx:1.27"]);
        assert!(c.conditions.is_empty());
        let v: Value = serde_json::to_value(&c.resources[0]).expect("json");
        assert_eq!(v["requiresPruning"], json!(true));

        // A project that refuses Services (blacklist) and every cluster-scoped kind: the
        // Service is marked Unknown, the rest keep their status, the app's status stays.
        let project = crate::project::AppProject::from_value(&json!({
            "metadata": {"name": "team"},
            "spec": {"namespaceResourceBlacklist": [{"group": "", "kind": "Service"}]}
        }))
        .expect("project");
        let mut marked = c.clone();
        assert_eq!(marked.mark_unpermitted(&project, &scope), 1);
        let status_of = |c: &Comparison, kind: &str| {
            c.resources
                .iter()
                .find(|r| r.kind == kind)
                .and_then(|r| r.status.clone())
        };
        assert_eq!(status_of(&marked, "Service").as_deref(), Some("Unknown"));
        assert_eq!(status_of(&marked, "Deployment").as_deref(), Some("Synced"));
        assert_eq!(marked.sync.status, "OutOfSync");
        // Unknown scope counts as cluster-scoped: refused without a cluster whitelist entry.
        let mut all = c.clone();
        assert_eq!(
            all.mark_unpermitted(&project, &|_, _| None),
            all.resources.len()
        );
        // The default project permits everything.
        let mut none = c.clone();
        let default = crate::project::AppProject::default_project();
        assert_eq!(none.mark_unpermitted(&default, &scope), 0);
        assert_eq!(none, c);
    }
}
