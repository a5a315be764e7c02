use super::*;
use serde_json::json;

fn full_app() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "web", "namespace": "argocd",
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
            "annotations": {"argocd.argoproj.io/manifest-generate-paths": ".;../common"},
            "creationTimestamp": "2026-11-23T01:00:00Z",
            "resourceVersion": "42"
        },
        "spec": {
            "project": "default",
            "sources": [
                {"repoURL": "https://git.example.com/charts.git", "path": "charts/web", "targetRevision": "main",
                 "helm": {"releaseName": "web", "valueFiles": ["values.yaml", "$values/envs/prod.yaml", "secrets://secrets.yaml"],
                          "values": "replicas: 1\n", "valuesObject": {"replicas": 3, "image": {"tag": "1.27"}},
                          "parameters": [{"name": "image.tag", "value": "1.28", "forceString": true}],
                          "ignoreMissingValueFiles": true, "skipCrds": false}},
                {"repoURL": "https://git.example.com/values.git", "targetRevision": "HEAD", "ref": "values"},
                {"repoURL": "https://git.example.com/manifests.git", "path": "extra", "directory": {"recurse": true, "include": "*.yaml"}}
            ],
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
                "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
                "managedNamespaceMetadata": {"labels": {"team": "web"}}
            },
            "ignoreDifferences": [
                {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
                {"kind": "ConfigMap", "name": "generated", "jqPathExpressions": [".data[\"checksum\"]"],
                 "managedFieldsManagers": ["kube-controller-manager"]}
            ],
            "revisionHistoryLimit": 3,
            "info": [{"name": "owner", "value": "team-web"}]
        },
        "operation": {
            "initiatedBy": {"username": "alice"},
            "info": [{"name": "reason", "value": "ci"}],
            "retry": {"limit": 2},
            "sync": {"revisions": ["3f2c1e9", "HEAD", "main"], "prune": true, "dryRun": false,
                     "syncStrategy": {"hook": {"force": false}},
                     "resources": [{"group": "apps", "kind": "Deployment", "name": "web", "namespace": "web"}],
                     "syncOptions": ["ServerSideApply=true"]}
        },
        "status": {
            "sync": {"status": "OutOfSync", "revisions": ["3f2c1e9", "a1", "b2"],
                     "comparedTo": {"destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}},
            "health": {"status": "Progressing", "lastTransitionTime": "2026-11-23T01:02:00Z"},
            "resources": [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web",
                           "status": "OutOfSync", "health": {"status": "Progressing", "message": "Waiting for rollout"},
                           "syncWave": 0}],
            "operationState": {"operation": {"sync": {"prune": true}}, "phase": "Running", "startedAt": "2026-11-23T01:02:00Z",
                               "syncResult": {"revision": "3f2c1e9", "resources": [
                                   {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web",
                                    "status": "Synced", "message": "deployment.apps/web configured", "hookPhase": "Running",
                                    "syncPhase": "Sync", "images": ["nginx:1.28"]}]}},
            "history": [{"id": 1, "revision": "0a1b", "deployedAt": "2026-11-22T10:00:00Z", "deployStartedAt": "2026-11-22T09:59:00Z",
                         "source": {"repoURL": "https://git.example.com/charts.git"}, "initiatedBy": {"automated": true}}],
            "conditions": [{"type": "SharedResourceWarning", "message": "ConfigMap/x is part of app other"}],
            "summary": {"externalURLs": ["https://web.example.com"], "images": ["nginx:1.28"]},
            "reconciledAt": "2026-11-23T01:02:00Z",
            "sourceTypes": ["Helm", "", "Directory"],
            "controllerNamespace": "argocd",
            "resourceHealthSource": "appTree"
        }
    })
}

#[test]
fn parses_full_application_and_round_trips() {
    let v = full_app();
    let app = Application::from_value(&v).unwrap();
    assert_eq!(app.key(), "argocd/web");
    assert!(app.is_multi_source());
    let sources = app.sources();
    assert_eq!(sources.len(), 3);
    assert!(sources[1].is_ref_only());
    assert_eq!(sources[0].source_path(), "charts/web");
    assert_eq!(sources[0].explicit_type(), Some(SourceType::Helm));
    assert_eq!(sources[2].explicit_type(), Some(SourceType::Directory));
    let helm = sources[0].helm.as_ref().unwrap();
    assert_eq!(
        helm.inline_values(),
        InlineValues::Object(&json!({"replicas": 3, "image": {"tag": "1.27"}}))
    );
    assert!(helm.parameters[0].force_string);
    assert!(app.auto_sync().is_some_and(|a| a.prune && a.self_heal));
    let so = app.sync_options();
    assert!(so.create_namespace() && so.server_side_apply());
    assert_eq!(app.revision_history_limit(), 3);
    assert_eq!(app.ignore_differences().len(), 2);
    let retry = app
        .spec
        .sync_policy
        .as_ref()
        .unwrap()
        .retry
        .as_ref()
        .unwrap();
    assert_eq!(retry.delay(2).unwrap(), std::time::Duration::from_secs(20));
    assert!(retry.may_retry(4) && !retry.may_retry(5));
    assert!(
        app.spec_conditions().is_empty(),
        "{:?}",
        app.spec_conditions()
    );
    let op = app.operation.as_ref().unwrap().sync.as_ref().unwrap();
    assert!(op.resources[0].matches(&engine::ResourceKey::new(
        "apps",
        "Deployment",
        "web",
        "web"
    )));
    assert_eq!(
        app.status
            .operation_state
            .as_ref()
            .map(OperationState::completed),
        Some(false)
    );
    // Round trip: nothing lost, nothing added, except explicit `false` values, which are
    // omitted like Go's `omitempty` does in Argo CD.
    let mut expected = v.clone();
    for p in [
        "/operation/sync/dryRun",
        "/operation/sync/syncStrategy/hook/force",
        "/spec/sources/0/helm/skipCrds",
    ] {
        engine::diff::remove_pointer(&mut expected, p);
    }
    assert_eq!(app.to_value(), expected);
}

