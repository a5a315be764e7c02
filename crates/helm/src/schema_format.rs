//! The `format` checks of santhosh-tekuri/jsonschema v6 (as Helm v4 validates
//! values.schema.json), with its error texts. v6 asserts formats only for draft-04/06/07
//! schemas (Helm does not turn assertion on for 2019-09/2020-12); unknown formats pass.

/// Checks `s` against the format `name`: `None` for a format v6 does not know (not
/// asserted), else the result with v6's reason (printed after `'…' is not valid NAME: `).
pub(crate) fn check(name: &str, s: &str) -> Option<Result<(), String>> {
    Some(match name {
        "json-pointer" => json_pointer(s),
        "relative-json-pointer" => relative_json_pointer(s),
        "uuid" => uuid(s),
        "duration" => duration(s),
        "period" => period(s),
        "ipv4" => ipv4(s),
        "ipv6" => ipv6(s),
        "hostname" => hostname(s),
        "email" => email(s),
        "date" => date(s),
        "time" => time(s),
        "date-time" => date_time(s),
        "uri" | "iri" => uri(s),
        "uri-reference" | "iri-reference" => uri_reference(s),
        "uri-template" => uri_template(s),
        "semver" => semver(s),
        "regex" => regex(s),
        _ => return None,
    })
}

type R = Result<(), String>;

/// Go's `strconv.Quote` (for the texts that quote values).
pub(crate) fn go_quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        q.push_str(&escape_char(c, '"'));
    }
    q.push('"');
    q
}

/// Go's `%q` of a rune.
fn quote_rune(c: char) -> String {
    format!("'{}'", escape_char(c, '\''))
}

fn escape_char(c: char, delim: char) -> String {
    match c {
        '\\' => "\\\\".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\u{c}' => "\\f".into(),
        '\u{b}' => "\\v".into(),
        c if c == delim => format!("\\{c}"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
        c => c.to_string(),
    }
}

fn json_pointer(s: &str) -> R {
    if s.is_empty() {
        return Ok(());
    }
    if !s.starts_with('/') {
        return Err("not starting with /".into());
    }
    for tok in s.split('/').skip(1) {
        let mut escape = false;
        for ch in tok.chars() {
            if escape {
                escape = false;
                if ch != '0' && ch != '1' {
                    return Err("~ must be followed by 0 or 1".into());
                }
                continue;
            }
            if ch == '~' {
                escape = true;
            }
        }
        if escape {
            return Err("~ must be followed by 0 or 1".into());
        }
    }
    Ok(())
}

fn relative_json_pointer(s: &str) -> R {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("must start with non-negative integer".into());
    }
    if digits > 1 && s.starts_with('0') {
        return Err("starts with zero".into());
    }
    let rest = &s[digits..];
    if rest == "#" {
        return Ok(());
    }
    json_pointer(rest)
}

fn uuid(s: &str) -> R {
    let lens = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != lens.len() {
        return Err(format!("must have {} elements", lens.len()));
    }
    for (i, g) in groups.iter().enumerate() {
        if g.len() != lens[i] {
            return Err(format!(
                "element {} must be {} characters long",
                i + 1,
                lens[i]
            ));
        }
        if let Some(c) = g.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("non-hex character {}", quote_rune(c)));
        }
    }
    Ok(())
}

fn duration(s: &str) -> R {
    let Some(s) = s.strip_prefix('P') else {
        return Err("must start with P".into());
    };
    if s.is_empty() {
        return Err("nothing after P".into());
    }
    if let Some(w) = s.strip_suffix('W') {
        if w.is_empty() {
            return Err("no number in week".into());
        }
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid week".into());
        }
        return Ok(());
    }
    let all_units = ["YMD", "HMS"];
    for (i, part) in s.split('T').enumerate() {
        if i != 0 && part.is_empty() {
            return Err("no time elements".into());
        }
        if i >= all_units.len() {
            return Err("more than one T".into());
        }
        let mut units = all_units[i];
        let mut p = part;
        while !p.is_empty() {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err("missing number".into());
            }
            p = &p[digits..];
            let Some(unit) = p.bytes().next() else {
                return Err("missing unit".into());
            };
            match units.bytes().position(|u| u == unit) {
                Some(j) => units = &units[j + 1..],
                None => {
                    // Go's %q of a byte: a quoted character.
                    let q = quote_rune(unit as char);
                    if all_units[i].as_bytes().contains(&unit) {
                        return Err(format!("unit {q} out of order"));
                    }
                    return Err(format!("invalid unit {q}"));
                }
            }
            p = &p[1..];
        }
    }
    Ok(())
}

