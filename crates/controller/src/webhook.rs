//! Git webhook payloads (GitHub, GitLab) and which Applications a push refreshes, as Argo CD's
//! `/api/webhook` handler decides it (`util/webhook`, `util/app/path`). Pure: the HTTP server,
//! signature checks and the refresh itself belong to the caller.

use crate::application::{Application, ApplicationSource};
use crate::valuefiles::match_one;
use serde_json::Value;
use thiserror::Error;

/// Application annotation limiting refreshes to changes under some paths.
pub const ANNOTATION_MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";

/// Webhook providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `X-GitHub-Event`.
    GitHub,
    /// `X-Gitlab-Event`.
    GitLab,
}

/// The provider from request headers (`header(name)` is case-insensitive at the caller).
pub fn provider(header: &dyn Fn(&str) -> Option<String>) -> Option<Provider> {
    if header("X-GitHub-Event").is_some() {
        Some(Provider::GitHub)
    } else if header("X-Gitlab-Event").is_some() {
        Some(Provider::GitLab)
    } else {
        None
    }
}

/// A payload that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WebhookError {
    /// A required field is missing or has the wrong type.
    #[error("webhook payload: missing or invalid field {0}")]
    Field(&'static str),
}

/// A push, reduced to what the refresh decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Repository web URL (`repository.html_url` / `project.web_url`).
    pub web_url: String,
    /// Pushed revision (`ref` without `refs/heads/` or `refs/tags/`).
    pub revision: String,
    /// Whether the push is to the default branch.
    pub touched_head: bool,
    /// Commit before the push.
    pub before: String,
    /// Commit after the push.
    pub after: String,
    /// Added, modified and removed files over all commits (empty = unknown: refresh all).
    pub changed_files: Vec<String>,
}

/// Argo CD's `ParseRevision`: the last part of `ref` split into at most 3 on `/`
/// (`refs/heads/feature/x` → `feature/x`).
pub fn parse_revision(r: &str) -> &str {
    r.splitn(3, '/').last().unwrap_or(r)
}

/// Parses a push payload. `event` is the event header value; anything but a push
/// (`push` for GitHub; `Push Hook`, `Tag Push Hook`, `System Hook` for GitLab) gives
/// `Ok(None)` (e.g. GitHub's `ping`).
pub fn parse_push(
    provider: Provider,
    event: &str,
    body: &Value,
) -> Result<Option<PushEvent>, WebhookError> {
    let (repo_key, url_key) = match provider {
        Provider::GitHub if event == "push" => ("repository", "html_url"),
        Provider::GitLab if matches!(event, "Push Hook" | "Tag Push Hook" | "System Hook") => {
            ("project", "web_url")
        }
        _ => return Ok(None),
    };
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let repo = body
        .get(repo_key)
        .ok_or(WebhookError::Field("repository"))?;
    let web_url = s(repo.get(url_key)).ok_or(WebhookError::Field("repository web URL"))?;
    let default_branch = s(repo.get("default_branch")).unwrap_or_default();
    let r = s(body.get("ref")).ok_or(WebhookError::Field("ref"))?;
    let revision = parse_revision(&r).to_string();
    let mut changed_files = Vec::new();
    for c in body
        .get("commits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for k in ["added", "modified", "removed"] {
            for f in c.get(k).and_then(Value::as_array).into_iter().flatten() {
                if let Some(f) = f.as_str()
                    && !changed_files.iter().any(|x| x == f)
                {
                    changed_files.push(f.to_string());
                }
            }
        }
    }
    Ok(Some(PushEvent {
        touched_head: !default_branch.is_empty() && default_branch == revision,
        web_url,
        revision,
        before: s(body.get("before")).unwrap_or_default(),
        after: s(body.get("after")).unwrap_or_default(),
        changed_files,
    }))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

