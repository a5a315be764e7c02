//! helm-secrets value-file references (`secrets://…`, `secrets+age-import://KEY?PATH`, …),
//! resolved and decrypted in memory for `ferry template -f` and the controller.
//!
//! ```no_run
//! use sops::valuefile::{ValueFileRef, ResolveOptions, NoKubernetes, decrypt_value_file};
//! use sops::Keyring;
//!
//! let r = ValueFileRef::parse("secrets+age-import://key.txt?secrets.yaml").unwrap().unwrap();
//! let opts = ResolveOptions::new("/repo/charts/app");
//! let yaml = decrypt_value_file(&r, &opts, &Keyring::from_environment(), &NoKubernetes).unwrap();
//! // `yaml` is the plaintext values document (zeroized on drop).
//! ```
//!
//! URL forms (as helm-secrets parses them: the part after `://` is split at the first `?`):
//!
//! | form | keys used |
//! | --- | --- |
//! | `secrets://PATH` | the environment ([`Keyring::from_environment`]) |
//! | `secrets+gpg-import://KEYPATH?PATH` | the armored/binary OpenPGP secret key file KEYPATH |
//! | `secrets+gpg-import-kubernetes://NS/NAME#KEY?PATH` | key `KEY` of Secret `NS/NAME` as an OpenPGP key |
//! | `secrets+age-import://KEYPATH?PATH` | the age identity file KEYPATH |
//! | `secrets+age-import-kubernetes://NS/NAME#KEY?PATH` | key `KEY` of Secret `NS/NAME` as age identities |
//!
//! A leading `?` on PATH (`secrets://?file.yaml`) means "empty values if the file is missing";
//! a `sops!` backend prefix is accepted. Relative PATH and KEYPATH resolve against
//! [`ResolveOptions::base_dir`] — helm-secrets resolves them against the `helm` process's
//! working directory, which Argo CD sets to the application's source path (the chart
//! directory). Without `/` in the Kubernetes location, the namespace is `None` (the fetcher's
//! default namespace applies, like kubectl's context namespace).

use std::path::{Component, Path, PathBuf};

use zeroize::Zeroizing;

use crate::file::{EncryptedFile, Format};
use crate::keys::Keyring;

/// An error resolving or decrypting a value-file reference. Never contains secret values.
#[derive(Debug, thiserror::Error)]
pub enum ValueFileError {
    /// The reference is malformed.
    #[error("invalid value file reference {url:?}: {reason}")]
    Syntax {
        /// The reference as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A path is not allowed by the resolve options.
    #[error("{path}: {reason}")]
    Forbidden {
        /// The path as given.
        path: String,
        /// Which guard rejected it.
        reason: String,
    },
    /// A key could not be loaded.
    #[error("{location}: cannot load key: {reason}")]
    Key {
        /// Where the key came from.
        location: String,
        /// Why it failed.
        reason: String,
    },
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Decryption failed.
    #[error(transparent)]
    Sops(#[from] crate::Error),
    /// The form is recognised but not supported here.
    #[error("{0}")]
    Unsupported(String),
}

/// Reference to a Kubernetes Secret key (`NS/NAME#KEY`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKeyRef {
    /// Namespace; `None` means the fetcher's default.
    pub namespace: Option<String>,
    /// Secret name.
    pub name: String,
    /// Key inside `data`.
    pub key: String,
}

/// Where the decryption key of a value file comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Keys from the environment (`secrets://`).
    Environment,
    /// An OpenPGP secret key file (`secrets+gpg-import://`).
    GpgFile(String),
    /// An OpenPGP secret key in a Kubernetes Secret.
    GpgKubernetes(SecretKeyRef),
    /// An age identity file (`secrets+age-import://`).
    AgeFile(String),
    /// age identities in a Kubernetes Secret.
    AgeKubernetes(SecretKeyRef),
}

/// A parsed helm-secrets value-file reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueFileRef {
    /// The scheme (`secrets`, `secrets+age-import`, …).
    pub scheme: String,
    /// Where the key comes from.
    pub key: KeySource,
    /// The values file path (local path, as written).
    pub path: String,
    /// `?PATH`: a missing file yields empty values.
    pub ignore_missing: bool,
}

/// Fetches a key of a Kubernetes Secret (already base64-decoded `data[key]`). The controller
/// plugs in its kube client; the CLI can use a kubeconfig-based implementation.
pub trait SecretFetcher {
    /// Returns `data[key]` of Secret `namespace/name` (namespace `None` = default namespace).
    fn fetch(
        &self,
        namespace: Option<&str>,
        name: &str,
        key: &str,
    ) -> Result<Zeroizing<Vec<u8>>, String>;
}

