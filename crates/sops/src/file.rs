//! Encrypted files: reading, decrypting (with MAC check), editing and re-encrypting.

use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::cipher::{self, DataKey, DecryptFail, IvStash};
use crate::error::{Error, ErrorKind};
use crate::keys::{self, Keyring};
use crate::metadata::{
    AgeKey, CompiledRule, KeyGroup, Metadata, PgpKey, Rule, SOPS_FORMAT_VERSION,
};
use crate::tree::{MapItem, Scalar, SeqItem, Value};
use crate::{json, shamir, yaml};

/// File formats ferry reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML (multi-document, comments kept).
    Yaml,
    /// JSON.
    Json,
}

impl Format {
    /// The format sops would pick for this path (`.json` → JSON, everything else YAML).
    pub fn from_path(path: &str) -> Format {
        if path.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }

    /// Parses a format name (`yaml`, `yml`, `json`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Parses plaintext into documents.
pub fn parse_documents(name: &str, data: &[u8], format: Format) -> Result<Vec<Value>, Error> {
    let err = |k: ErrorKind| Error::new(name, k);
    let text = std::str::from_utf8(data)
        .map_err(|_| err(ErrorKind::Invalid("file is not UTF-8".into())))?;
    let docs = match format {
        Format::Yaml => yaml::parse(text).map_err(|e| err(e.into()))?,
        Format::Json => vec![json::parse(text).map_err(|e| err(e.into()))?],
    };
    for (i, d) in docs.iter().enumerate() {
        if !matches!(d, Value::Map(_)) {
            return Err(err(ErrorKind::Invalid(format!(
                "document {} is not a mapping (sops files must be maps at the top)",
                i + 1
            ))));
        }
    }
    Ok(docs)
}

/// Writes documents in a format.
pub fn emit_documents(docs: &[Value], format: Format, yaml_indent: usize) -> String {
    match format {
        Format::Yaml => yaml::emit(docs, yaml_indent),
        Format::Json => match docs {
            [one] => json::emit(one),
            many => json::emit(&Value::Seq(
                many.iter().cloned().map(SeqItem::Value).collect(),
            )),
        },
    }
}

/// A parsed (still encrypted) sops file.
#[derive(Clone, Debug)]
pub struct EncryptedFile {
    name: String,
    format: Format,
    docs: Vec<Value>,
    metadata: Metadata,
    /// YAML indentation used when writing.
    pub yaml_indent: usize,
}

/// Whether bytes look like a sops-encrypted file (a top-level `sops` key with a `mac`).
pub fn is_sops_file(data: &[u8], format: Format) -> bool {
    EncryptedFile::parse("-", data, format).is_ok()
}

impl EncryptedFile {
    /// Parses an encrypted file. `name` is used in errors.
    pub fn parse(name: &str, data: &[u8], format: Format) -> Result<Self, Error> {
        let mut docs = parse_documents(name, data, format).map_err(|e| match e.kind {
            ErrorKind::Invalid(m) => Error::new(name, ErrorKind::NotSops(m)),
            other => Error::new(name, other),
        })?;
        let mut meta_value = None;
        for d in docs.iter_mut() {
            if let Some(m) = d.remove("sops")
                && meta_value.is_none()
            {
                meta_value = Some(m);
            }
        }
        let Some(meta_value) = meta_value else {
            return Err(Error::new(
                name,
                ErrorKind::NotSops("no top-level `sops` metadata key".into()),
            ));
        };
        let metadata = Metadata::from_value(&meta_value)
            .map_err(|m| Error::new(name, ErrorKind::Metadata(m)))?;
        Ok(EncryptedFile {
            name: name.to_string(),
            format,
            docs,
            metadata,
            yaml_indent: 4,
        })
    }

