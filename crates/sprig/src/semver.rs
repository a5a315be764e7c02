//! Masterminds/semver v3 (as Helm v4 vendors it): lenient version parsing, ordering and
//! constraints (`^ ~ x ranges`, `||`, `,`, hyphen ranges, prerelease rules).
//!
//! Used by the `semver`/`semverCompare` template functions and by Helm's own checks
//! (Chart.yaml `version` validity, `dependencies[].version` and `kubeVersion` ranges). Public
//! API: [`SemverVersion::parse`] (`semver.NewVersion`), [`SemverVersion::compare`]
//! (`Version.Compare`), [`constraint_check`] (`NewConstraint` + `Check`, with the parse
//! error) and [`is_compatible_range`] (Helm's `chartutil.IsCompatibleRange`).
//!
//! ```
//! use sprig::semver::{SemverVersion, constraint_check, is_compatible_range};
//! let v = SemverVersion::parse("v1.29.3").unwrap();
//! assert!(constraint_check(">= 1.20.0-0, < 2", &v).unwrap());
//! assert!(!is_compatible_range(">=1.30.0", "v1.29.3"));
//! assert!(constraint_check("foo", &v).is_err());
//! ```

use std::cmp::Ordering;
use std::sync::OnceLock;

use gotmpl::{FuncError, FuncMap, Object, Type as T, Value};

use crate::regex::compile_const;
use crate::{arg_s, fixed, reg};

/// `semver.NewVersion`'s pattern (anchored there); `loose_groups` matches it by hand, and the
/// tests check the two agree.
#[cfg(test)]
const LOOSE: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

/// The constraint regexes, each compiled on first use (parsing a version, what Helm's
/// `kubeVersion` check and `semver` need, compiles none: see `loose_groups`).
struct Res {
    constraint: OnceLock<regex::Regex>,
    range: OnceLock<regex::Regex>,
    find: OnceLock<regex::Regex>,
    valid: OnceLock<regex::Regex>,
}

fn get(cell: &OnceLock<regex::Regex>, pattern: impl FnOnce() -> String) -> &regex::Regex {
    cell.get_or_init(|| {
        let p = pattern();
        compile_const(&p).unwrap_or_else(|e| panic!("semver regex {p}: {e}"))
    })
}

impl Res {
    fn constraint(&self) -> &regex::Regex {
        get(&self.constraint, || format!(r"^\s*({OPS})\s*({CV})\s*$"))
    }
    fn range(&self) -> &regex::Regex {
        get(&self.range, || format!(r"\s*({CV})\s+-\s+({CV})\s*"))
    }
    fn find(&self) -> &regex::Regex {
        get(&self.find, || format!(r"({OPS})\s*({CV})"))
    }
    fn valid(&self) -> &regex::Regex {
        get(&self.valid, || {
            format!(r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$")
        })
    }
}

fn res() -> &'static Res {
    static R: Res = Res {
        constraint: OnceLock::new(),
        range: OnceLock::new(),
        find: OnceLock::new(),
        valid: OnceLock::new(),
    };
    &R
}

/// A parsed `*semver.Version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemverVersion {
    /// Major version.
    pub major: u64,
    /// Minor version (0 when absent).
    pub minor: u64,
    /// Patch version (0 when absent).
    pub patch: u64,
    /// Prerelease, without the `-`.
    pub pre: String,
    /// Build metadata, without the `+`.
    pub metadata: String,
    /// The text as given.
    pub original: String,
}

const ALLOWED: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        } else if part.bytes().all(|c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !part.chars().all(|c| ALLOWED.contains(c)) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    for part in m.split('.') {
        if part.is_empty() || !part.chars().all(|c| ALLOWED.contains(c)) {
            return Err("invalid metadata string".into());
        }
    }
    Ok(())
}

fn seg(s: &str) -> Result<u64, String> {
    s.trim_start_matches('.').parse::<u64>().map_err(|_| {
        format!(
            "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            crate::gofmt::quote(s.trim_start_matches('.'))
        )
    })
}

/// The capture groups of the anchored `LOOSE` pattern that `SemverVersion::parse` uses (1, 2,
/// 3, 5 and 8), matched by hand: the pattern is unambiguous (each optional group starts with
/// its own delimiter), so one left-to-right scan gives what the regex gives, without running a
/// regex on every Chart.yaml version. `minor`/`patch` keep their leading dot, as the groups do.
/// `loose_groups_match_the_regex` checks it against the pattern.
struct LooseGroups<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: &'a str,
    metadata: &'a str,
}

