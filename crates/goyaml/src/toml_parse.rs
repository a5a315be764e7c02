//! BurntSushi/toml v1.6's lexer and parser (a port of their states and checks), so that
//! `fromToml` accepts the same documents and fails with the same messages as Helm.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::Error;
use crate::gofmt::go_quote;
use crate::toml::{TomlDatetime, TomlZone};

/// A decoded TOML value.
pub(crate) enum Tv {
    Map(BTreeMap<String, Tv>),
    /// `[[array.of.tables]]`: Go's `[]map[string]any`.
    Tables(Vec<BTreeMap<String, Tv>>),
    Array(Vec<Tv>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(TomlDatetime),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum It {
    Error,
    Eof,
    Text,
    String,
    StringEsc,
    RawString,
    MultilineString,
    RawMultilineString,
    Bool,
    Integer,
    Float,
    Datetime,
    Array,
    ArrayEnd,
    TableStart,
    TableEnd,
    ArrayTableStart,
    ArrayTableEnd,
    KeyStart,
    KeyEnd,
    CommentStart,
    InlineTableStart,
    InlineTableEnd,
}

#[derive(Clone, Copy, Debug, Default)]
struct Pos {
    line: usize,
}

#[derive(Clone, Debug)]
struct Item {
    typ: It,
    val: String,
    err: Option<String>,
    pos: Pos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Top,
    TopEnd,
    TableStart,
    TableEnd,
    ArrayTableEnd,
    TableNameStart,
    TableNameEnd,
    BareName,
    QuotedName,
    KeyStart,
    KeyNameStart,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    InlineTableValue,
    InlineTableValueEnd,
    InlineTableEnd,
    String,
    MultilineString,
    RawString,
    MultilineRawString,
    MultilineStringEscape,
    StringEscape,
    HexEscape,
    ShortUnicodeEscape,
    LongUnicodeEscape,
    NumberOrDateStart,
    NumberOrDate,
    Datetime,
    HexInteger,
    OctalInteger,
    BinaryInteger,
    DecimalNumber,
    DecimalNumberStart,
    BaseNumberOrDate,
    Float,
    Bool,
    CommentStart,
    Comment,
}

const EOF: char = '\0';

struct Lexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    line: usize,
    state: Option<St>,
    items: std::collections::VecDeque<Item>,
    esc: bool,
    prev_widths: [usize; 4],
    nprev: usize,
    at_eof: bool,
    stack: Vec<St>,
}

fn is_whitespace(r: char) -> bool {
    r == '\t' || r == ' '
}
fn is_nl(r: char) -> bool {
    r == '\n' || r == '\r'
}
fn is_control(r: char) -> bool {
    !matches!(r, '\t' | '\r' | '\n') && ((r as u32) <= 0x1f || r as u32 == 0x7f)
}
fn is_digit(r: char) -> bool {
    r.is_ascii_digit()
}
fn is_binary(r: char) -> bool {
    r == '0' || r == '1'
}
fn is_octal(r: char) -> bool {
    ('0'..='7').contains(&r)
}
fn is_hex(r: char) -> bool {
    r.is_ascii_hexdigit()
}
fn is_bare_key_char(r: char) -> bool {
    r.is_ascii_alphanumeric() || r == '_' || r == '-'
}

/// Go's `%q` of a rune (`strconv.QuoteRune`).
fn q_rune(r: char) -> String {
    match r {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        _ => {
            let q = go_quote(&r.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn rune_or_eof(r: char) -> String {
    if r == EOF {
        "end of file".into()
    } else {
        format!("'{r}'")
    }
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Self {
        Lexer {
            input,
            start: 0,
            pos: 0,
            line: 1,
            state: Some(St::Top),
            items: Default::default(),
            esc: false,
            prev_widths: [0; 4],
            nprev: 0,
            at_eof: false,
            stack: Vec::new(),
        }
    }

    fn next_item(&mut self) -> Item {
        loop {
            if let Some(it) = self.items.pop_front() {
                return it;
            }
            match self.state {
                Some(s) => self.state = self.step(s),
                None => {
                    return Item {
                        typ: It::Eof,
                        val: String::new(),
                        err: None,
                        pos: Pos { line: self.line },
                    };
                }
            }
        }
    }

    fn push(&mut self, s: St) {
        self.stack.push(s);
    }
    fn pop(&mut self) -> Option<St> {
        self.stack.pop()
    }
    fn current(&self) -> &str {
        self.input.get(self.start..self.pos).unwrap_or("")
    }
    fn get_pos(&self) -> Pos {
        Pos { line: self.line }
    }
    fn emit(&mut self, typ: It) {
        let val = self.current().to_string();
        self.items.push_back(Item {
            typ,
            val,
            err: None,
            pos: self.get_pos(),
        });
        self.start = self.pos;
    }
    fn emit_trim(&mut self, typ: It) {
        let val = self.current().trim().to_string();
        self.items.push_back(Item {
            typ,
            val,
            err: None,
            pos: self.get_pos(),
        });
        self.start = self.pos;
    }
    fn next(&mut self) -> char {
        if self.at_eof {
            return EOF;
        }
        if self.pos >= self.input.len() {
            self.at_eof = true;
            return EOF;
        }
        let b = self.input.as_bytes();
        if b[self.pos] == b'\n' {
            self.line += 1;
        }
        self.prev_widths[3] = self.prev_widths[2];
        self.prev_widths[2] = self.prev_widths[1];
        self.prev_widths[1] = self.prev_widths[0];
        if self.nprev < 4 {
            self.nprev += 1;
        }
        let r = self.input[self.pos..].chars().next().unwrap_or(EOF);
        let w = r.len_utf8();
        if is_control(r)
            || (r == '\r' && (self.input.len() - 1 == self.pos || b[self.pos + 1] != b'\n'))
        {
            self.error_msg(format!(
                "TOML files cannot contain control characters: '0x{:02x}'",
                r as u32
            ));
            return char::REPLACEMENT_CHARACTER;
        }
        self.prev_widths[0] = w;
        self.pos += w;
        r
    }
    fn ignore(&mut self) {
        self.start = self.pos;
    }
    fn backup(&mut self) {
        if self.at_eof {
            self.at_eof = false;
            return;
        }
        if self.nprev < 1 {
            return;
        }
        let w = self.prev_widths[0];
        self.prev_widths[0] = self.prev_widths[1];
        self.prev_widths[1] = self.prev_widths[2];
        self.prev_widths[2] = self.prev_widths[3];
        self.nprev -= 1;
        self.pos -= w;
        if self.pos < self.input.len() && self.input.as_bytes()[self.pos] == b'\n' {
            self.line -= 1;
        }
    }
    fn accept(&mut self, valid: char) -> bool {
        if self.next() == valid {
            return true;
        }
        self.backup();
        false
    }
    fn peek(&mut self) -> char {
        let r = self.next();
        self.backup();
        r
    }
    fn skip_ws(&mut self) {
        loop {
            let r = self.next();
            if is_whitespace(r) {
                continue;
            }
            self.backup();
            self.ignore();
            return;
        }
    }

    fn error_msg(&mut self, msg: String) -> Option<St> {
        if self.at_eof {
            return self.error_prev_line(msg);
        }
        self.items.push_back(Item {
            typ: It::Error,
            val: String::new(),
            err: Some(msg),
            pos: self.get_pos(),
        });
        None
    }
    fn error_prev_line(&mut self, msg: String) -> Option<St> {
        let mut pos = self.get_pos();
        pos.line = pos.line.saturating_sub(1);
        self.items.push_back(Item {
            typ: It::Error,
            val: String::new(),
            err: Some(msg),
            pos,
        });
        None
    }
    fn errorf(&mut self, msg: String) -> Option<St> {
        let mut pos = self.get_pos();
        if self.at_eof && self.pos >= 1 && self.input.as_bytes()[self.pos - 1] == b'\n' {
            pos.line -= 1;
        }
        self.items.push_back(Item {
            typ: It::Error,
            val: String::new(),
            err: Some(msg),
            pos,
        });
        None
    }

    fn step(&mut self, s: St) -> Option<St> {
        match s {
            St::Top => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::Top);
                }
                match r {
                    '#' => {
                        self.push(St::Top);
                        return Some(St::CommentStart);
                    }
                    '[' => return Some(St::TableStart),
                    EOF => {
                        if self.pos > self.start {
                            return self.errorf("unexpected EOF".into());
                        }
                        self.emit(It::Eof);
                        return None;
                    }
                    _ => {}
                }
                self.backup();
                self.push(St::TopEnd);
                Some(St::KeyStart)
            }
            St::TopEnd => {
                let r = self.next();
                if r == '#' {
                    self.push(St::Top);
                    return Some(St::CommentStart);
                }
                if is_whitespace(r) {
                    return Some(St::TopEnd);
                }
                if is_nl(r) {
                    self.ignore();
                    return Some(St::Top);
                }
                if r == EOF {
                    self.emit(It::Eof);
                    return None;
                }
                self.errorf(format!(
                    "expected a top-level item to end with a newline, comment, or EOF, but got {} instead",
                    q_rune(r)
                ))
            }
            St::TableStart => {
                if self.peek() == '[' {
                    self.next();
                    self.emit(It::ArrayTableStart);
                    self.push(St::ArrayTableEnd);
                } else {
                    self.emit(It::TableStart);
                    self.push(St::TableEnd);
                }
                Some(St::TableNameStart)
            }
            St::TableEnd => {
                self.emit(It::TableEnd);
                Some(St::TopEnd)
            }
            St::ArrayTableEnd => {
                let r = self.next();
                if r != ']' {
                    return self.errorf(format!(
                        "expected end of table array name delimiter ']', but got {} instead",
                        q_rune(r)
                    ));
                }
                self.emit(It::ArrayTableEnd);
                Some(St::TopEnd)
            }
            St::TableNameStart => {
                self.skip_ws();
                let r = self.peek();
                if r == ']' || r == EOF {
                    return self.errorf(
                        "unexpected end of table name (table names cannot be empty)".into(),
                    );
                }
                if r == '.' {
                    return self
                        .errorf("unexpected table separator (table names cannot be empty)".into());
                }
                if r == '"' || r == '\'' {
                    self.ignore();
                    self.push(St::TableNameEnd);
                    return Some(St::QuotedName);
                }
                self.push(St::TableNameEnd);
                Some(St::BareName)
            }
            St::TableNameEnd => {
                self.skip_ws();
                let r = self.next();
                if r == '.' {
                    self.ignore();
                    return Some(St::TableNameStart);
                }
                if r == ']' {
                    return self.pop();
                }
                self.errorf(format!(
                    "expected '.' or ']' to end table name, but got {} instead",
                    q_rune(r)
                ))
            }
            St::BareName => {
                let r = self.next();
                if is_bare_key_char(r) {
                    return Some(St::BareName);
                }
                self.backup();
                self.emit(It::Text);
                self.pop()
            }
            St::QuotedName => {
                let r = self.next();
                match r {
                    '"' => {
                        self.ignore();
                        Some(St::String)
                    }
                    '\'' => {
                        self.ignore();
                        Some(St::RawString)
                    }
                    r if is_whitespace(r) => {
                        self.ignore();
                        Some(St::Value)
                    }
                    EOF => self.errorf("unexpected EOF; expected value".into()),
                    r => self.errorf(format!("expected value but found {} instead", q_rune(r))),
                }
            }
            St::KeyStart => {
                self.skip_ws();
                let r = self.peek();
                if r == '=' || r == EOF {
                    return self.errorf("unexpected '=': key name appears blank".into());
                }
                if r == '.' {
                    return self.errorf("unexpected '.': keys cannot start with a '.'".into());
                }
                if r == '"' || r == '\'' {
                    self.ignore();
                }
                self.emit(It::KeyStart);
                Some(St::KeyNameStart)
            }
            St::KeyNameStart => {
                self.skip_ws();
                let r = self.peek();
                match r {
                    '"' | '\'' => {
                        self.ignore();
                        self.push(St::KeyEnd);
                        Some(St::QuotedName)
                    }
                    '=' | EOF => self.errorf("unexpected '='".into()),
                    '.' => self.errorf("unexpected '.'".into()),
                    _ => {
                        self.push(St::KeyEnd);
                        Some(St::BareName)
                    }
                }
            }
            St::KeyEnd => {
                self.skip_ws();
                let r = self.next();
                if is_whitespace(r) {
                    self.ignore();
                    return Some(St::KeyEnd);
                }
                match r {
                    EOF => self.errorf("unexpected EOF; expected key separator '='".into()),
                    '.' => {
                        self.ignore();
                        Some(St::KeyNameStart)
                    }
                    '=' => {
                        self.emit(It::KeyEnd);
                        self.ignore();
                        Some(St::Value)
                    }
                    '\n' => self.error_prev_line(format!(
                        "expected '.' or '=', but got {} instead",
                        q_rune(r)
                    )),
                    r => self.errorf(format!(
                        "expected '.' or '=', but got {} instead",
                        q_rune(r)
                    )),
                }
            }
            St::Value => self.lex_value(),
            St::ArrayValue => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::ArrayValue);
                }
                match r {
                    '#' => {
                        self.push(St::ArrayValue);
                        Some(St::CommentStart)
                    }
                    ',' => self.errorf("unexpected comma".into()),
                    ']' => Some(St::ArrayEnd),
                    _ => {
                        self.backup();
                        self.push(St::ArrayValueEnd);
                        Some(St::Value)
                    }
                }
            }
            St::ArrayValueEnd => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::ArrayValueEnd);
                }
                match r {
                    '#' => {
                        self.push(St::ArrayValueEnd);
                        Some(St::CommentStart)
                    }
                    ',' => {
                        self.ignore();
                        Some(St::ArrayValue)
                    }
                    ']' => Some(St::ArrayEnd),
                    r => self.errorf(format!(
                        "expected a comma (',') or array terminator (']'), but got {}",
                        rune_or_eof(r)
                    )),
                }
            }
            St::ArrayEnd => {
                self.ignore();
                self.emit(It::ArrayEnd);
                self.pop()
            }
            St::InlineTableValue => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::InlineTableValue);
                }
                match r {
                    '#' => {
                        self.push(St::InlineTableValue);
                        Some(St::CommentStart)
                    }
                    ',' => self.errorf("unexpected comma".into()),
                    '}' => Some(St::InlineTableEnd),
                    _ => {
                        self.backup();
                        self.push(St::InlineTableValueEnd);
                        Some(St::KeyStart)
                    }
                }
            }
            St::InlineTableValueEnd => {
                let r = self.next();
                if is_whitespace(r) || is_nl(r) {
                    self.ignore();
                    return Some(St::InlineTableValueEnd);
                }
                match r {
                    '#' => {
                        self.push(St::InlineTableValueEnd);
                        Some(St::CommentStart)
                    }
                    ',' => {
                        self.ignore();
                        self.skip_ws();
                        if self.peek() == '}' {
                            return Some(St::InlineTableValueEnd);
                        }
                        Some(St::InlineTableValue)
                    }
                    '}' => Some(St::InlineTableEnd),
                    r => self.errorf(format!(
                        "expected a comma or an inline table terminator '}}', but got {} instead",
                        rune_or_eof(r)
                    )),
                }
            }
            St::InlineTableEnd => {
                self.ignore();
                self.emit(It::InlineTableEnd);
                self.pop()
            }
            St::String => {
                let r = self.next();
                match r {
                    EOF => self.errorf("unexpected EOF; expected '\"'".into()),
                    r if is_nl(r) => self.error_prev_line("strings cannot contain newlines".into()),
                    '\\' => {
                        self.push(St::String);
                        Some(St::StringEscape)
                    }
                    '"' => {
                        self.backup();
                        if self.esc {
                            self.esc = false;
                            self.emit(It::StringEsc);
                        } else {
                            self.emit(It::String);
                        }
                        self.next();
                        self.ignore();
                        self.pop()
                    }
                    _ => Some(St::String),
                }
            }
            St::MultilineString => {
                let r = self.next();
                match r {
                    EOF => self.errorf("unexpected EOF; expected '\"\"\"'".into()),
                    '\\' => Some(St::MultilineStringEscape),
                    '"' => {
                        if self.accept('"') {
                            if self.accept('"') {
                                if self.peek() == '"' {
                                    let cur = self.current();
                                    if cur.ends_with("\"\"\"\"\"") && !cur.ends_with("\\\"\"\"\"\"")
                                    {
                                        return self.errorf("unexpected '\"\"\"\"\"\"'".into());
                                    }
                                    self.backup();
                                    self.backup();
                                    return Some(St::MultilineString);
                                }
                                self.backup();
                                self.backup();
                                self.backup();
                                self.esc = false;
                                self.emit(It::MultilineString);
                                self.next();
                                self.next();
                                self.next();
                                self.ignore();
                                return self.pop();
                            }
                            self.backup();
                        }
                        Some(St::MultilineString)
                    }
                    _ => Some(St::MultilineString),
                }
            }
            St::RawString => {
                let r = self.next();
                match r {
                    EOF => self.errorf("unexpected EOF; expected \"'\"".into()),
                    r if is_nl(r) => self.error_prev_line("strings cannot contain newlines".into()),
                    '\'' => {
                        self.backup();
                        self.emit(It::RawString);
                        self.next();
                        self.ignore();
                        self.pop()
                    }
                    _ => Some(St::RawString),
                }
            }
            St::MultilineRawString => {
                let r = self.next();
                match r {
                    EOF => self.errorf("unexpected EOF; expected \"'''\"".into()),
                    '\'' => {
                        if self.accept('\'') {
                            if self.accept('\'') {
                                if self.peek() == '\'' {
                                    if self.current().ends_with("'''''") {
                                        return self.errorf("unexpected \"''''''\"".into());
                                    }
                                    self.backup();
                                    self.backup();
                                    return Some(St::MultilineRawString);
                                }
                                self.backup();
                                self.backup();
                                self.backup();
                                self.emit(It::RawMultilineString);
                                self.next();
                                self.next();
                                self.next();
                                self.ignore();
                                return self.pop();
                            }
                            self.backup();
                        }
                        Some(St::MultilineRawString)
                    }
                    _ => Some(St::MultilineRawString),
                }
            }
            St::MultilineStringEscape => {
                if is_nl(self.next()) {
                    return Some(St::MultilineString);
                }
                self.backup();
                self.push(St::MultilineString);
                self.step(St::StringEscape)
            }
            St::StringEscape => {
                self.esc = true;
                let r = self.next();
                match r {
                    'e' | 'b' | 't' | 'n' | 'f' | 'r' | '"' | ' ' | '\t' | '\\' => self.pop(),
                    'x' => Some(St::HexEscape),
                    'u' => Some(St::ShortUnicodeEscape),
                    'U' => Some(St::LongUnicodeEscape),
                    r => self.error_msg(format!("invalid escape in string '\\{r}'")),
                }
            }
            St::HexEscape => self.hex_digits(2, "two", 'x'),
            St::ShortUnicodeEscape => self.hex_digits(4, "four", 'u'),
            St::LongUnicodeEscape => self.hex_digits(8, "eight", 'U'),
            St::NumberOrDateStart => {
                if self.next() == '0' {
                    return Some(St::BaseNumberOrDate);
                }
                Some(St::NumberOrDate)
            }
            St::NumberOrDate => {
                let r = self.next();
                if is_digit(r) {
                    return Some(St::NumberOrDate);
                }
                match r {
                    '-' | ':' => Some(St::Datetime),
                    '_' => Some(St::DecimalNumber),
                    '.' | 'e' | 'E' => Some(St::Float),
                    _ => {
                        self.backup();
                        self.emit(It::Integer);
                        self.pop()
                    }
                }
            }
            St::Datetime => {
                let r = self.next();
                if is_digit(r) || matches!(r, '-' | ':' | 'T' | 't' | ' ' | '.' | 'Z' | 'z' | '+') {
                    return Some(St::Datetime);
                }
                self.backup();
                self.emit_trim(It::Datetime);
                self.pop()
            }
            St::HexInteger => self.base_integer(is_hex, St::HexInteger),
            St::OctalInteger => self.base_integer(is_octal, St::OctalInteger),
            St::BinaryInteger => self.base_integer(is_binary, St::BinaryInteger),
            St::DecimalNumber => {
                let r = self.next();
                if is_digit(r) {
                    return Some(St::DecimalNumber);
                }
                match r {
                    '.' | 'e' | 'E' => Some(St::Float),
                    '_' => Some(St::DecimalNumber),
                    _ => {
                        self.backup();
                        self.emit(It::Integer);
                        self.pop()
                    }
                }
            }
            St::DecimalNumberStart => {
                let r = self.next();
                match r {
                    'i' => {
                        if !self.accept('n') || !self.accept('f') {
                            let c = self.current().to_string();
                            return self.errorf(format!("invalid float: '{c}'"));
                        }
                        self.emit(It::Float);
                        return self.pop();
                    }
                    'n' => {
                        if !self.accept('a') || !self.accept('n') {
                            let c = self.current().to_string();
                            return self.errorf(format!("invalid float: '{c}'"));
                        }
                        self.emit(It::Float);
                        return self.pop();
                    }
                    '0' => {
                        let p = self.peek();
                        if matches!(p, 'b' | 'o' | 'x') {
                            let c = self.current().to_string();
                            return self.errorf(format!(
                                "cannot use sign with non-decimal numbers: '{c}{p}'"
                            ));
                        }
                    }
                    '.' => return self.errorf("floats must start with a digit, not '.'".into()),
                    _ => {}
                }
                if is_digit(r) {
                    return Some(St::DecimalNumber);
                }
                self.errorf(format!("expected a digit but got {}", q_rune(r)))
            }
            St::BaseNumberOrDate => {
                let r = self.next();
                if is_digit(r) {
                    return Some(St::NumberOrDate);
                }
                match r {
                    '_' => Some(St::DecimalNumber),
                    '.' | 'e' | 'E' => Some(St::Float),
                    'b' | 'o' | 'x' => {
                        let (pred, name, next): (fn(char) -> bool, &str, St) = match r {
                            'b' => (is_binary, "a binary", St::BinaryInteger),
                            'o' => (is_octal, "an octal", St::OctalInteger),
                            _ => (is_hex, "a hexadecimal", St::HexInteger),
                        };
                        let p = self.peek();
                        if !pred(p) {
                            let c = self.current().to_string();
                            self.errorf(format!("not {name} number: '{c}{p}'"));
                        }
                        Some(next)
                    }
                    _ => {
                        self.backup();
                        self.emit(It::Integer);
                        self.pop()
                    }
                }
            }
            St::Float => {
                let r = self.next();
                if is_digit(r) || matches!(r, '_' | '.' | '-' | '+' | 'e' | 'E') {
                    return Some(St::Float);
                }
                self.backup();
                self.emit(It::Float);
                self.pop()
            }
            St::Bool => {
                let mut rs = String::new();
                loop {
                    let r = self.next();
                    if !r.is_alphabetic() {
                        self.backup();
                        break;
                    }
                    rs.push(r);
                }
                if rs == "true" || rs == "false" {
                    self.emit(It::Bool);
                    return self.pop();
                }
                self.errorf(format!(
                    "expected value but found {} instead",
                    go_quote(&rs)
                ))
            }
            St::CommentStart => {
                self.ignore();
                self.emit(It::CommentStart);
                Some(St::Comment)
            }
            St::Comment => {
                let r = self.next();
                if is_nl(r) || r == EOF {
                    self.backup();
                    self.emit(It::Text);
                    return self.pop();
                }
                Some(St::Comment)
            }
        }
    }

    fn hex_digits(&mut self, n: usize, word: &str, esc: char) -> Option<St> {
        for _ in 0..n {
            let r = self.next();
            if !is_hex(r) {
                let c = go_quote(self.current());
                return self.errorf(format!(
                    "expected {word} hexadecimal digits after '\\{esc}', but got {c} instead"
                ));
            }
        }
        self.pop()
    }

    fn base_integer(&mut self, pred: fn(char) -> bool, same: St) -> Option<St> {
        let r = self.next();
        if pred(r) || r == '_' {
            return Some(same);
        }
        self.backup();
        self.emit(It::Integer);
        self.pop()
    }

    fn lex_value(&mut self) -> Option<St> {
        let r = self.next();
        if is_whitespace(r) {
            self.ignore();
            return Some(St::Value);
        }
        if is_digit(r) {
            self.backup();
            return Some(St::NumberOrDateStart);
        }
        match r {
            '[' => {
                self.ignore();
                self.emit(It::Array);
                return Some(St::ArrayValue);
            }
            '{' => {
                self.ignore();
                self.emit(It::InlineTableStart);
                return Some(St::InlineTableValue);
            }
            '"' => {
                if self.accept('"') {
                    if self.accept('"') {
                        self.ignore();
                        return Some(St::MultilineString);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(St::String);
            }
            '\'' => {
                if self.accept('\'') {
                    if self.accept('\'') {
                        self.ignore();
                        return Some(St::MultilineRawString);
                    }
                    self.backup();
                }
                self.ignore();
                return Some(St::RawString);
            }
            '.' => return self.errorf("floats must start with a digit, not '.'".into()),
            'i' | 'n'
                if (self.accept('n') && self.accept('f'))
                    || (self.accept('a') && self.accept('n')) =>
            {
                self.emit(It::Float);
                return self.pop();
            }
            '-' | '+' => return Some(St::DecimalNumberStart),
            _ => {}
        }
        if r.is_alphabetic() {
            self.backup();
            return Some(St::Bool);
        }
        if r == EOF {
            return self.errorf("unexpected EOF; expected value".into());
        }
        if r == '\n' {
            return self.error_prev_line(format!("expected value but found {} instead", q_rune(r)));
        }
        self.errorf(format!("expected value but found {} instead", q_rune(r)))
    }
}

// ---------------------------------------------------------------- parser

type Map = BTreeMap<String, Tv>;

/// A parse failure: message, line, and the key being parsed.
struct Fail {
    msg: String,
    line: usize,
    last_key: String,
}

type R<T> = Result<T, Fail>;

/// BurntSushi's `Key.String()`: dotted, pieces quoted when not bare.
fn key_string(k: &[String]) -> String {
    let mut out = String::new();
    for (i, kk) in k.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if kk.is_empty() {
            out.push_str("\"\"");
        } else if kk.chars().all(is_bare_key_char) {
            out.push_str(kk);
        } else {
            out.push('"');
            for c in kk.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\u{c}' => out.push_str("\\f"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        out.push_str(&format!("\\u{:04x}", c as u32))
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
    }
    out
}

struct Parser<'a> {
    lx: Lexer<'a>,
    mapping: Map,
    context: Vec<String>,
    current_key: String,
    /// Keys whose type is an array (`p.keyInfo[...] == tomlArray`).
    arrays: HashSet<String>,
    types: HashMap<String, bool>,
    implicits: HashSet<String>,
    pos: Pos,
}

