//! Where a repository lives and how to authenticate to it, without ever putting a secret on a
//! command line or in a message.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::GitError;

/// A secret (token or password). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself (only for handing it to git through the environment).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// Whatever git's own configuration provides (credential helpers, ssh agent).
    #[default]
    Default,
    /// HTTP Basic credentials (a token with its conventional user name), handed to git by a
    /// credential helper that reads them from the child's environment.
    Basic {
        /// User name (`oauth2`, `gitlab-ci-token`, `x-access-token`, ...).
        username: String,
        /// Token or password.
        password: Secret,
    },
}

/// A repository location plus credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    url: String,
    auth: Auth,
    ssh_key: Option<PathBuf>,
    ssh_known_hosts: Option<PathBuf>,
}

/// Environment variables consulted by [`Remote::with_env_credentials`], in order, with the user
/// name each implies.
pub const TOKEN_ENV_VARS: &[(&str, &str)] = &[
    ("FERRY_GIT_TOKEN", "oauth2"),
    ("GITLAB_TOKEN", "oauth2"),
    ("CI_JOB_TOKEN", "gitlab-ci-token"),
    ("GITHUB_TOKEN", "x-access-token"),
];

impl Remote {
    /// Parses a URL (`https://[user:token@]host/path`, `http://`, `ssh://`, `git@host:path`,
    /// `file://`) or a local path. Credentials in an HTTP(S) URL are moved out of it into
    /// [`Auth::Basic`]; relative paths are made absolute.
    pub fn parse(url_or_path: &str) -> Result<Remote, GitError> {
        let s = url_or_path.trim();
        if s.is_empty() {
            return Err(GitError::BadRemote("the repository URL is empty".into()));
        }
        let mut auth = Auth::Default;
        let url = if let Some((scheme, rest)) = s.split_once("://") {
            let scheme_l = scheme.to_ascii_lowercase();
            match scheme_l.as_str() {
                "http" | "https" => {
                    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    match authority.rsplit_once('@') {
                        Some((userinfo, host)) => {
                            let (user, pass) = match userinfo.split_once(':') {
                                Some((u, p)) => (percent_decode(u), Some(percent_decode(p))),
                                None => (percent_decode(userinfo), None),
                            };
                            if let Some(p) = pass {
                                auth = Auth::Basic {
                                    username: if user.is_empty() {
                                        "oauth2".into()
                                    } else {
                                        user
                                    },
                                    password: Secret::new(p),
                                };
                                format!("{scheme_l}://{host}{path}")
                            } else {
                                // A user without a password stays in the URL (git asks the
                                // credential helpers for the password).
                                format!("{scheme_l}://{userinfo}@{host}{path}")
                            }
                        }
                        None => format!("{scheme_l}://{rest}"),
                    }
                }
                "ssh" | "git" | "file" | "git+ssh" | "ssh+git" => s.to_string(),
                _ => {
                    return Err(GitError::BadRemote(format!(
                        "unsupported URL scheme {scheme:?} (use https, http, ssh, git, file or a path)"
                    )));
                }
            }
        } else if is_scp_like(s) {
            s.to_string()
        } else {
            let p = Path::new(s);
            let abs = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir()
                    .map_err(|e| GitError::BadRemote(format!("cannot resolve {s:?}: {e}")))?
                    .join(p)
            };
            abs.to_string_lossy().into_owned()
        };
        Ok(Remote {
            url,
            auth,
            ssh_key: None,
            ssh_known_hosts: None,
        })
    }

    /// The URL handed to git (never holds a password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The credentials in use.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Whether the URL is HTTP(S).
    pub fn is_http(&self) -> bool {
        self.url.starts_with("http://") || self.url.starts_with("https://")
    }

    /// Whether the repository is reached over SSH.
    pub fn is_ssh(&self) -> bool {
        self.url.starts_with("ssh://")
            || self.url.starts_with("git+ssh://")
            || self.url.starts_with("ssh+git://")
            || is_scp_like(&self.url)
    }

    /// Whether the repository is on this machine (path or `file://`).
    pub fn is_local(&self) -> bool {
        !self.url.contains("://") && !is_scp_like(&self.url) || self.url.starts_with("file://")
    }

    /// Sets HTTP Basic credentials.
    pub fn with_basic_auth(mut self, username: impl Into<String>, password: Secret) -> Self {
        self.auth = Auth::Basic {
            username: username.into(),
            password,
        };
        self
    }

    /// For an HTTP(S) remote without credentials: takes a token from the first of
    /// [`TOKEN_ENV_VARS`] that is set (`FERRY_GIT_USER` overrides the user name of
    /// `FERRY_GIT_TOKEN`). `env` looks a variable up (`|k| std::env::var(k).ok()`).
    pub fn with_env_credentials(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        if !self.is_http() || self.auth != Auth::Default {
            return self;
        }
        for (var, user) in TOKEN_ENV_VARS {
            if let Some(token) = env(var).filter(|t| !t.is_empty()) {
                let username = if *var == "FERRY_GIT_TOKEN" {
                    env("FERRY_GIT_USER")
                        .filter(|u| !u.is_empty())
                        .unwrap_or_else(|| user.to_string())
                } else {
                    user.to_string()
                };
                self.auth = Auth::Basic {
                    username,
                    password: Secret::new(token),
                };
                break;
            }
        }
        self
    }

    /// Uses this private key file for SSH (`ssh -i KEY -o IdentitiesOnly=yes`).
    pub fn with_ssh_key(mut self, key: impl Into<PathBuf>) -> Self {
        self.ssh_key = Some(key.into());
        self
    }

    /// Checks SSH host keys against this file (otherwise new hosts are accepted on first use).
    pub fn with_ssh_known_hosts(mut self, file: impl Into<PathBuf>) -> Self {
        self.ssh_known_hosts = Some(file.into());
        self
    }

    /// The environment for git processes talking to this remote: credential helper config
    /// through `GIT_CONFIG_*`, secrets in private variables, `GIT_SSH_COMMAND` for a key.
    pub(crate) fn git_env(&self, extra_config: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut config: Vec<(String, String)> = Vec::new();
        let mut env: Vec<(String, String)> = vec![("GIT_TERMINAL_PROMPT".into(), "0".into())];
        for (k, v) in extra_config {
            config.push((k.to_string(), v.to_string()));
        }
        if let Auth::Basic { username, password } = &self.auth {
            // Reset inherited helpers, then one that prints what the environment holds.
            config.push(("credential.helper".into(), String::new()));
            config.push((
                "credential.helper".into(),
                "!f() { test \"$1\" = get || exit 0; printf 'username=%s\\npassword=%s\\n' \"$FERRY_GIT_CRED_USER\" \"$FERRY_GIT_CRED_PASS\"; }; f".into(),
            ));
            env.push(("FERRY_GIT_CRED_USER".into(), username.clone()));
            env.push(("FERRY_GIT_CRED_PASS".into(), password.expose().to_string()));
        }
        if self.is_ssh() && (self.ssh_key.is_some() || self.ssh_known_hosts.is_some()) {
            let base = std::env::var("GIT_SSH_COMMAND").unwrap_or_else(|_| "ssh".into());
            let mut cmd = base;
            if let Some(k) = &self.ssh_key {
                cmd.push_str(&format!(
                    " -i {} -o IdentitiesOnly=yes",
                    shell_quote(&k.to_string_lossy())
                ));
            }
            match &self.ssh_known_hosts {
                Some(f) => cmd.push_str(&format!(
                    " -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes",
                    shell_quote(&f.to_string_lossy())
                )),
                None => cmd.push_str(" -o StrictHostKeyChecking=accept-new"),
            }
            cmd.push_str(" -o BatchMode=yes");
            env.push(("GIT_SSH_COMMAND".into(), cmd));
        }
        // Append to configuration the caller may already pass through GIT_CONFIG_COUNT.
        let base: usize = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        for (i, (k, v)) in config.iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{}", base + i), k.clone()));
            env.push((format!("GIT_CONFIG_VALUE_{}", base + i), v.clone()));
        }
        env.push(("GIT_CONFIG_COUNT".into(), (base + config.len()).to_string()));
        env
    }

    /// A redactor that hides this remote's secrets.
    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::default();
        if let Auth::Basic { password, .. } = &self.auth {
            r.add(password.expose());
        }
        r
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url_userinfo(&self.url))
    }
}

