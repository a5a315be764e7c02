//! Go `regexp` (RE2 syntax) on top of the `regex` crate: a translator that validates Go
//! syntax (with Go's error texts) and maps Go's ASCII-only `\d \w \s \b` classes, plus Go's
//! `FindAll`, `ReplaceAll`, `Expand` and `Split` algorithms.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use regex_automata::nfa::thompson::backtrack::{self, BoundedBacktracker};
use regex_automata::nfa::thompson::pikevm::{self, PikeVM};
use regex_automata::nfa::thompson::{self, Compiler, NFA};
use regex_automata::util::captures::Captures;
use regex_automata::{Input, Match};

use gotmpl::{FuncError, FuncMap, Type as T, Value};

use crate::{arg_i, arg_s, fixed, reg};

fn perr(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

fn class_escape(c: char, in_class: bool) -> Option<&'static str> {
    Some(match (c, in_class) {
        ('d', false) => "[0-9]",
        ('D', false) => "[^0-9]",
        ('w', false) => "[0-9A-Za-z_]",
        ('W', false) => "[^0-9A-Za-z_]",
        ('s', false) => "[\\t\\n\\f\\r ]",
        ('S', false) => "[^\\t\\n\\f\\r ]",
        ('d', true) => "0-9",
        ('D', true) => "[^0-9]",
        ('w', true) => "0-9A-Za-z_",
        ('W', true) => "[^0-9A-Za-z_]",
        ('s', true) => "\\t\\n\\f\\r ",
        ('S', true) => "[^\\t\\n\\f\\r ]",
        _ => return None,
    })
}

fn push_literal(out: &mut String, c: char) {
    if regex_syntax_meta(c) {
        out.push('\\');
    }
    out.push(c);
}

fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

/// Parse one escape at `chars[i]` (just after the backslash). Returns the translated text
/// and the index after the escape.
fn escape(chars: &[char], i: usize, in_class: bool) -> Result<(String, usize), String> {
    let Some(&c) = chars.get(i) else {
        return Err(perr("trailing backslash at end of expression", ""));
    };
    let esc_text = |end: usize| {
        chars[i - 1..end.min(chars.len())]
            .iter()
            .collect::<String>()
    };
    if let Some(t) = class_escape(c, in_class) {
        return Ok((t.to_string(), i + 1));
    }
    match c {
        '1'..='7' if !chars.get(i + 1).is_some_and(|d| ('0'..='7').contains(d)) => {
            Err(perr("invalid escape sequence", &esc_text(i + 1)))
        }
        '0'..='7' => {
            let mut j = i;
            let mut v = 0u32;
            while j < chars.len() && j < i + 3 && ('0'..='7').contains(&chars[j]) {
                v = v * 8 + chars[j] as u32 - '0' as u32;
                j += 1;
            }
            Ok((format!("\\x{{{v:x}}}"), j))
        }
        'x' => {
            if chars.get(i + 1) == Some(&'{') {
                let close = chars[i + 2..].iter().position(|&x| x == '}');
                match close {
                    Some(p) => {
                        let hex: String = chars[i + 2..i + 2 + p].iter().collect();
                        match u32::from_str_radix(&hex, 16) {
                            Ok(v) if !hex.is_empty() && char::from_u32(v).is_some() => {
                                Ok((format!("\\x{{{v:x}}}"), i + 3 + p))
                            }
                            _ => Err(perr("invalid escape sequence", &esc_text(i + 3 + p))),
                        }
                    }
                    None => Err(perr("invalid escape sequence", &esc_text(chars.len()))),
                }
            } else {
                let h: String = chars
                    .get(i + 1..i + 3)
                    .map(|s| s.iter().collect())
                    .unwrap_or_default();
                if h.len() == 2 && h.chars().all(|x| x.is_ascii_hexdigit()) {
                    Ok((format!("\\x{h}"), i + 3))
                } else {
                    Err(perr(
                        "invalid escape sequence",
                        &esc_text(i + 1 + h.len().min(2)),
                    ))
                }
            }
        }
        'p' | 'P' => {
            if chars.get(i + 1) == Some(&'{') {
                let close = chars[i + 2..].iter().position(|&x| x == '}');
                match close {
                    Some(p) => {
                        let t: String = chars[i - 1..i + 3 + p].iter().collect();
                        Ok((t, i + 3 + p))
                    }
                    None => Err(perr(
                        "invalid character class range",
                        &esc_text(chars.len()),
                    )),
                }
            } else if let Some(&n) = chars.get(i + 1) {
                Ok((format!("\\{c}{n}"), i + 2))
            } else {
                Err(perr("invalid character class range", &esc_text(i + 1)))
            }
        }
        'b' if in_class => Err(perr("invalid escape sequence", "\\b")),
        'b' | 'B' => Ok((format!("(?-u:\\{c})"), i + 1)),
        'A' | 'z' if !in_class => Ok((format!("\\{c}"), i + 1)),
        'a' => Ok(("\\x07".into(), i + 1)),
        'f' | 't' | 'n' | 'r' | 'v' => Ok((format!("\\{c}"), i + 1)),
        c if (c as u32) < 0x80 && !c.is_ascii_alphanumeric() => {
            let mut s = String::new();
            push_literal(&mut s, c);
            Ok((s, i + 1))
        }
        _ => Err(perr("invalid escape sequence", &esc_text(i + 1))),
    }
}