enum Nav {
    /// Hit a value that is neither a table nor an array of tables at this depth.
    NotTable(usize),
    /// A context piece that does not exist.
    Missing,
}

/// Follows `path` from `map` the way the Go parser walks `hashContext`.
fn navigate<'m>(map: &'m mut Map, path: &[String]) -> Result<&'m mut Map, Nav> {
    let mut cur = map;
    for (i, k) in path.iter().enumerate() {
        cur = match cur.get_mut(k) {
            None => return Err(Nav::Missing),
            Some(Tv::Tables(t)) => match t.last_mut() {
                Some(m) => m,
                None => return Err(Nav::NotTable(i)),
            },
            Some(Tv::Map(m)) => m,
            Some(_) => return Err(Nav::NotTable(i)),
        };
    }
    Ok(cur)
}

impl<'a> Parser<'a> {
    fn current(&self) -> String {
        if self.current_key.is_empty() {
            return key_string(&self.context);
        }
        if self.context.is_empty() {
            return self.current_key.clone();
        }
        format!(
            "{}.{}",
            key_string(&self.context),
            key_string(std::slice::from_ref(&self.current_key))
        )
    }

    fn fail_at(&self, line: usize, msg: String) -> Fail {
        Fail {
            msg,
            line,
            last_key: self.current(),
        }
    }

