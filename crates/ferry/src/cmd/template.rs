//! `ferry template`: renders a chart locally exactly as `helm template` (Helm v4.2.3) does, with
//! Helm's flags and error messages.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use helm::strvals::{self, Reader};
use helm::{Chart, KubeVersion, RenderOptions, StreamOptions, Values};

/// Arguments of `ferry template` (Helm's names).
#[derive(clap::Args)]
pub struct Args {
    /// `[NAME] CHART`: release name (default `release-name`) and chart directory or `.tgz`.
    #[arg(value_name = "NAME] [CHART", num_args = 1..)]
    args: Vec<String>,
    /// Values files, merged in order.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    values: Vec<String>,
    /// Set values (`a.b=c,d[0]=e`), typed.
    #[arg(long = "set", value_name = "EXPR")]
    set: Vec<String>,
    /// Set string values.
    #[arg(long = "set-string", value_name = "EXPR")]
    set_string: Vec<String>,
    /// Set JSON values.
    #[arg(long = "set-json", value_name = "EXPR")]
    set_json: Vec<String>,
    /// Set values from files (`key=path`).
    #[arg(long = "set-file", value_name = "EXPR")]
    set_file: Vec<String>,
    /// Set literal string values (no escaping or lists).
    #[arg(long = "set-literal", value_name = "EXPR")]
    set_literal: Vec<String>,
    /// Namespace (`.Release.Namespace`).
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    namespace: String,
    /// Include CRDs in the output.
    #[arg(long = "include-crds")]
    include_crds: bool,
    /// Skip tests from the output.
    #[arg(long = "skip-tests")]
    skip_tests: bool,
    /// Do not print hooks.
    #[arg(long = "no-hooks")]
    no_hooks: bool,
    /// Only show manifests rendered from the given templates.
    #[arg(short = 's', long = "show-only", value_name = "PATTERN")]
    show_only: Vec<String>,
    /// Write each template to a file under this directory instead of stdout.
    #[arg(long = "output-dir")]
    output_dir: Option<PathBuf>,
    /// With --output-dir: put files under `<dir>/<release name>/`.
    #[arg(long = "release-name")]
    use_release_name: bool,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version")]
    kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions`.
    #[arg(short = 'a', long = "api-versions", value_name = "VERSION")]
    api_versions: Vec<String>,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    is_upgrade: bool,
    /// Generate the release name.
    #[arg(short = 'g', long = "generate-name")]
    generate_name: bool,
    /// Skip values.schema.json validation.
    #[arg(long = "skip-schema-validation")]
    skip_schema_validation: bool,
    /// Update dependencies if they are missing before rendering: `file://` dependencies are
    /// packaged in memory (nothing is written to the chart directory).
    #[arg(long = "dependency-update")]
    dependency_update: bool,
    /// Accepted for compatibility; output is the same.
    #[arg(long = "debug")]
    debug: bool,
    /// For the differential tests: print the engine's per-file output as JSON.
    #[arg(long = "debug-render-files", hide = true)]
    debug_render_files: bool,
}

fn read_file(path: &str) -> anyhow::Result<Vec<u8>> {
    if path.trim() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("open {path}: no such file or directory"),
        _ => anyhow!("open {path}: {e}"),
    })
}