/// Whether `repo_url` (a source's `repoURL`) names the repository whose web page is `web_url`,
/// as Argo CD's `GetWebURLRegex`: case-insensitive; optional `http(s)://` or `ssh://`,
/// optional `user@`, optional `ssh.`/`altssh.` host prefix, the web URL's host, optional
/// `:port`, `:` or `/`, the web URL's path, optional `.git`.
pub fn repo_url_matches(web_url: &str, repo_url: &str) -> bool {
    let Some((host, path)) = web_host_path(web_url) else {
        return false;
    };
    let mut rest = repo_url;
    for scheme in ["https://", "http://", "ssh://"] {
        if let Some(r) = strip_prefix_ci(rest, scheme) {
            rest = r;
            break;
        }
    }
    if let Some((user, r)) = rest.split_once('@')
        && !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        rest = r;
    }
    let with_host = |r: &str| -> Option<String> {
        let r = strip_prefix_ci(r, host)?;
        let r = match r.strip_prefix(':') {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => {
                let digits = after.chars().take_while(char::is_ascii_digit).count();
                &after[digits..]
            }
            _ => r,
        };
        let r = r.strip_prefix([':', '/'])?;
        Some(r.to_string())
    };
    let candidates = [
        Some(rest),
        strip_prefix_ci(rest, "ssh."),
        strip_prefix_ci(rest, "altssh."),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter_map(with_host)
        .any(|p| {
            let p = if p.len() >= 4 && p[p.len() - 4..].eq_ignore_ascii_case(".git") {
                &p[..p.len() - 4]
            } else {
                p.as_str()
            };
            p.eq_ignore_ascii_case(path) || p.eq_ignore_ascii_case(path.trim_end_matches(".git"))
        })
}

/// Host (without port) and path (without the leading `/`) of a web URL.
fn web_host_path(web_url: &str) -> Option<(&str, &str)> {
    let (_, rest) = web_url.split_once("://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_port = authority.rsplit_once('@').map_or(authority, |x| x.1);
    let host = host_port.split(':').next().unwrap_or(host_port);
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some((host, path.trim_end_matches('/')))
}

/// Whether a push of `revision` concerns a source tracking `target_revision`: `HEAD`/empty
/// tracks the default branch; `refs/heads/x`, `refs/tags/x` and `x` match revision `x`.
pub fn source_revision_changed(target_revision: &str, revision: &str, touched_head: bool) -> bool {
    let target = parse_revision(target_revision);
    if target.is_empty() || target == "HEAD" {
        return touched_head;
    }
    if target_revision.starts_with("refs/heads/") || target_revision.starts_with("refs/tags/") {
        return revision == target;
    }
    revision == target_revision
}

/// Paths (from the repository root, no leading `/`) of the app's
/// `manifest-generate-paths` annotation for one source: `;`-separated; absolute paths from
/// the root, relative ones joined to the source path (`.` = the source path). Empty when the
/// annotation is absent.
pub fn refresh_paths(app: &Application, source: &ApplicationSource) -> Vec<String> {
    let Some(val) = app
        .metadata
        .annotations
        .get(ANNOTATION_MANIFEST_GENERATE_PATHS)
    else {
        return Vec::new();
    };
    val.split(';')
        .filter(|i| !i.is_empty())
        .map(|item| match item.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None => clean(&format!("{}/{item}", source.path.as_deref().unwrap_or(""))),
        })
        .collect()
}

/// Go's `filepath.Clean` for relative `/` paths (`..` above the root stays).
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(l) if *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

/// Argo CD's `AppFilesHaveChanged`: true when the change list is empty (unknown), when there
/// are no refresh paths, or when a changed file equals, lies under, or `filepath.Match`es a
/// refresh path.
pub fn files_have_changed(refresh_paths: &[String], changed_files: &[String]) -> bool {
    if changed_files.is_empty() || refresh_paths.is_empty() {
        return true;
    }
    changed_files.iter().any(|f| {
        let f = f.trim_start_matches('/');
        refresh_paths.iter().any(|item| {
            let item = item.trim_start_matches('/');
            let under = item == "." || f == item || f.starts_with(&format!("{item}/"));
            under || go_path_match(item, f)
        })
    })
}

/// Go's `path/filepath.Match` on `/`-separated paths.
fn go_path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let n: Vec<&str> = name.split('/').collect();
    p.len() == n.len()
        && p.iter()
            .zip(&n)
            .all(|(p, n)| match_one(p.as_bytes(), n.as_bytes()))
}

