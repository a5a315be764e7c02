//! A YAML writer that formats like go-yaml v3 (the emitter sops uses): block style, 4-space
//! indentation by default, sequences indented under their key, go-yaml's quoting rules, literal
//! blocks for multi-line strings and comments as `#text` lines.

use super::resolve::{is_base60_float, is_old_bool, resolve_plain};
use crate::tree::{MapItem, Scalar, SeqItem, Value, go_format_g};

/// Writes documents separated by `---`.
pub fn emit(docs: &[Value], indent: usize) -> String {
    let mut e = Emitter {
        out: String::new(),
        best: indent.clamp(2, 9),
    };
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            e.out.push_str("---\n");
        }
        e.document(d);
    }
    e.out
}

struct Emitter {
    out: String,
    best: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// Items of a mapping (or the document root).
    Map,
    /// Just after a `- ` indicator.
    SeqItem,
}

impl Emitter {
    fn document(&mut self, v: &Value) {
        match v {
            Value::Map(items) if !items.is_empty() => self.map(items, 0, false),
            Value::Seq(items) if !items.is_empty() => self.seq(items, 0, false),
            Value::Map(_) => self.out.push_str("{}\n"),
            Value::Seq(_) => self.out.push_str("[]\n"),
            Value::Scalar(s) => {
                self.scalar(s, 0, self.best, false);
                self.out.push('\n');
            }
        }
    }

    /// go-yaml's indentation step: after `- ` the child aligns past the indicator; anything
    /// else goes to the next multiple of the indentation width.
    fn child_indent(&self, indent: usize, ctx: Ctx) -> usize {
        match ctx {
            Ctx::SeqItem => indent + 2,
            Ctx::Map => self.best * ((indent + self.best) / self.best),
        }
    }

