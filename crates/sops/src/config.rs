//! `.sops.yaml` creation rules, found like sops finds them.
//!
//! sops looks for `.sops.yaml` in the working directory and then in each parent directory
//! (up to 100 levels; `.sops.yml` is ignored with a warning). `--config`/`SOPS_CONFIG`
//! override the search. The first creation rule whose `path_regex` matches the file path
//! (relative to the config file's directory when the file is under it) — or that has no
//! `path_regex` — applies.

use std::path::{Path, PathBuf};

use regex::Regex;

use crate::file::{EncryptOptions, KeyGroupSpec};
use crate::metadata::Rule;
use crate::tree::{Scalar, SeqItem, Value};
use crate::yaml;

/// Finds `.sops.yaml` from `start` (a directory) upwards.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start.to_path_buf());
    for _ in 0..100 {
        let d = dir?;
        let p = d.join(".sops.yaml");
        if p.is_file() {
            return Some(p);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// Creation rules in order.
    pub creation_rules: Vec<CreationRule>,
    /// `stores.yaml.indent`.
    pub yaml_indent: Option<usize>,
}

/// One creation rule.
#[derive(Debug, Clone, Default)]
pub struct CreationRule {
    /// `path_regex` (empty matches everything).
    pub path_regex: String,
    /// Key groups (top-level `age`/`pgp` make one group).
    pub key_groups: Vec<KeyGroupSpec>,
    /// `shamir_threshold`.
    pub shamir_threshold: Option<usize>,
    /// The value rule.
    pub rule: Option<Rule>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// Cloud key kinds present in the rule that ferry cannot use.
    pub unsupported: Vec<String>,
}

fn keys_field(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Scalar(Scalar::Null)) => Ok(Vec::new()),
        Some(Value::Scalar(Scalar::Str(s))) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|i| match i {
                SeqItem::Value(v) => Some(v),
                SeqItem::Comment(_) => None,
            })
            .map(|v| match v {
                Value::Scalar(Scalar::Str(s)) => Ok(s.trim().to_string()),
                _ => Err(format!("`{what}` entries must be strings")),
            })
            .collect(),
        Some(_) => Err(format!("`{what}` must be a string or a list of strings")),
    }
}

fn group_of(v: &Value, ctx: &str, unsupported: &mut Vec<String>) -> Result<KeyGroupSpec, String> {
    let mut g = KeyGroupSpec {
        age: keys_field(v.get("age"), &format!("{ctx}age"))?,
        pgp: keys_field(v.get("pgp"), &format!("{ctx}pgp"))?,
    };
    for f in [
        "kms",
        "gcp_kms",
        "hckms",
        "azure_keyvault",
        "hc_vault",
        "hc_vault_transit_uri",
    ] {
        if let Some(x) = v.get(f)
            && !matches!(x, Value::Scalar(Scalar::Null))
            && !matches!(x, Value::Seq(s) if s.is_empty())
        {
            unsupported.push(f.to_string());
        }
    }
    if let Some(Value::Seq(merge)) = v.get("merge") {
        for m in merge {
            if let SeqItem::Value(m) = m {
                let sub = group_of(m, &format!("{ctx}merge."), unsupported)?;
                g.age.extend(sub.age);
                g.pgp.extend(sub.pgp);
            }
        }
    }
    Ok(g)
}

