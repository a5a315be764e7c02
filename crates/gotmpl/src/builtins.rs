//! Go's 19 predefined template functions (`and`/`or` are evaluated by the executor).

use std::rc::Rc;

use crate::exec::Ev;
use crate::value::{ElemType, List, MapType, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Call,
    Html,
    Index,
    Slice,
    Js,
    Len,
    Print,
    Printf,
    Println,
    Urlquery,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The names of Go's predefined functions.
pub const BUILTIN_NAMES: [&str; 19] = [
    "and", "or", "not", "call", "html", "index", "slice", "js", "len", "print", "printf",
    "println", "urlquery", "eq", "ne", "lt", "le", "gt", "ge",
];

impl Builtin {
    pub(crate) fn from_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "call" => Builtin::Call,
            "html" => Builtin::Html,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "js" => Builtin::Js,
            "len" => Builtin::Len,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "urlquery" => Builtin::Urlquery,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            _ => return None,
        })
    }
}

pub(crate) fn call(b: Builtin, args: &[Ev], callee: &str) -> Result<Ev, String> {
    let d = |v: Value| Ok(Ev { v, iface: false });
    match b {
        Builtin::And | Builtin::Or => unreachable_and_or(args),
        Builtin::Not => d(Value::Bool(!args[0].v.truthy())),
        Builtin::Call => {
            if args[0].v.is_nil() {
                return Err("call of nil".into());
            }
            Err(format!(
                "non-function {} of type {}",
                callee,
                args[0].v.type_name()
            ))
        }
        Builtin::Html => d(Value::from(html_escape(&eval_args(args)))),
        Builtin::Js => d(Value::from(js_escape(&eval_args(args)))),
        Builtin::Urlquery => d(Value::from(query_escape(&eval_args(args)))),
        Builtin::Print | Builtin::Println | Builtin::Printf => {
            let mut out = String::new();
            print_into(b, args, &mut out);
            d(Value::from(out))
        }
        Builtin::Len => {
            let coll;
            let a = match &args[0].v {
                Value::Object(o) => match o.collection() {
                    Some(c) => {
                        coll = Ev { v: c, iface: false };
                        &coll
                    }
                    None => &args[0],
                },
                _ => &args[0],
            };
            if a.v.is_nil() {
                if a.iface {
                    return Err("len of nil pointer".into());
                }
                return Err("reflect: call of reflect.Value.Type on zero Value".into());
            }
            let n = match &a.v {
                Value::String(s) => s.len(),
                Value::List(l) => l.items.len(),
                Value::Map(m) => m.entries.borrow().len(),
                Value::Bytes(b) => b.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            };
            d(Value::Int(n as i64))
        }
        Builtin::Index => index(&args[0], &args[1..]),
        Builtin::Slice => slice(&args[0], &args[1..]).map(|v| Ev { v, iface: false }),
        Builtin::Eq => eq(&args[0].v, &args[1..]).and_then(|b| d(Value::Bool(b))),
        Builtin::Ne => eq(&args[0].v, &args[1..2]).and_then(|b| d(Value::Bool(!b))),
        Builtin::Lt => lt(&args[0].v, &args[1].v).and_then(|b| d(Value::Bool(b))),
        Builtin::Le => le(&args[0].v, &args[1].v).and_then(|b| d(Value::Bool(b))),
        Builtin::Gt => le(&args[0].v, &args[1].v).and_then(|b| d(Value::Bool(!b))),
        Builtin::Ge => lt(&args[0].v, &args[1].v).and_then(|b| d(Value::Bool(!b))),
    }
}

/// `print`, `println` and `printf`, appended to `out` (the executor writes them straight into
/// the output or into a reused buffer). Other builtins append nothing.
pub(crate) fn print_into(b: Builtin, args: &[Ev], out: &mut String) {
    match b {
        Builtin::Print => crate::fmt::sprint_into(out, args),
        Builtin::Println => crate::fmt::sprintln_into(out, args),
        Builtin::Printf => {
            let f = args[0].v.as_str().unwrap_or("");
            crate::fmt::sprintf_into(out, f, &args[1..])
        }
        _ => {}
    }
}

/// True for the builtins [`print_into`] handles.
pub(crate) fn is_print(b: Builtin) -> bool {
    matches!(b, Builtin::Print | Builtin::Println | Builtin::Printf)
}

fn unreachable_and_or(args: &[Ev]) -> Result<Ev, String> {
    // The executor short-circuits and/or itself; this is the eager equivalent.
    Ok(args.last().cloned().unwrap_or(Ev {
        v: Value::Nil,
        iface: false,
    }))
}