    fn pad(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    /// Mapping items at column `indent`. With `inline_first`, the first line continues the
    /// current line (after `- `).
    fn map(&mut self, items: &[MapItem], indent: usize, mut inline_first: bool) {
        for item in items {
            if !inline_first {
                self.pad(indent);
            }
            inline_first = false;
            match item {
                MapItem::Comment(c) => {
                    self.out.push('#');
                    self.out.push_str(c);
                    self.out.push('\n');
                }
                MapItem::Entry(k, v) => {
                    self.key(k);
                    self.out.push(':');
                    self.value_after_indicator(v, indent, Ctx::Map);
                }
            }
        }
    }

    fn seq(&mut self, items: &[SeqItem], indent: usize, mut inline_first: bool) {
        for item in items {
            match item {
                SeqItem::Comment(c) => {
                    if !inline_first {
                        self.pad(indent);
                    }
                    self.out.push('#');
                    self.out.push_str(c);
                    self.out.push('\n');
                }
                SeqItem::Value(v) => {
                    // Leading comments of a mapping element are written before its `- `.
                    let v = match v {
                        Value::Map(m) => {
                            let lead = m
                                .iter()
                                .take_while(|i| matches!(i, MapItem::Comment(_)))
                                .count();
                            if lead > 0 && lead < m.len() {
                                for c in &m[..lead] {
                                    if let MapItem::Comment(c) = c {
                                        if !inline_first {
                                            self.pad(indent);
                                        }
                                        inline_first = false;
                                        self.out.push('#');
                                        self.out.push_str(c);
                                        self.out.push('\n');
                                    }
                                }
                                SeqElem::Map(&m[lead..])
                            } else {
                                SeqElem::Value(v)
                            }
                        }
                        other => SeqElem::Value(other),
                    };
                    if !inline_first {
                        self.pad(indent);
                    }
                    self.out.push('-');
                    match v {
                        SeqElem::Map(m) => {
                            self.out.push(' ');
                            let ci = self.child_indent(indent, Ctx::SeqItem);
                            self.map(m, ci, true);
                        }
                        SeqElem::Value(v) => self.value_after_indicator(v, indent, Ctx::SeqItem),
                    }
                }
            }
            inline_first = false;
        }
    }

    /// Writes a value after `key:` or `-` (the indicator is already written).
    fn value_after_indicator(&mut self, v: &Value, indent: usize, ctx: Ctx) {
        let ci = self.child_indent(indent, ctx);
        match v {
            Value::Map(items) if items.is_empty() => self.out.push_str(" {}\n"),
            Value::Seq(items) if items.is_empty() => self.out.push_str(" []\n"),
            Value::Map(items) => {
                if ctx == Ctx::SeqItem && !matches!(items.first(), Some(MapItem::Comment(_))) {
                    self.out.push(' ');
                    self.map(items, ci, true);
                } else {
                    self.out.push('\n');
                    self.map(items, ci, false);
                }
            }
            Value::Seq(items) => {
                if ctx == Ctx::SeqItem && !matches!(items.first(), Some(SeqItem::Comment(_))) {
                    self.out.push(' ');
                    self.seq(items, ci, true);
                } else {
                    self.out.push('\n');
                    self.seq(items, ci, false);
                }
            }
            Value::Scalar(s) => {
                self.out.push(' ');
                self.scalar(s, ci, ci - indent, false);
                if !self.out.ends_with('\n') {
                    self.out.push('\n');
                }
            }
        }
    }

    fn key(&mut self, k: &Scalar) {
        match k {
            Scalar::Str(s) => {
                let text = quote_string(s, true, 0, self.best, None);
                self.out.push_str(&text);
            }
            other => self.scalar(other, 0, self.best, true),
        }
    }

    fn scalar(&mut self, s: &Scalar, child_indent: usize, step: usize, is_key: bool) {
        let text = match s {
            Scalar::Null => "null".to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => {
                if f.is_nan() {
                    ".nan".into()
                } else if f.is_infinite() {
                    if *f > 0.0 {
                        ".inf".into()
                    } else {
                        "-.inf".into()
                    }
                } else {
                    go_format_g(*f)
                }
            }
            Scalar::Time(t) => t.clone(),
            Scalar::Str(st) => quote_string(st, is_key, child_indent, step, Some(())),
        };
        self.out.push_str(&text);
    }
}

enum SeqElem<'a> {
    Map(&'a [MapItem]),
    Value(&'a Value),
}

#[derive(Default)]
struct Analysis {
    flow_plain: bool,
    block_plain: bool,
    single: bool,
    block: bool,
    multiline: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

/// libyaml's `yaml_emitter_analyze_scalar` (go-yaml v3 variant).
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            flow_plain: false,
            block_plain: true,
            single: true,
            block: false,
            multiline: false,
        };
    }
    let mut block_ind = false;
    let mut flow_ind = false;
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_ws = match next {
            None => true,
            Some(x) => x == ' ' || x == '\t' || is_break(x),
        };
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_ind = true;
                    block_ind = true;
                }
                '?' | ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_ind = true,
                ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = Analysis {
        flow_plain: true,
        block_plain: true,
        single: true,
        block: true,
        multiline: line_breaks,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single = false;
    }
    if space_break || tabs || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_ind {
        a.flow_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

#[derive(PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Formats a string scalar as go-yaml v3 would. `indent` is the column of block scalar content.
/// `literal_ok` is `None` for keys.
fn quote_string(
    s: &str,
    is_key: bool,
    indent: usize,
    best: usize,
    literal_ok: Option<()>,
) -> String {
    let needs_double =
        !matches!(resolve_plain(s), Scalar::Str(_)) || is_base60_float(s) || is_old_bool(s);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if needs_double {
        Style::Double
    } else {
        Style::Plain
    };
    let a = analyze(s);
    let simple_key = is_key;
    if style == Style::Plain && (!a.block_plain || (s.is_empty() && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal
        && (!a.block || simple_key || literal_ok.is_none() || a.multiline && is_key)
    {
        style = Style::Double;
    }
    match style {
        Style::Plain => s.to_string(),
        Style::Single => format!("'{}'", s.replace('\'', "''")),
        Style::Double => double_quoted(s),
        Style::Literal => literal(s, indent, best),
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let escape = !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\';
        if !escape {
            out.push(c);
            continue;
        }
        out.push('\\');
        match c {
            '\0' => out.push('0'),
            '\x07' => out.push('a'),
            '\x08' => out.push('b'),
            '\t' => out.push('t'),
            '\n' => out.push('n'),
            '\x0b' => out.push('v'),
            '\x0c' => out.push('f'),
            '\r' => out.push('r'),
            '\x1b' => out.push('e'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '\u{85}' => out.push('N'),
            '\u{a0}' => out.push('_'),
            '\u{2028}' => out.push('L'),
            '\u{2029}' => out.push('P'),
            _ => {
                let v = c as u32;
                if v <= 0xFF {
                    out.push_str(&format!("x{v:02X}"));
                } else if v <= 0xFFFF {
                    out.push_str(&format!("u{v:04X}"));
                } else {
                    out.push_str(&format!("U{v:08X}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A literal block scalar (`|`, `|-`, `|+`) with its content at column `indent`.
fn literal(s: &str, indent: usize, best: usize) -> String {
    let mut out = String::from("|");
    let _ = best;
    if s.starts_with(' ') || s.starts_with('\n') {
        // Indentation indicator: the content's offset from its parent node.
        out.push_str(&best.clamp(1, 9).to_string());
    }
    if !s.ends_with('\n') {
        out.push('-');
    } else if s == "\n" || s.ends_with("\n\n") {
        out.push('+');
    }
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            for _ in 0..indent {
                out.push(' ');
            }
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_indicator_is_relative_to_parent() {
        let d = crate::yaml::parse("list:\n  - \"\\n\\nlin2: v2\"\n").unwrap();
        let out = emit(&d, 4);
        assert_eq!(out, "list:\n    - |2-\n\n\n      lin2: v2\n");
        assert_eq!(crate::yaml::parse(&out).unwrap(), d);
    }

    fn q(s: &str) -> String {
        quote_string(s, false, 4, 4, Some(()))
    }

    #[test]
    fn quoting_matches_go_yaml() {
        assert_eq!(q("nginx"), "nginx");
        assert_eq!(q("yes"), "\"yes\"");
        assert_eq!(q("123"), "\"123\"");
        assert_eq!(q("a: b"), "'a: b'");
        assert_eq!(q(" x"), "' x'");
        assert_eq!(q("- x"), "'- x'");
        assert_eq!(q("1:20"), "\"1:20\"");
        assert_eq!(q("tab\there"), "\"tab\\there\"");
        assert_eq!(q(""), "\"\"");
        assert_eq!(q("it's"), "it's");
        assert_eq!(q("#x"), "'#x'");
        assert_eq!(q("a #b"), "'a #b'");
        assert_eq!(q("a#b"), "a#b");
        assert_eq!(q("2024-01-01"), "\"2024-01-01\"");
        assert_eq!(q("\u{1F600}"), "\"\\U0001F600\"");
        assert_eq!(q("line1\nline2"), "|-\n    line1\n    line2\n");
        assert_eq!(q("line1\n\nline2\n"), "|\n    line1\n\n    line2\n");
        assert_eq!(q("x\n\n"), "|+\n    x\n\n");
        assert_eq!(q("a \nb"), "\"a \\nb\"");
        assert_eq!(
            q("ENC[AES256_GCM,data:yA==,iv:x,tag:y,type:int]"),
            "ENC[AES256_GCM,data:yA==,iv:x,tag:y,type:int]"
        );
    }
}
