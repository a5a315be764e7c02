//! Repository credentials from Argo CD's repository Secrets.
//!
//! A Secret in the control-plane namespace labelled `argocd.argoproj.io/secret-type:
//! repository` declares credentials for one repository (`url` equal to the Application's
//! `repoURL`); one labelled `repo-creds` is a credential template for every repository whose URL
//! starts with its `url` (the longest prefix wins). Both carry `username`/`password` (a token
//! with its user name) or `sshPrivateKey`, as Argo CD stores them. Credentials already in the URL
//! (GitLab CI's `https://gitlab-ci-token:TOKEN@…`) win over Secrets.
//!
//! ```
//! use controller::repocreds::{RepoCred, CredKind, select};
//! use std::collections::BTreeMap;
//!
//! let data = BTreeMap::from([
//!     ("url".to_string(), b"https://git.example.com/team".to_vec()),
//!     ("username".to_string(), b"oauth2".to_vec()),
//!     ("password".to_string(), b"glpat-xyz".to_vec()),
//! ]);
//! let cred = RepoCred::from_data("team-creds", CredKind::Template, &data).unwrap();
//! let creds = [cred];
//! assert!(select("https://git.example.com/team/deploy.git", &creds).is_some());
//! assert!(select("https://git.example.com/other/deploy.git", &creds).is_none());
//! ```

use crate::clusters::LABEL_SECRET_TYPE;
use gitsource::{Auth, Remote, Secret};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which kind of repository Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredKind {
    /// `secret-type: repository`: for exactly one repository URL.
    Repository,
    /// `secret-type: repo-creds`: for every repository under a URL prefix.
    Template,
}

/// Errors of repository Secrets.
#[derive(Debug, thiserror::Error)]
pub enum RepoCredError {
    /// A Secret lacks a field or has an unusable one.
    #[error("repository secret {secret}: {message}")]
    Invalid {
        /// Name of the Secret.
        secret: String,
        /// What is wrong (never the secret value).
        message: String,
    },
    /// Listing the Secrets failed.
    #[error("listing repository secrets: {0}")]
    List(String),
    /// Writing an SSH key for git failed.
    #[error("writing the SSH key of repository secret {secret}: {source}")]
    KeyFile {
        /// Name of the Secret.
        secret: String,
        /// The IO error.
        source: std::io::Error,
    },
}

/// One repository Secret.
#[derive(Clone)]
pub struct RepoCred {
    /// Name of the Secret.
    pub secret: String,
    /// Repository or template.
    pub kind: CredKind,
    /// `url`.
    pub url: String,
    username: Option<String>,
    password: Option<Secret>,
    ssh_private_key: Option<Secret>,
}

impl std::fmt::Debug for RepoCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoCred")
            .field("secret", &self.secret)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn text(data: &BTreeMap<String, Vec<u8>>, key: &str) -> Option<String> {
    data.get(key)
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .filter(|s| !s.is_empty())
}

