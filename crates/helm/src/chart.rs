//! Charts: the model (`Chart`, `Metadata`, `Dependency`) and loading from a directory, a `.tgz`
//! archive or in-memory files, with Helm's `.helmignore` rules and Helm's error messages.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::dirfs::{Dir, Entry, Kind, ListBuf, read_sized};
use crate::ignore::Rules;
use crate::values::Values;
use crate::yaml;

/// Largest file Helm loads from a chart (5 MiB).
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Largest decompressed archive Helm loads (100 MiB).
pub const MAX_CHART_SIZE: u64 = 100 * 1024 * 1024;

/// A chart loading error, with Helm's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

impl LoadError {
    fn new(s: impl Into<String>) -> Self {
        LoadError(s.into())
    }
}

/// A file of a chart: its path relative to the chart root and its bytes (shared: copies of a
/// chart, e.g. the one a render processes dependencies on, do not copy file contents).
///
/// Loading a chart directory reads the files the engine needs (Chart.yaml, values, schema,
/// templates, CRDs, subchart archives) and only looks at the others (what `.Files` alone
/// sees: READMEs, changelogs, test and CI files, config files the templates may embed): their
/// size is checked as Helm checks it, their bytes are read when first asked for
/// ([`File::data`]), so a render reads only the ones its templates use.
#[derive(Clone, Debug)]
pub struct File {
    pub name: String,
    data: Data,
}

#[derive(Clone, Debug)]
enum Data {
    Bytes(Arc<Vec<u8>>),
    Deferred(Arc<Deferred>),
}

/// A file of a chart directory not read yet.
#[derive(Debug)]
struct Deferred {
    path: PathBuf,
    /// The bytes (BOM stripped) or the read error, Helm's `error reading NAME: ...`.
    bytes: OnceLock<Result<Arc<Vec<u8>>, String>>,
}

impl File {
    /// A file with its bytes.
    pub fn new(name: impl Into<String>, data: impl Into<Arc<Vec<u8>>>) -> File {
        File {
            name: name.into(),
            data: Data::Bytes(data.into()),
        }
    }

    /// A file of a chart directory read on first use.
    fn deferred(name: String, path: PathBuf) -> File {
        File {
            name,
            data: Data::Deferred(Arc::new(Deferred {
                path,
                bytes: OnceLock::new(),
            })),
        }
    }

    /// The bytes of the file (a UTF-8 byte order mark stripped, as Helm does). A file of a
    /// chart directory that was not read at load is read now; if that fails, the error names
    /// the file as Helm's loader would have.
    pub fn data(&self) -> Result<&Arc<Vec<u8>>, LoadError> {
        match &self.data {
            Data::Bytes(b) => Ok(b),
            Data::Deferred(d) => d
                .bytes
                .get_or_init(|| {
                    read_file(&d.path)
                        .map(|b| Arc::new(strip_bom(b)))
                        .map_err(|e| format!("error reading {}: {e}", self.name))
                })
                .as_ref()
                .map_err(|e| LoadError(e.clone())),
        }
    }
}

impl PartialEq for File {
    fn eq(&self, other: &File) -> bool {
        self.name == other.name
            && match (self.data(), other.data()) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => a == b,
                _ => false,
            }
    }
}

impl Eq for File {}

/// A maintainer entry of Chart.yaml.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// A dependency entry of Chart.yaml (or requirements.yaml for apiVersion v1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// `import-values` entries: strings or `{child, parent}` maps.
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// Chart.yaml.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: Option<BTreeMap<String, String>>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    /// Whether `dependencies` is set (Go: non-nil slice); Helm skips dependency processing
    /// of a chart whose Chart.yaml declares none.
    pub has_dependencies: bool,
    pub chart_type: String,
}

/// A loaded chart with its subcharts.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    pub metadata: Metadata,
    /// Files under `templates/` (shared: copying a chart copies no file list).
    pub templates: Arc<Vec<File>>,
    /// Parsed values.yaml (shared: copies of a chart, e.g. the one a render processes
    /// dependencies on, do not copy the tree).
    pub values: Arc<Values>,
    /// values.schema.json, raw.
    pub schema: Option<Vec<u8>>,
    /// Every other file (what `.Files` sees), including `crds/` (shared, as `templates`).
    pub files: Arc<Vec<File>>,
    /// Subcharts (from `charts/`).
    pub dependencies: Vec<Chart>,
    /// `parent/charts/name` path of this chart, set by [`Chart::set_paths`].
    pub full_path: String,
}

impl Chart {
    /// The chart name (alias once dependencies are processed).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// True for `type: library`.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// Recomputes `full_path` of this chart (as root) and every subchart.
    pub fn set_paths(&mut self) {
        let root = self.metadata.name.clone();
        set_paths(self, root);
    }

    /// CRD files of this chart and its subcharts: (full file name, data), Helm's CRDObjects.
    pub fn crd_objects(&self) -> Vec<(String, &[u8])> {
        let mut out = Vec::new();
        for f in self.files.iter() {
            if f.name.starts_with("crds/") && has_manifest_ext(&f.name) {
                // CRD files are read at load (never deferred).
                let data = f.data().map_or(&[][..], |d| &d[..]);
                out.push((format!("{}/{}", self.full_path, f.name), data));
            }
        }
        for d in &self.dependencies {
            out.extend(d.crd_objects());
        }
        out
    }

