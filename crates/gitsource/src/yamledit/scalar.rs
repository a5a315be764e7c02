//! Scalar type resolution and writing.

use super::ScalarStyle;

/// The type a plain scalar resolves to under YAML 1.1 (go-yaml v2, used by Helm) or YAML 1.2
/// core rules; anything either of them reads as non-string counts as non-string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvedType {
    /// `~`, `null`, empty.
    Null,
    /// `true`, `yes`, `on`, ...
    Bool,
    /// `42`, `0x1f`, `0o17`, `1_000`, `1:30`.
    Int,
    /// `1.5`, `1e3`, `.inf`, `.nan`.
    Float,
    /// `2001-12-14...`.
    Timestamp,
    /// `<<` (merge) or `=` (value).
    Special,
    /// Anything else.
    Str,
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(f)
}

fn sexagesimal(s: &str) -> bool {
    // [0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?
    let (int_part, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    if let Some(f) = frac
        && !f.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    let mut parts = int_part.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !all(first, |c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.as_bytes() {
            [a] => a.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

/// Resolves a plain scalar's text to its type.
pub fn resolve(s: &str) -> ResolvedType {
    use ResolvedType::*;
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true" | "True"
        | "TRUE" | "false" | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => {
            return Bool;
        }
        "<<" | "=" => return Special,
        ".nan" | ".NaN" | ".NAN" => return Float,
        _ => {}
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Float;
    }
    let digits_ = |t: &str, f: fn(u8) -> bool| all(t, |c| f(c) || c == b'_');
    type DigitTest = fn(u8) -> bool;
    let radix: [(&str, DigitTest); 3] = [
        ("0b", |c| c == b'0' || c == b'1'),
        ("0x", |c| c.is_ascii_hexdigit()),
        ("0o", |c| (b'0'..=b'7').contains(&c)),
    ];
    for (prefix, ok) in radix {
        if let Some(r) = unsigned.strip_prefix(prefix)
            && digits_(r, ok)
        {
            return Int;
        }
    }
    if unsigned.starts_with(|c: char| c.is_ascii_digit())
        && digits_(unsigned, |c| c.is_ascii_digit())
    {
        return Int;
    }
    if sexagesimal(unsigned) {
        return if unsigned.contains('.') { Float } else { Int };
    }
    // Floats: mantissa [0-9_]*(\.[0-9_]*)? with a digit, then an optional exponent; a dot or an
    // exponent is required.
    let (mantissa, exp) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        all(e, |c| c.is_ascii_digit())
    });
    let dots = mantissa.bytes().filter(|&c| c == b'.').count();
    if exp_ok
        && dots <= 1
        && (dots == 1 || exp.is_some())
        && mantissa.bytes().any(|c| c.is_ascii_digit())
        && mantissa
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'_' || c == b'.')
    {
        return Float;
    }
    // Timestamps: YYYY-M-D prefix.
    let b = s.as_bytes();
    if b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        let rest = &s[5..];
        let mut it = rest.splitn(3, '-');
        let m = it.next().unwrap_or("");
        let d = it.next().unwrap_or("");
        let d_digits: String = d.chars().take_while(char::is_ascii_digit).collect();
        if (1..=2).contains(&m.len())
            && all(m, |c| c.is_ascii_digit())
            && (1..=2).contains(&d_digits.len())
        {
            return Timestamp;
        }
    }
    Str
}

fn printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
        ))
}

