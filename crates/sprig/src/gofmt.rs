//! Go `fmt`/`strconv` printing as Sprig observes it: `%v` (`fmt.Sprint`), `%q`
//! (`strconv.Quote`) and `strconv.FormatFloat(f, 'g', -1, 64)`.

use gotmpl::Value;

/// Go's `fmt.Sprint(v)` / `%v` of one value.
pub fn sprint(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, true);
    out
}

fn write_value(out: &mut String, v: &Value, top: bool) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.push('[');
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&x.to_string());
            }
            out.push(']');
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, x, false);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.entries.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, x, false);
            }
            out.push(']');
        }
        Value::Object(o) => {
            let _ = top;
            out.push_str(&o.format())
        }
    }
}

/// Sprig's `strval`: strings and byte slices as is, everything else through `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => sprint(other),
    }
}

/// Go's `fmt.Sprint(a...)`: a space between operands when neither is a string.
pub fn sprint_all(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        out.push_str(&sprint(a));
    }
    out
}

/// Shortest round-trip decimal digits of a finite, non-zero `f` and its decimal exponent
/// `dp` such that `f = 0.d1d2d3… × 10^dp`.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp + 1)
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` (also what `%v` prints).
pub fn format_float_g(f: f64) -> String {
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
    let neg = f.is_sign_negative();
    if f == 0.0 {
        return if neg { "-0".into() } else { "0".into() };
    }
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // %e with the shortest digits
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else {
        out.push_str(&format_f_digits(&digits, dp));
    }
    out
}

/// Digits placed around the decimal point (`%f` with just enough precision).
fn format_f_digits(digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let dpu = dp as usize;
        if digits.len() <= dpu {
            out.push_str(digits);
            for _ in digits.len()..dpu {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dpu]);
            out.push('.');
            out.push_str(&digits[dpu..]);
        }
    }
    out
}

/// Go's `unicode.IsPrint`, approximated without the full Unicode tables: control
/// characters, format characters, separators other than U+0020, private use and
/// non-characters are not printable.
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xD800..=0xDFFF | 0xE000..=0xF8FF | 0xFEFF | 0xFFF0..=0xFFFB | 0xFFFE | 0xFFFF
        | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0001 | 0xE0020..=0xE007F | 0xF0000..=0x10FFFF)
        && (u & 0xFFFE != 0xFFFE)
}

/// Go's `strconv.Quote` (what `%q` does with a string).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(format_float_g(3.0), "3");
        assert_eq!(format_float_g(1.5), "1.5");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(1234567.0), "1.234567e+06");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(0.00001), "1e-05");
        assert_eq!(format_float_g(-2.5e-300), "-2.5e-300");
        assert_eq!(format_float_g(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float_g(1e21), "1e+21");
        assert_eq!(format_float_g(100.0), "100");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("é\t\u{1}\u{200b}"), "\"é\\t\\x01\\u200b\"");
    }
}
