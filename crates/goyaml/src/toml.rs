//! TOML as Helm's `toToml`/`fromToml` see it: the BurntSushi/toml v1 encoder for template
//! values, and decoding into `map[string]interface{}` (integers int64, floats float64).

use gotmpl::{Map, Value};

use crate::Error;

fn bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0C' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn key_part(out: &mut String, k: &str) {
    if bare_key(k) {
        out.push_str(k);
    } else {
        quote(out, k);
    }
}

fn key_path(key: &[&str]) -> String {
    let mut s = String::new();
    for (i, k) in key.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        key_part(&mut s, k);
    }
    s
}

/// Data with objects replaced by what they marshal to.
fn data(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.as_any().is::<TomlDatetime>() => v.clone(),
        Value::Object(o) => o.to_data().unwrap_or_else(|| Value::map(Map::new())),
        other => other.clone(),
    }
}

fn is_table(v: &Value) -> bool {
    matches!(data(v), Value::Map(_))
}

fn is_table_array(v: &Value) -> Result<bool, Error> {
    let Value::List(l) = data(v) else {
        return Ok(false);
    };
    if l.items.is_empty() {
        return Ok(false);
    }
    let mut all = true;
    for item in &l.items {
        if item.is_nil() {
            return Err(Error::Toml(
                "toml: cannot encode array with nil element".into(),
            ));
        }
        if !is_table(item) {
            all = false;
        }
    }
    Ok(all)
}

struct Enc {
    out: String,
    has_written: bool,
}

impl Enc {
    fn wf(&mut self, s: &str) {
        self.out.push_str(s);
        if !s.is_empty() {
            self.has_written = true;
        }
    }
    fn newline(&mut self) {
        if self.has_written {
            self.out.push('\n');
        }
    }
    fn indent(key: &[&str]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn encode(&mut self, key: &[&str], v: &Value) -> Result<(), Error> {
        let v = data(v);
        match &v {
            Value::Nil => Ok(()),
            Value::Map(m) => self.table(key, &m.entries.borrow()),
            Value::List(_) if is_table_array(&v)? => {
                let Value::List(l) = &v else { return Ok(()) };
                for item in &l.items {
                    let item = data(item);
                    let Value::Map(m) = &item else { continue };
                    self.newline();
                    let line = format!("{}[[{}]]", Self::indent(key), key_path(key));
                    self.wf(&line);
                    self.newline();
                    self.map_body(key, &m.entries.borrow(), false)?;
                }
                Ok(())
            }
            _ => self.key_value(key, &v, false),
        }
    }

    fn table(&mut self, key: &[&str], m: &Map) -> Result<(), Error> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let line = format!("{}[{}]", Self::indent(key), key_path(key));
            self.wf(&line);
            self.newline();
        }
        self.map_body(key, m, false)
    }

    fn map_body(&mut self, key: &[&str], m: &Map, inline: bool) -> Result<(), Error> {
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in m.iter() {
            if is_table(v) || is_table_array(v)? {
                sub.push((k.as_str(), v));
            } else {
                direct.push((k.as_str(), v));
            }
        }
        if inline {
            self.wf("{");
        }
        let has_sub = !sub.is_empty();
        for (group, trail) in [(direct, has_sub), (sub, false)] {
            let n = group.len();
            for (i, (k, v)) in group.into_iter().enumerate() {
                if v.is_nil() {
                    continue;
                }
                if inline {
                    self.key_value(&[k], v, true)?;
                    if trail || i != n - 1 {
                        self.wf(", ");
                    }
                } else {
                    let mut path: Vec<&str> = key.to_vec();
                    path.push(k);
                    self.encode(&path, v)?;
                }
            }
        }
        if inline {
            self.wf("}");
        }
        Ok(())
    }

    fn key_value(&mut self, key: &[&str], v: &Value, inline: bool) -> Result<(), Error> {
        if key.is_empty() {
            return self.element(v);
        }
        let mut line = Self::indent(key);
        key_part(&mut line, key[key.len() - 1]);
        line.push_str(" = ");
        self.wf(&line);
        self.element(v)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), Error> {
        let v = data(v);
        match &v {
            Value::Nil => Err(Error::Toml("toml: cannot encode a nil value".into())),
            Value::Bool(b) => {
                self.wf(if *b { "true" } else { "false" });
                Ok(())
            }
            Value::Int(i) | Value::Int64(i) => {
                self.wf(itoa::Buffer::new().format(*i));
                Ok(())
            }
            Value::Float(f) => {
                let s = if f.is_nan() {
                    if f.is_sign_negative() {
                        "-nan".to_string()
                    } else {
                        "nan".to_string()
                    }
                } else if f.is_infinite() {
                    if *f < 0.0 {
                        "-inf".to_string()
                    } else {
                        "+inf".to_string()
                    }
                } else {
                    let mut s = crate::gofmt::format_float_g(*f);
                    if !s.contains('.') && !s.contains('e') {
                        s.push_str(".0");
                    }
                    s
                };
                self.wf(&s);
                Ok(())
            }
            Value::String(s) => {
                let mut q = String::new();
                quote(&mut q, s);
                self.wf(&q);
                Ok(())
            }
            Value::Bytes(b) => {
                let mut q = String::new();
                quote(&mut q, &String::from_utf8_lossy(b));
                self.wf(&q);
                Ok(())
            }
            Value::List(l) => {
                self.wf("[");
                for (i, item) in l.items.iter().enumerate() {
                    if item.is_nil() {
                        return Err(Error::Toml(
                            "toml: cannot encode array with nil element".into(),
                        ));
                    }
                    self.element(item)?;
                    if i != l.items.len() - 1 {
                        self.wf(", ");
                    }
                }
                self.wf("]");
                Ok(())
            }
            Value::Map(m) => self.map_body(&[], &m.entries.borrow(), true),
            Value::Object(o) => {
                match o.as_any().downcast_ref::<TomlDatetime>() {
                    Some(t) => self.wf(&t.toml()),
                    None => self.wf("{}"),
                }
                Ok(())
            }
        }
    }
}