impl Config {
    /// Parses a `.sops.yaml`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, String> {
        let where_ = path.display();
        let docs = yaml::parse(text).map_err(|e| format!("{where_}: {e}"))?;
        let mut cfg = Config {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let Some(root) = docs.first() else {
            return Ok(cfg);
        };
        cfg.yaml_indent = match root
            .get("stores")
            .and_then(|s| s.get("yaml"))
            .and_then(|y| y.get("indent"))
        {
            Some(Value::Scalar(Scalar::Int(i))) if *i > 0 => Some(*i as usize),
            _ => None,
        };
        let rules = match root.get("creation_rules") {
            None | Some(Value::Scalar(Scalar::Null)) => return Ok(cfg),
            Some(Value::Seq(items)) => items,
            Some(_) => return Err(format!("{where_}: `creation_rules` must be a list")),
        };
        for (i, r) in rules.iter().enumerate() {
            let SeqItem::Value(r) = r else { continue };
            let ctx = format!("{where_}: creation_rules[{i}]: ");
            let text = |k: &str| match r.get(k) {
                Some(Value::Scalar(Scalar::Str(s))) => Some(s.clone()),
                _ => None,
            };
            let mut unsupported = Vec::new();
            let top = group_of(r, "", &mut unsupported).map_err(|e| format!("{ctx}{e}"))?;
            let mut groups = Vec::new();
            if let Some(Value::Seq(kg)) = r.get("key_groups") {
                for (j, g) in kg.iter().enumerate() {
                    if let SeqItem::Value(g) = g {
                        groups.push(
                            group_of(g, &format!("key_groups[{j}]."), &mut unsupported)
                                .map_err(|e| format!("{ctx}{e}"))?,
                        );
                    }
                }
            }
            let key_groups = if !groups.is_empty() {
                groups
            } else if !top.age.is_empty() || !top.pgp.is_empty() {
                vec![top]
            } else {
                Vec::new()
            };
            let mut rule = None;
            let mut n = 0;
            for f in Rule::FIELDS {
                if let Some(t) = text(f).filter(|t| !t.is_empty()) {
                    n += 1;
                    rule = Rule::from_field(f, t);
                }
            }
            if n > 1 {
                return Err(format!(
                    "{ctx}Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file"
                ));
            }
            let shamir_threshold = match r.get("shamir_threshold") {
                Some(Value::Scalar(Scalar::Int(t))) if *t > 0 => Some(*t as usize),
                _ => None,
            };
            cfg.creation_rules.push(CreationRule {
                path_regex: text("path_regex").unwrap_or_default(),
                key_groups,
                shamir_threshold,
                rule,
                mac_only_encrypted: matches!(
                    r.get("mac_only_encrypted"),
                    Some(Value::Scalar(Scalar::Bool(true)))
                ),
                unsupported,
            });
        }
        Ok(cfg)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Config::parse(path, &text)
    }

    /// The first rule matching `file` (sops matches the path relative to the config's
    /// directory when the file is inside it, else the path as given).
    pub fn rule_for(&self, file: &Path) -> Result<&CreationRule, String> {
        let cfg_dir = self
            .path
            .parent()
            .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()))
            .unwrap_or_default();
        let abs = if file.is_absolute() {
            file.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|c| c.join(file))
                .unwrap_or_else(|_| file.to_path_buf())
        };
        let abs = match (abs.parent(), abs.file_name()) {
            (Some(p), Some(n)) => std::fs::canonicalize(p)
                .map(|p| p.join(n))
                .unwrap_or(abs.clone()),
            _ => abs,
        };
        let rel = abs
            .strip_prefix(&cfg_dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| file.to_string_lossy().into_owned());
        for r in &self.creation_rules {
            if r.path_regex.is_empty() {
                return Ok(r);
            }
            let re = Regex::new(&r.path_regex).map_err(|e| {
                format!(
                    "{}: invalid path_regex {:?}: {e}",
                    self.path.display(),
                    r.path_regex
                )
            })?;
            if re.is_match(&rel) {
                return Ok(r);
            }
        }
        Err(format!(
            "{}: no matching creation rules found for {rel}",
            self.path.display()
        ))
    }
}

impl CreationRule {
    /// Encryption options from this rule.
    pub fn to_options(&self, yaml_indent: Option<usize>) -> EncryptOptions {
        EncryptOptions {
            key_groups: self.key_groups.clone(),
            shamir_threshold: self.shamir_threshold,
            rule: self.rule.clone().unwrap_or_default(),
            mac_only_encrypted: self.mac_only_encrypted,
            yaml_indent: yaml_indent.unwrap_or(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules() {
        let text = "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    key_groups:\n      - age: [age1a]\n        pgp: [FP1]\n      - age:\n          - age1b\n    shamir_threshold: 2\n  - age: age1x, age1y\n    mac_only_encrypted: true\nstores:\n  yaml:\n    indent: 2\n";
        let c = Config::parse(Path::new("/nonexistent/.sops.yaml"), text).unwrap();
        assert_eq!(c.yaml_indent, Some(2));
        assert_eq!(c.creation_rules.len(), 2);
        let r = &c.creation_rules[0];
        assert_eq!(r.key_groups.len(), 2);
        assert_eq!(r.shamir_threshold, Some(2));
        assert_eq!(
            r.rule,
            Some(Rule::EncryptedRegex("^(data|stringData)$".into()))
        );
        let r2 = c.rule_for(Path::new("/nonexistent/dev/a.yaml")).unwrap();
        assert_eq!(
            r2.key_groups[0].age,
            vec!["age1x".to_string(), "age1y".to_string()]
        );
        assert!(r2.mac_only_encrypted);
        let r1 = c.rule_for(Path::new("/nonexistent/prod/a.yaml")).unwrap();
        assert_eq!(r1.shamir_threshold, Some(2));
    }
}
