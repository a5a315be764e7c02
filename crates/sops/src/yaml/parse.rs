//! A comment-preserving YAML reader for sops files.
//!
//! Supports block and flow collections, plain/quoted/block scalars, multi-document streams,
//! anchors and aliases (expanded), core-schema tags and comments. Full-line comments become
//! comment items before the entry they precede (or at the end of the collection they close);
//! an inline comment after a value becomes a comment item above its entry, as sops 3.11 does.

use std::collections::HashMap;

use super::resolve::{parse_timestamp, resolve_plain};
use crate::tree::{MapItem, Scalar, SeqItem, Value};

/// A YAML syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line} column {col}: {msg}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub msg: String,
}

type R<T> = Result<T, YamlError>;

/// Maximum nesting depth (guards the recursive parser against hostile input).
const MAX_DEPTH: usize = 256;

/// Parses a YAML stream into its documents.
pub fn parse(src: &str) -> R<Vec<Value>> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let normalized;
    let src = if src.contains('\r') {
        normalized = src.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        src
    };
    let mut p = Parser {
        s: src,
        b: src.as_bytes(),
        pos: 0,
        comments: Vec::new(),
        anchors: HashMap::new(),
        depth: 0,
    };
    p.stream()
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Full-line comments seen but not yet placed: (column, text after `#`).
    comments: Vec<(usize, String)>,
    anchors: HashMap<String, Value>,
    depth: usize,
}

