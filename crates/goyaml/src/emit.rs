//! The libyaml emitter as goyaml v2 (`yaml.Marshal`) and v3 (`Encoder` with indent 2) drive
//! it, for trees of JSON-like data: block mappings and sequences, `{}`/`[]` for empty ones,
//! and scalar style selection and writing (plain folding at 80 columns, quoting, literal
//! blocks).

use std::borrow::Cow;

use gotmpl::Value;

/// The direct path of [`Emitter::value_document`] gave up: the general one must run.
pub(crate) struct Bail;

/// Whether goyaml's reader takes `s` back from json.Marshal's text unchanged: no character it
/// rejects (DEL, C1 controls, U+FFFE/F) and no raw NEL (a line break inside a quoted scalar).
fn rereads_unchanged(s: &str) -> bool {
    if s.bytes().all(|b| b < 0x7F) {
        return true;
    }
    !s.chars().any(|c| {
        let v = c as u32;
        (0x7F..=0x9F).contains(&v) || v == 0xFFFE || v == 0xFFFF
    })
}

/// A node to emit.
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Which goyaml drives the emitter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// goyaml v2 `Marshal`: indentless sequences under keys, folding at 80 columns.
    V2,
    /// goyaml v3 `Encoder` with `SetIndent(2)`: indented sequences, no folding.
    V3,
}

pub(crate) struct Emitter {
    out: String,
    flavor: Flavor,
    best_indent: i64,
    best_width: i64,
    column: i64,
    whitespace: bool,
    indention: bool,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    // node contexts
    root_context: bool,
    sequence_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
    /// Whether the innermost open state is a block sequence item (v3's indent rule).
    in_seq_item: Vec<bool>,
}

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
        1
    }
}

#[inline]
fn at(v: &[u8], i: usize) -> u8 {
    v.get(i).copied().unwrap_or(0)
}
fn is_space(v: &[u8], i: usize) -> bool {
    at(v, i) == b' '
}
fn is_blank(v: &[u8], i: usize) -> bool {
    matches!(at(v, i), b' ' | b'\t')
}
fn is_break(v: &[u8], i: usize) -> bool {
    let c = at(v, i);
    c == b'\r'
        || c == b'\n'
        || (c == 0xC2 && at(v, i + 1) == 0x85)
        || (c == 0xE2 && at(v, i + 1) == 0x80 && matches!(at(v, i + 2), 0xA8 | 0xA9))
}
fn is_blankz(v: &[u8], i: usize) -> bool {
    is_blank(v, i) || is_break(v, i) || i >= v.len()
}
fn is_printable(v: &[u8], i: usize) -> bool {
    let b = at(v, i);
    let b1 = at(v, i + 1);
    let b2 = at(v, i + 2);
    b == 0x0A
        || (0x20..=0x7E).contains(&b)
        || (b == 0xC2 && b1 >= 0xA0)
        || (b > 0xC2 && b < 0xED)
        || (b == 0xED && b1 < 0xA0)
        || b == 0xEE
        || (b == 0xEF && !(b1 == 0xBB && b2 == 0xBF) && !(b1 == 0xBF && (b2 == 0xBE || b2 == 0xBF)))
}
/// goyaml's `is_bom` ignores its index and looks at the start of the value: a value that
/// starts with a BOM gets every character escaped.
fn is_bom(v: &[u8], _i: usize) -> bool {
    at(v, 0) == 0xEF && at(v, 1) == 0xBB && at(v, 2) == 0xBF
}

/// Printable ASCII bytes other than space and the indicators `analyze` looks for past the
/// first character.
const QUIET: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7F {
        t[b] = !matches!(
            b as u8,
            b',' | b'?' | b'[' | b']' | b'{' | b'}' | b':' | b'#'
        );
        b += 1;
    }
    t
};

#[derive(Debug, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &[u8], v3: bool) -> Analysis {
    analyze_with(value, v3, true)
}