/// Whether `s` can be written as a plain scalar (as a value) without changing its text.
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with([' ', '\t']) || s.ends_with([' ', '\t']) || s.contains('\t') {
        return false;
    }
    if !s.chars().all(printable) {
        return false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if "-?:".contains(first) {
        match s.chars().nth(1) {
            None | Some(' ') => return false,
            Some(c) if flow && ",[]{}".contains(c) => return false,
            _ => {}
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    true
}

fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x100 && !printable(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !printable(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn single_quote(s: &str) -> Option<String> {
    if !s.chars().all(printable) || s.contains('\n') {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// Quoting when a plain scalar cannot be used: double quotes, or single quotes when that avoids
/// escapes.
fn quote(s: &str) -> String {
    if s.contains(['"', '\\'])
        && let Some(q) = single_quote(s)
    {
        return q;
    }
    double_quote(s)
}

/// Writes `value` for a node written in `style`; a plain result must resolve to `want`.
pub(super) fn render(
    value: &str,
    style: ScalarStyle,
    want: ResolvedType,
    flow: bool,
) -> Result<String, String> {
    Ok(match style {
        ScalarStyle::DoubleQuoted => double_quote(value),
        ScalarStyle::SingleQuoted => single_quote(value).unwrap_or_else(|| double_quote(value)),
        ScalarStyle::Plain | ScalarStyle::Literal | ScalarStyle::Folded => {
            let want = if style == ScalarStyle::Plain {
                want
            } else {
                ResolvedType::Str
            };
            if plain_ok(value, flow) && resolve(value) == want {
                value.to_string()
            } else {
                quote(value)
            }
        }
    })
}

/// Writes a mapping key (plain when it reads back as the same string).
pub(super) fn render_key(key: &str, flow: bool) -> Result<String, String> {
    if key.contains(['\n', '\r']) {
        return Err(format!("a key cannot hold a line break ({key:?})"));
    }
    Ok(
        if plain_ok(key, flow) && resolve(key) == ResolvedType::Str {
            key.to_string()
        } else {
            double_quote(key)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResolvedType::*;

    #[test]
    fn resolves_like_yaml_1_1_and_1_2() {
        for (s, t) in [
            ("", Null),
            ("~", Null),
            ("NULL", Null),
            ("yes", Bool),
            ("Off", Bool),
            ("y", Bool),
            ("true", Bool),
            ("12", Int),
            ("-12", Int),
            ("0x1F", Int),
            ("0o17", Int),
            ("0755", Int),
            ("1_000", Int),
            ("0b101", Int),
            ("1:30", Int),
            ("1.10", Float),
            ("1.", Float),
            (".5", Float),
            ("1e5", Float),
            ("-1.5E-3", Float),
            (".inf", Float),
            ("-.Inf", Float),
            (".NaN", Float),
            ("1:30.5", Float),
            ("2001-12-14", Timestamp),
            ("2001-12-14t21:59:43.10-05:00", Timestamp),
            ("<<", Special),
            ("1.2.3", Str),
            ("v1.2.3", Str),
            ("1e", Str),
            ("e5", Str),
            ("sha-abc123", Str),
            ("abc", Str),
            ("1.2.3-rc.1", Str),
            ("0x", Str),
            ("2024-01", Str),
            ("latest", Str),
            ("12:61", Str),
        ] {
            assert_eq!(resolve(s), t, "{s:?}");
        }
    }

    #[test]
    fn plain_validity() {
        for s in ["v1", "a b", "http://x", "-a", "a:b", "é", "a#b", "1.2.3"] {
            assert!(plain_ok(s, false), "{s:?}");
        }
        for s in [
            "", " a", "a ", "- a", "-", ":", "a: b", "a #b", "a:", "#a", "'a", "\"a", "&a", "*a",
            "!a", "|", ">", "%a", "@a", "`a", "{a", "[a", "a\nb", "a\tb", "---", "...x",
        ] {
            assert!(!plain_ok(s, false), "{s:?}");
        }
        assert!(plain_ok("a,b", false));
        assert!(!plain_ok("a,b", true));
        assert!(!plain_ok("a}", true));
    }

    #[test]
    fn rendering_keeps_style_and_type() {
        use ScalarStyle::*;
        assert_eq!(render("1.5.0", Plain, Str, false).unwrap(), "1.5.0");
        assert_eq!(render("1.10", Plain, Str, false).unwrap(), "\"1.10\"");
        assert_eq!(render("3", Plain, Int, false).unwrap(), "3");
        assert_eq!(render("x", Plain, Int, false).unwrap(), "\"x\"");
        assert_eq!(render("yes", Plain, Str, false).unwrap(), "\"yes\"");
        assert_eq!(render("a\"b", Plain, Str, false).unwrap(), "a\"b");
        assert_eq!(render("\"b", Plain, Str, false).unwrap(), "'\"b'");
        assert_eq!(render("it's", SingleQuoted, Str, false).unwrap(), "'it''s'");
        assert_eq!(
            render("a\nb", SingleQuoted, Str, false).unwrap(),
            "\"a\\nb\""
        );
        assert_eq!(
            render("a\"\\", DoubleQuoted, Str, false).unwrap(),
            "\"a\\\"\\\\\""
        );
        assert_eq!(
            render("\u{1}", DoubleQuoted, Str, false).unwrap(),
            "\"\\x01\""
        );
        assert_eq!(render("v2", Literal, Str, false).unwrap(), "v2");
        assert_eq!(render("a,b", Plain, Str, true).unwrap(), "\"a,b\"");
        assert_eq!(render_key("a.b", false).unwrap(), "a.b");
        assert_eq!(render_key("true", false).unwrap(), "\"true\"");
        assert!(render_key("a\nb", false).is_err());
    }
}