/// Translate a Go RE2 pattern into an equivalent `regex`-crate pattern, or Go's error.
pub fn translate(pat: &str) -> Result<String, String> {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut depth: Vec<usize> = Vec::new();
    // Whether the previous item can take a repetition operator; whether it was one.
    let mut can_repeat = false;
    let mut last_was_rep = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                if chars.get(i + 1) == Some(&'Q') {
                    let rest: String = chars[i + 2..].iter().collect();
                    let (lit, used) = match rest.find("\\E") {
                        Some(p) => (rest[..p].to_string(), p + 2),
                        None => (rest.clone(), rest.len()),
                    };
                    for ch in lit.chars() {
                        push_literal(&mut out, ch);
                    }
                    i += 2 + rest[..used].chars().count();
                    can_repeat = !lit.is_empty();
                    last_was_rep = false;
                    continue;
                }
                let (t, next) = escape(&chars, i + 1, false)?;
                out.push_str(&t);
                i = next;
                can_repeat = true;
                last_was_rep = false;
            }
            '[' => {
                let start = i;
                let mut j = i + 1;
                let mut cls = String::from("[");
                if chars.get(j) == Some(&'^') {
                    cls.push('^');
                    j += 1;
                }
                let mut first = true;
                let mut prev_lo: Option<char> = None;
                loop {
                    let Some(&d) = chars.get(j) else {
                        return Err(perr(
                            "missing closing ]",
                            &chars[start..].iter().collect::<String>(),
                        ));
                    };
                    if d == ']' && !first {
                        j += 1;
                        break;
                    }
                    first = false;
                    if d == '[' && chars.get(j + 1) == Some(&':') {
                        let rest: String = chars[j..].iter().collect();
                        if let Some(p) = rest.find(":]") {
                            cls.push_str(&rest[..p + 2]);
                            j += rest[..p + 2].chars().count();
                            prev_lo = None;
                            continue;
                        }
                    }
                    let (lo_text, lo_char, nj) = if d == '\\' {
                        let (t, n) = escape(&chars, j + 1, true)?;
                        let single = if n == j + 2 && !chars[j + 1].is_ascii_alphanumeric() {
                            Some(chars[j + 1])
                        } else {
                            None
                        };
                        (t, single, n)
                    } else {
                        let mut s = String::new();
                        if matches!(d, '[' | '&' | '~' | '-') {
                            s.push('\\');
                        }
                        s.push(d);
                        (s, Some(d), j + 1)
                    };
                    // a range lo-hi
                    if chars.get(nj) == Some(&'-') && chars.get(nj + 1).is_some_and(|x| *x != ']') {
                        let (hi_text, hi_char, nj2) = if chars[nj + 1] == '\\' {
                            let (t, n) = escape(&chars, nj + 2, true)?;
                            let single = if n == nj + 3 && !chars[nj + 2].is_ascii_alphanumeric() {
                                Some(chars[nj + 2])
                            } else {
                                None
                            };
                            (t, single, n)
                        } else {
                            let mut s = String::new();
                            if matches!(chars[nj + 1], '[' | '&' | '~' | '-') {
                                s.push('\\');
                            }
                            s.push(chars[nj + 1]);
                            (s, Some(chars[nj + 1]), nj + 2)
                        };
                        if let (Some(lo), Some(hi)) = (lo_char, hi_char)
                            && hi < lo
                        {
                            return Err(perr(
                                "invalid character class range",
                                &chars[j..nj2].iter().collect::<String>(),
                            ));
                        }
                        cls.push_str(&lo_text);
                        cls.push('-');
                        cls.push_str(&hi_text);
                        j = nj2;
                        prev_lo = None;
                        continue;
                    }
                    let _ = prev_lo;
                    cls.push_str(&lo_text);
                    prev_lo = lo_char;
                    j = nj;
                }
                cls.push(']');
                out.push_str(&cls);
                i = j;
                can_repeat = true;
                last_was_rep = false;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    let rest: String = chars[i..].iter().collect();
                    if rest.starts_with("(?P<") || rest.starts_with("(?<") {
                        let skip = if rest.starts_with("(?P<") { 4 } else { 3 };
                        let Some(end) = rest.find('>') else {
                            return Err(perr("invalid named capture", &rest));
                        };
                        let name = &rest[skip..end];
                        if name.is_empty() || !name.chars().all(|x| x.is_alphanumeric() || x == '_')
                        {
                            return Err(perr("invalid named capture", &rest[..end + 1]));
                        }
                        out.push_str(&format!("(?P<{name}>"));
                        i += rest[..end + 1].chars().count();
                        depth.push(i);
                        can_repeat = false;
                        last_was_rep = false;
                        continue;
                    }
                    // flags: (?flags) or (?flags:
                    let mut j = i + 2;
                    let mut ok = false;
                    let mut seen_minus = false;
                    let mut nflags = 0;
                    while j < chars.len() {
                        let f = chars[j];
                        match f {
                            'i' | 'm' | 's' | 'U' => nflags += 1,
                            '-' if !seen_minus => seen_minus = true,
                            ':' | ')' => {
                                ok = !(seen_minus && chars[j - 1] == '-')
                                    && (nflags > 0 || f == ':');
                                break;
                            }
                            _ => break,
                        }
                        j += 1;
                    }
                    if !ok {
                        let end = (j + 1).min(chars.len());
                        return Err(perr(
                            "invalid or unsupported Perl syntax",
                            &chars[i..end].iter().collect::<String>(),
                        ));
                    }
                    let text: String = chars[i..=j].iter().collect();
                    out.push_str(&text);
                    if chars[j] == ':' {
                        depth.push(i);
                    }
                    i = j + 1;
                    can_repeat = false;
                    last_was_rep = false;
                    continue;
                }
                out.push('(');
                depth.push(i);
                i += 1;
                can_repeat = false;
                last_was_rep = false;
            }
            ')' => {
                if depth.pop().is_none() {
                    return Err(perr("unexpected )", pat));
                }
                out.push(')');
                i += 1;
                can_repeat = true;
                last_was_rep = false;
            }
            '|' => {
                out.push('|');
                i += 1;
                can_repeat = false;
                last_was_rep = false;
            }
            '*' | '+' | '?' | '{' => {
                let mut j = i + 1;
                if c == '{' {
                    // a valid {n}, {n,}, {n,m}; otherwise a literal '{'
                    let rest: String = chars[i..].iter().collect();
                    let close = rest.find('}');
                    let body = close.map(|p| &rest[1..p]);
                    let parsed = body.and_then(|b| {
                        let (lo, hi) = match b.split_once(',') {
                            Some((l, h)) => (l, Some(h)),
                            None => (b, None),
                        };
                        if lo.is_empty() || !lo.bytes().all(|x| x.is_ascii_digit()) {
                            return None;
                        }
                        if let Some(h) = hi
                            && !h.bytes().all(|x| x.is_ascii_digit())
                        {
                            return None;
                        }
                        Some((
                            lo.parse::<u64>().unwrap_or(u64::MAX),
                            hi.map(|h| {
                                if h.is_empty() {
                                    None
                                } else {
                                    Some(h.parse::<u64>().unwrap_or(u64::MAX))
                                }
                            }),
                        ))
                    });
                    let Some((lo, hi)) = parsed else {
                        out.push_str("\\{");
                        i += 1;
                        can_repeat = true;
                        last_was_rep = false;
                        continue;
                    };
                    let p = close.unwrap_or(0);
                    let text = &rest[..p + 1];
                    if lo > 1000 || hi.flatten().is_some_and(|h| h > 1000 || h < lo) {
                        return Err(perr("invalid repeat count", text));
                    }
                    j = i + text.chars().count();
                }
                let op: String = chars[i..j].iter().collect();
                if last_was_rep {
                    let prev_start = out_rep_start(&chars, i);
                    return Err(perr(
                        "invalid nested repetition operator",
                        &format!("{}{}", &chars[prev_start..i].iter().collect::<String>(), op),
                    ));
                }
                if !can_repeat {
                    return Err(perr("missing argument to repetition operator", &op));
                }
                out.push_str(&op);
                i = j;
                if chars.get(i) == Some(&'?') {
                    out.push('?');
                    i += 1;
                }
                last_was_rep = true;
            }
            '^' | '$' | '.' => {
                out.push(c);
                i += 1;
                can_repeat = true;
                last_was_rep = false;
            }
            c => {
                push_literal(&mut out, c);
                i += 1;
                can_repeat = true;
                last_was_rep = false;
            }
        }
    }
    if !depth.is_empty() {
        return Err(perr("missing closing )", pat));
    }
    Ok(out)
}

