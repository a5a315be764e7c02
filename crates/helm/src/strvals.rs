//! Helm's `--set` family parser (`pkg/strvals`): `a.b=c,d[0]=e`, with Helm's typing rules.
//!
//! `--set` types values (`true`/`false` any case → bool, `null` → nil, `0` and decimal integers
//! not starting with `0` → int64, everything else a string); `--set-string` keeps strings;
//! `--set-json` decodes JSON values (numbers become float64); `--set-file` reads the file named by
//! the value. Values are merged into an existing map, as `helm` does for repeated flags.

use serde_json::{Map, Value};

use crate::values::go_json;

/// Largest list index `--set` accepts.
const MAX_INDEX: usize = 65536;
/// Deepest `a.b.c…` nesting `--set` accepts.
const MAX_NESTED_NAME_LEVEL: usize = 30;

/// A `--set` parse error, with Helm's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StrvalsError(pub String);

/// How a value's text is turned into a value.
pub enum Reader<'a> {
    /// `--set`: typed values.
    Typed,
    /// `--set-string`: always strings.
    String,
    /// `--set-json`: JSON values.
    Json,
    /// `--set-file`: the value names a file whose content becomes a string.
    File(&'a dyn Fn(&str) -> Result<String, String>),
}

/// Parse `s` as a `--set` expression into `dest`.
pub fn parse_into(
    s: &str,
    dest: &mut Map<String, Value>,
    reader: Reader<'_>,
) -> Result<(), StrvalsError> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        reader,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Err(e)) => return Err(StrvalsError(e)),
        }
    }
}

/// Typed value of a `--set` value (Helm's `typedVal`).
pub fn typed_val(v: &str, as_string: bool) -> Value {
    if as_string {
        return Value::String(v.to_string());
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0i64);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && let Some(i) = parse_go_int(v)
    {
        return Value::from(i);
    }
    Value::String(v.to_string())
}

/// Go's `strconv.ParseInt(v, 10, 64)`: optional sign, decimal digits only.
fn parse_go_int(v: &str) -> Option<i64> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<i64>().ok()
}

enum Stop {
    Eof,
    Err(String),
}

impl From<String> for Stop {
    fn from(s: String) -> Self {
        Stop::Err(s)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    reader: Reader<'a>,
}

/// Result of reading runes until a stop rune: the text, the stop rune (None at EOF).
struct Until {
    text: String,
    last: Option<char>,
}

fn go_quote(s: &str) -> String {
    // Go's %q for the strings that appear in these messages.
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Parser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    fn runes_until(&mut self, stop: &[char]) -> Until {
        let mut text = String::new();
        loop {
            match self.read() {
                None => return Until { text, last: None },
                Some(c) if stop.contains(&c) => {
                    return Until {
                        text,
                        last: Some(c),
                    };
                }
                Some('\\') => match self.read() {
                    None => return Until { text, last: None },
                    Some(n) => text.push(n),
                },
                Some(c) => text.push(c),
            }
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, mut level: usize) -> Result<(), Stop> {
        let u = self.runes_until(&['=', '[', ',', '.']);
        let k = u.text;
        match u.last {
            None => {
                if k.is_empty() {
                    return Err(Stop::Eof);
                }
                Err(format!("key {} has no value", go_quote(&k)).into())
            }
            Some('[') => {
                let i = self
                    .key_index()
                    .map_err(|e| format!("error parsing index: {e}"))?;
                let mut list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::Array(l)) => l.clone(),
                    Some(other) => {
                        return Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        )
                        .into());
                    }
                };
                let r = self.list_item(&mut list, i, level);
                set(data, &k, Value::Array(list));
                r
            }
            Some('=') => {
                if matches!(self.reader, Reader::Json) {
                    if self.empty_val() {
                        set(data, &k, Value::Null);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    ListResult::List(vl) => {
                        set(data, &k, Value::Array(vl?));
                        Ok(())
                    }
                    ListResult::Eof => {
                        set(data, &k, Value::String(String::new()));
                        Err(Stop::Eof)
                    }
                    ListResult::NotList => {
                        let rs = self.runes_until(&[',']);
                        let v = self.read_value(&rs.text)?;
                        set(data, &k, v);
                        Ok(())
                    }
                }
            }
            Some(',') => {
                set(data, &k, Value::String(String::new()));
                Err(format!("key {} has no value (cannot end with ,)", go_quote(&k)).into())
            }
            Some('.') => {
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )
                    .into());
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(other) => {
                        return Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        )
                        .into());
                    }
                };
                let e = self.key(&mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return Err(format!("key map {} has no value", go_quote(&k)).into());
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                e
            }
            Some(_) => Ok(()),
        }
    }

    fn read_value(&self, text: &str) -> Result<Value, Stop> {
        match &self.reader {
            Reader::Typed => Ok(typed_val(text, false)),
            Reader::String => Ok(typed_val(text, true)),
            Reader::Json => Ok(typed_val(text, false)),
            Reader::File(f) => f(text).map(Value::String).map_err(Stop::Err),
        }
    }

    fn json_value(&mut self) -> Result<Value, Stop> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut it = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                let consumed = rest[..it.byte_offset()].chars().count();
                self.pos += consumed;
                Ok(go_json(v))
            }
            Some(Err(e)) => Err(Stop::Err(e.to_string())),
            None => Err(Stop::Err("EOF".into())),
        }
    }

    fn key_index(&mut self) -> Result<i64, String> {
        let u = self.runes_until(&[']']);
        if u.last.is_none() {
            return Err("EOF".into());
        }
        go_atoi(&u.text)
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: i64, level: usize) -> Result<(), Stop> {
        if i < 0 {
            return Err(format!("negative {i} index not allowed").into());
        }
        let u = self.runes_until(&['[', '.', '=']);
        if !u.text.is_empty() {
            return Err(format!(
                "unexpected data at end of array index: {}",
                go_quote(&u.text)
            )
            .into());
        }
        match u.last {
            None => Err(Stop::Eof),
            Some('=') => {
                if matches!(self.reader, Reader::Json) {
                    if self.empty_val() {
                        return set_index(list, i, Value::Null);
                    }
                    let v = self.json_value()?;
                    set_index(list, i, v)?;
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    ListResult::List(vl) => set_index(list, i, Value::Array(vl?)),
                    ListResult::Eof => set_index(list, i, Value::String(String::new())),
                    ListResult::NotList => {
                        let rs = self.runes_until(&[',']);
                        let v = self.read_value(&rs.text)?;
                        set_index(list, i, v)
                    }
                }
            }
            Some('[') => {
                let next = self
                    .key_index()
                    .map_err(|e| format!("error parsing index: {e}"))?;
                let mut cur = match list.get(i as usize) {
                    Some(Value::Array(l)) => l.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        return Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            go_type(other)
                        )
                        .into());
                    }
                };
                self.list_item(&mut cur, next, level)?;
                set_index(list, i, Value::Array(cur))
            }
            Some('.') => {
                let mut inner = match list.get(i as usize) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, level)?;
                set_index(list, i, Value::Object(inner))
            }
            Some(c) => Err(format!("parse error: unexpected token {}", c as u32).into()),
        }
    }

    /// Skips whitespace; true at EOF or after a `,`.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None => return true,
                Some(',') => return true,
                Some(c) if c.is_whitespace() => continue,
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    fn val_list(&mut self) -> ListResult {
        match self.read() {
            None => return ListResult::Eof,
            Some('{') => {}
            Some(_) => {
                self.unread();
                return ListResult::NotList;
            }
        }
        let mut list = Vec::new();
        loop {
            let u = self.runes_until(&[',', '}']);
            match u.last {
                None => {
                    return ListResult::List(Err(Stop::Err("list must terminate with '}'".into())));
                }
                Some('}') => {
                    match self.read() {
                        Some(',') | None => {}
                        Some(_) => self.unread(),
                    }
                    return ListResult::List(self.read_value(&u.text).map(|v| {
                        list.push(v);
                        list
                    }));
                }
                _ => match self.read_value(&u.text) {
                    Ok(v) => list.push(v),
                    Err(e) => return ListResult::List(Err(e)),
                },
            }
        }
    }
}

