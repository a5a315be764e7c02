//! Argo CD `AppProject`s (`argoproj.io/v1alpha1`): which repositories an app may use, which
//! destinations it may deploy to, and which kinds it may create, with Argo CD's matching rules
//! (globs, `!` deny patterns) and condition texts.
//!
//! The `default` project is implicit: when no AppProject named `default` exists it permits
//! everything, as the one Argo CD creates at install does.
//!
//! ```
//! use controller::project::AppProject;
//! use serde_json::json;
//!
//! let p = AppProject::from_value(&json!({"metadata": {"name": "team"},
//!     "spec": {"sourceRepos": ["https://git.example.com/team/*"],
//!              "destinations": [{"server": "*", "namespace": "team-*"}]}})).unwrap();
//! assert!(p.is_source_permitted("https://git.example.com/team/web.git"));
//! assert!(!p.is_source_permitted("https://git.example.com/other/web.git"));
//! assert!(!p.is_group_kind_permitted("", "Namespace", false));
//! ```

use crate::application::{Application, ApplicationDestination};
use serde::Deserialize;
use serde_json::{Value, json};

/// The CRD name.
pub const CRD_NAME: &str = "appprojects.argoproj.io";
/// Plural.
pub const PLURAL: &str = "appprojects";
/// Kind.
pub const KIND: &str = "AppProject";
/// The implicit project.
pub const DEFAULT_PROJECT: &str = "default";

/// `{group, kind}` of a resource list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GroupKind {
    /// Group (glob).
    #[serde(default)]
    pub group: String,
    /// Kind (glob).
    #[serde(default)]
    pub kind: String,
}

/// `spec.destinations[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProjectDestination {
    /// Server URL (glob, `!` denies).
    #[serde(default)]
    pub server: String,
    /// Cluster name (glob, `!` denies).
    #[serde(default)]
    pub name: String,
    /// Namespace (glob, `!` denies).
    #[serde(default)]
    pub namespace: String,
}

/// `spec` of an AppProject (the fields ferry enforces).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Permitted repositories (globs, `!` denies).
    #[serde(default)]
    pub source_repos: Vec<String>,
    /// Permitted destinations.
    #[serde(default)]
    pub destinations: Vec<ProjectDestination>,
    /// Cluster-scoped kinds permitted (empty = none).
    #[serde(default)]
    pub cluster_resource_whitelist: Vec<GroupKind>,
    /// Cluster-scoped kinds denied.
    #[serde(default)]
    pub cluster_resource_blacklist: Vec<GroupKind>,
    /// Namespaced kinds permitted (absent = all).
    #[serde(default)]
    pub namespace_resource_whitelist: Option<Vec<GroupKind>>,
    /// Namespaced kinds denied.
    #[serde(default)]
    pub namespace_resource_blacklist: Vec<GroupKind>,
    /// Namespaces outside the control plane's whose Applications may use this project
    /// (globs; Argo CD's "apps in any namespace").
    #[serde(default)]
    pub source_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    name: String,
}

/// An AppProject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppProject {
    /// Name.
    pub name: String,
    /// Spec.
    pub spec: AppProjectSpec,
}

/// An AppProject that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("AppProject {name}: {path}: {message}")]
pub struct ProjectError {
    /// Project name.
    pub name: String,
    /// Field path.
    pub path: String,
    /// Problem.
    pub message: String,
}

/// Argo CD's `glob.MatchStringInList(list, item, glob.REGEXP)`, used for namespace lists
/// (`--application-namespaces`, AppProject `sourceNamespaces`): an entry wrapped in `/` is a
/// regular expression matched anywhere in `item` (an invalid one matches nothing); any other
/// entry is a glob over the whole of `item`.
pub fn match_in_list(list: &[String], item: &str) -> bool {
    list.iter().any(|p| {
        if p.len() > 1
            && p.starts_with('/')
            && p.ends_with('/')
            && regex::Regex::new(&p[1..p.len() - 1]).is_ok_and(|r| r.is_match(item))
        {
            return true;
        }
        glob(p, item)
    })
}