/// A [`SecretFetcher`] for contexts without cluster access: always fails.
pub struct NoKubernetes;

impl SecretFetcher for NoKubernetes {
    fn fetch(
        &self,
        namespace: Option<&str>,
        name: &str,
        key: &str,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let ns = namespace.map(|n| format!("{n}/")).unwrap_or_default();
        Err(format!(
            "no Kubernetes access configured to read Secret {ns}{name} key {key}"
        ))
    }
}

const SCHEMES: [&str; 6] = [
    "secrets",
    "secrets+gpg-import",
    "secrets+gpg-import-kubernetes",
    "secrets+age-import",
    "secrets+age-import-kubernetes",
    "secrets+literal",
];

/// Whether a `-f`/`valueFiles` entry is a helm-secrets reference.
pub fn is_secrets_ref(s: &str) -> bool {
    s.split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.contains(&scheme))
}

fn parse_secret_ref(url: &str, loc: &str) -> Result<SecretKeyRef, ValueFileError> {
    let syntax = |r: &str| ValueFileError::Syntax {
        url: url.to_string(),
        reason: r.to_string(),
    };
    let (obj, key) = loc
        .split_once('#')
        .ok_or_else(|| syntax("the Kubernetes key location must be NAMESPACE/NAME#KEY"))?;
    let (namespace, name) = match obj.split_once('/') {
        Some((ns, name)) => (
            Some(ns.to_string()).filter(|n| !n.is_empty()),
            name.to_string(),
        ),
        None => (None, obj.to_string()),
    };
    if name.is_empty() || key.is_empty() {
        return Err(syntax(
            "the Kubernetes key location must be NAMESPACE/NAME#KEY",
        ));
    }
    Ok(SecretKeyRef {
        namespace,
        name,
        key: key.to_string(),
    })
}

impl ValueFileRef {
    /// Parses a reference; `Ok(None)` when `s` is not a helm-secrets URL (a plain path).
    pub fn parse(s: &str) -> Result<Option<ValueFileRef>, ValueFileError> {
        let Some((scheme, rest)) = s.split_once("://") else {
            return Ok(None);
        };
        if !SCHEMES.contains(&scheme) {
            return Ok(None);
        }
        let syntax = |r: &str| ValueFileError::Syntax {
            url: s.to_string(),
            reason: r.to_string(),
        };
        let (key, path) = match scheme {
            "secrets" => (KeySource::Environment, rest.to_string()),
            "secrets+literal" => {
                return Err(ValueFileError::Unsupported(format!(
                    "{s:?}: secrets+literal:// values are not value files"
                )));
            }
            _ => {
                let (loc, path) = rest.split_once('?').ok_or_else(|| {
                    syntax(&format!(
                        "expected {scheme}://[path to key]?[path secrets.yaml]"
                    ))
                })?;
                if loc.is_empty() {
                    return Err(syntax("empty key location"));
                }
                let key = match scheme {
                    "secrets+gpg-import" => KeySource::GpgFile(loc.to_string()),
                    "secrets+age-import" => KeySource::AgeFile(loc.to_string()),
                    "secrets+gpg-import-kubernetes" => {
                        KeySource::GpgKubernetes(parse_secret_ref(s, loc)?)
                    }
                    _ => KeySource::AgeKubernetes(parse_secret_ref(s, loc)?),
                };
                (key, path.to_string())
            }
        };
        let (ignore_missing, path) = match path.strip_prefix('?') {
            Some(p) => (true, p.to_string()),
            None => (false, path),
        };
        // Backend override (`sops!PATH`); only sops is supported.
        let path = match path.split_once('!') {
            Some(("sops", p)) => p.to_string(),
            Some((b, _))
                if !b.contains('/')
                    && !b.is_empty()
                    && b.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                return Err(ValueFileError::Unsupported(format!(
                    "{s:?}: secrets backend {b:?} is not supported (only sops)"
                )));
            }
            _ => path,
        };
        if path.is_empty() {
            return Err(syntax("empty values file path"));
        }
        Ok(Some(ValueFileRef {
            scheme: scheme.to_string(),
            key,
            path,
            ignore_missing,
        }))
    }
}

