//! Go's `net/url` parsing and printing as Sprig's `urlParse` and `urlJoin` use them.

use gotmpl::{FuncError, FuncMap, Map, Type as T, Value};

use crate::gofmt::quote;
use crate::{arg_s, fixed, reg};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::Path => c == b'?',
                Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Mode::Fragment => false,
                Mode::Host => true,
            };
        }
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if should_escape(c, mode) && !(mode == Mode::Host && c >= 0x80) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    // bytes ≥ 0x80 kept in host mode were pushed as Latin-1 chars; rebuild as bytes
    if mode == Mode::Host && s.bytes().any(|c| c >= 0x80) {
        let mut bytes = Vec::new();
        for &c in s.as_bytes() {
            if should_escape(c, mode) && c < 0x80 {
                bytes.extend(format!("%{c:02X}").bytes());
            } else {
                bytes.push(c);
            }
        }
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    out
}

fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hexpair = s
                    .get(i + 1..i + 3)
                    .filter(|h| h.bytes().all(|x| x.is_ascii_hexdigit()));
                let Some(h) = hexpair else {
                    let end = (i + 3).min(s.len());
                    return Err(format!("invalid URL escape {}", quote(&s[i..end])));
                };
                let v = u8::from_str_radix(h, 16).unwrap_or(0);
                if mode == Mode::Host && v < 0x80 && h != "25" && should_escape(v, mode) {
                    return Err(format!("invalid URL escape {}", quote(&s[i..i + 3])));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if mode == Mode::Host && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&(c as char).to_string())
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A parsed `url.URL` (the fields Sprig reads).
#[derive(Default, Debug)]
pub struct GoUrl {
    pub scheme: String,
    pub opaque: String,
    pub user: Option<(String, Option<String>)>,
    pub host: String,
    pub path: String,
    pub raw_query: String,
    pub fragment: String,
    force_query: bool,
    omit_host: bool,
}

