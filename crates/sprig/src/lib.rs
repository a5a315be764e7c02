//! The Sprig v3.3.0 template function library as Helm v4 registers it, for the `gotmpl`
//! executor, byte-compatible with Go.
//!
//! [`functions`] returns the 209 Sprig names Helm v4.2.3 keeps (Sprig's 211 minus `env` and
//! `expandenv`) except the 8 JSON functions, which the `goyaml` crate provides, with Helm's
//! replacements of `fail` (a [`gotmpl::FuncErrorKind::Fail`] error) and `getHostByName`
//! (always `""`), plus Helm's plain functions `required` and `lookup` (offline: an empty
//! map): 203 functions. `include`, `tpl` and the YAML/TOML/JSON functions are not here.
//!
//! Objects returned by functions: [`GoTime`] (`time.Time`), [`SemverVersion`]
//! (`*semver.Version`) and [`Certificate`] (`sprig.certificate`); other crates may build or
//! downcast them (`Object::as_any`).
//!
//! Every function is registered with its Go signature, so the executor converts and checks
//! arguments as Go's `text/template` does; bodies port Sprig's Go code (cast conversions,
//! shopspring/decimal float math, mergo merges, Go time layouts, RE2 regexes, Masterminds
//! semver constraints, x509 certificates).
//!
//! ```
//! use gotmpl::Value;
//! let funcs = sprig::functions();
//! let upper = &funcs["upper"];
//! if let gotmpl::Body::Plain(f) = &upper.body {
//!     assert_eq!(f(&[Value::str("abc")]).unwrap().as_str(), Some("ABC"));
//! }
//! ```

mod conv;
mod core;
mod crypto;
mod data;
mod date;
mod encoding;
mod gofmt;
mod numeric;
mod paths;
mod regex;
pub mod semver;
mod strings;
mod unicode;
mod url;

use gotmpl::{FuncError, FuncMap, Function, Signature, Type, Value};

pub use crypto::Certificate;
pub use date::{GoTime, Loc};
pub use regex::clear_cache as clear_regex_cache;
pub use semver::SemverVersion;

pub(crate) type R = Result<Value, FuncError>;

/// All functions of this crate, by template name.
pub fn functions() -> FuncMap {
    let mut m = FuncMap::default();
    core::register(&mut m);
    date::register(&mut m);
    regex::register(&mut m);
    semver::register(&mut m);
    crypto::register(&mut m);
    url::register(&mut m);
    m
}

pub(crate) fn reg(
    m: &mut FuncMap,
    name: &str,
    sig: Signature,
    f: impl Fn(&[Value]) -> R + Send + Sync + 'static,
) {
    m.insert(name.to_string(), Function::plain(sig, f));
}

pub(crate) fn fixed(p: &[Type]) -> Signature {
    Signature::fixed(p)
}

pub(crate) fn var(p: &[Type], e: Type) -> Signature {
    Signature::variadic(p, e)
}

/// A string argument (already converted by the executor).
pub(crate) fn arg_s(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        Value::Nil => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(gofmt::strval(other)),
    }
}

/// A string argument as a value: the argument itself when it is a string (no copy).
pub(crate) fn arg_s_value(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        other => Value::from(arg_s(other).into_owned()),
    }
}

/// `part` of the string argument `v` as a value, sharing `v` when `part` is all of it.
pub(crate) fn sub_value(v: &Value, part: &str) -> Value {
    match v {
        Value::String(s) if s.len() == part.len() => v.clone(),
        _ => Value::from(part),
    }
}

/// An integer argument (already converted by the executor).
pub(crate) fn arg_i(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        other => conv::to_int64(other),
    }
}