/// Glob as Argo CD uses it (gobwas/glob): `*` matches any run of characters, `?` one
/// character; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    glob_sep(pattern, text, None)
}

/// Glob with a separator: `*` and `?` do not match `sep`, `**` matches anything.
pub fn glob_sep(pattern: &str, text: &str, sep: Option<char>) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    fn m(p: &[char], t: &[char], sep: Option<char>) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') if p.get(1) == Some(&'*') => {
                let rest = &p[2..];
                (0..=t.len()).any(|i| m(rest, &t[i..], sep))
            }
            Some('*') => {
                let rest = &p[1..];
                for i in 0..=t.len() {
                    if m(rest, &t[i..], sep) {
                        return true;
                    }
                    if i < t.len() && Some(t[i]) == sep {
                        return false;
                    }
                }
                false
            }
            Some('?') => !t.is_empty() && Some(t[0]) != sep && m(&p[1..], &t[1..], sep),
            Some(c) => t.first() == Some(c) && m(&p[1..], &t[1..], sep),
        }
    }
    m(&p, &t, sep)
}

fn is_deny(p: &str) -> bool {
    p.starts_with('!')
}

/// `globMatch(pattern, value, allowNegation)`: a `!pattern` matches what the pattern does not.
fn glob_neg(pattern: &str, value: &str, sep: Option<char>) -> bool {
    match pattern.strip_prefix('!') {
        Some(p) => !glob_sep(p, value, sep),
        None => glob_sep(pattern, value, sep),
    }
}

/// Argo CD's `git.NormalizeGitURL` for matching: lower case, no `.git` suffix, no trailing `/`.
fn normalize_repo(url: &str) -> String {
    let u = url.trim().to_lowercase();
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u).to_string()
}

fn in_list(group: &str, kind: &str, list: &[GroupKind]) -> bool {
    list.iter()
        .any(|i| glob(&i.group, group) && glob(&i.kind, kind))
}

impl AppProject {
    /// The implicit `default` project (everything permitted).
    pub fn default_project() -> AppProject {
        AppProject {
            name: DEFAULT_PROJECT.into(),
            spec: AppProjectSpec {
                source_repos: vec!["*".into()],
                destinations: vec![ProjectDestination {
                    server: "*".into(),
                    name: "*".into(),
                    namespace: "*".into(),
                }],
                cluster_resource_whitelist: vec![GroupKind {
                    group: "*".into(),
                    kind: "*".into(),
                }],
                ..Default::default()
            },
        }
    }

    /// Reads an AppProject object.
    pub fn from_value(v: &Value) -> Result<AppProject, ProjectError> {
        let meta: Meta = v
            .get("metadata")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .ok()
            .flatten()
            .unwrap_or_default();
        let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
        let spec: AppProjectSpec =
            serde_path_to_error::deserialize(&spec).map_err(|e| ProjectError {
                name: meta.name.clone(),
                path: format!("spec.{}", e.path()),
                message: e.inner().to_string(),
            })?;
        Ok(AppProject {
            name: meta.name,
            spec,
        })
    }

    /// `IsAppNamespacePermitted`: an Application in the control-plane namespace (or without a
    /// namespace) may use any project; one in another namespace only a project whose
    /// `sourceNamespaces` matches its namespace ([`match_in_list`]: globs and `/regexp/`).
    pub fn is_app_namespace_permitted(&self, app_namespace: &str, control_namespace: &str) -> bool {
        app_namespace.is_empty()
            || app_namespace == control_namespace
            || match_in_list(&self.spec.source_namespaces, app_namespace)
    }