impl RepoCred {
    /// Reads a Secret's data (decoded `data` merged with `stringData`).
    pub fn from_data(
        secret: &str,
        kind: CredKind,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<RepoCred, RepoCredError> {
        let invalid = |message: &str| RepoCredError::Invalid {
            secret: secret.to_string(),
            message: message.to_string(),
        };
        let url = text(data, "url").ok_or_else(|| invalid("`url` is missing"))?;
        let username = text(data, "username");
        let password = data
            .get("password")
            .map(|v| {
                String::from_utf8_lossy(v)
                    .trim_end_matches(['\n', '\r'])
                    .to_string()
            })
            .filter(|s| !s.is_empty())
            .map(Secret::new);
        if password.is_some() && username.is_none() {
            return Err(invalid("`password` is set but `username` is missing"));
        }
        let ssh_private_key = data
            .get("sshPrivateKey")
            .map(|v| String::from_utf8_lossy(v).to_string())
            .filter(|s| !s.trim().is_empty())
            .map(|mut k| {
                if !k.ends_with('\n') {
                    k.push('\n');
                }
                Secret::new(k)
            });
        Ok(RepoCred {
            secret: secret.to_string(),
            kind,
            url,
            username,
            password,
            ssh_private_key,
        })
    }

    /// Applies these credentials to `remote` (HTTP credentials for HTTP(S) remotes, the key for
    /// SSH remotes; `key_dir` receives SSH keys as private files). A remote that already carries
    /// credentials from its URL is returned unchanged.
    pub fn apply(&self, remote: Remote, key_dir: &Path) -> Result<Remote, RepoCredError> {
        if *remote.auth() != Auth::Default {
            return Ok(remote);
        }
        if remote.is_http() {
            if let (Some(user), Some(pass)) = (&self.username, &self.password) {
                return Ok(remote.with_basic_auth(user.clone(), pass.clone()));
            }
            return Ok(remote);
        }
        if remote.is_ssh()
            && let Some(key) = &self.ssh_private_key
        {
            let path = write_key(key_dir, &self.secret, key.expose()).map_err(|source| {
                RepoCredError::KeyFile {
                    secret: self.secret.clone(),
                    source,
                }
            })?;
            return Ok(remote.with_ssh_key(path));
        }
        Ok(remote)
    }
}

/// Writes `key` to `dir/<secret>.key` (mode 0600) unless it already holds it.
fn write_key(dir: &Path, secret: &str, key: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name: String = secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}.key"));
    if std::fs::read(&path).is_ok_and(|old| old == key.as_bytes()) {
        return Ok(path);
    }
    let tmp = dir.join(format!(".{name}.key.tmp"));
    {
        use std::io::Write;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(key.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Argo CD's comparison form of a repository URL: lower case, without a trailing `/` or `.git`.
pub fn normalize_url(url: &str) -> String {
    let u = url.trim().to_ascii_lowercase();
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u).to_string()
}

/// The credentials for `url`: the `repository` Secret with that URL, else the `repo-creds`
/// template with the longest matching prefix.
pub fn select<'a>(url: &str, creds: &'a [RepoCred]) -> Option<&'a RepoCred> {
    let want = normalize_url(url);
    if let Some(c) = creds
        .iter()
        .find(|c| c.kind == CredKind::Repository && normalize_url(&c.url) == want)
    {
        return Some(c);
    }
    let raw = url.trim().to_ascii_lowercase();
    creds
        .iter()
        .filter(|c| c.kind == CredKind::Template)
        .filter(|c| {
            let p = c.url.trim().to_ascii_lowercase();
            !p.is_empty() && (raw.starts_with(&p) || want.starts_with(&normalize_url(&p)))
        })
        .max_by_key(|c| c.url.trim().len())
}

/// Repository Secrets of the control-plane namespace, listed at most every few seconds.
pub struct RepoCreds {
    client: kube::Client,
    namespace: String,
    key_dir: PathBuf,
    cache: Mutex<Option<(Instant, Vec<RepoCred>)>>,
}

/// How long a listing of repository Secrets is reused.
const TTL: Duration = Duration::from_secs(5);

impl RepoCreds {
    /// Reads repository Secrets from `namespace`; SSH keys are written below `key_dir`.
    pub fn new(client: kube::Client, namespace: &str, key_dir: PathBuf) -> Self {
        RepoCreds {
            client,
            namespace: namespace.into(),
            key_dir,
            cache: Mutex::new(None),
        }
    }

    /// The declared credentials (malformed Secrets are logged and skipped).
    pub async fn list(&self) -> Result<Vec<RepoCred>, RepoCredError> {
        if let Ok(c) = self.cache.lock()
            && let Some((at, creds)) = c.as_ref()
            && at.elapsed() < TTL
        {
            return Ok(creds.clone());
        }
        let list = crate::kube_io::list_secrets(
            &self.client,
            &self.namespace,
            &format!("{LABEL_SECRET_TYPE} in (repository,repo-creds)"),
        )
        .await
        .map_err(RepoCredError::List)?;
        let mut out = Vec::new();
        for s in list {
            let kind = match s.labels.get(LABEL_SECRET_TYPE).map(String::as_str) {
                Some("repository") => CredKind::Repository,
                Some("repo-creds") => CredKind::Template,
                _ => continue,
            };
            match RepoCred::from_data(&s.name, kind, &s.data) {
                Ok(c) => out.push(c),
                Err(e) => tracing::warn!(error = %e, "ignoring repository secret"),
            }
        }
        if let Ok(mut c) = self.cache.lock() {
            *c = Some((Instant::now(), out.clone()));
        }
        Ok(out)
    }

