//! Go's `encoding/json` for template values: `Marshal`, `MarshalIndent`, an encoder without
//! HTML escaping, and `Unmarshal` into `interface{}` (numbers become float64).

use std::rc::Rc;

use base64::Engine;
use gotmpl::{Map, Value};

use crate::Error;
use crate::gofmt::format_float_json;

/// How to write JSON.
#[derive(Clone, Copy)]
pub(crate) struct JsonStyle {
    pub escape_html: bool,
    pub indent: bool,
}

/// Bytes `write_json_string` copies as they are: printable ASCII (and DEL) but `"` and `\\`,
/// and non-ASCII bytes other than 0xE2 (which may start U+2028/U+2029); with `html`, not
/// `<`, `>`, `&` either.
const fn json_plain_table(html: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 256 {
        let c = b as u8;
        t[b] = c != b'"'
            && c != b'\\'
            && c != 0xE2
            && !(html && (c == b'<' || c == b'>' || c == b'&'));
        b += 1;
    }
    t
}
const JSON_PLAIN: [bool; 256] = json_plain_table(false);
const JSON_PLAIN_HTML: [bool; 256] = json_plain_table(true);

/// Appends `s` as a JSON string the way encoding/json does.
pub(crate) fn write_json_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    let plain = if escape_html {
        &JSON_PLAIN_HTML
    } else {
        &JSON_PLAIN
    };
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Runs of bytes written as they are, at once.
        while i < bytes.len() && plain[bytes[i] as usize] {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let b = bytes[i];
        if b < 0x80 {
            let esc: Option<&str> = match b {
                b'"' => Some("\\\""),
                b'\\' => Some("\\\\"),
                b'\n' => Some("\\n"),
                b'\r' => Some("\\r"),
                b'\t' => Some("\\t"),
                0x08 => Some("\\b"),
                0x0C => Some("\\f"),
                _ => None,
            };
            let needs =
                esc.is_some() || b < 0x20 || (escape_html && matches!(b, b'<' | b'>' | b'&'));
            if needs {
                out.push_str(&s[start..i]);
                match esc {
                    Some(e) => out.push_str(e),
                    None => {
                        out.push_str("\\u00");
                        out.push(HEX[(b >> 4) as usize] as char);
                        out.push(HEX[(b & 0xF) as usize] as char);
                    }
                }
                start = i + 1;
            }
            i += 1;
            continue;
        }
        // U+2028 / U+2029 are always escaped.
        if b == 0xE2 && i + 2 < bytes.len() && bytes[i + 1] == 0x80 && (bytes[i + 2] & 0xFE) == 0xA8
        {
            out.push_str(&s[start..i]);
            out.push_str(if bytes[i + 2] == 0xA8 {
                "\\u2028"
            } else {
                "\\u2029"
            });
            i += 3;
            start = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// `json.Marshal` / `MarshalIndent(v, "", "  ")` of a template value.
pub(crate) fn write_json(
    out: &mut String,
    v: &Value,
    style: JsonStyle,
    depth: usize,
) -> Result<(), Error> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            out.push_str(itoa::Buffer::new().format(*i));
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(Error::Json(format!(
                    "json: unsupported value: {}",
                    crate::gofmt::format_float_g(*f)
                )));
            }
            out.push_str(&format_float_json(*f));
        }
        Value::String(s) => write_json_string(out, s, style.escape_html),
        v if v.is_typed_nil() => out.push_str("null"),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push('"');
        }
        Value::List(l) => {
            if l.items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if style.indent {
                    newline(out, depth + 1);
                }
                write_json(out, item, style, depth + 1)?;
            }
            if style.indent {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let entries = m.entries.borrow();
            write_map(out, &entries, style, depth)?;
        }
        Value::Object(o) => match o.to_data() {
            Some(d) => write_json(out, &d, style, depth)?,
            None => out.push_str("{}"),
        },
    }
    Ok(())
}

fn write_map(out: &mut String, entries: &Map, style: JsonStyle, depth: usize) -> Result<(), Error> {
    if entries.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if style.indent {
            newline(out, depth + 1);
        }
        write_json_string(out, k, style.escape_html);
        out.push(':');
        if style.indent {
            out.push(' ');
        }
        write_json(out, v, style, depth + 1)?;
    }
    if style.indent {
        newline(out, depth);
    }
    out.push('}');
    Ok(())
}

// ---------------------------------------------------------------- reading

