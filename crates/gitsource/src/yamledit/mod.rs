//! Comment- and format-preserving edits of scalar values in YAML text.
//!
//! [`set_values`] locates the scalar at each key path in the source text and replaces only its
//! bytes: comments, key order, indentation, quoting of every other node and line endings stay
//! as they were. The replaced scalar keeps its quoting style when the new value can be written in
//! it; otherwise the smallest correct quoting is chosen. A plain scalar stays plain only when the
//! new value resolves to the same YAML type (YAML 1.1 and 1.2 rules both considered), so `tag:
//! v1.9` set to `1.10` becomes `tag: "1.10"` (a string), never the float `1.1`.
//!
//! Missing keys are created: appended at the end of their parent mapping at the indentation of
//! its keys (block style) or inserted before `}` (flow style); missing intermediate mappings are
//! created with the indentation step used elsewhere in the file.
//!
//! Only the first document of a multi-document file is edited. Not supported (clear errors):
//! explicit `? ` keys, flow collections as keys, anchors/tags on keys, paths through sequences
//! or aliases.
//!
//! ```
//! use gitsource::yamledit::{set_values, KeyPath, ScalarEdit};
//! let src = "latest:\n  web:   # the web app\n    server:\n      tag: '1.4.2' # CI\n";
//! let edit = ScalarEdit { path: KeyPath::parse(".latest.web.server.tag").unwrap(), value: "1.5.0".into() };
//! let out = set_values(src, &[edit]).unwrap();
//! assert_eq!(out.text, "latest:\n  web:   # the web app\n    server:\n      tag: '1.5.0' # CI\n");
//! assert_eq!(out.changes[0].old.as_deref(), Some("1.4.2"));
//! ```

mod parse;
mod scalar;

use std::fmt;

pub use parse::ScalarStyle;
use parse::{Document, Entry, Kind, Node};
pub use scalar::{ResolvedType, resolve};

/// Errors of YAML reading and editing; positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlEditError {
    /// The text is not valid YAML (or uses a construct this editor does not handle).
    #[error("invalid YAML at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The key path could not be parsed.
    #[error("invalid key path {path:?}: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A prefix of the key path does not lead to a mapping.
    #[error("cannot set {path}: {at} is {found}, not a mapping")]
    NotAMapping {
        /// The full path.
        path: KeyPath,
        /// The prefix that is not a mapping.
        at: KeyPath,
        /// What was found there.
        found: &'static str,
    },
    /// The key path leads to a collection, not a scalar.
    #[error("cannot set {path}: it holds {found}, not a scalar")]
    NotAScalar {
        /// The full path.
        path: KeyPath,
        /// What was found there.
        found: &'static str,
    },
    /// The value cannot be written (contains characters YAML cannot carry).
    #[error("cannot write {value:?} at {path}: {reason}")]
    BadValue {
        /// The path.
        path: KeyPath,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
}

/// A path of mapping keys, written `.a.b."c.d"` (the leading dot is optional; a segment holding
/// dots or quotes is double-quoted with `\"` and `\\` escapes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<String>);

impl KeyPath {
    /// Parses the dotted notation.
    pub fn parse(s: &str) -> Result<Self, YamlEditError> {
        let bad = |reason: &str| YamlEditError::BadPath {
            path: s.to_string(),
            reason: reason.to_string(),
        };
        let rest = s.strip_prefix('.').unwrap_or(s);
        if rest.is_empty() {
            return Err(bad("the path is empty"));
        }
        let mut segs = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            let mut seg = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(bad("unterminated quoted segment")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => seg.push(c),
                            _ => return Err(bad("only \\\" and \\\\ escapes are allowed")),
                        },
                        Some(c) => seg.push(c),
                    }
                }
                match chars.peek() {
                    None | Some('.') => {}
                    Some(_) => return Err(bad("expected '.' after a quoted segment")),
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    if c == '"' || c == '[' || c == ']' {
                        return Err(bad(
                            "unexpected character in a segment (quote the whole segment)",
                        ));
                    }
                    seg.push(c);
                    chars.next();
                }
                if seg.is_empty() {
                    return Err(bad("empty segment"));
                }
            }
            segs.push(seg);
            match chars.next() {
                None => break,
                Some('.') if chars.peek().is_none() => return Err(bad("trailing '.'")),
                Some(_) => {}
            }
        }
        Ok(KeyPath(segs))
    }

    /// Builds a path from its segments.
    pub fn from_segments<I: IntoIterator<Item = S>, S: Into<String>>(segs: I) -> Self {
        KeyPath(segs.into_iter().map(Into::into).collect())
    }

    /// The segments.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    fn prefix(&self, n: usize) -> KeyPath {
        KeyPath(self.0[..n].to_vec())
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.0 {
            let plain = !s.is_empty() && !s.contains(['.', '"', '[', ']', '\\']);
            if plain {
                write!(f, ".{s}")?;
            } else {
                write!(f, ".\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))?;
            }
        }
        Ok(())
    }
}

