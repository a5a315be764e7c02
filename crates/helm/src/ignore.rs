//! `.helmignore` rules (Helm's `pkg/ignore`) and Go's `filepath.Match`.

/// A parsed `.helmignore`.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

#[derive(Clone, Debug)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: MatchKind,
    fast: Fast,
}

/// How a pattern is matched: most `.helmignore` rules are literals or `*.ext`.
#[derive(Clone, Debug)]
enum Fast {
    /// No metacharacter: the name must equal the rule.
    Literal,
    /// `*` then a literal: the name ends with it, with no `/` before it.
    StarSuffix(String),
    /// Anything else: Go's `filepath.Match` on the pattern's characters, after a check of
    /// the literal text before its first metacharacter (which a match must start with).
    General(Vec<char>, String),
}

fn is_meta(c: char) -> bool {
    matches!(c, '*' | '?' | '[' | '\\')
}

impl Pattern {
    fn matches(&self, name: &str) -> bool {
        match &self.fast {
            Fast::Literal => self.rule == name,
            Fast::StarSuffix(suffix) => name
                .strip_suffix(suffix.as_str())
                .is_some_and(|prefix| !prefix.contains('/')),
            Fast::General(p, prefix) => {
                if !name.starts_with(prefix.as_str()) {
                    return false;
                }
                let n: Vec<char> = name.chars().collect();
                match_from(p, &n).unwrap_or(false)
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum MatchKind {
    /// `/x`: matched against the whole path, leading slash removed.
    Rooted,
    /// Contains `/`: matched against the whole path.
    Path,
    /// Matched against the base name.
    Base,
}

impl Rules {
    /// Parses the text of a `.helmignore` file.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            r.parse_rule(line)?;
        }
        Ok(r)
    }

    /// Adds Helm's default rule (`templates/.?*`).
    pub fn add_defaults(&mut self) {
        // The default rule is valid; parse_rule cannot fail on it.
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.as_bytes().windows(2).any(|w| w == b"**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        // Only a class or an escape can be malformed (Go's `ErrBadPattern`).
        if rule.contains(['[', '\\']) && go_match(rule, "abc").is_err() {
            return Err("syntax error in pattern".into());
        }
        let mut rule = rule;
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        if must_dir {
            rule = &rule[..rule.len() - 1];
        }
        let (kind, rule) = if let Some(r) = rule.strip_prefix('/') {
            (MatchKind::Rooted, r)
        } else if rule.contains('/') {
            (MatchKind::Path, rule)
        } else {
            (MatchKind::Base, rule)
        };
        let fast = if !rule.contains(is_meta) {
            Fast::Literal
        } else if let Some(suffix) = rule.strip_prefix('*')
            && !suffix.contains(is_meta)
        {
            Fast::StarSuffix(suffix.to_string())
        } else {
            let prefix = rule.find(is_meta).map_or(rule, |i| &rule[..i]);
            Fast::General(rule.chars().collect(), prefix.to_string())
        };
        self.patterns.push(Pattern {
            rule: rule.to_string(),
            negate,
            must_dir,
            kind,
            fast,
        });
        Ok(())
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        // The base name, which most rules are matched against, found once.
        let base = match memchr::memrchr(b'/', path.as_bytes()) {
            Some(i) => &path[i + 1..],
            None => path,
        };
        for p in &self.patterns {
            let target = match p.kind {
                MatchKind::Rooted | MatchKind::Path => path,
                MatchKind::Base => base,
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !p.matches(target) {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if p.matches(target) {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

/// Go's `path/filepath.Match` (Unix): `*` (not `/`), `?`, `[...]` classes with ranges and `^`,
/// `\` escapes. Errors on a malformed pattern (`ErrBadPattern`).
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
    // Go's algorithm: split into chunks at stars.
    let mut pat = p;
    let mut name = n;
    'pattern: while !pat.is_empty() {
        let (star, chunk, rest) = scan_chunk(pat);
        pat = rest;
        if star && chunk.is_empty() {
            // Trailing star matches the rest unless it contains a separator.
            return Ok(!name.contains(&'/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pat.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pat.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // Check the rest of the pattern for syntax errors before failing.
        while !pat.is_empty() {
            let (_, chunk, rest) = scan_chunk(pat);
            pat = rest;
            match_chunk(chunk, &[])?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(p: &[char]) -> (bool, &[char], &[char]) {
    let mut p = p;
    let mut star = false;
    while !p.is_empty() && p[0] == '*' {
        p = &p[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                i += 1;
            }
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

fn match_chunk<'a>(chunk: &[char], s: &'a [char]) -> Result<(&'a [char], bool), BadPattern> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            '[' => {
                let mut r = '\0';
                if !failed {
                    r = s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let negated = !chunk.is_empty() && chunk[0] == '^';
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if !chunk.is_empty() && chunk[0] == ']' && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            '\\' => {
                chunk = &chunk[1..];
                if chunk.is_empty() {
                    return Err(BadPattern);
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            c => {
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        Ok((&[], false))
    } else {
        Ok((s, true))
    }
}

fn get_esc(chunk: &[char]) -> Result<(char, &[char]), BadPattern> {
    if chunk.is_empty() || chunk[0] == '-' || chunk[0] == ']' {
        return Err(BadPattern);
    }
    let mut chunk = chunk;
    if chunk[0] == '\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(BadPattern);
        }
    }
    let r = chunk[0];
    chunk = &chunk[1..];
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert_eq!(go_match("*.yaml", "a.yaml"), Ok(true));
        assert_eq!(go_match("*.yaml", "d/a.yaml"), Ok(false));
        assert_eq!(go_match("templates/.?*", "templates/.hidden"), Ok(true));
        assert_eq!(go_match("templates/.?*", "templates/a"), Ok(false));
        assert_eq!(go_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(go_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(go_match("a\\*", "a*"), Ok(true));
        assert_eq!(go_match("[", "a"), Err(BadPattern));
        assert_eq!(go_match("*", "templates/x"), Ok(false));
        assert_eq!(go_match("templates/*", "templates/x.yaml"), Ok(true));
    }

    #[test]
    fn rules() {
        let mut r = Rules::parse("# c\n*.bak\n/secret.txt\nci/\n").unwrap();
        r.add_defaults();
        assert!(r.ignore("a.bak", false));
        assert!(r.ignore("sub/a.bak", false));
        assert!(r.ignore("secret.txt", false));
        assert!(!r.ignore("x/secret.txt", false));
        assert!(r.ignore("ci", true));
        assert!(!r.ignore("ci", false));
        assert!(r.ignore("templates/.x", false));
        assert!(!r.ignore("templates/x.yaml", false));
        assert!(Rules::parse("a/**/b").is_err());
        assert!(Rules::parse("[").is_err());
        assert!(Rules::parse("x\\").is_err());
        assert!(Rules::parse("[a-c]x\n*.y\na\\*").is_ok());
    }

    #[test]
    fn fast_paths_agree_with_go_match() {
        let rules = [
            "*.bak", "*", "*~", ".git", "a/b.txt", "*.tgz", "x*y", "[ab]c", "a\\*",
        ];
        let names = [
            "a.bak", "d/a.bak", ".bak", "", "~", "x~", "a/x~", ".git", ".gitx", "a/b.txt", "xzy",
            "x/y", "ac", "a*", "ab", "b.tgz",
        ];
        for rule in rules {
            let mut r = Rules::default();
            r.parse_rule(rule).unwrap();
            for name in names {
                assert_eq!(
                    r.patterns[0].matches(name),
                    go_match(rule, name).unwrap(),
                    "{rule} {name}"
                );
            }
        }
    }
}
