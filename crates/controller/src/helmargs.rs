//! What Argo CD passes to `helm template` for a Helm source (`util/helm/cmd.go` and the repo
//! server), as data: release name, namespace, value files in order, inline values, `--set`
//! parameters, flags. The controller maps this onto the helm crate's render options.
//!
//! Precedence (lowest → highest): chart `values.yaml` < value files (in order) < inline values
//! (`valuesObject`, else `values`) < parameters.

use crate::application::{Application, InlineValues};
use crate::valuefiles::{
    ResolveContext, ValueFile, ValueFileError, resolve_value_file, substitute_env,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// Cluster facts the render depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Kubernetes version (`v1.34.2` or `1.34.2`).
    pub kube_version: String,
    /// API versions (`apps/v1`, `apps/v1/Deployment`, …).
    pub api_versions: Vec<String>,
}

/// Inline values of the source (owned).
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// None.
    None,
    /// `values` as YAML text.
    Yaml(String),
    /// `valuesObject`.
    Object(Value),
}

/// One `--set`/`--set-string` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetParam {
    /// Key path (`image.tag`).
    pub name: String,
    /// Value after build-env substitution and comma escaping (Argo CD's
    /// `cleanSetParameters`).
    pub value: String,
    /// `--set-string` (from `forceString`).
    pub force_string: bool,
}

/// One `--set-file` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetFileParam {
    /// Key path.
    pub name: String,
    /// The resolved file.
    pub file: ValueFile,
}

/// The `helm template` invocation for one Helm source.
#[derive(Debug, Clone, PartialEq)]
pub struct HelmTemplate {
    /// `--name-template`: `helm.releaseName`, else the app name.
    pub release_name: String,
    /// `--namespace`: `helm.namespace`, else the destination namespace.
    pub namespace: String,
    /// `--kube-version`: `helm.kubeVersion`, else the cluster's.
    pub kube_version: String,
    /// `--api-versions`: `helm.apiVersions`, else the cluster's.
    pub api_versions: Vec<String>,
    /// `--values`, in order (globs not yet expanded, see [`crate::valuefiles::expand_globs`]).
    pub value_files: Vec<ValueFile>,
    /// Skip missing value files.
    pub ignore_missing_value_files: bool,
    /// The extra values file written from `valuesObject` or `values`.
    pub inline_values: Inline,
    /// `--set` / `--set-string`, in spec order, a later parameter with the same name replacing
    /// an earlier one.
    pub set: Vec<SetParam>,
    /// `--set-file`.
    pub set_file: Vec<SetFileParam>,
    /// `--include-crds` (unless `skipCrds`).
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
}

/// The build environment Argo CD exposes to value-file paths and parameter values.
pub fn build_env(
    app: &Application,
    source_index: usize,
    revision: &str,
    cluster: &ClusterInfo,
) -> BTreeMap<String, String> {
    let sources = app.sources();
    let src = sources.get(source_index);
    let short = |n: usize| revision.chars().take(n).collect::<String>();
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("ARGOCD_APP_NAME", app.metadata.name.clone());
    set(
        "ARGOCD_APP_NAMESPACE",
        app.spec.destination.namespace().to_string(),
    );
    set("ARGOCD_APP_PROJECT_NAME", app.spec.project.clone());
    set("ARGOCD_APP_REVISION", revision.to_string());
    set("ARGOCD_APP_REVISION_SHORT", short(7));
    set("ARGOCD_APP_REVISION_SHORT_8", short(8));
    set(
        "ARGOCD_APP_SOURCE_PATH",
        src.and_then(|s| s.path.clone()).unwrap_or_default(),
    );
    set(
        "ARGOCD_APP_SOURCE_REPO_URL",
        src.map(|s| s.repo_url.clone()).unwrap_or_default(),
    );
    set(
        "ARGOCD_APP_SOURCE_TARGET_REVISION",
        src.and_then(|s| s.target_revision.clone())
            .unwrap_or_default(),
    );
    set(
        "KUBE_VERSION",
        cluster.kube_version.trim_start_matches('v').to_string(),
    );
    set("KUBE_API_VERSIONS", cluster.api_versions.join(","));
    env
}

