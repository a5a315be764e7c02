//! `helm template --dependency-update` (Helm's `downloader.Manager.Update`) for dependencies
//! whose repository is `file://PATH` or empty (already under `charts/`), done in memory: the
//! referenced chart directories are loaded as `helm package` would archive them into
//! `charts/<name>-<version>.tgz`, outdated archives in `charts/` are left out, and nothing is
//! written to the chart directory (Helm writes the archives and `Chart.lock`; ferry renders
//! the same chart without touching the user's files). Charts from HTTP or OCI repositories
//! are not fetched: such a dependency is an error.
//!
//! Paths are `/`-separated; a [`Source`] reads chart directories either from the filesystem
//! ([`DirSource`]) or from files held in memory, such as a repository read out of git
//! ([`MemorySource`]).
//!
//! ```no_run
//! use helm::update::{DirSource, dependency_update};
//! let updated = dependency_update("./mychart", &DirSource).unwrap();
//! print!("{}", updated.output); // "Saving 2 charts\nDeleting outdated charts\n"
//! let chart = updated.chart;
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sprig::semver::{SemverVersion, constraint_check};

use crate::chart::{self, Chart, File, LoadError};

/// Where chart directories are read from.
pub trait Source {
    /// Whether `path` exists (file or directory).
    fn exists(&self, path: &str) -> bool;
    /// The files of the chart directory at `path` (relative names, `.helmignore` applied), as
    /// Helm's `loader.LoadDir` reads them.
    fn chart_files(&self, path: &str) -> Result<Vec<File>, LoadError>;
}

/// Chart directories on the filesystem.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirSource;

impl Source for DirSource {
    fn exists(&self, path: &str) -> bool {
        Path::new(path).exists()
    }
    fn chart_files(&self, path: &str) -> Result<Vec<File>, LoadError> {
        chart::dir_files(Path::new(path))
    }
}

/// Chart directories inside a set of in-memory files (e.g. a git tree): `/`-separated paths
/// from the root of the set.
#[derive(Clone, Copy, Debug)]
pub struct MemorySource<'a>(pub &'a BTreeMap<String, Vec<u8>>);

impl Source for MemorySource<'_> {
    fn exists(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        let dir = format!("{path}/");
        path.is_empty()
            || path == "."
            || self.0.contains_key(path)
            || self
                .0
                .range(dir.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&dir))
    }
    fn chart_files(&self, path: &str) -> Result<Vec<File>, LoadError> {
        let path = path.trim_start_matches('/');
        let prefix = if path.is_empty() || path == "." {
            String::new()
        } else {
            format!("{path}/")
        };
        let files: BTreeMap<String, Vec<u8>> = self
            .0
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
            .collect();
        if !files.contains_key("Chart.yaml") {
            return Err(LoadError(format!(
                "Chart.yaml file is missing in {}",
                if path.is_empty() { "." } else { path }
            )));
        }
        chart::filter_files(files)
    }
}

/// The result of [`dependency_update`].
#[derive(Debug)]
pub struct Updated {
    /// The chart as Helm reloads it after the update.
    pub chart: Chart,
    /// What Helm prints while updating (`Saving N charts`, …), before the manifests.
    pub output: String,
}

/// Go's `filepath.Join(a, b)` (then `Clean`).
fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        return chart::clean_path(b);
    }
    chart::clean_path(&format!("{a}/{b}"))
}

/// Helm's `resolver.GetLocalPath`.
fn local_path(repo: &str, chart_path: &str, source: &dyn Source) -> Result<String, String> {
    let p = repo.strip_prefix("file://").unwrap_or(repo);
    let dep = if p.starts_with('/') {
        chart::clean_path(p)
    } else {
        join(chart_path, p)
    };
    if !source.exists(&dep) {
        return Err(format!("directory {dep} not found"));
    }
    Ok(dep)
}

fn load(path: &str, source: &dyn Source) -> Result<Chart, String> {
    let files = source.chart_files(path).map_err(|e| e.0)?;
    let mut c = chart::load_files(files).map_err(|e| e.0)?;
    c.set_paths();
    Ok(c)
}