/// BurntSushi/toml's `Encoder.Encode(v)` output. A map is a document; any other value is
/// written as a bare TOML value, as the Go encoder does.
pub fn to_toml(v: &Value) -> Result<String, Error> {
    let v = data(v);
    let mut enc = Enc {
        out: String::new(),
        has_written: false,
    };
    match &v {
        Value::Map(m) => enc.table(&[], &m.entries.borrow())?,
        // Go panics inside reflect; the template reports it as the function's error.
        Value::Nil => {
            return Err(Error::Toml(
                "reflect: call of reflect.Value.Type on zero Value".into(),
            ));
        }
        Value::List(_) if is_table_array(&v)? => {
            return Err(Error::Toml(
                "toml: top-level values must be Go maps or structs".into(),
            ));
        }
        other => enc.element(other)?,
    }
    Ok(enc.out)
}

/// Where a TOML date-time is anchored, as BurntSushi/toml records it in the `time.Time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TomlZone {
    /// `Z`: UTC.
    Utc,
    /// A numeric offset, in seconds east of UTC.
    Offset(i32),
    /// A local date-time (no offset): zone `datetime-local`.
    LocalDatetime,
    /// A local date: zone `date-local`, midnight.
    LocalDate,
    /// A local time: zone `time-local`, on 0000-01-01.
    LocalTime,
}

/// A TOML date-time as the Go `time.Time` BurntSushi/toml decodes it to: prints like Go's
/// `Time.String()`, marshals to JSON as RFC 3339, and goes back to TOML in its own form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlDatetime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanosecond: u32,
    pub zone: TomlZone,
}

impl TomlDatetime {
    fn offset_secs(&self) -> i32 {
        match self.zone {
            TomlZone::Offset(s) => s,
            _ => 0,
        }
    }
    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
    fn clock(&self) -> String {
        let mut s = format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second);
        if self.nanosecond != 0 {
            let f = format!("{:09}", self.nanosecond);
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s
    }
    fn offset(&self, colon: bool) -> String {
        let o = self.offset_secs();
        let sign = if o < 0 { '-' } else { '+' };
        let (h, m) = (o.abs() / 3600, o.abs() / 60 % 60);
        if colon {
            format!("{sign}{h:02}:{m:02}")
        } else {
            format!("{sign}{h:02}{m:02}")
        }
    }
    /// RFC 3339 with nanoseconds, as `time.Time` marshals to JSON.
    pub fn rfc3339(&self) -> String {
        let zone = if self.offset_secs() == 0 {
            "Z".to_string()
        } else {
            self.offset(true)
        };
        format!("{}T{}{}", self.date(), self.clock(), zone)
    }
    /// The value as BurntSushi/toml writes it back.
    pub fn toml(&self) -> String {
        match self.zone {
            TomlZone::LocalDatetime => format!("{}T{}", self.date(), self.clock()),
            TomlZone::LocalDate => self.date(),
            TomlZone::LocalTime => self.clock(),
            _ => self.rfc3339(),
        }
    }
}

impl gotmpl::Object for TomlDatetime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn format(&self) -> String {
        let name = match self.zone {
            TomlZone::Utc => "UTC".to_string(),
            TomlZone::Offset(_) => self.offset(false),
            TomlZone::LocalDatetime => "datetime-local".into(),
            TomlZone::LocalDate => "date-local".into(),
            TomlZone::LocalTime => "time-local".into(),
        };
        format!(
            "{} {} {} {}",
            self.date(),
            self.clock(),
            self.offset(false),
            name
        )
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::from(self.rfc3339()))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn from_tv(v: crate::toml_parse::Tv) -> Value {
    use crate::toml_parse::Tv;
    match v {
        Tv::Str(s) => Value::from(s),
        Tv::Int(i) => Value::Int64(i),
        Tv::Float(f) => Value::Float(f),
        Tv::Bool(b) => Value::Bool(b),
        Tv::Datetime(d) => Value::object(d),
        Tv::Array(a) => Value::list(a.into_iter().map(from_tv).collect()),
        Tv::Tables(t) => Value::list(t.into_iter().map(|m| from_tv(Tv::Map(m))).collect()),
        Tv::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k, from_tv(v));
            }
            Value::map(out)
        }
    }
}

/// Decodes a TOML document into `map[string]interface{}` as BurntSushi/toml does
/// (integers int64, floats float64, date-times [`TomlDatetime`]), with its error texts
/// (`toml: line 1: expected '.' or '=', but got ':' instead`).
pub fn from_toml(text: &str) -> Result<Value, Error> {
    let m = crate::toml_parse::parse(text)?;
    let mut out = Map::new();
    for (k, v) in m {
        out.insert(k, from_tv(v));
    }
    Ok(Value::map(out))
}
