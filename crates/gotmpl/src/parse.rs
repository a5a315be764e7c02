//! The parser and the parse tree: Go's `text/template/parse`, with Go's error messages.
//!
//! Trees hold no `Value`s (literals are kept as their own constant types), so they are
//! `Send + Sync` and can be cached and shared between threads.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::Error;
use crate::lex::{
    ASCII_WORD, Item, ItemType, Lexer, describe, line_of, skip_spaces, word_end, word_type,
};

/// Ids of string constants (never 0), handed to threads in blocks.
static NEXT_STRING_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// How many string constant ids a thread takes at a time.
const STRING_ID_BLOCK: u64 = 4096;

thread_local! {
    /// This thread's block of string constant ids: (next, end).
    static STRING_IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// A process-unique id for a string constant (one atomic operation per block of ids
/// instead of one per constant).
fn next_string_id() -> u64 {
    STRING_IDS.with(|c| {
        let (mut next, mut end) = c.get();
        if next == end {
            next = NEXT_STRING_ID.fetch_add(STRING_ID_BLOCK, std::sync::atomic::Ordering::Relaxed);
            end = next + STRING_ID_BLOCK;
        }
        c.set((next + 1, end));
        next
    })
}

/// Maximum nesting of parenthesized pipelines (Go's `maxStackDepth`).
const MAX_STACK_DEPTH: usize = 10000;

/// One parsed template: a file's top level, or a `define`/`block` body. Cheap to clone
/// (its parts are shared).
#[derive(Clone, Debug)]
pub struct Tree {
    /// The template name (file name, or the `define` name).
    pub name: Arc<str>,
    /// The name of the file it was parsed from (Go's `ParseName`), used in error locations.
    pub parse_name: Arc<str>,
    /// The whole source text of that file, for error line and column numbers.
    pub text: Arc<str>,
    /// The nodes of the whole file, shared by its trees.
    pub arena: Arc<Arena>,
    /// The body (in `arena`).
    pub root: List<Node>,
}

impl Tree {
    /// Go's `parse.IsEmptyTree`: only whitespace text and comments.
    pub fn is_empty(&self) -> bool {
        is_empty_list(&self.arena, &self.arena[self.root])
    }

    /// The body's nodes.
    pub fn root_nodes(&self) -> &[Node] {
        &self.arena[self.root]
    }

    /// A node, operand, command or pipeline of this tree, displayed as Go's `String()`.
    pub fn show<'t, T: ?Sized>(&'t self, item: &'t T) -> Show<'t, T> {
        self.arena.show(item)
    }

    /// Go's `ErrorContext` location: (line, column) of a byte offset.
    pub(crate) fn line_col(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        (line, col)
    }
}

impl fmt::Display for Tree {
    /// Go's `Tree.Root.String()`: the body as template text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.arena, &self.arena[self.root])
    }
}

fn is_empty_list(arena: &Arena, list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => arena
            .text(*t)
            .trim_matches(|c: char| c.is_whitespace())
            .is_empty(),
        _ => false,
    })
}

/// The nodes, branches, pipelines, commands, operands, field names, declarations, numbers
/// and functions of one parsed file, each kind in one vector (one allocation per kind per file, rather than one per list or node; dropped
/// in one go). Nodes refer to each other by [`List`] and [`Idx`], indexing the arena.
#[derive(Debug, Default)]
pub struct Arena {
    nodes: Vec<Node>,
    branches: Vec<Branch>,
    pipes: Vec<Pipe>,
    cmds: Vec<Command>,
    args: Vec<Arg>,
    /// The functions the file calls (each name resolved once per file, mostly).
    funcs: Vec<FuncRef>,
    /// Identifiers of field chains (ranges of the text).
    strs: Vec<TextRange>,
    decls: Vec<VarDecl>,
    numbers: Vec<Number>,
    /// `{{template}}` calls (and what `{{block}}` leaves in place).
    calls: Vec<TemplateCall>,
    /// The values of string constants and template names with escapes (the others are
    /// ranges of the text).
    escaped: String,
    /// The file's source text (what identifiers, text nodes and string constants slice).
    text: Arc<str>,
}

/// `len` consecutive items of an [`Arena`] from `start`.
pub struct List<T> {
    start: u32,
    len: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> List<T> {
    /// The number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    const EMPTY: List<T> = List {
        start: 0,
        len: 0,
        _t: PhantomData,
    };
}

impl<T> Clone for List<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for List<T> {}

impl<T> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "List({}+{})", self.start, self.len)
    }
}

/// One item of an [`Arena`].
pub struct Idx<T> {
    i: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Idx<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Idx<T> {}

impl<T> fmt::Debug for Idx<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Idx({})", self.i)
    }
}

/// The kinds of items an [`Arena`] holds.
pub trait Stored: Sized {
    #[doc(hidden)]
    fn store(a: &Arena) -> &Vec<Self>;
    #[doc(hidden)]
    fn store_mut(a: &mut Arena) -> &mut Vec<Self>;
}

macro_rules! stored {
    ($t:ty, $f:ident) => {
        impl Stored for $t {
            #[inline]
            fn store(a: &Arena) -> &Vec<Self> {
                &a.$f
            }
            #[inline]
            fn store_mut(a: &mut Arena) -> &mut Vec<Self> {
                &mut a.$f
            }
        }
    };
}
stored!(Node, nodes);
stored!(Branch, branches);
stored!(Pipe, pipes);
stored!(Command, cmds);
stored!(Arg, args);
stored!(FuncRef, funcs);
stored!(TextRange, strs);
stored!(TemplateCall, calls);
stored!(VarDecl, decls);
stored!(Number, numbers);

impl<T: Stored> std::ops::Index<List<T>> for Arena {
    type Output = [T];
    #[inline]
    fn index(&self, l: List<T>) -> &[T] {
        let start = l.start as usize;
        &T::store(self)[start..start + l.len as usize]
    }
}

impl<T: Stored> std::ops::Index<Idx<T>> for Arena {
    type Output = T;
    #[inline]
    fn index(&self, i: Idx<T>) -> &T {
        &T::store(self)[i.i as usize]
    }
}

impl Arena {
    /// The text of a text node.
    #[inline]
    pub fn text(&self, r: TextRange) -> &str {
        self.text
            .get(r.start as usize..r.end as usize)
            .unwrap_or("")
    }

    /// The bytes of [`Arena::text`] (without its character-boundary checks: for comparing).
    #[inline]
    pub(crate) fn text_bytes(&self, r: TextRange) -> &[u8] {
        self.text
            .as_bytes()
            .get(r.start as usize..r.end as usize)
            .unwrap_or_default()
    }

    /// The value of a string constant or template name.
    #[inline]
    pub fn lit(&self, l: Lit) -> &str {
        let src: &str = if l.escaped { &self.escaped } else { &self.text };
        src.get(l.start as usize..l.end as usize).unwrap_or("")
    }

    /// `len` bytes of the file's source text from `pos` (empty when out of range).
    pub fn source(&self, pos: usize, len: usize) -> &str {
        self.text.get(pos..pos + len).unwrap_or("")
    }

    /// An item of this arena, displayed as Go's `String()` of it.
    pub fn show<'t, T: ?Sized>(&'t self, item: &'t T) -> Show<'t, T> {
        Show { arena: self, item }
    }

    /// The list of the arena's items of that kind from `start` to the last one.
    #[inline]
    fn tail_from<T: Stored>(&self, start: u32) -> List<T> {
        List {
            start,
            len: T::store(self).len() as u32 - start,
            _t: PhantomData,
        }
    }

    /// The list a fast-path reader built: already at the end of the arena's items from
    /// `start` (`direct`), or on the work stack `v` from `base`, moved here.
    #[inline]
    fn finish<T: Stored + Copy>(
        &mut self,
        direct: bool,
        start: usize,
        v: &mut Vec<T>,
        base: usize,
    ) -> List<T> {
        if direct {
            self.tail_from(start as u32)
        } else {
            self.take_from(v, base)
        }
    }

    /// Moves `v[base..]` to the end of the arena's items of that kind. (Counts fit in
    /// `u32`: [`parse`] refuses texts of 4 GiB and more, and every item takes a byte.)
    fn take_from<T: Stored + Copy>(&mut self, v: &mut Vec<T>, base: usize) -> List<T> {
        let store = T::store_mut(self);
        let start = store.len() as u32;
        // (A block copy: the items are plain data. A single item, the commonest list,
        // without a call to `memcpy`.)
        match &v[base..] {
            [x] => store.push(*x),
            items => store.extend_from_slice(items),
        }
        v.truncate(base);
        self.tail_from(start)
    }

    /// Adds one item to the list that starts at `start` and ends the arena's items of
    /// that kind; returns the list.
    fn push_to<T: Stored>(&mut self, start: u32, x: T) -> List<T> {
        T::store_mut(self).push(x);
        self.tail_from(start)
    }

    /// Adds one item.
    fn add<T: Stored>(&mut self, x: T) -> Idx<T> {
        let store = T::store_mut(self);
        let i = store.len() as u32;
        store.push(x);
        Idx { i, _t: PhantomData }
    }

    /// Adds a list of one item.
    fn add_one<T: Stored>(&mut self, x: T) -> List<T> {
        let Idx { i, .. } = self.add(x);
        List {
            start: i,
            len: 1,
            _t: PhantomData,
        }
    }

    /// An empty arena for `text`, with room for what such a text usually holds (about
    /// three times the items per byte of real charts' templates, so that a file rarely
    /// regrows a vector; [`Arena::shrink`] gives back the rest). A short text gets no room
    /// for kinds it likely lacks (no allocation until one comes); past 1 MiB of text the
    /// vectors grow as needed.
    fn for_text(text: Arc<str>) -> Arena {
        let n = text.len().min(1 << 20);
        Arena {
            nodes: Vec::with_capacity(n / 32),
            branches: Vec::with_capacity(n / 128),
            pipes: Vec::with_capacity(n / 128),
            cmds: Vec::with_capacity(n / 32),
            args: Vec::with_capacity(n / 16),
            funcs: Vec::with_capacity((n / 128).min(64)),
            strs: Vec::with_capacity(n / 24),
            decls: Vec::with_capacity(n / 256),
            numbers: Vec::with_capacity(n / 256),
            calls: Vec::new(),
            escaped: String::new(),
            text,
        }
    }

    /// Gives back the vectors' unused room where it is worth a call to the allocator
    /// (which shrinks a block in place: no copy of the items).
    fn shrink(&mut self) {
        fn fit<T>(v: &mut Vec<T>) {
            let spare = v.capacity() - v.len();
            if spare > 8 && spare > v.len() / 4 {
                v.shrink_to_fit();
            }
        }
        fit(&mut self.nodes);
        fit(&mut self.branches);
        fit(&mut self.pipes);
        fit(&mut self.cmds);
        fit(&mut self.args);
        fit(&mut self.funcs);
        fit(&mut self.strs);
        fit(&mut self.decls);
        fit(&mut self.numbers);
        fit(&mut self.calls);
        self.escaped.shrink_to_fit();
    }

