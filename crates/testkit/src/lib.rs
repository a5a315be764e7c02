//! Test-only helpers shared by ferry's integration tests and benchmarks (never a dependency
//! of a shipped crate; `publish = false`).
//!
//! * [`http_git`]: a real smart-HTTP git server on loopback (`git http-backend` run as a CGI
//!   program), open or behind HTTP Basic authentication.
//! * [`rand`]: a deterministic pseudo-random source for randomized tests.
//!
//! ```no_run
//! use testkit::http_git::GitHttpServer;
//! # let root = std::path::Path::new("/tmp/served");
//! // Serves every repository under `root` (e.g. `root/demo.git`) to `ci`:`token` only.
//! let server = GitHttpServer::start(root, "ci", "token");
//! let url = server.url("demo.git"); // http://127.0.0.1:PORT/demo.git
//! # let _ = url;
//! ```

pub mod http_git;
pub mod rand;
