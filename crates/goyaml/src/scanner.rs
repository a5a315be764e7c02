//! The libyaml scanner as goyaml v2 runs it: characters to tokens, with libyaml's marks and
//! error messages (a port of `scannerc.go`/`readerc.go` semantics, not of their code layout).

use std::borrow::Cow;
use std::collections::VecDeque;

/// A position in the input: byte index, 0-based line, 0-based column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub index: usize,
    pub line: usize,
    pub column: usize,
}

/// Scalar styles, as libyaml names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind<'a> {
    StreamStart,
    StreamEnd,
    VersionDirective(u8, u8),
    TagDirective(String, String),
    DocumentStart,
    DocumentEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias(&'a str),
    Anchor(&'a str),
    Tag(String, String),
    /// A scalar's text: borrowed from the input when it is a contiguous piece of it (no
    /// escapes, no line folding), owned otherwise.
    Scalar(Cow<'a, str>, ScalarStyle),
}

/// A token kind without its data, for cheap comparisons in the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tk {
    StreamStart,
    StreamEnd,
    VersionDirective,
    TagDirective,
    DocumentStart,
    DocumentEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias,
    Anchor,
    Tag,
    Scalar(ScalarStyle),
}

impl TokenKind<'_> {
    /// The kind without its data.
    #[inline]
    pub fn tk(&self) -> Tk {
        match self {
            TokenKind::StreamStart => Tk::StreamStart,
            TokenKind::StreamEnd => Tk::StreamEnd,
            TokenKind::VersionDirective(..) => Tk::VersionDirective,
            TokenKind::TagDirective(..) => Tk::TagDirective,
            TokenKind::DocumentStart => Tk::DocumentStart,
            TokenKind::DocumentEnd => Tk::DocumentEnd,
            TokenKind::BlockSequenceStart => Tk::BlockSequenceStart,
            TokenKind::BlockMappingStart => Tk::BlockMappingStart,
            TokenKind::BlockEnd => Tk::BlockEnd,
            TokenKind::FlowSequenceStart => Tk::FlowSequenceStart,
            TokenKind::FlowSequenceEnd => Tk::FlowSequenceEnd,
            TokenKind::FlowMappingStart => Tk::FlowMappingStart,
            TokenKind::FlowMappingEnd => Tk::FlowMappingEnd,
            TokenKind::BlockEntry => Tk::BlockEntry,
            TokenKind::FlowEntry => Tk::FlowEntry,
            TokenKind::Key => Tk::Key,
            TokenKind::Value => Tk::Value,
            TokenKind::Alias(_) => Tk::Alias,
            TokenKind::Anchor(_) => Tk::Anchor,
            TokenKind::Tag(..) => Tk::Tag,
            TokenKind::Scalar(_, style) => Tk::Scalar(*style),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Token<'a> {
    pub kind: TokenKind<'a>,
    pub start: Mark,
    pub end: Mark,
}

/// Which stage of libyaml reported a problem (goyaml formats the line differently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Reader,
    Scanner,
    Parser,
}

/// A libyaml error: problem, its mark, and the context mark.
#[derive(Clone, Debug)]
pub struct RawError {
    pub stage: Stage,
    pub problem: String,
    pub problem_mark: Mark,
    pub context_mark: Mark,
}

impl RawError {
    /// goyaml v2's `parser.fail()` text, without the `yaml: ` prefix.
    pub fn message(&self) -> String {
        let mut line = 0;
        if self.problem_mark.line != 0 {
            line = self.problem_mark.line;
            if self.stage == Stage::Scanner {
                line += 1;
            }
        } else if self.context_mark.line != 0 {
            line = self.context_mark.line;
        }
        let problem = if self.problem.is_empty() {
            "unknown problem parsing YAML content"
        } else {
            &self.problem
        };
        if line != 0 {
            format!("line {line}: {problem}")
        } else {
            problem.to_string()
        }
    }
}

#[derive(Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    required: bool,
    token_number: usize,
    mark: Mark,
}

const MAX_FLOW_LEVEL: usize = 10000;
const MAX_INDENTS: usize = 10000;

pub struct Scanner<'a> {
    /// The input up to the first reader error (valid UTF-8 without forbidden characters).
    src: &'a str,
    buf: &'a [u8],
    pos: usize,
    mark: Mark,
    tokens: VecDeque<Token<'a>>,
    tokens_parsed: usize,
    token_available: bool,
    stream_start_produced: bool,
    stream_end_produced: bool,
    indent: isize,
    indents: Vec<isize>,
    simple_key_allowed: bool,
    simple_keys: Vec<SimpleKey>,
    /// goyaml's `simple_keys_by_tok`: token number -> index in `simple_keys`. Its quirks
    /// (entries shared by a flow level and the key saved for its opening bracket) decide
    /// when tokens are handed to the parser, so it is reproduced as is.
    simple_keys_by_tok: std::collections::HashMap<usize, usize, TokenHash>,
    flow_level: usize,
    error: Option<RawError>,
    /// Byte offset of the first reader error, if any (reported when reached).
    reader_error: Option<(usize, &'static str)>,
}

type R<T> = Result<T, RawError>;

fn width(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        3
    } else if b & 0xF8 == 0xF0 {
        4
    } else {
        0
    }
}

