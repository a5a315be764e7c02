//! Helm v4 charts and `helm template`, natively: chart loading (directory, `.tgz`, in-memory
//! files), dependencies (conditions, tags, aliases, import-values, library charts), values
//! coalescing and `--set` parsing, values.schema.json validation, the rendering engine on
//! `gotmpl` + `sprig` + `goyaml`, and the assembly of the `helm template` stream.
//!
//! It does not talk to a cluster (`lookup` returns empty maps) and does not fetch charts or
//! dependencies from repositories.
//!
//! ```no_run
//! use helm::{Chart, RenderOptions, StreamOptions, Values};
//! let chart = Chart::load(std::path::Path::new("./mychart")).unwrap();
//! let rendered = helm::render(&chart, &Values::new(), &RenderOptions::default()).unwrap();
//! print!("{}", rendered.stream(&StreamOptions::default()));
//! ```

pub mod chart;
pub mod deps;
mod dirfs;
mod engine;
mod exec;
mod gofmt;
pub mod ignore;
pub mod manifest;
pub mod objects;
pub mod render;
pub mod schema;
mod schema_format;
pub mod strvals;
pub mod update;
pub mod values;
pub mod yaml;

pub use chart::{Chart, File, LoadError, Metadata};
pub use manifest::{Document, StreamOptions};
pub use objects::KubeVersion;
pub use render::{
    RenderError, RenderOptions, Rendered, RenderedObject, cache_key, check_installable,
    clear_template_cache, render, render_files, render_files_owned, render_owned,
};
pub use values::Values;
