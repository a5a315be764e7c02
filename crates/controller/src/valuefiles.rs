//! Resolution of Helm `valueFiles` (and `fileParameters[].path`) as Argo CD's repo server does
//! it, without touching the filesystem:
//!
//! 1. `$ref/rest` (first path segment names another source's `ref`): `rest` inside **that
//!    source's repository root**;
//! 2. helm-secrets URLs (`secrets://PATH`, `secrets+age-import://KEY?PATH`, …): the inner
//!    PATH is resolved like a plain value file and the rest is handed to the sops crate;
//! 3. other URLs with an allowed scheme (default `http`, `https`): passed to Helm untouched;
//! 4. paths: relative → joined to the source path, `/`-absolute → from the repository root;
//!    the result must stay inside the repository and not be its root.
//!
//! Build environment variables (`$ARGOCD_APP_NAME`, `${VAR}`, `$$` for `$`) are substituted
//! first (except in the `$ref` name). Globs are expanded by [`expand_globs`] against a listing
//! of the repository's files, which the caller provides.

use crate::application::ApplicationSource;
use std::collections::BTreeMap;
use thiserror::Error;

/// Schemes accepted for remote value files by default (`helm.valuesFileSchemes`).
pub const DEFAULT_ALLOWED_SCHEMES: &[&str] = &["https", "http"];

/// helm-secrets schemes; ferry decrypts these in process, so they are always accepted.
pub const HELM_SECRETS_SCHEMES: &[&str] = &[
    "secrets",
    "secrets+gpg-import",
    "secrets+gpg-import-kubernetes",
    "secrets+age-import",
    "secrets+age-import-kubernetes",
    "secrets+literal",
];

/// A value file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueFileError {
    /// URL scheme not in the allowed list.
    #[error("the URL scheme '{scheme}' is not allowed")]
    SchemeNotAllowed {
        /// The scheme.
        scheme: String,
    },
    /// Path escapes the repository.
    #[error("file '{file}' resolved to outside repository root")]
    OutsideRepository {
        /// The entry as written.
        file: String,
    },
    /// Path is the repository root itself.
    #[error("file '{file}' resolved to the repository root")]
    RepositoryRoot {
        /// The entry as written.
        file: String,
    },
    /// A helm-secrets import URL without `?PATH`.
    #[error("Invalid syntax: {scheme}://[path to key]?[path secrets.yaml] in '{file}'")]
    SecretsSyntax {
        /// The scheme.
        scheme: String,
        /// The entry as written.
        file: String,
    },
    /// A glob matched nothing (and `ignoreMissingValueFiles` is off).
    #[error("no files matched the glob pattern '{pattern}'")]
    NoGlobMatch {
        /// The pattern (repository-relative).
        pattern: String,
    },
}

/// A file inside one source's repository checkout.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoFile {
    /// Index (in `Application::sources()`) of the source whose repository holds the file.
    pub source: usize,
    /// Path from the repository root, `/`-separated, normalised (no `.`/`..`, no leading `/`).
    pub path: String,
}

/// A resolved value file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFile {
    /// A file in a repository checkout (may contain glob characters until [`expand_globs`]).
    Repo(RepoFile),
    /// A remote file for Helm to fetch (`https://…`).
    Url(String),
    /// A helm-secrets value file (decrypted by the sops crate).
    Secrets(SecretsValueFile),
}

/// A parsed helm-secrets URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsValueFile {
    /// The entry as written (after build-env substitution).
    pub url: String,
    /// `secrets`, `secrets+age-import`, …
    pub scheme: String,
    /// Key location of the `*-import*` schemes (a path, or `NS/NAME#KEY` for `-kubernetes`),
    /// verbatim.
    pub key: Option<String>,
    /// Backend override (`sops`, `vals`) from a `backend!PATH` prefix.
    pub backend: Option<String>,
    /// Leading `?` on the path: a missing file yields empty values.
    pub ignore_missing: bool,
    /// The values file (a repository file or a URL); `None` for `secrets+literal://`.
    pub file: Option<Box<ValueFile>>,
    /// The literal of `secrets+literal://VALUE`.
    pub literal: Option<String>,
}