/// One value to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarEdit {
    /// Where.
    pub path: KeyPath,
    /// The new value (a string; the written style decides its YAML type, see the module doc).
    pub value: String,
}

/// One applied edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where.
    pub path: KeyPath,
    /// The previous value; `None` when the key was created or held null.
    pub old: Option<String>,
    /// The new value.
    pub new: String,
}

impl Change {
    /// The value did not change (nothing was written for it).
    pub fn is_noop(&self) -> bool {
        self.old.as_deref() == Some(self.new.as_str())
    }
}

/// The result of [`set_values`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditOutcome {
    /// The edited text.
    pub text: String,
    /// One entry per requested edit, in order.
    pub changes: Vec<Change>,
}

/// Reads the scalar at `path` in the first document: `Ok(None)` when the key is absent or null.
pub fn get_value(src: &str, path: &KeyPath) -> Result<Option<String>, YamlEditError> {
    let docs = parse::parse(src)?;
    let Some(root) = docs.first().and_then(|d| d.root.as_ref()) else {
        return Ok(None);
    };
    match locate(root, path)? {
        Located::Found { node, .. } => scalar_value(node, path),
        Located::Missing { .. } => Ok(None),
    }
}

/// Checks that `src` is YAML this editor can read (every document).
pub fn validate(src: &str) -> Result<(), YamlEditError> {
    parse::parse(src).map(|_| ())
}

/// Applies `edits` in order and returns the new text; the input is not modified on error.
pub fn set_values(src: &str, edits: &[ScalarEdit]) -> Result<EditOutcome, YamlEditError> {
    let mut text = src.to_string();
    let mut changes = Vec::with_capacity(edits.len());
    // Validate the whole input once, so that an error anywhere is reported.
    parse::parse(&text)?;
    for edit in edits {
        if edit.value.chars().any(|c| c == '\u{feff}') {
            return Err(YamlEditError::BadValue {
                path: edit.path.clone(),
                value: edit.value.clone(),
                reason: "contains a byte order mark".into(),
            });
        }
        let (new_text, old) = set_one(&text, edit)?;
        // Verify: the result parses and holds the new value at the path.
        let check = get_value(&new_text, &edit.path).map_err(|e| YamlEditError::BadValue {
            path: edit.path.clone(),
            value: edit.value.clone(),
            reason: format!("the edited text does not parse ({e})"),
        })?;
        if check.as_deref() != Some(edit.value.as_str()) {
            return Err(YamlEditError::BadValue {
                path: edit.path.clone(),
                value: edit.value.clone(),
                reason: "the edited text does not read back the value".into(),
            });
        }
        text = new_text;
        changes.push(Change {
            path: edit.path.clone(),
            old,
            new: edit.value.clone(),
        });
    }
    Ok(EditOutcome { text, changes })
}

enum Located<'n> {
    Found {
        node: &'n Node,
        entry: &'n Entry,
    },
    /// `parent` lacks `path[depth]`: either a mapping without the key, or a null value whose
    /// entry is `entry`.
    Missing {
        parent: &'n Node,
        entry: Option<&'n Entry>,
        depth: usize,
    },
}

