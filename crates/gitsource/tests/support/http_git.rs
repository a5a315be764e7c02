//! The smart-HTTP git test server now lives in the dev-only `testkit` crate; this re-export
//! keeps the `#[path]` includes of `crates/ferry/tests/bump.rs` and
//! `crates/gitsource/benches/bump.rs` compiling (new code: `use testkit::http_git`).

pub use testkit::http_git::*;