    /// Loads a chart from a directory or a `.tgz` file.
    pub fn load(path: &Path) -> Result<Chart, LoadError> {
        // The common case, a chart directory, opens it and its Chart.yaml straight away
        // instead of a stat of the path first (system calls are a large part of loading a
        // small chart); anything else (an archive, a missing path, no Chart.yaml) takes the
        // stat and Helm's error texts below.
        if let Ok(d) = Dir::open(path)
            && let Ok(top) = d.read_named(c"Chart.yaml")
        {
            let (files, top) = dir_files_with_top(path, &d, top)?;
            let mut chart = load_files_parsed(files, BTreeMap::new(), Some(top))?;
            chart.set_paths();
            return Ok(chart);
        }
        let meta = std::fs::metadata(path).map_err(|e| LoadError::new(go_stat_error(path, &e)))?;
        let mut chart = if meta.is_dir() {
            load_dir(path)?
        } else {
            let data = std::fs::read(path)
                .map_err(|e| LoadError::new(format!("{}: {e}", path.display())))?;
            let name = path.display().to_string();
            ensure_archive(&name, &data)?;
            let files = archive_files(&data).map_err(|e| match e {
                ArchiveError::Header(m) => LoadError::new(format!(
                    "file '{name}' does not appear to be a valid chart file (details: {m})"
                )),
                ArchiveError::Other(_) => LoadError::new("unable to load chart archive"),
            })?;
            check_api_version(&files)?;
            load_files(files)?
        };
        chart.set_paths();
        Ok(chart)
    }

    /// Loads a chart from in-memory files (paths relative to the chart root, `/`-separated).
    /// `.helmignore` is applied as for a directory.
    pub fn from_files(files: BTreeMap<String, Vec<u8>>) -> Result<Chart, LoadError> {
        let out = filter_files(files)?;
        let mut chart = load_files(out)?;
        chart.set_paths();
        Ok(chart)
    }

    /// Loads a chart from `.tgz` bytes.
    pub fn from_archive(data: &[u8]) -> Result<Chart, LoadError> {
        let files = archive_files(data).map_err(|e| match e {
            ArchiveError::Header(m) => LoadError::new(format!(
                "stream does not appear to be a valid chart file (details: {m})"
            )),
            ArchiveError::Other(m) => LoadError::new(format!("unable to load chart archive: {m}")),
        })?;
        let mut chart = load_files(files)?;
        chart.set_paths();
        Ok(chart)
    }
}

/// Applies the chart's `.helmignore` (and Helm's default rule) to in-memory files and checks
/// Chart.yaml's `apiVersion`, as loading a directory does.
pub(crate) fn filter_files(files: BTreeMap<String, Vec<u8>>) -> Result<Vec<File>, LoadError> {
    let mut rules = match files.get(".helmignore") {
        Some(d) => Rules::parse(&String::from_utf8_lossy(d)).map_err(LoadError)?,
        None => Rules::default(),
    };
    rules.add_defaults();
    let mut out = Vec::new();
    for (name, data) in files {
        let ignored_dir = {
            let parts: Vec<&str> = name.split('/').collect();
            (1..parts.len()).any(|i| rules.ignore(&parts[..i].join("/"), true))
        };
        if ignored_dir || rules.ignore(&name, false) {
            continue;
        }
        out.push(File::new(name, strip_bom(data)));
    }
    check_api_version(&out)?;
    Ok(out)
}

fn set_paths(c: &mut Chart, path: String) {
    for d in &mut c.dependencies {
        let p = format!("{path}/charts/{}", d.metadata.name);
        set_paths(d, p);
    }
    c.full_path = path;
}

fn has_manifest_ext(name: &str) -> bool {
    let ext = match name.rfind('.') {
        Some(i) if !name[i..].contains('/') => &name[i..],
        _ => "",
    };
    ext.eq_ignore_ascii_case(".yaml")
        || ext.eq_ignore_ascii_case(".yml")
        || ext.eq_ignore_ascii_case(".json")
}

fn go_stat_error(path: &Path, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    format!("stat {}: {what}", path.display())
}

/// The UTF-8 byte order mark Helm strips from every chart file.
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

fn strip_bom(mut d: Vec<u8>) -> Vec<u8> {
    if d.starts_with(BOM) {
        d.drain(..BOM.len());
    }
    d
}

/// Helm's limit on one chart file read from a directory.
fn check_file_size(name: &str, len: u64) -> Result<(), LoadError> {
    if len > MAX_FILE_SIZE {
        return Err(LoadError::new(format!(
            "chart file {name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
        )));
    }
    Ok(())
}

/// Helm's top-level `apiVersion` dispatch: v1, v2, v3 or empty are loadable.
fn check_api_version(files: &[File]) -> Result<(), LoadError> {
    if let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") {
        let v = yaml::parse_document(f.data()?)
            .map_err(|e| LoadError::new(format!("cannot load Chart.yaml: {e}")))?;
        let api = v.get("apiVersion").map(scalar_string).unwrap_or_default();
        if !matches!(api.as_str(), "v1" | "v2" | "v3" | "") {
            return Err(LoadError::new("unsupported chart version"));
        }
    }
    Ok(())
}