fn locate<'n>(root: &'n Node, path: &KeyPath) -> Result<Located<'n>, YamlEditError> {
    let mut node = root;
    let mut via: Option<&Entry> = None;
    for (i, seg) in path.0.iter().enumerate() {
        if node.is_null() {
            return Ok(Located::Missing {
                parent: node,
                entry: via,
                depth: i,
            });
        }
        let Kind::Map { entries, .. } = &node.kind else {
            return Err(YamlEditError::NotAMapping {
                path: path.clone(),
                at: path.prefix(i),
                found: node.describe(),
            });
        };
        match entries.iter().find(|e| &e.key == seg) {
            Some(e) if i + 1 == path.0.len() => {
                return Ok(Located::Found {
                    node: &e.value,
                    entry: e,
                });
            }
            Some(e) => {
                node = &e.value;
                via = Some(e);
            }
            None => {
                return Ok(Located::Missing {
                    parent: node,
                    entry: via,
                    depth: i,
                });
            }
        }
    }
    Err(YamlEditError::BadPath {
        path: path.to_string(),
        reason: "the path is empty".into(),
    })
}

fn scalar_value(node: &Node, path: &KeyPath) -> Result<Option<String>, YamlEditError> {
    if node.is_null() {
        return Ok(None);
    }
    match &node.kind {
        Kind::Scalar { value, .. } => Ok(Some(value.clone())),
        _ => Err(YamlEditError::NotAScalar {
            path: path.clone(),
            found: node.describe(),
        }),
    }
}

fn newline(src: &str) -> &'static str {
    if src.contains("\r\n") { "\r\n" } else { "\n" }
}

fn splice(src: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(src.len() + with.len());
    out.push_str(&src[..range.start]);
    out.push_str(with);
    out.push_str(&src[range.end..]);
    out
}

/// The indentation step used by nested block mappings in the file (2 when none).
fn indent_step(docs: &[Document]) -> usize {
    fn walk(n: &Node, best: &mut Option<usize>) {
        if let Kind::Map { entries, col } = &n.kind {
            for e in entries {
                if let Kind::Map { col: c2, .. } = &e.value.kind
                    && !e.value.flow_style
                    && !n.flow_style
                    && *c2 > *col
                {
                    let d = c2 - col;
                    *best = Some(best.map_or(d, |b| b.min(d)));
                }
                walk(&e.value, best);
            }
        }
    }
    let mut best = None;
    for d in docs {
        if let Some(r) = &d.root {
            walk(r, &mut best);
        }
    }
    best.unwrap_or(2)
}

