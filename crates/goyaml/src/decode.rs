//! goyaml v2's decoder into `interface{}` followed by sigs.k8s.io/yaml's conversion to JSON-able
//! values: node tree, YAML 1.1 resolution, anchors, aliases and merge keys.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::Error;
use crate::parser::{EventKind, Parser};
use crate::scanner::RawError;

/// How deep collections may nest (after alias expansion). goyaml has no such limit (Go's
/// stacks grow); Rust's threads have fixed stacks, so deeper documents are rejected with an
/// error instead of overflowing the stack. Real charts stay far below it.
pub(crate) const MAX_DEPTH: usize = 256;

pub(crate) fn too_deep() -> Error {
    Error::Yaml(format!("exceeded max depth of {MAX_DEPTH}"))
}

const STR_TAG: &str = "tag:yaml.org,2002:str";
const BOOL_TAG: &str = "tag:yaml.org,2002:bool";
const INT_TAG: &str = "tag:yaml.org,2002:int";
const FLOAT_TAG: &str = "tag:yaml.org,2002:float";
const NULL_TAG: &str = "tag:yaml.org,2002:null";
const TIMESTAMP_TAG: &str = "tag:yaml.org,2002:timestamp";
const BINARY_TAG: &str = "tag:yaml.org,2002:binary";
const MERGE_TAG: &str = "tag:yaml.org,2002:merge";

pub(crate) enum NodeKind<'a> {
    Scalar {
        value: Cow<'a, str>,
        tag: String,
        implicit: bool,
    },
    Seq(Kids),
    Map(Kids),
    Alias {
        name: &'a str,
        target: usize,
    },
}

/// A collection's children: a range of [`Doc::kids`] (keys and values alternate in maps).
#[derive(Clone, Copy)]
pub(crate) struct Kids {
    pub(crate) start: usize,
    pub(crate) len: usize,
}

pub(crate) struct Node<'a> {
    pub(crate) kind: NodeKind<'a>,
}

/// A parsed document: an arena of nodes, the children of its collections, and its root.
pub(crate) struct Doc<'a> {
    pub(crate) nodes: Vec<Node<'a>>,
    pub(crate) kids: Vec<usize>,
    pub(crate) root: Option<usize>,
    /// Built by the fast path: no aliases, anchors or tags, at most 200 levels deep (see
    /// `Decoder::plain`).
    pub(crate) plain: bool,
}

impl<'a> Doc<'a> {
    #[inline]
    pub(crate) fn children(&self, k: Kids) -> &[usize] {
        &self.kids[k.start..k.start + k.len]
    }
}

fn yaml_err(e: RawError) -> Error {
    Error::Yaml(e.message())
}

fn failf(msg: String) -> Error {
    Error::Yaml(msg)
}

struct TreeBuilder<'a> {
    parser: Parser<'a>,
    peeked: Option<crate::parser::Event<'a>>,
    nodes: Vec<Node<'a>>,
    kids: Vec<usize>,
    /// Children of the collections being built (each collection's run is moved to `kids`
    /// when it ends).
    stack: Vec<usize>,
    anchors: HashMap<&'a str, usize>,
}

impl<'a> TreeBuilder<'a> {
    #[inline]
    fn peek(&mut self) -> Result<&EventKind<'a>, Error> {
        if self.peeked.is_none() {
            self.peeked = Some(self.parser.next_event().map_err(yaml_err)?);
        }
        match &self.peeked {
            Some(e) => Ok(&e.kind),
            None => Err(Error::Yaml("unknown problem parsing YAML content".into())),
        }
    }

    #[inline]
    fn next(&mut self) -> Result<crate::parser::Event<'a>, Error> {
        if let Some(e) = self.peeked.take() {
            return Ok(e);
        }
        self.parser.next_event().map_err(yaml_err)
    }

    fn expect_end(&mut self, what: &str) -> Result<(), Error> {
        let e = self.next()?;
        let ok = match what {
            "doc-end" => e.kind == EventKind::DocumentEnd,
            _ => true,
        };
        if e.kind == EventKind::StreamEnd {
            return Err(failf(
                "attempted to go past the end of stream; corrupted value?".into(),
            ));
        }
        if !ok {
            return Err(Error::Yaml("did not find expected <document end>".into()));
        }
        Ok(())
    }

    /// Moves the children pushed since `base` into `kids`.
    fn close(&mut self, base: usize) -> Kids {
        let start = self.kids.len();
        self.kids.extend_from_slice(&self.stack[base..]);
        self.stack.truncate(base);
        Kids {
            start,
            len: self.kids.len() - start,
        }
    }

    fn node(&mut self, depth: usize) -> Result<usize, Error> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let ev = self.next()?;
        match ev.kind {
            EventKind::Scalar {
                anchor,
                tag,
                value,
                implicit,
                ..
            } => {
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: NodeKind::Scalar {
                        value,
                        tag,
                        implicit,
                    },
                });
                if let Some(a) = anchor {
                    self.anchors.insert(a, id);
                }
                Ok(id)
            }
            EventKind::Alias(name) => match self.anchors.get(name) {
                Some(&target) => {
                    let id = self.nodes.len();
                    self.nodes.push(Node {
                        kind: NodeKind::Alias { name, target },
                    });
                    Ok(id)
                }
                None => Err(failf(format!("unknown anchor '{name}' referenced"))),
            },
            EventKind::SequenceStart { anchor, .. } => {
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: NodeKind::Seq(Kids { start: 0, len: 0 }),
                });
                if let Some(a) = anchor {
                    self.anchors.insert(a, id);
                }
                let base = self.stack.len();
                while !matches!(self.peek()?, EventKind::SequenceEnd) {
                    let c = self.node(depth + 1)?;
                    self.stack.push(c);
                }
                self.next()?;
                self.nodes[id].kind = NodeKind::Seq(self.close(base));
                Ok(id)
            }
            EventKind::MappingStart { anchor, .. } => {
                let id = self.nodes.len();
                self.nodes.push(Node {
                    kind: NodeKind::Map(Kids { start: 0, len: 0 }),
                });
                if let Some(a) = anchor {
                    self.anchors.insert(a, id);
                }
                let base = self.stack.len();
                while !matches!(self.peek()?, EventKind::MappingEnd) {
                    let k = self.node(depth + 1)?;
                    self.stack.push(k);
                    let v = self.node(depth + 1)?;
                    self.stack.push(v);
                }
                self.next()?;
                self.nodes[id].kind = NodeKind::Map(self.close(base));
                Ok(id)
            }
            EventKind::StreamEnd => Err(failf(
                "attempted to go past the end of stream; corrupted value?".into(),
            )),
            other => Err(Error::Yaml(format!(
                "expected a node event but got {other:?}"
            ))),
        }
    }
}

