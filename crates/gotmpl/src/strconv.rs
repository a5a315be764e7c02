//! Go's `strconv` as far as templates need it: quoting, unquoting, float formatting and
//! number literal parsing.

use crate::parse::Number;

/// Go's `strconv.IsPrint`, approximated without Unicode category tables: ASCII printable
/// characters and space; non-ASCII characters except controls, non-ASCII spaces, format
/// characters, private use and noncharacters.
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFDD0..=0xFDEF | 0xFFFE | 0xFFFF)
}

const LOWERHEX: &[u8; 16] = b"0123456789abcdef";

fn append_escaped_rune(buf: &mut String, r: char, quote: char, ascii_only: bool) {
    if r == quote || r == '\\' {
        buf.push('\\');
        buf.push(r);
        return;
    }
    if ascii_only {
        if r.is_ascii() && is_print(r) {
            buf.push(r);
            return;
        }
    } else if is_print(r) {
        buf.push(r);
        return;
    }
    match r {
        '\x07' => buf.push_str("\\a"),
        '\x08' => buf.push_str("\\b"),
        '\x0c' => buf.push_str("\\f"),
        '\n' => buf.push_str("\\n"),
        '\r' => buf.push_str("\\r"),
        '\t' => buf.push_str("\\t"),
        '\x0b' => buf.push_str("\\v"),
        _ => {
            let u = r as u32;
            if u < 0x20 || u == 0x7f {
                buf.push_str("\\x");
                buf.push(LOWERHEX[(u >> 4) as usize] as char);
                buf.push(LOWERHEX[(u & 0xf) as usize] as char);
            } else if u < 0x10000 {
                buf.push_str("\\u");
                for s in (0..=12).rev().step_by(4) {
                    buf.push(LOWERHEX[((u >> s) & 0xf) as usize] as char);
                }
            } else {
                buf.push_str("\\U");
                for s in (0..=28).rev().step_by(4) {
                    buf.push(LOWERHEX[((u >> s) & 0xf) as usize] as char);
                }
            }
        }
    }
}

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// `strconv.QuoteToASCII`.
pub fn quote_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

fn quote_with(s: &str, q: char, ascii_only: bool) -> String {
    let mut buf = String::with_capacity(s.len() + 2);
    quote_into(&mut buf, s, q, ascii_only);
    buf
}

/// `strconv.Quote` (with `q` as the quote character) appended to `buf`.
pub(crate) fn quote_into(buf: &mut String, s: &str, q: char, ascii_only: bool) {
    buf.push(q);
    let mut rest = s;
    while !rest.is_empty() {
        // A run of printable ASCII that needs no escape is copied as is.
        let run = rest
            .bytes()
            .position(|b| !(0x20..0x7f).contains(&b) || b == b'\\' || b as char == q)
            .unwrap_or(rest.len());
        buf.push_str(&rest[..run]);
        rest = &rest[run..];
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            append_escaped_rune(buf, c, q, ascii_only);
            rest = chars.as_str();
        }
    }
    buf.push(q);
}

/// `strconv.QuoteRune` (and `QuoteRuneToASCII` with `ascii_only`).
pub fn quote_rune(r: char, ascii_only: bool) -> String {
    let mut buf = String::new();
    buf.push('\'');
    append_escaped_rune(&mut buf, r, '\'', ascii_only);
    buf.push('\'');
    buf
}

/// `strconv.CanBackquote`.
pub fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c == '\t' || !(c == '`' || c == '\u{FEFF}' || (c as u32) < 0x20 || c == '\x7f'))
}

