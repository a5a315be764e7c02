//! The executor: Go's `text/template/exec.go` over the parse tree, with `missingkey=zero`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::builtins::{self, Builtin};
use crate::error::{Error, ErrorInfo, ErrorKind, FuncFailure};
use crate::func::{Body, Context, FuncMap, Type};
use crate::parse::{
    Arena, Arg, Branch, Command, Node, Number, Pipe, Resolved, TemplateCall, TextRange, Tree,
};
use crate::value::{ElemType, FuncError, FuncErrorKind, MapType, Value};

/// Go's `maxExecDepth`.
const MAX_EXEC_DEPTH: usize = 100_000;
/// Helm's `recursionMaxNums` for `include`.
const INCLUDE_MAX: usize = 1000;

/// A value during execution: Go distinguishes a value read out of an `interface{}` slot (a
/// map element, a list element) from a plain one; a nil of the first kind is a "nil
/// interface" (field access on it fails), a nil of the second kind is an invalid value
/// (field access yields nil).
#[derive(Clone)]
pub(crate) struct Ev {
    pub v: Value,
    pub iface: bool,
}

impl std::borrow::Borrow<Value> for Ev {
    fn borrow(&self) -> &Value {
        &self.v
    }
}

impl Ev {
    fn direct(v: Value) -> Ev {
        Ev { v, iface: false }
    }
}

/// Where templates are looked up: a set, possibly with templates added by `tpl` on top.
pub(crate) trait Namespace {
    fn lookup(&self, name: &str) -> Option<&Tree>;
    fn funcs(&self) -> &FuncMap;
    fn root_name(&self) -> &str;
}

/// Templates defined by `tpl` text over a parent namespace.
struct Overlay<'p> {
    local: HashMap<Arc<str>, Tree, FxBuild>,
    parent: &'p dyn Namespace,
}

impl Namespace for Overlay<'_> {
    fn lookup(&self, name: &str) -> Option<&Tree> {
        self.local.get(name).or_else(|| self.parent.lookup(name))
    }
    fn funcs(&self) -> &FuncMap {
        self.parent.funcs()
    }
    fn root_name(&self) -> &str {
        self.parent.root_name()
    }
}

#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
    Template(&'a TemplateCall),
}

#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, Error>;

/// FxHash (rustc's hasher): a fast hash for short template names.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// Render-wide state shared by nested executions (`include`, `tpl`).
#[derive(Default)]
pub(crate) struct Shared {
    /// The names of the `include`s being executed, innermost last, concatenated (Helm's
    /// per-name nesting counts are the number of occurrences of a name here).
    include_names: String,
    /// Where each name of `include_names` ends.
    include_ends: Vec<usize>,
    /// Output buffers reused by `include` and the printing builtins (one per nesting level).
    bufs: Vec<String>,
    /// Key/value snapshots reused by `range` over maps.
    snapshots: Vec<Vec<(Value, Value)>>,
    /// The template the render is executing (the file), for [`Context::template_name`].
    pub(crate) top: String,
    /// String constants already turned into values, by their id.
    literals: Vec<(u64, Value)>,
    /// Argument buffers of finished executions, reused by the next ones (one per nesting
    /// level of `include` and `template`).
    argbufs: Vec<Vec<Value>>,
    evbufs: Vec<Vec<Ev>>,
    /// Variable stacks of finished executions, reused likewise.
    varbufs: Vec<Vec<(TextRange, Ev)>>,
    /// The templates `tpl` parsed from each text in this render: parsing depends only on the
    /// text, the root name and the functions, which a render does not change (charts call
    /// `tpl` on the same few values for every object).
    tpl_trees: HashMap<Box<str>, Arc<[Tree]>, FxBuild>,
}

const LITERAL_SLOTS: usize = 512;

impl Shared {
    /// An empty buffer, reused from an earlier call when possible.
    fn take_buf(&mut self) -> String {
        let mut b = self.bufs.pop().unwrap_or_default();
        b.clear();
        b
    }

    /// How many `include`s of `name` are being executed.
    fn include_count(&self, name: &str) -> usize {
        let mut start = 0;
        let mut n = 0;
        for &end in &self.include_ends {
            if &self.include_names[start..end] == name {
                n += 1;
            }
            start = end;
        }
        n
    }

    /// Gives a buffer back for reuse.
    fn put_buf(&mut self, b: String) {
        if b.capacity() <= 1 << 16 {
            self.bufs.push(b);
        }
    }

    /// The value of the string constant `id` (whose text `arena` holds), reusing one made
    /// earlier in this render.
    #[inline]
    fn literal(&mut self, id: u64, arena: &Arena, text: crate::parse::Lit) -> Value {
        if self.literals.is_empty() {
            self.literals = vec![(0, Value::Nil); LITERAL_SLOTS];
        }
        let slot = &mut self.literals[(id % LITERAL_SLOTS as u64) as usize];
        if slot.0 == id {
            return slot.1.clone();
        }
        let v = Value::str(arena.lit(text));
        *slot = (id, v.clone());
        v
    }
}

pub(crate) struct State<'a> {
    ns: &'a dyn Namespace,
    tmpl: &'a Tree,
    /// The nodes of `tmpl` (and of its whole file).
    arena: &'a Arena,
    /// Declared variables (their names: ranges of `arena`'s text), innermost last (`$` itself
    /// is `dollar`, below them all).
    vars: Vec<(TextRange, Ev)>,
    dollar: Ev,
    node: At<'a>,
    depth: usize,
    shared: &'a mut Shared,
    argbuf: Vec<Value>,
    evbuf: Vec<Ev>,
}

/// Executes `tree` with `data`, appending to `out`.
pub(crate) fn execute(
    ns: &dyn Namespace,
    tree: &Tree,
    data: &Value,
    out: &mut String,
    shared: &mut Shared,
) -> Result<(), Error> {
    let dot = Ev::direct(data.clone());
    let mut s = State {
        ns,
        tmpl: tree,
        arena: &tree.arena,
        vars: shared.varbufs.pop().unwrap_or_default(),
        dollar: dot.clone(),
        node: At::None,
        depth: 0,
        argbuf: shared.argbufs.pop().unwrap_or_default(),
        evbuf: shared.evbufs.pop().unwrap_or_default(),
        shared,
    };
    let r = s.walk_list(out, &dot, &tree.arena[tree.root]).map(|_| ());
    s.give_back_buffers();
    r
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::Any => "interface {}",
        Type::String => "string",
        Type::Int => "int",
        Type::Int64 => "int64",
        Type::Float64 => "float64",
        Type::Bool => "bool",
        Type::List => "[]interface {}",
        Type::StringList => "[]string",
        Type::Map => "map[string]interface {}",
        Type::Bytes => "[]uint8",
        Type::Uint32 => "uint32",
        Type::Object(name) => name,
    }
}