/// Parses the first document of `input` the way goyaml v2's `Unmarshal` does.
pub(crate) fn parse_first(input: &str) -> Result<Doc<'_>, Error> {
    if let Some(doc) = crate::fast::parse(input) {
        return Ok(doc);
    }
    parse_first_full(input)
}

/// [`parse_first`] for [`Decoder::root_filtered`] with `keep`: the values of root entries it
/// skips may be left out of the tree (each an empty quoted scalar), where that cannot change
/// the decoding's result.
pub(crate) fn parse_first_filtered(input: &str, keep: KeyFilter) -> Result<Doc<'_>, Error> {
    if let Some(doc) = crate::fast::parse_filtered(input, keep) {
        return Ok(doc);
    }
    parse_first_full(input)
}

fn parse_first_full(input: &str) -> Result<Doc<'_>, Error> {
    let mut docs = parse_stream(input.as_bytes(), true)?;
    Ok(docs.pop().unwrap_or(Doc {
        nodes: Vec::new(),
        kids: Vec::new(),
        root: None,
        plain: false,
    }))
}

/// Parses documents of a stream (goyaml v2 `Decoder`); with `first_only`, stops after one.
pub(crate) fn parse_stream(input: &[u8], first_only: bool) -> Result<Vec<Doc<'_>>, Error> {
    let mut b = TreeBuilder {
        parser: Parser::new(input),
        peeked: None,
        // A node for every ~16 bytes of typical manifests and values files.
        nodes: Vec::with_capacity(input.len() / 16 + 4),
        kids: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
    };
    // stream start
    let first = b.next()?;
    if first.kind != EventKind::StreamStart {
        return Err(Error::Yaml("did not find expected <stream-start>".into()));
    }
    let mut docs = Vec::new();
    loop {
        match b.peek()? {
            EventKind::StreamEnd => break,
            EventKind::DocumentStart => {
                b.next()?;
                b.nodes.clear();
                b.kids.clear();
                b.anchors.clear();
                let root = b.node(0)?;
                b.expect_end("doc-end")?;
                docs.push(Doc {
                    nodes: std::mem::take(&mut b.nodes),
                    kids: std::mem::take(&mut b.kids),
                    root: Some(root),
                    plain: false,
                });
                if first_only {
                    break;
                }
            }
            _ => return Err(Error::Yaml("unknown problem parsing YAML content".into())),
        }
    }
    Ok(docs)
}

/// What a resolved scalar is in Go terms.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
}

impl Scalar<'_> {
    /// The same scalar owning its text.
    pub(crate) fn into_static(self) -> Scalar<'static> {
        match self {
            Scalar::Null => Scalar::Null,
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Int(i) => Scalar::Int(i),
            Scalar::Uint(u) => Scalar::Uint(u),
            Scalar::Float(f) => Scalar::Float(f),
            Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
        }
    }
}

fn resolve_table(c: u8) -> u8 {
    match c {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => 0,
    }
}

/// Whether a plain scalar starting with byte `c` may resolve to something other than a
/// string (a number, boolean, null, special float, timestamp or the merge key `<<`): false
/// means [`resolve`] gives `!!str` for any untagged non-empty text starting with `c`.
#[inline]
pub(crate) fn may_resolve_to_non_string(c: u8) -> bool {
    resolve_table(c) != 0 || c == b'<'
}