/// Go's `evalArgs` for html/js/urlquery: one string as is, otherwise `Sprint` with nil
/// shown as `<no value>`.
fn eval_args(args: &[Ev]) -> String {
    if args.len() == 1
        && let Value::String(s) = &args[0].v
    {
        return s.to_string();
    }
    let v: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.v.is_nil() {
                Value::str("<no value>")
            } else {
                a.v.clone()
            }
        })
        .collect();
    crate::fmt::sprint(&v)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let b = c as u32;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
            c if c.is_ascii() => out.push(c),
            c => {
                if crate::strconv::is_print(c) {
                    out.push(c);
                } else {
                    out.push_str(&format!("\\u{:04X}", c as u32));
                }
            }
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
    out
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Ev, indexes: &[Ev]) -> Result<Ev, String> {
    let mut item = Ev {
        v: item.v.clone(),
        iface: false,
    };
    if let Value::Object(o) = &item.v
        && let Some(c) = o.collection()
    {
        item.v = c;
    }
    if item.v.is_nil() {
        return Err("index of untyped nil".into());
    }
    for idx in indexes {
        if item.v.is_nil() {
            return Err("index of nil pointer".into());
        }
        let next = match &item.v {
            Value::List(l) => {
                let x = index_arg(&idx.v, l.items.len())?;
                if x == l.items.len() {
                    return Err("reflect: slice index out of range".into());
                }
                Ev {
                    v: l.items[x].clone(),
                    iface: l.elem == ElemType::Interface,
                }
            }
            Value::String(s) => {
                let x = index_arg(&idx.v, s.len())?;
                if x == s.len() {
                    return Err("reflect: string index out of range".into());
                }
                Ev {
                    v: Value::Int(s.as_bytes()[x] as i64),
                    iface: false,
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(&idx.v, b.len())?;
                if x == b.len() {
                    return Err("reflect: slice index out of range".into());
                }
                Ev {
                    v: Value::Int(b[x] as i64),
                    iface: false,
                }
            }
            Value::Map(m) => {
                let key = match &idx.v {
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    Value::String(s) => s.clone(),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                match m.entries.borrow().get(&*key) {
                    Some(v) => Ev {
                        v: v.clone(),
                        iface: m.ty.interface_elems(),
                    },
                    None => match m.ty {
                        MapType::String => Ev {
                            v: Value::str(""),
                            iface: false,
                        },
                        MapType::Interface | MapType::Values => Ev {
                            v: Value::Nil,
                            iface: true,
                        },
                    },
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
        item = next;
    }
    Ok(item)
}

fn slice(item: &Ev, indexes: &[Ev]) -> Result<Value, String> {
    if item.v.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match &item.v {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(&index.v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match &item.v {
        Value::String(s) => {
            Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::List(Rc::new(List {
            elem: l.elem,
            items: l.items[idx[0]..idx[1]].to_vec(),
        })),
        Value::Bytes(b) => Value::Bytes(Rc::from(&b[idx[0]..idx[1]])),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn reflect_kind(v: &Value) -> &str {
    match v {
        Value::Nil => "invalid",
        Value::List(_) | Value::Bytes(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(o) => o.kind(),
        other => other.kind_name(),
    }
}

fn eq(a1: &Value, rest: &[Ev]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a1);
    for a in rest {
        let a = &a.v;
        let k2 = basic_kind(a);
        let truth = if k1 != k2 {
            if !a1.is_nil() && !a.is_nil() {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a1.type_name(),
                    a.type_name()
                ));
            }
            false
        } else {
            match k1 {
                Kind::Bool => matches!((a1, a), (Value::Bool(x), Value::Bool(y)) if x == y),
                Kind::Float => float_of(a1) == float_of(a),
                Kind::Int => int_of(a1) == int_of(a),
                Kind::String => str_of(a1) == str_of(a),
                Kind::Invalid => {
                    let (r1, r2) = (reflect_kind(a1), reflect_kind(a));
                    if !(r1 == r2 || a1.is_nil() || a.is_nil()) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            crate::fmt::sprintf("%s", std::slice::from_ref(a1)),
                            a1.type_name(),
                            a.type_name(),
                            crate::fmt::format_value(a)
                        ));
                    }
                    if a1.is_nil() || a.is_nil() {
                        a1.is_nil() == a.is_nil()
                    } else {
                        match (a1, a) {
                            (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
                            _ => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    crate::fmt::sprintf("%s", std::slice::from_ref(a)),
                                    a.type_name()
                                ));
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a1: &Value, a2: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a1);
    if k1 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    let k2 = basic_kind(a2);
    if k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a1.type_name(),
            a2.type_name()
        ));
    }
    Ok(match k1 {
        Kind::Bool | Kind::Invalid => return Err("invalid type for comparison".into()),
        Kind::Float => float_of(a1) < float_of(a2),
        Kind::Int => int_of(a1) < int_of(a2),
        Kind::String => str_of(a1) < str_of(a2),
    })
}

fn le(a1: &Value, a2: &Value) -> Result<bool, String> {
    if lt(a1, a2)? {
        return Ok(true);
    }
    eq(
        a1,
        &[Ev {
            v: a2.clone(),
            iface: false,
        }],
    )
}