    /// Argo CD's `UnknownError` condition text for an Application whose namespace may not use
    /// this project (`None` when it may): the app is then neither compared nor synced.
    pub fn app_namespace_violation(
        &self,
        app: &Application,
        control_namespace: &str,
    ) -> Option<String> {
        let ns = &app.metadata.namespace;
        (!self.is_app_namespace_permitted(ns, control_namespace)).then(|| {
            format!(
                "application '{}' in namespace '{}' is not permitted to use project '{}'",
                app.metadata.name, ns, self.name
            )
        })
    }

    /// `IsSourcePermitted`: a pattern matches (`*` stops at `/`, `**` does not) and no deny
    /// pattern excludes the repo. As in Argo CD, a deny pattern the repo does not match counts
    /// as a match (`["!x"]` permits everything but `x`).
    pub fn is_source_permitted(&self, repo_url: &str) -> bool {
        let src = normalize_repo(repo_url);
        let mut any = false;
        for pattern in &self.spec.source_repos {
            let normalized = match pattern.strip_prefix('!') {
                Some(p) => format!("!{}", normalize_repo(p)),
                None => normalize_repo(pattern),
            };
            if normalized == "*" || glob_neg(&normalized, &src, Some('/')) {
                any = true;
            } else if is_deny(&normalized) {
                return false;
            }
        }
        any
    }

    /// `isDestinationMatched`: server or name, and namespace, match one entry; a deny entry
    /// that does not match excludes the destination.
    pub fn is_destination_permitted(&self, dest: &ApplicationDestination) -> bool {
        let server = dest.server.as_deref().unwrap_or("");
        let name = dest.name.as_deref().unwrap_or("");
        let ns = dest.namespace.as_deref().unwrap_or("");
        let mut any = false;
        for item in &self.spec.destinations {
            let name_ok = !name.is_empty() && glob_neg(&item.name, name, None);
            let server_ok = !server.is_empty() && glob_neg(&item.server, server, None);
            let ns_ok = glob_neg(&item.namespace, ns, None);
            if (server_ok || name_ok) && ns_ok {
                any = true;
            } else if (!name_ok && is_deny(&item.name))
                || (!server_ok && is_deny(&item.server))
                || (!ns_ok && is_deny(&item.namespace))
            {
                return false;
            }
        }
        any
    }

    /// `IsGroupKindPermitted`: cluster-scoped kinds need the whitelist (empty = none);
    /// namespaced kinds are permitted unless blacklisted or missing from a present whitelist.
    pub fn is_group_kind_permitted(&self, group: &str, kind: &str, namespaced: bool) -> bool {
        if namespaced {
            let white = match &self.spec.namespace_resource_whitelist {
                None => true,
                Some(l) => !l.is_empty() && in_list(group, kind, l),
            };
            let black = in_list(group, kind, &self.spec.namespace_resource_blacklist);
            return white && !black;
        }
        in_list(group, kind, &self.spec.cluster_resource_whitelist)
            && !in_list(group, kind, &self.spec.cluster_resource_blacklist)
    }

    /// `InvalidSpecError` messages for the app's sources and destination.
    pub fn spec_violations(&self, app: &Application) -> Vec<String> {
        let mut out = Vec::new();
        for s in app.sources() {
            if !self.is_source_permitted(&s.repo_url) {
                out.push(format!(
                    "application repo {} is not permitted in project '{}'",
                    s.repo_url, self.name
                ));
            }
        }
        let d = &app.spec.destination;
        if !self.is_destination_permitted(d) {
            let server = d
                .server
                .clone()
                .filter(|s| !s.is_empty())
                .or_else(|| d.name.clone())
                .unwrap_or_default();
            out.push(format!(
                "application destination server '{}' and namespace '{}' do not match any of the allowed destinations in project '{}'",
                server,
                d.namespace(),
                self.name
            ));
        }
        out
    }