enum ListResult {
    List(Result<Vec<Value>, Stop>),
    Eof,
    NotList,
}

fn set(data: &mut Map<String, Value>, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

fn set_index(list: &mut Vec<Value>, i: i64, v: Value) -> Result<(), Stop> {
    if i < 0 {
        return Err(format!("negative {i} index not allowed").into());
    }
    let i = i as usize;
    if i > MAX_INDEX {
        return Err(
            format!("index of {i} is greater than maximum supported index of {MAX_INDEX}").into(),
        );
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
    Ok(())
}

/// Go's `strconv.Atoi` with its error text.
fn go_atoi(s: &str) -> Result<i64, String> {
    parse_go_int(s).ok_or_else(|| {
        let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            format!("strconv.Atoi: parsing {}: value out of range", go_quote(s))
        } else {
            format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(s))
        }
    })
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Result<Value, StrvalsError> {
        let mut m = Map::new();
        parse_into(s, &mut m, Reader::Typed)?;
        Ok(Value::Object(m))
    }

    #[test]
    fn types() {
        assert_eq!(
            parse("a=1,b=true,c=FALSE,d=null,e=0,f=0755,g=1.5,h=abc,i=-3").unwrap(),
            json!({"a":1,"b":true,"c":false,"d":null,"e":0,"f":"0755","g":"1.5","h":"abc","i":-3})
        );
        let v = parse("a=1").unwrap();
        assert!(v["a"].is_i64());
    }

    #[test]
    fn nesting_lists_escapes() {
        assert_eq!(
            parse("a.b.c=1,a.b.d=x").unwrap(),
            json!({"a":{"b":{"c":1,"d":"x"}}})
        );
        assert_eq!(parse("l[1]=x").unwrap(), json!({"l":[null,"x"]}));
        assert_eq!(
            parse("l[0].n=x,l[0].m=y").unwrap(),
            json!({"l":[{"n":"x","m":"y"}]})
        );
        assert_eq!(parse("l={a,b,c}").unwrap(), json!({"l":["a","b","c"]}));
        assert_eq!(parse(r"a\.b=c\,d").unwrap(), json!({"a.b":"c,d"}));
        assert_eq!(parse("a=").unwrap(), json!({"a":""}));
        assert_eq!(parse("m[0][1]=2").unwrap(), json!({"m":[[null,2]]}));
    }

    #[test]
    fn errors() {
        assert_eq!(parse("a").unwrap_err().0, "key \"a\" has no value");
        assert_eq!(
            parse("a,b=c").unwrap_err().0,
            "key \"a\" has no value (cannot end with ,)"
        );
        assert_eq!(
            parse("l[x]=1").unwrap_err().0,
            "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse("l={a,b").unwrap_err().0,
            "list must terminate with '}'"
        );
    }

    #[test]
    fn string_and_json() {
        let mut m = Map::new();
        parse_into("a=1,b=true", &mut m, Reader::String).unwrap();
        assert_eq!(Value::Object(m), json!({"a":"1","b":"true"}));
        let mut m = Map::new();
        parse_into(r#"a={"x":[1,2]},b=3"#, &mut m, Reader::Json).unwrap();
        assert!(m["b"].is_f64());
        assert_eq!(m["a"]["x"][0].as_f64(), Some(1.0));
    }
}
