//! Go's number and string formatting (`strconv`) as the encoders need it.

/// Splits Rust's shortest `{:e}` output (`-1.2345e-7`) into sign, digits and decimal exponent.
fn split_exp(s: &str) -> (bool, String, i32) {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (neg, digits, exp)
}

fn fixed(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    let dp = exp + 1; // digits before the decimal point
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if dp as usize >= digits.len() {
        out.push_str(digits);
        for _ in 0..(dp as usize - digits.len()) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

fn exponent(neg: bool, digits: &str, exp: i32, pad2: bool) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if pad2 && a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// Lays out Rust's shortest `{:e}` text as Go's `%g` with shortest precision.
pub(crate) fn g_layout_from_exp(s: &str) -> String {
    let (neg, digits, exp) = split_exp(s);
    if !(-4..6).contains(&exp) {
        exponent(neg, &digits, exp, true)
    } else {
        fixed(neg, &digits, exp)
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (also `%v` of a float64).
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
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    g_layout_from_exp(&format!("{f:e}"))
}

/// encoding/json's float64 text (`%f` unless the exponent is < -6 or >= 21, then `1e-7`,
/// `1e+21`). The caller rejects NaN and infinities.
pub fn format_float_json(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (neg, digits, exp) = split_exp(&format!("{f:e}"));
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        exponent(neg, &digits, exp, false)
    } else {
        fixed(neg, &digits, exp)
    }
}

/// Whether Go's `strconv.IsPrint` holds (approximated for the format and space categories).
pub(crate) fn go_is_print(c: char) -> bool {
    let v = c as u32;
    if v < 0x20 || (0x7F..=0xA0).contains(&v) {
        return false;
    }
    !matches!(v,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x1680 | 0x180E | 0x2000..=0x200F
        | 0x2028..=0x202F | 0x205F..=0x2064 | 0x2066..=0x206F | 0x3000 | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF | 0xF0000..=0x10FFFF)
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0C' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0B' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
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
    fn g_format() {
        assert_eq!(format_float_g(3.0), "3");
        assert_eq!(format_float_g(1.5), "1.5");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(1234567.0), "1.234567e+06");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(0.00001), "1e-05");
        assert_eq!(format_float_g(1e21), "1e+21");
        assert_eq!(format_float_g(-2.5e-10), "-2.5e-10");
        assert_eq!(format_float_g(1e100), "1e+100");
    }

    #[test]
    fn json_format() {
        assert_eq!(format_float_json(1e6), "1000000");
        assert_eq!(format_float_json(1e20), "100000000000000000000");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(0.000001), "0.000001");
        assert_eq!(format_float_json(1e-7), "1e-7");
        assert_eq!(format_float_json(100.0), "100");
        assert_eq!(format_float_json(-1.5), "-1.5");
        assert_eq!(format_float_json(1.2345678e-10), "1.2345678e-10");
        assert_eq!(format_float_json(0.1), "0.1");
    }

    #[test]
    fn quote() {
        assert_eq!(
            go_quote("a\"b\n\x01é\u{200b}😀"),
            "\"a\\\"b\\n\\x01é\\u200b😀\""
        );
    }
}