/// Helm's `values.Options.MergeValues`.
fn merge_values(a: &Args) -> anyhow::Result<Values> {
    let mut base = Values::new();
    for f in &a.values {
        let cur = match sops::valuefile::ValueFileRef::parse(f)? {
            // helm-secrets URLs (`secrets://`, `secrets+age-import://KEY?PATH`, …): decrypted
            // in memory only; the plaintext buffer is wiped when dropped.
            Some(r) => {
                let opts = sops::valuefile::ResolveOptions::new(std::env::current_dir()?);
                let plain = sops::valuefile::decrypt_value_file(
                    &r,
                    &opts,
                    &sops::Keyring::from_environment(),
                    &sops::valuefile::NoKubernetes,
                )?;
                helm::yaml::load_values_file(&plain)
                    .map_err(|e| anyhow!("failed to parse {}: {e}", r.path))?
            }
            None => {
                let raw = read_file(f)?;
                helm::yaml::load_values_file(&raw)
                    .map_err(|e| anyhow!("failed to parse {f}: {e}"))?
            }
        };
        base = helm::values::merge_maps(base, cur);
    }
    for v in &a.set_json {
        let t = v.trim();
        if t.starts_with('{') {
            let m: serde_json::Value = serde_json::from_str(t)
                .map_err(|_| anyhow!("failed parsing --set-json data JSON: {v}"))?;
            match helm::values::go_json(m) {
                serde_json::Value::Object(m) => base = helm::values::merge_maps(base, m),
                _ => return Err(anyhow!("failed parsing --set-json data JSON: {v}")),
            }
        } else {
            strvals::parse_into(v, &mut base, Reader::Json)
                .map_err(|_| anyhow!("failed parsing --set-json data {v}"))?;
        }
    }
    for v in &a.set {
        strvals::parse_into(v, &mut base, Reader::Typed)
            .map_err(|e| anyhow!("failed parsing --set data: {e}"))?;
    }
    for v in &a.set_string {
        strvals::parse_into(v, &mut base, Reader::String)
            .map_err(|e| anyhow!("failed parsing --set-string data: {e}"))?;
    }
    for v in &a.set_file {
        let reader = |p: &str| -> Result<String, String> {
            read_file(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| e.to_string())
        };
        strvals::parse_into(v, &mut base, Reader::File(&reader))
            .map_err(|e| anyhow!("failed parsing --set-file data: {e}"))?;
    }
    for v in &a.set_literal {
        // `key=value`: the whole rest is the string value; the key is parsed like --set.
        let (k, val) = v
            .split_once('=')
            .ok_or_else(|| anyhow!("failed parsing --set-literal data: key {v:?} has no value"))?;
        let reader = |_: &str| -> Result<String, String> { Ok(val.to_string()) };
        let expr = format!("{k}=x");
        strvals::parse_into(&expr, &mut base, Reader::File(&reader))
            .map_err(|e| anyhow!("failed parsing --set-literal data: {e}"))?;
    }
    Ok(base)
}

fn valid_release_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("no name provided".into());
    }
    let ok = name.len() <= 53
        && name.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !seg.starts_with('-')
                && !seg.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err("invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53".into())
    }
}

