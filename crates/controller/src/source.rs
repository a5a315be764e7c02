//! Manifest generation for one Application (Argo CD's repo server), from repository files
//! already read at a commit (no checkout, nothing written to disk):
//!
//! * Helm sources: the chart's files from the source path, `file://` dependencies without a
//!   vendored `charts/` entry resolved from the repository (`helm dependency build`), value
//!   files resolved by [`crate::valuefiles`], helm-secrets value files decrypted in memory by
//!   the sops crate (keys from Kubernetes Secrets through a [`SecretFetcher`]), inline values
//!   and parameters, rendered by the helm crate.
//! * Directory sources: the selected YAML/JSON files, split into objects (`List` expanded).
//!
//! Errors are messages fit for a `ComparisonError` condition: they name the file and never
//! contain decrypted values.

use crate::application::{Application, ApplicationSourceDirectory, SourceType};
use crate::helmargs::{ClusterInfo, Inline, build_env, helm_template};
use crate::valuefiles::{DEFAULT_ALLOWED_SCHEMES, RepoFile, ValueFile, expand_globs};
use serde_json::Value;
use sops::valuefile::{KeySource, SecretFetcher, ValueFileRef, decrypt_bytes};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every file of a repository at one commit: path from the root → content.
pub type RepoFiles = BTreeMap<String, Vec<u8>>;

/// One source's repository snapshot.
#[derive(Debug, Clone)]
pub struct SourceSnapshot {
    /// Resolved commit.
    pub revision: String,
    /// Files at that commit.
    pub files: Arc<RepoFiles>,
}

/// A manifest generation failure (message for the `ComparisonError` condition).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

fn err(msg: impl Into<String>) -> RenderError {
    RenderError(msg.into())
}

/// Normalises a `/`-separated path: removes `.`, resolves `..` (an escape above the root is an
/// error), drops the leading `/`.
pub fn normalize_path(p: &str) -> Result<String, RenderError> {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(err(format!("{p}: resolves outside the repository")));
                }
            }
            x => out.push(x),
        }
    }
    Ok(out.join("/"))
}

fn join(dir: &str, rel: &str) -> Result<String, RenderError> {
    if dir == "." || dir.is_empty() {
        normalize_path(rel)
    } else {
        normalize_path(&format!("{dir}/{rel}"))
    }
}

/// Files under `dir` (repository-relative), keyed by their path relative to `dir`.
pub fn files_under(files: &RepoFiles, dir: &str) -> BTreeMap<String, Vec<u8>> {
    if dir == "." || dir.is_empty() {
        return files.clone();
    }
    let prefix = format!("{}/", dir.trim_matches('/'));
    files
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
        .collect()
}

/// The source type of source `i` (explicit block, else `Chart.yaml` → Helm, else Directory).
pub fn source_type(app: &Application, i: usize, files: &RepoFiles) -> SourceType {
    let sources = app.sources();
    let Some(src) = sources.get(i) else {
        return SourceType::Directory;
    };
    if let Some(t) = src.explicit_type() {
        return t;
    }
    let path = src.source_path();
    let chart = if path == "." {
        "Chart.yaml".to_string()
    } else {
        format!("{path}/Chart.yaml")
    };
    if files.contains_key(&chart) {
        SourceType::Helm
    } else {
        SourceType::Directory
    }
}

/// Generates the manifests of every rendered source of `app` (`snapshots[i]` belongs to
/// `app.sources()[i]`), in source order.
pub fn generate(
    app: &Application,
    snapshots: &[SourceSnapshot],
    cluster: &ClusterInfo,
    kube: &dyn SecretFetcher,
) -> Result<Vec<Value>, RenderError> {
    let sources = app.sources();
    if sources.is_empty() {
        return Err(err("spec.source or spec.sources is required"));
    }
    let mut out = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        if src.is_ref_only() {
            continue;
        }
        if src.is_helm_repo() {
            return Err(err(format!(
                "source {}: Helm repository charts ({}) are not supported by ferry yet",
                src.repo_url,
                src.chart.as_deref().unwrap_or("")
            )));
        }
        let snap = snapshots
            .get(i)
            .ok_or_else(|| err(format!("source {i}: repository not fetched")))?;
        let path = src.source_path();
        if path != "."
            && !snap
                .files
                .keys()
                .any(|k| k.starts_with(&format!("{path}/")))
        {
            return Err(err(format!(
                "{path}: app path does not exist in {} at {}",
                src.repo_url, snap.revision
            )));
        }
        match source_type(app, i, &snap.files) {
            SourceType::Helm => out.extend(render_helm(app, i, snapshots, cluster, kube)?),
            SourceType::Directory => {
                let dir = src.directory.clone().unwrap_or_default();
                out.extend(render_directory(&snap.files, &path, &dir)?);
            }
            SourceType::Kustomize => {
                return Err(err(format!(
                    "{path}: Kustomize sources are not supported by ferry"
                )));
            }
            SourceType::Plugin => {
                return Err(err(format!(
                    "{path}: plugin sources are not supported by ferry"
                )));
            }
        }
    }
    Ok(out)
}

