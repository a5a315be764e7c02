//! The value model: what a Go `text/template` sees as `interface{}` data, as Helm uses it.
//!
//! Go distinguishes types that Helm charts observe (`typeOf`, `kindOf`, `eq` between kinds), so
//! the model keeps them apart: `int` (template literals, `len`), `int64` (Sprig math, `--set`
//! integers), `float64` (every number read from a values file), strings, `[]byte`, lists with
//! their Go element type, maps, and opaque objects (structs such as `.Capabilities`,
//! `time.Time`, a Sprig certificate) that expose fields and methods.
//!
//! Maps are shared and mutable (`Rc<RefCell<..>>`): Sprig's `set`, `unset` and `merge` mutate
//! the map they are given, and that mutation is visible to every holder of the same map, as in
//! Go. Lists are immutable (`append` returns a new list). A `Value` is cheap to clone.
//!
//! Values live inside one render on one thread; data that crosses threads is converted from
//! and to a `Send` model at the edge (see the `helm` crate).

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// A Go map with string keys. `BTreeMap<String, _>` iterates in byte order, which is the order
/// Go's `fmt` and `range` use for maps with string keys.
pub type Map = BTreeMap<String, Value>;

/// A template value.
#[derive(Clone, Default)]
pub enum Value {
    /// An untyped nil (`interface{}(nil)`); a missing map key under `missingkey=zero`.
    #[default]
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int`: integer literals in templates, `len`, `atoi`, `int`, `until`.
    Int(i64),
    /// Go `int64`: Sprig math results, `int64`, integers from `--set`.
    Int64(i64),
    /// Go `float64`: every number that came through YAML/JSON, float literals.
    Float(f64),
    /// Go `string`.
    String(Rc<str>),
    /// Go `[]byte`.
    Bytes(Rc<[u8]>),
    /// A Go slice; see [`List`].
    List(Rc<List>),
    /// A Go map with string keys; see [`MapValue`].
    Map(Rc<MapValue>),
    /// Anything else: structs and pointers with fields and methods.
    Object(Rc<dyn Object>),
}

/// The element type of a Go slice, as far as charts can observe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ElemType {
    /// `[]interface {}`
    #[default]
    Interface,
    /// `[]string`
    String,
    /// `[]int`
    Int,
}

/// A Go slice.
#[derive(Clone, Default)]
pub struct List {
    pub elem: ElemType,
    pub items: Vec<Value>,
}

/// The type of a Go map with string keys, as far as charts can observe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MapType {
    /// `map[string]interface {}`
    #[default]
    Interface,
    /// `map[string]string`
    String,
    /// Helm v4's `common.Values`, a named type over `map[string]interface {}` (what `.Values`
    /// is): `typeOf` prints `common.Values`; it reads, ranges and prints as its underlying
    /// map, and passes to `map[string]interface {}` parameters, but Sprig's type assertions
    /// (`dig`) reject it as Go's do.
    Values,
}

impl MapType {
    /// True when the elements are `interface {}` (every type but `map[string]string`).
    pub fn interface_elems(self) -> bool {
        self != MapType::String
    }
}

thread_local! {
    /// The typed nils of this thread (see [`Value::nil_map`]).
    static NIL_MAP: Rc<MapValue> = Rc::new(MapValue::default());
    static NIL_LIST: Rc<List> = Rc::new(List::default());
    static NIL_STRING_LIST: Rc<List> = Rc::new(List { elem: ElemType::String, items: Vec::new() });
    static NIL_BYTES: Rc<[u8]> = Rc::from(&[][..]);
}

/// A shared, mutable Go map.
#[derive(Default)]
pub struct MapValue {
    pub ty: MapType,
    pub entries: RefCell<Map>,
}

/// A Go struct or pointer seen by templates: `.Capabilities`, `.Files`, `time.Time`, a Sprig
/// certificate, a semver version. Fields are read with `.Name`; methods are called with
/// `.Name arg…` (a method is tried when no field of that name exists).
pub trait Object: Any {
    /// The Go type name `typeOf` prints, e.g. `time.Time`, `*chartutil.Capabilities`.
    fn type_name(&self) -> &str;
    /// The Go kind `kindOf` prints, e.g. `struct`, `ptr`.
    fn kind(&self) -> &str {
        "struct"
    }
    /// A field by Go name. `None`: no such field (the executor then tries [`Object::method`]).
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// Call a method by Go name. `None`: no such method.
    fn method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, FuncError>> {
        None
    }
    /// Go's `%v` rendering (`fmt.Sprint`).
    fn format(&self) -> String;
    /// What `encoding/json` would produce for this value, as a value tree (maps, lists,
    /// scalars), for `toJson`/`toYaml`. `None` means `{}`.
    fn to_data(&self) -> Option<Value> {
        None
    }
    /// For objects that are Go named map or slice types (Helm's `Files` is a
    /// `map[string][]byte` with methods): the entries as a `Value::Map` or `Value::List`, so
    /// that `range`, `len` and `index` work on the object as in Go. `None` (the default): a
    /// struct, which cannot be ranged over or indexed.
    fn collection(&self) -> Option<Value> {
        None
    }
    /// Go truthiness of a struct is always true; a nil pointer would be false.
    fn truthy(&self) -> bool {
        true
    }
    /// For downcasting to a concrete object type.
    fn as_any(&self) -> &dyn Any;
}

/// An error returned by a function; the executor wraps it as
/// `template: NAME:LINE:COL: executing "NAME" at <NODE>: error calling FN: MSG`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncError {
    pub message: String,
    /// How the executor reports it.
    pub kind: FuncErrorKind,
}

/// How a function error is reported by the executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncErrorKind {
    /// Go's default: `error calling NAME: MSG`.
    Call,
    /// The message is reported as is, without the `error calling NAME: ` prefix (used by
    /// builtins whose Go errors read differently, e.g. `wrong number of args for …`).
    Raw,
    /// Helm's `fail`/`required`: reported by Helm as `execution error at (FILE:LINE:COL): MSG`.
    Fail,
}

impl FuncError {
    /// An ordinary function error (`error calling NAME: MSG`).
    pub fn new(message: impl Into<String>) -> Self {
        FuncError {
            message: message.into(),
            kind: FuncErrorKind::Call,
        }
    }
    /// An error reported verbatim.
    pub fn raw(message: impl Into<String>) -> Self {
        FuncError {
            message: message.into(),
            kind: FuncErrorKind::Raw,
        }
    }
    /// A `fail`/`required` error.
    pub fn fail(message: impl Into<String>) -> Self {
        FuncError {
            message: message.into(),
            kind: FuncErrorKind::Fail,
        }
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FuncError {}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::String(Rc::from(s))
    }
    /// A `[]interface {}` list.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(List {
            elem: ElemType::Interface,
            items,
        }))
    }
    /// A `[]string` list.
    pub fn string_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::List(Rc::new(List {
            elem: ElemType::String,
            items: items.into_iter().map(|s| Value::str(s.as_ref())).collect(),
        }))
    }
    /// A fresh `map[string]interface {}`.
    pub fn map(entries: Map) -> Value {
        Value::Map(Rc::new(MapValue {
            ty: MapType::Interface,
            entries: RefCell::new(entries),
        }))
    }
    /// A map of the given type (e.g. [`MapType::Values`] for Helm's `.Values`).
    pub fn typed_map(ty: MapType, entries: Map) -> Value {
        Value::Map(Rc::new(MapValue {
            ty,
            entries: RefCell::new(entries),
        }))
    }

    /// Go's typed nil `map[string]interface {}(nil)`: what `fromJson "null"` returns and what
    /// `nil` becomes when passed to a map parameter. It reads as an empty map (`len`, `range`,
    /// `index`, printing `map[]`), but `toJson`/`toYaml` write `null` and Sprig's `set` fails
    /// with Go's `assignment to entry in nil map`. Never mutate it (see
    /// [`Value::is_typed_nil`]).
    pub fn nil_map() -> Value {
        Value::Map(NIL_MAP.with(Rc::clone))
    }

    /// Go's typed nil slice `[]interface {}(nil)` or `[]string(nil)` (other element types:
    /// `[]interface {}`): reads as an empty list, `toJson` writes `null`.
    pub fn nil_list(elem: ElemType) -> Value {
        match elem {
            ElemType::String => Value::List(NIL_STRING_LIST.with(Rc::clone)),
            _ => Value::List(NIL_LIST.with(Rc::clone)),
        }
    }

    /// Go's `[]byte(nil)`: reads as empty, `toJson` writes `null`.
    pub fn nil_bytes() -> Value {
        Value::Bytes(NIL_BYTES.with(Rc::clone))
    }

    /// True for the typed nils made by [`Value::nil_map`], [`Value::nil_list`] and
    /// [`Value::nil_bytes`] (not for `Value::Nil`, the untyped nil).
    pub fn is_typed_nil(&self) -> bool {
        match self {
            Value::Map(m) => m.entries.borrow().is_empty() && NIL_MAP.with(|n| Rc::ptr_eq(n, m)),
            Value::List(l) => {
                l.items.is_empty()
                    && (NIL_LIST.with(|n| Rc::ptr_eq(n, l))
                        || NIL_STRING_LIST.with(|n| Rc::ptr_eq(n, l)))
            }
            Value::Bytes(b) => b.is_empty() && NIL_BYTES.with(|n| Rc::ptr_eq(n, b)),
            _ => false,
        }
    }

    /// An object.
    pub fn object(o: impl Object) -> Value {
        Value::Object(Rc::new(o))
    }

    /// Go truthiness as `if`, `with`, `and`, `or`, `not`, `default` and `empty` use it:
    /// nil, false, 0, 0.0, "", and empty lists, maps and byte slices are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.borrow().is_empty(),
            Value::Object(o) => o.truthy(),
        }
    }

    /// The Go type name, as Sprig's `typeOf` prints it (`%T`).
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(l) => match l.elem {
                ElemType::Interface => "[]interface {}".into(),
                ElemType::String => "[]string".into(),
                ElemType::Int => "[]int".into(),
            },
            Value::Map(m) => match m.ty {
                MapType::Interface => "map[string]interface {}".into(),
                MapType::String => "map[string]string".into(),
                MapType::Values => "common.Values".into(),
            },
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// The Go kind, as Sprig's `kindOf` prints it (`reflect.Kind.String()`).
    pub fn kind_name(&self) -> &str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind(),
        }
    }

    /// The string inside a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// True for `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Rc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::List(l) => f.debug_list().entries(l.items.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.entries.borrow().iter()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

/// Go's `complex128`, the value of an imaginary literal (`{{ 1i }}`, `{{ 1+2i }}`): prints as
/// Go does (`(1+2i)`); `typeOf` and `kindOf` say `complex128`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Complex {
    pub re: f64,
    pub im: f64,
}

impl Object for Complex {
    fn type_name(&self) -> &str {
        "complex128"
    }
    fn kind(&self) -> &str {
        "complex128"
    }
    fn format(&self) -> String {
        let re = crate::strconv::format_float(self.re, 'g', -1);
        let mut im = crate::strconv::format_float(self.im, 'g', -1);
        if !im.starts_with(['+', '-']) {
            im.insert(0, '+');
        }
        format!("({re}{im}i)")
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