/// Argo CD's `cleanSetParameters`: commas are escaped (`\,`) unless already escaped or the
/// value is a Helm list `{a,b}`.
pub fn escape_set_value(v: &str) -> String {
    if v.starts_with('{') && v.ends_with('}') {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    let mut prev = None;
    for c in v.chars() {
        if c == ',' && prev != Some('\\') {
            out.push('\\');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// Builds the invocation for source `source_index` of `app` (which must be a Helm source;
/// a missing `helm` block means defaults).
pub fn helm_template(
    app: &Application,
    source_index: usize,
    env: &BTreeMap<String, String>,
    allowed_schemes: &[&str],
    cluster: &ClusterInfo,
) -> Result<HelmTemplate, ValueFileError> {
    let sources = app.sources();
    let default_helm = Default::default();
    let helm = sources
        .get(source_index)
        .and_then(|s| s.helm.as_ref())
        .unwrap_or(&default_helm);
    let ctx = ResolveContext {
        sources: &sources,
        source_index,
        allowed_schemes,
        env,
    };
    let value_files = helm
        .value_files
        .iter()
        .map(|f| resolve_value_file(f, &ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let mut set: Vec<SetParam> = Vec::new();
    for p in &helm.parameters {
        set.retain(|s| s.name != p.name);
        set.push(SetParam {
            name: p.name.clone(),
            value: escape_set_value(&substitute_env(&p.value, env)),
            force_string: p.force_string,
        });
    }
    let set_file = helm
        .file_parameters
        .iter()
        .map(|p| {
            Ok(SetFileParam {
                name: p.name.clone(),
                file: resolve_value_file(&p.path, &ctx)?,
            })
        })
        .collect::<Result<Vec<_>, ValueFileError>>()?;
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Ok(HelmTemplate {
        release_name: non_empty(&helm.release_name).unwrap_or_else(|| app.metadata.name.clone()),
        namespace: non_empty(&helm.namespace)
            .unwrap_or_else(|| app.spec.destination.namespace().to_string()),
        kube_version: non_empty(&helm.kube_version).unwrap_or_else(|| cluster.kube_version.clone()),
        api_versions: if helm.api_versions.is_empty() {
            cluster.api_versions.clone()
        } else {
            helm.api_versions.clone()
        },
        value_files,
        ignore_missing_value_files: helm.ignore_missing_value_files,
        inline_values: match helm.inline_values() {
            InlineValues::None => Inline::None,
            InlineValues::Yaml(s) => Inline::Yaml(s.to_string()),
            InlineValues::Object(v) => Inline::Object(v.clone()),
        },
        set,
        set_file,
        include_crds: !helm.skip_crds,
        skip_tests: helm.skip_tests,
        skip_schema_validation: helm.skip_schema_validation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valuefiles::{DEFAULT_ALLOWED_SCHEMES, RepoFile};
    use serde_json::json;

    fn app() -> Application {
        Application::from_value(&json!({
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "team",
                "sources": [
                    {"repoURL": "https://git.example.com/charts.git", "path": "charts/web", "targetRevision": "main",
                     "helm": {"valueFiles": ["values-$ARGOCD_APP_NAME.yaml", "$values/envs/${ARGOCD_APP_NAMESPACE}.yaml"],
                              "values": "ignored: true", "valuesObject": {"replicas": 2},
                              "parameters": [{"name": "image.tag", "value": "$ARGOCD_APP_REVISION_SHORT"},
                                             {"name": "hosts", "value": "a,b"}, {"name": "list", "value": "{a,b}"},
                                             {"name": "image.tag", "value": "x\\,y,z", "forceString": true}],
                              "fileParameters": [{"name": "config", "path": "files/config.json"}],
                              "skipCrds": true}},
                    {"repoURL": "https://git.example.com/values.git", "ref": "values"}
                ],
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"}}
        }))
        .expect("app")
    }

    #[test]
    fn invocation_like_argo() {
        let a = app();
        let cluster = ClusterInfo {
            kube_version: "v1.34.2".into(),
            api_versions: vec!["apps/v1".into(), "batch/v1".into()],
        };
        let env = build_env(&a, 0, "3f2c1e9d8b7a6f5e", &cluster);
        assert_eq!(env["ARGOCD_APP_REVISION_SHORT"], "3f2c1e9");
        assert_eq!(env["ARGOCD_APP_REVISION_SHORT_8"], "3f2c1e9d");
        assert_eq!(env["ARGOCD_APP_NAMESPACE"], "prod");
        assert_eq!(env["ARGOCD_APP_PROJECT_NAME"], "team");
        assert_eq!(env["ARGOCD_APP_SOURCE_PATH"], "charts/web");
        assert_eq!(env["KUBE_VERSION"], "1.34.2");
        assert_eq!(env["KUBE_API_VERSIONS"], "apps/v1,batch/v1");
        let t = helm_template(&a, 0, &env, DEFAULT_ALLOWED_SCHEMES, &cluster).expect("ok");
        assert_eq!(t.release_name, "web");
        assert_eq!(t.namespace, "prod");
        assert_eq!(t.kube_version, "v1.34.2");
        assert_eq!(
            t.value_files,
            vec![
                ValueFile::Repo(RepoFile {
                    source: 0,
                    path: "charts/web/values-web.yaml".into()
                }),
                ValueFile::Repo(RepoFile {
                    source: 1,
                    path: "envs/prod.yaml".into()
                }),
            ]
        );
        assert_eq!(t.inline_values, Inline::Object(json!({"replicas": 2})));
        assert_eq!(
            t.set,
            vec![
                SetParam {
                    name: "hosts".into(),
                    value: "a\\,b".into(),
                    force_string: false
                },
                SetParam {
                    name: "list".into(),
                    value: "{a,b}".into(),
                    force_string: false
                },
                SetParam {
                    name: "image.tag".into(),
                    value: "x\\,y\\,z".into(),
                    force_string: true
                },
            ]
        );
        assert_eq!(
            t.set_file[0].file,
            ValueFile::Repo(RepoFile {
                source: 0,
                path: "charts/web/files/config.json".into()
            })
        );
        assert!(!t.include_crds);
    }

    #[test]
    fn value_file_errors_surface() {
        let mut a = app();
        a.spec.sources[0].helm.as_mut().expect("helm").value_files = vec!["../../../x.yaml".into()];
        let env = BTreeMap::new();
        let err = helm_template(
            &a,
            0,
            &env,
            DEFAULT_ALLOWED_SCHEMES,
            &ClusterInfo::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "file '../../../x.yaml' resolved to outside repository root"
        );
    }
}