fn loose_groups(v: &str) -> Option<LooseGroups<'_>> {
    let b = v.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let digits_end =
        |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    // `[0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*` from `from`: its end, or None when empty.
    let ident_end = |from: usize| {
        let mut j = from;
        loop {
            let part = b[j..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
                .count();
            if part == 0 {
                return None;
            }
            j += part;
            if b.get(j) == Some(&b'.')
                && b.get(j + 1)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-')
            {
                j += 1;
            } else {
                return Some(j);
            }
        }
    };
    let major_start = i;
    i = digits_end(i);
    if i == major_start {
        return None;
    }
    let major = &v[major_start..i];
    let mut dotted = [""; 2];
    for slot in &mut dotted {
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = digits_end(i + 1);
            *slot = &v[i..end];
            i = end;
        } else {
            break;
        }
    }
    let mut pre = "";
    if b.get(i) == Some(&b'-') {
        let end = ident_end(i + 1)?;
        pre = &v[i + 1..end];
        i = end;
    }
    let mut metadata = "";
    if b.get(i) == Some(&b'+') {
        let end = ident_end(i + 1)?;
        metadata = &v[i + 1..end];
        i = end;
    }
    (i == b.len()).then_some(LooseGroups {
        major,
        minor: dotted[0],
        patch: dotted[1],
        pre,
        metadata,
    })
}

impl SemverVersion {
    /// `semver.NewVersion` (coercing).
    pub fn parse(v: &str) -> Result<SemverVersion, String> {
        let g = loose_groups(v).ok_or("invalid semantic version")?;
        let sv = SemverVersion {
            major: seg(g.major)?,
            minor: if g.minor.is_empty() { 0 } else { seg(g.minor)? },
            patch: if g.patch.is_empty() { 0 } else { seg(g.patch)? },
            pre: g.pre.to_string(),
            metadata: g.metadata.to_string(),
            original: v.to_string(),
        };
        if !sv.pre.is_empty() {
            validate_prerelease(&sv.pre)?;
        }
        if !sv.metadata.is_empty() {
            validate_metadata(&sv.metadata)?;
        }
        Ok(sv)
    }

    /// `Version.Compare`.
    pub fn compare(&self, o: &SemverVersion) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let sa: Vec<&str> = a.split('.').collect();
    let sb: Vec<&str> = b.split('.').collect();
    for i in 0..sa.len().max(sb.len()) {
        let (x, y) = (
            sa.get(i).copied().unwrap_or(""),
            sb.get(i).copied().unwrap_or(""),
        );
        let d = compare_pre_part(x, y);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

struct Constraint {
    con: SemverVersion,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: SemverVersion::parse("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let caps = res()
        .constraint()
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {}", crate::gofmt::quote(c)))?;
    let g = |i: usize| caps.get(i).map(|m| m.as_str()).unwrap_or("");
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let mut ver = g(2).to_string();
    if is_x(g(3)) || g(3).is_empty() {
        ver = format!("0.0.0{}", g(6));
        dirty = true;
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        ver = format!("{}.0.0{}", g(3), g(6));
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        ver = format!("{}{}.0{}", g(3), g(4), g(6));
    }
    let con = SemverVersion::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &SemverVersion, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        let cmp = v.compare(c);
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    cmp == Ordering::Equal
                }
            }
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                cmp != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return cmp == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    cmp == Ordering::Greater
                }
            }
            "<" => cmp == Ordering::Less,
            ">=" | "=>" => cmp != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return cmp != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if cmp == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &SemverVersion) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// `semver.NewConstraint(constraint)` then `Check(version)`; the error is Masterminds' parse
/// error of the constraint (`improper constraint: "…"`).
pub fn constraint_check(constraint: &str, version: &SemverVersion) -> Result<bool, String> {
    Ok(Constraints::parse(constraint)?.check(version))
}

/// A parsed constraint (`semver.Constraints`): alternatives (`||`) of conjunctions, each with
/// whether one of its versions has a prerelease.
struct Constraints(Vec<(Vec<Constraint>, bool)>);

