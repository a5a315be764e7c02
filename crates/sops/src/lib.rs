//! Native [sops](https://github.com/getsops/sops) for ferry: reads and writes sops-encrypted
//! YAML and JSON files, file-compatible with the real `sops` in both directions.
//!
//! What it does: parses files into an order-preserving tree that keeps comments
//! ([`tree::Value`]), decrypts the data key with age (X25519, passphrase-protected identity
//! files) or OpenPGP (in-process rPGP, or the `gpg` binary and `GNUPGHOME`), including key
//! groups with a Shamir threshold, decrypts `ENC[AES256_GCM,…]` values, checks the MAC
//! (including `mac_only_encrypted`), applies every `*_suffix` / `*_regex` /
//! `*_comment_regex` rule, and writes files back the way sops formats them, reusing the IV
//! of every unchanged value so diffs show only what changed. It also resolves helm-secrets
//! value-file URLs ([`valuefile`]) and `.sops.yaml` creation rules ([`config`]).
//!
//! What it does not do: cloud KMS keys (AWS/GCP/Azure/Vault entries are preserved but cannot
//! decrypt), age plugins and SSH recipients, dotenv/INI/binary stores.
//!
//! Decrypted values live only in memory: [`Decrypted`] wipes its tree on drop, `Debug`
//! implementations are redacted, and errors name the file and key path, never a value.
//!
//! ```no_run
//! use sops::{EncryptedFile, Format, Keyring};
//!
//! let data = std::fs::read("secrets.yaml").unwrap();
//! let file = EncryptedFile::parse("secrets.yaml", &data, Format::Yaml).unwrap();
//! let keys = Keyring::from_environment(); // SOPS_AGE_KEY_FILE, GNUPGHOME, ...
//! let plain = file.decrypt(&keys).unwrap();
//! println!("{}", plain.to_plaintext().as_str());
//! ```

pub mod cipher;
pub mod config;
mod error;
mod file;
pub mod json;
pub mod keys;
pub mod metadata;
mod shamir;
pub mod tree;
pub mod valuefile;
pub mod yaml;

pub use error::{Error, ErrorKind};
pub use file::{
    Decrypted, EncryptOptions, EncryptedFile, Format, KeyGroupSpec, PathStep, emit_documents,
    encrypt_documents, encrypt_plaintext, is_sops_file, now_rfc3339, parse_documents,
    parse_tree_path, wipe,
};
pub use keys::Keyring;
pub use metadata::{Metadata, Rule};
pub use tree::{MapItem, Scalar, SeqItem, Value};