fn period(s: &str) -> R {
    let Some(slash) = s.find('/') else {
        return Err("missing slash".into());
    };
    let (start, end) = (&s[..slash], &s[slash + 1..]);
    if start.starts_with('P') {
        duration(start).map_err(|e| format!("invalid start duration: {e}"))?;
        date_time(end).map_err(|e| format!("invalid end date-time: {e}"))
    } else {
        date_time(start).map_err(|e| format!("invalid start date-time: {e}"))?;
        if end.starts_with('P') {
            duration(end).map_err(|e| format!("invalid end duration: {e}"))
        } else {
            date_time(end).map_err(|e| format!("invalid end date-time: {e}"))
        }
    }
}

/// Go's `strconv.Atoi` on a decimal field, with its error text.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(s)))
}

fn ipv4(s: &str) -> R {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 4 {
        return Err("expected four decimals".into());
    }
    for g in groups {
        if g.len() > 1 && g.starts_with('0') {
            return Err("leading zeros".into());
        }
        let n = atoi(g)?;
        if !(0..=255).contains(&n) {
            return Err("decimal must be between 0 and 255".into());
        }
    }
    Ok(())
}

fn addr_error(input: &str, msg: &str, at: Option<&str>) -> String {
    match at {
        Some(at) if !at.is_empty() => format!(
            "ParseAddr({}): {msg} (at {})",
            go_quote(input),
            go_quote(at)
        ),
        _ => format!("ParseAddr({}): {msg}", go_quote(input)),
    }
}

/// Go's `netip` IPv4 field parsing (`parseIPv4Fields`) of `input[off..end]`.
fn ipv4_fields(input: &str, off: usize, end: usize) -> R {
    let b = input.as_bytes();
    let mut val: i32 = 0;
    let mut digits = 0;
    let mut pos = 0;
    let mut i = off;
    while i < end {
        let c = b[i];
        if c.is_ascii_digit() {
            if digits == 1 && val == 0 {
                return Err(addr_error(
                    input,
                    "IPv4 field has octet with leading zero",
                    None,
                ));
            }
            val = val * 10 + (c - b'0') as i32;
            digits += 1;
            if val > 255 {
                return Err(addr_error(input, "IPv4 field has value >255", None));
            }
        } else if c == b'.' {
            if i == off || i == end - 1 || b[i - 1] == b'.' {
                return Err(addr_error(
                    input,
                    "IPv4 field must have at least one digit",
                    Some(&input[i..]),
                ));
            }
            if pos == 3 {
                return Err(addr_error(input, "IPv4 address too long", None));
            }
            pos += 1;
            val = 0;
            digits = 0;
        } else {
            return Err(addr_error(input, "unexpected character", Some(&input[i..])));
        }
        i += 1;
    }
    if pos < 3 {
        return Err(addr_error(input, "IPv4 address too short", None));
    }
    Ok(())
}

/// Go's `netip.ParseAddr` for a string holding a `:` (v6's ipv6 check), with its errors;
/// returns whether a zone was given.
fn parse_addr(input: &str) -> Result<bool, String> {
    for c in input.bytes() {
        match c {
            b'.' => return ipv4_fields(input, 0, input.len()).map(|_| false),
            b':' => return parse_ipv6(input),
            b'%' => return Err(addr_error(input, "missing IPv6 address", None)),
            _ => {}
        }
    }
    Err(addr_error(input, "unable to parse IP", None))
}