fn load_dir(dir: &Path) -> Result<Chart, LoadError> {
    let (files, top) = dir_files_parsed(dir)?;
    load_files_parsed(files, BTreeMap::new(), Some(top))
}

/// Chart.yaml as [`dir_files_parsed`] read and parsed it, so that loading the files does not
/// parse it again (used only when the loaded Chart.yaml has exactly these bytes).
struct ParsedChartYaml {
    data: Arc<Vec<u8>>,
    doc: Value,
}

/// The files of a chart directory as Helm's `LoadDir` reads them (`.helmignore` applied,
/// symlinks followed, Chart.yaml's `apiVersion` checked).
pub(crate) fn dir_files(dir: &Path) -> Result<Vec<File>, LoadError> {
    dir_files_parsed(dir).map(|(files, _)| files)
}

/// [`dir_files`], with the top-level Chart.yaml it read and parsed.
fn dir_files_parsed(dir: &Path) -> Result<(Vec<File>, ParsedChartYaml), LoadError> {
    let opened = Dir::open(dir);
    let top = match &opened {
        Ok(d) => d.read_named(c"Chart.yaml"),
        // Helm reads Chart.yaml by its path first: its error, if any, is the one to give.
        Err(_) => read_file(&dir.join("Chart.yaml")),
    };
    let top = top.map_err(|e| {
        let chart_yaml = dir.join("Chart.yaml");
        let abs = std::path::absolute(&chart_yaml).unwrap_or(chart_yaml);
        LoadError::new(format!(
            "unable to detect chart at {}: {}",
            abs.display(),
            go_io_error(&abs, &e)
        ))
    })?;
    // Chart.yaml readable, yet the directory cannot be opened (listed): the walk's error.
    let d = opened.map_err(|e| LoadError::new(format!("{}: {e}", dir.display())))?;
    dir_files_with_top(dir, &d, top)
}

/// [`dir_files_parsed`] once the directory `d` (at `dir`) is open and its Chart.yaml (`top`)
/// read.
fn dir_files_with_top(
    dir: &Path,
    d: &Dir,
    top: Vec<u8>,
) -> Result<(Vec<File>, ParsedChartYaml), LoadError> {
    let v = yaml::parse_document(&top)
        .map_err(|e| LoadError::new(format!("cannot load Chart.yaml: {e}")))?;
    let api = v.get("apiVersion").map(scalar_string).unwrap_or_default();
    if !matches!(api.as_str(), "v1" | "v2" | "v3" | "") {
        return Err(LoadError::new("unsupported chart version"));
    }
    // The top directory is listed first, so that a chart without a .helmignore (most) costs
    // no failed open. .helmignore is read once: for the rules, and as a file of the chart
    // (when the walk finds it to be a file). Should the listing fail, it is read as before
    // and the walk reports the listing's error.
    let mut buf = ListBuf::new();
    let listed = d.entries(&mut buf);
    let helmignore = match &listed {
        Ok(entries) if !entries.iter().any(|e| e.is(".helmignore")) => None,
        _ => d.read_named(c".helmignore").ok(),
    };
    let mut rules = match &helmignore {
        Some(d) => Rules::parse(&String::from_utf8_lossy(d)).map_err(LoadError)?,
        None => Rules::default(),
    };
    rules.add_defaults();
    let top: Arc<Vec<u8>> = Arc::new(top);
    let mut files = Vec::new();
    let mut w = Walk {
        rules: &rules,
        top: &top,
        helmignore,
        buf,
        out: &mut files,
    };
    w.walk_listed(d, dir, "", listed)?;
    Ok((files, ParsedChartYaml { data: top, doc: v }))
}

fn go_io_error(path: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("open {}: no such file or directory", path.display())
        }
        _ => format!("open {}: {e}", path.display()),
    }
}

/// A walk of a chart directory, as Helm's `LoadDir` (`sympath.Walk`: sorted names, symlinks
/// followed, `.helmignore` applied).
struct Walk<'a> {
    rules: &'a Rules,
    /// The bytes of the top-level Chart.yaml, already read (not read again).
    top: &'a Arc<Vec<u8>>,
    /// The bytes of the top-level .helmignore, if it was read (not read again).
    helmignore: Option<Vec<u8>>,
    buf: ListBuf,
    out: &'a mut Vec<File>,
}