fn can_be_nil(t: Type) -> bool {
    matches!(
        t,
        Type::Any | Type::List | Type::StringList | Type::Map | Type::Bytes
    )
}

/// The zero value `nil` converts to: Go's typed nils.
fn zero_of(t: Type) -> Value {
    match t {
        Type::List => Value::nil_list(ElemType::Interface),
        Type::StringList => Value::nil_list(ElemType::String),
        Type::Map => Value::nil_map(),
        Type::Bytes => Value::nil_bytes(),
        _ => Value::Nil,
    }
}

fn assignable(v: &Value, t: Type) -> bool {
    match (v, t) {
        (_, Type::Any) => true,
        (Value::String(_), Type::String) => true,
        (Value::Int(_), Type::Int) => true,
        (Value::Int64(_), Type::Int64) => true,
        (Value::Float(_), Type::Float64) => true,
        (Value::Bool(_), Type::Bool) => true,
        (Value::List(l), Type::List) => l.elem == ElemType::Interface,
        (Value::List(l), Type::StringList) => l.elem == ElemType::String,
        (Value::Map(m), Type::Map) => m.ty.interface_elems(),
        (Value::Bytes(_), Type::Bytes) => true,
        (Value::Object(o), Type::Object(name)) => o.type_name() == name,
        _ => false,
    }
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && !s.contains(['p', 'P'])
}

/// A parameter kind for builtins: `reflect.Value` (keeps nil flavours), `any`, or a Go type.
#[derive(Clone, Copy)]
enum PT {
    Rv,
    T(Type),
}

enum Callee<'f> {
    User(&'f crate::func::Function),
    Builtin(Builtin),
}

impl<'a> State<'a> {
    fn at(&mut self, a: At<'a>) {
        self.node = a;
    }

    /// Returns the argument buffers (emptied) to the render's pool, for the next template
    /// or `include` executed.
    fn give_back_buffers(&mut self) {
        let mut a = std::mem::take(&mut self.argbuf);
        let mut e = std::mem::take(&mut self.evbuf);
        let mut v = std::mem::take(&mut self.vars);
        a.clear();
        e.clear();
        v.clear();
        self.shared.argbufs.push(a);
        self.shared.evbufs.push(e);
        self.shared.varbufs.push(v);
    }

    /// [`State::errorf`] of a formatted message (formatted here, out of the hot callers).
    #[cold]
    #[inline(never)]
    fn fail(&self, msg: std::fmt::Arguments<'_>) -> Error {
        self.errorf(msg.to_string())
    }

    #[cold]
    #[inline(never)]
    fn errorf(&self, msg: String) -> Error {
        self.error_with(msg, None)
    }

    #[cold]
    #[inline(never)]
    fn error_with(&self, message: String, func: Option<FuncFailure>) -> Error {
        let (pos, text) = match self.node {
            At::None => {
                return Error::from(ErrorInfo {
                    kind: ErrorKind::Exec,
                    name: self.tmpl.name.to_string(),
                    file: self.tmpl.parse_name.to_string(),
                    line: 0,
                    col: None,
                    node: None,
                    message,
                    func,
                });
            }
            At::Node(n) => (node_pos(self.arena, n), self.arena.show(n).to_string()),
            At::Pipe(p) => (p.pos, self.arena.show(p).to_string()),
            At::Cmd(c) => (c.pos, self.arena.show(c).to_string()),
            At::Arg(a) => (a.pos(), self.arena.show(a).to_string()),
            At::Template(t) => (t.pos, self.arena.show(t).to_string()),
        };
        let (line, col) = self.tmpl.line_col(pos);
        Error::from(ErrorInfo {
            kind: ErrorKind::Exec,
            name: self.tmpl.name.to_string(),
            file: self.tmpl.parse_name.to_string(),
            line,
            col: Some(col),
            node: Some(text),
            message,
            func,
        })
    }

    // ---- walking ----

