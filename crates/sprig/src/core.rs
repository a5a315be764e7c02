//! Registration of the string, math, list, dict, defaults, reflection, path and encoding
//! functions.

use std::rc::Rc;

use gotmpl::{ElemType, FuncError, FuncMap, Map, MapType, Type as T, Value};
use rand::Rng;

use crate::conv::{atoi, parse_int, to_float64, to_int, to_int64};
use crate::data::{
    deep_copy, deep_equal, ilist, is_empty, merge_maps, new_map, slice_items, strslice, typed_list,
};
use crate::gofmt::{quote, sprint, strval};
use crate::numeric::{DecOp, decimal_op, round, seq, until_step};
use crate::strings as st;
use crate::{R, arg_i, arg_s, arg_s_value, fixed, reg, sub_value, var};

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

fn int_list(v: Vec<i64>) -> Value {
    typed_list(ElemType::Int, v.into_iter().map(Value::Int).collect())
}

fn str_map(parts: Vec<String>) -> Value {
    let m: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    new_map(MapType::String, m)
}

fn bounds_start_end(start: i64, end: i64, len: usize) -> Result<(), FuncError> {
    if end < 0 || end as usize > len {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{end}] with length {len}"
        )));
    }
    if start < 0 || start > end {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [{start}:{end}]"
        )));
    }
    Ok(())
}

/// Go's `strings.Repeat` panics on a negative count.
fn repeat(s: &str, n: i64) -> Result<String, FuncError> {
    if n < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    Ok(s.repeat(n as usize))
}

fn kind_error(prefix: &str, v: &Value) -> FuncError {
    if v.is_nil() {
        FuncError::new(NIL_DEREF)
    } else {
        FuncError::new(format!("{prefix} {}", v.kind_name()))
    }
}

/// `f` of a map argument's entries, borrowed (an empty map for other values).
fn with_entries<R>(v: &Value, f: impl FnOnce(&Map) -> R) -> R {
    match v {
        Value::Map(m) => f(&m.entries.borrow()),
        _ => f(&Map::new()),
    }
}

pub fn register(m: &mut FuncMap) {
    register_strings(m);
    register_math(m);
    register_lists(m);
    register_dicts(m);
    register_defaults(m);
    register_misc(m);
}