fn parse_ipv6(input: &str) -> Result<bool, String> {
    let (mut s, zone) = match input.find('%') {
        Some(i) => {
            let zone = &input[i + 1..];
            if zone.is_empty() {
                return Err(addr_error(input, "zone must be a non-empty string", None));
            }
            (&input[..i], Some(zone))
        }
        None => (input, None),
    };
    let mut ellipsis: i32 = -1;
    if s.starts_with("::") {
        ellipsis = 0;
        s = &s[2..];
        if s.is_empty() {
            return Ok(zone.is_some());
        }
    }
    let mut i = 0;
    while i < 16 {
        let b = s.as_bytes();
        let mut off = 0;
        let mut acc: u32 = 0;
        while off < b.len() {
            let c = b[off];
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            acc = (acc << 4) + d as u32;
            if off > 3 {
                return Err(addr_error(
                    input,
                    "each group must have 4 or less digits",
                    Some(s),
                ));
            }
            if acc > u16::MAX as u32 {
                return Err(addr_error(input, "IPv6 field has value >=2^16", Some(s)));
            }
            off += 1;
        }
        if off == 0 {
            return Err(addr_error(
                input,
                "each colon-separated field must have at least one digit",
                Some(s),
            ));
        }
        if off < b.len() && b[off] == b'.' {
            if ellipsis < 0 && i != 12 {
                return Err(addr_error(
                    input,
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    Some(s),
                ));
            }
            if i + 4 > 16 {
                return Err(addr_error(
                    input,
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    Some(s),
                ));
            }
            let end = input.len() - zone.map(|z| z.len() + 1).unwrap_or(0);
            ipv4_fields(input, end - s.len(), end)?;
            s = "";
            i += 4;
            break;
        }
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if !s.starts_with(':') {
            return Err(addr_error(
                input,
                "unexpected character, want colon",
                Some(s),
            ));
        } else if s.len() == 1 {
            return Err(addr_error(
                input,
                "colon must be followed by more characters",
                Some(s),
            ));
        }
        s = &s[1..];
        if s.starts_with(':') {
            if ellipsis >= 0 {
                return Err(addr_error(input, "multiple :: in address", Some(s)));
            }
            ellipsis = i;
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(addr_error(input, "trailing garbage after address", Some(s)));
    }
    if i < 16 {
        if ellipsis < 0 {
            return Err(addr_error(input, "address string too short", None));
        }
    } else if ellipsis >= 0 {
        return Err(addr_error(
            input,
            "the :: must expand to at least one field of zeros",
            None,
        ));
    }
    Ok(zone.is_some())
}

fn ipv6(s: &str) -> R {
    if !s.contains(':') {
        return Err("missing colon".into());
    }
    if parse_addr(s)? {
        return Err("zone id is not a part of ipv6 address".into());
    }
    Ok(())
}

fn hostname(s: &str) -> R {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 {
        return Err("more than 253 characters long".into());
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("label must be 1 to 63 characters long".into());
        }
        if label.starts_with('-') {
            return Err("label starts with hyphen".into());
        }
        if label.ends_with('-') {
            return Err("label ends with hyphen".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    Ok(())
}

fn email(s: &str) -> R {
    if s.len() > 254 {
        return Err("more than 255 characters long".into());
    }
    let Some(at) = s.rfind('@') else {
        return Err("missing @".into());
    };
    let (local, mut domain) = (&s[..at], &s[at + 1..]);
    if local.len() > 64 {
        return Err("local part more than 64 characters long".into());
    }
    if local.len() > 1 && local.starts_with('"') {
        let inner = &local[1..local.len() - 1];
        if inner.contains('\\') || inner.contains('"') {
            return Err("backslash and quote are not allowed within quoted local part".into());
        }
    } else {
        if local.starts_with('.') {
            return Err("starts with dot".into());
        }
        if local.ends_with('.') {
            return Err("ends with dot".into());
        }
        if local.contains("..") {
            return Err("consecutive dots".into());
        }
        if let Some(c) = local
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(*c)))
        {
            return Err(format!("invalid character {}", quote_rune(c)));
        }
    }
    if domain.starts_with('[') && domain.ends_with(']') && domain.len() >= 2 {
        domain = &domain[1..domain.len() - 1];
        if let Some(rem) = domain.strip_prefix("IPv6:") {
            return ipv6(rem).map_err(|e| format!("invalid ipv6 address: {e}"));
        }
        return ipv4(domain).map_err(|e| format!("invalid ipv4 address: {e}"));
    }
    hostname(domain).map_err(|e| format!("invalid domain: {e}"))
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `time.Parse("2006-01-02", s)` errors.
fn date(value: &str) -> R {
    let layout = "2006-01-02";
    let cannot = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(value),
            go_quote(layout),
            go_quote(rest),
            go_quote(elem)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", go_quote(value));
    let b = value.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    // 2006
    if b.len() < 4 || !digit(0) {
        return Err(cannot(value, "2006"));
    }
    let year: i64 = match value.get(..4).and_then(|y| y.parse().ok()) {
        Some(y) if (0..4).all(digit) => y,
        _ => return Err(cannot(value, "2006")),
    };
    let mut rest = &value[4..];
    // -01-02: separators and two-digit fields
    let mut nums = [0i64; 2];
    for (k, elem) in ["01", "02"].iter().enumerate() {
        let Some(r) = rest.strip_prefix('-') else {
            return Err(cannot(rest, "-"));
        };
        rest = r;
        let rb = rest.as_bytes();
        if !rb.first().is_some_and(u8::is_ascii_digit) || !rb.get(1).is_some_and(u8::is_ascii_digit)
        {
            return Err(cannot(rest, elem));
        }
        nums[k] = rest[..2].parse().unwrap_or(0);
        rest = &rest[2..];
        if k == 0 && !(1..=12).contains(&nums[0]) {
            return Err(range("month"));
        }
        if k == 1 && !(0..=31).contains(&nums[1]) {
            return Err(range("day"));
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            go_quote(value),
            go_quote(rest)
        ));
    }
    if nums[1] < 1 || nums[1] > days_in(nums[0], year) {
        return Err(range("day"));
    }
    Ok(())
}

fn small_int(tok: &str) -> Option<i64> {
    atoi(tok).ok()
}

fn time(s: &str) -> R {
    if s.len() < 9 {
        return Err("less than 9 characters long".into());
    }
    let b = s.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return Err("missing colon in correct place".into());
    }
    let Some(head) = s.get(..8) else {
        return Err("invalid hour/min/sec".into());
    };
    let mut hms = Vec::new();
    for tok in head.splitn(3, ':') {
        let Some(i) = small_int(tok) else {
            return Err("invalid hour/min/sec".into());
        };
        if i < 0 {
            return Err("non-positive hour/min/sec".into());
        }
        hms.push(i);
    }
    if hms.len() != 3 {
        return Err("missing hour/min/sec".into());
    }
    let (mut h, mut m, sec) = (hms[0], hms[1], hms[2]);
    if h > 23 || m > 59 || sec > 60 {
        return Err("hour/min/sec out of range".into());
    }
    let mut rest = &s[8..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("no digits in second fraction".into());
        }
        rest = &r[digits..];
    }
    if rest != "z" && rest != "Z" {
        if rest.len() != 6 {
            return Err("offset must be 6 characters long".into());
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => -1,
            b'-' => 1,
            _ => return Err("offset must begin with plus/minus".into()),
        };
        let off = &rest[1..];
        if off.as_bytes()[2] != b':' {
            return Err("missing colon in offset in correct place".into());
        }
        let mut zhm = Vec::new();
        for tok in off.splitn(2, ':') {
            let Some(i) = small_int(tok) else {
                return Err("invalid hour/min in offset".into());
            };
            if i < 0 {
                return Err("non-positive hour/min in offset".into());
            }
            zhm.push(i);
        }
        let (zh, zm) = (zhm[0], zhm[1]);
        if zh > 23 || zm > 59 {
            return Err("hour/min in offset out of range".into());
        }
        let mut hm = (h * 60 + m) + sign * (zh * 60 + zm);
        if hm < 0 {
            hm += 24 * 60;
        }
        h = hm / 60;
        m = hm % 60;
    }
    if sec >= 60 && (h != 23 || m != 59) {
        return Err("invalid leap second".into());
    }
    Ok(())
}

