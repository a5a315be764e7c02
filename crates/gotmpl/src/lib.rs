//! Go's `text/template`, as Helm v4 runs it: lexer, parser, executor, and Go's printing.
//!
//! This crate knows nothing about Helm or Sprig: it provides the language, the value model
//! ([`Value`]) and the function interface ([`Function`], [`FuncMap`]); function libraries are
//! registered by the caller (see the `sprig` and `helm` crates).

pub mod func;
pub mod value;

pub use func::{Body, Context, FuncMap, Function, Signature, Type};
pub use value::{ElemType, FuncError, FuncErrorKind, List, Map, MapType, MapValue, Object, Value};
