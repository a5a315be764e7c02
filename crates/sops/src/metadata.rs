//! The `sops` metadata block: key groups, rules, MAC, version.

use regex::Regex;

use crate::tree::{MapItem, Scalar, SeqItem, Value};

/// Which values get encrypted (at most one rule per file).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Encrypt unless a key in the path ends with this suffix (the default: `_unencrypted`).
    UnencryptedSuffix(String),
    /// Encrypt only when a key in the path ends with this suffix.
    EncryptedSuffix(String),
    /// Encrypt unless a key in the path matches this regex.
    UnencryptedRegex(String),
    /// Encrypt only when a key in the path matches this regex.
    EncryptedRegex(String),
    /// Encrypt unless a comment above the value (or an ancestor) matches.
    UnencryptedCommentRegex(String),
    /// Encrypt only when a comment above the value (or an ancestor) matches.
    EncryptedCommentRegex(String),
}

impl Default for Rule {
    fn default() -> Self {
        Rule::UnencryptedSuffix("_unencrypted".into())
    }
}

impl Rule {
    /// The metadata field name of this rule.
    pub fn field(&self) -> &'static str {
        match self {
            Rule::UnencryptedSuffix(_) => "unencrypted_suffix",
            Rule::EncryptedSuffix(_) => "encrypted_suffix",
            Rule::UnencryptedRegex(_) => "unencrypted_regex",
            Rule::EncryptedRegex(_) => "encrypted_regex",
            Rule::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            Rule::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    /// The rule's text.
    pub fn text(&self) -> &str {
        match self {
            Rule::UnencryptedSuffix(s)
            | Rule::EncryptedSuffix(s)
            | Rule::UnencryptedRegex(s)
            | Rule::EncryptedRegex(s)
            | Rule::UnencryptedCommentRegex(s)
            | Rule::EncryptedCommentRegex(s) => s,
        }
    }

    /// Builds a rule from its field name.
    pub fn from_field(field: &str, text: String) -> Option<Rule> {
        Some(match field {
            "unencrypted_suffix" => Rule::UnencryptedSuffix(text),
            "encrypted_suffix" => Rule::EncryptedSuffix(text),
            "unencrypted_regex" => Rule::UnencryptedRegex(text),
            "encrypted_regex" => Rule::EncryptedRegex(text),
            "unencrypted_comment_regex" => Rule::UnencryptedCommentRegex(text),
            "encrypted_comment_regex" => Rule::EncryptedCommentRegex(text),
            _ => return None,
        })
    }

    /// Every rule field name.
    pub const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];

    /// Compiles the rule for evaluation.
    pub(crate) fn compile(&self) -> Result<CompiledRule, String> {
        let re = |s: &str| Regex::new(s).map_err(|e| format!("invalid {}: {e}", self.field()));
        Ok(match self {
            Rule::UnencryptedSuffix(s) => CompiledRule::UnencSuffix(s.clone()),
            Rule::EncryptedSuffix(s) => CompiledRule::EncSuffix(s.clone()),
            Rule::UnencryptedRegex(s) => CompiledRule::UnencRegex(re(s)?),
            Rule::EncryptedRegex(s) => CompiledRule::EncRegex(re(s)?),
            Rule::UnencryptedCommentRegex(s) => CompiledRule::UnencComment(re(s)?),
            Rule::EncryptedCommentRegex(s) => CompiledRule::EncComment(re(s)?),
        })
    }
}

/// A rule ready to evaluate.
pub(crate) enum CompiledRule {
    UnencSuffix(String),
    EncSuffix(String),
    UnencRegex(Regex),
    EncRegex(Regex),
    UnencComment(Regex),
    EncComment(Regex),
}

impl CompiledRule {
    /// sops' `shouldBeEncrypted`.
    pub(crate) fn should_encrypt(
        &self,
        path: &[String],
        comments: &[Vec<String>],
        is_comment: bool,
    ) -> bool {
        match self {
            CompiledRule::UnencSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            CompiledRule::EncSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            CompiledRule::UnencRegex(r) => !path.iter().any(|p| r.is_match(p)),
            CompiledRule::EncRegex(r) => path.iter().any(|p| r.is_match(p)),
            CompiledRule::UnencComment(r) => !comments.iter().flatten().any(|c| r.is_match(c)),
            CompiledRule::EncComment(r) => {
                let last_frame = comments.len().saturating_sub(1);
                comments.iter().enumerate().any(|(i, cs)| {
                    cs.iter().enumerate().any(|(j, c)| {
                        // The matching comment line itself is not encrypted.
                        if is_comment && i == last_frame && j + 1 == cs.len() {
                            return false;
                        }
                        r.is_match(c)
                    })
                })
            }
        }
    }
}

/// One age recipient entry.
#[derive(Clone, Debug, PartialEq)]
pub struct AgeKey {
    /// `age1…` public key.
    pub recipient: String,
    /// Armored age file holding the data key (or share).
    pub enc: String,
}

/// One OpenPGP entry.
#[derive(Clone, Debug, PartialEq)]
pub struct PgpKey {
    /// Fingerprint (40 hex digits).
    pub fp: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Armored PGP message holding the data key (or share).
    pub enc: String,
}