fn date_time(s: &str) -> R {
    if s.len() < 20 {
        return Err("less than 20 characters long".into());
    }
    let b = s.as_bytes();
    if b[10] != b't' && b[10] != b'T' {
        return Err("11th character must be t or T".into());
    }
    let (Some(d), Some(t)) = (s.get(..10), s.get(11..)) else {
        return Err("11th character must be t or T".into());
    };
    date(d).map_err(|e| format!("invalid date element: {e}"))?;
    time(t).map_err(|e| format!("invalid time element: {e}"))
}

/// A URL as Go's `net/url.Parse` splits it (only what the format checks need).
struct Url {
    scheme: String,
    host: String,
    raw_path: String,
}

fn url_error(raw: &str, msg: &str) -> String {
    format!("parse {}: {msg}", go_quote(raw))
}

fn ishex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// Go's `url.unescape` validity check: `%` must be followed by two hex digits; in a host,
/// only some characters are allowed.
fn check_escapes(s: &str, host: bool) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !ishex(b[i + 1]) || !ishex(b[i + 2]) {
                let end = (i + 3).min(b.len());
                return Err(format!("invalid URL escape {}", go_quote(&s[i..end])));
            }
            i += 3;
            continue;
        }
        if host && b[i] < 0x80 && !should_escape_ok_in_host(b[i]) {
            return Err(format!(
                "invalid character {} in host name",
                go_quote(&s[i..i + 1])
            ));
        }
        i += 1;
    }
    Ok(())
}