impl Walk<'_> {
    /// Walks the open directory `d`, at `path`, `rel` from the chart root.
    fn walk(&mut self, d: &Dir, path: &Path, rel: &str) -> Result<(), LoadError> {
        let listed = d.entries(&mut self.buf);
        self.walk_listed(d, path, rel, listed)
    }

    /// [`Walk::walk`] once `d` is listed.
    fn walk_listed(
        &mut self,
        d: &Dir,
        path: &Path,
        rel: &str,
        listed: std::io::Result<Vec<Entry>>,
    ) -> Result<(), LoadError> {
        let entries = listed.map_err(|e| LoadError::new(format!("{}: {e}", path.display())))?;
        for e in entries {
            let name = e.name();
            let name = &*name;
            let n = if rel.is_empty() {
                name.to_string()
            } else {
                let mut n = String::with_capacity(rel.len() + 1 + name.len());
                n.push_str(rel);
                n.push('/');
                n.push_str(name);
                n
            };
            // Symlinks are followed; other entries' types come from the directory listing,
            // without a stat of their own.
            let (kind, size) = match e.kind {
                Some(k) => (k, None),
                None => {
                    let (k, size) = d.stat(&e).map_err(|err| {
                        LoadError::new(format!("{}: {err}", path.join(name).display()))
                    })?;
                    (k, Some(size))
                }
            };
            if kind == Kind::Dir {
                if self.rules.ignore(&n, true) {
                    continue;
                }
                let sub_path = path.join(name);
                let sub = d
                    .open_dir(&e)
                    .map_err(|err| LoadError::new(format!("{}: {err}", sub_path.display())))?;
                self.walk(&sub, &sub_path, &n)?;
                continue;
            }
            if self.rules.ignore(&n, false) {
                continue;
            }
            if kind != Kind::File {
                return Err(LoadError::new(format!(
                    "cannot load irregular file {} as it has file mode type bits set",
                    path.join(name).display()
                )));
            }
            if rel.is_empty() && name == "Chart.yaml" {
                check_file_size(name, self.top.len() as u64)?;
                let data = match self.top.strip_prefix(BOM) {
                    Some(rest) => Arc::new(rest.to_vec()),
                    None => self.top.clone(),
                };
                self.out.push(File::new(n, data));
                continue;
            }
            if rel.is_empty()
                && name == ".helmignore"
                && let Some(data) = self.helmignore.take()
            {
                check_file_size(name, data.len() as u64)?;
                self.out.push(File::new(n, strip_bom(data)));
                continue;
            }
            let read_err =
                |err: std::io::Error| LoadError::new(format!("error reading {n}: {err}"));
            if deferrable(&n) {
                let len = match size {
                    Some(s) => s,
                    None => d.stat(&e).map_err(read_err)?.1,
                };
                check_file_size(name, len)?;
                self.out.push(File::deferred(n, path.join(name)));
                continue;
            }
            let file = d.open_file(&e).map_err(read_err)?;
            let len = match size {
                Some(s) => s,
                None => file.len().map_err(read_err)?,
            };
            check_file_size(name, len)?;
            let data = file.read(len).map_err(read_err)?;
            self.out.push(File::new(n, strip_bom(data)));
        }
        Ok(())
    }
}

/// Whether the file at `rel` (relative to the top chart) is one only `.Files` sees, so that
/// loading need not read it (see [`File`]): not Chart.yaml, values, schema, requirements,
/// templates, CRDs, or anything directly in a `charts/` folder (archives, provenance files),
/// of the chart it belongs to (files of subchart folders count for their subchart).
fn deferrable(rel: &str) -> bool {
    let mut rel = rel;
    while let Some(rest) = rel.strip_prefix("charts/") {
        match rest.split_once('/') {
            Some((_, inner)) => rel = inner,
            None => return false,
        }
    }
    !(rel.starts_with("templates/")
        || rel.starts_with("crds/")
        || matches!(
            rel,
            "Chart.yaml"
                | "values.yaml"
                | "values.schema.json"
                | "requirements.yaml"
                | "requirements.lock"
        ))
}

/// Reads a file whole: open, `fstat`, one `read` of that size (`std::fs::read` also reads
/// once more to see the end).
fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    read_sized(&mut file, len as usize)
}

fn ensure_archive(name: &str, data: &[u8]) -> Result<(), LoadError> {
    if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Ok(());
    }
    if name.ends_with(".yml") || name.ends_with(".yaml") {
        return Err(LoadError::new(format!(
            "file '{name}' seems to be a YAML file, but expected a gzipped archive"
        )));
    }
    let ct = if data.is_empty() || std::str::from_utf8(&data[..data.len().min(512)]).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    Err(LoadError::new(format!(
        "file '{name}' does not appear to be a gzipped archive; got '{ct}'"
    )))
}

enum ArchiveError {
    Header(String),
    Other(String),
}