/// How paths in references resolve.
#[derive(Clone, Debug)]
pub struct ResolveOptions {
    /// Directory relative paths resolve against (helm's working directory: the chart dir).
    pub base_dir: PathBuf,
    /// When set, resolved files must stay inside this directory (e.g. the repository root).
    pub confine_to: Option<PathBuf>,
    /// Allow absolute paths (`HELM_SECRETS_VALUES_ALLOW_ABSOLUTE_PATH`, default true).
    pub allow_absolute: bool,
    /// Allow `..` (`HELM_SECRETS_VALUES_ALLOW_PATH_TRAVERSAL`, default true).
    pub allow_traversal: bool,
    /// Allow symlinks (`HELM_SECRETS_VALUES_ALLOW_SYMLINKS`, default true).
    pub allow_symlinks: bool,
    /// Allow key files given as absolute paths even when `allow_absolute` is false (mounted
    /// key volumes, e.g. `secrets+age-import:///keys/key.txt?secrets.yaml`).
    pub allow_absolute_keys: bool,
}

impl ResolveOptions {
    /// helm-secrets' defaults (all allowed) with `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        ResolveOptions {
            base_dir: base_dir.into(),
            confine_to: None,
            allow_absolute: true,
            allow_traversal: true,
            allow_symlinks: true,
            allow_absolute_keys: true,
        }
    }

    /// Strict settings for a controller: no absolute values paths, no traversal, no symlinks,
    /// everything inside `root`; key files may be absolute (mounted volumes).
    pub fn strict(base_dir: impl Into<PathBuf>, root: impl Into<PathBuf>) -> Self {
        ResolveOptions {
            base_dir: base_dir.into(),
            confine_to: Some(root.into()),
            allow_absolute: false,
            allow_traversal: false,
            allow_symlinks: false,
            allow_absolute_keys: true,
        }
    }

    /// Resolves a path from a reference (`is_key` for key files).
    pub fn resolve(&self, p: &str, is_key: bool) -> Result<PathBuf, ValueFileError> {
        let forbidden = |r: &str| ValueFileError::Forbidden {
            path: p.to_string(),
            reason: r.to_string(),
        };
        if p.starts_with("http://") || p.starts_with("https://") || p.contains("://") {
            return Err(ValueFileError::Unsupported(format!(
                "{p}: remote values files are not supported here; fetch the file and use sops::valuefile::decrypt_bytes"
            )));
        }
        let path = Path::new(p);
        let absolute = path.is_absolute() || p.starts_with('\\') || p.contains(':');
        if absolute && !self.allow_absolute && !(is_key && self.allow_absolute_keys) {
            return Err(forbidden("absolute paths are not allowed"));
        }
        if !self.allow_traversal && path.components().any(|c| c == Component::ParentDir) {
            return Err(forbidden("path traversal (`..`) is not allowed"));
        }
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        };
        if !self.allow_symlinks {
            let mut cur = PathBuf::new();
            for c in full.components() {
                cur.push(c);
                if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(forbidden("symlinks are not allowed"));
                }
            }
        }
        if let Some(root) = &self.confine_to
            && !(is_key && path.is_absolute() && self.allow_absolute_keys)
        {
            let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
            if let Ok(canon) = std::fs::canonicalize(&full)
                && !canon.starts_with(&root)
            {
                return Err(forbidden("path leaves the repository"));
            }
        }
        Ok(full)
    }
}

/// Resolves and decrypts a value-file reference to plaintext bytes (YAML, or JSON when the
/// file is JSON). `env_keys` is used for `secrets://`; import forms use only their key.
pub fn decrypt_value_file(
    r: &ValueFileRef,
    opts: &ResolveOptions,
    env_keys: &Keyring,
    kube: &dyn SecretFetcher,
) -> Result<Zeroizing<Vec<u8>>, ValueFileError> {
    let path = opts.resolve(&r.path, false)?;
    let shown = r.path.clone();
    tracing::debug!(scheme = %r.scheme, path = %path.display(), "resolving secrets value file");
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && r.ignore_missing => {
            return Ok(Zeroizing::new(Vec::new()));
        }
        Err(e) => {
            return Err(ValueFileError::Io {
                path: shown,
                source: e,
            });
        }
    };
    let mut own = Keyring::new();
    let keys: &Keyring = match &r.key {
        KeySource::Environment => env_keys,
        KeySource::AgeFile(k) => {
            let kp = opts.resolve(k, true)?;
            own.add_age_key_file(&kp).map_err(|e| ValueFileError::Key {
                location: k.clone(),
                reason: e,
            })?;
            &own
        }
        KeySource::GpgFile(k) => {
            let kp = opts.resolve(k, true)?;
            own.add_pgp_key_file(&kp).map_err(|e| ValueFileError::Key {
                location: k.clone(),
                reason: e,
            })?;
            &own
        }
        KeySource::AgeKubernetes(s) | KeySource::GpgKubernetes(s) => {
            let location = format!(
                "Secret {}{}#{}",
                s.namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                s.name,
                s.key
            );
            let bytes = kube
                .fetch(s.namespace.as_deref(), &s.name, &s.key)
                .map_err(|e| ValueFileError::Key {
                    location: location.clone(),
                    reason: e,
                })?;
            let res = if matches!(r.key, KeySource::AgeKubernetes(_)) {
                let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
                own.add_age_identities(&text, &location)
            } else {
                own.add_pgp_secret_keys(&bytes, &location)
            };
            res.map_err(|e| ValueFileError::Key {
                location,
                reason: e,
            })?;
            &own
        }
    };
    decrypt_bytes(&shown, &data, keys)
}

