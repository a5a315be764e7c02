//! Conversions as `spf13/cast` v1.7 and Go's `strconv` perform them.

use gotmpl::Value;

/// Go's `int64(f)` conversion on amd64: out-of-range values and NaN become `MinInt64`.
pub fn f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: `"12.000"` → `"12"`, `"12.10"` unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    let mut i = b.len();
    while i > 0 {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
        i -= 1;
    }
    s
}

/// Go's `underscoreOK` for base-prefixed literals.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        i = 1;
    }
    let mut hex = false;
    if b.len() - i >= 2
        && b[i] == b'0'
        && matches!(b[i + 1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        hex = b[i + 1].eq_ignore_ascii_case(&b'x');
        i += 2;
        saw = b'0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Result of `strconv.ParseInt`.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseIntError {
    Syntax,
    /// Out of range; carries the clamped value Go returns alongside the error.
    Range(i64),
}

/// Go's `strconv.ParseInt(s, base, 64)` for base 0, 8 or 10.
pub fn parse_int(s: &str, base: u32) -> Result<i64, ParseIntError> {
    if s.is_empty() {
        return Err(ParseIntError::Syntax);
    }
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits, allow_us) = if base == 0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..], true)
        } else if lower.starts_with("0o") {
            (8, &body[2..], true)
        } else if lower.starts_with("0b") {
            (2, &body[2..], true)
        } else if body.starts_with('0') && body.len() > 1 {
            (8, &body[1..], true)
        } else {
            (10, body, true)
        }
    } else {
        (base, body, false)
    };
    if allow_us && base == 0 && !underscore_ok(s) {
        return Err(ParseIntError::Syntax);
    }
    if digits.is_empty() {
        return Err(ParseIntError::Syntax);
    }
    let mut n: u64 = 0;
    let mut overflow = false;
    for c in digits.chars() {
        if c == '_' && base == 0 {
            continue;
        }
        let d = c.to_digit(radix).ok_or(ParseIntError::Syntax)? as u64;
        if !overflow {
            match n.checked_mul(radix as u64).and_then(|x| x.checked_add(d)) {
                Some(x) => n = x,
                None => overflow = true,
            }
        }
    }
    let limit = 1u64 << 63;
    if overflow || (!neg && n >= limit) || (neg && n > limit) {
        return Err(ParseIntError::Range(if neg { i64::MIN } else { i64::MAX }));
    }
    Ok(if neg {
        (n as i128).wrapping_neg() as i64
    } else {
        n as i64
    })
}

/// `strconv.Atoi` as Sprig's `atoi` uses it (errors ignored: syntax → 0, range → clamped).
pub fn atoi(s: &str) -> i64 {
    match parse_int(s, 10) {
        Ok(v) => v,
        Err(ParseIntError::Syntax) => 0,
        Err(ParseIntError::Range(v)) => v,
    }
}

/// Go's `strconv.ParseFloat(s, 64)`.
pub fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let neg = lower.starts_with('-');
    if lower.len() - body.len() > 1 {
        return None;
    }
    match body {
        "inf" | "infinity" => {
            return Some(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return parse_hex_float(hex).map(|v| if neg { -v } else { v });
    }
    if body.contains('_') {
        if !underscore_ok(s) {
            return None;
        }
        let cleaned: String = s.chars().filter(|c| *c != '_').collect();
        return parse_plain_float(&cleaned);
    }
    parse_plain_float(s)
}

fn parse_plain_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mantissa = body.split(['e', 'E']).next().unwrap_or("");
    if !mantissa.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok()
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => return None,
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// `cast.ToInt64` (errors ignored: 0).
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => f64_to_i64(*f),
        Value::String(s) => parse_int(trim_zero_decimal(s), 0).unwrap_or(0),
        Value::Bool(b) => *b as i64,
        _ => 0,
    }
}

/// `cast.ToInt` (Go `int` is 64-bit here).
pub fn to_int(v: &Value) -> i64 {
    to_int64(v)
}

/// `cast.ToFloat64` (errors ignored: 0).
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        Value::Bool(b) if *b => 1.0,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::str("0x1F")), 31);
        assert_eq!(to_int64(&Value::str("1_000")), 1000);
        assert_eq!(to_int64(&Value::str("12.00")), 12);
        assert_eq!(to_int64(&Value::str("1.9")), 0);
        assert_eq!(to_int64(&Value::Float(1e21)), i64::MIN);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(to_int64(&Value::str("-9223372036854775808")), i64::MIN);
        assert_eq!(atoi("010"), 10);
        assert_eq!(atoi("99999999999999999999"), i64::MAX);
        assert_eq!(atoi("1_0"), 0);
    }

    #[test]
    fn floats() {
        assert_eq!(to_float64(&Value::str("1.5")), 1.5);
        assert_eq!(to_float64(&Value::str("1e3")), 1000.0);
        assert_eq!(to_float64(&Value::str("x")), 0.0);
        assert_eq!(to_float64(&Value::str("0x1p-2")), 0.25);
        assert_eq!(to_float64(&Value::str("0x10")), 0.0);
        assert_eq!(to_float64(&Value::str("1_0")), 10.0);
        assert_eq!(to_float64(&Value::str(".5")), 0.5);
    }
}