impl Constraints {
    /// `semver.NewConstraint`.
    fn parse(constraint: &str) -> Result<Constraints, String> {
        let r = res();
        // rewriteRange: "a - b" → ">= a, <= b "
        let mut c = constraint.to_string();
        let ranges: Vec<(String, String, String)> = r
            .range()
            .captures_iter(constraint)
            .map(|m| {
                (
                    m.get(0).map(|x| x.as_str().to_string()).unwrap_or_default(),
                    m.get(1).map(|x| x.as_str().to_string()).unwrap_or_default(),
                    m.get(11)
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        for (whole, a, b) in ranges {
            c = c.replacen(&whole, &format!(">= {a}, <= {b} "), 1);
        }
        let mut ors: Vec<(Vec<Constraint>, bool)> = Vec::new();
        for part in c.split("||") {
            if !r.valid().is_match(part) {
                return Err(format!(
                    "improper constraint: {}",
                    crate::gofmt::quote(part)
                ));
            }
            let mut found: Vec<String> = r
                .find()
                .find_iter(part)
                .map(|m| m.as_str().to_string())
                .collect();
            if found.is_empty() {
                found.push(part.to_string());
            }
            let mut list = Vec::new();
            let mut has_pre = false;
            for s in found {
                let pc = parse_constraint(&s)?;
                if !pc.con.pre.is_empty() {
                    has_pre = true;
                }
                list.push(pc);
            }
            ors.push((list, has_pre));
        }
        Ok(Constraints(ors))
    }

    /// `Constraints.Check`.
    fn check(&self, version: &SemverVersion) -> bool {
        self.0
            .iter()
            .any(|(list, pre)| list.iter().all(|c| c.check(version, *pre)))
    }
}

/// Helm's `chartutil.IsCompatibleRange(constraint, version)`: whether `version` satisfies
/// `constraint`; false when either does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match SemverVersion::parse(version) {
        Ok(v) => constraint_check(constraint, &v).unwrap_or(false),
        Err(_) => false,
    }
}

impl Object for SemverVersion {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn kind(&self) -> &str {
        "ptr"
    }
    fn format(&self) -> String {
        self.string()
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        let other = || -> Result<SemverVersion, FuncError> {
            match args.first() {
                Some(Value::Object(o)) => o
                    .as_any()
                    .downcast_ref::<SemverVersion>()
                    .cloned()
                    .ok_or_else(|| {
                        FuncError::new("wrong type for value; expected *semver.Version")
                    }),
                _ => Err(FuncError::new(
                    "wrong type for value; expected *semver.Version",
                )),
            }
        };
        let v = match name {
            "Major" => Value::Int64(self.major as i64),
            "Minor" => Value::Int64(self.minor as i64),
            "Patch" => Value::Int64(self.patch as i64),
            "Prerelease" => Value::from(self.pre.clone()),
            "Metadata" => Value::from(self.metadata.clone()),
            "Original" => Value::from(self.original.clone()),
            "String" => Value::from(self.string()),
            "Compare" => match other() {
                Ok(o) => Value::Int(self.compare(&o) as i64),
                Err(e) => return Some(Err(e)),
            },
            "LessThan" | "GreaterThan" | "Equal" | "LessThanEqual" | "GreaterThanEqual" => {
                let o = match other() {
                    Ok(o) => o,
                    Err(e) => return Some(Err(e)),
                };
                let c = self.compare(&o);
                Value::Bool(match name {
                    "LessThan" => c == Ordering::Less,
                    "GreaterThan" => c == Ordering::Greater,
                    "Equal" => c == Ordering::Equal,
                    "LessThanEqual" => c != Ordering::Greater,
                    _ => c != Ordering::Less,
                })
            }
            "IncPatch" | "IncMinor" | "IncMajor" => {
                let mut n = self.clone();
                n.metadata.clear();
                match name {
                    "IncPatch" => {
                        if self.pre.is_empty() {
                            n.patch += 1;
                        }
                    }
                    "IncMinor" => {
                        n.minor += 1;
                        n.patch = 0;
                    }
                    _ => {
                        n.major += 1;
                        n.minor = 0;
                        n.patch = 0;
                    }
                }
                n.pre.clear();
                let v = if self.original.starts_with('v') {
                    "v"
                } else {
                    ""
                };
                n.original = format!("{v}{}", n.string());
                Value::object(n)
            }
            _ => return None,
        };
        Some(Ok(v))
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::from(self.string()))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub(crate) fn register(m: &mut FuncMap) {
    reg(m, "semver", fixed(&[T::String]), |a| {
        SemverVersion::parse(&arg_s(&a[0]))
            .map(Value::object)
            .map_err(FuncError::new)
    });
    reg(m, "semverCompare", fixed(&[T::String, T::String]), |a| {
        // Go parses the constraint first, then the version.
        let c = Constraints::parse(&arg_s(&a[0])).map_err(FuncError::new)?;
        let v = SemverVersion::parse(&arg_s(&a[1])).map_err(FuncError::new)?;
        Ok(Value::Bool(c.check(&v)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `loose_groups` against the pattern it replaces, on hand-picked and generated strings
    /// over the alphabet that matters (digits, `v`, `.`, `-`, `+`, letters, space).
    #[test]
    fn loose_groups_match_the_regex() {
        let re = compile_const(&format!("^{LOOSE}$")).unwrap();
        let mut inputs: Vec<String> = [
            "",
            "v",
            "1",
            "v1",
            "1.2",
            "1.2.3",
            "v1.2.3",
            "1.2.3.4",
            "01.02.03",
            "1.",
            "1..2",
            "1.2.",
            "1.2.3-",
            "1.2.3-a",
            "1.2.3-a.b-c.1",
            "1.2.3-a..b",
            "1.2.3-a.",
            "1.2.3+m",
            "1.2.3+",
            "1.2.3-rc.1+build.5",
            "1.2.3+b-c.d",
            "1-a",
            "1+b",
            "1.2-x",
            "V1.2.3",
            "vv1",
            " 1.2.3",
            "1.2.3 ",
            "1.2.3-a+b+c",
            "1.2.3-é",
            "18446744073709551616",
            "1.2.3-0.0",
            "1.2.3--",
            "1.2.3-+",
            "1.2.3-a.-",
            "1.2.3-a.+b",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let alphabet = b"v019.-+aZ ";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 60) as usize;
            let mut s = String::new();
            let mut x = seed;
            for _ in 0..len {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                s.push(alphabet[(x >> 59) as usize % alphabet.len()] as char);
            }
            inputs.push(s);
        }
        let mut matched = 0;
        for v in &inputs {
            let want = re.captures(v).map(|c| {
                let g = |i: usize| c.get(i).map(|m| m.as_str()).unwrap_or("").to_string();
                (g(1), g(2), g(3), g(5), g(8))
            });
            let got = loose_groups(v).map(|g| {
                (
                    g.major.to_string(),
                    g.minor.to_string(),
                    g.patch.to_string(),
                    g.pre.to_string(),
                    g.metadata.to_string(),
                )
            });
            assert_eq!(got, want, "{v:?}");
            matched += usize::from(want.is_some());
        }
        assert!(
            matched > 500,
            "too few generated versions matched: {matched}"
        );
    }

    fn ck(c: &str, v: &str) -> bool {
        constraint_check(c, &SemverVersion::parse(v).unwrap()).unwrap()
    }

    #[test]
    fn constraints() {
        assert!(!ck(">=1.20.0", "1.21.0-gke.1"));
        assert!(ck(">=1.20.0-0", "1.21.0-gke.1"));
        assert!(ck("^1.2", "1.9.0"));
        assert!(!ck("~1.2.0", "1.3.0"));
        assert!(ck("1.x", "v1.5"));
        assert!(ck(">= 1.2, < 2.0 || 3.x", "3.1.0"));
        assert!(ck("1.0 - 2.0", "1.5.0"));
        assert!(!ck("1.0 - 2.0", "2.1.0"));
        assert!(ck("!=1.2.3", "1.2.4"));
        assert!(ck("^0.2.3", "0.2.5"));
        assert!(!ck("^0.2.3", "0.3.0"));
        assert!(ck("*", "5.0.0"));
        assert_eq!(
            SemverVersion::parse("x").unwrap_err(),
            "invalid semantic version"
        );
        assert!(constraint_check("foo", &SemverVersion::parse("1.0.0").unwrap()).is_err());
    }

    #[test]
    fn helm_ranges() {
        for v in ["1.2.3", "v1.2", "1.0.0-rc.1+build.5"] {
            assert!(SemverVersion::parse(v).is_ok(), "{v}");
        }
        for v in ["1.2.3.4", "abc", "1.0.0-01"] {
            assert!(SemverVersion::parse(v).is_err(), "{v}");
        }
        assert!(is_compatible_range(">=1.20.0-0", "v1.36.0"));
        assert!(!is_compatible_range(">=1.20.0", "1.21.0-gke.1"));
        assert!(is_compatible_range(">= 1.2, < 2", "1.5.0"));
        assert!(is_compatible_range("1.2 - 1.4.5", "1.4.0"));
        assert!(is_compatible_range("<1.0.0 || >=2.0.0", "2.1.0"));
        assert!(!is_compatible_range(">=1.30.0", "v1.29.3"));
        assert!(is_compatible_range("2.x.x", "2.3.4"));
        assert!(is_compatible_range("~> 12.1", "12.1.7"));
        assert!(!is_compatible_range("foo", "1.0.0"));
        assert!(!is_compatible_range("*", "abc"));
    }
}
