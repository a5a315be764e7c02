//! Template sets: several named files parsed into one namespace, executed by name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::builtins::Builtin;
use crate::error::Error;
use crate::exec::{self, FxBuild, Namespace, Shared};
use crate::func::FuncMap;
use crate::parse::Tree;
use crate::value::Value;

/// A set of templates sharing one namespace (Go's `*template.Template` with its associated
/// templates), with the functions available to them.
///
/// Parsing a file adds the file's own template (named after the file) and every template it
/// `define`s; a later definition of a name replaces an earlier one, except that an empty
/// definition never replaces a non-empty one (Go's rule). The set is `Send + Sync` and cheap
/// to clone (trees are shared).
#[derive(Clone)]
pub struct Set {
    name: String,
    funcs: Arc<FuncMap>,
    templates: HashMap<Arc<str>, Tree, FxBuild>,
}

/// State shared by all executions of one render: Helm's per-name `include` nesting counts.
/// Use one per render with [`Set::execute_with`]; [`Set::execute`] uses a fresh one.
#[derive(Default)]
pub struct RenderState {
    shared: Shared,
}

impl Set {
    /// An empty set. `name` is the name of the root template (Helm uses `gotpl`); it appears
    /// in `no template "x" associated with template "gotpl"` and is the name `tpl` parses
    /// its text under.
    pub fn new(name: &str, funcs: FuncMap) -> Set {
        Set::with_funcs(name, Arc::new(funcs))
    }

    /// An empty set sharing an existing function map.
    pub fn with_funcs(name: &str, funcs: Arc<FuncMap>) -> Set {
        Set {
            name: name.to_string(),
            funcs,
            templates: HashMap::default(),
        }
    }

    /// The root template name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The functions templates can call (besides Go's builtins).
    pub fn funcs(&self) -> &Arc<FuncMap> {
        &self.funcs
    }

    /// True when `name` is callable in a template: a registered function or a Go builtin.
    pub fn has_function(&self, name: &str) -> bool {
        self.funcs.contains_key(name) || Builtin::from_name(name).is_some()
    }

    /// Parses `text` as the file `name` and adds its templates to the set. On error nothing
    /// is added. Copies `text` once; [`Set::parse_shared`] takes text the caller already
    /// holds in an `Arc<str>`.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        self.parse_shared(name, Arc::from(text))
    }

    /// [`Set::parse`] of text already in an `Arc<str>`: the parsed trees keep a reference to
    /// it (their text nodes and error positions read it) instead of a copy.
    pub fn parse_shared(&mut self, name: &str, text: Arc<str>) -> Result<(), Error> {
        let funcs = self.funcs.clone();
        let trees = crate::parse::parse(name, text, &crate::parse::resolver(&funcs))?;
        self.templates.reserve(trees.len());
        for t in trees {
            associate(&mut self.templates, t, None);
        }
        Ok(())
    }

    /// True when a template of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// The names of all templates (unordered).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(|s| &**s)
    }

    /// The parsed tree of a template.
    pub fn tree(&self, name: &str) -> Option<&Tree> {
        self.templates.get(name)
    }

    /// Executes the template `name` with `data` as dot and `$`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_with(name, data, &mut out, &mut RenderState::default())?;
        Ok(out)
    }

    /// Executes the template `name`, appending its output to `out` (which keeps what was
    /// written before an error), sharing `state` with the other executions of a render.
    pub fn execute_with(
        &self,
        name: &str,
        data: &Value,
        out: &mut String,
        state: &mut RenderState,
    ) -> Result<(), Error> {
        let Some(tree) = self.templates.get(name) else {
            return Err(Error::lookup(format!(
                "no template {} associated with template {}",
                crate::fmt::quote(name),
                crate::fmt::quote(&self.name)
            )));
        };
        // The output is usually about as long as the template's source: one allocation
        // instead of a series of doublings, each copying what was written.
        out.reserve(tree.text.len());
        state.shared.top.clear();
        state.shared.top.push_str(name);
        stacker::maybe_grow(256 * 1024, 8 * 1024 * 1024, || {
            exec::execute(self, tree, data, out, &mut state.shared)
        })
    }
}

impl Namespace for Set {
    fn lookup(&self, name: &str) -> Option<&Tree> {
        self.templates.get(name)
    }
    fn funcs(&self) -> &FuncMap {
        &self.funcs
    }
    fn root_name(&self) -> &str {
        &self.name
    }
}

/// Go's `associate`: add `t`, unless it is empty and a template of that name exists.
pub(crate) fn associate(
    map: &mut HashMap<Arc<str>, Tree, FxBuild>,
    t: Tree,
    parent: Option<&dyn Namespace>,
) {
    // (Emptiness first: it is rare, and decided without hashing the name.)
    if t.is_empty()
        && (map.contains_key(&t.name) || parent.is_some_and(|p| p.lookup(&t.name).is_some()))
    {
        return;
    }
    map.insert(t.name.clone(), t);
}