/// Decrypts a values file's bytes the way helm-secrets does: a file without a sops MAC line
/// (`mac: …,type:str]`) is returned unchanged; YAML when a line is exactly `sops:`, else JSON.
pub fn decrypt_bytes(
    name: &str,
    data: &[u8],
    keys: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, ValueFileError> {
    let text = String::from_utf8_lossy(data);
    let encrypted = text
        .lines()
        .any(|l| l.find("mac").is_some_and(|i| l[i..].contains(",type:str]")));
    if !encrypted {
        return Ok(Zeroizing::new(data.to_vec()));
    }
    let format = if text.lines().any(|l| l.trim_end() == "sops:") {
        Format::Yaml
    } else {
        Format::Json
    };
    let file = EncryptedFile::parse(name, data, format)?;
    let plain = file.decrypt(keys)?;
    let out = plain.to_plaintext();
    Ok(Zeroizing::new(out.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        assert_eq!(ValueFileRef::parse("values.yaml").unwrap(), None);
        assert_eq!(ValueFileRef::parse("https://x/values.yaml").unwrap(), None);
        let r = ValueFileRef::parse("secrets://secrets.yaml")
            .unwrap()
            .unwrap();
        assert_eq!(r.key, KeySource::Environment);
        assert_eq!(r.path, "secrets.yaml");
        let r = ValueFileRef::parse("secrets://?sops!../s.yaml")
            .unwrap()
            .unwrap();
        assert!(r.ignore_missing);
        assert_eq!(r.path, "../s.yaml");
        let r = ValueFileRef::parse("secrets+age-import:///keys/key.txt?secrets.yaml")
            .unwrap()
            .unwrap();
        assert_eq!(r.key, KeySource::AgeFile("/keys/key.txt".into()));
        let r = ValueFileRef::parse("secrets+gpg-import://k.asc?a/b.yaml?x=1")
            .unwrap()
            .unwrap();
        assert_eq!(r.key, KeySource::GpgFile("k.asc".into()));
        assert_eq!(r.path, "a/b.yaml?x=1");
        let r =
            ValueFileRef::parse("secrets+age-import-kubernetes://argocd/sops-age#key.txt?s.yaml")
                .unwrap()
                .unwrap();
        assert_eq!(
            r.key,
            KeySource::AgeKubernetes(SecretKeyRef {
                namespace: Some("argocd".into()),
                name: "sops-age".into(),
                key: "key.txt".into()
            })
        );
        let r = ValueFileRef::parse("secrets+gpg-import-kubernetes://gpg#k?s.yaml")
            .unwrap()
            .unwrap();
        assert!(matches!(
            r.key,
            KeySource::GpgKubernetes(SecretKeyRef {
                namespace: None,
                ..
            })
        ));
        assert!(ValueFileRef::parse("secrets+age-import://key.txt").is_err());
        assert!(ValueFileRef::parse("secrets+age-import-kubernetes://ns/name?s.yaml").is_err());
        assert!(ValueFileRef::parse("secrets+literal://x").is_err());
        assert!(is_secrets_ref("secrets+age-import://k?s"));
        assert!(!is_secrets_ref("file://x"));
    }

    #[test]
    fn guards() {
        let o = ResolveOptions::strict("/repo/chart", "/repo");
        assert!(o.resolve("/etc/passwd", false).is_err());
        assert!(o.resolve("../x.yaml", false).is_err());
        assert!(o.resolve("/keys/key.txt", true).is_ok());
        let o = ResolveOptions::new("/repo/chart");
        assert_eq!(
            o.resolve("../x.yaml", false).unwrap(),
            PathBuf::from("/repo/chart/../x.yaml")
        );
        assert!(o.resolve("https://example.com/x.yaml", false).is_err());
    }
}
