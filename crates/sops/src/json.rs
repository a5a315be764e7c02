//! Order-preserving JSON reader and a writer that formats like sops (Go `encoding/json` with
//! tab indentation and HTML-safe escaping). Numbers are floats, as in sops' JSON store.

use crate::tree::{MapItem, Scalar, SeqItem, Value, go_format_f};

/// A JSON syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line} column {col}: {msg}")]
pub struct JsonError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub msg: String,
}

const MAX_DEPTH: usize = 256;

/// Parses one JSON value.
pub fn parse(src: &str) -> Result<Value, JsonError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = P {
        s: src,
        b: src.as_bytes(),
        pos: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.b.len() {
        return Err(p.err("unexpected content after the JSON value"));
    }
    Ok(v)
}

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl P<'_> {
    fn err(&self, msg: &str) -> JsonError {
        let before = &self.s[..self.pos.min(self.s.len())];
        let line = before.matches('\n').count() + 1;
        let ls = before.rfind('\n').map_or(0, |i| i + 1);
        JsonError {
            line,
            col: before[ls..].chars().count() + 1,
            msg: msg.into(),
        }
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn lit(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.b.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut items: Vec<MapItem> = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Value::Map(items));
                }
                loop {
                    self.ws();
                    if self.b.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let key_pos = self.pos;
                    let k = self.string()?;
                    if items
                        .iter()
                        .any(|i| matches!(i, MapItem::Entry(Scalar::Str(x), _) if *x == k))
                    {
                        self.pos = key_pos;
                        return Err(self.err(&format!("duplicate key {k:?}")));
                    }
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return Err(self.err("expected `:`"));
                    }
                    self.pos += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    items.push(MapItem::Entry(Scalar::Str(k), v));
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Map(items));
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Value::Seq(items));
                }
                loop {
                    self.ws();
                    items.push(SeqItem::Value(self.value(depth + 1)?));
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Seq(items));
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'"') => Ok(Value::Scalar(Scalar::Str(self.string()?))),
            Some(b't') => self.lit("true", Value::Scalar(Scalar::Bool(true))),
            Some(b'f') => self.lit("false", Value::Scalar(Scalar::Bool(false))),
            Some(b'n') => self.lit("null", Value::Scalar(Scalar::Null)),
            Some(b'-' | b'0'..=b'9') => {
                let st = self.pos;
                if self.b[self.pos] == b'-' {
                    self.pos += 1;
                }
                let digits = |p: &mut Self| {
                    let s = p.pos;
                    while matches!(p.b.get(p.pos), Some(b'0'..=b'9')) {
                        p.pos += 1;
                    }
                    p.pos - s
                };
                if digits(self) == 0 {
                    return Err(self.err("invalid number"));
                }
                if self.b.get(self.pos) == Some(&b'.') {
                    self.pos += 1;
                    if digits(self) == 0 {
                        return Err(self.err("invalid number"));
                    }
                }
                if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
                    self.pos += 1;
                    if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                        self.pos += 1;
                    }
                    if digits(self) == 0 {
                        return Err(self.err("invalid number"));
                    }
                }
                let f: f64 = self.s[st..self.pos]
                    .parse()
                    .map_err(|_| self.err("invalid number"))?;
                if f.is_infinite() {
                    return Err(self.err("number out of range"));
                }
                Ok(Value::Scalar(Scalar::Float(f)))
            }
            _ => Err(self.err("expected a JSON value")),
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let st = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.s[st..self.pos]);
            match self.b.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let e = *self
                        .b
                        .get(self.pos)
                        .ok_or_else(|| self.err("unterminated string"))?;
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\x08'),
                        b'f' => out.push('\x0c'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.s[self.pos..].starts_with("\\u") {
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        char::from_u32(
                                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                                        )
                                    } else {
                                        None
                                    }
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(c.unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
}

/// Writes a value like sops' JSON store: tab indentation, file order, trailing newline.
/// Comments cannot be represented in JSON and are dropped.
pub fn emit(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, 0, &mut out);
    out.push('\n');
    out
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\t');
    }
}

fn write_value(v: &Value, level: usize, out: &mut String) {
    match v {
        Value::Map(items) => {
            let entries: Vec<_> = items
                .iter()
                .filter_map(|i| match i {
                    MapItem::Entry(k, v) => Some((k, v)),
                    MapItem::Comment(_) => None,
                })
                .collect();
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (i, (k, v)) in entries.iter().enumerate() {
                indent(out, level + 1);
                write_string(&k.key_string(), out);
                out.push_str(": ");
                write_value(v, level + 1, out);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push('}');
        }
        Value::Seq(items) => {
            let vals: Vec<_> = items
                .iter()
                .filter_map(|i| match i {
                    SeqItem::Value(v) => Some(v),
                    SeqItem::Comment(_) => None,
                })
                .collect();
            if vals.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, v) in vals.iter().enumerate() {
                indent(out, level + 1);
                write_value(v, level + 1, out);
                if i + 1 < vals.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push(']');
        }
        Value::Scalar(s) => match s {
            Scalar::Null => out.push_str("null"),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Scalar::Int(i) => out.push_str(&i.to_string()),
            Scalar::Float(f) => out.push_str(&go_json_float(*f)),
            Scalar::Str(s) | Scalar::Time(s) => write_string(s, out),
        },
    }
}

/// Go `encoding/json` float64 formatting.
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        let ea = e.abs();
        // Go writes at least two exponent digits, then json strips a leading zero after `-`.
        if ea < 10 && e >= 0 {
            format!("{m}e{sign}0{ea}")
        } else {
            format!("{m}e{sign}{ea}")
        }
    } else {
        go_format_f(f)
    }
}

/// Go `encoding/json` string escaping (HTML-safe).
pub fn write_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\x1f' => {
                let v = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((v >> shift) & 0xF) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order() {
        let src = "{\n\t\"b\": 1,\n\t\"a\": {\n\t\t\"x\": [\n\t\t\t1.5,\n\t\t\t\"s\",\n\t\t\ttrue,\n\t\t\tnull\n\t\t]\n\t},\n\t\"e\": {},\n\t\"l\": []\n}\n";
        let v = parse(src).unwrap();
        assert_eq!(emit(&v), src);
    }

    #[test]
    fn go_escaping_and_numbers() {
        let mut s = String::new();
        write_string("<a&b> é \u{2028} \u{1}", &mut s);
        assert_eq!(s, "\"\\u003ca\\u0026b\\u003e é \\u2028 \\u0001\"");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1.5), "1.5");
        assert_eq!(
            go_json_float(12345678901234567890.0),
            "12345678901234567000"
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("{\n  \"a\": tru\n}").unwrap_err();
        assert_eq!((e.line, e.col), (2, 8));
        assert!(parse("{\"a\":1,\"a\":2}").is_err());
        assert!(parse("[1,]").is_err());
    }
}