    /// The items in vectors of their exact size, with the text (emptying `self`, which
    /// keeps its capacity for the next parse of a short text).
    fn take_exact(&mut self) -> Arena {
        fn exact<T>(v: &mut Vec<T>) -> Vec<T> {
            let mut out = Vec::with_capacity(v.len());
            out.append(v);
            out
        }
        Arena {
            nodes: exact(&mut self.nodes),
            branches: exact(&mut self.branches),
            pipes: exact(&mut self.pipes),
            cmds: exact(&mut self.cmds),
            args: exact(&mut self.args),
            funcs: exact(&mut self.funcs),
            strs: exact(&mut self.strs),
            decls: exact(&mut self.decls),
            numbers: exact(&mut self.numbers),
            calls: exact(&mut self.calls),
            escaped: {
                let s = self.escaped.as_str().to_owned();
                self.escaped.clear();
                s
            },
            text: std::mem::take(&mut self.text),
        }
    }

    /// Empties the arena (keeping the vectors' capacity); drops it when it grew large.
    fn clear(&mut self) {
        self.nodes.clear();
        self.branches.clear();
        self.pipes.clear();
        self.cmds.clear();
        self.args.clear();
        self.funcs.clear();
        self.strs.clear();
        self.decls.clear();
        self.numbers.clear();
        self.calls.clear();
        self.escaped.clear();
        self.text = Arc::default();
        if self.nodes.capacity() + self.args.capacity() + self.strs.capacity() > 64 * 1024 {
            *self = Arena::default();
        }
    }
}

/// An item of a tree displayed as Go's `String()` of it (see [`Tree::show`]).
pub struct Show<'t, T: ?Sized> {
    arena: &'t Arena,
    item: &'t T,
}

/// A string of a parse tree (a number constant's source text). Short strings (up to 22
/// bytes: every number but odd ones) are held inline, without an allocation or a reference
/// count; longer ones are a string of their own. Dereferences to `str`.
#[derive(Clone)]
pub struct Str(Repr);

/// The longest string [`Str`] holds inline.
const INLINE_MAX: usize = 22;

#[derive(Clone)]
enum Repr {
    /// `buf[..len]` is valid UTF-8 (copied from a `str`).
    Inline { len: u8, buf: [u8; INLINE_MAX] },
    /// A string of its own.
    Owned(Arc<str>),
}

impl Str {
    #[inline]
    fn inline(s: &str) -> Str {
        let mut buf = [0u8; INLINE_MAX];
        buf[..s.len()].copy_from_slice(s.as_bytes());
        Str(Repr::Inline {
            len: s.len() as u8,
            buf,
        })
    }

    /// A string of its own.
    fn owned(s: &str) -> Str {
        if s.len() <= INLINE_MAX {
            return Str::inline(s);
        }
        Str(Repr::Owned(Arc::from(s)))
    }
}

impl std::ops::Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                let b = &buf[..*len as usize];
                // SAFETY: `buf[..len]` was copied whole from a `str` (`Str::inline`), so it
                // is valid UTF-8.
                unsafe { std::str::from_utf8_unchecked(b) }
            }
            Repr::Owned(s) => s,
        }
    }
}

impl From<&str> for Str {
    /// A string of its own (inline when short).
    fn from(s: &str) -> Str {
        Str::owned(s)
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// A node of a template body.
#[derive(Clone, Copy, Debug)]
pub enum Node {
    /// Plain text: a range of the file's text ([`Arena::text`]).
    Text(TextRange),
    /// `{{pipeline}}`.
    Action(Action),
    /// `{{if}}`.
    If(Idx<Branch>),
    /// `{{range}}`.
    Range(Idx<Branch>),
    /// `{{with}}`.
    With(Idx<Branch>),
    /// `{{template "name" pipeline}}` (also what `{{block}}` leaves in place).
    Template(Idx<TemplateCall>),
    /// `{{break}}` at a byte offset.
    Break(usize),
    /// `{{continue}}` at a byte offset.
    Continue(usize),
}

/// A range of a parsed file's text (plain text between actions, identifiers, variable
/// names), read through [`Arena::text`] (the parser makes them: always in range, on
/// character boundaries).
#[derive(Clone, Copy, Debug)]
pub struct TextRange {
    start: u32,
    end: u32,
}

/// The value of a string constant or template name, read through [`Arena::lit`]: a range
/// of the file's text (the text between the quotes, when it has no escapes) or of the
/// arena's buffer of unescaped values.
#[derive(Clone, Copy, Debug)]
pub struct Lit {
    start: u32,
    end: u32,
    escaped: bool,
}

/// `{{pipeline}}`.
#[derive(Clone, Copy, Debug)]
pub struct Action {
    pub pos: usize,
    pub pipe: Pipe,
}

/// `if`, `range` and `with`.
#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List<Node>,
    pub else_list: Option<List<Node>>,
}

/// `{{template "name" pipeline}}`.
#[derive(Debug)]
pub struct TemplateCall {
    pub pos: usize,
    /// The template name ([`Arena::lit`]).
    pub name: Lit,
    pub pipe: Option<Pipe>,
}

/// A pipeline with optional variable declarations.
#[derive(Clone, Copy, Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: List<VarDecl>,
    pub cmds: List<Command>,
}

/// The identifiers of a field chain (`.a.b.c`, `$x.a`), in the arena ([`Arena::text`]).
pub type Idents = List<TextRange>;

/// A declared variable (`$x` in `$x := …`).
#[derive(Debug)]
pub struct VarDecl {
    pub pos: usize,
    /// The name, `$` included ([`Arena::text`]).
    pub name: TextRange,
}

/// One command of a pipeline: operands separated by spaces.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    pub pos: usize,
    pub args: List<Arg>,
}

/// An operand.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    /// `.a.b` (identifiers without the dots).
    Field { pos: usize, idents: Idents },
    /// `(pipe).a.b` or `fn.a`.
    Chain {
        pos: usize,
        node: Idx<Arg>,
        fields: Idents,
    },
    /// A function name, resolved when parsed.
    Ident {
        pos: usize,
        /// The length of the name at `pos` in the file's text ([`Arena::source`]).
        name_len: u32,
        func: Idx<FuncRef>,
    },
    /// A parenthesized pipeline.
    Pipe { pos: usize, pipe: Idx<Pipe> },
    /// `$x.a.b`; `idents[0]` includes the `$`.
    Variable { pos: usize, idents: Idents },
    /// `.`
    Dot(usize),
    /// `nil`
    Nil(usize),
    /// `true`/`false`
    Bool(usize, bool),
    /// A number constant.
    Number { pos: usize, num: Idx<Number> },
    /// A string constant: its value ([`Arena::lit`]), and the length of its source form
    /// (with quotes) at `pos` in the file's text ([`Arena::source`]). `id` is unique in the
    /// process (the executor caches the constant's value under it).
    String {
        pos: usize,
        text: Lit,
        id: u64,
        quoted_len: u32,
    },
}

/// A function resolved at parse time: a registered function or a Go builtin.
#[derive(Clone)]
pub struct FuncRef(pub(crate) Resolved);

#[derive(Clone)]
pub(crate) enum Resolved {
    User(crate::func::Function),
    Builtin(crate::builtins::Builtin),
}

impl fmt::Debug for FuncRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Resolved::User(_) => f.write_str("FuncRef(user)"),
            Resolved::Builtin(b) => write!(f, "FuncRef({b:?})"),
        }
    }
}

/// Resolves function names while parsing: registered functions shadow builtins.
pub(crate) fn resolver(funcs: &crate::func::FuncMap) -> impl Fn(&str) -> Option<FuncRef> + '_ {
    move |n: &str| {
        if let Some(f) = funcs.get(n) {
            return Some(FuncRef(Resolved::User(f.clone())));
        }
        crate::builtins::Builtin::from_name(n).map(|b| FuncRef(Resolved::Builtin(b)))
    }
}

/// A number constant with every interpretation Go computes for it.
#[derive(Debug, Clone)]
pub struct Number {
    pub pos: usize,
    /// The source text (held inline: numbers are short).
    pub text: Str,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
    /// The value as a complex number (real, imaginary), when `is_complex`.
    pub complex: (f64, f64),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Pipe { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::String { pos, .. } => *pos,
            Arg::Number { pos, .. } => *pos,
        }
    }
}

// ---- Go's String() of nodes ----

fn write_list(f: &mut fmt::Formatter<'_>, a: &Arena, list: &[Node]) -> fmt::Result {
    for n in list {
        write_node(f, a, n)?;
    }
    Ok(())
}

fn write_node(f: &mut fmt::Formatter<'_>, a: &Arena, n: &Node) -> fmt::Result {
    match n {
        Node::Text(t) => f.write_str(a.text(*t)),
        Node::Action(x) => {
            f.write_str("{{")?;
            write_pipe(f, a, &x.pipe)?;
            f.write_str("}}")
        }
        Node::If(b) => write_branch(f, a, &a[*b], "if"),
        Node::Range(b) => write_branch(f, a, &a[*b], "range"),
        Node::With(b) => write_branch(f, a, &a[*b], "with"),
        Node::Template(t) => write_template(f, a, &a[*t]),
        Node::Break(_) => f.write_str("{{break}}"),
        Node::Continue(_) => f.write_str("{{continue}}"),
    }
}

fn write_branch(f: &mut fmt::Formatter<'_>, a: &Arena, b: &Branch, kw: &str) -> fmt::Result {
    write!(f, "{{{{{kw} ")?;
    write_pipe(f, a, &b.pipe)?;
    f.write_str("}}")?;
    write_list(f, a, &a[b.list])?;
    if let Some(e) = b.else_list {
        f.write_str("{{else}}")?;
        write_list(f, a, &a[e])?;
    }
    f.write_str("{{end}}")
}

fn write_template(f: &mut fmt::Formatter<'_>, a: &Arena, t: &TemplateCall) -> fmt::Result {
    write!(f, "{{{{template {}", crate::fmt::quote(a.lit(t.name)))?;
    if let Some(p) = &t.pipe {
        f.write_char(' ')?;
        write_pipe(f, a, p)?;
    }
    f.write_str("}}")
}

fn write_pipe(f: &mut fmt::Formatter<'_>, a: &Arena, p: &Pipe) -> fmt::Result {
    if !p.decl.is_empty() {
        for (i, v) in a[p.decl].iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(a.text(v.name))?;
        }
        f.write_str(if p.is_assign { " = " } else { " := " })?;
    }
    for (i, c) in a[p.cmds].iter().enumerate() {
        if i > 0 {
            f.write_str(" | ")?;
        }
        write_command(f, a, c)?;
    }
    Ok(())
}