fn archive_files(data: &[u8]) -> Result<Vec<File>, ArchiveError> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(ArchiveError::Header(if data.len() < 10 {
            "unexpected EOF".into()
        } else {
            "gzip: invalid header".into()
        }));
    }
    let gz = flate2::read::GzDecoder::new(data);
    let mut ar = tar::Archive::new(Skipping::new(gz));
    let mut files = Vec::new();
    let mut remaining = MAX_CHART_SIZE;
    let entries = ar
        .entries_with_seek()
        .map_err(|e| ArchiveError::Other(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ArchiveError::Other(e.to_string()))?;
        let ty = entry.header().entry_type();
        if ty.is_dir() || ty.is_pax_global_extensions() || ty.is_pax_local_extensions() {
            continue;
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let delim = if raw_name.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw_name.split(delim).collect();
        let n = parts[1..].join("/");
        if n.starts_with('/') {
            return Err(ArchiveError::Other(
                "chart illegally contains absolute paths".into(),
            ));
        }
        let n = clean_path(&n);
        if n == "." {
            return Err(ArchiveError::Other(format!(
                "chart illegally contains content outside the base directory: {raw_name:?}"
            )));
        }
        if n.starts_with("..") {
            return Err(ArchiveError::Other(
                "chart illegally references parent directory".into(),
            ));
        }
        if parts[0] == "Chart.yaml" {
            return Err(ArchiveError::Other(
                "chart yaml not in base directory".into(),
            ));
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(ArchiveError::Other(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART_SIZE}"
            )));
        }
        if size > MAX_FILE_SIZE {
            return Err(ArchiveError::Other(format!(
                "decompressed chart file {raw_name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| ArchiveError::Other(e.to_string()))?;
        remaining = remaining.saturating_sub(buf.len() as u64);
        files.push(File::new(n, strip_bom(buf)));
    }
    if files.is_empty() {
        return Err(ArchiveError::Other("no files in chart archive".into()));
    }
    Ok(files)
}

/// A stream that `tar` may "seek" forward in: skipping reads through one reused buffer. For a
/// plain reader, `tar` skips to each next header through a fresh zeroed 32 KiB stack buffer,
/// which was most of the cost of loading a small chart archive.
struct Skipping<R> {
    inner: R,
    /// Bytes read or skipped so far (what `seek` reports).
    pos: u64,
    scratch: Vec<u8>,
}

impl<R: Read> Skipping<R> {
    fn new(inner: R) -> Self {
        Skipping {
            inner,
            pos: 0,
            scratch: Vec::new(),
        }
    }
}

impl<R: Read> Read for Skipping<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read> std::io::Seek for Skipping<R> {
    /// Only forward from the current position (all `tar` asks for).
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let std::io::SeekFrom::Current(delta) = to else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "chart archive streams seek forward only",
            ));
        };
        let mut amt = u64::try_from(delta).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "chart archive streams seek forward only",
            )
        })?;
        if amt > 0 && self.scratch.is_empty() {
            self.scratch.resize(8192, 0);
        }
        while amt > 0 {
            let want = amt.min(self.scratch.len() as u64) as usize;
            let n = self.inner.read(&mut self.scratch[..want])?;
            if n == 0 {
                return Err(std::io::Error::other("unexpected EOF during skip"));
            }
            self.pos += n as u64;
            amt -= n as u64;
        }
        Ok(self.pos)
    }
}

/// Go's `path.Clean`.
pub(crate) fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let s = out.join("/");
    if rooted {
        format!("/{s}")
    } else if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// Go `fmt`'s `%v` of a YAML scalar decoded into a string field by sigs.k8s.io/yaml.
fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => crate::gofmt::format_float32_g(n.as_f64().unwrap_or(0.0)),
        },
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Unmarshals a YAML field into a Go `string` field, or reports Go's type error.
fn string_field(m: &Map<String, Value>, key: &str, what: &str) -> Result<String, LoadError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Array(_)) => Err(LoadError::new(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field {what}.{key} of type string"
        ))),
        Some(Value::Object(_)) => Err(LoadError::new(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go struct field {what}.{key} of type string"
        ))),
        Some(v) => Ok(scalar_string(v)),
    }
}

fn string_list(m: &Map<String, Value>, key: &str) -> Vec<String> {
    match m.get(key) {
        Some(Value::Array(a)) => a.iter().map(scalar_string).collect(),
        _ => Vec::new(),
    }
}

fn parse_dependencies(m: &Map<String, Value>) -> Result<Option<Vec<Dependency>>, LoadError> {
    let Some(v) = m.get("dependencies") else {
        return Ok(None);
    };
    let Value::Array(a) = v else {
        return Ok(Some(Vec::new()));
    };
    let mut out = Vec::new();
    for d in a {
        let Value::Object(dm) = d else {
            return Err(LoadError::new(
                "validation: dependencies must not contain empty or null nodes",
            ));
        };
        out.push(Dependency {
            name: string_field(dm, "name", "Dependency")?,
            version: string_field(dm, "version", "Dependency")?,
            repository: string_field(dm, "repository", "Dependency")?,
            condition: string_field(dm, "condition", "Dependency")?,
            tags: string_list(dm, "tags"),
            enabled: matches!(dm.get("enabled"), Some(Value::Bool(true))),
            import_values: match dm.get("import-values") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            },
            alias: string_field(dm, "alias", "Dependency")?,
        });
    }
    Ok(Some(out))
}

fn apply_metadata(md: &mut Metadata, m: &Map<String, Value>) -> Result<(), LoadError> {
    let s = |k: &str| string_field(m, k, "Metadata");
    if m.contains_key("name") {
        md.name = s("name")?;
    }
    if m.contains_key("home") {
        md.home = s("home")?;
    }
    if m.contains_key("sources") {
        md.sources = string_list(m, "sources");
    }
    if m.contains_key("version") {
        md.version = s("version")?;
    }
    if m.contains_key("description") {
        md.description = s("description")?;
    }
    if m.contains_key("keywords") {
        md.keywords = string_list(m, "keywords");
    }
    if let Some(Value::Array(a)) = m.get("maintainers") {
        md.maintainers = Vec::new();
        for x in a {
            let Value::Object(mm) = x else {
                return Err(LoadError::new(
                    "validation: maintainers must not contain empty or null nodes",
                ));
            };
            md.maintainers.push(Maintainer {
                name: string_field(mm, "name", "Maintainer")?,
                email: string_field(mm, "email", "Maintainer")?,
                url: string_field(mm, "url", "Maintainer")?,
            });
        }
    }
    if m.contains_key("icon") {
        md.icon = s("icon")?;
    }
    if m.contains_key("apiVersion") {
        md.api_version = s("apiVersion")?;
    }
    if m.contains_key("condition") {
        md.condition = s("condition")?;
    }
    if m.contains_key("tags") {
        md.tags = s("tags")?;
    }
    if m.contains_key("appVersion") {
        md.app_version = s("appVersion")?;
    }
    if let Some(v) = m.get("deprecated") {
        md.deprecated = matches!(v, Value::Bool(true));
    }
    if let Some(Value::Object(a)) = m.get("annotations") {
        md.annotations = Some(
            a.iter()
                .map(|(k, v)| (k.clone(), scalar_string(v)))
                .collect(),
        );
    }
    if m.contains_key("kubeVersion") {
        md.kube_version = s("kubeVersion")?;
    }
    if let Some(deps) = parse_dependencies(m)? {
        md.has_dependencies = !matches!(m.get("dependencies"), Some(Value::Null));
        md.dependencies = deps;
    }
    if m.contains_key("type") {
        md.chart_type = s("type")?;
    }
    Ok(())
}