/// `strconv.UnquoteChar` on the start of `s`: the value and the rest.
fn unquote_char(s: &str, quote: u8) -> Option<(u32, bool, &str)> {
    // Returns (value, is_byte, tail). is_byte: value is a single raw byte (\x, octal).
    let b = s.as_bytes();
    let c = *b.first()?;
    if c == quote && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if c != b'\\' {
        let ch = s.chars().next()?;
        return Some((ch as u32, false, &s[ch.len_utf8()..]));
    }
    if b.len() <= 1 {
        return None;
    }
    let c = b[1];
    if !c.is_ascii() {
        return None;
    }
    let rest = &s[2..];
    let simple = |v: u32| Some((v, false, rest));
    match c {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(10),
        b'r' => simple(13),
        b't' => simple(9),
        b'v' => simple(11),
        b'x' | b'u' | b'U' => {
            let n = match c {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.is_char_boundary(n) {
                return None;
            }
            let v = u32::from_str_radix(&rest[..n], 16).ok()?;
            if !rest[..n].bytes().all(|x| x.is_ascii_hexdigit()) {
                return None;
            }
            if c == b'x' {
                return Some((v, true, &rest[n..]));
            }
            char::from_u32(v)?;
            Some((v, false, &rest[n..]))
        }
        b'0'..=b'7' => {
            if b.len() < 4 || !b[1..4].iter().all(|x| (b'0'..=b'7').contains(x)) {
                return None;
            }
            // All three are ASCII octal digits, so these are character boundaries.
            let v = u32::from_str_radix(&s[1..4], 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((v, true, &s[4..]))
        }
        b'\\' => simple(b'\\' as u32),
        b'\'' | b'"' => {
            if c != quote {
                return None;
            }
            simple(c as u32)
        }
        _ => None,
    }
}

/// `strconv.Unquote` for `"..."` and `` `...` `` strings. Invalid UTF-8 produced by byte
/// escapes is replaced by U+FFFD.
pub fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let q = b[0];
    if q != b[b.len() - 1] {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if inner.contains('`') {
                return None;
            }
            Some(inner.replace('\r', ""))
        }
        b'"' => {
            if memchr::memchr3(b'\\', b'"', b'\n', inner.as_bytes()).is_none() {
                return Some(inner.to_string());
            }
            // Runs without a backslash are copied as they are (a quote or a newline in one
            // is an error); each escape is decoded by `unquote_char`.
            let mut out: Vec<u8> = Vec::with_capacity(inner.len());
            let mut rest = inner;
            loop {
                let Some(i) = memchr::memchr3(b'\\', b'"', b'\n', rest.as_bytes()) else {
                    out.extend_from_slice(rest.as_bytes());
                    break;
                };
                out.extend_from_slice(&rest.as_bytes()[..i]);
                // (`i` is at an ASCII byte: a character boundary.)
                rest = &rest[i..];
                if rest.as_bytes()[0] != b'\\' {
                    return None;
                }
                let (v, is_byte, tail) = unquote_char(rest, b'"')?;
                if is_byte {
                    out.push(v as u8);
                } else {
                    let ch = char::from_u32(v)?;
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                rest = tail;
            }
            // (`\x` and octal escapes may leave bytes that are not UTF-8.)
            Some(
                String::from_utf8(out)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            )
        }
        _ => None,
    }
}

/// The decimal digits of a float and the decimal point position: value = 0.DIGITS × 10^dp.
/// `sig`: number of significant digits (None = shortest round-trip).
fn decimal_digits(f: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    let f = f.abs();
    if f == 0.0 {
        return (vec![b'0'], 1);
    }
    let s = match sig {
        None => format!("{f:e}"),
        Some(n) => format!("{:.*e}", n.max(1) - 1, f),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    (digits, exp + 1)
}

fn fmt_e(out: &mut String, digits: &[u8], dp: i32, prec: i32, e: char, zero: bool) {
    out.push(digits[0] as char);
    if prec > 0 {
        out.push('.');
        let mut i = 1;
        let m = (digits.len() as i32).min(prec + 1);
        while (i as i32) < m {
            out.push(digits[i] as char);
            i += 1;
        }
        while (i as i32) <= prec {
            out.push('0');
            i += 1;
        }
    }
    out.push(e);
    let exp = if zero { 0 } else { dp - 1 };
    if exp < 0 {
        out.push('-');
    } else {
        out.push('+');
    }
    let exp = exp.abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, digits: &[u8], dp: i32, prec: i32) {
    if dp > 0 {
        let m = (digits.len() as i32).min(dp);
        for &d in &digits[..m as usize] {
            out.push(d as char);
        }
        for _ in m..dp {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = dp + i - 1;
            let ch = if j < 0 || j >= digits.len() as i32 {
                b'0'
            } else {
                digits[j as usize]
            };
            out.push(ch as char);
        }
    }
}

/// `strconv.FormatFloat(f, 'x', -1, 64)`: hexadecimal mantissa and binary exponent.
/// `strconv.FormatFloat(f, 'x'|'X', prec, 64)` (Go's `fmtX`): `-0x1.8p+01`, with the
/// mantissa rounded to `prec` hex digits when `prec` ≥ 0.
fn format_hex_float(f: f64, upper: bool, prec: i32) -> String {
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    // The leading 1 (if any) at bit 60.
    mant <<= 60 - 52;
    while mant != 0 && mant & (1u64 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1u64 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1u64 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(if upper { 'X' } else { 'x' });
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

/// `strconv.FormatFloat(f, 'b', _, 64)`: decimal mantissa and binary exponent
/// (`6755399441055744p-51`).
fn format_binary_float(f: f64) -> String {
    let bits = f.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp += -1023 - 52;
    let sign = if bits >> 63 != 0 { "-" } else { "" };
    let esign = if exp >= 0 { "+" } else { "" };
    format!("{sign}{mant}p{esign}{exp}")
}

/// `strconv.FormatFloat(f, fmt, prec, 64)` for `fmt` in `e E f F g G x X` (`prec` −1 = shortest;
/// `x` only shortest).
pub fn format_float(f: f64, fmt: char, prec: i32) -> String {
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
    if fmt == 'x' || fmt == 'X' {
        return format_hex_float(f, fmt == 'X', prec);
    }
    if fmt == 'b' {
        return format_binary_float(f);
    }
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    let zero = f == 0.0;
    let shortest = prec < 0;
    match fmt {
        'e' | 'E' => {
            let (digits, dp) = if shortest {
                decimal_digits(f, None)
            } else {
                decimal_digits(f, Some(prec as usize + 1))
            };
            let prec = if shortest {
                digits.len() as i32 - 1
            } else {
                prec
            };
            fmt_e(&mut out, &digits, dp, prec, fmt, zero);
        }
        'f' | 'F' => {
            if shortest {
                let (digits, dp) = decimal_digits(f, None);
                let prec = (digits.len() as i32 - dp).max(0);
                fmt_f(&mut out, &digits, if zero { 1 } else { dp }, prec);
            } else {
                let s = format!("{:.*}", prec as usize, f.abs());
                out.push_str(&s);
            }
        }
        _ => {
            // 'g' / 'G'
            let (mut digits, dp) = if shortest {
                decimal_digits(f, None)
            } else {
                let p = if prec == 0 { 1 } else { prec as usize };
                decimal_digits(f, Some(p))
            };
            if zero {
                digits = vec![b'0'];
            }
            // Go's decimal type has no trailing zeros.
            while digits.len() > 1 && digits[digits.len() - 1] == b'0' {
                digits.pop();
            }
            let dp = if zero { 1 } else { dp };
            let nd = digits.len() as i32;
            let mut prec = if shortest {
                nd
            } else if prec == 0 {
                1
            } else {
                prec
            };
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                let e = if fmt == 'G' { 'E' } else { 'e' };
                fmt_e(&mut out, &digits, dp, prec - 1, e, zero);
            } else {
                if prec > dp {
                    prec = nd;
                }
                fmt_f(&mut out, &digits, dp, (prec - dp).max(0));
            }
        }
    }
    out
}

fn parse_uint_base0(s: &str) -> Option<u64> {
    let (base, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (2, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() {
        return None;
    }
    // Underscores: only between digits (or after the base prefix), Go's underscoreOK.
    if digits.contains('_') {
        let prefixed = base != 10;
        let b = digits.as_bytes();
        if b[b.len() - 1] == b'_' || (!prefixed && b[0] == b'_') || digits.contains("__") {
            return None;
        }
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    u64::from_str_radix(&clean, base).ok()
}

fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint_base0(body)?;
    if neg {
        if u > 1u64 << 63 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        if u > i64::MAX as u64 {
            return None;
        }
        Some(u as i64)
    }
}

/// `strconv.ParseFloat(s, 64)` for the syntax the template lexer can produce (decimal and
/// hexadecimal floats, underscores).
fn parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    if body.contains('_') && (body.starts_with('_') || body.ends_with('_') || body.contains("__")) {
        return None;
    }
    let v = if let Some(h) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        parse_hex_float(h)?
    } else {
        if clean.is_empty() || !clean.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        if clean.bytes().any(|b| {
            !(b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'+' || b == b'-')
        }) {
            return None;
        }
        clean.parse::<f64>().ok()?
    };
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_hex_float(h: &str) -> Option<f64> {
    let (mant, exp) = match h.find(['p', 'P']) {
        Some(i) => (&h[..i], h[i + 1..].parse::<i32>().ok()?),
        None => return None, // hex float needs an exponent
    };
    let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
    if ip.is_empty() && fp.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in ip.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in fp.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Go's `parse.NewNumber`.
pub(crate) fn parse_number(text: &str, is_char: bool, is_complex: bool) -> Result<Number, String> {
    let mut n = Number {
        pos: 0,
        text: text.into(),
        is_int: false,
        is_uint: false,
        is_float: false,
        is_complex: false,
        int: 0,
        uint: 0,
        float: 0.0,
        complex: (0.0, 0.0),
    };
    if is_char {
        let inner = &text[1..];
        let Some((v, _, tail)) = unquote_char(inner, b'\'') else {
            return Err("invalid syntax".into());
        };
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        n.int = v as i64;
        n.uint = v as u64;
        n.float = v as f64;
        n.is_int = true;
        n.is_uint = true;
        n.is_float = true;
        return Ok(n);
    }
    if is_complex {
        // `1+2i` (one token, no spaces): Go reads it with fmt.Sscan.
        let split = text
            .char_indices()
            .skip(1)
            .filter(|&(i, c)| {
                (c == '+' || c == '-')
                    && !matches!(text.as_bytes()[i - 1], b'e' | b'E' | b'p' | b'P')
            })
            .map(|(i, _)| i)
            .last();
        let parts = split.and_then(|i| {
            let im = text[i..].strip_suffix('i')?;
            let im = im.strip_prefix('+').unwrap_or(im);
            Some((parse_float(&text[..i])?, parse_float(im)?))
        });
        return match parts {
            Some(c) => Ok(complex_number(n, c)),
            None => Err(format!("illegal number syntax: {}", quote(text))),
        };
    }
    if let Some(im) = text.strip_suffix('i') {
        return match parse_float(im) {
            Some(f) => Ok(complex_number(n, (0.0, f))),
            None => Err(format!("illegal number syntax: {}", quote(text))),
        };
    }
    let u = parse_uint_base0(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_int_base0(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
            n.uint = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text)));
        }
        n.is_float = true;
        n.float = f;
        if !n.is_int && (f as i64) as f64 == f && f.abs() < 9.3e18 {
            n.is_int = true;
            n.int = f as i64;
        }
        if !n.is_uint && f >= 0.0 && (f as u64) as f64 == f && f < 1.8e19 {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", quote(text)));
    }
    Ok(n)
}

/// Go's `simplifyComplex`: a complex constant with a zero imaginary part is also a float,
/// and an integral one an integer.
fn complex_number(mut n: Number, c: (f64, f64)) -> Number {
    n.is_complex = true;
    n.complex = c;
    if c.1 == 0.0 {
        n.is_float = true;
        n.float = c.0;
        if (c.0 as i64) as f64 == c.0 && c.0.abs() < 9.3e18 {
            n.is_int = true;
            n.int = c.0 as i64;
        }
        if c.0 >= 0.0 && (c.0 as u64) as f64 == c.0 && c.0 < 1.8e19 {
            n.is_uint = true;
            n.uint = c.0 as u64;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(format_float(3.0, 'g', -1), "3");
        assert_eq!(format_float(1.5, 'g', -1), "1.5");
        assert_eq!(format_float(1e6, 'g', -1), "1e+06");
        assert_eq!(format_float(1234567.0, 'g', -1), "1.234567e+06");
        assert_eq!(format_float(123456.0, 'g', -1), "123456");
        assert_eq!(format_float(0.0001, 'g', -1), "0.0001");
        assert_eq!(format_float(0.00001, 'g', -1), "1e-05");
        assert_eq!(format_float(0.0, 'g', -1), "0");
        assert_eq!(format_float(-2.5, 'g', -1), "-2.5");
        assert_eq!(format_float(1e21, 'g', -1), "1e+21");
        assert_eq!(format_float(3.14158, 'f', 2), "3.14");
        assert_eq!(format_float(3.0, 'e', 6), "3.000000e+00");
        assert_eq!(format_float(1.0, 'g', 3), "1");
        assert_eq!(format_float(123456789.0, 'g', 3), "1.23e+08");
        assert_eq!(format_float(0.1, 'f', -1), "0.1");
        assert_eq!(format_float(100.0, 'f', -1), "100");
        assert_eq!(format_float(1e-7, 'e', -1), "1e-07");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\n\t\x01é"), "\"a\\\"b\\n\\t\\x01é\"");
        assert_eq!(quote_ascii("é"), "\"\\u00e9\"");
        assert_eq!(
            unquote("\"a\\tb\\u00e9\\x41\\101\"").as_deref(),
            Some("a\tbéAA")
        );
        assert_eq!(unquote("`a\\n`").as_deref(), Some("a\\n"));
        assert_eq!(unquote("\"a\\'\""), None);
        assert_eq!(unquote("\"\\1é\""), None);
        assert_eq!(unquote("\"\\xé\""), None);
        assert_eq!(unquote("\"\\ޢ\""), None);
    }

    #[test]
    fn numbers() {
        let n = parse_number("0x1F", false, false).unwrap();
        assert!(n.is_int && n.int == 31);
        let n = parse_number("1.5", false, false).unwrap();
        assert!(n.is_float && !n.is_int);
        let n = parse_number("1e3", false, false).unwrap();
        assert!(n.is_float && n.is_int && n.int == 1000);
        let n = parse_number("'a'", true, false).unwrap();
        assert_eq!(n.int, 97);
        assert!(parse_number("9999999999999999999999", false, false).is_err());
        let n = parse_number("0755", false, false).unwrap();
        assert_eq!(n.int, 493);
        let n = parse_number("1_000", false, false).unwrap();
        assert_eq!(n.int, 1000);
    }
}