fn write_command(f: &mut fmt::Formatter<'_>, a: &Arena, c: &Command) -> fmt::Result {
    for (i, x) in a[c.args].iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        if let Arg::Pipe { pipe, .. } = x {
            f.write_char('(')?;
            write_pipe(f, a, &a[*pipe])?;
            f.write_char(')')?;
        } else {
            write_arg(f, a, x)?;
        }
    }
    Ok(())
}

fn write_arg(f: &mut fmt::Formatter<'_>, a: &Arena, x: &Arg) -> fmt::Result {
    match x {
        Arg::Field { idents, .. } => {
            for id in &a[*idents] {
                f.write_char('.')?;
                f.write_str(a.text(*id))?;
            }
            Ok(())
        }
        Arg::Chain { node, fields, .. } => {
            if let Arg::Pipe { pipe, .. } = &a[*node] {
                f.write_char('(')?;
                write_pipe(f, a, &a[*pipe])?;
                f.write_char(')')?;
            } else {
                write_arg(f, a, &a[*node])?;
            }
            for id in &a[*fields] {
                f.write_char('.')?;
                f.write_str(a.text(*id))?;
            }
            Ok(())
        }
        Arg::Ident { pos, name_len, .. } => f.write_str(a.source(*pos, *name_len as usize)),
        Arg::Pipe { pipe, .. } => write_pipe(f, a, &a[*pipe]),
        Arg::Variable { idents, .. } => {
            for (i, id) in a[*idents].iter().enumerate() {
                if i > 0 {
                    f.write_char('.')?;
                }
                f.write_str(a.text(*id))?;
            }
            Ok(())
        }
        Arg::Dot(_) => f.write_char('.'),
        Arg::Nil(_) => f.write_str("nil"),
        Arg::Bool(_, b) => write!(f, "{b}"),
        Arg::Number { num, .. } => f.write_str(&a[*num].text),
        Arg::String {
            pos, quoted_len, ..
        } => f.write_str(a.source(*pos, *quoted_len as usize)),
    }
}

/// `Display` of an arena item through its writer (Go's `String()` of the node).
macro_rules! show_with {
    ($($t:ty => $write:ident),* $(,)?) => {$(
        impl fmt::Display for Show<'_, $t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                $write(f, self.arena, self.item)
            }
        }
    )*};
}

show_with! {
    Node => write_node,
    [Node] => write_list,
    TemplateCall => write_template,
    Pipe => write_pipe,
    Command => write_command,
    Arg => write_arg,
}

// ---- Parser ----

/// What an item of a list was: a node (pushed onto the parser's node stack, where the
/// list collects it, rather than moved through the callers), `{{end}}` or `{{else}}`.
enum Parsed {
    Pushed,
    End,
    Else,
}

impl Parsed {
    fn describe(&self) -> &'static str {
        match self {
            Parsed::End => "{{end}}",
            Parsed::Else => "{{else}}",
            _ => "",
        }
    }
}

/// Parses one file. Returns the file's own tree first, then one tree per `define`/`block`,
/// in the order Go adds them to the template set. The trees and their arena share `text_arc`
/// (no copy of the text).
pub(crate) fn parse(
    name: &str,
    text_arc: Arc<str>,
    resolve: &dyn Fn(&str) -> Option<FuncRef>,
) -> Result<Vec<Tree>, Error> {
    let text: &str = &text_arc;
    if u32::try_from(text.len()).is_err() {
        // Arena positions are `u32` (every item of a tree takes at least one byte).
        return Err(Error::parse(
            name,
            0,
            "template: text of 4 GiB or more".into(),
        ));
    }
    let parse_name: Arc<str> = Arc::from(name);
    let mut bufs = BUFFERS.with(|b| b.take()).unwrap_or_default();
    // A short text is parsed into the thread's work arena and copied out in vectors of
    // exact size (a copy cheaper than allocating room for it and giving back the rest); a
    // longer one into an arena sized for it.
    let short = text.len() < SHORT_TEXT;
    let arena = if short {
        let mut a = std::mem::take(&mut bufs.arena);
        a.text = text_arc.clone();
        a
    } else {
        Arena::for_text(text_arc.clone())
    };
    let mut p = Parser {
        lex: Lexer::new(text),
        token: [DUMMY; 2],
        peek_count: 0,
        vars: vec!["$"],
        vars_base: 0,
        action_pos: None,
        scratch: bufs.scratch,
        node_stack: bufs.node_stack,
        arg_stack: bufs.arg_stack,
        cmd_stack: bufs.cmd_stack,
        arena,
        range_depth: 0,
        stack_depth: 0,
        parse_name: parse_name.clone(),
        resolve,
        funcs: [("", None, 0); FUNC_CACHE],
        trees: Vec::new(),
    };
    let root = p.parse_top();
    let mut pending = std::mem::take(&mut p.trees);
    let r = root.and_then(|root| {
        // The file's own tree is added last in Go (after its defines); the set handles order.
        add_tree(
            &mut pending,
            &p.arena,
            (Arc::from(name), root),
            &p.parse_name,
            || 0,
        )
    });
    let arena = match r {
        Ok(()) if short => Some(Arc::new(p.arena.take_exact())),
        Ok(()) => {
            let mut arena = std::mem::take(&mut p.arena);
            arena.shrink();
            Some(Arc::new(arena))
        }
        Err(_) => None,
    };
    // Keep the buffers (emptied) for the next parse on this thread.
    let mut bufs = Buffers {
        node_stack: std::mem::take(&mut p.node_stack),
        arg_stack: std::mem::take(&mut p.arg_stack),
        cmd_stack: std::mem::take(&mut p.cmd_stack),
        scratch: std::mem::take(&mut p.scratch),
        arena: if short {
            std::mem::take(&mut p.arena)
        } else {
            bufs.arena
        },
    };
    bufs.clear();
    BUFFERS.with(|b| b.set(Some(bufs)));
    r?;
    let Some(arena) = arena else {
        return Ok(Vec::new());
    };
    let mut trees: Vec<Tree> = pending
        .into_iter()
        .map(|(tname, root)| Tree {
            name: tname,
            parse_name: parse_name.clone(),
            text: text_arc.clone(),
            arena: arena.clone(),
            root,
        })
        .collect();
    // Move the main tree first for the caller's convenience.
    if let Some(i) = trees.iter().position(|t| &*t.name == name) {
        let t = trees.remove(i);
        trees.insert(0, t);
    }
    Ok(trees)
}

/// The parser's work stacks, kept per thread between parses (emptied: they hold no parse's
/// nodes, only their capacity), so parsing a file does not regrow them.
#[derive(Default)]
struct Buffers {
    node_stack: Vec<Node>,
    arg_stack: Vec<Arg>,
    cmd_stack: Vec<Command>,
    scratch: Vec<TextRange>,
    /// Where short texts are parsed (see [`SHORT_TEXT`]).
    arena: Arena,
}

/// Texts shorter than this are parsed into the thread's work arena, then copied out.
const SHORT_TEXT: usize = 4096;

impl Buffers {
    /// Empties the stacks; drops them when they grew unusually large (a huge template), so
    /// a thread does not keep that memory.
    fn clear(&mut self) {
        const KEEP: usize = 1024;
        self.node_stack.clear();
        self.arg_stack.clear();
        self.cmd_stack.clear();
        self.scratch.clear();
        self.arena.clear();
        if self.node_stack.capacity() > KEEP {
            self.node_stack = Vec::new();
        }
        if self.arg_stack.capacity() > KEEP {
            self.arg_stack = Vec::new();
        }
        if self.cmd_stack.capacity() > KEEP {
            self.cmd_stack = Vec::new();
        }
        if self.scratch.capacity() > KEEP {
            self.scratch = Vec::new();
        }
    }
}

thread_local! {
    static BUFFERS: std::cell::Cell<Option<Buffers>> = const { std::cell::Cell::new(None) };
}

/// The number of entries of the parser's function-name cache (a power of two).
const FUNC_CACHE: usize = 64;

/// FxHash of the name `input[start..start + len]` (the index into the parser's
/// function-name cache), and the name itself as a number when it is short: a name of up to
/// 8 bytes followed by enough text is read in one load (the bytes after it masked off; a
/// name has no NUL byte, so the number tells it apart from every other), else the number is 0.
#[inline]
fn name_hash(input: &[u8], start: usize, len: usize) -> (usize, u64) {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    if (1..=8).contains(&len)
        && let Some(w) = input.get(start..start + 8)
    {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let v = u64::from_le_bytes(a) & (u64::MAX >> (64 - 8 * len));
        return ((v.wrapping_mul(K) >> 32) as usize, v);
    }
    let name = input.get(start..start + len).unwrap_or_default();
    let mut h: u64 = 0;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = 0u64;
        for (i, &b) in rest.iter().enumerate() {
            w |= (b as u64) << (8 * i);
        }
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    ((h >> 32) as usize, 0)
}

/// A tree being parsed: its name and body (in the parser's arena).
type Pending = (Arc<str>, List<Node>);

/// Go's `Tree.add` (`line` gives the line for the error, computed only then).
fn add_tree(
    trees: &mut Vec<Pending>,
    arena: &Arena,
    t: Pending,
    parse_name: &str,
    line: impl FnOnce() -> usize,
) -> Result<(), Error> {
    if let Some(i) = trees.iter().position(|x| *x.0 == *t.0) {
        if is_empty_list(arena, &arena[trees[i].1]) {
            trees[i] = t;
            return Ok(());
        }
        if !is_empty_list(arena, &arena[t.1]) {
            return Err(Error::parse(
                parse_name,
                line(),
                format!(
                    "template: multiple definition of template {}",
                    crate::fmt::quote(&t.0)
                ),
            ));
        }
        return Ok(());
    }
    trees.push(t);
    Ok(())
}

const DUMMY: Item = Item::EOF0;

