//! A fast path to the document tree for the shape nearly every values file and rendered
//! manifest has: block mappings and sequences, plain scalars (folded over lines), quoted
//! scalars (folded, with escapes), literal and folded block scalars, comments, one-line flow
//! sequences of scalars and empty flow mappings (also on a line of their own below their key,
//! as `toYaml … | nindent` writes an empty map, or as the whole document, as in
//! `fromYaml "{}"`), an optional leading `---`; line breaks `\n`, no tabs.
//!
//! It reads the text in one pass, straight into the [`Doc`] the scanner/parser/tree builder
//! would produce, borrowing scalars from the input. It gives up (returns `None`) on anything
//! else — anchors, aliases, tags, other flow collections, escaped line breaks, directives,
//! further document markers, unusual indentation and every construct that is an error — and
//! the caller then runs the full libyaml port, which alone decides errors. So results are the
//! same (checked by the tests below against the full parser), and only documents it accepts
//! take this path.

use std::borrow::Cow;

use crate::decode::{Doc, KeyFilter, Kids, Node, NodeKind, Scalar, resolve};
use crate::scanner::is_indicator;

/// The id of a node not built (inside a skimmed root entry).
const SKIPPED: usize = usize::MAX;

/// Deeper than this, leave it to the full parser (which reports its depth limit).
const MAX_DEPTH: usize = 200;

/// A simple key longer than 1024 characters is not a key for libyaml; stay well below.
const MAX_KEY: usize = 1000;

/// What follows a node: the end of the input or content at a column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    Eof,
    At(usize),
}

/// How a line of plain text ends (positions are byte offsets).
enum Stop {
    /// `:` followed by a blank or the end of the line: the text is a mapping key.
    Colon(usize),
    /// ` #`: a comment starts at the position.
    Comment(usize),
    /// The line break (or the end of the input) at the position.
    Eol(usize),
}

/// The tree of `src`, or `None` where the full parser must decide.
pub(crate) fn parse(src: &str) -> Option<Doc<'_>> {
    if !eligible(src.as_bytes()) {
        return None;
    }
    run(src, None)
}

/// Like [`parse`], for a decoder that builds only the root mapping's entries whose keys pass
/// `keep` (see `Decoder::root_filtered`): the values of the other root entries are checked
/// as the full parse checks them, but not built; each stands as an empty quoted scalar. A
/// skipped value holding something that decoding could reject or would have to report
/// (a merge key, a null or out-of-range integer key, a NaN or infinity) is built after all:
/// then the whole document is.
pub(crate) fn parse_filtered(src: &str, keep: KeyFilter) -> Option<Doc<'_>> {
    if !eligible(src.as_bytes()) {
        return None;
    }
    let mut f = Fast::new(src, Some(keep));
    let doc = f.document();
    if !f.bailed {
        return doc;
    }
    Fast::new(src, None).document()
}

fn run(src: &str, keep: Option<KeyFilter>) -> Option<Doc<'_>> {
    Fast::new(src, keep).document()
}

impl<'a> Fast<'a> {
    fn new(src: &'a str, keep: Option<KeyFilter>) -> Self {
        Fast {
            src,
            b: src.as_bytes(),
            pos: 0,
            line_start: 0,
            depth: 0,
            // A node for every ~16 bytes of typical manifests and values files.
            nodes: Vec::with_capacity(if keep.is_some() {
                64
            } else {
                src.len() / 16 + 4
            }),
            kids: Vec::with_capacity(if keep.is_some() {
                64
            } else {
                src.len() / 16 + 4
            }),
            stack: Vec::with_capacity(64),
            keep,
            skim: false,
            bailed: false,
        }
    }

    fn document(&mut self) -> Option<Doc<'a>> {
        let f = self;
        // An explicit document start on its own line may come first.
        f.skip_blank_lines();
        let mut explicit = false;
        if f.b[f.pos..].starts_with(b"---") && f.col() == 0 && f.blankz(f.pos + 3) {
            f.pos += 3;
            f.end_of_line()?;
            explicit = true;
        }
        let root = match f.next_content()? {
            // An explicit document with no content holds an empty scalar.
            Next::Eof if explicit => Some(f.scalar(Cow::Borrowed(""), true)),
            Next::Eof => None,
            Next::At(col) => {
                let (root, next) = if matches!(f.b[f.pos], b'{' | b'[') {
                    // A flow collection as the whole document (`fromYaml "{}"`).
                    f.inline_value(col)?
                } else {
                    f.block_collection(col)?
                };
                if next != Next::Eof {
                    return None;
                }
                Some(root)
            }
        };
        if f.bailed {
            return None;
        }
        Some(Doc {
            nodes: std::mem::take(&mut f.nodes),
            kids: std::mem::take(&mut f.kids),
            root,
            plain: true,
        })
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Eight bytes from `b[p..]` as a little-endian word (`p + 8 <= b.len()`).
#[inline]
fn word(b: &[u8], p: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[p..p + 8]);
    u64::from_le_bytes(w)
}

