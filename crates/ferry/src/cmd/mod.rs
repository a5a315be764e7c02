//! One module per subcommand. Each exposes its clap arguments and a `run` function.

pub mod bump;
pub mod cluster;
pub mod secrets;
pub mod template;