struct Parser<'a, 'f> {
    lex: Lexer<'a>,
    token: [Item; 2],
    peek_count: usize,
    /// The variables in scope (their names, `$` included).
    vars: Vec<&'a str>,
    /// Where the variables of the `define`/`block` being parsed start in `vars`.
    vars_base: usize,
    /// The offset of the `{{` of the action being parsed.
    action_pos: Option<usize>,
    /// A buffer for identifiers being collected.
    scratch: Vec<TextRange>,
    /// The nodes of the lists being parsed (innermost last).
    node_stack: Vec<Node>,
    /// The operands of the commands being parsed (innermost last).
    arg_stack: Vec<Arg>,
    /// The commands of the pipelines being parsed (innermost last).
    cmd_stack: Vec<Command>,
    /// The file's items, finished lists and nodes.
    arena: Arena,
    range_depth: usize,
    stack_depth: usize,
    parse_name: Arc<str>,
    resolve: &'f dyn Fn(&str) -> Option<FuncRef>,
    /// Function names resolved in this file (a direct-mapped cache by name hash).
    /// (Name, function, and the name as a number when short: see [`name_hash`].)
    funcs: [(&'a str, Option<Idx<FuncRef>>, u64); FUNC_CACHE],
    trees: Vec<Pending>,
}

type PResult<T> = Result<T, Error>;

/// How a pipeline read by the fast path ended.
enum FastEnd {
    /// At the action's right delimiter `}}` (at `rd`; `trim`: with its marker; `gap`: the
    /// spaces before it).
    Delim { rd: usize, trim: bool, gap: usize },
    /// At a `)`: the offset after it.
    Paren(usize),
}

/// The declarations of a pipeline read by the fast path.
#[derive(Clone, Copy)]
struct FastDecls {
    /// Where the first variable starts (the pipeline's position).
    pos: usize,
    is_assign: bool,
    decl: List<VarDecl>,
}

/// Where the variable at `p` (`$`, `$x`) ends, when the lexer would end it there (see
/// [`word_end`]); `None` when the general path must decide.
#[inline(always)]
fn var_end(b: &[u8], p: usize) -> Option<usize> {
    match b.get(p + 1) {
        Some(&n) if ASCII_WORD[n as usize] => word_end(b, p + 1),
        Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => Some(p + 1),
        Some(b'}') if b.get(p + 2) == Some(&b'}') => Some(p + 1),
        _ => None,
    }
}

/// Whether the fast path is used (tests compare it with the general path).
#[cfg(not(test))]
#[inline(always)]
fn fast_enabled() -> bool {
    true
}

#[cfg(test)]
thread_local! {
    static NO_FAST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn fast_enabled() -> bool {
    !NO_FAST.with(|c| c.get())
}

/// The deepest parentheses the fast path reads (deeper ones: the general path).
const FAST_MAX_DEPTH: u32 = 16;

/// The right delimiter at `p`, after `gap` spaces: the offset of its `}}` and whether it has
/// a trim marker (` -}}`: a space, then `-`, as Go's lexer requires).
#[inline(always)]
fn action_end(b: &[u8], p: usize, gap: usize) -> Option<(usize, bool)> {
    match b.get(p)? {
        b'}' if b.get(p + 1) == Some(&b'}') => Some((p, false)),
        b'-' if gap > 0 && b.get(p + 1) == Some(&b'}') && b.get(p + 2) == Some(&b'}') => {
            Some((p + 1, true))
        }
        _ => None,
    }
}

/// A decimal number of up to 18 digits without a leading zero (or `0`): what
/// `strconv::parse_number` computes for it, without its general parsing.
fn small_decimal(text: &str, pos: usize) -> Option<Number> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 18 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(Number {
        pos,
        text: text.into(),
        is_int: true,
        is_uint: true,
        is_float: true,
        is_complex: false,
        int: v as i64,
        uint: v,
        float: v as f64,
        complex: (0.0, 0.0),
    })
}

fn unquote(s: &str) -> Option<String> {
    crate::strconv::unquote(s)
}

impl<'a> Parser<'a, '_> {
    #[inline]
    fn next(&mut self) -> Item {
        if self.peek_count == 0 {
            let t = self.lex.next_item();
            self.token[0] = t;
            return t;
        }
        self.peek_count -= 1;
        // (`peek_count` is at most 2: the mask only spares the bounds check.)
        self.token[self.peek_count & 1]
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    /// True when the next item is a field right after the last one (no spaces between):
    /// a field of the same chain.
    #[inline]
    /// Pushes the identifiers of the field tokens that follow (`.a.b`) to the arena and
    /// returns the run of identifiers from `start` (the ones pushed before them included).
    fn field_run(&mut self, start: u32) -> List<TextRange> {
        while self.peek_field() {
            let t = self.next();
            let id = self.src(t.pos() + 1, t.end());
            self.arena.strs.push(id);
        }
        self.arena.tail_from(start)
    }

    fn peek_field(&mut self) -> bool {
        let t = self.peek();
        t.typ == ItemType::Field && !t.space
    }

    #[inline]
    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[(self.peek_count - 1) & 1];
        }
        self.peek_count = 1;
        let t = self.lex.next_item();
        self.token[0] = t;
        t
    }

    /// Starts the variable scope of a `define` or `block` (only `$`); returns what
    /// [`Parser::leave_definition`] restores.
    fn enter_definition(&mut self) -> (usize, usize) {
        let saved = (self.vars_base, self.vars.len());
        self.vars_base = self.vars.len();
        self.vars.push("$");
        saved
    }

    fn leave_definition(&mut self, (base, len): (usize, usize)) {
        self.vars.truncate(len);
        self.vars_base = base;
    }

    /// The function a name calls, through the file's cache of resolved names.
    #[inline]
    fn resolve_func(&mut self, token: Item) -> Option<Idx<FuncRef>> {
        let name = self.val(token);
        let (h, key) = name_hash(self.lex_input().as_bytes(), token.pos(), name.len());
        let slot = &mut self.funcs[h & (FUNC_CACHE - 1)];
        // (A short name is compared as its number, without a call to `memcmp`.)
        let hit = if key != 0 {
            slot.2 == key
        } else {
            slot.0 == name
        };
        if hit && slot.1.is_some() {
            return slot.1;
        }
        let f = self.arena.add((self.resolve)(name)?);
        *slot = (name, Some(f), key);
        Some(f)
    }

    /// The line of a byte offset.
    fn line(&self, pos: usize) -> usize {
        line_of(self.lex.input(), pos)
    }

    /// A range of the source text (offsets fit in `u32`: see [`parse`]).
    #[inline]
    fn src(&self, start: usize, end: usize) -> TextRange {
        TextRange {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The value of a quoted string item (`"…"` or `` `…` ``): the range between the
    /// quotes when it has nothing to unescape, else its unescaped value in the arena.
    /// `None` when the item is not a valid Go string literal.
    #[inline]
    fn lit(&mut self, token: Item) -> Option<Lit> {
        // No escapes (Go's `strconv.Unquote` returns the text between the quotes). (The
        // lexer ended the constant at its first unescaped quote and refused newlines, and
        // noted whether it saw a backslash: without one there is neither inside.)
        if token.typ == ItemType::String && !token.escapes && token.end() - token.pos() >= 2 {
            return Some(Lit {
                start: token.pos() as u32 + 1,
                end: token.end() as u32 - 1,
                escaped: false,
            });
        }
        self.lit_general(token)
    }

    /// [`Parser::lit`] of a raw string or a string with escapes.
    #[inline(never)]
    fn lit_general(&mut self, token: Item) -> Option<Lit> {
        let val = self.val(token);
        let inner = val.get(1..val.len().saturating_sub(1));
        let plain = match (token.typ, inner) {
            (ItemType::String, Some(_)) => !token.escapes,
            (_, Some(i)) => memchr::memchr2(b'`', b'\r', i.as_bytes()).is_none(),
            (_, None) => false,
        };
        if plain && val.len() >= 2 {
            return Some(Lit {
                start: token.pos() as u32 + 1,
                end: token.end() as u32 - 1,
                escaped: false,
            });
        }
        let s = unquote(val)?;
        let start = self.arena.escaped.len();
        self.arena.escaped.push_str(&s);
        let end = self.arena.escaped.len();
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Some(Lit {
                start,
                end,
                escaped: true,
            }),
            _ => None,
        }
    }

    /// Where the spaces before `t` (an item with `space` set) start: where Go's space item
    /// would be. A right delimiter with its trim marker (` -}}`) starts after the marker.
    fn space_start(&self, t: &Item) -> usize {
        let b = self.lex_input().as_bytes();
        let mut p = t.pos().min(b.len());
        if t.typ == ItemType::RightDelim && p > 0 && b[p - 1] == b'-' {
            p -= 1;
        }
        while p > 0 && matches!(b[p - 1], b' ' | b'\t' | b'\r' | b'\n') {
            p -= 1;
        }
        p
    }

    fn lex_input(&self) -> &'a str {
        self.lex.input()
    }