/// A digest of everything [`generate`] reads for `app` from `snapshots`: the app's identity,
/// sources and destination, every file under each source path, the `helm template` arguments
/// (after build-environment substitution, so a parameter naming the revision makes the digest
/// change with it) and the value and `--set-file` files. Two snapshots with the same digest
/// render the same manifests, so a render at another commit that changed none of these can be
/// reused.
///
/// `None` when the inputs cannot be bounded this way: helm-secrets value files (their keys
/// live in the cluster), remote value files, value file globs, `file://` chart dependencies,
/// Helm repository charts, a source without its snapshot.
pub fn input_digest(
    app: &Application,
    snapshots: &[SourceSnapshot],
    cluster: &ClusterInfo,
) -> Option<String> {
    use sha2::{Digest, Sha256};
    fn feed(h: &mut Sha256, b: &[u8]) {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    }
    fn feed_file(h: &mut Sha256, snapshots: &[SourceSnapshot], rf: &RepoFile) -> Option<()> {
        if rf.path.contains(['*', '?', '[', '{']) {
            return None;
        }
        let snap = snapshots.get(rf.source)?;
        feed(h, format!("{}:{}", rf.source, rf.path).as_bytes());
        match snap.files.get(&rf.path) {
            Some(data) => feed(h, data),
            None => feed(h, b"\0absent"),
        }
        Some(())
    }
    let mut h = Sha256::new();
    let identity = serde_json::json!([
        app.metadata.name,
        app.metadata.namespace,
        app.spec.project,
        app.spec.destination,
    ]);
    feed(&mut h, identity.to_string().as_bytes());
    for (i, src) in app.sources().iter().enumerate() {
        feed(&mut h, serde_json::to_string(src).ok()?.as_bytes());
        if src.is_ref_only() {
            continue;
        }
        if src.is_helm_repo() {
            return None;
        }
        let snap = snapshots.get(i)?;
        let path = src.source_path();
        let prefix = if path == "." || path.is_empty() {
            String::new()
        } else {
            format!("{}/", path.trim_matches('/'))
        };
        for (k, v) in snap
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            feed(&mut h, k.as_bytes());
            feed(&mut h, v);
        }
        if source_type(app, i, &snap.files) != SourceType::Helm {
            continue;
        }
        let chart_yaml = snap.files.get(&format!("{prefix}Chart.yaml"))?;
        if String::from_utf8_lossy(chart_yaml).contains("file://") {
            return None;
        }
        let env = build_env(app, i, &snap.revision, cluster);
        let ht = helm_template(app, i, &env, DEFAULT_ALLOWED_SCHEMES, cluster).ok()?;
        feed(&mut h, format!("{ht:?}").as_bytes());
        for vf in &ht.value_files {
            match vf {
                ValueFile::Repo(rf) => feed_file(&mut h, snapshots, rf)?,
                ValueFile::Url(_) | ValueFile::Secrets(_) => return None,
            }
        }
        for p in &ht.set_file {
            match &p.file {
                ValueFile::Repo(rf) => feed_file(&mut h, snapshots, rf)?,
                ValueFile::Url(_) | ValueFile::Secrets(_) => return None,
            }
        }
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Parses a YAML/JSON stream into objects (`List` items expanded, empty documents dropped).
pub fn parse_manifests(name: &str, text: &str) -> Result<Vec<Value>, RenderError> {
    let mut out = Vec::new();
    for doc in helm::manifest::split_manifests(text) {
        let v = goyaml::yaml_to_json_value(&doc)
            .map_err(|e| err(format!("failed to unmarshal {name}: {e}")))?;
        match v {
            Value::Null => {}
            Value::Object(ref m) => {
                if m.get("kind").and_then(Value::as_str) == Some("List")
                    && let Some(items) = m.get("items").and_then(Value::as_array)
                {
                    out.extend(items.iter().filter(|i| i.is_object()).cloned());
                } else {
                    out.push(v);
                }
            }
            _ => return Err(err(format!("{name}: a manifest must be an object"))),
        }
    }
    Ok(out)
}

/// Renders a Directory source.
pub fn render_directory(
    files: &RepoFiles,
    path: &str,
    dir: &ApplicationSourceDirectory,
) -> Result<Vec<Value>, RenderError> {
    let under = files_under(files, path);
    let listing: Vec<String> = under.keys().cloned().collect();
    let mut out = Vec::new();
    for f in crate::directory::select_files(&listing, dir) {
        if f.ends_with(".jsonnet") {
            return Err(err(format!("{f}: Jsonnet is not supported by ferry")));
        }
        let data = under
            .get(&f)
            .map(|d| String::from_utf8_lossy(d))
            .unwrap_or_default();
        let shown = join(path, &f)?;
        out.extend(parse_manifests(&shown, &data)?);
    }
    Ok(out)
}

/// Adds `file://` dependencies that are not vendored under `charts/` from the repository
/// (as `helm dependency build` would), recursively.
fn vendor_file_deps(
    chart: &mut BTreeMap<String, Vec<u8>>,
    chart_dir: &str,
    repo: &RepoFiles,
    depth: usize,
) -> Result<(), RenderError> {
    if depth > 10 {
        return Err(err(format!(
            "{chart_dir}: file:// dependencies nested too deeply"
        )));
    }
    let Some(meta) = chart.get("Chart.yaml") else {
        return Ok(());
    };
    let meta = goyaml::yaml_to_json_value(&String::from_utf8_lossy(meta))
        .map_err(|e| err(format!("{chart_dir}/Chart.yaml: {e}")))?;
    let deps = meta
        .get("dependencies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for d in deps {
        let (Some(name), Some(repository)) = (
            d.get("name").and_then(Value::as_str),
            d.get("repository").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(rel) = repository.strip_prefix("file://") else {
            continue;
        };
        let prefix = format!("charts/{name}/");
        let vendored = chart.keys().any(|k| {
            k.starts_with(&prefix)
                || (k.starts_with(&format!("charts/{name}-")) && k.ends_with(".tgz"))
        });
        if vendored {
            continue;
        }
        let dep_dir = join(chart_dir, rel)?;
        let mut dep_files = files_under(repo, &dep_dir);
        if !dep_files.contains_key("Chart.yaml") {
            return Err(err(format!(
                "{chart_dir}/Chart.yaml: dependency {name}: directory {dep_dir} has no Chart.yaml"
            )));
        }
        vendor_file_deps(&mut dep_files, &dep_dir, repo, depth + 1)?;
        for (k, v) in dep_files {
            chart.insert(format!("{prefix}{k}"), v);
        }
    }
    Ok(())
}

fn read_repo_file<'a>(
    snapshots: &'a [SourceSnapshot],
    f: &RepoFile,
) -> Result<Option<&'a Vec<u8>>, RenderError> {
    let snap = snapshots
        .get(f.source)
        .ok_or_else(|| err(format!("{}: source {} not fetched", f.path, f.source)))?;
    Ok(snap.files.get(&f.path))
}