    /// The metadata block.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The encrypted documents (without the `sops` key).
    pub fn documents(&self) -> &[Value] {
        &self.docs
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Recovers the data key with the keyring.
    pub fn data_key(&self, keys: &Keyring) -> Result<DataKey, Error> {
        unwrap_data_key(&self.metadata, keys)
            .map_err(|m| Error::new(&self.name, ErrorKind::NoKey(m)))
    }

    /// Decrypts and verifies the MAC.
    pub fn decrypt(&self, keys: &Keyring) -> Result<Decrypted, Error> {
        self.decrypt_with(keys, false)
    }

    /// Decrypts; with `ignore_mac` a MAC mismatch is not an error.
    pub fn decrypt_with(&self, keys: &Keyring, ignore_mac: bool) -> Result<Decrypted, Error> {
        let key = self.data_key(keys)?;
        self.decrypt_with_key(key, ignore_mac)
    }

    /// Decrypts with a known data key.
    pub fn decrypt_with_key(&self, key: DataKey, ignore_mac: bool) -> Result<Decrypted, Error> {
        let err = |k| Error::new(&self.name, k);
        let rule = self
            .metadata
            .rule
            .compile()
            .map_err(|m| err(ErrorKind::Metadata(m)))?;
        let mut docs = self.docs.clone();
        let mut stash = IvStash::default();
        let mut hasher = new_mac_hasher(self.metadata.mac_only_encrypted);
        for d in docs.iter_mut() {
            let mut path = Vec::new();
            let mut stack = Vec::new();
            walk(d, &mut path, &mut stack, &mut |leaf, path, stack| {
                decrypt_leaf(
                    leaf,
                    path,
                    stack,
                    &rule,
                    &key,
                    &mut stash,
                    &mut hasher,
                    self.metadata.mac_only_encrypted,
                )
            })
            .map_err(err)?;
        }
        let computed = hex_upper(&hasher.finalize());
        let aad = normalize_rfc3339(&self.metadata.lastmodified);
        let stored = cipher::decrypt(&key, &self.metadata.mac, &aad);
        let ok = match &stored {
            Ok((p, _, iv)) => {
                stash.remember(p, "str", &aad, *iv);
                p.as_slice() == computed.as_bytes()
            }
            Err(_) => false,
        };
        if !ok && !ignore_mac {
            if let Err(DecryptFail::Format(m)) = stored {
                return Err(err(ErrorKind::BadValue {
                    path: "sops.mac".into(),
                    reason: m,
                }));
            }
            return Err(err(ErrorKind::MacMismatch));
        }
        tracing::debug!(
            file = %self.name,
            documents = docs.len(),
            mac_ok = ok,
            "decrypted sops file"
        );
        Ok(Decrypted {
            name: self.name.clone(),
            format: self.format,
            docs,
            metadata: self.metadata.clone(),
            key,
            stash,
            yaml_indent: self.yaml_indent,
        })
    }
}

/// A decrypted file held in memory. The plaintext tree is wiped on drop; Debug is redacted.
pub struct Decrypted {
    name: String,
    format: Format,
    docs: Vec<Value>,
    metadata: Metadata,
    key: DataKey,
    stash: IvStash,
    /// YAML indentation used when writing.
    pub yaml_indent: usize,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("documents", &self.docs.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Decrypted {
    fn drop(&mut self) {
        for d in self.docs.iter_mut() {
            wipe(d);
        }
    }
}

/// Overwrites every string in a tree with zeros.
pub fn wipe(v: &mut Value) {
    match v {
        Value::Map(items) => {
            for i in items {
                match i {
                    MapItem::Comment(c) => c.zeroize(),
                    MapItem::Entry(_, v) => wipe(v),
                }
            }
        }
        Value::Seq(items) => {
            for i in items {
                match i {
                    SeqItem::Comment(c) => c.zeroize(),
                    SeqItem::Value(v) => wipe(v),
                }
            }
        }
        Value::Scalar(Scalar::Str(s)) | Value::Scalar(Scalar::Time(s)) => s.zeroize(),
        Value::Scalar(_) => {}
    }
}

/// One step of a value path: a map key or a list index.
#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    /// Map key.
    Key(String),
    /// List index.
    Index(usize),
}

/// Parses sops' tree path syntax: `["a"]["b"][0]`.
pub fn parse_tree_path(s: &str) -> Result<Vec<PathStep>, String> {
    let mut out = Vec::new();
    let b = s.trim();
    let mut rest = b;
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix('[') else {
            return Err(format!("invalid path {s:?}: expected `[`"));
        };
        if let Some(r2) = r.strip_prefix('"') {
            let mut key = String::new();
            let mut chars = r2.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            key.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => key.push(c),
                }
            }
            let end = end.ok_or_else(|| format!("invalid path {s:?}: unterminated key"))?;
            let r3 = r2[end + 1..]
                .strip_prefix(']')
                .ok_or_else(|| format!("invalid path {s:?}: expected `]`"))?;
            out.push(PathStep::Key(key));
            rest = r3;
        } else {
            let close = r
                .find(']')
                .ok_or_else(|| format!("invalid path {s:?}: expected `]`"))?;
            let idx: usize = r[..close]
                .trim()
                .parse()
                .map_err(|_| format!("invalid path {s:?}: {:?} is not an index", &r[..close]))?;
            out.push(PathStep::Index(idx));
            rest = &r[close + 1..];
        }
    }
    if out.is_empty() {
        return Err("empty path".into());
    }
    Ok(out)
}

