//! Functions callable from templates, with Go-like signatures.
//!
//! Go's `text/template` checks the number and types of arguments against the Go signature of
//! the function before calling it, and converts them (`reflect` assignability). Those checks
//! produce errors charts can observe (`wrong number of args for upper: want 1 got 2`,
//! `wrong type for value; expected string; got int`), so every function is registered with a
//! [`Signature`] and the executor does the checking and conversion. A function body receives
//! arguments already converted to the declared parameter types.

use std::collections::HashMap;
use std::sync::Arc;

use crate::value::{FuncError, Value};

/// A Go parameter type, as far as argument conversion needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `interface{}`: any value, nil included.
    Any,
    /// `string`
    String,
    /// `int`
    Int,
    /// `int64`
    Int64,
    /// `float64`
    Float64,
    /// `bool`
    Bool,
    /// `[]interface{}`
    List,
    /// `[]string`
    StringList,
    /// `map[string]interface{}`
    Map,
    /// `[]byte`
    Bytes,
    /// `uint32` (Sprig's `derivePassword` counter): literals must be unsigned integers
    /// (`expected unsigned integer; found -1`, wrapping above 2³² as Go's `SetUint` does); the
    /// body receives a `Value::Int`.
    Uint32,
    /// A Go struct type implemented by an [`crate::Object`] whose
    /// [`type_name`](crate::Object::type_name) is the given name (`time.Time`,
    /// `sprig.certificate`): only such objects are accepted, and literals, `nil` and other
    /// values fail as Go reports them (`can't handle "x" for arg of type time.Time`).
    Object(&'static str),
}

/// A Go function signature: fixed parameters, then an optional variadic element type.
/// Cheap to clone (the parameter list is shared).
#[derive(Clone, Debug)]
pub struct Signature {
    pub params: Arc<[Type]>,
    pub variadic: Option<Type>,
}

impl Signature {
    /// A signature with fixed parameters only.
    pub fn fixed(params: &[Type]) -> Self {
        Signature {
            params: Arc::from(params),
            variadic: None,
        }
    }
    /// A signature with fixed parameters followed by `...elem`.
    pub fn variadic(params: &[Type], elem: Type) -> Self {
        Signature {
            params: Arc::from(params),
            variadic: Some(elem),
        }
    }
}

/// What a function body can ask of the executor that called it (Helm's `include` and `tpl`).
pub trait Context {
    /// Execute the named template with `data` and return its output (Helm's `include`).
    fn include(&mut self, name: &str, data: &Value) -> Result<String, FuncError>;
    /// [`Context::include`] as a string value (Helm's `include` function body): the
    /// executor renders into a reused buffer, saving a copy.
    fn include_value(&mut self, name: &str, data: &Value) -> Result<Value, FuncError> {
        self.include(name, data).map(Value::from)
    }
    /// Parse `text` as a template in a clone of the current template set, under the name of
    /// the calling template, execute it with `data` and return its output (Helm's `tpl`).
    fn tpl(&mut self, text: &str, data: &Value) -> Result<String, FuncError>;
    /// The name of the template being executed (`.Template.Name` in Helm).
    fn template_name(&self) -> &str;
}

/// A plain function body.
pub type PlainFn = dyn Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync;
/// A function body that needs the executor.
pub type ContextFn = dyn Fn(&mut dyn Context, &[Value]) -> Result<Value, FuncError> + Send + Sync;

/// The body of a function.
#[derive(Clone)]
pub enum Body {
    /// A plain function of its (converted) arguments.
    Plain(Arc<PlainFn>),
    /// A function that needs the executor.
    WithContext(Arc<ContextFn>),
}

/// A callable function: its Go signature and its body.
#[derive(Clone)]
pub struct Function {
    pub signature: Signature,
    pub body: Body,
}

impl Function {
    /// A plain function.
    pub fn plain(
        signature: Signature,
        f: impl Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) -> Self {
        Function {
            signature,
            body: Body::Plain(Arc::new(f)),
        }
    }
    /// A function that needs the executor.
    pub fn with_context(
        signature: Signature,
        f: impl Fn(&mut dyn Context, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) -> Self {
        Function {
            signature,
            body: Body::WithContext(Arc::new(f)),
        }
    }
}

/// Functions by name. Entries shadow Go's builtins of the same name (Sprig's `slice` wins),
/// except `and` and `or`, which keep their short-circuit evaluation. Hashed with foldhash (the
/// parser looks up every function name it meets; SipHash was ~1% of a chart render); build one
/// with `FuncMap::default()`.
pub type FuncMap = HashMap<String, Function, foldhash::fast::FixedState>;