/// Where resolution happens.
#[derive(Debug, Clone)]
pub struct ResolveContext<'a> {
    /// The application's sources (`Application::sources()`).
    pub sources: &'a [&'a ApplicationSource],
    /// Index of the source being rendered.
    pub source_index: usize,
    /// Allowed URL schemes for remote files.
    pub allowed_schemes: &'a [&'a str],
    /// Build environment (`ARGOCD_APP_NAME`, …).
    pub env: &'a BTreeMap<String, String>,
}

impl ResolveContext<'_> {
    fn source_path(&self) -> String {
        self.sources
            .get(self.source_index)
            .map(|s| s.source_path())
            .unwrap_or_else(|| ".".into())
    }
}

/// Substitutes build environment variables as Go's `os.Expand` with Argo CD's mapping:
/// `$NAME` and `${NAME}` → value (`""` when unknown), `$$` → `$`, a `$` not followed by a
/// name is kept.
pub fn substitute_env(s: &str, env: &BTreeMap<String, String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&s[last..i]);
            let rest = &s[i + 1..];
            let (name, width) = shell_name(rest);
            match (name, width) {
                (None, 0) => out.push('$'),
                (None, _) => {} // invalid syntax such as `${}`: eaten
                (Some(n), _) => {
                    if n == "$" {
                        out.push('$');
                    } else if let Some(v) = env.get(n) {
                        out.push_str(v);
                    }
                }
            }
            i += 1 + width;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Go's `getShellName`: the variable name after `$` and how many bytes it spans.
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    if b.first() == Some(&b'{') {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        for i in 1..b.len() {
            if b[i] == b'}' {
                if i == 1 {
                    return (None, 2);
                }
                return (Some(&s[1..i]), i + 1);
            }
        }
        return (None, 1);
    }
    if b.first().is_some_and(|c| is_special(*c)) {
        return (Some(&s[0..1]), 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    if n == 0 {
        (None, 0)
    } else {
        (Some(&s[..n]), n)
    }
}

fn is_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}

/// Joins and normalises a repository path; `None` when it escapes the root.
fn normalize(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let full = if rel.starts_with('/') {
        rel.to_string()
    } else {
        format!("{base}/{rel}")
    };
    for seg in full.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    let valid = !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// Resolves one `valueFiles` entry (see the module docs).
pub fn resolve_value_file(
    raw: &str,
    ctx: &ResolveContext<'_>,
) -> Result<ValueFile, ValueFileError> {
    // 1. $ref/rest (recognised on the raw entry, before substitution)
    if let Some(stripped) = raw.strip_prefix('$') {
        let (name, rest) = stripped.split_once('/').unwrap_or((stripped, ""));
        if let Some(idx) = ctx
            .sources
            .iter()
            .position(|s| s.ref_.as_deref() == Some(name))
        {
            let rest = substitute_env(rest, ctx.env);
            return repo_file(raw, idx, ".", &format!("/{rest}"));
        }
    }
    let s = substitute_env(raw, ctx.env);
    // 2. helm-secrets
    if let Some(scheme) = scheme_of(&s)
        && HELM_SECRETS_SCHEMES.contains(&scheme)
    {
        return secrets_file(&s, scheme, ctx).map(ValueFile::Secrets);
    }
    // 3. remote URL
    if let Some(scheme) = scheme_of(&s) {
        if ctx.allowed_schemes.contains(&scheme) {
            return Ok(ValueFile::Url(s));
        }
        return Err(ValueFileError::SchemeNotAllowed {
            scheme: scheme.to_string(),
        });
    }
    // 4. path in the source's repository
    repo_file(&s, ctx.source_index, &ctx.source_path(), &s)
}

fn repo_file(raw: &str, source: usize, base: &str, rel: &str) -> Result<ValueFile, ValueFileError> {
    let path = normalize(base, rel).ok_or_else(|| ValueFileError::OutsideRepository {
        file: raw.to_string(),
    })?;
    if path.is_empty() {
        return Err(ValueFileError::RepositoryRoot {
            file: raw.to_string(),
        });
    }
    Ok(ValueFile::Repo(RepoFile { source, path }))
}

fn secrets_file(
    url: &str,
    scheme: &str,
    ctx: &ResolveContext<'_>,
) -> Result<SecretsValueFile, ValueFileError> {
    let rest = &url[scheme.len() + 3..];
    let mut out = SecretsValueFile {
        url: url.to_string(),
        scheme: scheme.to_string(),
        key: None,
        backend: None,
        ignore_missing: false,
        file: None,
        literal: None,
    };
    if scheme == "secrets+literal" {
        out.literal = Some(rest.to_string());
        return Ok(out);
    }
    let mut path = rest;
    if scheme != "secrets" {
        let (key, p) = rest
            .split_once('?')
            .ok_or_else(|| ValueFileError::SecretsSyntax {
                scheme: scheme.to_string(),
                file: url.to_string(),
            })?;
        out.key = Some(key.to_string());
        path = p;
    }
    if let Some(p) = path.strip_prefix('?') {
        out.ignore_missing = true;
        path = p;
    }
    if let Some((backend, p)) = path.split_once('!')
        && !backend.contains('/')
        && matches!(backend, "sops" | "vals")
    {
        out.backend = Some(backend.to_string());
        path = p;
    }
    let file = if let Some(inner) = scheme_of(path) {
        if ctx.allowed_schemes.contains(&inner) {
            ValueFile::Url(path.to_string())
        } else {
            return Err(ValueFileError::SchemeNotAllowed {
                scheme: inner.to_string(),
            });
        }
    } else {
        repo_file(url, ctx.source_index, &ctx.source_path(), path)?
    };
    out.file = Some(Box::new(file));
    Ok(out)
}

/// Whether a path contains glob characters (`*`, `?`, `[`).
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Matches a `/`-separated path against a glob: `*` and `?` within one segment, `[...]`
/// classes (`[!...]`/`[^...]` negated), `**` as a whole segment for any number of segments.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    match_segments(&p, &s)
}