    fn panicf(&self, msg: String) -> Fail {
        self.fail_at(self.pos.line, msg)
    }

    fn next(&mut self) -> R<Item> {
        let it = self.lx.next_item();
        if it.typ == It::Error {
            let msg = it.err.clone().unwrap_or(it.val.clone());
            return Err(self.fail_at(it.pos.line, msg));
        }
        Ok(it)
    }

    fn next_pos(&mut self) -> R<Item> {
        let it = self.next()?;
        self.pos = it.pos;
        Ok(it)
    }

    fn expect_text(&mut self) -> R<()> {
        self.next()?;
        Ok(())
    }

    fn read_key(&mut self, first: Item, end: It) -> R<Vec<String>> {
        let mut key = Vec::new();
        let mut k = first;
        while k.typ != end && k.typ != It::Eof {
            key.push(self.key_piece(&k)?);
            k = self.next()?;
        }
        Ok(key)
    }

    fn key_piece(&mut self, it: &Item) -> R<String> {
        match it.typ {
            It::Text => Ok(it.val.clone()),
            _ => match self.value(it.clone(), false)? {
                Tv::Str(s) => Ok(s),
                _ => Ok(String::new()),
            },
        }
    }

    fn top_level(&mut self, item: Item) -> R<()> {
        match item.typ {
            It::CommentStart => self.expect_text(),
            It::TableStart | It::ArrayTableStart => {
                let array = item.typ == It::ArrayTableStart;
                let end = if array {
                    It::ArrayTableEnd
                } else {
                    It::TableEnd
                };
                let name = self.next_pos()?;
                let key = self.read_key(name, end)?;
                self.add_context(&key, array)?;
                // A table or array of tables is never of type array here.
                self.set_type("", false);
                Ok(())
            }
            It::KeyStart => {
                let outer = self.context.clone();
                let k = self.next_pos()?;
                let key = self.read_key(k, It::KeyEnd)?;
                self.current_key = key.last().cloned().unwrap_or_default();
                let parent = &key[..key.len().saturating_sub(1)];
                for piece in parent {
                    let mut ctx = self.context.clone();
                    ctx.push(piece.clone());
                    self.add_implicit_context(&ctx)?;
                }
                let v_item = self.next()?;
                let is_array = v_item.typ == It::Array;
                let val = self.value(v_item, false)?;
                let ck = self.current_key.clone();
                self.set_value(&ck, val)?;
                self.set_type(&ck, is_array);
                self.context = outer;
                self.current_key.clear();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn set_type(&mut self, key: &str, is_array: bool) {
        let mut kc = self.context.clone();
        if !key.is_empty() {
            kc.push(key.to_string());
        }
        if kc.is_empty() {
            kc.push(String::new());
        }
        let ks = key_string(&kc);
        if is_array {
            self.arrays.insert(ks.clone());
        } else {
            self.arrays.remove(&ks);
        }
        self.types.insert(ks, is_array);
    }

    fn add_implicit(&mut self, key: &[String]) {
        self.implicits.insert(key_string(key));
    }
    fn remove_implicit(&mut self, key: &[String]) {
        self.implicits.remove(&key_string(key));
    }
    fn is_implicit(&self, key: &[String]) -> bool {
        self.implicits.contains(&key_string(key))
    }
    fn add_implicit_context(&mut self, key: &[String]) -> R<()> {
        self.add_implicit(key);
        self.add_context(key, false)
    }

    fn add_context(&mut self, key: &[String], array: bool) -> R<()> {
        let parent = &key[..key.len().saturating_sub(1)];
        let mut key_context: Vec<String> = Vec::new();
        for k in parent {
            key_context.push(k.clone());
            let exists = navigate(&mut self.mapping, &key_context[..key_context.len() - 1])
                .map(|h| h.contains_key(k))
                .unwrap_or(false);
            if !exists {
                self.add_implicit(&key_context);
                if let Ok(h) = navigate(&mut self.mapping, &key_context[..key_context.len() - 1]) {
                    h.insert(k.clone(), Tv::Map(Map::new()));
                }
            }
            if navigate(&mut self.mapping, &key_context).is_err() {
                let msg = format!(
                    "Key '{}' was already created as a hash.",
                    key_string(&key_context)
                );
                return Err(self.panicf(msg));
            }
        }
        self.context = key_context.clone();
        let last = key.last().cloned().unwrap_or_default();
        if array {
            let ok = match navigate(&mut self.mapping, &key_context) {
                Ok(h) => {
                    let entry = h
                        .entry(last.clone())
                        .or_insert_with(|| Tv::Tables(Vec::new()));
                    match entry {
                        Tv::Tables(t) => {
                            t.push(Map::new());
                            true
                        }
                        _ => false,
                    }
                }
                Err(_) => false,
            };
            if !ok {
                let msg = format!(
                    "Key '{}' was already created and cannot be used as an array.",
                    key_string(key)
                );
                return Err(self.panicf(msg));
            }
        } else {
            self.set_value(&last, Tv::Map(Map::new()))?;
        }
        self.context.push(last);
        Ok(())
    }

    fn set_value(&mut self, key: &str, value: Tv) -> R<()> {
        let ctx = self.context.clone();
        let hash = match navigate(&mut self.mapping, &ctx) {
            Ok(h) => h,
            Err(Nav::NotTable(i)) => {
                let msg = format!("Key '{}' has already been defined.", key_string(&ctx[..=i]));
                return Err(self.panicf(msg));
            }
            Err(Nav::Missing) => return Ok(()),
        };
        let mut key_context = ctx.clone();
        key_context.push(key.to_string());
        if hash.contains_key(key) {
            if self.arrays.contains(&key_string(&key_context)) {
                if !self.implicits.contains(&key_string(&key_context)) {
                    let msg = format!(
                        "Key '{}' has already been defined.",
                        key_string(&key_context)
                    );
                    return Err(self.panicf(msg));
                }
                if let Ok(hash) = navigate(&mut self.mapping, &ctx) {
                    hash.insert(key.to_string(), value);
                }
                self.remove_implicit(&key_context);
                return Ok(());
            }
            if self.is_implicit(&key_context) {
                self.remove_implicit(&key_context);
                return Ok(());
            }
            let msg = format!(
                "Key '{}' has already been defined.",
                key_string(&key_context)
            );
            return Err(self.panicf(msg));
        }
        hash.insert(key.to_string(), value);
        Ok(())
    }

    fn value(&mut self, it: Item, parent_is_array: bool) -> R<Tv> {
        match it.typ {
            It::String | It::RawString => Ok(Tv::Str(it.val)),
            It::StringEsc => Ok(Tv::Str(self.replace_escapes(&it, &it.val)?)),
            It::MultilineString => {
                let s = strip_escaped_newlines(strip_first_newline(&it.val));
                Ok(Tv::Str(self.replace_escapes(&it, &s)?))
            }
            It::RawMultilineString => Ok(Tv::Str(strip_first_newline(&it.val).to_string())),
            It::Integer => self.value_integer(&it),
            It::Float => self.value_float(&it),
            It::Bool => Ok(Tv::Bool(it.val == "true")),
            It::Datetime => self.value_datetime(&it),
            It::Array => {
                let ck = self.current_key.clone();
                self.set_type(&ck, true);
                let mut array = Vec::new();
                loop {
                    let it = self.next()?;
                    if it.typ == It::ArrayEnd || it.typ == It::Eof {
                        break;
                    }
                    if it.typ == It::CommentStart {
                        self.expect_text()?;
                        continue;
                    }
                    array.push(self.value(it, true)?);
                }
                Ok(Tv::Array(array))
            }
            It::InlineTableStart => self.value_inline_table(parent_is_array),
            _ => Err(self.fail_at(
                it.pos.line,
                format!("BUG: Unexpected value type: {:?}", it.typ),
            )),
        }
    }

    fn value_inline_table(&mut self, parent_is_array: bool) -> R<Tv> {
        let mut top = Map::new();
        let outer_context = self.context.clone();
        let outer_key = self.current_key.clone();
        self.context.push(self.current_key.clone());
        let prev_context = self.context.clone();
        self.current_key.clear();
        let ctx = self.context.clone();
        self.add_implicit(&ctx);
        self.add_context(&ctx, parent_is_array)?;
        loop {
            let it = self.next()?;
            if it.typ == It::InlineTableEnd || it.typ == It::Eof {
                break;
            }
            if it.typ == It::CommentStart {
                self.expect_text()?;
                continue;
            }
            let k = self.next_pos()?;
            let key = self.read_key(k, It::KeyEnd)?;
            self.current_key = key.last().cloned().unwrap_or_default();
            let parent: Vec<String> = key[..key.len().saturating_sub(1)].to_vec();
            for piece in &parent {
                let mut c = self.context.clone();
                c.push(piece.clone());
                self.add_implicit_context(&c)?;
            }
            let v_item = self.next()?;
            let is_array = v_item.typ == It::Array;
            let val = self.value(v_item, false)?;
            let ck = self.current_key.clone();
            let copy = tv_clone(&val);
            self.set_value(&ck, val)?;
            self.set_type(&ck, is_array);
            let mut hash = &mut top;
            for c in &parent {
                let entry = hash.entry(c.clone()).or_insert_with(|| Tv::Map(Map::new()));
                hash = match entry {
                    Tv::Map(m) => m,
                    _ => {
                        let msg =
                            format!("{} is not a table", go_quote(&key_string(&self.context)));
                        return Err(self.panicf(msg));
                    }
                };
            }
            hash.insert(ck, copy);
            self.context = prev_context.clone();
        }
        self.context = outer_context;
        self.current_key = outer_key;
        Ok(Tv::Map(top))
    }

    fn value_integer(&mut self, it: &Item) -> R<Tv> {
        let v = &it.val;
        if !num_underscores_ok(v) {
            return Err(self.fail_at(
                it.pos.line,
                format!(
                    "Invalid integer {}: underscores must be surrounded by digits",
                    go_quote(v)
                ),
            ));
        }
        if num_has_leading_zero(v) {
            return Err(self.fail_at(
                it.pos.line,
                format!(
                    "Invalid integer {}: cannot have leading zeroes",
                    go_quote(v)
                ),
            ));
        }
        let plain = v.replace('_', "");
        match crate::decode::parse_int_base0(&plain) {
            Some(i) => Ok(Tv::Int(i)),
            None => Err(self.fail_at(it.pos.line, format!("{v} is out of range for int64"))),
        }
    }

    fn value_float(&mut self, it: &Item) -> R<Tv> {
        let v = &it.val;
        let parts: Vec<&str> = v.split(['.', 'e', 'E']).filter(|p| !p.is_empty()).collect();
        for part in &parts {
            if !num_underscores_ok(part) {
                return Err(self.fail_at(
                    it.pos.line,
                    format!(
                        "Invalid float {}: underscores must be surrounded by digits",
                        go_quote(v)
                    ),
                ));
            }
        }
        if parts.first().is_some_and(|p| num_has_leading_zero(p)) {
            return Err(self.fail_at(
                it.pos.line,
                format!("Invalid float {}: cannot have leading zeroes", go_quote(v)),
            ));
        }
        if !num_periods_ok(v) {
            return Err(self.fail_at(
                it.pos.line,
                format!(
                    "Invalid float {}: '.' must be followed by one or more digits",
                    go_quote(v)
                ),
            ));
        }
        let mut val = v.replace('_', "");
        let mut negative_nan = false;
        if val == "+nan" || val == "-nan" {
            negative_nan = val == "-nan";
            val = "nan".into();
        }
        let valid_syntax = !val.is_empty()
            && (matches!(val.as_str(), "nan" | "inf" | "+inf" | "-inf")
                || val
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')));
        let parsed: Option<f64> = if valid_syntax { val.parse().ok() } else { None };
        match parsed {
            Some(f) if f.is_infinite() && !val.contains("inf") => {
                Err(self.fail_at(it.pos.line, format!("{v} is out of range for float64")))
            }
            Some(f) => Ok(Tv::Float(if negative_nan { -f64::NAN } else { f })),
            None => Err(self.fail_at(it.pos.line, format!("Invalid float value: {}", go_quote(v)))),
        }
    }

    fn value_datetime(&mut self, it: &Item) -> R<Tv> {
        let v: String = it
            .val
            .chars()
            .map(|c| match c {
                'z' => 'Z',
                't' | ' ' => 'T',
                c => c,
            })
            .collect();
        match parse_datetime(&v) {
            Some(d) => Ok(Tv::Datetime(d)),
            None => Err(self.fail_at(it.pos.line, format!("invalid datetime: {}", go_quote(&v)))),
        }
    }

    fn replace_escapes(&self, it: &Item, s: &str) -> R<String> {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(&(_, e)) = chars.peek() else { break };
            let hex = |n: usize| s.get(i + 2..i + 2 + n).unwrap_or("");
            let (ch, skip) = match e {
                ' ' | '\t' => {
                    return Err(self.fail_at(it.pos.line, format!("invalid escape: '\\{e}'")));
                }
                'b' => ('\u{8}', 1),
                't' => ('\t', 1),
                'n' => ('\n', 1),
                'f' => ('\u{c}', 1),
                'r' => ('\r', 1),
                'e' => ('\u{1b}', 1),
                '"' => ('"', 1),
                '\\' => ('\\', 1),
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let h = hex(n);
                    match u32::from_str_radix(h, 16).ok().and_then(char::from_u32) {
                        Some(ch) => (ch, n + 1),
                        None => {
                            return Err(self.fail_at(
                                it.pos.line,
                                format!("Escaped character '\\u{h}' is not valid UTF-8."),
                            ));
                        }
                    }
                }
                _ => (e, 1),
            };
            out.push(ch);
            for _ in 0..skip {
                chars.next();
            }
        }
        Ok(out)
    }
}

fn tv_clone(v: &Tv) -> Tv {
    match v {
        Tv::Map(m) => Tv::Map(m.iter().map(|(k, v)| (k.clone(), tv_clone(v))).collect()),
        Tv::Tables(t) => Tv::Tables(
            t.iter()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), tv_clone(v))).collect())
                .collect(),
        ),
        Tv::Array(a) => Tv::Array(a.iter().map(tv_clone).collect()),
        Tv::Str(s) => Tv::Str(s.clone()),
        Tv::Int(i) => Tv::Int(*i),
        Tv::Float(f) => Tv::Float(*f),
        Tv::Bool(b) => Tv::Bool(*b),
        Tv::Datetime(d) => Tv::Datetime(d.clone()),
    }
}

