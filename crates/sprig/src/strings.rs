//! String functions: Go's `strings`, Masterminds/goutils and huandu/xstrings algorithms.

use crate::unicode::{
    is_letter, is_lower, is_number, is_punct, is_space, is_title, is_upper, to_lower, to_title,
    to_upper,
};

/// Go's `strings.Title` (deprecated but what Sprig's `title` is).
pub fn title(s: &str) -> String {
    let is_sep = |r: char| -> bool {
        if (r as u32) <= 0x7F {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if is_letter(r) || crate::unicode::is_digit(r) {
            return false;
        }
        is_space(r)
    };
    let mut prev = ' ';
    s.chars()
        .map(|r| {
            let out = if is_sep(prev) { to_title(r) } else { r };
            prev = r;
            out
        })
        .collect()
}

/// goutils `Uncapitalize` with whitespace delimiters.
pub fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                to_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `SwapCase`.
pub fn swapcase(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|ch| {
            if is_upper(ch) || is_title(ch) {
                whitespace = false;
                to_lower(ch)
            } else if is_lower(ch) {
                if whitespace {
                    whitespace = false;
                    to_title(ch)
                } else {
                    to_upper(ch)
                }
            } else {
                whitespace = is_space(ch);
                ch
            }
        })
        .collect()
}

/// goutils `Initials`: byte-wise (a non-ASCII first byte becomes the Latin-1 rune of it).
pub fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_gap = true;
    for &b in s.as_bytes() {
        let ch = b as char;
        if is_space(ch) {
            last_gap = true;
        } else if last_gap {
            out.push(ch);
            last_gap = false;
        }
    }
    out
}

/// goutils `DeleteWhiteSpace` (byte-wise, like the original).
pub fn nospace(s: &str) -> String {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| is_space(b as char)) {
        return s.to_string();
    }
    bytes
        .iter()
        .filter(|&&b| !is_space(b as char))
        .map(|&b| b as char)
        .collect()
}

/// A byte-slice of `s` that may cut through a UTF-8 sequence (Go strings are bytes).
pub fn byte_slice(s: &str, start: usize, end: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[start..end]).into_owned()
}