/// libyaml's reader checks: the input up to the first problem (all of it when there is
/// none), and the problem with its byte offset.
fn check_input(src: &[u8]) -> (&str, Option<(usize, &'static str)>) {
    let s = match std::str::from_utf8(src) {
        Ok(s) => s,
        Err(e) => {
            let at = e.valid_up_to();
            let b = src[at];
            let w = width(b);
            let problem = if w == 0 {
                "invalid leading UTF-8 octet"
            } else if at + w > src.len() {
                "incomplete UTF-8 octet sequence"
            } else if src[at + 1..at + w].iter().any(|&c| c & 0xC0 != 0x80) {
                "invalid trailing UTF-8 octet"
            } else if (w == 3 && b == 0xED && src[at + 1] >= 0xA0)
                || (w == 4 && (b > 0xF4 || (b == 0xF4 && src[at + 1] >= 0x90)))
            {
                "invalid Unicode character"
            } else {
                "invalid length of a UTF-8 sequence"
            };
            let valid = std::str::from_utf8(&src[..at]).unwrap_or("");
            // Control characters before the bad octet are reported first.
            if let Some((i, c)) = check_chars(valid) {
                return (&valid[..i], Some((i, c)));
            }
            return (valid, Some((at, problem)));
        }
    };
    match check_chars(s) {
        Some((i, c)) => (&s[..i], Some((i, c))),
        None => (s, None),
    }
}

/// Bytes that are allowed characters on their own: printable ASCII, tab, LF, CR.
static ASCII_OK: [bool; 128] = {
    let mut t = [false; 128];
    let mut i = 0x20;
    while i < 0x7F {
        t[i] = true;
        i += 1;
    }
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// The first character libyaml's reader rejects (C0/C1 controls other than tab, LF, CR and
/// NEL; DEL; U+FFFE and U+FFFF; surrogates cannot occur in a `str`), by byte offset.
fn check_chars(s: &str) -> Option<(usize, &'static str)> {
    const BAD: &str = "control characters are not allowed";
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if !ASCII_OK[c as usize] {
                return Some((i, BAD));
            }
            i += 1;
            continue;
        }
        // `s` is valid UTF-8: the continuation bytes are there.
        match c {
            0xC2 if b[i + 1] < 0xA0 && b[i + 1] != 0x85 => return Some((i, BAD)),
            0xEF if b[i + 1] == 0xBF && (b[i + 2] == 0xBE || b[i + 2] == 0xBF) => {
                return Some((i, BAD));
            }
            _ => {}
        }
        i += width(c).max(1);
    }
    None
}