fn strip_first_newline(s: &str) -> &str {
    if let Some(r) = s.strip_prefix('\n') {
        return r;
    }
    s.strip_prefix("\r\n").unwrap_or(s)
}

fn strip_escaped_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut s = s.to_string();
    let mut i = 0;
    loop {
        let Some(ix) = s[i..].find('\\') else {
            out.push_str(&s);
            return out;
        };
        i += ix;
        let b = s.as_bytes();
        if b.len() > i + 1 && b[i + 1] == b'\\' {
            i += 2;
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r' | b'\n') {
            j += 1;
        }
        if j == i + 1 || !s[i..j].contains('\n') {
            i += 1;
            continue;
        }
        out.push_str(&s[..i]);
        s = s[j..].to_string();
        i = 0;
    }
}

fn num_has_leading_zero(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() > 1 && b[0] == b'0' && !matches!(b[1], b'b' | b'o' | b'x'))
        || (b.len() > 2 && (b[0] == b'-' || b[0] == b'+') && b[1] == b'0')
}

fn num_underscores_ok(s: &str) -> bool {
    if matches!(s, "nan" | "+nan" | "-nan" | "inf" | "-inf" | "+inf") {
        return true;
    }
    let mut accept = false;
    for r in s.chars() {
        if r == '_' && !accept {
            return false;
        }
        accept = is_hex(r);
    }
    accept
}

