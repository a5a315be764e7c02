//! The part of Masterminds/semver v3 Helm itself uses: version validity (Chart.yaml `version`),
//! and constraint checks (`dependencies[].version` against a subchart, `kubeVersion` against
//! the cluster version) via `IsCompatibleRange`.

use std::cmp::Ordering;

/// A parsed semantic version (Masterminds' loose parser: `v` prefix and partial versions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Parses a version as `semver.NewVersion` does.
pub fn parse_version(s: &str) -> Option<Version> {
    let body = s.strip_prefix('v').unwrap_or(s);
    let (body, metadata) = match body.split_once('+') {
        Some((b, m)) => {
            if !ident_ok(m) {
                return None;
            }
            (b, m.to_string())
        }
        None => (body, String::new()),
    };
    let (body, pre) = match body.split_once('-') {
        Some((b, p)) => {
            if !ident_ok(p) {
                return None;
            }
            // Numeric identifiers must not have leading zeros.
            for id in p.split('.') {
                if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
            }
            (b, p.to_string())
        }
        None => (body, String::new()),
    };
    let parts: Vec<&str> = body.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut nums = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums[i] = p.parse().ok()?;
    }
    Some(Version {
        major: nums[0],
        minor: nums[1],
        patch: nums[2],
        pre,
        metadata,
    })
}

/// True when `s` is a valid version for Chart.yaml.
pub fn is_valid_version(s: &str) -> bool {
    parse_version(s).is_some()
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for i in 0..ap.len().max(bp.len()) {
        let (Some(x), Some(y)) = (ap.get(i), bp.get(i)) else {
            return ap.len().cmp(&bp.len());
        };
        let xn = x.parse::<u64>().ok();
        let yn = y.parse::<u64>().ok();
        let o = match (xn, yn) {
            (Some(p), Some(q)) => p.cmp(&q),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl Version {
    /// Masterminds' `Compare` (metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Clone, Debug)]
struct Constraint {
    op: Op,
    con: Version,
    major_dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(op: &str, ver: &str) -> Option<Constraint> {
    let op = match op {
        "" | "=" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        "<" => Op::Lt,
        ">=" | "=>" => Op::Ge,
        "<=" | "=<" => Op::Le,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return None,
    };
    let v = ver.strip_prefix('v').unwrap_or(ver);
    let (core, rest) = match v.find(['-', '+']) {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.is_empty() {
        return None;
    }
    #[allow(unused_assignments)]
    let (mut minor_dirty, mut patch_dirty) = (false, false);
    let mut segs = vec![parts[0].to_string()];
    let major_dirty = is_x(parts[0]);
    if major_dirty {
        minor_dirty = true;
        patch_dirty = true;
        segs = vec!["0".into(), "0".into(), "0".into()];
    } else if parts.len() < 2 || is_x(parts[1]) {
        minor_dirty = true;
        patch_dirty = true;
        segs.push("0".into());
        segs.push("0".into());
    } else if parts.len() < 3 || is_x(parts[2]) {
        patch_dirty = true;
        segs.push(parts[1].to_string());
        segs.push("0".into());
    } else {
        segs.push(parts[1].to_string());
        segs.push(parts[2].to_string());
    }
    let dirty = minor_dirty || patch_dirty;
    let con = parse_version(&format!("{}{}", segs.join("."), rest))?;
    Some(Constraint {
        op,
        con,
        major_dirty,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op {
            Op::Eq => {
                if self.dirty {
                    return self.tilde(v);
                }
                v.compare(c) == Ordering::Equal
            }
            Op::Ne => {
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
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Gt => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                v.minor > c.minor
            }
            Op::Lt => v.compare(c) == Ordering::Less,
            Op::Ge => v.compare(c) != Ordering::Less,
            Op::Le => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major < c.major;
                }
                if self.minor_dirty {
                    return true;
                }
                v.minor <= c.minor
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.major == 0 && v.minor == c.minor;
                }
                v.major == 0 && v.minor == 0 && v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.major_dirty {
            return true;
        }
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return v.major == c.major;
        }
        if v.major != c.major {
            return false;
        }
        if v.minor != c.minor && !self.minor_dirty {
            return false;
        }
        true
    }
}

/// Parses a constraint string (`>=1.2.0 <2.0.0 || ~3.1`, hyphen ranges) into OR groups.
fn parse_constraints(s: &str) -> Option<Vec<Vec<Constraint>>> {
    let mut groups = Vec::new();
    for group in s.split("||") {
        let group = group.trim();
        // Hyphen ranges: "1.2 - 1.4.5".
        let toks: Vec<&str> = group
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        let mut cs = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if i + 2 < toks.len() && toks[i + 1] == "-" {
                cs.push(parse_constraint(">=", toks[i])?);
                cs.push(parse_constraint("<=", toks[i + 2])?);
                i += 3;
                continue;
            }
            let t = toks[i];
            let split = t
                .find(|c: char| c.is_ascii_alphanumeric() || c == '*')
                .unwrap_or(t.len());
            let (op, ver) = t.split_at(split);
            let (op, ver) = if ver.is_empty() && i + 1 < toks.len() {
                // Operator separated from its version by spaces.
                i += 1;
                (op, toks[i])
            } else {
                (op, ver)
            };
            cs.push(parse_constraint(op, ver)?);
            i += 1;
        }
        if cs.is_empty() {
            return None;
        }
        groups.push(cs);
    }
    Some(groups)
}

/// Helm's `IsCompatibleRange(constraint, version)`: false when either does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Some(v) = parse_version(version) else {
        return false;
    };
    let Some(groups) = parse_constraints(constraint) else {
        return false;
    };
    groups.iter().any(|g| g.iter().all(|c| c.check(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_valid_version("1.2.3"));
        assert!(is_valid_version("v1.2"));
        assert!(is_valid_version("1.0.0-rc.1+build.5"));
        assert!(!is_valid_version("1.2.3.4"));
        assert!(!is_valid_version("abc"));
        assert!(!is_valid_version("1.0.0-01"));
    }

    #[test]
    fn constraints() {
        assert!(is_compatible_range(">=1.20.0-0", "v1.36.0"));
        assert!(!is_compatible_range(">=1.20.0", "1.21.0-gke.1"));
        assert!(is_compatible_range(">=1.20.0-0", "1.21.0-gke.1"));
        assert!(is_compatible_range("^1.2", "1.9.0"));
        assert!(!is_compatible_range("~1.2.0", "1.3.0"));
        assert!(is_compatible_range("1.x", "v1.5"));
        assert!(is_compatible_range("*", "3.0.0"));
        assert!(is_compatible_range(">= 1.2, < 2", "1.5.0"));
        assert!(is_compatible_range("1.2 - 1.4.5", "1.4.0"));
        assert!(is_compatible_range("<1.0.0 || >=2.0.0", "2.1.0"));
        assert!(!is_compatible_range(">=1.30.0", "v1.29.3"));
        assert!(is_compatible_range("2.x.x", "2.3.4"));
        assert!(is_compatible_range("~> 12.1", "12.1.7"));
    }
}