/// A mask whose lowest set bit marks the first byte of `w` equal to `c` (0 if none).
#[inline]
fn eq_mask(w: u64, c: u8) -> u64 {
    let v = w ^ (LO * c as u64);
    v.wrapping_sub(LO) & !v & HI
}

/// The index of the first byte marked in a mask built by [`eq_mask`].
#[inline]
fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Whether all eight bytes of `w` are printable ASCII (0x20..=0x7E) or `\n`.
#[inline]
fn all_printable(w: u64) -> bool {
    // Exactly the `\n` bytes (0x80 in each), turned into `*` before the range checks.
    let t = w ^ (LO * b'\n' as u64);
    let newlines = !(((t & !HI).wrapping_add(!HI)) | t) & HI;
    let w = w | (newlines >> 2);
    let below = w.wrapping_sub(LO * 0x20) & !w & HI;
    let above = (w.wrapping_add(LO) | w) & HI;
    below | above == 0
}

/// Whether every character is one the fast path knows: printable, `\n`, non-ASCII other
/// than C1 controls, NEL, the Unicode line and paragraph separators and U+FFFE/F; no byte
/// order mark at the start.
fn eligible(b: &[u8]) -> bool {
    if b.starts_with(b"\xEF\xBB\xBF") {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        // Runs of printable ASCII and line breaks, 64 bytes at a time (a loop the compiler
        // turns into vector compares, with one test per block).
        while let Some(chunk) = b.get(i..i + 64)
            && chunk.iter().fold(0u8, |bad, &c| {
                bad | u8::from((c.wrapping_sub(0x20) >= 0x5F) & (c != b'\n'))
            }) == 0
        {
            i += 64;
        }
        if i == b.len() {
            break;
        }
        if i + 8 <= b.len() && all_printable(word(b, i)) {
            i += 8;
            continue;
        }
        let c = b[i];
        if c < 0x80 {
            if !(0x20..0x7F).contains(&c) && c != b'\n' {
                return false;
            }
            i += 1;
            continue;
        }
        // `b` is valid UTF-8: continuation bytes are there.
        match c {
            0xC2 if b[i + 1] < 0xA0 => return false,
            0xE2 if b[i + 1] == 0x80 && matches!(b[i + 2], 0xA8 | 0xA9) => return false,
            0xEF if b[i + 1] == 0xBF && matches!(b[i + 2], 0xBE | 0xBF) => return false,
            _ => {}
        }
        i += 1;
    }
    true
}

struct Fast<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Where the current line starts; columns are byte counts from it, which is right for
    /// every column the fast path uses (they only follow spaces and `- `).
    line_start: usize,
    depth: usize,
    nodes: Vec<Node<'a>>,
    kids: Vec<usize>,
    /// Children of the collections being built.
    stack: Vec<usize>,
    /// Which root entries to build (the others are skimmed), if not all.
    keep: Option<KeyFilter>,
    /// Inside a skimmed root entry: nodes are checked, not built.
    skim: bool,
    /// A skimmed value needs building (see [`parse_filtered`]).
    bailed: bool,
}

impl<'a> Fast<'a> {
    #[inline]
    fn at(&self, p: usize) -> u8 {
        self.b.get(p).copied().unwrap_or(0)
    }

    #[inline]
    fn blankz(&self, p: usize) -> bool {
        matches!(self.at(p), b' ' | b'\n' | 0)
    }

    #[inline]
    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    #[inline]
    fn seq_entry_here(&self) -> bool {
        self.at(self.pos) == b'-' && self.blankz(self.pos + 1)
    }

    /// The next line break from `p` (or the end of the input).
    fn line_end(&self, p: usize) -> usize {
        let b = self.b;
        memchr::memchr(b'\n', &b[p..]).map_or(b.len(), |i| p + i)
    }

    /// The first byte from `p` that is not a space.
    #[inline]
    fn spaces_end(&self, mut p: usize) -> usize {
        let b = self.b;
        while p + 8 <= b.len() {
            let x = word(b, p) ^ (LO * b' ' as u64);
            if x != 0 {
                return p + (x.trailing_zeros() / 8) as usize;
            }
            p += 8;
        }
        while p < b.len() && b[p] == b' ' {
            p += 1;
        }
        p
    }

    /// The first byte from `p` that is a space, `:` or line break (or the end).
    #[inline]
    fn plain_stop(&self, mut p: usize) -> usize {
        let b = self.b;
        while p + 8 <= b.len() {
            let w = word(b, p);
            let m = eq_mask(w, b' ') | eq_mask(w, b':') | eq_mask(w, b'\n');
            if m != 0 {
                return p + first(m);
            }
            p += 8;
        }
        while p < b.len() && !matches!(b[p], b' ' | b':' | b'\n') {
            p += 1;
        }
        p
    }

    /// Skips blank and comment lines at the start.
    fn skip_blank_lines(&mut self) {
        loop {
            let mut p = self.pos;
            while self.at(p) == b' ' {
                p += 1;
            }
            match self.at(p) {
                b'#' => {
                    let e = self.line_end(p);
                    if e >= self.b.len() {
                        self.pos = e;
                        return;
                    }
                    self.pos = e + 1;
                    self.line_start = self.pos;
                }
                b'\n' => {
                    self.pos = p + 1;
                    self.line_start = self.pos;
                }
                _ => return,
            }
        }
    }