fn merge(base: helm::Values, over: helm::Values) -> helm::Values {
    helm::values::merge_maps(base, over)
}

fn decrypt_secrets_file(
    app: &Application,
    i: usize,
    s: &crate::valuefiles::SecretsValueFile,
    snapshots: &[SourceSnapshot],
    kube: &dyn SecretFetcher,
) -> Result<Option<helm::Values>, RenderError> {
    let r = ValueFileRef::parse(&s.url)
        .map_err(|e| err(e.to_string()))?
        .ok_or_else(|| err(format!("{}: not a helm-secrets reference", s.url)))?;
    let Some(file) = s.file.as_deref() else {
        return Err(err(format!("{}: secrets+literal is not supported", s.url)));
    };
    let ValueFile::Repo(rf) = file else {
        return Err(err(format!(
            "{}: remote secrets value files are not supported by ferry",
            s.url
        )));
    };
    let Some(data) = read_repo_file(snapshots, rf)? else {
        if s.ignore_missing {
            return Ok(None);
        }
        return Err(err(format!("open {}: no such file or directory", rf.path)));
    };
    let mut keys = sops::Keyring::new();
    let src_path = app
        .sources()
        .get(i)
        .map(|s| s.source_path())
        .unwrap_or_else(|| ".".into());
    let keys = match &r.key {
        KeySource::Environment => sops::Keyring::from_environment(),
        KeySource::AgeKubernetes(k) | KeySource::GpgKubernetes(k) => {
            let location = format!(
                "Secret {}{}#{}",
                k.namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                k.name,
                k.key
            );
            let bytes = kube
                .fetch(k.namespace.as_deref(), &k.name, &k.key)
                .map_err(|e| err(format!("{}: {location}: {e}", s.url)))?;
            let res = if matches!(r.key, KeySource::AgeKubernetes(_)) {
                let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
                keys.add_age_identities(&text, &location)
            } else {
                keys.add_pgp_secret_keys(&bytes, &location)
            };
            res.map_err(|e| err(format!("{}: cannot load key from {location}: {e}", s.url)))?;
            keys
        }
        KeySource::AgeFile(p) | KeySource::GpgFile(p) => {
            let kp = join(&src_path, p)?;
            let data = snapshots
                .get(i)
                .and_then(|sn| sn.files.get(&kp))
                .ok_or_else(|| err(format!("{}: key file {kp} not found", s.url)))?;
            let res = if matches!(r.key, KeySource::AgeFile(_)) {
                let text = zeroize::Zeroizing::new(String::from_utf8_lossy(data).into_owned());
                keys.add_age_identities(&text, &kp)
            } else {
                keys.add_pgp_secret_keys(data, &kp)
            };
            res.map_err(|e| err(format!("{}: cannot load key {kp}: {e}", s.url)))?;
            keys
        }
    };
    let plain = decrypt_bytes(&rf.path, data, &keys).map_err(|e| err(e.to_string()))?;
    let values = helm::yaml::load_values_file(&plain)
        .map_err(|e| err(format!("failed to parse {}: {e}", rf.path)))?;
    Ok(Some(values))
}