fn match_segments(p: &[&str], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((&"**", rest)) => (0..=s.len()).any(|i| match_segments(rest, &s[i..])),
        Some((first, rest)) => {
            !s.is_empty()
                && match_one(first.as_bytes(), s[0].as_bytes())
                && match_segments(rest, &s[1..])
        }
    }
}

pub(crate) fn match_one(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| match_one(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && match_one(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = p.iter().skip(2).position(|c| *c == b']').map(|i| i + 2) else {
                return !s.is_empty() && s[0] == b'[' && match_one(&p[1..], &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let mut class = &p[1..end];
            let negate = matches!(class.first(), Some(b'!') | Some(b'^'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && match_one(&p[end + 1..], &s[1..])
        }
        Some(c) => s.first() == Some(c) && match_one(&p[1..], &s[1..]),
    }
}

/// Expands globs and applies the missing-file rules, given each source's file listing
/// (`files(source_index)`, repository-relative paths):
///
/// * a glob expands in place to its matches in lexical order, leaving out files listed
///   explicitly elsewhere (they keep their explicit position); no match → error unless
///   `ignore_missing`;
/// * a plain repository file that does not exist is dropped when `ignore_missing`, else kept
///   (Helm reports it);
/// * duplicates are dropped (first occurrence wins).
pub fn expand_globs(
    files: &[ValueFile],
    listing: &dyn Fn(usize) -> Vec<String>,
    ignore_missing: bool,
) -> Result<Vec<ValueFile>, ValueFileError> {
    let explicit: Vec<&RepoFile> = files
        .iter()
        .filter_map(|f| match f {
            ValueFile::Repo(r) if !is_glob(&r.path) => Some(r),
            _ => None,
        })
        .collect();
    let mut out: Vec<ValueFile> = Vec::new();
    let push = |out: &mut Vec<ValueFile>, f: ValueFile| {
        if !out.contains(&f) {
            out.push(f);
        }
    };
    for f in files {
        match f {
            ValueFile::Repo(r) if is_glob(&r.path) => {
                let mut matches: Vec<String> = listing(r.source)
                    .into_iter()
                    .filter(|p| glob_match(&r.path, p))
                    .collect();
                matches.sort();
                if matches.is_empty() && !ignore_missing {
                    return Err(ValueFileError::NoGlobMatch {
                        pattern: r.path.clone(),
                    });
                }
                for m in matches {
                    let rf = RepoFile {
                        source: r.source,
                        path: m,
                    };
                    if !explicit.contains(&&rf) {
                        push(&mut out, ValueFile::Repo(rf));
                    }
                }
            }
            ValueFile::Repo(r) => {
                if ignore_missing && !listing(r.source).contains(&r.path) {
                    continue;
                }
                push(&mut out, f.clone());
            }
            other => push(&mut out, other.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::ApplicationSource;

    fn src(path: Option<&str>, r: Option<&str>) -> ApplicationSource {
        ApplicationSource {
            repo_url: "https://git.example.com/org/repo.git".into(),
            path: path.map(Into::into),
            ref_: r.map(Into::into),
            ..Default::default()
        }
    }

    fn resolve(
        raw: &str,
        sources: &[&ApplicationSource],
        idx: usize,
    ) -> Result<ValueFile, ValueFileError> {
        let mut env = BTreeMap::new();
        env.insert("ARGOCD_APP_NAME".to_string(), "web".to_string());
        let ctx = ResolveContext {
            sources,
            source_index: idx,
            allowed_schemes: DEFAULT_ALLOWED_SCHEMES,
            env: &env,
        };
        resolve_value_file(raw, &ctx)
    }

    fn repo(source: usize, path: &str) -> ValueFile {
        ValueFile::Repo(RepoFile {
            source,
            path: path.into(),
        })
    }

    #[test]
    fn paths_relative_absolute_and_confined() {
        let chart = src(Some("charts/web"), None);
        let s = [&chart];
        assert_eq!(
            resolve("values-prod.yaml", &s, 0),
            Ok(repo(0, "charts/web/values-prod.yaml"))
        );
        assert_eq!(
            resolve("./env/../values.yaml", &s, 0),
            Ok(repo(0, "charts/web/values.yaml"))
        );
        assert_eq!(
            resolve("../common/values.yaml", &s, 0),
            Ok(repo(0, "charts/common/values.yaml"))
        );
        assert_eq!(
            resolve("/envs/prod/values.yaml", &s, 0),
            Ok(repo(0, "envs/prod/values.yaml"))
        );
        assert_eq!(
            resolve("values-$ARGOCD_APP_NAME.yaml", &s, 0),
            Ok(repo(0, "charts/web/values-web.yaml"))
        );
        assert_eq!(
            resolve("../../../etc/passwd", &s, 0),
            Err(ValueFileError::OutsideRepository {
                file: "../../../etc/passwd".into()
            })
        );
        assert_eq!(
            resolve("../../../etc/passwd", &s, 0)
                .unwrap_err()
                .to_string(),
            "file '../../../etc/passwd' resolved to outside repository root"
        );
        assert!(matches!(
            resolve("../..", &s, 0),
            Err(ValueFileError::RepositoryRoot { .. })
        ));
        let root = src(None, None);
        assert_eq!(
            resolve("values.yaml", &[&root], 0),
            Ok(repo(0, "values.yaml"))
        );
    }

    #[test]
    fn refs_urls_and_schemes() {
        let chart = src(Some("charts/web"), None);
        let values = src(None, Some("values"));
        let s = [&chart, &values];
        assert_eq!(
            resolve("$values/envs/prod.yaml", &s, 0),
            Ok(repo(1, "envs/prod.yaml"))
        );
        assert_eq!(
            resolve("$values/../../x", &s, 0).unwrap_err().to_string(),
            "file '$values/../../x' resolved to outside repository root"
        );
        // an unknown $name is a build variable (empty here), i.e. a path from the root
        assert_eq!(resolve("$other/x.yaml", &s, 0), Ok(repo(0, "x.yaml")));
        assert_eq!(
            resolve("https://example.com/values.yaml", &s, 0),
            Ok(ValueFile::Url("https://example.com/values.yaml".into()))
        );
        assert_eq!(
            resolve("s3://bucket/values.yaml", &s, 0)
                .unwrap_err()
                .to_string(),
            "the URL scheme 's3' is not allowed"
        );
    }

    #[test]
    fn helm_secrets_urls() {
        let chart = src(Some("charts/web"), None);
        let s = [&chart];
        let ValueFile::Secrets(sec) = resolve("secrets://secrets.yaml", &s, 0).unwrap() else {
            panic!("not secrets")
        };
        assert_eq!(sec.scheme, "secrets");
        assert_eq!(
            sec.file.as_deref(),
            Some(&repo(0, "charts/web/secrets.yaml"))
        );
        let ValueFile::Secrets(sec) = resolve(
            "secrets+age-import:///keys/key.txt??sops!../shared/secrets.yaml",
            &s,
            0,
        )
        .unwrap() else {
            panic!("not secrets")
        };
        assert_eq!(sec.key.as_deref(), Some("/keys/key.txt"));
        assert!(sec.ignore_missing);
        assert_eq!(sec.backend.as_deref(), Some("sops"));
        assert_eq!(
            sec.file.as_deref(),
            Some(&repo(0, "charts/shared/secrets.yaml"))
        );
        let ValueFile::Secrets(sec) = resolve(
            "secrets+gpg-import-kubernetes://argocd/keys#key.asc?secrets.yaml",
            &s,
            0,
        )
        .unwrap() else {
            panic!("not secrets")
        };
        assert_eq!(sec.key.as_deref(), Some("argocd/keys#key.asc"));
        assert!(matches!(
            resolve("secrets+age-import://key.txt", &s, 0),
            Err(ValueFileError::SecretsSyntax { .. })
        ));
        let ValueFile::Secrets(sec) =
            resolve("secrets://https://example.com/s.yaml", &s, 0).unwrap()
        else {
            panic!("not secrets")
        };
        assert_eq!(
            sec.file.as_deref(),
            Some(&ValueFile::Url("https://example.com/s.yaml".into()))
        );
        let ValueFile::Secrets(lit) =
            resolve("secrets+literal://ENC[AES256_GCM,data:x]", &s, 0).unwrap()
        else {
            panic!("not secrets")
        };
        assert_eq!(lit.literal.as_deref(), Some("ENC[AES256_GCM,data:x]"));
        assert!(lit.file.is_none());
    }

    #[test]
    fn env_substitution_like_os_expand() {
        let mut env = BTreeMap::new();
        env.insert("A".to_string(), "x".to_string());
        assert_eq!(substitute_env("$A-${A}-$$-$B-$", &env), "x-x-$--$");
        assert_eq!(substitute_env("a/$/b", &env), "a/$/b");
        assert_eq!(substitute_env("${}z", &env), "z");
        assert_eq!(substitute_env("no vars", &env), "no vars");
    }

    #[test]
    fn globs_expand_in_place() {
        assert!(glob_match("envs/*.yaml", "envs/a.yaml"));
        assert!(!glob_match("envs/*.yaml", "envs/sub/a.yaml"));
        assert!(glob_match("envs/**/*.yaml", "envs/sub/a.yaml"));
        assert!(glob_match("envs/**/*.yaml", "envs/a.yaml"));
        assert!(glob_match("v[0-9].yaml", "v1.yaml") && !glob_match("v[!0-9].yaml", "v1.yaml"));
        assert!(glob_match("v?.yaml", "v1.yaml"));
        let listing = |_: usize| {
            vec![
                "envs/b.yaml".to_string(),
                "envs/a.yaml".into(),
                "envs/c.yaml".into(),
                "base.yaml".into(),
            ]
        };
        let files = vec![
            repo(0, "base.yaml"),
            repo(0, "envs/*.yaml"),
            repo(0, "envs/a.yaml"),
            repo(0, "base.yaml"),
        ];
        assert_eq!(
            expand_globs(&files, &listing, false).unwrap(),
            vec![
                repo(0, "base.yaml"),
                repo(0, "envs/b.yaml"),
                repo(0, "envs/c.yaml"),
                repo(0, "envs/a.yaml")
            ]
        );
        assert_eq!(
            expand_globs(&[repo(0, "none/*.yaml")], &listing, false),
            Err(ValueFileError::NoGlobMatch {
                pattern: "none/*.yaml".into()
            })
        );
        assert_eq!(
            expand_globs(&[repo(0, "none/*.yaml")], &listing, true),
            Ok(vec![])
        );
        // missing plain files: dropped only with ignoreMissingValueFiles
        assert_eq!(
            expand_globs(&[repo(0, "missing.yaml")], &listing, true),
            Ok(vec![])
        );
        assert_eq!(
            expand_globs(&[repo(0, "missing.yaml")], &listing, false),
            Ok(vec![repo(0, "missing.yaml")])
        );
    }
}
