//! The YAML store: a comment-preserving reader and a go-yaml-v3-compatible writer.

mod emit;
mod parse;
mod resolve;

pub use emit::emit;
pub use parse::{YamlError, parse};
pub use resolve::{parse_timestamp, resolve_plain};
