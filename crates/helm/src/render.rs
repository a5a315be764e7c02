//! The `helm template` pipeline: dependency checks and processing, values, schema validation,
//! the engine, and the assembly of the output stream.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::chart::Chart;
use crate::deps;
use crate::engine;
use crate::manifest::{self, Document, StreamOptions};
use crate::objects::{BuildInfo, Capabilities, KubeVersion};
use crate::schema;
use crate::values::{Values, coalesce_values_taking};

/// Helm's suffix on `helm template` errors raised after the release was created.
pub const DEBUG_SUFFIX: &str = "\n\nUse --debug flag to render out invalid YAML";

/// Release and cluster settings of a render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// `.Release.Name` (`release-name` for `helm template` without a name).
    pub release_name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// `.Release.Revision`.
    pub revision: i64,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `--kube-version` (default v1.36.0).
    pub kube_version: Option<KubeVersion>,
    /// `--api-versions`, added to the defaults.
    pub api_versions: Vec<String>,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
            kube_version: None,
            api_versions: Vec::new(),
            skip_schema_validation: false,
        }
    }
}

impl RenderOptions {
    /// The `.Capabilities` of this render.
    pub fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        if let Some(k) = &self.kube_version {
            caps.kube_version = k.clone();
        }
        if !self.api_versions.is_empty() {
            caps.api_versions = caps
                .api_versions
                .iter()
                .chain(self.api_versions.iter())
                .cloned()
                .collect();
        }
        caps.helm_version = BuildInfo::default();
        caps
    }
}

/// A render failure. [`RenderError::cli_message`] is what `helm template` prints after `Error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Before the release exists (chart, dependency and values errors): printed as is.
    #[error("{0}")]
    Before(String),
    /// While rendering (template, YAML and kubeVersion errors): `helm template` adds
    /// [`DEBUG_SUFFIX`].
    #[error("{0}")]
    Render(String),
}

impl RenderError {
    /// The message without `Error: `, as `helm template` prints it.
    pub fn cli_message(&self) -> String {
        match self {
            RenderError::Before(m) => m.clone(),
            RenderError::Render(m) => format!("{m}{DEBUG_SUFFIX}"),
        }
    }
    /// The plain message (what the Helm SDK's error carries).
    pub fn message(&self) -> &str {
        match self {
            RenderError::Before(m) | RenderError::Render(m) => m,
        }
    }
}

/// A rendered object: the parsed document, its template path and hook information.
#[derive(Clone, Debug)]
pub struct RenderedObject {
    /// Template path (`chart/templates/x.yaml`, or `chart/crds/x.yaml` for CRDs).
    pub source: String,
    /// The document text as printed by `helm template`.
    pub text: String,

    /// The parsed document (as Kubernetes decodes it: integers stay integers); `Null` for a
    /// comment-only document.
    pub object: serde_json::Value,
    /// Hook events (empty for ordinary objects).
    pub hook_events: Vec<String>,
    /// `helm.sh/hook-weight`.
    pub hook_weight: i64,
}

/// The result of a render.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The engine's per-file output (NOTES.txt included), after `<no value>` removal.
    pub files: BTreeMap<String, String>,
    /// Hooks, kind-sorted.
    pub hooks: Vec<Document>,
    /// Ordinary documents, kind-sorted.
    pub manifests: Vec<Document>,
    /// CRD files of the enabled charts: (full path, bytes).
    pub crds: Vec<(String, Vec<u8>)>,
    /// The root chart's NOTES.txt output.
    pub notes: String,
}

impl Rendered {
    /// The `helm template` output stream.
    pub fn stream(&self, opts: &StreamOptions) -> String {
        let crds: Vec<(String, &[u8])> = self
            .crds
            .iter()
            .map(|(n, d)| (n.clone(), d.as_slice()))
            .collect();
        manifest::assemble_stream(&self.hooks, &self.manifests, &crds, opts)
    }

    /// Every object in apply order: CRDs (if asked), ordinary documents, then hooks. Each
    /// document is parsed as YAML (Kubernetes' decoding: integers stay integers, a
    /// comment-only document is `Null`); one that does not parse is an error naming its source.
    pub fn objects(&self, include_crds: bool) -> Result<Vec<RenderedObject>, RenderError> {
        let parse = |source: &str, text: &str| {
            goyaml::yaml_to_json_value(text)
                .map_err(|e| RenderError::Render(format!("YAML parse error on {source}: {e}")))
        };
        let mut out = Vec::new();
        if include_crds {
            for (name, data) in &self.crds {
                for piece in manifest::split_manifests(&String::from_utf8_lossy(data)) {
                    let object = parse(name, &piece)?;
                    out.push(RenderedObject {
                        source: name.clone(),
                        text: piece,
                        object,
                        hook_events: vec![],
                        hook_weight: 0,
                    });
                }
            }
        }
        for d in self.manifests.iter().chain(self.hooks.iter()) {
            out.push(RenderedObject {
                source: d.path.clone(),
                object: parse(&d.path, &d.content)?,
                text: d.content.clone(),
                hook_events: d.hook_events.clone(),
                hook_weight: d.hook_weight,
            });
        }
        Ok(out)
    }
}