#[test]
fn reports_unknown_and_unsupported_fields() {
    let v = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/x.git", "path": "k", "kustomize": {"namePrefix": "a-"},
                       "helm": {"valueFile": ["typo.yaml"], "version": "v2"}},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web", "cluster": "x"},
            "syncPolicy": {"automated": {"prun": true}, "syncOptions": ["Prune=false", "Magic=true"]},
            "sourceHydrator": {"drySource": {}},
            "surprise": 1
        },
        "operation": {"sync": {"manifests": ["a: b"], "bogus": true}}
    });
    let app = Application::from_value(&v).unwrap();
    let mut got = app.unsupported();
    got.sort();
    assert_eq!(
        got,
        vec![
            "operation.sync.bogus: unknown field, ignored",
            "operation.sync.manifests: not supported by ferry, ignored",
            "spec.destination.cluster: unknown field, ignored",
            "spec.source.helm.valueFile: unknown field, ignored",
            "spec.source.helm.version: not supported by ferry, ignored",
            "spec.source.kustomize: not supported by ferry, ignored",
            "spec.sourceHydrator: not supported by ferry, ignored",
            "spec.surprise: unknown field, ignored",
            "spec.syncPolicy.automated.prun: unknown field, ignored",
            "spec.syncPolicy.syncOptions: Magic=true: not supported by ferry, ignored",
        ]
    );
    let conds = app.spec_conditions();
    assert_eq!(
        conds[0],
        ApplicationCondition::new(
            CONDITION_INVALID_SPEC,
            "spec.source: multiple application sources defined (helm, kustomize, directory, plugin)"
        )
    );
    assert!(conds[0].is_error());
    assert_eq!(conds.len(), 11);
    assert!(
        conds[1..]
            .iter()
            .all(|c| c.type_ == CONDITION_UNSUPPORTED && !c.is_error())
    );
    // unknown fields survive a round trip
    assert_eq!(
        app.to_value()["spec"]["syncPolicy"]["automated"]["prun"],
        json!(true)
    );
}

#[test]
fn type_errors_name_the_field() {
    let v = json!({"metadata": {"name": "web", "namespace": "argocd"},
        "spec": {"project": "default", "syncPolicy": {"retry": {"limit": "five"}}}});
    let err = Application::from_value(&v).unwrap_err().to_string();
    assert!(err.starts_with("invalid Application argocd/web: field spec.syncPolicy.retry.limit: invalid type: string \"five\""), "{err}");
}

#[test]
fn validation_errors() {
    let v = json!({"metadata": {"name": "web", "namespace": "argocd"},
    "spec": {
        "sources": [
            {"repoURL": "", "ref": "v", "chart": "x"},
            {"repoURL": "https://x", "ref": "v", "helm": {}, "directory": {}}
        ],
        "destination": {"server": "https://kubernetes.default.svc", "name": "in-cluster"},
        "ignoreDifferences": [{"group": "apps", "jqPathExpressions": ["map(.)"]}],
        "syncPolicy": {"retry": {"limit": 1, "backoff": {"duration": "soon"}}}
    }});
    let app = Application::from_value(&v).unwrap();
    assert_eq!(
        app.validate(),
        vec![
            "spec.project is required",
            "application destination can't have both name and server defined",
            "spec.sources[0].repoURL is required",
            "spec.sources[0]: source with ref cannot have a chart",
            "spec.sources[1].ref: duplicate ref \"v\"",
            "spec.sources[1]: multiple application sources defined (helm, kustomize, directory, plugin)",
            "spec.ignoreDifferences[0].kind is required",
            "ignoreDifferences[0].jqPathExpressions: unsupported expression \"map(.)\": segment \"map(.)\" is neither a path nor select()",
            "spec.syncPolicy.retry.backoff: unable to parse soon as a duration",
        ]
    );
    assert!(
        app.spec_conditions()
            .iter()
            .filter(|c| c.is_error())
            .count()
            == 9
    );
    let empty = Application::from_value(&json!({"metadata": {"name": "x"}})).unwrap();
    assert_eq!(
        empty.validate(),
        vec![
            "spec.project is required",
            "spec.source or spec.sources is required",
            "Destination server missing from app spec",
        ]
    );
}

#[test]
fn destinations_and_defaults() {
    let mut app = Application::default();
    app.spec.destination.name = Some("in-cluster".into());
    assert!(app.spec.destination.is_in_cluster());
    app.spec.destination = ApplicationDestination {
        server: Some("https://kubernetes.default.svc/".into()),
        ..Default::default()
    };
    assert!(app.spec.destination.is_in_cluster());
    assert_eq!(app.spec.destination.namespace(), "");
    assert_eq!(app.revision_history_limit(), 10);
    assert!(app.auto_sync().is_none());
    app.spec.sync_policy = Some(SyncPolicy {
        automated: Some(SyncPolicyAutomated {
            enabled: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(app.auto_sync().is_none());
    let src = ApplicationSource {
        path: Some("./a/b/".into()),
        ..Default::default()
    };
    assert_eq!(src.source_path(), "a/b");
    assert_eq!(src.revision(), "HEAD");
    assert_eq!(ApplicationSource::default().source_path(), ".");
    // values is used only when valuesObject is absent
    let h = ApplicationSourceHelm {
        values: Some("a: 1".into()),
        ..Default::default()
    };
    assert_eq!(h.inline_values(), InlineValues::Yaml("a: 1"));
}