/// Start index of the repetition operator just before `i` (for the nested-repetition text).
fn out_rep_start(chars: &[char], i: usize) -> usize {
    let mut k = i;
    if k > 0 && chars[k - 1] == '?' && k >= 2 && matches!(chars[k - 2], '*' | '+' | '?' | '}') {
        k -= 1;
    }
    if k > 0 && chars[k - 1] == '}' {
        while k > 0 && chars[k - 1] != '{' {
            k -= 1;
        }
        return k.saturating_sub(1);
    }
    k.saturating_sub(1)
}

/// A compiled Go expression for the template functions: a Thompson NFA searched by the
/// bounded backtracker when the haystack fits its budget (charts match short strings), else
/// by the PikeVM. Both report leftmost-first matches, as Go's `regexp` and the `regex` crate
/// do (a test below compares them with the `regex` crate on every position).
///
/// Not the `regex` crate's meta engine: that one builds a fresh Thompson compiler per
/// expression, and a compiler's first Unicode class allocates and clears a 10,000-entry
/// UTF-8 suffix map (hundreds of KiB, then freed): most of the compile time of Helm's
/// typical patterns (`[^}]`, `.`). Here one compiler per thread is reused (its scratch memory
/// only; every expression is still compiled when it is first used in a render).
#[derive(Debug)]
struct Re {
    pikevm: PikeVM,
    backtrack: BoundedBacktracker,
    /// Search scratch space; a search that finds it in use (another thread searching with the
    /// same expression) makes its own.
    caches: Mutex<Caches>,
}