/// A key group: any one key of a group decrypts that group's share (or the data key).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    /// age keys.
    pub age: Vec<AgeKey>,
    /// OpenPGP keys.
    pub pgp: Vec<PgpKey>,
    /// Cloud key lists ferry cannot use (`kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `hckms`),
    /// kept verbatim so rewriting the file preserves them.
    pub other: Vec<(String, Value)>,
}

impl KeyGroup {
    fn is_empty(&self) -> bool {
        self.age.is_empty()
            && self.pgp.is_empty()
            && self
                .other
                .iter()
                .all(|(_, v)| matches!(v, Value::Seq(s) if s.is_empty()))
    }
}

/// The parsed `sops` metadata block.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// Key groups. A file with top-level key lists has exactly one group.
    pub key_groups: Vec<KeyGroup>,
    /// Whether the file uses `key_groups` (Shamir) rather than top-level lists.
    pub uses_key_groups: bool,
    /// Shares needed (`shamir_threshold`), when set.
    pub shamir_threshold: Option<usize>,
    /// `lastmodified` as written.
    pub lastmodified: String,
    /// Encrypted MAC.
    pub mac: String,
    /// The encryption rule.
    pub rule: Rule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// `version`.
    pub version: String,
}

/// The sops version whose file format ferry writes.
pub const SOPS_FORMAT_VERSION: &str = "3.11.0";

const CLOUD_FIELDS: [&str; 5] = ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"];

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Scalar(Scalar::Str(s)) | Value::Scalar(Scalar::Time(s)) => Some(s.clone()),
        Value::Scalar(Scalar::Null) => None,
        Value::Scalar(s) => Some(s.key_string()),
        _ => None,
    }
}