/// Indices of the applications a push refreshes: some source uses the pushed repository, tracks
/// the pushed revision, and the changed files touch its refresh paths.
pub fn apps_to_refresh(apps: &[Application], ev: &PushEvent) -> Vec<usize> {
    apps.iter()
        .enumerate()
        .filter(|(_, app)| {
            app.sources().into_iter().any(|s| {
                source_revision_changed(
                    s.target_revision.as_deref().unwrap_or(""),
                    &ev.revision,
                    ev.touched_head,
                ) && repo_url_matches(&ev.web_url, &s.repo_url)
                    && files_have_changed(&refresh_paths(app, s), &ev.changed_files)
            })
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_matching_like_argo() {
        let web = "https://github.com/org/repo";
        for ok in [
            "https://github.com/org/repo",
            "https://github.com/org/repo.git",
            "http://GitHub.com/Org/Repo",
            "git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo.git",
            "ssh://git@ssh.github.com:443/org/repo.git",
            "altssh.github.com:org/repo",
            "github.com/org/repo",
            "https://user@github.com:8443/org/repo",
        ] {
            assert!(repo_url_matches(web, ok), "{ok}");
        }
        for bad in [
            "https://github.com/org/repo2",
            "https://github.com/org/repo/sub",
            "https://gitlab.com/org/repo",
            "https://notgithub.com/org/repo",
            "ftp://github.com/org/repo",
        ] {
            assert!(!repo_url_matches(web, bad), "{bad}");
        }
    }

    #[test]
    fn revisions_and_paths() {
        assert_eq!(parse_revision("refs/heads/feature/x"), "feature/x");
        assert_eq!(parse_revision("main"), "main");
        assert!(source_revision_changed("HEAD", "main", true));
        assert!(source_revision_changed("", "main", true));
        assert!(!source_revision_changed("HEAD", "dev", false));
        assert!(source_revision_changed("refs/heads/dev", "dev", false));
        assert!(source_revision_changed("v1.2.0", "v1.2.0", false));
        assert!(!source_revision_changed("v1.2.0", "main", true));

        let paths = vec!["apps/web".to_string(), "common/*.yaml".to_string()];
        assert!(files_have_changed(&paths, &[]));
        assert!(files_have_changed(&[], &["x".into()]));
        assert!(files_have_changed(&paths, &["apps/web/values.yaml".into()]));
        assert!(files_have_changed(&paths, &["/apps/web".into()]));
        assert!(files_have_changed(&paths, &["common/a.yaml".into()]));
        assert!(!files_have_changed(&paths, &["common/sub/a.yaml".into()]));
        assert!(!files_have_changed(
            &paths,
            &["apps/webapp/x".into(), "README.md".into()]
        ));
    }

    #[test]
    fn github_push_refreshes_matching_apps() {
        let body = json!({
            "ref": "refs/heads/main", "before": "a1", "after": "b2",
            "repository": {"html_url": "https://github.com/org/repo", "default_branch": "main"},
            "commits": [{"added": ["apps/web/values.yaml"], "modified": [], "removed": ["old.txt"]},
                        {"added": [], "modified": ["apps/web/values.yaml"], "removed": []}]
        });
        let ev = parse_push(Provider::GitHub, "push", &body)
            .expect("valid")
            .expect("push");
        assert_eq!(ev.revision, "main");
        assert!(ev.touched_head);
        assert_eq!(ev.changed_files, vec!["apps/web/values.yaml", "old.txt"]);
        assert_eq!(parse_push(Provider::GitHub, "ping", &body), Ok(None));
        assert_eq!(
            parse_push(Provider::GitHub, "push", &json!({"ref": "main"})),
            Err(WebhookError::Field("repository"))
        );
        let app = |name: &str, path: &str, rev: &str, gen_paths: Option<&str>| {
            let mut v = json!({"metadata": {"name": name, "namespace": "argocd"},
                "spec": {"project": "default",
                    "source": {"repoURL": "git@github.com:org/repo.git", "path": path, "targetRevision": rev},
                    "destination": {"server": "https://kubernetes.default.svc"}}});
            if let Some(p) = gen_paths {
                v["metadata"]["annotations"] = json!({ANNOTATION_MANIFEST_GENERATE_PATHS: p});
            }
            Application::from_value(&v).expect("app")
        };
        let apps = vec![
            app("web", "apps/web", "HEAD", Some(".")),
            app("api", "apps/api", "HEAD", Some(".;../common")),
            app("all", "apps/api", "main", None),
            app("dev", "apps/web", "dev", None),
            app("root", "apps/api", "HEAD", Some("/apps/web")),
        ];
        assert_eq!(
            refresh_paths(&apps[1], apps[1].spec.source.as_ref().expect("source")),
            vec!["apps/api", "apps/common"]
        );
        assert_eq!(apps_to_refresh(&apps, &ev), vec![0, 2, 4]);

        let gl = json!({"ref": "refs/tags/v1", "project": {"web_url": "https://gitlab.com/g/r", "default_branch": "main"}});
        let ev = parse_push(Provider::GitLab, "Tag Push Hook", &gl)
            .expect("valid")
            .expect("push");
        assert_eq!((ev.revision.as_str(), ev.touched_head), ("v1", false));
        let headers = |name: &str| (name == "X-Gitlab-Event").then(|| "Push Hook".to_string());
        assert_eq!(provider(&headers), Some(Provider::GitLab));
    }
}
