//! Go's `text/template`, as Helm v4 runs it: lexer, parser, executor, and Go's printing.
//!
//! What it is for: rendering Helm chart templates byte for byte as Helm v4.2.3 does, with Go's
//! parse and execution error texts (`template: NAME:LINE:COL: executing "NAME" at <NODE>: …`),
//! `missingkey=zero` semantics (a missing key is nil, printed `<no value>`), Go's `fmt`
//! printing of values, and Go's 19 builtin functions (`and or not call html index slice js
//! len print printf println urlquery eq ne lt le gt ge`).
//!
//! What it is not: it knows nothing about Helm or Sprig. Function libraries are registered by
//! the caller as a [`FuncMap`] (see the `sprig` and `helm` crates); an entry shadows a builtin
//! of the same name, except `and`/`or`, which keep their short-circuit evaluation. Helm's
//! `include` and `tpl` are implemented on the executor's [`Context`]; the function bodies of
//! those names call [`Context::include`] / [`Context::tpl`].
//!
//! Parsed trees hold no [`Value`]s and are `Send + Sync`: a [`Set`] can be built once and
//! shared by threads; values ([`Value`]) live on one thread. Functions are resolved when a
//! template is parsed (an unknown name is Go's parse error `function "x" not defined`).
//!
//! Helm specifics implemented here, on [`Context`]:
//! * [`Context::include`] executes a template by name and returns its text; nesting per name is
//!   limited as Helm does (`rendering template has a nested reference name: NAME: unable to
//!   execute template`), the counts being shared by the whole render ([`RenderState`]).
//! * [`Context::tpl`] parses the text under the set's root name (`gotpl`, as Helm does), in an
//!   overlay of the set (its `define`s stay local), executes it, removes `<no value>`, and
//!   reports errors as Helm's `tpl` does (`cannot parse template "…": …`,
//!   `error during tpl function execution for "…": …`).
//! * `template` nesting stops at Go's `exceeded maximum template depth (100000)`.
//!
//! Errors ([`Error`]) display exactly as Go's; their parts (kind, file, line, column, node,
//! message, and for function errors the function and its [`FuncErrorKind`]) are fields, so a
//! caller can re-format them as Helm does.
//!
//! ```
//! use gotmpl::{FuncMap, Function, Set, Signature, Type, Value};
//!
//! let mut funcs = FuncMap::default();
//! funcs.insert(
//!     "upper".into(),
//!     Function::plain(Signature::fixed(&[Type::String]), |a| {
//!         Ok(Value::from(a[0].as_str().unwrap_or("").to_uppercase()))
//!     }),
//! );
//! let mut set = Set::new("gotpl", funcs);
//! set.parse("c/templates/_helpers.tpl", r#"{{ define "name" }}{{ .name | upper }}{{ end }}"#).unwrap();
//! set.parse("c/templates/t.yaml", "name: {{ template \"name\" . }}\n{{- range $i, $v := .list }} {{ $i }}={{ $v }}{{ end }}").unwrap();
//!
//! let mut data = gotmpl::Map::new();
//! data.insert("name".into(), Value::from("web"));
//! data.insert("list".into(), Value::list(vec![Value::Float(1.5), Value::from("x")]));
//! let out = set.execute("c/templates/t.yaml", &Value::map(data)).unwrap();
//! assert_eq!(out, "name: WEB 0=1.5 1=x");
//!
//! let err = set.parse("c/templates/bad.yaml", "{{ nosuch }}").unwrap_err();
//! assert_eq!(err.to_string(), r#"template: c/templates/bad.yaml:1: function "nosuch" not defined"#);
//! ```

mod builtins;
pub mod error;
mod exec;
pub mod fmt;
pub mod func;
mod lex;
mod mapkey;
pub mod parse;
pub mod strconv;
mod template;
pub mod value;

pub use builtins::{BUILTIN_NAMES, html_escape, js_escape, query_escape};
pub use error::{Error, ErrorInfo, ErrorKind, FuncFailure};
pub use func::{Body, Context, FuncMap, Function, Signature, Type};
pub use template::{RenderState, Set};
pub use value::{
    Complex, ElemType, FuncError, FuncErrorKind, List, Map, MapType, MapValue, Object, Value,
};
