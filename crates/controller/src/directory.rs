//! Which files of a Directory source Argo CD reads (`findManifests` in the repo server):
//! files directly in the source path (all levels with `recurse`), named `*.yaml`, `*.yml`,
//! `*.json` or `*.jsonnet` (any name with `disableExtensionFilter`), not matching `exclude`,
//! matching `include` when set, in `filepath.Walk` order. The globs are gobwas globs without
//! separators: `*` also matches `/`, `{a,b}` alternatives, `?`, `[...]`.

use crate::application::ApplicationSourceDirectory;
use std::cmp::Ordering;

/// Selects manifest files from `listing` (paths relative to the source path, `/`-separated).
/// `.jsonnet` files are returned too; ferry does not evaluate Jsonnet, the caller reports them.
pub fn select_files(listing: &[String], dir: &ApplicationSourceDirectory) -> Vec<String> {
    let mut out: Vec<String> = listing
        .iter()
        .map(|p| p.trim_start_matches("./").to_string())
        .filter(|p| dir.recurse || !p.contains('/'))
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            dir.disable_extension_filter
                || [".yaml", ".yml", ".json", ".jsonnet"]
                    .iter()
                    .any(|e| name.len() > e.len() && name.ends_with(e))
        })
        .filter(|p| {
            dir.exclude
                .as_deref()
                .is_none_or(|x| x.is_empty() || !glob_match(x, p))
        })
        .filter(|p| {
            dir.include
                .as_deref()
                .is_none_or(|x| x.is_empty() || glob_match(x, p))
        })
        .collect();
    out.sort_by(|a, b| walk_order(a, b));
    out.dedup();
    out
}

/// `filepath.Walk` order: component by component.
fn walk_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// gobwas/glob matching without separators.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        match_chars(
            &p.chars().collect::<Vec<_>>(),
            &text.chars().collect::<Vec<_>>(),
        )
    })
}

/// Expands `{a,b}` alternatives (nested allowed) into plain patterns.
fn expand_braces(p: &str) -> Vec<String> {
    let chars: Vec<char> = p.chars().collect();
    let mut depth = 0;
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match c {
            '\\' => continue,
            '{' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0
                    && let Some(s) = start
                {
                    let prefix: String = chars[..s].iter().collect();
                    let suffix: String = chars[i + 1..].iter().collect();
                    let mut alts = Vec::new();
                    let mut cur = String::new();
                    let mut d = 0;
                    for c in &chars[s + 1..i] {
                        match c {
                            '{' => {
                                d += 1;
                                cur.push(*c);
                            }
                            '}' => {
                                d -= 1;
                                cur.push(*c);
                            }
                            ',' if d == 0 => alts.push(std::mem::take(&mut cur)),
                            _ => cur.push(*c),
                        }
                    }
                    alts.push(cur);
                    return alts
                        .iter()
                        .flat_map(|a| expand_braces(&format!("{prefix}{a}{suffix}")))
                        .collect();
                }
            }
            _ => {}
        }
    }
    vec![p.to_string()]
}

fn match_chars(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => {
            let rest = {
                let mut r = &p[1..];
                while r.first() == Some(&'*') {
                    r = &r[1..];
                }
                r
            };
            (0..=s.len()).any(|i| match_chars(rest, &s[i..]))
        }
        Some('?') => !s.is_empty() && match_chars(&p[1..], &s[1..]),
        Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && match_chars(&p[2..], &s[1..]),
        Some('[') => {
            let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                return s.first() == Some(&'[') && match_chars(&p[1..], &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let mut class = &p[1..end];
            let negate = class.first() == Some(&'!');
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && match_chars(&p[end + 1..], &s[1..])
        }
        Some(c) => s.first() == Some(c) && match_chars(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Vec<String> {
        [
            "a.yaml",
            "a/x.yaml",
            "b.yml",
            "c.json",
            "d.jsonnet",
            "README.md",
            ".hidden.yaml",
            "sub/deep/e.yaml",
            "sub/f.txt",
            "skip/g.yaml",
            "kustomization.yaml",
            "yaml",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn selects_like_argo() {
        let flat = select_files(&listing(), &ApplicationSourceDirectory::default());
        assert_eq!(
            flat,
            vec![
                ".hidden.yaml",
                "a.yaml",
                "b.yml",
                "c.json",
                "d.jsonnet",
                "kustomization.yaml"
            ]
        );
        let rec = ApplicationSourceDirectory {
            recurse: true,
            ..Default::default()
        };
        assert_eq!(
            select_files(&listing(), &rec),
            vec![
                ".hidden.yaml",
                "a/x.yaml",
                "a.yaml",
                "b.yml",
                "c.json",
                "d.jsonnet",
                "kustomization.yaml",
                "skip/g.yaml",
                "sub/deep/e.yaml"
            ]
        );
        let filtered = ApplicationSourceDirectory {
            recurse: true,
            include: Some("{*.yaml,sub/*}".into()),
            exclude: Some("skip/*".into()),
            ..Default::default()
        };
        assert_eq!(
            select_files(&listing(), &filtered),
            vec![
                ".hidden.yaml",
                "a/x.yaml",
                "a.yaml",
                "kustomization.yaml",
                "sub/deep/e.yaml"
            ]
        );
        let all = ApplicationSourceDirectory {
            disable_extension_filter: true,
            ..Default::default()
        };
        assert!(select_files(&listing(), &all).contains(&"README.md".to_string()));
    }

    #[test]
    fn gobwas_globs() {
        assert!(glob_match("*.yaml", "a/b.yaml"));
        assert!(glob_match("sub/*", "sub/deep/e.yaml"));
        assert!(glob_match("{a,b}.y?ml", "b.yaml"));
        assert!(glob_match("{a,{b,c}}.json", "c.json"));
        assert!(glob_match("[a-c].json", "c.json") && !glob_match("[!a-c].json", "c.json"));
        assert!(glob_match("\\*.yaml", "*.yaml") && !glob_match("\\*.yaml", "a.yaml"));
        assert!(!glob_match("*.yml", "a.yaml"));
        assert!(glob_match("**", "x/y/z"));
    }
}
