//! Helm's rendering engine (`pkg/engine`): one template namespace for the chart and its
//! enabled subcharts, per-chart top-level data, `include`/`tpl`/`required`/`fail`, `<no value>`
//! removal, and Helm's error reformatting.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use gotmpl::{Map, MapType, Value};
use regex::Regex;

use crate::chart::Chart;
use crate::objects::{Capabilities, Files, chart_map, values_into_template};
use crate::render::RenderOptions;
use crate::values::Values;

/// A template file to parse (and, unless its base name starts with `_`, to execute).
pub(crate) struct Entry<'a> {
    /// Full template name: `chart/templates/x.yaml`, `parent/charts/sub/templates/x.yaml`.
    pub name: String,
    /// Template source.
    pub source: std::borrow::Cow<'a, str>,
    /// The chart's top-level data map (`.Values`, `.Chart`, …), shared by its files.
    pub data: Value,
    /// `.Template.BasePath`.
    pub base_path: String,
    /// How many `/` the name has (the first sort key of Helm's parse order).
    depth: usize,
}

impl<'a> Entry<'a> {
    pub(crate) fn new(
        name: String,
        source: std::borrow::Cow<'a, str>,
        data: Value,
        base_path: String,
    ) -> Self {
        Entry {
            depth: memchr::memchr_iter(b'/', name.as_bytes()).count(),
            name,
            source,
            data,
            base_path,
        }
    }
}

/// `.Values` as Helm passes it: Go type `common.Values` (a top-level copy of the map; nested
/// maps stay shared).
fn as_values(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::typed_map(MapType::Values, m.entries.borrow().clone()),
        _ => Value::typed_map(MapType::Values, Map::new()),
    }
}

fn top_entry(map: &Value, key: &str) -> Value {
    match map {
        Value::Map(m) => m.entries.borrow().get(key).cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

/// Helm's `recAllTpls`: collects every template of `c` and its subcharts with the data each
/// executes with. `parent` is the parent's top-level map (the root gets `top`).
fn rec_all<'a>(c: &'a Chart, is_root: bool, parent: &Value, out: &mut Vec<Entry<'a>>) -> Value {
    let subcharts = Value::map(Map::new());
    let mut next = Map::new();
    next.insert("Chart".into(), chart_map(&c.metadata, is_root));
    next.insert("Files".into(), Value::object(Files::of_chart(c)));
    next.insert("Release".into(), top_entry(parent, "Release"));
    next.insert("Capabilities".into(), top_entry(parent, "Capabilities"));
    next.insert("Subcharts".into(), subcharts.clone());
    let values = if is_root {
        top_entry(parent, "Values")
    } else {
        match top_entry(parent, "Values") {
            Value::Map(m) => match m.entries.borrow().get(c.name()) {
                Some(v @ Value::Map(_)) => as_values(v),
                _ => as_values(&Value::Nil),
            },
            _ => as_values(&Value::Nil),
        }
    };
    next.insert("Values".into(), values);
    let next = Value::map(next);
    for child in &c.dependencies {
        let sub = rec_all(child, false, &next, out);
        if let Value::Map(m) = &subcharts {
            m.entries.borrow_mut().insert(child.name().to_string(), sub);
        }
    }
    for t in c.templates.iter() {
        if c.is_library() {
            let base = t.name.rsplit('/').next().unwrap_or(&t.name);
            if !base.starts_with('_') {
                continue;
            }
        }
        out.push(Entry::new(
            format!("{}/{}", c.full_path, t.name),
            // Templates are read at load, never deferred (see `chart::File`).
            crate::yaml::text(t.data().map_or(&[][..], |d| &d[..])),
            next.clone(),
            format!("{}/templates", c.full_path),
        ));
    }
    next
}

/// Every template entry, in Helm's parse order (more `/` first, then reverse byte order).
pub(crate) fn all_templates<'a>(
    chart: &'a Chart,
    vals: Values,
    opts: &RenderOptions,
    caps: &Capabilities,
) -> Vec<Entry<'a>> {
    let mut release = Map::new();
    release.insert("Name".into(), Value::str(&opts.release_name));
    release.insert("Namespace".into(), Value::str(&opts.namespace));
    release.insert("IsUpgrade".into(), Value::Bool(opts.is_upgrade));
    release.insert("IsInstall".into(), Value::Bool(!opts.is_upgrade));
    release.insert("Revision".into(), Value::Int(opts.revision));
    release.insert("Service".into(), Value::str("Helm"));
    let mut top = Map::new();
    top.insert("Release".into(), Value::map(release));
    top.insert("Capabilities".into(), Value::object(caps.clone()));
    top.insert(
        "Values".into(),
        Value::typed_map(MapType::Values, values_into_template(vals)),
    );
    let top = Value::map(top);
    let mut out = Vec::new();
    rec_all(chart, true, &top, &mut out);
    out.sort_by(|a, b| b.depth.cmp(&a.depth).then_with(|| b.name.cmp(&a.name)));
    // Helm keys templates by name: a later duplicate replaces an earlier one.
    out.dedup_by(|a, b| a.name == b.name);
    out
}

static WARN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"HELM_ERR_START((?s).*)HELM_ERR_END").expect("static regex"));

/// Wraps a `fail`/`required` message so the reformatting recognises it.
pub(crate) fn warn_wrap(msg: &str) -> String {
    format!("HELM_ERR_START{msg}HELM_ERR_END")
}