impl<'a> Scanner<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        let mut src = input;
        if src.starts_with(b"\xEF\xBB\xBF") {
            src = &src[3..];
        }
        let (src, reader_error) = check_input(src);
        Scanner {
            src,
            buf: src.as_bytes(),
            pos: 0,
            mark: Mark::default(),
            tokens: VecDeque::new(),
            tokens_parsed: 0,
            token_available: false,
            stream_start_produced: false,
            stream_end_produced: false,
            indent: -1,
            indents: Vec::new(),
            simple_key_allowed: false,
            simple_keys: Vec::new(),
            simple_keys_by_tok: std::collections::HashMap::default(),
            flow_level: 0,
            error: None,
            reader_error,
        }
    }

    // ---- character classes at offset k from the current position ----
    #[inline]
    fn ch(&self, k: usize) -> u8 {
        self.buf.get(self.pos + k).copied().unwrap_or(0)
    }
    #[inline]
    fn is_z(&self, k: usize) -> bool {
        self.ch(k) == 0
    }
    #[inline]
    fn is_blank(&self, k: usize) -> bool {
        matches!(self.ch(k), b' ' | b'\t')
    }
    #[inline]
    fn is_break(&self, k: usize) -> bool {
        let c = self.ch(k);
        c == b'\r'
            || c == b'\n'
            || (c == 0xC2 && self.ch(k + 1) == 0x85)
            || (c == 0xE2 && self.ch(k + 1) == 0x80 && matches!(self.ch(k + 2), 0xA8 | 0xA9))
    }
    #[inline]
    fn is_breakz(&self, k: usize) -> bool {
        self.is_break(k) || self.is_z(k)
    }
    #[inline]
    fn is_blankz(&self, k: usize) -> bool {
        self.is_blank(k) || self.is_breakz(k)
    }
    #[inline]
    fn is_alpha(&self, k: usize) -> bool {
        let c = self.ch(k);
        c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
    }
    #[inline]
    fn is_hex(&self, k: usize) -> bool {
        self.ch(k).is_ascii_hexdigit()
    }
    fn as_hex(&self, k: usize) -> u32 {
        let c = self.ch(k);
        match c {
            b'A'..=b'F' => (c - b'A' + 10) as u32,
            b'a'..=b'f' => (c - b'a' + 10) as u32,
            _ => (c - b'0') as u32,
        }
    }

    /// Fails with the reader error once the scanner reaches the bad input.
    #[inline]
    fn check_reader(&self) -> R<()> {
        // libyaml decodes the input ahead of the scanner; for in-memory documents the
        // reader error surfaces before the first token.
        if let Some((_, problem)) = self.reader_error {
            return Err(RawError {
                stage: Stage::Reader,
                problem: problem.to_string(),
                problem_mark: Mark::default(),
                context_mark: Mark::default(),
            });
        }
        Ok(())
    }

    #[inline]
    fn skip(&mut self) {
        self.mark.index += 1;
        self.mark.column += 1;
        self.pos += width(self.ch(0)).max(1);
    }

    /// Whether the bytes at `p` are a line break or the end of the input.
    #[inline]
    fn breakz_at(&self, p: usize) -> bool {
        match self.buf.get(p) {
            None => true,
            Some(b'\n' | b'\r') => true,
            Some(0xC2) => self.buf.get(p + 1) == Some(&0x85),
            Some(0xE2) => {
                self.buf.get(p + 1) == Some(&0x80)
                    && matches!(self.buf.get(p + 2), Some(0xA8 | 0xA9))
            }
            _ => false,
        }
    }

    /// Whether the bytes at `p` are a blank, a line break or the end of the input.
    #[inline]
    fn blankz_at(&self, p: usize) -> bool {
        matches!(self.buf.get(p), Some(b' ' | b'\t')) || self.breakz_at(p)
    }

    /// Moves to byte `p` over `chars` characters of the current line.
    #[inline]
    fn advance_to(&mut self, p: usize, chars: usize) {
        self.pos = p;
        self.mark.index += chars;
        self.mark.column += chars;
    }

    /// The end of the current line's content from `p` (the next line break or the end of the
    /// input) and the number of characters up to it.
    #[inline]
    fn line_end_from(&self, mut p: usize) -> (usize, usize) {
        let b = self.buf;
        let mut chars = 0;
        while p < b.len() {
            let c = b[p];
            if c < 0x80 {
                if c == b'\n' || c == b'\r' {
                    break;
                }
                p += 1;
            } else {
                if self.breakz_at(p) {
                    break;
                }
                p += width(c).max(1);
            }
            chars += 1;
        }
        (p, chars)
    }

    /// Skips characters up to the next line break or the end (a comment's text).
    fn skip_to_break(&mut self) {
        let (p, chars) = self.line_end_from(self.pos);
        self.advance_to(p, chars);
    }

    /// Skips a run of spaces, at most up to column `limit` (if given).
    #[inline]
    fn skip_spaces(&mut self, limit: Option<usize>) {
        let b = self.buf;
        let mut p = self.pos;
        let max = match limit {
            Some(l) if l > self.mark.column => p + (l - self.mark.column),
            Some(_) => p,
            None => usize::MAX,
        };
        while p < max && p < b.len() && b[p] == b' ' {
            p += 1;
        }
        let n = p - self.pos;
        self.advance_to(p, n);
    }

    fn skip_line(&mut self) {
        if self.ch(0) == b'\r' && self.ch(1) == b'\n' {
            self.mark.index += 2;
            self.mark.column = 0;
            self.mark.line += 1;
            self.pos += 2;
        } else if self.is_break(0) {
            self.mark.index += 1;
            self.mark.column = 0;
            self.mark.line += 1;
            self.pos += width(self.ch(0)).max(1);
        }
    }

    #[inline]
    fn read(&mut self, s: &mut Vec<u8>) {
        let w = width(self.ch(0)).max(1);
        s.extend_from_slice(&self.buf[self.pos..self.pos + w]);
        self.pos += w;
        self.mark.index += 1;
        self.mark.column += 1;
    }

    fn read_line(&mut self, s: &mut Vec<u8>) {
        let (c0, c1, c2) = (self.ch(0), self.ch(1), self.ch(2));
        if c0 == b'\r' && c1 == b'\n' {
            s.push(b'\n');
            self.pos += 2;
            self.mark.index += 1;
        } else if c0 == b'\r' || c0 == b'\n' {
            s.push(b'\n');
            self.pos += 1;
        } else if c0 == 0xC2 && c1 == 0x85 {
            s.push(b'\n');
            self.pos += 2;
        } else if c0 == 0xE2 && c1 == 0x80 && (c2 == 0xA8 || c2 == 0xA9) {
            s.extend_from_slice(&[c0, c1, c2]);
            self.pos += 3;
        } else {
            return;
        }
        self.mark.index += 1;
        self.mark.column = 0;
        self.mark.line += 1;
    }

    fn err(&mut self, _context: &str, context_mark: Mark, problem: &str) -> RawError {
        let e = RawError {
            stage: Stage::Scanner,
            problem: problem.to_string(),
            problem_mark: self.mark,
            context_mark,
        };
        self.error = Some(e.clone());
        e
    }

    /// The next token, or the libyaml error.
    pub fn peek(&mut self) -> R<&Token<'a>> {
        if !self.token_available {
            self.fetch_more_tokens()?;
        }
        self.tokens.front().ok_or_else(|| RawError {
            stage: Stage::Parser,
            problem: String::new(),
            problem_mark: Mark::default(),
            context_mark: Mark::default(),
        })
    }

    /// Consume the peeked token.
    pub fn skip_token(&mut self) -> Option<Token<'a>> {
        self.token_available = false;
        self.tokens_parsed += 1;
        let t = self.tokens.pop_front();
        if let Some(t) = &t
            && t.kind == TokenKind::StreamEnd
        {
            self.stream_end_produced = true;
        }
        t
    }

    pub fn stream_end_produced(&self) -> bool {
        self.stream_end_produced
    }

    fn fetch_more_tokens(&mut self) -> R<()> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        loop {
            if !self.tokens.is_empty() {
                match self.simple_keys_by_tok.get(&self.tokens_parsed) {
                    None => break,
                    Some(&i) => {
                        if i >= self.simple_keys.len() || !self.simple_key_is_valid(i)? {
                            break;
                        }
                    }
                }
            }
            self.fetch_next_token()?;
        }
        self.token_available = true;
        Ok(())
    }

    fn simple_key_is_valid(&mut self, i: usize) -> R<bool> {
        let k = self.simple_keys[i];
        if !k.possible {
            return Ok(false);
        }
        if k.mark.line < self.mark.line || k.mark.index + 1024 < self.mark.index {
            if k.required {
                return Err(self.err(
                    "while scanning a simple key",
                    k.mark,
                    "could not find expected ':'",
                ));
            }
            self.simple_keys[i].possible = false;
            return Ok(false);
        }
        Ok(true)
    }

    /// Inserts at `pos` from the queue head; `None` or a negative position appends.
    fn insert_token(&mut self, pos: Option<isize>, token: Token<'a>) {
        match pos {
            Some(n) if n >= 0 => {
                let at = (n as usize).min(self.tokens.len());
                self.tokens.insert(at, token)
            }
            _ => self.tokens.push_back(token),
        }
    }

    fn fetch_next_token(&mut self) -> R<()> {
        self.check_reader()?;
        if !self.stream_start_produced {
            self.indent = -1;
            self.simple_keys.push(SimpleKey::default());
            self.simple_keys_by_tok.clear();
            self.simple_key_allowed = true;
            self.stream_start_produced = true;
            let m = self.mark;
            self.insert_token(
                None,
                Token {
                    kind: TokenKind::StreamStart,
                    start: m,
                    end: m,
                },
            );
            return Ok(());
        }
        self.scan_to_next_token()?;
        self.check_reader()?;
        self.unroll_indent(self.mark.column as isize);
        if self.is_z(0) {
            return self.fetch_stream_end();
        }
        let c = self.ch(0);
        let col0 = self.mark.column == 0;
        if col0 && c == b'%' {
            return self.fetch_directive();
        }
        if col0 && c == b'-' && self.ch(1) == b'-' && self.ch(2) == b'-' && self.is_blankz(3) {
            return self.fetch_document_indicator(TokenKind::DocumentStart);
        }
        if col0 && c == b'.' && self.ch(1) == b'.' && self.ch(2) == b'.' && self.is_blankz(3) {
            return self.fetch_document_indicator(TokenKind::DocumentEnd);
        }
        match c {
            b'[' => return self.fetch_flow_collection_start(TokenKind::FlowSequenceStart),
            b'{' => return self.fetch_flow_collection_start(TokenKind::FlowMappingStart),
            b']' => return self.fetch_flow_collection_end(TokenKind::FlowSequenceEnd),
            b'}' => return self.fetch_flow_collection_end(TokenKind::FlowMappingEnd),
            b',' => return self.fetch_flow_entry(),
            _ => {}
        }
        if c == b'-' && self.is_blankz(1) {
            return self.fetch_block_entry();
        }
        if c == b'?' && (self.flow_level > 0 || self.is_blankz(1)) {
            return self.fetch_key();
        }
        if c == b':' && (self.flow_level > 0 || self.is_blankz(1)) {
            return self.fetch_value();
        }
        match c {
            b'*' => return self.fetch_anchor(true),
            b'&' => return self.fetch_anchor(false),
            b'!' => return self.fetch_tag(),
            b'|' if self.flow_level == 0 => return self.fetch_block_scalar(true),
            b'>' if self.flow_level == 0 => return self.fetch_block_scalar(false),
            b'\'' => return self.fetch_flow_scalar(true),
            b'"' => return self.fetch_flow_scalar(false),
            _ => {}
        }
        let indicator = self.is_blankz(0) || is_indicator(c);
        if !indicator
            || (c == b'-' && !self.is_blank(1))
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !self.is_blankz(1))
        {
            return self.fetch_plain_scalar();
        }
        let m = self.mark;
        Err(self.err(
            "while scanning for the next token",
            m,
            "found character that cannot start any token",
        ))
    }

    fn save_simple_key(&mut self) -> R<()> {
        let required = self.flow_level == 0 && self.indent == self.mark.column as isize;
        if self.simple_key_allowed {
            let sk = SimpleKey {
                possible: true,
                required,
                token_number: self.tokens_parsed + self.tokens.len(),
                mark: self.mark,
            };
            self.remove_simple_key()?;
            let idx = self.simple_keys.len() - 1;
            self.simple_keys[idx] = sk;
            self.simple_keys_by_tok.insert(sk.token_number, idx);
        }
        Ok(())
    }

    fn remove_simple_key(&mut self) -> R<()> {
        if let Some(k) = self.simple_keys.last().copied()
            && k.possible
        {
            if k.required {
                return Err(self.err(
                    "while scanning a simple key",
                    k.mark,
                    "could not find expected ':'",
                ));
            }
            if let Some(last) = self.simple_keys.last_mut() {
                last.possible = false;
            }
            self.simple_keys_by_tok.remove(&k.token_number);
        }
        Ok(())
    }

    fn increase_flow_level(&mut self) -> R<()> {
        self.simple_keys.push(SimpleKey {
            possible: false,
            required: false,
            token_number: self.tokens_parsed + self.tokens.len(),
            mark: self.mark,
        });
        self.flow_level += 1;
        if self.flow_level > MAX_FLOW_LEVEL {
            let m = self.mark;
            return Err(self.err(
                "while increasing flow level",
                m,
                &format!("exceeded max depth of {MAX_FLOW_LEVEL}"),
            ));
        }
        Ok(())
    }

    fn decrease_flow_level(&mut self) {
        if self.flow_level > 0 {
            self.flow_level -= 1;
            if let Some(k) = self.simple_keys.pop() {
                self.simple_keys_by_tok.remove(&k.token_number);
            }
        }
    }

    fn roll_indent(
        &mut self,
        column: usize,
        number: Option<usize>,
        kind: TokenKind<'a>,
        mark: Mark,
    ) -> R<()> {
        // `number` is a token number; the queue position may be negative (append).
        if self.flow_level > 0 {
            return Ok(());
        }
        if self.indent < column as isize {
            self.indents.push(self.indent);
            self.indent = column as isize;
            if self.indents.len() > MAX_INDENTS {
                let m = self.mark;
                return Err(self.err(
                    "while increasing indent level",
                    m,
                    &format!("exceeded max depth of {MAX_INDENTS}"),
                ));
            }
            let pos = number.map(|n| n as isize - self.tokens_parsed as isize);
            self.insert_token(
                pos,
                Token {
                    kind,
                    start: mark,
                    end: mark,
                },
            );
        }
        Ok(())
    }

    fn unroll_indent(&mut self, column: isize) {
        if self.flow_level > 0 {
            return;
        }
        while self.indent > column {
            let m = self.mark;
            self.insert_token(
                None,
                Token {
                    kind: TokenKind::BlockEnd,
                    start: m,
                    end: m,
                },
            );
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn fetch_stream_end(&mut self) -> R<()> {
        if self.mark.column != 0 {
            self.mark.column = 0;
            self.mark.line += 1;
        }
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let m = self.mark;
        self.insert_token(
            None,
            Token {
                kind: TokenKind::StreamEnd,
                start: m,
                end: m,
            },
        );
        Ok(())
    }

    fn fetch_directive(&mut self) -> R<()> {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_directive()?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_document_indicator(&mut self, kind: TokenKind<'a>) -> R<()> {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        self.skip();
        self.skip();
        let end = self.mark;
        self.insert_token(None, Token { kind, start, end });
        Ok(())
    }

    fn fetch_flow_collection_start(&mut self, kind: TokenKind<'a>) -> R<()> {
        self.save_simple_key()?;
        self.increase_flow_level()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.insert_token(None, Token { kind, start, end });
        Ok(())
    }

    fn fetch_flow_collection_end(&mut self, kind: TokenKind<'a>) -> R<()> {
        self.remove_simple_key()?;
        self.decrease_flow_level();
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.insert_token(None, Token { kind, start, end });
        Ok(())
    }

    fn fetch_flow_entry(&mut self) -> R<()> {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.insert_token(
            None,
            Token {
                kind: TokenKind::FlowEntry,
                start,
                end,
            },
        );
        Ok(())
    }

    fn fetch_block_entry(&mut self) -> R<()> {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                let m = self.mark;
                return Err(self.err(
                    "",
                    m,
                    "block sequence entries are not allowed in this context",
                ));
            }
            let m = self.mark;
            self.roll_indent(m.column, None, TokenKind::BlockSequenceStart, m)?;
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.insert_token(
            None,
            Token {
                kind: TokenKind::BlockEntry,
                start,
                end,
            },
        );
        Ok(())
    }

    fn fetch_key(&mut self) -> R<()> {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                let m = self.mark;
                return Err(self.err("", m, "mapping keys are not allowed in this context"));
            }
            let m = self.mark;
            self.roll_indent(m.column, None, TokenKind::BlockMappingStart, m)?;
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = self.flow_level == 0;
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.insert_token(
            None,
            Token {
                kind: TokenKind::Key,
                start,
                end,
            },
        );
        Ok(())
    }

    fn fetch_value(&mut self) -> R<()> {
        let i = self.simple_keys.len() - 1;
        if self.simple_key_is_valid(i)? {
            let sk = self.simple_keys[i];
            self.insert_token(
                Some(sk.token_number as isize - self.tokens_parsed as isize),
                Token {
                    kind: TokenKind::Key,
                    start: sk.mark,
                    end: sk.mark,
                },
            );
            self.roll_indent(
                sk.mark.column,
                Some(sk.token_number),
                TokenKind::BlockMappingStart,
                sk.mark,
            )?;
            self.simple_keys[i].possible = false;
            self.simple_keys_by_tok.remove(&sk.token_number);
            self.simple_key_allowed = false;
        } else {
            if self.flow_level == 0 {
                if !self.simple_key_allowed {
                    let m = self.mark;
                    return Err(self.err("", m, "mapping values are not allowed in this context"));
                }
                let m = self.mark;
                self.roll_indent(m.column, None, TokenKind::BlockMappingStart, m)?;
            }
            self.simple_key_allowed = self.flow_level == 0;
        }
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.insert_token(
            None,
            Token {
                kind: TokenKind::Value,
                start,
                end,
            },
        );
        Ok(())
    }

    fn fetch_anchor(&mut self, alias: bool) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_anchor(alias)?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_tag(&mut self) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_tag()?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_block_scalar(&mut self, literal: bool) -> R<()> {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let t = self.scan_block_scalar(literal)?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_flow_scalar(&mut self, single: bool) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_flow_scalar(single)?;
        self.insert_token(None, t);
        Ok(())
    }

    fn fetch_plain_scalar(&mut self) -> R<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let t = self.scan_plain_scalar()?;
        self.insert_token(None, t);
        Ok(())
    }

    fn scan_to_next_token(&mut self) -> R<()> {
        loop {
            // goyaml's is_bom looks at the start of its buffer, not at the current position:
            // only a second BOM at the very start of the input is skipped.
            if self.mark.column == 0 && self.pos == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.skip();
            }
            if self.flow_level > 0 || !self.simple_key_allowed {
                while matches!(self.ch(0), b' ' | b'\t') {
                    self.skip();
                }
            } else {
                self.skip_spaces(None);
            }
            if self.ch(0) == b'#' {
                self.skip_to_break();
            }
            if self.is_break(0) {
                self.skip_line();
                if self.flow_level == 0 {
                    self.simple_key_allowed = true;
                }
            } else {
                break;
            }
        }
        Ok(())
    }

    fn scan_directive(&mut self) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        let mut name = Vec::new();
        while self.is_alpha(0) {
            self.read(&mut name);
        }
        if name.is_empty() {
            return Err(self.err(
                "while scanning a directive",
                start,
                "could not find expected directive name",
            ));
        }
        if !self.is_blankz(0) {
            return Err(self.err(
                "while scanning a directive",
                start,
                "found unexpected non-alphabetical character",
            ));
        }
        let kind = if name == b"YAML" {
            while self.is_blank(0) {
                self.skip();
            }
            let major = self.scan_version_number(start)?;
            if self.ch(0) != b'.' {
                return Err(self.err(
                    "while scanning a %YAML directive",
                    start,
                    "did not find expected digit or '.' character",
                ));
            }
            self.skip();
            let minor = self.scan_version_number(start)?;
            TokenKind::VersionDirective(major, minor)
        } else if name == b"TAG" {
            while self.is_blank(0) {
                self.skip();
            }
            let handle = self.scan_tag_handle(true, start)?;
            if !self.is_blank(0) {
                return Err(self.err(
                    "while scanning a %TAG directive",
                    start,
                    "did not find expected whitespace",
                ));
            }
            while self.is_blank(0) {
                self.skip();
            }
            let prefix = self.scan_tag_uri(true, None, start)?;
            if !self.is_blankz(0) {
                return Err(self.err(
                    "while scanning a %TAG directive",
                    start,
                    "did not find expected whitespace or line break",
                ));
            }
            TokenKind::TagDirective(handle, prefix)
        } else {
            return Err(self.err(
                "while scanning a directive",
                start,
                "found unknown directive name",
            ));
        };
        let end = self.mark;
        while self.is_blank(0) {
            self.skip();
        }
        if self.ch(0) == b'#' {
            self.skip_to_break();
        }
        if !self.is_breakz(0) {
            return Err(self.err(
                "while scanning a directive",
                start,
                "did not find expected comment or line break",
            ));
        }
        if self.is_break(0) {
            self.skip_line();
        }
        Ok(Token { kind, start, end })
    }

    fn scan_version_number(&mut self, start: Mark) -> R<u8> {
        let mut value: u8 = 0;
        let mut len = 0;
        while self.ch(0).is_ascii_digit() {
            len += 1;
            if len > 2 {
                return Err(self.err(
                    "while scanning a %YAML directive",
                    start,
                    "found extremely long version number",
                ));
            }
            value = value * 10 + (self.ch(0) - b'0');
            self.skip();
        }
        if len == 0 {
            return Err(self.err(
                "while scanning a %YAML directive",
                start,
                "did not find expected version number",
            ));
        }
        Ok(value)
    }

    fn scan_anchor(&mut self, alias: bool) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        let from = self.pos;
        while self.is_alpha(0) {
            self.skip();
        }
        let s = &self.src[from..self.pos];
        let end = self.mark;
        let c = self.ch(0);
        if s.is_empty()
            || !(self.is_blankz(0)
                || matches!(c, b'?' | b':' | b',' | b']' | b'}' | b'%' | b'@' | b'`'))
        {
            let ctx = if alias {
                "while scanning an alias"
            } else {
                "while scanning an anchor"
            };
            return Err(self.err(
                ctx,
                start,
                "did not find expected alphabetic or numeric character",
            ));
        }
        let kind = if alias {
            TokenKind::Alias(s)
        } else {
            TokenKind::Anchor(s)
        };
        Ok(Token { kind, start, end })
    }

    fn scan_tag(&mut self) -> R<Token<'a>> {
        let start = self.mark;
        let handle;
        let suffix;
        if self.ch(1) == b'<' {
            self.skip();
            self.skip();
            suffix = self.scan_tag_uri(false, None, start)?;
            if self.ch(0) != b'>' {
                return Err(self.err(
                    "while scanning a tag",
                    start,
                    "did not find the expected '>'",
                ));
            }
            self.skip();
            handle = String::new();
        } else {
            let h = self.scan_tag_handle(false, start)?;
            if h.len() > 1 && h.starts_with('!') && h.ends_with('!') {
                handle = h;
                suffix = self.scan_tag_uri(false, None, start)?;
            } else {
                let s = self.scan_tag_uri(false, Some(&h), start)?;
                if s.is_empty() {
                    handle = String::new();
                    suffix = "!".to_string();
                } else {
                    handle = "!".to_string();
                    suffix = s;
                }
            }
        }
        if !self.is_blankz(0) {
            return Err(self.err(
                "while scanning a tag",
                start,
                "did not find expected whitespace or line break",
            ));
        }
        let end = self.mark;
        Ok(Token {
            kind: TokenKind::Tag(handle, suffix),
            start,
            end,
        })
    }

    fn tag_ctx(directive: bool) -> &'static str {
        if directive {
            "while parsing a %TAG directive"
        } else {
            "while parsing a tag"
        }
    }

    fn scan_tag_handle(&mut self, directive: bool, start: Mark) -> R<String> {
        if self.ch(0) != b'!' {
            return Err(self.err(Self::tag_ctx(directive), start, "did not find expected '!'"));
        }
        let mut s = Vec::new();
        self.read(&mut s);
        while self.is_alpha(0) {
            self.read(&mut s);
        }
        if self.ch(0) == b'!' {
            self.read(&mut s);
        } else if directive && s != b"!" {
            return Err(self.err(Self::tag_ctx(directive), start, "did not find expected '!'"));
        }
        Ok(String::from_utf8(s).unwrap_or_default())
    }

    fn scan_tag_uri(&mut self, directive: bool, head: Option<&str>, start: Mark) -> R<String> {
        let mut s = Vec::new();
        let mut has_tag = head.is_some_and(|h| !h.is_empty());
        if let Some(h) = head
            && h.len() > 1
        {
            s.extend_from_slice(&h.as_bytes()[1..]);
        }
        loop {
            let c = self.ch(0);
            if !(self.is_alpha(0)
                || matches!(
                    c,
                    b';' | b'/'
                        | b'?'
                        | b':'
                        | b'@'
                        | b'&'
                        | b'='
                        | b'+'
                        | b'$'
                        | b','
                        | b'.'
                        | b'!'
                        | b'~'
                        | b'*'
                        | b'\''
                        | b'('
                        | b')'
                        | b'['
                        | b']'
                        | b'%'
                ))
            {
                break;
            }
            if c == b'%' {
                self.scan_uri_escapes(directive, start, &mut s)?;
            } else {
                self.read(&mut s);
            }
            has_tag = true;
        }
        if !has_tag {
            return Err(self.err(
                Self::tag_ctx(directive),
                start,
                "did not find expected tag URI",
            ));
        }
        Ok(String::from_utf8_lossy(&s).into_owned())
    }

    fn scan_uri_escapes(&mut self, directive: bool, start: Mark, s: &mut Vec<u8>) -> R<()> {
        let mut w = 1024;
        while w > 0 {
            if !(self.ch(0) == b'%' && self.is_hex(1) && self.is_hex(2)) {
                return Err(self.err(
                    Self::tag_ctx(directive),
                    start,
                    "did not find URI escaped octet",
                ));
            }
            let octet = ((self.as_hex(1) << 4) + self.as_hex(2)) as u8;
            if w == 1024 {
                w = width(octet);
                if w == 0 {
                    return Err(self.err(
                        Self::tag_ctx(directive),
                        start,
                        "found an incorrect leading UTF-8 octet",
                    ));
                }
            } else if octet & 0xC0 != 0x80 {
                return Err(self.err(
                    Self::tag_ctx(directive),
                    start,
                    "found an incorrect trailing UTF-8 octet",
                ));
            }
            s.push(octet);
            self.skip();
            self.skip();
            self.skip();
            w -= 1;
        }
        Ok(())
    }

    fn scan_block_scalar(&mut self, literal: bool) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        let mut chomping = 0i32;
        let mut increment = 0usize;
        if self.ch(0) == b'+' || self.ch(0) == b'-' {
            chomping = if self.ch(0) == b'+' { 1 } else { -1 };
            self.skip();
            if self.ch(0).is_ascii_digit() {
                if self.ch(0) == b'0' {
                    return Err(self.err(
                        "while scanning a block scalar",
                        start,
                        "found an indentation indicator equal to 0",
                    ));
                }
                increment = (self.ch(0) - b'0') as usize;
                self.skip();
            }
        } else if self.ch(0).is_ascii_digit() {
            if self.ch(0) == b'0' {
                return Err(self.err(
                    "while scanning a block scalar",
                    start,
                    "found an indentation indicator equal to 0",
                ));
            }
            increment = (self.ch(0) - b'0') as usize;
            self.skip();
            if self.ch(0) == b'+' || self.ch(0) == b'-' {
                chomping = if self.ch(0) == b'+' { 1 } else { -1 };
                self.skip();
            }
        }
        while self.is_blank(0) {
            self.skip();
        }
        if self.ch(0) == b'#' {
            self.skip_to_break();
        }
        if !self.is_breakz(0) {
            return Err(self.err(
                "while scanning a block scalar",
                start,
                "did not find expected comment or line break",
            ));
        }
        if self.is_break(0) {
            self.skip_line();
        }
        let mut end = self.mark;
        let mut indent: usize = 0;
        if increment > 0 {
            indent = if self.indent >= 0 {
                self.indent as usize + increment
            } else {
                increment
            };
        }
        let mut s = Vec::new();
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        self.scan_block_scalar_breaks(&mut indent, &mut trailing_breaks, start, &mut end)?;
        self.check_reader()?;
        let mut leading_blank = false;
        while self.mark.column == indent && !self.is_z(0) {
            let trailing_blank = self.is_blank(0);
            if !literal
                && !leading_blank
                && !trailing_blank
                && leading_break.first() == Some(&b'\n')
            {
                if trailing_breaks.is_empty() {
                    s.push(b' ');
                }
            } else {
                s.extend_from_slice(&leading_break);
            }
            leading_break.clear();
            s.extend_from_slice(&trailing_breaks);
            trailing_breaks.clear();
            leading_blank = self.is_blank(0);
            let (p, chars) = self.line_end_from(self.pos);
            s.extend_from_slice(&self.buf[self.pos..p]);
            self.advance_to(p, chars);
            self.check_reader()?;
            self.read_line(&mut leading_break);
            self.scan_block_scalar_breaks(&mut indent, &mut trailing_breaks, start, &mut end)?;
            self.check_reader()?;
        }
        if chomping != -1 {
            s.extend_from_slice(&leading_break);
        }
        if chomping == 1 {
            s.extend_from_slice(&trailing_breaks);
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        Ok(Token {
            kind: TokenKind::Scalar(Cow::Owned(into_string(s)), style),
            start,
            end,
        })
    }

    fn scan_block_scalar_breaks(
        &mut self,
        indent: &mut usize,
        breaks: &mut Vec<u8>,
        start: Mark,
        end: &mut Mark,
    ) -> R<()> {
        *end = self.mark;
        let mut max_indent = 0;
        loop {
            self.skip_spaces(if *indent == 0 { None } else { Some(*indent) });
            if self.mark.column > max_indent {
                max_indent = self.mark.column;
            }
            if (*indent == 0 || self.mark.column < *indent) && self.ch(0) == b'\t' {
                return Err(self.err(
                    "while scanning a block scalar",
                    start,
                    "found a tab character where an indentation space is expected",
                ));
            }
            if !self.is_break(0) {
                break;
            }
            self.read_line(breaks);
            *end = self.mark;
        }
        if *indent == 0 {
            *indent = max_indent;
            if (*indent as isize) < self.indent + 1 {
                *indent = (self.indent + 1) as usize;
            }
            if *indent < 1 {
                *indent = 1;
            }
        }
        Ok(())
    }

    fn is_document_indicator(&self) -> bool {
        self.mark.column == 0
            && ((self.ch(0) == b'-' && self.ch(1) == b'-' && self.ch(2) == b'-')
                || (self.ch(0) == b'.' && self.ch(1) == b'.' && self.ch(2) == b'.'))
            && self.is_blankz(3)
    }

    /// The end of a run of quoted-scalar characters from `p` that are copied as they are
    /// (no blank, break, quote or, in double quotes, backslash), and its length in characters.
    #[inline]
    fn quoted_run(&self, mut p: usize, single: bool) -> (usize, usize) {
        let b = self.buf;
        let mut chars = 0;
        while p < b.len() {
            let c = b[p];
            if c < 0x80 {
                if c <= b' ' || c == b'\'' || (!single && (c == b'"' || c == b'\\')) {
                    break;
                }
                p += 1;
            } else {
                if self.breakz_at(p) {
                    break;
                }
                p += width(c).max(1);
            }
            chars += 1;
        }
        (p, chars)
    }

    /// The end of a run of plain-scalar characters from `p` (up to a blank, a break, `: ` or,
    /// in flow context, a flow indicator), and its length in characters.
    #[inline]
    fn plain_run(&self, mut p: usize, flow: bool) -> (usize, usize) {
        let b = self.buf;
        let mut chars = 0;
        while p < b.len() {
            let c = b[p];
            if c < 0x80 {
                if c <= b' ' {
                    break;
                }
                if c == b':' {
                    if self.blankz_at(p + 1) {
                        break;
                    }
                } else if flow && matches!(c, b',' | b'?' | b'[' | b']' | b'{' | b'}') {
                    break;
                }
                p += 1;
            } else {
                if self.breakz_at(p) {
                    break;
                }
                p += width(c).max(1);
            }
            chars += 1;
        }
        (p, chars)
    }

    fn scan_flow_scalar(&mut self, single: bool) -> R<Token<'a>> {
        let start = self.mark;
        self.skip();
        let content_start = self.pos;
        // The text, once it is no longer the input slice `content_start..pos`.
        let mut owned: Option<Vec<u8>> = None;
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        loop {
            self.check_reader()?;
            if self.is_document_indicator() {
                return Err(self.err(
                    "while scanning a quoted scalar",
                    start,
                    "found unexpected document indicator",
                ));
            }
            if self.is_z(0) {
                return Err(self.err(
                    "while scanning a quoted scalar",
                    start,
                    "found unexpected end of stream",
                ));
            }
            let mut leading_blanks = false;
            while !self.is_blankz(0) {
                let (p, chars) = self.quoted_run(self.pos, single);
                if p > self.pos {
                    if let Some(o) = owned.as_mut() {
                        o.extend_from_slice(&self.buf[self.pos..p]);
                    }
                    self.advance_to(p, chars);
                    continue;
                }
                let c = self.ch(0);
                if single && c == b'\'' && self.ch(1) == b'\'' {
                    own(&mut owned, self.buf, content_start, self.pos).push(b'\'');
                    self.skip();
                    self.skip();
                } else if (single && c == b'\'') || (!single && c == b'"') {
                    break;
                } else if !single && c == b'\\' && self.is_break(1) {
                    own(&mut owned, self.buf, content_start, self.pos);
                    self.skip();
                    self.skip_line();
                    leading_blanks = true;
                    break;
                } else if !single && c == b'\\' {
                    let s = own(&mut owned, self.buf, content_start, self.pos);
                    let mut code_length = 0;
                    match self.ch(1) {
                        b'0' => s.push(0),
                        b'a' => s.push(0x07),
                        b'b' => s.push(0x08),
                        b't' | b'\t' => s.push(0x09),
                        b'n' => s.push(0x0A),
                        b'v' => s.push(0x0B),
                        b'f' => s.push(0x0C),
                        b'r' => s.push(0x0D),
                        b'e' => s.push(0x1B),
                        b' ' => s.push(0x20),
                        b'"' => s.push(b'"'),
                        b'\'' => s.push(b'\''),
                        b'\\' => s.push(b'\\'),
                        b'N' => s.extend_from_slice(&[0xC2, 0x85]),
                        b'_' => s.extend_from_slice(&[0xC2, 0xA0]),
                        b'L' => s.extend_from_slice(&[0xE2, 0x80, 0xA8]),
                        b'P' => s.extend_from_slice(&[0xE2, 0x80, 0xA9]),
                        b'x' => code_length = 2,
                        b'u' => code_length = 4,
                        b'U' => code_length = 8,
                        _ => {
                            return Err(self.err(
                                "while parsing a quoted scalar",
                                start,
                                "found unknown escape character",
                            ));
                        }
                    }
                    self.skip();
                    self.skip();
                    if code_length > 0 {
                        let mut value: u32 = 0;
                        for k in 0..code_length {
                            if !self.is_hex(k) {
                                return Err(self.err(
                                    "while parsing a quoted scalar",
                                    start,
                                    "did not find expected hexdecimal number",
                                ));
                            }
                            value = (value << 4) + self.as_hex(k);
                        }
                        match char::from_u32(value) {
                            Some(ch) => {
                                let mut b = [0u8; 4];
                                if let Some(o) = owned.as_mut() {
                                    o.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                                }
                            }
                            None => {
                                return Err(self.err(
                                    "while parsing a quoted scalar",
                                    start,
                                    "found invalid Unicode character escape code",
                                ));
                            }
                        }
                        for _ in 0..code_length {
                            self.skip();
                        }
                    }
                } else {
                    let from = self.pos;
                    self.skip();
                    if let Some(o) = owned.as_mut() {
                        o.extend_from_slice(&self.buf[from..self.pos]);
                    }
                }
            }
            self.check_reader()?;
            let c = self.ch(0);
            if (single && c == b'\'') || (!single && c == b'"') {
                break;
            }
            let ws_start = self.pos;
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    self.skip();
                } else if !leading_blanks {
                    own(&mut owned, self.buf, content_start, ws_start);
                    self.read_line(&mut leading_break);
                    leading_blanks = true;
                } else {
                    self.read_line(&mut trailing_breaks);
                }
            }
            if leading_blanks {
                let s = own(&mut owned, self.buf, content_start, ws_start);
                fold_breaks(s, &leading_break, &trailing_breaks);
                trailing_breaks.clear();
                leading_break.clear();
            } else if let Some(o) = owned.as_mut() {
                o.extend_from_slice(&self.buf[ws_start..self.pos]);
            }
        }
        let text = match owned {
            None => Cow::Borrowed(&self.src[content_start..self.pos]),
            Some(v) => Cow::Owned(into_string(v)),
        };
        self.skip();
        let end = self.mark;
        let style = if single {
            ScalarStyle::SingleQuoted
        } else {
            ScalarStyle::DoubleQuoted
        };
        Ok(Token {
            kind: TokenKind::Scalar(text, style),
            start,
            end,
        })
    }

    fn scan_plain_scalar(&mut self) -> R<Token<'a>> {
        let text_start = self.pos;
        let mut text_end = self.pos;
        // The text, once it is no longer the input slice `text_start..text_end`.
        let mut owned: Option<Vec<u8>> = None;
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        // Blanks after the text on the same line (an input range), kept if text follows.
        let mut whitespaces = (0usize, 0usize);
        let mut leading_blanks = false;
        let indent = self.indent + 1;
        let start = self.mark;
        let mut end = self.mark;
        let flow = self.flow_level > 0;
        loop {
            self.check_reader()?;
            if self.is_document_indicator() {
                break;
            }
            if self.ch(0) == b'#' {
                break;
            }
            let (p, chars) = self.plain_run(self.pos, flow);
            if p > self.pos {
                if leading_blanks {
                    let s = own(&mut owned, self.buf, text_start, text_end);
                    fold_breaks(s, &leading_break, &trailing_breaks);
                    trailing_breaks.clear();
                    leading_break.clear();
                    leading_blanks = false;
                } else if whitespaces.1 > whitespaces.0
                    && let Some(o) = owned.as_mut()
                {
                    o.extend_from_slice(&self.buf[whitespaces.0..whitespaces.1]);
                }
                whitespaces = (0, 0);
                if let Some(o) = owned.as_mut() {
                    o.extend_from_slice(&self.buf[self.pos..p]);
                }
                self.advance_to(p, chars);
                text_end = p;
                end = self.mark;
            }
            if !(self.is_blank(0) || self.is_break(0)) {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    if leading_blanks {
                        if (self.mark.column as isize) < indent && self.ch(0) == b'\t' {
                            return Err(self.err(
                                "while scanning a plain scalar",
                                start,
                                "found a tab character that violates indentation",
                            ));
                        }
                        if self.ch(0) == b' ' {
                            self.skip_spaces(None);
                        } else {
                            self.skip();
                        }
                    } else {
                        if whitespaces.1 == whitespaces.0 {
                            whitespaces.0 = self.pos;
                        }
                        self.skip();
                        whitespaces.1 = self.pos;
                    }
                } else if !leading_blanks {
                    whitespaces = (0, 0);
                    self.read_line(&mut leading_break);
                    leading_blanks = true;
                } else {
                    self.read_line(&mut trailing_breaks);
                }
            }
            if self.flow_level == 0 && (self.mark.column as isize) < indent {
                break;
            }
        }
        if leading_blanks {
            self.simple_key_allowed = true;
        }
        let text = match owned {
            None => Cow::Borrowed(&self.src[text_start..text_end]),
            Some(v) => Cow::Owned(into_string(v)),
        };
        Ok(Token {
            kind: TokenKind::Scalar(text, ScalarStyle::Plain),
            start,
            end,
        })
    }
}

