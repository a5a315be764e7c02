//! Errors. Every error names the file it concerns; none ever contains a decrypted value.

/// An error about one sops file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {kind}")]
pub struct Error {
    /// The file (path or display name) the error concerns.
    pub file: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The input is not a sops-encrypted file.
    #[error("not a sops-encrypted file: {0}")]
    NotSops(String),
    /// YAML syntax error.
    #[error("invalid YAML: {0}")]
    Yaml(#[from] crate::yaml::YamlError),
    /// JSON syntax error.
    #[error("invalid JSON: {0}")]
    Json(#[from] crate::json::JsonError),
    /// dotenv syntax error.
    #[error("invalid dotenv: {0}")]
    Dotenv(String),
    /// The `sops` metadata block is malformed.
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    /// No available key could decrypt the data key.
    #[error("could not decrypt the data key with any available key:\n{0}")]
    NoKey(String),
    /// A value did not authenticate (tampered value, or a data key that does not match).
    #[error(
        "value at `{0}` failed to decrypt: authentication failed (the value or its key path was tampered with, or the data key is wrong)"
    )]
    Tampered(String),
    /// A value has an invalid `ENC[...]` form or type.
    #[error("value at `{path}` is invalid: {reason}")]
    BadValue {
        /// Key path of the value.
        path: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The MAC does not match the content.
    #[error(
        "MAC mismatch: the file content does not match its message authentication code (it was modified outside sops, or is corrupt)"
    )]
    MacMismatch,
    /// Encryption failed.
    #[error("encryption failed: {0}")]
    Encrypt(String),
    /// The requested operation is invalid for this file.
    #[error("{0}")]
    Invalid(String),
    /// An I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Builds an error for `file`.
    pub fn new(file: impl Into<String>, kind: ErrorKind) -> Self {
        Error {
            file: file.into(),
            kind,
        }
    }
}