fn is_scp_like(s: &str) -> bool {
    // user@host:path or host:path (not a Windows drive, not a path with '/' before ':').
    match s.find(':') {
        Some(i) if i > 1 => !s[..i].contains('/') && !s.contains("://"),
        _ => false,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Replaces `scheme://user:password@` with `scheme://***@` anywhere in `s`.
pub fn redact_url_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Hides known secrets and URL credentials in text meant for logs and errors.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Adds a secret to hide (ignored when shorter than 4 characters, to keep messages legible).
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            // Longest first, so that a secret containing another is hidden whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// The text with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut t = redact_url_userinfo(text);
        for s in &self.secrets {
            t = t.replace(s.as_str(), "***");
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_move_out_of_the_url() {
        let r = Remote::parse("https://oauth2:s3cr%40t@gitlab.example.com/g/p.git").unwrap();
        assert_eq!(r.url(), "https://gitlab.example.com/g/p.git");
        assert_eq!(
            r.auth(),
            &Auth::Basic {
                username: "oauth2".into(),
                password: Secret::new("s3cr@t")
            }
        );
        assert!(!format!("{:?}", r.auth()).contains("s3cr"));
        let r = Remote::parse("https://user@host/p").unwrap();
        assert_eq!(r.url(), "https://user@host/p");
        assert_eq!(r.auth(), &Auth::Default);
        assert!(Remote::parse("ftp://x/y").is_err());
        assert!(Remote::parse("").is_err());
    }

    #[test]
    fn kinds_of_remotes() {
        assert!(Remote::parse("git@gitlab.com:g/p.git").unwrap().is_ssh());
        assert!(Remote::parse("ssh://git@h/p").unwrap().is_ssh());
        assert!(Remote::parse("file:///tmp/x").unwrap().is_local());
        let p = Remote::parse("relative/dir").unwrap();
        assert!(p.is_local() && Path::new(p.url()).is_absolute());
        assert!(Remote::parse("/abs/dir").unwrap().is_local());
        assert!(Remote::parse("https://h/p").unwrap().is_http());
    }

    #[test]
    fn env_tokens_in_order() {
        let env = |k: &str| match k {
            "CI_JOB_TOKEN" => Some("jobtok".to_string()),
            "GITHUB_TOKEN" => Some("ghtok".to_string()),
            _ => None,
        };
        let r = Remote::parse("https://h/p")
            .unwrap()
            .with_env_credentials(env);
        assert_eq!(
            r.auth(),
            &Auth::Basic {
                username: "gitlab-ci-token".into(),
                password: Secret::new("jobtok")
            }
        );
        let env2 = |k: &str| match k {
            "FERRY_GIT_TOKEN" => Some("t".to_string()),
            "FERRY_GIT_USER" => Some("bot".to_string()),
            "CI_JOB_TOKEN" => Some("jobtok".to_string()),
            _ => None,
        };
        let r = Remote::parse("https://h/p")
            .unwrap()
            .with_env_credentials(env2);
        assert!(matches!(r.auth(), Auth::Basic { username, .. } if username == "bot"));
        // URL credentials win; non-HTTP remotes ignore tokens.
        let r = Remote::parse("https://a:b@h/p")
            .unwrap()
            .with_env_credentials(env);
        assert!(matches!(r.auth(), Auth::Basic { username, .. } if username == "a"));
        let r = Remote::parse("/tmp/x").unwrap().with_env_credentials(env);
        assert_eq!(r.auth(), &Auth::Default);
    }

    #[test]
    fn git_env_carries_no_secret_in_config_values() {
        let r = Remote::parse("https://u:topsecret@h/p").unwrap();
        let env = r.git_env(&[]);
        let (cfg, other): (Vec<_>, Vec<_>) =
            env.iter().partition(|(k, _)| k.starts_with("GIT_CONFIG_"));
        assert!(cfg.iter().all(|(_, v)| !v.contains("topsecret")));
        assert!(
            other
                .iter()
                .any(|(k, v)| k == "FERRY_GIT_CRED_PASS" && v == "topsecret")
        );
        let ssh = Remote::parse("git@h:p")
            .unwrap()
            .with_ssh_key("/k ey")
            .git_env(&[]);
        let cmd = &ssh.iter().find(|(k, _)| k == "GIT_SSH_COMMAND").unwrap().1;
        assert!(cmd.contains("-i '/k ey' -o IdentitiesOnly=yes"), "{cmd}");
    }

    #[test]
    fn redaction() {
        let mut r = Redactor::default();
        r.add("tok123");
        assert_eq!(
            r.redact("fatal: https://oauth2:tok123@h/p and tok123 again"),
            "fatal: https://***@h/p and *** again"
        );
        assert_eq!(
            redact_url_userinfo("see 'https://h/p'"),
            "see 'https://h/p'"
        );
        let remote = Remote::parse("https://u:pw12345@h/p").unwrap();
        assert_eq!(remote.to_string(), "https://h/p");
        assert_eq!(remote.redactor().redact("x pw12345 y"), "x *** y");
    }
}
