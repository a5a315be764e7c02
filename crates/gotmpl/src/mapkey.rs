//! Map lookups by key without `memcmp`: the B-tree of a [`crate::Map`] compares the key with
//! several stored keys per lookup, and `str`'s ordering calls `memcmp` for each; map keys and
//! field names are short, and an inline comparison (eight bytes at a time, usually decided by
//! the first) costs a fraction of the call.

use std::borrow::Borrow;
use std::cmp::Ordering;

/// The bytes of a `str`, ordered as `str` is (bytewise), compared inline. [`Key::get`]
/// searches a map by one.
#[repr(transparent)]
#[derive(PartialEq, Eq)]
pub struct Key([u8]);

impl Key {
    fn new(s: &[u8]) -> &Key {
        // SAFETY: `Key` is `#[repr(transparent)]` over `[u8]`, so `*const [u8]` and
        // `*const Key` have the same layout and metadata (the length); the lifetime is
        // carried over.
        unsafe { &*(s as *const [u8] as *const Key) }
    }

    /// `m.get(key)`, searching the B-tree with the inline comparison. (A key that is not
    /// UTF-8 matches no entry, as no `String` holds it.)
    #[inline]
    pub fn get<'m, V>(m: &'m std::collections::BTreeMap<String, V>, key: &[u8]) -> Option<&'m V> {
        m.get(Key::new(key))
    }
}

impl Borrow<Key> for String {
    fn borrow(&self) -> &Key {
        Key::new(self.as_bytes())
    }
}

impl Ord for Key {
    #[inline]
    fn cmp(&self, other: &Key) -> Ordering {
        cmp_bytes(&self.0, &other.0)
    }
}

impl PartialOrd for Key {
    #[inline]
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `a.cmp(b)` for byte strings (lexicographic, a prefix first), without a call to `memcmp`.
/// Most comparisons of a search are decided by the first byte: that one is compared alone
/// first.
#[inline]
fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    if let (Some(x), Some(y)) = (a.first(), b.first())
        && x != y
    {
        return x.cmp(y);
    }
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        let (x, y) = (u64::from_be_bytes(x), u64::from_be_bytes(y));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The inline order is `str`'s order, and lookups through it find what `str` lookups find.
    #[test]
    fn same_order_and_lookups_as_str() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "aa",
            "abcdefgh",
            "abcdefgi",
            "abcdefg",
            "abcdefghi",
            "abcdefgh\u{0}",
            "zzzzzzzzzzzzzzzzz",
            "zzzzzzzzzzzzzzzzy",
            "\u{e9}",
            "\u{ff}x",
            "image",
            "imagePullSecrets",
            "global",
            "A",
            "Z",
            "_",
            "~",
        ];
        for a in words {
            for b in words {
                assert_eq!(
                    Key::new(a.as_bytes()).cmp(Key::new(b.as_bytes())),
                    a.cmp(b),
                    "{a:?} {b:?}"
                );
            }
        }
        let mut m = BTreeMap::new();
        for (i, w) in words.iter().enumerate().skip(1) {
            m.insert(w.to_string(), i);
        }
        for n in 0..200 {
            m.insert(format!("key{n}"), 1000 + n);
        }
        for w in words
            .iter()
            .copied()
            .chain(["key7", "key199", "key200", "ke", "zz"])
        {
            assert_eq!(Key::get(&m, w.as_bytes()), m.get(w), "{w:?}");
        }
    }
}