/// A content hash of a chart (all files, subcharts included) and values: a cache key for
/// renders.
pub fn cache_key(chart: &Chart, values: &Values, opts: &RenderOptions) -> String {
    let mut h = Sha256::new();
    hash_chart(&mut h, chart);
    h.update(serde_json::to_vec(values).unwrap_or_default());
    h.update(format!(
        "{}\0{}\0{}\0{}\0{:?}\0{:?}\0{}",
        opts.release_name,
        opts.namespace,
        opts.revision,
        opts.is_upgrade,
        opts.kube_version.as_ref().map(|k| &k.version),
        opts.api_versions,
        opts.skip_schema_validation
    ));
    hex(&h.finalize())
}

fn hash_chart(h: &mut Sha256, c: &Chart) {
    h.update(format!(
        "chart:{}\0{}\0",
        c.metadata.name, c.metadata.version
    ));
    h.update(serde_json::to_vec(&*c.values).unwrap_or_default());
    for f in c.templates.iter().chain(c.files.iter()) {
        h.update(f.name.as_bytes());
        h.update([0]);
        match f.data() {
            Ok(d) => {
                h.update((d.len() as u64).to_le_bytes());
                h.update(&d[..]);
            }
            // A file of a chart directory that cannot be read (see `File::data`).
            Err(e) => h.update(e.0.as_bytes()),
        }
    }
    if let Some(s) = &c.schema {
        h.update(s);
    }
    for d in &c.dependencies {
        hash_chart(h, d);
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Drops the process-wide cache of parsed template sets (renders of a chart whose templates
/// did not change reuse the parsed set; benchmarks clear it to measure a cold render).
pub fn clear_template_cache() {
    crate::exec::clear_cache();
    sprig::clear_regex_cache();
}

/// `helm template`'s checks before rendering: installable type, declared dependencies present.
pub fn check_installable(chart: &Chart) -> Result<(), RenderError> {
    match chart.metadata.chart_type.as_str() {
        "" | "application" => {}
        t => {
            return Err(RenderError::Before(format!(
                "{t} charts are not installable"
            )));
        }
    }
    if !chart.metadata.dependencies.is_empty() {
        deps::check_dependencies(chart).map_err(|e| {
            RenderError::Before(format!(
                "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: {e}"
            ))
        })?;
    }
    Ok(())
}

/// Prepares a chart for the engine (processes dependencies on a copy) and computes the values
/// the templates see. Returns the processed chart (the values it held alone are moved into the
/// result) and the coalesced `.Values`.
pub fn prepare(
    chart: &Chart,
    user: &Values,
    opts: &RenderOptions,
) -> Result<(Chart, Values), RenderError> {
    prepare_owned(chart.clone(), user, opts)
}

/// [`prepare`] of a chart the caller gives up: the values it holds alone (not shared with a
/// copy) move into the result instead of being copied.
pub fn prepare_owned(
    mut chart: Chart,
    user: &Values,
    opts: &RenderOptions,
) -> Result<(Chart, Values), RenderError> {
    deps::process_dependencies(&mut chart, user);
    let mut vals = coalesce_values_taking(&mut chart, user);
    if !opts.skip_schema_validation {
        let (v, checked) = schema::validate_owned(&chart, vals);
        vals = v;
        checked.map_err(|e| {
            RenderError::Before(format!(
                "values don't meet the specifications of the schema(s) in the following chart(s):\n{e}"
            ))
        })?;
    }
    Ok((chart, vals))
}

/// The engine's per-file output for a chart (what the Helm SDK's `Chart.render` returns).
pub fn render_files(
    chart: &Chart,
    user: &Values,
    opts: &RenderOptions,
) -> Result<BTreeMap<String, String>, RenderError> {
    render_files_owned(chart.clone(), user, opts)
}

/// [`render_files`] of a chart the caller gives up: the values it holds alone are moved, not
/// copied, as Helm processes a loaded chart in place.
pub fn render_files_owned(
    chart: Chart,
    user: &Values,
    opts: &RenderOptions,
) -> Result<BTreeMap<String, String>, RenderError> {
    let (chart, vals) = prepare_owned(chart, user, opts)?;
    engine::render(&chart, vals, opts, &opts.capabilities()).map_err(RenderError::Render)
}

/// Renders a chart as `helm template` does (without the CLI-only checks of
/// [`check_installable`]).
pub fn render(chart: &Chart, user: &Values, opts: &RenderOptions) -> Result<Rendered, RenderError> {
    render_owned(chart.clone(), user, opts)
}

/// [`render`] of a chart the caller gives up: the values it holds alone are moved, not
/// copied, as Helm processes a loaded chart in place.
pub fn render_owned(
    chart: Chart,
    user: &Values,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let (chart, vals) = prepare_owned(chart, user, opts)?;
    let caps = opts.capabilities();
    if !chart.metadata.kube_version.is_empty()
        && !sprig::semver::is_compatible_range(
            &chart.metadata.kube_version,
            &caps.kube_version.normalized,
        )
    {
        return Err(RenderError::Render(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version, caps.kube_version.version
        )));
    }
    let files = engine::render(&chart, vals, opts, &caps).map_err(RenderError::Render)?;
    let notes_path = format!("{}/templates/NOTES.txt", chart.name());
    let notes = files.get(&notes_path).cloned().unwrap_or_default();
    let (hooks, manifests) =
        manifest::sort_manifest_files(files.iter().filter(|(k, _)| !k.ends_with("NOTES.txt")))
            .map_err(|e| RenderError::Render(e.0))?;
    let crds = chart
        .crd_objects()
        .into_iter()
        .map(|(n, d)| (n, d.to_vec()))
        .collect();
    Ok(Rendered {
        files,
        hooks,
        manifests,
        crds,
        notes,
    })
}