impl Decrypted {
    /// The plaintext documents.
    pub fn documents(&self) -> &[Value] {
        &self.docs
    }

    /// Mutable plaintext documents (edit, then [`Decrypted::encrypt`]).
    pub fn documents_mut(&mut self) -> &mut Vec<Value> {
        &mut self.docs
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Mutable metadata (e.g. to change the rule before re-encrypting).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The plaintext, in the file's format (without the `sops` block).
    pub fn to_plaintext(&self) -> Zeroizing<String> {
        self.to_plaintext_as(self.format)
    }

    /// The plaintext in another format.
    pub fn to_plaintext_as(&self, format: Format) -> Zeroizing<String> {
        Zeroizing::new(emit_documents(&self.docs, format, self.yaml_indent))
    }

    /// The value at a path.
    pub fn get(&self, path: &[PathStep]) -> Option<&Value> {
        let mut cur = self.docs.first()?;
        for step in path {
            cur = match (step, cur) {
                (PathStep::Key(k), v @ Value::Map(_)) => v.get(k)?,
                (PathStep::Index(i), Value::Seq(items)) => items
                    .iter()
                    .filter_map(|x| match x {
                        SeqItem::Value(v) => Some(v),
                        SeqItem::Comment(_) => None,
                    })
                    .nth(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Sets the value at a path (in the first document), creating maps on the way like
    /// `sops set`. An index equal to the list length appends.
    pub fn set(&mut self, path: &[PathStep], value: Value) -> Result<(), Error> {
        let name = self.name.clone();
        let err = |m: String| Error::new(&name, ErrorKind::Invalid(m));
        let Some(mut cur) = self.docs.first_mut() else {
            return Err(err("file has no document".into()));
        };
        if path.is_empty() {
            return Err(err("empty path".into()));
        }
        if matches!(path.first(), Some(PathStep::Key(k)) if k == "sops") {
            return Err(err("cannot set the `sops` metadata key".into()));
        }
        for (n, step) in path.iter().enumerate() {
            let last = n + 1 == path.len();
            match step {
                PathStep::Key(k) => {
                    if !matches!(cur, Value::Map(_)) {
                        if matches!(cur, Value::Scalar(Scalar::Null)) {
                            *cur = Value::Map(Vec::new());
                        } else {
                            return Err(err(format!("cannot set key {k:?}: parent is not a map")));
                        }
                    }
                    let Value::Map(items) = cur else {
                        unreachable!()
                    };
                    let pos = items.iter().position(
                        |i| matches!(i, MapItem::Entry(key, _) if key.key_string() == *k),
                    );
                    let pos = match pos {
                        Some(p) => p,
                        None => {
                            let init = if last {
                                Value::Scalar(Scalar::Null)
                            } else {
                                empty_for(&path[n + 1])
                            };
                            items.push(MapItem::Entry(Scalar::Str(k.clone()), init));
                            items.len() - 1
                        }
                    };
                    let MapItem::Entry(_, v) = &mut items[pos] else {
                        unreachable!()
                    };
                    if last {
                        wipe(v);
                        *v = value;
                        return Ok(());
                    }
                    cur = v;
                }
                PathStep::Index(i) => {
                    if matches!(cur, Value::Scalar(Scalar::Null)) {
                        *cur = Value::Seq(Vec::new());
                    }
                    let Value::Seq(items) = cur else {
                        return Err(err(format!("cannot set index {i}: parent is not a list")));
                    };
                    let positions: Vec<usize> = items
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| matches!(x, SeqItem::Value(_)))
                        .map(|(p, _)| p)
                        .collect();
                    let pos = if *i < positions.len() {
                        positions[*i]
                    } else if *i == positions.len() {
                        let init = if last {
                            Value::Scalar(Scalar::Null)
                        } else {
                            empty_for(&path[n + 1])
                        };
                        items.push(SeqItem::Value(init));
                        items.len() - 1
                    } else {
                        return Err(err(format!(
                            "index {i} is out of range (list has {} items)",
                            positions.len()
                        )));
                    };
                    let SeqItem::Value(v) = &mut items[pos] else {
                        unreachable!()
                    };
                    if last {
                        wipe(v);
                        *v = value;
                        return Ok(());
                    }
                    cur = v;
                }
            }
        }
        Ok(())
    }

    /// Removes the value at a path (`sops unset`).
    pub fn unset(&mut self, path: &[PathStep]) -> Result<(), Error> {
        let name = self.name.clone();
        let missing = || Error::new(&name, ErrorKind::Invalid("path not found".into()));
        let Some((lastp, parents)) = path.split_last() else {
            return Err(missing());
        };
        let mut cur = self.docs.first_mut().ok_or_else(missing)?;
        for step in parents {
            cur = match (step, cur) {
                (PathStep::Key(k), v @ Value::Map(_)) => v.get_mut(k).ok_or_else(missing)?,
                (PathStep::Index(i), Value::Seq(items)) => items
                    .iter_mut()
                    .filter_map(|x| match x {
                        SeqItem::Value(v) => Some(v),
                        SeqItem::Comment(_) => None,
                    })
                    .nth(*i)
                    .ok_or_else(missing)?,
                _ => return Err(missing()),
            };
        }
        match (lastp, cur) {
            (PathStep::Key(k), v @ Value::Map(_)) => {
                let mut old = v.remove(k).ok_or_else(missing)?;
                wipe(&mut old);
            }
            (PathStep::Index(i), Value::Seq(items)) => {
                let pos = items
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| matches!(x, SeqItem::Value(_)))
                    .map(|(p, _)| p)
                    .nth(*i)
                    .ok_or_else(missing)?;
                items.remove(pos);
            }
            _ => return Err(missing()),
        }
        Ok(())
    }

    /// Encrypts the (possibly edited) documents with the same data key and master keys.
    /// Unchanged values keep their IVs; `lastmodified` and `mac` are renewed.
    pub fn encrypt(&mut self) -> Result<String, Error> {
        let lastmodified = now_rfc3339();
        encrypt_tree(
            &self.name,
            &self.docs,
            &mut self.metadata,
            &self.key,
            &self.stash,
            self.format,
            self.yaml_indent,
            lastmodified,
        )
    }

    /// Generates a new data key, wraps it for the current master keys (and `keys` for
    /// reading public keys), and re-encrypts every value (`sops rotate`).
    pub fn rotate(&mut self, keys: &Keyring) -> Result<String, Error> {
        let groups = spec_of(&self.metadata);
        self.key = DataKey::generate();
        self.stash = IvStash::default();
        self.rewrap(keys, &groups, self.metadata.shamir_threshold)?;
        self.encrypt()
    }

    /// Re-wraps the data key for a new set of master keys (`sops updatekeys`); values and
    /// MAC are unchanged. Returns the new file text.
    pub fn update_keys(
        &mut self,
        keys: &Keyring,
        groups: &[KeyGroupSpec],
        threshold: Option<usize>,
    ) -> Result<String, Error> {
        self.rewrap(keys, groups, threshold)?;
        let lm = self.metadata.lastmodified.clone();
        encrypt_tree(
            &self.name,
            &self.docs,
            &mut self.metadata,
            &self.key,
            &self.stash,
            self.format,
            self.yaml_indent,
            lm,
        )
    }

    fn rewrap(
        &mut self,
        keys: &Keyring,
        groups: &[KeyGroupSpec],
        threshold: Option<usize>,
    ) -> Result<(), Error> {
        let (kg, uses) = wrap_data_key(&self.key, groups, threshold, keys)
            .map_err(|m| Error::new(&self.name, ErrorKind::Encrypt(m)))?;
        // Cloud keys cannot be re-wrapped by ferry; keep them only when the key is unchanged.
        self.metadata.key_groups = kg;
        self.metadata.uses_key_groups = uses;
        self.metadata.shamir_threshold = if uses { threshold } else { None };
        Ok(())
    }
}

fn empty_for(next: &PathStep) -> Value {
    match next {
        PathStep::Key(_) => Value::Map(Vec::new()),
        PathStep::Index(_) => Value::Seq(Vec::new()),
    }
}

/// The master keys of one key group, by public identifier.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroupSpec {
    /// age recipients (`age1…`).
    pub age: Vec<String>,
    /// OpenPGP fingerprints.
    pub pgp: Vec<String>,
}

fn spec_of(m: &Metadata) -> Vec<KeyGroupSpec> {
    m.key_groups
        .iter()
        .map(|g| KeyGroupSpec {
            age: g.age.iter().map(|a| a.recipient.clone()).collect(),
            pgp: g.pgp.iter().map(|p| p.fp.clone()).collect(),
        })
        .collect()
}

/// Options for encrypting a plaintext file.
#[derive(Clone, Debug)]
pub struct EncryptOptions {
    /// Key groups; one group means every key gets the whole data key.
    pub key_groups: Vec<KeyGroupSpec>,
    /// Shamir threshold (key groups only; default: number of groups).
    pub shamir_threshold: Option<usize>,
    /// Which values to encrypt.
    pub rule: Rule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// YAML indentation (sops' `stores.yaml.indent`, default 4).
    pub yaml_indent: usize,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        EncryptOptions {
            key_groups: Vec::new(),
            shamir_threshold: None,
            rule: Rule::default(),
            mac_only_encrypted: false,
            yaml_indent: 4,
        }
    }
}

/// Encrypts a plaintext file (`sops encrypt`). `keys` supplies PGP public keys (or the gpg
/// binary to export them); age needs only the recipients.
pub fn encrypt_plaintext(
    name: &str,
    data: &[u8],
    format: Format,
    opts: &EncryptOptions,
    keys: &Keyring,
) -> Result<String, Error> {
    let docs = parse_documents(name, data, format)?;
    encrypt_documents(name, docs, format, opts, keys)
}

/// Encrypts already-parsed documents.
pub fn encrypt_documents(
    name: &str,
    mut docs: Vec<Value>,
    format: Format,
    opts: &EncryptOptions,
    keys: &Keyring,
) -> Result<String, Error> {
    let err = |k| Error::new(name, k);
    if docs.is_empty() {
        return Err(err(ErrorKind::Invalid(
            "the file is empty; there is nothing to encrypt".into(),
        )));
    }
    for d in &docs {
        if d.get("sops").is_some() {
            return Err(err(ErrorKind::Invalid(
                "the file already has a top-level `sops` key (already encrypted?)".into(),
            )));
        }
    }
    let key = DataKey::generate();
    let (key_groups, uses) = wrap_data_key(&key, &opts.key_groups, opts.shamir_threshold, keys)
        .map_err(|m| err(ErrorKind::Encrypt(m)))?;
    let mut metadata = Metadata {
        key_groups,
        uses_key_groups: uses,
        shamir_threshold: if uses { opts.shamir_threshold } else { None },
        lastmodified: String::new(),
        mac: String::new(),
        rule: opts.rule.clone(),
        mac_only_encrypted: opts.mac_only_encrypted,
        version: SOPS_FORMAT_VERSION.into(),
    };
    let out = encrypt_tree(
        name,
        &docs,
        &mut metadata,
        &key,
        &IvStash::default(),
        format,
        opts.yaml_indent,
        now_rfc3339(),
    );
    for d in docs.iter_mut() {
        wipe(d);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn encrypt_tree(
    name: &str,
    docs: &[Value],
    metadata: &mut Metadata,
    key: &DataKey,
    stash: &IvStash,
    format: Format,
    yaml_indent: usize,
    lastmodified: String,
) -> Result<String, Error> {
    let err = |k| Error::new(name, k);
    let rule = metadata
        .rule
        .compile()
        .map_err(|m| err(ErrorKind::Metadata(m)))?;
    let unenc_comment = match &metadata.rule {
        Rule::UnencryptedCommentRegex(r) => regex::Regex::new(r).ok(),
        _ => None,
    };
    let mut hasher = new_mac_hasher(metadata.mac_only_encrypted);
    let mut out_docs = docs.to_vec();
    for d in out_docs.iter_mut() {
        if d.get("sops").is_some() {
            return Err(err(ErrorKind::Invalid(
                "a data key named `sops` is not allowed".into(),
            )));
        }
        let mut path = Vec::new();
        let mut stack = Vec::new();
        let r = walk(d, &mut path, &mut stack, &mut |leaf, path, stack| {
            let encrypted = rule.should_encrypt(path, stack, matches!(leaf, Leaf::Comment(_)));
            let aad = aad_of(path);
            match leaf {
                Leaf::Comment(c) => {
                    if encrypted && !c.is_empty() {
                        let iv = stash.iv_for(c.as_bytes(), "comment", &aad);
                        let e = cipher::encrypt(key, c.as_bytes(), &aad, "comment", &iv);
                        if let Some(r) = &unenc_comment
                            && r.is_match(&e)
                        {
                            return Err(ErrorKind::Encrypt(
                                "an encrypted comment matches unencrypted_comment_regex".into(),
                            ));
                        }
                        c.zeroize();
                        *c = e;
                    }
                }
                Leaf::Scalar(s) => {
                    let plain = Zeroizing::new(s.plaintext());
                    if !metadata.mac_only_encrypted || encrypted {
                        hasher.update(&plain[..]);
                    }
                    if encrypted && !matches!(s, Scalar::Str(x) if x.is_empty()) {
                        let typ = s.sops_type().unwrap_or("str");
                        let iv = stash.iv_for(&plain, typ, &aad);
                        let e = cipher::encrypt(key, &plain, &aad, typ, &iv);
                        if let Scalar::Str(x) | Scalar::Time(x) = s {
                            x.zeroize();
                        }
                        *s = Scalar::Str(e);
                    }
                }
            }
            Ok(())
        });
        if let Err(k) = r {
            for d in out_docs.iter_mut() {
                wipe(d);
            }
            return Err(err(k));
        }
    }
    let mac = hex_upper(&hasher.finalize());
    let aad = normalize_rfc3339(&lastmodified);
    let iv = stash.iv_for(mac.as_bytes(), "str", &aad);
    metadata.mac = cipher::encrypt(key, mac.as_bytes(), &aad, "str", &iv);
    metadata.lastmodified = lastmodified;
    if metadata.version.is_empty() {
        metadata.version = SOPS_FORMAT_VERSION.into();
    }
    let meta = metadata.to_value();
    for d in out_docs.iter_mut() {
        if let Value::Map(items) = d {
            items.push(MapItem::Entry(Scalar::Str("sops".into()), meta.clone()));
        }
    }
    Ok(emit_documents(&out_docs, format, yaml_indent))
}

/// A leaf visited by [`walk`].
pub(crate) enum Leaf<'a> {
    Scalar(&'a mut Scalar),
    Comment(&'a mut String),
}

type Visit<'f> = dyn FnMut(Leaf<'_>, &[String], &[Vec<String>]) -> Result<(), ErrorKind> + 'f;

/// sops' tree walk: depth first, file order, skipping nulls, with the comment stack.
fn walk(
    v: &mut Value,
    path: &mut Vec<String>,
    stack: &mut Vec<Vec<String>>,
    f: &mut Visit<'_>,
) -> Result<(), ErrorKind> {
    match v {
        Value::Scalar(Scalar::Null) => Ok(()),
        Value::Scalar(s) => f(Leaf::Scalar(s), path, stack),
        Value::Map(items) => {
            stack.push(Vec::new());
            for item in items.iter_mut() {
                match item {
                    MapItem::Comment(c) => {
                        if let Some(top) = stack.last_mut() {
                            top.push(c.clone());
                        }
                        f(Leaf::Comment(c), path, stack)?;
                    }
                    MapItem::Entry(k, v) => {
                        let Scalar::Str(k) = k else {
                            return Err(ErrorKind::Invalid(format!(
                                "key {:?} at `{}` is not a string; only string keys are supported",
                                k.key_string(),
                                path.join(".")
                            )));
                        };
                        path.push(k.clone());
                        let r = walk(v, path, stack, f);
                        path.pop();
                        r?;
                        if let Some(top) = stack.last_mut() {
                            top.clear();
                        }
                    }
                }
            }
            stack.pop();
            Ok(())
        }
        Value::Seq(items) => {
            stack.push(Vec::new());
            for item in items.iter_mut() {
                match item {
                    SeqItem::Comment(c) => {
                        if let Some(top) = stack.last_mut() {
                            top.push(c.clone());
                        }
                        f(Leaf::Comment(c), path, stack)?;
                    }
                    SeqItem::Value(v) => {
                        walk(v, path, stack, f)?;
                        if let Some(top) = stack.last_mut() {
                            top.clear();
                        }
                    }
                }
            }
            stack.pop();
            Ok(())
        }
    }
}

fn aad_of(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

#[allow(clippy::too_many_arguments)]
fn decrypt_leaf(
    leaf: Leaf<'_>,
    path: &[String],
    stack: &[Vec<String>],
    rule: &CompiledRule,
    key: &DataKey,
    stash: &mut IvStash,
    hasher: &mut Sha512,
    mac_only: bool,
) -> Result<(), ErrorKind> {
    let encrypted = rule.should_encrypt(path, stack, matches!(leaf, Leaf::Comment(_)));
    let aad = aad_of(path);
    let shown = if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.join(".")
    };
    match leaf {
        Leaf::Comment(c) => {
            if encrypted
                && cipher::is_encrypted(c)
                && let Ok((p, typ, iv)) = cipher::decrypt(key, c, &aad)
                && typ == "comment"
                && let Ok(text) = String::from_utf8(p.to_vec())
            {
                stash.remember(text.as_bytes(), "comment", &aad, iv);
                *c = text;
            }
            // A comment that does not decrypt is a plaintext comment from an old sops.
            Ok(())
        }
        Leaf::Scalar(s) => {
            if encrypted {
                let Scalar::Str(text) = &*s else {
                    return Err(ErrorKind::BadValue {
                        path: shown,
                        reason: "expected an encrypted value (ENC[...]) but found a plain value; the file was modified outside sops".into(),
                    });
                };
                if !text.is_empty() {
                    let (p, typ, iv) = cipher::decrypt(key, text, &aad).map_err(|e| match e {
                        DecryptFail::Auth => ErrorKind::Tampered(shown.clone()),
                        DecryptFail::Format(m) => ErrorKind::BadValue {
                            path: shown.clone(),
                            reason: m,
                        },
                    })?;
                    let value = typed(&p, &typ).map_err(|m| ErrorKind::BadValue {
                        path: shown.clone(),
                        reason: m,
                    })?;
                    stash.remember(&p, value.sops_type().unwrap_or("str"), &aad, iv);
                    *s = value;
                }
            }
            if !mac_only || encrypted {
                hasher.update(Zeroizing::new(s.plaintext()).as_slice());
            }
            Ok(())
        }
    }
}

/// Converts decrypted bytes to a typed scalar (sops `type:` field).
fn typed(p: &[u8], typ: &str) -> Result<Scalar, String> {
    let text = || std::str::from_utf8(p).map_err(|_| format!("decrypted {typ} is not UTF-8"));
    Ok(match typ {
        "str" => Scalar::Str(text()?.to_string()),
        "bytes" => Scalar::Str(text()?.to_string()),
        "int" => Scalar::Int(
            text()?
                .strip_prefix('+')
                .unwrap_or(text()?)
                .parse()
                .map_err(|_| "decrypted int is not an integer".to_string())?,
        ),
        "float" => Scalar::Float(
            text()?
                .parse()
                .map_err(|_| "decrypted float is not a number".to_string())?,
        ),
        "bool" => Scalar::Bool(match text()? {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err("decrypted bool is not a boolean".into()),
        }),
        "time" => {
            let t = text()?;
            yaml::parse_timestamp(t)
                .filter(|_| t.contains('T'))
                .ok_or("decrypted time is not an RFC 3339 timestamp")?;
            Scalar::Time(t.to_string())
        }
        other => return Err(format!("unknown value type {other:?}")),
    })
}

fn new_mac_hasher(mac_only_encrypted: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only_encrypted {
        let init: [u8; 32] = sha2::Sha256::digest(b"sops").into();
        h.update(init);
    }
    h
}

fn hex_upper(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// Re-formats an RFC 3339 time like Go `time.RFC3339` (fraction dropped, `+00:00` → `Z`).
pub fn normalize_rfc3339(s: &str) -> String {
    match yaml::parse_timestamp(s) {
        Some(t) => {
            // parse_timestamp returns YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm).
            let (head, zone) = if let Some(h) = t.strip_suffix('Z') {
                (h.to_string(), "Z".to_string())
            } else {
                let cut = t.len().saturating_sub(6);
                (t[..cut].to_string(), t[cut..].to_string())
            };
            let head = head.split('.').next().unwrap_or(&head).to_string();
            format!("{head}{zone}")
        }
        None => s.to_string(),
    }
}

/// Now, in UTC, as RFC 3339 seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_unix(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Recovers the data key: any key of a single group, or `threshold` groups' Shamir shares.
fn unwrap_data_key(m: &Metadata, keys: &Keyring) -> Result<DataKey, String> {
    let mut failures = Vec::new();
    let mut unwrap_group = |g: &KeyGroup, gi: usize| -> Option<Zeroizing<Vec<u8>>> {
        let label = |s: String| {
            if m.key_groups.len() > 1 {
                format!("group {}: {s}", gi + 1)
            } else {
                s
            }
        };
        for a in &g.age {
            match keys.decrypt_age(&a.enc) {
                Ok(k) => {
                    tracing::debug!(recipient = %a.recipient, group = gi, "data key unwrapped with age");
                    return Some(k);
                }
                Err(e) => failures.push(label(format!("age {}: {e}", a.recipient))),
            }
        }
        for p in &g.pgp {
            match keys.decrypt_pgp(&p.enc, &p.fp) {
                Ok(k) => {
                    tracing::debug!(fingerprint = %p.fp, group = gi, "data key unwrapped with OpenPGP");
                    return Some(k);
                }
                Err(e) => failures.push(label(format!("pgp {}: {e}", p.fp))),
            }
        }
        for (kind, v) in &g.other {
            if let Value::Seq(items) = v
                && !items.is_empty()
            {
                failures.push(label(format!("{kind}: not supported by ferry")));
            }
        }
        None
    };
    let notes = |failures: Vec<String>| {
        let mut lines: Vec<String> = failures.into_iter().map(|f| format!("  - {f}")).collect();
        if !keys.notes().is_empty() {
            lines.push(format!("  (looked in: {})", keys.notes().join("; ")));
        }
        lines.join("\n")
    };
    if m.key_groups.len() == 1 {
        let Some(k) = unwrap_group(&m.key_groups[0], 0) else {
            return Err(notes(failures));
        };
        return DataKey::from_slice(&k)
            .ok_or_else(|| format!("data key has {} bytes, expected 32", k.len()));
    }
    let threshold = m.shamir_threshold.unwrap_or(m.key_groups.len());
    let mut shares = Vec::new();
    for (i, g) in m.key_groups.iter().enumerate() {
        if shares.len() >= threshold {
            break;
        }
        if let Some(s) = unwrap_group(g, i) {
            shares.push(s);
        }
    }
    if shares.len() < threshold {
        failures.insert(
            0,
            format!(
                "only {} of the {threshold} key group shares needed could be decrypted",
                shares.len()
            ),
        );
        return Err(notes(failures));
    }
    let k = shamir::combine(&shares)?;
    DataKey::from_slice(&k).ok_or_else(|| "combined data key is not 32 bytes".to_string())
}

/// Wraps a data key for key groups; returns (groups, uses_key_groups).
fn wrap_data_key(
    key: &DataKey,
    groups: &[KeyGroupSpec],
    threshold: Option<usize>,
    keys: &Keyring,
) -> Result<(Vec<KeyGroup>, bool), String> {
    let groups: Vec<&KeyGroupSpec> = groups
        .iter()
        .filter(|g| !g.age.is_empty() || !g.pgp.is_empty())
        .collect();
    if groups.is_empty() {
        return Err("no master keys given (age recipients or PGP fingerprints)".into());
    }
    let wrap = |g: &KeyGroupSpec, secret: &[u8]| -> Result<KeyGroup, String> {
        let mut out = KeyGroup::default();
        for r in &g.age {
            out.age.push(AgeKey {
                recipient: r.clone(),
                enc: keys::encrypt_age(r, secret)?,
            });
        }
        for fp in &g.pgp {
            out.pgp.push(PgpKey {
                fp: fp.clone(),
                created_at: now_rfc3339(),
                enc: keys.encrypt_pgp(fp, secret)?,
            });
        }
        Ok(out)
    };
    if groups.len() == 1 {
        return Ok((vec![wrap(groups[0], key.as_bytes())?], false));
    }
    let t = threshold.unwrap_or(groups.len());
    let shares = shamir::split(key.as_bytes(), groups.len(), t)?;
    let out = groups
        .iter()
        .zip(shares.iter())
        .map(|(g, s)| wrap(g, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_helpers() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(
            normalize_rfc3339("2026-11-22T20:46:19+00:00"),
            "2026-11-22T20:46:19Z"
        );
        assert_eq!(
            normalize_rfc3339("2026-11-22T20:46:19.123Z"),
            "2026-11-22T20:46:19Z"
        );
    }

    #[test]
    fn tree_paths() {
        assert_eq!(
            parse_tree_path(r#"["a"]["b c"][2]"#).unwrap(),
            vec![
                PathStep::Key("a".into()),
                PathStep::Key("b c".into()),
                PathStep::Index(2)
            ]
        );
        assert!(parse_tree_path("a.b").is_err());
    }
}