    fn walk_list(&mut self, out: &mut String, dot: &Ev, list: &'a [Node]) -> R<Flow> {
        for n in list {
            let f = self.walk(out, dot, n)?;
            if f != Flow::Normal {
                return Ok(f);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, out: &mut String, dot: &Ev, node: &'a Node) -> R<Flow> {
        match node {
            Node::Text(t) => {
                out.push_str(self.arena.text(*t));
                Ok(Flow::Normal)
            }
            Node::Action(a) => {
                self.at(At::Node(node));
                if a.pipe.decl.is_empty() {
                    self.eval_pipeline_print(dot, &a.pipe, out)?;
                } else {
                    self.eval_pipeline(dot, &a.pipe)?;
                }
                Ok(Flow::Normal)
            }
            Node::If(b) => {
                self.at(At::Node(node));
                self.walk_if_or_with(out, dot, &self.arena[*b], false)
            }
            Node::With(b) => {
                self.at(At::Node(node));
                self.walk_if_or_with(out, dot, &self.arena[*b], true)
            }
            Node::Range(b) => {
                self.at(At::Node(node));
                let b = &self.arena[*b];
                stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || self.walk_range(out, dot, b))
            }
            Node::Template(t) => {
                self.at(At::Node(node));
                self.walk_template(out, dot, &self.arena[*t])?;
                Ok(Flow::Normal)
            }
            Node::Break(_) => Ok(Flow::Break),
            Node::Continue(_) => Ok(Flow::Continue),
        }
    }

    fn walk_if_or_with(
        &mut self,
        out: &mut String,
        dot: &Ev,
        b: &'a Branch,
        with: bool,
    ) -> R<Flow> {
        if !with && let Some(t) = self.with_simple_ref(dot, &b.pipe, Value::truthy) {
            // `if .a.b` / `if $x.a`: the condition read in place.
            return if t {
                self.walk_list(out, dot, &self.arena[b.list])
            } else if let Some(e) = b.else_list {
                self.walk_list(out, dot, &self.arena[e])
            } else {
                Ok(Flow::Normal)
            };
        }
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.v.truthy() {
                if with {
                    self.walk_list(out, &val, &self.arena[b.list])
                } else {
                    self.walk_list(out, dot, &self.arena[b.list])
                }
            } else if let Some(e) = b.else_list {
                self.walk_list(out, dot, &self.arena[e])
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    /// Assigns the variable named by `name` (a range of `arena`'s text).
    fn set_var(&mut self, name: TextRange, v: Ev) -> R<()> {
        let arena = self.arena;
        let nb = arena.text_bytes(name);
        for slot in self.vars.iter_mut().rev() {
            if eq_bytes(arena.text_bytes(slot.0), nb) {
                slot.1 = v;
                return Ok(());
            }
        }
        let name = arena.text(name);
        if name == "$" {
            self.dollar = v;
            return Ok(());
        }
        Err(self.fail(format_args!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, v: Ev) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].1 = v;
        }
    }

    fn var_value(&self, name: TextRange) -> R<Ev> {
        match self.var_ref(name) {
            Some(v) => Ok(v.clone()),
            None => Err(self.fail(format_args!(
                "undefined variable: {}",
                self.arena.text(name)
            ))),
        }
    }

    /// The variable named by `name` (a range of `arena`'s text), innermost declaration
    /// first; `$` unless redeclared.
    #[inline]
    fn var_ref(&self, name: TextRange) -> Option<&Ev> {
        let nb = self.arena.text_bytes(name);
        for slot in self.vars.iter().rev() {
            if eq_bytes(self.arena.text_bytes(slot.0), nb) {
                return Some(&slot.1);
            }
        }
        if nb == b"$" {
            return Some(&self.dollar);
        }
        None
    }

    fn one_iteration(
        &mut self,
        out: &mut String,
        b: &'a Branch,
        mark: usize,
        index: Ev,
        elem: Ev,
    ) -> R<Flow> {
        let decl: &'a [crate::parse::VarDecl] = &self.arena[b.pipe.decl];
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(decl[0].name, index.clone())?;
                } else {
                    self.set_var(decl[0].name, elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(decl[1].name, elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let r = self.walk_list(out, &elem, &self.arena[b.list]);
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, out: &mut String, dot: &Ev, b: &'a Branch) -> R<Flow> {
        let mark0 = self.vars.len();
        let r = self.walk_range_inner(out, dot, b);
        self.vars.truncate(mark0);
        r
    }

    fn walk_range_inner(&mut self, out: &mut String, dot: &Ev, b: &'a Branch) -> R<Flow> {
        let mut val = self.eval_pipeline(dot, &b.pipe)?;
        if let Value::Object(o) = &val.v
            && let Some(c) = o.collection()
        {
            val = Ev::direct(c);
        }
        let mark = self.vars.len();
        macro_rules! iterate {
            ($idx:expr, $elem:expr) => {
                match self.one_iteration(out, b, mark, $idx, $elem)? {
                    Flow::Break => break,
                    _ => {}
                }
            };
        }
        match &val.v {
            Value::List(l) if !l.items.is_empty() => {
                let iface = l.elem == ElemType::Interface;
                for (i, item) in l.items.iter().enumerate() {
                    iterate!(
                        Ev::direct(Value::Int(i as i64)),
                        Ev {
                            v: item.clone(),
                            iface
                        }
                    );
                }
                return Ok(Flow::Normal);
            }
            Value::Bytes(bs) if !bs.is_empty() => {
                for (i, item) in bs.iter().enumerate() {
                    iterate!(
                        Ev::direct(Value::Int(i as i64)),
                        Ev::direct(Value::Int(*item as i64))
                    );
                }
                return Ok(Flow::Normal);
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.fail(format_args!(
                        "can't use {} to iterate over more than one variable",
                        crate::fmt::format_value(&val.v)
                    )));
                }
                if *n > 0 {
                    let is64 = matches!(val.v, Value::Int64(_));
                    for i in 0..*n {
                        let v = if is64 { Value::Int64(i) } else { Value::Int(i) };
                        iterate!(Ev::direct(v.clone()), Ev::direct(v));
                    }
                    return Ok(Flow::Normal);
                }
            }
            Value::Map(m) => {
                // The key is only observable through a second range variable.
                let with_keys = b.pipe.decl.len() > 1;
                // Go ranges over a snapshot of the keys (the body may change the map).
                let mut snapshot = self.shared.snapshots.pop().unwrap_or_default();
                snapshot.extend(m.entries.borrow().iter().map(|(k, v)| {
                    (
                        if with_keys { Value::str(k) } else { Value::Nil },
                        v.clone(),
                    )
                }));
                if !snapshot.is_empty() {
                    let iface = m.ty.interface_elems();
                    for (k, v) in snapshot.drain(..) {
                        iterate!(Ev::direct(k), Ev { v, iface });
                    }
                    self.shared.snapshots.push(snapshot);
                    return Ok(Flow::Normal);
                }
                self.shared.snapshots.push(snapshot);
            }
            Value::List(_) | Value::Bytes(_) | Value::Nil => {}
            other => {
                return Err(self.fail(format_args!(
                    "range can't iterate over {}",
                    crate::fmt::format_value(other)
                )));
            }
        }
        if let Some(e) = b.else_list {
            return self.walk_list(out, dot, &self.arena[e]);
        }
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, out: &mut String, dot: &Ev, t: &'a TemplateCall) -> R<()> {
        self.at(At::Template(t));
        let ns: &'a dyn Namespace = self.ns;
        let name = self.arena.lit(t.name);
        let Some(tree) = ns.lookup(name) else {
            return Err(self.fail(format_args!(
                "template {} not defined",
                crate::fmt::quote(name)
            )));
        };
        let tree: &'a Tree = tree;
        if self.depth == MAX_EXEC_DEPTH {
            return Err(self.fail(format_args!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let newdot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Ev::direct(Value::Nil),
        };
        let mut ns = State {
            ns: self.ns,
            tmpl: tree,
            arena: &tree.arena,
            vars: self.shared.varbufs.pop().unwrap_or_default(),
            dollar: newdot.clone(),
            node: self.node,
            depth: self.depth + 1,
            argbuf: self.shared.argbufs.pop().unwrap_or_default(),
            evbuf: self.shared.evbufs.pop().unwrap_or_default(),
            shared: &mut *self.shared,
        };
        let r = stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            ns.walk_list(out, &newdot, &tree.arena[tree.root])
        });
        ns.give_back_buffers();
        r.map(|_| ())
    }

    // ---- evaluation ----

    fn eval_pipeline(&mut self, dot: &Ev, pipe: &'a Pipe) -> R<Ev> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Ev> = None;
        for cmd in &self.arena[pipe.cmds] {
            let mut v = self.eval_command(dot, cmd, value)?;
            v.iface = false;
            value = Some(v);
        }
        let value = value.unwrap_or(Ev::direct(Value::Nil));
        for d in &self.arena[pipe.decl] {
            if pipe.is_assign {
                self.set_var(d.name, value.clone())?;
            } else {
                self.vars.push((d.name, value.clone()));
            }
        }
        Ok(value)
    }

    /// An action's pipeline, printed to `out`. A final `print`/`printf`/`println` writes
    /// straight into `out` (Go would build the string and print it: the same bytes).
    /// Applies `f` to the value of a pipeline that is a single field or variable chain
    /// through maps (`.a.b`, `$x.a`, `$x`, `.`) without copying it; `None` when the general
    /// evaluation is needed (declarations, functions, a missing key, a non-map step).
    fn with_simple_ref<T>(&self, dot: &Ev, pipe: &Pipe, f: impl FnOnce(&Value) -> T) -> Option<T> {
        if !pipe.decl.is_empty() || pipe.cmds.len() != 1 {
            return None;
        }
        let args = self.arena[pipe.cmds][0].args;
        if args.len() != 1 {
            return None;
        }
        match &self.arena[args][0] {
            Arg::Field { idents, .. } => visit_chain(self.arena, &dot.v, &self.arena[*idents], f),
            Arg::Variable { idents, .. } => {
                let idents = &self.arena[*idents];
                let v = self.var_ref(idents[0])?;
                match idents.get(1..) {
                    Some(rest) if !rest.is_empty() => visit_chain(self.arena, &v.v, rest, f),
                    _ => Some(f(&v.v)),
                }
            }
            Arg::Dot(_) => Some(f(&dot.v)),
            _ => None,
        }
    }

    fn eval_pipeline_print(&mut self, dot: &Ev, pipe: &'a Pipe, out: &mut String) -> R<()> {
        self.at(At::Pipe(pipe));
        if self
            .with_simple_ref(dot, pipe, |v| match v {
                Value::Nil => out.push_str("<no value>"),
                v => crate::fmt::write_value(out, v),
            })
            .is_some()
        {
            return Ok(());
        }
        let Some((last, init)) = self.arena[pipe.cmds].split_last() else {
            out.push_str("<no value>");
            return Ok(());
        };
        let mut value: Option<Ev> = None;
        for cmd in init {
            let mut v = self.eval_command(dot, cmd, value)?;
            v.iface = false;
            value = Some(v);
        }
        if let Some(
            first @ Arg::Ident {
                pos,
                name_len,
                func,
            },
        ) = self.arena[last.args].first()
            && let crate::parse::FuncRef(Resolved::Builtin(b)) = &self.arena[*func]
            && builtins::is_print(*b)
        {
            self.at(At::Arg(first));
            self.call_builtin(
                dot,
                *b,
                self.arena.source(*pos, *name_len as usize),
                At::Cmd(last),
                &self.arena[last.args][1..],
                value,
                Some(out),
            )?;
            return Ok(());
        }
        let v = self.eval_command(dot, last, value)?;
        match &v.v {
            Value::Nil => out.push_str("<no value>"),
            v => crate::fmt::write_value(out, v),
        }
        Ok(())
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Ev>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.fail(format_args!(
                "can't give argument to non-function {}",
                self.arena.show(&args[0])
            )));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Ev, cmd: &'a Command, final_: Option<Ev>) -> R<Ev> {
        let args: &'a [Arg] = &self.arena[cmd.args];
        let first = &args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                let idents = &self.arena[*idents];
                self.eval_field_chain(dot, dot, first, idents, Some(args), final_)
            }
            Arg::Chain { .. } => self.eval_chain_node(dot, first, Some(args), final_),
            Arg::Ident { .. } => self.eval_function(dot, first, At::Cmd(cmd), Some(args), final_),
            Arg::Pipe { pipe, .. } => {
                self.not_a_function(args, &final_)?;
                self.eval_pipeline(dot, &self.arena[*pipe])
            }
            Arg::Variable { .. } => self.eval_variable_node(dot, first, Some(args), final_),
            _ => {
                self.at(At::Arg(first));
                self.not_a_function(args, &final_)?;
                match first {
                    Arg::Bool(_, b) => Ok(Ev::direct(Value::Bool(*b))),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => Err(self.errorf("nil is not a command".into())),
                    Arg::Number { num, .. } => self
                        .ideal_constant(first, &self.arena[*num])
                        .map(Ev::direct),
                    Arg::String { text, id, .. } => {
                        Ok(Ev::direct(self.shared.literal(*id, self.arena, *text)))
                    }
                    _ => Err(self.fail(format_args!(
                        "can't evaluate command {}",
                        crate::fmt::quote(&self.arena.show(first).to_string())
                    ))),
                }
            }
        }
    }

    fn ideal_constant(&mut self, node: &'a Arg, n: &Number) -> R<Value> {
        self.at(At::Arg(node));
        if n.is_complex {
            return Ok(Value::object(crate::value::Complex {
                re: n.complex.0,
                im: n.complex.1,
            }));
        }
        if n.is_float
            && !is_hex_int(&n.text)
            && !n.text.starts_with('\'')
            && n.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return Err(self.fail(format_args!("{} overflows int", n.text)));
        }
        Ok(Value::Nil)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Ev,
        chain: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Ev>,
    ) -> R<Ev> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.errorf("internal error: not a chain".into()));
        };
        let node = &self.arena[*node];
        if let Arg::Nil(_) = node {
            return Err(self.fail(format_args!(
                "indirection through explicit nil in {}",
                self.arena.show(chain)
            )));
        }
        let pipe = self.eval_arg_untyped(dot, node)?;
        self.eval_field_chain(dot, &pipe, chain, &self.arena[*fields], args, final_)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Ev,
        var: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Ev>,
    ) -> R<Ev> {
        self.at(At::Arg(var));
        let Arg::Variable { idents, .. } = var else {
            return Err(self.errorf("internal error: not a variable".into()));
        };
        let idents: &'a [TextRange] = &self.arena[*idents];
        let name = idents[0];
        if idents.len() > 1
            && final_.is_none()
            && args.is_none_or(|a| a.len() <= 1)
            && let Some(v) = self.var_ref(name)
            && let Some(r) = fast_chain(self.arena, &v.v, &idents[1..])
        {
            return Ok(r);
        }
        let value = self.var_value(name)?;
        if idents.len() == 1 {
            if let Some(a) = args {
                self.not_a_function(a, &final_)?;
            } else if final_.is_some() {
                return Err(self.fail(format_args!(
                    "can't give argument to non-function {}",
                    self.arena.show(var)
                )));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, &value, var, &idents[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Ev,
        receiver: &Ev,
        node: &'a Arg,
        idents: &'a [TextRange],
        args: Option<&'a [Arg]>,
        final_: Option<Ev>,
    ) -> R<Ev> {
        if final_.is_none()
            && args.is_none_or(|a| a.len() <= 1)
            && let Some(r) = fast_chain(self.arena, &receiver.v, idents)
        {
            return Ok(r);
        }
        let n = idents.len();
        let mut owned: Option<Ev> = None;
        for id in &idents[..n - 1] {
            let next = self.eval_field(
                dot,
                self.arena.text(*id),
                node,
                None,
                None,
                owned.as_ref().unwrap_or(receiver),
            )?;
            owned = Some(next);
        }
        self.eval_field(
            dot,
            self.arena.text(idents[n - 1]),
            node,
            args,
            final_,
            owned.as_ref().unwrap_or(receiver),
        )
    }

    fn eval_field(
        &mut self,
        dot: &Ev,
        name: &str,
        node: &'a Arg,
        args: Option<&'a [Arg]>,
        final_: Option<Ev>,
        receiver: &Ev,
    ) -> R<Ev> {
        if receiver.v.is_nil() && !receiver.iface {
            return Ok(Ev::direct(Value::Nil));
        }
        let has_args = args.is_some_and(|a| a.len() > 1) || final_.is_some();
        let typ = || {
            if receiver.iface {
                "interface {}".to_string()
            } else {
                receiver.v.type_name()
            }
        };
        match &receiver.v {
            Value::Nil => Err(self.fail(format_args!("nil pointer evaluating {}.{name}", typ()))),
            Value::Map(m) => {
                if has_args {
                    return Err(self.fail(format_args!("{name} is not a method but has arguments")));
                }
                let entries = m.entries.borrow();
                match map_get(&entries, name) {
                    Some(v) => Ok(Ev {
                        v: v.clone(),
                        iface: m.ty.interface_elems(),
                    }),
                    None => Ok(match m.ty {
                        MapType::String => Ev::direct(Value::str("")),
                        MapType::Interface | MapType::Values => Ev {
                            v: Value::Nil,
                            iface: true,
                        },
                    }),
                }
            }
            Value::Object(o) => {
                if let Some(fv) = o.field(name) {
                    if has_args {
                        return Err(self.fail(format_args!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(Ev::direct(fv));
                }
                let o = o.clone();
                let mut argv = Vec::new();
                if let Some(a) = args {
                    for arg in &a[1..] {
                        argv.push(self.eval_arg(dot, PT::T(Type::Any), arg)?.v);
                    }
                }
                if let Some(f) = final_ {
                    argv.push(f.v);
                }
                match o.method(name, &argv) {
                    Some(Ok(v)) => Ok(Ev::direct(v)),
                    Some(Err(e)) => {
                        self.at(At::Arg(node));
                        Err(self.func_error(name, e))
                    }
                    None => Err(self.fail(format_args!(
                        "can't evaluate field {name} in type {}",
                        typ()
                    ))),
                }
            }
            _ => Err(self.fail(format_args!(
                "can't evaluate field {name} in type {}",
                typ()
            ))),
        }
    }

    #[cold]
    #[inline(never)]
    fn func_error(&self, name: &str, e: FuncError) -> Error {
        let message = match e.kind {
            FuncErrorKind::Raw => e.message.clone(),
            _ => format!("error calling {name}: {}", e.message),
        };
        self.error_with(
            message,
            Some(FuncFailure {
                name: name.to_string(),
                kind: e.kind,
                message: e.message,
            }),
        )
    }

    fn eval_function(
        &mut self,
        dot: &Ev,
        ident: &'a Arg,
        call_node: At<'a>,
        args: Option<&'a [Arg]>,
        final_: Option<Ev>,
    ) -> R<Ev> {
        self.at(At::Arg(ident));
        let Arg::Ident {
            pos,
            name_len,
            func,
        } = ident
        else {
            return Err(self.fail(format_args!(
                "can't evaluate command {}",
                crate::fmt::quote(&self.arena.show(ident).to_string())
            )));
        };
        let name = self.arena.source(*pos, *name_len as usize);
        let callee = match &self.arena[*func].0 {
            Resolved::User(f) => Callee::User(f),
            Resolved::Builtin(b) => Callee::Builtin(*b),
        };
        let arg_nodes: &'a [Arg] = match args {
            Some(a) => &a[1..],
            None => &[],
        };
        match callee {
            Callee::User(f) => self.call_user(dot, f, name, call_node, arg_nodes, final_),
            Callee::Builtin(b) => {
                self.call_builtin(dot, b, name, call_node, arg_nodes, final_, None)
            }
        }
    }

    fn check_arg_count(
        &self,
        name: &str,
        fixed: usize,
        variadic: bool,
        nargs: usize,
        num_in: usize,
    ) -> R<()> {
        if variadic {
            if num_in < fixed {
                return Err(self.fail(format_args!(
                    "wrong number of args for {name}: want at least {fixed} got {nargs}"
                )));
            }
        } else if num_in != fixed {
            return Err(self.fail(format_args!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
        }
        Ok(())
    }

    fn call_user(
        &mut self,
        dot: &Ev,
        f: &crate::func::Function,
        name: &str,
        call_node: At<'a>,
        arg_nodes: &'a [Arg],
        final_: Option<Ev>,
    ) -> R<Ev> {
        let sig = &f.signature;
        let num_in = arg_nodes.len() + final_.is_some() as usize;
        let variadic = sig.variadic.is_some();
        let num_fixed = if variadic {
            sig.params.len()
        } else {
            arg_nodes.len()
        };
        self.check_arg_count(name, sig.params.len(), variadic, arg_nodes.len(), num_in)?;
        // Arguments go to a buffer reused by every call (nested calls push above `start`).
        let start = self.argbuf.len();
        let mut i = 0;
        while i < num_fixed && i < arg_nodes.len() {
            let v = self.eval_arg(dot, PT::T(sig.params[i]), &arg_nodes[i])?.v;
            self.argbuf.push(v);
            i += 1;
        }
        if let Some(elem) = sig.variadic {
            while i < arg_nodes.len() {
                let v = self.eval_arg(dot, PT::T(elem), &arg_nodes[i])?.v;
                self.argbuf.push(v);
                i += 1;
            }
        }
        if let Some(fin) = final_ {
            let t = match sig.variadic {
                Some(elem) if num_in > sig.params.len() => elem,
                _ => sig.params[num_in - 1],
            };
            let v = self.validate_type(fin, t)?;
            self.argbuf.push(v);
        }
        let r = match &f.body {
            Body::Plain(b) => {
                let r = b(&self.argbuf[start..]);
                self.argbuf.truncate(start);
                r
            }
            Body::WithContext(b) => {
                let mut buf = std::mem::take(&mut self.argbuf);
                let r = b(self, &buf[start..]);
                buf.truncate(start);
                self.argbuf = buf;
                r
            }
        };
        match r {
            Ok(v) => Ok(Ev::direct(v)),
            Err(e) => {
                self.at(call_node);
                Err(self.func_error(name, e))
            }
        }
    }

    /// Calls a builtin. With `sink`, a printing builtin appends its text there and returns
    /// nil; without, its text becomes a string value.
    #[allow(clippy::too_many_arguments)]
    fn call_builtin(
        &mut self,
        dot: &Ev,
        b: Builtin,
        name: &str,
        call_node: At<'a>,
        arg_nodes: &'a [Arg],
        final_: Option<Ev>,
        sink: Option<&mut String>,
    ) -> R<Ev> {
        // Comparisons, `not`, `len` and two-operand `index` without a piped value: the
        // operands go to a local array (the arity check holds by construction).
        if final_.is_none() {
            let r = match (b, arg_nodes) {
                (Builtin::Not | Builtin::Len, [x]) => {
                    let args = [self.eval_arg(dot, PT::Rv, x)?];
                    Some(builtins::call(b, &args, ""))
                }
                (
                    Builtin::Eq
                    | Builtin::Ne
                    | Builtin::Lt
                    | Builtin::Le
                    | Builtin::Gt
                    | Builtin::Ge
                    | Builtin::Index,
                    [x, y],
                ) => {
                    let x = self.eval_arg(dot, PT::Rv, x)?;
                    let args = [x, self.eval_arg(dot, PT::Rv, y)?];
                    Some(builtins::call(b, &args, ""))
                }
                _ => None,
            };
            if let Some(r) = r {
                return r.map_err(|msg| {
                    self.at(call_node);
                    self.func_error(name, FuncError::new(msg))
                });
            }
        }
        let (fixed, variadic): (&[PT], Option<PT>) = match b {
            Builtin::And
            | Builtin::Or
            | Builtin::Call
            | Builtin::Index
            | Builtin::Slice
            | Builtin::Eq => (&[PT::Rv], Some(PT::Rv)),
            Builtin::Not | Builtin::Len => (&[PT::Rv], None),
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                (&[PT::Rv, PT::Rv], None)
            }
            Builtin::Html | Builtin::Js | Builtin::Urlquery | Builtin::Print | Builtin::Println => {
                (&[], Some(PT::T(Type::Any)))
            }
            Builtin::Printf => (&[PT::T(Type::String)], Some(PT::T(Type::Any))),
        };
        let num_in = arg_nodes.len() + final_.is_some() as usize;
        self.check_arg_count(
            name,
            fixed.len(),
            variadic.is_some(),
            arg_nodes.len(),
            num_in,
        )?;
        if matches!(b, Builtin::And | Builtin::Or) {
            let want = matches!(b, Builtin::Or);
            let mut v = Ev::direct(Value::Nil);
            for a in arg_nodes {
                v = self.eval_arg(dot, PT::Rv, a)?;
                if v.v.truthy() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let num_fixed = if variadic.is_some() {
            fixed.len()
        } else {
            arg_nodes.len()
        };
        let start = self.evbuf.len();
        let mut i = 0;
        while i < num_fixed && i < arg_nodes.len() {
            let v = self.eval_arg(dot, fixed[i], &arg_nodes[i])?;
            self.evbuf.push(v);
            i += 1;
        }
        if let Some(elem) = variadic {
            while i < arg_nodes.len() {
                let v = self.eval_arg(dot, elem, &arg_nodes[i])?;
                self.evbuf.push(v);
                i += 1;
            }
        }
        if let Some(fin) = final_ {
            let t = match variadic {
                Some(elem) if num_in > fixed.len() => elem,
                _ => fixed[num_in - 1],
            };
            let v = match t {
                PT::Rv => fin,
                PT::T(t) => Ev::direct(self.validate_type(fin, t)?),
            };
            self.evbuf.push(v);
        }

        if builtins::is_print(b) {
            let args = &self.evbuf[start..];
            let v = match sink {
                Some(out) => {
                    builtins::print_into(b, args, out);
                    Value::Nil
                }
                None => {
                    let mut buf = self.shared.take_buf();
                    builtins::print_into(b, args, &mut buf);
                    let v = Value::str(&buf);
                    self.shared.put_buf(buf);
                    v
                }
            };
            self.evbuf.truncate(start);
            return Ok(Ev::direct(v));
        }
        let callee_name = if matches!(b, Builtin::Call) {
            match arg_nodes.first() {
                Some(a) => self.arena.show(a).to_string(),
                // Go names a piped-in callee by reflect.Value's String().
                None => match self.evbuf[start..].first().map(|e| &e.v) {
                    Some(Value::String(s)) => s.to_string(),
                    Some(Value::Nil) | None => "<invalid Value>".to_string(),
                    Some(v) => format!("<{} Value>", v.type_name()),
                },
            }
        } else {
            String::new()
        };
        let r = builtins::call(b, &self.evbuf[start..], &callee_name);
        self.evbuf.truncate(start);
        match r {
            Ok(v) => Ok(v),
            Err(msg) => {
                self.at(call_node);
                Err(self.func_error(name, FuncError::new(msg)))
            }
        }
    }

    /// `evalArg` with a nil type (chain receivers).
    fn eval_arg_untyped(&mut self, dot: &Ev, node: &'a Arg) -> R<Ev> {
        self.at(At::Arg(node));
        match node {
            Arg::Pipe { pipe, .. } => self.eval_pipeline(dot, &self.arena[*pipe]),
            Arg::Ident { .. } => self.eval_function(dot, node, At::Arg(node), None, None),
            _ => self.eval_arg(dot, PT::T(Type::Any), node),
        }
    }

    fn eval_arg(&mut self, dot: &Ev, typ: PT, node: &'a Arg) -> R<Ev> {
        self.at(At::Arg(node));
        let v = match node {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match typ {
                    PT::Rv => Ok(Ev::direct(Value::Nil)),
                    PT::T(t) if can_be_nil(t) => Ok(Ev::direct(zero_of(t))),
                    PT::T(t) => {
                        Err(self.fail(format_args!("cannot assign nil to {}", type_name(t))))
                    }
                };
            }
            Arg::Field { idents, .. } => {
                self.at(At::Arg(node));
                self.eval_field_chain(
                    dot,
                    dot,
                    node,
                    &self.arena[*idents],
                    Some(std::slice::from_ref(node)),
                    None,
                )?
            }
            Arg::Variable { .. } => self.eval_variable_node(dot, node, None, None)?,
            Arg::Pipe { pipe, .. } => self.eval_pipeline(dot, &self.arena[*pipe])?,
            Arg::Ident { .. } => self.eval_function(dot, node, At::Arg(node), None, None)?,
            Arg::Chain { .. } => self.eval_chain_node(dot, node, None, None)?,
            Arg::Bool(_, b) => {
                return match typ {
                    PT::Rv | PT::T(Type::Any) | PT::T(Type::Bool) => {
                        Ok(Ev::direct(Value::Bool(*b)))
                    }
                    PT::T(t) => Err(self.literal_mismatch(t, node)),
                };
            }
            Arg::Number { num, .. } => {
                let n: &Number = &self.arena[*num];
                return match typ {
                    PT::Rv | PT::T(Type::Any) => self.ideal_constant(node, n).map(Ev::direct),
                    PT::T(Type::Int) if n.is_int => Ok(Ev::direct(Value::Int(n.int))),
                    PT::T(Type::Int64) if n.is_int => Ok(Ev::direct(Value::Int64(n.int))),
                    PT::T(Type::Float64) if n.is_float => Ok(Ev::direct(Value::Float(n.float))),
                    // reflect's SetUint on a uint32 keeps the low 32 bits.
                    PT::T(Type::Uint32) if n.is_uint => {
                        Ok(Ev::direct(Value::Int((n.uint as u32) as i64)))
                    }
                    PT::T(t) => Err(self.literal_mismatch(t, node)),
                };
            }
            Arg::String { text, id, .. } => {
                return match typ {
                    PT::Rv | PT::T(Type::Any) | PT::T(Type::String) => {
                        Ok(Ev::direct(self.shared.literal(*id, self.arena, *text)))
                    }
                    PT::T(t) => Err(self.literal_mismatch(t, node)),
                };
            }
        };
        match typ {
            PT::Rv => Ok(v),
            PT::T(t) => Ok(Ev::direct(self.validate_type(v, t)?)),
        }
    }

    #[cold]
    #[inline(never)]
    fn literal_mismatch(&self, t: Type, node: &Arg) -> Error {
        let node = self.arena.show(node);
        match t {
            Type::Bool => self.fail(format_args!("expected bool; found {node}")),
            Type::Int | Type::Int64 => self.fail(format_args!("expected integer; found {node}")),
            Type::Float64 => self.fail(format_args!("expected float; found {node}")),
            Type::Uint32 => self.fail(format_args!("expected unsigned integer; found {node}")),
            Type::String => self.fail(format_args!("expected string; found {node}")),
            _ => self.fail(format_args!(
                "can't handle {node} for arg of type {}",
                type_name(t)
            )),
        }
    }

    /// Go's `validateType`: `ev` as an argument of type `t`.
    #[inline]
    fn validate_type(&self, ev: Ev, t: Type) -> R<Value> {
        // The common case inline; nils, conversions and errors (whose formatting makes a
        // large stack frame) in the cold function.
        if !ev.v.is_nil() && assignable(&ev.v, t) {
            return Ok(ev.v);
        }
        self.validate_type_slow(ev, t)
    }

    #[cold]
    #[inline(never)]
    fn validate_type_slow(&self, ev: Ev, t: Type) -> R<Value> {
        if ev.v.is_nil() && !ev.iface {
            if t == Type::Any {
                return Ok(Value::Nil);
            }
            if can_be_nil(t) {
                return Ok(zero_of(t));
            }
            return Err(self.fail(format_args!("invalid value; expected {}", type_name(t))));
        }
        if assignable(&ev.v, t) && !(ev.v.is_nil() && t != Type::Any) {
            return Ok(ev.v);
        }
        let got = if ev.v.is_nil() {
            "interface {}".to_string()
        } else {
            ev.v.type_name()
        };
        Err(self.fail(format_args!(
            "wrong type for value; expected {}; got {}",
            type_name(t),
            got
        )))
    }
}

/// `m.get(key)` for the identifier `id` of `arena` (see [`map_get`]).
#[inline]
fn map_get_ident<'m>(m: &'m crate::value::Map, arena: &Arena, id: TextRange) -> Option<&'m Value> {
    crate::mapkey::Key::get(m, arena.text_bytes(id))
}

/// Byte equality without a call to `memcmp` (keys and names are short).
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i + 8 <= a.len() {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        if u64::from_ne_bytes(x) != u64::from_ne_bytes(y) {
            return false;
        }
        i += 8;
    }
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `.a.b.c` through maps only, borrowing each level instead of copying it: `None` when a
/// step is not a map hit (the general path then reports Go's error or nil), except that a
/// missing last key is the map's zero value (`missingkey=zero`).
fn fast_chain(arena: &Arena, recv: &Value, idents: &[TextRange]) -> Option<Ev> {
    let Value::Map(m) = recv else {
        return None;
    };
    let entries = m.entries.borrow();
    let (first, rest) = idents.split_first()?;
    match map_get_ident(&entries, arena, *first) {
        Some(v) if rest.is_empty() => Some(Ev {
            v: v.clone(),
            iface: m.ty.interface_elems(),
        }),
        Some(v) => fast_chain(arena, v, rest),
        None if rest.is_empty() => Some(match m.ty {
            MapType::String => Ev::direct(Value::str("")),
            MapType::Interface | MapType::Values => Ev {
                v: Value::Nil,
                iface: true,
            },
        }),
        None => None,
    }
}

/// Applies `f` to the value at `.a.b.c` through maps, borrowed; `None` unless every step is a
/// map holding the key.
fn visit_chain<T>(
    arena: &Arena,
    recv: &Value,
    idents: &[TextRange],
    f: impl FnOnce(&Value) -> T,
) -> Option<T> {
    let Value::Map(m) = recv else {
        return None;
    };
    let entries = m.entries.borrow();
    let (first, rest) = idents.split_first()?;
    let v = map_get_ident(&entries, arena, *first)?;
    if rest.is_empty() {
        Some(f(v))
    } else {
        visit_chain(arena, v, rest, f)
    }
}

/// `m.get(key)`, comparing keys inline (see [`crate::mapkey`]).
#[inline]
fn map_get<'m>(m: &'m crate::value::Map, key: &str) -> Option<&'m Value> {
    crate::mapkey::Key::get(m, key.as_bytes())
}

fn node_pos(arena: &Arena, n: &Node) -> usize {
    match n {
        Node::Text(_) => 0,
        Node::Action(a) => a.pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => arena[*b].pos,
        Node::Template(t) => arena[*t].pos,
        Node::Break(p) | Node::Continue(p) => *p,
    }
}

impl State<'_> {
    /// Helm's `include` into `out`.
    fn include_into(
        &mut self,
        name: &str,
        data: &Value,
        out: &mut String,
    ) -> Result<(), FuncError> {
        // A name's count cannot pass the limit while the whole nesting is within it.
        if self.shared.include_ends.len() > INCLUDE_MAX
            && self.shared.include_count(name) > INCLUDE_MAX
        {
            return Err(FuncError::new(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            )));
        }
        self.shared.include_names.push_str(name);
        let end = self.shared.include_names.len();
        self.shared.include_ends.push(end);
        // The namespace outlives this state: its trees are borrowed, not cloned.
        let ns = self.ns;
        let r = match ns.lookup(name) {
            None => Err(Error::lookup(format!(
                "no template {} associated with template {}",
                crate::fmt::quote(name),
                crate::fmt::quote(ns.root_name())
            ))),
            Some(tree) => {
                let shared = &mut *self.shared;
                stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
                    execute(ns, tree, data, out, shared)
                })
            }
        };
        self.shared.include_ends.pop();
        let start = self.shared.include_ends.last().copied().unwrap_or(0);
        self.shared.include_names.truncate(start);
        r.map_err(|e| FuncError::new(e.to_string()))
    }
}