fn should_escape_ok_in_host(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
}

/// Go's `url.Parse` (not via a request), with its error texts.
fn parse_url(raw: &str) -> Result<Url, String> {
    let (u, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let url = parse_url_part(u).map_err(|e| url_error(u, &e))?;
    if let Some(f) = frag {
        check_escapes(f, false).map_err(|e| url_error(raw, &e))?;
    }
    Ok(url)
}

fn parse_url_part(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url {
        scheme: String::new(),
        host: String::new(),
        raw_path: String::new(),
    };
    if raw == "*" {
        url.raw_path = "*".into();
        return Ok(url);
    }
    // getScheme
    let mut rest = raw;
    for (i, c) in raw.bytes().enumerate() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == b':' {
            if i == 0 {
                return Err("missing protocol scheme".into());
            }
            url.scheme = raw[..i].to_ascii_lowercase();
            rest = &raw[i + 1..];
        }
        break;
    }
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, _query)) = rest.split_once('?') {
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            return Ok(url); // opaque
        }
        let seg = rest.split('/').next().unwrap_or("");
        if seg.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, r) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        url.host = parse_authority(authority)?;
        rest = r;
    }
    check_escapes(rest, false)?;
    url.raw_path = rest.to_string();
    Ok(url)
}

fn parse_authority(authority: &str) -> Result<String, String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host = parse_host(host)?;
    if let Some(u) = userinfo {
        let ok = u.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'-' | b'.'
                        | b'_'
                        | b':'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'%'
                        | b'@'
                )
        });
        if !ok {
            return Err("net/url: invalid userinfo".into());
        }
        check_escapes(u, false)?;
    }
    Ok(host)
}

fn valid_optional_port(port: &str) -> bool {
    if port.is_empty() {
        return true;
    }
    match port.strip_prefix(':') {
        Some(p) => p.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
        // Go 1.26 validates the bracketed address (its zone, after `%25`, aside).
        let inner = &host[1..i];
        let addr = inner.split("%25").next().unwrap_or(inner);
        if let Err(e) = parse_addr(addr) {
            return Err(format!("invalid host: {e}"));
        }
        check_escapes(&host[..i + 1], true)?;
        return Ok(host.to_string());
    }
    // Go 1.26: the port starts at the first colon of an unbracketed host.
    if let Some(i) = host.find(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    }
    check_escapes(host, true)?;
    Ok(host.to_string())
}

/// Go's `URL.Hostname()`.
fn hostname_of(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.find(']') {
            Some(i) => &rest[..i],
            None => rest,
        };
    }
    match host.rfind(':') {
        Some(i) if valid_optional_port(&host[i..]) => &host[..i],
        _ => host,
    }
}

/// v6's `parseURL`: Go's parser plus the IPv6 host checks.
fn parse_url_v6(s: &str) -> Result<Url, String> {
    let u = parse_url(s)?;
    let h = hostname_of(&u.host);
    if h.contains(':') {
        if !u.host.contains('[') || !u.host.contains(']') {
            return Err("ipv6 address not enclosed in brackets".into());
        }
        ipv6(h).map_err(|e| format!("invalid ipv6 address: {e}"))?;
    }
    Ok(u)
}

fn uri(s: &str) -> R {
    let u = parse_url_v6(s)?;
    if u.scheme.is_empty() {
        return Err("relative url".into());
    }
    Ok(())
}

fn uri_reference(s: &str) -> R {
    if s.contains('\\') {
        return Err("contains \\".into());
    }
    parse_url_v6(s).map(|_| ())
}

fn uri_template(s: &str) -> R {
    let u = parse_url_v6(s)?;
    // Go keeps `RawPath` only when re-escaping the decoded path does not give it back.
    let raw_path = if escape_path(&percent_decode(&u.raw_path)) == u.raw_path {
        ""
    } else {
        u.raw_path.as_str()
    };
    for tok in raw_path.split('/') {
        let mut want = true;
        for ch in percent_decode(tok).chars() {
            let got = match ch {
                '{' => true,
                '}' => false,
                _ => continue,
            };
            if got != want {
                return Err("nested curly braces".into());
            }
            want = !want;
        }
        if !want {
            return Err("no matching closing brace".into());
        }
    }
    Ok(())
}