    /// Why the sync may not touch this resource (`None` = permitted): Argo CD's permission
    /// validator texts.
    pub fn resource_violation(
        &self,
        obj: &Value,
        namespaced: bool,
        dest: &ApplicationDestination,
    ) -> Option<String> {
        let group = engine::object::group(obj);
        let kind = engine::object::kind(obj);
        if !self.is_group_kind_permitted(group, kind, namespaced) {
            return Some(format!(
                "resource {group}:{kind} is not permitted in project {}",
                self.name
            ));
        }
        if namespaced {
            let ns = engine::object::namespace(obj);
            let ns = if ns.is_empty() { dest.namespace() } else { ns };
            let d = ApplicationDestination {
                namespace: Some(ns.to_string()),
                ..dest.clone()
            };
            if !self.is_destination_permitted(&d) {
                return Some(format!(
                    "namespace {ns} is not permitted in project '{}'",
                    self.name
                ));
            }
        }
        None
    }
}

/// The `appprojects.argoproj.io` CRD (installed when absent; spec and status free-form).
pub fn appproject_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME, "labels": {"app.kubernetes.io/name": CRD_NAME, "app.kubernetes.io/part-of": "argocd"}},
        "spec": {
            "group": crate::application::GROUP,
            "names": {"kind": KIND, "listKind": "AppProjectList", "plural": PLURAL,
                      "singular": "appproject", "shortNames": ["appproj", "appprojs"]},
            "scope": "Namespaced",
            "versions": [{
                "name": crate::application::VERSION,
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["metadata", "spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }}
            }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proj(spec: Value) -> AppProject {
        AppProject::from_value(&json!({"metadata": {"name": "team"}, "spec": spec})).expect("p")
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("*", "a/b"));
        assert!(glob("team-*", "team-web"));
        assert!(!glob("team-*", "other"));
        assert!(glob("a?c", "abc"));
        assert!(glob("*b*", "abc"));
        assert!(!glob("", "a"));
        assert!(!glob_sep("a/*", "a/b/c", Some('/')));
        assert!(glob_sep("a/**", "a/b/c", Some('/')));
        assert!(!glob_sep("a?b", "a/b", Some('/')));
    }

    #[test]
    fn source_repos() {
        let p = proj(
            json!({"sourceRepos": ["https://git.example.com/*", "https://git.example.com/deep/**"]}),
        );
        assert!(p.is_source_permitted("https://git.example.com/web.git"));
        assert!(p.is_source_permitted("https://GIT.example.com/web/"));
        assert!(!p.is_source_permitted("https://git.example.com/team/web.git"));
        assert!(p.is_source_permitted("https://git.example.com/deep/a/b"));
        assert!(!p.is_source_permitted("https://elsewhere/web.git"));
        let deny = proj(
            json!({"sourceRepos": ["https://git.example.com/*", "!https://git.example.com/secret.git"]}),
        );
        assert!(deny.is_source_permitted("https://git.example.com/web.git"));
        assert!(!deny.is_source_permitted("https://git.example.com/secret"));
        assert!(!proj(json!({})).is_source_permitted("https://x"));
        assert!(AppProject::default_project().is_source_permitted("file:///tmp/x"));
    }

    #[test]
    fn destinations() {
        let p = proj(json!({"destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "team-*"},
            {"name": "prod", "namespace": "*"},
            {"server": "*", "namespace": "!kube-system"}]}));
        let d = |server: &str, name: &str, ns: &str| ApplicationDestination {
            server: (!server.is_empty()).then(|| server.to_string()),
            name: (!name.is_empty()).then(|| name.to_string()),
            namespace: Some(ns.to_string()),
            ..Default::default()
        };
        assert!(p.is_destination_permitted(&d("https://kubernetes.default.svc", "", "team-a")));
        assert!(p.is_destination_permitted(&d("", "prod", "anything")));
        assert!(!p.is_destination_permitted(&d("https://other", "", "kube-system")));
        let app = Application::from_value(&json!({
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "team",
                "source": {"repoURL": "https://elsewhere/web.git"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "kube-system"}}
        }))
        .expect("app");
        assert_eq!(
            p.spec_violations(&app),
            vec![
                "application repo https://elsewhere/web.git is not permitted in project 'team'",
                "application destination server 'https://kubernetes.default.svc' and namespace 'kube-system' do not match any of the allowed destinations in project 'team'"
            ]
        );
        assert!(
            AppProject::default_project()
                .spec_violations(&app)
                .is_empty()
        );
    }

    #[test]
    fn source_namespaces_like_apps_in_any_namespace() {
        let p = proj(json!({"sourceNamespaces": ["team-*", "ci", "/^re.*$/"]}));
        assert!(p.is_app_namespace_permitted("argocd", "argocd"));
        assert!(p.is_app_namespace_permitted("", "argocd"));
        assert!(p.is_app_namespace_permitted("team-a", "argocd"));
        assert!(p.is_app_namespace_permitted("ci", "argocd"));
        assert!(!p.is_app_namespace_permitted("cis", "argocd"));
        assert!(!p.is_app_namespace_permitted("other", "argocd"));
        // `/regexp/` entries are regular expressions, matched unanchored.
        assert!(p.is_app_namespace_permitted("rex", "argocd"));
        assert!(!p.is_app_namespace_permitted("ore", "argocd"));
        assert!(match_in_list(&["/am-[0-9]+/".into()], "team-42"));
        assert!(!match_in_list(&["/am-[0-9]+/".into()], "team-x"));
        // An invalid expression matches nothing (and is no glob either).
        assert!(!match_in_list(&["/(/".into()], "("));
        // The implicit default project permits no other namespace, as Argo CD's.
        assert!(!AppProject::default_project().is_app_namespace_permitted("team-a", "argocd"));
        let app = |ns: &str| {
            Application::from_value(&json!({
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"project": "team", "source": {"repoURL": "https://g/x.git"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"}}
            }))
            .expect("app")
        };
        assert_eq!(p.app_namespace_violation(&app("team-b"), "argocd"), None);
        assert_eq!(
            p.app_namespace_violation(&app("other"), "argocd")
                .as_deref(),
            Some("application 'web' in namespace 'other' is not permitted to use project 'team'")
        );
    }

    #[test]
    fn resource_lists() {
        let p = proj(json!({
            "destinations": [{"server": "*", "namespace": "team-*"}],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]}));
        assert!(p.is_group_kind_permitted("", "Namespace", false));
        assert!(!p.is_group_kind_permitted("rbac.authorization.k8s.io", "ClusterRole", false));
        assert!(p.is_group_kind_permitted("apps", "Deployment", true));
        assert!(!p.is_group_kind_permitted("", "ResourceQuota", true));
        let only = proj(json!({"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}]}));
        assert!(only.is_group_kind_permitted("apps", "Deployment", true));
        assert!(!only.is_group_kind_permitted("", "ConfigMap", true));
        let none = proj(json!({"namespaceResourceWhitelist": []}));
        assert!(!none.is_group_kind_permitted("apps", "Deployment", true));
        let dest = ApplicationDestination {
            server: Some("https://kubernetes.default.svc".into()),
            namespace: Some("team-a".into()),
            ..Default::default()
        };
        let cr = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}});
        assert_eq!(
            p.resource_violation(&cr, false, &dest).as_deref(),
            Some("resource rbac.authorization.k8s.io:ClusterRole is not permitted in project team")
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}});
        assert_eq!(
            p.resource_violation(&cm, true, &dest).as_deref(),
            Some("namespace kube-system is not permitted in project 'team'")
        );
        let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(p.resource_violation(&ok, true, &dest), None);
    }

    #[test]
    fn bad_specs_name_the_field() {
        let e = AppProject::from_value(
            &json!({"metadata": {"name": "t"}, "spec": {"sourceRepos": "x"}}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("AppProject t: spec.sourceRepos: "),
            "{e}"
        );
    }
}