fn resolve_map(s: &str) -> Option<(&'static str, Scalar<'static>)> {
    // No word below is longer than 5 bytes: most scalars are, and need no comparisons.
    if s.len() > 5 {
        return None;
    }
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            (BOOL_TAG, Scalar::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            (BOOL_TAG, Scalar::Bool(false))
        }
        "" | "~" | "null" | "Null" | "NULL" => (NULL_TAG, Scalar::Null),
        ".nan" | ".NaN" | ".NAN" => (FLOAT_TAG, Scalar::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (FLOAT_TAG, Scalar::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => (FLOAT_TAG, Scalar::Float(f64::NEG_INFINITY)),
        "<<" => (MERGE_TAG, Scalar::Str(Cow::Borrowed("<<"))),
        _ => return None,
    })
}

/// Go's `strconv.ParseUint(s, 0, 64)` after the sign was handled (no underscores).
fn parse_uint_base0(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (digits, radix) = if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => (&s[2..], 16),
            b'o' | b'O' => (&s[2..], 8),
            b'b' | b'B' => (&s[2..], 2),
            _ => (&s[1..], 8),
        }
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return if radix == 8 && s == "0" {
            Some(0)
        } else {
            None
        };
    }
    if !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint_base0(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if u <= i64::MAX as u64 {
        Some(u as i64)
    } else {
        None
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for inputs already known to be decimal floats:
/// out-of-range values are errors.
fn parse_float(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() { None } else { Some(f) }
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && is_timestamp(b)
}

/// Go's `getnum(s, false)`: one or two digits.
fn getnum(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    match b.get(*i).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => {
            *i += 1;
            Some((d0 - b'0') as u32 * 10 + (d1 - b'0') as u32)
        }
        None => Some((d0 - b'0') as u32),
    }
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whether Go's `time.Parse` accepts `b` with one of goyaml v2's timestamp layouts:
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`), `2006-1-2 15:4:5.999999999`, `2006-1-2`.
fn is_timestamp(b: &[u8]) -> bool {
    // date part: 4-digit year, 1-2 digit month and day
    if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let year: i64 = b[..4].iter().fold(0, |a, d| a * 10 + (d - b'0') as i64);
    let mut i = 4;
    let sep = |i: &mut usize, c: u8| {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !sep(&mut i, b'-') {
        return false;
    }
    let Some(month) = getnum(b, &mut i) else {
        return false;
    };
    if !sep(&mut i, b'-') {
        return false;
    }
    let Some(day) = getnum(b, &mut i) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zoned = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    let Some(hour) = getnum(b, &mut i) else {
        return false;
    };
    if !sep(&mut i, b':') {
        return false;
    }
    let Some(min) = getnum(b, &mut i) else {
        return false;
    };
    if !sep(&mut i, b':') {
        return false;
    }
    let Some(sec) = getnum(b, &mut i) else {
        return false;
    };
    if hour >= 24 || min >= 60 || sec >= 60 {
        return false;
    }
    // optional fraction: '.' or ',' followed by digits
    if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if zoned {
        if b.get(i) == Some(&b'Z') {
            i += 1;
        } else {
            if b.len() < i + 6 || b[i + 3] != b':' || !(b[i] == b'+' || b[i] == b'-') {
                return false;
            }
            let two = |j: usize| b[j].is_ascii_digit() && b[j + 1].is_ascii_digit();
            if !two(i + 1) || !two(i + 4) {
                return false;
            }
            let hh = (b[i + 1] - b'0') as u32 * 10 + (b[i + 2] - b'0') as u32;
            let mm = (b[i + 4] - b'0') as u32 * 10 + (b[i + 5] - b'0') as u32;
            if hh > 24 || mm > 60 {
                return false;
            }
            i += 6;
        }
    }
    i == b.len()
}

fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(s) => format!("!!{s}"),
        None => tag.to_string(),
    }
}

/// goyaml v2's `resolve(tag, in)`: the resolved tag and value.
pub(crate) fn resolve<'a>(tag: &'a str, input: &'a str) -> Result<(&'a str, Scalar<'a>), Error> {
    let resolvable = matches!(
        tag,
        "" | STR_TAG | BOOL_TAG | INT_TAG | FLOAT_TAG | NULL_TAG | TIMESTAMP_TAG
    );
    if !resolvable {
        return Ok((tag, Scalar::Str(Cow::Borrowed(input))));
    }
    let (rtag, out) = resolve_plain(tag, input);
    match tag {
        "" | STR_TAG => return Ok((rtag, out)),
        t if t == rtag => return Ok((rtag, out)),
        FLOAT_TAG if rtag == INT_TAG => {
            if let Scalar::Int(i) = out {
                return Ok((FLOAT_TAG, Scalar::Float(i as f64)));
            }
        }
        _ => {}
    }
    Err(failf(format!(
        "cannot decode {} `{}` as a {}",
        short_tag(rtag),
        input,
        short_tag(tag)
    )))
}

/// What `resolve("", input)` gives, with the common case inline: a first byte that starts
/// nothing but a string.
#[inline]
fn resolve_untagged(input: &str) -> Scalar<'_> {
    match input.as_bytes().first() {
        Some(&c) if resolve_table(c) == 0 => Scalar::Str(Cow::Borrowed(input)),
        _ => resolve_plain("", input).1,
    }
}

fn resolve_plain<'a>(tag: &str, input: &'a str) -> (&'static str, Scalar<'a>) {
    let hint = match input.as_bytes().first() {
        None => b'N',
        Some(&c) => resolve_table(c),
    };
    if hint != 0 && tag != STR_TAG && tag != BINARY_TAG {
        // No word of the map starts with a digit.
        if hint != b'D'
            && let Some((t, v)) = resolve_map(input)
        {
            return (t, v);
        }
        match hint {
            b'.' => {
                if let Some(f) = parse_float(input) {
                    return (FLOAT_TAG, Scalar::Float(f));
                }
            }
            b'D' | b'S' => {
                if (tag.is_empty() || tag == TIMESTAMP_TAG) && looks_like_timestamp(input) {
                    return (TIMESTAMP_TAG, Scalar::Str(Cow::Borrowed(input)));
                }
                let plain: std::borrow::Cow<str> = if input.contains('_') {
                    input.replace('_', "").into()
                } else {
                    input.into()
                };
                if let Some(i) = parse_int_base0(&plain) {
                    return (INT_TAG, Scalar::Int(i));
                }
                if let Some(u) = parse_uint_base0(&plain) {
                    return (INT_TAG, Scalar::Uint(u));
                }
                if yaml_style_float(&plain)
                    && let Some(f) = parse_float(&plain)
                {
                    return (FLOAT_TAG, Scalar::Float(f));
                }
                if let Some(bin) = plain.strip_prefix("-0b")
                    && let Ok(i) = i64::from_str_radix(&format!("-{bin}"), 2)
                {
                    return (INT_TAG, Scalar::Int(i));
                }
            }
            _ => {}
        }
    }
    (STR_TAG, Scalar::Str(Cow::Borrowed(input)))
}

/// Builds target values (Go `interface{}` after the JSON round trip).
pub(crate) trait Build: Sized {
    /// Whether the builder keeps what it is given (map keys are then made owned strings).
    const KEEPS: bool = true;
    type Map: Default;
    fn scalar(s: Scalar<'_>) -> Self;
    fn seq(items: Vec<Self>) -> Self;
    fn map(m: Self::Map) -> Self;
    fn insert(m: &mut Self::Map, k: String, v: Self);
}

/// A builder that keeps nothing: decoding into it still resolves every scalar, follows every
/// alias and reports every error, for the parts of a document nobody reads.
pub(crate) struct Skip;

impl Build for Skip {
    const KEEPS: bool = false;
    type Map = ();
    #[inline]
    fn scalar(_: Scalar<'_>) -> Self {
        Skip
    }
    #[inline]
    fn seq(_: Vec<Self>) -> Self {
        Skip
    }
    #[inline]
    fn map(_: ()) -> Self {
        Skip
    }
    #[inline]
    fn insert(_: &mut (), _: String, _: Self) {}
}

/// Which keys of a mapping to build (the others are decoded into [`Skip`]).
pub(crate) type KeyFilter = fn(&str) -> bool;

/// A map key as goyaml decoded it, before sigs.k8s.io/yaml turned it into a string.
enum Key<'d> {
    Str(Cow<'d, str>),
    Bad(String),
}

/// sigs.k8s.io/yaml's string for a scalar map key (or the start of its error message).
fn key_text(s: Scalar<'_>) -> Key<'_> {
    match s {
        Scalar::Str(s) => Key::Str(s),
        Scalar::Int(i) => Key::Str(Cow::Owned(i.to_string())),
        Scalar::Float(f) => {
            let s = format_float32_g(f);
            Key::Str(Cow::Owned(match s.as_str() {
                "+Inf" => ".inf".into(),
                "-Inf" => "-.inf".into(),
                "NaN" => ".nan".into(),
                _ => s,
            }))
        }
        Scalar::Bool(b) => Key::Str(Cow::Owned(b.to_string())),
        other => {
            let ty = match other {
                Scalar::Uint(_) => "uint64",
                _ => "%!s(<nil>)",
            };
            Key::Bad(format!(
                "unsupported map key of type: {ty}, key: {}, value: ",
                go_sharp_v(&other)
            ))
        }
    }
}

/// [`Decoder::plain`] gave up: the general path must decode the document.
struct NotPlain;

pub(crate) struct Decoder<'d, 'a> {
    doc: &'d Doc<'a>,
    active_aliases: Vec<usize>,
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
    /// sigs.k8s.io/yaml's conversion error (reported only if goyaml itself succeeded).
    conv_error: Option<(String, String)>,
    /// The first NaN or infinity decoded (in document order).
    pub(crate) nonfinite: Option<f64>,
    /// Current nesting depth, aliases expanded.
    depth: usize,
}

fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
pub(crate) fn format_float32_g(f: f64) -> String {
    let f32v = f as f32;
    if f32v.is_nan() {
        return "NaN".into();
    }
    if f32v.is_infinite() {
        return if f32v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Shortest digits that round-trip as f32, then Go's %g layout.
    let s = format!("{:e}", f32v);
    crate::gofmt::g_layout_from_exp(&s)
}

fn go_sharp_v(s: &Scalar) -> String {
    match s {
        Scalar::Null => "<nil>".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Uint(u) => format!("0x{u:x}"),
        Scalar::Float(f) => crate::gofmt::format_float_g(*f),
        Scalar::Str(s) => crate::gofmt::go_quote(s),
    }
}

impl<'d, 'a> Decoder<'d, 'a> {
    pub(crate) fn new(doc: &'d Doc<'a>) -> Self {
        Decoder {
            doc,
            active_aliases: Vec::new(),
            decode_count: 0,
            alias_count: 0,
            alias_depth: 0,
            conv_error: None,
            nonfinite: None,
            depth: 0,
        }
    }

    /// sigs.k8s.io/yaml's conversion error for unsupported map keys, if any.
    pub(crate) fn take_conv_error(&mut self) -> Option<String> {
        self.conv_error.take().map(|(_, full)| full)
    }

    /// The root value; `None` for an empty stream.
    pub(crate) fn root<B: Build>(&mut self) -> Result<Option<B>, Error> {
        match self.doc.root {
            None => Ok(None),
            Some(r) => {
                if self.doc.plain && B::KEEPS {
                    match self.plain(r) {
                        Ok(v) => return Ok(Some(v)),
                        // Start over on the general path (nothing it reports was recorded).
                        Err(NotPlain) => self.nonfinite = None,
                    }
                }
                self.value(r).map(Some)
            }
        }
    }

    /// What [`Decoder::value`] builds, for a document from the fast path, without the
    /// bookkeeping such documents cannot need: they have no aliases (so the alias ratio
    /// check cannot fail), no tags (so resolving cannot fail, and `!!binary` cannot occur) and
    /// they nest no deeper than 200 levels (below [`MAX_DEPTH`]). [`NotPlain`] for what only
    /// the general path reports exactly: a merge key, or a key sigs.k8s.io/yaml rejects.
    fn plain<B: Build>(&mut self, id: usize) -> Result<B, NotPlain> {
        let doc: &'d Doc<'a> = self.doc;
        match &doc.nodes[id].kind {
            NodeKind::Scalar {
                value, implicit, ..
            } => {
                if !*implicit {
                    return Ok(B::scalar(Scalar::Str(Cow::Borrowed(value))));
                }
                let sc = resolve_untagged(value);
                if let Scalar::Float(f) = sc
                    && !f.is_finite()
                    && self.nonfinite.is_none()
                {
                    self.nonfinite = Some(f);
                }
                Ok(B::scalar(sc))
            }
            NodeKind::Seq(k) => {
                let children = doc.children(*k);
                let mut items = Vec::with_capacity(children.len());
                for &c in children {
                    items.push(self.plain(c)?);
                }
                Ok(B::seq(items))
            }
            NodeKind::Map(_) => {
                let mut m = B::Map::default();
                self.plain_map_into::<B>(id, &mut m, None)?;
                Ok(B::map(m))
            }
            NodeKind::Alias { .. } => Err(NotPlain),
        }
    }

    /// The entries of mapping `id` into `m` for [`Decoder::plain`]; with `keep`, as
    /// [`Decoder::mapping_into`] does with it (the values of other keys decoded into
    /// [`Skip`], for what they report).
    fn plain_map_into<B: Build>(
        &mut self,
        id: usize,
        m: &mut B::Map,
        keep: Option<KeyFilter>,
    ) -> Result<(), NotPlain> {
        let doc: &'d Doc<'a> = self.doc;
        let NodeKind::Map(k) = &doc.nodes[id].kind else {
            return Err(NotPlain);
        };
        for pair in doc.children(*k).chunks_exact(2) {
            let key = match &doc.nodes[pair[0]].kind {
                NodeKind::Scalar {
                    value,
                    implicit: false,
                    ..
                } => Cow::Borrowed(&**value),
                NodeKind::Scalar { value, .. } => {
                    if value == "<<" {
                        return Err(NotPlain);
                    }
                    let sc = resolve_untagged(value);
                    match key_text(sc) {
                        Key::Str(s) => s,
                        Key::Bad(_) => return Err(NotPlain),
                    }
                }
                _ => return Err(NotPlain),
            };
            if keep.is_none_or(|f| f(&key)) {
                let v = self.plain(pair[1])?;
                B::insert(m, key.into_owned(), v);
            } else {
                let _: Skip = self.plain(pair[1])?;
            }
        }
        Ok(())
    }

    /// Like [`Decoder::root`], building only the entries of a root mapping whose keys pass
    /// `keep` (merged ones included): everything else is decoded into [`Skip`], so errors are
    /// the same as for the whole document.
    pub(crate) fn root_filtered<B: Build>(&mut self, keep: KeyFilter) -> Result<Option<B>, Error> {
        let Some(r) = self.doc.root else {
            return Ok(None);
        };
        if !matches!(self.doc.nodes[r].kind, NodeKind::Map(_)) {
            return self.value(r).map(Some);
        }
        if self.doc.plain && B::KEEPS {
            let mut m = B::Map::default();
            match self.plain_map_into::<B>(r, &mut m, Some(keep)) {
                Ok(()) => return Ok(Some(B::map(m))),
                // Start over on the general path (nothing it reports was recorded).
                Err(NotPlain) => self.nonfinite = None,
            }
        }
        // What `value` does for a mapping, with the filter.
        self.count()?;
        self.depth += 1;
        let mut m = B::Map::default();
        let res = self.mapping_into::<B>(r, &mut m, Some(keep));
        self.depth -= 1;
        res.map(|()| Some(B::map(m)))
    }

    fn count(&mut self) -> Result<(), Error> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(failf("document contains excessive aliasing".into()));
        }
        Ok(())
    }

    fn scalar_of(&self, id: usize) -> Result<Scalar<'d>, Error> {
        let doc: &'d Doc<'a> = self.doc;
        match &doc.nodes[id].kind {
            NodeKind::Scalar {
                value,
                tag,
                implicit,
            } => {
                if tag.is_empty() && !implicit {
                    return Ok(Scalar::Str(Cow::Borrowed(value)));
                }
                let (rtag, resolved) = resolve(tag, value)?;
                if rtag == BINARY_TAG {
                    use base64::Engine;
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(value.as_bytes())
                        .map_err(|_| failf("!!binary value contains invalid base64 data".into()))?;
                    return Ok(Scalar::Str(Cow::Owned(
                        String::from_utf8_lossy(&data).into_owned(),
                    )));
                }
                if rtag == TIMESTAMP_TAG {
                    return Ok(Scalar::Str(Cow::Borrowed(value)));
                }
                Ok(resolved)
            }
            _ => Ok(Scalar::Null),
        }
    }

    fn enter_alias(&mut self, id: usize) -> Result<usize, Error> {
        let NodeKind::Alias { name, target } = &self.doc.nodes[id].kind else {
            return Ok(id);
        };
        if self.active_aliases.contains(&id) {
            return Err(failf(format!("anchor '{name}' value contains itself")));
        }
        self.active_aliases.push(id);
        self.alias_depth += 1;
        Ok(*target)
    }

    fn leave_alias(&mut self) {
        self.active_aliases.pop();
        self.alias_depth -= 1;
    }

    fn value<B: Build>(&mut self, id: usize) -> Result<B, Error> {
        self.count()?;
        self.depth += 1;
        let r = self.value_inner(id);
        self.depth -= 1;
        r
    }

    fn value_inner<B: Build>(&mut self, id: usize) -> Result<B, Error> {
        if self.depth > MAX_DEPTH {
            return Err(too_deep());
        }
        match &self.doc.nodes[id].kind {
            NodeKind::Alias { .. } => {
                let target = self.enter_alias(id)?;
                let r = self.value(target);
                self.leave_alias();
                r
            }
            NodeKind::Scalar { value, tag, .. }
                if !B::KEEPS
                    && tag.is_empty()
                    && !matches!(value.as_bytes().first(), Some(b'.' | b'+' | b'-')) =>
            {
                // Nothing to build, and an untagged scalar can neither fail to resolve nor
                // be a NaN or infinity (those start with `.`, `+` or `-`).
                Ok(B::scalar(Scalar::Null))
            }
            NodeKind::Scalar { .. } => {
                let sc = self.scalar_of(id)?;
                if let Scalar::Float(f) = sc
                    && !f.is_finite()
                    && self.nonfinite.is_none()
                {
                    self.nonfinite = Some(f);
                }
                Ok(B::scalar(sc))
            }
            NodeKind::Seq(k) => {
                let children = self.doc.children(*k);
                let mut items = Vec::with_capacity(children.len());
                for &c in children {
                    items.push(self.value(c)?);
                }
                Ok(B::seq(items))
            }
            NodeKind::Map(_) => {
                let mut m = B::Map::default();
                self.mapping_into::<B>(id, &mut m, None)?;
                Ok(B::map(m))
            }
        }
    }

    fn is_merge(&self, id: usize) -> bool {
        matches!(&self.doc.nodes[id].kind, NodeKind::Scalar { value, tag, implicit }
            if value == "<<" && (*implicit || tag == MERGE_TAG))
    }

    fn mapping_into<B: Build>(
        &mut self,
        id: usize,
        m: &mut B::Map,
        keep: Option<KeyFilter>,
    ) -> Result<(), Error> {
        let NodeKind::Map(k) = &self.doc.nodes[id].kind else {
            return Ok(());
        };
        let children = self.doc.children(*k);
        for pair in children.chunks(2) {
            let (k, v) = (pair[0], pair[1]);
            if self.is_merge(k) {
                self.merge::<B>(v, m, keep)?;
                continue;
            }
            match self.key(k)? {
                Key::Str(s) => {
                    if keep.is_none_or(|f| f(&s)) {
                        let val: B = self.value(v)?;
                        if B::KEEPS {
                            B::insert(m, s.into_owned(), val);
                        }
                    } else {
                        let _: Skip = self.value(v)?;
                    }
                }
                Key::Bad(msg) => {
                    let _: Skip = self.value(v)?;
                    // A repeated bad key replaces the earlier entry of the Go map, so its
                    // last value is the one reported.
                    let full = format!("{msg}{}", self.go_repr(v, true));
                    match &self.conv_error {
                        Some((k, _)) if *k != msg => {}
                        _ => self.conv_error = Some((msg, full)),
                    }
                }
            }
        }
        Ok(())
    }

    fn key(&mut self, id: usize) -> Result<Key<'d>, Error> {
        self.count()?;
        let mut target = id;
        let mut entered = false;
        if let NodeKind::Alias { .. } = &self.doc.nodes[id].kind {
            target = self.enter_alias(id)?;
            entered = true;
            self.count()?;
        }
        let r = match &self.doc.nodes[target].kind {
            NodeKind::Scalar { .. } => Ok(key_text(self.scalar_of(target)?)),
            NodeKind::Seq(_) | NodeKind::Map(_) => {
                // goyaml decodes the key first (nested errors win), then rejects it.
                let _: gotmpl::Value = self.value(target)?;
                Err(failf(format!(
                    "invalid map key: {}",
                    self.go_repr(target, true)
                )))
            }
            NodeKind::Alias { .. } => Ok(Key::Str(Cow::Borrowed(""))),
        };
        if entered {
            self.leave_alias();
        }
        r
    }

    fn merge<B: Build>(
        &mut self,
        id: usize,
        m: &mut B::Map,
        keep: Option<KeyFilter>,
    ) -> Result<(), Error> {
        let want_map = || failf("map merge requires map or sequence of maps as the value".into());
        let node = &self.doc.nodes[id];
        match &node.kind {
            NodeKind::Map(_) => {
                self.count()?;
                self.mapping_into::<B>(id, m, keep)
            }
            NodeKind::Alias { target, .. } => {
                if !matches!(self.doc.nodes[*target].kind, NodeKind::Map(_)) {
                    return Err(want_map());
                }
                self.count()?;
                let t = self.enter_alias(id)?;
                self.count()?;
                let r = self.mapping_into::<B>(t, m, keep);
                self.leave_alias();
                r
            }
            NodeKind::Seq(k) => {
                for &c in self.doc.children(*k).iter().rev() {
                    match &self.doc.nodes[c].kind {
                        NodeKind::Alias { target, .. } => {
                            if !matches!(self.doc.nodes[*target].kind, NodeKind::Map(_)) {
                                return Err(want_map());
                            }
                            self.count()?;
                            let t = self.enter_alias(c)?;
                            self.count()?;
                            let r = self.mapping_into::<B>(t, m, keep);
                            self.leave_alias();
                            r?;
                        }
                        NodeKind::Map(_) => {
                            self.count()?;
                            self.mapping_into::<B>(c, m, keep)?;
                        }
                        _ => return Err(want_map()),
                    }
                }
                Ok(())
            }
            NodeKind::Scalar { .. } => Err(want_map()),
        }
    }

    /// Go's `%#v` of the decoded node (for error messages).
    fn go_repr(&self, id: usize, top: bool) -> String {
        match &self.doc.nodes[id].kind {
            NodeKind::Alias { target, .. } => self.go_repr(*target, top),
            NodeKind::Scalar { .. } => match self.scalar_of(id) {
                Ok(Scalar::Null) if !top => "interface {}(nil)".into(),
                Ok(s) => go_sharp_v(&s),
                Err(_) => String::new(),
            },
            NodeKind::Seq(k) => {
                let items: Vec<String> = self
                    .doc
                    .children(*k)
                    .iter()
                    .map(|&c| self.go_repr(c, false))
                    .collect();
                format!("[]interface {{}}{{{}}}", items.join(", "))
            }
            NodeKind::Map(k) => {
                let mut items: Vec<(String, String)> = self
                    .doc
                    .children(*k)
                    .chunks(2)
                    .map(|p| (self.go_repr(p[0], false), self.go_repr(p[1], false)))
                    .collect();
                items.sort();
                items.dedup_by(|a, b| a.0 == b.0);
                let items: Vec<String> =
                    items.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[interface {{}}]interface {{}}{{{}}}", items.join(", "))
            }
        }
    }

    /// The kind of the root node as JSON names it (`object`, `array`, ...) once converted.
    pub(crate) fn root_is(&self) -> RootKind {
        match self.doc.root {
            None => RootKind::Null,
            Some(mut r) => loop {
                match &self.doc.nodes[r].kind {
                    NodeKind::Alias { target, .. } => r = *target,
                    NodeKind::Map(_) => return RootKind::Object,
                    NodeKind::Seq(_) => return RootKind::Array,
                    NodeKind::Scalar { .. } => {
                        return match self.scalar_of(r) {
                            Ok(Scalar::Null) => RootKind::Null,
                            Ok(Scalar::Bool(_)) => RootKind::Bool,
                            Ok(Scalar::Str(_)) => RootKind::String,
                            _ => RootKind::Number,
                        };
                    }
                }
            },
        }
    }
}

/// The JSON type of a document root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RootKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl RootKind {
    pub(crate) fn json_name(self) -> &'static str {
        match self {
            RootKind::Null => "null",
            RootKind::Bool => "bool",
            RootKind::Number => "number",
            RootKind::String => "string",
            RootKind::Array => "array",
            RootKind::Object => "object",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `doc` with the plain path allowed or not: the value (as JSON text, NaN and
    /// infinities spelled out), the conversion error and the first NaN or infinity.
    fn decode(
        doc: &Doc,
        plain: bool,
        keep: Option<KeyFilter>,
    ) -> (Result<String, Error>, Option<String>, Option<String>) {
        let doc = Doc {
            nodes: doc
                .nodes
                .iter()
                .map(|n| Node {
                    kind: match &n.kind {
                        NodeKind::Scalar {
                            value,
                            tag,
                            implicit,
                        } => NodeKind::Scalar {
                            value: value.clone(),
                            tag: tag.clone(),
                            implicit: *implicit,
                        },
                        NodeKind::Seq(k) => NodeKind::Seq(*k),
                        NodeKind::Map(k) => NodeKind::Map(*k),
                        NodeKind::Alias { name, target } => NodeKind::Alias {
                            name,
                            target: *target,
                        },
                    },
                })
                .collect(),
            kids: doc.kids.clone(),
            root: doc.root,
            plain,
        };
        let mut d = Decoder::new(&doc);
        let v = match keep {
            None => d.root::<gotmpl::Value>(),
            Some(keep) => d.root_filtered::<gotmpl::Value>(keep),
        }
        .map(|v| format!("{:?}", v.map(|v| crate::to_yaml_pretty(&v))));
        let conv = d.take_conv_error();
        (v, conv, d.nonfinite.map(|f| format!("{f:?}")))
    }

    #[test]
    fn resolve_map_words_are_short() {
        // `resolve_map` skips texts longer than 5 bytes: every word it knows is shorter.
        for w in [
            "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N",
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null",
            "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
            "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
        ] {
            assert!(w.len() <= 5 && resolve_map(w).is_some(), "{w:?}");
        }
        for w in ["yes ", "truee", "FALSE_", "nulls", "+.infinity", "-.Infx"] {
            assert!(resolve_map(w).is_none(), "{w:?}");
        }
    }

    #[test]
    fn plain_decoding_matches_the_general_path() {
        const KEYS: &[&str] = &[
            "a",
            "b",
            "'q'",
            "\"d\"",
            "on",
            "1",
            "0x1F",
            "1.50",
            ".nan",
            "-.inf",
            "~",
            "null",
            "''",
            "<<",
            "'<<'",
            "18446744073709551615",
            "2001-02-03",
            "1_000",
            "true",
            "a b",
        ];
        const VALS: &[&str] = &[
            "",
            "v",
            "'s'",
            "1",
            "-2.5e3",
            ".nan",
            "+.inf",
            "-.Inf",
            "~",
            "null",
            "yes",
            "Off",
            "0o17",
            "0b101",
            "-0b11",
            "1_0",
            "18446744073709551615",
            "2001-02-03",
            "[a, 1, .nan]",
            "{}",
            "[]",
            "\"x\"",
            "'<<'",
            "<<",
        ];
        let mut below = testkit::rand::below_fn(0x1234_5678_9ABC_DEF1);
        let mut plain = 0;
        for _ in 0..20_000 {
            let mut s = String::new();
            let mut indent = 0;
            for _ in 0..1 + below(8) {
                s.push_str(&" ".repeat(indent));
                if below(6) == 0 {
                    s.push_str("- ");
                }
                s.push_str(KEYS[below(KEYS.len())]);
                s.push(':');
                if below(3) == 0 {
                    indent += 2;
                } else {
                    s.push(' ');
                    s.push_str(VALS[below(VALS.len())]);
                    if below(3) == 0 {
                        indent = indent.saturating_sub(2);
                    }
                }
                s.push('\n');
            }
            let Some(doc) = crate::fast::parse(&s) else {
                continue;
            };
            assert!(doc.plain);
            let general = decode(&doc, false, None);
            let mut d = Decoder::new(&doc);
            if let Some(r) = doc.root
                && d.plain::<gotmpl::Value>(r).is_ok()
            {
                plain += 1;
            }
            assert_eq!(decode(&doc, true, None), general, "{s:?}");
            // Root entries filtered, in a whole tree and in one whose skipped values the
            // fast path left out.
            let keep: KeyFilter = |k| k.len() % 2 == 1;
            assert_eq!(
                decode(&doc, true, Some(keep)),
                decode(&doc, false, Some(keep)),
                "{s:?}"
            );
            if let Some(doc) = crate::fast::parse_filtered(&s, keep) {
                assert_eq!(
                    decode(&doc, true, Some(keep)),
                    decode(&doc, false, Some(keep)),
                    "{s:?}"
                );
            }
        }
        assert!(plain > 2_000, "only {plain} documents took the plain path");
    }
}