fn register_strings(m: &mut FuncMap) {
    reg(m, "hello", fixed(&[]), |_| Ok(Value::str("Hello!")));
    reg(m, "abbrev", fixed(&[T::Int, T::String]), |a| {
        let (w, s) = (arg_i(&a[0]), arg_s(&a[1]));
        if w < 4 {
            return Ok(arg_s_value(&a[1]));
        }
        Ok(Value::from(
            st::abbreviate_full(&s, 0, w).unwrap_or_default(),
        ))
    });
    reg(m, "abbrevboth", fixed(&[T::Int, T::Int, T::String]), |a| {
        let (l, r, s) = (arg_i(&a[0]), arg_i(&a[1]), arg_s(&a[2]));
        if r < 4 || (l > 0 && r < 7) {
            return Ok(arg_s_value(&a[2]));
        }
        Ok(Value::from(
            st::abbreviate_full(&s, l, r).unwrap_or_default(),
        ))
    });
    reg(m, "trunc", fixed(&[T::Int, T::String]), |a| {
        let (c, s) = (arg_i(&a[0]), arg_s(&a[1]));
        let len = s.len() as i64;
        if c < 0 && len + c > 0 {
            return Ok(Value::from(st::byte_slice(&s, (len + c) as usize, s.len())));
        }
        if c >= 0 && len > c {
            return Ok(Value::from(st::byte_slice(&s, 0, c as usize)));
        }
        Ok(arg_s_value(&a[1]))
    });
    reg(m, "trim", fixed(&[T::String]), |a| {
        Ok(sub_value(&a[0], arg_s(&a[0]).trim()))
    });
    for name in ["trimall", "trimAll"] {
        reg(m, name, fixed(&[T::String, T::String]), |a| {
            Ok(Value::from(st::trim_cutset(&arg_s(&a[1]), &arg_s(&a[0]))))
        });
    }
    reg(m, "trimSuffix", fixed(&[T::String, T::String]), |a| {
        let (suf, s) = (arg_s(&a[0]), arg_s(&a[1]));
        Ok(sub_value(&a[1], s.strip_suffix(&*suf).unwrap_or(&s)))
    });
    reg(m, "trimPrefix", fixed(&[T::String, T::String]), |a| {
        let (pre, s) = (arg_s(&a[0]), arg_s(&a[1]));
        Ok(sub_value(&a[1], s.strip_prefix(&*pre).unwrap_or(&s)))
    });
    reg(m, "upper", fixed(&[T::String]), |a| {
        Ok(Value::from(crate::unicode::str_upper(&arg_s(&a[0]))))
    });
    reg(m, "lower", fixed(&[T::String]), |a| {
        Ok(Value::from(crate::unicode::str_lower(&arg_s(&a[0]))))
    });
    reg(m, "title", fixed(&[T::String]), |a| {
        Ok(Value::from(st::title(&arg_s(&a[0]))))
    });
    reg(m, "untitle", fixed(&[T::String]), |a| {
        Ok(Value::from(st::untitle(&arg_s(&a[0]))))
    });
    reg(m, "substr", fixed(&[T::Int, T::Int, T::String]), |a| {
        let (start, end, s) = (arg_i(&a[0]), arg_i(&a[1]), arg_s(&a[2]));
        let len = s.len();
        if start < 0 {
            bounds_start_end(0, end, len)?;
            return Ok(Value::from(st::byte_slice(&s, 0, end as usize)));
        }
        if end < 0 || end as usize > len {
            if start as usize > len {
                return Err(FuncError::new(format!(
                    "runtime error: slice bounds out of range [{start}:{len}]"
                )));
            }
            return Ok(Value::from(st::byte_slice(&s, start as usize, len)));
        }
        bounds_start_end(start, end, len)?;
        Ok(Value::from(st::byte_slice(
            &s,
            start as usize,
            end as usize,
        )))
    });
    reg(m, "repeat", fixed(&[T::Int, T::String]), |a| {
        Ok(Value::from(repeat(&arg_s(&a[1]), arg_i(&a[0]))?))
    });
    reg(m, "nospace", fixed(&[T::String]), |a| {
        Ok(Value::from(st::nospace(&arg_s(&a[0]))))
    });
    reg(m, "initials", fixed(&[T::String]), |a| {
        Ok(Value::from(st::initials(&arg_s(&a[0]))))
    });
    reg(m, "swapcase", fixed(&[T::String]), |a| {
        Ok(Value::from(st::swapcase(&arg_s(&a[0]))))
    });
    reg(m, "shuffle", fixed(&[T::String]), |a| {
        let mut runes: Vec<char> = arg_s(&a[0]).chars().collect();
        let mut rng = rand::thread_rng();
        for i in (1..runes.len()).rev() {
            let j = rng.gen_range(0..=i);
            runes.swap(i, j);
        }
        Ok(Value::from(runes.into_iter().collect::<String>()))
    });
    reg(m, "snakecase", fixed(&[T::String]), |a| {
        Ok(Value::from(st::camel_to_lower(&arg_s(&a[0]), '_')))
    });
    reg(m, "kebabcase", fixed(&[T::String]), |a| {
        Ok(Value::from(st::camel_to_lower(&arg_s(&a[0]), '-')))
    });
    reg(m, "camelcase", fixed(&[T::String]), |a| {
        Ok(Value::from(st::pascal_case(&arg_s(&a[0]))))
    });
    reg(m, "wrap", fixed(&[T::Int, T::String]), |a| {
        Ok(Value::from(st::wrap_custom(
            &arg_s(&a[1]),
            arg_i(&a[0]),
            "",
            false,
        )))
    });
    reg(m, "wrapWith", fixed(&[T::Int, T::String, T::String]), |a| {
        Ok(Value::from(st::wrap_custom(
            &arg_s(&a[2]),
            arg_i(&a[0]),
            &arg_s(&a[1]),
            true,
        )))
    });
    reg(m, "contains", fixed(&[T::String, T::String]), |a| {
        Ok(Value::Bool(arg_s(&a[1]).contains(&*arg_s(&a[0]))))
    });
    reg(m, "hasPrefix", fixed(&[T::String, T::String]), |a| {
        Ok(Value::Bool(arg_s(&a[1]).starts_with(&*arg_s(&a[0]))))
    });
    reg(m, "hasSuffix", fixed(&[T::String, T::String]), |a| {
        Ok(Value::Bool(arg_s(&a[1]).ends_with(&*arg_s(&a[0]))))
    });
    reg(m, "quote", var(&[], T::Any), |a| {
        if let [Value::String(s)] = a {
            return Ok(Value::from(quote(s)));
        }
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| quote(&strval(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    reg(m, "squote", var(&[], T::Any), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", sprint(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    reg(m, "cat", var(&[], T::Any), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(sprint).collect();
        Ok(Value::from(parts.join(" ")))
    });
    reg(m, "indent", fixed(&[T::Int, T::String]), |a| {
        let pad = repeat(" ", arg_i(&a[0]))?;
        Ok(Value::from(indent(
            &pad,
            a[1].as_str().unwrap_or(""),
            false,
        )))
    });
    reg(m, "nindent", fixed(&[T::Int, T::String]), |a| {
        let pad = repeat(" ", arg_i(&a[0]))?;
        Ok(Value::from(indent(&pad, a[1].as_str().unwrap_or(""), true)))
    });
    reg(
        m,
        "replace",
        fixed(&[T::String, T::String, T::String]),
        |a| {
            let (old, new, src) = (arg_s(&a[0]), arg_s(&a[1]), arg_s(&a[2]));
            Ok(Value::from(go_replace(&src, &old, &new)))
        },
    );
    reg(m, "plural", fixed(&[T::String, T::String, T::Int]), |a| {
        Ok(if arg_i(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    reg(m, "toString", fixed(&[T::Any]), |a| {
        Ok(Value::from(strval(&a[0])))
    });
    reg(m, "toStrings", fixed(&[T::Any]), |a| {
        Ok(Value::string_list(strslice_typed(&a[0])))
    });
    reg(m, "split", fixed(&[T::String, T::String]), |a| {
        Ok(str_map(st::go_split(&arg_s(&a[1]), &arg_s(&a[0]))))
    });
    reg(m, "splitList", fixed(&[T::String, T::String]), |a| {
        Ok(Value::string_list(st::go_split(
            &arg_s(&a[1]),
            &arg_s(&a[0]),
        )))
    });
    reg(m, "splitn", fixed(&[T::String, T::Int, T::String]), |a| {
        Ok(str_map(st::go_splitn(
            &arg_s(&a[2]),
            &arg_s(&a[0]),
            arg_i(&a[1]),
        )))
    });
    reg(m, "join", fixed(&[T::String, T::Any]), |a| {
        Ok(Value::from(strslice_typed(&a[1]).join(&arg_s(&a[0]))))
    });
    reg(m, "sortAlpha", fixed(&[T::Any]), |a| {
        let mut v = match &a[0] {
            Value::List(_) | Value::Bytes(_) => strslice(&a[0]),
            other => vec![strval(other)],
        };
        v.sort();
        Ok(Value::string_list(v))
    });
}

/// Go's `strings.Replace(s, old, new, -1)` (an empty `old` inserts between runes).
fn go_replace(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

/// `strslice` keeping a `[]string` as is.
fn strslice_typed(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) if l.elem == ElemType::String => l.items.iter().map(strval).collect(),
        other => strslice(other),
    }
}

fn register_math(m: &mut FuncMap) {
    reg(m, "atoi", fixed(&[T::String]), |a| {
        Ok(Value::Int(atoi(&arg_s(&a[0]))))
    });
    reg(m, "int64", fixed(&[T::Any]), |a| {
        Ok(Value::Int64(to_int64(&a[0])))
    });
    reg(m, "int", fixed(&[T::Any]), |a| {
        Ok(Value::Int(to_int(&a[0])))
    });
    reg(m, "float64", fixed(&[T::Any]), |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    reg(m, "toDecimal", fixed(&[T::Any]), |a| {
        Ok(Value::Int64(parse_int(&sprint(&a[0]), 8).unwrap_or(0)))
    });
    reg(m, "seq", var(&[], T::Int), |a| {
        let p: Vec<i64> = a.iter().map(arg_i).collect();
        Ok(Value::from(seq(&p)))
    });
    reg(m, "until", fixed(&[T::Int]), |a| {
        let n = arg_i(&a[0]);
        Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })))
    });
    reg(m, "untilStep", fixed(&[T::Int, T::Int, T::Int]), |a| {
        Ok(int_list(until_step(
            arg_i(&a[0]),
            arg_i(&a[1]),
            arg_i(&a[2]),
        )))
    });
    reg(m, "add1", fixed(&[T::Any]), |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    reg(m, "add", var(&[], T::Any), |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |acc, x| acc.wrapping_add(to_int64(x))),
        ))
    });
    reg(m, "sub", fixed(&[T::Any, T::Any]), |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    reg(m, "div", fixed(&[T::Any, T::Any]), |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(FuncError::new("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    reg(m, "mod", fixed(&[T::Any, T::Any]), |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err(FuncError::new("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    reg(m, "mul", var(&[T::Any], T::Any), |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, x| acc.wrapping_mul(to_int64(x))),
        ))
    });
    reg(m, "randInt", fixed(&[T::Int, T::Int]), |a| {
        let (min, max) = (arg_i(&a[0]), arg_i(&a[1]));
        let n = max.wrapping_sub(min);
        if n <= 0 {
            return Err(FuncError::new("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::thread_rng().gen_range(0..n) + min))
    });
    reg(m, "add1f", fixed(&[T::Any]), |a| {
        Ok(Value::Float(decimal_op(
            &a[0],
            &[Value::Int(1)],
            DecOp::Add,
        )?))
    });
    reg(m, "addf", var(&[], T::Any), |a| {
        Ok(Value::Float(decimal_op(&Value::Float(0.0), a, DecOp::Add)?))
    });
    for (name, op) in [
        ("subf", DecOp::Sub),
        ("divf", DecOp::Div),
        ("mulf", DecOp::Mul),
    ] {
        reg(m, name, var(&[T::Any], T::Any), move |a| {
            Ok(Value::Float(decimal_op(&a[0], &a[1..], op)?))
        });
    }
    for name in ["biggest", "max"] {
        reg(m, name, var(&[T::Any], T::Any), |a| {
            Ok(Value::Int64(
                a[1..]
                    .iter()
                    .fold(to_int64(&a[0]), |acc, x| acc.max(to_int64(x))),
            ))
        });
    }
    reg(m, "min", var(&[T::Any], T::Any), |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, x| acc.min(to_int64(x))),
        ))
    });
    reg(m, "maxf", var(&[T::Any], T::Any), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, x| go_max(acc, to_float64(x))),
        ))
    });
    reg(m, "minf", var(&[T::Any], T::Any), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, x| go_min(acc, to_float64(x))),
        ))
    });
    reg(m, "ceil", fixed(&[T::Any]), |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    reg(m, "floor", fixed(&[T::Any]), |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    reg(m, "round", var(&[T::Any, T::Int], T::Float64), |a| {
        let on = a.get(2).map(to_float64).unwrap_or(0.5);
        Ok(Value::Float(round(&a[0], arg_i(&a[1]), on)))
    });
}

/// Go's `math.Max` (NaN wins, +0 beats -0).
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

fn register_lists(m: &mut FuncMap) {
    for name in ["list", "tuple"] {
        reg(m, name, var(&[], T::Any), |a| Ok(ilist(a.to_vec())));
    }
    for (name, must) in [
        ("append", false),
        ("push", false),
        ("mustAppend", true),
        ("mustPush", true),
    ] {
        let _ = must;
        reg(m, name, fixed(&[T::Any, T::Any]), |a| {
            let mut items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot push on type", &a[0]))?;
            items.push(a[1].clone());
            Ok(ilist(items))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        reg(m, name, fixed(&[T::Any, T::Any]), |a| {
            let mut items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot prepend on type", &a[0]))?;
            items.insert(0, a[1].clone());
            Ok(ilist(items))
        });
    }
    for name in ["first", "mustFirst"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot find first on type", &a[0]))?;
            Ok(items.first().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot find last on type", &a[0]))?;
            Ok(items.last().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot find rest on type", &a[0]))?;
            Ok(ilist(items.into_iter().skip(1).collect()))
        });
    }
    for name in ["initial", "mustInitial"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let mut items = slice_items(&a[0])
                .ok_or_else(|| kind_error("Cannot find initial on type", &a[0]))?;
            items.pop();
            Ok(ilist(items))
        });
    }
    for name in ["reverse", "mustReverse"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let mut items = slice_items(&a[0])
                .ok_or_else(|| kind_error("Cannot find reverse on type", &a[0]))?;
            items.reverse();
            Ok(ilist(items))
        });
    }
    for name in ["compact", "mustCompact"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot compact on type", &a[0]))?;
            Ok(ilist(items.into_iter().filter(|x| !is_empty(x)).collect()))
        });
    }
    for name in ["uniq", "mustUniq"] {
        reg(m, name, fixed(&[T::Any]), |a| {
            let items =
                slice_items(&a[0]).ok_or_else(|| kind_error("Cannot find uniq on type", &a[0]))?;
            let mut out: Vec<Value> = Vec::new();
            for it in items {
                if !out.iter().any(|o| deep_equal(&it, o)) {
                    out.push(it);
                }
            }
            Ok(ilist(out))
        });
    }
    for name in ["without", "mustWithout"] {
        reg(m, name, var(&[T::Any], T::Any), |a| {
            let items = slice_items(&a[0])
                .ok_or_else(|| kind_error("Cannot find without on type", &a[0]))?;
            let omit = &a[1..];
            Ok(ilist(
                items
                    .into_iter()
                    .filter(|x| !omit.iter().any(|o| deep_equal(x, o)))
                    .collect(),
            ))
        });
    }
    for name in ["has", "mustHas"] {
        reg(m, name, fixed(&[T::Any, T::Any]), |a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let items =
                slice_items(&a[1]).ok_or_else(|| kind_error("Cannot find has on type", &a[1]))?;
            Ok(Value::Bool(items.iter().any(|x| deep_equal(&a[0], x))))
        });
    }
    for name in ["slice", "mustSlice"] {
        reg(m, name, var(&[T::Any], T::Any), |a| {
            let (elem, items) = match &a[0] {
                Value::List(l) => (l.elem, l.items.clone()),
                Value::Bytes(b) => (
                    ElemType::Interface,
                    b.iter().map(|x| Value::Int(*x as i64)).collect(),
                ),
                Value::Nil => return Err(FuncError::new(NIL_DEREF)),
                other => {
                    return Err(FuncError::new(format!(
                        "list should be type of slice or array but {}",
                        other.kind_name()
                    )));
                }
            };
            if items.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map(to_int).unwrap_or(0);
            let end = if a.len() < 3 {
                items.len() as i64
            } else {
                to_int(&a[2])
            };
            if start < 0 || end < start || end as usize > items.len() {
                return Err(FuncError::new(
                    "reflect.Value.Slice: slice index out of bounds",
                ));
            }
            if let Value::Bytes(b) = &a[0] {
                return Ok(Value::Bytes(Rc::from(&b[start as usize..end as usize])));
            }
            Ok(typed_list(
                elem,
                items[start as usize..end as usize].to_vec(),
            ))
        });
    }
    reg(m, "concat", var(&[], T::Any), |a| {
        let mut out = Vec::new();
        for l in a {
            match slice_items(l) {
                Some(items) => out.extend(items),
                None if l.is_nil() => return Err(FuncError::new(NIL_DEREF)),
                None => {
                    return Err(FuncError::new(format!(
                        "Cannot concat type {} as list",
                        l.kind_name()
                    )));
                }
            }
        }
        Ok(ilist(out))
    });
    for name in ["chunk", "mustChunk"] {
        reg(m, name, fixed(&[T::Int, T::Any]), |a| {
            let size = arg_i(&a[0]);
            let items = slice_items(&a[1]).ok_or_else(|| kind_error("Cannot chunk type", &a[1]))?;
            if items.is_empty() {
                return Ok(ilist(Vec::new()));
            }
            if size <= 0 {
                return Err(FuncError::new("runtime error: makeslice: len out of range"));
            }
            let chunks: Vec<Value> = items
                .chunks(size as usize)
                .map(|c| ilist(c.to_vec()))
                .collect();
            Ok(ilist(chunks))
        });
    }
}