/// Go's `url.escape(s, encodePath)`.
fn escape_path(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn semver(s: &str) -> R {
    let mut s = s;
    if let Some(i) = s.find('+') {
        let build = &s[i + 1..];
        if build.is_empty() {
            return Err("build is empty".into());
        }
        for id in build.split('.') {
            if id.is_empty() {
                return Err("build identifier is empty".into());
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!(
                    "invalid character {} in build identifier",
                    quote_rune(c)
                ));
            }
        }
        s = &s[..i];
    }
    if let Some(i) = s.find('-') {
        for id in s[i + 1..].split('.') {
            if id.is_empty() {
                return Err("pre-release identifier is empty".into());
            }
            if let Some(c) = id
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!(
                    "invalid character {} in pre-release identifier",
                    quote_rune(c)
                ));
            }
            if id.bytes().all(|b| b.is_ascii_digit()) && id.len() > 1 && id.starts_with('0') {
                return Err("pre-release numeric identifier starts with zero".into());
            }
        }
        s = &s[..i];
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 {
        return Err("versionCore must have 3 numbers separated by dot".into());
    }
    for (p, name) in parts.iter().zip(["major", "minor", "patch"]) {
        if p.is_empty() {
            return Err(format!("{name} is empty"));
        }
        if p.len() > 1 && p.starts_with('0') {
            return Err(format!("{name} starts with zero"));
        }
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{name} contains non-digit"));
        }
    }
    Ok(())
}

thread_local! {
    static GO_REGEX: Option<gotmpl::Function> = sprig::functions().remove("mustRegexMatch");
}

/// Go's `regexp.Compile` error, through sprig's RE2 port (`mustRegexMatch` reports it).
fn regex(s: &str) -> R {
    GO_REGEX.with(|f| {
        let Some(f) = f else { return Ok(()) };
        let gotmpl::Body::Plain(call) = &f.body else {
            return Ok(());
        };
        match call(&[gotmpl::Value::str(s), gotmpl::Value::str("")]) {
            Ok(_) => Ok(()),
            Err(e) => {
                let msg = e.to_string();
                Err(match msg.find("error parsing regexp:") {
                    Some(i) => msg[i..].to_string(),
                    None => msg,
                })
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, s: &str) -> String {
        check(name, s)
            .expect("known format")
            .expect_err("should fail")
    }

    #[test]
    fn v6_messages() {
        assert_eq!(e("ipv4", "1.2.3"), "expected four decimals");
        assert_eq!(e("date-time", "yesterday"), "less than 20 characters long");
        assert_eq!(e("uri", "::"), "parse \"::\": missing protocol scheme");
        assert_eq!(e("hostname", "-bad-"), "label starts with hyphen");
        assert_eq!(e("email", "nope"), "missing @");
        assert_eq!(
            e("regex", "("),
            "error parsing regexp: missing closing ): `(`"
        );
        assert_eq!(e("uri", "a/b"), "relative url");
        assert_eq!(
            e("date", "2024-13-01"),
            "parsing time \"2024-13-01\": month out of range"
        );
        assert_eq!(
            e("date", "2023-02-29"),
            "parsing time \"2023-02-29\": day out of range"
        );
        assert_eq!(
            e("ipv6", "1::2::3"),
            "ParseAddr(\"1::2::3\"): multiple :: in address (at \":3\")"
        );
        assert_eq!(e("uuid", "abc"), "must have 5 elements");
        assert_eq!(e("duration", "P1H"), "invalid unit 'H'");
        assert!(check("no-such-format", "x").is_none());
        for (name, ok) in [
            ("ipv4", "10.0.0.1"),
            ("ipv6", "::1"),
            ("ipv6", "2001:db8::1"),
            ("hostname", "example.com"),
            ("email", "a.b@example.com"),
            ("date", "2024-02-29"),
            ("time", "23:59:60Z"),
            ("date-time", "2024-01-02T03:04:05+01:00"),
            ("uri", "https://example.com/a?b#c"),
            ("uri-reference", "../a"),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
            ("duration", "P1DT2H"),
            ("semver", "1.2.3-rc.1+b5"),
            ("regex", "^a+$"),
            ("json-pointer", "/a/~0b"),
        ] {
            assert_eq!(check(name, ok), Some(Ok(())), "{name} {ok}");
        }
    }
}