#[derive(Debug)]
struct Caches {
    pikevm: pikevm::Cache,
    backtrack: backtrack::Cache,
}

impl Re {
    fn new(nfa: NFA) -> Result<Re, String> {
        let pikevm = PikeVM::new_from_nfa(nfa.clone()).map_err(|e| e.to_string())?;
        let backtrack = BoundedBacktracker::new_from_nfa(nfa).map_err(|e| e.to_string())?;
        let caches = Mutex::new(Caches {
            pikevm: pikevm.create_cache(),
            backtrack: backtrack.create_cache(),
        });
        Ok(Re {
            pikevm,
            backtrack,
            caches,
        })
    }

    /// Runs `f` with search caches: the shared ones when free, else fresh ones.
    fn with_caches<R>(&self, f: impl FnOnce(&mut Caches) -> R) -> R {
        match self.caches.try_lock() {
            Ok(mut c) => f(&mut c),
            Err(_) => f(&mut Caches {
                pikevm: self.pikevm.create_cache(),
                backtrack: self.backtrack.create_cache(),
            }),
        }
    }

    fn fits(&self, input: &Input<'_>) -> bool {
        input.get_span().len() <= self.backtrack.max_haystack_len()
    }

    fn find<'h>(&self, input: impl Into<Input<'h>>) -> Option<Match> {
        let input = input.into();
        self.with_caches(|c| {
            if self.fits(&input)
                && let Ok(m) = self.backtrack.try_find(&mut c.backtrack, input.clone())
            {
                return m;
            }
            self.pikevm.find(&mut c.pikevm, input)
        })
    }

    fn is_match(&self, haystack: &str) -> bool {
        let input = Input::new(haystack).earliest(true);
        self.find(input).is_some()
    }

    fn create_captures(&self) -> Captures {
        self.pikevm.create_captures()
    }

    fn search_captures(&self, input: &Input<'_>, caps: &mut Captures) {
        self.with_caches(|c| {
            if self.fits(input)
                && self
                    .backtrack
                    .try_search(&mut c.backtrack, input, caps)
                    .is_ok()
            {
                return;
            }
            self.pikevm.search(&mut c.pikevm, input, caps)
        })
    }
}