fn need_map(v: &Value) -> Result<Rc<gotmpl::MapValue>, FuncError> {
    match v {
        Value::Map(m) if !v.is_typed_nil() => Ok(m.clone()),
        _ => Err(FuncError::new("assignment to entry in nil map")),
    }
}

fn register_dicts(m: &mut FuncMap) {
    reg(m, "dict", var(&[], T::Any), |a| {
        let mut out = Map::new();
        let mut i = 0;
        while i < a.len() {
            let key = strval(&a[i]);
            out.insert(key, a.get(i + 1).cloned().unwrap_or_else(|| Value::str("")));
            i += 2;
        }
        Ok(Value::map(out))
    });
    reg(m, "get", fixed(&[T::Map, T::String]), |a| {
        Ok(with_entries(&a[0], |m| m.get(&*arg_s(&a[1])).cloned())
            .unwrap_or_else(|| Value::str("")))
    });
    reg(m, "set", fixed(&[T::Map, T::String, T::Any]), |a| {
        let mv = need_map(&a[0])?;
        mv.entries
            .borrow_mut()
            .insert(arg_s(&a[1]).into_owned(), a[2].clone());
        Ok(a[0].clone())
    });
    reg(m, "unset", fixed(&[T::Map, T::String]), |a| {
        if let Value::Map(mv) = &a[0]
            && !a[0].is_typed_nil()
        {
            mv.entries.borrow_mut().remove(&*arg_s(&a[1]));
        }
        Ok(a[0].clone())
    });
    reg(m, "hasKey", fixed(&[T::Map, T::String]), |a| {
        Ok(Value::Bool(with_entries(&a[0], |m| {
            m.contains_key(&*arg_s(&a[1]))
        })))
    });
    reg(m, "pluck", var(&[T::String], T::Map), |a| {
        let key = arg_s(&a[0]);
        Ok(ilist(
            a[1..]
                .iter()
                .filter_map(|d| with_entries(d, |m| m.get(&*key).cloned()))
                .collect(),
        ))
    });
    reg(m, "keys", var(&[], T::Map), |a| {
        let mut k: Vec<String> = Vec::new();
        for d in a {
            with_entries(d, |m| k.extend(m.keys().cloned()));
        }
        Ok(Value::string_list(k))
    });
    reg(m, "pick", var(&[T::Map], T::String), |a| {
        let mut out = Map::new();
        with_entries(&a[0], |src| {
            for k in &a[1..] {
                let k = arg_s(k);
                if let Some(v) = src.get(&*k) {
                    out.insert(k.into_owned(), v.clone());
                }
            }
        });
        Ok(Value::map(out))
    });
    reg(m, "omit", var(&[T::Map], T::String), |a| {
        let omit: Vec<String> = a[1..].iter().map(|v| arg_s(v).into_owned()).collect();
        let out: Map = with_entries(&a[0], |m| {
            m.iter()
                .filter(|(k, _)| !omit.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
        Ok(Value::map(out))
    });
    reg(m, "values", fixed(&[T::Map]), |a| {
        Ok(ilist(with_entries(&a[0], |m| {
            m.values().cloned().collect()
        })))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        reg(m, name, var(&[T::Map], T::Map), move |a| {
            let dst = match &a[0] {
                Value::Map(d) if !a[0].is_typed_nil() => d.clone(),
                _ => {
                    // mergo on a nil destination map: the first non-empty source becomes it.
                    match a[1..].iter().find_map(|s| match s {
                        Value::Map(x) => Some(x.clone()),
                        _ => None,
                    }) {
                        Some(_) => Rc::new(gotmpl::MapValue::default()),
                        None => return Ok(a[0].clone()),
                    }
                }
            };
            for s in &a[1..] {
                if let Value::Map(src) = s {
                    merge_maps(&dst, src, overwrite);
                }
            }
            Ok(Value::Map(dst))
        });
    }
    reg(m, "dig", var(&[], T::Any), |a| {
        if a.len() < 3 {
            return Err(FuncError::new("dig needs at least three arguments"));
        }
        let conv_err = |v: &Value, want: &str| {
            FuncError::new(format!(
                "interface conversion: interface {{}} is {}, not {want}",
                if v.is_nil() {
                    "nil".to_string()
                } else {
                    v.type_name()
                }
            ))
        };
        // The maps are read in place (shared), not copied.
        let as_map = |v: &Value| -> Result<Rc<gotmpl::MapValue>, FuncError> {
            match v {
                Value::Map(mv) if mv.ty == MapType::Interface => Ok(mv.clone()),
                other => Err(conv_err(other, "map[string]interface {}")),
            }
        };
        let mut dict = as_map(&a[a.len() - 1])?;
        let def = a[a.len() - 2].clone();
        let mut keys: Vec<&str> = Vec::new();
        for k in &a[..a.len() - 2] {
            match k {
                Value::String(s) => keys.push(s),
                other => return Err(conv_err(other, "string")),
            }
        }
        for (i, k) in keys.iter().enumerate() {
            let step = dict.entries.borrow().get(*k).cloned();
            match step {
                None => return Ok(def),
                Some(step) => {
                    if i == keys.len() - 1 {
                        return Ok(step);
                    }
                    dict = as_map(&step)?;
                }
            }
        }
        Ok(def)
    });
}

fn register_defaults(m: &mut FuncMap) {
    reg(m, "default", var(&[T::Any], T::Any), |a| match a.get(1) {
        Some(v) if !is_empty(v) => Ok(v.clone()),
        _ => Ok(a[0].clone()),
    });
    reg(m, "empty", fixed(&[T::Any]), |a| {
        Ok(Value::Bool(is_empty(&a[0])))
    });
    reg(m, "coalesce", var(&[], T::Any), |a| {
        Ok(a.iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    reg(m, "all", var(&[], T::Any), |a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    reg(m, "any", var(&[], T::Any), |a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    reg(m, "ternary", fixed(&[T::Any, T::Any, T::Bool]), |a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    reg(m, "deepCopy", fixed(&[T::Any]), |a| {
        if a[0].is_nil() {
            return Err(FuncError::new(
                "reflect: call of reflect.Value.Type on zero Value",
            ));
        }
        Ok(deep_copy(&a[0]))
    });
    reg(m, "mustDeepCopy", fixed(&[T::Any]), |a| {
        if a[0].is_nil() {
            return Err(FuncError::new(
                "reflect: call of reflect.Value.Type on zero Value",
            ));
        }
        Ok(deep_copy(&a[0]))
    });
    reg(m, "typeOf", fixed(&[T::Any]), |a| {
        Ok(Value::from(a[0].type_name()))
    });
    reg(m, "typeIs", fixed(&[T::String, T::Any]), |a| {
        Ok(Value::Bool(arg_s(&a[0]) == a[1].type_name()))
    });
    reg(m, "typeIsLike", fixed(&[T::String, T::Any]), |a| {
        let (target, t) = (arg_s(&a[0]), a[1].type_name());
        Ok(Value::Bool(target == t || format!("*{target}") == t))
    });
    reg(m, "kindOf", fixed(&[T::Any]), |a| {
        Ok(Value::str(a[0].kind_name()))
    });
    reg(m, "kindIs", fixed(&[T::String, T::Any]), |a| {
        Ok(Value::Bool(arg_s(&a[0]) == a[1].kind_name()))
    });
    reg(m, "deepEqual", fixed(&[T::Any, T::Any]), |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
}

fn register_misc(m: &mut FuncMap) {
    use crate::encoding as enc;
    use crate::paths;
    for (name, f) in [
        ("base", paths::base as fn(&str) -> String),
        ("dir", paths::dir),
        ("clean", paths::clean),
        ("ext", paths::ext),
        ("osBase", paths::base),
        ("osDir", paths::dir),
        ("osClean", paths::clean),
        ("osExt", paths::ext),
    ] {
        reg(m, name, fixed(&[T::String]), move |a| {
            Ok(Value::from(f(&arg_s(&a[0]))))
        });
    }
    for name in ["isAbs", "osIsAbs"] {
        reg(m, name, fixed(&[T::String]), |a| {
            Ok(Value::Bool(arg_s(&a[0]).starts_with('/')))
        });
    }
    reg(m, "b64enc", fixed(&[T::String]), |a| {
        Ok(Value::from(enc::b64_encode(arg_s(&a[0]).as_bytes())))
    });
    reg(m, "b64dec", fixed(&[T::String]), |a| {
        Ok(Value::from(match enc::b64_decode(&arg_s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        }))
    });
    reg(m, "b32enc", fixed(&[T::String]), |a| {
        Ok(Value::from(enc::b32_encode(arg_s(&a[0]).as_bytes())))
    });
    reg(m, "b32dec", fixed(&[T::String]), |a| {
        Ok(Value::from(match enc::b32_decode(&arg_s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        }))
    });
    reg(m, "getHostByName", fixed(&[T::String]), |_| {
        Ok(Value::str(""))
    });
    reg(m, "fail", fixed(&[T::String]), |a| {
        Err(FuncError::fail(arg_s(&a[0])))
    });
    reg(m, "required", fixed(&[T::String, T::Any]), |a| {
        match &a[1] {
            Value::Nil => Err(FuncError::fail(arg_s(&a[0]))),
            Value::String(s) if s.is_empty() => Err(FuncError::fail(arg_s(&a[0]))),
            v => Ok(v.clone()),
        }
    });
    reg(
        m,
        "lookup",
        fixed(&[T::String, T::String, T::String, T::String]),
        |_| Ok(Value::map(Map::new())),
    );
}

#[allow(dead_code)]
fn unused(_: R) {}

/// Sprig's `indent`/`nindent`: `pad` before the text and after each line break (and a line
/// break first for `nindent`), in one pass.
fn indent(pad: &str, text: &str, newline_first: bool) -> String {
    let breaks = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let mut out = String::with_capacity(text.len() + (breaks + 1) * (pad.len() + 1) + 1);
    if newline_first {
        out.push('\n');
    }
    out.push_str(pad);
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', text.as_bytes()) {
        // `i + 1`: the line with its break (a char boundary: `\n` is one byte).
        out.push_str(&text[start..i + 1]);
        out.push_str(pad);
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::indent;

    /// The pad goes first and after every line break, empty lines and a final break included.
    #[test]
    fn indent_pads_every_line() {
        for (text, want) in [
            ("", "  "),
            ("a", "  a"),
            ("a\nb", "  a\n  b"),
            ("a\n", "  a\n  "),
            ("\n\n", "  \n  \n  "),
            ("é\nü\n\nx", "  é\n  ü\n  \n  x"),
        ] {
            assert_eq!(indent("  ", text, false), want, "{text:?}");
            assert_eq!(indent("  ", text, true), format!("\n{want}"), "{text:?}");
        }
    }
}