fn entries(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Map(items) => items
            .iter()
            .filter_map(|i| match i {
                MapItem::Entry(k, v) => Some((k.key_string(), v)),
                MapItem::Comment(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn list(v: &Value, what: &str) -> Result<Vec<Value>, String> {
    match v {
        Value::Seq(items) => Ok(items
            .iter()
            .filter_map(|i| match i {
                SeqItem::Value(v) => Some(v.clone()),
                SeqItem::Comment(_) => None,
            })
            .collect()),
        Value::Scalar(Scalar::Null) => Ok(Vec::new()),
        _ => Err(format!("`{what}` must be a list")),
    }
}

fn parse_group(v: &Value, ctx: &str) -> Result<KeyGroup, String> {
    let mut g = KeyGroup::default();
    for (k, val) in entries(v) {
        match k.as_str() {
            "age" => {
                for e in list(val, &format!("{ctx}age"))? {
                    let recipient = e.get("recipient").and_then(scalar_text).unwrap_or_default();
                    let enc = e
                        .get("enc")
                        .and_then(scalar_text)
                        .ok_or_else(|| format!("{ctx}age entry for {recipient:?} has no `enc`"))?;
                    g.age.push(AgeKey { recipient, enc });
                }
            }
            "pgp" => {
                for e in list(val, &format!("{ctx}pgp"))? {
                    let fp = e.get("fp").and_then(scalar_text).unwrap_or_default();
                    let enc = e
                        .get("enc")
                        .and_then(scalar_text)
                        .ok_or_else(|| format!("{ctx}pgp entry {fp:?} has no `enc`"))?;
                    let created_at = e
                        .get("created_at")
                        .and_then(scalar_text)
                        .unwrap_or_default();
                    g.pgp.push(PgpKey {
                        fp,
                        created_at,
                        enc,
                    });
                }
            }
            f if CLOUD_FIELDS.contains(&f) => {
                list(val, f)?;
                g.other.push((k.clone(), val.clone()));
            }
            _ => {}
        }
    }
    Ok(g)
}

impl Metadata {
    /// Parses the value of the top-level `sops` key.
    pub fn from_value(v: &Value) -> Result<Metadata, String> {
        if !matches!(v, Value::Map(_)) {
            return Err("`sops` must be a map".into());
        }
        let top = parse_group(v, "")?;
        let mut groups = Vec::new();
        let mut uses_key_groups = false;
        if let Some(kg) = v.get("key_groups") {
            for (i, g) in list(kg, "key_groups")?.iter().enumerate() {
                groups.push(parse_group(g, &format!("key_groups[{i}]."))?);
            }
        }
        let key_groups = if !top.is_empty() {
            vec![top]
        } else if !groups.is_empty() {
            uses_key_groups = true;
            groups
        } else {
            return Err("No keys found in file".into());
        };
        let shamir_threshold = match v.get("shamir_threshold") {
            None | Some(Value::Scalar(Scalar::Null)) => None,
            Some(Value::Scalar(Scalar::Int(i))) if *i >= 0 => Some(*i as usize),
            Some(Value::Scalar(Scalar::Float(f))) if *f >= 0.0 && f.fract() == 0.0 => {
                Some(*f as usize)
            }
            Some(_) => return Err("`shamir_threshold` must be a non-negative integer".into()),
        };
        let shamir_threshold = shamir_threshold.filter(|t| *t > 0);
        let lastmodified = v
            .get("lastmodified")
            .and_then(scalar_text)
            .ok_or("missing `lastmodified`")?;
        let mac = v.get("mac").and_then(scalar_text).ok_or("missing `mac`")?;
        let mut rule = None;
        let mut set = Vec::new();
        for f in Rule::FIELDS {
            if let Some(t) = v.get(f).and_then(scalar_text)
                && !t.is_empty()
            {
                set.push(f);
                rule = Rule::from_field(f, t);
            }
        }
        if set.len() > 1 {
            return Err("Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file".into());
        }
        let mac_only_encrypted = matches!(
            v.get("mac_only_encrypted"),
            Some(Value::Scalar(Scalar::Bool(true)))
        );
        let version = v.get("version").and_then(scalar_text).unwrap_or_default();
        Ok(Metadata {
            key_groups,
            uses_key_groups,
            shamir_threshold,
            lastmodified,
            mac,
            // Files without any rule field (very old sops) behave like the default.
            rule: rule.unwrap_or_default(),
            mac_only_encrypted,
            version,
        })
    }

    /// Serialises in the field order sops 3.11 writes.
    pub fn to_value(&self) -> Value {
        let s = |t: &str| Value::Scalar(Scalar::Str(t.to_string()));
        let mut items = Vec::new();
        let mut push = |k: &str, v: Value| items.push(MapItem::Entry(Scalar::Str(k.into()), v));
        if let Some(t) = self.shamir_threshold
            && self.uses_key_groups
        {
            push("shamir_threshold", Value::Scalar(Scalar::Int(t as i64)));
        }
        let age_list = |g: &KeyGroup| {
            Value::Seq(
                g.age
                    .iter()
                    .map(|a| {
                        SeqItem::Value(Value::Map(vec![
                            MapItem::Entry(Scalar::Str("recipient".into()), s(&a.recipient)),
                            MapItem::Entry(Scalar::Str("enc".into()), s(&a.enc)),
                        ]))
                    })
                    .collect(),
            )
        };
        let pgp_list = |g: &KeyGroup| {
            Value::Seq(
                g.pgp
                    .iter()
                    .map(|p| {
                        SeqItem::Value(Value::Map(vec![
                            MapItem::Entry(Scalar::Str("created_at".into()), s(&p.created_at)),
                            MapItem::Entry(Scalar::Str("enc".into()), s(&p.enc)),
                            MapItem::Entry(Scalar::Str("fp".into()), s(&p.fp)),
                        ]))
                    })
                    .collect(),
            )
        };
        let other = |g: &KeyGroup, f: &str| {
            g.other
                .iter()
                .find(|(k, _)| k == f)
                .map(|(_, v)| v.clone())
                .filter(|v| !matches!(v, Value::Seq(x) if x.is_empty()))
        };
        if self.uses_key_groups {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut gi = Vec::new();
                    let mut gp =
                        |k: &str, v: Value| gi.push(MapItem::Entry(Scalar::Str(k.into()), v));
                    if !g.pgp.is_empty() {
                        gp("pgp", pgp_list(g));
                    }
                    for f in ["kms", "gcp_kms", "hckms", "azure_kv"] {
                        if let Some(v) = other(g, f) {
                            gp(f, v);
                        }
                    }
                    gp(
                        "hc_vault",
                        other(g, "hc_vault").unwrap_or(Value::Seq(Vec::new())),
                    );
                    gp("age", age_list(g));
                    SeqItem::Value(Value::Map(gi))
                })
                .collect();
            push("key_groups", Value::Seq(groups));
        }
        let g0 = if self.uses_key_groups {
            None
        } else {
            self.key_groups.first()
        };
        if let Some(g) = g0 {
            for f in ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"] {
                if let Some(v) = other(g, f) {
                    push(f, v);
                }
            }
            if !g.age.is_empty() {
                push("age", age_list(g));
            }
        }
        push("lastmodified", s(&self.lastmodified));
        push("mac", s(&self.mac));
        if let Some(g) = g0
            && !g.pgp.is_empty()
        {
            push("pgp", pgp_list(g));
        }
        push(self.rule.field(), s(self.rule.text()));
        if self.mac_only_encrypted {
            push("mac_only_encrypted", Value::Scalar(Scalar::Bool(true)));
        }
        push("version", s(&self.version));
        Value::Map(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_rules() {
        let r = Rule::EncryptedCommentRegex("^ sops:enc".into())
            .compile()
            .unwrap();
        let stack = vec![vec![" sops:enc".to_string()]];
        assert!(r.should_encrypt(&["a".into()], &stack, false));
        assert!(!r.should_encrypt(&[], &stack, true));
        assert!(!r.should_encrypt(&["a".into()], &[vec![]], false));
        let r = Rule::EncryptedRegex("^(b|x)$".into()).compile().unwrap();
        assert!(r.should_encrypt(&["b".into(), "y".into()], &[], false));
        assert!(!r.should_encrypt(&["a".into()], &[], false));
    }
}