    /// The remote for `url` with the credentials of its repository Secret, if any.
    pub async fn remote(&self, url: &str) -> Result<Remote, String> {
        let remote = Remote::parse(url).map_err(|e| e.to_string())?;
        if remote.is_local() || *remote.auth() != Auth::Default {
            return Ok(remote);
        }
        let creds = self.list().await.map_err(|e| e.to_string())?;
        match select(url, &creds) {
            Some(c) => c.apply(remote, &self.key_dir).map_err(|e| e.to_string()),
            None => Ok(remote),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(name: &str, kind: CredKind, url: &str, extra: &[(&str, &str)]) -> RepoCred {
        let mut data = BTreeMap::from([("url".to_string(), url.as_bytes().to_vec())]);
        for (k, v) in extra {
            data.insert(k.to_string(), v.as_bytes().to_vec());
        }
        RepoCred::from_data(name, kind, &data).unwrap()
    }

    #[test]
    fn repository_secret_wins_over_templates_and_longest_prefix_wins() {
        let creds = vec![
            cred(
                "org",
                CredKind::Template,
                "https://git.example.com/org",
                &[],
            ),
            cred(
                "team",
                CredKind::Template,
                "https://git.example.com/org/team",
                &[],
            ),
            cred(
                "one",
                CredKind::Repository,
                "https://git.example.com/org/team/deploy.git",
                &[],
            ),
        ];
        let pick = |u: &str| select(u, &creds).map(|c| c.secret.as_str());
        assert_eq!(pick("https://git.example.com/org/team/deploy"), Some("one"));
        assert_eq!(
            pick("https://GIT.example.com/org/team/deploy.git/"),
            Some("one")
        );
        assert_eq!(
            pick("https://git.example.com/org/team/other.git"),
            Some("team")
        );
        assert_eq!(pick("https://git.example.com/org/x.git"), Some("org"));
        assert_eq!(pick("https://elsewhere.example.com/org/x.git"), None);
    }

    #[test]
    fn http_credentials_and_url_credentials_first() {
        let c = cred(
            "r",
            CredKind::Repository,
            "https://git.example.com/r.git",
            &[("username", "oauth2"), ("password", "tok\n")],
        );
        let dir = tempfile::tempdir().unwrap();
        let r = c
            .apply(
                Remote::parse("https://git.example.com/r.git").unwrap(),
                dir.path(),
            )
            .unwrap();
        match r.auth() {
            Auth::Basic { username, password } => {
                assert_eq!(username, "oauth2");
                assert_eq!(password.expose(), "tok");
            }
            other => panic!("{other:?}"),
        }
        // Credentials in the URL (GitLab CI) are kept.
        let r = c
            .apply(
                Remote::parse("https://gitlab-ci-token:abc@git.example.com/r.git").unwrap(),
                dir.path(),
            )
            .unwrap();
        assert!(matches!(r.auth(), Auth::Basic { username, .. } if username == "gitlab-ci-token"));
        // The Debug form never shows the secret.
        assert!(!format!("{c:?}").contains("tok"));
    }

    #[test]
    fn ssh_key_written_private() {
        let c = cred(
            "ssh-repo",
            CredKind::Repository,
            "git@git.example.com:org/r.git",
            &[(
                "sshPrivateKey",
                "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----",
            )],
        );
        let dir = tempfile::tempdir().unwrap();
        let r = c
            .apply(
                Remote::parse("git@git.example.com:org/r.git").unwrap(),
                dir.path(),
            )
            .unwrap();
        let path = dir.path().join("ssh-repo.key");
        let key = std::fs::read_to_string(&path).unwrap();
        assert!(key.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_ne!(r, Remote::parse("git@git.example.com:org/r.git").unwrap());
    }

    #[test]
    fn invalid_secrets_name_the_field_not_the_value() {
        let data = BTreeMap::from([("password".to_string(), b"hunter2".to_vec())]);
        let e = RepoCred::from_data("bad", CredKind::Repository, &data).unwrap_err();
        assert_eq!(e.to_string(), "repository secret bad: `url` is missing");
        let data = BTreeMap::from([
            ("url".to_string(), b"https://x".to_vec()),
            ("password".to_string(), b"hunter2".to_vec()),
        ]);
        let e = RepoCred::from_data("bad", CredKind::Repository, &data).unwrap_err();
        assert!(e.to_string().contains("`username` is missing"));
        assert!(!e.to_string().contains("hunter2"));
    }
}