fn set_one(src: &str, edit: &ScalarEdit) -> Result<(String, Option<String>), YamlEditError> {
    let docs = parse::parse(src)?;
    let nl = newline(src);
    let path = &edit.path;
    let value = &edit.value;
    let bad_value = |reason: &str| YamlEditError::BadValue {
        path: path.clone(),
        value: value.clone(),
        reason: reason.to_string(),
    };
    let Some(doc) = docs.first() else {
        // Empty file (or only comments): append the whole path.
        let mut text = src.to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(nl);
        }
        text.push_str(&block_chain(path.segments(), value, 0, 2, nl).map_err(|r| bad_value(&r))?);
        text.push_str(nl);
        return Ok((text, None));
    };
    let Some(root) = &doc.root else {
        let at = doc.end;
        let mut ins = String::new();
        if at > 0 && !src[..at].ends_with('\n') {
            ins.push_str(nl);
        }
        ins.push_str(&block_chain(path.segments(), value, 0, 2, nl).map_err(|r| bad_value(&r))?);
        if at < src.len() {
            ins.push_str(nl);
        }
        let text = splice(src, at..at, &ins);
        let text = if at >= src.len() && !text.ends_with('\n') {
            format!("{text}{nl}")
        } else {
            text
        };
        return Ok((text, None));
    };
    let step = indent_step(&docs);
    match locate(root, path)? {
        Located::Found { node, entry } => {
            let old = scalar_value(node, path)?;
            if old.as_deref() == Some(value.as_str()) {
                return Ok((src.to_string(), old));
            }
            let (style, old_type) = match &node.kind {
                Kind::Scalar { style, value: v } => (
                    *style,
                    if node.is_null() {
                        ResolvedType::Str
                    } else {
                        resolve(v)
                    },
                ),
                _ => (ScalarStyle::Plain, ResolvedType::Str),
            };
            let old_type = if style == ScalarStyle::Plain {
                old_type
            } else {
                ResolvedType::Str
            };
            let rendered =
                scalar::render(value, style, old_type, node.flow).map_err(|r| bad_value(&r))?;
            let text = match &node.kind {
                Kind::Empty => match entry.colon_end {
                    Some(c) if node.flow => {
                        let c = c + src[c..].len() - src[c..].trim_start_matches(' ').len();
                        splice(src, c..c, &rendered)
                    }
                    Some(c) => splice(src, c..c, &format!(" {rendered}")),
                    None => {
                        let e = entry.key_span.end;
                        splice(src, e..e, &format!(": {rendered}"))
                    }
                },
                _ => splice(src, node.span.clone(), &rendered),
            };
            Ok((text, old))
        }
        Located::Missing {
            parent,
            entry,
            depth,
        } => {
            let segs = &path.segments()[depth..];
            let text = if parent.is_null() {
                let Some(entry) = entry else {
                    return Err(YamlEditError::NotAMapping {
                        path: path.clone(),
                        at: path.prefix(0),
                        found: "null",
                    });
                };
                if parent.flow {
                    let flow = flow_chain(segs, value).map_err(|r| bad_value(&r))?;
                    match (&parent.kind, entry.colon_end) {
                        (Kind::Empty, Some(c)) => splice(src, c..c, &format!(" {flow}")),
                        (Kind::Empty, None) => {
                            let e = entry.key_span.end;
                            splice(src, e..e, &format!(": {flow}"))
                        }
                        _ => splice(src, parent.span.clone(), &flow),
                    }
                } else {
                    let key_col = col_of(src, entry.key_span.start);
                    let chain = block_chain(segs, value, key_col + step, step, nl)
                        .map_err(|r| bad_value(&r))?;
                    let ins = format!("{nl}{}{chain}", " ".repeat(key_col + step));
                    let colon = entry.colon_end.unwrap_or(entry.key_span.end);
                    let end = if matches!(parent.kind, Kind::Empty) {
                        colon
                    } else {
                        parent.span.end
                    };
                    splice(src, colon..end, &ins)
                }
            } else {
                let Kind::Map { entries, col } = &parent.kind else {
                    return Err(YamlEditError::NotAMapping {
                        path: path.clone(),
                        at: path.prefix(depth),
                        found: parent.describe(),
                    });
                };
                if parent.flow_style {
                    let flow = flow_chain(segs, value).map_err(|r| bad_value(&r))?;
                    match entries.last() {
                        None => {
                            let at = parent.span.start + 1;
                            splice(src, at..at, &flow)
                        }
                        Some(last) => {
                            let at = last.value.span.end.max(last.key_span.end);
                            let at = last.colon_end.map_or(at, |c| at.max(c));
                            splice(src, at..at, &format!(", {flow}"))
                        }
                    }
                } else {
                    let at = line_end(src, parent.span.end);
                    let chain =
                        block_chain(segs, value, *col, step, nl).map_err(|r| bad_value(&r))?;
                    splice(src, at..at, &format!("{nl}{}{chain}", " ".repeat(*col)))
                }
            };
            Ok((text, None))
        }
    }
}

fn col_of(src: &str, at: usize) -> usize {
    at - src[..at].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(src: &str, at: usize) -> usize {
    let e = src[at..].find('\n').map_or(src.len(), |i| at + i);
    if e > at && src.as_bytes()[e - 1] == b'\r' && e < src.len() {
        e - 1
    } else {
        e
    }
}

/// `a:\n<indent+step>b: value` for the segments (the first line carries no indentation).
fn block_chain(
    segs: &[String],
    value: &str,
    indent: usize,
    step: usize,
    nl: &str,
) -> Result<String, String> {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push_str(nl);
            out.push_str(&" ".repeat(indent + step * i));
        }
        out.push_str(&scalar::render_key(s, false)?);
        out.push(':');
    }
    out.push(' ');
    out.push_str(&scalar::render(
        value,
        ScalarStyle::Plain,
        ResolvedType::Str,
        false,
    )?);
    Ok(out)
}

/// `a: {b: value}` for the segments.
fn flow_chain(segs: &[String], value: &str) -> Result<String, String> {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push('{');
        }
        out.push_str(&scalar::render_key(s, true)?);
        out.push_str(": ");
    }
    out.push_str(&scalar::render(
        value,
        ScalarStyle::Plain,
        ResolvedType::Str,
        true,
    )?);
    for _ in 1..segs.len() {
        out.push('}');
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