fn num_periods_ok(s: &str) -> bool {
    let mut period = false;
    for r in s.chars() {
        if period && !is_digit(r) {
            return false;
        }
        period = r == '.';
    }
    !period
}

/// Fixed-width digits.
fn fixed(b: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let d = b.get(*i..*i + n)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *i += n;
    Some(d.iter().fold(0, |a, c| a * 10 + (c - b'0') as u32))
}

/// Go's `getnum(s, false)`: one or two digits.
fn loose(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    if let Some(&d1) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        *i += 1;
        return Some((d0 - b'0') as u32 * 10 + (d1 - b'0') as u32);
    }
    Some((d0 - b'0') as u32)
}

fn lit(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    if b.get(*i) == Some(&c) {
        *i += 1;
        Some(())
    } else {
        None
    }
}

fn days_in(m: u32, y: i32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// BurntSushi's datetime layouts, tried in order with Go's `time.Parse` rules, plus its check
/// that hours are written with two digits.
fn parse_datetime(v: &str) -> Option<TomlDatetime> {
    let b = v.as_bytes();
    let date = |i: &mut usize| -> Option<(i32, u8, u8)> {
        let y = fixed(b, i, 4)? as i32;
        lit(b, i, b'-')?;
        let m = fixed(b, i, 2)?;
        lit(b, i, b'-')?;
        let d = fixed(b, i, 2)?;
        if !(1..=12).contains(&m) || d < 1 || d > days_in(m, y) {
            return None;
        }
        Some((y, m as u8, d as u8))
    };
    // hh:mm[:ss[.frac]] with Go's loose hour
    let clock = |i: &mut usize, secs: bool| -> Option<(u8, u8, u8, u32, bool)> {
        let st = *i;
        let h = loose(b, i)?;
        let short_hour = *i - st == 1;
        lit(b, i, b':')?;
        let m = fixed(b, i, 2)?;
        let mut s = 0;
        let mut ns = 0;
        if secs {
            lit(b, i, b':')?;
            s = fixed(b, i, 2)?;
            if *i + 1 < b.len() && (b[*i] == b'.' || b[*i] == b',') && b[*i + 1].is_ascii_digit() {
                *i += 1;
                let fs = *i;
                while *i < b.len() && b[*i].is_ascii_digit() {
                    *i += 1;
                }
                let digits = &v[fs..*i];
                let mut padded = digits.to_string();
                while padded.len() < 9 {
                    padded.push('0');
                }
                ns = padded[..9].parse().ok()?;
            }
        }
        if h >= 24 || m >= 60 || s >= 60 {
            return None;
        }
        Some((h as u8, m as u8, s as u8, ns, short_hour))
    };
    let zone = |i: &mut usize| -> Option<TomlZone> {
        if lit(b, i, b'Z').is_some() {
            return Some(TomlZone::Utc);
        }
        let sign = match b.get(*i) {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return None,
        };
        *i += 1;
        let hh = fixed(b, i, 2)?;
        lit(b, i, b':')?;
        let mm = fixed(b, i, 2)?;
        if hh > 24 || mm > 60 {
            return None;
        }
        Some(TomlZone::Offset(sign * (hh as i32 * 3600 + mm as i32 * 60)))
    };
    let mk = |(y, mo, d): (i32, u8, u8), (h, mi, s, ns): (u8, u8, u8, u32), zone| TomlDatetime {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
        nanosecond: ns,
        zone,
    };
    type Layout = (bool, bool, bool, u8); // date, clock, zone, clock kind (0 none, 1 with secs, 2 hh:mm)
    let layouts: [Layout; 7] = [
        (true, true, true, 1),
        (true, true, false, 1),
        (true, false, false, 0),
        (false, true, false, 1),
        (true, true, true, 2),
        (true, true, false, 2),
        (false, true, false, 2),
    ];
    for (has_date, has_clock, has_zone, kind) in layouts {
        let mut i = 0;
        let d = if has_date {
            match date(&mut i) {
                Some(d) => Some(d),
                None => continue,
            }
        } else {
            None
        };
        let mut c = None;
        if has_clock {
            if has_date && lit(b, &mut i, b'T').is_none() {
                continue;
            }
            match clock(&mut i, kind == 1) {
                Some(x) => c = Some(x),
                None => continue,
            }
        }
        let z = if has_zone {
            match zone(&mut i) {
                Some(z) => Some(z),
                None => continue,
            }
        } else {
            None
        };
        if i != b.len() {
            continue;
        }
        // The layout matched: BurntSushi rejects a one-digit hour.
        if c.is_some_and(|c| c.4) {
            return None;
        }
        let (h, mi, s, ns) = c.map(|c| (c.0, c.1, c.2, c.3)).unwrap_or((0, 0, 0, 0));
        let zone = match (z, has_date, has_clock) {
            (Some(z), _, _) => z,
            (None, true, true) => TomlZone::LocalDatetime,
            (None, true, false) => TomlZone::LocalDate,
            _ => TomlZone::LocalTime,
        };
        let date = d.unwrap_or((0, 1, 1));
        return Some(mk(date, (h, mi, s, ns), zone));
    }
    None
}

/// Parses a TOML document as BurntSushi/toml does, into its top-level table.
pub(crate) fn parse(data: &str) -> Result<BTreeMap<String, Tv>, Error> {
    let data = data.strip_prefix('\u{feff}').unwrap_or(data);
    if data.as_bytes().iter().take(6).any(|&b| b == 0) {
        return Err(Error::Toml(
            "toml: line 1: files cannot contain NULL bytes; probably using UTF-16; TOML files must be UTF-8".into(),
        ));
    }
    let mut p = Parser {
        lx: Lexer::new(data),
        mapping: Map::new(),
        context: Vec::new(),
        current_key: String::new(),
        arrays: HashSet::new(),
        types: HashMap::new(),
        implicits: HashSet::new(),
        pos: Pos::default(),
    };
    let run = |p: &mut Parser| -> R<()> {
        loop {
            let item = p.next()?;
            if item.typ == It::Eof {
                return Ok(());
            }
            p.top_level(item)?;
        }
    };
    match run(&mut p) {
        Ok(()) => Ok(p.mapping),
        Err(f) => Err(Error::Toml(if f.last_key.is_empty() {
            format!("toml: line {}: {}", f.line, f.msg)
        } else {
            format!(
                "toml: line {} (last key {}): {}",
                f.line,
                go_quote(&f.last_key),
                f.msg
            )
        })),
    }
}