/// Helm's `cleanupParseError`.
pub(crate) fn cleanup_parse_error(filename: &str, err: &str) -> String {
    let tokens: Vec<&str> = err.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {err}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

#[derive(Clone, PartialEq, Eq, Debug)]
struct Traceable {
    location: String,
    message: String,
    executed: String,
}

impl Traceable {
    fn render(&self) -> String {
        let mut s = String::new();
        if !self.location.is_empty() {
            s.push_str(&format!("{}\n  ", self.location));
        }
        if !self.executed.is_empty() {
            s.push_str(&format!("{}\n    ", self.executed));
        }
        if !self.message.is_empty() {
            s.push_str(&format!("{}\n", self.message));
        }
        s
    }
}

fn parse_exec_error_string(s: &str) -> Option<Traceable> {
    let remainder = s.strip_prefix("template: ")?;
    if remainder.starts_with("no template ") {
        return Some(Traceable {
            location: String::new(),
            message: s.to_string(),
            executed: String::new(),
        });
    }
    if let Some((name, after)) = remainder.split_once(": executing ") {
        if let Some(rest) = after.strip_prefix('"')
            && let Some(end) = rest.find('"')
        {
            let func = &rest[..end];
            let after_func = &rest[end + 1..];
            if let Some(after_at) = after_func.strip_prefix(" at <")
                && let Some((loc, msg)) = after_at.split_once(">: ")
            {
                let msg = match msg.find(" template:") {
                    Some(i) => &msg[..i],
                    None => msg,
                };
                return Some(Traceable {
                    location: name.to_string(),
                    message: msg.to_string(),
                    executed: format!("executing \"{func}\" at <{loc}>:"),
                });
            }
        }
        return None;
    }
    let sep = remainder.rfind(": ")?;
    let name = &remainder[..sep];
    let mut msg = &remainder[sep + 2..];
    if let Some(i) = msg.find(" template:") {
        msg = &msg[..i];
    }
    Some(Traceable {
        location: name.to_string(),
        message: msg.to_string(),
        executed: String::new(),
    })
}

/// The message of an exec error after its `executing "…" at <…>: ` part, if any.
fn exec_message(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("template: ")?;
    let (_, after) = rest.split_once(": executing \"")?;
    let (_, msg) = after.split_once(">: ")?;
    Some(msg)
}

/// The error chain Go's `errors.Unwrap` walks for an execution error: each level's text.
/// A function error (`error calling NAME: MSG`) wraps MSG, which may itself be an execution
/// error of an included template.
fn error_chain(text: &str) -> Vec<String> {
    let mut chain = vec![text.to_string()];
    let mut cur = text.to_string();
    for _ in 0..2000 {
        let Some(msg) = exec_message(&cur) else { break };
        let Some(rest) = msg.strip_prefix("error calling ") else {
            break;
        };
        let Some((_, inner)) = rest.split_once(": ") else {
            break;
        };
        chain.push(inner.to_string());
        cur = inner.to_string();
    }
    chain
}

/// Helm's `reformatExecErrorMsg` for an execution error text of `filename`.
pub(crate) fn reformat_exec_error(filename: &str, text: &str) -> String {
    let tokens: Vec<&str> = text.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {text}");
    }
    if let Some(c) = WARN.captures(tokens[2]) {
        return format!("execution error at ({}): {}", tokens[1], &c[1]);
    }
    let mut locs: Vec<Traceable> = Vec::new();
    for level in error_chain(text) {
        match parse_exec_error_string(&level) {
            Some(t) => {
                if locs.last() != Some(&t) {
                    locs.push(t);
                }
            }
            None => return text.to_string(),
        }
    }
    let s: String = locs.iter().map(Traceable::render).collect();
    s.trim().to_string()
}

/// Renders every non-`_` template; the result maps template names to their output with every
/// `<no value>` removed.
pub fn render(
    chart: &Chart,
    vals: Values,
    opts: &RenderOptions,
    caps: &Capabilities,
) -> Result<BTreeMap<String, String>, String> {
    let entries = all_templates(chart, vals, opts, caps);
    crate::exec::execute(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_cleanup() {
        assert_eq!(
            cleanup_parse_error(
                "c/templates/t.yaml",
                "template: c/templates/t.yaml:3: function \"x\" not defined"
            ),
            "parse error at (c/templates/t.yaml:3): function \"x\" not defined"
        );
    }

    #[test]
    fn exec_error_trace() {
        let e = "template: c/templates/t.yaml:1:13: executing \"c/templates/t.yaml\" at <.Values.nope.deeper>: nil pointer evaluating interface {}.deeper";
        assert_eq!(
            reformat_exec_error("c/templates/t.yaml", e),
            "c/templates/t.yaml:1:13\n  executing \"c/templates/t.yaml\" at <.Values.nope.deeper>:\n    nil pointer evaluating interface {}.deeper"
        );
        let f = "template: c/templates/t.yaml:1:3: executing \"c/templates/t.yaml\" at <fail \"x\">: error calling fail: HELM_ERR_STARTneed xHELM_ERR_END";
        assert_eq!(
            reformat_exec_error("c/templates/t.yaml", f),
            "execution error at (c/templates/t.yaml:1:3): need x"
        );
        let d = "template: c/templates/t.yaml:1:3: executing \"c/templates/t.yaml\" at <div 1 0>: error calling div: runtime error: integer divide by zero";
        assert_eq!(reformat_exec_error("c/templates/t.yaml", d), d);
        let i = "template: c/templates/t.yaml:1:3: executing \"c/templates/t.yaml\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\"";
        assert_eq!(
            reformat_exec_error("c/templates/t.yaml", i),
            "c/templates/t.yaml:1:3\n  executing \"c/templates/t.yaml\" at <include \"nope\" .>:\n    error calling include:\ntemplate: no template \"nope\" associated with template \"gotpl\""
        );
    }
}
