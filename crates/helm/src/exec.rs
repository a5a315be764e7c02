//! Execution of the template set with the `gotmpl` executor: Helm's function map, the parsed
//! template cache, and per-file execution with Helm's error formats.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use gotmpl::{
    ErrorKind, FuncError, FuncMap, Function, Map, RenderState, Set, Signature, Type, Value,
};

use crate::engine::{Entry, cleanup_parse_error, reformat_exec_error, warn_wrap};

/// Helm's function map: Sprig (with Helm's replacements), the YAML/JSON/TOML functions,
/// `include`, `tpl`, and Helm's `fail`/`required` (whose messages Helm recognises in errors).
fn build_funcs() -> FuncMap {
    let mut m = sprig::functions();
    m.extend(goyaml::functions());
    m.insert(
        "include".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            let name = a[0].as_str().unwrap_or("");
            ctx.include_value(name, &a[1])
        }),
    );
    m.insert(
        "tpl".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            let text = a[0].as_str().unwrap_or("");
            ctx.tpl(text, &a[1]).map(Value::from)
        }),
    );
    m.insert(
        "fail".into(),
        Function::plain(Signature::fixed(&[Type::String]), |a| {
            Err(FuncError::fail(warn_wrap(a[0].as_str().unwrap_or(""))))
        }),
    );
    m.insert(
        "required".into(),
        Function::plain(Signature::fixed(&[Type::String, Type::Any]), |a| {
            let warn = a[0].as_str().unwrap_or("");
            match &a[1] {
                Value::Nil => Err(FuncError::fail(warn_wrap(warn))),
                Value::String(s) if s.is_empty() => Err(FuncError::fail(warn_wrap(warn))),
                v => Ok(v.clone()),
            }
        }),
    );
    m
}

static FUNCS: LazyLock<Arc<FuncMap>> = LazyLock::new(|| Arc::new(build_funcs()));

/// A parsed template set with the names and sources it was parsed from (a cache hit compares
/// them, so a hash collision can never hand out another chart's templates).
struct Cached {
    /// The texts the set's trees hold (shared with them, not copied).
    sources: Vec<(String, Arc<str>)>,
    set: Arc<Set>,
}

impl Cached {
    fn matches(&self, entries: &[Entry]) -> bool {
        self.sources.len() == entries.len()
            && self
                .sources
                .iter()
                .zip(entries)
                .all(|((n, s), e)| *n == e.name && **s == *e.source)
    }
}

/// Parsed template sets by a fast hash of their names and sources (in parse order).
static CACHE: LazyLock<Mutex<HashMap<u64, Cached>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_MAX: usize = 128;

/// How many bytes of each end of a source the cache key hashes.
const KEY_SAMPLE: usize = 64;

/// The cache key: the names, the sources' lengths and the first and last [`KEY_SAMPLE`] bytes
/// of each source. Not the whole texts: a hit compares them in full anyway ([`Cached::matches`],
/// which is much cheaper than hashing them), and sets that share a key only evict each other.
fn set_key(entries: &[Entry]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::quality::FixedState::with_seed(0x6665_7272_795f_7473).build_hasher();
    for e in entries {
        let b = e.source.as_bytes();
        h.write(e.name.as_bytes());
        h.write_u8(0);
        h.write_usize(b.len());
        if b.len() <= 2 * KEY_SAMPLE {
            h.write(b);
        } else {
            h.write(&b[..KEY_SAMPLE]);
            h.write(&b[b.len() - KEY_SAMPLE..]);
        }
    }
    h.finish()
}

/// Empties the cache of parsed template sets.
pub(crate) fn clear_cache() {
    if let Ok(mut c) = CACHE.lock() {
        c.clear();
    }
}

/// Parses the entries into one set (or takes it from the cache).
fn parsed_set(entries: &[Entry]) -> Result<Arc<Set>, String> {
    let key = set_key(entries);
    if let Ok(c) = CACHE.lock()
        && let Some(cached) = c.get(&key)
        && cached.matches(entries)
    {
        return Ok(cached.set.clone());
    }
    let mut set = Set::with_funcs("gotpl", FUNCS.clone());
    let mut sources = Vec::with_capacity(entries.len());
    for e in entries {
        // The one copy of the text: the parsed trees and the cache entry share it.
        let text: Arc<str> = Arc::from(&*e.source);
        set.parse_shared(&e.name, text.clone())
            .map_err(|err| cleanup_parse_error(&e.name, &err.to_string()))?;
        sources.push((e.name.clone(), text));
    }
    let set = Arc::new(set);
    let cached = Cached {
        sources,
        set: set.clone(),
    };
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(key, cached);
    }
    Ok(set)
}

/// Parses every entry into one template set and executes the non-`_` ones, in order.
pub(crate) fn execute(entries: &[Entry]) -> Result<BTreeMap<String, String>, String> {
    let set = parsed_set(entries)?;
    let mut state = RenderState::default();
    let mut rendered = BTreeMap::new();
    for e in entries {
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        if base.starts_with('_') {
            continue;
        }
        if let Value::Map(m) = &e.data {
            let mut t = Map::new();
            t.insert("Name".into(), Value::str(&e.name));
            t.insert("BasePath".into(), Value::str(&e.base_path));
            m.entries
                .borrow_mut()
                .insert("Template".into(), Value::map(t));
        }
        // Output is usually about as long as the template.
        let mut out = String::with_capacity(e.source.len());
        if let Err(err) = set.execute_with(&e.name, &e.data, &mut out, &mut state) {
            let text = err.to_string();
            return Err(match err.kind {
                ErrorKind::Exec => reformat_exec_error(&e.name, &text),
                _ => text,
            });
        }
        if memchr::memmem::find(out.as_bytes(), b"<no value>").is_some() {
            out = out.replace("<no value>", "");
        }
        rendered.insert(e.name.clone(), out);
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(source: &str) -> Vec<Entry<'_>> {
        vec![Entry::new(
            "c/templates/a.yaml".into(),
            std::borrow::Cow::Borrowed(source),
            Value::map(Map::new()),
            "c/templates".into(),
        )]
    }

    /// The cache key samples the sources' ends: texts that differ only in the middle share a
    /// key, and the full comparison on a hit still tells them apart.
    #[test]
    fn cache_tells_apart_sources_with_the_same_key() {
        let pad = "#".repeat(2 * KEY_SAMPLE);
        let a = format!("{pad}{{{{ \"a\" }}}}{pad}");
        let b = format!("{pad}{{{{ \"b\" }}}}{pad}");
        assert_eq!(set_key(&entries(&a)), set_key(&entries(&b)));
        for (text, want) in [(&a, "a"), (&b, "b"), (&a, "a")] {
            let out = execute(&entries(text)).unwrap();
            assert_eq!(out["c/templates/a.yaml"], format!("{pad}{want}{pad}"));
        }
    }
}
