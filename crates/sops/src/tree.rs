//! The document model shared by every store: an order-preserving tree of maps, sequences and
//! typed scalars, with comments kept as items (the way sops models them).

use std::fmt;

/// One node of a document.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// A mapping, in file order.
    Map(Vec<MapItem>),
    /// A sequence, in file order.
    Seq(Vec<SeqItem>),
    /// A leaf.
    Scalar(Scalar),
}

/// An item of a mapping: a comment line or a key/value entry.
#[derive(Clone, PartialEq)]
pub enum MapItem {
    /// A comment line (the text after `#`, leading space kept).
    Comment(String),
    /// A key and its value.
    Entry(Scalar, Value),
}

/// An item of a sequence: a comment line or an element.
#[derive(Clone, PartialEq)]
pub enum SeqItem {
    /// A comment line (the text after `#`).
    Comment(String),
    /// An element.
    Value(Value),
}

/// A typed leaf value, as sops types them (`str`, `int`, `float`, `bool`, `time`).
#[derive(Clone, PartialEq)]
pub enum Scalar {
    /// `null` (never encrypted).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A timestamp, kept as its RFC 3339 text (Go `time.MarshalText` form).
    Time(String),
}

// Values may hold decrypted secrets: Debug never prints scalar contents.
impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => f.write_str("Null"),
            Scalar::Bool(_) => f.write_str("Bool(<redacted>)"),
            Scalar::Int(_) => f.write_str("Int(<redacted>)"),
            Scalar::Float(_) => f.write_str("Float(<redacted>)"),
            Scalar::Str(_) => f.write_str("Str(<redacted>)"),
            Scalar::Time(_) => f.write_str("Time(<redacted>)"),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Map(items) => write!(f, "Map({} items)", items.len()),
            Value::Seq(items) => write!(f, "Seq({} items)", items.len()),
            Value::Scalar(s) => s.fmt(f),
        }
    }
}

impl fmt::Debug for MapItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapItem::Comment(_) => f.write_str("Comment(<redacted>)"),
            MapItem::Entry(k, v) => write!(f, "Entry({:?}, {v:?})", k.key_string()),
        }
    }
}

impl fmt::Debug for SeqItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqItem::Comment(_) => f.write_str("Comment(<redacted>)"),
            SeqItem::Value(v) => v.fmt(f),
        }
    }
}

impl Scalar {
    /// The sops type name of this scalar (`str`, `int`, `float`, `bool`, `time`), `None` for null.
    pub fn sops_type(&self) -> Option<&'static str> {
        match self {
            Scalar::Null => None,
            Scalar::Bool(_) => Some("bool"),
            Scalar::Int(_) => Some("int"),
            Scalar::Float(_) => Some("float"),
            Scalar::Str(_) => Some("str"),
            Scalar::Time(_) => Some("time"),
        }
    }

    /// The bytes sops encrypts and feeds to the MAC for this value.
    pub fn plaintext(&self) -> Vec<u8> {
        match self {
            Scalar::Null => Vec::new(),
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
            Scalar::Int(i) => i.to_string().into_bytes(),
            Scalar::Float(f) => go_format_f(*f).into_bytes(),
            Scalar::Str(s) | Scalar::Time(s) => s.as_bytes().to_vec(),
        }
    }

    /// Text of the scalar used as a key (and in key paths / AAD).
    pub fn key_string(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => go_format_g(*f),
            Scalar::Str(s) | Scalar::Time(s) => s.clone(),
        }
    }

    /// The string, when this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl Value {
    /// A string scalar.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Scalar(Scalar::Str(s.into()))
    }

    /// Looks up a key in a map (`None` for other nodes).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(items) => items.iter().find_map(|i| match i {
                MapItem::Entry(k, v) if k.key_string() == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// Mutable lookup of a key in a map.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Map(items) => items.iter_mut().find_map(|i| match i {
                MapItem::Entry(k, v) if k.key_string() == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The string content of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Scalar(s) => s.as_str(),
            _ => None,
        }
    }

    /// Removes every entry with this key from a map; returns the last removed value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let Value::Map(items) = self else {
            return None;
        };
        let mut found = None;
        let mut kept = Vec::with_capacity(items.len());
        for item in items.drain(..) {
            match item {
                MapItem::Entry(k, v) if k.key_string() == key => found = Some(v),
                other => kept.push(other),
            }
        }
        *items = kept;
        found
    }

    /// Number of leaves (scalars) under this node.
    pub fn leaf_count(&self) -> usize {
        match self {
            Value::Scalar(_) => 1,
            Value::Map(items) => items
                .iter()
                .map(|i| match i {
                    MapItem::Entry(_, v) => v.leaf_count(),
                    MapItem::Comment(_) => 0,
                })
                .sum(),
            Value::Seq(items) => items
                .iter()
                .map(|i| match i {
                    SeqItem::Value(v) => v.leaf_count(),
                    SeqItem::Comment(_) => 0,
                })
                .sum(),
        }
    }
}

/// Formats like Go `strconv.FormatFloat(f, 'f', -1, 64)`.
pub fn go_format_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{f}");
    if s == "-0" { "-0".into() } else { s }
}

/// Shortest decimal digits and exponent of `f` (`d.ddd × 10^exp`), as Go computes for `-1` precision.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (f.is_sign_negative(), digits, exp)
}

/// Formats like Go `strconv.FormatFloat(f, 'g', -1, 64)` (how go-yaml writes floats).
pub fn go_format_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (neg, digits, exp) = shortest_digits(f);
    let sign = if neg { "-" } else { "" };
    // Go: with shortest formatting `%e` is used when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        let mut m = String::new();
        m.push_str(&digits[..1]);
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        let ea = exp.abs();
        if ea < 10 {
            format!("{sign}{m}e{esign}0{ea}")
        } else {
            format!("{sign}{m}e{esign}{ea}")
        }
    } else {
        format!("{sign}{}", go_format_f(f.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formats() {
        assert_eq!(go_format_f(1.0), "1");
        assert_eq!(go_format_f(1.5), "1.5");
        assert_eq!(go_format_f(1000.0), "1000");
        assert_eq!(go_format_f(1e21), "1000000000000000000000");
        assert_eq!(go_format_g(1e6), "1e+06");
        assert_eq!(go_format_g(123456.0), "123456");
        assert_eq!(go_format_g(1234567.0), "1.234567e+06");
        assert_eq!(go_format_g(0.0001), "0.0001");
        assert_eq!(go_format_g(0.00001), "1e-05");
        assert_eq!(go_format_g(-2.5), "-2.5");
        assert_eq!(go_format_g(1e100), "1e+100");
    }

    #[test]
    fn debug_redacts() {
        let v = Value::Map(vec![MapItem::Entry(
            Scalar::Str("k".into()),
            Value::str("secret-value"),
        )]);
        let s = format!("{v:?} {:?}", Value::str("secret-value"));
        assert!(!s.contains("secret-value"));
    }
}