/// Runs `ferry template`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.args.len() > 2 {
        return Err(anyhow!(
            "expected at most two arguments, unexpected arguments: {}",
            a.args[2..].join(", ")
        ));
    }
    let (mut name, chart_ref) = match a.args.as_slice() {
        [chart] => ("release-name".to_string(), chart.clone()),
        [n, chart] => {
            if a.generate_name {
                return Err(anyhow!(
                    "cannot set --generate-name and also specify a name"
                ));
            }
            (n.clone(), chart.clone())
        }
        _ => return Err(anyhow!("requires at least 1 arg(s), only received 0")),
    };
    let kube_version = match &a.kube_version {
        Some(k) => {
            Some(KubeVersion::parse(k).map_err(|e| anyhow!("invalid kube version '{k}': {e}"))?)
        }
        None => None,
    };
    let path = Path::new(&chart_ref);
    if !path.exists() {
        return Err(anyhow!("path {chart_ref:?} not found"));
    }

    if a.debug_render_files {
        return debug_render_files(&a, path);
    }

    let vals = merge_values(&a)?;
    let mut chart = Chart::load(path).map_err(|e| anyhow!("{e}"))?;
    if a.generate_name {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        name = format!("{}-{secs}", chart.name());
    }
    // Helm checks the chart type first, then updates missing dependencies if asked.
    let installable_type = matches!(chart.metadata.chart_type.as_str(), "" | "application");
    let mut prelude = String::new();
    if a.dependency_update
        && installable_type
        && chart.metadata.has_dependencies
        && helm::deps::check_dependencies(&chart).is_err()
    {
        if !path.is_dir() {
            return Err(anyhow!("only unpacked charts can be updated"));
        }
        let abs = std::path::absolute(path)?;
        let updated =
            helm::update::dependency_update(&abs.to_string_lossy(), &helm::update::DirSource)
                .map_err(|e| anyhow!("{e}"))?;
        prelude = updated.output;
        chart = updated.chart;
    }
    helm::check_installable(&chart).map_err(|e| anyhow!("{}", e.cli_message()))?;
    valid_release_name(&name)
        .map_err(|e| anyhow!("release name check failed: release name {name:?}: {e}"))?;
    let opts = RenderOptions {
        release_name: name.clone(),
        namespace: a.namespace.clone(),
        revision: 1,
        is_upgrade: a.is_upgrade,
        kube_version,
        api_versions: a.api_versions.clone(),
        skip_schema_validation: a.skip_schema_validation,
    };
    let rendered =
        helm::render_owned(chart, &vals, &opts).map_err(|e| anyhow!("{}", e.cli_message()))?;
    let sopts = StreamOptions {
        include_crds: a.include_crds,
        no_hooks: a.no_hooks,
        skip_tests: a.skip_tests,
    };

    let mut out = std::io::stdout().lock();
    out.write_all(prelude.as_bytes())?;
    if let Some(dir) = &a.output_dir {
        let base = if a.use_release_name {
            dir.join(&name)
        } else {
            dir.clone()
        };
        write_output_dir(
            &rendered,
            &sopts,
            &base,
            dir,
            &name,
            a.use_release_name,
            &mut out,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let stream = rendered.stream(&sopts);
    let text = if a.show_only.is_empty() {
        stream
    } else {
        helm::manifest::show_only(&stream, &a.show_only).map_err(|e| anyhow!(e))?
    };
    out.write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn write_file(path: &Path, name: &str, data: &str, append: bool) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("mkdir {}", parent.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    write!(f, "---\n# Source: {name}\n{data}\n")?;
    Ok(())
}

/// `--output-dir`: every CRD, manifest and hook into `<dir>/<path>` (appending documents of the
/// same file), printing `wrote <file>` for each, as Helm does.
fn write_output_dir(
    rendered: &helm::Rendered,
    sopts: &StreamOptions,
    base: &Path,
    dir: &Path,
    _name: &str,
    _use_release_name: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut written: BTreeMap<String, bool> = BTreeMap::new();
    let mut emit =
        |root: &Path, name: &str, data: &str, out: &mut dyn Write| -> anyhow::Result<()> {
            let p = PathBuf::from(format!("{}/{name}", root.display()));
            let append = *written.get(name).unwrap_or(&false);
            write_file(&p, name, data, append)?;
            written.insert(name.to_string(), true);
            writeln!(out, "wrote {}", p.display())?;
            Ok(())
        };
    if sopts.include_crds {
        for (n, d) in &rendered.crds {
            emit(dir, n, &String::from_utf8_lossy(d), out)?;
        }
    }
    for m in &rendered.manifests {
        emit(base, &m.path, &m.content, out)?;
    }
    if !sopts.no_hooks {
        for h in &rendered.hooks {
            if sopts.skip_tests && h.is_test() {
                continue;
            }
            let p = PathBuf::from(format!("{}/{}", base.display(), h.path));
            // Helm appends when the file exists already (its os.Stat check).
            let append = p.exists();
            write_file(&p, &h.path, &h.content, append)?;
            writeln!(out, "wrote {}", p.display())?;
        }
    }
    // Then the (empty) manifest stream, as Helm prints it: one newline.
    writeln!(out)?;
    Ok(())
}

/// `--debug-render-files`: the engine's per-file output as a JSON object, or the error
/// message (as the Helm SDK reports it) on stderr with exit status 1.
fn debug_render_files(a: &Args, path: &Path) -> anyhow::Result<ExitCode> {
    let result = (|| -> Result<BTreeMap<String, String>, String> {
        let vals = merge_values(a).map_err(|e| e.to_string())?;
        let chart = Chart::load(path).map_err(|e| e.to_string())?;
        let opts = RenderOptions {
            namespace: a.namespace.clone(),
            ..RenderOptions::default()
        };
        helm::render_files_owned(chart, &vals, &opts).map_err(|e| e.message().to_string())
    })();
    match result {
        Ok(files) => {
            let mut out = std::io::stdout().lock();
            out.write_all(serde_json::to_string(&files)?.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("{msg}");
            Ok(ExitCode::FAILURE)
        }
    }
}