/// goutils `AbbreviateFull`; `Err` carries goutils' error (Sprig ignores it: "").
pub fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> Result<String, ()> {
    if s.is_empty() {
        return Ok(String::new());
    }
    if max_width < 4 {
        return Err(());
    }
    let len = s.len() as i64;
    if len <= max_width {
        return Ok(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return Ok(byte_slice(s, 0, (max_width - 3) as usize) + "...");
    }
    if max_width < 7 {
        return Err(());
    }
    if offset + max_width - 3 < len {
        let rest = byte_slice(s, offset as usize, s.len());
        let ab = abbreviate_full(&rest, 0, max_width - 3).unwrap_or_default();
        return Ok(format!("...{ab}"));
    }
    Ok(format!(
        "...{}",
        byte_slice(s, (len - (max_width - 3)) as usize, s.len())
    ))
}

/// goutils `WrapCustom` (byte-oriented).
pub fn wrap_custom(s: &str, wrap_length: i64, newline: &str, wrap_long: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let wl = wrap_length.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > wl {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = wl + offset + 1;
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(p) = space {
            let at = p + offset;
            out.extend_from_slice(&b[offset..at]);
            out.extend_from_slice(newline.as_bytes());
            offset = at + 1;
        } else if wrap_long {
            let end = wl + offset;
            out.extend_from_slice(&b[offset..end]);
            out.extend_from_slice(newline.as_bytes());
            offset += wl;
        } else {
            let end = wl + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    let at = i + end;
                    out.extend_from_slice(&b[offset..at]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = at + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || is_space(r)
}

fn is_alphabet(r: char) -> bool {
    if !is_letter(r) {
        return false;
    }
    let u = r as u32;
    if u < 0x3400 {
        return true;
    }
    !((0x4E00..=0x9FCC).contains(&u)
        || (0x3400..=0x4D85).contains(&u)
        || (0x20000..=0x2B81D).contains(&u))
}

/// xstrings `ToPascalCase` (v1.5.0), what Sprig's `camelcase` is.
pub fn pascal_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut i = 0;
    let mut first_upper = false;
    let mut r0 = '\0';
    let mut have = false;
    while i < chars.len() {
        r0 = chars[i];
        i += 1;
        have = true;
        if !is_connector(r0) {
            first_upper = is_upper(r0);
            r0 = to_upper(r0);
            break;
        }
        out.push(r0);
        have = false;
    }
    if i >= chars.len() {
        if have {
            out.push(r0);
        }
        return out;
    }
    while i < chars.len() {
        let r1 = r0;
        r0 = chars[i];
        i += 1;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = is_upper(r0);
            r0 = to_upper(r0);
        } else {
            if first_upper {
                if is_upper(r0) {
                    r0 = to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wt {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// xstrings `nextWord` over a char slice: (type, word end index).
fn next_word(s: &[char]) -> (Wt, usize) {
    if s.is_empty() {
        return (Wt::Invalid, 0);
    }
    let r = s[0];
    let mut off = 1;
    let wt;
    if is_connector(r) {
        wt = Wt::Connector;
        while off < s.len() && is_connector(s[off]) {
            off += 1;
        }
    } else if is_punct(r) {
        wt = Wt::Punct;
        while off < s.len() && is_punct(s[off]) {
            off += 1;
        }
    } else if is_upper(r) {
        wt = Wt::Upper;
        if off < s.len() {
            let r2 = s[off];
            if is_upper(r2) {
                off += 1;
                while off < s.len() && is_upper(s[off]) {
                    off += 1;
                }
                if off < s.len() && is_alphabet(s[off]) {
                    off -= 1;
                }
            } else if is_alphabet(r2) {
                off += 1;
                while off < s.len() && is_alphabet(s[off]) && !is_upper(s[off]) {
                    off += 1;
                }
            }
        }
    } else if is_alphabet(r) {
        wt = Wt::Alpha;
        while off < s.len() && is_alphabet(s[off]) && !is_upper(s[off]) {
            off += 1;
        }
    } else if is_number(r) {
        wt = Wt::Number;
        while off < s.len() && is_number(s[off]) {
            off += 1;
        }
    } else {
        wt = Wt::Other;
        while off < s.len() {
            let c = s[off];
            if is_connector(c) || is_alphabet(c) || is_number(c) || is_punct(c) {
                break;
            }
            off += 1;
        }
    }
    (wt, off)
}

fn lower_word(out: &mut String, wt: Wt, w: &[char], connector: char) {
    if wt != Wt::Upper && wt != Wt::Connector {
        out.extend(w.iter());
        return;
    }
    for &r in w {
        if is_connector(r) {
            out.push(connector);
        } else if is_upper(r) {
            out.push(to_lower(r));
        } else {
            out.push(r);
        }
    }
}

/// xstrings `camelCaseToLowerCase` (snakecase/kebabcase).
pub fn camel_to_lower(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut pos = 0usize;
    let next = |pos: &mut usize| -> (Wt, Vec<char>) {
        let (wt, n) = next_word(&chars[*pos..]);
        let w = chars[*pos..*pos + n].to_vec();
        *pos += n;
        (wt, w)
    };
    let (mut wt, mut word) = next(&mut pos);
    while pos < chars.len() {
        if wt != Wt::Connector {
            lower_word(&mut out, wt, &word, connector);
        }
        let prev = wt;
        let last = word.clone();
        (wt, word) = next(&mut pos);
        match prev {
            Wt::Number => {
                while wt == Wt::Alpha || wt == Wt::Number {
                    lower_word(&mut out, wt, &word, connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != Wt::Invalid && wt != Wt::Punct && wt != Wt::Connector {
                    out.push(connector);
                }
            }
            Wt::Connector => lower_word(&mut out, prev, &last, connector),
            Wt::Punct => {}
            _ => {
                if wt != Wt::Number {
                    if wt != Wt::Connector && wt != Wt::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if pos >= chars.len() {
                    continue;
                }
                let last = word.clone();
                (wt, word) = next(&mut pos);
                if wt != Wt::Alpha {
                    lower_word(&mut out, Wt::Number, &last, connector);
                    if wt != Wt::Connector && wt != Wt::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                lower_word(&mut out, Wt::Number, &last, connector);
                while wt == Wt::Alpha || wt == Wt::Number {
                    lower_word(&mut out, wt, &word, connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != Wt::Invalid && wt != Wt::Connector && wt != Wt::Punct {
                    out.push(connector);
                }
            }
        }
    }
    lower_word(&mut out, wt, &word, connector);
    out
}

/// Go's `strings.Trim(s, cutset)`.
pub fn trim_cutset(s: &str, cutset: &str) -> String {
    if s.is_empty() || cutset.is_empty() {
        return s.to_string();
    }
    s.trim_matches(|c| cutset.contains(c)).to_string()
}

/// Go's `strings.Split(s, sep)` (empty separator: split after each UTF-8 sequence).
pub fn go_split(s: &str, sep: &str) -> Vec<String> {
    go_splitn(s, sep, -1)
}

/// Go's `strings.SplitN(s, sep, n)`.
pub fn go_splitn(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<&str> = s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
        let limit = if n < 0 || n as usize > chars.len() {
            chars.len()
        } else {
            n as usize
        };
        let mut out: Vec<String> = chars[..limit.saturating_sub(1)]
            .iter()
            .map(|x| x.to_string())
            .collect();
        if limit > 0 {
            let consumed: usize = chars[..limit - 1].iter().map(|x| x.len()).sum();
            out.push(s[consumed..].to_string());
        }
        return out;
    }
    if n < 0 {
        return s.split(sep).map(String::from).collect();
    }
    s.splitn(n as usize, sep).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(pascal_case("http_server-name"), "HttpServerName");
        assert_eq!(pascal_case("GOLANG_IS_GREAT"), "GolangIsGreat");
        assert_eq!(pascal_case("_complex__case_"), "_Complex_Case_");
        assert_eq!(camel_to_lower("HTTPServerName", '_'), "http_server_name");
        assert_eq!(camel_to_lower("HTTP20xOK", '_'), "http_20x_ok");
        assert_eq!(camel_to_lower("Bld4Floor3rd", '_'), "bld4_floor_3rd");
        assert_eq!(camel_to_lower("Duration2m3s", '-'), "duration-2m3s");
        assert_eq!(camel_to_lower("GO PATH", '_'), "go_path");
        assert_eq!(title("hello world-foo"), "Hello World-Foo");
        assert_eq!(swapcase("This Is A.Test"), "tHIS iS a.tEST");
        assert_eq!(initials("John Doe Foo"), "JDF");
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap_custom("aaa bbb ccc", 5, "", false), "aaa\nbbb\nccc");
        assert_eq!(
            abbreviate_full("Now is the time for all good men", 0, 10).unwrap(),
            "Now is ..."
        );
    }

    #[test]
    fn splitting() {
        assert_eq!(go_split("a/b/c", "/"), vec!["a", "b", "c"]);
        assert_eq!(go_split("abc", ""), vec!["a", "b", "c"]);
        assert_eq!(go_splitn("a/b/c", "/", 2), vec!["a", "b/c"]);
        assert_eq!(go_split("", ","), vec![""]);
    }
}