/// Helm's `helm template --dependency-update` on the chart directory `chart_path`, in
/// memory (see the module documentation). Call it when the chart's dependencies are missing
/// ([`crate::deps::check_dependencies`] fails), as Helm does.
pub fn dependency_update(chart_path: &str, source: &dyn Source) -> Result<Updated, LoadError> {
    let err = |m: String| LoadError(m);
    let files = source.chart_files(chart_path)?;
    let current = chart::load_files(files.clone())?;
    let reqs = current.metadata.dependencies.clone();
    let mut output = String::new();
    if !current.metadata.has_dependencies {
        let mut c = current;
        c.set_paths();
        return Ok(Updated { chart: c, output });
    }
    // The resolver: a version for every dependency.
    let mut locked: Vec<Option<(String, String)>> = Vec::new(); // (repository, version)
    let mut missing = Vec::new();
    for d in &reqs {
        if let Err(e) = constraint_check(&d.version, &zero()) {
            return Err(err(format!(
                "dependency {:?} has an invalid version/constraint format: {e}",
                d.name
            )));
        }
        if d.repository.is_empty() {
            local_path(&join("charts", &d.name), chart_path, source).map_err(err)?;
            locked.push(Some((String::new(), d.version.clone())));
            continue;
        }
        if d.repository.starts_with("file://") {
            let dir = local_path(&d.repository, chart_path, source).map_err(err)?;
            let ch = load(&dir, source).map_err(err)?;
            let Ok(v) = SemverVersion::parse(&ch.metadata.version) else {
                locked.push(None);
                continue;
            };
            if !constraint_check(&d.version, &v).unwrap_or(false) {
                missing.push(format!(
                    "{:?} (repository {:?}, version {:?})",
                    d.name, d.repository, d.version
                ));
                continue;
            }
            locked.push(Some((d.repository.clone(), ch.metadata.version.clone())));
            continue;
        }
        return Err(err(format!(
            "dependency {:?} is in repository {:?}: ferry resolves only file:// dependencies \
             and charts already under charts/",
            d.name, d.repository
        )));
    }
    if !missing.is_empty() {
        return Err(err(format!(
            "can't get a valid version for {} subchart(s): {}. Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml",
            missing.len(),
            missing.join(", ")
        )));
    }
    // downloadAll: package every file:// dependency.
    output.push_str(&format!("Saving {} charts\n", locked.len()));
    let mut packaged: BTreeMap<String, Chart> = BTreeMap::new();
    let mut local_deps = BTreeSet::new();
    for (d, lock) in reqs.iter().zip(&locked) {
        let Some((repository, _)) = lock else {
            continue;
        };
        if repository.is_empty() {
            local_deps.insert(d.name.clone());
            output.push_str(&format!(
                "Dependency {} did not declare a repository. Assuming it exists in the charts directory\n",
                d.name
            ));
            let dir = join(chart_path, &join("charts", &d.name));
            let ch = load(&dir, source)
                .map_err(|e| err(format!("unable to load chart '{dir}': {e}")))?;
            let v = SemverVersion::parse(&ch.metadata.version).map_err(|e| {
                err(format!(
                    "invalid version {} for dependency {}: {e}",
                    d.version, d.name
                ))
            })?;
            if !constraint_check(&d.version, &v).unwrap_or(false) {
                let e = format!(
                    "dependency {} at version {} does not satisfy the constraint {}",
                    d.name, ch.metadata.version, d.version
                );
                output.push_str(&format!("Save error occurred:  {e}\n"));
                return Err(err(e));
            }
            continue;
        }
        let dir = local_path(repository, chart_path, source).map_err(err)?;
        let ch = load(&dir, source).map_err(err)?;
        let v = SemverVersion::parse(&ch.metadata.version).map_err(|e| err(e.to_string()))?;
        if !constraint_check(&d.version, &v).unwrap_or(false) {
            let e = format!("can't get a valid version for dependency {}", d.name);
            output.push_str(&format!("Save error occurred:  {e}\n"));
            return Err(err(e));
        }
        let archive = format!("{}-{}.tgz", ch.metadata.name, ch.metadata.version);
        packaged.insert(archive, ch);
    }
    // safeMoveDeps: the new archives replace files of the same name; other files directly
    // under charts/ are outdated and go, except local dependencies and unreadable files.
    output.push_str("Deleting outdated charts\n");
    let mut kept = Vec::new();
    for f in files {
        let Some(rest) = f.name.strip_prefix("charts/") else {
            kept.push(f);
            continue;
        };
        if rest.contains('/') {
            kept.push(f);
            continue;
        }
        if packaged.contains_key(rest) {
            continue;
        }
        // `charts/NAME` files are read at load (never deferred).
        match f.data().and_then(|d| Chart::from_archive(d)) {
            Ok(c) if local_deps.contains(c.name()) => kept.push(f),
            Ok(_) => {}
            Err(e) => {
                output.push_str(&format!(
                    "Could not verify {} for deletion: {e} (Skipping)\n",
                    join(chart_path, &f.name)
                ));
                kept.push(f);
            }
        }
    }
    let mut c = chart::load_files_with(kept, packaged)?;
    c.set_paths();
    Ok(Updated { chart: c, output })
}

fn zero() -> SemverVersion {
    SemverVersion {
        major: 0,
        minor: 0,
        patch: 0,
        pre: String::new(),
        metadata: String::new(),
        original: "0.0.0".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        files
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn file_dependencies_in_memory() {
        let r = repo(&[
            (
                "apps/app/Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: ^1.0.0\n  repository: file://../../libs/lib\n",
            ),
            ("apps/app/templates/cm.yaml", "kind: ConfigMap\n"),
            (
                "libs/lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 1.2.0\ntype: library\n",
            ),
            ("libs/lib/templates/_h.tpl", "{{ define \"x\" }}x{{ end }}"),
        ]);
        let u = dependency_update("apps/app", &MemorySource(&r)).unwrap();
        assert_eq!(u.output, "Saving 1 charts\nDeleting outdated charts\n");
        assert_eq!(u.chart.dependencies.len(), 1);
        assert_eq!(u.chart.dependencies[0].name(), "lib");
        assert_eq!(u.chart.dependencies[0].full_path, "app/charts/lib");
        assert!(crate::deps::check_dependencies(&u.chart).is_ok());
    }

    #[test]
    fn errors_name_the_dependency() {
        let r = repo(&[
            (
                "app/Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: '>=2'\n  repository: file://../lib\n- name: gone\n  version: 1.0.0\n  repository: file://../gone\n",
            ),
            (
                "lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 1.2.0\n",
            ),
        ]);
        let e = dependency_update("app", &MemorySource(&r)).unwrap_err();
        assert_eq!(e.0, "directory gone not found");
        let r2: BTreeMap<String, Vec<u8>> = r
            .into_iter()
            .map(|(k, v)| {
                let v = String::from_utf8(v).unwrap().replace(
                    "- name: gone\n  version: 1.0.0\n  repository: file://../gone\n",
                    "",
                );
                (k, v.into_bytes())
            })
            .collect();
        let e = dependency_update("app", &MemorySource(&r2)).unwrap_err();
        assert_eq!(
            e.0,
            "can't get a valid version for 1 subchart(s): \"lib\" (repository \"file://../lib\", version \">=2\"). Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml"
        );
    }
}