/// The owned text of a scalar that was the input slice `from..to` so far.
#[inline]
fn own<'v>(owned: &'v mut Option<Vec<u8>>, buf: &[u8], from: usize, to: usize) -> &'v mut Vec<u8> {
    owned.get_or_insert_with(|| {
        let mut v = Vec::with_capacity((to - from) * 2 + 16);
        v.extend_from_slice(&buf[from..to]);
        v
    })
}

/// libyaml's line folding between two pieces of a flow or plain scalar.
#[inline]
fn fold_breaks(s: &mut Vec<u8>, leading_break: &[u8], trailing_breaks: &[u8]) {
    if leading_break.first() == Some(&b'\n') {
        if trailing_breaks.is_empty() {
            s.push(b' ');
        } else {
            s.extend_from_slice(trailing_breaks);
        }
    } else {
        s.extend_from_slice(leading_break);
        s.extend_from_slice(trailing_breaks);
    }
}

fn into_string(s: Vec<u8>) -> String {
    match String::from_utf8(s) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Hashing for token numbers (small, distinct integers): a multiplicative hash instead of
/// SipHash, which showed up in profiles of large documents.
#[derive(Default, Clone, Copy)]
struct TokenHasher(u64);

impl std::hash::Hasher for TokenHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type TokenHash = std::hash::BuildHasherDefault<TokenHasher>;

/// YAML's indicator characters: they cannot start a plain scalar (or start something else).
pub(crate) fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}