/// Helm's `sanitizeString`: white space becomes a space, unprintable characters are dropped.
/// Printable ASCII (nearly every Chart.yaml field) is left as it is, without a copy.
fn sanitize(s: &mut String) {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return;
    }
    *s = s
        .chars()
        .filter_map(|c| {
            // Go's `unicode.IsSpace`, then `unicode.IsPrint`: format characters (U+200B,
            // soft hyphen), private use and noncharacters go, as controls do.
            if c.is_whitespace() {
                Some(' ')
            } else if gotmpl::strconv::is_print(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect();
}

fn validate(md: &mut Metadata) -> Result<(), LoadError> {
    let v = |s: &str| Err(LoadError::new(format!("validation: {s}")));
    sanitize(&mut md.name);
    sanitize(&mut md.description);
    sanitize(&mut md.home);
    sanitize(&mut md.icon);
    sanitize(&mut md.condition);
    sanitize(&mut md.tags);
    sanitize(&mut md.app_version);
    sanitize(&mut md.kube_version);
    if md.api_version.is_empty() {
        return v("chart.metadata.apiVersion is required");
    }
    if md.name.is_empty() {
        return v("chart.metadata.name is required");
    }
    if md.name == "." || md.name == ".." {
        return v(&format!("chart.metadata.name {:?} is not allowed", md.name));
    }
    if md.name.contains('/') {
        return v(&format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return v("chart.metadata.version is required");
    }
    if sprig::semver::SemverVersion::parse(&md.version).is_err() {
        return v(&format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        ));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return v("chart.metadata.type must be application or library");
    }
    let mut seen = std::collections::HashSet::new();
    for d in &mut md.dependencies {
        sanitize(&mut d.name);
        sanitize(&mut d.version);
        sanitize(&mut d.repository);
        sanitize(&mut d.condition);
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return v(&format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            ));
        }
        let key = if d.alias.is_empty() {
            d.name.clone()
        } else {
            d.alias.clone()
        };
        if !seen.insert(key.clone()) {
            return v(&format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(())
}

/// Reads values.yaml the way Helm's `LoadValues` does: every YAML document merged in order.
pub fn load_values(data: &[u8]) -> Result<Values, String> {
    yaml::load_values_file(data)
}

/// Helm's `LoadFiles`: builds a chart (and its subcharts) from its files.
pub fn load_files(files: Vec<File>) -> Result<Chart, LoadError> {
    load_files_with(files, BTreeMap::new())
}

/// [`load_files`] with subcharts already loaded, keyed by their file name under `charts/`
/// (`name-version.tgz`): they take their place among the others.
pub(crate) fn load_files_with(
    files: Vec<File>,
    extra: BTreeMap<String, Chart>,
) -> Result<Chart, LoadError> {
    load_files_parsed(files, extra, None)
}

/// [`load_files_with`]; `pre`: Chart.yaml already parsed, used if the files' Chart.yaml has
/// the same bytes.
fn load_files_parsed(
    files: Vec<File>,
    mut extra: BTreeMap<String, Chart>,
    mut pre: Option<ParsedChartYaml>,
) -> Result<Chart, LoadError> {
    let mut c = Chart::default();
    let mut has_meta = false;
    for f in &files {
        if f.name == "Chart.yaml" {
            has_meta = true;
            let v = match pre.take() {
                Some(p) if *p.data == **f.data()? => p.doc,
                _ => yaml::parse_document(f.data()?)
                    .map_err(|e| LoadError::new(format!("cannot load Chart.yaml: {e}")))?,
            };
            if let Value::Object(m) = &v {
                apply_metadata(&mut c.metadata, m)
                    .map_err(|e| LoadError::new(format!("cannot load Chart.yaml: {e}")))?;
            }
            if c.metadata.api_version.is_empty() {
                c.metadata.api_version = "v1".into();
            }
        }
    }
    let mut subcharts: BTreeMap<String, Vec<File>> = BTreeMap::new();
    let (mut templates, mut others) = (Vec::new(), Vec::new());
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" | "Chart.lock" => {}
            "values.yaml" => {
                c.values = Arc::new(
                    load_values(f.data()?)
                        .map_err(|e| LoadError::new(format!("cannot load values.yaml: {e}")))?,
                );
            }
            "values.schema.json" => c.schema = Some(f.data()?.to_vec()),
            "requirements.yaml" => {
                has_meta = true;
                let v = yaml::parse_document(f.data()?)
                    .map_err(|e| LoadError::new(format!("cannot load requirements.yaml: {e}")))?;
                if let Value::Object(m) = &v {
                    apply_metadata(&mut c.metadata, m).map_err(|e| {
                        LoadError::new(format!("cannot load requirements.yaml: {e}"))
                    })?;
                }
                if c.metadata.api_version == "v1" {
                    others.push(f);
                }
            }
            "requirements.lock" => {
                has_meta = true;
                if c.metadata.api_version == "v1" {
                    others.push(f);
                }
            }
            n if n.starts_with("templates/") => templates.push(f),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    others.push(f);
                    continue;
                }
                // Go's `strings.TrimPrefix`: once (a subchart may be named `charts`).
                let fname = n["charts/".len()..].to_string();
                let cname = fname.split('/').next().unwrap_or("").to_string();
                subcharts.entry(cname).or_default().push(File {
                    name: fname,
                    data: f.data,
                });
            }
            _ => others.push(f),
        }
    }
    c.templates = Arc::new(templates);
    c.files = Arc::new(others);
    if !has_meta {
        return Err(LoadError::new("Chart.yaml file is missing"));
    }
    validate(&mut c.metadata)?;
    for n in extra.keys() {
        subcharts.entry(n.clone()).or_default();
    }
    for (n, files) in subcharts {
        if let Some(sc) = extra.remove(&n) {
            c.dependencies.push(sc);
            continue;
        }
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sc = if n.ends_with(".tgz") {
            let file = &files[0];
            if file.name != n {
                return Err(LoadError::new(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    c.name(),
                    file.name
                )));
            }
            file.data()
                .map_err(|e| e.0)
                .and_then(|data| {
                    archive_files(data).map_err(|e| match e {
                        ArchiveError::Header(m) => format!(
                            "stream does not appear to be a valid chart file (details: {m})"
                        ),
                        ArchiveError::Other(m) => format!("unable to load chart archive: {m}"),
                    })
                })
                .and_then(|fs| load_files(fs).map_err(|e| e.0))
        } else {
            let buff: Vec<File> = files
                .into_iter()
                .filter_map(|f| {
                    let rest = f.name.split_once('/')?.1.to_string();
                    Some(File { name: rest, ..f })
                })
                .collect();
            load_files(buff).map_err(|e| e.0)
        };
        match sc {
            Ok(sc) => c.dependencies.push(sc),
            Err(e) => {
                return Err(LoadError::new(format!(
                    "error unpacking subchart {n} in {}: {e}",
                    c.name()
                )));
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forward-only stream `tar` seeks in: reads and skips count together, a skip past
    /// the end and any other seek are errors.
    #[test]
    fn skipping_stream() {
        use std::io::{Seek, SeekFrom};
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = Skipping::new(&data[..]);
        let mut b = [0u8; 3];
        s.read_exact(&mut b).unwrap();
        assert_eq!(s.stream_position().unwrap(), 3);
        assert_eq!(s.seek(SeekFrom::Current(10_000)).unwrap(), 10_003);
        s.read_exact(&mut b).unwrap();
        assert_eq!(b, [data[10_003], data[10_004], data[10_005]]);
        assert!(s.seek(SeekFrom::Current(-1)).is_err());
        assert!(s.seek(SeekFrom::Start(0)).is_err());
        let e = s.seek(SeekFrom::Current(10_000)).unwrap_err();
        assert_eq!(e.to_string(), "unexpected EOF during skip");
    }

    #[test]
    fn clean() {
        assert_eq!(clean_path("a/./b/../c"), "a/c");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("../x"), "../x");
    }

    /// Loading a directory reuses the Chart.yaml it read for the `apiVersion` check: the
    /// result must be what loading its files from memory gives (BOM stripped, `.helmignore`
    /// still able to drop Chart.yaml).
    #[test]
    fn dir_reuses_chart_yaml() {
        let dir = std::env::temp_dir().join(format!("helm-chart-yaml-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let meta = b"\xEF\xBB\xBFapiVersion: v2\nname: x\nversion: 1.0.0\n";
        std::fs::write(dir.join("Chart.yaml"), meta).unwrap();
        std::fs::write(dir.join("values.yaml"), b"a: 1\n").unwrap();
        let c = Chart::load(&dir).unwrap();
        let mut mem = BTreeMap::new();
        mem.insert("Chart.yaml".to_string(), meta.to_vec());
        mem.insert("values.yaml".to_string(), b"a: 1\n".to_vec());
        let m = Chart::from_files(mem).unwrap();
        assert_eq!(c.metadata, m.metadata);
        assert_eq!(c.metadata.name, "x");
        assert_eq!(c.files, m.files);
        std::fs::write(dir.join(".helmignore"), b"Chart.yaml\n").unwrap();
        let e = Chart::load(&dir).unwrap_err();
        assert_eq!(e.0, "Chart.yaml file is missing");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `read_sized` reads the file's size worth of bytes (all of it when the size is right,
    /// or when it is 0), however the reads are split.
    #[test]
    fn read_sized_whole_file() {
        let p = std::env::temp_dir().join(format!("helm-read-sized-{}", std::process::id()));
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        for len in [data.len(), 0, data.len() + 7] {
            let mut f = std::fs::File::open(&p).unwrap();
            assert_eq!(read_sized(&mut f, len).unwrap(), data, "size {len}");
        }
        let mut f = std::fs::File::open(&p).unwrap();
        assert_eq!(read_sized(&mut f, 100).unwrap(), data[..100]);
        std::fs::write(&p, b"").unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        assert!(read_sized(&mut f, 0).unwrap().is_empty());
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn deferrable_files() {
        for rel in [
            "README.md",
            "Chart.lock",
            ".helmignore",
            "ci/values.yaml",
            "files/conf.ini",
            "charts/sub/README.md",
            "charts/sub/charts/deep/LICENSE",
            "charts/sub/files/templates/x",
        ] {
            assert!(deferrable(rel), "{rel}");
        }
        for rel in [
            "Chart.yaml",
            "values.yaml",
            "values.schema.json",
            "requirements.yaml",
            "requirements.lock",
            "templates/a.yaml",
            "crds/a.yaml",
            "charts/sub-1.0.0.tgz",
            "charts/sub-1.0.0.tgz.prov",
            "charts/sub/Chart.yaml",
            "charts/sub/templates/_h.tpl",
            "charts/sub/charts/deep/values.yaml",
            "charts/sub/charts/x.tgz",
        ] {
            assert!(!deferrable(rel), "{rel}");
        }
    }

    /// A file only `.Files` sees is read when a template asks for it: its size is checked at
    /// load as Helm checks it, its bytes (BOM stripped) are read on first use, and a file gone
    /// by then is an error naming it where it is used; files no template uses are never read.
    #[test]
    fn dot_files_are_read_on_use() {
        use crate::render::{RenderOptions, render_files};
        let dir = std::env::temp_dir().join(format!("helm-deferred-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::create_dir_all(dir.join("notes")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            "apiVersion: v2\nname: x\nversion: 1.0.0\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("templates/cm.yaml"),
            "data: {{ .Files.Get \"notes/a.txt\" | quote }}\n",
        )
        .unwrap();
        std::fs::write(dir.join("notes/a.txt"), b"\xEF\xBB\xBFhello").unwrap();
        std::fs::write(dir.join("README.md"), "readme").unwrap();
        let opts = RenderOptions::default();
        let user = Values::new();

        let c = Chart::load(&dir).unwrap();
        std::fs::remove_file(dir.join("README.md")).unwrap();
        let out = render_files(&c, &user, &opts).unwrap();
        assert_eq!(out["x/templates/cm.yaml"], "data: \"hello\"\n");

        let c = Chart::load(&dir).unwrap();
        std::fs::remove_file(dir.join("notes/a.txt")).unwrap();
        let e = render_files(&c, &user, &opts).unwrap_err().cli_message();
        assert!(e.contains("error reading notes/a.txt"), "{e}");

        let big = vec![b'x'; MAX_FILE_SIZE as usize + 1];
        std::fs::write(dir.join("notes/big.bin"), big).unwrap();
        let e = Chart::load(&dir).unwrap_err();
        assert_eq!(
            e.0,
            "chart file \"big.bin\" is larger than the maximum file size 5242880"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A subchart folder named `charts` (`charts/charts/...`): Helm trims the `charts/`
    /// prefix once.
    #[test]
    fn subchart_named_charts() {
        let mut mem = BTreeMap::new();
        mem.insert(
            "Chart.yaml".to_string(),
            b"apiVersion: v2\nname: top\nversion: 1.0.0\n".to_vec(),
        );
        mem.insert(
            "charts/charts/Chart.yaml".to_string(),
            b"apiVersion: v2\nname: charts\nversion: 0.1.0\n".to_vec(),
        );
        mem.insert(
            "charts/charts/templates/a.yaml".to_string(),
            b"a: 1\n".to_vec(),
        );
        let c = Chart::from_files(mem).unwrap();
        assert_eq!(c.dependencies.len(), 1);
        let d = &c.dependencies[0];
        assert_eq!(d.name(), "charts");
        assert_eq!(d.templates.len(), 1);
        assert_eq!(d.templates[0].name, "templates/a.yaml");
    }

    /// Helm's `sanitizeString` on metadata: white space to a space, controls dropped.
    #[test]
    fn sanitized_metadata() {
        for (input, want) in [
            ("plain text", "plain text"),
            ("tab\there", "tab here"),
            ("line\nbreak\u{a0}nbsp", "line break nbsp"),
            ("bell\u{7}gone", "bellgone"),
            ("caf\u{e9}", "caf\u{e9}"),
            // What Helm v4.2.3 gives for these (checked with helm-python-sdk).
            (
                "a\u{200B}b\u{AD}c\u{E000}d\u{A0}e\u{2028}f\u{e9}g",
                "abcd e f\u{e9}g",
            ),
        ] {
            let mut s = input.to_string();
            sanitize(&mut s);
            assert_eq!(s, want, "{input:?}");
        }
    }

    #[test]
    fn manifest_ext() {
        assert!(has_manifest_ext("crds/a.YAML"));
        assert!(has_manifest_ext("crds/a.json"));
        assert!(!has_manifest_ext("crds/a.txt"));
    }
}