thread_local! {
    /// One Thompson compiler per thread, reused for its scratch memory (see [`Re`]).
    static COMPILER: Compiler = {
        let mut c = Compiler::new();
        c.syntax(regex_automata::util::syntax::Config::new())
            .configure(thompson::Config::new().nfa_size_limit(Some(64 << 20)));
        c
    };
}

type Cache = HashMap<String, Result<Arc<Re>, String>>;
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Empties the cache of compiled expressions. Patterns come from templates, so this is part
/// of emptying the template cache: a cold render compiles the expressions it uses (Helm
/// compiles one on every call).
pub fn clear_cache() {
    if let Ok(mut c) = CACHE.lock() {
        c.clear();
    }
}

/// Compile a Go regular expression for the template functions.
///
/// Compiled expressions are kept in a small cache keyed by pattern (charts call `regexMatch`
/// and friends with the same few patterns for every value), emptied with the template cache
/// ([`clear_cache`]).
fn compile(pat: &str) -> Result<Arc<Re>, String> {
    const CACHE_MAX: usize = 512;
    if let Ok(c) = CACHE.lock()
        && let Some(r) = c.get(pat)
    {
        return r.clone();
    }
    let r = translate(pat).and_then(|t| {
        COMPILER
            .with(|c| c.build(&t).map_err(|_| perr("expression too large", pat)))
            .and_then(|nfa| Re::new(nfa).map_err(|_| perr("expression too large", pat)))
            .map(Arc::new)
    });
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(pat.to_string(), r.clone());
    }
    r
}

/// Compile a Go regular expression that is a constant of this crate (semver's grammar), once
/// per use site: the `regex` crate's full engine set.
pub(crate) fn compile_const(pat: &str) -> Result<regex::Regex, String> {
    let t = translate(pat)?;
    regex::RegexBuilder::new(&t)
        .size_limit(64 << 20)
        .build()
        .map_err(|_| perr("expression too large", pat))
}

/// `regexp.MustCompile`'s panic text.
fn must_compile(pat: &str) -> Result<Arc<Re>, FuncError> {
    compile(pat).map_err(|e| {
        let q = if gotmpl::strconv::can_backquote(pat) {
            format!("`{pat}`")
        } else {
            crate::gofmt::quote(pat)
        };
        FuncError::new(format!("regexp: Compile({q}): {e}"))
    })
}

/// Go's `allMatches`: (start, end) of successive matches.
fn find_all(re: &Re, s: &str, n: i64) -> Vec<(usize, usize)> {
    let n = if n < 0 { s.len() as i64 + 1 } else { n };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while (out.len() as i64) < n && pos <= s.len() {
        let Some(m) = re.find(Input::new(s).range(pos..)) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `Regexp.Expand` of `template` for one match.
fn expand(out: &mut String, template: &str, src: &str, caps: &Captures) {
    let mut t = template;
    while let Some(p) = t.find('$') {
        out.push_str(&t[..p]);
        t = &t[p + 1..];
        if t.starts_with('$') {
            out.push('$');
            t = &t[1..];
            continue;
        }
        let Some((name, num, rest)) = extract(t) else {
            out.push('$');
            continue;
        };
        t = rest;
        if let Some(n) = num {
            if let Some(m) = caps.get_group(n) {
                out.push_str(&src[m.range()]);
            }
        } else if let Some(m) = caps.get_group_by_name(name) {
            out.push_str(&src[m.range()]);
        }
    }
    out.push_str(t);
}

fn extract(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| {
            !(crate::unicode::is_letter(*c) || crate::unicode::is_digit(*c) || *c == '_')
        })
        .map(|(i, _)| i)
        .unwrap_or(body.len());
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut rest = &body[end..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                num = Some(n * 10 + (b - b'0') as usize)
            }
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.starts_with('0') && name.len() > 1 {
        num = None;
    }
    Some((name, num, rest))
}

/// Go's `ReplaceAllString` (`literal`: `ReplaceAllLiteralString`).
fn replace_all(re: &Re, src: &str, repl: &str, literal: bool) -> String {
    let mut out = String::new();
    let mut last = 0usize;
    let mut search = 0usize;
    // As Go: submatches are only needed when the replacement can refer to them.
    let expanding = !literal && repl.contains('$');
    let mut caps = if expanding {
        Some(re.create_captures())
    } else {
        None
    };
    while search <= src.len() {
        let input = Input::new(src).range(search..);
        let m = match &mut caps {
            Some(caps) => {
                re.search_captures(&input, caps);
                let Some(m) = caps.get_match() else {
                    break;
                };
                (m.start(), m.end())
            }
            None => {
                let Some(m) = re.find(input) else {
                    break;
                };
                (m.start(), m.end())
            }
        };
        out.push_str(&src[last..m.0]);
        if m.1 > last || m.0 == 0 {
            match &caps {
                Some(caps) => expand(&mut out, repl, src, caps),
                None => out.push_str(repl),
            }
        }
        last = m.1;
        let width = src[search..]
            .chars()
            .next()
            .map(|c| c.len_utf8())
            .unwrap_or(0);
        if search + width > m.1 {
            search += width;
        } else if search + 1 > m.1 {
            search += 1;
        } else {
            search = m.1;
        }
    }
    out.push_str(&src[last..]);
    out
}

/// Go's `Regexp.Split`.
fn split(re: &Re, pat: &str, s: &str, n: i64) -> Option<Vec<String>> {
    if n == 0 {
        return None;
    }
    if !pat.is_empty() && s.is_empty() {
        return Some(vec![String::new()]);
    }
    let matches = find_all(re, s, n);
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (ms, me) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = me;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    Some(out)
}

/// Go's `regexp.QuoteMeta`.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn strs(v: Vec<String>) -> Value {
    Value::string_list(v)
}