    /// Skips blanks, comments and line breaks to the next content.
    fn next_content(&mut self) -> Option<Next> {
        loop {
            self.pos = self.spaces_end(self.pos);
            match self.b.get(self.pos) {
                None => return Some(Next::Eof),
                Some(b'\n') => {
                    self.pos += 1;
                    self.line_start = self.pos;
                }
                Some(b'#') => {
                    // A comment: on to the next line at once.
                    let e = self.line_end(self.pos);
                    if e >= self.b.len() {
                        self.pos = e;
                        return Some(Next::Eof);
                    }
                    self.pos = e + 1;
                    self.line_start = self.pos;
                }
                Some(&c) => return self.content_here(c),
            }
        }
    }

    /// [`Fast::next_content`] once it found content `c` here: its column, or `None` for what
    /// the full parser must read (a directive or document marker).
    #[inline]
    fn content_here(&self, c: u8) -> Option<Next> {
        let col = self.col();
        if col == 0
            && (c == b'%'
                || ((self.b[self.pos..].starts_with(b"---")
                    || self.b[self.pos..].starts_with(b"..."))
                    && self.blankz(self.pos + 3)))
        {
            return None;
        }
        Some(Next::At(col))
    }

    /// After a complete value: only blanks and a comment may end the line.
    fn end_of_line(&mut self) -> Option<()> {
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        match self.at(self.pos) {
            b'#' => {
                self.pos = self.line_end(self.pos);
                Some(())
            }
            b'\n' | 0 => Some(()),
            _ => None,
        }
    }

    /// Plain text on the current line from `p`: where its content ends (trailing blanks
    /// excluded) and how the line goes on.
    fn plain_line(&self, p: usize) -> (usize, Stop) {
        let b = self.b;
        let mut q = p;
        let mut end = p;
        loop {
            match b.get(q) {
                None | Some(b'\n') => return (end, Stop::Eol(q)),
                Some(b' ') => {
                    q = self.spaces_end(q);
                    if self.at(q) == b'#' {
                        return (end, Stop::Comment(q));
                    }
                }
                Some(b':') if self.blankz(q + 1) => return (end, Stop::Colon(q)),
                Some(b':') => {
                    q += 1;
                    end = q;
                }
                Some(_) => {
                    q = self.plain_stop(q + 1);
                    end = q;
                }
            }
        }
    }