/// Go's `quoteChar` for syntax errors.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = crate::gofmt::go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// A parsed JSON value before it is stored into a Go target.
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "bool",
            Json::Number(_) => "number",
            Json::Str(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn cur_char(&self) -> char {
        self.s[self.i..].chars().next().unwrap_or('\0')
    }
    /// A syntax error where Go's scanner, at the end of input, sees a space.
    fn syntax_eof_space(&self, ctx: &str) -> Error {
        if self.i >= self.b.len() {
            return Error::Json(format!("invalid character ' ' {ctx}"));
        }
        self.syntax(ctx)
    }
    fn syntax(&self, ctx: &str) -> Error {
        if self.i >= self.b.len() {
            return Error::Json("unexpected end of JSON input".into());
        }
        Error::Json(format!(
            "invalid character {} {}",
            quote_char(self.cur_char()),
            ctx
        ))
    }
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn value(&mut self, depth: usize) -> Result<Json, Error> {
        self.ws();
        if depth > 10000 {
            return Err(Error::Json("exceeded max depth".into()));
        }
        let Some(&c) = self.b.get(self.i) else {
            return Err(self.syntax("looking for beginning of value"));
        };
        match c {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Object(entries));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.syntax("looking for beginning of object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.syntax("after object key"));
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Object(entries));
                        }
                        _ => return Err(self.syntax("after object key:value pair")),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.syntax("after array element")),
                    }
                }
            }
            b'"' => Ok(Json::Str(self.string()?)),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.syntax("looking for beginning of value")),
        }
    }
    fn literal(&mut self, word: &str, v: Json) -> Result<Json, Error> {
        let w = word.as_bytes();
        for (k, &ch) in w.iter().enumerate().skip(1) {
            self.i += 1;
            if self.b.get(self.i) != Some(&ch) {
                return Err(self.syntax_eof_space(&format!(
                    "in literal {word} (expecting {})",
                    quote_char(ch as char)
                )));
            }
            let _ = k;
        }
        self.i += 1;
        Ok(v)
    }
    fn number(&mut self) -> Result<Json, Error> {
        let st = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
            match self.b.get(self.i) {
                Some(b'0'..=b'9') => {}
                _ => return Err(self.syntax_eof_space("in numeric literal")),
            }
        }
        if self.b[self.i] == b'0' {
            self.i += 1;
        } else {
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.syntax_eof_space("after decimal point in numeric literal"));
            }
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.syntax_eof_space("in exponent of numeric literal"));
            }
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        Ok(Json::Number(self.s[st..self.i].to_string()))
    }
    fn string(&mut self) -> Result<String, Error> {
        self.i += 1; // opening quote
        let mut out = String::new();
        let mut start = self.i;
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(Error::Json("unexpected end of JSON input".into()));
            };
            match c {
                b'"' => {
                    out.push_str(&self.s[start..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.s[start..self.i]);
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(Error::Json("unexpected end of JSON input".into()));
                    };
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\x08'),
                        b'f' => out.push('\x0C'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let cp = self.hex4()?;
                            let ch = if (0xD800..0xDC00).contains(&cp) {
                                // a surrogate pair, if the next escape completes it
                                let save = self.i;
                                if self.b.get(self.i + 1) == Some(&b'\\')
                                    && self.b.get(self.i + 2) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        char::from_u32(
                                            0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00),
                                        )
                                    } else {
                                        self.i = save;
                                        None
                                    }
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(cp)
                            };
                            out.push(ch.unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(self.syntax("in string escape code")),
                    }
                    self.i += 1;
                    start = self.i;
                }
                c if c < 0x20 => return Err(self.syntax("in string literal")),
                _ => self.i += 1,
            }
        }
    }
    fn hex4(&mut self) -> Result<u32, Error> {
        let mut v = 0u32;
        for _ in 0..4 {
            self.i += 1;
            let Some(&c) = self.b.get(self.i) else {
                return Err(Error::Json("unexpected end of JSON input".into()));
            };
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax("in \\u hexadecimal character escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }
}

/// Parses JSON text (Go's validity scan: syntax errors first).
pub(crate) fn parse_json(s: &str) -> Result<Json, Error> {
    let mut r = Reader {
        s,
        b: s.as_bytes(),
        i: 0,
    };
    let v = r.value(0)?;
    r.ws();
    if r.i < r.b.len() {
        return Err(r.syntax("after top-level value"));
    }
    Ok(v)
}

/// A parsed JSON value as Go's `interface{}` (numbers float64). Like encoding/json, a number
/// that does not fit a float64 becomes nil and the first such error is recorded.
pub(crate) fn json_to_value(j: Json, err: &mut Option<Error>) -> Value {
    match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => {
            let f: f64 = n.parse().unwrap_or(f64::NAN);
            if !f.is_finite() {
                if err.is_none() {
                    *err = Some(Error::Json(format!(
                        "json: cannot unmarshal number {n} into Go value of type float64"
                    )));
                }
                return Value::Nil;
            }
            Value::Float(f)
        }
        Json::Str(s) => Value::String(Rc::from(s)),
        Json::Array(items) => {
            Value::list(items.into_iter().map(|i| json_to_value(i, err)).collect())
        }
        Json::Object(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let v = json_to_value(v, err);
                m.insert(k, v);
            }
            Value::map(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// encoding/json's string escaping, one byte at a time (the reference for the run
    /// copying in [`write_json_string`]).
    fn reference(s: &str, escape_html: bool) -> String {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                '<' | '>' | '&' if escape_html => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn strings_escape_as_encoding_json() {
        const PARTS: &[&str] = &[
            "a", "Zz9", " ", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{1}", "\u{1f}",
            "\u{7f}", "<", ">", "&", "é", "\u{2028}", "\u{2029}", "\u{2027}", "\u{20ac}", "😀",
            "\u{85}", "/",
        ];
        let mut below = testkit::rand::below_fn(0x2545_F491_4F6C_DD1D);
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..below(8) {
                s.push_str(PARTS[below(PARTS.len())]);
            }
            for html in [false, true] {
                let mut out = String::new();
                write_json_string(&mut out, &s, html);
                assert_eq!(out, reference(&s, html), "{s:?} {html}");
            }
        }
    }
}
