//! How `helm template` turns the engine's per-file output into its stream: NOTES removal,
//! document splitting, head parsing, hooks, InstallOrder sorting, `# Source:` framing
//! (Helm's `releaseutil.SortManifests` and `action.renderResources`).

use std::collections::BTreeMap;

use regex::Regex;

use crate::yaml;

/// Kinds in Helm's install order.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

#[cfg(test)]
static SEP: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    // Go RE2 `\s` is ASCII [\t\n\f\r ]; `^` is the start of the text (no multi-line flag).
    Regex::new(r"(?:\A|[\t\n\x0C\r ]*\n)---[\t\n\x0C\r ]*").expect("static regex")
});

/// The head of a rendered document (Helm's `SimpleHead`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub annotations: Option<BTreeMap<String, String>>,
}

/// One rendered document.
#[derive(Clone, Debug)]
pub struct Document {
    /// Template path, e.g. `mychart/templates/deploy.yaml`.
    pub path: String,
    /// The document text (left-trimmed, no trailing separator).
    pub content: String,
    pub head: Head,
    /// Hook events (lower-cased), empty for a non-hook.
    pub hook_events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or invalid).
    pub hook_weight: i64,
}

impl Document {
    /// True for hooks.
    pub fn is_hook(&self) -> bool {
        !self.hook_events.is_empty()
    }
    /// True for `test` hooks.
    pub fn is_test(&self) -> bool {
        self.hook_events
            .iter()
            .any(|e| e == "test" || e == "test-success")
    }
}

/// An assembly error (Helm's `YAML parse error on …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

fn go_trim_left(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

/// Helm's `SplitManifests`, in order.
pub fn split_manifests(text: &str) -> Vec<String> {
    let t = go_trim_left(text);
    let mut out = Vec::new();
    let mut push = |d: &str| {
        if !d.trim().is_empty() {
            out.push(go_trim_left(d).to_string());
        }
    };
    let mut last = 0;
    for (start, end) in separators(t) {
        push(&t[last..start]);
        last = end;
    }
    push(&t[last..]);
    out
}

/// Whether `c` is in Go RE2's `\s` (ASCII `[\t\n\f\r ]`).
fn re2_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// The matches of Helm's separator `(?:\A|\s*\n)---\s*` in `t`, leftmost-first and
/// non-overlapping as Go's `Regexp.Split` finds them: a `\n---` (or `---` at the start of
/// the text) with the blanks before it, back to where the search resumed, and after it.
fn separators(t: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = t.as_bytes();
    let mut pos = 0;
    let mut first = true;
    std::iter::from_fn(move || {
        let (start, dashes) = if std::mem::take(&mut first) && b.starts_with(b"---") {
            (0, 0)
        } else {
            let p = pos + memchr_dashes(&b[pos..])?;
            let mut start = p;
            while start > pos && re2_space(b[start - 1]) {
                start -= 1;
            }
            (start, p + 1)
        };
        let mut end = dashes + 3;
        while end < b.len() && re2_space(b[end]) {
            end += 1;
        }
        pos = end;
        Some((start, end))
    })
}

/// The offset of the first `\n---` in `b`.
fn memchr_dashes(b: &[u8]) -> Option<usize> {
    memchr::memmem::find(b, b"\n---")
}

fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

#[cfg(test)]
fn less_by_kind(a: &str, b: &str) -> bool {
    match (kind_rank(a), kind_rank(b)) {
        (None, None) => a < b,
        (None, Some(_)) => false,
        (Some(_), None) => true,
        (Some(x), Some(y)) => x < y,
    }
}

/// Helm's `sort.SliceStable` by `lessByKind`: known kinds in install order, then unknown
/// kinds by name, equal kinds in their order; each document's rank is looked up once.
fn stable_sort(docs: &mut [Document]) {
    docs.sort_by_cached_key(|d| match kind_rank(&d.head.kind) {
        Some(r) => (r, String::new()),
        None => (INSTALL_ORDER.len(), d.head.kind.clone()),
    });
}

/// Helm's `SortManifests`: splits every file (NOTES must already be removed), parses heads,
/// separates hooks (dropping documents with an unknown hook event), and sorts both lists.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Document>, Vec<Document>), ManifestError> {
    sort_manifest_files(files.iter())
}