impl Context for State<'_> {
    fn include(&mut self, name: &str, data: &Value) -> Result<String, FuncError> {
        let mut out = String::with_capacity(128);
        self.include_into(name, data, &mut out)?;
        Ok(out)
    }

    fn include_value(&mut self, name: &str, data: &Value) -> Result<Value, FuncError> {
        let mut buf = self.shared.take_buf();
        let r = self.include_into(name, data, &mut buf);
        let v = r.map(|_| Value::str(&buf));
        self.shared.put_buf(buf);
        v
    }

    fn tpl(&mut self, text: &str, data: &Value) -> Result<String, FuncError> {
        let root = self.ns.root_name().to_string();
        let trees = match self.shared.tpl_trees.get(text) {
            Some(trees) => trees.clone(),
            None => {
                let funcs = self.ns.funcs();
                let trees: Arc<[Tree]> =
                    crate::parse::parse(&root, Arc::from(text), &crate::parse::resolver(funcs))
                        .map_err(|e| {
                            FuncError::new(format!(
                                "cannot parse template {}: {}",
                                crate::fmt::quote(text),
                                e
                            ))
                        })?
                        .into();
                self.shared.tpl_trees.insert(Box::from(text), trees.clone());
                trees
            }
        };
        let mut overlay = Overlay {
            local: HashMap::default(),
            parent: self.ns,
        };
        for t in trees.iter() {
            crate::template::associate(&mut overlay.local, t.clone(), Some(self.ns));
        }
        let Some(tree) = overlay.local.get(root.as_str()) else {
            return Ok(String::new());
        };
        let mut out = String::new();
        let shared = &mut *self.shared;
        stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, || {
            execute(&overlay, tree, data, &mut out, shared)
        })
        .map_err(|e| {
            FuncError::new(format!(
                "error during tpl function execution for {}: {}",
                crate::fmt::quote(text),
                e
            ))
        })?;
        Ok(out.replace("<no value>", ""))
    }

    /// The template being rendered: the one [`crate::Set::execute`] was called with (not
    /// the `define` an `include` runs).
    fn template_name(&self) -> &str {
        if self.shared.top.is_empty() {
            &self.tmpl.name
        } else {
            &self.shared.top
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::func::{Function, Signature, Type};
    use crate::{FuncMap, Map, Set, Value};

    fn set(text: &str) -> Set {
        let mut funcs = FuncMap::default();
        funcs.insert(
            "include".into(),
            Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
                ctx.include_value(a[0].as_str().unwrap_or(""), &a[1])
            }),
        );
        funcs.insert(
            "tpl".into(),
            Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
                ctx.tpl(a[0].as_str().unwrap_or(""), &a[1]).map(Value::from)
            }),
        );
        let mut s = Set::new("gotpl", funcs);
        s.parse("t", text).unwrap();
        s
    }

    /// `tpl` of one text again in a render (its parse reused) runs with the new data, defines
    /// its templates again over the set, and fails again on a bad text.
    #[test]
    fn tpl_of_the_same_text_twice() {
        let s = set(concat!(
            r#"{{ define "x" }}set{{ end }}"#,
            r#"{{ $t := "{{ define \"x\" }}local{{ . }}{{ end }}{{ template \"x\" . }}" }}"#,
            r#"{{ tpl $t 1 }},{{ tpl $t 2 }},{{ template "x" }},{{ tpl "{{ . }}" 3 }}{{ tpl "{{ . }}" 4 }}"#,
        ));
        assert_eq!(s.execute("t", &Value::Nil).unwrap(), "local1,local2,set,34");
        let s = set(r#"{{ tpl "{{ x" 1 }}{{ tpl "{{ x" 1 }}"#);
        let e = s.execute("t", &Value::Nil).unwrap_err().to_string();
        assert!(e.contains("cannot parse template"), "{e}");
    }

    /// Maps of every size (one B-tree node or several) find every key and miss absent ones.
    #[test]
    fn map_fields_small_and_large() {
        for n in [1usize, 5, 16, 17, 40] {
            let mut m = Map::new();
            for i in 0..n {
                m.insert(format!("key{i}"), Value::Int(i as i64));
            }
            let mut top = Map::new();
            top.insert("m".into(), Value::map(m));
            let data = Value::map(top);
            let mut text = String::new();
            let mut want = String::new();
            for i in 0..n {
                text.push_str(&format!(
                    "{{{{ .m.key{i} }}}},{{{{ if .m.key{i} }}}}y{{{{ end }}}};"
                ));
                want.push_str(&format!("{i},{};", if i > 0 { "y" } else { "" }));
            }
            text.push_str("{{ .m.key }}|{{ .m.key00 }}");
            want.push_str("<no value>|<no value>");
            assert_eq!(set(&text).execute("t", &data).unwrap(), want, "n={n}");
        }
    }

    /// Helm counts nesting per name: two names alternating fail on the first to pass 1000.
    #[test]
    fn include_counts_per_name() {
        let s = set(
            r#"{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}{{ include "a" . }}{{ end }}{{ include "a" . }}"#,
        );
        let e = s.execute("t", &Value::Nil).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "rendering template has a nested reference name: a: unable to execute template"
            ),
            "{}",
            &e[e.len() - 200..]
        );
        assert_eq!(e.matches("error calling include").count(), 2003);
        // After an error the counts start again from zero.
        let s = set(r#"{{ define "a" }}x{{ end }}{{ include "a" . }}{{ include "a" . }}"#);
        assert_eq!(s.execute("t", &Value::Nil).unwrap(), "xx");
    }
}