    /// The text of an item.
    #[inline]
    fn val(&self, t: Item) -> &'a str {
        t.val(self.lex.input())
    }

    fn errorf(&self, msg: String) -> Error {
        Error::parse(&self.parse_name, self.line(self.token[0].pos()), msg)
    }

    fn unexpected(&self, token: &Item, context: &str) -> Error {
        let err = self.lex.error_message();
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if let Some(apos) = self.action_pos {
                let (action_line, line) = (self.line(apos), self.line(token.pos()));
                if action_line != line {
                    extra = format!(" in action started at {}:{}", self.parse_name, action_line);
                    if err.ends_with(" action") {
                        extra = extra[" in action".len()..].to_string();
                    }
                }
            }
            return self.errorf(format!(
                "{}{}",
                describe(token, self.lex.input(), err),
                extra
            ));
        }
        self.errorf(format!(
            "unexpected {} in {}",
            describe(token, self.lex.input(), err),
            context
        ))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item> {
        let t = self.next();
        if t.typ != expected {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn parse_top(&mut self) -> PResult<List<Node>> {
        let base = self.node_stack.len();
        loop {
            // The text before an action and its left delimiter, read by the fast path or
            // as items.
            let delim = match self.fast_text() {
                Some(d) => Some(d),
                None if self.peek().typ == ItemType::Eof => break,
                None if self.peek().typ == ItemType::LeftDelim => Some(self.next()),
                None => None,
            };
            if let Some(delim) = delim {
                if self.fast_ok() && !self.starts_define() {
                    // Not a definition: the action, as `text_or_action` parses it (without
                    // reading its first item ahead, so the fast path can take it).
                    self.action_pos = Some(delim.pos());
                    let r = self.action();
                    self.action_pos = None;
                    match r? {
                        Parsed::Pushed => continue,
                        e @ (Parsed::End | Parsed::Else) => {
                            return Err(self.errorf(format!("unexpected {}", e.describe())));
                        }
                    }
                }
                if self.next().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Parsed::Pushed => {}
                e @ (Parsed::End | Parsed::Else) => {
                    return Err(self.errorf(format!("unexpected {}", e.describe())));
                }
            }
        }
        Ok(self.arena.take_from(&mut self.node_stack, base))
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let saved_vars = self.enter_definition();
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let name_tok = self.next();
        if name_tok.typ != ItemType::String && name_tok.typ != ItemType::RawString {
            return Err(self.unexpected(&name_tok, CONTEXT));
        }
        let Some(name) = self.lit(name_tok) else {
            return Err(self.errorf("invalid syntax".into()));
        };
        let name: Arc<str> = Arc::from(self.arena.lit(name));
        self.expect(ItemType::RightDelim, CONTEXT)?;
        let (list, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), CONTEXT)));
        }
        let pos = self.token[0].pos();
        let input = self.lex.input();
        add_tree(
            &mut self.trees,
            &self.arena,
            (name, list),
            &self.parse_name,
            || line_of(input, pos),
        )?;
        self.leave_definition(saved_vars);
        self.range_depth = saved_range;
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(List<Node>, Parsed)> {
        // Nodes are collected on a stack shared by the nested lists, then moved to the
        // arena (where the nodes of a list follow each other).
        let base = self.node_stack.len();
        // Nested lists recurse through here: one stack check per list (not per item).
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.item_list_onto_stack());
        let list = self.arena.take_from(&mut self.node_stack, base);
        r.map(|end| (list, end))
    }

    fn item_list_onto_stack(&mut self) -> PResult<Parsed> {
        loop {
            if let Some(delim) = self.fast_text() {
                // As `text_or_action` does for a left delimiter.
                self.action_pos = Some(delim.pos());
                let r = self.action();
                self.action_pos = None;
                match r? {
                    Parsed::Pushed => continue,
                    n => return Ok(n),
                }
            }
            if self.peek().typ == ItemType::Eof {
                break;
            }
            let n = self.text_or_action()?;
            if !matches!(n, Parsed::Pushed) {
                return Ok(n);
            }
        }
        Err(self.errorf("unexpected EOF".into()))
    }

    /// Adds a node to the list being parsed.
    #[inline]
    fn push(&mut self, n: Node) -> Parsed {
        self.node_stack.push(n);
        Parsed::Pushed
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next();
        match token.typ {
            ItemType::Text => Ok(self.push(Node::Text(TextRange {
                start: token.pos() as u32,
                end: token.end() as u32,
            }))),
            ItemType::LeftDelim => {
                self.action_pos = Some(token.pos());
                let r = self.action();
                self.action_pos = None;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        if self.peek_count == 0
            && self.fast_ok()
            && let Some(r) = self.fast_action()
        {
            return r;
        }
        let token = self.next();
        match token.typ {
            ItemType::Block => return self.block_control().map(|n| self.push(n)),
            ItemType::Break => {
                return self
                    .break_control(token.pos(), "{{break}}")
                    .map(|n| self.push(n));
            }
            ItemType::Continue => {
                let n = self.break_control(token.pos(), "{{continue}}")?;
                return Ok(self.push(n));
            }
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                let t = self.expect(ItemType::RightDelim, "end")?;
                let _ = t;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.control("if").map(|n| self.push(n)),
            ItemType::Range => return self.control("range").map(|n| self.push(n)),
            ItemType::Template => return self.template_control().map(|n| self.push(n)),
            ItemType::With => return self.control("with").map(|n| self.push(n)),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(self.push(Node::Action(Action {
            pos: token.pos(),
            pipe,
        })))
    }

    // ---- The fast path ----
    //
    // The common actions (`{{ .Values.x }}`, `{{- include "x" (dict "a" .b) | nindent 4 }}`,
    // `{{ end }}`, `{{- if .x }}`) are read straight from the text, without the lexer's
    // items: the same nodes, pushed to the arena in the same order, as the general path
    // (`pipeline`, `command`, `operand`, `term`) makes from the lexer's items. Anything else
    // (declarations, keywords but `end`, `else`, `if`, `range` and `with` first, escapes,
    // raw strings, numbers but small decimals, non-ASCII, chains after a term, and every
    // error) gives up: what the fast path added is taken back and the general path parses
    // the action from where it started.

    /// True when the fast path may read the text (the lexer is inside an action).
    #[inline]
    fn fast_ok(&self) -> bool {
        fast_enabled() && self.lex.inside_action()
    }

    /// The fast path of the text before an action (nothing read ahead, the lexer in text):
    /// pushes the text node (when the text is not empty) and returns the action's left
    /// delimiter, read (the lexer inside the action); `None` (and nothing read) at the end of
    /// the input and before a comment.
    #[inline]
    fn fast_text(&mut self) -> Option<Item> {
        if self.peek_count != 0 || !fast_enabled() {
            return None;
        }
        let (start, end, delim) = self.lex.text_to_action()?;
        if end > start {
            self.node_stack.push(Node::Text(TextRange {
                start: start as u32,
                end: end as u32,
            }));
        }
        let d = Item::new(ItemType::LeftDelim, delim, delim + 2);
        self.token[0] = d;
        Some(d)
    }

    /// True when the action's first item (the lexer is after its left delimiter) may be
    /// `define`.
    fn starts_define(&self) -> bool {
        let b = self.lex_input().as_bytes();
        let p = skip_spaces(b, self.lex.pos());
        b.get(p..).is_some_and(|r| r.starts_with(b"define"))
    }

    /// The fast path of [`Parser::action`] (the lexer is inside the action, nothing is
    /// read ahead); `None` when the general path must parse it.
    fn fast_action(&mut self) -> Option<PResult<Parsed>> {
        let b = self.lex_input().as_bytes();
        let start = self.lex.pos();
        let p = skip_spaces(b, start);
        if b.get(p).is_some_and(u8::is_ascii_lowercase) {
            let e = word_end(b, p)?;
            let typ = word_type(&b[p..e]);
            match typ {
                ItemType::End | ItemType::Else => {
                    let q = skip_spaces(b, e);
                    if typ == ItemType::Else && b.get(q).is_some_and(u8::is_ascii_lowercase) {
                        // `else if`, `else with`: the keyword after `else` is read ahead, as
                        // `else_control` does.
                        let e2 = word_end(b, q)?;
                        let t2 = word_type(&b[q..e2]);
                        if t2 != ItemType::If && t2 != ItemType::With {
                            return None;
                        }
                        let mut t = Item::new(t2, q, e2);
                        t.space = q > e;
                        self.lex.skip_to(e2);
                        self.token[0] = t;
                        self.peek_count = 1;
                        return Some(Ok(Parsed::Else));
                    }
                    let (rd, trim) = action_end(b, q, q - e)?;
                    self.close_action(rd, trim, q - e);
                    return Some(Ok(if typ == ItemType::End {
                        Parsed::End
                    } else {
                        Parsed::Else
                    }));
                }
                ItemType::If | ItemType::Range | ItemType::With => {
                    let mut t = Item::new(typ, p, e);
                    t.space = p > start;
                    self.lex.skip_to(e);
                    self.token[0] = t;
                    let context = match typ {
                        ItemType::If => "if",
                        ItemType::Range => "range",
                        _ => "with",
                    };
                    return Some(self.control(context).map(|n| self.push(n)));
                }
                ItemType::Identifier | ItemType::Bool => {}
                _ => return None,
            }
        }
        let pipe = self.fast_top_pipe("command")?;
        Some(Ok(self.push(Node::Action(Action {
            pos: pipe.pos,
            pipe,
        }))))
    }

    /// The fast path of [`Parser::pipeline`] for a pipeline that ends the action (the
    /// lexer is inside it, nothing is read ahead): the pipeline, with the lexer after the
    /// right delimiter and it as the last item read; `None` (and nothing changed) when the
    /// general path must parse it.
    fn fast_top_pipe(&mut self, context: &str) -> Option<Pipe> {
        let marks = (
            self.arg_stack.len(),
            self.cmd_stack.len(),
            self.arena.args.len(),
            self.arena.cmds.len(),
            self.arena.pipes.len(),
            self.arena.strs.len(),
            self.arena.numbers.len(),
            self.arena.decls.len(),
            self.arena.escaped.len(),
            self.vars.len(),
        );
        // (Functions resolved on the way stay in the arena: the name cache refers to them.)
        let start = self.lex.pos();
        let r = self
            .fast_decls(start, context)
            .and_then(|(decl, p)| self.fast_pipe(p, 0, decl));
        match r {
            Some((pipe, FastEnd::Delim { rd, trim, gap })) => {
                self.close_action(rd, trim, gap);
                Some(pipe)
            }
            _ => {
                self.arg_stack.truncate(marks.0);
                self.cmd_stack.truncate(marks.1);
                self.arena.args.truncate(marks.2);
                self.arena.cmds.truncate(marks.3);
                self.arena.pipes.truncate(marks.4);
                self.arena.strs.truncate(marks.5);
                self.arena.numbers.truncate(marks.6);
                self.arena.decls.truncate(marks.7);
                self.arena.escaped.truncate(marks.8);
                self.vars.truncate(marks.9);
                None
            }
        }
    }

    /// Ends the action at the right delimiter `rd` (`trim`: with its trim marker; `gap`:
    /// the spaces before it, the marker's included), as reading the delimiter item does.
    fn close_action(&mut self, rd: usize, trim: bool, gap: usize) {
        self.lex.close_action(rd, trim);
        let mut t = Item::new(ItemType::RightDelim, rd, rd + 2);
        // (Go's space item before ` -}}` leaves out the marker's space.)
        t.space = gap > usize::from(trim);
        self.token[0] = t;
        self.peek_count = 0;
    }

    /// A pipeline from `p`: at `depth` 0 one that ends the action, deeper one in
    /// parentheses (its `(` read). Returns it and how it ended.
    fn fast_pipe(
        &mut self,
        start: usize,
        depth: u32,
        decls: Option<FastDecls>,
    ) -> Option<(Pipe, FastEnd)> {
        let b = self.lex_input().as_bytes();
        let mut p = skip_spaces(b, start);
        let mut gap = p - start;
        let pos = decls.map_or(p, |d| d.pos);
        // Commands and operands go straight to the arena (where the general path's
        // `take_from` puts them), until a parenthesized pipeline adds its own there: from
        // then on those of this pipeline and command are collected on the work stacks.
        let base = self.cmd_stack.len();
        let cmd_start = self.arena.cmds.len();
        let mut cmds_direct = true;
        let mut ncmds = 0;
        let end = loop {
            if depth == 0 {
                if let Some((rd, trim)) = action_end(b, p, gap) {
                    break FastEnd::Delim { rd, trim, gap };
                }
            } else if b.get(p) == Some(&b')') {
                break FastEnd::Paren(p + 1);
            }
            // A command: operands separated by spaces, up to a pipe or the end.
            let cmd_pos = p;
            let arg_base = self.arg_stack.len();
            let arg_start = self.arena.args.len();
            let mut args_direct = true;
            loop {
                if b.get(p) == Some(&b'(') {
                    if args_direct {
                        self.arg_stack
                            .extend_from_slice(&self.arena.args[arg_start..]);
                        self.arena.args.truncate(arg_start);
                        args_direct = false;
                    }
                    if cmds_direct {
                        self.cmd_stack
                            .extend_from_slice(&self.arena.cmds[cmd_start..]);
                        self.arena.cmds.truncate(cmd_start);
                        cmds_direct = false;
                    }
                }
                let after = self.fast_operand(b, p, depth, args_direct)?;
                p = skip_spaces(b, after);
                gap = p - after;
                let at_end = if depth == 0 {
                    action_end(b, p, gap).is_some()
                } else {
                    b.get(p) == Some(&b')')
                };
                if at_end {
                    break;
                }
                if b.get(p) == Some(&b'|') {
                    let q = p + 1;
                    p = skip_spaces(b, q);
                    gap = p - q;
                    break;
                }
                if gap == 0 {
                    return None;
                }
            }
            let args = self
                .arena
                .finish(args_direct, arg_start, &mut self.arg_stack, arg_base);
            // Go's "non executable command in pipeline stage N".
            if ncmds > 0
                && matches!(
                    self.arena[args][0],
                    Arg::Bool(..)
                        | Arg::Dot(_)
                        | Arg::Nil(_)
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            {
                return None;
            }
            let c = Command { pos: cmd_pos, args };
            if cmds_direct {
                self.arena.cmds.push(c);
            } else {
                self.cmd_stack.push(c);
            }
            ncmds += 1;
        };
        if ncmds == 0 {
            return None;
        }
        let cmds = self
            .arena
            .finish(cmds_direct, cmd_start, &mut self.cmd_stack, base);
        Some((
            Pipe {
                pos,
                is_assign: decls.is_some_and(|d| d.is_assign),
                decl: decls.map_or(List::EMPTY, |d| d.decl),
                cmds,
            },
            end,
        ))
    }

    /// The declarations that start a pipeline at `start` (`$x :=`, `$x =`, and for
    /// `range` `$i, $x :=`), added to the arena and the variables in scope; returns them
    /// (`None` when there are none) and where the pipeline's commands start. `None` when
    /// the general path must parse the pipeline.
    fn fast_decls(&mut self, start: usize, context: &str) -> Option<(Option<FastDecls>, usize)> {
        let b = self.lex_input().as_bytes();
        let p = skip_spaces(b, start);
        if b.get(p) != Some(&b'$') {
            return Some((None, start));
        }
        let e = var_end(b, p)?;
        let q = skip_spaces(b, e);
        let decl_start = self.arena.decls.len() as u32;
        let (is_assign, after) = match b.get(q) {
            Some(b':') if b.get(q + 1) == Some(&b'=') => (false, q + 2),
            Some(b'=') => (true, q + 1),
            Some(b',') if context == "range" => {
                // `$i, $x :=` (a second variable, then `:=` or `=`).
                self.fast_decl(p, e);
                let p2 = skip_spaces(b, q + 1);
                if b.get(p2) != Some(&b'$') {
                    return None;
                }
                let e2 = var_end(b, p2)?;
                let q2 = skip_spaces(b, e2);
                let (is_assign, after) = match b.get(q2) {
                    Some(b':') if b.get(q2 + 1) == Some(&b'=') => (false, q2 + 2),
                    Some(b'=') => (true, q2 + 1),
                    _ => return None,
                };
                self.fast_decl(p2, e2);
                return Some((
                    Some(FastDecls {
                        pos: p,
                        is_assign,
                        decl: self.decls_from(decl_start),
                    }),
                    after,
                ));
            }
            Some(b',' | b':') => return None,
            // An operand.
            _ => return Some((None, start)),
        };
        self.fast_decl(p, e);
        Some((
            Some(FastDecls {
                pos: p,
                is_assign,
                decl: self.decls_from(decl_start),
            }),
            after,
        ))
    }

    /// Declares the variable `input[p..e]` (a declaration of the pipeline being read).
    fn fast_decl(&mut self, p: usize, e: usize) {
        let name = self.src(p, e);
        self.arena.decls.push(VarDecl { pos: p, name });
        let v = &self.lex_input()[p..e];
        self.vars.push(v);
    }

    /// The declarations pushed to the arena from `start`.
    fn decls_from(&self, start: u32) -> List<VarDecl> {
        List {
            start,
            len: self.arena.decls.len() as u32 - start,
            _t: PhantomData,
        }
    }

    /// An operand at `p` (a field, variable, function, string, small decimal, boolean or
    /// parenthesized pipeline, with the fields after it), added to the command being read
    /// ([`Parser::fast_push`]); returns where it ends.
    #[inline]
    fn fast_operand(&mut self, b: &'a [u8], p: usize, depth: u32, direct: bool) -> Option<usize> {
        let c = *b.get(p)?;
        let (arg, after) = match c {
            b'.' => {
                let n = *b.get(p + 1)?;
                if n.is_ascii_alphabetic() || n == b'_' {
                    let e = word_end(b, p + 1)?;
                    let start = self.arena.strs.len() as u32;
                    let id = self.src(p + 1, e);
                    self.arena.strs.push(id);
                    let (pos, e) = self.fast_fields(b, p, e)?;
                    let idents = self.fields_from(start);
                    self.fast_push(Arg::Field { pos, idents }, direct);
                    return Some(e);
                }
                if n.is_ascii_digit() || n >= 0x80 {
                    return None;
                }
                (Arg::Dot(p), p + 1)
            }
            b'$' => {
                let e = var_end(b, p)?;
                let name = self.lex_input().get(p..e)?;
                if !self.vars[self.vars_base..].contains(&name) {
                    return None;
                }
                let start = self.arena.strs.len() as u32;
                let id = self.src(p, e);
                self.arena.strs.push(id);
                let (pos, e) = self.fast_fields(b, p, e)?;
                let idents = self.fields_from(start);
                self.fast_push(Arg::Variable { pos, idents }, direct);
                return Some(e);
            }
            b'"' => {
                // (As the lexer reads it: to the first unescaped quote, without newlines.)
                let mut q = p + 1;
                let mut escapes = false;
                loop {
                    q += memchr::memchr3(b'"', b'\\', b'\n', b.get(q..)?)?;
                    match b[q] {
                        b'"' => break,
                        b'\\' if !matches!(b.get(q + 1), None | Some(b'\n')) => {
                            escapes = true;
                            q += 2;
                        }
                        _ => return None,
                    }
                }
                let text = if escapes {
                    let mut t = Item::new(ItemType::String, p, q + 1);
                    t.escapes = true;
                    self.lit_general(t)?
                } else {
                    Lit {
                        start: p as u32 + 1,
                        end: q as u32,
                        escaped: false,
                    }
                };
                (
                    Arg::String {
                        pos: p,
                        text,
                        id: next_string_id(),
                        quoted_len: (q + 1 - p) as u32,
                    },
                    q + 1,
                )
            }
            b'(' => {
                if depth >= FAST_MAX_DEPTH {
                    return None;
                }
                let (pipe, end) = self.fast_pipe(p + 1, depth + 1, None)?;
                let FastEnd::Paren(after) = end else {
                    return None;
                };
                let arg = Arg::Pipe {
                    pos: pipe.pos,
                    pipe: self.arena.add(pipe),
                };
                if b.get(after) == Some(&b'.') {
                    // A chain: `(pipeline).a.b`.
                    let start = self.arena.strs.len() as u32;
                    let (pos, e) = self.fast_fields(b, after, after)?;
                    let fields = self.fields_from(start);
                    let node = self.arena.add(arg);
                    self.fast_push(Arg::Chain { pos, node, fields }, direct);
                    return Some(e);
                }
                (arg, after)
            }
            b'`' => {
                let k = memchr::memchr(b'`', b.get(p + 1..)?)?;
                let q = p + 1 + k;
                let text = self.lit_general(Item::new(ItemType::RawString, p, q + 1))?;
                (
                    Arg::String {
                        pos: p,
                        text,
                        id: next_string_id(),
                        quoted_len: (q + 1 - p) as u32,
                    },
                    q + 1,
                )
            }
            b'0'..=b'9' => {
                let mut e = p + 1;
                while b.get(e).is_some_and(u8::is_ascii_digit) {
                    e += 1;
                }
                match b.get(e) {
                    Some(b' ' | b'\t' | b'\r' | b'\n' | b'|' | b')' | b'}') => {}
                    _ => return None,
                }
                let n = small_decimal(self.lex_input().get(p..e)?, p)?;
                (
                    Arg::Number {
                        pos: p,
                        num: self.arena.add(n),
                    },
                    e,
                )
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let e = word_end(b, p)?;
                match word_type(&b[p..e]) {
                    ItemType::Identifier => {
                        let func = self.resolve_func(Item::new(ItemType::Identifier, p, e))?;
                        (
                            Arg::Ident {
                                pos: p,
                                name_len: (e - p) as u32,
                                func,
                            },
                            e,
                        )
                    }
                    ItemType::Bool => (Arg::Bool(p, b[p] == b't'), e),
                    ItemType::Nil => (Arg::Nil(p), e),
                    _ => return None,
                }
            }
            _ => return None,
        };
        // A field after a term is a chain (or Go's "unexpected . after term"): the general
        // path's.
        if b.get(after) == Some(&b'.') {
            return None;
        }
        self.fast_push(arg, direct);
        Some(after)
    }

    /// Adds an operand of the command being read: to the arena (`direct`) or the stack.
    #[inline(always)]
    fn fast_push(&mut self, arg: Arg, direct: bool) {
        if direct {
            self.arena.args.push(arg);
        } else {
            self.arg_stack.push(arg);
        }
    }

    /// The fields that follow a field or variable (`.b.c` after `.a`) ending at `e`, whose
    /// identifiers are pushed to the arena; returns the operand's position (Go's: its
    /// second field's when there is one) and where the fields end.
    #[inline]
    fn fast_fields(&mut self, b: &[u8], first: usize, mut e: usize) -> Option<(usize, usize)> {
        let mut pos = first;
        if b.get(e) == Some(&b'.') {
            pos = e;
            loop {
                let n = *b.get(e + 1)?;
                if !(n.is_ascii_alphabetic() || n == b'_') {
                    return None;
                }
                let e2 = word_end(b, e + 1)?;
                let id = self.src(e + 1, e2);
                self.arena.strs.push(id);
                e = e2;
                if b.get(e) != Some(&b'.') {
                    break;
                }
            }
        }
        Some((pos, e))
    }

    /// The identifiers pushed to the arena from `start`.
    #[inline]
    fn fields_from(&self, start: u32) -> List<TextRange> {
        List {
            start,
            len: self.arena.strs.len() as u32 - start,
            _t: PhantomData,
        }
    }

    fn break_control(&mut self, pos: usize, what: &str) -> PResult<Node> {
        let token = self.next();
        if token.typ != ItemType::RightDelim {
            return Err(self.unexpected(&token, what));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{what} outside {{{{range}}}}")));
        }
        Ok(if what == "{{break}}" {
            Node::Break(pos)
        } else {
            Node::Continue(pos)
        })
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Parsed::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn control(&mut self, context: &'static str) -> PResult<Node> {
        let nvars = self.vars.len();
        let r = self.parse_control(context);
        self.vars.truncate(nvars);
        let b = self.arena.add(r?);
        Ok(match context {
            "if" => Node::If(b),
            "range" => Node::Range(b),
            _ => Node::With(b),
        })
    }

    fn parse_control(&mut self, context: &'static str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else => {
                if context == "if" && self.peek().typ == ItemType::If {
                    self.next();
                    let n = self.control("if")?;
                    else_list = Some(self.arena.add_one(n));
                } else if context == "with" && self.peek().typ == ItemType::With {
                    self.next();
                    let n = self.control("with")?;
                    else_list = Some(self.arena.add_one(n));
                } else {
                    let (el, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return Err(self.errorf(format!("expected end; found {}", next.describe())));
                    }
                    else_list = Some(el);
                }
            }
            _ => {}
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn parse_template_name(&mut self, token: &Item, context: &str) -> PResult<Lit> {
        match token.typ {
            ItemType::String | ItemType::RawString => match self.lit(*token) {
                Some(l) => Ok(l),
                None => Err(self.errorf("invalid syntax".into())),
            },
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next();
        let name = self.parse_template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        let saved_vars = self.enter_definition();
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), CONTEXT)));
        }
        self.leave_definition(saved_vars);
        self.range_depth = saved_range;
        let pos = self.token[0].pos();
        let input = self.lex.input();
        add_tree(
            &mut self.trees,
            &self.arena,
            (Arc::from(self.arena.lit(name)), list),
            &self.parse_name,
            || line_of(input, pos),
        )?;
        Ok(Node::Template(self.arena.add(TemplateCall {
            pos: token.pos(),
            name,
            pipe: Some(pipe),
        })))
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next();
        let name = self.parse_template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, ItemType::RightDelim)?);
        }
        Ok(Node::Template(self.arena.add(TemplateCall {
            pos: token.pos(),
            name,
            pipe,
        })))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        if end == ItemType::RightDelim
            && self.peek_count == 0
            && self.fast_ok()
            && let Some(pipe) = self.fast_top_pipe(context)
        {
            return Ok(pipe);
        }
        let token = self.peek();
        let mut pipe = Pipe {
            pos: token.pos(),
            is_assign: false,
            decl: List::EMPTY,
            cmds: List::EMPTY,
        };
        // Declarations go straight to the arena (nothing else is added there meanwhile).
        let decl_start = self.arena.decls.len() as u32;
        'decls: loop {
            let v = self.peek();
            if v.typ == ItemType::Variable {
                self.next();
                let next = self.peek();
                if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next();
                    let name = self.src(v.pos(), v.end());
                    pipe.decl = self
                        .arena
                        .push_to(decl_start, VarDecl { pos: v.pos(), name });
                    self.vars.push(self.val(v));
                } else if next.typ == ItemType::Char && self.val(next) == "," {
                    self.next();
                    let name = self.src(v.pos(), v.end());
                    pipe.decl = self
                        .arena
                        .push_to(decl_start, VarDecl { pos: v.pos(), name });
                    self.vars.push(self.val(v));
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => {
                                return Err(
                                    self.errorf("range can only initialize variables".into())
                                );
                            }
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                } else {
                    // (The spaces after `v`, Go's separate item, travel with `next`.)
                    self.backup2(v);
                }
            }
            break;
        }
        // Commands are collected on a stack shared by nested pipelines.
        let base = self.cmd_stack.len();
        loop {
            let token = self.next();
            if token.typ == end {
                pipe.cmds = self.arena.take_from(&mut self.cmd_stack, base);
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match token.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    let c = self.command(token)?;
                    self.cmd_stack.push(c);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in self.arena[pipe.cmds].iter().enumerate().skip(1) {
            if matches!(
                self.arena[c.args][0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number { .. } | Arg::String { .. }
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    /// A command starting with `first` (already read).
    fn command(&mut self, first: Item) -> PResult<Command> {
        let pos = first.pos();
        let base = self.arg_stack.len();
        if let Err(e) = self.command_onto_stack(first) {
            self.arg_stack.truncate(base);
            return Err(e);
        }
        if self.arg_stack.len() == base {
            return Err(self.errorf("empty command".into()));
        }
        let args = self.arena.take_from(&mut self.arg_stack, base);
        Ok(Command { pos, args })
    }

    /// The operands of a command, pushed onto `arg_stack`; `first` is its first token.
    fn command_onto_stack(&mut self, first: Item) -> PResult<()> {
        let mut t = first;
        loop {
            let pushed = self.operand(t)?;
            let token = self.next();
            match token.typ {
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                // After spaces (Go's space item: `continue`), the next operand; a token
                // that starts none is read again below, then unexpected.
                _ if token.space && pushed => {
                    t = token;
                    continue;
                }
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        Ok(())
    }

    /// An operand starting with `token` (already read), pushed onto `arg_stack` (true);
    /// when `token` does not start one, it is backed up and nothing is pushed (false).
    fn operand(&mut self, token: Item) -> PResult<bool> {
        if matches!(token.typ, ItemType::Field | ItemType::Variable) {
            let a = self.path(token)?;
            self.arg_stack.push(a);
            return Ok(true);
        }
        let Some(node) = self.term(token)? else {
            return Ok(false);
        };
        if self.peek_field() {
            let chain_pos = self.peek().pos();
            // The identifiers go straight to the arena (nothing else is added there
            // meanwhile).
            let start = self.arena.strs.len() as u32;
            match &node {
                Arg::Field { idents: first, .. } | Arg::Variable { idents: first, .. } => {
                    let from = first.start as usize;
                    self.arena
                        .strs
                        .extend_from_within(from..from + first.len as usize);
                }
                _ => {}
            }
            let fields = self.field_run(start);
            let arg = match node {
                Arg::Field { .. } => Arg::Field {
                    pos: chain_pos,
                    idents: fields,
                },
                Arg::Variable { .. } => Arg::Variable {
                    pos: chain_pos,
                    idents: fields,
                },
                Arg::Bool(..)
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil(_)
                | Arg::Dot(_) => {
                    // Go reports the line of the item it lexed last: the spaces after the
                    // chain when there are some (its lexer has not gone past them yet).
                    let after = self.peek();
                    let pos = if after.space {
                        self.space_start(&after)
                    } else {
                        self.token[0].pos()
                    };
                    return Err(Error::parse(
                        &self.parse_name,
                        self.line(pos),
                        format!(
                            "unexpected . after term {}",
                            crate::fmt::quote(&self.arena.show(&node).to_string())
                        ),
                    ));
                }
                other => Arg::Chain {
                    pos: chain_pos,
                    node: self.arena.add(other),
                    fields,
                },
            };
            self.arg_stack.push(arg);
            return Ok(true);
        }
        self.arg_stack.push(node);
        Ok(true)
    }

    /// A field or variable operand with the fields after it (`.a.b`, `$x.a`): `term` and
    /// `operand` for those, building the identifiers in one allocation.
    fn path(&mut self, token: Item) -> PResult<Arg> {
        // The identifiers go straight to the arena (nothing else is added there meanwhile).
        let start = self.arena.strs.len() as u32;
        let is_var = token.typ == ItemType::Variable;
        if is_var {
            let val = self.val(token);
            // (The lexer ends a variable at a dot: the fields after it are items of their own.)
            let first = match val.as_bytes().iter().position(|&b| b == b'.') {
                None => val,
                Some(i) => &val[..i],
            };
            if !self.vars[self.vars_base..].contains(&first) {
                return Err(self.errorf(format!("undefined variable {}", crate::fmt::quote(first))));
            }
            if first.len() == val.len() {
                let id = self.src(token.pos(), token.end());
                self.arena.strs.push(id);
            } else {
                let mut at = token.pos();
                for part in val.split('.') {
                    let id = self.src(at, at + part.len());
                    self.arena.strs.push(id);
                    at += part.len() + 1;
                }
            }
        } else {
            let id = self.src(token.pos() + 1, token.end());
            self.arena.strs.push(id);
        }
        let mut pos = token.pos();
        if self.peek_field() {
            pos = self.peek().pos();
        }
        let boxed = self.field_run(start);
        Ok(if is_var {
            Arg::Variable { pos, idents: boxed }
        } else {
            Arg::Field { pos, idents: boxed }
        })
    }

    /// A term starting with `token` (already read); `None` (and `token` backed up) when
    /// it does not start one.
    fn term(&mut self, token: Item) -> PResult<Option<Arg>> {
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                let Some(func) = self.resolve_func(token) else {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::fmt::quote(self.val(token))
                    )));
                };
                Arg::Ident {
                    pos: token.pos(),
                    name_len: (token.end() - token.pos()) as u32,
                    func,
                }
            }
            ItemType::Dot => Arg::Dot(token.pos()),
            ItemType::Nil => Arg::Nil(token.pos()),
            ItemType::Variable => {
                let first = self.val(token).split('.').next().unwrap_or("");
                if !self.vars[self.vars_base..].contains(&first) {
                    return Err(
                        self.errorf(format!("undefined variable {}", crate::fmt::quote(first)))
                    );
                }
                let mut idents = std::mem::take(&mut self.scratch);
                idents.clear();
                let mut at = token.pos();
                for part in self.val(token).split('.') {
                    idents.push(self.src(at, at + part.len()));
                    at += part.len() + 1;
                }
                let idents_all = self.arena.take_from(&mut idents, 0);
                self.scratch = idents;
                Arg::Variable {
                    pos: token.pos(),
                    idents: idents_all,
                }
            }
            ItemType::Field => Arg::Field {
                pos: token.pos(),
                idents: {
                    let id = self.src(token.pos() + 1, token.end());
                    self.arena.add_one(id)
                },
            },
            ItemType::Bool => Arg::Bool(token.pos(), self.val(token) == "true"),
            ItemType::Number if let Some(n) = small_decimal(self.val(token), token.pos()) => {
                Arg::Number {
                    pos: n.pos,
                    num: self.arena.add(n),
                }
            }
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match crate::strconv::parse_number(
                    self.val(token),
                    token.typ == ItemType::CharConstant,
                    token.typ == ItemType::Complex,
                ) {
                    Ok(mut n) => {
                        n.pos = token.pos();
                        Arg::Number {
                            pos: n.pos,
                            num: self.arena.add(n),
                        }
                    }
                    Err(msg) => return Err(self.errorf(msg)),
                }
            }
            ItemType::LeftParen => {
                if self.stack_depth >= MAX_STACK_DEPTH {
                    return Err(self.errorf("max expression depth exceeded".into()));
                }
                self.stack_depth += 1;
                let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                    self.pipeline("parenthesized pipeline", ItemType::RightParen)
                });
                self.stack_depth -= 1;
                let pipe = r?;
                Arg::Pipe {
                    pos: pipe.pos,
                    pipe: self.arena.add(pipe),
                }
            }
            ItemType::String | ItemType::RawString => {
                let end = token.end();
                let Some(text) = self.lit(token) else {
                    return Err(self.errorf("invalid syntax".into()));
                };
                Arg::String {
                    pos: token.pos(),
                    text,
                    id: next_string_id(),
                    quoted_len: (end - token.pos()) as u32,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Vec<Tree>, String> {
        let funcs = crate::func::FuncMap::default();
        parse("t", Arc::from(text), &resolver(&funcs)).map_err(|e| e.to_string())
    }

    fn args(text: &str) -> Vec<String> {
        let trees = parse_str(text).expect("parses");
        let t = &trees[0];
        let Node::Action(a) = &t.root_nodes()[0] else {
            panic!("an action");
        };
        t.arena[t.arena[a.pipe.cmds][0].args]
            .iter()
            .map(|a| match a {
                Arg::Field { pos, idents } => {
                    let idents: Vec<&str> =
                        t.arena[*idents].iter().map(|r| t.arena.text(*r)).collect();
                    format!("Field {{ pos: {pos}, idents: {idents:?} }}")
                }
                a => format!("{a:?}"),
            })
            .collect()
    }

    #[test]
    fn spaces_separate_operands_and_end_chains() {
        assert_eq!(
            args("{{ .a\n.b }}"),
            [
                "Field { pos: 3, idents: [\"a\"] }",
                "Field { pos: 6, idents: [\"b\"] }"
            ]
        );
        assert_eq!(args("{{ .a  -}}"), ["Field { pos: 3, idents: [\"a\"] }"]);
        assert_eq!(
            args("{{ .a . }}"),
            ["Field { pos: 3, idents: [\"a\"] }", "Dot(6)"]
        );
        // A chain is placed at its second field, as Go does.
        assert_eq!(
            args("{{ len .a.b.c.d }}")[1],
            "Field { pos: 9, idents: [\"a\", \"b\", \"c\", \"d\"] }"
        );
    }

    #[test]
    fn error_lines_are_go_s() {
        // Go reports the line of the item lexed last: for a bad chain that is the space
        // item after it, which starts on line 1.
        assert_eq!(
            parse_str("{{ \"s\".a\n\n }}").unwrap_err(),
            r#"template: t:1: unexpected . after term "\"s\"""#
        );
        assert_eq!(
            parse_str("{{ .a\n= 1 }}").unwrap_err(),
            r#"template: t:2: unexpected "=" in operand"#
        );
        assert_eq!(
            parse_str("{{ .a = 1 }}").unwrap_err(),
            r#"template: t:1: unexpected "=" in operand"#
        );
    }

    #[test]
    fn strings_long_and_short_keep_their_text() {
        let long = "averyveryverylongidentifier_beyond_the_inline_size";
        let t = format!("{{{{ .{long}.x }}}}{{{{ \"{long}\" }}}}{{{{ \"a\\tb\" }}}}");
        let trees = parse_str(&t).expect("parses");
        let tr = &trees[0];
        assert_eq!(tr.to_string(), t.replace("{{ ", "{{").replace(" }}", "}}"));
        let Node::Action(a) = &tr.root_nodes()[2] else {
            panic!("an action");
        };
        let Arg::String { text, .. } = &tr.arena[tr.arena[a.pipe.cmds][0].args][0] else {
            panic!("a string");
        };
        assert_eq!(tr.arena.lit(*text), "a\tb");
    }

    #[test]
    fn a_failed_parse_leaves_nothing_in_the_next_arena() {
        // Short texts go through the thread's work arena: a parse that fails halfway must
        // not leave its items there for the next one.
        assert!(parse_str("{{ if .stale }}{{ .stale2 ").is_err());
        let trees = parse_str("{{ .c }}x").expect("parses");
        assert_eq!(trees[0].to_string(), "{{.c}}x");
        let arena = &trees[0].arena;
        assert_eq!(arena.nodes.len(), 2, "{arena:?}");
        assert!(arena.strs.len() == 1 && arena.text(arena.strs[0]) == "c");
    }

    #[test]
    fn a_short_name_hashes_alike_from_one_load_or_byte_by_byte() {
        // Read in one load (text follows the name) or byte by byte (at the end of the text):
        // the same cache index; the number form only from the load, and only for short names.
        for name in ["x", "tpl", "include", "required"] {
            let long = format!("{name} . | quote }}}}");
            let (h1, k1) = name_hash(long.as_bytes(), 0, name.len());
            let (h2, k2) = name_hash(name.as_bytes(), 0, name.len());
            assert_eq!(h1, h2, "{name}");
            assert_ne!(k1, 0, "{name}");
            // (A name of 8 bytes is a whole load by itself.)
            assert_eq!(k2, if name.len() < 8 { 0 } else { k1 }, "{name}");
        }
        let (_, k) = name_hash(b"trimSuffix \"-\" }}", 0, 10);
        assert_eq!(k, 0);
        let (_, a) = name_hash(b"quote }}", 0, 5);
        let (_, b) = name_hash(b"quota }}", 0, 5);
        assert_ne!(a, b);
    }

    /// The trees (every node, position and list, string constant ids and function indices
    /// left out) or the error of parsing `text`, with the fast path or without.
    fn dump(text: &str, fast: bool) -> String {
        let f = crate::func::Function::plain(
            crate::func::Signature::variadic(&[], crate::func::Type::Any),
            |_| Ok(crate::value::Value::Nil),
        );
        // Every name is a function but those starting with `z`.
        let resolve =
            move |n: &str| (!n.starts_with('z')).then(|| FuncRef(Resolved::User(f.clone())));
        NO_FAST.with(|c| c.set(!fast));
        let r = parse("t", Arc::from(text), &resolve);
        NO_FAST.with(|c| c.set(false));
        match r {
            Err(e) => format!("error: {e}"),
            Ok(trees) => {
                let mut out = String::new();
                for t in &trees {
                    let _ = writeln!(out, "{}: {:?} {:?}", t.name, t.root, t.arena);
                }
                mask_ids(&out)
            }
        }
    }

    /// `s` without string constant ids, function indices and the arena's functions (the
    /// fast path may resolve a name twice when it gives up).
    fn mask_ids(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        loop {
            let next = ["id: ", "func: Idx(", "funcs: ["]
                .iter()
                .filter_map(|k| rest.find(k).map(|i| (i, *k)))
                .min();
            let Some((i, k)) = next else {
                out.push_str(rest);
                return out;
            };
            out.push_str(&rest[..i + k.len()]);
            rest = &rest[i + k.len()..];
            let end = if k == "funcs: [" {
                rest.find(']').unwrap_or(rest.len())
            } else {
                rest.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len())
            };
            out.push('_');
            rest = &rest[end..];
        }
    }

    #[test]
    fn the_fast_path_makes_the_general_path_s_trees_and_errors() {
        let cases = [
            "{{ .Values.x }}",
            "a{{- .Values.x.y -}}\n  b",
            "{{.a}}{{ .a  -}} x{{ .a\t-}}y{{.a -}}",
            "{{ include \"x\" . | nindent 4 }}",
            "{{- include \"x\" (dict \"a\" .b \"c\" (list 1 2)) | nindent 4 }}",
            "{{ if .a }}x{{ else if .b }}y{{ else with .c }}z{{ else }}w{{ end }}{{ end }}",
            "{{ if .a }}x{{ else }}y{{ end }}",
            "{{ with $x := .a }}{{ $x }}{{ end }}",
            "{{ range $i, $v := .list }}{{ $i }}{{ $v.name }}{{ end }}",
            "{{ range $v := .list }}{{ break }}{{ continue }}{{ end }}",
            "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}",
            "{{ $x, $y := 1 }}",
            "{{ $ }}{{ $.Values.a }}{{ $x }}",
            "{{ (.a).b.c }}{{ (f .a).b }}{{ f.b }}{{ \"s\".b }}{{ 1.5 }}{{ 0x1F }}{{ -1 }}",
            "{{ \"a\\tb\" }}{{ `raw` }}{{ `a\rb` }}{{ \"\\q\" }}",
            "{{ true }}{{ false | not }}{{ nil }}{{ . }}{{ .a . }}{{ . | f }}",
            "{{ f | 1 }}{{ f | \"s\" }}{{ f | . }}",
            "{{ f |}}{{ | f }}{{ f || g }}",
            "{{ zundefined 1 }}{{ f (zundefined) }}",
            "{{ .a.b.c.d.e | f .x.y | g }}",
            "{{ define \"d\" }}{{ .x }}{{ end }}{{ template \"d\" . }}",
            "{{ block \"b\" . }}{{ .y }}{{ end }}",
            "{{/* c */}}{{- /* c */ -}}{{ .a /* c */ }}",
            "{{ .a }",
            "{{ .a",
            "{{ (.a }}",
            "{{ .a) }}",
            "{{ end }}",
            "{{ else }}",
            "{{ if }}{{ end }}",
            "{{ .é }}{{ éa }}",
            "{{ f\n.a\n}}",
            "{{ .a.1 }}{{ .a. }}{{ ..a }}{{ .a..b }}",
            "{{ $x := }}",
            "{{ 01 }}{{ 1_0 }}{{ 1e3 }}{{ 9999999999999999999 }}",
            "{{ (((((((((((((((((((.a))))))))))))))))))) }}",
            "{{ f -}}{{ f -1 }}{{- -}}{{ -}}",
            "{{ range $i, }}{{ end }}",
            "{{ .a := 1 }}{{ $x.y := 1 }}{{ $x : 1 }}",
            "a  \t{{- .x }} b{ {{ .y }}{x{{.z}}0123456789abcdef{ {{.w}}0123456789abcdefghij{{.v}}",
            "only text, {not an action} {",
            "{{ f .a \"b\" (g .c (h 1) .d) .e | k (l) | m .n (o).p | q }}{{ f | g (h) }}",
            "{{ (f).x .y | g (h .i).j (k) }}{{ if and (f .a) .b }}{{ end }}",
            "{{- /* c */}} t {{ .a }}\n  {{- .b -}}\n  {{/* c */ -}}  x",
            "{{ define \"a\" }}  {{- .x }}{{ end }}  {{- define \"b\" }}{{ end }}{{- .y }}",
        ];
        for text in cases {
            assert_eq!(dump(text, true), dump(text, false), "{text}");
            // Every prefix, and every text with one byte left out.
            for i in 0..text.len() {
                if text.is_char_boundary(i) {
                    let cut = &text[..i];
                    assert_eq!(dump(cut, true), dump(cut, false), "{cut}");
                    let next = text[i..].chars().next().map_or(0, char::len_utf8);
                    let gap = format!("{}{}", &text[..i], &text[i + next..]);
                    assert_eq!(dump(&gap, true), dump(&gap, false), "{gap}");
                }
            }
        }
    }

    #[test]
    fn small_decimals_match_the_general_number_parser() {
        for t in [
            "0",
            "1",
            "7",
            "42",
            "1000",
            "123456789012345678",
            "999999999999999999",
        ] {
            let fast = small_decimal(t, 3).expect("a small decimal");
            let mut slow = crate::strconv::parse_number(t, false, false).expect("a number");
            slow.pos = 3;
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{t}");
        }
        for t in [
            "",
            "00",
            "01",
            "0x1",
            "1_000",
            "1.5",
            "1e3",
            "-1",
            "+1",
            "1234567890123456789",
        ] {
            assert!(small_decimal(t, 0).is_none(), "{t}");
        }
    }
}