/// Whether `v` is a non-empty run of [`QUIET`] bytes whose first is no indicator there
/// either (nor the start of `---` or `...`): [`analyze`] finds nothing in it (every style
/// allowed, one line), so a plain scalar is written as it is.
#[inline]
fn quiet_plain(v: &[u8]) -> bool {
    match v.split_first() {
        Some((&c, rest)) => {
            QUIET[c as usize]
                && c != b'.'
                && !crate::scanner::is_indicator(c)
                && rest.iter().all(|&b| QUIET[b as usize])
        }
        None => false,
    }
}

/// libyaml's `yaml_emitter_analyze_scalar`; `skip_quiet` passes over runs of [`QUIET`] bytes
/// at once (the same result as one byte at a time).
#[inline(always)]
fn analyze_with(value: &[u8], v3: bool, skip_quiet: bool) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    if value.len() >= 3 && (value.starts_with(b"---") || value.starts_with(b"...")) {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut i = 0;
    while i < value.len() {
        if skip_quiet && i > 0 && QUIET[value[i] as usize] {
            // A run of printable ASCII that is neither blank nor an indicator after the
            // first character: all it does is reset the flags below.
            i += 1;
            while i < value.len() && QUIET[value[i] as usize] {
                i += 1;
            }
            previous_space = false;
            previous_break = false;
            preceded_by_whitespace = false;
            continue;
        }
        let w = width(value[i]);
        let followed_by_whitespace = i + w >= value.len() || is_blank(value, i + w);
        let c = value[i];
        if i == 0 {
            match c {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>'
                | b'\'' | b'"' | b'%' | b'@' | b'`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                b'?' | b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_indicators = true,
                b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if v3 && c == b'\t' {
            tab_characters = true;
        } else if !is_printable(value, i) {
            special_characters = true;
        }
        if is_space(value, i) {
            if i == 0 {
                leading_space = true;
            }
            if i + w == value.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(value, i) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + w == value.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(value, i);
        i += w;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tab_characters || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i = 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let n = i - st;
        if n == 0 {
            return false;
        }
        if n == 2 && b[st] > b'5' {
            // backtrack: regex would try one digit then fail on the next digit
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

impl Emitter {
    pub(crate) fn new(flavor: Flavor) -> Self {
        // Room for a typical `toYaml` result and nesting, so that they rarely grow.
        Emitter {
            out: String::with_capacity(256),
            flavor,
            best_indent: 2,
            best_width: if flavor == Flavor::V2 { 80 } else { i64::MAX },
            column: 0,
            whitespace: true,
            indention: true,
            indent: -1,
            indents: Vec::with_capacity(16),
            flow_level: 0,
            root_context: false,
            sequence_context: false,
            mapping_context: false,
            simple_key_context: false,
            in_seq_item: Vec::with_capacity(16),
        }
    }

    /// Emits one document (implicit start and end) and returns the text.
    pub(crate) fn document(mut self, root: &Node<'_>) -> String {
        self.in_seq_item.push(false);
        self.node(root, true, false, false, false);
        // document end
        self.write_indent();
        self.out
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }
    fn write(&mut self, v: &[u8], i: &mut usize) {
        let b = v[*i];
        if b < 0x80 {
            self.out.push(b as char);
            *i += 1;
        } else {
            let w = width(b).min(v.len() - *i);
            // Values are valid UTF-8 and `w` spans one character.
            self.out
                .push_str(std::str::from_utf8(&v[*i..*i + w]).unwrap_or("\u{FFFD}"));
            *i += w;
        }
        self.column += 1;
    }
    fn write_break(&mut self, v: &[u8], i: &mut usize) {
        if v[*i] == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(v, i);
            self.column = 0;
        }
    }
    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.column < indent {
            // The spaces at once (one `put` each costs a capacity check per space).
            let n = (indent - self.column) as usize;
            self.out.extend(std::iter::repeat_n(' ', n));
            self.column = indent;
        }
        self.whitespace = true;
        self.indention = true;
    }
    fn write_indicator(
        &mut self,
        ind: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(ind);
        // Indicators are ASCII: one column per byte.
        debug_assert!(ind.is_ascii());
        self.column += ind.len() as i64;
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            if self.flavor == Flavor::V3 {
                if *self.in_seq_item.last().unwrap_or(&false) {
                    self.indent += 2;
                } else {
                    self.indent =
                        self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
                }
            } else {
                self.indent += self.best_indent;
            }
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn set_context(&mut self, root: bool, sequence: bool, mapping: bool, simple_key: bool) {
        self.root_context = root;
        self.sequence_context = sequence;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
    }

    fn float(&mut self, f: f64) {
        let s = crate::gofmt::format_float_g(f);
        let s = match s.as_str() {
            "+Inf" => ".inf".to_string(),
            "-Inf" => "-.inf".to_string(),
            "NaN" => ".nan".to_string(),
            _ => s,
        };
        self.scalar(&s, Style::Plain)
    }

    /// An empty collection (`[]`, `{}`), written in flow style.
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.write_indicator(close, false, false, false);
        self.pop_indent();
    }

    /// Opens a non-empty block sequence.
    fn begin_block_seq(&mut self) {
        let indentless = self.flavor == Flavor::V2 && self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
    }

    /// Starts a block sequence item (its node follows, then [`Self::end_item`]).
    fn begin_seq_item(&mut self) {
        self.write_indent();
        self.write_indicator("-", true, false, true);
        self.in_seq_item.push(true);
    }

    fn end_item(&mut self) {
        self.in_seq_item.pop();
    }

    /// Writes a block mapping key and its `:` (its value follows, then [`Self::end_item`]).
    fn map_key(&mut self, k: &str) {
        let kb = k.as_bytes();
        if let Some(&c) = kb.first()
            && kb.len() <= 128
            && !crate::decode::may_resolve_to_non_string(c)
            && quiet_plain(kb)
        {
            self.write_indent();
            // The common key (`name`, `app.kubernetes.io/name`), as the general code below
            // writes it: a simple key without line breaks, which `string` writes plain.
            self.in_seq_item.push(false);
            self.set_context(false, false, true, true);
            self.quiet_scalar(k);
            self.write_indicator(":", false, false, false);
            return;
        }
        self.map_key_general(k);
    }

    /// [`Emitter::map_key`] for any key.
    fn map_key_general(&mut self, k: &str) {
        self.write_indent();
        // No line break (`\n`, `\r`, NEL, U+2028/9): the non-ASCII ones need a look only
        // when the key has a non-ASCII byte.
        let kb = k.as_bytes();
        let simple = kb.len() <= 128
            && !kb.iter().any(|&b| b == b'\n' || b == b'\r')
            && (kb.is_ascii() || !k.contains(['\u{85}', '\u{2028}', '\u{2029}']));
        self.in_seq_item.push(false);
        if simple {
            self.set_context(false, false, true, true);
            self.string(k);
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indicator("?", true, false, true);
            self.set_context(false, false, true, false);
            self.string(k);
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
    }

    fn node(&mut self, n: &Node<'_>, root: bool, sequence: bool, mapping: bool, simple_key: bool) {
        self.set_context(root, sequence, mapping, simple_key);
        match n {
            Node::Null => self.scalar("null", Style::Plain),
            Node::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain),
            Node::Int(i) => self.scalar(itoa::Buffer::new().format(*i), Style::Plain),
            Node::Uint(u) => self.scalar(itoa::Buffer::new().format(*u), Style::Plain),
            Node::Float(f) => self.float(*f),
            Node::Str(s) => self.string(s),
            Node::Seq(items) => {
                if items.is_empty() || self.flow_level > 0 {
                    self.empty_flow("[", "]");
                    return;
                }
                self.begin_block_seq();
                for item in items {
                    self.begin_seq_item();
                    self.node(item, false, true, false, false);
                    self.end_item();
                }
                self.pop_indent();
            }
            Node::Map(entries) => {
                if entries.is_empty() || self.flow_level > 0 {
                    self.empty_flow("{", "}");
                    return;
                }
                self.increase_indent(false, false);
                for (k, v) in entries {
                    self.map_key(k);
                    self.node(v, false, false, true, false);
                    self.end_item();
                }
                self.pop_indent();
            }
        }
    }

    /// Emits a template value as `sigs.k8s.io/yaml.Marshal` does (json.Marshal, goyaml v2's
    /// re-reading of that JSON, its emitter) without building a node tree, for the values
    /// that round trip unchanged: [`Bail`] on anything the general path must handle
    /// (marshal and reader errors, raw NEL line folding, over-long keys).
    pub(crate) fn value_document(mut self, v: &Value) -> Result<String, Bail> {
        self.in_seq_item.push(false);
        self.value(v, true, false, false, false)?;
        self.write_indent();
        Ok(self.out)
    }

    fn value(
        &mut self,
        v: &Value,
        root: bool,
        sequence: bool,
        mapping: bool,
        simple_key: bool,
    ) -> Result<(), Bail> {
        self.set_context(root, sequence, mapping, simple_key);
        match v {
            Value::Nil => self.scalar("null", Style::Plain),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain),
            Value::Int(i) | Value::Int64(i) => {
                self.scalar(itoa::Buffer::new().format(*i), Style::Plain)
            }
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(Bail);
                }
                match crate::json_number(*f) {
                    Node::Int(i) => self.scalar(itoa::Buffer::new().format(i), Style::Plain),
                    Node::Uint(u) => self.scalar(itoa::Buffer::new().format(u), Style::Plain),
                    _ => self.float(*f),
                }
            }
            Value::String(s) => {
                if !rereads_unchanged(s) {
                    return Err(Bail);
                }
                self.string(s)
            }
            v if v.is_typed_nil() => self.scalar("null", Style::Plain),
            Value::Bytes(b) => {
                use base64::Engine;
                self.string(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::List(l) => {
                if l.items.is_empty() || self.flow_level > 0 {
                    self.empty_flow("[", "]");
                    return Ok(());
                }
                self.begin_block_seq();
                for item in &l.items {
                    self.begin_seq_item();
                    self.value(item, false, true, false, false)?;
                    self.end_item();
                }
                self.pop_indent();
            }
            Value::Map(m) => {
                let entries = m.entries.borrow();
                if entries.is_empty() || self.flow_level > 0 {
                    self.empty_flow("{", "}");
                    return Ok(());
                }
                let mut sorted = Vec::with_capacity(entries.len());
                for (k, v) in entries.iter() {
                    if !rereads_unchanged(k) || crate::json_key_len(k) + 2 > 1024 {
                        return Err(Bail);
                    }
                    sorted.push((k.as_str(), v));
                }
                let sorted = crate::sort_entries(sorted, false);
                self.increase_indent(false, false);
                for (k, v) in sorted {
                    self.map_key(k);
                    self.value(v, false, false, true, false)?;
                    self.end_item();
                }
                self.pop_indent();
            }
            Value::Object(o) => match o.to_data() {
                Some(d) => self.value(&d, root, sequence, mapping, simple_key)?,
                None => self.empty_flow("{", "}"),
            },
        }
        Ok(())
    }

    fn string(&mut self, s: &str) {
        // A first byte that starts no number, boolean, null, merge key or special float (the
        // common case: a letter) resolves to a string and is no base-60 float nor one of v3's
        // booleans, so plain style is possible without resolving the text.
        if let Some(&c) = s.as_bytes().first()
            && !crate::decode::may_resolve_to_non_string(c)
        {
            if quiet_plain(s.as_bytes()) {
                // No line break, and what `scalar` writes at once.
                self.quiet_scalar(s);
            } else if s.contains('\n') {
                self.scalar(s, Style::Literal);
            } else {
                self.scalar_general(s, Style::Plain);
            }
            return;
        }
        let can_use_plain = {
            let plain_ok =
                matches!(crate::decode::resolve("", s), Ok((t, _)) if t == "tag:yaml.org,2002:str");
            plain_ok
                && !is_base60_float(s)
                && !(self.flavor == Flavor::V3
                    && matches!(
                        s,
                        "y" | "Y"
                            | "yes"
                            | "Yes"
                            | "YES"
                            | "on"
                            | "On"
                            | "ON"
                            | "n"
                            | "N"
                            | "no"
                            | "No"
                            | "NO"
                            | "off"
                            | "Off"
                            | "OFF"
                    ))
        };
        let style = if s.contains('\n') {
            Style::Literal
        } else if can_use_plain {
            Style::Plain
        } else {
            Style::Double
        };
        self.scalar(s, style);
    }

    fn scalar(&mut self, value: &str, requested: Style) {
        if requested == Style::Plain && quiet_plain(value.as_bytes()) {
            self.quiet_scalar(value);
            return;
        }
        self.scalar_general(value, requested);
    }

    /// A plain scalar for which [`quiet_plain`] holds, as `scalar_general` writes it: the
    /// analysis allows every style and the text has no space or break to fold at.
    #[inline]
    fn quiet_scalar(&mut self, value: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(value);
        self.column += value.len() as i64;
        self.whitespace = false;
        self.indention = false;
    }

    fn scalar_general(&mut self, value: &str, requested: Style) {
        let v = value.as_bytes();
        let a = analyze(v, self.flavor == Flavor::V3);
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed)
                || (self.flow_level == 0 && !a.block_plain_allowed)
            {
                style = Style::Single;
            }
            if v.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(v, allow_breaks),
            Style::Double => self.write_double(v, allow_breaks),
            Style::Literal => self.write_literal(v),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        let v = value.as_bytes();
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks && !spaces && self.column > self.best_width && !is_space(v, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(v, &mut i);
                // The rest of a run of ASCII that is neither a space nor a break, at once
                // (one character at a time would take this branch for each).
                let run = i;
                while i < v.len() && v[i] < 0x80 && !matches!(v[i], b' ' | b'\r' | b'\n') {
                    i += 1;
                }
                if i > run {
                    // ASCII, so whole characters.
                    self.out.push_str(value.get(run..i).unwrap_or_default());
                    self.column += (i - run) as i64;
                }
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, v: &[u8], allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < v.len() - 1
                    && !is_space(v, i + 1)
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if v[i] == b'\'' {
                    self.put('\'');
                }
                self.write(v, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, v: &[u8], allow_breaks: bool) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut spaces = false;
        self.write_indicator("\"", true, false, false);
        let mut i = 0;
        while i < v.len() {
            if !is_printable(v, i)
                || is_bom(v, i)
                || is_break(v, i)
                || v[i] == b'"'
                || v[i] == b'\\'
            {
                let w = width(v[i]);
                let ch = std::str::from_utf8(&v[i..(i + w).min(v.len())])
                    .ok()
                    .and_then(|s| s.chars().next())
                    .map(|c| c as u32)
                    .unwrap_or(0xFFFD);
                i += w;
                self.put('\\');
                let simple = match ch {
                    0x00 => Some('0'),
                    0x07 => Some('a'),
                    0x08 => Some('b'),
                    0x09 => Some('t'),
                    0x0A => Some('n'),
                    0x0B => Some('v'),
                    0x0C => Some('f'),
                    0x0D => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match simple {
                    Some(c) => self.put(c),
                    None => {
                        let (c, digits) = if ch <= 0xFF {
                            ('x', 2)
                        } else if ch <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(c);
                        for k in (0..digits).rev() {
                            self.put(HEX[((ch >> (k * 4)) & 0xF) as usize] as char);
                        }
                    }
                }
                spaces = false;
            } else if is_space(v, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < v.len() - 1
                {
                    self.write_indent();
                    if is_space(v, i + 1) {
                        self.put('\\');
                    }
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else {
                self.write(v, &mut i);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn block_hints(&mut self, v: &[u8]) {
        if is_space(v, 0) || is_break(v, 0) {
            let hint = char::from(b'0' + self.best_indent as u8).to_string();
            self.write_indicator(&hint, false, false, false);
        }
        let mut chomp = None;
        if v.is_empty() {
            chomp = Some("-");
        } else {
            let mut i = v.len() - 1;
            while i > 0 && v[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break(v, i) {
                chomp = Some("-");
            } else if i == 0 {
                chomp = Some("+");
            } else {
                i -= 1;
                while i > 0 && v[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                if is_break(v, i) {
                    chomp = Some("+");
                }
            }
        }
        if let Some(c) = chomp {
            self.write_indicator(c, false, false, false);
        }
    }

    fn write_literal(&mut self, v: &[u8]) {
        self.write_indicator("|", true, false, false);
        self.block_hints(v);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < v.len() {
            if is_break(v, i) {
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(v, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// goyaml's key order (`keyList.Less`) for string keys; `v3` adds its digit-run rule.
pub(crate) fn natural_less<C: Copy + Into<char>>(a: &[C], b: &[C], v3: bool) -> bool {
    let ar = |i: usize| -> char { a[i].into() };
    let br = |i: usize| -> char { b[i].into() };
    let (alen, blen) = (a.len(), b.len());
    let mut i = 0;
    let mut digits = false;
    while i < alen && i < blen {
        if ar(i) == br(i) {
            digits = ar(i).is_ascii_digit();
            i += 1;
            continue;
        }
        let al = ar(i).is_alphabetic();
        let bl = br(i).is_alphabetic();
        if al && bl {
            return ar(i) < br(i);
        }
        if al || bl {
            return if v3 && digits { al } else { bl };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar(i) == '0' || br(i) == '0' {
            let mut j = i as isize - 1;
            while j >= 0 && ar(j as usize).is_ascii_digit() {
                if ar(j as usize) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < alen && ar(ai).is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar(ai) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < blen && br(bi).is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br(bi) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar(i) < br(i);
    }
    alen < blen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output and state a plain scalar leaves, through `scalar` or `scalar_general`.
    fn emit_plain(s: &str, flavor: Flavor, ctx: usize, general: bool) -> (String, i64, bool, bool) {
        let mut e = Emitter::new(flavor);
        e.out.push_str("k:");
        e.column = [2, 79, 80, 81, 200][ctx % 5];
        e.whitespace = ctx.is_multiple_of(2);
        e.indention = ctx.is_multiple_of(3);
        e.flow_level = (ctx / 5) % 2;
        e.simple_key_context = (ctx / 10) % 2 == 1;
        e.indent = 2;
        if general {
            e.scalar_general(s, Style::Plain);
        } else {
            e.scalar(s, Style::Plain);
        }
        assert_eq!(e.indent, 2);
        (e.out, e.column, e.whitespace, e.indention)
    }

    #[test]
    fn quiet_plain_scalars_write_as_the_general_path() {
        const PARTS: &[&str] = &[
            "a", "Z9", "-", "- ", "#", " #", "a#", ":", ": ", ":x", "?", ",", "[", "]", "{", "}",
            " ", "\t", "\n", "é", "---", "...", "'", "\"", "!", "|", "%", "@", "`", "&", "*", ">",
            "~", "=", "/", ".", "_", "0", "$", "(", ")", "\\", "+", "^", "<",
        ];
        let mut below = testkit::rand::below_fn(0x5DEE_CE66_D1CE_4E5B);
        let mut quiet = 0;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..below(6) {
                s.push_str(PARTS[below(PARTS.len())]);
            }
            if quiet_plain(s.as_bytes()) {
                quiet += 1;
            }
            for flavor in [Flavor::V2, Flavor::V3] {
                for ctx in 0..20 {
                    assert_eq!(
                        emit_plain(&s, flavor, ctx, false),
                        emit_plain(&s, flavor, ctx, true),
                        "{s:?} {ctx}"
                    );
                }
            }
        }
        assert!(quiet > 2_000, "only {quiet} quiet scalars");
    }

    #[test]
    fn map_keys_write_as_the_general_path() {
        const PARTS: &[&str] = &[
            "a", "Z9", "-", "- ", "#", ":", ": ", "?", ",", "[", " ", "\n", "é", "'", "\"", "!",
            "|", "~", "y", "n", "0", "1.5", ".", "<", "/", "_", "true", "null", "\u{2028}",
        ];
        let mut below = testkit::rand::below_fn(0x0DDB_1A5E_5BAD_5EED);
        for _ in 0..20_000 {
            let mut k = String::new();
            for _ in 0..below(6) {
                k.push_str(PARTS[below(PARTS.len())]);
            }
            if below(50) == 0 {
                k = "k".repeat(120 + below(20));
            }
            for flavor in [Flavor::V2, Flavor::V3] {
                let run = |general: bool| {
                    let mut e = Emitter::new(flavor);
                    e.in_seq_item.push(false);
                    e.increase_indent(false, false);
                    e.column = below_col(&k);
                    if general {
                        e.map_key_general(&k);
                    } else {
                        e.map_key(&k);
                    }
                    (
                        e.out,
                        e.column,
                        e.whitespace,
                        e.indention,
                        e.in_seq_item.len(),
                    )
                };
                assert_eq!(run(false), run(true), "{k:?}");
            }
        }
    }

    /// Some column for the key's line (the text decides, so both runs get the same).
    fn below_col(k: &str) -> i64 {
        (k.len() % 3) as i64
    }

    #[test]
    fn first_bytes_that_cannot_resolve_need_no_resolving() {
        // `string` skips `resolve` for such first bytes: whatever follows, the text must
        // resolve to a string, be no base-60 float and none of v3's booleans.
        const TAILS: &[&str] = &[
            "",
            "1",
            "0",
            "x",
            "es",
            "rue",
            "alse",
            "ull",
            "n",
            "ff",
            ".5",
            "e3",
            "<",
            ":30",
            "_1",
            "0x1",
            "2001-01-01",
            "inf",
            ".inf",
            "AN",
        ];
        for c in 1..=0x7Fu8 {
            if crate::decode::may_resolve_to_non_string(c) {
                continue;
            }
            for t in TAILS {
                let s = format!("{}{t}", c as char);
                assert!(
                    matches!(crate::decode::resolve("", &s), Ok((t, _)) if t == "tag:yaml.org,2002:str"),
                    "{s:?}"
                );
                assert!(!is_base60_float(&s), "{s:?}");
            }
        }
        for c in [
            b'y', b'n', b'o', b'Y', b'N', b'O', b't', b'f', b'.', b'-', b'+', b'~', b'<',
        ] {
            assert!(crate::decode::may_resolve_to_non_string(c));
        }
        for c in b'0'..=b'9' {
            assert!(crate::decode::may_resolve_to_non_string(c));
        }
    }

    #[test]
    fn quiet_runs_analyze_like_single_bytes() {
        const PARTS: &[&str] = &[
            "a", "Z9", "-", "- ", "#", " #", "a#", ":", ": ", ":x", "?", ",", "[", "]", "{", "}",
            " ", "\t", "\n", "\r", "\u{85}", "\u{7f}", "\u{1}", "é", "\u{2028}", "\u{feff}", "---",
            "...", "'", "\"", "!", "|", "%", "@", "`", "&", "*", ">", "~", "=", "/",
        ];
        let mut seed = 3u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        for _ in 0..50000 {
            let mut s = String::new();
            for _ in 0..next(7) {
                s.push_str(PARTS[next(PARTS.len())]);
            }
            for v3 in [false, true] {
                assert_eq!(
                    analyze_with(s.as_bytes(), v3, true),
                    analyze_with(s.as_bytes(), v3, false),
                    "{s:?}"
                );
            }
        }
    }
}