pub fn register(m: &mut FuncMap) {
    reg(m, "regexMatch", fixed(&[T::String, T::String]), |a| {
        Ok(Value::Bool(
            compile(&arg_s(&a[0]))
                .map(|r| r.is_match(&arg_s(&a[1])))
                .unwrap_or(false),
        ))
    });
    reg(m, "mustRegexMatch", fixed(&[T::String, T::String]), |a| {
        let r = compile(&arg_s(&a[0])).map_err(FuncError::new)?;
        Ok(Value::Bool(r.is_match(&arg_s(&a[1]))))
    });
    for (name, must) in [("regexFindAll", false), ("mustRegexFindAll", true)] {
        reg(m, name, fixed(&[T::String, T::String, T::Int]), move |a| {
            let pat = arg_s(&a[0]);
            let r = if must {
                compile(&pat).map_err(FuncError::new)?
            } else {
                must_compile(&pat)?
            };
            let s = arg_s(&a[1]);
            Ok(strs(
                find_all(&r, &s, arg_i(&a[2]))
                    .into_iter()
                    .map(|(x, y)| s[x..y].to_string())
                    .collect(),
            ))
        });
    }
    for (name, must) in [("regexFind", false), ("mustRegexFind", true)] {
        reg(m, name, fixed(&[T::String, T::String]), move |a| {
            let pat = arg_s(&a[0]);
            let r = if must {
                compile(&pat).map_err(FuncError::new)?
            } else {
                must_compile(&pat)?
            };
            let s = arg_s(&a[1]);
            Ok(Value::from(
                r.find(&*s).map(|x| &s[x.range()]).unwrap_or(""),
            ))
        });
    }
    for (name, must, literal) in [
        ("regexReplaceAll", false, false),
        ("mustRegexReplaceAll", true, false),
        ("regexReplaceAllLiteral", false, true),
        ("mustRegexReplaceAllLiteral", true, true),
    ] {
        reg(
            m,
            name,
            fixed(&[T::String, T::String, T::String]),
            move |a| {
                let pat = arg_s(&a[0]);
                let r = if must {
                    compile(&pat).map_err(FuncError::new)?
                } else {
                    must_compile(&pat)?
                };
                Ok(Value::from(replace_all(
                    &r,
                    &arg_s(&a[1]),
                    &arg_s(&a[2]),
                    literal,
                )))
            },
        );
    }
    for (name, must) in [("regexSplit", false), ("mustRegexSplit", true)] {
        reg(m, name, fixed(&[T::String, T::String, T::Int]), move |a| {
            let pat = arg_s(&a[0]);
            let r = if must {
                compile(&pat).map_err(FuncError::new)?
            } else {
                must_compile(&pat)?
            };
            Ok(strs(
                split(&r, &pat, &arg_s(&a[1]), arg_i(&a[2])).unwrap_or_default(),
            ))
        });
    }
    reg(m, "regexQuoteMeta", fixed(&[T::String]), |a| {
        Ok(Value::from(quote_meta(&arg_s(&a[0]))))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: &str) -> String {
        compile(p).unwrap_err()
    }

    #[test]
    fn errors() {
        assert_eq!(err("("), "error parsing regexp: missing closing ): `(`");
        assert_eq!(err("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(err("[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(
            err("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            err("*a"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            err("x\\8"),
            "error parsing regexp: invalid escape sequence: `\\8`"
        );
        assert_eq!(
            err("(?<n"),
            "error parsing regexp: invalid named capture: `(?<n`"
        );
        assert_eq!(
            err("a{2,1}"),
            "error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(
            err("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            err("(?=a)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
        );
        assert_eq!(
            err("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
    }

    #[test]
    fn matching() {
        let r = compile("a*").unwrap();
        let s = "baaac";
        let all: Vec<&str> = find_all(&r, s, -1)
            .into_iter()
            .map(|(x, y)| &s[x..y])
            .collect();
        assert_eq!(all, vec!["", "aaa", ""]);
        assert_eq!(replace_all(&r, s, "X", false), "XbXcX");
        assert_eq!(split(&r, "a*", s, -1).unwrap(), vec!["b", "c"]);
        let r = compile("a(x*)b").unwrap();
        assert_eq!(replace_all(&r, "-ab-axxb-", "${1}W", false), "-W-xxW-");
        assert_eq!(replace_all(&r, "-ab-axxb-", "$1W", false), "---");
        let r = compile("\\d+").unwrap();
        assert!(!r.is_match("٣"));
        let r = compile("\\w+").unwrap();
        let s = "héllo";
        let all: Vec<&str> = find_all(&r, s, -1)
            .into_iter()
            .map(|(x, y)| &s[x..y])
            .collect();
        assert_eq!(all, vec!["h", "llo"]);
        assert_eq!(
            split(&compile("").unwrap(), "", "abc", -1).unwrap(),
            vec!["a", "b", "c"]
        );
        assert_eq!(quote_meta("a.b*c[d]$"), "a\\.b\\*c\\[d\\]\\$");
    }

    #[test]
    fn template_engines_match_like_the_regex_crate() {
        // Without the lazy DFA and prefilters, matches and submatches stay those of the
        // `regex` crate's full engine set.
        let pats = [
            "a*",
            "a(x*)b",
            "\\d+",
            "\\w+",
            "-r\\d+$|sha256:",
            "(-?[^a-z\\d\\-])+-?",
            "[^A-Za-z0-9]+$",
            "\\W",
            "^(v)?([0-9]+)\\.([0-9]+)(?P<rest>.*)$",
            "(?i)héllo|K",
            "\\bfoo\\b",
            "(a|ab)(c|bcd)(d*)",
            "x*?y",
            "(?m)^l.+$",
            "\\s+",
            ".",
            "",
        ];
        let hays = [
            "",
            "baaac",
            "-ab-axxb-",
            "image:1.2.3-r4",
            "sha256:abc",
            "Release_Name.X",
            "v1.22.3-gke.100",
            "héllo HÉLLO K",
            "foo foobar foo",
            "abcd abcdd",
            "xxy y",
            "l1\nline2\n",
            " a\tb\n",
            "٣ 3 ä",
        ];
        for p in pats {
            let meta = compile(p).unwrap();
            let full = compile_const(p).unwrap();
            for h in hays {
                for pos in (0..=h.len()).filter(|&i| h.is_char_boundary(i)) {
                    let a = meta.find(Input::new(h).range(pos..)).map(|m| m.range());
                    let b = full.find_at(h, pos).map(|m| m.range());
                    assert_eq!(a, b, "{p:?} {h:?} {pos}");
                    let mut caps = meta.create_captures();
                    meta.search_captures(&Input::new(h).range(pos..), &mut caps);
                    let a: Vec<_> = (0..caps.group_len())
                        .map(|i| caps.get_group(i).map(|s| s.range()))
                        .collect();
                    let b: Vec<_> = match full.captures_at(h, pos) {
                        Some(c) => c.iter().map(|m| m.map(|m| m.range())).collect(),
                        None => vec![None; a.len()],
                    };
                    assert_eq!(a, b, "{p:?} {h:?} {pos}");
                }
            }
        }
    }
}