/// Renders Helm source `i`.
pub fn render_helm(
    app: &Application,
    i: usize,
    snapshots: &[SourceSnapshot],
    cluster: &ClusterInfo,
    kube: &dyn SecretFetcher,
) -> Result<Vec<Value>, RenderError> {
    let sources = app.sources();
    let src = sources[i];
    let snap = &snapshots[i];
    let path = src.source_path();
    let env = build_env(app, i, &snap.revision, cluster);
    let ht = helm_template(app, i, &env, DEFAULT_ALLOWED_SCHEMES, cluster)
        .map_err(|e| err(e.to_string()))?;

    let mut chart_files = files_under(&snap.files, &path);
    vendor_file_deps(&mut chart_files, &path, &snap.files, 0)?;
    let chart =
        helm::Chart::from_files(chart_files).map_err(|e| err(format!("{path}: {}", e.0)))?;

    let listing = |s: usize| -> Vec<String> {
        snapshots
            .get(s)
            .map(|sn| sn.files.keys().cloned().collect())
            .unwrap_or_default()
    };
    let value_files = expand_globs(&ht.value_files, &listing, ht.ignore_missing_value_files)
        .map_err(|e| err(e.to_string()))?;
    let mut vals = helm::Values::new();
    for vf in &value_files {
        match vf {
            ValueFile::Repo(rf) => match read_repo_file(snapshots, rf)? {
                Some(data) => {
                    let v = helm::yaml::load_values_file(data)
                        .map_err(|e| err(format!("failed to parse {}: {e}", rf.path)))?;
                    vals = merge(vals, v);
                }
                None if ht.ignore_missing_value_files => {}
                None => {
                    return Err(err(format!("open {}: no such file or directory", rf.path)));
                }
            },
            ValueFile::Url(u) => {
                return Err(err(format!(
                    "{u}: remote value files are not supported by ferry"
                )));
            }
            ValueFile::Secrets(s) => {
                if let Some(v) = decrypt_secrets_file(app, i, s, snapshots, kube)? {
                    vals = merge(vals, v);
                }
            }
        }
    }
    match &ht.inline_values {
        Inline::None => {}
        Inline::Yaml(y) => {
            let v = helm::yaml::load_values_file(y.as_bytes())
                .map_err(|e| err(format!("failed to parse spec.source.helm.values: {e}")))?;
            vals = merge(vals, v);
        }
        Inline::Object(Value::Object(m)) => vals = merge(vals, m.clone()),
        Inline::Object(_) => {}
    }
    for p in &ht.set {
        let expr = format!("{}={}", p.name, p.value);
        let reader = if p.force_string {
            helm::strvals::Reader::String
        } else {
            helm::strvals::Reader::Typed
        };
        helm::strvals::parse_into(&expr, &mut vals, reader)
            .map_err(|e| err(format!("failed parsing --set data: {e}")))?;
    }
    for p in &ht.set_file {
        let ValueFile::Repo(rf) = &p.file else {
            return Err(err(format!(
                "{}: only repository files are supported",
                p.name
            )));
        };
        let data = read_repo_file(snapshots, rf)?
            .ok_or_else(|| err(format!("open {}: no such file or directory", rf.path)))?
            .clone();
        let read = move |_: &str| -> Result<String, String> {
            Ok(String::from_utf8_lossy(&data).into_owned())
        };
        let expr = format!("{}={}", p.name, rf.path);
        helm::strvals::parse_into(&expr, &mut vals, helm::strvals::Reader::File(&read))
            .map_err(|e| err(format!("failed parsing --set-file data: {e}")))?;
    }

    let kube_version = if ht.kube_version.is_empty() {
        None
    } else {
        Some(helm::KubeVersion::parse(&ht.kube_version).map_err(err)?)
    };
    let opts = helm::RenderOptions {
        release_name: ht.release_name.clone(),
        namespace: ht.namespace.clone(),
        kube_version,
        api_versions: ht.api_versions.clone(),
        skip_schema_validation: ht.skip_schema_validation,
        ..Default::default()
    };
    let rendered =
        helm::render_owned(chart, &vals, &opts).map_err(|e| err(e.message().to_string()))?;
    let objects = rendered
        .objects(ht.include_crds)
        .map_err(|e| err(e.message().to_string()))?;
    Ok(objects
        .into_iter()
        .filter(|o| !o.object.is_null())
        .filter(|o| !(ht.skip_tests && o.hook_events.iter().any(|h| h.starts_with("test"))))
        .map(|o| o.object)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Keys(Vec<u8>);
    impl SecretFetcher for Keys {
        fn fetch(
            &self,
            _ns: Option<&str>,
            _name: &str,
            _key: &str,
        ) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
            Ok(zeroize::Zeroizing::new(self.0.clone()))
        }
    }

    fn demo_repo() -> RepoFiles {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
        let mut out = RepoFiles::new();
        fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut RepoFiles) {
            for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    let rel = p
                        .strip_prefix(base)
                        .expect("prefix")
                        .to_string_lossy()
                        .into_owned();
                    out.insert(rel, std::fs::read(&p).expect("read"));
                }
            }
        }
        walk(&root, &root, &mut out);
        out
    }

    fn app(v: Value) -> Application {
        Application::from_value(&v).expect("app")
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_path("a/./b/../c").unwrap(), "a/c");
        assert!(normalize_path("../x").is_err());
        assert_eq!(
            join("deployment/kubernetes/charts/api", "../common").unwrap(),
            "deployment/kubernetes/charts/common"
        );
    }

    #[test]
    fn renders_demo_api_with_secrets_and_file_dependency() {
        let repo = Arc::new(demo_repo());
        let key = repo["age-test-key.txt"].clone();
        let a = app(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "api-dev", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "file:///x", "path": "deployment/kubernetes/charts/api",
                    "helm": {"releaseName": "api", "valueFiles": [
                        "/deployment/kubernetes/.envs/latest.yaml",
                        "/deployment/kubernetes/.envs/dev.yaml",
                        "secrets+age-import-kubernetes://argocd/sops-age#key.txt?/deployment/kubernetes/.envs/dev-secrets.yaml"]}},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "dev-api"}}
        }));
        let snaps = vec![SourceSnapshot {
            revision: "abc".into(),
            files: repo,
        }];
        let objs = generate(&a, &snaps, &ClusterInfo::default(), &Keys(key)).expect("render");
        let kinds: Vec<&str> = objs.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert!(kinds.contains(&"Deployment"), "{kinds:?}");
        assert!(kinds.contains(&"Secret"), "{kinds:?}");
        // wrong key: error, and no plaintext in the message
        let e = generate(&a, &snaps, &ClusterInfo::default(), &Keys(b"nope".to_vec()))
            .expect_err("bad key");
        assert!(e.0.contains("sops-age"), "{}", e.0);
    }

    #[test]
    fn input_digest_covers_what_the_render_reads() {
        let chart = |files: &mut RepoFiles| {
            files.insert(
                "charts/web/Chart.yaml".into(),
                b"apiVersion: v2\nname: web\nversion: 1.0.0\n".to_vec(),
            );
            files.insert(
                "charts/web/templates/cm.yaml".into(),
                b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {tag: {{ .Values.tag | quote }}}\n".to_vec(),
            );
        };
        let mut one = RepoFiles::new();
        chart(&mut one);
        one.insert("apps/a/values.yaml".into(), b"tag: v1\n".to_vec());
        one.insert("apps/b/values.yaml".into(), b"tag: v1\n".to_vec());
        let snap = |files: &RepoFiles, rev: &str| {
            vec![SourceSnapshot {
                revision: rev.into(),
                files: Arc::new(files.clone()),
            }]
        };
        let a = |params: Value| {
            app(json!({
                "metadata": {"name": "a", "namespace": "argocd"},
                "spec": {"project": "default",
                    "source": {"repoURL": "file:///x", "path": "charts/web", "targetRevision": "main",
                        "helm": {"valueFiles": ["/apps/a/values.yaml"], "parameters": params}},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "a"}}
            }))
        };
        let cluster = ClusterInfo::default();
        let plain = a(json!([]));
        let d1 = input_digest(&plain, &snap(&one, "c1"), &cluster).expect("digest");
        // another app's values changed, at another commit: same inputs
        let mut two = one.clone();
        two.insert("apps/b/values.yaml".into(), b"tag: v2\n".to_vec());
        assert_eq!(
            input_digest(&plain, &snap(&two, "c2"), &cluster),
            Some(d1.clone())
        );
        // its own values, or a chart file: different
        let mut three = one.clone();
        three.insert("apps/a/values.yaml".into(), b"tag: v2\n".to_vec());
        assert_ne!(
            input_digest(&plain, &snap(&three, "c3"), &cluster),
            Some(d1.clone())
        );
        let mut four = one.clone();
        four.insert("charts/web/templates/extra.yaml".into(), b"# x\n".to_vec());
        assert_ne!(
            input_digest(&plain, &snap(&four, "c4"), &cluster),
            Some(d1.clone())
        );
        // a parameter naming the revision: the digest follows the commit
        let rev = a(json!([{"name": "rev", "value": "$ARGOCD_APP_REVISION"}]));
        assert_ne!(
            input_digest(&rev, &snap(&one, "c1"), &cluster),
            input_digest(&rev, &snap(&two, "c2"), &cluster)
        );
        // a helm-secrets value file: not bounded
        let mut secret = plain.clone();
        if let Some(h) = secret.spec.source.as_mut().and_then(|s| s.helm.as_mut()) {
            h.value_files = vec!["secrets://apps/a/secrets.yaml".into()];
        }
        assert_eq!(input_digest(&secret, &snap(&one, "c1"), &cluster), None);
    }

    #[test]
    fn directory_source_expands_lists() {
        let mut files = RepoFiles::new();
        files.insert("m/a.yaml".into(),
            b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n---\n# empty\n".to_vec());
        files.insert("m/b.txt".into(), b"ignored".to_vec());
        let objs = render_directory(&files, "m", &Default::default()).expect("dir");
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0]["metadata"]["name"], "a");
    }
}
