//! One module per subcommand. Each exposes its clap arguments and a `run` function.

pub mod app;
pub mod bump;
pub mod cluster;
pub mod controller;
pub mod secrets;
pub mod template;
pub mod up;