fn get_scheme(raw: &str) -> Result<(String, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'.' {
            if i == 0 {
                return Ok((String::new(), raw));
            }
            continue;
        }
        if c == b':' {
            if i == 0 {
                return Err("missing protocol scheme".into());
            }
            return Ok((raw[..i].to_string(), &raw[i + 1..]));
        }
        return Ok((String::new(), raw));
    }
    Ok((String::new(), raw))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[i + 1..];
        if !port.is_empty() && !valid_port(port) {
            return Err(format!("invalid port {} after host", quote(port)));
        }
        return unescape(host, Mode::Host);
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_port(port) {
            return Err(format!("invalid port {} after host", quote(port)));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_port(p: &str) -> bool {
    match p.strip_prefix(':') {
        Some(rest) => rest.bytes().all(|c| c.is_ascii_digit()),
        None => false,
    }
}

/// Go's `url.Parse`; `Err` is the error text without the `parse "…": ` prefix.
pub fn parse(raw: &str) -> Result<GoUrl, String> {
    let (u, frag) = match raw.split_once('#') {
        Some((a, b)) => (a, Some(b)),
        None => (raw, None),
    };
    let mut url = parse_no_frag(u).map_err(|e| format!("parse {}: {e}", quote(u)))?;
    if let Some(f) = frag {
        url.fragment =
            unescape(f, Mode::Fragment).map_err(|e| format!("parse {}: {e}", quote(raw)))?;
    }
    Ok(url)
}

fn parse_no_frag(raw: &str) -> Result<GoUrl, String> {
    if raw.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = GoUrl::default();
    if raw == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let rest_owned;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest_owned = rest[..rest.len() - 1].to_string();
        rest = &rest_owned;
    } else if let Some((a, q)) = rest.split_once('?') {
        url.raw_query = q.to_string();
        rest = a;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        if rest.split('/').next().is_some_and(|s| s.contains(':')) {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let auth_all = &rest[2..];
        let (authority, p) = match auth_all.find('/') {
            Some(i) => (&auth_all[..i], &auth_all[i..]),
            None => (auth_all, ""),
        };
        path = p;
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        url.host = parse_host(host)?;
        if let Some(ui) = userinfo {
            if !ui
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
            {
                return Err("net/url: invalid userinfo".into());
            }
            url.user = Some(match ui.split_once(':') {
                Some((u, p)) => (
                    unescape(u, Mode::UserPassword)?,
                    Some(unescape(p, Mode::UserPassword)?),
                ),
                None => (unescape(ui, Mode::UserPassword)?, None),
            });
        }
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    url.path = unescape(path, Mode::Path)?;
    Ok(url)
}

impl GoUrl {
    fn hostname(&self) -> String {
        let h = &self.host;
        if h.starts_with('[') {
            if let Some(i) = h.find(']') {
                return h[1..i].to_string();
            }
            return h.trim_start_matches('[').to_string();
        }
        match h.rfind(':') {
            Some(i) => h[..i].to_string(),
            None => h.clone(),
        }
    }

    fn userinfo(&self) -> String {
        match &self.user {
            None => String::new(),
            Some((u, p)) => {
                let mut s = escape(u, Mode::UserPassword);
                if let Some(p) = p {
                    s.push(':');
                    s.push_str(&escape(p, Mode::UserPassword));
                }
                s
            }
        }
    }

    /// Go's `URL.String()`.
    pub fn string(&self) -> String {
        let mut buf = String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            let has_authority =
                !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
            let omit = self.omit_host && self.host.is_empty() && self.user.is_none();
            if has_authority && !omit {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if self.user.is_some() {
                    buf.push_str(&self.userinfo());
                    buf.push('@');
                }
                if !self.host.is_empty() {
                    buf.push_str(&escape(&self.host, Mode::Host));
                }
            }
            let path = if self.path == "*" {
                "*".to_string()
            } else {
                escape(&self.path, Mode::Path)
            };
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().is_some_and(|s| s.contains(':')) {
                buf.push_str("./");
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&escape(&self.fragment, Mode::Fragment));
        }
        buf
    }
}

fn dict_get(d: &Map, key: &str) -> Result<String, FuncError> {
    match d.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(Value::Nil) => Err(FuncError::new(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        Some(other) => Err(FuncError::new(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            other.kind_name()
        ))),
    }
}

pub fn register(m: &mut FuncMap) {
    reg(m, "urlParse", fixed(&[T::String]), |a| {
        let u = parse(&arg_s(&a[0]))
            .map_err(|e| FuncError::new(format!("unable to parse url: {e}")))?;
        let mut d = Map::new();
        d.insert("scheme".into(), Value::from(u.scheme.clone()));
        d.insert("host".into(), Value::from(u.host.clone()));
        d.insert("hostname".into(), Value::from(u.hostname()));
        d.insert("path".into(), Value::from(u.path.clone()));
        d.insert("query".into(), Value::from(u.raw_query.clone()));
        d.insert("opaque".into(), Value::from(u.opaque.clone()));
        d.insert("fragment".into(), Value::from(u.fragment.clone()));
        d.insert("userinfo".into(), Value::from(u.userinfo()));
        Ok(Value::map(d))
    });
    reg(m, "urlJoin", fixed(&[T::Map]), |a| {
        let d = match &a[0] {
            Value::Map(mv) => mv.entries.borrow().clone(),
            _ => Map::new(),
        };
        let mut u = GoUrl {
            scheme: dict_get(&d, "scheme")?,
            host: dict_get(&d, "host")?,
            path: dict_get(&d, "path")?,
            raw_query: dict_get(&d, "query")?,
            opaque: dict_get(&d, "opaque")?,
            fragment: dict_get(&d, "fragment")?,
            ..Default::default()
        };
        let ui = dict_get(&d, "userinfo")?;
        if !ui.is_empty() {
            let t = parse(&format!("proto://{ui}@host"))
                .map_err(|e| FuncError::new(format!("unable to parse userinfo in dict: {e}")))?;
            u.user = t.user;
        }
        Ok(Value::from(u.string()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let u = parse("https://user:pa%20ss@example.com:8080/a%20b/c?x=1&y=2#frag%21").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "example.com:8080");
        assert_eq!(u.hostname(), "example.com");
        assert_eq!(u.path, "/a b/c");
        assert_eq!(u.raw_query, "x=1&y=2");
        assert_eq!(u.fragment, "frag!");
        assert_eq!(u.userinfo(), "user:pa%20ss");
        assert_eq!(
            u.string(),
            "https://user:pa%20ss@example.com:8080/a%20b/c?x=1&y=2#frag!"
        );
        assert_eq!(
            parse(":x").unwrap_err(),
            "parse \":x\": missing protocol scheme"
        );
        let m = parse("mailto:joe@example.com").unwrap();
        assert_eq!(m.opaque, "joe@example.com");
    }
}
