//! A span-keeping YAML structure reader: just enough of YAML 1.2 (block and flow collections,
//! the five scalar styles, comments, anchors, tags, aliases, directives and document markers) to
//! find the exact bytes of a node, and strict enough to reject malformed input.

use std::ops::Range;

use super::YamlEditError;

/// The presentation style of a scalar in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    /// `value`
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|`
    Literal,
    /// `>`
    Folded,
}

#[derive(Debug)]
pub(crate) enum Kind {
    /// No value at all (`key:` followed by nothing).
    Empty,
    Scalar {
        style: ScalarStyle,
        value: String,
    },
    Alias,
    Map {
        entries: Vec<Entry>,
        /// Column of the keys (block maps only).
        col: usize,
    },
    Seq,
}

#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    /// Bytes of the node's content, without anchor/tag properties. Empty for [`Kind::Empty`].
    pub span: Range<usize>,
    /// The node sits inside a flow collection.
    pub flow: bool,
    /// A collection written in flow style (`{}` / `[]`).
    pub flow_style: bool,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    /// Byte just after the `:` (None for a flow entry without a value indicator).
    pub colon_end: Option<usize>,
    pub value: Node,
}

#[derive(Debug)]
pub(crate) struct Document {
    pub root: Option<Node>,
    /// Where new top-level content of this document may be appended (end of its last line).
    pub end: usize,
}

impl Node {
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Scalar {
                style: ScalarStyle::Plain,
                value,
            } => matches!(value.as_str(), "~" | "null" | "Null" | "NULL"),
            _ => false,
        }
    }

    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Empty => "null",
            Kind::Scalar { .. } if self.is_null() => "null",
            Kind::Scalar { .. } => "a scalar",
            Kind::Alias => "an alias",
            Kind::Map { .. } => "a mapping",
            Kind::Seq => "a sequence",
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Stop {
    Eol,
    Comment,
    Colon,
    FlowIndicator,
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    lines: Vec<usize>,
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

/// Parses every document of `src`.
pub(crate) fn parse(src: &str) -> Result<Vec<Document>, YamlEditError> {
    let mut lines = vec![0];
    for (i, c) in src.bytes().enumerate() {
        if c == b'\n' {
            lines.push(i + 1);
        }
    }
    let mut p = Parser {
        src,
        b: src.as_bytes(),
        pos: 0,
        lines,
    };
    p.documents()
}

impl<'a> Parser<'a> {
    fn err(&self, at: usize, msg: impl Into<String>) -> YamlEditError {
        let at = at.min(self.b.len());
        let idx = self.lines.partition_point(|&s| s <= at).saturating_sub(1);
        let start = self.lines[idx];
        let column = self
            .src
            .get(start..at)
            .map_or(at - start, |s| s.chars().count())
            + 1;
        YamlEditError::Syntax {
            line: idx + 1,
            column,
            message: msg.into(),
        }
    }

    fn line_start(&self, at: usize) -> usize {
        let idx = self.lines.partition_point(|&s| s <= at).saturating_sub(1);
        self.lines[idx]
    }

    fn col(&self, at: usize) -> usize {
        at - self.line_start(at)
    }

    fn byte(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn is_eol(&self, i: usize) -> bool {
        i >= self.b.len()
            || self.b[i] == b'\n'
            || (self.b[i] == b'\r' && (i + 1 >= self.b.len() || self.b[i + 1] == b'\n'))
    }

    fn blank(&self, i: usize) -> bool {
        i >= self.b.len() || matches!(self.b[i], b' ' | b'\t' | b'\n' | b'\r')
    }

    /// End of the line holding `i` (the position of its line break, or EOF).
    pub fn line_end(&self, mut i: usize) -> usize {
        while !self.is_eol(i) {
            i += 1;
        }
        i
    }

    fn skip_inline_ws(&mut self) {
        while is_ws(self.byte(self.pos)) {
            self.pos += 1;
        }
    }

    fn at_comment_or_eol(&self) -> bool {
        self.is_eol(self.pos) || self.byte(self.pos) == b'#'
    }

    fn is_marker(&self, i: usize, m: &[u8]) -> bool {
        self.col(i) == 0 && self.b[i..].starts_with(m) && self.blank(i + 3)
    }

    fn is_doc_marker(&self, i: usize) -> bool {
        self.is_marker(i, b"---") || self.is_marker(i, b"...")
    }

    fn next_line(&self, i: usize) -> usize {
        let e = self.line_end(i);
        if e >= self.b.len() {
            e
        } else if self.b[e] == b'\r' {
            e + 2
        } else {
            e + 1
        }
    }

    /// The next byte holding content from `from` on (skipping blanks, comments and line breaks).
    fn next_content(&self, from: usize) -> Result<Option<usize>, YamlEditError> {
        let mut i = from;
        let mut line_start = i == self.line_start(i);
        loop {
            if i >= self.b.len() {
                return Ok(None);
            }
            if line_start {
                let mut j = i;
                while self.byte(j) == b' ' {
                    j += 1;
                }
                let mut k = j;
                while is_ws(self.byte(k)) {
                    k += 1;
                }
                if self.is_eol(k) || self.byte(k) == b'#' {
                    i = self.next_line(k);
                    if i >= self.b.len() {
                        return Ok(None);
                    }
                    continue;
                }
                if k != j {
                    return Err(self.err(j, "tab character used for indentation"));
                }
                return Ok(Some(j));
            }
            while is_ws(self.byte(i)) {
                i += 1;
            }
            if self.is_eol(i) || self.byte(i) == b'#' {
                i = self.next_line(i);
                line_start = true;
                continue;
            }
            return Ok(Some(i));
        }
    }

    fn documents(&mut self) -> Result<Vec<Document>, YamlEditError> {
        if self.b.starts_with("\u{feff}".as_bytes()) {
            self.pos = 3;
        }
        let mut docs = Vec::new();
        let mut directives = false;
        while let Some(n) = self.next_content(self.pos)? {
            self.pos = n;
            if self.byte(n) == b'%' && self.col(n) == 0 {
                directives = true;
                self.pos = self.line_end(n);
                continue;
            }
            if self.is_marker(n, b"...") {
                self.pos = n + 3;
                self.expect_line_end()?;
                continue;
            }
            let root = if self.is_marker(n, b"---") {
                directives = false;
                self.pos = n + 3;
                self.skip_inline_ws();
                if self.at_comment_or_eol() {
                    match self.next_content(self.pos)? {
                        Some(m) if !self.is_doc_marker(m) => {
                            self.pos = m;
                            Some(self.block_node(-1, false)?)
                        }
                        _ => None,
                    }
                } else {
                    Some(self.block_node(-1, true)?)
                }
            } else {
                if directives {
                    return Err(self.err(n, "directives must be followed by a '---' line"));
                }
                Some(self.block_node(-1, false)?)
            };
            let next = self.next_content(self.pos)?;
            let end = match (&root, next) {
                (Some(r), _) => self.line_end(r.span.end.max(self.pos)),
                (None, Some(m)) => m,
                (None, None) => self.b.len(),
            };
            docs.push(Document { root, end });
            match next {
                None => break,
                Some(m) if self.is_doc_marker(m) => self.pos = m,
                Some(m) => {
                    return Err(
                        self.err(m, "unexpected content (bad indentation or a missing ':'?)")
                    );
                }
            }
        }
        Ok(docs)
    }

    /// A node in block context starting at `self.pos`; `parent` is the indentation of the
    /// enclosing block collection (-1 at the root).
    fn block_node(&mut self, parent: isize, inline: bool) -> Result<Node, YamlEditError> {
        let start = self.pos;
        let col = self.col(start);
        let c = self.byte(start);
        if !inline && (col as isize) <= parent {
            return Err(self.err(start, "bad indentation"));
        }
        if c == b'-' && self.blank(start + 1) {
            return self.block_seq(col);
        }
        if (c == b'?' || c == b':') && self.blank(start + 1) {
            return Err(self.err(
                start,
                "explicit mapping keys ('? ' / ': ') are not supported",
            ));
        }
        if c == b'&' || c == b'!' {
            self.properties()?;
            self.skip_inline_ws();
            if self.at_comment_or_eol() {
                let here = self.pos;
                return match self.next_content(self.pos)? {
                    Some(n) if !self.is_doc_marker(n) && self.col(n) as isize > parent => {
                        self.pos = n;
                        self.block_node(parent, false)
                    }
                    _ => Ok(empty(here, false)),
                };
            }
            if self.implicit_key(self.pos)?.is_some() {
                return Err(self.err(start, "anchors or tags on a mapping key are not supported"));
            }
            return self.inline_value(parent);
        }
        if self.implicit_key(start)?.is_some() {
            return self.block_map(col);
        }
        self.inline_value(parent)
    }

    fn properties(&mut self) -> Result<(), YamlEditError> {
        for _ in 0..2 {
            let c = self.byte(self.pos);
            if c != b'&' && c != b'!' {
                break;
            }
            let start = self.pos;
            if c == b'!' && self.byte(self.pos + 1) == b'<' {
                while self.byte(self.pos) != b'>' {
                    if self.is_eol(self.pos) {
                        return Err(self.err(start, "unterminated verbatim tag"));
                    }
                    self.pos += 1;
                }
                self.pos += 1;
            } else {
                self.pos += 1;
                while !self.blank(self.pos) && !is_flow_indicator(self.byte(self.pos)) {
                    self.pos += 1;
                }
            }
            if c == b'&' && self.pos == start + 1 {
                return Err(self.err(start, "anchor without a name"));
            }
            self.skip_inline_ws();
        }
        Ok(())
    }

    fn block_map(&mut self, col: usize) -> Result<Node, YamlEditError> {
        let start = self.pos;
        let mut entries: Vec<Entry> = Vec::new();
        let mut end;
        loop {
            let kstart = self.pos;
            let Some((key, key_span, colon)) = self.implicit_key(kstart)? else {
                return Err(self.err(kstart, "expected a mapping key ('key: value')"));
            };
            if entries.iter().any(|e| e.key == key) {
                return Err(self.err(kstart, format!("mapping key {key:?} is defined twice")));
            }
            self.pos = colon + 1;
            self.skip_inline_ws();
            let value = self.map_value(col, colon + 1)?;
            end = value.span.end.max(colon + 1);
            entries.push(Entry {
                key,
                key_span,
                colon_end: Some(colon + 1),
                value,
            });
            match self.next_content(self.pos)? {
                None => break,
                Some(n) if self.is_doc_marker(n) => break,
                Some(n) => {
                    let nc = self.col(n);
                    if nc < col {
                        break;
                    }
                    if nc > col {
                        return Err(self.err(
                            n,
                            format!(
                                "bad indentation: expected a key at column {} or less",
                                col + 1
                            ),
                        ));
                    }
                    if self.byte(n) == b'-' && self.blank(n + 1) {
                        break;
                    }
                    self.pos = n;
                }
            }
        }
        Ok(Node {
            kind: Kind::Map { entries, col },
            span: start..end,
            flow: false,
            flow_style: false,
        })
    }

    /// The value after `key:` in a block map whose keys sit at column `col`.
    fn map_value(&mut self, col: usize, colon_end: usize) -> Result<Node, YamlEditError> {
        if self.byte(self.pos) == b'&' || self.byte(self.pos) == b'!' {
            self.properties()?;
            self.skip_inline_ws();
            if !self.at_comment_or_eol() {
                return self.inline_value(col as isize);
            }
        }
        if self.at_comment_or_eol() {
            if self.byte(self.pos) == b'#' && !is_ws(self.byte(self.pos.wrapping_sub(1))) {
                return Err(self.err(self.pos, "a comment must be separated by a space"));
            }
            return match self.next_content(self.pos)? {
                Some(n) if !self.is_doc_marker(n) => {
                    let nc = self.col(n);
                    if nc > col {
                        self.pos = n;
                        self.block_node(col as isize, false)
                    } else if nc == col && self.byte(n) == b'-' && self.blank(n + 1) {
                        self.pos = n;
                        self.block_seq(nc)
                    } else {
                        Ok(empty(colon_end, false))
                    }
                }
                _ => Ok(empty(colon_end, false)),
            };
        }
        self.inline_value(col as isize)
    }

    fn block_seq(&mut self, col: usize) -> Result<Node, YamlEditError> {
        let start = self.pos;
        let mut end;
        loop {
            let dash = self.pos;
            self.pos += 1;
            self.skip_inline_ws();
            end = dash + 1;
            if self.at_comment_or_eol() {
                if let Some(n) = self.next_content(self.pos)?
                    && !self.is_doc_marker(n)
                    && self.col(n) > col
                {
                    self.pos = n;
                    let item = self.block_node(col as isize, false)?;
                    end = item.span.end;
                }
            } else {
                let item = self.block_node(col as isize, true)?;
                end = item.span.end.max(end);
            }
            match self.next_content(self.pos)? {
                None => break,
                Some(n) if self.is_doc_marker(n) => break,
                Some(n) => {
                    let nc = self.col(n);
                    if nc < col {
                        break;
                    }
                    if nc > col {
                        return Err(self.err(n, "bad indentation of a sequence entry"));
                    }
                    if self.byte(n) == b'-' && self.blank(n + 1) {
                        self.pos = n;
                    } else {
                        break;
                    }
                }
            }
        }
        Ok(Node {
            kind: Kind::Seq,
            span: start..end,
            flow: false,
            flow_style: false,
        })
    }

    /// A scalar, flow collection or alias on the current line (block context).
    fn inline_value(&mut self, parent: isize) -> Result<Node, YamlEditError> {
        let start = self.pos;
        match self.byte(start) {
            b'|' | b'>' => self.block_scalar(parent),
            b'"' => {
                let (value, end) = self.double_quoted(start)?;
                self.pos = end;
                self.expect_value_end()?;
                Ok(scalar(ScalarStyle::DoubleQuoted, value, start..end, false))
            }
            b'\'' => {
                let (value, end) = self.single_quoted(start)?;
                self.pos = end;
                self.expect_value_end()?;
                Ok(scalar(ScalarStyle::SingleQuoted, value, start..end, false))
            }
            b'{' | b'[' => {
                let node = self.flow_collection(start)?;
                self.expect_value_end()?;
                Ok(node)
            }
            b'*' => {
                let node = self.alias(false)?;
                self.expect_value_end()?;
                Ok(node)
            }
            b'-' if self.blank(start + 1) => Err(self.err(
                start,
                "block sequence entries are not allowed in this context",
            )),
            b'@' | b'`' | b'%' | b',' | b']' | b'}' | b'#' => Err(self.err(
                start,
                format!(
                    "a plain scalar cannot start with {:?}",
                    self.byte(start) as char
                ),
            )),
            _ => self.plain_block(parent),
        }
    }

    fn alias(&mut self, flow: bool) -> Result<Node, YamlEditError> {
        let start = self.pos;
        self.pos += 1;
        while !self.blank(self.pos) && !is_flow_indicator(self.byte(self.pos)) {
            self.pos += 1;
        }
        if self.pos == start + 1 {
            return Err(self.err(start, "alias without a name"));
        }
        Ok(Node {
            kind: Kind::Alias,
            span: start..self.pos,
            flow,
            flow_style: false,
        })
    }

    /// After a single-line value: only blanks and a comment may follow on the line.
    fn expect_value_end(&mut self) -> Result<(), YamlEditError> {
        let before = self.pos;
        self.skip_inline_ws();
        let c = self.byte(self.pos);
        if c == b':' && self.blank(self.pos + 1) {
            return Err(self.err(self.pos, "mapping values are not allowed in this context"));
        }
        if c == b'#' && self.pos == before {
            return Err(self.err(self.pos, "a comment must be separated by a space"));
        }
        self.expect_line_end()
    }

    fn expect_line_end(&mut self) -> Result<(), YamlEditError> {
        self.skip_inline_ws();
        if self.at_comment_or_eol() {
            Ok(())
        } else {
            Err(self.err(self.pos, "unexpected content after the value"))
        }
    }

    /// Scans one line of a plain scalar from `i`: returns the end of its content (trailing
    /// blanks excluded) and why it stopped.
    fn plain_line(&self, i: usize, flow: bool) -> (usize, Stop) {
        let mut j = i;
        let mut last = i;
        while !self.is_eol(j) {
            let c = self.b[j];
            if c == b':' && (self.blank(j + 1) || (flow && is_flow_indicator(self.byte(j + 1)))) {
                return (last, Stop::Colon);
            }
            if c == b'#' && j > i && is_ws(self.b[j - 1]) {
                return (last, Stop::Comment);
            }
            if flow && is_flow_indicator(c) {
                return (last, Stop::FlowIndicator);
            }
            if !is_ws(c) {
                last = j + 1;
            }
            j += 1;
        }
        (last, Stop::Eol)
    }

    fn plain_block(&mut self, parent: isize) -> Result<Node, YamlEditError> {
        let start = self.pos;
        let (mut end, stop) = self.plain_line(start, false);
        if stop == Stop::Colon {
            return Err(self.err(end, "mapping values are not allowed in this context"));
        }
        let mut value = self.src[start..end].to_string();
        if stop == Stop::Eol {
            // Continuation lines, more indented than the parent.
            let mut line = self.next_line(end);
            let mut blank_lines = 0;
            while line < self.b.len() {
                let mut j = line;
                while self.byte(j) == b' ' {
                    j += 1;
                }
                let mut k = j;
                while is_ws(self.byte(k)) {
                    k += 1;
                }
                if self.is_eol(k) {
                    blank_lines += 1;
                    line = self.next_line(k);
                    continue;
                }
                if self.byte(k) == b'#' || (self.col(j) as isize) <= parent || self.is_doc_marker(j)
                {
                    break;
                }
                if k != j {
                    return Err(self.err(j, "tab character used for indentation"));
                }
                let (e, stop) = self.plain_line(j, false);
                if stop == Stop::Colon {
                    return Err(self.err(e, "mapping values are not allowed in this context"));
                }
                if blank_lines == 0 {
                    value.push(' ');
                } else {
                    value.extend(std::iter::repeat_n('\n', blank_lines));
                }
                value.push_str(&self.src[j..e]);
                end = e;
                blank_lines = 0;
                if stop == Stop::Comment {
                    break;
                }
                line = self.next_line(e);
            }
        }
        self.pos = end;
        Ok(scalar(ScalarStyle::Plain, value, start..end, false))
    }

    fn block_scalar(&mut self, parent: isize) -> Result<Node, YamlEditError> {
        let start = self.pos;
        let literal = self.byte(start) == b'|';
        self.pos += 1;
        let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.byte(self.pos) {
                b'+' => chomp = 1,
                b'-' => chomp = -1,
                c @ b'1'..=b'9' => explicit = Some((c - b'0') as usize),
                _ => break,
            }
            self.pos += 1;
        }
        if !self.blank(self.pos) {
            return Err(self.err(self.pos, "invalid block scalar header"));
        }
        self.expect_line_end()?;
        let base = parent.max(0) as usize;
        let mut indent = explicit.map(|d| base + d);
        let mut lines: Vec<&str> = Vec::new();
        let mut end = self.line_end(self.pos);
        let mut last_content = lines.len();
        let mut line = self.next_line(self.pos);
        while line < self.b.len() {
            let le = self.line_end(line);
            let text = &self.src[line..le];
            let spaces = text.bytes().take_while(|&c| c == b' ').count();
            let only_blank = text.trim_matches([' ', '\t']).is_empty();
            if only_blank {
                let keep = indent.map_or("", |n| text.get(n..).unwrap_or(""));
                lines.push(keep);
                line = self.next_line(le);
                continue;
            }
            let n = match indent {
                Some(n) => n,
                None => {
                    if spaces as isize <= parent {
                        break;
                    }
                    indent = Some(spaces);
                    spaces
                }
            };
            if spaces < n || self.is_doc_marker(line) {
                break;
            }
            lines.push(&text[n..]);
            last_content = lines.len();
            end = le;
            line = self.next_line(le);
        }
        let trailing = lines.len() - last_content;
        lines.truncate(last_content);
        let mut value = if literal {
            lines.join("\n")
        } else {
            fold(&lines)
        };
        if !lines.is_empty() {
            match chomp {
                -1 => {}
                0 => value.push('\n'),
                _ => value.extend(std::iter::repeat_n('\n', trailing + 1)),
            }
        }
        self.pos = end;
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        Ok(scalar(style, value, start..end, false))
    }

    /// Folds a line break inside a quoted scalar at `i`; returns the position after it.
    fn fold_break(
        &self,
        mut i: usize,
        value: &mut String,
        start: usize,
    ) -> Result<usize, YamlEditError> {
        while value.ends_with([' ', '\t']) {
            value.pop();
        }
        let mut breaks = 0;
        loop {
            if self.byte(i) == b'\r' {
                i += 1;
            }
            if self.byte(i) != b'\n' {
                break;
            }
            i += 1;
            breaks += 1;
            if self.is_doc_marker(i.min(self.b.len().saturating_sub(1))) && i < self.b.len() {
                return Err(self.err(start, "unterminated quoted scalar"));
            }
            while is_ws(self.byte(i)) {
                i += 1;
            }
        }
        if breaks == 0 {
            return Err(self.err(i, "a carriage return without a line feed"));
        } else if breaks == 1 {
            value.push(' ');
        } else {
            value.extend(std::iter::repeat_n('\n', breaks - 1));
        }
        Ok(i)
    }

    fn single_quoted(&self, start: usize) -> Result<(String, usize), YamlEditError> {
        let mut i = start + 1;
        let mut value = String::new();
        loop {
            if i >= self.b.len() {
                return Err(self.err(start, "unterminated single-quoted scalar"));
            }
            match self.b[i] {
                b'\'' => {
                    if self.byte(i + 1) == b'\'' {
                        value.push('\'');
                        i += 2;
                    } else {
                        return Ok((value, i + 1));
                    }
                }
                b'\n' | b'\r' => i = self.fold_break(i, &mut value, start)?,
                _ => {
                    let ch = self.src[i..].chars().next().unwrap_or('\u{fffd}');
                    value.push(ch);
                    i += ch.len_utf8().max(1);
                }
            }
        }
    }

    fn double_quoted(&self, start: usize) -> Result<(String, usize), YamlEditError> {
        let mut i = start + 1;
        let mut value = String::new();
        loop {
            if i >= self.b.len() {
                return Err(self.err(start, "unterminated double-quoted scalar"));
            }
            match self.b[i] {
                b'"' => return Ok((value, i + 1)),
                b'\\' => {
                    let e = self.byte(i + 1);
                    i += 2;
                    let simple = match e {
                        b'0' => Some('\0'),
                        b'a' => Some('\x07'),
                        b'b' => Some('\x08'),
                        b't' | b'\t' => Some('\t'),
                        b'n' => Some('\n'),
                        b'v' => Some('\x0b'),
                        b'f' => Some('\x0c'),
                        b'r' => Some('\r'),
                        b'e' => Some('\x1b'),
                        b' ' => Some(' '),
                        b'"' => Some('"'),
                        b'/' => Some('/'),
                        b'\\' => Some('\\'),
                        b'N' => Some('\u{85}'),
                        b'_' => Some('\u{a0}'),
                        b'L' => Some('\u{2028}'),
                        b'P' => Some('\u{2029}'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        value.push(c);
                        continue;
                    }
                    let digits = match e {
                        b'x' => 2,
                        b'u' => 4,
                        b'U' => 8,
                        b'\r' | b'\n' => {
                            // Escaped line break: joins lines without a space.
                            if e == b'\r' && self.byte(i) == b'\n' {
                                i += 1;
                            }
                            while is_ws(self.byte(i)) {
                                i += 1;
                            }
                            continue;
                        }
                        _ => {
                            return Err(self.err(i - 2, "invalid escape in double-quoted scalar"));
                        }
                    };
                    let hex = self.src.get(i..i + digits).unwrap_or("");
                    let c = u32::from_str_radix(hex, 16)
                        .ok()
                        .filter(|_| hex.len() == digits)
                        .and_then(char::from_u32)
                        .ok_or_else(|| self.err(i - 2, "invalid escape in double-quoted scalar"))?;
                    value.push(c);
                    i += digits;
                }
                b'\n' | b'\r' => i = self.fold_break(i, &mut value, start)?,
                _ => {
                    let ch = self.src[i..].chars().next().unwrap_or('\u{fffd}');
                    value.push(ch);
                    i += ch.len_utf8().max(1);
                }
            }
        }
    }

    /// Recognises `key:` (an implicit key on one line) at `i`.
    fn implicit_key(
        &self,
        i: usize,
    ) -> Result<Option<(String, Range<usize>, usize)>, YamlEditError> {
        let c = self.byte(i);
        let (key, end) = match c {
            b'"' | b'\'' => {
                let r = if c == b'"' {
                    self.double_quoted(i)
                } else {
                    self.single_quoted(i)
                };
                let Ok((key, end)) = r else {
                    return Ok(None);
                };
                if self.src[i..end].contains('\n') {
                    return Ok(None);
                }
                (key, end)
            }
            b'{' | b'[' | b'*' | b'&' | b'!' | b'|' | b'>' | b'#' | b'%' | b'@' | b'`' | b','
            | b']' | b'}' => return Ok(None),
            b'-' | b'?' | b':' if self.blank(i + 1) => return Ok(None),
            _ => {
                let (e, stop) = self.plain_line(i, false);
                if stop != Stop::Colon {
                    return Ok(None);
                }
                return Ok(Some((
                    self.src[i..e].to_string(),
                    i..e,
                    self.colon_after(e),
                )));
            }
        };
        let mut j = end;
        while is_ws(self.byte(j)) {
            j += 1;
        }
        if self.byte(j) == b':' && self.blank(j + 1) {
            Ok(Some((key, i..end, j)))
        } else {
            Ok(None)
        }
    }

    fn colon_after(&self, mut i: usize) -> usize {
        while self.byte(i) != b':' {
            i += 1;
        }
        i
    }

    fn skip_flow_ws(&mut self, open: usize) -> Result<(), YamlEditError> {
        loop {
            let c = self.byte(self.pos);
            if self.pos >= self.b.len() {
                return Err(self.err(open, "unterminated flow collection"));
            }
            if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                self.pos += 1;
                if c == b'\n' && self.is_doc_marker(self.pos.min(self.b.len() - 1)) {
                    return Err(self.err(open, "unterminated flow collection"));
                }
            } else if c == b'#' && (self.pos == 0 || self.blank(self.pos - 1)) {
                self.pos = self.line_end(self.pos);
            } else {
                return Ok(());
            }
        }
    }

    fn flow_collection(&mut self, open: usize) -> Result<Node, YamlEditError> {
        let is_map = self.byte(open) == b'{';
        let close = if is_map { b'}' } else { b']' };
        self.pos = open + 1;
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            self.skip_flow_ws(open)?;
            if self.byte(self.pos) == close {
                self.pos += 1;
                break;
            }
            if is_map {
                let kstart = self.pos;
                let (key, kend) = match self.byte(kstart) {
                    b'"' => self.double_quoted(kstart)?,
                    b'\'' => self.single_quoted(kstart)?,
                    b'{' | b'[' => {
                        return Err(self.err(kstart, "flow collections as keys are not supported"));
                    }
                    b'?' if self.blank(kstart + 1) => {
                        return Err(
                            self.err(kstart, "explicit mapping keys ('? ') are not supported")
                        );
                    }
                    c if is_flow_indicator(c) || c == b'#' => {
                        return Err(self.err(kstart, "expected a key in the flow mapping"));
                    }
                    _ => {
                        let (e, _) = self.plain_line(kstart, true);
                        if e == kstart {
                            return Err(self.err(kstart, "expected a key in the flow mapping"));
                        }
                        (self.src[kstart..e].to_string(), e)
                    }
                };
                if entries.iter().any(|e| e.key == key) {
                    return Err(self.err(kstart, format!("mapping key {key:?} is defined twice")));
                }
                self.pos = kend;
                self.skip_flow_ws(open)?;
                let (colon_end, value) = if self.byte(self.pos) == b':' {
                    self.pos += 1;
                    let ce = self.pos;
                    self.skip_flow_ws(open)?;
                    let c = self.byte(self.pos);
                    if c == b',' || c == close {
                        (Some(ce), empty(ce, true))
                    } else {
                        (Some(ce), self.flow_node(open)?)
                    }
                } else {
                    (None, empty(kend, true))
                };
                entries.push(Entry {
                    key,
                    key_span: kstart..kend,
                    colon_end,
                    value,
                });
            } else {
                self.flow_node(open)?;
                self.skip_flow_ws(open)?;
                if self.byte(self.pos) == b':' {
                    return Err(self.err(
                        self.pos,
                        "single-pair mappings inside flow sequences are not supported",
                    ));
                }
            }
            self.skip_flow_ws(open)?;
            match self.byte(self.pos) {
                b',' => self.pos += 1,
                c if c == close => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    return Err(self.err(
                        self.pos,
                        format!("expected ',' or '{}' in the flow collection", close as char),
                    ));
                }
            }
        }
        Ok(Node {
            kind: if is_map {
                Kind::Map { entries, col: 0 }
            } else {
                Kind::Seq
            },
            span: open..self.pos,
            flow: true,
            flow_style: true,
        })
    }

    fn flow_node(&mut self, open: usize) -> Result<Node, YamlEditError> {
        if matches!(self.byte(self.pos), b'&' | b'!') {
            self.properties()?;
            self.skip_flow_ws(open)?;
        }
        let start = self.pos;
        match self.byte(start) {
            b'"' => {
                let (v, end) = self.double_quoted(start)?;
                self.pos = end;
                Ok(scalar(ScalarStyle::DoubleQuoted, v, start..end, true))
            }
            b'\'' => {
                let (v, end) = self.single_quoted(start)?;
                self.pos = end;
                Ok(scalar(ScalarStyle::SingleQuoted, v, start..end, true))
            }
            b'{' | b'[' => {
                let mut n = self.flow_collection(start)?;
                n.flow = true;
                Ok(n)
            }
            b'*' => self.alias(true),
            c if is_flow_indicator(c) => Err(self.err(start, "expected a value")),
            b'|' | b'>' | b'@' | b'`' | b'%' => Err(self.err(
                start,
                format!(
                    "unexpected {:?} in a flow collection",
                    c_char(self.byte(start))
                ),
            )),
            _ => {
                let (end, _) = self.plain_line(start, true);
                if end == start {
                    return Err(self.err(start, "expected a value"));
                }
                self.pos = end;
                Ok(scalar(
                    ScalarStyle::Plain,
                    self.src[start..end].to_string(),
                    start..end,
                    true,
                ))
            }
        }
    }
}

fn c_char(b: u8) -> char {
    b as char
}

fn empty(at: usize, flow: bool) -> Node {
    Node {
        kind: Kind::Empty,
        span: at..at,
        flow,
        flow_style: false,
    }
}

fn scalar(style: ScalarStyle, value: String, span: Range<usize>, flow: bool) -> Node {
    Node {
        kind: Kind::Scalar { style, value },
        span,
        flow,
        flow_style: false,
    }
}

/// Line folding of a folded (`>`) block scalar's content lines.
fn fold(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut first = true;
    let mut prev_more = false;
    let mut pending = 0;
    for line in lines {
        if line.is_empty() {
            pending += 1;
            continue;
        }
        let more = line.starts_with([' ', '\t']);
        if first {
            out.extend(std::iter::repeat_n('\n', pending));
        } else if pending == 0 {
            out.push(if more || prev_more { '\n' } else { ' ' });
        } else {
            if more || prev_more {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\n', pending));
        }
        out.push_str(line);
        pending = 0;
        first = false;
        prev_more = more;
    }
    out
}