/// [`sort_manifests`] of (path, content) pairs in path order.
pub(crate) fn sort_manifest_files<'a>(
    files: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<(Vec<Document>, Vec<Document>), ManifestError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for piece in split_manifests(content) {
            let head = yaml::parse_head(&piece)
                .map_err(|e| ManifestError(format!("YAML parse error on {path}: {e}")))?;
            let hook = head
                .annotations
                .as_ref()
                .and_then(|a| a.get("helm.sh/hook"))
                .cloned();
            let Some(hook) = hook else {
                generic.push(Document {
                    path: path.clone(),
                    content: piece,
                    head,
                    hook_events: vec![],
                    hook_weight: 0,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for ev in hook.split(',') {
                let ev = ev.trim().to_lowercase();
                if !HOOK_EVENTS.contains(&ev.as_str()) {
                    unknown = true;
                    break;
                }
                events.push(ev);
            }
            if unknown {
                tracing::debug!(hook_types = %hook, "skipping unknown hooks");
                continue;
            }
            let weight = head
                .annotations
                .as_ref()
                .and_then(|a| a.get("helm.sh/hook-weight"))
                .and_then(|w| w.parse::<i64>().ok())
                .unwrap_or(0);
            hooks.push(Document {
                path: path.clone(),
                content: piece,
                head,
                hook_events: events,
                hook_weight: weight,
            });
        }
    }
    stable_sort(&mut hooks);
    stable_sort(&mut generic);
    Ok((hooks, generic))
}

/// Options of the stream assembly.
#[derive(Clone, Debug, Default)]
pub struct StreamOptions {
    pub include_crds: bool,
    pub no_hooks: bool,
    pub skip_tests: bool,
}

/// The `helm template` stream from the sorted documents.
pub fn assemble_stream(
    hooks: &[Document],
    manifests: &[Document],
    crds: &[(String, &[u8])],
    opts: &StreamOptions,
) -> String {
    fn frame(out: &mut String, path: &str, content: &str) {
        out.push_str("---\n# Source: ");
        out.push_str(path);
        out.push('\n');
        out.push_str(content);
        out.push('\n');
    }
    let framed = |path: &str, content: usize| path.len() + content + 14;
    let mut size = 1;
    if opts.include_crds {
        size += crds.iter().map(|(n, d)| framed(n, d.len())).sum::<usize>();
    }
    size += manifests
        .iter()
        .chain(hooks)
        .map(|m| framed(&m.path, m.content.len()))
        .sum::<usize>();
    let mut out = String::with_capacity(size);
    if opts.include_crds {
        for (name, data) in crds {
            frame(&mut out, name, &String::from_utf8_lossy(data));
        }
    }
    for m in manifests {
        frame(&mut out, &m.path, &m.content);
    }
    // Go's strings.TrimSpace of the CRDs and manifests.
    out.truncate(out.trim_end().len());
    let lead = out.len() - out.trim_start().len();
    out.drain(..lead);
    out.push('\n');
    if !opts.no_hooks {
        for h in hooks {
            if opts.skip_tests && h.is_test() {
                continue;
            }
            frame(&mut out, &h.path, &h.content);
        }
    }
    out
}

/// `--show-only`: keeps the documents whose path after the chart name matches one of the
/// patterns (Go `filepath.Match`), in pattern order. Error when a pattern matches nothing.
pub fn show_only(stream: &str, patterns: &[String]) -> Result<String, String> {
    // releaseutil.SplitManifests on the whole stream, in document order.
    let docs = split_manifests(stream);
    let re = Regex::new(r"# Source: [^/]+/(.+)").expect("static regex");
    let mut out = String::new();
    for pat in patterns {
        let mut missing = true;
        for d in &docs {
            let Some(c) = re.captures(d) else { continue };
            let name = &c[1];
            if crate::ignore::go_match(pat, name).unwrap_or(false) {
                out.push_str(&format!("---\n{d}\n"));
                missing = false;
            }
        }
        if missing {
            return Err(format!("could not find template {pat} in chart"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), vec!["a: 1", "b: 2\n"]);
        assert_eq!(
            split_manifests("---apiVersion: v1\n"),
            vec!["apiVersion: v1\n"]
        );
        assert_eq!(
            split_manifests("\n\n---\n# c\n---\n\nx: 1"),
            vec!["# c", "x: 1"]
        );
        assert!(split_manifests("  \n---\n  \n").is_empty());
    }

    #[test]
    fn separators_match_helms_regex() {
        const PARTS: &[&str] = &[
            "---", "\n---", "\n", " ", "\t", "\r\n", "a: 1", "#c", "-", "--", "\x0C", "x---",
            "\u{a0}",
        ];
        let mut below = testkit::rand::below_fn(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..below(10) {
                s.push_str(PARTS[below(PARTS.len())]);
            }
            let t = go_trim_left(&s);
            let want: Vec<(usize, usize)> =
                SEP.find_iter(t).map(|m| (m.start(), m.end())).collect();
            let got: Vec<(usize, usize)> = separators(t).collect();
            assert_eq!(got, want, "{s:?}");
            let want: Vec<String> = SEP
                .split(t)
                .filter(|d| !d.trim().is_empty())
                .map(|d| go_trim_left(d).to_string())
                .collect();
            assert_eq!(split_manifests(&s), want, "{s:?}");
        }
    }

    #[test]
    fn stable_sort_follows_less_by_kind() {
        const KINDS: &[&str] = &["Service", "Foo", "", "Namespace", "Bar", "Job", "Pod"];
        let mut below = testkit::rand::below_fn(0x50B7_0000_0000_0001);
        for _ in 0..2_000 {
            let mut docs: Vec<Document> = (0..below(12))
                .map(|i| Document {
                    path: i.to_string(),
                    content: String::new(),
                    head: Head {
                        kind: KINDS[below(KINDS.len())].to_string(),
                        ..Head::default()
                    },
                    hook_events: vec![],
                    hook_weight: 0,
                })
                .collect();
            let mut want = docs.clone();
            want.sort_by(|a, b| {
                if less_by_kind(&a.head.kind, &b.head.kind) {
                    std::cmp::Ordering::Less
                } else if less_by_kind(&b.head.kind, &a.head.kind) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            });
            stable_sort(&mut docs);
            let order = |d: &[Document]| d.iter().map(|d| d.path.clone()).collect::<Vec<_>>();
            assert_eq!(order(&docs), order(&want));
        }
    }

    #[test]
    fn kind_order() {
        assert!(less_by_kind("Namespace", "Deployment"));
        assert!(less_by_kind("Deployment", "Foo"));
        assert!(less_by_kind("", "Foo"));
        assert!(less_by_kind("Bar", "Foo"));
        assert!(!less_by_kind("Foo", "Foo"));
    }
}