    /// A quoted scalar starting at `p`: the position after its closing quote, its text, and
    /// where the line it ends on starts.
    fn quoted(&self, p: usize) -> Option<(usize, Cow<'a, str>, usize)> {
        let double = self.b[p] == b'"';
        let mut q = p + 1;
        // The text is `owned` (if any) followed by the input from `seg` to `q`.
        let mut seg = q;
        let mut owned: Option<String> = None;
        let mut line_start = self.line_start;
        loop {
            match self.at(q) {
                0 => return None,
                b'\'' if !double => {
                    if self.at(q + 1) == b'\'' {
                        owned
                            .get_or_insert_with(String::new)
                            .push_str(&self.src[seg..q + 1]);
                        q += 2;
                        seg = q;
                        continue;
                    }
                    break;
                }
                b'"' if double => break,
                b'\\' if double => {
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.src[seg..q]);
                    let (ch, len) = match self.at(q + 1) {
                        b'0' => ('\0', 2),
                        b'a' => ('\u{7}', 2),
                        b'b' => ('\u{8}', 2),
                        b't' => ('\t', 2),
                        b'n' => ('\n', 2),
                        b'v' => ('\u{b}', 2),
                        b'f' => ('\u{c}', 2),
                        b'r' => ('\r', 2),
                        b'e' => ('\u{1b}', 2),
                        b' ' => (' ', 2),
                        b'"' => ('"', 2),
                        b'\'' => ('\'', 2),
                        b'\\' => ('\\', 2),
                        b'N' => ('\u{85}', 2),
                        b'_' => ('\u{a0}', 2),
                        b'L' => ('\u{2028}', 2),
                        b'P' => ('\u{2029}', 2),
                        e @ (b'x' | b'u' | b'U') => {
                            let n = match e {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = self.b.get(q + 2..q + 2 + n)?;
                            let hex = std::str::from_utf8(hex).ok()?;
                            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                                return None;
                            }
                            (char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 2 + n)
                        }
                        _ => return None,
                    };
                    o.push(ch);
                    q += len;
                    seg = q;
                }
                b' ' | b'\n' => {
                    let ws = q;
                    while self.at(q) == b' ' {
                        q += 1;
                    }
                    if self.at(q) != b'\n' {
                        continue;
                    }
                    // Line folding: blanks around the breaks go, one break is a space,
                    // each further one a line break.
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.src[seg..ws]);
                    let mut breaks = 0;
                    while self.at(q) == b'\n' {
                        breaks += 1;
                        q += 1;
                        line_start = q;
                        while self.at(q) == b' ' {
                            q += 1;
                        }
                    }
                    if q >= self.b.len()
                        || (q == line_start
                            && (self.b[q..].starts_with(b"---") || self.b[q..].starts_with(b"..."))
                            && self.blankz(q + 3))
                    {
                        return None;
                    }
                    if breaks == 1 {
                        o.push(' ');
                    } else {
                        for _ in 1..breaks {
                            o.push('\n');
                        }
                    }
                    seg = q;
                }
                _ => q += 1,
            }
        }
        let text = match owned {
            None => Cow::Borrowed(&self.src[seg..q]),
            Some(mut o) => {
                o.push_str(&self.src[seg..q]);
                Cow::Owned(o)
            }
        };
        Some((q + 1, text, line_start))
    }

    /// A flow sequence of scalars on one line, here at its `[`.
    fn flow_sequence(&mut self) -> Option<usize> {
        let (id, base) = self.open(NodeKind::Seq(Kids { start: 0, len: 0 }))?;
        self.pos += 1;
        self.skip_spaces();
        if self.at(self.pos) != b']' {
            loop {
                let p = self.pos;
                let item = match self.at(p) {
                    b'\'' | b'"' => {
                        let (q, text, line_start) = self.quoted(p)?;
                        if line_start != self.line_start {
                            return None;
                        }
                        self.pos = q;
                        self.scalar(text, false)
                    }
                    b'-' if !self.blankz(p + 1) => self.flow_plain()?,
                    c if is_indicator(c) => return None,
                    _ => self.flow_plain()?,
                };
                self.stack.push(item);
                self.skip_spaces();
                match self.at(self.pos) {
                    b',' => {
                        self.pos += 1;
                        self.skip_spaces();
                        if self.at(self.pos) == b']' {
                            break;
                        }
                    }
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.pos += 1;
        let kids = self.close(base);
        self.set_kind(id, NodeKind::Seq(kids));
        Some(id)
    }

    /// A plain scalar inside a one-line flow sequence, here.
    fn flow_plain(&mut self) -> Option<usize> {
        let p = self.pos;
        let mut q = p;
        let mut end = p;
        loop {
            match self.at(q) {
                0 | b'\n' => return None,
                b' ' => {
                    while self.at(q) == b' ' {
                        q += 1;
                    }
                    if self.at(q) == b'#' {
                        return None;
                    }
                }
                b',' | b'[' | b']' | b'{' | b'}' | b'?' => break,
                b':' if self.blankz(q + 1) => return None,
                _ => {
                    q += 1;
                    end = q;
                }
            }
        }
        self.pos = q;
        Some(self.scalar(Cow::Borrowed(&self.src[p..end]), true))
    }

    #[inline]
    fn skip_spaces(&mut self) {
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
    }

    fn scalar(&mut self, value: Cow<'a, str>, implicit: bool) -> usize {
        if self.skim {
            // What decoding an untagged scalar can report: a NaN or an infinity (those
            // start with `.`, `+` or `-`).
            if implicit
                && matches!(value.as_bytes().first(), Some(b'.' | b'+' | b'-'))
                && match resolve("", &value) {
                    Ok((_, Scalar::Float(f))) => !f.is_finite(),
                    Ok(_) => false,
                    Err(_) => true,
                }
            {
                self.bailed = true;
            }
            return SKIPPED;
        }
        self.nodes.push(Node {
            kind: NodeKind::Scalar {
                value,
                tag: String::new(),
                implicit,
            },
        });
        self.nodes.len() - 1
    }

    fn open(&mut self, kind: NodeKind<'a>) -> Option<(usize, usize)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.skim {
            return Some((SKIPPED, self.stack.len()));
        }
        self.nodes.push(Node { kind });
        Some((self.nodes.len() - 1, self.stack.len()))
    }

    /// Sets the kind of a collection node built by [`Fast::open`].
    #[inline]
    fn set_kind(&mut self, id: usize, kind: NodeKind<'a>) {
        if id != SKIPPED {
            self.nodes[id].kind = kind;
        }
    }

    /// A mapping key: in a skimmed value, what decoding would reject or treat specially
    /// (a merge key, a key that is not a string, number or bool) is noted.
    fn key_scalar(&mut self, value: Cow<'a, str>, implicit: bool) -> usize {
        // Only these first bytes can start a merge key, a null or an integer.
        let special = |v: &str| {
            v.as_bytes().first().is_none_or(|c| {
                matches!(
                    c,
                    b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b'<'
                )
            })
        };
        if self.skim
            && implicit
            && special(&value)
            && (value == "<<"
                || !matches!(
                    resolve("", &value),
                    Ok((
                        _,
                        Scalar::Str(_) | Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_)
                    ))
                ))
        {
            self.bailed = true;
        }
        self.scalar(value, implicit)
    }

    /// Whether the value of the root entry with key node `k` is skimmed: the key is a string
    /// (for the decoder too) that `keep` rejects.
    fn skims(&self, k: usize) -> bool {
        let Some(keep) = self.keep else { return false };
        if self.skim || self.depth != 1 {
            return false;
        }
        match &self.nodes[k].kind {
            NodeKind::Scalar {
                value, implicit, ..
            } => {
                let is_str = !*implicit
                    || (value != "<<" && matches!(resolve("", value), Ok((_, Scalar::Str(_)))));
                is_str && !keep(value)
            }
            _ => false,
        }
    }

    fn close(&mut self, base: usize) -> Kids {
        self.depth -= 1;
        if self.skim {
            self.stack.truncate(base);
            return Kids { start: 0, len: 0 };
        }
        let start = self.kids.len();
        self.kids.extend_from_slice(&self.stack[base..]);
        self.stack.truncate(base);
        Kids {
            start,
            len: self.kids.len() - start,
        }
    }

    /// A block mapping or sequence whose first content is here, at column `col`.
    fn block_collection(&mut self, col: usize) -> Option<(usize, Next)> {
        if self.seq_entry_here() {
            self.block_sequence(col, false)
        } else {
            self.block_mapping(col)
        }
    }

    /// A block mapping at column `c`; its first key is here.
    fn block_mapping(&mut self, c: usize) -> Option<(usize, Next)> {
        let (id, base) = self.open(NodeKind::Map(Kids { start: 0, len: 0 }))?;
        let next = loop {
            if self.seq_entry_here() {
                return None;
            }
            let k = self.key()?;
            self.stack.push(k);
            let (v, next) = if self.skims(k) {
                self.skim = true;
                let r = self.value_after_colon(c);
                self.skim = false;
                let (_, next) = r?;
                (self.scalar(Cow::Borrowed(""), false), next)
            } else {
                self.value_after_colon(c)?
            };
            self.stack.push(v);
            match next {
                Next::At(i) if i == c => {}
                Next::At(i) if i > c => return None,
                other => break other,
            }
        };
        let kids = self.close(base);
        self.set_kind(id, NodeKind::Map(kids));
        Some((id, next))
    }

    /// A block sequence at column `c` (`indentless`: the value of a mapping entry at the
    /// same column); its first `-` is here.
    fn block_sequence(&mut self, c: usize, indentless: bool) -> Option<(usize, Next)> {
        let (id, base) = self.open(NodeKind::Seq(Kids { start: 0, len: 0 }))?;
        let next = loop {
            self.pos += 1;
            let (item, next) = self.sequence_item(c)?;
            self.stack.push(item);
            match next {
                Next::At(i) if i == c => {
                    if self.seq_entry_here() {
                        continue;
                    }
                    if indentless {
                        break next;
                    }
                    return None;
                }
                Next::At(i) if i > c => return None,
                other => break other,
            }
        };
        let kids = self.close(base);
        self.set_kind(id, NodeKind::Seq(kids));
        Some((id, next))
    }

    /// A mapping key here (plain or quoted, on one line) and its `:`.
    fn key(&mut self) -> Option<usize> {
        let p = self.pos;
        match self.b[p] {
            b'\'' | b'"' => {
                let (mut q, text, line_start) = self.quoted(p)?;
                while self.at(q) == b' ' {
                    q += 1;
                }
                if line_start != self.line_start
                    || self.at(q) != b':'
                    || !self.blankz(q + 1)
                    || q - p > MAX_KEY
                {
                    return None;
                }
                self.pos = q + 1;
                Some(self.key_scalar(text, false))
            }
            c if is_indicator(c) => None,
            _ => match self.plain_line(p) {
                (end, Stop::Colon(q)) if q - p <= MAX_KEY => {
                    self.pos = q + 1;
                    Some(self.key_scalar(Cow::Borrowed(&self.src[p..end]), true))
                }
                _ => None,
            },
        }
    }

    /// Whether a mapping key starts here.
    fn key_here(&self) -> bool {
        let p = self.pos;
        match self.b[p] {
            b'\'' | b'"' => match self.quoted(p) {
                Some((mut q, _, line_start)) => {
                    while self.at(q) == b' ' {
                        q += 1;
                    }
                    line_start == self.line_start && self.at(q) == b':' && self.blankz(q + 1)
                }
                None => false,
            },
            c if is_indicator(c) => false,
            _ => matches!(self.plain_line(p), (_, Stop::Colon(_))),
        }
    }

    /// The value after a mapping key's `:` in a mapping at column `c`.
    fn value_after_colon(&mut self, c: usize) -> Option<(usize, Next)> {
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        if matches!(self.at(self.pos), b'\n' | 0 | b'#') {
            return self.value_below(c, true);
        }
        self.inline_value(c)
    }

    /// A value that starts on a later line (or an empty one), for a node at indentation `c`.
    fn value_below(&mut self, c: usize, in_mapping: bool) -> Option<(usize, Next)> {
        let next = self.next_content()?;
        match next {
            // A flow collection on a line of its own (`toYaml … | nindent` of an empty map).
            Next::At(i) if i > c && matches!(self.b[self.pos], b'{' | b'[') => self.inline_value(c),
            Next::At(i) if i > c => self.block_collection(i),
            Next::At(i) if i == c && in_mapping && self.seq_entry_here() => {
                self.block_sequence(c, true)
            }
            _ => Some((self.scalar(Cow::Borrowed(""), true), next)),
        }
    }

    /// A sequence item after its `-`, in a sequence at column `c`.
    fn sequence_item(&mut self, c: usize) -> Option<(usize, Next)> {
        while self.at(self.pos) == b' ' {
            self.pos += 1;
        }
        if matches!(self.at(self.pos), b'\n' | 0 | b'#') {
            return self.value_below(c, false);
        }
        if self.seq_entry_here() {
            return None;
        }
        if self.key_here() {
            let k = self.col();
            return self.block_mapping(k);
        }
        self.inline_value(c)
    }

    /// A scalar or empty flow collection starting on the current line; `ind` is the column
    /// of the innermost block collection (the scanner's indentation).
    fn inline_value(&mut self, ind: usize) -> Option<(usize, Next)> {
        let p = self.pos;
        let id = match self.b[p] {
            b'\'' | b'"' => {
                let (q, text, line_start) = self.quoted(p)?;
                self.pos = q;
                self.line_start = line_start;
                self.end_of_line()?;
                self.scalar(text, false)
            }
            b'|' | b'>' => {
                let text = self.block_scalar(ind)?;
                self.scalar(Cow::Owned(text), false)
            }
            b'[' => {
                let id = self.flow_sequence()?;
                self.end_of_line()?;
                id
            }
            b'{' => {
                self.pos += 1;
                self.skip_spaces();
                if self.at(self.pos) != b'}' {
                    return None;
                }
                self.pos += 1;
                self.end_of_line()?;
                if self.skim {
                    SKIPPED
                } else {
                    self.nodes.push(Node {
                        kind: NodeKind::Map(Kids { start: 0, len: 0 }),
                    });
                    self.nodes.len() - 1
                }
            }
            b'-' | b'?' | b':' if self.blankz(p + 1) => return None,
            b'-' | b'?' | b':' => return self.plain(ind),
            c if is_indicator(c) => return None,
            _ => return self.plain(ind),
        };
        Some((id, self.next_content()?))
    }

    /// A plain scalar here, folded over continuation lines indented deeper than `ind`.
    fn plain(&mut self, ind: usize) -> Option<(usize, Next)> {
        let p = self.pos;
        let (end, stop) = self.plain_line(p);
        let q = match stop {
            Stop::Colon(_) => return None,
            Stop::Comment(q) => {
                self.pos = q;
                self.end_of_line()?;
                let id = self.scalar(Cow::Borrowed(&self.src[p..end]), true);
                return Some((id, self.next_content()?));
            }
            Stop::Eol(q) => q,
        };
        let mut owned: Option<String> = None;
        // `q` is at the line break (or the end) after the text so far.
        let mut at = q;
        // Where the next content is when the scalar ends there (after line breaks and
        // indentation): the line it is on and its position.
        let mut content = None;
        loop {
            // Count the line breaks up to the next line with content.
            let mut breaks = 0;
            let mut line = at;
            let mut first = at;
            while first < self.b.len() && self.b[first] == b'\n' {
                breaks += 1;
                line = first + 1;
                first = self.spaces_end(line);
            }
            if first >= self.b.len() || first - line <= ind || self.b[first] == b'#' {
                // Not a continuation: the scalar ends; the rest is read from that line on.
                if breaks > 0 && first < self.b.len() && self.b[first] != b'#' {
                    content = Some((line, first));
                }
                break;
            }
            let (cend, cstop) = self.plain_line(first);
            let Stop::Eol(cq) = cstop else {
                return None;
            };
            let o = owned.get_or_insert_with(|| self.src[p..end].to_string());
            if breaks == 1 {
                o.push(' ');
            } else {
                for _ in 1..breaks {
                    o.push('\n');
                }
            }
            o.push_str(&self.src[first..cend]);
            at = cq;
        }
        let text = match owned {
            None => Cow::Borrowed(&self.src[p..end]),
            Some(o) => Cow::Owned(o),
        };
        let id = self.scalar(text, true);
        if let Some((line, first)) = content {
            // What `next_content` from `at` finds, without reading those lines again.
            self.line_start = line;
            self.pos = first;
            return Some((id, self.content_here(self.b[first])?));
        }
        self.pos = at;
        Some((id, self.next_content()?))
    }

    /// A literal (`|`) or folded (`>`) block scalar here, as libyaml scans it; `ind` is the
    /// scanner's indentation. Ends at the first content of the line that is not part of it.
    fn block_scalar(&mut self, ind: usize) -> Option<String> {
        let literal = self.b[self.pos] == b'|';
        self.pos += 1;
        let mut chomping = 0i32;
        let mut increment = 0usize;
        let sign = |c: u8| match c {
            b'+' => Some(1),
            b'-' => Some(-1),
            _ => None,
        };
        if let Some(s) = sign(self.at(self.pos)) {
            chomping = s;
            self.pos += 1;
            if self.at(self.pos).is_ascii_digit() {
                if self.at(self.pos) == b'0' {
                    return None;
                }
                increment = (self.at(self.pos) - b'0') as usize;
                self.pos += 1;
            }
        } else if self.at(self.pos).is_ascii_digit() {
            if self.at(self.pos) == b'0' {
                return None;
            }
            increment = (self.at(self.pos) - b'0') as usize;
            self.pos += 1;
            if let Some(s) = sign(self.at(self.pos)) {
                chomping = s;
                self.pos += 1;
            }
        }
        self.end_of_line()?;
        if self.at(self.pos) == b'\n' {
            self.pos += 1;
            self.line_start = self.pos;
        }
        let mut indent = if increment > 0 { ind + increment } else { 0 };
        let mut s = String::new();
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        self.block_breaks(&mut indent, &mut trailing_breaks, ind);
        let mut leading_blank = false;
        while self.col() == indent && self.pos < self.b.len() {
            let trailing_blank = self.at(self.pos) == b' ';
            if !literal && !leading_blank && !trailing_blank && leading_break {
                if trailing_breaks == 0 {
                    s.push(' ');
                }
            } else if leading_break {
                s.push('\n');
            }
            leading_break = false;
            for _ in 0..trailing_breaks {
                s.push('\n');
            }
            trailing_breaks = 0;
            leading_blank = self.at(self.pos) == b' ';
            let e = self.line_end(self.pos);
            s.push_str(&self.src[self.pos..e]);
            self.pos = e;
            if self.pos < self.b.len() {
                leading_break = true;
                self.pos += 1;
                self.line_start = self.pos;
            }
            self.block_breaks(&mut indent, &mut trailing_breaks, ind);
        }
        if chomping != -1 && leading_break {
            s.push('\n');
        }
        if chomping == 1 {
            for _ in 0..trailing_breaks {
                s.push('\n');
            }
        }
        Some(s)
    }

    /// libyaml's `scan_block_scalar_breaks`: indentation and empty lines before a line of a
    /// block scalar; settles the indentation when it is still 0.
    fn block_breaks(&mut self, indent: &mut usize, breaks: &mut usize, ind: usize) {
        let mut max_indent = 0;
        loop {
            let limit = if *indent == 0 {
                usize::MAX
            } else {
                self.line_start + *indent
            };
            self.pos = self.spaces_end(self.pos).min(limit.max(self.pos));
            max_indent = max_indent.max(self.col());
            if self.at(self.pos) != b'\n' {
                break;
            }
            *breaks += 1;
            self.pos += 1;
            self.line_start = self.pos;
        }
        if *indent == 0 {
            *indent = max_indent.max(ind + 1).max(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::parse_stream;

    fn dump(doc: &Doc, id: usize, out: &mut String) {
        match &doc.nodes[id].kind {
            NodeKind::Scalar {
                value,
                tag,
                implicit,
            } => out.push_str(&format!("S({value:?},{tag:?},{implicit})")),
            NodeKind::Seq(k) => {
                out.push('[');
                for &c in doc.children(*k) {
                    dump(doc, c, out);
                    out.push(',');
                }
                out.push(']');
            }
            NodeKind::Map(k) => {
                out.push('{');
                for &c in doc.children(*k) {
                    dump(doc, c, out);
                    out.push(';');
                }
                out.push('}');
            }
            NodeKind::Alias { name, target } => {
                out.push_str(&format!("*{name}->"));
                dump(doc, *target, out);
            }
        }
    }

    fn tree(doc: &Doc) -> String {
        let mut s = String::new();
        if let Some(r) = doc.root {
            dump(doc, r, &mut s);
        }
        s
    }

    /// The full parser's tree, or its error.
    fn slow(text: &str) -> Result<String, String> {
        match parse_stream(text.as_bytes(), true) {
            Ok(docs) => Ok(docs.first().map(tree).unwrap_or_default()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether the fast path took `text`; panics if its tree differs from the full parser's.
    fn check(text: &str) -> bool {
        match parse(text) {
            None => false,
            Some(doc) => {
                assert_eq!(Ok(tree(&doc)), slow(text), "{text:?}");
                true
            }
        }
    }

    #[test]
    fn takes_common_shapes_with_the_same_tree() {
        let fast = [
            "",
            "# only a comment\n",
            "---\n",
            "--- # c\na: 1\n",
            "a: 1\nb:\n  c: d\n  e: [x, 'y', \"z\"]\n",
            "a:\n- 1\n- b: 2\n  c: 3\n-\n- x\n",
            "k: v w  # c\nk2: 'it''s'\nk3: \"t\\tx\\u00e9\"\n",
            "d: >-\n  folded\n  text\n\n  more\nl: |+\n  keep\n\n",
            "p: plain\n  continued\n\n  after blank\nq: 1\n",
            "s: 'multi\n  line'\nt: \"x  \n\n  y\"\n",
            "e: {}\nf: [ ]\ng: { }\nh: [a, ]\n",
            "  indented: root\n  second: 2\n",
            "- a\n- b\n",
            "url: http://x:80/y\n\"quoted key\": 1\n",
            "ünï: cödé\n",
            "i: |2\n    two\n   one\n",
            "a:\n  {}\nb:\n    [ ]\nc:\n  - x\n  -\n    [y, 'z']\n",
            "a:\n  b:\n    {}\n  c: 1\n",
            "{}",
            "{ }\n",
            "[]\n",
            "---\n[a, 'b'] # c\n",
            "  [x]\n\n",
        ];
        for t in fast {
            assert!(check(t), "fast path refused {t:?}");
        }
        let slow_only = [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: {b: c}\n",
            "a: [b, [c]]\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: b\n---\nc: d\n",
            "a: b: c\n",
            "a: b\n  c: d\n",
            "a:\n    b: 1\n  c: 2\n",
            "- a\nb: c\n",
            "? a\n: b\n",
            "scalar\n",
            "a: 'unterminated\n",
            "a: \"bad \\z escape\"\n",
            "a: \"\\\n  b\"\n",
            "a: |0\n  x\n",
            "%YAML 1.1\n---\na: 1\n",
            "\u{feff}a: 1\n",
            "a: 'x\n---\ny'\n",
            "a:\n    {}\n  b: 1\n",
            "a:\n  {}: 1\n",
            "a:\n  [x]\n  y\n",
            "{}\nx\n",
            "{}: a\n",
            "[a]\n- b\n",
            "{} x\n",
            "{}\n---\n",
        ];
        for t in slow_only {
            assert!(!check(t), "fast path took {t:?}");
        }
    }

    #[test]
    fn character_screening() {
        // Longer than two of `eligible`'s 64-byte blocks, so that every position is tried
        // in a block and in the byte-wise tail.
        let pad = "abcdefghijklmnop\nqrstuvwxyz: 0123456789\n".repeat(4);
        let pad = pad.as_str();
        for (c, ok) in [
            ("", true),
            ("\n", true),
            ("~", true),
            ("\u{a0}é€😀\u{feff}", true),
            ("\t", false),
            ("\r", false),
            ("\u{7f}", false),
            ("\u{1}", false),
            ("\u{85}", false),
            ("\u{9f}", false),
            ("\u{2028}", false),
            ("\u{2029}", false),
            ("\u{fffe}", false),
            ("\u{ffff}", false),
        ] {
            for at in 0..pad.len() {
                let text = format!("{}{c}{}", &pad[..at], &pad[at..]);
                assert_eq!(eligible(text.as_bytes()), ok, "{text:?}");
            }
        }
        assert!(!eligible("\u{feff}a: 1\n".as_bytes()));
    }

    #[test]
    fn generated_documents_match_the_full_parser() {
        const KEYS: &[&str] = &[
            "a", "k y", "'q'", "\"d\"", "'it''s'", "on", "1", "x:y", "a b ", "<<", "-k", "é",
            "k#h", "''", "[a]", "&x a", "*x",
        ];
        const VALS: &[&str] = &[
            "",
            "v",
            "v  w  ",
            "'s t'",
            "'a''b'",
            "\"d\\tq\"",
            "\"\\x41\"",
            "\"\\z\"",
            "[]",
            "{ }",
            "[a, b]",
            "[a, ]",
            "[, a]",
            "[a, [b]]",
            "{a: b}",
            "|",
            "|-",
            ">+",
            "|2",
            "|0",
            "| # c",
            "|x",
            "# c",
            "v # c",
            "v#c",
            "- a",
            "? x",
            ": x",
            ":x",
            "-x",
            "a: b",
            "a:b",
            "&a v",
            "*a",
            "!!str 1",
            "%x",
            "'multi",
            "\"multi",
            "v:",
            ",x",
            "'a' b",
            "'unterminated",
        ];
        const MORE: &[&str] = &[
            "more text",
            "'end",
            "end'",
            "x: y",
            "# c",
            "- item",
            "---",
            "",
            "   ",
            "a #b",
            "{}",
            "[x, y]",
            "{ } # c",
            "{a: b}",
        ];
        let mut below = testkit::rand::below_fn(0x9E37_79B9_7F4A_7C15);
        let mut taken = 0;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..1 + below(7) {
                s.push_str(&" ".repeat([0, 0, 1, 2, 2, 4][below(6)]));
                match below(8) {
                    0..=3 => {
                        s.push_str(KEYS[below(KEYS.len())]);
                        s.push_str(": ");
                        s.push_str(VALS[below(VALS.len())]);
                    }
                    4..=5 => {
                        s.push_str("- ");
                        s.push_str(VALS[below(VALS.len())]);
                    }
                    _ => s.push_str(MORE[below(MORE.len())]),
                }
                s.push('\n');
            }
            if check(&s) {
                taken += 1;
            }
        }
        // The generator is meant to exercise the fast path, not only its refusals.
        assert!(taken > 1000, "only {taken} documents took the fast path");
    }
}