/// Properties (`&anchor`, `!tag`) in front of a node.
#[derive(Default)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(self.error_at(self.pos, msg))
    }

    fn error_at(&self, pos: usize, msg: impl Into<String>) -> YamlError {
        let pos = pos.min(self.b.len());
        let before = &self.s[..pos];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        YamlError {
            line,
            col: self.s[line_start..pos].chars().count() + 1,
            msg: msg.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn line_start(&self, pos: usize) -> usize {
        self.s[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    fn column(&self) -> usize {
        self.pos - self.line_start(self.pos)
    }

    fn is_blank_at(&self, i: usize) -> bool {
        matches!(self.peek_at(i), None | Some(b' ' | b'\t' | b'\n'))
    }

    fn skip_inline_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// After a value on a line: skips spaces and an optional comment, then the line break.
    /// Returns the comment text when there was one.
    fn finish_line(&mut self) -> R<Option<String>> {
        self.skip_inline_spaces();
        let mut comment = None;
        if self.peek() == Some(b'#') {
            let st = self.pos + 1;
            while !self.at_eol() {
                self.pos += 1;
            }
            comment = Some(self.s[st..self.pos].to_string());
        }
        if !self.at_eol() {
            return self.err("unexpected content after value");
        }
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
        Ok(comment)
    }

    /// Whether the line starting at `ls` is a document marker (`---` / `...`).
    fn is_doc_marker(&self, ls: usize) -> bool {
        let rest = &self.b[ls..];
        (rest.starts_with(b"---") || rest.starts_with(b"..."))
            && matches!(rest.get(3), None | Some(b' ' | b'\t' | b'\n'))
    }

    /// Skips blank and comment lines from the start of a line, collecting comments. Leaves
    /// `pos` at the first content character of the next content line and returns its column,
    /// or `None` at end of input or at a document marker (then `pos` is at the line start).
    fn next_content(&mut self) -> Option<usize> {
        loop {
            let ls = self.line_start(self.pos);
            if self.pos == ls && self.pos < self.b.len() && self.is_doc_marker(ls) {
                return None;
            }
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
            match self.peek() {
                None => return None,
                Some(b'\n') => self.pos += 1,
                Some(b'#') => {
                    let col = self.pos - ls;
                    let st = self.pos + 1;
                    while !self.at_eol() {
                        self.pos += 1;
                    }
                    self.comments.push((col, self.s[st..self.pos].to_string()));
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                }
                Some(_) => return Some(self.pos - ls),
            }
        }
    }

    /// Comments that close a collection at `indent`: the leading run indented at least that much.
    fn take_foot_comments(&mut self, indent: usize) -> Vec<String> {
        let n = self
            .comments
            .iter()
            .take_while(|(c, _)| *c >= indent)
            .count();
        self.comments.drain(..n).map(|(_, t)| t).collect()
    }

    fn take_comments(&mut self) -> Vec<String> {
        self.comments.drain(..).map(|(_, t)| t).collect()
    }

    fn stream(&mut self) -> R<Vec<Value>> {
        let mut docs: Vec<Value> = Vec::new();
        loop {
            // Directives, document markers and comments before the document's content.
            let mut explicit = false;
            let mut inline_start = false;
            loop {
                match self.next_content() {
                    None if self.pos < self.b.len() => {
                        // At a document marker line.
                        if !explicit {
                            // Comments before a marker close the previous document.
                            if let Some(Value::Map(items)) = docs.last_mut() {
                                items
                                    .extend(self.take_comments().into_iter().map(MapItem::Comment));
                            }
                        }
                        if self.b[self.pos..].starts_with(b"...") {
                            self.pos += 3;
                            self.finish_line()?;
                            continue;
                        }
                        if explicit {
                            break; // `---` right after `---`: an empty document
                        }
                        self.pos += 3;
                        explicit = true;
                        self.skip_inline_spaces();
                        if self.peek() == Some(b'#') || self.at_eol() {
                            if let Some(c) = self.finish_line()? {
                                self.comments.push((0, c));
                            }
                            continue;
                        }
                        inline_start = true;
                        break;
                    }
                    None => break,
                    Some(0) if self.peek() == Some(b'%') && !explicit => {
                        while !self.at_eol() {
                            self.pos += 1;
                        }
                    }
                    Some(_) => break,
                }
            }
            let at_end = self.pos >= self.b.len();
            let at_marker = !inline_start
                && !at_end
                && self.pos == self.line_start(self.pos)
                && self.is_doc_marker(self.pos);
            if at_end || at_marker {
                let comments = self.take_comments();
                if !comments.is_empty() {
                    match docs.last_mut() {
                        Some(Value::Map(items)) if !explicit => {
                            items.extend(comments.into_iter().map(MapItem::Comment))
                        }
                        _ => docs.push(Value::Map(
                            comments.into_iter().map(MapItem::Comment).collect(),
                        )),
                    }
                }
                if at_end {
                    break;
                }
                continue;
            }
            let doc = if inline_start {
                let (v, c) = self.node_inline(-1, true)?;
                if let Some(c) = c {
                    self.comments.push((0, c));
                }
                v
            } else {
                let col = self.column();
                self.block_node(col, -1)?
            };
            let doc = match doc {
                Value::Map(mut items) => {
                    items.extend(self.take_comments().into_iter().map(MapItem::Comment));
                    Value::Map(items)
                }
                other => other,
            };
            docs.push(doc);
            if self.next_content().is_some() {
                return self.err("unexpected content after the document (wrong indentation?)");
            }
        }
        Ok(docs)
    }

    /// Parses the node whose first content character is at `pos` (column `col`), in block
    /// context, inside a parent with indentation `parent`.
    fn block_node(&mut self, col: usize, parent: isize) -> R<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        let r = self.block_node_inner(col, parent);
        self.depth -= 1;
        r
    }

    fn block_node_inner(&mut self, col: usize, parent: isize) -> R<Value> {
        if self.peek() == Some(b'-') && self.is_blank_at(self.pos + 1) {
            return self.block_seq(col);
        }
        if self.looks_like_key()? {
            return self.block_map(col);
        }
        let (v, comment) = self.node_inline(parent, false)?;
        if let Some(c) = comment {
            self.comments.push((col, c));
        }
        Ok(v)
    }

    /// Whether the current line starts a `key: value` pair (at `pos`).
    fn looks_like_key(&mut self) -> R<bool> {
        let save = self.pos;
        let r = self.scan_key().map(|k| k.is_some());
        self.pos = save;
        r
    }

    /// Scans a block mapping key at `pos`; on success leaves `pos` after the `:`.
    fn scan_key(&mut self) -> R<Option<Scalar>> {
        let start = self.pos;
        let key = match self.peek() {
            Some(b'"') | Some(b'\'') => {
                let line_end = self.s[self.pos..]
                    .find('\n')
                    .map_or(self.b.len(), |i| self.pos + i);
                let (s, ok) = match self.quoted_single_line(line_end) {
                    Some(v) => v,
                    None => return Ok(None),
                };
                if !ok {
                    return Ok(None);
                }
                Scalar::Str(s)
            }
            Some(b'?') if self.is_blank_at(self.pos + 1) => {
                return self.err("explicit mapping keys (`? `) are not supported");
            }
            Some(b'[' | b'{' | b'#' | b'|' | b'>' | b'*' | b'!' | b'%' | b'@' | b'`') => {
                return Ok(None);
            }
            Some(b'&') => return Ok(None),
            _ => {
                let mut i = self.pos;
                loop {
                    match self.peek_at(i) {
                        None | Some(b'\n') => return Ok(None),
                        Some(b':') if self.is_blank_at(i + 1) => break,
                        Some(b'#') if i > start && matches!(self.b[i - 1], b' ' | b'\t') => {
                            return Ok(None);
                        }
                        _ => i += 1,
                    }
                }
                let text = self.s[start..i].trim_end();
                self.pos = i;
                resolve_plain(text)
            }
        };
        self.skip_inline_spaces();
        if self.peek() == Some(b':') && self.is_blank_at(self.pos + 1) {
            self.pos += 1;
            Ok(Some(key))
        } else {
            self.pos = start;
            Ok(None)
        }
    }

    /// A quoted scalar that must end on this line; returns (value, closed).
    fn quoted_single_line(&mut self, line_end: usize) -> Option<(String, bool)> {
        let save = self.pos;
        match self.quoted() {
            Ok(s) if self.pos <= line_end => Some((s, true)),
            _ => {
                self.pos = save;
                None
            }
        }
    }

    fn block_map(&mut self, indent: usize) -> R<Value> {
        let mut items: Vec<MapItem> = Vec::new();
        loop {
            // `pos` is at a key in column `indent`.
            items.extend(self.take_comments().into_iter().map(MapItem::Comment));
            let key_pos = self.pos;
            let Some(key) = self.scan_key()? else {
                return Err(self.error_at(key_pos, "expected a mapping key (`key: value`)"));
            };
            if items
                .iter()
                .any(|i| matches!(i, MapItem::Entry(k, _) if *k == key))
            {
                return Err(self.error_at(
                    key_pos,
                    format!("duplicate mapping key {:?}", key.key_string()),
                ));
            }
            let (value, mut line_comments) = self.map_value(indent)?;
            for c in line_comments.drain(..) {
                items.push(MapItem::Comment(c));
            }
            items.push(MapItem::Entry(key, value));
            match self.next_content() {
                Some(c) if c == indent => continue,
                Some(c) if c > indent => {
                    return self
                        .err("unexpected indentation (mapping values are not allowed here?)");
                }
                _ => break,
            }
        }
        items.extend(
            self.take_foot_comments(indent)
                .into_iter()
                .map(MapItem::Comment),
        );
        Ok(Value::Map(items))
    }

    /// The value after `key:`; returns it with comments found on the key line.
    fn map_value(&mut self, indent: usize) -> R<(Value, Vec<String>)> {
        self.skip_inline_spaces();
        let mut line_comments = Vec::new();
        if self.peek() == Some(b'#') || self.at_eol() {
            if let Some(c) = self.finish_line()? {
                line_comments.push(c);
            }
            // Block node on following lines (a sequence may sit at the key's own indentation).
            let save = self.pos;
            let saved_comments = self.comments.len();
            match self.next_content() {
                Some(c) if c > indent => {
                    let v = self.block_node(c, indent as isize)?;
                    Ok((v, line_comments))
                }
                Some(c)
                    if c == indent
                        && self.peek() == Some(b'-')
                        && self.is_blank_at(self.pos + 1) =>
                {
                    let v = self.block_seq(c)?;
                    Ok((v, line_comments))
                }
                _ => {
                    self.pos = save;
                    self.comments.truncate(saved_comments);
                    Ok((Value::Scalar(Scalar::Null), line_comments))
                }
            }
        } else {
            let (v, c) = self.node_inline(indent as isize, false)?;
            line_comments.extend(c);
            Ok((v, line_comments))
        }
    }

    fn block_seq(&mut self, indent: usize) -> R<Value> {
        let mut items: Vec<SeqItem> = Vec::new();
        loop {
            items.extend(self.take_comments().into_iter().map(SeqItem::Comment));
            if !(self.peek() == Some(b'-') && self.is_blank_at(self.pos + 1)) {
                return self.err("expected a sequence entry (`- `)");
            }
            self.pos += 1;
            self.skip_inline_spaces();
            if self.peek() == Some(b'#') || self.at_eol() {
                if let Some(c) = self.finish_line()? {
                    items.push(SeqItem::Comment(c));
                }
                let save = self.pos;
                let saved_comments = self.comments.len();
                match self.next_content() {
                    Some(c) if c > indent => {
                        let v = self.block_node(c, indent as isize)?;
                        items.push(SeqItem::Value(v));
                    }
                    _ => {
                        self.pos = save;
                        self.comments.truncate(saved_comments);
                        items.push(SeqItem::Value(Value::Scalar(Scalar::Null)));
                    }
                }
            } else {
                let col = self.column();
                let v = self.block_node(col, indent as isize)?;
                // A node_inline scalar leaves its inline comment in `comments` with column `col`.
                let n = self.comments.len();
                if n > 0
                    && self.comments[n - 1].0 == col
                    && !matches!(v, Value::Map(_) | Value::Seq(_))
                    && let Some((_, c)) = self.comments.pop()
                {
                    items.push(SeqItem::Comment(c));
                }
                items.push(SeqItem::Value(v));
            }
            match self.next_content() {
                Some(c)
                    if c == indent
                        && self.peek() == Some(b'-')
                        && self.is_blank_at(self.pos + 1) =>
                {
                    continue;
                }
                Some(c) if c > indent => return self.err("unexpected indentation in sequence"),
                _ => break,
            }
        }
        items.extend(
            self.take_foot_comments(indent)
                .into_iter()
                .map(SeqItem::Comment),
        );
        Ok(Value::Seq(items))
    }

    fn props(&mut self) -> R<Props> {
        let mut props = Props::default();
        loop {
            match self.peek() {
                Some(b'&') => {
                    let st = self.pos + 1;
                    self.pos = st;
                    while !self.is_blank_at(self.pos)
                        && !matches!(self.peek(), Some(b',' | b']' | b'}'))
                    {
                        self.pos += 1;
                    }
                    if self.pos == st {
                        return self.err("empty anchor name");
                    }
                    props.anchor = Some(self.s[st..self.pos].to_string());
                }
                Some(b'!') => {
                    let st = self.pos;
                    while !self.is_blank_at(self.pos) {
                        self.pos += 1;
                    }
                    props.tag = Some(self.s[st..self.pos].to_string());
                }
                _ => return Ok(props),
            }
            self.skip_inline_spaces();
        }
    }

    fn register(&mut self, props: &Props, v: &Value) {
        if let Some(a) = &props.anchor {
            self.anchors.insert(a.clone(), v.clone());
        }
    }

    /// A node that starts on the current line after a key, a `- ` or `---`: scalar, flow
    /// collection, alias, block scalar, or (after properties only) a block node below.
    /// Returns the node and the inline comment that followed it.
    fn node_inline(&mut self, parent: isize, _doc_level: bool) -> R<(Value, Option<String>)> {
        let props = self.props()?;
        if props.anchor.is_some() || props.tag.is_some() {
            if self.peek() == Some(b'#') || self.at_eol() {
                let comment = self.finish_line()?;
                let save = self.pos;
                let saved_comments = self.comments.len();
                let v = match self.next_content() {
                    Some(c) if c as isize > parent => self.block_node(c, parent)?,
                    Some(c)
                        if c as isize == parent
                            && self.peek() == Some(b'-')
                            && self.is_blank_at(self.pos + 1) =>
                    {
                        self.block_seq(c)?
                    }
                    _ => {
                        self.pos = save;
                        self.comments.truncate(saved_comments);
                        Value::Scalar(Scalar::Null)
                    }
                };
                let v = apply_tag(&props, v).map_err(|m| self.error_at(self.pos, m))?;
                self.register(&props, &v);
                return Ok((v, comment));
            }
            let col = self.column();
            if self.peek() == Some(b'-') && self.is_blank_at(self.pos + 1) {
                return self
                    .err("a block sequence cannot start on the same line as its properties");
            }
            if self.looks_like_key()? {
                let v = self.block_map(col)?;
                self.register(&props, &v);
                return Ok((v, None));
            }
        }
        let v = match self.peek() {
            Some(b'*') => {
                let st = self.pos + 1;
                self.pos = st;
                while !self.is_blank_at(self.pos) {
                    self.pos += 1;
                }
                let name = &self.s[st..self.pos];
                match self.anchors.get(name) {
                    Some(v) => v.clone(),
                    None => return self.err(format!("unknown alias *{name}")),
                }
            }
            Some(b'|' | b'>') => {
                let (s, comment) = self.block_scalar(parent)?;
                let v = apply_tag(&props, Value::Scalar(Scalar::Str(s)))
                    .map_err(|m| self.error_at(self.pos, m))?;
                self.register(&props, &v);
                return Ok((v, comment));
            }
            Some(b'[' | b'{') => self.flow_node(0)?,
            Some(b'"' | b'\'') => {
                let s = self.quoted()?;
                Value::Scalar(Scalar::Str(s))
            }
            _ => {
                let text = self.plain_block(parent)?;
                if props.tag.is_some() {
                    Value::Scalar(Scalar::Str(text))
                } else {
                    Value::Scalar(resolve_plain(&text))
                }
            }
        };
        let v = apply_tag(&props, v).map_err(|m| self.error_at(self.pos, m))?;
        self.register(&props, &v);
        let comment = self.finish_line()?;
        Ok((v, comment))
    }

    /// A plain scalar in block context, possibly continued on more-indented lines.
    fn plain_block(&mut self, parent: isize) -> R<String> {
        let mut out = String::new();
        let mut first = true;
        loop {
            let st = self.pos;
            loop {
                match self.peek() {
                    None | Some(b'\n') => break,
                    Some(b':') if self.is_blank_at(self.pos + 1) => {
                        return self.err("mapping values are not allowed here");
                    }
                    Some(b'#') if self.pos > st && matches!(self.b[self.pos - 1], b' ' | b'\t') => {
                        break;
                    }
                    _ => self.pos += 1,
                }
            }
            let piece = self.s[st..self.pos].trim_end_matches([' ', '\t']);
            if first {
                out.push_str(piece);
                first = false;
            } else {
                out.push_str(piece);
            }
            if self.peek() != Some(b'\n') {
                // A comment or end of input ends the scalar.
                self.pos = st + piece.len();
                break;
            }
            // Look ahead for continuation lines.
            let mut look = self.pos + 1;
            let mut breaks = 0;
            let cont_start = loop {
                let ls = look;
                while matches!(self.peek_at(look), Some(b' ' | b'\t')) {
                    look += 1;
                }
                match self.peek_at(look) {
                    Some(b'\n') => {
                        breaks += 1;
                        look += 1;
                    }
                    None => break None,
                    Some(b'#') => break None,
                    Some(_) => {
                        let col = look - ls;
                        let indent_ok = (col as isize) > parent;
                        let is_marker = col == 0 && self.is_doc_marker(ls);
                        if !indent_ok || is_marker {
                            break None;
                        }
                        // Lines that start a sequence entry or a key at a continuation
                        // indentation are invalid YAML; stop and let the caller report them.
                        if self.peek_at(look) == Some(b'-') && self.is_blank_at(look + 1) {
                            break None;
                        }
                        break Some(look);
                    }
                }
            };
            let Some(next) = cont_start else {
                self.pos = st + piece.len();
                break;
            };
            if breaks == 0 {
                out.push(' ');
            } else {
                for _ in 0..breaks {
                    out.push('\n');
                }
            }
            self.pos = next;
        }
        Ok(out)
    }

    /// `|` / `>` block scalar; `pos` at the indicator. Returns (text, comment on the header).
    fn block_scalar(&mut self, parent: isize) -> R<(String, Option<String>)> {
        let literal = self.peek() == Some(b'|');
        self.pos += 1;
        let mut chomp = 0i8; // 0 clip, -1 strip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') => {
                    chomp = -1;
                    self.pos += 1
                }
                Some(b'+') => {
                    chomp = 1;
                    self.pos += 1
                }
                Some(c @ b'1'..=b'9') => {
                    explicit = Some((c - b'0') as usize);
                    self.pos += 1
                }
                _ => {}
            }
        }
        let comment = self.finish_line()?;
        let base = if parent < 0 { 0 } else { parent as usize };
        let mut content_indent = explicit.map(|e| if parent < 0 { e } else { base + e });
        // Collect lines.
        let mut lines: Vec<&str> = Vec::new();
        let mut leading_max = 0;
        loop {
            if self.pos >= self.b.len() {
                break;
            }
            let ls = self.pos;
            let le = self.s[ls..].find('\n').map_or(self.b.len(), |i| ls + i);
            let line = &self.s[ls..le];
            let spaces = line.len() - line.trim_start_matches(' ').len();
            let is_empty = line.trim_start_matches([' ', '\t']).is_empty();
            if ls == self.line_start(ls) && self.is_doc_marker(ls) {
                break;
            }
            match content_indent {
                None => {
                    if is_empty {
                        leading_max = leading_max.max(spaces);
                        lines.push("");
                    } else {
                        if (spaces as isize) <= parent {
                            break;
                        }
                        if spaces < leading_max {
                            return self.err("block scalar has a leading blank line indented more than its content");
                        }
                        content_indent = Some(spaces);
                        lines.push(&line[spaces..]);
                    }
                }
                Some(ci) => {
                    if is_empty && spaces <= ci {
                        lines.push("");
                    } else if spaces >= ci {
                        lines.push(&line[ci..]);
                    } else {
                        break;
                    }
                }
            }
            self.pos = if le < self.b.len() { le + 1 } else { le };
        }
        // Trailing empty lines.
        let content_end = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        let trailing = lines.len() - content_end;
        let body = &lines[..content_end];
        let mut out = String::new();
        if literal {
            for (i, l) in body.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(l);
            }
        } else {
            let mut prev: Option<&str> = None;
            let mut empties = 0;
            for l in body.iter() {
                if l.is_empty() {
                    if prev.is_none() {
                        out.push('\n');
                    } else {
                        empties += 1;
                    }
                    continue;
                }
                if let Some(p) = prev {
                    let more = |s: &str| s.starts_with([' ', '\t']);
                    if !more(p) && !more(l) {
                        if empties == 0 {
                            out.push(' ');
                        } else {
                            for _ in 0..empties {
                                out.push('\n');
                            }
                        }
                    } else {
                        for _ in 0..=empties {
                            out.push('\n');
                        }
                    }
                }
                out.push_str(l);
                prev = Some(l);
                empties = 0;
            }
        }
        let has_content = content_end > 0;
        match chomp {
            -1 => {}
            0 => {
                if has_content {
                    out.push('\n');
                }
            }
            _ => {
                if has_content {
                    out.push('\n');
                }
                for _ in 0..trailing {
                    out.push('\n');
                }
            }
        }
        // Step back onto the line break so callers see a finished line.
        Ok((out, comment))
    }

    /// Quoted scalar at `pos` (`'` or `"`), possibly spanning lines.
    fn quoted(&mut self) -> R<String> {
        let q = self.b[self.pos];
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(start, "unterminated quoted string"));
            };
            match c {
                b'\'' if q == b'\'' => {
                    if self.peek_at(self.pos + 1) == Some(b'\'') {
                        out.push('\'');
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                        return Ok(out);
                    }
                }
                b'"' if q == b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' if q == b'"' => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.error_at(start, "unterminated quoted string"));
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'0' => '\0',
                        b'a' => '\x07',
                        b'b' => '\x08',
                        b't' | b'\t' => '\t',
                        b'n' => '\n',
                        b'v' => '\x0b',
                        b'f' => '\x0c',
                        b'r' => '\r',
                        b'e' => '\x1b',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'N' => '\u{85}',
                        b'_' => '\u{a0}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        b'x' | b'u' | b'U' => {
                            let n = match e {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = self.s.get(self.pos..self.pos + n).unwrap_or("");
                            let v = u32::from_str_radix(hex, 16)
                                .ok()
                                .filter(|_| hex.len() == n)
                                .and_then(char::from_u32);
                            match v {
                                Some(ch) => {
                                    self.pos += n;
                                    ch
                                }
                                None => return self.err("invalid escape in double-quoted string"),
                            }
                        }
                        b'\n' => {
                            // Escaped line break: join without a space.
                            while matches!(self.peek(), Some(b' ' | b'\t')) {
                                self.pos += 1;
                            }
                            continue;
                        }
                        _ => return self.err("invalid escape in double-quoted string"),
                    };
                    out.push(ch);
                }
                b'\n' => {
                    // Line folding: trailing blanks removed, one break → space, n → n-1 breaks.
                    let trimmed = out.trim_end_matches([' ', '\t']).len();
                    out.truncate(trimmed);
                    let mut breaks = 0;
                    while let Some(c) = self.peek() {
                        match c {
                            b'\n' => {
                                breaks += 1;
                                self.pos += 1;
                            }
                            b' ' | b'\t' => self.pos += 1,
                            _ => break,
                        }
                    }
                    let ls = self.line_start(self.pos);
                    if self.pos == ls + 3 && self.is_doc_marker(ls) {
                        return Err(self.error_at(start, "unterminated quoted string"));
                    }
                    if breaks == 1 {
                        out.push(' ');
                    } else {
                        for _ in 1..breaks {
                            out.push('\n');
                        }
                    }
                }
                _ => {
                    let ch_len = utf8_len(c);
                    out.push_str(&self.s[self.pos..self.pos + ch_len]);
                    self.pos += ch_len;
                }
            }
        }
    }

    /// Skips whitespace, line breaks and comments inside a flow collection.
    fn flow_ws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.pos += 1,
                Some(b'#')
                    if self.pos == 0 || matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\n') =>
                {
                    while !self.at_eol() {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn flow_node(&mut self, depth: usize) -> R<Value> {
        if depth + self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        let props = self.props()?;
        let v = match self.peek() {
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.flow_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        None => return self.err("unterminated flow sequence"),
                        _ => {}
                    }
                    let item = self.flow_node(depth + 1)?;
                    self.flow_ws();
                    let item = if self.peek() == Some(b':') {
                        self.pos += 1;
                        self.flow_ws();
                        let v = if matches!(self.peek(), Some(b',' | b']')) {
                            Value::Scalar(Scalar::Null)
                        } else {
                            self.flow_node(depth + 1)?
                        };
                        self.flow_ws();
                        let Value::Scalar(k) = item else {
                            return self.err("complex mapping keys are not supported");
                        };
                        Value::Map(vec![MapItem::Entry(k, v)])
                    } else {
                        item
                    };
                    items.push(SeqItem::Value(item));
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {}
                        _ => return self.err("expected `,` or `]` in flow sequence"),
                    }
                }
                Value::Seq(items)
            }
            Some(b'{') => {
                self.pos += 1;
                let mut items: Vec<MapItem> = Vec::new();
                loop {
                    self.flow_ws();
                    match self.peek() {
                        Some(b'}') => {
                            self.pos += 1;
                            break;
                        }
                        None => return self.err("unterminated flow mapping"),
                        _ => {}
                    }
                    let key_pos = self.pos;
                    let k = match self.flow_node(depth + 1)? {
                        Value::Scalar(k) => k,
                        _ => return self.err("complex mapping keys are not supported"),
                    };
                    if items
                        .iter()
                        .any(|i| matches!(i, MapItem::Entry(x, _) if *x == k))
                    {
                        return Err(self.error_at(
                            key_pos,
                            format!("duplicate mapping key {:?}", k.key_string()),
                        ));
                    }
                    self.flow_ws();
                    let v = if self.peek() == Some(b':') {
                        self.pos += 1;
                        self.flow_ws();
                        if matches!(self.peek(), Some(b',' | b'}')) {
                            Value::Scalar(Scalar::Null)
                        } else {
                            self.flow_node(depth + 1)?
                        }
                    } else {
                        Value::Scalar(Scalar::Null)
                    };
                    items.push(MapItem::Entry(k, v));
                    self.flow_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {}
                        _ => return self.err("expected `,` or `}` in flow mapping"),
                    }
                }
                Value::Map(items)
            }
            Some(b'"' | b'\'') => Value::Scalar(Scalar::Str(self.quoted()?)),
            Some(b'*') => {
                let st = self.pos + 1;
                self.pos = st;
                while !self.is_blank_at(self.pos)
                    && !matches!(self.peek(), Some(b',' | b']' | b'}'))
                {
                    self.pos += 1;
                }
                let name = &self.s[st..self.pos];
                match self.anchors.get(name) {
                    Some(v) => v.clone(),
                    None => return self.err(format!("unknown alias *{name}")),
                }
            }
            _ => {
                let text = self.plain_flow()?;
                if props.tag.is_some() {
                    Value::Scalar(Scalar::Str(text))
                } else {
                    Value::Scalar(resolve_plain(&text))
                }
            }
        };
        let v = apply_tag(&props, v).map_err(|m| self.error_at(self.pos, m))?;
        self.register(&props, &v);
        Ok(v)
    }

    fn plain_flow(&mut self) -> R<String> {
        let mut out = String::new();
        let mut pending_space = false;
        let st0 = self.pos;
        loop {
            match self.peek() {
                None => break,
                Some(b',' | b'[' | b']' | b'{' | b'}') => break,
                Some(b':')
                    if self.is_blank_at(self.pos + 1)
                        || matches!(
                            self.peek_at(self.pos + 1),
                            Some(b',' | b']' | b'}' | b'[' | b'{')
                        ) =>
                {
                    break;
                }
                Some(b'#')
                    if self.pos > st0 && matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\n') =>
                {
                    break;
                }
                Some(b' ' | b'\t' | b'\n') => {
                    // Fold whitespace runs; a run containing breaks folds like block plain.
                    let mut breaks = 0;
                    let save = self.pos;
                    while let Some(c @ (b' ' | b'\t' | b'\n')) = self.peek() {
                        if c == b'\n' {
                            breaks += 1;
                        }
                        self.pos += 1;
                    }
                    match self.peek() {
                        None | Some(b',' | b']' | b'}' | b'#') => {
                            self.pos = save;
                            break;
                        }
                        Some(b':')
                            if self.is_blank_at(self.pos + 1)
                                || matches!(
                                    self.peek_at(self.pos + 1),
                                    Some(b',' | b']' | b'}')
                                ) =>
                        {
                            self.pos = save;
                            break;
                        }
                        _ => {}
                    }
                    if breaks <= 1 {
                        pending_space = true;
                        if breaks == 1 {
                            pending_space = true;
                        }
                    } else {
                        for _ in 1..breaks {
                            out.push('\n');
                        }
                    }
                }
                Some(c) => {
                    if pending_space {
                        out.push(' ');
                        pending_space = false;
                    }
                    let n = utf8_len(c);
                    out.push_str(&self.s[self.pos..self.pos + n]);
                    self.pos += n;
                }
            }
        }
        if self.pos == st0 {
            return self.err("expected a value");
        }
        Ok(out)
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Applies a core-schema tag to a node.
fn apply_tag(props: &Props, v: Value) -> Result<Value, String> {
    let Some(tag) = props.tag.as_deref() else {
        return Ok(v);
    };
    let Value::Scalar(s) = v else {
        return Ok(v);
    };
    let text = match &s {
        Scalar::Str(t) => t.clone(),
        other => other.key_string(),
    };
    let bad = || format!("cannot interpret {text:?} as {tag}");
    let out = match tag {
        "!!str" | "!" => Scalar::Str(text),
        "!!int" => match resolve_plain(&text) {
            Scalar::Int(i) => Scalar::Int(i),
            _ => return Err(bad()),
        },
        "!!float" => match resolve_plain(&text) {
            Scalar::Int(i) => Scalar::Float(i as f64),
            Scalar::Float(f) => Scalar::Float(f),
            _ => return Err(bad()),
        },
        "!!bool" => match resolve_plain(&text) {
            Scalar::Bool(b) => Scalar::Bool(b),
            _ => return Err(bad()),
        },
        "!!null" => Scalar::Null,
        "!!timestamp" => match parse_timestamp(&text) {
            Some(t) => Scalar::Time(t),
            None => return Err(bad()),
        },
        // Unknown (application) tags: the value is kept as a string, like go-yaml decoding
        // into an interface.
        _ => match s {
            Scalar::Str(_) => Scalar::Str(text),
            other => other,
        },
    };
    Ok(Value::Scalar(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::emit;

    fn one(src: &str) -> Value {
        let mut d = parse(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        assert_eq!(d.len(), 1, "{src}");
        d.remove(0)
    }

    fn s(v: &Value, path: &[&str]) -> String {
        let mut cur = v;
        for p in path {
            cur = cur.get(p).unwrap_or_else(|| panic!("no {p}"));
        }
        match cur {
            Value::Scalar(x) => x.key_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn scalars_and_block_styles() {
        let v = one(
            "a: 'it''s'\nb: \"x\\ty\\u00e9\"\nc: |\n  l1\n   l2\n\n  l3\nd: >-\n  folded\n  text\n\n  para\ne: plain\n  continued\nf: |+\n  keep\n\ng: ~\nh: 0x1F\n",
        );
        assert_eq!(s(&v, &["a"]), "it's");
        assert_eq!(s(&v, &["b"]), "x\tyé");
        assert_eq!(s(&v, &["c"]), "l1\n l2\n\nl3\n");
        assert_eq!(s(&v, &["d"]), "folded text\npara");
        assert_eq!(s(&v, &["e"]), "plain continued");
        assert_eq!(s(&v, &["f"]), "keep\n\n");
        assert_eq!(v.get("g"), Some(&Value::Scalar(Scalar::Null)));
        assert_eq!(v.get("h"), Some(&Value::Scalar(Scalar::Int(31))));
    }

    #[test]
    fn collections_flow_anchors_tags() {
        let v = one(
            "base: &b {x: 1, y: [a, b]}\ncopy: *b\nlist:\n- a\n- - n1\n  - n2\n- k: v\n  k2: v2\ntagged: !!str 123\nempty_map: {}\nempty_seq: []\nnull_item:\n  -\n",
        );
        assert_eq!(v.get("copy"), v.get("base"));
        assert_eq!(s(&v, &["tagged"]), "123");
        assert!(matches!(
            v.get("tagged"),
            Some(Value::Scalar(Scalar::Str(_)))
        ));
        let Some(Value::Seq(items)) = v.get("list") else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert_eq!(v.get("empty_map"), Some(&Value::Map(vec![])));
        assert_eq!(v.get("empty_seq"), Some(&Value::Seq(vec![])));
        let Some(Value::Seq(n)) = v.get("null_item") else {
            panic!()
        };
        assert_eq!(n, &vec![SeqItem::Value(Value::Scalar(Scalar::Null))]);
    }

    #[test]
    fn comments_are_placed_like_sops() {
        let src = "# head\na:\n  b: 1 # inline\n  # foot of a\nc: 2\n# end\n";
        let v = one(src);
        let Value::Map(items) = &v else { panic!() };
        assert_eq!(items[0], MapItem::Comment(" head".into()));
        let Some(Value::Map(a)) = v.get("a") else {
            panic!()
        };
        assert_eq!(a[0], MapItem::Comment(" inline".into()));
        assert_eq!(a[2], MapItem::Comment(" foot of a".into()));
        assert_eq!(items.last(), Some(&MapItem::Comment(" end".into())));
        assert_eq!(
            emit(&[v], 4),
            "# head\na:\n    # inline\n    b: 1\n    # foot of a\nc: 2\n# end\n"
        );
    }

    #[test]
    fn documents_and_errors() {
        let d = parse("---\na: 1\n...\n---\nb: 2\n").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(emit(&d, 4), "a: 1\n---\nb: 2\n");
        for (src, line) in [
            ("a: 1\na: 2\n", 2),
            ("a: [1, 2\n", 2),
            ("a:\n  b: 1\n c: 2\n", 3),
            ("a: \"x\n", 1),
            ("a: *nope\n", 1),
            ("? x\n: y\n", 1),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, line, "{src:?}: {e}");
        }
    }

    #[test]
    fn emit_parse_round_trip() {
        let src = "a:\n    b: \"yes\"\n    c:\n        - 1\n        - x: \"1.5\"\n          \"y\": |-\n            two\n            lines\n    d: 'a: b'\n    e: \"\\t\"\n    f: 2024-01-01T00:00:00Z\n";
        let d = parse(src).unwrap();
        assert_eq!(emit(&d, 4), src);
    }
}
